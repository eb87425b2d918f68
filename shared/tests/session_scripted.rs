//! A user agent against a scripted peer whose messages the test writes by hand: forked
//! INVITEs (RFC 3261 §13.2.2.4), re-INVITE failures and their rollback (§14.1), in-dialog
//! request validation and target refresh (§12.2.2), merged requests (§8.2.2.2), Require
//! (§8.2.2.3) and the incoming side's 2xx retransmission (§13.3.1.4).

use sipsimple::sdp::{Direction, SessionDescription};
use sipsimple::sip::{Message, NameAddr};
use sipsimple::{AccountConfig, Event, Originator, Output, Sender, SessionState, Time, UserAgent};

const T0: Time = Time::from_millis(1_000);

fn ua() -> UserAgent {
    UserAgent::new(AccountConfig::new("alice@example.com", "secret"), 11).expect("valid id")
}

fn drain(ua: &mut UserAgent) -> (Vec<Message>, Vec<Event>) {
    let (mut sent, mut events) = (Vec::new(), Vec::new());
    while let Some(o) = ua.poll_output() {
        match o {
            Output::Transmit(b) => sent.push(Message::parse(&b).expect("valid SIP")),
            // The streams' own notifications are checked in session_proposals.rs.
            Output::Notification(n) if matches!(n.sender, Sender::Stream { .. }) => {}
            Output::Notification(n) => events.push(n.event),
        }
    }
    (sent, events)
}

fn names(events: &[Event]) -> Vec<&'static str> {
    events.iter().map(Event::name).collect()
}

fn first_lines(sent: &[Message]) -> Vec<String> {
    sent.iter()
        .map(|m| match m.method() {
            Some(method) => format!(
                "{method} {}",
                m.request_uri().map(|u| u.to_string()).unwrap_or_default()
            ),
            None => format!("{}", m.code().unwrap_or(0)),
        })
        .collect()
}

/// A response from the fork with To tag `tag` and Contact `sip:<tag>@192.0.2.2`.
fn answer(req: &Message, code: u16, tag: &str, sdp: Option<&str>) -> Message {
    let mut r = Message::response_to(req, code, "Scripted");
    let mut to = NameAddr::parse(req.header("To").expect("To")).expect("valid To");
    if to.tag().is_none() {
        to.set_param("tag", Some(tag));
    }
    r.set_header("To", to.to_string());
    if req.method() == Some("INVITE") && code > 100 {
        r.push_header("Contact", format!("<sip:{tag}@192.0.2.2>"));
    }
    if let Some(sdp) = sdp {
        r.set_body("application/sdp", sdp.as_bytes().to_vec());
    }
    r
}

const PEER_SDP: &str = "v=0\r\no=bob 1 1 IN IP4 192.0.2.2\r\ns=-\r\nc=IN IP4 192.0.2.2\r\nt=0 0\r\nm=audio 4000 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n";

/// A request from the peer in the dialog of `invite` (whose To tag the peer is `tag`).
fn from_peer(
    method: &str,
    invite: &Message,
    tag: &str,
    cseq: u32,
    contact: &str,
    body: Option<&str>,
) -> Message {
    let from_us = invite.header("From").expect("From");
    let target = NameAddr::parse(invite.header("Contact").expect("Contact"))
        .expect("valid")
        .uri;
    let mut m = Message::request(method, target);
    m.push_header(
        "Via",
        format!("SIP/2.0/WS 192.0.2.2;branch=z9hG4bK{method}{cseq}"),
    );
    m.push_header("From", format!("<sip:bob@example.com>;tag={tag}"));
    m.push_header("To", from_us);
    m.push_header("Call-ID", invite.header("Call-ID").expect("Call-ID"));
    m.push_header("CSeq", format!("{cseq} {method}"));
    m.push_header("Contact", format!("<{contact}>"));
    if let Some(b) = body {
        m.set_body("application/sdp", b.as_bytes().to_vec());
    }
    m
}

