//! HTTP Digest authentication for SIP (RFC 3261 §22, RFC 7616, RFC 8760): MD5 and SHA-256,
//! `qop=auth`, both the client side (answering 401/407) and the server side (challenging and
//! verifying with a constant-time compare).

use crate::sip::{parse_params, quote, split_list};
use core::fmt;
use md5::{Digest as _, Md5};
use sha2::Sha256;

/// A digest hash algorithm.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Algorithm {
    /// `MD5` (the default when the challenge names none).
    Md5,
    /// `SHA-256` (RFC 8760).
    Sha256,
}

impl Algorithm {
    fn parse(s: &str) -> Option<Algorithm> {
        if s.eq_ignore_ascii_case("MD5") {
            Some(Algorithm::Md5)
        } else if s.eq_ignore_ascii_case("SHA-256") {
            Some(Algorithm::Sha256)
        } else {
            None
        }
    }

    /// The name as written in headers.
    pub fn name(self) -> &'static str {
        match self {
            Algorithm::Md5 => "MD5",
            Algorithm::Sha256 => "SHA-256",
        }
    }

    /// Lower-case hex of the hash of `data`.
    pub fn hex(self, data: &str) -> String {
        match self {
            Algorithm::Md5 => to_hex(&Md5::digest(data.as_bytes())),
            Algorithm::Sha256 => to_hex(&Sha256::digest(data.as_bytes())),
        }
    }
}

fn to_hex(bytes: &[u8]) -> String {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(char::from(HEX[usize::from(b >> 4)]));
        s.push(char::from(HEX[usize::from(b & 15)]));
    }
    s
}

/// Why a challenge or credentials header was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum AuthError {
    /// Not a `Digest` scheme.
    NotDigest,
    /// A required parameter is missing.
    Missing(&'static str),
    /// The algorithm is not MD5 or SHA-256.
    UnsupportedAlgorithm(String),
    /// The challenge offers qop values but not `auth`.
    UnsupportedQop(String),
}

impl fmt::Display for AuthError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AuthError::NotDigest => f.write_str("not a Digest authentication header"),
            AuthError::Missing(p) => write!(f, "digest parameter {p} is missing"),
            AuthError::UnsupportedAlgorithm(a) => write!(f, "unsupported digest algorithm {a}"),
            AuthError::UnsupportedQop(q) => write!(f, "unsupported qop {q}"),
        }
    }
}

impl std::error::Error for AuthError {}

fn digest_params(value: &str) -> Result<Vec<(String, String)>, AuthError> {
    let value = value.trim();
    let (scheme, rest) = value.split_once([' ', '\t']).unwrap_or((value, ""));
    if !scheme.eq_ignore_ascii_case("Digest") {
        return Err(AuthError::NotDigest);
    }
    // Digest parameters are comma separated; each is a name=value pair.
    Ok(split_list(rest)
        .into_iter()
        .flat_map(parse_params)
        .filter_map(|(k, v)| v.map(|v| (k.to_ascii_lowercase(), v)))
        .collect())
}

fn get<'a>(params: &'a [(String, String)], name: &str) -> Option<&'a str> {
    params
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

/// A `WWW-Authenticate` or `Proxy-Authenticate` digest challenge.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Challenge {
    /// The protection realm.
    pub realm: String,
    /// The server nonce.
    pub nonce: String,
    /// The opaque value to echo back.
    pub opaque: Option<String>,
    /// The hash algorithm.
    pub algorithm: Algorithm,
    /// `true` when the server offered `qop=auth` (then we use it).
    pub qop_auth: bool,
    /// `true` when the previous nonce was merely stale (retry without asking the user).
    pub stale: bool,
}

