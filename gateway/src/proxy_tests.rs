//! Unit tests of the proxy's decisions (RFC 3261 §16, RFC 3581, RFC 7118): no sockets.

use super::*;
use sipsimple::auth::Challenge;

const DOMAIN: &str = "sipsimple.local";
const GW: &str = "127.0.0.1:5060";
const FLOW: &str = "k3j2h1.invalid";
const CONN: ConnId = 7;
const PEER: &str = "127.0.0.1:5070";

fn proxy() -> Proxy {
    Proxy::new(ProxyConfig {
        domain: DOMAIN.into(),
        udp: GW.parse().expect("address"),
        salt: "salt".into(),
    })
}

fn parse(text: &str) -> Message {
    Message::parse(text.as_bytes()).expect("valid test message")
}

fn peer() -> SocketAddr {
    PEER.parse().expect("address")
}

fn register(auth: Option<String>) -> Message {
    let auth = auth
        .map(|a| format!("Authorization: {a}\r\n"))
        .unwrap_or_default();
    parse(&format!(
        "REGISTER sip:{DOMAIN} SIP/2.0\r\nVia: SIP/2.0/WS {FLOW};branch=z9hG4bKr1;rport\r\n\
         To: <sip:alice@{DOMAIN}>\r\nFrom: <sip:alice@{DOMAIN}>;tag=a\r\nCall-ID: r1\r\n\
         CSeq: 1 REGISTER\r\nContact: <sip:abc@{FLOW};transport=ws>\r\nExpires: 600\r\n{auth}\r\n"
    ))
}

/// A proxy where connection CONN registered alice with digest.
fn with_alice() -> Proxy {
    let mut p = proxy();
    let now = Instant::now();
    let Decision::Register { conn, msg } = p.on_message(now, Source::Ws(CONN), register(None))
    else {
        panic!("REGISTER goes to the registrar");
    };
    let out = p.on_register(now, conn, &msg, None);
    let c = out
        .first()
        .and_then(|o| o.msg.header("WWW-Authenticate"))
        .map(|h| Challenge::parse(h).expect("challenge"))
        .expect("401");
    let answer = c.answer(
        "alice",
        "secret",
        "REGISTER",
        &format!("sip:{DOMAIN}"),
        "x",
        1,
    );
    let hashes = Hashes::new("alice", DOMAIN, "secret");
    let out = p.on_register(now, CONN, &register(Some(answer)), Some(&hashes));
    assert_eq!(out.first().and_then(|o| o.msg.code()), Some(200));
    assert_eq!(out.first().map(|o| &o.dest), Some(&Dest::Ws(CONN)));
    p
}

fn invite(ruri: &str, from_user: &str, via: &str, extra: &str) -> Message {
    parse(&format!(
        "INVITE {ruri} SIP/2.0\r\nVia: {via}\r\nMax-Forwards: 70\r\nTo: <{ruri}>\r\n\
         From: <sip:{from_user}@{DOMAIN}>;tag=f1\r\nCall-ID: c1\r\nCSeq: 1 INVITE\r\n\
         Contact: <sip:abc@{FLOW};transport=ws>\r\n{extra}Content-Length: 0\r\n\r\n"
    ))
}

fn ws_via(branch: &str) -> String {
    format!("SIP/2.0/WS {FLOW};branch={branch};rport")
}

fn sent(d: Decision) -> Outgoing {
    match d {
        Decision::Send(mut v) if v.len() == 1 => v.remove(0),
        other => panic!("expected one message to send, got {other:?}"),
    }
}

#[test]
fn ws_invite_goes_to_udp_with_our_via_record_route_and_max_forwards() {
    let mut p = with_alice();
    let now = Instant::now();
    let req = invite(
        "sip:service@127.0.0.1:5070",
        "alice",
        &ws_via("z9hG4bKinv1"),
        "",
    );
    let o = sent(p.on_message(now, Source::Ws(CONN), req.clone()));
    assert_eq!(o.dest, Dest::Udp(peer()));
    let vias = o.msg.header_values("Via");
    assert_eq!(vias.len(), 2);
    let top = Via::parse(vias.first().expect("top")).expect("via");
    assert_eq!(
        (top.transport.as_str(), top.host.as_str(), top.port),
        ("UDP", "127.0.0.1", Some(5060))
    );
    let branch = top.branch().expect("branch").to_string();
    assert!(branch.starts_with("z9hG4bK") && branch != "z9hG4bKinv1");
    assert_eq!(
        o.msg.header("Record-Route"),
        Some("<sip:127.0.0.1:5060;lr>")
    );
    assert_eq!(o.msg.header("Max-Forwards"), Some("69"));
    // A retransmission and the CANCEL take the same branch (§16.11).
    let again = sent(p.on_message(now, Source::Ws(CONN), req));
    assert_eq!(
        top_via(&again.msg).and_then(|v| v.branch().map(str::to_string)),
        Some(branch.clone())
    );
    let cancel = parse(&format!(
        "CANCEL sip:service@127.0.0.1:5070 SIP/2.0\r\nVia: {}\r\nTo: <sip:service@127.0.0.1:5070>\r\n\
         From: <sip:alice@{DOMAIN}>;tag=f1\r\nCall-ID: c1\r\nCSeq: 1 CANCEL\r\n\r\n",
        ws_via("z9hG4bKinv1")
    ));
    let c = sent(p.on_message(now, Source::Ws(CONN), cancel));
    assert_eq!(
        top_via(&c.msg).and_then(|v| v.branch().map(str::to_string)),
        Some(branch)
    );
    assert!(c.msg.header("Record-Route").is_none());
}