/// alice calls bob, who answers from fork `b1`: established, with the INVITE.
fn established(ua: &mut UserAgent) -> (u64, Message) {
    let id = ua.connect(T0, "bob@example.com", None).expect("valid");
    let invite = drain(ua).0.remove(0);
    ua.handle_input(T0, &answer(&invite, 200, "b1", Some(PEER_SDP)).to_bytes());
    drain(ua);
    (id, invite)
}

fn direction(sdp: &[u8]) -> Direction {
    let sd: SessionDescription = String::from_utf8_lossy(sdp).parse().expect("valid SDP");
    sd.direction_of(&sd.media[0])
}

#[test]
fn forked_invite_keeps_the_first_2xx_and_hangs_up_the_others() {
    let mut ua = ua();
    let id = ua.connect(T0, "bob@example.com", None).expect("valid");
    let invite = drain(&mut ua).0.remove(0);
    for tag in ["f1", "f2"] {
        ua.handle_input(T0, &answer(&invite, 180, tag, None).to_bytes());
        assert_eq!(names(&drain(&mut ua).1), ["SIPSessionGotRingIndication"]);
    }
    let ok2 = answer(&invite, 200, "f2", Some(PEER_SDP));
    ua.handle_input(T0, &ok2.to_bytes());
    let (sent, events) = drain(&mut ua);
    assert_eq!(first_lines(&sent), ["ACK sip:f2@192.0.2.2"]);
    let ack2 = sent[0].clone();
    assert_eq!(
        names(&events),
        [
            "SIPSessionWillStart",
            "SIPSessionChangedState",
            "SIPSessionDidStart"
        ]
    );
    // The other fork answers too: ACK, then BYE on that fork's dialog.
    let ok1 = answer(&invite, 200, "f1", Some(PEER_SDP));
    ua.handle_input(T0, &ok1.to_bytes());
    let (sent, events) = drain(&mut ua);
    assert!(events.is_empty());
    assert_eq!(
        first_lines(&sent),
        ["ACK sip:f1@192.0.2.2", "BYE sip:f1@192.0.2.2"]
    );
    assert!(sent[1].header("To").is_some_and(|t| t.contains("tag=f1")));
    // Retransmissions get the same ACKs, and no second BYE.
    ua.handle_input(T0, &ok2.to_bytes());
    assert_eq!(drain(&mut ua).0, [ack2]);
    ua.handle_input(T0, &ok1.to_bytes());
    assert_eq!(first_lines(&drain(&mut ua).0), ["ACK sip:f1@192.0.2.2"]);
    // The session is f2's.
    ua.end(T0, id).expect("established");
    let bye = drain(&mut ua).0.remove(0);
    assert_eq!(
        first_lines(std::slice::from_ref(&bye)),
        ["BYE sip:f2@192.0.2.2"]
    );
    assert_eq!(bye.header("CSeq"), Some("2 BYE"));
}

#[test]
fn twoxx_after_hanging_up_is_acked_then_ended() {
    let mut ua = ua();
    let id = ua.connect(T0, "bob@example.com", None).expect("valid");
    let invite = drain(&mut ua).0.remove(0);
    ua.end(T0, id).expect("calling");
    assert_eq!(
        names(&drain(&mut ua).1),
        ["SIPSessionWillEnd", "SIPSessionChangedState"]
    );
    // No provisional came, so no CANCEL went; the callee answers.
    ua.handle_input(T0, &answer(&invite, 200, "b1", Some(PEER_SDP)).to_bytes());
    let (sent, events) = drain(&mut ua);
    assert_eq!(
        first_lines(&sent),
        ["ACK sip:b1@192.0.2.2", "BYE sip:b1@192.0.2.2"]
    );
    assert!(events.is_empty());
    ua.handle_input(T0, &answer(&sent[1], 200, "b1", None).to_bytes());
    let events = drain(&mut ua).1;
    assert_eq!(
        events.last(),
        Some(&Event::SIPSessionDidEnd {
            originator: Originator::Local
        })
    );
    assert!(!names(&events).contains(&"SIPSessionDidStart"));
}

