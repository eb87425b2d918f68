//! Unit tests of the proxy core (RFC 3261 §16, RFC 5658, RFC 7118): the sans-IO [`Core`]
//! driven on a virtual clock, with scripted peers. No sockets, no sleeping. This file holds
//! the harness and the forking, response-selection, CANCEL and timer cases;
//! `tests_routing.rs` the validation, relay, dialog and registration ones.

use super::*;
use sipsimple::auth::Challenge;
use sipsimple::sip::{NameAddr, Via};

pub(super) const DOMAIN: &str = "sipsimple.local";

pub(super) fn local() -> Local {
    Local {
        domain: DOMAIN.into(),
        udp: "127.0.0.1:5060".parse().ok(),
        tcp: "127.0.0.1:5060".parse().ok(),
        tls: "127.0.0.1:5061".parse().ok(),
        secret: "test-secret".into(),
    }
}

pub(super) fn parse(text: &str) -> Message {
    Message::parse(text.as_bytes()).expect("valid test message")
}

pub(super) fn ws(flow: u64) -> Dest {
    Dest::new(TransportKind::Ws, "", 0).with_flow(flow)
}

pub(super) fn udp(port: u16) -> Dest {
    Dest::new(TransportKind::Udp, "127.0.0.1", port)
}

/// The core, the clock, and what came out.
pub(super) struct H {
    pub(super) core: Core,
    pub(super) now: Time,
}

/// What one step produced.
#[derive(Debug, Default)]
pub(super) struct Out {
    pub(super) sent: Vec<(Dest, Message)>,
    pub(super) lookups: Vec<(u64, String)>,
    pub(super) stored: Vec<StoreOp>,
}

impl Out {
    /// The messages sent to `dest`.
    pub(super) fn to(&self, dest: &Dest) -> Vec<&Message> {
        self.sent
            .iter()
            .filter(|(d, _)| d == dest)
            .map(|(_, m)| m)
            .collect()
    }

    /// The response codes sent to `dest`.
    pub(super) fn codes(&self, dest: &Dest) -> Vec<u16> {
        self.to(dest).iter().filter_map(|m| m.code()).collect()
    }

    /// The one request with `method` sent to `dest`.
    pub(super) fn request(&self, dest: &Dest, method: &str) -> Message {
        let found: Vec<Message> = self
            .to(dest)
            .into_iter()
            .filter(|m| m.method() == Some(method))
            .cloned()
            .collect();
        assert_eq!(found.len(), 1, "one {method} to {dest}: {:?}", self.sent);
        found.into_iter().next().expect("one")
    }
}

impl H {
    pub(super) fn new() -> H {
        H {
            core: Core::new(local(), 7),
            now: Time::from_millis(1_000),
        }
    }

    fn drain(&mut self) -> Out {
        let mut out = Out::default();
        while let Some(o) = self.core.poll_output() {
            match o {
                Output::Transmit { dest, bytes } => out
                    .sent
                    .push((dest, Message::parse(&bytes).expect("we send SIP"))),
                Output::Lookup { token, user } | Output::Locate { token, user } => {
                    out.lookups.push((token, user))
                }
                Output::Store(op) => out.stored.push(op),
            }
        }
        out
    }

    pub(super) fn input(&mut self, i: Input) -> Out {
        self.core.handle_input(self.now, i);
        self.drain()
    }

    pub(super) fn recv(&mut self, source: &Dest, msg: Message) -> Out {
        self.input(Input::Received {
            source: source.clone(),
            msg,
        })
    }

    /// Runs the timers for `ms` milliseconds.
    pub(super) fn advance(&mut self, ms: u64) -> Out {
        let end = Time::from_millis(self.now.as_millis() + ms);
        let mut all = Out::default();
        while let Some(at) = self.core.poll_timeout().filter(|at| *at <= end) {
            self.now = at.max(self.now);
            let o = self.input(Input::Timeout);
            all.sent.extend(o.sent);
            all.stored.extend(o.stored);
        }
        self.now = end;
        all
    }

