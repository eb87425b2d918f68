//! The incremental MSRP stream parser (RFC 4975 §5.1, §7.1.1, §9).
//!
//! A frame has no length field: its body ends at the first `CRLF -------<tid>` followed by
//! a continuation flag (`$`, `+`, `#`) and CRLF, `tid` being the transaction id of its start
//! line. The parser therefore scans, resuming where the previous scan stopped so that a
//! frame fed byte by byte costs linear time, and bounds what it buffers: a header section
//! over [`Limits::max_head`] or a body over [`Limits::max_body`] is an error, found as soon
//! as the limit is passed rather than after the end-line arrives.
//!
//! Over WebSocket (RFC 7977 §5.2) each WebSocket message carries one frame; parse it with
//! [`Frame::parse`](super::Frame::parse), or push the messages into a [`Parser`] as a stream.

use super::header::HeaderError;
use super::message::{from_head, parse_start_line, Flag, Frame, StartLine};
use core::fmt;

/// Default largest header section (start line and headers), in bytes.
pub const MAX_HEAD_LEN: usize = 16 * 1024;
/// Default largest body of one frame, in bytes.
pub const DEFAULT_MAX_BODY: usize = 1024 * 1024;

/// Size limits of one frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Largest header section, start line and the line that ends it included.
    pub max_head: usize,
    /// Largest body (the content of one chunk).
    pub max_body: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_head: MAX_HEAD_LEN,
            max_body: DEFAULT_MAX_BODY,
        }
    }
}

/// Why the parser refused its input. `offset` is a byte position in the stream (the
/// bytes pushed since the parser was made); `line` is 1-based within the frame.
///
/// A [`ParseError::BadHeader`] loses only its frame: the parser skips to the end-line and
/// carries on, and the caller may answer the request with a 400. Every other error is
/// fatal ([`ParseError::is_fatal`]): framing is lost and the connection should be closed.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ParseError {
    /// The frame does not start with `MSRP <tid> <METHOD>` or `MSRP <tid> <code>`.
    BadStartLine {
        /// Where the frame starts.
        offset: u64,
    },
    /// The transaction id is not an `ident` (4 to 32 characters, §9).
    BadTransactionId {
        /// Where the frame starts.
        offset: u64,
    },
    /// A line of the header section does not end with CRLF, or holds a bare CR.
    BadLineEnding {
        /// Where the line starts.
        offset: u64,
        /// The line number within the frame.
        line: usize,
    },
    /// A line starting with `-------` is not the end-line of this frame.
    BadEndLine {
        /// Where the line starts.
        offset: u64,
        /// The line number within the frame.
        line: usize,
    },
    /// No header section end within [`Limits::max_head`] bytes.
    HeadTooLarge {
        /// Where the frame starts.
        offset: u64,
        /// The limit passed.
        limit: usize,
    },
    /// No end-line within [`Limits::max_body`] bytes of body.
    BodyTooLarge {
        /// Where the frame starts.
        offset: u64,
        /// The limit passed.
        limit: usize,
    },
    /// A header is malformed, repeated or missing; the frame was skipped.
    BadHeader {
        /// Where the frame starts.
        offset: u64,
        /// The line number of the header, or of the line ending the header section for a
        /// missing header.
        line: usize,
        /// The frame's transaction id, to answer it.
        tid: String,
        /// What is wrong.
        error: HeaderError,
    },
    /// [`Frame::parse`]: the input ends before the end-line.
    Incomplete,
    /// [`Frame::parse`]: bytes follow the end-line.
    TrailingData {
        /// Where they start.
        offset: u64,
    },
}

impl ParseError {
    /// `true` when framing is lost and the stream cannot be read further.
    pub fn is_fatal(&self) -> bool {
        !matches!(self, ParseError::BadHeader { .. })
    }
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ParseError::BadStartLine { offset } => {
                write!(f, "malformed MSRP start line at byte {offset}")
            }
            ParseError::BadTransactionId { offset } => {
                write!(f, "invalid transaction id in the frame at byte {offset}")
            }
            ParseError::BadLineEnding { offset, line } => {
                write!(f, "line {line} (byte {offset}) does not end with CRLF")
            }
            ParseError::BadEndLine { offset, line } => {
                write!(f, "line {line} (byte {offset}) is a foreign end-line")
            }
            ParseError::HeadTooLarge { offset, limit } => {
                write!(
                    f,
                    "header section of the frame at byte {offset} over {limit} bytes"
                )
            }
            ParseError::BodyTooLarge { offset, limit } => {
                write!(f, "body of the frame at byte {offset} over {limit} bytes")
            }
            ParseError::BadHeader {
                offset,
                line,
                tid,
                error,
            } => write!(f, "frame {tid} at byte {offset}, line {line}: {error}"),
            ParseError::Incomplete => f.write_str("the frame has no end-line"),
            ParseError::TrailingData { offset } => {
                write!(f, "bytes after the end-line at byte {offset}")
            }
        }
    }
}

