//! # sipsimple-wasm — sipsimple-rs in the browser
//!
//! The shell around the sans-IO core (`sipsimple`): it owns the WebSocket to the gateway
//! (SIP over WebSocket, RFC 7118, subprotocol `sip`), one `setTimeout` timer and the
//! observers, and drives a [`sipsimple::UserAgent`] with the loop the core documents.
//! Protocol decisions stay in the core.
//!
//! ```js
//! import init, { SIPApplication } from './pkg/sipsimple_wasm.js';
//! await init();
//! const app = new SIPApplication({ server: 'ws://127.0.0.1:8080/ws',
//!                                  id: 'alice@sipsimple.local', password: 'secret' });
//! app.addObserver(n => console.log(n.name, n.data));
//! await app.start();                       // opens the WebSocket and registers
//! // A dropped WebSocket is reopened by itself (SIPApplicationWillReconnect, then
//! // SIPApplicationDidReconnect and a new registration) until stop() is called.
//! const id = app.connect('sip:service@127.0.0.1:5070');
//! app.hold(id); app.unhold(id);
//! app.sendDtmf(id, '5');                  // INFO application/dtmf-relay; SIPSessionGotDTMF in
//! app.startRecordingAudio(id);             // the gateway records: SIPSession*RecordingAudio
//! app.audioRecordingFileName(id); app.stopRecordingAudio(id);
//! app.end(id);
//! // Incoming sessions: SIPSessionNewIncoming, then app.accept(id) or app.reject(id, busy).
//! ```

mod desktop;
mod msrp;

use sipsimple::cpim::DateTime;
use sipsimple::{AccountConfig, Output, Time, Transport, UserAgent};
use std::cell::RefCell;
use std::rc::{Rc, Weak};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use web_sys::{CloseEvent, MessageEvent, WebSocket};

/// What a drive pass produced for JavaScript, delivered once no borrow is held, so that
/// observers may call back into the application.
type Pending = Vec<JsValue>;

struct Inner {
    ua: UserAgent,
    server: String,
    ws: Option<WebSocket>,
    observers: Vec<Observer>,
    timer: Option<i32>,
    timer_cb: Option<Closure<dyn FnMut()>>,
    ws_cbs: Vec<Closure<dyn FnMut(JsValue)>>,
    /// The previous socket's callbacks, kept one generation longer: one of them may be the
    /// code running when the next socket is opened.
    old_ws_cbs: Vec<Closure<dyn FnMut(JsValue)>>,
    /// Counts the sockets opened, so that a stale socket's events are ignored.
    generation: u32,
    /// The current socket has opened (and not closed since).
    connected: bool,
    started: bool,
    /// `stop()` was called: close the socket as soon as the unregistration is answered.
    stopping: bool,
    /// Reopen a dropped WebSocket by itself (`options.reconnect`, default true).
    reconnect: bool,
    /// The cap of the reconnection back-off in ms (`options.maxReconnectDelay`).
    max_reconnect_delay: f64,
    /// The reconnection attempt under way (0 while connected or before the first open).
    attempt: u32,
    reconnect_timer: Option<i32>,
    reconnect_cb: Option<Closure<dyn FnMut()>>,
    /// The window's `online` listener while a reconnection waits: the network is back (a
    /// new Wi-Fi, a cable plugged in), so the next attempt goes now rather than after its
    /// back-off.
    online_cb: Option<Closure<dyn FnMut()>>,
    online_listening: bool,
    /// The code and reason of the last close, for `SIPApplicationDidEnd`.
    last_close: (u16, String),
    /// Chat and file transfer over the gateway's MSRP relay (`msrp.rs`).
    msrp: msrp::Msrp,
    /// The desktop-sharing viewers and their canvases (`desktop.rs`).
    desktop: desktop::Desktop,
}

/// The first reconnection delay in ms; each further attempt doubles it, up to the cap.
const FIRST_RECONNECT_DELAY: f64 = 500.0;
/// The default cap of the reconnection delay in ms.
const MAX_RECONNECT_DELAY: f64 = 30_000.0;

/// The application: one account, its registration and its sessions, over one WebSocket.
///
/// Notifications are plain objects `{name, sender: {type, id}, data, timestamp}` with the
/// names of the SIP SIMPLE middleware API (`SIPAccountRegistrationDidSucceed`,
/// `SIPSessionDidStart`, ...), plus the shell's own `SIPApplicationDidStart`,
/// `SIPApplicationWillReconnect`, `SIPApplicationDidReconnect` and `SIPApplicationDidEnd`.
#[wasm_bindgen]
pub struct SIPApplication {
    inner: Rc<RefCell<Inner>>,
}

fn now() -> Time {
    let ms = web_sys::window()
        .and_then(|w| w.performance())
        .map(|p| p.now())
        .unwrap_or_else(js_sys::Date::now);
    Time::from_millis(ms.max(0.0) as u64)
}

