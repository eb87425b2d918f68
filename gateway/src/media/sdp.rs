//! SDP of an anchored call (RFC 3264 offer/answer, RFC 8866, RFC 4568 SDES): tells a
//! browser's WebRTC description from a SIP one, reads what the SIP side offers or answers,
//! and writes the gateway's own SIP-side offer and answer.
//!
//! The browser side is written by webrtc-rs; only the SIP side is written here.

use super::codec::Codec;
use sipsimple::sdp::{
    Attribute, Connection, Crypto, Direction, MediaDescription, MediaType, Origin, RtpMap,
    SessionDescription,
};
use std::fmt;
use std::net::{IpAddr, SocketAddr};

/// The payload type the gateway gives Opus in its own SIP offers (the one browsers use).
pub const OPUS_PT: u8 = 111;
/// The payload type the gateway gives telephone-event/8000 in its own SIP offers.
pub const TELEPHONE_EVENT_PT: u8 = 101;

/// Which kind of endpoint wrote a description.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flavor {
    /// ICE + DTLS-SRTP (`UDP/TLS/RTP/SAVPF`), what browsers speak.
    WebRtc,
    /// `RTP/AVP`, `RTP/AVPF` or SDES `RTP/SAVP`, what SIP phones and trunks speak.
    Plain,
}

/// What was wrong with a description the gateway has to anchor.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SdpMediaError {
    /// The body is not SDP the parser accepts.
    Unparsable(String),
    /// The description has no audio stream.
    NoAudio,
    /// None of the audio codecs is one the gateway can relay or transcode.
    NoCommonCodec,
    /// `RTP/SAVP` without an `a=crypto` line the gateway supports.
    NoUsableCrypto,
}

impl fmt::Display for SdpMediaError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SdpMediaError::Unparsable(e) => write!(f, "the SDP does not parse: {e}"),
            SdpMediaError::NoAudio => f.write_str("the SDP has no audio stream"),
            SdpMediaError::NoCommonCodec => {
                f.write_str("no audio codec in common (the gateway relays Opus, PCMU and PCMA)")
            }
            SdpMediaError::NoUsableCrypto => {
                f.write_str("RTP/SAVP without a supported a=crypto suite")
            }
        }
    }
}

impl std::error::Error for SdpMediaError {}

/// Parses an SDP body.
pub fn parse(body: &[u8]) -> Result<SessionDescription, SdpMediaError> {
    SessionDescription::parse(body).map_err(|e| SdpMediaError::Unparsable(e.to_string()))
}

fn audio(sdp: &SessionDescription) -> Option<&MediaDescription> {
    sdp.media.iter().find(|m| m.media == MediaType::Audio)
}

/// The flavor of the first audio stream; `None` without audio.
pub fn flavor(sdp: &SessionDescription) -> Option<Flavor> {
    let m = audio(sdp)?;
    let webrtc =
        m.proto.contains("TLS") || m.proto.ends_with("SAVPF") || sdp.fingerprint_of(m).is_some();
    Some(if webrtc {
        Flavor::WebRtc
    } else {
        Flavor::Plain
    })
}

/// The direction of the first audio stream (`sendrecv` without audio).
pub fn audio_direction(sdp: &SessionDescription) -> Direction {
    audio(sdp).map_or(Direction::SendRecv, |m| sdp.direction_of(m))
}

/// What the SIP side's description says about its audio.
#[derive(Debug, Clone)]
pub struct SipMedia {
    /// Where its RTP goes; `None` for a rejected stream or an RFC 2543 hold (`c=0.0.0.0`).
    pub rtp: Option<SocketAddr>,
    /// Where its RTCP goes when not multiplexed (`a=rtcp` or port + 1).
    pub rtcp: Option<SocketAddr>,
    /// `a=rtcp-mux`.
    pub rtcp_mux: bool,
    /// The codecs the gateway knows, in the description's order, with their payload types.
    pub codecs: Vec<(Codec, u8)>,
    /// The payload type of telephone-event/8000, if offered.
    pub telephone_event: Option<u8>,
    /// The stream's direction from its writer's point of view.
    pub direction: Direction,
    /// The `m=` protocol (`RTP/AVP`, `RTP/SAVP`, ...).
    pub proto: String,
    /// The `a=crypto` lines.
    pub crypto: Vec<Crypto>,
    /// The port was 0.
    pub rejected: bool,
}

