//! The transfer logic of the seed's `FileTransferStream` (RFC 5547 over an
//! [`MsrpSession`]), sans-IO. The SDP side of the stream is
//! [`FileTransferStream`](super::FileTransferStream); this is what runs once it started.
//!
//! The file is never in memory whole. Sending, the engine asks for each piece with
//! [`FileTransferOutput::NeedData`] and the shell reads it from the file and gives it to
//! [`FileTransferEngine::push_data`]. Receiving, each chunk comes out as
//! [`FileTransferOutput::WriteData`] for the shell to write at its offset, while the engine
//! hashes the bytes in order (RFC 5547 §8.1: the selector's hash, SHA-1) and checks size and
//! hash at the end. Notifications are the seed's `FileTransferStream*`.
//!
//! The shell owns the file system: [`safe_file_name`] and [`unique_file_name`] choose where
//! a received file may go without trusting the peer's name or overwriting anything.

use crate::file_selector::{FileHash, FileHasher, FileSelector, HashAlgorithm};
use crate::msrp::header::FailureReport;
use crate::msrp::session::{Output, SessionEvent};
use crate::msrp::{MsrpSession, Role, SendError, SendOptions, SessionConfig, Uri};
use crate::notification::Event;
use crate::time::Time;
use crate::vec_map::VecMap;
use core::fmt;
use std::collections::VecDeque;

pub use crate::file_selector::{safe_file_name, MAX_SAFE_NAME_LEN};

/// Most bytes of out-of-order chunks held back for the running hash. Chunks on one
/// connection arrive in order; past this the hash can no longer be checked.
pub const MAX_PENDING_HASH_BYTES: usize = 4 * 1024 * 1024;
/// The Content-Type of a file whose selector names no type.
pub const DEFAULT_FILE_TYPE: &str = "application/octet-stream";

/// A name for a received file that is safe ([`safe_file_name`]) and not taken: the safe
/// name itself, else `name (1).ext`, `name (2).ext`, ... `exists` says whether a name is
/// taken in the download folder. `None` when 9,999 numbered names are taken too.
pub fn unique_file_name(requested: &str, exists: impl Fn(&str) -> bool) -> Option<String> {
    let name = safe_file_name(requested);
    if !exists(&name) {
        return Some(name);
    }
    // `safe_file_name` never returns a name starting with a dot, so a dot past the first
    // character starts the extension.
    let (stem, ext) = match name.rfind('.') {
        Some(i) if i > 0 => name.split_at(i),
        _ => (name.as_str(), ""),
    };
    for n in 1..10_000u32 {
        let suffix = format!(" ({n}){ext}");
        let mut budget = MAX_SAFE_NAME_LEN
            .saturating_sub(suffix.len())
            .min(stem.len());
        while !stem.is_char_boundary(budget) {
            budget -= 1;
        }
        let candidate = format!("{}{suffix}", stem.get(..budget).unwrap_or_default());
        if !exists(&candidate) {
            return Some(candidate);
        }
    }
    None
}

/// Why a transfer did not succeed.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum FileTransferError {
    /// Sending needs the file's size in the selector.
    NoSize,
    /// The received file does not have the size the selector announced.
    SizeMismatch {
        /// The selector's size.
        expected: u64,
        /// What arrived.
        actual: u64,
    },
    /// The received file does not have the hash the selector announced.
    HashMismatch {
        /// The selector's hash.
        expected: FileHash,
        /// The hash of what arrived.
        actual: FileHash,
    },
    /// Chunks came too far out of order for the hash to be computed on the way.
    HashUnverifiable,
    /// The sender abandoned the transfer, or we cancelled it.
    Aborted {
        /// Bytes from the start held without a gap, where a resumed transfer restarts.
        prefix: u64,
    },
    /// We refused the file (413: larger than allowed).
    Refused {
        /// Our status code.
        code: u16,
    },
    /// The peer refused or lost it: a failure response or REPORT, or no response (408).
    NotDelivered {
        /// The status code.
        code: u16,
        /// The comment.
        reason: String,
    },
    /// The MSRP session refused a command.
    Send(SendError),
}

