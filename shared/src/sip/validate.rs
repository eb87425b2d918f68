//! Message validation: the header rules a UA or proxy checks before acting on a request or
//! response (RFC 3261 §8.1.1, §8.2.2, §16.3, §20, §25.1), on top of the syntax layer of
//! [`Message::parse`]. The RFC 4475 §3.1.2, §3.2 and §3.3 messages are its test cases.

use super::header::name_addr::{check_strict, param_problem};
use super::header::params;
use super::header::typed::media_type_parts;
use super::header::{cseq, via};
use super::header::{parse_delta_seconds, HeaderError, SipDate};
use super::message::expand_compact;
use super::message::{Message, ParseError, StartLine};
use super::raw::MessageRef;
use super::uri::{is_hostname, parse_ipv6_reference, parse_port, UriError};
use super::{is_token, is_token_char, split_list_raw};
use core::fmt;

/// What is wrong with a header value.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Problem {
    /// The value does not match the header's grammar.
    Syntax,
    /// A number is outside its legal range (RFC 4475 §3.1.2.4 scalar02, §3.1.2.5 scalarlg).
    OutOfRange,
    /// An empty element in a comma-separated list.
    EmptyElement,
    /// An empty parameter: `;;` or a trailing `;` (RFC 4475 §3.1.2.1 badinv01).
    EmptyParameter,
    /// A quoted string is not closed (RFC 4475 §3.1.2.6 quotbal).
    UnterminatedQuote,
    /// A display name that is neither a quoted string nor tokens (RFC 4475 §3.1.2.15 baddn).
    DisplayName,
    /// Whitespace inside `<...>` (RFC 4475 §3.1.2.14 badaspec).
    SpaceInAngleBrackets,
    /// A URI with `?` or `,` written without `<>` (RFC 3261 §20, RFC 4475 §3.1.2.13 regbadct).
    UnbracketedUri,
    /// A name-addr was required (Route, Record-Route, Path) but an addr-spec was written.
    NotNameAddr,
    /// A URI inside the value is malformed.
    Uri(UriError),
    /// A Date not in GMT (RFC 3261 §20.17, RFC 4475 §3.1.2.12 baddate).
    NotGmt,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Problem::Syntax => f.write_str("syntax error"),
            Problem::OutOfRange => f.write_str("value out of range"),
            Problem::EmptyElement => f.write_str("empty list element"),
            Problem::EmptyParameter => f.write_str("empty parameter"),
            Problem::UnterminatedQuote => f.write_str("unterminated quoted string"),
            Problem::DisplayName => f.write_str("display name must be quoted"),
            Problem::SpaceInAngleBrackets => f.write_str("whitespace inside <>"),
            Problem::UnbracketedUri => f.write_str("URI with ? or , must be inside <>"),
            Problem::NotNameAddr => f.write_str("URI must be inside <>"),
            Problem::Uri(e) => write!(f, "{e}"),
            Problem::NotGmt => f.write_str("date not in GMT"),
        }
    }
}

/// Why a parsed message breaks RFC 3261's header rules. Lines are those of the input for
/// [`Message::parse_strict`], and those of [`Message::to_bytes`] for [`Message::validate`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ValidationError {
    /// A mandatory header is missing (RFC 3261 §8.1.1; RFC 4475 §3.3.1 insuf).
    Missing {
        /// The header's full name.
        header: &'static str,
    },
    /// A header that may appear once appears again (RFC 4475 §3.3.8 multi01).
    Repeated {
        /// The header's full name.
        header: &'static str,
        /// The 1-based line of the repeat.
        line: usize,
    },
    /// A header's value is malformed or out of range.
    Invalid {
        /// The header's full name.
        header: &'static str,
        /// The 1-based line of the field.
        line: usize,
        /// What is wrong.
        problem: Problem,
    },
    /// The CSeq method differs from the request method (RFC 3261 §8.1.1.5; RFC 4475
    /// §3.1.2.17 mismatch01, §3.1.2.18 mismatch02).
    CSeqMethodMismatch {
        /// The 1-based line of the CSeq field.
        line: usize,
    },
}

impl fmt::Display for ValidationError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ValidationError::Missing { header } => write!(f, "missing {header} header"),
            ValidationError::Repeated { header, line } => {
                write!(f, "{header} repeated on line {line}")
            }
            ValidationError::Invalid {
                header,
                line,
                problem,
            } => write!(f, "{header} on line {line}: {problem}"),
            ValidationError::CSeqMethodMismatch { line } => {
                write!(
                    f,
                    "CSeq method on line {line} differs from the request method"
                )
            }
        }
    }
}

impl std::error::Error for ValidationError {}

/// Why [`Message::parse_strict`] refused a message.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum StrictError {
    /// The bytes are not a SIP message.
    Parse(ParseError),
    /// The message breaks a header rule.
    Invalid(ValidationError),
}

