//! Per-source protections of the edge: a token bucket per source address for requests, and
//! the lockout of a source after too many wrong digest answers (RFC 3261 §26.1.5, denial of
//! service; RFC 7616 §5 on guessing attacks). Behind a trusted front proxy the source is the
//! client it names ([`client_key`]).
//!
//! Pure logic over the caller's clock ([`Time`]); each table is bounded so that a flood of
//! spoofed sources cannot grow memory without limit.

use sipsimple::sip::Message;
use sipsimple::transaction::Dest;
use sipsimple::Time;
use std::collections::HashMap;
use std::net::IpAddr;
use std::time::Duration;

/// Sources remembered at most by each table; past that the stalest entries go.
const MAX_SOURCES: usize = 100_000;

/// The key of a source: its IP address, or its flow for a connection without one.
pub fn source_key(d: &Dest) -> String {
    match (d.host.is_empty(), d.flow) {
        (true, Some(f)) => format!("flow:{f}"),
        _ => d.host.to_ascii_lowercase(),
    }
}

/// The header in which a trusted front proxy names the client a request came from (the
/// reference Kamailio config sets it to `$si`, replacing any the client sent).
pub const SOURCE_HEADER: &str = "X-Sipsimple-Source";

/// Whether `source` is one of the `trusted` front proxies.
pub fn is_trusted(source: &Dest, trusted: &[IpAddr]) -> bool {
    !trusted.is_empty()
        && source
            .host
            .trim_matches(['[', ']'])
            .parse::<IpAddr>()
            .is_ok_and(|ip| trusted.contains(&ip))
}

/// The key rate limits and lockouts count `msg` under: the client a trusted front proxy
/// names in [`SOURCE_HEADER`], else (another sender, or no valid header) [`source_key`].
/// From anyone else the header is ignored, so a client cannot pick its own key.
pub fn client_key(source: &Dest, msg: &Message, trusted: &[IpAddr]) -> String {
    if is_trusted(source, trusted) {
        let named = msg
            .header(SOURCE_HEADER)
            .and_then(|v| v.trim().trim_matches(['[', ']']).parse::<IpAddr>().ok());
        if let Some(client) = named {
            return client.to_string();
        }
    }
    source_key(source)
}

/// Drops the entries `keep` refuses, then the stalest ones, until there is room for one more.
fn make_room<V>(map: &mut HashMap<String, V>, keep: impl Fn(&V) -> bool, age: impl Fn(&V) -> Time) {
    if map.len() < MAX_SOURCES {
        return;
    }
    map.retain(|_, v| keep(v));
    while map.len() >= MAX_SOURCES {
        let Some(oldest) = map
            .iter()
            .min_by_key(|(_, v)| age(v))
            .map(|(k, _)| k.clone())
        else {
            return;
        };
        map.remove(&oldest);
    }
}

/// Requests per second and burst of the token bucket; a rate of 0 turns it off.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RatePolicy {
    /// Tokens added per second.
    pub per_second: u32,
    /// The bucket's size.
    pub burst: u32,
}

#[derive(Debug, Clone, Copy)]
struct Bucket {
    /// Tokens, in thousandths.
    milli: u64,
    at: Time,
}

/// A token bucket per source.
#[derive(Debug)]
pub struct RateLimiter {
    policy: RatePolicy,
    buckets: HashMap<String, Bucket>,
}

impl RateLimiter {
    /// A limiter with `policy`.
    pub fn new(policy: RatePolicy) -> RateLimiter {
        RateLimiter {
            policy,
            buckets: HashMap::new(),
        }
    }

    /// Takes a token for `key` at `now`; `false` when its bucket is empty.
    pub fn allow(&mut self, now: Time, key: &str) -> bool {
        let RatePolicy { per_second, burst } = self.policy;
        if per_second == 0 {
            return true;
        }
        let full = u64::from(burst.max(1)) * 1000;
        let refill = |b: &Bucket, now: Time| {
            let ms = now.saturating_since(b.at).as_millis();
            let added = u64::try_from(ms)
                .unwrap_or(u64::MAX)
                .saturating_mul(u64::from(per_second));
            b.milli.saturating_add(added).min(full)
        };
        if !self.buckets.contains_key(key) {
            make_room(&mut self.buckets, |b| refill(b, now) < full, |b| b.at);
        }
        let b = self.buckets.entry(key.to_string()).or_insert(Bucket {
            milli: full,
            at: now,
        });
        b.milli = refill(b, now);
        b.at = now;
        if b.milli >= 1000 {
            b.milli -= 1000;
            true
        } else {
            false
        }
    }
}

/// When a source is locked out: `after` wrong answers within `window` lock it for `duration`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LockoutPolicy {
    /// Wrong answers that lock a source out.
    pub after: u32,
    /// The window they are counted in.
    pub window: Duration,
    /// How long the lockout lasts.
    pub duration: Duration,
}

impl Default for LockoutPolicy {
    fn default() -> Self {
        LockoutPolicy {
            after: 20,
            window: Duration::from_secs(300),
            duration: Duration::from_secs(900),
        }
    }
}

#[derive(Debug, Clone, Copy)]
struct Failures {
    count: u32,
    since: Time,
    locked_until: Option<Time>,
}

/// Wrong digest answers per source, and the sources locked out.
#[derive(Debug)]
pub struct Lockout {
    policy: LockoutPolicy,
    sources: HashMap<String, Failures>,
    /// Wrong answers seen.
    pub failures_total: u64,
    /// Lockouts begun.
    pub lockouts_total: u64,
}

