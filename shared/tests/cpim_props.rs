//! Property tests of `message/cpim`: `parse(encode(x)) == x` for generated messages and
//! date-times, and no panic on arbitrary or mangled input.

use proptest::prelude::*;
use sipsimple::cpim::{
    Address, CpimHeader, CpimMessage, DateTime, Header, HeaderName, MimePart, Namespace, Subject,
};

/// A CPIM Name (RFC 3862 §3.6 NAMECHAR) that is not one of the typed header names.
fn name() -> impl Strategy<Value = String> {
    "[A-Za-z0-9!#$%&'*+^_`|~-]{1,12}".prop_filter("not a typed header", |n| {
        !["from", "to", "cc", "datetime", "subject", "ns", "require"]
            .contains(&n.to_ascii_lowercase().as_str())
    })
}

fn uri() -> impl Strategy<Value = String> {
    "(sip|im|mid|urn|tel):[A-Za-z0-9@.;=+%_~-]{1,24}"
}

/// Free text: any characters, escapes and controls included, without white space at the
/// ends that the reader trims (escaped spaces survive, see `edge_spaces_survive`).
fn text() -> impl Strategy<Value = String> {
    any::<String>().prop_map(|s| s.trim_matches([' ', '\t']).to_string())
}

fn datetime() -> impl Strategy<Value = DateTime> {
    (
        0u16..=9999,
        1u8..=12,
        1u8..=31,
        0u8..=23,
        0u8..=59,
        0u8..=60,
        prop_oneof![Just(0u32), 0u32..1_000_000_000],
        -1439i16..=1439,
    )
        .prop_map(|(y, mo, d, h, mi, s, ns, off)| {
            let d = d.min(if mo == 2 { 28 } else { 30 });
            DateTime::new(y, mo, d, h, mi, s)
                .and_then(|t| t.with_nanosecond(ns))
                .and_then(|t| t.with_offset_minutes(off))
                .expect("generated in range")
        })
}

fn address() -> impl Strategy<Value = Address> {
    (proptest::option::of(any::<String>()), uri())
        .prop_map(|(display_name, uri)| Address { display_name, uri })
}

fn header() -> impl Strategy<Value = CpimHeader> {
    prop_oneof![
        address().prop_map(CpimHeader::To),
        address().prop_map(CpimHeader::Cc),
        (proptest::option::of("[a-z]{2}(-[A-Z]{2})?"), text())
            .prop_map(|(lang, text)| CpimHeader::Subject(Subject { lang, text })),
        (proptest::option::of(name()), uri())
            .prop_map(|(prefix, uri)| CpimHeader::Ns(Namespace { prefix, uri })),
        proptest::collection::vec(
            (proptest::option::of(name()), name())
                .prop_map(|(prefix, name)| HeaderName { prefix, name }),
            1..4
        )
        .prop_map(CpimHeader::Require),
        (
            proptest::option::of(name()),
            name(),
            proptest::collection::vec((name(), any::<String>()), 0..3),
            text()
        )
            .prop_map(|(prefix, name, params, value)| CpimHeader::Other(Header {
                name: HeaderName { prefix, name },
                params,
                value,
            })),
    ]
}

fn mime_part() -> impl Strategy<Value = MimePart> {
    (
        proptest::collection::vec(
            (
                "[A-Za-z0-9-]{1,16}",
                "[ -~]{0,40}".prop_map(|v| v.trim().to_string()),
            ),
            0..4,
        ),
        proptest::collection::vec(any::<u8>(), 0..64),
    )
        .prop_map(|(headers, body)| MimePart { headers, body })
}

fn message() -> impl Strategy<Value = CpimMessage> {
    (
        proptest::option::of(address()),
        proptest::option::of(datetime()),
        proptest::collection::vec(header(), 0..8),
        mime_part(),
    )
        .prop_map(|(from, when, rest, content)| {
            let mut headers = Vec::new();
            headers.extend(from.map(CpimHeader::From));
            headers.extend(when.map(CpimHeader::DateTime));
            headers.extend(rest);
            CpimMessage { headers, content }
        })
}

proptest! {
    #[test]
    fn encode_then_parse_is_identity(msg in message()) {
        let wire = msg.to_bytes();
        prop_assert_eq!(CpimMessage::parse(&wire), Ok(msg));
    }

    #[test]
    fn datetime_text_round_trip(d in datetime()) {
        prop_assert_eq!(DateTime::parse_rfc3339(&d.to_string()), Ok(d));
    }

    #[test]
    fn datetime_unix_round_trip(secs in -62_167_219_200i64..253_402_300_799, ns in 0u32..1_000_000_000, off in -1439i16..=1439) {
        let d = DateTime::from_unix(secs, ns, off).expect("in range");
        prop_assert_eq!(d.unix_seconds(), secs);
        prop_assert_eq!(d.nanosecond(), ns);
        prop_assert_eq!(d.offset_minutes(), off);
    }

    #[test]
    fn parse_never_panics_on_bytes(input in proptest::collection::vec(any::<u8>(), 0..512)) {
        let _ = CpimMessage::parse(&input);
    }

    #[test]
    fn parse_never_panics_on_header_like_text(input in "([A-Za-z.]{0,8}:?(;[a-z]+=(\"[^\"]{0,5}\"?|[a-z]{0,3}))? ?[ -~\\\\\"<>]{0,30}\r?\n){0,8}(\r?\n)?[ -~]{0,20}") {
        let _ = CpimMessage::parse(input.as_bytes());
    }

    #[test]
    fn mangled_valid_messages_never_panic(msg in message(), cut in any::<prop::sample::Index>(), flip in any::<u8>()) {
        let mut wire = msg.to_bytes();
        if !wire.is_empty() {
            let i = cut.index(wire.len());
            wire[i] ^= flip;
            let _ = CpimMessage::parse(&wire);
            wire.truncate(i);
            let _ = CpimMessage::parse(&wire);
        }
    }

    #[test]
    fn datetime_parse_never_panics(s in "[0-9T:.Zz+ -]{0,40}|\\PC{0,40}") {
        let _ = DateTime::parse_rfc3339(&s);
    }
}

#[test]
fn edge_spaces_survive() {
    let msg = CpimMessage::new(MimePart::default()).with_header(CpimHeader::Subject(Subject {
        lang: None,
        text: "  two leading, one trailing ".into(),
    }));
    assert_eq!(CpimMessage::parse(&msg.to_bytes()), Ok(msg));
}
