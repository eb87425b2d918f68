//! MSRP in the browser: chat and file transfer through the gateway's MSRP relay.
//!
//! A browser cannot open TCP connections, so every MSRP stream goes through the relay
//! (RFC 4976) over one WebSocket (RFC 7977, `GET /msrp`, subprotocol `msrp`) opened next to
//! the SIP WebSocket once the account registered:
//!
//! 1. `AUTH` with the account's digest credentials ([`AuthClient`]); the relay's 200 carries
//!    the `Use-Path`, which becomes the user agent's relay path
//!    ([`UserAgent::set_msrp_relay_path`]): every chat or file stream negotiated from then on
//!    writes it before our own URI in `a=path` and "connects" to the relay.
//! 2. The relay binds the URIs it issued to this WebSocket, so all streams share it: a
//!    [`MsrpOutput::Connect`] is answered at once with `handle_msrp_connected`, `Send` bytes go
//!    out as one WebSocket message each, and every message received is routed to its stream
//!    by the session id of the last To-Path URI (our own URI in that stream's `a=path`).
//! 3. Files sent are read from the `File` the page gave, a slice at a time
//!    (`blob.slice(a, b).arrayBuffer()`, read ahead by [`READ_AHEAD`] bytes); files received
//!    are kept as the chunks' `Uint8Array`s and made into one `Blob` when the transfer
//!    finished (`receivedFile`).
//! 4. A dropped relay WebSocket fails the streams on it (the core reports undelivered
//!    messages and failed transfers), clears the relay path and is reopened with back-off:
//!    `SIPApplicationMSRPRelayDidFail`, later `SIPApplicationMSRPRelayDidConnect`.
//!
//! [`UserAgent::set_msrp_relay_path`]: sipsimple::UserAgent::set_msrp_relay_path

use super::{data_object, notification_object, now, with_inner, Inner, Pending, SIPApplication};
use sipsimple::file_selector::{FileSelector, MediaType};
use sipsimple::iscomposing::State;
use sipsimple::msrp::auth::{AuthClient, AuthStep};
use sipsimple::msrp::{Frame, Uri};
use sipsimple::notification::{Event, Notification, Sender};
use sipsimple::rng::Rng;
use sipsimple::sdp::SessionDescription;
use sipsimple::ua::{msrp_session_id_of, MsrpOutput, MsrpPeek};
use sipsimple::UserAgent;
use std::cell::RefCell;
use std::collections::{BTreeSet, HashMap, VecDeque};
use std::rc::Weak;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use web_sys::{BinaryType, CloseEvent, MessageEvent, WebSocket};

/// A stream: session id and m-line.
type Key = (u64, usize);

/// Bytes of a file being sent read from its `Blob` at once.
const READ_AHEAD: u64 = 1024 * 1024;
/// The first delay before reopening the relay WebSocket, in ms; doubled per attempt.
const FIRST_RETRY: f64 = 1000.0;
/// The cap of that delay, in ms.
const MAX_RETRY: f64 = 30_000.0;
/// Messages for streams not known yet kept to be routed later (the peer's first SEND
/// overtaking our own stream's start).
const MAX_UNROUTED: usize = 64;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum RelayState {
    /// No relay WebSocket.
    Off,
    /// The WebSocket is opening.
    Connecting,
    /// The AUTH exchange is under way.
    Authenticating,
    /// Authenticated: the relay path is set.
    Ready,
}

/// A file being sent: the page's `Blob` and what of it was read.
struct OutFile {
    blob: web_sys::Blob,
    size: u64,
    /// The bytes read last, from `cache_start`.
    cache: Option<js_sys::Uint8Array>,
    cache_start: u64,
    /// A read is under way.
    reading: bool,
    /// The piece the core asked for and did not get yet.
    need: Option<(u64, usize)>,
}

