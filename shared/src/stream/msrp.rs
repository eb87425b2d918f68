//! The MSRP streams (the seed's `MSRPStreamBase` and its children) at the level of SDP
//! negotiation (RFC 4975 §8, RFC 6135 for `a=setup`, RFC 5547 for file transfer): the
//! `m=message` (or, for desktop sharing, `m=application`) line with `path`, `accept-types`,
//! `accept-wrapped-types` and `setup`. Carrying MSRP itself is another layer's work.

use super::{
    answer_direction, media_at, MediaStream, StreamConfig, StreamCore, StreamError, StreamEvent,
    StreamFactory, CHAT, DESKTOP_SHARING, FILE_TRANSFER,
};
use crate::sdp::{Attribute, Direction, MediaDescription, MediaType, SessionDescription, Setup};
use crate::session::SessionDirection;

/// What distinguishes one MSRP stream type from another.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Kind {
    stream_type: &'static str,
    priority: i32,
    media: MediaType,
    accept_types: &'static [&'static str],
    accept_wrapped_types: &'static [&'static str],
}

const CHAT_KIND: Kind = Kind {
    stream_type: CHAT,
    priority: 1,
    media: MediaType::Message,
    accept_types: &["message/cpim", "text/plain"],
    accept_wrapped_types: &["*"],
};

const FILE_KIND: Kind = Kind {
    stream_type: FILE_TRANSFER,
    priority: 10,
    media: MediaType::Message,
    accept_types: &["*"],
    accept_wrapped_types: &["*"],
};

const DESKTOP_KIND: Kind = Kind {
    stream_type: DESKTOP_SHARING,
    priority: 10,
    media: MediaType::Application,
    accept_types: &["application/x-rfb"],
    accept_wrapped_types: &[],
};

/// Whether MIME type `a` matches `b`, with `*` and `type/*` wildcards on either side.
fn mime_matches(a: &str, b: &str) -> bool {
    if a == "*" || b == "*" || a.eq_ignore_ascii_case(b) {
        return true;
    }
    let major = |t: &str| t.split('/').next().unwrap_or_default().to_ascii_lowercase();
    (a.ends_with("/*") || b.ends_with("/*")) && major(a) == major(b)
}

/// The seed's `MSRPStreamBase`: one MSRP m-line, as offered or answered.
#[derive(Debug, Clone)]
pub struct MsrpStream {
    kind: Kind,
    core: StreamCore,
    cfg: StreamConfig,
    /// Extra attributes of our m-line (the file-selector of a file we send).
    attributes: Vec<Attribute>,
    /// The direction we offer.
    direction: Direction,
    /// The offer the stream was created from: that one m-line, at index 0.
    offered: Option<SessionDescription>,
    /// The peer's MSRP path, once started.
    remote_path: Vec<String>,
}

impl MsrpStream {
    fn new(kind: Kind, cfg: &StreamConfig) -> MsrpStream {
        MsrpStream {
            kind,
            core: StreamCore::default(),
            cfg: cfg.clone(),
            attributes: Vec::new(),
            direction: Direction::SendRecv,
            offered: None,
            remote_path: Vec::new(),
        }
    }

    fn from_offer(
        kind: Kind,
        cfg: &StreamConfig,
        sdp: &SessionDescription,
        index: usize,
        accepts: impl Fn(&MediaDescription) -> bool,
    ) -> Result<MsrpStream, StreamError> {
        let m = media_at(sdp, index)?;
        if !m.is_msrp() || m.is_rejected() || !accepts(m) {
            return Err(StreamError::Unsupported);
        }
        let mut s = MsrpStream::new(kind, cfg);
        let mut one = sdp.clone();
        one.media = vec![m.clone()];
        s.offered = Some(one);
        Ok(s)
    }

    /// The seed's `media_type`: `message`, or `application` for desktop sharing.
    pub fn media_type(&self) -> &MediaType {
        &self.kind.media
    }

