//! Calls between simulated user agents through a stateless proxy (RFC 3261 §13-§16): accept,
//! reject, busy, CANCEL, the callee that never answers (Timer B), the lost ACK (§13.3.1.4),
//! digest on INVITE (§22.3) and `end` in every state, each checking the exact notification
//! sequence of the seed's Session on both ends.

mod sim;

use sim::ua::{at_ms, world, Command, Node, OnIncoming};
use sim::{NetConfig, Sim};
use sipsimple::ua::{SessionDirection, Transport};
use sipsimple::{Error, SessionState};
use std::time::Duration;

const ALICE: usize = 1;
const BOB: usize = 2;

fn sim() -> Sim<Node> {
    world(
        NetConfig::default(),
        1,
        Transport::Ws,
        &["alice", "bob"],
        |_| {},
    )
}

fn call(sim: &mut Sim<Node>) {
    sim.node_mut(ALICE)
        .ua_mut()
        .at(at_ms(0), Command::Connect("bob@example.com".into()));
}

fn trace(sim: &Sim<Node>, node: usize) -> Vec<String> {
    sim.node(node).ua().trace(1)
}

/// No timer, transaction or command left anywhere.
fn assert_quiet(sim: &Sim<Node>) {
    for i in 1..sim.len() {
        assert_eq!(
            sim.node(i).ua().ua.poll_timeout(),
            None,
            "node {i} has a timer"
        );
    }
}

#[test]
fn accepted_call_ended_by_the_caller() {
    let mut sim = sim();
    sim.node_mut(BOB).ua_mut().on_incoming = OnIncoming::Accept(Duration::from_secs(2));
    call(&mut sim);
    sim.node_mut(ALICE)
        .ua_mut()
        .at(at_ms(10_000), Command::End(1));
    sim.run_to_quiet(Duration::from_secs(120));
    assert_eq!(
        trace(&sim, ALICE),
        [
            r#"NewOutgoing["audio"]"#,
            "NULL>CALLING",
            "Ringing",
            "WillStart",
            "CALLING>ESTABLISHED",
            "DidStart",
            "WillEnd",
            "ESTABLISHED>TERMINATING",
            "TERMINATING>TERMINATED",
            "DidEnd(local)"
        ]
    );
    assert_eq!(
        trace(&sim, BOB),
        [
            r#"NewIncoming["audio"]"#,
            "NULL>INCOMING",
            "INCOMING>ACCEPTING",
            "WillStart",
            "ACCEPTING>ESTABLISHED",
            "DidStart",
            "ESTABLISHED>TERMINATED",
            "DidEnd(remote)"
        ]
    );
    // The attributes of both ends.
    let a = sim
        .node(ALICE)
        .ua()
        .ua
        .session(1)
        .expect("kept after the end");
    let b = sim
        .node(BOB)
        .ua()
        .ua
        .session(1)
        .expect("kept after the end");
    assert_eq!(a.state(), SessionState::Terminated);
    assert_eq!(a.direction(), SessionDirection::Outgoing);
    assert_eq!(b.direction(), SessionDirection::Incoming);
    assert_eq!(
        a.start_time(),
        Some(at_ms(2_040)),
        "the 2xx arrives at 2.03 s + ACK"
    );
    assert_eq!(b.start_time(), Some(at_ms(2_060)), "the ACK arrives");
    assert_eq!(a.stop_time(), Some(at_ms(10_040)));
    assert_eq!(b.stop_time(), Some(at_ms(10_020)));
    assert_eq!(a.remote_user_agent(), Some("sim-bob@example.com"));
    assert_eq!(b.remote_user_agent(), Some("sim-alice@example.com"));
    assert_eq!(a.caller_uri().to_string(), "sip:alice@example.com");
    assert_eq!(a.callee_uri().to_string(), "sip:bob@example.com");
    assert_eq!(b.caller_uri().to_string(), "sip:alice@example.com");
    assert_eq!(b.callee_uri(), b.local_uri());
    assert_eq!(a.local_sdp(), b.remote_sdp(), "alice's offer reached bob");
    assert_eq!(a.remote_sdp(), b.local_sdp(), "bob's answer reached alice");
    assert!(!a.on_hold() && !b.on_hold());
    assert_quiet(&sim);
}

