//! The borrowed head parser (RFC 3261 §7, §7.3.1, §7.5, §18.3): frames one message and lends out
//! its start line, header fields and body without copying.
//!
//! Limits guard the parser against hostile peers: the head may not exceed [`MAX_HEAD_LEN`]
//! bytes nor hold more than [`MAX_HEADERS`] header fields, and the body may not exceed
//! [`MAX_BODY_LEN`]. Nothing is allocated from a length field of the peer.

use super::message::expand_compact;
use super::uri::UriError;
use core::fmt;
use std::borrow::Cow;

/// Largest accepted start line plus header section, in bytes.
pub const MAX_HEAD_LEN: usize = 64 * 1024;
/// Largest accepted number of header fields.
pub const MAX_HEADERS: usize = 256;
/// Largest accepted body, in bytes.
pub const MAX_BODY_LEN: usize = 1024 * 1024;

/// What is wrong with a Request-Line or Status-Line (RFC 3261 §7.1, §7.2, §25.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum StartLineError {
    /// Neither `METHOD SP Request-URI SP SIP-Version` nor `SIP-Version SP code SP reason`.
    Malformed,
    /// Elements not separated by exactly one SP, or leading, trailing or embedded whitespace
    /// (RFC 4475 §3.1.2.8 lwsruri, §3.1.2.9 lwsstart, §3.1.2.10 trws).
    Whitespace,
    /// The method is not a token.
    Method,
    /// The Request-URI is enclosed in `<>` or holds them (RFC 4475 §3.1.2.7 ltgtruri).
    AngleBrackets,
    /// The Request-URI has `?headers`, which RFC 3261 §19.1.5 forbids there (RFC 4475
    /// §3.1.2.11 escruri).
    UriHeaders,
    /// The version is not SIP/2.0 (RFC 4475 §3.1.2.16 badvers).
    Version,
    /// The status code is not three digits from 100 to 699 (RFC 4475 §3.1.2.19 bigcode).
    StatusCode,
}

impl fmt::Display for StartLineError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            StartLineError::Malformed => "not a request or status line",
            StartLineError::Whitespace => "elements not separated by exactly one SP",
            StartLineError::Method => "method is not a token",
            StartLineError::AngleBrackets => "Request-URI holds < or >",
            StartLineError::UriHeaders => "Request-URI holds ?headers",
            StartLineError::Version => "version is not SIP/2.0",
            StartLineError::StatusCode => "status code is not 100 to 699",
        })
    }
}

/// Why a message was refused. Line numbers are 1-based, counting the start line as line 1
/// (CRLFs before it, RFC 3261 §7.5 keep-alives, are not counted).
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
    /// The start line is malformed.
    BadStartLine(StartLineError),
    /// The Request-URI could not be parsed.
    BadRequestUri(UriError),
    /// A header line without a valid `name:`, or a continuation line with no header before it.
    BadHeader {
        /// The 1-based line number.
        line: usize,
    },
    /// The head is not UTF-8 text.
    NotText,
    /// Content-Length is not a decimal number (RFC 4475 §3.1.2.3 ncl).
    BadContentLength {
        /// The 1-based line number.
        line: usize,
    },
    /// Content-Length appears again with another value (RFC 4475 §3.3.9 mcl01).
    ConflictingContentLength {
        /// The 1-based line number of the second value.
        line: usize,
    },
    /// A message on a stream transport has no Content-Length (RFC 3261 §18.3).
    NoContentLength,
    /// Content-Length announces more bytes than were received (RFC 4475 §3.1.2.2 clerr).
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
            ParseError::BadStartLine(e) => write!(f, "malformed start line: {e}"),
            ParseError::BadRequestUri(e) => write!(f, "malformed Request-URI: {e}"),
            ParseError::BadHeader { line } => write!(f, "malformed header field on line {line}"),
            ParseError::NotText => f.write_str("header section is not UTF-8"),
            ParseError::BadContentLength { line } => {
                write!(f, "Content-Length on line {line} is not a number")
            }
            ParseError::ConflictingContentLength { line } => {
                write!(
                    f,
                    "Content-Length on line {line} contradicts an earlier one"
                )
            }
            ParseError::NoContentLength => f.write_str("no Content-Length on a stream"),
            ParseError::BodyTooShort { expected, got } => {
                write!(f, "Content-Length {expected} but only {got} body bytes")
            }
            ParseError::BodyTooLarge => write!(f, "body over {MAX_BODY_LEN} bytes"),
        }
    }
}

