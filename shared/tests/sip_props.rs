//! Property tests of the SIP layer (RFC 3261 §7, §19, §20): no input makes a parser panic
//! (arbitrary bytes, SIP-like text, and mutations of the RFC 4475 and RFC 5118 messages), and
//! for generated messages `parse(encode(m)) == m`.

use proptest::prelude::*;
use sipsimple::sip::{
    multipart, CSeq, ContentType, Header, Message, MessageRef, NameAddr, SipDate, StartLine, Uri,
    Via,
};

macro_rules! corpus {
    ($($dir:literal / $name:literal),* $(,)?) => {
        &[$(include_bytes!(concat!("vectors/", $dir, "/", $name, ".dat")).as_slice()),*]
    };
}

const VECTORS: &[&[u8]] = corpus![
    "rfc4475" / "wsinv",
    "rfc4475" / "intmeth",
    "rfc4475" / "esc01",
    "rfc4475" / "escnull",
    "rfc4475" / "esc02",
    "rfc4475" / "lwsdisp",
    "rfc4475" / "longreq",
    "rfc4475" / "dblreq",
    "rfc4475" / "semiuri",
    "rfc4475" / "transports",
    "rfc4475" / "mpart01",
    "rfc4475" / "unreason",
    "rfc4475" / "noreason",
    "rfc4475" / "badinv01",
    "rfc4475" / "clerr",
    "rfc4475" / "ncl",
    "rfc4475" / "scalar02",
    "rfc4475" / "scalarlg",
    "rfc4475" / "quotbal",
    "rfc4475" / "ltgtruri",
    "rfc4475" / "lwsruri",
    "rfc4475" / "lwsstart",
    "rfc4475" / "trws",
    "rfc4475" / "escruri",
    "rfc4475" / "baddate",
    "rfc4475" / "regbadct",
    "rfc4475" / "badaspec",
    "rfc4475" / "baddn",
    "rfc4475" / "badvers",
    "rfc4475" / "mismatch01",
    "rfc4475" / "mismatch02",
    "rfc4475" / "bigcode",
    "rfc4475" / "badbranch",
    "rfc4475" / "insuf",
    "rfc4475" / "unkscm",
    "rfc4475" / "novelsc",
    "rfc4475" / "unksm2",
    "rfc4475" / "bext01",
    "rfc4475" / "invut",
    "rfc4475" / "regaut01",
    "rfc4475" / "multi01",
    "rfc4475" / "mcl01",
    "rfc4475" / "bcast",
    "rfc4475" / "zeromf",
    "rfc4475" / "cparam01",
    "rfc4475" / "cparam02",
    "rfc4475" / "regescrt",
    "rfc4475" / "sdp01",
    "rfc4475" / "inv2543",
    "rfc5118" / "ipv6-good",
    "rfc5118" / "ipv6-bad",
    "rfc5118" / "port-ambiguous",
    "rfc5118" / "via-received-param-with-delim",
    "rfc5118" / "ipv6-in-sdp",
    "rfc5118" / "mult-ip-in-header",
    "rfc5118" / "ipv4-mapped-ipv6",
    "rfc5118" / "ipv6-bug-abnf-3-colons",
];

/// Runs every parser and typed accessor over `bytes`; only panics matter.
fn exercise(bytes: &[u8]) {
    let _ = MessageRef::frame(bytes);
    let _ = multipart::split(bytes, "boundary");
    if let Ok(r) = MessageRef::parse(bytes) {
        for h in &r.headers {
            let _ = h.unfolded();
        }
    }
    let _ = Message::parse_strict(bytes);
    let text = String::from_utf8_lossy(bytes);
    let _ = Uri::parse(&text);
    let _ = NameAddr::parse(&text);
    let _ = Via::parse(&text);
    let _ = CSeq::parse(&text);
    let _ = SipDate::parse(&text);
    let _ = ContentType::parse(&text);
    if let Ok(m) = Message::parse(bytes) {
        let _ = m.validate();
        let _ = m.cseq();
        let _ = m.from_addr();
        let _ = m.to_addr();
        let _ = m.vias();
        let _ = m.top_via().map(|v| (v.received(), v.rport()));
        for c in m.contacts().unwrap_or_default() {
            let _ = (c.q(), c.expires(), c.tag());
        }
        let _ = m.max_forwards();
        let _ = m.expires();
        let _ = m.content_length();
        let _ = m.content_type();
        let _ = m.date();
        let _ = m.allow();
        let _ = m.require();
        let _ = m.event();
        let _ = m.subscription_state();
        let _ = m.routes();
        let _ = m.record_routes();
        let _ = m.reasons();
        let _ = multipart::parts(&m);
        if let Some(u) = m.request_uri() {
            let _ = (u.user_decoded(), u.ipv6(), u.equivalent(u), u.to_string());
        }
        let _ = Message::parse(&m.to_bytes());
    }
}

