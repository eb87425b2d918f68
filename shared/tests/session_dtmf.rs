//! DTMF by SIP INFO (RFC 6086 legacy usage, `application/dtmf-relay`) between simulated user
//! agents and against a scripted peer: digits in order, one INFO at a time per dialog, under
//! seeded loss; the refusals of `send_dtmf`; incoming INFOs (DTMF, empty, unknown bodies);
//! the failures that end the session (RFC 5057 §5.1); and DTMF the gateway relays by MESSAGE
//! with `Target-Dialog` (RFC 4538).

mod sim;

use sim::ua::{after_start, at, at_ms, world, Command, Node, OnIncoming};
use sim::{Fate, NetConfig, Sim};
use sipsimple::sip::{Message, NameAddr};
use sipsimple::ua::Transport;
use sipsimple::{AccountConfig, Error, Event, Originator, Output, Sender, Time, UserAgent};
use std::time::Duration;

const ALICE: usize = 1;
const BOB: usize = 2;

/// alice calls bob over `transport`, who answers after 1 s: established at about 1.06 s.
fn established(seed: u64, net: NetConfig, transport: Transport) -> Sim<Node> {
    let mut sim = world(net, seed, transport, &["alice", "bob"], |p| {
        p.record_route = true;
    });
    sim.node_mut(BOB).ua_mut().on_incoming = OnIncoming::Accept(Duration::from_secs(1));
    at(
        &mut sim,
        ALICE,
        0,
        Command::Connect("bob@example.com".into()),
    );
    sim
}

fn dtmf_trace(sim: &Sim<Node>, node: usize) -> Vec<String> {
    after_start(sim, node)
        .into_iter()
        .filter(|e| e.starts_with("DTMF"))
        .collect()
}

/// The CSeq number of a logged message.
fn cseq(bytes: &[u8]) -> u32 {
    let m = Message::parse(bytes).expect("valid SIP");
    let cseq = m.header("CSeq").expect("CSeq");
    cseq.split_whitespace()
        .next()
        .and_then(|n| n.parse().ok())
        .expect("a CSeq number")
}

/// Checks that alice's INFOs went one at a time: each CSeq's first INFO left alice after
/// the final response to the previous one reached her. Returns the CSeqs in order.
fn one_info_at_a_time(sim: &Sim<Node>) -> Vec<u32> {
    let mut firsts: Vec<(u32, Time)> = Vec::new();
    for r in sim.net.sent_with("INFO ") {
        if r.from.host != "10.0.0.1" {
            continue;
        }
        let n = cseq(&r.bytes);
        if !firsts.iter().any(|(c, _)| *c == n) {
            firsts.push((n, r.sent));
        }
    }
    for pair in firsts.windows(2) {
        let (prev, next) = (pair[0].0, pair[1]);
        let answered = sim
            .net
            .log
            .iter()
            .filter(|r| r.to.host == "10.0.0.1" && r.first_line.starts_with("SIP/2.0 2"))
            .filter(|r| {
                let m = Message::parse(&r.bytes).expect("valid");
                m.header("CSeq") == Some(format!("{prev} INFO").as_str())
            })
            .filter_map(|r| match r.fate {
                Fate::Delivered(t) => Some(t),
                _ => None,
            })
            .min()
            .expect("the previous INFO was answered");
        assert!(
            next.1 >= answered,
            "INFO {} left at {:?}, before the 2xx to INFO {prev} arrived at {answered:?}",
            next.0,
            next.1
        );
    }
    firsts.into_iter().map(|(c, _)| c).collect()
}

#[test]
fn digits_arrive_in_order_one_info_at_a_time() {
    let mut sim = established(1, NetConfig::default(), Transport::Ws);
    for digit in ['1', '2', '3'] {
        at(&mut sim, ALICE, 5_000, Command::SendDtmf(1, digit));
    }
    at(&mut sim, BOB, 6_000, Command::SendDtmf(1, 'a'));
    at(&mut sim, ALICE, 9_000, Command::End(1));
    sim.run_to_quiet(Duration::from_secs(120));
    assert_eq!(dtmf_trace(&sim, BOB), ["DTMF(1)", "DTMF(2)", "DTMF(3)"]);
    assert_eq!(dtmf_trace(&sim, ALICE), ["DTMF(A)"]);
    let cseqs = one_info_at_a_time(&sim);
    assert_eq!(cseqs.len(), 3);
    // The INFOs are the widely used SIP INFO DTMF format, through the Record-Route.
    let info = sim
        .net
        .sent_with("INFO ")
        .into_iter()
        .find(|r| r.from.host == "10.0.0.1")
        .map(|r| Message::parse(&r.bytes).expect("valid"))
        .expect("an INFO");
    assert_eq!(info.header("Content-Type"), Some("application/dtmf-relay"));
    assert_eq!(info.body, b"Signal=1\r\nDuration=160\r\n");
    assert_eq!(info.header("Route"), Some("<sip:10.0.0.100:5060;lr>"));
    assert!(sim.node(BOB).ua().refused.is_empty());
}

