//! The gateway's edge against hostile or careless peers, over loopback: no open relay for
//! unauthenticated peers, the proxy's digest challenge (RFC 3261 §22.3) for local users on
//! UDP, the lockout after 20 wrong digest answers, messages over the size limit on TCP and
//! WebSocket (413, close 1009), malformed requests (400), WebSocket Origins, `/metrics`, and
//! configuration errors (exit code 2).

mod common;

use common::{start, start_with, start_with_env, Gateway, BIN};
use futures_util::{SinkExt, StreamExt};
use sipsimple::auth::Challenge;
use sipsimple::sip::Message;
use std::net::SocketAddr;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpStream, UdpSocket};
use tokio::time::timeout;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::Message as WsMessage;

const DOMAIN: &str = "sipsimple.local";

/// A SIP peer on a UDP socket of its own.
struct Peer {
    sock: UdpSocket,
    gw: SocketAddr,
    /// Header lines added to its REGISTERs.
    extra: String,
}

impl Peer {
    async fn new(ip: &str, gw: SocketAddr) -> Peer {
        let sock = UdpSocket::bind((ip, 0)).await.expect("bind");
        Peer {
            sock,
            gw,
            extra: String::new(),
        }
    }

    fn local(&self) -> SocketAddr {
        self.sock.local_addr().expect("local address")
    }

    async fn send(&self, text: &str) {
        self.sock
            .send_to(text.as_bytes(), self.gw)
            .await
            .expect("send");
    }

    /// The next message, `None` after `secs` seconds of silence.
    async fn recv_for(&self, secs: u64) -> Option<Message> {
        let mut buf = vec![0u8; 65_535];
        loop {
            let (n, _) = timeout(Duration::from_secs(secs), self.sock.recv_from(&mut buf))
                .await
                .ok()?
                .ok()?;
            if let Ok(m) = Message::parse(buf.get(..n)?) {
                return Some(m);
            }
        }
    }

    /// Sends a request and returns its final response (CSeq `cseq`).
    async fn request(&self, text: &str, cseq: u32) -> Message {
        self.send(text).await;
        loop {
            let m = self.recv_for(10).await.expect("a final response");
            let ours = m
                .header("CSeq")
                .is_some_and(|c| c.starts_with(&format!("{cseq} ")));
            if ours && m.code().is_some_and(|c| c >= 200) {
                return m;
            }
        }
    }

    fn register_text(&self, n: u32, auth: &str) -> String {
        let local = self.local();
        let auth = format!("{}{auth}", self.extra);
        format!(
            "REGISTER sip:{DOMAIN} SIP/2.0\r\nVia: SIP/2.0/UDP {local};branch=z9hG4bKreg{n};rport\r\n\
             Max-Forwards: 70\r\nFrom: <sip:alice@{DOMAIN}>;tag=t{n}\r\nTo: <sip:alice@{DOMAIN}>\r\n\
             Call-ID: reg-{local}\r\nCSeq: {n} REGISTER\r\nContact: <sip:alice@{local}>\r\n\
             Expires: 600\r\n{auth}Content-Length: 0\r\n\r\n"
        )
    }

    /// A REGISTER for alice with `password`, answering the 401: the final code.
    async fn register(&self, n: u32, password: &str) -> u16 {
        let first = self.request(&self.register_text(n, ""), n).await;
        if first.code() != Some(401) {
            return first.code().unwrap_or(0);
        }
        let c =
            Challenge::parse(first.header("WWW-Authenticate").expect("challenge")).expect("parses");
        let a = c.answer(
            "alice",
            password,
            "REGISTER",
            &format!("sip:{DOMAIN}"),
            "cn",
            1,
        );
        let auth = format!("Authorization: {a}\r\n");
        let r = self.request(&self.register_text(n + 1, &auth), n + 1).await;
        r.code().unwrap_or(0)
    }

