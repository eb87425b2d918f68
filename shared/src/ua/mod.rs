//! The user agent: one account's registration and sessions over one flow to the outbound
//! proxy (the gateway), on top of the transaction layer (RFC 3261 §17, [`crate::transaction`])
//! and the dialog layer (§12, [`crate::dialog`]), driven sans-IO.
//!
//! The shell has one flow: a WebSocket (RFC 7118) for the browser, or any flow whose
//! reliability [`Transport`] states (UDP makes the transactions retransmit). Everything goes
//! out on it as [`Output::Transmit`], and everything received comes in through
//! [`UserAgent::handle_input`].
//!
//! Requests are routed to their transaction user: a CANCEL to the session of the INVITE it
//! cancels (§9.2), a request with a To tag to the session of its dialog (§12.2.2, else 481),
//! an INVITE without one to a new incoming session, a MESSAGE naming a dialog in
//! `Target-Dialog` (RFC 4538: DTMF the gateway relays) to that dialog's session; responses go
//! to whoever started the
//! client transaction. A 2xx to an INVITE whose session is gone is ACKed and its dialog
//! ended with a BYE (§13.2.2.4).

mod ctx;
mod desktop;
mod msrp;

pub use crate::session::{
    dtmf_digit, parse_dtmf, parse_dtmf_relay, Session, SessionDirection, DTMF, DTMF_DURATION,
    DTMF_RELAY, INFO_ACCEPT, MAX_PENDING_INFO, MEDIA_EVENT, RECORDING,
};
pub(crate) use ctx::{Ctx, Owner};
pub use desktop::{DesktopOutput, DesktopRole};
pub use msrp::{msrp_session_id_of, MsrpOutput, MsrpPeek};

use crate::cpim::DateTime;
use crate::dialog::{tag_of, uac};
use crate::notification::{Notification, SessionState};
use crate::registration::Registration;
pub use crate::registration::ROUTE_SWITCH_DELAY;
use crate::rng::Rng;
use crate::session::{Failure, Session as Sess};
use crate::settings::Route;
use crate::sip::{split_list, Message, Uri};
use crate::stream::{MediaStreamRegistry, AUDIO, CHAT};
use crate::time::Time;
use crate::transaction::{
    Config, Dest, Event as TxEvent, Input, TransactionId, TransactionLayer, TransportKind,
};
use crate::vec_map::VecMap;
use core::fmt;
use core::time::Duration;
use std::collections::VecDeque;

/// The flow's transport, as written in Via and in the Contact's `transport` parameter. It
/// also says whether the flow is reliable: on UDP the transactions retransmit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Transport {
    /// SIP over WebSocket (RFC 7118).
    Ws,
    /// SIP over secure WebSocket (RFC 7118).
    Wss,
    /// UDP (RFC 3261 §18): unreliable.
    Udp,
    /// TCP (RFC 3261 §18).
    Tcp,
    /// TLS over TCP (RFC 3261 §18, §26.2).
    Tls,
}

impl Transport {
    /// The transaction layer's view of the transport.
    pub fn kind(self) -> TransportKind {
        match self {
            Transport::Ws => TransportKind::Ws,
            Transport::Wss => TransportKind::Wss,
            Transport::Udp => TransportKind::Udp,
            Transport::Tcp => TransportKind::Tcp,
            Transport::Tls => TransportKind::Tls,
        }
    }

    /// Whether messages on the flow can be lost (then requests and responses retransmit).
    pub fn is_reliable(self) -> bool {
        self.kind().is_reliable()
    }

    /// Whether this is SIP over WebSocket, whose client cannot be reached but over its own
    /// flow: it writes an `.invalid` host (RFC 7118 §5) and registers with RFC 5626 outbound.
    pub fn is_websocket(self) -> bool {
        matches!(self, Transport::Ws | Transport::Wss)
    }

    fn contact_param(self) -> Option<&'static str> {
        match self {
            Transport::Ws | Transport::Wss => Some("ws"),
            Transport::Tcp => Some("tcp"),
            Transport::Tls => Some("tls"),
            Transport::Udp => None,
        }
    }
}

/// What the user agent needs to know about its account.
#[derive(Debug, Clone)]
pub struct AccountConfig {
    /// The SIP id, `user@domain`.
    pub id: String,
    /// The display name put in From.
    pub display_name: Option<String>,
    /// The digest password.
    pub password: String,
    /// The digest user name when it differs from the id's user part.
    pub auth_username: Option<String>,
    /// The flow's transport, and with it its reliability.
    pub transport: Transport,
    /// The registration lifetime asked for, in seconds.
    pub register_expires: u32,
    /// The User-Agent header value.
    pub user_agent: String,
    /// The local address of the flow's socket, `(host, port)` (an IPv6 host without
    /// brackets), written in Via sent-by, the Contact and the placeholder SDP's `o=`/`c=` on
    /// UDP, TCP and TLS (RFC 3261 §18.1.1, §8.1.1.8). Ignored over WebSocket, which always
    /// writes an `.invalid` host (RFC 7118 §5); without it, every transport does.
    pub local_addr: Option<(String, u16)>,
    /// The RFC 5626 instance id (`urn:uuid:...`, without angle brackets) a WebSocket flow
    /// registers with. Generated from the seed when absent; read it back with
    /// [`UserAgent::instance_id`] and persist it so that it stays stable across restarts.
    pub instance_id: Option<String>,
    /// The outbound proxies to try in order (the settings' `sip.outbound_proxy`). The core
    /// opens no sockets: when a REGISTER gets no response it moves to the next one and says
    /// so in `SIPAccountRegistrationDidFail`'s `next_route` and in
    /// [`UserAgent::poll_route_switch`]; the shell then connects there.
    pub routes: Vec<Route>,
    /// The address of the shell's MSRP listener, `(host, port)` (an IPv6 host without
    /// brackets): written in the `a=path` of chat and file-transfer streams
    /// (`msrp://host:port/<id>;tcp`), where a passive peer's connection comes
    /// ([`MsrpOutput::Listen`]). Without it, the flow's host and MSRP's port 2855.
    pub msrp_listen: Option<(String, u16)>,
    /// Whether the streams we offer run MSRP over TLS (`TCP/TLS/MSRP`, `msrps:`, the
    /// default) or plain TCP (`TCP/MSRP`, `msrp:`).
    pub msrp_tls: bool,
    /// The MSRP relay's `Use-Path` (RFC 4976 §5), once the shell authenticated to it:
    /// written before our own URI in `a=path`; every MSRP connection then goes to its first
    /// URI ([`MsrpOutput::Connect`]) whatever the `a=setup`. Empty: no relay.
    pub msrp_relay_path: Vec<String>,
    /// The user part of our Contact (an account's [`ContactUri`](crate::account::ContactUri)
    /// username, as the Bonjour account announces it); random when absent.
    pub contact_user: Option<String>,
}

