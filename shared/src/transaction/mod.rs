//! SIP transactions: RFC 3261 §17 with RFC 6026's Accepted state and Timers L and M,
//! transaction matching by §17.1.3 and §17.2.3, CANCEL matching by §9.2.
//!
//! A [`TransactionLayer`] owns every client and server transaction of one SIP element (a
//! user agent, a proxy) and sits between the transport (the shell's sockets) and the
//! transaction user, the TU (the dialog layer, a proxy core). It is sans-IO like the rest
//! of the crate: it never reads a clock nor touches a socket.
//!
//! ## The four state machines
//! - `client_invite`: INVITE client transaction (§17.1.1): Calling, Proceeding, Completed,
//!   Accepted (RFC 6026), Terminated; Timers A, B, C, D and M. It builds the ACK for a
//!   non-2xx final response itself (§17.1.1.3).
//! - `client`: non-INVITE client transaction (§17.1.2): Trying, Proceeding, Completed;
//!   Timers E, F and K.
//! - `server_invite`: INVITE server transaction (§17.2.1): Proceeding (with the automatic
//!   100 Trying), Completed, Confirmed, Accepted (RFC 6026); Timers G, H, I and L.
//! - `server`: non-INVITE server transaction (§17.2.2): Trying, Proceeding, Completed;
//!   Timer J.
//!
//! Retransmission timers (A, E, G) run on unreliable flows only, and the "absorb
//! retransmissions" timers (D, I, J, K) are zero on reliable ones (§17.1.1.2): whether a
//! flow is reliable is a property of its [`Dest`].
//!
//! ## The drive loop
//! 1. **mutate**: feed [`Input::Received`] (or [`Input::ReceivedBytes`]) for each message
//!    from the network, [`Input::Timeout`] once [`TransactionLayer::poll_timeout`] has
//!    passed, [`Input::TransportError`] when a flow fails; or call a command:
//!    [`send_request`](TransactionLayer::send_request),
//!    [`respond`](TransactionLayer::respond), [`cancel`](TransactionLayer::cancel),
//!    [`send_stateless`](TransactionLayer::send_stateless);
//! 2. **drain**: call [`poll_output`](TransactionLayer::poll_output) until `None`, sending
//!    each [`Output::Transmit`] and handing each [`Output::Event`] to the TU (which may call
//!    commands, so drain again);
//! 3. **sleep** until [`poll_timeout`](TransactionLayer::poll_timeout) or the next input.
//!
//! ```
//! use sipsimple::sip::{Message, Uri};
//! use sipsimple::transaction::{
//!     Config, Dest, Event, Input, Output, TransactionLayer, TransportKind,
//! };
//! use sipsimple::Time;
//!
//! let mut layer = TransactionLayer::new(Config::default(), 1);
//! let mut options = Message::request("OPTIONS", Uri::sip(Some("bob"), "example.com"));
//! options.push_header("Via", "SIP/2.0/UDP 192.0.2.1:5060");
//! options.push_header("CSeq", "1 OPTIONS");
//! let to = Dest::new(TransportKind::Udp, "192.0.2.2", 5060);
//! let id = layer.send_request(Time::from_millis(0), to.clone(), options).expect("valid");
//! let Some(Output::Transmit { dest, bytes }) = layer.poll_output() else {
//!     panic!("the OPTIONS on the wire")
//! };
//! assert_eq!(dest, to);
//! assert!(bytes.starts_with(b"OPTIONS sip:bob@example.com SIP/2.0\r\nVia: SIP/2.0/UDP"));
//! assert_eq!(layer.poll_timeout(), Some(Time::from_millis(500))); // Timer E
//!
//! // The peer answers 200 OK.
//! let sent = Message::parse(&bytes).expect("valid");
//! let ok = Message::response_to(&sent, 200, "OK");
//! layer.handle_input(Time::from_millis(80), Input::Received { source: to, msg: ok });
//! let Some(Output::Event(Event::Response { id: got, msg })) = layer.poll_output() else {
//!     panic!("the 200 for the TU")
//! };
//! assert_eq!((got, msg.code()), (id, Some(200)));
//! // Timer K (T4 = 5 s on UDP) absorbs retransmitted 200s, then the transaction ends.
//! assert_eq!(layer.poll_timeout(), Some(Time::from_millis(5_080)));
//! layer.handle_input(Time::from_millis(5_080), Input::Timeout);
//! assert!(matches!(layer.poll_output(), Some(Output::Event(Event::Terminated { .. }))));
//! assert_eq!(layer.poll_timeout(), None);
//! ```
//!
//! ## What the TU does itself
//! - The 2xx to an INVITE and its ACK are end-to-end (§13.3.1.4, §13.2.2.4): the UAS core
//!   retransmits its 2xx with [`respond`](TransactionLayer::respond) while the server
//!   transaction is Accepted (and with [`send_stateless`](TransactionLayer::send_stateless)
//!   after Timer L), and the UAC core sends the ACK for every 2xx with
//!   [`send_stateless`](TransactionLayer::send_stateless).
//! - An ACK that matches no transaction (the ACK for a 2xx) reaches the TU as
//!   [`Event::Ack`] (§18.2.1); a response that matches no transaction is dropped (§18.1.2
//!   as RFC 6026 updates it: only stateless proxies forward stray responses).
//! - Responses to a server transaction go back to the request's source, the flow it came on
//!   (§18.2.2 for reliable transports, RFC 3581 symmetric response routing for UDP).
//! - A request without a parsable top Via, a Call-ID and a CSeq naming its method cannot
//!   be matched nor answered by a transaction: the layer drops it, as it drops bytes that
//!   do not parse. Validation beyond that (§8.2) is the TU's.
//! - Requests whose top Via branch lacks the `z9hG4bK` magic cookie (RFC 2543 peers) are
//!   matched by Request-URI, Call-ID, From tag, CSeq and top Via (§17.2.3's fallback, without
//!   the To tag comparison for ACKs).

