//! Media anchoring (issue #6): when a call crosses between a WebRTC leg (a browser on a
//! WebSocket flow) and a SIP leg (UDP/TCP/TLS), the gateway rewrites the SDP and relays the
//! audio: ICE + DTLS-SRTP towards the browser (`webrtc_leg`), RTP/AVP or SDES RTP/SAVP
//! towards SIP (`rtp_leg`, `srtp`), Opus passed through or transcoded to PCMU/PCMA
//! (`codec`), RFC 4733 DTMF (`dtmf`), recordings (`recorder`) and statistics (`stats`).
//!
//! The rule is applied where messages leave the gateway ([`MediaRelay::egress`]): a message
//! whose SDP is of the other flavor than its destination speaks (WebRTC SDP going to a SIP
//! hop, plain SDP going to a browser) starts an anchored call; from then on every message of
//! that Call-ID goes through the call's queue ([`session::MediaSession`]). Browser-to-browser
//! calls are not anchored: their WebRTC media flows end to end (docs/decisions.md), and
//! SIP-to-SIP calls are left alone.

pub mod codec;
pub mod recorder;
pub mod rtp_leg;
pub mod sdp;
pub mod session;
pub mod srtp;
pub mod webrtc_leg;

mod pump;

use crate::config::Media;
use crate::gateway::Gateway;
use session::{MediaSession, Side};
use sipsimple::sip::MessageRef;
use sipsimple::transaction::Dest;
use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock, PoisonError, Weak};
use webrtc_leg::WebRtcEngine;

/// The relay's counters, for `/metrics`.
#[derive(Debug, Default)]
pub struct Counters {
    /// Calls anchored since start.
    pub sessions: AtomicU64,
    /// RTP packets sent to SIP legs.
    pub to_sip: AtomicU64,
    /// RTP packets written to browser legs.
    pub to_browser: AtomicU64,
    /// Packets dropped (before negotiation, on hold, unlatched sources, bad SRTP).
    pub dropped: AtomicU64,
    /// SDP the relay could not anchor (passed on unchanged).
    pub sdp_errors: AtomicU64,
    /// DTMF digits sent to SIP legs as RFC 4733 events.
    pub dtmf_sent: AtomicU64,
    /// DTMF digits received from SIP legs and passed to browsers.
    pub dtmf_received: AtomicU64,
    /// Calls whose SIP side sent no audio in the first 5 s (the browser was told).
    pub no_audio: AtomicU64,
    /// Calls whose SIP leg settled on Opus (passed through), PCMU and PCMA (transcoded).
    pub codec: [AtomicU64; 3],
}

