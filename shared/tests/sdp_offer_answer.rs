//! The offer/answer engine (RFC 3264) against the RFC 3264 §10 exchanges, a Chromium offer,
//! MSRP chat and file transfer offers (RFC 4975, RFC 5547), and hold (RFC 3264 §8.4).

use sipsimple::offer_answer::{
    check_answer, hold, unhold, Codec, LocalCapabilities, MediaCapabilities, OfferAnswerError,
};
use sipsimple::sdp::{
    Attribute, Connection, Direction, MediaDescription, MediaType, Origin, RtpMap,
    SessionDescription, Setup,
};

macro_rules! vector {
    ($name:literal) => {
        parse(include_str!(concat!("vectors/sdp/", $name, ".sdp")))
    };
}

fn parse(s: &str) -> SessionDescription {
    SessionDescription::parse(s.as_bytes()).expect("a valid description")
}

fn caps(user: &str, id: u64, host: &str) -> LocalCapabilities {
    let mut c = LocalCapabilities::new(
        Origin::new(user, id.to_string(), id, host),
        Connection::ip4(host),
    );
    c.session_name = String::new();
    c
}

fn audio(port: u16, codecs: Vec<Codec>) -> MediaCapabilities {
    MediaCapabilities::rtp(MediaType::Audio, port, "RTP/AVP", codecs)
}

fn video(port: u16, codecs: Vec<Codec>) -> MediaCapabilities {
    MediaCapabilities::rtp(MediaType::Video, port, "RTP/AVP", codecs)
}

/// A description without `a=sendrecv`, the default RFC 3264's examples leave out.
fn without_sendrecv(sdp: &SessionDescription) -> SessionDescription {
    let mut sdp = sdp.clone();
    for m in &mut sdp.media {
        m.remove_attributes("sendrecv");
    }
    sdp
}

/// What RFC 3264 fixes about an answer: per m-line the port being zero or not, the formats
/// of accepted streams and the direction.
fn shape(sdp: &SessionDescription) -> Vec<(bool, Vec<String>, Direction)> {
    sdp.media
        .iter()
        .map(|m| {
            let formats = if m.is_rejected() {
                Vec::new()
            } else {
                m.formats.clone()
            };
            (m.is_rejected(), formats, sdp.direction_of(m))
        })
        .collect()
}

#[test]
fn rfc3264_10_1_bob_answers_byte_for_byte() {
    // Bob takes audio and the MPEG video, not H.261.
    let mut bob = caps("bob", 2890844730, "host.example.com");
    bob.media = vec![
        audio(49920, vec![Codec::new("PCMU", 8000)]),
        video(53000, vec![Codec::new("MPV", 90000)]),
    ];
    let answer = bob.answer(&vector!("rfc3264_10_1_offer"));
    assert_eq!(
        without_sendrecv(&answer.sdp).to_string(),
        vector!("rfc3264_10_1_answer").to_string()
    );
    let accepted: Vec<bool> = answer.streams.iter().map(|s| s.accepted).collect();
    assert_eq!(accepted, [true, false, true]);
    let s = &answer.streams[2];
    assert_eq!(s.codecs[0].rtpmap, RtpMap::new(32, "MPV", 90000, None));
    assert_eq!(
        (s.remote_address.as_deref(), s.remote_port),
        (Some("host.anywhere.com"), 53000)
    );
}

#[test]
fn rfc3264_10_1_alice_checks_bobs_answer() {
    let streams = check_answer(
        &vector!("rfc3264_10_1_offer"),
        &vector!("rfc3264_10_1_answer"),
    )
    .expect("the answer fits");
    assert_eq!(streams.len(), 3);
    assert!(streams[0].accepted && !streams[1].accepted && streams[2].accepted);
    assert_eq!(streams[0].codecs[0].rtpmap.encoding, "PCMU");
    assert_eq!(streams[0].remote_port, 49920);
    assert_eq!(streams[0].direction, Direction::SendRecv);
    assert_eq!(streams[2].codecs[0].receive_payload_type, 32);
}

