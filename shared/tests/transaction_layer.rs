//! The transaction layer driven by hand, without the simulator: command errors, matching
//! rules (§17.1.3, §17.2.3, the RFC 2543 fallback, §9.2), stray messages, Via stamping,
//! fan-out of transport errors, Timer C.

use sipsimple::sip::{Message, Uri};
use sipsimple::transaction::{
    Config, Dest, Error, Event, Input, Kind, Output, State, Timer, TransactionLayer, TransportKind,
};
use sipsimple::Time;

fn t(ms: u64) -> Time {
    Time::from_millis(ms)
}

fn peer() -> Dest {
    Dest::new(TransportKind::Udp, "192.0.2.2", 5060)
}

fn request(method: &str, via: &str) -> Message {
    let mut m = Message::request(method, Uri::sip(Some("bob"), "b.example"));
    m.push_header("Via", via);
    m.push_header("Max-Forwards", "70");
    m.push_header("From", "<sip:alice@a.example>;tag=a1");
    m.push_header("To", "<sip:bob@b.example>");
    m.push_header("Call-ID", "call-1");
    m.push_header("CSeq", format!("1 {method}"));
    m
}

fn drain(layer: &mut TransactionLayer) -> (Vec<Message>, Vec<Event>) {
    let (mut sent, mut events) = (Vec::new(), Vec::new());
    while let Some(o) = layer.poll_output() {
        match o {
            Output::Transmit { bytes, .. } => {
                sent.push(Message::parse(&bytes).expect("the layer sends valid SIP"))
            }
            Output::Event(e) => events.push(e),
        }
    }
    (sent, events)
}

fn receive(layer: &mut TransactionLayer, now: Time, msg: Message) {
    layer.handle_input(
        now,
        Input::Received {
            source: peer(),
            msg,
        },
    );
}

#[test]
fn send_request_refuses_what_is_not_a_transaction() {
    let mut l = TransactionLayer::new(Config::default(), 1);
    let via = "SIP/2.0/UDP 192.0.2.1:5060";
    assert_eq!(
        l.send_request(t(0), peer(), request("ACK", via)),
        Err(Error::AckNotTransaction)
    );
    let resp = Message::response_to(&request("OPTIONS", via), 200, "OK");
    assert_eq!(l.send_request(t(0), peer(), resp), Err(Error::NotARequest));
    let mut no_via = request("OPTIONS", via);
    no_via.remove_header("Via");
    assert_eq!(l.send_request(t(0), peer(), no_via), Err(Error::MissingVia));
    let mut bad_cseq = request("OPTIONS", via);
    bad_cseq.set_header("CSeq", "1 INVITE");
    assert_eq!(l.send_request(t(0), peer(), bad_cseq), Err(Error::BadCSeq));
    let with_branch = request("OPTIONS", "SIP/2.0/UDP 192.0.2.1;branch=z9hG4bKfixed");
    let first = l
        .send_request(t(0), peer(), with_branch.clone())
        .expect("first");
    assert_eq!(
        l.send_request(t(0), peer(), with_branch),
        Err(Error::DuplicateBranch)
    );
    assert_eq!(l.state(first), Some(State::Trying));
    assert_eq!(l.len(), 1);
}

#[test]
fn a_branch_is_added_when_missing_and_kept_when_present() {
    let mut l = TransactionLayer::new(Config::default(), 2);
    let id = l
        .send_request(
            t(0),
            peer(),
            request("OPTIONS", "SIP/2.0/UDP 192.0.2.1:5060"),
        )
        .expect("valid");
    let via = l.request(id).and_then(|r| r.header("Via")).expect("Via");
    assert!(
        via.starts_with("SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bK"),
        "{via}"
    );
    assert_eq!(l.kind(id), Some(Kind::NonInviteClient));
    assert_eq!(l.state(id), Some(State::Trying));
    assert_eq!(l.dest(id), Some(&peer()));
    let branch = l.new_branch();
    assert!(branch.starts_with("z9hG4bK") && branch.len() > 7);
}

