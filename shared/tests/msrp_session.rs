//! Two MSRP session engines wired back to back (RFC 4975) through an in-memory byte pipe
//! that cuts what one side writes at random boundaries (seeded), as TCP may: chat messages
//! with reports, a 5 MB file with its SHA-1, interleaving, abort, 413, the transaction
//! timeout, malformed frames and resuming.

use proptest::prelude::*;
use sipsimple::file_selector::{FileHash, FileHasher, FileSelector, HashAlgorithm, MediaType};
use sipsimple::msrp::{
    FailureReport, Frame, MsrpSession, Role, SendOptions, SessionConfig, SessionError,
    SessionEvent, SessionOutput, Uri,
};
use sipsimple::rng::Rng;
use sipsimple::stream::{FileTransferEngine, FileTransferError, FileTransferOutput};
use sipsimple::{Event, Time};

fn uri(s: &str) -> Uri {
    Uri::parse(s).expect("valid")
}

fn alice() -> Uri {
    uri("msrp://alice.example:2855/a1b2c3d4;tcp")
}

fn bob() -> Uri {
    uri("msrp://bob.example:2855/e5f6g7h8;tcp")
}

fn configs(chunk_size: usize) -> (SessionConfig, SessionConfig) {
    let mut a = SessionConfig::new(alice(), vec![bob()], Role::Active);
    a.chunk_size = chunk_size;
    let mut b = SessionConfig::new(bob(), vec![alice()], Role::Passive);
    b.chunk_size = chunk_size;
    (a, b)
}

/// Cuts `bytes` into pieces of 1 to `max` bytes.
fn cut(rng: &mut Rng, bytes: &[u8], max: usize) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    let mut rest = bytes;
    while !rest.is_empty() {
        let n = 1 + (rng.next_u64() % max.max(1) as u64) as usize;
        let (piece, tail) = rest.split_at(n.min(rest.len()));
        out.push(piece.to_vec());
        rest = tail;
    }
    out
}

/// Supplies the content of streamed messages: `(message_id, offset, max_len) -> bytes`.
type Source<'a> = &'a mut dyn FnMut(&str, u64, usize) -> Vec<u8>;

/// Two sessions and the pipes between them.
struct Pair {
    a: MsrpSession,
    b: MsrpSession,
    rng: Rng,
    now: Time,
    /// Largest piece the pipe delivers at once.
    max_piece: usize,
    /// Bytes written by A not yet read by B, and the other way.
    ab: Vec<u8>,
    ba: Vec<u8>,
    /// Drop what A writes (a dead link).
    drop_ab: bool,
    ea: Vec<SessionEvent>,
    eb: Vec<SessionEvent>,
    /// Frames A wrote, in order (for checking interleaving).
    wire_ab: Vec<Frame>,
}

impl Pair {
    fn new(ca: SessionConfig, cb: SessionConfig, seed: u64) -> Pair {
        Pair {
            a: MsrpSession::new(ca, seed),
            b: MsrpSession::new(cb, seed + 1),
            rng: Rng::from_seed(seed),
            now: Time::from_millis(0),
            max_piece: 97,
            ab: Vec::new(),
            ba: Vec::new(),
            drop_ab: false,
            ea: Vec::new(),
            eb: Vec::new(),
            wire_ab: Vec::new(),
        }
    }

