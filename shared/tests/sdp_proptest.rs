//! Property tests of the SDP parser (RFC 8866 §5, §9): generated descriptions survive
//! `parse(encode(x)) == x`, anything the parser accepts re-encodes to something it parses the
//! same way, typed views round-trip, and no input makes the parser or an accessor panic.

use proptest::prelude::*;
use sipsimple::offer_answer::{
    check_answer, hold, unhold, Codec, LocalCapabilities, MediaCapabilities,
};
use sipsimple::sdp::{
    Attribute, Bandwidth, Candidate, CandidateType, Connection, Crypto, KeyParam, MediaDescription,
    MediaType, Origin, RtpMap, SessionDescription, Timing,
};

fn token() -> impl Strategy<Value = String> {
    "[a-zA-Z0-9][a-zA-Z0-9.+_~!-]{0,11}"
}

/// Free text for s=, i=, e=, ... : anything but line ends, spaces at either end included.
fn text() -> impl Strategy<Value = String> {
    "[^\r\n]{0,24}"
}

/// A word without whitespace, for addresses.
fn word() -> impl Strategy<Value = String> {
    "[a-zA-Z0-9.:/_-]{1,24}"
}

fn origin() -> impl Strategy<Value = Origin> {
    (
        token(),
        "[0-9]{1,20}",
        any::<u64>(),
        token(),
        token(),
        word(),
    )
        .prop_map(
            |(username, session_id, session_version, net_type, addr_type, address)| Origin {
                username,
                session_id,
                session_version,
                net_type,
                addr_type,
                address,
            },
        )
}

fn connection() -> impl Strategy<Value = Connection> {
    (token(), token(), word()).prop_map(|(net_type, addr_type, address)| Connection {
        net_type,
        addr_type,
        address,
    })
}

fn bandwidth() -> impl Strategy<Value = Bandwidth> {
    (token(), any::<u64>()).prop_map(|(bw_type, value)| Bandwidth { bw_type, value })
}

fn attribute() -> impl Strategy<Value = Attribute> {
    (token(), proptest::option::of(text())).prop_map(|(name, value)| Attribute { name, value })
}

fn timing() -> impl Strategy<Value = Timing> {
    (
        any::<u64>(),
        any::<u64>(),
        proptest::collection::vec(text(), 0..2),
    )
        .prop_map(|(start, stop, repeats)| Timing {
            start,
            stop,
            repeats,
        })
}

fn media_type() -> impl Strategy<Value = MediaType> {
    prop_oneof![
        Just(MediaType::Audio),
        Just(MediaType::Video),
        Just(MediaType::Text),
        Just(MediaType::Application),
        Just(MediaType::Message),
        Just(MediaType::Image),
        // Upper case never collides with the known lower-case names.
        "X[a-z0-9-]{0,8}".prop_map(MediaType::Other),
    ]
}

fn media() -> impl Strategy<Value = MediaDescription> {
    (
        (
            media_type(),
            any::<u16>(),
            proptest::option::of(any::<u16>()),
            proptest::collection::vec(token(), 1..4),
            proptest::collection::vec("[0-9a-z*]{1,4}", 1..6),
        ),
        (
            proptest::option::of(text()),
            proptest::collection::vec(connection(), 0..3),
            proptest::collection::vec(bandwidth(), 0..2),
            proptest::option::of(text()),
            proptest::collection::vec(attribute(), 0..8),
        ),
    )
        .prop_map(
            |(
                (media, port, port_count, proto, formats),
                (information, connections, bandwidths, encryption_key, attributes),
            )| MediaDescription {
                media,
                port,
                port_count,
                proto: proto.join("/"),
                formats,
                information,
                connections,
                bandwidths,
                encryption_key,
                attributes,
            },
        )
}

