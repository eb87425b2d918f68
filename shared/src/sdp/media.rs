//! Media descriptions (RFC 8866 §5.14) and their typed attribute accessors: RTP
//! (RFC 8866 §6, RFC 3605, RFC 5761), SDES (RFC 4568), ICE (RFC 8839), DTLS (RFC 8122),
//! mid (RFC 5888) and MSRP (RFC 4975 §8, RFC 5547 §5).

use super::attributes::{find, find_value, push_u64, Attribute};
use super::{
    push_text_line, Bandwidth, Candidate, Connection, Crypto, Direction, Fingerprint, Fmtp, Rtcp,
    RtpMap, Setup,
};
use core::fmt;

/// The media type of an `m=` line (RFC 8866 §5.14).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum MediaType {
    /// `audio`
    Audio,
    /// `video`
    Video,
    /// `text` (RFC 4103 real-time text)
    Text,
    /// `application`: data channels, BFCP, ...
    Application,
    /// `message`: MSRP (RFC 4975)
    Message,
    /// `image`: T.38 fax
    Image,
    /// Any other token, as written.
    Other(String),
}

impl MediaType {
    /// The media type for a token; only the exact lower-case names are the known types, so
    /// that any token re-serialises as written.
    pub fn from_token(s: &str) -> MediaType {
        match s {
            "audio" => MediaType::Audio,
            "video" => MediaType::Video,
            "text" => MediaType::Text,
            "application" => MediaType::Application,
            "message" => MediaType::Message,
            "image" => MediaType::Image,
            _ => MediaType::Other(s.to_string()),
        }
    }

    /// The token.
    pub fn as_str(&self) -> &str {
        match self {
            MediaType::Audio => "audio",
            MediaType::Video => "video",
            MediaType::Text => "text",
            MediaType::Application => "application",
            MediaType::Message => "message",
            MediaType::Image => "image",
            MediaType::Other(s) => s,
        }
    }
}

impl fmt::Display for MediaType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One media description: an `m=` line and the lines up to the next one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MediaDescription {
    /// The media type.
    pub media: MediaType,
    /// The transport port; 0 for a rejected or disabled stream (RFC 3264 §5.1, §6).
    pub port: u16,
    /// The number of ports of an `m=<media> <port>/<count>` line.
    pub port_count: Option<u16>,
    /// The transport protocol as written: `RTP/AVP`, `UDP/TLS/RTP/SAVPF`, `TCP/MSRP`,
    /// `TCP/TLS/MSRP`, ...
    pub proto: String,
    /// The media formats: RTP payload types, or `*` for MSRP.
    pub formats: Vec<String>,
    /// `i=`: the media title.
    pub information: Option<String>,
    /// `c=` lines of this media.
    pub connections: Vec<Connection>,
    /// `b=` lines of this media.
    pub bandwidths: Vec<Bandwidth>,
    /// `k=`: the obsolete encryption key line, as written.
    pub encryption_key: Option<String>,
    /// `a=` lines in wire order.
    pub attributes: Vec<Attribute>,
}

impl MediaDescription {
    /// A media description without attributes.
    pub fn new(
        media: MediaType,
        port: u16,
        proto: impl Into<String>,
        formats: Vec<String>,
    ) -> MediaDescription {
        MediaDescription {
            media,
            port,
            port_count: None,
            proto: proto.into(),
            formats,
            information: None,
            connections: Vec::new(),
            bandwidths: Vec::new(),
            encryption_key: None,
            attributes: Vec::new(),
        }
    }

    /// Appends the `m=` line and the lines of its section to `out`, with CRLF line ends.
    pub fn encode(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(b"m=");
        out.extend_from_slice(self.media.as_str().as_bytes());
        out.push(b' ');
        push_u64(out, u64::from(self.port));
        if let Some(n) = self.port_count {
            out.push(b'/');
            push_u64(out, u64::from(n));
        }
        out.push(b' ');
        out.extend_from_slice(self.proto.as_bytes());
        for f in &self.formats {
            out.push(b' ');
            out.extend_from_slice(f.as_bytes());
        }
        out.extend_from_slice(b"\r\n");
        if let Some(i) = &self.information {
            push_text_line(out, b'i', i);
        }
        for c in &self.connections {
            c.encode(out);
        }
        for b in &self.bandwidths {
            b.encode(out);
        }
        if let Some(k) = &self.encryption_key {
            push_text_line(out, b'k', k);
        }
        for a in &self.attributes {
            a.encode(out);
        }
    }

