//! Matching messages to transactions (RFC 3261 §17.1.3 for responses, §17.2.3 for requests,
//! §9.2 for CANCEL), and the transport-layer stamping of received requests (§18.2.1,
//! RFC 3581 §4).

use super::Dest;
use crate::sip::{CSeq, Message, NameAddr, Via};

/// The branch prefix of RFC 3261 clients (§8.1.1.7).
pub(crate) const MAGIC_COOKIE: &str = "z9hG4bK";

/// A client transaction's key (§17.1.3): the top Via branch and the CSeq method.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct ClientKey {
    branch: String,
    method: String,
}

impl ClientKey {
    /// The key of a request about to be sent, or of a response received: top Via branch
    /// and CSeq method. `None` when either is missing.
    pub(crate) fn of(msg: &Message) -> Option<ClientKey> {
        let via = top_via(msg)?;
        let cseq = CSeq::parse(msg.header("CSeq")?).ok()?;
        Some(ClientKey {
            branch: via.branch()?.to_string(),
            method: cseq.method,
        })
    }
}

/// A server transaction's key (§17.2.3). ACK is keyed as INVITE so that it finds the
/// INVITE server transaction; CANCEL keeps its own method, and [`ServerKey::as_invite`]
/// finds the INVITE it cancels (§9.2).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum ServerKey {
    /// Branch with the magic cookie: branch, sent-by and method.
    Rfc3261 {
        branch: String,
        host: String,
        port: Option<u16>,
        method: String,
    },
    /// RFC 2543 fallback: Request-URI, From tag, Call-ID, CSeq number, top Via and method.
    /// The To tag of an ACK is not compared with the tag of the response, a simplification
    /// that only matters to a server answering one 2543 INVITE with several finals.
    Rfc2543 {
        request_uri: String,
        from_tag: String,
        call_id: String,
        cseq: u32,
        via: String,
        method: String,
    },
}

impl ServerKey {
    /// The key of a received request. `None` when the request lacks what a transaction
    /// needs: a top Via, a CSeq whose method is the request's, a Call-ID.
    pub(crate) fn of(msg: &Message) -> Option<ServerKey> {
        let method = msg.method()?;
        let cseq = CSeq::parse(msg.header("CSeq")?).ok()?;
        if cseq.method != method {
            return None;
        }
        msg.header("Call-ID")?;
        let method = if method == "ACK" { "INVITE" } else { method };
        let via_text = *msg.header_values("Via").first()?;
        let via = Via::parse(via_text).ok()?;
        match via.branch() {
            Some(b) if b.starts_with(MAGIC_COOKIE) => Some(ServerKey::Rfc3261 {
                branch: b.to_string(),
                host: via.host.to_ascii_lowercase(),
                port: via.port,
                method: method.to_string(),
            }),
            _ => Some(ServerKey::Rfc2543 {
                request_uri: msg.request_uri()?.to_string(),
                from_tag: msg
                    .header("From")
                    .and_then(|f| NameAddr::parse(f).ok())
                    .and_then(|f| f.tag().map(str::to_string))
                    .unwrap_or_default(),
                call_id: msg.header("Call-ID")?.to_string(),
                cseq: cseq.seq,
                via: via_text.to_string(),
                method: method.to_string(),
            }),
        }
    }

    /// The same key with method INVITE: the INVITE server transaction a CANCEL with this
    /// key cancels (§9.2).
    pub(crate) fn as_invite(&self) -> ServerKey {
        let mut k = self.clone();
        match &mut k {
            ServerKey::Rfc3261 { method, .. } | ServerKey::Rfc2543 { method, .. } => {
                *method = "INVITE".to_string();
            }
        }
        k
    }
}

/// The top Via of a message.
pub(crate) fn top_via(msg: &Message) -> Option<Via> {
    Via::parse(msg.header_values("Via").first()?).ok()
}

