//! Chunking and reassembly of MSRP messages (RFC 4975 §5.1, §7.1.1, §7.3.1).
//!
//! A message is sent as one or more SEND requests ("chunks") sharing its Message-ID; each
//! says with Byte-Range which bytes it carries and with its end-line flag whether more
//! follow (`+`), it holds the end (`$`), or the sender gave up (`#`). Both halves here are
//! plain data structures: they keep no timers, and a shell that wants to give up on a
//! stalled message calls [`Reassembler::abandon`].

use super::header::{ByteRange, FailureReport};
use super::message::{new_tid, Flag, Frame, Header, Method};
use super::uri::Uri;
use crate::rng::Rng;
use crate::vec_map::VecMap;
use core::fmt;

/// Default chunk size of [`ChunkSender`], in bytes: small enough that a short message
/// never waits long behind a file transfer on the same connection.
pub const DEFAULT_CHUNK_SIZE: usize = 2048;

/// Most disjoint received ranges one message may have before [`Reassembler`] refuses it.
pub const MAX_RANGES: usize = 1024;

/// What every chunk of an outgoing message carries besides its content.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutgoingMessage {
    /// To-Path: relays to visit, the destination last.
    pub to_path: Vec<Uri>,
    /// From-Path: this endpoint's URI.
    pub from_path: Vec<Uri>,
    /// The Message-ID, an `ident`.
    pub message_id: String,
    /// The Content-Type; `None` only for empty messages (§7.1.1).
    pub content_type: Option<String>,
    /// Success-Report to request, if any.
    pub success_report: Option<bool>,
    /// Failure-Report to request, if any.
    pub failure_report: Option<FailureReport>,
    /// Further headers (Content-Disposition, ...), on every chunk.
    pub headers: Vec<Header>,
}

impl OutgoingMessage {
    /// A message with a fresh random Message-ID and no report headers.
    pub fn new(
        rng: &mut Rng,
        to_path: Vec<Uri>,
        from_path: Vec<Uri>,
        content_type: Option<&str>,
    ) -> OutgoingMessage {
        OutgoingMessage {
            to_path,
            from_path,
            message_id: rng.token(16),
            content_type: content_type.map(str::to_string),
            success_report: None,
            failure_report: None,
            headers: Vec::new(),
        }
    }
}

/// Why [`ChunkSender`] refused to make a chunk.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ChunkError {
    /// The last chunk (or an abort) was already made.
    Finished,
    /// The content would run past the announced total.
    BeyondTotal {
        /// The announced total.
        total: u64,
        /// Where the content would end.
        end: u64,
    },
    /// [`ChunkSender::last_chunk`] before the announced total was reached.
    ShortOfTotal {
        /// The announced total.
        total: u64,
        /// Where the content ends.
        end: u64,
    },
}

impl fmt::Display for ChunkError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ChunkError::Finished => f.write_str("the message was already finished"),
            ChunkError::BeyondTotal { total, end } => {
                write!(f, "content ends at byte {end}, past the total of {total}")
            }
            ChunkError::ShortOfTotal { total, end } => {
                write!(
                    f,
                    "last chunk ends at byte {end}, short of the total of {total}"
                )
            }
        }
    }
}

impl std::error::Error for ChunkError {}

/// Splits one outgoing message into SEND chunks with correct Byte-Range headers and
/// continuation flags, each under a fresh transaction id that does not occur in its
/// content (§7.1.1).
///
/// For a body in memory use [`ChunkSender::split`]. For streamed content (a file read
/// piece by piece) make one with [`ChunkSender::new`], ask [`ChunkSender::next_len`] how
/// much to read, and wrap each piece with [`ChunkSender::chunk`]; with an unknown total,
/// end with [`ChunkSender::last_chunk`].
#[derive(Debug, Clone)]
pub struct ChunkSender {
    message: OutgoingMessage,
    chunk_size: usize,
    total: Option<u64>,
    sent: u64,
    finished: bool,
}

