//! Desktop sharing in the browser: the viewer of the seed's `DesktopSharingStream` (RFB,
//! RFC 6143, over MSRP), drawn on a `<canvas>`.
//!
//! The stream's MSRP goes through the gateway's relay like chat and files (`msrp.rs`). Once
//! the core says the stream is carried ([`DesktopOutput::Started`] with our role the
//! viewer), an RFB client ([`sipsimple::rfb::Client`]) is fed the peer's bytes
//! ([`DesktopOutput::Data`]); what it sends goes back with `push_desktop_data`. Each
//! rectangle it decodes is drawn on the session's canvas, if one is attached, with
//! `putImageData` of that rectangle; a canvas attached later gets the whole framebuffer.
//! Mouse and keyboard events on the canvas become RFB PointerEvents (canvas coordinates
//! scaled to the framebuffer, the button mask of the buttons held) and KeyEvents (X
//! keysyms). A browser cannot share its own desktop: asked to (our role the server), the
//! handler fails at once (`DesktopSharingHandlerDidFail`), and so it does when the RFB
//! client meets something it cannot decode.

use super::{notification_object, now, with_inner, Inner, Pending, SIPApplication};
use sipsimple::notification::{Event, Notification, Sender};
use sipsimple::rfb::{self, Event as RfbEvent, Output as RfbOutput};
use sipsimple::ua::{DesktopOutput, DesktopRole};
use sipsimple::vec_map::VecMap;
use std::cell::RefCell;
use std::rc::Weak;
use wasm_bindgen::prelude::*;
use wasm_bindgen::{Clamped, JsCast};
use web_sys::{CanvasRenderingContext2d, HtmlCanvasElement, ImageData, KeyboardEvent, MouseEvent};

/// A stream: session id and m-line.
type Key = (u64, usize);

/// A DOM event listener.
type Listener = Closure<dyn FnMut(web_sys::Event)>;

/// The name of the notification posted only to observers that ask for it by name.
const GOT_DATA: &str = "DesktopSharingStreamGotData";

/// The RFB client of one desktop-sharing stream we view.
struct Viewer {
    rfb: rfb::Client,
    /// FramebufferUpdates decoded so far.
    updates: u32,
    /// The CSS `cursor` of the remote pointer's shape (Cursor pseudo-encoding), once sent.
    cursor: Option<String>,
}

/// A canvas showing a session's desktop, with its input listeners.
struct Canvas {
    el: HtmlCanvasElement,
    ctx: CanvasRenderingContext2d,
    /// The input listener (none for a view-only canvas).
    listener: Option<Listener>,
}

impl Drop for Canvas {
    fn drop(&mut self) {
        if let Some(cb) = &self.listener {
            for name in INPUT_EVENTS {
                let _ = self
                    .el
                    .remove_event_listener_with_callback(name, cb.as_ref().unchecked_ref());
            }
        }
    }
}

/// The desktop-sharing side of the application.
#[derive(Default)]
pub(crate) struct Desktop {
    viewers: VecMap<Key, Viewer>,
    /// Canvases by session.
    canvases: VecMap<u64, Canvas>,
    /// VNC passwords by session (`options.password`), for servers that ask for one.
    passwords: VecMap<u64, String>,
}

/// The viewer of a session's desktop-sharing stream.
fn viewer_key(d: &Desktop, session: u64) -> Option<Key> {
    d.viewers.keys().copied().find(|k| k.0 == session)
}