    /// Whether the stream is rejected or disabled: port 0 (RFC 3264 §5.1, §6).
    pub fn is_rejected(&self) -> bool {
        self.port == 0
    }

    /// Whether the transport carries RTP (`RTP/AVP`, `RTP/SAVPF`, `UDP/TLS/RTP/SAVPF`, ...).
    pub fn is_rtp(&self) -> bool {
        self.proto.split('/').any(|p| p.eq_ignore_ascii_case("RTP"))
    }

    /// Whether the transport is MSRP (`TCP/MSRP`, `TCP/TLS/MSRP`, RFC 4975 §8.1).
    pub fn is_msrp(&self) -> bool {
        self.proto
            .rsplit('/')
            .next()
            .is_some_and(|p| p.eq_ignore_ascii_case("MSRP"))
    }

    /// The first attribute called `name` (ASCII case-insensitive).
    pub fn attribute(&self, name: &str) -> Option<&Attribute> {
        find(&self.attributes, name)
    }

    /// The trimmed value of the first attribute called `name`.
    pub fn attribute_value(&self, name: &str) -> Option<&str> {
        find_value(&self.attributes, name)
    }

    /// Attributes called `name`, in order.
    pub fn attributes_named<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a Attribute> {
        self.attributes
            .iter()
            .filter(move |a| a.name.eq_ignore_ascii_case(name))
    }

    /// Whether an attribute called `name` is present.
    pub fn has_attribute(&self, name: &str) -> bool {
        self.attribute(name).is_some()
    }

    /// Replaces the first attribute called `attribute.name` in place, or appends it.
    pub fn set_attribute(&mut self, attribute: Attribute) {
        match self
            .attributes
            .iter_mut()
            .find(|a| a.name.eq_ignore_ascii_case(&attribute.name))
        {
            Some(slot) => *slot = attribute,
            None => self.attributes.push(attribute),
        }
    }

    /// Removes every attribute called `name`.
    pub fn remove_attributes(&mut self, name: &str) {
        self.attributes
            .retain(|a| !a.name.eq_ignore_ascii_case(name));
    }

