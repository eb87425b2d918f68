//! `message/cpim` (RFC 3862): the example message of the RFC, name-addr forms, escapes,
//! namespaces and Require, the DateTime type, limits and error positions.

use sipsimple::cpim::{
    Address, CpimError, CpimHeader, CpimMessage, DateTime, DateTimeError, Header, HeaderName,
    MimePart, Namespace, Section, Subject, DEFAULT_NAMESPACE, MAX_HEADERS, MAX_HEAD_LEN,
};

/// The example message of RFC 3862 ("An Example Message/CPIM Message", in its Examples
/// section), from the first message header on: its `Content-type: Message/CPIM` line
/// belongs to the carrying protocol.
const RFC_EXAMPLE: &str = "From: MR SANDERS <im:piglet@100akerwood.com>\r\n\
To: Depressed Donkey <im:eeyore@100akerwood.com>\r\n\
DateTime: 2000-12-13T13:40:00-08:00\r\n\
Subject: the weather will be fine today\r\n\
Subject:;lang=fr beau temps prevu pour aujourd'hui\r\n\
NS: MyFeatures <mid:MessageFeatures@id.foo.com>\r\n\
Require: MyFeatures.VitalMessageOption\r\n\
MyFeatures.VitalMessageOption: Confirmation-requested\r\n\
MyFeatures.WackyMessageOption: Use-silly-font\r\n\
\r\n\
Content-type: text/xml; charset=utf-8\r\n\
Content-ID: <1234567890@foo.com>\r\n\
\r\n\
<body>\r\n\
Here is the text of my message.\r\n\
</body>\r\n";

const FEATURES: &str = "mid:MessageFeatures@id.foo.com";

fn parse(s: &str) -> Result<CpimMessage, CpimError> {
    CpimMessage::parse(s.as_bytes())
}

fn minimal(headers: &str) -> String {
    format!("{headers}\r\nContent-Type: text/plain\r\n\r\nhi")
}

#[test]
fn rfc_example_parses_into_typed_headers() {
    let m = parse(RFC_EXAMPLE).expect("the RFC example parses");
    assert_eq!(m.headers.len(), 9);
    assert_eq!(
        m.from(),
        Some(&Address::new("im:piglet@100akerwood.com").with_name("MR SANDERS"))
    );
    let to: Vec<_> = m.to().collect();
    assert_eq!(
        to,
        [&Address::new("im:eeyore@100akerwood.com").with_name("Depressed Donkey")]
    );
    let dt = m.date_time().expect("a DateTime");
    assert_eq!((dt.year(), dt.month(), dt.day()), (2000, 12, 13));
    assert_eq!(
        (dt.hour(), dt.minute(), dt.offset_minutes()),
        (13, 40, -480)
    );
    assert_eq!(dt.to_string(), "2000-12-13T13:40:00-08:00");
    assert_eq!(m.subject(None), Some("the weather will be fine today"));
    assert_eq!(
        m.subject(Some("FR")),
        Some("beau temps prevu pour aujourd'hui")
    );
    assert_eq!(
        m.namespaces().collect::<Vec<_>>(),
        [&Namespace {
            prefix: Some("MyFeatures".into()),
            uri: FEATURES.into()
        }]
    );
    assert_eq!(
        m.required().collect::<Vec<_>>(),
        [&HeaderName::prefixed("MyFeatures", "VitalMessageOption")]
    );
    assert_eq!(
        m.extension(FEATURES, "VitalMessageOption")
            .collect::<Vec<_>>(),
        ["Confirmation-requested"]
    );
    assert_eq!(
        m.extension(FEATURES, "WackyMessageOption")
            .collect::<Vec<_>>(),
        ["Use-silly-font"]
    );
    assert_eq!(m.content.content_type(), Some("text/xml; charset=utf-8"));
    assert_eq!(m.content.header("content-id"), Some("<1234567890@foo.com>"));
    assert_eq!(
        m.content.body,
        b"<body>\r\nHere is the text of my message.\r\n</body>\r\n"
    );
}

#[test]
fn rfc_example_requirement_is_checked_against_namespaces() {
    let m = parse(RFC_EXAMPLE).expect("parses");
    let missing = m.unsupported_requirements(&[]);
    assert_eq!(
        missing,
        [&HeaderName::prefixed("MyFeatures", "VitalMessageOption")]
    );
    // Understood under its namespace URI, whatever the prefix.
    assert!(m
        .unsupported_requirements(&[(FEATURES, "VitalMessageOption")])
        .is_empty());
    assert!(!m
        .unsupported_requirements(&[("urn:other", "VitalMessageOption")])
        .is_empty());
}