    /// Registers `user` (password `secret`) from `source` with `contact`.
    pub(super) fn register(&mut self, source: &Dest, user: &str, contact: &str) {
        let reg = |auth: &str| {
            parse(&format!(
                "REGISTER sip:{DOMAIN} SIP/2.0\r\nVia: SIP/2.0/WS x.invalid;branch=z9hG4bKr{}\r\n\
                 To: <sip:{user}@{DOMAIN}>\r\nFrom: <sip:{user}@{DOMAIN}>;tag=r\r\nCall-ID: reg-{user}-{contact}\r\n\
                 CSeq: {} REGISTER\r\nContact: <{contact}>\r\nExpires: 600\r\n{auth}\r\n",
                auth.len(),
                1 + auth.len()
            ))
        };
        let out = self.recv(source, reg(""));
        let challenge = out
            .to(source)
            .first()
            .and_then(|m| m.header("WWW-Authenticate"))
            .map(|h| Challenge::parse(h).expect("challenge"))
            .expect("401");
        let answer = challenge.answer(user, "secret", "REGISTER", &format!("sip:{DOMAIN}"), "c", 1);
        let out = self.recv(source, reg(&format!("Authorization: {answer}\r\n")));
        let (token, _) = out.lookups.first().cloned().expect("a look-up");
        let hashes = crate::store::Hashes::new(user, DOMAIN, "secret");
        let out = self.input(Input::User {
            token,
            answer: UserAnswer::Found(hashes),
        });
        assert_eq!(out.codes(source), vec![200], "{out:?}");
    }
}

pub(super) fn invite(ruri: &str, from: &str, branch: &str, extra: &str) -> Message {
    parse(&format!(
        "INVITE {ruri} SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:5070;branch={branch};rport\r\n\
         Max-Forwards: 70\r\nTo: <{ruri}>\r\nFrom: <{from}>;tag=f1\r\nCall-ID: call-{branch}\r\n\
         CSeq: 1 INVITE\r\nContact: <sip:caller@127.0.0.1:5070>\r\n{extra}Content-Length: 0\r\n\r\n"
    ))
}

/// A response from a callee to a request it received: our To tag, optional Contact.
pub(super) fn answer(req: &Message, code: u16, tag: &str) -> Message {
    let mut r = Message::response_to(req, code, "X");
    if let Some(mut to) = req.header("To").and_then(|t| NameAddr::parse(t).ok()) {
        if to.tag().is_none() && code > 100 {
            to.set_param("tag", Some(tag));
        }
        r.set_header("To", to.to_string());
    }
    if req.method() == Some("INVITE") && (180..300).contains(&code) {
        for rr in req.header_lines("Record-Route") {
            r.push_header("Record-Route", rr.to_string());
        }
        r.push_header("Contact", format!("<sip:{tag}@{tag}.invalid;transport=ws>"));
    }
    r
}

pub(super) const CALLER: u16 = 5070;

