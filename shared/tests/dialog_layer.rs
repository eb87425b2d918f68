//! The dialog layer on hand-written messages (RFC 3261 §12, §13.2.2.4, §13.3.1.4, §14.2):
//! creation on both sides, early and confirmed states, route sets (loose and strict),
//! CSeq handling, target refresh, request validation, forks and the 2xx retransmitter.

use sipsimple::dialog::uac::{hang_up, ForkOutcome, ForkSet, MAX_FORKS};
use sipsimple::dialog::uas::{dialog_response, Retransmit, Retransmitter};
use sipsimple::dialog::{Dialog, DialogError, DialogId, DialogState, Rejection, Role};
use sipsimple::sip::{Message, Uri};
use sipsimple::transaction::Config;
use sipsimple::Time;

fn invite() -> Message {
    Message::parse(
        b"INVITE sip:bob@b.example SIP/2.0\r\n\
          Via: SIP/2.0/UDP a.example;branch=z9hG4bKinv\r\n\
          Record-Route: <sip:p2.example;lr>\r\n\
          Record-Route: <sip:p1.example;lr>\r\n\
          Max-Forwards: 70\r\n\
          From: \"Alice\" <sip:alice@a.example>;tag=a1\r\n\
          To: <sip:bob@b.example>\r\n\
          Call-ID: c1@a.example\r\n\
          CSeq: 7 INVITE\r\n\
          Contact: <sip:alice@192.0.2.1>\r\n\
          Content-Length: 0\r\n\r\n",
    )
    .expect("valid")
}

fn response(code: u16, tag: Option<&str>, contact: Option<&str>, rr: &[&str]) -> Message {
    let mut r = Message::response_to(&invite(), code, "Test");
    r.remove_header("Record-Route");
    if let Some(tag) = tag {
        r.set_header("To", format!("<sip:bob@b.example>;tag={tag}"));
    }
    for v in rr {
        r.push_header("Record-Route", *v);
    }
    if let Some(c) = contact {
        r.push_header("Contact", c);
    }
    r
}

fn via(n: u32) -> String {
    format!("SIP/2.0/UDP a.example;branch=z9hG4bKn{n}")
}

#[test]
fn uac_dialog_from_1xx_is_early_then_confirmed_by_the_2xx() {
    let ringing = response(180, Some("b1"), None, &["<sip:p2.example;lr>"]);
    let mut d = Dialog::uac(&invite(), &ringing).expect("a 180 with a tag");
    assert_eq!(d.state(), DialogState::Early);
    assert_eq!(d.role(), Role::Uac);
    assert_eq!(
        d.id(),
        &DialogId {
            call_id: "c1@a.example".into(),
            local_tag: "a1".into(),
            remote_tag: "b1".into()
        }
    );
    assert_eq!(
        d.remote_target().to_string(),
        "sip:bob@b.example",
        "no Contact yet"
    );
    assert!(d.invite_pending_out());
    let ok = response(
        200,
        Some("b1"),
        Some("<sip:bob@192.0.2.2>"),
        &["<sip:p2.example;lr>, <sip:p1.example;lr>"],
    );
    d.confirm_with(&ok);
    assert_eq!(d.state(), DialogState::Confirmed);
    assert!(!d.invite_pending_out());
    assert_eq!(d.remote_target().to_string(), "sip:bob@192.0.2.2");
    let routes: Vec<String> = d.route_set().iter().map(|r| r.to_string()).collect();
    assert_eq!(
        routes,
        ["<sip:p1.example;lr>", "<sip:p2.example;lr>"],
        "reversed"
    );
    assert_eq!(d.local_seq(), 7);
    let bye = d.request("BYE", via(1));
    assert_eq!(bye.header("CSeq"), Some("8 BYE"));
    assert_eq!(
        bye.header("From"),
        Some("\"Alice\" <sip:alice@a.example>;tag=a1")
    );
    assert_eq!(bye.header("To"), Some("<sip:bob@b.example>;tag=b1"));
    assert_eq!(bye.header("Contact"), None, "BYE refreshes no target");
    let reinvite = d.request("INVITE", via(2));
    assert_eq!(reinvite.header("CSeq"), Some("9 INVITE"));
    assert_eq!(reinvite.header("Contact"), Some("<sip:alice@192.0.2.1>"));
    assert!(d.invite_pending_out() && !d.can_invite());
    // The ACK of the re-INVITE's 2xx reuses its CSeq number, and is kept for retransmissions.
    let ack = d.ack(9, via(3));
    assert_eq!(ack.header("CSeq"), Some("9 ACK"));
    assert_eq!(d.ack_again(9), Some(&ack));
    assert_eq!(d.ack_again(7), None);
}

