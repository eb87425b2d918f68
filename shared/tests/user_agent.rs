//! The user agent driven by a scripted peer on a virtual clock: no sockets, no sleeps.
//! The peer's answers are built with the crate's own parser and digest server side, so
//! these tests check what goes on the wire as well as the notifications. The last tests run
//! the registration against the simulator's registrar.

mod sim;

use sipsimple::auth::{ha1, Algorithm, Challenge, Credentials};
use sipsimple::sip::{Message, NameAddr};
use sipsimple::{AccountConfig, Error, Event, Originator, Output, SessionState, Time, UserAgent};

const T0: Time = Time::from_millis(1_000);

fn ua(password: &str) -> UserAgent {
    UserAgent::new(AccountConfig::new("alice@example.com", password), 7).expect("valid id")
}

/// Drains the user agent: the messages it sent and the notifications it emitted.
fn drain(ua: &mut UserAgent) -> (Vec<Message>, Vec<Event>) {
    let (mut sent, mut events) = (Vec::new(), Vec::new());
    while let Some(o) = ua.poll_output() {
        match o {
            Output::Transmit(b) => sent.push(Message::parse(&b).expect("the UA sends valid SIP")),
            Output::Notification(n) => events.push(n.event),
        }
    }
    (sent, events)
}

fn reply(req: &Message, code: u16, reason: &str) -> Message {
    let mut r = Message::response_to(req, code, reason);
    if code > 100 {
        if let Some(to) = req.header("To") {
            let mut to = NameAddr::parse(to).expect("valid To");
            if to.tag().is_none() {
                to.set_param("tag", Some("peer-tag"));
            }
            r.set_header("To", to.to_string());
        }
    }
    r
}

fn challenge(req: &Message, nonce: &str) -> Message {
    let mut r = reply(req, 401, "Unauthorized");
    let c = Challenge {
        realm: "example.com".into(),
        nonce: nonce.into(),
        opaque: None,
        algorithm: Algorithm::Md5,
        qop_auth: true,
        stale: false,
    };
    r.push_header("WWW-Authenticate", c.to_header());
    r
}

fn one(sent: Vec<Message>) -> Message {
    assert_eq!(sent.len(), 1, "expected exactly one message, got {sent:?}");
    sent.into_iter().next().expect("one")
}

#[test]
fn registers_with_digest_then_refreshes_before_expiry() {
    let mut ua = ua("secret");
    ua.register(T0);
    let (sent, events) = drain(&mut ua);
    let first = one(sent);
    assert!(events.is_empty());
    assert_eq!(first.method(), Some("REGISTER"));
    assert!(first.header("Authorization").is_none());

    ua.handle_input(T0, &challenge(&first, "n1").to_bytes());
    let second = one(drain(&mut ua).0);
    // The retry answers the challenge with the right password, in a new transaction.
    let creds = Credentials::parse(second.header("Authorization").expect("answered"))
        .expect("valid credentials");
    let h = ha1(Algorithm::Md5, "alice", "example.com", "secret");
    assert!(creds.verify(&h, "REGISTER"));
    assert_ne!(first.header("Via"), second.header("Via"));
    assert_eq!(first.header("Call-ID"), second.header("Call-ID"));

    let mut ok = reply(&second, 200, "OK");
    let contact = second.header("Contact").expect("contact");
    ok.push_header(
        "Contact",
        format!("{contact}, <sip:other@phone.example>;expires=30"),
    );
    ok.push_header("Expires", "120");
    ua.handle_input(T0, &ok.to_bytes());
    let (sent, events) = drain(&mut ua);
    assert!(sent.is_empty());
    match &events[..] {
        [Event::SIPAccountRegistrationDidSucceed {
            code: 200,
            contact_uri_list,
            expires: 600,
            ..
        }] => assert_eq!(contact_uri_list.len(), 2),
        other => panic!("unexpected {other:?}"),
    }
    // Refresh at 90% of the 600 s granted in our Contact's expires parameter.
    let at = ua.poll_timeout().expect("refresh timer");
    assert_eq!(at, Time::from_millis(T0.as_millis() + 540_000));
    ua.handle_timeout(at);
    let refresh = one(drain(&mut ua).0);
    assert_eq!(refresh.method(), Some("REGISTER"));
    assert!(
        refresh.header("Authorization").is_some(),
        "reuses the nonce with nc=2"
    );
}

