//! The counters of `GET /metrics`, in the Prometheus text exposition format (version 0.0.4),
//! written by hand: a few counters do not need a metrics crate. The shell counts what it
//! sees on the wire here; the proxy core reports what only it knows ([`Stats`]).

use crate::proxy::Stats;
use std::fmt::Write;
use std::sync::atomic::{AtomicU64, Ordering};

/// Methods counted by name; any other is counted as `other`, so that peers cannot grow the
/// label set.
const METHODS: [&str; 14] = [
    "INVITE",
    "ACK",
    "CANCEL",
    "BYE",
    "OPTIONS",
    "REGISTER",
    "MESSAGE",
    "INFO",
    "UPDATE",
    "PRACK",
    "SUBSCRIBE",
    "NOTIFY",
    "REFER",
    "PUBLISH",
];

/// Why a message was not handled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Drop {
    /// The source went over its request rate.
    RateLimited,
    /// Larger than `security.max_message_size`.
    TooLarge,
    /// Not a SIP message.
    Malformed,
}

/// Counters shared by every task.
#[derive(Debug, Default)]
pub struct Metrics {
    requests: [AtomicU64; METHODS.len() + 1],
    /// Responses by class 1xx..6xx, received and sent.
    responses_in: [AtomicU64; 6],
    responses_out: [AtomicU64; 6],
    transport_errors: AtomicU64,
    rate_limited: AtomicU64,
    too_large: AtomicU64,
    malformed: AtomicU64,
    ws_refused: AtomicU64,
}

fn bump(c: &AtomicU64) {
    c.fetch_add(1, Ordering::Relaxed);
}

/// The class index (0 for 1xx) of a status line's code, read from the wire bytes.
fn class_of(bytes: &[u8]) -> Option<usize> {
    let rest = bytes.strip_prefix(b"SIP/2.0 ")?;
    match rest.first()? {
        c @ b'1'..=b'6' => Some(usize::from(c - b'1')),
        _ => None,
    }
}

impl Metrics {
    /// A message arrived (`method` for a request) or is sent (`bytes` of a response).
    pub fn received(&self, method: Option<&str>, bytes: &[u8]) {
        match method {
            Some(m) => {
                let i = METHODS
                    .iter()
                    .position(|k| *k == m)
                    .unwrap_or(METHODS.len());
                if let Some(c) = self.requests.get(i) {
                    bump(c);
                }
            }
            None => {
                if let Some(c) = class_of(bytes).and_then(|i| self.responses_in.get(i)) {
                    bump(c);
                }
            }
        }
    }

    /// A message leaves; responses are counted by class.
    pub fn sent(&self, bytes: &[u8]) {
        if let Some(c) = class_of(bytes).and_then(|i| self.responses_out.get(i)) {
            bump(c);
        }
    }

    /// A send failed, a connection broke or could not be made.
    pub fn transport_error(&self) {
        bump(&self.transport_errors);
    }

    /// A message was dropped or refused before the core saw it.
    pub fn dropped(&self, why: Drop) {
        bump(match why {
            Drop::RateLimited => &self.rate_limited,
            Drop::TooLarge => &self.too_large,
            Drop::Malformed => &self.malformed,
        });
    }

    /// A WebSocket upgrade was refused (Origin).
    pub fn ws_refused(&self) {
        bump(&self.ws_refused);
    }

    /// The exposition text.
    pub fn render(&self, core: Stats) -> String {
        let mut out = String::with_capacity(4096);
        let get = |c: &AtomicU64| c.load(Ordering::Relaxed);
        let mut metric = |name: &str, kind: &str, help: &str, lines: &[(String, u64)]| {
            let _ = writeln!(out, "# HELP {name} {help}");
            let _ = writeln!(out, "# TYPE {name} {kind}");
            for (labels, v) in lines {
                let _ = writeln!(out, "{name}{labels} {v}");
            }
        };
        let one = |v: u64| vec![(String::new(), v)];
        let as_u64 = |v: usize| u64::try_from(v).unwrap_or(u64::MAX);
        metric(
            "sipsimple_registrations",
            "gauge",
            "Registered contacts that have not expired.",
            &one(as_u64(core.registrations)),
        );
        metric(
            "sipsimple_dialogs_active",
            "gauge",
            "Answered calls through the proxy whose BYE has not come yet.",
            &one(as_u64(core.dialogs)),
        );
        let names = METHODS.iter().copied().chain(["other"]);
        let requests: Vec<(String, u64)> = names
            .zip(&self.requests)
            .map(|(m, c)| (format!("{{method=\"{m}\"}}"), get(c)))
            .collect();
        metric(
            "sipsimple_requests_total",
            "counter",
            "SIP requests received, by method.",
            &requests,
        );
        let mut responses = Vec::new();
        for (dir, counters) in [("in", &self.responses_in), ("out", &self.responses_out)] {
            for (i, c) in counters.iter().enumerate() {
                responses.push((
                    format!("{{direction=\"{dir}\",class=\"{}xx\"}}", i + 1),
                    get(c),
                ));
            }
        }
        metric(
            "sipsimple_responses_total",
            "counter",
            "SIP responses received (in) and sent (out), by code class.",
            &responses,
        );
        metric(
            "sipsimple_transport_errors_total",
            "counter",
            "Sends that failed and connections that broke or could not be made.",
            &one(get(&self.transport_errors)),
        );
        metric(
            "sipsimple_auth_failures_total",
            "counter",
            "Wrong digest answers (REGISTER and proxy challenges).",
            &one(core.auth_failures),
        );
        metric(
            "sipsimple_lockouts_total",
            "counter",
            "Sources locked out after too many wrong digest answers.",
            &one(core.lockouts),
        );
        metric(
            "sipsimple_dropped_total",
            "counter",
            "Messages dropped or refused before processing, by reason.",
            &[
                ("{reason=\"rate_limited\"}".into(), get(&self.rate_limited)),
                ("{reason=\"too_large\"}".into(), get(&self.too_large)),
                ("{reason=\"malformed\"}".into(), get(&self.malformed)),
            ],
        );
        metric(
            "sipsimple_websocket_refused_total",
            "counter",
            "WebSocket upgrades refused for their Origin.",
            &one(get(&self.ws_refused)),
        );
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_and_renders() {
        let m = Metrics::default();
        m.received(Some("REGISTER"), b"");
        m.received(Some("FOO"), b"");
        m.received(None, b"SIP/2.0 200 OK\r\n");
        m.sent(b"SIP/2.0 401 Unauthorized\r\n");
        m.sent(b"INVITE sip:x SIP/2.0\r\n");
        let text = m.render(Stats {
            registrations: 2,
            ..Stats::default()
        });
        assert!(text.contains("sipsimple_requests_total{method=\"REGISTER\"} 1\n"));
        assert!(text.contains("sipsimple_requests_total{method=\"other\"} 1\n"));
        assert!(text.contains("sipsimple_responses_total{direction=\"in\",class=\"2xx\"} 1\n"));
        assert!(text.contains("sipsimple_responses_total{direction=\"out\",class=\"4xx\"} 1\n"));
        assert!(text.contains("sipsimple_registrations 2\n"));
        assert!(text.contains("# TYPE sipsimple_lockouts_total counter\n"));
    }
}
