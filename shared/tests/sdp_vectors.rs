//! Session descriptions from the RFCs and from real agents (RFC 8866 §5, RFC 3264 §9–§10,
//! a Chromium offer, MSRP chat and file transfer per RFC 4975 and RFC 5547), parsed, read
//! through the typed accessors and re-serialised byte for byte.

use sipsimple::sdp::{
    Attribute, CandidateType, Connection, Crypto, Direction, Fmtp, MediaType, Rtcp, RtpMap,
    SessionDescription, Setup,
};

/// A vector file from `tests/vectors/sdp/`, stored with LF line ends.
macro_rules! vector {
    ($name:literal) => {
        include_str!(concat!("vectors/sdp/", $name, ".sdp"))
    };
}

const VECTORS: &[(&str, &str)] = &[
    ("rfc8866_example", vector!("rfc8866_example")),
    ("rfc3264_10_1_offer", vector!("rfc3264_10_1_offer")),
    ("rfc3264_10_1_answer", vector!("rfc3264_10_1_answer")),
    ("rfc3264_10_1_reoffer", vector!("rfc3264_10_1_reoffer")),
    ("rfc3264_10_1_reanswer", vector!("rfc3264_10_1_reanswer")),
    ("rfc3264_10_2_offer", vector!("rfc3264_10_2_offer")),
    ("rfc3264_10_2_answer", vector!("rfc3264_10_2_answer")),
    ("rfc3264_10_2_reoffer", vector!("rfc3264_10_2_reoffer")),
    ("rfc3264_10_2_reanswer", vector!("rfc3264_10_2_reanswer")),
    ("chromium_offer", vector!("chromium_offer")),
    ("msrp_chat_offer", vector!("msrp_chat_offer")),
    ("msrp_file_offer", vector!("msrp_file_offer")),
];

fn crlf(s: &str) -> String {
    s.replace('\n', "\r\n")
}

fn parse(s: &str) -> SessionDescription {
    SessionDescription::parse(s.as_bytes()).expect("a valid description")
}

#[test]
fn every_vector_reserialises_byte_for_byte() {
    for (name, text) in VECTORS {
        let wire = crlf(text);
        let sdp =
            SessionDescription::parse(wire.as_bytes()).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(String::from_utf8_lossy(&sdp.to_bytes()), wire, "{name}");
        assert_eq!(sdp.to_string(), wire, "{name}: Display and encode agree");
    }
}

#[test]
fn bare_lf_parses_like_crlf() {
    for (name, text) in VECTORS {
        assert_eq!(parse(text), parse(&crlf(text)), "{name}");
    }
}

#[test]
fn from_str_is_parse() {
    let text = vector!("rfc8866_example");
    let sdp: SessionDescription = text.parse().expect("valid");
    assert_eq!(sdp, parse(text));
}

#[test]
fn rfc8866_example_fields() {
    let sdp = parse(vector!("rfc8866_example"));
    assert_eq!(sdp.origin.username, "jdoe");
    assert_eq!(sdp.origin.session_id, "3724394400");
    assert_eq!(sdp.origin.session_version, 3724394405);
    assert_eq!(sdp.origin.address, "198.51.100.1");
    assert_eq!(sdp.session_name, "Call to John Smith");
    assert_eq!(sdp.information.as_deref(), Some("SDP Offer #1"));
    assert_eq!(
        sdp.uri.as_deref(),
        Some("http://www.jdoe.example.com/home.html")
    );
    assert_eq!(sdp.emails, ["Jane Doe <jane@jdoe.example.com>"]);
    assert_eq!(sdp.phones, ["+1 617 555-6011"]);
    assert_eq!(sdp.connection, Some(Connection::ip4("198.51.100.1")));
    assert_eq!(sdp.timings.len(), 1);
    assert_eq!((sdp.timings[0].start, sdp.timings[0].stop), (0, 0));
    assert_eq!(sdp.media.len(), 3);

    let audio = &sdp.media[0];
    assert_eq!(audio.media, MediaType::Audio);
    assert_eq!((audio.port, audio.proto.as_str()), (49170, "RTP/AVP"));
    assert_eq!(audio.formats, ["0"]);
    // No a=rtpmap: the static assignment of RFC 3551.
    assert_eq!(audio.rtpmap(0), Some(RtpMap::new(0, "PCMU", 8000, Some(1))));
    assert_eq!(
        sdp.connection_of(audio).map(Connection::host),
        Some("198.51.100.1")
    );

    let video = &sdp.media[2];
    assert_eq!(video.media, MediaType::Video);
    assert_eq!(video.connections, [Connection::ip6("2001:db8::2")]);
    assert_eq!(
        sdp.connection_of(video).map(|c| c.addr_type.as_str()),
        Some("IP6")
    );
    assert_eq!(
        video.rtpmap(99),
        Some(RtpMap::new(99, "h263-1998", 90000, None))
    );
    assert_eq!(sdp.direction_of(video), Direction::SendRecv);
}

