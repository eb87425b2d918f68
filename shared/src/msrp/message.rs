//! MSRP requests and responses as framed on the wire (RFC 4975 §5.1, §7, §9), their
//! serialising, and the responses (§7.2) and REPORTs (§7.1.2–§7.1.4) built from a request.
//!
//! ```text
//! MSRP a786hjs2 SEND                   start line: transaction id, method or status
//! To-Path: msrp://...;tcp              headers
//! From-Path: msrp://...;tcp
//! Message-ID: 87652491
//! Byte-Range: 1-25/25
//! Content-Type: text/plain
//!                                      blank line, only when a body follows
//! Hey Bob, are you there?              body, then CRLF
//! -------a786hjs2$                     end-line: `$` last chunk, `+` more, `#` aborted
//! ```

use super::header::{
    is_ident, parse_success_report, ByteRange, FailureReport, HeaderError, Status,
};
use super::uri::{format_path, parse_path, Uri};
use crate::rng::Rng;

/// A request method. RFC 4975 defines SEND and REPORT, RFC 4976 AUTH; others are kept.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Method {
    /// `SEND`: carries a chunk of a message.
    Send,
    /// `REPORT`: an end-to-end delivery report.
    Report,
    /// `AUTH`: authentication towards a relay (RFC 4976).
    Auth,
    /// Any other method (`1*UPALPHA`), answered with 501 by endpoints.
    Other(String),
}

impl Method {
    /// The method as written.
    pub fn as_str(&self) -> &str {
        match self {
            Method::Send => "SEND",
            Method::Report => "REPORT",
            Method::Auth => "AUTH",
            Method::Other(m) => m,
        }
    }

    /// Parses `1*UPALPHA`; method names are case-sensitive (§9).
    pub fn parse(s: &str) -> Option<Method> {
        match s {
            "SEND" => Some(Method::Send),
            "REPORT" => Some(Method::Report),
            "AUTH" => Some(Method::Auth),
            _ if !s.is_empty() && s.bytes().all(|b| b.is_ascii_uppercase()) => {
                Some(Method::Other(s.to_string()))
            }
            _ => None,
        }
    }
}

/// What follows the transaction id on the start line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StartLine {
    /// `MSRP tid METHOD`
    Request(Method),
    /// `MSRP tid code [comment]`
    Response {
        /// The three-digit status code (§10).
        code: u16,
        /// The optional comment, such as `OK`.
        comment: Option<String>,
    },
}

/// The continuation flag of the end-line (§5.1, §7.1.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Flag {
    /// `$`: this chunk holds the end of the message (and every response ends so).
    End,
    /// `+`: more chunks of the message follow.
    More,
    /// `#`: the sender abandons the message.
    Abort,
}

impl Flag {
    /// The flag byte.
    pub fn as_byte(self) -> u8 {
        match self {
            Flag::End => b'$',
            Flag::More => b'+',
            Flag::Abort => b'#',
        }
    }

    /// The flag of byte `b`, if it is one.
    pub fn from_byte(b: u8) -> Option<Flag> {
        match b {
            b'$' => Some(Flag::End),
            b'+' => Some(Flag::More),
            b'#' => Some(Flag::Abort),
            _ => None,
        }
    }
}

/// A header without a typed field in [`Frame`], as received.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Header {
    /// The name as written.
    pub name: String,
    /// The value, surrounding whitespace removed.
    pub value: String,
}

/// One MSRP request or response: for SEND, one chunk of a message.
///
/// The headers RFC 4975 defines have typed fields; every other header (extensions,
/// Content-ID, Content-Disposition, ...) is kept in `headers` in wire order.
/// [`Frame::encode`] writes To-Path, From-Path, Message-ID, Success-Report, Failure-Report,
/// Byte-Range, Status, then `headers`, then Content-Type last, as §9 orders them, so a
/// received frame re-serialises byte for byte when its typed headers came in that order
/// (and with single spaces after colons and between path URIs); otherwise only those
/// typed headers move.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Frame {
    /// The transaction id, an `ident` (§7.1).
    pub tid: String,
    /// Request method or response status.
    pub start: StartLine,
    /// To-Path: the URIs still to visit, the destination last.
    pub to_path: Vec<Uri>,
    /// From-Path: the URIs visited, the originator last.
    pub from_path: Vec<Uri>,
    /// Message-ID: the same on every chunk of a message.
    pub message_id: Option<String>,
    /// Success-Report (`yes` = `true`); absent means `no`.
    pub success_report: Option<bool>,
    /// Failure-Report; absent means `yes`.
    pub failure_report: Option<FailureReport>,
    /// Byte-Range of the chunk.
    pub byte_range: Option<ByteRange>,
    /// Status of a REPORT.
    pub status: Option<Status>,
    /// Content-Type of the body.
    pub content_type: Option<String>,
    /// Other headers in wire order.
    pub headers: Vec<Header>,
    /// The body: `None` when the frame has no blank line, `Some` (maybe empty) otherwise.
    pub body: Option<Vec<u8>>,
    /// The end-line's continuation flag.
    pub flag: Flag,
}