#[test]
fn dialog_creation_errors() {
    let inv = invite();
    assert_eq!(
        Dialog::uac(&inv, &response(100, Some("b1"), None, &[])).err(),
        Some(DialogError::NotDialogCreating)
    );
    assert_eq!(
        Dialog::uac(&inv, &response(180, None, None, &[])).err(),
        Some(DialogError::NoRemoteTag)
    );
    assert_eq!(
        Dialog::uac(&inv, &response(200, Some("b1"), None, &[])).err(),
        Some(DialogError::BadHeader("Contact"))
    );
    let mut no_contact = inv.clone();
    no_contact.remove_header("Contact");
    assert_eq!(
        Dialog::uas(&no_contact, "b1", Uri::sip(Some("bob"), "192.0.2.2")).err(),
        Some(DialogError::BadHeader("Contact"))
    );
}

#[test]
fn uas_dialog_keeps_the_record_route_order_and_builds_its_responses() {
    let inv = invite();
    let me = Uri::sip(Some("bob"), "192.0.2.2");
    let mut d = Dialog::uas(&inv, "b1", me.clone()).expect("valid INVITE");
    assert_eq!(d.role(), Role::Uas);
    assert_eq!(d.state(), DialogState::Early);
    assert_eq!(d.remote_seq(), Some(7));
    assert!(d.invite_pending_in() && !d.can_invite());
    let routes: Vec<String> = d.route_set().iter().map(|r| r.to_string()).collect();
    assert_eq!(
        routes,
        ["<sip:p2.example;lr>", "<sip:p1.example;lr>"],
        "as is"
    );
    let ringing = d.response(&inv, 180, "Ringing");
    assert_eq!(ringing.header("To"), Some("<sip:bob@b.example>;tag=b1"));
    assert_eq!(ringing.header_values("Record-Route").len(), 2);
    assert_eq!(ringing.header("Contact"), Some("<sip:bob@192.0.2.2>"));
    let busy = d.response(&inv, 486, "Busy Here");
    assert_eq!(busy.header("Contact"), None);
    d.confirm();
    d.invite_in_done();
    // The UAS's first request: CSeq 1, the caller's Contact as Request-URI, loose routes.
    let bye = d.request("BYE", via(1));
    assert_eq!(
        bye.request_uri().map(|u| u.to_string()).as_deref(),
        Some("sip:alice@192.0.2.1")
    );
    assert_eq!(bye.header("CSeq"), Some("1 BYE"));
    assert_eq!(bye.header("From"), Some("<sip:bob@b.example>;tag=b1"));
    assert_eq!(
        bye.header("To"),
        Some("\"Alice\" <sip:alice@a.example>;tag=a1")
    );
    assert_eq!(
        bye.header_values("Route"),
        ["<sip:p2.example;lr>", "<sip:p1.example;lr>"]
    );
    // A response to an in-dialog request keeps the tags it has.
    let ok = dialog_response(&bye, 200, "OK", "zz", &me);
    assert_eq!(ok.header("To"), bye.header("To"));
}

#[test]
fn strict_route_goes_into_the_request_uri() {
    let ok = response(
        200,
        Some("b1"),
        Some("<sip:bob@192.0.2.2>"),
        &["<sip:p2.example;lr>", "<sip:strict.example>"],
    );
    let mut d = Dialog::uac(&invite(), &ok).expect("dialog");
    let bye = d.request("BYE", via(1));
    assert_eq!(
        bye.request_uri().map(|u| u.to_string()).as_deref(),
        Some("sip:strict.example")
    );
    assert_eq!(
        bye.header_values("Route"),
        ["<sip:p2.example;lr>", "<sip:bob@192.0.2.2>"],
        "the rest of the route set, then the remote target (§12.2.1.1)"
    );
}

