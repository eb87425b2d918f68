//! MSRP URIs (RFC 4975 §6, §9) and their comparison rules (§6.1), with the `ws` transport
//! of MSRP over WebSocket (RFC 7977 §4).
//!
//! `msrp://[userinfo@]host[:port][/session-id];transport[;name[=value]]*`

use core::fmt;
use core::hash::{Hash, Hasher};
use core::net::IpAddr;

/// `msrp` or `msrps` (MSRP over TLS, or over secure WebSocket in RFC 7977).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Scheme {
    /// `msrp:`
    Msrp,
    /// `msrps:`
    Msrps,
}

impl Scheme {
    /// The scheme as written in a URI, in lower case.
    pub fn as_str(self) -> &'static str {
        match self {
            Scheme::Msrp => "msrp",
            Scheme::Msrps => "msrps",
        }
    }
}

/// An MSRP URI.
///
/// Equality follows RFC 4975 §6.1, not the field values: the scheme, host and transport
/// compare case-insensitively (IP addresses by value, `%`-escapes of unreserved characters
/// decoded), the port and the session-id exactly (a missing port or session-id never
/// equals a present one), and the userinfo and other parameters are ignored. [`Hash`] agrees
/// with that equality, so URIs can key maps of sessions.
#[derive(Debug, Clone)]
pub struct Uri {
    /// `msrp` or `msrps`.
    pub scheme: Scheme,
    /// The userinfo before `@`, as written (relays use it, RFC 4976).
    pub user: Option<String>,
    /// Host name, IPv4 address, or IPv6 reference with its brackets.
    pub host: String,
    /// The explicit port, if any.
    pub port: Option<u16>,
    /// The session-id after `/`, case-sensitive; relay URIs have none.
    pub session_id: Option<String>,
    /// `tcp`, `ws` (RFC 7977), or another transport, as written.
    pub transport: String,
    /// `;name[=value]` parameters after the transport, in order.
    pub params: Vec<(String, Option<String>)>,
}

/// Why an MSRP URI was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum UriError {
    /// The URI does not start with `msrp://` or `msrps://`.
    Scheme,
    /// The userinfo holds a character it cannot have.
    User,
    /// The host is empty or holds a character a host cannot have.
    Host,
    /// The port is not a number from 0 to 65535.
    Port,
    /// The session-id is empty or holds a character it cannot have.
    SessionId,
    /// The `;transport` part is missing or is not alphanumeric.
    Transport,
    /// A parameter after the transport is not `token[=token]`.
    Param,
}

impl fmt::Display for UriError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            UriError::Scheme => "MSRP URI does not start with msrp:// or msrps://",
            UriError::User => "invalid userinfo in MSRP URI",
            UriError::Host => "empty or invalid host in MSRP URI",
            UriError::Port => "MSRP URI port is not a number from 0 to 65535",
            UriError::SessionId => "empty or invalid session-id in MSRP URI",
            UriError::Transport => "MSRP URI lacks a valid ;transport",
            UriError::Param => "invalid parameter in MSRP URI",
        })
    }
}

impl std::error::Error for UriError {}

fn is_unreserved(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"-._~".contains(&b)
}

fn is_sub_delim(b: u8) -> bool {
    b"!$&'()*+,;=".contains(&b)
}

/// RFC 3261 token characters, which RFC 4975 uses for URI parameters.
pub(crate) fn is_token_char(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"-.!%*_+`'~".contains(&b)
}

impl Uri {
    /// A URI with no userinfo and no parameters beyond the transport.
    pub fn new(
        scheme: Scheme,
        host: &str,
        port: Option<u16>,
        session_id: Option<&str>,
        transport: &str,
    ) -> Uri {
        Uri {
            scheme,
            user: None,
            host: host.to_string(),
            port,
            session_id: session_id.map(str::to_string),
            transport: transport.to_string(),
            params: Vec::new(),
        }
    }

