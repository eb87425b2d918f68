//! Unit tests of the proxy's digest challenge (RFC 3261 §22.3) and the lockout of a source
//! after wrong answers: the sans-IO core on a virtual clock.

use super::tests::*;
use super::*;
use crate::guard::LockoutPolicy;
use sipsimple::auth::Challenge;

const FOREIGN: &str = "sip:carol@192.0.2.9";

/// An INVITE from alice over UDP to a foreign host, with an optional Proxy-Authorization.
fn from_alice(branch: &str, cseq: u32, auth: Option<&str>) -> Message {
    let extra = auth
        .map(|a| format!("Proxy-Authorization: {a}\r\n"))
        .unwrap_or_default();
    let text = format!(
        "INVITE {FOREIGN} SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:5070;branch={branch};rport\r\n\
         Max-Forwards: 70\r\nTo: <{FOREIGN}>\r\nFrom: <sip:alice@{DOMAIN}>;tag=f1\r\n\
         Call-ID: auth-call\r\nCSeq: {cseq} INVITE\r\nContact: <sip:alice@127.0.0.1:5070>\r\n\
         {extra}Content-Length: 0\r\n\r\n"
    );
    parse(&text)
}

fn challenge_of(out: &Out) -> Challenge {
    let r = out
        .to(&udp(CALLER))
        .into_iter()
        .find(|m| m.code() == Some(407))
        .expect("a 407");
    Challenge::parse(r.header("Proxy-Authenticate").expect("challenge")).expect("parses")
}

fn answer(h: &mut H, n: u32, password: &str) -> Out {
    let out = h.recv(&udp(CALLER), from_alice(&format!("z9hG4bKa{n}"), n, None));
    let c = challenge_of(&out);
    let a = c.answer("alice", password, "INVITE", FOREIGN, "cn", 1);
    let out = h.recv(
        &udp(CALLER),
        from_alice(&format!("z9hG4bKb{n}"), n + 1, Some(&a)),
    );
    let Some((token, user)) = out.lookups.first().cloned() else {
        return out;
    };
    assert_eq!(user, "alice");
    h.input(Input::User {
        token,
        answer: UserAnswer::Found(crate::store::Hashes::new("alice", DOMAIN, "secret")),
    })
}

#[test]
fn a_udp_user_is_challenged_and_reaches_a_foreign_host_after_answering() {
    let mut h = H::new();
    let out = h.recv(&udp(CALLER), from_alice("z9hG4bKa0", 1, None));
    assert_eq!(out.codes(&udp(CALLER)), vec![100, 407]);
    let out = answer(&mut h, 1, "secret");
    let foreign = Dest::new(TransportKind::Udp, "192.0.2.9", 5060);
    let sent = out.request(&foreign, "INVITE");
    assert!(sent.header("Proxy-Authorization").is_none(), "consumed");
    assert_eq!(h.core.stats(h.now).auth_failures, 0);
}

#[test]
fn wrong_answers_lock_the_source_out_even_with_the_right_password() {
    let mut h = H::new();
    h.core.set_lockout_policy(LockoutPolicy {
        after: 3,
        window: Duration::from_secs(60),
        duration: Duration::from_secs(60),
    });
    for n in 0..3 {
        let out = answer(&mut h, 10 * n + 1, "wrong");
        assert_eq!(out.codes(&udp(CALLER)), vec![403]);
    }
    let out = h.recv(&udp(CALLER), from_alice("z9hG4bKz", 99, Some("Digest x")));
    assert_eq!(out.codes(&udp(CALLER)), vec![100, 403]);
    assert!(out.lookups.is_empty(), "credentials are not even looked at");
    // Another source is not affected.
    let other = Dest::new(TransportKind::Udp, "127.0.0.2", 5071);
    let out = h.recv(&other, from_alice("z9hG4bKo", 1, None));
    assert_eq!(out.codes(&other), vec![100, 407]);
    let s = h.core.stats(h.now);
    assert_eq!((s.auth_failures, s.lockouts), (3, 1));
    // The lockout ends.
    h.advance(61_000);
    let out = h.recv(&udp(CALLER), from_alice("z9hG4bKlate", 200, None));
    assert_eq!(out.codes(&udp(CALLER)), vec![100, 407]);
}

#[test]
fn credentials_for_another_user_than_from_are_refused() {
    let mut h = H::new();
    let out = h.recv(&udp(CALLER), from_alice("z9hG4bKc0", 1, None));
    let c = challenge_of(&out);
    let a = c.answer("bob", "bobpass", "INVITE", FOREIGN, "cn", 1);
    let out = h.recv(&udp(CALLER), from_alice("z9hG4bKc1", 2, Some(&a)));
    assert_eq!(out.codes(&udp(CALLER)), vec![100, 403]);
    assert!(out.lookups.is_empty());
}
