//! Media streams (the seed's `IMediaStream` and `MediaStreamRegistry`) at the level of SDP
//! negotiation (RFC 3264): each stream type knows how to offer its m-line, whether it can
//! take an offered one (and how to answer it), and keeps its hold state.
//!
//! Sans-IO: a stream owns no socket. Its transport (the RTP relay of the gateway, the MSRP
//! connection) belongs to the shell, which learns what was negotiated from the session's
//! SDP in effect and from the stream notifications (`MediaStreamDidStart`, ...).
//!
//! The registry maps stream types to constructors and picks, for an offered m-line, the
//! highest-priority type whose [`NewFromSdp`] accepts it:
//!
//! ```
//! use sipsimple::sdp::SessionDescription;
//! use sipsimple::stream::{MediaStreamRegistry, StreamConfig};
//! let registry = MediaStreamRegistry::with_defaults();
//! let offer: SessionDescription = "v=0\r\no=- 1 1 IN IP4 a.invalid\r\ns=-\r\nc=IN IP4 a.invalid\r\n\
//!     t=0 0\r\nm=message 2855 TCP/TLS/MSRP *\r\na=path:msrps://a.invalid:2855/x;tcp\r\n\
//!     a=accept-types:message/cpim text/plain\r\n"
//!     .parse()
//!     .expect("valid");
//! let cfg = StreamConfig::new("b.invalid", "s1");
//! let stream = registry.new_from_sdp(&cfg, &offer, 0).expect("a chat stream");
//! assert_eq!(stream.stream_type(), "chat");
//! ```

mod audio;
pub mod chat;
pub mod file_transfer;
mod msrp;

pub use audio::AudioStream;
pub use chat::{ChatConfig, ChatEngine, ChatError, ChatOutput};
pub use file_transfer::{
    unique_file_name, FileTransferEngine, FileTransferError, FileTransferOutput,
};
pub use msrp::{ChatStream, DesktopSharingStream, FileTransferStream, MsrpStream};

use crate::notification::Event;
use crate::sdp::{Direction, MediaDescription, SessionDescription};
use crate::session::SessionDirection;
use core::fmt;

/// The type of the audio stream.
pub const AUDIO: &str = "audio";
/// The type of the chat stream (MSRP with text accept-types).
pub const CHAT: &str = "chat";
/// The type of the file-transfer stream (MSRP with a file-selector, RFC 5547).
pub const FILE_TRANSFER: &str = "file-transfer";
/// The type of the desktop-sharing stream (MSRP carrying `application/x-rfb`).
pub const DESKTOP_SHARING: &str = "desktop-sharing";

/// What a stream needs to build its m-lines: where it says it can be reached and a unique
/// identity (the MSRP session id of its path).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StreamConfig {
    /// The host written in m-lines and MSRP paths (the user agent's `.invalid` host until
    /// the shell has a real transport).
    pub host: String,
    /// A token unique to the stream (the MSRP session id of RFC 4975 §6).
    pub id: String,
    /// The MSRP port announced in the path and m-line.
    pub msrp_port: u16,
    /// Whether a stream we offer runs MSRP over TLS (`TCP/TLS/MSRP`, `msrps:`) or over
    /// plain TCP (`TCP/MSRP`, `msrp:`). An answer follows the offer's transport.
    pub tls: bool,
    /// The MSRP relay's `Use-Path` (RFC 4976 §5), written before our own URI in `a=path`;
    /// empty without a relay.
    pub relay_path: Vec<String>,
}

impl StreamConfig {
    /// A configuration with MSRP's default port 2855.
    pub fn new(host: impl Into<String>, id: impl Into<String>) -> StreamConfig {
        StreamConfig {
            host: host.into(),
            id: id.into(),
            msrp_port: 2855,
            tls: true,
            relay_path: Vec::new(),
        }
    }
}

/// Why a stream cannot take an offered m-line or an update.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum StreamError {
    /// No m-line at this index.
    NoSuchMedia(usize),
    /// The m-line is of another kind (media type, transport, accept-types).
    Unsupported,
    /// Nothing in common (no codec, no accept-type).
    NoCommonFormat,
}

impl fmt::Display for StreamError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StreamError::NoSuchMedia(i) => write!(f, "no m-line {i}"),
            StreamError::Unsupported => f.write_str("m-line of another kind"),
            StreamError::NoCommonFormat => f.write_str("no format in common"),
        }
    }
}

impl std::error::Error for StreamError {}

/// What a stream reports (the seed's stream notifications).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StreamEvent {
    /// `MediaStreamDidInitialize`.
    DidInitialize,
    /// `MediaStreamDidStart`.
    DidStart,
    /// `MediaStreamDidFail`.
    DidFail(String),
    /// `MediaStreamWillEnd`.
    WillEnd,
    /// `MediaStreamDidEnd`.
    DidEnd,
}

