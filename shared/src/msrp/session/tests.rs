//! Unit tests of the session engine: one session against hand-written frames, or two
//! sessions wired back to back.

use super::*;
use crate::msrp::header::{ByteRange, Status};
use crate::msrp::message::{Flag, StartLine};

fn uri(s: &str) -> Uri {
    Uri::parse(s).expect("valid")
}

fn a_uri() -> Uri {
    uri("msrp://a.example:2855/aaaa;tcp")
}

fn b_uri() -> Uri {
    uri("msrp://b.example:2855/bbbb;tcp")
}

fn pair(chunk_size: usize) -> (MsrpSession, MsrpSession) {
    let mut ca = SessionConfig::new(a_uri(), vec![b_uri()], Role::Active);
    ca.chunk_size = chunk_size;
    let mut cb = SessionConfig::new(b_uri(), vec![a_uri()], Role::Passive);
    cb.chunk_size = chunk_size;
    (MsrpSession::new(ca, 1), MsrpSession::new(cb, 2))
}

/// What one side output: transmitted frames (parsed), data requests, events.
type Drained = (Vec<Frame>, Vec<(String, u64, usize)>, Vec<SessionEvent>);

/// Drains `s`: transmitted frames (parsed), data requests and events but `Bound`.
fn drain(s: &mut MsrpSession) -> Drained {
    let (f, n, mut e) = drain_all(s);
    e.retain(|e| *e != SessionEvent::Bound);
    (f, n, e)
}

/// Drains `s`: transmitted frames (parsed), data requests and events.
fn drain_all(s: &mut MsrpSession) -> Drained {
    let (mut frames, mut needs, mut events) = (Vec::new(), Vec::new(), Vec::new());
    while let Some(o) = s.poll_output() {
        match o {
            Output::Transmit(b) => frames.push(Frame::parse(&b).expect("own frames parse")),
            Output::NeedData {
                message_id,
                offset,
                max_len,
            } => needs.push((message_id, offset, max_len)),
            Output::Event(e) => events.push(e),
        }
    }
    (frames, needs, events)
}

/// Moves every output of `from` into `to` until neither has anything to say; returns the
/// events of each side.
fn pump(
    a: &mut MsrpSession,
    b: &mut MsrpSession,
    now: Time,
) -> (Vec<SessionEvent>, Vec<SessionEvent>) {
    let (mut ea, mut eb) = (Vec::new(), Vec::new());
    loop {
        let mut moved = false;
        while let Some(o) = a.poll_output() {
            match o {
                Output::Transmit(bytes) => {
                    b.handle_input(now, &bytes);
                    moved = true;
                }
                Output::Event(SessionEvent::Bound) => {}
                Output::Event(e) => ea.push(e),
                Output::NeedData { .. } => {}
            }
        }
        while let Some(o) = b.poll_output() {
            match o {
                Output::Transmit(bytes) => {
                    a.handle_input(now, &bytes);
                    moved = true;
                }
                Output::Event(SessionEvent::Bound) => {}
                Output::Event(e) => eb.push(e),
                Output::NeedData { .. } => {}
            }
        }
        if !moved {
            return (ea, eb);
        }
    }
}

fn t(ms: u64) -> Time {
    Time::from_millis(ms)
}

#[test]
fn active_end_binds_with_an_empty_send() {
    let (mut a, mut b) = pair(2048);
    a.start(t(0));
    let (frames, _, _) = drain(&mut a);
    assert_eq!(frames.len(), 1);
    let f = &frames[0];
    assert_eq!(f.method(), Some(&Method::Send));
    assert_eq!((f.body.as_ref(), f.content_type.as_ref()), (None, None));
    assert_eq!(f.byte_range, Some(ByteRange::whole(0)));
    assert!(f.message_id.is_some());
    b.handle_input(t(1), &f.to_bytes());
    let (resp, _, eb) = drain_all(&mut b);
    assert_eq!(eb, vec![SessionEvent::Bound]);
    assert_eq!(resp[0].code(), Some(200));
    a.handle_input(t(2), &resp[0].to_bytes());
    let (_, _, ea) = drain_all(&mut a);
    assert_eq!(ea, vec![SessionEvent::Bound]);
    assert!(a.is_bound() && b.is_bound());
    assert_eq!(a.poll_timeout(), None);
    // The passive end never binds.
    b.start(t(3));
    assert!(drain(&mut b).0.is_empty());
}

