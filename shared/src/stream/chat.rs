//! The message logic of the seed's `ChatStream` (RFC 4975 chat over an [`MsrpSession`],
//! RFC 3862 CPIM wrapping, RFC 3994 composing indications), sans-IO. The SDP side of the
//! stream is [`ChatStream`](super::ChatStream); this is what runs once it started.
//!
//! [`ChatEngine`] wraps outgoing messages in `message/cpim` when the remote accept-types
//! allow it (the seed: "prefer Message/CPIM if it is supported"), unwraps incoming ones,
//! sends and follows `isComposing` documents, and reports with the seed's `ChatStream*`
//! notifications. Messages sent before the stream starts wait in a queue until
//! [`ChatEngine::start`]. As the seed asks, messages go with `Success-Report: yes` and
//! `Failure-Report: partial`: delivery is known from the success REPORT.

use crate::cpim::{Address, CpimHeader, CpimMessage, DateTime, MimePart};
use crate::iscomposing::{
    self, ComposingConfig, ComposingOutput, ComposingReceiver, ComposingState, IsComposing,
    RemoteComposing, State,
};
use crate::msrp::header::FailureReport;
use crate::msrp::session::{type_accepted, Output, SessionEvent};
use crate::msrp::{MsrpSession, Role, SendError, SendOptions, SessionConfig, Uri};
use crate::notification::Event;
use crate::rng::Rng;
use crate::sdp::MediaDescription;
use crate::time::Time;
use crate::vec_map::VecMap;
use core::fmt;
use core::num::NonZeroU32;
use std::collections::{BTreeMap, VecDeque};

/// The media types a chat stream takes (its `a=accept-types`).
pub const CHAT_ACCEPT_TYPES: &[&str] = &[
    crate::cpim::CONTENT_TYPE,
    "text/*",
    iscomposing::CONTENT_TYPE,
];
/// Default largest incoming chat message, in bytes.
pub const DEFAULT_MAX_CHAT_MESSAGE: usize = 1024 * 1024;

/// The settings of a [`ChatEngine`]: who talks to whom and what the remote end takes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChatConfig {
    /// Our identity, the CPIM `From`.
    pub local_identity: Address,
    /// The remote party, the CPIM `To` unless a message names another.
    pub remote_identity: Address,
    /// The remote `a=accept-types`.
    pub remote_accept_types: Vec<String>,
    /// The remote `a=accept-wrapped-types` (types allowed inside CPIM); when empty, the
    /// accept-types are.
    pub remote_accept_wrapped_types: Vec<String>,
    /// Whether messages may go to another recipient than `remote_identity` (a chat room's
    /// `a=chatroom:private-messages`); they always need CPIM.
    pub private_messages: bool,
    /// Our composing indications' idle timeout and refresh interval.
    pub composing: ComposingConfig,
    /// Largest incoming message; larger ones are refused with 413.
    pub max_message_size: usize,
}

impl ChatConfig {
    /// A configuration for a remote end taking CPIM and text (the chat stream's own
    /// accept-types) until [`with_remote_media`](Self::with_remote_media) says otherwise.
    pub fn new(local_identity: Address, remote_identity: Address) -> ChatConfig {
        ChatConfig {
            local_identity,
            remote_identity,
            remote_accept_types: vec![crate::cpim::CONTENT_TYPE.into(), "text/plain".into()],
            remote_accept_wrapped_types: vec!["*".into()],
            private_messages: false,
            composing: ComposingConfig::default(),
            max_message_size: DEFAULT_MAX_CHAT_MESSAGE,
        }
    }

