//! Randomised sessions: for each of 2,000 seeds, three simulated user agents call each other
//! through the stateless proxy over a network with seeded loss, jitter and duplication, and
//! the applications accept, reject, hold, unhold and hang up at random times. Whatever
//! happens, the seed's rules must hold:
//! - every session reaches TERMINATED exactly once, through state changes that chain
//!   (each `prev_state` is the state before), and SIPSessionDidEnd is its last notification;
//! - SIPSessionDidFail comes at most once, right before the change to TERMINATED;
//! - SIPSessionWillEnd (local ends only) is followed by DidEnd with originator local;
//! - hold and unhold notifications alternate for each originator;
//! - stream proposals (add/remove audio and chat, accepted or rejected at random, glare
//!   included) go GotStreamProposal → PROPOSING (ours) or PROPOSED (the peer's) → back to
//!   ESTABLISHED → Accepted or Rejected for the same proposer, one at a time, unless the
//!   session ends meanwhile; GotStreamUpdate comes only while ESTABLISHED;
//! - an ended session has no stream left;
//! - once all sessions ended and the network is quiet, no user agent has a timer left;
//! - nothing panics.

mod sim;

use sim::ua::{at_ms, describe, world, Command, Node, OnIncoming, OnProposal};
use sim::{NetConfig, Sim};
use sipsimple::rng::Rng;
use sipsimple::ua::Transport;
use sipsimple::{Event, Originator, SessionState};
use std::time::Duration;

const NAMES: [&str; 3] = ["alice", "bob", "carol"];

fn pick(rng: &mut Rng, n: u64) -> u64 {
    rng.next_u64() % n
}

fn scenario(seed: u64) -> Sim<Node> {
    let mut rng = Rng::from_seed(seed);
    let lossy = pick(&mut rng, 3) > 0;
    let net = NetConfig {
        loss: if lossy {
            [0.05, 0.15, 0.3][pick(&mut rng, 3) as usize]
        } else {
            0.0
        },
        jitter: Duration::from_millis(pick(&mut rng, 60)),
        duplicate: if lossy { 0.05 } else { 0.0 },
        ..NetConfig::default()
    };
    let transport = if lossy || pick(&mut rng, 2) == 0 {
        Transport::Udp
    } else {
        Transport::Ws
    };
    let record_route = pick(&mut rng, 2) == 0;
    let mut sim = world(net, seed, transport, &NAMES, |p| {
        p.record_route = record_route
    });
    for node in 1..=NAMES.len() {
        let delay = Duration::from_millis(pick(&mut rng, 5_000));
        sim.node_mut(node).ua_mut().on_incoming = match pick(&mut rng, 4) {
            0 => OnIncoming::Ring,
            1 => OnIncoming::Reject(delay, pick(&mut rng, 2) == 0),
            _ => OnIncoming::Accept(delay),
        };
        let delay = Duration::from_millis(pick(&mut rng, 3_000));
        sim.node_mut(node).ua_mut().on_proposal = match pick(&mut rng, 3) {
            0 => OnProposal::Wait,
            1 => OnProposal::Reject(delay),
            _ => OnProposal::Accept(delay),
        };
    }
    for _ in 0..=pick(&mut rng, 5) {
        let from = 1 + pick(&mut rng, 3) as usize;
        let to = format!("{}@example.com", NAMES[pick(&mut rng, 3) as usize]);
        let t = pick(&mut rng, 30_000);
        let command = match pick(&mut rng, 4) {
            0 => Command::ConnectStreams(to, false, true),
            1 => Command::ConnectStreams(to, true, true),
            _ => Command::Connect(to),
        };
        sim.node_mut(from).ua_mut().at(at_ms(t), command);
    }
    for _ in 0..pick(&mut rng, 16) {
        let node = 1 + pick(&mut rng, 3) as usize;
        let id = 1 + pick(&mut rng, 3);
        let (audio, chat) = (pick(&mut rng, 2) == 0, pick(&mut rng, 2) == 0);
        let command = match pick(&mut rng, 14) {
            0 => Command::Accept(id),
            1 => Command::Reject(id, pick(&mut rng, 2) == 0),
            2 => Command::End(id),
            3 | 4 => Command::Hold(id),
            5 => Command::Unhold(id),
            6 => Command::AddAudio(id),
            7 | 8 => Command::AddChat(id),
            9 => Command::RemoveAudio(id),
            10 => Command::RemoveChat(id),
            11 => Command::AcceptProposal(id, audio, chat),
            12 => Command::RejectProposal(id),
            _ => Command::AcceptStreams(id, audio, chat),
        };
        sim.node_mut(node)
            .ua_mut()
            .at(at_ms(pick(&mut rng, 60_000)), command);
    }
    // The applications hang up whatever is left, more than once: a call may still arrive
    // after the first round (an INVITE retransmitted while its CANCEL is lost).
    for node in 1..=NAMES.len() {
        for t in [120_000, 300_000, 600_000] {
            sim.node_mut(node).ua_mut().at(at_ms(t), Command::EndAll);
        }
    }
    sim
}

