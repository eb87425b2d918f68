//! Typed views of the headers the skeleton needs (RFC 3261 §20): Via, CSeq and the
//! name-addr form of From, To, Contact, Route and Record-Route.

use super::uri::{split_hostport, Uri, UriError};
use super::{parse_params, quote, split_unquoted, unquote};
use core::fmt;

/// One Via header value (RFC 3261 §20.42).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Via {
    /// `UDP`, `TCP`, `TLS`, `WS`, `WSS`, ... in upper case.
    pub transport: String,
    /// The sent-by host.
    pub host: String,
    /// The sent-by port.
    pub port: Option<u16>,
    /// Parameters in order (`branch`, `received`, `rport`, ...).
    pub params: Vec<(String, Option<String>)>,
}

/// Why a typed header could not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum HeaderError {
    /// The header is missing.
    Missing(&'static str),
    /// The header is present but malformed.
    Malformed(&'static str),
    /// A URI inside the header is malformed.
    Uri(UriError),
}

impl fmt::Display for HeaderError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            HeaderError::Missing(h) => write!(f, "missing {h} header"),
            HeaderError::Malformed(h) => write!(f, "malformed {h} header"),
            HeaderError::Uri(e) => write!(f, "malformed URI: {e}"),
        }
    }
}

impl std::error::Error for HeaderError {}

impl Via {
    /// Parses `SIP/2.0/UDP host:port;params`.
    pub fn parse(s: &str) -> Result<Via, HeaderError> {
        let bad = HeaderError::Malformed("Via");
        let s = s.trim();
        let mut proto = s.splitn(3, '/');
        let (Some(name), Some(version), Some(rest)) = (proto.next(), proto.next(), proto.next())
        else {
            return Err(bad);
        };
        if !name.trim().eq_ignore_ascii_case("SIP") || version.trim() != "2.0" {
            return Err(bad);
        }
        let rest = rest.trim_start();
        let split = rest.find([' ', '\t']).ok_or(bad.clone())?;
        let transport = rest[..split].to_ascii_uppercase();
        let rest = rest[split..].trim_start();
        let (sent_by, params) = match rest.find(';') {
            Some(i) => (&rest[..i], parse_params(&rest[i + 1..])),
            None => (rest, Vec::new()),
        };
        let (host, port) = split_hostport(sent_by.trim()).map_err(|_| bad)?;
        Ok(Via {
            transport,
            host,
            port,
            params,
        })
    }

    /// The value of parameter `name`; `Some(None)` for a flag such as `rport`.
    pub fn param(&self, name: &str) -> Option<Option<&str>> {
        self.params
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_deref())
    }

    /// The branch parameter.
    pub fn branch(&self) -> Option<&str> {
        self.param("branch").flatten()
    }

    /// Adds or replaces a parameter.
    pub fn set_param(&mut self, name: &str, value: Option<&str>) {
        match self
            .params
            .iter_mut()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
        {
            Some(p) => p.1 = value.map(str::to_string),
            None => self
                .params
                .push((name.to_string(), value.map(str::to_string))),
        }
    }
}

impl fmt::Display for Via {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SIP/2.0/{} {}", self.transport, self.host)?;
        if let Some(p) = self.port {
            write!(f, ":{p}")?;
        }
        write_params(f, &self.params)
    }
}

fn write_params(f: &mut fmt::Formatter<'_>, params: &[(String, Option<String>)]) -> fmt::Result {
    for (k, v) in params {
        match v {
            Some(v) if v.bytes().all(|b| b.is_ascii_graphic() && b != b'"') => {
                write!(f, ";{k}={v}")?
            }
            Some(v) => write!(f, ";{k}={}", quote(v))?,
            None => write!(f, ";{k}")?,
        }
    }
    Ok(())
}

/// The CSeq header (RFC 3261 §20.16).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CSeq {
    /// The sequence number.
    pub seq: u32,
    /// The method.
    pub method: String,
}

