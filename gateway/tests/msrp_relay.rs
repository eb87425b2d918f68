//! The gateway's MSRP relay (RFC 4976) end to end: clients over WebSocket (RFC 7977,
//! tokio-tungstenite with the `msrp` subprotocol) and over TCP AUTH with digest through the
//! shared crate's `msrp::auth::AuthClient`, then talk through the relay with the shared
//! crate's `MsrpSession`: chat both ways with success reports, a 5 MB file in chunks, the
//! refusals (wrong password, unknown user, an unauthenticated peer, an oversized chunk) and
//! a receiver that drops mid-transfer.

mod common;

use common::{start_with, Gateway};
use futures_util::{SinkExt, StreamExt};
use sipsimple::msrp::auth::{AuthClient, AuthStep};
use sipsimple::msrp::{
    Frame, MsrpSession, Parser, Role, SendOptions, SessionConfig, SessionEvent, SessionOutput, Uri,
};
use sipsimple::rng::Rng;
use sipsimple::Time;
use std::net::SocketAddr;
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio::time::timeout;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::Message as WsMessage;

const WAIT: Duration = Duration::from_secs(20);

/// A free port on loopback.
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port()
}

/// Writes `msrp.toml` in `dir` putting the relay's TCP listener (and the TLS one, when
/// given) on these loopback ports; its path, for `--config`.
fn msrp_config(dir: &std::path::Path, tcp: u16, tls: Option<u16>) -> String {
    let cfg = dir.join("msrp.toml");
    let mut text = format!("[msrp]\ntcp = \"127.0.0.1:{tcp}\"\n");
    if let Some(tls) = tls {
        text.push_str(&format!("tls = \"127.0.0.1:{tls}\"\n"));
    }
    std::fs::write(&cfg, text).expect("config");
    cfg.to_string_lossy().to_string()
}

fn loopback(port: u16) -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], port))
}

/// A gateway with its MSRP TCP listener on a free loopback port, and that address.
fn start_relay() -> (Gateway, SocketAddr, tempfile::TempDir) {
    let port = free_port();
    let dir = tempfile::tempdir().expect("temp dir");
    let gw = start_with(&["--config", &msrp_config(dir.path(), port, None)]);
    (gw, loopback(port), dir)
}

/// A client over TLS to the relay's TLS listener `tls` (through the suite's shim: plain TCP
/// in, TLS to the gateway, trusting the certificate `cert`, so the same client code
/// serves), authenticated as `user`: its connection and its `msrps` relay URI.
async fn tls_client(
    cert: &std::path::Path,
    tls: SocketAddr,
    user: &str,
    password: &str,
) -> (Conn, Uri) {
    let shim = common::tls::shim("127.0.0.1", tls, cert).await;
    let mut c = Conn::tcp(shim, user).await;
    let uri = c
        .auth(&format!("msrps://{tls};tcp"), user, password)
        .await
        .expect("authenticates over TLS")
        .remove(0);
    assert_eq!(uri.to_string().split("://").next(), Some("msrps"));
    assert_eq!(uri.port, Some(tls.port()));
    (c, uri)
}

/// Bytes from the network, or the end of the connection.
enum Incoming {
    Bytes(Vec<u8>),
    Closed,
}

/// One MSRP client connection (TCP or WebSocket) with reader and writer tasks, so that it
/// reads while it writes.
struct Conn {
    ws: bool,
    out: mpsc::UnboundedSender<Vec<u8>>,
    inc: mpsc::UnboundedReceiver<Incoming>,
    parser: Parser,
    tasks: Vec<JoinHandle<()>>,
    local: Uri,
}

impl Conn {
    async fn tcp(relay: SocketAddr, name: &str) -> Conn {
        let s = TcpStream::connect(relay).await.expect("connect");
        let (mut rd, mut wr) = s.into_split();
        let (out, mut out_rx) = mpsc::unbounded_channel::<Vec<u8>>();
        let (inc_tx, inc) = mpsc::unbounded_channel();
        let w = tokio::spawn(async move {
            while let Some(b) = out_rx.recv().await {
                if wr.write_all(&b).await.is_err() {
                    break;
                }
            }
        });
        let r = tokio::spawn(async move {
            let mut buf = vec![0u8; 64 * 1024];
            loop {
                match rd.read(&mut buf).await {
                    Ok(n) if n > 0 => {
                        let _ = inc_tx.send(Incoming::Bytes(buf[..n].to_vec()));
                    }
                    _ => {
                        let _ = inc_tx.send(Incoming::Closed);
                        break;
                    }
                }
            }
        });
        let local = Uri::parse(&format!("msrp://{name}.invalid:2855/{name}sess;tcp")).expect("uri");
        Conn {
            ws: false,
            out,
            inc,
            parser: Parser::new(),
            tasks: vec![w, r],
            local,
        }
    }

