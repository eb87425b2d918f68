//! DTMF as RTP telephone-events (RFC 4733): the 4-byte event payload (§2.3), a detector
//! that reports each key press once despite updates and retransmitted end packets (§2.5.2),
//! and a generator of the packets of one key press (§2.5.1).

/// The volume the generator sends: −10 dBm0, a typical DTMF level (RFC 4733 §2.3.4).
const GENERATED_VOLUME: u8 = 10;

/// The interval between updates of a generated event (RFC 4733 §2.5.1.2: "every 50 ms"
/// at most; 20 ms matches the audio packetisation).
const UPDATE_MS: u32 = 20;

/// How many times the end packet of an event is sent (RFC 4733 §2.5.1.4).
pub const END_REPEATS: usize = 3;

/// The highest event code that is a DTMF digit (RFC 4733 §3.2, table 7: 0-15).
const MAX_DTMF_EVENT: u8 = 15;

/// One telephone-event payload (RFC 4733 §2.3).
///
/// ```text
///  0                   1                   2                   3
///  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
/// |     event     |E|R| volume    |          duration             |
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TelephoneEvent {
    /// The event code (§3.2: 0-9, 10 = `*`, 11 = `#`, 12-15 = A-D).
    pub event: u8,
    /// The E bit: this packet ends the event.
    pub end: bool,
    /// The power level in −dBm0, 0 to 63 (§2.3.4).
    pub volume: u8,
    /// The duration so far in RTP timestamp units (§2.3.5).
    pub duration: u16,
}

impl TelephoneEvent {
    /// Reads a payload; `None` when it is shorter than 4 bytes. Bytes after the first
    /// event (a redundant block, RFC 4733 §2.4.1, is sent with RFC 2198 instead) are
    /// ignored; the reserved bit is ignored as §2.3.3 asks.
    pub fn parse(payload: &[u8]) -> Option<TelephoneEvent> {
        let [event, flags, d0, d1, ..] = *payload else {
            return None;
        };
        Some(TelephoneEvent {
            event,
            end: flags & 0x80 != 0,
            volume: flags & 0x3F,
            duration: u16::from_be_bytes([d0, d1]),
        })
    }

    /// The payload bytes; the reserved bit is zero and the volume is cut to 6 bits.
    pub fn encode(&self) -> [u8; 4] {
        let [d0, d1] = self.duration.to_be_bytes();
        let flags = if self.end { 0x80 } else { 0 } | (self.volume & 0x3F);
        [self.event, flags, d0, d1]
    }
}

/// The event code of a DTMF key: `0`-`9` → 0-9, `*` → 10, `#` → 11, `A`-`D` → 12-15
/// (either case); `None` for anything else (RFC 4733 §3.2).
pub fn digit_to_event(c: char) -> Option<u8> {
    match c.to_ascii_uppercase() {
        d @ '0'..='9' => Some(d as u8 - b'0'),
        '*' => Some(10),
        '#' => Some(11),
        l @ 'A'..='D' => Some(l as u8 - b'A' + 12),
        _ => None,
    }
}

/// The DTMF key of an event code 0-15 (capital `A`-`D`); `None` for other events.
pub fn event_to_digit(e: u8) -> Option<char> {
    match e {
        0..=9 => Some(char::from(b'0' + e)),
        10 => Some('*'),
        11 => Some('#'),
        12..=15 => Some(char::from(b'A' + e - 12)),
        _ => None,
    }
}

/// The event being received.
#[derive(Debug, Clone, Copy)]
struct Current {
    /// The RTP timestamp that names the event (§2.5.2.1).
    timestamp: u32,
    event: u8,
    /// The largest duration seen.
    duration: u16,
    ended: bool,
}

/// Reports each key press of a telephone-event stream once (RFC 4733 §2.5.2).
///
/// An event is named by its RTP timestamp: the digit is reported on the **first** packet
/// that carries a new timestamp (whether or not it has the M bit, which may have been
/// lost), for the lowest latency; its updates and the three end packets are not reported
/// again. A late packet of the event before (reordered after the new one) is ignored too.
/// A long event continued with a new timestamp after its duration reached 0xFFFF
/// (§2.5.1.3) counts as the same key press. Events that are not DTMF (codes above 15)
/// are ignored.
#[derive(Debug, Clone, Default)]
pub struct DtmfDetector {
    current: Option<Current>,
    /// The timestamp of the event before the current one, to ignore its stragglers.
    previous: Option<u32>,
}