#[test]
fn accepted_call_ended_by_the_callee() {
    let mut sim = sim();
    sim.node_mut(BOB).ua_mut().on_incoming = OnIncoming::Accept(Duration::from_secs(1));
    call(&mut sim);
    sim.node_mut(BOB).ua_mut().at(at_ms(5_000), Command::End(1));
    sim.run_to_quiet(Duration::from_secs(120));
    assert_eq!(
        trace(&sim, ALICE)[6..],
        ["ESTABLISHED>TERMINATED", "DidEnd(remote)"]
    );
    assert_eq!(
        trace(&sim, BOB)[6..],
        [
            "WillEnd",
            "ESTABLISHED>TERMINATING",
            "TERMINATING>TERMINATED",
            "DidEnd(local)"
        ]
    );
    assert_quiet(&sim);
}

#[test]
fn busy_and_declined_calls_fail_with_486_and_603() {
    for (busy, code, reason) in [(true, 486, "Busy Here"), (false, 603, "Decline")] {
        let mut sim = sim();
        sim.node_mut(BOB).ua_mut().on_incoming =
            OnIncoming::Reject(Duration::from_millis(500), busy);
        call(&mut sim);
        sim.run_to_quiet(Duration::from_secs(120));
        assert_eq!(
            trace(&sim, ALICE),
            [
                r#"NewOutgoing["audio"]"#.to_string(),
                "NULL>CALLING".into(),
                "Ringing".into(),
                format!("DidFail(remote {code} {reason})"),
                "CALLING>TERMINATED".into(),
                "DidEnd(remote)".into(),
            ]
        );
        assert_eq!(
            trace(&sim, BOB),
            [
                r#"NewIncoming["audio"]"#,
                "NULL>INCOMING",
                "WillEnd",
                "INCOMING>TERMINATING",
                "TERMINATING>TERMINATED",
                "DidEnd(local)"
            ]
        );
        assert_eq!(
            sim.net.sent_with("ACK").len(),
            2,
            "the failure is ACKed hop by hop"
        );
        assert_quiet(&sim);
    }
}

#[test]
fn caller_cancels_while_ringing() {
    let mut sim = sim();
    call(&mut sim);
    sim.node_mut(ALICE)
        .ua_mut()
        .at(at_ms(3_000), Command::End(1));
    sim.run_to_quiet(Duration::from_secs(120));
    assert_eq!(
        trace(&sim, ALICE),
        [
            r#"NewOutgoing["audio"]"#,
            "NULL>CALLING",
            "Ringing",
            "WillEnd",
            "CALLING>TERMINATING",
            "TERMINATING>TERMINATED",
            "DidEnd(local)"
        ]
    );
    assert_eq!(
        trace(&sim, BOB),
        [
            r#"NewIncoming["audio"]"#,
            "NULL>INCOMING",
            "DidFail(remote 487 Request Terminated)",
            "INCOMING>TERMINATED",
            "DidEnd(remote)"
        ]
    );
    assert_eq!(sim.net.sent_with("CANCEL").len(), 2);
    assert_eq!(sim.net.sent_with("SIP/2.0 487").len(), 2);
    assert_quiet(&sim);
}

#[test]
fn hanging_up_before_any_provisional_cancels_after_the_first() {
    let mut sim = sim();
    call(&mut sim);
    // alice hangs up before bob's 180 can arrive (at 40 ms): the CANCEL waits for it.
    sim.node_mut(ALICE).ua_mut().at(at_ms(5), Command::End(1));
    sim.run_to_quiet(Duration::from_secs(120));
    let cancel = sim.net.sent_with("CANCEL");
    assert_eq!(cancel.first().map(|r| r.sent), Some(at_ms(40)));
    assert_eq!(
        trace(&sim, ALICE)[2..],
        [
            "WillEnd",
            "CALLING>TERMINATING",
            "TERMINATING>TERMINATED",
            "DidEnd(local)"
        ]
    );
    assert_eq!(
        trace(&sim, BOB)[2],
        "DidFail(remote 487 Request Terminated)"
    );
}