#[test]
fn wrong_password_fails_once_and_retries_later() {
    let mut ua = ua("wrong");
    ua.register(T0);
    let first = one(drain(&mut ua).0);
    ua.handle_input(T0, &challenge(&first, "n1").to_bytes());
    let second = one(drain(&mut ua).0);
    let creds = Credentials::parse(second.header("Authorization").expect("answered"))
        .expect("valid credentials");
    assert!(!creds.verify(
        &ha1(Algorithm::Md5, "alice", "example.com", "secret"),
        "REGISTER"
    ));
    // The registrar challenges again: the credentials are wrong, do not loop.
    ua.handle_input(T0, &challenge(&second, "n2").to_bytes());
    let (sent, events) = drain(&mut ua);
    assert!(sent.is_empty());
    assert!(matches!(
        &events[..],
        [Event::SIPAccountRegistrationDidFail { code: Some(401), delay, .. }] if *delay == 30.0
    ));
    assert_eq!(
        ua.poll_timeout(),
        Some(Time::from_millis(T0.as_millis() + 30_000))
    );
}

#[test]
fn unanswered_register_times_out_with_timer_f() {
    let mut ua = ua("secret");
    ua.register(T0);
    drain(&mut ua);
    let f = ua.poll_timeout().expect("timer F");
    assert_eq!(f.as_millis() - T0.as_millis(), 32_000);
    ua.handle_timeout(Time::from_millis(f.as_millis() - 1));
    assert!(drain(&mut ua).1.is_empty(), "nothing fires early");
    ua.handle_timeout(f);
    let events = drain(&mut ua).1;
    assert!(matches!(
        &events[..],
        [Event::SIPAccountRegistrationDidFail { code: None, .. }]
    ));
}

fn states(events: &[Event]) -> Vec<SessionState> {
    events
        .iter()
        .filter_map(|e| match e {
            Event::SIPSessionChangedState { state, .. } => Some(*state),
            _ => None,
        })
        .collect()
}

fn names(events: &[Event]) -> Vec<&'static str> {
    events.iter().map(Event::name).collect()
}

#[test]
fn outgoing_call_rings_starts_and_ends_locally() {
    let mut ua = ua("secret");
    let id = ua
        .connect(T0, "bob@example.com", None)
        .expect("valid target");
    let (sent, events) = drain(&mut ua);
    let invite = one(sent);
    assert_eq!(invite.method(), Some("INVITE"));
    assert_eq!(invite.header("Content-Type"), Some("application/sdp"));
    assert_eq!(
        names(&events),
        ["SIPSessionNewOutgoing", "SIPSessionChangedState"]
    );

    ua.handle_input(T0, &reply(&invite, 180, "Ringing").to_bytes());
    assert_eq!(names(&drain(&mut ua).1), ["SIPSessionGotRingIndication"]);

    let mut ok = reply(&invite, 200, "OK");
    ok.push_header("Contact", "<sip:bob@192.0.2.4:5070>");
    ok.push_header("Record-Route", "<sip:p2.example;lr>, <sip:p1.example;lr>");
    ua.handle_input(T0, &ok.to_bytes());
    let (sent, events) = drain(&mut ua);
    let ack = one(sent);
    assert_eq!(ack.method(), Some("ACK"));
    assert_eq!(
        ack.request_uri().map(|u| u.to_string()).as_deref(),
        Some("sip:bob@192.0.2.4:5070")
    );
    // The route set is the Record-Route list reversed (RFC 3261 §12.1.2).
    assert_eq!(
        ack.header_values("Route"),
        ["<sip:p1.example;lr>", "<sip:p2.example;lr>"]
    );
    assert_eq!(
        names(&events),
        [
            "SIPSessionWillStart",
            "SIPSessionChangedState",
            "SIPSessionDidStart"
        ]
    );
    assert_eq!(ua.session_state(id), Some(SessionState::Established));

    ua.end(T0, id).expect("established sessions can end");
    let (sent, events) = drain(&mut ua);
    let bye = one(sent);
    assert_eq!(bye.method(), Some("BYE"));
    assert_eq!(bye.header("CSeq"), Some("2 BYE"));
    assert!(bye.header("To").is_some_and(|t| t.contains("tag=peer-tag")));
    assert_eq!(
        names(&events),
        ["SIPSessionWillEnd", "SIPSessionChangedState"]
    );

    ua.handle_input(T0, &reply(&bye, 200, "OK").to_bytes());
    let events = drain(&mut ua).1;
    assert_eq!(states(&events), [SessionState::Terminated]);
    assert!(events.contains(&Event::SIPSessionDidEnd {
        originator: Originator::Local
    }));
    // The ended session stays readable, and refuses commands.
    assert_eq!(ua.session_state(id), Some(SessionState::Terminated));
    assert_eq!(ua.end(T0, id), Err(Error::InvalidState("TERMINATED")));
    assert_eq!(ua.session_state(id + 1), None);
    assert_eq!(ua.end(T0, id + 1), Err(Error::NoSuchSession(id + 1)));
}