impl ChunkSender {
    /// A sender of a message of `total` bytes (`None`: not known yet) in chunks of at most
    /// `chunk_size` bytes (at least 1).
    pub fn new(message: OutgoingMessage, total: Option<u64>, chunk_size: usize) -> ChunkSender {
        ChunkSender {
            message,
            chunk_size: chunk_size.max(1),
            total,
            sent: 0,
            finished: false,
        }
    }

    /// The same sender resuming `offset` bytes into the message: its next chunk starts at
    /// byte `offset + 1` (a chunk may start anywhere, RFC 4975 §7.1.1), for a receiver that
    /// already holds the first `offset` bytes. An offset past a known total is clamped.
    pub fn resume_at(mut self, offset: u64) -> ChunkSender {
        self.sent = match self.total {
            Some(t) => offset.min(t),
            None => offset,
        };
        self
    }

    /// All the chunks of `body`, in order; an empty body gives one chunk `1-0/0`.
    pub fn split(
        message: OutgoingMessage,
        body: &[u8],
        chunk_size: usize,
        rng: &mut Rng,
    ) -> Vec<Frame> {
        let total = u64::try_from(body.len()).unwrap_or(u64::MAX);
        let mut s = ChunkSender::new(message, Some(total), chunk_size);
        let mut out = Vec::new();
        let mut at = 0usize;
        while let Some(n) = s.next_len() {
            let piece = body.get(at..at + n).unwrap_or_default();
            at += n;
            match s.chunk(rng, piece) {
                Ok(f) => out.push(f),
                Err(_) => break,
            }
        }
        out
    }

    /// How many bytes the next chunk should carry, or `None` once finished.
    pub fn next_len(&self) -> Option<usize> {
        if self.finished {
            return None;
        }
        Some(match self.total {
            Some(t) => usize::try_from(t - self.sent)
                .unwrap_or(usize::MAX)
                .min(self.chunk_size),
            None => self.chunk_size,
        })
    }

    /// Wraps the next `data` of the message in a SEND. With a known total the chunk that
    /// reaches it gets `$`, the others `+`; with an unknown total every chunk gets `+`.
    pub fn chunk(&mut self, rng: &mut Rng, data: &[u8]) -> Result<Frame, ChunkError> {
        let end = self.end_of(data)?;
        let flag = if self.total == Some(end) {
            Flag::End
        } else {
            Flag::More
        };
        Ok(self.frame(rng, data, end, flag))
    }

    /// Wraps the final `data` in a SEND with `$`; an unknown total becomes known.
    pub fn last_chunk(&mut self, rng: &mut Rng, data: &[u8]) -> Result<Frame, ChunkError> {
        let end = self.end_of(data)?;
        match self.total {
            Some(total) if total != end => return Err(ChunkError::ShortOfTotal { total, end }),
            _ => self.total = Some(end),
        }
        Ok(self.frame(rng, data, end, Flag::End))
    }

    /// An empty SEND with `#` telling the receiver the message is abandoned (§7.1.1), or
    /// `None` when the message was already finished.
    pub fn abort(&mut self, rng: &mut Rng) -> Option<Frame> {
        if self.finished {
            return None;
        }
        let end = self.sent;
        Some(self.frame(rng, &[], end, Flag::Abort))
    }

    /// Content bytes put in chunks so far.
    pub fn bytes_sent(&self) -> u64 {
        self.sent
    }

    /// The total size, when known.
    pub fn total(&self) -> Option<u64> {
        self.total
    }

    /// `true` once the last chunk or an abort was made.
    pub fn is_finished(&self) -> bool {
        self.finished
    }

    fn end_of(&self, data: &[u8]) -> Result<u64, ChunkError> {
        if self.finished {
            return Err(ChunkError::Finished);
        }
        let len = u64::try_from(data.len()).unwrap_or(u64::MAX);
        let end = self.sent.saturating_add(len);
        match self.total {
            Some(total) if end > total => Err(ChunkError::BeyondTotal { total, end }),
            _ => Ok(end),
        }
    }