impl AccountConfig {
    /// A configuration with the defaults: WebSocket, 600 s registrations.
    pub fn new(id: &str, password: &str) -> AccountConfig {
        AccountConfig {
            id: id.to_string(),
            display_name: None,
            password: password.to_string(),
            auth_username: None,
            transport: Transport::Ws,
            register_expires: 600,
            user_agent: concat!("sipsimple-rs/", env!("CARGO_PKG_VERSION")).to_string(),
            local_addr: None,
            instance_id: None,
            routes: Vec::new(),
            msrp_listen: None,
            msrp_tls: true,
            msrp_relay_path: Vec::new(),
            contact_user: None,
        }
    }
}

/// Something the shell must do.
#[derive(Debug, Clone, PartialEq)]
pub enum Output {
    /// Send these bytes as one message on the flow.
    Transmit(Vec<u8>),
    /// Deliver this notification to observers.
    Notification(Notification),
}

/// Why a command was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Error {
    /// The account id is not `user@domain`.
    BadAccountId(String),
    /// The target is not a valid SIP URI.
    BadTarget(String),
    /// No session has this id.
    NoSuchSession(u64),
    /// The command is not allowed in the session's current state (the seed's state name),
    /// or the session lacks what it needs (a description to put on hold).
    InvalidState(&'static str),
    /// No stream type of this name is registered.
    UnknownStreamType(String),
    /// The session has a stream of this type already.
    StreamExists(String),
    /// The session has no stream of this type.
    NoSuchStream(String),
    /// The peer did not propose a stream of this type (the seed's rule for `accept` and
    /// `accept_proposal`).
    StreamNotProposed(String),
    /// No stream was asked for.
    NoStreams,
    /// Not a DTMF digit (`0`-`9`, `*`, `#`, `A`-`D`).
    InvalidDtmfDigit(char),
    /// The session's audio is being recorded already (or the recorder was asked to start).
    AlreadyRecording,
    /// The session's audio is not being recorded.
    NotRecording,
    /// Too many INFO requests (DTMF digits, recording commands) wait for their turn.
    TooManyPending,
    /// The session has no MSRP stream (chat or file transfer) on this m-line, or its
    /// connection is closed.
    NoSuchMsrpStream {
        /// The session.
        session: u64,
        /// The m-line.
        stream: usize,
    },
    /// The chat stream refused the message.
    Chat(crate::stream::ChatError),
    /// The file transfer refused the command.
    FileTransfer(crate::stream::FileTransferError),
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::BadAccountId(s) => write!(f, "account id {s:?} is not user@domain"),
            Error::BadTarget(s) => write!(f, "{s:?} is not a SIP URI or user@domain"),
            Error::NoSuchSession(id) => write!(f, "no session {id}"),
            Error::InvalidState(s) => write!(f, "not allowed in state {s}"),
            Error::UnknownStreamType(t) => write!(f, "no stream type {t:?}"),
            Error::StreamExists(t) => write!(f, "the session has a {t} stream already"),
            Error::NoSuchStream(t) => write!(f, "the session has no {t} stream"),
            Error::StreamNotProposed(t) => write!(f, "no {t} stream was proposed"),
            Error::NoStreams => write!(f, "no stream asked for"),
            Error::InvalidDtmfDigit(c) => write!(f, "{c:?} is not a DTMF digit"),
            Error::AlreadyRecording => write!(f, "the audio is being recorded already"),
            Error::NotRecording => write!(f, "the audio is not being recorded"),
            Error::TooManyPending => write!(f, "too many requests wait for their turn"),
            Error::NoSuchMsrpStream { session, stream } => {
                write!(f, "session {session} has no MSRP stream {stream}")
            }
            Error::Chat(e) => write!(f, "{e}"),
            Error::FileTransfer(e) => write!(f, "{e}"),
        }
    }
}

impl std::error::Error for Error {}

/// RFC 3261's T1, the round-trip estimate (the transaction layer's default).
pub const T1: Duration = Duration::from_millis(500);
/// Timer B and Timer F, 64·T1: how long a client transaction waits for a final response.
pub const TRANSACTION_TIMEOUT: Duration = Duration::from_millis(64 * 500);

/// The methods this user agent handles.
pub const ALLOW: &str = "INVITE, ACK, CANCEL, BYE, OPTIONS, UPDATE, INFO";