/// The wall clock in the browser's local time, for the names of recordings.
fn wall_clock() -> Option<DateTime> {
    let ms = js_sys::Date::now();
    let date = js_sys::Date::new(&JsValue::from_f64(ms));
    // getTimezoneOffset is UTC minus local time, in minutes.
    let offset = (-date.get_timezone_offset()).round() as i16;
    let secs = (ms / 1000.0).floor();
    let nanos = ((ms - secs * 1000.0).max(0.0) * 1_000_000.0) as u32;
    let secs = secs as i64;
    DateTime::from_unix(secs, nanos.min(999_999_999), offset)
        .or_else(|| DateTime::from_unix(secs, nanos.min(999_999_999), 0))
}

fn seed() -> u64 {
    let mut buf = [0u8; 8];
    let filled = web_sys::window()
        .and_then(|w| w.crypto().ok())
        .and_then(|c| c.get_random_values_with_u8_array(&mut buf).ok())
        .is_some();
    if !filled {
        // No Web Crypto (very old engines): fall back to Math.random, weaker but working.
        for b in &mut buf {
            *b = (js_sys::Math::random() * 256.0) as u8;
        }
    }
    u64::from_le_bytes(buf)
}

/// One registration of the notification centre: a handler, with the name and the sender it
/// is for (`None`: any).
#[derive(Clone)]
struct Observer {
    name: Option<String>,
    sender: Option<JsValue>,
    handler: js_sys::Function,
}

impl Observer {
    /// `(handler)`, `(name, handler)` or `(name, sender, handler)`.
    fn from_args(a: JsValue, b: JsValue, c: JsValue) -> Result<Observer, JsError> {
        let usage =
            || JsError::new("addObserver(handler), (name, handler) or (name, sender, handler)");
        if let Some(f) = a.dyn_ref::<js_sys::Function>() {
            return Ok(Observer {
                name: None,
                sender: None,
                handler: f.clone(),
            });
        }
        let name = a.as_string().ok_or_else(usage)?;
        let name = (name != "*").then_some(name);
        if let Some(f) = b.dyn_ref::<js_sys::Function>() {
            return Ok(Observer {
                name,
                sender: None,
                handler: f.clone(),
            });
        }
        let f = c.dyn_ref::<js_sys::Function>().ok_or_else(usage)?;
        let sender = (!b.is_undefined() && !b.is_null()).then_some(b);
        Ok(Observer {
            name,
            sender,
            handler: f.clone(),
        })
    }

    /// Whether notification `n` (`{name, sender, data, timestamp}`) is for this observer.
    fn wants(&self, n: &JsValue) -> bool {
        let field =
            |v: &JsValue, k: &str| js_sys::Reflect::get(v, &k.into()).unwrap_or(JsValue::UNDEFINED);
        if let Some(name) = &self.name {
            if field(n, "name").as_string().as_deref() != Some(name.as_str()) {
                return false;
            }
        }
        let Some(want) = &self.sender else {
            return true;
        };
        let sender = field(n, "sender");
        if let Some(id) = want.as_f64() {
            return field(&sender, "id").as_f64() == Some(id);
        }
        if let Some(kind) = want.as_string() {
            return field(&sender, "type").as_string() == Some(kind);
        }
        // A sender object: the same type and, where it has one, the same id (and m-line).
        ["type", "id", "index"].iter().all(|k| {
            let w = field(want, k);
            w.is_undefined() || js_sys::Object::is(&w, &field(&sender, k))
        })
    }

    /// Whether removing `self` removes `o`: the same handler, and the same name and sender
    /// when `self` names them.
    fn removes(&self, o: &Observer) -> bool {
        let same = |a: &JsValue, b: &JsValue| js_sys::Object::is(a, b);
        same(self.handler.as_ref(), o.handler.as_ref())
            && (self.name.is_none() || self.name == o.name)
            && match (&self.sender, &o.sender) {
                (None, _) => true,
                (Some(a), Some(b)) => same(a, b),
                (Some(_), None) => false,
            }
    }
}

fn get_str(opts: &JsValue, key: &str) -> Option<String> {
    js_sys::Reflect::get(opts, &JsValue::from_str(key))
        .ok()
        .and_then(|v| v.as_string())
}

fn data_object(fields: &[(&str, JsValue)]) -> JsValue {
    let o = js_sys::Object::new();
    for (k, v) in fields {
        let _ = js_sys::Reflect::set(&o, &JsValue::from_str(k), v);
    }
    o.into()
}

fn notification_object(name: &str, sender: JsValue, data: JsValue) -> JsValue {
    let o = js_sys::Object::new();
    let set = |k: &str, v: &JsValue| {
        let _ = js_sys::Reflect::set(&o, &JsValue::from_str(k), v);
    };
    set("name", &JsValue::from_str(name));
    set("sender", &sender);
    set("data", &data);
    set("timestamp", &js_sys::Date::new_0().into());
    o.into()
}

