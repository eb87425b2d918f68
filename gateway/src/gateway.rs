//! The shell around the proxy core: one [`Gateway`] shared by every transport task (UDP,
//! TCP, TLS, WebSocket; RFC 3261 §18, RFC 7118). It parses what arrives, feeds the sans-IO
//! [`Core`], and carries out what the core asks: sending, user look-ups in the store, and
//! database writes (bindings, call log), plus the timer loop that feeds the core's timeouts.
//!
//! The core sits behind a `std` mutex that is never held across an `.await` nor while
//! sending.

use crate::config::Config;
use crate::guard::{client_key, is_trusted, source_key, RateLimiter};
use crate::metrics::{Drop, Metrics};
use crate::proxy::cluster::NodeBinding;
use crate::proxy::{Core, Input, Output, Stats, StoreOp, UserAnswer};
use crate::store::Store;
use crate::transport::Transports;
use sipsimple::sip::Message;
use sipsimple::transaction::{Dest, TransportKind};
use sipsimple::Time;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};
use tokio::sync::{mpsc, watch, Notify};
use tracing::{debug, warn};

/// Database writes queued at most; past that they are dropped with a warning. Room for a few
/// seconds of calls at thousands per second while a batch commits.
const STORE_QUEUE: usize = 16_384;
/// Database writes the writer takes from the queue at once, committed in one transaction.
const WRITE_BATCH: usize = 1024;
/// How late (milliseconds) a transaction timer may fire so that it shares a round of
/// `Input::Timeout` with others.
const TIMER_SLACK: u64 = 5;
/// How long the writer lets writes gather after a batch that was not full.
const WRITE_INTERVAL: Duration = Duration::from_millis(50);
/// [`Gateway::armed`] when the timer loop sleeps with no deadline.
const NOT_ARMED: u64 = u64::MAX;
/// The tracing target of the full SIP trace (`--log-sip`, `log.sip = true`).
pub const SIP_LOG_TARGET: &str = "sipsimple_gateway::sip";

/// Everything the tasks share.
#[derive(Debug)]
pub struct Gateway {
    /// The settings.
    pub cfg: Config,
    /// The user store.
    pub store: Store,
    /// Sockets and connections.
    pub transports: Transports,
    /// The TLS client configuration for outbound SIP over TLS.
    pub tls_client: Arc<rustls::ClientConfig>,
    /// Becomes `true` when the process is asked to stop.
    pub shutdown: watch::Receiver<bool>,
    /// The counters of `/metrics`.
    pub metrics: Metrics,
    core: Mutex<Core>,
    /// Requests per source.
    limiter: Mutex<RateLimiter>,
    epoch: Instant,
    wake: Notify,
    /// The core's next deadline (milliseconds) when the timer loop last looked,
    /// [`NOT_ARMED`] for none; written under the core's lock. An input wakes the loop only
    /// when it brings the next deadline forward, not on every message.
    armed: AtomicU64,
    writes: mpsc::Sender<(StoreOp, i64)>,
    /// Store writes dropped because the queue was full (logged at 1, 2, 4, 8, ...).
    dropped_writes: AtomicU64,
    /// The media relay, when `[media]` is enabled.
    pub media: std::sync::OnceLock<crate::media::MediaRelay>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic while holding the lock leaves plain data behind; keep serving.
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Milliseconds since the Unix epoch, for the database.
pub fn unix_millis() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

impl Gateway {
    /// A gateway around a core; returns the receiver of database writes for
    /// [`run_writer`](Self::run_writer).
    pub fn new(
        cfg: Config,
        store: Store,
        mut core: Core,
        transports: Transports,
        tls_client: Arc<rustls::ClientConfig>,
        shutdown: watch::Receiver<bool>,
    ) -> (Gateway, mpsc::Receiver<(StoreOp, i64)>) {
        let (writes, rx) = mpsc::channel(STORE_QUEUE);
        // The core's clock starts now (`epoch` below); digest nonces carry the wall clock.
        core.set_digest_clock(u64::try_from(unix_millis()).unwrap_or(0));
        let limiter = Mutex::new(RateLimiter::new(cfg.security.rate));
        let gw = Gateway {
            metrics: Metrics::default(),
            limiter,
            cfg,
            store,
            transports,
            tls_client,
            shutdown,
            core: Mutex::new(core),
            epoch: Instant::now(),
            wake: Notify::new(),
            armed: AtomicU64::new(NOT_ARMED),
            writes,
            dropped_writes: AtomicU64::new(0),
            media: std::sync::OnceLock::new(),
        };
        (gw, rx)
    }

    /// The core's clock: milliseconds since the gateway started.
    pub fn now(&self) -> Time {
        Time::from_millis(u64::try_from(self.epoch.elapsed().as_millis()).unwrap_or(u64::MAX))
    }

