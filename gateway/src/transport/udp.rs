//! The SIP UDP transport (RFC 3261 §18.1.1, §18.2.1): one socket, one datagram per message.
//! Datagrams are handled in arrival order so that a request and its CANCEL or ACK keep theirs.
//! A datagram over `security.max_message_size` is dropped unread: UDP cannot be answered
//! with 413 reliably, and the sender learns nothing it could abuse.

use crate::gateway::Gateway;
use crate::metrics::Drop;
use sipsimple::transaction::{Dest, TransportKind};
use std::sync::Arc;
use tokio::net::UdpSocket;
use tracing::{debug, info};

/// The largest datagram UDP carries.
const MAX_DATAGRAM: usize = 65_535;

/// Receives until shutdown.
pub async fn run(gw: Arc<Gateway>, udp: Arc<UdpSocket>) {
    let max = gw.cfg.security.max_message_size;
    // One byte more than the limit tells a datagram at the limit from a longer one, which
    // the kernel would truncate silently.
    let mut buf = vec![0u8; max.saturating_add(1).min(MAX_DATAGRAM)];
    let mut shutdown = gw.shutdown.clone();
    loop {
        tokio::select! {
            r = udp.recv_from(&mut buf) => match r {
                Ok((n, from)) => {
                    if n > max {
                        gw.metrics.dropped(Drop::TooLarge);
                        debug!(%from, "datagram over the size limit; dropped");
                        continue;
                    }
                    let Some(bytes) = buf.get(..n) else { continue };
                    // Keep-alive CRLFs (RFC 5626 §4.4.1) are not messages.
                    if bytes.iter().all(|b| matches!(b, b'\r' | b'\n')) {
                        continue;
                    }
                    let source = Dest::new(TransportKind::Udp, from.ip().to_string(), from.port());
                    gw.on_bytes(source, bytes);
                }
                // ICMP errors from earlier sends surface here on some systems; keep going.
                Err(e) => debug!(error = %e, "UDP receive error"),
            },
            _ = shutdown.changed() => break,
        }
    }
    info!("UDP transport stopped");
}
