//! The MSRP session engine (RFC 4975 §5–§7, RFC 6135 for the connection roles): one MSRP
//! session over one connection, sans-IO.
//!
//! [`MsrpSession`] turns the bytes read from the connection into events and answers, and the
//! application's messages into SEND chunks. It follows the crate's drive loop:
//! 1. **mutate**: [`handle_input`](MsrpSession::handle_input) with each read,
//!    [`handle_timeout`](MsrpSession::handle_timeout) when the timer fires, or a command
//!    ([`send_message`](MsrpSession::send_message), [`push_data`](MsrpSession::push_data),
//!    [`abort`](MsrpSession::abort), ...);
//! 2. **drain** [`poll_output`](MsrpSession::poll_output) until `None`: write each
//!    [`Output::Transmit`] to the connection, answer each [`Output::NeedData`] with
//!    [`push_data`](MsrpSession::push_data), deliver each [`Output::Event`];
//! 3. **sleep** until [`poll_timeout`](MsrpSession::poll_timeout) or the next input.
//!
//! Nothing here holds a whole file: an outgoing message either sits in memory (a chat
//! message, [`MsrpSession::send_bytes`]) or is pulled from the application one chunk at a
//! time ([`Output::NeedData`]); an incoming message is handed out chunk by chunk
//! ([`SessionEvent::ChunkReceived`]), and only messages up to
//! [`SessionConfig::max_buffered_size`] are also put back together in memory.
//!
//! Transactions (§7.1.1): a SEND whose Failure-Report is `yes` (the default) waits for its
//! response for [`SessionConfig::transaction_timeout`] (30 s); a non-200 response or the
//! timeout fails the message ([`SessionEvent::DeliveryFailed`]). Delivery (§7.1.2) is the
//! success REPORT covering the whole message when Success-Report was asked for, else the
//! 200 to every chunk.
//!
//! ```
//! use sipsimple::msrp::{MsrpSession, Role, SendOptions, SessionConfig, SessionEvent};
//! use sipsimple::msrp::{SessionOutput, Uri};
//! use sipsimple::Time;
//! let (a, b) = (Uri::parse("msrp://a.invalid:1/aa11;tcp")?, Uri::parse("msrp://b.invalid:2/bb22;tcp")?);
//! let mut alice = MsrpSession::new(SessionConfig::new(a.clone(), vec![b.clone()], Role::Active), 1);
//! let mut bob = MsrpSession::new(SessionConfig::new(b, vec![a], Role::Passive), 2);
//! let now = Time::from_millis(0);
//! alice.send_bytes(now, SendOptions::new("text/plain"), b"Hi".to_vec()).expect("open");
//! let mut got = None;
//! // Carry bytes both ways until both are quiet.
//! loop {
//!     let mut moved = false;
//!     while let Some(SessionOutput::Transmit(bytes)) = alice.poll_output() {
//!         bob.handle_input(now, &bytes);
//!         moved = true;
//!     }
//!     while let Some(out) = bob.poll_output() {
//!         match out {
//!             SessionOutput::Transmit(bytes) => { alice.handle_input(now, &bytes); moved = true; }
//!             SessionOutput::Event(SessionEvent::MessageReceived { body, .. }) => got = body,
//!             _ => {}
//!         }
//!     }
//!     if !moved { break; }
//! }
//! assert_eq!(got.as_deref(), Some(&b"Hi"[..]));
//! # Ok::<(), sipsimple::msrp::UriError>(())
//! ```

mod ranges;
mod receive;
mod send;

use self::ranges::RangeSet;
use super::header::FailureReport;
use super::message::{Frame, Header, Method};
use super::parser::{Limits, ParseError, Parser};
use super::uri::Uri;
use crate::rng::Rng;
use crate::sdp::Setup;
use crate::time::Time;
use crate::vec_map::VecMap;
use core::fmt;
use core::time::Duration;
use std::collections::VecDeque;

