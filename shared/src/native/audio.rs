//! The native audio stream (feature `native`): plain RTP/AVP audio (RFC 3550, RFC 3551)
//! for Rust programs and tests, so that they can talk to SIP peers and to the gateway
//! without a browser.
//!
//! One stream per session, on an RTP/RTCP port pair (even port, RTCP on the next one) bound
//! on the driver's local address. Its SDP comes from the core's offer/answer engine
//! ([`LocalCapabilities`]): PCMU, PCMA and telephone-event/8000 (RFC 4733), `ptime:20`.
//! The call goes through the core as the shell's own SDP (`UserAgent::connect` /
//! `UserAgent::accept`), so re-offers for hold and answers to the peer's re-offers are the
//! core's, derived from it.
//!
//! The driver's loop reads the descriptions in effect after each step of the core
//! ([`Streams::sync`]) and hands the stream's task what they say: where to send, with
//! which payload types, and whether media flows. The task, on the driver's runtime:
//! - every 20 ms sends 160 samples of the WAV file being played (8 kHz mono 16-bit; looped
//!   or followed by silence) or of silence, or the next packet of a DTMF event (RFC 4733
//!   §2.5.1: 100 ms, three end packets);
//! - receives RTP: statistics (RFC 3550 §6.4.1 loss and jitter), the recording (decoded and
//!   placed by RTP timestamp, gaps up to one second filled with silence), DTMF digits (each
//!   event reported once as `SIPSessionGotDTMF`);
//! - sends to where the peer's packets come from once they arrive (symmetric RTP), else to
//!   the address of its SDP;
//! - sends an RTCP sender report every 5 s.
//!
//! While the session is on hold, by either side, nothing is sent and nothing recorded (no
//! music on hold). The stream ends, and the recording is finalised, before the session's
//! `SIPSessionDidEnd`/`SIPSessionDidFail` reaches the application.

mod task;

use super::rtp::G711;
use super::{Command, CommandError, Handle, TimedNotification};
use crate::notification::SessionState;
use crate::offer_answer::{Codec, LocalCapabilities, MediaCapabilities};
use crate::rtp::digit_to_event;
use crate::sdp::{Attribute, Connection, MediaDescription, MediaType, Origin, SessionDescription};
use crate::time::Time;
use crate::ua::{Error, UserAgent};
use std::fmt;
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, SystemTime};
use task::{Player, Recording, Task};
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;

/// The packetisation: 20 ms.
const PTIME: Duration = Duration::from_millis(20);
/// Samples per packet at 8 kHz.
const FRAME: usize = 160;
/// The interval of our RTCP sender reports (RFC 3550 §6.2: 5 s minimum).
const RTCP_INTERVAL: Duration = Duration::from_secs(5);
/// A DTMF event: updates at 20, 40, 60 and 80 ms, then the end (100 ms) sent three times.
const DTMF_UPDATES: u32 = 4;
/// Audio packets between two DTMF events.
const DTMF_GAP: u32 = 3;
/// The longest gap in the received timestamps filled with silence in a recording.
const MAX_PAD: u32 = 8000;
/// The largest datagram read.
const MAX_DATAGRAM: usize = 2048;
/// Ended streams whose statistics stay readable.
const ENDED_KEPT: usize = 16;

/// What a native audio stream plays and records.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AudioOptions {
    /// A WAV file to play (8 kHz, mono, 16-bit PCM; other formats are refused with
    /// [`AudioError::UnsupportedFormat`]). Without one the stream sends silence.
    pub play: Option<PathBuf>,
    /// A WAV file (8 kHz, mono, 16-bit) to record the received audio to; created, or
    /// truncated if it exists. It is complete once the session's end is notified.
    pub record: Option<PathBuf>,
    /// Whether the played file starts over at its end; else silence follows it.
    pub loop_play: bool,
}