    fn frame(&mut self, rng: &mut Rng, data: &[u8], end: u64, flag: Flag) -> Frame {
        let m = &self.message;
        let mut f = Frame::request(
            Method::Send,
            new_tid(rng, data),
            m.to_path.clone(),
            m.from_path.clone(),
        );
        f.message_id = Some(m.message_id.clone());
        f.success_report = m.success_report;
        f.failure_report = m.failure_report;
        f.byte_range = Some(ByteRange {
            start: self.sent + 1,
            end: Some(end),
            total: self.total,
        });
        f.headers = m.headers.clone();
        f.content_type = m.content_type.clone();
        if m.content_type.is_some() || !data.is_empty() {
            f.body = Some(data.to_vec());
        }
        f.flag = flag;
        self.sent = end;
        self.finished = flag != Flag::More;
        f
    }
}

/// A message put back together by [`Reassembler`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReceivedMessage {
    /// Its Message-ID.
    pub message_id: String,
    /// The Content-Type of its chunks.
    pub content_type: Option<String>,
    /// The other headers of its first chunk (Content-Disposition, ...).
    pub headers: Vec<Header>,
    /// The whole content.
    pub body: Vec<u8>,
}

/// What a chunk did to its message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// More chunks are awaited.
    Progress {
        /// The Message-ID.
        message_id: String,
        /// Distinct bytes received so far.
        received: u64,
        /// The size of the whole message, when known.
        total: Option<u64>,
    },
    /// The message is whole; its state was dropped.
    Complete(ReceivedMessage),
    /// The sender abandoned the message (`#`); its state was dropped.
    Aborted {
        /// The Message-ID.
        message_id: String,
        /// Distinct bytes that had been received.
        received: u64,
    },
}

/// Why [`Reassembler`] refused a chunk. The message's state is kept, except after
/// [`ReassemblyError::TooLarge`] and [`ReassemblyError::TooFragmented`], which drop it.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ReassemblyError {
    /// The frame is not a SEND request.
    NotSend,
    /// The SEND has no Message-ID.
    MissingMessageId,
    /// The message is, or claims to be, larger than the limit.
    TooLarge {
        /// The Message-ID.
        message_id: String,
        /// The limit, in bytes.
        limit: usize,
    },
    /// A new message arrived while the limit of messages in progress was reached.
    TooManyMessages {
        /// The limit.
        limit: usize,
    },
    /// The message arrived in more than [`MAX_RANGES`] disjoint pieces.
    TooFragmented {
        /// The Message-ID.
        message_id: String,
    },
    /// Byte-Range disagrees with the body: the body runs past range-end, or a `$` chunk
    /// ends elsewhere than range-end or the total.
    RangeMismatch {
        /// The Message-ID.
        message_id: String,
    },
    /// The chunk ends past the total of the message.
    BeyondTotal {
        /// The Message-ID.
        message_id: String,
    },
    /// The chunk announces a total different from an earlier chunk's.
    InconsistentTotal {
        /// The Message-ID.
        message_id: String,
    },
}

impl fmt::Display for ReassemblyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ReassemblyError::NotSend => f.write_str("not a SEND request"),
            ReassemblyError::MissingMessageId => f.write_str("SEND without Message-ID"),
            ReassemblyError::TooLarge { message_id, limit } => {
                write!(f, "message {message_id} is over {limit} bytes")
            }
            ReassemblyError::TooManyMessages { limit } => {
                write!(f, "more than {limit} messages in progress")
            }
            ReassemblyError::TooFragmented { message_id } => {
                write!(f, "message {message_id} is in too many pieces")
            }
            ReassemblyError::RangeMismatch { message_id } => {
                write!(
                    f,
                    "Byte-Range of a chunk of {message_id} disagrees with its body"
                )
            }
            ReassemblyError::BeyondTotal { message_id } => {
                write!(f, "a chunk of {message_id} ends past its total")
            }
            ReassemblyError::InconsistentTotal { message_id } => {
                write!(f, "chunks of {message_id} disagree on its total")
            }
        }
    }
}

impl std::error::Error for ReassemblyError {}