    /// The same configuration with what the remote m-line announces: its accept-types,
    /// accept-wrapped-types, and private messages, supported when it advertises
    /// `a=chatroom:... private-messages` or takes CPIM (which carries the `To`).
    pub fn with_remote_media(mut self, m: &MediaDescription) -> ChatConfig {
        self.remote_accept_types = m.accept_types().into_iter().map(str::to_string).collect();
        self.remote_accept_wrapped_types = m
            .accept_wrapped_types()
            .into_iter()
            .map(str::to_string)
            .collect();
        let advertised = m.attributes_named("chatroom").any(|a| {
            a.value
                .as_deref()
                .unwrap_or_default()
                .split_whitespace()
                .any(|w| w.eq_ignore_ascii_case("private-messages"))
        });
        self.private_messages = advertised || self.remote_takes_cpim();
        self
    }

    /// The configuration of the chat's [`MsrpSession`]: our accept-types and size limit.
    pub fn session_config(&self, local_uri: Uri, to_path: Vec<Uri>, role: Role) -> SessionConfig {
        let mut cfg = SessionConfig::new(local_uri, to_path, role);
        cfg.accept_types = CHAT_ACCEPT_TYPES.iter().map(|s| s.to_string()).collect();
        cfg.max_message_size = Some(u64::try_from(self.max_message_size).unwrap_or(u64::MAX));
        cfg.max_buffered_size = self.max_message_size;
        cfg
    }

    fn remote_takes_cpim(&self) -> bool {
        self.remote_accept_types
            .iter()
            .any(|p| type_accepted(p, crate::cpim::CONTENT_TYPE))
    }
}

/// Why a chat command was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ChatError {
    /// The remote end takes this content type neither as is nor inside CPIM.
    UnsupportedContentType(String),
    /// A recipient other than the remote party, which the remote end does not allow
    /// (the seed's `MSRPChatError`).
    PrivateMessagesUnsupported,
    /// The stream ended.
    Ended,
    /// The MSRP session refused the message.
    Send(SendError),
}

impl fmt::Display for ChatError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ChatError::UnsupportedContentType(t) => {
                write!(f, "the remote end does not accept {t}")
            }
            ChatError::PrivateMessagesUnsupported => {
                f.write_str("the remote end does not support private messages")
            }
            ChatError::Ended => f.write_str("the chat stream ended"),
            ChatError::Send(e) => write!(f, "{e}"),
        }
    }
}

impl std::error::Error for ChatError {}

/// What the shell must do next.
#[derive(Debug, Clone, PartialEq)]
pub enum ChatOutput {
    /// Write these bytes to the MSRP connection.
    Transmit(Vec<u8>),
    /// Post this notification (sender: the chat stream).
    Notification(Event),
}

/// A message waiting for the stream to start.
#[derive(Debug, Clone)]
struct Queued {
    message_id: String,
    content_type: String,
    body: Vec<u8>,
}

/// The chat logic of one chat stream; see the [module docs](self).
///
/// Drive it as the session engine: commands and `handle_input`/`handle_timeout`, then
/// drain [`poll_output`](Self::poll_output), then sleep until
/// [`poll_timeout`](Self::poll_timeout).
#[derive(Debug)]
pub struct ChatEngine {
    cfg: ChatConfig,
    rng: Rng,
    session: Option<MsrpSession>,
    queue: VecDeque<Queued>,
    out: VecDeque<ChatOutput>,
    composer: ComposingState,
    receiver: ComposingReceiver,
    /// Message-IDs of our composing indications, which report nothing.
    indications: VecMap<String, ()>,
    /// The time of the latest call, for events found while draining.
    now: Time,
    ended: bool,
}

impl ChatEngine {
    /// A chat engine, its Message-IDs drawn from a generator seeded with `seed`.
    pub fn new(cfg: ChatConfig, seed: u64) -> ChatEngine {
        ChatEngine {
            composer: ComposingState::new(cfg.composing.clone()),
            receiver: ComposingReceiver::new().with_grace(core::time::Duration::from_secs(2)),
            cfg,
            rng: Rng::from_seed(seed),
            session: None,
            queue: VecDeque::new(),
            out: VecDeque::new(),
            indications: VecMap::new(),
            now: Time::default(),
            ended: false,
        }
    }

    /// The settings.
    pub fn config(&self) -> &ChatConfig {
        &self.cfg
    }

