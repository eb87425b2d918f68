//! The registration's flow: the local address in Via, Contact and SDP on UDP/TCP/TLS
//! (RFC 3261 §18.1.1, §8.1.1.8) and the `.invalid` host on WebSocket (RFC 7118 §5); RFC 5626
//! outbound on WebSocket flows (instance id, `reg-id`, `ob`, flow recovery with sessions kept
//! across a short drop); and failover through the account's routes (the seed's
//! `next_route`), each checking the exact notification sequences.

mod sim;

use sim::proxy::Proxy;
use sim::ua::{at_ms, world, Command, Node, OnIncoming, UaNode, DOMAIN, PROXY};
use sim::{NetConfig, Network, Sim};
use sipsimple::settings::{Route, Transport as RouteTransport};
use sipsimple::sip::{Message, NameAddr};
use sipsimple::transaction::Dest;
use sipsimple::ua::Transport;
use sipsimple::{AccountConfig, Event, Output, SessionState, Time, UserAgent};
use std::time::Duration;

const T0: Time = Time::from_millis(1_000);
const ALICE: usize = 1;
const BOB: usize = 2;

fn config(transport: Transport, local: Option<(&str, u16)>) -> AccountConfig {
    let mut cfg = AccountConfig::new("alice@example.com", "secret");
    cfg.transport = transport;
    cfg.local_addr = local.map(|(h, p)| (h.to_string(), p));
    cfg
}

/// The messages a user agent sent and the notifications it emitted.
fn drain(ua: &mut UserAgent) -> (Vec<Message>, Vec<Event>) {
    let (mut sent, mut events) = (Vec::new(), Vec::new());
    while let Some(o) = ua.poll_output() {
        match o {
            Output::Transmit(b) => {
                sent.push(Message::parse_strict(&b).expect("the UA sends valid SIP"))
            }
            Output::Notification(n) => events.push(n.event),
        }
    }
    (sent, events)
}

fn register(cfg: AccountConfig) -> (UserAgent, Message) {
    let mut ua = UserAgent::new(cfg, 7).expect("valid account");
    ua.register(T0);
    let mut sent = drain(&mut ua).0;
    assert_eq!(sent.len(), 1);
    let req = sent.remove(0);
    assert_eq!(req.method(), Some("REGISTER"));
    (ua, req)
}

fn ok(req: &Message, extra: &[(&str, &str)]) -> Message {
    let mut r = Message::response_to(req, 200, "OK");
    r.set_header("To", format!("{};tag=reg", req.header("To").expect("To")));
    r.push_header("Contact", req.header("Contact").expect("Contact"));
    for (k, v) in extra {
        r.push_header(k, *v);
    }
    r
}

#[test]
fn udp_writes_the_local_address_in_via_contact_and_sdp() {
    let (mut ua, req) = register(config(Transport::Udp, Some(("192.0.2.7", 5062))));
    let via = req.header("Via").expect("Via");
    assert!(
        via.starts_with("SIP/2.0/UDP 192.0.2.7:5062;branch=z9hG4bK"),
        "{via}"
    );
    let contact = NameAddr::parse(req.header("Contact").expect("Contact")).expect("valid");
    assert_eq!(contact.uri.host, "192.0.2.7");
    assert_eq!(contact.uri.port, Some(5062));
    assert_eq!(contact.uri.param("transport"), None);
    assert_eq!(contact.uri.param("ob"), None);
    assert_eq!(contact.param("reg-id"), None);
    assert_eq!(contact.param("+sip.instance"), None);
    assert_eq!(req.header("Supported"), None);
    assert_eq!(ua.contact().to_string(), contact.uri.to_string());

    ua.connect(T0, "bob@example.com", None).expect("a call");
    let invite = drain(&mut ua).0.remove(0);
    let sdp = String::from_utf8(invite.body.clone()).expect("SDP text");
    assert!(sdp.contains(" IN IP4 192.0.2.7\r\n"), "{sdp}");
    assert!(sdp.contains("c=IN IP4 192.0.2.7\r\n"), "{sdp}");
    let contact = NameAddr::parse(invite.header("Contact").expect("Contact")).expect("valid");
    assert_eq!(contact.uri.to_string(), ua.contact().to_string());
}