#[test]
fn reinvite_failure_keeps_the_previous_sdp() {
    let mut ua = ua();
    let (id, _) = established(&mut ua);
    let before = ua.local_sdp(id).map(str::to_string);
    ua.hold(T0, id).expect("established");
    let reinvite = drain(&mut ua).0.remove(0);
    assert_eq!(reinvite.header("CSeq"), Some("2 INVITE"));
    assert_eq!(direction(&reinvite.body), Direction::SendOnly);
    ua.handle_input(T0, &answer(&reinvite, 488, "b1", None).to_bytes());
    let (sent, events) = drain(&mut ua);
    assert_eq!(
        first_lines(&sent),
        ["ACK sip:b1@192.0.2.2"],
        "the transaction ACKs the 488"
    );
    assert_eq!(sent[0].header("Via"), reinvite.header("Via"));
    assert!(events.is_empty(), "{events:?}");
    let s = ua.session(id).expect("live");
    assert_eq!(s.state(), SessionState::Established);
    assert!(!s.on_hold());
    assert_eq!(ua.local_sdp(id).map(str::to_string), before);
    // A later hold tries again.
    ua.hold(T0, id).expect("established");
    let again = drain(&mut ua).0.remove(0);
    assert_eq!(again.header("CSeq"), Some("3 INVITE"));
}

#[test]
fn reinvite_481_ends_the_session_without_bye() {
    let mut ua = ua();
    let (id, _) = established(&mut ua);
    ua.hold(T0, id).expect("established");
    let reinvite = drain(&mut ua).0.remove(0);
    ua.handle_input(T0, &answer(&reinvite, 481, "b1", None).to_bytes());
    let (sent, events) = drain(&mut ua);
    assert_eq!(first_lines(&sent), ["ACK sip:b1@192.0.2.2"]);
    assert_eq!(
        events,
        [
            Event::SIPSessionDidFail {
                originator: Originator::Remote,
                code: 481,
                reason: "Scripted".into()
            },
            Event::SIPSessionChangedState {
                prev_state: SessionState::Established,
                state: SessionState::Terminated
            },
            Event::SIPSessionDidEnd {
                originator: Originator::Remote
            }
        ]
    );
}

#[test]
fn unanswered_reinvite_ends_the_session_with_bye() {
    let mut ua = ua();
    let (id, _) = established(&mut ua);
    ua.hold(T0, id).expect("established");
    drain(&mut ua);
    let timer_b = ua.poll_timeout().expect("Timer B");
    assert_eq!(timer_b.as_millis() - T0.as_millis(), 32_000);
    ua.handle_timeout(timer_b);
    let (sent, events) = drain(&mut ua);
    assert_eq!(first_lines(&sent), ["BYE sip:b1@192.0.2.2"]);
    assert_eq!(
        events.first(),
        Some(&Event::SIPSessionDidFail {
            originator: Originator::Local,
            code: 408,
            reason: "Request Timeout".into()
        })
    );
    assert_eq!(ua.session_state(id), Some(SessionState::Terminated));
}

