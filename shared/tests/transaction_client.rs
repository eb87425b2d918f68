//! Client transactions on the simulator (RFC 3261 §17.1, RFC 6026 §8.4): retransmission
//! schedules, Timers B and F to the millisecond, no retransmission on reliable flows, the
//! ACK for non-2xx, 2xx retransmissions passed up in Accepted, CANCEL.

mod sim;

use sim::tx::{ms, pair, Script, A, B};
use sim::{Fate, NetConfig};
use sipsimple::sip::Message;
use sipsimple::transaction::{Config, Dest, Event, State, Timer, TransportKind};
use sipsimple::Time;
use std::time::Duration;

fn udp(host: &str) -> Dest {
    Dest::new(TransportKind::Udp, host, 5060)
}

fn tcp(host: &str) -> Dest {
    Dest::new(TransportKind::Tcp, host, 5060)
}

fn net(delay: u64) -> NetConfig {
    NetConfig {
        delay: Duration::from_millis(delay),
        ..NetConfig::default()
    }
}

/// Send times of the packets from `from` whose first line starts with `prefix`.
fn send_times(sim: &sim::Sim<sim::tx::TxNode>, from: &str, prefix: &str) -> Vec<u64> {
    sim.net
        .sent_with(prefix)
        .into_iter()
        .filter(|r| r.from.host == from)
        .map(|r| r.sent.as_millis())
        .collect()
}

fn event_times(events: &[(Time, &Event)], pred: impl Fn(&Event) -> bool) -> Vec<u64> {
    events
        .iter()
        .filter(|(_, e)| pred(e))
        .map(|(t, _)| t.as_millis())
        .collect()
}

#[test]
fn invite_is_retransmitted_over_udp_until_a_provisional_arrives() {
    // One second each way: the 100 Trying (sent 200 ms after the INVITE arrives, §17.2.1)
    // reaches the caller at 2.2 s, after Timer A fired at 0.5 s and 1.5 s.
    let b = Script::ua().answer("INVITE", &[(3_000, 486)]);
    let mut sim = pair(net(1_000), 1, Config::default(), Script::ua(), b);
    let id = sim.node_mut(0).send(ms(0), "INVITE", &udp(B));
    sim.run_to_quiet(Duration::from_secs(600));

    assert_eq!(send_times(&sim, A, "INVITE"), [0, 500, 1_500]);
    let a = sim.node(0);
    let evs = a.events_of(id);
    let first = event_times(&evs, |e| matches!(e, Event::Response { .. }));
    assert_eq!(first.first(), Some(&2_200));
    // Each INVITE retransmission was answered with the last provisional response.
    assert_eq!(send_times(&sim, B, "SIP/2.0 100"), [1_200, 1_500, 2_500]);
    assert_eq!(a.codes(id), [100, 100, 100, 486]);
    // The server TU saw one request.
    assert_eq!(sim.node(1).requests().len(), 1);
    for n in 0..2 {
        sim.node(n).check().expect("invariants");
    }
}

#[test]
fn timer_b_fires_at_64_t1_after_seven_invites() {
    let mut sim = pair(net(10), 2, Config::default(), Script::ua(), Script::ua());
    let nowhere = udp("10.9.9.9");
    let id = sim.node_mut(0).send(ms(0), "INVITE", &nowhere);
    assert_eq!(sim.node(0).layer.state(id), Some(State::Calling));
    let timers = sim.node(0).layer.timers(id);
    assert!(timers.contains(&(Timer::A, ms(500))));
    assert!(timers.contains(&(Timer::B, ms(32_000))));
    sim.run_to_quiet(Duration::from_secs(600));

    assert_eq!(
        send_times(&sim, A, "INVITE"),
        [0, 500, 1_500, 3_500, 7_500, 15_500, 31_500]
    );
    let evs = sim.node(0).events_of(id);
    assert_eq!(
        evs,
        [
            (ms(32_000), &Event::Timeout { id }),
            (ms(32_000), &Event::Terminated { id })
        ]
    );
    sim.node(0).check().expect("invariants");
}

