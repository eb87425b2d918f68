//! The RFB client (RFC 6143) on arbitrary server bytes cut at an arbitrary point: never a
//! panic, bounded memory (a small framebuffer cap), and the same framebuffer, outputs and
//! error whether the bytes come in one piece or two. Half the runs have a VNC password, so
//! that VNC Authentication's challenge and result are parsed too.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sipsimple::rfb::{Client, Config, Output};

fn run(pieces: &[&[u8]], password: bool) -> (Vec<Output>, Vec<u8>, Option<String>) {
    let mut c = Client::new(Config {
        max_pixels: 256 * 256,
        ..Config::default()
    });
    if password {
        c.set_password("fuzz");
    }
    let mut out = Vec::new();
    for piece in pieces {
        let _ = c.handle_input(piece);
        // Input from the viewer in between must not disturb the parser.
        c.pointer_event(u16::MAX, 3, 1);
        while let Some(o) = c.poll_output() {
            out.push(o);
        }
    }
    let _ = c.rect_rgba(0, 0, u16::MAX, u16::MAX);
    (
        out,
        c.framebuffer().to_vec(),
        c.error().map(ToString::to_string),
    )
}

fuzz_target!(|data: &[u8]| {
    let Some((&cut, rest)) = data.split_first() else {
        return;
    };
    let password = cut & 0x80 != 0;
    let cut = usize::from(cut & 0x7f) % (rest.len() + 1);
    let (whole_out, whole_fb, whole_err) = run(&[rest], password);
    let (split_out, split_fb, split_err) = run(&[&rest[..cut], &rest[cut..]], password);
    assert_eq!(
        whole_fb, split_fb,
        "the picture must not depend on how the bytes arrive"
    );
    assert_eq!(whole_err, split_err);
    // Pointer events interleave differently; everything else comes in the same order.
    let strip = |v: Vec<Output>| -> Vec<Output> {
        v.into_iter()
            .filter(|o| !matches!(o, Output::Transmit(b) if b.first() == Some(&5)))
            .collect()
    };
    assert_eq!(strip(whole_out), strip(split_out));
});
