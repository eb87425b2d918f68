//! User agents on the simulated network: [`UaNode`] drives a [`UserAgent`] whose one flow
//! goes to the outbound [`Proxy`], records its notifications with their times, runs commands
//! scheduled by the test and reacts to incoming sessions as told ([`OnIncoming`]).
//! [`Node`] puts user agents and the proxy in one [`Sim`]; [`world`] builds the usual one.

use super::proxy::Proxy;
use super::{Endpoint, NetConfig, Network, Sim};
use sipsimple::transaction::Dest;
use sipsimple::ua::Transport;
use sipsimple::{
    AccountConfig, Error, Event, Notification, Originator, Output, Sender, Time, UserAgent,
};
use std::collections::{BTreeMap, VecDeque};
use std::time::Duration;

/// Something the test asks a user agent to do at a given time.
#[derive(Debug, Clone, PartialEq)]
pub enum Command {
    /// `connect` to this target.
    Connect(String),
    /// `accept` session `id`.
    Accept(u64),
    /// `reject` session `id`, busy or not.
    Reject(u64, bool),
    /// `end` session `id`.
    End(u64),
    /// `hold` session `id`.
    Hold(u64),
    /// `unhold` session `id`.
    Unhold(u64),
    /// `report_no_audio` for session `id` (the shell's media saw none).
    ReportNoAudio(u64),
    /// `end` every session that has not ended.
    EndAll,
    /// `register`.
    Register,
    /// `unregister`.
    Unregister,
    /// `connect_streams` to this target with audio and/or chat.
    ConnectStreams(String, bool, bool),
    /// `accept_streams` session `id` with audio and/or chat.
    AcceptStreams(u64, bool, bool),
    /// `add_audio` to session `id`.
    AddAudio(u64),
    /// `add_chat` to session `id`.
    AddChat(u64),
    /// `remove_audio` from session `id`.
    RemoveAudio(u64),
    /// `remove_chat` from session `id`.
    RemoveChat(u64),
    /// `accept_proposal` of session `id` with audio and/or chat.
    AcceptProposal(u64, bool, bool),
    /// `reject_proposal` of session `id`.
    RejectProposal(u64),
    /// `handle_transport_closed`: the flow dropped.
    TransportClosed,
    /// `handle_transport_opened`: the flow is back.
    TransportOpened,
    /// `send_dtmf` on session `id`.
    SendDtmf(u64, char),
    /// `start_recording_audio` on session `id`, with this file name or the default one
    /// (dated [`wall_clock`]).
    StartRecording(u64, Option<String>),
    /// `stop_recording_audio` on session `id`.
    StopRecording(u64),
}

/// The simulated wall clock: 2023-11-14T22:13:20Z at virtual time 0, in UTC.
pub fn wall_clock(now: Time) -> sipsimple::cpim::DateTime {
    let secs = 1_700_000_000 + (now.as_millis() / 1000) as i64;
    sipsimple::cpim::DateTime::from_unix(secs, 0, 0).expect("a valid date")
}

/// How a user agent answers the peer's stream proposals on its own.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OnProposal {
    /// Leave them pending (the test decides).
    Wait,
    /// Accept every proposed stream after this delay.
    Accept(Duration),
    /// Reject after this delay.
    Reject(Duration),
}

/// How a user agent answers incoming sessions on its own.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OnIncoming {
    /// Leave them ringing (the test decides).
    Ring,
    /// Accept after this delay.
    Accept(Duration),
    /// Reject after this delay, busy or not.
    Reject(Duration, bool),
}

/// A user agent and its records.
pub struct UaNode {
    /// The user agent.
    pub ua: UserAgent,
    /// Where its flow goes.
    pub proxy: Dest,
    /// Every notification, with its time.
    pub events: Vec<(Time, Notification)>,
    /// Commands refused, with their errors.
    pub refused: Vec<(Time, Command, Error)>,
    /// The reaction to new incoming sessions.
    pub on_incoming: OnIncoming,
    /// The reaction to the peer's stream proposals.
    pub on_proposal: OnProposal,
    /// Session ids returned by `connect`, in order.
    pub connected: Vec<u64>,
    /// Route switches the user agent asked for, with their times; the node follows each
    /// at once (its flow goes to the route's host, port 5060 by default) and tells the
    /// user agent the flow is open.
    pub switches: Vec<(Time, usize)>,
    /// Its side of the in-memory MSRP network, if it carries MSRP ([`super::msrp`]).
    pub msrp: Option<super::msrp::MsrpPort>,
    commands: BTreeMap<(Time, u64), Command>,
    seq: u64,
    outbox: VecDeque<Vec<u8>>,
}

