//! SIP and SIPS URIs (RFC 3261 §19.1) with IPv6 references (RFC 5118), and tel URIs kept opaque.

use core::fmt;

/// A parsed URI. `sip:`/`sips:` URIs are split into parts; any other scheme (`tel:`, ...) keeps
/// its text in `host` with no other part set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Uri {
    /// `sip`, `sips`, `tel`, ... in lower case.
    pub scheme: String,
    /// The user part, still %-escaped as written.
    pub user: Option<String>,
    /// The password of `user:password@`, as written (deprecated but legal).
    pub password: Option<String>,
    /// Host name, IPv4 address or IPv6 reference with its brackets.
    pub host: String,
    /// The explicit port, if any.
    pub port: Option<u16>,
    /// `;name[=value]` URI parameters in order.
    pub params: Vec<(String, Option<String>)>,
    /// The `?headers` part without the `?`.
    pub headers: Option<String>,
}

/// Why a URI was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum UriError {
    /// No `scheme:` prefix.
    NoScheme,
    /// The host part is empty or holds characters a host cannot have.
    BadHost,
    /// The port is not a number from 0 to 65535.
    BadPort,
}

impl fmt::Display for UriError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            UriError::NoScheme => f.write_str("URI has no scheme"),
            UriError::BadHost => f.write_str("URI has an empty or invalid host"),
            UriError::BadPort => f.write_str("URI port is not a number from 0 to 65535"),
        }
    }
}

impl std::error::Error for UriError {}

impl Uri {
    /// Parses a URI as it appears in a Request-Line or inside `<...>`.
    pub fn parse(s: &str) -> Result<Uri, UriError> {
        let s = s.trim();
        let (scheme, rest) = s.split_once(':').ok_or(UriError::NoScheme)?;
        if scheme.is_empty()
            || !scheme
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"+-.".contains(&b))
        {
            return Err(UriError::NoScheme);
        }
        let scheme = scheme.to_ascii_lowercase();
        if scheme != "sip" && scheme != "sips" {
            if rest.is_empty() {
                return Err(UriError::BadHost);
            }
            return Ok(Uri {
                scheme,
                user: None,
                password: None,
                host: rest.to_string(),
                port: None,
                params: Vec::new(),
                headers: None,
            });
        }
        let (rest, headers) = match rest.split_once('?') {
            Some((a, h)) => (a, Some(h.to_string())),
            None => (rest, None),
        };
        // The userinfo ends at the last '@': an unescaped '@' cannot appear after it.
        let (userinfo, hostpart) = match rest.rfind('@') {
            Some(i) => (Some(&rest[..i]), &rest[i + 1..]),
            None => (None, rest),
        };
        let (user, password) = match userinfo {
            Some(u) => match u.split_once(':') {
                Some((u, p)) => (Some(u.to_string()), Some(p.to_string())),
                None => (Some(u.to_string()), None),
            },
            None => (None, None),
        };
        let (hostport, params) = match hostpart.find(';') {
            Some(i) => (&hostpart[..i], super::parse_params(&hostpart[i + 1..])),
            None => (hostpart, Vec::new()),
        };
        let (host, port) = split_hostport(hostport)?;
        Ok(Uri {
            scheme,
            user,
            password,
            host,
            port,
            params,
            headers,
        })
    }

    /// A `sip:` URI for `user@host`.
    pub fn sip(user: Option<&str>, host: &str) -> Uri {
        Uri {
            scheme: "sip".into(),
            user: user.map(str::to_string),
            password: None,
            host: host.to_string(),
            port: None,
            params: Vec::new(),
            headers: None,
        }
    }

    /// The value of URI parameter `name` (case-insensitive); `Some(None)` for a flag.
    pub fn param(&self, name: &str) -> Option<Option<&str>> {
        self.params
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_deref())
    }

    /// `true` when the URI carries the `lr` parameter (RFC 3261 §16.12 loose routing).
    pub fn is_loose_route(&self) -> bool {
        self.param("lr").is_some()
    }

    /// `user@host` without scheme, port or parameters: the address-of-record form.
    pub fn aor(&self) -> String {
        match &self.user {
            Some(u) => format!("{u}@{}", self.host),
            None => self.host.clone(),
        }
    }

    /// Adds or replaces a URI parameter.
    pub fn set_param(&mut self, name: &str, value: Option<&str>) {
        self.params.retain(|(k, _)| !k.eq_ignore_ascii_case(name));
        self.params
            .push((name.to_string(), value.map(str::to_string)));
    }
}

