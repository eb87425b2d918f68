//! Relay authentication, server side (RFC 4976 §5.1, §8): an AUTH without credentials gets
//! a 401 with a digest challenge (RFC 7616, MD5 with `qop=auth`, through
//! `sipsimple::auth`) in the realm of the gateway's SIP domain, which is the realm the
//! user store's HA1 hashes are made for; a valid answer gets a 200 with the client's
//! `Use-Path` and `Expires`. Pure logic: the caller hands in the time and the hashes.

use crate::store::Hashes;
use sipsimple::auth::{Algorithm, Challenge, Credentials};
use sipsimple::msrp::{Frame, Header, Uri};
use std::collections::HashMap;
use std::time::{Duration, Instant};

/// How long a nonce may be answered.
pub const NONCE_LIFETIME: Duration = Duration::from_secs(300);
/// Nonces remembered at most: unauthenticated peers must not grow memory without bound.
const MAX_NONCES: usize = 10_000;
/// The validity granted when the AUTH asks for none, and the most granted (seconds).
pub const DEFAULT_EXPIRES: u32 = 3600;
/// The least validity accepted (RFC 4976 §5.1: below it, 423 with `Min-Expires`).
pub const MIN_EXPIRES: u32 = 60;
/// Wrong answers on one connection before the relay stops challenging (403).
pub const MAX_WRONG: u32 = 3;

/// The nonces handed out.
#[derive(Debug, Default)]
pub struct Nonces {
    issued: HashMap<String, Instant>,
}

impl Nonces {
    /// A fresh nonce, remembered from `now`.
    pub fn issue(&mut self, now: Instant) -> String {
        if self.issued.len() >= MAX_NONCES {
            self.expire(now);
        }
        if self.issued.len() >= MAX_NONCES {
            // Still full of live nonces (a flood): forget the oldest.
            if let Some(oldest) = self
                .issued
                .iter()
                .min_by_key(|(_, t)| **t)
                .map(|(n, _)| n.clone())
            {
                self.issued.remove(&oldest);
            }
        }
        let nonce = crate::random::hex(32);
        self.issued.insert(nonce.clone(), now);
        nonce
    }

    /// `true` when `nonce` is ours and younger than [`NONCE_LIFETIME`].
    pub fn is_fresh(&self, nonce: &str, now: Instant) -> bool {
        self.issued
            .get(nonce)
            .is_some_and(|t| now.saturating_duration_since(*t) < NONCE_LIFETIME)
    }

    /// Forgets a nonce once used, so that an answer cannot be replayed.
    pub fn consume(&mut self, nonce: &str) {
        self.issued.remove(nonce);
    }

    /// Drops lapsed nonces.
    pub fn expire(&mut self, now: Instant) {
        self.issued
            .retain(|_, t| now.saturating_duration_since(*t) < NONCE_LIFETIME);
    }
}

/// What an answer to a challenge is worth.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// The right password for a nonce we handed out and still honour.
    Valid,
    /// The right password for a nonce we no longer honour: challenge again, `stale=true`.
    Stale,
    /// A wrong password (or an answer for another realm).
    Wrong,
    /// No such user.
    UnknownUser,
}

/// Checks `creds` of an AUTH against the user's stored `hashes` (`None`: no such user).
pub fn check(
    creds: &Credentials,
    realm: &str,
    hashes: Option<&Hashes>,
    nonces: &Nonces,
    now: Instant,
) -> Verdict {
    let Some(h) = hashes else {
        return Verdict::UnknownUser;
    };
    if !creds.realm.eq_ignore_ascii_case(realm) {
        return Verdict::Wrong;
    }
    if !creds.verify(h.for_algorithm(creds.algorithm), "AUTH") {
        Verdict::Wrong
    } else if nonces.is_fresh(&creds.nonce, now) {
        Verdict::Valid
    } else {
        Verdict::Stale
    }
}

/// The credentials of an AUTH, when its `Authorization` header parses.
pub fn credentials(request: &Frame) -> Option<Credentials> {
    Credentials::parse(request.header("Authorization")?).ok()
}

/// The validity an AUTH asks for: [`DEFAULT_EXPIRES`] without `Expires`, at most that.
/// `Err` carries the 423 (with `Min-Expires`) for a value below [`MIN_EXPIRES`], or the
/// 400 for one that is not a number.
pub fn requested_expires(request: &Frame) -> Result<u32, Option<Box<Frame>>> {
    let Some(v) = request.header("Expires") else {
        return Ok(DEFAULT_EXPIRES);
    };
    let Ok(secs) = v.trim().parse::<u64>() else {
        return Err(request.response(400, Some("Bad Request")).map(Box::new));
    };
    if secs < u64::from(MIN_EXPIRES) {
        let mut r = request.response(423, Some("Interval Out-of-Bounds"));
        if let Some(r) = r.as_mut() {
            push(r, "Min-Expires", MIN_EXPIRES.to_string());
        }
        return Err(r.map(Box::new));
    }
    Ok(u32::try_from(secs).unwrap_or(u32::MAX).min(DEFAULT_EXPIRES))
}

