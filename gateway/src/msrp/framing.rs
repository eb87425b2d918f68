//! Frames from an MSRP byte stream (RFC 4975 §5.1, §7.1.1), over the shared crate's
//! incremental [`Parser`], plus what the relay needs beyond it: a chunk over
//! `msrp.max_chunk_size` is answered with 413 and skipped up to its end-line, so the
//! connection and its other sessions carry on (the parser itself gives up on the stream),
//! and a frame with a bad header is answered with 400 where its paths can be read
//! (§7.3). Only a lost framing (no `MSRP` start line, a foreign end-line) closes the
//! connection.

use sipsimple::msrp::uri::parse_path;
use sipsimple::msrp::{FailureReport, Frame, Limits, Method, ParseError, Parser};

/// Bytes of an oversized frame skipped at most before the connection is given up.
const MAX_SKIP: u64 = 64 * 1024 * 1024;
/// Bytes kept from the end of the stream, so that an end-line split across reads is found:
/// `CRLF -------` and a 32-character transaction id, the flag and CRLF.
const TAIL: usize = 48;

/// What the reader found.
#[derive(Debug)]
pub enum Event {
    /// A complete frame.
    Frame(Frame),
    /// A frame the relay refuses (413 over the size limit, 400 with a bad header) and
    /// skipped; the response to send back, when one is due and its paths could be read.
    Refused {
        /// The status code.
        code: u16,
        /// The response to write.
        response: Option<Frame>,
    },
    /// The stream cannot be read further: close the connection.
    Fatal(ParseError),
}

/// Skipping an oversized frame: the end-line looked for.
#[derive(Debug)]
struct Skip {
    /// `CRLF -------<tid>`.
    needle: Vec<u8>,
    skipped: u64,
}

/// The reader of one connection.
#[derive(Debug)]
pub struct Reader {
    limits: Limits,
    parser: Parser,
    /// Bytes pushed into `parser`.
    pushed: u64,
    /// The first bytes of the frame in progress (up to the head limit), from `head_at`.
    head: Vec<u8>,
    head_at: u64,
    /// The last bytes pushed.
    tail: Vec<u8>,
    skip: Option<Skip>,
    failed: bool,
}

impl Reader {
    /// A reader refusing frames over `limits`.
    pub fn new(limits: Limits) -> Reader {
        Reader {
            limits,
            parser: Parser::with_limits(limits),
            pushed: 0,
            head: Vec::new(),
            head_at: 0,
            tail: Vec::new(),
            skip: None,
            failed: false,
        }
    }

    /// `true` when no frame is in progress: everything pushed was returned or skipped.
    pub fn is_idle(&self) -> bool {
        !self.failed && self.skip.is_none() && self.parser.buffered() == 0
    }

    /// Feeds one read; returns what it completed.
    pub fn push(&mut self, data: &[u8]) -> Vec<Event> {
        let mut out = Vec::new();
        let mut data = data.to_vec();
        // Each round either ends in the parser or restarts after a skipped frame.
        while !self.failed && !data.is_empty() {
            if let Some(rest) = self.skip_step(&data, &mut out) {
                data = rest;
                continue;
            }
            if self.skip.is_some() {
                break;
            }
            match self.parse_step(&data, &mut out) {
                Some(rest) => data = rest,
                None => break,
            }
        }
        out
    }

    /// While skipping: looks for the end-line; returns the bytes after it once found.
    fn skip_step(&mut self, data: &[u8], out: &mut Vec<Event>) -> Option<Vec<u8>> {
        let skip = self.skip.as_mut()?;
        let mut hay = std::mem::take(&mut self.tail);
        let carried = hay.len();
        hay.extend_from_slice(data);
        if let Some(end) = find_end_line(&hay, &skip.needle, 0) {
            self.skip = None;
            self.reset();
            return Some(hay.get(end..).unwrap_or_default().to_vec());
        }
        skip.skipped = skip.skipped.saturating_add((hay.len() - carried) as u64);
        if skip.skipped > MAX_SKIP {
            self.failed = true;
            out.push(Event::Fatal(ParseError::BodyTooLarge {
                offset: 0,
                limit: self.limits.max_body,
            }));
            return None;
        }
        self.tail = keep_tail(&hay);
        None
    }

    fn reset(&mut self) {
        self.parser = Parser::with_limits(self.limits);
        self.pushed = 0;
        self.head.clear();
        self.head_at = 0;
        self.tail.clear();
    }