    /// Runs until neither side has anything to say; streamed content comes from the
    /// sources.
    fn run_with(&mut self, src_a: Source<'_>, src_b: Source<'_>) {
        loop {
            let mut moved = false;
            while let Some(o) = self.a.poll_output() {
                match o {
                    SessionOutput::Transmit(bytes) => {
                        self.wire_ab
                            .push(Frame::parse(&bytes).expect("own frames parse"));
                        if !self.drop_ab {
                            self.ab.extend_from_slice(&bytes);
                        }
                    }
                    SessionOutput::NeedData {
                        message_id,
                        offset,
                        max_len,
                    } => {
                        // An empty answer withholds the data (a stalled reader).
                        let data = src_a(&message_id, offset, max_len);
                        if !data.is_empty() {
                            self.a
                                .push_data(self.now, &message_id, &data)
                                .expect("asked for");
                        }
                    }
                    SessionOutput::Event(SessionEvent::Bound) => {}
                    SessionOutput::Event(e) => self.ea.push(e),
                }
            }
            while let Some(o) = self.b.poll_output() {
                match o {
                    SessionOutput::Transmit(bytes) => self.ba.extend_from_slice(&bytes),
                    SessionOutput::NeedData {
                        message_id,
                        offset,
                        max_len,
                    } => {
                        let data = src_b(&message_id, offset, max_len);
                        if !data.is_empty() {
                            self.b
                                .push_data(self.now, &message_id, &data)
                                .expect("asked for");
                        }
                    }
                    SessionOutput::Event(SessionEvent::Bound) => {}
                    SessionOutput::Event(e) => self.eb.push(e),
                }
            }
            let ab = core::mem::take(&mut self.ab);
            for piece in cut(&mut self.rng, &ab, self.max_piece) {
                self.b.handle_input(self.now, &piece);
                moved = true;
            }
            let ba = core::mem::take(&mut self.ba);
            for piece in cut(&mut self.rng, &ba, self.max_piece) {
                self.a.handle_input(self.now, &piece);
                moved = true;
            }
            if !moved {
                return;
            }
        }
    }

    fn run(&mut self) {
        let mut none = |_: &str, _: u64, _: usize| -> Vec<u8> { panic!("no streamed message") };
        let mut none_b = |_: &str, _: u64, _: usize| -> Vec<u8> { panic!("no streamed message") };
        self.run_with(&mut none, &mut none_b);
    }

    /// Advances the virtual clock to the earliest timer of either side, and runs it.
    fn advance(&mut self) -> bool {
        let next = [self.a.poll_timeout(), self.b.poll_timeout()]
            .into_iter()
            .flatten()
            .min();
        let Some(at) = next else {
            return false;
        };
        self.now = self.now.max(at);
        self.a.handle_timeout(self.now);
        self.b.handle_timeout(self.now);
        self.run();
        true
    }
}

fn received_body(events: &[SessionEvent], id: &str) -> Option<Vec<u8>> {
    events.iter().find_map(|e| match e {
        SessionEvent::MessageReceived {
            message_id,
            body: Some(body),
            ..
        } if message_id == id => Some(body.clone()),
        _ => None,
    })
}

fn delivered(events: &[SessionEvent], id: &str) -> bool {
    events.iter().any(
        |e| matches!(e, SessionEvent::Delivered { message_id, code: 200, .. } if message_id == id),
    )
}

#[test]
fn chat_message_both_ways_with_success_report() {
    let (ca, cb) = configs(16);
    let mut p = Pair::new(ca, cb, 7);
    p.a.start(p.now);
    let opts = || SendOptions::new("text/plain").with_success_report();
    let hello = "Hello Bob, this message is longer than one chunk.";
    let id_a = p.a.send_bytes(p.now, opts(), hello.into()).expect("sent");
    let id_b =
        p.b.send_bytes(p.now, opts(), b"Hi Alice!".to_vec())
            .expect("sent");
    p.run();
    assert!(p.a.is_bound() && p.b.is_bound());
    assert_eq!(
        received_body(&p.eb, &id_a).as_deref(),
        Some(hello.as_bytes())
    );
    assert_eq!(
        received_body(&p.ea, &id_b).as_deref(),
        Some(&b"Hi Alice!"[..])
    );
    assert!(delivered(&p.ea, &id_a), "{:?}", p.ea);
    assert!(delivered(&p.eb, &id_b), "{:?}", p.eb);
    // One success REPORT for the whole message, as asked.
    let reports =
        p.eb.iter()
            .chain(&p.ea)
            .filter(|e| matches!(e, SessionEvent::Delivered { .. }))
            .count();
    assert_eq!(reports, 2);
    assert_eq!((p.a.poll_timeout(), p.b.poll_timeout()), (None, None));
}

