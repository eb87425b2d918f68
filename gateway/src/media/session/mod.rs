//! One anchored call: the SDP rewriting of its offers and answers (RFC 3264) and the state
//! the packet pumps share (codecs, directions, SRTP, the recording, statistics).
//!
//! Every SIP message of the call that leaves the gateway passes through the call's queue, in
//! order, so an answer is never rewritten before its offer. Retransmissions carry the same
//! body and get the same rewritten body from a cache.

use super::codec::{Codec, PcmTap, Transcoder};
use super::recorder::{Layout, Leg, Recorder};
use super::sdp::{self, Flavor, LocalSip, SipMedia};
use super::srtp::{SdesKey, SrtpSession, Suite};
use super::webrtc_leg::WebRtcLeg;
use super::Shared;
use crate::config::SrtpPolicy;
use crate::gateway::Gateway;
use crate::proxy::Input;
use sipsimple::rtp::dtmf::{digit_to_event, DtmfDetector};
use sipsimple::rtp::stats::{RtpStats, StatsSnapshot};
use sipsimple::sdp::Direction;
use sipsimple::sip::Message;
use sipsimple::transaction::{Dest, TransportKind};
use std::collections::HashMap;
use std::hash::{Hash, Hasher};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use tokio::net::UdpSocket;
use tokio::sync::mpsc;
use tracing::{debug, info, warn};
use webrtc::rtp::header::Header;
use webrtc::rtp::packet::Packet;
use webrtc::util::{Marshal, Unmarshal};

mod control;
mod dtmf;
mod packets;

use control::respond;
pub use control::safe_name;

/// The content type of the browser's recording control (docs/decisions.md).
pub const RECORDING_CONTROL: &str = "application/vnd.sipsimple.recording+json";

/// Which side of the gateway a destination is on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    /// A browser on a WebSocket flow: WebRTC.
    Browser,
    /// Anything else: plain SIP, RTP.
    Sip,
}

impl Side {
    /// The side `dest` is on.
    pub fn of(dest: &Dest) -> Side {
        match dest.transport {
            TransportKind::Ws | TransportKind::Wss => Side::Browser,
            _ => Side::Sip,
        }
    }

    /// Whether SDP going to this side must be rewritten: it is of the other flavor than
    /// the side speaks (WebRTC SDP to a SIP hop, plain SDP to a browser). The one rule that
    /// starts an anchored call and picks which messages a call's worker rewrites.
    pub fn needs_rewrite(self, sdp: &sipsimple::sdp::SessionDescription) -> bool {
        matches!(
            (sdp::flavor(sdp), self),
            (Some(Flavor::WebRtc), Side::Sip) | (Some(Flavor::Plain), Side::Browser)
        )
    }