    /// Feeds the parser; returns the bytes to go on with after a skipped frame.
    fn parse_step(&mut self, data: &[u8], out: &mut Vec<Event>) -> Option<Vec<u8>> {
        let before = self.pushed;
        self.parser.push(data);
        self.pushed += data.len() as u64;
        while let Some(item) = self.parser.next() {
            match item {
                Ok(frame) => out.push(Event::Frame(frame)),
                Err(ParseError::BodyTooLarge { offset, .. }) => {
                    return self.oversized(offset, before, data, out);
                }
                Err(ParseError::BadHeader { offset, tid, .. }) => {
                    let head = self.head_from(offset, before, data);
                    out.push(Event::Refused {
                        code: 400,
                        response: response_from_head(&head, &tid, 400),
                    });
                }
                Err(e) => {
                    let fatal = e.is_fatal();
                    out.push(Event::Fatal(e));
                    if fatal {
                        self.failed = true;
                        return None;
                    }
                }
            }
        }
        // Remember the start of the frame in progress for a later refusal.
        let start = self.pushed - self.parser.buffered() as u64;
        self.head = self.head_from(start, before, data);
        self.head_at = start;
        self.tail = keep_tail(&[std::mem::take(&mut self.tail), data.to_vec()].concat());
        None
    }

    /// The first bytes of the frame starting at stream offset `start`, from what was kept
    /// and this read (`data`, pushed at offset `before`).
    fn head_from(&self, start: u64, before: u64, data: &[u8]) -> Vec<u8> {
        let cap = self.limits.max_head + 2;
        let mut head = if start >= before {
            let i = usize::try_from(start - before).unwrap_or(usize::MAX);
            data.get(i..).unwrap_or_default().to_vec()
        } else {
            let i = usize::try_from(start.saturating_sub(self.head_at)).unwrap_or(usize::MAX);
            let mut h = self.head.get(i..).unwrap_or_default().to_vec();
            h.extend_from_slice(data);
            h
        };
        head.truncate(cap);
        head
    }

    /// A chunk over the limit: answer 413 and skip to its end-line.
    fn oversized(
        &mut self,
        offset: u64,
        before: u64,
        data: &[u8],
        out: &mut Vec<Event>,
    ) -> Option<Vec<u8>> {
        let head = self.head_from(offset, before, data);
        let Some(tid) = tid_of(&head) else {
            self.failed = true;
            out.push(Event::Fatal(ParseError::BadStartLine { offset }));
            return None;
        };
        out.push(Event::Refused {
            code: 413,
            response: response_from_head(&head, &tid, 413),
        });
        let mut needle = b"\r\n-------".to_vec();
        needle.extend_from_slice(tid.as_bytes());
        // The end-line may already be in what arrived: scan from the frame's start.
        let mut hay = std::mem::take(&mut self.tail);
        let base = before.saturating_sub(hay.len() as u64);
        hay.extend_from_slice(data);
        let from = usize::try_from(offset.saturating_sub(base)).unwrap_or(0);
        self.skip = Some(Skip { needle, skipped: 0 });
        self.parser = Parser::with_limits(self.limits);
        self.pushed = 0;
        self.head.clear();
        self.head_at = 0;
        // Hand the frame's bytes to the skip step, which finds its end-line.
        Some(hay.get(from.min(hay.len())..).unwrap_or_default().to_vec())
    }
}

/// The position after `needle`, a flag and CRLF, searching from `from`.
fn find_end_line(hay: &[u8], needle: &[u8], from: usize) -> Option<usize> {
    let mut i = from;
    while let Some(rest) = hay.get(i..) {
        let at = i + rest.windows(needle.len()).position(|w| w == needle)?;
        let after = at + needle.len();
        match hay.get(after..after + 3) {
            Some([b'$' | b'+' | b'#', b'\r', b'\n']) => return Some(after + 3),
            Some(_) => i = at + 1,
            // The flag has not arrived: the caller keeps the tail and retries.
            None => return None,
        }
    }
    None
}

fn keep_tail(bytes: &[u8]) -> Vec<u8> {
    bytes
        .get(bytes.len().saturating_sub(TAIL)..)
        .unwrap_or_default()
        .to_vec()
}

/// The transaction id of the start line at the beginning of `head` (CRLFs skipped).
fn tid_of(head: &[u8]) -> Option<String> {
    let start = head.iter().position(|b| !matches!(b, b'\r' | b'\n'))?;
    let line = head.get(start..)?.split(|&b| b == b'\n').next()?;
    let line = std::str::from_utf8(line).ok()?.trim_end_matches('\r');
    let mut words = line.strip_prefix("MSRP ")?.split(' ');
    let tid = words.next()?;
    sipsimple::msrp::is_ident(tid).then(|| tid.to_string())
}

