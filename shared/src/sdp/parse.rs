//! The line parser for session descriptions (RFC 8866 §5, grammar in §9).
//!
//! The parser is deliberately liberal where real agents differ from the grammar: bare LF line
//! ends, blank lines, session-level lines out of the §5 order, an empty `s=` (the RFC 3264
//! examples) and a rejected `m=` line without formats. It is strict where a lenient reading
//! could change the meaning: unknown type letters (§5 says to ignore the whole description),
//! repeated single lines, and malformed structured lines.

use super::attributes::{is_token, parse_digits, Attribute};
use super::{
    Bandwidth, Connection, MediaDescription, MediaType, Origin, SdpError, SessionDescription,
    Timing, MAX_ATTRIBUTES, MAX_LINE_LEN, MAX_MEDIA, MAX_SDP_LEN,
};

/// Parses a whole description.
pub(super) fn parse(input: &[u8]) -> Result<SessionDescription, SdpError> {
    if input.len() > MAX_SDP_LEN {
        return Err(SdpError::TooLarge);
    }
    let mut parser = Parser::new();
    for (i, raw) in input.split(|&b| b == b'\n').enumerate() {
        let line = i + 1;
        let raw = raw.strip_suffix(b"\r").unwrap_or(raw);
        if raw.is_empty() {
            continue;
        }
        if raw.len() > MAX_LINE_LEN {
            return Err(SdpError::ValueTooLong { line });
        }
        let text = core::str::from_utf8(raw).map_err(|_| SdpError::NotText { line })?;
        let (letter, value) = match text.as_bytes() {
            [l, b'=', ..] if l.is_ascii_alphabetic() => (*l, text.get(2..).unwrap_or_default()),
            _ => return Err(SdpError::BadLine { line }),
        };
        parser.line(line, letter, value)?;
    }
    parser.finish()
}

/// A bit per type letter, to find repeated single lines.
fn bit(letter: u8) -> u32 {
    1 << (letter.wrapping_sub(b'a') & 31)
}

struct Parser {
    version_seen: bool,
    sd: SessionDescription,
    /// Single session-level lines already seen.
    session_seen: u32,
    /// Single lines already seen in the current media section.
    media_seen: u32,
}

impl Parser {
    fn new() -> Parser {
        // The placeholders are replaced by the o= and s= lines; `finish` checks they were.
        let mut sd = SessionDescription::new(
            Origin::new(String::new(), String::new(), 0, String::new()),
            String::new(),
        );
        sd.timings.clear();
        Parser {
            version_seen: false,
            sd,
            session_seen: 0,
            media_seen: 0,
        }
    }

    fn finish(self) -> Result<SessionDescription, SdpError> {
        if !self.version_seen {
            return Err(SdpError::Empty);
        }
        if self.session_seen & bit(b'o') == 0 {
            return Err(SdpError::Missing { letter: 'o' });
        }
        if self.session_seen & bit(b's') == 0 {
            return Err(SdpError::Missing { letter: 's' });
        }
        Ok(self.sd)
    }

    /// Marks a single line as seen in the current section; an error if it was already.
    fn once(&mut self, line: usize, letter: u8) -> Result<(), SdpError> {
        let seen = if self.sd.media.is_empty() {
            &mut self.session_seen
        } else {
            &mut self.media_seen
        };
        if *seen & bit(letter) != 0 {
            return Err(SdpError::DuplicateLine {
                line,
                letter: char::from(letter),
            });
        }
        *seen |= bit(letter);
        Ok(())
    }

    fn line(&mut self, line: usize, letter: u8, value: &str) -> Result<(), SdpError> {
        if !self.version_seen {
            if letter != b'v' {
                return Err(SdpError::MissingVersion { line });
            }
            if value.trim() != "0" {
                return Err(SdpError::UnsupportedVersion { line });
            }
            self.version_seen = true;
            return Ok(());
        }
        let misplaced = SdpError::MisplacedLine {
            line,
            letter: char::from(letter),
        };
        let in_media = !self.sd.media.is_empty();
        match letter {
            b'm' => self.media(line, value),
            b'a' => {
                let attrs = match self.sd.media.last_mut() {
                    Some(m) => &mut m.attributes,
                    None => &mut self.sd.attributes,
                };
                if attrs.len() == MAX_ATTRIBUTES {
                    return Err(SdpError::TooManyAttributes { line });
                }
                attrs.push(parse_attribute(value).ok_or(SdpError::BadAttribute { line })?);
                Ok(())
            }
            b'c' => {
                let c = parse_connection(value).ok_or(SdpError::BadConnection { line })?;
                match self.sd.media.last_mut() {
                    // RFC 8866 §5.7 allows several c= lines in a media section (multicast).
                    Some(m) => m.connections.push(c),
                    None => {
                        self.once(line, letter)?;
                        self.sd.connection = Some(c);
                    }
                }
                Ok(())
            }
            b'b' => {
                let b = parse_bandwidth(value).ok_or(SdpError::BadBandwidth { line })?;
                match self.sd.media.last_mut() {
                    Some(m) => m.bandwidths.push(b),
                    None => self.sd.bandwidths.push(b),
                }
                Ok(())
            }
            b'i' | b'k' => {
                self.once(line, letter)?;
                let slot = match (self.sd.media.last_mut(), letter) {
                    (Some(m), b'i') => &mut m.information,
                    (Some(m), _) => &mut m.encryption_key,
                    (None, b'i') => &mut self.sd.information,
                    (None, _) => &mut self.sd.encryption_key,
                };
                *slot = Some(value.to_string());
                Ok(())
            }
            b'v' => Err(misplaced),
            b'o' | b's' | b'u' | b'e' | b'p' | b't' | b'r' | b'z' if in_media => Err(misplaced),
            b'o' => {
                self.once(line, letter)?;
                self.sd.origin = parse_origin(value).ok_or(SdpError::BadOrigin { line })?;
                Ok(())
            }
            b's' => {
                self.once(line, letter)?;
                self.sd.session_name = value.to_string();
                Ok(())
            }
            b'u' => {
                self.once(line, letter)?;
                self.sd.uri = Some(value.to_string());
                Ok(())
            }
            b'z' => {
                self.once(line, letter)?;
                self.sd.time_zones = Some(value.to_string());
                Ok(())
            }
            b'e' => {
                self.sd.emails.push(value.to_string());
                Ok(())
            }
            b'p' => {
                self.sd.phones.push(value.to_string());
                Ok(())
            }
            b't' => {
                let t = parse_timing(value).ok_or(SdpError::BadTiming { line })?;
                self.sd.timings.push(t);
                Ok(())
            }
            b'r' => {
                let t = self.sd.timings.last_mut().ok_or(misplaced)?;
                t.repeats.push(value.to_string());
                Ok(())
            }
            _ => Err(SdpError::UnknownLineType {
                line,
                letter: char::from(letter),
            }),
        }
    }

