//! Where the gateway is and how requests find their next hop: our own addresses for Via
//! (RFC 3261 §16.6 step 8, §18.1.1) and Record-Route (§16.6 step 4, double record-routing of
//! RFC 5658 §3.2), signed flow tokens in the Record-Route user part (in the spirit of RFC 5626
//! §5.3) that keep in-dialog requests on the flow they belong to, the loop-detection hash of
//! §16.6 step 8 and §16.3 step 4, and the transport, host and port a URI names (a subset of
//! RFC 3263: no NAPTR or SRV).

use crate::sipmsg::name_addr;
use sipsimple::auth::{constant_time_eq, Algorithm};
use sipsimple::sip::{Message, Uri, Via};
use sipsimple::transaction::{Dest, TransportKind};
use std::net::{IpAddr, SocketAddr};

/// Prefix of the flow tokens the gateway writes in the user part of its Record-Route URIs.
const TOKEN_PREFIX: &str = "ft-";
/// Hex characters of a flow token's MAC.
const MAC_LEN: usize = 20;

/// The gateway's own identity on the wire: its domain, its SIP listeners, and the secret of
/// its tokens and branches.
#[derive(Debug, Clone)]
pub struct Local {
    /// The SIP domain, lower case.
    pub domain: String,
    /// The advertised UDP address, when UDP is on.
    pub udp: Option<SocketAddr>,
    /// The advertised TCP address, when TCP is on.
    pub tcp: Option<SocketAddr>,
    /// The advertised TLS address, when TLS is on.
    pub tls: Option<SocketAddr>,
    /// The secret of flow tokens; kept across restarts so that dialogs outlive the process.
    pub secret: String,
}

/// Parses a URI or Via host as an IP address, IPv6 with or without brackets.
pub fn parse_ip(host: &str) -> Option<IpAddr> {
    host.trim_start_matches('[')
        .trim_end_matches(']')
        .parse()
        .ok()
}

/// A host as [`Dest`] holds it: IPv6 without brackets.
pub fn bare_host(host: &str) -> String {
    host.trim_start_matches('[')
        .trim_end_matches(']')
        .to_ascii_lowercase()
}

/// The transport a URI asks for: its `transport` parameter, else TLS for `sips:`, else UDP
/// (RFC 3263 §4.1 without NAPTR).
pub fn uri_transport(uri: &Uri) -> Option<TransportKind> {
    match uri.param("transport").flatten() {
        Some(t) => TransportKind::from_via_name(t),
        None if uri.scheme == "sips" => Some(TransportKind::Tls),
        None => Some(TransportKind::Udp),
    }
}

/// The destination a URI names (RFC 3263 §4.2 without SRV: the default port of its transport).
/// `None` for a transport the gateway cannot reach by address (WebSocket flows are found by
/// their `.invalid` name instead) or a scheme other than sip/sips.
pub fn uri_dest(uri: &Uri) -> Option<Dest> {
    if !matches!(uri.scheme.as_str(), "sip" | "sips") || uri.host.is_empty() {
        return None;
    }
    let kind = uri_transport(uri)?;
    let default = match kind {
        TransportKind::Tls => 5061,
        TransportKind::Udp | TransportKind::Tcp => 5060,
        _ => return None,
    };
    Some(Dest::new(
        kind,
        bare_host(&uri.host),
        uri.port.unwrap_or(default),
    ))
}

/// Lower-case hex of `bytes` (the flow tokens' payloads).
pub(super) fn hex(bytes: &[u8]) -> String {
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push_str(&format!("{b:02x}"));
    }
    s
}

/// The bytes of lower- or upper-case hex; `None` for an odd length or a non-hex digit.
pub(super) fn unhex(s: &str) -> Option<Vec<u8>> {
    if s.len() % 2 != 0 {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok())
        .collect()
}

impl Local {
    /// The advertised address of a listener of `kind`.
    pub fn addr(&self, kind: TransportKind) -> Option<SocketAddr> {
        match kind {
            TransportKind::Udp => self.udp,
            TransportKind::Tcp => self.tcp,
            TransportKind::Tls => self.tls,
            _ => None,
        }
    }

    /// The sent-by we write in a Via for `kind`: the listener's address, or the domain for
    /// WebSocket flows, which cannot be reached by address anyway (RFC 7118 §5).
    pub fn sent_by(&self, kind: TransportKind) -> Option<String> {
        match kind {
            TransportKind::Ws | TransportKind::Wss => Some(self.domain.clone()),
            other => self.addr(other).map(|a| a.to_string()),
        }
    }

