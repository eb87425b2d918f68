//! The `message/cpim` format (RFC 3862): message headers (§3, §4), the character escape
//! mechanism (§2.3), namespaces and `Require` (§3.4, §3.5), and the encapsulated MIME part
//! (§2.4).
//!
//! The input of [`CpimMessage::parse`] is the body of a `message/cpim` part, starting at the
//! first message header: the `Content-Type: message/cpim` line itself belongs to the carrying
//! protocol (an MSRP SEND or a SIP MESSAGE). Line ends may be CRLF or bare LF; output always
//! uses CRLF. Limits guard against hostile peers: each header section is at most
//! [`MAX_HEAD_LEN`] bytes and [`MAX_HEADERS`] fields.
//!
//! ```
//! use sipsimple::cpim::{Address, CpimHeader, CpimMessage, MimePart};
//! let msg = CpimMessage::new(MimePart::new("text/plain", "hi"))
//!     .with_header(CpimHeader::From(Address::new("im:alice@example.com").with_name("Alice")))
//!     .with_header(CpimHeader::To(Address::new("im:bob@example.com")));
//! let mut wire = Vec::new();
//! msg.encode(&mut wire);
//! assert!(wire.starts_with(b"From: \"Alice\" <im:alice@example.com>\r\n"));
//! assert_eq!(CpimMessage::parse(&wire), Ok(msg));
//! ```

mod datetime;
mod parse;

pub use datetime::{DateTime, DateTimeError};

use core::fmt;

/// The media type of a CPIM message, for the carrying protocol's Content-Type.
pub const CONTENT_TYPE: &str = "message/cpim";
/// The namespace of unprefixed headers unless an `NS` header without prefix says otherwise
/// (RFC 3862 §3.4).
pub const DEFAULT_NAMESPACE: &str = "urn:ietf:params:cpim-headers:";
/// Largest accepted header section (message headers, or the MIME headers of the content).
pub const MAX_HEAD_LEN: usize = 16 * 1024;
/// Largest accepted number of fields in one header section.
pub const MAX_HEADERS: usize = 128;

/// A parsed or built `message/cpim` body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CpimMessage {
    /// The message headers in wire order.
    pub headers: Vec<CpimHeader>,
    /// The encapsulated MIME part.
    pub content: MimePart,
}

/// One message header (RFC 3862 §4). The header names of the typed variants are matched
/// without regard to case; extension parameters on them are ignored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CpimHeader {
    /// `From` (§4.1): the sender. At most one per message.
    From(Address),
    /// `To` (§4.2): a recipient; may repeat.
    To(Address),
    /// `cc` (§4.3): a courtesy recipient; may repeat.
    Cc(Address),
    /// `DateTime` (§4.4): when the message was sent. At most one per message.
    DateTime(DateTime),
    /// `Subject` (§4.5), one per language.
    Subject(Subject),
    /// `NS` (§4.6): a namespace declaration for header name prefixes.
    Ns(Namespace),
    /// `Require` (§4.7): headers the recipient must understand.
    Require(Vec<HeaderName>),
    /// Any other header, prefixed (`MyFeatures.VitalMessageOption`) or not. Its name must not
    /// be one of the typed headers above.
    Other(Header),
}

/// A header value in name-addr form: `"Alice" <sip:alice@example.com>` or `<im:bob@b.org>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Address {
    /// The Formal-name, unescaped; `None` when absent.
    pub display_name: Option<String>,
    /// The URI between the angle brackets.
    pub uri: String,
}

/// A `Subject` header value with its optional language (`Subject:;lang=fr ...`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Subject {
    /// The `lang` parameter (RFC 3862 §3.3).
    pub lang: Option<String>,
    /// The subject text, unescaped.
    pub text: String,
}

/// An `NS` declaration: `NS: MyFeatures <mid:MessageFeatures@id.foo.com>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Namespace {
    /// The prefix, or `None` to redefine the namespace of unprefixed headers.
    pub prefix: Option<String>,
    /// The namespace URI.
    pub uri: String,
}