impl fmt::Display for FileTransferError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use FileTransferError as E;
        match self {
            E::NoSize => f.write_str("the file selector has no size"),
            E::SizeMismatch { expected, actual } => {
                write!(f, "received {actual} bytes where {expected} were announced")
            }
            E::HashMismatch { expected, actual } => {
                write!(f, "hash mismatch: announced {expected}, received {actual}")
            }
            E::HashUnverifiable => f.write_str("chunks too far out of order to check the hash"),
            E::Aborted { prefix } => write!(f, "transfer aborted after {prefix} bytes"),
            E::Refused { code } => write!(f, "transfer refused with {code}"),
            E::NotDelivered { code, reason } => write!(f, "not delivered: {code} {reason}"),
            E::Send(e) => write!(f, "{e}"),
        }
    }
}

impl std::error::Error for FileTransferError {}

/// What the shell must do next.
#[derive(Debug, Clone, PartialEq)]
pub enum FileTransferOutput {
    /// Write these bytes to the MSRP connection.
    Transmit(Vec<u8>),
    /// Read `1..=max_len` bytes of the file from `offset` and give them to
    /// [`FileTransferEngine::push_data`].
    NeedData {
        /// Where to read, 0-based.
        offset: u64,
        /// The most bytes to read.
        max_len: usize,
    },
    /// Write these received bytes into the file at `offset`.
    WriteData {
        /// Where to write, 0-based.
        offset: u64,
        /// The bytes.
        data: Vec<u8>,
    },
    /// Post this notification (sender: the file-transfer stream).
    Notification(Event),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Direction {
    Sending,
    Receiving,
}

/// The transfer of one file; see the [module docs](self).
#[derive(Debug)]
pub struct FileTransferEngine {
    selector: FileSelector,
    direction: Direction,
    session: Option<MsrpSession>,
    /// The transfer's MSRP Message-ID: ours when sending, the first one seen (or the one
    /// resumed) when receiving.
    message_id: Option<String>,
    /// Where sending starts, or how much the shell already holds when receiving.
    offset: u64,
    hasher: Option<FileHasher>,
    /// Bytes hashed, from the start.
    hashed: u64,
    /// Out-of-order chunks waiting for the hash, by offset.
    pending: VecMap<u64, Vec<u8>>,
    pending_bytes: usize,
    hash_lost: bool,
    /// Bytes transferred (acknowledged when sending, received when receiving).
    transferred: u64,
    result: Option<Result<(), FileTransferError>>,
    out: VecDeque<FileTransferOutput>,
}

impl FileTransferEngine {
    fn new(selector: FileSelector, direction: Direction) -> FileTransferEngine {
        let algorithm = selector
            .hash
            .as_ref()
            .map_or(HashAlgorithm::Sha1, |h| h.algorithm.clone());
        FileTransferEngine {
            hasher: FileHasher::new(&algorithm),
            selector,
            direction,
            session: None,
            message_id: None,
            offset: 0,
            hashed: 0,
            pending: VecMap::new(),
            pending_bytes: 0,
            hash_lost: false,
            transferred: 0,
            result: None,
            out: VecDeque::new(),
        }
    }

    /// A transfer sending the file `selector` describes (name, type, size, hash); the
    /// size is required.
    pub fn sender(selector: FileSelector) -> Result<FileTransferEngine, FileTransferError> {
        if selector.size.is_none() {
            return Err(FileTransferError::NoSize);
        }
        Ok(FileTransferEngine::new(selector, Direction::Sending))
    }

    /// A transfer sending the rest of a file from `offset`, under the Message-ID of the
    /// interrupted transfer, to a receiver holding its first `offset` bytes.
    pub fn resuming_sender(
        selector: FileSelector,
        message_id: &str,
        offset: u64,
    ) -> Result<FileTransferEngine, FileTransferError> {
        let mut e = FileTransferEngine::sender(selector)?;
        e.message_id = Some(message_id.to_string());
        e.offset = offset;
        e.transferred = offset;
        Ok(e)
    }

    /// A transfer receiving the file `selector` describes (the offer's `a=file-selector`).
    pub fn receiver(selector: FileSelector) -> FileTransferEngine {
        FileTransferEngine::new(selector, Direction::Receiving)
    }

    /// A transfer receiving the rest of a file whose first `prefix` bytes the shell
    /// already wrote, under the Message-ID of the interrupted transfer. `prefix_hash` is a
    /// hasher of the selector's algorithm fed with those bytes (the shell reads them back),
    /// so that the whole file's hash can still be checked.
    pub fn resuming_receiver(
        selector: FileSelector,
        message_id: &str,
        prefix: u64,
        prefix_hash: FileHasher,
    ) -> FileTransferEngine {
        let mut e = FileTransferEngine::receiver(selector);
        e.message_id = Some(message_id.to_string());
        e.offset = prefix;
        e.hashed = prefix;
        e.transferred = prefix;
        e.hasher = Some(prefix_hash);
        e
    }

