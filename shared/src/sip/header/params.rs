//! Header parameters (RFC 3261 §25.1 `generic-param`, SEMI and EQUAL with their optional
//! whitespace): a lenient reader for typed headers and a strict checker for validation.

use super::super::split_unquoted;

/// `true` for characters of a `gen-value` written without quotes: token characters plus those
/// of a host (`:` and the brackets of an IPv6 reference).
pub(crate) fn is_gen_value_char(b: u8) -> bool {
    super::super::is_token_char(b) || b == b':' || b == b'[' || b == b']'
}

/// Reads `name[=value]` parameters separated by `;` (the text after the first `;`), keeping
/// order, trimming whitespace around names, `=` and values, and unquoting quoted values.
/// Empty parameters are skipped.
pub(crate) fn parse(s: &str) -> Vec<(String, Option<String>)> {
    super::super::parse_params(s)
}

/// What the strict checker found wrong.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ParamFault {
    /// `;;` or a trailing `;` with nothing after it.
    Empty,
    /// A name that is not a token, or a value that is neither token, host nor quoted string.
    Syntax,
}

/// Checks `*( SEMI generic-param )` strictly: `s` starts at the first `;` (or is empty).
/// Returns the parameters as (name, raw value) pairs for range checks by the caller.
pub(crate) fn check(s: &str) -> Result<Vec<(&str, Option<&str>)>, ParamFault> {
    let s = s.trim();
    if s.is_empty() {
        return Ok(Vec::new());
    }
    let rest = s.strip_prefix(';').ok_or(ParamFault::Syntax)?;
    let mut out = Vec::new();
    for part in split_unquoted(rest, b';') {
        let part = part.trim();
        if part.is_empty() {
            return Err(ParamFault::Empty);
        }
        let (name, value) = match part.split_once('=') {
            Some((k, v)) => (k.trim_end(), Some(v.trim_start())),
            None => (part, None),
        };
        if !super::super::is_token(name) {
            return Err(ParamFault::Syntax);
        }
        if let Some(v) = value {
            let ok = if v.starts_with('"') {
                is_quoted_string(v)
            } else {
                !v.is_empty() && v.bytes().all(is_gen_value_char)
            };
            if !ok {
                return Err(ParamFault::Syntax);
            }
        }
        out.push((name, value));
    }
    Ok(out)
}

/// `true` when `s` is exactly one quoted-string (RFC 3261 §25.1): `"` ... `"` with `\`
/// escaping any character but CR and LF, and no bare `"` inside.
pub(crate) fn is_quoted_string(s: &str) -> bool {
    let Some(inner) = s.strip_prefix('"') else {
        return false;
    };
    let mut escaped = false;
    for (i, c) in inner.char_indices() {
        if escaped {
            if c == '\r' || c == '\n' {
                return false;
            }
            escaped = false;
        } else if c == '\\' {
            escaped = true;
        } else if c == '"' {
            return i + 1 == inner.len();
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strict_params() {
        assert_eq!(
            check(" ; tag = 19 ;q=0.5;lr;x=\"a;b\""),
            Ok(vec![
                ("tag", Some("19")),
                ("q", Some("0.5")),
                ("lr", None),
                ("x", Some("\"a;b\""))
            ])
        );
        assert_eq!(check(";;"), Err(ParamFault::Empty));
        assert_eq!(check(";a;"), Err(ParamFault::Empty));
        assert_eq!(check(";a=b@c"), Err(ParamFault::Syntax));
        assert_eq!(check(";a=\"b"), Err(ParamFault::Syntax));
        assert_eq!(
            check(";received=[2001:db8::1]"),
            Ok(vec![("received", Some("[2001:db8::1]"))])
        );
        assert!(is_quoted_string(r#""J Rosenberg \\\"""#));
        assert!(!is_quoted_string(r#""a" b""#));
    }
}
