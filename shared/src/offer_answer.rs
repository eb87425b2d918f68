//! The offer/answer model with SDP (RFC 3264): offers built from local capabilities (§5),
//! answers to a remote offer (§6), the answer to our offer read back (§7), and hold and
//! resume by re-offer (§8.4, RFC 6337 §5.3).
//!
//! The rules applied:
//! - an answer has the offer's m-lines, same number and order; a stream we cannot or will
//!   not take gets port 0 (§6);
//! - RTP codecs are the intersection of both sides, in the offerer's order and with the
//!   offerer's payload types (§6.1); codecs match on encoding name, clock rate and channels;
//! - telephone-event (RFC 4733) is kept when both sides support it, at the clock rates of the
//!   selected codecs;
//! - the answer's direction mirrors the offer's (`sendonly` → `recvonly`, `recvonly` →
//!   `sendonly`, `inactive` → `inactive`, §6.1), narrowed by what we want and by a local hold.
//!
//! ```
//! use sipsimple::offer_answer::{Codec, LocalCapabilities, MediaCapabilities};
//! use sipsimple::sdp::{Connection, MediaType, Origin, SessionDescription};
//! let mut bob = LocalCapabilities::new(
//!     Origin::new("bob", "2890844730", 2890844730, "host.example.com"),
//!     Connection::ip4("host.example.com"),
//! );
//! bob.media.push(MediaCapabilities::rtp(
//!     MediaType::Audio, 49920, "RTP/AVP", vec![Codec::new("PCMU", 8000)],
//! ));
//! let offer: SessionDescription = "v=0\no=alice 1 1 IN IP4 a.example\ns=\n\
//!     c=IN IP4 a.example\nt=0 0\nm=audio 49170 RTP/AVP 8 0\nm=video 51372 RTP/AVP 31\n"
//!     .parse()
//!     .expect("a valid offer");
//! let answer = bob.answer(&offer);
//! assert_eq!(answer.sdp.media[0].formats, ["0"]);
//! assert_eq!(answer.sdp.media[1].port, 0); // no video here: rejected
//! ```

use crate::sdp::{
    Attribute, Connection, Direction, MediaDescription, MediaType, Origin, RtpMap,
    SessionDescription, Setup,
};
use core::fmt;

/// A codec we can send and receive.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Codec {
    /// The RTP encoding name, `PCMU`, `opus`, ...
    pub name: String,
    /// The RTP clock rate in Hz.
    pub clock_rate: u32,
    /// The channel count; `None` means one.
    pub channels: Option<u16>,
    /// The format parameters we put in our offers and answers.
    pub fmtp: Option<String>,
    /// The payload type to offer; `None` picks the RFC 3551 static one or a dynamic one.
    pub payload_type: Option<u8>,
}

impl Codec {
    /// A codec without channels, parameters or preferred payload type.
    pub fn new(name: impl Into<String>, clock_rate: u32) -> Codec {
        Codec {
            name: name.into(),
            clock_rate,
            channels: None,
            fmtp: None,
            payload_type: None,
        }
    }

    /// With a channel count (`opus/48000/2`).
    pub fn with_channels(mut self, channels: u16) -> Codec {
        self.channels = Some(channels);
        self
    }

    /// With format parameters.
    pub fn with_fmtp(mut self, params: impl Into<String>) -> Codec {
        self.fmtp = Some(params.into());
        self
    }

    /// With a preferred payload type.
    pub fn with_payload_type(mut self, payload_type: u8) -> Codec {
        self.payload_type = Some(payload_type);
        self
    }

    /// Whether `map` names this codec.
    pub fn matches(&self, map: &RtpMap) -> bool {
        map.same_codec(&self.rtpmap(map.payload_type))
    }

    fn rtpmap(&self, payload_type: u8) -> RtpMap {
        RtpMap::new(payload_type, &self.name, self.clock_rate, self.channels)
    }
}