impl std::error::Error for ParseError {}

/// Progress through the header section. Offsets are relative to the frame start.
#[derive(Debug, Default)]
struct Head {
    /// Start of the line being looked at.
    line_start: usize,
    /// How far the search for its LF has gone.
    searched: usize,
    /// The parsed start line, once seen.
    start: Option<(String, StartLine)>,
    /// Spans of the header lines, CRLF excluded.
    lines: Vec<(usize, usize)>,
}

/// Progress through a body, once the blank line was seen.
#[derive(Debug)]
struct Body {
    tid: String,
    start: StartLine,
    lines: Vec<(usize, usize)>,
    /// The line number of the blank line.
    blank_line: usize,
    /// Where the body starts.
    body_start: usize,
    /// Where the next search for the needle starts.
    search: usize,
    /// `CRLF -------<tid>`.
    needle: Vec<u8>,
}

#[derive(Debug)]
enum State {
    Head(Head),
    Body(Body),
}

/// An incremental parser of an MSRP byte stream (a TCP or TLS connection).
///
/// Drive it by pushing each read with [`Parser::push`], then calling `next` (it is an
/// [`Iterator`], not fused) until
/// it returns `None`; frames may arrive in any pieces, several in one read.
///
/// ```
/// use sipsimple::msrp::{Flag, Parser};
/// let wire = b"MSRP a786hjs2 SEND\r\n\
///     To-Path: msrp://bob.example.com:8888/9di4eae923wzd;tcp\r\n\
///     From-Path: msrp://alice.example.com:7777/iau39soe2843z;tcp\r\n\
///     Message-ID: 87652491\r\nByte-Range: 1-2/2\r\nContent-Type: text/plain\r\n\r\n\
///     Hi\r\n-------a786hjs2$\r\n";
/// let mut p = Parser::new();
/// let (a, b) = wire.split_at(40);
/// p.push(a);
/// assert!(p.next().is_none());
/// p.push(b);
/// let frame = p.next().expect("a frame").expect("valid");
/// assert_eq!((frame.body(), frame.flag), (&b"Hi"[..], Flag::End));
/// ```
#[derive(Debug)]
pub struct Parser {
    buf: Vec<u8>,
    /// Start of the current frame in `buf`.
    pos: usize,
    /// Stream offset of `buf[0]`.
    base: u64,
    limits: Limits,
    state: State,
    failed: bool,
}

impl Default for Parser {
    fn default() -> Self {
        Parser::new()
    }
}

/// What one scanning step found. It lives only between two calls, so the size of its
/// `Done` variant costs a move, where boxing it would cost an allocation per frame.
#[allow(clippy::large_enum_variant)]
enum Step {
    NeedMore,
    Continue,
    Done(Result<Frame, ParseError>),
}

impl Parser {
    /// A parser with the default [`Limits`].
    pub fn new() -> Parser {
        Parser::with_limits(Limits::default())
    }

    /// A parser with the given limits.
    pub fn with_limits(limits: Limits) -> Parser {
        Parser {
            buf: Vec::new(),
            pos: 0,
            base: 0,
            limits,
            state: State::Head(Head::default()),
            failed: false,
        }
    }

    /// Appends received bytes. Ignored after a fatal error.
    pub fn push(&mut self, bytes: &[u8]) {
        if self.failed {
            return;
        }
        // Frame offsets are kept relative to the frame start, so consumed frames can go.
        if self.pos > 0 {
            self.buf.drain(..self.pos);
            self.base += self.pos as u64;
            self.pos = 0;
        }
        self.buf.extend_from_slice(bytes);
    }

    /// Bytes received and not yet returned as frames.
    pub fn buffered(&self) -> usize {
        self.buf.len() - self.pos
    }

    /// `true` after a fatal error: the stream is unusable.
    pub fn has_failed(&self) -> bool {
        self.failed
    }

    fn frame_offset(&self) -> u64 {
        self.base + self.pos as u64
    }