/// The MSRP side of the application.
pub(crate) struct Msrp {
    /// The relay's WebSocket URL; `None`: MSRP is off (`options.msrpRelay: false`).
    url: Option<String>,
    /// The relay's URI for the AUTH (`msrp://host:port;ws`).
    relay_uri: String,
    user: String,
    password: String,
    rng: Rng,
    state: RelayState,
    ws: Option<WebSocket>,
    cbs: Vec<Closure<dyn FnMut(JsValue)>>,
    old_cbs: Vec<Closure<dyn FnMut(JsValue)>>,
    generation: u32,
    auth: Option<AuthClient>,
    /// The AUTH was refused: no retry until the next registration.
    refused: bool,
    attempt: u32,
    retry_timer: Option<i32>,
    retry_cb: Option<Closure<dyn FnMut()>>,
    /// The Use-Path granted, as strings.
    use_path: Vec<String>,
    /// Streams whose connection is up over the relay.
    connected: BTreeSet<Key>,
    /// Our URI's session id → stream.
    routes: HashMap<String, Key>,
    unrouted: VecDeque<(String, Vec<u8>)>,
    /// Files handed to `sendFile`, by session, not yet asked for by a stream.
    queued_files: HashMap<u64, VecDeque<web_sys::Blob>>,
    outgoing: HashMap<Key, OutFile>,
    incoming: HashMap<Key, Vec<(u64, js_sys::Uint8Array)>>,
    /// Finished received files: `{name, type, size, blob}`.
    received: HashMap<Key, JsValue>,
    pub(crate) me: Weak<RefCell<Inner>>,
}

/// `ws://host:port/ws` → `ws://host:port/msrp`.
fn relay_url_of(server: &str) -> String {
    let (scheme, rest) = server.split_once("://").unwrap_or(("ws", server));
    let authority = rest.split(['/', '?', '#']).next().unwrap_or(rest);
    format!("{scheme}://{authority}/msrp")
}

/// `ws://host:port/msrp` → `msrp://host:port;ws` (RFC 7977 §5.1: the relay's URI over WS).
fn relay_uri_of(url: &str) -> String {
    let secure = url.starts_with("wss://");
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    let authority = rest.split(['/', '?', '#']).next().unwrap_or(rest);
    let has_port = authority.rsplit_once(':').is_some_and(|(h, p)| {
        !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()) && !h.ends_with(':')
    }) && !authority.ends_with(']');
    let authority = if has_port {
        authority.to_string()
    } else {
        format!("{authority}:{}", if secure { 443 } else { 80 })
    };
    format!("{}://{authority};ws", if secure { "msrps" } else { "msrp" })
}

impl Msrp {
    /// The MSRP state of an application on `server` (`relay`: `options.msrpRelay`, a URL,
    /// or `false` for none) as `user` with `password`.
    pub(crate) fn new(
        server: &str,
        relay: &JsValue,
        user: &str,
        password: &str,
        seed: u64,
    ) -> Msrp {
        let url = if relay.as_bool() == Some(false) {
            None
        } else {
            Some(relay.as_string().unwrap_or_else(|| relay_url_of(server)))
        };
        let relay_uri = url.as_deref().map(relay_uri_of).unwrap_or_default();
        Msrp {
            url,
            relay_uri,
            user: user.to_string(),
            password: password.to_string(),
            rng: Rng::from_seed(seed),
            state: RelayState::Off,
            ws: None,
            cbs: Vec::new(),
            old_cbs: Vec::new(),
            generation: 0,
            auth: None,
            refused: false,
            attempt: 0,
            retry_timer: None,
            retry_cb: None,
            use_path: Vec::new(),
            connected: BTreeSet::new(),
            routes: HashMap::new(),
            unrouted: VecDeque::new(),
            queued_files: HashMap::new(),
            outgoing: HashMap::new(),
            incoming: HashMap::new(),
            received: HashMap::new(),
            me: Weak::new(),
        }
    }
}

fn warn(text: &str) {
    web_sys::console::warn_1(&format!("sipsimple: {text}").into());
}

/// The session id of our own URI for stream `key`: the last URI of its local `a=path`.
fn local_id(ua: &UserAgent, key: Key) -> Option<String> {
    let sdp = ua.local_sdp(key.0)?;
    let sd = SessionDescription::parse(sdp.as_bytes()).ok()?;
    let path = sd.media.get(key.1)?.msrp_path();
    Uri::parse(path.last()?).ok()?.session_id
}

