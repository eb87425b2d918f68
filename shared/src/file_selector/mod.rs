//! The SDP attributes of file transfer (RFC 5547 §6): `file-selector` (§5, §6) with its
//! name, type, size and hash selectors, and `file-transfer-id`, `file-disposition`,
//! `file-date`, `file-icon` and `file-range` (§6, §8). Also the hash of §8.1 computed
//! incrementally ([`FileHasher`]) and a safe local name for a received file
//! ([`safe_file_name`]).
//!
//! Parsers take the attribute value, after `a=file-selector:` and the like, and `Display`
//! writes it back.
//!
//! ```
//! use sipsimple::file_selector::{FileHasher, FileSelector};
//! let sel = FileSelector::parse(
//!     "name:\"My cool picture.jpg\" type:image/jpeg size:32349 hash:sha-1:\
//!      72:24:5F:E8:65:3D:DA:F3:71:36:2F:86:D4:71:91:3E:E4:A2:CE:2E",
//! ).expect("the RFC 5547 example");
//! assert_eq!(sel.name.as_deref(), Some("My cool picture.jpg"));
//! assert_eq!(sel.size, Some(32349));
//! let mut h = FileHasher::sha1();
//! h.update(b"ab");
//! h.update(b"c");
//! assert!(h.finish().selector().starts_with("hash:sha-1:A9:99:3E:36"));
//! ```

mod attributes;
mod date;
mod hash;
mod safe_name;

pub use attributes::{parse_transfer_id, Disposition, FileDate, FileIcon, FileRange};
pub use date::{format_rfc5322, parse_rfc5322};
pub use hash::{FileHash, FileHasher, HashAlgorithm};
pub use safe_name::{safe_file_name, MAX_SAFE_NAME_LEN};

use core::fmt;

/// Longest attribute value accepted, in bytes.
pub const MAX_ATTRIBUTE_LEN: usize = 8 * 1024;
/// Longest digest accepted in a hash selector, in bytes.
pub const MAX_DIGEST_LEN: usize = 64;

/// The value of `a=file-selector` (RFC 5547 §5): the selectors that identify a file. All are
/// optional; absent ones select nothing.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct FileSelector {
    /// `name:"..."`, percent-decoded. Never use it as a path: see [`safe_file_name`].
    pub name: Option<String>,
    /// `type:image/jpeg;charset="utf-8"`.
    pub media_type: Option<MediaType>,
    /// `size:32349`, in octets.
    pub size: Option<u64>,
    /// `hash:sha-1:72:24:...`.
    pub hash: Option<FileHash>,
}

/// The type selector: a media type with its parameters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MediaType {
    /// The top-level type (`image`).
    pub main: String,
    /// The subtype (`jpeg`).
    pub sub: String,
    /// Parameters in order, values percent-decoded.
    pub params: Vec<(String, String)>,
}

/// Why a file-transfer attribute was refused. `column` is the 1-based byte position in the
/// attribute value.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum FileAttributeError {
    /// The value is longer than [`MAX_ATTRIBUTE_LEN`].
    TooLong,
    /// A selector or date parameter without `name:`, or not followed by a space.
    BadSyntax {
        /// The 1-based column.
        column: usize,
    },
    /// The same selector or date parameter appears twice.
    Duplicate {
        /// The 1-based column of the second one.
        column: usize,
    },
    /// A name selector that is not a non-empty quoted, percent-encoded UTF-8 string.
    BadName {
        /// The 1-based column.
        column: usize,
    },
    /// A type selector that is not `type/subtype;attr="value"`.
    BadType {
        /// The 1-based column.
        column: usize,
    },
    /// A size selector that is not a 64-bit number.
    BadSize {
        /// The 1-based column.
        column: usize,
    },
    /// A hash selector that is not `algorithm:XX:XX:...` with the algorithm's digest length.
    BadHash {
        /// The 1-based column.
        column: usize,
    },
    /// A file-transfer-id or file-disposition that is not a token.
    BadToken,
    /// A file-date that is not a list of `creation:`, `modification:` or `read:` dates in
    /// RFC 5322 form.
    BadDate {
        /// The 1-based column.
        column: usize,
    },
    /// A file-icon that is not a `cid:` URL.
    BadIcon,
    /// A file-range that is not `start-stop` with 1 ≤ start ≤ stop, or `start-*`.
    BadRange,
}

