//! Unit tests of the registrar (RFC 3261 §10.3, §22): each decision without sockets.

use super::*;
use crate::digest::NONCE_LIFETIME;
use crate::store::Hashes;
use sipsimple::auth::{Algorithm, Challenge};

fn ws(flow: u64) -> Dest {
    Dest::new(TransportKind::Ws, "", 0).with_flow(flow)
}

fn t0() -> Time {
    Time::from_millis(1_000)
}

const DOMAIN: &str = "sipsimple.local";
const CONTACT: &str = "<sip:abcdefgh@k3j2h1.invalid;transport=ws>";

fn alice() -> Hashes {
    Hashes::new("alice", DOMAIN, "secret")
}

/// A REGISTER for `to_user@to_domain` with optional Expires and Authorization.
fn register(to: &str, expires: Option<&str>, auth: Option<String>) -> Message {
    let mut text = format!(
        "REGISTER sip:{DOMAIN} SIP/2.0\r\n\
         Via: SIP/2.0/WS k3j2h1.invalid;branch=z9hG4bKreg1;rport\r\n\
         Max-Forwards: 70\r\n\
         To: <sip:{to}>\r\n\
         From: <sip:{to}>;tag=ft1\r\n\
         Call-ID: reg-call-1\r\n\
         CSeq: 2 REGISTER\r\n\
         Contact: {CONTACT}\r\n"
    );
    if let Some(e) = expires {
        text.push_str(&format!("Expires: {e}\r\n"));
    }
    if let Some(a) = auth {
        text.push_str(&format!("Authorization: {a}\r\n"));
    }
    text.push_str("Content-Length: 0\r\n\r\n");
    Message::parse(text.as_bytes()).expect("valid REGISTER")
}

fn response(o: &Outcome) -> &Message {
    match o {
        Outcome::Respond(r) | Outcome::Refused(r) => r,
        Outcome::Registered { response, .. } => response,
    }
}

fn challenge(o: &Outcome) -> Challenge {
    let r = response(o);
    assert_eq!(r.code(), Some(401), "{r:?}");
    Challenge::parse(r.header("WWW-Authenticate").expect("challenge header")).expect("parses")
}

fn answer(c: &Challenge, user: &str, password: &str) -> String {
    c.answer(
        user,
        password,
        "REGISTER",
        &format!("sip:{DOMAIN}"),
        "cn0nce",
        1,
    )
}

/// Challenge, then answer with `password` at `later`.
fn register_with(
    r: &mut Registrar,
    now: Time,
    user: &str,
    password: &str,
    expires: &str,
) -> Outcome {
    let first = r.handle(
        now,
        &ws(1),
        &register(&format!("{user}@{DOMAIN}"), Some(expires), None),
        None,
    );
    let c = challenge(&first);
    let req = register(
        &format!("{user}@{DOMAIN}"),
        Some(expires),
        Some(answer(&c, user, password)),
    );
    let hashes = (user == "alice").then(alice);
    r.handle(now, &ws(1), &req, hashes.as_ref())
}

#[test]
fn challenges_first_with_md5_qop_auth_and_our_realm() {
    let mut r = Registrar::new(DOMAIN);
    let o = r.handle(
        t0(),
        &ws(1),
        &register("alice@sipsimple.local", None, None),
        None,
    );
    let c = challenge(&o);
    assert_eq!(c.realm, DOMAIN);
    assert!(c.qop_auth);
    assert_eq!(c.algorithm, Algorithm::Md5);
    assert!(!c.stale);
    assert!(c.nonce.len() >= 32);
    // A To tag is added to our own final responses (RFC 3261 §8.2.6.2).
    let to = name_addr(response(&o), "To").expect("To");
    assert!(to.tag().is_some());
}

