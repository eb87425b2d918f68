//! The user agent's side of MSRP (RFC 4975, RFC 4976 for relays, RFC 6135 for `a=setup`):
//! the connections its sessions' chat and file-transfer streams need, as sans-IO outputs
//! ([`MsrpOutput`], drained with [`UserAgent::poll_msrp`]) and inputs
//! ([`UserAgent::handle_msrp_connected`], [`UserAgent::handle_msrp_input`],
//! [`UserAgent::handle_msrp_closed`]), and the chat and file commands of the seed's
//! Session (`send_message`, `send_composing_indication`, files by file selector).
//!
//! The shell owns the sockets: it connects where [`MsrpOutput::Connect`] says, accepts on
//! the listener it announced in [`AccountConfig::msrp_listen`](super::AccountConfig) and
//! routes each accepted connection by the session id of its first request's To-Path
//! ([`msrp_session_id_of`], [`UserAgent::msrp_route`]), writes [`MsrpOutput::Send`] bytes,
//! reads the file for [`MsrpOutput::NeedData`] and writes [`MsrpOutput::FileData`].
//!
//! Order: drain [`UserAgent::poll_msrp`] before the notifications of
//! [`UserAgent::poll_output`], so that a file's last [`MsrpOutput::FileData`] is written
//! before its `FileTransferStreamDidFinish` is handled.

use super::{live, Error, UserAgent};
use crate::file_selector::FileSelector;
use crate::iscomposing::State;
use crate::stream::FILE_TRANSFER;
use crate::time::Time;

/// Something the shell must do for an MSRP connection or a file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MsrpOutput {
    /// Open a connection (TCP, TLS when `tls`) to `to` for the stream on m-line `stream`
    /// of `session` (we are the active end, or we go through our relay), then call
    /// [`UserAgent::handle_msrp_connected`], or [`UserAgent::handle_msrp_closed`] if it
    /// fails.
    Connect {
        /// The session.
        session: u64,
        /// The stream's m-line.
        stream: usize,
        /// `(host, port)`; an IPv6 host without brackets.
        to: (String, u16),
        /// Whether to use TLS (an `msrps:` URI).
        tls: bool,
    },
    /// Expect the peer's connection on the listener of `msrp_listen`: its first request is
    /// addressed to `session_id` ([`UserAgent::msrp_route`]). Once routed, call
    /// [`UserAgent::handle_msrp_connected`], then feed the bytes read.
    Listen {
        /// The session.
        session: u64,
        /// The stream's m-line.
        stream: usize,
        /// The session id of our MSRP URI.
        session_id: String,
    },
    /// Write these bytes to the stream's connection (over WebSocket, as one message).
    Send {
        /// The session.
        session: u64,
        /// The stream's m-line.
        stream: usize,
        /// One MSRP frame.
        bytes: Vec<u8>,
    },
    /// Close the stream's connection (the stream ended, or its MSRP session gave up).
    Close {
        /// The session.
        session: u64,
        /// The stream's m-line.
        stream: usize,
    },
    /// Read `1..=max_len` bytes of the file being sent from `offset` and give them to
    /// [`UserAgent::push_file_data`].
    NeedData {
        /// The session.
        session: u64,
        /// The stream's m-line.
        stream: usize,
        /// Where to read, 0-based.
        offset: u64,
        /// The most bytes to give.
        max_len: usize,
    },
    /// Write these bytes of the file being received at `offset` (its name:
    /// [`UserAgent::file_selector`], made safe with
    /// [`unique_file_name`](crate::stream::unique_file_name)). The file is complete only
    /// once `FileTransferStreamDidFinish` says so without an error.
    FileData {
        /// The session.
        session: u64,
        /// The stream's m-line.
        stream: usize,
        /// Where the bytes go, 0-based.
        offset: u64,
        /// The bytes.
        bytes: Vec<u8>,
    },
}

/// What the first bytes of an accepted connection say about where it belongs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MsrpPeek {
    /// The first request's head is not complete yet: read more.
    Incomplete,
    /// The session id of the last To-Path URI of the first request.
    SessionId(String),
    /// Not an MSRP request with a To-Path: close the connection.
    Invalid,
}

/// Most bytes of a first request's head looked at before giving up.
const MAX_PEEK: usize = 16 * 1024;