/// How many ended sessions stay readable (attributes, `stop_time`) after TERMINATED.
pub const ENDED_SESSIONS_KEPT: usize = 32;

/// How long established sessions outlive a closed flow while RFC 5626 outbound is in use:
/// if the shell reopens it ([`UserAgent::handle_transport_opened`]) within this time, they
/// go on, each checking its dialog with an in-dialog OPTIONS (a 481, 430 or no answer ends
/// it: the route set went away with the old flow); otherwise they end with reason
/// "Transport closed".
pub const FLOW_RECOVERY: Duration = Duration::from_secs(32);

/// Mixed into the seed for the generator of the instance id.
const INSTANCE_SEED: u64 = 0x5626_5626_5626_5626;

/// A route the shell must now use ([`UserAgent::poll_route_switch`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RouteSwitch {
    /// Its index in [`AccountConfig::routes`].
    pub index: usize,
    /// The route.
    pub route: Route,
}

/// ACKs already sent for 2xx that no session wanted, by INVITE transaction and To tag.
type Orphans = VecMap<TransactionId, Vec<(String, Message)>>;

/// One account's user agent. See the crate docs for the drive loop.
#[derive(Debug)]
pub struct UserAgent {
    ctx: Ctx,
    registration: Registration,
    sessions: Vec<Sess>,
    next_session: u64,
    orphans: Orphans,
    /// While the flow is down with outbound in use: when the sessions kept alive end.
    flow_deadline: Option<Time>,
}

impl UserAgent {
    /// A user agent for `cfg`, with randomness expanded from `seed`.
    pub fn new(cfg: AccountConfig, seed: u64) -> Result<UserAgent, Error> {
        let (user, domain) = cfg
            .id
            .split_once('@')
            .filter(|(u, d)| !u.is_empty() && !d.is_empty())
            .ok_or_else(|| Error::BadAccountId(cfg.id.clone()))?;
        let aor = Uri::parse(&format!("sip:{user}@{domain}"))
            .map_err(|_| Error::BadAccountId(cfg.id.clone()))?;
        let mut rng = Rng::from_seed(seed);
        let invalid = format!("{}.invalid", rng.token(12));
        // Drawn in any case, so that the generator's later values do not depend on it.
        let drawn = rng.letters(8);
        let user = cfg.contact_user.clone().unwrap_or(drawn);
        let websocket = cfg.transport.is_websocket();
        // RFC 7118 §5: a WebSocket client cannot be reached but over its flow, so its host
        // is an `.invalid` name; other transports write the socket's address when known.
        let local = cfg.local_addr.clone().filter(|_| !websocket);
        let (local_host, sent_by, mut contact) = match local {
            Some((host, port)) => {
                let host = if host.contains(':') && !host.starts_with('[') {
                    format!("[{host}]")
                } else {
                    host
                };
                let mut contact = Uri::sip(Some(&user), &host);
                contact.port = Some(port);
                (host.clone(), format!("{host}:{port}"), contact)
            }
            None => (
                invalid.clone(),
                invalid.clone(),
                Uri::sip(Some(&user), &invalid),
            ),
        };
        if let Some(t) = cfg.transport.contact_param() {
            contact.set_param("transport", Some(t));
        }
        if websocket {
            // RFC 5626 §5.4 (and RFC 7118 §6): requests to us come back over this flow.
            contact.set_param("ob", None);
        }
        // A generator of its own, so that the main one draws the same values with or
        // without a configured instance id.
        let instance_id = cfg
            .instance_id
            .clone()
            .unwrap_or_else(|| uuid_urn(&mut Rng::from_seed(seed ^ INSTANCE_SEED)));
        // The shell does not tell where a message came from beyond "the flow": leave the
        // proxy's Via as it wrote it.
        let timers = Config {
            stamp_via: false,
            ..Config::default()
        };
        let layer = TransactionLayer::new(timers, rng.next_u64());
        let flow = Dest::new(cfg.transport.kind(), "outbound-proxy.invalid", 0);
        let mut ctx = Ctx {
            cfg,
            rng,
            out: VecDeque::new(),
            aor,
            local_host,
            sent_by,
            contact,
            instance_id,
            route_index: 0,
            route_switch: None,
            layer,
            flow,
            events: VecDeque::new(),
            owners: VecMap::new(),
            acting: None,
            registry: MediaStreamRegistry::with_defaults(),
            msrp_out: VecDeque::new(),
            now: Time::default(),
            file_offer: None,
            desktop_out: VecDeque::new(),
            desktop_offer: None,
        };
        let registration = Registration::new(&mut ctx);
        Ok(UserAgent {
            ctx,
            registration,
            sessions: Vec::new(),
            next_session: 1,
            orphans: VecMap::new(),
            flow_deadline: None,
        })
    }

    /// The account's address-of-record.
    pub fn aor(&self) -> &Uri {
        &self.ctx.aor
    }

    /// The Contact URI this user agent registers.
    pub fn contact(&self) -> &Uri {
        &self.ctx.contact
    }

    /// The RFC 5626 instance id (`urn:uuid:...`) of this account: the configured one, or the
    /// one generated from the seed, which the shell should persist and configure next time.
    pub fn instance_id(&self) -> &str {
        &self.ctx.instance_id
    }

    /// Whether the registrar accepted RFC 5626 outbound for the current registration (its
    /// 2xx had `outbound` in `Require` or `Supported`). Only WebSocket flows ask for it.
    pub fn outbound_in_use(&self) -> bool {
        self.registration.outbound()
    }

    /// The index in [`AccountConfig::routes`] of the route in use (0 without routes).
    pub fn route_index(&self) -> usize {
        self.ctx.route_index
    }

