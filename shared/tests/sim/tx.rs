//! A simulator endpoint wrapping a [`TransactionLayer`] and a tiny scripted TU.
//!
//! The TU ([`Script`]) answers requests after scripted delays, behaves as a UA core where
//! the transaction layer leaves work to it (it retransmits its 2xx to an INVITE until the
//! ACK comes, RFC 3261 §13.3.1.4, and ACKs every 2xx it receives, §13.2.2.4), optionally
//! CANCELs its INVITEs, and answers CANCELs (§9.2: 200 for the CANCEL, 487 for the INVITE).
//! Every event is recorded with its time in [`TxNode::events`]; [`TxNode::check`] verifies
//! the layer's invariants over a whole run.

use super::{Endpoint, NetConfig, Network, Sim};
use sipsimple::sip::{CSeq, Message, NameAddr, Uri};
use sipsimple::transaction::{
    Config, Dest, Event, Input, Kind, Output, State, TransactionId, TransactionLayer, TransportKind,
};
use sipsimple::Time;
use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::time::Duration;

/// How the TU behaves.
#[derive(Debug, Clone, Default)]
pub struct Script {
    /// Answers per method, as (delay after the request, status code); methods not listed
    /// get [`Script::default_answers`].
    pub answers: BTreeMap<String, Vec<(Duration, u16)>>,
    /// Answers for other methods.
    pub default_answers: Vec<(Duration, u16)>,
    /// UAS core: retransmit 2xx to INVITE until the ACK (T1 doubling to T2, for 64·T1).
    pub retransmit_2xx: bool,
    /// UAC core: ACK every 2xx to INVITE.
    pub ack_2xx: bool,
    /// UAC core: CANCEL an INVITE this long after its first provisional response.
    pub cancel_after: Option<Duration>,
    /// UAS core: answer CANCEL with 200 (or 481) and the INVITE with 487.
    pub answer_cancel: bool,
}

impl Script {
    /// A UA answering every request with 200 at once, with the UA-core duties on.
    pub fn ua() -> Script {
        Script {
            default_answers: vec![(Duration::ZERO, 200)],
            retransmit_2xx: true,
            ack_2xx: true,
            answer_cancel: true,
            ..Script::default()
        }
    }

    /// Sets the answers to `method`.
    pub fn answer(mut self, method: &str, answers: &[(u64, u16)]) -> Script {
        let list = answers
            .iter()
            .map(|(ms, code)| (Duration::from_millis(*ms), *code))
            .collect();
        self.answers.insert(method.to_string(), list);
        self
    }
}

#[derive(Debug)]
enum Task {
    Respond { id: TransactionId, code: u16 },
    Retransmit2xx { key: (String, u32) },
    Cancel { id: TransactionId },
    Send { method: String, to: Dest },
}

#[derive(Debug)]
struct Pending2xx {
    id: TransactionId,
    dest: Dest,
    msg: Message,
    interval: Duration,
    deadline: Time,
}

/// A transaction layer and its scripted TU.
pub struct TxNode {
    /// This endpoint's host.
    pub host: String,
    /// This endpoint's port.
    pub port: u16,
    /// The layer under test.
    pub layer: TransactionLayer,
    /// The TU's behaviour.
    pub script: Script,
    /// Every event the layer emitted, with its time.
    pub events: Vec<(Time, Event)>,
    /// Client transactions started, with their time and method.
    pub started: Vec<(Time, TransactionId, String)>,
    /// Commands the layer refused (the TU ignores them; tests may look).
    pub refused: Vec<(Time, String)>,
    /// ACKs for 2xx this TU sent.
    pub acks_sent: u32,
    outbox: VecDeque<(Dest, Vec<u8>)>,
    tasks: BTreeMap<(Time, u64), Task>,
    task_seq: u64,
    retransmitting: BTreeMap<(String, u32), Pending2xx>,
    cancelled: BTreeSet<TransactionId>,
    call_seq: u32,
}