#[test]
fn digits_survive_loss_jitter_and_duplication_in_order() {
    for seed in 1..=25 {
        let mut sim = established(seed, NetConfig::default(), Transport::Udp);
        sim.run_until(at_ms(4_000));
        assert_eq!(
            sim.node(ALICE).ua().ua.session_state(1),
            Some(sipsimple::SessionState::Established),
            "seed {seed}"
        );
        // A bad network once the call is up (two hops of 15 % loss each way: about half the
        // INFO transmissions get their answer back).
        *sim.net.config_mut() = NetConfig {
            loss: 0.15,
            jitter: Duration::from_millis(80),
            duplicate: 0.1,
            ..NetConfig::default()
        };
        for digit in ['7', '#', '0'] {
            at(&mut sim, ALICE, 5_000, Command::SendDtmf(1, digit));
        }
        at(&mut sim, ALICE, 5_500, Command::SendDtmf(1, '*'));
        sim.run_until(at_ms(60_000));
        *sim.net.config_mut() = NetConfig::default();
        at(&mut sim, ALICE, 61_000, Command::End(1));
        sim.run_to_quiet(Duration::from_secs(300));
        assert_eq!(
            dtmf_trace(&sim, BOB),
            ["DTMF(7)", "DTMF(#)", "DTMF(0)", "DTMF(*)"],
            "seed {seed}"
        );
        assert_eq!(one_info_at_a_time(&sim).len(), 4, "seed {seed}");
        assert_eq!(
            after_start(&sim, BOB).last().map(String::as_str),
            Some("DidEnd(remote)"),
            "seed {seed}"
        );
    }
}

#[test]
fn send_dtmf_is_refused_outside_established_audio_sessions() {
    let mut sim = world(
        NetConfig::default(),
        3,
        Transport::Ws,
        &["alice", "bob"],
        |_| {},
    );
    sim.node_mut(BOB).ua_mut().on_incoming = OnIncoming::Accept(Duration::from_secs(1));
    // A chat-only call: no audio to send digits on.
    at(
        &mut sim,
        ALICE,
        0,
        Command::ConnectStreams("bob@example.com".into(), false, true),
    );
    at(&mut sim, ALICE, 500, Command::SendDtmf(1, '1')); // CALLING
    at(&mut sim, ALICE, 5_000, Command::SendDtmf(1, '1')); // no audio
    at(&mut sim, ALICE, 5_000, Command::SendDtmf(1, 'E')); // not a digit
    at(&mut sim, ALICE, 5_000, Command::SendDtmf(7, '1')); // no such session
    at(&mut sim, ALICE, 6_000, Command::End(1));
    at(&mut sim, ALICE, 8_000, Command::SendDtmf(1, '1')); // TERMINATED
    sim.run_to_quiet(Duration::from_secs(60));
    let refused: Vec<(u64, Error)> = sim
        .node(ALICE)
        .ua()
        .refused
        .iter()
        .map(|(t, _, e)| (t.as_millis(), e.clone()))
        .collect();
    assert_eq!(
        refused,
        [
            (500, Error::InvalidState("CALLING")),
            (5_000, Error::NoSuchStream("audio".into())),
            (5_000, Error::InvalidDtmfDigit('E')),
            (5_000, Error::NoSuchSession(7)),
            (8_000, Error::InvalidState("TERMINATED")),
        ]
    );
    assert!(sim.net.sent_with("INFO ").is_empty());
}