/// Why a native audio stream could not be set up.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum AudioError {
    /// The file to play cannot be opened or read as WAV.
    Play {
        /// The file.
        path: PathBuf,
        /// Why.
        reason: String,
    },
    /// The file to play is WAV, but not 8 kHz mono 16-bit PCM.
    UnsupportedFormat {
        /// The file.
        path: PathBuf,
        /// Its channels.
        channels: u16,
        /// Its sample rate.
        sample_rate: u32,
        /// Its bits per sample.
        bits_per_sample: u16,
    },
    /// The recording cannot be created.
    Record {
        /// The file.
        path: PathBuf,
        /// Why.
        reason: String,
    },
    /// No RTP/RTCP port pair could be bound.
    Bind(String),
    /// The driver's local address is unspecified: the SDP would have no address to name.
    NoMediaAddress,
    /// The session has no native audio stream.
    NoAudioStream(u64),
    /// The session is unknown, or its INVITE carried no offer to answer.
    NoOffer(u64),
    /// The offer has no audio stream with PCMU or PCMA.
    NoCommonCodec(u64),
}

impl fmt::Display for AudioError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AudioError::Play { path, reason } => {
                write!(f, "cannot play {}: {reason}", path.display())
            }
            AudioError::UnsupportedFormat {
                path,
                channels,
                sample_rate,
                bits_per_sample,
            } => write!(
                f,
                "cannot play {}: it is {sample_rate} Hz, {channels} channel(s), \
                 {bits_per_sample}-bit; the native audio stream plays 8000 Hz mono 16-bit PCM \
                 (convert it with `sox IN -r 8000 -c 1 -b 16 OUT.wav`)",
                path.display()
            ),
            AudioError::Record { path, reason } => {
                write!(f, "cannot record to {}: {reason}", path.display())
            }
            AudioError::Bind(e) => write!(f, "cannot bind an RTP/RTCP port pair: {e}"),
            AudioError::NoMediaAddress => f.write_str(
                "the driver's local address is unspecified: bind it to an address for media",
            ),
            AudioError::NoAudioStream(id) => write!(f, "session {id} has no native audio"),
            AudioError::NoOffer(id) => write!(f, "session {id} has no SDP offer to answer"),
            AudioError::NoCommonCodec(id) => {
                write!(f, "session {id} offers no audio stream with PCMU or PCMA")
            }
        }
    }
}

impl std::error::Error for AudioError {}

/// What a native audio stream has done so far.
#[derive(Debug, Clone, PartialEq)]
pub struct AudioStatistics {
    /// Our RTP address (RTCP is on the next port).
    pub local: SocketAddr,
    /// Where RTP goes: the source of the peer's packets once they arrive, else the address
    /// of its SDP; `None` before the answer.
    pub remote: Option<SocketAddr>,
    /// The codec we send (`PCMU`, `PCMA`).
    pub codec: Option<&'static str>,
    /// Whether both sides negotiated telephone-event (DTMF goes in RTP).
    pub telephone_event: bool,
    /// Whether media is sent now (established, not on hold, the directions allow it).
    pub sending: bool,
    /// Whether received media is used now (recorded, DTMF reported).
    pub receiving: bool,
    /// RTP packets sent (audio and DTMF).
    pub packets_sent: u64,
    /// RTP bytes sent, headers included.
    pub bytes_sent: u64,
    /// RTP packets received with a negotiated payload type, on hold too.
    pub packets_received: u64,
    /// RTP bytes received, headers included.
    pub bytes_received: u64,
    /// Packets lost from the current source: expected minus received (RFC 3550 §6.4.1;
    /// negative with duplicates).
    pub packets_lost: i64,
    /// The interarrival jitter (RFC 3550 §6.4.1) in milliseconds.
    pub jitter_ms: f64,
    /// RTCP packets sent.
    pub rtcp_sent: u64,
    /// RTCP packets received.
    pub rtcp_received: u64,
    /// DTMF digits sent as RFC 4733 events.
    pub dtmf_sent: u64,
    /// DTMF digits received as RFC 4733 events.
    pub dtmf_received: u64,
    /// Whether any audio packet was received while receiving (the seed's
    /// `audio_was_received`).
    pub audio_was_received: bool,
    /// The length of the recording so far, in milliseconds.
    pub recorded_ms: u64,
    /// Whether the stream has ended with its session.
    pub ended: bool,
}

impl Handle {
    async fn audio_request<T>(
        &self,
        make: impl FnOnce(Reply<T>) -> Request,
    ) -> Result<T, CommandError> {
        let (tx, rx) = oneshot::channel();
        self.commands
            .send(Command::Audio(make(tx)))
            .map_err(|_| CommandError::Stopped)?;
        rx.await.unwrap_or(Err(CommandError::Stopped))
    }