#[test]
fn tls_and_ipv6_local_addresses() {
    let (mut ua, req) = register(config(Transport::Tls, Some(("2001:db8::7", 5061))));
    let via = req.header("Via").expect("Via");
    assert!(via.starts_with("SIP/2.0/TLS [2001:db8::7]:5061;"), "{via}");
    assert_eq!(
        ua.contact().to_string(),
        format!(
            "sip:{}@[2001:db8::7]:5061;transport=tls",
            ua.contact().user.as_deref().unwrap_or_default()
        )
    );
    ua.connect(T0, "bob@example.com", None).expect("a call");
    let invite = drain(&mut ua).0.remove(0);
    let sdp = String::from_utf8(invite.body.clone()).expect("SDP text");
    assert!(sdp.contains(" IN IP6 2001:db8::7\r\n"), "{sdp}");
    assert!(sdp.contains("c=IN IP6 2001:db8::7\r\n"), "{sdp}");
}

#[test]
fn without_a_local_address_the_invalid_host_stays() {
    let (ua, req) = register(config(Transport::Tcp, None));
    assert!(ua.contact().host.ends_with(".invalid"));
    assert!(req.header("Via").expect("Via").contains(".invalid;"));
}

#[test]
fn websocket_keeps_the_invalid_host_and_asks_for_outbound() {
    let (ua, req) = register(config(Transport::Ws, Some(("192.0.2.7", 5062))));
    let via = req.header("Via").expect("Via");
    assert!(via.starts_with("SIP/2.0/WS "), "{via}");
    assert!(via.contains(".invalid;branch"), "{via}");
    assert_eq!(req.header("Supported"), Some("path, outbound"));
    let contact = NameAddr::parse(req.header("Contact").expect("Contact")).expect("valid");
    assert!(contact.uri.host.ends_with(".invalid"));
    assert_eq!(contact.uri.param("transport"), Some(Some("ws")));
    assert_eq!(contact.uri.param("ob"), Some(None));
    assert_eq!(contact.param("reg-id"), Some(Some("1")));
    // RFC 5626 §4.1: `+sip.instance="<urn:uuid:...>"`, quoted once (Kamailio refuses more).
    let instance = format!("<{}>", ua.instance_id());
    assert_eq!(
        contact.param("+sip.instance"),
        Some(Some(instance.as_str()))
    );
    let wire = req.header("Contact").expect("Contact");
    assert!(
        wire.contains(&format!("+sip.instance=\"{instance}\"")),
        "{wire}"
    );
    assert!(!ua.outbound_in_use(), "not before the registrar said so");
}

#[test]
fn the_instance_id_is_a_stable_uuid_urn_and_can_be_configured() {
    let a = UserAgent::new(config(Transport::Ws, None), 7).expect("valid");
    let b = UserAgent::new(config(Transport::Ws, None), 7).expect("valid");
    let c = UserAgent::new(config(Transport::Ws, None), 8).expect("valid");
    assert_eq!(a.instance_id(), b.instance_id());
    assert_ne!(a.instance_id(), c.instance_id());
    let id = a.instance_id();
    let uuid = id.strip_prefix("urn:uuid:").expect("a URN");
    let groups: Vec<usize> = uuid.split('-').map(str::len).collect();
    assert_eq!(groups, [8, 4, 4, 4, 12]);
    assert_eq!(&uuid[14..15], "4", "version 4");
    assert!(
        matches!(&uuid[19..20], "8" | "9" | "a" | "b"),
        "RFC 4122 variant"
    );
    // The same seed draws the same tags with or without a configured instance id.
    let mut cfg = config(Transport::Ws, None);
    cfg.instance_id = Some("urn:uuid:00000000-0000-4000-8000-000000000001".into());
    let d = UserAgent::new(cfg, 7).expect("valid");
    assert_eq!(
        d.instance_id(),
        "urn:uuid:00000000-0000-4000-8000-000000000001"
    );
    assert_eq!(d.contact(), a.contact());
}