fn session() -> impl Strategy<Value = SessionDescription> {
    (
        (
            origin(),
            text(),
            proptest::option::of(text()),
            proptest::option::of(text()),
            proptest::collection::vec(text(), 0..2),
            proptest::collection::vec(text(), 0..2),
            proptest::option::of(connection()),
        ),
        (
            proptest::collection::vec(bandwidth(), 0..2),
            proptest::collection::vec(timing(), 0..3),
            proptest::option::of(text()),
            proptest::option::of(text()),
            proptest::collection::vec(attribute(), 0..8),
            proptest::collection::vec(media(), 0..5),
        ),
    )
        .prop_map(
            |(
                (origin, session_name, information, uri, emails, phones, connection),
                (bandwidths, timings, time_zones, encryption_key, attributes, media),
            )| SessionDescription {
                origin,
                session_name,
                information,
                uri,
                emails,
                phones,
                connection,
                bandwidths,
                timings,
                time_zones,
                encryption_key,
                attributes,
                media,
            },
        )
}

/// Lines that look like SDP, mostly well-formed, so that generated inputs get past the
/// first checks and reach the typed views; some are noise.
fn sdp_like() -> impl Strategy<Value = String> {
    let m_line = ("[0-9]{1,5}", proptest::collection::vec("[0-9]{1,3}", 1..4))
        .prop_map(|(port, f)| format!("m=audio {port} RTP/AVP {}", f.join(" ")));
    let rtpmap = (
        "[0-9]{1,3}",
        "[a-zA-Z0-9-]{1,8}",
        "[0-9]{1,6}",
        "(/[0-9]{1,2})?",
    )
        .prop_map(|(pt, name, rate, ch)| format!("a=rtpmap:{pt} {name}/{rate}{ch}"));
    let candidate = (
        "[0-9]{1,10} [0-9]{1,3} (udp|tcp|UDP) [0-9]{1,10}",
        "[0-9.]{1,15} [0-9]{1,5} typ (host|srflx|relay|prflx|x)",
        "( raddr [0-9.]{1,15})?( rport [0-9]{1,5})?( [a-z-]{1,8} [a-z0-9]{1,4}){0,2}",
    )
        .prop_map(|(a, b, c)| format!("a=candidate:{a} {b}{c}"));
    let crypto = "a=crypto:[0-9]{1,10} [A-Z0-9_]{1,20} inline:[a-zA-Z0-9+/]{1,40}\
                  (\\|2\\^[0-9]{1,2})?(\\|[0-9]{1,3}:[0-9]{1,3})?( [A-Z_=0-9]{1,8}){0,2}";
    let noise = (
        prop_oneof![
            Just("a="),
            Just("c="),
            Just("t="),
            Just("r="),
            Just("i="),
            Just("x="),
            Just("")
        ],
        "[ -~]{0,40}",
    )
        .prop_map(|(p, rest)| format!("{p}{rest}"));
    let line = prop_oneof![
        4 => m_line,
        1 => "m=message [0-9]{1,5} TCP/(TLS/)?MSRP \\*".prop_map(String::from),
        3 => rtpmap,
        2 => "a=fmtp:[0-9]{1,3} [ -~]{0,30}".prop_map(String::from),
        2 => candidate,
        2 => crypto.prop_map(String::from),
        1 => "a=fingerprint:(sha-1|sha-256) ([0-9A-F]{2}:){0,4}[0-9A-F]{2}".prop_map(String::from),
        1 => "a=setup:(active|passive|actpass|holdconn|x)".prop_map(String::from),
        2 => "a=(sendrecv|sendonly|recvonly|inactive|rtcp-mux|ice-lite|end-of-candidates)"
            .prop_map(String::from),
        1 => "a=rtcp:[0-9]{1,5}( IN IP4 [0-9.]{1,15})?".prop_map(String::from),
        1 => "a=(ptime|maxptime|max-size):[0-9.]{1,6}".prop_map(String::from),
        2 => "a=(path|accept-types|accept-wrapped-types|ice-ufrag|ice-pwd|mid|file-selector):[ -~]{0,40}"
            .prop_map(String::from),
        1 => "c=IN IP(4|6) [0-9.:]{1,15}".prop_map(String::from),
        1 => "b=(AS|CT|TIAS):[0-9]{1,6}".prop_map(String::from),
        1 => noise,
    ];
    (
        proptest::collection::vec(line, 0..16),
        prop_oneof![Just("\r\n"), Just("\n")],
    )
        .prop_map(|(lines, eol)| {
            format!(
                "v=0{eol}o=- 1 1 IN IP4 h{eol}s=-{eol}t=0 0{eol}{}",
                lines.join(eol)
            )
        })
}

