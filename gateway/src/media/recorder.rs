//! Call recording to WAV (RIFF/WAVE PCM, 8 kHz, 16-bit, via `hound`): both directions of an
//! anchored call, mixed to one channel or kept as two, aligned by arrival rather than by RTP
//! timestamps (RFC 3550 §6.4 clocks of two legs are unrelated).
//!
//! Each leg's audio is buffered; the part both legs have covered is written. A leg that
//! falls more than 200 ms behind (one-way audio, a muted phone that sends nothing) is
//! padded with silence, so the file never stalls. While the call is on hold
//! ([`Recorder::set_paused`]) nothing is recorded.

// A building block of the relay: the binary need not use every item yet; the test build
// still reports code that nothing, not even a test, uses.
#![cfg_attr(not(test), allow(dead_code))]

use std::fs::{File, OpenOptions};
use std::io::{self, BufWriter};
use std::path::{Path, PathBuf};

/// The recording rate.
const RATE: u32 = 8000;

/// How far one leg may run ahead before the other is padded with silence: 200 ms.
const MAX_LEAD: usize = 1600;

/// How the two legs go into the file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Layout {
    /// One channel, the legs summed (with saturation).
    Mixed,
    /// Two channels: leg A left, leg B right.
    TwoChannel,
}

/// A direction of the call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Leg {
    /// The caller's side: what the caller says.
    A,
    /// The callee's side: what the callee says.
    B,
}

/// What a finished recording holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordingInfo {
    /// The file written.
    pub path: PathBuf,
    /// Its length in milliseconds.
    pub duration_ms: u64,
    /// Its length in sample frames (samples per channel) at 8 kHz.
    pub samples: u64,
}

type Writer = hound::WavWriter<BufWriter<File>>;

/// A call recording in progress. Dropping it without [`Recorder::finish`] still writes
/// out the buffered audio and leaves a valid WAV file.
pub struct Recorder {
    path: PathBuf,
    layout: Layout,
    /// `None` once finished, or after a write error.
    writer: Option<Writer>,
    /// The first write error; recording stops there and `finish` reports it.
    error: Option<io::Error>,
    a: Vec<i16>,
    b: Vec<i16>,
    /// Sample frames written.
    frames: u64,
    paused: bool,
}

impl std::fmt::Debug for Recorder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Recorder")
            .field("path", &self.path)
            .field("layout", &self.layout)
            .field("frames", &self.frames)
            .field("paused", &self.paused)
            .finish()
    }
}

fn hound_error(e: hound::Error) -> io::Error {
    match e {
        hound::Error::IoError(e) => e,
        other => io::Error::other(other.to_string()),
    }
}

impl Recorder {
    /// Starts a recording at `path`. The parent directory must exist; an existing file is
    /// never overwritten (`ErrorKind::AlreadyExists`).
    pub fn create(path: &Path, layout: Layout) -> io::Result<Recorder> {
        let file = OpenOptions::new().write(true).create_new(true).open(path)?;
        let spec = hound::WavSpec {
            channels: match layout {
                Layout::Mixed => 1,
                Layout::TwoChannel => 2,
            },
            sample_rate: RATE,
            bits_per_sample: 16,
            sample_format: hound::SampleFormat::Int,
        };
        let writer = hound::WavWriter::new(BufWriter::new(file), spec).map_err(hound_error)?;
        Ok(Recorder {
            path: path.to_path_buf(),
            layout,
            writer: Some(writer),
            error: None,
            a: Vec::new(),
            b: Vec::new(),
            frames: 0,
            paused: false,
        })
    }

    /// The file being written.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The length of the recording so far, buffered audio included, in milliseconds.
    pub fn duration_ms(&self) -> u64 {
        self.total_frames() * 1000 / u64::from(RATE)
    }

    fn total_frames(&self) -> u64 {
        self.frames + self.a.len().max(self.b.len()) as u64
    }

    /// Adds 8 kHz audio of one leg. Dropped while paused or after a write error.
    pub fn push(&mut self, leg: Leg, pcm_8k: &[i16]) {
        if self.paused || self.writer.is_none() {
            return;
        }
        match leg {
            Leg::A => self.a.extend_from_slice(pcm_8k),
            Leg::B => self.b.extend_from_slice(pcm_8k),
        }
        // Both legs cover this much.
        let aligned = self.a.len().min(self.b.len());
        // Past the allowed lead, the lagging leg is taken as silent.
        let lead = self.a.len().max(self.b.len()) - aligned;
        let padded = lead.saturating_sub(MAX_LEAD);
        self.write(aligned + padded);
    }

