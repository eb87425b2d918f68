//! One MSRP connection: a writer task draining its bounded queue to the socket, and the
//! reader loop that turns what arrives into frames and acts on each (RFC 4976 §5 AUTH,
//! §7 forwarding, responses back toward the sender). Shared by TCP (accepted and outbound)
//! and WebSocket (`ws.rs`) connections.

use super::auth::{self as relay_auth, Verdict};
use super::framing::{Event, Reader};
use super::relay::{chunk_range, failures, ConnId, Pending, Route, Transport, TRANSACTION_TIMEOUT};
use super::{lock, Counters, Relay};
use sipsimple::msrp::{new_tid, FailureReport, Frame, Method, StartLine};
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::mpsc;
use tokio::time::timeout;
use tracing::{debug, info, warn};

/// Frames queued for one connection at most; a sender waits beyond (backpressure).
pub const QUEUE: usize = 8;
/// How long a frame may wait for room in a queue, or for the socket to take it.
pub const SEND_TIMEOUT: Duration = Duration::from_secs(30);
/// Idle time after which a connection that did not authenticate is closed.
const IDLE: Duration = Duration::from_secs(120);
/// Idle time of an authenticated connection (the longest AUTH validity).
const IDLE_AUTHENTICATED: Duration = Duration::from_secs(3600);
/// How long connecting to a next hop may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// Read buffer size of TCP connections.
const READ_BUF: usize = 64 * 1024;

/// Registers a new connection in the table; `None` when its source is over the limit.
pub fn register(
    relay: &Arc<Relay>,
    transport: Transport,
    peer: IpAddr,
) -> Option<(ConnId, mpsc::Receiver<Vec<u8>>)> {
    let (tx, rx) = mpsc::channel(QUEUE);
    let id = relay
        .next_id
        .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    lock(&relay.table).open(id, tx, transport, peer).ok()?;
    Counters::bump(&relay.counters.connections, 1);
    Some((id, rx))
}

/// The idle limit of connection `id`.
fn idle_limit(relay: &Relay, id: ConnId) -> Duration {
    if lock(&relay.table).user(id).is_some() {
        IDLE_AUTHENTICATED
    } else {
        IDLE
    }
}

/// Ends a connection: its URIs lapse and what waited on it fails back to the senders.
pub fn close(relay: &Arc<Relay>, id: ConnId) {
    let failed = {
        let mut rng = lock(&relay.rng);
        lock(&relay.table).close(id, &mut rng)
    };
    for (conn, frame) in failed {
        spawn_send(relay, conn, frame.to_bytes());
    }
}

/// A connection task, boxed: forwarding may open a connection whose task forwards in turn,
/// and the compiler needs the recursion cut to see that the task is `Send`.
pub type Task = std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send>>;

/// Serves a TCP connection (accepted, or opened toward a next hop) until either side ends.
pub fn serve_tcp(
    relay: Arc<Relay>,
    stream: TcpStream,
    peer: SocketAddr,
    id: ConnId,
    rx: mpsc::Receiver<Vec<u8>>,
) -> Task {
    let _ = stream.set_nodelay(true);
    Box::pin(serve_stream(relay, stream, peer, id, rx))
}

/// Serves an outbound TLS connection (an `msrps` next hop), boxed like [`serve_tcp`].
fn serve_tls(
    relay: Arc<Relay>,
    stream: tokio_rustls::client::TlsStream<TcpStream>,
    peer: SocketAddr,
    id: ConnId,
    rx: mpsc::Receiver<Vec<u8>>,
) -> Task {
    Box::pin(serve_stream(relay, stream, peer, id, rx))
}

