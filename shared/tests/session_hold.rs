//! Hold and unhold by re-INVITE between simulated user agents (RFC 3261 §14, RFC 3264 §8.4):
//! each side in turn, both at once (glare: 491 and the randomised retry of §14.1), and a BYE
//! crossing a re-INVITE (§15), with the exact notification sequences.

mod sim;

use sim::ua::{after_start, at, at_ms, world, Command, Node, OnIncoming};
use sim::{NetConfig, Sim};
use sipsimple::sdp::{Direction, SessionDescription};
use sipsimple::ua::Transport;
use sipsimple::Error;
use std::time::Duration;

const ALICE: usize = 1;
const BOB: usize = 2;

/// alice calls bob, who answers after 1 s: established at 1.06 s on both ends.
fn established(seed: u64) -> Sim<Node> {
    let mut sim = world(
        NetConfig::default(),
        seed,
        Transport::Ws,
        &["alice", "bob"],
        |p| {
            p.record_route = true;
        },
    );
    sim.node_mut(BOB).ua_mut().on_incoming = OnIncoming::Accept(Duration::from_secs(1));
    sim.node_mut(ALICE)
        .ua_mut()
        .at(at_ms(0), Command::Connect("bob@example.com".into()));
    sim
}

/// The direction of the first m-line of a description.
fn direction(sdp: Option<&str>) -> Direction {
    let sd: SessionDescription = sdp.expect("an SDP").parse().expect("a valid SDP");
    sd.direction_of(&sd.media[0])
}

fn local_dir(sim: &Sim<Node>, node: usize) -> Direction {
    direction(sim.node(node).ua().ua.local_sdp(1))
}

fn remote_dir(sim: &Sim<Node>, node: usize) -> Direction {
    direction(sim.node(node).ua().ua.remote_sdp(1))
}

#[test]
fn caller_holds_and_unholds() {
    let mut sim = established(1);
    at(&mut sim, ALICE, 5_000, Command::Hold(1));
    sim.run_until(at_ms(6_000));
    {
        let a = sim.node(ALICE).ua().ua.session(1).expect("live");
        let b = sim.node(BOB).ua().ua.session(1).expect("live");
        assert!(a.on_hold_by_local() && a.on_hold() && !a.on_hold_by_remote());
        assert!(b.on_hold_by_remote() && b.on_hold() && !b.on_hold_by_local());
    }
    assert_eq!(local_dir(&sim, ALICE), Direction::SendOnly);
    assert_eq!(remote_dir(&sim, ALICE), Direction::RecvOnly);
    assert_eq!(local_dir(&sim, BOB), Direction::RecvOnly);
    at(&mut sim, ALICE, 7_000, Command::Unhold(1));
    at(&mut sim, ALICE, 9_000, Command::End(1));
    sim.run_to_quiet(Duration::from_secs(120));
    assert_eq!(
        after_start(&sim, ALICE),
        [
            "Hold(local)",
            "Unhold(local)",
            "WillEnd",
            "ESTABLISHED>TERMINATING",
            "TERMINATING>TERMINATED",
            "DidEnd(local)"
        ]
    );
    assert_eq!(
        after_start(&sim, BOB),
        [
            "Hold(remote)",
            "Unhold(remote)",
            "ESTABLISHED>TERMINATED",
            "DidEnd(remote)"
        ]
    );
    assert_eq!(local_dir(&sim, ALICE), Direction::SendRecv);
    assert_eq!(local_dir(&sim, BOB), Direction::SendRecv);
    // Both re-INVITEs followed the route set (the proxy Record-Routed the INVITE).
    let reinvites = sim.net.sent_with("INVITE sip:");
    assert_eq!(reinvites.len(), 6, "three INVITEs, each on two hops");
    assert!(reinvites
        .iter()
        .filter(|r| r.from.host == "10.0.0.1")
        .all(|r| {
            let m = sipsimple::sip::Message::parse(&r.bytes).expect("valid");
            m.header("CSeq") == Some("1 INVITE")
                || m.header("Route") == Some("<sip:10.0.0.100:5060;lr>")
        }));
}

