//! A deterministic network simulator for the sans-IO core, in the spirit of quinn's `Pair`
//! and str0m's netem: no sockets, no threads, no sleeps.
//!
//! - **Clock**: [`Sim::now`] is virtual. [`Sim::step`] flushes what the endpoints want to
//!   send, then jumps straight to the earliest pending event, a packet delivery or an
//!   endpoint's timeout, and runs it. Deliveries go first when times tie.
//! - **Network**: [`Network`] carries packets between endpoints identified by host and port,
//!   with seeded loss, delay, jitter (hence reordering) and duplication ([`NetConfig`]).
//!   Packets to a reliable destination ([`Dest::is_reliable`]) are never lost, duplicated
//!   nor reordered, but may fail with a transport error reported to the sender
//!   ([`NetConfig::failure`]). [`Network::set_filter`] scripts drops ("lose the first two
//!   INVITEs"), and [`Network::log`] records the fate of every packet for assertions.
//! - **Endpoints**: anything implementing [`Endpoint`]: bytes in, bytes out, a timeout. The
//!   transaction-layer endpoint with a small scripted TU is in [`tx`]; user agents
//!   ([`ua::UaNode`]) and a stateless proxy and registrar ([`proxy::Proxy`]) for the session
//!   tests are in [`ua`] and [`proxy`], mixed in one simulation through [`ua::Node`].
//!
//! Use it from a test file with `mod sim;` (this directory is not a test target itself).
//! Everything is seeded: one seed, one run.

#![allow(dead_code)]

pub mod msrp;
pub mod proxy;
pub mod tx;
pub mod ua;

use sipsimple::rng::Rng;
use sipsimple::transaction::Dest;
use sipsimple::Time;
use std::cmp::Reverse;
use std::collections::{BTreeMap, BinaryHeap};
use std::time::Duration;

/// One side of the simulated network.
pub trait Endpoint {
    /// A message arrived from `source` (the sender's address, on the transport it used).
    fn handle_receive(&mut self, now: Time, source: Dest, bytes: Vec<u8>);
    /// The endpoint's timeout ([`Endpoint::poll_timeout`]) is due.
    fn handle_timeout(&mut self, now: Time);
    /// A send to `dest` failed.
    fn handle_transport_error(&mut self, now: Time, dest: Dest);
    /// The next message to send.
    fn poll_transmit(&mut self) -> Option<(Dest, Vec<u8>)>;
    /// When the endpoint next wants [`Endpoint::handle_timeout`].
    fn poll_timeout(&self) -> Option<Time>;
}

/// How the network treats packets.
#[derive(Debug, Clone)]
pub struct NetConfig {
    /// Probability that an unreliable packet is lost.
    pub loss: f64,
    /// One-way delay.
    pub delay: Duration,
    /// Extra delay, uniform in `0..=jitter`; unreliable packets may overtake each other.
    pub jitter: Duration,
    /// Probability that an unreliable packet is delivered twice.
    pub duplicate: f64,
    /// Probability that a reliable send fails with a transport error.
    pub failure: f64,
}

impl Default for NetConfig {
    /// A perfect network with 10 ms of delay.
    fn default() -> Self {
        NetConfig {
            loss: 0.0,
            delay: Duration::from_millis(10),
            jitter: Duration::ZERO,
            duplicate: 0.0,
            failure: 0.0,
        }
    }
}

/// A packet on the wire.
#[derive(Debug, Clone)]
pub struct Packet {
    /// The sender's address (on the destination's transport).
    pub from: Dest,
    /// The destination.
    pub to: Dest,
    /// The payload.
    pub bytes: Vec<u8>,
}

impl Packet {
    /// The first line of the payload, for logs and assertions.
    pub fn first_line(&self) -> String {
        first_line(&self.bytes)
    }
}

/// The first line of a message.
pub fn first_line(bytes: &[u8]) -> String {
    let end = bytes
        .windows(2)
        .position(|w| w == b"\r\n")
        .unwrap_or(bytes.len());
    String::from_utf8_lossy(&bytes[..end]).into_owned()
}

/// What became of a packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fate {
    /// Delivered at this time (a duplicate is logged twice).
    Delivered(Time),
    /// Lost by the random loss.
    Lost,
    /// Dropped by the test's filter.
    Filtered,
    /// A reliable send failed; the sender got a transport error.
    Failed,
    /// No endpoint has the destination address.
    Unroutable,
}