/// Serves a byte stream (TCP, or TLS over TCP) until either side ends.
pub async fn serve_stream<S>(
    relay: Arc<Relay>,
    stream: S,
    peer: SocketAddr,
    id: ConnId,
    mut rx: mpsc::Receiver<Vec<u8>>,
) where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Send + Unpin + 'static,
{
    debug!(conn = id, %peer, "MSRP stream connection");
    let (mut rd, mut wr) = tokio::io::split(stream);
    tokio::spawn(async move {
        while let Some(bytes) = rx.recv().await {
            match timeout(SEND_TIMEOUT, wr.write_all(&bytes)).await {
                Ok(Ok(())) => {}
                _ => break,
            }
        }
        let _ = wr.shutdown().await;
    });
    let mut reader = Reader::new(relay.limits());
    let mut buf = vec![0u8; READ_BUF];
    let mut stop = relay.shutdown.clone();
    'conn: loop {
        let idle = idle_limit(&relay, id);
        let n = tokio::select! {
            r = timeout(idle, rd.read(&mut buf)) => match r {
                Ok(Ok(n)) if n > 0 => n,
                Ok(Ok(_)) | Ok(Err(_)) => break,
                Err(_) => {
                    debug!(conn = id, "MSRP connection idle; closing");
                    break;
                }
            },
            _ = stop.changed() => break,
        };
        for event in reader.push(buf.get(..n).unwrap_or_default()) {
            match event {
                Event::Frame(frame) => on_frame(&relay, id, frame).await,
                Event::Refused { code, response } => {
                    relay.counters.refused(code);
                    if let Some(r) = response {
                        reply(&relay, id, &r).await;
                    }
                }
                Event::Fatal(e) => {
                    warn!(conn = id, %peer, error = %e, "malformed MSRP stream; closing");
                    break 'conn;
                }
            }
        }
    }
    close(&relay, id);
    debug!(conn = id, "MSRP TCP connection closed");
}

/// Queues `bytes` on connection `conn`, waiting for room (backpressure) up to
/// [`SEND_TIMEOUT`]. `Err` when the connection is gone or stuck.
pub async fn send_to(relay: &Relay, conn: ConnId, bytes: Vec<u8>) -> Result<(), ()> {
    let tx = lock(&relay.table).sender(conn).ok_or(())?;
    match timeout(SEND_TIMEOUT, tx.send(bytes)).await {
        Ok(Ok(())) => Ok(()),
        _ => Err(()),
    }
}

/// Queues `bytes` on `conn` from a task of its own: for frames going back toward a sender
/// (responses, failure REPORTs), which must not hold up the connection they came from.
pub fn spawn_send(relay: &Arc<Relay>, conn: ConnId, bytes: Vec<u8>) {
    let Some(tx) = lock(&relay.table).sender(conn) else {
        return;
    };
    tokio::spawn(async move {
        let _ = timeout(SEND_TIMEOUT, tx.send(bytes)).await;
    });
}

/// Answers on the connection the request came from.
async fn reply(relay: &Relay, conn: ConnId, frame: &Frame) {
    let _ = send_to(relay, conn, frame.to_bytes()).await;
}

/// Refuses a request with `code` (when a response is due: not for REPORT, nor with
/// Failure-Report `no`).
async fn refuse(relay: &Relay, conn: ConnId, request: &Frame, code: u16) {
    relay.counters.refused(code);
    let comment = match code {
        400 => "Bad Request",
        403 => "Forbidden",
        408 => "Request Timeout",
        413 => "Message Too Large",
        481 => "Session Does Not Exist",
        _ => "Error",
    };
    if let Some(r) = request.response(code, Some(comment)) {
        reply(relay, conn, &r).await;
    }
}

/// Acts on one frame from connection `conn`.
pub async fn on_frame(relay: &Arc<Relay>, conn: ConnId, frame: Frame) {
    match &frame.start {
        StartLine::Response { .. } => on_response(relay, conn, frame),
        StartLine::Request(Method::Auth) if frame.to_path.len() == 1 => {
            on_auth(relay, conn, frame).await;
        }
        StartLine::Request(_) => forward(relay, conn, frame).await,
    }
}

