//! End-to-end tests of the built gateway binary over loopback: REGISTER with digest over a
//! SIP WebSocket (RFC 7118, RFC 3261 §10, §22) driven by the sans-IO `UserAgent`, the
//! subprotocol check (RFC 7118 §4), no open relay from UDP (RFC 3261 §16), and a call placed
//! through the gateway to a UDP user agent server with record-routed ACK and BYE (§16.6, §16.12).

mod common;

use common::{recv, start, Client, Gateway};
use sipsimple::sip::{Message, NameAddr, Via};
use sipsimple::Event;
use std::net::SocketAddr;
use std::time::Duration;
use tokio::net::{TcpStream, UdpSocket};
use tokio::time::timeout;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

type Ws = WebSocketStream<MaybeTlsStream<TcpStream>>;

async fn connect(gw: &Gateway) -> Ws {
    let mut req = format!("ws://{}/ws", gw.http)
        .into_client_request()
        .expect("request");
    req.headers_mut()
        .insert("Sec-WebSocket-Protocol", HeaderValue::from_static("sip"));
    let (ws, resp) = tokio_tungstenite::connect_async(req)
        .await
        .expect("WebSocket upgrade");
    assert_eq!(
        resp.headers()
            .get("Sec-WebSocket-Protocol")
            .map(|v| v.as_bytes()),
        Some(&b"sip"[..])
    );
    ws
}

#[tokio::test]
async fn register_is_challenged_then_accepted() {
    let gw = start(false);
    let mut c = Client::new(connect(&gw).await, "secret");
    let event = c.register().await;
    let Event::SIPAccountRegistrationDidSucceed {
        code,
        contact_uri,
        contact_uri_list,
        expires,
        ..
    } = event
    else {
        panic!("registration failed: {event:?}");
    };
    assert_eq!(c.codes, vec![401, 200]);
    assert_eq!(code, 200);
    assert_eq!(contact_uri_list, vec![contact_uri]);
    assert_eq!(expires, 600);
}

#[tokio::test]
async fn wrong_password_fails_with_403() {
    let gw = start(false);
    let mut c = Client::new(connect(&gw).await, "not-the-secret");
    let event = c.register().await;
    assert!(
        matches!(
            event,
            Event::SIPAccountRegistrationDidFail {
                code: Some(403),
                ..
            }
        ),
        "{event:?}"
    );
    assert_eq!(c.codes, vec![401, 403]);
}

#[tokio::test]
async fn websocket_without_the_sip_subprotocol_is_refused() {
    let gw = start(false);
    let req = format!("ws://{}/ws", gw.http)
        .into_client_request()
        .expect("request");
    match tokio_tungstenite::connect_async(req).await {
        Err(tokio_tungstenite::tungstenite::Error::Http(resp)) => {
            assert_eq!(resp.status().as_u16(), 400)
        }
        Err(e) => panic!("refused, but not with HTTP 400: {e}"),
        Ok(_) => panic!("a WebSocket without `sip` was accepted"),
    }
}

#[tokio::test]
async fn udp_invite_to_a_foreign_target_is_refused() {
    let gw = start(false);
    let sock = UdpSocket::bind("127.0.0.1:0").await.expect("bind");
    // The "victim" is a loopback socket of our own: were the gateway a relay, it would get
    // the INVITE (and no packet ever leaves the machine).
    let victim = UdpSocket::bind("127.0.0.1:0").await.expect("bind");
    let me = sock.local_addr().expect("addr");
    let target = victim.local_addr().expect("addr");
    let invite = format!(
        "INVITE sip:victim@{target} SIP/2.0\r\nVia: SIP/2.0/UDP {me};branch=z9hG4bKrelay1;rport\r\n\
         Max-Forwards: 70\r\nTo: <sip:victim@{target}>\r\nFrom: <sip:mallory@{me}>;tag=m1\r\n\
         Call-ID: relay-test\r\nCSeq: 1 INVITE\r\nContact: <sip:mallory@{me}>\r\nContent-Length: 0\r\n\r\n"
    );
    sock.send_to(invite.as_bytes(), gw.udp).await.expect("send");
    // The stateful proxy answers 100 Trying at once (RFC 3261 §16.2), then refuses.
    let (resp, from) = recv_final(&sock).await;
    assert_eq!(from, gw.udp);
    assert_eq!(resp.code(), Some(403));
    let mut buf = [0u8; 2048];
    let relayed = timeout(Duration::from_millis(500), victim.recv_from(&mut buf)).await;
    assert!(relayed.is_err(), "the gateway relayed the INVITE");
    // Garbage does not take the gateway down: it still answers afterwards.
    sock.send_to(b"\x00\xffnot SIP at all\r\n\r\n", gw.udp)
        .await
        .expect("send");
    let again = invite.replace("relay1", "relay2");
    sock.send_to(again.as_bytes(), gw.udp).await.expect("send");
    assert_eq!(recv_final(&sock).await.0.code(), Some(403));
}