fn push(frame: &mut Frame, name: &str, value: String) {
    frame.headers.push(Header {
        name: name.to_string(),
        value,
    });
}

/// The 401 to an AUTH: a digest challenge in `realm` with `nonce`.
pub fn challenge(request: &Frame, realm: &str, nonce: String, stale: bool) -> Option<Frame> {
    let c = Challenge {
        realm: realm.to_string(),
        nonce,
        opaque: None,
        algorithm: Algorithm::Md5,
        qop_auth: true,
        stale,
    };
    let mut r = request.response(401, Some("Unauthorized"))?;
    push(&mut r, "WWW-Authenticate", c.to_header());
    Some(r)
}

/// The 200 to an AUTH: the client's `Use-Path` and how long it holds.
pub fn granted(request: &Frame, use_path: &Uri, expires: u32) -> Option<Frame> {
    let mut r = request.response(200, Some("OK"))?;
    push(&mut r, "Use-Path", use_path.to_string());
    push(&mut r, "Expires", expires.to_string());
    Some(r)
}

#[cfg(test)]
mod tests {
    use super::*;
    use sipsimple::msrp::auth::{AuthClient, AuthStep};
    use sipsimple::msrp::Method;
    use sipsimple::rng::Rng;

    fn uri(s: &str) -> Uri {
        Uri::parse(s).expect("valid")
    }

    fn auth_request(expires: Option<&str>) -> Frame {
        let mut f = Frame::request(
            Method::Auth,
            "tid1234".into(),
            vec![uri("msrp://127.0.0.1:2855;tcp")],
            vec![uri("msrp://c.invalid:9/c1;tcp")],
        );
        if let Some(e) = expires {
            f.headers.push(Header {
                name: "Expires".into(),
                value: e.into(),
            });
        }
        f
    }

    #[test]
    fn expires_default_cap_and_bounds() {
        assert_eq!(requested_expires(&auth_request(None)), Ok(DEFAULT_EXPIRES));
        assert_eq!(requested_expires(&auth_request(Some("600"))), Ok(600));
        assert_eq!(
            requested_expires(&auth_request(Some("99999999999"))),
            Ok(DEFAULT_EXPIRES)
        );
        let low = requested_expires(&auth_request(Some("5")))
            .expect_err("too short")
            .expect("answered");
        assert_eq!(low.code(), Some(423));
        assert_eq!(low.header("Min-Expires"), Some("60"));
        let bad = requested_expires(&auth_request(Some("soon")))
            .expect_err("not a number")
            .expect("answered");
        assert_eq!(bad.code(), Some(400));
    }

    /// The shared crate's client answers our challenge; right, wrong, stale and unknown.
    #[test]
    fn challenge_and_verdicts_with_the_shared_client() {
        let now = Instant::now();
        let mut nonces = Nonces::default();
        let mut rng = Rng::from_seed(3);
        let hashes = Hashes::new("alice", "sipsimple.local", "secret");
        let mut answer = |password: &str, nonces: &mut Nonces| {
            let mut client = AuthClient::new(
                uri("msrp://127.0.0.1:2855;tcp"),
                uri("msrp://c.invalid:9/c1;tcp"),
                "alice",
                password,
            );
            let first = client.start(&mut rng);
            assert!(credentials(&first).is_none());
            let r = challenge(&first, "sipsimple.local", nonces.issue(now), false).expect("a 401");
            assert_eq!(r.code(), Some(401));
            assert_eq!(r.to_path, first.from_path);
            let AuthStep::Send(second) = client.handle_response(&mut rng, &r) else {
                panic!("answered");
            };
            credentials(&second).expect("credentials")
        };
        let good = answer("secret", &mut nonces);
        assert_eq!(
            check(&good, "sipsimple.local", Some(&hashes), &nonces, now),
            Verdict::Valid
        );
        assert_eq!(
            check(&good, "sipsimple.local", None, &nonces, now),
            Verdict::UnknownUser
        );
        assert_eq!(
            check(&good, "other.realm", Some(&hashes), &nonces, now),
            Verdict::Wrong
        );
        let later = now + NONCE_LIFETIME;
        assert_eq!(
            check(&good, "sipsimple.local", Some(&hashes), &nonces, later),
            Verdict::Stale
        );
        nonces.consume(&good.nonce);
        assert_eq!(
            check(&good, "sipsimple.local", Some(&hashes), &nonces, now),
            Verdict::Stale
        );
        let bad = answer("guess", &mut nonces);
        assert_eq!(
            check(&bad, "sipsimple.local", Some(&hashes), &nonces, now),
            Verdict::Wrong
        );
        let ok = granted(
            &auth_request(None),
            &uri("msrp://127.0.0.1:2855/abc;tcp"),
            600,
        )
        .expect("a 200");
        assert_eq!(ok.header("Use-Path"), Some("msrp://127.0.0.1:2855/abc;tcp"));
        assert_eq!(ok.header("Expires"), Some("600"));
        nonces.expire(later);
        assert!(nonces.issued.is_empty());
    }
}
