//! DNS messages as multicast DNS uses them (RFC 1035 §4.1, §3.3; RFC 6762 §18 for the
//! mDNS meaning of the header bits, the unicast-response bit of questions and the
//! cache-flush bit of records; RFC 2782 SRV; RFC 6763 §6 TXT strings).
//!
//! [`Message::parse`] reads a whole datagram with name compression (RFC 1035 §4.1.4),
//! following only pointers that go backwards so that a hostile packet cannot loop, and
//! checking every length against what is left before slicing. [`Message::encode`] writes
//! names uncompressed: the packets of a few SIP neighbours stay small.

use core::fmt;
use std::net::{Ipv4Addr, Ipv6Addr};

/// Record type A (RFC 1035 §3.2.2).
pub const TYPE_A: u16 = 1;
/// Record type PTR.
pub const TYPE_PTR: u16 = 12;
/// Record type TXT.
pub const TYPE_TXT: u16 = 16;
/// Record type AAAA (RFC 3596).
pub const TYPE_AAAA: u16 = 28;
/// Record type SRV (RFC 2782).
pub const TYPE_SRV: u16 = 33;
/// Query type ANY (`*`).
pub const TYPE_ANY: u16 = 255;
/// Class IN.
pub const CLASS_IN: u16 = 1;
/// The top bit of a question's class: a unicast response is asked for (RFC 6762 §5.4); of
/// a record's class: cache flush (RFC 6762 §10.2).
pub const CLASS_TOP_BIT: u16 = 0x8000;
/// The QR bit: the message is a response.
pub const FLAG_RESPONSE: u16 = 0x8000;
/// The AA bit, set in every mDNS response (RFC 6762 §18.4).
pub const FLAG_AUTHORITATIVE: u16 = 0x0400;

/// The longest name on the wire (RFC 1035 §2.3.4), and of a label.
const MAX_NAME: usize = 255;
const MAX_LABEL: usize = 63;
/// More sections entries than this in one datagram is not a neighbour talking.
const MAX_ENTRIES: usize = 256;

/// Why a datagram is not a DNS message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Error {
    /// The message ends before what its counts and lengths announce, at this offset.
    Truncated(usize),
    /// A compression pointer that does not point backwards, at this offset.
    BadPointer(usize),
    /// A label type other than a length or a pointer (RFC 6891's extended labels), at this
    /// offset.
    BadLabel(usize),
    /// A name longer than 255 bytes.
    NameTooLong,
    /// More entries than a neighbour sends.
    TooManyEntries,
    /// A record's data does not fit its type (an A record of 3 bytes), at this offset.
    BadRdata(usize),
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Truncated(at) => write!(f, "message truncated at byte {at}"),
            Error::BadPointer(at) => write!(f, "bad compression pointer at byte {at}"),
            Error::BadLabel(at) => write!(f, "unknown label type at byte {at}"),
            Error::NameTooLong => f.write_str("a name longer than 255 bytes"),
            Error::TooManyEntries => f.write_str("too many entries"),
            Error::BadRdata(at) => write!(f, "record data does not fit its type at byte {at}"),
        }
    }
}

impl std::error::Error for Error {}

/// A domain name as its labels, each raw bytes (a service instance label may hold dots,
/// colons or UTF-8, RFC 6763 §4.3). Compared without regard to ASCII case.
#[derive(Debug, Clone, Default, Eq)]
pub struct Name(pub Vec<Vec<u8>>);

impl Name {
    /// A name from dotted text (no escapes): `_sipuri._udp.local`.
    pub fn parse_dotted(s: &str) -> Name {
        Name(
            s.split('.')
                .filter(|l| !l.is_empty())
                .map(|l| l.as_bytes().to_vec())
                .collect(),
        )
    }

    /// `label` followed by the labels of `parent` (a service instance under its type).
    pub fn child(label: &[u8], parent: &Name) -> Name {
        let mut labels = vec![label.get(..MAX_LABEL).unwrap_or(label).to_vec()];
        labels.extend(parent.0.iter().cloned());
        Name(labels)
    }