/// How long a SEND waits for its transaction response (RFC 4975 §7.1.1).
pub const DEFAULT_TRANSACTION_TIMEOUT: Duration = Duration::from_secs(30);
/// Default largest incoming message put back together in memory.
pub const DEFAULT_MAX_BUFFERED_SIZE: usize = 1024 * 1024;
/// Default limit of SEND transactions awaiting their response at once.
pub const DEFAULT_MAX_IN_FLIGHT: usize = 32;
/// Default limit of incoming messages in progress at once.
pub const DEFAULT_MAX_INCOMING: usize = 16;
/// Most message ids remembered as refused, so later chunks get the same answer.
const MAX_REFUSED: usize = 64;

/// Which end opens the connection (RFC 6135 `a=setup`, RFC 4975 §5.4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Role {
    /// This end connects and binds the connection with a first SEND.
    Active,
    /// This end accepts the peer's connection.
    Passive,
}

impl Role {
    /// The role for our negotiated `a=setup` value: `active` connects; `passive` (and
    /// `actpass`, which an answer never keeps) accepts; `holdconn` has no connection.
    pub fn from_setup(local: Setup) -> Option<Role> {
        match local {
            Setup::Active => Some(Role::Active),
            Setup::Passive | Setup::ActPass => Some(Role::Passive),
            Setup::HoldConn => None,
        }
    }
}

/// The settings of one [`MsrpSession`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionConfig {
    /// Our URI (the `a=path` we announced): the From-Path of what we send, and what the
    /// last To-Path URI of what we receive must equal (§6.1 comparison, session-id
    /// included).
    pub local_uri: Uri,
    /// The peer's path (its `a=path`): relays first, the peer's URI last.
    pub to_path: Vec<Uri>,
    /// Our connection role.
    pub role: Role,
    /// Largest content of one outgoing chunk, in bytes (at least 1).
    pub chunk_size: usize,
    /// Largest incoming message; larger ones are refused with 413. `None`: no limit.
    pub max_message_size: Option<u64>,
    /// Incoming messages up to this size are also delivered whole in
    /// [`SessionEvent::MessageReceived`]; larger ones only chunk by chunk.
    pub max_buffered_size: usize,
    /// Media types we accept (`*` and `type/*` wildcards allowed); others are refused
    /// with 415. Empty: everything.
    pub accept_types: Vec<String>,
    /// How long a SEND waits for its response.
    pub transaction_timeout: Duration,
    /// Most SEND transactions awaiting a response at once; further chunks wait.
    pub max_in_flight: usize,
    /// Most incoming messages in progress at once; a new one beyond is refused with 413.
    pub max_incoming: usize,
    /// Frame size limits of the stream parser.
    pub limits: Limits,
}

impl SessionConfig {
    /// A configuration with the defaults: 2048-byte chunks, no size limit, everything
    /// accepted, a 30 s transaction timeout.
    pub fn new(local_uri: Uri, to_path: Vec<Uri>, role: Role) -> SessionConfig {
        SessionConfig {
            local_uri,
            to_path,
            role,
            chunk_size: super::chunk::DEFAULT_CHUNK_SIZE,
            max_message_size: None,
            max_buffered_size: DEFAULT_MAX_BUFFERED_SIZE,
            accept_types: Vec::new(),
            transaction_timeout: DEFAULT_TRANSACTION_TIMEOUT,
            max_in_flight: DEFAULT_MAX_IN_FLIGHT,
            max_incoming: DEFAULT_MAX_INCOMING,
            limits: Limits::default(),
        }
    }
}

/// How to send one message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SendOptions {
    /// The Content-Type; `None` only for an empty message.
    pub content_type: Option<String>,
    /// The Message-ID to use (an `ident`); `None` draws a fresh one.
    pub message_id: Option<String>,
    /// Ask for a success REPORT (`Success-Report: yes`); RFC 4975's default is no.
    pub success_report: bool,
    /// Which failures to hear about; RFC 4975's default is `yes`.
    pub failure_report: FailureReport,
    /// Further headers on every chunk (Content-Disposition, ...).
    pub headers: Vec<Header>,
}

impl SendOptions {
    /// Options for a message of `content_type` with RFC 4975's report defaults.
    pub fn new(content_type: &str) -> SendOptions {
        SendOptions {
            content_type: Some(content_type.to_string()),
            message_id: None,
            success_report: false,
            failure_report: FailureReport::Yes,
            headers: Vec::new(),
        }
    }

