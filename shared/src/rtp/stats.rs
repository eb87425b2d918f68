//! RTP reception statistics of one stream (RFC 3550): extended sequence numbers and loss
//! (§A.1, §A.3), interarrival jitter (§6.4.1, §A.8), the receiver report fields, and the
//! round-trip time from a received report block (§6.4.1, LSR and DLSR).
//!
//! Pure bookkeeping: the caller passes arrival times in milliseconds of its own clock.

/// A sequence number jump this far ahead still counts as in order (§A.1 `MAX_DROPOUT`).
const MAX_DROPOUT: u16 = 3000;
/// A sequence number this far behind is a late packet, not a restart (§A.1 `MAX_MISORDER`).
const MAX_MISORDER: u16 = 100;
/// The sequence number space (§A.1 `RTP_SEQ_MOD`).
const SEQ_MOD: u64 = 1 << 16;

/// Seconds from the NTP epoch (1900) to the Unix epoch (1970).
const NTP_UNIX_OFFSET: u64 = 2_208_988_800;

/// What a stream looks like now, for logs, metrics and the call log.
#[derive(Debug, Clone, Copy, Default, serde::Serialize)]
pub struct StatsSnapshot {
    /// Packets received, including duplicates and late ones.
    pub packets_received: u64,
    /// Payload-and-header bytes received.
    pub bytes_received: u64,
    /// Packets sent on the stream's leg.
    pub packets_sent: u64,
    /// Bytes sent on the stream's leg.
    pub bytes_sent: u64,
    /// Cumulative packets lost, expected minus received (§6.4.1); negative when
    /// duplicates outnumber losses.
    pub packets_lost: i64,
    /// The interarrival jitter (§6.4.1) in milliseconds.
    pub jitter_ms: f64,
    /// The arrival time of the last packet, in the caller's milliseconds.
    pub last_received_ms: Option<u64>,
}

/// The fields of an RTCP reception report block (RFC 3550 §6.4.1) for this stream,
/// LSR and DLSR aside (they come from the sender reports, which this type does not see).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ReceptionReport {
    /// The loss since the previous report, in 1/256 (§A.3).
    pub fraction_lost: u8,
    /// The cumulative loss, clamped to the signed 24 bits of the field.
    pub cumulative_lost: i32,
    /// The extended highest sequence number received.
    pub extended_highest_seq: u32,
    /// The jitter in timestamp units of the stream's clock.
    pub jitter: u32,
}

/// Reception statistics of one RTP stream (one SSRC).
#[derive(Debug, Clone, Default)]
pub struct RtpStats {
    /// False until the first packet.
    started: bool,
    /// The first sequence number, extended (§A.1 `base_seq`).
    base_seq: u64,
    /// The highest sequence number seen (§A.1 `max_seq`).
    max_seq: u16,
    /// The sequence number wraps, times 2^16 (§A.1 `cycles`).
    cycles: u64,
    /// The sequence number after a large jump, to detect a restarted source (§A.1).
    bad_seq: Option<u16>,
    /// Packets counted towards the loss (§A.1 `received`).
    counted: u64,
    /// `expected` and `counted` at the previous report (§A.3).
    expected_prior: u64,
    counted_prior: u64,
    /// The relative transit time of the previous in-order packet, in timestamp units
    /// (§A.8 `transit`).
    last_transit: Option<u32>,
    /// The clock rate of the previous packet; a change restarts the transit.
    last_clock_rate: u32,
    jitter_ms: f64,
    packets_received: u64,
    bytes_received: u64,
    packets_sent: u64,
    bytes_sent: u64,
    last_received_ms: Option<u64>,
    rtt_ms: Option<f64>,
}

impl RtpStats {
    /// Statistics of a stream that has received nothing.
    pub fn new() -> RtpStats {
        RtpStats::default()
    }