#[test]
fn timer_f_fires_at_64_t1_with_timer_e_capped_at_t2() {
    let mut sim = pair(net(10), 3, Config::default(), Script::ua(), Script::ua());
    let id = sim.node_mut(0).send(ms(0), "OPTIONS", &udp("10.9.9.9"));
    sim.run_to_quiet(Duration::from_secs(600));
    assert_eq!(
        send_times(&sim, A, "OPTIONS"),
        [0, 500, 1_500, 3_500, 7_500, 11_500, 15_500, 19_500, 23_500, 27_500, 31_500]
    );
    let evs = sim.node(0).events_of(id);
    assert_eq!(
        event_times(&evs, |e| matches!(e, Event::Timeout { .. })),
        [32_000]
    );
    sim.node(0).check().expect("invariants");
}

#[test]
fn timer_e_runs_at_t2_once_proceeding() {
    // The server sends 100 at once and 200 after 20 s; the client keeps retransmitting
    // every T2 in Proceeding (§17.1.2.2), each retransmission answered with the 100.
    let b = Script::ua().answer("MESSAGE", &[(0, 100), (20_000, 200)]);
    let mut sim = pair(net(10), 4, Config::default(), Script::ua(), b);
    let id = sim.node_mut(0).send(ms(0), "MESSAGE", &udp(B));
    sim.run_to_quiet(Duration::from_secs(600));
    assert_eq!(
        send_times(&sim, A, "MESSAGE"),
        [0, 500, 4_500, 8_500, 12_500, 16_500]
    );
    assert_eq!(send_times(&sim, B, "SIP/2.0 100").len(), 6);
    let a = sim.node(0);
    assert_eq!(a.codes(id).last(), Some(&200));
    // Timer K: T4 after the 200 arrived at 20 020.
    let evs = a.events_of(id);
    assert_eq!(
        event_times(&evs, |e| matches!(e, Event::Terminated { .. })),
        [25_020]
    );
    a.check().expect("invariants");
    sim.node(1).check().expect("invariants");
}

#[test]
fn reliable_flows_never_retransmit_and_still_time_out() {
    let mut sim = pair(net(10), 5, Config::default(), Script::ua(), Script::ua());
    let nowhere = tcp("10.9.9.9");
    let inv = sim.node_mut(0).send(ms(0), "INVITE", &nowhere);
    let opt = sim.node_mut(0).send(ms(0), "OPTIONS", &nowhere);
    assert_eq!(sim.node(0).layer.timers(inv), [(Timer::B, ms(32_000))]);
    assert_eq!(sim.node(0).layer.timers(opt), [(Timer::F, ms(32_000))]);
    sim.run_to_quiet(Duration::from_secs(600));
    assert_eq!(send_times(&sim, A, "INVITE"), [0]);
    assert_eq!(send_times(&sim, A, "OPTIONS"), [0]);
    for id in [inv, opt] {
        let evs = sim.node(0).events_of(id);
        assert_eq!(
            event_times(&evs, |e| matches!(e, Event::Timeout { .. })),
            [32_000]
        );
    }
    sim.node(0).check().expect("invariants");
}

