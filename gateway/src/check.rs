//! `sipsimple-gateway check [FILE|-]`: reads one SIP (RFC 3261), SDP (RFC 8866) or MSRP
//! (RFC 4975) message, prints a normalised JSON view of it, or a precise error, and exits
//! 0 or 1. A tool for users debugging traffic, and the harness of corpus tests.

use serde_json::{json, Value};
use sipsimple::msrp::{self, Frame};
use sipsimple::sdp::SessionDescription;
use sipsimple::sip::message::expand_compact;
use sipsimple::sip::{Message, NameAddr, StartLine, Via};
use std::io::Read;
use std::path::Path;

/// What kind of message the input holds, judged by its first line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A SIP request or response.
    Sip,
    /// A session description.
    Sdp,
    /// An MSRP request or response.
    Msrp,
}

/// Guesses the kind from the first non-empty line.
pub fn detect(input: &[u8]) -> Kind {
    let start = input
        .iter()
        .position(|b| !matches!(b, b'\r' | b'\n'))
        .unwrap_or(input.len());
    let rest = &input[start..];
    if rest.starts_with(b"MSRP ") {
        Kind::Msrp
    } else if rest.starts_with(b"v=") {
        Kind::Sdp
    } else {
        Kind::Sip
    }
}

/// Checks `input`: the JSON view, or the error message to print.
pub fn check(input: &[u8]) -> Result<Value, String> {
    match detect(input) {
        Kind::Sip => sip(input),
        Kind::Sdp => SessionDescription::parse(input)
            .map(|s| sdp(&s))
            .map_err(|e| format!("invalid SDP: {e}")),
        Kind::Msrp => Frame::parse(input)
            .map(|f| msrp(&f))
            .map_err(|e| format!("invalid MSRP: {e}")),
    }
}

fn sip(input: &[u8]) -> Result<Value, String> {
    // Strict: framing and syntax first, then the RFC 3261 header rules a UA or proxy applies.
    let m = Message::parse_strict(input).map_err(|e| format!("invalid SIP: {e}"))?;
    let mut v = match &m.start {
        StartLine::Request { method, uri } => json!({
            "kind": "sip", "type": "request", "method": method, "request_uri": uri.to_string(),
        }),
        StartLine::Response { code, reason } => json!({
            "kind": "sip", "type": "response", "code": code, "reason": reason,
        }),
    };
    let headers: Vec<Value> = m
        .headers
        .iter()
        .map(|h| json!({"name": expand_compact(&h.name), "value": h.value}))
        .collect();
    let vias: Vec<Value> = m
        .header_values("Via")
        .iter()
        .map(|s| match Via::parse(s) {
            Ok(via) => json!({
                "transport": via.transport, "host": via.host, "port": via.port,
                "branch": via.branch(),
            }),
            Err(e) => json!({"error": e.to_string(), "value": s}),
        })
        .collect();
    let party = |name: &str| {
        m.header(name).map(|s| match NameAddr::parse(s) {
            Ok(n) => {
                json!({"display_name": n.display_name, "uri": n.uri.to_string(), "tag": n.tag()})
            }
            Err(e) => json!({"error": e.to_string(), "value": s}),
        })
    };
    v["via"] = Value::from(vias);
    v["from"] = party("From").unwrap_or(Value::Null);
    v["to"] = party("To").unwrap_or(Value::Null);
    v["call_id"] = json!(m.header("Call-ID"));
    v["cseq"] = json!(m.header("CSeq"));
    v["headers"] = Value::from(headers);
    v["body_length"] = json!(m.body.len());
    let is_sdp = m
        .header("Content-Type")
        .is_some_and(|c| c.trim().to_ascii_lowercase().starts_with("application/sdp"));
    if is_sdp && !m.body.is_empty() {
        v["sdp"] = match SessionDescription::parse(&m.body) {
            Ok(s) => sdp(&s),
            Err(e) => json!({"error": format!("invalid SDP body: {e}")}),
        };
    }
    Ok(v)
}

fn sdp(s: &SessionDescription) -> Value {
    let media: Vec<Value> = s
        .media
        .iter()
        .map(|m| {
            let rtpmap: Vec<Value> = m
                .payload_types()
                .filter_map(|pt| m.rtpmap(pt))
                .map(|r| json!({"payload_type": r.payload_type, "encoding": r.encoding, "clock_rate": r.clock_rate, "channels": r.channels}))
                .collect();
            json!({
                "media": m.media.as_str(),
                "port": m.port,
                "proto": m.proto,
                "formats": m.formats,
                "direction": s.direction_of(m).as_str(),
                "rtpmap": rtpmap,
                "attributes": m.attributes.iter().map(|a| json!({"name": a.name, "value": a.value})).collect::<Vec<_>>(),
            })
        })
        .collect();
    json!({
        "kind": "sdp",
        "origin": {
            "username": s.origin.username, "session_id": s.origin.session_id,
            "session_version": s.origin.session_version,
        },
        "session_name": s.session_name,
        "connection": s.connection.as_ref().map(|c| c.address.clone()),
        "attributes": s.attributes.iter().map(|a| json!({"name": a.name, "value": a.value})).collect::<Vec<_>>(),
        "media": media,
    })
}

