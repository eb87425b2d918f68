//! Digest authentication on the server side (RFC 3261 §22, RFC 7616), shared by the registrar
//! (`401` + `WWW-Authenticate` / `Authorization`, §22.2) and the proxy (`407` +
//! `Proxy-Authenticate` / `Proxy-Authorization`, §22.3): nonces with a lifetime and a bound on
//! how many are remembered, challenges, and the check of an answer against the stored HA1
//! (constant time, the same work for unknown users as for wrong passwords).
//!
//! Pure logic: the caller hands in the time and the user's stored hashes.

use crate::sipmsg::reply;
use crate::store::Hashes;
use sipsimple::auth::{Algorithm, Challenge, Credentials};
use sipsimple::sip::Message;
use sipsimple::Time;
use std::collections::HashMap;
use std::time::Duration;

/// How long a nonce may be answered.
pub const NONCE_LIFETIME: Duration = Duration::from_secs(300);
/// Nonces remembered at most: unauthenticated peers must not grow memory without bound.
const MAX_NONCES: usize = 10_000;

/// Who asks: a registrar or user agent server (401, §22.2) or a proxy (407, §22.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scheme {
    /// `401 Unauthorized`, `WWW-Authenticate`, answered in `Authorization`.
    Www,
    /// `407 Proxy Authentication Required`, `Proxy-Authenticate`, answered in
    /// `Proxy-Authorization`.
    Proxy,
}

impl Scheme {
    fn code(self) -> (u16, &'static str) {
        match self {
            Scheme::Www => (401, "Unauthorized"),
            Scheme::Proxy => (407, "Proxy Authentication Required"),
        }
    }

    /// The header a challenge is written in.
    pub fn challenge_header(self) -> &'static str {
        match self {
            Scheme::Www => "WWW-Authenticate",
            Scheme::Proxy => "Proxy-Authenticate",
        }
    }

    /// The header the answer comes in.
    pub fn credentials_header(self) -> &'static str {
        match self {
            Scheme::Www => "Authorization",
            Scheme::Proxy => "Proxy-Authorization",
        }
    }
}

/// What an answer to a challenge is worth.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Check {
    /// The right password, for a nonce we handed out and still honour.
    Valid,
    /// The right password for a nonce we no longer honour: challenge again with `stale=true`
    /// so that the client retries without bothering its user (RFC 7616 §3.3).
    Stale,
    /// A wrong password, or an unknown user: counts toward a lockout.
    Wrong,
}

/// The nonces of one realm.
#[derive(Debug)]
pub struct Digest {
    realm: String,
    /// Nonces handed out, with when.
    nonces: HashMap<String, Time>,
}

impl Digest {
    /// Digest for `realm` (lower case: our SIP domain).
    pub fn new(realm: &str) -> Digest {
        Digest {
            realm: realm.to_ascii_lowercase(),
            nonces: HashMap::new(),
        }
    }

    /// The realm.
    pub fn realm(&self) -> &str {
        &self.realm
    }

    /// The credentials of `msg` in `scheme`'s header for our realm, when one parses. With
    /// several proxies in a chain, only the line of our realm is ours (§22.3).
    pub fn credentials(&self, msg: &Message, scheme: Scheme) -> Option<Credentials> {
        msg.header_lines(scheme.credentials_header())
            .filter_map(|v| Credentials::parse(v).ok())
            .find(|c| c.realm.eq_ignore_ascii_case(&self.realm))
            .or_else(|| Credentials::parse(msg.header(scheme.credentials_header())?).ok())
    }