    /// The same options with `Success-Report: yes`.
    pub fn with_success_report(mut self) -> SendOptions {
        self.success_report = true;
        self
    }

    /// The same options with the given Failure-Report.
    pub fn with_failure_report(mut self, failure_report: FailureReport) -> SendOptions {
        self.failure_report = failure_report;
        self
    }

    /// The same options with a chosen Message-ID.
    pub fn with_message_id(mut self, message_id: &str) -> SendOptions {
        self.message_id = Some(message_id.to_string());
        self
    }
}

/// Why a command was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum SendError {
    /// The session was closed.
    Closed,
    /// The Message-ID is not an `ident` (RFC 4975 §9).
    BadMessageId,
    /// A message with this Message-ID is already being sent.
    DuplicateMessageId,
    /// No message with this Message-ID is being sent.
    UnknownMessage,
    /// [`MsrpSession::push_data`] without an [`Output::NeedData`] waiting for it.
    NoDataRequested,
    /// The data pushed is empty or longer than the `max_len` asked for.
    BadLength {
        /// How many bytes were pushed.
        len: usize,
        /// How many were asked for at most.
        max_len: usize,
    },
    /// A message with content needs a Content-Type (§7.1.1).
    MissingContentType,
}

impl fmt::Display for SendError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SendError::Closed => f.write_str("the MSRP session is closed"),
            SendError::BadMessageId => f.write_str("Message-ID is not an ident"),
            SendError::DuplicateMessageId => f.write_str("a message with this id is in progress"),
            SendError::UnknownMessage => f.write_str("no such outgoing message"),
            SendError::NoDataRequested => f.write_str("no data was asked for"),
            SendError::BadLength { len, max_len } => {
                write!(f, "{len} bytes pushed where 1 to {max_len} were asked for")
            }
            SendError::MissingContentType => f.write_str("content without a Content-Type"),
        }
    }
}

impl std::error::Error for SendError {}

/// Something wrong with the peer's input; the session reports it and, unless it is fatal,
/// carries on.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum SessionError {
    /// The stream parser refused the input. [`ParseError::is_fatal`] errors lose framing:
    /// the session closes, and the shell should close the connection.
    Parse(ParseError),
    /// A request whose last To-Path URI is not ours (§7.3): answered with 481 when it is a
    /// SEND and its Failure-Report allows.
    WrongSession {
        /// The request's transaction id.
        tid: String,
    },
    /// A request we cannot use: a SEND without Message-ID or with a Byte-Range that
    /// disagrees with its body (answered 400), or a REPORT without Message-ID or Status.
    BadRequest {
        /// The request's transaction id.
        tid: String,
        /// What is wrong.
        reason: &'static str,
    },
}

impl fmt::Display for SessionError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SessionError::Parse(e) => write!(f, "MSRP parse error: {e}"),
            SessionError::WrongSession { tid } => {
                write!(f, "request {tid} is addressed to another session")
            }
            SessionError::BadRequest { tid, reason } => write!(f, "request {tid}: {reason}"),
        }
    }
}

impl std::error::Error for SessionError {}

