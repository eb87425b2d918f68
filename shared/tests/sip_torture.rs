//! RFC 4475 (SIP torture test messages): one test per message of §3, named as the RFC's
//! archive names it. Valid messages (§3.1.1, §3.2, §3.3, §3.4) must pass [`Message::parse_strict`], expose
//! the values the RFC describes and survive a re-serialisation; invalid ones (§3.1.2, §3.2,
//! §3.3) must be refused with the error that names their fault.

mod sip_support;

use sip_support::{accept, invalid};
use sipsimple::sip::{
    multipart, pct_decode, Message, ParseError, Problem, StartLineError, StrictError, Uri,
    ValidationError,
};

macro_rules! vector {
    ($name:literal) => {
        include_bytes!(concat!("vectors/rfc4475/", $name, ".dat")).as_slice()
    };
}

fn parse_error(bytes: &[u8]) -> ParseError {
    let e = Message::parse(bytes).expect_err("the syntax layer must refuse");
    assert_eq!(
        Message::parse_strict(bytes),
        Err(StrictError::Parse(e.clone()))
    );
    e
}

fn uri(s: &str) -> Uri {
    Uri::parse(s).expect("valid URI")
}

// ---- §3.1.1 Valid messages ------------------------------------------------------------------

/// §3.1.1.1 A short tortuous INVITE: odd whitespace, folding, compact forms, unknown headers.
#[test]
fn wsinv() {
    let m = accept(vector!("wsinv"));
    assert_eq!(m.method(), Some("INVITE"));
    let ruri = m.request_uri().expect("request");
    assert_eq!(
        (ruri.user.as_deref(), ruri.host.as_str()),
        (Some("vivekg"), "chair-dnrc.example.com")
    );
    assert_eq!(ruri.param("unknownparam"), Some(None));
    let to = m.to_addr().expect("To");
    assert_eq!(to.uri.user.as_deref(), Some("vivekg"));
    assert_eq!(to.tag(), Some("1918181833n"));
    let from = m.from_addr().expect("From");
    assert_eq!(from.display_name.as_deref(), Some(r#"J Rosenberg \""#));
    assert_eq!(from.tag(), Some("98asjd8"));
    assert_eq!(m.max_forwards(), Ok(Some(68)));
    assert_eq!(m.call_id(), Some("wsinv.ndaksdj@192.0.2.1"));
    assert_eq!(m.content_length(), Ok(Some(150)));
    let cseq = m.cseq().expect("CSeq");
    assert_eq!((cseq.seq, cseq.method.as_str()), (9, "INVITE"));
    let vias = m.vias().expect("Via");
    let sent: Vec<_> = vias
        .iter()
        .map(|v| (v.transport.as_str(), v.host.as_str(), v.branch()))
        .collect();
    assert_eq!(
        sent,
        [
            ("UDP", "192.0.2.2", Some("390skdjuw")),
            ("TCP", "spindle.example.com", Some("z9hG4bK9ikj8")),
            ("UDP", "192.168.255.111", Some("z9hG4bK30239")),
        ]
    );
    assert_eq!(m.header("Subject"), Some(""));
    assert_eq!(
        m.header("NewFangledHeader"),
        Some("newfangled value continued newfangled value")
    );
    assert_eq!(m.header("UnknownHeaderWithUnusualValue"), Some(";;,,;;,;"));
    let route = m.routes().expect("Route");
    assert_eq!(route.len(), 1);
    assert!(route[0].uri.is_loose_route());
    assert_eq!(route[0].uri.param("unknownwith"), Some(Some("value")));
    assert_eq!(route[0].uri.param("unknown-no-value"), Some(None));
    let contact = &m.contacts().expect("Contact")[0];
    assert_eq!(contact.display_name.as_deref(), Some(r#"Quoted string """#));
    assert_eq!(contact.param("newparam"), Some(Some("newvalue")));
    assert_eq!(contact.param("secondparam"), Some(None));
    assert_eq!(contact.q(), Some(330));
    assert!(m
        .content_type()
        .expect("ok")
        .expect("present")
        .is("application", "sdp"));
    assert_eq!(m.body.len(), 150);
}

/// §3.1.1.2 Wide range of valid characters: an unusual method, URI, tokens and UTF-8.
#[test]
fn intmeth() {
    let m = accept(vector!("intmeth"));
    let method = "!interesting-Method0123456789_*+`.%indeed'~";
    assert_eq!(m.method(), Some(method));
    assert_eq!(
        m.cseq().map(|c| (c.seq, c.method)),
        Ok((139122385, method.into()))
    );
    let ruri = m.request_uri().expect("request");
    assert_eq!(
        ruri.user.as_deref(),
        Some("1_unusual.URI~(to-be!sure)&isn't+it$/crazy?,/;;*")
    );
    assert_eq!(
        ruri.password.as_deref(),
        Some("&it+has=1,weird!*pas$wo~d_too.(doesn't-it)")
    );
    assert_eq!(ruri.host, "example.com");
    assert_eq!(
        m.top_via().map(|v| v.branch().map(str::to_string)),
        Ok(Some("z9hG4bK-.!%66*_+`'~".into()))
    );
    let to = m.to_addr().expect("To");
    assert_eq!(to.display_name.as_deref(), Some("BEL:\x07 NUL:\0 DEL:\x7f"));
    assert_eq!(to.uri.user.as_deref(), ruri.user.as_deref());
    let from = m.from_addr().expect("From");
    assert_eq!(
        from.display_name.as_deref(),
        Some("token1~` token2'+_ token3*%!.-")
    );
    assert_eq!(from.param("fromParam''~+*_!.-%"), Some(Some("работающий")));
    assert_eq!(from.tag(), Some("_token~1'+`*%!-."));
    assert_eq!(
        m.call_id(),
        Some(r#"intmeth.word%ZK-!.*_+'@word`~)(><:\/"][?}{"#)
    );
    assert_eq!(m.max_forwards(), Ok(Some(255)));
    assert_eq!(
        m.header("extensionHeader-!.%*+_`'~"),
        Some("\u{feff}大停電")
    );
}

/// §3.1.1.3 Valid use of the % escaping mechanism.
#[test]
fn esc01() {
    let m = accept(vector!("esc01"));
    let ruri = m.request_uri().expect("request");
    assert_eq!(
        ruri.user_decoded().as_deref(),
        Some(&b"sips:user@example.com"[..])
    );
    assert!(m
        .to_addr()
        .expect("To")
        .uri
        .equivalent(&uri("sip:user@example.com")));
    let from = m.from_addr().expect("From");
    assert_eq!(
        from.uri.user_decoded().as_deref(),
        Some(&b"I have spaces"[..])
    );
    let contact = &m.contacts().expect("Contact")[0];
    assert!(contact.uri.is_loose_route());
    assert!(contact
        .uri
        .equivalent(&uri("sip:caller@host5.example.net;lr;name=value%2541")));
    assert_eq!(m.call_id(), Some("esc01.239409asdfakjkn23onasd0-3234"));
    assert!(m
        .content_type()
        .expect("ok")
        .expect("c:")
        .is("application", "sdp"));
}

/// §3.1.1.4 Escaped nulls in URIs.
#[test]
fn escnull() {
    let m = accept(vector!("escnull"));
    let to = m.to_addr().expect("To");
    assert_eq!(to.uri.user_decoded().as_deref(), Some(&b"null-\0-null"[..]));
    let users: Vec<Vec<u8>> = m
        .contacts()
        .expect("Contact")
        .iter()
        .filter_map(|c| c.uri.user_decoded().map(|u| u.into_owned()))
        .collect();
    assert_eq!(users, [vec![0], vec![0, 0]]);
}

/// §3.1.1.5 Use of % when it is not an escape: the method and a header name are not what
/// they would be unescaped.
#[test]
fn esc02() {
    let m = accept(vector!("esc02"));
    assert_eq!(m.method(), Some("RE%47IST%45R"));
    assert_eq!(m.cseq().map(|c| c.method), Ok("RE%47IST%45R".into()));
    assert_eq!(
        m.to_addr().map(|t| t.display_name),
        Ok(Some("%Z%45".into()))
    );
    assert_eq!(
        m.top_via().map(|v| v.branch().map(str::to_string)),
        Ok(Some("z9hG4bK209%fzsnel234".into()))
    );
    assert_eq!(m.contacts().map(|c| c.len()), Ok(2));
    assert_eq!(
        m.header("C%6Fntact"),
        Some("<sip:alias2@host2.example.com>")
    );
}

/// §3.1.1.6 Message with no LWS between display name and `<`.
#[test]
fn lwsdisp() {
    let m = accept(vector!("lwsdisp"));
    let from = m.from_addr().expect("From");
    assert_eq!(from.display_name.as_deref(), Some("caller"));
    assert_eq!(from.tag(), Some("323"));
}

/// §3.1.1.7 Long values in header fields, and 34 Via values.
#[test]
fn longreq() {
    let m = accept(vector!("longreq"));
    let vias = m.vias().expect("Via");
    assert_eq!(vias.len(), 34);
    let last = vias.last().expect("34");
    assert_eq!(last.param("received"), Some(Some("192.0.2.5")));
    assert!(last
        .branch()
        .is_some_and(|b| b.ends_with("longbranchvalue")));
    let to = m.to_addr().expect("To");
    assert!(to
        .display_name
        .is_some_and(|d| d.ends_with("extreme proportion")));
    assert_eq!(to.uri.port, Some(6000));
    assert_eq!(to.uri.params.len(), 3);
    assert!(m
        .from_addr()
        .expect("From")
        .tag()
        .is_some_and(|t| t.len() > 50));
    assert_eq!(m.body.len(), 150);
}

/// §3.1.1.8 Extra trailing octets in a UDP datagram: only the first message is kept.
#[test]
fn dblreq() {
    let m = accept(vector!("dblreq"));
    assert_eq!(m.method(), Some("REGISTER"));
    assert_eq!(m.call_id(), Some("dblreq.0ha0isndaksdj99sdfafnl3lk233412"));
    assert!(m.body.is_empty());
}

/// §3.1.1.9 Semicolon-separated parameters in the URI user part.
#[test]
fn semiuri() {
    let m = accept(vector!("semiuri"));
    let ruri = m.request_uri().expect("request");
    assert_eq!(ruri.user.as_deref(), Some("user;par=u%40example.net"));
    assert_eq!(ruri.host, "example.com");
    assert!(ruri.params.is_empty());
    assert_eq!(m.header_values("Accept").len(), 6);
}

/// §3.1.1.10 Varied and unknown transport types.
#[test]
fn transports() {
    let m = accept(vector!("transports"));
    let t: Vec<String> = m
        .vias()
        .expect("Via")
        .into_iter()
        .map(|v| v.transport)
        .collect();
    assert_eq!(t, ["UDP", "SCTP", "TLS", "UNKNOWN", "TCP"]);
}

/// §3.1.1.11 Multipart MIME message with a binary part.
#[test]
fn mpart01() {
    let m = accept(vector!("mpart01"));
    assert_eq!(m.body.len(), 553);
    let ct = m.content_type().expect("ok").expect("present");
    assert_eq!(ct.boundary(), Some("7a9cbec02ceef655"));
    let parts = multipart::parts(&m).expect("splits");
    assert_eq!(parts.len(), 2);
    assert!(parts[0].content_type().expect("ct").is("text", "plain"));
    assert_eq!(parts[0].body, b"Hello");
    assert!(parts[1]
        .content_type()
        .expect("ct")
        .is("application", "octet-stream"));
    assert_eq!(
        parts[1].header("Content-Transfer-Encoding").as_deref(),
        Some("binary")
    );
    assert_eq!(parts[1].body.len(), 342);
    assert_eq!(m.date().map(|d| d.map(|d| d.year)), Ok(Some(2005)));
    assert_eq!(m.user_agent(), Some("SIPimp.org/0.2.5 (curses)"));
}

/// §3.1.1.12 Unusual reason phrase: UTF-8 and symbols.
#[test]
fn unreason() {
    let m = accept(vector!("unreason"));
    assert_eq!(m.code(), Some(200));
    assert_eq!(
        m.reason(),
        "= 2**3 * 5**2 но сто девяносто девять - простое"
    );
}

/// §3.1.1.13 Empty reason phrase.
#[test]
fn noreason() {
    let m = accept(vector!("noreason"));
    assert_eq!(m.code(), Some(100));
    assert_eq!(m.reason(), "");
}

// ---- §3.2, §3.3, §3.4 Transaction-layer, application-layer and backward-compatibility cases --

/// §3.2.1 Missing branch parameter content after the magic cookie.
#[test]
fn badbranch() {
    let m = accept(vector!("badbranch"));
    assert_eq!(
        m.top_via().map(|v| v.branch().map(str::to_string)),
        Ok(Some("z9hG4bK".into()))
    );
}

/// §3.3.2 Request-URI with an unknown scheme.
#[test]
fn unkscm() {
    let m = accept(vector!("unkscm"));
    let ruri = m.request_uri().expect("request");
    assert_eq!(ruri.scheme, "nobodyknowsthisscheme");
    assert_eq!(ruri.host, "totallyopaquecontent");
}

/// §3.3.3 Request-URI with a known but atypical scheme.
#[test]
fn novelsc() {
    let m = accept(vector!("novelsc"));
    let ruri = m.request_uri().expect("request");
    assert_eq!(
        (ruri.scheme.as_str(), ruri.host.as_str()),
        ("soap.beep", "//192.0.2.103:3002")
    );
}

/// §3.3.4 Unknown URI schemes in header fields.
#[test]
fn unksm2() {
    let m = accept(vector!("unksm2"));
    assert_eq!(m.to_addr().map(|t| t.uri.scheme), Ok("isbn".into()));
    assert_eq!(m.from_addr().map(|f| f.uri.scheme), Ok("http".into()));
    let c = m.contacts().expect("Contact");
    assert_eq!(
        (c[0].uri.scheme.as_str(), c[0].uri.host.as_str()),
        ("name", "John_Smith")
    );
}

/// §3.3.5 Proxy-Require and Require with unknown option tags.
#[test]
fn bext01() {
    let m = accept(vector!("bext01"));
    assert_eq!(
        m.require(),
        Ok(vec!["nothingSupportsThis", "nothingSupportsThisEither"])
    );
    assert_eq!(
        m.proxy_require(),
        Ok(vec!["noProxiesSupportThis", "norDoAnyProxiesSupportThis"])
    );
}

/// §3.3.6 Unknown Content-Type.
#[test]
fn invut() {
    let m = accept(vector!("invut"));
    assert!(m
        .content_type()
        .expect("ok")
        .expect("present")
        .is("application", "unknownformat"));
    assert_eq!(m.body.len(), 40);
}

/// §3.3.7 Unknown authorization scheme: kept raw for the digest module to refuse.
#[test]
fn regaut01() {
    let m = accept(vector!("regaut01"));
    assert_eq!(
        m.authorization().collect::<Vec<_>>(),
        ["NoOneKnowsThisScheme opaque-data=here"]
    );
}

/// §3.3.10 A 200 OK response with a broadcast Via header field value.
#[test]
fn bcast() {
    let m = accept(vector!("bcast"));
    assert_eq!(m.code(), Some(200));
    let vias = m.vias().expect("Via");
    assert_eq!(vias[1].host, "255.255.255.255");
}

/// §3.3.11 Max-Forwards of zero.
#[test]
fn zeromf() {
    let m = accept(vector!("zeromf"));
    assert_eq!(m.max_forwards(), Ok(Some(0)));
}

/// §3.3.12 REGISTER with a contact header parameter.
#[test]
fn cparam01() {
    let m = accept(vector!("cparam01"));
    let c = &m.contacts().expect("Contact")[0];
    assert!(c.uri.params.is_empty());
    assert_eq!(c.param("unknownparam"), Some(None));
    assert_eq!(c.uri.user.as_deref(), Some("+19725552222"));
}

/// §3.3.13 REGISTER with a URI parameter in the contact.
#[test]
fn cparam02() {
    let m = accept(vector!("cparam02"));
    let c = &m.contacts().expect("Contact")[0];
    assert_eq!(c.uri.param("unknownparam"), Some(None));
    assert!(c.params.is_empty());
}

/// §3.3.14 REGISTER with a URL-escaped header in the contact URI.
#[test]
fn regescrt() {
    let m = accept(vector!("regescrt"));
    let c = &m.contacts().expect("Contact")[0];
    let headers = c.uri.headers.as_deref().expect("URI headers");
    assert_eq!(headers, "Route=%3Csip:sip.example.com%3E");
    assert_eq!(&*pct_decode(headers), b"Route=<sip:sip.example.com>");
}

/// §3.3.15 Unacceptable Accept offering: syntax is fine, the UA answers 406.
#[test]
fn sdp01() {
    let m = accept(vector!("sdp01"));
    assert_eq!(m.header("Accept"), Some("text/nobodyKnowsThis"));
    assert!(m
        .content_type()
        .expect("ok")
        .expect("present")
        .is("application", "sdp"));
}

/// §3.4.1 INVITE with RFC 2543 syntax: no Max-Forwards, no branch, no Content-Length.
#[test]
fn inv2543() {
    let m = accept(vector!("inv2543"));
    assert_eq!(m.max_forwards(), Ok(None));
    assert_eq!(m.top_via().map(|v| v.branch().is_none()), Ok(true));
    assert_eq!(m.content_length(), Ok(None));
    assert!(m.body.starts_with(b"v=0"));
    let rr = m.record_routes().expect("Record-Route");
    assert_eq!(rr[0].uri.param("maddr"), Some(Some("ss1.example.com")));
    // Without <>, ";user=phone" after the To URI is a header parameter (RFC 3261 §20).
    let to = m.to_addr().expect("To");
    assert_eq!(
        (to.uri.param("user"), to.param("user")),
        (None, Some(Some("phone")))
    );
}

// ---- §3.1.2 Invalid messages and the §3.3 refusals ---------------------------------------------

/// §3.1.2.1 Extraneous header field separators.
#[test]
fn badinv01() {
    assert_eq!(
        invalid(vector!("badinv01")),
        ValidationError::Invalid {
            header: "Via",
            line: 7,
            problem: Problem::EmptyParameter
        }
    );
}

/// §3.1.2.2 Content-Length larger than the message.
#[test]
fn clerr() {
    assert_eq!(
        parse_error(vector!("clerr")),
        ParseError::BodyTooShort {
            expected: 9999,
            got: 154
        }
    );
}

/// §3.1.2.3 Negative Content-Length.
#[test]
fn ncl() {
    assert_eq!(
        parse_error(vector!("ncl")),
        ParseError::BadContentLength { line: 10 }
    );
}

/// §3.1.2.4 Request scalar fields with overlarge values.
#[test]
fn scalar02() {
    assert_eq!(
        invalid(vector!("scalar02")),
        ValidationError::Invalid {
            header: "CSeq",
            line: 5,
            problem: Problem::OutOfRange
        }
    );
    // The other overlarge scalars are refused by their own accessors.
    let m = Message::parse(vector!("scalar02")).expect("syntax");
    assert!(m.max_forwards().is_err());
    assert!(m.expires().is_err());
    assert_eq!(m.contacts().map(|c| c[0].expires()), Ok(None));
}

/// §3.1.2.5 Response scalar fields with overlarge values.
#[test]
fn scalarlg() {
    assert_eq!(
        invalid(vector!("scalarlg")),
        ValidationError::Invalid {
            header: "CSeq",
            line: 5,
            problem: Problem::OutOfRange
        }
    );
}

/// §3.1.2.6 Unterminated quoted string in a display name.
#[test]
fn quotbal() {
    assert_eq!(
        invalid(vector!("quotbal")),
        ValidationError::Invalid {
            header: "To",
            line: 2,
            problem: Problem::UnterminatedQuote
        }
    );
}

/// §3.1.2.7 `<>` enclosing the Request-URI.
#[test]
fn ltgtruri() {
    assert_eq!(
        parse_error(vector!("ltgtruri")),
        ParseError::BadStartLine(StartLineError::AngleBrackets)
    );
}

/// §3.1.2.8 Malformed SIP Request-URI (embedded LWS).
#[test]
fn lwsruri() {
    assert_eq!(
        parse_error(vector!("lwsruri")),
        ParseError::BadStartLine(StartLineError::Whitespace)
    );
}

/// §3.1.2.9 Multiple SP separating Request-Line elements.
#[test]
fn lwsstart() {
    assert_eq!(
        parse_error(vector!("lwsstart")),
        ParseError::BadStartLine(StartLineError::Whitespace)
    );
}

/// §3.1.2.10 SP characters at the end of the Request-Line.
#[test]
fn trws() {
    assert_eq!(
        parse_error(vector!("trws")),
        ParseError::BadStartLine(StartLineError::Whitespace)
    );
}

/// §3.1.2.11 Escaped headers in the Request-URI.
#[test]
fn escruri() {
    assert_eq!(
        parse_error(vector!("escruri")),
        ParseError::BadStartLine(StartLineError::UriHeaders)
    );
}

/// §3.1.2.12 Invalid time zone in Date.
#[test]
fn baddate() {
    assert_eq!(
        invalid(vector!("baddate")),
        ValidationError::Invalid {
            header: "Date",
            line: 8,
            problem: Problem::NotGmt
        }
    );
}

/// §3.1.2.13 Failure to enclose a name-addr URI with `?` in `<>`.
#[test]
fn regbadct() {
    assert_eq!(
        invalid(vector!("regbadct")),
        ValidationError::Invalid {
            header: "Contact",
            line: 8,
            problem: Problem::UnbracketedUri
        }
    );
}

/// §3.1.2.14 Spaces within an addr-spec.
#[test]
fn badaspec() {
    assert_eq!(
        invalid(vector!("badaspec")),
        ValidationError::Invalid {
            header: "To",
            line: 5,
            problem: Problem::SpaceInAngleBrackets
        }
    );
}

/// §3.1.2.15 Non-token characters in an unquoted display name.
#[test]
fn baddn() {
    assert_eq!(
        invalid(vector!("baddn")),
        ValidationError::Invalid {
            header: "From",
            line: 4,
            problem: Problem::DisplayName
        }
    );
}

/// §3.1.2.16 Unknown protocol version.
#[test]
fn badvers() {
    assert_eq!(
        parse_error(vector!("badvers")),
        ParseError::BadStartLine(StartLineError::Version)
    );
}

/// §3.1.2.17 Start line and CSeq method mismatch.
#[test]
fn mismatch01() {
    assert_eq!(
        invalid(vector!("mismatch01")),
        ValidationError::CSeqMethodMismatch { line: 6 }
    );
}

/// §3.1.2.18 Unknown method with a CSeq method mismatch.
#[test]
fn mismatch02() {
    assert_eq!(
        invalid(vector!("mismatch02")),
        ValidationError::CSeqMethodMismatch { line: 6 }
    );
}

/// §3.1.2.19 Overlarge response code.
#[test]
fn bigcode() {
    assert_eq!(
        parse_error(vector!("bigcode")),
        ParseError::BadStartLine(StartLineError::StatusCode)
    );
}

/// §3.3.1 Missing required header fields.
#[test]
fn insuf() {
    assert_eq!(
        invalid(vector!("insuf")),
        ValidationError::Missing { header: "To" }
    );
}

/// §3.3.8 Multiple values in single-value required header fields.
#[test]
fn multi01() {
    assert_eq!(
        invalid(vector!("multi01")),
        ValidationError::Repeated {
            header: "CSeq",
            line: 7
        }
    );
}

/// §3.3.9 Multiple Content-Length values.
#[test]
fn mcl01() {
    assert_eq!(
        parse_error(vector!("mcl01")),
        ParseError::ConflictingContentLength { line: 9 }
    );
}

/// Every file of the corpus is covered by a test above, and none makes the parsers panic
/// when cut short at any length.
#[test]
fn every_vector_is_covered_and_truncation_is_safe() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/vectors/rfc4475");
    let mut n = 0;
    for entry in std::fs::read_dir(dir).expect("corpus") {
        let bytes = std::fs::read(entry.expect("entry").path()).expect("readable");
        for end in 0..bytes.len() {
            let cut = &bytes[..end];
            if let Ok(m) = Message::parse(cut) {
                let _ = m.validate();
                let _ = multipart::parts(&m);
            }
        }
        n += 1;
    }
    assert_eq!(n, 49);
}