#[test]
fn udp_response_with_our_via_goes_back_to_the_websocket() {
    let mut p = with_alice();
    let now = Instant::now();
    let req = invite(
        "sip:service@127.0.0.1:5070",
        "alice",
        &ws_via("z9hG4bKinv2"),
        "",
    );
    let fwd = sent(p.on_message(now, Source::Ws(CONN), req)).msg;
    let mut resp = Message::response_to(&fwd, 200, "OK");
    resp.push_header("Record-Route", "<sip:127.0.0.1:5060;lr>");
    let back = sent(p.on_message(now, Source::Udp(peer()), resp));
    assert_eq!(back.dest, Dest::Ws(CONN));
    assert_eq!(
        back.msg.header_values("Via"),
        vec![ws_via("z9hG4bKinv2").as_str()]
    );
    // A response whose top Via is someone else's is dropped.
    let foreign = parse(
        "SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP 127.0.0.1:6000;branch=z9hG4bKx\r\nVia: SIP/2.0/UDP 127.0.0.1:5060;branch=z9hG4bKy\r\n\
         To: <sip:a@b>;tag=1\r\nFrom: <sip:c@d>;tag=2\r\nCall-ID: q\r\nCSeq: 1 INVITE\r\n\r\n",
    );
    assert!(matches!(
        p.on_message(now, Source::Udp(peer()), foreign),
        Decision::Drop(_)
    ));
}

#[test]
fn unauthenticated_or_impersonating_websocket_requests_are_forbidden() {
    let mut p = proxy();
    let now = Instant::now();
    let req = invite(
        "sip:service@127.0.0.1:5070",
        "alice",
        &ws_via("z9hG4bKa"),
        "",
    );
    let o = sent(p.on_message(now, Source::Ws(CONN), req));
    assert_eq!((o.dest, o.msg.code()), (Dest::Ws(CONN), Some(403)));
    let mut p = with_alice();
    let req = invite("sip:service@127.0.0.1:5070", "bob", &ws_via("z9hG4bKb"), "");
    assert_eq!(
        sent(p.on_message(now, Source::Ws(CONN), req)).msg.code(),
        Some(403)
    );
    // Another connection does not inherit alice's authentication.
    let req = invite(
        "sip:service@127.0.0.1:5070",
        "alice",
        &ws_via("z9hG4bKc"),
        "",
    );
    assert_eq!(
        sent(p.on_message(now, Source::Ws(CONN + 1), req))
            .msg
            .code(),
        Some(403)
    );
}

#[test]
fn max_forwards_zero_is_483() {
    let mut p = with_alice();
    let req = invite(
        "sip:service@127.0.0.1:5070",
        "alice",
        &ws_via("z9hG4bKm"),
        "",
    )
    .to_bytes();
    let text = String::from_utf8(req)
        .expect("text")
        .replace("Max-Forwards: 70", "Max-Forwards: 0");
    let o = sent(p.on_message(Instant::now(), Source::Ws(CONN), parse(&text)));
    assert_eq!(o.msg.code(), Some(483));
}

#[test]
fn udp_requests_to_foreign_targets_are_refused_not_relayed() {
    let mut p = with_alice();
    let now = Instant::now();
    let via = "SIP/2.0/UDP 10.9.9.9:5099;branch=z9hG4bKu1;rport";
    for (ruri, extra) in [
        ("sip:victim@127.0.0.1:9", ""),
        ("sip:victim@example.com", ""),
        // A Route through us does not make a foreign target local...
        (
            "sip:victim@example.com",
            "Route: <sip:127.0.0.1:5060;lr>\r\n",
        ),
        // ...and a Route elsewhere is not followed either.
        (
            "sip:alice@sipsimple.local",
            "Route: <sip:example.com;lr>\r\n",
        ),
    ] {
        let o = sent(p.on_message(now, Source::Udp(peer()), invite(ruri, "x", via, extra)));
        assert_eq!(o.msg.code(), Some(403), "{ruri} {extra}");
        // The answer goes to the packet's source (received + rport, RFC 3581), not the Via.
        assert_eq!(o.dest, Dest::Udp(peer()));
        let v = top_via(&o.msg).expect("via");
        assert_eq!(v.param("received"), Some(Some("127.0.0.1")));
        assert_eq!(v.param("rport"), Some(Some("5070")));
    }
    // REGISTER over UDP has nothing to bind to.
    let mut reg = register(None);
    reg.set_header("Via", "SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bKu2");
    assert_eq!(
        sent(p.on_message(now, Source::Udp(peer()), reg)).msg.code(),
        Some(403)
    );
}

