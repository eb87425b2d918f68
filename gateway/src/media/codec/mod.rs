//! Audio codecs of the anchored call and the glue between them: G.711 μ-law and A-law
//! (ITU-T G.711; RTP payload formats PCMU/PCMA of RFC 3551 §4.5.14), Opus through libopus
//! (RFC 6716; RTP payload format RFC 7587: always a 48 kHz RTP clock), a windowed-sinc
//! polyphase resampler between the codecs' clock rates, and the [`Transcoder`] and [`PcmTap`]
//! built from them for the relay and the recorder.
//!
//! All PCM is mono, signed 16-bit, at the codec's clock rate unless a name says otherwise.

// A building block of the relay: the binary need not use every item yet; the test build
// still reports code that nothing, not even a test, uses.
#![cfg_attr(not(test), allow(dead_code))]

use std::fmt;

/// Samples in 20 ms at 8 kHz, the recorder's rate.
const RECORDER_RATE: u32 = 8000;

/// The largest Opus frame: 120 ms at 48 kHz (RFC 6716 §2.1.4).
const OPUS_MAX_FRAME: usize = 5760;

/// The largest Opus packet we produce; libopus needs no more than 1,275 bytes per frame
/// (RFC 6716 §3.2.1).
const OPUS_MAX_PACKET: usize = 1500;

/// The Opus bit rate of the encoder: wideband speech with room for in-band FEC.
const OPUS_BITRATE: i32 = 32_000;

/// The packet loss, in percent, the Opus encoder assumes; in-band FEC (LBRR) is only
/// emitted when this is above zero.
const OPUS_EXPECTED_LOSS: i32 = 5;

/// An audio codec the gateway can decode and encode.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Codec {
    /// Opus (RFC 6716, RFC 7587), 48 kHz RTP clock.
    Opus,
    /// G.711 μ-law, static payload type 0 (RFC 3551 §4.5.14).
    Pcmu,
    /// G.711 A-law, static payload type 8 (RFC 3551 §4.5.14).
    Pcma,
}

impl Codec {
    /// The RTP clock rate: 48,000 for Opus (RFC 7587 §4.1), 8,000 for G.711.
    pub fn clock_rate(self) -> u32 {
        match self {
            Codec::Opus => 48_000,
            Codec::Pcmu | Codec::Pcma => 8_000,
        }
    }

    /// The encoding name of `a=rtpmap` (RFC 4566 §6; RFC 3551 §6 table 4).
    pub fn rtp_name(self) -> &'static str {
        match self {
            Codec::Opus => "opus",
            Codec::Pcmu => "PCMU",
            Codec::Pcma => "PCMA",
        }
    }

    /// The static payload type of RFC 3551 §6, if the codec has one.
    pub fn static_pt(self) -> Option<u8> {
        match self {
            Codec::Opus => None,
            Codec::Pcmu => Some(0),
            Codec::Pcma => Some(8),
        }
    }

    /// The codec of an `a=rtpmap` encoding name; encoding names are case-insensitive
    /// (RFC 4855 §3).
    pub fn from_rtp_name(name: &str) -> Option<Codec> {
        [Codec::Opus, Codec::Pcmu, Codec::Pcma]
            .into_iter()
            .find(|c| c.rtp_name().eq_ignore_ascii_case(name))
    }

    /// The number of samples in 20 ms at the codec's clock rate (960 or 160).
    pub fn samples_per_20ms(self) -> usize {
        (self.clock_rate() / 50) as usize
    }
}

impl fmt::Display for Codec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.rtp_name())
    }
}

/// What went wrong while coding audio.
#[derive(Debug)]
#[non_exhaustive]
pub enum CodecError {
    /// libopus could not create an encoder or decoder; the message is libopus's.
    OpusInit(String),
    /// libopus refused a packet (corrupt, or not Opus at all).
    OpusDecode(String),
    /// libopus failed to encode a frame.
    OpusEncode(String),
    /// The encoder was given a frame that is not exactly 20 ms.
    FrameSize {
        /// The samples 20 ms take at the codec's clock rate.
        expected: usize,
        /// The samples given.
        got: usize,
    },
}

impl fmt::Display for CodecError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CodecError::OpusInit(e) => write!(f, "cannot set up libopus: {e}"),
            CodecError::OpusDecode(e) => write!(f, "cannot decode an Opus packet: {e}"),
            CodecError::OpusEncode(e) => write!(f, "cannot encode an Opus frame: {e}"),
            CodecError::FrameSize { expected, got } => write!(
                f,
                "an encoder frame must be 20 ms, {expected} samples, not {got}"
            ),
        }
    }
}