/// Carries out the core's desktop outputs; `true` when there were any.
pub(crate) fn drain(inner: &mut Inner, out: &mut Pending) -> bool {
    let mut any = false;
    while let Some(o) = inner.ua.poll_desktop() {
        any = true;
        match o {
            DesktopOutput::Started {
                session,
                stream,
                role: DesktopRole::Viewer,
            } => {
                inner.desktop.viewers.insert(
                    (session, stream),
                    Viewer {
                        rfb: rfb::Client::default(),
                        updates: 0,
                        cursor: None,
                    },
                );
            }
            DesktopOutput::Started {
                session,
                stream,
                role: DesktopRole::Server,
            } => {
                let _ = inner.ua.desktop_handler_failed(
                    now(),
                    session,
                    stream,
                    "connecting",
                    "a browser cannot share its desktop",
                );
            }
            DesktopOutput::Data {
                session,
                stream,
                bytes,
            } => {
                if wants_data(inner) {
                    let sender = serde_json::to_string(&Sender::Stream {
                        session,
                        index: stream,
                    })
                    .ok()
                    .and_then(|s| js_sys::JSON::parse(&s).ok())
                    .unwrap_or(JsValue::NULL);
                    let data = js_sys::Object::new();
                    let array = js_sys::Uint8Array::from(bytes.as_slice());
                    let _ = js_sys::Reflect::set(&data, &"data".into(), &array);
                    out.push(notification_object(GOT_DATA, sender, data.into()));
                }
                feed(inner, (session, stream), &bytes);
            }
            DesktopOutput::Ended { session, stream } => {
                inner.desktop.viewers.remove(&(session, stream));
            }
        }
    }
    any
}

/// Whether an observer asked for `DesktopSharingStreamGotData` by name (the bytes of every
/// piece are copied to JavaScript only then).
fn wants_data(inner: &Inner) -> bool {
    inner
        .observers
        .iter()
        .any(|o| o.name.as_deref() == Some(GOT_DATA))
}

/// RFB bytes from the peer for the viewer of `key`.
fn feed(inner: &mut Inner, key: Key, bytes: &[u8]) {
    let Some(v) = inner.desktop.viewers.get_mut(&key) else {
        return;
    };
    if !v.rfb.has_password() {
        if let Some(p) = inner.desktop.passwords.get(&key.0) {
            v.rfb.set_password(p);
        }
    }
    let r = v.rfb.handle_input(bytes);
    pump(inner, key);
    if let Err(e) = r {
        inner.desktop.viewers.remove(&key);
        let _ = inner
            .ua
            .desktop_handler_failed(now(), key.0, key.1, "reading", &e.to_string());
    }
}

/// Moves the RFB client's outputs: bytes to the peer, pictures to the canvas.
fn pump(inner: &mut Inner, key: Key) {
    let Some(v) = inner.desktop.viewers.get_mut(&key) else {
        return;
    };
    let mut send = Vec::new();
    let canvas = inner.desktop.canvases.get(&key.0);
    while let Some(o) = v.rfb.poll_output() {
        match o {
            RfbOutput::Transmit(b) => send.extend(b),
            RfbOutput::Event(RfbEvent::Connected { .. } | RfbEvent::Resized { .. }) => {
                if let Some(c) = canvas {
                    size_canvas(c, &v.rfb);
                }
            }
            RfbOutput::Event(RfbEvent::Updated {
                x,
                y,
                width,
                height,
            }) => {
                if let Some(c) = canvas {
                    draw(c, &v.rfb, x, y, width, height);
                }
            }
            RfbOutput::Event(RfbEvent::UpdateDone) => v.updates = v.updates.saturating_add(1),
            RfbOutput::Event(RfbEvent::Cursor {
                hotspot_x,
                hotspot_y,
                width,
                height,
                rgba,
            }) => {
                let css = cursor_css(hotspot_x, hotspot_y, width, height, &rgba);
                if let Some(c) = canvas {
                    set_cursor(c, &css);
                }
                v.cursor = Some(css);
            }
            RfbOutput::Event(RfbEvent::Bell | RfbEvent::CutText(_)) => {}
        }
    }
    if !send.is_empty() {
        if let Err(e) = inner.ua.push_desktop_data(now(), key.0, key.1, &send) {
            web_sys::console::warn_1(&format!("sipsimple: RFB bytes not sent: {e}").into());
        }
    }
}

