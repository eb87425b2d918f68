//! The RTP building blocks of the native audio stream: the RTP fixed header (RFC 3550 §5.1),
//! G.711 μ-law and A-law (ITU-T G.711; the PCMU and PCMA payload formats of RFC 3551
//! §4.5.14), DTMF as telephone-events (RFC 4733 §2.3, §2.5), reception statistics (RFC 3550
//! §6.4.1, §A.1, §A.8) and the sender report the stream sends on its RTCP port (§6.4.1,
//! §6.5).
//!
//! Pure functions and bookkeeping: no sockets and no clock; every time is an argument.

use crate::g711::{alaw_to_linear, linear_to_alaw, linear_to_ulaw, ulaw_to_linear};
/// The RTP version of RFC 3550.
const RTP_VERSION: u8 = 2;
/// The fixed header's length (RFC 3550 §5.1).
const RTP_HEADER_LEN: usize = 12;

/// One received RTP packet, borrowed from the datagram.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct RtpPacket<'a> {
    /// The M bit.
    pub marker: bool,
    /// The payload type (7 bits).
    pub payload_type: u8,
    /// The sequence number.
    pub sequence: u16,
    /// The RTP timestamp.
    pub timestamp: u32,
    /// The synchronisation source.
    pub ssrc: u32,
    /// The payload, without CSRCs, header extension or padding.
    pub payload: &'a [u8],
}

impl<'a> RtpPacket<'a> {
    /// Reads a datagram (RFC 3550 §5.1, §5.3.1); `None` when it is no well-formed RTP
    /// version 2 packet. Lengths from the packet are checked before slicing.
    pub(crate) fn parse(datagram: &'a [u8]) -> Option<RtpPacket<'a>> {
        let header = datagram.get(..RTP_HEADER_LEN)?;
        let [b0, b1, s0, s1, t0, t1, t2, t3, i0, i1, i2, i3] = *header else {
            return None;
        };
        if b0 >> 6 != RTP_VERSION {
            return None;
        }
        let payload_type = b1 & 0x7F;
        if (72..=76).contains(&payload_type) {
            // RTCP packet types 200-204 with the M bit read as RTP (RFC 5761 §4).
            return None;
        }
        let csrc_count = usize::from(b0 & 0x0F);
        let mut start = RTP_HEADER_LEN + 4 * csrc_count;
        let mut end = datagram.len();
        if b0 & 0x10 != 0 {
            // A header extension: 16-bit profile, 16-bit length in 32-bit words (§5.3.1).
            let &[_, _, l0, l1] = datagram.get(start..start + 4)? else {
                return None;
            };
            let words = usize::from(u16::from_be_bytes([l0, l1]));
            start += 4 + 4 * words;
        }
        if b0 & 0x20 != 0 {
            // Padding: the last octet counts the padding octets, itself included.
            let pad = usize::from(*datagram.last()?);
            if pad == 0 {
                return None;
            }
            end = end.checked_sub(pad)?;
        }
        let payload = datagram.get(start..end)?;
        Some(RtpPacket {
            marker: b1 & 0x80 != 0,
            payload_type,
            sequence: u16::from_be_bytes([s0, s1]),
            timestamp: u32::from_be_bytes([t0, t1, t2, t3]),
            ssrc: u32::from_be_bytes([i0, i1, i2, i3]),
            payload,
        })
    }
}

/// Writes an RTP packet without CSRCs, extension or padding to `out` (cleared first).
pub(crate) fn encode_rtp(
    out: &mut Vec<u8>,
    marker: bool,
    payload_type: u8,
    sequence: u16,
    timestamp: u32,
    ssrc: u32,
    payload: &[u8],
) {
    out.clear();
    out.push(RTP_VERSION << 6);
    out.push(if marker { 0x80 } else { 0 } | (payload_type & 0x7F));
    out.extend_from_slice(&sequence.to_be_bytes());
    out.extend_from_slice(&timestamp.to_be_bytes());
    out.extend_from_slice(&ssrc.to_be_bytes());
    out.extend_from_slice(payload);
}

// ---------------------------------------------------------------------------------------
// G.711
// ---------------------------------------------------------------------------------------

/// A G.711 law: the two codecs of the native audio stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum G711 {
    /// μ-law, `PCMU/8000`, static payload type 0.
    Pcmu,
    /// A-law, `PCMA/8000`, static payload type 8.
    Pcma,
}

