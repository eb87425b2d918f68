//! SDP, the Session Description Protocol (RFC 8866 §5, §9), with typed views of the attributes
//! a SIP SIMPLE client meets: rtpmap, fmtp, ptime and direction (RFC 8866 §6), the old-style
//! hold address (RFC 3264 §8.4), rtcp and rtcp-mux (RFC 3605, RFC 5761), SDES crypto
//! (RFC 4568 §9.1), ICE (RFC 8839 §5), DTLS fingerprint and setup (RFC 8122 §5, RFC 4145 §4),
//! mid (RFC 5888 §4) and the MSRP attributes (RFC 4975 §8, RFC 5547 §5, RFC 6135 §4).
//!
//! [`SessionDescription::parse`] turns untrusted bytes into an owned description. Lines may
//! end in CRLF or a bare LF; output always uses CRLF. Attributes are stored as written (name
//! and raw value) in wire order and read through typed accessors on demand, so an attribute
//! the crate does not know re-serialises byte for byte. Structured lines (`o=`, `c=`, `b=`,
//! `t=`, `m=`) are re-serialised with single spaces, and the session-level lines in the order
//! of RFC 8866 §5 even when the peer sent them in another order.
//!
//! Limits guard the parser against hostile peers: [`MAX_SDP_LEN`] bytes of input,
//! [`MAX_LINE_LEN`] bytes per line, [`MAX_MEDIA`] media descriptions and [`MAX_ATTRIBUTES`]
//! attributes per section. No input makes the parser panic.
//!
//! ```
//! use sipsimple::sdp::{Direction, SessionDescription};
//! let sdp = SessionDescription::parse(
//!     b"v=0\no=- 1 1 IN IP4 192.0.2.1\ns=-\nc=IN IP4 192.0.2.1\nt=0 0\n\
//!       m=audio 49170 RTP/AVP 0 101\na=rtpmap:101 telephone-event/8000\na=sendonly\n",
//! )
//! .expect("a valid description");
//! let audio = &sdp.media[0];
//! assert_eq!(audio.rtpmap(0).map(|m| m.encoding), Some("PCMU".to_string()));
//! assert_eq!(sdp.direction_of(audio), Direction::SendOnly);
//! assert!(sdp.to_string().starts_with("v=0\r\no=- 1 1 IN IP4 192.0.2.1\r\n"));
//! ```

mod attributes;
mod crypto;
mod error;
mod ice;
mod media;
mod parse;

pub use attributes::{Attribute, Direction, Fingerprint, Fmtp, Rtcp, RtpMap, Setup};
pub use crypto::{Crypto, InlineKey, KeyParam, Mki};
pub use error::SdpError;
pub use ice::{Candidate, CandidateType};
pub use media::{MediaDescription, MediaType};

use attributes::{find, find_value, push_u64};
use core::fmt;

/// Largest accepted description, in bytes.
pub const MAX_SDP_LEN: usize = 64 * 1024;
/// Largest accepted line (without its line end), in bytes.
pub const MAX_LINE_LEN: usize = 8 * 1024;
/// Largest accepted number of media descriptions (`m=` lines).
pub const MAX_MEDIA: usize = 64;
/// Largest accepted number of `a=` lines in one section (the session or one media).
pub const MAX_ATTRIBUTES: usize = 1024;

/// A whole session description (RFC 8866 §5). Only protocol version 0 (`v=0`) exists, so the
/// version is not stored: [`encode`](Self::encode) always writes `v=0`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionDescription {
    /// `o=`: originator and session identifier.
    pub origin: Origin,
    /// `s=`: the session name as written (RFC 3264 examples leave it empty).
    pub session_name: String,
    /// `i=`: session information.
    pub information: Option<String>,
    /// `u=`: URI of a description.
    pub uri: Option<String>,
    /// `e=` lines: email addresses, as written.
    pub emails: Vec<String>,
    /// `p=` lines: phone numbers, as written.
    pub phones: Vec<String>,
    /// `c=` at session level: the default for media without their own.
    pub connection: Option<Connection>,
    /// `b=` lines at session level.
    pub bandwidths: Vec<Bandwidth>,
    /// `t=` lines, each with the `r=` lines that follow it.
    pub timings: Vec<Timing>,
    /// `z=`: time zone adjustments, as written.
    pub time_zones: Option<String>,
    /// `k=`: the obsolete encryption key line, as written.
    pub encryption_key: Option<String>,
    /// Session-level `a=` lines in wire order.
    pub attributes: Vec<Attribute>,
    /// Media descriptions (`m=` sections) in wire order.
    pub media: Vec<MediaDescription>,
}

/// The `o=` line (RFC 8866 §5.2).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Origin {
    /// The user's login on the originating host, `-` when there is none.
    pub username: String,
    /// The session identifier, kept as written (some agents use more digits than a `u64`).
    pub session_id: String,
    /// The version, incremented on each change of the description (RFC 3264 §8).
    pub session_version: u64,
    /// Network type, `IN`.
    pub net_type: String,
    /// Address type, `IP4` or `IP6`.
    pub addr_type: String,
    /// Address or host name of the originating machine.
    pub address: String,
}