#[test]
fn unreachable_callee_fails_with_408_after_timer_b() {
    let mut sim = sim();
    sim.net.set_filter(|_, p| p.to.host != "10.0.0.2");
    call(&mut sim);
    sim.run_to_quiet(Duration::from_secs(120));
    assert_eq!(
        trace(&sim, ALICE),
        [
            r#"NewOutgoing["audio"]"#,
            "NULL>CALLING",
            "DidFail(local 408 Request Timeout)",
            "CALLING>TERMINATED",
            "DidEnd(local)"
        ]
    );
    let ended = sim
        .node(ALICE)
        .ua()
        .ua
        .session(1)
        .and_then(|s| s.stop_time());
    assert_eq!(ended, Some(at_ms(32_000)), "Timer B is 64·T1");
    assert!(sim.node(BOB).ua().events.is_empty());
}

#[test]
fn lost_acks_make_the_callee_hang_up_after_64_t1() {
    let mut sim = sim();
    sim.node_mut(BOB).ua_mut().on_incoming = OnIncoming::Accept(Duration::from_secs(1));
    sim.net
        .set_filter(|_, p| !(p.first_line().starts_with("ACK") && p.to.host == "10.0.0.2"));
    call(&mut sim);
    sim.run_to_quiet(Duration::from_secs(120));
    assert_eq!(
        trace(&sim, BOB),
        [
            r#"NewIncoming["audio"]"#,
            "NULL>INCOMING",
            "INCOMING>ACCEPTING",
            "WillStart",
            "DidFail(local 408 No ACK received)",
            "ACCEPTING>TERMINATED",
            "DidEnd(local)"
        ]
    );
    assert_eq!(
        trace(&sim, ALICE)[3..],
        [
            "WillStart",
            "CALLING>ESTABLISHED",
            "DidStart",
            "ESTABLISHED>TERMINATED",
            "DidEnd(remote)"
        ]
    );
    // Bob's 2xx went out at 1.02 s and was retransmitted until 64·T1 later.
    let oks: Vec<_> = sim
        .net
        .sent_with("SIP/2.0 200")
        .into_iter()
        .filter(|r| r.from.host == "10.0.0.2")
        .map(|r| r.sent.as_millis())
        .collect();
    assert_eq!(oks[..5], [1_020, 1_520, 2_520, 4_520, 8_520]);
    // Each retransmission got an ACK from alice (all lost on the way to bob).
    let acks = sim
        .net
        .sent_with("ACK")
        .into_iter()
        .filter(|r| r.from.host == "10.0.0.1")
        .count();
    assert_eq!(acks, oks.len());
    assert_quiet(&sim);
}