impl std::error::Error for ParseError {}

/// A start line borrowed from the input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StartLineRef<'a> {
    /// `METHOD Request-URI SIP/2.0`; the URI is checked for whitespace and `<>` only.
    Request {
        /// The method (a token, case-sensitive).
        method: &'a str,
        /// The Request-URI text.
        uri: &'a str,
    },
    /// `SIP/2.0 code reason`
    Response {
        /// The status code, 100 to 699.
        code: u16,
        /// The reason phrase as written (may be empty).
        reason: &'a str,
    },
}

/// One header field borrowed from the input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HeaderRef<'a> {
    /// The name as written (compact forms included), without the whitespace before `:`.
    pub name: &'a str,
    /// The value without surrounding whitespace. A folded value (RFC 3261 §7.3.1) still holds
    /// its line breaks; [`HeaderRef::unfolded`] replaces them.
    pub value: &'a str,
    /// The 1-based line where the field starts.
    pub line: usize,
}

impl<'a> HeaderRef<'a> {
    /// `true` when this field is header `name` (case-insensitive, compact forms understood).
    pub fn is(&self, name: &str) -> bool {
        same_header(self.name, name)
    }

    /// The value with each line fold replaced by one space.
    pub fn unfolded(&self) -> Cow<'a, str> {
        unfold(self.value)
    }
}

/// Replaces each line fold (CRLF followed by whitespace) by one space.
pub(crate) fn unfold(value: &str) -> Cow<'_, str> {
    if !value.contains('\n') {
        return Cow::Borrowed(value);
    }
    let mut out = String::with_capacity(value.len());
    for piece in value.split('\n').map(str::trim).filter(|p| !p.is_empty()) {
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(piece);
    }
    Cow::Owned(out)
}

/// `true` when `a` and `b` name the same header (case-insensitive, compact forms expanded).
pub(crate) fn same_header(a: &str, b: &str) -> bool {
    a.eq_ignore_ascii_case(b) || expand_compact(a).eq_ignore_ascii_case(expand_compact(b))
}

/// The outcome of framing bytes from a stream transport.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// A whole message is present: its length in bytes, leading CRLFs included.
    Complete(usize),
    /// More bytes are needed.
    Partial,
}

/// A SIP message borrowed from its input: the syntax layer under [`super::Message`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MessageRef<'a> {
    /// The start line.
    pub start: StartLineRef<'a>,
    /// Header fields in wire order.
    pub headers: Vec<HeaderRef<'a>>,
    /// The body: Content-Length bytes when that header is present, else the rest.
    pub body: &'a [u8],
}

/// What the head parser found besides the header fields it handed to its sink.
pub(crate) struct Head<'a> {
    pub(crate) start: StartLineRef<'a>,
    /// Offset of the body in the input, leading CRLFs included.
    pub(crate) body_start: usize,
    pub(crate) content_length: Option<usize>,
}