#[test]
fn bind_timeout_is_reported() {
    let (mut a, _) = pair(2048);
    a.start(t(0));
    drain(&mut a);
    assert_eq!(a.poll_timeout(), Some(t(30_000)));
    a.handle_timeout(t(30_000));
    let (_, _, ea) = drain(&mut a);
    assert!(matches!(
        ea[..],
        [SessionEvent::BindFailed { code: 408, .. }]
    ));
}

#[test]
fn chat_message_with_success_report() {
    let (mut a, mut b) = pair(2048);
    let opts = SendOptions::new("text/plain").with_success_report();
    let id = a.send_bytes(t(0), opts, b"hello".to_vec()).expect("sent");
    let (ea, eb) = pump(&mut a, &mut b, t(1));
    assert!(eb
        .iter()
        .any(|e| matches!(e, SessionEvent::MessageReceived {
        message_id, body: Some(body), total: 5, ..
    } if *message_id == id && body == b"hello")));
    let names: Vec<&str> = ea
        .iter()
        .map(|e| match e {
            SessionEvent::Sent { .. } => "sent",
            SessionEvent::ChunkDelivered { .. } => "chunk",
            SessionEvent::Delivered { .. } => "delivered",
            _ => "other",
        })
        .collect();
    assert_eq!(names, ["sent", "chunk", "delivered"]);
    assert_eq!(a.poll_timeout(), None);
}

#[test]
fn without_success_report_the_last_200_delivers() {
    let (mut a, mut b) = pair(4);
    let id = a
        .send_bytes(t(0), SendOptions::new("text/plain"), b"0123456789".to_vec())
        .expect("sent");
    let (ea, eb) = pump(&mut a, &mut b, t(1));
    let chunks: Vec<(u64, u64)> = ea
        .iter()
        .filter_map(|e| match e {
            SessionEvent::ChunkDelivered { offset, len, .. } => Some((*offset, *len)),
            _ => None,
        })
        .collect();
    assert_eq!(chunks, [(0, 4), (4, 4), (8, 2)]);
    assert!(
        matches!(ea.last(), Some(SessionEvent::Delivered { message_id, .. }) if *message_id == id)
    );
    let received: Vec<u64> = eb
        .iter()
        .filter_map(|e| match e {
            SessionEvent::ChunkReceived { received, .. } => Some(*received),
            _ => None,
        })
        .collect();
    assert_eq!(received, [4, 8, 10]);
}

#[test]
fn failure_report_partial_gets_no_200_and_no_timeout() {
    let (mut a, mut b) = pair(2048);
    let opts = SendOptions::new("text/plain")
        .with_success_report()
        .with_failure_report(FailureReport::Partial);
    a.send_bytes(t(0), opts, b"hi".to_vec()).expect("sent");
    let (frames, _, _) = drain(&mut a);
    // The transaction lingers for a late negative response, then goes quietly.
    assert_eq!(a.poll_timeout(), Some(t(30_000)));
    a.handle_timeout(t(30_000));
    assert!(drain(&mut a).2.is_empty());
    assert_eq!(a.poll_timeout(), None);
    b.handle_input(t(1), &frames[0].to_bytes());
    let (back, _, _) = drain(&mut b);
    // No 200, only the success REPORT.
    assert_eq!(back.len(), 1);
    assert_eq!(back[0].method(), Some(&Method::Report));
    assert_eq!(back[0].status, Some(Status::new(200, Some("OK"))));
    a.handle_input(t(2), &back[0].to_bytes());
    let (_, _, ea) = drain(&mut a);
    assert!(matches!(
        ea[..],
        [SessionEvent::Delivered { code: 200, .. }]
    ));
}

#[test]
fn wrong_to_path_gets_481() {
    let (mut a, _) = pair(2048);
    let mut cfg = SessionConfig::new(
        uri("msrp://b.example:2855/other;tcp"),
        vec![a_uri()],
        Role::Passive,
    );
    cfg.chunk_size = 16;
    let mut wrong = MsrpSession::new(cfg, 3);
    let id = a
        .send_bytes(t(0), SendOptions::new("text/plain"), b"x".to_vec())
        .expect("sent");
    let (ea, eb) = pump(&mut a, &mut wrong, t(1));
    assert!(matches!(
        eb[..],
        [SessionEvent::Error(SessionError::WrongSession { .. })]
    ));
    assert!(ea.iter().any(|e| matches!(e, SessionEvent::DeliveryFailed { message_id, code: 481, .. } if *message_id == id)));
}