/// Drives two file-transfer engines back to back over a cutting pipe; the sender reads
/// from `file`, the receiver writes into the returned buffer. Returns the buffer and each
/// side's notifications.
fn transfer(
    sender: &mut FileTransferEngine,
    receiver: &mut FileTransferEngine,
    file: &[u8],
    rng: &mut Rng,
    max_piece: usize,
    stop_after: Option<usize>,
    written: &mut Vec<u8>,
) -> (Vec<Event>, Vec<Event>) {
    let now = Time::from_millis(0);
    let (mut ns, mut nr) = (Vec::new(), Vec::new());
    let mut frames_sent = 0usize;
    loop {
        let mut moved = false;
        let mut to_r = Vec::new();
        while let Some(o) = sender.poll_output() {
            match o {
                FileTransferOutput::Transmit(b) => {
                    frames_sent += 1;
                    if stop_after.is_none_or(|n| frames_sent <= n) {
                        to_r.extend_from_slice(&b);
                    }
                }
                FileTransferOutput::NeedData { offset, max_len } => {
                    let start = offset as usize;
                    let end = (start + max_len).min(file.len());
                    sender.push_data(now, &file[start..end]).expect("asked for");
                }
                FileTransferOutput::Notification(e) => ns.push(e),
                FileTransferOutput::WriteData { .. } => panic!("the sender writes nothing"),
            }
        }
        let mut to_s = Vec::new();
        while let Some(o) = receiver.poll_output() {
            match o {
                FileTransferOutput::Transmit(b) => to_s.extend_from_slice(&b),
                FileTransferOutput::WriteData { offset, data } => {
                    let start = offset as usize;
                    if written.len() < start + data.len() {
                        written.resize(start + data.len(), 0);
                    }
                    written[start..start + data.len()].copy_from_slice(&data);
                }
                FileTransferOutput::Notification(e) => nr.push(e),
                FileTransferOutput::NeedData { .. } => panic!("the receiver reads nothing"),
            }
        }
        for piece in cut(rng, &to_r, max_piece) {
            receiver.handle_input(now, &piece);
            moved = true;
        }
        for piece in cut(rng, &to_s, max_piece) {
            sender.handle_input(now, &piece);
            moved = true;
        }
        if !moved {
            return (ns, nr);
        }
    }
}

fn file_of(len: usize, seed: u64) -> Vec<u8> {
    let mut rng = Rng::from_seed(seed);
    let mut v = Vec::with_capacity(len + 8);
    while v.len() < len {
        v.extend_from_slice(&rng.next_u64().to_le_bytes());
    }
    v.truncate(len);
    v
}

fn selector_of(file: &[u8]) -> FileSelector {
    FileSelector {
        name: Some("big.bin".into()),
        media_type: Some(MediaType::new("application", "octet-stream")),
        size: Some(file.len() as u64),
        hash: FileHash::of(&HashAlgorithm::Sha1, file),
    }
}

fn engines(
    sender: FileTransferEngine,
    receiver: FileTransferEngine,
    chunk_size: usize,
) -> (FileTransferEngine, FileTransferEngine) {
    let (mut s, mut r) = (sender, receiver);
    let mut cs = s.session_config(alice(), vec![bob()], Role::Active);
    cs.chunk_size = chunk_size;
    let cr = r.session_config(bob(), vec![alice()], Role::Passive);
    let now = Time::from_millis(0);
    r.start(now, MsrpSession::new(cr, 21));
    s.start(now, MsrpSession::new(cs, 20));
    (s, r)
}

