//! Framing SIP on a byte stream (RFC 3261 §18.3: Content-Length delimits each message), with
//! a cap on the size of one message, and the CRLF keep-alives of RFC 5626 §4.4.1 (a double
//! CRLF "ping" is answered with a single CRLF "pong"; a lone CRLF between messages is a pong
//! or the §7.5 padding and is skipped).
//!
//! Pure: bytes in, frames out; the connection task owns the socket.

use sipsimple::sip::{Message, MessageRef, ParseError, Status};

/// The largest message accepted on a stream.
pub const MAX_MESSAGE: usize = 64 * 1024;

/// One thing found on the stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Frame {
    /// A whole message, leading CRLFs stripped.
    Message(Vec<u8>),
    /// A keep-alive ping (CRLFCRLF): answer with CRLF.
    Ping,
}

/// Why the stream cannot go on; the connection is closed after the answer, if any.
#[derive(Debug, Clone, PartialEq)]
pub enum FrameError {
    /// The message is larger than the limit. `request` is its head when it is a request
    /// that can be answered (413).
    TooLarge {
        /// The request's head, parsed without its body (boxed: the error path is rare).
        request: Option<Box<Message>>,
    },
    /// The bytes are not SIP.
    Garbage(ParseError),
}

/// The receive buffer of one stream connection.
#[derive(Debug)]
pub struct Framer {
    buf: Vec<u8>,
    max: usize,
}

impl Default for Framer {
    fn default() -> Self {
        Framer::new(MAX_MESSAGE)
    }
}

/// The offset just past the first blank line (CRLFCRLF), if any.
fn head_end(b: &[u8]) -> Option<usize> {
    b.windows(4).position(|w| w == b"\r\n\r\n").map(|p| p + 4)
}

/// Parses a head whose body has not arrived (or never will), by dropping its Content-Length
/// lines, so that it can be answered.
fn parse_head_only(head: &[u8]) -> Option<Message> {
    let text = std::str::from_utf8(head).ok()?;
    let kept: Vec<&str> = text
        .split("\r\n")
        .filter(|line| {
            let name = line.split(':').next().unwrap_or_default().trim();
            !(name.eq_ignore_ascii_case("Content-Length") || name.eq_ignore_ascii_case("l"))
        })
        .collect();
    Message::parse(kept.join("\r\n").as_bytes()).ok()
}

impl Framer {
    /// A framer accepting messages up to `max` bytes.
    pub fn new(max: usize) -> Framer {
        Framer {
            buf: Vec::new(),
            max,
        }
    }

    /// Bytes read from the stream.
    pub fn push(&mut self, data: &[u8]) {
        self.buf.extend_from_slice(data);
    }

    /// Bytes held that do not make a frame yet.
    #[cfg(test)]
    pub fn buffered(&self) -> usize {
        self.buf.len()
    }

    /// The next frame, `Ok(None)` when more bytes are needed.
    pub fn next_frame(&mut self) -> Result<Option<Frame>, FrameError> {
        // Keep-alives before the next message (RFC 5626 §4.4.1, RFC 3261 §7.5).
        loop {
            if self.buf.starts_with(b"\r\n\r\n") {
                self.buf.drain(..4);
                return Ok(Some(Frame::Ping));
            }
            match self.buf.as_slice() {
                [b'\r', b'\n', b'\r'] | [b'\r', b'\n'] | [b'\r'] => return Ok(None),
                [b'\r', b'\n', ..] => {
                    self.buf.drain(..2);
                }
                [] => return Ok(None),
                _ => break,
            }
        }
        match MessageRef::frame(&self.buf) {
            Ok(Status::Complete(n)) if n <= self.max => {
                let msg: Vec<u8> = self.buf.drain(..n).collect();
                Ok(Some(Frame::Message(msg)))
            }
            Ok(Status::Complete(_)) => Err(self.too_large()),
            Ok(Status::Partial) => {
                let declared = match head_end(&self.buf) {
                    Some(end) => match MessageRef::parse(&self.buf) {
                        Err(ParseError::BodyTooShort { expected, .. }) => {
                            end.saturating_add(expected)
                        }
                        _ => self.buf.len(),
                    },
                    None => self.buf.len(),
                };
                if declared > self.max || self.buf.len() > self.max {
                    Err(self.too_large())
                } else {
                    Ok(None)
                }
            }
            Err(ParseError::BodyTooLarge | ParseError::HeadTooLarge) => Err(self.too_large()),
            Err(e) => Err(FrameError::Garbage(e)),
        }
    }