#[test]
fn rejected_call_is_acked_and_fails_with_the_code() {
    let mut ua = ua("secret");
    ua.connect(T0, "sip:bob@example.com", None).expect("valid");
    let invite = one(drain(&mut ua).0);
    ua.handle_input(T0, &reply(&invite, 486, "Busy Here").to_bytes());
    let (sent, events) = drain(&mut ua);
    let ack = one(sent);
    assert_eq!(ack.method(), Some("ACK"));
    // Non-2xx ACK: same branch as the INVITE (RFC 3261 §17.1.1.3).
    assert_eq!(ack.header("Via"), invite.header("Via"));
    assert_eq!(
        events.iter().find(|e| e.name() == "SIPSessionDidFail"),
        Some(&Event::SIPSessionDidFail {
            originator: Originator::Remote,
            code: 486,
            reason: "Busy Here".into()
        })
    );
    assert_eq!(events.last().map(Event::name), Some("SIPSessionDidEnd"));
}

#[test]
fn hanging_up_while_calling_cancels_after_the_first_provisional() {
    let mut ua = ua("secret");
    let id = ua.connect(T0, "bob@example.com", None).expect("valid");
    let invite = one(drain(&mut ua).0);
    ua.end(T0, id).expect("calling sessions can end");
    // No provisional yet: CANCEL must wait (RFC 3261 §9.1).
    assert!(drain(&mut ua).0.is_empty());
    ua.handle_input(T0, &reply(&invite, 100, "Trying").to_bytes());
    let cancel = one(drain(&mut ua).0);
    assert_eq!(cancel.method(), Some("CANCEL"));
    assert_eq!(cancel.header("Via"), invite.header("Via"));
    ua.handle_input(T0, &reply(&invite, 487, "Request Terminated").to_bytes());
    let (sent, events) = drain(&mut ua);
    assert_eq!(one(sent).method(), Some("ACK"));
    assert_eq!(
        events.last(),
        Some(&Event::SIPSessionDidEnd {
            originator: Originator::Local
        })
    );
    assert!(!names(&events).contains(&"SIPSessionDidFail"));
}

