//! SIPp as the caller (and as a registering client) against the gateway, with a
//! browser-style WebSocket client as the callee, found through the location service
//! (RFC 3261 §10, §16.5): digest REGISTER from SIPp (200 with the right password, 403 with a
//! wrong one), calls over UDP, TCP and TLS (through a test TLS shim: Debian's SIPp is built
//! without OpenSSL), a CANCEL after 180 (487 end to end, §16.10), a
//! 486 from the callee (§16.7), a re-INVITE through the Record-Route (§16.12), and forking to
//! two registrations of one user where the loser is cancelled (§16.7 step 10).

mod common;

use common::callee::{self, Callee};
use common::sipp::{self, Sipp, Transport};
use common::{start, Gateway};
use std::net::SocketAddr;

fn gw_addr(gw: &Gateway, t: Transport) -> SocketAddr {
    match t {
        Transport::Udp => gw.udp,
        Transport::Tcp => gw.tcp,
        Transport::Tls => gw.tls,
    }
}

/// Starts SIPp running `scenario` toward the gateway over `t`, calling `alice` at the
/// gateway's address for `t` (`-key target`). Debian's
/// SIPp has no TLS (`-t l1` needs a build with OpenSSL), so for TLS it speaks TCP to a shim
/// that carries the connection over TLS to the gateway's TLS listener.
async fn caller(gw: &Gateway, t: Transport, scenario: &str) -> Sipp {
    let (transport, remote) = match t {
        Transport::Tls => {
            let shim = common::tls::shim("127.0.0.1", gw.tls, &gw.data.join("cert.pem")).await;
            (Transport::Tcp, shim)
        }
        other => (other, gw_addr(gw, other)),
    };
    let file = sipp::scenario(scenario);
    let file = file.to_str().expect("utf-8 path").to_string();
    let remote = remote.to_string();
    let target = gw_addr(gw, t).to_string();
    let args = [
        "-sf", &file, &remote, "-s", "alice", "-key", "target", &target,
    ];
    sipp::start("127.0.0.1", transport, None, &args)
}

/// The callee's side of a call the caller hangs up.
async fn answer(c: &mut Callee) {
    let invite = c.request("INVITE").await;
    c.respond(&invite, 180, "Ringing").await;
    c.respond(&invite, 200, "OK").await;
    c.request("ACK").await;
    let bye = c.request("BYE").await;
    c.respond(&bye, 200, "OK").await;
}

async fn call_over(t: Transport) {
    if !sipp::installed() {
        return;
    }
    let gw = start(false);
    let mut alice = callee::register(gw.http, "alice", "secret", "callee1").await;
    let mut uac = caller(&gw, t, "uac_call.xml").await;
    answer(&mut alice).await;
    uac.assert_success(15).await;
}

#[tokio::test]
async fn sipp_calls_a_websocket_user_over_udp() {
    call_over(Transport::Udp).await;
}

#[tokio::test]
async fn sipp_calls_a_websocket_user_over_tcp() {
    call_over(Transport::Tcp).await;
}

#[tokio::test]
async fn sipp_calls_a_websocket_user_over_tls() {
    call_over(Transport::Tls).await;
}

#[tokio::test]
async fn sipp_cancels_after_ringing_and_gets_487() {
    if !sipp::installed() {
        return;
    }
    let gw = start(false);
    let mut alice = callee::register(gw.http, "alice", "secret", "callee1").await;
    let mut uac = caller(&gw, Transport::Udp, "uac_cancel.xml").await;
    let invite = alice.request("INVITE").await;
    alice.respond(&invite, 180, "Ringing").await;
    let cancel = alice.request("CANCEL").await;
    alice.respond(&cancel, 200, "OK").await;
    alice.respond(&invite, 487, "Request Terminated").await;
    // The gateway's client transaction ACKs the 487 itself (§17.1.1.3).
    let ack = alice.request("ACK").await;
    assert_eq!(ack.header("CSeq"), Some("1 ACK"));
    uac.assert_success(15).await;
}