mod client;
mod client_invite;
mod key;
mod layer;
mod server;
mod server_invite;
mod timers;

pub use layer::TransactionLayer;
pub use timers::{Config, Timer};

use crate::sip::Message;
use core::fmt;

/// The transport of a flow: it decides whether retransmission timers run (RFC 3261 §17).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum TransportKind {
    /// UDP (RFC 3261 §18): unreliable.
    Udp,
    /// TCP (RFC 3261 §18).
    Tcp,
    /// TLS over TCP (RFC 3261 §26).
    Tls,
    /// SCTP (RFC 4168).
    Sctp,
    /// WebSocket (RFC 7118).
    Ws,
    /// Secure WebSocket (RFC 7118).
    Wss,
}

impl TransportKind {
    /// `false` for UDP only: every other transport delivers in order without loss.
    pub fn is_reliable(self) -> bool {
        !matches!(self, TransportKind::Udp)
    }

    /// The name written in a Via header (`UDP`, `TCP`, `TLS`, `SCTP`, `WS`, `WSS`).
    pub fn via_name(self) -> &'static str {
        match self {
            TransportKind::Udp => "UDP",
            TransportKind::Tcp => "TCP",
            TransportKind::Tls => "TLS",
            TransportKind::Sctp => "SCTP",
            TransportKind::Ws => "WS",
            TransportKind::Wss => "WSS",
        }
    }

    /// Reads a Via transport name, case-insensitively.
    pub fn from_via_name(name: &str) -> Option<TransportKind> {
        let all = [
            TransportKind::Udp,
            TransportKind::Tcp,
            TransportKind::Tls,
            TransportKind::Sctp,
            TransportKind::Ws,
            TransportKind::Wss,
        ];
        all.into_iter()
            .find(|t| t.via_name().eq_ignore_ascii_case(name))
    }
}