/// A fresh transaction id for a frame carrying `content`: 16 random characters, drawn
/// again in the unlikely case that `-------<tid>` occurs in `content` (§7.1.1).
pub fn new_tid(rng: &mut Rng, content: &[u8]) -> String {
    loop {
        let tid = rng.token(16);
        if tid_is_safe(&tid, content) {
            return tid;
        }
    }
}

/// `true` when `tid` may frame `content`: the body must not contain `-------<tid>`, or a
/// receiver scanning for the end-line would stop inside it (§7.1.1).
pub fn tid_is_safe(tid: &str, content: &[u8]) -> bool {
    let mut needle = Vec::with_capacity(7 + tid.len());
    needle.extend_from_slice(b"-------");
    needle.extend_from_slice(tid.as_bytes());
    !content
        .windows(needle.len())
        .any(|w| w == needle.as_slice())
}

impl Frame {
    /// A request with the given paths, no other header, no body and the `$` flag.
    pub fn request(method: Method, tid: String, to_path: Vec<Uri>, from_path: Vec<Uri>) -> Frame {
        Frame {
            tid,
            start: StartLine::Request(method),
            to_path,
            from_path,
            message_id: None,
            success_report: None,
            failure_report: None,
            byte_range: None,
            status: None,
            content_type: None,
            headers: Vec::new(),
            body: None,
            flag: Flag::End,
        }
    }

    /// The method of a request, `None` for a response.
    pub fn method(&self) -> Option<&Method> {
        match &self.start {
            StartLine::Request(m) => Some(m),
            StartLine::Response { .. } => None,
        }
    }

    /// The status code of a response, `None` for a request.
    pub fn code(&self) -> Option<u16> {
        match &self.start {
            StartLine::Response { code, .. } => Some(*code),
            StartLine::Request(_) => None,
        }
    }

    /// The body bytes; empty when there is none.
    pub fn body(&self) -> &[u8] {
        self.body.as_deref().unwrap_or_default()
    }

