//! The seed's audio attributes of a Session (`audio_codec`, `audio_sample_rate`,
//! `audio_local_rtp_address`/`port`, `audio_remote_rtp_address`/`port`, `audio_srtp_active`),
//! read from the SDP in effect (RFC 3264 offer/answer, RFC 8866). The core never sees RTP,
//! so `audio_was_received` and the packet counts are the media shell's (the gateway's relay,
//! the native driver's `AudioStatistics`, `BrowserMedia.stats()` in the browser).

use super::Session;
use crate::sdp::{MediaDescription, MediaType, RtpMap, SessionDescription};

/// The first audio stream of an SDP, with its description.
fn audio_of(sdp: Option<&str>) -> Option<(SessionDescription, usize)> {
    let parsed = SessionDescription::parse(sdp?.as_bytes()).ok()?;
    let index = parsed
        .media
        .iter()
        .position(|m| m.media == MediaType::Audio && !m.is_rejected())?;
    Some((parsed, index))
}

fn first_codec(m: &MediaDescription) -> Option<RtpMap> {
    m.payload_types()
        .filter_map(|pt| m.rtpmap(pt).or_else(|| RtpMap::static_payload(pt)))
        .find(|map| !map.is_telephone_event())
}

fn address_port(sdp: Option<&str>) -> Option<(String, u16)> {
    let (parsed, index) = audio_of(sdp)?;
    let m = parsed.media.get(index)?;
    let host = parsed.connection_of(m)?.host().to_string();
    Some((host, m.port))
}

impl Session {
    /// The seed's `audio_codec`: the codec the answer put first (telephone-event aside),
    /// `None` without audio in effect.
    pub fn audio_codec(&self) -> Option<String> {
        self.negotiated_codec().map(|c| c.encoding)
    }

    /// The seed's `audio_sample_rate`: the clock rate of [`Session::audio_codec`].
    pub fn audio_sample_rate(&self) -> Option<u32> {
        self.negotiated_codec().map(|c| c.clock_rate)
    }

    /// The seed's `audio_local_rtp_address` and `audio_local_rtp_port`, from our SDP.
    pub fn audio_local_rtp(&self) -> Option<(String, u16)> {
        self.has_audio()
            .then(|| address_port(self.local_sdp()))
            .flatten()
    }

    /// The seed's `audio_remote_rtp_address` and `audio_remote_rtp_port`, from the peer's.
    pub fn audio_remote_rtp(&self) -> Option<(String, u16)> {
        self.has_audio()
            .then(|| address_port(self.remote_sdp()))
            .flatten()
    }

    /// The seed's `audio_srtp_active`: the audio stream in effect is secure RTP (SDES
    /// `RTP/SAVP` with a key, or DTLS-SRTP's `UDP/TLS/RTP/SAVPF`) on both sides.
    pub fn audio_srtp_active(&self) -> bool {
        let secure = |sdp: Option<&str>| {
            audio_of(sdp).is_some_and(|(parsed, i)| {
                parsed.media.get(i).is_some_and(|m| {
                    let sdes = m.proto.contains("SAVP") && m.crypto().next().is_some();
                    let dtls = m.proto.contains("TLS") && parsed.fingerprint_of(m).is_some();
                    sdes || dtls
                })
            })
        };
        self.has_audio() && secure(self.local_sdp()) && secure(self.remote_sdp())
    }

    /// The answer's first codec: the peer's SDP when we offered, ours when we answered;
    /// only a codec both sides list counts.
    fn negotiated_codec(&self) -> Option<RtpMap> {
        if !self.has_audio() {
            return None;
        }
        let (remote, ri) = audio_of(self.remote_sdp())?;
        let (local, li) = audio_of(self.local_sdp())?;
        let (r, l) = (remote.media.get(ri)?, local.media.get(li)?);
        let (answer, other) = if self.direction() == super::SessionDirection::Outgoing {
            (r, l)
        } else {
            (l, r)
        };
        let codec = first_codec(answer)?;
        let both = other
            .payload_types()
            .filter_map(|pt| other.rtpmap(pt).or_else(|| RtpMap::static_payload(pt)))
            .any(|c| c.same_codec(&codec));
        both.then_some(codec)
    }
}