    /// Places a call to `target` with a native audio stream: binds its RTP port pair, opens
    /// the files of `options` and offers PCMU, PCMA and telephone-event. Returns the
    /// session id; media flows once the session is established.
    pub async fn call_with_audio(
        &self,
        target: &str,
        options: AudioOptions,
    ) -> Result<u64, CommandError> {
        let target = target.to_string();
        self.audio_request(|reply| Request::Call {
            target,
            options,
            reply,
        })
        .await
    }

    /// Accepts an incoming session with a native audio stream answering its offer.
    pub async fn answer_with_audio(
        &self,
        id: u64,
        options: AudioOptions,
    ) -> Result<(), CommandError> {
        self.audio_request(|reply| Request::Answer { id, options, reply })
            .await
    }

    /// The statistics of a session's native audio stream (also for a while after it
    /// ended).
    pub async fn audio_statistics(&self, id: u64) -> Result<AudioStatistics, CommandError> {
        self.audio_request(|reply| Request::Statistics { id, reply })
            .await
    }

    /// The seed's `audio_was_received`: whether the session's native audio stream has
    /// received audio.
    pub async fn audio_was_received(&self, id: u64) -> Result<bool, CommandError> {
        Ok(self.audio_statistics(id).await?.audio_was_received)
    }
}

type Reply<T> = oneshot::Sender<Result<T, CommandError>>;

/// The audio commands, as the driver's loop receives them.
#[derive(Debug)]
pub(crate) enum Request {
    Call {
        target: String,
        options: AudioOptions,
        reply: Reply<u64>,
    },
    Answer {
        id: u64,
        options: AudioOptions,
        reply: Reply<()>,
    },
    Statistics {
        id: u64,
        reply: Reply<AudioStatistics>,
    },
}

/// What a received payload type carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Payload {
    Audio(G711),
    Event,
}

/// What the descriptions in effect say about the stream.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct Params {
    /// The peer's RTP and RTCP addresses from its SDP.
    remote: Option<SocketAddr>,
    remote_rtcp: Option<SocketAddr>,
    /// The payload type and codec we send.
    codec: Option<(u8, G711)>,
    /// The telephone-event payload type we send.
    event_pt: Option<u8>,
    /// The payload types we take.
    receive_types: Vec<(u8, Payload)>,
    send: bool,
    receive: bool,
}

impl Params {
    fn payload(&self, pt: u8) -> Option<Payload> {
        self.receive_types
            .iter()
            .find(|(p, _)| *p == pt)
            .map(|(_, kind)| *kind)
    }

    /// Reads our description and the peer's: our audio m-line is the one with our port.
    fn from_sdp(
        local: &SessionDescription,
        remote: &SessionDescription,
        port: u16,
        flowing: bool,
    ) -> Params {
        let found = local
            .media
            .iter()
            .enumerate()
            .find(|(_, m)| m.media == MediaType::Audio && m.port == port && !m.is_rejected());
        let Some((index, ours)) = found else {
            return Params::default();
        };
        let Some(theirs) = remote.media.get(index).filter(|m| !m.is_rejected()) else {
            return Params::default();
        };
        let kind = |m: &MediaDescription, pt: u8| {
            let map = m.rtpmap(pt)?;
            if map.is_telephone_event() {
                (map.clock_rate == 8000).then_some(Payload::Event)
            } else {
                G711::from_rtpmap(&map.encoding, map.clock_rate, map.channels).map(Payload::Audio)
            }
        };
        let mut receive_types: Vec<(u8, Payload)> = Vec::new();
        for (m, pt) in ours
            .payload_types()
            .map(|pt| (ours, pt))
            .chain(theirs.payload_types().map(|pt| (theirs, pt)))
        {
            if let Some(k) = kind(m, pt) {
                if !receive_types.iter().any(|(p, _)| *p == pt) {
                    receive_types.push((pt, k));
                }
            }
        }
        let ours_has = |want: Payload| ours.payload_types().any(|pt| kind(ours, pt) == Some(want));
        // We send the peer's first codec that we also listed, with its payload type.
        let codec = theirs
            .payload_types()
            .find_map(|pt| match kind(theirs, pt) {
                Some(Payload::Audio(law)) if ours_has(Payload::Audio(law)) => Some((pt, law)),
                _ => None,
            });
        let event_pt = theirs
            .payload_types()
            .find(|pt| kind(theirs, *pt) == Some(Payload::Event))
            .filter(|_| ours_has(Payload::Event));
        let ip = remote
            .connection_of(theirs)
            .filter(|c| !c.is_unspecified())
            .and_then(|c| c.host().parse::<IpAddr>().ok());
        let remote_addr = ip
            .filter(|_| theirs.port != 0)
            .map(|ip| SocketAddr::new(ip, theirs.port));
        let remote_rtcp = remote_addr.map(|a| match theirs.rtcp() {
            Some(r) => {
                let ip = r
                    .connection
                    .and_then(|c| c.host().parse::<IpAddr>().ok())
                    .unwrap_or(a.ip());
                SocketAddr::new(ip, r.port)
            }
            None => SocketAddr::new(a.ip(), a.port().wrapping_add(1)),
        });
        let (ld, rd) = (local.direction_of(ours), remote.direction_of(theirs));
        Params {
            remote: remote_addr,
            remote_rtcp,
            codec,
            event_pt,
            receive_types,
            send: flowing && ld.sends() && rd.receives() && codec.is_some(),
            receive: flowing && ld.receives() && rd.sends(),
        }
    }
}

