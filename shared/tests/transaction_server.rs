//! Server transactions on the simulator (RFC 3261 §17.2, RFC 6026 §8.7): retransmitted
//! requests answered with the last response, the automatic 100 Trying, Timers G and H,
//! INVITE retransmissions absorbed in Accepted, CANCEL without an INVITE.

mod sim;

use sim::tx::{ms, pair, Script, TxNode, A, B};
use sim::{NetConfig, Sim};
use sipsimple::transaction::{Config, Dest, Event, TransportKind};
use std::time::Duration;

fn udp(host: &str) -> Dest {
    Dest::new(TransportKind::Udp, host, 5060)
}

fn net() -> NetConfig {
    NetConfig::default() // 10 ms, no loss
}

fn send_times(sim: &Sim<TxNode>, from: &str, prefix: &str) -> Vec<u64> {
    sim.net
        .sent_with(prefix)
        .into_iter()
        .filter(|r| r.from.host == from)
        .map(|r| r.sent.as_millis())
        .collect()
}

fn terminated_at(node: &TxNode, id: sipsimple::transaction::TransactionId) -> Vec<u64> {
    node.events_of(id)
        .into_iter()
        .filter(|(_, e)| matches!(e, Event::Terminated { .. }))
        .map(|(t, _)| t.as_millis())
        .collect()
}

fn check_all(sim: &Sim<TxNode>) {
    for i in 0..sim.len() {
        sim.node(i).check().expect("invariants");
    }
}

#[test]
fn retransmitted_request_is_answered_with_the_last_final_response() {
    // The first 200 is lost; the OPTIONS retransmitted by Timer E gets the stored 200
    // from the server transaction, and the TU sees the request once (§17.2.2).
    let mut sim = pair(net(), 20, Config::default(), Script::ua(), Script::ua());
    let mut first = true;
    sim.net.set_filter(move |_, p| {
        if p.first_line().starts_with("SIP/2.0 200") && first {
            first = false;
            return false;
        }
        true
    });
    let id = sim.node_mut(0).send(ms(0), "OPTIONS", &udp(B));
    sim.run_to_quiet(Duration::from_secs(600));
    assert_eq!(send_times(&sim, A, "OPTIONS"), [0, 500]);
    assert_eq!(send_times(&sim, B, "SIP/2.0 200"), [10, 510]);
    let b = sim.node(1);
    let reqs = b.requests();
    assert_eq!(reqs.len(), 1);
    // Timer J: 64·T1 after the 200 went out at 10.
    assert_eq!(terminated_at(b, reqs[0].1), [32_010]);
    // Timer K: T4 after the 200 arrived at 520.
    assert_eq!(terminated_at(sim.node(0), id), [5_520]);
    check_all(&sim);
}

#[test]
fn retransmitted_request_is_answered_with_the_last_provisional() {
    let b = Script::ua().answer("SUBSCRIBE", &[(0, 100), (2_000, 202)]);
    let mut sim = pair(net(), 21, Config::default(), Script::ua(), b);
    sim.node_mut(0).send(ms(0), "SUBSCRIBE", &udp(B));
    sim.run_to_quiet(Duration::from_secs(600));
    // The SUBSCRIBE goes at 0 and 500 (then T2 = 4 s, after the 202 arrived at 2 020).
    assert_eq!(send_times(&sim, A, "SUBSCRIBE"), [0, 500]);
    assert_eq!(send_times(&sim, B, "SIP/2.0 100"), [10, 510]);
    assert_eq!(send_times(&sim, B, "SIP/2.0 202"), [2_010]);
    check_all(&sim);
}

#[test]
fn invite_retransmission_in_completed_gets_the_final_again() {
    let mut config = Config::default();
    config.trying_delay = None; // no 100: the client stays in Calling and retransmits
    let b = Script::ua().answer("INVITE", &[(0, 486)]);
    let mut sim = pair(net(), 22, config, Script::ua(), b);
    let mut first = true;
    sim.net.set_filter(move |_, p| {
        if p.first_line().starts_with("SIP/2.0 486") && first {
            first = false;
            return false;
        }
        true
    });
    let id = sim.node_mut(0).send(ms(0), "INVITE", &udp(B));
    sim.run_to_quiet(Duration::from_secs(600));
    assert_eq!(send_times(&sim, A, "INVITE"), [0, 500]);
    // Timer G and the retransmitted INVITE both resend the 486 at 510.
    assert_eq!(send_times(&sim, B, "SIP/2.0 486"), [10, 510, 510]);
    assert_eq!(sim.node(0).codes(id), [486]);
    assert_eq!(sim.node(1).requests().len(), 1);
    check_all(&sim);
}