    /// The file's selector.
    pub fn selector(&self) -> &FileSelector {
        &self.selector
    }

    /// The transfer's MSRP Message-ID, once known.
    pub fn message_id(&self) -> Option<&str> {
        self.message_id.as_deref()
    }

    /// Bytes acknowledged (sending) or received (receiving) so far.
    pub fn transferred_bytes(&self) -> u64 {
        self.transferred
    }

    /// How the transfer ended, once it did.
    pub fn result(&self) -> Option<&Result<(), FileTransferError>> {
        self.result.as_ref()
    }

    /// The MSRP session, once started.
    pub fn session(&self) -> Option<&MsrpSession> {
        self.session.as_ref()
    }

    /// The configuration of the transfer's [`MsrpSession`]: no in-memory reassembly, and
    /// for a receiver, no file larger than the selector's size.
    pub fn session_config(&self, local_uri: Uri, to_path: Vec<Uri>, role: Role) -> SessionConfig {
        let mut cfg = SessionConfig::new(local_uri, to_path, role);
        cfg.max_buffered_size = 0;
        if self.direction == Direction::Receiving {
            cfg.max_message_size = self.selector.size;
        }
        cfg
    }

    /// The stream started over `session` (its connection up): a sender starts sending
    /// (with `Success-Report: yes`, so the end is known from the receiver's REPORT).
    pub fn start(&mut self, now: Time, session: MsrpSession) {
        let mut session = session;
        session.start(now);
        if self.direction == Direction::Receiving {
            if let Some(id) = &self.message_id {
                session.resume_incoming(id, self.offset, self.selector.size);
            }
            self.session = Some(session);
            self.pump();
            return;
        }
        let content_type = self
            .selector
            .media_type
            .as_ref()
            .map_or(DEFAULT_FILE_TYPE.to_string(), ToString::to_string);
        let mut opts = SendOptions::new(&content_type)
            .with_success_report()
            .with_failure_report(FailureReport::Yes);
        if let Some(id) = &self.message_id {
            opts = opts.with_message_id(id);
        }
        let size = self.selector.size.unwrap_or(0);
        match session.resume_message(now, opts, size, self.offset) {
            Ok(id) => self.message_id = Some(id),
            Err(e) => self.finish(Err(FileTransferError::Send(e))),
        }
        self.session = Some(session);
        self.pump();
    }

    /// Gives the piece asked for by [`FileTransferOutput::NeedData`].
    pub fn push_data(&mut self, now: Time, data: &[u8]) -> Result<(), FileTransferError> {
        let (Some(s), Some(id)) = (self.session.as_mut(), self.message_id.as_deref()) else {
            return Err(FileTransferError::Send(SendError::UnknownMessage));
        };
        s.push_data(now, id, data)
            .map_err(FileTransferError::Send)?;
        self.pump();
        Ok(())
    }

    /// Feeds bytes read from the MSRP connection.
    pub fn handle_input(&mut self, now: Time, bytes: &[u8]) {
        if let Some(s) = self.session.as_mut() {
            s.handle_input(now, bytes);
        }
        self.pump();
    }

    /// Runs the MSRP transaction timers.
    pub fn handle_timeout(&mut self, now: Time) {
        if let Some(s) = self.session.as_mut() {
            s.handle_timeout(now);
        }
        self.pump();
    }

    /// When [`handle_timeout`](Self::handle_timeout) must next be called.
    pub fn poll_timeout(&self) -> Option<Time> {
        self.session.as_ref().and_then(MsrpSession::poll_timeout)
    }

    /// The next thing to do, until `None`.
    pub fn poll_output(&mut self) -> Option<FileTransferOutput> {
        if self.out.is_empty() {
            self.pump();
        }
        self.out.pop_front()
    }