impl Challenge {
    /// Parses a challenge header value.
    pub fn parse(value: &str) -> Result<Challenge, AuthError> {
        let p = digest_params(value)?;
        let algorithm = match get(&p, "algorithm") {
            None => Algorithm::Md5,
            Some(a) => {
                Algorithm::parse(a).ok_or_else(|| AuthError::UnsupportedAlgorithm(a.into()))?
            }
        };
        let qop_auth = match get(&p, "qop") {
            None => false,
            Some(q) if q.split(',').any(|q| q.trim().eq_ignore_ascii_case("auth")) => true,
            Some(q) => return Err(AuthError::UnsupportedQop(q.into())),
        };
        Ok(Challenge {
            realm: get(&p, "realm").ok_or(AuthError::Missing("realm"))?.into(),
            nonce: get(&p, "nonce").ok_or(AuthError::Missing("nonce"))?.into(),
            opaque: get(&p, "opaque").map(str::to_string),
            algorithm,
            qop_auth,
            stale: get(&p, "stale").is_some_and(|s| s.eq_ignore_ascii_case("true")),
        })
    }

    /// Writes the challenge as a header value (server side).
    pub fn to_header(&self) -> String {
        let mut s = format!(
            "Digest realm={}, nonce={}, algorithm={}",
            quote(&self.realm),
            quote(&self.nonce),
            self.algorithm.name()
        );
        if self.qop_auth {
            s.push_str(", qop=\"auth\"");
        }
        if let Some(o) = &self.opaque {
            s.push_str(&format!(", opaque={}", quote(o)));
        }
        if self.stale {
            s.push_str(", stale=true");
        }
        s
    }

    /// The `Authorization`/`Proxy-Authorization` value answering this challenge.
    /// `nc` counts requests made with this nonce, from 1; `cnonce` is fresh randomness.
    pub fn answer(
        &self,
        username: &str,
        password: &str,
        method: &str,
        uri: &str,
        cnonce: &str,
        nc: u32,
    ) -> String {
        let ha1 = self
            .algorithm
            .hex(&format!("{username}:{}:{password}", self.realm));
        let ha2 = self.algorithm.hex(&format!("{method}:{uri}"));
        let nc = format!("{nc:08x}");
        let mut s = format!(
            "Digest username={}, realm={}, nonce={}, uri={}, algorithm={}",
            quote(username),
            quote(&self.realm),
            quote(&self.nonce),
            quote(uri),
            self.algorithm.name()
        );
        let response = if self.qop_auth {
            s.push_str(&format!(", qop=auth, nc={nc}, cnonce={}", quote(cnonce)));
            self.algorithm
                .hex(&format!("{ha1}:{}:{nc}:{cnonce}:auth:{ha2}", self.nonce))
        } else {
            self.algorithm.hex(&format!("{ha1}:{}:{ha2}", self.nonce))
        };
        s.push_str(&format!(", response={}", quote(&response)));
        if let Some(o) = &self.opaque {
            s.push_str(&format!(", opaque={}", quote(o)));
        }
        s
    }
}

/// The credentials a client sent in `Authorization`/`Proxy-Authorization`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Credentials {
    /// The user name.
    pub username: String,
    /// The realm the client answered.
    pub realm: String,
    /// The nonce the client answered.
    pub nonce: String,
    /// The digest-uri.
    pub uri: String,
    /// The response hash, lower-case hex.
    pub response: String,
    /// The algorithm.
    pub algorithm: Algorithm,
    /// `Some((nc, cnonce))` when `qop=auth` was used.
    pub qop_auth: Option<(String, String)>,
}

impl Credentials {
    /// Parses an `Authorization` header value.
    pub fn parse(value: &str) -> Result<Credentials, AuthError> {
        let p = digest_params(value)?;
        let algorithm = match get(&p, "algorithm") {
            None => Algorithm::Md5,
            Some(a) => {
                Algorithm::parse(a).ok_or_else(|| AuthError::UnsupportedAlgorithm(a.into()))?
            }
        };
        let qop_auth = match get(&p, "qop") {
            None => None,
            Some(q) if q.eq_ignore_ascii_case("auth") => Some((
                get(&p, "nc").ok_or(AuthError::Missing("nc"))?.into(),
                get(&p, "cnonce")
                    .ok_or(AuthError::Missing("cnonce"))?
                    .into(),
            )),
            Some(q) => return Err(AuthError::UnsupportedQop(q.into())),
        };
        let field = |n: &'static str| get(&p, n).map(str::to_string).ok_or(AuthError::Missing(n));
        Ok(Credentials {
            username: field("username")?,
            realm: field("realm")?,
            nonce: field("nonce")?,
            uri: field("uri")?,
            response: field("response")?.to_ascii_lowercase(),
            algorithm,
            qop_auth,
        })
    }