    /// The first value of a header kept in `headers` (case-insensitive name).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|h| h.name.eq_ignore_ascii_case(name))
            .map(|h| h.value.as_str())
    }

    /// The transaction response to this request (§7.2), or `None` when none is due: for a
    /// response or a REPORT, when Failure-Report is `no`, and for a 200 when it is
    /// `partial`. To-Path is the previous hop (the first From-Path URI) for SEND and the
    /// whole From-Path otherwise; From-Path is this hop (the first To-Path URI).
    pub fn response(&self, code: u16, comment: Option<&str>) -> Option<Frame> {
        let method = self.method()?;
        if *method == Method::Report {
            return None;
        }
        match self.failure_report {
            Some(FailureReport::No) => return None,
            Some(FailureReport::Partial) if code == 200 => return None,
            _ => {}
        }
        let to_path = if *method == Method::Send {
            self.from_path.iter().take(1).cloned().collect()
        } else {
            self.from_path.clone()
        };
        let mut r = Frame::request(
            Method::Send,
            self.tid.clone(),
            to_path,
            self.to_path.iter().take(1).cloned().collect(),
        );
        r.start = StartLine::Response {
            code,
            comment: comment.map(str::to_string),
        };
        Some(r)
    }

    /// The REPORT for this SEND chunk with status `code` (§7.1.2–§7.1.4), or `None` when
    /// none is due: a success report (200) only when Success-Report is `yes`, a failure
    /// report only when Failure-Report is not `no`, and never without a Message-ID.
    ///
    /// `range` is the range reported on; `None` means this chunk's bytes, with the total of
    /// its Byte-Range. After reassembling a whole message, pass [`ByteRange::whole`].
    pub fn report(
        &self,
        rng: &mut Rng,
        code: u16,
        comment: Option<&str>,
        range: Option<ByteRange>,
    ) -> Option<Frame> {
        if self.method() != Some(&Method::Send) {
            return None;
        }
        let wanted = if code == 200 {
            self.success_report == Some(true)
        } else {
            self.failure_report != Some(FailureReport::No)
        };
        if !wanted {
            return None;
        }
        let message_id = self.message_id.clone()?;
        let range = range.unwrap_or_else(|| {
            let br = self.byte_range.unwrap_or(ByteRange {
                start: 1,
                end: None,
                total: None,
            });
            let len = u64::try_from(self.body().len()).unwrap_or(u64::MAX);
            let end = br.start.saturating_sub(1).saturating_add(len);
            let total = br.total.or((self.flag == Flag::End).then_some(end));
            ByteRange {
                start: br.start,
                end: Some(end),
                total,
            }
        });
        let mut r = Frame::request(
            Method::Report,
            new_tid(rng, &[]),
            self.from_path.clone(),
            self.to_path.iter().take(1).cloned().collect(),
        );
        r.message_id = Some(message_id);
        r.byte_range = Some(range);
        r.status = Some(Status::new(code, comment));
        Some(r)
    }

    /// Writes the frame in wire form. CR and LF inside names and values are written as
    /// spaces, so that no value can inject a header or an end-line.
    pub fn encode(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(b"MSRP ");
        put(out, &self.tid);
        out.push(b' ');
        match &self.start {
            StartLine::Request(m) => put(out, m.as_str()),
            StartLine::Response { code, comment } => {
                put(out, &format!("{code:03}"));
                if let Some(c) = comment {
                    out.push(b' ');
                    put(out, c);
                }
            }
        }
        out.extend_from_slice(b"\r\n");
        put_header(out, "To-Path", &format_path(&self.to_path));
        put_header(out, "From-Path", &format_path(&self.from_path));
        if let Some(v) = &self.message_id {
            put_header(out, "Message-ID", v);
        }
        if let Some(v) = self.success_report {
            put_header(out, "Success-Report", if v { "yes" } else { "no" });
        }
        if let Some(v) = self.failure_report {
            put_header(out, "Failure-Report", v.as_str());
        }
        if let Some(v) = &self.byte_range {
            put_header(out, "Byte-Range", &v.to_string());
        }
        if let Some(v) = &self.status {
            put_header(out, "Status", &v.to_string());
        }
        for h in &self.headers {
            put_header(out, &h.name, &h.value);
        }
        if let Some(v) = &self.content_type {
            put_header(out, "Content-Type", v);
        }
        if let Some(body) = &self.body {
            out.extend_from_slice(b"\r\n");
            out.extend_from_slice(body);
            out.extend_from_slice(b"\r\n");
        }
        out.extend_from_slice(b"-------");
        put(out, &self.tid);
        out.push(self.flag.as_byte());
        out.extend_from_slice(b"\r\n");
    }

    /// The frame in wire form, in a new buffer.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(256 + self.body().len());
        self.encode(&mut out);
        out
    }
}

fn put(out: &mut Vec<u8>, s: &str) {
    out.extend(
        s.bytes()
            .map(|b| if b == b'\r' || b == b'\n' { b' ' } else { b }),
    );
}

fn put_header(out: &mut Vec<u8>, name: &str, value: &str) {
    put(out, name);
    out.extend_from_slice(b": ");
    put(out, value);
    out.extend_from_slice(b"\r\n");
}

/// Parses a start line after `MSRP `: `tid METHOD` or `tid code [comment]`.
/// `Err(true)` when only the transaction id is bad.
pub(super) fn parse_start_line(line: &[u8]) -> Result<(String, StartLine), bool> {
    let line = core::str::from_utf8(line).map_err(|_| false)?;
    let rest = line.strip_prefix("MSRP ").ok_or(false)?;
    let (tid, rest) = rest.split_once(' ').ok_or(false)?;
    if !is_ident(tid) {
        return Err(true);
    }
    let (word, comment) = match rest.split_once(' ') {
        Some((w, c)) => (w, Some(c)),
        None => (rest, None),
    };
    let start = if word.len() == 3 && word.bytes().all(|b| b.is_ascii_digit()) {
        let code = word.parse().map_err(|_| false)?;
        if comment.is_some_and(|c| c.chars().any(|c| c.is_control() && c != '\t')) {
            return Err(false);
        }
        StartLine::Response {
            code,
            comment: comment.map(str::to_string),
        }
    } else if comment.is_none() {
        StartLine::Request(Method::parse(word).ok_or(false)?)
    } else {
        return Err(false);
    };
    Ok((tid.to_string(), start))
}

