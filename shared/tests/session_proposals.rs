//! Stream proposals between simulated user agents (the seed's `add_audio`, `add_chat`,
//! `remove_*`, `accept_proposal`, `reject_proposal`; RFC 3264 §8 by re-INVITE): accepted and
//! rejected both ways, chat added to an audio call, audio removed, the seed's accept rule,
//! glare during a proposal, with the exact notification sequences.

mod sim;

use sim::ua::{after_start, at, at_ms, world, Command, Node, OnIncoming, OnProposal};
use sim::{NetConfig, Sim};
use sipsimple::sdp::SessionDescription;
use sipsimple::ua::Transport;
use sipsimple::{Error, SessionState};
use std::time::Duration;

const ALICE: usize = 1;
const BOB: usize = 2;

/// alice calls bob (`audio`, `chat`), who answers after 1 s: established at 1.06 s.
fn established(seed: u64, audio: bool, chat: bool) -> Sim<Node> {
    let mut sim = world(
        NetConfig::default(),
        seed,
        Transport::Ws,
        &["alice", "bob"],
        |p| p.record_route = true,
    );
    sim.node_mut(BOB).ua_mut().on_incoming = OnIncoming::Accept(Duration::from_secs(1));
    sim.node_mut(ALICE).ua_mut().at(
        at_ms(0),
        Command::ConnectStreams("bob@example.com".into(), audio, chat),
    );
    sim
}

fn streams(sim: &Sim<Node>, node: usize) -> Vec<String> {
    let s = sim.node(node).ua().ua.session(1).expect("kept");
    s.streams().iter().map(|s| s.to_string()).collect()
}

fn m_lines(sdp: Option<&str>) -> Vec<String> {
    let sd: SessionDescription = sdp.expect("an SDP").parse().expect("valid");
    sd.media
        .iter()
        .map(|m| format!("{} {}", m.media, m.port))
        .collect()
}

#[test]
fn caller_adds_chat_to_an_audio_call_and_the_callee_accepts() {
    let mut sim = established(1, true, false);
    sim.node_mut(BOB).ua_mut().on_proposal = OnProposal::Accept(Duration::from_secs(1));
    at(&mut sim, ALICE, 5_000, Command::AddChat(1));
    sim.run_until(at_ms(8_000));
    assert_eq!(streams(&sim, ALICE), ["audio", "chat"]);
    assert_eq!(streams(&sim, BOB), ["audio", "chat"]);
    let a = sim.node(ALICE).ua().ua.session(1).expect("live");
    assert!(a.has_audio() && a.has_chat());
    assert_eq!(
        m_lines(a.local_sdp()),
        ["audio 9", "message 2855"],
        "the chat m-line is appended"
    );
    at(&mut sim, ALICE, 9_000, Command::End(1));
    sim.run_to_quiet(Duration::from_secs(120));
    assert_eq!(
        after_start(&sim, ALICE),
        [
            "Proposal(local [\"chat\"])",
            "ESTABLISHED>PROPOSING",
            "PROPOSING>ESTABLISHED",
            "Accepted(local)",
            "Update[\"audio\", \"chat\"]",
            "WillEnd",
            "ESTABLISHED>TERMINATING",
            "TERMINATING>TERMINATED",
            "DidEnd(local)"
        ]
    );
    assert_eq!(
        after_start(&sim, BOB),
        [
            "Proposal(remote [\"chat\"])",
            "ESTABLISHED>PROPOSED",
            "PROPOSED>ESTABLISHED",
            "Accepted(remote)",
            "Update[\"audio\", \"chat\"]",
            "ESTABLISHED>TERMINATED",
            "DidEnd(remote)"
        ]
    );
    // The streams' own notifications (sender: the stream).
    for node in [ALICE, BOB] {
        assert_eq!(
            sim.node(node).ua().stream_trace(1),
            [
                "0:audio:DidInitialize",
                "0:audio:DidStart",
                "1:chat:DidInitialize",
                "1:chat:DidStart",
                "0:audio:WillEnd",
                "0:audio:DidEnd",
                "1:chat:WillEnd",
                "1:chat:DidEnd"
            ]
        );
    }
}