/// A MESSAGE from the gateway relaying `body` of `content_type` to `Target-Dialog: target`.
fn relayed(n: u32, target: Option<&str>, content_type: &str, body: &str) -> Message {
    let uri = sipsimple::sip::Uri::parse("sip:bob@example.com").expect("valid");
    let mut m = Message::request("MESSAGE", uri);
    m.push_header(
        "Via",
        format!("SIP/2.0/WS 10.0.0.100:5060;branch=z9hG4bKrelay{n}"),
    );
    m.push_header("Max-Forwards", "70");
    m.push_header("From", "<sip:gateway@example.com>;tag=gw");
    m.push_header("To", "<sip:bob@example.com>");
    m.push_header("Call-ID", format!("relay-{n}"));
    m.push_header("CSeq", format!("{n} MESSAGE"));
    if let Some(t) = target {
        m.push_header("Target-Dialog", t);
    }
    m.set_body(content_type, body.as_bytes().to_vec());
    m
}

#[test]
fn target_dialog_message_delivers_relayed_dtmf() {
    let mut sim = established(4, NetConfig::default(), Transport::Ws);
    sim.run_until(at_ms(3_000));
    let (call_id, bob_tag, alice_tag) = {
        let s = sim.node(BOB).ua().ua.session(1).expect("bob's session");
        (
            s.call_id().to_string(),
            s.local_tag().to_string(),
            s.remote_tag().expect("alice's tag").to_string(),
        )
    };
    let ours = format!("{call_id};local-tag={bob_tag};remote-tag={alice_tag}");
    let swapped = format!("{call_id};remote-tag={bob_tag};local-tag={alice_tag}");
    let other_call = format!("nope;local-tag={bob_tag};remote-tag={alice_tag}");
    let messages = [
        relayed(1, Some(&ours), "application/dtmf-relay", "Signal= 5\r\n"),
        relayed(2, Some(&swapped), "application/dtmf-relay", "Signal=6\r\n"),
        relayed(
            3,
            Some(&other_call),
            "application/dtmf-relay",
            "Signal=6\r\n",
        ),
        relayed(4, Some(&ours), "application/dtmf", "d"),
        relayed(5, Some(&ours), "text/plain", "hello"),
        relayed(6, Some(&ours), "application/dtmf-relay", "Signal=Z"),
        relayed(7, None, "text/plain", "pager mode"),
        relayed(8, Some("no-tags"), "application/dtmf", "1"),
    ];
    for m in messages {
        assert!(sim.node_mut(0).proxy_mut().send_to_user("bob", m));
        sim.run_until(sim.now + Duration::from_millis(100));
    }
    let answers: Vec<(u32, String, Option<String>)> = sim
        .net
        .log
        .iter()
        .filter(|r| r.from.host == "10.0.0.2" && r.first_line.starts_with("SIP/2.0"))
        .map(|r| Message::parse(&r.bytes).expect("valid"))
        .filter(|m| m.header("CSeq").is_some_and(|c| c.ends_with("MESSAGE")))
        .map(|m| {
            (
                cseq(&m.to_bytes()),
                m.code().expect("a response").to_string(),
                m.header("Accept").map(str::to_string),
            )
        })
        .collect();
    let accept = Some("application/dtmf-relay, application/dtmf".to_string());
    assert_eq!(
        answers,
        [
            (1, "200".into(), None),
            (2, "481".into(), None),
            (3, "481".into(), None),
            (4, "200".into(), None),
            (5, "415".into(), accept),
            (6, "400".into(), None),
            (7, "405".into(), None),
            (8, "400".into(), None),
        ]
    );
    assert_eq!(dtmf_trace(&sim, BOB), ["DTMF(5)", "DTMF(D)"]);
    assert!(dtmf_trace(&sim, ALICE).is_empty());
    // Once the call is over, its dialog is gone.
    at(&mut sim, ALICE, 5_000, Command::End(1));
    sim.run_until(at_ms(6_000));
    let late = relayed(9, Some(&ours), "application/dtmf-relay", "Signal=1");
    assert!(sim.node_mut(0).proxy_mut().send_to_user("bob", late));
    sim.run_to_quiet(Duration::from_secs(60));
    assert_eq!(sim.net.sent_with("SIP/2.0 481").len(), 3);
    assert_eq!(dtmf_trace(&sim, BOB), ["DTMF(5)", "DTMF(D)"]);
}

