//! The SIP WebSocket transport (RFC 7118): the upgrade must offer the `sip` subprotocol
//! (§4), each frame carries one message (§5), text frames go out; pings keep NATs open.

use crate::gateway::Gateway;
use crate::transport::flow_dest;
use axum::extract::ws::{Message as WsMessage, WebSocket, WebSocketUpgrade};
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use futures_util::{SinkExt, StreamExt};
use sipsimple::transaction::TransportKind;
use std::sync::Arc;
use std::time::Duration;
use tracing::{debug, info};

/// The subprotocol RFC 7118 §4 registers.
pub const SUBPROTOCOL: &str = "sip";
/// How often the gateway pings an idle client.
pub const PING_INTERVAL: Duration = Duration::from_secs(30);
/// Largest frame accepted: a SIP message the parser would accept fits with room to spare.
const MAX_FRAME: usize = 2 * 1024 * 1024;

/// `GET /ws`: upgrades when the client offered `sip`, else answers 400. `kind` is WS on the
/// HTTP listener and WSS on the HTTPS one.
pub async fn upgrade(
    State(gw): State<Arc<Gateway>>,
    ws: WebSocketUpgrade,
    kind: TransportKind,
) -> Response {
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
    let mut ws = ws.max_message_size(MAX_FRAME).max_frame_size(MAX_FRAME);
    ws.set_selected_protocol(HeaderValue::from_static(SUBPROTOCOL));
    ws.on_upgrade(move |socket| run(gw, socket, kind))
}

/// One connection: frames in to the gateway, queued messages out, pings, until either side
/// closes or the process stops.
async fn run(gw: Arc<Gateway>, socket: WebSocket, kind: TransportKind) {
    let (id, mut outbox) = gw.transports.open(kind, None);
    let source = flow_dest(kind, None, id);
    info!(conn = id, "WebSocket connected");
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
                    debug!(conn = id, error = %e, "WebSocket error");
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
