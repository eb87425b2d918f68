//! The SIP transports of the gateway (RFC 3261 §18): UDP, TCP and TLS (§18.3, §26.2.1) and
//! WebSocket (RFC 7118), on IPv4 and IPv6. One registry of open connections, keyed by flow
//! id, so that responses leave on the connection their request came on (§18.2.2) and
//! requests toward a peer reuse the connection it opened (or one we opened to its address)
//! before a new one is made.

pub mod framing;
pub mod stream;
pub mod udp;

use crate::gateway::Gateway;
use sipsimple::transaction::{Dest, TransportKind};
use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;
use tokio::net::UdpSocket;
use tokio::sync::mpsc;
use tracing::debug;

/// Messages queued toward one connection at most; past that the peer is not reading and
/// further messages are dropped (SIP recovers from loss).
pub const QUEUE: usize = 256;
/// How long name resolution and outbound connection set-up may take.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// Why a message could not be handed to a transport.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SendError {
    /// The flow is gone, or the transport is off.
    NoRoute,
}

/// Messages (wire bytes) queued for a connection being opened.
type Waiting = Vec<Vec<u8>>;

/// One open connection.
#[derive(Debug, Clone)]
struct Conn {
    tx: mpsc::Sender<Vec<u8>>,
    /// The address the connection was opened to, for outbound reuse.
    addr: Option<(TransportKind, SocketAddr)>,
}

/// The registry of sockets and connections.
#[derive(Debug)]
pub struct Transports {
    /// The UDP socket, when UDP is on.
    pub udp: Option<Arc<UdpSocket>>,
    conns: Mutex<HashMap<u64, Conn>>,
    /// Connections by (transport, peer address): both accepted and opened by us.
    by_addr: Mutex<HashMap<(TransportKind, SocketAddr), u64>>,
    /// Messages waiting for an outbound connection being opened.
    connecting: Mutex<HashMap<(TransportKind, SocketAddr), Waiting>>,
    next_flow: AtomicU64,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic while holding the lock leaves plain data behind; keep serving.
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// The [`Dest`] the core knows a connection by: transport, peer address and flow id.
pub fn flow_dest(kind: TransportKind, peer: Option<SocketAddr>, flow: u64) -> Dest {
    match peer {
        Some(p) => Dest::new(kind, p.ip().to_string(), p.port()).with_flow(flow),
        None => Dest::new(kind, "", 0).with_flow(flow),
    }
}

impl Transports {
    /// A registry around the UDP socket.
    pub fn new(udp: Option<Arc<UdpSocket>>) -> Transports {
        Transports {
            udp,
            conns: Mutex::new(HashMap::new()),
            by_addr: Mutex::new(HashMap::new()),
            connecting: Mutex::new(HashMap::new()),
            next_flow: AtomicU64::new(1),
        }
    }

    /// Registers a new connection (accepted, or opened to `peer` by us when `outbound`);
    /// its outgoing messages arrive on the receiver.
    pub fn open(
        &self,
        kind: TransportKind,
        peer: Option<SocketAddr>,
    ) -> (u64, mpsc::Receiver<Vec<u8>>) {
        let id = self.next_flow.fetch_add(1, Ordering::Relaxed);
        let (tx, rx) = mpsc::channel(QUEUE);
        let addr = peer.map(|p| (kind, p));
        if let Some(a) = addr {
            lock(&self.by_addr).insert(a, id);
        }
        lock(&self.conns).insert(id, Conn { tx, addr });
        (id, rx)
    }

    /// Forgets a closed connection.
    pub fn close(&self, id: u64) {
        if let Some(Conn { addr: Some(a), .. }) = lock(&self.conns).remove(&id) {
            let mut by_addr = lock(&self.by_addr);
            if by_addr.get(&a) == Some(&id) {
                by_addr.remove(&a);
            }
        }
    }

    fn queue(&self, id: u64, bytes: Vec<u8>) -> Result<(), SendError> {
        let tx = lock(&self.conns).get(&id).map(|c| c.tx.clone());
        match tx {
            Some(tx) => {
                if tx.try_send(bytes).is_err() {
                    debug!(
                        flow = id,
                        "connection queue full or closed; message dropped"
                    );
                }
                Ok(())
            }
            None => Err(SendError::NoRoute),
        }
    }