#[wasm_bindgen]
impl SIPApplication {
    /// Creates the application. `options`: `server` (the gateway's WebSocket URL), `id`
    /// (`user@domain`), `password`, optional `displayName` and `authUsername`; `reconnect`
    /// (default true) reopens a dropped WebSocket with exponential back-off (0.5 s, 1 s,
    /// 2 s, ... with jitter) capped at `maxReconnectDelay` ms (default 30000).
    #[wasm_bindgen(constructor)]
    pub fn new(options: JsValue) -> Result<SIPApplication, JsError> {
        let server = get_str(&options, "server").ok_or_else(|| {
            JsError::new("options.server (the gateway WebSocket URL) is required")
        })?;
        if !server.starts_with("ws://") && !server.starts_with("wss://") {
            return Err(JsError::new("options.server must be a ws:// or wss:// URL"));
        }
        let id = get_str(&options, "id")
            .ok_or_else(|| JsError::new("options.id (user@domain) is required"))?;
        let password = get_str(&options, "password").unwrap_or_default();
        let mut cfg = AccountConfig::new(&id, &password);
        cfg.display_name = get_str(&options, "displayName").filter(|s| !s.is_empty());
        cfg.auth_username = get_str(&options, "authUsername").filter(|s| !s.is_empty());
        cfg.transport = if server.starts_with("wss://") {
            Transport::Wss
        } else {
            Transport::Ws
        };
        let get = |k: &str| js_sys::Reflect::get(&options, &JsValue::from_str(k)).ok();
        let reconnect = get("reconnect").and_then(|v| v.as_bool()).unwrap_or(true);
        let max_reconnect_delay = match get("maxReconnectDelay").filter(|v| !v.is_undefined()) {
            None => MAX_RECONNECT_DELAY,
            Some(v) => v
                .as_f64()
                .filter(|d| d.is_finite() && *d >= 0.0)
                .ok_or_else(|| {
                    JsError::new("options.maxReconnectDelay must be a number of ms (>= 0)")
                })?,
        };
        // MSRP over the relay's WebSocket: plain `msrp:` URIs unless the page is on wss.
        cfg.msrp_tls = server.starts_with("wss://");
        let auth_user = cfg
            .auth_username
            .clone()
            .unwrap_or_else(|| id.split('@').next().unwrap_or(&id).to_string());
        let relay = get("msrpRelay").unwrap_or(JsValue::UNDEFINED);
        if !(relay.is_undefined() || relay.as_bool() == Some(false)) {
            let ok = relay
                .as_string()
                .is_some_and(|u| u.starts_with("ws://") || u.starts_with("wss://"));
            if !ok {
                return Err(JsError::new(
                    "options.msrpRelay must be a ws:// or wss:// URL, or false",
                ));
            }
        }
        let msrp = msrp::Msrp::new(&server, &relay, &auth_user, &password, seed());
        let ua = UserAgent::new(cfg, seed()).map_err(|e| JsError::new(&e.to_string()))?;
        let app = SIPApplication {
            inner: Rc::new(RefCell::new(Inner {
                ua,
                server,
                ws: None,
                observers: Vec::new(),
                timer: None,
                timer_cb: None,
                ws_cbs: Vec::new(),
                old_ws_cbs: Vec::new(),
                generation: 0,
                connected: false,
                started: false,
                stopping: false,
                reconnect,
                max_reconnect_delay,
                attempt: 0,
                reconnect_timer: None,
                reconnect_cb: None,
                online_cb: None,
                online_listening: false,
                last_close: (1005, String::new()),
                msrp,
                desktop: desktop::Desktop::default(),
            })),
        };
        app.inner.borrow_mut().msrp.me = Rc::downgrade(&app.inner);
        Ok(app)
    }

    /// Adds an observer, the seed's NotificationCenter way: `addObserver(handler)` for every
    /// notification, `addObserver(name, handler)` for one name (`'*'`: all), and
    /// `addObserver(name, sender, handler)` for one name from one sender: a session id, a
    /// sender type (`'Session'`, `'Account'`, ...) or a sender object (`n.sender`).
    #[wasm_bindgen(js_name = addObserver)]
    pub fn add_observer(&self, a: JsValue, b: JsValue, c: JsValue) -> Result<(), JsError> {
        let o = Observer::from_args(a, b, c)?;
        self.inner.borrow_mut().observers.push(o);
        Ok(())
    }

    /// Removes what `addObserver` added with the same arguments (the same function object;
    /// a name or sender narrows which registrations of it go).
    #[wasm_bindgen(js_name = removeObserver)]
    pub fn remove_observer(&self, a: JsValue, b: JsValue, c: JsValue) -> Result<(), JsError> {
        let gone = Observer::from_args(a, b, c)?;
        self.inner
            .borrow_mut()
            .observers
            .retain(|o| !gone.removes(o));
        Ok(())
    }