/// An AUTH for this relay (RFC 4976 §5.1, §8).
async fn on_auth(relay: &Arc<Relay>, conn: ConnId, frame: Frame) {
    if lock(&relay.table).transport(conn) == Some(Transport::Outbound) {
        // The relay's own connections toward next hops carry no clients.
        return refuse(relay, conn, &frame, 403).await;
    }
    let expires = match relay_auth::requested_expires(&frame) {
        Ok(e) => e,
        Err(r) => {
            if let Some(r) = r {
                reply(relay, conn, &r).await;
            }
            return;
        }
    };
    let now = Instant::now();
    let Some(creds) = relay_auth::credentials(&frame) else {
        let nonce = lock(&relay.nonces).issue(now);
        if let Some(r) = relay_auth::challenge(&frame, &relay.domain, nonce, false) {
            reply(relay, conn, &r).await;
        }
        return;
    };
    let hashes = match relay.store.hashes(&creds.username, &relay.domain).await {
        Ok(h) => h,
        Err(e) => {
            warn!(error = %e, "user store unavailable for an MSRP AUTH");
            return refuse(relay, conn, &frame, 500).await;
        }
    };
    let verdict = {
        let nonces = lock(&relay.nonces);
        relay_auth::check(&creds, &relay.domain, hashes.as_ref(), &nonces, now)
    };
    match verdict {
        Verdict::Valid => {
            lock(&relay.nonces).consume(&creds.nonce);
            let session_id = crate::random::hex(24);
            let until = now + Duration::from_secs(u64::from(expires));
            let uri = lock(&relay.table).issue(conn, &creds.username, &session_id, until);
            let Some(uri) = uri else { return };
            Counters::bump(&relay.counters.auth_ok, 1);
            info!(conn, user = %creds.username, %uri, expires, "MSRP client authenticated");
            if let Some(r) = relay_auth::granted(&frame, &uri, expires) {
                reply(relay, conn, &r).await;
            }
        }
        Verdict::Stale => {
            let nonce = lock(&relay.nonces).issue(now);
            if let Some(r) = relay_auth::challenge(&frame, &relay.domain, nonce, true) {
                reply(relay, conn, &r).await;
            }
        }
        Verdict::UnknownUser => {
            Counters::bump(&relay.counters.auth_failed, 1);
            warn!(conn, user = %creds.username, "MSRP AUTH for an unknown user");
            refuse(relay, conn, &frame, 403).await;
        }
        Verdict::Wrong => {
            Counters::bump(&relay.counters.auth_failed, 1);
            let wrong = lock(&relay.table).auth_failed(conn);
            warn!(conn, user = %creds.username, wrong, "MSRP AUTH with a wrong password");
            if wrong >= relay_auth::MAX_WRONG {
                return refuse(relay, conn, &frame, 403).await;
            }
            let nonce = lock(&relay.nonces).issue(now);
            if let Some(r) = relay_auth::challenge(&frame, &relay.domain, nonce, false) {
                reply(relay, conn, &r).await;
            }
        }
    }
}

/// A transaction response from a next hop: back toward the request's sender, as the
/// response itself or (when the relay already said 200) as a failure REPORT.
fn on_response(relay: &Arc<Relay>, conn: ConnId, frame: Frame) {
    let Some(p) = lock(&relay.table).take_pending(conn, &frame.tid) else {
        // A stray response, or one to a request whose sender is gone.
        return;
    };
    let code = frame.code().unwrap_or(0);
    let comment = match &frame.start {
        StartLine::Response {
            comment: Some(c), ..
        } => c.clone(),
        _ => String::new(),
    };
    if p.acked {
        if code == 200 {
            return;
        }
        let mut rng = lock(&relay.rng);
        for (up, report) in failures(vec![p], code, &comment, false, &mut rng) {
            spawn_send(relay, up, report.to_bytes());
        }
        return;
    }
    let comment = (!comment.is_empty()).then_some(comment.as_str());
    if let Some(mut r) = p.request.response(code, comment) {
        // AUTH through this relay to the next: the challenge, Use-Path and Expires.
        r.headers = frame.headers;
        spawn_send(relay, p.upstream, r.to_bytes());
    }
}