/// Calls every accessor, to check none of them panics.
fn read_everything(sdp: &SessionDescription) -> usize {
    let mut n = usize::from(sdp.ice_lite()) + usize::from(sdp.direction().is_some());
    for m in &sdp.media {
        n += m.payload_types().count()
            + m.rtpmaps().count()
            + m.fmtps().map(|f| f.parameters().count()).sum::<usize>()
            + m.crypto()
                .map(|c| usize::from(c.inline_key().is_some()))
                .sum::<usize>()
            + m.candidates().count()
            + m.msrp_path().len()
            + m.accept_types().len()
            + m.accept_wrapped_types().len();
        n += usize::from(m.ptime().is_some())
            + usize::from(m.maxptime().is_some())
            + usize::from(m.rtcp().is_some())
            + usize::from(m.rtcp_mux())
            + usize::from(m.fingerprint().is_some())
            + usize::from(m.setup().is_some())
            + usize::from(m.mid().is_some())
            + usize::from(m.msrp_max_size().is_some())
            + usize::from(m.file_selector().is_some())
            + usize::from(m.end_of_candidates());
        n += usize::from(sdp.direction_of(m).sends())
            + usize::from(sdp.connection_of(m).is_some())
            + usize::from(sdp.setup_of(m).is_some())
            + usize::from(sdp.fingerprint_of(m).is_some())
            + usize::from(sdp.ice_ufrag_of(m).is_some())
            + usize::from(sdp.ice_pwd_of(m).is_some());
    }
    n
}

fn candidate() -> impl Strategy<Value = Candidate> {
    (
        (
            "[a-zA-Z0-9+/]{1,32}",
            1..=256u16,
            token(),
            any::<u32>(),
            word(),
            any::<u16>(),
        ),
        (
            prop_oneof![
                Just(CandidateType::Host),
                Just(CandidateType::ServerReflexive),
                Just(CandidateType::PeerReflexive),
                Just(CandidateType::Relayed),
                "x[a-z]{1,5}".prop_map(CandidateType::Other),
            ],
            proptest::option::of(word()),
            proptest::option::of(any::<u16>()),
            proptest::collection::vec(("x-[a-z]{1,6}", "[a-zA-Z0-9]{1,6}"), 0..3),
        ),
    )
        .prop_map(
            |(
                (foundation, component, transport, priority, address, port),
                (kind, related_address, related_port, extensions),
            )| Candidate {
                foundation,
                component,
                transport,
                priority,
                address,
                port,
                kind,
                related_address,
                related_port,
                extensions,
            },
        )
}

fn capabilities() -> impl Strategy<Value = LocalCapabilities> {
    let codec = prop_oneof![
        Just(Codec::new("PCMU", 8000)),
        Just(Codec::new("PCMA", 8000)),
        Just(Codec::new("G722", 8000)),
        Just(
            Codec::new("opus", 48000)
                .with_channels(2)
                .with_fmtp("useinbandfec=1")
        ),
        Just(Codec::new("iLBC", 8000)),
        Just(Codec::new("H264", 90000).with_fmtp("packetization-mode=1")),
    ];
    let audio = (
        proptest::collection::vec(codec, 0..5),
        any::<bool>(),
        1..65535u16,
    )
        .prop_map(|(codecs, te, port)| {
            let mut c = MediaCapabilities::rtp(MediaType::Audio, port, "RTP/AVP", codecs);
            c.telephone_event = te;
            c
        });
    (proptest::collection::vec(audio, 0..3), any::<bool>()).prop_map(|(media, on_hold)| {
        let mut caps =
            LocalCapabilities::new(Origin::new("-", "1", 1, "h"), Connection::ip4("192.0.2.1"));
        caps.media = media;
        caps.on_hold = on_hold;
        caps
    })
}