    /// The route in use, if the account has routes.
    pub fn current_route(&self) -> Option<&Route> {
        self.ctx.cfg.routes.get(self.ctx.route_index)
    }

    /// The route the shell must switch its flow to, once per change: after a REGISTER got
    /// no response (timeout or transport error) the core moves to the next route of
    /// [`AccountConfig::routes`], as `SIPAccountRegistrationDidFail`'s `next_route` says.
    /// The shell connects there and calls [`handle_transport_opened`](Self::handle_transport_opened);
    /// the REGISTER goes out then, or after the notification's `delay` at the latest.
    pub fn poll_route_switch(&mut self) -> Option<RouteSwitch> {
        let index = self.ctx.route_switch.take()?;
        let route = self.ctx.cfg.routes.get(index)?.clone();
        Some(RouteSwitch { index, route })
    }

    /// Starts registering, and keeps the registration refreshed.
    pub fn register(&mut self, now: Time) {
        self.ctx.acting = Some(Owner::Registration);
        self.registration.start(&mut self.ctx, now);
        self.run(now);
    }

    /// Removes the registration (`Expires: 0`).
    pub fn unregister(&mut self, now: Time) {
        self.ctx.acting = Some(Owner::Registration);
        self.registration.stop(&mut self.ctx, now);
        self.run(now);
    }

    /// Places a call to `target` (`sip:bob@example.com` or `bob@example.com`), offering
    /// `sdp` or, without one, an audio stream. Returns the session id.
    pub fn connect(&mut self, now: Time, target: &str, sdp: Option<&str>) -> Result<u64, Error> {
        self.connect_to(now, target, sdp, &[AUDIO])
    }

    /// The seed's `connect(callee_uri, routes, audio, chat)`: a call offering an audio
    /// stream, a chat stream or both (negotiated by the core: the m-lines of
    /// [`crate::stream::AudioStream`] and [`crate::stream::ChatStream`]).
    pub fn connect_streams(
        &mut self,
        now: Time,
        target: &str,
        audio: bool,
        chat: bool,
    ) -> Result<u64, Error> {
        let types = pick(audio, chat);
        if types.is_empty() {
            return Err(Error::NoStreams);
        }
        self.connect_to(now, target, None, &types)
    }

    /// A call offering one stream of each registered type in `types`, in order.
    pub fn connect_with(&mut self, now: Time, target: &str, types: &[&str]) -> Result<u64, Error> {
        if types.is_empty() {
            return Err(Error::NoStreams);
        }
        if let Some(t) = types.iter().find(|t| self.ctx.registry.get(t).is_none()) {
            return Err(Error::UnknownStreamType(t.to_string()));
        }
        self.connect_to(now, target, None, types)
    }

    pub(crate) fn connect_to(
        &mut self,
        now: Time,
        target: &str,
        sdp: Option<&str>,
        types: &[&str],
    ) -> Result<u64, Error> {
        let target = target.trim();
        let text = if target.contains(':') {
            target.to_string()
        } else {
            format!("sip:{target}")
        };
        let uri = Uri::parse(&text).map_err(|_| Error::BadTarget(target.to_string()))?;
        if uri.scheme != "sip" && uri.scheme != "sips" || uri.host.is_empty() {
            return Err(Error::BadTarget(target.to_string()));
        }
        let id = self.next_session;
        self.next_session += 1;
        self.ctx.now = now;
        self.ctx.acting = Some(Owner::Session(id));
        let session = Sess::connect(&mut self.ctx, now, id, uri, sdp, types);
        self.sessions.push(session);
        self.run(now);
        Ok(id)
    }

    pub(crate) fn with_session<T>(
        &mut self,
        now: Time,
        id: u64,
        f: impl FnOnce(&mut Sess, &mut Ctx) -> Result<T, Error>,
    ) -> Result<T, Error> {
        let s = self
            .sessions
            .iter_mut()
            .find(|s| s.id() == id)
            .ok_or(Error::NoSuchSession(id))?;
        self.ctx.now = now;
        self.ctx.acting = Some(Owner::Session(id));
        let result = f(s, &mut self.ctx);
        self.run(now);
        result
    }

    /// Ends a session in any active state: CANCEL while calling, 603 while incoming, BYE
    /// once established (after the ACK while accepting).
    pub fn end(&mut self, now: Time, id: u64) -> Result<(), Error> {
        self.with_session(now, id, |s, ctx| s.end(ctx, now))
    }

    /// Accepts an incoming session with `sdp_answer` (the shell's answer to
    /// [`Session::remote_sdp`]) or, without one, an answer taking every offered stream of
    /// a registered type (one per type).
    pub fn accept(&mut self, now: Time, id: u64, sdp_answer: Option<&str>) -> Result<(), Error> {
        self.with_session(now, id, |s, ctx| s.accept(ctx, now, sdp_answer, None))
    }

    /// The seed's `accept(audio, chat)`: answers with the streams asked for, each of which
    /// the peer must have proposed ([`Error::StreamNotProposed`]); the others get port 0.
    pub fn accept_streams(
        &mut self,
        now: Time,
        id: u64,
        audio: bool,
        chat: bool,
    ) -> Result<(), Error> {
        let types = pick(audio, chat);
        self.with_session(now, id, |s, ctx| s.accept(ctx, now, None, Some(&types)))
    }

    /// The seed's `add_audio`: proposes an audio stream (ESTABLISHED → PROPOSING).
    pub fn add_audio(&mut self, now: Time, id: u64) -> Result<(), Error> {
        self.add_stream(now, id, AUDIO)
    }