    async fn ws(gw: &Gateway, name: &str) -> Conn {
        let mut req = format!("ws://{}/msrp", gw.http)
            .into_client_request()
            .expect("request");
        req.headers_mut()
            .insert("Sec-WebSocket-Protocol", HeaderValue::from_static("msrp"));
        let (ws, resp) = tokio_tungstenite::connect_async(req)
            .await
            .expect("upgrade");
        assert_eq!(
            resp.headers()
                .get("Sec-WebSocket-Protocol")
                .map(|v| v.as_bytes()),
            Some(&b"msrp"[..])
        );
        let (mut sink, mut stream) = ws.split();
        let (out, mut out_rx) = mpsc::unbounded_channel::<Vec<u8>>();
        let (inc_tx, inc) = mpsc::unbounded_channel();
        let w = tokio::spawn(async move {
            while let Some(b) = out_rx.recv().await {
                let msg = match String::from_utf8(b) {
                    Ok(t) => WsMessage::text(t),
                    Err(e) => WsMessage::binary(e.into_bytes()),
                };
                if sink.send(msg).await.is_err() {
                    break;
                }
            }
        });
        let r = tokio::spawn(async move {
            while let Some(m) = stream.next().await {
                match m {
                    Ok(WsMessage::Text(t)) => {
                        let _ = inc_tx.send(Incoming::Bytes(t.as_bytes().to_vec()));
                    }
                    Ok(WsMessage::Binary(b)) => {
                        let _ = inc_tx.send(Incoming::Bytes(b.to_vec()));
                    }
                    Ok(WsMessage::Close(_)) | Err(_) => break,
                    Ok(_) => {}
                }
            }
            let _ = inc_tx.send(Incoming::Closed);
        });
        let local = Uri::parse(&format!("msrp://{name}.invalid:2855/{name}sess;ws")).expect("uri");
        Conn {
            ws: true,
            out,
            inc,
            parser: Parser::new(),
            tasks: vec![w, r],
            local,
        }
    }

    fn send(&self, bytes: Vec<u8>) {
        let _ = self.out.send(bytes);
    }

    /// The next frame (before a session takes over the connection); `None` when it closed.
    async fn frame(&mut self) -> Option<Frame> {
        loop {
            if let Some(f) = self.parser.next() {
                return Some(f.expect("a valid frame"));
            }
            match timeout(WAIT, self.inc.recv())
                .await
                .expect("a frame in time")
            {
                Some(Incoming::Bytes(b)) if self.ws => {
                    return Some(Frame::parse(&b).expect("one frame per message"));
                }
                Some(Incoming::Bytes(b)) => self.parser.push(&b),
                Some(Incoming::Closed) | None => return None,
            }
        }
    }

    /// Nothing arrives for a moment.
    async fn silent(&mut self) -> bool {
        self.parser.next().is_none()
            && timeout(Duration::from_millis(400), self.inc.recv())
                .await
                .is_err()
    }

    /// AUTH to the relay as `user`: the Use-Path, or the step that ended it.
    async fn auth(
        &mut self,
        relay: &str,
        user: &str,
        password: &str,
    ) -> Result<Vec<Uri>, AuthStep> {
        let relay = Uri::parse(relay).expect("relay uri");
        let mut rng = Rng::from_seed(user.len() as u64 * 7919 + 1);
        let mut client = AuthClient::new(relay, self.local.clone(), user, password);
        self.send(client.start(&mut rng).to_bytes());
        loop {
            let Some(r) = self.frame().await else {
                return Err(AuthStep::Failed {
                    code: 0,
                    reason: "closed".into(),
                });
            };
            match client.handle_response(&mut rng, &r) {
                AuthStep::Send(f) => self.send(f.to_bytes()),
                AuthStep::Done { use_path, .. } => return Ok(use_path),
                AuthStep::Ignored => {}
                other => return Err(other),
            }
        }
    }

