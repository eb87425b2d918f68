//! The audio stream (the seed's `AudioStream`): an RTP m-line (RFC 3264 §5, §6.1) built by
//! the offer/answer engine from a codec list, with telephone-event (RFC 4733) and hold by
//! direction (§8.4). The RTP itself is the shell's (the gateway's relay, the browser's
//! WebRTC stack).

use super::{
    answer_direction, media_at, MediaStream, StreamConfig, StreamCore, StreamError, StreamEvent,
    StreamFactory, AUDIO,
};
use crate::offer_answer::{Codec, LocalCapabilities, MediaCapabilities};
use crate::sdp::{Connection, MediaDescription, MediaType, Origin, SessionDescription};
use crate::session::SessionDirection;

/// An audio stream at the level of SDP negotiation.
#[derive(Debug, Clone)]
pub struct AudioStream {
    core: StreamCore,
    caps: MediaCapabilities,
    host: String,
    /// The offer the stream was created from: that one m-line, at index 0.
    offered: Option<SessionDescription>,
    /// The codecs in effect: our m-line's that the peer's m-line has too, in our order.
    codecs: Vec<String>,
}

impl AudioStream {
    /// Its registry entry: priority 1.
    pub const FACTORY: StreamFactory = StreamFactory {
        stream_type: AUDIO,
        priority: 1,
        new: |cfg| Box::new(AudioStream::new(cfg)),
        new_from_sdp: |cfg, sdp, index| {
            AudioStream::from_offer(cfg, sdp, index).map(|s| Box::new(s) as Box<dyn MediaStream>)
        },
    };

    /// An audio stream offering G.711 (PCMU, PCMA) and telephone-event over `RTP/AVP` on
    /// the discard port 9: the shell replaces port and address when it relays media.
    pub fn new(cfg: &StreamConfig) -> AudioStream {
        let mut caps = MediaCapabilities::rtp(
            MediaType::Audio,
            9,
            "RTP/AVP",
            vec![Codec::new("PCMU", 8000), Codec::new("PCMA", 8000)],
        );
        caps.telephone_event = true;
        AudioStream {
            core: StreamCore::default(),
            caps,
            host: cfg.host.clone(),
            offered: None,
            codecs: Vec::new(),
        }
    }

    /// A stream answering the offered audio m-line `index`: it must be RTP/AVP audio with
    /// a codec in common.
    pub fn from_offer(
        cfg: &StreamConfig,
        sdp: &SessionDescription,
        index: usize,
    ) -> Result<AudioStream, StreamError> {
        let m = media_at(sdp, index)?;
        let mut s = AudioStream::new(cfg);
        if m.media != MediaType::Audio || !m.proto.eq_ignore_ascii_case(&s.caps.proto) {
            return Err(StreamError::Unsupported);
        }
        let mut one = sdp.clone();
        one.media = vec![m.clone()];
        s.offered = Some(one);
        if s.get_local_media(false).is_rejected() {
            return Err(StreamError::NoCommonFormat);
        }
        Ok(s)
    }

    /// The capabilities offered and answered with (codecs, port, telephone-event).
    pub fn capabilities_mut(&mut self) -> &mut MediaCapabilities {
        &mut self.caps
    }

    /// The codec names in effect once started (ours that the peer also has).
    pub fn codecs(&self) -> &[String] {
        &self.codecs
    }

    fn engine(&self) -> LocalCapabilities {
        let mut l = LocalCapabilities::new(
            Origin::new("-", "0", 0, self.host.clone()),
            Connection::ip4(self.host.clone()),
        );
        l.media.push(self.caps.clone());
        l.on_hold = self.core.on_hold_by_local;
        l
    }

    fn learn_codecs(&mut self, local: &SessionDescription, remote: &SessionDescription, i: usize) {
        let (Some(ours), Some(theirs)) = (local.media.get(i), remote.media.get(i)) else {
            return;
        };
        let remote_maps: Vec<_> = theirs
            .payload_types()
            .filter_map(|pt| theirs.rtpmap(pt))
            .collect();
        self.codecs = ours
            .payload_types()
            .filter_map(|pt| ours.rtpmap(pt))
            .filter(|m| !m.is_telephone_event())
            .filter(|m| remote_maps.iter().any(|r| r.same_codec(m)))
            .map(|m| m.encoding)
            .collect();
    }
}

impl MediaStream for AudioStream {
    fn stream_type(&self) -> &'static str {
        AUDIO
    }

    fn priority(&self) -> i32 {
        AudioStream::FACTORY.priority
    }

    fn hold_supported(&self) -> bool {
        true
    }

    fn on_hold_by_local(&self) -> bool {
        self.core.on_hold_by_local
    }

    fn on_hold_by_remote(&self) -> bool {
        self.core.on_hold_by_remote
    }

    fn get_local_media(&self, for_offer: bool) -> MediaDescription {
        let engine = self.engine();
        let sd = match (&self.offered, for_offer) {
            (Some(offer), false) => engine.answer(offer).sdp,
            _ => engine.offer(),
        };
        let mut m = sd.media.into_iter().next().unwrap_or_else(|| {
            let mut m = MediaDescription::new(MediaType::Audio, 0, "RTP/AVP", Vec::new());
            m.reject();
            m
        });
        if !for_offer && !m.is_rejected() {
            if let Some(offer) = &self.offered {
                m.set_direction(answer_direction(offer, 0, self.core.on_hold_by_local));
            }
        }
        m
    }

    fn initialize(&mut self, _direction: SessionDirection) {
        self.core.initialize();
    }

    fn start(&mut self, local: &SessionDescription, remote: &SessionDescription, index: usize) {
        self.learn_codecs(local, remote, index);
        if self.codecs.is_empty() && !self.core.started {
            self.core.fail("no audio codec in common");
            return;
        }
        self.core.start(remote, index);
    }

    fn end(&mut self) {
        self.core.end();
    }

    fn validate_update(&self, remote: &SessionDescription, index: usize) -> bool {
        remote
            .media
            .get(index)
            .is_some_and(|m| m.media == MediaType::Audio && m.is_rtp())
    }

    fn update(&mut self, local: &SessionDescription, remote: &SessionDescription, index: usize) {
        self.learn_codecs(local, remote, index);
        self.core.update(remote, index);
    }

    fn hold(&mut self) {
        self.core.on_hold_by_local = true;
    }

    fn unhold(&mut self) {
        self.core.on_hold_by_local = false;
    }

    fn poll_event(&mut self) -> Option<StreamEvent> {
        self.core.events.pop_front()
    }
}