    /// The first label, as text (lossy).
    pub fn first_label(&self) -> String {
        self.0
            .first()
            .map(|l| String::from_utf8_lossy(l).into_owned())
            .unwrap_or_default()
    }

    /// Whether `self` is `suffix` or ends with it.
    pub fn ends_with(&self, suffix: &Name) -> bool {
        self.0.len() >= suffix.0.len()
            && self
                .0
                .iter()
                .rev()
                .zip(suffix.0.iter().rev())
                .all(|(a, b)| a.eq_ignore_ascii_case(b))
    }

    fn encode(&self, out: &mut Vec<u8>) {
        for label in &self.0 {
            let label = label.get(..MAX_LABEL).unwrap_or(label);
            // At most 63: fits the length byte.
            out.push(label.len() as u8);
            out.extend_from_slice(label);
        }
        out.push(0);
    }
}

impl PartialEq for Name {
    fn eq(&self, other: &Name) -> bool {
        self.0.len() == other.0.len() && self.ends_with(other)
    }
}

impl fmt::Display for Name {
    /// Dotted, with a dot inside a label written `\.` (RFC 6763 §4.3).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, label) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(".")?;
            }
            let text = String::from_utf8_lossy(label);
            f.write_str(&text.replace('\\', "\\\\").replace('.', "\\."))?;
        }
        f.write_str(".")
    }
}

/// A question (RFC 1035 §4.1.2).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Question {
    /// The name asked about.
    pub name: Name,
    /// The type asked for ([`TYPE_ANY`] for all).
    pub qtype: u16,
    /// Whether a unicast response is asked for (RFC 6762 §5.4).
    pub unicast_response: bool,
}

/// A record's data, for the types service discovery uses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Rdata {
    /// An IPv4 address.
    A(Ipv4Addr),
    /// An IPv6 address.
    Aaaa(Ipv6Addr),
    /// A pointer: a service type to an instance (RFC 6763 §4.1).
    Ptr(Name),
    /// Character strings; `key=value` pairs in service discovery (RFC 6763 §6).
    Txt(Vec<Vec<u8>>),
    /// Where an instance is served (RFC 2782).
    Srv {
        /// Lower first.
        priority: u16,
        /// Among equal priorities.
        weight: u16,
        /// The port.
        port: u16,
        /// The host.
        target: Name,
    },
    /// Any other type, kept as bytes.
    Other(u16, Vec<u8>),
}

impl Rdata {
    /// The record type.
    pub fn rtype(&self) -> u16 {
        match self {
            Rdata::A(_) => TYPE_A,
            Rdata::Aaaa(_) => TYPE_AAAA,
            Rdata::Ptr(_) => TYPE_PTR,
            Rdata::Txt(_) => TYPE_TXT,
            Rdata::Srv { .. } => TYPE_SRV,
            Rdata::Other(t, _) => *t,
        }
    }
}

/// A resource record (RFC 1035 §4.1.3), class IN.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    /// The owner name.
    pub name: Name,
    /// The cache-flush bit (RFC 6762 §10.2): the record replaces the others of its name and
    /// type.
    pub cache_flush: bool,
    /// Seconds to keep it; 0 says goodbye (RFC 6762 §10.1).
    pub ttl: u32,
    /// The data.
    pub data: Rdata,
}

/// A DNS message.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Message {
    /// The id; 0 in multicast DNS (RFC 6762 §18.1).
    pub id: u16,
    /// The flags word (QR, opcode, AA, ..., rcode).
    pub flags: u16,
    /// The questions.
    pub questions: Vec<Question>,
    /// The answers; in a query, the known answers (RFC 6762 §7.1).
    pub answers: Vec<Record>,
    /// The authority records (probe tie-breaking, RFC 6762 §8.2).
    pub authorities: Vec<Record>,
    /// The additional records.
    pub additionals: Vec<Record>,
}

impl Message {
    /// Whether the QR bit says response.
    pub fn is_response(&self) -> bool {
        self.flags & FLAG_RESPONSE != 0
    }