#[test]
fn rfc3264_capabilities_lines_out_of_order_are_reordered() {
    // RFC 3264 §9 puts t= before c=; the encoding follows the order of RFC 8866 §5.
    let text = vector!("rfc3264_9_capabilities");
    let sdp = parse(text);
    assert_eq!(sdp.origin.session_id, "28908764872");
    assert!(sdp.media.iter().all(|m| m.is_rejected()));
    assert_eq!(
        sdp.media[0].rtpmap(1).map(|m| m.encoding),
        Some("1016".to_string())
    );
    let expected = crlf(text).replace(
        "t=0 0\r\nc=IN IP4 192.0.2.4\r\n",
        "c=IN IP4 192.0.2.4\r\nt=0 0\r\n",
    );
    assert_eq!(sdp.to_string(), expected);
    assert_eq!(parse(&expected), sdp);
}

#[test]
fn rfc3264_examples_read() {
    let answer = parse(vector!("rfc3264_10_1_answer"));
    let ports: Vec<u16> = answer.media.iter().map(|m| m.port).collect();
    assert_eq!(ports, [49920, 0, 53000]);
    assert!(answer.media[1].is_rejected());

    let reoffer = parse(vector!("rfc3264_10_1_reoffer"));
    let events = &reoffer.media[3];
    assert_eq!(events.direction(), Some(Direction::RecvOnly));
    let map = events.rtpmap(110).expect("rtpmap 110");
    assert!(
        map.is_telephone_event(),
        "the RFC's spelling telephone-events"
    );

    let offer = parse(vector!("rfc3264_10_2_offer"));
    let audio = &offer.media[0];
    assert_eq!(audio.payload_types().collect::<Vec<_>>(), [0, 4, 18]);
    assert_eq!(offer.direction_of(audio), Direction::Inactive);
    assert_eq!(
        audio.rtpmap(18).map(|m| m.encoding),
        Some("G729".to_string())
    );
}

#[test]
fn chromium_offer_typed_accessors() {
    let sdp = parse(vector!("chromium_offer"));
    assert_eq!(sdp.origin.session_id, "4611731400430051336");
    assert_eq!(
        sdp.attribute("group").map(Attribute::value),
        Some("BUNDLE 0 1")
    );
    // The space after the colon is kept as written.
    assert_eq!(
        sdp.attribute("msid-semantic").map(Attribute::value),
        Some(" WMS 5f0e1c8a-4f7b-4b3e-9d43-0c6f0a2f6b9e")
    );
    assert!(!sdp.ice_lite());

    let audio = &sdp.media[0];
    assert!(audio.is_rtp() && !audio.is_msrp());
    assert_eq!(audio.proto, "UDP/TLS/RTP/SAVPF");
    assert_eq!(
        audio.payload_types().collect::<Vec<_>>(),
        [111, 63, 9, 0, 8, 13, 110, 126]
    );
    assert_eq!(audio.ice_ufrag(), Some("Kx3v"));
    assert_eq!(sdp.ice_pwd_of(audio), Some("vHq9ds0Vf8zL2rJ7QcPZ1aYb"));
    let fp = audio.fingerprint().expect("fingerprint");
    assert_eq!(fp.hash_function, "sha-256");
    assert!(fp.value.starts_with("4A:AD:B9"));
    assert_eq!(audio.setup(), Some(Setup::ActPass));
    assert_eq!(audio.mid(), Some("0"));
    assert!(audio.rtcp_mux());
    assert_eq!(
        audio.rtcp(),
        Some(Rtcp {
            port: 9,
            connection: Some(Connection::ip4("0.0.0.0")),
        })
    );
    assert_eq!(sdp.direction_of(audio), Direction::SendRecv);

    assert_eq!(
        audio.rtpmap(111),
        Some(RtpMap::new(111, "opus", 48000, Some(2)))
    );
    let fmtp = audio.fmtp("111").expect("fmtp 111");
    assert_eq!(fmtp.params, "minptime=10;useinbandfec=1");
    assert_eq!(fmtp.parameter("useinbandfec"), Some("1"));
    assert_eq!(fmtp.parameter("minptime"), Some("10"));
    assert_eq!(
        audio.fmtp("63").map(|f| f.params),
        Some("111/111".to_string())
    );
    let events: Vec<u32> = audio
        .rtpmaps()
        .filter(RtpMap::is_telephone_event)
        .map(|m| m.clock_rate)
        .collect();
    assert_eq!(events, [48000, 8000]);

    let candidates: Vec<_> = audio.candidates().collect();
    assert_eq!(candidates.len(), 3);
    assert_eq!(candidates[0].kind, CandidateType::Host);
    assert_eq!(candidates[0].priority, 2122260223);
    assert_eq!(candidates[0].extension("network-cost"), Some("10"));
    let srflx = &candidates[1];
    assert_eq!(srflx.kind, CandidateType::ServerReflexive);
    assert_eq!((srflx.address.as_str(), srflx.port), ("203.0.113.7", 50412));
    assert_eq!(srflx.related_address.as_deref(), Some("192.168.1.23"));
    assert_eq!(srflx.related_port, Some(50412));
    assert_eq!(candidates[2].transport, "tcp");
    assert_eq!(candidates[2].extension("tcptype"), Some("active"));
    assert!(!audio.end_of_candidates());
    for c in &candidates {
        assert_eq!(
            sipsimple::sdp::Candidate::parse(&c.to_string()).as_ref(),
            Some(c)
        );
    }

    let video = &sdp.media[1];
    assert_eq!(
        video.rtpmap(102).map(|m| m.encoding),
        Some("H264".to_string())
    );
    assert_eq!(
        video
            .fmtp("102")
            .and_then(|f| f.parameter("profile-level-id").map(str::to_string)),
        Some("42001f".to_string())
    );
}

