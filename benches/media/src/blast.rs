//! The RTP sender: stamped packets at a controlled rate from one UDP socket, paced in
//! slices of about 100 µs (a few packets per slice at the highest rates), bounded by count
//! and by time.

use crate::stats::{now_ns, stamp};
use std::net::{SocketAddr, UdpSocket};
use std::time::{Duration, Instant};

/// One RTP stream's state across steps.
#[derive(Debug)]
pub struct Stream {
    /// RTP payload type.
    pub pt: u8,
    /// RTP SSRC.
    pub ssrc: u32,
    /// Payload bytes per packet (at least the stamp).
    pub payload_len: usize,
    seq: u16,
    ts: u32,
    count: u64,
}

/// What one call of [`Stream::blast`] did.
#[derive(Debug, Clone, Copy)]
pub struct Sent {
    /// Packets handed to the kernel.
    pub packets: u64,
    /// `send_to` errors (ECONNREFUSED after an ICMP, ENOBUFS).
    pub errors: u64,
    /// How long sending took.
    pub elapsed: Duration,
}

impl Stream {
    /// A stream of `payload_len`-byte packets of payload type `pt`.
    pub fn new(pt: u8, ssrc: u32, payload_len: usize) -> Stream {
        Stream {
            pt,
            ssrc,
            payload_len: payload_len.max(crate::stats::STAMP_LEN),
            seq: 1,
            ts: 0,
            count: 0,
        }
    }

    /// Sends `rate` packets per second for `secs` to `dest`, stamped with `step`. Stops
    /// after `rate * secs` packets or twice the planned time, whichever comes first.
    pub fn blast(
        &mut self,
        sock: &UdpSocket,
        dest: SocketAddr,
        rate: u32,
        secs: f64,
        step: u32,
    ) -> Sent {
        let total = (f64::from(rate) * secs).round() as u64;
        let mut buf = vec![0u8; 12 + self.payload_len];
        buf[0] = 0x80;
        buf[1] = self.pt & 0x7f;
        buf[8..12].copy_from_slice(&self.ssrc.to_be_bytes());
        let start = Instant::now();
        let limit = Duration::from_secs_f64(secs * 2.0 + 1.0);
        let (mut sent, mut errors) = (0u64, 0u64);
        while sent < total {
            let elapsed = start.elapsed();
            if elapsed > limit {
                break;
            }
            let due = ((elapsed.as_secs_f64() * f64::from(rate)) as u64 + 1).min(total);
            while sent < due {
                buf[2..4].copy_from_slice(&self.seq.to_be_bytes());
                buf[4..8].copy_from_slice(&self.ts.to_be_bytes());
                stamp(&mut buf[12..], step, self.count, now_ns());
                if sock.send_to(&buf, dest).is_err() {
                    errors += 1;
                }
                self.seq = self.seq.wrapping_add(1);
                self.ts = self.ts.wrapping_add(960);
                self.count += 1;
                sent += 1;
            }
            if sent < total {
                std::thread::sleep(Duration::from_micros(50));
            }
        }
        Sent {
            packets: sent,
            errors,
            elapsed: start.elapsed(),
        }
    }
}