/// One line of [`Network::log`].
#[derive(Debug, Clone)]
pub struct Record {
    /// When it was sent.
    pub sent: Time,
    /// The sender.
    pub from: Dest,
    /// The destination.
    pub to: Dest,
    /// The payload's first line.
    pub first_line: String,
    /// The payload.
    pub bytes: Vec<u8>,
    /// What happened to it. A delivery is logged when scheduled, at its delivery time.
    pub fate: Fate,
}

type Filter = Box<dyn FnMut(Time, &Packet) -> bool>;

/// The simulated network: packets in flight, ordered by delivery time.
pub struct Network {
    config: NetConfig,
    rng: Rng,
    seq: u64,
    in_flight: BinaryHeap<Reverse<(Time, u64)>>,
    packets: BTreeMap<u64, Packet>,
    /// Last delivery time per reliable (from, to) pair, to keep streams in order.
    fifo: BTreeMap<(Dest, Dest), Time>,
    filter: Option<Filter>,
    /// Every packet sent and its fate, in send order.
    pub log: Vec<Record>,
}

impl Network {
    /// A network with this behaviour and seed.
    pub fn new(config: NetConfig, seed: u64) -> Network {
        Network {
            config,
            rng: Rng::from_seed(seed),
            seq: 0,
            in_flight: BinaryHeap::new(),
            packets: BTreeMap::new(),
            fifo: BTreeMap::new(),
            filter: None,
            log: Vec::new(),
        }
    }

    /// The behaviour, for changes mid-run (a partition: `loss = 1.0`).
    pub fn config_mut(&mut self) -> &mut NetConfig {
        &mut self.config
    }

    /// Drops every packet for which `keep` returns `false`, before any random fate.
    pub fn set_filter(&mut self, keep: impl FnMut(Time, &Packet) -> bool + 'static) {
        self.filter = Some(Box::new(keep));
    }

    /// The records whose first line starts with `prefix`.
    pub fn sent_with(&self, prefix: &str) -> Vec<&Record> {
        self.log
            .iter()
            .filter(|r| r.first_line.starts_with(prefix))
            .collect()
    }

    fn chance(&mut self, p: f64) -> bool {
        if p <= 0.0 {
            return false;
        }
        let x = (self.rng.next_u64() >> 11) as f64 / (1u64 << 53) as f64;
        x < p
    }

    fn latency(&mut self) -> Duration {
        let j = self.config.jitter.as_millis() as u64;
        let extra = if j == 0 {
            0
        } else {
            self.rng.next_u64() % (j + 1)
        };
        self.config.delay + Duration::from_millis(extra)
    }

    /// Sends a packet; `false` when a reliable send failed (the sender gets an error).
    fn send(&mut self, now: Time, packet: Packet, routable: bool) -> bool {
        let mut record = Record {
            sent: now,
            from: packet.from.clone(),
            to: packet.to.clone(),
            first_line: packet.first_line(),
            bytes: packet.bytes.clone(),
            fate: Fate::Lost,
        };
        let keep = match &mut self.filter {
            Some(f) => f(now, &packet),
            None => true,
        };
        if !keep {
            record.fate = Fate::Filtered;
            self.log.push(record);
            return true;
        }
        if !routable {
            record.fate = Fate::Unroutable;
            self.log.push(record);
            return true;
        }
        if packet.to.is_reliable() {
            if self.chance(self.config.failure) {
                record.fate = Fate::Failed;
                self.log.push(record);
                return false;
            }
            let pair = (packet.from.clone(), packet.to.clone());
            let mut at = now + self.latency();
            if let Some(last) = self.fifo.get(&pair) {
                at = at.max(*last);
            }
            self.fifo.insert(pair, at);
            record.fate = Fate::Delivered(at);
            self.log.push(record);
            self.enqueue(at, packet);
            return true;
        }
        if self.chance(self.config.loss) {
            self.log.push(record);
            return true;
        }
        let copies = if self.chance(self.config.duplicate) {
            2
        } else {
            1
        };
        for _ in 0..copies {
            let at = now + self.latency();
            let mut r = record.clone();
            r.fate = Fate::Delivered(at);
            self.log.push(r);
            self.enqueue(at, packet.clone());
        }
        true
    }

    fn enqueue(&mut self, at: Time, packet: Packet) {
        self.seq += 1;
        self.in_flight.push(Reverse((at, self.seq)));
        self.packets.insert(self.seq, packet);
    }

    /// When the next packet arrives.
    pub fn next_delivery(&self) -> Option<Time> {
        self.in_flight.peek().map(|Reverse((at, _))| *at)
    }

    /// Packets still in flight.
    pub fn in_flight(&self) -> usize {
        self.packets.len()
    }