#[test]
fn five_megabyte_file_with_sha1_and_ordered_progress() {
    let file = file_of(5 * 1024 * 1024, 99);
    let sel = selector_of(&file);
    let (mut s, mut r) = engines(
        FileTransferEngine::sender(sel.clone()).expect("sized"),
        FileTransferEngine::receiver(sel),
        64 * 1024,
    );
    let mut written = Vec::new();
    let mut rng = Rng::from_seed(5);
    let (ns, nr) = transfer(&mut s, &mut r, &file, &mut rng, 40_000, None, &mut written);
    assert!(written == file, "the file arrives whole");
    assert_eq!(r.result(), Some(&Ok(())));
    assert_eq!(s.result(), Some(&Ok(())));
    // Progress: chunks in order, totals growing to the size, then the end.
    let mut last = 0;
    let mut got = 0;
    for e in &nr[..nr.len() - 1] {
        let Event::FileTransferStreamGotChunk {
            offset,
            length,
            transferred_bytes,
            file_size,
            ..
        } = e
        else {
            panic!("only chunks before the end: {e:?}")
        };
        assert_eq!(*offset, last);
        last = offset + length;
        assert_eq!(*transferred_bytes, last);
        assert_eq!(*file_size, Some(file.len() as u64));
        got += 1;
    }
    assert_eq!(got, 80);
    assert_eq!(
        nr.last(),
        Some(&Event::FileTransferStreamDidFinish { error: None })
    );
    let delivered: Vec<u64> = ns
        .iter()
        .filter_map(|e| match e {
            Event::FileTransferStreamDidDeliverChunk {
                transferred_bytes, ..
            } => Some(*transferred_bytes),
            _ => None,
        })
        .collect();
    assert_eq!(delivered.len(), 80);
    assert!(delivered.windows(2).all(|w| w[0] < w[1]));
    assert_eq!(delivered.last(), Some(&(file.len() as u64)));
    assert_eq!(
        ns.last(),
        Some(&Event::FileTransferStreamDidFinish { error: None })
    );
}

#[test]
fn corrupted_file_fails_the_hash_check() {
    let file = file_of(10_000, 3);
    let mut sel = selector_of(&file);
    let mut other = file.clone();
    other[5000] ^= 1;
    sel.hash = FileHash::of(&HashAlgorithm::Sha1, &other);
    let (mut s, mut r) = engines(
        FileTransferEngine::sender(sel.clone()).expect("sized"),
        FileTransferEngine::receiver(sel),
        1024,
    );
    let mut written = Vec::new();
    let (_, nr) = transfer(
        &mut s,
        &mut r,
        &file,
        &mut Rng::from_seed(1),
        500,
        None,
        &mut written,
    );
    assert!(matches!(
        r.result(),
        Some(Err(FileTransferError::HashMismatch { .. }))
    ));
    assert!(
        matches!(nr.last(), Some(Event::FileTransferStreamDidFinish { error: Some(e) }) if e.contains("hash"))
    );
}

#[test]
fn two_interleaved_messages() {
    let (ca, cb) = configs(100);
    let mut p = Pair::new(ca, cb, 11);
    let one = file_of(1000, 1);
    let two = file_of(700, 2);
    let id1 =
        p.a.send_bytes(
            p.now,
            SendOptions::new("application/octet-stream"),
            one.clone(),
        )
        .expect("sent");
    let id2 =
        p.a.send_bytes(
            p.now,
            SendOptions::new("application/octet-stream"),
            two.clone(),
        )
        .expect("sent");
    p.run();
    let ids: Vec<&str> = p
        .wire_ab
        .iter()
        .filter_map(|f| f.message_id.as_deref())
        .collect();
    // The chunks alternate while both messages have some left.
    for pair in ids[..14].chunks(2) {
        assert_ne!(pair[0], pair[1], "{ids:?}");
    }
    assert_eq!(received_body(&p.eb, &id1), Some(one));
    assert_eq!(received_body(&p.eb, &id2), Some(two));
    assert!(delivered(&p.ea, &id1) && delivered(&p.ea, &id2));
    // The receiver saw the chunks interleaved too.
    let order: Vec<&str> =
        p.eb.iter()
            .filter_map(|e| match e {
                SessionEvent::ChunkReceived { message_id, .. } => Some(message_id.as_str()),
                _ => None,
            })
            .collect();
    assert_eq!(&order[..4], [&id1, &id2, &id1, &id2]);
}