/// Carries out the core's MSRP outputs; called before each notification is handled.
pub(crate) fn drain(inner: &mut Inner, out: &mut Pending) {
    while let Some(o) = inner.ua.poll_msrp() {
        match o {
            MsrpOutput::Connect {
                session, stream, ..
            }
            | MsrpOutput::Listen {
                session, stream, ..
            } => connect(inner, (session, stream), out),
            MsrpOutput::Send {
                session,
                stream,
                bytes,
            } => {
                let sent = inner
                    .msrp
                    .ws
                    .as_ref()
                    .map(|ws| ws.send_with_u8_array(&bytes));
                if !matches!(sent, Some(Ok(()))) {
                    warn("MSRP frame not sent, the relay WebSocket is not open");
                    stream_lost(inner, (session, stream));
                }
            }
            MsrpOutput::Close { session, stream } => {
                let key = (session, stream);
                let m = &mut inner.msrp;
                m.connected.remove(&key);
                m.routes.retain(|_, k| *k != key);
            }
            MsrpOutput::NeedData {
                session,
                stream,
                offset,
                max_len,
            } => need_data(inner, (session, stream), offset, max_len),
            MsrpOutput::FileData {
                session,
                stream,
                offset,
                bytes,
            } => {
                let part = js_sys::Uint8Array::from(bytes.as_slice());
                inner
                    .msrp
                    .incoming
                    .entry((session, stream))
                    .or_default()
                    .push((offset, part));
            }
        }
    }
}

/// A stream's connection is wanted: over the relay when it is ready (and the stream's
/// path goes through it), else the stream fails at once.
fn connect(inner: &mut Inner, key: Key, _out: &mut Pending) {
    let ready = inner.msrp.state == RelayState::Ready && inner.msrp.ws.is_some();
    let via_relay = inner
        .ua
        .local_sdp(key.0)
        .and_then(|sdp| SessionDescription::parse(sdp.as_bytes()).ok())
        .and_then(|sd| sd.media.get(key.1).map(|m| m.msrp_path().len() > 1))
        .unwrap_or(false);
    if !ready || !via_relay {
        warn(if ready {
            "this MSRP stream was negotiated without the relay; a browser cannot connect directly"
        } else {
            "no MSRP relay connection: the chat or file stream cannot connect"
        });
        let _ = inner.ua.handle_msrp_closed(now(), key.0, key.1);
        return;
    }
    inner.msrp.connected.insert(key);
    if let Some(id) = local_id(&inner.ua, key) {
        inner.msrp.routes.insert(id, key);
    }
    let _ = inner.ua.handle_msrp_connected(now(), key.0, key.1);
    // Messages that came for this stream before it was known.
    let waiting: Vec<(String, Vec<u8>)> = inner.msrp.unrouted.drain(..).collect();
    for (id, bytes) in waiting {
        route_message(inner, id, bytes);
    }
}

/// The stream's connection cannot carry on: the core fails it.
fn stream_lost(inner: &mut Inner, key: Key) {
    if inner.msrp.connected.remove(&key) {
        inner.msrp.routes.retain(|_, k| *k != key);
        let _ = inner.ua.handle_msrp_closed(now(), key.0, key.1);
    }
}

/// Hands an MSRP message from the relay to its stream.
fn route_message(inner: &mut Inner, id: String, bytes: Vec<u8>) {
    let mut key = inner.msrp.routes.get(&id).copied();
    if key.is_none() {
        // A stream connected before its local description named it: look again.
        let found = inner
            .msrp
            .connected
            .iter()
            .copied()
            .find(|k| local_id(&inner.ua, *k).as_deref() == Some(id.as_str()));
        if let Some(k) = found {
            inner.msrp.routes.insert(id.clone(), k);
            key = Some(k);
        }
    }
    match key {
        Some((session, stream)) => {
            let _ = inner.ua.handle_msrp_input(now(), session, stream, &bytes);
        }
        None => {
            let m = &mut inner.msrp;
            if m.unrouted.len() >= MAX_UNROUTED {
                m.unrouted.pop_front();
            }
            m.unrouted.push_back((id, bytes));
        }
    }
}

/// The core asks for `max_len` bytes of the file sent on `key` from `offset`.
fn need_data(inner: &mut Inner, key: Key, offset: u64, max_len: usize) {
    let m = &mut inner.msrp;
    if !m.outgoing.contains_key(&key) {
        let blob = m.queued_files.get_mut(&key.0).and_then(VecDeque::pop_front);
        let Some(blob) = blob else {
            warn("the core asked for file data of a stream without a file");
            stream_lost(inner, key);
            return;
        };
        let size = blob.size() as u64;
        m.outgoing.insert(
            key,
            OutFile {
                blob,
                size,
                cache: None,
                cache_start: 0,
                reading: false,
                need: None,
            },
        );
    }
    let Some(f) = m.outgoing.get_mut(&key) else {
        return;
    };
    f.need = Some((offset, max_len));
    serve(inner, key);
}