    /// Sends one message. Messages on a flow go to that connection; a stream destination
    /// without one reuses a connection to its address or opens one. Name look-ups and
    /// connection set-up run in the background; their failures reach the core as
    /// [`Input::SendFailed`](crate::proxy::Input::SendFailed).
    pub fn send(&self, gw: &Arc<Gateway>, dest: &Dest, bytes: Vec<u8>) -> Result<(), SendError> {
        if let Some(flow) = dest.flow {
            return self.queue(flow, bytes);
        }
        match dest.host.parse::<IpAddr>() {
            Ok(ip) => self.send_to(gw, dest, SocketAddr::new(ip, dest.port), bytes),
            Err(_) => {
                // Only a name needs the family of our listener (a system call for UDP).
                let want_v4 = match dest.transport {
                    TransportKind::Udp => self.udp.as_ref().and_then(|u| u.local_addr().ok()),
                    other => gw.local_addr(other),
                }
                .is_none_or(|a| a.is_ipv4());
                let gw = gw.clone();
                let dest = dest.clone();
                tokio::spawn(async move {
                    let sent = match resolve(&dest.host, dest.port, want_v4).await {
                        Some(addr) => gw.transports.send_to(&gw, &dest, addr, bytes),
                        None => Err(SendError::NoRoute),
                    };
                    if sent.is_err() {
                        debug!(%dest, "could not resolve");
                        gw.input(crate::proxy::Input::SendFailed { dest });
                    }
                });
                Ok(())
            }
        }
    }

    /// Sends to a resolved address over `dest`'s transport.
    fn send_to(
        &self,
        gw: &Arc<Gateway>,
        dest: &Dest,
        addr: SocketAddr,
        bytes: Vec<u8>,
    ) -> Result<(), SendError> {
        match dest.transport {
            TransportKind::Udp => {
                let udp = self.udp.as_ref().ok_or(SendError::NoRoute)?;
                match udp.try_send_to(&bytes, addr) {
                    Ok(_) => Ok(()),
                    Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                        let udp = udp.clone();
                        tokio::spawn(async move { udp.send_to(&bytes, addr).await });
                        Ok(())
                    }
                    Err(e) => {
                        debug!(%addr, error = %e, "UDP send failed");
                        Err(SendError::NoRoute)
                    }
                }
            }
            kind @ (TransportKind::Tcp | TransportKind::Tls) => {
                if gw.local_addr(kind).is_none() {
                    return Err(SendError::NoRoute);
                }
                let existing = lock(&self.by_addr).get(&(kind, addr)).copied();
                if let Some(id) = existing {
                    if self.queue(id, bytes.clone()).is_ok() {
                        return Ok(());
                    }
                }
                {
                    let mut connecting = lock(&self.connecting);
                    if let Some(q) = connecting.get_mut(&(kind, addr)) {
                        q.push(bytes);
                        return Ok(());
                    }
                    connecting.insert((kind, addr), vec![bytes]);
                }
                let gw = gw.clone();
                let dest = dest.clone();
                tokio::spawn(async move { stream::connect(gw, kind, addr, dest).await });
                Ok(())
            }
            _ => Err(SendError::NoRoute),
        }
    }

    /// The messages queued while connecting to `addr`; the connection is up or failed.
    pub fn take_waiting(&self, kind: TransportKind, addr: SocketAddr) -> Vec<Vec<u8>> {
        lock(&self.connecting)
            .remove(&(kind, addr))
            .unwrap_or_default()
    }

    /// Queues `bytes` on flow `id` (the connection task's own replies, such as 413).
    pub fn queue_on(&self, id: u64, bytes: Vec<u8>) {
        let _ = self.queue(id, bytes);
    }
}

/// Resolves a host to an address of the wanted family (RFC 3263 in full comes later: no
/// NAPTR or SRV, only A/AAAA). IP literals need no look-up.
pub async fn resolve(host: &str, port: u16, want_v4: bool) -> Option<SocketAddr> {
    if let Ok(ip) = host.parse::<IpAddr>() {
        return Some(SocketAddr::new(ip, port));
    }
    let lookup = tokio::net::lookup_host((host, port));
    let addrs = tokio::time::timeout(CONNECT_TIMEOUT, lookup)
        .await
        .ok()?
        .ok()?;
    let all: Vec<SocketAddr> = addrs.collect();
    all.iter()
        .find(|a| a.is_ipv4() == want_v4)
        .or(all.first())
        .copied()
}