#[test]
fn chromium_unknown_lines_stay_in_order() {
    let text = crlf(vector!("chromium_offer"));
    let out = parse(&text).to_string();
    // extmap, ssrc, ssrc-group, rtcp-fb and msid are not typed: kept verbatim, in order.
    let kept = |s: &str| -> Vec<String> {
        s.lines()
            .filter(|l| {
                ["a=extmap", "a=ssrc", "a=rtcp-fb", "a=msid:"]
                    .iter()
                    .any(|p| l.starts_with(p))
            })
            .map(str::to_string)
            .collect()
    };
    assert_eq!(kept(&out), kept(&text));
    assert!(out.contains(
        "a=ssrc:3735928559 msid:5f0e1c8a-4f7b-4b3e-9d43-0c6f0a2f6b9e \
         0b6a4f7e-2c1d-4e9a-8f3b-6d5c4b3a2918\r\n"
    ));
    assert!(out.contains("a=ssrc-group:FID 2863311530 1431655765\r\n"));
}

#[test]
fn msrp_chat_offer() {
    let sdp = parse(vector!("msrp_chat_offer"));
    let m = &sdp.media[0];
    assert_eq!(m.media, MediaType::Message);
    assert_eq!((m.port, m.proto.as_str()), (2855, "TCP/MSRP"));
    assert_eq!(m.formats, ["*"]);
    assert!(m.is_msrp() && !m.is_rtp());
    assert_eq!(m.msrp_path(), ["msrp://alice.example.com:2855/abc;tcp"]);
    assert_eq!(m.accept_types(), ["message/cpim", "text/plain"]);
    assert_eq!(m.accept_wrapped_types(), ["*"]);
    assert_eq!(m.setup(), Some(Setup::Active));
    assert_eq!(sdp.setup_of(m), Some(Setup::Active));
    assert_eq!(m.file_selector(), None);
}

#[test]
fn msrp_file_transfer_offer() {
    let sdp = parse(vector!("msrp_file_offer"));
    let m = &sdp.media[0];
    assert_eq!(m.proto, "TCP/TLS/MSRP");
    assert!(m.is_msrp());
    assert_eq!(
        m.information.as_deref(),
        Some("This is my latest text file")
    );
    assert_eq!(sdp.direction_of(m), Direction::SendOnly);
    assert_eq!(
        m.msrp_path(),
        [
            "msrps://relay.example.net:2855/Jd9rT2;tcp",
            "msrps://alicepc.example.com:7654/jshA7we;tcp"
        ]
    );
    assert_eq!(
        m.file_selector(),
        Some(
            "name:\"a b.txt\" type:text/plain size:123 \
             hash:sha-1:72:24:5F:E8:65:3D:DA:F3:71:36:2F:86:D4:71:91:3E:E4:A2:CE:2E"
        )
    );
    assert_eq!(
        m.file_transfer_id(),
        Some("vBnG916bdberum2fFEABR1FR3ExZMUrd")
    );
    assert_eq!(m.file_disposition(), Some("attachment"));
    assert_eq!(m.msrp_max_size(), Some(2048));
    assert_eq!(
        m.attribute("file-date").map(Attribute::value),
        Some("creation:\"Mon, 15 May 2006 15:01:31 +0300\"")
    );
}