/// The CSS `cursor` value of a pointer shape: a PNG data URL with its hotspot, `none` for
/// an empty shape (the remote pointer is hidden), the default arrow if it cannot be drawn.
fn cursor_css(hx: u16, hy: u16, w: u16, h: u16, rgba: &[u8]) -> String {
    if w == 0 || h == 0 {
        return "none".into();
    }
    let url = web_sys::window()
        .and_then(|win| win.document())
        .and_then(|d| d.create_element("canvas").ok())
        .and_then(|e| e.dyn_into::<HtmlCanvasElement>().ok())
        .and_then(|el| {
            el.set_width(u32::from(w));
            el.set_height(u32::from(h));
            let ctx = el
                .get_context("2d")
                .ok()
                .flatten()?
                .dyn_into::<CanvasRenderingContext2d>()
                .ok()?;
            let img = ImageData::new_with_u8_clamped_array_and_sh(
                Clamped(rgba),
                u32::from(w),
                u32::from(h),
            )
            .ok()?;
            ctx.put_image_data(&img, 0.0, 0.0).ok()?;
            el.to_data_url().ok()
        });
    match url {
        Some(url) => format!("url(\"{url}\") {hx} {hy}, default"),
        None => "default".into(),
    }
}

/// Shows the remote pointer's shape on the canvas (CSS `cursor`).
fn set_cursor(c: &Canvas, css: &str) {
    let _ = c.el.style().set_property("cursor", css);
}

fn size_canvas(c: &Canvas, rfb: &rfb::Client) {
    let (w, h) = (u32::from(rfb.width()), u32::from(rfb.height()));
    if c.el.width() != w {
        c.el.set_width(w);
    }
    if c.el.height() != h {
        c.el.set_height(h);
    }
}

/// Draws a rectangle of the framebuffer on the canvas.
fn draw(c: &Canvas, rfb: &rfb::Client, x: u16, y: u16, w: u16, h: u16) {
    if w == 0 || h == 0 {
        return;
    }
    let data = rfb.rect_rgba(x, y, w, h);
    let w = u32::from(w.min(rfb.width().saturating_sub(x)));
    if w == 0 || data.is_empty() {
        return;
    }
    let h = (data.len() / 4) as u32 / w;
    match ImageData::new_with_u8_clamped_array_and_sh(Clamped(&data), w, h) {
        Ok(img) => {
            let _ = c.ctx.put_image_data(&img, f64::from(x), f64::from(y));
        }
        Err(e) => web_sys::console::warn_2(&"sipsimple: cannot draw the desktop".into(), &e),
    }
}

/// The framebuffer position of a mouse event on `canvas` (CSS pixels scaled).
fn position(canvas: &HtmlCanvasElement, e: &MouseEvent) -> (u16, u16) {
    let r = canvas.get_bounding_client_rect();
    let scale = |client: i32, start: f64, size: f64, pixels: u32| -> u16 {
        if size <= 0.0 {
            return 0;
        }
        let v = (f64::from(client) - start) * f64::from(pixels) / size;
        v.floor().clamp(0.0, f64::from(u16::MAX)) as u16
    };
    (
        scale(e.client_x(), r.left(), r.width(), canvas.width()),
        scale(e.client_y(), r.top(), r.height(), canvas.height()),
    )
}

/// The RFB button mask (bit 0 left, 1 middle, 2 right) of a DOM `buttons` value (1 left,
/// 2 right, 4 middle).
fn rfb_buttons(dom: u16) -> u8 {
    let mut m = 0;
    if dom & 1 != 0 {
        m |= 1;
    }
    if dom & 4 != 0 {
        m |= 2;
    }
    if dom & 2 != 0 {
        m |= 4;
    }
    m
}

/// The X keysym of a keyboard event's `key` (and `code`, for left and right modifiers).
fn keysym(key: &str, code: &str) -> Option<u32> {
    let right = code.ends_with("Right");
    let named = match key {
        "Backspace" => 0xff08,
        "Tab" => 0xff09,
        "Enter" => 0xff0d,
        "Escape" => 0xff1b,
        "Delete" => 0xffff,
        "Home" => 0xff50,
        "ArrowLeft" => 0xff51,
        "ArrowUp" => 0xff52,
        "ArrowRight" => 0xff53,
        "ArrowDown" => 0xff54,
        "PageUp" => 0xff55,
        "PageDown" => 0xff56,
        "End" => 0xff57,
        "Insert" => 0xff63,
        "Shift" if right => 0xffe2,
        "Shift" => 0xffe1,
        "Control" if right => 0xffe4,
        "Control" => 0xffe3,
        "CapsLock" => 0xffe5,
        "Alt" if right => 0xffea,
        "Alt" => 0xffe9,
        "AltGraph" => 0xfe03,
        "Meta" | "OS" if right => 0xffec,
        "Meta" | "OS" => 0xffeb,
        _ => {
            if let Some(n) = key.strip_prefix('F').and_then(|n| n.parse::<u32>().ok()) {
                return (1..=24).contains(&n).then(|| 0xffbd + n);
            }
            let mut chars = key.chars();
            let (Some(c), None) = (chars.next(), chars.next()) else {
                return None;
            };
            let cp = u32::from(c);
            // Latin-1 keysyms are the code points; others are 0x01000000 + the code point.
            return Some(
                if (0x20..=0x7e).contains(&cp) || (0xa0..=0xff).contains(&cp) {
                    cp
                } else {
                    0x0100_0000 + cp
                },
            );
        }
    };
    Some(named)
}