    fn too_large(&self) -> FrameError {
        let request = head_end(&self.buf)
            .and_then(|end| self.buf.get(..end))
            .and_then(parse_head_only)
            .filter(|m| m.is_request() && m.method() != Some("ACK"))
            .map(Box::new);
        FrameError::TooLarge { request }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const OPTIONS: &[u8] = b"OPTIONS sip:gw SIP/2.0\r\nVia: SIP/2.0/TCP a;branch=z9hG4bK1\r\nFrom: <sip:a@b>;tag=1\r\nTo: <sip:gw>\r\nCall-ID: c\r\nCSeq: 1 OPTIONS\r\nContent-Length: 4\r\n\r\nbody";

    #[test]
    fn messages_split_across_reads_and_back_to_back() {
        let mut f = Framer::default();
        let (a, b) = OPTIONS.split_at(30);
        f.push(a);
        assert_eq!(f.next_frame(), Ok(None));
        f.push(b);
        f.push(OPTIONS);
        f.push(&OPTIONS[..10]);
        assert_eq!(f.next_frame(), Ok(Some(Frame::Message(OPTIONS.to_vec()))));
        assert_eq!(f.next_frame(), Ok(Some(Frame::Message(OPTIONS.to_vec()))));
        assert_eq!(f.next_frame(), Ok(None));
        assert_eq!(f.buffered(), 10);
    }

    #[test]
    fn keep_alives() {
        let mut f = Framer::default();
        f.push(b"\r\n\r\n\r\n");
        assert_eq!(f.next_frame(), Ok(Some(Frame::Ping)));
        // A lone CRLF (a pong) waits: it may be the start of a ping.
        assert_eq!(f.next_frame(), Ok(None));
        f.push(OPTIONS);
        assert_eq!(f.next_frame(), Ok(Some(Frame::Message(OPTIONS.to_vec()))));
        f.push(b"\r\n\r\n");
        assert_eq!(f.next_frame(), Ok(Some(Frame::Ping)));
        assert_eq!(f.buffered(), 0);
    }

    #[test]
    fn oversized_messages_are_refused_early_with_their_head() {
        let mut f = Framer::new(1024);
        let head = "INVITE sip:bob@gw SIP/2.0\r\nVia: SIP/2.0/TCP a;branch=z9hG4bK1\r\nFrom: <sip:a@b>;tag=1\r\nTo: <sip:bob@gw>\r\nCall-ID: c\r\nCSeq: 1 INVITE\r\nContent-Length: 5000\r\n\r\n";
        f.push(head.as_bytes());
        let Err(FrameError::TooLarge { request: Some(req) }) = f.next_frame() else {
            panic!("refused before the body arrives");
        };
        assert_eq!(req.method(), Some("INVITE"));
        // A head that never ends is refused once it passes the limit.
        let mut f = Framer::new(1024);
        f.push(b"INVITE sip:bob@gw SIP/2.0\r\n");
        for _ in 0..100 {
            f.push(b"X-Filler: aaaaaaaaaaaaaaaaaaaa\r\n");
        }
        assert!(matches!(
            f.next_frame(),
            Err(FrameError::TooLarge { request: None })
        ));
        let mut f = Framer::default();
        f.push(b"\x16\x03\x01 not SIP\r\n\r\n");
        assert!(matches!(f.next_frame(), Err(FrameError::Garbage(_))));
    }
}