impl fmt::Display for StrictError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StrictError::Parse(e) => e.fmt(f),
            StrictError::Invalid(e) => e.fmt(f),
        }
    }
}

impl std::error::Error for StrictError {}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Via,
    CSeq,
    CallId,
    NameAddr,
    Contact,
    Route,
    MaxForwards,
    Delta,
    RetryAfter,
    ContentLength,
    ContentType,
    Date,
    Tokens,
    TokenParams,
}

struct Rule {
    name: &'static str,
    single: bool,
    kind: Kind,
}

const fn rule(name: &'static str, single: bool, kind: Kind) -> Rule {
    Rule { name, single, kind }
}

/// The headers validation knows. Single-valued ones are those RFC 3261 §25.1 does not
/// define as `#` lists; unknown headers are not checked (RFC 3261 §8.2.2 ignores them).
const RULES: &[Rule] = &[
    rule("Via", false, Kind::Via),
    rule("CSeq", true, Kind::CSeq),
    rule("Call-ID", true, Kind::CallId),
    rule("From", true, Kind::NameAddr),
    rule("To", true, Kind::NameAddr),
    rule("Reply-To", true, Kind::NameAddr),
    rule("Contact", false, Kind::Contact),
    rule("Route", false, Kind::Route),
    rule("Record-Route", false, Kind::Route),
    rule("Path", false, Kind::Route),
    rule("Max-Forwards", true, Kind::MaxForwards),
    rule("Expires", true, Kind::Delta),
    rule("Min-Expires", true, Kind::Delta),
    rule("Retry-After", true, Kind::RetryAfter),
    rule("Content-Length", true, Kind::ContentLength),
    rule("Content-Type", true, Kind::ContentType),
    rule("Date", true, Kind::Date),
    rule("Allow", false, Kind::Tokens),
    rule("Supported", false, Kind::Tokens),
    rule("Require", false, Kind::Tokens),
    rule("Proxy-Require", false, Kind::Tokens),
    rule("Unsupported", false, Kind::Tokens),
    rule("Allow-Events", false, Kind::Tokens),
    rule("Event", true, Kind::TokenParams),
    rule("Subscription-State", true, Kind::TokenParams),
    rule("Timestamp", true, Kind::RetryAfter),
    rule("Subject", true, Kind::Tokens),
    rule("User-Agent", true, Kind::Tokens),
    rule("Server", true, Kind::Tokens),
    rule("Organization", true, Kind::Tokens),
    rule("Priority", true, Kind::Tokens),
];

/// Headers every request and response carries (RFC 3261 §8.1.1, §8.2.6.2). Max-Forwards is
/// not among them: RFC 2543 did not have it, RFC 4475 §3.4.1 (inv2543) asks that such
/// requests be accepted, and RFC 3261 §16.6 step 3 has proxies add it.
const MANDATORY: [&str; 5] = ["To", "From", "CSeq", "Call-ID", "Via"];

/// Headers whose value is free text: only their count is checked.
const FREE_TEXT: [&str; 5] = [
    "Subject",
    "User-Agent",
    "Server",
    "Organization",
    "Priority",
];

impl Message {
    /// Checks the header rules of RFC 3261 on a parsed message: mandatory headers present,
    /// single-valued headers once, the syntax and ranges of Via, CSeq, Call-ID, From, To,
    /// Contact, Route, Record-Route, Path, Max-Forwards, Expires, Content-Type, Date, the
    /// token lists and Event, and the CSeq method equal to the request method. Stops at the
    /// first problem.
    pub fn validate(&self) -> Result<(), ValidationError> {
        self.validate_at(|i| i + 2)
    }

    /// [`Message::parse`] and [`Message::validate`] in one: the parser for messages from a
    /// peer that will be acted upon. Errors name lines of `input`.
    pub fn parse_strict(input: &[u8]) -> Result<Message, StrictError> {
        let raw = MessageRef::parse(input).map_err(StrictError::Parse)?;
        let msg = raw.to_message().map_err(StrictError::Parse)?;
        msg.validate_at(|i| raw.headers.get(i).map_or(i + 2, |h| h.line))
            .map_err(StrictError::Invalid)?;
        Ok(msg)
    }

