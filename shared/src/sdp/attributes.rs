//! Attributes (RFC 8866 §5.13) and the typed views of the common ones: direction
//! (RFC 8866 §6.7), rtpmap (§6.6), fmtp (§6.15), rtcp (RFC 3605 §2.1), setup (RFC 4145 §4)
//! and fingerprint (RFC 8122 §5). The static payload types are those of RFC 3551 §6.
//!
//! Typed views parse an attribute's raw value on demand and return `None` when it is
//! malformed, so one bad attribute never costs the whole description.

use super::Connection;
use core::fmt;

/// One `a=` line as written: `a=name` (a flag) or `a=name:value`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attribute {
    /// The name, a token.
    pub name: String,
    /// Everything after the first `:`, exactly as written; `None` for a flag.
    pub value: Option<String>,
}

impl Attribute {
    /// `a=name:value`.
    pub fn new(name: impl Into<String>, value: impl Into<String>) -> Attribute {
        Attribute {
            name: name.into(),
            value: Some(value.into()),
        }
    }

    /// `a=name`, a property attribute.
    pub fn flag(name: impl Into<String>) -> Attribute {
        Attribute {
            name: name.into(),
            value: None,
        }
    }

    /// The value, empty for a flag.
    pub fn value(&self) -> &str {
        self.value.as_deref().unwrap_or_default()
    }

    /// Appends `a=name[:value]` and CRLF to `out`.
    pub fn encode(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(b"a=");
        out.extend_from_slice(self.name.as_bytes());
        if let Some(v) = &self.value {
            out.push(b':');
            out.extend_from_slice(v.as_bytes());
        }
        out.extend_from_slice(b"\r\n");
    }
}

/// The first attribute called `name` (ASCII case-insensitive).
pub(super) fn find<'a>(attrs: &'a [Attribute], name: &str) -> Option<&'a Attribute> {
    attrs.iter().find(|a| a.name.eq_ignore_ascii_case(name))
}

/// The value of the first attribute called `name`, trimmed.
pub(super) fn find_value<'a>(attrs: &'a [Attribute], name: &str) -> Option<&'a str> {
    find(attrs, name).map(|a| a.value().trim())
}