    /// A fresh challenge to `req`: 401 or 407 with a new nonce.
    pub fn challenge(&mut self, now: Time, req: &Message, scheme: Scheme, stale: bool) -> Message {
        if self.nonces.len() >= MAX_NONCES {
            self.expire(now);
        }
        if self.nonces.len() >= MAX_NONCES {
            // Still full of live nonces (a flood): forget the oldest.
            if let Some(oldest) = self
                .nonces
                .iter()
                .min_by_key(|(_, t)| **t)
                .map(|(n, _)| n.clone())
            {
                self.nonces.remove(&oldest);
            }
        }
        let nonce = crate::random::hex(32);
        self.nonces.insert(nonce.clone(), now);
        let challenge = Challenge {
            realm: self.realm.clone(),
            nonce,
            opaque: None,
            algorithm: Algorithm::Md5,
            qop_auth: true,
            stale,
        };
        let (code, reason) = scheme.code();
        let mut r = reply(req, code, reason);
        r.push_header(scheme.challenge_header(), challenge.to_header());
        r
    }

    fn nonce_is_fresh(&self, nonce: &str, now: Time) -> bool {
        self.nonces
            .get(nonce)
            .is_some_and(|issued| now.saturating_since(*issued) < NONCE_LIFETIME)
    }

    /// Checks `creds` for a request with `method` against the stored `hashes` (`None`: no
    /// such user). Unknown users and wrong passwords get the same answer after the same
    /// work; the compare is constant-time ([`Credentials::verify`]).
    pub fn check(
        &self,
        now: Time,
        creds: &Credentials,
        method: &str,
        hashes: Option<&Hashes>,
    ) -> Check {
        let verified = match hashes {
            Some(h) => creds.verify(h.for_algorithm(creds.algorithm), method),
            None => {
                let dummy = "0".repeat(64);
                let _ = creds.verify(&dummy, method);
                false
            }
        };
        if !verified {
            Check::Wrong
        } else if self.nonce_is_fresh(&creds.nonce, now) {
            Check::Valid
        } else {
            Check::Stale
        }
    }

    /// Drops lapsed nonces.
    pub fn expire(&mut self, now: Time) {
        self.nonces
            .retain(|_, issued| now.saturating_since(*issued) < NONCE_LIFETIME);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn invite(extra: &str) -> Message {
        Message::parse(
            format!(
                "INVITE sip:bob@example.com SIP/2.0\r\nVia: SIP/2.0/UDP a;branch=z9hG4bK1\r\n\
                 From: <sip:alice@d>;tag=1\r\nTo: <sip:bob@example.com>\r\nCall-ID: c\r\n\
                 CSeq: 1 INVITE\r\n{extra}Content-Length: 0\r\n\r\n"
            )
            .as_bytes(),
        )
        .expect("valid")
    }

    #[test]
    fn proxy_challenge_answer_and_stale_nonce() {
        let mut d = Digest::new("D");
        let t0 = Time::from_millis(0);
        let r = d.challenge(t0, &invite(""), Scheme::Proxy, false);
        assert_eq!(r.code(), Some(407));
        let c = Challenge::parse(r.header("Proxy-Authenticate").expect("header")).expect("ok");
        assert_eq!(c.realm, "d");
        let answer = |pw: &str| {
            let a = c.answer("alice", pw, "INVITE", "sip:bob@example.com", "cn", 1);
            invite(&format!(
                "Proxy-Authorization: Digest username=\"x\", realm=\"other\", nonce=\"n\", uri=\"u\", response=\"r\"\r\nProxy-Authorization: {a}\r\n"
            ))
        };
        let h = Hashes::new("alice", "d", "pw");
        let creds = d.credentials(&answer("pw"), Scheme::Proxy).expect("ours");
        assert_eq!(creds.realm, "d");
        assert_eq!(d.check(t0, &creds, "INVITE", Some(&h)), Check::Valid);
        assert_eq!(d.check(t0, &creds, "INVITE", None), Check::Wrong);
        let wrong = d.credentials(&answer("nope"), Scheme::Proxy).expect("ours");
        assert_eq!(d.check(t0, &wrong, "INVITE", Some(&h)), Check::Wrong);
        let later = t0 + NONCE_LIFETIME;
        assert_eq!(d.check(later, &creds, "INVITE", Some(&h)), Check::Stale);
        d.expire(later);
        assert!(d.nonces.is_empty());
    }
}