#[test]
fn invite_challenged_with_407_is_resent_with_credentials() {
    let mut sim = world(
        NetConfig::default(),
        2,
        Transport::Ws,
        &["alice", "bob"],
        |p| {
            p.challenge_invites = true;
            p.users.insert("alice".into(), "secret".into());
        },
    );
    sim.node_mut(BOB).ua_mut().on_incoming = OnIncoming::Accept(Duration::from_secs(1));
    call(&mut sim);
    sim.node_mut(ALICE)
        .ua_mut()
        .at(at_ms(5_000), Command::End(1));
    sim.run_to_quiet(Duration::from_secs(120));
    assert_eq!(
        trace(&sim, ALICE),
        [
            r#"NewOutgoing["audio"]"#,
            "NULL>CALLING",
            "Ringing",
            "WillStart",
            "CALLING>ESTABLISHED",
            "DidStart",
            "WillEnd",
            "ESTABLISHED>TERMINATING",
            "TERMINATING>TERMINATED",
            "DidEnd(local)"
        ]
    );
    let answered: Vec<(u16, String)> = sim
        .node(0)
        .proxy()
        .answered
        .iter()
        .map(|(_, c, m)| (*c, m.clone()))
        .collect();
    assert_eq!(answered, [(407, "INVITE".to_string())]);
    let invites: Vec<_> = sim
        .net
        .sent_with("INVITE")
        .into_iter()
        .filter(|r| r.from.host == "10.0.0.1")
        .collect();
    assert_eq!(invites.len(), 2);
    let second = sipsimple::sip::Message::parse(&invites[1].bytes).expect("valid");
    assert_eq!(second.header("CSeq"), Some("2 INVITE"));
    assert!(second.header("Proxy-Authorization").is_some());
    // The ACK of the 407 is hop-by-hop, the ACK of the 2xx repeats the credentials (§13.2.2.4).
    let acks: Vec<sipsimple::sip::Message> = sim
        .net
        .sent_with("ACK")
        .into_iter()
        .filter(|r| r.from.host == "10.0.0.1")
        .map(|r| sipsimple::sip::Message::parse(&r.bytes).expect("valid"))
        .collect();
    assert_eq!(acks.len(), 2);
    assert_eq!(acks[0].header("CSeq"), Some("1 ACK"));
    assert_eq!(acks[0].header("Proxy-Authorization"), None);
    assert_eq!(acks[1].header("CSeq"), Some("2 ACK"));
    assert_eq!(
        acks[1].header("Proxy-Authorization"),
        second.header("Proxy-Authorization")
    );
    assert_eq!(trace(&sim, BOB).len(), 8);
}

#[test]
fn invite_with_the_wrong_password_fails_with_407() {
    let mut sim = world(
        NetConfig::default(),
        2,
        Transport::Ws,
        &["alice", "bob"],
        |p| {
            p.challenge_invites = true;
            p.users.insert("alice".into(), "not-secret".into());
        },
    );
    call(&mut sim);
    sim.run_to_quiet(Duration::from_secs(120));
    assert_eq!(
        trace(&sim, ALICE),
        [
            r#"NewOutgoing["audio"]"#,
            "NULL>CALLING",
            "DidFail(remote 407 Proxy Authentication Required)",
            "CALLING>TERMINATED",
            "DidEnd(remote)"
        ]
    );
    assert_eq!(
        sim.node(0).proxy().answered.len(),
        2,
        "one answer per nonce"
    );
}

#[test]
fn end_while_accepting_hangs_up_after_the_ack() {
    let mut sim = sim();
    sim.node_mut(BOB).ua_mut().on_incoming = OnIncoming::Accept(Duration::from_secs(1));
    call(&mut sim);
    // The 2xx leaves bob at 1.02 s; the ACK is back at 1.06 s.
    sim.node_mut(BOB).ua_mut().at(at_ms(1_030), Command::End(1));
    sim.run_to_quiet(Duration::from_secs(120));
    assert_eq!(
        trace(&sim, BOB)[2..],
        [
            "INCOMING>ACCEPTING",
            "WillStart",
            "WillEnd",
            "ACCEPTING>TERMINATING",
            "TERMINATING>TERMINATED",
            "DidEnd(local)"
        ]
    );
    let bye = sim.net.sent_with("BYE");
    assert_eq!(
        bye.first().map(|r| r.sent),
        Some(at_ms(1_060)),
        "BYE right after the ACK"
    );
    assert_eq!(
        trace(&sim, ALICE)[6..],
        ["ESTABLISHED>TERMINATED", "DidEnd(remote)"]
    );
}

