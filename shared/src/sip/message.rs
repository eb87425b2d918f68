//! The owned SIP message and the generic header model (RFC 3261 §7, §7.3, §8.2.6, §18.3).
//!
//! [`Message::parse`] runs the borrowed head parser ([`MessageRef`]) and copies its result out;
//! see [`super::raw`] for the framing rules and limits.

use super::raw::{body_of, parse_head, same_header, HeaderRef, MessageRef, StartLineRef};
pub use super::raw::{ParseError, StartLineError, MAX_BODY_LEN, MAX_HEADERS, MAX_HEAD_LEN};
use super::uri::Uri;

/// The first line of a message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StartLine {
    /// `METHOD Request-URI SIP/2.0`
    Request {
        /// The method, case-sensitive as RFC 3261 §7.1 says.
        method: String,
        /// The Request-URI.
        uri: Uri,
    },
    /// `SIP/2.0 code reason`
    Response {
        /// The status code, 100 to 699.
        code: u16,
        /// The reason phrase (may be empty).
        reason: String,
    },
}

/// One header field as written on the wire (after unfolding).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Header {
    /// The name as written, compact forms included.
    pub name: String,
    /// The value with surrounding whitespace removed and line folds replaced by one space.
    pub value: String,
}

/// A SIP request or response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    /// The request line or status line.
    pub start: StartLine,
    /// Header fields in wire order.
    pub headers: Vec<Header>,
    /// The body, exactly Content-Length bytes when that header is present.
    pub body: Vec<u8>,
}

/// Maps a compact header form (RFC 3261 §7.3.3 and later RFCs) to its full name.
pub fn expand_compact(name: &str) -> &str {
    let [c] = name.as_bytes() else {
        return name;
    };
    match c.to_ascii_lowercase() {
        b'i' => "Call-ID",
        b'm' => "Contact",
        b'e' => "Content-Encoding",
        b'l' => "Content-Length",
        b'c' => "Content-Type",
        b'f' => "From",
        b's' => "Subject",
        b'k' => "Supported",
        b't' => "To",
        b'v' => "Via",
        b'o' => "Event",
        b'r' => "Refer-To",
        b'u' => "Allow-Events",
        b'b' => "Referred-By",
        b'x' => "Session-Expires",
        _ => name,
    }
}

/// The owned start line, with the Request-URI parsed; it may not carry `?headers`
/// (RFC 3261 §19.1.5).
fn owned_start(start: StartLineRef<'_>) -> Result<StartLine, ParseError> {
    Ok(match start {
        StartLineRef::Request { method, uri } => {
            let uri = Uri::parse(uri).map_err(ParseError::BadRequestUri)?;
            if uri.headers.is_some() {
                return Err(ParseError::BadStartLine(StartLineError::UriHeaders));
            }
            StartLine::Request {
                method: method.to_string(),
                uri,
            }
        }
        StartLineRef::Response { code, reason } => StartLine::Response {
            code,
            reason: reason.to_string(),
        },
    })
}

fn owned_header(h: &HeaderRef<'_>, folded: bool) -> Header {
    Header {
        name: h.name.to_string(),
        value: if folded {
            h.unfolded().into_owned()
        } else {
            h.value.to_string()
        },
    }
}

impl<'a> MessageRef<'a> {
    /// Copies the message out, parsing the Request-URI (which may not carry `?headers`,
    /// RFC 3261 §19.1.5).
    pub fn to_message(&self) -> Result<Message, ParseError> {
        Ok(Message {
            start: owned_start(self.start)?,
            headers: self.headers.iter().map(|h| owned_header(h, true)).collect(),
            body: self.body.to_vec(),
        })
    }
}

impl Message {
    /// Parses one whole message: a datagram or a WebSocket frame.
    ///
    /// CRLFs before the start line are skipped (RFC 3261 §7.5). A body longer than
    /// Content-Length is truncated to it (§18.3); a shorter one is an error. This is the
    /// syntax layer; [`Message::validate`] checks the header rules of RFC 3261 on top.
    pub fn parse(input: &[u8]) -> Result<Message, ParseError> {
        // Straight from the head scanner into owned fields, without a borrowed copy between.
        let mut headers = Vec::with_capacity(16);
        let head = parse_head(input, |h, folded| headers.push(owned_header(&h, folded)))?;
        let body = body_of(input, &head)?;
        Ok(Message {
            start: owned_start(head.start)?,
            headers,
            body: body.to_vec(),
        })
    }

    /// A new request with no headers.
    pub fn request(method: &str, uri: Uri) -> Message {
        Message {
            start: StartLine::Request {
                method: method.to_string(),
                uri,
            },
            headers: Vec::new(),
            body: Vec::new(),
        }
    }

