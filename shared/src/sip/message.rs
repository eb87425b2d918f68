//! SIP message framing and the generic header model (RFC 3261 §7).
//!
//! A message is parsed from one WebSocket frame (RFC 7118 §5) or one UDP datagram
//! (RFC 3261 §18.3). Limits guard the parser against hostile peers: the head may not exceed
//! [`MAX_HEAD_LEN`] bytes nor hold more than [`MAX_HEADERS`] header fields, and the body may
//! not exceed [`MAX_BODY_LEN`].

use super::uri::{Uri, UriError};
use core::fmt;

/// Largest accepted start line plus header section, in bytes.
pub const MAX_HEAD_LEN: usize = 64 * 1024;
/// Largest accepted number of header fields.
pub const MAX_HEADERS: usize = 256;
/// Largest accepted body, in bytes.
pub const MAX_BODY_LEN: usize = 1024 * 1024;

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
    /// The value with surrounding whitespace removed.
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

/// Why a message was refused, with the 1-based line where it was found.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ParseError {
    /// Nothing but whitespace was received.
    Empty,
    /// No blank line ends the header section.
    NoEndOfHeaders,
    /// The header section is larger than [`MAX_HEAD_LEN`].
    HeadTooLarge,
    /// More than [`MAX_HEADERS`] header fields.
    TooManyHeaders,
    /// The start line is neither a Request-Line nor a Status-Line.
    BadStartLine,
    /// The Request-URI could not be parsed.
    BadRequestUri(UriError),
    /// A header line without a valid `name:`.
    BadHeader {
        /// The 1-based line number.
        line: usize,
    },
    /// The head is not UTF-8 text.
    NotText,
    /// Content-Length is not a number, or appears twice with different values.
    BadContentLength,
    /// Content-Length announces more bytes than were received.
    BodyTooShort {
        /// Bytes announced.
        expected: usize,
        /// Bytes present.
        got: usize,
    },
    /// The body is larger than [`MAX_BODY_LEN`].
    BodyTooLarge,
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ParseError::Empty => f.write_str("empty message"),
            ParseError::NoEndOfHeaders => f.write_str("no blank line after the headers"),
            ParseError::HeadTooLarge => write!(f, "header section over {MAX_HEAD_LEN} bytes"),
            ParseError::TooManyHeaders => write!(f, "more than {MAX_HEADERS} header fields"),
            ParseError::BadStartLine => f.write_str("malformed request or status line"),
            ParseError::BadRequestUri(e) => write!(f, "malformed Request-URI: {e}"),
            ParseError::BadHeader { line } => write!(f, "malformed header field on line {line}"),
            ParseError::NotText => f.write_str("header section is not UTF-8"),
            ParseError::BadContentLength => f.write_str("invalid Content-Length"),
            ParseError::BodyTooShort { expected, got } => {
                write!(f, "Content-Length {expected} but only {got} body bytes")
            }
            ParseError::BodyTooLarge => write!(f, "body over {MAX_BODY_LEN} bytes"),
        }
    }
}

impl std::error::Error for ParseError {}

