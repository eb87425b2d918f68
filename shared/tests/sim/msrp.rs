//! An in-memory MSRP "network" for the simulator: the TCP connections the user agents ask
//! for with [`MsrpOutput`]s, carried with a fixed delay under the simulator's virtual clock.
//! Each [`UaNode`](super::ua::UaNode) with an [`MsrpPort`] plays the shell: it connects
//! where `Connect` says, routes an accepted connection by its first request's To-Path
//! session id ([`msrp_session_id_of`], `msrp_route`), gives file pieces for `NeedData` from
//! [`MsrpPort::files_out`] and writes `FileData` into [`MsrpPort::files_in`].

use super::proxy::Proxy;
use super::ua::{Node, UaNode};
use super::{NetConfig, Network, Sim};
use sipsimple::transaction::Dest;
use sipsimple::ua::{msrp_session_id_of, MsrpOutput, MsrpPeek, Transport};
use sipsimple::{AccountConfig, Time, UserAgent};
use std::cell::RefCell;
use std::collections::{BTreeMap, VecDeque};
use std::rc::Rc;
use std::time::Duration;

/// A stream: session id and m-line.
pub type Key = (u64, usize);

/// What arrives at one end of a connection.
#[derive(Debug, Clone)]
enum Delivery {
    /// Our connect succeeded.
    Connected(usize, Key),
    /// Our connect failed.
    Refused(Key),
    /// Bytes from the other end.
    Bytes(usize, Vec<u8>),
    /// The other end closed, or the connection was cut.
    Closed(usize),
}

/// One connection: the two ends' hosts and streams (the passive end's once routed).
#[derive(Debug, Clone)]
struct Conn {
    ends: [(String, Option<Key>); 2],
    open: bool,
}

/// The connections and what is in flight on them, shared by every port.
#[derive(Debug, Default)]
pub struct Wire {
    /// One-way delay.
    pub delay: Duration,
    conns: Vec<Conn>,
    /// Listeners: `host:port` to the node's host.
    listeners: BTreeMap<(String, u16), String>,
    /// Deliveries by destination host, in order.
    inbox: BTreeMap<String, VecDeque<(Time, Delivery)>>,
    /// Bytes carried, for assertions.
    pub bytes: u64,
}

impl Wire {
    fn push(&mut self, host: &str, at: Time, d: Delivery) {
        self.inbox
            .entry(host.to_string())
            .or_default()
            .push_back((at, d));
    }

    /// Cuts every open connection now: both ends learn it closed.
    pub fn cut_all(&mut self, now: Time) {
        for i in 0..self.conns.len() {
            if self.conns[i].open {
                self.conns[i].open = false;
                let ends = self.conns[i].ends.clone();
                for (host, _) in ends {
                    self.push(&host, now, Delivery::Closed(i));
                }
            }
        }
    }

    /// How many connections were made.
    pub fn connections(&self) -> usize {
        self.conns.len()
    }
}

/// One user agent's side of the MSRP network.
#[derive(Debug)]
pub struct MsrpPort {
    /// The shared wire.
    pub wire: Rc<RefCell<Wire>>,
    /// Our host.
    pub host: String,
    /// Files we send, by session.
    pub files_out: BTreeMap<u64, Vec<u8>>,
    /// Files we receive, by stream.
    pub files_in: BTreeMap<Key, Vec<u8>>,
    /// The connection outputs (`Connect`, `Listen`, `Close`) seen, in order.
    pub log: Vec<MsrpOutput>,
    /// Accepted connections not yet routed, with what they sent.
    unrouted: BTreeMap<usize, Vec<u8>>,
}

impl MsrpPort {
    /// A port for `host` listening at `listen` on `wire`.
    pub fn new(wire: Rc<RefCell<Wire>>, host: &str, listen: (String, u16)) -> MsrpPort {
        wire.borrow_mut().listeners.insert(listen, host.to_string());
        MsrpPort {
            wire,
            host: host.to_string(),
            files_out: BTreeMap::new(),
            files_in: BTreeMap::new(),
            log: Vec::new(),
            unrouted: BTreeMap::new(),
        }
    }