/// Commands from the loop to a stream's task.
#[derive(Debug)]
enum Control {
    Update(Params),
    Dtmf(u8),
}

/// What the loop and the task share: the statistics, and the recording, which the loop
/// finalises when the session ends.
struct Shared {
    stats: AudioStatistics,
    recording: Option<Recording>,
}

fn lock(shared: &Mutex<Shared>) -> MutexGuard<'_, Shared> {
    shared.lock().unwrap_or_else(PoisonError::into_inner)
}

/// A stream as the loop keeps it.
struct Stream {
    id: u64,
    port: u16,
    control: mpsc::UnboundedSender<Control>,
    shared: Arc<Mutex<Shared>>,
    task: Option<JoinHandle<()>>,
    /// What the last update was made of: flowing, our SDP, the peer's.
    applied: (bool, Option<String>, Option<String>),
    params: Params,
}

impl Stream {
    fn live(&self) -> bool {
        self.task.is_some()
    }

    /// Ends the stream: the task stops, the recording is finalised.
    fn stop(&mut self) {
        if let Some(task) = self.task.take() {
            task.abort();
        }
        let mut shared = lock(&self.shared);
        if let Some(rec) = shared.recording.take() {
            // A failed finalise leaves a file whose header undercounts; nothing to tell.
            let _ = rec.writer.finalize();
        }
        shared.stats.ended = true;
        shared.stats.sending = false;
        shared.stats.receiving = false;
    }
}

impl Drop for Stream {
    fn drop(&mut self) {
        self.stop();
    }
}

/// The native audio streams of a driver.
pub(crate) struct Streams {
    streams: Vec<Stream>,
    notify: mpsc::UnboundedSender<TimedNotification>,
    ip: IpAddr,
}

impl Streams {
    /// Streams bound on `ip`, reporting DTMF through `notify`.
    pub(crate) fn new(notify: mpsc::UnboundedSender<TimedNotification>, ip: IpAddr) -> Streams {
        Streams {
            streams: Vec::new(),
            notify,
            ip,
        }
    }

    /// Runs an audio command.
    pub(crate) fn apply(&mut self, ua: &mut UserAgent, now: Time, request: Request) {
        // A reply nobody waits for any more is fine to drop.
        match request {
            Request::Call {
                target,
                options,
                reply,
            } => {
                let _ = reply.send(self.call(ua, now, &target, &options));
            }
            Request::Answer { id, options, reply } => {
                let _ = reply.send(self.answer(ua, now, id, &options));
            }
            Request::Statistics { id, reply } => {
                let stats = self
                    .streams
                    .iter()
                    .rev()
                    .find(|s| s.id == id)
                    .map(|s| lock(&s.shared).stats.clone())
                    .ok_or(CommandError::Audio(AudioError::NoAudioStream(id)));
                let _ = reply.send(stats);
            }
        }
    }