#[test]
fn rfc_example_survives_encode_and_reparse() {
    let m = parse(RFC_EXAMPLE).expect("parses");
    let wire = m.to_bytes();
    let text = String::from_utf8(wire.clone()).expect("text");
    assert!(text.starts_with("From: \"MR SANDERS\" <im:piglet@100akerwood.com>\r\n"));
    assert!(text.contains("\r\nSubject:;lang=fr beau temps prevu pour aujourd'hui\r\n"));
    assert!(text.contains("\r\nMyFeatures.VitalMessageOption: Confirmation-requested\r\n"));
    assert!(text.contains("\r\n\r\nContent-type: text/xml; charset=utf-8\r\n"));
    assert_eq!(CpimMessage::parse(&wire), Ok(m));
}

#[test]
fn name_addr_forms() {
    let m = parse(&minimal(
        "From: \"Alice\" <sip:alice@example.com>\r\n\
         To: <im:bob@example.com>\r\n\
         To: \"Carol \\\"C\\\" Smith\" <sip:carol@example.com;transport=tcp>\r\n\
         cc: Winnie the Pooh <im:pooh@100akerwood.com>\r\n\
         CC: <im:tigger@100akerwood.com>\r\n",
    ))
    .expect("parses");
    assert_eq!(
        m.from(),
        Some(&Address::new("sip:alice@example.com").with_name("Alice"))
    );
    let to: Vec<_> = m.to().cloned().collect();
    assert_eq!(to[0], Address::new("im:bob@example.com"));
    assert_eq!(to[1].display_name.as_deref(), Some("Carol \"C\" Smith"));
    assert_eq!(to[1].uri, "sip:carol@example.com;transport=tcp");
    let cc: Vec<_> = m.cc().map(|a| a.uri.as_str()).collect();
    assert_eq!(cc, ["im:pooh@100akerwood.com", "im:tigger@100akerwood.com"]);
    assert_eq!(
        m.cc().next().and_then(|a| a.display_name.as_deref()),
        Some("Winnie the Pooh")
    );
}

#[test]
fn addresses_that_are_not_name_addr_are_refused_with_their_line() {
    for (bad, line) in [
        ("To: Bob <>", 2),
        ("To: Bob <no-scheme>", 2),
        ("To: \"unterminated <im:a@b>", 2),
        ("To: <im:a@b> trailing", 2),
        ("To: <im:a b@c>", 2),
        ("To: Bo\"b <im:a@b>", 2),
    ] {
        let text = minimal(&format!("From: <im:a@b>\r\n{bad}\r\n"));
        assert_eq!(parse(&text), Err(CpimError::BadAddress { line }), "{bad}");
    }
    // A bare URI is read leniently.
    let m = parse(&minimal("From: im:alice@example.com\r\n")).expect("parses");
    assert_eq!(m.from(), Some(&Address::new("im:alice@example.com")));
}

#[test]
fn escapes_of_section_2_3() {
    let m = parse(&minimal(
        "Subject: caf\\u00E9 \\\"quoted\\\" a\\\\b \\tx\\ny \\uD83D\\uDE00 C:\\dir\r\n",
    ))
    .expect("parses");
    assert_eq!(
        m.subject(None),
        Some("café \"quoted\" a\\b \tx\ny \u{1F600} C:\\dir")
    );
    // Encoding escapes again, and the value comes back unchanged.
    let again = CpimMessage::parse(&m.to_bytes()).expect("reparses");
    assert_eq!(again, m);
}