#[test]
fn sdes_crypto() {
    // RFC 4568 §4 and §6.1 examples.
    let c = Crypto::parse(
        "1 AES_CM_128_HMAC_SHA1_80 inline:PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaVBR|2^20|1:4 \
         KDR=1 UNENCRYPTED_SRTCP",
    )
    .expect("valid crypto");
    assert_eq!((c.tag, c.suite.as_str()), (1, "AES_CM_128_HMAC_SHA1_80"));
    assert_eq!(c.session_params, ["KDR=1", "UNENCRYPTED_SRTCP"]);
    let key = c.inline_key().expect("inline key");
    assert_eq!(key.key_salt, "PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaVBR");
    assert_eq!(key.lifetime.as_deref(), Some("2^20"));
    let mki = key.mki.expect("mki");
    assert_eq!((mki.value.as_str(), mki.length), ("1", 4));
    assert_eq!(Crypto::parse(&c.to_string()), Some(c));

    let two = Crypto::parse("2 AES_CM_128_HMAC_SHA1_32 inline:NzB4d1BINUAvLEw6UzF3WSJ+PSdFcGdUJShpX1Zj|2^20|1:32;inline:NzB4d1BINUAvLEw6UzF3WSJ+PSdFcGdUJShpX1Zj|2^20|2:32").expect("two keys");
    assert_eq!(two.key_params.len(), 2);
    assert_eq!(
        two.key_params[1]
            .inline()
            .and_then(|k| k.mki)
            .map(|m| m.value),
        Some("2".to_string())
    );
    let bare =
        Crypto::parse("3 AES_CM_128_HMAC_SHA1_80 inline:YUJDZGVmZ2hpSktMbW9QUXJzVFVWd3l6MTIzNDU2")
            .and_then(|c| c.inline_key())
            .expect("key without lifetime or mki");
    assert_eq!((bare.lifetime, bare.mki), (None, None));

    for bad in [
        "",
        "x AES_CM_128_HMAC_SHA1_80 inline:abc",
        "1 AES_CM_128_HMAC_SHA1_80",
        "1 AES_CM_128_HMAC_SHA1_80 inline",
        "1234567890 AES_CM_128_HMAC_SHA1_80 inline:abc",
    ] {
        assert_eq!(Crypto::parse(bad), None, "{bad:?}");
    }
    let bad_mki = Crypto::parse("1 S inline:abc|1:0").expect("parses");
    assert_eq!(bad_mki.inline_key(), None, "MKI length 0");

    let media = parse(
        "v=0\no=- 1 1 IN IP4 h\ns=-\nt=0 0\nm=audio 1 RTP/SAVP 0\n\
         a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaVBR\n\
         a=crypto:broken\n",
    );
    assert_eq!(
        media.media[0].crypto().count(),
        1,
        "malformed lines are skipped"
    );
}

#[test]
fn old_style_hold_address() {
    let held = parse(
        "v=0\no=- 1 2 IN IP4 h\ns=-\nc=IN IP4 0.0.0.0\nt=0 0\nm=audio 4000 RTP/AVP 0\n\
         m=audio 4002 RTP/AVP 0\na=recvonly\nm=audio 4004 RTP/AVP 0\nc=IN IP4 192.0.2.9\n",
    );
    assert_eq!(held.direction_of(&held.media[0]), Direction::SendOnly);
    assert_eq!(held.direction_of(&held.media[1]), Direction::Inactive);
    // The media's own c= overrides the session's.
    assert_eq!(held.direction_of(&held.media[2]), Direction::SendRecv);

    // With ICE, 0.0.0.0 is a trickle placeholder, not a hold.
    let ice = parse(
        "v=0\no=- 1 2 IN IP4 h\ns=-\nt=0 0\na=ice-ufrag:abcd\nm=audio 9 UDP/TLS/RTP/SAVPF 111\n\
         c=IN IP4 0.0.0.0\na=ice-pwd:0123456789abcdefghijkl\n",
    );
    assert_eq!(ice.direction_of(&ice.media[0]), Direction::SendRecv);
    assert_eq!(ice.ice_ufrag_of(&ice.media[0]), Some("abcd"));
}