impl UaNode {
    /// A user agent for `id` (`user@domain`, password `secret`) whose flow is `transport` to
    /// `proxy`.
    pub fn new(id: &str, transport: Transport, proxy: Dest, seed: u64) -> UaNode {
        let mut cfg = AccountConfig::new(id, "secret");
        cfg.transport = transport;
        cfg.user_agent = format!("sim-{id}");
        UaNode::with_config(cfg, proxy, seed)
    }

    /// A user agent for `cfg` whose flow goes to `proxy`.
    pub fn with_config(cfg: AccountConfig, proxy: Dest, seed: u64) -> UaNode {
        UaNode {
            ua: UserAgent::new(cfg, seed).expect("a valid account"),
            proxy,
            events: Vec::new(),
            refused: Vec::new(),
            on_incoming: OnIncoming::Ring,
            on_proposal: OnProposal::Wait,
            connected: Vec::new(),
            switches: Vec::new(),
            msrp: None,
            commands: BTreeMap::new(),
            seq: 0,
            outbox: VecDeque::new(),
        }
    }

    /// Runs `f` on the user agent now (between simulation steps) and drains what it
    /// produced, as a shell does after a command.
    pub fn act<T>(&mut self, now: Time, f: impl FnOnce(&mut UserAgent, Time) -> T) -> T {
        let r = f(&mut self.ua, now);
        self.drain(now);
        r
    }

    /// Schedules `command` at `at`.
    pub fn at(&mut self, at: Time, command: Command) {
        self.seq += 1;
        self.commands.insert((at, self.seq), command);
    }