impl TxNode {
    /// An endpoint at `host:port` with its own layer.
    pub fn new(host: &str, port: u16, config: Config, seed: u64, script: Script) -> TxNode {
        TxNode {
            host: host.to_string(),
            port,
            layer: TransactionLayer::new(config, seed),
            script,
            events: Vec::new(),
            started: Vec::new(),
            refused: Vec::new(),
            acks_sent: 0,
            outbox: VecDeque::new(),
            tasks: BTreeMap::new(),
            task_seq: 0,
            retransmitting: BTreeMap::new(),
            cancelled: BTreeSet::new(),
            call_seq: 0,
        }
    }

    /// This endpoint's address on `transport`.
    pub fn addr(&self, transport: TransportKind) -> Dest {
        Dest::new(transport, self.host.clone(), self.port)
    }

    /// A new request from this endpoint to `to`, with a Via without branch (the layer adds
    /// it), a fresh Call-ID and CSeq 1.
    pub fn new_request(&mut self, method: &str, to: &Dest) -> Message {
        self.call_seq += 1;
        let mut m = Message::request(method, Uri::sip(Some("peer"), &to.host));
        m.push_header(
            "Via",
            format!(
                "SIP/2.0/{} {}:{};rport",
                to.transport.via_name(),
                self.host,
                self.port
            ),
        );
        m.push_header("Max-Forwards", "70");
        m.push_header(
            "From",
            format!("<sip:user@{}>;tag=f{}", self.host, self.call_seq),
        );
        m.push_header("To", format!("<sip:peer@{}>", to.host));
        m.push_header(
            "Call-ID",
            format!("call{}-{}@{}", self.call_seq, self.port, self.host),
        );
        m.push_header("CSeq", format!("1 {method}"));
        m.push_header("Contact", format!("<sip:user@{}:{}>", self.host, self.port));
        m
    }

    /// Starts a client transaction for a new `method` request to `to`.
    pub fn send(&mut self, now: Time, method: &str, to: &Dest) -> TransactionId {
        let req = self.new_request(method, to);
        let id = self
            .layer
            .send_request(now, to.clone(), req)
            .expect("the test's request is valid");
        self.started.push((now, id, method.to_string()));
        self.pump(now);
        id
    }

    /// Starts a client transaction for a new `method` request to `to` at time `at`.
    pub fn send_at(&mut self, at: Time, method: &str, to: &Dest) {
        self.schedule(
            at,
            Task::Send {
                method: method.to_string(),
                to: to.clone(),
            },
        );
    }

    /// The events of transaction `id`, in order.
    pub fn events_of(&self, id: TransactionId) -> Vec<(Time, &Event)> {
        self.events
            .iter()
            .filter(|(_, e)| event_id(e) == Some(id))
            .map(|(t, e)| (*t, e))
            .collect()
    }

    /// The server transactions created, with their requests' methods.
    pub fn requests(&self) -> Vec<(Time, TransactionId, String)> {
        self.events
            .iter()
            .filter_map(|(t, e)| match e {
                Event::Request { id, msg, .. } => {
                    Some((*t, *id, msg.method().unwrap_or("").to_string()))
                }
                _ => None,
            })
            .collect()
    }

    /// Status codes of the responses client transaction `id` passed up.
    pub fn codes(&self, id: TransactionId) -> Vec<u16> {
        self.events_of(id)
            .into_iter()
            .filter_map(|(_, e)| match e {
                Event::Response { msg, .. } => msg.code(),
                _ => None,
            })
            .collect()
    }

    fn schedule(&mut self, at: Time, task: Task) {
        self.task_seq += 1;
        self.tasks.insert((at, self.task_seq), task);
    }