impl SipMedia {
    /// `RTP/SAVP` (or `RTP/SAVPF`): SRTP is required.
    pub fn requires_srtp(&self) -> bool {
        self.proto.contains("SAVP")
    }

    /// The codec the gateway picks from an offer: Opus when offered (passthrough to the
    /// browser), else the first of PCMU and PCMA in the offer's order.
    pub fn pick(&self) -> Option<(Codec, u8)> {
        self.codecs
            .iter()
            .find(|(c, _)| *c == Codec::Opus)
            .or_else(|| self.codecs.first())
            .copied()
    }
}

/// Reads the first audio stream of a SIP-side description.
pub fn read_sip(sdp: &SessionDescription) -> Result<SipMedia, SdpMediaError> {
    let m = audio(sdp).ok_or(SdpMediaError::NoAudio)?;
    let host = sdp
        .connection_of(m)
        .filter(|c| !c.is_unspecified())
        .and_then(|c| c.host().parse::<IpAddr>().ok());
    let rejected = m.is_rejected();
    let rtp = match (host, rejected) {
        (Some(ip), false) => Some(SocketAddr::new(ip, m.port)),
        _ => None,
    };
    let rtcp_mux = m.rtcp_mux();
    let rtcp = rtp.map(|a| match m.rtcp() {
        Some(r) => SocketAddr::new(a.ip(), r.port),
        None if rtcp_mux => a,
        None => SocketAddr::new(a.ip(), a.port().wrapping_add(1)),
    });
    let mut codecs = Vec::new();
    let mut telephone_event = None;
    for pt in m.payload_types() {
        let Some(map) = m.rtpmap(pt).or_else(|| RtpMap::static_payload(pt)) else {
            continue;
        };
        if map.is_telephone_event() {
            if map.clock_rate == 8000 && telephone_event.is_none() {
                telephone_event = Some(pt);
            }
            continue;
        }
        if let Some(c) = Codec::from_rtp_name(&map.encoding) {
            if map.clock_rate == c.clock_rate() {
                codecs.push((c, pt));
            }
        }
    }
    Ok(SipMedia {
        rtp,
        rtcp,
        rtcp_mux,
        codecs,
        telephone_event,
        direction: sdp.direction_of(m),
        proto: m.proto.clone(),
        crypto: m.crypto().collect(),
        rejected,
    })
}

/// The gateway's end of the SIP leg.
#[derive(Debug, Clone)]
pub struct LocalSip {
    /// The address written in `c=` and `o=`.
    pub address: IpAddr,
    /// The RTP port.
    pub rtp_port: u16,
    /// The RTCP port (the RTP port + 1).
    pub rtcp_port: u16,
    /// The `o=` session id.
    pub session_id: u64,
}

fn session(local: &LocalSip, version: u64) -> SessionDescription {
    let mut o = Origin::new(
        "sipsimple-gateway",
        local.session_id.to_string(),
        version,
        local.address.to_string(),
    );
    let conn = match local.address {
        IpAddr::V4(a) => Connection::ip4(a.to_string()),
        IpAddr::V6(a) => {
            o.addr_type = "IP6".to_string();
            Connection::ip6(a.to_string())
        }
    };
    let mut sdp = SessionDescription::new(o, "-");
    sdp.connection = Some(conn);
    sdp
}

fn push_codec(m: &mut MediaDescription, codec: Codec, pt: u8) {
    m.formats.push(pt.to_string());
    let channels = (codec == Codec::Opus).then_some(2);
    m.attributes
        .push(RtpMap::new(pt, codec.rtp_name(), codec.clock_rate(), channels).to_attribute());
    if codec == Codec::Opus {
        m.attributes.push(Attribute::new(
            "fmtp",
            format!("{pt} minptime=10;useinbandfec=1"),
        ));
    }
}