#[test]
fn invite_to_a_user_with_two_bindings_forks_and_cancels_the_loser() {
    let mut h = H::new();
    h.register(&ws(1), "alice", "sip:a1@one.invalid;transport=ws");
    h.register(&ws(2), "alice", "sip:a2@two.invalid;transport=ws");
    let out = h.recv(
        &udp(CALLER),
        invite(
            "sip:alice@sipsimple.local",
            "sip:bob@example.com",
            "z9hG4bKc1",
            "",
        ),
    );
    // 100 Trying at once (§16.2), a branch to each binding (§16.6).
    assert_eq!(out.codes(&udp(CALLER)), vec![100]);
    let b1 = out.request(&ws(1), "INVITE");
    let b2 = out.request(&ws(2), "INVITE");
    assert!(b1.request_uri().is_some_and(|u| u.host == "one.invalid"));
    assert_eq!(b1.header("Max-Forwards"), Some("69"));
    let via = Via::parse(b1.header_values("Via").first().expect("via")).expect("our via");
    assert_eq!((via.transport.as_str(), via.host.as_str()), ("WS", DOMAIN));
    assert_eq!(b1.header_values("Record-Route").len(), 2);
    assert!(matches!(
        out.stored.first(),
        Some(StoreOp::Call(CallEvent::Started { .. }))
    ));
    // Both ring; 180s go up. The second answers: 200 goes up, the first is cancelled.
    let o = h.recv(&ws(1), answer(&b1, 180, "p1"));
    assert_eq!(o.codes(&udp(CALLER)), vec![180]);
    h.recv(&ws(2), answer(&b2, 180, "p2"));
    let o = h.recv(&ws(2), answer(&b2, 200, "p2"));
    assert_eq!(o.codes(&udp(CALLER)), vec![200]);
    let cancel = o.request(&ws(1), "CANCEL");
    assert_eq!(
        cancel.header_values("Via").first(),
        b1.header_values("Via").first()
    );
    assert!(o
        .stored
        .iter()
        .any(|s| matches!(s, StoreOp::Call(CallEvent::Answered { code: 200, .. }))));
    // The loser's 487 stays here; the gateway ACKs it (§17.1.1.3).
    h.recv(&ws(1), answer(&cancel, 200, "p1"));
    let o = h.recv(&ws(1), answer(&b1, 487, "p1"));
    assert!(o.codes(&udp(CALLER)).is_empty());
    assert_eq!(o.to(&ws(1)).first().and_then(|m| m.method()), Some("ACK"));
}

#[test]
fn best_response_is_chosen_when_every_branch_answered() {
    let mut h = H::new();
    h.register(&ws(1), "alice", "sip:a1@one.invalid;transport=ws");
    h.register(&ws(2), "alice", "sip:a2@two.invalid;transport=ws");
    let out = h.recv(
        &udp(CALLER),
        invite(
            "sip:alice@sipsimple.local",
            "sip:bob@example.com",
            "z9hG4bKc2",
            "",
        ),
    );
    let b1 = out.request(&ws(1), "INVITE");
    let b2 = out.request(&ws(2), "INVITE");
    let mut challenge = answer(&b1, 407, "p1");
    challenge.push_header("Proxy-Authenticate", "Digest realm=\"one\", nonce=\"1\"");
    assert!(h.recv(&ws(1), challenge).codes(&udp(CALLER)).is_empty());
    let o = h.recv(&ws(2), answer(&b2, 486, "p2"));
    // §16.7 step 6: 407 beats 486 among 4xx; its challenge goes up.
    let finals = o.to(&udp(CALLER));
    assert_eq!(finals.first().and_then(|m| m.code()), Some(407));
    assert!(finals
        .first()
        .is_some_and(|m| m.header("Proxy-Authenticate").is_some()));
    assert!(o
        .stored
        .iter()
        .any(|s| matches!(s, StoreOp::Call(CallEvent::Failed { code: 407, .. }))));
}

#[test]
fn a_6xx_cancels_the_other_branches_and_wins() {
    let mut h = H::new();
    h.register(&ws(1), "alice", "sip:a1@one.invalid;transport=ws");
    h.register(&ws(2), "alice", "sip:a2@two.invalid;transport=ws");
    let out = h.recv(
        &udp(CALLER),
        invite(
            "sip:alice@sipsimple.local",
            "sip:bob@example.com",
            "z9hG4bKc3",
            "",
        ),
    );
    let b1 = out.request(&ws(1), "INVITE");
    let b2 = out.request(&ws(2), "INVITE");
    h.recv(&ws(1), answer(&b1, 180, "p1"));
    let o = h.recv(&ws(2), answer(&b2, 603, "p2"));
    let cancel = o.request(&ws(1), "CANCEL");
    assert_eq!(o.codes(&udp(CALLER)), Vec::<u16>::new());
    h.recv(&ws(1), answer(&cancel, 200, "p1"));
    let o = h.recv(&ws(1), answer(&b1, 487, "p1"));
    assert_eq!(o.codes(&udp(CALLER)), vec![603]);
}