    /// Takes one received packet: its sequence number, RTP timestamp, arrival time in ms,
    /// the clock rate of its payload type and its size.
    ///
    /// Loss follows §A.1 (a jump of more than 3,000 ahead or 100 behind is ignored unless
    /// the next packet confirms it, which then restarts the count). Jitter follows §A.8
    /// but, as most stacks do, only over packets that arrive in order, so a reordered
    /// packet does not count as two large transit changes.
    pub fn on_packet(
        &mut self,
        seq: u16,
        rtp_ts: u32,
        arrival_ms: u64,
        clock_rate: u32,
        bytes: usize,
    ) {
        self.packets_received += 1;
        self.bytes_received += bytes as u64;
        self.last_received_ms = Some(arrival_ms);

        if !self.started {
            self.restart(seq);
            self.update_jitter(rtp_ts, arrival_ms, clock_rate);
            return;
        }
        let delta = seq.wrapping_sub(self.max_seq);
        if delta == 0 {
            // A duplicate of the highest packet: counted (§A.1 counts duplicates).
            self.counted += 1;
        } else if delta < MAX_DROPOUT {
            // In order, with a permissible gap.
            if seq < self.max_seq {
                self.cycles += SEQ_MOD;
            }
            self.max_seq = seq;
            self.bad_seq = None;
            self.counted += 1;
            self.update_jitter(rtp_ts, arrival_ms, clock_rate);
        } else if delta <= u16::MAX - MAX_MISORDER + 1 {
            // A very large jump: believe it only when the next packet follows it.
            if self.bad_seq == Some(seq) {
                self.restart(seq);
                self.last_transit = None;
                self.update_jitter(rtp_ts, arrival_ms, clock_rate);
            } else {
                self.bad_seq = Some(seq.wrapping_add(1));
            }
        } else {
            // A late or duplicate packet within the misorder window.
            self.counted += 1;
        }
    }

    fn restart(&mut self, seq: u16) {
        self.started = true;
        self.base_seq = u64::from(seq);
        self.max_seq = seq;
        self.cycles = 0;
        self.bad_seq = None;
        self.counted = 1;
        self.expected_prior = 0;
        self.counted_prior = 0;
    }

    /// §A.8: J += (|D| − J) / 16 with D the change of relative transit time, kept in ms so
    /// that a change of clock rate (a telephone-event at 8 kHz in an Opus stream) is fine.
    fn update_jitter(&mut self, rtp_ts: u32, arrival_ms: u64, clock_rate: u32) {
        if clock_rate == 0 {
            return;
        }
        if clock_rate != self.last_clock_rate {
            self.last_clock_rate = clock_rate;
            self.last_transit = None;
        }
        // The transit in timestamp units, wrapping like the timestamps themselves.
        let arrival_units = (u128::from(arrival_ms) * u128::from(clock_rate) / 1000) as u32;
        let transit = arrival_units.wrapping_sub(rtp_ts);
        if let Some(last) = self.last_transit {
            let d = transit.wrapping_sub(last) as i32;
            let d_ms = f64::from(d).abs() * 1000.0 / f64::from(clock_rate);
            self.jitter_ms += (d_ms - self.jitter_ms) / 16.0;
        }
        self.last_transit = Some(transit);
    }

    /// Counts one packet sent on the leg.
    pub fn on_sent(&mut self, bytes: usize) {
        self.packets_sent += 1;
        self.bytes_sent += bytes as u64;
    }

    fn extended_max(&self) -> u64 {
        self.cycles + u64::from(self.max_seq)
    }

    fn expected(&self) -> u64 {
        if !self.started {
            return 0;
        }
        (self.extended_max() + 1).saturating_sub(self.base_seq)
    }

    fn lost(&self) -> i64 {
        self.expected() as i64 - self.counted as i64
    }

    /// The counters now.
    pub fn snapshot(&self) -> StatsSnapshot {
        StatsSnapshot {
            packets_received: self.packets_received,
            bytes_received: self.bytes_received,
            packets_sent: self.packets_sent,
            bytes_sent: self.bytes_sent,
            packets_lost: self.lost(),
            jitter_ms: self.jitter_ms,
            last_received_ms: self.last_received_ms,
        }
    }

    /// The fields of a reception report block, and starts the next report interval
    /// (§A.3); `None` before the first packet.
    pub fn take_report(&mut self) -> Option<ReceptionReport> {
        if !self.started {
            return None;
        }
        let expected = self.expected();
        let expected_interval = expected.saturating_sub(self.expected_prior);
        let counted_interval = self.counted.saturating_sub(self.counted_prior);
        self.expected_prior = expected;
        self.counted_prior = self.counted;
        let lost_interval = expected_interval as i64 - counted_interval as i64;
        let fraction_lost = if expected_interval == 0 || lost_interval <= 0 {
            0
        } else {
            ((lost_interval << 8) / expected_interval as i64).min(255) as u8
        };
        let jitter = (self.jitter_ms * f64::from(self.last_clock_rate) / 1000.0).round();
        Some(ReceptionReport {
            fraction_lost,
            cumulative_lost: self.lost().clamp(-0x80_0000, 0x7F_FFFF) as i32,
            extended_highest_seq: self.extended_max() as u32,
            jitter: jitter.clamp(0.0, f64::from(u32::MAX)) as u32,
        })
    }

