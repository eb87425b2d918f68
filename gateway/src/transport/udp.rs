//! The SIP UDP transport (RFC 3261 §18.1.1, §18.2.1): one socket, one datagram per message.
//! Datagrams are handled in arrival order so that a request and its CANCEL or ACK keep theirs.

use crate::gateway::Gateway;
use sipsimple::transaction::{Dest, TransportKind};
use std::sync::Arc;
use tokio::net::UdpSocket;
use tracing::{debug, info};

/// The largest datagram a SIP message may arrive in.
const MAX_DATAGRAM: usize = 65_535;

/// Receives until shutdown.
pub async fn run(gw: Arc<Gateway>, udp: Arc<UdpSocket>) {
    let mut buf = vec![0u8; MAX_DATAGRAM];
    let mut shutdown = gw.shutdown.clone();
    loop {
        tokio::select! {
            r = udp.recv_from(&mut buf) => match r {
                Ok((n, from)) => {
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
