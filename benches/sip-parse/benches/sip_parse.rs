//! Parse and serialise throughput of the core's SIP parser (RFC 3261 §7) against rsip 0.4 on
//! the same messages, in the same run.
//!
//! `cargo bench -p sip-parse-bench -- --warm-up-time 1 --measurement-time 3`

use criterion::{black_box, criterion_group, criterion_main, Criterion, Throughput};
use sip_parse_bench::MESSAGES;
use sipsimple::sip::{Message, MessageRef};

fn parse(c: &mut Criterion) {
    for (name, text) in MESSAGES {
        let bytes = text.as_bytes();
        let mut g = c.benchmark_group(format!("parse/{name}"));
        g.throughput(Throughput::Bytes(bytes.len() as u64));
        g.bench_function("sipsimple Message::parse", |b| {
            b.iter(|| Message::parse(black_box(bytes)).map(|m| m.headers.len()))
        });
        g.bench_function("sipsimple MessageRef::parse", |b| {
            b.iter(|| MessageRef::parse(black_box(bytes)).map(|m| m.headers.len()))
        });
        g.bench_function("sipsimple Message::parse_strict", |b| {
            b.iter(|| Message::parse_strict(black_box(bytes)).map(|m| m.headers.len()))
        });
        g.bench_function("rsip SipMessage::try_from", |b| {
            b.iter(|| rsip::SipMessage::try_from(black_box(bytes)).map(|m| m.body().len()))
        });
        g.finish();
    }
}

fn encode(c: &mut Criterion) {
    for (name, text) in MESSAGES {
        let bytes = text.as_bytes();
        let ours = Message::parse(bytes).expect("benchmark message parses");
        let theirs = rsip::SipMessage::try_from(bytes).expect("rsip parses it too");
        let mut g = c.benchmark_group(format!("encode/{name}"));
        g.throughput(Throughput::Bytes(bytes.len() as u64));
        let mut out = Vec::with_capacity(2048);
        g.bench_function("sipsimple Message::encode", |b| {
            b.iter(|| {
                out.clear();
                black_box(&ours).encode(&mut out);
                out.len()
            })
        });
        g.bench_function("rsip to_string", |b| {
            b.iter(|| black_box(&theirs).to_string().len())
        });
        g.finish();
    }
}

criterion_group!(benches, parse, encode);
criterion_main!(benches);