    /// The MSRP session, once started.
    pub fn session(&self) -> Option<&MsrpSession> {
        self.session.as_ref()
    }

    /// `true` between [`start`](Self::start) and [`end`](Self::end).
    pub fn is_started(&self) -> bool {
        self.session.is_some() && !self.ended
    }

    /// The stream started over `session` (made from
    /// [`ChatConfig::session_config`], its connection up): the session binds the
    /// connection if we are active, and queued messages go out.
    pub fn start(&mut self, now: Time, session: MsrpSession) {
        if self.ended {
            return;
        }
        let mut session = session;
        session.start(now);
        self.session = Some(session);
        while let Some(q) = self.queue.pop_front() {
            self.submit(now, q);
        }
        self.pump(now);
    }

    /// The seed's `send_message`: sends `content` of `content_type`, wrapped in CPIM when
    /// the remote end takes it, to `to` (default: the remote party; another recipient is a
    /// private message) dated `dt` (the CPIM `DateTime`, when given). Before the stream
    /// starts the message is queued. Returns its Message-ID, which the delivery
    /// notifications carry.
    pub fn send_message(
        &mut self,
        now: Time,
        content: impl Into<Vec<u8>>,
        content_type: &str,
        to: Option<Address>,
        dt: Option<DateTime>,
    ) -> Result<String, ChatError> {
        if self.ended {
            return Err(ChatError::Ended);
        }
        let (wire_type, body) = self.wrap(content.into(), content_type, to, dt)?;
        let message_id = self.rng.token(16);
        self.composer.message_sent(now);
        let q = Queued {
            message_id: message_id.clone(),
            content_type: wire_type,
            body,
        };
        if self.session.is_some() {
            self.submit(now, q);
            self.pump(now);
        } else {
            self.queue.push_back(q);
        }
        Ok(message_id)
    }

    /// The seed's `send_composing_indication`: sends an `isComposing` document now (none
    /// before the stream starts: `Ok(None)`). `refresh` is in seconds.
    pub fn send_composing_indication(
        &mut self,
        now: Time,
        state: State,
        refresh: Option<u32>,
        last_active: Option<DateTime>,
    ) -> Result<Option<String>, ChatError> {
        let ct = self.cfg.composing.content_type.clone();
        let doc = match state {
            State::Active => IsComposing::active(ct.as_deref(), refresh.and_then(NonZeroU32::new)),
            State::Idle => IsComposing::idle(ct.as_deref(), last_active),
        };
        self.send_indication(now, &doc)
    }

    /// The local user is typing: sends an active indication when entering the active
    /// state or when its refresh is due (RFC 3994 §3.2); the idle one follows from
    /// [`handle_timeout`](Self::handle_timeout) after the idle timeout.
    pub fn typing(&mut self, now: Time) {
        if let Some(o) = self.composer.typing(now) {
            self.composer_output(now, o);
        }
    }

    /// Feeds bytes read from the MSRP connection.
    pub fn handle_input(&mut self, now: Time, bytes: &[u8]) {
        if let Some(s) = self.session.as_mut() {
            s.handle_input(now, bytes);
        }
        self.pump(now);
    }

    /// Runs the timers: MSRP transactions, composing refresh and idle, the remote
    /// composing state's expiry.
    pub fn handle_timeout(&mut self, now: Time) {
        if let Some(s) = self.session.as_mut() {
            s.handle_timeout(now);
        }
        if let Some(o) = self.composer.handle_timeout(now) {
            self.composer_output(now, o);
        }
        if let Some(change) = self.receiver.handle_timeout(now) {
            self.composing_changed(change, None, None);
        }
        self.pump(now);
    }

    /// When [`handle_timeout`](Self::handle_timeout) must next be called.
    pub fn poll_timeout(&self) -> Option<Time> {
        [
            self.session.as_ref().and_then(MsrpSession::poll_timeout),
            self.session
                .as_ref()
                .and_then(|_| self.composer.poll_timeout()),
            self.receiver.poll_timeout(),
        ]
        .into_iter()
        .flatten()
        .min()
    }