    /// When the next delivery for us is due.
    pub fn next_due(&self) -> Option<Time> {
        let w = self.wire.borrow();
        w.inbox.get(&self.host)?.front().map(|(t, _)| *t)
    }

    /// The connection whose end on this host carries `key`, and that end's index.
    fn conn_of(&self, key: Key) -> Option<(usize, usize)> {
        let w = self.wire.borrow();
        w.conns.iter().enumerate().find_map(|(i, c)| {
            (0..2)
                .find(|e| c.open && c.ends[*e].0 == self.host && c.ends[*e].1 == Some(key))
                .map(|e| (i, e))
        })
    }

    /// Carries out one output of the user agent.
    pub fn on_output(&mut self, ua: &mut UserAgent, now: Time, out: MsrpOutput) {
        let delay = self.wire.borrow().delay;
        if matches!(
            out,
            MsrpOutput::Connect { .. } | MsrpOutput::Listen { .. } | MsrpOutput::Close { .. }
        ) {
            self.log.push(out.clone());
        }
        match out {
            MsrpOutput::Connect {
                session,
                stream,
                to,
                ..
            } => {
                let key = (session, stream);
                let mut w = self.wire.borrow_mut();
                match w.listeners.get(&to).cloned() {
                    Some(peer) => {
                        w.conns.push(Conn {
                            ends: [(self.host.clone(), Some(key)), (peer, None)],
                            open: true,
                        });
                        let i = w.conns.len() - 1;
                        w.push(&self.host, now + delay, Delivery::Connected(i, key));
                    }
                    None => w.push(&self.host, now + delay, Delivery::Refused(key)),
                }
            }
            MsrpOutput::Listen { .. } => {
                let waiting: Vec<usize> = self.unrouted.keys().copied().collect();
                for c in waiting {
                    self.route(ua, now, c);
                }
            }
            MsrpOutput::Send {
                session,
                stream,
                bytes,
            } => {
                if let Some((i, e)) = self.conn_of((session, stream)) {
                    let mut w = self.wire.borrow_mut();
                    let peer = w.conns[i].ends[1 - e].0.clone();
                    w.bytes += bytes.len() as u64;
                    w.push(&peer, now + delay, Delivery::Bytes(i, bytes));
                }
            }
            MsrpOutput::Close { session, stream } => {
                if let Some((i, e)) = self.conn_of((session, stream)) {
                    let mut w = self.wire.borrow_mut();
                    w.conns[i].open = false;
                    let peer = w.conns[i].ends[1 - e].0.clone();
                    w.push(&peer, now + delay, Delivery::Closed(i));
                }
            }
            MsrpOutput::NeedData {
                session,
                stream,
                offset,
                max_len,
            } => {
                let piece = self.files_out.get(&session).map(|f| {
                    let start = (offset as usize).min(f.len());
                    f[start..(start + max_len).min(f.len())].to_vec()
                });
                if let Some(p) = piece.filter(|p| !p.is_empty()) {
                    ua.push_file_data(now, session, stream, offset, &p)
                        .expect("data asked for");
                }
            }
            MsrpOutput::FileData {
                session,
                stream,
                offset,
                bytes,
            } => {
                let f = self.files_in.entry((session, stream)).or_default();
                let end = offset as usize + bytes.len();
                if f.len() < end {
                    f.resize(end, 0);
                }
                f[offset as usize..end].copy_from_slice(&bytes);
            }
        }
    }

    /// Routes an accepted connection once its first request names a waiting stream.
    fn route(&mut self, ua: &mut UserAgent, now: Time, c: usize) {
        let Some(buf) = self.unrouted.get(&c) else {
            return;
        };
        let MsrpPeek::SessionId(id) = msrp_session_id_of(buf) else {
            return;
        };
        let Some(key) = ua.msrp_route(&id) else {
            return;
        };
        let buf = self.unrouted.remove(&c).unwrap_or_default();
        {
            let mut w = self.wire.borrow_mut();
            if let Some(end) = w.conns[c].ends.iter_mut().find(|e| e.1.is_none()) {
                end.1 = Some(key);
            }
        }
        ua.handle_msrp_connected(now, key.0, key.1)
            .expect("a waiting stream");
        ua.handle_msrp_input(now, key.0, key.1, &buf)
            .expect("a connected stream");
    }