    /// Parses one URI as it appears in To-Path, From-Path or an SDP `a=path` line.
    pub fn parse(s: &str) -> Result<Uri, UriError> {
        let (scheme, rest) = s.split_once("://").ok_or(UriError::Scheme)?;
        let scheme = if scheme.eq_ignore_ascii_case("msrp") {
            Scheme::Msrp
        } else if scheme.eq_ignore_ascii_case("msrps") {
            Scheme::Msrps
        } else {
            return Err(UriError::Scheme);
        };
        // The userinfo may hold ';' (a sub-delim), so it ends at the last '@' of the
        // authority, which itself ends at the first '/' (the session-id may hold '@' only
        // after that '/').
        let authority_end = rest.find('/').unwrap_or(rest.len());
        let (user, after_user) = match rest[..authority_end].rfind('@') {
            Some(i) => (Some(&rest[..i]), &rest[i + 1..]),
            None => (None, rest),
        };
        if let Some(u) = user {
            let ok = u
                .bytes()
                .all(|b| is_unreserved(b) || is_sub_delim(b) || b == b':' || b == b'%');
            if !ok {
                return Err(UriError::User);
            }
        }
        let hostport_end = after_user.find(['/', ';']).unwrap_or(after_user.len());
        let (host, port) = split_hostport(&after_user[..hostport_end])?;
        let mut rest = &after_user[hostport_end..];
        let session_id = match rest.strip_prefix('/') {
            Some(r) => {
                let end = r.find(';').unwrap_or(r.len());
                let sid = &r[..end];
                let ok =
                    !sid.is_empty() && sid.bytes().all(|b| is_unreserved(b) || b"+=/".contains(&b));
                if !ok {
                    return Err(UriError::SessionId);
                }
                rest = &r[end..];
                Some(sid.to_string())
            }
            None => None,
        };
        let mut parts = rest
            .strip_prefix(';')
            .ok_or(UriError::Transport)?
            .split(';');
        let transport = parts.next().unwrap_or_default();
        if transport.is_empty() || !transport.bytes().all(|b| b.is_ascii_alphanumeric()) {
            return Err(UriError::Transport);
        }
        let mut params = Vec::new();
        for p in parts {
            let (k, v) = match p.split_once('=') {
                Some((k, v)) => (k, Some(v)),
                None => (p, None),
            };
            let token = |t: &str| !t.is_empty() && t.bytes().all(is_token_char);
            if !token(k) || v.is_some_and(|v| !token(v)) {
                return Err(UriError::Param);
            }
            params.push((k.to_string(), v.map(str::to_string)));
        }
        Ok(Uri {
            scheme,
            user: user.map(str::to_string),
            host,
            port,
            session_id,
            transport: transport.to_string(),
            params,
        })
    }

    /// `true` for `msrps:` URIs: TLS, or secure WebSocket with the `ws` transport.
    pub fn is_secure(&self) -> bool {
        self.scheme == Scheme::Msrps
    }

    /// `true` for the `ws` transport of MSRP over WebSocket (RFC 7977 §4).
    pub fn is_websocket(&self) -> bool {
        self.transport.eq_ignore_ascii_case("ws")
    }

    /// The value of parameter `name` (case-insensitive); `Some(None)` for a flag.
    pub fn param(&self, name: &str) -> Option<Option<&str>> {
        self.params
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_deref())
    }

    /// The host as §6.1 compares it: an IP address by value, a name in lower case with
    /// `%`-escapes of unreserved characters decoded.
    fn host_key(&self) -> HostKey {
        let bare = self
            .host
            .strip_prefix('[')
            .and_then(|h| h.strip_suffix(']'))
            .unwrap_or(&self.host);
        if let Ok(ip) = bare.parse::<IpAddr>() {
            return HostKey::Ip(ip);
        }
        let bytes = self.host.as_bytes();
        let mut out = Vec::with_capacity(bytes.len());
        let mut i = 0;
        while i < bytes.len() {
            let decoded = match (bytes.get(i), bytes.get(i + 1), bytes.get(i + 2)) {
                (Some(b'%'), Some(&h), Some(&l)) => hex(h)
                    .zip(hex(l))
                    .map(|(h, l)| (h << 4) | l)
                    .filter(|&c| is_unreserved(c)),
                _ => None,
            };
            match decoded {
                Some(c) => {
                    out.push(c.to_ascii_lowercase());
                    i += 3;
                }
                None => {
                    out.push(
                        bytes
                            .get(i)
                            .copied()
                            .unwrap_or_default()
                            .to_ascii_lowercase(),
                    );
                    i += 1;
                }
            }
        }
        HostKey::Name(out)
    }
}