    fn invite_text(&self, ruri: &str, from: &str, n: u32, auth: &str) -> String {
        let local = self.local();
        format!(
            "INVITE {ruri} SIP/2.0\r\nVia: SIP/2.0/UDP {local};branch=z9hG4bKinv{n};rport\r\n\
             Max-Forwards: 70\r\nFrom: <{from}>;tag=f1\r\nTo: <{ruri}>\r\nCall-ID: inv-{local}\r\n\
             CSeq: {n} INVITE\r\nContact: <sip:caller@{local}>\r\n{auth}Content-Length: 0\r\n\r\n"
        )
    }

    fn options_text(&self, n: u32) -> String {
        let local = self.local();
        let gw = self.gw;
        let extra = &self.extra;
        format!(
            "OPTIONS sip:{gw} SIP/2.0\r\nVia: SIP/2.0/UDP {local};branch=z9hG4bKopt{n};rport\r\n\
             Max-Forwards: 70\r\nFrom: <sip:probe@example.com>;tag=o\r\nTo: <sip:{gw}>\r\n\
             Call-ID: opt-{n}-{local}\r\nCSeq: {n} OPTIONS\r\n{extra}Content-Length: 0\r\n\r\n"
        )
    }

    async fn options(&self, n: u32) -> u16 {
        self.request(&self.options_text(n), n)
            .await
            .code()
            .unwrap_or(0)
    }

    /// Sends an OPTIONS and says whether any answer came within a second.
    async fn options_answered(&self, n: u32) -> bool {
        self.send(&self.options_text(n)).await;
        self.recv_for(1).await.is_some()
    }
}

/// `GET path` on the HTTP listener: status line and body.
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

/// The value of an unlabelled or labelled series in the exposition text.
fn series(text: &str, name: &str) -> u64 {
    text.lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.trim().parse().ok())
        .unwrap_or_else(|| panic!("{name} in:\n{text}"))
}

#[tokio::test]
async fn an_unauthenticated_invite_to_a_foreign_domain_is_refused() {
    let gw = start(false);
    let p = Peer::new("127.0.0.1", gw.udp).await;
    let text = p.invite_text("sip:victim@192.0.2.1", "sip:mallory@example.com", 1, "");
    assert_eq!(p.request(&text, 1).await.code(), Some(403));
}

#[tokio::test]
async fn a_udp_user_is_challenged_and_relayed_after_the_right_answer() {
    let gw = start(false);
    let p = Peer::new("127.0.0.1", gw.udp).await;
    // The "foreign" callee: another UDP socket, named by address.
    let far = Peer::new("127.0.0.1", gw.udp).await;
    let ruri = format!("sip:carol@{}", far.local());
    let from = format!("sip:alice@{DOMAIN}");
    let r = p.request(&p.invite_text(&ruri, &from, 1, ""), 1).await;
    assert_eq!(r.code(), Some(407), "{r:?}");
    let c = Challenge::parse(r.header("Proxy-Authenticate").expect("challenge")).expect("parses");
    // A wrong password is refused ...
    let bad = c.answer("alice", "wrong", "INVITE", &ruri, "cn", 1);
    let text = p.invite_text(&ruri, &from, 2, &format!("Proxy-Authorization: {bad}\r\n"));
    assert_eq!(p.request(&text, 2).await.code(), Some(403));
    // ... the right one goes through to the foreign host, credentials consumed.
    let good = c.answer("alice", "secret", "INVITE", &ruri, "cn", 2);
    let text = p.invite_text(&ruri, &from, 3, &format!("Proxy-Authorization: {good}\r\n"));
    p.send(&text).await;
    let arrived = far
        .recv_for(10)
        .await
        .expect("the INVITE reaches the far end");
    assert_eq!(arrived.method(), Some("INVITE"));
    assert!(arrived.header("Proxy-Authorization").is_none());
}