#[test]
fn free_text_is_escaped_so_it_cannot_inject_headers() {
    let evil = "x\r\nTo: <im:mallory@evil.example>\r\n\r\nboom";
    let msg = CpimMessage::new(MimePart::new("text/plain", "body"))
        .with_header(CpimHeader::From(
            Address::new("im:a@b\r\nTo: <im:m@e>").with_name(evil),
        ))
        .with_header(CpimHeader::Subject(Subject {
            lang: Some("en\r\nX".into()),
            text: format!(" {evil} "),
        }))
        .with_header(CpimHeader::Other(Header {
            name: HeaderName::prefixed("My Ext", "Na:me"),
            params: vec![("p p".into(), "v;\"v".into())],
            value: evil.into(),
        }));
    let wire = msg.to_bytes();
    let back = CpimMessage::parse(&wire).expect("the encoder repairs what it writes");
    assert_eq!(back.to().count(), 0);
    assert_eq!(back.headers.len(), 3);
    assert_eq!(
        back.from().and_then(|a| a.display_name.as_deref()),
        Some(evil)
    );
    assert_eq!(
        back.from().map(|a| a.uri.as_str()),
        Some("im:a@b%0D%0ATo:%20%3Cim:m@e%3E")
    );
    assert_eq!(
        back.subjects().next().map(|s| s.text.clone()),
        Some(format!(" {evil} "))
    );
    let CpimHeader::Other(h) = &back.headers[2] else {
        panic!("an extension header")
    };
    assert_eq!(h.name, HeaderName::prefixed("My_Ext", "Na_me"));
    assert_eq!(h.params, [("p_p".to_string(), "v;\"v".to_string())]);
    assert_eq!(h.value, evil);
}

#[test]
fn namespaces_apply_to_the_headers_after_them() {
    let m = parse(&minimal(
        "NS: a <urn:one>\r\n\
         a.X: 1\r\n\
         NS: a <urn:two>\r\n\
         a.X: 2\r\n\
         b.X: 3\r\n\
         Plain: 4\r\n\
         NS: <urn:default>\r\n\
         Plain: 5\r\n",
    ))
    .expect("parses");
    assert_eq!(m.extension("urn:one", "X").collect::<Vec<_>>(), ["1"]);
    assert_eq!(m.extension("urn:two", "X").collect::<Vec<_>>(), ["2"]);
    assert_eq!(
        m.extension(DEFAULT_NAMESPACE, "Plain").collect::<Vec<_>>(),
        ["4"]
    );
    assert_eq!(
        m.extension("urn:default", "Plain").collect::<Vec<_>>(),
        ["5"]
    );
    assert_eq!(m.namespace_at(5, Some("b")), None);
}

#[test]
fn require_lists_and_builtin_headers() {
    let m = parse(&minimal("Require: From, DateTime,x.Y\r\nNS: x <urn:x>\r\n")).expect("ok");
    assert_eq!(m.required().count(), 3);
    // x was not declared before the Require header, so x.Y cannot be understood.
    assert_eq!(
        m.unsupported_requirements(&[("urn:x", "Y")]),
        [&HeaderName::prefixed("x", "Y")]
    );
    assert_eq!(
        parse(&minimal("Require: a..b\r\n")),
        Err(CpimError::BadRequire { line: 1 })
    );
}

#[test]
fn header_errors_carry_their_line() {
    let cases: [(&str, CpimError); 7] = [
        (
            "From: <im:a@b>\r\nno colon here\r\n",
            CpimError::BadHeader { line: 2 },
        ),
        (
            "From: <im:a@b>\r\nBad Name: x\r\n",
            CpimError::BadHeader { line: 2 },
        ),
        (
            "From: <im:a@b>\r\n a folded line\r\n",
            CpimError::BadHeader { line: 2 },
        ),
        (
            "DateTime: 2000-13-01T00:00:00Z\r\n",
            CpimError::BadDateTime {
                line: 1,
                error: DateTimeError::OutOfRange,
            },
        ),
        (
            "From: <im:a@b>\r\nFrom: <im:c@d>\r\n",
            CpimError::DuplicateHeader {
                name: "From",
                line: 2,
            },
        ),
        ("X:;p=\"open value\r\n", CpimError::BadParam { line: 1 }),
        ("NS: a.b <urn:x>\r\n", CpimError::BadNamespace { line: 1 }),
    ];
    for (head, err) in cases {
        assert_eq!(parse(&minimal(head)), Err(err), "{head:?}");
    }
    // Lines of the content headers continue the count.
    let text = "From: <im:a@b>\r\n\r\nContent-Type: text/plain\r\nbroken\r\n\r\nbody";
    assert_eq!(parse(text), Err(CpimError::BadHeader { line: 4 }));
    let text = "From: <im:a@b>\r\nSubject: \x01\r\n\r\n\r\n";
    assert_eq!(
        CpimMessage::parse(text.as_bytes()),
        Err(CpimError::BadHeader { line: 2 })
    );
    assert_eq!(
        CpimMessage::parse(b"Subject: caf\xe9\r\n\r\n\r\n"),
        Err(CpimError::NotText { line: 1 })
    );
}