/// What we support for one media type and transport.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MediaCapabilities {
    /// The media type.
    pub media: MediaType,
    /// The transport protocol, compared case-insensitively with offers.
    pub proto: String,
    /// The port we put in offers and answers.
    pub port: u16,
    /// RTP codecs in our order of preference.
    pub codecs: Vec<Codec>,
    /// Whether we send and receive RFC 4733 telephone-event.
    pub telephone_event: bool,
    /// The direction we want.
    pub direction: Direction,
    /// The formats of a non-RTP transport; `*` (or none) takes the offer's as they are.
    pub formats: Vec<String>,
    /// MSRP `accept-types` (RFC 4975 §8.6); empty for other media.
    pub accept_types: Vec<String>,
    /// Attributes copied into our offers and answers as they are: ICE credentials and
    /// candidates, fingerprint, `rtcp-mux`, MSRP `path`, ...
    pub attributes: Vec<Attribute>,
}

impl MediaCapabilities {
    /// RTP media with `codecs`, `sendrecv`, without telephone-event.
    pub fn rtp(
        media: MediaType,
        port: u16,
        proto: impl Into<String>,
        codecs: Vec<Codec>,
    ) -> MediaCapabilities {
        MediaCapabilities {
            media,
            port,
            proto: proto.into(),
            codecs,
            telephone_event: false,
            direction: Direction::SendRecv,
            formats: Vec::new(),
            accept_types: Vec::new(),
            attributes: Vec::new(),
        }
    }

    /// An MSRP `message` stream (RFC 4975 §8) over `proto` (`TCP/MSRP` or `TCP/TLS/MSRP`).
    pub fn msrp(
        port: u16,
        proto: impl Into<String>,
        accept_types: Vec<String>,
    ) -> MediaCapabilities {
        MediaCapabilities {
            formats: vec!["*".to_string()],
            accept_types,
            ..MediaCapabilities::rtp(MediaType::Message, port, proto, Vec::new())
        }
    }

    fn takes(&self, offered: &MediaDescription) -> bool {
        self.media == offered.media && self.proto.eq_ignore_ascii_case(&offered.proto)
    }

    /// The m-line of an offer.
    fn offer_media(&self, hold: bool) -> MediaDescription {
        let mut m = MediaDescription::new(self.media.clone(), self.port, &self.proto, Vec::new());
        if m.is_rtp() {
            for (map, fmtp) in self.assign_payload_types() {
                m.formats.push(map.payload_type.to_string());
                m.attributes.push(map.to_attribute());
                if let Some(params) = fmtp {
                    m.attributes.push(Attribute::new(
                        "fmtp",
                        format!("{} {params}", map.payload_type),
                    ));
                }
            }
        } else {
            m.formats = self.formats.clone();
            if m.formats.is_empty() {
                m.formats.push("*".to_string());
            }
        }
        if m.formats.is_empty() {
            // Nothing to offer: a disabled stream keeps the m-line's place (RFC 3264 §8.2).
            m.reject();
            return m;
        }
        self.push_common(&mut m);
        m.set_direction(wanted(self.direction, hold));
        m
    }

    /// Our codecs and telephone-events with payload types: the preferred one, else the static
    /// one, else the first free dynamic one (96–127).
    fn assign_payload_types(&self) -> Vec<(RtpMap, Option<String>)> {
        let static_pt = |c: &Codec| {
            (0..=34u8).find(|pt| RtpMap::static_payload(*pt).is_some_and(|s| c.matches(&s)))
        };
        let mut used: Vec<u8> = Vec::new();
        let mut chosen: Vec<Option<u8>> = Vec::new();
        for c in &self.codecs {
            let pt = c
                .payload_type
                .or_else(|| static_pt(c))
                .filter(|pt| !used.contains(pt));
            used.extend(pt);
            chosen.push(pt);
        }
        let next_dynamic = |used: &mut Vec<u8>| {
            let pt = (96..=127u8).find(|pt| !used.contains(pt));
            used.extend(pt);
            pt
        };
        let mut out = Vec::new();
        for (c, pt) in self.codecs.iter().zip(chosen) {
            if let Some(pt) = pt.or_else(|| next_dynamic(&mut used)) {
                out.push((c.rtpmap(pt), c.fmtp.clone()));
            }
        }
        if self.telephone_event {
            let mut rates: Vec<u32> = Vec::new();
            for c in &self.codecs {
                if !rates.contains(&c.clock_rate) {
                    rates.push(c.clock_rate);
                }
            }
            if rates.is_empty() {
                rates.push(8000);
            }
            for rate in rates {
                if let Some(pt) = next_dynamic(&mut used) {
                    let map = RtpMap::new(pt, "telephone-event", rate, None);
                    out.push((map, Some("0-16".to_string())));
                }
            }
        }
        out
    }

