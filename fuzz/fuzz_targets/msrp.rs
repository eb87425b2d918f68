//! The MSRP stream parser on arbitrary bytes cut at an arbitrary point: never a panic, the
//! same frames whether the bytes come in one piece or two, and every frame round-trips.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sipsimple::msrp::{Frame, Parser};

fn frames(pieces: &[&[u8]]) -> Vec<Result<Frame, String>> {
    let mut p = Parser::new();
    let mut out = Vec::new();
    for piece in pieces {
        p.push(piece);
        out.extend(p.by_ref().map(|r| r.map_err(|e| e.to_string())));
    }
    out
}

fuzz_target!(|data: &[u8]| {
    let Some((&cut, rest)) = data.split_first() else { return };
    let cut = usize::from(cut) % (rest.len() + 1);
    let whole = frames(&[rest]);
    let split = frames(&[&rest[..cut], &rest[cut..]]);
    assert_eq!(whole, split, "framing must not depend on how the bytes arrive");
    for frame in whole.into_iter().flatten() {
        let again = Frame::parse(&frame.to_bytes()).expect("our own output parses");
        assert_eq!(frame, again);
    }
});