fn hex(b: u8) -> Option<u8> {
    char::from(b)
        .to_digit(16)
        .and_then(|d| u8::try_from(d).ok())
}

#[derive(PartialEq, Eq, Hash)]
enum HostKey {
    Ip(IpAddr),
    Name(Vec<u8>),
}

/// Splits `host[:port]`, with IPv6 references in brackets.
fn split_hostport(s: &str) -> Result<(String, Option<u16>), UriError> {
    let (host, port) = if let Some(rest) = s.strip_prefix('[') {
        let end = rest.find(']').ok_or(UriError::Host)?;
        let inner = &rest[..end];
        if inner.is_empty()
            || !inner
                .bytes()
                .all(|b| b.is_ascii_hexdigit() || b == b':' || b == b'.')
        {
            return Err(UriError::Host);
        }
        let after = &rest[end + 1..];
        let port = match after.strip_prefix(':') {
            Some(p) => Some(p),
            None if after.is_empty() => None,
            None => return Err(UriError::Host),
        };
        (&s[..end + 2], port)
    } else {
        let (h, p) = match s.split_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (s, None),
        };
        let ok = !h.is_empty()
            && h.bytes()
                .all(|b| is_unreserved(b) || b == b'%' || is_sub_delim(b));
        if !ok {
            return Err(UriError::Host);
        }
        (h, p)
    };
    let port = match port {
        Some(p) if !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()) => {
            Some(p.parse::<u16>().map_err(|_| UriError::Port)?)
        }
        Some(_) => return Err(UriError::Port),
        None => None,
    };
    Ok((host.to_string(), port))
}

impl PartialEq for Uri {
    fn eq(&self, other: &Uri) -> bool {
        self.scheme == other.scheme
            && self.port == other.port
            && self.session_id == other.session_id
            && self.transport.eq_ignore_ascii_case(&other.transport)
            && self.host_key() == other.host_key()
    }
}

impl Eq for Uri {}

impl Hash for Uri {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.scheme.hash(state);
        self.host_key().hash(state);
        self.port.hash(state);
        self.session_id.hash(state);
        self.transport.to_ascii_lowercase().hash(state);
    }
}

impl fmt::Display for Uri {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}://", self.scheme.as_str())?;
        if let Some(u) = &self.user {
            write!(f, "{u}@")?;
        }
        f.write_str(&self.host)?;
        if let Some(p) = self.port {
            write!(f, ":{p}")?;
        }
        if let Some(s) = &self.session_id {
            write!(f, "/{s}")?;
        }
        write!(f, ";{}", self.transport)?;
        for (k, v) in &self.params {
            match v {
                Some(v) => write!(f, ";{k}={v}")?,
                None => write!(f, ";{k}")?,
            }
        }
        Ok(())
    }
}

impl core::str::FromStr for Uri {
    type Err = UriError;
    fn from_str(s: &str) -> Result<Uri, UriError> {
        Uri::parse(s)
    }
}

/// Parses a To-Path or From-Path value: one or more URIs separated by spaces (§9).
pub fn parse_path(s: &str) -> Result<Vec<Uri>, UriError> {
    let uris = s
        .split([' ', '\t'])
        .filter(|u| !u.is_empty())
        .map(Uri::parse)
        .collect::<Result<Vec<_>, _>>()?;
    if uris.is_empty() {
        return Err(UriError::Scheme);
    }
    Ok(uris)
}

