//! `GET /api/recordings` and `GET /api/recordings/{name}`: a user lists and downloads the
//! call recordings the media relay wrote for them (`<recordings_dir>/<user>/`).
//!
//! Authentication is HTTP Basic (RFC 7617) checked against the same HA1 hashes as SIP
//! digest (`MD5(user:realm:password)`, RFC 7616 §3.4.2), so no plain password is stored;
//! serve it over HTTPS beyond loopback. Wrong answers are counted per source address and
//! lock it out like the SIP side's lockout.

use crate::gateway::Gateway;
use crate::media::session::safe_name;
use axum::body::Body;
use axum::extract::connect_info::ConnectInfo;
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, HeaderValue, Request, StatusCode};
use axum::response::{IntoResponse, Response};
use sipsimple::auth::{ha1, Algorithm};
use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant, UNIX_EPOCH};
use tower::ServiceExt;
use tower_http::services::ServeFile;

/// Wrong answers from one address within [`WINDOW`] that lock it out for [`LOCKOUT`].
const MAX_FAILURES: u32 = 10;
const WINDOW: Duration = Duration::from_secs(300);
const LOCKOUT: Duration = Duration::from_secs(900);

/// One source's wrong answers: how many, the first one's time, and the lockout's end.
type Tally = (u32, Instant, Option<Instant>);

/// Failed Basic answers per source address.
#[derive(Debug, Default)]
pub struct Failures(Mutex<HashMap<IpAddr, Tally>>);

impl Failures {
    fn locked(&self, ip: IpAddr) -> bool {
        let map = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        map.get(&ip)
            .and_then(|e| e.2)
            .is_some_and(|until| Instant::now() < until)
    }

    fn failed(&self, ip: IpAddr) {
        let mut map = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        let now = Instant::now();
        if map.len() > 10_000 {
            map.retain(|_, e| now.duration_since(e.1) < WINDOW);
        }
        let e = map.entry(ip).or_insert((0, now, None));
        if now.duration_since(e.1) > WINDOW {
            *e = (0, now, None);
        }
        e.0 += 1;
        if e.0 >= MAX_FAILURES {
            e.2 = Some(now + LOCKOUT);
        }
    }

    fn succeeded(&self, ip: IpAddr) {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(&ip);
    }
}

fn unauthorized(gw: &Gateway) -> Response {
    let challenge = format!("Basic realm=\"{}\", charset=\"UTF-8\"", gw.cfg.domain);
    let mut r = (StatusCode::UNAUTHORIZED, "credentials needed\n").into_response();
    if let Ok(v) = HeaderValue::from_str(&challenge) {
        r.headers_mut().insert(header::WWW_AUTHENTICATE, v);
    }
    r
}

/// Constant-time comparison of two hex digests.
fn same(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes().zip(b.bytes()).fold(0u8, |acc, (x, y)| {
            acc | (x.to_ascii_lowercase() ^ y.to_ascii_lowercase())
        }) == 0
}

/// The user the request's Basic credentials prove, or the response to send instead.
async fn authenticate(gw: &Gateway, ip: IpAddr, headers: &HeaderMap) -> Result<String, Response> {
    let Some(media) = gw.media.get() else {
        return Err((StatusCode::NOT_FOUND, "media is off\n").into_response());
    };
    let failures = media.http_failures();
    if failures.locked(ip) {
        return Err((
            StatusCode::TOO_MANY_REQUESTS,
            "too many wrong passwords; try later\n",
        )
            .into_response());
    }
    let Some(value) = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            v.strip_prefix("Basic ")
                .or_else(|| v.strip_prefix("basic "))
        })
    else {
        return Err(unauthorized(gw));
    };
    let decoded = crate::base64::decode(value.trim())
        .and_then(|b| String::from_utf8(b).ok())
        .unwrap_or_default();
    let Some((user, password)) = decoded.split_once(':') else {
        failures.failed(ip);
        return Err(unauthorized(gw));
    };
    let realm = &gw.cfg.domain;
    match gw.store.hashes(user, realm).await {
        Ok(Some(h)) if same(&h.md5, &ha1(Algorithm::Md5, user, realm, password)) => {
            failures.succeeded(ip);
            Ok(user.to_string())
        }
        Ok(_) => {
            failures.failed(ip);
            Err(unauthorized(gw))
        }
        Err(e) => {
            tracing::warn!(error = %e, "user store failed during a recordings request");
            Err((StatusCode::SERVICE_UNAVAILABLE, "user store unavailable\n").into_response())
        }
    }
}

fn folder(gw: &Gateway, user: &str) -> Option<std::path::PathBuf> {
    let media = gw.media.get()?;
    Some(media.recordings_dir().join(safe_name(user)))
}

/// `GET /api/recordings`: the caller's recordings, newest first, as JSON
/// `[{"name", "size", "modified_ms"}]`.
pub async fn list(
    State(gw): State<Arc<Gateway>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
) -> Response {
    let user = match authenticate(&gw, peer.ip(), &headers).await {
        Ok(u) => u,
        Err(r) => return r,
    };
    let Some(dir) = folder(&gw, &user) else {
        return (StatusCode::NOT_FOUND, "media is off\n").into_response();
    };
    let mut out = Vec::new();
    if let Ok(mut rd) = tokio::fs::read_dir(&dir).await {
        while let Ok(Some(e)) = rd.next_entry().await {
            let name = e.file_name().to_string_lossy().into_owned();
            if !name.ends_with(".wav") {
                continue;
            }
            let Ok(meta) = e.metadata().await else {
                continue;
            };
            let modified = meta
                .modified()
                .ok()
                .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
                .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX));
            out.push(
                serde_json::json!({ "name": name, "size": meta.len(), "modified_ms": modified }),
            );
        }
    }
    out.sort_by_key(|v| std::cmp::Reverse(v["modified_ms"].as_u64().unwrap_or(0)));
    axum::Json(out).into_response()
}

/// `GET /api/recordings/{name}`: one of the caller's recordings, streamed (ranges allowed).
pub async fn download(
    State(gw): State<Arc<Gateway>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    Path(name): Path<String>,
    headers: HeaderMap,
) -> Response {
    let user = match authenticate(&gw, peer.ip(), &headers).await {
        Ok(u) => u,
        Err(r) => return r,
    };
    // Only a plain file name of this user's folder: nothing with a path in it.
    if safe_name(&name) != name || !name.ends_with(".wav") {
        return (StatusCode::NOT_FOUND, "no such recording\n").into_response();
    }
    let Some(dir) = folder(&gw, &user) else {
        return (StatusCode::NOT_FOUND, "media is off\n").into_response();
    };
    let path = dir.join(&name);
    if !path.is_file() {
        return (StatusCode::NOT_FOUND, "no such recording\n").into_response();
    }
    let mut req = Request::new(Body::empty());
    if let Some(r) = headers.get(header::RANGE) {
        req.headers_mut().insert(header::RANGE, r.clone());
    }
    match ServeFile::new(&path).oneshot(req).await {
        Ok(mut r) => {
            if let Ok(v) = HeaderValue::from_str(&format!("attachment; filename=\"{name}\"")) {
                r.headers_mut().insert(header::CONTENT_DISPOSITION, v);
            }
            r.map(Body::new).into_response()
        }
        Err(e) => (StatusCode::INTERNAL_SERVER_ERROR, format!("{e}\n")).into_response(),
    }
}