fn token() -> impl Strategy<Value = String> {
    "[A-Za-z0-9.!%*_+`'~-]{1,12}"
}

fn host() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-z][a-z0-9-]{0,8}(\\.[a-z][a-z0-9-]{0,8}){0,3}",
        any::<[u8; 4]>().prop_map(|a| format!("{}.{}.{}.{}", a[0], a[1], a[2], a[3])),
        any::<[u16; 8]>().prop_map(|a| format!("[{}]", core::net::Ipv6Addr::from(a))),
    ]
}

fn request_uri() -> impl Strategy<Value = Uri> {
    (
        prop_oneof![Just("sip"), Just("sips")],
        proptest::option::of("[a-zA-Z0-9._~!$&'()*+,=;?/-]{1,10}"),
        proptest::option::of("[a-zA-Z0-9&=+$,]{0,8}"),
        host(),
        proptest::option::of(any::<u16>()),
        proptest::collection::vec(
            ("[a-z0-9-]{1,8}", proptest::option::of("[a-zA-Z0-9.-]{1,8}")),
            0..4,
        ),
    )
        .prop_map(|(scheme, user, password, host, port, mut params)| {
            // A parameter name appears at most once in a URI (RFC 3261 §19.1.1).
            let mut seen = std::collections::HashSet::new();
            params.retain(|(k, _)| seen.insert(k.to_ascii_lowercase()));
            Uri {
                scheme: scheme.into(),
                password: password.filter(|_| user.is_some()),
                user,
                host,
                port,
                params,
                headers: None,
            }
        })
}

fn message() -> impl Strategy<Value = Message> {
    let start = prop_oneof![
        (token(), request_uri()).prop_map(|(method, uri)| StartLine::Request { method, uri }),
        (100u16..700, "[^\r\n\0]{0,20}")
            .prop_map(|(code, reason)| StartLine::Response { code, reason }),
    ];
    let header = ("X-[A-Za-z0-9-]{1,10}", "[^\r\n]{0,40}").prop_map(|(name, value)| Header {
        name,
        value: value.trim().to_string(),
    });
    (
        start,
        proptest::collection::vec(header, 0..12),
        proptest::collection::vec(any::<u8>(), 0..200),
    )
        .prop_map(|(start, headers, body)| {
            let mut m = Message {
                start,
                headers,
                body,
            };
            let len = m.body.len().to_string();
            m.set_header("Content-Length", len);
            m
        })
}

#[derive(Debug, Clone)]
enum Mutation {
    Replace(usize, u8),
    Insert(usize, u8),
    Delete(usize),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    let byte = prop_oneof![
        any::<u8>(),
        prop::sample::select(b"\r\n \t:;,<>\"\\@[]?=%/".to_vec()),
    ];
    prop_oneof![
        (any::<usize>(), byte.clone()).prop_map(|(p, b)| Mutation::Replace(p, b)),
        (any::<usize>(), byte).prop_map(|(p, b)| Mutation::Insert(p, b)),
        any::<usize>().prop_map(Mutation::Delete),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..1024)) {
        exercise(&bytes);
    }

    #[test]
    fn sip_like_text_never_panics(
        start in prop::sample::select(vec!["INVITE sip:a@b SIP/2.0\r\n", "SIP/2.0 200 OK\r\n", ""]),
        text in "([A-Za-z:;,<>\"@\\[\\]?=% \t-]|\r\n|\r\n )*",
    ) {
        exercise(format!("{start}{text}\r\n\r\n").as_bytes());
    }

    #[test]
    fn mutated_vectors_never_panic(
        vector in prop::sample::select(VECTORS.to_vec()),
        mutations in proptest::collection::vec(mutation(), 1..8),
    ) {
        let mut bytes = vector.to_vec();
        for m in mutations {
            let n = bytes.len().max(1);
            match m {
                Mutation::Replace(p, b) => {
                    if let Some(slot) = bytes.get_mut(p % n) {
                        *slot = b;
                    }
                }
                Mutation::Insert(p, b) => bytes.insert(p % (bytes.len() + 1), b),
                Mutation::Delete(p) => {
                    if !bytes.is_empty() {
                        bytes.remove(p % n);
                    }
                }
            }
        }
        exercise(&bytes);
    }

    #[test]
    fn generated_messages_round_trip(m in message()) {
        let bytes = m.to_bytes();
        prop_assert_eq!(Message::parse(&bytes), Ok(m.clone()));
        let raw = MessageRef::parse(&bytes).expect("parses");
        prop_assert_eq!(raw.headers.len(), m.headers.len());
        prop_assert_eq!(raw.body, m.body.as_slice());
    }

    #[test]
    fn generated_uris_round_trip(u in request_uri()) {
        prop_assert_eq!(Uri::parse(&u.to_string()), Ok(u.clone()));
        prop_assert!(u.equivalent(&u));
    }
}
