//! The HTTP side: the softphone page's static files, `GET /api/config`, the SIP WebSocket
//! endpoint `GET /ws` (RFC 7118 §4, RFC 6455 §4 upgrade over HTTP/1.1) and `GET /metrics`
//! (Prometheus text format), and the recordings of `crate::recordings`.

use crate::gateway::Gateway;
use axum::extract::connect_info::ConnectInfo;
use axum::extract::{State, WebSocketUpgrade};
use axum::http::{header, HeaderMap};
use axum::response::IntoResponse;
use axum::routing::get;
use axum::{Json, Router};
use sipsimple::transaction::TransportKind;
use std::sync::Arc;
use tower_http::services::ServeDir;

/// The path of the SIP WebSocket endpoint, as `/api/config` tells the page.
pub const WS_PATH: &str = "/ws";

/// The routes of the HTTP (`kind` WS) or HTTPS (`kind` WSS) listener.
pub fn router(gw: Arc<Gateway>, kind: TransportKind) -> Router {
    let files = ServeDir::new(&gw.cfg.web_dir);
    let ws =
        move |state: State<Arc<Gateway>>,
              peer: ConnectInfo<std::net::SocketAddr>,
              headers: HeaderMap,
              up: WebSocketUpgrade| { crate::ws::upgrade(state, peer, headers, up, kind) };
    Router::new()
        .route("/api/config", get(api_config))
        .route("/metrics", get(metrics))
        .route("/api/recordings", get(crate::recordings::list))
        .route("/api/recordings/{name}", get(crate::recordings::download))
        .route(WS_PATH, get(ws))
        .fallback_service(files)
        .with_state(gw)
}

/// What the page needs to connect: the SIP domain and where the WebSocket is.
async fn api_config(State(gw): State<Arc<Gateway>>) -> Json<serde_json::Value> {
    Json(serde_json::json!({
        "domain": gw.cfg.domain,
        "ws_path": WS_PATH,
    }))
}

/// The counters, in the Prometheus text exposition format.
async fn metrics(State(gw): State<Arc<Gateway>>) -> impl IntoResponse {
    let mut text = gw.metrics.render(gw.stats());
    if let Some(m) = gw.media.get() {
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