#[test]
fn abort_mid_message() {
    let (ca, cb) = configs(10);
    let mut p = Pair::new(ca, cb, 13);
    let id =
        p.a.send_message(p.now, SendOptions::new("text/plain"), 100)
            .expect("sent");
    // The reader gives three pieces, then stalls; the application aborts.
    let mut calls = 0;
    let mut src = |_: &str, _: u64, n: usize| {
        calls += 1;
        if calls <= 3 {
            vec![b'x'; n]
        } else {
            Vec::new()
        }
    };
    let mut none = |_: &str, _: u64, _: usize| -> Vec<u8> { panic!("B streams nothing") };
    p.run_with(&mut src, &mut none);
    let got = p.b.incoming_progress(&id).map(|g| g.received).unwrap_or(0);
    assert_eq!(got, 30, "mid-message");
    p.a.abort(p.now, &id).expect("in progress");
    p.run_with(&mut src, &mut none);
    assert!(p.eb.iter().any(|e| matches!(e,
        SessionEvent::MessageAborted { message_id, received, prefix }
            if *message_id == id && *received == got && *prefix == got)));
    assert!(!p
        .eb
        .iter()
        .any(|e| matches!(e, SessionEvent::MessageReceived { .. })));
    assert_eq!(
        p.wire_ab.last().map(|f| f.flag),
        Some(sipsimple::msrp::Flag::Abort)
    );
    assert_eq!(p.a.bytes_sent(&id), None, "forgotten by the sender");
}

#[test]
fn oversized_message_fails_with_413() {
    let (mut ca, mut cb) = configs(1000);
    ca.max_in_flight = 1;
    cb.max_message_size = Some(4096);
    let mut p = Pair::new(ca, cb, 17);
    let small =
        p.a.send_bytes(p.now, SendOptions::new("text/plain"), vec![b'a'; 4096])
            .expect("sent");
    let big =
        p.a.send_bytes(p.now, SendOptions::new("text/plain"), vec![b'b'; 5000])
            .expect("sent");
    // With Failure-Report: partial the 413 still comes back.
    let partial =
        p.a.send_bytes(
            p.now,
            SendOptions::new("text/plain").with_failure_report(FailureReport::Partial),
            vec![b'c'; 4097],
        )
        .expect("sent");
    p.run();
    assert!(p.ea.iter().any(|e| matches!(e,
        SessionEvent::DeliveryFailed { message_id, code: 413, .. } if *message_id == partial)));
    assert!(delivered(&p.ea, &small));
    assert!(p.ea.iter().any(|e| matches!(e,
        SessionEvent::DeliveryFailed { message_id, code: 413, .. } if *message_id == big)));
    assert!(p.eb.contains(&SessionEvent::MessageRefused {
        message_id: big.clone(),
        code: 413
    }));
    // The sender stopped after the 413: not all five chunks went.
    let big_chunks = p
        .wire_ab
        .iter()
        .filter(|f| f.message_id.as_deref() == Some(&big))
        .count();
    assert!(big_chunks < 5, "{big_chunks}");
}

#[test]
fn no_response_within_30_seconds_fails_the_message() {
    let (ca, cb) = configs(2048);
    let mut p = Pair::new(ca, cb, 19);
    p.drop_ab = true;
    p.now = Time::from_millis(5_000);
    let id =
        p.a.send_bytes(p.now, SendOptions::new("text/plain"), b"anyone?".to_vec())
            .expect("sent");
    p.run();
    assert!(p.ea.iter().all(|e| matches!(e, SessionEvent::Sent { .. })));
    assert!(p.advance());
    assert_eq!(p.now, Time::from_millis(35_000));
    assert_eq!(
        p.ea.last(),
        Some(&SessionEvent::DeliveryFailed {
            message_id: id,
            code: 408,
            reason: "Request Timeout".into()
        })
    );
    assert!(!p.advance(), "no timer left");
}