/// What the session reports to the application.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum SessionEvent {
    /// The connection is bound (§5.4): the peer's first request arrived, or our empty
    /// SEND was answered with 200.
    Bound,
    /// Our empty binding SEND was refused or timed out; the shell should close the
    /// connection.
    BindFailed {
        /// The status code (408 for a timeout).
        code: u16,
        /// The comment of the response.
        reason: String,
    },
    /// A chunk of an incoming message was accepted. `data` is its content, to be written
    /// at `offset`; chunks may repeat or overlap earlier ones.
    ChunkReceived {
        /// The Message-ID.
        message_id: String,
        /// The Content-Type of the message, when known.
        content_type: Option<String>,
        /// Where the content goes in the message, 0-based.
        offset: u64,
        /// The content.
        data: Vec<u8>,
        /// Distinct bytes of the message received so far.
        received: u64,
        /// The size of the whole message, when known.
        total: Option<u64>,
    },
    /// An incoming message is complete (after its `ChunkReceived` events).
    MessageReceived {
        /// The Message-ID.
        message_id: String,
        /// Its Content-Type.
        content_type: Option<String>,
        /// Other headers of its first chunk (Content-Disposition, ...).
        headers: Vec<Header>,
        /// Its size.
        total: u64,
        /// The whole content, when the message was no larger than
        /// [`SessionConfig::max_buffered_size`] and every byte came in this session;
        /// `None` otherwise (the chunks carried it).
        body: Option<Vec<u8>>,
    },
    /// The peer abandoned an incoming message (a chunk ending in `#`, §7.1.1), or the
    /// session closed while it was in progress.
    MessageAborted {
        /// The Message-ID.
        message_id: String,
        /// Distinct bytes that had been received.
        received: u64,
        /// Bytes received from the start without a gap: where a resumed transfer restarts.
        prefix: u64,
    },
    /// We refused an incoming message (413 too large, 415 type not accepted, ...).
    MessageRefused {
        /// The Message-ID.
        message_id: String,
        /// The status code of our response.
        code: u16,
    },
    /// A chunk of an outgoing message got its 200 response.
    ChunkDelivered {
        /// The Message-ID.
        message_id: String,
        /// Where the chunk's content starts, 0-based.
        offset: u64,
        /// Its length.
        len: u64,
    },
    /// The last chunk of an outgoing message was handed to [`Output::Transmit`].
    Sent {
        /// The Message-ID.
        message_id: String,
    },
    /// An outgoing message was delivered: a success REPORT covered all of it, or, without
    /// Success-Report, every chunk got its 200.
    Delivered {
        /// The Message-ID.
        message_id: String,
        /// 200.
        code: u16,
        /// The comment of the REPORT's Status or of the last response.
        reason: String,
    },
    /// An outgoing message failed: a non-200 response, a failure REPORT, no response
    /// within the transaction timeout (408), or the session closed (408).
    DeliveryFailed {
        /// The Message-ID.
        message_id: String,
        /// The status code.
        code: u16,
        /// The comment of the response or REPORT, or what happened.
        reason: String,
    },
    /// The peer's input was wrong; see [`SessionError`].
    Error(SessionError),
}

/// What the shell must do next.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Output {
    /// Write these bytes to the connection (one frame; over WebSocket, one message).
    Transmit(Vec<u8>),
    /// Read the next piece of a streamed message and give it to
    /// [`MsrpSession::push_data`]: `1..=max_len` bytes starting at `offset` (0-based).
    NeedData {
        /// The Message-ID.
        message_id: String,
        /// Where the piece starts in the message.
        offset: u64,
        /// The most bytes to push.
        max_len: usize,
    },
    /// Something to tell the application.
    Event(SessionEvent),
}

/// Where an outgoing message's content comes from.
#[derive(Debug)]
enum Source {
    /// All of it in memory.
    Memory(Vec<u8>),
    /// Pulled from the application; `requested` is the `(offset, max_len)` of an
    /// unanswered [`Output::NeedData`].
    Stream { requested: Option<(u64, usize)> },
}

/// An outgoing message.
#[derive(Debug)]
struct Outgoing {
    id: String,
    sender: super::chunk::ChunkSender,
    source: Source,
    total: u64,
    success_report: bool,
    failure_report: FailureReport,
    /// The empty SEND binding the connection, which reports as `Bound`/`BindFailed`.
    bind: bool,
    /// What success REPORTs covered.
    reported: RangeSet,
    /// The 200 to the last chunk arrived.
    last_acked: bool,
}

/// A SEND awaiting (or possibly getting) its response.
#[derive(Debug, Clone)]
struct Transaction {
    message_id: String,
    offset: u64,
    len: u64,
    last: bool,
    /// When it times out.
    deadline: Time,
    /// No positive response is due (Failure-Report `partial`), only a negative one may
    /// come: at the deadline the transaction is forgotten, not failed.
    silent: bool,
}

/// An incoming message in progress.
#[derive(Debug, Default)]
struct Incoming {
    content_type: Option<String>,
    headers: Vec<Header>,
    total: Option<u64>,
    ranges: RangeSet,
    /// The content, while the message may still fit [`SessionConfig::max_buffered_size`].
    buffer: Option<Vec<u8>>,
}