    /// A response to `req` (RFC 3261 §8.2.6): Via, From, To, Call-ID and CSeq copied,
    /// and for a 100 Trying the Timestamp too. The To tag is the caller's business.
    pub fn response_to(req: &Message, code: u16, reason: &str) -> Message {
        let mut r = Message {
            start: StartLine::Response {
                code,
                reason: reason.to_string(),
            },
            headers: Vec::new(),
            body: Vec::new(),
        };
        for h in &req.headers {
            let keep = ["Via", "From", "To", "Call-ID", "CSeq"]
                .iter()
                .any(|n| same_header(&h.name, n))
                || (code == 100 && same_header(&h.name, "Timestamp"));
            if keep {
                r.headers.push(Header {
                    name: expand_compact(&h.name).to_string(),
                    value: h.value.clone(),
                });
            }
        }
        r
    }

    /// `true` for requests.
    pub fn is_request(&self) -> bool {
        matches!(self.start, StartLine::Request { .. })
    }

    /// The method of a request, or `None` for a response.
    pub fn method(&self) -> Option<&str> {
        match &self.start {
            StartLine::Request { method, .. } => Some(method),
            StartLine::Response { .. } => None,
        }
    }

    /// The status code of a response, or `None` for a request.
    pub fn code(&self) -> Option<u16> {
        match &self.start {
            StartLine::Response { code, .. } => Some(*code),
            StartLine::Request { .. } => None,
        }
    }

    /// The reason phrase of a response (empty for a request).
    pub fn reason(&self) -> &str {
        match &self.start {
            StartLine::Response { reason, .. } => reason,
            StartLine::Request { .. } => "",
        }
    }

    /// The Request-URI of a request.
    pub fn request_uri(&self) -> Option<&Uri> {
        match &self.start {
            StartLine::Request { uri, .. } => Some(uri),
            StartLine::Response { .. } => None,
        }
    }

