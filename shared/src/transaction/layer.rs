//! The transaction layer: creates client transactions for the TU's requests and server
//! transactions for new requests, matches what arrives to them (RFC 3261 §17.1.3, §17.2.3,
//! §9.2), runs their timers and forgets each the instant it terminates (§17.1.1.2).

use super::client::Client;
use super::client_invite::{build_cancel, ClientInvite};
use super::key::{replace_top_via, stamp_via, top_via, ClientKey, ServerKey, MAGIC_COOKIE};
use super::server::Server;
use super::server_invite::ServerInvite;
use super::timers::{Config, Timer, TimerSet};
use super::{Action, Dest, Error, Event, Input, Kind, Output, State, TransactionId};
use crate::rng::Rng;
use crate::sip::{CSeq, Message};
use crate::time::Time;
use std::collections::{BTreeMap, BTreeSet, VecDeque};

/// Every transaction of one SIP element, behind the sans-IO drive loop described in the
/// [module docs](super).
#[derive(Debug)]
pub struct TransactionLayer {
    config: Config,
    rng: Rng,
    next_id: u64,
    /// Live transactions; a `BTreeMap` so that fan-outs run in a repeatable order.
    txs: BTreeMap<TransactionId, Entry>,
    /// Indexes for matching. Ordered maps rather than hash maps: no hash seed to draw on
    /// wasm32, and no hash flooding by peers choosing branches.
    clients: BTreeMap<ClientKey, TransactionId>,
    servers: BTreeMap<ServerKey, TransactionId>,
    /// Each live transaction's earliest deadline: the layer's wake-up is the first entry.
    schedule: BTreeSet<(Time, TransactionId)>,
    outputs: VecDeque<Output>,
    /// Scratch space for the actions of the machine being driven.
    actions: Vec<Action>,
}

#[derive(Debug)]
struct Entry {
    dest: Dest,
    key: Key,
    machine: Machine,
    /// The deadline this entry has in `schedule`.
    wake: Option<Time>,
}

#[derive(Debug)]
enum Key {
    Client(ClientKey),
    Server(ServerKey),
}

#[derive(Debug)]
enum Machine {
    ClientInvite(ClientInvite),
    Client(Client),
    ServerInvite(ServerInvite),
    Server(Server),
}

impl Machine {
    fn kind(&self) -> Kind {
        match self {
            Machine::ClientInvite(_) => Kind::InviteClient,
            Machine::Client(_) => Kind::NonInviteClient,
            Machine::ServerInvite(_) => Kind::InviteServer,
            Machine::Server(_) => Kind::NonInviteServer,
        }
    }

    fn state(&self) -> State {
        match self {
            Machine::ClientInvite(m) => m.state(),
            Machine::Client(m) => m.state(),
            Machine::ServerInvite(m) => m.state(),
            Machine::Server(m) => m.state(),
        }
    }

    fn request(&self) -> &Message {
        match self {
            Machine::ClientInvite(m) => m.request(),
            Machine::Client(m) => m.request(),
            Machine::ServerInvite(m) => m.request(),
            Machine::Server(m) => m.request(),
        }
    }

    fn timers(&self) -> &TimerSet {
        match self {
            Machine::ClientInvite(m) => m.timers(),
            Machine::Client(m) => m.timers(),
            Machine::ServerInvite(m) => m.timers(),
            Machine::Server(m) => m.timers(),
        }
    }

    /// Removes the earliest timer due at `now`.
    fn pop_due(&mut self, now: Time) -> Option<Timer> {
        match self {
            Machine::ClientInvite(m) => m.timers_mut().pop_due(now),
            Machine::Client(m) => m.timers_mut().pop_due(now),
            Machine::ServerInvite(m) => m.timers_mut().pop_due(now),
            Machine::Server(m) => m.timers_mut().pop_due(now),
        }
    }

    fn on_timer(&mut self, now: Time, timer: Timer, out: &mut Vec<Action>) {
        match self {
            Machine::ClientInvite(m) => m.on_timer(now, timer, out),
            Machine::Client(m) => m.on_timer(now, timer, out),
            Machine::ServerInvite(m) => m.on_timer(now, timer, out),
            Machine::Server(m) => m.on_timer(timer, out),
        }
    }

    fn on_transport_error(&mut self, out: &mut Vec<Action>) {
        match self {
            Machine::ClientInvite(m) => m.on_transport_error(out),
            Machine::Client(m) => m.on_transport_error(out),
            Machine::ServerInvite(m) => m.on_transport_error(out),
            Machine::Server(m) => m.on_transport_error(out),
        }
    }
}