#[test]
fn in_dialog_requests_are_validated_and_refresh_the_target() {
    let mut ua = ua();
    let (id, invite) = established(&mut ua);
    // The peer holds us with a re-INVITE from a new Contact.
    let held = PEER_SDP.replace(
        "a=rtpmap:0 PCMU/8000\r\n",
        "a=rtpmap:0 PCMU/8000\r\na=sendonly\r\n",
    );
    let reinvite = from_peer(
        "INVITE",
        &invite,
        "b1",
        5,
        "sip:moved@192.0.2.9",
        Some(&held),
    );
    ua.handle_input(T0, &reinvite.to_bytes());
    let (sent, events) = drain(&mut ua);
    assert_eq!(sent[0].code(), Some(200));
    assert_eq!(direction(&sent[0].body), Direction::RecvOnly);
    assert_eq!(
        events,
        [Event::SIPSessionGotHoldRequest {
            originator: Originator::Remote
        }]
    );
    assert!(ua.session(id).is_some_and(|s| s.on_hold_by_remote()));
    // Another re-INVITE before the ACK: 491.
    let early = from_peer(
        "INVITE",
        &invite,
        "b1",
        6,
        "sip:moved@192.0.2.9",
        Some(PEER_SDP),
    );
    ua.handle_input(T0, &early.to_bytes());
    assert_eq!(drain(&mut ua).0[0].code(), Some(491));
    // The ACK ends the 2xx retransmissions: no timer is left but the session's none.
    let mut ack = from_peer("ACK", &invite, "b1", 5, "sip:moved@192.0.2.9", None);
    ack.remove_header("Contact");
    ua.handle_input(T0, &ack.to_bytes());
    drain(&mut ua);
    // An OPTIONS with a lower CSeq: 500 with Retry-After (§12.2.2).
    let old = from_peer("OPTIONS", &invite, "b1", 4, "sip:moved@192.0.2.9", None);
    ua.handle_input(T0, &old.to_bytes());
    let r = drain(&mut ua).0.remove(0);
    assert_eq!(r.code(), Some(500));
    assert!(r.header("Retry-After").is_some());
    // A request for a dialog we do not have: 481.
    let mut stray = from_peer("BYE", &invite, "b1", 9, "sip:moved@192.0.2.9", None);
    stray.set_header("To", "<sip:alice@example.com>;tag=nope");
    ua.handle_input(T0, &stray.to_bytes());
    assert_eq!(drain(&mut ua).0[0].code(), Some(481));
    // Our BYE goes to the refreshed target.
    ua.end(T0, id).expect("established");
    let bye = drain(&mut ua).0.remove(0);
    assert_eq!(first_lines(&[bye]), ["BYE sip:moved@192.0.2.9"]);
}

/// An INVITE from bob to alice's contact.
fn incoming_invite(ua: &UserAgent, branch: &str, extra: &[(&str, &str)]) -> Message {
    let mut m = Message::request("INVITE", ua.contact().clone());
    m.push_header(
        "Via",
        format!("SIP/2.0/WS 192.0.2.2;branch=z9hG4bK{branch}"),
    );
    m.push_header("From", "<sip:bob@example.com>;tag=bt");
    m.push_header("To", "<sip:alice@example.com>");
    m.push_header("Call-ID", "in-1");
    m.push_header("CSeq", "1 INVITE");
    m.push_header("Contact", "<sip:bob@192.0.2.2>");
    m.push_header("User-Agent", "scripted-bob");
    for (k, v) in extra {
        m.push_header(k, *v);
    }
    m.set_body("application/sdp", PEER_SDP.as_bytes().to_vec());
    m
}

#[test]
fn incoming_call_is_accepted_and_its_2xx_retransmitted_until_the_ack() {
    let mut ua = ua();
    let invite = incoming_invite(&ua, "in1", &[("Record-Route", "<sip:p.example;lr>")]);
    ua.handle_input(T0, &invite.to_bytes());
    let (sent, events) = drain(&mut ua);
    assert_eq!(first_lines(&sent), ["180"]);
    let to = NameAddr::parse(sent[0].header("To").expect("To")).expect("valid");
    let tag = to.tag().expect("our tag").to_string();
    assert_eq!(sent[0].header("Record-Route"), Some("<sip:p.example;lr>"));
    assert!(sent[0].header("Contact").is_some());
    assert_eq!(
        events,
        [
            Event::SIPSessionNewIncoming {
                streams: vec!["audio".into()]
            },
            Event::SIPSessionChangedState {
                prev_state: SessionState::Null,
                state: SessionState::Incoming
            }
        ]
    );
    let id = 1;
    assert_eq!(ua.remote_sdp(id), Some(PEER_SDP));
    assert_eq!(
        ua.session(id).and_then(|s| s.remote_user_agent()),
        Some("scripted-bob")
    );
    ua.accept(T0, id, None).expect("incoming");
    let (sent, events) = drain(&mut ua);
    assert_eq!(first_lines(&sent), ["200"]);
    assert_eq!(
        sent[0].header("To"),
        Some(to.to_string().as_str()),
        "the same tag"
    );
    assert_eq!(direction(&sent[0].body), Direction::SendRecv);
    assert_eq!(
        names(&events),
        ["SIPSessionChangedState", "SIPSessionWillStart"]
    );
    // Retransmitted at T1, 2·T1, ... even on this reliable flow (§13.3.1.4).
    let mut times = Vec::new();
    for _ in 0..3 {
        let at = ua.poll_timeout().expect("retransmission");
        ua.handle_timeout(at);
        assert_eq!(first_lines(&drain(&mut ua).0), ["200"]);
        times.push(at.as_millis() - T0.as_millis());
    }
    assert_eq!(times, [500, 1_500, 3_500]);
    let mut ack = Message::request(
        "ACK",
        sipsimple::sip::Uri::parse("sip:x@y.invalid").expect("uri"),
    );
    ack.push_header("Via", "SIP/2.0/WS 192.0.2.2;branch=z9hG4bKack1");
    ack.push_header("From", "<sip:bob@example.com>;tag=bt");
    ack.push_header("To", format!("<sip:alice@example.com>;tag={tag}"));
    ack.push_header("Call-ID", "in-1");
    ack.push_header("CSeq", "1 ACK");
    ua.handle_input(T0, &ack.to_bytes());
    let (sent, events) = drain(&mut ua);
    assert!(sent.is_empty());
    assert_eq!(
        names(&events),
        ["SIPSessionChangedState", "SIPSessionDidStart"]
    );
    assert_eq!(ua.session_state(id), Some(SessionState::Established));
    // A merged copy of the INVITE (another branch) is refused (§8.2.2.2).
    ua.handle_input(T0, &incoming_invite(&ua, "in2", &[]).to_bytes());
    assert_eq!(drain(&mut ua).0[0].code(), Some(482));
}