/// What we received of a message in progress; see [`MsrpSession::incoming_progress`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IncomingProgress {
    /// Distinct bytes received.
    pub received: u64,
    /// Bytes received from the start without a gap.
    pub prefix: u64,
    /// The size of the message, when known.
    pub total: Option<u64>,
}

/// One MSRP session over one connection (RFC 4975); see the [module docs](self).
#[derive(Debug)]
pub struct MsrpSession {
    cfg: SessionConfig,
    rng: Rng,
    parser: Parser,
    now: Time,
    out: VecDeque<Output>,
    outgoing: Vec<Outgoing>,
    /// Round-robin position among `outgoing`, so messages interleave.
    cursor: usize,
    transactions: VecMap<String, Transaction>,
    incoming: VecMap<String, Incoming>,
    /// Incoming message ids refused, with the code, oldest first.
    refused: VecDeque<(String, u16)>,
    bound: bool,
    closed: bool,
}

impl MsrpSession {
    /// A session with `cfg`, its transaction ids and Message-IDs drawn from a generator
    /// seeded with `seed` (from the shell's entropy).
    pub fn new(cfg: SessionConfig, seed: u64) -> MsrpSession {
        let mut cfg = cfg;
        cfg.chunk_size = cfg.chunk_size.max(1);
        cfg.max_in_flight = cfg.max_in_flight.max(1);
        cfg.max_incoming = cfg.max_incoming.max(1);
        MsrpSession {
            parser: Parser::with_limits(cfg.limits),
            cfg,
            rng: Rng::from_seed(seed),
            now: Time::default(),
            out: VecDeque::new(),
            outgoing: Vec::new(),
            cursor: 0,
            transactions: VecMap::new(),
            incoming: VecMap::new(),
            refused: VecDeque::new(),
            bound: false,
            closed: false,
        }
    }

    /// The settings.
    pub fn config(&self) -> &SessionConfig {
        &self.cfg
    }

    /// `true` once the connection is bound (see [`SessionEvent::Bound`]).
    pub fn is_bound(&self) -> bool {
        self.bound
    }

    /// `true` after [`close`](Self::close) or a fatal parse error.
    pub fn is_closed(&self) -> bool {
        self.closed
    }

    /// The connection is up. The active end (RFC 6135) binds it with an empty SEND
    /// (RFC 4975 §5.4, §7.1.1), unless it already sent something.
    pub fn start(&mut self, now: Time) {
        self.now = now;
        if self.cfg.role != Role::Active || self.bound || self.closed {
            return;
        }
        let busy = !self.transactions.is_empty() || self.outgoing.iter().any(|o| o.bind);
        if busy {
            return;
        }
        let id = self.rng.token(16);
        let opts = SendOptions {
            content_type: None,
            message_id: Some(id),
            success_report: false,
            failure_report: FailureReport::Yes,
            headers: Vec::new(),
        };
        let mut o = self.make_outgoing(opts, 0, 0, Source::Memory(Vec::new()));
        o.bind = true;
        // The bind goes before anything queued.
        self.outgoing.insert(0, o);
        self.cursor = 0;
    }

    /// Feeds bytes read from the connection.
    pub fn handle_input(&mut self, now: Time, bytes: &[u8]) {
        self.now = now;
        if self.closed {
            return;
        }
        self.parser.push(bytes);
        while let Some(item) = self.parser.next() {
            match item {
                Ok(frame) => self.on_frame(frame),
                Err(e) => {
                    let fatal = e.is_fatal();
                    self.event(SessionEvent::Error(SessionError::Parse(e)));
                    if fatal {
                        self.close(now);
                        return;
                    }
                }
            }
        }
    }

    /// Feeds one frame received as a whole, as over WebSocket (RFC 7977 §5.2, one frame
    /// per message). A malformed message is reported and skipped.
    pub fn handle_message(&mut self, now: Time, bytes: &[u8]) {
        self.now = now;
        if self.closed {
            return;
        }
        match Frame::parse_with(bytes, self.cfg.limits) {
            Ok(frame) => self.on_frame(frame),
            Err(e) => self.event(SessionEvent::Error(SessionError::Parse(e))),
        }
    }