    /// EventTarget style: `on(name, handler)` is `addObserver(name, handler)`.
    pub fn on(&self, name: JsValue, handler: JsValue) -> Result<(), JsError> {
        self.add_observer(name, handler, JsValue::UNDEFINED)
    }

    /// Undoes `on(name, handler)`.
    pub fn off(&self, name: JsValue, handler: JsValue) -> Result<(), JsError> {
        self.remove_observer(name, handler, JsValue::UNDEFINED)
    }

    /// The account's address of record, `sip:user@domain`.
    #[wasm_bindgen(getter)]
    pub fn aor(&self) -> String {
        self.inner.borrow().ua.aor().to_string()
    }

    /// Opens the WebSocket; resolves once it is open and the REGISTER is on its way,
    /// rejects when the connection fails. Later drops are reconnected by themselves (see
    /// the `reconnect` option) until `stop()`.
    pub fn start(&self) -> Result<js_sys::Promise, JsError> {
        if self.inner.borrow().started {
            return Err(JsError::new("the application is already started"));
        }
        let (server, generation) = {
            let mut inner = self.inner.borrow_mut();
            inner.generation = inner.generation.wrapping_add(1);
            inner.attempt = 0;
            (inner.server.clone(), inner.generation)
        };
        let weak = Rc::downgrade(&self.inner);
        let mut opened = None;
        let promise = js_sys::Promise::new(&mut |resolve, reject| {
            opened = Some(open_socket(
                &server,
                &weak,
                generation,
                Some((resolve, reject)),
            ));
        });
        let (ws, cbs) = opened
            .expect("the promise executor runs at once")
            .map_err(|e| JsError::new(&format!("cannot open the WebSocket: {e:?}")))?;
        let mut inner = self.inner.borrow_mut();
        inner.old_ws_cbs = std::mem::replace(&mut inner.ws_cbs, cbs);
        inner.ws = Some(ws);
        inner.connected = false;
        inner.started = true;
        Ok(promise)
    }

    /// Unregisters and closes the WebSocket as soon as the registrar answered (after 2 s at
    /// most); while waiting to reconnect it ends at once. `start()` may be called again once
    /// `SIPApplicationDidEnd` arrived.
    pub fn stop(&self) {
        with_inner(&Rc::downgrade(&self.inner), |inner, out| {
            if inner.started && inner.ws.is_none() {
                // Waiting to reconnect: nothing to unregister over, the application ends now.
                cancel_reconnect(inner);
                end(inner, out);
                return;
            }
            inner.stopping = true;
            inner.ua.unregister(now())
        });
        let weak = Rc::downgrade(&self.inner);
        let close = Closure::once_into_js(move || {
            if let Some(inner) = weak.upgrade() {
                if let Some(ws) = inner.borrow_mut().ws.take() {
                    let _ = ws.close();
                }
            }
        });
        if let Some(w) = web_sys::window() {
            let _ = w
                .set_timeout_with_callback_and_timeout_and_arguments_0(close.unchecked_ref(), 2000);
        }
    }

    /// Registers the account again (after `unregister` or a failure).
    pub fn register(&self) {
        with_inner(&Rc::downgrade(&self.inner), |inner, _| {
            inner.ua.register(now())
        });
    }

    /// Removes the registration.
    pub fn unregister(&self) {
        with_inner(&Rc::downgrade(&self.inner), |inner, _| {
            inner.ua.unregister(now())
        });
    }

    /// Starts an outgoing session to `target` (`sip:bob@example.com` or `bob@example.com`)
    /// offering `sdp` (the page's WebRTC offer) or a placeholder audio offer, and returns its
    /// id; the session's notifications carry `sender: {type: "Session", id}`.
    pub fn connect(&self, target: &str, sdp: Option<String>) -> Result<f64, JsError> {
        let mut result = Ok(0.0);
        with_inner(&Rc::downgrade(&self.inner), |inner, _| {
            result = inner
                .ua
                .connect(now(), target, sdp.as_deref())
                .map(|id| id as f64)
                .map_err(|e| JsError::new(&e.to_string()));
        });
        result
    }

    /// Ends a session: CANCEL while calling, 603 while incoming, BYE once established.
    pub fn end(&self, session: f64) -> Result<(), JsError> {
        self.command(|ua, t| ua.end(t, session as u64))
    }

    /// Accepts an incoming session (`SIPSessionNewIncoming`), answering its offer with
    /// `sdpAnswer` (the page's WebRTC answer to `remoteSdp(id)`) or a placeholder answer.
    pub fn accept(&self, session: f64, sdp_answer: Option<String>) -> Result<(), JsError> {
        self.command(|ua, t| ua.accept(t, session as u64, sdp_answer.as_deref()))
    }

