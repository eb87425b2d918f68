//! SIP message parsing on arbitrary bytes: never a panic, and whatever parses re-serialises
//! to a message with the same start line, headers and body (the encoder adds Content-Length
//! when the input had none, so the second round trip must be exact).
#![no_main]

use libfuzzer_sys::fuzz_target;
use sipsimple::sip::Message;

fuzz_target!(|data: &[u8]| {
    if let Ok(first) = Message::parse(data) {
        let second = Message::parse(&first.to_bytes()).expect("our own output parses");
        assert_eq!(first.start, second.start);
        assert_eq!(first.body, second.body);
        let named = |m: &Message| {
            m.headers
                .iter()
                .filter(|h| !h.name.eq_ignore_ascii_case("Content-Length") && h.name != "l")
                .map(|h| (h.name.clone(), h.value.clone()))
                .collect::<Vec<_>>()
        };
        assert_eq!(named(&first), named(&second));
        let third = Message::parse(&second.to_bytes()).expect("stable");
        assert_eq!(second, third);
    }
});