#[test]
fn rfc3264_10_1_alice_answers_the_reoffer() {
    // Alice keeps one slot per stream: audio, MPEG video and a second audio for events.
    let mut alice = caps("alice", 2890844526, "host.anywhere.com");
    alice.origin.session_version = 2890844527;
    let mut voice = audio(49170, vec![Codec::new("PCMU", 8000)]);
    voice.telephone_event = true;
    let mut events = audio(53122, Vec::new());
    events.telephone_event = true;
    alice.media = vec![voice, video(53000, vec![Codec::new("MPV", 90000)]), events];

    let reoffer = vector!("rfc3264_10_1_reoffer");
    let answer = alice.answer(&reoffer);
    let expected = vector!("rfc3264_10_1_reanswer");
    assert_eq!(shape(&answer.sdp), shape(&expected));
    let ports: Vec<u16> = answer.sdp.media.iter().map(|m| m.port).collect();
    let expected_ports: Vec<u16> = expected.media.iter().map(|m| m.port).collect();
    assert_eq!(ports, expected_ports);
    assert_eq!(answer.streams[3].direction, Direction::SendOnly);
    assert_eq!(answer.streams[3].telephone_events.len(), 1);
    // Bob, the offerer now, reads Alice's answer from the RFC.
    let streams = check_answer(&reoffer, &expected).expect("the RFC answer fits");
    assert_eq!(streams[3].direction, Direction::RecvOnly);
    assert_eq!(streams[3].telephone_events[0].payload_type, 110);
}

#[test]
fn rfc3264_10_2_one_of_n_codecs() {
    let mut bob = caps("bob", 2890844730, "host.example.com");
    bob.origin.session_version = 2890844731;
    bob.media = vec![audio(
        54344,
        vec![Codec::new("PCMU", 8000), Codec::new("G723", 8000)],
    )];
    // The inactive offer gets an inactive answer, byte for byte as in the RFC.
    let answer = bob.answer(&vector!("rfc3264_10_2_offer"));
    assert_eq!(
        answer.sdp.to_string(),
        vector!("rfc3264_10_2_answer").to_string()
    );
    assert_eq!(answer.streams[0].direction, Direction::Inactive);

    // Alice locks G.723 down; Bob's answer is again the RFC's.
    bob.origin.session_version += 1;
    let answer = bob.answer(&vector!("rfc3264_10_2_reoffer"));
    assert_eq!(
        answer.sdp.to_string(),
        vector!("rfc3264_10_2_reanswer").to_string()
    );

    let streams = check_answer(
        &vector!("rfc3264_10_2_offer"),
        &vector!("rfc3264_10_2_answer"),
    )
    .expect("fits");
    let names: Vec<&str> = streams[0]
        .codecs
        .iter()
        .map(|c| c.rtpmap.encoding.as_str())
        .collect();
    assert_eq!(names, ["PCMU", "G723"]);
    assert_eq!(streams[0].direction, Direction::Inactive);
}

fn webrtc_caps() -> LocalCapabilities {
    let mut c = caps("-", 7, "192.0.2.10");
    let mut a = MediaCapabilities::rtp(
        MediaType::Audio,
        40000,
        "UDP/TLS/RTP/SAVPF",
        vec![
            Codec::new("opus", 48000)
                .with_channels(2)
                .with_fmtp("minptime=10;useinbandfec=1"),
            Codec::new("PCMU", 8000),
        ],
    );
    a.telephone_event = true;
    a.attributes = vec![
        Attribute::new("ice-ufrag", "gw01"),
        Attribute::new("ice-pwd", "0123456789abcdefghijklmn"),
        Attribute::flag("rtcp-mux"),
    ];
    c.media = vec![a];
    c
}

#[test]
fn answers_a_chromium_offer() {
    let offer = vector!("chromium_offer");
    let answer = webrtc_caps().answer(&offer);
    assert_eq!(answer.sdp.media.len(), 2, "one m-line per offered one");

    let audio = &answer.sdp.media[0];
    assert_eq!(audio.port, 40000);
    // Offer order and payload types: opus, PCMU, then the events at both codecs' rates.
    assert_eq!(audio.formats, ["111", "0", "110", "126"]);
    assert_eq!(
        audio.rtpmap(111),
        Some(RtpMap::new(111, "opus", 48000, Some(2)))
    );
    assert_eq!(
        audio.fmtp("111").map(|f| f.params),
        Some("minptime=10;useinbandfec=1".to_string())
    );
    assert_eq!(audio.fmtp("0"), None);
    assert_eq!(audio.mid(), Some("0"));
    assert_eq!(audio.setup(), Some(Setup::Active), "answer to actpass");
    assert!(audio.rtcp_mux());
    assert_eq!(answer.sdp.direction_of(audio), Direction::SendRecv);

    let stream = &answer.streams[0];
    assert_eq!(stream.codecs.len(), 2);
    assert_eq!(
        stream.codecs[0].fmtp.as_deref(),
        Some("minptime=10;useinbandfec=1"),
        "the offerer's fmtp"
    );
    let rates: Vec<u32> = stream
        .telephone_events
        .iter()
        .map(|m| m.clock_rate)
        .collect();
    assert_eq!(rates, [48000, 8000]);
    assert_eq!(stream.remote_address.as_deref(), Some("203.0.113.7"));

    // No video here: rejected with the offered formats kept.
    let video = &answer.sdp.media[1];
    assert!(video.is_rejected());
    assert_eq!(video.formats, ["96", "97", "102", "103"]);
    assert!(video.attributes.is_empty());
    assert!(!answer.streams[1].accepted);

    let streams = check_answer(&offer, &answer.sdp).expect("our answer fits");
    assert_eq!(streams[0].codecs.len(), 2);
    assert!(!streams[1].accepted);
}