    /// The attributes offers and answers share: accept-types, then ours.
    fn push_common(&self, m: &mut MediaDescription) {
        if !self.accept_types.is_empty() {
            m.attributes
                .push(Attribute::new("accept-types", self.accept_types.join(" ")));
        }
        m.attributes.extend(self.attributes.iter().cloned());
    }
}

/// Everything needed to offer or answer: our identity, address and media.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LocalCapabilities {
    /// Our `o=` line. Increment its version before each new offer (RFC 3264 §8).
    pub origin: Origin,
    /// Our `s=` line.
    pub session_name: String,
    /// Our session-level `c=` line.
    pub connection: Connection,
    /// Session-level attributes (`ice-lite`, `msid-semantic`, ...).
    pub session_attributes: Vec<Attribute>,
    /// What we support, in the order of our offers' m-lines.
    pub media: Vec<MediaCapabilities>,
    /// Whether we hold the call: every stream becomes at most `sendonly` (RFC 3264 §8.4).
    pub on_hold: bool,
}

/// The direction we want, narrowed to `sendonly` when we hold.
fn wanted(direction: Direction, hold: bool) -> Direction {
    if hold {
        direction.intersect(Direction::SendOnly)
    } else {
        direction
    }
}

/// One codec both sides agreed on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SelectedCodec {
    /// The codec as the peer numbers it: we send with this payload type.
    pub rtpmap: RtpMap,
    /// The payload type we receive it with (the same unless an answer renumbered it).
    pub receive_payload_type: u8,
    /// The peer's format parameters for it.
    pub fmtp: Option<String>,
}

/// The outcome for one m-line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NegotiatedStream {
    /// The position of the m-line.
    pub index: usize,
    /// The media type.
    pub media: MediaType,
    /// Whether the stream is in use: neither side put port 0.
    pub accepted: bool,
    /// The agreed codecs, in the offerer's order; empty for non-RTP media.
    pub codecs: Vec<SelectedCodec>,
    /// The agreed telephone-event payloads.
    pub telephone_events: Vec<RtpMap>,
    /// Our direction on the stream.
    pub direction: Direction,
    /// The peer's media address (the `c=` that applies), if any.
    pub remote_address: Option<String>,
    /// The peer's media port.
    pub remote_port: u16,
}

impl NegotiatedStream {
    fn rejected(index: usize, media: &MediaType) -> NegotiatedStream {
        NegotiatedStream {
            index,
            media: media.clone(),
            accepted: false,
            codecs: Vec::new(),
            telephone_events: Vec::new(),
            direction: Direction::Inactive,
            remote_address: None,
            remote_port: 0,
        }
    }
}

/// Our answer to an offer and what it agreed on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer {
    /// The answer to send.
    pub sdp: SessionDescription,
    /// One entry per m-line of the offer.
    pub streams: Vec<NegotiatedStream>,
}

/// Why an answer does not fit our offer (RFC 3264 §6).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum OfferAnswerError {
    /// The answer has another number of m-lines than the offer.
    MediaCountMismatch {
        /// m-lines offered.
        offered: usize,
        /// m-lines answered.
        answered: usize,
    },
    /// The m-line at `index` has another media type than offered.
    MediaTypeMismatch {
        /// The position of the m-line.
        index: usize,
    },
    /// The accepted RTP stream at `index` names no codec we offered.
    NoCommonCodec {
        /// The position of the m-line.
        index: usize,
    },
}

