//! The Via header (RFC 3261 §8.1.1.7, §18.2.1, §20.42) with IPv6 sent-by and received
//! (RFC 5118 §4.5, §4.7, §4.9) and rport (RFC 3581).

use super::super::uri::{parse_ipv6_reference, split_hostport_ref};
use super::{find_param, params, write_params, HeaderError};
use core::fmt;
use std::borrow::Cow;

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

impl Via {
    /// Parses `SIP/2.0/UDP host:port;params`; whitespace is allowed around `/`, `:`, `;` and
    /// `=` (RFC 3261 §25.1 SLASH, COLON, SEMI, EQUAL).
    pub fn parse(s: &str) -> Result<Via, HeaderError> {
        let (transport, sent_by, params) = split(s)?;
        let (host, port) =
            split_hostport_ref(&sent_by).map_err(|_| HeaderError::Malformed("Via"))?;
        Ok(Via {
            transport: transport.to_ascii_uppercase(),
            host: host.to_string(),
            port,
            params: params::parse(params),
        })
    }

    /// The value of parameter `name`; `Some(None)` for a flag such as `rport`.
    pub fn param(&self, name: &str) -> Option<Option<&str>> {
        find_param(&self.params, name)
    }

    /// The branch parameter.
    pub fn branch(&self) -> Option<&str> {
        self.param("branch").flatten()
    }

    /// The `received` address (RFC 3261 §18.2.1), accepted with or without the brackets of an
    /// IPv6 reference (RFC 5118 §4.5 asks receivers to be liberal here).
    pub fn received(&self) -> Option<core::net::IpAddr> {
        let v = self.param("received").flatten()?;
        if v.starts_with('[') {
            return parse_ipv6_reference(v).map(core::net::IpAddr::V6);
        }
        v.parse().ok()
    }

    /// The `rport` value (RFC 3581): `Some(None)` when requested but not yet filled in.
    pub fn rport(&self) -> Option<Option<u16>> {
        self.param("rport")
            .map(|v| v.and_then(super::super::uri::parse_port))
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

/// Splits a via-parm into transport, sent-by (whitespace removed) and the parameters after
/// the first `;`, checking the sent-protocol.
fn split(s: &str) -> Result<(&str, Cow<'_, str>, &str), HeaderError> {
    let bad = HeaderError::Malformed("Via");
    let mut proto = s.trim().splitn(3, '/');
    let (Some(name), Some(version), Some(rest)) = (proto.next(), proto.next(), proto.next()) else {
        return Err(bad);
    };
    if !name.trim().eq_ignore_ascii_case("SIP") || version.trim() != "2.0" {
        return Err(bad);
    }
    let rest = rest.trim_start();
    let (transport, rest) = rest.split_once([' ', '\t']).ok_or(bad.clone())?;
    if !super::super::is_token(transport) {
        return Err(bad);
    }
    let (sent_by, params) = rest.split_once(';').unwrap_or((rest, ""));
    let sent_by = sent_by.trim();
    // COLON = SWS ":" SWS: "host : 5060" is legal.
    let sent_by = if sent_by.contains([' ', '\t']) {
        Cow::Owned(sent_by.split([' ', '\t']).collect())
    } else {
        Cow::Borrowed(sent_by)
    };
    Ok((transport, sent_by, params))
}

/// Checks a via-parm's sent-protocol and sent-by without building a [`Via`]; returns the
/// parameters after the first `;`.
pub(crate) fn check(s: &str) -> Result<&str, HeaderError> {
    let (_, sent_by, params) = split(s)?;
    split_hostport_ref(&sent_by).map_err(|_| HeaderError::Malformed("Via"))?;
    Ok(params)
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
        assert_eq!(v.rport(), Some(None));
        let v = Via::parse("SIP / 2.0 / UDP [2001:db8::9]:5062;branch=z9hG4bK1").expect("ok");
        assert_eq!(v.transport, "UDP");
        assert_eq!(v.port, Some(5062));
        assert_eq!(
            v.to_string(),
            "SIP/2.0/UDP [2001:db8::9]:5062;branch=z9hG4bK1"
        );
        assert!(Via::parse("SIP/2.0/UDP").is_err());
        let v = Via::parse("SIP/2.0/TCP host : 5060 ; branch = z9hG4bK2").expect("SWS");
        assert_eq!((v.port, v.branch()), (Some(5060), Some("z9hG4bK2")));
    }

    #[test]
    fn received_with_and_without_brackets() {
        for r in ["2001:db8::9:255", "[2001:db8::9:255]"] {
            let v = Via::parse(&format!(
                "SIP/2.0/UDP [2001:db8::9:1];received={r};branch=z9"
            ))
            .expect("valid");
            assert_eq!(v.received(), "2001:db8::9:255".parse().ok());
        }
    }
}