#[test]
fn unaccepted_type_gets_415_and_later_chunks_too() {
    let (mut a, mut b) = pair(2);
    let mut cfg = b.config().clone();
    cfg.accept_types = vec!["text/*".into(), "message/cpim".into()];
    b = MsrpSession::new(cfg, 4);
    let opts = SendOptions::new("image/png").with_failure_report(FailureReport::Partial);
    let id = a.send_bytes(t(0), opts, b"abcdef".to_vec()).expect("sent");
    let (frames, _, _) = drain(&mut a);
    assert_eq!(frames.len(), 3);
    for f in &frames {
        b.handle_input(t(1), &f.to_bytes());
    }
    let (back, _, eb) = drain(&mut b);
    assert_eq!(
        back.iter().map(|f| f.code()).collect::<Vec<_>>(),
        [Some(415); 3]
    );
    assert_eq!(
        eb,
        vec![SessionEvent::MessageRefused {
            message_id: id.clone(),
            code: 415
        }]
    );
    // Partial asks for negative responses: the first 415 fails the message.
    for f in &back {
        a.handle_input(t(2), &f.to_bytes());
    }
    let (_, _, ea) = drain(&mut a);
    assert!(
        matches!(&ea[..], [SessionEvent::DeliveryFailed { code: 415, .. }]),
        "{ea:?}"
    );
    assert_eq!(a.poll_timeout(), None);
    assert!(type_accepted("text/*", "text/html; charset=utf-8"));
    assert!(!type_accepted("text/plain", "text/html"));
}

#[test]
fn oversized_message_gets_413() {
    let (mut a, _) = pair(2048);
    let mut cfg = SessionConfig::new(b_uri(), vec![a_uri()], Role::Passive);
    cfg.max_message_size = Some(100);
    let mut b = MsrpSession::new(cfg, 5);
    let id = a
        .send_message(t(0), SendOptions::new("application/octet-stream"), 1000)
        .expect("ok");
    let (_, needs, _) = drain(&mut a);
    assert_eq!(needs, vec![(id.clone(), 0, 1000)]);
    a.push_data(t(0), &id, &[0u8; 10]).expect("asked for");
    let (ea, eb) = pump(&mut a, &mut b, t(1));
    assert!(eb.contains(&SessionEvent::MessageRefused {
        message_id: id.clone(),
        code: 413
    }));
    assert!(ea
        .iter()
        .any(|e| matches!(e, SessionEvent::DeliveryFailed { code: 413, .. })));
    assert_eq!(a.push_data(t(2), &id, b"x"), Err(SendError::UnknownMessage));
}

#[test]
fn streamed_sending_asks_for_data_and_checks_lengths() {
    let (mut a, mut b) = pair(4);
    let id = a
        .send_message(t(0), SendOptions::new("text/plain"), 6)
        .expect("ok");
    assert_eq!(
        a.push_data(t(0), &id, b"ab"),
        Err(SendError::NoDataRequested)
    );
    let (_, needs, _) = drain(&mut a);
    assert_eq!(needs, vec![(id.clone(), 0, 4)]);
    assert_eq!(
        a.push_data(t(0), &id, b"abcde"),
        Err(SendError::BadLength { len: 5, max_len: 4 })
    );
    a.push_data(t(0), &id, b"abc")
        .expect("fewer bytes are fine");
    let (f1, needs, _) = drain(&mut a);
    assert_eq!(needs, vec![(id.clone(), 3, 3)]);
    a.push_data(t(0), &id, b"def").expect("ok");
    let (f2, _, ev) = drain(&mut a);
    assert!(matches!(ev[..], [SessionEvent::Sent { .. }]));
    for f in f1.iter().chain(&f2) {
        b.handle_input(t(1), &f.to_bytes());
    }
    let (_, _, eb) = drain(&mut b);
    assert!(eb.iter().any(
        |e| matches!(e, SessionEvent::MessageReceived { body: Some(body), .. } if body == b"abcdef")
    ));
}

#[test]
fn window_limits_transactions_in_flight() {
    let mut ca = SessionConfig::new(a_uri(), vec![b_uri()], Role::Passive);
    ca.chunk_size = 1;
    ca.max_in_flight = 2;
    let mut a = MsrpSession::new(ca, 1);
    a.send_bytes(t(0), SendOptions::new("text/plain"), b"abcd".to_vec())
        .expect("ok");
    let (frames, _, _) = drain(&mut a);
    assert_eq!(frames.len(), 2);
    let ok = frames[0].response(200, Some("OK")).expect("due");
    a.handle_input(t(1), &ok.to_bytes());
    let (frames, _, _) = drain(&mut a);
    assert_eq!(frames.len(), 1);
}