    /// The advertised address of our listener for `kind`, if it is on.
    pub fn local_addr(&self, kind: TransportKind) -> Option<SocketAddr> {
        lock(&self.core).local().addr(kind)
    }

    /// The counters of the core, for `/metrics`.
    pub fn stats(&self) -> Stats {
        lock(&self.core).stats(self.now())
    }

    /// Handles one datagram, stream message or WebSocket frame from `source`: the source's
    /// request rate (the client's a trusted front proxy names, once parsed), the full trace
    /// when asked for, and a 400 for a request that does not parse but can still be answered.
    pub fn on_bytes(self: &Arc<Self>, source: Dest, bytes: &[u8]) {
        let is_response = bytes.starts_with(b"SIP/2.0 ");
        let limited = self.cfg.security.rate.per_second != 0 && !is_response;
        let trusted = &self.cfg.security.trusted_proxies;
        let behind_proxy = limited && is_trusted(&source, trusted);
        if limited && !behind_proxy && !self.allow(&source_key(&source)) {
            debug!(%source, "request rate exceeded; dropped");
            return;
        }
        if self.cfg.log_sip {
            debug!(target: SIP_LOG_TARGET, direction = "in", peer = %source,
                "\n{}", String::from_utf8_lossy(bytes));
        }
        match Message::parse(bytes) {
            Ok(msg) => {
                if behind_proxy && !self.allow(&client_key(&source, &msg, trusted)) {
                    debug!(%source, "request rate of the client behind the proxy exceeded; dropped");
                    return;
                }
                self.metrics.received(msg.method(), bytes);
                self.input(Input::Received { source, msg })
            }
            Err(e) => {
                self.metrics.dropped(Drop::Malformed);
                debug!(%source, error = %e, "unparseable message");
                if let Some(r) = crate::sipmsg::reply_to_malformed(bytes) {
                    self.dispatch(Output::Transmit {
                        dest: source,
                        bytes: r.to_bytes(),
                    });
                }
            }
        }
    }

    /// Takes a token from `key`'s bucket; counts the drop when there is none.
    fn allow(&self, key: &str) -> bool {
        let ok = lock(&self.limiter).allow(self.now(), key);
        if !ok {
            self.metrics.dropped(Drop::RateLimited);
        }
        ok
    }

    /// Feeds the core and carries out what it asks.
    pub fn input(self: &Arc<Self>, input: Input) {
        let (outputs, sooner) = {
            let mut core = lock(&self.core);
            core.handle_input(self.now(), input);
            let outputs = std::iter::from_fn(|| core.poll_output()).collect::<Vec<_>>();
            // The timer loop stores the deadline it knows under this lock, so this sees
            // either that one or a loop that has yet to look, and will see this input's.
            let next = core.poll_timeout().map_or(NOT_ARMED, |t| t.as_millis());
            (outputs, next < self.armed.load(Ordering::Relaxed))
        };
        if sooner {
            self.wake.notify_one();
        }
        for o in outputs {
            self.dispatch(o);
        }
    }

    /// Sends a message now (after the media relay had its look at it).
    pub fn transmit(self: &Arc<Self>, dest: Dest, bytes: Vec<u8>) {
        self.metrics.sent(&bytes);
        if self.cfg.log_sip {
            debug!(target: SIP_LOG_TARGET, direction = "out", peer = %dest,
                        "\n{}", String::from_utf8_lossy(&bytes));
        } else if tracing::enabled!(tracing::Level::DEBUG) {
            let first = bytes.split(|b| *b == b'\r').next().unwrap_or_default();
            debug!(%dest, start = %String::from_utf8_lossy(first), "sending");
        }
        if self.transports.send(self, &dest, bytes).is_err() {
            self.metrics.transport_error();
            debug!(%dest, "no route; the send failed");
            self.input(Input::SendFailed { dest });
        }
    }

    fn dispatch(self: &Arc<Self>, o: Output) {
        match o {
            Output::Transmit { dest, bytes } => {
                let out = match self.media.get() {
                    Some(m) => m.egress(self, dest, bytes),
                    None => Some((dest, bytes)),
                };
                if let Some((dest, bytes)) = out {
                    self.transmit(dest, bytes);
                }
            }
            Output::Lookup { token, user } => {
                let gw = self.clone();
                tokio::spawn(async move {
                    let answer = match gw.store.hashes(&user, &gw.cfg.domain).await {
                        Ok(Some(h)) => UserAnswer::Found(h),
                        Ok(None) => UserAnswer::Missing,
                        Err(e) => {
                            warn!(error = %e, "user store failed during a look-up");
                            UserAnswer::Failed
                        }
                    };
                    gw.input(Input::User { token, answer });
                });
            }
            Output::Locate { token, user } => {
                let gw = self.clone();
                tokio::spawn(async move {
                    let (answer, bindings) = gw.locate(&user).await;
                    gw.input(Input::Located {
                        token,
                        answer,
                        bindings,
                    });
                });
            }
            Output::Store(op) => {
                if self.writes.try_send((op, unix_millis())).is_err() {
                    // One line per drop would itself load a gateway already behind: log at
                    // powers of two with the running count.
                    let n = self.dropped_writes.fetch_add(1, Ordering::Relaxed) + 1;
                    if n.is_power_of_two() {
                        warn!(
                            dropped = n,
                            "database write queue full; writes are being dropped"
                        );
                    }
                }
            }
        }
    }