/// A header name, optionally prefixed: `MyFeatures.VitalMessageOption`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct HeaderName {
    /// The namespace prefix before the dot.
    pub prefix: Option<String>,
    /// The name proper.
    pub name: String,
}

/// A header without a typed meaning in this crate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Header {
    /// The (possibly prefixed) name.
    pub name: HeaderName,
    /// `;name=value` parameters in order (`lang` included), values unquoted and unescaped.
    pub params: Vec<(String, String)>,
    /// The value, unescaped, without surrounding white space.
    pub value: String,
}

/// The encapsulated MIME entity: its headers (RFC 2045) and its body bytes.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct MimePart {
    /// `(name, value)` MIME headers in wire order, values unfolded and trimmed.
    pub headers: Vec<(String, String)>,
    /// Everything after the blank line that ends the MIME headers.
    pub body: Vec<u8>,
}

/// Which header section an error is in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Section {
    /// The CPIM message headers.
    Message,
    /// The MIME headers of the encapsulated content.
    Content,
}

/// Why a CPIM message was refused; `line` is 1-based from the start of the input.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum CpimError {
    /// The input ends before the blank line closing a header section.
    NoEndOfHeaders(Section),
    /// A header section is larger than [`MAX_HEAD_LEN`].
    HeadTooLarge(Section),
    /// A header section has more than [`MAX_HEADERS`] fields.
    TooManyHeaders(Section),
    /// A header line is not UTF-8.
    NotText {
        /// The 1-based line number.
        line: usize,
    },
    /// A header line without a valid `name:`, with control characters, or a continuation
    /// line where none is allowed.
    BadHeader {
        /// The 1-based line number.
        line: usize,
    },
    /// A malformed `;name=value` parameter.
    BadParam {
        /// The 1-based line number.
        line: usize,
    },
    /// A `From`, `To` or `cc` value that is not `[Formal-name] <URI>`.
    BadAddress {
        /// The 1-based line number.
        line: usize,
    },
    /// A `DateTime` value that is not RFC 3339.
    BadDateTime {
        /// The 1-based line number.
        line: usize,
        /// What is wrong with it.
        error: DateTimeError,
    },
    /// An `NS` value that is not `[prefix] <URI>`.
    BadNamespace {
        /// The 1-based line number.
        line: usize,
    },
    /// A `Require` value that is not a list of header names.
    BadRequire {
        /// The 1-based line number.
        line: usize,
    },
    /// A header that may appear only once appears again.
    DuplicateHeader {
        /// The header name.
        name: &'static str,
        /// The 1-based line of the second occurrence.
        line: usize,
    },
}

impl fmt::Display for CpimError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let section = |s: &Section| match s {
            Section::Message => "message",
            Section::Content => "content",
        };
        match self {
            CpimError::NoEndOfHeaders(s) => {
                write!(f, "no blank line after the {} headers", section(s))
            }
            CpimError::HeadTooLarge(s) => {
                write!(f, "{} headers over {MAX_HEAD_LEN} bytes", section(s))
            }
            CpimError::TooManyHeaders(s) => {
                write!(f, "more than {MAX_HEADERS} {} headers", section(s))
            }
            CpimError::NotText { line } => write!(f, "line {line} is not UTF-8"),
            CpimError::BadHeader { line } => write!(f, "malformed header on line {line}"),
            CpimError::BadParam { line } => write!(f, "malformed parameter on line {line}"),
            CpimError::BadAddress { line } => write!(f, "malformed address on line {line}"),
            CpimError::BadDateTime { line, error } => write!(f, "line {line}: {error}"),
            CpimError::BadNamespace { line } => write!(f, "malformed NS on line {line}"),
            CpimError::BadRequire { line } => write!(f, "malformed Require on line {line}"),
            CpimError::DuplicateHeader { name, line } => {
                write!(f, "second {name} header on line {line}")
            }
        }
    }
}

impl std::error::Error for CpimError {}