/// Whether `s` is a non-empty RFC 8866 token.
pub(crate) fn is_token(s: &str) -> bool {
    !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`{|}~".contains(&b))
}

/// A non-empty run of ASCII digits as a `u64` (`str::parse` would also take a `+` sign).
pub(crate) fn parse_digits(s: &str) -> Option<u64> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

/// [`parse_digits`] narrowed to a smaller integer.
pub(crate) fn parse_num<T: TryFrom<u64>>(s: &str) -> Option<T> {
    parse_digits(s).and_then(|n| T::try_from(n).ok())
}

/// Appends the decimal digits of `n` without going through `fmt`.
pub(crate) fn push_u64(out: &mut Vec<u8>, mut n: u64) {
    let mut buf = [0u8; 20];
    let mut i = buf.len();
    loop {
        i -= 1;
        if let Some(slot) = buf.get_mut(i) {
            *slot = b'0' + (n % 10) as u8;
        }
        n /= 10;
        if n == 0 || i == 0 {
            break;
        }
    }
    out.extend_from_slice(buf.get(i..).unwrap_or_default());
}

/// The media direction attributes (RFC 8866 §6.7, RFC 3264 §5.1), seen from the author of
/// the description that carries them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Direction {
    /// `a=sendrecv`, the default.
    SendRecv,
    /// `a=sendonly`.
    SendOnly,
    /// `a=recvonly`.
    RecvOnly,
    /// `a=inactive`.
    Inactive,
}

impl Direction {
    /// The direction named by an attribute name, if it is one.
    pub fn from_name(name: &str) -> Option<Direction> {
        [
            Direction::SendRecv,
            Direction::SendOnly,
            Direction::RecvOnly,
            Direction::Inactive,
        ]
        .into_iter()
        .find(|d| d.as_str().eq_ignore_ascii_case(name))
    }

    /// The attribute name.
    pub fn as_str(self) -> &'static str {
        match self {
            Direction::SendRecv => "sendrecv",
            Direction::SendOnly => "sendonly",
            Direction::RecvOnly => "recvonly",
            Direction::Inactive => "inactive",
        }
    }

    /// The direction from what the author sends and receives.
    pub fn from_flags(sends: bool, receives: bool) -> Direction {
        match (sends, receives) {
            (true, true) => Direction::SendRecv,
            (true, false) => Direction::SendOnly,
            (false, true) => Direction::RecvOnly,
            (false, false) => Direction::Inactive,
        }
    }

    /// Whether the author sends media.
    pub fn sends(self) -> bool {
        matches!(self, Direction::SendRecv | Direction::SendOnly)
    }

    /// Whether the author receives media.
    pub fn receives(self) -> bool {
        matches!(self, Direction::SendRecv | Direction::RecvOnly)
    }

    /// The same stream seen from the other end: `sendonly` becomes `recvonly` and back
    /// (RFC 3264 §6.1).
    pub fn reverse(self) -> Direction {
        Direction::from_flags(self.receives(), self.sends())
    }

    /// What both allow: sending only if both send, receiving only if both receive.
    pub fn intersect(self, other: Direction) -> Direction {
        Direction::from_flags(
            self.sends() && other.sends(),
            self.receives() && other.receives(),
        )
    }

    /// The attribute, `a=sendrecv` and so on.
    pub fn to_attribute(self) -> Attribute {
        Attribute::flag(self.as_str())
    }

    /// The first direction attribute among `attrs`.
    pub(super) fn find(attrs: &[Attribute]) -> Option<Direction> {
        attrs
            .iter()
            .filter(|a| a.value.is_none())
            .find_map(|a| Direction::from_name(&a.name))
    }
}

impl fmt::Display for Direction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// `a=rtpmap:<payload type> <encoding name>/<clock rate>[/<channels>]` (RFC 8866 §6.6).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RtpMap {
    /// The RTP payload type, 0 to 127.
    pub payload_type: u8,
    /// The encoding name as written (`PCMU`, `opus`, `telephone-event`, ...).
    pub encoding: String,
    /// The RTP clock rate in Hz.
    pub clock_rate: u32,
    /// The encoding parameters: the channel count for audio.
    pub channels: Option<u16>,
}

impl RtpMap {
    /// A mapping for `payload_type`.
    pub fn new(
        payload_type: u8,
        encoding: impl Into<String>,
        clock_rate: u32,
        channels: Option<u16>,
    ) -> RtpMap {
        RtpMap {
            payload_type,
            encoding: encoding.into(),
            clock_rate,
            channels,
        }
    }

    /// Parses the value of an `a=rtpmap` attribute.
    pub fn parse(value: &str) -> Option<RtpMap> {
        let (pt, rest) = value.trim().split_once(' ')?;
        let payload_type = parse_num::<u8>(pt).filter(|pt| *pt <= 127)?;
        let mut parts = rest.trim().split('/');
        let encoding = parts.next().filter(|e| is_token(e))?;
        let clock_rate = parse_num(parts.next()?)?;
        let channels = match parts.next() {
            Some(c) => Some(parse_num(c)?),
            None => None,
        };
        if parts.next().is_some() {
            return None;
        }
        Some(RtpMap::new(payload_type, encoding, clock_rate, channels))
    }

    /// The mapping RFC 3551 §6 assigns to a static payload type, for `m=` lines that list
    /// one without an `a=rtpmap`.
    pub fn static_payload(payload_type: u8) -> Option<RtpMap> {
        let (name, rate, channels) = match payload_type {
            0 => ("PCMU", 8000, Some(1)),
            3 => ("GSM", 8000, Some(1)),
            4 => ("G723", 8000, Some(1)),
            5 => ("DVI4", 8000, Some(1)),
            6 => ("DVI4", 16000, Some(1)),
            7 => ("LPC", 8000, Some(1)),
            8 => ("PCMA", 8000, Some(1)),
            9 => ("G722", 8000, Some(1)),
            10 => ("L16", 44100, Some(2)),
            11 => ("L16", 44100, Some(1)),
            12 => ("QCELP", 8000, Some(1)),
            13 => ("CN", 8000, Some(1)),
            14 => ("MPA", 90000, None),
            15 => ("G728", 8000, Some(1)),
            16 => ("DVI4", 11025, Some(1)),
            17 => ("DVI4", 22050, Some(1)),
            18 => ("G729", 8000, Some(1)),
            25 => ("CelB", 90000, None),
            26 => ("JPEG", 90000, None),
            28 => ("nv", 90000, None),
            31 => ("H261", 90000, None),
            32 => ("MPV", 90000, None),
            33 => ("MP2T", 90000, None),
            34 => ("H263", 90000, None),
            _ => return None,
        };
        Some(RtpMap::new(payload_type, name, rate, channels))
    }

    /// The channel count, 1 when the mapping does not say.
    pub fn channel_count(&self) -> u16 {
        self.channels.unwrap_or(1)
    }

    /// Whether this is the RFC 4733 event payload. `telephone-events` is accepted too: the
    /// RFC 3264 §10.1 example spells it so.
    pub fn is_telephone_event(&self) -> bool {
        self.encoding.eq_ignore_ascii_case("telephone-event")
            || self.encoding.eq_ignore_ascii_case("telephone-events")
    }

    /// Whether both name the same codec: encoding name (case-insensitive), clock rate and
    /// channel count; payload types may differ (RFC 3264 §6.1).
    pub fn same_codec(&self, other: &RtpMap) -> bool {
        let event = self.is_telephone_event() && other.is_telephone_event();
        (event || self.encoding.eq_ignore_ascii_case(&other.encoding))
            && self.clock_rate == other.clock_rate
            && self.channel_count() == other.channel_count()
    }

    /// The attribute `a=rtpmap:...`.
    pub fn to_attribute(&self) -> Attribute {
        Attribute::new("rtpmap", self.to_string())
    }
}

impl fmt::Display for RtpMap {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} {}/{}",
            self.payload_type, self.encoding, self.clock_rate
        )?;
        if let Some(c) = self.channels {
            write!(f, "/{c}")?;
        }
        Ok(())
    }
}

/// `a=fmtp:<format> <parameters>` (RFC 8866 §6.15).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fmtp {
    /// The format (payload type) the parameters apply to.
    pub format: String,
    /// The format-specific parameters as written, `minptime=10;useinbandfec=1`.
    pub params: String,
}

impl Fmtp {
    /// Parses the value of an `a=fmtp` attribute.
    pub fn parse(value: &str) -> Option<Fmtp> {
        let value = value.trim_start();
        let (format, params) = value.split_once([' ', '\t']).unwrap_or((value, ""));
        if format.is_empty() {
            return None;
        }
        Some(Fmtp {
            format: format.to_string(),
            params: params.trim().to_string(),
        })
    }

    /// The format as a payload type.
    pub fn payload_type(&self) -> Option<u8> {
        parse_num(&self.format)
    }

    /// The `;`-separated parameters as `(name, value)`, the value `None` for a bare word
    /// (`0-16` of telephone-event).
    pub fn parameters(&self) -> impl Iterator<Item = (&str, Option<&str>)> {
        self.params
            .split(';')
            .map(str::trim)
            .filter(|p| !p.is_empty())
            .map(|p| match p.split_once('=') {
                Some((k, v)) => (k.trim(), Some(v.trim())),
                None => (p, None),
            })
    }

    /// The value of parameter `name` (ASCII case-insensitive).
    pub fn parameter(&self, name: &str) -> Option<&str> {
        self.parameters()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .and_then(|(_, v)| v)
    }

    /// The attribute `a=fmtp:...`.
    pub fn to_attribute(&self) -> Attribute {
        Attribute::new("fmtp", format!("{} {}", self.format, self.params))
    }
}

/// `a=rtcp:<port> [<nettype> <addrtype> <address>]` (RFC 3605 §2.1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rtcp {
    /// The RTCP port.
    pub port: u16,
    /// The RTCP address when it differs from the media's.
    pub connection: Option<Connection>,
}

impl Rtcp {
    /// Parses the value of an `a=rtcp` attribute.
    pub fn parse(value: &str) -> Option<Rtcp> {
        let mut w = value.split_ascii_whitespace();
        let port = parse_num(w.next()?)?;
        let connection = match (w.next(), w.next(), w.next(), w.next()) {
            (None, ..) => None,
            (Some(net), Some(addr_type), Some(address), None) => Some(Connection {
                net_type: net.to_string(),
                addr_type: addr_type.to_string(),
                address: address.to_string(),
            }),
            _ => return None,
        };
        Some(Rtcp { port, connection })
    }
}

/// `a=setup` (RFC 4145 §4): which end opens the connection, for TCP media, MSRP (RFC 6135)
/// and DTLS-SRTP (RFC 5763).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Setup {
    /// `active`: this end connects.
    Active,
    /// `passive`: this end accepts.
    Passive,
    /// `actpass`: either, the answerer chooses (offers only).
    ActPass,
    /// `holdconn`: no connection for now.
    HoldConn,
}

impl Setup {
    /// Parses the value of an `a=setup` attribute.
    pub fn parse(value: &str) -> Option<Setup> {
        match value.trim().to_ascii_lowercase().as_str() {
            "active" => Some(Setup::Active),
            "passive" => Some(Setup::Passive),
            "actpass" => Some(Setup::ActPass),
            "holdconn" => Some(Setup::HoldConn),
            _ => None,
        }
    }

    /// The attribute value.
    pub fn as_str(self) -> &'static str {
        match self {
            Setup::Active => "active",
            Setup::Passive => "passive",
            Setup::ActPass => "actpass",
            Setup::HoldConn => "holdconn",
        }
    }

    /// The role an answerer takes for an offered role (RFC 4145 §4.1): it connects unless
    /// the offerer said it would.
    pub fn answer_to(offered: Setup) -> Setup {
        match offered {
            Setup::Active => Setup::Passive,
            Setup::Passive | Setup::ActPass => Setup::Active,
            Setup::HoldConn => Setup::HoldConn,
        }
    }

    /// The attribute `a=setup:...`.
    pub fn to_attribute(self) -> Attribute {
        Attribute::new("setup", self.as_str())
    }
}

/// `a=fingerprint:<hash function> <value>` (RFC 8122 §5).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fingerprint {
    /// The hash function, `sha-256` and so on, as written.
    pub hash_function: String,
    /// The colon-separated upper-case hex of the certificate's hash.
    pub value: String,
}

impl Fingerprint {
    /// Parses the value of an `a=fingerprint` attribute.
    pub fn parse(value: &str) -> Option<Fingerprint> {
        let mut w = value.split_ascii_whitespace();
        let (Some(hash), Some(fp), None) = (w.next(), w.next(), w.next()) else {
            return None;
        };
        let hex_pairs = fp
            .split(':')
            .all(|p| p.len() == 2 && p.bytes().all(|b| b.is_ascii_hexdigit()));
        if !is_token(hash) || !hex_pairs {
            return None;
        }
        Some(Fingerprint {
            hash_function: hash.to_string(),
            value: fp.to_string(),
        })
    }

    /// The attribute `a=fingerprint:...`.
    pub fn to_attribute(&self) -> Attribute {
        Attribute::new(
            "fingerprint",
            format!("{} {}", self.hash_function, self.value),
        )
    }
}