/// Sends a pointer event of `session`'s viewer.
fn pointer(inner: &mut Inner, session: u64, x: u16, y: u16, buttons: u8) {
    let Some(key) = viewer_key(&inner.desktop, session) else {
        return;
    };
    if let Some(v) = inner.desktop.viewers.get_mut(&key) {
        v.rfb.pointer_event(x, y, buttons);
    }
    pump(inner, key);
}

/// Sends a key event of `session`'s viewer.
fn key(inner: &mut Inner, session: u64, keysym: u32, down: bool) {
    let Some(k) = viewer_key(&inner.desktop, session) else {
        return;
    };
    if let Some(v) = inner.desktop.viewers.get_mut(&k) {
        v.rfb.key_event(keysym, down);
    }
    pump(inner, k);
}

/// The DOM events of the canvas that go to the remote desktop (one listener takes them all).
const INPUT_EVENTS: [&str; 7] = [
    "mousedown",
    "mouseup",
    "mousemove",
    "wheel",
    "contextmenu",
    "keydown",
    "keyup",
];

/// The input listener of a canvas showing `session`, added for each of [`INPUT_EVENTS`].
fn listener(weak: &Weak<RefCell<Inner>>, session: u64, el: &HtmlCanvasElement) -> Listener {
    let (w, canvas) = (weak.clone(), el.clone());
    let cb: Listener = Closure::new(move |e: web_sys::Event| on_input(&w, session, &canvas, &e));
    for name in INPUT_EVENTS {
        let _ = el.add_event_listener_with_callback(name, cb.as_ref().unchecked_ref());
    }
    cb
}

/// A mouse or keyboard event on the canvas of `session`.
fn on_input(
    w: &Weak<RefCell<Inner>>,
    session: u64,
    canvas: &HtmlCanvasElement,
    e: &web_sys::Event,
) {
    let kind = e.type_();
    if kind == "contextmenu" {
        e.prevent_default();
    } else if let Some(k) = e.dyn_ref::<KeyboardEvent>() {
        let Some(sym) = keysym(&k.key(), &k.code()) else {
            return;
        };
        e.prevent_default();
        let down = kind == "keydown";
        with_inner(w, |inner, _| key(inner, session, sym, down));
    } else if let Some(m) = e.dyn_ref::<MouseEvent>() {
        let (x, y) = position(canvas, m);
        let held = rfb_buttons(m.buttons());
        if kind == "wheel" {
            e.prevent_default();
            // Buttons 4 and 5 (mask bits 3 and 4): wheel up and down, pressed and released.
            let up = js_sys::Reflect::get(e, &"deltaY".into())
                .ok()
                .and_then(|d| d.as_f64())
                .is_some_and(|d| d < 0.0);
            let bit = if up { 8 } else { 16 };
            with_inner(w, |inner, _| {
                pointer(inner, session, x, y, held | bit);
                pointer(inner, session, x, y, held);
            });
            return;
        }
        if kind == "mousedown" {
            // Keys go to the desktop once it was clicked.
            let _ = canvas.focus();
            e.prevent_default();
        }
        with_inner(w, |inner, _| pointer(inner, session, x, y, held));
    }
}