    /// Rejects an incoming session with 486 Busy Here (`busy`) or 603 Decline.
    pub fn reject(&self, session: f64, busy: bool) -> Result<(), JsError> {
        self.command(|ua, t| ua.reject(t, session as u64, busy))
    }

    /// Puts an established session on hold (`SIPSessionGotHoldRequest` follows).
    pub fn hold(&self, session: f64) -> Result<(), JsError> {
        self.command(|ua, t| ua.hold(t, session as u64))
    }

    /// Takes an established session off hold (`SIPSessionGotUnholdRequest` follows).
    pub fn unhold(&self, session: f64) -> Result<(), JsError> {
        self.command(|ua, t| ua.unhold(t, session as u64))
    }

    /// Sends a DTMF digit (`0`-`9`, `*`, `#`, `A`-`D`, any case) to the peer of an
    /// established session with audio, by SIP INFO; quick digits are sent one after the
    /// other, in order. Digits from the peer arrive as `SIPSessionGotDTMF {digit}`.
    #[wasm_bindgen(js_name = sendDtmf)]
    pub fn send_dtmf(&self, session: f64, digit: String) -> Result<(), JsError> {
        let mut chars = digit.chars();
        let (Some(c), None) = (chars.next(), chars.next()) else {
            return Err(JsError::new("digit must be one character: 0-9, *, #, A-D"));
        };
        self.command(|ua, t| ua.send_dtmf(t, session as u64, c))
    }

    /// Says that no audio came from the peer in the first 5 s of an established session's
    /// audio (BrowserMedia checks its WebRTC statistics): `SIPSessionGotNoAudio`, once per
    /// session (for a call the gateway anchors, its relay may have said so already).
    #[wasm_bindgen(js_name = reportNoAudio)]
    pub fn report_no_audio(&self, session: f64) -> Result<(), JsError> {
        self.command(|ua, t| ua.report_no_audio(t, session as u64))
    }

    /// Asks the gateway to record the audio of an established session to `fileName`, or
    /// to `<local user>-<remote user>-<YYYYMMDD-HHMMSS>.wav` (local time):
    /// `SIPSessionWillStartRecordingAudio {file_name}`, then
    /// `SIPSessionDidStartRecordingAudio {file_name}` with the name the recorder used.
    #[wasm_bindgen(js_name = startRecordingAudio)]
    pub fn start_recording_audio(
        &self,
        session: f64,
        file_name: Option<String>,
    ) -> Result<(), JsError> {
        let wall = wall_clock().ok_or_else(|| JsError::new("the clock is out of range"))?;
        self.command(|ua, t| {
            ua.start_recording_audio(t, session as u64, file_name.as_deref(), wall)
        })
    }

    /// Stops the recording: `SIPSessionWillStopRecordingAudio {file_name}`, then
    /// `SIPSessionDidStopRecordingAudio {file_name}`. A recording also stops when the
    /// session ends.
    #[wasm_bindgen(js_name = stopRecordingAudio)]
    pub fn stop_recording_audio(&self, session: f64) -> Result<(), JsError> {
        self.command(|ua, t| ua.stop_recording_audio(t, session as u64))
    }

    /// The file the gateway records the session's audio to (the seed's
    /// `audio_recording_file_name`), while recording.
    #[wasm_bindgen(js_name = audioRecordingFileName)]
    pub fn audio_recording_file_name(&self, session: f64) -> Option<String> {
        self.inner
            .borrow()
            .ua
            .session(session as u64)
            .and_then(|s| s.audio_recording_file_name())
            .map(str::to_string)
    }

    /// The peer's SDP in effect for a session (its offer while the session is incoming).
    #[wasm_bindgen(js_name = remoteSdp)]
    pub fn remote_sdp(&self, session: f64) -> Option<String> {
        self.inner
            .borrow()
            .ua
            .remote_sdp(session as u64)
            .map(str::to_string)
    }

    /// Our SDP in effect for a session.
    #[wasm_bindgen(js_name = localSdp)]
    pub fn local_sdp(&self, session: f64) -> Option<String> {
        self.inner
            .borrow()
            .ua
            .local_sdp(session as u64)
            .map(str::to_string)
    }

    /// The state of a session (`"ESTABLISHED"`, ...), if it is known.
    #[wasm_bindgen(js_name = sessionState)]
    pub fn session_state(&self, session: f64) -> Option<String> {
        self.inner
            .borrow()
            .ua
            .session_state(session as u64)
            .map(|s| s.name().to_string())
    }