    fn scan_head(&mut self, mut h: Head) -> Step {
        if h.start.is_none() && h.line_start == 0 {
            // Tolerate CRLFs between frames, then insist on the magic as early as possible
            // so that garbage fails fast.
            let skip = self
                .buf
                .get(self.pos..)
                .unwrap_or_default()
                .iter()
                .take_while(|b| matches!(b, b'\r' | b'\n'))
                .count();
            self.pos += skip;
            let frame = self.buf.get(self.pos..).unwrap_or_default();
            let n = frame.len().min(5);
            if frame.get(..n) != b"MSRP ".get(..n) {
                return Step::Done(Err(ParseError::BadStartLine {
                    offset: self.frame_offset(),
                }));
            }
        }
        let offset = self.frame_offset();
        let frame = self.buf.get(self.pos..).unwrap_or_default();
        let from = h.searched.max(h.line_start);
        let Some(lf) = frame
            .get(from..)
            .and_then(|rest| rest.iter().position(|&b| b == b'\n'))
            .map(|i| from + i)
        else {
            h.searched = frame.len();
            let step = if frame.len() > self.limits.max_head {
                Step::Done(Err(ParseError::HeadTooLarge {
                    offset,
                    limit: self.limits.max_head,
                }))
            } else {
                Step::NeedMore
            };
            self.state = State::Head(h);
            return step;
        };
        if lf + 1 > self.limits.max_head {
            return Step::Done(Err(ParseError::HeadTooLarge {
                offset,
                limit: self.limits.max_head,
            }));
        }
        let line_no = h.lines.len() + 1 + usize::from(h.start.is_some());
        let raw = frame.get(h.line_start..lf).unwrap_or_default();
        let line = match raw.strip_suffix(b"\r") {
            Some(l) if !l.contains(&b'\r') => l,
            _ => {
                return Step::Done(Err(ParseError::BadLineEnding {
                    offset: offset + h.line_start as u64,
                    line: line_no,
                }))
            }
        };
        let line_span = (h.line_start, h.line_start + line.len());
        h.line_start = lf + 1;
        h.searched = lf + 1;
        let Some((tid, start)) = h.start.take() else {
            match parse_start_line(line) {
                Ok(start) => h.start = Some(start),
                Err(true) => return Step::Done(Err(ParseError::BadTransactionId { offset })),
                Err(false) => return Step::Done(Err(ParseError::BadStartLine { offset })),
            }
            self.state = State::Head(h);
            return Step::Continue;
        };
        if line.is_empty() {
            let mut needle = b"\r\n-------".to_vec();
            needle.extend_from_slice(tid.as_bytes());
            self.state = State::Body(Body {
                tid,
                start,
                lines: h.lines,
                blank_line: line_no,
                body_start: lf + 1,
                search: lf + 1,
                needle,
            });
            return Step::Continue;
        }
        if let Some(rest) = line.strip_prefix(b"-------") {
            let flag = rest
                .strip_prefix(tid.as_bytes())
                .filter(|f| f.len() == 1)
                .and_then(|f| f.first().copied())
                .and_then(Flag::from_byte);
            let Some(flag) = flag else {
                return Step::Done(Err(ParseError::BadEndLine {
                    offset: offset + line_span.0 as u64,
                    line: line_no,
                }));
            };
            let r = self.finish(tid, start, &h.lines, line_no, None, flag);
            self.pos += lf + 1;
            return Step::Done(r);
        }
        h.lines.push(line_span);
        h.start = Some((tid, start));
        self.state = State::Head(h);
        Step::Continue
    }

    fn scan_body(&mut self, mut b: Body) -> Step {
        let offset = self.frame_offset();
        let frame = self.buf.get(self.pos..).unwrap_or_default();
        let limit = self.limits.max_body;
        let too_large = Step::Done(Err(ParseError::BodyTooLarge { offset, limit }));
        loop {
            let found = frame
                .get(b.search..)
                .and_then(|rest| find(rest, &b.needle))
                .map(|i| b.search + i);
            let Some(p) = found else {
                // The end-line cannot start before the last needle-1 bytes.
                b.search = frame
                    .len()
                    .saturating_sub(b.needle.len() - 1)
                    .max(b.body_start);
                if b.search - b.body_start > limit {
                    return too_large;
                }
                self.state = State::Body(b);
                return Step::NeedMore;
            };
            if p - b.body_start > limit {
                return too_large;
            }
            let after = p + b.needle.len();
            let Some(tail) = frame.get(after..after + 3) else {
                b.search = p;
                self.state = State::Body(b);
                return Step::NeedMore;
            };
            let flag = tail.first().copied().and_then(Flag::from_byte);
            match flag {
                Some(flag) if tail.get(1..) == Some(b"\r\n") => {
                    let body = frame.get(b.body_start..p).unwrap_or_default().to_vec();
                    let r = self.finish(b.tid, b.start, &b.lines, b.blank_line, Some(body), flag);
                    self.pos += after + 3;
                    return Step::Done(r);
                }
                // `CRLF -------<tid>` inside the content but not an end-line: keep looking.
                _ => b.search = p + 1,
            }
        }
    }

