//! SIP messages (RFC 3261 §7, §20, §25): parsing, typed header access and serialising.
//!
//! The walking skeleton parses whole messages (a WebSocket frame or a UDP datagram, RFC 3261
//! §18.3) into an owned [`Message`] whose untouched headers re-serialise byte for byte.

pub mod header;
pub mod message;
pub mod uri;

pub use header::{CSeq, NameAddr, Via};
pub use message::{Header, Message, ParseError, StartLine};
pub use uri::Uri;

/// Splits a header value holding a comma-separated list (RFC 3261 §7.3.1), ignoring commas
/// inside quoted strings and inside `<...>`.
pub fn split_list(value: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let (mut in_quotes, mut in_angle, mut escaped) = (false, false, false);
    let mut start = 0;
    for (i, c) in value.char_indices() {
        if escaped {
            escaped = false;
            continue;
        }
        match c {
            '\\' if in_quotes => escaped = true,
            '"' => in_quotes = !in_quotes,
            '<' if !in_quotes => in_angle = true,
            '>' if !in_quotes => in_angle = false,
            ',' if !in_quotes && !in_angle => {
                out.push(value[start..i].trim());
                start = i + 1;
            }
            _ => {}
        }
    }
    let last = value[start..].trim();
    if !last.is_empty() || out.is_empty() {
        out.push(last);
    }
    out.retain(|v| !v.is_empty());
    out
}

/// Parses `;name=value;flag` parameters (RFC 3261 §25.1 generic-param), keeping order.
/// Quoted values keep their quotes stripped; names are kept as written.
pub fn parse_params(s: &str) -> Vec<(String, Option<String>)> {
    let mut out = Vec::new();
    for part in split_unquoted(s, ';') {
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
pub(crate) fn split_unquoted(s: &str, sep: char) -> Vec<&str> {
    let mut out = Vec::new();
    let (mut in_quotes, mut escaped, mut start) = (false, false, 0);
    for (i, c) in s.char_indices() {
        if escaped {
            escaped = false;
            continue;
        }
        if c == '\\' && in_quotes {
            escaped = true;
        } else if c == '"' {
            in_quotes = !in_quotes;
        } else if c == sep && !in_quotes {
            out.push(&s[start..i]);
            start = i + c.len_utf8();
        }
    }
    out.push(&s[start..]);
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
