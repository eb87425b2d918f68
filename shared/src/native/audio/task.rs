//! The task of a native audio stream (see the parent module): every 20 ms the next packet
//! of the WAV file being played, of silence or of a DTMF event (RFC 4733 §2.5.1); received
//! RTP into the statistics (RFC 3550 §6.4.1), the recording and DTMF digits (RFC 4733
//! §2.5.2); symmetric RTP; a sender report every 5 s (RFC 3550 §6.4.1).

use super::{
    lock, random_u32, AudioError, Control, Params, Payload, Shared, DTMF_GAP, DTMF_UPDATES, FRAME,
    MAX_DATAGRAM, MAX_PAD, PTIME, RTCP_INTERVAL,
};
use crate::native::rtp::{encode_rtp, encode_sender_report, is_rtcp, RtpPacket, SenderInfo};
use crate::rtp::dtmf::{DtmfDetector, TelephoneEvent, END_REPEATS as DTMF_END_REPEATS};
use crate::rtp::RtpStats;

/// The volume of the events we send: −10 dBm0 (RFC 4733 §2.3.4).
const DTMF_VOLUME: u8 = 10;
/// How long the stream waits for the peer's first audio before `SIPSessionGotNoAudio`.
const NO_AUDIO_AFTER: Duration = Duration::from_secs(5);
use crate::native::TimedNotification;
use crate::notification::{Event, Notification, Sender};
use std::collections::VecDeque;
use std::fs::File;
use std::io::{BufReader, BufWriter};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};
use tokio::net::UdpSocket;
use tokio::sync::mpsc;

/// The recording in progress.
pub(super) struct Recording {
    pub(super) writer: hound::WavWriter<BufWriter<File>>,
    /// The RTP timestamp the next sample has; `None` after a pause or a new source.
    next_ts: Option<u32>,
    samples: u64,
}

impl Recording {
    pub(super) fn create(path: &PathBuf) -> Result<Recording, AudioError> {
        let spec = hound::WavSpec {
            channels: 1,
            sample_rate: 8000,
            bits_per_sample: 16,
            sample_format: hound::SampleFormat::Int,
        };
        let writer = hound::WavWriter::create(path, spec).map_err(|e| AudioError::Record {
            path: path.clone(),
            reason: e.to_string(),
        })?;
        Ok(Recording {
            writer,
            next_ts: None,
            samples: 0,
        })
    }

    /// Writes `pcm` at RTP timestamp `ts`: a late packet is dropped, a gap of up to
    /// [`MAX_PAD`] samples becomes silence. A write error ends the recording.
    fn write(&mut self, ts: u32, pcm: &[i16]) -> hound::Result<()> {
        if let Some(next) = self.next_ts {
            let gap = ts.wrapping_sub(next) as i32;
            if gap < 0 {
                return Ok(());
            }
            if gap.unsigned_abs() <= MAX_PAD {
                for _ in 0..gap {
                    self.writer.write_sample(0i16)?;
                }
                self.samples += u64::from(gap.unsigned_abs());
            }
        }
        for &s in pcm {
            self.writer.write_sample(s)?;
        }
        self.samples += pcm.len() as u64;
        self.next_ts = Some(ts.wrapping_add(pcm.len() as u32));
        Ok(())
    }
}

/// The WAV file being played.
pub(super) struct Player {
    reader: hound::WavReader<BufReader<File>>,
    loop_play: bool,
    done: bool,
}

impl Player {
    pub(super) fn open(path: &PathBuf, loop_play: bool) -> Result<Player, AudioError> {
        let reader = hound::WavReader::open(path).map_err(|e| AudioError::Play {
            path: path.clone(),
            reason: e.to_string(),
        })?;
        let spec = reader.spec();
        if spec.channels != 1
            || spec.sample_rate != 8000
            || spec.bits_per_sample != 16
            || spec.sample_format != hound::SampleFormat::Int
        {
            return Err(AudioError::UnsupportedFormat {
                path: path.clone(),
                channels: spec.channels,
                sample_rate: spec.sample_rate,
                bits_per_sample: spec.bits_per_sample,
            });
        }
        Ok(Player {
            reader,
            loop_play,
            done: false,
        })
    }

