//! Recording control by SIP INFO (`application/vnd.sipsimple.recording+json`) with the
//! simulator's proxy playing the gateway's recorder: the seed's notification sequences for
//! `start_recording_audio`/`stop_recording_audio`, the default file name, the recorder's
//! own file name, a refused start, the session ending while recording, the refusals, and
//! the recording INFOs sharing the one-INFO-at-a-time queue with DTMF.

mod sim;

use sim::proxy::Recorder;
use sim::ua::{after_start, at, at_ms, world, Command, Node, OnIncoming};
use sim::{NetConfig, Sim};
use sipsimple::sip::Message;
use sipsimple::ua::Transport;
use sipsimple::Error;
use std::time::Duration;

const PROXY: usize = 0;
const ALICE: usize = 1;
const BOB: usize = 2;

/// The default name at 5 s of virtual time (see `sim::ua::wall_clock`).
const DEFAULT_NAME: &str = "alice-bob-20231114-221325.wav";

/// alice calls bob, who answers after 1 s; the proxy records into `/rec/` unless `recorder`
/// says otherwise.
fn established(seed: u64, recorder: Recorder) -> Sim<Node> {
    let mut sim = world(
        NetConfig::default(),
        seed,
        Transport::Ws,
        &["alice", "bob"],
        |p| {
            p.record_route = true;
            p.recorder = Some(recorder);
        },
    );
    sim.node_mut(BOB).ua_mut().on_incoming = OnIncoming::Accept(Duration::from_secs(1));
    at(
        &mut sim,
        ALICE,
        0,
        Command::Connect("bob@example.com".into()),
    );
    sim
}

fn recorder(dir: Option<&str>, status: Option<u16>) -> Recorder {
    Recorder {
        dir: dir.map(str::to_string),
        status,
        commands: Vec::new(),
    }
}

fn file_name(sim: &Sim<Node>, node: usize) -> Option<String> {
    sim.node(node)
        .ua()
        .ua
        .session(1)
        .and_then(|s| s.audio_recording_file_name())
        .map(str::to_string)
}

fn commands(sim: &Sim<Node>) -> Vec<String> {
    sim.node(PROXY)
        .proxy()
        .recorder
        .as_ref()
        .map(|r| r.commands.clone())
        .unwrap_or_default()
}

