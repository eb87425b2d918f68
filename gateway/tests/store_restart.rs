//! The gateway's database over a restart: a UDP registration (RFC 3261 §10.3) survives a
//! stop and start until it expires, and the proxy's call log records INVITE dialogs (caller,
//! callee, start, answer, end, final code), read back with `sipsimple-gateway calls`.

mod common;

use common::{recv, restart, start, BIN};
use sipsimple::auth::Challenge;
use sipsimple::sip::{Message, NameAddr};
use std::net::SocketAddr;
use std::process::Command;
use tokio::net::UdpSocket;

const DOMAIN: &str = "sipsimple.local";

async fn send(sock: &UdpSocket, to: SocketAddr, text: &str) {
    sock.send_to(text.as_bytes(), to).await.expect("send");
}

/// The next message that is not a 100 Trying.
async fn next(sock: &UdpSocket) -> Message {
    loop {
        let (m, _) = recv(sock).await;
        if m.code() != Some(100) {
            return m;
        }
    }
}

/// REGISTERs bob from `phone` with digest.
async fn register_bob(phone: &UdpSocket, gw: SocketAddr) {
    let me = phone.local_addr().expect("addr");
    let reg = |cseq: u32, auth: &str| {
        format!(
            "REGISTER sip:{DOMAIN} SIP/2.0\r\nVia: SIP/2.0/UDP {me};branch=z9hG4bKreg{cseq};rport\r\n\
             Max-Forwards: 70\r\nTo: <sip:bob@{DOMAIN}>\r\nFrom: <sip:bob@{DOMAIN}>;tag=b\r\n\
             Call-ID: reg-bob\r\nCSeq: {cseq} REGISTER\r\nContact: <sip:bob@{me}>\r\n\
             Expires: 600\r\n{auth}Content-Length: 0\r\n\r\n"
        )
    };
    send(phone, gw, &reg(1, "")).await;
    let challenge = next(phone).await;
    let c = Challenge::parse(challenge.header("WWW-Authenticate").expect("401")).expect("parse");
    let auth = c.answer(
        "bob",
        "bobpass",
        "REGISTER",
        &format!("sip:{DOMAIN}"),
        "cn",
        1,
    );
    send(phone, gw, &reg(2, &format!("Authorization: {auth}\r\n"))).await;
    assert_eq!(next(phone).await.code(), Some(200));
}

fn invite(me: SocketAddr, call: &str) -> String {
    format!(
        "INVITE sip:bob@{DOMAIN} SIP/2.0\r\nVia: SIP/2.0/UDP {me};branch=z9hG4bK{call};rport\r\n\
         Max-Forwards: 70\r\nTo: <sip:bob@{DOMAIN}>\r\nFrom: <sip:carol@example.com>;tag=c\r\n\
         Call-ID: {call}\r\nCSeq: 1 INVITE\r\nContact: <sip:carol@{me}>\r\nContent-Length: 0\r\n\r\n"
    )
}

/// The phone answers `req` with `code`, its tag and Contact, echoing Record-Route.
async fn answer(phone: &UdpSocket, gw: SocketAddr, req: &Message, code: u16) {
    let mut r = Message::response_to(req, code, "X");
    if let Some(mut to) = req.header("To").and_then(|t| NameAddr::parse(t).ok()) {
        if to.tag().is_none() {
            to.set_param("tag", Some("phone"));
        }
        r.set_header("To", to.to_string());
    }
    if req.method() == Some("INVITE") {
        for rr in req.header_lines("Record-Route") {
            r.push_header("Record-Route", rr.to_string());
        }
        let me = phone.local_addr().expect("addr");
        r.push_header("Contact", format!("<sip:bob@{me}>"));
    }
    phone.send_to(&r.to_bytes(), gw).await.expect("send");
}

/// A request inside the dialog the caller has from `ok` (route set = Record-Route reversed).
fn in_dialog(method: &str, me: SocketAddr, ok: &Message, cseq: u32, branch: &str) -> String {
    let mut routes: Vec<&str> = ok.header_values("Record-Route");
    routes.reverse();
    let target = ok
        .header("Contact")
        .and_then(|c| NameAddr::parse(c).ok())
        .map(|c| c.uri.to_string())
        .expect("Contact");
    format!(
        "{method} {target} SIP/2.0\r\nVia: SIP/2.0/UDP {me};branch={branch};rport\r\nRoute: {}\r\n\
         Max-Forwards: 70\r\nTo: {}\r\nFrom: <sip:carol@example.com>;tag=c\r\nCall-ID: {}\r\n\
         CSeq: {cseq} {method}\r\nContent-Length: 0\r\n\r\n",
        routes.join(", "),
        ok.header("To").expect("To"),
        ok.header("Call-ID").expect("Call-ID"),
    )
}

