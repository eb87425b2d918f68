//! Sans-IO pieces of RTP media that every shell needs: the reception statistics of a stream
//! (RFC 3550: loss, jitter, report blocks, round-trip time) and RFC 4733 telephone-events
//! (DTMF: parsing, detection of key presses, generation). The gateway's media relay and the
//! native audio stream both use them.

pub mod dtmf;
pub mod stats;

pub use dtmf::{digit_to_event, event_to_digit, DtmfDetector, DtmfGenerator, TelephoneEvent};
pub use stats::{ntp_middle32, ReceptionReport, RtpStats, StatsSnapshot};
