//! Sessions with chat and file-transfer streams over the simulator's in-memory MSRP network
//! (RFC 4975, RFC 5547): the user agents ask for MSRP connections, the simulated shell
//! carries them, and messages, composing indications and files flow with their
//! notifications; a dropped connection fails what was in flight.

mod sim;

use sim::msrp::{msrp_world, Key};
use sim::ua::{at, at_ms, Command, Node, OnIncoming, OnProposal};
use sim::Sim;
use sipsimple::file_selector::{FileHash, FileSelector, HashAlgorithm};
use sipsimple::iscomposing::State;
use sipsimple::ua::MsrpOutput;
use sipsimple::{Error, Event, Sender, SessionState};
use std::time::Duration;

const ALICE: usize = 1;
const BOB: usize = 2;

/// Steps until `done` holds; panics after `limit` of virtual time.
fn run_until(sim: &mut Sim<Node>, limit: Duration, done: impl Fn(&Sim<Node>) -> bool) {
    let until = sim.now + limit;
    while !done(sim) {
        assert!(sim.now <= until, "not done after {limit:?}");
        assert!(sim.step(), "nothing left to do, and not done");
    }
}

/// The events of node `n` sent by `sender`.
fn events_of(sim: &Sim<Node>, n: usize, sender: Sender) -> Vec<Event> {
    sim.node(n)
        .ua()
        .events
        .iter()
        .filter(|(_, e)| e.sender == sender)
        .map(|(_, e)| e.event.clone())
        .collect()
}

fn stream(session: u64, index: usize) -> Sender {
    Sender::Stream { session, index }
}

fn established(sim: &Sim<Node>, n: usize, id: u64) -> bool {
    sim.node(n).ua().ua.session_state(id) == Some(SessionState::Established)
}

/// The id of the first session of node `n` that notified anything.
fn first_session(sim: &Sim<Node>, n: usize) -> u64 {
    sim.node(n).ua().session_ids()[0]
}

/// A chat session from alice to bob, established; returns (alice's id, bob's id).
fn chat_session(sim: &mut Sim<Node>) -> (u64, u64) {
    sim.node_mut(BOB).ua_mut().on_incoming = OnIncoming::Accept(Duration::from_millis(50));
    at(
        sim,
        ALICE,
        0,
        Command::ConnectStreams("bob@example.com".into(), false, true),
    );
    run_until(sim, Duration::from_secs(5), |s| established(s, ALICE, 1));
    let bob = first_session(sim, BOB);
    (1, bob)
}

fn send(sim: &mut Sim<Node>, n: usize, id: u64, text: &str) -> Result<String, Error> {
    let now = sim.now;
    sim.node_mut(n).ua_mut().act(now, |ua, now| {
        ua.send_message(now, id, text.as_bytes(), "text/plain")
    })
}

