//! Unit tests of edge mode (RFC 3327 Path, RFC 5626 §5): a browser's REGISTER for a remote
//! domain goes to its registrar with our Path; the registrar's 2xx authenticates the flow;
//! requests from the flow go to the registrar; requests through our Path reach the flow, get
//! 430 once it is gone and 403 with a forged token; flows without a 2xx are refused.

use super::edge::EdgeDomain;
use super::tests::*;
use super::*;
use sipsimple::sip::NameAddr;

const PBX: &str = "pbx.example";

fn registrar() -> Dest {
    Dest::new(TransportKind::Udp, "192.0.2.60", 5060)
}

fn harness() -> H {
    let mut h = H::new();
    h.core.set_edge(vec![EdgeDomain {
        domain: PBX.into(),
        registrar: registrar(),
    }]);
    h
}

fn register(branch: &str, expires: u32) -> Message {
    parse(&format!(
        "REGISTER sip:{PBX} SIP/2.0\r\nVia: SIP/2.0/WSS e1.invalid;branch={branch}\r\n\
         Max-Forwards: 70\r\nTo: <sip:alice@{PBX}>\r\nFrom: <sip:alice@{PBX}>;tag=r1\r\n\
         Call-ID: reg-1\r\nCSeq: 1 REGISTER\r\nContact: <sip:x1@e1.invalid;transport=ws>;expires={expires}\r\n\
         Content-Length: 0\r\n\r\n"
    ))
}

/// Registers alice@pbx.example over `flow` through the registrar (a 401 first); returns the
/// Path URI the registrar got.
fn edge_register(h: &mut H, flow: &Dest) -> String {
    let out = h.recv(flow, register("z9hG4bKr1", 600));
    let fwd = out.request(&registrar(), "REGISTER");
    let path = fwd.header("Path").expect("our Path").to_string();
    assert!(
        path.starts_with("<sip:pt-") && path.ends_with(";lr;ob>"),
        "{path}"
    );
    assert!(fwd.header_values("Supported").contains(&"path"), "{fwd:?}");
    assert_eq!(fwd.header("Max-Forwards"), Some("69"));
    let mut challenge = answer(&fwd, 401, "reg");
    challenge.push_header(
        "WWW-Authenticate",
        "Digest realm=\"pbx.example\", nonce=\"n1\"",
    );
    let out = h.recv(&registrar(), challenge);
    assert_eq!(
        out.codes(flow),
        vec![401],
        "the browser answers the registrar"
    );
    let out = h.recv(flow, register("z9hG4bKr2", 600));
    let fwd = out.request(&registrar(), "REGISTER");
    let mut ok = answer(&fwd, 200, "reg");
    ok.push_header("Contact", "<sip:x1@e1.invalid;transport=ws>;expires=300");
    let out = h.recv(&registrar(), ok);
    assert_eq!(out.codes(flow), vec![200]);
    path
}

fn path_uri(path: &str) -> sipsimple::sip::Uri {
    NameAddr::parse(path).expect("name-addr").uri
}

#[test]
fn path_tokens_verify_and_resist_tampering() {
    let l = local();
    let t = l.path_token(&ws(9), "alice@pbx.example");
    assert_eq!(
        l.verify_path_token(&t),
        Some((ws(9), "alice@pbx.example".to_string()))
    );
    let mut forged = t.clone();
    forged.replace_range(4..5, if &t[4..5] == "5" { "4" } else { "5" });
    assert_eq!(l.verify_path_token(&forged), None);
    // A Record-Route flow token is no Path token, and the other way round.
    let ft = l.token(&ws(9), "");
    assert_eq!(l.verify_path_token(&ft), None);
    assert_eq!(l.verify_token(&t, ""), None);
}