/// Where a message goes or came from: a transport, a host and a port, and optionally the
/// shell's own identifier of a connection. The core only compares destinations and asks
/// whether they are reliable; the shell maps them to sockets. Plain data, so it works the
/// same on wasm32.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Dest {
    /// The transport of the flow.
    pub transport: TransportKind,
    /// The peer's host: an IP address (IPv6 without brackets) or a name.
    pub host: String,
    /// The peer's port.
    pub port: u16,
    /// The shell's identifier of a connection-oriented flow, when it pins one.
    pub flow: Option<u64>,
}

impl Dest {
    /// A destination without a pinned flow.
    pub fn new(transport: TransportKind, host: impl Into<String>, port: u16) -> Dest {
        Dest {
            transport,
            host: host.into(),
            port,
            flow: None,
        }
    }

    /// The same destination pinned to the shell's flow `flow`.
    pub fn with_flow(mut self, flow: u64) -> Dest {
        self.flow = Some(flow);
        self
    }

    /// Whether the transport is reliable (see [`TransportKind::is_reliable`]).
    pub fn is_reliable(&self) -> bool {
        self.transport.is_reliable()
    }
}

impl fmt::Display for Dest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let t = self.transport.via_name();
        if self.host.contains(':') {
            write!(f, "{t}:[{}]:{}", self.host, self.port)?;
        } else {
            write!(f, "{t}:{}:{}", self.host, self.port)?;
        }
        match self.flow {
            Some(flow) => write!(f, "#{flow}"),
            None => Ok(()),
        }
    }
}

/// Names one transaction of a [`TransactionLayer`]; never reused by that layer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TransactionId(u64);

impl TransactionId {
    /// The number behind the id, for logs.
    pub fn get(self) -> u64 {
        self.0
    }
}

impl fmt::Display for TransactionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "tx{}", self.0)
    }
}

/// Which of the four state machines a transaction is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kind {
    /// INVITE client transaction (RFC 3261 §17.1.1).
    InviteClient,
    /// Non-INVITE client transaction (RFC 3261 §17.1.2).
    NonInviteClient,
    /// INVITE server transaction (RFC 3261 §17.2.1).
    InviteServer,
    /// Non-INVITE server transaction (RFC 3261 §17.2.2).
    NonInviteServer,
}

impl Kind {
    /// `true` for client transactions.
    pub fn is_client(self) -> bool {
        matches!(self, Kind::InviteClient | Kind::NonInviteClient)
    }
}

/// The states of RFC 3261 §17 and RFC 6026; each machine uses a subset.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum State {
    /// INVITE client: the request is out, no response yet.
    Calling,
    /// Non-INVITE client or server: no provisional response yet.
    Trying,
    /// A provisional response was received or sent.
    Proceeding,
    /// A final response (non-2xx for INVITE) was received or sent.
    Completed,
    /// INVITE server: the ACK for the non-2xx final arrived.
    Confirmed,
    /// INVITE client or server: a 2xx went by (RFC 6026).
    Accepted,
    /// Done; the layer forgets the transaction at once.
    Terminated,
}

/// What the layer tells the TU.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// A new request created server transaction `id`; answer it with
    /// [`TransactionLayer::respond`].
    Request {
        /// The new server transaction.
        id: TransactionId,
        /// Where the request came from; the responses go back there.
        source: Dest,
        /// The request, its top Via stamped with `received`/`rport` (see
        /// [`Config::stamp_via`]).
        msg: Message,
    },
    /// Client transaction `id` received a response for the TU: every provisional, the
    /// first non-2xx final, and every 2xx (retransmissions included, RFC 6026 §8.4).
    Response {
        /// The client transaction.
        id: TransactionId,
        /// The response.
        msg: Message,
    },
    /// An ACK for the TU: one matching no transaction (the ACK for a 2xx, `id` is `None`),
    /// or one matching an INVITE server transaction in Accepted (RFC 6026 §8.7).
    Ack {
        /// The INVITE server transaction it matched, if any.
        id: Option<TransactionId>,
        /// Where it came from.
        source: Dest,
        /// The ACK.
        msg: Message,
    },
    /// Transaction `id` timed out: Timer B, C or F for a client (no final response),
    /// Timer H for an INVITE server (no ACK for its non-2xx final).
    Timeout {
        /// The transaction.
        id: TransactionId,
    },
    /// The transport failed to deliver for transaction `id` (RFC 3261 §17.1.4, §17.2.4).
    TransportError {
        /// The transaction.
        id: TransactionId,
    },
    /// Transaction `id` ended; it is emitted exactly once per transaction, last.
    Terminated {
        /// The transaction.
        id: TransactionId,
    },
}

