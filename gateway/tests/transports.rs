//! The SIP transports of the running gateway over loopback: TCP framing by Content-Length
//! across reads, CRLF keep-alive ping/pong (RFC 5626 §4.4.1), the message size limit
//! answered with 413 and a close (RFC 3261 §18.3, §21.4.11), and IPv6 on UDP, TCP and TLS
//! (RFC 5118) with a SIPp call over IPv6.

mod common;

use common::callee;
use common::sipp::{self, Transport};
use common::{start, start_on, WAIT};
use rustls::pki_types::ServerName;
use sipsimple::sip::Message;
use std::net::SocketAddr;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpStream, UdpSocket};
use tokio::time::timeout;

fn options(via: &str, branch: &str) -> String {
    format!(
        "OPTIONS sip:sipsimple.local SIP/2.0\r\nVia: SIP/2.0/{via};branch={branch}\r\n\
         Max-Forwards: 70\r\nTo: <sip:sipsimple.local>\r\nFrom: <sip:probe@example.com>;tag=p\r\n\
         Call-ID: {branch}\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n"
    )
}

/// Reads one SIP message from a stream (Content-Length framing).
async fn read_message<S: AsyncRead + Unpin>(s: &mut S, buf: &mut Vec<u8>) -> Message {
    loop {
        if let Ok(sipsimple::sip::Status::Complete(n)) = sipsimple::sip::MessageRef::frame(buf) {
            let msg = Message::parse(buf.get(..n).expect("frame")).expect("SIP");
            buf.drain(..n);
            return msg;
        }
        let mut chunk = [0u8; 4096];
        let n = timeout(WAIT, s.read(&mut chunk))
            .await
            .expect("data in time")
            .expect("read");
        assert!(n > 0, "the gateway closed the connection");
        buf.extend_from_slice(chunk.get(..n).expect("n"));
    }
}

async fn options_ok<S: AsyncRead + AsyncWrite + Unpin>(s: &mut S, via: &str) {
    let req = options(via, "z9hG4bKopt1");
    s.write_all(req.as_bytes()).await.expect("write");
    let mut buf = Vec::new();
    let r = read_message(s, &mut buf).await;
    assert_eq!(r.code(), Some(200), "{r:?}");
}

#[tokio::test]
async fn tcp_framing_keepalive_and_size_limit() {
    let gw = start(false);
    let mut tcp = TcpStream::connect(gw.tcp).await.expect("connect");
    let me = tcp.local_addr().expect("addr");
    // A ping is answered with a pong.
    tcp.write_all(b"\r\n\r\n").await.expect("ping");
    let mut pong = [0u8; 2];
    timeout(WAIT, tcp.read_exact(&mut pong))
        .await
        .expect("pong in time")
        .expect("read");
    assert_eq!(&pong, b"\r\n");
    // A message split across writes, and two in one write.
    let req = options(&format!("TCP {me}"), "z9hG4bKsplit");
    let (a, b) = req.split_at(40);
    tcp.write_all(a.as_bytes()).await.expect("write");
    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    tcp.write_all(b.as_bytes()).await.expect("write");
    let two = format!(
        "{}{}",
        options(&format!("TCP {me}"), "z9hG4bKtwo1"),
        options(&format!("TCP {me}"), "z9hG4bKtwo2")
    );
    tcp.write_all(two.as_bytes()).await.expect("write");
    let mut buf = Vec::new();
    for branch in ["z9hG4bKsplit", "z9hG4bKtwo1", "z9hG4bKtwo2"] {
        let r = read_message(&mut tcp, &mut buf).await;
        assert_eq!(r.code(), Some(200));
        assert!(r.header("Via").is_some_and(|v| v.contains(branch)));
    }
    // A message over 64 KiB: 413, then the connection is closed.
    let big = format!(
        "MESSAGE sip:alice@sipsimple.local SIP/2.0\r\nVia: SIP/2.0/TCP {me};branch=z9hG4bKbig\r\n\
         Max-Forwards: 70\r\nTo: <sip:alice@sipsimple.local>\r\nFrom: <sip:x@example.com>;tag=b\r\n\
         Call-ID: big\r\nCSeq: 1 MESSAGE\r\nContent-Type: text/plain\r\nContent-Length: 100000\r\n\r\n"
    );
    tcp.write_all(big.as_bytes()).await.expect("write");
    let r = read_message(&mut tcp, &mut buf).await;
    assert_eq!(r.code(), Some(413));
    let mut rest = [0u8; 16];
    let n = timeout(WAIT, tcp.read(&mut rest))
        .await
        .expect("closed in time");
    assert!(matches!(n, Ok(0) | Err(_)), "the connection stays open");
}

#[tokio::test]
async fn ipv6_on_udp_tcp_and_tls() {
    let gw = start_on("::1", false);
    assert!(gw.udp.is_ipv6() && gw.tcp.is_ipv6() && gw.tls.is_ipv6());
    let sock = UdpSocket::bind("[::1]:0").await.expect("bind");
    let me = sock.local_addr().expect("addr");
    sock.send_to(
        options(&format!("UDP {me}"), "z9hG4bKv6u").as_bytes(),
        gw.udp,
    )
    .await
    .expect("send");
    let (r, from) = common::recv(&sock).await;
    assert_eq!((r.code(), from), (Some(200), gw.udp));
    let mut tcp = TcpStream::connect(gw.tcp).await.expect("connect");
    let me: SocketAddr = tcp.local_addr().expect("addr");
    options_ok(&mut tcp, &format!("TCP {me}")).await;
    let tcp = TcpStream::connect(gw.tls).await.expect("connect");
    let me: SocketAddr = tcp.local_addr().expect("addr");
    let connector = common::tls::connector(&gw.data.join("cert.pem"));
    let name = ServerName::try_from("::1").expect("name");
    let mut tls = connector
        .connect(name, tcp)
        .await
        .expect("TLS handshake over IPv6");
    options_ok(&mut tls, &format!("TLS {me}")).await;
}

#[tokio::test]
async fn sipp_calls_a_websocket_user_over_ipv6() {
    if !sipp::installed() {
        return;
    }
    let gw = start_on("::1", false);
    let mut alice = callee::register(gw.http, "alice", "secret", "callee6").await;
    let file = sipp::scenario("uac_call.xml");
    let file = file.to_str().expect("utf-8 path").to_string();
    let remote = gw.udp.to_string();
    let args = [
        "-sf", &file, &remote, "-s", "alice", "-key", "target", &remote,
    ];
    let mut uac = sipp::start("::1", Transport::Udp, None, &args);
    let invite = alice.request("INVITE").await;
    assert!(invite
        .header_values("Record-Route")
        .iter()
        .any(|r| r.contains("[::1]")));
    alice.respond(&invite, 200, "OK").await;
    alice.request("ACK").await;
    let bye = alice.request("BYE").await;
    alice.respond(&bye, 200, "OK").await;
    uac.assert_success(15).await;
}