/// A request from bob in the dialog of `d` (bob is the UAS of `invite()`).
fn from_bob(method: &str, cseq: u32, contact: Option<&str>) -> Message {
    let mut m = Message::request(method, Uri::sip(Some("alice"), "192.0.2.1"));
    m.push_header("Via", "SIP/2.0/UDP 192.0.2.2;branch=z9hG4bKb");
    m.push_header("From", "<sip:bob@b.example>;tag=b1");
    m.push_header("To", "<sip:alice@a.example>;tag=a1");
    m.push_header("Call-ID", "c1@a.example");
    m.push_header("CSeq", format!("{cseq} {method}"));
    if let Some(c) = contact {
        m.push_header("Contact", c);
    }
    m
}

#[test]
fn received_requests_are_checked_and_refresh_the_target() {
    let ok = response(200, Some("b1"), Some("<sip:bob@192.0.2.2>"), &[]);
    let mut d = Dialog::uac(&invite(), &ok).expect("dialog");
    assert_eq!(
        DialogId::of_request(&from_bob("BYE", 1, None)).as_ref(),
        Some(d.id())
    );
    assert_eq!(DialogId::of_response(&ok).as_ref(), Some(d.id()));
    assert_eq!(d.remote_seq(), None);
    assert_eq!(
        d.receive(&from_bob("OPTIONS", 10, Some("<sip:other@192.0.2.8>"))),
        Ok(())
    );
    assert_eq!(d.remote_seq(), Some(10));
    assert_eq!(
        d.remote_target().to_string(),
        "sip:bob@192.0.2.2",
        "OPTIONS refreshes nothing"
    );
    let old = from_bob("OPTIONS", 9, None);
    assert_eq!(d.receive(&old), Err(Rejection::OutOfOrder));
    let r = Rejection::OutOfOrder.response(&old, 4);
    assert_eq!((r.code(), r.header("Retry-After")), (Some(500), Some("4")));
    // A re-INVITE from a new Contact: the target moves (§12.2.2).
    assert_eq!(
        d.receive(&from_bob("INVITE", 11, Some("<sip:bob@192.0.2.9>"))),
        Ok(())
    );
    assert_eq!(d.remote_target().to_string(), "sip:bob@192.0.2.9");
    // A second INVITE before our final response: 500 with Retry-After (§14.2).
    let second = from_bob("INVITE", 12, None);
    assert_eq!(d.receive(&second), Err(Rejection::InviteInProgress));
    assert!(Rejection::InviteInProgress.wants_retry_after());
    d.invite_in_done();
    // Our own re-INVITE pending: theirs gets 491 (§14.2), without Retry-After.
    d.request("INVITE", via(1));
    assert_eq!(d.receive(&second), Err(Rejection::Glare));
    let r = Rejection::Glare.response(&second, 4);
    assert_eq!((r.code(), r.header("Retry-After")), (Some(491), None));
    // ACK and CANCEL carry their INVITE's number: not checked.
    assert_eq!(d.receive(&from_bob("ACK", 1, None)), Ok(()));
    d.invite_out_done();
    // An UPDATE refreshes the target too (RFC 3311).
    assert_eq!(
        d.receive(&from_bob("UPDATE", 13, Some("<sip:bob@192.0.2.10>"))),
        Ok(())
    );
    assert_eq!(d.remote_target().to_string(), "sip:bob@192.0.2.10");
    let mut bad = from_bob("INFO", 14, None);
    bad.remove_header("CSeq");
    assert_eq!(d.receive(&bad), Err(Rejection::BadRequest));
}