fn push_telephone_event(m: &mut MediaDescription, pt: u8) {
    m.formats.push(pt.to_string());
    m.attributes
        .push(RtpMap::new(pt, "telephone-event", 8000, None).to_attribute());
    m.attributes
        .push(Attribute::new("fmtp", format!("{pt} 0-16")));
}

/// The gateway's offer to the SIP side: Opus, PCMU, PCMA and telephone-event, `RTP/SAVP`
/// with `crypto` when SRTP is required, `RTP/AVP` otherwise (with `crypto` when SRTP is
/// offered as optional).
pub fn sip_offer(
    local: &LocalSip,
    version: u64,
    direction: Direction,
    crypto: Option<&str>,
    require_srtp: bool,
) -> SessionDescription {
    let mut sdp = session(local, version);
    let proto = if require_srtp { "RTP/SAVP" } else { "RTP/AVP" };
    let mut m = MediaDescription::new(MediaType::Audio, local.rtp_port, proto, Vec::new());
    push_codec(&mut m, Codec::Opus, OPUS_PT);
    for c in [Codec::Pcmu, Codec::Pcma] {
        if let Some(pt) = c.static_pt() {
            push_codec(&mut m, c, pt);
        }
    }
    push_telephone_event(&mut m, TELEPHONE_EVENT_PT);
    m.attributes
        .push(Attribute::new("rtcp", local.rtcp_port.to_string()));
    m.attributes.push(Attribute::new("ptime", "20"));
    if let Some(c) = crypto {
        m.attributes.push(Attribute::new("crypto", c));
    }
    m.attributes.push(direction.to_attribute());
    sdp.media.push(m);
    sdp
}

/// The gateway's answer to a SIP-side offer: the picked codec, telephone-event when
/// offered, the offer's protocol, `crypto` when SRTP was negotiated.
pub fn sip_answer(
    local: &LocalSip,
    version: u64,
    offer: &SipMedia,
    codec: (Codec, u8),
    direction: Direction,
    crypto: Option<&str>,
) -> SessionDescription {
    let mut sdp = session(local, version);
    let mut m = MediaDescription::new(
        MediaType::Audio,
        local.rtp_port,
        offer.proto.clone(),
        Vec::new(),
    );
    push_codec(&mut m, codec.0, codec.1);
    if let Some(pt) = offer.telephone_event {
        push_telephone_event(&mut m, pt);
    }
    if offer.rtcp_mux {
        m.attributes.push(Attribute::flag("rtcp-mux"));
    } else {
        m.attributes
            .push(Attribute::new("rtcp", local.rtcp_port.to_string()));
    }
    m.attributes.push(Attribute::new("ptime", "20"));
    if let Some(c) = crypto {
        m.attributes.push(Attribute::new("crypto", c));
    }
    m.attributes.push(direction.to_attribute());
    sdp.media.push(m);
    sdp
}

/// A description cut in two: its first audio stream alone (what the WebRTC stack and the RTP
/// leg handle), and the other streams (MSRP chat or file transfer, which reach the MSRP
/// relay on their own) with their places, so they can be put back around the gateway's own
/// audio stream in the same order (RFC 3264 §6: an answer keeps the offer's m-line order).
#[derive(Debug, Clone)]
pub struct Split {
    /// The description with only the audio stream (and a BUNDLE group of its mid alone).
    pub audio: SessionDescription,
    /// Where the audio stream was.
    pub audio_index: usize,
    /// The other streams and where they were, each with its own `c=` line.
    pub others: Vec<(usize, MediaDescription)>,
}