    /// Our Via for a request leaving over `kind` with `branch`.
    pub fn via(&self, kind: TransportKind, branch: &str) -> Option<String> {
        Some(format!(
            "SIP/2.0/{} {};branch={branch}",
            kind.via_name(),
            self.sent_by(kind)?
        ))
    }

    /// `true` when `uri` names the gateway: our domain, or the address of one of our
    /// listeners (an absent port meaning 5060, or 5061 for TLS).
    pub fn is_us(&self, uri: &Uri) -> bool {
        if uri.host.eq_ignore_ascii_case(&self.domain) {
            return true;
        }
        let Some(ip) = parse_ip(&uri.host) else {
            return false;
        };
        let listeners = [(self.udp, 5060), (self.tcp, 5060), (self.tls, 5061)];
        listeners.iter().any(|(addr, default)| {
            addr.is_some_and(|a| a.ip() == ip && uri.port.unwrap_or(*default) == a.port())
        })
    }

    /// `true` when `via` is one the gateway wrote.
    pub fn is_our_via(&self, via: &Via) -> bool {
        let Some(kind) = TransportKind::from_via_name(&via.transport) else {
            return false;
        };
        match kind {
            TransportKind::Ws | TransportKind::Wss => via.host.eq_ignore_ascii_case(&self.domain),
            other => self.addr(other).is_some_and(|a| {
                parse_ip(&via.host) == Some(a.ip()) && via.port.unwrap_or(5060) == a.port()
            }),
        }
    }

    fn mac(&self, payload: &str, call_id: &str) -> String {
        let h = Algorithm::Sha256.hex(&format!(
            "{}|{payload}|{call_id}|{}",
            self.secret, self.secret
        ));
        h.get(..MAC_LEN).unwrap_or(&h).to_string()
    }

    /// A flow token naming `dest` for the dialog of `call_id`: hex of the destination and a
    /// MAC over it and the Call-ID, so that a peer can neither forge one nor move one to
    /// another dialog.
    pub fn token(&self, dest: &Dest, call_id: &str) -> String {
        let flow = dest.flow.map(|f| f.to_string()).unwrap_or_default();
        let text = format!(
            "{}|{}|{}|{flow}",
            dest.transport.via_name(),
            dest.host,
            dest.port
        );
        let payload = hex(text.as_bytes());
        let mac = self.mac(&payload, call_id);
        format!("{TOKEN_PREFIX}{payload}-{mac}")
    }

    /// The destination of a flow token written by [`token`](Self::token) for `call_id`;
    /// `None` for anything else.
    pub fn verify_token(&self, user: &str, call_id: &str) -> Option<Dest> {
        let rest = user.strip_prefix(TOKEN_PREFIX)?;
        let (payload, mac) = rest.rsplit_once('-')?;
        let expected = self.mac(payload, call_id);
        if !constant_time_eq(expected.as_bytes(), mac.as_bytes()) {
            return None;
        }
        let text = String::from_utf8(unhex(payload)?).ok()?;
        let mut parts = text.split('|');
        let kind = TransportKind::from_via_name(parts.next()?)?;
        let host = parts.next()?.to_string();
        let port = parts.next()?.parse().ok()?;
        let mut dest = Dest::new(kind, host, port);
        match parts.next()? {
            "" => {}
            f => dest.flow = Some(f.parse().ok()?),
        }
        Some(dest)
    }

    /// The Record-Route value for the side of a dialog reached over `facing`: our address
    /// on that transport with a flow token for it (RFC 5658 double record-routing when the
    /// two sides differ; the gateway always writes both).
    pub fn record_route(&self, facing: &Dest, call_id: &str) -> Option<String> {
        let host = self.sent_by(facing.transport)?;
        let transport = facing.transport.via_name().to_ascii_lowercase();
        Some(format!(
            "<sip:{}@{host};transport={transport};lr>",
            self.token(facing, call_id)
        ))
    }