impl StreamEvent {
    /// The bus event for a stream of type `stream`.
    pub fn to_event(&self, stream: &str) -> Event {
        let stream = stream.to_string();
        match self {
            StreamEvent::DidInitialize => Event::MediaStreamDidInitialize { stream },
            StreamEvent::DidStart => Event::MediaStreamDidStart { stream },
            StreamEvent::DidFail(reason) => Event::MediaStreamDidFail {
                stream,
                reason: reason.clone(),
            },
            StreamEvent::WillEnd => Event::MediaStreamWillEnd { stream },
            StreamEvent::DidEnd => Event::MediaStreamDidEnd { stream },
        }
    }
}

/// The seed's `IMediaStream`, sans-IO: the session drives it through offer/answer and
/// drains its notifications with [`poll_event`](Self::poll_event).
pub trait MediaStream: fmt::Debug {
    /// The seed's `type`: [`AUDIO`], [`CHAT`], ...
    fn stream_type(&self) -> &'static str;
    /// The seed's `priority`: higher wins when several types accept an m-line.
    fn priority(&self) -> i32;
    /// The seed's `hold_supported`.
    fn hold_supported(&self) -> bool;
    /// The seed's `on_hold_by_local`.
    fn on_hold_by_local(&self) -> bool;
    /// The seed's `on_hold_by_remote`.
    fn on_hold_by_remote(&self) -> bool;
    /// The seed's `on_hold`: held by either side.
    fn on_hold(&self) -> bool {
        self.on_hold_by_local() || self.on_hold_by_remote()
    }
    /// The seed's `get_local_media`: our m-line for an offer (`for_offer`), or our answer
    /// to the m-line the stream was created from ([`NewFromSdp`]); a stream created for an
    /// offer answers with its offer line.
    fn get_local_media(&self, for_offer: bool) -> MediaDescription;
    /// The seed's `initialize`: the session is about to negotiate the stream
    /// (`MediaStreamDidInitialize`).
    fn initialize(&mut self, direction: SessionDirection);
    /// The seed's `start`: both descriptions are in effect (`MediaStreamDidStart`, or
    /// `MediaStreamDidFail` then `MediaStreamDidEnd` when they cannot be used).
    fn start(
        &mut self,
        local_sdp: &SessionDescription,
        remote_sdp: &SessionDescription,
        index: usize,
    );
    /// The seed's `end` (`MediaStreamWillEnd`, `MediaStreamDidEnd`).
    fn end(&mut self);
    /// The seed's `validate_update`: whether a re-offer of the stream's m-line is
    /// acceptable to it.
    fn validate_update(&self, remote_sdp: &SessionDescription, index: usize) -> bool;
    /// The seed's `update`: new descriptions are in effect.
    fn update(
        &mut self,
        local_sdp: &SessionDescription,
        remote_sdp: &SessionDescription,
        index: usize,
    );
    /// The seed's `hold`: we hold the stream (if it supports hold).
    fn hold(&mut self);
    /// The seed's `unhold`.
    fn unhold(&mut self);
    /// The next notification, until `None`.
    fn poll_event(&mut self) -> Option<StreamEvent>;
}

/// Makes a stream for our own offer.
pub type NewStream = fn(&StreamConfig) -> Box<dyn MediaStream>;
/// The seed's `new_from_sdp`: makes a stream for the offered m-line `index` of `remote_sdp`,
/// or says why the type cannot take it.
pub type NewFromSdp =
    fn(&StreamConfig, &SessionDescription, usize) -> Result<Box<dyn MediaStream>, StreamError>;

/// One registered stream type.
#[derive(Debug, Clone, Copy)]
pub struct StreamFactory {
    /// The type's name.
    pub stream_type: &'static str,
    /// Its priority (higher is tried first for offered m-lines).
    pub priority: i32,
    /// The constructor for offers.
    pub new: NewStream,
    /// The constructor for offered m-lines.
    pub new_from_sdp: NewFromSdp,
}

/// The seed's `MediaStreamRegistry`: the stream types a session can negotiate.
#[derive(Debug, Clone, Default)]
pub struct MediaStreamRegistry {
    factories: Vec<StreamFactory>,
}

impl MediaStreamRegistry {
    /// An empty registry.
    pub fn new() -> MediaStreamRegistry {
        MediaStreamRegistry::default()
    }

    /// Audio, chat, file transfer and desktop sharing.
    pub fn with_defaults() -> MediaStreamRegistry {
        let mut r = MediaStreamRegistry::new();
        r.register(AudioStream::FACTORY);
        r.register(ChatStream::FACTORY);
        r.register(FileTransferStream::FACTORY);
        r.register(DesktopSharingStream::FACTORY);
        r
    }