impl TransactionLayer {
    /// An empty layer. `seed` feeds the generator of branch parameters: the shell passes
    /// fresh entropy, simulations a fixed number.
    pub fn new(config: Config, seed: u64) -> TransactionLayer {
        TransactionLayer {
            config,
            rng: Rng::from_seed(seed),
            next_id: 1,
            txs: BTreeMap::new(),
            clients: BTreeMap::new(),
            servers: BTreeMap::new(),
            schedule: BTreeSet::new(),
            outputs: VecDeque::new(),
            actions: Vec::new(),
        }
    }

    /// The configuration the layer runs with.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// A fresh branch parameter with the magic cookie (RFC 3261 §8.1.1.7), for a request
    /// the TU sends outside transactions (the ACK for a 2xx).
    pub fn new_branch(&mut self) -> String {
        format!("{MAGIC_COOKIE}{}", self.rng.token(16))
    }

    /// Feeds one input: a received message, the timeout, a transport failure.
    pub fn handle_input(&mut self, now: Time, input: Input) {
        match input {
            Input::Received { source, msg } => self.on_message(now, source, msg),
            Input::ReceivedBytes { source, bytes } => {
                // Unparsable input is dropped (§18: nothing can be answered without a Via).
                if let Ok(msg) = Message::parse(&bytes) {
                    self.on_message(now, source, msg);
                }
            }
            Input::Timeout => self.on_timeout(now),
            Input::TransportError { dest } => {
                let hit: Vec<TransactionId> = self
                    .txs
                    .iter()
                    .filter(|(_, e)| e.dest == dest)
                    .map(|(id, _)| *id)
                    .collect();
                for id in hit {
                    if let Some(e) = self.txs.get_mut(&id) {
                        e.machine.on_transport_error(&mut self.actions);
                    }
                    self.settle(id);
                }
            }
        }
    }

    /// Starts a client transaction for `request` towards `dest` and sends it.
    ///
    /// The request needs a top Via (the TU writes its sent-by) and a CSeq for its method. A
    /// top Via without a branch gets a fresh one; an existing branch is kept, so that a
    /// CANCEL built by the TU can share its INVITE's branch (§9.1). ACK is refused: the
    /// transaction sends the ACK of a non-2xx itself, and the ACK of a 2xx goes with
    /// [`send_stateless`](Self::send_stateless).
    pub fn send_request(
        &mut self,
        now: Time,
        dest: Dest,
        mut request: Message,
    ) -> Result<TransactionId, Error> {
        let method = request.method().ok_or(Error::NotARequest)?.to_string();
        if method == "ACK" {
            return Err(Error::AckNotTransaction);
        }
        let cseq = request
            .header("CSeq")
            .and_then(|c| CSeq::parse(c).ok())
            .ok_or(Error::BadCSeq)?;
        if cseq.method != method {
            return Err(Error::BadCSeq);
        }
        let mut via = top_via(&request).ok_or(Error::MissingVia)?;
        if via.branch().is_none() {
            let branch = self.new_branch();
            via.set_param("branch", Some(&branch));
            replace_top_via(&mut request, &via);
        }
        let key = ClientKey::of(&request).ok_or(Error::MissingVia)?;
        if self.clients.contains_key(&key) {
            return Err(Error::DuplicateBranch);
        }
        let id = self.allocate();
        let reliable = dest.is_reliable();
        let machine = if method == "INVITE" {
            Machine::ClientInvite(ClientInvite::start(
                now,
                request,
                reliable,
                &self.config,
                &mut self.actions,
            ))
        } else {
            Machine::Client(Client::start(
                now,
                request,
                reliable,
                &self.config,
                &mut self.actions,
            ))
        };
        self.clients.insert(key.clone(), id);
        self.insert(id, dest, Key::Client(key), machine);
        Ok(id)
    }