impl G711 {
    /// The codec of an encoding name and clock rate (names are case-insensitive, RFC 4855
    /// §3).
    pub(crate) fn from_rtpmap(
        encoding: &str,
        clock_rate: u32,
        channels: Option<u16>,
    ) -> Option<G711> {
        if clock_rate != 8000 || channels.is_some_and(|c| c != 1) {
            return None;
        }
        if encoding.eq_ignore_ascii_case("PCMU") {
            Some(G711::Pcmu)
        } else if encoding.eq_ignore_ascii_case("PCMA") {
            Some(G711::Pcma)
        } else {
            None
        }
    }

    /// The encoding name of `a=rtpmap`.
    pub(crate) fn name(self) -> &'static str {
        match self {
            G711::Pcmu => "PCMU",
            G711::Pcma => "PCMA",
        }
    }

    /// Appends the encoding of `pcm` to `out`, one byte per sample.
    pub(crate) fn encode(self, pcm: &[i16], out: &mut Vec<u8>) {
        match self {
            G711::Pcmu => out.extend(pcm.iter().map(|&s| linear_to_ulaw(s))),
            G711::Pcma => out.extend(pcm.iter().map(|&s| linear_to_alaw(s))),
        }
    }

    /// Appends the linear samples of `data` to `out`.
    pub(crate) fn decode(self, data: &[u8], out: &mut Vec<i16>) {
        match self {
            G711::Pcmu => out.extend(data.iter().map(|&b| ulaw_to_linear(b))),
            G711::Pcma => out.extend(data.iter().map(|&b| alaw_to_linear(b))),
        }
    }
}

// ---------------------------------------------------------------------------------------
// RFC 4733 telephone-events
// ---------------------------------------------------------------------------------------

/// The volume generated events carry: −10 dBm0 (RFC 4733 §2.3.4).
const DTMF_VOLUME: u8 = 10;
/// The highest event code that is a DTMF key (RFC 4733 §3.2).
const MAX_DTMF_EVENT: u8 = 15;
/// How many times an end packet is sent (RFC 4733 §2.5.1.4).
pub(crate) const DTMF_END_REPEATS: usize = 3;

/// The event code of a DTMF key: `0`-`9`, `*` = 10, `#` = 11, `A`-`D` = 12-15, any case
/// (RFC 4733 §3.2).
pub(crate) fn digit_to_event(c: char) -> Option<u8> {
    match c.to_ascii_uppercase() {
        d @ '0'..='9' => Some(d as u8 - b'0'),
        '*' => Some(10),
        '#' => Some(11),
        l @ 'A'..='D' => Some(l as u8 - b'A' + 12),
        _ => None,
    }
}

/// The DTMF key of an event code 0-15.
pub(crate) fn event_to_digit(e: u8) -> Option<char> {
    match e {
        0..=9 => Some(char::from(b'0' + e)),
        10 => Some('*'),
        11 => Some('#'),
        12..=15 => Some(char::from(b'A' + e - 12)),
        _ => None,
    }
}

/// The 4-byte telephone-event payload (RFC 4733 §2.3): event, E bit, volume, duration in
/// timestamp units.
pub(crate) fn event_payload(event: u8, end: bool, duration: u16) -> [u8; 4] {
    let [d0, d1] = duration.to_be_bytes();
    [event, if end { 0x80 } else { 0 } | DTMF_VOLUME, d0, d1]
}

