//! The gateway's settings: where it listens (HTTP, HTTPS for RFC 7118 WSS, UDP, TCP and TLS
//! for RFC 3261 §18), the SIP domain its registrar serves (RFC 3261 §10.3) and where its
//! files live.

use std::net::SocketAddr;
use std::path::PathBuf;

/// Settings of `sipsimple-gateway serve`.
#[derive(Debug, Clone)]
pub struct Config {
    /// Holds `gateway.db`, `cert.pem`, `key.pem` and `demo-accounts.txt`.
    pub data_dir: PathBuf,
    /// Plain HTTP and WS.
    pub http: SocketAddr,
    /// HTTPS and WSS, or `None` when disabled with `--https off`.
    pub https: Option<SocketAddr>,
    /// The SIP UDP socket toward SIP servers and phones.
    pub sip_udp: SocketAddr,
    /// The SIP TCP listener, or `None` when disabled with `--sip-tcp off`.
    pub sip_tcp: Option<SocketAddr>,
    /// The SIP TLS listener, or `None` when disabled with `--sip-tls off`.
    pub sip_tls: Option<SocketAddr>,
    /// The SIP domain (and digest realm) of the embedded registrar, lower case.
    pub domain: String,
    /// Static files of the softphone page.
    pub web_dir: PathBuf,
    /// Create the `alice` and `bob` demo accounts in an empty user table.
    pub demo: bool,
}

/// The value of `--https`, `--sip-tcp` and `--sip-tls`: an address, or `None` for `off`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OptionalAddr(pub Option<SocketAddr>);

/// Parses an address (`127.0.0.1:8443`, `[::1]:5061`) or `off`.
pub fn parse_optional_addr(s: &str) -> Result<OptionalAddr, String> {
    if s.eq_ignore_ascii_case("off") {
        Ok(OptionalAddr(None))
    } else {
        s.parse()
            .map(|a| OptionalAddr(Some(a)))
            .map_err(|e| format!("{s:?} is neither `off` nor an address like 127.0.0.1:8443: {e}"))
    }
}

/// Checks a SIP domain given on the command line: a host name or an IP address literal.
pub fn parse_domain(s: &str) -> Result<String, String> {
    let s = s.trim().to_ascii_lowercase();
    let ok = !s.is_empty()
        && s.len() <= 253
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.');
    if ok {
        Ok(s)
    } else {
        Err(format!("{s:?} is not a valid SIP domain"))
    }
}

/// Checks a user name: the user part of `user@domain`, kept to characters that need no
/// escaping in a SIP URI (RFC 3261 §25.1 `unreserved`).
pub fn valid_user_name(name: &str) -> bool {
    (1..=64).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_.!~*'()".contains(&b))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn off_or_address() {
        assert_eq!(parse_optional_addr("off"), Ok(OptionalAddr(None)));
        assert_eq!(
            parse_optional_addr("127.0.0.1:0"),
            Ok(OptionalAddr(Some("127.0.0.1:0".parse().expect("address"))))
        );
        assert_eq!(
            parse_optional_addr("[::1]:5061"),
            Ok(OptionalAddr(Some("[::1]:5061".parse().expect("address"))))
        );
        assert!(parse_optional_addr("nope").is_err());
    }

    #[test]
    fn domains_and_user_names() {
        assert_eq!(
            parse_domain("SipSimple.Local"),
            Ok("sipsimple.local".into())
        );
        assert!(parse_domain("a b").is_err());
        assert!(valid_user_name("alice.smith"));
        assert!(!valid_user_name("alice@x"));
        assert!(!valid_user_name(""));
    }
}