#[test]
fn register_goes_to_the_registrar_and_its_2xx_opens_the_flow() {
    let mut h = harness();
    let flow = ws(1);
    // Before any 2xx the flow may not send anything anywhere.
    let msg = parse(&format!(
        "MESSAGE sip:bob@{PBX} SIP/2.0\r\nVia: SIP/2.0/WSS e1.invalid;branch=z9hG4bKm0\r\n\
         Max-Forwards: 70\r\nTo: <sip:bob@{PBX}>\r\nFrom: <sip:alice@{PBX}>;tag=m1\r\n\
         Call-ID: msg-0\r\nCSeq: 1 MESSAGE\r\nContent-Length: 0\r\n\r\n"
    ));
    assert_eq!(h.recv(&flow, msg.clone()).codes(&flow), vec![403]);
    let path = edge_register(&mut h, &flow);
    assert!(path_uri(&path).host == "127.0.0.1");
    // Now the flow's requests go to the registrar, Request-URI kept, no local challenge.
    let msg = parse(&format!(
        "MESSAGE sip:bob@elsewhere.example SIP/2.0\r\nVia: SIP/2.0/WSS e1.invalid;branch=z9hG4bKm1\r\n\
         Max-Forwards: 70\r\nTo: <sip:bob@elsewhere.example>\r\nFrom: <sip:alice@{PBX}>;tag=m1\r\n\
         Call-ID: msg-1\r\nCSeq: 1 MESSAGE\r\nContent-Length: 0\r\n\r\n"
    ));
    let out = h.recv(&flow, msg);
    let fwd = out.request(&registrar(), "MESSAGE");
    assert_eq!(
        fwd.request_uri().map(ToString::to_string).as_deref(),
        Some("sip:bob@elsewhere.example")
    );
    // Another flow, or another AOR on this flow, is still refused.
    let other = parse(&format!(
        "MESSAGE sip:bob@{PBX} SIP/2.0\r\nVia: SIP/2.0/WSS e1.invalid;branch=z9hG4bKm2\r\n\
         Max-Forwards: 70\r\nTo: <sip:bob@{PBX}>\r\nFrom: <sip:mallory@{PBX}>;tag=m1\r\n\
         Call-ID: msg-2\r\nCSeq: 1 MESSAGE\r\nContent-Length: 0\r\n\r\n"
    ));
    assert_eq!(h.recv(&flow, other).codes(&flow), vec![403]);
    let out = h.recv(&ws(2), register("z9hG4bKr9", 600));
    assert_eq!(
        out.to(&registrar()).len(),
        1,
        "a REGISTER is always forwarded"
    );
    // The binding lapses with the registrar's expires (300 s).
    h.now = Time::from_millis(h.now.as_millis() + 301_000);
    h.core.expire(h.now);
    let msg = parse(&format!(
        "MESSAGE sip:bob@{PBX} SIP/2.0\r\nVia: SIP/2.0/WSS e1.invalid;branch=z9hG4bKm3\r\n\
         Max-Forwards: 70\r\nTo: <sip:bob@{PBX}>\r\nFrom: <sip:alice@{PBX}>;tag=m1\r\n\
         Call-ID: msg-3\r\nCSeq: 1 MESSAGE\r\nContent-Length: 0\r\n\r\n"
    ));
    assert_eq!(h.recv(&flow, msg).codes(&flow), vec![403]);
}

#[test]
fn requests_through_our_path_reach_the_flow_430_when_gone_403_when_forged() {
    let mut h = harness();
    let flow = ws(1);
    let path = edge_register(&mut h, &flow);
    let route = format!("Route: {path}\r\n");
    let out = h.recv(
        &registrar(),
        invite(
            "sip:x1@e1.invalid;transport=ws",
            "sip:carol@pbx.example",
            "z9hG4bKp1",
            &route,
        ),
    );
    let inv = out.request(&flow, "INVITE");
    assert!(inv.header("Route").is_none(), "our Path Route is consumed");
    assert!(inv.header("Record-Route").is_some());
    // A forged token: 403.
    let mut uri = path_uri(&path);
    let user = uri.user.clone().unwrap_or_default();
    uri.user = Some(format!("{}0", &user[..user.len() - 1]));
    let forged = format!("Route: <{uri}>\r\n");
    let out = h.recv(
        &registrar(),
        invite(
            "sip:x1@e1.invalid",
            "sip:carol@pbx.example",
            "z9hG4bKp2",
            &forged,
        ),
    );
    assert_eq!(out.codes(&registrar()), vec![100, 403]);
    // The flow closes: 430 Flow Failed (RFC 5626 §5.3).
    h.input(Input::FlowClosed { dest: flow.clone() });
    let out = h.recv(
        &registrar(),
        invite(
            "sip:x1@e1.invalid",
            "sip:carol@pbx.example",
            "z9hG4bKp3",
            &route,
        ),
    );
    assert_eq!(out.codes(&registrar()), vec![100, 430]);
}

#[test]
fn register_for_other_domains_stays_local_and_nothing_changes_without_edge() {
    let mut h = H::new();
    let out = h.recv(&ws(1), register("z9hG4bKr1", 600));
    assert!(out.to(&registrar()).is_empty(), "{out:?}");
    let mut h = harness();
    let local = parse(&format!(
        "REGISTER sip:{DOMAIN} SIP/2.0\r\nVia: SIP/2.0/WSS e1.invalid;branch=z9hG4bKl1\r\n\
         Max-Forwards: 70\r\nTo: <sip:alice@{DOMAIN}>\r\nFrom: <sip:alice@{DOMAIN}>;tag=r1\r\n\
         Call-ID: reg-2\r\nCSeq: 1 REGISTER\r\nContact: <sip:x1@e1.invalid;transport=ws>\r\n\
         Content-Length: 0\r\n\r\n"
    ));
    let out = h.recv(&ws(1), local);
    assert!(out.to(&registrar()).is_empty());
    assert_eq!(out.codes(&ws(1)), vec![401], "our own registrar challenges");
}

#[test]
fn with_the_upstream_as_registrar_its_challenges_go_to_the_browser() {
    let mut h = harness();
    h.core.set_upstream(Some(super::upstream::Upstream {
        dest: registrar(),
        credentials: Some(("gw".into(), "pw".into())),
    }));
    let flow = ws(1);
    let out = h.recv(&flow, register("z9hG4bKu1", 600));
    let fwd = out.request(&registrar(), "REGISTER");
    let mut challenge = answer(&fwd, 401, "reg");
    challenge.push_header(
        "WWW-Authenticate",
        "Digest realm=\"pbx.example\", nonce=\"n1\"",
    );
    let out = h.recv(&registrar(), challenge);
    assert_eq!(
        out.codes(&flow),
        vec![401],
        "not answered with the gateway's account"
    );
    assert!(out
        .to(&registrar())
        .iter()
        .all(|m| m.method() != Some("REGISTER")));
}