    /// Sends `response` on server transaction `id`, which retransmits it as §17.2 says.
    ///
    /// Provisional responses may follow each other; one final is accepted, except that an
    /// INVITE server transaction in Accepted keeps sending the TU's 2xx retransmissions
    /// (RFC 6026 §8.7). Once the transaction has terminated (after Timer L for a 2xx) the
    /// TU sends with [`send_stateless`](Self::send_stateless).
    pub fn respond(
        &mut self,
        now: Time,
        id: TransactionId,
        response: Message,
    ) -> Result<(), Error> {
        if response.is_request() {
            return Err(Error::NotAResponse);
        }
        let entry = self.txs.get_mut(&id).ok_or(Error::UnknownTransaction)?;
        let result = match &mut entry.machine {
            Machine::ServerInvite(m) => m.on_tu_response(now, &response, &mut self.actions),
            Machine::Server(m) => m.on_tu_response(now, &response, &mut self.actions),
            Machine::ClientInvite(_) | Machine::Client(_) => Err(Error::WrongKind),
        };
        self.settle(id);
        result
    }

    /// Cancels INVITE client transaction `invite` (§9.1): builds the CANCEL and sends it
    /// in a new non-INVITE client transaction to the same destination, whose id is
    /// returned. §9.1 forbids a CANCEL before a provisional response: the TU calls this
    /// once the INVITE is Proceeding, else gets [`Error::WrongState`].
    pub fn cancel(&mut self, now: Time, invite: TransactionId) -> Result<TransactionId, Error> {
        let entry = self.txs.get(&invite).ok_or(Error::UnknownTransaction)?;
        let Machine::ClientInvite(m) = &entry.machine else {
            return Err(Error::WrongKind);
        };
        if m.state() != State::Proceeding {
            return Err(Error::WrongState);
        }
        let cancel = build_cancel(m.request());
        let dest = entry.dest.clone();
        self.send_request(now, dest, cancel)
    }

    /// Sends `msg` outside any transaction: the ACK for a 2xx, a 2xx retransmitted after
    /// Timer L, a stateless proxy's forwarding.
    pub fn send_stateless(&mut self, dest: Dest, msg: &Message) {
        self.outputs.push_back(Output::Transmit {
            dest,
            bytes: msg.to_bytes(),
        });
    }

    /// The INVITE server transaction that the received CANCEL `cancel` cancels (§9.2): the
    /// one it matches by §17.2.3 with the method taken as INVITE. `None` means the TU
    /// answers the CANCEL with 481.
    pub fn cancel_target(&self, cancel: &Message) -> Option<TransactionId> {
        let key = ServerKey::of(cancel)?.as_invite();
        self.servers.get(&key).copied()
    }

    /// The next output: a message to send or an event for the TU.
    pub fn poll_output(&mut self) -> Option<Output> {
        self.outputs.pop_front()
    }

    /// When [`Input::Timeout`] is next due; `None` when no transaction has a timer running
    /// (in particular when no transaction is left).
    pub fn poll_timeout(&self) -> Option<Time> {
        self.schedule.first().map(|(at, _)| *at)
    }

    /// The state of transaction `id`; `None` once it has terminated.
    pub fn state(&self, id: TransactionId) -> Option<State> {
        self.txs.get(&id).map(|e| e.machine.state())
    }

    /// The kind of transaction `id`.
    pub fn kind(&self, id: TransactionId) -> Option<Kind> {
        self.txs.get(&id).map(|e| e.machine.kind())
    }

    /// The request of transaction `id`: the one sent, or the one received (stamped).
    pub fn request(&self, id: TransactionId) -> Option<&Message> {
        self.txs.get(&id).map(|e| e.machine.request())
    }

    /// Where transaction `id` sends: the request's destination for a client, the request's
    /// source for a server.
    pub fn dest(&self, id: TransactionId) -> Option<&Dest> {
        self.txs.get(&id).map(|e| &e.dest)
    }

    /// The timers transaction `id` has running, with their deadlines.
    pub fn timers(&self, id: TransactionId) -> Vec<(Timer, Time)> {
        self.txs
            .get(&id)
            .map(|e| e.machine.timers().iter().collect())
            .unwrap_or_default()
    }

    /// How many transactions are live.
    pub fn len(&self) -> usize {
        self.txs.len()
    }

    /// `true` when no transaction is live.
    pub fn is_empty(&self) -> bool {
        self.txs.is_empty()
    }

    fn allocate(&mut self) -> TransactionId {
        let id = TransactionId(self.next_id);
        self.next_id += 1;
        id
    }

    fn insert(&mut self, id: TransactionId, dest: Dest, key: Key, machine: Machine) {
        self.txs.insert(
            id,
            Entry {
                dest,
                key,
                machine,
                wake: None,
            },
        );
        self.settle(id);
    }

