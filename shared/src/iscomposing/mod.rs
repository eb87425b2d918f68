//! Message composition indication (RFC 3994): the `application/im-iscomposing+xml` status
//! document (§4, §5), the composer's state machine (§3.2) and the receiver's (§3.3).
//!
//! ```
//! use sipsimple::iscomposing::{IsComposing, State};
//! let doc = IsComposing::parse(
//!     br#"<isComposing xmlns="urn:ietf:params:xml:ns:im-iscomposing"><state>active</state>
//!         <refresh>90</refresh></isComposing>"#,
//! ).expect("a valid document");
//! assert_eq!(doc.state, State::Active);
//! assert_eq!(doc.refresh.map(|r| r.get()), Some(90));
//! ```

mod composer;
mod xml;

pub use composer::{
    ComposingConfig, ComposingOutput, ComposingReceiver, ComposingState, RemoteComposing,
    DEFAULT_IDLE_TIMEOUT, DEFAULT_REFRESH, RECEIVER_DEFAULT_REFRESH,
};

use crate::cpim::{DateTime, DateTimeError};
use core::fmt;
use core::num::NonZeroU32;
use xml::{Element, Node};

/// The media type of the status document.
pub const CONTENT_TYPE: &str = "application/im-iscomposing+xml";
/// The XML namespace of the status document (RFC 3994 §9.1).
pub const NAMESPACE: &str = "urn:ietf:params:xml:ns:im-iscomposing";
/// Largest document accepted, in bytes; real ones are about 300.
pub const MAX_DOCUMENT_LEN: usize = 8 * 1024;

/// The composer's state (RFC 3994 §3.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum State {
    /// The user is composing a message.
    Active,
    /// The user is not composing.
    Idle,
}

/// An `isComposing` status document (RFC 3994 §4).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IsComposing {
    /// `<state>`.
    pub state: State,
    /// `<lastactive>`: when the composer was last active, sent with the idle state.
    pub last_active: Option<DateTime>,
    /// `<contenttype>`: what is being composed, a media type such as `text/plain` or a
    /// top-level type such as `audio` (absent means text). White space around the text of
    /// every element is not significant and is trimmed.
    pub content_type: Option<String>,
    /// `<refresh>`: seconds until the composer refreshes an active state.
    pub refresh: Option<NonZeroU32>,
}

/// Why a status document was refused. `line` is 1-based.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum IsComposingError {
    /// The document is longer than [`MAX_DOCUMENT_LEN`].
    TooLong,
    /// The document is not UTF-8.
    NotUtf8,
    /// A DOCTYPE declaration: refused outright, so no entity can be defined or expanded.
    DoctypeForbidden {
        /// The 1-based line.
        line: usize,
    },
    /// The XML is not well formed.
    Malformed {
        /// The 1-based line.
        line: usize,
        /// What is wrong.
        reason: &'static str,
    },
    /// An entity or character reference that is unknown or names a forbidden character.
    BadReference {
        /// The 1-based line.
        line: usize,
    },
    /// An undeclared or reserved namespace prefix, or a duplicate attribute.
    BadNamespace {
        /// The 1-based line.
        line: usize,
    },
    /// Elements nest too deeply.
    TooDeep,
    /// The root is not `isComposing` in [`NAMESPACE`].
    WrongRoot,
    /// An element of [`NAMESPACE`] that is not allowed where it is, or repeated.
    UnexpectedElement {
        /// The 1-based line.
        line: usize,
    },
    /// Text directly inside `isComposing`.
    UnexpectedText,
    /// There is no `<state>`.
    MissingState,
    /// `<state>` is neither `active` nor `idle`.
    UnknownState,
    /// `<lastactive>` is not an RFC 3339 date-time.
    BadLastActive(DateTimeError),
    /// `<refresh>` is not a positive number of seconds.
    BadRefresh,
}

impl fmt::Display for IsComposingError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use IsComposingError as E;
        match self {
            E::TooLong => write!(f, "document over {MAX_DOCUMENT_LEN} bytes"),
            E::NotUtf8 => f.write_str("document is not UTF-8"),
            E::DoctypeForbidden { line } => write!(f, "DOCTYPE on line {line} is not allowed"),
            E::Malformed { line, reason } => write!(f, "malformed XML on line {line}: {reason}"),
            E::BadReference { line } => write!(f, "bad entity reference on line {line}"),
            E::BadNamespace { line } => write!(f, "namespace error on line {line}"),
            E::TooDeep => f.write_str("elements nested too deeply"),
            E::WrongRoot => write!(f, "root is not {{{NAMESPACE}}}isComposing"),
            E::UnexpectedElement { line } => write!(f, "unexpected element on line {line}"),
            E::UnexpectedText => f.write_str("text directly inside isComposing"),
            E::MissingState => f.write_str("no state element"),
            E::UnknownState => f.write_str("state is neither active nor idle"),
            E::BadLastActive(e) => write!(f, "bad lastactive: {e}"),
            E::BadRefresh => f.write_str("refresh is not a positive number of seconds"),
        }
    }
}

