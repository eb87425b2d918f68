//! `a=candidate` lines of ICE (RFC 8839 §5.1). The other ICE attributes (`ice-ufrag`,
//! `ice-pwd`, `ice-lite`, `end-of-candidates`, RFC 8839 §5.3–§5.4, RFC 8840 §8.2) are plain
//! values read by [`MediaDescription`](super::MediaDescription) and
//! [`SessionDescription`](super::SessionDescription).

use super::attributes::{is_token, parse_num, Attribute};
use core::fmt;

/// The candidate type (RFC 8445 §5.1.1).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum CandidateType {
    /// `host`
    Host,
    /// `srflx`, server reflexive.
    ServerReflexive,
    /// `prflx`, peer reflexive.
    PeerReflexive,
    /// `relay`
    Relayed,
    /// Any other token, as written.
    Other(String),
}

impl CandidateType {
    /// The type from its token; the known ones are matched case-insensitively.
    pub fn from_token(s: &str) -> CandidateType {
        match s.to_ascii_lowercase().as_str() {
            "host" => CandidateType::Host,
            "srflx" => CandidateType::ServerReflexive,
            "prflx" => CandidateType::PeerReflexive,
            "relay" => CandidateType::Relayed,
            _ => CandidateType::Other(s.to_string()),
        }
    }

    /// The token.
    pub fn as_str(&self) -> &str {
        match self {
            CandidateType::Host => "host",
            CandidateType::ServerReflexive => "srflx",
            CandidateType::PeerReflexive => "prflx",
            CandidateType::Relayed => "relay",
            CandidateType::Other(s) => s,
        }
    }
}

/// One `a=candidate` value (RFC 8839 §5.1):
/// `<foundation> <component> <transport> <priority> <address> <port> typ <type>
/// [raddr <address>] [rport <port>] *(<name> <value>)`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Candidate {
    /// The foundation, 1 to 32 ice-chars.
    pub foundation: String,
    /// The component: 1 for RTP, 2 for RTCP.
    pub component: u16,
    /// The transport as written, `udp` or `tcp` (case varies between agents).
    pub transport: String,
    /// The priority.
    pub priority: u32,
    /// The address: IPv4, IPv6 or an mDNS `.local` name (RFC 8839 §5.1).
    pub address: String,
    /// The port.
    pub port: u16,
    /// The candidate type.
    pub kind: CandidateType,
    /// `raddr`, the related address.
    pub related_address: Option<String>,
    /// `rport`, the related port.
    pub related_port: Option<u16>,
    /// Extension attributes in order (`generation 0`, `tcptype active`, `ufrag ...`).
    pub extensions: Vec<(String, String)>,
}

fn is_ice_chars(s: &str) -> bool {
    !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'+' || b == b'/')
}

impl Candidate {
    /// Parses the value of an `a=candidate` attribute (without the `candidate:` prefix).
    pub fn parse(value: &str) -> Option<Candidate> {
        let mut w = value.split_ascii_whitespace();
        let foundation = w.next().filter(|f| f.len() <= 32 && is_ice_chars(f))?;
        let component = w.next().filter(|c| c.len() <= 3).and_then(parse_num)?;
        let transport = w.next().filter(|t| is_token(t))?;
        let priority = w.next().and_then(parse_num)?;
        let address = w.next()?;
        let port = w.next().and_then(parse_num)?;
        if !w.next()?.eq_ignore_ascii_case("typ") {
            return None;
        }
        let kind = CandidateType::from_token(w.next().filter(|t| is_token(t))?);
        let mut candidate = Candidate {
            foundation: foundation.to_string(),
            component,
            transport: transport.to_string(),
            priority,
            address: address.to_string(),
            port,
            kind,
            related_address: None,
            related_port: None,
            extensions: Vec::new(),
        };
        // raddr and rport come before the extensions, each at most once.
        let mut seen_extension = false;
        while let Some(name) = w.next() {
            let value = w.next()?;
            match name {
                "raddr" if !seen_extension && candidate.related_address.is_none() => {
                    candidate.related_address = Some(value.to_string());
                }
                "rport" if !seen_extension && candidate.related_port.is_none() => {
                    candidate.related_port = Some(parse_num(value)?);
                }
                _ if is_token(name) => {
                    seen_extension = true;
                    candidate
                        .extensions
                        .push((name.to_string(), value.to_string()));
                }
                _ => return None,
            }
        }
        Some(candidate)
    }

    /// The value of extension `name`, `generation` and so on.
    pub fn extension(&self, name: &str) -> Option<&str> {
        self.extensions
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The attribute `a=candidate:...`.
    pub fn to_attribute(&self) -> Attribute {
        Attribute::new("candidate", self.to_string())
    }
}

impl fmt::Display for Candidate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} {} {} {} {} {} typ {}",
            self.foundation,
            self.component,
            self.transport,
            self.priority,
            self.address,
            self.port,
            self.kind.as_str()
        )?;
        if let Some(a) = &self.related_address {
            write!(f, " raddr {a}")?;
        }
        if let Some(p) = self.related_port {
            write!(f, " rport {p}")?;
        }
        for (k, v) in &self.extensions {
            write!(f, " {k} {v}")?;
        }
        Ok(())
    }
}