    /// Every record of the answer, authority and additional sections.
    pub fn records(&self) -> impl Iterator<Item = &Record> {
        self.answers
            .iter()
            .chain(&self.authorities)
            .chain(&self.additionals)
    }

    /// Parses a datagram.
    pub fn parse(buf: &[u8]) -> Result<Message, Error> {
        let mut r = Reader { buf, pos: 0 };
        let id = r.u16()?;
        let flags = r.u16()?;
        let counts = [r.u16()?, r.u16()?, r.u16()?, r.u16()?];
        if counts.iter().map(|c| usize::from(*c)).sum::<usize>() > MAX_ENTRIES {
            return Err(Error::TooManyEntries);
        }
        let mut msg = Message {
            id,
            flags,
            ..Message::default()
        };
        for _ in 0..counts[0] {
            let name = r.name()?;
            let qtype = r.u16()?;
            let class = r.u16()?;
            msg.questions.push(Question {
                name,
                qtype,
                unicast_response: class & CLASS_TOP_BIT != 0,
            });
        }
        for (section, count) in [&mut msg.answers, &mut msg.authorities, &mut msg.additionals]
            .into_iter()
            .zip(&counts[1..])
        {
            for _ in 0..*count {
                if let Some(record) = r.record()? {
                    section.push(record);
                }
            }
        }
        Ok(msg)
    }

    /// Writes the message.
    pub fn encode(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.id.to_be_bytes());
        out.extend_from_slice(&self.flags.to_be_bytes());
        for n in [
            self.questions.len(),
            self.answers.len(),
            self.authorities.len(),
            self.additionals.len(),
        ] {
            out.extend_from_slice(&u16::try_from(n).unwrap_or(u16::MAX).to_be_bytes());
        }
        for q in &self.questions {
            q.name.encode(out);
            out.extend_from_slice(&q.qtype.to_be_bytes());
            let class = CLASS_IN | if q.unicast_response { CLASS_TOP_BIT } else { 0 };
            out.extend_from_slice(&class.to_be_bytes());
        }
        for r in self.records() {
            encode_record(r, out);
        }
    }

    /// The encoded bytes.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(512);
        self.encode(&mut out);
        out
    }
}

fn encode_record(r: &Record, out: &mut Vec<u8>) {
    r.name.encode(out);
    out.extend_from_slice(&r.data.rtype().to_be_bytes());
    let class = CLASS_IN | if r.cache_flush { CLASS_TOP_BIT } else { 0 };
    out.extend_from_slice(&class.to_be_bytes());
    out.extend_from_slice(&r.ttl.to_be_bytes());
    let at = out.len();
    out.extend_from_slice(&[0, 0]);
    match &r.data {
        Rdata::A(a) => out.extend_from_slice(&a.octets()),
        Rdata::Aaaa(a) => out.extend_from_slice(&a.octets()),
        Rdata::Ptr(n) => n.encode(out),
        Rdata::Txt(strings) => {
            // RFC 6763 §6.1: an empty TXT record holds one empty string.
            if strings.is_empty() {
                out.push(0);
            }
            for s in strings {
                let s = s.get(..255).unwrap_or(s);
                out.push(s.len() as u8);
                out.extend_from_slice(s);
            }
        }
        Rdata::Srv {
            priority,
            weight,
            port,
            target,
        } => {
            out.extend_from_slice(&priority.to_be_bytes());
            out.extend_from_slice(&weight.to_be_bytes());
            out.extend_from_slice(&port.to_be_bytes());
            target.encode(out);
        }
        Rdata::Other(_, bytes) => out.extend_from_slice(bytes),
    }
    let len = u16::try_from(out.len() - at - 2).unwrap_or(u16::MAX);
    out[at..at + 2].copy_from_slice(&len.to_be_bytes());
}