    /// Our end of connection `c`, if routed.
    fn my_key(&self, c: usize) -> Option<Key> {
        let w = self.wire.borrow();
        let conn = w.conns.get(c)?;
        conn.ends
            .iter()
            .find(|e| e.0 == self.host && e.1.is_some())
            .and_then(|e| e.1)
    }

    /// Handles the deliveries due at `now`; returns `true` if there were any.
    pub fn deliver_due(&mut self, ua: &mut UserAgent, now: Time) -> bool {
        let mut any = false;
        loop {
            let next = {
                let mut w = self.wire.borrow_mut();
                let q = w.inbox.entry(self.host.clone()).or_default();
                match q.front() {
                    Some((t, _)) if *t <= now => q.pop_front().map(|(_, d)| d),
                    _ => None,
                }
            };
            let Some(d) = next else {
                return any;
            };
            any = true;
            match d {
                Delivery::Connected(c, key) => {
                    if self.wire.borrow().conns[c].open {
                        let _ = ua.handle_msrp_connected(now, key.0, key.1);
                    }
                }
                Delivery::Refused(key) => {
                    let _ = ua.handle_msrp_closed(now, key.0, key.1);
                }
                Delivery::Bytes(c, bytes) => {
                    if !self.wire.borrow().conns[c].open {
                        continue;
                    }
                    match self.my_key(c) {
                        Some(k) => {
                            let _ = ua.handle_msrp_input(now, k.0, k.1, &bytes);
                        }
                        None => {
                            self.unrouted.entry(c).or_default().extend(bytes);
                            self.route(ua, now, c);
                        }
                    }
                }
                Delivery::Closed(c) => {
                    self.wire.borrow_mut().conns[c].open = false;
                    self.unrouted.remove(&c);
                    if let Some(k) = self.my_key(c) {
                        let _ = ua.handle_msrp_closed(now, k.0, k.1);
                    }
                }
            }
        }
    }
}

/// Like [`super::ua::world`], with MSRP: each user agent `name` (node `i`, host
/// `10.0.0.<i>`) announces `msrp://10.0.0.<i>:2855/...;tcp` (plain TCP) and has an
/// [`MsrpPort`] on one shared [`Wire`] with `delay`. Returns the simulation and the wire.
pub fn msrp_world(seed: u64, names: &[&str], delay: Duration) -> (Sim<Node>, Rc<RefCell<Wire>>) {
    let wire = Rc::new(RefCell::new(Wire {
        delay,
        ..Wire::default()
    }));
    let mut sim = Sim::new(
        Time::from_millis(0),
        Network::new(NetConfig::default(), seed),
    );
    let mut p = Proxy::new(super::ua::PROXY, 5060, super::ua::DOMAIN);
    let transport = Transport::Tcp;
    let to_proxy = Dest::new(transport.kind(), super::ua::PROXY, 5060);
    let mut uas = Vec::new();
    for (i, name) in names.iter().enumerate() {
        let host = format!("10.0.0.{}", i + 1);
        let mut cfg = AccountConfig::new(&format!("{name}@{}", super::ua::DOMAIN), "secret");
        cfg.transport = transport;
        cfg.user_agent = format!("sim-{name}");
        cfg.msrp_listen = Some((host.clone(), 2855));
        cfg.msrp_tls = false;
        let mut node = UaNode::with_config(
            cfg,
            to_proxy.clone(),
            seed.wrapping_mul(31).wrapping_add(i as u64 + 1),
        );
        node.msrp = Some(MsrpPort::new(wire.clone(), &host, (host.clone(), 2855)));
        let flow = Dest::new(transport.kind(), host.clone(), 5060);
        p.bind(name, node.ua.contact().clone(), flow);
        uas.push((host, node));
    }
    sim.add(super::ua::PROXY, 5060, Node::Proxy(Box::new(p)));
    for (host, node) in uas {
        sim.add(&host, 5060, Node::Ua(Box::new(node)));
    }
    (sim, wire)
}