#[test]
fn reliable_flow_ends_transactions_without_absorbing_timers() {
    // Over TCP, Timers D, I, J and K are zero (§17.1.1.2, §17.2.1, §17.2.2, §17.1.2.2).
    let b = Script::ua().answer("INVITE", &[(0, 486)]);
    let mut sim = pair(net(10), 6, Config::default(), Script::ua(), b);
    let inv = sim.node_mut(0).send(ms(0), "INVITE", &tcp(B));
    let opt = sim.node_mut(0).send(ms(0), "OPTIONS", &tcp(B));
    sim.run_to_quiet(Duration::from_secs(600));
    let a = sim.node(0);
    let end = |id| event_times(&a.events_of(id), |e| matches!(e, Event::Terminated { .. }));
    assert_eq!(end(inv), [20]); // the 486 arrives at 20, the ACK leaves, Timer D = 0
    assert_eq!(end(opt), [20]); // Timer K = 0
    let b = sim.node(1);
    let reqs = b.requests();
    let ends: Vec<Vec<u64>> = reqs
        .iter()
        .map(|(_, id, _)| event_times(&b.events_of(*id), |e| matches!(e, Event::Terminated { .. })))
        .collect();
    assert_eq!(ends, [vec![30], vec![10]]); // Timer I = 0 at the ACK, Timer J = 0
    assert_eq!(send_times(&sim, A, "ACK"), [20]);
    a.check().expect("invariants");
    b.check().expect("invariants");
}

#[test]
fn ack_for_non_2xx_is_built_by_the_client_and_absorbed_by_the_server() {
    // The first ACK is lost: Timer G resends the 486, the client ACKs it again without
    // telling its TU, and the server absorbs the ACK in Confirmed (§17.1.1.2, §17.2.1).
    let b = Script::ua().answer("INVITE", &[(0, 486)]);
    let mut sim = pair(net(10), 7, Config::default(), Script::ua(), b);
    let mut acks = 0;
    sim.net.set_filter(move |_, p| {
        if p.first_line().starts_with("ACK") {
            acks += 1;
            return acks > 1;
        }
        true
    });
    let id = sim.node_mut(0).send(ms(0), "INVITE", &udp(B));
    sim.run_to_quiet(Duration::from_secs(600));

    assert_eq!(send_times(&sim, A, "ACK"), [20, 520]);
    assert_eq!(send_times(&sim, B, "SIP/2.0 486"), [10, 510]);
    let a = sim.node(0);
    assert_eq!(a.codes(id), [486]);
    // The ACK: same branch and Request-URI as the INVITE, To with the server's tag.
    let acks: Vec<_> = sim.net.sent_with("ACK");
    assert_eq!(acks[0].first_line, "ACK sip:peer@10.0.0.2 SIP/2.0");
    let invite = Message::parse(&sim.net.sent_with("INVITE")[0].bytes).expect("valid");
    let ack = Message::parse(&acks[1].bytes).expect("valid");
    assert_eq!(ack.header("Via"), invite.header("Via"));
    assert_eq!(ack.header("CSeq"), Some("1 ACK"));
    assert_eq!(ack.header("To"), Some("<sip:peer@10.0.0.2>;tag=t5060"));
    // Client: Timer D from the first 486 at 20. Server: Confirmed at 530, Timer I = T4.
    assert_eq!(
        event_times(&a.events_of(id), |e| matches!(e, Event::Terminated { .. })),
        [32_020]
    );
    let b = sim.node(1);
    let (_, sid, _) = b.requests()[0].clone();
    assert_eq!(
        event_times(&b.events_of(sid), |e| matches!(e, Event::Terminated { .. })),
        [5_530]
    );
    assert!(!b.events.iter().any(|(_, e)| matches!(e, Event::Ack { .. })));
    a.check().expect("invariants");
    b.check().expect("invariants");
}