    /// The seed's `add_chat`: proposes a chat stream (ESTABLISHED → PROPOSING).
    pub fn add_chat(&mut self, now: Time, id: u64) -> Result<(), Error> {
        self.add_stream(now, id, CHAT)
    }

    /// Proposes a stream of any registered type (file transfer, desktop sharing, ...).
    pub fn add_stream(&mut self, now: Time, id: u64, stream_type: &str) -> Result<(), Error> {
        self.with_session(now, id, |s, ctx| s.add_stream(ctx, now, stream_type))
    }

    /// The seed's `remove_audio`: disables the audio stream by re-INVITE.
    pub fn remove_audio(&mut self, now: Time, id: u64) -> Result<(), Error> {
        self.remove_stream(now, id, AUDIO)
    }

    /// The seed's `remove_chat`: disables the chat stream by re-INVITE.
    pub fn remove_chat(&mut self, now: Time, id: u64) -> Result<(), Error> {
        self.remove_stream(now, id, CHAT)
    }

    /// Disables the session's stream of `stream_type` by re-INVITE.
    pub fn remove_stream(&mut self, now: Time, id: u64, stream_type: &str) -> Result<(), Error> {
        self.with_session(now, id, |s, ctx| s.remove_stream(ctx, now, stream_type))
    }

    /// The seed's `accept_proposal(audio, chat)`: accepts the peer's proposed streams asked
    /// for (each must have been proposed); accepting none rejects the proposal.
    pub fn accept_proposal(
        &mut self,
        now: Time,
        id: u64,
        audio: bool,
        chat: bool,
    ) -> Result<(), Error> {
        let types = pick(audio, chat);
        self.accept_proposal_of(now, id, &types)
    }

    /// Accepts the peer's proposed streams of the types in `types`.
    pub fn accept_proposal_of(&mut self, now: Time, id: u64, types: &[&str]) -> Result<(), Error> {
        self.with_session(now, id, |s, ctx| s.accept_proposal(ctx, now, types))
    }

    /// The seed's `reject_proposal`: 488 to the peer's proposal (PROPOSED → ESTABLISHED).
    pub fn reject_proposal(&mut self, now: Time, id: u64) -> Result<(), Error> {
        self.with_session(now, id, |s, ctx| s.reject_proposal(ctx, now))
    }

    /// The stream types sessions negotiate; register more before calling.
    pub fn stream_registry_mut(&mut self) -> &mut MediaStreamRegistry {
        &mut self.ctx.registry
    }

    /// The stream types sessions negotiate.
    pub fn stream_registry(&self) -> &MediaStreamRegistry {
        &self.ctx.registry
    }

    /// The account's SIP id (`user@domain`), as configured.
    pub fn account_id(&self) -> &str {
        &self.ctx.cfg.id
    }

    /// Rejects an incoming session with 486 Busy Here (`busy`) or 603 Decline.
    pub fn reject(&mut self, now: Time, id: u64, busy: bool) -> Result<(), Error> {
        self.with_session(now, id, |s, ctx| s.reject(ctx, now, busy))
    }

    /// Puts an established session on hold with a re-INVITE (RFC 3264 §8.4).
    pub fn hold(&mut self, now: Time, id: u64) -> Result<(), Error> {
        self.with_session(now, id, |s, ctx| s.hold(ctx, now, true))
    }

    /// Takes an established session off hold.
    pub fn unhold(&mut self, now: Time, id: u64) -> Result<(), Error> {
        self.with_session(now, id, |s, ctx| s.hold(ctx, now, false))
    }

    /// The seed's `send_dtmf`: sends `digit` (`0`-`9`, `*`, `#`, `A`-`D`, any case) to the
    /// peer as an INFO `application/dtmf-relay`. Allowed while ESTABLISHED with an audio
    /// stream; digits sent quickly wait for the previous INFO's final response, in order.
    pub fn send_dtmf(&mut self, now: Time, id: u64, digit: char) -> Result<(), Error> {
        self.with_session(now, id, |s, ctx| s.send_dtmf(ctx, now, digit))
    }

    /// The seed's `start_recording_audio`: asks the recorder (the gateway) by INFO to record
    /// the session's audio to `file_name`, or without one to
    /// `<local user>-<remote user>-<YYYYMMDD-HHMMSS>.wav` with the date and time of
    /// `wall_now` (the shell's wall clock, in the offset it wants in the name).
    /// `SIPSessionWillStartRecordingAudio` now, `SIPSessionDidStartRecordingAudio` with the
    /// recorder's file name on its 2xx. Allowed while ESTABLISHED with an audio stream.
    pub fn start_recording_audio(
        &mut self,
        now: Time,
        id: u64,
        file_name: Option<&str>,
        wall_now: DateTime,
    ) -> Result<(), Error> {
        self.with_session(now, id, |s, ctx| {
            s.start_recording_audio(ctx, now, file_name, wall_now)
        })
    }

    /// The seed's `stop_recording_audio`: `SIPSessionWillStopRecordingAudio` now,
    /// `SIPSessionDidStopRecordingAudio` on the recorder's 2xx.
    pub fn stop_recording_audio(&mut self, now: Time, id: u64) -> Result<(), Error> {
        self.with_session(now, id, |s, ctx| s.stop_recording_audio(ctx, now))
    }

    /// The shell's media saw no audio from the peer in the stream's first 5 s:
    /// `SIPSessionGotNoAudio`, once per session (the gateway's relay may have said so
    /// already). Allowed while ESTABLISHED with an audio stream.
    pub fn report_no_audio(&mut self, now: Time, id: u64) -> Result<(), Error> {
        self.with_session(now, id, |s, ctx| s.report_no_audio(ctx))
    }

