//! The shell around the proxy and registrar: one [`Gateway`] shared by the WebSocket
//! connections (RFC 7118) and the UDP socket (RFC 3261 §18). It parses what arrives, asks the
//! pure [`Proxy`] what to do, does the user-store look-ups it asks for, and sends.
//!
//! The proxy sits behind a `std` mutex that is never held across an `.await`.

use crate::config::Config;
use crate::proxy::{ConnId, Decision, Dest, Outgoing, Proxy, ProxyConfig, Source};
use crate::registrar::Registrar;
use crate::store::Store;
use sipsimple::sip::Message;
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};
use tokio::net::UdpSocket;
use tokio::sync::{mpsc, watch};
use tracing::{debug, info, warn};

/// Messages queued toward one WebSocket connection at most; past that the peer is not
/// reading and further messages are dropped (SIP recovers from loss).
pub const WS_QUEUE: usize = 256;

/// Everything the tasks share.
#[derive(Debug)]
pub struct Gateway {
    /// The settings.
    pub cfg: Config,
    /// The user store.
    pub store: Store,
    /// The SIP UDP socket.
    pub udp: Arc<UdpSocket>,
    proxy: Mutex<Proxy>,
    conns: Mutex<HashMap<ConnId, mpsc::Sender<Vec<u8>>>>,
    next_conn: AtomicU64,
    /// Becomes `true` when the process is asked to stop.
    pub shutdown: watch::Receiver<bool>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic while holding the lock leaves plain data behind; keep serving.
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Gateway {
    /// A gateway for bound sockets. `udp_addr` is the socket's local address.
    pub fn new(
        cfg: Config,
        store: Store,
        udp: Arc<UdpSocket>,
        udp_addr: SocketAddr,
        shutdown: watch::Receiver<bool>,
    ) -> Gateway {
        let proxy = Proxy::new(ProxyConfig {
            domain: cfg.domain.clone(),
            udp: udp_addr,
            salt: crate::random::hex(32),
        });
        Gateway {
            cfg,
            store,
            udp,
            proxy: Mutex::new(proxy),
            conns: Mutex::new(HashMap::new()),
            next_conn: AtomicU64::new(1),
            shutdown,
        }
    }

    /// Registers a new WebSocket connection; its outgoing messages arrive on the receiver.
    pub fn open_connection(&self) -> (ConnId, mpsc::Receiver<Vec<u8>>) {
        let id = self.next_conn.fetch_add(1, Ordering::Relaxed);
        let (tx, rx) = mpsc::channel(WS_QUEUE);
        lock(&self.conns).insert(id, tx);
        (id, rx)
    }

    /// Forgets a closed WebSocket connection and everything bound to it.
    pub fn close_connection(&self, id: ConnId) {
        lock(&self.conns).remove(&id);
        lock(&self.proxy).connection_closed(id);
    }

    /// Drops lapsed state; called every few seconds.
    pub fn expire(&self) {
        lock(&self.proxy).expire(Instant::now());
    }

    /// Handles one WebSocket frame or UDP datagram.
    pub async fn on_bytes(&self, src: Source, bytes: &[u8]) {
        let msg = match Message::parse(bytes) {
            Ok(m) => m,
            Err(e) => {
                debug!(?src, error = %e, "dropped an unparseable message");
                return;
            }
        };
        let decision = lock(&self.proxy).on_message(Instant::now(), src, msg);
        let out = match decision {
            Decision::Send(out) => out,
            Decision::Register { conn, msg } => {
                let hashes = match Registrar::digest_username(&msg) {
                    Some(user) => match self.store.hashes(&user, &self.cfg.domain).await {
                        Ok(h) => h,
                        Err(e) => {
                            warn!(error = %e, "user store failed during REGISTER");
                            None
                        }
                    },
                    None => None,
                };
                let out =
                    lock(&self.proxy).on_register(Instant::now(), conn, &msg, hashes.as_ref());
                for o in &out {
                    let to = msg.header("To").unwrap_or_default();
                    info!(conn, code = o.msg.code(), to, "REGISTER answered");
                }
                out
            }
            Decision::Local { src, msg, user } => {
                let exists = match self.store.user_exists(&user, &self.cfg.domain).await {
                    Ok(e) => e,
                    Err(e) => {
                        warn!(error = %e, "user store failed during a location look-up");
                        false
                    }
                };
                match lock(&self.proxy).deliver_local(Instant::now(), src, msg, &user, exists) {
                    Decision::Send(out) => out,
                    other => {
                        debug!(?other, "nothing to send");
                        Vec::new()
                    }
                }
            }
            Decision::Drop(why) => {
                debug!(?src, why, "dropped a message");
                Vec::new()
            }
        };
        for o in out {
            self.send(o).await;
        }
    }

    async fn send(&self, o: Outgoing) {
        let bytes = o.msg.to_bytes();
        if tracing::enabled!(tracing::Level::DEBUG) {
            let first = bytes.split(|b| *b == b'\r').next().unwrap_or_default();
            debug!(dest = ?o.dest, start = %String::from_utf8_lossy(first), "sending");
        }
        match o.dest {
            Dest::Ws(id) => {
                let tx = lock(&self.conns).get(&id).cloned();
                match tx {
                    Some(tx) => {
                        if tx.try_send(bytes).is_err() {
                            warn!(conn = id, "WebSocket queue full or closed; message dropped");
                        }
                    }
                    None => debug!(conn = id, "WebSocket connection gone; message dropped"),
                }
            }
            Dest::Udp(addr) => self.send_udp(addr, &bytes).await,
            Dest::UdpHost { host, port } => match self.resolve(&host, port).await {
                Some(addr) => self.send_udp(addr, &bytes).await,
                None => debug!(host, port, "could not resolve; message dropped"),
            },
        }
    }

    async fn send_udp(&self, addr: SocketAddr, bytes: &[u8]) {
        if let Err(e) = self.udp.send_to(bytes, addr).await {
            debug!(%addr, error = %e, "UDP send failed");
        }
    }

    /// Resolves a host name to an address of the UDP socket's family (RFC 3263 in full comes
    /// later: no NAPTR or SRV yet, only A/AAAA).
    async fn resolve(&self, host: &str, port: u16) -> Option<SocketAddr> {
        let want_v4 = self.udp.local_addr().map(|a| a.is_ipv4()).unwrap_or(true);
        let lookup = tokio::net::lookup_host((host, port));
        let addrs = tokio::time::timeout(Duration::from_secs(5), lookup)
            .await
            .ok()?
            .ok()?;
        addrs.into_iter().find(|a| a.is_ipv4() == want_v4)
    }
}
