//! Address translation between the core's placeholder host and the socket's address
//! (RFC 3261 §18.1.1 sent-by, §8.1.1.8 Contact).
//!
//! The core writes a `<token>.invalid` host in its Via sent-by and Contact, which is right
//! for WebSocket (RFC 7118 §5.2) but not for UDP or TCP, where the proxy answers to the
//! sent-by and routes requests to the registered Contact. [`AccountConfig`] has no field
//! for the local address yet, so the driver translates at the flow, as a NAT would: the
//! placeholder becomes `ip:port` in the header section of what goes out, and `ip:port`
//! becomes the placeholder in the header section of what comes in (so that the core still
//! recognises its own Contact in a REGISTER's 200). Bodies are left alone: the
//! placeholder SDP describes no real media either way.
//!
//! [`AccountConfig`]: crate::AccountConfig

use crate::notification::{Event, Notification};
use std::net::SocketAddr;

/// The two spellings of our address: the core's and the wire's.
#[derive(Debug, Clone)]
pub(crate) struct SentBy {
    placeholder: String,
    real: String,
}

impl SentBy {
    /// A translation from the core's `host` to `local`, or `None` when the core already
    /// writes a real host (anything but an RFC 6761 `.invalid` name).
    pub(crate) fn new(host: &str, local: SocketAddr) -> Option<SentBy> {
        if !host.ends_with(".invalid") {
            return None;
        }
        Some(SentBy {
            placeholder: host.to_string(),
            // `SocketAddr`'s Display brackets IPv6 addresses, as SIP's hostport does.
            real: local.to_string(),
        })
    }

    /// The wire's spelling, `ip:port`.
    pub(crate) fn real(&self) -> &str {
        &self.real
    }

    /// An outgoing message with the placeholder replaced in its header section.
    pub(crate) fn outgoing(&self, msg: Vec<u8>) -> Vec<u8> {
        replace_in_head(msg, self.placeholder.as_bytes(), self.real.as_bytes())
    }

    /// A received message with our address replaced in its header section.
    pub(crate) fn incoming(&self, msg: Vec<u8>) -> Vec<u8> {
        replace_in_head(msg, self.real.as_bytes(), self.placeholder.as_bytes())
    }

    /// A notification with the placeholder replaced in the contacts it reports.
    pub(crate) fn notification(&self, mut n: Notification) -> Notification {
        if let Event::SIPAccountRegistrationDidSucceed {
            contact_uri,
            contact_uri_list,
            ..
        } = &mut n.event
        {
            *contact_uri = contact_uri.replace(&self.placeholder, &self.real);
            for c in contact_uri_list {
                *c = c.replace(&self.placeholder, &self.real);
            }
        }
        n
    }
}

/// `msg` with every `from` before the first empty line replaced by `to`.
fn replace_in_head(msg: Vec<u8>, from: &[u8], to: &[u8]) -> Vec<u8> {
    let head_end = find(&msg, b"\r\n\r\n").map_or(msg.len(), |i| i + 4);
    let (head, body) = msg.split_at(head_end);
    if from.is_empty() || find(head, from).is_none() {
        return msg;
    }
    let mut out = Vec::with_capacity(msg.len() + 64);
    let mut rest = head;
    while let Some(i) = find(rest, from) {
        out.extend_from_slice(&rest[..i]);
        out.extend_from_slice(to);
        rest = &rest[i + from.len()..];
    }
    out.extend_from_slice(rest);
    out.extend_from_slice(body);
    out
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    if needle.is_empty() || needle.len() > hay.len() {
        return None;
    }
    hay.windows(needle.len()).position(|w| w == needle)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::notification::Sender;

    fn sent_by() -> SentBy {
        let local: SocketAddr = "127.0.0.1:40000".parse().expect("addr");
        SentBy::new("abc.invalid", local).expect("a placeholder")
    }

    #[test]
    fn rewrites_the_head_both_ways_and_leaves_the_body() {
        let s = sent_by();
        let msg = b"INVITE sip:bob@example.com SIP/2.0\r\n\
            Via: SIP/2.0/UDP abc.invalid;branch=z9hG4bK1;rport\r\n\
            Contact: <sip:xyz@abc.invalid>\r\n\
            Content-Length: 24\r\n\r\n\
            c=IN IP4 abc.invalid\r\n\r\n"
            .to_vec();
        let out = s.outgoing(msg.clone());
        let text = String::from_utf8(out.clone()).expect("utf-8");
        assert!(text.contains("Via: SIP/2.0/UDP 127.0.0.1:40000;branch"));
        assert!(text.contains("Contact: <sip:xyz@127.0.0.1:40000>"));
        assert!(text.ends_with("c=IN IP4 abc.invalid\r\n\r\n"));
        assert_eq!(s.incoming(out), msg);
    }

    #[test]
    fn real_hosts_and_headless_input_are_untouched() {
        let local: SocketAddr = "[::1]:5062".parse().expect("addr");
        assert!(SentBy::new("192.0.2.1", local).is_none());
        let s = SentBy::new("h.invalid", local).expect("a placeholder");
        assert_eq!(s.real(), "[::1]:5062");
        assert_eq!(
            s.outgoing(b"garbage h.invalid".to_vec()),
            b"garbage [::1]:5062"
        );
        assert_eq!(s.outgoing(Vec::new()), b"");
    }

    #[test]
    fn registration_contacts_are_reported_as_on_the_wire() {
        let n = Notification {
            sender: Sender::Account("alice@example.com".into()),
            event: Event::SIPAccountRegistrationDidSucceed {
                code: 200,
                reason: "OK".into(),
                contact_uri: "sip:xyz@abc.invalid".into(),
                contact_uri_list: vec!["sip:xyz@abc.invalid".into(), "sip:o@h.example".into()],
                expires: 600,
            },
        };
        let Event::SIPAccountRegistrationDidSucceed {
            contact_uri,
            contact_uri_list,
            ..
        } = sent_by().notification(n).event
        else {
            panic!("same event");
        };
        assert_eq!(contact_uri, "sip:xyz@127.0.0.1:40000");
        assert_eq!(contact_uri_list[0], "sip:xyz@127.0.0.1:40000");
        assert_eq!(contact_uri_list[1], "sip:o@h.example");
    }
}
