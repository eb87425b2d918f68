//! A model of the gateway's per-packet work for one Opus packet relayed from the SIP leg to
//! the browser (passthrough, no transcoding), built from the same library calls as
//! `gateway/src/media/session.rs` (`on_sip_packet`) and webrtc-rs's
//! `TrackLocalStaticRTP::write_rtp` → SRTP writer, without the async plumbing between them
//! (the gateway is a binary crate, so its functions cannot be called from here):
//!
//! - `parse+rewrite+marshal`: `Packet::unmarshal`, a new header (sequence, SSRC, payload
//!   type), the payload `Bytes` cloned, the packet cloned once more as `write_rtp` does,
//!   `marshal`;
//! - `...+srtp`: the same plus `Context::encrypt_rtp` (DTLS-SRTP's AES_CM_128_HMAC_SHA1_80);
//! - `udp loopback send+recv`: one `send_to` and one `recv_from` of a 172-byte datagram on
//!   127.0.0.1 in one thread, the kernel work a relay pays per packet at least (it receives
//!   each packet once and sends it once).
//!
//! `cargo bench -p media-bench --bench relay_path -- --warm-up-time 1 --measurement-time 3`

use criterion::{black_box, criterion_group, criterion_main, Criterion, Throughput};
use std::net::UdpSocket;
use webrtc::rtp::header::Header;
use webrtc::rtp::packet::Packet;
use webrtc::util::{Marshal, Unmarshal};
use webrtc_srtp::context::Context;
use webrtc_srtp::protection_profile::ProtectionProfile;

fn incoming(seq: u16, payload_len: usize) -> Vec<u8> {
    let mut p = vec![0u8; 12 + payload_len];
    p[0] = 0x80;
    p[1] = 111;
    p[2..4].copy_from_slice(&seq.to_be_bytes());
    p[8..12].copy_from_slice(&0x0bad_cafeu32.to_be_bytes());
    p
}

struct Out {
    seq: u16,
    ssrc: u32,
}

impl Out {
    fn relay(&mut self, datagram: &[u8]) -> bytes::Bytes {
        let mut buf = datagram;
        let pkt = Packet::unmarshal(&mut buf).expect("RTP");
        self.seq = self.seq.wrapping_add(1);
        let out = Packet {
            header: Header {
                version: 2,
                marker: pkt.header.marker,
                payload_type: 111,
                sequence_number: self.seq,
                timestamp: pkt.header.timestamp,
                ssrc: self.ssrc,
                ..Default::default()
            },
            payload: pkt.payload.clone(),
        };
        // `TrackLocalStaticRTP::write_rtp` clones the packet for each binding.
        let mut bound = out.clone();
        bound.header.ssrc = 0x5151_5151;
        bound.marshal().expect("marshal")
    }
}

fn relay_path(c: &mut Criterion) {
    let mut g = c.benchmark_group("relay path, 160-byte Opus payload");
    g.throughput(Throughput::Elements(1));
    let datagram = incoming(7, 160);
    g.bench_function("parse+rewrite+marshal", |b| {
        let mut out = Out { seq: 0, ssrc: 42 };
        b.iter(|| out.relay(black_box(&datagram)));
    });
    g.bench_function("parse+rewrite+marshal+srtp", |b| {
        let mut out = Out { seq: 0, ssrc: 42 };
        let mut ctx = Context::new(
            b"0123456789abcdef",
            b"saltsaltsaltsa",
            ProtectionProfile::Aes128CmHmacSha1_80,
            None,
            None,
        )
        .expect("context");
        b.iter(|| {
            let plain = out.relay(black_box(&datagram));
            ctx.encrypt_rtp(&plain).expect("protect")
        });
    });
    g.bench_function("udp loopback send+recv", |b| {
        let tx = UdpSocket::bind("127.0.0.1:0").expect("bind");
        let rx = UdpSocket::bind("127.0.0.1:0").expect("bind");
        let dest = rx.local_addr().expect("addr");
        rx.set_read_timeout(Some(std::time::Duration::from_secs(1)))
            .expect("timeout");
        let mut buf = [0u8; 2048];
        b.iter(|| {
            tx.send_to(&datagram, dest).expect("send");
            rx.recv_from(&mut buf).expect("recv")
        });
    });
    g.finish();
}

criterion_group!(benches, relay_path);
criterion_main!(benches);