/// A request to forward (RFC 4976 §7.3).
async fn forward(relay: &Arc<Relay>, from: ConnId, mut frame: Frame) {
    let range = chunk_range(&frame);
    let body = frame.body.take();
    let request = frame.clone();
    frame.body = body;
    let route = lock(&relay.table).route(from, &mut frame);
    let target = match route {
        Ok(Route::Conn(id)) => id,
        Ok(Route::Remote { host, port, tls }) => match connect(relay, &host, port, tls).await {
            Some(id) => id,
            None => return refuse(relay, from, &request, 408).await,
        },
        Err(code) => {
            debug!(conn = from, code, tid = %request.tid, "MSRP request refused");
            return refuse(relay, from, &request, code).await;
        }
    };
    let method = request.method().cloned();
    let acked = method == Some(Method::Send)
        && matches!(request.failure_report, None | Some(FailureReport::Yes));
    let track = request.failure_report != Some(FailureReport::No) && method != Some(Method::Report);
    // Transaction ids are hop by hop: a fresh one keeps senders sharing a next hop apart.
    let tid = new_tid(&mut lock(&relay.rng), frame.body());
    frame.tid = tid.clone();
    let bytes = frame.to_bytes();
    drop(frame);
    if track {
        let pending = Pending {
            upstream: from,
            request: request.clone(),
            range,
            acked,
            deadline: Instant::now() + TRANSACTION_TIMEOUT,
        };
        lock(&relay.table).add_pending(target, &tid, pending);
    }
    let len = bytes.len() as u64;
    if send_to(relay, target, bytes).await.is_err() {
        if track {
            lock(&relay.table).take_pending(target, &tid);
        }
        return refuse(relay, from, &request, 481).await;
    }
    Counters::bump(&relay.counters.frames, 1);
    Counters::bump(&relay.counters.bytes, len);
    if acked {
        if let Some(r) = request.response(200, Some("OK")) {
            reply(relay, from, &r).await;
        }
    }
}

/// The connection to a remote hop: the open one to its authority, or a new one (over TLS
/// for an `msrps` hop, checked against the gateway's trusted certificates).
async fn connect(relay: &Arc<Relay>, host: &str, port: u16, tls: bool) -> Option<ConnId> {
    let scheme = if tls { "msrps" } else { "msrp" };
    let authority = format!("{scheme}://{}:{port}", host.to_ascii_lowercase());
    if let Some(id) = lock(&relay.table).outbound(&authority) {
        return Some(id);
    }
    let bare = host
        .strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .unwrap_or(host);
    let stream = match timeout(CONNECT_TIMEOUT, TcpStream::connect((bare, port))).await {
        Ok(Ok(s)) => s,
        Ok(Err(e)) => {
            warn!(%authority, error = %e, "cannot reach the next MSRP hop");
            return None;
        }
        Err(_) => {
            warn!(%authority, "connecting to the next MSRP hop timed out");
            return None;
        }
    };
    let peer = stream.peer_addr().ok()?;
    if tls {
        let _ = stream.set_nodelay(true);
        let name = match bare.parse::<std::net::IpAddr>() {
            Ok(ip) => rustls::pki_types::ServerName::from(ip),
            Err(_) => rustls::pki_types::ServerName::try_from(bare.to_string()).ok()?,
        };
        let connector = tokio_rustls::TlsConnector::from(relay.tls_client.clone());
        let stream = match timeout(CONNECT_TIMEOUT, connector.connect(name, stream)).await {
            Ok(Ok(s)) => s,
            Ok(Err(e)) => {
                warn!(%authority, error = %e, "TLS with the next MSRP hop failed");
                return None;
            }
            Err(_) => {
                warn!(%authority, "TLS with the next MSRP hop timed out");
                return None;
            }
        };
        let (id, rx) = register(relay, Transport::Outbound, peer.ip())?;
        lock(&relay.table).set_outbound(id, &authority);
        tokio::spawn(serve_tls(relay.clone(), stream, peer, id, rx));
        return Some(id);
    }
    let (id, rx) = register(relay, Transport::Outbound, peer.ip())?;
    lock(&relay.table).set_outbound(id, &authority);
    tokio::spawn(serve_tcp(relay.clone(), stream, peer, id, rx));
    Some(id)
}

/// What a WebSocket message (one frame, RFC 7977 §5.2) holds, for `ws.rs`.
pub enum WsInput {
    /// A frame to act on.
    Frame(Frame),
    /// Refused (413, 400); the response, when one is due.
    Refused(u16, Option<Frame>),
    /// Not MSRP: close.
    Fatal,
}

/// Parses one WebSocket message within the relay's limits.
pub fn parse_ws(relay: &Relay, bytes: &[u8]) -> WsInput {
    let mut reader = Reader::new(relay.limits());
    let mut events = reader.push(bytes).into_iter();
    let first = events.next();
    // One frame per message; CRLFs after it are tolerated, anything else is not.
    let extra = events.next().is_some() || !reader.is_idle();
    match first {
        Some(Event::Frame(f)) if !extra => WsInput::Frame(f),
        Some(Event::Refused { code, response }) if !extra => WsInput::Refused(code, response),
        _ => WsInput::Fatal,
    }
}
