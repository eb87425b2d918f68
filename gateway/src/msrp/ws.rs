//! MSRP over WebSocket (RFC 7977): `GET /msrp` upgrades when the client offers the `msrp`
//! subprotocol (§4) from an allowed Origin (RFC 6455 §10.2, as the SIP WebSocket checks it)
//! and its source is under `msrp.max_connections_per_ip`. Each WebSocket message carries
//! one MSRP frame (§5.2); frames go out as text when they are UTF-8, else binary. A message
//! over twice the chunk limit closes the connection with 1009.

use super::conn::{self, on_frame, WsInput};
use super::relay::{ConnId, Transport};
use super::{lock, Relay};
use crate::config::Origin;
use axum::extract::ws::{CloseFrame, Message as WsMessage, WebSocket, WebSocketUpgrade};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use futures_util::{SinkExt, StreamExt};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc;
use tokio::time::timeout;
use tracing::{debug, warn};

/// The path of the MSRP WebSocket endpoint.
pub const PATH: &str = "/msrp";
/// The subprotocol RFC 7977 §4 registers.
pub const SUBPROTOCOL: &str = "msrp";
/// How often an idle client is pinged.
const PING_INTERVAL: Duration = Duration::from_secs(30);
/// Idle time after which a WebSocket that sent no MSRP frame is closed.
const IDLE: Duration = Duration::from_secs(3600);

/// `true` when the upgrade's Origin may open the WebSocket; no Origin (not a browser) is
/// accepted, as on the SIP WebSocket.
fn origin_allowed(relay: &Relay, headers: &HeaderMap) -> bool {
    let Some(origin) = headers.get(header::ORIGIN) else {
        return true;
    };
    let host = headers.get(header::HOST).and_then(|h| h.to_str().ok());
    origin
        .to_str()
        .ok()
        .and_then(Origin::parse)
        .is_some_and(|o| o.allowed(host, &relay.allowed_origins))
}

/// `GET /msrp`: 403 for a foreign Origin, 400 without the `msrp` subprotocol, 503 over the
/// per-address limit; otherwise upgrades. `secure` is true on the HTTPS listener.
pub fn upgrade(
    relay: Arc<Relay>,
    peer: SocketAddr,
    headers: &HeaderMap,
    ws: WebSocketUpgrade,
    secure: bool,
) -> Response {
    if !origin_allowed(&relay, headers) {
        warn!(%peer, origin = ?headers.get(header::ORIGIN), "MSRP WebSocket from a foreign Origin refused");
        return (
            StatusCode::FORBIDDEN,
            "this Origin may not open the MSRP WebSocket\n",
        )
            .into_response();
    }
    let offered = ws
        .requested_protocols()
        .any(|p| p.as_bytes().eq_ignore_ascii_case(SUBPROTOCOL.as_bytes()));
    if !offered {
        return (
            StatusCode::BAD_REQUEST,
            "the WebSocket subprotocol `msrp` (RFC 7977) is required\n",
        )
            .into_response();
    }
    if lock(&relay.table).at_ip_limit(peer.ip()) {
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            "too many MSRP connections\n",
        )
            .into_response();
    }
    // Up to twice the chunk limit still gets a 413 (the frame is read, then refused);
    // beyond, the message is not read at all.
    let limits = relay.limits();
    let max = limits.max_body.saturating_mul(2) + limits.max_head;
    let mut ws = ws
        .max_message_size(max)
        .max_frame_size(max)
        .read_buffer_size(16 * 1024)
        .write_buffer_size(16 * 1024);
    ws.set_selected_protocol(HeaderValue::from_static(SUBPROTOCOL));
    let transport = if secure {
        Transport::Wss
    } else {
        Transport::Ws
    };
    ws.on_upgrade(move |socket| async move {
        let Some((id, rx)) = conn::register(&relay, transport, peer.ip()) else {
            return;
        };
        run(relay, socket, peer, id, rx).await;
    })
}

/// `true` when a read failed because a message was over the size limit.
fn too_big(e: axum::Error) -> bool {
    e.into_inner()
        .downcast::<tungstenite::Error>()
        .is_ok_and(|e| matches!(*e, tungstenite::Error::Capacity(_)))
}

/// One WebSocket: a writer task (queued frames, pings), and the reader here.
async fn run(
    relay: Arc<Relay>,
    socket: WebSocket,
    peer: SocketAddr,
    id: ConnId,
    mut rx: mpsc::Receiver<Vec<u8>>,
) {
    debug!(conn = id, %peer, "MSRP WebSocket connected");
    let (mut sink, mut stream) = socket.split();
    let (close_tx, mut close_rx) = mpsc::channel::<CloseFrame>(1);
    tokio::spawn(async move {
        let mut ping =
            tokio::time::interval_at(tokio::time::Instant::now() + PING_INTERVAL, PING_INTERVAL);
        loop {
            tokio::select! {
                out = rx.recv() => {
                    let Some(bytes) = out else { break };
                    let msg = match String::from_utf8(bytes) {
                        Ok(s) => WsMessage::Text(s.into()),
                        Err(e) => WsMessage::Binary(e.into_bytes().into()),
                    };
                    match timeout(conn::SEND_TIMEOUT, sink.send(msg)).await {
                        Ok(Ok(())) => {}
                        _ => break,
                    }
                }
                close = close_rx.recv() => {
                    let _ = sink.send(WsMessage::Close(close)).await;
                    break;
                }
                _ = ping.tick() => {
                    if sink.send(WsMessage::Ping(Default::default())).await.is_err() {
                        break;
                    }
                }
            }
        }
        let _ = sink.close().await;
    });
    let mut stop = relay.shutdown.clone();
    loop {
        let msg = tokio::select! {
            m = timeout(IDLE, stream.next()) => match m {
                Ok(Some(Ok(m))) => m,
                Ok(Some(Err(e))) => {
                    if too_big(e) {
                        warn!(conn = id, %peer, "MSRP WebSocket message over the size limit; closing with 1009");
                        let _ = close_tx.try_send(CloseFrame { code: 1009, reason: "message too big".into() });
                    }
                    break;
                }
                Ok(None) | Err(_) => break,
            },
            _ = stop.changed() => break,
        };
        let bytes: Vec<u8> = match msg {
            WsMessage::Text(t) => t.as_bytes().to_vec(),
            WsMessage::Binary(b) => b.to_vec(),
            WsMessage::Close(_) => break,
            WsMessage::Ping(_) | WsMessage::Pong(_) => continue,
        };
        match conn::parse_ws(&relay, &bytes) {
            WsInput::Frame(frame) => on_frame(&relay, id, frame).await,
            WsInput::Refused(code, response) => {
                relay.counters.refused(code);
                if let Some(r) = response {
                    let _ = conn::send_to(&relay, id, r.to_bytes()).await;
                }
            }
            WsInput::Fatal => {
                warn!(conn = id, %peer, "a WebSocket message that is not one MSRP frame; closing");
                let _ = close_tx.try_send(CloseFrame {
                    code: 1002,
                    reason: "not an MSRP frame".into(),
                });
                break;
            }
        }
    }
    conn::close(&relay, id);
    debug!(conn = id, "MSRP WebSocket closed");
}