    /// A session, live or among the last [`ENDED_SESSIONS_KEPT`] ended ones, with its
    /// attributes.
    pub fn session(&self, id: u64) -> Option<&Session> {
        self.sessions.iter().find(|s| s.id() == id)
    }

    /// The ids of the sessions [`session`](Self::session) can read, oldest first.
    pub fn session_ids(&self) -> Vec<u64> {
        self.sessions.iter().map(Sess::id).collect()
    }

    /// The state of a session, if it is known.
    pub fn session_state(&self, id: u64) -> Option<SessionState> {
        self.session(id).map(Sess::state)
    }

    /// The peer's SDP in effect for a session.
    pub fn remote_sdp(&self, id: u64) -> Option<&str> {
        self.session(id).and_then(Sess::remote_sdp)
    }

    /// Our SDP in effect for a session.
    pub fn local_sdp(&self, id: u64) -> Option<&str> {
        self.session(id).and_then(Sess::local_sdp)
    }

    /// Feeds one received message (a WebSocket frame, a datagram).
    pub fn handle_input(&mut self, now: Time, bytes: &[u8]) {
        self.ctx.now = now;
        let source = self.ctx.flow.clone();
        self.ctx.layer.handle_input(
            now,
            Input::ReceivedBytes {
                source,
                bytes: bytes.to_vec(),
            },
        );
        self.run(now);
    }

    /// Fires every timer due at `now`.
    pub fn handle_timeout(&mut self, now: Time) {
        self.ctx.now = now;
        if self.flow_deadline.is_some_and(|t| now >= t) {
            // The flow did not come back in time: the sessions kept alive end now.
            self.flow_deadline = None;
            self.close_sessions(now);
        }
        self.ctx.layer.handle_input(now, Input::Timeout);
        self.ctx.acting = Some(Owner::Registration);
        self.registration.on_timeout(&mut self.ctx, now);
        for s in &mut self.sessions {
            self.ctx.acting = Some(Owner::Session(s.id()));
            s.on_timeout(&mut self.ctx, now);
        }
        self.run(now);
    }

    /// The flow closed: pending transactions fail now rather than at their timers, and the
    /// sessions end (DidFail with code 0, "Transport closed").
    ///
    /// With RFC 5626 outbound in use ([`outbound_in_use`](Self::outbound_in_use)) the flow
    /// is expected back (§4.5): the registration reports the failure
    /// (`SIPAccountRegistrationDidFail` with the back-off as `delay`, after which the shell
    /// should have reconnected), and established sessions are kept for [`FLOW_RECOVERY`];
    /// if [`handle_transport_opened`](Self::handle_transport_opened) is not called by then
    /// they end as above.
    pub fn handle_transport_closed(&mut self, now: Time) {
        self.ctx.now = now;
        let outbound = self.registration.outbound();
        let dest = self.ctx.flow.clone();
        self.ctx
            .layer
            .handle_input(now, Input::TransportError { dest });
        self.run(now);
        self.ctx.acting = Some(Owner::Registration);
        self.registration.on_flow_closed(&mut self.ctx, now);
        self.run(now);
        if outbound {
            self.flow_deadline = Some(now + FLOW_RECOVERY);
            for s in &mut self.sessions {
                if s.state() != SessionState::Established {
                    self.ctx.acting = Some(Owner::Session(s.id()));
                    s.on_transport_closed(&mut self.ctx, now);
                }
            }
            self.run(now);
        } else {
            self.close_sessions(now);
        }
    }

    /// The shell (re)opened the flow, after a close or a route switch: sessions kept alive
    /// across the drop go on, and the registration is renewed at once (RFC 5626 §4.5) after
    /// a first failure or on a route not tried since the last success; after repeated
    /// failures it waits for the back-off the last `SIPAccountRegistrationDidFail` gave.
    pub fn handle_transport_opened(&mut self, now: Time) {
        let recovered = self.flow_deadline.take().is_some();
        self.ctx.acting = Some(Owner::Registration);
        self.registration.on_flow_opened(&mut self.ctx, now);
        self.run(now);
        if recovered {
            // The sessions kept across the drop check their dialogs (an in-dialog OPTIONS).
            for s in &mut self.sessions {
                self.ctx.acting = Some(Owner::Session(s.id()));
                s.on_flow_recovered(&mut self.ctx, now);
            }
            self.run(now);
        }
    }

    /// Ends every session on a closed flow.
    fn close_sessions(&mut self, now: Time) {
        for s in &mut self.sessions {
            self.ctx.acting = Some(Owner::Session(s.id()));
            s.on_transport_closed(&mut self.ctx, now);
        }
        self.run(now);
    }

    /// The next thing to do, until `None`.
    pub fn poll_output(&mut self) -> Option<Output> {
        self.ctx.out.pop_front()
    }

    /// When [`handle_timeout`](Self::handle_timeout) must next be called.
    pub fn poll_timeout(&self) -> Option<Time> {
        let sessions = self.sessions.iter().filter_map(Sess::next_timeout);
        self.registration
            .next_timeout()
            .into_iter()
            .chain(self.flow_deadline)
            .chain(self.ctx.layer.poll_timeout())
            .chain(sessions)
            .min()
    }