/// A cursor over a datagram; every read checks what is left.
struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl Reader<'_> {
    fn take(&mut self, n: usize) -> Result<&[u8], Error> {
        let end = self.pos.checked_add(n).ok_or(Error::Truncated(self.pos))?;
        let s = self
            .buf
            .get(self.pos..end)
            .ok_or(Error::Truncated(self.pos))?;
        self.pos = end;
        Ok(s)
    }

    fn u8(&mut self) -> Result<u8, Error> {
        Ok(self.take(1)?[0])
    }

    fn u16(&mut self) -> Result<u16, Error> {
        let b = self.take(2)?;
        Ok(u16::from_be_bytes([b[0], b[1]]))
    }

    fn u32(&mut self) -> Result<u32, Error> {
        let b = self.take(4)?;
        Ok(u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    }

    /// A name at the cursor; the cursor moves past its first pointer or its end.
    fn name(&mut self) -> Result<Name, Error> {
        let (name, end) = read_name(self.buf, self.pos)?;
        self.pos = end;
        Ok(name)
    }

    /// A record, or `None` for a class other than IN.
    fn record(&mut self) -> Result<Option<Record>, Error> {
        let name = self.name()?;
        let rtype = self.u16()?;
        let class = self.u16()?;
        let ttl = self.u32()?;
        let len = usize::from(self.u16()?);
        let start = self.pos;
        let rdata = self.take(len)?;
        if class & !CLASS_TOP_BIT != CLASS_IN {
            return Ok(None);
        }
        let bad = Error::BadRdata(start);
        let data = match rtype {
            TYPE_A => Rdata::A(Ipv4Addr::from(<[u8; 4]>::try_from(rdata).map_err(|_| bad)?)),
            TYPE_AAAA => Rdata::Aaaa(Ipv6Addr::from(
                <[u8; 16]>::try_from(rdata).map_err(|_| bad)?,
            )),
            TYPE_PTR => {
                let (n, end) = read_name(self.buf, start)?;
                if end != self.pos {
                    return Err(bad);
                }
                Rdata::Ptr(n)
            }
            TYPE_SRV => {
                let mut r = Reader {
                    buf: self.buf.get(..self.pos).unwrap_or_default(),
                    pos: start,
                };
                let (priority, weight, port) = (r.u16()?, r.u16()?, r.u16()?);
                let (target, end) = read_name(self.buf, r.pos)?;
                if end != self.pos {
                    return Err(bad);
                }
                Rdata::Srv {
                    priority,
                    weight,
                    port,
                    target,
                }
            }
            TYPE_TXT => {
                let mut r = Reader { buf: rdata, pos: 0 };
                let mut strings = Vec::new();
                while r.pos < rdata.len() {
                    let n = usize::from(r.u8()?);
                    let s = r.take(n).map_err(|_| bad)?;
                    if !s.is_empty() {
                        strings.push(s.to_vec());
                    }
                }
                Rdata::Txt(strings)
            }
            other => Rdata::Other(other, rdata.to_vec()),
        };
        Ok(Some(Record {
            name,
            cache_flush: class & CLASS_TOP_BIT != 0,
            ttl,
            data,
        }))
    }
}