#[derive(Debug, Default)]
struct Partial {
    data: Vec<u8>,
    /// Received ranges: sorted, disjoint, non-adjacent, half-open, 0-based.
    ranges: Vec<(u64, u64)>,
    total: Option<u64>,
    content_type: Option<String>,
    headers: Vec<Header>,
}

impl Partial {
    fn received(&self) -> u64 {
        self.ranges.iter().map(|(a, b)| b - a).sum()
    }

    fn max_end(&self) -> u64 {
        self.ranges.last().map_or(0, |r| r.1)
    }

    fn insert(&mut self, mut a: u64, mut b: u64) {
        if a >= b {
            return;
        }
        let mut out = Vec::with_capacity(self.ranges.len() + 1);
        for &(s, e) in &self.ranges {
            if e < a || s > b {
                out.push((s, e));
            } else {
                a = a.min(s);
                b = b.max(e);
            }
        }
        out.push((a, b));
        out.sort_unstable();
        self.ranges = out;
    }

    fn is_complete(&self) -> bool {
        match self.total {
            Some(0) => true,
            Some(t) => self.ranges.as_slice() == [(0, t)],
            None => false,
        }
    }
}

/// Puts messages back together from SEND chunks that may arrive out of order, repeated,
/// overlapping, and interleaved with other messages (§7.3.1).
///
/// Memory is bounded: no message may exceed `max_message_size` bytes (a chunk claiming
/// more is refused before anything is allocated), and at most `max_messages` messages may
/// be in progress at once.
#[derive(Debug)]
pub struct Reassembler {
    max_message_size: usize,
    max_messages: usize,
    messages: VecMap<String, Partial>,
}

impl Reassembler {
    /// Default limit of messages in progress.
    pub const DEFAULT_MAX_MESSAGES: usize = 16;

    /// A reassembler of messages up to `max_message_size` bytes.
    pub fn new(max_message_size: usize) -> Reassembler {
        Reassembler {
            max_message_size,
            max_messages: Reassembler::DEFAULT_MAX_MESSAGES,
            messages: VecMap::new(),
        }
    }

    /// The same with at most `n` messages in progress (at least 1).
    pub fn with_max_messages(mut self, n: usize) -> Reassembler {
        self.max_messages = n.max(1);
        self
    }