#[test]
fn start_and_stop_with_the_recorders_file_name() {
    let mut sim = established(1, recorder(Some("/var/spool/rec/"), None));
    at(&mut sim, ALICE, 5_000, Command::StartRecording(1, None));
    sim.run_until(at_ms(6_000));
    let full = format!("/var/spool/rec/{DEFAULT_NAME}");
    assert_eq!(file_name(&sim, ALICE).as_deref(), Some(full.as_str()));
    at(&mut sim, ALICE, 8_000, Command::StopRecording(1));
    sim.run_until(at_ms(9_000));
    assert_eq!(file_name(&sim, ALICE), None);
    at(&mut sim, ALICE, 10_000, Command::End(1));
    sim.run_to_quiet(Duration::from_secs(60));
    assert_eq!(
        after_start(&sim, ALICE),
        [
            format!("WillStartRecording({DEFAULT_NAME})"),
            format!("DidStartRecording({full})"),
            format!("WillStopRecording({full})"),
            format!("DidStopRecording({full})"),
            "WillEnd".into(),
            "ESTABLISHED>TERMINATING".into(),
            "TERMINATING>TERMINATED".into(),
            "DidEnd(local)".into(),
        ]
    );
    // The recorder is the gateway: bob never sees the INFOs.
    assert_eq!(
        after_start(&sim, BOB),
        ["ESTABLISHED>TERMINATED", "DidEnd(remote)"]
    );
    assert_eq!(
        commands(&sim),
        [
            format!(r#"{{"action":"start","file_name":"{DEFAULT_NAME}"}}"#),
            r#"{"action":"stop"}"#.to_string(),
        ]
    );
    let info = sim
        .net
        .sent_with("INFO ")
        .first()
        .map(|r| Message::parse(&r.bytes).expect("valid"))
        .expect("an INFO");
    assert_eq!(
        info.header("Content-Type"),
        Some("application/vnd.sipsimple.recording+json")
    );
}

#[test]
fn a_given_name_is_used_and_a_2xx_without_body_confirms_it() {
    let mut sim = established(2, recorder(None, None));
    at(
        &mut sim,
        BOB,
        5_000,
        Command::StartRecording(1, Some("my call.wav".into())),
    );
    at(&mut sim, BOB, 7_000, Command::End(1));
    sim.run_to_quiet(Duration::from_secs(60));
    // The session ended while recording: the recording stops first.
    assert_eq!(
        after_start(&sim, BOB),
        [
            "WillStartRecording(my call.wav)",
            "DidStartRecording(my call.wav)",
            "WillEnd",
            "ESTABLISHED>TERMINATING",
            "WillStopRecording(my call.wav)",
            "DidStopRecording(my call.wav)",
            "TERMINATING>TERMINATED",
            "DidEnd(local)",
        ]
    );
    assert_eq!(file_name(&sim, BOB), None);
    assert_eq!(
        commands(&sim),
        [r#"{"action":"start","file_name":"my call.wav"}"#]
    );
}

#[test]
fn the_peer_hanging_up_stops_the_recording_before_did_end() {
    let mut sim = established(3, recorder(Some("/rec/"), None));
    at(&mut sim, ALICE, 5_000, Command::StartRecording(1, None));
    at(&mut sim, BOB, 7_000, Command::End(1));
    sim.run_to_quiet(Duration::from_secs(60));
    let full = format!("/rec/{DEFAULT_NAME}");
    assert_eq!(
        after_start(&sim, ALICE),
        [
            format!("WillStartRecording({DEFAULT_NAME})"),
            format!("DidStartRecording({full})"),
            format!("WillStopRecording({full})"),
            format!("DidStopRecording({full})"),
            "ESTABLISHED>TERMINATED".into(),
            "DidEnd(remote)".into(),
        ]
    );
    // Stopping is the gateway's business once the call ends: no stop INFO.
    assert_eq!(commands(&sim).len(), 1);
}

#[test]
fn a_refused_start_leaves_no_recording_and_may_be_retried() {
    let mut sim = established(4, recorder(Some("/rec/"), Some(503)));
    at(
        &mut sim,
        ALICE,
        5_000,
        Command::StartRecording(1, Some("a.wav".into())),
    );
    sim.run_until(at_ms(6_000));
    assert_eq!(file_name(&sim, ALICE), None);
    assert_eq!(after_start(&sim, ALICE), ["WillStartRecording(a.wav)"]);
    // The recorder is back: the start may be asked again.
    if let Some(r) = sim.node_mut(PROXY).proxy_mut().recorder.as_mut() {
        r.status = None;
    }
    at(
        &mut sim,
        ALICE,
        7_000,
        Command::StartRecording(1, Some("b.wav".into())),
    );
    sim.run_until(at_ms(8_000));
    assert_eq!(file_name(&sim, ALICE).as_deref(), Some("/rec/b.wav"));
    assert_eq!(
        sim.node(ALICE).ua().ua.session_state(1),
        Some(sipsimple::SessionState::Established)
    );
    assert!(sim.node(ALICE).ua().refused.is_empty());
}

#[test]
fn recording_commands_are_refused_when_they_make_no_sense() {
    let mut sim = established(5, recorder(Some("/rec/"), None));
    at(&mut sim, ALICE, 500, Command::StartRecording(1, None)); // CALLING
    at(&mut sim, ALICE, 5_000, Command::StopRecording(1)); // not recording
    at(&mut sim, ALICE, 5_000, Command::StartRecording(1, None));
    at(&mut sim, ALICE, 5_000, Command::StartRecording(1, None)); // starting
    at(&mut sim, ALICE, 5_000, Command::StopRecording(1)); // not confirmed yet
    at(&mut sim, ALICE, 6_000, Command::StartRecording(1, None)); // recording
    at(&mut sim, ALICE, 7_000, Command::StartRecording(9, None));
    at(&mut sim, ALICE, 8_000, Command::End(1));
    at(&mut sim, ALICE, 9_000, Command::StopRecording(1)); // TERMINATED
    sim.run_to_quiet(Duration::from_secs(60));
    let refused: Vec<(u64, Error)> = sim
        .node(ALICE)
        .ua()
        .refused
        .iter()
        .map(|(t, _, e)| (t.as_millis(), e.clone()))
        .collect();
    assert_eq!(
        refused,
        [
            (500, Error::InvalidState("CALLING")),
            (5_000, Error::NotRecording),
            (5_000, Error::AlreadyRecording),
            (5_000, Error::NotRecording),
            (6_000, Error::AlreadyRecording),
            (7_000, Error::NoSuchSession(9)),
            (9_000, Error::InvalidState("TERMINATED")),
        ]
    );
}

#[test]
fn recording_and_dtmf_share_one_info_at_a_time() {
    let mut sim = established(6, recorder(Some("/rec/"), None));
    at(&mut sim, ALICE, 5_000, Command::SendDtmf(1, '1'));
    at(&mut sim, ALICE, 5_000, Command::StartRecording(1, None));
    at(&mut sim, ALICE, 5_000, Command::SendDtmf(1, '2'));
    at(&mut sim, ALICE, 9_000, Command::End(1));
    sim.run_to_quiet(Duration::from_secs(60));
    let infos: Vec<(u64, String)> = sim
        .net
        .sent_with("INFO ")
        .into_iter()
        .filter(|r| r.from.host == "10.0.0.1")
        .map(|r| {
            let m = Message::parse(&r.bytes).expect("valid");
            (
                r.sent.as_millis(),
                String::from_utf8_lossy(&m.body).into_owned(),
            )
        })
        .collect();
    assert_eq!(infos.len(), 3);
    // Each leaves when the previous one's 2xx is back (two hops of 10 ms each way).
    assert_eq!(infos[0], (5_000, "Signal=1\r\nDuration=160\r\n".into()));
    assert!(infos[1].1.contains(r#""action":"start""#));
    assert_eq!(infos[1].0, 5_040);
    assert_eq!(infos[2], (5_060, "Signal=2\r\nDuration=160\r\n".into()));
    let bob_dtmf: Vec<String> = after_start(&sim, BOB)
        .into_iter()
        .filter(|e| e.starts_with("DTMF"))
        .collect();
    assert_eq!(bob_dtmf, ["DTMF(1)", "DTMF(2)"]);
}

#[test]
fn a_refused_stop_keeps_the_recording_until_the_call_ends() {
    let mut sim = established(7, recorder(Some("/rec/"), None));
    at(
        &mut sim,
        ALICE,
        5_000,
        Command::StartRecording(1, Some("x.wav".into())),
    );
    sim.run_until(at_ms(6_000));
    if let Some(r) = sim.node_mut(PROXY).proxy_mut().recorder.as_mut() {
        r.status = Some(500);
    }
    at(&mut sim, ALICE, 7_000, Command::StopRecording(1));
    sim.run_until(at_ms(8_000));
    assert_eq!(file_name(&sim, ALICE).as_deref(), Some("/rec/x.wav"));
    at(&mut sim, ALICE, 9_000, Command::End(1));
    sim.run_to_quiet(Duration::from_secs(60));
    assert_eq!(
        after_start(&sim, ALICE),
        [
            "WillStartRecording(x.wav)",
            "DidStartRecording(/rec/x.wav)",
            "WillStopRecording(/rec/x.wav)",
            "WillEnd",
            "ESTABLISHED>TERMINATING",
            "WillStopRecording(/rec/x.wav)",
            "DidStopRecording(/rec/x.wav)",
            "TERMINATING>TERMINATED",
            "DidEnd(local)",
        ]
    );
}