#[test]
fn framing_errors_and_limits() {
    assert_eq!(parse(""), Err(CpimError::NoEndOfHeaders(Section::Message)));
    assert_eq!(
        parse("From: <im:a@b>\r\n"),
        Err(CpimError::NoEndOfHeaders(Section::Message))
    );
    assert_eq!(
        parse("From: <im:a@b>\r\n\r\nContent-Type: text/plain\r\n"),
        Err(CpimError::NoEndOfHeaders(Section::Content))
    );
    let many: String = (0..=MAX_HEADERS).map(|i| format!("X{i}: v\r\n")).collect();
    assert_eq!(
        parse(&minimal(&many)),
        Err(CpimError::TooManyHeaders(Section::Message))
    );
    let huge = format!("Subject: {}\r\n", "x".repeat(MAX_HEAD_LEN));
    assert_eq!(
        parse(&minimal(&huge)),
        Err(CpimError::HeadTooLarge(Section::Message))
    );
    let big_content = format!(
        "From: <im:a@b>\r\n\r\nX: {}\r\n\r\n",
        "y".repeat(MAX_HEAD_LEN)
    );
    assert_eq!(
        parse(&big_content),
        Err(CpimError::HeadTooLarge(Section::Content))
    );
    // Exactly at the limit is fine.
    let fits: String = (0..MAX_HEADERS).map(|i| format!("X{i}: v\r\n")).collect();
    assert!(parse(&minimal(&fits)).is_ok());
}

#[test]
fn bare_lf_folding_and_binary_bodies() {
    let mut input =
        b"From: <im:a@b>\nTo: <im:c@d>\n\nContent-Type: application/octet-stream;\n\tname=x\n\n"
            .to_vec();
    input.extend_from_slice(&[0, 159, 146, 150, b'\r', b'\n']);
    let m = CpimMessage::parse(&input).expect("bare LF is accepted");
    assert_eq!(
        m.content.content_type(),
        Some("application/octet-stream; name=x")
    );
    assert_eq!(m.content.body, [0, 159, 146, 150, b'\r', b'\n']);
    assert!(m
        .to_bytes()
        .starts_with(b"From: <im:a@b>\r\nTo: <im:c@d>\r\n\r\n"));
}

#[test]
fn empty_sections_and_lenient_spacing() {
    let m = parse("\r\n\r\nbody").expect("no headers at all");
    assert!(m.headers.is_empty() && m.content.headers.is_empty());
    assert_eq!(m.content.body, b"body");
    assert_eq!(CpimMessage::parse(&m.to_bytes()), Ok(m));
    let m = parse(&minimal("From:<im:a@b>\r\nX-Thing:\r\n")).expect("parses");
    assert_eq!(m.from(), Some(&Address::new("im:a@b")));
    assert!(matches!(&m.headers[1], CpimHeader::Other(h) if h.value.is_empty()));
}

#[test]
fn builder_output_matches_the_rfc_layout() {
    let when = DateTime::parse_rfc3339("2000-12-13T13:40:00-08:00").expect("valid");
    let msg = CpimMessage::new(MimePart::new("text/plain; charset=utf-8", "Hello"))
        .with_header(CpimHeader::From(
            Address::new("sip:alice@example.com").with_name("Alice"),
        ))
        .with_header(CpimHeader::To(Address::new("im:bob@example.com")))
        .with_header(CpimHeader::DateTime(when))
        .with_header(CpimHeader::Subject(Subject {
            lang: Some("fr".into()),
            text: "Salut".into(),
        }))
        .with_header(CpimHeader::Ns(Namespace {
            prefix: Some("imdn".into()),
            uri: "urn:ietf:params:imdn".into(),
        }))
        .with_header(CpimHeader::Require(vec![HeaderName::prefixed(
            "imdn",
            "Message-ID",
        )]))
        .with_header(CpimHeader::Other(Header {
            name: HeaderName::prefixed("imdn", "Message-ID"),
            params: Vec::new(),
            value: "34jk324j".into(),
        }));
    let expected = "From: \"Alice\" <sip:alice@example.com>\r\n\
        To: <im:bob@example.com>\r\n\
        DateTime: 2000-12-13T13:40:00-08:00\r\n\
        Subject:;lang=fr Salut\r\n\
        NS: imdn <urn:ietf:params:imdn>\r\n\
        Require: imdn.Message-ID\r\n\
        imdn.Message-ID: 34jk324j\r\n\
        \r\n\
        Content-Type: text/plain; charset=utf-8\r\n\
        \r\n\
        Hello";
    assert_eq!(String::from_utf8(msg.to_bytes()).expect("text"), expected);
    assert_eq!(
        msg.extension("urn:ietf:params:imdn", "Message-ID").next(),
        Some("34jk324j")
    );
    assert!(msg
        .unsupported_requirements(&[("urn:ietf:params:imdn", "Message-ID")])
        .is_empty());
}