#[test]
fn fork_set_confirms_the_first_2xx_and_hangs_up_the_others() {
    let mut forks = ForkSet::new(invite());
    let mut n = 0;
    let mut via = || {
        n += 1;
        via(n)
    };
    assert!(matches!(
        forks.on_response(&response(100, None, None, &[]), &mut via),
        ForkOutcome::Nothing
    ));
    let r1 = response(180, Some("f1"), Some("<sip:f1@192.0.2.1>"), &[]);
    assert!(matches!(
        forks.on_response(&r1, &mut via),
        ForkOutcome::Early { new: true, .. }
    ));
    assert!(matches!(
        forks.on_response(&r1, &mut via),
        ForkOutcome::Early { new: false, .. }
    ));
    let r2 = response(183, Some("f2"), Some("<sip:f2@192.0.2.2>"), &[]);
    assert!(matches!(
        forks.on_response(&r2, &mut via),
        ForkOutcome::Early { new: true, .. }
    ));
    assert_eq!(forks.early().len(), 2);
    let ok2 = response(
        200,
        Some("f2"),
        Some("<sip:f2@192.0.2.2>"),
        &["<sip:p.example;lr>"],
    );
    let ForkOutcome::Confirmed(d) = forks.on_response(&ok2, &mut via) else {
        panic!("the first 2xx confirms");
    };
    assert_eq!(d.id().remote_tag, "f2");
    assert_eq!(d.state(), DialogState::Confirmed);
    assert_eq!(d.route_set().len(), 1, "recomputed from the 2xx");
    assert_eq!(forks.confirmed_tag(), Some("f2"));
    assert!(matches!(
        forks.on_response(&ok2, &mut via),
        ForkOutcome::Retransmission
    ));
    let ok1 = response(200, Some("f1"), Some("<sip:f1@192.0.2.1>"), &[]);
    let ForkOutcome::HangUp { ack, bye } = forks.on_response(&ok1, &mut via) else {
        panic!("another fork's 2xx is hung up");
    };
    assert_eq!(ack.header("CSeq"), Some("7 ACK"));
    assert_eq!(bye.header("CSeq"), Some("8 BYE"));
    assert_eq!(
        bye.request_uri().map(|u| u.to_string()).as_deref(),
        Some("sip:f1@192.0.2.1")
    );
    assert!(bye.header("To").is_some_and(|t| t.ends_with("tag=f1")));
    let ForkOutcome::AckAgain(again) = forks.on_response(&ok1, &mut via) else {
        panic!("its retransmission gets the ACK again");
    };
    assert_eq!(again, ack);
    // Provisional responses after the 2xx create nothing.
    let late = response(180, Some("f3"), None, &[]);
    assert!(matches!(
        forks.on_response(&late, &mut via),
        ForkOutcome::Nothing
    ));
}

#[test]
fn fork_set_is_bounded_and_forgets_early_dialogs_on_failure() {
    let mut forks = ForkSet::new(invite());
    let mut via = || via(0);
    for i in 0..MAX_FORKS + 5 {
        let r = response(180, Some(&format!("t{i}")), None, &[]);
        forks.on_response(&r, &mut via);
    }
    assert_eq!(forks.early().len(), MAX_FORKS);
    forks.on_response(&response(486, Some("t0"), None, &[]), &mut via);
    assert!(forks.early().is_empty());
}

#[test]
fn orphan_2xx_gets_ack_and_bye() {
    let ok = response(200, Some("late"), Some("<sip:late@192.0.2.3>"), &[]);
    let mut n = 0;
    let (ack, bye) = hang_up(&invite(), &ok, &mut || {
        n += 1;
        via(n)
    })
    .expect("a dialog");
    assert_eq!(ack.method(), Some("ACK"));
    assert_eq!(ack.header("Via"), Some(via(1).as_str()));
    assert_eq!(bye.header("Via"), Some(via(2).as_str()));
    assert_eq!(bye.header("CSeq"), Some("8 BYE"));
    assert!(hang_up(&invite(), &response(200, None, None, &[]), &mut || via(0)).is_none());
}

#[test]
fn retransmitter_stops_on_the_matching_ack() {
    let inv = invite();
    let ok = dialog_response(&inv, 200, "OK", "b1", &Uri::sip(Some("bob"), "192.0.2.2"));
    let mut r = Retransmitter::new(Time::from_millis(0), ok.clone(), &Config::default());
    assert_eq!(r.poll_timeout(), Time::from_millis(500));
    assert_eq!(r.on_timeout(Time::from_millis(499)), Retransmit::Nothing);
    assert_eq!(r.on_timeout(Time::from_millis(500)), Retransmit::Resend);
    assert_eq!(r.response(), &ok);
    assert_eq!(r.poll_timeout(), Time::from_millis(1_500));
    let ack = |seq: u32| {
        let mut a = from_bob("ACK", seq, None);
        a.set_header("CSeq", format!("{seq} ACK"));
        a
    };
    assert!(r.is_acked_by(&ack(7)));
    assert!(!r.is_acked_by(&ack(6)));
    assert!(!r.is_acked_by(&from_bob("BYE", 7, None)));
    assert_eq!(r.on_timeout(Time::from_millis(32_000)), Retransmit::GiveUp);
}