impl<'a> MessageRef<'a> {
    /// Parses one whole message: a datagram or a WebSocket frame.
    ///
    /// CRLFs before the start line are skipped (RFC 3261 §7.5). A body longer than
    /// Content-Length is truncated to it (§18.3, RFC 4475 §3.1.1.8 dblreq); a shorter one
    /// is an error.
    pub fn parse(input: &'a [u8]) -> Result<MessageRef<'a>, ParseError> {
        let mut headers = Vec::with_capacity(16);
        let head = parse_head(input, |h, _| headers.push(h))?;
        Ok(MessageRef {
            start: head.start,
            headers,
            body: body_of(input, &head)?,
        })
    }

    /// Frames the next message on a stream transport (TCP, TLS; RFC 3261 §18.3): says how
    /// many bytes it spans once it is complete. Content-Length is mandatory there.
    pub fn frame(input: &[u8]) -> Result<Status, ParseError> {
        let head = match parse_head(input, |_, _| ()) {
            Ok(h) => h,
            Err(ParseError::NoEndOfHeaders | ParseError::Empty) => return Ok(Status::Partial),
            Err(e) => return Err(e),
        };
        let n = head.content_length.ok_or(ParseError::NoContentLength)?;
        if n > MAX_BODY_LEN {
            return Err(ParseError::BodyTooLarge);
        }
        let end = head.body_start + n;
        Ok(if input.len() >= end {
            Status::Complete(end)
        } else {
            Status::Partial
        })
    }

    /// The method of a request.
    pub fn method(&self) -> Option<&'a str> {
        match self.start {
            StartLineRef::Request { method, .. } => Some(method),
            StartLineRef::Response { .. } => None,
        }
    }

    /// The status code of a response.
    pub fn code(&self) -> Option<u16> {
        match self.start {
            StartLineRef::Response { code, .. } => Some(code),
            StartLineRef::Request { .. } => None,
        }
    }

    /// The first field named `name` (case-insensitive, compact forms understood).
    pub fn header(&self, name: &str) -> Option<&HeaderRef<'a>> {
        self.headers.iter().find(|h| h.is(name))
    }

    /// Every field named `name`, in order.
    pub fn header_lines<'s>(
        &'s self,
        name: &'s str,
    ) -> impl Iterator<Item = &'s HeaderRef<'a>> + 's {
        self.headers.iter().filter(move |h| h.is(name))
    }
}