#[test]
fn abort_tells_the_receiver() {
    let (mut a, mut b) = pair(2);
    let id = a
        .send_bytes(t(0), SendOptions::new("text/plain"), b"abcdefgh".to_vec())
        .expect("ok");
    let first = a.poll_output().expect("a chunk");
    let Output::Transmit(first) = first else {
        panic!("a chunk")
    };
    b.handle_input(t(1), &first);
    a.abort(t(1), &id).expect("in progress");
    let (frames, _, _) = drain(&mut a);
    assert_eq!(frames.len(), 1);
    assert_eq!(frames[0].flag, Flag::Abort);
    b.handle_input(t(2), &frames[0].to_bytes());
    let (_, _, eb) = drain(&mut b);
    assert!(eb.contains(&SessionEvent::MessageAborted {
        message_id: id.clone(),
        received: 2,
        prefix: 2
    }));
    assert_eq!(b.incoming_progress(&id), None);
    assert_eq!(a.abort(t(3), &id), Err(SendError::UnknownMessage));
}

#[test]
fn transaction_timeout_fails_the_message() {
    let (mut a, _) = pair(2048);
    let id = a
        .send_bytes(t(1000), SendOptions::new("text/plain"), b"x".to_vec())
        .expect("ok");
    drain(&mut a);
    assert_eq!(a.poll_timeout(), Some(t(31_000)));
    a.handle_timeout(t(30_999));
    assert!(drain(&mut a).2.is_empty());
    a.handle_timeout(t(31_000));
    let (_, _, ev) = drain(&mut a);
    assert_eq!(
        ev,
        vec![SessionEvent::DeliveryFailed {
            message_id: id,
            code: 408,
            reason: "Request Timeout".into()
        }]
    );
    assert_eq!(a.poll_timeout(), None);
}

#[test]
fn bad_frames_are_reported_and_skipped() {
    let (_, mut b) = pair(2048);
    let bad = b"MSRP abcd SEND\r\nTo-Path: msrp://b.example:2855/bbbb;tcp\r\n\
        From-Path: msrp://a.example:2855/aaaa;tcp\r\nByte-Range: x\r\n\r\nx\r\n-------abcd$\r\n";
    b.handle_input(t(0), bad);
    let (_, _, ev) = drain(&mut b);
    assert!(matches!(&ev[..], [SessionEvent::Error(SessionError::Parse(e))] if !e.is_fatal()));
    // A SEND without Message-ID: 400.
    let no_id = b"MSRP efgh SEND\r\nTo-Path: msrp://b.example:2855/bbbb;tcp\r\n\
        From-Path: msrp://a.example:2855/aaaa;tcp\r\nContent-Type: text/plain\r\n\r\nx\r\n-------efgh$\r\n";
    b.handle_input(t(0), no_id);
    let (frames, _, ev) = drain(&mut b);
    assert_eq!(frames[0].code(), Some(400));
    assert!(matches!(
        ev.last(),
        Some(SessionEvent::Error(SessionError::BadRequest { .. }))
    ));
    // An unknown method: 501.
    let other = b"MSRP ijkl FOO\r\nTo-Path: msrp://b.example:2855/bbbb;tcp\r\n\
        From-Path: msrp://a.example:2855/aaaa;tcp\r\n-------ijkl$\r\n";
    b.handle_input(t(0), other);
    let (frames, _, _) = drain(&mut b);
    assert_eq!(frames[0].code(), Some(501));
    // Garbage is fatal: the session closes.
    b.handle_input(t(0), b"HTTP/1.1 200 OK\r\n\r\n");
    let (_, _, ev) = drain(&mut b);
    assert!(matches!(&ev[..], [SessionEvent::Error(SessionError::Parse(e))] if e.is_fatal()));
    assert!(b.is_closed());
}

#[test]
fn byte_range_disagreeing_with_the_body_gets_400_and_keeps_the_message() {
    let (mut a, mut b) = pair(3);
    let id = a
        .send_bytes(t(0), SendOptions::new("text/plain"), b"abcdef".to_vec())
        .expect("ok");
    let (frames, _, _) = drain(&mut a);
    b.handle_input(t(1), &frames[0].to_bytes());
    let mut bad = frames[1].clone();
    bad.byte_range = Some(ByteRange::parse("4-5/6").expect("valid"));
    b.handle_input(t(1), &bad.to_bytes());
    let (back, _, _) = drain(&mut b);
    assert_eq!(back.last().and_then(Frame::code), Some(400));
    assert_eq!(b.incoming_progress(&id).map(|p| p.received), Some(3));
    b.handle_input(t(1), &frames[1].to_bytes());
    let (_, _, eb) = drain(&mut b);
    assert!(eb
        .iter()
        .any(|e| matches!(e, SessionEvent::MessageReceived { .. })));
}