/// Cuts `sdp` around its first audio stream; `None` without audio.
pub fn split(sdp: &SessionDescription) -> Option<Split> {
    let audio_index = sdp.media.iter().position(|m| m.media == MediaType::Audio)?;
    let mut audio = sdp.clone();
    let mut others = Vec::new();
    for (i, m) in sdp.media.iter().enumerate() {
        if i != audio_index {
            let mut m = m.clone();
            if m.connections.is_empty() {
                if let Some(c) = &sdp.connection {
                    m.connections.push(c.clone());
                }
            }
            others.push((i, m));
        }
    }
    let kept = audio.media.get(audio_index).cloned();
    audio.media = kept.into_iter().collect();
    if !others.is_empty() {
        let mid = audio
            .media
            .first()
            .and_then(|m| m.mid())
            .map(str::to_string);
        for a in audio.attributes.iter_mut().filter(|a| a.name == "group") {
            if a.value().starts_with("BUNDLE") {
                a.value = Some(match &mid {
                    Some(mid) => format!("BUNDLE {mid}"),
                    None => "BUNDLE".to_string(),
                });
            }
        }
    }
    Some(Split {
        audio,
        audio_index,
        others,
    })
}

/// Puts `others` back around the single audio stream of `base`, at their places.
pub fn splice(
    mut base: SessionDescription,
    audio_index: usize,
    others: &[(usize, MediaDescription)],
) -> SessionDescription {
    if others.is_empty() {
        return base;
    }
    let audio = base.media.first().cloned();
    let total = others.len() + usize::from(audio.is_some());
    let mut media = Vec::with_capacity(total);
    let mut rest = others.iter().peekable();
    for i in 0..total {
        if i == audio_index {
            if let Some(a) = &audio {
                media.push(a.clone());
                continue;
            }
        }
        if let Some((_, m)) = rest.next() {
            media.push(m.clone());
        }
    }
    base.media = media;
    base
}