    /// Adds (or replaces) a stream type.
    pub fn register(&mut self, factory: StreamFactory) {
        self.factories
            .retain(|f| f.stream_type != factory.stream_type);
        self.factories.push(factory);
        // Highest priority first; registration order among equals.
        self.factories
            .sort_by_key(|f| core::cmp::Reverse(f.priority));
    }

    /// The registered types, highest priority first.
    pub fn types(&self) -> Vec<&'static str> {
        self.factories.iter().map(|f| f.stream_type).collect()
    }

    /// The registered type called `stream_type` (ASCII case-sensitive), with its
    /// `&'static` name.
    pub fn get(&self, stream_type: &str) -> Option<&StreamFactory> {
        self.factories.iter().find(|f| f.stream_type == stream_type)
    }

    /// A new stream of `stream_type` for an offer.
    pub fn create(&self, stream_type: &str, cfg: &StreamConfig) -> Option<Box<dyn MediaStream>> {
        self.get(stream_type).map(|f| (f.new)(cfg))
    }

    /// A stream for the offered m-line `index`: the highest-priority type that accepts it;
    /// `None` for a rejected m-line or one no type takes.
    pub fn new_from_sdp(
        &self,
        cfg: &StreamConfig,
        remote_sdp: &SessionDescription,
        index: usize,
    ) -> Option<Box<dyn MediaStream>> {
        if remote_sdp.media.get(index)?.is_rejected() {
            return None;
        }
        self.factories
            .iter()
            .find_map(|f| (f.new_from_sdp)(cfg, remote_sdp, index).ok())
    }

    /// The type that would take m-line `index` of `sdp` (rejected m-lines included).
    pub fn classify(&self, sdp: &SessionDescription, index: usize) -> Option<&'static str> {
        let m = sdp.media.get(index)?;
        let mut probe = sdp.clone();
        if m.is_rejected() {
            // A rejected m-line has lost its attributes: classify by its kind alone.
            if let Some(p) = probe.media.get_mut(index) {
                p.port = 9;
            }
        }
        let cfg = StreamConfig::new("classify.invalid", "x");
        self.factories
            .iter()
            .find(|f| (f.new_from_sdp)(&cfg, &probe, index).is_ok())
            .map(|f| f.stream_type)
    }
}

/// The m-line `index` of `sdp`, or the error saying there is none.
pub(crate) fn media_at(
    sdp: &SessionDescription,
    index: usize,
) -> Result<&MediaDescription, StreamError> {
    sdp.media.get(index).ok_or(StreamError::NoSuchMedia(index))
}

/// The hold state a peer's m-line announces (RFC 3264 §8.4): it receives nothing.
pub(crate) fn remote_holds(sdp: &SessionDescription, index: usize) -> bool {
    sdp.media
        .get(index)
        .is_some_and(|m| !m.is_rejected() && !sdp.direction_of(m).receives())
}

/// The part of a stream's state every type shares: hold flags and the notification queue.
#[derive(Debug, Clone, Default)]
pub(crate) struct StreamCore {
    pub on_hold_by_local: bool,
    pub on_hold_by_remote: bool,
    pub started: bool,
    pub ended: bool,
    pub events: std::collections::VecDeque<StreamEvent>,
}

impl StreamCore {
    pub fn initialize(&mut self) {
        self.events.push_back(StreamEvent::DidInitialize);
    }

    pub fn start(&mut self, remote: &SessionDescription, index: usize) {
        if self.started || self.ended {
            return;
        }
        self.started = true;
        self.on_hold_by_remote = remote_holds(remote, index);
        self.events.push_back(StreamEvent::DidStart);
    }

    pub fn fail(&mut self, reason: &str) {
        if self.ended {
            return;
        }
        self.ended = true;
        self.events
            .push_back(StreamEvent::DidFail(reason.to_string()));
        self.events.push_back(StreamEvent::DidEnd);
    }

    pub fn end(&mut self) {
        if self.ended {
            return;
        }
        self.ended = true;
        self.events.push_back(StreamEvent::WillEnd);
        self.events.push_back(StreamEvent::DidEnd);
    }

    pub fn update(&mut self, remote: &SessionDescription, index: usize) {
        self.on_hold_by_remote = remote_holds(remote, index);
    }
}

/// Our direction for an answer line: what we want (narrowed while holding) against the
/// mirror of the offered one.
pub(crate) fn answer_direction(offer: &SessionDescription, index: usize, hold: bool) -> Direction {
    let offered = offer
        .media
        .get(index)
        .map_or(Direction::SendRecv, |m| offer.direction_of(m));
    let want = if hold {
        Direction::SendOnly
    } else {
        Direction::SendRecv
    };
    offered.reverse().intersect(want)
}
