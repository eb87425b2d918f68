//! Property tests of the MSRP wire layer (RFC 4975): parse∘encode identity, streams fed in
//! arbitrary pieces, arbitrary bytes never panicking, and chunking then reassembling random
//! bodies in shuffled order.

use proptest::prelude::*;
use sipsimple::msrp::{
    ByteRange, ChunkSender, FailureReport, Flag, Frame, Header, Limits, Method, Outcome,
    OutgoingMessage, Parser, Reassembler, Scheme, StartLine, Status, Uri,
};
use sipsimple::rng::Rng;

fn ident() -> impl Strategy<Value = String> {
    "[a-zA-Z0-9][a-zA-Z0-9.+%=-]{3,31}"
}

fn uri() -> impl Strategy<Value = Uri> {
    let host = prop_oneof![
        "[a-z][a-z0-9-]{0,10}(\\.[a-z]{2,6}){0,2}",
        "(25[0-5]|1[0-9]{2}|[1-9]?[0-9])(\\.(25[0-5]|1[0-9]{2}|[1-9]?[0-9])){3}",
        "\\[2001:db8(:[0-9a-f]{1,4}){1,3}::[0-9a-f]{1,4}\\]",
    ];
    (
        any::<bool>(),
        proptest::option::of("[a-z0-9.~-]{1,8}"),
        host,
        proptest::option::of(any::<u16>()),
        proptest::option::of("[a-zA-Z0-9+=/._~-]{1,20}"),
        prop_oneof![
            Just("tcp".to_string()),
            Just("ws".to_string()),
            "[a-z0-9]{1,5}"
        ],
        proptest::collection::vec(("[a-z]{1,5}", proptest::option::of("[a-z0-9]{1,5}")), 0..3),
    )
        .prop_map(
            |(secure, user, host, port, session_id, transport, params)| Uri {
                scheme: if secure { Scheme::Msrps } else { Scheme::Msrp },
                user,
                host,
                port,
                session_id,
                transport,
                params,
            },
        )
}

fn start_line() -> impl Strategy<Value = StartLine> {
    prop_oneof![
        Just(StartLine::Request(Method::Send)),
        Just(StartLine::Request(Method::Report)),
        Just(StartLine::Request(Method::Auth)),
        "[A-Z]{1,10}".prop_map(|m| StartLine::Request(Method::parse(&m).expect("upper"))),
        (0u16..1000, proptest::option::of("[ -~]{0,20}"))
            .prop_map(|(code, comment)| StartLine::Response { code, comment }),
    ]
}

fn byte_range() -> impl Strategy<Value = ByteRange> {
    (
        1u64..10_000,
        proptest::option::of(0u64..10_000),
        proptest::option::of(0u64..10_000),
    )
        .prop_map(|(start, len, extra)| ByteRange {
            start,
            end: len.map(|l| start - 1 + l),
            total: extra.map(|x| start - 1 + len.unwrap_or(0) + x),
        })
}

/// Text without surrounding whitespace, which header parsing trims.
fn text() -> impl Strategy<Value = String> {
    "([!-~é€]([ -~é€]{0,20}[!-~é€])?)?"
}

/// Bytes rich in end-line look-alikes: CRLFs, dashes, pieces of the transaction id, flags.
fn body(tid: String) -> impl Strategy<Value = Vec<u8>> {
    let piece = prop_oneof![
        proptest::collection::vec(any::<u8>(), 0..40),
        Just(b"\r\n".to_vec()),
        Just(b"-------".to_vec()),
        Just(b"\r\n-------".to_vec()),
        (0..tid.len()).prop_map(move |n| tid.as_bytes()[..n].to_vec()),
        prop_oneof![
            Just(b"$".to_vec()),
            Just(b"+".to_vec()),
            Just(b"#".to_vec())
        ],
    ];
    proptest::collection::vec(piece, 0..12).prop_map(|v| v.concat())
}

/// Where the parser will find the end-line in `body` framed under `tid`.
fn end_line_at(body: &[u8], tid: &str) -> Option<usize> {
    let mut hay = body.to_vec();
    hay.extend_from_slice(format!("\r\n-------{tid}$\r\n").as_bytes());
    let needle = format!("\r\n-------{tid}");
    (0..hay.len()).find(|&i| {
        let rest = &hay[i..];
        rest.starts_with(needle.as_bytes())
            && rest.len() >= needle.len() + 3
            && b"$+#".contains(&rest[needle.len()])
            && &rest[needle.len() + 1..needle.len() + 3] == b"\r\n"
    })
}