/// The response `code` to the request whose head is `head`, read line by line (the frame
/// did not parse as a whole): To-Path and From-Path must read, the method must be one
/// answered (not REPORT), and Failure-Report must allow it.
fn response_from_head(head: &[u8], tid: &str, code: u16) -> Option<Frame> {
    let start = head.iter().position(|b| !matches!(b, b'\r' | b'\n'))?;
    let text = String::from_utf8_lossy(head.get(start..)?);
    let mut lines = text.split("\r\n");
    let first = lines.next()?;
    let method = first.strip_prefix("MSRP ")?.split(' ').nth(1)?;
    let method = Method::parse(method)?;
    let (mut to, mut from, mut failure) = (None, None, None);
    for line in lines.take_while(|l| !l.is_empty() && !l.starts_with("-------")) {
        let Some((name, value)) = line.split_once(':') else {
            continue;
        };
        let value = value.trim();
        if name.eq_ignore_ascii_case("To-Path") {
            to = parse_path(value).ok();
        } else if name.eq_ignore_ascii_case("From-Path") {
            from = parse_path(value).ok();
        } else if name.eq_ignore_ascii_case("Failure-Report") {
            failure = FailureReport::parse(value).ok();
        }
    }
    let mut req = Frame::request(method, tid.to_string(), to?, from?);
    req.failure_report = failure;
    let comment = if code == 413 {
        "Message Too Large"
    } else {
        "Bad Request"
    };
    req.response(code, Some(comment))
}

#[cfg(test)]
mod tests {
    use super::*;
    use sipsimple::msrp::Flag;

    fn send(tid: &str, body: &[u8]) -> Vec<u8> {
        let mut v = format!(
            "MSRP {tid} SEND\r\nTo-Path: msrp://127.0.0.1:2855/r1;tcp msrp://b.invalid:2/b;tcp\r\n\
             From-Path: msrp://a.invalid:1/a;tcp\r\nMessage-ID: m{tid}\r\n\
             Content-Type: text/plain\r\n\r\n"
        )
        .into_bytes();
        v.extend_from_slice(body);
        v.extend_from_slice(format!("\r\n-------{tid}$\r\n").as_bytes());
        v
    }

    fn limits(max_body: usize) -> Limits {
        Limits {
            max_head: 1024,
            max_body,
        }
    }

    fn frames(events: &[Event]) -> Vec<Vec<u8>> {
        events
            .iter()
            .filter_map(|e| match e {
                Event::Frame(f) => Some(f.body().to_vec()),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn frames_in_pieces() {
        let mut r = Reader::new(limits(64));
        let mut wire = send("aaaa1", b"one");
        wire.extend(send("bbbb2", b"two"));
        let mut got = Vec::new();
        for piece in wire.chunks(7) {
            got.extend(frames(&r.push(piece)));
        }
        assert_eq!(got, vec![b"one".to_vec(), b"two".to_vec()]);
    }

    /// An oversized chunk is refused with 413 and skipped, whatever the read sizes; the
    /// frames around it get through.
    #[test]
    fn oversized_chunk_is_refused_and_skipped() {
        let big = vec![b'x'; 300];
        let mut wire = send("aaaa1", b"before");
        wire.extend(send("bigg1", &big));
        wire.extend(send("cccc3", b"after"));
        for size in [1, 5, 64, 100, 1000, wire.len()] {
            let mut r = Reader::new(limits(100));
            let mut events = Vec::new();
            for piece in wire.chunks(size) {
                events.extend(r.push(piece));
            }
            assert_eq!(
                frames(&events),
                vec![b"before".to_vec(), b"after".to_vec()],
                "read size {size}"
            );
            let refused: Vec<_> = events
                .iter()
                .filter_map(|e| match e {
                    Event::Refused { code, response } => Some((*code, response.clone())),
                    _ => None,
                })
                .collect();
            assert_eq!(refused.len(), 1, "read size {size}");
            let (code, response) = &refused[0];
            assert_eq!(*code, 413);
            let response = response.as_ref().expect("a response");
            assert_eq!(response.tid, "bigg1");
            assert_eq!(response.code(), Some(413));
            assert_eq!(response.flag, Flag::End);
            assert_eq!(response.to_path[0].host, "a.invalid");
        }
    }

    #[test]
    fn bad_header_gets_400_and_garbage_is_fatal() {
        let mut r = Reader::new(limits(64));
        let bad = b"MSRP dddd4 SEND\r\nTo-Path: msrp://127.0.0.1:2855/r1;tcp\r\n\
            From-Path: msrp://a.invalid:1/a;tcp\r\nByte-Range: 0-1/1\r\n\r\nx\r\n-------dddd4$\r\n";
        let events = r.push(bad);
        assert!(matches!(
            events.as_slice(),
            [Event::Refused {
                code: 400,
                response: Some(_)
            }]
        ));
        let events = r.push(&send("eeee5", b"ok"));
        assert_eq!(frames(&events), vec![b"ok".to_vec()]);
        let events = r.push(b"GET / HTTP/1.1\r\n\r\n");
        assert!(matches!(events.as_slice(), [Event::Fatal(_)]));
        assert!(r.push(&send("ffff6", b"late")).is_empty());
    }
}