impl Address {
    /// An address without a display name.
    pub fn new(uri: impl Into<String>) -> Address {
        Address {
            display_name: None,
            uri: uri.into(),
        }
    }

    /// The same address with a display name.
    pub fn with_name(self, name: impl Into<String>) -> Address {
        Address {
            display_name: Some(name.into()),
            ..self
        }
    }
}

impl HeaderName {
    /// An unprefixed name.
    pub fn new(name: impl Into<String>) -> HeaderName {
        HeaderName {
            prefix: None,
            name: name.into(),
        }
    }

    /// A name in the namespace declared with `prefix`.
    pub fn prefixed(prefix: impl Into<String>, name: impl Into<String>) -> HeaderName {
        HeaderName {
            prefix: Some(prefix.into()),
            name: name.into(),
        }
    }

    /// Parses `Name` or `Prefix.Name` (RFC 3862 §3.1).
    pub fn parse(s: &str) -> Option<HeaderName> {
        let (prefix, name) = match s.split_once('.') {
            Some((p, n)) => (Some(p), n),
            None => (None, s),
        };
        if !parse::is_name(name) || prefix.is_some_and(|p| !parse::is_name(p)) {
            return None;
        }
        Some(HeaderName {
            prefix: prefix.map(str::to_string),
            name: name.to_string(),
        })
    }
}

impl fmt::Display for HeaderName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut s = String::new();
        parse::write_header_name(&mut s, self);
        f.write_str(&s)
    }
}

impl MimePart {
    /// A part with a `Content-Type` header and a body.
    pub fn new(content_type: &str, body: impl Into<Vec<u8>>) -> MimePart {
        MimePart {
            headers: vec![("Content-Type".to_string(), content_type.to_string())],
            body: body.into(),
        }
    }

    /// The same part with one more MIME header.
    pub fn with_header(mut self, name: &str, value: &str) -> MimePart {
        self.headers.push((name.to_string(), value.to_string()));
        self
    }

    /// The first value of MIME header `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The Content-Type value, parameters included.
    pub fn content_type(&self) -> Option<&str> {
        self.header("Content-Type")
    }
}

impl CpimMessage {
    /// A message with no headers around `content`.
    pub fn new(content: MimePart) -> CpimMessage {
        CpimMessage {
            headers: Vec::new(),
            content,
        }
    }

    /// The same message with one more header at the end.
    pub fn with_header(mut self, header: CpimHeader) -> CpimMessage {
        self.headers.push(header);
        self
    }

    /// Parses the body of a `message/cpim` part.
    pub fn parse(input: &[u8]) -> Result<CpimMessage, CpimError> {
        parse::parse(input)
    }

    /// Writes the message. Values that would break the grammar are repaired so the output
    /// always frames correctly: free text is escaped (§2.3), URIs are percent-encoded where
    /// they hold white space or brackets, characters not allowed in names become `_`, and
    /// control characters in MIME header values become spaces.
    pub fn encode(&self, out: &mut Vec<u8>) {
        let mut head = String::new();
        for h in &self.headers {
            parse::write_header(&mut head, h);
        }
        head.push_str("\r\n");
        for (name, value) in &self.content.headers {
            parse::write_mime_header(&mut head, name, value);
        }
        head.push_str("\r\n");
        out.extend_from_slice(head.as_bytes());
        out.extend_from_slice(&self.content.body);
    }