/// Attaches `canvas` to `session` (replacing its canvas), or detaches it (`None`).
fn attach(
    inner: &mut Inner,
    session: u64,
    canvas: Option<HtmlCanvasElement>,
    options: &Option<js_sys::Object>,
) -> Result<(), JsError> {
    let option = |name: &str| {
        options
            .as_ref()
            .and_then(|o| js_sys::Reflect::get(o, &name.into()).ok())
    };
    if let Some(p) = option("password").and_then(|v| v.as_string()) {
        inner.desktop.passwords.insert(session, p);
    }
    let view_only = option("viewOnly")
        .and_then(|v| v.as_bool())
        .unwrap_or(false);
    inner.desktop.canvases.remove(&session);
    let Some(el) = canvas else {
        return Ok(());
    };
    let ctx = el
        .get_context("2d")
        .ok()
        .flatten()
        .and_then(|c| c.dyn_into::<CanvasRenderingContext2d>().ok())
        .ok_or_else(|| JsError::new("the canvas has no 2d context"))?;
    if !el.has_attribute("tabindex") {
        let _ = el.set_attribute("tabindex", "0");
    }
    let listener = (!view_only).then(|| listener(&inner.msrp.me, session, &el));
    let c = Canvas { el, ctx, listener };
    if let Some(key) = viewer_key(&inner.desktop, session) {
        if let Some(v) = inner.desktop.viewers.get(&key) {
            if v.rfb.is_connected() {
                size_canvas(&c, &v.rfb);
                draw(&c, &v.rfb, 0, 0, v.rfb.width(), v.rfb.height());
            }
            if let Some(css) = &v.cursor {
                set_cursor(&c, css);
            }
        }
    }
    inner.desktop.canvases.insert(session, c);
    Ok(())
}

/// Looks at a core notification: an ended session's viewer and canvas are let go.
pub(crate) fn on_notification(inner: &mut Inner, n: &Notification) {
    if let (Event::SIPSessionDidEnd { .. }, Sender::Session(session)) = (&n.event, &n.sender) {
        inner.desktop.canvases.remove(session);
        inner.desktop.passwords.remove(session);
        inner.desktop.viewers.retain(|k, _| k.0 != *session);
    }
}

#[wasm_bindgen]
impl SIPApplication {
    /// Views the desktop of a peer (the seed's `DesktopSharingStream`, we the viewer):
    /// `target` a SIP URI starts a new session with a desktop-sharing stream; a session id
    /// proposes the stream to that established session (re-INVITE). Returns the session
    /// id. The desktop is drawn on `canvas` (sized to the remote framebuffer), whose mouse
    /// and key events go to the remote desktop unless `options.viewOnly`;
    /// `options.password` answers a VNC server that asks for one (VNC Authentication).
    #[wasm_bindgen(js_name = viewDesktop)]
    pub fn view_desktop(
        &self,
        target: JsValue,
        canvas: Option<HtmlCanvasElement>,
        options: Option<js_sys::Object>,
    ) -> Result<f64, JsError> {
        let mut result = Ok(0.0);
        with_inner(&std::rc::Rc::downgrade(&self.inner), |inner, _| {
            let r = if let Some(id) = target.as_f64() {
                let id = id as u64;
                inner
                    .ua
                    .add_desktop(now(), id, DesktopRole::Viewer)
                    .map(|()| id)
            } else if let Some(uri) = target.as_string() {
                inner.ua.connect_desktop(now(), &uri, DesktopRole::Viewer)
            } else {
                result = Err(JsError::new("target must be a SIP URI or a session id"));
                return;
            };
            result = match r {
                Ok(id) => attach(inner, id, canvas, &options).map(|()| id as f64),
                Err(e) => Err(JsError::new(&e.to_string())),
            };
        });
        result
    }

    /// Shows the desktop of `session` on `canvas` (replacing the canvas it had), for a
    /// desktop the peer shares in an incoming session (`accept`) or proposal
    /// (`acceptProposal`); `null` detaches it. Input goes to the remote desktop unless
    /// `options.viewOnly`; `options.password` answers VNC Authentication.
    #[wasm_bindgen(js_name = attachDesktop)]
    pub fn attach_desktop(
        &self,
        session: f64,
        canvas: Option<HtmlCanvasElement>,
        options: Option<js_sys::Object>,
    ) -> Result<(), JsError> {
        let mut result = Ok(());
        with_inner(&std::rc::Rc::downgrade(&self.inner), |inner, _| {
            result = attach(inner, session as u64, canvas, &options);
        });
        result
    }