/// Reads the session id the first request on an accepted connection is addressed to (the
/// last URI of its To-Path, RFC 4975 §7.3), for [`UserAgent::msrp_route`].
pub fn msrp_session_id_of(bytes: &[u8]) -> MsrpPeek {
    let head = &bytes[..bytes.len().min(MAX_PEEK)];
    let Some(end) = head.windows(4).position(|w| w == b"\r\n\r\n").or_else(|| {
        // A request without a body ends its headers with the end-line.
        head.windows(9).position(|w| w == b"\r\n-------")
    }) else {
        return if bytes.len() >= MAX_PEEK {
            MsrpPeek::Invalid
        } else {
            MsrpPeek::Incomplete
        };
    };
    let Ok(text) = core::str::from_utf8(&head[..end]) else {
        return MsrpPeek::Invalid;
    };
    let mut lines = text.split("\r\n");
    if !lines.next().is_some_and(|l| l.starts_with("MSRP ")) {
        return MsrpPeek::Invalid;
    }
    let to_path = lines.find_map(|l| {
        let (name, value) = l.split_once(':')?;
        name.trim()
            .eq_ignore_ascii_case("To-Path")
            .then(|| value.trim())
    });
    let last = to_path.and_then(|v| v.split_ascii_whitespace().last());
    match last
        .and_then(|u| crate::msrp::Uri::parse(u).ok())
        .and_then(|u| u.session_id)
    {
        Some(id) => MsrpPeek::SessionId(id),
        None => MsrpPeek::Invalid,
    }
}

impl UserAgent {
    /// Sets the MSRP relay's `Use-Path` (RFC 4976 §5.1) once the shell authenticated to
    /// the relay ([`crate::msrp::auth::AuthClient`]), or clears it (empty) when the relay is
    /// gone: streams offered or answered from now on write it before our own URI in
    /// `a=path` and connect to its first URI. Streams already negotiated keep their path.
    pub fn set_msrp_relay_path(&mut self, path: Vec<String>) {
        self.ctx.cfg.msrp_relay_path = path;
    }

    /// The MSRP relay path in effect ([`AccountConfig::msrp_relay_path`](super::AccountConfig)).
    pub fn msrp_relay_path(&self) -> &[String] {
        &self.ctx.cfg.msrp_relay_path
    }

    /// The next MSRP or file action, until `None`; drain it before [`poll_output`]'s
    /// notifications.
    ///
    /// [`poll_output`]: Self::poll_output
    pub fn poll_msrp(&mut self) -> Option<MsrpOutput> {
        self.ctx.msrp_out.pop_front()
    }

    /// The stream a connection accepted on our listener belongs to: `(session, m-line)` of
    /// the passive stream waiting for a connection whose first request is addressed to
    /// `session_id` ([`msrp_session_id_of`]).
    pub fn msrp_route(&self, session_id: &str) -> Option<(u64, usize)> {
        self.sessions
            .iter()
            .filter(|s| !s.is_over())
            .find_map(|s| s.msrp_route(session_id).map(|i| (s.id(), i)))
    }

    /// The connection of stream `stream` of `session` is up (connected, or accepted and
    /// routed): its engine starts.
    pub fn handle_msrp_connected(
        &mut self,
        now: Time,
        session: u64,
        stream: usize,
    ) -> Result<(), Error> {
        self.with_live(now, session, |s, ctx| s.msrp_connected(ctx, now, stream))
    }

    /// Bytes read from the connection of stream `stream` of `session`.
    pub fn handle_msrp_input(
        &mut self,
        now: Time,
        session: u64,
        stream: usize,
        bytes: &[u8],
    ) -> Result<(), Error> {
        self.with_live(now, session, |s, ctx| s.msrp_input(ctx, now, stream, bytes))
    }

    /// The connection of stream `stream` of `session` closed or could not be opened:
    /// messages in flight are reported undelivered (`ChatStreamDidNotDeliverMessage`,
    /// `SIPSessionDidNotDeliverMessage`) and an unfinished transfer fails
    /// (`FileTransferStreamDidFinish` with an error).
    pub fn handle_msrp_closed(
        &mut self,
        now: Time,
        session: u64,
        stream: usize,
    ) -> Result<(), Error> {
        self.with_live(now, session, |s, ctx| s.msrp_closed(ctx, now, stream))
    }