#[test]
fn callee_adds_audio_to_a_chat_and_the_caller_rejects() {
    let mut sim = established(2, false, true);
    sim.node_mut(ALICE).ua_mut().on_proposal = OnProposal::Reject(Duration::from_secs(1));
    at(&mut sim, BOB, 5_000, Command::AddAudio(1));
    sim.run_until(at_ms(8_000));
    assert_eq!(streams(&sim, ALICE), ["chat"]);
    assert_eq!(streams(&sim, BOB), ["chat"]);
    assert_eq!(
        after_start(&sim, BOB),
        [
            "Proposal(local [\"audio\"])",
            "ESTABLISHED>PROPOSING",
            "PROPOSING>ESTABLISHED",
            "Rejected(local 488 Not Acceptable Here)"
        ]
    );
    assert_eq!(
        after_start(&sim, ALICE),
        [
            "Proposal(remote [\"audio\"])",
            "ESTABLISHED>PROPOSED",
            "PROPOSED>ESTABLISHED",
            "Rejected(remote rejected by the local party)"
        ]
    );
    // The rejected proposal left the descriptions as they were: one chat m-line.
    let b = sim.node(BOB).ua().ua.session(1).expect("live");
    assert_eq!(m_lines(b.local_sdp()), ["message 2855"]);
    // And the session goes on: the callee can propose again, and this time the caller
    // accepts.
    sim.node_mut(ALICE).ua_mut().on_proposal = OnProposal::Accept(Duration::from_secs(1));
    at(&mut sim, BOB, 10_000, Command::AddAudio(1));
    sim.run_until(at_ms(14_000));
    assert_eq!(streams(&sim, ALICE), ["chat", "audio"]);
    assert_eq!(streams(&sim, BOB), ["chat", "audio"]);
}

#[test]
fn proposals_are_refused_outside_their_states_and_accept_takes_only_proposed_streams() {
    let mut sim = established(3, true, false);
    // alice proposes chat; bob waits, and tries what the seed forbids first.
    at(&mut sim, ALICE, 5_000, Command::AddChat(1));
    at(&mut sim, ALICE, 5_100, Command::AddChat(1));
    at(
        &mut sim,
        BOB,
        6_000,
        Command::AcceptProposal(1, true, false),
    );
    at(&mut sim, BOB, 6_100, Command::Hold(1));
    at(&mut sim, BOB, 6_200, Command::AddAudio(1));
    at(
        &mut sim,
        BOB,
        7_000,
        Command::AcceptProposal(1, false, true),
    );
    at(&mut sim, BOB, 8_000, Command::RejectProposal(1));
    at(&mut sim, ALICE, 9_000, Command::AddAudio(1));
    at(&mut sim, ALICE, 9_100, Command::RemoveChat(1));
    sim.run_until(at_ms(8_500));
    assert_eq!(streams(&sim, ALICE), ["audio", "chat"]);
    sim.run_until(at_ms(12_000));
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
            Error::InvalidState("PROPOSING"),
            Error::StreamExists("audio".into()),
        ]
    );
    assert_eq!(
        refused(BOB),
        [
            Error::StreamNotProposed("audio".into()),
            Error::InvalidState("PROPOSED"),
            Error::InvalidState("PROPOSED"),
            Error::InvalidState("ESTABLISHED"),
        ]
    );
    // alice removed the chat at 9.1 s: both sides see the update.
    assert_eq!(streams(&sim, ALICE), ["audio"]);
    assert_eq!(streams(&sim, BOB), ["audio"]);
}

#[test]
fn removing_audio_leaves_the_chat_without_asking() {
    let mut sim = established(4, true, true);
    sim.run_until(at_ms(3_000));
    assert_eq!(streams(&sim, ALICE), ["audio", "chat"]);
    at(&mut sim, ALICE, 5_000, Command::RemoveAudio(1));
    sim.run_until(at_ms(8_000));
    let a = sim.node(ALICE).ua().ua.session(1).expect("live");
    assert!(!a.has_audio() && a.has_chat());
    assert_eq!(m_lines(a.local_sdp()), ["audio 0", "message 2855"]);
    assert_eq!(after_start(&sim, ALICE), ["Update[\"chat\"]"]);
    assert_eq!(after_start(&sim, BOB), ["Update[\"chat\"]"]);
    assert_eq!(
        sim.node(BOB).ua().stream_trace(1)[4..],
        ["0:audio:WillEnd", "0:audio:DidEnd"]
    );
    // The disabled m-line is re-used for the next audio proposal (RFC 3264 §8.1).
    sim.node_mut(BOB).ua_mut().on_proposal = OnProposal::Accept(Duration::from_millis(500));
    at(&mut sim, ALICE, 9_000, Command::AddAudio(1));
    sim.run_until(at_ms(12_000));
    let a = sim.node(ALICE).ua().ua.session(1).expect("live");
    assert_eq!(m_lines(a.local_sdp()), ["audio 9", "message 2855"]);
    assert_eq!(streams(&sim, BOB), ["audio", "chat"]);
}