    fn media(&mut self, line: usize, value: &str) -> Result<(), SdpError> {
        if self.sd.media.len() == MAX_MEDIA {
            return Err(SdpError::TooManyMedia { line });
        }
        let m = parse_media(line, value)?;
        self.sd.media.push(m);
        self.media_seen = 0;
        Ok(())
    }
}

/// `a=<name>` or `a=<name>:<value>`; the value is kept exactly as written.
pub(super) fn parse_attribute(value: &str) -> Option<Attribute> {
    let (name, value) = match value.split_once(':') {
        Some((n, v)) => (n, Some(v.to_string())),
        None => (value, None),
    };
    if !is_token(name) {
        return None;
    }
    Some(Attribute {
        name: name.to_string(),
        value,
    })
}

fn parse_origin(value: &str) -> Option<Origin> {
    let mut w = value.split_ascii_whitespace();
    let (Some(user), Some(id), Some(version), Some(net), Some(addr_type), Some(address), None) = (
        w.next(),
        w.next(),
        w.next(),
        w.next(),
        w.next(),
        w.next(),
        w.next(),
    ) else {
        return None;
    };
    if !id.bytes().all(|b| b.is_ascii_digit()) || id.is_empty() {
        return None;
    }
    Some(Origin {
        username: user.to_string(),
        session_id: id.to_string(),
        session_version: parse_digits(version)?,
        net_type: net.to_string(),
        addr_type: addr_type.to_string(),
        address: address.to_string(),
    })
}

fn parse_connection(value: &str) -> Option<Connection> {
    let mut w = value.split_ascii_whitespace();
    let (Some(net), Some(addr_type), Some(address), None) =
        (w.next(), w.next(), w.next(), w.next())
    else {
        return None;
    };
    Some(Connection {
        net_type: net.to_string(),
        addr_type: addr_type.to_string(),
        address: address.to_string(),
    })
}

fn parse_bandwidth(value: &str) -> Option<Bandwidth> {
    let (bw_type, v) = value.split_once(':')?;
    if !is_token(bw_type) {
        return None;
    }
    Some(Bandwidth {
        bw_type: bw_type.to_string(),
        value: parse_digits(v.trim())?,
    })
}

fn parse_timing(value: &str) -> Option<Timing> {
    let mut w = value.split_ascii_whitespace();
    let (Some(start), Some(stop), None) = (w.next(), w.next(), w.next()) else {
        return None;
    };
    Some(Timing {
        start: parse_digits(start)?,
        stop: parse_digits(stop)?,
        repeats: Vec::new(),
    })
}

/// `m=<media> <port>[/<count>] <proto> <fmt> ...` (RFC 8866 §5.14).
fn parse_media(line: usize, value: &str) -> Result<MediaDescription, SdpError> {
    let bad = SdpError::BadMedia { line };
    let mut w = value.split_ascii_whitespace();
    let (Some(media), Some(port), Some(proto)) = (w.next(), w.next(), w.next()) else {
        return Err(bad);
    };
    if !is_token(media) || !proto.split('/').all(is_token) {
        return Err(bad);
    }
    let bad_port = SdpError::BadPort { line };
    let (port, port_count) = match port.split_once('/') {
        Some((p, n)) => (p, Some(n)),
        None => (port, None),
    };
    let port = parse_digits(port)
        .and_then(|p| u16::try_from(p).ok())
        .ok_or(bad_port.clone())?;
    let port_count = match port_count {
        Some(n) => Some(
            parse_digits(n)
                .and_then(|n| u16::try_from(n).ok())
                .ok_or(bad_port)?,
        ),
        None => None,
    };
    let formats: Vec<String> = w.map(str::to_string).collect();
    // RFC 8866 requires a format, but some agents drop them from a rejected stream.
    if formats.is_empty() && port != 0 {
        return Err(bad);
    }
    Ok(MediaDescription {
        media: MediaType::from_token(media),
        port,
        port_count,
        proto: proto.to_string(),
        formats,
        information: None,
        connections: Vec::new(),
        bandwidths: Vec::new(),
        encryption_key: None,
        attributes: Vec::new(),
    })
}