    /// Drains the layer: transmits to the outbox, events to the record and the TU.
    fn pump(&mut self, now: Time) {
        while let Some(out) = self.layer.poll_output() {
            match out {
                Output::Transmit { dest, bytes } => self.outbox.push_back((dest, bytes)),
                Output::Event(e) => {
                    self.events.push((now, e.clone()));
                    self.on_event(now, e);
                }
            }
        }
    }

    fn on_event(&mut self, now: Time, event: Event) {
        match event {
            Event::Request { id, msg, .. } => self.on_request(now, id, &msg),
            Event::Response { id, msg } => self.on_response(now, id, &msg),
            Event::Ack { msg, .. } => {
                if let Some(key) = dialog_key(&msg) {
                    self.retransmitting.remove(&key);
                }
            }
            _ => {}
        }
    }

    fn on_request(&mut self, now: Time, id: TransactionId, msg: &Message) {
        let method = msg.method().unwrap_or("").to_string();
        if method == "CANCEL" && self.script.answer_cancel {
            let code = match self.layer.cancel_target(msg) {
                Some(invite) => {
                    if self.layer.state(invite) == Some(State::Proceeding) {
                        self.respond(now, invite, 487);
                    }
                    200
                }
                None => 481,
            };
            self.respond(now, id, code);
            return;
        }
        let answers = self
            .script
            .answers
            .get(&method)
            .unwrap_or(&self.script.default_answers)
            .clone();
        for (delay, code) in answers {
            self.schedule(now + delay, Task::Respond { id, code });
        }
    }

    fn on_response(&mut self, now: Time, id: TransactionId, msg: &Message) {
        let Some(code) = msg.code() else { return };
        let is_invite = self.layer.kind(id) == Some(Kind::InviteClient);
        if is_invite && (100..200).contains(&code) {
            if let Some(after) = self.script.cancel_after {
                if self.cancelled.insert(id) {
                    self.schedule(now + after, Task::Cancel { id });
                }
            }
        }
        if is_invite && (200..300).contains(&code) && self.script.ack_2xx {
            self.send_ack(id, msg);
        }
    }

    /// The ACK for a 2xx (§13.2.2.4): a new branch, CSeq number of the INVITE.
    fn send_ack(&mut self, id: TransactionId, ok: &Message) {
        let (Some(req), Some(dest)) = (self.layer.request(id), self.layer.dest(id)) else {
            return;
        };
        let (req, dest) = (req.clone(), dest.clone());
        let target = ok
            .header("Contact")
            .and_then(|c| NameAddr::parse(c).ok())
            .map(|c| c.uri)
            .or_else(|| req.request_uri().cloned())
            .expect("a target");
        let mut ack = Message::request("ACK", target);
        let branch = self.layer.new_branch();
        ack.push_header(
            "Via",
            format!(
                "SIP/2.0/{} {}:{};branch={branch}",
                dest.transport.via_name(),
                self.host,
                self.port
            ),
        );
        ack.push_header("Max-Forwards", "70");
        for h in ["From", "Call-ID"] {
            if let Some(v) = req.header(h) {
                ack.push_header(h, v);
            }
        }
        if let Some(to) = ok.header("To") {
            ack.push_header("To", to);
        }
        let seq = req
            .header("CSeq")
            .and_then(|c| CSeq::parse(c).ok())
            .map_or(0, |c| c.seq);
        ack.push_header("CSeq", format!("{seq} ACK"));
        self.layer.send_stateless(dest, &ack);
        self.acks_sent += 1;
    }