    /// Takes one SEND chunk. The body's length is authoritative for where the bytes go: a
    /// chunk `start-end/total` carrying `n` bytes fills `start ..= start + n - 1`; a
    /// range-end past that is allowed on a `+` chunk (an interrupted chunk, §7.1.1).
    pub fn accept(&mut self, frame: &Frame) -> Result<Outcome, ReassemblyError> {
        if frame.method() != Some(&Method::Send) {
            return Err(ReassemblyError::NotSend);
        }
        let id = frame
            .message_id
            .as_deref()
            .ok_or(ReassemblyError::MissingMessageId)?;
        let message_id = || id.to_string();
        if frame.flag == Flag::Abort {
            let received = self.messages.remove(id).map_or(0, |p| p.received());
            return Ok(Outcome::Aborted {
                message_id: message_id(),
                received,
            });
        }
        let mismatch = || ReassemblyError::RangeMismatch {
            message_id: message_id(),
        };
        let limit = self.max_message_size;
        let too_large = || ReassemblyError::TooLarge {
            message_id: message_id(),
            limit,
        };
        let br = frame.byte_range.unwrap_or(ByteRange {
            start: 1,
            end: None,
            total: None,
        });
        let a = br.start.checked_sub(1).ok_or_else(mismatch)?;
        let len = u64::try_from(frame.body().len()).map_err(|_| too_large())?;
        let b = a.checked_add(len).ok_or_else(too_large)?;
        let last = frame.flag == Flag::End;
        if br.end.is_some_and(|e| e < b || last && e != b) {
            return Err(mismatch());
        }
        let total = match (br.total, last) {
            (Some(t), true) if t != b => return Err(mismatch()),
            (_, true) => Some(b),
            (t, false) => t,
        };
        let limit64 = u64::try_from(limit).unwrap_or(u64::MAX);
        if b > limit64 || total.is_some_and(|t| t > limit64) {
            self.messages.remove(id);
            return Err(too_large());
        }
        if total.is_some_and(|t| b > t) {
            return Err(ReassemblyError::BeyondTotal {
                message_id: message_id(),
            });
        }
        if !self.messages.contains_key(id) && self.messages.len() >= self.max_messages {
            return Err(ReassemblyError::TooManyMessages {
                limit: self.max_messages,
            });
        }
        let p = self.messages.get_or_default(message_id());
        let inconsistent = match (p.total, total) {
            (Some(t0), Some(t)) => t0 != t,
            (None, Some(t)) => p.max_end() > t,
            _ => false,
        };
        if inconsistent {
            return Err(ReassemblyError::InconsistentTotal {
                message_id: message_id(),
            });
        }
        if p.ranges.len() >= MAX_RANGES {
            self.messages.remove(id);
            return Err(ReassemblyError::TooFragmented {
                message_id: message_id(),
            });
        }
        // Both ends are at most `limit`, a usize.
        let (au, bu) = (
            usize::try_from(a).map_err(|_| too_large())?,
            usize::try_from(b).map_err(|_| too_large())?,
        );
        if p.data.len() < bu {
            p.data.resize(bu, 0);
        }
        if let Some(dst) = p.data.get_mut(au..bu) {
            dst.copy_from_slice(frame.body());
        }
        p.insert(a, b);
        p.total = p.total.or(total);
        if p.content_type.is_none() || a == 0 {
            p.content_type = frame.content_type.clone().or(p.content_type.take());
            p.headers = frame.headers.clone();
        }
        if !p.is_complete() {
            return Ok(Outcome::Progress {
                message_id: message_id(),
                received: p.received(),
                total: p.total,
            });
        }
        let mut p = self.messages.remove(id).unwrap_or_default();
        let total = usize::try_from(p.total.unwrap_or(0)).unwrap_or(0);
        p.data.truncate(total);
        Ok(Outcome::Complete(ReceivedMessage {
            message_id: message_id(),
            content_type: p.content_type,
            headers: p.headers,
            body: p.data,
        }))
    }

    /// Bytes received and total (when known) of a message in progress.
    pub fn progress(&self, message_id: &str) -> Option<(u64, Option<u64>)> {
        self.messages
            .get(message_id)
            .map(|p| (p.received(), p.total))
    }

    /// Drops a message in progress (the session ended, or it stalled); `true` if it was.
    pub fn abandon(&mut self, message_id: &str) -> bool {
        self.messages.remove(message_id).is_some()
    }