#[test]
fn accept_takes_only_the_streams_asked_for_and_proposed() {
    let mut sim = world(
        NetConfig::default(),
        5,
        Transport::Ws,
        &["alice", "bob"],
        |_| {},
    );
    at(
        &mut sim,
        ALICE,
        0,
        Command::ConnectStreams("bob@example.com".into(), false, true),
    );
    at(&mut sim, BOB, 1_000, Command::AcceptStreams(1, true, false));
    at(&mut sim, BOB, 1_100, Command::AcceptStreams(1, false, true));
    sim.run_until(at_ms(3_000));
    assert_eq!(
        sim.node(BOB).ua().refused[0].2,
        Error::StreamNotProposed("audio".into())
    );
    assert_eq!(sim.node(BOB).ua().trace(1)[0], "NewIncoming[\"chat\"]");
    assert_eq!(sim.node(ALICE).ua().trace(1)[0], "NewOutgoing[\"chat\"]");
    assert_eq!(streams(&sim, ALICE), ["chat"]);
    // audio + chat offered, audio only taken: the chat m-line is answered with port 0.
    at(
        &mut sim,
        ALICE,
        4_000,
        Command::ConnectStreams("bob@example.com".into(), true, true),
    );
    at(&mut sim, BOB, 5_000, Command::AcceptStreams(2, true, false));
    sim.run_until(at_ms(7_000));
    let b = sim.node(BOB).ua().ua.session(2).expect("live");
    assert_eq!(m_lines(b.local_sdp()), ["audio 9", "message 0"]);
    assert_eq!(b.streams(), ["audio"]);
    assert_eq!(b.state(), SessionState::Established);
}

#[test]
fn glare_between_a_proposal_and_a_hold_resolves_by_retry() {
    let mut sim = established(6, true, false);
    sim.node_mut(BOB).ua_mut().on_proposal = OnProposal::Accept(Duration::from_millis(200));
    // Both re-INVITE at the same instant: both get 491.
    at(&mut sim, ALICE, 5_000, Command::AddChat(1));
    at(&mut sim, BOB, 5_000, Command::Hold(1));
    sim.run_until(at_ms(15_000));
    assert_eq!(
        sim.net.sent_with("SIP/2.0 491").len(),
        4,
        "two 491s, two hops"
    );
    // bob (not the Call-ID's owner) retries first, within 2 s, and alice answers his hold
    // while her proposal waits; her retry (2.1 to 4 s) is then accepted.
    assert_eq!(
        after_start(&sim, ALICE),
        [
            "Proposal(local [\"chat\"])",
            "ESTABLISHED>PROPOSING",
            "Hold(remote)",
            "PROPOSING>ESTABLISHED",
            "Accepted(local)",
            "Update[\"audio\", \"chat\"]"
        ]
    );
    assert_eq!(
        after_start(&sim, BOB),
        [
            "Hold(local)",
            "Proposal(remote [\"chat\"])",
            "ESTABLISHED>PROPOSED",
            "PROPOSED>ESTABLISHED",
            "Accepted(remote)",
            "Update[\"audio\", \"chat\"]"
        ]
    );
    let b = sim.node(BOB).ua().ua.session(1).expect("live");
    assert!(b.on_hold_by_local(), "the hold survived the proposal");
}

#[test]
fn glare_between_two_proposals_keeps_the_first_retry() {
    let mut sim = established(7, true, false);
    for node in [ALICE, BOB] {
        sim.node_mut(node).ua_mut().on_proposal = OnProposal::Accept(Duration::from_millis(200));
    }
    at(&mut sim, ALICE, 5_000, Command::AddChat(1));
    at(&mut sim, BOB, 5_000, Command::AddChat(1));
    sim.run_until(at_ms(15_000));
    // bob retries first; alice drops her own proposal for his.
    assert_eq!(
        after_start(&sim, ALICE),
        [
            "Proposal(local [\"chat\"])",
            "ESTABLISHED>PROPOSING",
            "PROPOSING>ESTABLISHED",
            "Rejected(local 491 Request Pending)",
            "Proposal(remote [\"chat\"])",
            "ESTABLISHED>PROPOSED",
            "PROPOSED>ESTABLISHED",
            "Accepted(remote)",
            "Update[\"audio\", \"chat\"]"
        ]
    );
    assert_eq!(
        after_start(&sim, BOB),
        [
            "Proposal(local [\"chat\"])",
            "ESTABLISHED>PROPOSING",
            "PROPOSING>ESTABLISHED",
            "Accepted(local)",
            "Update[\"audio\", \"chat\"]"
        ]
    );
    assert_eq!(streams(&sim, ALICE), ["audio", "chat"]);
}

#[test]
fn hanging_up_while_proposed_refuses_the_proposal_first() {
    let mut sim = established(8, true, false);
    at(&mut sim, ALICE, 5_000, Command::AddChat(1));
    at(&mut sim, BOB, 6_000, Command::End(1));
    sim.run_to_quiet(Duration::from_secs(120));
    assert_eq!(sim.net.sent_with("SIP/2.0 487").len(), 2);
    assert_eq!(
        after_start(&sim, ALICE),
        [
            "Proposal(local [\"chat\"])",
            "ESTABLISHED>PROPOSING",
            "PROPOSING>ESTABLISHED",
            "Rejected(local 487 Request Terminated)",
            "ESTABLISHED>TERMINATED",
            "DidEnd(remote)"
        ]
    );
    assert_eq!(
        after_start(&sim, BOB),
        [
            "Proposal(remote [\"chat\"])",
            "ESTABLISHED>PROPOSED",
            "WillEnd",
            "PROPOSED>TERMINATING",
            "TERMINATING>TERMINATED",
            "DidEnd(local)"
        ]
    );
}