/// Gives the core the piece it waits for from the read-ahead, or starts reading it.
fn serve(inner: &mut Inner, key: Key) {
    let me = inner.msrp.me.clone();
    let Some(f) = inner.msrp.outgoing.get_mut(&key) else {
        return;
    };
    let Some((offset, max_len)) = f.need else {
        return;
    };
    let cached = f.cache.as_ref().and_then(|c| {
        let end = f.cache_start + u64::from(c.length());
        (offset >= f.cache_start && offset < end).then(|| {
            let from = (offset - f.cache_start) as u32;
            let to = (u64::from(from) + max_len as u64).min(u64::from(c.length())) as u32;
            c.subarray(from, to).to_vec()
        })
    });
    if let Some(bytes) = cached {
        f.need = None;
        if let Err(e) = inner.ua.push_file_data(now(), key.0, key.1, offset, &bytes) {
            warn(&format!("file data refused: {e}"));
        }
        return;
    }
    if f.reading {
        return;
    }
    if offset >= f.size {
        warn("the core asked for file data beyond the end of the file");
        return;
    }
    f.reading = true;
    let end = (offset + READ_AHEAD).min(f.size);
    let promise = match f.blob.slice_with_f64_and_f64(offset as f64, end as f64) {
        Ok(slice) => slice.array_buffer(),
        Err(e) => {
            web_sys::console::warn_2(&"sipsimple: cannot slice the file".into(), &e);
            stream_lost(inner, key);
            return;
        }
    };
    let ok_me = me.clone();
    let ok = Closure::once_into_js(move |buf: JsValue| {
        with_inner(&ok_me, |inner, _| {
            let Some(f) = inner.msrp.outgoing.get_mut(&key) else {
                return;
            };
            f.reading = false;
            f.cache = buf
                .dyn_into::<js_sys::ArrayBuffer>()
                .ok()
                .map(|b| js_sys::Uint8Array::new(&b));
            f.cache_start = offset;
            serve(inner, key);
        });
    });
    let err = Closure::once_into_js(move |e: JsValue| {
        web_sys::console::warn_2(&"sipsimple: cannot read the file being sent".into(), &e);
        with_inner(&me, |inner, _| {
            inner.msrp.outgoing.remove(&key);
            stream_lost(inner, key);
        });
    });
    let then = js_sys::Reflect::get(&promise, &"then".into())
        .ok()
        .and_then(|t| t.dyn_into::<js_sys::Function>().ok());
    if let Some(then) = then {
        let _ = then.call2(&promise, &ok, &err);
    }
}

/// Looks at a core notification before the observers get it: the relay starts once the
/// account registered, and a finished transfer's file is made (or dropped).
pub(crate) fn on_notification(inner: &mut Inner, n: &Notification, out: &mut Pending) {
    match (&n.event, &n.sender) {
        (Event::SIPAccountRegistrationDidSucceed { .. }, _) => {
            inner.msrp.refused = false;
            if inner.msrp.state == RelayState::Off && inner.msrp.retry_timer.is_none() {
                open(inner, out);
            }
        }
        (Event::FileTransferStreamDidFinish { error }, Sender::Stream { session, index }) => {
            let key = (*session, *index);
            let m = &mut inner.msrp;
            let sent = m.outgoing.remove(&key).is_some();
            let parts = m.incoming.remove(&key);
            if error.is_some() {
                return;
            }
            let selector = inner.ua.file_selector(key.0, key.1);
            let name = selector
                .and_then(|s| s.name.clone())
                .unwrap_or_else(|| "file".to_string());
            let name = sipsimple::stream::unique_file_name(&name, |_| false)
                .unwrap_or_else(|| "file".to_string());
            let media_type = selector
                .and_then(|s| s.media_type.as_ref())
                .map_or_else(|| "application/octet-stream".to_string(), |t| t.essence());
            let mut parts = match parts {
                Some(p) => p,
                // Sent, not received (or an empty file received).
                None if selector.and_then(|s| s.size) != Some(0) || sent => return,
                None => Vec::new(),
            };
            parts.sort_by_key(|(o, _)| *o);
            let seq = js_sys::Array::new();
            for (_, p) in parts {
                seq.push(&p);
            }
            let opts = web_sys::BlobPropertyBag::new();
            opts.set_type(&media_type);
            let blob = match web_sys::Blob::new_with_u8_array_sequence_and_options(&seq, &opts) {
                Ok(b) => b,
                Err(e) => {
                    web_sys::console::warn_2(
                        &"sipsimple: cannot make the received file".into(),
                        &e,
                    );
                    return;
                }
            };
            let size = blob.size();
            let file = data_object(&[
                ("name", name.into()),
                ("type", media_type.into()),
                ("size", size.into()),
                ("blob", blob.into()),
            ]);
            inner.msrp.received.insert(key, file);
        }
        _ => {}
    }
}