    fn validate_at(&self, line_of: impl Fn(usize) -> usize) -> Result<(), ValidationError> {
        let mut seen = [false; RULES.len()];
        let mut cseq: Option<(u32, &str, usize)> = None;
        for (i, h) in self.headers.iter().enumerate() {
            let full = expand_compact(&h.name);
            let Some((r, rule)) = RULES
                .iter()
                .enumerate()
                .find(|(_, r)| r.name.eq_ignore_ascii_case(full))
            else {
                continue;
            };
            let line = line_of(i);
            if let Some(s) = seen.get_mut(r) {
                if *s && rule.single {
                    return Err(ValidationError::Repeated {
                        header: rule.name,
                        line,
                    });
                }
                *s = true;
            }
            let invalid = |problem| ValidationError::Invalid {
                header: rule.name,
                line,
                problem,
            };
            if rule.kind == Kind::CSeq {
                let (seq, method) = cseq::parts(&h.value).map_err(|e| invalid(problem(e)))?;
                cseq = Some((seq, method, line));
            } else if !FREE_TEXT.contains(&rule.name) {
                check_value(rule.kind, &h.value).map_err(invalid)?;
            }
        }
        for name in MANDATORY {
            let present = RULES
                .iter()
                .zip(seen)
                .any(|(r, seen)| seen && r.name == name);
            if !present {
                return Err(ValidationError::Missing { header: name });
            }
        }
        if let (StartLine::Request { method, .. }, Some((_, cseq_method, line))) =
            (&self.start, cseq)
        {
            if cseq_method != method {
                return Err(ValidationError::CSeqMethodMismatch { line });
            }
        }
        Ok(())
    }
}

fn problem(e: HeaderError) -> Problem {
    match e {
        HeaderError::OutOfRange(_) => Problem::OutOfRange,
        HeaderError::Uri(e) => Problem::Uri(e),
        _ => Problem::Syntax,
    }
}

fn check_value(kind: Kind, v: &str) -> Result<(), Problem> {
    match kind {
        Kind::Via => list(v, check_via),
        Kind::CSeq => cseq::parts(v).map(|_| ()).map_err(problem),
        Kind::CallId => check_call_id(v),
        Kind::NameAddr => check_strict(v).map(|_| ()),
        Kind::Contact if v.trim() == "*" => Ok(()),
        Kind::Contact => list(v, check_contact),
        Kind::Route => list(v, |e| {
            if !e.contains('<') {
                return Err(Problem::NotNameAddr);
            }
            check_strict(e).map(|_| ())
        }),
        Kind::MaxForwards => match parse_delta_seconds(v) {
            Ok(n) if n <= 255 => Ok(()),
            Ok(_) => Err(Problem::OutOfRange),
            Err(e) => Err(problem(e)),
        },
        Kind::Delta => parse_delta_seconds(v).map(|_| ()).map_err(problem),
        Kind::RetryAfter => {
            let first = v.split(['(', ';']).next().unwrap_or_default().trim();
            let first = first.split_whitespace().next().unwrap_or_default();
            // Timestamp (RFC 3261 §20.38) allows a fraction.
            let int = first.split_once('.').map_or(first, |(i, _)| i);
            parse_delta_seconds(int).map(|_| ()).map_err(problem)
        }
        // The parser already refused a malformed or contradictory Content-Length.
        Kind::ContentLength => Ok(()),
        Kind::ContentType => {
            media_type_parts(v).map_err(problem)?;
            let rest = v.find(';').map_or("", |i| &v[i..]);
            params::check(rest).map(|_| ()).map_err(param_problem)
        }
        Kind::Date => {
            if v.split_whitespace().last() != Some("GMT") {
                return Err(Problem::NotGmt);
            }
            SipDate::parse(v).map(|_| ()).map_err(problem)
        }
        Kind::Tokens => list_allow_empty(v, |t| {
            if is_token(t) {
                Ok(())
            } else {
                Err(Problem::Syntax)
            }
        }),
        Kind::TokenParams => {
            let (value, rest) = match v.find(';') {
                Some(i) => (&v[..i], &v[i..]),
                None => (v, ""),
            };
            if !is_token(value.trim()) {
                return Err(Problem::Syntax);
            }
            params::check(rest).map(|_| ()).map_err(param_problem)
        }
    }
}

fn list(v: &str, each: impl Fn(&str) -> Result<(), Problem>) -> Result<(), Problem> {
    for e in split_list_raw(v) {
        if e.is_empty() {
            return Err(Problem::EmptyElement);
        }
        each(e)?;
    }
    Ok(())
}

fn list_allow_empty(v: &str, each: impl Fn(&str) -> Result<(), Problem>) -> Result<(), Problem> {
    if v.trim().is_empty() {
        return Ok(());
    }
    list(v, each)
}

/// `callid = word [ "@" word ]` (RFC 3261 §25.1).
fn check_call_id(v: &str) -> Result<(), Problem> {
    let is_word = |w: &str| {
        !w.is_empty()
            && w.bytes()
                .all(|b| is_token_char(b) || b"()<>:\\\"/[]?{}".contains(&b))
    };
    let ok = match v.split_once('@') {
        Some((a, b)) => is_word(a) && is_word(b),
        None => is_word(v),
    };
    if ok {
        Ok(())
    } else {
        Err(Problem::Syntax)
    }
}