impl Counters {
    /// Counts a call's SIP-leg codec once.
    pub fn count_codec(&self, c: codec::Codec) {
        let i = match c {
            codec::Codec::Opus => 0,
            codec::Codec::Pcmu => 1,
            codec::Codec::Pcma => 2,
        };
        if let Some(n) = self.codec.get(i) {
            n.fetch_add(1, Ordering::Relaxed);
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// What the calls share.
pub struct Shared {
    /// The `[media]` settings.
    pub cfg: Media,
    engine: WebRtcEngine,
    /// The counters.
    pub counters: Arc<Counters>,
    sessions: Mutex<HashMap<String, Arc<MediaSession>>>,
    gw: OnceLock<Weak<Gateway>>,
    port_seed: AtomicU32,
}

impl std::fmt::Debug for Shared {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Shared").field("cfg", &self.cfg).finish()
    }
}

impl Shared {
    /// `true` when media must stay on loopback (the media address is loopback).
    pub fn cfg_loopback_only(&self) -> bool {
        self.cfg.address.is_loopback()
    }

    /// The gateway, while it runs.
    pub fn gateway(&self) -> Option<Arc<Gateway>> {
        self.gw.get().and_then(Weak::upgrade)
    }

    /// The anchored call of `call_id`.
    pub fn session(&self, call_id: &str) -> Option<Arc<MediaSession>> {
        lock(&self.sessions).get(call_id).cloned()
    }

    fn remove(&self, call_id: &str) {
        lock(&self.sessions).remove(call_id);
    }

    /// The address SDP names for the SIP leg.
    fn advertised(&self) -> IpAddr {
        self.cfg.advertise.unwrap_or(self.cfg.address)
    }

    async fn open_io(&self) -> Result<session::Io, String> {
        let leg = self.engine.leg().await.map_err(|e| e.to_string())?;
        let seed = self.port_seed.fetch_add(7919, Ordering::Relaxed);
        let ports = rtp_leg::bind_pair(self.cfg.address, self.cfg.rtp_ports, seed)
            .await
            .map_err(|e| e.to_string())?;
        let rtp_port = ports.rtp.local_addr().map_err(|e| e.to_string())?.port();
        let rtcp_port = ports.rtcp.local_addr().map_err(|e| e.to_string())?.port();
        let mut id = [0u8; 4];
        let _ = getrandom::fill(&mut id);
        Ok(session::Io {
            leg,
            rtp: Arc::new(ports.rtp),
            rtcp: Arc::new(ports.rtcp),
            local: sdp::LocalSip {
                address: self.advertised(),
                rtp_port,
                rtcp_port,
                session_id: u64::from(u32::from_le_bytes(id)),
            },
        })
    }
}

/// The media relay of a gateway.
#[derive(Debug)]
pub struct MediaRelay {
    shared: Arc<Shared>,
    http_failures: crate::recordings::Failures,
}

/// The head (start line and headers) and the body of a message in wire form.
fn head_and_body(bytes: &[u8]) -> (&[u8], &[u8]) {
    match bytes.windows(4).position(|w| w == b"\r\n\r\n") {
        Some(i) => bytes.split_at(i + 4),
        None => (bytes, &[]),
    }
}

/// `true` when `hay` holds `needle` (ASCII, lower case), in any case.
fn contains_ignore_case(hay: &[u8], needle: &[u8]) -> bool {
    let Some((&first, _)) = needle.split_first() else {
        return true;
    };
    hay.iter().enumerate().any(|(i, b)| {
        b.to_ascii_lowercase() == first
            && hay
                .get(i..i + needle.len())
                .is_some_and(|w| w.eq_ignore_ascii_case(needle))
    })
}

/// `true` when the headers name `application/sdp`: only then can the message carry SDP
/// (the Content-Type is in the head).
fn mentions_sdp(head: &[u8]) -> bool {
    contains_ignore_case(head, b"application/sdp")
}

/// `false` when `body` cannot be WebRTC SDP as [`sdp::flavor`] sees it: none of its markers
/// (a `TLS` or `SAVPF` profile, a fingerprint) appears anywhere in it.
fn may_be_webrtc(body: &[u8]) -> bool {
    contains_ignore_case(body, b"savpf")
        || contains_ignore_case(body, b"tls")
        || contains_ignore_case(body, b"fingerprint")
}

impl MediaRelay {
    /// Binds the browser media socket.
    pub async fn new(cfg: Media) -> Result<MediaRelay, String> {
        let bind = std::net::SocketAddr::new(cfg.address, cfg.webrtc_port);
        let engine = WebRtcEngine::new(bind, cfg.advertise, cfg.address.is_loopback())
            .await
            .map_err(|e| format!("media.webrtc_port {bind}: {e}"))?;
        let mut seed = [0u8; 4];
        let _ = getrandom::fill(&mut seed);
        Ok(MediaRelay {
            shared: Arc::new(Shared {
                cfg,
                engine,
                counters: Arc::new(Counters::default()),
                sessions: Mutex::new(HashMap::new()),
                gw: OnceLock::new(),
                port_seed: AtomicU32::new(u32::from_le_bytes(seed)),
            }),
            http_failures: crate::recordings::Failures::default(),
        })
    }

    /// Ties the relay to its gateway (which owns it).
    pub fn attach(&self, gw: &Arc<Gateway>) {
        let _ = self.shared.gw.set(Arc::downgrade(gw));
    }

    /// Where recordings go (one folder per user).
    pub fn recordings_dir(&self) -> &std::path::Path {
        &self.shared.cfg.recordings_dir
    }

    /// Wrong passwords on the recordings endpoints, per source address.
    pub fn http_failures(&self) -> &crate::recordings::Failures {
        &self.http_failures
    }

    /// The browser media socket.
    pub fn webrtc_addr(&self) -> std::net::SocketAddr {
        self.shared.engine.local_addr()
    }

    /// The Prometheus text of the relay (appended to `GET /metrics`): counters, and the
    /// RTP statistics of the calls going on summed (packets, loss) or at their worst
    /// (jitter, round trip).
    pub fn render_metrics(&self) -> String {
        use std::fmt::Write;
        let c = &self.shared.counters;
        let get = |a: &AtomicU64| a.load(Ordering::Relaxed);
        let sessions: Vec<_> = lock(&self.shared.sessions).values().cloned().collect();
        let (mut recv_b, mut recv_s, mut lost_b, mut lost_s) = (0u64, 0u64, 0i64, 0i64);
        let (mut jitter, mut rtt) = (0f64, 0f64);
        for s in &sessions {
            let (b, sip) = s.stats();
            recv_b += b.packets_received;
            recv_s += sip.packets_received;
            lost_b += b.packets_lost;
            lost_s += sip.packets_lost;
            jitter = jitter.max(b.jitter_ms).max(sip.jitter_ms);
            rtt = rtt.max(s.rtt_ms().unwrap_or(0.0));
        }
        let mut out = String::new();
        let mut m = |name: &str, kind: &str, help: &str, lines: &[(&str, String)]| {
            let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
            for (labels, v) in lines {
                let _ = writeln!(out, "{name}{labels} {v}");
            }
        };
        m(
            "sipsimple_media_sessions_active",
            "gauge",
            "Calls whose media the gateway anchors now.",
            &[("", sessions.len().to_string())],
        );
        m(
            "sipsimple_media_sessions_total",
            "counter",
            "Calls anchored since start.",
            &[("", get(&c.sessions).to_string())],
        );
        m(
            "sipsimple_media_packets_relayed_total",
            "counter",
            "RTP packets relayed, by destination leg.",
            &[
                ("{to=\"sip\"}", get(&c.to_sip).to_string()),
                ("{to=\"browser\"}", get(&c.to_browser).to_string()),
            ],
        );
        m(
            "sipsimple_media_packets_dropped_total",
            "counter",
            "Packets not relayed (before negotiation, on hold, unlatched sources, bad SRTP).",
            &[("", get(&c.dropped).to_string())],
        );
        let codecs: Vec<(&str, String)> =
            ["{codec=\"opus\"}", "{codec=\"PCMU\"}", "{codec=\"PCMA\"}"]
                .into_iter()
                .zip(c.codec.iter())
                .map(|(l, n)| (l, get(n).to_string()))
                .collect();
        m(
            "sipsimple_media_sessions_codec_total",
            "counter",
            "Anchored calls by the SIP leg's codec: Opus is passed through, G.711 transcoded.",
            &codecs,
        );
        m(
            "sipsimple_media_no_audio_total",
            "counter",
            "Calls whose SIP side sent no audio in the first 5 s.",
            &[("", get(&c.no_audio).to_string())],
        );
        m(
            "sipsimple_media_sdp_errors_total",
            "counter",
            "Descriptions the relay could not anchor.",
            &[("", get(&c.sdp_errors).to_string())],
        );
        m(
            "sipsimple_media_dtmf_total",
            "counter",
            "DTMF digits relayed, by direction.",
            &[
                ("{to=\"sip\"}", get(&c.dtmf_sent).to_string()),
                ("{to=\"browser\"}", get(&c.dtmf_received).to_string()),
            ],
        );
        m(
            "sipsimple_media_packets_received",
            "gauge",
            "RTP packets received by the calls going on, by leg.",
            &[
                ("{from=\"browser\"}", recv_b.to_string()),
                ("{from=\"sip\"}", recv_s.to_string()),
            ],
        );
        m(
            "sipsimple_media_packets_lost",
            "gauge",
            "RTP packets lost (RFC 3550 A.3) in the calls going on, by leg.",
            &[
                ("{from=\"browser\"}", lost_b.to_string()),
                ("{from=\"sip\"}", lost_s.to_string()),
            ],
        );
        m(
            "sipsimple_media_jitter_ms_max",
            "gauge",
            "The largest interarrival jitter (RFC 3550 A.8) of the calls going on.",
            &[("", format!("{jitter:.3}"))],
        );
        m(
            "sipsimple_media_rtt_ms_max",
            "gauge",
            "The largest round trip time to SIP peers (from RTCP) of the calls going on.",
            &[("", format!("{rtt:.3}"))],
        );
        out
    }

    /// Looks at a message about to leave for `dest`: returns it to send now, or `None` when
    /// an anchored call has queued it (it is sent, rewritten, by the call's worker).
    pub fn egress(&self, gw: &Arc<Gateway>, dest: Dest, bytes: Vec<u8>) -> Option<(Dest, Vec<u8>)> {
        let any = !lock(&self.shared.sessions).is_empty();
        if !any {
            // Fast path: no anchored call, so only SDP of the other flavor than `dest`
            // speaks matters; plain SDP towards a SIP hop (SIP-to-SIP calls) is never it.
            let (head, body) = head_and_body(&bytes);
            if !mentions_sdp(head) || (Side::of(&dest) == Side::Sip && !may_be_webrtc(body)) {
                return Some((dest, bytes));
            }
        }
        let Ok(msg) = MessageRef::parse(&bytes) else {
            return Some((dest, bytes));
        };
        let Some(call_id) = msg.header("Call-ID").map(|h| h.value.trim().to_string()) else {
            return Some((dest, bytes));
        };
        if let Some(s) = self.shared.session(&call_id) {
            return s.enqueue(dest, bytes).err();
        }
        let is_sdp = msg.header("Content-Type").is_some_and(|h| {
            h.value
                .split(';')
                .next()
                .is_some_and(|t| t.trim().eq_ignore_ascii_case("application/sdp"))
        });
        if !is_sdp || msg.body.is_empty() {
            return Some((dest, bytes));
        }
        let Ok(parsed) = sdp::parse(msg.body) else {
            return Some((dest, bytes));
        };
        if !Side::of(&dest).needs_rewrite(&parsed) {
            return Some((dest, bytes));
        }
        let s = {
            let mut map = lock(&self.shared.sessions);
            map.entry(call_id.clone())
                .or_insert_with(|| {
                    self.shared
                        .counters
                        .sessions
                        .fetch_add(1, Ordering::Relaxed);
                    MediaSession::start(call_id, Arc::clone(&self.shared), Arc::clone(gw))
                })
                .clone()
        };
        s.enqueue(dest, bytes).err()
    }

    /// Ends every anchored call's media (recordings are finalised): shutdown.
    pub async fn shutdown(&self) {
        let all: Vec<_> = lock(&self.shared.sessions).values().cloned().collect();
        for s in all {
            s.finish().await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_egress_fast_path_only_looks_where_sdp_can_be() {
        let msg = b"INVITE sip:b@x SIP/2.0\r\nContent-Type: Application/SDP\r\n\r\nv=0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\n";
        let (head, body) = head_and_body(msg);
        assert!(head.ends_with(b"\r\n\r\n"));
        assert!(body.starts_with(b"v=0"));
        assert!(mentions_sdp(head));
        assert!(may_be_webrtc(body));
        // A body that names application/sdp is not a Content-Type.
        let text = b"MESSAGE sip:b@x SIP/2.0\r\nContent-Type: text/plain\r\n\r\napplication/sdp";
        let (head, _) = head_and_body(text);
        assert!(!mentions_sdp(head));
        // Plain RTP SDP has none of WebRTC's markers.
        assert!(!may_be_webrtc(b"v=0\r\nm=audio 4000 RTP/AVP 0\r\n"));
        assert!(may_be_webrtc(b"a=fingerprint:sha-256 AA"));
        assert!(contains_ignore_case(b"xxSAVPFxx", b"savpf"));
        assert!(!contains_ignore_case(b"sav", b"savpf"));
        assert_eq!(
            head_and_body(b"no blank line"),
            (&b"no blank line"[..], &b""[..])
        );
    }
}