impl fmt::Display for FileAttributeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use FileAttributeError as E;
        match self {
            E::TooLong => write!(f, "attribute over {MAX_ATTRIBUTE_LEN} bytes"),
            E::BadSyntax { column } => write!(f, "malformed attribute at column {column}"),
            E::Duplicate { column } => write!(f, "repeated selector at column {column}"),
            E::BadName { column } => write!(f, "malformed name selector at column {column}"),
            E::BadType { column } => write!(f, "malformed type selector at column {column}"),
            E::BadSize { column } => write!(f, "malformed size selector at column {column}"),
            E::BadHash { column } => write!(f, "malformed hash selector at column {column}"),
            E::BadToken => f.write_str("value is not a token"),
            E::BadDate { column } => write!(f, "malformed file-date at column {column}"),
            E::BadIcon => f.write_str("file-icon is not a cid: URL"),
            E::BadRange => f.write_str("malformed file-range"),
        }
    }
}

impl std::error::Error for FileAttributeError {}

/// RFC 2045 §5.1 token characters (RFC 4566's token adds a few of the same kind).
pub(crate) fn is_token_char(b: u8) -> bool {
    b.is_ascii_graphic() && !b"()<>@,;:\\\"/[]?=".contains(&b)
}

fn is_token(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(is_token_char)
}