impl Lockout {
    /// A lockout table with `policy`.
    pub fn new(policy: LockoutPolicy) -> Lockout {
        Lockout {
            policy,
            sources: HashMap::new(),
            failures_total: 0,
            lockouts_total: 0,
        }
    }

    /// `true` while `key` is locked out.
    pub fn is_locked(&self, now: Time, key: &str) -> bool {
        self.sources
            .get(key)
            .and_then(|f| f.locked_until)
            .is_some_and(|until| now < until)
    }

    /// Counts a wrong answer from `key`; `true` when it starts a lockout.
    pub fn failed(&mut self, now: Time, key: &str) -> bool {
        self.failures_total += 1;
        let policy = self.policy;
        if !self.sources.contains_key(key) {
            let live = |f: &Failures| {
                f.locked_until.is_some_and(|u| now < u)
                    || now.saturating_since(f.since) < policy.window
            };
            make_room(&mut self.sources, live, |f| f.since);
        }
        let f = self.sources.entry(key.to_string()).or_insert(Failures {
            count: 0,
            since: now,
            locked_until: None,
        });
        if f.locked_until.is_some_and(|u| now >= u)
            || now.saturating_since(f.since) >= policy.window
        {
            *f = Failures {
                count: 0,
                since: now,
                locked_until: None,
            };
        }
        f.count = f.count.saturating_add(1);
        if f.locked_until.is_none() && f.count >= policy.after {
            f.locked_until = Some(now + policy.duration);
            self.lockouts_total += 1;
            return true;
        }
        false
    }

    /// Forgets sources whose window and lockout have passed.
    pub fn expire(&mut self, now: Time) {
        let policy = self.policy;
        self.sources.retain(|_, f| {
            f.locked_until.is_some_and(|u| now < u) || now.saturating_since(f.since) < policy.window
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sipsimple::transaction::TransportKind;

    fn request(extra: &str) -> Message {
        Message::parse(
            format!(
                "REGISTER sip:d SIP/2.0\r\nVia: SIP/2.0/UDP p;branch=z9hG4bK1\r\nFrom: <sip:a@d>;tag=1\r\n\
                 To: <sip:a@d>\r\nCall-ID: c\r\nCSeq: 1 REGISTER\r\n{extra}Content-Length: 0\r\n\r\n"
            )
            .as_bytes(),
        )
        .expect("parses")
    }

    #[test]
    fn a_trusted_proxy_names_the_client_and_nobody_else_can() {
        let trusted: Vec<IpAddr> = ["10.0.0.1", "::1"]
            .iter()
            .map(|a| a.parse().expect("an address"))
            .collect();
        let proxy = Dest::new(TransportKind::Udp, "10.0.0.1", 5060);
        let other = Dest::new(TransportKind::Udp, "10.0.0.2", 5060);
        let named = request("X-Sipsimple-Source: 192.0.2.7\r\n");
        assert_eq!(client_key(&proxy, &named, &trusted), "192.0.2.7");
        // Anyone else: the header is ignored.
        assert_eq!(client_key(&other, &named, &trusted), "10.0.0.2");
        assert_eq!(client_key(&proxy, &named, &[]), "10.0.0.1");
        // The proxy without a header, or with one that is no address: the proxy itself.
        assert_eq!(client_key(&proxy, &request(""), &trusted), "10.0.0.1");
        let junk = request("X-Sipsimple-Source: 192.0.2.7, 192.0.2.8\r\n");
        assert_eq!(client_key(&proxy, &junk, &trusted), "10.0.0.1");
        // IPv6 both ways (a bracketed client too).
        let v6 = Dest::new(TransportKind::Tcp, "::1", 5060);
        let named6 = request("X-Sipsimple-Source: [2001:db8::5]\r\n");
        assert_eq!(client_key(&v6, &named6, &trusted), "2001:db8::5");
    }

    fn at(ms: u64) -> Time {
        Time::from_millis(ms)
    }

    #[test]
    fn bucket_allows_a_burst_then_the_rate() {
        let mut r = RateLimiter::new(RatePolicy {
            per_second: 10,
            burst: 3,
        });
        assert!((0..3).all(|_| r.allow(at(0), "a")));
        assert!(!r.allow(at(0), "a"));
        assert!(r.allow(at(0), "b"), "sources are separate");
        assert!(!r.allow(at(50), "a"));
        assert!(r.allow(at(100), "a"));
        let mut off = RateLimiter::new(RatePolicy {
            per_second: 0,
            burst: 0,
        });
        assert!((0..1000).all(|_| off.allow(at(0), "a")));
    }

    #[test]
    fn lockout_after_n_failures_within_the_window() {
        let policy = LockoutPolicy {
            after: 3,
            window: Duration::from_secs(10),
            duration: Duration::from_secs(60),
        };
        let mut l = Lockout::new(policy);
        assert!(!l.failed(at(0), "a"));
        assert!(!l.failed(at(1_000), "a"));
        // The window has passed: counting starts again.
        assert!(!l.failed(at(20_000), "a"));
        assert!(!l.failed(at(21_000), "a"));
        assert!(!l.is_locked(at(21_000), "a"));
        assert!(l.failed(at(22_000), "a"));
        assert!(l.is_locked(at(22_000), "a"));
        assert!(!l.is_locked(at(22_000), "b"));
        assert!(l.is_locked(at(81_999), "a"));
        assert!(!l.is_locked(at(82_000), "a"));
        assert_eq!((l.failures_total, l.lockouts_total), (5, 1));
        l.expire(at(200_000));
        assert!(l.sources.is_empty());
    }
}