#[test]
fn datetime_parses_offsets_and_fractions() {
    let d = DateTime::parse_rfc3339("2003-01-27T10:43:00.123456789+05:30").expect("valid");
    assert_eq!(d.nanosecond(), 123_456_789);
    assert_eq!(d.offset_minutes(), 330);
    assert_eq!(d.to_string(), "2003-01-27T10:43:00.123456789+05:30");
    let d = DateTime::parse_rfc3339("1985-04-12t23:20:50.52z").expect("lower case t and z");
    assert_eq!(d.to_string(), "1985-04-12T23:20:50.52Z");
    assert_eq!(d.unix_seconds(), 482_196_050);
    let d = DateTime::parse_rfc3339("1996-12-19 16:39:57-08:00").expect("space separator");
    assert_eq!(d.unix_seconds(), 851_042_397);
    let d = DateTime::parse_rfc3339("1990-12-31T23:59:60Z").expect("leap second");
    assert_eq!(d.second(), 60);
    // Digits past the ninth are dropped.
    let d = DateTime::parse_rfc3339("2020-01-01T00:00:00.1234567891234Z").expect("valid");
    assert_eq!(d.nanosecond(), 123_456_789);
    // +00:00 and Z are the same fields.
    assert_eq!(
        DateTime::parse_rfc3339("2020-01-01T00:00:00+00:00"),
        DateTime::parse_rfc3339("2020-01-01T00:00:00Z")
    );
}

#[test]
fn datetime_refuses_what_rfc_3339_does_not_allow() {
    use DateTimeError::{OutOfRange, Syntax};
    for (s, e) in [
        ("2000-02-30T00:00:00Z", OutOfRange),
        ("1900-02-29T00:00:00Z", OutOfRange),
        ("2000-01-01T24:00:00Z", OutOfRange),
        ("2000-01-01T00:60:00Z", OutOfRange),
        ("2000-01-01T00:00:61Z", OutOfRange),
        ("2000-01-01T00:00:00+24:00", OutOfRange),
        ("2000-01-01T00:00:00", Syntax),
        ("2000-01-01T00:00:00.Z", Syntax),
        ("2000-1-01T00:00:00Z", Syntax),
        ("2000-01-01T00:00:00+0100", Syntax),
        ("2000-01-01T00:00:00Z ", Syntax),
        ("２000-01-01T00:00:00Z", Syntax),
        ("", Syntax),
    ] {
        assert_eq!(DateTime::parse_rfc3339(s), Err(e), "{s}");
    }
    assert_eq!(
        DateTime::parse_rfc3339(&format!("2000-01-01T00:00:00.{}Z", "1".repeat(80))),
        Err(DateTimeError::TooLong)
    );
    assert!(DateTime::parse_rfc3339("2000-02-29T00:00:00Z").is_ok());
}

#[test]
fn datetime_arithmetic_without_a_clock() {
    let d = DateTime::from_unix(976_743_600, 0, -480).expect("in range");
    assert_eq!(d.to_string(), "2000-12-13T13:40:00-08:00");
    assert_eq!(d.weekday(), 3); // a Wednesday
    let earlier = d
        .checked_sub(core::time::Duration::from_millis(90_500))
        .expect("in range");
    assert_eq!(earlier.to_string(), "2000-12-13T13:38:29.5-08:00");
    assert_eq!(d.unix_millis() - earlier.unix_millis(), 90_500);
    let later = d
        .checked_add(core::time::Duration::from_secs(86_400 * 366))
        .expect("in range");
    assert_eq!(later.to_string(), "2001-12-14T13:40:00-08:00");
    assert_eq!(DateTime::from_unix(i64::MAX, 0, 0), None);
    assert_eq!(DateTime::from_unix(-62_167_219_201, 0, 0), None);
    assert!(DateTime::from_unix(-62_167_219_200, 0, 0).is_some());
}
