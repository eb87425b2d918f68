//! MSRP, the Message Session Relay Protocol (RFC 4975), and its WebSocket transport
//! (RFC 7977): the sans-IO wire layer.
//!
//! - [`uri`]: MSRP URIs and their comparison (RFC 4975 §6);
//! - [`header`]: typed header values: Byte-Range, Status, the report headers (§7.1, §9);
//! - [`message`]: [`Frame`], one request or response, its serialising, and the responses
//!   and REPORTs a receiver owes (§7.1.2–§7.2);
//! - [`parser`]: the incremental stream [`Parser`] that finds frames by their end-lines
//!   (§5.1, §7.1.1) within size [`Limits`];
//! - [`chunk`]: the [`ChunkSender`] that splits a message into SEND chunks and the
//!   [`Reassembler`] that puts chunks back together (§5.1, §7.1.1, §7.3.1);
//! - [`auth`]: the client side of relay authentication (RFC 4976 §5): the AUTH request,
//!   the answer to the relay's digest challenge, and the Use-Path it grants;
//! - [`session`]: the [`MsrpSession`] engine for one session over one connection: SEND
//!   transactions and their timeout, reports, streamed sending and receiving (§5–§7).
//!
//! None of it reads a clock or a socket. A session shell pushes what it reads into a
//! [`Parser`], answers each request with [`Frame::response`], hands SEND chunks to a
//! [`Reassembler`], and writes what [`Frame::encode`] produces. Over WebSocket each
//! message carries one frame ([`Frame::parse`]); the URIs then use the `ws` transport.

pub mod auth;
pub mod chunk;
pub mod header;
pub mod message;
pub mod parser;
pub mod session;
pub mod uri;

pub use chunk::{
    ChunkError, ChunkSender, Outcome, OutgoingMessage, Reassembler, ReassemblyError,
    ReceivedMessage,
};
pub use header::{is_ident, ByteRange, FailureReport, HeaderError, Status};
pub use message::{new_tid, tid_is_safe, Flag, Frame, Header, Method, StartLine};
pub use parser::{Limits, ParseError, Parser};
pub use session::{
    IncomingProgress, MsrpSession, Output as SessionOutput, Role, SendError, SendOptions,
    SessionConfig, SessionError, SessionEvent,
};
pub use uri::{Scheme, Uri, UriError};