    /// The formats that are RTP payload types (0 to 127), in `m=` line order.
    pub fn payload_types(&self) -> impl Iterator<Item = u8> + '_ {
        self.formats
            .iter()
            .filter_map(|f| super::attributes::parse_num::<u8>(f))
            .filter(|pt| *pt <= 127)
    }

    /// All well-formed `a=rtpmap` attributes, in order.
    pub fn rtpmaps(&self) -> impl Iterator<Item = RtpMap> + '_ {
        self.attributes_named("rtpmap")
            .filter_map(|a| RtpMap::parse(a.value()))
    }

    /// The mapping of `payload_type`: its `a=rtpmap`, else the RFC 3551 static assignment.
    pub fn rtpmap(&self, payload_type: u8) -> Option<RtpMap> {
        self.rtpmaps()
            .find(|m| m.payload_type == payload_type)
            .or_else(|| RtpMap::static_payload(payload_type))
    }

    /// All well-formed `a=fmtp` attributes, in order.
    pub fn fmtps(&self) -> impl Iterator<Item = Fmtp> + '_ {
        self.attributes_named("fmtp")
            .filter_map(|a| Fmtp::parse(a.value()))
    }

    /// The format parameters of `format` (a payload type such as `"111"`).
    pub fn fmtp(&self, format: &str) -> Option<Fmtp> {
        self.fmtps().find(|f| f.format == format)
    }

    /// `a=ptime`, the packet time in milliseconds (RFC 8866 §6.4). Fractions are cut.
    pub fn ptime(&self) -> Option<u32> {
        let v = self.attribute_value("ptime")?;
        super::attributes::parse_num(v.split('.').next().unwrap_or(v))
    }

    /// `a=maxptime` in milliseconds (RFC 8866 §6.5).
    pub fn maxptime(&self) -> Option<u32> {
        super::attributes::parse_num(self.attribute_value("maxptime")?)
    }

    /// The media-level direction attribute, if any. See
    /// [`SessionDescription::direction_of`](super::SessionDescription::direction_of) for
    /// the direction that applies, session default and old-style hold included.
    pub fn direction(&self) -> Option<Direction> {
        Direction::find(&self.attributes)
    }

    /// Replaces the direction attribute (in place when there is one) by `direction`.
    pub fn set_direction(&mut self, direction: Direction) {
        let mut replaced = false;
        self.attributes.retain_mut(|a| {
            if a.value.is_some() || Direction::from_name(&a.name).is_none() {
                return true;
            }
            if replaced {
                return false;
            }
            replaced = true;
            *a = direction.to_attribute();
            true
        });
        if !replaced {
            self.attributes.push(direction.to_attribute());
        }
    }

    /// `a=rtcp` (RFC 3605).
    pub fn rtcp(&self) -> Option<Rtcp> {
        Rtcp::parse(self.attribute_value("rtcp")?)
    }

    /// `a=rtcp-mux`: RTP and RTCP share the port (RFC 5761 §5.1.1).
    pub fn rtcp_mux(&self) -> bool {
        self.has_attribute("rtcp-mux")
    }

    /// Well-formed `a=crypto` attributes in order (RFC 4568).
    pub fn crypto(&self) -> impl Iterator<Item = Crypto> + '_ {
        self.attributes_named("crypto")
            .filter_map(|a| Crypto::parse(a.value()))
    }

    /// `a=ice-ufrag` of this media (RFC 8839 §5.4).
    pub fn ice_ufrag(&self) -> Option<&str> {
        self.attribute_value("ice-ufrag")
    }

    /// `a=ice-pwd` of this media (RFC 8839 §5.4).
    pub fn ice_pwd(&self) -> Option<&str> {
        self.attribute_value("ice-pwd")
    }

    /// Well-formed `a=candidate` attributes in order (RFC 8839 §5.1).
    pub fn candidates(&self) -> impl Iterator<Item = Candidate> + '_ {
        self.attributes_named("candidate")
            .filter_map(|a| Candidate::parse(a.value()))
    }

    /// `a=end-of-candidates` (RFC 8840 §8.2).
    pub fn end_of_candidates(&self) -> bool {
        self.has_attribute("end-of-candidates")
    }

    /// `a=fingerprint` of this media (RFC 8122 §5).
    pub fn fingerprint(&self) -> Option<Fingerprint> {
        Fingerprint::parse(self.attribute_value("fingerprint")?)
    }

    /// `a=setup` of this media (RFC 4145 §4, RFC 6135 §4.2 for MSRP).
    pub fn setup(&self) -> Option<Setup> {
        Setup::parse(self.attribute_value("setup")?)
    }

    /// `a=mid`, the media identification (RFC 5888 §4).
    pub fn mid(&self) -> Option<&str> {
        self.attribute_value("mid")
    }

    /// `a=path`: the MSRP URIs of the path to the author, first hop first (RFC 4975 §8.2).
    pub fn msrp_path(&self) -> Vec<&str> {
        self.attribute_value("path")
            .map(|v| v.split_ascii_whitespace().collect())
            .unwrap_or_default()
    }

    /// `a=accept-types`: the MIME types accepted in MSRP SEND (RFC 4975 §8.6).
    pub fn accept_types(&self) -> Vec<&str> {
        self.attribute_value("accept-types")
            .map(|v| v.split_ascii_whitespace().collect())
            .unwrap_or_default()
    }

    /// `a=accept-wrapped-types`: the types accepted inside CPIM (RFC 4975 §8.6).
    pub fn accept_wrapped_types(&self) -> Vec<&str> {
        self.attribute_value("accept-wrapped-types")
            .map(|v| v.split_ascii_whitespace().collect())
            .unwrap_or_default()
    }

    /// `a=max-size` of MSRP, in bytes (RFC 4975 §8.6).
    pub fn msrp_max_size(&self) -> Option<u64> {
        super::attributes::parse_digits(self.attribute_value("max-size")?)
    }

    /// `a=file-selector`, the raw value (RFC 5547 §5).
    pub fn file_selector(&self) -> Option<&str> {
        self.attribute_value("file-selector")
    }

    /// `a=file-transfer-id` (RFC 5547 §5).
    pub fn file_transfer_id(&self) -> Option<&str> {
        self.attribute_value("file-transfer-id")
    }

    /// `a=file-disposition`, `render` or `attachment` (RFC 5547 §5).
    pub fn file_disposition(&self) -> Option<&str> {
        self.attribute_value("file-disposition")
    }

    /// Turns the stream into a rejection (RFC 3264 §6): port 0, the formats kept, no
    /// attributes, connections or bandwidths.
    pub fn reject(&mut self) {
        self.port = 0;
        self.port_count = None;
        self.connections.clear();
        self.bandwidths.clear();
        self.attributes.clear();
        if self.formats.is_empty() {
            // RFC 8866 §5.14 wants a format even on a rejected stream.
            self.formats
                .push(if self.is_rtp() { "0" } else { "*" }.to_string());
        }
    }
}