/// Opens the relay WebSocket (when MSRP is on and it is not open).
fn open(inner: &mut Inner, out: &mut Pending) {
    let m = &mut inner.msrp;
    let Some(url) = m.url.clone() else { return };
    if m.ws.is_some() || m.refused || !inner.started || inner.stopping {
        return;
    }
    m.generation = m.generation.wrapping_add(1);
    let generation = m.generation;
    let ws = match WebSocket::new_with_str(&url, "msrp") {
        Ok(ws) => ws,
        Err(e) => {
            web_sys::console::warn_2(
                &"sipsimple: cannot open the MSRP relay WebSocket".into(),
                &e,
            );
            failed(inner, 0, "cannot open the MSRP relay WebSocket", true, out);
            return;
        }
    };
    ws.set_binary_type(BinaryType::Arraybuffer);
    let current = move |inner: &Inner| inner.msrp.generation == generation;
    let mut cbs: Vec<Closure<dyn FnMut(JsValue)>> = Vec::new();
    let w = m.me.clone();
    cbs.push(Closure::new(move |_ev: JsValue| {
        with_inner(&w, |inner, _| {
            if current(inner) {
                start_auth(inner);
            }
        });
    }));
    let w = m.me.clone();
    cbs.push(Closure::new(move |ev: JsValue| {
        let Ok(ev) = ev.dyn_into::<MessageEvent>() else {
            return;
        };
        let data = ev.data();
        let bytes = if let Some(text) = data.as_string() {
            text.into_bytes()
        } else if let Ok(buf) = data.dyn_into::<js_sys::ArrayBuffer>() {
            js_sys::Uint8Array::new(&buf).to_vec()
        } else {
            return;
        };
        with_inner(&w, |inner, out| {
            if current(inner) {
                on_message(inner, bytes, out);
            }
        });
    }));
    let w = m.me.clone();
    cbs.push(Closure::new(move |ev: JsValue| {
        let (code, reason) = ev
            .dyn_ref::<CloseEvent>()
            .map(|c| (c.code(), c.reason()))
            .unwrap_or((1006, String::new()));
        with_inner(&w, |inner, out| {
            if !current(inner) {
                return;
            }
            let reason = if reason.is_empty() {
                "the MSRP relay WebSocket closed".to_string()
            } else {
                reason
            };
            closed(inner, code, &reason, out);
        });
    }));
    ws.set_onopen(Some(cbs[0].as_ref().unchecked_ref()));
    ws.set_onmessage(Some(cbs[1].as_ref().unchecked_ref()));
    ws.set_onclose(Some(cbs[2].as_ref().unchecked_ref()));
    m.old_cbs = std::mem::replace(&mut m.cbs, cbs);
    m.ws = Some(ws);
    m.state = RelayState::Connecting;
}

/// The relay WebSocket opened: the first AUTH.
fn start_auth(inner: &mut Inner) {
    let m = &mut inner.msrp;
    let (Ok(relay), Ok(local)) = (
        Uri::parse(&m.relay_uri),
        Uri::parse(&format!(
            "msrp://{}.invalid:2855/{};ws",
            m.rng.letters(12),
            m.rng.token(16)
        )),
    ) else {
        warn("the MSRP relay URI is not valid");
        if let Some(ws) = m.ws.as_ref() {
            let _ = ws.close();
        }
        return;
    };
    let mut auth = AuthClient::new(relay, local, &m.user, &m.password);
    let frame = auth.start(&mut m.rng);
    m.auth = Some(auth);
    m.state = RelayState::Authenticating;
    if let Some(ws) = m.ws.as_ref() {
        let _ = ws.send_with_u8_array(&frame.to_bytes());
    }
}

