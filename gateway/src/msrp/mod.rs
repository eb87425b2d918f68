//! The MSRP relay (RFC 4976) over TCP (RFC 4975) and over WebSocket from browsers
//! (RFC 7977, `GET /msrp` with the `msrp` subprotocol on the HTTP and HTTPS listeners).
//!
//! A client AUTHs with digest against the user store (`auth.rs`) and receives a relay URI
//! in `Use-Path`; requests whose To-Path starts with such a URI are forwarded chunk by chunk
//! (each MSRP chunk is one frame, at most `msrp.max_chunk_size` of content) to the next hop:
//! a client of this relay, or a remote endpoint or relay over TCP (`relay.rs` decides and
//! rewrites the paths). SEND transactions are hop by hop: the relay answers 200 once the
//! chunk is queued to the next hop and turns a later failure there into a failure REPORT
//! (RFC 4976 §7.3). Every connection has a bounded write queue; a reader waits while the
//! next hop's queue is full, so a large transfer runs at the receiver's pace in flat memory.
//!
//! - `relay.rs`: the routing table and the path rewriting, sans-IO;
//! - `auth.rs`: the AUTH challenge and its check;
//! - `framing.rs`: frames from a TCP stream, with 413 for oversized chunks and 400 for bad
//!   headers without losing the connection;
//! - `conn.rs`: the per-connection tasks and what they do with each frame;
//! - `ws.rs`: the WebSocket upgrade.

mod auth;
mod conn;
mod framing;
mod relay;
pub mod ws;

pub use relay::{Local, Transport};

use crate::config::Msrp as MsrpConfig;
use crate::store::Store;
use relay::Table;
use sipsimple::msrp::parser::MAX_HEAD_LEN;
use sipsimple::msrp::Limits;
use sipsimple::rng::Rng;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};
use tokio::net::TcpListener;
use tokio::sync::watch;
use tracing::{info, warn};

/// How often lapsed URIs, nonces and overdue transactions are swept.
const SWEEP: Duration = Duration::from_secs(2);

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic while holding the lock leaves plain data behind; keep serving.
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// The counters of `/metrics`.
#[derive(Debug, Default)]
pub struct Counters {
    connections: AtomicU64,
    auth_ok: AtomicU64,
    auth_failed: AtomicU64,
    frames: AtomicU64,
    bytes: AtomicU64,
    refused_403: AtomicU64,
    refused_413: AtomicU64,
    refused_other: AtomicU64,
}

impl Counters {
    fn bump(c: &AtomicU64, n: u64) {
        c.fetch_add(n, Ordering::Relaxed);
    }

    /// Counts a request refused with `code`.
    fn refused(&self, code: u16) {
        let c = match code {
            403 => &self.refused_403,
            413 => &self.refused_413,
            _ => &self.refused_other,
        };
        Self::bump(c, 1);
    }
}

/// The relay, shared by the listener, connection and sweeper tasks.
#[derive(Debug)]
pub struct Relay {
    /// TLS towards `msrps` next hops: the public roots and the gateway's trusted certificates.
    tls_client: Arc<rustls::ClientConfig>,
    /// The realm of AUTH challenges: the gateway's SIP domain.
    domain: String,
    max_chunk: usize,
    allowed_origins: Vec<String>,
    store: Store,
    table: Mutex<Table>,
    nonces: Mutex<auth::Nonces>,
    rng: Mutex<Rng>,
    next_id: AtomicU64,
    counters: Counters,
    shutdown: watch::Receiver<bool>,
}

/// Binds the MSRP TCP listener of `cfg`. The built-in default port being taken (another
/// relay on this machine) turns MSRP over TCP off with a warning; a configured one is an
/// error.
pub async fn bind(cfg: &MsrpConfig) -> std::io::Result<Option<TcpListener>> {
    bind_one(cfg.tcp, cfg.tcp_is_default, "msrp.tcp").await
}

/// Binds the MSRP over TLS listener, like [`bind`].
pub async fn bind_tls(cfg: &MsrpConfig) -> std::io::Result<Option<TcpListener>> {
    bind_one(cfg.tls, cfg.tls_is_default, "msrp.tls").await
}