    /// The encoded message as a new buffer.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::new();
        self.encode(&mut out);
        out
    }

    /// The sender.
    pub fn from(&self) -> Option<&Address> {
        self.headers.iter().find_map(|h| match h {
            CpimHeader::From(a) => Some(a),
            _ => None,
        })
    }

    /// The recipients, in order.
    pub fn to(&self) -> impl Iterator<Item = &Address> {
        self.headers.iter().filter_map(|h| match h {
            CpimHeader::To(a) => Some(a),
            _ => None,
        })
    }

    /// The courtesy recipients, in order.
    pub fn cc(&self) -> impl Iterator<Item = &Address> {
        self.headers.iter().filter_map(|h| match h {
            CpimHeader::Cc(a) => Some(a),
            _ => None,
        })
    }

    /// When the message was sent.
    pub fn date_time(&self) -> Option<&DateTime> {
        self.headers.iter().find_map(|h| match h {
            CpimHeader::DateTime(d) => Some(d),
            _ => None,
        })
    }

    /// Every Subject, in order.
    pub fn subjects(&self) -> impl Iterator<Item = &Subject> {
        self.headers.iter().filter_map(|h| match h {
            CpimHeader::Subject(s) => Some(s),
            _ => None,
        })
    }

    /// The subject in language `lang` (compared without regard to case), or the one without
    /// a language for `None`.
    pub fn subject(&self, lang: Option<&str>) -> Option<&str> {
        self.subjects()
            .find(|s| match (&s.lang, lang) {
                (Some(a), Some(b)) => a.eq_ignore_ascii_case(b),
                (None, None) => true,
                _ => false,
            })
            .map(|s| s.text.as_str())
    }

    /// The namespace declarations, in order.
    pub fn namespaces(&self) -> impl Iterator<Item = &Namespace> {
        self.headers.iter().filter_map(|h| match h {
            CpimHeader::Ns(n) => Some(n),
            _ => None,
        })
    }

    /// The header names listed in `Require` headers.
    pub fn required(&self) -> impl Iterator<Item = &HeaderName> {
        self.headers.iter().flat_map(|h| match h {
            CpimHeader::Require(names) => names.as_slice(),
            _ => &[],
        })
    }

    /// The namespace URI that `prefix` stands for at header position `index`: the last `NS`
    /// declaration of that prefix before it (RFC 3862 §3.4), or [`DEFAULT_NAMESPACE`] for
    /// unprefixed names without such a declaration.
    pub fn namespace_at(&self, index: usize, prefix: Option<&str>) -> Option<&str> {
        let declared = self.headers.iter().take(index).rev().find_map(|h| match h {
            CpimHeader::Ns(ns) if ns.prefix.as_deref() == prefix => Some(ns.uri.as_str()),
            _ => None,
        });
        match (declared, prefix) {
            (Some(uri), _) => Some(uri),
            (None, None) => Some(DEFAULT_NAMESPACE),
            (None, Some(_)) => None,
        }
    }

    /// The values of extension header `name` in namespace `namespace_uri`, whatever prefix
    /// the sender chose for it: `extension("mid:MessageFeatures@id.foo.com",
    /// "VitalMessageOption")` finds `MyFeatures.VitalMessageOption`.
    pub fn extension<'a>(
        &'a self,
        namespace_uri: &'a str,
        name: &'a str,
    ) -> impl Iterator<Item = &'a str> + 'a {
        self.headers
            .iter()
            .enumerate()
            .filter_map(move |(i, h)| match h {
                CpimHeader::Other(h)
                    if h.name.name == name
                        && self.namespace_at(i, h.name.prefix.as_deref())
                            == Some(namespace_uri) =>
                {
                    Some(h.value.as_str())
                }
                _ => None,
            })
    }

    /// The required header names this recipient does not understand (RFC 3862 §3.5): a
    /// recipient must refuse the message when the list is not empty. `understood` holds
    /// `(namespace URI, name)` pairs; the headers of [`DEFAULT_NAMESPACE`] this module
    /// types are always understood.
    pub fn unsupported_requirements(&self, understood: &[(&str, &str)]) -> Vec<&HeaderName> {
        let mut out = Vec::new();
        for (i, h) in self.headers.iter().enumerate() {
            let CpimHeader::Require(names) = h else {
                continue;
            };
            for n in names {
                let ns = self.namespace_at(i, n.prefix.as_deref());
                let builtin = ns == Some(DEFAULT_NAMESPACE) && parse::standard_name(&n.name);
                let known = understood
                    .iter()
                    .any(|(u, name)| Some(*u) == ns && *name == n.name);
                if !builtin && !known {
                    out.push(n);
                }
            }
        }
        out
    }
}