#[test]
fn telephone_event_only_when_both_support_it() {
    let offer = vector!("chromium_offer");
    let mut only_pcmu = webrtc_caps();
    only_pcmu.media[0].codecs = vec![Codec::new("PCMU", 8000)];
    let answer = only_pcmu.answer(&offer);
    assert_eq!(
        answer.sdp.media[0].formats,
        ["0", "126"],
        "events at 8000 Hz only"
    );

    only_pcmu.media[0].telephone_event = false;
    let answer = only_pcmu.answer(&offer);
    assert_eq!(answer.sdp.media[0].formats, ["0"]);
    assert!(answer.streams[0].telephone_events.is_empty());
}

#[test]
fn unsupported_transport_or_codecs_are_rejected() {
    // A plain SIP phone (RTP/AVP) cannot take a DTLS-SRTP offer.
    let mut phone = caps("-", 1, "192.0.2.20");
    phone.media = vec![audio(4000, vec![Codec::new("PCMU", 8000)])];
    let answer = phone.answer(&vector!("chromium_offer"));
    assert!(answer.sdp.media.iter().all(MediaDescription::is_rejected));

    let answer = phone.answer(&parse(
        "v=0\no=- 1 1 IN IP4 h\ns=-\nc=IN IP4 h\nt=0 0\nm=audio 5 RTP/AVP 18 101\n\
         a=rtpmap:101 telephone-event/8000\n",
    ));
    assert!(
        answer.sdp.media[0].is_rejected(),
        "G.729 only, events alone do not count"
    );
    assert_eq!(answer.sdp.media[0].formats, ["18", "101"]);
}

#[test]
fn direction_mirroring() {
    use Direction::*;
    let cases = [
        // (offered, wanted, on hold, answered)
        (SendRecv, SendRecv, false, SendRecv),
        (SendOnly, SendRecv, false, RecvOnly),
        (RecvOnly, SendRecv, false, SendOnly),
        (Inactive, SendRecv, false, Inactive),
        (SendRecv, RecvOnly, false, RecvOnly),
        (RecvOnly, RecvOnly, false, Inactive),
        (SendRecv, SendRecv, true, SendOnly),
        (SendOnly, SendRecv, true, Inactive),
        (RecvOnly, SendRecv, true, SendOnly),
    ];
    for (offered, wanted, on_hold, expected) in cases {
        let mut bob = caps("bob", 1, "b");
        let mut a = audio(4000, vec![Codec::new("PCMU", 8000)]);
        a.direction = wanted;
        bob.media = vec![a];
        bob.on_hold = on_hold;
        let offer = parse(&format!(
            "v=0\no=a 1 1 IN IP4 a\ns=-\nc=IN IP4 a\nt=0 0\nm=audio 5 RTP/AVP 0\na={offered}\n"
        ));
        let answer = bob.answer(&offer);
        let m = &answer.sdp.media[0];
        assert_eq!(
            m.direction(),
            Some(expected),
            "{offered} {wanted} {on_hold}"
        );
        assert_eq!(answer.streams[0].direction, expected);
        let streams = check_answer(&offer, &answer.sdp).expect("fits");
        assert_eq!(streams[0].direction, expected.reverse());
    }
}

#[test]
fn old_style_hold_offer_is_answered_recvonly() {
    let mut bob = caps("bob", 1, "b");
    bob.media = vec![audio(4000, vec![Codec::new("PCMU", 8000)])];
    let offer = parse("v=0\no=a 1 2 IN IP4 a\ns=-\nc=IN IP4 0.0.0.0\nt=0 0\nm=audio 5 RTP/AVP 0\n");
    let answer = bob.answer(&offer);
    assert_eq!(answer.sdp.media[0].direction(), Some(Direction::RecvOnly));
    assert_eq!(answer.streams[0].remote_address.as_deref(), Some("0.0.0.0"));
}