#[test]
fn large_messages_are_not_buffered() {
    let (mut a, _) = pair(4);
    let mut cfg = SessionConfig::new(b_uri(), vec![a_uri()], Role::Passive);
    cfg.max_buffered_size = 5;
    let mut b = MsrpSession::new(cfg, 9);
    a.send_bytes(t(0), SendOptions::new("text/plain"), b"0123456789".to_vec())
        .expect("ok");
    let (_, eb) = pump(&mut a, &mut b, t(1));
    assert!(eb.iter().any(|e| matches!(
        e,
        SessionEvent::MessageReceived {
            body: None,
            total: 10,
            ..
        }
    )));
}

#[test]
fn resumed_incoming_message_completes_from_the_offset() {
    let (mut a, mut b) = pair(4);
    let opts = SendOptions::new("text/plain").with_message_id("resume1");
    b.resume_incoming("resume1", 6, Some(10));
    assert_eq!(
        b.incoming_progress("resume1"),
        Some(IncomingProgress {
            received: 6,
            prefix: 6,
            total: Some(10)
        })
    );
    let id = a.resume_message(t(0), opts, 10, 6).expect("ok");
    let (_, needs, _) = drain(&mut a);
    assert_eq!(needs, vec![(id.clone(), 6, 4)]);
    a.push_data(t(0), &id, b"6789").expect("ok");
    let (ea, eb) = pump(&mut a, &mut b, t(1));
    assert!(eb.iter().any(|e| matches!(
        e,
        SessionEvent::MessageReceived {
            total: 10,
            body: None,
            ..
        }
    )));
    assert!(matches!(ea.last(), Some(SessionEvent::Delivered { .. })));
}

#[test]
fn close_fails_and_aborts_everything() {
    let (mut a, mut b) = pair(2);
    let id = a
        .send_bytes(t(0), SendOptions::new("text/plain"), b"abcd".to_vec())
        .expect("ok");
    let Some(Output::Transmit(first)) = a.poll_output() else {
        panic!("a chunk")
    };
    b.handle_input(t(0), &first);
    drain(&mut b);
    a.close(t(1));
    b.close(t(1));
    let (_, _, ea) = drain(&mut a);
    assert!(matches!(
        &ea[..],
        [SessionEvent::DeliveryFailed { code: 408, .. }]
    ));
    let (_, _, eb) = drain(&mut b);
    assert_eq!(
        eb,
        vec![SessionEvent::MessageAborted {
            message_id: id,
            received: 2,
            prefix: 2
        }]
    );
    assert_eq!(
        a.send_bytes(t(2), SendOptions::new("text/plain"), Vec::new()),
        Err(SendError::Closed)
    );
}

#[test]
fn failure_report_fails_the_message() {
    let (mut a, _) = pair(2048);
    let opts = SendOptions::new("text/plain").with_success_report();
    let id = a.send_bytes(t(0), opts, b"x".to_vec()).expect("ok");
    let (frames, _, _) = drain(&mut a);
    let mut rng = Rng::from_seed(1);
    let mut chunk = frames[0].clone();
    // As the receiver would build it: To-Path and From-Path swapped.
    core::mem::swap(&mut chunk.to_path, &mut chunk.from_path);
    let report = chunk
        .report(&mut rng, 415, Some("Unsupported"), None)
        .expect("failure reports are due");
    // The report goes to the sender's From-Path, here our To-Path after the swap.
    let mut report = report;
    report.to_path = vec![a_uri()];
    a.handle_input(t(1), &report.to_bytes());
    let (_, _, ev) = drain(&mut a);
    assert_eq!(
        ev,
        vec![SessionEvent::DeliveryFailed {
            message_id: id,
            code: 415,
            reason: "Unsupported".into()
        }]
    );
    let _ = StartLine::Request(Method::Report);
}

#[test]
fn roles_from_setup() {
    assert_eq!(Role::from_setup(Setup::Active), Some(Role::Active));
    assert_eq!(Role::from_setup(Setup::Passive), Some(Role::Passive));
    assert_eq!(Role::from_setup(Setup::HoldConn), None);
}