#[test]
fn respond_checks_kind_and_state() {
    let mut l = TransactionLayer::new(Config::default(), 3);
    let client = l
        .send_request(t(0), peer(), request("OPTIONS", "SIP/2.0/UDP 192.0.2.1"))
        .expect("valid");
    let inv = request("INVITE", "SIP/2.0/UDP 192.0.2.2;branch=z9hG4bKin1");
    receive(&mut l, t(0), inv.clone());
    let (_, events) = drain(&mut l);
    let Some(Event::Request { id, .. }) = events.last().cloned() else {
        panic!("a request event: {events:?}")
    };
    assert_eq!(l.kind(id), Some(Kind::InviteServer));
    let ok = Message::response_to(&inv, 486, "Busy Here");
    assert_eq!(l.respond(t(1), client, ok.clone()), Err(Error::WrongKind));
    assert_eq!(l.respond(t(1), id, inv.clone()), Err(Error::NotAResponse));
    l.respond(t(1), id, ok.clone()).expect("first final");
    assert_eq!(l.respond(t(2), id, ok), Err(Error::WrongState));
    assert_eq!(l.timers(id), [(Timer::G, t(501)), (Timer::H, t(32_001))]);
    let unknown = {
        let mut other = TransactionLayer::new(Config::default(), 4);
        other
            .send_request(t(0), peer(), request("OPTIONS", "SIP/2.0/UDP x"))
            .expect("valid");
        other
            .send_request(t(0), peer(), request("INFO", "SIP/2.0/UDP x"))
            .expect("valid");
        other
            .send_request(t(0), peer(), request("INFO", "SIP/2.0/UDP x"))
            .expect("valid")
    };
    assert_eq!(
        l.respond(t(3), unknown, Message::response_to(&inv, 200, "OK")),
        Err(Error::UnknownTransaction)
    );
}

#[test]
fn stray_responses_are_dropped_and_stray_acks_go_to_the_tu() {
    let mut l = TransactionLayer::new(Config::default(), 5);
    let req = request("OPTIONS", "SIP/2.0/UDP 192.0.2.1;branch=z9hG4bKnobody");
    receive(&mut l, t(0), Message::response_to(&req, 200, "OK"));
    assert_eq!(l.poll_output(), None);
    let ack = request("ACK", "SIP/2.0/UDP 192.0.2.2;branch=z9hG4bKack2xx");
    receive(&mut l, t(0), ack);
    let (sent, events) = drain(&mut l);
    assert!(sent.is_empty());
    assert!(matches!(events.as_slice(), [Event::Ack { id: None, .. }]));
    assert!(l.is_empty());
    assert_eq!(l.poll_timeout(), None);
    // Unparsable bytes are dropped too.
    l.handle_input(
        t(0),
        Input::ReceivedBytes {
            source: peer(),
            bytes: b"garbage\r\n\r\n".to_vec(),
        },
    );
    assert_eq!(l.poll_output(), None);
}

#[test]
fn received_requests_get_received_and_rport() {
    let mut l = TransactionLayer::new(Config::default(), 6);
    let source = Dest::new(TransportKind::Udp, "198.51.100.9", 40_000);
    let msg = request(
        "MESSAGE",
        "SIP/2.0/UDP alice.invalid;rport;branch=z9hG4bKm1",
    );
    l.handle_input(
        t(0),
        Input::Received {
            source: source.clone(),
            msg,
        },
    );
    let (_, events) = drain(&mut l);
    let Some(Event::Request { id, source: s, msg }) = events.first() else {
        panic!("{events:?}")
    };
    assert_eq!(s, &source);
    assert_eq!(
        msg.header("Via"),
        Some("SIP/2.0/UDP alice.invalid;rport=40000;branch=z9hG4bKm1;received=198.51.100.9")
    );
    // The response built from it goes back to the source.
    l.respond(t(1), *id, Message::response_to(msg, 200, "OK"))
        .expect("respond");
    let Some(Output::Transmit { dest, .. }) = l.poll_output() else {
        panic!("a transmit")
    };
    assert_eq!(dest, source);
}