impl fmt::Display for OfferAnswerError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            OfferAnswerError::MediaCountMismatch { offered, answered } => {
                write!(f, "{offered} m-lines offered but {answered} answered")
            }
            OfferAnswerError::MediaTypeMismatch { index } => {
                write!(f, "m-line {index} answered with another media type")
            }
            OfferAnswerError::NoCommonCodec { index } => {
                write!(f, "m-line {index} accepted without an offered codec")
            }
        }
    }
}

impl std::error::Error for OfferAnswerError {}

impl LocalCapabilities {
    /// Capabilities without media, session name `-`.
    pub fn new(origin: Origin, connection: Connection) -> LocalCapabilities {
        LocalCapabilities {
            origin,
            session_name: "-".to_string(),
            connection,
            session_attributes: Vec::new(),
            media: Vec::new(),
            on_hold: false,
        }
    }

    fn session(&self) -> SessionDescription {
        let mut sd = SessionDescription::new(self.origin.clone(), self.session_name.clone());
        sd.connection = Some(self.connection.clone());
        sd.attributes = self.session_attributes.clone();
        sd
    }

    /// An offer with one m-line per entry of [`media`](Self::media) (RFC 3264 §5).
    pub fn offer(&self) -> SessionDescription {
        let mut sd = self.session();
        sd.media = self
            .media
            .iter()
            .map(|c| c.offer_media(self.on_hold))
            .collect();
        sd
    }

    /// Answers `offer` (RFC 3264 §6): one m-line per offered one, in the same order.
    ///
    /// Each entry of [`media`](Self::media) answers at most one offered stream, with its own
    /// port: an offered stream goes to the first unused entry of its media type and transport
    /// that has something in common with it, and is rejected when there is none.
    pub fn answer(&self, offer: &SessionDescription) -> Answer {
        let mut sd = self.session();
        let mut streams = Vec::with_capacity(offer.media.len());
        let mut used = vec![false; self.media.len()];
        for (index, offered) in offer.media.iter().enumerate() {
            let accepted = if offered.is_rejected() {
                None
            } else {
                self.media
                    .iter()
                    .zip(used.iter_mut())
                    .filter(|(caps, used)| !**used && caps.takes(offered))
                    .find_map(|(caps, used)| {
                        let answer = self.answer_media(caps, offer, index, offered)?;
                        *used = true;
                        Some(answer)
                    })
            };
            let (m, stream) = accepted.unwrap_or_else(|| {
                let mut m = MediaDescription::new(
                    offered.media.clone(),
                    0,
                    &offered.proto,
                    offered.formats.clone(),
                );
                m.reject();
                (m, NegotiatedStream::rejected(index, &offered.media))
            });
            sd.media.push(m);
            streams.push(stream);
        }
        Answer { sdp: sd, streams }
    }

    /// The answer m-line for an offered stream from `caps`, `None` if they have nothing in
    /// common.
    fn answer_media(
        &self,
        caps: &MediaCapabilities,
        offer: &SessionDescription,
        index: usize,
        offered: &MediaDescription,
    ) -> Option<(MediaDescription, NegotiatedStream)> {
        let mut m =
            MediaDescription::new(offered.media.clone(), caps.port, &offered.proto, Vec::new());
        if let Some(mid) = offered.mid() {
            // BUNDLE and friends need the answer to echo the mid (RFC 5888 §9).
            m.attributes.push(Attribute::new("mid", mid));
        }
        let (mut codecs, mut telephone_events) = (Vec::new(), Vec::new());
        if offered.is_rtp() {
            let selected = select_codecs(caps, offered)?;
            for (map, their_fmtp, our_fmtp) in selected {
                m.formats.push(map.payload_type.to_string());
                m.attributes.push(map.to_attribute());
                if let Some(params) = our_fmtp.as_ref() {
                    m.attributes.push(Attribute::new(
                        "fmtp",
                        format!("{} {params}", map.payload_type),
                    ));
                }
                if map.is_telephone_event() {
                    telephone_events.push(map);
                } else {
                    codecs.push(SelectedCodec {
                        receive_payload_type: map.payload_type,
                        rtpmap: map,
                        fmtp: their_fmtp,
                    });
                }
            }
        } else {
            m.formats = select_formats(caps, offered)?;
        }
        caps.push_common(&mut m);
        if offered.is_msrp() {
            // The receiver of a file echoes the offered selector and id (RFC 5547 §8.2).
            for name in ["file-selector", "file-transfer-id"] {
                if let Some(a) = offered.attribute(name).filter(|_| !m.has_attribute(name)) {
                    m.attributes.push(a.clone());
                }
            }
        }
        if let Some(setup) = offer.setup_of(offered) {
            if !m.has_attribute("setup") {
                m.attributes.push(Setup::answer_to(setup).to_attribute());
            }
        }
        let direction = offer
            .direction_of(offered)
            .reverse()
            .intersect(wanted(caps.direction, self.on_hold));
        m.set_direction(direction);
        let stream = NegotiatedStream {
            index,
            media: offered.media.clone(),
            accepted: true,
            codecs,
            telephone_events,
            direction,
            remote_address: offer.connection_of(offered).map(|c| c.host().to_string()),
            remote_port: offered.port,
        };
        Some((m, stream))
    }
}

