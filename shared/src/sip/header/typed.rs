//! Scalar and list headers: Content-Type (RFC 3261 §20.15, RFC 2045 §5.1), delta-seconds
//! (Expires, Min-Expires, Retry-After; RFC 3261 §20.19, §20.23, §20.33), token lists (Allow,
//! Supported, Require, Proxy-Require; §20.5, §20.37, §20.32, §20.29), Event and
//! Subscription-State (RFC 6665 §8.2.1, §8.2.3) and Reason (RFC 3326 §2).

use super::super::{is_token, split_unquoted};
use super::{find_param, params, write_params, HeaderError};
use core::fmt;

/// Parses `delta-seconds` (RFC 3261 §25.1): decimal digits whose value fits 32 bits
/// (RFC 3261 §20.19: "between 0 and (2**32)-1").
pub fn parse_delta_seconds(s: &str) -> Result<u32, HeaderError> {
    let s = s.trim();
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return Err(HeaderError::Malformed("delta-seconds"));
    }
    let digits = s.trim_start_matches('0');
    if digits.len() > 10 {
        return Err(HeaderError::OutOfRange("delta-seconds"));
    }
    match digits {
        "" => Ok(0),
        d => d
            .parse::<u32>()
            .map_err(|_| HeaderError::OutOfRange("delta-seconds")),
    }
}

/// Splits a comma-separated list of tokens (Allow, Supported, Require, Proxy-Require,
/// Allow-Events); empty elements are skipped, anything else that is not a token is refused.
pub fn parse_token_list(s: &str) -> Result<Vec<&str>, HeaderError> {
    s.split(',')
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .map(|t| {
            if is_token(t) {
                Ok(t)
            } else {
                Err(HeaderError::Malformed("token list"))
            }
        })
        .collect()
}

/// Parameters in order, values unquoted.
type Params = Vec<(String, Option<String>)>;

/// Splits `token;params` as Event, Subscription-State and Reason are written.
fn token_and_params(s: &str, header: &'static str) -> Result<(String, Params), HeaderError> {
    let mut parts = split_unquoted(s.trim(), b';').into_iter();
    let value = parts.next().unwrap_or_default().trim();
    if !is_token(value) {
        return Err(HeaderError::Malformed(header));
    }
    let rest: Vec<&str> = parts.collect();
    Ok((value.to_string(), params::parse(&rest.join(";"))))
}

/// The Content-Type header (RFC 3261 §20.15): `type/subtype;params`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContentType {
    /// The top-level type (`application`, `multipart`, ...) as written.
    pub media_type: String,
    /// The subtype (`sdp`, `mixed`, ...) as written.
    pub subtype: String,
    /// Parameters (`boundary`, `charset`, ...), values unquoted.
    pub params: Vec<(String, Option<String>)>,
}

impl ContentType {
    /// Parses `application/sdp` or `multipart/mixed;boundary=xyz`; whitespace around `/`
    /// is allowed (RFC 3261 §25.1 SLASH).
    pub fn parse(s: &str) -> Result<ContentType, HeaderError> {
        let (ty, sub, rest) = media_type_parts(s)?;
        Ok(ContentType {
            media_type: ty.to_string(),
            subtype: sub.to_string(),
            params: params::parse(rest),
        })
    }

    /// `true` for `ty/sub`, compared case-insensitively.
    pub fn is(&self, ty: &str, sub: &str) -> bool {
        self.media_type.eq_ignore_ascii_case(ty) && self.subtype.eq_ignore_ascii_case(sub)
    }

    /// The value of parameter `name`.
    pub fn param(&self, name: &str) -> Option<&str> {
        find_param(&self.params, name).flatten()
    }

    /// The `boundary` of a multipart type (RFC 2046 §5.1.1).
    pub fn boundary(&self) -> Option<&str> {
        self.param("boundary")
    }
}

/// The type, subtype and the parameters after the first `;` of a media-type, borrowed.
pub(crate) fn media_type_parts(s: &str) -> Result<(&str, &str, &str), HeaderError> {
    let bad = HeaderError::Malformed("Content-Type");
    let s = s.trim();
    let (essence, rest) = s.split_once(';').unwrap_or((s, ""));
    let (ty, sub) = essence.split_once('/').ok_or(bad.clone())?;
    let (ty, sub) = (ty.trim(), sub.trim());
    if !is_token(ty) || !is_token(sub) {
        return Err(bad);
    }
    Ok((ty, sub, rest))
}

impl fmt::Display for ContentType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.media_type, self.subtype)?;
        write_params(f, &self.params)
    }
}

/// The Event header (RFC 6665 §8.2.1): a package name with parameters such as `id`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    /// The event package, with any template (`presence`, `presence.winfo`).
    pub package: String,
    /// Parameters in order.
    pub params: Vec<(String, Option<String>)>,
}

impl Event {
    /// Parses `presence;id=1`.
    pub fn parse(s: &str) -> Result<Event, HeaderError> {
        let (package, params) = token_and_params(s, "Event")?;
        Ok(Event { package, params })
    }