fn frame() -> impl Strategy<Value = Frame> {
    let headers = proptest::collection::vec(
        ("X-[A-Za-z0-9-]{1,10}", text()).prop_map(|(name, value)| Header { name, value }),
        0..4,
    );
    let typed = (
        proptest::option::of(ident()),
        proptest::option::of(any::<bool>()),
        proptest::option::of(prop_oneof![
            Just(FailureReport::Yes),
            Just(FailureReport::No),
            Just(FailureReport::Partial)
        ]),
        proptest::option::of(byte_range()),
        proptest::option::of(
            (
                0u16..1000,
                0u16..1000,
                proptest::option::of("[!-~]([ -~]{0,10}[!-~])?"),
            )
                .prop_map(|(namespace, code, comment)| Status {
                    namespace,
                    code,
                    comment,
                }),
        ),
        proptest::option::of("[a-z]{1,8}/[a-z0-9.+-]{1,10}"),
    );
    (
        ident(),
        start_line(),
        proptest::collection::vec(uri(), 1..3),
        proptest::collection::vec(uri(), 1..3),
        typed,
        headers,
        prop_oneof![Just(Flag::End), Just(Flag::More), Just(Flag::Abort)],
        any::<bool>(),
    )
        .prop_flat_map(|(tid, start, to, from, typed, headers, flag, has_body)| {
            let is_request = matches!(start, StartLine::Request(_));
            let (message_id, success_report, failure_report, byte_range, status, content_type) =
                typed;
            body(tid.clone()).prop_map(move |b| Frame {
                tid: tid.clone(),
                start: start.clone(),
                to_path: to.clone(),
                from_path: from.clone(),
                message_id: message_id.clone(),
                success_report,
                failure_report,
                byte_range,
                status: status.clone(),
                content_type: content_type.clone(),
                headers: headers.clone(),
                body: (is_request && has_body).then_some(b),
                flag,
            })
        })
        .prop_filter("the end-line must not occur in the content", |f| {
            end_line_at(f.body(), &f.tid) == Some(f.body().len())
        })
}

/// Feeds `stream` in pieces of the given sizes (cycled), collecting every frame.
fn feed(stream: &[u8], sizes: &[usize]) -> Vec<Frame> {
    let mut p = Parser::new();
    let mut out = Vec::new();
    let mut at = 0;
    let mut i = 0;
    while at < stream.len() {
        let n = sizes
            .get(i % sizes.len().max(1))
            .copied()
            .unwrap_or(1)
            .max(1);
        let end = (at + n).min(stream.len());
        p.push(&stream[at..end]);
        out.extend(p.by_ref().map(|r| r.expect("valid frame")));
        at = end;
        i += 1;
    }
    assert_eq!(p.buffered(), 0);
    out
}

fn shuffle<T>(v: &mut [T], rng: &mut Rng) {
    for i in (1..v.len()).rev() {
        let j = (rng.next_u64() % (i as u64 + 1)) as usize;
        v.swap(i, j);
    }
}