    /// Takes a report block about our stream from the peer: its LSR and DLSR fields and
    /// the middle 32 bits of the NTP time it arrived (see [`ntp_middle32`]). The round
    /// trip is arrival − LSR − DLSR (§6.4.1); a block with no sender report yet (LSR 0)
    /// or an impossible result is ignored.
    pub fn on_rtcp_rr(&mut self, lsr: u32, dlsr: u32, arrival_ntp_middle32: u32) {
        if lsr == 0 {
            return;
        }
        let rtt = arrival_ntp_middle32.wrapping_sub(lsr).wrapping_sub(dlsr);
        // More than half the 18-hour range means the clocks went backwards.
        if rtt > u32::MAX / 2 {
            return;
        }
        self.rtt_ms = Some(f64::from(rtt) * 1000.0 / 65536.0);
    }

    /// The last round-trip time measured by [`RtpStats::on_rtcp_rr`].
    pub fn rtt_ms(&self) -> Option<f64> {
        self.rtt_ms
    }
}

/// The middle 32 bits of the NTP timestamp (16.16 fixed point seconds, §4) of a Unix time
/// in milliseconds: what an SR's LSR echoes and what [`RtpStats::on_rtcp_rr`] wants.
pub fn ntp_middle32(unix_ms: u64) -> u32 {
    let secs = unix_ms / 1000 + NTP_UNIX_OFFSET;
    let frac = (unix_ms % 1000) * 65536 / 1000;
    (((secs & 0xFFFF) << 16) | frac) as u32
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A 50 packets/s, 8 kHz stream with a constant 40 ms delay.
    fn feed(stats: &mut RtpStats, seqs: impl IntoIterator<Item = u16>, first: u16) {
        for seq in seqs {
            let n = u64::from(seq.wrapping_sub(first));
            stats.on_packet(
                seq,
                1234 + (n as u32) * 160,
                10_000 + n * 20 + 40,
                8000,
                172,
            );
        }
    }

    #[test]
    fn no_loss_and_no_jitter_at_constant_delay() {
        let mut s = RtpStats::new();
        feed(&mut s, 100..200, 100);
        let snap = s.snapshot();
        assert_eq!(snap.packets_received, 100);
        assert_eq!(snap.bytes_received, 17_200);
        assert_eq!(snap.packets_lost, 0);
        assert!(snap.jitter_ms.abs() < 1e-9, "{}", snap.jitter_ms);
        assert_eq!(snap.last_received_ms, Some(10_000 + 99 * 20 + 40));
        s.on_sent(100);
        s.on_sent(50);
        let snap = s.snapshot();
        assert_eq!((snap.packets_sent, snap.bytes_sent), (2, 150));
    }

    #[test]
    fn loss_with_gaps() {
        let mut s = RtpStats::new();
        feed(&mut s, (0..100).filter(|n| n % 10 != 3), 0);
        assert_eq!(s.snapshot().packets_lost, 10);
        let r = s.take_report().expect("report");
        assert_eq!(r.cumulative_lost, 10);
        assert_eq!(r.fraction_lost, (10 * 256 / 100) as u8);
        assert_eq!(r.extended_highest_seq, 99);
        // The next interval has no loss.
        feed(&mut s, 100..150, 0);
        let r = s.take_report().expect("report");
        assert_eq!(r.fraction_lost, 0);
        assert_eq!(r.cumulative_lost, 10);
    }

    #[test]
    fn reordering_is_not_loss() {
        let mut s = RtpStats::new();
        feed(&mut s, [0, 1, 3, 2, 4, 6, 5, 7], 0);
        let snap = s.snapshot();
        assert_eq!(snap.packets_lost, 0);
        assert_eq!(snap.packets_received, 8);
        // A duplicate makes the loss negative, as RFC 3550 §6.4.1 allows.
        feed(&mut s, [7], 0);
        assert_eq!(s.snapshot().packets_lost, -1);
    }

    #[test]
    fn sequence_wrap_around() {
        let mut s = RtpStats::new();
        let first: u16 = 65_500;
        let seqs: Vec<u16> = (0..100u16)
            .map(|i| first.wrapping_add(i))
            .filter(|&q| q != 2)
            .collect();
        feed(&mut s, seqs, first);
        assert_eq!(s.snapshot().packets_lost, 1);
        let r = s.take_report().expect("report");
        assert_eq!(r.extended_highest_seq, 65_536 + 63);
    }

    #[test]
    fn a_restarted_source_is_followed() {
        let mut s = RtpStats::new();
        feed(&mut s, 0..10, 0);
        // A jump far ahead: the first packet is ignored, the second confirms the restart.
        s.on_packet(40_000, 0, 20_000, 8000, 100);
        assert_eq!(s.snapshot().packets_lost, 0);
        s.on_packet(40_001, 160, 20_020, 8000, 100);
        s.on_packet(40_003, 480, 20_060, 8000, 100);
        assert_eq!(s.snapshot().packets_lost, 1);
    }

    #[test]
    fn jitter_of_a_variable_delay_stream() {
        let mut s = RtpStats::new();
        // Delay alternates 0 and 10 ms at 48 kHz: |D| = 10 ms every packet, J → 10 ms.
        for n in 0..500u64 {
            let delay = if n % 2 == 0 { 0 } else { 10 };
            s.on_packet(n as u16, (n * 960) as u32, n * 20 + delay, 48_000, 100);
        }
        let j = s.snapshot().jitter_ms;
        assert!((j - 10.0).abs() < 0.1, "{j}");
        let r = s.take_report().expect("report");
        assert!((i64::from(r.jitter) - 480).abs() <= 2, "{}", r.jitter);
    }

    #[test]
    fn rtt_from_a_report_block() {
        let mut s = RtpStats::new();
        assert_eq!(s.rtt_ms(), None);
        let sent = ntp_middle32(1_700_000_000_000);
        // The peer held our SR for 250 ms; the report arrived 400 ms after the SR left.
        let dlsr = 65536 / 4;
        let arrival = ntp_middle32(1_700_000_000_400);
        s.on_rtcp_rr(sent, dlsr, arrival);
        let rtt = s.rtt_ms().expect("rtt");
        assert!((rtt - 150.0).abs() < 0.1, "{rtt}");
        // No SR received by the peer yet: ignored.
        s.on_rtcp_rr(0, 0, arrival);
        assert!((s.rtt_ms().expect("rtt") - 150.0).abs() < 0.1);
        // Impossible (negative) round trips are ignored.
        s.on_rtcp_rr(arrival, 0, sent);
        assert!((s.rtt_ms().expect("rtt") - 150.0).abs() < 0.1);
    }

    #[test]
    fn ntp_middle_bits() {
        // 1970-01-01T00:00:00.5 is NTP 2208988800.5: seconds 0x83AA7E80.
        assert_eq!(ntp_middle32(500), 0x7E80_8000);
    }

    /// Every tenth packet lost, then alternately 0 and 10 ms late: the loss, the report's
    /// fraction and a jitter that grows towards 10 ms.
    #[test]
    fn loss_fraction_and_alternating_delay() {
        let mut r = RtpStats::new();
        for seq in (0u16..100).filter(|n| n % 10 != 3) {
            let ts = u32::from(seq) * 160;
            r.on_packet(seq, ts, u64::from(ts / 8) + 40, 8000, 172);
        }
        assert_eq!(r.snapshot().packets_lost, 10);
        assert!(r.snapshot().jitter_ms.abs() < 1e-9);
        let b = r.take_report().expect("a report");
        assert_eq!(b.extended_highest_seq, 99);
        assert_eq!(b.fraction_lost, (10 * 256 / 100) as u8);
        let mut r = RtpStats::new();
        for seq in 0u16..400 {
            let ts = u32::from(seq) * 160;
            let late = if seq % 2 == 0 { 0 } else { 10 };
            r.on_packet(seq, ts, u64::from(ts / 8) + 40 + late, 8000, 172);
        }
        let jitter = r.snapshot().jitter_ms;
        assert!((jitter - 10.0).abs() < 0.5, "{jitter}");
    }
}