    /// The seed's `accept_types`.
    pub fn accept_types(&self) -> &'static [&'static str] {
        self.kind.accept_types
    }

    /// The seed's `accept_wrapped_types`.
    pub fn accept_wrapped_types(&self) -> &'static [&'static str] {
        self.kind.accept_wrapped_types
    }

    /// Our `a=path`: the relay's `Use-Path` (RFC 4976 §5), if any, then
    /// [`local_path`](Self::local_path).
    pub fn path_attribute(&self) -> String {
        let mut path = self.cfg.relay_path.clone();
        path.push(self.local_path());
        path.join(" ")
    }

    /// Our MSRP URI (RFC 4975 §6): `msrps://<host>:<port>/<id>;tcp` (`msrp` over `TCP/MSRP`).
    pub fn local_path(&self) -> String {
        let scheme = if self.proto().eq_ignore_ascii_case("TCP/MSRP") {
            "msrp"
        } else {
            "msrps"
        };
        format!(
            "{scheme}://{}:{}/{};tcp",
            self.cfg.host, self.cfg.msrp_port, self.cfg.id
        )
    }

    /// The peer's MSRP path, first hop first, once the stream started.
    pub fn remote_path(&self) -> &[String] {
        &self.remote_path
    }

    fn proto(&self) -> &str {
        self.offered.as_ref().and_then(|o| o.media.first()).map_or(
            if self.cfg.tls {
                "TCP/TLS/MSRP"
            } else {
                "TCP/MSRP"
            },
            |m| m.proto.as_str(),
        )
    }

    fn line(&self, for_offer: bool) -> MediaDescription {
        let offered = self.offered.as_ref().filter(|_| !for_offer);
        let media = offered
            .and_then(|o| o.media.first())
            .map_or(self.kind.media.clone(), |m| m.media.clone());
        let mut m = MediaDescription::new(
            media,
            self.cfg.msrp_port,
            self.proto(),
            vec!["*".to_string()],
        );
        m.attributes
            .push(Attribute::new("path", self.path_attribute()));
        m.attributes.push(Attribute::new(
            "accept-types",
            self.kind.accept_types.join(" "),
        ));
        if !self.kind.accept_wrapped_types.is_empty() {
            m.attributes.push(Attribute::new(
                "accept-wrapped-types",
                self.kind.accept_wrapped_types.join(" "),
            ));
        }
        m.attributes.extend(self.attributes.iter().cloned());
        if self.kind.stream_type == DESKTOP_SHARING && !m.has_attribute("rfbsetup") {
            // Who runs the VNC server (python-sipsimple's `a=rfbsetup`): an answer takes the
            // other role than the offer's (`active`, the viewer, when it says none).
            let theirs = offered
                .and_then(|o| o.media.first())
                .map(|t| t.attribute_value("rfbsetup").unwrap_or(RFB_VIEWER));
            let ours = match theirs {
                Some(t) if t.eq_ignore_ascii_case(RFB_SERVER) => RFB_VIEWER,
                Some(_) => RFB_SERVER,
                None => RFB_VIEWER,
            };
            m.attributes.push(Attribute::new("rfbsetup", ours));
        }
        match offered {
            Some(offer) => {
                let theirs = offer.media.first();
                // The receiver of a file echoes its selector and id (RFC 5547 §8.2).
                for name in ["file-selector", "file-transfer-id"] {
                    if let Some(a) = theirs
                        .and_then(|t| t.attribute(name))
                        .filter(|_| !m.has_attribute(name))
                    {
                        m.attributes.push(a.clone());
                    }
                }
                let setup = theirs
                    .and_then(|t| offer.setup_of(t))
                    .map_or(Setup::Passive, Setup::answer_to);
                m.attributes.push(setup.to_attribute());
                m.set_direction(answer_direction(offer, 0, false).intersect(self.direction));
            }
            None => {
                // The offerer connects (RFC 6135 §4: "active" is the usual choice).
                m.attributes.push(Setup::Active.to_attribute());
                m.set_direction(self.direction);
            }
        }
        m
    }
}

impl MediaStream for MsrpStream {
    fn stream_type(&self) -> &'static str {
        self.kind.stream_type
    }

    fn priority(&self) -> i32 {
        self.kind.priority
    }

    fn hold_supported(&self) -> bool {
        false
    }

    fn on_hold_by_local(&self) -> bool {
        false
    }

    fn on_hold_by_remote(&self) -> bool {
        false
    }

    fn get_local_media(&self, for_offer: bool) -> MediaDescription {
        self.line(for_offer)
    }

    fn initialize(&mut self, _direction: SessionDirection) {
        self.core.initialize();
    }

    fn start(&mut self, _local: &SessionDescription, remote: &SessionDescription, index: usize) {
        let path: Vec<String> = remote
            .media
            .get(index)
            .map(|m| m.msrp_path().into_iter().map(str::to_string).collect())
            .unwrap_or_default();
        if path.is_empty() {
            self.core.fail("no MSRP path in the remote description");
            return;
        }
        self.remote_path = path;
        self.core.start(remote, index);
        // MSRP streams have no hold (the seed: `hold_supported` is false).
        self.core.on_hold_by_remote = false;
    }

    fn end(&mut self) {
        self.core.end();
    }

    fn validate_update(&self, remote: &SessionDescription, index: usize) -> bool {
        remote.media.get(index).is_some_and(|m| m.is_msrp())
    }

    fn update(&mut self, _local: &SessionDescription, remote: &SessionDescription, index: usize) {
        if let Some(m) = remote.media.get(index) {
            let path: Vec<String> = m.msrp_path().into_iter().map(str::to_string).collect();
            if !path.is_empty() {
                self.remote_path = path;
            }
        }
    }

    fn hold(&mut self) {}

    fn unhold(&mut self) {}

    fn poll_event(&mut self) -> Option<StreamEvent> {
        self.core.events.pop_front()
    }
}

/// The seed's `ChatStream`: `m=message` over MSRP with `accept-types:message/cpim
/// text/plain` and `accept-wrapped-types:*`.
#[derive(Debug)]
pub struct ChatStream;