    /// Removes the session's desktop-sharing stream (re-INVITE with its port 0).
    #[wasm_bindgen(js_name = removeDesktop)]
    pub fn remove_desktop(&self, session: f64) -> Result<(), JsError> {
        self.command(|ua, t| ua.remove_desktop(t, session as u64))
    }

    /// The remote desktop viewed in `session`: `{width, height, name, connected,
    /// updates}` (`updates`: framebuffer updates drawn so far); `undefined` without a
    /// running viewer.
    pub fn desktop(&self, session: f64) -> JsValue {
        let inner = self.inner.borrow();
        let Some(key) = viewer_key(&inner.desktop, session as u64) else {
            return JsValue::UNDEFINED;
        };
        let Some(v) = inner.desktop.viewers.get(&key) else {
            return JsValue::UNDEFINED;
        };
        super::data_object(&[
            ("width", v.rfb.width().into()),
            ("height", v.rfb.height().into()),
            ("name", v.rfb.name().into()),
            ("connected", v.rfb.is_connected().into()),
            ("updates", v.updates.into()),
        ])
    }

    /// Our role in the session's desktop-sharing stream, for an incoming session or a
    /// proposal not answered yet as for a stream in effect: `'viewer'` (the peer shares its
    /// desktop: accept, then `attachDesktop`) or `'server'` (the peer asks to see ours,
    /// which a browser cannot share: decline); `undefined` without such a stream.
    #[wasm_bindgen(js_name = desktopRole)]
    pub fn desktop_role(&self, session: f64) -> Option<String> {
        let inner = self.inner.borrow();
        let id = session as u64;
        // The last desktop-sharing m-line of the peer's SDP (its offer while unanswered).
        let sdp = inner.ua.remote_sdp(id)?;
        let sd = sipsimple::sdp::SessionDescription::parse(sdp.as_bytes()).ok()?;
        let index = sd.media.iter().rposition(|m| {
            m.port != 0
                && m.accept_types()
                    .iter()
                    .any(|t| t.eq_ignore_ascii_case("application/x-rfb"))
        })?;
        let role = match inner.ua.desktop_role(id, index)? {
            DesktopRole::Viewer => "viewer",
            DesktopRole::Server => "server",
        };
        Some(role.to_string())
    }

    /// Sends an RFB PointerEvent to the desktop viewed in `session`: framebuffer
    /// coordinates and the button mask (1 left, 2 middle, 4 right, 8/16 wheel up/down).
    #[wasm_bindgen(js_name = sendPointerEvent)]
    pub fn send_pointer_event(&self, session: f64, x: u16, y: u16, buttons: u8) {
        with_inner(&std::rc::Rc::downgrade(&self.inner), |inner, _| {
            pointer(inner, session as u64, x, y, buttons)
        });
    }

    /// Sends an RFB KeyEvent (an X keysym, down or up) to the desktop viewed in `session`.
    #[wasm_bindgen(js_name = sendKeyEvent)]
    pub fn send_key_event(&self, session: f64, keysym: u32, down: bool) {
        with_inner(&std::rc::Rc::downgrade(&self.inner), |inner, _| {
            key(inner, session as u64, keysym, down)
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keysyms() {
        assert_eq!(keysym("a", "KeyA"), Some(0x61));
        assert_eq!(keysym("é", "Quote"), Some(0xe9));
        assert_eq!(keysym("€", "KeyE"), Some(0x0100_20ac));
        assert_eq!(keysym("Enter", "Enter"), Some(0xff0d));
        assert_eq!(keysym("Shift", "ShiftRight"), Some(0xffe2));
        assert_eq!(keysym("F1", "F1"), Some(0xffbe));
        assert_eq!(keysym("F12", "F12"), Some(0xffc9));
        assert_eq!(keysym("Unidentified", ""), None);
        assert_eq!(keysym("Dead", ""), None);
    }

    #[test]
    fn button_masks() {
        assert_eq!(rfb_buttons(1), 1);
        assert_eq!(rfb_buttons(2), 4);
        assert_eq!(rfb_buttons(4), 2);
        assert_eq!(rfb_buttons(7), 7);
    }
}