#[test]
fn outbound_is_in_use_when_the_registrar_requires_it() {
    let (mut ua, req) = register(config(Transport::Ws, None));
    ua.handle_input(T0, &ok(&req, &[("Require", "outbound")]).to_bytes());
    assert!(matches!(
        &drain(&mut ua).1[..],
        [Event::SIPAccountRegistrationDidSucceed { code: 200, .. }]
    ));
    assert!(ua.outbound_in_use());

    let (mut ua, req) = register(config(Transport::Wss, None));
    ua.handle_input(T0, &ok(&req, &[("Supported", "path, OUTBOUND")]).to_bytes());
    drain(&mut ua);
    assert!(
        ua.outbound_in_use(),
        "Supported is read too, case-insensitively"
    );

    let (mut ua, req) = register(config(Transport::Ws, None));
    ua.handle_input(T0, &ok(&req, &[("Supported", "path")]).to_bytes());
    drain(&mut ua);
    assert!(!ua.outbound_in_use());

    // Not over UDP, whatever the registrar says.
    let (mut ua, req) = register(config(Transport::Udp, Some(("192.0.2.7", 5060))));
    ua.handle_input(T0, &ok(&req, &[("Require", "outbound")]).to_bytes());
    drain(&mut ua);
    assert!(!ua.outbound_in_use());
}

/// Alice and Bob over WebSocket through an outbound registrar (or not); both register,
/// Alice calls Bob at 1 s, Bob answers after 1 s.
fn outbound_call(outbound: bool) -> Sim<Node> {
    let mut sim = world(
        NetConfig::default(),
        5,
        Transport::Ws,
        &["alice", "bob"],
        |p| p.outbound = outbound,
    );
    sim.node_mut(BOB).ua_mut().on_incoming = OnIncoming::Accept(Duration::from_secs(1));
    for n in [ALICE, BOB] {
        sim.node_mut(n).ua_mut().at(at_ms(0), Command::Register);
    }
    sim.node_mut(ALICE)
        .ua_mut()
        .at(at_ms(1_000), Command::Connect("bob@example.com".into()));
    sim
}

#[test]
fn an_outbound_flow_that_comes_back_keeps_the_call_and_re_registers_at_once() {
    let mut sim = outbound_call(true);
    let alice = sim.node_mut(ALICE).ua_mut();
    alice.at(at_ms(5_000), Command::TransportClosed);
    alice.at(at_ms(15_000), Command::TransportOpened);
    alice.at(at_ms(60_000), Command::End(1));
    sim.run_until(at_ms(100_000));
    let alice = sim.node(ALICE).ua();
    assert_eq!(
        alice.account_trace(),
        [
            "RegistrationDidSucceed(200 600)",
            "RegistrationDidFail(None Transport closed)",
            "RegistrationDidSucceed(200 600)",
        ]
    );
    let Some(Event::SIPAccountRegistrationDidFail { delay, .. }) =
        alice.account_events().get(1).copied()
    else {
        panic!("a failure second");
    };
    assert_eq!(*delay, 30.0, "the back-off, had the flow not come back");
    // The REGISTER went out as the flow reopened, not after the back-off.
    let registers: Vec<u64> = sim
        .net
        .sent_with("REGISTER")
        .iter()
        .filter(|r| r.from.host == "10.0.0.1")
        .map(|r| r.sent.as_millis())
        .collect();
    assert_eq!(registers, [0, 15_000]);
    assert!(alice.ua.outbound_in_use());
    // The dialog was checked once, as the flow came back, and Bob answered.
    let options: Vec<u64> = sim
        .net
        .sent_with("OPTIONS")
        .iter()
        .filter(|r| r.from.host == "10.0.0.1")
        .map(|r| r.sent.as_millis())
        .collect();
    assert_eq!(options, [15_000]);
    assert_eq!(
        alice.trace(1),
        [
            r#"NewOutgoing["audio"]"#,
            "NULL>CALLING",
            "Ringing",
            "WillStart",
            "CALLING>ESTABLISHED",
            "DidStart",
            "WillEnd",
            "ESTABLISHED>TERMINATING",
            "TERMINATING>TERMINATED",
            "DidEnd(local)"
        ]
    );
    assert_eq!(
        sim.node(BOB).ua().ua.session_state(1),
        Some(SessionState::Terminated)
    );
}