#[test]
fn right_password_registers_and_lists_the_contact() {
    let mut r = Registrar::new(DOMAIN);
    let now = t0();
    let o = register_with(&mut r, now, "alice", "secret", "600");
    let Outcome::Registered {
        response,
        user,
        contact_hosts,
        changes,
    } = &o
    else {
        panic!("not registered: {o:?}");
    };
    assert_eq!(response.code(), Some(200));
    assert_eq!(user, "alice");
    assert_eq!(contact_hosts, &vec!["k3j2h1.invalid".to_string()]);
    assert_eq!(response.header("Expires"), Some("600"));
    let contacts = response.header_values("Contact");
    assert_eq!(contacts.len(), 1);
    let c = NameAddr::parse(contacts.first().expect("one")).expect("contact");
    assert_eq!(c.uri.host, "k3j2h1.invalid");
    assert_eq!(c.param("expires"), Some(Some("600")));
    let b = r.lookup("alice", now);
    assert_eq!(b.len(), 1);
    assert_eq!(b.first().map(|b| b.source.clone()), Some(ws(1)));
    // WebSocket bindings are reported but flow-bound: the store skips them.
    assert!(matches!(changes.as_slice(), [Change::Saved(b)] if b.flow_bound()));
}

#[test]
fn wrong_password_and_unknown_user_get_the_same_403() {
    let mut r = Registrar::new(DOMAIN);
    let now = t0();
    let wrong = register_with(&mut r, now, "alice", "guess", "600");
    let unknown = register_with(&mut r, now, "mallory", "guess", "600");
    for o in [&wrong, &unknown] {
        let resp = response(o);
        assert_eq!(resp.code(), Some(403));
        assert_eq!(resp.reason(), "Forbidden");
        assert!(resp.header("WWW-Authenticate").is_none());
    }
    assert!(r.lookup("alice", now).is_empty());
}

#[test]
fn foreign_domain_and_mismatched_user_are_forbidden() {
    let mut r = Registrar::new(DOMAIN);
    let now = t0();
    let o = r.handle(
        now,
        &ws(1),
        &register("alice@example.com", Some("600"), None),
        None,
    );
    assert_eq!(response(&o).code(), Some(403));
    // Credentials of alice in a REGISTER for bob's AOR.
    let c = challenge(&r.handle(
        now,
        &ws(1),
        &register("bob@sipsimple.local", None, None),
        None,
    ));
    let req = register(
        "bob@sipsimple.local",
        Some("600"),
        Some(answer(&c, "alice", "secret")),
    );
    let o = r.handle(now, &ws(1), &req, Some(&alice()));
    assert_eq!(response(&o).code(), Some(403));
}

#[test]
fn too_brief_gets_423_and_long_is_clamped() {
    let mut r = Registrar::new(DOMAIN);
    let now = t0();
    let o = register_with(&mut r, now, "alice", "secret", "30");
    let resp = response(&o);
    assert_eq!(resp.code(), Some(423));
    assert_eq!(resp.header("Min-Expires"), Some("60"));
    assert!(r.lookup("alice", now).is_empty());
    let o = register_with(&mut r, now, "alice", "secret", "86400");
    assert_eq!(response(&o).header("Expires"), Some("3600"));
    let o = register_with(&mut r, now, "alice", "secret", "60");
    assert_eq!(response(&o).code(), Some(200));
}

#[test]
fn expires_zero_removes_and_bindings_lapse() {
    let mut r = Registrar::new(DOMAIN);
    let now = t0();
    register_with(&mut r, now, "alice", "secret", "120");
    assert_eq!(r.lookup("alice", now).len(), 1);
    assert!(r.lookup("alice", now + Duration::from_secs(121)).is_empty());
    let o = register_with(&mut r, now, "alice", "secret", "0");
    assert_eq!(response(&o).code(), Some(200));
    assert!(response(&o).header("Contact").is_none());
    assert!(r.lookup("alice", now).is_empty());
}

#[test]
fn closed_connection_drops_its_bindings() {
    let mut r = Registrar::new(DOMAIN);
    let now = t0();
    register_with(&mut r, now, "alice", "secret", "600");
    r.flow_closed(2);
    assert_eq!(r.lookup("alice", now).len(), 1);
    r.flow_closed(1);
    assert!(r.lookup("alice", now).is_empty());
}