/// A message from the relay: the AUTH's responses, else MSRP for a stream.
fn on_message(inner: &mut Inner, bytes: Vec<u8>, out: &mut Pending) {
    if inner.msrp.state == RelayState::Authenticating {
        let Ok(frame) = Frame::parse(&bytes) else {
            warn("unparsable message from the MSRP relay during AUTH");
            return;
        };
        let m = &mut inner.msrp;
        let Some(auth) = m.auth.as_mut() else { return };
        match auth.handle_response(&mut m.rng, &frame) {
            AuthStep::Ignored => {}
            AuthStep::Send(f) => {
                if let Some(ws) = m.ws.as_ref() {
                    let _ = ws.send_with_u8_array(&f.to_bytes());
                }
            }
            AuthStep::Done { use_path, expires } => {
                m.auth = None;
                m.state = RelayState::Ready;
                m.attempt = 0;
                m.use_path = use_path.iter().map(ToString::to_string).collect();
                let path = js_sys::Array::new();
                for u in &m.use_path {
                    path.push(&JsValue::from_str(u));
                }
                inner.ua.set_msrp_relay_path(inner.msrp.use_path.clone());
                out.push(notification_object(
                    "SIPApplicationMSRPRelayDidConnect",
                    JsValue::NULL,
                    data_object(&[
                        ("use_path", path.into()),
                        ("expires", expires.map_or(JsValue::NULL, JsValue::from)),
                    ]),
                ));
            }
            AuthStep::Failed { code, reason } => {
                m.auth = None;
                m.refused = true;
                let reason = format!("MSRP relay AUTH failed: {reason}");
                if let Some(ws) = m.ws.take() {
                    let _ = ws.close();
                }
                m.generation = m.generation.wrapping_add(1);
                m.state = RelayState::Off;
                failed(inner, code, &reason, false, out);
            }
        }
        return;
    }
    match msrp_session_id_of(&bytes) {
        MsrpPeek::SessionId(id) => route_message(inner, id, bytes),
        _ => warn("a message from the MSRP relay that names no stream"),
    }
}

/// The relay WebSocket closed (or never opened).
fn closed(inner: &mut Inner, code: u16, reason: &str, out: &mut Pending) {
    let m = &mut inner.msrp;
    m.ws = None;
    m.auth = None;
    m.state = RelayState::Off;
    m.use_path.clear();
    m.routes.clear();
    m.unrouted.clear();
    let lost: Vec<Key> = std::mem::take(&mut m.connected).into_iter().collect();
    inner.ua.set_msrp_relay_path(Vec::new());
    for key in lost {
        let _ = inner.ua.handle_msrp_closed(now(), key.0, key.1);
    }
    let retry = inner.started && !inner.stopping && !inner.msrp.refused;
    failed(inner, code, reason, retry, out);
}

/// Says the relay failed, and schedules the next attempt when `retry`.
fn failed(inner: &mut Inner, code: u16, reason: &str, retry: bool, out: &mut Pending) {
    let m = &mut inner.msrp;
    let mut delay = JsValue::NULL;
    if retry {
        m.attempt = m.attempt.saturating_add(1);
        let d = (FIRST_RETRY * 2f64.powi(m.attempt.saturating_sub(1).min(16) as i32))
            .min(MAX_RETRY)
            .round();
        delay = d.into();
        let me = m.me.clone();
        let cb = m.retry_cb.get_or_insert_with(|| {
            Closure::new(move || {
                with_inner(&me, |inner, out| {
                    inner.msrp.retry_timer = None;
                    if inner.msrp.state == RelayState::Off {
                        open(inner, out);
                    }
                });
            })
        });
        if let Some(w) = web_sys::window() {
            if let Some(t) = m.retry_timer.take() {
                w.clear_timeout_with_handle(t);
            }
            m.retry_timer = w
                .set_timeout_with_callback_and_timeout_and_arguments_0(
                    cb.as_ref().unchecked_ref(),
                    d as i32,
                )
                .ok();
        }
    }
    out.push(notification_object(
        "SIPApplicationMSRPRelayDidFail",
        JsValue::NULL,
        data_object(&[
            ("code", code.into()),
            ("reason", reason.into()),
            ("attempt", inner.msrp.attempt.into()),
            ("delay", delay),
        ]),
    ));
}

