//! Header surgery a proxy does on messages it forwards (RFC 3261 §16.6, §16.7, §16.11):
//! reading, replacing and popping the top Via and the top Route, where a header line may hold
//! a comma-separated list (§7.3.1) and names may be in compact form (§7.3.3).

use sipsimple::sip::message::expand_compact;
use sipsimple::sip::{split_list, Message, NameAddr, Via};

fn is(name: &str, wanted: &str) -> bool {
    expand_compact(name).eq_ignore_ascii_case(wanted)
}

/// The first element of the first line of header `name`, as written.
pub fn first_value(msg: &Message, name: &str) -> Option<String> {
    let line = msg.headers.iter().find(|h| is(&h.name, name))?;
    split_list(&line.value).first().map(|v| v.to_string())
}

/// Replaces the first element of header `name` by `value` (or removes it when `None`),
/// keeping the other elements of that line. Returns the element that was there.
fn edit_first(msg: &mut Message, name: &str, value: Option<String>) -> Option<String> {
    let pos = msg.headers.iter().position(|h| is(&h.name, name))?;
    let line = msg.headers.get_mut(pos)?;
    let mut items: Vec<String> = split_list(&line.value)
        .into_iter()
        .map(str::to_string)
        .collect();
    if items.is_empty() {
        // An empty line holds no element: drop it and look at the next one.
        msg.headers.remove(pos);
        return edit_first(msg, name, value);
    }
    let old = items.remove(0);
    if let Some(v) = value {
        items.insert(0, v);
    }
    if items.is_empty() {
        msg.headers.remove(pos);
    } else {
        line.value = items.join(", ");
    }
    Some(old)
}

/// The top Via (RFC 3261 §20.42), or `None` when missing or malformed.
pub fn top_via(msg: &Message) -> Option<Via> {
    Via::parse(&first_value(msg, "Via")?).ok()
}

/// Removes the top Via (a proxy forwarding a response, §16.7 step 3).
pub fn pop_top_via(msg: &mut Message) -> Option<String> {
    edit_first(msg, "Via", None)
}

/// The top Route, or `None` when missing or malformed.
pub fn top_route(msg: &Message) -> Option<NameAddr> {
    NameAddr::parse(&first_value(msg, "Route")?).ok()
}

/// Removes the top Route (a proxy that is the target of it, §16.4).
pub fn pop_top_route(msg: &mut Message) -> Option<String> {
    edit_first(msg, "Route", None)
}

/// The URI user of header `name` (From, To), when it parses.
pub fn name_addr(msg: &Message, name: &str) -> Option<NameAddr> {
    NameAddr::parse(msg.header(name)?).ok()
}

/// Puts `value` before every other line of `name`, leaving other headers in place when the
/// header exists (the order of different header names does not matter, §7.3.1).
pub fn prepend(msg: &mut Message, name: &str, value: String) {
    match msg.headers.iter().position(|h| is(&h.name, name)) {
        Some(pos) => msg.headers.insert(
            pos,
            sipsimple::sip::Header {
                name: name.to_string(),
                value,
            },
        ),
        None => msg.prepend_header(name, value),
    }
}

/// The `Server` header value of responses the gateway makes itself.
pub const SERVER: &str = concat!("sipsimple-gateway/", env!("CARGO_PKG_VERSION"));

/// A response made by the gateway itself to `req` (RFC 3261 §8.2.6): the dialog headers
/// copied, a To tag added when the request had none (§8.2.6.2), and a Server header.
pub fn reply(req: &Message, code: u16, reason: &str) -> Message {
    let mut r = Message::response_to(req, code, reason);
    if code > 100 {
        if let Some(mut to) = name_addr(req, "To") {
            if to.tag().is_none() {
                to.set_param("tag", Some(&crate::random::hex(16)));
                r.set_header("To", to.to_string());
            }
        }
    }
    r.push_header("Server", SERVER);
    r
}

/// The headers a response copies from its request (RFC 3261 §8.2.6.2).
const ANSWER_HEADERS: [&str; 5] = ["Via", "From", "To", "Call-ID", "CSeq"];