/// Adds `received` when the source differs from the sent-by host and fills an empty
/// `rport` with the source port (§18.2.1, RFC 3581 §4). Only the top Via element changes.
pub(crate) fn stamp_via(msg: &mut Message, source: &Dest) {
    if source.host.is_empty() {
        return;
    }
    let Some(mut via) = top_via(msg) else { return };
    let sent_by = via.host.trim_start_matches('[').trim_end_matches(']');
    let mut changed = false;
    if !sent_by.eq_ignore_ascii_case(&source.host) {
        via.set_param("received", Some(&source.host));
        changed = true;
    }
    if via.param("rport") == Some(None) {
        via.set_param("rport", Some(&source.port.to_string()));
        changed = true;
    }
    if changed {
        replace_top_via(msg, &via);
    }
}

/// Rewrites the first Via element of `msg` as `via`, leaving the other elements and lines
/// as they are.
pub(crate) fn replace_top_via(msg: &mut Message, via: &Via) {
    let Some(line) = msg
        .headers
        .iter_mut()
        .find(|h| h.name.eq_ignore_ascii_case("Via") || h.name.eq_ignore_ascii_case("v"))
    else {
        return;
    };
    let mut elements: Vec<String> = crate::sip::split_list(&line.value)
        .into_iter()
        .map(str::to_string)
        .collect();
    if let Some(first) = elements.first_mut() {
        *first = via.to_string();
    }
    line.value = elements.join(", ");
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::transaction::TransportKind;

    fn req(method: &str, via: &str, cseq: &str) -> Message {
        let text = format!(
            "{method} sip:bob@b.example SIP/2.0\r\nVia: {via}\r\nFrom: <sip:a@a.example>;tag=f\r\n\
             To: <sip:bob@b.example>\r\nCall-ID: c\r\nCSeq: {cseq}\r\n\r\n"
        );
        Message::parse(text.as_bytes()).expect("valid")
    }

    #[test]
    fn ack_and_cancel_keys() {
        let via = "SIP/2.0/UDP A.example:5060;branch=z9hG4bK1";
        let inv = ServerKey::of(&req("INVITE", via, "1 INVITE")).expect("key");
        let ack = ServerKey::of(&req("ACK", via, "1 ACK")).expect("key");
        let cancel = ServerKey::of(&req("CANCEL", via, "1 CANCEL")).expect("key");
        assert_eq!(inv, ack);
        assert_ne!(inv, cancel);
        assert_eq!(inv, cancel.as_invite());
        // Another sent-by with the same branch is another transaction.
        let other = "SIP/2.0/UDP b.example:5060;branch=z9hG4bK1";
        assert_ne!(
            inv,
            ServerKey::of(&req("INVITE", other, "1 INVITE")).expect("key")
        );
        // A CSeq method that is not the request's is refused.
        assert_eq!(ServerKey::of(&req("INVITE", via, "1 BYE")), None);
    }

    #[test]
    fn rfc2543_fallback() {
        let via = "SIP/2.0/UDP a.example;branch=old1";
        let inv = ServerKey::of(&req("INVITE", via, "5 INVITE")).expect("key");
        assert!(matches!(inv, ServerKey::Rfc2543 { .. }));
        assert_eq!(ServerKey::of(&req("ACK", via, "5 ACK")).expect("key"), inv);
        assert_ne!(
            ServerKey::of(&req("INVITE", via, "6 INVITE")).expect("key"),
            inv
        );
    }

    #[test]
    fn stamping_received_and_rport() {
        let mut m = req(
            "OPTIONS",
            "SIP/2.0/UDP a.example;rport;branch=z9hG4bK2, SIP/2.0/UDP p.example;branch=z9hG4bK3",
            "1 OPTIONS",
        );
        stamp_via(&mut m, &Dest::new(TransportKind::Udp, "192.0.2.7", 5062));
        let vias = m.header_values("Via");
        assert_eq!(
            vias,
            [
                "SIP/2.0/UDP a.example;rport=5062;branch=z9hG4bK2;received=192.0.2.7",
                "SIP/2.0/UDP p.example;branch=z9hG4bK3"
            ]
        );
        let mut m = req(
            "OPTIONS",
            "SIP/2.0/UDP 192.0.2.7;branch=z9hG4bK2",
            "1 OPTIONS",
        );
        stamp_via(&mut m, &Dest::new(TransportKind::Udp, "192.0.2.7", 5062));
        assert_eq!(
            m.header("Via"),
            Some("SIP/2.0/UDP 192.0.2.7;branch=z9hG4bK2")
        );
    }
}