#[test]
fn automatic_100_trying_after_200_ms_unless_the_tu_answers() {
    // A silent TU: the transaction sends 100 Trying 200 ms after the INVITE (§17.2.1).
    let b = Script::ua().answer("INVITE", &[(1_000, 603)]);
    let mut sim = pair(net(), 23, Config::default(), Script::ua(), b);
    sim.node_mut(0).send(ms(0), "INVITE", &udp(B));
    sim.run_to_quiet(Duration::from_secs(600));
    assert_eq!(send_times(&sim, B, "SIP/2.0 100"), [210]);
    check_all(&sim);

    // A TU that rings within 200 ms: no 100 at all.
    let b = Script::ua().answer("INVITE", &[(100, 180), (1_000, 603)]);
    let mut sim = pair(net(), 24, Config::default(), Script::ua(), b);
    sim.node_mut(0).send(ms(0), "INVITE", &udp(B));
    sim.run_to_quiet(Duration::from_secs(600));
    assert!(send_times(&sim, B, "SIP/2.0 100").is_empty());
    assert_eq!(send_times(&sim, B, "SIP/2.0 180"), [110]);
    check_all(&sim);
}

#[test]
fn automatic_100_trying_at_once_or_never() {
    let mut at_once = Config::default();
    at_once.trying_delay = Some(Duration::ZERO);
    let b = Script::ua().answer("INVITE", &[(1_000, 603)]);
    let mut sim = pair(net(), 25, at_once, Script::ua(), b.clone());
    sim.node_mut(0).send(ms(0), "INVITE", &udp(B));
    sim.run_to_quiet(Duration::from_secs(600));
    assert_eq!(send_times(&sim, B, "SIP/2.0 100"), [10]);
    check_all(&sim);

    let mut never = Config::default();
    never.trying_delay = None;
    let mut sim = pair(net(), 26, never, Script::ua(), b);
    sim.node_mut(0).send(ms(0), "INVITE", &udp(B));
    sim.run_to_quiet(Duration::from_secs(600));
    assert!(send_times(&sim, B, "SIP/2.0 100").is_empty());
    // Without a provisional the INVITE is retransmitted until the 603 arrives at 1 020,
    // and the server transaction has nothing to resend for those retransmissions.
    assert_eq!(send_times(&sim, A, "INVITE"), [0, 500]);
    assert_eq!(send_times(&sim, B, "SIP/2.0 603"), [1_010]);
    check_all(&sim);
}

#[test]
fn timer_g_retransmits_and_timer_h_times_out_without_ack() {
    let b = Script::ua().answer("INVITE", &[(0, 486)]);
    let mut sim = pair(net(), 27, Config::default(), Script::ua(), b);
    sim.net
        .set_filter(|_, p| !p.first_line().starts_with("ACK"));
    let id = sim.node_mut(0).send(ms(0), "INVITE", &udp(B));
    sim.run_to_quiet(Duration::from_secs(600));
    let offsets: Vec<u64> = send_times(&sim, B, "SIP/2.0 486")
        .into_iter()
        .map(|t| t - 10)
        .collect();
    assert_eq!(
        offsets,
        [0, 500, 1_500, 3_500, 7_500, 11_500, 15_500, 19_500, 23_500, 27_500, 31_500]
    );
    let b = sim.node(1);
    let sid = b.requests()[0].1;
    let timeouts: Vec<u64> = b
        .events_of(sid)
        .into_iter()
        .filter(|(_, e)| matches!(e, Event::Timeout { .. }))
        .map(|(t, _)| t.as_millis())
        .collect();
    assert_eq!(timeouts, [32_010]);
    // The client ACKed every 486 but told its TU once.
    assert_eq!(send_times(&sim, A, "ACK").len(), 11);
    assert_eq!(sim.node(0).codes(id), [486]);
    check_all(&sim);
}

#[test]
fn invite_retransmissions_are_absorbed_in_accepted() {
    // The server's TU does not retransmit its 200 and the 200 is lost: the client keeps
    // retransmitting the INVITE, which the Accepted server transaction absorbs (RFC 6026
    // §8.7) without bothering its TU; the client gives up with Timer B.
    let mut config = Config::default();
    config.trying_delay = None;
    let mut b = Script::ua();
    b.retransmit_2xx = false;
    let mut sim = pair(net(), 28, config, Script::ua(), b);
    sim.net
        .set_filter(|_, p| !p.first_line().starts_with("SIP/2.0 200"));
    let id = sim.node_mut(0).send(ms(0), "INVITE", &udp(B));
    sim.run_to_quiet(Duration::from_secs(600));
    assert_eq!(send_times(&sim, A, "INVITE").len(), 7);
    assert_eq!(send_times(&sim, B, "SIP/2.0 200"), [10]);
    let b = sim.node(1);
    assert_eq!(b.requests().len(), 1);
    assert_eq!(terminated_at(b, b.requests()[0].1), [32_010]); // Timer L
    let timeouts = sim
        .node(0)
        .events_of(id)
        .into_iter()
        .filter(|(_, e)| matches!(e, Event::Timeout { .. }))
        .count();
    assert_eq!(timeouts, 1);
    check_all(&sim);
}

#[test]
fn cancel_matching_no_invite_gets_481() {
    let mut sim = pair(net(), 29, Config::default(), Script::ua(), Script::ua());
    let id = sim.node_mut(0).send(ms(0), "CANCEL", &udp(B));
    sim.run_to_quiet(Duration::from_secs(600));
    assert_eq!(sim.node(0).codes(id), [481]);
    check_all(&sim);
}