    /// Sends a response with a To tag, remembering 2xx to INVITE for retransmission.
    fn respond(&mut self, now: Time, id: TransactionId, code: u16) {
        let Some(req) = self.layer.request(id) else {
            self.refused.push((now, format!("{code} on gone {id}")));
            return;
        };
        let mut resp = Message::response_to(req, code, "Scripted");
        if code > 100 {
            if let Some(to) = req.header("To").and_then(|t| NameAddr::parse(t).ok()) {
                let mut to = to;
                if to.tag().is_none() {
                    to.set_param("tag", Some(&format!("t{}", self.port)));
                }
                resp.set_header("To", to.to_string());
            }
            resp.push_header("Contact", format!("<sip:user@{}:{}>", self.host, self.port));
        }
        let invite_2xx = req.method() == Some("INVITE") && (200..300).contains(&code);
        let key = dialog_key(req);
        let dest = self.layer.dest(id).cloned();
        match self.layer.respond(now, id, resp.clone()) {
            Ok(()) if invite_2xx && self.script.retransmit_2xx => {
                if let (Some(key), Some(dest)) = (key, dest) {
                    let t1 = self.layer.config().t1;
                    self.retransmitting.insert(
                        key.clone(),
                        Pending2xx {
                            id,
                            dest,
                            msg: resp,
                            interval: t1,
                            deadline: now + self.layer.config().timeout(),
                        },
                    );
                    self.schedule(now + t1, Task::Retransmit2xx { key });
                }
            }
            Ok(()) => {}
            Err(e) => self.refused.push((now, format!("{code} on {id}: {e}"))),
        }
    }

    fn run_task(&mut self, now: Time, task: Task) {
        match task {
            Task::Respond { id, code } => self.respond(now, id, code),
            Task::Cancel { id } => match self.layer.cancel(now, id) {
                Ok(cancel) => self.started.push((now, cancel, "CANCEL".into())),
                Err(e) => self.refused.push((now, format!("CANCEL of {id}: {e}"))),
            },
            Task::Send { method, to } => {
                self.send(now, &method, &to);
            }
            Task::Retransmit2xx { key } => {
                let Some(p) = self.retransmitting.get_mut(&key) else {
                    return;
                };
                if now >= p.deadline {
                    self.retransmitting.remove(&key);
                    return;
                }
                let (id, dest, msg) = (p.id, p.dest.clone(), p.msg.clone());
                p.interval = (p.interval * 2).min(self.layer.config().t2);
                let next = now + p.interval;
                if self.layer.respond(now, id, msg.clone()).is_err() {
                    // After Timer L the core sends on its own (RFC 6026 §8.7).
                    self.layer.send_stateless(dest, &msg);
                }
                self.schedule(next, Task::Retransmit2xx { key });
            }
        }
    }

    /// Checks the layer's invariants over the run so far, which must have gone quiet:
    /// exactly one Terminated per transaction and nothing after it; for each client, exactly
    /// one outcome (a first final response, a timeout or a transport error), at most one
    /// non-2xx final and nothing but 2xx after a 2xx; no transaction and no timer left.
    pub fn check(&self) -> Result<(), String> {
        let mut ids: BTreeSet<TransactionId> = self.started.iter().map(|(_, id, _)| *id).collect();
        ids.extend(self.requests().iter().map(|(_, id, _)| *id));
        for (_, e) in &self.events {
            if let Some(id) = event_id(e) {
                if !ids.contains(&id) {
                    return Err(format!("event for unknown {id}: {e:?}"));
                }
            }
        }
        let clients: BTreeSet<TransactionId> = self.started.iter().map(|(_, id, _)| *id).collect();
        for id in &ids {
            let evs = self.events_of(*id);
            let terminated = evs
                .iter()
                .filter(|(_, e)| matches!(e, Event::Terminated { .. }))
                .count();
            if terminated != 1 {
                return Err(format!("{id} terminated {terminated} times: {evs:?}"));
            }
            if !matches!(evs.last(), Some((_, Event::Terminated { .. }))) {
                return Err(format!("{id} has events after Terminated: {evs:?}"));
            }
            let timeouts = evs
                .iter()
                .filter(|(_, e)| matches!(e, Event::Timeout { .. }))
                .count();
            let errors = evs
                .iter()
                .filter(|(_, e)| matches!(e, Event::TransportError { .. }))
                .count();
            if timeouts + errors > 1 {
                return Err(format!("{id}: {timeouts} timeouts, {errors} errors"));
            }
            if clients.contains(id) {
                let codes = self.codes(*id);
                let finals: Vec<u16> = codes.iter().copied().filter(|c| *c >= 200).collect();
                let outcomes = usize::from(!finals.is_empty()) + timeouts + errors;
                if outcomes != 1 {
                    return Err(format!("{id}: {outcomes} outcomes: {evs:?}"));
                }
                if let Some(first) = finals.first() {
                    let first_at = codes.iter().position(|c| c == first).unwrap_or(0);
                    let after = &codes[first_at + 1..];
                    let ok = if (200..300).contains(first) {
                        after.iter().all(|c| (200..300).contains(c))
                    } else {
                        after.is_empty()
                    };
                    if !ok {
                        return Err(format!("{id}: responses after final: {codes:?}"));
                    }
                }
            }
        }
        if !self.layer.is_empty() {
            return Err(format!("{} transactions left", self.layer.len()));
        }
        if let Some(t) = self.layer.poll_timeout() {
            return Err(format!("a timer left at {t:?}"));
        }
        Ok(())
    }
}