/// A `c=` line (RFC 8866 §5.7).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Connection {
    /// Network type, `IN`.
    pub net_type: String,
    /// Address type, `IP4` or `IP6`.
    pub addr_type: String,
    /// The connection address as written, multicast `/ttl/count` suffixes included.
    pub address: String,
}

/// A `b=` line (RFC 8866 §5.8).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bandwidth {
    /// `CT`, `AS`, `TIAS`, ...
    pub bw_type: String,
    /// The value, in kilobits per second for `CT` and `AS`.
    pub value: u64,
}

/// A `t=` line and its `r=` lines (RFC 8866 §5.9, §5.10).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Timing {
    /// Start time (NTP seconds); 0 for an unbounded session.
    pub start: u64,
    /// Stop time (NTP seconds); 0 for an unbounded session.
    pub stop: u64,
    /// The values of the `r=` lines, as written.
    pub repeats: Vec<String>,
}

impl Origin {
    /// An `IN IP4` origin.
    pub fn new(
        username: impl Into<String>,
        session_id: impl Into<String>,
        session_version: u64,
        address: impl Into<String>,
    ) -> Origin {
        Origin {
            username: username.into(),
            session_id: session_id.into(),
            session_version,
            net_type: "IN".to_string(),
            addr_type: "IP4".to_string(),
            address: address.into(),
        }
    }
}

impl Connection {
    /// An `IN IP4` connection.
    pub fn ip4(address: impl Into<String>) -> Connection {
        Connection {
            net_type: "IN".to_string(),
            addr_type: "IP4".to_string(),
            address: address.into(),
        }
    }

    /// An `IN IP6` connection.
    pub fn ip6(address: impl Into<String>) -> Connection {
        Connection {
            net_type: "IN".to_string(),
            addr_type: "IP6".to_string(),
            address: address.into(),
        }
    }

    /// The address without a multicast `/ttl` or `/count` suffix.
    pub fn host(&self) -> &str {
        self.address.split('/').next().unwrap_or_default()
    }

    /// Whether this is the unspecified address that RFC 2543 used to put a call on hold
    /// (RFC 3264 §8.4): `0.0.0.0` or `::`.
    pub fn is_unspecified(&self) -> bool {
        matches!(self.host(), "0.0.0.0" | "::")
    }

    fn encode(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(b"c=");
        push_words(out, &[&self.net_type, &self.addr_type, &self.address]);
        out.extend_from_slice(b"\r\n");
    }
}

impl Bandwidth {
    fn encode(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(b"b=");
        out.extend_from_slice(self.bw_type.as_bytes());
        out.push(b':');
        push_u64(out, self.value);
        out.extend_from_slice(b"\r\n");
    }
}

impl Timing {
    /// `t=0 0`: a session without time bounds, as SIP uses (RFC 3264 §5).
    pub fn unbounded() -> Timing {
        Timing {
            start: 0,
            stop: 0,
            repeats: Vec::new(),
        }
    }
}

/// Writes `words` separated by single spaces.
fn push_words(out: &mut Vec<u8>, words: &[&str]) {
    for (i, w) in words.iter().enumerate() {
        if i > 0 {
            out.push(b' ');
        }
        out.extend_from_slice(w.as_bytes());
    }
}

fn push_text_line(out: &mut Vec<u8>, letter: u8, value: &str) {
    out.push(letter);
    out.push(b'=');
    out.extend_from_slice(value.as_bytes());
    out.extend_from_slice(b"\r\n");
}

impl SessionDescription {
    /// A minimal description: `v=0`, the origin, the session name and `t=0 0`, no media.
    pub fn new(origin: Origin, session_name: impl Into<String>) -> SessionDescription {
        SessionDescription {
            origin,
            session_name: session_name.into(),
            information: None,
            uri: None,
            emails: Vec::new(),
            phones: Vec::new(),
            connection: None,
            bandwidths: Vec::new(),
            timings: vec![Timing::unbounded()],
            time_zones: None,
            encryption_key: None,
            attributes: Vec::new(),
            media: Vec::new(),
        }
    }

    /// Parses a whole description; see the [module docs](self) for what is accepted.
    pub fn parse(input: &[u8]) -> Result<SessionDescription, SdpError> {
        parse::parse(input)
    }