#[tokio::test]
async fn twenty_wrong_passwords_lock_the_source_out_but_not_others() {
    let gw = start(false);
    let p = Peer::new("127.0.0.1", gw.udp).await;
    for i in 0..20 {
        assert_eq!(p.register(10 * i + 1, "wrong").await, 403, "attempt {i}");
    }
    // The 21st, with the right password, is refused without a look at it.
    assert_eq!(p.register(1_000, "secret").await, 403);
    // Another source registers.
    let other = Peer::new("127.0.0.2", gw.udp).await;
    assert_eq!(other.register(1, "secret").await, 200);
    let m = http_get(&gw, "/metrics").await;
    assert_eq!(series(&m, "sipsimple_lockouts_total"), 1);
    assert!(series(&m, "sipsimple_auth_failures_total") >= 20);
}

/// Behind a trusted front proxy (`security.trusted_proxies`, 127.0.0.1 here) the lockout
/// counts the client the proxy names in `X-Sipsimple-Source`, not the proxy: one client's
/// wrong passwords lock that client out, the others behind the same proxy still register.
/// From an untrusted source the header is ignored, so it cannot dodge its lockout.
#[tokio::test]
async fn behind_a_trusted_proxy_the_lockout_counts_the_client_it_names() {
    let gw = start_with_env(&[], &[("SIPSIMPLE_SECURITY_TRUSTED_PROXIES", "127.0.0.1")]);
    let mut proxy = Peer::new("127.0.0.1", gw.udp).await;
    proxy.extra = "X-Sipsimple-Source: 192.0.2.10\r\n".into();
    for i in 0..20 {
        assert_eq!(
            proxy.register(10 * i + 1, "wrong").await,
            403,
            "attempt {i}"
        );
    }
    assert_eq!(
        proxy.register(1_000, "secret").await,
        403,
        "192.0.2.10 is locked out"
    );
    proxy.extra = "X-Sipsimple-Source: 192.0.2.11\r\n".into();
    assert_eq!(
        proxy.register(2_000, "secret").await,
        200,
        "192.0.2.11 is not"
    );
    proxy.extra.clear();
    assert_eq!(
        proxy.register(3_000, "secret").await,
        200,
        "nor the proxy itself"
    );

    // 127.0.0.2 is no trusted proxy: naming a new client each time changes nothing.
    let mut liar = Peer::new("127.0.0.2", gw.udp).await;
    for i in 0..20 {
        liar.extra = format!("X-Sipsimple-Source: 198.51.100.{i}\r\n");
        assert_eq!(liar.register(10 * i + 1, "wrong").await, 403, "attempt {i}");
    }
    liar.extra = "X-Sipsimple-Source: 198.51.100.99\r\n".into();
    assert_eq!(
        liar.register(1_000, "secret").await,
        403,
        "127.0.0.2 is locked out"
    );
    let m = http_get(&gw, "/metrics").await;
    assert_eq!(series(&m, "sipsimple_lockouts_total"), 2);
}

/// The request rate too: behind the trusted proxy each client it names has a bucket of its
/// own (1 request/s, a burst of 2 here).
#[tokio::test]
async fn behind_a_trusted_proxy_the_rate_limit_counts_the_client_it_names() {
    let gw = start_with_env(
        &["--rate-limit", "1", "--rate-burst", "2"],
        &[("SIPSIMPLE_SECURITY_TRUSTED_PROXIES", "127.0.0.1")],
    );
    let mut proxy = Peer::new("127.0.0.1", gw.udp).await;
    proxy.extra = "X-Sipsimple-Source: 192.0.2.20\r\n".into();
    assert!(proxy.options_answered(1).await);
    assert!(proxy.options_answered(2).await);
    assert!(
        !proxy.options_answered(3).await,
        "192.0.2.20 is over its rate"
    );
    proxy.extra = "X-Sipsimple-Source: 192.0.2.21\r\n".into();
    assert!(
        proxy.options_answered(4).await,
        "192.0.2.21 has its own bucket"
    );
    let m = http_get(&gw, "/metrics").await;
    assert_eq!(
        series(&m, "sipsimple_dropped_total{reason=\"rate_limited\"}"),
        1
    );
}