    /// The notifications of session `id`, by name.
    pub fn names(&self, id: u64) -> Vec<&'static str> {
        self.session_events(id).iter().map(|e| e.name()).collect()
    }

    /// The notifications of session `id`.
    pub fn session_events(&self, id: u64) -> Vec<&Event> {
        self.events
            .iter()
            .filter(|(_, n)| n.sender == Sender::Session(id))
            .map(|(_, n)| &n.event)
            .collect()
    }

    /// The notifications of session `id` in the compact form of [`describe`].
    pub fn trace(&self, id: u64) -> Vec<String> {
        self.session_events(id).into_iter().map(describe).collect()
    }

    /// The notifications of the streams of session `id`, as `index:name`.
    pub fn stream_trace(&self, id: u64) -> Vec<String> {
        self.events
            .iter()
            .filter_map(|(_, n)| match n.sender {
                Sender::Stream { session, index } if session == id => {
                    Some(format!("{index}:{}", describe(&n.event)))
                }
                _ => None,
            })
            .collect()
    }

    /// The account's notifications in the compact form of [`describe`].
    pub fn account_trace(&self) -> Vec<String> {
        self.account_events().into_iter().map(describe).collect()
    }

    /// The account's notifications.
    pub fn account_events(&self) -> Vec<&Event> {
        self.events
            .iter()
            .filter(|(_, n)| matches!(n.sender, Sender::Account(_)))
            .map(|(_, n)| &n.event)
            .collect()
    }

    /// The ids of every session that notified anything, in order of first appearance.
    pub fn session_ids(&self) -> Vec<u64> {
        let mut ids = Vec::new();
        for (_, n) in &self.events {
            if let Sender::Session(id) = n.sender {
                if !ids.contains(&id) {
                    ids.push(id);
                }
            }
        }
        ids
    }

    fn run(&mut self, now: Time, command: Command) {
        let ua = &mut self.ua;
        let result = match &command {
            Command::Connect(target) => ua.connect(now, target, None).map(|id| {
                self.connected.push(id);
            }),
            Command::Accept(id) => ua.accept(now, *id, None),
            Command::Reject(id, busy) => ua.reject(now, *id, *busy),
            Command::End(id) => ua.end(now, *id),
            Command::Hold(id) => ua.hold(now, *id),
            Command::Unhold(id) => ua.unhold(now, *id),
            Command::ReportNoAudio(id) => ua.report_no_audio(now, *id),
            Command::EndAll => {
                for id in ua.session_ids() {
                    let _ = ua.end(now, id);
                }
                Ok(())
            }
            Command::Register => {
                ua.register(now);
                Ok(())
            }
            Command::Unregister => {
                ua.unregister(now);
                Ok(())
            }
            Command::ConnectStreams(target, audio, chat) => {
                ua.connect_streams(now, target, *audio, *chat).map(|id| {
                    self.connected.push(id);
                })
            }
            Command::AcceptStreams(id, audio, chat) => ua.accept_streams(now, *id, *audio, *chat),
            Command::AddAudio(id) => ua.add_audio(now, *id),
            Command::AddChat(id) => ua.add_chat(now, *id),
            Command::RemoveAudio(id) => ua.remove_audio(now, *id),
            Command::RemoveChat(id) => ua.remove_chat(now, *id),
            Command::AcceptProposal(id, audio, chat) => ua.accept_proposal(now, *id, *audio, *chat),
            Command::RejectProposal(id) => ua.reject_proposal(now, *id),
            Command::TransportClosed => {
                ua.handle_transport_closed(now);
                Ok(())
            }
            Command::TransportOpened => {
                ua.handle_transport_opened(now);
                Ok(())
            }
            Command::SendDtmf(id, digit) => ua.send_dtmf(now, *id, *digit),
            Command::StartRecording(id, name) => {
                ua.start_recording_audio(now, *id, name.as_deref(), wall_clock(now))
            }
            Command::StopRecording(id) => ua.stop_recording_audio(now, *id),
        };
        if let Err(e) = result {
            self.refused.push((now, command, e));
        }
    }

    fn drain(&mut self, now: Time) {
        self.drain_outputs(now);
        while let Some(switch) = self.ua.poll_route_switch() {
            self.switches.push((now, switch.index));
            self.proxy = Dest::new(
                self.proxy.transport,
                switch.route.host.clone(),
                switch.route.port.unwrap_or(5060),
            );
            self.ua.handle_transport_opened(now);
            self.drain_outputs(now);
        }
    }

    fn drain_outputs(&mut self, now: Time) {
        loop {
            // MSRP first, as a shell does; without a port, the outputs are dropped.
            while let Some(out) = self.ua.poll_msrp() {
                if let Some(port) = self.msrp.as_mut() {
                    port.on_output(&mut self.ua, now, out);
                }
            }
            let Some(out) = self.ua.poll_output() else {
                break;
            };
            match out {
                Output::Transmit(bytes) => {
                    // Whatever a user agent sends passes the strict RFC 3261 header rules.
                    if let Err(e) = sipsimple::sip::Message::parse_strict(&bytes) {
                        panic!("{e}: {}", String::from_utf8_lossy(&bytes));
                    }
                    self.outbox.push_back(bytes)
                }
                Output::Notification(n) => {
                    if let (Event::SIPSessionNewIncoming { .. }, Sender::Session(id)) =
                        (&n.event, &n.sender)
                    {
                        match self.on_incoming {
                            OnIncoming::Ring => {}
                            OnIncoming::Accept(d) => self.at(now + d, Command::Accept(*id)),
                            OnIncoming::Reject(d, busy) => {
                                self.at(now + d, Command::Reject(*id, busy))
                            }
                        }
                    }
                    if let (
                        Event::SIPSessionGotStreamProposal {
                            proposer: Originator::Remote,
                            streams,
                        },
                        Sender::Session(id),
                    ) = (&n.event, &n.sender)
                    {
                        let audio = streams.iter().any(|s| s == "audio");
                        let chat = streams.iter().any(|s| s == "chat");
                        match self.on_proposal {
                            OnProposal::Wait => {}
                            OnProposal::Accept(d) => {
                                self.at(now + d, Command::AcceptProposal(*id, audio, chat))
                            }
                            OnProposal::Reject(d) => self.at(now + d, Command::RejectProposal(*id)),
                        }
                    }
                    self.events.push((now, n));
                }
            }
        }
    }
}

impl Endpoint for UaNode {
    fn handle_receive(&mut self, now: Time, _source: Dest, bytes: Vec<u8>) {
        self.ua.handle_input(now, &bytes);
        self.drain(now);
    }

    fn handle_timeout(&mut self, now: Time) {
        if let Some(port) = self.msrp.as_mut() {
            if port.deliver_due(&mut self.ua, now) {
                self.drain(now);
            }
        }
        while let Some(entry) = self.commands.first_entry() {
            if entry.key().0 > now {
                break;
            }
            let command = entry.remove();
            self.run(now, command);
            self.drain(now);
        }
        if self.ua.poll_timeout().is_some_and(|t| t <= now) {
            self.ua.handle_timeout(now);
        }
        self.drain(now);
    }

