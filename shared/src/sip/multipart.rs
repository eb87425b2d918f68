//! Multipart bodies (RFC 2046 §5.1, RFC 5621 for SIP): splits a `multipart/*` body by its
//! boundary into parts, each with its own header fields and body, borrowed from the message.

use super::header::{ContentType, HeaderError};
use super::message::Message;
use super::raw::{same_header, unfold};
use core::fmt;
use std::borrow::Cow;

/// The most parts [`split`] returns before refusing the body.
pub const MAX_PARTS: usize = 64;

/// One body part.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Part<'a> {
    /// The part's header fields as (name, value) in order, values without surrounding
    /// whitespace and possibly folded.
    pub headers: Vec<(&'a str, &'a str)>,
    /// The part's content, without the line break that precedes the next delimiter.
    pub body: &'a [u8],
}

impl<'a> Part<'a> {
    /// The first value of header `name` (case-insensitive, compact forms understood), unfolded.
    pub fn header(&self, name: &str) -> Option<Cow<'a, str>> {
        self.headers
            .iter()
            .find(|(n, _)| same_header(n, name))
            .map(|(_, v)| unfold(v))
    }

    /// The part's Content-Type; RFC 2046 §5.1 defaults it to `text/plain` when absent.
    pub fn content_type(&self) -> Result<ContentType, HeaderError> {
        match self.header("Content-Type") {
            Some(v) => ContentType::parse(&v),
            None => ContentType::parse("text/plain"),
        }
    }
}

/// Why a multipart body could not be split.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum MultipartError {
    /// The message has no Content-Type, or it is not `multipart/*`.
    NotMultipart,
    /// The Content-Type has no `boundary`, or it is empty or longer than 70 characters.
    BadBoundary,
    /// The first delimiter line is missing.
    NoDelimiter,
    /// The closing delimiter (`--boundary--`) is missing.
    NoCloseDelimiter,
    /// A part's header section is malformed (0-based part index).
    BadPartHeader {
        /// Which part.
        part: usize,
    },
    /// More than [`MAX_PARTS`] parts.
    TooManyParts,
}

impl fmt::Display for MultipartError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            MultipartError::NotMultipart => f.write_str("body is not multipart"),
            MultipartError::BadBoundary => f.write_str("missing or invalid boundary"),
            MultipartError::NoDelimiter => f.write_str("no delimiter line"),
            MultipartError::NoCloseDelimiter => f.write_str("no closing delimiter"),
            MultipartError::BadPartHeader { part } => {
                write!(f, "malformed header section in part {part}")
            }
            MultipartError::TooManyParts => write!(f, "more than {MAX_PARTS} parts"),
        }
    }
}

impl std::error::Error for MultipartError {}

/// Splits the body of `msg`, whose Content-Type must be `multipart/*` with a boundary.
pub fn parts(msg: &Message) -> Result<Vec<Part<'_>>, MultipartError> {
    let ct = msg
        .content_type()
        .ok()
        .flatten()
        .filter(|c| c.media_type.eq_ignore_ascii_case("multipart"))
        .ok_or(MultipartError::NotMultipart)?;
    let boundary = ct.boundary().ok_or(MultipartError::BadBoundary)?;
    split(&msg.body, boundary)
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    if needle.is_empty() || haystack.len() < needle.len() {
        return None;
    }
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// Splits `body` by `boundary` (RFC 2046 §5.1.1): the preamble before the first delimiter and
/// the epilogue after the closing one are dropped; the CRLF before each delimiter belongs to
/// the delimiter.
pub fn split<'a>(body: &'a [u8], boundary: &str) -> Result<Vec<Part<'a>>, MultipartError> {
    if boundary.is_empty() || boundary.len() > 70 {
        return Err(MultipartError::BadBoundary);
    }
    let dash = format!("--{boundary}");
    let delim = format!("\r\n--{boundary}");
    // The first delimiter may open the body without a line break before it.
    let mut pos = if body.starts_with(dash.as_bytes()) {
        dash.len()
    } else {
        find(body, delim.as_bytes()).ok_or(MultipartError::NoDelimiter)? + delim.len()
    };
    let mut out = Vec::new();
    loop {
        let rest = body.get(pos..).ok_or(MultipartError::NoCloseDelimiter)?;
        if rest.starts_with(b"--") {
            return Ok(out);
        }
        // Transport padding, then the line break ending the delimiter line.
        let lf = rest
            .iter()
            .position(|b| *b == b'\n')
            .ok_or(MultipartError::NoCloseDelimiter)?;
        let padding = rest.get(..lf).unwrap_or_default();
        if !padding.iter().all(|b| matches!(b, b' ' | b'\t' | b'\r')) {
            return Err(MultipartError::NoDelimiter);
        }
        let start = pos + lf + 1;
        let content = body.get(start..).unwrap_or_default();
        let end = find(content, delim.as_bytes()).ok_or(MultipartError::NoCloseDelimiter)?;
        if out.len() == MAX_PARTS {
            return Err(MultipartError::TooManyParts);
        }
        let part = content.get(..end).unwrap_or_default();
        out.push(parse_part(part).ok_or(MultipartError::BadPartHeader { part: out.len() })?);
        pos = start + end + delim.len();
    }
}

