//! RFC 5118 (SIP torture test messages for IPv6): one test per message of §4. IPv6
//! references must be read in the Request-URI, Via sent-by and `received`, Contact, To and
//! Route; SDP bodies pass through untouched; malformed references are refused.

mod sip_support;

use core::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use sip_support::accept;
use sipsimple::sip::{Message, ParseError, UriError};

macro_rules! vector {
    ($name:literal) => {
        include_bytes!(concat!("vectors/rfc5118/", $name, ".dat")).as_slice()
    };
}

fn v6(s: &str) -> Ipv6Addr {
    s.parse().expect("IPv6 literal")
}

fn ruri_v6(m: &Message) -> Option<Ipv6Addr> {
    m.request_uri().and_then(|u| u.ipv6())
}

/// §4.1 Valid SIP message with an IPv6 reference in Request-URI, Via and Contact.
#[test]
fn ipv6_good() {
    let m = accept(vector!("ipv6-good"));
    assert_eq!(ruri_v6(&m), Some(v6("2001:db8::10")));
    let via = m.top_via().expect("Via");
    assert_eq!((via.host.as_str(), via.port), ("[2001:db8::9:1]", None));
    let contact = &m.contacts().expect("Contact")[0];
    assert_eq!(contact.display_name.as_deref(), Some("Caller"));
    assert_eq!(contact.uri.ipv6(), Some(v6("2001:db8::1")));
}

/// §4.2 Invalid: the Request-URI's IPv6 address lacks its brackets.
#[test]
fn ipv6_bad() {
    assert_eq!(
        Message::parse(vector!("ipv6-bad")),
        Err(ParseError::BadRequestUri(UriError::BadHost))
    );
}

/// §4.3 Port ambiguous: "from a parsing perspective, the request below is well-formed". The
/// port the sender meant is the last group of the address; there is no port.
#[test]
fn port_ambiguous() {
    let m = accept(vector!("port-ambiguous"));
    let ruri = m.request_uri().expect("request");
    assert_eq!(
        (ruri.host.as_str(), ruri.port),
        ("[2001:db8::10:5070]", None)
    );
    assert_eq!(ruri.ipv6(), Some(v6("2001:db8::10:5070")));
}

/// §4.4 Port unambiguous: the port follows the `]`.
#[test]
fn port_unambiguous() {
    let m = accept(vector!("port-unambiguous"));
    let ruri = m.request_uri().expect("request");
    assert_eq!(
        (ruri.ipv6(), ruri.port),
        (Some(v6("2001:db8::10")), Some(5070))
    );
}

/// §4.5 `received` with the brackets of an IPv6 reference, which receivers must accept.
#[test]
fn via_received_param_with_delim() {
    let m = accept(vector!("via-received-param-with-delim"));
    let via = m.top_via().expect("Via");
    assert_eq!(via.received(), Some(IpAddr::V6(v6("2001:db8::9:255"))));
    assert_eq!(via.branch(), Some("z9hG4bKas3-111"));
    assert_eq!(ruri_v6(&m), Some(v6("2001:db8::10")));
}

/// §4.5 `received` without brackets, as RFC 3261's grammar has it.
#[test]
fn via_received_param_no_delim() {
    let m = accept(vector!("via-received-param-no-delim"));
    let via = m.top_via().expect("Via");
    assert_eq!(via.received(), Some(IpAddr::V6(v6("2001:db8::9:255"))));
    // The colons of the address did not end the parameter list early.
    assert_eq!(via.branch(), Some("z9hG4bKas3"));
}

/// §4.6 IPv6 addresses in the SDP body, which has no brackets and is not SIP's to parse.
#[test]
fn ipv6_in_sdp() {
    let bytes = vector!("ipv6-in-sdp");
    let m = accept(bytes);
    assert_eq!(
        m.to_addr().map(|t| t.uri.ipv6()),
        Ok(Some(v6("2001:db8::10")))
    );
    let body = std::str::from_utf8(&m.body).expect("text");
    assert!(body.contains("\r\nc=IN IP6 2001:db8::20\r\n"));
    assert!(body.contains("o=assistant 971731711378798081 0 IN IP6 2001:db8::20"));
    assert!(bytes.ends_with(&m.body));
}

/// §4.7 IPv4 addresses and IPv6 references mixed in one Via list.
#[test]
fn mult_ip_in_header() {
    let m = accept(vector!("mult-ip-in-header"));
    let vias = m.vias().expect("Via");
    let sent: Vec<_> = vias
        .iter()
        .map(|v| (v.transport.as_str(), v.host.as_str(), v.port))
        .collect();
    assert_eq!(
        sent,
        [
            ("UDP", "[2001:db8::9:1]", Some(6050)),
            ("UDP", "192.0.2.1", None),
            ("TCP", "[2001:db8::9:255]", None),
        ]
    );
    assert_eq!(
        vias[2].received(),
        Some(IpAddr::V4(Ipv4Addr::new(192, 0, 2, 200)))
    );
    assert_eq!(ruri_v6(&m), None);
}

/// §4.8 One media stream on IPv4 and one on IPv6 in the SDP.
#[test]
fn mult_ip_in_sdp() {
    let m = accept(vector!("mult-ip-in-sdp"));
    let body = std::str::from_utf8(&m.body).expect("text");
    assert!(body.contains("c=IN IP4 192.0.2.1\r\n"));
    assert!(body.contains("c=IN IP6 2001:db8::1\r\n"));
    assert!(body.ends_with("a=rtpmap:107 H263-1998/90000\r\n"));
}

/// §4.9 IPv4-mapped IPv6 addresses in Via, Contact and SDP.
#[test]
fn ipv4_mapped_ipv6() {
    let m = accept(vector!("ipv4-mapped-ipv6"));
    let vias = m.vias().expect("Via");
    assert_eq!(
        (vias[0].host.as_str(), vias[0].port),
        ("[::ffff:192.0.2.10]", Some(19823))
    );
    assert_eq!(vias[1].host, "[::ffff:192.0.2.2]");
    let contact = &m.contacts().expect("Contact")[0];
    assert_eq!(
        contact.uri.ipv6().and_then(|a| a.to_ipv4_mapped()),
        Some(Ipv4Addr::new(192, 0, 2, 2))
    );
    assert!(std::str::from_utf8(&m.body)
        .expect("text")
        .contains("c=IN IP6 ::ffff:192.0.2.2"));
}

/// §4.10 An extra colon in the IPv6 reference: not an IPv6 address (RFC 5954), refused; the
/// RFC lets a receiver either repair or refuse it.
#[test]
fn ipv6_bug_abnf_3_colons() {
    assert_eq!(
        Message::parse(vector!("ipv6-bug-abnf-3-colons")),
        Err(ParseError::BadRequestUri(UriError::BadHost))
    );
}

/// §4.10 The same request with a correct reference.
#[test]
fn ipv6_correct_abnf_2_colons() {
    let m = accept(vector!("ipv6-correct-abnf-2-colons"));
    assert_eq!(ruri_v6(&m), Some(v6("2001:db8::192.0.2.1")));
    assert_eq!(
        m.to_addr().map(|t| t.uri.ipv6()),
        Ok(Some(v6("2001:db8::c000:201")))
    );
}
