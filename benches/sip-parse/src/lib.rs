//! Messages and helpers shared by the `sip_parse` benchmark and the rsip torture comparison
//! (RFC 3261 §7 messages; RFC 4475 vectors). This crate exists so that rsip, the comparison
//! baseline, never enters the dependency tree of `sipsimple`.

use rsip::prelude::{HeadersExt, ToTypedHeader};

/// A realistic INVITE with an SDP offer, in plain header forms (no compact names or folding,
/// which rsip does not parse): 752 bytes.
pub const INVITE: &str = concat!(
    "INVITE sip:bob@biloxi.example.com SIP/2.0\r\n",
    "Via: SIP/2.0/UDP pc33.atlanta.example.com:5060;branch=z9hG4bK776asdhds;rport\r\n",
    "Max-Forwards: 70\r\n",
    "To: Bob <sip:bob@biloxi.example.com>\r\n",
    "From: Alice <sip:alice@atlanta.example.com>;tag=1928301774\r\n",
    "Call-ID: a84b4c76e66710@pc33.atlanta.example.com\r\n",
    "CSeq: 314159 INVITE\r\n",
    "Contact: <sip:alice@pc33.atlanta.example.com;transport=udp>\r\n",
    "Allow: INVITE, ACK, CANCEL, OPTIONS, BYE, MESSAGE, NOTIFY\r\n",
    "Content-Type: application/sdp\r\n",
    "Content-Length: 270\r\n",
    "\r\n",
    "v=0\r\n",
    "o=alice 2890844526 2890844526 IN IP4 pc33.atlanta.example.com\r\n",
    "s=-\r\n",
    "c=IN IP4 192.0.2.101\r\n",
    "t=0 0\r\n",
    "m=audio 49172 RTP/AVP 0 8 97 101\r\n",
    "a=rtpmap:0 PCMU/8000\r\n",
    "a=rtpmap:8 PCMA/8000\r\n",
    "a=rtpmap:97 opus/48000/2\r\n",
    "a=rtpmap:101 telephone-event/8000\r\n",
    "a=fmtp:101 0-15\r\n",
    "a=sendrecv\r\n",
);

/// A 200 OK to a REGISTER: 411 bytes.
pub const OK_200: &str = concat!(
    "SIP/2.0 200 OK\r\n",
    "Via: SIP/2.0/UDP bobspc.biloxi.example.com:5060;branch=z9hG4bKnashds7;received=192.0.2.4;rport=5060\r\n",
    "To: Bob <sip:bob@biloxi.example.com>;tag=2493k59kd\r\n",
    "From: Bob <sip:bob@biloxi.example.com>;tag=456248\r\n",
    "Call-ID: 843817637684230@998sdasdh09\r\n",
    "CSeq: 1826 REGISTER\r\n",
    "Contact: <sip:bob@192.0.2.4>;expires=7200\r\n",
    "Date: Sat, 13 Nov 2010 23:29:00 GMT\r\n",
    "Server: sipsimple-gateway/0.1\r\n",
    "Content-Length: 0\r\n",
    "\r\n",
);

/// A REGISTER with digest credentials: 565 bytes.
pub const REGISTER: &str = concat!(
    "REGISTER sip:registrar.biloxi.example.com SIP/2.0\r\n",
    "Via: SIP/2.0/UDP bobspc.biloxi.example.com:5060;branch=z9hG4bKnashds7;rport\r\n",
    "Max-Forwards: 70\r\n",
    "To: Bob <sip:bob@biloxi.example.com>\r\n",
    "From: Bob <sip:bob@biloxi.example.com>;tag=456248\r\n",
    "Call-ID: 843817637684230@998sdasdh09\r\n",
    "CSeq: 1826 REGISTER\r\n",
    "Contact: <sip:bob@192.0.2.4>\r\n",
    "Expires: 7200\r\n",
    "Authorization: Digest username=\"bob\", realm=\"biloxi.example.com\", nonce=\"dcd98b7102dd2f0e8b11d0f600bfb0c093\", uri=\"sip:registrar.biloxi.example.com\", response=\"245f23415f11432b3434341c022\", algorithm=MD5\r\n",
    "Content-Length: 0\r\n",
    "\r\n",
);

/// The three benchmark messages with their names.
pub const MESSAGES: [(&str, &str); 3] = [
    ("invite_sdp", INVITE),
    ("ok_200", OK_200),
    ("register", REGISTER),
];

/// How rsip 0.4 treats one message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RsipOutcome {
    /// `SipMessage::try_from` failed.
    Refused,
    /// It parsed, but a typed To, From, CSeq or Via, or the Call-ID, could not be read.
    ParsedButTypedFailed,
    /// It parsed and To, From, CSeq, Via and Call-ID were read.
    Accepted,
    /// rsip panicked.
    Panicked,
}

/// Runs rsip 0.4 on `bytes`: the message parse, then the typed headers a UA needs first.
pub fn rsip_outcome(bytes: &[u8]) -> RsipOutcome {
    let bytes = bytes.to_vec();
    let run = std::panic::catch_unwind(move || {
        let Ok(msg) = rsip::SipMessage::try_from(bytes.as_slice()) else {
            return RsipOutcome::Refused;
        };
        let typed_ok = msg.to_header().is_ok_and(|h| h.typed().is_ok())
            && msg.from_header().is_ok_and(|h| h.typed().is_ok())
            && msg.cseq_header().is_ok_and(|h| h.typed().is_ok())
            && msg.via_header().is_ok_and(|h| h.typed().is_ok())
            && msg.call_id_header().is_ok();
        if typed_ok {
            RsipOutcome::Accepted
        } else {
            RsipOutcome::ParsedButTypedFailed
        }
    });
    run.unwrap_or(RsipOutcome::Panicked)
}
