//! The gateway's settings: where it listens (HTTP, HTTPS for RFC 7118 WSS, UDP for RFC 3261
//! §18), the SIP domain its registrar serves (RFC 3261 §10.3) and where its files live.

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
    /// The SIP domain (and digest realm) of the embedded registrar, lower case.
    pub domain: String,
    /// Static files of the softphone page.
    pub web_dir: PathBuf,
    /// Create the `alice` and `bob` demo accounts in an empty user table.
    pub demo: bool,
}

/// The value of `--https`: an address, or `None` for `off`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HttpsAddr(pub Option<SocketAddr>);

/// Parses the value of `--https`: an address, or `off`.
pub fn parse_https(s: &str) -> Result<HttpsAddr, String> {
    if s.eq_ignore_ascii_case("off") {
        Ok(HttpsAddr(None))
    } else {
        s.parse()
            .map(|a| HttpsAddr(Some(a)))
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
    fn https_off_or_address() {
        assert_eq!(parse_https("off"), Ok(HttpsAddr(None)));
        assert_eq!(
            parse_https("127.0.0.1:0"),
            Ok(HttpsAddr(Some("127.0.0.1:0".parse().expect("address"))))
        );
        assert!(parse_https("nope").is_err());
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
