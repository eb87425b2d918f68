//! Calls from a browser-style WebSocket client (the sans-IO `UserAgent`) through the gateway
//! to a real SIPp user agent server: the built-in `uas` over UDP and over TCP (the gateway
//! opens the connection, RFC 3261 §18.1), and a UAS that hangs up itself, whose BYE must
//! find the browser through the gateway's Record-Route (§16.12, RFC 5658). Skipped, with a
//! note, when `sipp` is not installed (a failure under CI).

mod common;

use common::sipp::{self, Transport};
use common::{start, Client};
use sipsimple::Event;

async fn registered_client(gw: &common::Gateway) -> Client<common::WsStream> {
    let ws = common::open_sip_ws(gw.http).await;
    let mut c = Client::new(ws, "secret");
    assert!(matches!(
        c.register().await,
        Event::SIPAccountRegistrationDidSucceed { .. }
    ));
    c
}

/// Calls SIPp running `args` over `transport`; hangs up unless SIPp does.
async fn call_sipp(transport: Transport, args: &[&str], sipp_hangs_up: bool) {
    if !sipp::installed() {
        return;
    }
    let gw = start(false);
    let mut uas = sipp::start("127.0.0.1", transport, None, args);
    uas.ready("127.0.0.1").await;
    let mut c = registered_client(&gw).await;
    let param = match transport {
        Transport::Tcp => ";transport=tcp",
        _ => "",
    };
    let now = c.now();
    let id =
        c.ua.connect(
            now,
            &format!("sip:service@127.0.0.1:{}{param}", uas.port),
            None,
        )
        .expect("connect");
    let e = c
        .until(|e| {
            matches!(
                e,
                Event::SIPSessionDidStart {} | Event::SIPSessionDidFail { .. }
            )
        })
        .await;
    assert!(
        matches!(e, Event::SIPSessionDidStart {}),
        "{e:?}\n{}",
        uas.trace()
    );
    if !sipp_hangs_up {
        let now = c.now();
        c.ua.end(now, id).expect("hang up");
    }
    c.until(|e| matches!(e, Event::SIPSessionDidEnd { .. }))
        .await;
    assert!(
        c.codes.contains(&180) && c.codes.contains(&200),
        "{:?}",
        c.codes
    );
    // SIPp exits 0 once its one call completed successfully (`-m 1`).
    uas.assert_success(10).await;
}

#[tokio::test]
async fn call_to_sipp_uas_through_the_gateway() {
    call_sipp(Transport::Udp, &["-sn", "uas"], false).await;
}

#[tokio::test]
async fn call_to_sipp_uas_over_tcp() {
    call_sipp(Transport::Tcp, &["-sn", "uas"], false).await;
}

#[tokio::test]
async fn sipp_uas_hangs_up_through_the_record_route() {
    let scenario = sipp::scenario("uas_bye.xml");
    let scenario = scenario.to_str().expect("utf-8 path");
    call_sipp(Transport::Udp, &["-sf", scenario], true).await;
}
