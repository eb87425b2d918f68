//! Typed MSRP header values (RFC 4975 §9): Byte-Range, Status, Success-Report and
//! Failure-Report, and the `ident` rule that transaction ids and Message-IDs follow.

use super::uri::UriError;
use core::fmt;

/// Why a header of a frame was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum HeaderError {
    /// The line is not `name: value` with a token name.
    Syntax,
    /// The value is not UTF-8 text without control characters (§9 `utf8text`).
    NotText,
    /// A header that may appear once appears again.
    Duplicate(&'static str),
    /// A mandatory header is absent (To-Path and From-Path, §7.1).
    Missing(&'static str),
    /// A URI of To-Path or From-Path is malformed.
    Uri(&'static str, UriError),
    /// Byte-Range is not `start-end/total` with `1 <= start`, `start - 1 <= end <= total`.
    ByteRange,
    /// Status is not `namespace code [comment]` with three-digit numbers.
    Status,
    /// Success-Report is not `yes`/`no`, or Failure-Report not `yes`/`no`/`partial`.
    Report(&'static str),
    /// Message-ID is not an `ident` (§9).
    MessageId,
    /// A response carries a body, which §9 does not allow.
    ResponseBody,
}

impl fmt::Display for HeaderError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            HeaderError::Syntax => f.write_str("not a `name: value` header line"),
            HeaderError::NotText => f.write_str("header value is not UTF-8 text"),
            HeaderError::Duplicate(h) => write!(f, "{h} appears twice"),
            HeaderError::Missing(h) => write!(f, "missing {h}"),
            HeaderError::Uri(h, e) => write!(f, "{h}: {e}"),
            HeaderError::ByteRange => f.write_str("malformed Byte-Range"),
            HeaderError::Status => f.write_str("malformed Status"),
            HeaderError::Report(h) => write!(f, "malformed {h}"),
            HeaderError::MessageId => f.write_str("malformed Message-ID"),
            HeaderError::ResponseBody => f.write_str("a response carries a body"),
        }
    }
}

impl std::error::Error for HeaderError {}

/// `true` when `s` is an RFC 4975 `ident`: an alphanumeric character then 3 to 31 of
/// alphanumerics and `.-+%=`. Transaction ids and Message-IDs are idents.
pub fn is_ident(s: &str) -> bool {
    let b = s.as_bytes();
    (4..=32).contains(&b.len())
        && b.first().is_some_and(u8::is_ascii_alphanumeric)
        && b.iter()
            .all(|c| c.is_ascii_alphanumeric() || b".-+%=".contains(c))
}

/// Parses `1*DIGIT` into a u64, refusing signs, spaces and overflow.
fn digits(s: &str) -> Option<u64> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

/// The Byte-Range header (§7.1.1, §9): which bytes of the whole message a chunk carries.
///
/// Positions are 1-based and inclusive, as on the wire: the first chunk of a 100-byte
/// message carrying 25 bytes is `1-25/100`. `None` stands for `*` (unknown).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ByteRange {
    /// Position of the first byte of the chunk, at least 1.
    pub start: u64,
    /// Position of the last byte, or `*` when the sender may interrupt the chunk.
    pub end: Option<u64>,
    /// Size of the whole message, or `*` when not yet known.
    pub total: Option<u64>,
}

impl ByteRange {
    /// A range, checked as [`ByteRange::is_valid`] does.
    pub fn new(start: u64, end: Option<u64>, total: Option<u64>) -> Result<ByteRange, HeaderError> {
        let r = ByteRange { start, end, total };
        if r.is_valid() {
            Ok(r)
        } else {
            Err(HeaderError::ByteRange)
        }
    }

    /// The range of a whole message of `len` bytes sent in one chunk: `1-len/len`.
    pub fn whole(len: u64) -> ByteRange {
        ByteRange {
            start: 1,
            end: Some(len),
            total: Some(len),
        }
    }

    /// Parses `start-end/total`, where `end` and `total` may be `*`.
    pub fn parse(s: &str) -> Result<ByteRange, HeaderError> {
        let bad = HeaderError::ByteRange;
        let (start, rest) = s.trim().split_once('-').ok_or(bad.clone())?;
        let (end, total) = rest.split_once('/').ok_or(bad.clone())?;
        let star = |v: &str| -> Result<Option<u64>, HeaderError> {
            if v == "*" {
                Ok(None)
            } else {
                digits(v).map(Some).ok_or(HeaderError::ByteRange)
            }
        };
        let start = digits(start).ok_or(bad)?;
        ByteRange::new(start, star(end)?, star(total)?)
    }

    /// `true` when `1 <= start`, `start - 1 <= end` (an empty chunk has `end = start - 1`),
    /// `end <= total` and `start - 1 <= total`.
    pub fn is_valid(&self) -> bool {
        let Some(before) = self.start.checked_sub(1) else {
            return false;
        };
        self.end.is_none_or(|e| before <= e)
            && self.total.is_none_or(|t| before <= t)
            && match (self.end, self.total) {
                (Some(e), Some(t)) => e <= t,
                _ => true,
            }
    }
}