/// Writes a path as the To-Path and From-Path headers carry it: URIs separated by one space.
pub fn format_path(path: &[Uri]) -> String {
    let mut out = String::new();
    for (i, u) in path.iter().enumerate() {
        if i > 0 {
            out.push(' ');
        }
        out.push_str(&u.to_string());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_rfc_examples_and_round_trips() {
        let s = "msrp://biloxi.example.com:12763/kjhd37s2s20w2a;tcp";
        let u = Uri::parse(s).expect("valid");
        assert_eq!(u.scheme, Scheme::Msrp);
        assert_eq!(u.host, "biloxi.example.com");
        assert_eq!(u.port, Some(12763));
        assert_eq!(u.session_id.as_deref(), Some("kjhd37s2s20w2a"));
        assert_eq!(u.transport, "tcp");
        assert_eq!(u.to_string(), s);
        let relay = Uri::parse("msrps://alice@intra.example.com;tcp").expect("valid");
        assert_eq!(relay.user.as_deref(), Some("alice"));
        assert_eq!(relay.session_id, None);
        assert_eq!(relay.to_string(), "msrps://alice@intra.example.com;tcp");
    }

    #[test]
    fn websocket_and_ipv6() {
        let u = Uri::parse("msrps://[2001:db8::1]:443/a/b+c=;ws;foo=bar;x").expect("valid");
        assert!(u.is_secure() && u.is_websocket());
        assert_eq!(u.host, "[2001:db8::1]");
        assert_eq!(u.session_id.as_deref(), Some("a/b+c="));
        assert_eq!(u.param("FOO"), Some(Some("bar")));
        assert_eq!(u.param("x"), Some(None));
        assert_eq!(
            u.to_string(),
            "msrps://[2001:db8::1]:443/a/b+c=;ws;foo=bar;x"
        );
        assert_eq!(
            u,
            Uri::parse("MSRPS://[2001:DB8:0::1]:443/a/b+c=;WS").expect("valid")
        );
    }

    #[test]
    fn comparison_follows_section_6_1() {
        let p = |s: &str| Uri::parse(s).expect("valid");
        let a = p("msrp://Alice@Host.Example.COM:7777/abc;tcp;x=1");
        assert_eq!(a, p("MSRP://host.example.com:7777/abc;TCP"));
        assert_eq!(a, p("msrp://h%6Fst.example.com:7777/abc;tcp"));
        assert_ne!(a, p("msrp://host.example.com:7777/ABC;tcp"));
        assert_ne!(a, p("msrp://host.example.com/abc;tcp"));
        assert_ne!(a, p("msrp://host.example.com:7777;tcp"));
        assert_ne!(a, p("msrps://host.example.com:7777/abc;tcp"));
        assert_ne!(a, p("msrp://host.example.com:7777/abc;ws"));
        assert_eq!(p("msrp://10.0.0.1:1/s;tcp"), p("msrp://10.0.0.1:1/s;tcp"));
    }

    #[test]
    fn refuses_garbage() {
        assert_eq!(Uri::parse("sip:alice@example.com"), Err(UriError::Scheme));
        assert_eq!(Uri::parse("msrp://:12/s;tcp"), Err(UriError::Host));
        assert_eq!(Uri::parse("msrp://h:99999/s;tcp"), Err(UriError::Port));
        assert_eq!(Uri::parse("msrp://h:/s;tcp"), Err(UriError::Port));
        assert_eq!(Uri::parse("msrp://h/s"), Err(UriError::Transport));
        assert_eq!(Uri::parse("msrp://h/;tcp"), Err(UriError::SessionId));
        assert_eq!(Uri::parse("msrp://h/s s;tcp"), Err(UriError::SessionId));
        assert_eq!(Uri::parse("msrp://h/s;t-cp"), Err(UriError::Transport));
        assert_eq!(Uri::parse("msrp://h/s;tcp;a=b=c"), Err(UriError::Param));
        assert_eq!(Uri::parse("msrp://[::1/s;tcp"), Err(UriError::Host));
        assert_eq!(Uri::parse("msrp://a b@h/s;tcp"), Err(UriError::User));
    }

    #[test]
    fn paths() {
        let p = parse_path("msrp://a.example/1;tcp  msrps://b.example:9/2;tcp").expect("valid");
        assert_eq!(p.len(), 2);
        assert_eq!(
            format_path(&p),
            "msrp://a.example/1;tcp msrps://b.example:9/2;tcp"
        );
        assert!(parse_path("   ").is_err());
    }
}