#[test]
fn tcp_bindings_outlive_their_connection_and_restore() {
    let mut r = Registrar::new(DOMAIN);
    let now = t0();
    let tcp = Dest::new(TransportKind::Tcp, "127.0.0.1", 40_000).with_flow(4);
    let contact = Uri::parse("sip:bob@127.0.0.1:5090;transport=tcp").expect("uri");
    r.restore(
        now,
        "bob",
        contact.clone(),
        tcp.clone(),
        Duration::from_secs(60),
    );
    assert_eq!(
        r.lookup("bob", now).first().and_then(|b| b.dest()),
        Some(tcp)
    );
    r.flow_closed(4);
    // The connection is gone: the contact's own address is used.
    assert_eq!(
        r.lookup("bob", now).first().and_then(|b| b.dest()),
        Some(Dest::new(TransportKind::Tcp, "127.0.0.1", 5090))
    );
    let udp = Dest::new(TransportKind::Udp, "127.0.0.1", 5099);
    r.restore(now, "carol", contact, udp.clone(), Duration::from_secs(60));
    assert_eq!(
        r.lookup("carol", now).first().and_then(|b| b.dest()),
        Some(udp)
    );
    assert!(r.lookup("carol", now + Duration::from_secs(61)).is_empty());
}

#[test]
fn expired_nonce_with_right_password_is_stale() {
    let mut r = Registrar::new(DOMAIN);
    let then = t0();
    let c = challenge(&r.handle(
        then,
        &ws(1),
        &register("alice@sipsimple.local", None, None),
        None,
    ));
    let req = register(
        "alice@sipsimple.local",
        Some("600"),
        Some(answer(&c, "alice", "secret")),
    );
    let later = then + NONCE_LIFETIME + Duration::from_secs(1);
    let stale = challenge(&r.handle(later, &ws(1), &req, Some(&alice())));
    assert!(stale.stale);
    assert_ne!(stale.nonce, c.nonce);
    // A wrong password on an old nonce is still just wrong.
    let req = register(
        "alice@sipsimple.local",
        Some("600"),
        Some(answer(&c, "alice", "nope")),
    );
    assert_eq!(
        response(&r.handle(later, &ws(1), &req, Some(&alice()))).code(),
        Some(403)
    );
    // A nonce the registrar never issued is treated the same way.
    let forged = Challenge {
        nonce: "0123456789abcdef0123456789abcdef".into(),
        ..c
    };
    let req = register(
        "alice@sipsimple.local",
        Some("600"),
        Some(answer(&forged, "alice", "secret")),
    );
    assert!(challenge(&r.handle(then, &ws(1), &req, Some(&alice()))).stale);
}

/// RFC 5626 §6: a WebSocket REGISTER with `Supported: outbound`, `+sip.instance` and `reg-id`
/// gets `Require: outbound` (the UA then keeps its dialogs across a drop of the flow); one
/// without them, or over another transport, does not.
#[test]
fn outbound_registrations_get_require_outbound() {
    let outbound = |text: &str| {
        text.replace(
            &format!("Contact: {CONTACT}\r\n"),
            "Supported: path, outbound\r\nContact: <sip:abcdefgh@k3j2h1.invalid;transport=ws;ob>\
         ;+sip.instance=\"<urn:uuid:00000000-0000-4000-8000-000000000001>\";reg-id=1\r\n",
        )
    };
    let registered = |source: &Dest, rewrite: bool| {
        let mut r = Registrar::new(DOMAIN);
        let now = t0();
        let to = format!("alice@{DOMAIN}");
        let fix = |m: Message| {
            let text = String::from_utf8_lossy(&m.to_bytes()).into_owned();
            let text = if rewrite { outbound(&text) } else { text };
            Message::parse(text.as_bytes()).expect("valid REGISTER")
        };
        let first = r.handle(now, source, &fix(register(&to, Some("600"), None)), None);
        let c = challenge(&first);
        let req = fix(register(
            &to,
            Some("600"),
            Some(answer(&c, "alice", "secret")),
        ));
        let o = r.handle(now, source, &req, Some(&alice()));
        assert_eq!(response(&o).code(), Some(200), "{o:?}");
        response(&o).header_values("Require").join(",")
    };
    assert_eq!(registered(&ws(1), true), "outbound");
    assert_eq!(registered(&ws(1), false), "");
    let tcp = Dest::new(TransportKind::Tcp, "127.0.0.1", 5060).with_flow(2);
    assert_eq!(registered(&tcp, true), "");
}