    fn abort(&self) {
        for t in &self.tasks {
            t.abort();
        }
    }
}

/// A client with its session.
struct Client {
    conn: Conn,
    session: MsrpSession,
    events: Vec<SessionEvent>,
    closed: bool,
    epoch: Instant,
}

impl Client {
    fn new(conn: Conn, to_path: Vec<Uri>, seed: u64) -> Client {
        let mut cfg = SessionConfig::new(conn.local.clone(), to_path, Role::Passive);
        cfg.chunk_size = 64 * 1024;
        cfg.max_buffered_size = 8 * 1024 * 1024;
        Client {
            conn,
            session: MsrpSession::new(cfg, seed),
            events: Vec::new(),
            closed: false,
            epoch: Instant::now(),
        }
    }

    fn now(&self) -> Time {
        Time::from_millis(u64::try_from(self.epoch.elapsed().as_millis()).unwrap_or(u64::MAX))
    }

    fn pump(&mut self) {
        let now = self.now();
        self.session.handle_timeout(now);
        while let Some(o) = self.session.poll_output() {
            match o {
                SessionOutput::Transmit(b) => self.conn.send(b),
                SessionOutput::Event(e) => self.events.push(e),
                SessionOutput::NeedData { .. } => {}
            }
        }
    }

    fn feed(&mut self, inc: Incoming) {
        let now = self.now();
        match inc {
            Incoming::Bytes(b) if self.conn.ws => self.session.handle_message(now, &b),
            Incoming::Bytes(b) => self.session.handle_input(now, &b),
            Incoming::Closed => {
                self.closed = true;
                self.session.close(now);
            }
        }
        self.pump();
    }

    fn send_text(&mut self, text: &str) {
        let now = self.now();
        let opts = SendOptions::new("text/plain").with_success_report();
        self.session
            .send_bytes(now, opts, text.as_bytes().to_vec())
            .expect("queued");
        self.pump();
    }
}

/// Drives both clients until `done` holds.
async fn drive(a: &mut Client, b: &mut Client, done: impl Fn(&Client, &Client) -> bool) {
    let deadline = tokio::time::Instant::now() + WAIT;
    a.pump();
    b.pump();
    while !done(a, b) {
        let left = deadline.saturating_duration_since(tokio::time::Instant::now());
        assert!(
            !left.is_zero(),
            "timed out; a: {:?}\nb: {:?}",
            a.events,
            b.events
        );
        tokio::select! {
            Some(i) = a.conn.inc.recv(), if !a.closed => a.feed(i),
            Some(i) = b.conn.inc.recv(), if !b.closed => b.feed(i),
            _ = tokio::time::sleep(left.min(Duration::from_millis(200))) => { a.pump(); b.pump(); }
        }
    }
}

fn delivered(c: &Client) -> usize {
    c.events
        .iter()
        .filter(|e| matches!(e, SessionEvent::Delivered { .. }))
        .count()
}

fn received(c: &Client) -> Vec<Vec<u8>> {
    c.events
        .iter()
        .filter_map(|e| match e {
            SessionEvent::MessageReceived { body, .. } => body.clone(),
            _ => None,
        })
        .collect()
}

fn relay_uri(addr: SocketAddr) -> String {
    format!("msrp://{addr};tcp")
}

/// Two authenticated clients, A (alice over WebSocket) and B (bob over TCP), each with
/// its relay URI.
async fn pair(gw: &Gateway, relay: SocketAddr) -> (Conn, Uri, Conn, Uri) {
    let mut a = Conn::ws(gw, "alice").await;
    let ra = a
        .auth(&format!("msrp://{};ws", gw.http), "alice", "secret")
        .await
        .expect("alice authenticates")
        .remove(0);
    let mut b = Conn::tcp(relay, "bob").await;
    let rb = b
        .auth(&relay_uri(relay), "bob", "bobpass")
        .await
        .expect("bob authenticates")
        .remove(0);
    (a, ra, b, rb)
}

