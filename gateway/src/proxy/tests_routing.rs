//! Unit tests of the proxy core's request handling (RFC 3261 §16.3 to §16.6, §16.12,
//! RFC 5658): Max-Forwards and loops, no open relay, in-dialog requests on flow tokens,
//! WebSocket flows closing and persisted UDP registrations, requests for the gateway itself.

use super::tests::*;
use super::*;
use sipsimple::auth::Challenge;

#[test]
fn max_forwards_zero_is_483_and_a_loop_is_482() {
    let mut h = H::new();
    let o = h.recv(
        &udp(CALLER),
        invite(
            "sip:alice@sipsimple.local",
            "sip:b@example.com",
            "z9hG4bKc9",
            "",
        )
        .tap_mf("0"),
    );
    assert_eq!(o.codes(&udp(CALLER)), vec![100, 483]);
    // An authenticated WebSocket user's request leaves for a foreign host; when it comes
    // back unchanged (a loop through another proxy), our Via with its hash is found.
    h.register(&ws(1), "alice", "sip:a1@one.invalid;transport=ws");
    let req = parse(&format!(
        "MESSAGE sip:x@192.0.2.9 SIP/2.0\r\nVia: SIP/2.0/WS one.invalid;branch=z9hG4bKm1\r\n\
         Max-Forwards: 70\r\nTo: <sip:x@192.0.2.9>\r\nFrom: <sip:alice@{DOMAIN}>;tag=a\r\n\
         Call-ID: loop\r\nCSeq: 1 MESSAGE\r\n\r\n"
    ));
    let out = h.recv(&ws(1), req);
    let forwarded = out.request(&udp(5060).with_host("192.0.2.9"), "MESSAGE");
    let o = h.recv(&udp(9999), forwarded);
    assert_eq!(o.codes(&udp(9999)), vec![482]);
}

#[test]
fn no_open_relay_from_udp_even_with_forged_routes() {
    let mut h = H::new();
    let o = h.recv(
        &udp(CALLER),
        invite("sip:victim@192.0.2.1", "sip:m@example.com", "z9hG4bKr1", ""),
    );
    assert_eq!(o.codes(&udp(CALLER)), vec![100, 403]);
    let forged = "Route: <sip:ft-00-0000@127.0.0.1:5060;lr>\r\n";
    let o = h.recv(
        &udp(CALLER),
        invite(
            "sip:victim@192.0.2.1",
            "sip:m@example.com",
            "z9hG4bKr2",
            forged,
        ),
    );
    assert_eq!(o.codes(&udp(CALLER)), vec![100, 403]);
    let next_hop = "Route: <sip:127.0.0.1;lr>, <sip:192.0.2.1;lr>\r\n";
    let o = h.recv(
        &udp(CALLER),
        invite(
            "sip:victim@192.0.2.1",
            "sip:m@example.com",
            "z9hG4bKr3",
            next_hop,
        ),
    );
    assert_eq!(o.codes(&udp(CALLER)), vec![100, 403]);
    // An unregistered WebSocket flow cannot either.
    let o = h.recv(
        &ws(5),
        invite(
            "sip:victim@192.0.2.1",
            "sip:alice@sipsimple.local",
            "z9hG4bKr4",
            "",
        ),
    );
    assert_eq!(o.codes(&ws(5)), vec![100, 403]);
}

#[test]
fn in_dialog_requests_follow_the_flow_tokens_both_ways() {
    let mut h = H::new();
    h.register(&ws(1), "alice", "sip:a1@one.invalid;transport=ws");
    let out = h.recv(
        &udp(CALLER),
        invite(
            "sip:alice@sipsimple.local",
            "sip:bob@example.com",
            "z9hG4bKd1",
            "",
        ),
    );
    let b = out.request(&ws(1), "INVITE");
    let ok = answer(&b, 200, "p1");
    let o = h.recv(&ws(1), ok);
    let ok_up = o
        .to(&udp(CALLER))
        .first()
        .map(|m| (*m).clone())
        .expect("200 up");
    // The caller's route set is the Record-Route reversed (§12.1.2).
    let mut routes: Vec<String> = ok_up
        .header_values("Record-Route")
        .iter()
        .map(|s| s.to_string())
        .collect();
    routes.reverse();
    let to = ok_up.header("To").expect("To").to_string();
    let in_dialog = |method: &str, branch: &str| {
        parse(&format!(
            "{method} sip:p1@p1.invalid;transport=ws SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:5070;branch={branch}\r\n\
             Route: {}\r\nMax-Forwards: 70\r\nFrom: <sip:bob@example.com>;tag=f1\r\nTo: {to}\r\n\
             Call-ID: call-z9hG4bKd1\r\nCSeq: 2 {method}\r\n\r\n",
            routes.join(", ")
        ))
    };
    // The ACK for the 2xx goes end to end, without a transaction.
    let o = h.recv(&udp(CALLER), in_dialog("ACK", "z9hG4bKack"));
    let ack = o.request(&ws(1), "ACK");
    assert!(ack.header("Route").is_none());
    // The callee's BYE comes back over the WebSocket to the caller's Contact.
    let bye = parse(&format!(
        "BYE sip:caller@127.0.0.1:5070 SIP/2.0\r\nVia: SIP/2.0/WS one.invalid;branch=z9hG4bKbye\r\n\
         Route: {}\r\nMax-Forwards: 70\r\nFrom: {to}\r\nTo: <sip:bob@example.com>;tag=f1\r\n\
         Call-ID: call-z9hG4bKd1\r\nCSeq: 1 BYE\r\n\r\n",
        ok_up.header_values("Record-Route").join(", ")
    ));
    let o = h.recv(&ws(1), bye);
    let bye_out = o.request(&udp(CALLER), "BYE");
    assert!(bye_out.header("Route").is_none());
    assert!(o
        .stored
        .iter()
        .any(|s| matches!(s, StoreOp::Call(CallEvent::Ended { .. }))));
    // A token from this dialog does not open another one to a UDP peer.
    let mut stolen = in_dialog("INVITE", "z9hG4bKsteal");
    stolen.set_header("Call-ID", "another-call");
    let o = h.recv(&udp(CALLER), stolen);
    assert_eq!(o.codes(&udp(CALLER)).last(), Some(&480));
}