    /// The seed's session attributes as a plain object: `state`, `direction`
    /// (`"incoming"`/`"outgoing"`), `local_uri`, `remote_uri`, `caller_uri`, `callee_uri`,
    /// `remote_user_agent`, `route`, `on_hold_by_local`, `on_hold_by_remote`, `on_hold`; `undefined`
    /// for an unknown id.
    pub fn session(&self, session: f64) -> JsValue {
        let inner = self.inner.borrow();
        let Some(s) = inner.ua.session(session as u64) else {
            return JsValue::UNDEFINED;
        };
        let o = js_sys::Object::new();
        let set = |k: &str, v: JsValue| {
            let _ = js_sys::Reflect::set(&o, &JsValue::from_str(k), &v);
        };
        set("id", JsValue::from_f64(session));
        set("state", JsValue::from_str(s.state().name()));
        let direction = match s.direction() {
            sipsimple::ua::SessionDirection::Incoming => "incoming",
            sipsimple::ua::SessionDirection::Outgoing => "outgoing",
        };
        set("direction", JsValue::from_str(direction));
        set("local_uri", JsValue::from_str(&s.local_uri().to_string()));
        set("remote_uri", JsValue::from_str(&s.remote_uri().to_string()));
        set("caller_uri", JsValue::from_str(&s.caller_uri().to_string()));
        set("callee_uri", JsValue::from_str(&s.callee_uri().to_string()));
        set(
            "remote_user_agent",
            s.remote_user_agent()
                .map_or(JsValue::NULL, JsValue::from_str),
        );
        set(
            "route",
            s.route()
                .map_or(JsValue::NULL, |r| JsValue::from_str(&r.uri().to_string())),
        );
        set("on_hold_by_local", JsValue::from_bool(s.on_hold_by_local()));
        set(
            "on_hold_by_remote",
            JsValue::from_bool(s.on_hold_by_remote()),
        );
        set("on_hold", JsValue::from_bool(s.on_hold()));
        // The seed's audio attributes, from the SDP in effect (null without audio).
        let opt_str = |v: Option<String>| v.map_or(JsValue::NULL, |v| JsValue::from_str(&v));
        set("audio_codec", opt_str(s.audio_codec()));
        set(
            "audio_sample_rate",
            s.audio_sample_rate()
                .map_or(JsValue::NULL, |r| JsValue::from_f64(f64::from(r))),
        );
        for (prefix, addr) in [
            ("local", s.audio_local_rtp()),
            ("remote", s.audio_remote_rtp()),
        ] {
            let (host, port) = addr.map_or((JsValue::NULL, JsValue::NULL), |(h, p)| {
                (JsValue::from_str(&h), JsValue::from_f64(f64::from(p)))
            });
            set(&format!("audio_{prefix}_rtp_address"), host);
            set(&format!("audio_{prefix}_rtp_port"), port);
        }
        set(
            "audio_srtp_active",
            JsValue::from_bool(s.audio_srtp_active()),
        );
        o.into()
    }

    /// Runs a session command, then drains the core.
    fn command(
        &self,
        f: impl FnOnce(&mut UserAgent, Time) -> Result<(), sipsimple::Error>,
    ) -> Result<(), JsError> {
        let mut result = Ok(());
        with_inner(&Rc::downgrade(&self.inner), |inner, _| {
            result = f(&mut inner.ua, now()).map_err(|e| JsError::new(&e.to_string()));
        });
        result
    }
}

/// Runs `f` on the application, then drains the core (sending, re-arming the timer) and
/// delivers the notifications after the borrow is released.
fn with_inner(weak: &Weak<RefCell<Inner>>, f: impl FnOnce(&mut Inner, &mut Pending)) {
    let Some(rc) = weak.upgrade() else { return };
    let mut pending: Pending = Vec::new();
    let observers = {
        let Ok(mut inner) = rc.try_borrow_mut() else {
            return;
        };
        f(&mut inner, &mut pending);
        drain(&mut inner, &mut pending);
        arm_timer(&mut inner, weak.clone());
        inner.observers.clone()
    };
    for n in pending {
        for o in observers.iter().filter(|o| o.wants(&n)) {
            if let Err(e) = o.handler.call1(&JsValue::NULL, &n) {
                web_sys::console::error_2(&"sipsimple observer threw".into(), &e);
            }
        }
    }
}

fn drain(inner: &mut Inner, pending: &mut Pending) {
    loop {
        // MSRP first: a file's last data is kept before its FileTransferStreamDidFinish.
        msrp::drain(inner, pending);
        // The desktop viewers' bytes become MSRP output: drained again before going on.
        if desktop::drain(inner, pending) {
            continue;
        }
        let Some(out) = inner.ua.poll_output() else {
            break;
        };
        match out {
            Output::Transmit(bytes) => {
                let text = String::from_utf8_lossy(&bytes);
                let sent = inner.ws.as_ref().map(|ws| ws.send_with_str(&text));
                if !matches!(sent, Some(Ok(()))) {
                    web_sys::console::warn_1(
                        &"sipsimple: message not sent, no open WebSocket".into(),
                    );
                }
            }
            Output::Notification(n) => {
                let json = serde_json::to_string(&n).unwrap_or_default();
                let parsed = js_sys::JSON::parse(&json).unwrap_or(JsValue::NULL);
                let get =
                    |k: &str| js_sys::Reflect::get(&parsed, &k.into()).unwrap_or(JsValue::NULL);
                let data = get("data");
                let data = if data.is_undefined() || data.is_null() {
                    js_sys::Object::new().into()
                } else {
                    data
                };
                msrp::on_notification(inner, &n, pending);
                desktop::on_notification(inner, &n);
                if inner.stopping && n.event.name() == "SIPAccountRegistrationDidEnd" {
                    if let Some(ws) = inner.ws.as_ref() {
                        let _ = ws.close();
                    }
                }
                pending.push(notification_object(n.event.name(), get("sender"), data));
            }
        }
    }
}