/// Chat both ways with success reports, then a 5 MB message in 64 KiB chunks, intact.
#[tokio::test]
async fn msrp_chat_and_a_5_mb_file_through_the_relay() {
    let (gw, relay, _cfg) = start_relay();
    let (a, ra, b, rb) = pair(&gw, relay).await;
    // Both relay URIs are the TCP listener's, whatever carried the AUTH (RFC 7977 §8).
    assert_eq!(ra.host, "127.0.0.1");
    assert_eq!(
        (ra.port, ra.transport.as_str()),
        (Some(relay.port()), "tcp")
    );
    assert_eq!(
        (rb.port, rb.transport.as_str()),
        (Some(relay.port()), "tcp")
    );
    assert_ne!(ra.session_id, rb.session_id);
    let (a_uri, b_uri) = (a.local.clone(), b.local.clone());
    let mut a = Client::new(a, vec![ra.clone(), rb.clone(), b_uri], 1);
    let mut b = Client::new(b, vec![rb, ra, a_uri], 2);

    a.send_text("hello bob, via the relay");
    drive(&mut a, &mut b, |a, b| {
        delivered(a) == 1 && received(b).len() == 1
    })
    .await;
    assert_eq!(received(&b), vec![b"hello bob, via the relay".to_vec()]);
    b.send_text("hi alice");
    drive(&mut a, &mut b, |a, b| {
        delivered(b) == 1 && received(a).len() == 1
    })
    .await;
    assert_eq!(received(&a), vec![b"hi alice".to_vec()]);

    let file: Vec<u8> = (0..5 * 1024 * 1024u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    let now = a.now();
    a.session
        .send_bytes(
            now,
            SendOptions::new("application/octet-stream").with_success_report(),
            file.clone(),
        )
        .expect("queued");
    drive(&mut a, &mut b, |a, b| {
        delivered(a) == 2 && received(b).len() == 2
    })
    .await;
    assert!(received(&b)[1] == file, "the file arrived intact");
    assert!(!a
        .events
        .iter()
        .any(|e| matches!(e, SessionEvent::DeliveryFailed { .. })));

    let m = http_get(&gw, "/metrics").await;
    assert_eq!(series(&m, "sipsimple_msrp_auths_total{result=\"ok\"}"), 2);
    assert!(series(&m, "sipsimple_msrp_frames_forwarded_total") >= 80);
    assert!(series(&m, "sipsimple_msrp_bytes_forwarded_total") >= 5 * 1024 * 1024);
    assert!(series(&m, "sipsimple_msrp_connections_active") >= 2);
}

/// MSRP over TLS (`msrps`): a client that connects to the TLS listener gets an `msrps` relay
/// URI on that listener, and chats with a client over plain TCP through the relay.
#[tokio::test]
async fn msrp_over_tls_gets_an_msrps_path_and_chats_with_a_tcp_client() {
    let (tcp, tls) = (free_port(), free_port());
    let dir = tempfile::tempdir().expect("temp dir");
    let gw = start_with(&["--config", &msrp_config(dir.path(), tcp, Some(tls))]);
    let relay = loopback(tcp);
    let (a, ra) = tls_client(&gw.data.join("cert.pem"), loopback(tls), "alice", "secret").await;
    let mut b = Conn::tcp(relay, "bob").await;
    let rb = b
        .auth(&relay_uri(relay), "bob", "bobpass")
        .await
        .expect("bob authenticates")
        .remove(0);
    let (a_uri, b_uri) = (a.local.clone(), b.local.clone());
    let mut a = Client::new(a, vec![ra.clone(), rb.clone(), b_uri], 11);
    let mut b = Client::new(b, vec![rb, ra, a_uri], 12);
    a.send_text("over TLS");
    drive(&mut a, &mut b, |a, b| {
        delivered(a) == 1 && received(b).len() == 1
    })
    .await;
    b.send_text("back over TCP");
    drive(&mut a, &mut b, |a, b| {
        delivered(b) == 1 && received(a).len() == 1
    })
    .await;
    assert_eq!(received(&a), vec![b"back over TCP".to_vec()]);
}

/// A wrong password is challenged again, then refused with 403; an unknown user gets 403.
#[tokio::test]
async fn msrp_auth_wrong_password_and_unknown_user() {
    let (gw, relay, _cfg) = start_relay();
    let mut c = Conn::tcp(relay, "carol").await;
    for _ in 0..2 {
        let r = c.auth(&relay_uri(relay), "bob", "wrong").await;
        assert!(
            matches!(r, Err(AuthStep::Failed { code: 401, .. })),
            "challenged again: {r:?}"
        );
    }
    let r = c.auth(&relay_uri(relay), "bob", "wrong").await;
    assert!(
        matches!(r, Err(AuthStep::Failed { code: 403, .. })),
        "{r:?}"
    );
    let mut d = Conn::ws(&gw, "dave").await;
    let r = d
        .auth(&format!("msrp://{};ws", gw.http), "nobody", "x")
        .await;
    assert!(
        matches!(r, Err(AuthStep::Failed { code: 403, .. })),
        "{r:?}"
    );
    let m = http_get(&gw, "/metrics").await;
    assert_eq!(
        series(&m, "sipsimple_msrp_auths_total{result=\"failed\"}"),
        4
    );
    assert_eq!(series(&m, "sipsimple_msrp_auths_total{result=\"ok\"}"), 0);
}

fn raw_send(tid: &str, to: &str, from: &str, body: &[u8]) -> Vec<u8> {
    let mut v = format!(
        "MSRP {tid} SEND\r\nTo-Path: {to}\r\nFrom-Path: {from}\r\nMessage-ID: m{tid}\r\n\
         Byte-Range: 1-{n}/{n}\r\nContent-Type: text/plain\r\n\r\n",
        n = body.len()
    )
    .into_bytes();
    v.extend_from_slice(body);
    v.extend_from_slice(format!("\r\n-------{tid}$\r\n").as_bytes());
    v
}

/// No open relay: an unauthenticated TCP peer is refused (403) anything but delivery to
/// a client, and nothing is sent on. An oversized chunk gets 413 and the connection and the
/// other session carry on.
#[tokio::test]
async fn msrp_refuses_open_relaying_and_oversized_chunks() {
    let (gw, relay, _cfg) = start_relay();
    let (a, ra, b, rb) = pair(&gw, relay).await;
    let b_uri = b.local.clone();
    let mut stranger = Conn::tcp(relay, "mallory").await;
    let from = "msrp://mallory.invalid:2855/m1;tcp";
    stranger.send(raw_send(
        "open0001",
        "msrp://192.0.2.1:2855/x1;tcp msrp://192.0.2.2:2855/y2;tcp",
        from,
        b"relay this",
    ));
    let r = stranger.frame().await.expect("a response");
    assert_eq!((r.tid.as_str(), r.code()), ("open0001", Some(403)));
    // Through alice's URI onward to a foreign hop: only alice may go outward through it.
    stranger.send(raw_send(
        "open0002",
        &format!("{ra} msrp://192.0.2.2:2855/y2;tcp msrp://192.0.2.3:2855/z3;tcp"),
        from,
        b"relay this",
    ));
    let r = stranger.frame().await.expect("a response");
    assert_eq!((r.tid.as_str(), r.code()), ("open0002", Some(403)));
    // Inbound delivery to bob through his URI is what a relay is for.
    stranger.send(raw_send(
        "inbd0003",
        &format!("{rb} {b_uri}"),
        from,
        b"hello bob",
    ));
    let r = stranger.frame().await.expect("a response");
    assert_eq!((r.tid.as_str(), r.code()), ("inbd0003", Some(200)));

    let mut a_conn = a;
    let mut b_conn = b;
    let got = b_conn.frame().await.expect("the delivery");
    assert_eq!(got.body(), b"hello bob");
    assert_eq!(got.to_path, vec![b_uri.clone()]);
    assert_eq!(got.from_path[0], rb);
    assert!(b_conn.silent().await, "nothing else reached bob");
    let m = http_get(&gw, "/metrics").await;
    assert_eq!(series(&m, "sipsimple_msrp_frames_forwarded_total"), 1);
    assert_eq!(series(&m, "sipsimple_msrp_refused_total{code=\"403\"}"), 2);

    // Alice sends a 1.5 MiB chunk: 413, nothing forwarded; then a normal chat works on
    // the same connection.
    let a_uri = a_conn.local.to_string();
    let big = vec![b'z'; 1536 * 1024];
    a_conn.send(raw_send(
        "huge0004",
        &format!("{ra} {rb} {b_uri}"),
        &a_uri,
        &big,
    ));
    let r = a_conn.frame().await.expect("a response");
    assert_eq!((r.tid.as_str(), r.code()), ("huge0004", Some(413)));
    a_conn.send(raw_send(
        "smal0005",
        &format!("{ra} {rb} {b_uri}"),
        &a_uri,
        b"small",
    ));
    let r = a_conn.frame().await.expect("a response");
    assert_eq!((r.tid.as_str(), r.code()), ("smal0005", Some(200)));
    let got = b_conn.frame().await.expect("the delivery");
    assert_eq!(got.body(), b"small");

    // Over TCP too (the stream skips the oversized chunk), and a second pair keeps working.
    let (c, rc, d, rd) = pair(&gw, relay).await;
    let (c_uri, d_uri) = (c.local.clone(), d.local.clone());
    let mut tcp = Conn::tcp(relay, "erin").await;
    let re = tcp
        .auth(&relay_uri(relay), "alice", "secret")
        .await
        .expect("authenticates")
        .remove(0);
    let e_uri = tcp.local.to_string();
    let mut wire = raw_send("huge0006", &format!("{re} {rb} {b_uri}"), &e_uri, &big);
    wire.extend(raw_send(
        "smal0007",
        &format!("{re} {rb} {b_uri}"),
        &e_uri,
        b"after",
    ));
    for piece in wire.chunks(100_000) {
        tcp.send(piece.to_vec());
    }
    let r = tcp.frame().await.expect("a response");
    assert_eq!((r.tid.as_str(), r.code()), ("huge0006", Some(413)));
    let r = tcp.frame().await.expect("a response");
    assert_eq!((r.tid.as_str(), r.code()), ("smal0007", Some(200)));
    assert_eq!(b_conn.frame().await.expect("delivery").body(), b"after");
    let mut c = Client::new(c, vec![rc.clone(), rd.clone(), d_uri], 3);
    let mut d = Client::new(d, vec![rd, rc, c_uri], 4);
    c.send_text("still here");
    drive(&mut c, &mut d, |c, d| {
        delivered(c) == 1 && received(d).len() == 1
    })
    .await;
    let m = http_get(&gw, "/metrics").await;
    assert_eq!(series(&m, "sipsimple_msrp_refused_total{code=\"413\"}"), 2);
}

/// The receiver's connection drops in the middle of a transfer: the sender hears of it
/// (a failure REPORT or a non-200 response), not silence.
#[tokio::test]
async fn msrp_receiver_dropping_mid_transfer_fails_the_sender() {
    let (gw, relay, _cfg) = start_relay();
    let (a, ra, b, rb) = pair(&gw, relay).await;
    let (a_uri, b_uri) = (a.local.clone(), b.local.clone());
    let mut a = Client::new(a, vec![ra.clone(), rb.clone(), b_uri], 5);
    let mut b = Client::new(b, vec![rb, ra, a_uri], 6);
    let file = vec![b'q'; 16 * 1024 * 1024];
    let now = a.now();
    a.session
        .send_bytes(
            now,
            SendOptions::new("application/octet-stream").with_success_report(),
            file,
        )
        .expect("queued");
    let chunks = |c: &Client| {
        c.events
            .iter()
            .filter(|e| matches!(e, SessionEvent::ChunkReceived { .. }))
            .count()
    };
    drive(&mut a, &mut b, |_, b| chunks(b) >= 3).await;
    b.conn.abort();
    b.closed = true;
    drive(&mut a, &mut b, |a, _| {
        a.events
            .iter()
            .any(|e| matches!(e, SessionEvent::DeliveryFailed { .. }))
    })
    .await;
    let failed = a.events.iter().find_map(|e| match e {
        SessionEvent::DeliveryFailed { code, .. } => Some(*code),
        _ => None,
    });
    assert!(matches!(failed, Some(408 | 481)), "{failed:?}");
    assert_eq!(delivered(&a), 0);
}

/// Two relays (two gateways): alice on the first over TCP, bob on the second over
/// WebSocket. Each relay reaches the other over TCP for the hop it does not serve.
#[tokio::test]
async fn msrp_between_two_relays() {
    let (gw1, relay1, _c1) = start_relay();
    let (gw2, relay2, _c2) = start_relay();
    let mut a = Conn::tcp(relay1, "alice").await;
    let ra = a
        .auth(&relay_uri(relay1), "alice", "secret")
        .await
        .expect("alice authenticates")
        .remove(0);
    let mut b = Conn::ws(&gw2, "bob").await;
    let rb = b
        .auth(&format!("msrp://{};ws", gw2.http), "bob", "bobpass")
        .await
        .expect("bob authenticates")
        .remove(0);
    assert_eq!(rb.port, Some(relay2.port()));
    let (a_uri, b_uri) = (a.local.clone(), b.local.clone());
    let mut a = Client::new(a, vec![ra.clone(), rb.clone(), b_uri], 7);
    let mut b = Client::new(b, vec![rb, ra, a_uri], 8);
    a.send_text("across two relays");
    drive(&mut a, &mut b, |a, b| {
        delivered(a) == 1 && received(b).len() == 1
    })
    .await;
    b.send_text("and back");
    drive(&mut a, &mut b, |a, b| {
        delivered(b) == 1 && received(a).len() == 1
    })
    .await;
    assert_eq!(received(&a), vec![b"and back".to_vec()]);
    for gw in [&gw1, &gw2] {
        let m = http_get(gw, "/metrics").await;
        assert!(series(&m, "sipsimple_msrp_frames_forwarded_total") >= 3);
    }
}

/// Two relays where the hop between them is msrps: alice is on the first over TLS, so her
/// relay URI is the first's TLS listener, and the second relay (which trusts the first's
/// certificate through `trusted.pem`) reaches her over TLS.
#[tokio::test]
async fn msrp_between_two_relays_over_tls() {
    let dir1 = tempfile::tempdir().expect("temp dir");
    let tls1 = free_port();
    let gw1 = start_with(&[
        "--config",
        &msrp_config(dir1.path(), free_port(), Some(tls1)),
    ]);
    let dir2 = tempfile::tempdir().expect("temp dir");
    let data2 = dir2.path().join("data");
    common::add_user(&data2, "alice", "secret");
    common::add_user(&data2, "bob", "bobpass");
    std::fs::copy(gw1.data.join("cert.pem"), data2.join("trusted.pem")).expect("trust gw1");
    let tcp2 = free_port();
    let cfg2 = msrp_config(dir2.path(), tcp2, Some(free_port()));
    let gw2 = common::restart_with(dir2, data2, "127.0.0.1", false, &["--config", &cfg2]);

    let (a, ra) = tls_client(
        &gw1.data.join("cert.pem"),
        loopback(tls1),
        "alice",
        "secret",
    )
    .await;
    let relay2 = loopback(tcp2);
    let mut b = Conn::tcp(relay2, "bob").await;
    let rb = b
        .auth(&relay_uri(relay2), "bob", "bobpass")
        .await
        .expect("bob authenticates")
        .remove(0);
    let (a_uri, b_uri) = (a.local.clone(), b.local.clone());
    let mut a = Client::new(a, vec![ra.clone(), rb.clone(), b_uri], 21);
    let mut b = Client::new(b, vec![rb, ra, a_uri], 22);
    b.send_text("to alice, over TLS between the relays");
    drive(&mut a, &mut b, |a, b| {
        delivered(b) == 1 && received(a).len() == 1
    })
    .await;
    a.send_text("and back over TCP");
    drive(&mut a, &mut b, |a, b| {
        delivered(a) == 1 && received(b).len() == 1
    })
    .await;
    assert_eq!(
        received(&a),
        vec![b"to alice, over TLS between the relays".to_vec()]
    );
    drop(gw2);
}

async fn http_get(gw: &Gateway, path: &str) -> String {
    let mut s = TcpStream::connect(gw.http).await.expect("connect");
    let req = format!(
        "GET {path} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n\r\n",
        gw.http
    );
    s.write_all(req.as_bytes()).await.expect("write");
    let mut out = String::new();
    timeout(Duration::from_secs(10), s.read_to_string(&mut out))
        .await
        .expect("in time")
        .expect("read");
    out
}

/// The value of a series in the exposition text.
fn series(text: &str, name: &str) -> u64 {
    text.lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.trim().parse().ok())
        .unwrap_or_else(|| panic!("{name} in:\n{text}"))
}