    /// Fills `out` with the next [`FRAME`] samples, silence after the end.
    fn next_frame(&mut self, out: &mut Vec<i16>) {
        out.clear();
        let mut restarts = 0;
        while out.len() < FRAME && !self.done {
            let want = FRAME - out.len();
            for s in self.reader.samples::<i16>().take(want) {
                match s {
                    Ok(s) => out.push(s),
                    Err(_) => break,
                }
            }
            if out.len() < FRAME {
                // The end, or an unreadable rest: start over (at most twice a frame, so an
                // empty or broken file cannot spin), or stay silent from now on.
                let again = self.loop_play
                    && restarts < 2
                    && self.reader.len() > 0
                    && self.reader.seek(0).is_ok();
                if again {
                    restarts += 1;
                } else {
                    self.done = true;
                }
            }
        }
        out.resize(FRAME, 0);
    }
}

/// A DTMF event being sent.
#[derive(Debug, Clone, Copy)]
struct DtmfOut {
    event: u8,
    /// The timestamp naming the event: the instant it began.
    start: u32,
    /// Packets sent so far.
    sent: u32,
}

/// The stream's task: its sockets, timers and the RTP state.
pub(super) struct Task {
    id: u64,
    ssrc: u32,
    seq: u16,
    /// The RTP timestamp of the next 20 ms: advanced on every tick, sending or not.
    ts: u32,
    /// Whether the next audio packet starts a talkspurt (M bit).
    marker: bool,
    params: Params,
    player: Option<Player>,
    dtmf_queue: VecDeque<u8>,
    dtmf: Option<DtmfOut>,
    /// Audio packets still to send before the next DTMF event.
    gap: u32,
    latched: Option<SocketAddr>,
    latched_rtcp: Option<SocketAddr>,
    remote_ssrc: Option<u32>,
    reception: RtpStats,
    detector: DtmfDetector,
    shared: Arc<Mutex<Shared>>,
    notify: mpsc::UnboundedSender<TimedNotification>,
    started: tokio::time::Instant,
    cname: String,
    /// Payload octets sent, for the sender report.
    payload_octets: u64,
}

impl Task {
    /// The task of session `id`'s stream, idle until its first update.
    pub(super) fn new(
        id: u64,
        local: SocketAddr,
        player: Option<Player>,
        shared: Arc<Mutex<Shared>>,
        notify: mpsc::UnboundedSender<TimedNotification>,
    ) -> Task {
        Task {
            id,
            ssrc: random_u32(),
            seq: random_u32() as u16,
            ts: random_u32(),
            marker: true,
            params: Params::default(),
            player,
            dtmf_queue: VecDeque::new(),
            dtmf: None,
            gap: 0,
            latched: None,
            latched_rtcp: None,
            remote_ssrc: None,
            reception: RtpStats::new(),
            detector: DtmfDetector::default(),
            shared,
            notify,
            started: tokio::time::Instant::now(),
            cname: format!("{id}@{local}"),
            payload_octets: 0,
        }
    }

    /// Sends, receives and reports until the stream's control channel closes or the loop
    /// aborts the task.
    pub(super) async fn run(
        mut self,
        rtp: std::net::UdpSocket,
        rtcp: std::net::UdpSocket,
        mut control: mpsc::UnboundedReceiver<Control>,
    ) {
        let (Ok(rtp), Ok(rtcp)) = (UdpSocket::from_std(rtp), UdpSocket::from_std(rtcp)) else {
            return;
        };
        let mut tick = tokio::time::interval(PTIME);
        let mut report = tokio::time::interval_at(
            tokio::time::Instant::now() + Duration::from_secs(1),
            RTCP_INTERVAL,
        );
        let (mut buf, mut rtcp_buf) = (vec![0u8; MAX_DATAGRAM], vec![0u8; MAX_DATAGRAM]);
        let (mut pcm, mut payload, mut packet) = (Vec::new(), Vec::new(), Vec::new());
        let no_audio = tokio::time::sleep(NO_AUDIO_AFTER);
        tokio::pin!(no_audio);
        let mut audio_checked = false;
        loop {
            tokio::select! {
                () = &mut no_audio, if !audio_checked => {
                    audio_checked = true;
                    self.check_audio();
                }
                c = control.recv() => match c {
                    Some(Control::Update(p)) => self.update(p),
                    Some(Control::Dtmf(e)) => self.dtmf_queue.push_back(e),
                    None => return,
                },
                r = rtp.recv_from(&mut buf) => {
                    // A receive error (an ICMP report on some systems) loses one datagram.
                    if let Ok((n, from)) = r {
                        if let Some(data) = buf.get(..n) {
                            self.on_rtp(data, from, &mut pcm);
                        }
                    }
                }
                r = rtcp.recv_from(&mut rtcp_buf) => {
                    if let Ok((n, from)) = r {
                        if rtcp_buf.get(..n).is_some_and(is_rtcp) {
                            self.latched_rtcp = Some(from);
                            lock(&self.shared).stats.rtcp_received += 1;
                        }
                    }
                }
                _ = tick.tick() => {
                    if let Some(dest) = self.next_packet(&mut pcm, &mut payload, &mut packet) {
                        // A failed send is a lost packet.
                        if rtp.send_to(&packet, dest).await.is_ok() {
                            let mut shared = lock(&self.shared);
                            shared.stats.packets_sent += 1;
                            shared.stats.bytes_sent += packet.len() as u64;
                        }
                    }
                }
                _ = report.tick() => {
                    if let Some(dest) = self.sender_report(&mut packet) {
                        if rtcp.send_to(&packet, dest).await.is_ok() {
                            lock(&self.shared).stats.rtcp_sent += 1;
                        }
                    }
                }
            }
        }
    }