/// The body of a message whose head is `head`: Content-Length bytes when that header is
/// present, else the rest of the input.
pub(crate) fn body_of<'a>(input: &'a [u8], head: &Head<'_>) -> Result<&'a [u8], ParseError> {
    let rest = input.get(head.body_start..).unwrap_or_default();
    let len = match head.content_length {
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
    Ok(rest.get(..len).unwrap_or_default())
}

/// The offset of the first CR or LF in `b` at or after `from`, eight bytes at a time (the
/// "has zero byte" bit trick on `word ^ 0x0d0d...` and `word ^ 0x0a0a...`; the lowest flagged
/// byte is exact).
fn find_eol(b: &[u8], from: usize) -> Option<usize> {
    const LO: u64 = 0x0101_0101_0101_0101;
    const HI: u64 = 0x8080_8080_8080_8080;
    const LF: u64 = 0x0a0a_0a0a_0a0a_0a0a;
    const CR: u64 = 0x0d0d_0d0d_0d0d_0d0d;
    let mut i = from;
    while let Some(chunk) = b.get(i..i + 8) {
        let word = u64::from_le_bytes(<[u8; 8]>::try_from(chunk).ok()?);
        let (x, y) = (word ^ LF, word ^ CR);
        let found = (x.wrapping_sub(LO) & !x | y.wrapping_sub(LO) & !y) & HI;
        if found != 0 {
            return Some(i + (found.trailing_zeros() / 8) as usize);
        }
        i += 8;
    }
    b.get(i..)?
        .iter()
        .position(|c| *c == b'\n' || *c == b'\r')
        .map(|p| i + p)
}

fn is_wsp(b: u8) -> bool {
    b == b' ' || b == b'\t'
}

/// Scans the head: the start line, then each header field, handed to `sink` once complete
/// (after its folded lines), then the blank line.
pub(crate) fn parse_head<'a>(
    input: &'a [u8],
    mut sink: impl FnMut(HeaderRef<'a>, bool),
) -> Result<Head<'a>, ParseError> {
    let skip = input
        .iter()
        .position(|b| !matches!(b, b'\r' | b'\n'))
        .ok_or(ParseError::Empty)?;
    let window = input
        .get(..input.len().min(MAX_HEAD_LEN + 4))
        .unwrap_or_default();
    // The body may be binary: only the head must be text, so decode the longest valid prefix
    // and look for the end of the head there.
    let (text, bad_byte) = match core::str::from_utf8(window) {
        Ok(t) => (t, false),
        Err(e) => (
            core::str::from_utf8(window.get(..e.valid_up_to()).unwrap_or_default())
                .unwrap_or_default(),
            e.error_len().is_some(),
        ),
    };
    let no_end = || {
        if bad_byte {
            ParseError::NotText
        } else if input.len() > MAX_HEAD_LEN {
            ParseError::HeadTooLarge
        } else {
            ParseError::NoEndOfHeaders
        }
    };
    let b = text.as_bytes();
    // The line at `pos`: (end of its content without CR, offset after its LF).
    // The line at `pos`: (end of its content, offset of the next line, whether it ends in a
    // CR not followed by LF, which RFC 3261 §7 does not allow and some peers read as a line
    // end: refused, so that no header can be smuggled past another parser).
    let line = |pos: usize| -> Option<(usize, usize, bool)> {
        let eol = find_eol(b, pos)?;
        match (b.get(eol), b.get(eol + 1)) {
            (Some(b'\r'), Some(b'\n')) => Some((eol, eol + 2, false)),
            (Some(b'\r'), Some(_)) => Some((eol, eol + 1, true)),
            (Some(b'\n'), _) => Some((eol, eol + 1, false)),
            _ => None,
        }
    };
    let (end, mut pos, bare_cr) = line(skip).ok_or_else(no_end)?;
    if bare_cr {
        return Err(ParseError::BadStartLine(StartLineError::Malformed));
    }
    let start = parse_start_line(text.get(skip..end).unwrap_or_default())
        .map_err(ParseError::BadStartLine)?;
    let mut count = 0;
    let mut content_length: Option<usize> = None;
    let mut line_no = 1;
    let body_start = loop {
        let line_start = pos;
        let (end, next, bare_cr) = line(pos).ok_or_else(no_end)?;
        line_no += 1;
        if bare_cr {
            return Err(ParseError::BadHeader { line: line_no });
        }
        if end == line_start {
            break next;
        }
        let mut i = line_start;
        while i < end && b.get(i).is_some_and(|c| super::is_token_char(*c)) {
            i += 1;
        }
        let name_end = i;
        while i < end && b.get(i).is_some_and(|c| is_wsp(*c)) {
            i += 1;
        }
        // Also refuses a folded line with no field before it.
        if name_end == line_start || i >= end || b.get(i) != Some(&b':') {
            return Err(ParseError::BadHeader { line: line_no });
        }
        count += 1;
        if count > MAX_HEADERS {
            return Err(ParseError::TooManyHeaders);
        }
        let mut vs = i + 1;
        while vs < end && b.get(vs).is_some_and(|c| is_wsp(*c)) {
            vs += 1;
        }
        let mut ve = end;
        while ve > vs && b.get(ve - 1).is_some_and(|c| is_wsp(*c)) {
            ve -= 1;
        }
        let field_line = line_no;
        let mut folded = false;
        pos = next;
        // Folded continuations (RFC 3261 §7.3.1) extend the value over the line break.
        while b.get(pos).is_some_and(|c| is_wsp(*c)) {
            let (cend, cnext, bare_cr) = line(pos).ok_or_else(no_end)?;
            line_no += 1;
            if bare_cr {
                return Err(ParseError::BadHeader { line: line_no });
            }
            let mut cs = pos;
            while cs < cend && b.get(cs).is_some_and(|c| is_wsp(*c)) {
                cs += 1;
            }
            let mut ce = cend;
            while ce > cs && b.get(ce - 1).is_some_and(|c| is_wsp(*c)) {
                ce -= 1;
            }
            if ce > cs {
                if vs == ve {
                    vs = cs;
                } else {
                    folded = true;
                }
                ve = ce;
            }
            pos = cnext;
        }
        let h = HeaderRef {
            name: text.get(line_start..name_end).unwrap_or_default(),
            value: text.get(vs..ve).unwrap_or_default(),
            line: field_line,
        };
        if h.name.len() <= 14
            && (h.name.eq_ignore_ascii_case("Content-Length") || h.name.eq_ignore_ascii_case("l"))
        {
            let n = parse_content_length(&h)?;
            if content_length.is_some_and(|c| c != n) {
                return Err(ParseError::ConflictingContentLength { line: h.line });
            }
            content_length = Some(n);
        }
        sink(h, folded);
    };
    Ok(Head {
        start,
        body_start,
        content_length,
    })
}

