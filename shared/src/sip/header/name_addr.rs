//! The name-addr / addr-spec form of From, To, Contact, Route, Record-Route, Reply-To and Path
//! (RFC 3261 §20.10, §20.20, §20.39, §25.1; RFC 3327).

use super::super::uri::{self, Uri};
use super::super::validate::Problem;
use super::super::{quote, split_unquoted, unquote};
use super::params::{self, ParamFault};
use super::{find_param, find_unquoted, write_params, HeaderError};
use core::fmt;

/// A name-addr or addr-spec with header parameters: From, To, Contact, Route,
/// Record-Route (RFC 3261 §20.10, §25.1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NameAddr {
    /// The display name, unquoted.
    pub display_name: Option<String>,
    /// The URI.
    pub uri: Uri,
    /// Header parameters (`tag`, `expires`, `q`, ...), after the URI.
    pub params: Vec<(String, Option<String>)>,
}

impl NameAddr {
    /// A bare name-addr for `uri`.
    pub fn new(uri: Uri) -> NameAddr {
        NameAddr {
            display_name: None,
            uri,
            params: Vec::new(),
        }
    }

    /// Parses `"Name" <uri>;params`, `Name <uri>;params` or `uri;params`, leniently: see
    /// [`super::super::Message::validate`] for the strict rules.
    pub fn parse(s: &str) -> Result<NameAddr, HeaderError> {
        let s = s.trim();
        if let Some(lt) = find_unquoted(s, '<') {
            let display = s[..lt].trim();
            let after = &s[lt + 1..];
            let gt = after.find('>').ok_or(HeaderError::Malformed("name-addr"))?;
            let uri = Uri::parse(&after[..gt]).map_err(HeaderError::Uri)?;
            let rest = after[gt + 1..].trim();
            let params = match rest.strip_prefix(';') {
                Some(p) => params::parse(p),
                None if rest.is_empty() => Vec::new(),
                None => return Err(HeaderError::Malformed("name-addr")),
            };
            let display_name = if display.is_empty() {
                None
            } else {
                Some(unquote(display))
            };
            Ok(NameAddr {
                display_name,
                uri,
                params,
            })
        } else {
            // addr-spec: parameters after the URI belong to the header (RFC 3261 §20).
            let mut parts = split_unquoted(s, b';').into_iter();
            let uri = Uri::parse(parts.next().unwrap_or_default()).map_err(HeaderError::Uri)?;
            let rest: Vec<&str> = parts.collect();
            Ok(NameAddr {
                display_name: None,
                uri,
                params: params::parse(&rest.join(";")),
            })
        }
    }

    /// The value of header parameter `name`.
    pub fn param(&self, name: &str) -> Option<Option<&str>> {
        find_param(&self.params, name)
    }

    /// The `tag` parameter (From/To).
    pub fn tag(&self) -> Option<&str> {
        self.param("tag").flatten()
    }

    /// The `expires` parameter of a Contact (RFC 3261 §20.10); `None` when absent or not a
    /// number that fits 32 bits (RFC 3261 §10.3 step 7 then applies the default).
    pub fn expires(&self) -> Option<u32> {
        self.param("expires")
            .flatten()
            .and_then(|v| super::parse_delta_seconds(v).ok())
    }

    /// The `q` parameter of a Contact (RFC 3261 §20.10), in thousandths (`q=0.33` is 330).
    pub fn q(&self) -> Option<u16> {
        let v = self.param("q").flatten()?;
        let (int, frac) = v.split_once('.').unwrap_or((v, ""));
        if frac.len() > 3 || !frac.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        let frac_value = frac.bytes().chain(core::iter::repeat(b'0')).take(3);
        let frac_value = frac_value.fold(0u16, |n, b| n * 10 + u16::from(b - b'0'));
        match int {
            "0" => Some(frac_value),
            "1" if frac_value == 0 => Some(1000),
            _ => None,
        }
    }

    /// Adds or replaces a header parameter.
    pub fn set_param(&mut self, name: &str, value: Option<&str>) {
        self.params.retain(|(k, _)| !k.eq_ignore_ascii_case(name));
        self.params
            .push((name.to_string(), value.map(str::to_string)));
    }
}

impl fmt::Display for NameAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(d) = &self.display_name {
            write!(f, "{} ", quote(d))?;
        }
        write!(f, "<{}>", self.uri)?;
        write_params(f, &self.params)
    }
}

fn quotes_balanced(s: &str) -> bool {
    let (mut in_quotes, mut escaped) = (false, false);
    for c in s.chars() {
        if escaped {
            escaped = false;
        } else if c == '\\' && in_quotes {
            escaped = true;
        } else if c == '"' {
            in_quotes = !in_quotes;
        }
    }
    !in_quotes
}