#[test]
fn closed_websocket_loses_its_bindings_and_udp_bindings_are_persisted() {
    let mut h = H::new();
    h.register(&ws(1), "alice", "sip:a1@one.invalid;transport=ws");
    h.input(Input::FlowClosed { dest: ws(1) });
    let o = h.recv(
        &udp(CALLER),
        invite(
            "sip:alice@sipsimple.local",
            "sip:b@example.com",
            "z9hG4bKe1",
            "",
        ),
    );
    assert_eq!(o.lookups.len(), 1, "no binding left: the store is asked");
    // A UDP REGISTER is persisted (a WebSocket one is not).
    let phone = udp(5090);
    let reg = |auth: &str, cseq: u32| {
        parse(&format!(
            "REGISTER sip:{DOMAIN} SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:5090;branch=z9hG4bKu{cseq}\r\n\
             To: <sip:bob@{DOMAIN}>\r\nFrom: <sip:bob@{DOMAIN}>;tag=u\r\nCall-ID: u1\r\n\
             CSeq: {cseq} REGISTER\r\nContact: <sip:bob@127.0.0.1:5090>\r\n{auth}\r\n"
        ))
    };
    let o = h.recv(&phone, reg("", 1));
    let c = o
        .to(&phone)
        .first()
        .and_then(|m| m.header("WWW-Authenticate"))
        .map(|v| Challenge::parse(v).expect("challenge"))
        .expect("401");
    let auth = c.answer(
        "bob",
        "secret",
        "REGISTER",
        &format!("sip:{DOMAIN}"),
        "c",
        1,
    );
    let o = h.recv(&phone, reg(&format!("Authorization: {auth}\r\n"), 2));
    let (token, _) = o.lookups.first().cloned().expect("look-up");
    let answer = UserAnswer::Found(crate::store::Hashes::new("bob", DOMAIN, "secret"));
    let o = h.input(Input::User { token, answer });
    assert_eq!(o.codes(&phone), vec![200]);
    assert!(matches!(
        o.stored.as_slice(),
        [StoreOp::SaveBinding { user, expires_in: 3600, .. }] if user == "bob"
    ));
    // Calls to bob now reach the phone at the address it registered from.
    let o = h.recv(
        &udp(CALLER),
        invite(
            "sip:bob@sipsimple.local",
            "sip:x@example.com",
            "z9hG4bKe2",
            "",
        ),
    );
    o.request(&phone, "INVITE");
}

#[test]
fn options_to_the_gateway_and_proxy_require() {
    let mut h = H::new();
    let opt = parse(
        "OPTIONS sip:127.0.0.1:5060 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bKo1\r\n\
         To: <sip:127.0.0.1>\r\nFrom: <sip:a@example.com>;tag=1\r\nCall-ID: o1\r\nCSeq: 1 OPTIONS\r\n\r\n",
    );
    let o = h.recv(&udp(CALLER), opt);
    let r = o
        .to(&udp(CALLER))
        .first()
        .map(|m| (*m).clone())
        .expect("200");
    assert_eq!(r.code(), Some(200));
    assert!(r.header("Allow").is_some());
    let o = h.recv(
        &udp(CALLER),
        invite(
            "sip:alice@sipsimple.local",
            "sip:b@example.com",
            "z9hG4bKo2",
            "Proxy-Require: foo\r\n",
        ),
    );
    assert_eq!(o.codes(&udp(CALLER)), vec![100, 420]);
    // Every transaction ends in time: nothing is left behind.
    h.advance(64_000);
    assert_eq!(h.core.transactions(), 0);
}

trait Tap {
    fn tap_mf(self, v: &str) -> Self;
}

impl Tap for Message {
    fn tap_mf(mut self, v: &str) -> Message {
        self.set_header("Max-Forwards", v);
        self
    }
}

trait WithHost {
    fn with_host(self, host: &str) -> Self;
}

impl WithHost for Dest {
    fn with_host(mut self, host: &str) -> Dest {
        self.host = host.to_string();
        self
    }
}