#[test]
fn the_relay_reports_no_audio_by_target_dialog_message() {
    let mut sim = established(5, NetConfig::default(), Transport::Ws);
    sim.run_until(at_ms(3_000));
    let (call_id, bob_tag, alice_tag) = {
        let s = sim.node(BOB).ua().ua.session(1).expect("bob's session");
        (
            s.call_id().to_string(),
            s.local_tag().to_string(),
            s.remote_tag().expect("alice's tag").to_string(),
        )
    };
    let ours = format!("{call_id};local-tag={bob_tag};remote-tag={alice_tag}");
    let media = sipsimple::ua::MEDIA_EVENT;
    for m in [
        relayed(1, Some(&ours), media, r#"{"event":"something-else"}"#),
        relayed(2, Some(&ours), media, r#"{"event":"no-audio"}"#),
    ] {
        assert!(sim.node_mut(0).proxy_mut().send_to_user("bob", m));
        sim.run_until(sim.now + Duration::from_millis(100));
    }
    let names: Vec<&str> = sim
        .node(BOB)
        .ua()
        .names(1)
        .into_iter()
        .filter(|n| *n == "SIPSessionGotNoAudio")
        .collect();
    assert_eq!(names, ["SIPSessionGotNoAudio"]);
    assert!(sim
        .node(ALICE)
        .ua()
        .names(1)
        .iter()
        .all(|n| *n != "SIPSessionGotNoAudio"));
    // The shell's media saying it too (BrowserMedia's own check) adds nothing: once per
    // session. On alice's side, which no relay told, it is the one report.
    let now = sim.now;
    at(&mut sim, BOB, now.as_millis(), Command::ReportNoAudio(1));
    at(&mut sim, ALICE, now.as_millis(), Command::ReportNoAudio(1));
    sim.run_until(now + Duration::from_millis(100));
    let count = |node: usize| {
        sim.node(node)
            .ua()
            .names(1)
            .into_iter()
            .filter(|n| *n == "SIPSessionGotNoAudio")
            .count()
    };
    assert_eq!((count(BOB), count(ALICE)), (1, 1));
    // Not for an unknown session.
    assert!(sim
        .node_mut(ALICE)
        .ua_mut()
        .ua
        .report_no_audio(now, 99)
        .is_err());
}

// --- against a scripted peer ---

const T0: Time = Time::from_millis(1_000);

const PEER_SDP: &str = "v=0\r\no=bob 1 1 IN IP4 192.0.2.2\r\ns=-\r\nc=IN IP4 192.0.2.2\r\nt=0 0\r\nm=audio 4000 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n";

fn drain(ua: &mut UserAgent) -> (Vec<Message>, Vec<Event>) {
    let (mut sent, mut events) = (Vec::new(), Vec::new());
    while let Some(o) = ua.poll_output() {
        match o {
            Output::Transmit(b) => sent.push(Message::parse(&b).expect("valid SIP")),
            Output::Notification(n) if matches!(n.sender, Sender::Stream { .. }) => {}
            Output::Notification(n) => events.push(n.event),
        }
    }
    (sent, events)
}

/// The scripted peer's response to `req`, To tag `b1`.
fn answer(req: &Message, code: u16, sdp: Option<&str>) -> Message {
    let mut r = Message::response_to(req, code, "Scripted");
    let mut to = NameAddr::parse(req.header("To").expect("To")).expect("valid To");
    if to.tag().is_none() {
        to.set_param("tag", Some("b1"));
    }
    r.set_header("To", to.to_string());
    if req.method() == Some("INVITE") {
        r.push_header("Contact", "<sip:b1@192.0.2.2>");
    }
    if let Some(sdp) = sdp {
        r.set_body("application/sdp", sdp.as_bytes().to_vec());
    }
    r
}

/// alice calls bob, who answers at once: the session id and the INVITE.
fn scripted_call() -> (UserAgent, u64, Message) {
    let mut ua =
        UserAgent::new(AccountConfig::new("alice@example.com", "secret"), 11).expect("valid");
    let id = ua.connect(T0, "bob@example.com", None).expect("valid");
    let invite = drain(&mut ua).0.remove(0);
    ua.handle_input(T0, &answer(&invite, 200, Some(PEER_SDP)).to_bytes());
    drain(&mut ua);
    (ua, id, invite)
}

/// An INFO from the peer in the dialog of `invite`, CSeq `cseq`.
fn info_from_peer(invite: &Message, cseq: u32, body: Option<(&str, &str)>) -> Message {
    let target = NameAddr::parse(invite.header("Contact").expect("Contact"))
        .expect("valid")
        .uri;
    let mut m = Message::request("INFO", target);
    m.push_header(
        "Via",
        format!("SIP/2.0/WS 192.0.2.2;branch=z9hG4bKinfo{cseq}"),
    );
    m.push_header("From", "<sip:bob@example.com>;tag=b1");
    m.push_header("To", invite.header("From").expect("From"));
    m.push_header("Call-ID", invite.header("Call-ID").expect("Call-ID"));
    m.push_header("CSeq", format!("{cseq} INFO"));
    if let Some((ct, b)) = body {
        m.set_body(ct, b.as_bytes().to_vec());
    }
    m
}

/// An INFO's body (Content-Type, text), the status it gets and the digit it brings.
type InfoCase = (
    Option<(&'static str, &'static str)>,
    u16,
    Option<&'static str>,
);

#[test]
fn incoming_infos_are_answered_by_what_they_carry() {
    let (mut ua, _, invite) = scripted_call();
    let cases: [InfoCase; 6] = [
        (
            Some(("application/dtmf-relay", "signal = 9\r\nduration=250\r\n")),
            200,
            Some("9"),
        ),
        (Some(("Application/DTMF", "#")), 200, Some("#")),
        (None, 200, None),
        (Some(("text/plain", "hello")), 415, None),
        (
            Some((sipsimple::ua::RECORDING, r#"{"action":"start"}"#)),
            415,
            None,
        ),
        (Some(("application/dtmf-relay", "Duration=1")), 400, None),
    ];
    for (i, (body, code, digit)) in cases.into_iter().enumerate() {
        let info = info_from_peer(&invite, 10 + i as u32, body);
        ua.handle_input(T0, &info.to_bytes());
        let (sent, events) = drain(&mut ua);
        assert_eq!(sent.len(), 1, "case {i}");
        assert_eq!(sent[0].code(), Some(code), "case {i}");
        if code == 415 {
            assert_eq!(
                sent[0].header("Accept"),
                Some("application/dtmf-relay, application/dtmf")
            );
        }
        let got: Vec<Event> = digit
            .map(|d| Event::SIPSessionGotDTMF {
                digit: d.to_string(),
            })
            .into_iter()
            .collect();
        assert_eq!(events, got, "case {i}");
    }
}

#[test]
fn audio_attributes_come_from_the_sdp_in_effect() {
    let (ua, id, _) = scripted_call();
    let s = ua.session(id).expect("the session");
    assert_eq!(s.audio_codec().as_deref(), Some("PCMU"));
    assert_eq!(s.audio_sample_rate(), Some(8000));
    assert_eq!(s.audio_remote_rtp(), Some(("192.0.2.2".to_string(), 4000)));
    let (local_host, local_port) = s.audio_local_rtp().expect("our audio address");
    assert!(
        !local_host.is_empty() && local_port > 0,
        "{local_host}:{local_port}"
    );
    assert!(!s.audio_srtp_active(), "plain RTP/AVP on the peer's side");
}

#[test]
fn queued_digits_wait_for_each_final_response() {
    let (mut ua, id, _) = scripted_call();
    for d in ['1', 'b', '#'] {
        ua.send_dtmf(T0, id, d).expect("established with audio");
    }
    let sent = drain(&mut ua).0;
    assert_eq!(sent.len(), 1, "one INFO at a time");
    assert_eq!(sent[0].body, b"Signal=1\r\nDuration=160\r\n");
    // A provisional response does not free the dialog; a final one does.
    ua.handle_input(T0, &answer(&sent[0], 100, None).to_bytes());
    assert!(drain(&mut ua).0.is_empty());
    // A failure other than 481/408 only loses the digit.
    ua.handle_input(T0, &answer(&sent[0], 500, None).to_bytes());
    let (sent, events) = drain(&mut ua);
    assert!(events.is_empty(), "{events:?}");
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].body, b"Signal=B\r\nDuration=160\r\n");
    ua.handle_input(T0, &answer(&sent[0], 200, None).to_bytes());
    let sent = drain(&mut ua).0;
    assert_eq!(sent[0].body, b"Signal=#\r\nDuration=160\r\n");
    ua.handle_input(T0, &answer(&sent[0], 200, None).to_bytes());
    assert!(drain(&mut ua).0.is_empty());
    assert!(ua.session(id).is_some_and(|s| !s.on_hold()));
}

#[test]
fn info_481_ends_the_session() {
    let (mut ua, id, _) = scripted_call();
    ua.send_dtmf(T0, id, '4').expect("established");
    ua.send_dtmf(T0, id, '5').expect("queued");
    let info = drain(&mut ua).0.remove(0);
    ua.handle_input(T0, &answer(&info, 481, None).to_bytes());
    let (sent, events) = drain(&mut ua);
    assert!(
        sent.is_empty(),
        "no BYE to a dialog that is gone, no queued INFO"
    );
    assert_eq!(
        events,
        [
            Event::SIPSessionDidFail {
                originator: Originator::Remote,
                code: 481,
                reason: "Scripted".into()
            },
            Event::SIPSessionChangedState {
                prev_state: sipsimple::SessionState::Established,
                state: sipsimple::SessionState::Terminated
            },
            Event::SIPSessionDidEnd {
                originator: Originator::Remote
            },
        ]
    );
}

#[test]
fn info_408_and_timeout_end_the_session_with_a_bye() {
    let (mut ua, id, _) = scripted_call();
    ua.send_dtmf(T0, id, '4').expect("established");
    let info = drain(&mut ua).0.remove(0);
    ua.handle_input(T0, &answer(&info, 408, None).to_bytes());
    let (sent, events) = drain(&mut ua);
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].method(), Some("BYE"));
    assert_eq!(
        events.first(),
        Some(&Event::SIPSessionDidFail {
            originator: Originator::Remote,
            code: 408,
            reason: "Scripted".into()
        })
    );

    // No answer at all: Timer F (64·T1) and the session ends (RFC 3261 §12.2.1.2).
    let (mut ua, id, _) = scripted_call();
    ua.send_dtmf(T0, id, '4').expect("established");
    drain(&mut ua);
    let mut now = T0;
    while let Some(t) = ua.poll_timeout() {
        if t > T0 + Duration::from_secs(40) {
            break;
        }
        now = t;
        ua.handle_timeout(now);
        let (sent, events) = drain(&mut ua);
        if !events.is_empty() {
            assert_eq!(sent.len(), 1);
            assert_eq!(sent[0].method(), Some("BYE"));
            assert_eq!(
                events[0],
                Event::SIPSessionDidFail {
                    originator: Originator::Local,
                    code: 408,
                    reason: "Request Timeout".into()
                }
            );
            break;
        }
    }
    assert!(now >= T0 + sipsimple::ua::TRANSACTION_TIMEOUT);
    assert_eq!(
        ua.session_state(id),
        Some(sipsimple::SessionState::Terminated)
    );
}