impl fmt::Display for ByteRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-", self.start)?;
        match self.end {
            Some(e) => write!(f, "{e}/")?,
            None => f.write_str("*/")?,
        }
        match self.total {
            Some(t) => write!(f, "{t}"),
            None => f.write_str("*"),
        }
    }
}

/// The Status header of a REPORT (§7.1.2, §9): `000 200 OK`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Status {
    /// The namespace; `000` for the codes of RFC 4975.
    pub namespace: u16,
    /// The status code, as in responses (§10).
    pub code: u16,
    /// The optional text after the code.
    pub comment: Option<String>,
}

impl Status {
    /// A status in namespace `000`.
    pub fn new(code: u16, comment: Option<&str>) -> Status {
        Status {
            namespace: 0,
            code,
            comment: comment.map(str::to_string),
        }
    }

    /// Parses `namespace SP code [SP comment]`.
    pub fn parse(s: &str) -> Result<Status, HeaderError> {
        let bad = HeaderError::Status;
        let three = |v: &str| -> Option<u16> {
            (v.len() == 3 && v.bytes().all(|b| b.is_ascii_digit()))
                .then(|| v.parse().ok())
                .flatten()
        };
        let s = s.trim();
        let (ns, rest) = s.split_once(' ').ok_or(bad.clone())?;
        let (code, comment) = match rest.split_once(' ') {
            Some((c, t)) => (c, Some(t.trim())),
            None => (rest, None),
        };
        Ok(Status {
            namespace: three(ns).ok_or(bad.clone())?,
            code: three(code).ok_or(bad)?,
            comment: comment.filter(|t| !t.is_empty()).map(str::to_string),
        })
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:03} {:03}", self.namespace, self.code)?;
        if let Some(c) = &self.comment {
            write!(f, " {c}")?;
        }
        Ok(())
    }
}

/// The Failure-Report header (§7.1.1): which failures the sender wants to hear about.
/// Absent means `yes`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FailureReport {
    /// Responses and failure REPORTs.
    Yes,
    /// Neither responses nor REPORTs.
    No,
    /// Negative responses and failure REPORTs only.
    Partial,
}

impl FailureReport {
    /// Parses `yes`, `no` or `partial` (case-insensitive).
    pub fn parse(s: &str) -> Result<FailureReport, HeaderError> {
        let s = s.trim();
        if s.eq_ignore_ascii_case("yes") {
            Ok(FailureReport::Yes)
        } else if s.eq_ignore_ascii_case("no") {
            Ok(FailureReport::No)
        } else if s.eq_ignore_ascii_case("partial") {
            Ok(FailureReport::Partial)
        } else {
            Err(HeaderError::Report("Failure-Report"))
        }
    }

    /// The value as written.
    pub fn as_str(self) -> &'static str {
        match self {
            FailureReport::Yes => "yes",
            FailureReport::No => "no",
            FailureReport::Partial => "partial",
        }
    }
}

/// Parses a Success-Report value (§7.1.1): `yes` or `no`. Absent means `no`.
pub fn parse_success_report(s: &str) -> Result<bool, HeaderError> {
    let s = s.trim();
    if s.eq_ignore_ascii_case("yes") {
        Ok(true)
    } else if s.eq_ignore_ascii_case("no") {
        Ok(false)
    } else {
        Err(HeaderError::Report("Success-Report"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn byte_ranges() {
        let r = ByteRange::parse("1-25/100").expect("valid");
        assert_eq!((r.start, r.end, r.total), (1, Some(25), Some(100)));
        assert_eq!(r.to_string(), "1-25/100");
        let r = ByteRange::parse("5-*/*").expect("valid");
        assert_eq!((r.start, r.end, r.total), (5, None, None));
        assert_eq!(r.to_string(), "5-*/*");
        assert_eq!(ByteRange::parse("1-0/0"), Ok(ByteRange::whole(0)));
        for bad in [
            "0-1/1",
            "2-0/5",
            "1-6/5",
            "7-*/5",
            "1-2",
            "-1-2/3",
            "+1-2/3",
            "1- 2/3",
            "1-2/3/4",
            "1-99999999999999999999/*",
            "a-b/c",
            "",
        ] {
            assert_eq!(ByteRange::parse(bad), Err(HeaderError::ByteRange), "{bad}");
        }
    }

    #[test]
    fn status_and_reports() {
        let s = Status::parse("000 200 OK").expect("valid");
        assert_eq!(s, Status::new(200, Some("OK")));
        assert_eq!(s.to_string(), "000 200 OK");
        assert_eq!(Status::parse("000 413").expect("valid").comment, None);
        assert!(Status::parse("0 200 OK").is_err());
        assert!(Status::parse("000 2000").is_err());
        assert_eq!(FailureReport::parse("Partial"), Ok(FailureReport::Partial));
        assert!(FailureReport::parse("maybe").is_err());
        assert_eq!(parse_success_report("yes"), Ok(true));
        assert!(parse_success_report("").is_err());
    }

    #[test]
    fn idents() {
        for ok in ["a786hjs2", "dkei38sd", "4564dpWd", "a1.-+%=", "abcd"] {
            assert!(is_ident(ok), "{ok}");
        }
        for bad in ["abc", ".abc", "ab cd", "", &"a".repeat(33)] {
            assert!(!is_ident(bad), "{bad}");
        }
    }
}