#[test]
fn builds_an_offer_from_capabilities() {
    let mut alice = caps("alice", 2890844526, "atlanta.example.com");
    let mut a = audio(
        49170,
        vec![
            Codec::new("PCMU", 8000),
            Codec::new("opus", 48000)
                .with_channels(2)
                .with_fmtp("useinbandfec=1"),
            Codec::new("G722", 8000),
            Codec::new("iLBC", 8000)
                .with_payload_type(97)
                .with_fmtp("mode=30"),
        ],
    );
    a.telephone_event = true;
    a.attributes = vec![Attribute::new("ptime", "20")];
    alice.media = vec![
        a,
        MediaCapabilities::msrp(
            2855,
            "TCP/MSRP",
            vec!["message/cpim".into(), "text/plain".into()],
        ),
    ];
    alice.media[1].attributes = vec![Attribute::new(
        "path",
        "msrp://atlanta.example.com:2855/abc;tcp",
    )];
    let offer = alice.offer();
    let text = offer.to_string();
    assert_eq!(
        SessionDescription::parse(text.as_bytes()),
        Ok(offer.clone())
    );
    assert!(text.starts_with(
        "v=0\r\no=alice 2890844526 2890844526 IN IP4 atlanta.example.com\r\ns=\r\n\
         c=IN IP4 atlanta.example.com\r\nt=0 0\r\n"
    ));
    let audio = &offer.media[0];
    // Static types where RFC 3551 has one, the preferred one, then free dynamic ones.
    assert_eq!(audio.formats, ["0", "96", "9", "97", "98", "99"]);
    assert_eq!(
        audio.rtpmap(96),
        Some(RtpMap::new(96, "opus", 48000, Some(2)))
    );
    assert_eq!(
        audio.rtpmap(98),
        Some(RtpMap::new(98, "telephone-event", 8000, None))
    );
    assert_eq!(
        audio.rtpmap(99),
        Some(RtpMap::new(99, "telephone-event", 48000, None))
    );
    assert_eq!(audio.fmtp("98").map(|f| f.params), Some("0-16".to_string()));
    assert_eq!(
        audio.fmtp("97").map(|f| f.params),
        Some("mode=30".to_string())
    );
    assert_eq!(audio.ptime(), Some(20));
    assert_eq!(audio.direction(), Some(Direction::SendRecv));
    let chat = &offer.media[1];
    assert_eq!(chat.formats, ["*"]);
    assert!(text.contains(
        "m=message 2855 TCP/MSRP *\r\na=accept-types:message/cpim text/plain\r\n\
         a=path:msrp://atlanta.example.com:2855/abc;tcp\r\na=sendrecv\r\n"
    ));
}

#[test]
fn answer_with_renumbered_codec_is_read() {
    // RFC 4317 §2.3: iLBC offered as 97 and answered as 99 is the same codec.
    let offer = parse(
        "v=0\no=alice 1 1 IN IP4 a\ns=\nc=IN IP4 a\nt=0 0\nm=audio 49170 RTP/AVP 0 8 97\n\
         a=rtpmap:97 iLBC/8000\n",
    );
    let answer = parse(
        "v=0\no=bob 1 1 IN IP4 b\ns=\nc=IN IP4 b\nt=0 0\nm=audio 49172 RTP/AVP 99 3\n\
         a=rtpmap:99 iLBC/8000\n",
    );
    let streams = check_answer(&offer, &answer).expect("fits");
    let c = &streams[0].codecs;
    assert_eq!(c.len(), 1, "GSM (3) was never offered");
    assert_eq!(
        (c[0].rtpmap.payload_type, c[0].receive_payload_type),
        (99, 97)
    );
}

#[test]
fn answers_that_do_not_fit() {
    let offer = vector!("rfc3264_10_1_offer");
    let mut short = vector!("rfc3264_10_1_answer");
    short.media.pop();
    assert_eq!(
        check_answer(&offer, &short),
        Err(OfferAnswerError::MediaCountMismatch {
            offered: 3,
            answered: 2
        })
    );
    let mut swapped = vector!("rfc3264_10_1_answer");
    swapped.media[0].media = MediaType::Text;
    assert_eq!(
        check_answer(&offer, &swapped),
        Err(OfferAnswerError::MediaTypeMismatch { index: 0 })
    );
    let mut foreign = vector!("rfc3264_10_1_answer");
    foreign.media[2].formats = vec!["34".into()];
    foreign.media[2].attributes.clear();
    let err = check_answer(&offer, &foreign).expect_err("H.263 was never offered");
    assert_eq!(err, OfferAnswerError::NoCommonCodec { index: 2 });
    assert_eq!(
        err.to_string(),
        "m-line 2 accepted without an offered codec"
    );
}