#[test]
fn malformed_frames_do_not_disturb_the_session() {
    let (ca, cb) = configs(4);
    let mut p = Pair::new(ca, cb, 23);
    let id =
        p.a.send_bytes(p.now, SendOptions::new("text/plain"), b"abcdefgh".to_vec())
            .expect("sent");
    // The first chunk goes through.
    let Some(SessionOutput::Transmit(first)) = p.a.poll_output() else {
        panic!("a chunk")
    };
    p.b.handle_input(p.now, &first);
    // Then a frame with a malformed header, cut in pieces: reported, skipped.
    let bad = b"MSRP zzzz SEND\r\nTo-Path: msrp://bob.example:2855/e5f6g7h8;tcp\r\n\
        From-Path: msrp://alice.example:2855/a1b2c3d4;tcp\r\nMessage-ID: evil1\r\n\
        Byte-Range: 1-3/2\r\nContent-Type: text/plain\r\n\r\nabc\r\n-------zzzz$\r\n";
    for piece in bad.chunks(7) {
        p.b.handle_input(p.now, piece);
    }
    // And a frame addressed to another session: 481, nothing else.
    let mut foreign = Frame::parse(&first).expect("valid");
    foreign.to_path = vec![uri("msrp://bob.example:2855/other;tcp")];
    foreign.tid = "foreign1".into();
    p.b.handle_input(p.now, &foreign.to_bytes());
    p.run();
    let errors: Vec<&SessionError> =
        p.eb.iter()
            .filter_map(|e| match e {
                SessionEvent::Error(err) => Some(err),
                _ => None,
            })
            .collect();
    assert!(
        matches!(errors[..], [SessionError::Parse(ref e), SessionError::WrongSession { .. }] if !e.is_fatal())
    );
    assert_eq!(received_body(&p.eb, &id).as_deref(), Some(&b"abcdefgh"[..]));
    assert!(delivered(&p.ea, &id));
    // Garbage that loses framing closes the session; nothing panics.
    p.b.handle_input(p.now, b"\x00\xffGET / HTTP/1.1\r\n\r\n");
    p.run();
    assert!(p.b.is_closed());
    p.b.handle_input(p.now, &first);
    p.run();
}

#[test]
fn resume_from_a_byte_offset() {
    let file = file_of(50_000, 31);
    let sel = selector_of(&file);
    let (mut s, mut r) = engines(
        FileTransferEngine::sender(sel.clone()).expect("sized"),
        FileTransferEngine::receiver(sel.clone()),
        4096,
    );
    let mut written = Vec::new();
    let mut rng = Rng::from_seed(2);
    // The link dies after five chunks (and the bind).
    transfer(&mut s, &mut r, &file, &mut rng, 3000, Some(6), &mut written);
    let now = Time::from_millis(1);
    s.end(now);
    r.end(now);
    let (ns, nr): (Vec<_>, Vec<_>) = (
        core::iter::from_fn(|| s.poll_output()).collect(),
        core::iter::from_fn(|| r.poll_output()).collect(),
    );
    let Some(Err(FileTransferError::Aborted { prefix })) = r.result().cloned() else {
        panic!("aborted: {:?} {nr:?}", r.result())
    };
    assert_eq!(prefix, 5 * 4096);
    assert!(
        matches!(
            s.result(),
            Some(Err(FileTransferError::NotDelivered { code: 408, .. }))
        ),
        "{ns:?}"
    );
    // A new connection: the receiver reports the prefix, the sender resumes there.
    let id = r.message_id().expect("known").to_string();
    let mut prefix_hash = FileHasher::sha1();
    prefix_hash.update(&written[..prefix as usize]);
    written.truncate(prefix as usize);
    let (mut s2, mut r2) = engines(
        FileTransferEngine::resuming_sender(sel.clone(), &id, prefix).expect("sized"),
        FileTransferEngine::resuming_receiver(sel, &id, prefix, prefix_hash),
        4096,
    );
    let (ns, nr) = transfer(&mut s2, &mut r2, &file, &mut rng, 3000, None, &mut written);
    assert_eq!(r2.result(), Some(&Ok(())), "{nr:?}");
    assert_eq!(s2.result(), Some(&Ok(())), "{ns:?}");
    assert!(written == file);
    let Some(Event::FileTransferStreamGotChunk { offset, .. }) = nr.first() else {
        panic!("chunks: {nr:?}")
    };
    assert_eq!(*offset, prefix);
}