#[test]
fn remote_bye_ends_the_session_and_is_answered() {
    let mut ua = ua("secret");
    ua.connect(T0, "bob@example.com", None).expect("valid");
    let invite = one(drain(&mut ua).0);
    let mut ok = reply(&invite, 200, "OK");
    ok.push_header("Contact", "<sip:bob@192.0.2.4>");
    ua.handle_input(T0, &ok.to_bytes());
    drain(&mut ua);
    let bye = format!(
        "BYE sip:x@y.invalid SIP/2.0\r\nVia: SIP/2.0/UDP 192.0.2.4;branch=z9hG4bKbye\r\n\
         From: <sip:bob@example.com>;tag=peer-tag\r\nTo: {}\r\nCall-ID: {}\r\nCSeq: 9 BYE\r\n\r\n",
        invite.header("From").expect("from"),
        invite.header("Call-ID").expect("call-id")
    );
    ua.handle_input(T0, bye.as_bytes());
    let (sent, events) = drain(&mut ua);
    assert_eq!(one(sent).code(), Some(200));
    assert_eq!(
        events.last(),
        Some(&Event::SIPSessionDidEnd {
            originator: Originator::Remote
        })
    );
}

#[test]
fn garbage_and_bad_targets_are_refused_without_panics() {
    let mut ua = ua("secret");
    for junk in [
        &b""[..],
        b"\x00\xff",
        b"SIP/2.0 200\r\n\r\n",
        b"INVITE x SIP/2.0\r\n\r\n",
    ] {
        ua.handle_input(T0, junk);
    }
    assert_eq!(drain(&mut ua), (vec![], vec![]));
    assert!(ua.connect(T0, "sip:", None).is_err());
    assert!(ua.connect(T0, "mailto:bob@example.com", None).is_err());
    assert!(UserAgent::new(AccountConfig::new("nodomain", "x"), 1).is_err());
}

#[test]
fn registers_refreshes_and_unregisters_through_the_simulated_registrar() {
    use sim::ua::{at_ms, world, Command};
    let mut sim = world(
        sim::NetConfig::default(),
        3,
        sipsimple::ua::Transport::Udp,
        &["alice"],
        |p| {
            p.users.insert("alice".into(), "secret".into());
        },
    );
    sim.node_mut(1).ua_mut().at(at_ms(0), Command::Register);
    sim.node_mut(1)
        .ua_mut()
        .at(at_ms(1_000_000), Command::Unregister);
    sim.run_to_quiet(std::time::Duration::from_secs(2_000));
    assert_eq!(
        sim.node(1).ua().account_trace(),
        [
            "RegistrationDidSucceed(200 600)",
            "RegistrationDidSucceed(200 600)",
            "RegistrationDidEnd(Some(200))"
        ]
    );
    let answered: Vec<(u64, u16)> = sim
        .node(0)
        .proxy()
        .answered
        .iter()
        .map(|(t, code, _)| (t.as_millis(), *code))
        .collect();
    // The challenge once, the refresh at 90% of 600 s after the 200 came back (at 40 ms)
    // with the same nonce (nc=2), then the removal.
    assert_eq!(
        answered,
        [(10, 401), (30, 200), (540_050, 200), (1_000_010, 200)]
    );
    assert!(!sim.node(0).proxy().is_bound("alice"));
    assert_eq!(sim.node(1).ua().ua.poll_timeout(), None);
}

#[test]
fn wrong_password_backs_off_against_the_simulated_registrar() {
    use sim::ua::{at_ms, world, Command};
    let mut sim = world(
        sim::NetConfig::default(),
        3,
        sipsimple::ua::Transport::Ws,
        &["alice"],
        |p| {
            p.users.insert("alice".into(), "other".into());
        },
    );
    sim.node_mut(1).ua_mut().at(at_ms(0), Command::Register);
    sim.run_until(at_ms(100_000));
    let delays: Vec<f64> = sim
        .node(1)
        .ua()
        .account_events()
        .into_iter()
        .filter_map(|e| match e {
            Event::SIPAccountRegistrationDidFail {
                code: Some(401),
                delay,
                ..
            } => Some(*delay),
            _ => None,
        })
        .collect();
    // Failures at 0.03 s, 30.03 s and 90.03 s: one answer per challenge, then back-off.
    assert_eq!(delays, [30.0, 60.0, 120.0]);
}
