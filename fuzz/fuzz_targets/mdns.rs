//! mDNS/DNS-SD (the Bonjour account's `mdns` module) on arbitrary datagrams: the DNS
//! parser never panics and what it parses round-trips; the discovery state machine takes
//! any datagram and keeps answering its timers.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sipsimple::mdns::dns::Message;
use sipsimple::mdns::{Discovery, Service};
use sipsimple::Time;

fuzz_target!(|data: &[u8]| {
    if let Ok(m) = Message::parse(data) {
        let again = Message::parse(&m.to_bytes()).expect("our own output parses");
        assert_eq!(m, again);
    }
    let service = Service::new("sip:fuzz@127.0.0.2:5060", [127, 0, 0, 2].into(), 5060);
    let mut d = Discovery::new(service, 1);
    let t0 = Time::from_millis(0);
    d.start(t0);
    while d.poll_output().is_some() {}
    // Twice: the second time the neighbours of the first are known.
    for _ in 0..2 {
        let _ = d.handle_packet(t0, data);
        while d.poll_output().is_some() {}
    }
    if let Some(t) = d.poll_timeout() {
        d.handle_timeout(t);
        while d.poll_output().is_some() {}
    }
    d.stop(t0);
    while d.poll_output().is_some() {}
});