async fn bind_one(
    addr: Option<SocketAddr>,
    is_default: bool,
    key: &str,
) -> std::io::Result<Option<TcpListener>> {
    let Some(addr) = addr else {
        return Ok(None);
    };
    match TcpListener::bind(addr).await {
        Ok(l) => Ok(Some(l)),
        Err(e) if is_default && e.kind() == std::io::ErrorKind::AddrInUse => {
            warn!(%addr, "the default port of {key} is taken; it is off (set {key})");
            Ok(None)
        }
        Err(e) => Err(e),
    }
}

/// The host written in relay URIs for a listener bound to `addr`: loopback for the
/// unspecified address, IPv6 in brackets.
pub fn host_of(addr: SocketAddr) -> String {
    let ip = if addr.ip().is_unspecified() {
        if addr.is_ipv4() {
            std::net::IpAddr::V4(std::net::Ipv4Addr::LOCALHOST)
        } else {
            std::net::IpAddr::V6(std::net::Ipv6Addr::LOCALHOST)
        }
    } else {
        addr.ip()
    };
    match ip {
        std::net::IpAddr::V4(v4) => v4.to_string(),
        std::net::IpAddr::V6(v6) => format!("[{v6}]"),
    }
}

impl Relay {
    /// A relay with `cfg`'s limits, checking AUTHs against `store` in `domain`.
    pub fn new(
        cfg: &MsrpConfig,
        domain: &str,
        allowed_origins: Vec<String>,
        store: Store,
        local: Local,
        tls_client: Arc<rustls::ClientConfig>,
        shutdown: watch::Receiver<bool>,
    ) -> Arc<Relay> {
        let mut seed = [0u8; 8];
        // The generator only draws transaction ids; relay URIs and nonces come from the OS.
        let _ = getrandom::fill(&mut seed);
        Arc::new(Relay {
            domain: domain.to_string(),
            max_chunk: cfg.max_chunk_size,
            allowed_origins,
            store,
            table: Mutex::new(Table::new(local, cfg.max_connections_per_ip)),
            nonces: Mutex::new(auth::Nonces::default()),
            rng: Mutex::new(Rng::from_seed(u64::from_le_bytes(seed))),
            next_id: AtomicU64::new(1),
            counters: Counters::default(),
            tls_client,
            shutdown,
        })
    }

    /// The frame limits: the parser's header limit, `msrp.max_chunk_size` of content.
    fn limits(&self) -> Limits {
        Limits {
            max_head: MAX_HEAD_LEN,
            max_body: self.max_chunk,
        }
    }

    /// Accepts MSRP over TCP until the process stops.
    pub async fn run_tcp(self: Arc<Self>, listener: TcpListener) {
        let mut stop = self.shutdown.clone();
        loop {
            tokio::select! {
                r = listener.accept() => match r {
                    Ok((stream, peer)) => {
                        let Some((id, rx)) = conn::register(&self, Transport::Tcp, peer.ip()) else {
                            warn!(%peer, "MSRP connection over the per-address limit refused");
                            continue;
                        };
                        tokio::spawn(conn::serve_tcp(self.clone(), stream, peer, id, rx));
                    }
                    Err(e) => {
                        warn!(error = %e, "MSRP accept failed");
                        tokio::time::sleep(Duration::from_millis(100)).await;
                    }
                },
                _ = stop.changed() => break,
            }
        }
    }