#[test]
fn caller_cancel_is_answered_and_propagated_then_487_goes_up() {
    let mut h = H::new();
    h.register(&ws(1), "alice", "sip:a1@one.invalid;transport=ws");
    let inv = invite(
        "sip:alice@sipsimple.local",
        "sip:bob@example.com",
        "z9hG4bKc4",
        "",
    );
    let out = h.recv(&udp(CALLER), inv.clone());
    let b1 = out.request(&ws(1), "INVITE");
    h.recv(&ws(1), answer(&b1, 180, "p1"));
    let mut cancel = Message::request("CANCEL", inv.request_uri().cloned().expect("uri"));
    for name in ["Via", "From", "To", "Call-ID", "Max-Forwards"] {
        cancel.push_header(name, inv.header(name).expect("header"));
    }
    cancel.push_header("CSeq", "1 CANCEL");
    let o = h.recv(&udp(CALLER), cancel);
    assert_eq!(o.codes(&udp(CALLER)), vec![200]);
    let down = o.request(&ws(1), "CANCEL");
    h.recv(&ws(1), answer(&down, 200, "p1"));
    let o = h.recv(&ws(1), answer(&b1, 487, "p1"));
    assert_eq!(o.codes(&udp(CALLER)), vec![487]);
}

#[test]
fn unknown_user_404_and_unregistered_user_480() {
    let mut h = H::new();
    let o = h.recv(
        &udp(CALLER),
        invite(
            "sip:nobody@sipsimple.local",
            "sip:bob@example.com",
            "z9hG4bKc5",
            "",
        ),
    );
    let (token, user) = o.lookups.first().cloned().expect("a look-up");
    assert_eq!(user, "nobody");
    let o = h.input(Input::User {
        token,
        answer: UserAnswer::Missing,
    });
    assert_eq!(o.codes(&udp(CALLER)), vec![404]);
    let o = h.recv(
        &udp(CALLER),
        invite(
            "sip:bob@sipsimple.local",
            "sip:x@example.com",
            "z9hG4bKc6",
            "",
        ),
    );
    let (token, _) = o.lookups.first().cloned().expect("a look-up");
    let answer = UserAnswer::Found(crate::store::Hashes::new("bob", DOMAIN, "x"));
    let o = h.input(Input::User { token, answer });
    assert_eq!(o.codes(&udp(CALLER)), vec![480]);
    // A store failure is not a verdict on the user: 503.
    let o = h.recv(
        &udp(CALLER),
        invite(
            "sip:carol@sipsimple.local",
            "sip:x@example.com",
            "z9hG4bKc6b",
            "",
        ),
    );
    let (token, _) = o.lookups.first().cloned().expect("a look-up");
    let o = h.input(Input::User {
        token,
        answer: UserAnswer::Failed,
    });
    assert_eq!(o.codes(&udp(CALLER)), vec![503]);
}

#[test]
fn timer_b_gives_408_and_timer_c_cancels_a_ringing_branch() {
    let mut h = H::new();
    h.register(&ws(1), "alice", "sip:a1@one.invalid;transport=ws");
    h.recv(
        &udp(CALLER),
        invite(
            "sip:alice@sipsimple.local",
            "sip:bob@example.com",
            "z9hG4bKc7",
            "",
        ),
    );
    // No answer at all: Timer B (64·T1) ends the branch and 408 goes up (§16.7 step 2).
    // (Timer G retransmits it: the test's caller never ACKs.)
    let o = h.advance(33_000);
    let mut codes = o.codes(&udp(CALLER));
    codes.dedup();
    assert_eq!(codes, vec![408]);
    // Ringing forever: Timer C (185 s, §16.8) cancels the branch and 408 goes up.
    let out = h.recv(
        &udp(CALLER),
        invite(
            "sip:alice@sipsimple.local",
            "sip:bob@example.com",
            "z9hG4bKc8",
            "",
        ),
    );
    let b = out.request(&ws(1), "INVITE");
    h.recv(&ws(1), answer(&b, 180, "p1"));
    let o = h.advance(186_000);
    let mut codes = o.codes(&udp(CALLER));
    codes.dedup();
    assert_eq!(codes, vec![408]);
    assert_eq!(o.request(&ws(1), "CANCEL").header("CSeq"), Some("1 CANCEL"));
}