    /// The stream's first seconds are over: `SIPSessionGotNoAudio` when it was receiving and
    /// no audio came.
    fn check_audio(&self) {
        if !self.params.receive || lock(&self.shared).stats.audio_was_received {
            return;
        }
        // Nobody listening is not an error.
        let _ = self.notify.send(TimedNotification {
            timestamp: SystemTime::now(),
            notification: Notification {
                sender: Sender::Session(self.id),
                event: Event::SIPSessionGotNoAudio {},
            },
        });
    }

    fn update(&mut self, p: Params) {
        if p.remote != self.params.remote {
            // A new address in a re-offer: wait for the peer's packets again.
            self.latched = None;
            self.latched_rtcp = None;
        }
        if p.send && !self.params.send {
            self.marker = true;
        }
        let mut shared = lock(&self.shared);
        if !p.receive {
            if let Some(rec) = &mut shared.recording {
                rec.next_ts = None;
            }
        }
        shared.stats.remote = self.latched.or(p.remote);
        drop(shared);
        self.params = p;
    }

    /// The packet of this tick and where it goes, if media is sent.
    fn next_packet(
        &mut self,
        pcm: &mut Vec<i16>,
        payload: &mut Vec<u8>,
        packet: &mut Vec<u8>,
    ) -> Option<SocketAddr> {
        let ts = self.ts;
        self.ts = self.ts.wrapping_add(FRAME as u32);
        if !self.params.send {
            return None;
        }
        let dest = self.latched.or(self.params.remote)?;
        let (pt, law) = self.params.codec?;
        if self.dtmf.is_none() && self.gap == 0 {
            if let (Some(event), Some(_)) = (self.dtmf_queue.front().copied(), self.params.event_pt)
            {
                self.dtmf_queue.pop_front();
                self.dtmf = Some(DtmfOut {
                    event,
                    start: ts,
                    sent: 0,
                });
            }
        }
        match (&mut self.dtmf, self.params.event_pt) {
            (Some(d), Some(event_pt)) => {
                d.sent += 1;
                let end = d.sent > DTMF_UPDATES;
                let units = (d.sent.min(DTMF_UPDATES + 1) * FRAME as u32) as u16;
                let body = TelephoneEvent {
                    event: d.event,
                    end,
                    volume: DTMF_VOLUME,
                    duration: units,
                }
                .encode();
                encode_rtp(
                    packet,
                    d.sent == 1,
                    event_pt,
                    self.seq,
                    d.start,
                    self.ssrc,
                    &body,
                );
                self.payload_octets += body.len() as u64;
                if d.sent >= DTMF_UPDATES + DTMF_END_REPEATS as u32 {
                    self.dtmf = None;
                    self.gap = DTMF_GAP;
                    lock(&self.shared).stats.dtmf_sent += 1;
                }
            }
            _ => {
                self.dtmf = None;
                self.gap = self.gap.saturating_sub(1);
                match &mut self.player {
                    Some(player) => player.next_frame(pcm),
                    None => {
                        pcm.clear();
                        pcm.resize(FRAME, 0);
                    }
                }
                payload.clear();
                law.encode(pcm, payload);
                encode_rtp(packet, self.marker, pt, self.seq, ts, self.ssrc, payload);
                self.payload_octets += payload.len() as u64;
                self.marker = false;
            }
        }
        self.seq = self.seq.wrapping_add(1);
        Some(dest)
    }