    /// The loop-detection hash of a request as received (§16.6 step 8): the fields that
    /// stay the same when a request comes back around a loop but change on a spiral.
    pub fn loop_hash(&self, msg: &Message) -> String {
        let tag = |h: &str| {
            name_addr(msg, h)
                .and_then(|n| n.tag().map(str::to_string))
                .unwrap_or_default()
        };
        let text = format!(
            "{}|{}|{}|{}|{}|{}|{}|{}",
            msg.request_uri().map(Uri::to_string).unwrap_or_default(),
            tag("From"),
            tag("To"),
            msg.header("Call-ID").unwrap_or_default(),
            msg.header("CSeq").unwrap_or_default(),
            msg.header_values("Proxy-Require").join(","),
            msg.header_values("Proxy-Authorization").join(","),
            msg.header_values("Route").join(","),
        );
        let h = Algorithm::Sha256.hex(&text);
        h.get(..16).unwrap_or(&h).to_string()
    }

    /// `true` when one of the request's Vias is ours and carries the loop hash the request
    /// has now: it went around and came back unchanged (§16.3 step 4).
    pub fn is_loop(&self, msg: &Message) -> bool {
        let prefix = format!("z9hG4bK{}.", self.loop_hash(msg));
        msg.header_values("Via").iter().any(|v| {
            Via::parse(v).is_ok_and(|via| {
                self.is_our_via(&via) && via.branch().is_some_and(|b| b.starts_with(&prefix))
            })
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn local() -> Local {
        Local {
            domain: "sipsimple.local".into(),
            udp: "127.0.0.1:5060".parse().ok(),
            tcp: "127.0.0.1:5070".parse().ok(),
            tls: "[::1]:5061".parse().ok(),
            secret: "s3cret".into(),
        }
    }

    fn uri(s: &str) -> Uri {
        Uri::parse(s).expect("valid URI")
    }

    #[test]
    fn our_addresses() {
        let l = local();
        assert!(l.is_us(&uri("sip:alice@SIPSIMPLE.local")));
        assert!(l.is_us(&uri("sip:127.0.0.1")));
        assert!(l.is_us(&uri("sip:127.0.0.1:5070;transport=tcp")));
        assert!(l.is_us(&uri("sips:[::1]")));
        assert!(!l.is_us(&uri("sip:127.0.0.1:5080")));
        assert!(!l.is_us(&uri("sip:example.com")));
        assert_eq!(
            l.via(TransportKind::Tls, "z9hG4bKx").as_deref(),
            Some("SIP/2.0/TLS [::1]:5061;branch=z9hG4bKx")
        );
        let via = Via::parse("SIP/2.0/TCP 127.0.0.1:5070;branch=z9hG4bKx").expect("via");
        assert!(l.is_our_via(&via));
        let via = Via::parse("SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bKx").expect("via");
        assert!(!l.is_our_via(&via));
    }

    #[test]
    fn tokens_round_trip_and_resist_tampering() {
        let l = local();
        let d = Dest::new(TransportKind::Tcp, "::1", 40_000).with_flow(9);
        let t = l.token(&d, "call-1");
        assert!(t.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-'));
        assert_eq!(l.verify_token(&t, "call-1"), Some(d));
        assert_eq!(l.verify_token(&t, "call-2"), None);
        let mut forged = t.clone();
        forged.replace_range(4..5, if &t[4..5] == "5" { "4" } else { "5" });
        assert_eq!(l.verify_token(&forged, "call-1"), None);
        assert_eq!(l.verify_token("ft-zz-00", "call-1"), None);
        let udp = Dest::new(TransportKind::Udp, "127.0.0.1", 5080);
        assert_eq!(l.verify_token(&l.token(&udp, "c"), "c"), Some(udp));
        let rr = l
            .record_route(&Dest::new(TransportKind::Ws, "", 0).with_flow(3), "c")
            .expect("rr");
        assert!(rr.starts_with("<sip:ft-") && rr.ends_with("@sipsimple.local;transport=ws;lr>"));
    }

    #[test]
    fn uri_destinations() {
        assert_eq!(
            uri_dest(&uri("sip:bob@[::1]:5080;transport=TCP")),
            Some(Dest::new(TransportKind::Tcp, "::1", 5080))
        );
        assert_eq!(
            uri_dest(&uri("sips:bob@example.com")),
            Some(Dest::new(TransportKind::Tls, "example.com", 5061))
        );
        assert_eq!(
            uri_dest(&uri("sip:bob@192.0.2.1")),
            Some(Dest::new(TransportKind::Udp, "192.0.2.1", 5060))
        );
        assert_eq!(uri_dest(&uri("sip:x@abc.invalid;transport=ws")), None);
        assert_eq!(uri_dest(&uri("tel:+123")), None);
    }
}