/// Checks the rules of the module docs for one session's notifications.
fn check_session(events: &[&Event]) -> Result<(), String> {
    let mut state = SessionState::Null;
    let mut terminated = 0;
    let mut fail_at = None;
    let mut holds = [false, false];
    let mut will_end = false;
    let mut proposal: Option<Originator> = None;
    let last = events.len().saturating_sub(1);
    for (i, e) in events.iter().enumerate() {
        match e {
            Event::SIPSessionNewOutgoing { .. } | Event::SIPSessionNewIncoming { .. } if i != 0 => {
                return Err("New* is not the first notification".into())
            }
            Event::SIPSessionChangedState {
                prev_state,
                state: next,
            } => {
                if *prev_state != state {
                    return Err(format!("{prev_state:?} announced while in {state:?}"));
                }
                if *next == SessionState::Terminated {
                    terminated += 1;
                    proposal = None;
                }
                let wanted = match next {
                    SessionState::Proposing => Some(Some(Originator::Local)),
                    SessionState::Proposed => Some(Some(Originator::Remote)),
                    _ => None,
                };
                if wanted.is_some_and(|w| w != proposal) {
                    return Err(format!("{next:?} without its proposal"));
                }
                state = *next;
            }
            Event::SIPSessionDidFail { .. } => {
                if fail_at.is_some() {
                    return Err("DidFail twice".into());
                }
                fail_at = Some(i);
            }
            Event::SIPSessionWillEnd {} => will_end = true,
            Event::SIPSessionGotStreamProposal { proposer, .. } => {
                if proposal.is_some() || state != SessionState::Established {
                    return Err("a proposal while another is pending".into());
                }
                proposal = Some(*proposer);
            }
            Event::SIPSessionAcceptedStreamProposal { proposer }
            | Event::SIPSessionRejectedStreamProposal { proposer, .. } => {
                if proposal != Some(*proposer) || state != SessionState::Established {
                    return Err("a proposal answered that was not pending".into());
                }
                proposal = None;
            }
            Event::SIPSessionGotStreamUpdate { .. } if state != SessionState::Established => {
                return Err("a stream update outside ESTABLISHED".into())
            }
            Event::SIPSessionDidEnd { originator } => {
                if i != last {
                    return Err("DidEnd is not the last notification".into());
                }
                if will_end && *originator != Originator::Local {
                    return Err("WillEnd followed by a remote end".into());
                }
            }
            Event::SIPSessionGotHoldRequest { originator }
            | Event::SIPSessionGotUnholdRequest { originator } => {
                let hold = matches!(e, Event::SIPSessionGotHoldRequest { .. });
                let slot = &mut holds[usize::from(*originator == Originator::Remote)];
                if *slot == hold {
                    return Err("hold and unhold do not alternate".into());
                }
                *slot = hold;
            }
            _ => {}
        }
    }
    if terminated != 1 || state != SessionState::Terminated {
        return Err(format!(
            "TERMINATED reached {terminated} times, last state {state:?}"
        ));
    }
    if !matches!(events.last(), Some(Event::SIPSessionDidEnd { .. })) {
        return Err("no DidEnd at the end".into());
    }
    if let Some(i) = fail_at {
        // DidFail, the change to TERMINATED, DidEnd.
        if i + 2 != last {
            return Err("DidFail is not right before the end".into());
        }
    }
    Ok(())
}

fn check(sim: &Sim<Node>) -> Result<usize, String> {
    let mut sessions = 0;
    for node in 1..sim.len() {
        let ua = sim.node(node).ua();
        if let Some(t) = ua.ua.poll_timeout() {
            return Err(format!("node {node} has a timer at {t:?}"));
        }
        for id in ua.session_ids() {
            sessions += 1;
            if let Some(s) = ua.ua.session(id) {
                if !s.streams().is_empty() {
                    return Err(format!("node {node} session {id} ended with streams"));
                }
            }
            check_session(&ua.session_events(id)).map_err(|e| {
                let trace: Vec<String> = ua.session_events(id).into_iter().map(describe).collect();
                format!("node {node} session {id}: {e}: {trace:?}")
            })?;
        }
    }
    Ok(sessions)
}

#[test]
fn two_thousand_random_runs_keep_the_session_rules() {
    let mut sessions = 0;
    let mut failed_or_rejected = 0;
    let mut holds = 0;
    let mut proposals = [0usize; 2];
    for seed in 0..2_000 {
        let mut sim = scenario(seed);
        sim.run_to_quiet(Duration::from_secs(3_600));
        match check(&sim) {
            Ok(n) => sessions += n,
            Err(e) => panic!("seed {seed}: {e}"),
        }
        for node in 1..sim.len() {
            let ua = sim.node(node).ua();
            failed_or_rejected += ua
                .events
                .iter()
                .filter(|(_, n)| matches!(n.event, Event::SIPSessionDidFail { .. }))
                .count();
            holds += ua
                .events
                .iter()
                .filter(|(_, n)| matches!(n.event, Event::SIPSessionGotHoldRequest { .. }))
                .count();
            for (_, n) in &ua.events {
                match n.event {
                    Event::SIPSessionAcceptedStreamProposal { .. } => proposals[0] += 1,
                    Event::SIPSessionRejectedStreamProposal { .. } => proposals[1] += 1,
                    _ => {}
                }
            }
        }
    }
    // The runs did exercise something: many sessions, some of them failing.
    eprintln!(
        "{sessions} sessions, {failed_or_rejected} failures, {holds} holds, \
         {} proposals accepted, {} rejected",
        proposals[0], proposals[1]
    );
    assert!(proposals[0] > 40, "{proposals:?}");
    assert!(proposals[1] > 40, "{proposals:?}");
    assert!(sessions > 3_000, "{sessions} sessions");
    assert!(failed_or_rejected > 500, "{failed_or_rejected} failures");
    assert!(holds > 200, "{holds} holds");
}
