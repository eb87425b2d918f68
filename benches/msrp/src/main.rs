//! `msrp-relay-bench`: throughput of the gateway's MSRP relay (RFC 4976 over TCP, RFC 7977
//! over WebSocket) and the relay's memory while it moves a large message.
//!
//! It starts the gateway itself (a temp data dir, users `alice` and `bob`, the MSRP TCP
//! listener on a free loopback port), then for every chunk size asked for runs:
//! - `relay-tcp`: alice (TCP) → relay → bob (TCP), the gateway's VmRSS sampled every 250 ms;
//! - `direct`: two sessions on one loopback TCP connection, no relay;
//! - `relay-ws`: alice (WebSocket, as a browser) → relay → bob (TCP).
//!
//! Each transfer is one message sent with `MsrpSession::send_message`: its bytes are made
//! on each `NeedData` from a fixed pseudo-random table (nothing holds the message), and the
//! SHA-1 of what bob receives (in order, checked by offset) must equal the SHA-1 of what
//! alice sent. The time is from `send_message` to alice's `Delivered` (bob's success REPORT).
//! Every transfer is bounded in bytes and in time (`--timeout`); the gateway is stopped at
//! the end (SIGTERM, then kill).
//!
//! Usage: `msrp-relay-bench [--gateway PATH] [--size-mib N] [--ws-size-mib N]
//! [--chunks-kib 16,64,1024] [--scenarios relay-tcp,direct,relay-ws] [--timeout SECS]`

use futures_util::{SinkExt, StreamExt};
use sha1::{Digest, Sha1};
use sipsimple::msrp::auth::{AuthClient, AuthStep};
use sipsimple::msrp::{
    Frame, MsrpSession, Parser, Role, SendOptions, SessionConfig, SessionEvent, SessionOutput, Uri,
};
use sipsimple::rng::Rng;
use sipsimple::Time;
use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant, SystemTime};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;
use tokio::time::timeout;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::Message as WsMessage;

type Res<T> = Result<T, String>;

const MIB: u64 = 1024 * 1024;
/// How long setup steps (gateway start, connect, AUTH) may take.
const SETUP_WAIT: Duration = Duration::from_secs(30);
/// The pattern the message bytes repeat: a prime length, so chunks rarely line up with it.
const PATTERN_LEN: usize = 1_048_573;
/// Largest chunk asked for (the relay's default `msrp.max_chunk_size`).
const MAX_CHUNK: usize = 1024 * 1024;
/// Frames queued toward a socket by the client's writer task.
const CHANNEL: usize = 16;
/// How often the gateway's memory is read.
const SAMPLE_EVERY: Duration = Duration::from_millis(250);

// ---------------------------------------------------------------- options

struct Opts {
    gateway: Option<PathBuf>,
    size: u64,
    ws_size: u64,
    chunks: Vec<usize>,
    scenarios: Vec<String>,
    timeout: Duration,
}

fn parse_opts() -> Res<Opts> {
    let mut o = Opts {
        gateway: None,
        size: 1024 * MIB,
        ws_size: 200 * MIB,
        chunks: vec![16 * 1024, 64 * 1024, 1024 * 1024],
        scenarios: vec!["relay-tcp".into(), "direct".into(), "relay-ws".into()],
        timeout: Duration::from_secs(900),
    };
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        let mut val = || args.next().ok_or(format!("{a} needs a value"));
        let num = |v: String| v.parse::<u64>().map_err(|e| format!("{a}: {e}"));
        match a.as_str() {
            "--gateway" => o.gateway = Some(PathBuf::from(val()?)),
            "--size-mib" => o.size = num(val()?)? * MIB,
            "--ws-size-mib" => o.ws_size = num(val()?)? * MIB,
            "--timeout" => o.timeout = Duration::from_secs(num(val()?)?),
            "--chunks-kib" => {
                o.chunks = val()?
                    .split(',')
                    .map(|c| c.trim().parse::<usize>().map(|k| k * 1024))
                    .collect::<Result<_, _>>()
                    .map_err(|e| format!("--chunks-kib: {e}"))?;
                if o.chunks.iter().any(|&c| c == 0 || c > MAX_CHUNK) {
                    return Err("chunk sizes must be 1..=1024 KiB".into());
                }
            }
            "--scenarios" => o.scenarios = val()?.split(',').map(str::to_string).collect(),
            "-h" | "--help" => {
                println!(
                    "msrp-relay-bench [--gateway PATH] [--size-mib N] [--ws-size-mib N] \
                     [--chunks-kib 16,64,1024] [--scenarios relay-tcp,direct,relay-ws] [--timeout SECS]"
                );
                std::process::exit(0);
            }
            other => return Err(format!("unknown argument {other}")),
        }
    }
    if o.size == 0 || o.ws_size == 0 {
        return Err("sizes must be at least 1 MiB".into());
    }
    Ok(o)
}

