//! Speed ratios that survive a busy machine: each round times every parser on the same message
//! back to back, and the median over the rounds is reported, so load from other processes hits
//! both sides of a ratio alike. Complements the criterion benchmark (`benches/sip_parse.rs`).
//!
//! `cargo run --release -p sip-parse-bench --example ratio`

use sip_parse_bench::MESSAGES;
use sipsimple::sip::{Message, MessageRef};
use std::hint::black_box;
use std::time::Instant;

const ROUNDS: usize = 31;
const ITERS: u32 = 20_000;

fn time(mut f: impl FnMut()) -> f64 {
    let start = Instant::now();
    for _ in 0..ITERS {
        f();
    }
    start.elapsed().as_secs_f64() * 1e9 / f64::from(ITERS)
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v.get(v.len() / 2).copied().unwrap_or(f64::NAN)
}

fn main() {
    println!("| message | bytes | parser | ns/msg (median) | msgs/s | MB/s | vs rsip |");
    println!("| --- | ---: | --- | ---: | ---: | ---: | ---: |");
    for (name, text) in MESSAGES {
        let bytes = text.as_bytes();
        let mut runs: [Vec<f64>; 4] = Default::default();
        for _ in 0..ROUNDS {
            runs[0].push(time(|| {
                black_box(Message::parse(black_box(bytes)).map(|m| m.headers.len())).ok();
            }));
            runs[1].push(time(|| {
                black_box(MessageRef::parse(black_box(bytes)).map(|m| m.headers.len())).ok();
            }));
            runs[2].push(time(|| {
                black_box(Message::parse_strict(black_box(bytes)).map(|m| m.headers.len())).ok();
            }));
            runs[3].push(time(|| {
                black_box(rsip::SipMessage::try_from(black_box(bytes)).map(|m| m.body().len()))
                    .ok();
            }));
        }
        let [owned, borrowed, strict, rsip] = runs.map(median);
        for (parser, ns) in [
            ("sipsimple Message::parse", owned),
            ("sipsimple MessageRef::parse", borrowed),
            ("sipsimple Message::parse_strict", strict),
            ("rsip 0.4 SipMessage::try_from", rsip),
        ] {
            println!(
                "| {name} | {} | {parser} | {ns:.0} | {:.0}k | {:.0} | {:.2}x |",
                bytes.len(),
                1e6 / ns,
                bytes.len() as f64 * 1e3 / ns,
                rsip / ns
            );
        }
    }
}