    /// The number of messages in progress.
    pub fn in_progress(&self) -> usize {
        self.messages.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(rng: &mut Rng) -> OutgoingMessage {
        let u = |s: &str| Uri::parse(s).expect("valid");
        OutgoingMessage::new(
            rng,
            vec![u("msrp://b.example:2/b;tcp")],
            vec![u("msrp://a.example:1/a;tcp")],
            Some("text/plain"),
        )
    }

    #[test]
    fn split_sets_ranges_and_flags() {
        let mut rng = Rng::from_seed(5);
        let m = message(&mut rng);
        let chunks = ChunkSender::split(m, b"abcdefghij", 4, &mut rng);
        let ranges: Vec<String> = chunks
            .iter()
            .map(|c| c.byte_range.expect("set").to_string())
            .collect();
        assert_eq!(ranges, ["1-4/10", "5-8/10", "9-10/10"]);
        let flags: Vec<Flag> = chunks.iter().map(|c| c.flag).collect();
        assert_eq!(flags, [Flag::More, Flag::More, Flag::End]);
        assert_ne!(chunks[0].tid, chunks[1].tid);
        let empty = ChunkSender::split(message(&mut rng), b"", 4, &mut rng);
        assert_eq!(empty.len(), 1);
        assert_eq!(empty[0].byte_range, Some(ByteRange::whole(0)));
        assert_eq!(empty[0].body, Some(Vec::new()));
    }

    #[test]
    fn streaming_with_unknown_total_and_abort() {
        let mut rng = Rng::from_seed(6);
        let mut s = ChunkSender::new(message(&mut rng), None, 3);
        assert_eq!(s.next_len(), Some(3));
        let c = s.chunk(&mut rng, b"abc").expect("ok");
        assert_eq!(
            c.byte_range.map(|r| r.to_string()).as_deref(),
            Some("1-3/*")
        );
        let c = s.last_chunk(&mut rng, b"de").expect("ok");
        assert_eq!(
            c.byte_range.map(|r| r.to_string()).as_deref(),
            Some("4-5/5")
        );
        assert_eq!(c.flag, Flag::End);
        assert_eq!(s.chunk(&mut rng, b"x"), Err(ChunkError::Finished));
        let mut s = ChunkSender::new(message(&mut rng), Some(4), 3);
        assert_eq!(
            s.chunk(&mut rng, b"abcde"),
            Err(ChunkError::BeyondTotal { total: 4, end: 5 })
        );
        assert_eq!(
            s.last_chunk(&mut rng, b"ab"),
            Err(ChunkError::ShortOfTotal { total: 4, end: 2 })
        );
        s.chunk(&mut rng, b"ab").expect("ok");
        let a = s.abort(&mut rng).expect("not finished");
        assert_eq!(a.flag, Flag::Abort);
        assert!(s.is_finished() && s.abort(&mut rng).is_none());
    }

    #[test]
    fn reassembles_out_of_order_with_duplicates() {
        let mut rng = Rng::from_seed(7);
        let chunks = ChunkSender::split(message(&mut rng), b"0123456789", 3, &mut rng);
        let mut r = Reassembler::new(100);
        let order = [3, 0, 0, 2, 1];
        let mut last = None;
        for i in order {
            last = Some(r.accept(&chunks[i]).expect("accepted"));
        }
        let Some(Outcome::Complete(m)) = last else {
            panic!("complete: {last:?}")
        };
        assert_eq!(m.body, b"0123456789");
        assert_eq!(m.content_type.as_deref(), Some("text/plain"));
        assert_eq!(r.in_progress(), 0);
    }

    #[test]
    fn bounds_and_consistency() {
        let mut rng = Rng::from_seed(8);
        let chunks = ChunkSender::split(message(&mut rng), &[7u8; 50], 10, &mut rng);
        let mut r = Reassembler::new(40);
        assert!(matches!(
            r.accept(&chunks[0]),
            Err(ReassemblyError::TooLarge { limit: 40, .. })
        ));
        let mut r = Reassembler::new(100).with_max_messages(1);
        r.accept(&chunks[0]).expect("ok");
        assert_eq!(
            r.progress(&chunks[0].message_id.clone().expect("id")),
            Some((10, Some(50)))
        );
        let other = ChunkSender::split(message(&mut rng), b"xy", 1, &mut rng);
        assert_eq!(
            r.accept(&other[0]),
            Err(ReassemblyError::TooManyMessages { limit: 1 })
        );
        let mut bad = chunks[1].clone();
        bad.byte_range = Some(ByteRange::parse("11-20/60").expect("valid"));
        assert!(matches!(
            r.accept(&bad),
            Err(ReassemblyError::InconsistentTotal { .. })
        ));
        bad.byte_range = Some(ByteRange::parse("11-15/50").expect("valid"));
        assert!(matches!(
            r.accept(&bad),
            Err(ReassemblyError::RangeMismatch { .. })
        ));
        bad.byte_range = Some(ByteRange::parse("45-*/50").expect("valid"));
        assert!(matches!(
            r.accept(&bad),
            Err(ReassemblyError::BeyondTotal { .. })
        ));
        let mut abort = chunks[1].clone();
        abort.flag = Flag::Abort;
        assert_eq!(
            r.accept(&abort),
            Ok(Outcome::Aborted {
                message_id: chunks[1].message_id.clone().expect("id"),
                received: 10
            })
        );
        assert_eq!(r.in_progress(), 0);
    }
}