    /// Pauses (on hold) or resumes the recording. Pausing writes out what is buffered,
    /// padding the shorter leg; while paused pushes are dropped, so both legs start
    /// aligned again on resume.
    pub fn set_paused(&mut self, paused: bool) {
        if paused && !self.paused {
            self.flush_buffers();
        }
        self.paused = paused;
    }

    /// Whether the recording is paused.
    pub fn is_paused(&self) -> bool {
        self.paused
    }

    /// Writes out everything buffered, padding the shorter leg with silence.
    fn flush_buffers(&mut self) {
        let frames = self.a.len().max(self.b.len());
        self.write(frames);
    }

    /// Writes `frames` sample frames from the front of the buffers, reading silence where
    /// a buffer is shorter, and removes them from the buffers.
    fn write(&mut self, frames: usize) {
        if frames == 0 {
            return;
        }
        if let Some(writer) = &mut self.writer {
            let result = write_frames(writer, self.layout, &self.a, &self.b, frames);
            if let Err(e) = result {
                self.error = Some(hound_error(e));
                // The writer is dropped (finalising what it can); nothing more is written.
                self.writer = None;
            } else {
                self.frames += frames as u64;
            }
        }
        self.a.drain(..frames.min(self.a.len()));
        self.b.drain(..frames.min(self.b.len()));
    }

    /// Writes the buffered audio and the final WAV header, and closes the file.
    pub fn finish(mut self) -> io::Result<RecordingInfo> {
        self.paused = false;
        self.flush_buffers();
        if let Some(e) = self.error.take() {
            return Err(e);
        }
        if let Some(writer) = self.writer.take() {
            writer.finalize().map_err(hound_error)?;
        }
        Ok(RecordingInfo {
            path: self.path.clone(),
            duration_ms: self.duration_ms(),
            samples: self.frames,
        })
    }
}

fn write_frames(
    writer: &mut Writer,
    layout: Layout,
    a: &[i16],
    b: &[i16],
    frames: usize,
) -> Result<(), hound::Error> {
    let at = |buf: &[i16], i: usize| buf.get(i).copied().unwrap_or(0);
    match layout {
        Layout::Mixed => {
            for i in 0..frames {
                writer.write_sample(at(a, i).saturating_add(at(b, i)))?;
            }
        }
        Layout::TwoChannel => {
            for i in 0..frames {
                writer.write_sample(at(a, i))?;
                writer.write_sample(at(b, i))?;
            }
        }
    }
    Ok(())
}