/// An offered RTP format we take: the offer's mapping, the offer's fmtp, our fmtp.
type Selected = (RtpMap, Option<String>, Option<String>);

/// The offered RTP formats we take, in the offer's order; `None` when nothing usable is left.
fn select_codecs(caps: &MediaCapabilities, offered: &MediaDescription) -> Option<Vec<Selected>> {
    let mut selected: Vec<Selected> = Vec::new();
    let mut only_events = true;
    for pt in offered.payload_types() {
        let Some(map) = offered.rtpmap(pt) else {
            continue;
        };
        if selected.iter().any(|(m, ..)| m.payload_type == pt) {
            continue;
        }
        let their_fmtp = offered.fmtp(&pt.to_string()).map(|f| f.params);
        if map.is_telephone_event() {
            if caps.telephone_event {
                // RFC 4733 has the answerer list the events it takes; we take the offered set.
                let ours = their_fmtp.clone();
                selected.push((map, their_fmtp, ours));
            }
            continue;
        }
        only_events = false;
        if let Some(codec) = caps.codecs.iter().find(|c| c.matches(&map)) {
            selected.push((map, their_fmtp, codec.fmtp.clone()));
        }
    }
    let rates: Vec<u32> = selected
        .iter()
        .filter(|(m, ..)| !m.is_telephone_event())
        .map(|(m, ..)| m.clock_rate)
        .collect();
    if rates.is_empty() && !only_events {
        return None;
    }
    if !rates.is_empty() {
        // An event payload only makes sense at the clock rate of a codec it goes with.
        selected.retain(|(m, ..)| !m.is_telephone_event() || rates.contains(&m.clock_rate));
    }
    (!selected.is_empty()).then_some(selected)
}

/// The formats of a non-RTP stream we take; for MSRP also checks that some offered
/// accept-type is one we take.
fn select_formats(caps: &MediaCapabilities, offered: &MediaDescription) -> Option<Vec<String>> {
    if offered.is_msrp() && !caps.accept_types.is_empty() {
        let theirs = offered.accept_types();
        let fits = theirs.is_empty()
            || theirs
                .iter()
                .any(|t| caps.accept_types.iter().any(|o| media_type_matches(t, o)));
        if !fits {
            return None;
        }
    }
    if caps.formats.is_empty() || caps.formats.iter().any(|f| f == "*") {
        return Some(offered.formats.clone());
    }
    let formats: Vec<String> = offered
        .formats
        .iter()
        .filter(|f| caps.formats.contains(f))
        .cloned()
        .collect();
    (!formats.is_empty()).then_some(formats)
}

/// Whether two MIME types match, with `*` and `type/*` wildcards on either side.
fn media_type_matches(a: &str, b: &str) -> bool {
    if a == "*" || b == "*" || a.eq_ignore_ascii_case(b) {
        return true;
    }
    let major = |t: &str| t.split('/').next().unwrap_or_default().to_ascii_lowercase();
    let wild = |t: &str| t.ends_with("/*");
    (wild(a) || wild(b)) && major(a) == major(b)
}