    /// Cancels the transfer: a sender tells the receiver with `#` (RFC 4975 §7.1.1).
    /// `FileTransferStreamDidFinish` follows with [`FileTransferError::Aborted`].
    pub fn cancel(&mut self, now: Time) {
        if self.result.is_some() {
            return;
        }
        if let (Some(s), Some(id)) = (self.session.as_mut(), self.message_id.as_deref()) {
            match self.direction {
                Direction::Sending => {
                    let _ = s.abort(now, id);
                }
                Direction::Receiving => {
                    s.abandon_incoming(id);
                }
            }
        }
        let prefix = match self.direction {
            Direction::Sending => self.transferred,
            Direction::Receiving => self.hashed.max(self.offset),
        };
        self.pump();
        self.finish(Err(FileTransferError::Aborted { prefix }));
    }

    /// The connection closed: an unfinished transfer fails (`FileTransferStreamDidFinish`
    /// with an error, [`FileTransferError::Aborted`] when nothing else explains it).
    pub fn end(&mut self, now: Time) {
        if let Some(s) = self.session.as_mut() {
            s.close(now);
        }
        self.pump();
        let prefix = match self.direction {
            Direction::Sending => self.transferred,
            Direction::Receiving => self.hashed.max(self.offset),
        };
        self.finish(Err(FileTransferError::Aborted { prefix }));
    }

    fn notify(&mut self, e: Event) {
        self.out.push_back(FileTransferOutput::Notification(e));
    }

    fn finish(&mut self, result: Result<(), FileTransferError>) {
        if self.result.is_some() {
            return;
        }
        let error = result.as_ref().err().map(ToString::to_string);
        self.result = Some(result);
        self.notify(Event::FileTransferStreamDidFinish { error });
    }

    fn pump(&mut self) {
        let Some(session) = self.session.as_mut() else {
            return;
        };
        let mut events = Vec::new();
        while let Some(o) = session.poll_output() {
            match o {
                Output::Transmit(b) => self.out.push_back(FileTransferOutput::Transmit(b)),
                Output::NeedData {
                    offset, max_len, ..
                } => self
                    .out
                    .push_back(FileTransferOutput::NeedData { offset, max_len }),
                Output::Event(e) => events.push(e),
            }
        }
        for e in events {
            self.on_event(e);
        }
    }

    fn is_ours(&self, message_id: &str) -> bool {
        self.message_id.as_deref() == Some(message_id)
    }

    fn on_event(&mut self, e: SessionEvent) {
        if self.result.is_some() {
            return;
        }
        match e {
            SessionEvent::ChunkDelivered {
                message_id,
                offset,
                len,
            } if self.is_ours(&message_id) => {
                self.transferred = self.transferred.saturating_add(len);
                self.notify(Event::FileTransferStreamDidDeliverChunk {
                    message_id,
                    offset,
                    length: len,
                    transferred_bytes: self.transferred,
                    file_size: self.selector.size.unwrap_or(0),
                });
            }
            SessionEvent::Delivered { message_id, .. } if self.is_ours(&message_id) => {
                self.finish(Ok(()));
            }
            SessionEvent::DeliveryFailed {
                message_id,
                code,
                reason,
            } if self.is_ours(&message_id) => {
                self.notify(Event::FileTransferStreamDidNotDeliverChunk {
                    message_id,
                    code,
                    reason: reason.clone(),
                });
                self.finish(Err(FileTransferError::NotDelivered { code, reason }));
            }
            SessionEvent::ChunkReceived {
                message_id,
                content_type,
                offset,
                data,
                received,
                total,
            } if self.direction == Direction::Receiving => {
                if self.message_id.is_none() {
                    self.message_id = Some(message_id.clone());
                }
                if !self.is_ours(&message_id) {
                    // One file per stream (RFC 5547 §8): other messages are not ours.
                    return;
                }
                self.transferred = received;
                let length = u64::try_from(data.len()).unwrap_or(u64::MAX);
                self.hash(offset, &data);
                self.out
                    .push_back(FileTransferOutput::WriteData { offset, data });
                self.notify(Event::FileTransferStreamGotChunk {
                    content_type,
                    offset,
                    length,
                    transferred_bytes: received,
                    file_size: self.selector.size.or(total),
                });
            }
            SessionEvent::MessageReceived {
                message_id, total, ..
            } if self.is_ours(&message_id) => {
                let r = self.verify(total);
                self.finish(r);
            }
            SessionEvent::MessageAborted {
                message_id, prefix, ..
            } if self.is_ours(&message_id) => {
                self.finish(Err(FileTransferError::Aborted { prefix }));
            }
            SessionEvent::MessageRefused { message_id, code }
                if self.message_id.is_none() || self.is_ours(&message_id) =>
            {
                self.message_id.get_or_insert(message_id);
                self.finish(Err(FileTransferError::Refused { code }));
            }
            _ => {}
        }
    }