    /// Hands every queued layer event to its transaction user, until none is left.
    fn run(&mut self, now: Time) {
        loop {
            self.ctx.flush();
            let Some(event) = self.ctx.events.pop_front() else {
                break;
            };
            match event {
                TxEvent::Request { id, msg, .. } => self.on_request(now, id, msg),
                TxEvent::Response { id, msg } => self.on_response(now, id, msg),
                TxEvent::Ack { msg, .. } => self.on_ack(now, msg),
                TxEvent::Timeout { id } => self.on_failure(now, id, Failure::Timeout),
                TxEvent::TransportError { id } => self.on_failure(now, id, Failure::Transport),
                TxEvent::Terminated { id } => {
                    self.ctx.owners.remove(&id);
                    self.orphans.remove(&id);
                }
            }
        }
        self.ctx.acting = None;
        // Ended sessions stay readable, the oldest forgotten first.
        let ended = self.sessions.iter().filter(|s| s.is_over()).count();
        let mut excess = ended.saturating_sub(ENDED_SESSIONS_KEPT);
        self.sessions.retain(|s| {
            let drop = excess > 0 && s.is_over();
            excess -= usize::from(drop);
            !drop
        });
    }

    fn on_response(&mut self, now: Time, id: TransactionId, msg: Message) {
        match self.ctx.owners.get(&id).copied() {
            Some(Owner::Registration) => {
                self.ctx.acting = Some(Owner::Registration);
                self.registration.on_response(&mut self.ctx, now, id, &msg);
                return;
            }
            Some(Owner::Session(sid)) => {
                self.ctx.acting = Some(Owner::Session(sid));
                if let Some(s) = self.sessions.iter_mut().find(|s| s.id() == sid) {
                    if s.on_response(&mut self.ctx, now, id, &msg) {
                        return;
                    }
                }
            }
            None => {}
        }
        self.ctx.acting = None;
        self.orphan_2xx(now, id, &msg);
    }

    /// A 2xx to an INVITE no session wants: ACK it and end its dialog (RFC 3261 §13.2.2.4),
    /// once per To tag; retransmissions get the same ACK.
    fn orphan_2xx(&mut self, now: Time, id: TransactionId, msg: &Message) {
        if !msg.code().is_some_and(|c| (200..300).contains(&c)) {
            return;
        }
        let Some(invite) = self.ctx.layer.request(id).cloned() else {
            return;
        };
        if invite.method() != Some("INVITE") {
            return;
        }
        let tag = tag_of(msg, "To").unwrap_or_default();
        let acks = self.orphans.get_or_default(id);
        if let Some((_, ack)) = acks.iter().find(|(t, _)| *t == tag) {
            let ack = ack.clone();
            self.ctx.send_stateless(&ack);
            return;
        }
        let ctx = &mut self.ctx;
        let mut via = || ctx.new_via();
        let Some((ack, bye)) = uac::hang_up(&invite, msg, &mut via) else {
            return;
        };
        if acks.len() < uac::MAX_FORKS {
            acks.push((tag, ack.clone()));
        }
        self.ctx.send_stateless(&ack);
        self.ctx.send_request(now, bye);
    }

    fn on_failure(&mut self, now: Time, id: TransactionId, failure: Failure) {
        match self.ctx.owners.get(&id).copied() {
            Some(Owner::Registration) => {
                self.ctx.acting = Some(Owner::Registration);
                self.registration
                    .on_failure(&mut self.ctx, now, id, failure);
            }
            Some(Owner::Session(sid)) => {
                self.ctx.acting = Some(Owner::Session(sid));
                if let Some(s) = live(&mut self.sessions, sid) {
                    s.on_failure(&mut self.ctx, now, id, failure);
                }
            }
            None => {}
        }
    }

    fn on_ack(&mut self, now: Time, msg: Message) {
        let Some(sid) = self.dialog_session(&msg) else {
            return;
        };
        self.ctx.acting = Some(Owner::Session(sid));
        if let Some(s) = live(&mut self.sessions, sid) {
            s.on_ack(&mut self.ctx, now, &msg);
        }
    }

    /// The live session whose dialog a request with a To tag belongs to.
    fn dialog_session(&self, req: &Message) -> Option<u64> {
        self.sessions
            .iter()
            .find(|s| !s.is_over() && s.matches_request(req))
            .map(Sess::id)
    }

    fn on_request(&mut self, now: Time, tx: TransactionId, msg: Message) {
        let method = msg.method().unwrap_or_default().to_string();
        self.ctx.acting = None;
        if method == "CANCEL" {
            let target = self.ctx.layer.cancel_target(&msg);
            let owner = target.and_then(|t| self.ctx.owners.get(&t).copied());
            if let (Some(invite), Some(Owner::Session(sid))) = (target, owner) {
                self.ctx.acting = Some(Owner::Session(sid));
                if let Some(s) = live(&mut self.sessions, sid) {
                    s.on_cancel(&mut self.ctx, now, tx, invite, &msg);
                    return;
                }
            }
            let code = if target.is_some() { 200 } else { 481 };
            let reason = if code == 200 { "OK" } else { DOES_NOT_EXIST };
            self.ctx.reply(now, tx, &msg, code, reason);
            return;
        }
        if tag_of(&msg, "To").is_some() {
            match self.dialog_session(&msg) {
                Some(sid) => {
                    self.ctx.own(tx, Owner::Session(sid));
                    self.ctx.acting = Some(Owner::Session(sid));
                    if let Some(s) = live(&mut self.sessions, sid) {
                        s.on_request(&mut self.ctx, now, tx, &msg);
                    }
                }
                None => self.ctx.reply(now, tx, &msg, 481, DOES_NOT_EXIST),
            }
            return;
        }
        if let Some(unsupported) = unsupported_extensions(&msg) {
            // RFC 3261 §8.2.2.3: we support no extension a request may require.
            let mut r = Message::response_to(&msg, 420, "Bad Extension");
            r.push_header("Unsupported", unsupported);
            self.ctx.respond(now, tx, r);
            return;
        }
        match method.as_str() {
            "INVITE" => self.incoming(now, tx, msg),
            "OPTIONS" => {
                let mut r = Message::response_to(&msg, 200, "OK");
                r.push_header("Allow", ALLOW);
                r.push_header("Accept", "application/sdp");
                self.ctx.respond(now, tx, r);
            }
            "BYE" => self.ctx.reply(now, tx, &msg, 481, DOES_NOT_EXIST),
            "MESSAGE" if msg.header("Target-Dialog").is_some() => {
                self.target_dialog_message(now, tx, &msg)
            }
            _ => self.ctx.reply(now, tx, &msg, 405, "Method Not Allowed"),
        }
    }