#[tokio::test]
async fn busy_callee_486_reaches_sipp() {
    if !sipp::installed() {
        return;
    }
    let gw = start(false);
    let mut alice = callee::register(gw.http, "alice", "secret", "callee1").await;
    let mut uac = caller(&gw, Transport::Tcp, "uac_busy.xml").await;
    let invite = alice.request("INVITE").await;
    alice.respond(&invite, 486, "Busy Here").await;
    alice.request("ACK").await;
    uac.assert_success(15).await;
}

#[tokio::test]
async fn reinvite_follows_the_record_route() {
    if !sipp::installed() {
        return;
    }
    let gw = start(false);
    let mut alice = callee::register(gw.http, "alice", "secret", "callee1").await;
    let mut uac = caller(&gw, Transport::Udp, "uac_reinvite.xml").await;
    let invite = alice.request("INVITE").await;
    alice.respond(&invite, 200, "OK").await;
    alice.request("ACK").await;
    let reinvite = alice.request("INVITE").await;
    // In the dialog: the To tag is ours, our Routes are gone, the target is our Contact.
    assert!(reinvite
        .header("To")
        .is_some_and(|t| t.contains("tag=callee1")));
    assert!(reinvite.header("Route").is_none());
    assert!(reinvite
        .request_uri()
        .is_some_and(|u| u.host.ends_with(".invalid")));
    alice.respond(&reinvite, 200, "OK").await;
    alice.request("ACK").await;
    let bye = alice.request("BYE").await;
    alice.respond(&bye, 200, "OK").await;
    uac.assert_success(15).await;
}

#[tokio::test]
async fn forked_call_cancels_the_branch_that_lost() {
    if !sipp::installed() {
        return;
    }
    let gw = start(false);
    let mut first = callee::register(gw.http, "alice", "secret", "phone1").await;
    let mut second = callee::register(gw.http, "alice", "secret", "phone2").await;
    let mut uac = caller(&gw, Transport::Udp, "uac_call.xml").await;
    // Both registrations ring (parallel forking, §16.6).
    let inv1 = first.request("INVITE").await;
    let inv2 = second.request("INVITE").await;
    first.respond(&inv1, 180, "Ringing").await;
    second.respond(&inv2, 180, "Ringing").await;
    second.respond(&inv2, 200, "OK").await;
    // The first phone is cancelled once the second answered.
    let cancel = first.request("CANCEL").await;
    first.respond(&cancel, 200, "OK").await;
    first.respond(&inv1, 487, "Request Terminated").await;
    first.request("ACK").await;
    second.request("ACK").await;
    let bye = second.request("BYE").await;
    second.respond(&bye, 200, "OK").await;
    uac.assert_success(15).await;
}

async fn sipp_register(gw: &Gateway, t: Transport, password: &str) -> String {
    let remote = gw_addr(gw, t).to_string();
    let file = sipp::scenario("register_auth.xml");
    let file = file.to_str().expect("utf-8 path").to_string();
    let mut reg = sipp::start(
        "127.0.0.1",
        t,
        None,
        &[
            "-sf",
            &file,
            &remote,
            "-key",
            "user",
            "alice",
            "-key",
            "domain",
            "sipsimple.local",
            "-au",
            "alice",
            "-ap",
            password,
        ],
    );
    reg.assert_success(15).await;
    reg.log()
}

#[tokio::test]
async fn sipp_registers_with_digest() {
    if !sipp::installed() {
        return;
    }
    let gw = start(false);
    let log = sipp_register(&gw, Transport::Udp, "secret").await;
    assert!(log.contains("register-result 200"), "{log}");
    let log = sipp_register(&gw, Transport::Tcp, "secret").await;
    assert!(log.contains("register-result 200"), "{log}");
    let log = sipp_register(&gw, Transport::Udp, "wrong").await;
    assert!(log.contains("register-result 403"), "{log}");
}
