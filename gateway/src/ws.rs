//! The SIP WebSocket transport (RFC 7118): the upgrade must offer the `sip` subprotocol
//! (§4) and come from an allowed Origin (RFC 6455 §10.2: the page's own, localhost, or one
//! configured), each frame carries one message (§5), text frames go out; pings keep NATs
//! open. A frame over `security.max_message_size` closes the connection with 1009 (RFC 6455
//! §7.4.1, "message too big").

use crate::config::Origin;
use crate::gateway::Gateway;
use crate::metrics::Drop;
use crate::transport::flow_dest;
use axum::extract::connect_info::ConnectInfo;
use axum::extract::ws::{CloseFrame, Message as WsMessage, WebSocket, WebSocketUpgrade};
use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use futures_util::{SinkExt, StreamExt};
use sipsimple::transaction::TransportKind;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tracing::{debug, info, warn};

/// The subprotocol RFC 7118 §4 registers.
pub const SUBPROTOCOL: &str = "sip";
/// How often the gateway pings an idle client.
pub const PING_INTERVAL: Duration = Duration::from_secs(30);
/// The close code for a frame over the size limit (RFC 6455 §7.4.1).
const MESSAGE_TOO_BIG: u16 = 1009;

/// `true` when the upgrade's Origin may open the SIP WebSocket. Clients that are not
/// browsers send no Origin; the check protects browsers' users from other sites' pages, and
/// a client that can leave the header out can forge it too, so its absence is accepted.
fn origin_allowed(gw: &Gateway, headers: &HeaderMap) -> bool {
    let Some(origin) = headers.get(header::ORIGIN) else {
        return true;
    };
    let host = headers.get(header::HOST).and_then(|h| h.to_str().ok());
    origin
        .to_str()
        .ok()
        .and_then(Origin::parse)
        .is_some_and(|o| o.allowed(host, &gw.cfg.security.allowed_origins))
}

/// `GET /ws`: upgrades when the Origin is allowed (else 403) and the client offered `sip`
/// (else 400). `kind` is WS on the HTTP listener and WSS on the HTTPS one.
pub async fn upgrade(
    State(gw): State<Arc<Gateway>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    ws: WebSocketUpgrade,
    kind: TransportKind,
) -> Response {
    if !origin_allowed(&gw, &headers) {
        gw.metrics.ws_refused();
        warn!(%peer, origin = ?headers.get(header::ORIGIN), "WebSocket upgrade from a foreign Origin refused");
        return (
            StatusCode::FORBIDDEN,
            "this Origin may not open the SIP WebSocket\n",
        )
            .into_response();
    }
    let offered = ws
        .requested_protocols()
        .any(|p| p.as_bytes().eq_ignore_ascii_case(SUBPROTOCOL.as_bytes()));
    if !offered {
        return (
            StatusCode::BAD_REQUEST,
            "the WebSocket subprotocol `sip` (RFC 7118) is required\n",
        )
            .into_response();
    }
    let max = gw.cfg.security.max_message_size;
    // tungstenite's default 128 KiB read and write buffers per connection cost 138 KB of
    // memory per registered browser (docs/benchmarks.md); SIP messages are a few KB, and the
    // buffers grow for larger frames up to the limit above, so start small.
    let mut ws = ws
        .max_message_size(max)
        .max_frame_size(max)
        .read_buffer_size(4096)
        .write_buffer_size(4096);
    ws.set_selected_protocol(HeaderValue::from_static(SUBPROTOCOL));
    ws.on_upgrade(move |socket| run(gw, socket, kind, peer))
}

/// `true` when a read failed because a frame or message was over the size limit.
fn too_big(e: axum::Error) -> bool {
    e.into_inner()
        .downcast::<tungstenite::Error>()
        .is_ok_and(|e| matches!(*e, tungstenite::Error::Capacity(_)))
}

/// One connection: frames in to the gateway, queued messages out, pings, until either side
/// closes or the process stops.
async fn run(gw: Arc<Gateway>, socket: WebSocket, kind: TransportKind, peer: SocketAddr) {
    // The peer's address names the source for rate limits and lockouts; the flow id routes.
    let (id, mut outbox) = gw.transports.open(kind, None);
    let source = flow_dest(kind, Some(peer), id);
    info!(conn = id, %peer, "WebSocket connected");
    let (mut sink, mut stream) = socket.split();
    let mut ping =
        tokio::time::interval_at(tokio::time::Instant::now() + PING_INTERVAL, PING_INTERVAL);
    let mut shutdown = gw.shutdown.clone();
    loop {
        tokio::select! {
            frame = stream.next() => match frame {
                Some(Ok(WsMessage::Text(t))) => gw.on_bytes(source.clone(), t.as_bytes()),
                Some(Ok(WsMessage::Binary(b))) => gw.on_bytes(source.clone(), &b),
                // The WebSocket layer answers pings by itself.
                Some(Ok(WsMessage::Ping(_) | WsMessage::Pong(_))) => {}
                Some(Ok(WsMessage::Close(_))) | None => break,
                Some(Err(e)) => {
                    let msg = e.to_string();
                    if too_big(e) {
                        gw.metrics.dropped(Drop::TooLarge);
                        warn!(conn = id, %peer, "WebSocket message over the size limit; closing with 1009");
                        let close = CloseFrame {
                            code: MESSAGE_TOO_BIG,
                            reason: "message too big".into(),
                        };
                        let _ = sink.send(WsMessage::Close(Some(close))).await;
                    } else {
                        gw.metrics.transport_error();
                        debug!(conn = id, error = %msg, "WebSocket error");
                    }
                    break;
                }
            },
            out = outbox.recv() => {
                let Some(bytes) = out else { break };
                // Text frames for SIP (RFC 7118 §5.1); a body that is not UTF-8 needs binary.
                let frame = match String::from_utf8(bytes) {
                    Ok(s) => WsMessage::Text(s.into()),
                    Err(e) => WsMessage::Binary(e.into_bytes().into()),
                };
                if sink.send(frame).await.is_err() {
                    break;
                }
            }
            _ = ping.tick() => {
                if sink.send(WsMessage::Ping(Default::default())).await.is_err() {
                    break;
                }
            }
            _ = shutdown.changed() => {
                let _ = sink.send(WsMessage::Close(None)).await;
                break;
            }
        }
    }
    gw.transports.close(id);
    gw.input(crate::proxy::Input::FlowClosed { dest: source });
    info!(conn = id, "WebSocket closed");
}