/// What the fuzz target `msrp_session` does, over seeded mutations of a real exchange: no
/// panic, and every answer parses.
#[test]
fn mutated_input_never_panics() {
    let (ca, cb) = configs(64);
    let mut p = Pair::new(ca, cb.clone(), 29);
    p.a.start(p.now);
    p.a.send_bytes(
        p.now,
        SendOptions::new("text/plain").with_success_report(),
        file_of(300, 4),
    )
    .expect("sent");
    p.run();
    let wire: Vec<u8> = p.wire_ab.iter().flat_map(Frame::to_bytes).collect();
    let mut rng = Rng::from_seed(30);
    for _ in 0..300 {
        let mut bytes = wire.clone();
        for _ in 0..1 + rng.next_u64() % 8 {
            let i = (rng.next_u64() % bytes.len() as u64) as usize;
            match rng.next_u64() % 3 {
                0 => bytes[i] = rng.next_u64() as u8,
                1 => {
                    bytes.remove(i);
                }
                _ => bytes.insert(i, b"\r\n-+$#:/ 0"[(rng.next_u64() % 10) as usize]),
            }
        }
        let mut s = MsrpSession::new(cb.clone(), 1);
        for piece in cut(&mut rng, &bytes, 50) {
            s.handle_input(Time::from_millis(0), &piece);
        }
        s.handle_timeout(Time::from_millis(60_000));
        while let Some(o) = s.poll_output() {
            if let SessionOutput::Transmit(b) = o {
                Frame::parse(&b).expect("our own output parses");
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// Whatever the chunk size and however the pipe cuts the bytes, the message arrives
    /// exactly, once, and is delivered.
    #[test]
    fn random_chunks_and_cuts_reassemble_exactly(
        body in proptest::collection::vec(any::<u8>(), 0..3000),
        chunk_size in 1usize..700,
        max_piece in 1usize..300,
        seed in any::<u64>(),
        streamed in any::<bool>(),
    ) {
        let (ca, cb) = configs(chunk_size);
        let mut p = Pair::new(ca, cb, seed);
        p.max_piece = max_piece;
        p.a.start(p.now);
        let opts = SendOptions::new("application/octet-stream").with_success_report();
        let id = if streamed {
            p.a.send_message(p.now, opts, body.len() as u64).expect("sent")
        } else {
            p.a.send_bytes(p.now, opts, body.clone()).expect("sent")
        };
        let data = body.clone();
        let mut src = move |_: &str, offset: u64, n: usize| {
            let start = offset as usize;
            data[start..(start + n).min(data.len())].to_vec()
        };
        let mut none = |_: &str, _: u64, _: usize| -> Vec<u8> { panic!("B streams nothing") };
        p.run_with(&mut src, &mut none);
        prop_assert_eq!(received_body(&p.eb, &id), Some(body.clone()));
        let complete = p.eb.iter().filter(|e| matches!(e, SessionEvent::MessageReceived { .. })).count();
        prop_assert_eq!(complete, 1);
        prop_assert!(delivered(&p.ea, &id));
        // The chunks, written at their offsets, give the body too.
        let mut rebuilt = vec![0u8; body.len()];
        for e in &p.eb {
            if let SessionEvent::ChunkReceived { offset, data, .. } = e {
                let o = *offset as usize;
                rebuilt[o..o + data.len()].copy_from_slice(data);
            }
        }
        prop_assert_eq!(rebuilt, body);
    }
}