#[tokio::test]
async fn a_10_mb_message_over_tcp_is_refused_and_others_are_served() {
    let gw = start(false);
    let mut s = TcpStream::connect(gw.tcp).await.expect("connect");
    let local = s.local_addr().expect("local");
    let size = 10 * 1024 * 1024;
    let head = format!(
        "MESSAGE sip:alice@{DOMAIN} SIP/2.0\r\nVia: SIP/2.0/TCP {local};branch=z9hG4bKbig\r\n\
         Max-Forwards: 70\r\nFrom: <sip:x@example.com>;tag=b\r\nTo: <sip:alice@{DOMAIN}>\r\n\
         Call-ID: big\r\nCSeq: 1 MESSAGE\r\nContent-Type: text/plain\r\nContent-Length: {size}\r\n\r\n"
    );
    let (mut rd, mut wr) = s.split();
    let write = async {
        let _ = wr.write_all(head.as_bytes()).await;
        let chunk = vec![b'a'; 64 * 1024];
        for _ in 0..(size / chunk.len()) {
            if wr.write_all(&chunk).await.is_err() {
                break;
            }
        }
    };
    let read = async {
        let mut got = Vec::new();
        let mut buf = [0u8; 4096];
        // Until the gateway closes (or resets) the connection.
        while let Ok(Ok(n)) = timeout(Duration::from_secs(10), rd.read(&mut buf)).await {
            if n == 0 {
                break;
            }
            got.extend_from_slice(buf.get(..n).unwrap_or_default());
        }
        got
    };
    let (_, got) = tokio::join!(write, read);
    let text = String::from_utf8_lossy(&got);
    assert!(
        text.is_empty() || text.starts_with("SIP/2.0 413 "),
        "413 or a closed connection: {text}"
    );
    // The gateway still serves.
    let p = Peer::new("127.0.0.1", gw.udp).await;
    assert_eq!(p.options(1).await, 200);
    let m = http_get(&gw, "/metrics").await;
    assert!(series(&m, "sipsimple_dropped_total{reason=\"too_large\"}") >= 1);
}

fn ws_request(
    gw: &Gateway,
    origin: Option<&str>,
) -> tokio_tungstenite::tungstenite::handshake::client::Request {
    let mut req = format!("ws://{}/ws", gw.http)
        .into_client_request()
        .expect("request");
    req.headers_mut()
        .insert("Sec-WebSocket-Protocol", HeaderValue::from_static("sip"));
    if let Some(o) = origin {
        req.headers_mut()
            .insert("Origin", HeaderValue::from_str(o).expect("header"));
    }
    req
}

#[tokio::test]
async fn a_10_mb_websocket_frame_closes_with_1009_and_others_are_served() {
    let gw = start(false);
    let (mut ws, _) = tokio_tungstenite::connect_async(ws_request(&gw, None))
        .await
        .expect("upgrade");
    let big = "a".repeat(10 * 1024 * 1024);
    let _ = ws.send(WsMessage::text(big)).await;
    let mut code = None;
    while let Ok(Some(frame)) = timeout(Duration::from_secs(10), ws.next()).await {
        match frame {
            Ok(WsMessage::Close(c)) => {
                code = c.map(|c| c.code);
                break;
            }
            Ok(_) => continue,
            // A reset may overtake the close frame while we are still sending.
            Err(_) => break,
        }
    }
    assert!(
        code.is_none() || code == Some(CloseCode::Size),
        "closed with 1009: {code:?}"
    );
    // Another browser still registers.
    let _bob = common::callee::register(gw.http, "bob", "bobpass", "t").await;
    let m = http_get(&gw, "/metrics").await;
    assert!(series(&m, "sipsimple_dropped_total{reason=\"too_large\"}") >= 1);
}

#[tokio::test]
async fn a_malformed_request_gets_400_and_the_gateway_keeps_serving() {
    let gw = start(false);
    let p = Peer::new("127.0.0.1", gw.udp).await;
    let local = p.local();
    let bad = format!(
        "INVITE sip:alice@{DOMAIN} SIP/2.0\r\nVia: SIP/2.0/UDP {local};branch=z9hG4bKbad\r\n\
         From: <sip:x@example.com>;tag=1\r\nTo: <sip:alice@{DOMAIN}>\r\nCall-ID: bad\r\n\
         CSeq: 1 INVITE\r\nthis line is not a header\r\nContent-Length: 0\r\n\r\n"
    );
    assert_eq!(p.request(&bad, 1).await.code(), Some(400));
    // Bytes that are not SIP at all get nothing, and do no harm.
    p.send("\u{1}\u{2} not SIP").await;
    assert_eq!(p.options(2).await, 200);
}

