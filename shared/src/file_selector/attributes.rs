//! `file-transfer-id`, `file-disposition`, `file-date`, `file-icon` and `file-range`
//! (RFC 5547 §6, §8).

use super::date::{format_rfc5322, parse_rfc5322};
use super::{
    is_token, percent_decode, percent_encode, write_token, FileAttributeError, MAX_ATTRIBUTE_LEN,
};
use crate::cpim::DateTime;
use core::fmt;

/// Checks the value of `a=file-transfer-id` (a token, RFC 5547 §6) and returns it.
pub fn parse_transfer_id(value: &str) -> Result<&str, FileAttributeError> {
    if value.len() > MAX_ATTRIBUTE_LEN {
        return Err(FileAttributeError::TooLong);
    }
    if is_token(value) {
        Ok(value)
    } else {
        Err(FileAttributeError::BadToken)
    }
}

/// The value of `a=file-disposition` (RFC 5547 §6, values from RFC 2183). Without the
/// attribute the disposition is `render`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Disposition {
    /// Show the file to the user.
    #[default]
    Render,
    /// Store the file.
    Attachment,
    /// Another registered disposition, as written.
    Other(String),
}

impl Disposition {
    /// Parses the token, `render` and `attachment` without regard to case.
    pub fn parse(value: &str) -> Result<Disposition, FileAttributeError> {
        let v = parse_transfer_id(value)?;
        Ok(if v.eq_ignore_ascii_case("render") {
            Disposition::Render
        } else if v.eq_ignore_ascii_case("attachment") {
            Disposition::Attachment
        } else {
            Disposition::Other(v.to_string())
        })
    }
}

impl fmt::Display for Disposition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Disposition::Render => f.write_str("render"),
            Disposition::Attachment => f.write_str("attachment"),
            Disposition::Other(s) => write_token(f, s),
        }
    }
}

/// The value of `a=file-date` (RFC 5547 §6): `creation:"Mon, 15 May 2006 15:01:31 +0300"`,
/// with `modification:` and `read:` likewise. Fractions of a second are not carried.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct FileDate {
    /// When the file was created.
    pub creation: Option<DateTime>,
    /// When the file was last modified.
    pub modification: Option<DateTime>,
    /// When the file was last read.
    pub read: Option<DateTime>,
}

impl FileDate {
    /// Parses one or more space-separated date parameters; unknown ones are skipped.
    pub fn parse(value: &str) -> Result<FileDate, FileAttributeError> {
        use FileAttributeError as E;
        if value.len() > MAX_ATTRIBUTE_LEN {
            return Err(E::TooLong);
        }
        let mut out = FileDate::default();
        let mut found = false;
        let mut i = 0;
        loop {
            let rest = value.get(i..).unwrap_or_default();
            i += rest.len() - rest.trim_start_matches([' ', '\t']).len();
            let rest = value.get(i..).unwrap_or_default();
            if rest.is_empty() {
                break;
            }
            let column = i + 1;
            let bad = E::BadDate { column };
            let (key, after) = rest.split_once(':').ok_or(bad.clone())?;
            let inner = after.strip_prefix('"').ok_or(bad.clone())?;
            let close = inner.find('"').ok_or(bad.clone())?;
            let date = parse_rfc5322(&inner[..close]).map_err(|_| bad.clone())?;
            i += key.len() + 2 + close + 1;
            if !value.get(i..).unwrap_or_default().is_empty()
                && !value.get(i..).unwrap_or_default().starts_with([' ', '\t'])
            {
                return Err(E::BadSyntax { column: i + 1 });
            }
            let slot = if key.eq_ignore_ascii_case("creation") {
                &mut out.creation
            } else if key.eq_ignore_ascii_case("modification") {
                &mut out.modification
            } else if key.eq_ignore_ascii_case("read") {
                &mut out.read
            } else if is_token(key) {
                continue;
            } else {
                return Err(bad);
            };
            super::set_once(slot, date, column)?;
            found = true;
        }
        if found {
            Ok(out)
        } else {
            Err(E::BadDate { column: 1 })
        }
    }
}

impl fmt::Display for FileDate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut first = true;
        for (key, d) in [
            ("creation", &self.creation),
            ("modification", &self.modification),
            ("read", &self.read),
        ] {
            if let Some(d) = d {
                if !first {
                    f.write_str(" ")?;
                }
                first = false;
                write!(f, "{key}:\"{}\"", format_rfc5322(d))?;
            }
        }
        Ok(())
    }
}

/// The value of `a=file-icon` (RFC 5547 §6): a `cid:` URL (RFC 2392) naming the body part
/// that holds a preview of the file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileIcon {
    /// The Content-ID, percent-decoded and without angle brackets.
    pub content_id: String,
}

impl FileIcon {
    /// Parses `cid:id2@alicepc.example.com`.
    pub fn parse(value: &str) -> Result<FileIcon, FileAttributeError> {
        let rest = value
            .get(..4)
            .filter(|s| s.eq_ignore_ascii_case("cid:"))
            .and_then(|_| value.get(4..))
            .filter(|r| !r.is_empty() && r.bytes().all(|b| b.is_ascii_graphic()))
            .ok_or(FileAttributeError::BadIcon)?;
        let content_id = percent_decode(rest).ok_or(FileAttributeError::BadIcon)?;
        Ok(FileIcon { content_id })
    }

    /// Whether a body part's `Content-ID` header value (`<id2@alicepc.example.com>`) is the
    /// icon.
    pub fn matches_content_id(&self, header: &str) -> bool {
        let id = header.trim();
        let id = id
            .strip_prefix('<')
            .and_then(|i| i.strip_suffix('>'))
            .unwrap_or(id);
        id == self.content_id
    }
}

impl fmt::Display for FileIcon {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut s = String::from("cid:");
        percent_encode(&mut s, &self.content_id, |c| {
            !c.is_ascii_graphic() || "<>\\^`{|}".contains(c)
        });
        f.write_str(&s)
    }
}

/// The value of `a=file-range` (RFC 5547 §6, §8): the octets to transfer, 1-based and
/// inclusive; an unknown end is written `*`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FileRange {
    /// The first octet, from 1.
    pub start: u64,
    /// The last octet, `None` for `*` (up to the end of the file).
    pub stop: Option<u64>,
}

impl FileRange {
    /// Parses `1-32349` or `1-*`.
    pub fn parse(value: &str) -> Result<FileRange, FileAttributeError> {
        let number = |s: &str| -> Option<u64> {
            (!s.is_empty() && s.len() <= 20 && s.bytes().all(|b| b.is_ascii_digit()))
                .then(|| s.parse().ok())
                .flatten()
        };
        let (a, b) = value.split_once('-').ok_or(FileAttributeError::BadRange)?;
        let start = number(a)
            .filter(|s| *s >= 1)
            .ok_or(FileAttributeError::BadRange)?;
        let stop = match b {
            "*" => None,
            b => Some(
                number(b)
                    .filter(|s| *s >= start)
                    .ok_or(FileAttributeError::BadRange)?,
            ),
        };
        Ok(FileRange { start, stop })
    }

    /// The number of octets, when the end is known.
    pub fn len(&self) -> Option<u64> {
        self.stop
            .map(|s| s.saturating_sub(self.start).saturating_add(1))
    }

    /// Whether the range holds no octets (never, for a parsed range).
    pub fn is_empty(&self) -> bool {
        self.stop.is_some_and(|s| s < self.start)
    }
}

impl fmt::Display for FileRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.stop {
            Some(s) => write!(f, "{}-{s}", self.start),
            None => write!(f, "{}-*", self.start),
        }
    }
}
