//! Digest authentication on the server side (RFC 3261 §22, RFC 7616), shared by the registrar
//! (`401` + `WWW-Authenticate` / `Authorization`, §22.2) and the proxy (`407` +
//! `Proxy-Authenticate` / `Proxy-Authorization`, §22.3): nonces with a lifetime, challenges,
//! and the check of an answer against the stored HA1 (constant time, the same work for
//! unknown users as for wrong passwords).
//!
//! Nonces are stateless (RFC 7616 §5.4's suggestion): the wall-clock time they were issued,
//! random bits and a MAC under a key over both and the realm. Nothing is remembered, so a
//! flood of challenges costs no memory, and the nodes of a cluster, which share the key
//! (`cluster.secret`), take answers to one another's challenges (a round-robin front proxy,
//! or a failover between challenge and answer).
//!
//! The one thing remembered is, for each nonce answered rightly, the highest nonce count
//! (`nc`) taken: an answer that repeats a count (RFC 7616 §3.4.5: a replay) is treated as
//! stale and challenged again. That table is per node.
//!
//! Pure logic: the caller hands in the time and the user's stored hashes.

use crate::sipmsg::reply;
use crate::store::Hashes;
use sipsimple::auth::{constant_time_eq, Algorithm, Challenge, Credentials};
use sipsimple::sip::Message;
use sipsimple::Time;
use std::collections::HashMap;
use std::time::Duration;

/// How long a nonce may be answered.
pub const NONCE_LIFETIME: Duration = Duration::from_secs(300);
/// How far in the future a nonce's issue time may be (clocks of cluster nodes differ a bit).
const CLOCK_SKEW: Duration = Duration::from_secs(5);
/// Hex digits of a nonce: issue time (16), random bits (16), MAC (32).
const NONCE_LEN: usize = 64;
/// Nonces whose highest `nc` is remembered at most; only right answers add one, so this
/// bounds what the users themselves make within a nonce's lifetime.
const MAX_COUNTED: usize = 100_000;

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

/// The challenges and checks of one realm.
pub struct Digest {
    realm: String,
    /// The key of the nonces' MAC: random for a lone gateway, the cluster's secret in a cluster.
    key: String,
    /// The wall clock (Unix ms) at [`Time`] zero: nonces carry wall-clock times, which every
    /// node reads alike.
    epoch_unix_ms: u64,
    /// For each nonce answered rightly: the highest `nc` taken and when the nonce lapses
    /// (Unix ms).
    counts: HashMap<String, (u32, u64)>,
}

impl std::fmt::Debug for Digest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Digest")
            .field("realm", &self.realm)
            .finish_non_exhaustive()
    }
}

impl Digest {
    /// Digest for `realm` (lower case: our SIP domain), with a random nonce key and the wall
    /// clock at [`Time`] zero taken as 0 until [`set_clock`](Self::set_clock).
    pub fn new(realm: &str) -> Digest {
        Digest {
            realm: realm.to_ascii_lowercase(),
            key: crate::random::hex(32),
            epoch_unix_ms: 0,
            counts: HashMap::new(),
        }
    }

    /// Sets the key of the nonces' MAC (every node of a cluster the same).
    pub fn set_key(&mut self, key: &str) {
        self.key = key.to_string();
    }

    /// Sets the wall clock, in Unix ms, at [`Time`] zero.
    pub fn set_clock(&mut self, epoch_unix_ms: u64) {
        self.epoch_unix_ms = epoch_unix_ms;
    }

    fn unix_ms(&self, now: Time) -> u64 {
        self.epoch_unix_ms.saturating_add(now.as_millis())
    }

    fn nonce_mac(&self, issued_and_random: &str) -> String {
        let h = Algorithm::Sha256.hex(&format!(
            "{}|{}|{issued_and_random}|{}",
            self.key, self.realm, self.key
        ));
        h.get(..32).unwrap_or(&h).to_string()
    }