    fn call(
        &mut self,
        ua: &mut UserAgent,
        now: Time,
        target: &str,
        options: &AudioOptions,
    ) -> Result<u64, CommandError> {
        let prepared = Prepared::open(self.ip, options).map_err(CommandError::Audio)?;
        let offer = capabilities(self.ip, prepared.port, prepared.session_id).offer();
        match ua.connect(now, target, Some(&text(&offer))) {
            Ok(id) => {
                self.start(id, prepared);
                Ok(id)
            }
            Err(e) => {
                prepared.discard(options);
                Err(CommandError::Core(e))
            }
        }
    }

    fn answer(
        &mut self,
        ua: &mut UserAgent,
        now: Time,
        id: u64,
        options: &AudioOptions,
    ) -> Result<(), CommandError> {
        let offer = ua
            .remote_sdp(id)
            .and_then(|s| s.parse::<SessionDescription>().ok())
            .ok_or(CommandError::Audio(AudioError::NoOffer(id)))?;
        let prepared = Prepared::open(self.ip, options).map_err(CommandError::Audio)?;
        let answer = capabilities(self.ip, prepared.port, prepared.session_id).answer(&offer);
        let usable = answer
            .streams
            .iter()
            .any(|s| s.accepted && s.media == MediaType::Audio && !s.codecs.is_empty());
        if !usable {
            prepared.discard(options);
            return Err(CommandError::Audio(AudioError::NoCommonCodec(id)));
        }
        match ua.accept(now, id, Some(&text(&answer.sdp))) {
            Ok(()) => {
                self.start(id, prepared);
                Ok(())
            }
            Err(e) => {
                prepared.discard(options);
                Err(CommandError::Core(e))
            }
        }
    }

    /// Spawns the stream's task, idle until the first update.
    fn start(&mut self, id: u64, p: Prepared) {
        let local = p
            .rtp
            .local_addr()
            .unwrap_or(SocketAddr::new(self.ip, p.port));
        let shared = Arc::new(Mutex::new(Shared {
            stats: AudioStatistics {
                local,
                remote: None,
                codec: None,
                telephone_event: false,
                sending: false,
                receiving: false,
                packets_sent: 0,
                bytes_sent: 0,
                packets_received: 0,
                bytes_received: 0,
                packets_lost: 0,
                jitter_ms: 0.0,
                rtcp_sent: 0,
                rtcp_received: 0,
                dtmf_sent: 0,
                dtmf_received: 0,
                audio_was_received: false,
                recorded_ms: 0,
                ended: false,
            },
            recording: p.recording,
        }));
        let (control, control_rx) = mpsc::unbounded_channel();
        let task = Task::new(id, local, p.player, shared.clone(), self.notify.clone());
        let handle = tokio::spawn(task.run(p.rtp, p.rtcp, control_rx));
        self.streams.push(Stream {
            id,
            port: p.port,
            control,
            shared,
            task: Some(handle),
            applied: (false, None, None),
            params: Params::default(),
        });
        // Keep the statistics of a few ended streams.
        let ended = self.streams.iter().filter(|s| !s.live()).count();
        if ended > ENDED_KEPT {
            if let Some(i) = self.streams.iter().position(|s| !s.live()) {
                self.streams.remove(i);
            }
        }
    }

    /// Sends `digit` as RFC 4733 events when the session's stream sends media and
    /// negotiated telephone-event; `None` when it cannot (the caller falls back to INFO).
    pub(crate) fn send_dtmf(&mut self, id: u64, digit: char) -> Option<Result<(), Error>> {
        let s = self.streams.iter().find(|s| s.id == id && s.live())?;
        if !s.params.send || s.params.event_pt.is_none() {
            return None;
        }
        let Some(event) = digit_to_event(digit) else {
            return Some(Err(Error::InvalidDtmfDigit(digit)));
        };
        Some(
            s.control
                .send(Control::Dtmf(event))
                .map_err(|_| Error::NoSuchSession(id)),
        )
    }