/// The flow comes back, but the dialog's route does not: the edge proxy its route set names
/// went away with the old flow (a gateway node that died; the new flow is on another one).
/// Alice's check of the dialog (an in-dialog OPTIONS once the flow is back) gets no answer,
/// and her session ends with a reason that says so instead of staying ESTABLISHED with no
/// one on the other side.
#[test]
fn a_recovered_flow_checks_the_dialog_and_ends_a_lost_call_with_a_reason() {
    let mut sim = outbound_call(true);
    // The route set leads nowhere: Alice's in-dialog requests are lost from the drop on.
    sim.net.set_filter(|t, p| {
        let lost = p.from.host == "10.0.0.1" && p.first_line().starts_with("OPTIONS");
        !(lost && t.as_millis() >= 5_000)
    });
    sim.node_mut(ALICE)
        .ua_mut()
        .at(at_ms(5_000), Command::TransportClosed);
    sim.node_mut(ALICE)
        .ua_mut()
        .at(at_ms(15_000), Command::TransportOpened);
    sim.run_until(at_ms(46_999));
    assert_eq!(
        sim.node(ALICE).ua().ua.session_state(1),
        Some(SessionState::Established),
        "kept while the check waits"
    );
    sim.run_until(at_ms(60_000));
    let options: Vec<u64> = sim
        .net
        .sent_with("OPTIONS")
        .iter()
        .filter(|r| r.from.host == "10.0.0.1")
        .map(|r| r.sent.as_millis())
        .collect();
    assert_eq!(options, [15_000], "one check, as the flow came back");
    let alice = sim.node(ALICE).ua();
    assert_eq!(alice.ua.session_state(1), Some(SessionState::Terminated));
    let failed = alice.events.iter().find_map(|(t, n)| match &n.event {
        Event::SIPSessionDidFail { code, reason, .. } => {
            Some((t.as_millis(), *code, reason.clone()))
        }
        _ => None,
    });
    let (at, code, reason) = failed.expect("the session failed");
    assert_eq!((at, code), (47_000, 408), "Timer F after the check");
    assert!(
        reason.starts_with("The call was lost with the connection to the server (408"),
        "{reason}"
    );
    // Bob is told: Alice's BYE reaches him (on the flow that works).
    assert_eq!(
        sim.node(BOB).ua().ua.session_state(1),
        Some(SessionState::Terminated)
    );
}