fn arm_timer(inner: &mut Inner, weak: Weak<RefCell<Inner>>) {
    let Some(window) = web_sys::window() else {
        return;
    };
    if let Some(t) = inner.timer.take() {
        window.clear_timeout_with_handle(t);
    }
    let Some(at) = inner.ua.poll_timeout() else {
        return;
    };
    let delay = at
        .as_millis()
        .saturating_sub(now().as_millis())
        .min(i32::MAX as u64) as i32;
    // One closure serves every timer: replacing it while it runs would free running code.
    let cb = inner.timer_cb.get_or_insert_with(|| {
        Closure::new(move || {
            with_inner(&weak, |inner, _| {
                inner.timer = None;
                inner.ua.handle_timeout(now());
            });
        })
    });
    inner.timer = window
        .set_timeout_with_callback_and_timeout_and_arguments_0(cb.as_ref().unchecked_ref(), delay)
        .ok();
}

type SocketCallbacks = Vec<Closure<dyn FnMut(JsValue)>>;

/// Opens a WebSocket to `server` for socket `generation`, wired to the application; `first`
/// holds the `start()` promise's resolve and reject (none for a reconnection). Borrows
/// nothing synchronously: the caller stores the socket and its callbacks.
fn open_socket(
    server: &str,
    weak: &Weak<RefCell<Inner>>,
    generation: u32,
    first: Option<(js_sys::Function, js_sys::Function)>,
) -> Result<(WebSocket, SocketCallbacks), JsValue> {
    let ws = WebSocket::new_with_str(server, "sip")?;
    let (resolve, reject) = first.unzip();
    let current = move |inner: &Inner| inner.generation == generation;
    let mut cbs: SocketCallbacks = Vec::new();
    let w = weak.clone();
    cbs.push(Closure::new(move |_ev: JsValue| {
        if let Some(res) = &resolve {
            let _ = res.call0(&JsValue::NULL);
        }
        with_inner(&w, |inner, out| {
            if !current(inner) {
                return;
            }
            inner.connected = true;
            if inner.attempt == 0 {
                out.push(notification_object(
                    "SIPApplicationDidStart",
                    JsValue::NULL,
                    js_sys::Object::new().into(),
                ));
                inner.ua.register(now());
            } else {
                let attempt = std::mem::take(&mut inner.attempt);
                out.push(notification_object(
                    "SIPApplicationDidReconnect",
                    JsValue::NULL,
                    data_object(&[("attempt", attempt.into())]),
                ));
                // Sessions kept across the drop go on; the registration is renewed.
                inner.ua.handle_transport_opened(now());
            }
        });
    }));
    let w = weak.clone();
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
        with_inner(&w, |inner, _| {
            if current(inner) {
                inner.ua.handle_input(now(), &bytes)
            }
        });
    }));
    let w = weak.clone();
    cbs.push(Closure::new(move |ev: JsValue| {
        let (code, reason) = ev
            .dyn_ref::<CloseEvent>()
            .map(|c| (c.code(), c.reason()))
            .unwrap_or((0, String::new()));
        if let Some(rej) = &reject {
            // A no-op once the promise resolved.
            let _ = rej.call1(
                &JsValue::NULL,
                &JsError::new(&format!("WebSocket closed ({code} {reason})")).into(),
            );
        }
        with_inner(&w, |inner, out| {
            if !current(inner) {
                return;
            }
            let was_open = std::mem::replace(&mut inner.connected, false);
            inner.ws = None;
            inner.last_close = (code, reason);
            if was_open {
                inner.ua.handle_transport_closed(now());
                // The core's notifications of the drop come before the shell's own.
                drain(inner, out);
            }
            // The first connection failing, or `stop()`, ends the application; a drop
            // afterwards is reconnected unless the options say otherwise.
            let first_failed = !was_open && inner.attempt == 0;
            if inner.stopping || !inner.reconnect || first_failed {
                end(inner, out);
            } else {
                schedule_reconnect(inner, w.clone(), out);
            }
        });
    }));
    ws.set_onopen(Some(cbs[0].as_ref().unchecked_ref()));
    ws.set_onmessage(Some(cbs[1].as_ref().unchecked_ref()));
    ws.set_onclose(Some(cbs[2].as_ref().unchecked_ref()));
    Ok((ws, cbs))
}