/// What the layer asks of its shell and TU.
// The events carry a whole `Message`; boxing them would cost an allocation per event to
// save a few hundred bytes of queue slot, so the size difference is accepted.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Output {
    /// Send `bytes` (one whole SIP message) to `dest`.
    Transmit {
        /// The destination.
        dest: Dest,
        /// The message in wire form.
        bytes: Vec<u8>,
    },
    /// Hand this to the TU.
    Event(Event),
}

/// What the shell feeds into the layer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Input {
    /// A parsed message received from `source`.
    Received {
        /// Where it came from.
        source: Dest,
        /// The message.
        msg: Message,
    },
    /// One whole message (a datagram, a WebSocket frame) received from `source`; one that
    /// does not parse is dropped.
    ReceivedBytes {
        /// Where it came from.
        source: Dest,
        /// The bytes.
        bytes: Vec<u8>,
    },
    /// [`TransactionLayer::poll_timeout`] has passed: fire every timer due.
    Timeout,
    /// Sending to `dest` failed, or its connection closed: every transaction bound to it
    /// that still needs it fails with [`Event::TransportError`].
    TransportError {
        /// The failed destination.
        dest: Dest,
    },
}

/// Why a command was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Error {
    /// A request was expected.
    NotARequest,
    /// A response was expected.
    NotAResponse,
    /// ACK is not sent in a transaction of its own: the client transaction builds the ACK
    /// for a non-2xx and the TU sends the ACK for a 2xx with `send_stateless`.
    AckNotTransaction,
    /// The request has no parsable Via header.
    MissingVia,
    /// The request has no parsable CSeq header, or its method differs from the request's.
    BadCSeq,
    /// A client transaction with the same branch and method exists.
    DuplicateBranch,
    /// No live transaction has this id.
    UnknownTransaction,
    /// The transaction is not of the kind the command needs.
    WrongKind,
    /// The transaction's state does not allow the command (a second final response, a
    /// CANCEL before any provisional response, §9.1).
    WrongState,
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Error::NotARequest => "a request was expected",
            Error::NotAResponse => "a response was expected",
            Error::AckNotTransaction => "ACK does not start a transaction",
            Error::MissingVia => "the request has no valid Via header",
            Error::BadCSeq => "the request has no valid CSeq header for its method",
            Error::DuplicateBranch => "a client transaction already uses this branch",
            Error::UnknownTransaction => "no such transaction",
            Error::WrongKind => "the transaction is of the wrong kind for this command",
            Error::WrongState => "the transaction's state does not allow this",
        })
    }
}

impl std::error::Error for Error {}

/// What one state machine asks of the layer; the layer adds the transaction's id and
/// destination.
#[derive(Debug)]
pub(crate) enum Action {
    /// Send these bytes to the transaction's destination.
    Send(Vec<u8>),
    /// Pass a response up ([`Event::Response`]).
    Response(Message),
    /// Pass an ACK up ([`Event::Ack`]).
    Ack(Message),
    /// [`Event::Timeout`].
    Timeout,
    /// [`Event::TransportError`].
    TransportError,
    /// [`Event::Terminated`]; the machine is in [`State::Terminated`] with no timer left.
    Terminated,
}

/// The status class of a response code.
pub(crate) fn is_provisional(code: u16) -> bool {
    (100..200).contains(&code)
}

/// `true` for 2xx.
pub(crate) fn is_success(code: u16) -> bool {
    (200..300).contains(&code)
}