#[test]
fn both_sides_hold_in_turn_and_the_answers_combine() {
    let mut sim = established(2);
    at(&mut sim, BOB, 5_000, Command::Hold(1));
    at(&mut sim, ALICE, 7_000, Command::Hold(1));
    sim.run_until(at_ms(8_000));
    // Both hold: each offers or answers without receiving.
    assert_eq!(local_dir(&sim, ALICE), Direction::Inactive);
    assert_eq!(local_dir(&sim, BOB), Direction::Inactive);
    at(&mut sim, BOB, 9_000, Command::Unhold(1));
    sim.run_until(at_ms(10_000));
    // alice still holds: bob's resumed offer is answered sendonly.
    assert_eq!(local_dir(&sim, ALICE), Direction::SendOnly);
    assert_eq!(remote_dir(&sim, BOB), Direction::SendOnly);
    at(&mut sim, ALICE, 11_000, Command::Unhold(1));
    at(&mut sim, ALICE, 13_000, Command::Unhold(1)); // already off hold: nothing to do
    at(&mut sim, BOB, 15_000, Command::End(1));
    sim.run_to_quiet(Duration::from_secs(120));
    assert_eq!(
        after_start(&sim, ALICE),
        [
            "Hold(remote)",
            "Hold(local)",
            "Unhold(remote)",
            "Unhold(local)",
            "ESTABLISHED>TERMINATED",
            "DidEnd(remote)"
        ]
    );
    assert_eq!(
        after_start(&sim, BOB),
        [
            "Hold(local)",
            "Hold(remote)",
            "Unhold(local)",
            "Unhold(remote)",
            "WillEnd",
            "ESTABLISHED>TERMINATING",
            "TERMINATING>TERMINATED",
            "DidEnd(local)"
        ]
    );
    assert_eq!(
        sim.net.sent_with("INVITE sip:").len(),
        10,
        "one INVITE and four re-INVITEs"
    );
}

#[test]
fn glare_is_resolved_by_491_and_randomised_retries() {
    for seed in 1..=20 {
        let mut sim = established(seed);
        at(&mut sim, ALICE, 5_000, Command::Hold(1));
        at(&mut sim, BOB, 5_000, Command::Hold(1));
        sim.run_until(at_ms(20_000));
        // Each re-INVITE met the other: two 491s, then the retries, bob's first (0-2 s)
        // and alice's, the owner of the Call-ID, after 2.1-4 s (§14.1).
        let pending = sim.net.sent_with("SIP/2.0 491");
        assert_eq!(pending.len(), 4, "seed {seed}: two 491s, each on two hops");
        assert_eq!(
            after_start(&sim, BOB),
            ["Hold(local)", "Hold(remote)"],
            "seed {seed}"
        );
        assert_eq!(
            after_start(&sim, ALICE),
            ["Hold(remote)", "Hold(local)"],
            "seed {seed}"
        );
        let retries: Vec<u64> = sim
            .net
            .sent_with("INVITE sip:")
            .into_iter()
            .filter(|r| r.to.host == "10.0.0.100" && r.sent >= at_ms(5_000))
            .map(|r| r.sent.as_millis())
            .collect();
        assert_eq!(retries.len(), 4, "seed {seed}: two re-INVITEs, two retries");
        // The 491s arrive at 5.03 s.
        let bob_retry = retries[2] - 5_030;
        let alice_retry = retries[3] - 5_030;
        assert!(bob_retry <= 2_000, "seed {seed}: bob waited {bob_retry} ms");
        assert!(
            (2_100..=4_000).contains(&alice_retry),
            "seed {seed}: alice waited {alice_retry} ms"
        );
        assert!(sim
            .node(ALICE)
            .ua()
            .ua
            .session(1)
            .is_some_and(|s| s.on_hold_by_local() && s.on_hold_by_remote()));
    }
}