/// `400 Bad Request` for bytes that do not parse as a message but start like a request
/// whose Via, From, To, Call-ID and CSeq can be read (RFC 3261 §8.2 answers what it can);
/// `None` for a response, an ACK, or anything that cannot be answered.
pub fn reply_to_malformed(bytes: &[u8]) -> Option<Message> {
    let end = bytes
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .unwrap_or(bytes.len());
    let head = String::from_utf8_lossy(bytes.get(..end)?);
    let mut lines = head.split("\r\n");
    let method = lines.next()?.split(' ').next()?;
    let token = |b: u8| b.is_ascii_alphanumeric() || b"-.!%*_+`'~".contains(&b);
    if method.is_empty() || method == "ACK" || !method.bytes().all(token) {
        return None;
    }
    let mut text = format!("{method} sip:invalid SIP/2.0\r\n");
    for line in lines {
        let Some((name, _)) = line.split_once(':') else {
            continue;
        };
        let name = expand_compact(name.trim());
        if ANSWER_HEADERS.iter().any(|n| name.eq_ignore_ascii_case(n)) {
            text.push_str(line);
            text.push_str("\r\n");
        }
    }
    text.push_str("Content-Length: 0\r\n\r\n");
    let req = Message::parse(text.as_bytes()).ok()?;
    if ANSWER_HEADERS.iter().any(|h| req.header(h).is_none()) || top_via(&req).is_none() {
        return None;
    }
    Some(reply(&req, 400, "Bad Request"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn msg(text: &str) -> Message {
        Message::parse(text.as_bytes()).expect("valid test message")
    }

    #[test]
    fn via_lists_on_one_line_and_compact_names() {
        let mut m = msg(
            "SIP/2.0 200 OK\r\nv: SIP/2.0/UDP a:1;branch=z9hG4bKa, SIP/2.0/WS b.invalid;branch=z9hG4bKb\r\nVia: SIP/2.0/UDP c;branch=z9hG4bKc\r\n\r\n",
        );
        assert_eq!(top_via(&m).map(|v| v.host), Some("a".to_string()));
        assert!(pop_top_via(&mut m).is_some());
        assert_eq!(top_via(&m).map(|v| v.host), Some("b.invalid".to_string()));
        assert!(pop_top_via(&mut m).is_some());
        assert_eq!(top_via(&m).map(|v| v.host), Some("c".to_string()));
        assert!(pop_top_via(&mut m).is_some());
        assert_eq!(top_via(&m), None);
        assert_eq!(pop_top_via(&mut m), None);
    }

    #[test]
    fn malformed_requests_get_400_when_answerable() {
        let bad = b"INVITE sip:bob@x SIP/2.0\r\nVia: SIP/2.0/UDP a:5;branch=z9hG4bK1\r\nf: <sip:a@b>;tag=1\r\nTo: <sip:bob@x>\r\nCall-ID: c\r\nCSeq: 1 INVITE\r\nthis line has no colon\r\n\r\n";
        assert!(Message::parse(bad).is_err());
        let r = reply_to_malformed(bad).expect("answerable");
        assert_eq!(r.code(), Some(400));
        assert_eq!(r.header("CSeq"), Some("1 INVITE"));
        assert!(reply_to_malformed(b"SIP/2.0 200 OK\r\nVia: x\r\n\r\n").is_none());
        assert!(reply_to_malformed(b"INVITE sip:x SIP/2.0\r\nno headers\r\n\r\n").is_none());
        assert!(reply_to_malformed(b"\x16\x03\x01garbage").is_none());
    }

    #[test]
    fn routes_pop_in_order_and_prepend_goes_first() {
        let mut m = msg(
            "BYE sip:x@y SIP/2.0\r\nRoute: <sip:gw;lr>, <sip:next;lr>\r\nRecord-Route: <sip:z;lr>\r\n\r\n",
        );
        assert_eq!(top_route(&m).map(|r| r.uri.host), Some("gw".to_string()));
        pop_top_route(&mut m);
        assert_eq!(top_route(&m).map(|r| r.uri.host), Some("next".to_string()));
        prepend(&mut m, "Record-Route", "<sip:me;lr>".into());
        assert_eq!(
            m.header_values("Record-Route"),
            vec!["<sip:me;lr>", "<sip:z;lr>"]
        );
    }
}