    fn on_message(&mut self, now: Time, source: Dest, mut msg: Message) {
        if !msg.is_request() {
            // §17.1.3; a response matching nothing is dropped (§18.1.2 as RFC 6026 updates it).
            let Some(key) = ClientKey::of(&msg) else {
                return;
            };
            let Some(&id) = self.clients.get(&key) else {
                return;
            };
            if let Some(e) = self.txs.get_mut(&id) {
                match &mut e.machine {
                    Machine::ClientInvite(m) => m.on_response(now, msg, &mut self.actions),
                    Machine::Client(m) => m.on_response(now, msg, &mut self.actions),
                    Machine::ServerInvite(_) | Machine::Server(_) => {}
                }
            }
            self.settle(id);
            return;
        }
        // §17.2.3. The key is taken before stamping: the RFC 2543 key holds the whole Via.
        let Some(key) = ServerKey::of(&msg) else {
            return;
        };
        if self.config.stamp_via {
            stamp_via(&mut msg, &source);
        }
        if let Some(&id) = self.servers.get(&key) {
            if let Some(e) = self.txs.get_mut(&id) {
                match &mut e.machine {
                    Machine::ServerInvite(m) => m.on_request(now, msg, &mut self.actions),
                    Machine::Server(m) => m.on_request(&mut self.actions),
                    Machine::ClientInvite(_) | Machine::Client(_) => {}
                }
            }
            self.settle(id);
            return;
        }
        if msg.method() == Some("ACK") {
            // The ACK for a 2xx, or a late one, goes to the core (§18.2.1).
            self.outputs.push_back(Output::Event(Event::Ack {
                id: None,
                source,
                msg,
            }));
            return;
        }
        let id = self.allocate();
        let reliable = source.is_reliable();
        self.outputs.push_back(Output::Event(Event::Request {
            id,
            source: source.clone(),
            msg: msg.clone(),
        }));
        let machine = if msg.method() == Some("INVITE") {
            Machine::ServerInvite(ServerInvite::start(
                now,
                msg,
                reliable,
                &self.config,
                &mut self.actions,
            ))
        } else {
            Machine::Server(Server::start(msg, reliable, &self.config))
        };
        self.servers.insert(key.clone(), id);
        self.insert(id, source, Key::Server(key), machine);
    }

    fn on_timeout(&mut self, now: Time) {
        // Each due transaction is driven once per call, and each of its timers due at
        // `now` fires at most once: a zero interval cannot spin here.
        let due: Vec<TransactionId> = self
            .schedule
            .iter()
            .take_while(|(at, _)| *at <= now)
            .map(|(_, id)| *id)
            .collect();
        for id in due {
            if let Some(e) = self.txs.get_mut(&id) {
                let running = e.machine.timers().iter().count();
                for _ in 0..running {
                    let Some(timer) = e.machine.pop_due(now) else {
                        break;
                    };
                    e.machine.on_timer(now, timer, &mut self.actions);
                    if e.machine.state() == State::Terminated {
                        break;
                    }
                }
            }
            self.settle(id);
        }
    }

    /// Turns the actions of transaction `id` into outputs, then forgets the transaction if
    /// it terminated or moves its entry in the schedule.
    fn settle(&mut self, id: TransactionId) {
        let Some(e) = self.txs.get_mut(&id) else {
            self.actions.clear();
            return;
        };
        for action in self.actions.drain(..) {
            let out = match action {
                Action::Send(bytes) => Output::Transmit {
                    dest: e.dest.clone(),
                    bytes,
                },
                Action::Response(msg) => Output::Event(Event::Response { id, msg }),
                Action::Ack(msg) => Output::Event(Event::Ack {
                    id: Some(id),
                    source: e.dest.clone(),
                    msg,
                }),
                Action::Timeout => Output::Event(Event::Timeout { id }),
                Action::TransportError => Output::Event(Event::TransportError { id }),
                Action::Terminated => Output::Event(Event::Terminated { id }),
            };
            self.outputs.push_back(out);
        }
        let wake = if e.machine.state() == State::Terminated {
            None
        } else {
            e.machine.timers().next()
        };
        if wake != e.wake {
            if let Some(old) = e.wake {
                self.schedule.remove(&(old, id));
            }
            if let Some(new) = wake {
                self.schedule.insert((new, id));
            }
            e.wake = wake;
        }
        if e.machine.state() == State::Terminated {
            if let Some(e) = self.txs.remove(&id) {
                match e.key {
                    Key::Client(k) => self.clients.remove(&k),
                    Key::Server(k) => self.servers.remove(&k),
                };
            }
        }
    }
}
