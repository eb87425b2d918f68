//! SIP and SIPS URIs (RFC 3261 §19.1, §25.1) with IPv6 references (RFC 5118, RFC 5954), and
//! other schemes (`tel:`, `http:`, `urn:` ...) kept opaque (RFC 3261 §19.1.6, RFC 3986).

use core::fmt;
use std::borrow::Cow;

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
    /// A character no URI may hold unescaped: whitespace, a control, `<`, `>`, `"` or
    /// non-ASCII (RFC 3261 §25.1).
    BadChar,
}

impl fmt::Display for UriError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            UriError::NoScheme => f.write_str("URI has no scheme"),
            UriError::BadHost => f.write_str("URI has an empty or invalid host"),
            UriError::BadPort => f.write_str("URI port is not a number from 0 to 65535"),
            UriError::BadChar => f.write_str("URI holds a character that must be escaped"),
        }
    }
}

impl std::error::Error for UriError {}

/// `true` for the characters a URI may hold unescaped: RFC 3261's `reserved`, `unreserved`,
/// `escaped` and the IPv6 brackets, plus `#` for other schemes' fragments.
fn is_uri_char(b: u8) -> bool {
    static URI: [bool; 256] = super::char_table(b"-_.!~*'();/?:@&=+$,%[]#");
    URI[usize::from(b)]
}

fn is_scheme_char(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"+-.".contains(&b)
}