#[test]
fn retransmitted_2xx_reach_the_tu_in_accepted() {
    // The UAS core retransmits its 200 until the ACK comes (§13.3.1.4); the first two ACKs
    // are lost, so the client transaction passes three 200s up (RFC 6026 §8.4) and its TU
    // ACKs each.
    let mut sim = pair(net(10), 8, Config::default(), Script::ua(), Script::ua());
    let mut acks = 0;
    sim.net.set_filter(move |_, p| {
        if p.first_line().starts_with("ACK") {
            acks += 1;
            return acks > 2;
        }
        true
    });
    let id = sim.node_mut(0).send(ms(0), "INVITE", &udp(B));
    sim.run_until(ms(100));
    assert_eq!(sim.node(0).layer.state(id), Some(State::Accepted));
    assert_eq!(sim.node(0).layer.timers(id), [(Timer::M, ms(32_020))]);
    sim.run_to_quiet(Duration::from_secs(600));

    let a = sim.node(0);
    assert_eq!(a.codes(id), [200, 200, 200]);
    assert_eq!(a.acks_sent, 3);
    assert_eq!(send_times(&sim, B, "SIP/2.0 200"), [10, 510, 1_510]);
    let b = sim.node(1);
    let acks_seen: Vec<_> = b
        .events
        .iter()
        .filter(|(_, e)| matches!(e, Event::Ack { id: None, .. }))
        .collect();
    assert_eq!(acks_seen.len(), 1);
    // Timer M for the client from the first 200 (20), Timer L for the server from its
    // 200 (10): 64·T1 each.
    assert_eq!(
        event_times(&a.events_of(id), |e| matches!(e, Event::Terminated { .. })),
        [32_020]
    );
    let (_, sid, _) = b.requests()[0].clone();
    assert_eq!(
        event_times(&b.events_of(sid), |e| matches!(e, Event::Terminated { .. })),
        [32_010]
    );
    a.check().expect("invariants");
    b.check().expect("invariants");
}

#[test]
fn cancel_follows_the_invite_and_matches_its_server_transaction() {
    let mut caller = Script::ua();
    caller.cancel_after = Some(Duration::from_millis(100));
    let callee = Script::ua().answer("INVITE", &[(0, 180)]);
    let mut sim = pair(net(10), 9, Config::default(), caller, callee);
    let id = sim.node_mut(0).send(ms(0), "INVITE", &udp(B));
    sim.run_to_quiet(Duration::from_secs(600));

    let a = sim.node(0);
    assert_eq!(a.codes(id), [180, 487]);
    let cancel = a
        .started
        .iter()
        .find(|(_, _, m)| m == "CANCEL")
        .map(|(t, id, _)| (*t, *id))
        .expect("a CANCEL was sent");
    assert_eq!(cancel.0, ms(120));
    assert_eq!(a.codes(cancel.1), [200]);
    // The CANCEL carries the INVITE's branch (§9.1) yet is its own transaction.
    let records = sim.net.sent_with("CANCEL");
    assert_eq!(records.len(), 1);
    assert!(matches!(records[0].fate, Fate::Delivered(_)));
    let b = sim.node(1);
    let methods: Vec<String> = b.requests().into_iter().map(|(_, _, m)| m).collect();
    assert_eq!(methods, ["INVITE", "CANCEL"]);
    a.check().expect("invariants");
    b.check().expect("invariants");
}

#[test]
fn cancel_before_a_provisional_is_refused() {
    let mut sim = pair(net(10), 10, Config::default(), Script::ua(), Script::ua());
    let id = sim.node_mut(0).send(ms(0), "INVITE", &udp("10.9.9.9"));
    let err = sim.node_mut(0).layer.cancel(ms(1), id);
    assert_eq!(err, Err(sipsimple::transaction::Error::WrongState));
    sim.run_to_quiet(Duration::from_secs(600));
    sim.node(0).check().expect("invariants");
}

#[test]
fn transport_error_on_a_reliable_flow_ends_the_transaction_at_once() {
    let mut n = net(10);
    n.failure = 1.0;
    let mut sim = pair(n, 11, Config::default(), Script::ua(), Script::ua());
    let id = sim.node_mut(0).send(ms(0), "INVITE", &tcp(B));
    sim.run_to_quiet(Duration::from_secs(600));
    let evs = sim.node(0).events_of(id);
    assert_eq!(
        evs,
        [
            (ms(0), &Event::TransportError { id }),
            (ms(0), &Event::Terminated { id })
        ]
    );
    sim.node(0).check().expect("invariants");
}
