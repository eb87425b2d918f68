//! Randomised runs of the transaction layer on a lossy simulated network: whatever the
//! loss, delay, reordering, duplication, transport failures and TU timing, every
//! transaction completes or times out exactly once, emits exactly one Terminated, and
//! leaves no timer behind.

mod sim;

use sim::tx::{Script, TxNode};
use sim::{NetConfig, Network, Sim};
use sipsimple::rng::Rng;
use sipsimple::transaction::{Config, Dest, Event, TransportKind};
use sipsimple::Time;
use std::time::Duration;

const METHODS: [&str; 5] = ["INVITE", "OPTIONS", "MESSAGE", "INVITE", "BYE"];
const INVITE_FINALS: [u16; 5] = [200, 486, 603, 302, 200];
const OTHER_FINALS: [u16; 4] = [200, 202, 404, 500];

fn pick<T: Copy>(rng: &mut Rng, items: &[T]) -> T {
    items[(rng.next_u64() % items.len() as u64) as usize]
}

fn below(rng: &mut Rng, n: u64) -> u64 {
    rng.next_u64() % n.max(1)
}

fn random_script(rng: &mut Rng) -> Script {
    let mut s = Script::ua();
    let mut invite = Vec::new();
    if below(rng, 2) == 0 {
        invite.push((Duration::from_millis(below(rng, 2_000)), 180));
    }
    // Answered between at once and 60 s, beyond Timers B and C at times.
    invite.push((
        Duration::from_millis(below(rng, 4) * below(rng, 15_000)),
        pick(rng, &INVITE_FINALS),
    ));
    invite.sort();
    s.answers.insert("INVITE".into(), invite);
    let mut other = Vec::new();
    if below(rng, 3) == 0 {
        other.push((Duration::from_millis(below(rng, 1_000)), 100));
    }
    // Sometimes after Timer F has given up.
    other.push((
        Duration::from_millis(below(rng, 3) * below(rng, 20_000)),
        pick(rng, &OTHER_FINALS),
    ));
    other.sort();
    s.default_answers = other;
    s.retransmit_2xx = below(rng, 5) != 0;
    if below(rng, 3) == 0 {
        s.cancel_after = Some(Duration::from_millis(below(rng, 3_000)));
    }
    s
}

struct Outcome {
    clients: usize,
    timeouts: usize,
}

/// One randomised run; panics (with the seed) on a broken invariant.
fn run(seed: u64, net: Option<NetConfig>, udp_only: bool) -> Outcome {
    let mut rng = Rng::from_seed(seed);
    let net = net.unwrap_or_else(|| NetConfig {
        loss: pick(&mut rng, &[0.0, 0.05, 0.2, 0.3, 0.5]),
        delay: Duration::from_millis(1 + below(&mut rng, 300)),
        jitter: Duration::from_millis(below(&mut rng, 2) * below(&mut rng, 600)),
        duplicate: pick(&mut rng, &[0.0, 0.0, 0.1, 0.3]),
        failure: pick(&mut rng, &[0.0, 0.0, 0.02, 0.1]),
    });
    let mut config = Config::default();
    config.t1 = Duration::from_millis(pick(&mut rng, &[500, 500, 100, 250]));
    config.t2 = config.t1 * 8;
    config.trying_delay = pick(
        &mut rng,
        &[None, Some(Duration::ZERO), Some(Duration::from_millis(200))],
    );
    config.timer_c = Some(Duration::from_secs(pick(&mut rng, &[180, 30])));
    let nodes = 2 + below(&mut rng, 2) as usize;
    let mut sim: Sim<TxNode> = Sim::new(Time::from_millis(0), Network::new(net, seed));
    let hosts: Vec<String> = (0..nodes).map(|i| format!("10.0.0.{}", i + 1)).collect();
    for (i, host) in hosts.iter().enumerate() {
        let script = random_script(&mut rng);
        let node = TxNode::new(host, 5060, config.clone(), seed ^ (i as u64 + 1), script);
        sim.add(host, 5060, node);
    }
    for i in 0..nodes {
        for _ in 0..1 + below(&mut rng, 4) {
            let mut peer = below(&mut rng, nodes as u64 - 1) as usize;
            if peer >= i {
                peer += 1;
            }
            let transport = if udp_only || below(&mut rng, 10) < 7 {
                TransportKind::Udp
            } else {
                TransportKind::Tcp
            };
            let to = Dest::new(transport, hosts[peer].clone(), 5060);
            let at = Time::from_millis(below(&mut rng, 5_000));
            let method = pick(&mut rng, &METHODS);
            sim.node_mut(i).send_at(at, method, &to);
        }
    }
    sim.run_to_quiet(Duration::from_secs(4 * 3600));
    let mut outcome = Outcome {
        clients: 0,
        timeouts: 0,
    };
    for i in 0..nodes {
        let node = sim.node(i);
        if let Err(e) = node.check() {
            panic!("seed {seed}, node {i}: {e}");
        }
        outcome.clients += node.started.len();
        outcome.timeouts += node
            .events
            .iter()
            .filter(|(_, e)| matches!(e, Event::Timeout { .. }))
            .count();
    }
    outcome
}

#[test]
fn thirty_percent_loss_every_transaction_completes_or_times_out_once() {
    let mut clients = 0;
    let mut timeouts = 0;
    for seed in 0..40 {
        let net = NetConfig {
            loss: 0.3,
            delay: Duration::from_millis(40),
            jitter: Duration::from_millis(60),
            duplicate: 0.05,
            failure: 0.0,
        };
        let o = run(1_000_000 + seed, Some(net), true);
        clients += o.clients;
        timeouts += o.timeouts;
    }
    // Both outcomes happen under this much loss, and most transactions still complete.
    assert!(clients > 100, "{clients} client transactions");
    assert!(
        timeouts > 0 && timeouts * 2 < clients,
        "{timeouts} of {clients}"
    );
}

#[test]
fn two_thousand_random_seeds_keep_the_invariants() {
    let mut clients = 0;
    for seed in 0..2_000 {
        clients += run(seed, None, false).clients;
    }
    assert!(clients > 4_000, "{clients} client transactions");
}
