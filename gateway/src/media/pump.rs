//! The packet pumps of an anchored call: SIP-side RTP to the browser's track, the browser's
//! track to SIP-side RTP, and the SIP side's RTCP (read so the socket never backs up).

use super::session::MediaSession;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};
use tracing::debug;
use webrtc::peer_connection::peer_connection_state::RTCPeerConnectionState;
use webrtc::track::track_local::TrackLocalWriter;

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
        .unwrap_or(0)
}

/// Reads the SIP leg's RTP socket until the call ends.
pub async fn from_sip(s: Arc<MediaSession>) {
    let Some(io) = s.io_now() else { return };
    let rtp = Arc::clone(&io.rtp);
    let track = Arc::clone(&io.leg.track);
    let counters = Arc::clone(&s.shared().counters);
    let mut buf = vec![0u8; 2048];
    loop {
        let Ok((n, from)) = rtp.recv_from(&mut buf).await else {
            break;
        };
        let Some(data) = buf.get(..n) else { continue };
        if s.shared().cfg_loopback_only() && !from.ip().is_loopback() {
            counters.dropped.fetch_add(1, Ordering::Relaxed);
            continue;
        }
        let (packets, digit) = s.on_sip_packet(from, data, now_ms());
        if let Some(d) = digit {
            if let Some(gw) = s.shared().gateway() {
                s.notify_dtmf(&gw, d);
            }
        }
        if packets.is_empty() && digit.is_none() {
            counters.dropped.fetch_add(1, Ordering::Relaxed);
        }
        for p in packets {
            if track.write_rtp(&p).await.is_ok() {
                counters.to_browser.fetch_add(1, Ordering::Relaxed);
            }
        }
    }
}

/// The SIP leg's RTCP (RFC 3550 §6): a sender report every 5 s, and the peer's reports
/// read for the round trip time.
pub async fn rtcp(s: Arc<MediaSession>) {
    let Some(io) = s.io_now() else { return };
    let socket = Arc::clone(&io.rtcp);
    let weak = Arc::downgrade(&s);
    drop(s);
    let mut buf = vec![0u8; 2048];
    let mut tick = tokio::time::interval(std::time::Duration::from_secs(5));
    loop {
        tokio::select! {
            r = socket.recv_from(&mut buf) => {
                let Ok((n, _)) = r else { break };
                let Some(s) = weak.upgrade() else { break };
                if let Some(data) = buf.get(..n) {
                    s.on_rtcp(data, now_ms());
                }
            }
            _ = tick.tick() => {
                let Some(s) = weak.upgrade() else { break };
                if let Some((report, dest)) = s.rtcp_report(now_ms()) {
                    let _ = socket.send_to(&report, dest).await;
                }
            }
        }
    }
}

/// Wires the browser's track, when it arrives, to the SIP leg; ends the call's media when
/// the browser's connection fails (the browser went away without a BYE).
pub fn from_browser(s: Arc<MediaSession>) {
    let Some(io) = s.io_now() else { return };
    let weak = Arc::downgrade(&s);
    io.leg
        .pc
        .on_peer_connection_state_change(Box::new(move |state| {
            let weak = weak.clone();
            Box::pin(async move {
                if matches!(state, RTCPeerConnectionState::Failed) {
                    if let Some(s) = weak.upgrade() {
                        debug!(call_id = %s.call_id, "browser's connection failed; media ends");
                        s.finish().await;
                    }
                }
            })
        }));
    let weak = Arc::downgrade(&s);
    io.leg.on_track(move |track| {
        let Some(s) = weak.upgrade() else { return };
        let Some(io) = s.io_now() else { return };
        let rtp = Arc::clone(&io.rtp);
        let counters = Arc::clone(&s.shared().counters);
        let weak = Arc::downgrade(&s);
        drop(s);
        tokio::spawn(async move {
            while let Ok((pkt, _)) = track.read_rtp().await {
                let Some(s) = weak.upgrade() else { break };
                if s.ended() {
                    break;
                }
                let (datagrams, dest) = s.on_browser_packet(&pkt, now_ms());
                drop(s);
                let Some(dest) = dest else {
                    counters.dropped.fetch_add(1, Ordering::Relaxed);
                    continue;
                };
                for d in datagrams {
                    if rtp.send_to(&d, dest).await.is_ok() {
                        counters.to_sip.fetch_add(1, Ordering::Relaxed);
                    }
                }
            }
        });
    });
}