    /// Builds the frame from its head lines; header errors are reported against it.
    fn finish(
        &self,
        tid: String,
        start: StartLine,
        lines: &[(usize, usize)],
        end_line: usize,
        body: Option<Vec<u8>>,
        flag: Flag,
    ) -> Result<Frame, ParseError> {
        let offset = self.frame_offset();
        let frame = self.buf.get(self.pos..).unwrap_or_default();
        let is_response = matches!(start, StartLine::Response { .. });
        let iter = lines
            .iter()
            .enumerate()
            .map(|(i, &(s, e))| (i + 2, frame.get(s..e).unwrap_or_default()));
        let bad = |line, tid: &str, error| ParseError::BadHeader {
            offset,
            line,
            tid: tid.to_string(),
            error,
        };
        let mut f = from_head(tid.clone(), start, iter, end_line)
            .map_err(|(line, e)| bad(line, &tid, e))?;
        if is_response && body.is_some() {
            return Err(bad(end_line, &tid, HeaderError::ResponseBody));
        }
        f.body = body;
        f.flag = flag;
        Ok(f)
    }
}

/// The first occurrence of `needle` in `hay`. It jumps from CR to CR, which content
/// rarely holds, instead of comparing at every position.
fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    let first = *needle.first()?;
    let mut i = 0;
    loop {
        let at = i + hay.get(i..)?.iter().position(|&b| b == first)?;
        if hay.get(at..)?.starts_with(needle) {
            return Some(at);
        }
        i = at + 1;
    }
}

impl Iterator for Parser {
    type Item = Result<Frame, ParseError>;

    /// The next complete frame, an error, or `None` when more bytes are needed (or after a
    /// fatal error, which is returned once). `None` is not the end: push more bytes and
    /// call again.
    fn next(&mut self) -> Option<Result<Frame, ParseError>> {
        if self.failed {
            return None;
        }
        loop {
            let step = match core::mem::replace(&mut self.state, State::Head(Head::default())) {
                State::Head(h) => self.scan_head(h),
                State::Body(b) => self.scan_body(b),
            };
            match step {
                Step::NeedMore => return None,
                Step::Continue => {}
                Step::Done(r) => {
                    self.state = State::Head(Head::default());
                    if r.as_ref().is_err_and(ParseError::is_fatal) {
                        self.failed = true;
                        self.buf = Vec::new();
                        self.pos = 0;
                    }
                    return Some(r);
                }
            }
        }
    }
}

impl Frame {
    /// Parses exactly one frame, as carried by one WebSocket message (RFC 7977 §5.2),
    /// with the default [`Limits`]. CRLFs after the end-line are tolerated.
    pub fn parse(bytes: &[u8]) -> Result<Frame, ParseError> {
        Frame::parse_with(bytes, Limits::default())
    }