    /// The next thing to do, until `None`.
    pub fn poll_output(&mut self) -> Option<ChatOutput> {
        if self.out.is_empty() {
            self.pump_session();
        }
        self.out.pop_front()
    }

    /// The seed's `end`: the connection is closing. Messages in flight are reported
    /// undelivered and queued ones are dropped.
    pub fn end(&mut self, now: Time) {
        if self.ended {
            return;
        }
        if let Some(s) = self.session.as_mut() {
            s.close(now);
        }
        self.pump(now);
        for q in core::mem::take(&mut self.queue) {
            self.notify(Event::ChatStreamDidNotDeliverMessage {
                message_id: q.message_id,
                code: 408,
                reason: "Stream ended".into(),
            });
        }
        self.ended = true;
    }

    /// Chooses the wire form of a message: CPIM when the remote end takes it, else as is.
    fn wrap(
        &self,
        content: Vec<u8>,
        content_type: &str,
        to: Option<Address>,
        dt: Option<DateTime>,
    ) -> Result<(String, Vec<u8>), ChatError> {
        let cpim = self.cfg.remote_takes_cpim();
        let private = to
            .as_ref()
            .is_some_and(|t| t.uri != self.cfg.remote_identity.uri);
        if private && !(cpim && self.cfg.private_messages) {
            return Err(ChatError::PrivateMessagesUnsupported);
        }
        let wrapped_ok = {
            let list = if self.cfg.remote_accept_wrapped_types.is_empty() {
                &self.cfg.remote_accept_types
            } else {
                &self.cfg.remote_accept_wrapped_types
            };
            list.iter().any(|p| type_accepted(p, content_type))
        };
        if cpim && wrapped_ok {
            let mut m = CpimMessage::new(MimePart::new(content_type, content))
                .with_header(CpimHeader::From(self.cfg.local_identity.clone()))
                .with_header(CpimHeader::To(
                    to.unwrap_or_else(|| self.cfg.remote_identity.clone()),
                ));
            if let Some(dt) = dt {
                m = m.with_header(CpimHeader::DateTime(dt));
            }
            return Ok((crate::cpim::CONTENT_TYPE.to_string(), m.to_bytes()));
        }
        let plain_ok = self
            .cfg
            .remote_accept_types
            .iter()
            .any(|p| type_accepted(p, content_type));
        if plain_ok {
            Ok((content_type.to_string(), content))
        } else {
            Err(ChatError::UnsupportedContentType(content_type.to_string()))
        }
    }

    fn send_indication(
        &mut self,
        now: Time,
        doc: &IsComposing,
    ) -> Result<Option<String>, ChatError> {
        if self.ended {
            return Err(ChatError::Ended);
        }
        let Some(session) = self.session.as_mut() else {
            return Ok(None);
        };
        let cpim = self.cfg.remote_takes_cpim();
        let (ct, body) = if cpim {
            let m = CpimMessage::new(MimePart::new(iscomposing::CONTENT_TYPE, doc.to_bytes()))
                .with_header(CpimHeader::From(self.cfg.local_identity.clone()))
                .with_header(CpimHeader::To(self.cfg.remote_identity.clone()));
            (crate::cpim::CONTENT_TYPE, m.to_bytes())
        } else if self
            .cfg
            .remote_accept_types
            .iter()
            .any(|p| type_accepted(p, iscomposing::CONTENT_TYPE))
        {
            (iscomposing::CONTENT_TYPE, doc.to_bytes())
        } else {
            return Err(ChatError::UnsupportedContentType(
                iscomposing::CONTENT_TYPE.to_string(),
            ));
        };
        // Indications need no reports: losing one is harmless (RFC 3994 §3.2 refreshes).
        let opts = SendOptions::new(ct).with_failure_report(FailureReport::No);
        let id = session
            .send_bytes(now, opts, body)
            .map_err(ChatError::Send)?;
        self.indications.insert(id.clone(), ());
        self.pump(now);
        Ok(Some(id))
    }

