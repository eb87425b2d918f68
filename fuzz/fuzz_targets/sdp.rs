//! SDP parsing on arbitrary bytes: never a panic, and whatever parses round-trips.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sipsimple::sdp::SessionDescription;

fuzz_target!(|data: &[u8]| {
    if let Ok(sdp) = SessionDescription::parse(data) {
        let again = SessionDescription::parse(&sdp.to_bytes()).expect("our own output parses");
        assert_eq!(sdp, again);
        for m in &sdp.media {
            let _ = (m.rtpmaps(), m.direction(), m.candidates(), m.crypto(), m.msrp_path());
        }
    }
});