impl Uri {
    /// Parses a URI as it appears in a Request-Line or inside `<...>`. Surrounding whitespace
    /// is ignored; whitespace inside is refused.
    ///
    /// In a SIP URI the user part ends at the `@` (it may hold `;`, `?` and `,`, RFC 3261
    /// §25.1 `user-unreserved`); the host part ends at the first `;` (parameters) or `?`
    /// (headers).
    pub fn parse(s: &str) -> Result<Uri, UriError> {
        let p = parts(s)?;
        Ok(Uri {
            scheme: p.scheme.to_ascii_lowercase(),
            user: p.user.map(str::to_string),
            password: p.password.map(str::to_string),
            host: p.host.to_string(),
            port: p.port,
            params: uri_params(p.params),
            headers: p.headers.map(str::to_string),
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

    /// `true` for `sip:` and `sips:` URIs, whose parts are split out.
    pub fn is_sip(&self) -> bool {
        self.scheme == "sip" || self.scheme == "sips"
    }

    /// The value of URI parameter `name` (case-insensitive, %-escapes in the written name
    /// decoded, RFC 3261 §19.1.4); `Some(None)` for a flag.
    pub fn param(&self, name: &str) -> Option<Option<&str>> {
        self.params
            .iter()
            .find(|(k, _)| {
                k.eq_ignore_ascii_case(name)
                    || (k.contains('%') && pct_decode(k).eq_ignore_ascii_case(name.as_bytes()))
            })
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

    /// The user part with %-escapes decoded (RFC 3261 §19.1.2), as bytes: `%00` is legal.
    pub fn user_decoded(&self) -> Option<Cow<'_, [u8]>> {
        self.user.as_deref().map(pct_decode)
    }

    /// The IPv6 address of an IPv6-reference host (`[2001:db8::1]`, RFC 5118).
    pub fn ipv6(&self) -> Option<core::net::Ipv6Addr> {
        parse_ipv6_reference(&self.host)
    }

    /// Adds or replaces a URI parameter.
    pub fn set_param(&mut self, name: &str, value: Option<&str>) {
        self.params.retain(|(k, _)| !k.eq_ignore_ascii_case(name));
        self.params
            .push((name.to_string(), value.map(str::to_string)));
    }

    /// URI comparison of RFC 3261 §19.1.4: schemes, users and passwords compared after
    /// decoding escapes (case-sensitively), hosts case-insensitively, ports literally;
    /// `user`, `ttl`, `method`, `maddr` and `transport` must match when either URI has them,
    /// other parameters only when both have them; headers must match as a set.
    pub fn equivalent(&self, other: &Uri) -> bool {
        if self.scheme != other.scheme {
            return false;
        }
        if !self.is_sip() {
            return self.host.eq_ignore_ascii_case(&other.host);
        }
        let dec = |s: &Option<String>| s.as_deref().map(|s| pct_decode(s).into_owned());
        if dec(&self.user) != dec(&other.user)
            || dec(&self.password) != dec(&other.password)
            || !self.host.eq_ignore_ascii_case(&other.host)
            || self.port != other.port
        {
            return false;
        }
        let norm = |u: &Uri| -> Vec<(String, Option<String>)> {
            u.params
                .iter()
                .map(|(k, v)| {
                    let k = String::from_utf8_lossy(&pct_decode(k)).to_ascii_lowercase();
                    let v = v
                        .as_deref()
                        .map(|v| String::from_utf8_lossy(&pct_decode(v)).to_ascii_lowercase());
                    (k, v)
                })
                .collect()
        };
        let (a, b) = (norm(self), norm(other));
        let find = |l: &[(String, Option<String>)], k: &str| {
            l.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone())
        };
        for (k, v) in &a {
            match find(&b, k) {
                Some(w) if w != *v => return false,
                None if ["user", "ttl", "method", "maddr", "transport"].contains(&k.as_str()) => {
                    return false
                }
                _ => {}
            }
        }
        for (k, _) in &b {
            if ["user", "ttl", "method", "maddr", "transport"].contains(&k.as_str())
                && find(&a, k).is_none()
            {
                return false;
            }
        }
        let headers = |u: &Uri| -> Vec<Vec<u8>> {
            let mut h: Vec<Vec<u8>> = u
                .headers
                .as_deref()
                .unwrap_or("")
                .split('&')
                .filter(|s| !s.is_empty())
                .map(|s| pct_decode(s).into_owned())
                .collect();
            h.sort();
            h
        };
        headers(self) == headers(other)
    }

    /// Writes the URI in wire form.
    pub fn encode(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(self.scheme.as_bytes());
        out.push(b':');
        if !self.is_sip() {
            out.extend_from_slice(self.host.as_bytes());
            return;
        }
        if let Some(u) = &self.user {
            out.extend_from_slice(u.as_bytes());
            if let Some(p) = &self.password {
                out.push(b':');
                out.extend_from_slice(p.as_bytes());
            }
            out.push(b'@');
        }
        out.extend_from_slice(self.host.as_bytes());
        if let Some(p) = self.port {
            out.push(b':');
            super::push_decimal(out, u64::from(p));
        }
        for (k, v) in &self.params {
            out.push(b';');
            out.extend_from_slice(k.as_bytes());
            if let Some(v) = v {
                out.push(b'=');
                out.extend_from_slice(v.as_bytes());
            }
        }
        if let Some(h) = &self.headers {
            out.push(b'?');
            out.extend_from_slice(h.as_bytes());
        }
    }
}

/// A URI split into borrowed parts, before anything is copied out.
pub(crate) struct UriParts<'a> {
    pub(crate) scheme: &'a str,
    pub(crate) user: Option<&'a str>,
    pub(crate) password: Option<&'a str>,
    pub(crate) host: &'a str,
    pub(crate) port: Option<u16>,
    /// The parameters after the first `;`, unsplit.
    pub(crate) params: &'a str,
    pub(crate) headers: Option<&'a str>,
}

/// Splits and checks a URI without allocating; see [`Uri::parse`].
pub(crate) fn parts(s: &str) -> Result<UriParts<'_>, UriError> {
    let s = s.trim();
    let (scheme, rest) = s.split_once(':').ok_or(UriError::NoScheme)?;
    if !scheme.bytes().all(is_scheme_char)
        || !scheme
            .bytes()
            .next()
            .is_some_and(|b| b.is_ascii_alphabetic())
    {
        return Err(UriError::NoScheme);
    }
    if !rest.bytes().all(is_uri_char) {
        return Err(UriError::BadChar);
    }
    let sip = scheme.eq_ignore_ascii_case("sip") || scheme.eq_ignore_ascii_case("sips");
    if !sip {
        if rest.is_empty() {
            return Err(UriError::BadHost);
        }
        return Ok(UriParts {
            scheme,
            user: None,
            password: None,
            host: rest,
            port: None,
            params: "",
            headers: None,
        });
    }
    // No '@' may appear unescaped in a host, a parameter or a header of a SIP URI, so the
    // first one ends the userinfo.
    let (user, password, hostpart) = match rest.split_once('@') {
        Some((userinfo, hostpart)) => {
            let (u, p) = match userinfo.split_once(':') {
                Some((u, p)) => (u, Some(p)),
                None => (userinfo, None),
            };
            if u.is_empty() {
                return Err(UriError::BadHost);
            }
            (Some(u), p, hostpart)
        }
        None => (None, None, rest),
    };
    let (hostpart, headers) = match hostpart.split_once('?') {
        Some((h, q)) => (h, Some(q)),
        None => (hostpart, None),
    };
    let (hostport, params) = hostpart.split_once(';').unwrap_or((hostpart, ""));
    let (host, port) = split_hostport_ref(hostport)?;
    Ok(UriParts {
        scheme,
        user,
        password,
        host,
        port,
        params,
        headers,
    })
}