/// Reads the name at `pos`; returns it and the offset just past it in the original
/// position (past the first pointer, if any). Pointers must go strictly backwards, so the
/// walk ends.
fn read_name(buf: &[u8], mut pos: usize) -> Result<(Name, usize), Error> {
    let mut labels = Vec::new();
    let mut total = 0usize;
    let mut end = None;
    // The lowest offset a pointer may reach next: strictly before every place visited.
    let mut limit = pos;
    loop {
        let len = *buf.get(pos).ok_or(Error::Truncated(pos))?;
        match len & 0xC0 {
            0x00 => {
                let n = usize::from(len);
                if n == 0 {
                    return Ok((Name(labels), end.unwrap_or(pos + 1)));
                }
                let label = buf.get(pos + 1..pos + 1 + n).ok_or(Error::Truncated(pos))?;
                total += n + 1;
                if total > MAX_NAME {
                    return Err(Error::NameTooLong);
                }
                labels.push(label.to_vec());
                pos += 1 + n;
            }
            0xC0 => {
                let low = *buf.get(pos + 1).ok_or(Error::Truncated(pos))?;
                let target = usize::from(len & 0x3F) << 8 | usize::from(low);
                if target >= limit {
                    return Err(Error::BadPointer(pos));
                }
                end.get_or_insert(pos + 2);
                limit = target;
                pos = target;
            }
            _ => return Err(Error::BadLabel(pos)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Message {
        let service = Name::parse_dotted("_sipuri._udp.local");
        let instance = Name::child(b"sip:abc@127.0.0.2:5060", &service);
        let host = Name::parse_dotted("abc.local");
        Message {
            id: 0,
            flags: FLAG_RESPONSE | FLAG_AUTHORITATIVE,
            questions: vec![Question {
                name: service.clone(),
                qtype: TYPE_PTR,
                unicast_response: true,
            }],
            answers: vec![Record {
                name: service,
                cache_flush: false,
                ttl: 4500,
                data: Rdata::Ptr(instance.clone()),
            }],
            authorities: vec![],
            additionals: vec![
                Record {
                    name: instance.clone(),
                    cache_flush: true,
                    ttl: 120,
                    data: Rdata::Srv {
                        priority: 0,
                        weight: 0,
                        port: 5060,
                        target: host.clone(),
                    },
                },
                Record {
                    name: instance,
                    cache_flush: true,
                    ttl: 4500,
                    data: Rdata::Txt(vec![b"txtvers=1".to_vec(), b"contact=<sip:a@b>".to_vec()]),
                },
                Record {
                    name: host,
                    cache_flush: true,
                    ttl: 120,
                    data: Rdata::A(Ipv4Addr::new(127, 0, 0, 2)),
                },
            ],
        }
    }

    #[test]
    fn round_trips() {
        let m = sample();
        let bytes = m.to_bytes();
        assert_eq!(Message::parse(&bytes), Ok(m));
    }

    #[test]
    fn instance_labels_keep_their_dots() {
        let m = sample();
        let Rdata::Ptr(instance) = &m.answers[0].data else {
            panic!("a PTR")
        };
        assert_eq!(instance.first_label(), "sip:abc@127.0.0.2:5060");
        assert_eq!(
            instance.to_string(),
            "sip:abc@127\\.0\\.0\\.2:5060._sipuri._udp.local."
        );
        assert!(instance.ends_with(&Name::parse_dotted("_SIPURI._udp.local")));
    }

    #[test]
    fn follows_backward_pointers_and_refuses_loops() {
        // A question for `local` at 12, then a PTR whose name points back to it.
        let mut b = vec![0, 0, 0x84, 0, 0, 1, 0, 1, 0, 0, 0, 0];
        b.extend_from_slice(b"\x05local\x00\x00\x0c\x00\x01");
        b.extend_from_slice(b"\x04_sip\xc0\x0c\x00\x0c\x00\x01\x00\x00\x00\x10\x00\x02\xc0\x0c");
        let m = Message::parse(&b).expect("parses");
        assert_eq!(m.answers[0].name, Name::parse_dotted("_sip.local"));
        assert_eq!(m.answers[0].data, Rdata::Ptr(Name::parse_dotted("local")));
        // A pointer to itself.
        let mut b = vec![0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0];
        b.extend_from_slice(b"\xc0\x0c\x00\x0c\x00\x01");
        assert_eq!(Message::parse(&b), Err(Error::BadPointer(12)));
        // A forward pointer.
        let mut b = vec![0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0];
        b.extend_from_slice(b"\xc0\x20\x00\x0c\x00\x01");
        assert_eq!(Message::parse(&b), Err(Error::BadPointer(12)));
    }

    #[test]
    fn truncation_anywhere_is_an_error_not_a_panic() {
        let bytes = sample().to_bytes();
        for n in 0..bytes.len() {
            assert!(Message::parse(&bytes[..n]).is_err(), "prefix of {n} bytes");
        }
    }

    #[test]
    fn huge_counts_are_refused_before_allocating() {
        let b = [0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0];
        assert_eq!(Message::parse(&b), Err(Error::TooManyEntries));
    }
}