/// The non-audio streams of `sdp` with their places (see [`split`]).
pub fn others_of(sdp: &SessionDescription) -> Vec<(usize, MediaDescription)> {
    split(sdp).map(|s| s.others).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    const BROWSER: &str = "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n\
        a=group:BUNDLE 0\r\na=fingerprint:sha-256 AA:BB\r\n\
        m=audio 9 UDP/TLS/RTP/SAVPF 111 126\r\nc=IN IP4 0.0.0.0\r\n\
        a=rtpmap:111 opus/48000/2\r\na=rtpmap:126 telephone-event/8000\r\n\
        a=ice-ufrag:abcd\r\na=ice-pwd:0123456789012345678901\r\na=setup:actpass\r\n\
        a=mid:0\r\na=sendrecv\r\na=rtcp-mux\r\n";

    const SIPP: &str = "v=0\r\no=user1 53655765 2353687637 IN IP4 127.0.0.1\r\ns=-\r\n\
        c=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 6000 RTP/AVP 0 101\r\n\
        a=rtpmap:0 PCMU/8000\r\na=rtpmap:101 telephone-event/8000\r\na=sendonly\r\n";

    fn sdp(s: &str) -> SessionDescription {
        parse(s.as_bytes()).expect("test SDP parses")
    }

    #[test]
    fn audio_and_chat_are_cut_and_put_back_in_order() {
        let both = "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 10.0.0.9\r\nt=0 0\r\n\
            a=group:BUNDLE 0 1\r\n\
            m=message 2855 TCP/MSRP *\r\na=path:msrp://relay:2855/x;tcp msrp://a.invalid:9/y;ws\r\na=mid:1\r\n\
            m=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=rtpmap:111 opus/48000/2\r\na=mid:0\r\n";
        let cut = split(&sdp(both)).expect("audio");
        assert_eq!(cut.audio_index, 1);
        assert_eq!(cut.audio.media.len(), 1);
        assert_eq!(
            cut.audio.attribute("group").map(|a| a.value()),
            Some("BUNDLE 0")
        );
        assert_eq!(cut.others.len(), 1);
        assert_eq!(cut.others[0].0, 0);
        // The chat stream carries the session's c= line with it.
        assert_eq!(cut.others[0].1.connections[0].address, "10.0.0.9");
        let local = LocalSip {
            address: "127.0.0.1".parse().expect("ip"),
            rtp_port: 20000,
            rtcp_port: 20001,
            session_id: 1,
        };
        let ours = splice(
            sip_offer(&local, 1, Direction::SendRecv, None, false),
            cut.audio_index,
            &cut.others,
        );
        let kinds: Vec<&str> = ours.media.iter().map(|m| m.media.as_str()).collect();
        assert_eq!(kinds, ["message", "audio"]);
        assert_eq!(others_of(&ours).len(), 1);
        // Audio alone passes untouched.
        let alone = split(&sdp(BROWSER)).expect("audio");
        assert!(alone.others.is_empty());
        assert_eq!(alone.audio.to_bytes(), sdp(BROWSER).to_bytes());
    }

    #[test]
    fn tells_webrtc_from_plain() {
        assert_eq!(flavor(&sdp(BROWSER)), Some(Flavor::WebRtc));
        assert_eq!(flavor(&sdp(SIPP)), Some(Flavor::Plain));
        let no_audio = "v=0\r\no=- 1 1 IN IP4 1.2.3.4\r\ns=-\r\nt=0 0\r\n\
            m=message 7 TCP/MSRP *\r\nc=IN IP4 1.2.3.4\r\n";
        assert_eq!(flavor(&sdp(no_audio)), None);
    }

    #[test]
    fn reads_the_sip_side() {
        let m = read_sip(&sdp(SIPP)).expect("audio");
        assert_eq!(m.rtp, Some("127.0.0.1:6000".parse().expect("addr")));
        assert_eq!(m.rtcp, Some("127.0.0.1:6001".parse().expect("addr")));
        assert_eq!(m.codecs, vec![(Codec::Pcmu, 0)]);
        assert_eq!(m.telephone_event, Some(101));
        assert_eq!(m.direction, Direction::SendOnly);
        assert_eq!(m.pick(), Some((Codec::Pcmu, 0)));
        assert!(!m.requires_srtp());
    }

    #[test]
    fn prefers_opus_and_skips_unknown_codecs() {
        let s = "v=0\r\no=- 1 1 IN IP4 10.0.0.1\r\ns=-\r\nc=IN IP4 10.0.0.1\r\nt=0 0\r\n\
            m=audio 4000 RTP/SAVP 9 8 96\r\na=rtpmap:96 opus/48000/2\r\n\
            a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:WVNfX19zZW1jdGwgKCkgewkyMjA7fQp9CnVubGVz\r\n";
        let m = read_sip(&sdp(s)).expect("audio");
        assert_eq!(m.codecs, vec![(Codec::Pcma, 8), (Codec::Opus, 96)]);
        assert_eq!(m.pick(), Some((Codec::Opus, 96)));
        assert!(m.requires_srtp());
        assert_eq!(m.crypto.len(), 1);
    }

    #[test]
    fn old_style_hold_has_no_address() {
        let s = SIPP.replace("c=IN IP4 127.0.0.1", "c=IN IP4 0.0.0.0");
        assert_eq!(read_sip(&sdp(&s)).expect("audio").rtp, None);
    }

    #[test]
    fn writes_an_offer_and_an_answer_that_parse_back() {
        let local = LocalSip {
            address: "127.0.0.1".parse().expect("ip"),
            rtp_port: 20000,
            rtcp_port: 20001,
            session_id: 42,
        };
        let offer = sip_offer(&local, 1, Direction::SendRecv, None, false);
        let back = read_sip(&sdp(&String::from_utf8_lossy(&offer.to_bytes()))).expect("audio");
        assert_eq!(
            back.codecs,
            vec![(Codec::Opus, OPUS_PT), (Codec::Pcmu, 0), (Codec::Pcma, 8)]
        );
        assert_eq!(back.telephone_event, Some(TELEPHONE_EVENT_PT));
        assert_eq!(back.rtp, Some("127.0.0.1:20000".parse().expect("addr")));
        assert_eq!(back.rtcp, Some("127.0.0.1:20001".parse().expect("addr")));

        let theirs = read_sip(&sdp(SIPP)).expect("audio");
        let answer = sip_answer(
            &local,
            1,
            &theirs,
            (Codec::Pcmu, 0),
            Direction::RecvOnly,
            None,
        );
        let text = String::from_utf8_lossy(&answer.to_bytes()).to_string();
        assert!(text.contains("m=audio 20000 RTP/AVP 0 101\r\n"), "{text}");
        assert!(text.contains("a=recvonly\r\n"), "{text}");
    }
}