    /// Appends the description to `out`, with CRLF line ends.
    pub fn encode(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(b"v=0\r\no=");
        let o = &self.origin;
        push_words(out, &[&o.username, &o.session_id]);
        out.push(b' ');
        push_u64(out, o.session_version);
        out.push(b' ');
        push_words(out, &[&o.net_type, &o.addr_type, &o.address]);
        out.extend_from_slice(b"\r\n");
        push_text_line(out, b's', &self.session_name);
        if let Some(i) = &self.information {
            push_text_line(out, b'i', i);
        }
        if let Some(u) = &self.uri {
            push_text_line(out, b'u', u);
        }
        for e in &self.emails {
            push_text_line(out, b'e', e);
        }
        for p in &self.phones {
            push_text_line(out, b'p', p);
        }
        if let Some(c) = &self.connection {
            c.encode(out);
        }
        for b in &self.bandwidths {
            b.encode(out);
        }
        for t in &self.timings {
            out.extend_from_slice(b"t=");
            push_u64(out, t.start);
            out.push(b' ');
            push_u64(out, t.stop);
            out.extend_from_slice(b"\r\n");
            for r in &t.repeats {
                push_text_line(out, b'r', r);
            }
        }
        if let Some(z) = &self.time_zones {
            push_text_line(out, b'z', z);
        }
        if let Some(k) = &self.encryption_key {
            push_text_line(out, b'k', k);
        }
        for a in &self.attributes {
            a.encode(out);
        }
        for m in &self.media {
            m.encode(out);
        }
    }

    /// The encoded description as bytes.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(512);
        self.encode(&mut out);
        out
    }

    /// Increments the `o=` version, as every changed offer must (RFC 3264 §8).
    pub fn increment_version(&mut self) {
        self.origin.session_version = self.origin.session_version.saturating_add(1);
    }

    /// The first session-level attribute called `name` (ASCII case-insensitive).
    pub fn attribute(&self, name: &str) -> Option<&Attribute> {
        find(&self.attributes, name)
    }

    /// Session-level attributes called `name`, in order.
    pub fn attributes_named<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a Attribute> {
        self.attributes
            .iter()
            .filter(move |a| a.name.eq_ignore_ascii_case(name))
    }

    /// Whether a session-level attribute called `name` is present.
    pub fn has_attribute(&self, name: &str) -> bool {
        self.attribute(name).is_some()
    }

    /// The session-level direction attribute, if any.
    pub fn direction(&self) -> Option<Direction> {
        Direction::find(&self.attributes)
    }

    /// `a=ice-lite` at session level (RFC 8839 §5.3).
    pub fn ice_lite(&self) -> bool {
        self.has_attribute("ice-lite")
    }

    /// The connection that applies to `media`: its own first `c=` line, else the session's.
    pub fn connection_of<'a>(&'a self, media: &'a MediaDescription) -> Option<&'a Connection> {
        media.connections.first().or(self.connection.as_ref())
    }

    /// The direction that applies to `media`, from the point of view of this description's
    /// author: the media-level attribute, else the session-level one, else `sendrecv`
    /// (RFC 8866 §6.7). An old-style hold, a connection address of `0.0.0.0` outside ICE
    /// (RFC 3264 §8.4), means the author receives nothing, so it removes the receive half.
    pub fn direction_of(&self, media: &MediaDescription) -> Direction {
        let declared = media
            .direction()
            .or(self.direction())
            .unwrap_or(Direction::SendRecv);
        // With ICE, 0.0.0.0 is the placeholder of a description without candidates yet
        // (RFC 8840 §4), not a hold.
        let old_hold = self
            .connection_of(media)
            .is_some_and(Connection::is_unspecified)
            && self.ice_ufrag_of(media).is_none();
        if old_hold {
            declared.intersect(Direction::SendOnly)
        } else {
            declared
        }
    }

    /// `a=ice-ufrag` of `media`, else of the session (RFC 8839 §5.4).
    pub fn ice_ufrag_of<'a>(&'a self, media: &'a MediaDescription) -> Option<&'a str> {
        media
            .ice_ufrag()
            .or_else(|| find_value(&self.attributes, "ice-ufrag"))
    }

    /// `a=ice-pwd` of `media`, else of the session (RFC 8839 §5.4).
    pub fn ice_pwd_of<'a>(&'a self, media: &'a MediaDescription) -> Option<&'a str> {
        media
            .ice_pwd()
            .or_else(|| find_value(&self.attributes, "ice-pwd"))
    }

    /// `a=fingerprint` of `media`, else of the session (RFC 8122 §5).
    pub fn fingerprint_of(&self, media: &MediaDescription) -> Option<Fingerprint> {
        media
            .fingerprint()
            .or_else(|| find_value(&self.attributes, "fingerprint").and_then(Fingerprint::parse))
    }

    /// `a=setup` of `media`, else of the session (RFC 4145 §4).
    pub fn setup_of(&self, media: &MediaDescription) -> Option<Setup> {
        media
            .setup()
            .or_else(|| find_value(&self.attributes, "setup").and_then(Setup::parse))
    }
}

impl fmt::Display for SessionDescription {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Every field is a `String`, so the encoding is UTF-8 and nothing is replaced.
        f.write_str(&String::from_utf8_lossy(&self.to_bytes()))
    }
}

impl core::str::FromStr for SessionDescription {
    type Err = SdpError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        SessionDescription::parse(s.as_bytes())
    }
}