impl std::error::Error for CodecError {}

pub use sipsimple::g711::{alaw_decode, alaw_encode, ulaw_decode, ulaw_encode};

// ---------------------------------------------------------------------------------------
// Resampling
// ---------------------------------------------------------------------------------------

/// Filter taps per polyphase branch: the prototype low-pass has this many taps times the
/// larger of the up and down factors (48 kHz → 8 kHz: 144 taps at 48 kHz, whose response
/// is −1 dB at 3.4 kHz, −21 dB at 4 kHz and below −53 dB from 4.4 kHz on).
const TAPS_PER_PHASE: usize = 24;

/// The cut-off as a fraction of the lower rate (0.5 would be its Nyquist frequency).
const CUTOFF: f64 = 0.46;

/// Up or down factors beyond this (rates with no small common ratio, such as 44.1 kHz to
/// 48 kHz) are not resampled; the input passes through unchanged.
const MAX_FACTOR: u32 = 1024;

/// A rational sample-rate converter: a Hamming-windowed sinc low-pass run as a polyphase
/// filter, cut off at 46 % of the lower rate. State is kept between calls, so consecutive
/// blocks join without clicks.
///
/// Made for the 8, 16 and 48 kHz of the gateway's codecs (factors 2, 3 and 6); any pair of
/// rates whose reduced ratio has terms up to 1,024 works. Other pairs (and a zero rate) pass
/// the samples through unchanged.
#[derive(Debug, Clone)]
pub struct Resampler {
    /// The interpolation factor L.
    up: usize,
    /// The decimation factor M.
    down: usize,
    /// The prototype filter at L × the input rate, gain L at DC.
    taps: Vec<f32>,
    /// Taps per polyphase branch, `ceil(taps.len() / up)`.
    phase_len: usize,
    /// The last `phase_len - 1` input samples of earlier calls, oldest first.
    history: Vec<f32>,
    /// The position of the next output sample, in units of the interpolated rate, counted
    /// from the first sample of the next input block.
    next: usize,
    /// True when no conversion is needed or possible.
    passthrough: bool,
}

fn gcd(mut a: u32, mut b: u32) -> u32 {
    while b != 0 {
        (a, b) = (b, a % b);
    }
    a
}

impl Resampler {
    /// A converter from `from_hz` to `to_hz`.
    pub fn new(from_hz: u32, to_hz: u32) -> Resampler {
        let g = gcd(from_hz, to_hz);
        let (up, down) = if from_hz == 0 || to_hz == 0 {
            (1, 1)
        } else {
            (to_hz / g, from_hz / g)
        };
        let passthrough = up == down || up > MAX_FACTOR || down > MAX_FACTOR;
        if passthrough {
            return Resampler {
                up: 1,
                down: 1,
                taps: Vec::new(),
                phase_len: 1,
                history: Vec::new(),
                next: 0,
                passthrough: true,
            };
        }
        let (up, down) = (up as usize, down as usize);
        let factor = up.max(down);
        let len = TAPS_PER_PHASE * factor;
        // The cut-off in cycles per sample of the interpolated rate, so the Hamming
        // transition band (about 3.3 / len wide) ends a little past the lower Nyquist.
        let cutoff = CUTOFF / factor as f64;
        let centre = (len - 1) as f64 / 2.0;
        let mut taps: Vec<f64> = (0..len)
            .map(|n| {
                let x = n as f64 - centre;
                let sinc = if x == 0.0 {
                    2.0 * cutoff
                } else {
                    (2.0 * std::f64::consts::PI * cutoff * x).sin() / (std::f64::consts::PI * x)
                };
                let window =
                    0.54 - 0.46 * (2.0 * std::f64::consts::PI * n as f64 / (len - 1) as f64).cos();
                sinc * window
            })
            .collect();
        // Unity gain at DC after zero-stuffing by `up`.
        let sum: f64 = taps.iter().sum();
        if sum != 0.0 {
            for t in &mut taps {
                *t *= up as f64 / sum;
            }
        }
        let phase_len = len.div_ceil(up);
        Resampler {
            up,
            down,
            taps: taps.into_iter().map(|t| t as f32).collect(),
            phase_len,
            history: vec![0.0; phase_len.saturating_sub(1)],
            next: 0,
            passthrough: false,
        }
    }