// ---------------------------------------------------------------- the gateway

/// The newest modification time of the files under `dir`.
fn newest(dir: &Path) -> Option<SystemTime> {
    let mut best = None;
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(rd) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in rd.flatten() {
            let Ok(md) = e.metadata() else { continue };
            if md.is_dir() {
                stack.push(e.path());
            } else if let Ok(t) = md.modified() {
                best = best.max(Some(t));
            }
        }
    }
    best
}

/// The gateway binary: `--gateway`, else the release build when it is newer than the
/// sources (`gateway/src`, `shared/src`), else the debug build.
fn pick_gateway(explicit: Option<PathBuf>) -> Res<(PathBuf, &'static str)> {
    if let Some(p) = explicit {
        return Ok((p, "given with --gateway"));
    }
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let sources = [root.join("gateway/src"), root.join("shared/src")]
        .iter()
        .filter_map(|d| newest(d))
        .max();
    let built = |p: &Path| std::fs::metadata(p).and_then(|m| m.modified()).ok();
    let release = root.join("target/release/sipsimple-gateway");
    let debug = root.join("target/debug/sipsimple-gateway");
    match (built(&release), sources) {
        (Some(r), Some(s)) if r >= s => return Ok((release, "release, newer than the sources")),
        (Some(_), None) => return Ok((release, "release")),
        _ => {}
    }
    match (built(&debug), sources) {
        (Some(d), Some(s)) if d >= s => Ok((debug, "debug, newer than the sources")),
        (Some(_), _) => Ok((
            debug,
            "debug, OLDER than the sources (no up-to-date build found)",
        )),
        (None, _) => Err("no target/{release,debug}/sipsimple-gateway: build the gateway first, or pass --gateway PATH".into()),
    }
}

struct Gateway {
    child: Child,
    http: SocketAddr,
    msrp: SocketAddr,
    _dir: tempfile::TempDir,
}