    /// Brings each stream in line with its session: stops it when the session ends, and
    /// tells its task what the descriptions in effect and the hold state say.
    pub(crate) fn sync(&mut self, ua: &UserAgent) {
        for s in self.streams.iter_mut().filter(|s| s.live()) {
            let Some(session) = ua.session(s.id) else {
                s.stop();
                continue;
            };
            let state = session.state();
            if matches!(state, SessionState::Terminating | SessionState::Terminated) {
                s.stop();
                continue;
            }
            let flowing = matches!(
                state,
                SessionState::Accepting
                    | SessionState::Established
                    | SessionState::Proposing
                    | SessionState::Proposed
            ) && !session.on_hold();
            let (local, remote) = (session.local_sdp(), session.remote_sdp());
            if s.applied.0 == flowing
                && s.applied.1.as_deref() == local
                && s.applied.2.as_deref() == remote
            {
                continue;
            }
            s.applied = (
                flowing,
                local.map(str::to_string),
                remote.map(str::to_string),
            );
            let parse = |sdp: Option<&str>| sdp.and_then(|t| t.parse::<SessionDescription>().ok());
            let params = match (parse(local), parse(remote)) {
                (Some(l), Some(r)) => Params::from_sdp(&l, &r, s.port, flowing),
                _ => Params::default(),
            };
            if params != s.params {
                // The statistics say it at once; the task follows when it next runs.
                let stats = &mut lock(&s.shared).stats;
                stats.codec = params.codec.map(|(_, law)| law.name());
                stats.telephone_event = params.event_pt.is_some();
                stats.sending = params.send;
                stats.receiving = params.receive;
                s.params = params.clone();
                // The task ends only when aborted, after which `live` is false.
                let _ = s.control.send(Control::Update(params));
            }
        }
    }
}

/// A stream's resources, opened before the SDP that names them is sent.
struct Prepared {
    rtp: std::net::UdpSocket,
    rtcp: std::net::UdpSocket,
    port: u16,
    session_id: u64,
    player: Option<Player>,
    recording: Option<Recording>,
}

impl Prepared {
    fn open(ip: IpAddr, options: &AudioOptions) -> Result<Prepared, AudioError> {
        if ip.is_unspecified() {
            return Err(AudioError::NoMediaAddress);
        }
        let player = match &options.play {
            Some(path) => Some(Player::open(path, options.loop_play)?),
            None => None,
        };
        let (rtp, rtcp) = bind_pair(ip).map_err(|e| AudioError::Bind(e.to_string()))?;
        let port = rtp
            .local_addr()
            .map_err(|e| AudioError::Bind(e.to_string()))?
            .port();
        let recording = match &options.record {
            Some(path) => Some(Recording::create(path)?),
            None => None,
        };
        Ok(Prepared {
            rtp,
            rtcp,
            port,
            session_id: (u64::from(random_u32()) << 20) | u64::from(random_u32() >> 12),
            player,
            recording,
        })
    }

    /// Gives up: the recording created for nothing is removed.
    fn discard(self, options: &AudioOptions) {
        if let (Some(rec), Some(path)) = (self.recording, &options.record) {
            let _ = rec.writer.finalize();
            let _ = std::fs::remove_file(path);
        }
    }
}

/// An even RTP port and the RTCP port after it (RFC 3550 §11), bound on `ip`.
fn bind_pair(ip: IpAddr) -> io::Result<(std::net::UdpSocket, std::net::UdpSocket)> {
    for _ in 0..64 {
        let rtp = std::net::UdpSocket::bind((ip, 0))?;
        let port = rtp.local_addr()?.port();
        if port % 2 != 0 || port == u16::MAX {
            continue;
        }
        if let Ok(rtcp) = std::net::UdpSocket::bind((ip, port + 1)) {
            rtp.set_nonblocking(true)?;
            rtcp.set_nonblocking(true)?;
            return Ok((rtp, rtcp));
        }
    }
    Err(io::Error::new(
        io::ErrorKind::AddrInUse,
        "no free even port with a free next port",
    ))
}

/// Our capabilities: PCMU, PCMA and telephone-event/8000 on `port`, 20 ms packets.
fn capabilities(ip: IpAddr, port: u16, session_id: u64) -> LocalCapabilities {
    let host = ip.to_string();
    let mut origin = Origin::new("-", session_id.to_string(), 1, host.clone());
    let connection = if ip.is_ipv6() {
        origin.addr_type = "IP6".to_string();
        Connection::ip6(host)
    } else {
        Connection::ip4(host)
    };
    let mut caps = LocalCapabilities::new(origin, connection);
    caps.session_name = "sipsimple-rs".to_string();
    let mut audio = MediaCapabilities::rtp(
        MediaType::Audio,
        port,
        "RTP/AVP",
        vec![Codec::new("PCMU", 8000), Codec::new("PCMA", 8000)],
    );
    audio.telephone_event = true;
    audio.attributes.push(Attribute::new("ptime", "20"));
    caps.media.push(audio);
    caps
}