    /// Converts `input` and appends the result to `out`. Blocks may have any length; the
    /// output of a block of `n` samples is `n × to / from` samples, give or take one.
    pub fn process(&mut self, input: &[i16], out: &mut Vec<i16>) {
        if self.passthrough {
            out.extend_from_slice(input);
            return;
        }
        let hist = self.history.len();
        // The working signal: the kept history, then this block.
        let mut x = Vec::with_capacity(hist + input.len());
        x.extend_from_slice(&self.history);
        x.extend(input.iter().map(|&s| f32::from(s)));
        let limit = input.len() * self.up;
        out.reserve(limit / self.down + 1);
        let mut n = self.next;
        while n < limit {
            let i = n / self.up;
            let phase = n % self.up;
            // y[n] = Σ_m h[phase + m·L] · x[i − m], with x[i] at index hist + i of `x`.
            let newest = hist + i;
            let mut acc = 0.0f32;
            for m in 0..self.phase_len {
                let Some(&h) = self.taps.get(phase + m * self.up) else {
                    break;
                };
                let Some(j) = newest.checked_sub(m) else {
                    break;
                };
                if let Some(&s) = x.get(j) {
                    acc += h * s;
                }
            }
            out.push(acc.round().clamp(-32768.0, 32767.0) as i16);
            n += self.down;
        }
        self.next = n - limit;
        // Keep the newest `hist` samples for the next call.
        let keep_from = x.len().saturating_sub(hist);
        self.history.clear();
        self.history.extend_from_slice(&x[keep_from..]);
    }

    /// Forgets the kept samples, as after a gap in the stream.
    pub fn reset(&mut self) {
        self.history.iter_mut().for_each(|s| *s = 0.0);
        self.next = 0;
    }
}

// ---------------------------------------------------------------------------------------
// Decoder and encoder
// ---------------------------------------------------------------------------------------

enum DecoderInner {
    Opus(Box<opus::Decoder>),
    Pcmu,
    Pcma,
}

/// A decoder of one RTP stream's payloads into mono PCM at the codec's clock rate.
pub struct Decoder {
    codec: Codec,
    inner: DecoderInner,
    /// Scratch space for libopus.
    scratch: Vec<i16>,
}

impl fmt::Debug for Decoder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Decoder")
            .field("codec", &self.codec)
            .finish()
    }
}

impl Decoder {
    /// A decoder for `codec`. Opus is decoded as mono at 48 kHz: a stereo stream
    /// (`sprop-stereo`, RFC 7587 §6.1) is down-mixed by libopus.
    pub fn new(codec: Codec) -> Result<Decoder, CodecError> {
        let inner = match codec {
            Codec::Opus => DecoderInner::Opus(Box::new(
                opus::Decoder::new(codec.clock_rate(), opus::Channels::Mono)
                    .map_err(|e| CodecError::OpusInit(e.to_string()))?,
            )),
            Codec::Pcmu => DecoderInner::Pcmu,
            Codec::Pcma => DecoderInner::Pcma,
        };
        Ok(Decoder {
            codec,
            inner,
            scratch: Vec::new(),
        })
    }

    /// The codec decoded.
    pub fn codec(&self) -> Codec {
        self.codec
    }

    /// Decodes one RTP payload and appends its samples to `out`.
    pub fn decode(&mut self, payload: &[u8], out: &mut Vec<i16>) -> Result<(), CodecError> {
        match &mut self.inner {
            DecoderInner::Pcmu => ulaw_decode(payload, out),
            DecoderInner::Pcma => alaw_decode(payload, out),
            DecoderInner::Opus(dec) => {
                // An empty payload would mean "lost" to libopus; a peer sending one gets
                // nothing rather than concealment.
                if payload.is_empty() {
                    return Ok(());
                }
                self.scratch.resize(OPUS_MAX_FRAME, 0);
                let n = dec
                    .decode(payload, &mut self.scratch, false)
                    .map_err(|e| CodecError::OpusDecode(e.to_string()))?;
                out.extend_from_slice(&self.scratch[..n.min(self.scratch.len())]);
            }
        }
        Ok(())
    }

    /// Appends `samples` samples standing in for a lost packet: Opus packet loss
    /// concealment (decoding "no packet", RFC 6716 §4.4), silence for G.711.
    pub fn conceal(&mut self, samples: usize, out: &mut Vec<i16>) {
        let DecoderInner::Opus(dec) = &mut self.inner else {
            out.resize(out.len() + samples, 0);
            return;
        };
        // libopus conceals in multiples of 2.5 ms (120 samples at 48 kHz), up to 120 ms.
        let mut left = samples;
        while left > 0 {
            let chunk = left.min(960);
            let asked = chunk.div_ceil(120) * 120;
            self.scratch.resize(asked, 0);
            let got = dec
                .decode(&[], &mut self.scratch[..asked], false)
                .unwrap_or(0);
            let take = got.min(chunk);
            out.extend_from_slice(&self.scratch[..take]);
            // Whatever libopus could not produce is silence.
            out.resize(out.len() + (chunk - take), 0);
            left -= chunk;
        }
    }
}

