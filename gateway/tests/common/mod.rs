//! Helpers of the end-to-end tests: the gateway binary as a child process killed on drop, and
//! a sans-IO `UserAgent` driven over a SIP WebSocket (RFC 7118) the way the browser does.

#![allow(dead_code)] // Each test crate uses its own part of this module.

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

pub const BIN: &str = env!("CARGO_BIN_EXE_sipsimple-gateway");
pub const WAIT: Duration = Duration::from_secs(10);

/// A running gateway; killed when dropped, so a failing test leaves no process behind.
pub struct Gateway {
    pub child: Child,
    pub http: SocketAddr,
    /// `None` with `--https off`.
    pub https: Option<SocketAddr>,
    pub udp: SocketAddr,
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

/// Adds alice (password `secret`) to a fresh data directory and starts `serve` on ephemeral
/// loopback ports, returning once the ready line is printed.
pub fn start(https: bool) -> Gateway {
    let dir = tempfile::tempdir().expect("temp dir");
    let data = dir.path().join("data");
    let status = Command::new(BIN)
        .arg("--data-dir")
        .arg(&data)
        .args(["user", "add", "alice", "--password", "secret"])
        .stdout(Stdio::null())
        .status()
        .expect("run user add");
    assert!(status.success(), "user add failed");
    let https_arg = if https { "127.0.0.1:0" } else { "off" };
    let child = Command::new(BIN)
        .arg("--data-dir")
        .arg(&data)
        .args(["serve", "--http", "127.0.0.1:0", "--https", https_arg])
        .args(["--sip-udp", "127.0.0.1:0", "--no-demo"])
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .spawn()
        .expect("spawn the gateway");
    let mut gw = Gateway {
        child,
        http: "0.0.0.0:0".parse().expect("placeholder"),
        https: None,
        udp: "0.0.0.0:0".parse().expect("placeholder"),
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
    assert!(line.ends_with(" domain=sipsimple.local"), "{line}");
    assert_eq!(line.contains(" https=off "), !https, "{line}");
    gw.http = field(&line, "http=").expect("http address");
    gw.https = field(&line, "https=");
    gw.udp = field(&line, "sip_udp=").expect("sip_udp address");
    gw
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
        let cfg = AccountConfig::new("alice@sipsimple.local", password);
        Client {
            ua: UserAgent::new(cfg, 0x5eed).expect("account"),
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