    fn composer_output(&mut self, now: Time, o: ComposingOutput) {
        let ct = self.cfg.composing.content_type.clone();
        let doc = match o {
            ComposingOutput::SendActive => {
                let r = self.cfg.composing.refresh;
                let secs = r.as_secs() + u64::from(r.subsec_nanos() > 0);
                let secs = u32::try_from(secs).unwrap_or(u32::MAX).max(1);
                IsComposing::active(ct.as_deref(), NonZeroU32::new(secs))
            }
            // No wall clock here: the idle document goes without `lastactive`.
            ComposingOutput::SendIdle { .. } => IsComposing::idle(ct.as_deref(), None),
        };
        // Before the stream starts, or towards a peer without is-composing, there is
        // nothing to tell.
        let _ = self.send_indication(now, &doc);
    }

    fn submit(&mut self, now: Time, q: Queued) {
        let Some(session) = self.session.as_mut() else {
            self.queue.push_back(q);
            return;
        };
        let opts = SendOptions::new(&q.content_type)
            .with_message_id(&q.message_id)
            .with_success_report()
            .with_failure_report(FailureReport::Partial);
        if let Err(e) = session.send_bytes(now, opts, q.body) {
            self.notify(Event::ChatStreamDidNotDeliverMessage {
                message_id: q.message_id,
                code: 400,
                reason: e.to_string(),
            });
        }
    }

    fn notify(&mut self, e: Event) {
        self.out.push_back(ChatOutput::Notification(e));
    }

    fn pump(&mut self, now: Time) {
        self.now = self.now.max(now);
        self.pump_session();
    }

    /// Moves the session's outputs into ours, turning its events into notifications.
    fn pump_session(&mut self) {
        let Some(session) = self.session.as_mut() else {
            return;
        };
        let mut events = Vec::new();
        while let Some(o) = session.poll_output() {
            match o {
                Output::Transmit(b) => self.out.push_back(ChatOutput::Transmit(b)),
                Output::Event(e) => events.push(e),
                // Chat messages are sent from memory.
                Output::NeedData { .. } => {}
            }
        }
        for e in events {
            self.on_session_event(e);
        }
    }

    fn on_session_event(&mut self, e: SessionEvent) {
        // Our composing indications report nothing; their ids are dropped here.
        match e {
            SessionEvent::Sent { message_id } if self.indications.remove(&message_id).is_none() => {
                self.notify(Event::ChatStreamDidSendMessage { message_id });
            }
            SessionEvent::Delivered {
                message_id,
                code,
                reason,
            } if self.indications.remove(&message_id).is_none() => {
                self.notify(Event::ChatStreamDidDeliverMessage {
                    message_id,
                    code,
                    reason,
                });
            }
            SessionEvent::DeliveryFailed {
                message_id,
                code,
                reason,
            } if self.indications.remove(&message_id).is_none() => {
                self.notify(Event::ChatStreamDidNotDeliverMessage {
                    message_id,
                    code,
                    reason,
                });
            }
            SessionEvent::MessageReceived {
                message_id,
                content_type,
                body: Some(body),
                ..
            } => self.on_message(message_id, content_type.unwrap_or_default(), body),
            _ => {}
        }
    }