/// `;name[=value]` URI parameters (RFC 3261 §19.1.1 `uri-parameters`); empty ones are
/// skipped. URI parameter values are never quoted.
fn uri_params(s: &str) -> Vec<(String, Option<String>)> {
    s.split(';')
        .filter(|p| !p.is_empty())
        .map(|p| match p.find('=') {
            Some(i) => (p[..i].to_string(), Some(p[i + 1..].to_string())),
            None => (p.to_string(), None),
        })
        .collect()
}

/// Decodes `%XX` escapes (RFC 3261 §25.1 `escaped`); a `%` not followed by two hex digits is
/// kept as written. Borrows when there is nothing to decode.
pub fn pct_decode(s: &str) -> Cow<'_, [u8]> {
    if !s.contains('%') {
        return Cow::Borrowed(s.as_bytes());
    }
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while let Some(&c) = b.get(i) {
        if c == b'%' {
            if let (Some(h), Some(l)) = (
                b.get(i + 1).and_then(|x| hex(*x)),
                b.get(i + 2).and_then(|x| hex(*x)),
            ) {
                out.push(h << 4 | l);
                i += 3;
                continue;
            }
        }
        out.push(c);
        i += 1;
    }
    Cow::Owned(out)
}

fn hex(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

/// The address inside an IPv6 reference `[...]`, when it is a valid IPv6 address (RFC 5954:
/// `2001:db8:::192.0.2.1`, RFC 5118 §4.10, is not).
pub fn parse_ipv6_reference(s: &str) -> Option<core::net::Ipv6Addr> {
    s.strip_prefix('[')?.strip_suffix(']')?.parse().ok()
}

/// `true` for a hostname or IPv4 address (RFC 3261 §25.1 `hostname` / `IPv4address`); `_` is
/// tolerated as many deployments use it.
pub fn is_hostname(s: &str) -> bool {
    !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.' || b == b'_')
}

/// Splits `host[:port]`, with IPv6 references in brackets. A port is read only after the
/// closing `]` (RFC 5118 §4.3: `[2001:db8::10:5070]` is an address with no port).
pub fn split_hostport(s: &str) -> Result<(String, Option<u16>), UriError> {
    split_hostport_ref(s).map(|(h, p)| (h.to_string(), p))
}

/// [`split_hostport`] without copying the host.
pub(crate) fn split_hostport_ref(s: &str) -> Result<(&str, Option<u16>), UriError> {
    let s = s.trim();
    let (host, port) = if s.starts_with('[') {
        let (inside, after) = s.split_once(']').ok_or(UriError::BadHost)?;
        let host = s.get(..inside.len() + 1).unwrap_or_default();
        if parse_ipv6_reference(host).is_none() {
            return Err(UriError::BadHost);
        }
        match after.strip_prefix(':') {
            Some(p) => (host, Some(p)),
            None if after.is_empty() => (host, None),
            None => return Err(UriError::BadHost),
        }
    } else {
        match s.split_once(':') {
            // A second colon means an IPv6 address without its brackets (RFC 5118 §4.2).
            Some((_, p)) if p.contains(':') => return Err(UriError::BadHost),
            Some((h, p)) => (h, Some(p)),
            None => (s, None),
        }
    };
    if !host.starts_with('[') && !is_hostname(host) {
        return Err(UriError::BadHost);
    }
    let port = match port {
        Some(p) => Some(parse_port(p).ok_or(UriError::BadPort)?),
        None => None,
    };
    Ok((host, port))
}

/// A port: 1 to 5 digits, at most 65535.
pub(crate) fn parse_port(p: &str) -> Option<u16> {
    if p.is_empty() || p.len() > 5 || !p.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    p.parse().ok()
}

impl fmt::Display for Uri {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut out = Vec::with_capacity(64);
        self.encode(&mut out);
        f.write_str(&String::from_utf8_lossy(&out))
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
    fn user_part_may_hold_reserved_characters() {
        // RFC 4475 §3.1.1.2 (intmeth) and §3.1.1.9 (semiuri).
        let u = Uri::parse("sip:user;par=u%40example.net@example.com").expect("valid");
        assert_eq!(u.user.as_deref(), Some("user;par=u%40example.net"));
        assert_eq!(u.host, "example.com");
        assert!(u.params.is_empty());
        let u = Uri::parse("sip:1_unusual.URI~(to-be!sure)&isn't+it$/crazy?,/;;*:&it+has=1,weird!*pas$wo~d_too.(doesn't-it)@example.com").expect("valid");
        assert_eq!(
            u.user.as_deref(),
            Some("1_unusual.URI~(to-be!sure)&isn't+it$/crazy?,/;;*")
        );
        assert_eq!(
            u.password.as_deref(),
            Some("&it+has=1,weird!*pas$wo~d_too.(doesn't-it)")
        );
        assert_eq!(u.headers, None);
    }

    #[test]
    fn escapes_decode_for_comparison() {
        let a = Uri::parse("sip:cal%6Cer@host5.example.net;%6C%72;n%61me=v%61lue%25%34%31")
            .expect("valid");
        // RFC 4475 §3.1.1.3: the parameter's value, unescaped, is "value%41".
        let b = Uri::parse("sip:caller@HOST5.example.net;lr;name=value%2541").expect("valid");
        assert!(a.is_loose_route());
        assert!(a.equivalent(&b));
        let value = a.param("name").flatten().map(pct_decode);
        assert_eq!(value.as_deref(), Some(&b"value%41"[..]));
        assert_eq!(a.user_decoded().as_deref(), Some(&b"caller"[..]));
        assert!(!a.equivalent(&Uri::parse("sip:caller@host5.example.net:5060").expect("ok")));
        assert_eq!(&*pct_decode("null-%00-%ZK"), b"null-\0-%ZK");
    }

    #[test]
    fn ipv6_references() {
        let u = Uri::parse("sip:bob@[2001:db8::2]:5070").expect("valid");
        assert_eq!(u.host, "[2001:db8::2]");
        assert_eq!(u.port, Some(5070));
        assert!(u.ipv6().is_some());
        let u = Uri::parse("sip:[::1]").expect("valid");
        assert_eq!(u.host, "[::1]");
        assert_eq!(u.port, None);
        // RFC 5118 §4.3: the port inside the brackets is the address's last group.
        let u = Uri::parse("sip:[2001:db8::10:5070]").expect("well-formed");
        assert_eq!((u.host.as_str(), u.port), ("[2001:db8::10:5070]", None));
        assert_eq!(Uri::parse("sip:2001:db8::10"), Err(UriError::BadHost));
        assert_eq!(
            Uri::parse("sip:[2001:db8:::192.0.2.1]"),
            Err(UriError::BadHost)
        );
    }

    #[test]
    fn refuses_garbage() {
        assert_eq!(Uri::parse("alice"), Err(UriError::NoScheme));
        assert_eq!(Uri::parse("sip:a@"), Err(UriError::BadHost));
        assert_eq!(Uri::parse("sip:a@b:99999"), Err(UriError::BadPort));
        assert_eq!(Uri::parse("sip:a@b:"), Err(UriError::BadPort));
        assert_eq!(Uri::parse("sip:a@b c"), Err(UriError::BadChar));
        assert_eq!(Uri::parse("sip:<a@b>"), Err(UriError::BadChar));
        assert_eq!(Uri::parse("tel:+1555").map(|u| u.host), Ok("+1555".into()));
    }
}