/// The answers to the dialog check after a flow came back: Bob's 481 (he lost the dialog)
/// and a proxy's 430 Flow Failed end the session with the reason; a 200, or a 405 from a
/// peer without OPTIONS, leaves it going.
#[test]
fn the_dialog_check_ends_the_session_only_when_the_dialog_is_gone() {
    for (code, ends) in [(481, true), (430, true), (200, false), (405, false)] {
        let (mut ua, req) = register(config(Transport::Ws, None));
        ua.handle_input(T0, &ok(&req, &[("Require", "outbound")]).to_bytes());
        drain(&mut ua);
        let id = ua.connect(T0, "bob@example.com", None).expect("a call");
        let invite = drain(&mut ua).0.remove(0);
        let mut answer = Message::response_to(&invite, 200, "OK");
        answer.set_header("To", format!("{};tag=b1", invite.header("To").expect("To")));
        answer.push_header("Contact", "<sip:b1@192.0.2.2;transport=ws>");
        answer.set_body(
            "application/sdp",
            b"v=0\r\no=bob 1 1 IN IP4 192.0.2.2\r\ns=-\r\nc=IN IP4 192.0.2.2\r\nt=0 0\r\nm=audio 4000 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n".to_vec(),
        );
        ua.handle_input(T0, &answer.to_bytes());
        drain(&mut ua);
        assert_eq!(ua.session_state(id), Some(SessionState::Established));

        ua.handle_transport_closed(T0);
        drain(&mut ua);
        ua.handle_transport_opened(T0);
        let (sent, _) = drain(&mut ua);
        let options = sent
            .iter()
            .find(|m| m.method() == Some("OPTIONS"))
            .expect("the dialog is checked");
        assert_eq!(options.header("Call-ID"), invite.header("Call-ID"));
        assert!(options.header("To").is_some_and(|t| t.contains("tag=b1")));

        let reply = Message::response_to(options, code, "Scripted");
        ua.handle_input(T0, &reply.to_bytes());
        let (sent, events) = drain(&mut ua);
        let failed = events.iter().find_map(|e| match e {
            Event::SIPSessionDidFail { code, reason, .. } => Some((*code, reason.clone())),
            _ => None,
        });
        if ends {
            let (c, reason) = failed.expect("the session failed");
            assert_eq!(c, code);
            assert_eq!(
                reason,
                format!("The call was lost with the connection to the server ({code} Scripted)")
            );
            // 481: the dialog is gone at the peer, no BYE; 430: BYE (RFC 5057 §5.1).
            let bye = sent.iter().any(|m| m.method() == Some("BYE"));
            assert_eq!(bye, code == 430, "{code}");
        } else {
            assert_eq!(failed, None, "{code}");
            assert_eq!(ua.session_state(id), Some(SessionState::Established));
        }
    }
}

#[test]
fn an_outbound_flow_that_stays_down_ends_the_call_after_32_s() {
    let mut sim = outbound_call(true);
    sim.node_mut(ALICE)
        .ua_mut()
        .at(at_ms(5_000), Command::TransportClosed);
    sim.run_until(at_ms(36_999));
    assert_eq!(
        sim.node(ALICE).ua().ua.session_state(1),
        Some(SessionState::Established)
    );
    sim.run_until(at_ms(37_001));
    let alice = sim.node(ALICE).ua();
    assert_eq!(alice.ua.session_state(1), Some(SessionState::Terminated));
    assert_eq!(alice.trace(1), ESTABLISHED_THEN_CLOSED);
    let failed_at = alice
        .events
        .iter()
        .find(|(_, n)| matches!(n.event, Event::SIPSessionDidFail { .. }))
        .map(|(t, _)| t.as_millis());
    assert_eq!(failed_at, Some(37_000), "32 s after the drop");
    // The back-off's REGISTER (at 35 s) went out on the flow the simulator still carries;
    // the sessions wait for `handle_transport_opened` all the same.
    assert_eq!(
        alice.account_trace(),
        [
            "RegistrationDidSucceed(200 600)",
            "RegistrationDidFail(None Transport closed)",
            "RegistrationDidSucceed(200 600)",
        ]
    );
}

#[test]
fn without_outbound_a_closed_flow_ends_the_call_at_once() {
    let mut sim = outbound_call(false);
    sim.node_mut(ALICE)
        .ua_mut()
        .at(at_ms(5_000), Command::TransportClosed);
    sim.run_until(at_ms(5_001));
    let alice = sim.node(ALICE).ua();
    assert!(!alice.ua.outbound_in_use());
    assert_eq!(alice.ua.session_state(1), Some(SessionState::Terminated));
    // The registration is not told: nothing was pending, and without outbound the
    // binding does not depend on the flow.
    assert_eq!(alice.account_trace(), ["RegistrationDidSucceed(200 600)"]);
    assert_eq!(alice.trace(1), ESTABLISHED_THEN_CLOSED);
}

/// An established call that the closed flow ends.
const ESTABLISHED_THEN_CLOSED: [&str; 9] = [
    r#"NewOutgoing["audio"]"#,
    "NULL>CALLING",
    "Ringing",
    "WillStart",
    "CALLING>ESTABLISHED",
    "DidStart",
    "DidFail(local 0 Transport closed)",
    "ESTABLISHED>TERMINATED",
    "DidEnd(local)",
];