    /// Times out the SEND transactions whose response is overdue (408).
    pub fn handle_timeout(&mut self, now: Time) {
        self.now = now;
        let due: Vec<(String, Transaction)> = self
            .transactions
            .iter()
            .filter(|(_, t)| t.deadline <= now)
            .map(|(tid, t)| (tid.clone(), t.clone()))
            .collect();
        for (tid, t) in due {
            if t.silent {
                // No news is good news for `partial` (§7.1.1).
                self.transactions.remove(&tid);
                self.forget_if_done(&t.message_id);
            } else {
                self.fail_outgoing(&t.message_id, 408, "Request Timeout");
            }
        }
    }

    /// When [`handle_timeout`](Self::handle_timeout) must next be called.
    pub fn poll_timeout(&self) -> Option<Time> {
        self.transactions.values().map(|t| t.deadline).min()
    }

    /// The next thing to do, until `None`. Chunks of messages in memory are cut here, one
    /// at a time, taking turns between messages so that they interleave.
    pub fn poll_output(&mut self) -> Option<Output> {
        loop {
            if let Some(o) = self.out.pop_front() {
                return Some(o);
            }
            if !self.schedule() {
                return None;
            }
        }
    }

    /// The connection is gone: unfinished outgoing messages fail (408), incoming ones are
    /// reported aborted, and later input is ignored.
    pub fn close(&mut self, now: Time) {
        self.now = now;
        if self.closed {
            return;
        }
        self.closed = true;
        let ids: Vec<String> = self.outgoing.iter().map(|o| o.id.clone()).collect();
        for id in ids {
            self.fail_outgoing(&id, 408, "Connection closed");
        }
        for (message_id, m) in core::mem::take(&mut self.incoming) {
            self.event(SessionEvent::MessageAborted {
                message_id,
                received: m.ranges.covered(),
                prefix: m.ranges.prefix(),
            });
        }
        self.transactions.clear();
    }

    fn event(&mut self, e: SessionEvent) {
        self.out.push_back(Output::Event(e));
    }

    fn transmit(&mut self, frame: &Frame) {
        self.out.push_back(Output::Transmit(frame.to_bytes()));
    }

    fn mark_bound(&mut self) {
        if !self.bound {
            self.bound = true;
            self.event(SessionEvent::Bound);
        }
    }

    fn on_frame(&mut self, frame: Frame) {
        match frame.method() {
            None => self.on_response(frame),
            Some(Method::Send) => self.on_send(frame),
            Some(Method::Report) => self.on_report(frame),
            Some(_) => {
                // AUTH is for relays and other methods are unknown (§7.3, §12): 501,
                // unless addressed to another session.
                let code = if self.is_ours(&frame) { 501 } else { 481 };
                if let Some(r) = frame.response(code, Some(comment(code))) {
                    self.transmit(&r);
                }
            }
        }
    }

    /// §7.3: the last To-Path URI must be ours (§6.1 equality: session-id included).
    fn is_ours(&self, frame: &Frame) -> bool {
        frame.to_path.last() == Some(&self.cfg.local_uri)
    }
}

/// The comment written after a status code.
pub(super) fn comment(code: u16) -> &'static str {
    match code {
        200 => "OK",
        400 => "Bad Request",
        403 => "Forbidden",
        408 => "Request Timeout",
        413 => "Message Too Large",
        415 => "Unsupported Media Type",
        423 => "Parameter Out of Bounds",
        481 => "Session Does Not Exist",
        501 => "Not Implemented",
        506 => "Session Already Bound",
        _ => "Error",
    }
}

/// Whether media type `t` is matched by the accepted type `pattern` (`*`, `type/*`, or
/// exact, case-insensitive, parameters ignored).
pub(crate) fn type_accepted(pattern: &str, t: &str) -> bool {
    let essence = |s: &str| s.split(';').next().unwrap_or_default().trim().to_string();
    let (p, t) = (essence(pattern), essence(t));
    if p == "*" || p.eq_ignore_ascii_case(&t) {
        return true;
    }
    match p.strip_suffix("/*") {
        Some(major) => t
            .split('/')
            .next()
            .is_some_and(|m| m.eq_ignore_ascii_case(major)),
        None => false,
    }
}

#[cfg(test)]
mod tests;