/// Builds a frame from its parsed start line and its header lines, each with its 1-based
/// line number. `end_line` is the number of the line that ends the header section, for
/// missing headers. Errors carry the line number.
pub(super) fn from_head<'a>(
    tid: String,
    start: StartLine,
    lines: impl Iterator<Item = (usize, &'a [u8])>,
    end_line: usize,
) -> Result<Frame, (usize, HeaderError)> {
    let mut f = Frame::request(Method::Send, tid, Vec::new(), Vec::new());
    f.start = start;
    let (mut to_seen, mut from_seen) = (false, false);
    for (n, line) in lines {
        let (name, value) = split_header(line).map_err(|e| (n, e))?;
        let dup = |present: bool, h: &'static str| {
            if present {
                Err((n, HeaderError::Duplicate(h)))
            } else {
                Ok(())
            }
        };
        let at = |e: HeaderError| (n, e);
        match name {
            _ if name.eq_ignore_ascii_case("To-Path") => {
                dup(to_seen, "To-Path")?;
                to_seen = true;
                f.to_path = parse_path(value).map_err(|e| at(HeaderError::Uri("To-Path", e)))?;
            }
            _ if name.eq_ignore_ascii_case("From-Path") => {
                dup(from_seen, "From-Path")?;
                from_seen = true;
                f.from_path =
                    parse_path(value).map_err(|e| at(HeaderError::Uri("From-Path", e)))?;
            }
            _ if name.eq_ignore_ascii_case("Message-ID") => {
                dup(f.message_id.is_some(), "Message-ID")?;
                if !is_ident(value) {
                    return Err(at(HeaderError::MessageId));
                }
                f.message_id = Some(value.to_string());
            }
            _ if name.eq_ignore_ascii_case("Success-Report") => {
                dup(f.success_report.is_some(), "Success-Report")?;
                f.success_report = Some(parse_success_report(value).map_err(at)?);
            }
            _ if name.eq_ignore_ascii_case("Failure-Report") => {
                dup(f.failure_report.is_some(), "Failure-Report")?;
                f.failure_report = Some(FailureReport::parse(value).map_err(at)?);
            }
            _ if name.eq_ignore_ascii_case("Byte-Range") => {
                dup(f.byte_range.is_some(), "Byte-Range")?;
                f.byte_range = Some(ByteRange::parse(value).map_err(at)?);
            }
            _ if name.eq_ignore_ascii_case("Status") => {
                dup(f.status.is_some(), "Status")?;
                f.status = Some(Status::parse(value).map_err(at)?);
            }
            _ if name.eq_ignore_ascii_case("Content-Type") => {
                dup(f.content_type.is_some(), "Content-Type")?;
                f.content_type = Some(value.to_string());
            }
            _ => f.headers.push(Header {
                name: name.to_string(),
                value: value.to_string(),
            }),
        }
    }
    if !to_seen {
        return Err((end_line, HeaderError::Missing("To-Path")));
    }
    if !from_seen {
        return Err((end_line, HeaderError::Missing("From-Path")));
    }
    Ok(f)
}