/// Reports each key press of a telephone-event stream once (RFC 4733 §2.5.2): an event is
/// named by its RTP timestamp, and its digit is reported on the first packet carrying a new
/// timestamp (whether or not its M bit survived); updates, the repeated end packets and
/// stragglers of the event before are not reported again.
#[derive(Debug, Clone, Default)]
pub(crate) struct DtmfDetector {
    /// The timestamp of the current event and of the one before it.
    current: Option<u32>,
    previous: Option<u32>,
}

impl DtmfDetector {
    /// Forgets the events seen (a new SSRC starts its timestamps afresh).
    pub(crate) fn reset(&mut self) {
        *self = DtmfDetector::default();
    }

    /// Takes one telephone-event packet; returns the digit when it starts a new event.
    pub(crate) fn on_packet(&mut self, timestamp: u32, payload: &[u8]) -> Option<char> {
        let [event, ..] = *payload.get(..4)? else {
            return None;
        };
        if event > MAX_DTMF_EVENT {
            return None;
        }
        if let Some(cur) = self.current {
            if cur == timestamp || self.previous == Some(timestamp) {
                return None;
            }
            // Older than the current event: a straggler (timestamps compare modulo 2^32).
            if (timestamp.wrapping_sub(cur) as i32) < 0 {
                return None;
            }
            self.previous = Some(cur);
        }
        self.current = Some(timestamp);
        event_to_digit(event)
    }
}

// ---------------------------------------------------------------------------------------
// Statistics (RFC 3550 §6.4.1, §A.1, §A.3, §A.8)
// ---------------------------------------------------------------------------------------

/// A sequence jump this far ahead still counts as in order (§A.1 `MAX_DROPOUT`).
const MAX_DROPOUT: u16 = 3000;
/// A sequence number this far behind is a late packet (§A.1 `MAX_MISORDER`).
const MAX_MISORDER: u16 = 100;
/// The sequence number space.
const SEQ_MOD: u64 = 1 << 16;

/// Reception statistics of the stream's source.
#[derive(Debug, Clone, Default)]
pub(crate) struct Reception {
    started: bool,
    base_seq: u64,
    max_seq: u16,
    cycles: u64,
    bad_seq: Option<u16>,
    /// Packets counted towards the loss (§A.1 `received`).
    counted: u64,
    expected_prior: u64,
    counted_prior: u64,
    last_transit: Option<u32>,
    /// The interarrival jitter in timestamp units, times 16 (§A.8).
    jitter_x16: u64,
}

/// The fields of a reception report block (RFC 3550 §6.4.1) but LSR and DLSR.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ReportBlock {
    pub fraction_lost: u8,
    pub cumulative_lost: i32,
    pub extended_highest_seq: u32,
    pub jitter: u32,
}

impl Reception {
    /// Takes one packet of an 8 kHz stream: its sequence number, RTP timestamp and arrival
    /// time in timestamp units of the receiver's clock. Loss follows §A.1; jitter follows
    /// §A.8 over packets that arrive in order.
    pub(crate) fn on_packet(&mut self, seq: u16, timestamp: u32, arrival: u32) {
        if !self.started {
            self.restart(seq);
            self.update_jitter(timestamp, arrival);
            return;
        }
        let delta = seq.wrapping_sub(self.max_seq);
        if delta == 0 {
            self.counted += 1;
        } else if delta < MAX_DROPOUT {
            if seq < self.max_seq {
                self.cycles += SEQ_MOD;
            }
            self.max_seq = seq;
            self.bad_seq = None;
            self.counted += 1;
            self.update_jitter(timestamp, arrival);
        } else if delta <= u16::MAX - MAX_MISORDER + 1 {
            // A very large jump: believed only when the next packet follows it.
            if self.bad_seq == Some(seq) {
                self.restart(seq);
                self.last_transit = None;
                self.update_jitter(timestamp, arrival);
            } else {
                self.bad_seq = Some(seq.wrapping_add(1));
            }
        } else {
            // Late or duplicate, within the misorder window.
            self.counted += 1;
        }
    }