#[test]
fn bye_crossing_a_reinvite_ends_the_session_once() {
    let mut sim = established(3);
    at(&mut sim, ALICE, 5_000, Command::Hold(1));
    at(&mut sim, BOB, 5_000, Command::End(1));
    sim.run_to_quiet(Duration::from_secs(120));
    // bob's BYE reached alice while her re-INVITE was pending: 200, and the session ends.
    assert_eq!(
        after_start(&sim, ALICE),
        ["ESTABLISHED>TERMINATED", "DidEnd(remote)"]
    );
    // alice's re-INVITE reached bob while his BYE was pending: 487.
    assert_eq!(
        after_start(&sim, BOB),
        [
            "WillEnd",
            "ESTABLISHED>TERMINATING",
            "TERMINATING>TERMINATED",
            "DidEnd(local)"
        ]
    );
    assert_eq!(sim.net.sent_with("SIP/2.0 487").len(), 2);
    for node in [ALICE, BOB] {
        assert_eq!(sim.node(node).ua().ua.poll_timeout(), None);
    }
}

#[test]
fn hanging_up_with_a_hold_pending_sends_the_bye_at_once() {
    let mut sim = established(4);
    at(&mut sim, ALICE, 5_000, Command::Hold(1));
    at(&mut sim, ALICE, 5_005, Command::End(1));
    sim.run_to_quiet(Duration::from_secs(120));
    assert_eq!(
        after_start(&sim, ALICE),
        [
            "WillEnd",
            "ESTABLISHED>TERMINATING",
            "TERMINATING>TERMINATED",
            "DidEnd(local)"
        ]
    );
    assert_eq!(
        after_start(&sim, BOB),
        ["Hold(remote)", "ESTABLISHED>TERMINATED", "DidEnd(remote)"]
    );
    let bye = sim.net.sent_with("BYE");
    assert_eq!(bye.first().map(|r| r.sent), Some(at_ms(5_005)));
}

#[test]
fn hold_needs_an_established_session() {
    let mut sim = established(5);
    at(&mut sim, ALICE, 10, Command::Hold(1));
    at(&mut sim, BOB, 500, Command::Unhold(1));
    at(&mut sim, ALICE, 5_000, Command::End(1));
    at(&mut sim, ALICE, 5_001, Command::Hold(1));
    sim.run_to_quiet(Duration::from_secs(120));
    let refused = |node: usize| -> Vec<Error> {
        sim.node(node)
            .ua()
            .refused
            .iter()
            .map(|(_, _, e)| e.clone())
            .collect()
    };
    assert_eq!(
        refused(ALICE),
        [
            Error::InvalidState("CALLING"),
            Error::InvalidState("TERMINATING")
        ]
    );
    assert_eq!(refused(BOB), [Error::InvalidState("INCOMING")]);
}

#[test]
fn hold_over_udp_with_loss_and_duplicates() {
    let net = NetConfig {
        loss: 0.2,
        duplicate: 0.2,
        jitter: Duration::from_millis(30),
        ..NetConfig::default()
    };
    let mut sim = world(net, 11, Transport::Udp, &["alice", "bob"], |_| {});
    sim.node_mut(BOB).ua_mut().on_incoming = OnIncoming::Accept(Duration::from_secs(1));
    at(
        &mut sim,
        ALICE,
        0,
        Command::Connect("bob@example.com".into()),
    );
    at(&mut sim, BOB, 10_000, Command::Hold(1));
    at(&mut sim, BOB, 20_000, Command::Unhold(1));
    at(&mut sim, BOB, 30_000, Command::End(1));
    sim.run_to_quiet(Duration::from_secs(300));
    assert_eq!(
        after_start(&sim, ALICE),
        [
            "Hold(remote)",
            "Unhold(remote)",
            "ESTABLISHED>TERMINATED",
            "DidEnd(remote)"
        ]
    );
    assert_eq!(
        after_start(&sim, BOB),
        [
            "Hold(local)",
            "Unhold(local)",
            "WillEnd",
            "ESTABLISHED>TERMINATING",
            "TERMINATING>TERMINATED",
            "DidEnd(local)"
        ]
    );
}