proptest! {
    // No regression files: failures print their minimal input, to be kept as a named test.
    #![proptest_config(ProptestConfig {
        failure_persistence: None,
        ..ProptestConfig::with_cases(512)
    })]

    #[test]
    fn generated_descriptions_round_trip(sdp in session()) {
        let bytes = sdp.to_bytes();
        let parsed = SessionDescription::parse(&bytes);
        prop_assert_eq!(parsed.as_ref(), Ok(&sdp), "{}", String::from_utf8_lossy(&bytes));
    }

    #[test]
    fn parse_never_panics_on_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..2048)) {
        let _ = SessionDescription::parse(&bytes);
    }

    #[test]
    fn parse_never_panics_on_text(s in any::<String>()) {
        let _ = SessionDescription::parse(s.as_bytes());
    }

    #[test]
    fn accepted_input_reencodes_stably(s in sdp_like()) {
        if let Ok(sdp) = SessionDescription::parse(s.as_bytes()) {
            read_everything(&sdp);
            let again = SessionDescription::parse(&sdp.to_bytes());
            prop_assert_eq!(again.as_ref(), Ok(&sdp));
        }
    }

    #[test]
    fn typed_views_never_panic(value in "[ -~]{0,64}") {
        let _ = RtpMap::parse(&value);
        let _ = Crypto::parse(&value).map(|c| c.inline_key());
        let _ = Candidate::parse(&value);
        let _ = sipsimple::sdp::Fmtp::parse(&value).map(|f| f.parameters().count());
        let _ = sipsimple::sdp::Rtcp::parse(&value);
        let _ = sipsimple::sdp::Fingerprint::parse(&value);
        let _ = sipsimple::sdp::Setup::parse(&value);
    }

    #[test]
    fn candidates_round_trip(c in candidate()) {
        prop_assert_eq!(Candidate::parse(&c.to_string()), Some(c));
    }

    #[test]
    fn rtpmaps_round_trip(pt in 0..=127u8, name in token(), rate in any::<u32>(), ch in proptest::option::of(any::<u16>())) {
        let map = RtpMap::new(pt, name, rate, ch);
        prop_assert_eq!(RtpMap::parse(&map.to_string()), Some(map));
    }

    #[test]
    fn crypto_round_trips(
        tag in 0..=999_999_999u32,
        suite in "[A-Z0-9_]{1,24}",
        keys in proptest::collection::vec("[a-zA-Z0-9+/=|^:]{1,40}", 1..3),
        params in proptest::collection::vec("[A-Z_=0-9]{1,10}", 0..3),
    ) {
        let c = Crypto {
            tag,
            suite,
            key_params: keys.into_iter().map(|info| KeyParam { method: "inline".into(), info }).collect(),
            session_params: params,
        };
        prop_assert_eq!(Crypto::parse(&c.to_string()), Some(c));
    }

    #[test]
    fn own_offers_answer_and_check(alice in capabilities(), bob in capabilities()) {
        let offer = alice.offer();
        let reparsed = SessionDescription::parse(&offer.to_bytes());
        prop_assert_eq!(reparsed.as_ref(), Ok(&offer));
        let answer = bob.answer(&offer);
        prop_assert_eq!(answer.sdp.media.len(), offer.media.len());
        let wire = SessionDescription::parse(&answer.sdp.to_bytes()).expect("our answer parses");
        let streams = check_answer(&offer, &wire).expect("our answer fits our offer");
        for (ours, theirs) in streams.iter().zip(&answer.streams) {
            prop_assert_eq!(ours.accepted, theirs.accepted);
            prop_assert_eq!(ours.direction, theirs.direction.reverse());
            let ours: Vec<u8> = ours.codecs.iter().map(|c| c.rtpmap.payload_type).collect();
            let theirs: Vec<u8> = theirs.codecs.iter().map(|c| c.rtpmap.payload_type).collect();
            prop_assert_eq!(ours, theirs);
        }
        let held = hold(&offer);
        prop_assert_eq!(held.origin.session_version, offer.origin.session_version + 1);
        prop_assert!(held.media.iter().all(|m| m.is_rejected() || !held.direction_of(m).receives()));
        let resumed = unhold(&held);
        prop_assert!(resumed.media.iter().all(|m| resumed.direction_of(m).receives()));
    }
}