impl ChatStream {
    /// Its registry entry: priority 1. It takes MSRP `message` m-lines without a
    /// file-selector whose accept-types include text or CPIM.
    pub const FACTORY: StreamFactory = StreamFactory {
        stream_type: CHAT,
        priority: 1,
        new: |cfg| Box::new(ChatStream::new(cfg)),
        new_from_sdp: |cfg, sdp, index| {
            let s = MsrpStream::from_offer(CHAT_KIND, cfg, sdp, index, |m| {
                m.media == MediaType::Message
                    && m.file_selector().is_none()
                    && m.accept_types()
                        .iter()
                        .any(|t| mime_matches(t, "text/plain") || mime_matches(t, "message/cpim"))
            })?;
            Ok(Box::new(s))
        },
    };

    /// A chat stream for an offer.
    #[allow(clippy::new_ret_no_self)]
    pub fn new(cfg: &StreamConfig) -> MsrpStream {
        MsrpStream::new(CHAT_KIND, cfg)
    }
}

/// The seed's `FileTransferStream` (a stub at this level): `m=message` over MSRP with a
/// `file-selector` (RFC 5547).
#[derive(Debug)]
pub struct FileTransferStream;

impl FileTransferStream {
    /// Its registry entry: priority 10. It takes MSRP `message` m-lines with a
    /// file-selector.
    pub const FACTORY: StreamFactory = StreamFactory {
        stream_type: FILE_TRANSFER,
        priority: 10,
        new: |cfg| Box::new(FileTransferStream::new(cfg)),
        new_from_sdp: |cfg, sdp, index| {
            let s = MsrpStream::from_offer(FILE_KIND, cfg, sdp, index, |m| {
                m.media == MediaType::Message && m.file_selector().is_some()
            })?;
            Ok(Box::new(s))
        },
    };

    /// A file-transfer stream for an offer, without a file yet.
    #[allow(clippy::new_ret_no_self)]
    pub fn new(cfg: &StreamConfig) -> MsrpStream {
        MsrpStream::new(FILE_KIND, cfg)
    }

    /// A stream offering to send the file `selector` describes (the value of
    /// `a=file-selector`, RFC 5547 §5): `sendonly`.
    pub fn sending(cfg: &StreamConfig, selector: &str) -> MsrpStream {
        let mut s = MsrpStream::new(FILE_KIND, cfg);
        s.attributes.push(Attribute::new("file-selector", selector));
        s.direction = Direction::SendOnly;
        s
    }
}

/// The seed's `DesktopSharingStream` (a stub at this level): `m=application` over MSRP
/// carrying `application/x-rfb`.
#[derive(Debug)]
pub struct DesktopSharingStream;

impl DesktopSharingStream {
    /// Its registry entry: priority 10. It takes MSRP m-lines (`application` or
    /// `message`) whose accept-types include `application/x-rfb`.
    pub const FACTORY: StreamFactory = StreamFactory {
        stream_type: DESKTOP_SHARING,
        priority: 10,
        new: |cfg| Box::new(DesktopSharingStream::new(cfg)),
        new_from_sdp: |cfg, sdp, index| {
            let s = MsrpStream::from_offer(DESKTOP_KIND, cfg, sdp, index, |m| {
                matches!(m.media, MediaType::Application | MediaType::Message)
                    && m.accept_types()
                        .iter()
                        .any(|t| t.eq_ignore_ascii_case("application/x-rfb"))
            })?;
            Ok(Box::new(s))
        },
    };

    /// The `a=rfbsetup` value of the end that shares its desktop (runs the VNC server).
    pub const SERVER: &'static str = RFB_SERVER;
    /// The `a=rfbsetup` value of the end that views the peer's desktop (the RFB client).
    pub const VIEWER: &'static str = RFB_VIEWER;

    /// A desktop-sharing stream for an offer (we view the peer's desktop unless
    /// [`with_rfbsetup`](Self::with_rfbsetup) says otherwise).
    #[allow(clippy::new_ret_no_self)]
    pub fn new(cfg: &StreamConfig) -> MsrpStream {
        MsrpStream::new(DESKTOP_KIND, cfg)
    }

    /// A desktop-sharing stream for an offer in which we take the RFB role `rfbsetup`:
    /// [`SERVER`](Self::SERVER) (`passive`: we share our desktop) or
    /// [`VIEWER`](Self::VIEWER) (`active`: we view the peer's).
    pub fn with_rfbsetup(cfg: &StreamConfig, rfbsetup: &str) -> MsrpStream {
        let mut s = MsrpStream::new(DESKTOP_KIND, cfg);
        s.attributes.push(Attribute::new("rfbsetup", rfbsetup));
        s
    }
}

/// The `a=rfbsetup` value of the end that runs the VNC server (python-sipsimple's
/// server handlers).
const RFB_SERVER: &str = "passive";
/// The `a=rfbsetup` value of the end that views (the RFB client; the default when an
/// m-line has none).
const RFB_VIEWER: &str = "active";