    /// A whole message arrived: a chat message or a composing indication, maybe in CPIM.
    fn on_message(&mut self, message_id: String, content_type: String, body: Vec<u8>) {
        let now = self.now;
        let (content_type, body, cpim_headers, sender) =
            if type_accepted(crate::cpim::CONTENT_TYPE, &content_type) {
                let Ok(m) = CpimMessage::parse(&body) else {
                    // Accepted at the MSRP level but unreadable: nothing to show.
                    return;
                };
                let headers = cpim_headers(&m);
                let sender = m.from().map(format_address);
                let ct = m.content.content_type().unwrap_or("text/plain").to_string();
                (ct, m.content.body, headers, sender)
            } else {
                (content_type, body, BTreeMap::new(), None)
            };
        if type_accepted(iscomposing::CONTENT_TYPE, &content_type) {
            if let Ok(doc) = IsComposing::parse(&body) {
                if let Some(change) = self.receiver.handle_status(now, &doc) {
                    self.composing_changed(change, doc.refresh.map(NonZeroU32::get), sender);
                }
            }
            return;
        }
        if let Some(change) = self.receiver.message_received(now) {
            self.composing_changed(change, None, sender);
        }
        self.notify(Event::ChatStreamGotMessage {
            message_id,
            content: String::from_utf8_lossy(&body).into_owned(),
            content_type,
            cpim_headers,
        });
    }

    fn composing_changed(
        &mut self,
        change: RemoteComposing,
        refresh: Option<u32>,
        sender: Option<String>,
    ) {
        let e = match change {
            RemoteComposing::Active { content_type } => Event::ChatStreamGotComposingIndication {
                state: "active".into(),
                refresh,
                content_type,
                last_active: None,
                sender,
            },
            RemoteComposing::Idle { last_active } => Event::ChatStreamGotComposingIndication {
                state: "idle".into(),
                refresh: None,
                content_type: None,
                last_active: last_active.map(|d| d.to_string()),
                sender,
            },
        };
        self.notify(e);
    }
}

/// `"Name" <uri>` or `<uri>`.
fn format_address(a: &Address) -> String {
    match &a.display_name {
        Some(n) => format!("\"{n}\" <{}>", a.uri),
        None => format!("<{}>", a.uri),
    }
}