impl CSeq {
    /// Parses `314159 INVITE`.
    pub fn parse(s: &str) -> Result<CSeq, HeaderError> {
        let bad = HeaderError::Malformed("CSeq");
        let mut it = s.split_whitespace();
        let (Some(n), Some(m), None) = (it.next(), it.next(), it.next()) else {
            return Err(bad);
        };
        Ok(CSeq {
            seq: n.parse().map_err(|_| bad)?,
            method: m.to_string(),
        })
    }
}

impl fmt::Display for CSeq {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.seq, self.method)
    }
}

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

    /// Parses `"Name" <uri>;params`, `Name <uri>;params` or `uri;params`.
    pub fn parse(s: &str) -> Result<NameAddr, HeaderError> {
        let s = s.trim();
        if let Some(lt) = find_unquoted(s, '<') {
            let display = s[..lt].trim();
            let after = &s[lt + 1..];
            let gt = after.find('>').ok_or(HeaderError::Malformed("name-addr"))?;
            let uri = Uri::parse(&after[..gt]).map_err(HeaderError::Uri)?;
            let rest = after[gt + 1..].trim();
            let params = match rest.strip_prefix(';') {
                Some(p) => parse_params(p),
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
            let mut parts = split_unquoted(s, ';').into_iter();
            let uri = Uri::parse(parts.next().unwrap_or_default()).map_err(HeaderError::Uri)?;
            let rest: Vec<&str> = parts.collect();
            Ok(NameAddr {
                display_name: None,
                uri,
                params: parse_params(&rest.join(";")),
            })
        }
    }

    /// The value of header parameter `name`.
    pub fn param(&self, name: &str) -> Option<Option<&str>> {
        self.params
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_deref())
    }

    /// The `tag` parameter (From/To).
    pub fn tag(&self) -> Option<&str> {
        self.param("tag").flatten()
    }

    /// Adds or replaces a header parameter.
    pub fn set_param(&mut self, name: &str, value: Option<&str>) {
        self.params.retain(|(k, _)| !k.eq_ignore_ascii_case(name));
        self.params
            .push((name.to_string(), value.map(str::to_string)));
    }
}

fn find_unquoted(s: &str, needle: char) -> Option<usize> {
    let (mut in_quotes, mut escaped) = (false, false);
    for (i, c) in s.char_indices() {
        if escaped {
            escaped = false;
        } else if c == '\\' && in_quotes {
            escaped = true;
        } else if c == '"' {
            in_quotes = !in_quotes;
        } else if c == needle && !in_quotes {
            return Some(i);
        }
    }
    None
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn via_parse_and_display() {
        let v =
            Via::parse("SIP/2.0/ws df7jal23ls0d.invalid;branch=z9hG4bKasudf;rport").expect("valid");
        assert_eq!(v.transport, "WS");
        assert_eq!(v.host, "df7jal23ls0d.invalid");
        assert_eq!(v.branch(), Some("z9hG4bKasudf"));
        assert_eq!(v.param("rport"), Some(None));
        let v = Via::parse("SIP / 2.0 / UDP [2001:db8::9]:5062;branch=z9hG4bK1").expect("ok");
        assert_eq!(v.transport, "UDP");
        assert_eq!(v.port, Some(5062));
        assert_eq!(
            v.to_string(),
            "SIP/2.0/UDP [2001:db8::9]:5062;branch=z9hG4bK1"
        );
        assert!(Via::parse("SIP/2.0/UDP").is_err());
    }

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
        assert_eq!(n.param("expires"), Some(Some("60")));
        assert_eq!(NameAddr::parse(&n.to_string()).expect("round trip"), n);
        assert!(NameAddr::parse("<sip:a@b").is_err());
    }

    #[test]
    fn cseq() {
        assert_eq!(
            CSeq::parse("12  REGISTER").expect("valid"),
            CSeq {
                seq: 12,
                method: "REGISTER".into()
            }
        );
        assert!(CSeq::parse("x INVITE").is_err());
        assert!(CSeq::parse("1").is_err());
    }
}