impl Drop for Recorder {
    fn drop(&mut self) {
        // `finish` took the writer; otherwise write out the buffers and let hound's own
        // drop finalise the header.
        if self.writer.is_some() {
            self.flush_buffers();
            if let Some(writer) = self.writer.take() {
                let _ = writer.finalize();
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tone(freq: f64, ms: u64) -> Vec<i16> {
        let n = (ms * u64::from(RATE) / 1000) as usize;
        (0..n)
            .map(|i| {
                let t = i as f64 / f64::from(RATE);
                (8000.0 * (2.0 * std::f64::consts::PI * freq * t).sin()) as i16
            })
            .collect()
    }

    fn read(path: &Path) -> (hound::WavSpec, Vec<i16>) {
        let mut r = hound::WavReader::open(path).expect("a valid WAV");
        let spec = r.spec();
        let samples = r
            .samples::<i16>()
            .collect::<Result<Vec<_>, _>>()
            .expect("samples");
        (spec, samples)
    }

    fn energy(x: impl IntoIterator<Item = i16>) -> f64 {
        x.into_iter().map(|s| f64::from(s).powi(2)).sum()
    }

    #[test]
    fn mixed_recording_has_both_legs() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("mixed.wav");
        let mut r = Recorder::create(&path, Layout::Mixed).expect("create");
        let a = tone(440.0, 1000);
        let b = tone(1000.0, 1000);
        for (ca, cb) in a.chunks(160).zip(b.chunks(160)) {
            r.push(Leg::A, ca);
            r.push(Leg::B, cb);
        }
        assert_eq!(r.duration_ms(), 1000);
        let info = r.finish().expect("finish");
        assert_eq!(info.samples, 8000);
        assert_eq!(info.duration_ms, 1000);
        assert_eq!(info.path, path);
        let (spec, samples) = read(&path);
        assert_eq!(
            (spec.channels, spec.sample_rate, spec.bits_per_sample),
            (1, 8000, 16)
        );
        assert_eq!(samples.len(), 8000);
        // The mix is the sum: subtracting each leg leaves the other.
        let only_b: Vec<i16> = samples.iter().zip(&a).map(|(m, x)| m - x).collect();
        assert_eq!(only_b, b);

        // Refuses to overwrite.
        let err = Recorder::create(&path, Layout::Mixed).expect_err("exists");
        assert_eq!(err.kind(), io::ErrorKind::AlreadyExists);
    }

    #[test]
    fn two_channel_recording_interleaves() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("two.wav");
        let mut r = Recorder::create(&path, Layout::TwoChannel).expect("create");
        let a = tone(440.0, 500);
        let b = tone(1000.0, 500);
        // Leg B arrives in bigger, later chunks.
        for ca in a.chunks(160) {
            r.push(Leg::A, ca);
        }
        for cb in b.chunks(800) {
            r.push(Leg::B, cb);
        }
        let info = r.finish().expect("finish");
        // A ran 500 ms ahead, past the 200 ms lead: its first 300 ms went out against
        // silence, so B's audio starts 300 ms late in the file, all of it there.
        assert_eq!(info.samples, 2400 + 4000);
        let (spec, samples) = read(&path);
        assert_eq!(spec.channels, 2);
        let left: Vec<i16> = samples.iter().step_by(2).copied().collect();
        let right: Vec<i16> = samples.iter().skip(1).step_by(2).copied().collect();
        assert_eq!(&left[..4000], &a[..]);
        assert_eq!(energy(left[4000..].iter().copied()), 0.0);
        assert_eq!(energy(right[..2400].iter().copied()), 0.0);
        assert_eq!(&right[2400..], &b[..]);
    }

    #[test]
    fn aligned_legs_stay_aligned_within_the_lead() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("jitter.wav");
        let mut r = Recorder::create(&path, Layout::TwoChannel).expect("create");
        let a = tone(440.0, 400);
        let b = tone(1000.0, 400);
        // B lags by 100 ms throughout: still sample-aligned.
        for (i, ca) in a.chunks(160).enumerate() {
            r.push(Leg::A, ca);
            if i >= 5 {
                r.push(Leg::B, &b[(i - 5) * 160..(i - 4) * 160]);
            }
        }
        for cb in b[b.len() - 800..].chunks(160) {
            r.push(Leg::B, cb);
        }
        r.finish().expect("finish");
        let (_, samples) = read(&path);
        let left: Vec<i16> = samples.iter().step_by(2).copied().collect();
        let right: Vec<i16> = samples.iter().skip(1).step_by(2).copied().collect();
        assert_eq!(left, a);
        assert_eq!(right, b);
    }

    #[test]
    fn one_way_audio_is_recorded() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("oneway.wav");
        let mut r = Recorder::create(&path, Layout::Mixed).expect("create");
        let a = tone(440.0, 2000);
        for ca in a.chunks(160) {
            r.push(Leg::A, ca);
        }
        // Leg B never sent anything, yet no more than 200 ms is held back.
        assert!(r.frames >= 16_000 - MAX_LEAD as u64);
        let info = r.finish().expect("finish");
        assert_eq!(info.duration_ms, 2000);
        let (_, samples) = read(&path);
        assert_eq!(samples, a);
    }

    #[test]
    fn paused_section_is_not_recorded() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("hold.wav");
        let mut r = Recorder::create(&path, Layout::Mixed).expect("create");
        let a = tone(440.0, 300);
        let b = tone(1000.0, 200);
        r.push(Leg::A, &a);
        r.push(Leg::B, &b);
        r.set_paused(true);
        assert!(r.is_paused());
        // 1 s of hold music is not recorded.
        r.push(Leg::A, &tone(300.0, 1000));
        r.push(Leg::B, &tone(300.0, 1000));
        r.set_paused(false);
        // After resume the legs start aligned: both pushes land at the same offset.
        r.push(Leg::B, &b);
        r.push(Leg::A, &b);
        let info = r.finish().expect("finish");
        assert_eq!(info.duration_ms, 300 + 200);
        let (_, samples) = read(&path);
        assert_eq!(samples.len(), 4000);
        let doubled: Vec<i16> = b.iter().map(|s| s.saturating_add(*s)).collect();
        assert_eq!(&samples[2400..], &doubled[..]);
    }

    #[test]
    fn dropped_recorder_leaves_a_valid_file() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("dropped.wav");
        {
            let mut r = Recorder::create(&path, Layout::TwoChannel).expect("create");
            r.push(Leg::A, &tone(440.0, 300));
            r.push(Leg::B, &tone(1000.0, 100));
            assert_eq!(r.path(), path);
        }
        let (spec, samples) = read(&path);
        assert_eq!(spec.channels, 2);
        // Everything buffered was written: 300 ms, B padded.
        assert_eq!(samples.len(), 2 * 2400);
        let reader = hound::WavReader::open(&path).expect("open");
        assert_eq!(reader.duration(), 2400);
    }
}