#[test]
fn session_level_defaults() {
    let sdp = parse(
        "v=0\no=- 1 2 IN IP4 h\ns=-\nt=0 0\na=ice-lite\na=sendonly\na=setup:passive\n\
         a=fingerprint:sha-1 AB:CD\nm=audio 9 RTP/AVP 0\na=end-of-candidates\n\
         m=video 9 RTP/AVP 31\na=inactive\na=setup:active\n",
    );
    assert!(sdp.ice_lite());
    assert_eq!(sdp.direction(), Some(Direction::SendOnly));
    assert_eq!(sdp.direction_of(&sdp.media[0]), Direction::SendOnly);
    assert_eq!(sdp.direction_of(&sdp.media[1]), Direction::Inactive);
    assert_eq!(sdp.setup_of(&sdp.media[0]), Some(Setup::Passive));
    assert_eq!(sdp.setup_of(&sdp.media[1]), Some(Setup::Active));
    assert_eq!(
        sdp.fingerprint_of(&sdp.media[0]).map(|f| f.value),
        Some("AB:CD".to_string())
    );
    assert!(sdp.media[0].end_of_candidates());
}

#[test]
fn attributes_keep_their_exact_form() {
    let text = "v=0\r\no=- 1 2 IN IP4 h\r\ns= spaced name \r\nt=0 0\r\na=flag\r\na=empty:\r\n\
                a=x-odd: two  spaces :and colons: \r\nm=audio 9 RTP/AVP 0\r\na=ptime:20\r\n\
                a=maxptime:40\r\na=X-Vendor:\u{e9}t\u{e9}\r\n";
    let sdp = parse(text);
    assert_eq!(sdp.to_string(), text);
    assert_eq!(sdp.session_name, " spaced name ");
    assert_eq!(sdp.attributes[0], Attribute::flag("flag"));
    assert_eq!(sdp.attributes[1], Attribute::new("empty", ""));
    assert_eq!(sdp.attributes[2].value(), " two  spaces :and colons: ");
    assert_eq!(sdp.media[0].ptime(), Some(20));
    assert_eq!(sdp.media[0].maxptime(), Some(40));
    assert!(
        sdp.media[0].has_attribute("x-vendor"),
        "names match case-insensitively"
    );
}

#[test]
fn typed_attribute_views() {
    assert_eq!(
        RtpMap::parse("96 telephone-event/8000"),
        Some(RtpMap::new(96, "telephone-event", 8000, None))
    );
    for bad in [
        "",
        "128 PCMU/8000",
        "x PCMU/8000",
        "0 PCMU",
        "0 PCMU/x",
        "0 PCMU/8000/1/2",
    ] {
        assert_eq!(RtpMap::parse(bad), None, "{bad:?}");
    }
    let f = Fmtp::parse("101 0-16").expect("fmtp");
    assert_eq!((f.payload_type(), f.params.as_str()), (Some(101), "0-16"));
    assert_eq!(f.parameters().collect::<Vec<_>>(), [("0-16", None)]);
    assert_eq!(Rtcp::parse("53020").map(|r| r.port), Some(53020));
    assert_eq!(Rtcp::parse("53020 IN IP4"), None);
    assert_eq!(Setup::parse("HOLDCONN"), Some(Setup::HoldConn));
    assert_eq!(Setup::answer_to(Setup::ActPass), Setup::Active);
    assert_eq!(Setup::answer_to(Setup::Active), Setup::Passive);
    assert_eq!(Setup::answer_to(Setup::Passive), Setup::Active);
    assert_eq!(sipsimple::sdp::Fingerprint::parse("sha-256 XY:00"), None);
    assert_eq!(sipsimple::sdp::Candidate::parse("1 1 udp 1 h 1 typ"), None);
    assert_eq!(
        sipsimple::sdp::Candidate::parse("1 1 udp 1 h 1 typ host generation"),
        None,
        "an extension without its value"
    );
}

#[test]
fn set_direction_replaces_in_place() {
    let mut sdp =
        parse("v=0\no=- 1 2 IN IP4 h\ns=-\nt=0 0\nm=audio 9 RTP/AVP 0\na=sendrecv\na=ptime:20\n");
    let m = &mut sdp.media[0];
    m.set_direction(Direction::SendOnly);
    assert_eq!(m.attributes[0], Attribute::flag("sendonly"));
    assert_eq!(m.attributes.len(), 2);
    m.remove_attributes("sendonly");
    m.set_direction(Direction::Inactive);
    assert_eq!(m.attributes[1], Attribute::flag("inactive"));
    sdp.increment_version();
    assert_eq!(sdp.origin.session_version, 3);
}