impl Gateway {
    fn start(bin: &Path) -> Res<Gateway> {
        let dir = tempfile::tempdir().map_err(|e| format!("temp dir: {e}"))?;
        let data = dir.path().join("data");
        for (user, pass) in [("alice", "secret"), ("bob", "bobpass")] {
            let st = Command::new(bin)
                .arg("--data-dir")
                .arg(&data)
                .args(["user", "add", user, "--password", pass])
                .stdout(Stdio::null())
                .status()
                .map_err(|e| format!("run {}: {e}", bin.display()))?;
            if !st.success() {
                return Err(format!("user add {user} failed"));
            }
        }
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map_err(|e| format!("a free port: {e}"))?
            .port();
        let cfg = dir.path().join("msrp.toml");
        std::fs::write(&cfg, format!("[msrp]\ntcp = \"127.0.0.1:{port}\"\n"))
            .map_err(|e| format!("config: {e}"))?;
        let mut child = Command::new(bin)
            .arg("--data-dir")
            .arg(&data)
            .args(["serve", "--http", "127.0.0.1:0", "--https", "off"])
            .args(["--sip-udp", "127.0.0.1:0", "--sip-tcp", "off"])
            .args(["--sip-tls", "off", "--no-demo", "--config"])
            .arg(&cfg)
            .env("RUST_LOG", "warn")
            .stdout(Stdio::piped())
            .spawn()
            .map_err(|e| format!("spawn the gateway: {e}"))?;
        let stdout = child.stdout.take().ok_or("no stdout")?;
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            // Read to the end so that the gateway never blocks on a full pipe.
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if line.starts_with("sipsimple-gateway ready ") {
                    let _ = tx.send(line);
                }
            }
        });
        let line = match rx.recv_timeout(SETUP_WAIT) {
            Ok(l) => l,
            Err(_) => {
                let _ = child.kill();
                let _ = child.wait();
                return Err("no ready line from the gateway".into());
            }
        };
        let field = |name: &str| -> Option<SocketAddr> {
            line.split_whitespace()
                .find_map(|w| w.strip_prefix(name))
                .and_then(|v| v.parse().ok())
        };
        let (Some(http), Some(msrp)) = (field("http="), field("msrp=")) else {
            let _ = child.kill();
            let _ = child.wait();
            return Err(format!("unexpected ready line: {line}"));
        };
        Ok(Gateway {
            child,
            http,
            msrp,
            _dir: dir,
        })
    }

    fn pid(&self) -> u32 {
        self.child.id()
    }

    /// SIGTERM, up to 10 s to exit, then SIGKILL.
    fn stop(&mut self) {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let until = Instant::now() + Duration::from_secs(10);
        while Instant::now() < until {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Gateway {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// VmRSS of `pid` in KiB.
fn vm_rss(pid: u32) -> Option<u64> {
    let s = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    s.lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
}

/// CPU time (user + system) of process `pid` (`self` for this one), in seconds.
fn cpu_secs(pid: &str, tick: f64) -> Option<f64> {
    let s = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The fields after the command name: state is the first, utime the 12th, stime the 13th.
    let rest = s.rsplit_once(") ")?.1;
    let mut f = rest.split_whitespace().skip(11);
    let user: f64 = f.next()?.parse().ok()?;
    let system: f64 = f.next()?.parse().ok()?;
    Some((user + system) / tick)
}

/// Clock ticks per second of `/proc/*/stat` (`getconf CLK_TCK`, 100 if unknown).
fn clock_tick() -> f64 {
    Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(100.0)
}

/// Samples VmRSS of `pid` every 250 ms until `stop` changes; the samples in KiB.
fn sample_rss(pid: u32, mut stop: watch::Receiver<bool>) -> JoinHandle<Vec<u64>> {
    tokio::spawn(async move {
        let mut v = Vec::new();
        let mut tick = tokio::time::interval(SAMPLE_EVERY);
        loop {
            tokio::select! {
                _ = tick.tick() => {
                    if let Some(kib) = vm_rss(pid) {
                        v.push(kib);
                    }
                }
                _ = stop.changed() => break,
            }
        }
        v
    })
}

// ---------------------------------------------------------------- connections

/// Bytes from the network, or the end of the connection.
enum Incoming {
    Bytes(Vec<u8>),
    Closed,
}

/// One MSRP connection (TCP or WebSocket) with reader and writer tasks and bounded queues
/// both ways, so that a slow side slows the other instead of piling up memory.
struct Conn {
    ws: bool,
    out: mpsc::Sender<Vec<u8>>,
    inc: mpsc::Receiver<Incoming>,
    parser: Parser,
    tasks: Vec<JoinHandle<()>>,
    local: Uri,
}

impl Conn {
    fn from_tcp(s: TcpStream, local: Uri) -> Conn {
        let _ = s.set_nodelay(true);
        let (mut rd, mut wr) = s.into_split();
        let (out, mut out_rx) = mpsc::channel::<Vec<u8>>(CHANNEL);
        let (inc_tx, inc) = mpsc::channel(CHANNEL);
        let w = tokio::spawn(async move {
            while let Some(b) = out_rx.recv().await {
                if wr.write_all(&b).await.is_err() {
                    break;
                }
            }
            let _ = wr.shutdown().await;
        });
        let r = tokio::spawn(async move {
            let mut buf = vec![0u8; 256 * 1024];
            loop {
                match rd.read(&mut buf).await {
                    Ok(n) if n > 0 => {
                        let piece = buf.get(..n).unwrap_or_default().to_vec();
                        if inc_tx.send(Incoming::Bytes(piece)).await.is_err() {
                            break;
                        }
                    }
                    _ => {
                        let _ = inc_tx.send(Incoming::Closed).await;
                        break;
                    }
                }
            }
        });
        Conn {
            ws: false,
            out,
            inc,
            parser: Parser::new(),
            tasks: vec![w, r],
            local,
        }
    }

    async fn tcp(relay: SocketAddr, name: &str) -> Res<Conn> {
        let s = timeout(SETUP_WAIT, TcpStream::connect(relay))
            .await
            .map_err(|_| "connect timed out".to_string())?
            .map_err(|e| format!("connect {relay}: {e}"))?;
        Ok(Conn::from_tcp(s, local_uri(name, "tcp")?))
    }

    async fn ws(http: SocketAddr, name: &str) -> Res<Conn> {
        let mut req = format!("ws://{http}/msrp")
            .into_client_request()
            .map_err(|e| format!("request: {e}"))?;
        req.headers_mut()
            .insert("Sec-WebSocket-Protocol", HeaderValue::from_static("msrp"));
        let (ws, _) = timeout(SETUP_WAIT, tokio_tungstenite::connect_async(req))
            .await
            .map_err(|_| "upgrade timed out".to_string())?
            .map_err(|e| format!("upgrade: {e}"))?;
        let (mut sink, mut stream) = ws.split();
        let (out, mut out_rx) = mpsc::channel::<Vec<u8>>(CHANNEL);
        let (inc_tx, inc) = mpsc::channel(CHANNEL);
        let w = tokio::spawn(async move {
            while let Some(b) = out_rx.recv().await {
                // As a browser does (RFC 7977 §5.2): text when it is UTF-8, else binary.
                let msg = match String::from_utf8(b) {
                    Ok(t) => WsMessage::text(t),
                    Err(e) => WsMessage::binary(e.into_bytes()),
                };
                if sink.send(msg).await.is_err() {
                    break;
                }
            }
            let _ = sink.close().await;
        });
        let r = tokio::spawn(async move {
            while let Some(m) = stream.next().await {
                let bytes = match m {
                    Ok(WsMessage::Text(t)) => t.as_bytes().to_vec(),
                    Ok(WsMessage::Binary(b)) => b.to_vec(),
                    Ok(WsMessage::Close(_)) | Err(_) => break,
                    Ok(_) => continue,
                };
                if inc_tx.send(Incoming::Bytes(bytes)).await.is_err() {
                    return;
                }
            }
            let _ = inc_tx.send(Incoming::Closed).await;
        });
        Ok(Conn {
            ws: true,
            out,
            inc,
            parser: Parser::new(),
            tasks: vec![w, r],
            local: local_uri(name, "ws")?,
        })
    }

    async fn send(&self, bytes: Vec<u8>) -> Res<()> {
        match timeout(SETUP_WAIT, self.out.send(bytes)).await {
            Ok(Ok(())) => Ok(()),
            _ => Err("the connection's writer is gone or stuck".into()),
        }
    }

    /// The next frame before a session takes over the connection.
    async fn frame(&mut self) -> Res<Frame> {
        loop {
            if let Some(f) = self.parser.next() {
                return f.map_err(|e| format!("bad frame: {e:?}"));
            }
            match timeout(SETUP_WAIT, self.inc.recv()).await {
                Err(_) => return Err("no frame in time".into()),
                Ok(Some(Incoming::Bytes(b))) if self.ws => {
                    return Frame::parse(&b).map_err(|e| format!("bad frame: {e:?}"));
                }
                Ok(Some(Incoming::Bytes(b))) => self.parser.push(&b),
                Ok(Some(Incoming::Closed) | None) => return Err("connection closed".into()),
            }
        }
    }

    /// AUTH to the relay as `user` (RFC 4976 §5): the relay's URI for us.
    async fn auth(&mut self, relay: &str, user: &str, password: &str) -> Res<Uri> {
        let relay = Uri::parse(relay).map_err(|e| format!("relay uri: {e:?}"))?;
        let mut rng = Rng::from_seed(user.len() as u64 * 7919 + 1);
        let mut client = AuthClient::new(relay, self.local.clone(), user, password);
        self.send(client.start(&mut rng).to_bytes()).await?;
        for _ in 0..8 {
            let r = self.frame().await?;
            match client.handle_response(&mut rng, &r) {
                AuthStep::Send(f) => self.send(f.to_bytes()).await?,
                AuthStep::Done { mut use_path, .. } if !use_path.is_empty() => {
                    return Ok(use_path.remove(0))
                }
                AuthStep::Ignored => {}
                other => return Err(format!("AUTH as {user}: {other:?}")),
            }
        }
        Err(format!("AUTH as {user}: no answer"))
    }

    fn abort(&self) {
        for t in &self.tasks {
            t.abort();
        }
    }
}

fn local_uri(name: &str, transport: &str) -> Res<Uri> {
    Uri::parse(&format!(
        "msrp://{name}.invalid:2855/{name}sess;{transport}"
    ))
    .map_err(|e| format!("uri: {e:?}"))
}

// ---------------------------------------------------------------- the transfer

/// The message's bytes: byte `i` is `table[i % PATTERN_LEN]`; the table is longer by a
/// chunk so that a piece never wraps.
fn pattern() -> Vec<u8> {
    let mut rng = Rng::from_seed(0x6d73_7270);
    let mut t = Vec::with_capacity(PATTERN_LEN + MAX_CHUNK);
    while t.len() < PATTERN_LEN {
        t.extend_from_slice(&rng.next_u64().to_le_bytes());
    }
    t.truncate(PATTERN_LEN);
    let head: Vec<u8> = t.iter().copied().take(MAX_CHUNK).collect();
    while t.len() < PATTERN_LEN + MAX_CHUNK {
        let need = PATTERN_LEN + MAX_CHUNK - t.len();
        t.extend_from_slice(head.get(..need.min(head.len())).unwrap_or_default());
    }
    t
}

fn hex(d: &[u8]) -> String {
    d.iter().map(|b| format!("{b:02x}")).collect()
}

/// A session and its clock.
struct Peer {
    conn: Conn,
    session: MsrpSession,
    epoch: Instant,
}

impl Peer {
    fn new(conn: Conn, to_path: Vec<Uri>, chunk: usize, seed: u64) -> Peer {
        let mut cfg = SessionConfig::new(conn.local.clone(), to_path, Role::Passive);
        cfg.chunk_size = chunk;
        // Never put a large message back together in memory: chunks only.
        cfg.max_buffered_size = 64 * 1024;
        Peer {
            conn,
            session: MsrpSession::new(cfg, seed),
            epoch: Instant::now(),
        }
    }

    fn now(&self) -> Time {
        Time::from_millis(u64::try_from(self.epoch.elapsed().as_millis()).unwrap_or(u64::MAX))
    }

    fn feed(&mut self, inc: Incoming) -> Res<()> {
        let now = self.now();
        match inc {
            Incoming::Bytes(b) if self.conn.ws => self.session.handle_message(now, &b),
            Incoming::Bytes(b) => self.session.handle_input(now, &b),
            Incoming::Closed => {
                self.session.close(now);
                return Err("the connection closed".into());
            }
        }
        Ok(())
    }

    /// Waits for input (or the session's timer) and feeds it.
    async fn wait(&mut self, deadline: tokio::time::Instant) -> Res<()> {
        let now = tokio::time::Instant::now();
        if now >= deadline {
            return Err("timed out".into());
        }
        let tick = deadline.min(now + Duration::from_millis(200));
        tokio::select! {
            i = self.conn.inc.recv() => self.feed(i.unwrap_or(Incoming::Closed))?,
            _ = tokio::time::sleep_until(tick) => {
                let now = self.now();
                self.session.handle_timeout(now);
            }
        }
        Ok(())
    }
}

struct Sent {
    secs: f64,
    sha1: String,
}

/// Sends `total` bytes as one streamed message; done at `Delivered`.
async fn run_sender(
    mut p: Peer,
    total: u64,
    table: std::sync::Arc<Vec<u8>>,
    limit: Duration,
) -> Res<Sent> {
    let start = Instant::now();
    let deadline = tokio::time::Instant::now() + limit;
    let now = p.now();
    let opts = SendOptions::new("application/octet-stream").with_success_report();
    let id = p
        .session
        .send_message(now, opts, total)
        .map_err(|e| format!("send_message: {e:?}"))?;
    let mut hasher = Sha1::new();
    let mut pushed = 0u64;
    loop {
        while let Some(o) = p.session.poll_output() {
            match o {
                SessionOutput::Transmit(b) => {
                    match tokio::time::timeout_at(deadline, p.conn.out.send(b)).await {
                        Ok(Ok(())) => {}
                        Ok(Err(_)) => return Err("sender: the writer is gone".into()),
                        Err(_) => return Err("sender: timed out writing".into()),
                    }
                }
                SessionOutput::NeedData {
                    offset, max_len, ..
                } => {
                    if offset != pushed {
                        return Err(format!("sender: asked for {offset}, pushed {pushed}"));
                    }
                    let at = usize::try_from(offset % PATTERN_LEN as u64).unwrap_or(0);
                    let piece = table
                        .get(at..at + max_len.min(MAX_CHUNK))
                        .ok_or("sender: piece out of the table")?;
                    hasher.update(piece);
                    pushed += piece.len() as u64;
                    let now = p.now();
                    p.session
                        .push_data(now, &id, piece)
                        .map_err(|e| format!("push_data: {e:?}"))?;
                }
                SessionOutput::Event(SessionEvent::Delivered { .. }) => {
                    p.conn.abort();
                    if pushed != total {
                        return Err(format!("sender: delivered after {pushed} of {total}"));
                    }
                    return Ok(Sent {
                        secs: start.elapsed().as_secs_f64(),
                        sha1: hex(&hasher.finalize()),
                    });
                }
                SessionOutput::Event(SessionEvent::DeliveryFailed { code, reason, .. }) => {
                    p.conn.abort();
                    return Err(format!(
                        "sender: delivery failed {code} {reason} after {pushed} bytes"
                    ));
                }
                SessionOutput::Event(_) => {}
            }
        }
        p.wait(deadline).await?;
    }
}

struct Received {
    bytes: u64,
    sha1: String,
}

/// Receives one message of `total` bytes, hashing it chunk by chunk in order; keeps the
/// connection up (for the success REPORT to leave) until `stop`.
async fn run_receiver(
    mut p: Peer,
    total: u64,
    limit: Duration,
    mut stop: watch::Receiver<bool>,
) -> Res<Received> {
    let deadline = tokio::time::Instant::now() + limit;
    let mut hasher = Sha1::new();
    let mut next = 0u64;
    let mut done = false;
    loop {
        while let Some(o) = p.session.poll_output() {
            match o {
                SessionOutput::Transmit(b) => {
                    match tokio::time::timeout_at(deadline, p.conn.out.send(b)).await {
                        Ok(Ok(())) => {}
                        _ => return Err("receiver: the writer is gone or stuck".into()),
                    }
                }
                SessionOutput::Event(SessionEvent::ChunkReceived { offset, data, .. }) => {
                    if offset != next {
                        return Err(format!("receiver: chunk at {offset}, expected {next}"));
                    }
                    hasher.update(&data);
                    next += data.len() as u64;
                }
                SessionOutput::Event(SessionEvent::MessageReceived { total: t, .. }) => {
                    if t != total || next != total {
                        return Err(format!("receiver: message of {t}, got {next}"));
                    }
                    done = true;
                }
                SessionOutput::Event(SessionEvent::MessageRefused { code, .. }) => {
                    return Err(format!("receiver: refused the message with {code}"));
                }
                SessionOutput::Event(SessionEvent::Error(e)) => {
                    return Err(format!("receiver: {e:?}"));
                }
                _ => {}
            }
        }
        if done {
            break;
        }
        p.wait(deadline).await?;
    }
    // Keep the connection (and its writer) up until the sender heard the REPORT.
    let _ = tokio::time::timeout_at(deadline, stop.changed()).await;
    p.conn.abort();
    Ok(Received {
        bytes: next,
        sha1: hex(&hasher.finalize()),
    })
}

struct Outcome {
    secs: f64,
    mib_s: f64,
    rss: Option<Rss>,
    /// CPU seconds of the gateway and of this process during the transfer.
    gateway_cpu: Option<f64>,
    bench_cpu: Option<f64>,
}

struct Rss {
    start: u64,
    max: u64,
    /// The largest sample of the first and of the second half of the transfer: equal when
    /// the memory is flat, the second larger when it grows with the bytes moved.
    first_half_max: u64,
    second_half_max: u64,
    end: u64,
    samples: usize,
}

/// Runs one transfer between two connected peers, sampling `pid`'s memory if given.
async fn transfer(
    a: Peer,
    b: Peer,
    total: u64,
    table: std::sync::Arc<Vec<u8>>,
    limit: Duration,
    pid: Option<u32>,
    tick: f64,
) -> Res<Outcome> {
    let (stop_tx, stop_rx) = watch::channel(false);
    let start_rss = pid.and_then(vm_rss);
    let gw_cpu0 = pid.and_then(|p| cpu_secs(&p.to_string(), tick));
    let me_cpu0 = cpu_secs("self", tick);
    let sampler = pid.map(|p| sample_rss(p, stop_rx.clone()));
    let mut recv = tokio::spawn(run_receiver(b, total, limit, stop_rx.clone()));
    let mut send = tokio::spawn(run_sender(a, total, table, limit));
    // A receiver failing first ends the sender too, rather than leaving it to its deadline.
    let (sent, got) = tokio::select! {
        s = &mut send => {
            let _ = stop_tx.send(true);
            (s, recv.await)
        }
        r = &mut recv => {
            if r.as_ref().is_ok_and(|r| r.is_err()) {
                send.abort();
            }
            let _ = stop_tx.send(true);
            (send.await, r)
        }
    };
    let end_rss = pid.and_then(vm_rss);
    let gw_cpu = pid
        .and_then(|p| cpu_secs(&p.to_string(), tick))
        .zip(gw_cpu0)
        .map(|(b, a)| b - a);
    let bench_cpu = cpu_secs("self", tick).zip(me_cpu0).map(|(b, a)| b - a);
    let _ = stop_tx.send(true);
    let got = got.map_err(|e| format!("receiver task: {e}"))?;
    let sent = sent.map_err(|e| format!("sender task: {e}"));
    let (sent, got) = match (sent, got) {
        (Ok(Ok(s)), Ok(g)) => (s, g),
        (_, Err(e)) => return Err(e),
        (Ok(Err(e)), _) | (Err(e), _) => return Err(e),
    };
    if got.bytes != total || got.sha1 != sent.sha1 {
        return Err(format!(
            "MISMATCH: sent {total} bytes sha1 {}, received {} bytes sha1 {}",
            sent.sha1, got.bytes, got.sha1
        ));
    }
    let samples = match sampler {
        Some(s) => s.await.map_err(|e| format!("sampler: {e}"))?,
        None => Vec::new(),
    };
    let half = samples.len() / 2;
    let max_of = |s: &[u64]| s.iter().copied().max().unwrap_or(0);
    let rss = match (start_rss, end_rss) {
        (Some(start), Some(end)) => Some(Rss {
            start,
            max: samples
                .iter()
                .copied()
                .chain([start, end])
                .max()
                .unwrap_or(end),
            first_half_max: max_of(samples.get(..half).unwrap_or_default()),
            second_half_max: max_of(samples.get(half..).unwrap_or_default()),
            end,
            samples: samples.len(),
        }),
        _ => None,
    };
    println!("    sha1 {} ok ({} bytes)", sent.sha1, total);
    Ok(Outcome {
        secs: sent.secs,
        mib_s: total as f64 / MIB as f64 / sent.secs,
        rss,
        gateway_cpu: gw_cpu,
        bench_cpu,
    })
}

/// alice over TCP or WebSocket, bob over TCP, both authenticated at the relay.
async fn relay_pair(gw: &Gateway, ws: bool, chunk: usize, seed: u64) -> Res<(Peer, Peer)> {
    let relay_tcp = format!("msrp://{};tcp", gw.msrp);
    let (mut a, ra) = if ws {
        let mut a = Conn::ws(gw.http, "alice").await?;
        let ra = a
            .auth(&format!("msrp://{};ws", gw.http), "alice", "secret")
            .await?;
        (a, ra)
    } else {
        let mut a = Conn::tcp(gw.msrp, "alice").await?;
        let ra = a.auth(&relay_tcp, "alice", "secret").await?;
        (a, ra)
    };
    let mut b = Conn::tcp(gw.msrp, "bob").await?;
    let rb = b.auth(&relay_tcp, "bob", "bobpass").await?;
    a.parser = Parser::new();
    b.parser = Parser::new();
    let (a_uri, b_uri) = (a.local.clone(), b.local.clone());
    let a = Peer::new(a, vec![ra.clone(), rb.clone(), b_uri], chunk, seed);
    let b = Peer::new(b, vec![rb, ra, a_uri], chunk, seed + 1);
    Ok((a, b))
}

/// Two peers on one loopback TCP connection, no relay.
async fn direct_pair(chunk: usize, seed: u64) -> Res<(Peer, Peer)> {
    let l = TcpListener::bind("127.0.0.1:0")
        .await
        .map_err(|e| format!("bind: {e}"))?;
    let addr = l.local_addr().map_err(|e| format!("addr: {e}"))?;
    let (c, s) = tokio::join!(TcpStream::connect(addr), l.accept());
    let c = c.map_err(|e| format!("connect: {e}"))?;
    let (s, _) = s.map_err(|e| format!("accept: {e}"))?;
    let (a_uri, b_uri) = (local_uri("alice", "tcp")?, local_uri("bob", "tcp")?);
    let a = Peer::new(
        Conn::from_tcp(c, a_uri.clone()),
        vec![b_uri.clone()],
        chunk,
        seed,
    );
    let b = Peer::new(Conn::from_tcp(s, b_uri), vec![a_uri], chunk, seed + 1);
    Ok((a, b))
}

fn kib_mib(k: u64) -> String {
    format!("{:.1} MiB", k as f64 / 1024.0)
}

async fn run(opts: Opts) -> Res<()> {
    let (bin, which) = pick_gateway(opts.gateway.clone())?;
    println!("gateway: {} ({which})", bin.display());
    let mut gw = Gateway::start(&bin)?;
    println!(
        "gateway pid {} http={} msrp={} VmRSS at start {}",
        gw.pid(),
        gw.http,
        gw.msrp,
        vm_rss(gw.pid()).map_or("?".into(), kib_mib)
    );
    let table = std::sync::Arc::new(pattern());
    let tick = clock_tick();
    {
        // What the SHA-1 on each side costs, to read the rates against.
        let t = Instant::now();
        let mut h = Sha1::new();
        for _ in 0..256 {
            h.update(table.get(..MAX_CHUNK).unwrap_or_default());
        }
        let _ = h.finalize();
        println!(
            "SHA-1 alone on this machine: {:.0} MiB/s",
            256.0 / t.elapsed().as_secs_f64()
        );
    }
    let mut failures = 0;
    let mut seed = 10;
    for &chunk in &opts.chunks {
        for sc in &opts.scenarios {
            seed += 2;
            let (total, pid) = match sc.as_str() {
                "relay-tcp" => (opts.size, Some(gw.pid())),
                "relay-ws" => (opts.ws_size, Some(gw.pid())),
                "direct" => (opts.size, None),
                other => return Err(format!("unknown scenario {other}")),
            };
            println!("{sc}: {} MiB in {} KiB chunks", total / MIB, chunk / 1024);
            let pair = match sc.as_str() {
                "relay-tcp" => relay_pair(&gw, false, chunk, seed).await,
                "relay-ws" => relay_pair(&gw, true, chunk, seed).await,
                _ => direct_pair(chunk, seed).await,
            };
            let r = match pair {
                Ok((a, b)) => transfer(a, b, total, table.clone(), opts.timeout, pid, tick).await,
                Err(e) => Err(e),
            };
            match r {
                Ok(o) => {
                    let mem = o.rss.map_or(String::new(), |m| {
                        format!(
                            "; gateway VmRSS start {} max {} (1st half {}, 2nd half {}) end {} ({} samples)",
                            kib_mib(m.start),
                            kib_mib(m.max),
                            kib_mib(m.first_half_max),
                            kib_mib(m.second_half_max),
                            kib_mib(m.end),
                            m.samples
                        )
                    });
                    let cpu = |c: Option<f64>| c.map_or("?".into(), |c| format!("{c:.1}s"));
                    let cpu = format!(
                        "; cpu gateway {} bench {}",
                        cpu(o.gateway_cpu),
                        cpu(o.bench_cpu)
                    );
                    println!(
                        "RESULT {sc} chunk={}KiB size={}MiB time={:.2}s rate={:.1}MiB/s{cpu}{mem}",
                        chunk / 1024,
                        total / MIB,
                        o.secs,
                        o.mib_s
                    );
                }
                Err(e) => {
                    failures += 1;
                    println!("RESULT {sc} chunk={}KiB FAILED: {e}", chunk / 1024);
                }
            }
            // Let the relay close the connections before the next run.
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
    }
    println!(
        "gateway VmRSS at the end {} (VmHWM {})",
        vm_rss(gw.pid()).map_or("?".into(), kib_mib),
        std::fs::read_to_string(format!("/proc/{}/status", gw.pid()))
            .ok()
            .and_then(|s| s
                .lines()
                .find_map(|l| l.strip_prefix("VmHWM:"))
                .map(|v| v.trim().to_string()))
            .unwrap_or_default()
    );
    gw.stop();
    if failures > 0 {
        return Err(format!("{failures} transfer(s) failed"));
    }
    Ok(())
}

fn main() {
    let opts = match parse_opts() {
        Ok(o) => o,
        Err(e) => {
            eprintln!("msrp-relay-bench: {e}");
            std::process::exit(2);
        }
    };
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("msrp-relay-bench: runtime: {e}");
            std::process::exit(1);
        }
    };
    if let Err(e) = rt.block_on(run(opts)) {
        eprintln!("msrp-relay-bench: {e}");
        std::process::exit(1);
    }
}
