//! Signalling of the gateway run: the "browser" is the core's sans-IO `UserAgent` over a SIP
//! WebSocket (RFC 7118, subprotocol `sip`), the "SIP phone" a tiny user agent server on UDP
//! that answers the gateway's plain offer with Opus (so the gateway passes Opus through).

use futures_util::{SinkExt, StreamExt};
use sipsimple::sip::{Message, NameAddr};
use sipsimple::{AccountConfig, Event, Output, Time, UserAgent};
use std::net::SocketAddr;
use std::time::{Duration, Instant};
use tokio::net::{TcpStream, UdpSocket};
use tokio::sync::oneshot;
use tokio::time::timeout;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::Message as WsMessage;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

type Ws = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// A user agent over one WebSocket.
pub struct Client {
    /// The core's user agent.
    pub ua: UserAgent,
    ws: Ws,
    epoch: Instant,
    events: Vec<Event>,
}

impl Client {
    /// Opens `ws://HTTP/ws` with subprotocol `sip` for `user@sipsimple.local`.
    pub async fn connect(http: SocketAddr, user: &str, password: &str) -> Result<Client, String> {
        let mut req = format!("ws://{http}/ws")
            .into_client_request()
            .map_err(|e| e.to_string())?;
        req.headers_mut()
            .insert("Sec-WebSocket-Protocol", HeaderValue::from_static("sip"));
        let (ws, _) = tokio_tungstenite::connect_async(req)
            .await
            .map_err(|e| format!("WebSocket upgrade: {e}"))?;
        let cfg = AccountConfig::new(&format!("{user}@sipsimple.local"), password);
        let seed = (u64::from(std::process::id()) << 20) ^ 0x5eed;
        Ok(Client {
            ua: UserAgent::new(cfg, seed).map_err(|e| format!("{e:?}"))?,
            ws,
            epoch: Instant::now(),
            events: Vec::new(),
        })
    }

    /// The core's clock.
    pub fn now(&self) -> Time {
        Time::from_millis(u64::try_from(self.epoch.elapsed().as_millis()).unwrap_or(u64::MAX))
    }

    /// Sends every Transmit as a text frame and keeps every notification.
    pub async fn flush(&mut self) -> Result<(), String> {
        while let Some(out) = self.ua.poll_output() {
            match out {
                Output::Transmit(bytes) => {
                    let text = String::from_utf8(bytes).map_err(|e| e.to_string())?;
                    self.ws
                        .send(WsMessage::text(text))
                        .await
                        .map_err(|e| e.to_string())?;
                }
                Output::Notification(n) => self.events.push(n.event),
            }
        }
        Ok(())
    }

    /// Feeds frames and timers to the user agent until `done` holds for an event, or
    /// `wait` passes.
    pub async fn until(
        &mut self,
        done: impl Fn(&Event) -> bool,
        wait: Duration,
    ) -> Result<Event, String> {
        let deadline = Instant::now() + wait;
        loop {
            self.flush().await?;
            if let Some(e) = self.events.iter().find(|e| done(e)) {
                return Ok(e.clone());
            }
            let now = Instant::now();
            if now >= deadline {
                return Err(format!("timed out; events so far: {:?}", self.events));
            }
            let mut left = deadline - now;
            if let Some(t) = self.ua.poll_timeout() {
                let ms = t.as_millis().saturating_sub(self.now().as_millis());
                left = left.min(Duration::from_millis(ms));
            }
            match timeout(left, self.ws.next()).await {
                Err(_) => {
                    let now = self.now();
                    self.ua.handle_timeout(now);
                }
                Ok(None) => return Err("the gateway closed the WebSocket".into()),
                Ok(Some(Err(e))) => return Err(e.to_string()),
                Ok(Some(Ok(frame))) => {
                    let bytes = match frame {
                        WsMessage::Text(t) => t.as_bytes().to_vec(),
                        WsMessage::Binary(b) => b.to_vec(),
                        _ => continue,
                    };
                    let now = self.now();
                    self.ua.handle_input(now, &bytes);
                }
            }
        }
    }

    /// Registers with digest.
    pub async fn register(&mut self) -> Result<(), String> {
        let now = self.now();
        self.ua.register(now);
        let e = self
            .until(
                |e| {
                    matches!(
                        e,
                        Event::SIPAccountRegistrationDidSucceed { .. }
                            | Event::SIPAccountRegistrationDidFail { .. }
                    )
                },
                Duration::from_secs(10),
            )
            .await?;
        match e {
            Event::SIPAccountRegistrationDidSucceed { .. } => Ok(()),
            other => Err(format!("registration failed: {other:?}")),
        }
    }

