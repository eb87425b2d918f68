//! Upstream mode (config `[upstream]`): a browser-style WebSocket client calls
//! `sip:someone@elsewhere.example`; the gateway sends the INVITE to the upstream proxy (a SIPp
//! UAS) instead of the Request-URI's host, answers the upstream's 407 with the configured
//! credentials (the scenario checks Proxy-Authorization by regexp) and the call is answered
//! and hung up through the upstream. Skipped, with a note, when `sipp` is not installed (a
//! failure under CI).

mod common;

use common::sipp::{self, Transport};
use common::{start_with, Client};
use sipsimple::Event;

#[tokio::test]
async fn calls_to_other_domains_go_through_the_upstream_with_its_credentials() {
    if !sipp::installed() {
        return;
    }
    let scenario = sipp::scenario("uas_upstream_auth.xml");
    let scenario = scenario.to_str().expect("utf-8 path");
    let mut upstream = sipp::start("127.0.0.1", Transport::Udp, None, &["-sf", scenario]);
    upstream.ready("127.0.0.1").await;
    let dir = tempfile::tempdir().expect("temp dir");
    let config = dir.path().join("gateway.toml");
    std::fs::write(
        &config,
        format!(
            "[upstream]\nproxy = \"sip:127.0.0.1:{};transport=udp\"\n\
             username = \"gwuser\"\npassword = \"upsecret\"\n",
            upstream.port
        ),
    )
    .expect("write the config file");
    let config = config.to_str().expect("utf-8 path");
    let gw = start_with(&["--config", config]);

    let ws = common::open_sip_ws(gw.http).await;
    let mut c = Client::new(ws, "secret");
    assert!(matches!(
        c.register().await,
        Event::SIPAccountRegistrationDidSucceed { .. }
    ));
    let now = c.now();
    let id =
        c.ua.connect(now, "sip:someone@elsewhere.example", None)
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
        upstream.trace()
    );
    // The 407 was the gateway's to answer: the browser never saw it.
    assert!(!c.codes.contains(&407), "{:?}", c.codes);
    let now = c.now();
    c.ua.end(now, id).expect("hang up");
    c.until(|e| matches!(e, Event::SIPSessionDidEnd { .. }))
        .await;
    upstream.assert_success(10).await;
}