    /// [`Frame::parse`] with the given limits.
    pub fn parse_with(bytes: &[u8], limits: Limits) -> Result<Frame, ParseError> {
        let mut p = Parser::with_limits(limits);
        p.push(bytes);
        let frame = p.next().ok_or(ParseError::Incomplete)??;
        let rest = p.buf.get(p.pos..).unwrap_or_default();
        match rest.iter().position(|b| !matches!(b, b'\r' | b'\n')) {
            Some(i) => Err(ParseError::TrailingData {
                offset: p.frame_offset() + i as u64,
            }),
            None => Ok(frame),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SEND: &[u8] = b"MSRP abcd SEND\r\nTo-Path: msrp://b.example/1;tcp\r\n\
        From-Path: msrp://a.example/2;tcp\r\nMessage-ID: m1234\r\n\r\n\
        hello\r\n-------abcd$\r\n";

    #[test]
    fn frame_in_one_piece() {
        let f = Frame::parse(SEND).expect("valid");
        assert_eq!(f.tid, "abcd");
        assert_eq!(f.body(), b"hello");
        assert_eq!(f.message_id.as_deref(), Some("m1234"));
        assert_eq!(f.to_bytes(), SEND);
    }

    #[test]
    fn near_end_lines_inside_the_body_are_content() {
        let wire = b"MSRP abcd SEND\r\nTo-Path: msrp://b.example/1;tcp\r\n\
            From-Path: msrp://a.example/2;tcp\r\n\r\n\
            x\r\n-------abcdX\r\n-------abcd$y\r\n-------abcd\r\n-------abcd+\r\n";
        let f = Frame::parse(wire).expect("valid");
        assert_eq!(
            f.body(),
            b"x\r\n-------abcdX\r\n-------abcd$y\r\n-------abcd"
        );
        assert_eq!(f.flag, Flag::More);
    }

    #[test]
    fn empty_body_and_no_body() {
        let no_body = b"MSRP abcd 200 OK\r\nTo-Path: msrp://b.example/1;tcp\r\n\
            From-Path: msrp://a.example/2;tcp\r\n-------abcd$\r\n";
        let f = Frame::parse(no_body).expect("valid");
        assert_eq!((f.body.as_ref(), f.code()), (None, Some(200)));
        let empty = b"MSRP abcd SEND\r\nTo-Path: msrp://b.example/1;tcp\r\n\
            From-Path: msrp://a.example/2;tcp\r\nContent-Type: text/plain\r\n\r\n\r\n-------abcd$\r\n";
        let f = Frame::parse(empty).expect("valid");
        assert_eq!(f.body, Some(Vec::new()));
        assert_eq!(f.to_bytes(), empty);
    }

    #[test]
    fn limits() {
        let small = Limits {
            max_head: 64,
            max_body: 4,
        };
        assert!(matches!(
            Frame::parse_with(SEND, small),
            Err(ParseError::HeadTooLarge { limit: 64, .. })
        ));
        let small = Limits {
            max_head: 1024,
            max_body: 4,
        };
        assert!(matches!(
            Frame::parse_with(SEND, small),
            Err(ParseError::BodyTooLarge { limit: 4, .. })
        ));
        // The body limit trips before the end-line arrives.
        let mut p = Parser::with_limits(small);
        p.push(&SEND[..SEND.len() - 20]);
        p.push(&[b'z'; 32]);
        assert!(matches!(
            p.next(),
            Some(Err(ParseError::BodyTooLarge { .. }))
        ));
        assert!(p.has_failed() && p.next().is_none());
    }

    #[test]
    fn framing_errors_are_fatal() {
        let mut p = Parser::new();
        p.push(b"GET / HTTP/1.1\r\n");
        assert_eq!(p.next(), Some(Err(ParseError::BadStartLine { offset: 0 })));
        assert_eq!(p.next(), None);
        assert_eq!(
            Frame::parse(b"MSRP ab SEND\r\n"),
            Err(ParseError::BadTransactionId { offset: 0 })
        );
        assert_eq!(
            Frame::parse(b"MSRP abcd SEND\r\nTo-Path: x\n"),
            Err(ParseError::BadLineEnding {
                offset: 16,
                line: 2
            })
        );
        assert_eq!(
            Frame::parse(b"MSRP abcd SEND\r\n-------efgh$\r\n"),
            Err(ParseError::BadEndLine {
                offset: 16,
                line: 2
            })
        );
        assert_eq!(Frame::parse(&SEND[..20]), Err(ParseError::Incomplete));
        let mut two = SEND.to_vec();
        two.extend_from_slice(b"\r\nMSRP");
        assert_eq!(
            Frame::parse(&two),
            Err(ParseError::TrailingData {
                offset: SEND.len() as u64 + 2
            })
        );
    }

    #[test]
    fn header_errors_skip_only_the_frame() {
        let bad = b"MSRP abcd SEND\r\nTo-Path: msrp://b.example/1;tcp\r\n\
            From-Path: msrp://a.example/2;tcp\r\nByte-Range: 0-1/1\r\n\r\nx\r\n-------abcd$\r\n";
        let mut p = Parser::new();
        p.push(bad);
        p.push(SEND);
        let e = p.next().expect("an item").expect_err("bad range");
        assert_eq!(
            e,
            ParseError::BadHeader {
                offset: 0,
                line: 4,
                tid: "abcd".into(),
                error: HeaderError::ByteRange
            }
        );
        assert!(!e.is_fatal());
        let f = p.next().expect("an item").expect("valid");
        assert_eq!(f.body(), b"hello");
        assert!(p.next().is_none());
        assert_eq!(p.buffered(), 0);
    }
}