fn outgoing(rng: &mut Rng) -> OutgoingMessage {
    OutgoingMessage::new(
        rng,
        vec![Uri::parse("msrp://bob.example:2855/s2;tcp").expect("valid")],
        vec![Uri::parse("msrp://alice.example:2855/s1;tcp").expect("valid")],
        Some("application/octet-stream"),
    )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn uri_display_parses_back(u in uri()) {
        let text = u.to_string();
        let back = Uri::parse(&text).expect("valid");
        prop_assert_eq!(&back, &u);
        prop_assert_eq!(back.to_string(), text);
    }

    #[test]
    fn parse_of_encode_is_identity(f in frame()) {
        let bytes = f.to_bytes();
        let back = Frame::parse(&bytes).expect("valid");
        prop_assert_eq!(&back, &f);
        prop_assert_eq!(back.to_bytes(), bytes);
    }

    #[test]
    fn streams_in_any_pieces_give_the_same_frames(
        frames in proptest::collection::vec(frame(), 1..5),
        sizes in proptest::collection::vec(1usize..64, 1..8),
    ) {
        let stream: Vec<u8> = frames.iter().flat_map(Frame::to_bytes).collect();
        prop_assert_eq!(&feed(&stream, &sizes), &frames);
        prop_assert_eq!(&feed(&stream, &[1]), &frames);
    }

    #[test]
    fn arbitrary_bytes_never_panic(
        bytes in proptest::collection::vec(any::<u8>(), 0..2048),
        sizes in proptest::collection::vec(1usize..300, 1..6),
    ) {
        let limits = Limits { max_head: 512, max_body: 256 };
        let mut p = Parser::with_limits(limits);
        let mut r = Reassembler::new(4096);
        let (mut at, mut i) = (0, 0);
        while at < bytes.len() {
            let end = (at + sizes[i % sizes.len()]).min(bytes.len());
            p.push(&bytes[at..end]);
            for f in p.by_ref().flatten() {
                let _ = r.accept(&f);
            }
            at = end;
            i += 1;
        }
        let _ = Frame::parse(&bytes);
        let text = String::from_utf8_lossy(&bytes);
        let _ = Uri::parse(&text);
        let _ = ByteRange::parse(&text);
        let _ = Status::parse(&text);
    }

    #[test]
    fn mutated_frames_never_panic(
        f in frame(),
        edits in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>(), 0u8..3), 1..8),
    ) {
        let mut bytes = f.to_bytes();
        for (at, byte, op) in edits {
            let i = at.index(bytes.len() + 1);
            match op {
                0 if i < bytes.len() => bytes[i] = byte,
                1 => bytes.insert(i, byte),
                _ if i < bytes.len() => { bytes.remove(i); }
                _ => {}
            }
        }
        let mut p = Parser::new();
        p.push(&bytes);
        let mut r = Reassembler::new(1 << 16);
        for f in p.by_ref().flatten() {
            let _ = r.accept(&f);
            let _ = f.response(400, Some("Bad Request"));
            let _ = f.report(&mut Rng::from_seed(1), 400, None, None);
        }
    }

    #[test]
    fn chunks_shuffled_duplicated_and_interleaved_reassemble(
        a in proptest::collection::vec(any::<u8>(), 0..3000),
        b in proptest::collection::vec(any::<u8>(), 0..3000),
        chunk_a in 1usize..700,
        chunk_b in 1usize..700,
        seed in any::<u64>(),
        dups in proptest::collection::vec(any::<prop::sample::Index>(), 0..4),
    ) {
        let mut rng = Rng::from_seed(seed);
        let ma = outgoing(&mut rng);
        let mb = outgoing(&mut rng);
        prop_assume!(ma.message_id != mb.message_id);
        let mut chunks: Vec<Frame> = ChunkSender::split(ma.clone(), &a, chunk_a, &mut rng);
        prop_assert_eq!(chunks.len(), a.len().div_ceil(chunk_a).max(1));
        prop_assert_eq!(chunks.last().map(|c| c.flag), Some(Flag::End));
        chunks.extend(ChunkSender::split(mb.clone(), &b, chunk_b, &mut rng));
        let distinct = chunks.len();
        for d in &dups {
            let c = chunks[d.index(distinct)].clone();
            chunks.push(c);
        }
        shuffle(&mut chunks, &mut rng);
        // Through the wire and the stream parser too, in uneven pieces.
        let stream: Vec<u8> = chunks.iter().flat_map(Frame::to_bytes).collect();
        let received = feed(&stream, &[1, 7, 300, 4096]);
        prop_assert_eq!(&received, &chunks);

        let mut r = Reassembler::new(4096);
        let mut done = std::collections::BTreeMap::new();
        let mut last_progress = std::collections::BTreeMap::new();
        for c in &received {
            let id = c.message_id.clone().expect("set");
            if done.contains_key(&id) {
                continue; // a duplicate after completion
            }
            match r.accept(c).expect("accepted") {
                Outcome::Progress { message_id, received, total } => {
                    let prev = last_progress.insert(message_id, received).unwrap_or(0);
                    prop_assert!(received >= prev);
                    prop_assert!(total.is_none_or(|t| received < t));
                }
                Outcome::Complete(m) => {
                    done.insert(m.message_id.clone(), m);
                }
                Outcome::Aborted { .. } => prop_assert!(false, "nothing was aborted"),
            }
        }
        prop_assert_eq!(&done[&ma.message_id].body, &a);
        prop_assert_eq!(&done[&mb.message_id].body, &b);
        prop_assert_eq!(r.in_progress(), 0);
    }

    #[test]
    fn streamed_chunks_with_unknown_total_reassemble(
        body in proptest::collection::vec(any::<u8>(), 1..2000),
        size in 1usize..500,
        seed in any::<u64>(),
    ) {
        let mut rng = Rng::from_seed(seed);
        let mut s = ChunkSender::new(outgoing(&mut rng), None, size);
        let mut chunks = Vec::new();
        let pieces: Vec<&[u8]> = body.chunks(size).collect();
        for (i, piece) in pieces.iter().enumerate() {
            let c = if i + 1 == pieces.len() {
                s.last_chunk(&mut rng, piece)
            } else {
                s.chunk(&mut rng, piece)
            };
            chunks.push(c.expect("within bounds"));
        }
        prop_assert!(s.is_finished());
        prop_assert_eq!(s.total(), Some(body.len() as u64));
        shuffle(&mut chunks, &mut rng);
        let mut r = Reassembler::new(body.len());
        let outcomes: Vec<Outcome> = chunks.iter().map(|c| r.accept(c).expect("ok")).collect();
        let Some(Outcome::Complete(m)) = outcomes.last() else {
            return Err(TestCaseError::fail("the last chunk completes"));
        };
        prop_assert_eq!(&m.body, &body);
    }
}