impl Decoder {
    /// Stands in for one lost packet of `samples` samples with the in-band FEC that the
    /// packet after it may carry (Opus LBRR, RFC 6716 §2.1.7); call it before decoding
    /// `next_payload` itself. Without FEC data (or for G.711) this is
    /// [`Decoder::conceal`].
    pub fn recover(&mut self, next_payload: &[u8], samples: usize, out: &mut Vec<i16>) {
        let DecoderInner::Opus(dec) = &mut self.inner else {
            return self.conceal(samples, out);
        };
        if next_payload.is_empty() || samples == 0 || samples > OPUS_MAX_FRAME {
            return self.conceal(samples, out);
        }
        // The FEC frame size must be a multiple of 2.5 ms.
        let asked = (samples.div_ceil(120) * 120).min(OPUS_MAX_FRAME);
        self.scratch.resize(asked, 0);
        match dec.decode(next_payload, &mut self.scratch[..asked], true) {
            Ok(got) => {
                let take = got.min(samples);
                out.extend_from_slice(&self.scratch[..take]);
                out.resize(out.len() + (samples - take), 0);
            }
            Err(_) => self.conceal(samples, out),
        }
    }
}

enum EncoderInner {
    Opus(Box<opus::Encoder>),
    Pcmu,
    Pcma,
}

/// An encoder of 20 ms mono frames at the codec's clock rate into RTP payloads.
pub struct Encoder {
    codec: Codec,
    inner: EncoderInner,
    /// Scratch space for libopus.
    scratch: Vec<u8>,
}

impl fmt::Debug for Encoder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Encoder")
            .field("codec", &self.codec)
            .finish()
    }
}

impl Encoder {
    /// An encoder for `codec`. Opus: the VoIP application, mono, 48 kHz, 32 kbit/s,
    /// in-band FEC on (RFC 6716 §2.1.7) tuned for 5 % loss.
    pub fn new(codec: Codec) -> Result<Encoder, CodecError> {
        let inner = match codec {
            Codec::Opus => {
                let init = |e: opus::Error| CodecError::OpusInit(e.to_string());
                let mut enc = opus::Encoder::new(
                    codec.clock_rate(),
                    opus::Channels::Mono,
                    opus::Application::Voip,
                )
                .map_err(init)?;
                enc.set_bitrate(opus::Bitrate::Bits(OPUS_BITRATE))
                    .map_err(init)?;
                enc.set_inband_fec(true).map_err(init)?;
                enc.set_packet_loss_perc(OPUS_EXPECTED_LOSS).map_err(init)?;
                EncoderInner::Opus(Box::new(enc))
            }
            Codec::Pcmu => EncoderInner::Pcmu,
            Codec::Pcma => EncoderInner::Pcma,
        };
        Ok(Encoder {
            codec,
            inner,
            scratch: Vec::new(),
        })
    }

    /// The codec encoded.
    pub fn codec(&self) -> Codec {
        self.codec
    }

    /// Encodes exactly 20 ms of PCM at the codec's clock rate, appending the RTP payload
    /// to `out`.
    pub fn encode(&mut self, pcm_20ms: &[i16], out: &mut Vec<u8>) -> Result<(), CodecError> {
        let expected = self.codec.samples_per_20ms();
        if pcm_20ms.len() != expected {
            return Err(CodecError::FrameSize {
                expected,
                got: pcm_20ms.len(),
            });
        }
        match &mut self.inner {
            EncoderInner::Pcmu => ulaw_encode(pcm_20ms, out),
            EncoderInner::Pcma => alaw_encode(pcm_20ms, out),
            EncoderInner::Opus(enc) => {
                self.scratch.resize(OPUS_MAX_PACKET, 0);
                let n = enc
                    .encode(pcm_20ms, &mut self.scratch)
                    .map_err(|e| CodecError::OpusEncode(e.to_string()))?;
                out.extend_from_slice(&self.scratch[..n.min(self.scratch.len())]);
            }
        }
        Ok(())
    }
}

// ---------------------------------------------------------------------------------------
// Transcoder and PCM tap
// ---------------------------------------------------------------------------------------