#[tokio::test]
async fn a_websocket_upgrade_from_a_foreign_origin_is_refused() {
    let gw = start(false);
    match tokio_tungstenite::connect_async(ws_request(&gw, Some("https://evil.example"))).await {
        Err(tokio_tungstenite::tungstenite::Error::Http(r)) => assert_eq!(r.status(), 403),
        other => panic!("refused with 403: {:?}", other.map(|(_, r)| r.status())),
    }
    // The page's own origin and localhost are allowed.
    let own = format!("http://{}", gw.http);
    assert!(
        tokio_tungstenite::connect_async(ws_request(&gw, Some(&own)))
            .await
            .is_ok()
    );
    assert!(
        tokio_tungstenite::connect_async(ws_request(&gw, Some("http://localhost:3000")))
            .await
            .is_ok()
    );
    // A configured origin is allowed too.
    let gw = start_with(&["--allowed-origin", "https://app.example"]);
    assert!(
        tokio_tungstenite::connect_async(ws_request(&gw, Some("https://app.example")))
            .await
            .is_ok()
    );
}

#[tokio::test]
async fn metrics_move_after_a_register() {
    let gw = start(false);
    let before = http_get(&gw, "/metrics").await;
    assert!(before.starts_with("HTTP/1.1 200"), "{before}");
    assert!(before.contains("# TYPE sipsimple_requests_total counter"));
    let reg = "sipsimple_requests_total{method=\"REGISTER\"}";
    assert_eq!(series(&before, reg), 0);
    assert_eq!(series(&before, "sipsimple_registrations"), 0);
    let p = Peer::new("127.0.0.1", gw.udp).await;
    assert_eq!(p.register(1, "secret").await, 200);
    let after = http_get(&gw, "/metrics").await;
    assert_eq!(series(&after, reg), 2);
    assert_eq!(series(&after, "sipsimple_registrations"), 1);
    assert_eq!(
        series(
            &after,
            "sipsimple_responses_total{direction=\"out\",class=\"2xx\"}"
        ),
        1
    );
    assert_eq!(
        series(
            &after,
            "sipsimple_responses_total{direction=\"out\",class=\"4xx\"}"
        ),
        1
    );
}

#[test]
fn a_bad_config_key_is_named_and_exits_with_2() {
    let dir = tempfile::tempdir().expect("temp dir");
    let run = |toml: &str| {
        let path = dir.path().join("gateway.toml");
        std::fs::write(&path, toml).expect("write");
        let out = std::process::Command::new(BIN)
            .arg("--config")
            .arg(&path)
            .args(["--data-dir"])
            .arg(dir.path().join("data"))
            .arg("serve")
            .output()
            .expect("run");
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stderr).to_string(),
        )
    };
    let (code, err) = run("[security]\nlockout_after = 0\n");
    assert_eq!(code, Some(2));
    assert!(
        err.contains("config error: security.lockout_after: must be at least 1"),
        "{err}"
    );
    let (code, err) = run("[security]\nlockot_after = 3\n");
    assert_eq!(code, Some(2));
    assert!(
        err.contains("config error: ") && err.contains("lockot_after"),
        "{err}"
    );
    let (code, err) = run("sip_tcp = \"nowhere\"\n");
    assert_eq!(code, Some(2));
    assert!(err.contains("config error: sip_tcp: "), "{err}");
    // The environment names the same key.
    let out = std::process::Command::new(BIN)
        .arg("--data-dir")
        .arg(dir.path().join("data"))
        .env("SIPSIMPLE_SECURITY_MAX_MESSAGE_SIZE", "10")
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr)
        .contains("config error: security.max_message_size: must be between"));
}
