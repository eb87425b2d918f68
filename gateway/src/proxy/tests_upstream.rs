//! Unit tests of upstream mode: foreign requests of our users go to the upstream proxy, its
//! challenge is answered once per nonce, and requests from it reach our users.

use super::tests::*;
use super::upstream::Upstream;
use super::*;
use sipsimple::auth::Credentials;

fn up() -> Dest {
    Dest::new(TransportKind::Udp, "192.0.2.50", 5060)
}

fn harness(credentials: bool) -> (H, Dest) {
    let mut h = H::new();
    h.core.set_upstream(Some(Upstream {
        dest: up(),
        credentials: credentials.then(|| ("gw".to_string(), "pw".to_string())),
    }));
    let caller = ws(1);
    h.register(&caller, "alice", "sip:alice@a1.invalid;transport=ws");
    (h, caller)
}

fn browser_invite() -> Message {
    parse(&format!(
        "INVITE sip:carol@elsewhere.example SIP/2.0\r\nVia: SIP/2.0/WS a1.invalid;branch=z9hG4bKup1\r\n\
         Max-Forwards: 70\r\nTo: <sip:carol@elsewhere.example>\r\nFrom: <sip:alice@{DOMAIN}>;tag=f1\r\n\
         Call-ID: up-call\r\nCSeq: 1 INVITE\r\nContact: <sip:alice@a1.invalid;transport=ws>\r\n\
         Content-Length: 0\r\n\r\n"
    ))
}

fn challenge(req: &Message, nonce: &str) -> Message {
    let mut r = answer(req, 407, "up");
    r.push_header(
        "Proxy-Authenticate",
        format!("Digest realm=\"up.example\", nonce=\"{nonce}\", algorithm=MD5"),
    );
    r
}

#[test]
fn foreign_requests_go_to_the_upstream_and_its_challenge_is_answered_once_per_nonce() {
    let (mut h, caller) = harness(true);
    let out = h.recv(&caller, browser_invite());
    let first = out.request(&up(), "INVITE");
    assert_eq!(
        first.request_uri().map(ToString::to_string).as_deref(),
        Some("sip:carol@elsewhere.example"),
        "the Request-URI is kept"
    );
    let out = h.recv(&up(), challenge(&first, "n1"));
    // The 407 is ACKed and the INVITE sent again with credentials; the caller sees nothing.
    assert!(out.codes(&caller).is_empty(), "{out:?}");
    let again: Vec<&Message> = out
        .to(&up())
        .into_iter()
        .filter(|m| m.method() == Some("INVITE"))
        .collect();
    assert_eq!(again.len(), 1, "{out:?}");
    let second = again[0].clone();
    let creds = Credentials::parse(second.header("Proxy-Authorization").expect("credentials"))
        .expect("parses");
    assert_eq!(
        (creds.username.as_str(), creds.nonce.as_str()),
        ("gw", "n1")
    );
    let ha1 = sipsimple::auth::ha1(sipsimple::auth::Algorithm::Md5, "gw", "up.example", "pw");
    assert!(creds.verify(&ha1, "INVITE"));
    assert_ne!(
        crate::sipmsg::top_via(&first).and_then(|v| v.branch().map(str::to_string)),
        crate::sipmsg::top_via(&second).and_then(|v| v.branch().map(str::to_string)),
        "a new branch"
    );
    // The same nonce again: not answered twice; the 407 goes to the caller.
    let out = h.recv(&up(), challenge(&second, "n1"));
    assert_eq!(out.codes(&caller), vec![407]);
}

#[test]
fn without_credentials_the_challenge_goes_to_the_caller() {
    let (mut h, caller) = harness(false);
    let out = h.recv(&caller, browser_invite());
    let first = out.request(&up(), "INVITE");
    let out = h.recv(&up(), challenge(&first, "n1"));
    assert_eq!(out.codes(&caller), vec![407]);
}

#[test]
fn requests_from_the_upstream_reach_local_users_and_nothing_else() {
    let (mut h, caller) = harness(true);
    let out = h.recv(
        &up(),
        invite(
            &format!("sip:alice@{DOMAIN}"),
            "sip:dave@elsewhere.example",
            "z9hG4bKin1",
            "",
        ),
    );
    assert_eq!(out.request(&caller, "INVITE").method(), Some("INVITE"));
    // Not an open relay through the gateway for the upstream either.
    let out = h.recv(
        &up(),
        invite(
            "sip:x@other.example",
            "sip:dave@elsewhere.example",
            "z9hG4bKin2",
            "",
        ),
    );
    assert_eq!(out.codes(&up()), vec![100, 403]);
}