    fn on_rtp(&mut self, data: &[u8], from: SocketAddr, pcm: &mut Vec<i16>) {
        let Some(p) = RtpPacket::parse(data) else {
            return;
        };
        let Some(kind) = self.params.payload(p.payload_type) else {
            return;
        };
        // Symmetric RTP: answer where the peer's packets come from.
        self.latched = Some(from);
        let mut guard = lock(&self.shared);
        let shared = &mut *guard;
        if self.remote_ssrc != Some(p.ssrc) {
            self.remote_ssrc = Some(p.ssrc);
            self.reception = RtpStats::new();
            self.detector.reset();
            if let Some(rec) = &mut shared.recording {
                rec.next_ts = None;
            }
        }
        let arrival_ms = u64::try_from(self.started.elapsed().as_millis()).unwrap_or(u64::MAX);
        self.reception
            .on_packet(p.sequence, p.timestamp, arrival_ms, 8000, data.len());
        let stats = &mut shared.stats;
        stats.packets_received += 1;
        stats.bytes_received += data.len() as u64;
        let reception = self.reception.snapshot();
        stats.packets_lost = reception.packets_lost;
        stats.jitter_ms = reception.jitter_ms;
        if self.params.send {
            stats.remote = Some(from);
        }
        if !self.params.receive {
            return;
        }
        match kind {
            Payload::Audio(law) => {
                stats.audio_was_received = true;
                pcm.clear();
                law.decode(p.payload, pcm);
                let written = shared
                    .recording
                    .as_mut()
                    .map(|rec| rec.write(p.timestamp, pcm).map(|()| rec.samples));
                match written {
                    Some(Ok(samples)) => stats.recorded_ms = samples / 8,
                    // The disk is full or gone: the recording stops here.
                    Some(Err(_)) => shared.recording = None,
                    None => {}
                }
            }
            Payload::Event => {
                if let Some(digit) = self.detector.on_packet(p.timestamp, p.payload) {
                    stats.dtmf_received += 1;
                    // Nobody listening is not an error.
                    let _ = self.notify.send(TimedNotification {
                        timestamp: SystemTime::now(),
                        notification: Notification {
                            sender: Sender::Session(self.id),
                            event: Event::SIPSessionGotDTMF {
                                digit: digit.to_string(),
                            },
                        },
                    });
                }
            }
        }
    }

    /// Our sender report and where it goes, once the peer's address is known.
    fn sender_report(&mut self, packet: &mut Vec<u8>) -> Option<SocketAddr> {
        let dest = self.latched_rtcp.or(self.params.remote_rtcp)?;
        let unix_ms = SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .unwrap_or_default()
            .as_millis();
        let packets = lock(&self.shared).stats.packets_sent;
        let info = SenderInfo {
            unix_ms: u64::try_from(unix_ms).unwrap_or(u64::MAX),
            rtp_timestamp: self.ts,
            packets: packets as u32,
            octets: self.payload_octets as u32,
        };
        let block = self
            .remote_ssrc
            .and_then(|ssrc| Some((ssrc, self.reception.take_report()?)));
        encode_sender_report(packet, self.ssrc, info, block, &self.cname);
        Some(dest)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recording_pads_gaps_and_drops_late_packets() {
        let dir = std::env::temp_dir().join(format!("sipsimple-audio-unit-{}", random_u32()));
        std::fs::create_dir_all(&dir).expect("dir");
        let path = dir.join("r.wav");
        let mut rec = Recording::create(&path).expect("create");
        rec.write(1000, &[1; 160]).expect("write");
        rec.write(1320, &[2; 160]).expect("write"); // one packet lost: 160 of silence
        rec.write(1160, &[3; 160]).expect("write"); // late: dropped
        rec.write(100_000, &[4; 160]).expect("write"); // a long gap is not padded
        assert_eq!(rec.samples, 160 * 4);
        rec.writer.finalize().expect("finalize");
        let samples: Vec<i16> = hound::WavReader::open(&path)
            .expect("open")
            .samples::<i16>()
            .collect::<Result<_, _>>()
            .expect("samples");
        assert_eq!(samples.len(), 640);
        assert_eq!(&samples[160..320], &[0; 160][..]);
        assert_eq!(samples[320], 2);
        assert_eq!(samples[480], 4);
        let _ = std::fs::remove_dir_all(&dir);
    }
}