/// Splits `host[:port]`, with IPv6 references in brackets.
pub fn split_hostport(s: &str) -> Result<(String, Option<u16>), UriError> {
    let s = s.trim();
    let (host, port) = if let Some(rest) = s.strip_prefix('[') {
        let end = rest.find(']').ok_or(UriError::BadHost)?;
        let host = &s[..end + 2];
        let after = &rest[end + 1..];
        let port = match after.strip_prefix(':') {
            Some(p) => Some(p),
            None if after.is_empty() => None,
            None => return Err(UriError::BadHost),
        };
        if !rest[..end]
            .bytes()
            .all(|b| b.is_ascii_hexdigit() || b == b':' || b == b'.')
        {
            return Err(UriError::BadHost);
        }
        (host, port)
    } else {
        match s.rsplit_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (s, None),
        }
    };
    if host.is_empty()
        || !host.starts_with('[')
            && !host
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.' || b == b'_')
    {
        return Err(UriError::BadHost);
    }
    let port = match port {
        Some(p) => Some(p.parse::<u16>().map_err(|_| UriError::BadPort)?),
        None => None,
    };
    Ok((host.to_string(), port))
}

impl fmt::Display for Uri {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:", self.scheme)?;
        if self.scheme != "sip" && self.scheme != "sips" {
            return f.write_str(&self.host);
        }
        if let Some(u) = &self.user {
            f.write_str(u)?;
            if let Some(p) = &self.password {
                write!(f, ":{p}")?;
            }
            f.write_str("@")?;
        }
        f.write_str(&self.host)?;
        if let Some(p) = self.port {
            write!(f, ":{p}")?;
        }
        for (k, v) in &self.params {
            match v {
                Some(v) => write!(f, ";{k}={v}")?,
                None => write!(f, ";{k}")?,
            }
        }
        if let Some(h) = &self.headers {
            write!(f, "?{h}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_full_sip_uri_and_round_trips() {
        let s = "sips:alice:secret@example.com:5061;transport=tcp;lr?subject=hi";
        let u = Uri::parse(s).expect("valid");
        assert_eq!(u.scheme, "sips");
        assert_eq!(u.user.as_deref(), Some("alice"));
        assert_eq!(u.password.as_deref(), Some("secret"));
        assert_eq!(u.host, "example.com");
        assert_eq!(u.port, Some(5061));
        assert_eq!(u.param("TRANSPORT"), Some(Some("tcp")));
        assert!(u.is_loose_route());
        assert_eq!(u.to_string(), s);
    }

    #[test]
    fn ipv6_references() {
        let u = Uri::parse("sip:bob@[2001:db8::2]:5070").expect("valid");
        assert_eq!(u.host, "[2001:db8::2]");
        assert_eq!(u.port, Some(5070));
        let u = Uri::parse("sip:[::1]").expect("valid");
        assert_eq!(u.host, "[::1]");
        assert_eq!(u.port, None);
    }

    #[test]
    fn refuses_garbage() {
        assert_eq!(Uri::parse("alice"), Err(UriError::NoScheme));
        assert_eq!(Uri::parse("sip:a@"), Err(UriError::BadHost));
        assert_eq!(Uri::parse("sip:a@b:99999"), Err(UriError::BadPort));
        assert_eq!(Uri::parse("sip:a@b c"), Err(UriError::BadHost));
        assert_eq!(Uri::parse("tel:+1555").map(|u| u.host), Ok("+1555".into()));
    }
}
