//! Typed accessors on [`Message`] (RFC 3261 §20): each parses its header on demand.
//!
//! Optional headers come back as `Ok(None)` when absent; list headers gather every element
//! across every line; a present but malformed header is an error.

use super::super::message::Message;
use super::super::split_list;
use super::{
    parse_delta_seconds, parse_token_list, CSeq, ContentType, Event, HeaderError, NameAddr, Reason,
    SipDate, SubscriptionState, Via,
};

impl Message {
    fn typed<T>(
        &self,
        name: &str,
        parse: impl FnOnce(&str) -> Result<T, HeaderError>,
    ) -> Result<Option<T>, HeaderError> {
        self.header(name).map(parse).transpose()
    }

    fn tokens<'a>(&'a self, name: &'a str) -> Result<Vec<&'a str>, HeaderError> {
        let mut out = Vec::new();
        for line in self.header_lines(name) {
            out.extend(parse_token_list(line)?);
        }
        Ok(out)
    }

    fn name_addrs(&self, name: &str) -> Result<Vec<NameAddr>, HeaderError> {
        self.header_values(name)
            .into_iter()
            .map(NameAddr::parse)
            .collect()
    }

    /// The Call-ID (RFC 3261 §20.8).
    pub fn call_id(&self) -> Option<&str> {
        self.header("Call-ID")
    }

    /// The CSeq (RFC 3261 §20.16).
    pub fn cseq(&self) -> Result<CSeq, HeaderError> {
        CSeq::parse(self.header("CSeq").ok_or(HeaderError::Missing("CSeq"))?)
    }

    /// The From header (RFC 3261 §20.20).
    pub fn from_addr(&self) -> Result<NameAddr, HeaderError> {
        NameAddr::parse(self.header("From").ok_or(HeaderError::Missing("From"))?)
    }

    /// The To header (RFC 3261 §20.39).
    pub fn to_addr(&self) -> Result<NameAddr, HeaderError> {
        NameAddr::parse(self.header("To").ok_or(HeaderError::Missing("To"))?)
    }

    /// Every Via, topmost first (RFC 3261 §20.42).
    pub fn vias(&self) -> Result<Vec<Via>, HeaderError> {
        self.header_values("Via")
            .into_iter()
            .map(Via::parse)
            .collect()
    }

    /// The topmost Via.
    pub fn top_via(&self) -> Result<Via, HeaderError> {
        let first = self
            .header("Via")
            .and_then(|v| split_list(v).into_iter().next())
            .ok_or(HeaderError::Missing("Via"))?;
        Via::parse(first)
    }

    /// Every Contact (RFC 3261 §20.10); the wildcard `*` is left out (see
    /// [`Message::is_contact_wildcard`]).
    pub fn contacts(&self) -> Result<Vec<NameAddr>, HeaderError> {
        self.header_values("Contact")
            .into_iter()
            .filter(|v| *v != "*")
            .map(NameAddr::parse)
            .collect()
    }

    /// `true` for `Contact: *` (RFC 3261 §10.2.2, removing every binding).
    pub fn is_contact_wildcard(&self) -> bool {
        self.header_values("Contact").contains(&"*")
    }

    /// Max-Forwards (RFC 3261 §20.22), 0 to 255.
    pub fn max_forwards(&self) -> Result<Option<u8>, HeaderError> {
        self.typed("Max-Forwards", |v| {
            let n = parse_delta_seconds(v).map_err(|_| HeaderError::Malformed("Max-Forwards"))?;
            u8::try_from(n).map_err(|_| HeaderError::OutOfRange("Max-Forwards"))
        })
    }

    /// Expires (RFC 3261 §20.19) in seconds.
    pub fn expires(&self) -> Result<Option<u32>, HeaderError> {
        self.typed("Expires", parse_delta_seconds)
    }

    /// Min-Expires (RFC 3261 §20.23) in seconds.
    pub fn min_expires(&self) -> Result<Option<u32>, HeaderError> {
        self.typed("Min-Expires", parse_delta_seconds)
    }

    /// Content-Length (RFC 3261 §20.14).
    pub fn content_length(&self) -> Result<Option<usize>, HeaderError> {
        self.typed("Content-Length", |v| {
            let n = parse_delta_seconds(v).map_err(|_| HeaderError::Malformed("Content-Length"))?;
            usize::try_from(n).map_err(|_| HeaderError::OutOfRange("Content-Length"))
        })
    }

    /// Content-Type (RFC 3261 §20.15).
    pub fn content_type(&self) -> Result<Option<ContentType>, HeaderError> {
        self.typed("Content-Type", ContentType::parse)
    }

    /// The Date header (RFC 3261 §20.17).
    pub fn date(&self) -> Result<Option<SipDate>, HeaderError> {
        self.typed("Date", SipDate::parse)
    }

    /// Allow (RFC 3261 §20.5): the methods, across every line.
    pub fn allow(&self) -> Result<Vec<&str>, HeaderError> {
        self.tokens("Allow")
    }

    /// Supported (RFC 3261 §20.37): the option tags, across every line.
    pub fn supported(&self) -> Result<Vec<&str>, HeaderError> {
        self.tokens("Supported")
    }

    /// Require (RFC 3261 §20.32): the option tags, across every line.
    pub fn require(&self) -> Result<Vec<&str>, HeaderError> {
        self.tokens("Require")
    }