    fn pop_due(&mut self, now: Time) -> Option<Packet> {
        let Reverse((at, seq)) = *self.in_flight.peek()?;
        if at > now {
            return None;
        }
        self.in_flight.pop();
        self.packets.remove(&seq)
    }
}

struct Node<E> {
    host: String,
    port: u16,
    endpoint: E,
}

/// Endpoints on a network under a virtual clock.
pub struct Sim<E> {
    /// The virtual time: only moves forward, in jumps.
    pub now: Time,
    /// The network between the endpoints.
    pub net: Network,
    nodes: Vec<Node<E>>,
    /// Steps taken, a guard against runaway runs.
    pub steps: u64,
}

impl<E: Endpoint> Sim<E> {
    /// An empty simulation starting at `start`.
    pub fn new(start: Time, net: Network) -> Sim<E> {
        Sim {
            now: start,
            net,
            nodes: Vec::new(),
            steps: 0,
        }
    }

    /// Adds an endpoint reachable at `host:port`; returns its index.
    pub fn add(&mut self, host: &str, port: u16, endpoint: E) -> usize {
        self.nodes.push(Node {
            host: host.to_string(),
            port,
            endpoint,
        });
        self.nodes.len() - 1
    }

    /// Endpoint `i`.
    pub fn node(&self, i: usize) -> &E {
        &self.nodes[i].endpoint
    }

    /// Endpoint `i`, mutably (to start requests between steps).
    pub fn node_mut(&mut self, i: usize) -> &mut E {
        &mut self.nodes[i].endpoint
    }

    /// How many endpoints there are.
    pub fn len(&self) -> usize {
        self.nodes.len()
    }

    fn index_of(&self, dest: &Dest) -> Option<usize> {
        self.nodes
            .iter()
            .position(|n| n.host == dest.host && n.port == dest.port)
    }

    /// Moves everything the endpoints want to send onto the network; failed reliable sends
    /// are reported back at once (which may make the endpoint send more).
    fn flush(&mut self) {
        let mut rounds = 0;
        loop {
            let mut any = false;
            for i in 0..self.nodes.len() {
                while let Some((to, bytes)) = self.nodes[i].endpoint.poll_transmit() {
                    any = true;
                    let from =
                        Dest::new(to.transport, self.nodes[i].host.clone(), self.nodes[i].port);
                    let routable = self.index_of(&to).is_some();
                    let packet = Packet {
                        from,
                        to: to.clone(),
                        bytes,
                    };
                    if !self.net.send(self.now, packet, routable) {
                        self.nodes[i].endpoint.handle_transport_error(self.now, to);
                    }
                }
            }
            rounds += 1;
            assert!(rounds < 10_000, "endpoints keep sending at {:?}", self.now);
            if !any {
                return;
            }
        }
    }

    /// When the next thing happens, if anything is pending.
    pub fn next_event(&self) -> Option<Time> {
        let timers = self
            .nodes
            .iter()
            .filter_map(|n| n.endpoint.poll_timeout())
            .min();
        match (self.net.next_delivery(), timers) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// Runs the earliest pending event; `false` when nothing is pending.
    pub fn step(&mut self) -> bool {
        self.flush();
        let Some(next) = self.next_event() else {
            return false;
        };
        self.steps += 1;
        self.now = self.now.max(next);
        let now = self.now;
        if let Some(packet) = self.net.pop_due(now) {
            if let Some(i) = self.index_of(&packet.to) {
                self.nodes[i]
                    .endpoint
                    .handle_receive(now, packet.from, packet.bytes);
            }
        } else {
            for i in 0..self.nodes.len() {
                if self.nodes[i]
                    .endpoint
                    .poll_timeout()
                    .is_some_and(|t| t <= now)
                {
                    self.nodes[i].endpoint.handle_timeout(now);
                }
            }
        }
        self.flush();
        true
    }

    /// Steps until nothing is pending or the next event is after `until`; returns `true`
    /// when the simulation went quiet.
    pub fn run_until(&mut self, until: Time) -> bool {
        loop {
            self.flush();
            match self.next_event() {
                None => return true,
                Some(t) if t > until => {
                    self.now = self.now.max(until);
                    return false;
                }
                Some(_) => {
                    self.step();
                }
            }
        }
    }

    /// Steps until nothing is pending; panics past `limit` of virtual time from now.
    pub fn run_to_quiet(&mut self, limit: Duration) {
        let until = self.now + limit;
        assert!(
            self.run_until(until),
            "still busy after {limit:?} of virtual time"
        );
    }
}