#[test]
fn requests_outside_dialogs() {
    let mut ua = ua();
    let invite = incoming_invite(&ua, "rq", &[("Require", "100rel")]);
    ua.handle_input(T0, &invite.to_bytes());
    let (sent, events) = drain(&mut ua);
    assert_eq!(sent[0].code(), Some(420));
    assert_eq!(sent[0].header("Unsupported"), Some("100rel"));
    assert!(events.is_empty());
    let mut options = incoming_invite(&ua, "op", &[]);
    options.start = sipsimple::sip::StartLine::Request {
        method: "OPTIONS".into(),
        uri: ua.contact().clone(),
    };
    options.set_header("CSeq", "1 OPTIONS");
    options.body.clear();
    options.remove_header("Content-Type");
    options.remove_header("Content-Length");
    ua.handle_input(T0, &options.to_bytes());
    let ok = drain(&mut ua).0.remove(0);
    assert_eq!(ok.code(), Some(200));
    assert!(ok.header("Allow").is_some_and(|a| a.contains("UPDATE")));
    let mut message = options.clone();
    message.start = sipsimple::sip::StartLine::Request {
        method: "MESSAGE".into(),
        uri: ua.contact().clone(),
    };
    message.set_header("Via", "SIP/2.0/WS 192.0.2.2;branch=z9hG4bKmsg");
    message.set_header("CSeq", "2 MESSAGE");
    ua.handle_input(T0, &message.to_bytes());
    assert_eq!(drain(&mut ua).0[0].code(), Some(405));
    assert!(
        ua.poll_timeout().is_some(),
        "the server transactions' timers"
    );
}

/// Every header of `msg` in turn removed, or replaced by each of a few hostile values.
fn mangled(msg: &Message) -> Vec<Message> {
    const VALUES: [&str; 7] = [
        "",
        "<",
        ";tag=",
        "4294967295 INVITE",
        "sip:",
        "<sip:x@y>;tag=zz",
        "SIP/2.0/WS",
    ];
    let mut out = Vec::new();
    for i in 0..msg.headers.len() {
        let mut m = msg.clone();
        m.headers.remove(i);
        out.push(m);
        for v in VALUES {
            let mut m = msg.clone();
            if let Some(h) = m.headers.get_mut(i) {
                h.value = v.to_string();
            }
            out.push(m);
        }
    }
    out
}