/// One via-parm (RFC 3261 §20.42, §25.1): sent-protocol, sent-by and strict parameters, with
/// `ttl`, `maddr`, `received` and `rport` in range.
fn check_via(e: &str) -> Result<(), Problem> {
    via::check(e).map_err(|_| Problem::Syntax)?;
    let rest = e.find(';').map_or("", |i| &e[i..]);
    for (name, value) in params::check(rest).map_err(param_problem)? {
        let value = value.unwrap_or_default();
        let ok = if name.eq_ignore_ascii_case("ttl") {
            parse_delta_seconds(value).is_ok_and(|t| t <= 255)
        } else if name.eq_ignore_ascii_case("maddr") {
            is_hostname(value) || parse_ipv6_reference(value).is_some()
        } else if name.eq_ignore_ascii_case("received") {
            // RFC 5118 §4.5: accept the IPv6 form with or without brackets.
            value.parse::<core::net::IpAddr>().is_ok() || parse_ipv6_reference(value).is_some()
        } else if name.eq_ignore_ascii_case("rport") {
            value.is_empty() || parse_port(value).is_some()
        } else if name.eq_ignore_ascii_case("branch") {
            is_token(value)
        } else {
            true
        };
        if !ok {
            return Err(Problem::Syntax);
        }
    }
    Ok(())
}

/// One contact-param (RFC 3261 §20.10): a strict name-addr or addr-spec; `q` is a qvalue
/// and `expires` is digits (an over-large value means the default, RFC 3261 §10.3 step 7).
fn check_contact(e: &str) -> Result<(), Problem> {
    for (name, value) in check_strict(e)? {
        let value = value.unwrap_or_default();
        let ok = if name.eq_ignore_ascii_case("q") {
            is_qvalue(value)
        } else if name.eq_ignore_ascii_case("expires") {
            !value.is_empty() && value.bytes().all(|b| b.is_ascii_digit())
        } else {
            true
        };
        if !ok {
            return Err(Problem::Syntax);
        }
    }
    Ok(())
}

/// `qvalue = ( "0" [ "." 0*3DIGIT ] ) / ( "1" [ "." 0*3("0") ] )`
fn is_qvalue(v: &str) -> bool {
    let (int, frac) = v.split_once('.').unwrap_or((v, ""));
    frac.len() <= 3
        && match int {
            "0" => frac.bytes().all(|b| b.is_ascii_digit()),
            "1" => frac.bytes().all(|b| b == b'0'),
            _ => false,
        }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn msg(extra: &str) -> Message {
        Message::parse(
            format!(
                "OPTIONS sip:a@b.example SIP/2.0\r\nVia: SIP/2.0/UDP h.example;branch=z9hG4bK1\r\n\
                 To: <sip:a@b.example>\r\nFrom: <sip:c@d.example>;tag=1\r\nCall-ID: x@y\r\n\
                 CSeq: 1 OPTIONS\r\n{extra}\r\n"
            )
            .as_bytes(),
        )
        .expect("parses")
    }

    #[test]
    fn accepts_a_plain_request() {
        assert_eq!(msg("Max-Forwards: 70\r\n").validate(), Ok(()));
        assert_eq!(msg("Contact: *\r\nExpires: 0\r\n").validate(), Ok(()));
        assert_eq!(
            msg("Retry-After: 18000;duration=3600\r\n").validate(),
            Ok(())
        );
    }

    #[test]
    fn names_the_header_and_the_line() {
        let invalid = |extra: &str| msg(extra).validate().err();
        assert_eq!(
            invalid("Max-Forwards: 256\r\n"),
            Some(ValidationError::Invalid {
                header: "Max-Forwards",
                line: 7,
                problem: Problem::OutOfRange
            })
        );
        assert_eq!(
            invalid("Max-Forwards: 1\r\nMax-Forwards: 1\r\n"),
            Some(ValidationError::Repeated {
                header: "Max-Forwards",
                line: 8
            })
        );
        assert!(matches!(
            invalid("Contact: <sip:a@b>;q=2\r\n"),
            Some(ValidationError::Invalid {
                header: "Contact",
                problem: Problem::Syntax,
                ..
            })
        ));
        assert!(matches!(
            invalid("Route: sip:p.example;lr\r\n"),
            Some(ValidationError::Invalid {
                problem: Problem::NotNameAddr,
                ..
            })
        ));
        assert!(matches!(
            invalid("Via: SIP/2.0/UDP h2.example;ttl=256\r\n"),
            Some(ValidationError::Invalid { header: "Via", .. })
        ));
        assert!(matches!(
            invalid("Call-ID: a b\r\n"),
            Some(ValidationError::Repeated {
                header: "Call-ID",
                ..
            })
        ));
    }
}
