//! SIP messages (RFC 3261 §7, §19, §20, §25): parsing, typed header access, validation and
//! serialising.
//!
//! Two layers, as httparse and hyper do for HTTP:
//! - [`MessageRef::parse`] is the fast, borrowed head parser: it frames one message (a WebSocket
//!   frame, RFC 7118 §5, or a UDP datagram, RFC 3261 §18.3), checks the start line and the
//!   header-field syntax strictly and lends out `&str` names and values. [`Message::parse`]
//!   turns it into the owned [`Message`], whose untouched headers re-serialise as written.
//! - Typed headers are parsed on demand ([`Via`], [`NameAddr`], [`CSeq`], [`ContentType`], ...
//!   and the accessors on [`Message`]), and [`Message::validate`] applies the rules of RFC 3261
//!   §8.1.1, §8.2 and §20 that a proxy or UA checks before acting ([`Message::parse_strict`]
//!   does both).

pub mod header;
pub mod message;
pub mod multipart;
pub mod raw;
pub mod uri;
pub mod validate;

pub use header::{
    CSeq, ContentType, Event, HeaderError, NameAddr, Reason, SipDate, SubscriptionState, Via,
};
pub use message::{Header, Message, ParseError, StartLine, StartLineError};
pub use raw::{HeaderRef, MessageRef, StartLineRef, Status};
pub use uri::{pct_decode, Uri, UriError};
pub use validate::{Problem, StrictError, ValidationError};

/// A 256-entry membership table: ASCII letters and digits plus `extra`.
pub(crate) const fn char_table(extra: &[u8]) -> [bool; 256] {
    let mut t = [false; 256];
    let mut c = 0;
    while c < 256 {
        let b = c as u8;
        t[c] = b.is_ascii_alphanumeric();
        c += 1;
    }
    let mut i = 0;
    while i < extra.len() {
        t[extra[i] as usize] = true;
        i += 1;
    }
    t
}

/// RFC 3261 §25.1 `token` characters.
static TOKEN: [bool; 256] = char_table(b"-.!%*_+`'~");

/// `true` for the characters of an RFC 3261 §25.1 `token`.
pub fn is_token_char(b: u8) -> bool {
    TOKEN[usize::from(b)]
}

/// `true` when `s` is a non-empty RFC 3261 §25.1 `token`.
pub fn is_token(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(is_token_char)
}

/// Appends the decimal form of `n` without going through `format!`.
pub(crate) fn push_decimal(out: &mut Vec<u8>, mut n: u64) {
    let mut buf = [0u8; 20];
    let mut i = buf.len();
    loop {
        i -= 1;
        if let Some(slot) = buf.get_mut(i) {
            *slot = b'0' + (n % 10) as u8;
        }
        n /= 10;
        if n == 0 || i == 0 {
            break;
        }
    }
    out.extend_from_slice(buf.get(i..).unwrap_or_default());
}

/// Splits on commas outside quoted strings and `<...>` (RFC 3261 §7.3.1), trimming each
/// element. Works on bytes: every delimiter is ASCII, so each cut is a character boundary.
fn split_commas(value: &str, keep_empty: bool) -> Vec<&str> {
    let mut out = Vec::new();
    let (mut in_quotes, mut in_angle, mut escaped) = (false, false, false);
    let mut start = 0;
    for (i, c) in value.bytes().enumerate() {
        if escaped {
            escaped = false;
            continue;
        }
        match c {
            b'\\' if in_quotes => escaped = true,
            b'"' => in_quotes = !in_quotes,
            b'<' if !in_quotes => in_angle = true,
            b'>' if !in_quotes => in_angle = false,
            b',' if !in_quotes && !in_angle => {
                let e = value.get(start..i).unwrap_or_default().trim();
                if keep_empty || !e.is_empty() {
                    out.push(e);
                }
                start = i + 1;
            }
            _ => {}
        }
    }
    let last = value.get(start..).unwrap_or_default().trim();
    if keep_empty || !last.is_empty() {
        out.push(last);
    }
    out
}

/// Splits a list header value on commas outside quotes and `<...>`, keeping empty elements
/// (which [`split_list`] drops) so that validation can refuse them.
pub(crate) fn split_list_raw(value: &str) -> Vec<&str> {
    split_commas(value, true)
}

/// Splits a header value holding a comma-separated list (RFC 3261 §7.3.1), ignoring commas
/// inside quoted strings and inside `<...>`.
pub fn split_list(value: &str) -> Vec<&str> {
    split_commas(value, false)
}

/// Parses `;name=value;flag` parameters (RFC 3261 §25.1 generic-param), keeping order.
/// Quoted values keep their quotes stripped; names are kept as written.
pub fn parse_params(s: &str) -> Vec<(String, Option<String>)> {
    let mut out = Vec::new();
    for part in split_unquoted(s, b';') {
        let part = part.trim();
        if part.is_empty() {
            continue;
        }
        match part.split_once('=') {
            Some((k, v)) => out.push((k.trim().to_string(), Some(unquote(v.trim())))),
            None => out.push((part.to_string(), None)),
        }
    }
    out
}

/// Splits on `sep` outside quoted strings.
pub(crate) fn split_unquoted(s: &str, sep: u8) -> Vec<&str> {
    let mut out = Vec::new();
    let (mut in_quotes, mut escaped, mut start) = (false, false, 0);
    for (i, c) in s.bytes().enumerate() {
        if escaped {
            escaped = false;
            continue;
        }
        if c == b'\\' && in_quotes {
            escaped = true;
        } else if c == b'"' {
            in_quotes = !in_quotes;
        } else if c == sep && !in_quotes {
            out.push(s.get(start..i).unwrap_or_default());
            start = i + 1;
        }
    }
    out.push(s.get(start..).unwrap_or_default());
    out
}

/// Removes surrounding quotes and `\` escapes of a quoted-string (RFC 3261 §25.1);
/// a value without quotes is returned as is.
pub fn unquote(s: &str) -> String {
    let s = s.trim();
    if s.len() >= 2 && s.starts_with('"') && s.ends_with('"') {
        let inner = &s[1..s.len() - 1];
        let mut out = String::with_capacity(inner.len());
        let mut escaped = false;
        for c in inner.chars() {
            if escaped {
                out.push(c);
                escaped = false;
            } else if c == '\\' {
                escaped = true;
            } else {
                out.push(c);
            }
        }
        out
    } else {
        s.to_string()
    }
}

/// Writes `s` as a quoted-string, escaping `"` and `\`.
pub fn quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        if c == '"' || c == '\\' {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_respect_quotes_and_brackets() {
        let v = r#""Doe, J" <sip:j@a;x=1,2>;q=0.5, <sip:b@c>"#;
        assert_eq!(
            split_list(v),
            vec![r#""Doe, J" <sip:j@a;x=1,2>;q=0.5"#, "<sip:b@c>"]
        );
        assert_eq!(split_list("a , b,c"), vec!["a", "b", "c"]);
    }

    #[test]
    fn params_and_quotes() {
        let p = parse_params(r#";branch=z9hG4bK1;rport;tag="a\"b""#);
        assert_eq!(p[0], ("branch".into(), Some("z9hG4bK1".into())));
        assert_eq!(p[1], ("rport".into(), None));
        assert_eq!(p[2], ("tag".into(), Some("a\"b".into())));
        assert_eq!(unquote(&quote(r#"x"y\z"#)), r#"x"y\z"#);
    }
}