#[test]
fn mangled_messages_never_panic_and_get_valid_answers() {
    // Outgoing side: the 180, the 2xx, and requests in its dialog, each mangled.
    let mut ua0 = ua();
    ua0.connect(T0, "bob@example.com", None).expect("valid");
    let invite = drain(&mut ua0).0.remove(0);
    let mut inputs = vec![
        answer(&invite, 180, "b1", None),
        answer(&invite, 200, "b1", Some(PEER_SDP)),
        answer(&invite, 407, "b1", None),
        from_peer(
            "INVITE",
            &invite,
            "b1",
            5,
            "sip:m@192.0.2.9",
            Some(PEER_SDP),
        ),
        from_peer("BYE", &invite, "b1", 6, "sip:m@192.0.2.9", None),
        from_peer("UPDATE", &invite, "b1", 7, "sip:m@192.0.2.9", Some("v=0")),
    ];
    // Incoming side: the INVITE.
    let incoming = incoming_invite(&ua0, "m1", &[]);
    inputs.push(incoming);
    let mut fed = 0;
    for base in &inputs {
        for m in mangled(base) {
            // Each in a fresh outgoing call (the 2xx and in-dialog ones after the call is up)
            // and in a fresh UA that just received an INVITE.
            let mut a = ua();
            a.connect(T0, "bob@example.com", None).expect("valid");
            let inv = drain(&mut a).0.remove(0);
            let mut ok = answer(&inv, 200, "b1", Some(PEER_SDP));
            ok.set_header("CSeq", "1 INVITE");
            a.handle_input(T0, &ok.to_bytes());
            drain(&mut a);
            let mut m = m.clone();
            if m.header("Call-ID") == invite.header("Call-ID") {
                m.set_header("Call-ID", inv.header("Call-ID").unwrap_or_default());
            }
            a.handle_input(T0, &m.to_bytes());
            let mut b = ua();
            b.handle_input(T0, &incoming_invite(&b, "base", &[]).to_bytes());
            b.handle_input(T0, &m.to_bytes());
            for u in [&mut a, &mut b] {
                let _ = u.accept(T0, 1, Some("not sdp"));
                let _ = u.hold(T0, 1);
                let _ = u.end(T0, 1);
                // Everything sent parses (drain asserts it), timers run out cleanly.
                drain(u);
                while let Some(t) = u.poll_timeout() {
                    u.handle_timeout(t);
                    drain(u);
                }
            }
            fed += 1;
        }
    }
    assert!(fed > 300, "{fed} mangled messages");
}

#[test]
fn offerless_invite_gets_our_offer_in_the_2xx_and_the_answer_in_the_ack() {
    let mut ua = ua();
    let mut invite = incoming_invite(&ua, "lo", &[]);
    invite.body.clear();
    invite.remove_header("Content-Type");
    invite.remove_header("Content-Length");
    ua.handle_input(T0, &invite.to_bytes());
    let (sent, events) = drain(&mut ua);
    assert_eq!(
        events.first(),
        Some(&Event::SIPSessionNewIncoming {
            streams: vec!["audio".into()]
        })
    );
    assert_eq!(ua.remote_sdp(1), None);
    let tag = NameAddr::parse(sent[0].header("To").expect("To"))
        .expect("valid")
        .tag()
        .map(str::to_string)
        .expect("our tag");
    ua.accept(T0, 1, None).expect("incoming");
    let ok = drain(&mut ua).0.remove(0);
    assert_eq!(direction(&ok.body), Direction::SendRecv, "our offer");
    let mut ack = Message::request("ACK", ua.contact().clone());
    ack.push_header("Via", "SIP/2.0/WS 192.0.2.2;branch=z9hG4bKlo-ack");
    ack.push_header("From", "<sip:bob@example.com>;tag=bt");
    ack.push_header("To", format!("<sip:alice@example.com>;tag={tag}"));
    ack.push_header("Call-ID", "in-1");
    ack.push_header("CSeq", "1 ACK");
    ack.set_body("application/sdp", PEER_SDP.as_bytes().to_vec());
    ua.handle_input(T0, &ack.to_bytes());
    assert_eq!(
        names(&drain(&mut ua).1),
        ["SIPSessionChangedState", "SIPSessionDidStart"]
    );
    assert_eq!(
        ua.remote_sdp(1),
        Some(PEER_SDP),
        "the answer came in the ACK"
    );
}
