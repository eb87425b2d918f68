//! The RTP building blocks of the native audio stream: the RTP fixed header (RFC 3550 §5.1),
//! G.711 μ-law and A-law (ITU-T G.711; the PCMU and PCMA payload formats of RFC 3551
//! §4.5.14) and the sender report the stream sends on its RTCP port (§6.4.1, §6.5). DTMF
//! events and reception statistics are the shared [`crate::rtp`]'s, as in the gateway.
//!
//! Pure functions and bookkeeping: no sockets and no clock; every time is an argument.

use crate::g711::{alaw_to_linear, linear_to_alaw, linear_to_ulaw, ulaw_to_linear};
use crate::rtp::ReceptionReport;
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
    block: Option<(u32, ReceptionReport)>,
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
    fn sender_report_is_well_formed() {
        let mut out = Vec::new();
        let info = SenderInfo {
            unix_ms: 1_000,
            rtp_timestamp: 8000,
            packets: 50,
            octets: 8000,
        };
        let block = ReceptionReport {
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