impl DtmfDetector {
    /// A detector that has seen no event.
    pub fn new() -> DtmfDetector {
        DtmfDetector::default()
    }

    /// Forgets the events seen; call it when the stream's SSRC changes, as its timestamps
    /// start afresh.
    pub fn reset(&mut self) {
        *self = DtmfDetector::default();
    }

    /// Takes one telephone-event packet: its RTP timestamp and payload. Returns the digit
    /// when this packet starts a new DTMF event.
    pub fn on_packet(&mut self, rtp_timestamp: u32, payload: &[u8]) -> Option<char> {
        let ev = TelephoneEvent::parse(payload)?;
        if ev.event > MAX_DTMF_EVENT {
            return None;
        }
        if let Some(cur) = &mut self.current {
            if cur.timestamp == rtp_timestamp {
                // An update or a (retransmitted) end packet of the current event.
                cur.duration = cur.duration.max(ev.duration);
                cur.ended |= ev.end;
                return None;
            }
            if self.previous == Some(rtp_timestamp) {
                return None;
            }
            // §2.5.1.3: a long event goes on with timestamp + 0xFFFF and a fresh duration.
            let continues = !cur.ended
                && cur.event == ev.event
                && cur.duration == u16::MAX
                && rtp_timestamp == cur.timestamp.wrapping_add(u32::from(u16::MAX));
            if continues {
                *cur = Current {
                    timestamp: rtp_timestamp,
                    event: ev.event,
                    duration: ev.duration,
                    ended: ev.end,
                };
                return None;
            }
            // A packet older than the current event (a straggler from earlier) says nothing
            // new; RTP timestamps compare modulo 2^32 (RFC 3550 §5.1).
            if (rtp_timestamp.wrapping_sub(cur.timestamp) as i32) < 0 {
                return None;
            }
            self.previous = Some(cur.timestamp);
        }
        self.current = Some(Current {
            timestamp: rtp_timestamp,
            event: ev.event,
            duration: ev.duration,
            ended: ev.end,
        });
        event_to_digit(ev.event)
    }
}

/// Builds the telephone-event packets of one key press (RFC 4733 §2.5.1).
#[derive(Debug, Clone, Copy)]
pub struct DtmfGenerator;