    /// The hashes of `user` and its live bindings on every node of the cluster.
    async fn locate(&self, user: &str) -> (UserAnswer, Vec<NodeBinding>) {
        let hashes = self.store.hashes(user, &self.cfg.domain).await;
        let rows = self.store.user_bindings(user, unix_millis()).await;
        match (hashes, rows) {
            (Ok(Some(h)), Ok(rows)) => {
                let bindings = rows
                    .into_iter()
                    .map(|r| NodeBinding {
                        node: crate::config::cluster::parse_address(&r.node_uri)
                            .ok()
                            .map(|(_, d)| d),
                        contact: r.contact,
                        source: r.source,
                        node_id: r.node_id,
                    })
                    .collect();
                (UserAnswer::Found(h), bindings)
            }
            (Ok(None), _) => (UserAnswer::Missing, Vec::new()),
            (Err(e), _) | (_, Err(e)) => {
                warn!(error = %e, "user store failed during a look-up");
                (UserAnswer::Failed, Vec::new())
            }
        }
    }

    /// Drops lapsed state; called every few seconds.
    pub fn expire(&self) {
        lock(&self.core).expire(self.now());
    }

    /// Puts back the bindings the store holds (start-up).
    pub async fn restore_bindings(&self) -> Result<usize, crate::store::StoreError> {
        let now_ms = unix_millis();
        let mut rows = self.store.live_bindings(now_ms).await?;
        // In a cluster the other nodes' registrations stay theirs (looked up when needed).
        let me = self.cfg.cluster.as_ref().map_or("", |c| c.node_id.as_str());
        rows.retain(|r| r.node_id == me);
        let n = rows.len();
        let mut core = lock(&self.core);
        let now = self.now();
        for r in rows {
            let left = Duration::from_millis(u64::try_from(r.expires_at - now_ms).unwrap_or(0));
            core.restore_binding(now, &r.user, r.contact, r.source, left);
        }
        Ok(n)
    }

    /// Feeds the core's timeouts until shutdown.
    pub async fn run_timer(self: Arc<Self>) {
        let mut shutdown = self.shutdown.clone();
        // When Input::Timeout last went in: timers due within TIMER_SLACK of it wait for the
        // next round, so that thousands of transactions' timers cost at most a few hundred
        // rounds per second rather than one per millisecond.
        let mut fired = 0u64;
        loop {
            let next = {
                let core = lock(&self.core);
                let next = core.poll_timeout().map(|t| t.as_millis());
                // The deadline itself, not the slackened one: an input wakes this loop only
                // when it brings a timer before every timer it knew of.
                self.armed
                    .store(next.unwrap_or(NOT_ARMED), Ordering::Relaxed);
                next.map(|at| at.max(fired + TIMER_SLACK))
            };
            let sleep = match next {
                Some(at) => Duration::from_millis(at.saturating_sub(self.now().as_millis())),
                None => Duration::from_secs(3600),
            };
            tokio::select! {
                _ = tokio::time::sleep(sleep) => {
                    let now = self.now().as_millis();
                    if next.is_some_and(|at| at <= now) {
                        fired = now;
                        self.input(Input::Timeout);
                    }
                }
                _ = self.wake.notified() => {}
                _ = shutdown.changed() => break,
            }
        }
    }

    /// Writes what the core reports to the database, in order, until the queue closes: each
    /// time, whatever has queued up (at most [`WRITE_BATCH`], gathered for up to
    /// [`WRITE_INTERVAL`]), call-log events in one transaction, so that the writer keeps up
    /// however many calls per second go through.
    pub async fn run_writer(store: Store, mut rx: mpsc::Receiver<(StoreOp, i64)>) {
        let mut batch = Vec::with_capacity(WRITE_BATCH);
        while rx.recv_many(&mut batch, WRITE_BATCH).await > 0 {
            let (failed, error) = store.apply_batch(&batch).await;
            if let Some(e) = error {
                warn!(error = %e, failed, of = batch.len(), "database writes failed");
            }
            let full = batch.len() == WRITE_BATCH;
            batch.clear();
            if !full {
                // Let the next batch gather: one wake-up of this task per interval instead
                // of one per write, and a call's events mostly fold into one row.
                tokio::time::sleep(WRITE_INTERVAL).await;
            }
        }
    }
}