/// Maps a compact header form (RFC 3261 §7.3.3 and later RFCs) to its full name.
pub fn expand_compact(name: &str) -> &str {
    if name.len() != 1 {
        return name;
    }
    match name.as_bytes()[0].to_ascii_lowercase() {
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

fn same_header(a: &str, b: &str) -> bool {
    expand_compact(a).eq_ignore_ascii_case(expand_compact(b))
}

fn is_token_char(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"-.!%*_+`'~".contains(&b)
}

impl Message {
    /// Parses one whole message: a datagram or a WebSocket frame.
    ///
    /// CRLFs before the start line are skipped (RFC 3261 §7.5). A body longer than
    /// Content-Length is truncated to it (§18.3); a shorter one is an error.
    pub fn parse(input: &[u8]) -> Result<Message, ParseError> {
        let start = input
            .iter()
            .position(|b| !matches!(b, b'\r' | b'\n'))
            .ok_or(ParseError::Empty)?;
        let input = &input[start..];
        let (head_len, body_start) = find_end_of_head(input)?;
        let head = core::str::from_utf8(&input[..head_len]).map_err(|_| ParseError::NotText)?;
        let mut lines = head.split('\n').map(|l| l.strip_suffix('\r').unwrap_or(l));
        let first = lines.next().ok_or(ParseError::Empty)?;
        let start = parse_start_line(first)?;

        let mut headers: Vec<Header> = Vec::new();
        for (i, line) in lines.enumerate() {
            let line_no = i + 2;
            if line.starts_with([' ', '\t']) {
                // Folded continuation (RFC 3261 §7.3.1): joined with one space.
                let last = headers
                    .last_mut()
                    .ok_or(ParseError::BadHeader { line: line_no })?;
                if !last.value.is_empty() {
                    last.value.push(' ');
                }
                last.value.push_str(line.trim());
                continue;
            }
            let (name, value) = line
                .split_once(':')
                .ok_or(ParseError::BadHeader { line: line_no })?;
            let name = name.trim_end_matches([' ', '\t']);
            if name.is_empty() || !name.bytes().all(is_token_char) {
                return Err(ParseError::BadHeader { line: line_no });
            }
            if headers.len() == MAX_HEADERS {
                return Err(ParseError::TooManyHeaders);
            }
            headers.push(Header {
                name: name.to_string(),
                value: value.trim().to_string(),
            });
        }

        let rest = &input[body_start..];
        let mut content_length: Option<usize> = None;
        for h in headers
            .iter()
            .filter(|h| same_header(&h.name, "Content-Length"))
        {
            let n: usize = h.value.parse().map_err(|_| ParseError::BadContentLength)?;
            if content_length.is_some_and(|c| c != n) {
                return Err(ParseError::BadContentLength);
            }
            content_length = Some(n);
        }
        let body_len = match content_length {
            Some(n) if n > MAX_BODY_LEN => return Err(ParseError::BodyTooLarge),
            Some(n) if n > rest.len() => {
                return Err(ParseError::BodyTooShort {
                    expected: n,
                    got: rest.len(),
                })
            }
            Some(n) => n,
            None if rest.len() > MAX_BODY_LEN => return Err(ParseError::BodyTooLarge),
            None => rest.len(),
        };
        Ok(Message {
            start,
            headers,
            body: rest[..body_len].to_vec(),
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
                out.extend_from_slice(uri.to_string().as_bytes());
                out.extend_from_slice(b" SIP/2.0\r\n");
            }
            StartLine::Response { code, reason } => {
                out.extend_from_slice(b"SIP/2.0 ");
                out.extend_from_slice(code.to_string().as_bytes());
                out.push(b' ');
                out.extend_from_slice(reason.as_bytes());
                out.extend_from_slice(b"\r\n");
            }
        }
        for h in &self.headers {
            out.extend_from_slice(h.name.as_bytes());
            out.extend_from_slice(b": ");
            out.extend_from_slice(h.value.as_bytes());
            out.extend_from_slice(b"\r\n");
        }
        if self.header("Content-Length").is_none() {
            out.extend_from_slice(b"Content-Length: ");
            out.extend_from_slice(self.body.len().to_string().as_bytes());
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

/// Finds the blank line ending the head: returns (head length, body offset).
fn find_end_of_head(input: &[u8]) -> Result<(usize, usize), ParseError> {
    let limit = input.len().min(MAX_HEAD_LEN + 4);
    let mut i = 0;
    while i < limit {
        if input[i] == b'\n' {
            if input.get(i + 1) == Some(&b'\n') {
                return Ok((i, i + 2));
            }
            if input.get(i + 1) == Some(&b'\r') && input.get(i + 2) == Some(&b'\n') {
                return Ok((i, i + 3));
            }
        }
        i += 1;
    }
    if input.len() > MAX_HEAD_LEN {
        Err(ParseError::HeadTooLarge)
    } else {
        Err(ParseError::NoEndOfHeaders)
    }
}

fn parse_start_line(line: &str) -> Result<StartLine, ParseError> {
    if let Some(rest) = line.strip_prefix("SIP/2.0 ") {
        let (code, reason) = rest.split_once(' ').unwrap_or((rest, ""));
        if code.len() != 3 {
            return Err(ParseError::BadStartLine);
        }
        let code: u16 = code.parse().map_err(|_| ParseError::BadStartLine)?;
        if !(100..=699).contains(&code) {
            return Err(ParseError::BadStartLine);
        }
        return Ok(StartLine::Response {
            code,
            reason: reason.to_string(),
        });
    }
    let mut parts = line.split(' ');
    let (Some(method), Some(uri), Some(version), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(ParseError::BadStartLine);
    };
    if method.is_empty() || !method.bytes().all(is_token_char) || version != "SIP/2.0" {
        return Err(ParseError::BadStartLine);
    }
    let uri = Uri::parse(uri).map_err(ParseError::BadRequestUri)?;
    Ok(StartLine::Request {
        method: method.to_string(),
        uri,
    })
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
            Err(ParseError::BadStartLine)
        );
        assert_eq!(
            Message::parse(b"SIP/2.0 1000 Huh\r\n\r\n"),
            Err(ParseError::BadStartLine)
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
