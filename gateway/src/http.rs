//! The HTTP side: the softphone page's static files, `GET /api/config`, the SIP WebSocket
//! endpoint `GET /ws` (RFC 7118 §4, RFC 6455 §4 upgrade over HTTP/1.1) and `GET /metrics`
//! (Prometheus text format), the recordings of `crate::recordings`, and the MSRP WebSocket
//! `GET /msrp` (RFC 7977) of `crate::msrp::ws`.

use crate::gateway::Gateway;
use axum::extract::connect_info::ConnectInfo;
use axum::extract::{Extension, State, WebSocketUpgrade};
use axum::http::{header, HeaderMap};
use axum::response::IntoResponse;
use axum::routing::get;
use axum::{Json, Router};
use sipsimple::transaction::TransportKind;
use std::sync::Arc;
use tower_http::services::ServeDir;

/// The path of the SIP WebSocket endpoint, as `/api/config` tells the page.
pub const WS_PATH: &str = "/ws";

/// The MSRP relay, when there is one, for `/msrp` and `/metrics`.
type Msrp = Option<Arc<crate::msrp::Relay>>;

/// The routes of the HTTP (`kind` WS) or HTTPS (`kind` WSS) listener; `msrp` adds the MSRP
/// WebSocket endpoint.
pub fn router(gw: Arc<Gateway>, kind: TransportKind, msrp: Msrp) -> Router {
    let files = ServeDir::new(&gw.cfg.web_dir);
    let ws =
        move |state: State<Arc<Gateway>>,
              peer: ConnectInfo<std::net::SocketAddr>,
              headers: HeaderMap,
              up: WebSocketUpgrade| { crate::ws::upgrade(state, peer, headers, up, kind) };
    let secure = kind == TransportKind::Wss;
    let msrp_ws = move |Extension(relay): Extension<Msrp>,
                        ConnectInfo(peer): ConnectInfo<std::net::SocketAddr>,
                        headers: HeaderMap,
                        up: WebSocketUpgrade| async move {
        match relay {
            Some(r) => crate::msrp::ws::upgrade(r, peer, &headers, up, secure),
            None => axum::http::StatusCode::NOT_FOUND.into_response(),
        }
    };
    Router::new()
        .route("/api/config", get(api_config))
        .route("/metrics", get(metrics))
        .route("/api/recordings", get(crate::recordings::list))
        .route("/api/recordings/{name}", get(crate::recordings::download))
        .route(WS_PATH, get(ws))
        .route(crate::msrp::ws::PATH, get(msrp_ws))
        .fallback_service(files)
        .with_state(gw)
        .layer(Extension(msrp))
}

/// What the page needs to connect: the SIP domain and where the WebSocket is.
async fn api_config(State(gw): State<Arc<Gateway>>) -> Json<serde_json::Value> {
    Json(serde_json::json!({
        "domain": gw.cfg.domain,
        "ws_path": WS_PATH,
    }))
}

/// The counters, in the Prometheus text exposition format.
async fn metrics(
    State(gw): State<Arc<Gateway>>,
    Extension(msrp): Extension<Msrp>,
) -> impl IntoResponse {
    let mut text = gw.metrics.render(gw.stats());
    if let Some(m) = gw.media.get() {
        text.push_str(&m.render_metrics());
    }
    if let Some(m) = msrp {
        text.push_str(&m.render_metrics());
    }
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        text,
    )
}