    /// `true` when the response matches `ha1` (hex of `user:realm:password`) for `method`.
    /// The compare takes the same time wherever the first difference lies.
    pub fn verify(&self, ha1: &str, method: &str) -> bool {
        let alg = self.algorithm;
        let ha2 = alg.hex(&format!("{method}:{}", self.uri));
        let expected = match &self.qop_auth {
            Some((nc, cnonce)) => {
                alg.hex(&format!("{ha1}:{}:{nc}:{cnonce}:auth:{ha2}", self.nonce))
            }
            None => alg.hex(&format!("{ha1}:{}:{ha2}", self.nonce)),
        };
        constant_time_eq(expected.as_bytes(), self.response.as_bytes())
    }
}

/// HA1 as a registrar stores it instead of the password.
pub fn ha1(algorithm: Algorithm, username: &str, realm: &str, password: &str) -> String {
    algorithm.hex(&format!("{username}:{realm}:{password}"))
}

/// Compares two byte strings in time independent of their content.
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 2617 §3.5's worked example (MD5, qop=auth): the response must be the RFC's.
    #[test]
    fn rfc2617_example() {
        let c = Challenge::parse(
            r#"Digest realm="testrealm@host.com", qop="auth,auth-int", nonce="dcd98b7102dd2f0e8b11d0f600bfb0c093", opaque="5ccc069c403ebaf9f0171e9517f40e41""#,
        )
        .expect("valid");
        let a = c.answer(
            "Mufasa",
            "Circle Of Life",
            "GET",
            "/dir/index.html",
            "0a4f113b",
            1,
        );
        assert!(
            a.contains(r#"response="6629fae49393a05397450978507c4ef1""#),
            "{a}"
        );
        let creds = Credentials::parse(&a).expect("parse own answer");
        let h = ha1(
            Algorithm::Md5,
            "Mufasa",
            "testrealm@host.com",
            "Circle Of Life",
        );
        assert!(creds.verify(&h, "GET"));
        assert!(!creds.verify(&h, "POST"));
        let wrong = ha1(
            Algorithm::Md5,
            "Mufasa",
            "testrealm@host.com",
            "circle of life",
        );
        assert!(!creds.verify(&wrong, "GET"));
    }

    /// RFC 7616 §3.9.1's SHA-256 example.
    #[test]
    fn rfc7616_sha256_example() {
        let c = Challenge::parse(
            r#"Digest realm="http-auth@example.org", qop="auth, auth-int", algorithm=SHA-256, nonce="7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v", opaque="FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS""#,
        )
        .expect("valid");
        let a = c.answer(
            "Mufasa",
            "Circle of Life",
            "GET",
            "/dir/index.html",
            "f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ",
            1,
        );
        assert!(
            a.contains(
                r#"response="753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1""#
            ),
            "{a}"
        );
    }

    #[test]
    fn refuses_what_it_cannot_answer() {
        assert_eq!(Challenge::parse("Basic realm=x"), Err(AuthError::NotDigest));
        assert_eq!(
            Challenge::parse(r#"Digest realm="r", nonce="n", algorithm=SHA-512-256"#),
            Err(AuthError::UnsupportedAlgorithm("SHA-512-256".into()))
        );
        assert_eq!(
            Challenge::parse(r#"Digest realm="r""#),
            Err(AuthError::Missing("nonce"))
        );
        let c = Challenge::parse(r#"Digest realm="r", nonce="n", stale=TRUE"#).expect("ok");
        assert!(c.stale && !c.qop_auth);
        assert_eq!(Challenge::parse(&c.to_header()).expect("round trip"), c);
    }
}