    /// Proxy-Require (RFC 3261 §20.29): the option tags, across every line.
    pub fn proxy_require(&self) -> Result<Vec<&str>, HeaderError> {
        self.tokens("Proxy-Require")
    }

    /// Event (RFC 6665 §8.2.1).
    pub fn event(&self) -> Result<Option<Event>, HeaderError> {
        self.typed("Event", Event::parse)
    }

    /// Subscription-State (RFC 6665 §8.2.3).
    pub fn subscription_state(&self) -> Result<Option<SubscriptionState>, HeaderError> {
        self.typed("Subscription-State", SubscriptionState::parse)
    }

    /// Route (RFC 3261 §20.34), in order.
    pub fn routes(&self) -> Result<Vec<NameAddr>, HeaderError> {
        self.name_addrs("Route")
    }

    /// Record-Route (RFC 3261 §20.30), in order.
    pub fn record_routes(&self) -> Result<Vec<NameAddr>, HeaderError> {
        self.name_addrs("Record-Route")
    }

    /// Path (RFC 3327 §4), in order.
    pub fn paths(&self) -> Result<Vec<NameAddr>, HeaderError> {
        self.name_addrs("Path")
    }

    /// Each WWW-Authenticate challenge (RFC 3261 §20.44) as written, one per line; the
    /// [`crate::auth`] module parses them.
    pub fn www_authenticate(&self) -> impl Iterator<Item = &str> + '_ {
        self.header_lines("WWW-Authenticate")
    }

    /// Each Proxy-Authenticate challenge (RFC 3261 §20.27) as written.
    pub fn proxy_authenticate(&self) -> impl Iterator<Item = &str> + '_ {
        self.header_lines("Proxy-Authenticate")
    }

    /// Each Authorization credential (RFC 3261 §20.7) as written.
    pub fn authorization(&self) -> impl Iterator<Item = &str> + '_ {
        self.header_lines("Authorization")
    }

    /// Each Proxy-Authorization credential (RFC 3261 §20.28) as written.
    pub fn proxy_authorization(&self) -> impl Iterator<Item = &str> + '_ {
        self.header_lines("Proxy-Authorization")
    }

    /// User-Agent (RFC 3261 §20.41) as written.
    pub fn user_agent(&self) -> Option<&str> {
        self.header("User-Agent")
    }

    /// Server (RFC 3261 §20.35) as written.
    pub fn server(&self) -> Option<&str> {
        self.header("Server")
    }

    /// Every Reason value (RFC 3326 §2), across every line.
    pub fn reasons(&self) -> Result<Vec<Reason>, HeaderError> {
        self.header_values("Reason")
            .into_iter()
            .map(Reason::parse)
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MSG: &str = "SUBSCRIBE sip:b@example.com SIP/2.0\r\n\
        Via: SIP/2.0/TLS a.example.com;branch=z9hG4bK1, SIP/2.0/UDP 192.0.2.1\r\n\
        Max-Forwards: 70\r\nExpires: 600\r\nAllow: INVITE, ACK\r\nAllow: BYE\r\n\
        k: path, gruu\r\nEvent: presence;id=2\r\nRoute: <sip:p1.example.com;lr>,\r\n \
        <sip:p2.example.com;lr>\r\nPath: <sip:edge.example.com;lr>\r\n\
        Subscription-State: active;expires=60\r\nUser-Agent: sipsimple-rs\r\n\
        Reason: SIP;cause=200;text=\"done\", Q.850;cause=16\r\n\
        WWW-Authenticate: Digest realm=\"a\", nonce=\"b\"\r\nContent-Length: 0\r\n\r\n";

    #[test]
    fn typed_accessors() {
        let m = Message::parse(MSG.as_bytes()).expect("valid");
        assert_eq!(m.max_forwards(), Ok(Some(70)));
        assert_eq!(m.expires(), Ok(Some(600)));
        assert_eq!(m.content_length(), Ok(Some(0)));
        assert_eq!(m.content_type(), Ok(None));
        assert_eq!(m.allow(), Ok(vec!["INVITE", "ACK", "BYE"]));
        assert_eq!(m.supported(), Ok(vec!["path", "gruu"]));
        assert_eq!(
            m.event().map(|e| e.map(|e| e.package)),
            Ok(Some("presence".into()))
        );
        let routes = m.routes().expect("routes");
        assert_eq!(routes.len(), 2);
        assert!(routes.iter().all(|r| r.uri.is_loose_route()));
        assert_eq!(m.paths().map(|p| p.len()), Ok(1));
        assert_eq!(m.vias().map(|v| v.len()), Ok(2));
        assert_eq!(m.top_via().map(|v| v.transport), Ok("TLS".into()));
        assert_eq!(
            m.subscription_state().map(|s| s.and_then(|s| s.expires())),
            Ok(Some(60))
        );
        assert_eq!(m.user_agent(), Some("sipsimple-rs"));
        let r = m.reasons().expect("reasons");
        assert_eq!((r.len(), r[1].cause), (2, Some(16)));
        assert_eq!(m.www_authenticate().count(), 1);
        assert_eq!(m.cseq(), Err(HeaderError::Missing("CSeq")));
        let mut m = m;
        m.set_header("Max-Forwards", "256");
        assert_eq!(
            m.max_forwards(),
            Err(HeaderError::OutOfRange("Max-Forwards"))
        );
    }
}