fn non2xx_ack(me: SocketAddr, call: &str, resp: &Message) -> String {
    format!(
        "ACK sip:bob@{DOMAIN} SIP/2.0\r\nVia: SIP/2.0/UDP {me};branch=z9hG4bK{call};rport\r\n\
         Max-Forwards: 70\r\nTo: {}\r\nFrom: <sip:carol@example.com>;tag=c\r\nCall-ID: {call}\r\n\
         CSeq: 1 ACK\r\nContent-Length: 0\r\n\r\n",
        resp.header("To").expect("To")
    )
}

/// A call the phone refuses with 486.
async fn busy_call(caller: &UdpSocket, phone: &UdpSocket, gw: SocketAddr, call: &str) {
    let me = caller.local_addr().expect("addr");
    send(caller, gw, &invite(me, call)).await;
    let inv = next(phone).await;
    assert_eq!(inv.method(), Some("INVITE"));
    answer(phone, gw, &inv, 486).await;
    let busy = next(caller).await;
    assert_eq!(busy.code(), Some(486));
    send(caller, gw, &non2xx_ack(me, call, &busy)).await;
    assert_eq!(next(phone).await.method(), Some("ACK"));
}

fn call_log(data: &std::path::Path) -> String {
    let out = Command::new(BIN)
        .arg("--data-dir")
        .arg(data)
        .args(["calls", "--limit", "10"])
        .output()
        .expect("run calls");
    assert!(out.status.success());
    String::from_utf8(out.stdout).expect("text")
}

#[tokio::test]
async fn registrations_survive_a_restart_and_calls_are_logged() {
    let gw = start(false);
    let phone = UdpSocket::bind("127.0.0.1:0").await.expect("bind");
    let caller = UdpSocket::bind("127.0.0.1:0").await.expect("bind");
    let me = caller.local_addr().expect("addr");
    register_bob(&phone, gw.udp).await;
    busy_call(&caller, &phone, gw.udp, "call-busy-1").await;

    // An answered call, hung up by the caller through the route set.
    send(&caller, gw.udp, &invite(me, "call-ok")).await;
    let inv = next(&phone).await;
    answer(&phone, gw.udp, &inv, 200).await;
    let ok = next(&caller).await;
    assert_eq!(ok.code(), Some(200));
    send(&caller, gw.udp, &in_dialog("ACK", me, &ok, 1, "z9hG4bKack")).await;
    assert_eq!(next(&phone).await.method(), Some("ACK"));
    send(&caller, gw.udp, &in_dialog("BYE", me, &ok, 2, "z9hG4bKbye")).await;
    let bye = next(&phone).await;
    assert_eq!(bye.method(), Some("BYE"));
    answer(&phone, gw.udp, &bye, 200).await;
    assert_eq!(next(&caller).await.code(), Some(200));

    // Restart on the same data directory (ports change): bob is still registered.
    let (dir, data) = gw.stop();
    let gw = restart(dir, data, "127.0.0.1", false);
    busy_call(&caller, &phone, gw.udp, "call-busy-2").await;

    let (_dir, data) = gw.stop();
    let log = call_log(&data);
    let lines: Vec<&str> = log.lines().collect();
    assert_eq!(lines.len(), 3, "{log}");
    let row = |call: &str| {
        lines
            .iter()
            .find(|l| l.contains(&format!("call-id={call}")))
            .copied()
            .unwrap_or_else(|| panic!("{call} logged: {log}"))
    };
    let ok = row("call-ok");
    assert!(
        ok.contains("carol@example.com -> bob@sipsimple.local"),
        "{ok}"
    );
    assert!(
        ok.contains("code=200") && !ok.contains("answered=-") && !ok.contains("ended=-"),
        "{ok}"
    );
    for call in ["call-busy-1", "call-busy-2"] {
        let busy = row(call);
        assert!(
            busy.contains("code=486") && busy.contains("answered=-") && !busy.contains("ended=-"),
            "{busy}"
        );
    }
}