    /// Calls `target` with `sdp`; returns the session id and the answer.
    pub async fn call(&mut self, target: &str, sdp: &str) -> Result<(u64, String), String> {
        let now = self.now();
        let id = self
            .ua
            .connect(now, target, Some(sdp))
            .map_err(|e| format!("connect: {e:?}"))?;
        let e = self
            .until(
                |e| {
                    matches!(
                        e,
                        Event::SIPSessionDidStart {} | Event::SIPSessionDidFail { .. }
                    )
                },
                Duration::from_secs(15),
            )
            .await?;
        if !matches!(e, Event::SIPSessionDidStart {}) {
            return Err(format!("the call failed: {e:?}"));
        }
        let answer = self.ua.remote_sdp(id).ok_or("no answer SDP")?.to_string();
        Ok((id, answer))
    }

    /// Hangs up and waits (briefly) for the session to end.
    pub async fn hang_up(&mut self, id: u64) {
        let now = self.now();
        if self.ua.end(now, id).is_ok() {
            let _ = self
                .until(
                    |e| matches!(e, Event::SIPSessionDidEnd { .. }),
                    Duration::from_secs(3),
                )
                .await;
        }
    }
}

/// What the UAS learnt from the gateway's INVITE.
#[derive(Debug, Clone, Copy)]
pub struct Offer {
    /// Where the gateway's SIP leg receives RTP.
    pub rtp: SocketAddr,
    /// The payload type the gateway gave Opus.
    pub opus_pt: u8,
}

/// Reads the gateway's plain offer: the connection address, the audio port and Opus's
/// payload type.
fn read_offer(body: &[u8]) -> Option<Offer> {
    let text = std::str::from_utf8(body).ok()?;
    let mut ip = None;
    let mut port = None;
    let mut pt = None;
    for line in text.lines() {
        if let Some(c) = line.strip_prefix("c=IN IP4 ") {
            ip = c.trim().parse::<std::net::Ipv4Addr>().ok().or(ip);
        } else if let Some(m) = line.strip_prefix("m=audio ") {
            port = m
                .split_whitespace()
                .next()
                .and_then(|p| p.parse::<u16>().ok());
        } else if let Some(r) = line.strip_prefix("a=rtpmap:") {
            let (n, codec) = r.split_once(' ')?;
            if codec.to_ascii_lowercase().starts_with("opus/48000") && pt.is_none() {
                pt = n.parse().ok();
            }
        }
    }
    Some(Offer {
        rtp: SocketAddr::from((ip?, port?)),
        opus_pt: pt?,
    })
}

/// The "SIP phone": answers the first INVITE with 200 and an Opus-only plain answer whose
/// audio port is `rtp_port`, BYE with 200; ignores the rest. Runs until `stop` fires or
/// `max` passes.
pub async fn uas(
    sock: UdpSocket,
    rtp_port: u16,
    offer_tx: oneshot::Sender<Offer>,
    mut stop: oneshot::Receiver<()>,
    max: Duration,
) {
    let me = match sock.local_addr() {
        Ok(a) => a,
        Err(_) => return,
    };
    let mut offer_tx = Some(offer_tx);
    let mut buf = vec![0u8; 65_535];
    let deadline = tokio::time::Instant::now() + max;
    loop {
        let (n, from) = tokio::select! {
            r = sock.recv_from(&mut buf) => match r { Ok(v) => v, Err(_) => continue },
            _ = &mut stop => return,
            _ = tokio::time::sleep_until(deadline) => return,
        };
        let Ok(req) = Message::parse(&buf[..n]) else {
            continue;
        };
        let method = req.method().map(str::to_string);
        let mut resp = match method.as_deref() {
            Some("INVITE") => {
                let Some(offer) = read_offer(&req.body) else {
                    let r = Message::response_to(&req, 488, "Not Acceptable Here");
                    let _ = sock.send_to(&r.to_bytes(), from).await;
                    continue;
                };
                let mut r = Message::response_to(&req, 200, "OK");
                for rr in req.header_lines("Record-Route") {
                    r.push_header("Record-Route", rr.to_string());
                }
                r.push_header("Contact", format!("<sip:phone@{me}>"));
                let sdp = crate::rtpengine::plain_sdp(rtp_port, offer.opus_pt);
                r.set_body("application/sdp", sdp.into_bytes());
                if let Some(tx) = offer_tx.take() {
                    let _ = tx.send(offer);
                }
                r
            }
            Some("BYE") | Some("OPTIONS") | Some("INFO") => Message::response_to(&req, 200, "OK"),
            _ => continue,
        };
        if let Some(mut to) = req.header("To").and_then(|t| NameAddr::parse(t).ok()) {
            if to.tag().is_none() {
                to.set_param("tag", Some("phone1"));
            }
            resp.set_header("To", to.to_string());
        }
        let _ = sock.send_to(&resp.to_bytes(), from).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_gateways_offer() {
        let sdp = b"v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n\
m=audio 20002 RTP/AVP 111 0 8 101\r\na=rtpmap:111 opus/48000/2\r\na=rtpmap:0 PCMU/8000\r\n";
        let o = read_offer(sdp).expect("an offer");
        assert_eq!(
            o.rtp,
            "127.0.0.1:20002".parse::<SocketAddr>().expect("addr")
        );
        assert_eq!(o.opus_pt, 111);
    }
}