/// The transaction an event is about.
pub fn event_id(e: &Event) -> Option<TransactionId> {
    match e {
        Event::Request { id, .. }
        | Event::Response { id, .. }
        | Event::Timeout { id }
        | Event::TransportError { id }
        | Event::Terminated { id } => Some(*id),
        Event::Ack { id, .. } => *id,
    }
}

/// Call-ID and CSeq number: what ties an ACK to the 2xx it acknowledges.
fn dialog_key(msg: &Message) -> Option<(String, u32)> {
    let call_id = msg.header("Call-ID")?.to_string();
    let seq = CSeq::parse(msg.header("CSeq")?).ok()?.seq;
    Some((call_id, seq))
}

impl Endpoint for TxNode {
    fn handle_receive(&mut self, now: Time, source: Dest, bytes: Vec<u8>) {
        self.layer
            .handle_input(now, Input::ReceivedBytes { source, bytes });
        self.pump(now);
    }

    fn handle_timeout(&mut self, now: Time) {
        while let Some(entry) = self.tasks.first_entry() {
            if entry.key().0 > now {
                break;
            }
            let task = entry.remove();
            self.run_task(now, task);
            self.pump(now);
        }
        if self.layer.poll_timeout().is_some_and(|t| t <= now) {
            self.layer.handle_input(now, Input::Timeout);
        }
        self.pump(now);
    }

    fn handle_transport_error(&mut self, now: Time, dest: Dest) {
        self.layer.handle_input(now, Input::TransportError { dest });
        self.pump(now);
    }

    fn poll_transmit(&mut self) -> Option<(Dest, Vec<u8>)> {
        self.outbox.pop_front()
    }

    fn poll_timeout(&self) -> Option<Time> {
        let task = self.tasks.keys().next().map(|(t, _)| *t);
        match (self.layer.poll_timeout(), task) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }
}

/// Host of the first endpoint of [`pair`].
pub const A: &str = "10.0.0.1";
/// Host of the second endpoint of [`pair`].
pub const B: &str = "10.0.0.2";

/// Two endpoints, `A:5060` (index 0, the caller) and `B:5060` (index 1), with the same
/// layer configuration, starting at time 0.
pub fn pair(net: NetConfig, seed: u64, config: Config, a: Script, b: Script) -> Sim<TxNode> {
    let mut sim = Sim::new(Time::from_millis(0), Network::new(net, seed));
    sim.add(A, 5060, TxNode::new(A, 5060, config.clone(), seed ^ 0xA, a));
    sim.add(B, 5060, TxNode::new(B, 5060, config, seed ^ 0xB, b));
    sim
}

/// Shorthand for a time in milliseconds.
pub fn ms(t: u64) -> Time {
    Time::from_millis(t)
}