#[test]
fn a_browser_call_with_webrtc_sdp_has_audio_for_dtmf() {
    const WEBRTC: &str = "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\na=group:BUNDLE 0\r\na=fingerprint:sha-256 AB:CD\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111 126\r\nc=IN IP4 0.0.0.0\r\na=mid:0\r\na=rtpmap:111 opus/48000/2\r\na=rtpmap:126 telephone-event/8000\r\na=sendrecv\r\na=rtcp-mux\r\n";
    let mut ua =
        UserAgent::new(AccountConfig::new("alice@example.com", "secret"), 12).expect("valid");
    let id = ua
        .connect(T0, "bob@example.com", Some(WEBRTC))
        .expect("valid");
    let invite = drain(&mut ua).0.remove(0);
    ua.handle_input(T0, &answer(&invite, 200, Some(WEBRTC)).to_bytes());
    drain(&mut ua);
    assert!(ua.session(id).is_some_and(|s| s.has_audio()));
    let s = ua.session(id).expect("the session");
    assert!(s.audio_srtp_active(), "DTLS-SRTP on both sides");
    assert_eq!(s.audio_codec().as_deref(), Some("opus"));
    assert_eq!(s.audio_sample_rate(), Some(48000));
    ua.send_dtmf(T0, id, '9').expect("audio in effect");
    let info = drain(&mut ua).0.remove(0);
    assert_eq!(info.method(), Some("INFO"));
    assert_eq!(info.header("CSeq"), Some("2 INFO"));
}

#[test]
fn a_dropped_flow_drops_the_waiting_digits() {
    let (mut ua, id, _) = scripted_call();
    for d in ['1', '2', '3'] {
        ua.send_dtmf(T0, id, d).expect("established");
    }
    assert_eq!(drain(&mut ua).0.len(), 1);
    // The INFO on its way fails with the flow, and the waiting digits are not sent on it
    // (without RFC 5626 outbound the call also ends).
    ua.handle_transport_closed(T0);
    let (sent, events) = drain(&mut ua);
    assert!(sent.is_empty(), "{sent:?}");
    assert_eq!(
        events.first(),
        Some(&Event::SIPSessionDidFail {
            originator: Originator::Local,
            code: 0,
            reason: "Transport closed".into()
        })
    );
}