impl std::error::Error for IsComposingError {}

impl IsComposing {
    /// An active-state document, with a refresh interval in seconds.
    pub fn active(content_type: Option<&str>, refresh: Option<NonZeroU32>) -> IsComposing {
        IsComposing {
            state: State::Active,
            last_active: None,
            content_type: content_type.map(str::to_string),
            refresh,
        }
    }

    /// An idle-state document, with the time of last activity.
    pub fn idle(content_type: Option<&str>, last_active: Option<DateTime>) -> IsComposing {
        IsComposing {
            state: State::Idle,
            last_active,
            content_type: content_type.map(str::to_string),
            refresh: None,
        }
    }

    /// Parses a status document. Elements of other namespaces are ignored, as the schema's
    /// `##other` wildcard allows (RFC 3994 §5); the four elements may come in any order.
    pub fn parse(input: &[u8]) -> Result<IsComposing, IsComposingError> {
        use IsComposingError as E;
        if input.len() > MAX_DOCUMENT_LEN {
            return Err(E::TooLong);
        }
        let root = xml::parse(input)?;
        if root.ns.as_deref() != Some(NAMESPACE) || root.name != "isComposing" {
            return Err(E::WrongRoot);
        }
        let (mut state, mut last_active, mut content_type, mut refresh) = (None, None, None, None);
        for child in &root.children {
            let el = match child {
                Node::Text(t) if t.chars().all(char::is_whitespace) => continue,
                Node::Text(_) => return Err(E::UnexpectedText),
                Node::Element(el) if el.ns.as_deref() != Some(NAMESPACE) => continue,
                Node::Element(el) => el,
            };
            let dup = E::UnexpectedElement { line: el.line };
            let text = leaf_text(el)?;
            match el.name.as_str() {
                "state" if state.is_none() => {
                    state = Some(match text.as_str() {
                        "active" => State::Active,
                        "idle" => State::Idle,
                        _ => return Err(E::UnknownState),
                    });
                }
                "lastactive" if last_active.is_none() => {
                    last_active = Some(DateTime::parse_rfc3339(&text).map_err(E::BadLastActive)?);
                }
                "contenttype" if content_type.is_none() => content_type = Some(text),
                "refresh" if refresh.is_none() => {
                    let valid = !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit());
                    let secs = valid.then(|| text.parse::<NonZeroU32>().ok()).flatten();
                    refresh = Some(secs.ok_or(E::BadRefresh)?);
                }
                _ => return Err(dup),
            }
        }
        Ok(IsComposing {
            state: state.ok_or(E::MissingState)?,
            last_active,
            content_type,
            refresh,
        })
    }

    /// Writes the document. Characters XML cannot carry are replaced by U+FFFD.
    pub fn encode(&self, out: &mut Vec<u8>) {
        let mut s = String::with_capacity(256);
        s.push_str("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<isComposing xmlns=\"");
        s.push_str(NAMESPACE);
        s.push_str("\">\n  <state>");
        s.push_str(match self.state {
            State::Active => "active",
            State::Idle => "idle",
        });
        s.push_str("</state>\n");
        if let Some(t) = &self.last_active {
            s.push_str("  <lastactive>");
            t.write_rfc3339(&mut s);
            s.push_str("</lastactive>\n");
        }
        if let Some(ct) = &self.content_type {
            s.push_str("  <contenttype>");
            escape_text(&mut s, ct);
            s.push_str("</contenttype>\n");
        }
        if let Some(r) = self.refresh {
            s.push_str("  <refresh>");
            s.push_str(&r.to_string());
            s.push_str("</refresh>\n");
        }
        s.push_str("</isComposing>\n");
        out.extend_from_slice(s.as_bytes());
    }

    /// The encoded document as a new buffer.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::new();
        self.encode(&mut out);
        out
    }
}

/// The trimmed text of an element that may hold nothing but text.
fn leaf_text(el: &Element) -> Result<String, IsComposingError> {
    let mut text = String::new();
    for n in &el.children {
        match n {
            Node::Text(t) => text.push_str(t),
            Node::Element(child) => {
                return Err(IsComposingError::UnexpectedElement { line: child.line })
            }
        }
    }
    Ok(text.trim_matches([' ', '\t', '\r', '\n']).to_string())
}

/// Escapes character data; CR is written as a reference so that it survives the reader's
/// line-end normalisation.
fn escape_text(out: &mut String, s: &str) {
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '\r' => out.push_str("&#13;"),
            '\0'..='\u{8}' | '\u{B}' | '\u{C}' | '\u{E}'..='\u{1F}' | '\u{FFFE}' | '\u{FFFF}' => {
                out.push('\u{FFFD}')
            }
            c => out.push(c),
        }
    }
}