/// The seed's `cpim_headers`: each header by name, repeated ones joined with `, `.
fn cpim_headers(m: &CpimMessage) -> BTreeMap<String, String> {
    let mut out: BTreeMap<String, String> = BTreeMap::new();
    for h in &m.headers {
        let (name, value) = match h {
            CpimHeader::From(a) => ("From".to_string(), format_address(a)),
            CpimHeader::To(a) => ("To".to_string(), format_address(a)),
            CpimHeader::Cc(a) => ("cc".to_string(), format_address(a)),
            CpimHeader::DateTime(d) => ("DateTime".to_string(), d.to_string()),
            CpimHeader::Subject(s) => ("Subject".to_string(), s.text.clone()),
            CpimHeader::Ns(n) => (
                "NS".to_string(),
                match &n.prefix {
                    Some(p) => format!("{p} <{}>", n.uri),
                    None => format!("<{}>", n.uri),
                },
            ),
            CpimHeader::Require(names) => (
                "Require".to_string(),
                names
                    .iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join(","),
            ),
            CpimHeader::Other(h) => (h.name.to_string(), h.value.clone()),
        };
        out.entry(name)
            .and_modify(|v| {
                v.push_str(", ");
                v.push_str(&value);
            })
            .or_insert(value);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn uri(s: &str) -> Uri {
        Uri::parse(s).expect("valid")
    }

    fn engines(remote_types: &[&str]) -> (ChatEngine, ChatEngine) {
        let alice = Address::new("sip:alice@example.com").with_name("Alice");
        let bob = Address::new("sip:bob@example.com");
        let mut ca = ChatConfig::new(alice.clone(), bob.clone());
        ca.remote_accept_types = remote_types.iter().map(|s| s.to_string()).collect();
        let cb = ChatConfig::new(bob, alice);
        (ChatEngine::new(ca, 1), ChatEngine::new(cb, 2))
    }

    fn start(a: &mut ChatEngine, b: &mut ChatEngine, now: Time) {
        let (ua, ub) = (
            uri("msrp://a.example:1/a1a1;tcp"),
            uri("msrp://b.example:2/b2b2;tcp"),
        );
        let sa = a
            .config()
            .session_config(ua.clone(), vec![ub.clone()], Role::Active);
        let sb = b.config().session_config(ub, vec![ua], Role::Passive);
        a.start(now, MsrpSession::new(sa, 11));
        b.start(now, MsrpSession::new(sb, 12));
    }

    /// Carries bytes both ways until quiet; returns each side's notifications.
    fn pump(a: &mut ChatEngine, b: &mut ChatEngine, now: Time) -> (Vec<Event>, Vec<Event>) {
        let (mut na, mut nb) = (Vec::new(), Vec::new());
        loop {
            let mut moved = false;
            while let Some(o) = a.poll_output() {
                match o {
                    ChatOutput::Transmit(bytes) => {
                        b.handle_input(now, &bytes);
                        moved = true;
                    }
                    ChatOutput::Notification(e) => na.push(e),
                }
            }
            while let Some(o) = b.poll_output() {
                match o {
                    ChatOutput::Transmit(bytes) => {
                        a.handle_input(now, &bytes);
                        moved = true;
                    }
                    ChatOutput::Notification(e) => nb.push(e),
                }
            }
            if !moved {
                return (na, nb);
            }
        }
    }

    fn names(events: &[Event]) -> Vec<&'static str> {
        events.iter().map(Event::name).collect()
    }

    #[test]
    fn cpim_message_queued_before_start_is_delivered() {
        let (mut a, mut b) = engines(&["message/cpim", "text/plain"]);
        let t0 = Time::from_millis(0);
        let id = a
            .send_message(t0, "hello", "text/plain", None, None)
            .expect("queued");
        assert!(!a.is_started());
        start(&mut a, &mut b, t0);
        let (na, nb) = pump(&mut a, &mut b, t0);
        assert_eq!(
            names(&na),
            ["ChatStreamDidSendMessage", "ChatStreamDidDeliverMessage"]
        );
        assert!(
            matches!(&na[1], Event::ChatStreamDidDeliverMessage { message_id, code: 200, .. } if *message_id == id)
        );
        let [Event::ChatStreamGotMessage {
            message_id,
            content,
            content_type,
            cpim_headers,
        }] = &nb[..]
        else {
            panic!("one message: {nb:?}")
        };
        assert_eq!((message_id, content.as_str()), (&id, "hello"));
        assert_eq!(content_type, "text/plain");
        assert_eq!(
            cpim_headers.get("From").map(String::as_str),
            Some("\"Alice\" <sip:alice@example.com>")
        );
        assert_eq!(
            cpim_headers.get("To").map(String::as_str),
            Some("<sip:bob@example.com>")
        );
    }

    #[test]
    fn plain_text_without_cpim_and_private_messages_need_it() {
        let (mut a, mut b) = engines(&["text/plain"]);
        let t0 = Time::from_millis(0);
        start(&mut a, &mut b, t0);
        pump(&mut a, &mut b, t0);
        let carol = Address::new("sip:carol@example.com");
        assert_eq!(
            a.send_message(t0, "psst", "text/plain", Some(carol), None),
            Err(ChatError::PrivateMessagesUnsupported)
        );
        assert_eq!(
            a.send_message(t0, "<b>x</b>", "text/html", None, None),
            Err(ChatError::UnsupportedContentType("text/html".into()))
        );
        a.send_message(t0, "hi", "text/plain", None, None)
            .expect("sent");
        let (_, nb) = pump(&mut a, &mut b, t0);
        assert!(
            matches!(&nb[..], [Event::ChatStreamGotMessage { cpim_headers, content, .. }]
            if cpim_headers.is_empty() && content == "hi")
        );
    }

    #[test]
    fn private_messages_with_cpim() {
        let (mut a, mut b) = engines(&["message/cpim"]);
        let mut m = MediaDescription::new(
            crate::sdp::MediaType::Message,
            2855,
            "TCP/MSRP",
            vec!["*".into()],
        );
        m.attributes
            .push(crate::sdp::Attribute::new("accept-types", "message/cpim"));
        m.attributes
            .push(crate::sdp::Attribute::new("accept-wrapped-types", "text/*"));
        a.cfg = a.cfg.clone().with_remote_media(&m);
        assert!(a.config().private_messages);
        let t0 = Time::from_millis(0);
        start(&mut a, &mut b, t0);
        let carol = Address::new("sip:carol@example.com");
        a.send_message(t0, "psst", "text/plain", Some(carol), None)
            .expect("private");
        let (_, nb) = pump(&mut a, &mut b, t0);
        assert!(
            matches!(&nb[..], [Event::ChatStreamGotMessage { cpim_headers, .. }]
            if cpim_headers.get("To").map(String::as_str) == Some("<sip:carol@example.com>"))
        );
    }

    #[test]
    fn composing_indications_both_ways() {
        let (mut a, mut b) = engines(&["message/cpim", "text/plain"]);
        let t0 = Time::from_millis(0);
        start(&mut a, &mut b, t0);
        pump(&mut a, &mut b, t0);
        a.typing(t0);
        let (na, nb) = pump(&mut a, &mut b, t0);
        assert!(na.is_empty(), "indications report nothing: {na:?}");
        assert!(
            matches!(&nb[..], [Event::ChatStreamGotComposingIndication { state, refresh: Some(120), sender: Some(_), .. }] if state == "active")
        );
        // Typing again within the refresh interval sends nothing.
        a.typing(Time::from_millis(1000));
        assert!(pump(&mut a, &mut b, Time::from_millis(1000)).1.is_empty());
        // The idle timeout (15 s after the last activity) sends idle.
        let idle_at = a.poll_timeout().expect("idle timer");
        assert_eq!(idle_at, Time::from_millis(16_000));
        a.handle_timeout(idle_at);
        let (_, nb) = pump(&mut a, &mut b, idle_at);
        assert!(
            matches!(&nb[..], [Event::ChatStreamGotComposingIndication { state, .. }] if state == "idle")
        );
        // Active again, then a message: the receiver goes idle on the message.
        a.typing(Time::from_millis(20_000));
        pump(&mut a, &mut b, Time::from_millis(20_000));
        a.send_message(Time::from_millis(21_000), "done", "text/plain", None, None)
            .expect("sent");
        let (_, nb) = pump(&mut a, &mut b, Time::from_millis(21_000));
        assert_eq!(
            names(&nb),
            ["ChatStreamGotComposingIndication", "ChatStreamGotMessage"]
        );
        // The receiver's active state expires without refresh.
        a.typing(Time::from_millis(30_000));
        pump(&mut a, &mut b, Time::from_millis(30_000));
        let expiry = b.poll_timeout().expect("expiry");
        assert_eq!(expiry, Time::from_millis(30_000 + 122_000));
        b.handle_timeout(expiry);
        let (_, nb) = pump(&mut a, &mut b, expiry);
        assert!(
            matches!(&nb[..], [Event::ChatStreamGotComposingIndication { state, .. }] if state == "idle")
        );
        // The explicit seed method.
        b.send_composing_indication(expiry, State::Active, Some(60), None)
            .expect("sent");
        let (na, _) = pump(&mut a, &mut b, expiry);
        assert!(matches!(
            &na[..],
            [Event::ChatStreamGotComposingIndication {
                refresh: Some(60),
                ..
            }]
        ));
    }

    #[test]
    fn ending_reports_queued_messages() {
        let (mut a, _) = engines(&["text/plain"]);
        let id = a
            .send_message(Time::from_millis(0), "x", "text/plain", None, None)
            .expect("queued");
        a.end(Time::from_millis(1));
        let n: Vec<ChatOutput> = core::iter::from_fn(|| a.poll_output()).collect();
        assert!(
            matches!(&n[..], [ChatOutput::Notification(Event::ChatStreamDidNotDeliverMessage { message_id, .. })] if *message_id == id)
        );
        assert_eq!(
            a.send_message(Time::from_millis(2), "x", "text/plain", None, None),
            Err(ChatError::Ended)
        );
    }
}