    fn handle_transport_error(&mut self, now: Time, _dest: Dest) {
        self.ua.handle_transport_closed(now);
        self.drain(now);
    }

    fn poll_transmit(&mut self) -> Option<(Dest, Vec<u8>)> {
        self.outbox.pop_front().map(|b| (self.proxy.clone(), b))
    }

    fn poll_timeout(&self) -> Option<Time> {
        let command = self.commands.keys().next().map(|(t, _)| *t);
        let msrp = self.msrp.as_ref().and_then(super::msrp::MsrpPort::next_due);
        [self.ua.poll_timeout(), command, msrp]
            .into_iter()
            .flatten()
            .min()
    }
}

/// A notification in a compact form for exact comparisons: `NULL>CALLING` for a state
/// change, `DidFail(remote 486 Busy Here)`, `DidEnd(local)`, `Hold(remote)`, ...
pub fn describe(e: &Event) -> String {
    let who = |o: &Originator| match o {
        Originator::Local => "local",
        Originator::Remote => "remote",
    };
    match e {
        Event::SIPSessionChangedState { prev_state, state } => {
            format!("{}>{}", prev_state.name(), state.name())
        }
        Event::SIPSessionNewOutgoing { streams } => format!("NewOutgoing{streams:?}"),
        Event::SIPSessionNewIncoming { streams } => format!("NewIncoming{streams:?}"),
        Event::SIPSessionGotRingIndication {} => "Ringing".into(),
        Event::SIPSessionWillStart {} => "WillStart".into(),
        Event::SIPSessionDidStart {} => "DidStart".into(),
        Event::SIPSessionWillEnd {} => "WillEnd".into(),
        Event::SIPSessionDidFail {
            originator,
            code,
            reason,
        } => format!("DidFail({} {code} {reason})", who(originator)),
        Event::SIPSessionDidEnd { originator } => format!("DidEnd({})", who(originator)),
        Event::SIPSessionGotHoldRequest { originator } => format!("Hold({})", who(originator)),
        Event::SIPSessionGotUnholdRequest { originator } => {
            format!("Unhold({})", who(originator))
        }
        Event::SIPSessionGotStreamProposal { proposer, streams } => {
            format!("Proposal({} {streams:?})", who(proposer))
        }
        Event::SIPSessionAcceptedStreamProposal { proposer } => {
            format!("Accepted({})", who(proposer))
        }
        Event::SIPSessionRejectedStreamProposal { proposer, reason } => {
            format!("Rejected({} {reason})", who(proposer))
        }
        Event::SIPSessionGotStreamUpdate { streams } => format!("Update{streams:?}"),
        Event::SIPSessionGotDTMF { digit } => format!("DTMF({digit})"),
        Event::SIPSessionWillStartRecordingAudio { file_name } => {
            format!("WillStartRecording({file_name})")
        }
        Event::SIPSessionDidStartRecordingAudio { file_name } => {
            format!("DidStartRecording({file_name})")
        }
        Event::SIPSessionWillStopRecordingAudio { file_name } => {
            format!("WillStopRecording({file_name})")
        }
        Event::SIPSessionDidStopRecordingAudio { file_name } => {
            format!("DidStopRecording({file_name})")
        }
        Event::MediaStreamDidInitialize { stream } => format!("{stream}:DidInitialize"),
        Event::MediaStreamDidStart { stream } => format!("{stream}:DidStart"),
        Event::MediaStreamDidFail { stream, reason } => format!("{stream}:DidFail({reason})"),
        Event::MediaStreamWillEnd { stream } => format!("{stream}:WillEnd"),
        Event::MediaStreamDidEnd { stream } => format!("{stream}:DidEnd"),
        Event::SIPAccountRegistrationDidSucceed { code, expires, .. } => {
            format!("RegistrationDidSucceed({code} {expires})")
        }
        Event::SIPAccountRegistrationDidFail {
            code,
            reason,
            next_route: Some(route),
            delay,
        } => format!(
            "RegistrationDidFail({code:?} {reason} next={} delay={delay})",
            route.host
        ),
        Event::SIPAccountRegistrationDidFail { code, reason, .. } => {
            format!("RegistrationDidFail({code:?} {reason})")
        }
        Event::SIPAccountRegistrationDidEnd { code, .. } => {
            format!("RegistrationDidEnd({code:?})")
        }
        other => other.name().to_string(),
    }
}

/// A user agent or the proxy.
pub enum Node {
    /// A user agent.
    Ua(Box<UaNode>),
    /// The proxy.
    Proxy(Box<Proxy>),
}