    /// A new nonce issued `now`.
    fn nonce(&self, now: Time) -> String {
        let head = format!("{:016x}{}", self.unix_ms(now), crate::random::hex(16));
        let mac = self.nonce_mac(&head);
        format!("{head}{mac}")
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
    pub fn challenge(&self, now: Time, req: &Message, scheme: Scheme, stale: bool) -> Message {
        let nonce = self.nonce(now);
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

    /// When a nonce we (or a node with our key) issued lapses, in Unix ms, if it is still
    /// fresh: issued less than [`NONCE_LIFETIME`] ago, and not in the future.
    fn fresh_until(&self, nonce: &str, now: Time) -> Option<u64> {
        if nonce.len() != NONCE_LEN || !nonce.is_ascii() {
            return None;
        }
        let (head, mac) = nonce.split_at(32);
        if !constant_time_eq(self.nonce_mac(head).as_bytes(), mac.as_bytes()) {
            return None;
        }
        let issued = head
            .get(..16)
            .and_then(|h| u64::from_str_radix(h, 16).ok())?;
        let now = self.unix_ms(now);
        let lifetime = u64::try_from(NONCE_LIFETIME.as_millis()).unwrap_or(u64::MAX);
        let skew = u64::try_from(CLOCK_SKEW.as_millis()).unwrap_or(0);
        (issued <= now.saturating_add(skew) && now.saturating_sub(issued) < lifetime)
            .then(|| issued.saturating_add(lifetime))
    }

    /// Takes the nonce count of a right answer: `false` when it is not above the highest
    /// one taken for that nonce (a replay). Answers without `qop` carry no count.
    fn take_count(&mut self, creds: &Credentials, until: u64, now: Time) -> bool {
        let Some((nc, _)) = &creds.qop_auth else {
            return true;
        };
        let Ok(nc) = u32::from_str_radix(nc, 16) else {
            return false;
        };
        if self.counts.len() >= MAX_COUNTED && !self.counts.contains_key(&creds.nonce) {
            let now = self.unix_ms(now);
            self.counts.retain(|_, (_, until)| *until > now);
            if self.counts.len() >= MAX_COUNTED {
                // Still full of live nonces: forget the one that lapses first.
                let first = self
                    .counts
                    .iter()
                    .min_by_key(|(_, (_, until))| *until)
                    .map(|(n, _)| n.clone());
                if let Some(n) = first {
                    self.counts.remove(&n);
                }
            }
        }
        let entry = self.counts.entry(creds.nonce.clone()).or_insert((0, until));
        if nc <= entry.0 {
            return false;
        }
        entry.0 = nc;
        true
    }

    /// Checks `creds` for a request with `method` against the stored `hashes` (`None`: no
    /// such user). Unknown users and wrong passwords get the same answer after the same
    /// work; the compare is constant-time ([`Credentials::verify`]).
    pub fn check(
        &mut self,
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
            return Check::Wrong;
        }
        match self.fresh_until(&creds.nonce, now) {
            Some(until) if self.take_count(creds, until, now) => Check::Valid,
            // Lapsed, not ours, or a count already taken (a replay): a fresh challenge.
            _ => Check::Stale,
        }
    }

    /// Forgets the counts of lapsed nonces.
    pub fn expire(&mut self, now: Time) {
        let now = self.unix_ms(now);
        self.counts.retain(|_, (_, until)| *until > now);
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
    }

    /// Two nodes with one key (a cluster): each takes the answer to the other's challenge,
    /// though their clocks started apart; a node with another key, a nonce from the future,
    /// an old one or one altered by a byte do not verify.
    #[test]
    fn nonces_verify_across_nodes_that_share_the_key() {
        let node = |key: &str, epoch: u64| {
            let mut d = Digest::new("D");
            d.set_key(key);
            d.set_clock(epoch);
            d
        };
        // Node A started at Unix ms 1_000_000, node B 400 s later.
        let mut a = node("shared-secret", 1_000_000);
        let mut b = node("shared-secret", 1_400_000);
        let mut other = node("another-secret", 1_400_000);
        let parser = Digest::new("D");
        let h = Hashes::new("alice", "d", "pw");
        // A challenges at its 500 s (Unix 1_500_000); B checks at its 150 s (Unix 1_550_000).
        let r = a.challenge(
            Time::from_millis(500_000),
            &invite(""),
            Scheme::Proxy,
            false,
        );
        let c = Challenge::parse(r.header("Proxy-Authenticate").expect("header")).expect("ok");
        assert_eq!(c.nonce.len(), NONCE_LEN);
        let creds = |nonce: &str| {
            let mut c = c.clone();
            c.nonce = nonce.to_string();
            let a = c.answer("alice", "pw", "INVITE", "sip:bob@example.com", "cn", 1);
            let msg = invite(&format!("Proxy-Authorization: {a}\r\n"));
            parser.credentials(&msg, Scheme::Proxy).expect("ours")
        };
        let t = Time::from_millis(150_000);
        assert_eq!(
            b.check(t, &creds(&c.nonce), "INVITE", Some(&h)),
            Check::Valid
        );
        assert_eq!(
            other.check(t, &creds(&c.nonce), "INVITE", Some(&h)),
            Check::Stale
        );
        let mut altered = c.nonce.clone().into_bytes();
        altered[3] = if altered[3] == b'0' { b'1' } else { b'0' };
        let altered = String::from_utf8(altered).expect("hex");
        assert_eq!(
            b.check(t, &creds(&altered), "INVITE", Some(&h)),
            Check::Stale
        );
        // 300 s after issue it is stale; 10 s before it (B's clock behind), too far ahead.
        let old = Time::from_millis(100_000 + 300_000);
        assert_eq!(
            b.check(old, &creds(&c.nonce), "INVITE", Some(&h)),
            Check::Stale
        );
        let early = a.challenge(
            Time::from_millis(500_000 + 10_000),
            &invite(""),
            Scheme::Proxy,
            false,
        );
        let early = Challenge::parse(early.header("Proxy-Authenticate").expect("h")).expect("ok");
        assert_eq!(
            a.check(
                Time::from_millis(500_000),
                &creds(&early.nonce),
                "INVITE",
                Some(&h)
            ),
            Check::Stale
        );
        assert_eq!(
            b.check(t, &creds("not-a-nonce"), "INVITE", Some(&h)),
            Check::Stale
        );
        // 64 bytes, but not ASCII: refused before any slicing.
        let wide = format!("{}é{}", &c.nonce[..31], &c.nonce[33..]);
        assert_eq!(wide.len(), NONCE_LEN);
        assert_eq!(b.check(t, &creds(&wide), "INVITE", Some(&h)), Check::Stale);
    }

    /// A right answer is taken once per nonce count: the same count again (a replay) is
    /// stale, a higher one is taken, a lower one is stale; wrong answers count nothing.
    #[test]
    fn a_nonce_count_is_taken_once() {
        let mut d = Digest::new("D");
        let t = Time::from_millis(1_000);
        let r = d.challenge(t, &invite(""), Scheme::Proxy, false);
        let c = Challenge::parse(r.header("Proxy-Authenticate").expect("header")).expect("ok");
        let h = Hashes::new("alice", "d", "pw");
        let creds = |d: &Digest, pw: &str, nc: u32| {
            let a = c.answer("alice", pw, "INVITE", "sip:bob@example.com", "cn", nc);
            let msg = invite(&format!("Proxy-Authorization: {a}\r\n"));
            d.credentials(&msg, Scheme::Proxy).expect("ours")
        };
        let wrong = creds(&d, "nope", 1);
        assert_eq!(d.check(t, &wrong, "INVITE", Some(&h)), Check::Wrong);
        let first = creds(&d, "pw", 1);
        assert_eq!(d.check(t, &first, "INVITE", Some(&h)), Check::Valid);
        assert_eq!(
            d.check(t, &first, "INVITE", Some(&h)),
            Check::Stale,
            "a replay"
        );
        let second = creds(&d, "pw", 2);
        assert_eq!(d.check(t, &second, "INVITE", Some(&h)), Check::Valid);
        assert_eq!(
            d.check(t, &first, "INVITE", Some(&h)),
            Check::Stale,
            "an older count"
        );
        // Another nonce counts on its own; lapsed nonces' counts go.
        let r2 = d.challenge(t, &invite(""), Scheme::Proxy, false);
        let c2 = Challenge::parse(r2.header("Proxy-Authenticate").expect("h")).expect("ok");
        let a2 = c2.answer("alice", "pw", "INVITE", "sip:bob@example.com", "cn", 1);
        let other = d
            .credentials(
                &invite(&format!("Proxy-Authorization: {a2}\r\n")),
                Scheme::Proxy,
            )
            .expect("ours");
        assert_eq!(d.check(t, &other, "INVITE", Some(&h)), Check::Valid);
        assert_eq!(d.counts.len(), 2);
        d.expire(t + NONCE_LIFETIME);
        assert!(d.counts.is_empty());
    }
}