    /// Gives the file data [`MsrpOutput::NeedData`] asked for at `offset`.
    pub fn push_file_data(
        &mut self,
        now: Time,
        session: u64,
        stream: usize,
        offset: u64,
        bytes: &[u8],
    ) -> Result<(), Error> {
        self.with_live(now, session, |s, ctx| {
            s.push_file_data(ctx, now, stream, offset, bytes)
        })
    }

    /// The seed's `send_message`: sends `content` of `content_type` on the session's chat
    /// stream (wrapped in CPIM when the peer takes it), queued until the stream's MSRP
    /// connection is up. Returns the message id that `ChatStreamDidDeliverMessage` /
    /// `SIPSessionDidDeliverMessage` (or the `DidNotDeliver` ones) carry. The session
    /// needs a started chat stream ([`Error::NoSuchStream`] otherwise).
    pub fn send_message(
        &mut self,
        now: Time,
        id: u64,
        content: &[u8],
        content_type: &str,
    ) -> Result<String, Error> {
        self.with_live(now, id, |s, ctx| {
            s.send_message(ctx, now, content, content_type)
        })
    }

    /// The seed's `send_composing_indication`: sends an RFC 3994 `isComposing` document
    /// with `state` (and `refresh`, in seconds, for `active`) on the chat stream; nothing
    /// before its connection is up.
    pub fn send_composing_indication(
        &mut self,
        now: Time,
        id: u64,
        state: State,
        refresh: Option<u32>,
    ) -> Result<(), Error> {
        self.with_live(now, id, |s, ctx| {
            s.send_composing_indication(ctx, now, state, refresh)
        })
    }

    /// The local user is typing in the session's chat: composing indications follow
    /// RFC 3994's refresh and idle timers.
    pub fn typing(&mut self, now: Time, id: u64) -> Result<(), Error> {
        self.with_live(now, id, |s, ctx| s.typing(ctx, now))
    }

    /// Calls `target` offering a file-transfer stream that sends the file `selector`
    /// describes (RFC 5547: name, type, size, hash; the size is required). Returns the
    /// session id; once the session starts, [`MsrpOutput::NeedData`] asks for the bytes.
    pub fn connect_file(
        &mut self,
        now: Time,
        target: &str,
        selector: &FileSelector,
    ) -> Result<u64, Error> {
        if selector.size.is_none() {
            return Err(Error::FileTransfer(
                crate::stream::FileTransferError::NoSize,
            ));
        }
        self.ctx.file_offer = Some(selector.to_string());
        let r = self.connect_to(now, target, None, &[FILE_TRANSFER]);
        self.ctx.file_offer = None;
        r
    }

    /// Proposes to the established session `id` a file-transfer stream sending the file
    /// `selector` describes (ESTABLISHED → PROPOSING, as [`add_stream`](Self::add_stream)).
    pub fn add_file(&mut self, now: Time, id: u64, selector: &FileSelector) -> Result<(), Error> {
        if selector.size.is_none() {
            return Err(Error::FileTransfer(
                crate::stream::FileTransferError::NoSize,
            ));
        }
        let selector = selector.to_string();
        self.with_session(now, id, |s, ctx| s.add_file(ctx, now, selector))
    }

    /// The selector of the file stream `stream` of `session` sends or receives, once the
    /// stream started: a receiver names the file from it (never as a path: see
    /// [`unique_file_name`](crate::stream::unique_file_name)).
    pub fn file_selector(&self, session: u64, stream: usize) -> Option<&FileSelector> {
        self.session(session)?.file_selector(stream)
    }

    /// Runs `f` on the live session `id`, then hands on what it produced.
    fn with_live<T>(
        &mut self,
        now: Time,
        id: u64,
        f: impl FnOnce(&mut crate::session::Session, &mut super::Ctx) -> Result<T, Error>,
    ) -> Result<T, Error> {
        self.ctx.now = now;
        let s = live(&mut self.sessions, id).ok_or(Error::NoSuchSession(id))?;
        self.ctx.acting = Some(super::Owner::Session(id));
        let r = f(s, &mut self.ctx);
        self.run(now);
        r
    }
}