    fn other(self) -> Side {
        match self {
            Side::Browser => Side::Sip,
            Side::Sip => Side::Browser,
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// The SIP leg as negotiated.
#[derive(Debug, Clone, Copy)]
struct SipParams {
    codec: Codec,
    pt: u8,
    te: Option<u8>,
    remote: Option<SocketAddr>,
    rtcp: Option<SocketAddr>,
}

/// The offer in flight and what its answer needs.
enum Pending {
    /// The browser offered; the gateway's WebRTC answer waits for the SIP side's answer.
    FromBrowser {
        webrtc_answer: String,
        audio_index: usize,
    },
    /// The SIP side offered; the gateway answers it when the browser has answered.
    FromSip {
        audio_index: usize,
        offer: SipMedia,
        codec: (Codec, u8),
        crypto: Option<(String, SdesKey)>,
    },
}

impl Pending {
    fn from(&self) -> Side {
        match self {
            Pending::FromBrowser { .. } => Side::Browser,
            Pending::FromSip { .. } => Side::Sip,
        }
    }
}

/// One direction's RTP header state.
struct Pipe {
    seq: u16,
    ts: u32,
    ssrc: u32,
    transcoder: Option<Transcoder>,
    tap: Option<PcmTap>,
}

impl Pipe {
    fn new(seed: u32) -> Pipe {
        Pipe {
            seq: (seed & 0x7fff) as u16,
            ts: seed.rotate_left(7),
            ssrc: seed.rotate_left(13) | 1,
            transcoder: None,
            tap: None,
        }
    }

    fn header(&mut self, pt: u8, ts: u32, marker: bool) -> Header {
        self.seq = self.seq.wrapping_add(1);
        Header {
            version: 2,
            marker,
            payload_type: pt,
            sequence_number: self.seq,
            timestamp: ts,
            ssrc: self.ssrc,
            ..Default::default()
        }
    }
}

/// Who is in the call, learnt from the messages that pass.
#[derive(Debug, Default, Clone)]
struct Dialog {
    browser_tag: Option<String>,
    other_tag: Option<String>,
    browser_dest: Option<Dest>,
    browser_uri: Option<String>,
    owner: Option<String>,
    peer: Option<String>,
}

struct State {
    version: u64,
    pending: Option<Pending>,
    cache: HashMap<u64, Vec<u8>>,
    sip: Option<SipParams>,
    /// Media negotiated (an answer applied, early or final).
    established: bool,
    /// A 2xx to the INVITE passed: CANCEL and failures no longer end the call.
    confirmed: bool,
    browser_dir: Direction,
    sip_dir: Direction,
    latched: Option<SocketAddr>,
    remote_ssrc: Option<u32>,
    to_sip: Pipe,
    to_browser: Pipe,
    local_key: Option<SdesKey>,
    srtp: Option<SrtpSession>,
    recorder: Option<Recorder>,
    /// Encoded 20 ms frames of in-band DTMF that replace the browser's audio towards SIP.
    dtmf_frames: std::collections::VecDeque<bytes::Bytes>,
    /// RFC 4733 digits going out on the SIP leg.
    dtmf_out: dtmf::DtmfOut,
    stats_from_browser: RtpStats,
    stats_from_sip: RtpStats,
    dtmf_in: DtmfDetector,
    dialog: Dialog,
}

impl State {
    fn to_sip_open(&self) -> bool {
        self.browser_dir.sends() && self.sip_dir.receives()
    }

    fn to_browser_open(&self) -> bool {
        self.sip_dir.sends() && self.browser_dir.receives()
    }

    fn on_hold(&self) -> bool {
        self.browser_dir != Direction::SendRecv || self.sip_dir != Direction::SendRecv
    }

    fn update_hold(&mut self) {
        let hold = self.on_hold();
        if let Some(r) = self.recorder.as_mut() {
            r.set_paused(hold);
        }
    }

    /// Applies the SIP leg's negotiated parameters; `true` the first time.
    fn configure(&mut self, p: SipParams) -> Result<bool, String> {
        let transcode = p.codec != Codec::Opus;
        let same = self.sip.is_some_and(|o| o.codec == p.codec);
        if !same {
            self.to_sip.transcoder = if transcode {
                Some(Transcoder::new(Codec::Opus, p.codec).map_err(|e| e.to_string())?)
            } else {
                None
            };
            self.to_browser.transcoder = if transcode {
                Some(Transcoder::new(p.codec, Codec::Opus).map_err(|e| e.to_string())?)
            } else {
                None
            };
            self.to_browser.tap = None;
        }
        // A new address in the SIP side's SDP (it moved, or came back from an RFC 2543
        // hold) forgets the latched source: the next packets latch again.
        let moved = self
            .sip
            .is_some_and(|o| p.remote.is_some() && o.remote != p.remote);
        if moved {
            self.latched = None;
        }
        self.sip = Some(p);
        let first = !self.established;
        self.established = true;
        Ok(first)
    }
}

/// What the packet pumps need.
pub(super) struct Io {
    pub leg: WebRtcLeg,
    pub rtp: Arc<UdpSocket>,
    pub rtcp: Arc<UdpSocket>,
    pub local: LocalSip,
}

/// One anchored call.
pub struct MediaSession {
    /// The Call-ID of the call.
    pub call_id: String,
    shared: Arc<Shared>,
    queue: mpsc::UnboundedSender<(Dest, Vec<u8>)>,
    state: Mutex<State>,
    io: tokio::sync::OnceCell<Io>,
    ended: AtomicBool,
    stop: tokio::sync::Notify,
    tasks: Mutex<Vec<tokio::task::JoinHandle<()>>>,
}

impl std::fmt::Debug for MediaSession {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MediaSession")
            .field("call_id", &self.call_id)
            .finish()
    }
}

/// The audio part of a description for the WebRTC stack: the text as it came when audio is
/// all there is, else the audio stream re-encoded alone.
fn audio_text(cut: &sdp::Split, text: &str) -> String {
    if cut.others.is_empty() {
        text.to_string()
    } else {
        String::from_utf8_lossy(&cut.audio.to_bytes()).into_owned()
    }
}

fn body_key(body: &[u8]) -> u64 {
    let mut h = std::collections::hash_map::DefaultHasher::new();
    body.hash(&mut h);
    h.finish()
}

fn content_type(msg: &Message) -> String {
    msg.header("Content-Type")
        .map(|c| {
            c.split(';')
                .next()
                .unwrap_or_default()
                .trim()
                .to_ascii_lowercase()
        })
        .unwrap_or_default()
}

fn seed() -> u32 {
    let mut b = [0u8; 4];
    let _ = getrandom::fill(&mut b);
    u32::from_le_bytes(b)
}

impl MediaSession {
    /// A session for `call_id`; its worker starts on the first queued message.
    pub(super) fn start(call_id: String, shared: Arc<Shared>, gw: Arc<Gateway>) -> Arc<Self> {
        let (tx, rx) = mpsc::unbounded_channel();
        let s = Arc::new(MediaSession {
            call_id,
            shared,
            queue: tx,
            state: Mutex::new(State {
                version: 1,
                pending: None,
                cache: HashMap::new(),
                sip: None,
                established: false,
                confirmed: false,
                browser_dir: Direction::SendRecv,
                sip_dir: Direction::SendRecv,
                latched: None,
                remote_ssrc: None,
                to_sip: Pipe::new(seed()),
                to_browser: Pipe::new(seed()),
                local_key: None,
                srtp: None,
                recorder: None,
                dtmf_frames: std::collections::VecDeque::new(),
                dtmf_out: dtmf::DtmfOut::default(),
                stats_from_browser: RtpStats::default(),
                stats_from_sip: RtpStats::default(),
                dtmf_in: DtmfDetector::new(),
                dialog: Dialog::default(),
            }),
            io: tokio::sync::OnceCell::new(),
            ended: AtomicBool::new(false),
            stop: tokio::sync::Notify::new(),
            tasks: Mutex::new(Vec::new()),
        });
        let worker = Arc::clone(&s);
        tokio::spawn(async move { worker.run(gw, rx).await });
        s
    }

    /// Queues a message of this call for sending after its SDP, if any, is rewritten.
    pub(super) fn enqueue(&self, dest: Dest, bytes: Vec<u8>) -> Result<(), (Dest, Vec<u8>)> {
        self.queue.send((dest, bytes)).map_err(|e| e.0)
    }

    /// The statistics of both directions: (from the browser, from the SIP side).
    pub fn stats(&self) -> (StatsSnapshot, StatsSnapshot) {
        let st = lock(&self.state);
        (
            st.stats_from_browser.snapshot(),
            st.stats_from_sip.snapshot(),
        )
    }

    /// `true` once the call has ended.
    pub fn ended(&self) -> bool {
        self.ended.load(Ordering::Relaxed)
    }

    async fn run(
        self: Arc<Self>,
        gw: Arc<Gateway>,
        mut rx: mpsc::UnboundedReceiver<(Dest, Vec<u8>)>,
    ) {
        loop {
            let next = tokio::select! {
                n = rx.recv() => n,
                _ = self.stop.notified() => None,
            };
            let Some((dest, bytes)) = next else { break };
            let (out, end) = self.process(&gw, &dest, bytes).await;
            if let Some(b) = out {
                gw.transmit(dest, b);
            }
            if end {
                break;
            }
        }
        // Whatever is still queued goes out unchanged, then the call's media ends.
        rx.close();
        while let Ok((dest, bytes)) = rx.try_recv() {
            gw.transmit(dest, bytes);
        }
        self.finish().await;
    }

    async fn io(&self) -> Result<&Io, String> {
        let io = self
            .io
            .get_or_try_init(|| async {
                let io = self.shared.open_io().await?;
                Ok::<Io, String>(io)
            })
            .await?;
        // The pumps start with the legs, so the browser's track is never missed.
        self.spawn_pumps();
        Ok(io)
    }

    /// Rewrites what needs rewriting; returns what to send and whether the call ended.
    async fn process(
        &self,
        gw: &Arc<Gateway>,
        dest: &Dest,
        bytes: Vec<u8>,
    ) -> (Option<Vec<u8>>, bool) {
        let Ok(mut msg) = Message::parse(&bytes) else {
            return (Some(bytes), false);
        };
        let to = Side::of(dest);
        self.learn(&msg, dest, to);
        let ct = content_type(&msg);
        if to == Side::Sip
            && msg.method() == Some("INFO")
            && self.intercept_info(gw, &msg, dest, &ct).await
        {
            return (None, false);
        }
        let mut out = bytes;
        if ct == "application/sdp" && !msg.body.is_empty() {
            match self.rewrite(&msg.body, to).await {
                Ok(Some(body)) => {
                    msg.set_body("application/sdp", body);
                    out = msg.to_bytes();
                }
                Ok(None) => {}
                Err(e) if to == Side::Browser && msg.method() == Some("INVITE") => {
                    // A SIP offer the gateway cannot anchor (no common codec, SRTP it does
                    // not support) gets 488 (RFC 3264 §6, RFC 3261 §21.4.26) rather than
                    // reaching a browser that could not use it either.
                    self.shared
                        .counters
                        .sdp_errors
                        .fetch_add(1, Ordering::Relaxed);
                    warn!(call_id = %self.call_id, error = %e, "offer refused with 488");
                    respond(gw, &msg, dest, 488, "Not Acceptable Here", None);
                    let confirmed = lock(&self.state).confirmed;
                    return (None, !confirmed);
                }
                Err(e) => {
                    self.shared
                        .counters
                        .sdp_errors
                        .fetch_add(1, Ordering::Relaxed);
                    warn!(call_id = %self.call_id, error = %e, "media not anchored; SDP passed on as is");
                }
            }
        }
        let end = self.ends_call(&msg);
        (Some(out), end)
    }

    /// Tags, the browser's flow and who owns the call, from a message going to `to`.
    fn learn(&self, msg: &Message, dest: &Dest, to: Side) {
        let mut st = lock(&self.state);
        let d = &mut st.dialog;
        if to == Side::Browser {
            d.browser_dest = Some(dest.clone());
        }
        let from = msg.from_addr().ok();
        let to_addr = msg.to_addr().ok();
        // Requests from the browser and responses to it carry its tag in From; the others
        // carry it in To.
        let browser_is_from = msg.is_request() == (to == Side::Sip);
        let (mine, theirs) = if browser_is_from {
            (from, to_addr)
        } else {
            (to_addr, from)
        };
        // Only the INVITE that starts the call says who the caller is; later requests may
        // go the other way, so owner and peer are learnt once.
        if let Some(m) = mine {
            if d.browser_tag.is_none() {
                d.browser_tag = m.tag().map(str::to_string);
            }
            if d.owner.is_none() {
                d.owner = m.uri.user.clone();
                d.browser_uri = Some(m.uri.to_string());
            }
        }
        if let Some(t) = theirs {
            if d.other_tag.is_none() {
                d.other_tag = t.tag().map(str::to_string);
            }
            if d.peer.is_none() {
                d.peer = t.uri.user.clone().or(Some(t.uri.host.clone()));
            }
        }
    }

    fn ends_call(&self, msg: &Message) -> bool {
        let invite = msg.cseq().is_ok_and(|c| c.method == "INVITE");
        if invite && msg.code().is_some_and(|c| (200..300).contains(&c)) {
            lock(&self.state).confirmed = true;
        }
        let confirmed = lock(&self.state).confirmed;
        match msg.method() {
            Some("BYE") => true,
            Some("CANCEL") => !confirmed,
            Some(_) => false,
            None => {
                let code = msg.code().unwrap_or(0);
                if invite && code >= 300 {
                    // A failed re-INVITE rolls back its offer; a failed INVITE ends the call.
                    lock(&self.state).pending = None;
                    !confirmed
                } else {
                    false
                }
            }
        }
    }

    async fn rewrite(&self, body: &[u8], to: Side) -> Result<Option<Vec<u8>>, String> {
        let key = body_key(body);
        if let Some(c) = lock(&self.state).cache.get(&key) {
            return Ok(Some(c.clone()));
        }
        let parsed = sdp::parse(body).map_err(|e| e.to_string())?;
        if !to.needs_rewrite(&parsed) {
            return Ok(None);
        }
        let text = String::from_utf8_lossy(body).into_owned();
        let from = to.other();
        let is_answer = lock(&self.state)
            .pending
            .as_ref()
            .is_some_and(|p| p.from() != from);
        let out = match (from, is_answer) {
            (Side::Browser, false) => self.browser_offer(&parsed, &text).await?,
            (Side::Sip, true) => self.sip_answer(&parsed)?,
            (Side::Sip, false) => self.sip_offer(&parsed).await?,
            (Side::Browser, true) => self.browser_answer(&parsed, &text).await?,
        };
        let mut st = lock(&self.state);
        if st.cache.len() > 64 {
            st.cache.clear();
        }
        st.cache.insert(key, out.clone());
        Ok(Some(out))
    }

    fn local_key(&self, st: &mut State) -> Result<Option<SdesKey>, String> {
        if self.shared.cfg.srtp == SrtpPolicy::Off {
            return Ok(None);
        }
        if st.local_key.is_none() {
            st.local_key =
                Some(SdesKey::generate(Suite::AesCm128HmacSha1_80).map_err(|e| e.to_string())?);
        }
        Ok(st.local_key.clone())
    }

    async fn browser_offer(
        &self,
        sdp: &sipsimple::sdp::SessionDescription,
        text: &str,
    ) -> Result<Vec<u8>, String> {
        let io = self.io().await?;
        let cut = sdp::split(sdp).ok_or_else(|| sdp::SdpMediaError::NoAudio.to_string())?;
        let webrtc_answer = io
            .leg
            .answer(&audio_text(&cut, text))
            .await
            .map_err(|e| e.to_string())?;
        let mut st = lock(&self.state);
        st.browser_dir = sdp::audio_direction(sdp);
        st.version += 1;
        let key = self.local_key(&mut st)?;
        let attr = key.as_ref().map(|k| k.to_attribute(1));
        let required = self.shared.cfg.srtp == SrtpPolicy::Required;
        let offer = sdp::sip_offer(
            &io.local,
            st.version,
            st.browser_dir,
            attr.as_deref(),
            required,
        );
        st.pending = Some(Pending::FromBrowser {
            webrtc_answer,
            audio_index: cut.audio_index,
        });
        Ok(sdp::splice(offer, cut.audio_index, &cut.others).to_bytes())
    }

    fn sip_answer(&self, sdp: &sipsimple::sdp::SessionDescription) -> Result<Vec<u8>, String> {
        let m = sdp::read_sip(sdp).map_err(|e| e.to_string())?;
        let mut st = lock(&self.state);
        let Some(Pending::FromBrowser {
            webrtc_answer,
            audio_index,
        }) = st.pending.take()
        else {
            return Err("an answer without an offer".into());
        };
        let srtp = match (&st.local_key, m.crypto.first()) {
            (Some(local), Some(c)) => {
                let (_, remote) = SdesKey::from_crypto(c).map_err(|e| e.to_string())?;
                Some(SrtpSession::new(local, &remote).map_err(|e| e.to_string())?)
            }
            (_, None) if m.requires_srtp() => return Err("RTP/SAVP answer without a key".into()),
            _ => None,
        };
        if let Some((codec, pt)) = m.codecs.first().copied() {
            let first = st.configure(SipParams {
                codec,
                pt,
                te: m.telephone_event,
                remote: m.rtp,
                rtcp: m.rtcp,
            })?;
            if first {
                self.shared.counters.count_codec(codec);
                self.watch_audio();
            }
        } else if !m.rejected {
            return Err(sdp::SdpMediaError::NoCommonCodec.to_string());
        }
        st.srtp = srtp;
        st.sip_dir = m.direction;
        st.update_hold();
        let record = self.shared.cfg.record_calls && st.recorder.is_none();
        drop(st);
        if record {
            if let Err(e) = self.start_recording(None) {
                warn!(call_id = %self.call_id, error = %e, "recording did not start");
            }
        }
        let others = sdp::others_of(sdp);
        if others.is_empty() {
            return Ok(webrtc_answer.into_bytes());
        }
        let answer = sdp::parse(webrtc_answer.as_bytes()).map_err(|e| e.to_string())?;
        Ok(sdp::splice(answer, audio_index, &others).to_bytes())
    }

    async fn sip_offer(&self, sdp: &sipsimple::sdp::SessionDescription) -> Result<Vec<u8>, String> {
        let m = sdp::read_sip(sdp).map_err(|e| e.to_string())?;
        let codec = m
            .pick()
            .ok_or_else(|| sdp::SdpMediaError::NoCommonCodec.to_string())?;
        let crypto = if m.requires_srtp() || !m.crypto.is_empty() {
            let usable = m.crypto.iter().find_map(|c| SdesKey::from_crypto(c).ok());
            match usable {
                Some((tag, remote)) => {
                    let local = SdesKey::generate(remote.suite).map_err(|e| e.to_string())?;
                    Some((local.to_attribute(tag), remote, local))
                }
                None if m.requires_srtp() => {
                    return Err(sdp::SdpMediaError::NoUsableCrypto.to_string())
                }
                None => None,
            }
        } else {
            None
        };
        let io = self.io().await?;
        let offer = io
            .leg
            .offer(m.direction.sends(), m.direction.receives())
            .await
            .map_err(|e| e.to_string())?;
        let mut st = lock(&self.state);
        if let Some((_, remote, local)) = &crypto {
            st.srtp = Some(SrtpSession::new(local, remote).map_err(|e| e.to_string())?);
        }
        let cut = sdp::split(sdp).ok_or_else(|| sdp::SdpMediaError::NoAudio.to_string())?;
        st.pending = Some(Pending::FromSip {
            audio_index: cut.audio_index,
            offer: m,
            codec,
            crypto: crypto.map(|(attr, _, local)| (attr, local)),
        });
        if cut.others.is_empty() {
            return Ok(offer.into_bytes());
        }
        let ours = sdp::parse(offer.as_bytes()).map_err(|e| e.to_string())?;
        Ok(sdp::splice(ours, cut.audio_index, &cut.others).to_bytes())
    }

    async fn browser_answer(
        &self,
        sdp: &sipsimple::sdp::SessionDescription,
        text: &str,
    ) -> Result<Vec<u8>, String> {
        let io = self.io().await?;
        let cut = sdp::split(sdp).ok_or_else(|| sdp::SdpMediaError::NoAudio.to_string())?;
        io.leg
            .accept_answer(&audio_text(&cut, text))
            .await
            .map_err(|e| e.to_string())?;
        let mut st = lock(&self.state);
        let Some(Pending::FromSip {
            audio_index,
            offer,
            codec,
            crypto,
        }) = st.pending.take()
        else {
            return Err("an answer without an offer".into());
        };
        let browser = sdp::audio_direction(sdp);
        let dir = Direction::from_flags(
            browser.sends() && offer.direction.receives(),
            browser.receives() && offer.direction.sends(),
        );
        st.version += 1;
        let answer = sdp::sip_answer(
            &io.local,
            st.version,
            &offer,
            codec,
            dir,
            crypto.as_ref().map(|(a, _)| a.as_str()),
        );
        let first = st.configure(SipParams {
            codec: codec.0,
            pt: codec.1,
            te: offer.telephone_event,
            remote: offer.rtp,
            rtcp: offer.rtcp,
        })?;
        if first {
            self.shared.counters.count_codec(codec.0);
            self.watch_audio();
        }
        st.browser_dir = browser;
        st.sip_dir = offer.direction;
        st.update_hold();
        if self.shared.cfg.record_calls && st.recorder.is_none() {
            drop(st);
            if let Err(e) = self.start_recording(None) {
                warn!(call_id = %self.call_id, error = %e, "recording did not start");
            }
        } else {
            drop(st);
        }
        Ok(sdp::splice(answer, audio_index, &cut.others).to_bytes())
    }

    /// Starts the packet pumps once (after the first answer).
    fn spawn_pumps(&self) {
        let mut tasks = lock(&self.tasks);
        if !tasks.is_empty() {
            return;
        }
        let Some(me) = self.shared.session(&self.call_id) else {
            return;
        };
        tasks.push(tokio::spawn(super::pump::from_sip(Arc::clone(&me))));
        tasks.push(tokio::spawn(super::pump::rtcp(Arc::clone(&me))));
        super::pump::from_browser(me);
    }

    pub(super) fn io_now(&self) -> Option<&Io> {
        self.io.get()
    }

    pub(super) fn shared(&self) -> &Arc<Shared> {
        &self.shared
    }

    /// Ends the call's media: pumps, the peer connection, the recording.
    pub(super) async fn finish(&self) {
        if self.ended.swap(true, Ordering::SeqCst) {
            return;
        }
        self.stop.notify_one();
        for t in lock(&self.tasks).drain(..) {
            t.abort();
        }
        self.stop_recording();
        if let Some(io) = self.io.get() {
            io.leg.close().await;
        }
        let (b, s) = self.stats();
        info!(call_id = %self.call_id, from_browser = b.packets_received, from_sip = s.packets_received,
            "media ended");
        self.shared.remove(&self.call_id);
    }
}