#[test]
fn udp_requests_reach_local_users_and_flows() {
    let mut p = with_alice();
    let now = Instant::now();
    let via = "SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bKu3";
    let d = p.on_message(
        now,
        Source::Udp(peer()),
        invite("sip:alice@sipsimple.local", "x", via, ""),
    );
    let Decision::Local { src, msg, user } = d else {
        panic!("a user of our domain needs the location service: {d:?}");
    };
    assert_eq!(user, "alice");
    let o = sent(p.deliver_local(now, src, msg.clone(), &user, true));
    assert_eq!(o.dest, Dest::Ws(CONN));
    assert_eq!(o.msg.request_uri().map(|u| u.host.as_str()), Some(FLOW));
    let top = top_via(&o.msg).expect("via");
    assert_eq!((top.transport.as_str(), top.host.as_str()), ("WSS", DOMAIN));
    assert_eq!(
        o.msg.header("Record-Route"),
        Some("<sip:127.0.0.1:5060;lr>")
    );
    assert_eq!(
        sent(p.deliver_local(now, src, msg.clone(), "bob", true))
            .msg
            .code(),
        Some(480)
    );
    assert_eq!(
        sent(p.deliver_local(now, src, msg, "carol", false))
            .msg
            .code(),
        Some(404)
    );
    // The UA's 200 to it returns to the UDP sender named by the next Via.
    let resp = Message::response_to(&o.msg, 200, "OK");
    let back = sent(p.on_message(now, Source::Ws(CONN), resp));
    assert_eq!(back.dest, Dest::Udp(peer()));
    assert_eq!(back.msg.header_values("Via").len(), 1);
}

#[test]
fn in_dialog_requests_pop_our_route_both_ways() {
    let mut p = with_alice();
    let now = Instant::now();
    // From the WebSocket: ACK/BYE to the UAS's Contact with our Record-Route as Route.
    let bye = parse(&format!(
        "BYE sip:sipp@127.0.0.1:5070 SIP/2.0\r\nVia: {}\r\nMax-Forwards: 70\r\n\
         Route: <sip:127.0.0.1:5060;lr>\r\nTo: <sip:service@127.0.0.1:5070>;tag=t\r\n\
         From: <sip:alice@{DOMAIN}>;tag=f1\r\nCall-ID: c1\r\nCSeq: 2 BYE\r\n\r\n",
        ws_via("z9hG4bKbye")
    ));
    let o = sent(p.on_message(now, Source::Ws(CONN), bye));
    assert_eq!(o.dest, Dest::Udp(peer()));
    assert!(o.msg.header("Route").is_none());
    assert!(o.msg.header("Record-Route").is_none());
    // From UDP: the UAS's BYE to the browser's Contact (a known flow) through our Route.
    let bye = parse(&format!(
        "BYE sip:abc@{FLOW};transport=ws SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bKb2\r\n\
         Max-Forwards: 70\r\nRoute: <sip:127.0.0.1:5060;lr>\r\nTo: <sip:alice@{DOMAIN}>;tag=f1\r\n\
         From: <sip:service@127.0.0.1:5070>;tag=t\r\nCall-ID: c1\r\nCSeq: 1 BYE\r\n\r\n"
    ));
    let o = sent(p.on_message(now, Source::Udp(peer()), bye.clone()));
    assert_eq!(o.dest, Dest::Ws(CONN));
    assert!(o.msg.header("Route").is_none());
    // Once the flow is gone, its name leads nowhere.
    p.connection_closed(CONN);
    assert_eq!(
        sent(p.on_message(now, Source::Udp(peer()), bye)).msg.code(),
        Some(480)
    );
}

#[test]
fn options_to_the_gateway_itself_is_answered() {
    let mut p = proxy();
    let opt = parse(
        "OPTIONS sip:127.0.0.1:5060 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bKo\r\n\
         Max-Forwards: 70\r\nTo: <sip:127.0.0.1:5060>\r\nFrom: <sip:ping@127.0.0.1>;tag=p\r\n\
         Call-ID: o1\r\nCSeq: 1 OPTIONS\r\n\r\n",
    );
    let o = sent(p.on_message(Instant::now(), Source::Udp(peer()), opt));
    assert_eq!(o.msg.code(), Some(200));
    assert_eq!(o.msg.header("Allow"), Some(ALLOW));
}

#[test]
fn malformed_requests_get_400_or_are_dropped() {
    let mut p = proxy();
    let now = Instant::now();
    let no_via = parse("OPTIONS sip:x@y SIP/2.0\r\nCall-ID: 1\r\n\r\n");
    assert!(matches!(
        p.on_message(now, Source::Udp(peer()), no_via),
        Decision::Drop(_)
    ));
    let bad_cseq = parse(
        "OPTIONS sip:x@y SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bKq\r\n\
         To: <sip:x@y>\r\nFrom: <sip:a@b>;tag=1\r\nCall-ID: 1\r\nCSeq: 1 INVITE\r\n\r\n",
    );
    assert_eq!(
        sent(p.on_message(now, Source::Udp(peer()), bad_cseq))
            .msg
            .code(),
        Some(400)
    );
}
