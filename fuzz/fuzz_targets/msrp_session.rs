//! The MSRP session engine on arbitrary bytes, cut at an arbitrary point: never a panic,
//! and whatever it answers parses as MSRP.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sipsimple::msrp::{Frame, MsrpSession, Role, SessionConfig, SessionOutput, Uri};
use sipsimple::Time;

fuzz_target!(|data: &[u8]| {
    let Some((&cut, rest)) = data.split_first() else { return };
    let cut = usize::from(cut) % (rest.len() + 1);
    let uri = |s: &str| Uri::parse(s).expect("valid");
    let mut cfg = SessionConfig::new(
        uri("msrp://b.example:2855/bbbb;tcp"),
        vec![uri("msrp://a.example:2855/aaaa;tcp")],
        Role::Passive,
    );
    cfg.max_message_size = Some(64 * 1024);
    cfg.max_buffered_size = 4096;
    let mut s = MsrpSession::new(cfg, 1);
    let now = Time::from_millis(0);
    s.handle_input(now, &rest[..cut]);
    s.handle_input(now, &rest[cut..]);
    s.handle_timeout(Time::from_millis(60_000));
    while let Some(o) = s.poll_output() {
        if let SessionOutput::Transmit(bytes) = o {
            Frame::parse(&bytes).expect("our own output parses");
        }
    }
});