/// Decodes one codec and re-encodes another, in 20 ms packets, keeping the decoded audio
/// at 8 kHz for the recorder.
#[derive(Debug)]
pub struct Transcoder {
    decoder: Decoder,
    encoder: Encoder,
    to_target: Resampler,
    to_8k: Resampler,
    /// Decoded, resampled audio not yet making a whole 20 ms frame.
    pending: Vec<i16>,
    /// Scratch: the last packet decoded at the source rate.
    decoded: Vec<i16>,
    /// The last packet's audio at 8 kHz.
    last_8k: Vec<i16>,
}

impl Transcoder {
    /// A transcoder from `from` payloads to `to` payloads.
    pub fn new(from: Codec, to: Codec) -> Result<Transcoder, CodecError> {
        Ok(Transcoder {
            decoder: Decoder::new(from)?,
            encoder: Encoder::new(to)?,
            to_target: Resampler::new(from.clock_rate(), to.clock_rate()),
            to_8k: Resampler::new(from.clock_rate(), RECORDER_RATE),
            pending: Vec::new(),
            decoded: Vec::new(),
            last_8k: Vec::new(),
        })
    }

    /// The source codec.
    pub fn source_codec(&self) -> Codec {
        self.decoder.codec()
    }

    /// The target codec.
    pub fn target_codec(&self) -> Codec {
        self.encoder.codec()
    }

    /// Decodes one packet's payload and appends every complete 20 ms payload of the target
    /// codec it completes to `out` (none, one, or several for a long source packet).
    /// On a decode error nothing is emitted and [`Transcoder::last_pcm_8k`] is empty.
    pub fn push(&mut self, payload: &[u8], out: &mut Vec<Vec<u8>>) -> Result<(), CodecError> {
        self.decoded.clear();
        self.last_8k.clear();
        self.decoder.decode(payload, &mut self.decoded)?;
        self.emit(out)
    }

    /// Stands in for one lost 20 ms source packet (Opus concealment or silence), emitting
    /// like [`Transcoder::push`].
    pub fn conceal(&mut self, out: &mut Vec<Vec<u8>>) -> Result<(), CodecError> {
        self.decoded.clear();
        self.last_8k.clear();
        let samples = self.decoder.codec().samples_per_20ms();
        self.decoder.conceal(samples, &mut self.decoded);
        self.emit(out)
    }

    fn emit(&mut self, out: &mut Vec<Vec<u8>>) -> Result<(), CodecError> {
        self.to_8k.process(&self.decoded, &mut self.last_8k);
        self.to_target.process(&self.decoded, &mut self.pending);
        let frame = self.encoder.codec().samples_per_20ms();
        let mut start = 0;
        let mut result = Ok(());
        while self.pending.len() - start >= frame {
            let mut payload = Vec::new();
            let encoded = self
                .encoder
                .encode(&self.pending[start..start + frame], &mut payload);
            start += frame;
            match encoded {
                Ok(()) => out.push(payload),
                Err(e) => {
                    result = Err(e);
                    break;
                }
            }
        }
        self.pending.drain(..start);
        result
    }

    /// The audio of the last pushed (or concealed) packet, resampled to 8 kHz.
    pub fn last_pcm_8k(&self) -> &[i16] {
        &self.last_8k
    }
}

/// Decodes a passed-through stream to 8 kHz PCM for the recorder.
#[derive(Debug)]
pub struct PcmTap {
    decoder: Decoder,
    resampler: Resampler,
    scratch: Vec<i16>,
}

impl PcmTap {
    /// A tap on a stream of `codec` payloads.
    pub fn new(codec: Codec) -> Result<PcmTap, CodecError> {
        Ok(PcmTap {
            decoder: Decoder::new(codec)?,
            resampler: Resampler::new(codec.clock_rate(), RECORDER_RATE),
            scratch: Vec::new(),
        })
    }

    /// Decodes one payload and appends its audio at 8 kHz to `out`. A payload that does
    /// not decode is replaced by 20 ms of concealment, so the recording keeps its timing.
    pub fn tap(&mut self, payload: &[u8], out: &mut Vec<i16>) {
        self.scratch.clear();
        if self.decoder.decode(payload, &mut self.scratch).is_err() {
            self.scratch.clear();
            let samples = self.decoder.codec().samples_per_20ms();
            self.decoder.conceal(samples, &mut self.scratch);
        }
        self.resampler.process(&self.scratch, out);
    }

    /// Appends `ms` milliseconds of concealment at 8 kHz for lost packets.
    pub fn conceal(&mut self, ms: u32, out: &mut Vec<i16>) {
        self.scratch.clear();
        let samples = self.decoder.codec().clock_rate() as usize * ms as usize / 1000;
        self.decoder.conceal(samples, &mut self.scratch);
        self.resampler.process(&self.scratch, out);
    }
}

#[cfg(test)]
mod tests;