#[test]
fn chat_flows_both_ways_with_delivery_and_composing() {
    let (mut sim, wire) = msrp_world(7, &["alice", "bob"], Duration::from_millis(5));
    let (a, b) = chat_session(&mut sim);
    // The MSRP connection is still being made: the message waits for it.
    let early = send(&mut sim, ALICE, a, "sent before the stream started").expect("queued");
    sim.run_until(sim.now + Duration::from_secs(2));
    assert_eq!(wire.borrow().connections(), 1);
    // The offerer connected (a=setup:active), the answerer listened.
    let alice_log = &sim.node(ALICE).ua().msrp.as_ref().expect("port").log;
    assert!(
        matches!(&alice_log[..], [MsrpOutput::Connect { to, tls: false, .. }] if to == &("10.0.0.2".to_string(), 2855)),
        "{alice_log:?}"
    );
    let bob_log = &sim.node(BOB).ua().msrp.as_ref().expect("port").log;
    assert!(
        matches!(&bob_log[..], [MsrpOutput::Listen { .. }]),
        "{bob_log:?}"
    );
    let got = events_of(&sim, BOB, Sender::Session(b));
    assert!(
        got.iter().any(
            |e| matches!(e, Event::SIPSessionGotMessage { content, message_id, .. }
            if content == "sent before the stream started" && *message_id == early)
        ),
        "{got:?}"
    );
    let got = events_of(&sim, BOB, stream(b, 0));
    assert!(got.iter().any(
        |e| matches!(e, Event::ChatStreamGotMessage { cpim_headers, .. }
        if cpim_headers.get("From").is_some_and(|f| f.contains("alice@example.com")))
    ));
    let delivered = |sim: &Sim<Node>, n: usize, id: u64, mid: &str| {
        let s = events_of(sim, n, Sender::Session(id));
        let st = events_of(sim, n, stream(id, 0));
        s.iter().any(|e| matches!(e, Event::SIPSessionDidDeliverMessage { message_id, code: 200, .. } if message_id == mid))
            && st.iter().any(|e| matches!(e, Event::ChatStreamDidDeliverMessage { message_id, .. } if message_id == mid))
            && st.iter().any(|e| matches!(e, Event::ChatStreamDidSendMessage { message_id } if message_id == mid))
    };
    assert!(delivered(&sim, ALICE, a, &early));

    // The other way.
    let reply = send(&mut sim, BOB, b, "hello alice").expect("sent");
    sim.run_until(sim.now + Duration::from_secs(1));
    assert!(delivered(&sim, BOB, b, &reply));
    assert!(events_of(&sim, ALICE, Sender::Session(a)).iter().any(
        |e| matches!(e, Event::SIPSessionGotMessage { content, .. } if content == "hello alice")
    ));

    // Is-composing, explicit and by typing.
    let now = sim.now;
    sim.node_mut(ALICE)
        .ua_mut()
        .act(now, |ua, now| {
            ua.send_composing_indication(now, a, State::Active, Some(60))
        })
        .expect("sent");
    sim.run_until(sim.now + Duration::from_secs(1));
    let composing: Vec<Event> = events_of(&sim, BOB, stream(b, 0))
        .into_iter()
        .filter(|e| matches!(e, Event::ChatStreamGotComposingIndication { .. }))
        .collect();
    assert!(
        matches!(&composing[..], [Event::ChatStreamGotComposingIndication { state, refresh: Some(60), .. }] if state == "active"),
        "{composing:?}"
    );
    let now = sim.now;
    sim.node_mut(BOB)
        .ua_mut()
        .act(now, |ua, now| ua.typing(now, b))
        .expect("typing");
    sim.run_until(sim.now + Duration::from_secs(1));
    assert!(events_of(&sim, ALICE, stream(a, 0)).iter().any(
        |e| matches!(e, Event::ChatStreamGotComposingIndication { state, .. } if state == "active")
    ));

    // Hanging up closes the connection; nothing is left undelivered.
    let t = sim.now.as_millis() + 10;
    at(&mut sim, ALICE, t, Command::End(a));
    sim.run_to_quiet(Duration::from_secs(120));
    for (n, id) in [(ALICE, a), (BOB, b)] {
        assert_eq!(
            sim.node(n).ua().ua.session_state(id),
            Some(SessionState::Terminated)
        );
        let all = events_of(&sim, n, stream(id, 0));
        assert!(!all
            .iter()
            .any(|e| matches!(e, Event::ChatStreamDidNotDeliverMessage { .. })));
        assert!(all
            .iter()
            .any(|e| matches!(e, Event::MediaStreamDidEnd { .. })));
    }
    // The side that ends first closes the connection; the other learns it closed.
    let closes = [ALICE, BOB]
        .iter()
        .flat_map(|n| sim.node(*n).ua().msrp.as_ref().expect("port").log.clone())
        .filter(|o| matches!(o, MsrpOutput::Close { .. }))
        .count();
    assert_eq!(closes, 1);
    assert!(sim.node(ALICE).ua().refused.is_empty());
}

#[test]
fn chat_added_by_reinvite_opens_its_connection() {
    let (mut sim, wire) = msrp_world(11, &["alice", "bob"], Duration::from_millis(5));
    sim.node_mut(BOB).ua_mut().on_incoming = OnIncoming::Accept(Duration::from_millis(50));
    sim.node_mut(BOB).ua_mut().on_proposal = OnProposal::Accept(Duration::from_millis(20));
    at(
        &mut sim,
        ALICE,
        0,
        Command::Connect("bob@example.com".into()),
    );
    run_until(&mut sim, Duration::from_secs(5), |s| {
        established(s, ALICE, 1)
    });
    assert_eq!(
        send(&mut sim, ALICE, 1, "no chat yet"),
        Err(Error::NoSuchStream("chat".into()))
    );
    let t = sim.now.as_millis() + 100;
    at(&mut sim, ALICE, t, Command::AddChat(1));
    run_until(&mut sim, Duration::from_secs(5), |s| {
        s.node(ALICE)
            .ua()
            .ua
            .session(1)
            .is_some_and(|x| x.has_chat())
    });
    let b = first_session(&sim, BOB);
    let id = send(&mut sim, ALICE, 1, "over the added stream").expect("queued");
    sim.run_until(sim.now + Duration::from_secs(2));
    assert_eq!(wire.borrow().connections(), 1);
    // The chat is m-line 1, after the audio.
    assert!(events_of(&sim, BOB, stream(b, 1))
        .iter()
        .any(|e| matches!(e, Event::ChatStreamGotMessage { content, .. } if content == "over the added stream")));
    assert!(events_of(&sim, ALICE, Sender::Session(1)).iter().any(
        |e| matches!(e, Event::SIPSessionDidDeliverMessage { message_id, .. } if *message_id == id)
    ));
}