    /// Feeds the running hash with the bytes from `offset`, in order.
    fn hash(&mut self, offset: u64, data: &[u8]) {
        if self.hash_lost || self.hasher.is_none() {
            return;
        }
        let end = offset.saturating_add(u64::try_from(data.len()).unwrap_or(u64::MAX));
        if offset > self.hashed {
            self.pending_bytes = self.pending_bytes.saturating_add(data.len());
            if self.pending_bytes > MAX_PENDING_HASH_BYTES {
                self.hash_lost = true;
                self.pending.clear();
                return;
            }
            self.pending.insert(offset, data.to_vec());
            return;
        }
        self.hash_from(offset, end, data);
        // Chunks held back that now follow on.
        while let Some((&o, _)) = self.pending.first_key_value() {
            if o > self.hashed {
                break;
            }
            let Some((o, d)) = self.pending.pop_first() else {
                break;
            };
            self.pending_bytes = self.pending_bytes.saturating_sub(d.len());
            let e = o.saturating_add(u64::try_from(d.len()).unwrap_or(u64::MAX));
            self.hash_from(o, e, &d);
        }
    }

    /// Hashes the part of `[offset, end)` past what is hashed already.
    fn hash_from(&mut self, offset: u64, end: u64, data: &[u8]) {
        if end <= self.hashed {
            return;
        }
        let skip = usize::try_from(self.hashed.saturating_sub(offset)).unwrap_or(usize::MAX);
        if let (Some(h), Some(fresh)) = (self.hasher.as_mut(), data.get(skip..)) {
            h.update(fresh);
            self.hashed = end;
        }
    }

    /// The size and hash check of a complete file.
    fn verify(&mut self, total: u64) -> Result<(), FileTransferError> {
        if let Some(expected) = self.selector.size.filter(|&s| s != total) {
            return Err(FileTransferError::SizeMismatch {
                expected,
                actual: total,
            });
        }
        let Some(expected) = self.selector.hash.clone() else {
            return Ok(());
        };
        if matches!(expected.algorithm, HashAlgorithm::Other(_)) {
            // An algorithm this crate cannot compute: nothing to check against.
            return Ok(());
        }
        if self.hash_lost || self.hashed != total {
            return Err(FileTransferError::HashUnverifiable);
        }
        let Some(actual) = self.hasher.take().map(FileHasher::finish) else {
            return Err(FileTransferError::HashUnverifiable);
        };
        if actual == expected {
            Ok(())
        } else {
            Err(FileTransferError::HashMismatch { expected, actual })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unique_names_never_overwrite() {
        let taken = ["report.pdf", "report (1).pdf", "file"];
        let exists = |n: &str| taken.contains(&n);
        assert_eq!(
            unique_file_name("../../report.pdf", exists).as_deref(),
            Some("report (2).pdf")
        );
        assert_eq!(
            unique_file_name("new.txt", exists).as_deref(),
            Some("new.txt")
        );
        assert_eq!(
            unique_file_name("..\\\u{0}..", exists).as_deref(),
            Some("file (1)")
        );
        assert_eq!(safe_file_name("/etc/.passwd"), "passwd");
        assert_eq!(unique_file_name("x", |_| true), None);
        let long = format!("{}.txt", "a".repeat(300));
        let name = unique_file_name(&long, |n| !n.contains('(')).expect("a name");
        assert!(name.len() <= MAX_SAFE_NAME_LEN && name.ends_with(" (1).txt"));
    }

    #[test]
    fn hashes_out_of_order_chunks_in_order() {
        let data: Vec<u8> = (0..100u8).collect();
        let sel = FileSelector {
            size: Some(100),
            hash: FileHash::of(&HashAlgorithm::Sha1, &data),
            ..FileSelector::default()
        };
        let mut e = FileTransferEngine::receiver(sel);
        e.hash(50, &data[50..]);
        e.hash(10, &data[10..60]);
        assert_eq!(e.hashed, 0);
        e.hash(0, &data[..20]);
        assert_eq!(e.hashed, 100);
        assert_eq!(e.verify(100), Ok(()));
    }

    #[test]
    fn sender_needs_a_size() {
        assert_eq!(
            FileTransferEngine::sender(FileSelector::default()).err(),
            Some(FileTransferError::NoSize)
        );
    }
}