/// A part: header fields up to an empty line, then the content (RFC 2046 §5.1.1 `body-part`).
fn parse_part(part: &[u8]) -> Option<Part<'_>> {
    if let Some(body) = part.strip_prefix(b"\r\n") {
        return Some(Part {
            headers: Vec::new(),
            body,
        });
    }
    let end = find(part, b"\r\n\r\n")?;
    let head = core::str::from_utf8(part.get(..end)?).ok()?;
    let body = part.get(end + 4..)?;
    // (name, value start, value end) in `head`, so folded values stay one slice.
    let mut spans: Vec<(&str, usize, usize)> = Vec::new();
    let mut offset = 0;
    for line in head.split("\r\n") {
        let line_start = offset;
        offset += line.len() + 2;
        if line.starts_with([' ', '\t']) {
            let last = spans.last_mut()?;
            let content = line.trim_start();
            if content.trim_end().is_empty() {
                continue;
            }
            if last.1 == last.2 {
                last.1 = line_start + (line.len() - content.len());
            }
            last.2 = line_start + line.trim_end().len();
            continue;
        }
        let colon = line.find(':')?;
        let name = line[..colon].trim_end();
        if !super::is_token(name) {
            return None;
        }
        let raw = &line[colon + 1..];
        let value = raw.trim_start();
        let value_start = line_start + colon + 1 + (raw.len() - value.len());
        spans.push((name, value_start, value_start + value.trim_end().len()));
    }
    let headers = spans
        .into_iter()
        .map(|(n, s, e)| (n, head.get(s..e).unwrap_or_default()))
        .collect();
    Some(Part { headers, body })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_parts_with_and_without_headers() {
        let body = b"preamble\r\n--xyz\r\nContent-Type: text/plain\r\n\r\nHello\r\n--xyz  \r\n\r\nno headers\r\n--xyz--\r\nepilogue";
        let parts = split(body, "xyz").expect("valid");
        assert_eq!(parts.len(), 2);
        assert_eq!(parts[0].headers, vec![("Content-Type", "text/plain")]);
        assert_eq!(parts[0].body, b"Hello");
        assert!(parts[1].headers.is_empty());
        assert_eq!(parts[1].body, b"no headers");
        assert_eq!(
            parts[1].content_type().map(|c| c.subtype),
            Ok("plain".into())
        );
    }

    #[test]
    fn refuses_broken_bodies() {
        assert_eq!(
            split(b"--a\r\n\r\nx", "a"),
            Err(MultipartError::NoCloseDelimiter)
        );
        assert_eq!(split(b"nothing", "a"), Err(MultipartError::NoDelimiter));
        assert_eq!(split(b"--a--", ""), Err(MultipartError::BadBoundary));
        assert_eq!(
            split(b"--a\r\nno colon\r\n\r\nx\r\n--a--", "a"),
            Err(MultipartError::BadPartHeader { part: 0 })
        );
    }
}
