//! A browser-style callee on a SIP WebSocket (RFC 7118): it registers with the sans-IO
//! `UserAgent` (digest and all), then answers what arrives by hand with responses built from
//! `Message::response_to` (RFC 3261 §8.2.6), the way a test scripts a peer.

use super::{Client, WsStream, WAIT};
use futures_util::{SinkExt, StreamExt};
use sipsimple::sip::{Message, NameAddr};
use sipsimple::Event;
use tokio::time::timeout;
use tokio_tungstenite::tungstenite::Message as WsMessage;
use tokio_tungstenite::WebSocketStream;

/// The callee: its WebSocket, Contact and To tag.
pub struct Callee {
    ws: WebSocketStream<WsStream>,
    contact: String,
    tag: String,
    /// The start line of every message received, in order.
    pub seen: Vec<String>,
}

/// Connects to the gateway's `/ws`, registers `user`, and returns the callee.
pub async fn register(http: std::net::SocketAddr, user: &str, password: &str, tag: &str) -> Callee {
    let ws = super::open_sip_ws(http).await;
    let mut c = Client::for_user(ws, user, password);
    let e = c.register().await;
    assert!(
        matches!(e, Event::SIPAccountRegistrationDidSucceed { .. }),
        "{e:?}"
    );
    Callee {
        contact: c.ua.contact().to_string(),
        ws: c.ws,
        tag: tag.to_string(),
        seen: Vec::new(),
    }
}

impl Callee {
    /// The next SIP message.
    pub async fn next(&mut self) -> Message {
        loop {
            let frame = timeout(WAIT, self.ws.next())
                .await
                .unwrap_or_else(|_| panic!("nothing arrived; seen so far: {:?}", self.seen))
                .expect("the gateway closed the WebSocket")
                .expect("a frame");
            let bytes = match frame {
                WsMessage::Text(t) => t.as_bytes().to_vec(),
                WsMessage::Binary(b) => b.to_vec(),
                _ => continue,
            };
            let msg = Message::parse(&bytes).expect("a SIP message");
            let first = String::from_utf8_lossy(&bytes);
            self.seen
                .push(first.lines().next().unwrap_or_default().to_string());
            return msg;
        }
    }

    /// The next request with `method`, skipping anything else.
    pub async fn request(&mut self, method: &str) -> Message {
        loop {
            let m = self.next().await;
            if m.method() == Some(method) {
                return m;
            }
        }
    }

    /// Answers `req` with `code`: our To tag, and for INVITE our Contact, the Record-Route
    /// copied (§12.1.1) and an SDP answer on a 2xx.
    pub async fn respond(&mut self, req: &Message, code: u16, reason: &str) {
        let mut r = Message::response_to(req, code, reason);
        if let Some(mut to) = req.header("To").and_then(|t| NameAddr::parse(t).ok()) {
            if to.tag().is_none() && code > 100 {
                to.set_param("tag", Some(&self.tag));
            }
            r.set_header("To", to.to_string());
        }
        if req.method() == Some("INVITE") && code > 100 && code < 300 {
            for rr in req.header_lines("Record-Route") {
                r.push_header("Record-Route", rr.to_string());
            }
            r.push_header("Contact", format!("<{}>", self.contact));
            if code >= 200 {
                let sdp = "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 9 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\na=inactive\r\n";
                r.set_body("application/sdp", sdp.as_bytes().to_vec());
            }
        }
        let text = String::from_utf8(r.to_bytes()).expect("text");
        self.ws
            .send(WsMessage::text(text))
            .await
            .expect("send frame");
    }
}