    /// Accepts MSRP over TLS (`msrps`, RFC 4975 §6) until the process stops: the TLS
    /// handshake, then the same per-connection service as TCP.
    pub async fn run_tls(
        self: Arc<Self>,
        listener: TcpListener,
        acceptor: tokio_rustls::TlsAcceptor,
    ) {
        let mut stop = self.shutdown.clone();
        loop {
            tokio::select! {
                r = listener.accept() => match r {
                    Ok((stream, peer)) => {
                        let _ = stream.set_nodelay(true);
                        let relay = self.clone();
                        let acceptor = acceptor.clone();
                        tokio::spawn(async move {
                            let tls = match tokio::time::timeout(Duration::from_secs(10), acceptor.accept(stream)).await {
                                Ok(Ok(s)) => s,
                                _ => {
                                    tracing::debug!(%peer, "MSRP TLS handshake failed");
                                    return;
                                }
                            };
                            let Some((id, rx)) = conn::register(&relay, Transport::Tls, peer.ip()) else {
                                warn!(%peer, "MSRP connection over the per-address limit refused");
                                return;
                            };
                            conn::serve_stream(relay, tls, peer, id, rx).await;
                        });
                    }
                    Err(e) => {
                        warn!(error = %e, "MSRP TLS accept failed");
                        tokio::time::sleep(Duration::from_millis(100)).await;
                    }
                },
                _ = stop.changed() => break,
            }
        }
    }

    /// Sweeps lapsed URIs and nonces, and fails overdue transactions, until the process stops.
    pub async fn run_sweeper(self: Arc<Self>) {
        let mut stop = self.shutdown.clone();
        let mut tick = tokio::time::interval(SWEEP);
        loop {
            tokio::select! {
                _ = tick.tick() => {
                    let now = Instant::now();
                    lock(&self.nonces).expire(now);
                    let failed = {
                        let mut rng = lock(&self.rng);
                        lock(&self.table).expire(now, &mut rng)
                    };
                    for (conn, frame) in failed {
                        conn::spawn_send(&self, conn, frame.to_bytes());
                    }
                }
                _ = stop.changed() => break,
            }
        }
    }

    /// The `sipsimple_msrp_*` counters in the Prometheus text format.
    pub fn render_metrics(&self) -> String {
        use std::fmt::Write;
        let c = &self.counters;
        let get = |a: &AtomicU64| a.load(Ordering::Relaxed);
        let (open, issued) = {
            let t = lock(&self.table);
            (t.connections(), t.issued_count())
        };
        let mut out = String::new();
        let mut m = |name: &str, kind: &str, help: &str, lines: &[(&str, String)]| {
            let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
            for (labels, v) in lines {
                let _ = writeln!(out, "{name}{labels} {v}");
            }
        };
        m(
            "sipsimple_msrp_connections_active",
            "gauge",
            "MSRP connections open now (TCP, WebSocket, outbound).",
            &[("", open.to_string())],
        );
        m(
            "sipsimple_msrp_connections_total",
            "counter",
            "MSRP connections accepted or opened since start.",
            &[("", get(&c.connections).to_string())],
        );
        m(
            "sipsimple_msrp_relay_uris_active",
            "gauge",
            "Relay URIs issued to authenticated clients and not lapsed.",
            &[("", issued.to_string())],
        );
        m(
            "sipsimple_msrp_auths_total",
            "counter",
            "MSRP AUTH outcomes.",
            &[
                ("{result=\"ok\"}", get(&c.auth_ok).to_string()),
                ("{result=\"failed\"}", get(&c.auth_failed).to_string()),
            ],
        );
        m(
            "sipsimple_msrp_frames_forwarded_total",
            "counter",
            "MSRP requests forwarded to a next hop.",
            &[("", get(&c.frames).to_string())],
        );
        m(
            "sipsimple_msrp_bytes_forwarded_total",
            "counter",
            "Bytes of the MSRP requests forwarded.",
            &[("", get(&c.bytes).to_string())],
        );
        m(
            "sipsimple_msrp_refused_total",
            "counter",
            "MSRP requests refused by the relay, by status code.",
            &[
                ("{code=\"403\"}", get(&c.refused_403).to_string()),
                ("{code=\"413\"}", get(&c.refused_413).to_string()),
                ("{code=\"other\"}", get(&c.refused_other).to_string()),
            ],
        );
        out
    }

    /// Says what listens, for the log.
    pub fn announce(&self, tcp: Option<SocketAddr>) {
        let t = lock(&self.table);
        info!(tcp = ?tcp, host = %t.local().host, "MSRP relay ready");
    }
}