    /// A new source: the counts start again.
    pub(crate) fn reset(&mut self) {
        *self = Reception::default();
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

    fn update_jitter(&mut self, timestamp: u32, arrival: u32) {
        let transit = arrival.wrapping_sub(timestamp);
        if let Some(last) = self.last_transit {
            let d = u64::from((transit.wrapping_sub(last) as i32).unsigned_abs());
            // J += (|D| - J) / 16, kept times 16 in integers (§A.8).
            self.jitter_x16 = self.jitter_x16 + d - ((self.jitter_x16 + 8) >> 4);
        }
        self.last_transit = Some(transit);
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

    /// Cumulative packets lost: expected minus received (negative with duplicates).
    pub(crate) fn lost(&self) -> i64 {
        self.expected() as i64 - self.counted as i64
    }

    /// The jitter in milliseconds of the 8 kHz clock.
    pub(crate) fn jitter_ms(&self) -> f64 {
        (self.jitter_x16 as f64 / 16.0) / 8.0
    }

    /// The report block fields, starting the next interval (§A.3); `None` before the first
    /// packet.
    pub(crate) fn take_report(&mut self) -> Option<ReportBlock> {
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
        Some(ReportBlock {
            fraction_lost,
            cumulative_lost: self.lost().clamp(-0x80_0000, 0x7F_FFFF) as i32,
            extended_highest_seq: self.extended_max() as u32,
            jitter: u32::try_from(self.jitter_x16 >> 4).unwrap_or(u32::MAX),
        })
    }
}

// ---------------------------------------------------------------------------------------
// RTCP (RFC 3550 §6.4.1, §6.5)
// ---------------------------------------------------------------------------------------

/// Seconds from the NTP epoch (1900) to the Unix epoch (1970).
const NTP_UNIX_OFFSET: u64 = 2_208_988_800;

/// What a sender report says about us.
#[derive(Debug, Clone, Copy)]
pub(crate) struct SenderInfo {
    /// Wall-clock time as milliseconds since the Unix epoch.
    pub unix_ms: u64,
    /// The RTP timestamp of the same instant.
    pub rtp_timestamp: u32,
    pub packets: u32,
    pub octets: u32,
}

/// A compound RTCP packet (§6.1): a sender report with at most one report block about
/// `source`, then an SDES with our CNAME.
pub(crate) fn encode_sender_report(
    out: &mut Vec<u8>,
    ssrc: u32,
    info: SenderInfo,
    block: Option<(u32, ReportBlock)>,
    cname: &str,
) {
    out.clear();
    let count = u8::from(block.is_some());
    // SR: header, sender info (20 bytes), report blocks (24 bytes each).
    let words = 6 + 6 * u16::from(count);
    out.push((RTP_VERSION << 6) | count);
    out.push(200);
    out.extend_from_slice(&words.to_be_bytes());
    out.extend_from_slice(&ssrc.to_be_bytes());
    let secs = info.unix_ms / 1000 + NTP_UNIX_OFFSET;
    let frac = ((info.unix_ms % 1000) << 32) / 1000;
    out.extend_from_slice(&(secs as u32).to_be_bytes());
    out.extend_from_slice(&(frac as u32).to_be_bytes());
    out.extend_from_slice(&info.rtp_timestamp.to_be_bytes());
    out.extend_from_slice(&info.packets.to_be_bytes());
    out.extend_from_slice(&info.octets.to_be_bytes());
    if let Some((source, b)) = block {
        out.extend_from_slice(&source.to_be_bytes());
        let lost = (b.cumulative_lost as u32) & 0x00FF_FFFF;
        out.extend_from_slice(&((u32::from(b.fraction_lost) << 24) | lost).to_be_bytes());
        out.extend_from_slice(&b.extended_highest_seq.to_be_bytes());
        out.extend_from_slice(&b.jitter.to_be_bytes());
        // LSR and DLSR: no sender report of theirs is tracked.
        out.extend_from_slice(&[0; 8]);
    }
    // SDES (§6.5) with one chunk: our SSRC, CNAME, the end item, padding to 32 bits.
    let name = &cname.as_bytes()[..cname.len().min(255)];
    let chunk_len = 4 + 2 + name.len() + 1;
    let padded = chunk_len.div_ceil(4) * 4;
    let sdes_words = (padded / 4) as u16;
    out.push((RTP_VERSION << 6) | 1);
    out.push(202);
    out.extend_from_slice(&sdes_words.to_be_bytes());
    out.extend_from_slice(&ssrc.to_be_bytes());
    out.push(1);
    out.push(name.len() as u8);
    out.extend_from_slice(name);
    out.resize(out.len() + (padded - chunk_len) + 1, 0);
}

/// Whether a datagram looks like RTCP (§A.2: version 2, first packet an SR, RR, SDES, BYE
/// or APP, length within the datagram).
pub(crate) fn is_rtcp(datagram: &[u8]) -> bool {
    let Some(&[b0, pt, l0, l1]) = datagram.get(..4) else {
        return false;
    };
    let len = (usize::from(u16::from_be_bytes([l0, l1])) + 1) * 4;
    b0 >> 6 == RTP_VERSION && (200..=204).contains(&pt) && len <= datagram.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rtp_round_trip_and_malformed_packets() {
        let mut out = Vec::new();
        encode_rtp(&mut out, true, 0, 7, 160, 0xDEAD_BEEF, &[1, 2, 3]);
        let p = RtpPacket::parse(&out).expect("a packet");
        assert_eq!(
            (p.marker, p.payload_type, p.sequence, p.timestamp, p.ssrc),
            (true, 0, 7, 160, 0xDEAD_BEEF)
        );
        assert_eq!(p.payload, [1, 2, 3]);
        assert!(RtpPacket::parse(&out[..11]).is_none());
        // Version 1, a CSRC count past the end, padding longer than the packet.
        let mut bad = out.clone();
        bad[0] = 0x40;
        assert!(RtpPacket::parse(&bad).is_none());
        let mut bad = out.clone();
        bad[0] = 0x8F;
        assert!(RtpPacket::parse(&bad).is_none());
        let mut bad = out.clone();
        bad[0] |= 0x20;
        *bad.last_mut().expect("a byte") = 200;
        assert!(RtpPacket::parse(&bad).is_none());
        let mut bad = out.clone();
        bad[0] |= 0x10;
        assert!(RtpPacket::parse(&bad).is_none());
        // Padding and a CSRC are skipped.
        let mut ok = vec![0xA1, 8, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1, 9, 9, 9, 9, 5, 0, 2];
        ok[0] = 0xA1;
        let p = RtpPacket::parse(&ok).expect("a packet");
        assert_eq!((p.payload_type, p.payload), (8, &[5][..]));
    }

    #[test]
    fn g711_known_values_and_round_trip() {
        let mut u = Vec::new();
        G711::Pcmu.encode(&[0, -1, 32767, -32768, 1000, -1000], &mut u);
        assert_eq!(u, [0xFF, 0x7F, 0x80, 0x00, 0xCE, 0x4E]);
        let mut a = Vec::new();
        G711::Pcma.encode(&[0, -1, 32767, -32768, 1000, -1000], &mut a);
        assert_eq!(a, [0xD5, 0x55, 0xAA, 0x2A, 0xFA, 0x7A]);
        let mut pcm = Vec::new();
        G711::Pcmu.decode(&[0xFF, 0x7F, 0x80, 0x00], &mut pcm);
        assert_eq!(pcm, [0, 0, 32124, -32124]);
        pcm.clear();
        G711::Pcma.decode(&[0xD5, 0x55, 0xAA, 0x2A], &mut pcm);
        assert_eq!(pcm, [8, -8, 32256, -32256]);
        for law in [G711::Pcmu, G711::Pcma] {
            for s in (i16::MIN..=i16::MAX).step_by(13) {
                let (mut code, mut back) = (Vec::new(), Vec::new());
                law.encode(&[s], &mut code);
                law.decode(&code, &mut back);
                let err = (i32::from(s) - i32::from(back[0])).abs();
                assert!(
                    err <= (i32::from(s).abs() / 16).max(16) + 1100,
                    "{law:?} {s}"
                );
            }
        }
        assert_eq!(G711::from_rtpmap("pcmu", 8000, None), Some(G711::Pcmu));
        assert_eq!(G711::from_rtpmap("PCMA", 8000, Some(1)), Some(G711::Pcma));
        assert_eq!(G711::from_rtpmap("PCMA", 16000, None), None);
    }

    #[test]
    fn dtmf_digits_and_detector() {
        for e in 0..=15 {
            let c = event_to_digit(e).expect("a digit");
            assert_eq!(digit_to_event(c), Some(e));
        }
        assert_eq!(digit_to_event('x'), None);
        assert_eq!(event_payload(11, true, 800), [11, 0x8A, 0x03, 0x20]);
        let mut d = DtmfDetector::default();
        let mut got = Vec::new();
        for (ts, ev, end) in [
            (1000, 1, false),
            (1000, 1, false),
            (1000, 1, true),
            (1000, 1, true),
            (5000, 11, true),
            (1000, 1, true),
            (5000, 11, true),
            (9000, 16, false),
        ] {
            got.extend(d.on_packet(ts, &event_payload(ev, end, 160)));
        }
        got.extend(d.on_packet(12000, &[1, 2]));
        assert_eq!(got, ['1', '#']);
    }

    #[test]
    fn reception_counts_loss_and_jitter() {
        let mut r = Reception::default();
        for seq in (0u16..100).filter(|n| n % 10 != 3) {
            let ts = u32::from(seq) * 160;
            r.on_packet(seq, ts, ts + 320);
        }
        assert_eq!(r.lost(), 10);
        assert!(r.jitter_ms().abs() < 1e-9);
        let b = r.take_report().expect("a report");
        assert_eq!(b.extended_highest_seq, 99);
        assert_eq!(b.fraction_lost, (10 * 256 / 100) as u8);
        // Alternating 0 and 10 ms late: jitter grows towards 10 ms.
        let mut r = Reception::default();
        for seq in 0u16..400 {
            let ts = u32::from(seq) * 160;
            r.on_packet(seq, ts, ts + if seq % 2 == 0 { 0 } else { 80 });
        }
        assert!((r.jitter_ms() - 10.0).abs() < 0.5, "{}", r.jitter_ms());
    }

    #[test]
    fn sender_report_is_well_formed() {
        let mut out = Vec::new();
        let info = SenderInfo {
            unix_ms: 1_000,
            rtp_timestamp: 8000,
            packets: 50,
            octets: 8000,
        };
        let block = ReportBlock {
            fraction_lost: 0,
            cumulative_lost: 0,
            extended_highest_seq: 10,
            jitter: 3,
        };
        encode_sender_report(&mut out, 1, info, Some((2, block)), "alice@127.0.0.1");
        assert!(is_rtcp(&out));
        assert_eq!(out.len() % 4, 0);
        // SR of 7 words, then the SDES.
        assert_eq!(&out[..4], &[0x81, 200, 0, 12]);
        let sdes = &out[52..];
        assert_eq!(sdes[1], 202);
        let words = usize::from(u16::from_be_bytes([sdes[2], sdes[3]]));
        assert_eq!(sdes.len(), (words + 1) * 4);
        assert!(!is_rtcp(&out[..3]));
        assert!(RtpPacket::parse(&out).is_none());
    }
}
