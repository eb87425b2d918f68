//! MSRP wire examples (RFC 4975 §4, §5.1, §11; RFC 4976; RFC 7977 URIs) read from
//! `tests/vectors/msrp/`, plus the negative cases of the wire layer: size limits, malformed
//! headers, missing paths and an end-line inside content (RFC 4975 §7.1.1).

use sipsimple::msrp::{
    tid_is_safe, ByteRange, ChunkSender, FailureReport, Flag, Frame, HeaderError, Limits, Method,
    Outcome, OutgoingMessage, ParseError, Parser, Reassembler, ReassemblyError, Scheme, StartLine,
    Status, Uri,
};
use sipsimple::rng::Rng;

/// The bytes of a vector file, LF line ends turned into CRLF.
fn vector(name: &str) -> Vec<u8> {
    let path = format!("{}/tests/vectors/msrp/{name}", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read(&path).expect("vector file");
    assert!(!text.contains(&b'\r'), "{name} must use LF line ends");
    let mut out = Vec::with_capacity(text.len() + 64);
    for b in text {
        if b == b'\n' {
            out.push(b'\r');
        }
        out.push(b);
    }
    out
}

/// Every item the parser gives for `bytes` pushed at once.
fn parse_all(bytes: &[u8]) -> Vec<Result<Frame, ParseError>> {
    let mut p = Parser::new();
    p.push(bytes);
    let items: Vec<_> = p.by_ref().collect();
    assert_eq!(p.buffered(), 0, "nothing left over");
    items
}

/// The frames of a vector that must parse cleanly.
fn frames(name: &str) -> Vec<Frame> {
    parse_all(&vector(name))
        .into_iter()
        .map(|r| r.expect("valid frame"))
        .collect()
}

/// Splits a stream into the wire bytes of each frame, at each end-line.
fn frame_bytes(stream: &[u8]) -> Vec<Vec<u8>> {
    let mut out = vec![Vec::new()];
    for line in stream.split_inclusive(|&b| b == b'\n') {
        out.last_mut().expect("one").extend_from_slice(line);
        if line.starts_with(b"-------") {
            out.push(Vec::new());
        }
    }
    out.pop();
    out
}

fn uri(s: &str) -> Uri {
    Uri::parse(s).expect("valid URI")
}

#[test]
fn rfc4975_s4_send_and_its_response() {
    let wire = vector("rfc4975-s4-send.msrp");
    let f = frames("rfc4975-s4-send.msrp");
    assert_eq!(f.len(), 2);
    let send = &f[0];
    assert_eq!(send.tid, "a786hjs2");
    assert_eq!(send.method(), Some(&Method::Send));
    assert_eq!(
        send.to_path,
        [uri("msrp://biloxi.example.com:12763/kjhd37s2s20w2a;tcp")]
    );
    assert_eq!(send.message_id.as_deref(), Some("87652491"));
    assert_eq!(send.byte_range, ByteRange::new(1, Some(25), Some(25)).ok());
    assert_eq!(send.content_type.as_deref(), Some("text/plain"));
    assert_eq!(send.body(), b"Hey Bob, are you there?");
    assert_eq!(send.flag, Flag::End);
    // The 200 built from the SEND is the RFC's, byte for byte, and every frame
    // re-serialises as received.
    let ok = send.response(200, Some("OK")).expect("a response is due");
    assert_eq!(ok, f[1]);
    let bytes = frame_bytes(&wire);
    assert_eq!(ok.to_bytes(), bytes[1]);
    assert_eq!(send.to_bytes(), bytes[0]);
    // The RFC counts the CRLF before the end-line as content (see the vectors' README).
    let err = Reassembler::new(1024)
        .accept(send)
        .expect_err("25 declared, 23 sent");
    assert!(matches!(err, ReassemblyError::RangeMismatch { .. }));
}

#[test]
fn rfc4975_s5_1_chunks_without_paths_are_refused_then_reassembled_with_them() {
    let wire = vector("rfc4975-s5.1-chunks.msrp");
    let second = frame_bytes(&wire)[0].len() as u64;
    let items = parse_all(&wire);
    assert_eq!(items.len(), 2, "the stream stays in sync");
    for (item, (tid, offset)) in items.iter().zip([("dkei38sd", 0), ("dkei38ia", second)]) {
        assert_eq!(
            item.as_ref().expect_err("no To-Path"),
            &ParseError::BadHeader {
                offset,
                line: 5,
                tid: tid.into(),
                error: HeaderError::Missing("To-Path"),
            }
        );
    }
    // The same chunks with the paths the RFC leaves out.
    let paths = b"To-Path: msrp://b.example.com:7777/b;tcp\r\n\
        From-Path: msrp://a.example.com:7777/a;tcp\r\n";
    let with_paths: Vec<u8> = String::from_utf8(vector("rfc4975-s5.1-chunks.msrp"))
        .expect("text")
        .replace(
            " SEND\r\n",
            &format!(" SEND\r\n{}", String::from_utf8_lossy(paths)),
        )
        .into_bytes();
    let chunks: Vec<Frame> = parse_all(&with_paths)
        .into_iter()
        .map(|r| r.expect("valid"))
        .collect();
    assert_eq!(chunks[0].byte_range, ByteRange::new(1, None, Some(8)).ok());
    assert_eq!((chunks[0].flag, chunks[1].flag), (Flag::More, Flag::End));
    let mut r = Reassembler::new(1024);
    assert_eq!(
        r.accept(&chunks[0]),
        Ok(Outcome::Progress {
            message_id: "4564dpWd".into(),
            received: 4,
            total: Some(8)
        })
    );
    let Ok(Outcome::Complete(m)) = r.accept(&chunks[1]) else {
        panic!("complete")
    };
    assert_eq!(m.body, b"abcdEFGH");
}

#[test]
fn rfc4975_s11_1_basic_im_session() {
    let wire = vector("rfc4975-s11.1-basic-im.msrp");
    let f = frames("rfc4975-s11.1-basic-im.msrp");
    assert_eq!(f.len(), 4);
    assert_eq!(f[0].body(), b"Hi, I'm Alice!");
    assert_eq!(f[2].body(), b"Hi, Alice! I'm Bob!");
    assert_eq!(f[0].response(200, Some("OK")).as_ref(), Some(&f[1]));
    assert_eq!(f[2].response(200, Some("OK")).as_ref(), Some(&f[3]));
    for (frame, bytes) in f.iter().zip(frame_bytes(&wire)) {
        assert_eq!(frame.to_bytes(), bytes);
    }
}

#[test]
fn rfc4975_s11_5_positive_report() {
    let f = frames("rfc4975-s11.5-positive-report.msrp");
    let (send, report) = (&f[0], &f[1]);
    assert_eq!(send.success_report, Some(true));
    assert_eq!(send.failure_report, Some(FailureReport::No));
    assert_eq!(send.content_type.as_deref(), Some("text/html"));
    assert!(send.body().starts_with(b"<html><body>\r\n"));
    assert!(send.body().ends_with(b"</body></html>"));
    // Failure-Report: no means no transaction response (§7.2).
    assert_eq!(send.response(200, Some("OK")), None);
    assert_eq!(report.method(), Some(&Method::Report));
    assert_eq!(report.status, Some(Status::new(200, Some("OK"))));
    // The REPORT the receiver builds is the RFC's, but for its random transaction id.
    let mut rng = Rng::from_seed(11);
    let mut built = send
        .report(&mut rng, 200, Some("OK"), Some(ByteRange::whole(106)))
        .expect("asked for");
    assert_ne!(built.tid, report.tid);
    built.tid = report.tid.clone();
    assert_eq!(&built, report);
    assert_eq!(built.to_bytes(), report.to_bytes());
    // A REPORT is never answered (§7.1.2).
    assert_eq!(report.response(200, None), None);
}

#[test]
fn rfc4976_auth_to_a_relay() {
    let f = frames("rfc4976-auth.msrp");
    let auth = &f[0];
    assert_eq!(auth.method(), Some(&Method::Auth));
    let relay = &auth.to_path[0];
    assert_eq!(relay.scheme, Scheme::Msrps);
    assert_eq!(relay.user.as_deref(), Some("alice"));
    assert_eq!((relay.port, relay.session_id.as_deref()), (None, None));
    assert_eq!(auth.body, None);
    let challenge = auth.response(401, Some("Unauthorized")).expect("due");
    assert_eq!(challenge.to_path, auth.from_path);
    assert_eq!(
        challenge.to_bytes(),
        b"MSRP 49fh 401 Unauthorized\r\n\
          To-Path: msrps://alice.example.com:9892/98cjs;tcp\r\n\
          From-Path: msrps://alice@intra.example.com;tcp\r\n\
          -------49fh$\r\n"
    );
}

#[test]
fn websocket_uris_ipv6_and_extension_headers() {
    let wire = vector("websocket-ipv6.msrp");
    let f = Frame::parse(&wire).expect("one frame");
    assert!(f.to_path[0].is_websocket() && f.to_path[0].is_secure());
    assert_eq!(f.to_path[1].host, "[2001:db8::7]");
    assert_eq!(f.to_path[1].session_id.as_deref(), Some("Jq8+eR=/x"));
    assert_eq!(f.from_path[0].host, "df7jal23ls0d.invalid");
    assert_eq!(f.byte_range, ByteRange::new(1, None, None).ok());
    assert_eq!(f.failure_report, Some(FailureReport::Partial));
    let names: Vec<&str> = f.headers.iter().map(|h| h.name.as_str()).collect();
    assert_eq!(names, ["X-Custom", "Content-Disposition"]);
    assert_eq!(f.header("x-custom"), Some("kept as is"));
    assert_eq!(f.flag, Flag::More);
    // Re-encoding writes the typed headers in §9 order (Byte-Range after Failure-Report
    // here) and keeps everything else.
    let again = f.to_bytes();
    assert_eq!(Frame::parse(&again).as_ref(), Ok(&f));
    assert_eq!(again.len(), wire.len());
    let text = String::from_utf8(again).expect("text");
    assert!(text.contains("Failure-Report: partial\r\nByte-Range: 1-*/*\r\nX-Custom"));
    // Failure-Report: partial: no 200, but negative responses.
    assert_eq!(f.response(200, None), None);
    assert_eq!(f.response(481, None).and_then(|r| r.code()), Some(481));
}

#[test]
fn several_frames_per_read_and_byte_by_byte_agree() {
    let mut stream = Vec::new();
    for name in [
        "rfc4975-s4-send.msrp",
        "rfc4975-s11.1-basic-im.msrp",
        "rfc4975-s11.5-positive-report.msrp",
        "rfc4976-auth.msrp",
        "websocket-ipv6.msrp",
    ] {
        stream.extend_from_slice(&vector(name));
    }
    let at_once: Vec<Frame> = parse_all(&stream)
        .into_iter()
        .map(|r| r.expect("valid"))
        .collect();
    assert_eq!(at_once.len(), 10);
    let mut p = Parser::new();
    let mut one_by_one = Vec::new();
    for b in &stream {
        p.push(std::slice::from_ref(b));
        one_by_one.extend(p.by_ref().map(|r| r.expect("valid")));
    }
    assert_eq!(one_by_one, at_once);
    assert_eq!(p.buffered(), 0);
}

#[test]
fn unknown_methods_are_kept() {
    let wire = b"MSRP abcd NICKNAME\r\nTo-Path: msrp://b.example/1;tcp\r\n\
        From-Path: msrp://a.example/2;tcp\r\nUse-Nickname: \"Alice\"\r\n-------abcd$\r\n";
    let f = Frame::parse(wire).expect("valid");
    assert_eq!(
        f.start,
        StartLine::Request(Method::Other("NICKNAME".into()))
    );
    assert_eq!(f.to_bytes(), wire);
    let r = f.response(501, Some("Not Implemented")).expect("due");
    assert_eq!(r.code(), Some(501));
}

const HEAD: &str = "To-Path: msrp://b.example/1;tcp\r\nFrom-Path: msrp://a.example/2;tcp\r\n";

fn send_with(headers: &str, body: &str) -> Vec<u8> {
    format!("MSRP abcd SEND\r\n{headers}\r\n{body}\r\n-------abcd$\r\n").into_bytes()
}

#[test]
fn malformed_headers_name_their_line_and_spare_the_stream() {
    let cases: [(&str, usize, HeaderError); 8] = [
        ("Byte-Range: 0-5/10\r\n", 4, HeaderError::ByteRange),
        ("Byte-Range: 1-11/10\r\n", 4, HeaderError::ByteRange),
        ("Byte-Range: 1-5\r\n", 4, HeaderError::ByteRange),
        ("Status: 200 OK\r\n", 4, HeaderError::Status),
        (
            "Success-Report: maybe\r\n",
            4,
            HeaderError::Report("Success-Report"),
        ),
        ("Message-ID: a b\r\n", 4, HeaderError::MessageId),
        (
            "Message-ID: m1234\r\nMessage-ID: m5678\r\n",
            5,
            HeaderError::Duplicate("Message-ID"),
        ),
        ("no colon here\r\n", 4, HeaderError::Syntax),
    ];
    for (extra, line, error) in cases {
        let mut stream = send_with(&format!("{HEAD}{extra}"), "x");
        stream.extend_from_slice(&send_with(HEAD, "fine"));
        let items = parse_all(&stream);
        assert_eq!(
            items[0],
            Err(ParseError::BadHeader {
                offset: 0,
                line,
                tid: "abcd".into(),
                error
            }),
            "{extra}"
        );
        assert_eq!(items[1].as_ref().map(Frame::body), Ok(&b"fine"[..]));
    }
    let missing_from = send_with("To-Path: msrp://b.example/1;tcp\r\n", "x");
    assert!(matches!(
        Frame::parse(&missing_from),
        Err(ParseError::BadHeader {
            line: 3,
            error: HeaderError::Missing("From-Path"),
            ..
        })
    ));
    let bad_uri = send_with(
        "To-Path: sip:bob@b.example\r\nFrom-Path: msrp://a/2;tcp\r\n",
        "x",
    );
    assert!(matches!(
        Frame::parse(&bad_uri),
        Err(ParseError::BadHeader {
            line: 2,
            error: HeaderError::Uri("To-Path", _),
            ..
        })
    ));
    let response_body = format!("MSRP abcd 200 OK\r\n{HEAD}\r\nx\r\n-------abcd$\r\n");
    assert!(matches!(
        Frame::parse(response_body.as_bytes()),
        Err(ParseError::BadHeader {
            error: HeaderError::ResponseBody,
            ..
        })
    ));
}

#[test]
fn oversize_heads_and_bodies_fail_without_waiting_for_the_end_line() {
    // A header section that never ends: refused once 16 KiB have arrived.
    let mut p = Parser::new();
    p.push(format!("MSRP abcd SEND\r\n{HEAD}").as_bytes());
    let line = format!("X-Pad: {}\r\n", "p".repeat(100));
    let mut pushed = 0;
    let err = loop {
        p.push(line.as_bytes());
        pushed += line.len();
        if let Some(r) = p.next() {
            break r.expect_err("too large");
        }
        assert!(pushed < 20 * 1024, "the limit must trip");
    };
    assert_eq!(
        err,
        ParseError::HeadTooLarge {
            offset: 0,
            limit: 16 * 1024
        }
    );
    // A body without end-line: refused once past the configured limit.
    let limits = Limits {
        max_body: 1000,
        ..Limits::default()
    };
    let mut p = Parser::with_limits(limits);
    p.push(&send_with(HEAD, "ok"));
    assert!(p.next().expect("a frame").is_ok());
    p.push(format!("MSRP efgh SEND\r\n{HEAD}\r\n").as_bytes());
    let mut err = None;
    for _ in 0..20 {
        p.push(&[b'z'; 100]);
        if let Some(r) = p.next() {
            err = Some(r);
            break;
        }
    }
    let offset = send_with(HEAD, "ok").len() as u64;
    assert_eq!(
        err,
        Some(Err(ParseError::BodyTooLarge {
            offset,
            limit: 1000
        }))
    );
    assert!(p.buffered() == 0 && p.has_failed());
    // A body of exactly the limit is fine.
    let exact = send_with(HEAD, &"y".repeat(1000));
    assert_eq!(
        Frame::parse_with(&exact, limits).map(|f| f.body().len()),
        Ok(1000)
    );
}

#[test]
fn an_end_line_inside_content_ends_the_frame_there() {
    // §7.1.1: the sender must pick a transaction id absent from the content. One that does
    // not gets its frame cut at the first end-line, and the rest is garbage to the parser.
    let content = "before\r\n-------abcd$\r\nafter";
    assert!(!tid_is_safe("abcd", content.as_bytes()));
    let items = parse_all(&send_with(HEAD, content));
    assert_eq!(items[0].as_ref().map(Frame::body), Ok(&b"before"[..]));
    assert!(matches!(items[1], Err(ParseError::BadStartLine { .. })));
    assert_eq!(items.len(), 2);
    // The chunk sender never does that: the tid it would draw first is in the content, so
    // it draws another.
    let first_draw = Rng::from_seed(99).token(16);
    let content = format!("x\r\n-------{first_draw}$\r\ny");
    let mut rng = Rng::from_seed(99);
    let m = OutgoingMessage {
        message_id: "m1234".into(),
        ..OutgoingMessage::new(
            &mut Rng::from_seed(1),
            vec![uri("msrp://b.example/1;tcp")],
            vec![uri("msrp://a.example/2;tcp")],
            Some("text/plain"),
        )
    };
    let chunks = ChunkSender::split(m, content.as_bytes(), 1024, &mut rng);
    assert_eq!(chunks.len(), 1);
    assert_ne!(chunks[0].tid, first_draw);
    assert!(tid_is_safe(&chunks[0].tid, content.as_bytes()));
    let back = Frame::parse(&chunks[0].to_bytes()).expect("valid");
    assert_eq!(back.body(), content.as_bytes());
}