pub(crate) fn param_problem(f: ParamFault) -> Problem {
    match f {
        ParamFault::Empty => Problem::EmptyParameter,
        ParamFault::Syntax => Problem::Syntax,
    }
}

/// Checks one name-addr or addr-spec with its parameters against RFC 3261 §20 and §25.1:
/// the display name is a quoted string or tokens (RFC 4475 §3.1.2.15 baddn), nothing but
/// the URI sits inside `<>` (§3.1.2.14 badaspec), quotes are balanced (§3.1.2.6 quotbal), an
/// addr-spec holds no `?` or `,` (§3.1.2.13 regbadct), and parameters are not empty
/// (§3.1.2.1 badinv01). Returns the parameters for range checks.
pub(crate) fn check_strict(value: &str) -> Result<Vec<(&str, Option<&str>)>, Problem> {
    let v = value.trim();
    if v.is_empty() {
        return Err(Problem::Syntax);
    }
    if !quotes_balanced(v) {
        return Err(Problem::UnterminatedQuote);
    }
    let rest = if let Some(lt) = find_unquoted(v, '<') {
        let display = v[..lt].trim();
        if !display.is_empty() {
            let ok = if display.starts_with('"') {
                params::is_quoted_string(display)
            } else {
                display
                    .split([' ', '\t'])
                    .filter(|w| !w.is_empty())
                    .all(super::super::is_token)
            };
            if !ok {
                return Err(Problem::DisplayName);
            }
        }
        let after = &v[lt + 1..];
        let gt = after.find('>').ok_or(Problem::Syntax)?;
        let inner = &after[..gt];
        if inner.contains([' ', '\t']) {
            return Err(Problem::SpaceInAngleBrackets);
        }
        uri::parts(inner).map_err(Problem::Uri)?;
        &after[gt + 1..]
    } else {
        let (uri, rest) = match v.find(';') {
            Some(i) => (v[..i].trim_end(), &v[i..]),
            None => (v, ""),
        };
        if uri.contains([' ', '\t', '"']) {
            return Err(Problem::Syntax);
        }
        if uri.contains(['?', ',']) {
            return Err(Problem::UnbracketedUri);
        }
        uri::parts(uri).map_err(Problem::Uri)?;
        rest
    };
    params::check(rest).map_err(param_problem)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn name_addr_forms() {
        let n = NameAddr::parse(r#""Alice \"A\"" <sip:alice@a.example;transport=ws>;tag=88"#)
            .expect("valid");
        assert_eq!(n.display_name.as_deref(), Some(r#"Alice "A""#));
        assert_eq!(n.uri.param("transport"), Some(Some("ws")));
        assert_eq!(n.tag(), Some("88"));
        let n = NameAddr::parse("sip:bob@b.example;tag=x;expires=60").expect("valid");
        assert_eq!(n.uri.params, vec![]);
        assert_eq!(n.tag(), Some("x"));
        assert_eq!(n.expires(), Some(60));
        assert_eq!(NameAddr::parse(&n.to_string()).expect("round trip"), n);
        assert!(NameAddr::parse("<sip:a@b").is_err());
    }

    #[test]
    fn q_values() {
        let q = |s: &str| {
            NameAddr::parse(&format!("<sip:a@b>;q={s}"))
                .expect("ok")
                .q()
        };
        assert_eq!(q("0.33"), Some(330));
        assert_eq!(q("1"), Some(1000));
        assert_eq!(q("1.0"), Some(1000));
        assert_eq!(q("0"), Some(0));
        assert_eq!(q("2"), None);
        assert_eq!(q("0.1234"), None);
    }

    #[test]
    fn strict_name_addr() {
        assert!(check_strict("caller<sip:caller@example.com>;tag=323").is_ok());
        assert!(check_strict("sip:a@b ;   tag    = 1918181833n").is_ok());
        assert_eq!(
            check_strict("Bell, Alexander <sip:a.g.bell@example.com>;tag=43"),
            Err(Problem::DisplayName)
        );
        assert_eq!(
            check_strict("\"Watson, Thomas\" < sip:t.watson@example.org >"),
            Err(Problem::SpaceInAngleBrackets)
        );
        assert_eq!(
            check_strict("\"Mr. J. User <sip:j.user@example.com>"),
            Err(Problem::UnterminatedQuote)
        );
        assert_eq!(
            check_strict("sip:user@example.com?Route=%3Csip:sip.example.com%3E"),
            Err(Problem::UnbracketedUri)
        );
        assert_eq!(
            check_strict("\"Joe\" <sip:joe@example.org>;;;;"),
            Err(Problem::EmptyParameter)
        );
    }
}