    /// The first value of header `name` (case-insensitive, compact forms understood).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|h| same_header(&h.name, name))
            .map(|h| h.value.as_str())
    }

    /// Every line of header `name`, in order.
    pub fn header_lines<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.headers
            .iter()
            .filter(move |h| same_header(&h.name, name))
            .map(|h| h.value.as_str())
    }

    /// Every element of list header `name` (Via, Contact, Route, ...), across lines.
    pub fn header_values<'a>(&'a self, name: &'a str) -> Vec<&'a str> {
        self.header_lines(name)
            .flat_map(super::split_list)
            .collect()
    }

    /// Appends a header line.
    pub fn push_header(&mut self, name: &str, value: impl Into<String>) {
        self.headers.push(Header {
            name: name.to_string(),
            value: value.into(),
        });
    }

    /// Inserts a header line before all others.
    pub fn prepend_header(&mut self, name: &str, value: impl Into<String>) {
        self.headers.insert(
            0,
            Header {
                name: name.to_string(),
                value: value.into(),
            },
        );
    }

    /// Replaces every line of `name` by one line, or appends it.
    pub fn set_header(&mut self, name: &str, value: impl Into<String>) {
        let value = value.into();
        match self.headers.iter().position(|h| same_header(&h.name, name)) {
            Some(i) => {
                self.headers[i].value = value;
                let mut seen = 0;
                self.headers.retain(|h| {
                    if same_header(&h.name, name) {
                        seen += 1;
                        seen == 1
                    } else {
                        true
                    }
                });
            }
            None => self.push_header(name, value),
        }
    }

    /// Removes every line of `name`; returns how many were removed.
    pub fn remove_header(&mut self, name: &str) -> usize {
        let before = self.headers.len();
        self.headers.retain(|h| !same_header(&h.name, name));
        before - self.headers.len()
    }

    /// Sets the body with its Content-Type, and Content-Length to match.
    pub fn set_body(&mut self, content_type: &str, body: Vec<u8>) {
        self.set_header("Content-Type", content_type);
        self.body = body;
        self.set_header("Content-Length", self.body.len().to_string());
    }

    /// Writes the message in wire form. Content-Length is written from the body when the
    /// message has no such header, so that stream transports can frame it.
    pub fn encode(&self, out: &mut Vec<u8>) {
        match &self.start {
            StartLine::Request { method, uri } => {
                out.extend_from_slice(method.as_bytes());
                out.push(b' ');
                uri.encode(out);
                out.extend_from_slice(b" SIP/2.0\r\n");
            }
            StartLine::Response { code, reason } => {
                out.extend_from_slice(b"SIP/2.0 ");
                super::push_decimal(out, u64::from(*code));
                out.push(b' ');
                out.extend_from_slice(reason.as_bytes());
                out.extend_from_slice(b"\r\n");
            }
        }
        let mut has_length = false;
        for h in &self.headers {
            has_length = has_length || same_header(&h.name, "Content-Length");
            out.extend_from_slice(h.name.as_bytes());
            out.extend_from_slice(b": ");
            out.extend_from_slice(h.value.as_bytes());
            out.extend_from_slice(b"\r\n");
        }
        if !has_length {
            out.extend_from_slice(b"Content-Length: ");
            super::push_decimal(out, self.body.len() as u64);
            out.extend_from_slice(b"\r\n");
        }
        out.extend_from_slice(b"\r\n");
        out.extend_from_slice(&self.body);
    }

    /// The wire form as a new vector.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(512 + self.body.len());
        self.encode(&mut out);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const INVITE: &str = "INVITE sip:bob@biloxi.example.com SIP/2.0\r\n\
        v: SIP/2.0/UDP pc33.atlanta.example.com;branch=z9hG4bKnashds8\r\n\
        Max-Forwards: 70\r\n\
        To: Bob <sip:bob@biloxi.example.com>\r\n\
        f: Alice <sip:alice@atlanta.example.com>;tag=1928301774\r\n\
        i: a84b4c76e66710\r\n\
        CSeq: 314159 INVITE\r\n\
        Subject: a long\r\n \tfolded subject\r\n\
        X-Unknown:  kept ; as=is \r\n\
        l: 4\r\n\
        \r\n\
        bodyEXTRA";

    #[test]
    fn parses_compact_folded_and_unknown_headers() {
        let m = Message::parse(INVITE.as_bytes()).expect("valid");
        assert_eq!(m.method(), Some("INVITE"));
        assert_eq!(m.header("Via").map(|v| v.contains("pc33")), Some(true));
        assert_eq!(m.header("call-id"), Some("a84b4c76e66710"));
        assert_eq!(m.header("Subject"), Some("a long folded subject"));
        assert_eq!(m.header("x-unknown"), Some("kept ; as=is"));
        // Content-Length truncates a datagram's surplus (RFC 3261 §18.3).
        assert_eq!(m.body, b"body");
    }

    #[test]
    fn round_trips_through_encode() {
        let m = Message::parse(INVITE.as_bytes()).expect("valid");
        let again = Message::parse(&m.to_bytes()).expect("valid");
        assert_eq!(m, again);
    }

    #[test]
    fn refuses_bad_input_with_reasons() {
        assert_eq!(Message::parse(b"\r\n\r\n"), Err(ParseError::Empty));
        assert_eq!(
            Message::parse(b"INVITE sip:a@b SIP/2.0\r\nVia: x\r\n"),
            Err(ParseError::NoEndOfHeaders)
        );
        assert_eq!(
            Message::parse(b"INVITE sip:a@b SIP/3.0\r\n\r\n"),
            Err(ParseError::BadStartLine(StartLineError::Version))
        );
        assert_eq!(
            Message::parse(b"SIP/2.0 1000 Huh\r\n\r\n"),
            Err(ParseError::BadStartLine(StartLineError::StatusCode))
        );
        assert_eq!(
            Message::parse(b"INVITE sip:a@b?Route=x SIP/2.0\r\n\r\n"),
            Err(ParseError::BadStartLine(StartLineError::UriHeaders))
        );
        assert_eq!(
            Message::parse(b"OPTIONS sip:a@b SIP/2.0\r\nno colon\r\n\r\n"),
            Err(ParseError::BadHeader { line: 2 })
        );
        assert_eq!(
            Message::parse(b"OPTIONS sip:a@b SIP/2.0\r\nContent-Length: 10\r\n\r\nabc"),
            Err(ParseError::BodyTooShort {
                expected: 10,
                got: 3
            })
        );
        assert_eq!(
            Message::parse(b"OPTIONS sip:a@b SIP/2.0\r\nContent-Length: 99999999999\r\n\r\n"),
            Err(ParseError::BodyTooLarge)
        );
        let many = format!(
            "OPTIONS sip:a@b SIP/2.0\r\n{}\r\n",
            "X: y\r\n".repeat(MAX_HEADERS + 1)
        );
        assert_eq!(
            Message::parse(many.as_bytes()),
            Err(ParseError::TooManyHeaders)
        );
    }

    #[test]
    fn response_copies_the_dialog_headers() {
        let req = Message::parse(INVITE.as_bytes()).expect("valid");
        let r = Message::response_to(&req, 180, "Ringing");
        assert_eq!(r.code(), Some(180));
        assert_eq!(r.header("Via"), req.header("v"));
        assert_eq!(r.header("From"), req.header("f"));
        assert_eq!(r.header("Subject"), None);
        let text = String::from_utf8(r.to_bytes()).expect("utf8");
        assert!(text.starts_with("SIP/2.0 180 Ringing\r\nVia: SIP/2.0/UDP"));
        assert!(text.ends_with("Content-Length: 0\r\n\r\n"));
    }
}