/// The application ends: the relay WebSocket closes, no retry.
pub(crate) fn stop(inner: &mut Inner) {
    let m = &mut inner.msrp;
    if let Some(t) = m.retry_timer.take() {
        if let Some(w) = web_sys::window() {
            w.clear_timeout_with_handle(t);
        }
    }
    m.generation = m.generation.wrapping_add(1);
    if let Some(ws) = m.ws.take() {
        let _ = ws.close();
    }
    m.state = RelayState::Off;
    m.auth = None;
    m.attempt = 0;
    m.use_path.clear();
    m.routes.clear();
    m.unrouted.clear();
    let lost: Vec<Key> = std::mem::take(&mut m.connected).into_iter().collect();
    inner.ua.set_msrp_relay_path(Vec::new());
    for key in lost {
        let _ = inner.ua.handle_msrp_closed(now(), key.0, key.1);
    }
}

/// The selector of a `File` (or `Blob`) to send: name, type and size (RFC 5547).
fn selector_of(file: &web_sys::Blob) -> FileSelector {
    let name = file
        .dyn_ref::<web_sys::File>()
        .map(web_sys::File::name)
        .filter(|n| !n.is_empty())
        .unwrap_or_else(|| "file".to_string());
    let t = file.type_();
    FileSelector {
        name: Some(name),
        media_type: MediaType::parse(&t).or_else(|| MediaType::parse("application/octet-stream")),
        size: Some(file.size() as u64),
        hash: None,
    }
}

fn session_id(v: f64) -> u64 {
    v as u64
}

#[wasm_bindgen]
impl SIPApplication {
    /// Starts a chat session to `target` (the seed's `connect(..., chat=True)`); returns its
    /// id. The chat stream's MSRP goes through the gateway's relay, which must be connected
    /// (`SIPApplicationMSRPRelayDidConnect`). To chat during an audio call, `connect` first,
    /// then `addChat`.
    #[wasm_bindgen(js_name = connectChat)]
    pub fn connect_chat(&self, target: &str) -> Result<f64, JsError> {
        let mut result = Ok(0.0);
        with_inner(&self.inner_weak(), |inner, _| {
            result = inner
                .ua
                .connect_with(now(), target, &[sipsimple::stream::CHAT])
                .map(|id| id as f64)
                .map_err(|e| JsError::new(&e.to_string()));
        });
        result
    }

    /// Proposes a chat stream to an established session (re-INVITE; the peer accepts it
    /// with `acceptProposal`, then `SIPSessionGotStreamUpdate`).
    #[wasm_bindgen(js_name = addChat)]
    pub fn add_chat(&self, session: f64) -> Result<(), JsError> {
        self.command(|ua, t| ua.add_chat(t, session_id(session)))
    }

    /// Removes the session's chat stream (re-INVITE with its port 0).
    #[wasm_bindgen(js_name = removeChat)]
    pub fn remove_chat(&self, session: f64) -> Result<(), JsError> {
        self.command(|ua, t| ua.remove_chat(t, session_id(session)))
    }

    /// Accepts the peer's stream proposal (`SIPSessionGotStreamProposal`) for the stream
    /// types in `types` (default: every proposed one).
    #[wasm_bindgen(js_name = acceptProposal)]
    pub fn accept_proposal(&self, session: f64, types: Option<Vec<String>>) -> Result<(), JsError> {
        let types = types.unwrap_or_else(|| self.proposed(session));
        let refs: Vec<&str> = types.iter().map(String::as_str).collect();
        self.command(|ua, t| ua.accept_proposal_of(t, session_id(session), &refs))
    }

    /// Rejects the peer's stream proposal (488).
    #[wasm_bindgen(js_name = rejectProposal)]
    pub fn reject_proposal(&self, session: f64) -> Result<(), JsError> {
        self.command(|ua, t| ua.reject_proposal(t, session_id(session)))
    }

    /// Sends a chat message on the session's chat stream; returns its message id, which
    /// `SIPSessionDidDeliverMessage` / `SIPSessionDidNotDeliverMessage` carry.
    #[wasm_bindgen(js_name = sendMessage)]
    pub fn send_message(
        &self,
        session: f64,
        text: &str,
        content_type: Option<String>,
    ) -> Result<String, JsError> {
        let ct = content_type.unwrap_or_else(|| "text/plain".to_string());
        let mut result = Ok(String::new());
        with_inner(&self.inner_weak(), |inner, _| {
            result = inner
                .ua
                .send_message(now(), session_id(session), text.as_bytes(), &ct)
                .map_err(|e| JsError::new(&e.to_string()));
        });
        result
    }

