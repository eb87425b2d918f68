//! Typed views of header fields (RFC 3261 §20, §25.1): Via, CSeq, the name-addr form of From,
//! To, Contact, Route, Record-Route and Path, and the scalar and list headers of
//! `typed`, each parsed on demand from the generic [`super::Header`].

mod access;
pub(crate) mod cseq;
mod date;
pub(crate) mod name_addr;
pub(crate) mod params;
pub(crate) mod typed;
pub(crate) mod via;

use super::uri::UriError;
use core::fmt;

pub use cseq::CSeq;
pub use date::SipDate;
pub use name_addr::NameAddr;
pub use typed::{
    parse_delta_seconds, parse_token_list, ContentType, Event, Reason, SubscriptionState,
};
pub use via::Via;

/// Why a typed header could not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum HeaderError {
    /// The header is missing.
    Missing(&'static str),
    /// The header is present but malformed.
    Malformed(&'static str),
    /// A URI inside the header is malformed.
    Uri(UriError),
    /// A number in the header is outside its legal range (RFC 4475 §3.1.2.4, §3.1.2.5).
    OutOfRange(&'static str),
}

impl fmt::Display for HeaderError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            HeaderError::Missing(h) => write!(f, "missing {h} header"),
            HeaderError::Malformed(h) => write!(f, "malformed {h} header"),
            HeaderError::Uri(e) => write!(f, "malformed URI: {e}"),
            HeaderError::OutOfRange(h) => write!(f, "{h} value out of range"),
        }
    }
}

impl std::error::Error for HeaderError {}

/// Writes `;name=value` parameters, quoting values that are not tokens or hosts.
pub(crate) fn write_params(
    f: &mut fmt::Formatter<'_>,
    params: &[(String, Option<String>)],
) -> fmt::Result {
    for (k, v) in params {
        match v {
            Some(v) if !v.is_empty() && v.bytes().all(params::is_gen_value_char) => {
                write!(f, ";{k}={v}")?
            }
            Some(v) => write!(f, ";{k}={}", super::quote(v))?,
            None => write!(f, ";{k}")?,
        }
    }
    Ok(())
}

/// The value of parameter `name` in `params` (case-insensitive); `Some(None)` for a flag.
pub(crate) fn find_param<'p>(
    params: &'p [(String, Option<String>)],
    name: &str,
) -> Option<Option<&'p str>> {
    params
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_deref())
}

/// The byte offset of the first `needle` outside a quoted string.
pub(crate) fn find_unquoted(s: &str, needle: char) -> Option<usize> {
    let (mut in_quotes, mut escaped) = (false, false);
    for (i, c) in s.char_indices() {
        if escaped {
            escaped = false;
        } else if c == '\\' && in_quotes {
            escaped = true;
        } else if c == '"' {
            in_quotes = !in_quotes;
        } else if c == needle && !in_quotes {
            return Some(i);
        }
    }
    None
}