#[test]
fn rfc2543_requests_match_without_a_magic_cookie() {
    let mut l = TransactionLayer::new(Config::default(), 7);
    let inv = request("INVITE", "SIP/2.0/UDP 192.0.2.2;branch=1234");
    receive(&mut l, t(0), inv.clone());
    receive(&mut l, t(500), inv.clone()); // a retransmission: no new transaction
    let (_, events) = drain(&mut l);
    let ids: Vec<_> = events
        .iter()
        .filter_map(|e| match e {
            Event::Request { id, .. } => Some(*id),
            _ => None,
        })
        .collect();
    assert_eq!(ids.len(), 1);
    let id = ids[0];
    l.respond(t(600), id, Message::response_to(&inv, 404, "Not Found"))
        .expect("final");
    let mut ack = request("ACK", "SIP/2.0/UDP 192.0.2.2;branch=1234");
    ack.set_header("To", "<sip:bob@b.example>;tag=x");
    receive(&mut l, t(700), ack);
    assert_eq!(l.state(id), Some(State::Confirmed));
    // Without any Via branch at all, too.
    let old = request("OPTIONS", "SIP/2.0/UDP 192.0.2.2");
    receive(&mut l, t(800), old.clone());
    receive(&mut l, t(900), old);
    let requests = drain(&mut l)
        .1
        .into_iter()
        .filter(|e| matches!(e, Event::Request { .. }))
        .count();
    assert_eq!(requests, 1);
}

#[test]
fn cancel_target_follows_9_2() {
    let mut l = TransactionLayer::new(Config::default(), 8);
    let via = "SIP/2.0/UDP 192.0.2.2;branch=z9hG4bKinv";
    receive(&mut l, t(0), request("INVITE", via));
    let (_, events) = drain(&mut l);
    let Some(Event::Request { id: invite, .. }) = events.first().cloned() else {
        panic!()
    };
    let cancel = request("CANCEL", via);
    assert_eq!(l.cancel_target(&cancel), Some(invite));
    receive(&mut l, t(10), cancel);
    let (_, events) = drain(&mut l);
    let Some(Event::Request {
        id: cancel_id, msg, ..
    }) = events.first().cloned()
    else {
        panic!("the CANCEL is its own server transaction: {events:?}")
    };
    assert_ne!(cancel_id, invite);
    assert_eq!(l.kind(cancel_id), Some(Kind::NonInviteServer));
    assert_eq!(l.cancel_target(&msg), Some(invite));
    let other = request("CANCEL", "SIP/2.0/UDP 192.0.2.2;branch=z9hG4bKother");
    assert_eq!(l.cancel_target(&other), None);
    let elsewhere = request("CANCEL", "SIP/2.0/UDP 192.0.2.3;branch=z9hG4bKinv");
    assert_eq!(l.cancel_target(&elsewhere), None);
}

#[test]
fn same_branch_ack_in_accepted_reaches_the_tu_with_the_transaction() {
    let mut l = TransactionLayer::new(Config::default(), 9);
    let via = "SIP/2.0/UDP 192.0.2.2;branch=z9hG4bKacc";
    let inv = request("INVITE", via);
    receive(&mut l, t(0), inv.clone());
    let (_, events) = drain(&mut l);
    let Some(Event::Request { id, .. }) = events.first().cloned() else {
        panic!()
    };
    l.respond(t(5), id, Message::response_to(&inv, 200, "OK"))
        .expect("2xx");
    assert_eq!(l.state(id), Some(State::Accepted));
    assert_eq!(l.timers(id), [(Timer::L, t(32_005))]);
    // The TU retransmits its 2xx through the transaction.
    l.respond(t(505), id, Message::response_to(&inv, 200, "OK"))
        .expect("2xx again");
    // A retransmitted INVITE is absorbed.
    drain(&mut l);
    receive(&mut l, t(600), inv);
    assert_eq!(drain(&mut l), (vec![], vec![]));
    receive(&mut l, t(700), request("ACK", via));
    let (_, events) = drain(&mut l);
    assert!(matches!(events.as_slice(), [Event::Ack { id: Some(x), .. }] if *x == id));
    l.handle_input(t(32_005), Input::Timeout);
    assert_eq!(drain(&mut l).1, [Event::Terminated { id }]);
    assert_eq!(l.poll_timeout(), None);
}