    /// Sends an RFC 3994 composing indication: `'active'` (refreshed every 60 s unless
    /// `idle` follows) or `'idle'`.
    #[wasm_bindgen(js_name = sendComposingIndication)]
    pub fn send_composing_indication(&self, session: f64, state: &str) -> Result<(), JsError> {
        let (state, refresh) = match state {
            "active" => (State::Active, Some(60)),
            "idle" => (State::Idle, None),
            _ => return Err(JsError::new("state must be 'active' or 'idle'")),
        };
        self.command(|ua, t| ua.send_composing_indication(t, session_id(session), state, refresh))
    }

    /// The local user typed in the session's chat: `active` and `idle` indications follow
    /// RFC 3994's refresh and idle timers by themselves.
    pub fn typing(&self, session: f64) -> Result<(), JsError> {
        self.command(|ua, t| ua.typing(t, session_id(session)))
    }

    /// Sends `file` (a `File` or `Blob`): to a new session with `target` (a SIP URI
    /// string), or on the established session `target` (a session id) as an added
    /// file-transfer stream. Returns the session id. The file is read a slice at a time;
    /// progress comes as `FileTransferStreamDidDeliverChunk`, the end as
    /// `FileTransferStreamDidFinish`.
    #[wasm_bindgen(js_name = sendFile)]
    pub fn send_file(&self, target: JsValue, file: web_sys::Blob) -> Result<f64, JsError> {
        let selector = selector_of(&file);
        let mut result = Ok(0.0);
        with_inner(&self.inner_weak(), |inner, _| {
            let r = if let Some(id) = target.as_f64() {
                inner
                    .ua
                    .add_file(now(), session_id(id), &selector)
                    .map(|()| session_id(id))
            } else if let Some(uri) = target.as_string() {
                inner.ua.connect_file(now(), &uri, &selector)
            } else {
                result = Err(JsError::new("target must be a SIP URI or a session id"));
                return;
            };
            result = match r {
                Ok(id) => {
                    inner
                        .msrp
                        .queued_files
                        .entry(id)
                        .or_default()
                        .push_back(file.clone());
                    Ok(id as f64)
                }
                Err(e) => Err(JsError::new(&e.to_string())),
            };
        });
        result
    }

    /// The file received on stream `stream` (the `index` of the notifications' stream
    /// sender) of `session`, once `FileTransferStreamDidFinish` reported success:
    /// `{name, type, size, blob}`; `undefined` before, or after a failure.
    #[wasm_bindgen(js_name = receivedFile)]
    pub fn received_file(&self, session: f64, stream: f64) -> JsValue {
        self.inner
            .borrow()
            .msrp
            .received
            .get(&(session_id(session), stream as usize))
            .cloned()
            .unwrap_or(JsValue::UNDEFINED)
    }

    /// Forgets a received file (`receivedFile`), releasing its `Blob`.
    #[wasm_bindgen(js_name = forgetReceivedFile)]
    pub fn forget_received_file(&self, session: f64, stream: f64) {
        self.inner
            .borrow_mut()
            .msrp
            .received
            .remove(&(session_id(session), stream as usize));
    }

    /// The MSRP relay's `Use-Path` once authenticated (empty before, or while the relay
    /// WebSocket is down).
    #[wasm_bindgen(getter, js_name = msrpRelayPath)]
    pub fn msrp_relay_path(&self) -> Vec<String> {
        self.inner.borrow().msrp.use_path.clone()
    }

    /// The stream types of a session in effect, in m-line order (`["audio", "chat"]`).
    pub fn streams(&self, session: f64) -> Vec<String> {
        self.inner
            .borrow()
            .ua
            .session(session_id(session))
            .map(|s| s.streams().into_iter().map(str::to_string).collect())
            .unwrap_or_default()
    }

    fn inner_weak(&self) -> Weak<RefCell<Inner>> {
        std::rc::Rc::downgrade(&self.inner)
    }

    /// The streams of the session's pending proposal.
    fn proposed(&self, session: f64) -> Vec<String> {
        self.inner
            .borrow()
            .ua
            .session(session_id(session))
            .map(|s| {
                s.proposed_streams()
                    .into_iter()
                    .map(str::to_string)
                    .collect()
            })
            .unwrap_or_default()
    }
}