    /// A MESSAGE outside dialogs naming one in `Target-Dialog` (RFC 4538): DTMF the gateway
    /// relays from RTP (RFC 4733) to the session, as `application/dtmf-relay` or
    /// `application/dtmf`. 481 when no live session has that dialog, 415 for another body.
    /// Other MESSAGEs (pager mode) are not supported: 405.
    fn target_dialog_message(&mut self, now: Time, tx: TransactionId, msg: &Message) {
        let target = msg
            .header("Target-Dialog")
            .and_then(crate::session::parse_target_dialog);
        let Some((call_id, local_tag, remote_tag)) = target else {
            self.ctx
                .reply(now, tx, msg, 400, "Bad Request (Target-Dialog)");
            return;
        };
        let sid = self
            .sessions
            .iter()
            .find(|s| s.is_target_dialog(&call_id, &local_tag, &remote_tag))
            .map(Sess::id);
        let Some(sid) = sid else {
            self.ctx.reply(now, tx, msg, 481, DOES_NOT_EXIST);
            return;
        };
        if crate::session::is_media_event(msg) {
            // The gateway's relay reporting on the call's audio: `{"event":"no-audio"}`.
            let no_audio = crate::session::media_event_of(msg).as_deref() == Some("no-audio");
            self.ctx.reply(now, tx, msg, 200, "OK");
            if no_audio {
                self.ctx.acting = Some(Owner::Session(sid));
                if let Some(s) = live(&mut self.sessions, sid) {
                    s.got_no_audio(&mut self.ctx);
                }
            }
            return;
        }
        match crate::session::dtmf_of(msg) {
            Ok(Some(digit)) => {
                self.ctx.reply(now, tx, msg, 200, "OK");
                self.ctx.acting = Some(Owner::Session(sid));
                if let Some(s) = live(&mut self.sessions, sid) {
                    s.got_relayed_dtmf(&mut self.ctx, digit);
                }
            }
            Ok(None) => {
                let mut r = self.ctx.response(msg, 415, "Unsupported Media Type");
                r.push_header("Accept", INFO_ACCEPT);
                self.ctx.respond(now, tx, r);
            }
            Err(()) => self
                .ctx
                .reply(now, tx, msg, 400, "Bad Request (no DTMF digit)"),
        }
    }

    fn incoming(&mut self, now: Time, tx: TransactionId, msg: Message) {
        let call_id = msg.header("Call-ID").unwrap_or_default().trim().to_string();
        let from_tag = tag_of(&msg, "From");
        let merged = self.sessions.iter().any(|s| {
            !s.is_over() && s.call_id() == call_id && s.remote_tag() == from_tag.as_deref()
        });
        if merged {
            // The same request reached us twice through a fork (RFC 3261 §8.2.2.2).
            self.ctx.reply(now, tx, &msg, 482, "Loop Detected");
            return;
        }
        let id = self.next_session;
        self.ctx.acting = Some(Owner::Session(id));
        if let Some(session) = Sess::incoming(&mut self.ctx, now, id, tx, &msg) {
            self.ctx.own(tx, Owner::Session(id));
            self.next_session += 1;
            self.sessions.push(session);
        }
    }
}

/// The stream types of the seed's `audio`/`chat` flags.
fn pick(audio: bool, chat: bool) -> Vec<&'static str> {
    let mut types = Vec::new();
    if audio {
        types.push(AUDIO);
    }
    if chat {
        types.push(CHAT);
    }
    types
}

/// The session `id` if it has not ended.
pub(crate) fn live(sessions: &mut [Sess], id: u64) -> Option<&mut Sess> {
    sessions.iter_mut().find(|s| s.id() == id && !s.is_over())
}

const DOES_NOT_EXIST: &str = "Call/Transaction Does Not Exist";

/// The option tags of the request's Require header, which we support none of.
fn unsupported_extensions(msg: &Message) -> Option<String> {
    if matches!(msg.method(), Some("ACK" | "CANCEL")) {
        return None;
    }
    let tags: Vec<&str> = msg.header_lines("Require").flat_map(split_list).collect();
    (!tags.is_empty()).then(|| tags.join(", "))
}

/// A random (version 4) UUID as an RFC 4122 URN, for RFC 5626's `+sip.instance`.
fn uuid_urn(rng: &mut Rng) -> String {
    let (a, b) = (rng.next_u64(), rng.next_u64());
    // Version 4 in the high nibble of octet 6, variant 10 in the top bits of octet 8.
    let a = (a & !0xf000) | 0x4000;
    let b = (b & !(0b11 << 62)) | (0b10 << 62);
    format!(
        "urn:uuid:{:08x}-{:04x}-{:04x}-{:04x}-{:012x}",
        a >> 32,
        (a >> 16) & 0xffff,
        a & 0xffff,
        b >> 48,
        b & 0xffff_ffff_ffff
    )
}
