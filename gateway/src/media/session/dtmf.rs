//! RFC 4733 events towards the SIP leg, in sequence with the audio they interrupt.
//!
//! A digit's packets go out one per 20 ms (§2.5.1.2). Each is numbered when it goes, not
//! when the digit is queued: numbered up front, the later packets of a digit would reach the
//! peer behind audio with higher sequence numbers, and a jitter buffer (baresip's, for one)
//! drops them as late. While a digit is going out the browser's audio towards SIP is held
//! back, so the event is not mixed with the microphone.

use super::Pipe;
use sipsimple::rtp::dtmf::DtmfGenerator;
use std::collections::VecDeque;
use webrtc::rtp::header::Header;

/// How long a digit from the browser is held, in ms (what a short key press lasts).
const DIGIT_MS: u32 = 160;
/// The telephone-event clock the gateway offers and accepts (`telephone-event/8000`).
const CLOCK: u32 = 8000;
/// How far the next digit's timestamp moves when no audio has moved the clock since the
/// previous one: its duration plus the 40 ms gap of ITU-T Q.23, in 8 kHz units.
const NEXT_DIGIT_STEP: u32 = (DIGIT_MS + 40) * CLOCK / 1000;

/// The digits waiting to go out on the SIP leg.
#[derive(Debug, Default)]
pub(super) struct DtmfOut {
    /// `(first packet of its digit, payload)`, in sending order.
    events: VecDeque<(bool, [u8; 4])>,
    /// The timestamp of the digit being sent: every packet of an event carries it.
    ts: Option<u32>,
    /// A sender is running: it calls [`DtmfOut::next`] every 20 ms until `None`.
    sending: bool,
}

impl DtmfOut {
    /// Queues `digit`: `None` for a character that is no DTMF key, else whether a sender
    /// must be started (none is running; a running one takes the new packets too).
    pub(super) fn queue(&mut self, digit: char) -> Option<bool> {
        let events = DtmfGenerator::packets(digit, DIGIT_MS, CLOCK)?;
        self.events.extend(
            events
                .into_iter()
                .map(|(first, _, payload)| (first, payload)),
        );
        Some(!std::mem::replace(&mut self.sending, true))
    }

    /// `true` while a digit is going out: the browser's audio waits.
    pub(super) fn holds_audio(&self) -> bool {
        self.sending
    }

    /// The next packet's header (numbered now, from `pipe`) and payload, or `None` when the
    /// queue is empty; the sender then stops and the audio flows again.
    pub(super) fn next(&mut self, pipe: &mut Pipe, pt: u8) -> Option<(Header, [u8; 4])> {
        let Some((first, payload)) = self.events.pop_front() else {
            self.sending = false;
            return None;
        };
        if first || self.ts.is_none() {
            // A digit starts at the audio's clock, or past the previous digit when no
            // audio has moved the clock since: each event needs a timestamp of its own.
            if self.ts == Some(pipe.ts) {
                pipe.ts = pipe.ts.wrapping_add(NEXT_DIGIT_STEP);
            }
            self.ts = Some(pipe.ts);
        }
        let ts = self.ts.unwrap_or(pipe.ts);
        Some((pipe.header(pt, ts, first), payload))
    }

    /// Forgets what is queued (the leg is gone or not negotiated).
    pub(super) fn clear(&mut self) {
        self.events.clear();
        self.sending = false;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sipsimple::rtp::dtmf::TelephoneEvent;

    fn audio(pipe: &mut Pipe, out: &DtmfOut, ts: u32) -> Option<Header> {
        pipe.ts = ts;
        (!out.holds_audio()).then(|| pipe.header(0, ts, false))
    }

    /// Audio every 20 ms and a digit queued in the middle: what reaches the wire is numbered
    /// in the order it goes, no audio is sent while the digit is, and the digit's packets
    /// share one timestamp with the M bit on the first only.
    #[test]
    fn a_digit_interrupts_the_audio_in_sequence() {
        let mut pipe = Pipe::new(0x1234_5678);
        let mut out = DtmfOut::default();
        let mut wire: Vec<(Header, Option<TelephoneEvent>)> = Vec::new();
        let mut ts = 1000u32;
        for _ in 0..3 {
            ts += 160;
            wire.extend(audio(&mut pipe, &out, ts).map(|h| (h, None)));
        }
        assert_eq!(out.queue('5'), Some(true));
        assert_eq!(
            out.queue('7'),
            Some(false),
            "a running sender takes the next digit"
        );
        // The sender's ticks and the browser's packets interleave.
        while let Some((h, p)) = out.next(&mut pipe, 101) {
            wire.push((h, TelephoneEvent::parse(&p)));
            ts += 160;
            wire.extend(audio(&mut pipe, &out, ts).map(|h| (h, None)));
        }
        ts += 160;
        wire.extend(audio(&mut pipe, &out, ts).map(|h| (h, None)));

        for pair in wire.windows(2) {
            assert_eq!(
                pair[1].0.sequence_number,
                pair[0].0.sequence_number.wrapping_add(1),
                "numbered in sending order"
            );
        }
        let events: Vec<_> = wire.iter().filter(|(_, e)| e.is_some()).collect();
        assert_eq!(
            events.len(),
            2 * DtmfGenerator::packets('5', 160, 8000).map_or(0, |p| p.len())
        );
        // Between the first event packet and the last, only events.
        let first = wire.iter().position(|(_, e)| e.is_some()).unwrap_or(0);
        let last = wire.iter().rposition(|(_, e)| e.is_some()).unwrap_or(0);
        assert!(
            wire[first..=last].iter().all(|(_, e)| e.is_some()),
            "audio mixed into the event"
        );
        assert!(
            wire.last().is_some_and(|(_, e)| e.is_none()),
            "the audio resumes"
        );
        let digit = |d: u8| -> Vec<&Header> {
            events
                .iter()
                .filter(|(_, e)| e.as_ref().is_some_and(|e| e.event == d))
                .map(|(h, _)| h)
                .collect()
        };
        for (d, other) in [(5u8, 7u8), (7, 5)] {
            let hs = digit(d);
            assert!(
                hs.iter().all(|h| h.timestamp == hs[0].timestamp),
                "one timestamp per event"
            );
            assert!(
                hs[0].marker && hs[1..].iter().all(|h| !h.marker),
                "M bit on the first only"
            );
            assert_ne!(
                hs[0].timestamp,
                digit(other)[0].timestamp,
                "each digit its own event"
            );
        }
    }

    /// With no audio moving the clock, two digits still get distinct timestamps.
    #[test]
    fn digits_without_audio_get_their_own_timestamps() {
        let mut pipe = Pipe::new(7);
        let mut out = DtmfOut::default();
        out.queue('1');
        out.queue('1');
        let mut starts = Vec::new();
        while let Some((h, _)) = out.next(&mut pipe, 101) {
            if h.marker {
                starts.push(h.timestamp);
            }
        }
        assert_eq!(starts.len(), 2);
        assert_eq!(starts[1].wrapping_sub(starts[0]), NEXT_DIGIT_STEP);
        assert!(!out.holds_audio());
        assert_eq!(out.queue('x'), None);
    }
}