fn text(sd: &SessionDescription) -> String {
    String::from_utf8_lossy(&sd.to_bytes()).into_owned()
}

/// Randomness for SSRCs, sequence numbers and session ids: std's per-process random hasher
/// keys (drawn from the OS) over a counter and the clock.
fn random_u32() -> u32 {
    use std::hash::BuildHasher;
    use std::sync::atomic::{AtomicU64, Ordering};
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let wall = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap_or_default()
        .as_nanos();
    let h = std::collections::hash_map::RandomState::new().hash_one((n, wall));
    (h >> 32) as u32 ^ h as u32
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sd(text: &str) -> SessionDescription {
        text.parse().expect("valid SDP")
    }

    #[test]
    fn params_follow_the_descriptions() {
        let caps = capabilities("127.0.0.1".parse().expect("ip"), 40000, 1);
        let offer = caps.offer();
        let o = text(&offer);
        assert!(o.contains("m=audio 40000 RTP/AVP 0 8 96"), "{o}");
        assert!(o.contains("a=rtpmap:96 telephone-event/8000"), "{o}");
        let answer = sd(
            "v=0\r\no=- 1 1 IN IP4 127.0.0.2\r\ns=-\r\nc=IN IP4 127.0.0.2\r\n\
             t=0 0\r\nm=audio 5000 RTP/AVP 8 101\r\na=rtpmap:101 telephone-event/8000\r\n",
        );
        let p = Params::from_sdp(&offer, &answer, 40000, true);
        assert_eq!(p.codec, Some((8, G711::Pcma)));
        assert_eq!(p.event_pt, Some(101));
        assert_eq!(p.remote, Some("127.0.0.2:5000".parse().expect("addr")));
        assert_eq!(p.remote_rtcp, Some("127.0.0.2:5001".parse().expect("addr")));
        assert!(p.send && p.receive);
        assert_eq!(p.payload(0), Some(Payload::Audio(G711::Pcmu)));
        assert_eq!(p.payload(96), Some(Payload::Event));
        assert_eq!(p.payload(101), Some(Payload::Event));
        assert_eq!(p.payload(9), None);
        // A peer that only receives: we send and take nothing; not flowing (hold): neither.
        let held = sd(
            "v=0\r\no=- 1 2 IN IP4 127.0.0.2\r\ns=-\r\nc=IN IP4 127.0.0.2\r\n\
             t=0 0\r\nm=audio 5000 RTP/AVP 0\r\na=recvonly\r\n",
        );
        let p = Params::from_sdp(&offer, &held, 40000, true);
        assert!(p.send && !p.receive);
        assert_eq!(p.event_pt, None);
        let p = Params::from_sdp(&offer, &answer, 40000, false);
        assert!(!p.send && !p.receive);
        // Another port: not our stream.
        assert_eq!(
            Params::from_sdp(&offer, &answer, 40002, true),
            Params::default()
        );
    }

    #[test]
    fn answers_take_g711_only() {
        let caps = capabilities("127.0.0.1".parse().expect("ip"), 40000, 1);
        let offer = sd(
            "v=0\r\no=- 1 1 IN IP4 127.0.0.2\r\ns=-\r\nc=IN IP4 127.0.0.2\r\n\
             t=0 0\r\nm=audio 5000 RTP/AVP 111 8 0\r\na=rtpmap:111 opus/48000/2\r\n\
             m=video 5002 RTP/AVP 96\r\n",
        );
        let answer = caps.answer(&offer);
        let a = text(&answer.sdp);
        assert!(a.contains("m=audio 40000 RTP/AVP 8 0"), "{a}");
        assert!(a.contains("m=video 0 "), "{a}");
        let p = Params::from_sdp(&answer.sdp, &offer, 40000, true);
        assert_eq!(p.codec, Some((8, G711::Pcma)));
        assert_eq!(p.event_pt, None);
    }
}