/// The next response that is not provisional.
async fn recv_final(sock: &UdpSocket) -> (Message, SocketAddr) {
    loop {
        let (m, from) = recv(sock).await;
        if m.code().is_some_and(|c| c >= 200) {
            return (m, from);
        }
    }
}

/// A minimal user agent server on UDP: answers INVITE with 180 and 200 (echoing
/// Record-Route), and BYE with 200; returns each request it saw.
async fn uas_answer(sock: &UdpSocket, req: &Message, from: SocketAddr, codes: &[u16]) {
    for code in codes {
        let mut r = Message::response_to(req, *code, if *code == 200 { "OK" } else { "Ringing" });
        if let Some(mut to) = req.header("To").and_then(|t| NameAddr::parse(t).ok()) {
            if to.tag().is_none() {
                to.set_param("tag", Some("uas1"));
            }
            r.set_header("To", to.to_string());
        }
        if req.method() == Some("INVITE") {
            for rr in req.header_lines("Record-Route") {
                r.push_header("Record-Route", rr.to_string());
            }
            let me = sock.local_addr().expect("addr");
            r.push_header("Contact", format!("<sip:uas@{me}>"));
        }
        sock.send_to(&r.to_bytes(), from).await.expect("send");
    }
}

#[tokio::test]
async fn call_through_the_gateway_to_a_udp_uas() {
    let gw = start(false);
    let uas = UdpSocket::bind("127.0.0.1:0").await.expect("bind");
    let uas_addr = uas.local_addr().expect("addr");
    let mut c = Client::new(connect(&gw).await, "secret");
    assert!(matches!(
        c.register().await,
        Event::SIPAccountRegistrationDidSucceed { .. }
    ));

    let now = c.now();
    let id =
        c.ua.connect(now, &format!("sip:service@{uas_addr}"), None)
            .expect("connect");
    c.flush().await;
    let (invite, from) = recv(&uas).await;
    assert_eq!(from, gw.udp);
    assert_eq!(invite.method(), Some("INVITE"));
    let top = Via::parse(invite.header_values("Via").first().expect("via")).expect("our Via");
    assert_eq!(
        (top.transport.as_str(), top.port),
        ("UDP", Some(gw.udp.port()))
    );
    // Double record-routing (RFC 5658): the UAS-facing entry on top, our UDP address with
    // a flow token; then the browser-facing one, our domain over WS.
    let rr: Vec<NameAddr> = invite
        .header_values("Record-Route")
        .iter()
        .map(|r| NameAddr::parse(r).expect("Record-Route"))
        .collect();
    assert_eq!(rr.len(), 2, "{rr:?}");
    let (out, inn) = (&rr[0].uri, &rr[1].uri);
    assert_eq!(
        (out.host.as_str(), out.port),
        ("127.0.0.1", Some(gw.udp.port()))
    );
    assert_eq!(out.param("transport"), Some(Some("udp")));
    assert_eq!(inn.host, "sipsimple.local");
    assert_eq!(inn.param("transport"), Some(Some("ws")));
    assert!(rr.iter().all(|r| r.uri.is_loose_route()));
    uas_answer(&uas, &invite, from, &[180, 200]).await;
    c.until(|e| matches!(e, Event::SIPSessionDidStart {})).await;

    // The ACK for the 2xx follows the route set back through the gateway.
    let (ack, from) = recv(&uas).await;
    assert_eq!((ack.method(), from), (Some("ACK"), gw.udp));
    assert_eq!(
        ack.request_uri().map(|u| u.user.as_deref()),
        Some(Some("uas"))
    );
    assert!(
        ack.header("Route").is_none(),
        "the gateway pops its own Route"
    );

    let now = c.now();
    c.ua.end(now, id).expect("hang up");
    c.flush().await;
    let (bye, from) = recv(&uas).await;
    assert_eq!((bye.method(), from), (Some("BYE"), gw.udp));
    uas_answer(&uas, &bye, from, &[200]).await;
    c.until(|e| matches!(e, Event::SIPSessionDidEnd { .. }))
        .await;
    assert!(c.codes.contains(&180));
}