#[test]
fn msrp_chat_is_answered() {
    let mut bob = caps("bob", 3, "bob.example.com");
    let mut chat = MediaCapabilities::msrp(
        7394,
        "TCP/MSRP",
        vec!["message/cpim".into(), "text/plain".into()],
    );
    chat.attributes = vec![Attribute::new(
        "path",
        "msrp://bob.example.com:7394/xyz;tcp",
    )];
    bob.media = vec![chat];
    let offer = vector!("msrp_chat_offer");
    let answer = bob.answer(&offer);
    let m = &answer.sdp.media[0];
    assert_eq!((m.port, m.proto.as_str()), (7394, "TCP/MSRP"));
    assert_eq!(m.formats, ["*"]);
    assert_eq!(m.accept_types(), ["message/cpim", "text/plain"]);
    assert_eq!(m.msrp_path(), ["msrp://bob.example.com:7394/xyz;tcp"]);
    assert_eq!(
        m.setup(),
        Some(Setup::Passive),
        "the offerer is active (RFC 6135)"
    );
    assert_eq!(answer.streams[0].direction, Direction::SendRecv);
    assert!(answer.streams[0].codecs.is_empty());

    // MSRP over TLS is another transport; unacceptable content is a rejection too.
    let mut tls = offer.clone();
    tls.media[0].proto = "TCP/TLS/MSRP".into();
    assert!(bob.answer(&tls).sdp.media[0].is_rejected());
    let mut images = offer.clone();
    images.media[0].set_attribute(Attribute::new("accept-types", "image/png"));
    assert!(bob.answer(&images).sdp.media[0].is_rejected());
    let mut any_text = offer;
    any_text.media[0].set_attribute(Attribute::new("accept-types", "text/*"));
    assert!(!bob.answer(&any_text).sdp.media[0].is_rejected());
}

#[test]
fn msrp_file_transfer_is_received() {
    let mut bob = caps("bob", 3, "bob.example.com");
    bob.media = vec![MediaCapabilities::msrp(
        7394,
        "TCP/TLS/MSRP",
        vec!["message/cpim".into()],
    )];
    let offer = vector!("msrp_file_offer");
    let answer = bob.answer(&offer);
    let m = &answer.sdp.media[0];
    assert_eq!(
        m.direction(),
        Some(Direction::RecvOnly),
        "the offer is sendonly"
    );
    assert_eq!(m.file_selector(), offer.media[0].file_selector());
    assert_eq!(
        m.file_transfer_id(),
        Some("vBnG916bdberum2fFEABR1FR3ExZMUrd")
    );
}

#[test]
fn hold_and_unhold_reoffers() {
    let mut alice = caps("alice", 10, "a");
    let mut listen = audio(4002, vec![Codec::new("PCMU", 8000)]);
    listen.direction = Direction::RecvOnly;
    alice.media = vec![
        audio(4000, vec![Codec::new("PCMU", 8000)]),
        listen,
        video(0, vec![Codec::new("H261", 90000)]),
    ];
    let offer = alice.offer();
    let held = hold(&offer);
    assert_eq!(held.origin.session_version, 11);
    let dirs: Vec<Option<Direction>> = held.media.iter().map(|m| m.direction()).collect();
    assert_eq!(
        dirs,
        [
            Some(Direction::SendOnly),
            Some(Direction::Inactive),
            Some(Direction::SendRecv)
        ],
        "the port-0 stream is left alone"
    );
    let resumed = unhold(&held);
    assert_eq!(resumed.origin.session_version, 12);
    let dirs: Vec<Option<Direction>> = resumed.media.iter().map(|m| m.direction()).collect();
    assert_eq!(
        dirs,
        [
            Some(Direction::SendRecv),
            Some(Direction::RecvOnly),
            Some(Direction::SendRecv)
        ]
    );
    // Nothing but the direction and version changed.
    let mut back = resumed.clone();
    back.origin.session_version = offer.origin.session_version;
    assert_eq!(back, offer);

    // The held party answers the hold with recvonly.
    let mut bob = caps("bob", 1, "b");
    bob.media = vec![audio(5000, vec![Codec::new("PCMU", 8000)])];
    let answer = bob.answer(&held);
    assert_eq!(answer.sdp.media[0].direction(), Some(Direction::RecvOnly));
    let streams = check_answer(&held, &answer.sdp).expect("fits");
    assert_eq!(streams[0].direction, Direction::SendOnly);
}
