//! Helpers of the end-to-end tests: the gateway binary as a child process killed on drop, and
//! a sans-IO `UserAgent` driven over a SIP WebSocket (RFC 7118) the way the browser does.

#![allow(dead_code)] // Each test crate uses its own part of this module.

pub mod callee;
pub mod kamailio;
pub mod postgres;
pub mod sipp;
pub mod tls;

use futures_util::{SinkExt, StreamExt};
use sipsimple::sip::Message;
use sipsimple::{AccountConfig, Event, Output, Time, UserAgent};
use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::UdpSocket;
use tokio::time::timeout;
use tokio_tungstenite::tungstenite::Message as WsMessage;
use tokio_tungstenite::WebSocketStream;

/// The client side of a plain WebSocket.
pub type WsStream = tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>;

pub const BIN: &str = env!("CARGO_BIN_EXE_sipsimple-gateway");
pub const WAIT: Duration = Duration::from_secs(10);

/// Opens the gateway's SIP WebSocket (`ws://{http}/ws`, subprotocol `sip`, RFC 7118).
pub async fn open_sip_ws(http: SocketAddr) -> WebSocketStream<WsStream> {
    use tokio_tungstenite::tungstenite::client::IntoClientRequest;
    use tokio_tungstenite::tungstenite::http::HeaderValue;
    let mut req = format!("ws://{http}/ws")
        .into_client_request()
        .expect("request");
    req.headers_mut()
        .insert("Sec-WebSocket-Protocol", HeaderValue::from_static("sip"));
    let (ws, _) = tokio_tungstenite::connect_async(req)
        .await
        .expect("WebSocket upgrade");
    ws
}

/// A running gateway; killed when dropped, so a failing test leaves no process behind.
pub struct Gateway {
    pub child: Child,
    pub http: SocketAddr,
    /// `None` with `--https off`.
    pub https: Option<SocketAddr>,
    pub udp: SocketAddr,
    pub tcp: SocketAddr,
    pub tls: SocketAddr,
    pub data: PathBuf,
    _dir: tempfile::TempDir,
}

impl Drop for Gateway {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn field(line: &str, name: &str) -> Option<SocketAddr> {
    line.split_whitespace()
        .find_map(|w| w.strip_prefix(name))
        .and_then(|v| v.parse().ok())
}

/// Adds a user to a data directory.
pub fn add_user(data: &std::path::Path, name: &str, password: &str) {
    let status = Command::new(BIN)
        .arg("--data-dir")
        .arg(data)
        .args(["user", "add", name, "--password", password])
        .stdout(Stdio::null())
        .status()
        .expect("run user add");
    assert!(status.success(), "user add failed");
}

/// Adds alice (password `secret`) and bob (password `bobpass`) to a fresh data directory
/// and starts `serve` on ephemeral loopback ports, returning once the ready line is printed.
pub fn start(https: bool) -> Gateway {
    start_on("127.0.0.1", https)
}

/// [`start`] with every SIP transport bound to `ip` (`127.0.0.1` or `::1`).
pub fn start_on(ip: &str, https: bool) -> Gateway {
    let dir = tempfile::tempdir().expect("temp dir");
    let data = dir.path().join("data");
    add_user(&data, "alice", "secret");
    add_user(&data, "bob", "bobpass");
    restart(dir, data, ip, https)
}

/// [`start`] (without HTTPS) with `extra` arguments after `serve`'s.
pub fn start_with(extra: &[&str]) -> Gateway {
    start_with_env(extra, &[])
}

/// [`start_with`] with `env` (`SIPSIMPLE_*` settings) in the gateway's environment.
pub fn start_with_env(extra: &[&str], env: &[(&str, &str)]) -> Gateway {
    let dir = tempfile::tempdir().expect("temp dir");
    let data = dir.path().join("data");
    add_user(&data, "alice", "secret");
    add_user(&data, "bob", "bobpass");
    spawn(dir, data, "127.0.0.1", false, extra, env)
}

/// Starts `serve` on an existing data directory (held by `dir`).
pub fn restart(dir: tempfile::TempDir, data: PathBuf, ip: &str, https: bool) -> Gateway {
    restart_with(dir, data, ip, https, &[])
}

/// [`restart`] with `extra` arguments after `serve`'s.
pub fn restart_with(
    dir: tempfile::TempDir,
    data: PathBuf,
    ip: &str,
    https: bool,
    extra: &[&str],
) -> Gateway {
    spawn(dir, data, ip, https, extra, &[])
}

fn spawn(
    dir: tempfile::TempDir,
    data: PathBuf,
    ip: &str,
    https: bool,
    extra: &[&str],
    env: &[(&str, &str)],
) -> Gateway {
    let any = if ip.contains(':') {
        format!("[{ip}]:0")
    } else {
        format!("{ip}:0")
    };
    let https_arg = if https { "127.0.0.1:0" } else { "off" };
    let child = Command::new(BIN)
        .arg("--data-dir")
        .arg(&data)
        .args(["serve", "--http", "127.0.0.1:0", "--https", https_arg])
        .args([
            "--sip-udp",
            &any,
            "--sip-tcp",
            &any,
            "--sip-tls",
            &any,
            "--no-demo",
        ])
        .args(extra)
        .envs(env.iter().copied())
        .env(
            "RUST_LOG",
            std::env::var("GATEWAY_LOG").unwrap_or_else(|_| "warn".into()),
        )
        .stdout(Stdio::piped())
        .spawn()
        .expect("spawn the gateway");
    let placeholder: SocketAddr = "0.0.0.0:0".parse().expect("placeholder");
    let mut gw = Gateway {
        child,
        http: placeholder,
        https: None,
        udp: placeholder,
        tcp: placeholder,
        tls: placeholder,
        data,
        _dir: dir,
    };
    // From here on a failed assertion drops (and kills) the gateway.
    let stdout = gw.child.stdout.take().expect("stdout");
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        // Keep reading to the end so that the gateway never blocks on a full pipe.
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if line.starts_with("sipsimple-gateway ready ") {
                let _ = tx.send(line);
            }
        }
    });
    let line = rx
        .recv_timeout(Duration::from_secs(30))
        .expect("the ready line");
    // The e2e suite's pattern still matches: the old fields first, in order.
    assert!(line.contains(" domain=sipsimple.local "), "{line}");
    assert!(line.starts_with("sipsimple-gateway ready http="), "{line}");
    assert_eq!(line.contains(" https=off "), !https, "{line}");
    gw.http = field(&line, "http=").expect("http address");
    gw.https = field(&line, "https=");
    gw.udp = field(&line, "sip_udp=").expect("sip_udp address");
    gw.tcp = field(&line, "sip_tcp=").expect("sip_tcp address");
    gw.tls = field(&line, "sip_tls=").expect("sip_tls address");
    gw
}

