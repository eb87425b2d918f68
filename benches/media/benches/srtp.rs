//! SRTP throughput of webrtc-srtp 0.17 (what the gateway uses for both legs: SDES on the
//! SIP side through `gateway/src/media/srtp.rs`, DTLS-SRTP inside webrtc-rs), profile
//! AES_CM_128_HMAC_SHA1_80, RTP packets of 160 and 1200 payload bytes. libsrtp's numbers
//! for the same packets come from `benches/media/libsrtp/srtp_bench.c`.
//!
//! `cargo bench -p media-bench --bench srtp -- --warm-up-time 1 --measurement-time 3`

use criterion::{black_box, criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use std::time::{Duration, Instant};
use webrtc_srtp::context::Context;
use webrtc_srtp::option::srtp_replay_protection;
use webrtc_srtp::protection_profile::ProtectionProfile;

const KEY: [u8; 16] = *b"0123456789abcdef";
const SALT: [u8; 14] = *b"saltsaltsaltsa";
/// The gateway's replay window (`gateway/src/media/srtp.rs`).
const REPLAY_WINDOW: usize = 128;
/// Packets protected (untimed) before each timed unprotect batch.
const BATCH: usize = 4096;

fn rtp(seq: u16, payload_len: usize) -> Vec<u8> {
    let mut p = vec![0u8; 12 + payload_len];
    p[0] = 0x80;
    p[1] = 111;
    p[2..4].copy_from_slice(&seq.to_be_bytes());
    p[4..8].copy_from_slice(&(u32::from(seq) * 960).to_be_bytes());
    p[8..12].copy_from_slice(&0x1234_5678u32.to_be_bytes());
    for (i, b) in p[12..].iter_mut().enumerate() {
        *b = i as u8;
    }
    p
}

fn context(receiver: bool) -> Context {
    let replay = receiver.then(|| srtp_replay_protection(REPLAY_WINDOW));
    Context::new(
        &KEY,
        &SALT,
        ProtectionProfile::Aes128CmHmacSha1_80,
        replay,
        None,
    )
    .expect("an SRTP context")
}

fn srtp(c: &mut Criterion) {
    let mut g = c.benchmark_group("webrtc-srtp AES_CM_128_HMAC_SHA1_80");
    for len in [160usize, 1200] {
        g.throughput(Throughput::Bytes(len as u64));
        g.bench_with_input(BenchmarkId::new("protect", len), &len, |b, &len| {
            let mut ctx = context(false);
            let mut pkt = rtp(0, len);
            let mut seq = 0u16;
            b.iter(|| {
                seq = seq.wrapping_add(1);
                pkt[2..4].copy_from_slice(&seq.to_be_bytes());
                ctx.encrypt_rtp(black_box(&pkt)).expect("protect")
            });
        });
        g.bench_with_input(BenchmarkId::new("unprotect", len), &len, |b, &len| {
            // In order, with the gateway's replay window: every packet is new, as on the wire.
            let mut tx = context(false);
            let mut rx = context(true);
            let mut seq = 0u16;
            let mut plain = rtp(0, len);
            b.iter_custom(|iters| {
                let mut timed = Duration::ZERO;
                let mut left = iters;
                while left > 0 {
                    let n = left.min(BATCH as u64);
                    let batch: Vec<_> = (0..n)
                        .map(|_| {
                            seq = seq.wrapping_add(1);
                            plain[2..4].copy_from_slice(&seq.to_be_bytes());
                            tx.encrypt_rtp(&plain).expect("protect")
                        })
                        .collect();
                    let t = Instant::now();
                    for p in &batch {
                        black_box(rx.decrypt_rtp(black_box(p)).expect("unprotect"));
                    }
                    timed += t.elapsed();
                    left -= n;
                }
                timed
            });
        });
    }
    g.finish();
}

criterion_group!(benches, srtp);
criterion_main!(benches);