/// One user agent over UDP with `routes`, its flow going to the first, and the proxy.
fn failover(routes: &[&str]) -> Sim<Node> {
    let mut sim = Sim::new(Time::from_millis(0), Network::new(NetConfig::default(), 9));
    let mut p = Proxy::new(PROXY, 5060, DOMAIN);
    p.users.insert("alice".into(), "secret".into());
    sim.add(PROXY, 5060, Node::Proxy(Box::new(p)));
    let mut cfg = AccountConfig::new("alice@example.com", "secret");
    cfg.transport = Transport::Udp;
    cfg.local_addr = Some(("10.0.0.1".into(), 5060));
    cfg.routes = routes
        .iter()
        .map(|h| Route::new(*h, RouteTransport::Udp))
        .collect();
    let first = Dest::new(Transport::Udp.kind(), routes[0], 5060);
    let mut node = UaNode::with_config(cfg, first, 11);
    node.at(at_ms(0), Command::Register);
    sim.add("10.0.0.1", 5060, Node::Ua(Box::new(node)));
    sim
}

#[test]
fn a_register_without_response_fails_over_to_the_next_route() {
    let mut sim = failover(&["10.0.0.99", PROXY]);
    sim.run_until(at_ms(100_000));
    let alice = sim.node(1).ua();
    assert_eq!(
        alice.account_trace(),
        [
            "RegistrationDidFail(None Request Timeout next=10.0.0.100 delay=1)",
            "RegistrationDidSucceed(200 600)",
        ]
    );
    // Timer F (64·T1) on the dead route, then straight to the next one.
    assert_eq!(alice.switches, [(at_ms(32_000), 1)]);
    assert_eq!(alice.ua.route_index(), 1);
    assert_eq!(
        alice.ua.current_route().map(|r| r.host.as_str()),
        Some(PROXY)
    );
    let answered: Vec<(u64, u16)> = sim
        .node(0)
        .proxy()
        .answered
        .iter()
        .map(|(t, c, _)| (t.as_millis(), *c))
        .collect();
    assert_eq!(answered, [(32_010, 401), (32_030, 200)]);
}

/// The seed's `Session.route`: the outbound proxy in use when `connect` was called, here
/// the second route after the first failed.
#[test]
fn a_session_keeps_the_route_it_was_placed_on() {
    let mut sim = failover(&["10.0.0.99", PROXY]);
    sim.run_until(at_ms(40_000));
    let ua = &mut sim.node_mut(1).ua_mut().ua;
    let id = ua
        .connect(at_ms(40_000), "bob@example.com", None)
        .expect("connects");
    let route = ua.session(id).and_then(|s| s.route()).cloned();
    assert_eq!(route.map(|r| r.host), Some(PROXY.to_string()));
}

#[test]
fn after_a_whole_round_of_dead_routes_the_back_off_applies() {
    let mut sim = failover(&["10.0.0.98", "10.0.0.99"]);
    sim.run_until(at_ms(200_000));
    let alice = sim.node(1).ua();
    assert_eq!(
        alice.account_trace(),
        [
            "RegistrationDidFail(None Request Timeout next=10.0.0.99 delay=1)",
            "RegistrationDidFail(None Request Timeout next=10.0.0.98 delay=60)",
            "RegistrationDidFail(None Request Timeout next=10.0.0.99 delay=120)",
        ]
    );
    assert_eq!(
        alice.switches,
        [(at_ms(32_000), 1), (at_ms(64_000), 0), (at_ms(156_000), 1)]
    );
    // The second route at once, then the first again after the 60 s back-off (Timer E's
    // retransmissions, at odd half seconds, left out).
    let registers: Vec<(u64, String)> = sim
        .net
        .sent_with("REGISTER")
        .iter()
        .map(|r| (r.sent.as_millis(), r.to.host.clone()))
        .filter(|(t, _)| t % 1000 == 0)
        .collect();
    let expected = [
        (0, "10.0.0.98"),
        (32_000, "10.0.0.99"),
        (124_000, "10.0.0.98"),
    ];
    assert_eq!(
        registers,
        expected.map(|(t, h)| (t, h.to_string())),
        "{registers:?}"
    );
}