#[test]
fn end_while_incoming_declines_and_commands_check_the_state() {
    let mut sim = sim();
    call(&mut sim);
    sim.node_mut(BOB)
        .ua_mut()
        .at(at_ms(1_000), Command::Hold(1));
    sim.node_mut(BOB).ua_mut().at(at_ms(1_000), Command::End(1));
    sim.node_mut(BOB)
        .ua_mut()
        .at(at_ms(2_000), Command::Accept(1));
    sim.node_mut(BOB).ua_mut().at(at_ms(2_000), Command::End(1));
    sim.node_mut(ALICE)
        .ua_mut()
        .at(at_ms(2_000), Command::Accept(1));
    sim.node_mut(ALICE)
        .ua_mut()
        .at(at_ms(2_000), Command::Reject(7, true));
    sim.run_to_quiet(Duration::from_secs(120));
    assert_eq!(
        trace(&sim, ALICE)[2..],
        [
            "Ringing",
            "DidFail(remote 603 Decline)",
            "CALLING>TERMINATED",
            "DidEnd(remote)"
        ]
    );
    let refused: Vec<(u64, Error)> = sim
        .node(BOB)
        .ua()
        .refused
        .iter()
        .map(|(t, _, e)| (t.as_millis(), e.clone()))
        .collect();
    assert_eq!(
        refused,
        [
            (1_000, Error::InvalidState("INCOMING")),
            (2_000, Error::InvalidState("TERMINATED")),
            (2_000, Error::InvalidState("TERMINATED")),
        ]
    );
    let refused: Vec<Error> = sim
        .node(ALICE)
        .ua()
        .refused
        .iter()
        .map(|(_, _, e)| e.clone())
        .collect();
    assert_eq!(
        refused,
        [Error::InvalidState("TERMINATED"), Error::NoSuchSession(7)]
    );
}

#[test]
fn unknown_callee_gets_404_from_the_proxy() {
    let mut sim = sim();
    sim.node_mut(ALICE)
        .ua_mut()
        .at(at_ms(0), Command::Connect("carol@example.com".into()));
    sim.run_to_quiet(Duration::from_secs(60));
    assert_eq!(trace(&sim, ALICE)[2], "DidFail(remote 404 Not Found)");
}

#[test]
fn call_over_udp_with_30_percent_loss() {
    let net = NetConfig {
        loss: 0.3,
        jitter: Duration::from_millis(20),
        ..NetConfig::default()
    };
    let mut sim = world(net, 7, Transport::Udp, &["alice", "bob"], |p| {
        p.record_route = true;
    });
    sim.node_mut(BOB).ua_mut().on_incoming = OnIncoming::Accept(Duration::from_secs(2));
    call(&mut sim);
    sim.node_mut(ALICE)
        .ua_mut()
        .at(at_ms(20_000), Command::Hold(1));
    sim.node_mut(ALICE)
        .ua_mut()
        .at(at_ms(40_000), Command::Unhold(1));
    sim.node_mut(ALICE)
        .ua_mut()
        .at(at_ms(60_000), Command::End(1));
    sim.run_to_quiet(Duration::from_secs(300));
    assert_eq!(
        trace(&sim, ALICE),
        [
            r#"NewOutgoing["audio"]"#,
            "NULL>CALLING",
            "Ringing",
            "WillStart",
            "CALLING>ESTABLISHED",
            "DidStart",
            "Hold(local)",
            "Unhold(local)",
            "WillEnd",
            "ESTABLISHED>TERMINATING",
            "TERMINATING>TERMINATED",
            "DidEnd(local)"
        ]
    );
    assert_eq!(
        trace(&sim, BOB),
        [
            r#"NewIncoming["audio"]"#,
            "NULL>INCOMING",
            "INCOMING>ACCEPTING",
            "WillStart",
            "ACCEPTING>ESTABLISHED",
            "DidStart",
            "Hold(remote)",
            "Unhold(remote)",
            "ESTABLISHED>TERMINATED",
            "DidEnd(remote)"
        ]
    );
    let lost = sim
        .net
        .log
        .iter()
        .filter(|r| r.fate == sim::Fate::Lost)
        .count();
    assert!(lost > 5, "the network did lose packets ({lost})");
    // Retransmissions happened: more INVITEs left alice than the two she meant.
    let invites = sim
        .net
        .sent_with("INVITE")
        .into_iter()
        .filter(|r| r.from.host == "10.0.0.1")
        .count();
    assert!(invites > 3, "{invites} INVITEs");
    assert_quiet(&sim);
}
