//! Why a session description was refused (RFC 8866 §5, §9), with the 1-based line number.

use super::{MAX_ATTRIBUTES, MAX_LINE_LEN, MAX_MEDIA, MAX_SDP_LEN};
use core::fmt;

/// Why [`SessionDescription::parse`](super::SessionDescription::parse) refused its input.
/// `line` is the 1-based number of the offending line, counting blank lines.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum SdpError {
    /// The input is larger than [`MAX_SDP_LEN`].
    TooLarge,
    /// Nothing but blank lines.
    Empty,
    /// A line longer than [`MAX_LINE_LEN`].
    ValueTooLong {
        /// The 1-based line number.
        line: usize,
    },
    /// A line that is not UTF-8 text.
    NotText {
        /// The 1-based line number.
        line: usize,
    },
    /// A line that is not `<letter>=<value>`.
    BadLine {
        /// The 1-based line number.
        line: usize,
    },
    /// A type letter RFC 8866 does not define; §5 says to ignore the whole description.
    UnknownLineType {
        /// The 1-based line number.
        line: usize,
        /// The letter.
        letter: char,
    },
    /// The first line is not `v=`.
    MissingVersion {
        /// The 1-based line number.
        line: usize,
    },
    /// `v=` with another value than 0.
    UnsupportedVersion {
        /// The 1-based line number.
        line: usize,
    },
    /// A required session-level line (`o=` or `s=`) is absent.
    Missing {
        /// The letter of the missing line.
        letter: char,
    },
    /// A line that may appear once per section appears again.
    DuplicateLine {
        /// The 1-based line number.
        line: usize,
        /// The letter.
        letter: char,
    },
    /// A session-only line inside a media section, `r=` before any `t=`, or a second `v=`.
    MisplacedLine {
        /// The 1-based line number.
        line: usize,
        /// The letter.
        letter: char,
    },
    /// A malformed `o=` line.
    BadOrigin {
        /// The 1-based line number.
        line: usize,
    },
    /// A malformed `c=` line.
    BadConnection {
        /// The 1-based line number.
        line: usize,
    },
    /// A malformed `b=` line.
    BadBandwidth {
        /// The 1-based line number.
        line: usize,
    },
    /// A malformed `t=` line.
    BadTiming {
        /// The 1-based line number.
        line: usize,
    },
    /// A malformed `m=` line (missing fields, bad media token, no format on an active stream).
    BadMedia {
        /// The 1-based line number.
        line: usize,
    },
    /// The port or port count of an `m=` line is not a number from 0 to 65535.
    BadPort {
        /// The 1-based line number.
        line: usize,
    },
    /// An `a=` line whose name is empty or not a token.
    BadAttribute {
        /// The 1-based line number.
        line: usize,
    },
    /// More than [`MAX_MEDIA`] media descriptions.
    TooManyMedia {
        /// The 1-based line number of the first `m=` line over the limit.
        line: usize,
    },
    /// More than [`MAX_ATTRIBUTES`] attributes in one section.
    TooManyAttributes {
        /// The 1-based line number of the first attribute over the limit.
        line: usize,
    },
}

impl fmt::Display for SdpError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SdpError::TooLarge => write!(f, "session description over {MAX_SDP_LEN} bytes"),
            SdpError::Empty => f.write_str("empty session description"),
            SdpError::ValueTooLong { line } => {
                write!(f, "line {line} is longer than {MAX_LINE_LEN} bytes")
            }
            SdpError::NotText { line } => write!(f, "line {line} is not UTF-8"),
            SdpError::BadLine { line } => write!(f, "line {line} is not <type>=<value>"),
            SdpError::UnknownLineType { line, letter } => {
                write!(f, "unknown line type '{letter}' on line {line}")
            }
            SdpError::MissingVersion { line } => write!(f, "line {line} should be v=0"),
            SdpError::UnsupportedVersion { line } => {
                write!(f, "unsupported protocol version on line {line}")
            }
            SdpError::Missing { letter } => write!(f, "no {letter}= line"),
            SdpError::DuplicateLine { line, letter } => {
                write!(
                    f,
                    "second {letter}= line in the same section on line {line}"
                )
            }
            SdpError::MisplacedLine { line, letter } => {
                write!(f, "{letter}= line not allowed here, line {line}")
            }
            SdpError::BadOrigin { line } => write!(f, "malformed o= line {line}"),
            SdpError::BadConnection { line } => write!(f, "malformed c= line {line}"),
            SdpError::BadBandwidth { line } => write!(f, "malformed b= line {line}"),
            SdpError::BadTiming { line } => write!(f, "malformed t= line {line}"),
            SdpError::BadMedia { line } => write!(f, "malformed m= line {line}"),
            SdpError::BadPort { line } => write!(f, "bad port in m= line {line}"),
            SdpError::BadAttribute { line } => write!(f, "malformed a= line {line}"),
            SdpError::TooManyMedia { line } => {
                write!(f, "more than {MAX_MEDIA} media descriptions at line {line}")
            }
            SdpError::TooManyAttributes { line } => {
                write!(
                    f,
                    "more than {MAX_ATTRIBUTES} attributes in a section at line {line}"
                )
            }
        }
    }
}

impl std::error::Error for SdpError {}