/// One megabyte of deterministic bytes.
fn file_data(len: usize) -> Vec<u8> {
    let mut x: u32 = 0x1234_5678;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            x as u8
        })
        .collect()
}

fn selector(name: &str, data: &[u8]) -> FileSelector {
    FileSelector {
        name: Some(name.into()),
        media_type: None,
        size: Some(data.len() as u64),
        hash: FileHash::of(&HashAlgorithm::Sha1, data),
    }
}

/// Alice calls bob offering `data`; returns (alice's session, bob's session) once bob's
/// session is established.
fn file_session(sim: &mut Sim<Node>, data: &[u8]) -> (u64, u64) {
    sim.node_mut(BOB).ua_mut().on_incoming = OnIncoming::Accept(Duration::from_millis(50));
    let sel = selector("../../report.bin", data);
    let now = sim.now;
    let a = sim
        .node_mut(ALICE)
        .ua_mut()
        .act(now, |ua, now| ua.connect_file(now, "bob@example.com", &sel))
        .expect("a call");
    sim.node_mut(ALICE)
        .ua_mut()
        .msrp
        .as_mut()
        .expect("port")
        .files_out
        .insert(a, data.to_vec());
    run_until(sim, Duration::from_secs(5), |s| established(s, ALICE, a));
    (a, first_session(sim, BOB))
}

fn finished(sim: &Sim<Node>, n: usize, key: Key) -> Option<Option<String>> {
    events_of(sim, n, stream(key.0, key.1))
        .into_iter()
        .find_map(|e| match e {
            Event::FileTransferStreamDidFinish { error } => Some(error),
            _ => None,
        })
}

#[test]
fn one_megabyte_file_with_progress_and_verified_hash() {
    let (mut sim, _wire) = msrp_world(3, &["alice", "bob"], Duration::from_millis(2));
    let data = file_data(1024 * 1024);
    let (a, b) = file_session(&mut sim, &data);
    run_until(&mut sim, Duration::from_secs(60), |s| {
        finished(s, ALICE, (a, 0)).is_some() && finished(s, BOB, (b, 0)).is_some()
    });
    assert_eq!(finished(&sim, ALICE, (a, 0)), Some(None));
    assert_eq!(finished(&sim, BOB, (b, 0)), Some(None));
    // The receiver names the file from the selector (made safe by the shell).
    let sel = sim
        .node(BOB)
        .ua()
        .ua
        .file_selector(b, 0)
        .cloned()
        .expect("selector");
    assert_eq!(sel.name.as_deref(), Some("../../report.bin"));
    assert_eq!(
        sipsimple::stream::unique_file_name(sel.name.as_deref().unwrap_or_default(), |_| false)
            .as_deref(),
        Some("report.bin")
    );
    let port = sim.node(BOB).ua().msrp.as_ref().expect("port");
    assert!(
        port.files_in.get(&(b, 0)) == Some(&data),
        "the file arrived whole"
    );
    // Progress both ways, up to the whole size.
    let sent: Vec<u64> = events_of(&sim, ALICE, stream(a, 0))
        .into_iter()
        .filter_map(|e| match e {
            Event::FileTransferStreamDidDeliverChunk {
                transferred_bytes,
                file_size,
                ..
            } => {
                assert_eq!(file_size, data.len() as u64);
                Some(transferred_bytes)
            }
            _ => None,
        })
        .collect();
    assert!(sent.len() > 100 && sent.windows(2).all(|w| w[0] < w[1]));
    assert_eq!(sent.last(), Some(&(data.len() as u64)));
    let got: Vec<u64> = events_of(&sim, BOB, stream(b, 0))
        .into_iter()
        .filter_map(|e| match e {
            Event::FileTransferStreamGotChunk {
                transferred_bytes, ..
            } => Some(transferred_bytes),
            _ => None,
        })
        .collect();
    assert_eq!(got.last(), Some(&(data.len() as u64)));
    // The sender hangs up once done.
    let t = sim.now.as_millis() + 10;
    at(&mut sim, ALICE, t, Command::End(a));
    sim.run_to_quiet(Duration::from_secs(120));
    assert_eq!(
        sim.node(BOB).ua().ua.session_state(b),
        Some(SessionState::Terminated)
    );
}