/// Reads the answer to our `offer` (RFC 3264 §7): which streams were rejected, which codecs
/// were selected and our resulting direction on each stream. Answer codecs we did not offer
/// are ignored; a renumbered codec (same name, rate and channels) is accepted (§6.1).
pub fn check_answer(
    offer: &SessionDescription,
    answer: &SessionDescription,
) -> Result<Vec<NegotiatedStream>, OfferAnswerError> {
    if offer.media.len() != answer.media.len() {
        return Err(OfferAnswerError::MediaCountMismatch {
            offered: offer.media.len(),
            answered: answer.media.len(),
        });
    }
    let mut streams = Vec::with_capacity(offer.media.len());
    for (index, (ours, theirs)) in offer.media.iter().zip(&answer.media).enumerate() {
        if ours.media != theirs.media {
            return Err(OfferAnswerError::MediaTypeMismatch { index });
        }
        if ours.is_rejected() || theirs.is_rejected() {
            streams.push(NegotiatedStream::rejected(index, &ours.media));
            continue;
        }
        let (mut codecs, mut telephone_events) = (Vec::<SelectedCodec>::new(), Vec::new());
        if ours.is_rtp() {
            let offered: Vec<RtpMap> = ours
                .payload_types()
                .filter_map(|pt| ours.rtpmap(pt))
                .collect();
            for pt in theirs.payload_types() {
                let Some(map) = theirs.rtpmap(pt) else {
                    continue;
                };
                let seen = codecs.iter().any(|c| c.rtpmap.payload_type == pt)
                    || telephone_events
                        .iter()
                        .any(|m: &RtpMap| m.payload_type == pt);
                // The codec as we offered it: same number first, else renumbered.
                let mine = offered
                    .iter()
                    .find(|o| o.payload_type == pt && o.same_codec(&map))
                    .or_else(|| offered.iter().find(|o| o.same_codec(&map)));
                let Some(mine) = mine.filter(|_| !seen) else {
                    continue;
                };
                if map.is_telephone_event() {
                    telephone_events.push(map);
                } else {
                    codecs.push(SelectedCodec {
                        receive_payload_type: mine.payload_type,
                        fmtp: theirs.fmtp(&pt.to_string()).map(|f| f.params),
                        rtpmap: map,
                    });
                }
            }
            if codecs.is_empty() && telephone_events.is_empty() {
                return Err(OfferAnswerError::NoCommonCodec { index });
            }
        }
        streams.push(NegotiatedStream {
            index,
            media: ours.media.clone(),
            accepted: true,
            codecs,
            telephone_events,
            direction: offer
                .direction_of(ours)
                .intersect(answer.direction_of(theirs).reverse()),
            remote_address: answer.connection_of(theirs).map(|c| c.host().to_string()),
            remote_port: theirs.port,
        });
    }
    Ok(streams)
}

/// The re-offer that puts `local` (our last description) on hold (RFC 3264 §8.4): each
/// active stream becomes `sendonly` (or `inactive` if it was `recvonly`), `o=` version + 1.
pub fn hold(local: &SessionDescription) -> SessionDescription {
    redirect(local, |d| d.intersect(Direction::SendOnly))
}

/// The re-offer that resumes `local` after [`hold`]: each active stream receives again
/// (`sendonly` → `sendrecv`, `inactive` → `recvonly`), `o=` version + 1.
pub fn unhold(local: &SessionDescription) -> SessionDescription {
    redirect(local, |d| Direction::from_flags(d.sends(), true))
}

fn redirect(
    local: &SessionDescription,
    change: impl Fn(Direction) -> Direction,
) -> SessionDescription {
    let mut sd = local.clone();
    let directions: Vec<Direction> = sd.media.iter().map(|m| sd.direction_of(m)).collect();
    for (m, d) in sd.media.iter_mut().zip(directions) {
        if !m.is_rejected() {
            m.set_direction(change(d));
        }
    }
    sd.increment_version();
    sd
}