#[test]
fn transport_errors_hit_only_transactions_on_that_flow() {
    let mut l = TransactionLayer::new(Config::default(), 10);
    let tcp_a = Dest::new(TransportKind::Tcp, "192.0.2.2", 5060).with_flow(1);
    let tcp_b = Dest::new(TransportKind::Tcp, "192.0.2.2", 5060).with_flow(2);
    let a = l
        .send_request(t(0), tcp_a.clone(), request("OPTIONS", "SIP/2.0/TCP h"))
        .expect("valid");
    let b = l
        .send_request(t(0), tcp_b, request("OPTIONS", "SIP/2.0/TCP h"))
        .expect("valid");
    drain(&mut l);
    l.handle_input(t(5), Input::TransportError { dest: tcp_a });
    assert_eq!(
        drain(&mut l).1,
        [Event::TransportError { id: a }, Event::Terminated { id: a }]
    );
    assert_eq!(l.state(b), Some(State::Trying));
    assert_eq!(l.len(), 1);
}

#[test]
fn timer_c_bounds_proceeding_and_restarts_on_each_provisional() {
    let mut l = TransactionLayer::new(Config::default(), 11);
    let id = l
        .send_request(t(0), peer(), request("INVITE", "SIP/2.0/UDP h"))
        .expect("valid");
    let (sent, _) = drain(&mut l);
    let ringing = Message::response_to(&sent[0], 180, "Ringing");
    receive(&mut l, t(100), ringing.clone());
    assert_eq!(l.timers(id), [(Timer::C, t(185_100))]);
    receive(&mut l, t(60_000), ringing);
    assert_eq!(l.timers(id), [(Timer::C, t(245_000))]);
    drain(&mut l);
    l.handle_input(t(245_000), Input::Timeout);
    assert_eq!(
        drain(&mut l).1,
        [Event::Timeout { id }, Event::Terminated { id }]
    );

    let mut config = Config::default();
    config.timer_c = None;
    let mut l = TransactionLayer::new(config, 12);
    let id = l
        .send_request(t(0), peer(), request("INVITE", "SIP/2.0/UDP h"))
        .expect("valid");
    let (sent, _) = drain(&mut l);
    receive(
        &mut l,
        t(100),
        Message::response_to(&sent[0], 180, "Ringing"),
    );
    assert_eq!(l.timers(id), []);
    assert_eq!(l.poll_timeout(), None);
}

#[test]
fn configurable_t1_scales_every_timer() {
    let mut config = Config::default();
    config.t1 = std::time::Duration::from_millis(100);
    config.t2 = std::time::Duration::from_millis(400);
    let mut l = TransactionLayer::new(config, 13);
    let id = l
        .send_request(t(0), peer(), request("OPTIONS", "SIP/2.0/UDP h"))
        .expect("valid");
    let mut sends = Vec::new();
    loop {
        for o in std::iter::from_fn(|| l.poll_output()) {
            if let Output::Transmit { .. } = o {
                sends.push(sends.len());
            }
        }
        let Some(at) = l.poll_timeout() else { break };
        l.handle_input(at, Input::Timeout);
        if l.state(id).is_none() {
            assert_eq!(at, t(6_400)); // Timer F = 64·T1
            break;
        }
    }
    // At 0, then Timer E at 100, 300, 700 and every 400 ms up to 6 300: 18 sends.
    assert_eq!(sends.len(), 18);
}