#[test]
fn dropped_connection_fails_messages_and_transfers() {
    // A chat message in flight when the connection drops.
    let (mut sim, wire) = msrp_world(5, &["alice", "bob"], Duration::from_millis(5));
    let (a, b) = chat_session(&mut sim);
    sim.run_until(sim.now + Duration::from_secs(1));
    let lost = send(&mut sim, ALICE, a, "into the void").expect("sent");
    let now = sim.now;
    wire.borrow_mut().cut_all(now);
    sim.run_until(sim.now + Duration::from_secs(1));
    let s = events_of(&sim, ALICE, Sender::Session(a));
    assert!(
        s.iter().any(|e| matches!(e, Event::SIPSessionDidNotDeliverMessage { message_id, code: 408, .. } if *message_id == lost)),
        "{s:?}"
    );
    assert!(events_of(&sim, ALICE, stream(a, 0))
        .iter()
        .any(|e| matches!(e, Event::ChatStreamDidNotDeliverMessage { message_id, .. } if *message_id == lost)));
    assert!(!events_of(&sim, BOB, Sender::Session(b))
        .iter()
        .any(|e| matches!(e, Event::SIPSessionGotMessage { .. })));
    // The connection is gone: nothing more can be sent on it.
    assert_eq!(
        send(&mut sim, ALICE, a, "again"),
        Err(Error::NoSuchStream("chat".into()))
    );

    // A file transfer cut in the middle.
    let (mut sim, wire) = msrp_world(6, &["alice", "bob"], Duration::from_millis(2));
    let data = file_data(1024 * 1024);
    let (a, b) = file_session(&mut sim, &data);
    run_until(&mut sim, Duration::from_secs(60), |s| {
        events_of(s, BOB, stream(b, 0)).iter().any(|e| {
            matches!(e, Event::FileTransferStreamGotChunk { transferred_bytes, .. } if *transferred_bytes > 100_000)
        })
    });
    let now = sim.now;
    wire.borrow_mut().cut_all(now);
    sim.run_until(sim.now + Duration::from_secs(1));
    let alice = finished(&sim, ALICE, (a, 0)).expect("the sender finished");
    let bob = finished(&sim, BOB, (b, 0)).expect("the receiver finished");
    assert!(alice.is_some() && bob.is_some(), "{alice:?} {bob:?}");
    assert!(events_of(&sim, ALICE, stream(a, 0))
        .iter()
        .any(|e| matches!(e, Event::FileTransferStreamDidNotDeliverChunk { .. })));
    let got = sim.node(BOB).ua().msrp.as_ref().expect("port").files_in[&(b, 0)].len();
    assert!(got < data.len());
}

#[test]
fn relay_path_goes_first_and_the_connection_to_the_relay() {
    let (mut sim, _wire) = msrp_world(9, &["alice", "bob"], Duration::from_millis(5));
    let relay = "msrps://relay.example.com:2855/r3l4y;tcp";
    // The shell authenticated to its relay and configured its Use-Path (RFC 4976).
    let mut cfg = sipsimple::AccountConfig::new("alice@example.com", "secret");
    cfg.transport = sipsimple::Transport::Tcp;
    cfg.msrp_listen = Some(("10.0.0.1".into(), 2855));
    cfg.msrp_tls = false;
    cfg.msrp_relay_path = vec![relay.to_string()];
    let seed = 99;
    sim.node_mut(ALICE).ua_mut().ua = sipsimple::UserAgent::new(cfg, seed).expect("valid");
    let contact = sim.node(ALICE).ua().ua.contact().clone();
    sim.node_mut(0).proxy_mut().bind(
        "alice",
        contact,
        sipsimple::transaction::Dest::new(
            sipsimple::transaction::TransportKind::Tcp,
            "10.0.0.1",
            5060,
        ),
    );
    // Bob calls alice: alice answers passive by a=setup, but connects to her relay.
    sim.node_mut(ALICE).ua_mut().on_incoming = OnIncoming::Accept(Duration::from_millis(50));
    at(
        &mut sim,
        BOB,
        0,
        Command::ConnectStreams("alice@example.com".into(), false, true),
    );
    sim.run_until(at_ms(3000));
    let a = first_session(&sim, ALICE);
    let sdp = sim
        .node(ALICE)
        .ua()
        .ua
        .local_sdp(a)
        .expect("answered")
        .to_string();
    assert!(
        sdp.contains(&format!("a=path:{relay} msrp://10.0.0.1:2855/")),
        "{sdp}"
    );
    let log = &sim.node(ALICE).ua().msrp.as_ref().expect("port").log;
    assert!(
        matches!(log.first(), Some(MsrpOutput::Connect { to, tls: true, .. }) if to == &("relay.example.com".to_string(), 2855)),
        "{log:?}"
    );
}