fn msrp(f: &Frame) -> Value {
    let (kind, method, code) = match &f.start {
        msrp::StartLine::Request(m) => ("request", Some(m.as_str().to_string()), None),
        msrp::StartLine::Response { code, .. } => ("response", None, Some(*code)),
    };
    json!({
        "kind": "msrp",
        "type": kind,
        "transaction_id": f.tid,
        "method": method,
        "code": code,
        "to_path": f.to_path.iter().map(ToString::to_string).collect::<Vec<_>>(),
        "from_path": f.from_path.iter().map(ToString::to_string).collect::<Vec<_>>(),
        "message_id": f.message_id,
        "byte_range": f.byte_range.as_ref().map(ToString::to_string),
        "content_type": f.content_type,
        "headers": f.headers.iter().map(|h| json!({"name": h.name, "value": h.value})).collect::<Vec<_>>(),
        "body_length": f.body().len(),
        "continuation": match f.flag { msrp::Flag::End => "$", msrp::Flag::More => "+", msrp::Flag::Abort => "#" },
    })
}

/// Runs the command on a file, or standard input for `-` or no file.
pub fn run(file: Option<&Path>) -> std::process::ExitCode {
    let mut input = Vec::new();
    let read = match file {
        Some(p) if p != Path::new("-") => std::fs::read(p).map(|b| input = b),
        _ => std::io::stdin().read_to_end(&mut input).map(|_| ()),
    };
    if let Err(e) = read {
        eprintln!("error: cannot read the input: {e}");
        return std::process::ExitCode::from(2);
    }
    match check(&input) {
        Ok(v) => {
            use std::io::Write;
            // A closed pipe (`| head`) is the reader's choice, not an error worth a panic.
            let text = serde_json::to_string_pretty(&v).unwrap_or_default();
            let _ = writeln!(std::io::stdout().lock(), "{text}");
            std::process::ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sip_with_sdp_body() {
        let msg = "INVITE sip:bob@example.com SIP/2.0\r\nv: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bK1\r\n\
            f: <sip:alice@example.com>;tag=1\r\nt: <sip:bob@example.com>\r\ni: abc\r\nCSeq: 1 INVITE\r\n\
            c: application/sdp\r\n\r\nv=0\r\no=- 1 2 IN IP4 192.0.2.1\r\ns=-\r\nc=IN IP4 192.0.2.1\r\nt=0 0\r\n\
            m=audio 4000 RTP/AVP 0\r\na=sendonly\r\n";
        let v = check(msg.as_bytes()).expect("valid");
        assert_eq!(v["method"], "INVITE");
        assert_eq!(v["headers"][0]["name"], "Via");
        assert_eq!(v["via"][0]["branch"], "z9hG4bK1");
        assert_eq!(v["from"]["tag"], "1");
        assert_eq!(v["sdp"]["media"][0]["direction"], "sendonly");
        assert_eq!(v["sdp"]["media"][0]["rtpmap"][0]["encoding"], "PCMU");
    }

    #[test]
    fn errors_name_the_problem() {
        let e = check(b"OPTIONS sip:a@b SIP/2.0\r\nno colon here\r\n\r\n").expect_err("bad");
        assert!(e.contains("line 2"), "{e}");
        // Well-formed but missing the mandatory headers (RFC 3261 §8.1.1).
        let e = check(b"OPTIONS sip:a@b SIP/2.0\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\r\n\r\n")
            .expect_err("bad");
        assert!(e.contains("missing"), "{e}");
        let e = check(b"v=0\r\nq=what\r\n").expect_err("bad");
        assert!(e.starts_with("invalid SDP"), "{e}");
        let e = check(b"MSRP abcd SEND\r\nTo-Path: x\r\n\r\n-------abcd$\r\n").expect_err("bad");
        assert!(e.starts_with("invalid MSRP"), "{e}");
    }

    #[test]
    fn msrp_frame() {
        let f = "MSRP a786hjs2 SEND\r\nTo-Path: msrp://bob.example.com:8888/9di4eae923wzd;tcp\r\n\
            From-Path: msrp://alice.example.com:7777/iau39soe2843z;tcp\r\nMessage-ID: 87652491\r\n\
            Byte-Range: 1-5/5\r\nContent-Type: text/plain\r\n\r\nhello\r\n-------a786hjs2$\r\n";
        let v = check(f.as_bytes()).expect("valid");
        assert_eq!(v["method"], "SEND");
        assert_eq!(v["byte_range"], "1-5/5");
        assert_eq!(v["body_length"], 5);
        assert_eq!(v["continuation"], "$");
    }
}