fn parse_content_length(h: &HeaderRef<'_>) -> Result<usize, ParseError> {
    let v = h.unfolded();
    let v = v.trim();
    if v.is_empty() || !v.bytes().all(|b| b.is_ascii_digit()) {
        return Err(ParseError::BadContentLength { line: h.line });
    }
    // Any value past the body limit is refused later, so saturate rather than overflow.
    let digits = v.trim_start_matches('0');
    Ok(if digits.len() > 12 {
        usize::MAX
    } else {
        digits
            .parse::<u64>()
            .map_or(0, |n| usize::try_from(n).unwrap_or(usize::MAX))
    })
}

fn parse_start_line(line: &str) -> Result<StartLineRef<'_>, StartLineError> {
    let is_response = line
        .get(..4)
        .is_some_and(|p| p.eq_ignore_ascii_case("SIP/"));
    if is_response {
        let (version, rest) = line.split_once(' ').ok_or(StartLineError::Malformed)?;
        if !version.eq_ignore_ascii_case("SIP/2.0") {
            return Err(StartLineError::Version);
        }
        let (code, reason) = rest.split_once(' ').unwrap_or((rest, ""));
        if code.is_empty() {
            return Err(StartLineError::Whitespace);
        }
        if code.len() != 3 || !code.bytes().all(|b| b.is_ascii_digit()) {
            return Err(StartLineError::StatusCode);
        }
        let code: u16 = code.parse().map_err(|_| StartLineError::StatusCode)?;
        if !(100..=699).contains(&code) {
            return Err(StartLineError::StatusCode);
        }
        if reason.contains('\r') {
            return Err(StartLineError::Malformed);
        }
        return Ok(StartLineRef::Response { code, reason });
    }
    if line.bytes().any(|c| c == b'\t' || c == b'\r') {
        return Err(StartLineError::Whitespace);
    }
    let b = line.as_bytes();
    let sp1 = b.iter().position(|c| *c == b' ');
    let sp2 = sp1.and_then(|s| {
        b.get(s + 1..)?
            .iter()
            .position(|c| *c == b' ')
            .map(|p| s + 1 + p)
    });
    let (Some(sp1), Some(sp2)) = (sp1, sp2) else {
        return Err(StartLineError::Malformed);
    };
    let (method, uri, version) = (&line[..sp1], &line[sp1 + 1..sp2], &line[sp2 + 1..]);
    if method.is_empty() || uri.is_empty() || version.is_empty() || version.contains(' ') {
        return Err(StartLineError::Whitespace);
    }
    if !super::is_token(method) {
        return Err(StartLineError::Method);
    }
    if uri.bytes().any(|c| c == b'<' || c == b'>') {
        return Err(StartLineError::AngleBrackets);
    }
    if !version.eq_ignore_ascii_case("SIP/2.0") {
        return Err(StartLineError::Version);
    }
    Ok(StartLineRef::Request { method, uri })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn borrows_names_values_and_lines() {
        let m = MessageRef::parse(
            b"\r\nOPTIONS sip:a@b SIP/2.0\r\nTO :\r\n sip:a@b ;\r\n  tag = 1\r\nl: 3\r\n\r\nabcdef",
        )
        .expect("valid");
        assert_eq!(
            m.start,
            StartLineRef::Request {
                method: "OPTIONS",
                uri: "sip:a@b"
            }
        );
        let to = m.header("to").expect("To");
        assert_eq!((to.name, to.line), ("TO", 2));
        assert_eq!(to.value, "sip:a@b ;\r\n  tag = 1");
        assert_eq!(to.unfolded(), "sip:a@b ; tag = 1");
        assert_eq!(m.body, b"abc");
    }

    #[test]
    fn start_line_errors_are_precise() {
        let e = |s: &str| MessageRef::parse(format!("{s}\r\n\r\n").as_bytes()).err();
        let sl = |k| Some(ParseError::BadStartLine(k));
        assert_eq!(e("INVITE  sip:a@b SIP/2.0"), sl(StartLineError::Whitespace));
        assert_eq!(e("INVITE sip:a@b SIP/2.0 "), sl(StartLineError::Whitespace));
        assert_eq!(
            e("INVITE sip:a@b; lr SIP/2.0"),
            sl(StartLineError::Whitespace)
        );
        assert_eq!(
            e("INVITE <sip:a@b> SIP/2.0"),
            sl(StartLineError::AngleBrackets)
        );
        assert_eq!(e("INVITE sip:a@b SIP/7.0"), sl(StartLineError::Version));
        assert_eq!(e("IN(VITE sip:a@b SIP/2.0"), sl(StartLineError::Method));
        assert_eq!(e("SIP/2.0 4294967301 x"), sl(StartLineError::StatusCode));
        assert_eq!(e("SIP/2.0 099 x"), sl(StartLineError::StatusCode));
        assert_eq!(e("SIP/3.0 200 OK"), sl(StartLineError::Version));
        assert_eq!(e("HELLO"), sl(StartLineError::Malformed));
        assert_eq!(e("SIP/2.0 100 "), None);
    }

    #[test]
    fn bare_cr_is_refused() {
        assert_eq!(
            MessageRef::parse(b"OPTIONS sip:a@b SIP/2.0\r\nX: a\rVia: evil\r\n\r\n"),
            Err(ParseError::BadHeader { line: 2 })
        );
        assert_eq!(
            MessageRef::parse(b"OPTIONS sip:a@b SIP/2.0\rX\r\n\r\n"),
            Err(ParseError::BadStartLine(StartLineError::Malformed))
        );
        // CRLF, bare LF and a trailing CR before LF all end lines.
        assert!(MessageRef::parse(b"OPTIONS sip:a@b SIP/2.0\nX: a\r\nY: b\n\n").is_ok());
    }

    #[test]
    fn frames_streams() {
        let msg = b"OPTIONS sip:a@b SIP/2.0\r\nContent-Length: 2\r\n\r\nhiNEXT";
        assert_eq!(MessageRef::frame(msg), Ok(Status::Complete(msg.len() - 4)));
        assert_eq!(MessageRef::frame(&msg[..30]), Ok(Status::Partial));
        assert_eq!(
            MessageRef::frame(&msg[..msg.len() - 5]),
            Ok(Status::Partial)
        );
        assert_eq!(
            MessageRef::frame(b"OPTIONS sip:a@b SIP/2.0\r\n\r\n"),
            Err(ParseError::NoContentLength)
        );
    }

    #[test]
    fn binary_bodies_are_fine_but_binary_heads_are_not() {
        let mut m = b"MESSAGE sip:a@b SIP/2.0\r\nl: 2\r\n\r\n".to_vec();
        m.extend_from_slice(&[0xff, 0xfe]);
        assert_eq!(MessageRef::parse(&m).map(|m| m.body.len()), Ok(2));
        assert_eq!(
            MessageRef::parse(b"MESSAGE sip:a@b SIP/2.0\r\nX: \xff\r\n\r\n"),
            Err(ParseError::NotText)
        );
    }
}