impl Node {
    /// The user agent; panics on the proxy.
    pub fn ua(&self) -> &UaNode {
        match self {
            Node::Ua(u) => u,
            Node::Proxy(_) => panic!("the proxy is not a user agent"),
        }
    }

    /// The user agent, mutably; panics on the proxy.
    pub fn ua_mut(&mut self) -> &mut UaNode {
        match self {
            Node::Ua(u) => u,
            Node::Proxy(_) => panic!("the proxy is not a user agent"),
        }
    }

    /// The proxy; panics on a user agent.
    pub fn proxy(&self) -> &Proxy {
        match self {
            Node::Proxy(p) => p,
            Node::Ua(_) => panic!("not the proxy"),
        }
    }

    /// The proxy, mutably; panics on a user agent.
    pub fn proxy_mut(&mut self) -> &mut Proxy {
        match self {
            Node::Proxy(p) => p,
            Node::Ua(_) => panic!("not the proxy"),
        }
    }
}

impl Endpoint for Node {
    fn handle_receive(&mut self, now: Time, source: Dest, bytes: Vec<u8>) {
        match self {
            Node::Ua(u) => u.handle_receive(now, source, bytes),
            Node::Proxy(p) => p.handle_receive(now, source, bytes),
        }
    }

    fn handle_timeout(&mut self, now: Time) {
        match self {
            Node::Ua(u) => u.handle_timeout(now),
            Node::Proxy(p) => p.handle_timeout(now),
        }
    }

    fn handle_transport_error(&mut self, now: Time, dest: Dest) {
        match self {
            Node::Ua(u) => u.handle_transport_error(now, dest),
            Node::Proxy(p) => p.handle_transport_error(now, dest),
        }
    }

    fn poll_transmit(&mut self) -> Option<(Dest, Vec<u8>)> {
        match self {
            Node::Ua(u) => u.poll_transmit(),
            Node::Proxy(p) => p.poll_transmit(),
        }
    }

    fn poll_timeout(&self) -> Option<Time> {
        match self {
            Node::Ua(u) => u.poll_timeout(),
            Node::Proxy(p) => p.poll_timeout(),
        }
    }
}

/// The proxy's host; it is node 0 of a [`world`].
pub const PROXY: &str = "10.0.0.100";
/// The domain of every simulated account.
pub const DOMAIN: &str = "example.com";

/// A proxy (node 0) and one user agent per name (nodes 1, 2, ...: `name@example.com` at
/// `10.0.0.<n>:5060`), all over `transport`, each bound in the proxy's location service
/// (so that calls work without registering). `proxy` adjusts the proxy first.
pub fn world(
    net: NetConfig,
    seed: u64,
    transport: Transport,
    names: &[&str],
    proxy: impl FnOnce(&mut Proxy),
) -> Sim<Node> {
    let mut sim = Sim::new(Time::from_millis(0), Network::new(net, seed));
    let mut p = Proxy::new(PROXY, 5060, DOMAIN);
    proxy(&mut p);
    let to_proxy = Dest::new(transport.kind(), PROXY, 5060);
    let mut uas = Vec::new();
    for (i, name) in names.iter().enumerate() {
        let host = format!("10.0.0.{}", i + 1);
        let node = UaNode::new(
            &format!("{name}@{DOMAIN}"),
            transport,
            to_proxy.clone(),
            seed.wrapping_mul(31).wrapping_add(i as u64 + 1),
        );
        let flow = Dest::new(transport.kind(), host.clone(), 5060);
        p.bind(name, node.ua.contact().clone(), flow);
        uas.push((host, node));
    }
    sim.add(PROXY, 5060, Node::Proxy(Box::new(p)));
    for (host, node) in uas {
        sim.add(&host, 5060, Node::Ua(Box::new(node)));
    }
    sim
}

/// Shorthand for a time in milliseconds.
pub fn at_ms(ms: u64) -> Time {
    Time::from_millis(ms)
}

/// Schedules `command` on the user agent of `node` at `ms` milliseconds.
pub fn at(sim: &mut Sim<Node>, node: usize, ms: u64, command: Command) {
    sim.node_mut(node).ua_mut().at(at_ms(ms), command);
}

/// The session notifications of `node` after its first DidStart.
pub fn after_start(sim: &Sim<Node>, node: usize) -> Vec<String> {
    let t = sim.node(node).ua().trace(1);
    let start = t
        .iter()
        .position(|e| e == "DidStart")
        .expect("the call started");
    t[start + 1..].to_vec()
}