/// The application ended: a closed application may be started again (a new WebSocket).
fn end(inner: &mut Inner, out: &mut Pending) {
    msrp::stop(inner);
    inner.desktop = desktop::Desktop::default();
    drain(inner, out);
    inner.started = false;
    inner.stopping = false;
    inner.connected = false;
    inner.attempt = 0;
    inner.ws = None;
    stop_online_listener(inner);
    let (code, reason) = inner.last_close.clone();
    out.push(notification_object(
        "SIPApplicationDidEnd",
        JsValue::NULL,
        data_object(&[("code", code.into()), ("reason", reason.into())]),
    ));
}

fn cancel_reconnect(inner: &mut Inner) {
    if let Some(t) = inner.reconnect_timer.take() {
        if let Some(w) = web_sys::window() {
            w.clear_timeout_with_handle(t);
        }
    }
}

/// Schedules the next reconnection attempt: 0.5 s, 1 s, 2 s, ... up to the cap, each with
/// ±25 % jitter (so that many clients of a restarted gateway do not come back at once).
fn schedule_reconnect(inner: &mut Inner, weak: Weak<RefCell<Inner>>, out: &mut Pending) {
    cancel_reconnect(inner);
    inner.attempt = inner.attempt.saturating_add(1);
    let exp = FIRST_RECONNECT_DELAY * 2f64.powi(inner.attempt.saturating_sub(1).min(30) as i32);
    let jitter = 0.75 + 0.5 * js_sys::Math::random();
    let delay = (exp.min(inner.max_reconnect_delay) * jitter)
        .min(inner.max_reconnect_delay)
        .round();
    out.push(notification_object(
        "SIPApplicationWillReconnect",
        JsValue::NULL,
        data_object(&[("attempt", inner.attempt.into()), ("delay", delay.into())]),
    ));
    let Some(window) = web_sys::window() else {
        return;
    };
    let online = weak.clone();
    // One closure serves every attempt: replacing it while it runs would free running code.
    let cb = inner.reconnect_cb.get_or_insert_with(|| {
        Closure::new(move || {
            let w = weak.clone();
            with_inner(&weak, |inner, out| {
                inner.reconnect_timer = None;
                if !inner.started || inner.stopping || inner.ws.is_some() {
                    return;
                }
                inner.generation = inner.generation.wrapping_add(1);
                let server = inner.server.clone();
                match open_socket(&server, &w, inner.generation, None) {
                    Ok((ws, cbs)) => {
                        inner.old_ws_cbs = std::mem::replace(&mut inner.ws_cbs, cbs);
                        inner.ws = Some(ws);
                    }
                    Err(e) => {
                        web_sys::console::warn_2(
                            &"sipsimple: cannot reopen the WebSocket".into(),
                            &e,
                        );
                        schedule_reconnect(inner, w.clone(), out);
                    }
                }
            });
        })
    });
    inner.reconnect_timer = window
        .set_timeout_with_callback_and_timeout_and_arguments_0(
            cb.as_ref().unchecked_ref(),
            delay as i32,
        )
        .ok();
    listen_for_online(inner, &window, online);
}

/// Listens for the window's `online` event while a reconnection waits: when it fires, the
/// pending attempt goes at once (`SIPApplicationWillReconnect` with `delay` 0).
fn listen_for_online(inner: &mut Inner, window: &web_sys::Window, weak: Weak<RefCell<Inner>>) {
    if inner.online_listening {
        return;
    }
    let cb = inner.online_cb.get_or_insert_with(|| {
        Closure::new(move || {
            with_inner(&weak, |inner, out| {
                if inner.reconnect_timer.is_none() || !inner.started || inner.stopping {
                    return;
                }
                let Some(window) = web_sys::window() else {
                    return;
                };
                cancel_reconnect(inner);
                let Some(cb) = inner.reconnect_cb.as_ref() else {
                    return;
                };
                let timer = window
                    .set_timeout_with_callback_and_timeout_and_arguments_0(
                        cb.as_ref().unchecked_ref(),
                        0,
                    )
                    .ok();
                inner.reconnect_timer = timer;
                out.push(notification_object(
                    "SIPApplicationWillReconnect",
                    JsValue::NULL,
                    data_object(&[("attempt", inner.attempt.into()), ("delay", 0.into())]),
                ));
            });
        })
    });
    inner.online_listening = window
        .add_event_listener_with_callback("online", cb.as_ref().unchecked_ref())
        .is_ok();
}

fn stop_online_listener(inner: &mut Inner) {
    if !inner.online_listening {
        return;
    }
    inner.online_listening = false;
    if let (Some(window), Some(cb)) = (web_sys::window(), inner.online_cb.as_ref()) {
        let _ = window.remove_event_listener_with_callback("online", cb.as_ref().unchecked_ref());
    }
}