/// Splits `name: value`: the name an ALPHA then token characters, the value UTF-8 text
/// without control characters other than HTAB.
fn split_header(line: &[u8]) -> Result<(&str, &str), HeaderError> {
    let colon = line
        .iter()
        .position(|&b| b == b':')
        .ok_or(HeaderError::Syntax)?;
    let (name, value) = line.split_at(colon);
    let name_ok = name.first().is_some_and(u8::is_ascii_alphabetic)
        && name.iter().all(|&b| super::uri::is_token_char(b));
    if !name_ok {
        return Err(HeaderError::Syntax);
    }
    let value = value.get(1..).unwrap_or_default();
    let value = core::str::from_utf8(value).map_err(|_| HeaderError::NotText)?;
    if value.chars().any(|c| c.is_control() && c != '\t') {
        return Err(HeaderError::NotText);
    }
    let name = core::str::from_utf8(name).map_err(|_| HeaderError::Syntax)?;
    Ok((name, value.trim_matches([' ', '\t'])))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn uri(s: &str) -> Uri {
        Uri::parse(s).expect("valid")
    }

    fn send() -> Frame {
        let mut f = Frame::request(
            Method::Send,
            "a786hjs2".into(),
            vec![
                uri("msrp://relay.example:1;tcp"),
                uri("msrp://bob.example:2/b;tcp"),
            ],
            vec![uri("msrp://alice.example:3/a;tcp")],
        );
        f.message_id = Some("87652491".into());
        f.byte_range = Some(ByteRange::parse("1-5/10").expect("valid"));
        f.content_type = Some("text/plain".into());
        f.body = Some(b"hello".to_vec());
        f.flag = Flag::More;
        f
    }

    #[test]
    fn encodes_in_section_9_order() {
        let mut f = send();
        f.headers.push(Header {
            name: "X-Evil".into(),
            value: "a\r\n-------a786hjs2$".into(),
        });
        let wire = String::from_utf8(f.to_bytes()).expect("text");
        assert_eq!(
            wire,
            "MSRP a786hjs2 SEND\r\n\
             To-Path: msrp://relay.example:1;tcp msrp://bob.example:2/b;tcp\r\n\
             From-Path: msrp://alice.example:3/a;tcp\r\n\
             Message-ID: 87652491\r\n\
             Byte-Range: 1-5/10\r\n\
             X-Evil: a  -------a786hjs2$\r\n\
             Content-Type: text/plain\r\n\
             \r\n\
             hello\r\n\
             -------a786hjs2+\r\n"
        );
    }

    #[test]
    fn responses_follow_section_7_2() {
        let f = send();
        let r = f.response(200, Some("OK")).expect("due");
        assert_eq!(r.tid, f.tid);
        assert_eq!(r.code(), Some(200));
        assert_eq!(r.to_path, vec![uri("msrp://alice.example:3/a;tcp")]);
        assert_eq!(r.from_path, vec![uri("msrp://relay.example:1;tcp")]);
        assert_eq!(r.body, None);
        let mut partial = f.clone();
        partial.failure_report = Some(FailureReport::Partial);
        assert!(partial.response(200, Some("OK")).is_none());
        assert!(partial.response(413, None).is_some());
        let mut no = f.clone();
        no.failure_report = Some(FailureReport::No);
        assert!(no.response(400, None).is_none());
        assert!(r.response(200, None).is_none(), "never answer a response");
    }

    #[test]
    fn reports_follow_section_7_1() {
        let mut rng = Rng::from_seed(1);
        let mut f = send();
        assert!(f.report(&mut rng, 200, Some("OK"), None).is_none());
        let fail = f
            .report(&mut rng, 413, None, None)
            .expect("failure reports by default");
        assert_eq!(fail.method(), Some(&Method::Report));
        assert_eq!(fail.to_path, f.from_path);
        assert_eq!(fail.from_path, vec![uri("msrp://relay.example:1;tcp")]);
        assert_eq!(fail.status, Some(Status::new(413, None)));
        assert_eq!(
            fail.byte_range.map(|r| r.to_string()).as_deref(),
            Some("1-5/10")
        );
        f.success_report = Some(true);
        let ok = f
            .report(&mut rng, 200, Some("OK"), Some(ByteRange::whole(10)))
            .expect("asked for");
        assert_eq!(ok.byte_range, Some(ByteRange::whole(10)));
        assert!(is_ident(&ok.tid));
        assert_eq!(
            ok.status.map(|s| s.to_string()).as_deref(),
            Some("000 200 OK")
        );
    }

    #[test]
    fn tids_avoid_the_content() {
        assert!(!tid_is_safe("abcd", b"x\r\n-------abcd$\r\n"));
        assert!(!tid_is_safe("abcd", b"-------abcdefgh"));
        assert!(tid_is_safe("abcd", b"------abcd"));
        let mut rng = Rng::from_seed(3);
        let t = new_tid(&mut rng, b"anything");
        assert!(is_ident(&t));
    }

    #[test]
    fn start_lines() {
        let ok = |s: &[u8]| parse_start_line(s).expect("valid");
        assert_eq!(ok(b"MSRP abcd SEND").1, StartLine::Request(Method::Send));
        assert_eq!(
            ok(b"MSRP abcd FOO").1,
            StartLine::Request(Method::Other("FOO".into()))
        );
        assert_eq!(
            ok(b"MSRP abcd 200 OK").1,
            StartLine::Response {
                code: 200,
                comment: Some("OK".into())
            }
        );
        assert_eq!(parse_start_line(b"MSRP ab SEND"), Err(true));
        assert_eq!(parse_start_line(b"MSRP abcd send"), Err(false));
        assert_eq!(parse_start_line(b"MSRP abcd SEND x"), Err(false));
        assert_eq!(parse_start_line(b"SIP/2.0 200 OK"), Err(false));
    }
}