/// Decodes `%HH` escapes (RFC 5547 §6 percent-encoded); `None` for a bad escape or bytes
/// that are not UTF-8.
pub(crate) fn percent_decode(s: &str) -> Option<String> {
    if !s.contains('%') {
        return Some(s.to_string());
    }
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while let Some(&c) = b.get(i) {
        if c == b'%' {
            let hex = s.get(i + 1..i + 3)?;
            out.push(
                u8::from_str_radix(hex, 16)
                    .ok()
                    .filter(|_| hex.bytes().all(|h| h.is_ascii_hexdigit()))?,
            );
            i += 3;
        } else {
            out.push(c);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

/// Writes `s` with NUL, CR, LF, `"`, `%`, and the other controls percent-encoded, plus
/// any byte for which `extra` holds.
pub(crate) fn percent_encode(out: &mut String, s: &str, extra: impl Fn(char) -> bool) {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    for c in s.chars() {
        if c.is_ascii_control() || c == '"' || c == '%' || extra(c) {
            let mut buf = [0u8; 4];
            for b in c.encode_utf8(&mut buf).bytes() {
                out.push('%');
                out.push(char::from(HEX[usize::from(b >> 4)]));
                out.push(char::from(HEX[usize::from(b & 15)]));
            }
        } else {
            out.push(c);
        }
    }
}

/// The end of a value starting at `from`: the next SP or HTAB outside double quotes.
fn value_end(s: &str, from: usize) -> usize {
    let mut quoted = false;
    for (i, c) in s.get(from..).unwrap_or_default().char_indices() {
        match c {
            '"' => quoted = !quoted,
            ' ' | '\t' if !quoted => return from + i,
            _ => {}
        }
    }
    s.len()
}

impl FileSelector {
    /// Parses the value of `a=file-selector` (RFC 5547 §6). Selectors are separated by
    /// spaces and recognised without regard to case; unknown selectors are skipped.
    pub fn parse(value: &str) -> Result<FileSelector, FileAttributeError> {
        use FileAttributeError as E;
        if value.len() > MAX_ATTRIBUTE_LEN {
            return Err(E::TooLong);
        }
        let mut sel = FileSelector::default();
        let mut i = 0;
        loop {
            let rest = value.get(i..).unwrap_or_default();
            i += rest.len() - rest.trim_start_matches([' ', '\t']).len();
            if i >= value.len() {
                return Ok(sel);
            }
            let column = i + 1;
            let rest = value.get(i..).unwrap_or_default();
            let colon = rest.find(':').ok_or(E::BadSyntax { column })?;
            let key = &rest[..colon];
            let start = i + colon + 1;
            let end = value_end(value, start);
            let v = value.get(start..end).unwrap_or_default();
            i = end;
            if key.eq_ignore_ascii_case("name") {
                let inner = v
                    .strip_prefix('"')
                    .and_then(|v| v.strip_suffix('"'))
                    .filter(|n| !n.is_empty() && !n.contains('"'))
                    .ok_or(E::BadName { column })?;
                let name = percent_decode(inner).ok_or(E::BadName { column })?;
                set_once(&mut sel.name, name, column)?;
            } else if key.eq_ignore_ascii_case("type") {
                let t = MediaType::parse(v).ok_or(E::BadType { column })?;
                set_once(&mut sel.media_type, t, column)?;
            } else if key.eq_ignore_ascii_case("size") {
                let valid = !v.is_empty() && v.len() <= 20 && v.bytes().all(|b| b.is_ascii_digit());
                let size = valid.then(|| v.parse::<u64>().ok()).flatten();
                set_once(&mut sel.size, size.ok_or(E::BadSize { column })?, column)?;
            } else if key.eq_ignore_ascii_case("hash") {
                let h = FileHash::parse(v).ok_or(E::BadHash { column })?;
                set_once(&mut sel.hash, h, column)?;
            } else if !is_token(key) {
                return Err(E::BadSyntax { column });
            }
        }
    }

    /// Whether a local file with these properties is the one selected: every selector
    /// present must match (names compared exactly, types without parameters and ignoring
    /// case).
    pub fn matches(&self, name: &str, media_type: &str, size: u64, hash: &FileHash) -> bool {
        self.name.as_deref().is_none_or(|n| n == name)
            && self.size.is_none_or(|s| s == size)
            && self.hash.as_ref().is_none_or(|h| h == hash)
            && self.media_type.as_ref().is_none_or(|t| {
                media_type
                    .split(';')
                    .next()
                    .is_some_and(|e| e.trim().eq_ignore_ascii_case(&t.essence()))
            })
    }
}

fn set_once<T>(slot: &mut Option<T>, v: T, column: usize) -> Result<(), FileAttributeError> {
    if slot.is_some() {
        return Err(FileAttributeError::Duplicate { column });
    }
    *slot = Some(v);
    Ok(())
}

impl fmt::Display for FileSelector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut parts: Vec<String> = Vec::new();
        if let Some(n) = &self.name {
            let mut s = String::from("name:\"");
            percent_encode(&mut s, n, |_| false);
            s.push('"');
            parts.push(s);
        }
        if let Some(t) = &self.media_type {
            parts.push(format!("type:{t}"));
        }
        if let Some(size) = self.size {
            parts.push(format!("size:{size}"));
        }
        if let Some(h) = &self.hash {
            parts.push(h.selector());
        }
        f.write_str(&parts.join(" "))
    }
}

impl MediaType {
    /// A media type without parameters.
    pub fn new(main: &str, sub: &str) -> MediaType {
        MediaType {
            main: main.to_string(),
            sub: sub.to_string(),
            params: Vec::new(),
        }
    }

    /// `type/subtype` without parameters.
    pub fn essence(&self) -> String {
        format!("{}/{}", self.main, self.sub)
    }

    /// Parses `type "/" subtype *( ";" attribute "=" DQUOTE value-string DQUOTE )`; an
    /// unquoted token value is accepted too.
    pub fn parse(s: &str) -> Option<MediaType> {
        let mut parts = split_params(s)?.into_iter();
        let (main, sub) = parts.next()?.split_once('/')?;
        if !is_token(main) || !is_token(sub) {
            return None;
        }
        let mut params = Vec::new();
        for p in parts {
            let (k, v) = p.split_once('=')?;
            if !is_token(k) {
                return None;
            }
            let v = match v.strip_prefix('"') {
                Some(q) => percent_decode(q.strip_suffix('"').filter(|q| !q.contains('"'))?)?,
                None if is_token(v) => v.to_string(),
                None => return None,
            };
            params.push((k.to_string(), v));
        }
        Some(MediaType {
            main: main.to_string(),
            sub: sub.to_string(),
            params,
        })
    }
}

/// Splits on `;` outside double quotes; `None` for an unterminated quote.
fn split_params(s: &str) -> Option<Vec<&str>> {
    let (mut out, mut start, mut quoted) = (Vec::new(), 0, false);
    for (i, c) in s.char_indices() {
        match c {
            '"' => quoted = !quoted,
            ';' if !quoted => {
                out.push(&s[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    out.push(&s[start..]);
    (!quoted).then_some(out)
}

/// Writes a token, with characters that may not appear in one replaced by `_`.
pub(crate) fn write_token(f: &mut fmt::Formatter<'_>, s: &str) -> fmt::Result {
    if s.is_empty() {
        return f.write_str("_");
    }
    for c in s.chars() {
        let ok = u8::try_from(c).is_ok_and(is_token_char);
        fmt::Write::write_char(f, if ok { c } else { '_' })?;
    }
    Ok(())
}

impl fmt::Display for MediaType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_token(f, &self.main)?;
        f.write_str("/")?;
        write_token(f, &self.sub)?;
        for (k, v) in &self.params {
            f.write_str(";")?;
            write_token(f, k)?;
            let mut q = String::from("=\"");
            // Spaces are encoded too: the selector list is space-separated.
            percent_encode(&mut q, v, |c| c == ' ' || c == '\t' || c == ';');
            q.push('"');
            f.write_str(&q)?;
        }
        Ok(())
    }
}