    /// The `id` parameter, which tells subscriptions of one dialog apart.
    pub fn id(&self) -> Option<&str> {
        find_param(&self.params, "id").flatten()
    }
}

impl fmt::Display for Event {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.package)?;
        write_params(f, &self.params)
    }
}

/// The Subscription-State header (RFC 6665 §8.2.3).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubscriptionState {
    /// `active`, `pending`, `terminated` or an extension, as written.
    pub state: String,
    /// Parameters in order (`expires`, `reason`, `retry-after`, ...).
    pub params: Vec<(String, Option<String>)>,
}

impl SubscriptionState {
    /// Parses `active;expires=600` or `terminated;reason=timeout`.
    pub fn parse(s: &str) -> Result<SubscriptionState, HeaderError> {
        let (state, params) = token_and_params(s, "Subscription-State")?;
        Ok(SubscriptionState { state, params })
    }

    /// `true` for the `terminated` state.
    pub fn is_terminated(&self) -> bool {
        self.state.eq_ignore_ascii_case("terminated")
    }

    /// The `expires` parameter.
    pub fn expires(&self) -> Option<u32> {
        find_param(&self.params, "expires")
            .flatten()
            .and_then(|v| parse_delta_seconds(v).ok())
    }

    /// The `reason` parameter.
    pub fn reason(&self) -> Option<&str> {
        find_param(&self.params, "reason").flatten()
    }

    /// The `retry-after` parameter.
    pub fn retry_after(&self) -> Option<u32> {
        find_param(&self.params, "retry-after")
            .flatten()
            .and_then(|v| parse_delta_seconds(v).ok())
    }
}

impl fmt::Display for SubscriptionState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.state)?;
        write_params(f, &self.params)
    }
}

/// One value of the Reason header (RFC 3326 §2): `SIP ;cause=200 ;text="Call completed"`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reason {
    /// `SIP`, `Q.850` or an extension, as written.
    pub protocol: String,
    /// The `cause` parameter.
    pub cause: Option<u16>,
    /// The `text` parameter, unquoted.
    pub text: Option<String>,
    /// Every parameter in order, `cause` and `text` included.
    pub params: Vec<(String, Option<String>)>,
}

impl Reason {
    /// Parses one Reason value.
    pub fn parse(s: &str) -> Result<Reason, HeaderError> {
        let (protocol, params) = token_and_params(s, "Reason")?;
        let cause = match find_param(&params, "cause").flatten() {
            Some(c) if c.len() <= 5 && c.bytes().all(|b| b.is_ascii_digit()) => {
                Some(c.parse().map_err(|_| HeaderError::OutOfRange("Reason"))?)
            }
            Some(_) => return Err(HeaderError::Malformed("Reason")),
            None => None,
        };
        let text = find_param(&params, "text").flatten().map(str::to_string);
        Ok(Reason {
            protocol,
            cause,
            text,
            params,
        })
    }
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.protocol)?;
        write_params(f, &self.params)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delta_seconds() {
        assert_eq!(parse_delta_seconds("3600"), Ok(3600));
        assert_eq!(parse_delta_seconds("0068"), Ok(68));
        assert_eq!(parse_delta_seconds("4294967295"), Ok(u32::MAX));
        assert_eq!(
            parse_delta_seconds("4294967296"),
            Err(HeaderError::OutOfRange("delta-seconds"))
        );
        assert!(parse_delta_seconds("-1").is_err());
        assert!(parse_delta_seconds("").is_err());
    }

    #[test]
    fn content_type() {
        let c = ContentType::parse("multipart/mixed;boundary=7a9cbec02ceef655").expect("ok");
        assert!(c.is("Multipart", "MIXED"));
        assert_eq!(c.boundary(), Some("7a9cbec02ceef655"));
        let c = ContentType::parse("text/plain ; charset=\"utf-8\"").expect("ok");
        assert_eq!(c.param("CHARSET"), Some("utf-8"));
        assert_eq!(c.to_string(), "text/plain;charset=utf-8");
        assert!(ContentType::parse("sdp").is_err());
    }

    #[test]
    fn lists_events_and_reasons() {
        assert_eq!(
            parse_token_list("nothingSupportsThis, nothingSupportsThisEither"),
            Ok(vec!["nothingSupportsThis", "nothingSupportsThisEither"])
        );
        assert!(parse_token_list("a, b c").is_err());
        let e = Event::parse("presence ; id=7").expect("ok");
        assert_eq!((e.package.as_str(), e.id()), ("presence", Some("7")));
        let s = SubscriptionState::parse("terminated;reason=timeout;retry-after=30").expect("ok");
        assert!(s.is_terminated());
        assert_eq!((s.reason(), s.retry_after()), (Some("timeout"), Some(30)));
        let r = Reason::parse(r#"Q.850 ;cause=16 ;text="Terminated; normal""#).expect("ok");
        assert_eq!(r.protocol, "Q.850");
        assert_eq!(r.cause, Some(16));
        assert_eq!(r.text.as_deref(), Some("Terminated; normal"));
    }
}