impl DtmfGenerator {
    /// The packets of `digit` held for `duration_ms` with a `clock_rate` RTP clock, in
    /// sending order, one every 20 ms: each is `(marker, timestamp offset, payload)`.
    ///
    /// The first packet has the M bit (§2.5.1.1); every packet of the event carries the
    /// event's start timestamp, so the offset is always 0 (§2.5.1.2) and the caller adds
    /// its base timestamp and the sequence numbers. Updates carry the growing duration;
    /// the last 20 ms step is the end packet, sent three times with the final duration
    /// (§2.5.1.4) — the three may go out back to back or 20 ms apart. Durations are capped
    /// at 0xFFFF timestamp units (1.36 s at 48 kHz; this generator makes no long-event
    /// segments). `None` for a character that is no DTMF key, a zero duration or rate.
    pub fn packets(
        digit: char,
        duration_ms: u32,
        clock_rate: u32,
    ) -> Option<Vec<(bool, u32, [u8; 4])>> {
        let event = digit_to_event(digit)?;
        if duration_ms == 0 || clock_rate == 0 {
            return None;
        }
        let units = |ms: u32| -> u16 {
            let u = u64::from(ms) * u64::from(clock_rate) / 1000;
            u16::try_from(u).unwrap_or(u16::MAX)
        };
        let total = units(duration_ms);
        let steps = duration_ms.div_ceil(UPDATE_MS);
        let mut packets = Vec::with_capacity(steps as usize + END_REPEATS);
        for step in 1..steps {
            let ev = TelephoneEvent {
                event,
                end: false,
                volume: GENERATED_VOLUME,
                duration: units(step * UPDATE_MS),
            };
            packets.push((step == 1, 0, ev.encode()));
        }
        let end = TelephoneEvent {
            event,
            end: true,
            volume: GENERATED_VOLUME,
            duration: total,
        };
        for i in 0..END_REPEATS {
            // A press no longer than one step is all end packets; the first has the M bit.
            packets.push((steps == 1 && i == 0, 0, end.encode()));
        }
        Some(packets)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payload_round_trip() {
        let ev = TelephoneEvent {
            event: 11,
            end: true,
            volume: 10,
            duration: 800,
        };
        let bytes = ev.encode();
        assert_eq!(bytes, [11, 0x8A, 0x03, 0x20]);
        assert_eq!(TelephoneEvent::parse(&bytes), Some(ev));
        // The reserved bit is ignored on receipt.
        assert_eq!(TelephoneEvent::parse(&[11, 0xCA, 0x03, 0x20]), Some(ev));
        assert_eq!(TelephoneEvent::parse(&[1, 2, 3]), None);
        assert_eq!(
            TelephoneEvent::parse(&[5, 0x3F, 0, 160, 9, 9]).map(|e| (e.event, e.volume)),
            Some((5, 63))
        );
    }

    #[test]
    fn digits_and_events() {
        for (c, e) in [
            ('0', 0),
            ('9', 9),
            ('*', 10),
            ('#', 11),
            ('A', 12),
            ('d', 15),
        ] {
            assert_eq!(digit_to_event(c), Some(e));
        }
        assert_eq!(digit_to_event('E'), None);
        assert_eq!(digit_to_event('x'), None);
        for e in 0..=15 {
            let c = event_to_digit(e).expect("a digit");
            assert_eq!(digit_to_event(c), Some(e));
        }
        assert_eq!(event_to_digit(16), None);
    }

    #[test]
    fn detector_reports_each_event_once() {
        let mut d = DtmfDetector::new();
        let mut got = Vec::new();
        // Digit 1: start, two updates, three end packets.
        let ts = 1000;
        for (dur, end) in [(160, false), (320, false), (480, false)] {
            got.extend(
                d.on_packet(
                    ts,
                    &TelephoneEvent {
                        event: 1,
                        end,
                        volume: 10,
                        duration: dur,
                    }
                    .encode(),
                ),
            );
        }
        for _ in 0..3 {
            got.extend(
                d.on_packet(
                    ts,
                    &TelephoneEvent {
                        event: 1,
                        end: true,
                        volume: 10,
                        duration: 640,
                    }
                    .encode(),
                ),
            );
        }
        // The same digit again is a new event with a new timestamp.
        let ts2 = 5000;
        for _ in 0..3 {
            got.extend(
                d.on_packet(
                    ts2,
                    &TelephoneEvent {
                        event: 1,
                        end: true,
                        volume: 10,
                        duration: 160,
                    }
                    .encode(),
                ),
            );
        }
        // A late end packet of the first event after the second began.
        got.extend(
            d.on_packet(
                ts,
                &TelephoneEvent {
                    event: 1,
                    end: true,
                    volume: 10,
                    duration: 640,
                }
                .encode(),
            ),
        );
        // Then '#', whose first packets were lost: reported on its end packet.
        got.extend(
            d.on_packet(
                9000,
                &TelephoneEvent {
                    event: 11,
                    end: true,
                    volume: 10,
                    duration: 800,
                }
                .encode(),
            ),
        );
        // A non-DTMF event (flash hook, 16) is ignored.
        got.extend(
            d.on_packet(
                12000,
                &TelephoneEvent {
                    event: 16,
                    end: false,
                    volume: 10,
                    duration: 160,
                }
                .encode(),
            ),
        );
        // Garbage is ignored.
        got.extend(d.on_packet(13000, &[1]));
        assert_eq!(got, ['1', '1', '#']);
    }

    #[test]
    fn detector_handles_timestamp_wrap_and_long_events() {
        let mut d = DtmfDetector::new();
        let ts = u32::MAX - 100;
        assert_eq!(d.on_packet(ts, &[5, 0, 0xFF, 0xFF]), Some('5'));
        // Continued with a new timestamp (RFC 4733 §2.5.1.3): the same press.
        let next = ts.wrapping_add(0xFFFF);
        assert_eq!(d.on_packet(next, &[5, 0, 0x01, 0x40]), None);
        assert_eq!(d.on_packet(next, &[5, 0x80, 0x02, 0x80]), None);
        // A new press after the wrap.
        assert_eq!(
            d.on_packet(next.wrapping_add(2000), &[6, 0, 0, 160]),
            Some('6')
        );
        // A new SSRC starts its timestamps anywhere.
        assert_eq!(d.on_packet(500, &[7, 0, 0, 160]), None);
        d.reset();
        assert_eq!(d.on_packet(500, &[7, 0, 0, 160]), Some('7'));
    }

    #[test]
    fn generator_follows_rfc4733() {
        // 100 ms at 8 kHz: updates at 20, 40, 60, 80 ms, then the end three times.
        let p = DtmfGenerator::packets('5', 100, 8000).expect("packets");
        assert_eq!(p.len(), 7);
        assert!(p[0].0, "the first packet has the marker");
        assert!(p[1..].iter().all(|(m, _, _)| !m));
        assert!(p.iter().all(|(_, off, _)| *off == 0));
        let evs: Vec<_> = p
            .iter()
            .map(|(_, _, b)| TelephoneEvent::parse(b).expect("payload"))
            .collect();
        let durations: Vec<u16> = evs.iter().map(|e| e.duration).collect();
        assert_eq!(durations, [160, 320, 480, 640, 800, 800, 800]);
        assert!(evs[..4]
            .iter()
            .all(|e| !e.end && e.event == 5 && e.volume == 10));
        assert!(evs[4..].iter().all(|e| e.end));

        // The detector sees one press.
        let mut d = DtmfDetector::new();
        let digits: Vec<char> = p
            .iter()
            .filter_map(|(_, _, b)| d.on_packet(42, b))
            .collect();
        assert_eq!(digits, ['5']);

        // 48 kHz Opus clock, a short press: only end packets, the first marked.
        let p = DtmfGenerator::packets('#', 20, 48_000).expect("packets");
        assert_eq!(p.len(), 3);
        assert!(p[0].0 && !p[1].0 && !p[2].0);
        assert_eq!(
            TelephoneEvent::parse(&p[0].2).map(|e| (e.event, e.end, e.duration)),
            Some((11, true, 960))
        );
        // Long presses cap the duration.
        let p = DtmfGenerator::packets('1', 5000, 48_000).expect("packets");
        assert_eq!(
            TelephoneEvent::parse(&p[p.len() - 1].2).map(|e| e.duration),
            Some(u16::MAX)
        );

        assert!(DtmfGenerator::packets('x', 100, 8000).is_none());
        assert!(DtmfGenerator::packets('1', 0, 8000).is_none());
    }

    /// Retransmitted end packets, a straggler of the event before and a non-DTMF event say
    /// nothing new: one digit per press (the native audio stream's case).
    #[test]
    fn one_digit_per_press_with_stragglers() {
        for e in 0..=15 {
            let c = event_to_digit(e).expect("a digit");
            assert_eq!(digit_to_event(c), Some(e));
        }
        assert_eq!(digit_to_event('x'), None);
        let payload = |event, end| {
            TelephoneEvent {
                event,
                end,
                volume: 10,
                duration: 160,
            }
            .encode()
        };
        assert_eq!(
            TelephoneEvent {
                event: 11,
                end: true,
                volume: 10,
                duration: 800
            }
            .encode(),
            [11, 0x8A, 0x03, 0x20]
        );
        let mut d = DtmfDetector::new();
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
            got.extend(d.on_packet(ts, &payload(ev, end)));
        }
        got.extend(d.on_packet(12000, &[1, 2]));
        assert_eq!(got, ['1', '#']);
    }
}