impl Gateway {
    /// Stops the process (SIGTERM, so that it flushes its database writes) and hands back
    /// its data directory for [`restart`].
    pub fn stop(mut self) -> (tempfile::TempDir, PathBuf) {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let _ = self.child.wait();
        let dir = tempfile::tempdir().expect("placeholder dir");
        let old = std::mem::replace(&mut self._dir, dir);
        (old, self.data.clone())
    }
}

/// A fresh seed per client.
fn next_seed() -> u64 {
    static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0x5eed);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed) ^ (u64::from(nanos) << 20)
}

/// A user agent over one WebSocket, with the events and response codes it saw.
pub struct Client<S> {
    pub ua: UserAgent,
    pub ws: WebSocketStream<S>,
    epoch: Instant,
    pub events: Vec<Event>,
    pub codes: Vec<u16>,
}

impl<S: AsyncRead + AsyncWrite + Unpin> Client<S> {
    pub fn new(ws: WebSocketStream<S>, password: &str) -> Client<S> {
        Client::for_user(ws, "alice", password)
    }

    /// A client of `user` at the gateway's domain, or of the AOR `user` when it has an `@`.
    pub fn for_user(ws: WebSocketStream<S>, user: &str, password: &str) -> Client<S> {
        let aor = if user.contains('@') {
            user.to_string()
        } else {
            format!("{user}@sipsimple.local")
        };
        let cfg = AccountConfig::new(&aor, password);
        Client {
            // Distinct seeds: two clients of one user must not share a flow name.
            ua: UserAgent::new(cfg, next_seed()).expect("account"),
            ws,
            epoch: Instant::now(),
            events: Vec::new(),
            codes: Vec::new(),
        }
    }

    pub fn now(&self) -> Time {
        Time::from_millis(u64::try_from(self.epoch.elapsed().as_millis()).expect("ms"))
    }

    /// Sends every Transmit as a text frame and keeps every notification.
    pub async fn flush(&mut self) {
        while let Some(out) = self.ua.poll_output() {
            match out {
                Output::Transmit(bytes) => {
                    let text = String::from_utf8(bytes).expect("SIP text");
                    self.ws
                        .send(WsMessage::text(text))
                        .await
                        .expect("send frame");
                }
                Output::Notification(n) => self.events.push(n.event),
            }
        }
    }

    /// Feeds frames to the user agent until `done` holds for an event.
    pub async fn until(&mut self, done: impl Fn(&Event) -> bool) -> Event {
        let deadline = Instant::now() + WAIT;
        loop {
            self.flush().await;
            if let Some(e) = self.events.iter().find(|e| done(e)) {
                return e.clone();
            }
            let left = deadline.saturating_duration_since(Instant::now());
            let frame = timeout(left, self.ws.next())
                .await
                .unwrap_or_else(|_| panic!("timed out; events so far: {:?}", self.events))
                .expect("the gateway closed the WebSocket")
                .expect("a frame");
            let bytes = match frame {
                WsMessage::Text(t) => t.as_bytes().to_vec(),
                WsMessage::Binary(b) => b.to_vec(),
                _ => continue,
            };
            if let Some(code) = Message::parse(&bytes).ok().and_then(|m| m.code()) {
                self.codes.push(code);
            }
            let now = self.now();
            self.ua.handle_input(now, &bytes);
        }
    }

    /// Registers and waits for success or failure.
    pub async fn register(&mut self) -> Event {
        let now = self.now();
        self.ua.register(now);
        self.until(|e| {
            matches!(
                e,
                Event::SIPAccountRegistrationDidSucceed { .. }
                    | Event::SIPAccountRegistrationDidFail { .. }
            )
        })
        .await
    }
}

/// Receives one SIP message on a UDP socket, within [`WAIT`].
pub async fn recv(sock: &UdpSocket) -> (Message, SocketAddr) {
    let mut buf = vec![0u8; 65_535];
    let (n, from) = timeout(WAIT, sock.recv_from(&mut buf))
        .await
        .expect("a datagram in time")
        .expect("recv");
    let msg = Message::parse(buf.get(..n).expect("length")).expect("a SIP message");
    (msg, from)
}
