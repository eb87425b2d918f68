//! MSRP (RFC 4975) throughput on a 64 KiB SEND chunk: the one-shot `Frame::parse` (one
//! WebSocket message, RFC 7977), the incremental stream `Parser` fed in 1,500-byte reads as a
//! TCP socket would, and `Frame::encode`.
//!
//! `cargo bench -p sip-parse-bench --bench msrp_chunk -- --warm-up-time 1 --measurement-time 3`

use criterion::{black_box, criterion_group, criterion_main, Criterion, Throughput};
use sipsimple::msrp::{Frame, Parser};

/// A SEND carrying bytes 1-65536 of a 1 MiB file, as a file transfer sends them.
fn chunk() -> Vec<u8> {
    let body: Vec<u8> = (0..65_536u32)
        .map(|i| b"abcdefghijklmnopqrstuvwxyz0123456789"[(i % 36) as usize])
        .collect();
    let mut out = Vec::with_capacity(body.len() + 512);
    out.extend_from_slice(
        b"MSRP d93kswow SEND\r\n\
          To-Path: msrp://bob.example.com:8888/9di4eae923wzd;tcp\r\n\
          From-Path: msrp://alicepc.example.com:7777/iau39soe2843z;tcp\r\n\
          Message-ID: 12339sdqwer\r\n\
          Byte-Range: 1-65536/1048576\r\n\
          Content-Type: application/octet-stream\r\n\r\n",
    );
    out.extend_from_slice(&body);
    out.extend_from_slice(b"\r\n-------d93kswow+\r\n");
    out
}

fn msrp(c: &mut Criterion) {
    let bytes = chunk();
    let frame = Frame::parse(&bytes).expect("the benchmark chunk parses");
    let mut g = c.benchmark_group("msrp/64KiB SEND chunk");
    g.throughput(Throughput::Bytes(bytes.len() as u64));
    g.bench_function("Frame::parse", |b| {
        b.iter(|| Frame::parse(black_box(&bytes)).map(|f| f.body().len()))
    });
    g.bench_function("Parser, 1500-byte reads", |b| {
        b.iter(|| {
            let mut p = Parser::new();
            let mut n = 0;
            for piece in black_box(&bytes).chunks(1500) {
                p.push(piece);
                for f in p.by_ref() {
                    n += f.map(|f| f.body().len()).unwrap_or(0);
                }
            }
            n
        })
    });
    let mut out = Vec::with_capacity(bytes.len() + 64);
    g.bench_function("Frame::encode", |b| {
        b.iter(|| {
            out.clear();
            black_box(&frame).encode(&mut out);
            out.len()
        })
    });
    g.finish();
}

criterion_group!(benches, msrp);
criterion_main!(benches);
