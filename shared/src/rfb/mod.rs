//! An RFB 3.8 client (RFC 6143), sans-IO: the viewer side of the seed's
//! `DesktopSharingStream` for shells that draw the desktop themselves (the browser's canvas).
//!
//! The [`Client`] is fed the server's bytes as they arrive ([`Client::handle_input`], in
//! pieces of any size) and keeps the framebuffer; what it has to say comes out of
//! [`Client::poll_output`]: bytes for the server ([`Output::Transmit`]) and what happened
//! ([`Output::Event`]: connected, a rectangle of the framebuffer changed, bell, cut text).
//!
//! - Handshake (§7.1): ProtocolVersion 3.8 (3.7 and 3.3 servers are answered in their own
//!   version), security type None (§7.2.1), or VNC Authentication (§7.2.2: the server's
//!   16-byte challenge encrypted with DES under the password) when the server asks for it
//!   and a password was given ([`Client::set_password`]); without one that is
//!   [`Error::PasswordRequired`].
//! - Initialisation (§7.3): ClientInit (shared), ServerInit; then SetPixelFormat (§7.5.1)
//!   to 32-bit true colour with red in the first byte, green in the second and blue in the
//!   third, so the framebuffer is RGBA as a canvas's `ImageData` wants it (the fourth byte,
//!   unused on the wire, is kept at 255); SetEncodings (§7.5.2) ZRLE, CopyRect, Raw and the
//!   DesktopSize, LastRect and Cursor pseudo-encodings (the pointer's shape comes as an
//!   [`Event::Cursor`] for the shell to show locally); a full FramebufferUpdateRequest
//!   (§7.5.3).
//! - Each FramebufferUpdate (§7.6.1) is decoded into the framebuffer (Raw §7.7.1, CopyRect
//!   §7.7.2, ZRLE §7.7.6 with one zlib stream for the whole connection); each rectangle
//!   drawn is an [`Event::Updated`]; once the update is complete an incremental request
//!   for the whole screen goes out.
//! - Input: [`Client::pointer_event`] (§7.5.5) and [`Client::key_event`] (§7.5.4, X keysyms).
//! - Bell (§7.6.3) and ServerCutText (§7.6.4) become events; SetColourMapEntries (§7.6.2)
//!   is skipped (true colour is asked for).
//!
//! Malformed input is an [`Error`], never a panic, and nothing is allocated beyond what
//! [`Config`] allows: the framebuffer's size is capped, and so is each rectangle's data.

mod decode;
#[cfg(test)]
mod tests;

use decode::{Framebuffer, Zrle};
use std::collections::VecDeque;
use std::fmt;

/// The encodings asked for, in order of preference (§7.7): ZRLE, CopyRect, Raw, and the
/// pseudo-encodings DesktopSize, LastRect and Cursor.
pub const ENCODINGS: [i32; 6] = [
    ENCODING_ZRLE,
    ENCODING_COPY_RECT,
    ENCODING_RAW,
    ENCODING_DESKTOP_SIZE,
    ENCODING_LAST_RECT,
    ENCODING_CURSOR,
];
/// Raw (§7.7.1).
pub const ENCODING_RAW: i32 = 0;
/// CopyRect (§7.7.2).
pub const ENCODING_COPY_RECT: i32 = 1;
/// ZRLE (§7.7.6).
pub const ENCODING_ZRLE: i32 = 16;
/// The DesktopSize pseudo-encoding (§7.8.2).
pub const ENCODING_DESKTOP_SIZE: i32 = -223;
/// The LastRect pseudo-encoding (the rectangle count was a maximum; this one ends it).
pub const ENCODING_LAST_RECT: i32 = -224;
/// The Cursor pseudo-encoding (§7.8.1): the server sends the pointer's shape and stops
/// drawing it into the framebuffer, so the viewer shows it locally, without a round trip.
pub const ENCODING_CURSOR: i32 = -239;

/// The largest cursor accepted, in pixels.
const MAX_CURSOR_PIXELS: usize = 256 * 256;

/// The longest desktop name or cut text kept, in bytes; longer cut text is skipped.
const MAX_TEXT: usize = 64 * 1024;
/// The longest failure reason read from the server.
const MAX_REASON: usize = 4096;

/// What a [`Client`] allows itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Config {
    /// The largest framebuffer accepted, in pixels (4 bytes each); a larger ServerInit or
    /// DesktopSize is an error. Default 16,777,216 (64 MiB).
    pub max_pixels: usize,
    /// Ask the server to share the desktop with other viewers (ClientInit). Default true.
    pub shared: bool,
    /// The encodings asked for (SetEncodings), in order of preference; default
    /// [`ENCODINGS`]. Only those this client decodes make sense.
    pub encodings: &'static [i32],
}

impl Default for Config {
    fn default() -> Config {
        Config {
            max_pixels: 16 * 1024 * 1024,
            shared: true,
            encodings: &ENCODINGS,
        }
    }
}

/// What went wrong with the server's bytes. After an error the client stays failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Error {
    /// The server's ProtocolVersion is not an RFB 3.x one.
    Version(String),
    /// The server offers no security type we support (None, VNC Authentication): the
    /// types it offered.
    NoSecurity(Vec<u8>),
    /// The server asks for VNC Authentication and no password was given.
    PasswordRequired,
    /// The server refused the connection or the security handshake: its reason.
    Refused(String),
    /// The framebuffer would be larger than [`Config::max_pixels`].
    TooLarge {
        /// Its width.
        width: u16,
        /// Its height.
        height: u16,
    },
    /// A rectangle outside the framebuffer.
    OutOfBounds,
    /// An encoding we did not ask for.
    Encoding(i32),
    /// A server message type we do not know.
    MessageType(u8),
    /// The ZRLE data is malformed (or its zlib stream).
    Zrle(&'static str),
    /// A length field beyond what is allowed.
    Length(&'static str),
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Version(v) => write!(f, "not an RFB 3.x server (version {v:?})"),
            Error::NoSecurity(t) => write!(f, "no supported security type (offered {t:?})"),
            Error::PasswordRequired => f.write_str("the VNC server asks for a password"),
            Error::Refused(r) => write!(f, "the VNC server refused: {r}"),
            Error::TooLarge { width, height } => {
                write!(f, "the framebuffer {width}x{height} is too large")
            }
            Error::OutOfBounds => f.write_str("a rectangle outside the framebuffer"),
            Error::Encoding(e) => write!(f, "an encoding not asked for ({e})"),
            Error::MessageType(t) => write!(f, "an unknown server message type ({t})"),
            Error::Zrle(what) => write!(f, "bad ZRLE data: {what}"),
            Error::Length(what) => write!(f, "{what} is too long"),
        }
    }
}

impl std::error::Error for Error {}

/// What happened, for the shell.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// The handshake is done: the framebuffer's size and the desktop's name.
    Connected {
        /// Width in pixels.
        width: u16,
        /// Height in pixels.
        height: u16,
        /// The desktop's name.
        name: String,
    },
    /// The framebuffer changed size (DesktopSize); its content is black until redrawn.
    Resized {
        /// Width in pixels.
        width: u16,
        /// Height in pixels.
        height: u16,
    },
    /// A rectangle of the framebuffer was redrawn.
    Updated {
        /// Left.
        x: u16,
        /// Top.
        y: u16,
        /// Width.
        width: u16,
        /// Height.
        height: u16,
    },
    /// A FramebufferUpdate is complete (the next one was asked for).
    UpdateDone,
    /// The server rang the bell.
    Bell,
    /// The server's cut buffer changed (ISO 8859-1 text).
    CutText(String),
    /// The pointer's shape (Cursor pseudo-encoding): RGBA, transparent where its mask is
    /// clear; show it at the pointer with the hotspot there. An empty one hides the pointer.
    Cursor {
        /// The hotspot's column in the shape.
        hotspot_x: u16,
        /// The hotspot's row.
        hotspot_y: u16,
        /// Width in pixels.
        width: u16,
        /// Height in pixels.
        height: u16,
        /// `width × height` RGBA pixels.
        rgba: Vec<u8>,
    },
}

/// An output of the [`Client`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Output {
    /// Bytes for the server, in order.
    Transmit(Vec<u8>),
    /// Something happened.
    Event(Event),
}

/// The protocol version both ends speak.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Version {
    V3_3,
    V3_7,
    V3_8,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Version,
    /// 3.3: the server chose the security type (a u32).
    SecurityType,
    /// 3.7 and 3.8: the list of security types.
    SecurityTypes,
    /// VNC Authentication: the server's 16-byte challenge.
    VncChallenge,
    SecurityResult,
    ServerInit,
    /// Between server messages.
    Normal,
    /// Inside a FramebufferUpdate: the rectangles left.
    Rects(u16),
    /// Skipping the rest of an over-long cut text.
    Skip(u32),
    Failed,
}

/// An RFB client: see the [module docs](self).
pub struct Client {
    cfg: Config,
    state: State,
    version: Version,
    /// Bytes received and not parsed yet, from `pos`.
    buf: Vec<u8>,
    pos: usize,
    out: VecDeque<Output>,
    fb: Framebuffer,
    /// ZRLE's zlib stream: one for the whole connection.
    zrle: Zrle,
    name: String,
    error: Option<Error>,
    /// The password for VNC Authentication.
    password: Option<String>,
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Client")
            .field("state", &self.state)
            .field("width", &self.fb.width())
            .field("height", &self.fb.height())
            .finish_non_exhaustive()
    }
}

impl Default for Client {
    fn default() -> Client {
        Client::new(Config::default())
    }
}

fn u16_at(b: &[u8], i: usize) -> u16 {
    match b.get(i..i + 2) {
        Some(&[a, c]) => u16::from_be_bytes([a, c]),
        _ => 0,
    }
}

fn u32_at(b: &[u8], i: usize) -> u32 {
    match b.get(i..i + 4) {
        Some(&[a, c, d, e]) => u32::from_be_bytes([a, c, d, e]),
        _ => 0,
    }
}

/// ISO 8859-1 to a string (RFB's text encoding).
fn latin1(b: &[u8]) -> String {
    b.iter().map(|&c| char::from(c)).collect()
}

impl Client {
    /// A client waiting for the server's ProtocolVersion.
    pub fn new(cfg: Config) -> Client {
        Client {
            cfg,
            state: State::Version,
            version: Version::V3_8,
            buf: Vec::new(),
            pos: 0,
            out: VecDeque::new(),
            fb: Framebuffer::default(),
            zrle: Zrle::default(),
            name: String::new(),
            error: None,
            password: None,
        }
    }

    /// The password to answer VNC Authentication with (only its first 8 bytes count, as
    /// in every VNC implementation); set it before the server's security types arrive.
    pub fn set_password(&mut self, password: &str) {
        self.password = Some(password.to_string());
    }

    /// Whether a password was set.
    pub fn has_password(&self) -> bool {
        self.password.is_some()
    }

    /// The handshake is done and no error happened.
    pub fn is_connected(&self) -> bool {
        matches!(self.state, State::Normal | State::Rects(_) | State::Skip(_))
    }

    /// The error that stopped the client, if any.
    pub fn error(&self) -> Option<&Error> {
        self.error.as_ref()
    }

    /// The framebuffer's width (0 before ServerInit).
    pub fn width(&self) -> u16 {
        self.fb.width()
    }

    /// The framebuffer's height (0 before ServerInit).
    pub fn height(&self) -> u16 {
        self.fb.height()
    }

    /// The desktop's name (empty before ServerInit).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The whole framebuffer, RGBA, row after row.
    pub fn framebuffer(&self) -> &[u8] {
        self.fb.pixels()
    }

    /// The RGBA pixels of a rectangle of the framebuffer (clipped to it), row after row:
    /// what a canvas's `putImageData` of a dirty rectangle takes.
    pub fn rect_rgba(&self, x: u16, y: u16, width: u16, height: u16) -> Vec<u8> {
        self.fb.rect(x, y, width, height)
    }

    /// The next output, until `None`.
    pub fn poll_output(&mut self) -> Option<Output> {
        self.out.pop_front()
    }

    /// Bytes from the server, in order, in pieces of any size. An error stops the client
    /// (the same error is returned for anything fed afterwards).
    pub fn handle_input(&mut self, bytes: &[u8]) -> Result<(), Error> {
        if let Some(e) = &self.error {
            return Err(e.clone());
        }
        if self.pos > 0 && (self.pos == self.buf.len() || self.pos > 64 * 1024) {
            self.buf.drain(..self.pos);
            self.pos = 0;
        }
        self.buf.extend_from_slice(bytes);
        loop {
            match self.step() {
                Ok(true) => {}
                Ok(false) => return Ok(()),
                Err(e) => {
                    self.state = State::Failed;
                    self.buf = Vec::new();
                    self.pos = 0;
                    self.error = Some(e.clone());
                    return Err(e);
                }
            }
        }
    }

    /// A PointerEvent (§7.5.5): the pointer is at (`x`, `y`) (clipped to the framebuffer)
    /// with `buttons` down (bit 0 the left button, 1 the middle, 2 the right, 3 and 4 the
    /// wheel up and down). Dropped before the handshake is done.
    pub fn pointer_event(&mut self, x: u16, y: u16, buttons: u8) {
        if !self.is_connected() {
            return;
        }
        let x = x.min(self.fb.width().saturating_sub(1));
        let y = y.min(self.fb.height().saturating_sub(1));
        let mut m = vec![5, buttons];
        m.extend(x.to_be_bytes());
        m.extend(y.to_be_bytes());
        self.out.push_back(Output::Transmit(m));
    }

    /// A KeyEvent (§7.5.4): the X keysym `keysym` went down or up. Dropped before the
    /// handshake is done.
    pub fn key_event(&mut self, keysym: u32, down: bool) {
        if !self.is_connected() {
            return;
        }
        let mut m = vec![4, u8::from(down), 0, 0];
        m.extend(keysym.to_be_bytes());
        self.out.push_back(Output::Transmit(m));
    }

    /// A ClientCutText (§7.5.6): our cut buffer changed (characters outside ISO 8859-1
    /// become `?`).
    pub fn cut_text(&mut self, text: &str) {
        if !self.is_connected() {
            return;
        }
        let bytes: Vec<u8> = text
            .chars()
            .map(|c| u8::try_from(u32::from(c)).unwrap_or(b'?'))
            .take(MAX_TEXT)
            .collect();
        let mut m = vec![6, 0, 0, 0];
        m.extend((bytes.len() as u32).to_be_bytes());
        m.extend(bytes);
        self.out.push_back(Output::Transmit(m));
    }

    /// Asks for an update of the whole screen (§7.5.3); `incremental`: only what changed.
    /// The client asks by itself after each update; this is for a full redraw.
    pub fn request_update(&mut self, incremental: bool) {
        if self.is_connected() {
            self.send_update_request(incremental);
        }
    }

    fn send_update_request(&mut self, incremental: bool) {
        let mut m = vec![3, u8::from(incremental), 0, 0, 0, 0];
        m.extend(self.fb.width().to_be_bytes());
        m.extend(self.fb.height().to_be_bytes());
        self.out.push_back(Output::Transmit(m));
    }

    fn transmit(&mut self, bytes: Vec<u8>) {
        self.out.push_back(Output::Transmit(bytes));
    }

    fn event(&mut self, e: Event) {
        self.out.push_back(Output::Event(e));
    }

    /// The next `n` unparsed bytes, if they arrived.
    fn peek(&self, n: usize) -> Option<&[u8]> {
        self.buf.get(self.pos..self.pos.checked_add(n)?)
    }

    /// The unparsed bytes available.
    fn available(&self) -> usize {
        self.buf.len() - self.pos
    }

    /// Parses one thing; `Ok(false)` when more bytes are needed.
    fn step(&mut self) -> Result<bool, Error> {
        match self.state {
            State::Version => self.version(),
            State::SecurityType => self.security_type(),
            State::SecurityTypes => self.security_types(),
            State::VncChallenge => self.vnc_challenge(),
            State::SecurityResult => self.security_result(),
            State::ServerInit => self.server_init(),
            State::Normal => self.message(),
            State::Rects(left) => self.rect(left),
            State::Skip(left) => {
                let n = (left as usize).min(self.available());
                self.pos += n;
                let left = left - n as u32;
                self.state = if left == 0 {
                    State::Normal
                } else {
                    State::Skip(left)
                };
                Ok(left == 0 && self.available() > 0)
            }
            State::Failed => Ok(false),
        }
    }

    fn version(&mut self) -> Result<bool, Error> {
        // A server that says something else than "RFB " fails at its first wrong byte
        // (whatever else came with it, so that the error does not depend on how the bytes
        // were cut).
        let have = self.buf.get(self.pos..).unwrap_or_default();
        if let Some(i) = have.iter().zip(b"RFB ").position(|(a, b)| a != b) {
            return Err(Error::Version(latin1(have.get(..=i).unwrap_or_default())));
        }
        let Some(v) = self.peek(12) else {
            return Ok(false);
        };
        let text = latin1(v);
        let parse = |s: &str| s.parse::<u16>().ok();
        let (major, minor) = match (v.get(..4), v.get(7), v.get(11)) {
            (Some(b"RFB "), Some(b'.'), Some(b'\n')) => (
                text.get(4..7).and_then(parse),
                text.get(8..11).and_then(parse),
            ),
            _ => (None, None),
        };
        self.version = match (major, minor) {
            (Some(3), Some(m)) if m >= 8 => Version::V3_8,
            (Some(3), Some(7)) => Version::V3_7,
            // 3.3, and the 3.5 some old servers say, speak 3.3 (RFC 6143 appendix A).
            (Some(3), Some(_)) => Version::V3_3,
            _ => return Err(Error::Version(text)),
        };
        self.pos += 12;
        let reply: &[u8; 12] = match self.version {
            Version::V3_3 => b"RFB 003.003\n",
            Version::V3_7 => b"RFB 003.007\n",
            Version::V3_8 => b"RFB 003.008\n",
        };
        self.transmit(reply.to_vec());
        self.state = if self.version == Version::V3_3 {
            State::SecurityType
        } else {
            State::SecurityTypes
        };
        Ok(true)
    }

    /// A reason string (u32 length, text) at `at` bytes from here: `None` until complete.
    fn reason_at(&self, at: usize) -> Result<Option<(String, usize)>, Error> {
        let Some(head) = self.peek(at + 4) else {
            return Ok(None);
        };
        let len = u32_at(head, at) as usize;
        if len > MAX_REASON {
            return Err(Error::Length("the reason"));
        }
        Ok(self
            .peek(at + 4 + len)
            .map(|b| (latin1(b.get(at + 4..).unwrap_or_default()), at + 4 + len)))
    }

    fn security_type(&mut self) -> Result<bool, Error> {
        let Some(b) = self.peek(4) else {
            return Ok(false);
        };
        match u32_at(b, 0) {
            0 => match self.reason_at(4)? {
                Some((reason, _)) => Err(Error::Refused(reason)),
                None => Ok(false),
            },
            1 => {
                self.pos += 4;
                self.client_init();
                Ok(true)
            }
            2 if self.password.is_some() => {
                self.pos += 4;
                self.state = State::VncChallenge;
                Ok(true)
            }
            2 => Err(Error::PasswordRequired),
            other => Err(Error::NoSecurity(vec![other.min(255) as u8])),
        }
    }

    fn security_types(&mut self) -> Result<bool, Error> {
        let Some(&[n]) = self.peek(1) else {
            return Ok(false);
        };
        if n == 0 {
            return match self.reason_at(1)? {
                Some((reason, _)) => Err(Error::Refused(reason)),
                None => Ok(false),
            };
        }
        let Some(types) = self.peek(1 + usize::from(n)) else {
            return Ok(false);
        };
        let types = types.get(1..).unwrap_or_default().to_vec();
        // None when offered (the SIP session already admitted the peer), else VNC
        // Authentication when we have a password.
        if !types.contains(&1) {
            if !types.contains(&2) {
                return Err(Error::NoSecurity(types));
            }
            if self.password.is_none() {
                return Err(Error::PasswordRequired);
            }
            self.pos += 1 + usize::from(n);
            self.transmit(vec![2]);
            self.state = State::VncChallenge;
            return Ok(true);
        }
        self.pos += 1 + usize::from(n);
        self.transmit(vec![1]);
        if self.version == Version::V3_8 {
            self.state = State::SecurityResult;
        } else {
            // 3.7 sends no SecurityResult for None.
            self.client_init();
        }
        Ok(true)
    }

    fn vnc_challenge(&mut self) -> Result<bool, Error> {
        let Some(challenge) = self.peek(16) else {
            return Ok(false);
        };
        let mut response = [0u8; 16];
        response.copy_from_slice(challenge);
        self.pos += 16;
        vnc_auth_response(self.password.as_deref().unwrap_or_default(), &mut response);
        self.transmit(response.to_vec());
        self.state = State::SecurityResult;
        Ok(true)
    }

    fn security_result(&mut self) -> Result<bool, Error> {
        let Some(b) = self.peek(4) else {
            return Ok(false);
        };
        if u32_at(b, 0) == 0 {
            self.pos += 4;
            self.client_init();
            return Ok(true);
        }
        if self.version != Version::V3_8 {
            // Before 3.8 a failed SecurityResult carries no reason (§7.1.3).
            return Err(Error::Refused("the password was not accepted".into()));
        }
        match self.reason_at(4)? {
            Some((reason, _)) => Err(Error::Refused(reason)),
            None => Ok(false),
        }
    }

    fn client_init(&mut self) {
        self.transmit(vec![u8::from(self.cfg.shared)]);
        self.state = State::ServerInit;
    }

    fn server_init(&mut self) -> Result<bool, Error> {
        let Some(head) = self.peek(24) else {
            return Ok(false);
        };
        let (width, height) = (u16_at(head, 0), u16_at(head, 2));
        let name_len = u32_at(head, 20) as usize;
        if name_len > MAX_TEXT {
            return Err(Error::Length("the desktop name"));
        }
        let Some(all) = self.peek(24 + name_len) else {
            return Ok(false);
        };
        let name = String::from_utf8_lossy(all.get(24..).unwrap_or_default()).into_owned();
        self.resize(width, height)?;
        self.pos += 24 + name_len;
        self.name = name.clone();
        // §7.5.1 SetPixelFormat: 32 bpp, depth 24, little-endian, true colour, 8 bits per
        // channel, red at shift 0, green 8, blue 16: R, G, B, X in memory.
        self.transmit(vec![
            0, 0, 0, 0, 32, 24, 0, 1, 0, 255, 0, 255, 0, 255, 0, 8, 16, 0, 0, 0,
        ]);
        let mut enc = vec![2, 0];
        enc.extend((self.cfg.encodings.len().min(64) as u16).to_be_bytes());
        for e in self.cfg.encodings.iter().take(64) {
            enc.extend(e.to_be_bytes());
        }
        self.transmit(enc);
        self.state = State::Normal;
        self.send_update_request(false);
        self.event(Event::Connected {
            width,
            height,
            name,
        });
        Ok(true)
    }

    fn resize(&mut self, width: u16, height: u16) -> Result<(), Error> {
        if usize::from(width) * usize::from(height) > self.cfg.max_pixels {
            return Err(Error::TooLarge { width, height });
        }
        self.fb = Framebuffer::new(width, height);
        Ok(())
    }

    fn message(&mut self) -> Result<bool, Error> {
        let Some(&[kind]) = self.peek(1) else {
            return Ok(false);
        };
        match kind {
            // §7.6.1 FramebufferUpdate.
            0 => {
                let Some(b) = self.peek(4) else {
                    return Ok(false);
                };
                let n = u16_at(b, 2);
                self.pos += 4;
                self.state = State::Rects(n);
                if n == 0 {
                    self.update_done();
                }
                Ok(true)
            }
            // §7.6.2 SetColourMapEntries: not used in true colour; skipped.
            1 => {
                let Some(b) = self.peek(6) else {
                    return Ok(false);
                };
                let len = 6 + 6 * usize::from(u16_at(b, 4));
                if self.available() < len {
                    return Ok(false);
                }
                self.pos += len;
                Ok(true)
            }
            // §7.6.3 Bell.
            2 => {
                self.pos += 1;
                self.event(Event::Bell);
                Ok(true)
            }
            // §7.6.4 ServerCutText.
            3 => {
                let Some(b) = self.peek(8) else {
                    return Ok(false);
                };
                let len = u32_at(b, 4);
                if len as usize > MAX_TEXT {
                    self.pos += 8;
                    self.state = State::Skip(len);
                    return Ok(true);
                }
                let Some(all) = self.peek(8 + len as usize) else {
                    return Ok(false);
                };
                let text = latin1(all.get(8..).unwrap_or_default());
                self.pos += 8 + len as usize;
                self.event(Event::CutText(text));
                Ok(true)
            }
            other => Err(Error::MessageType(other)),
        }
    }

    fn update_done(&mut self) {
        self.state = State::Normal;
        self.event(Event::UpdateDone);
        self.send_update_request(true);
    }

    /// One rectangle of a FramebufferUpdate, `left` of them to come (this one included).
    fn rect(&mut self, left: u16) -> Result<bool, Error> {
        let Some(h) = self.peek(12) else {
            return Ok(false);
        };
        let (x, y, w, hgt) = (u16_at(h, 0), u16_at(h, 2), u16_at(h, 4), u16_at(h, 6));
        let encoding = u32_at(h, 8) as i32;
        let fits = u32::from(x) + u32::from(w) <= u32::from(self.fb.width())
            && u32::from(y) + u32::from(hgt) <= u32::from(self.fb.height());
        let pixels = usize::from(w) * usize::from(hgt);
        let consumed = match encoding {
            ENCODING_RAW => {
                if !fits {
                    return Err(Error::OutOfBounds);
                }
                if self.available() < 12 + pixels * 4 {
                    return Ok(false);
                }
                let data = self.buf.get(self.pos + 12..).unwrap_or_default();
                self.fb.put_raw(x, y, w, hgt, data);
                12 + pixels * 4
            }
            ENCODING_COPY_RECT => {
                if !fits {
                    return Err(Error::OutOfBounds);
                }
                let Some(all) = self.peek(16) else {
                    return Ok(false);
                };
                let (sx, sy) = (u16_at(all, 12), u16_at(all, 14));
                if !self.fb.copy_rect(sx, sy, x, y, w, hgt) {
                    return Err(Error::OutOfBounds);
                }
                16
            }
            ENCODING_ZRLE => {
                if !fits {
                    return Err(Error::OutOfBounds);
                }
                let Some(all) = self.peek(16) else {
                    return Ok(false);
                };
                let len = u32_at(all, 12) as usize;
                if len > decode::zrle_max_len(w, hgt) {
                    return Err(Error::Length("the ZRLE data"));
                }
                if self.available() < 16 + len {
                    return Ok(false);
                }
                let (start, end) = (self.pos + 16, self.pos + 16 + len);
                let data = self.buf.get(start..end).unwrap_or_default();
                self.zrle.decode(&mut self.fb, x, y, w, hgt, data)?;
                16 + len
            }
            ENCODING_DESKTOP_SIZE => {
                self.resize(w, hgt)?;
                self.pos += 12;
                self.event(Event::Resized {
                    width: w,
                    height: hgt,
                });
                self.next_rect(left);
                return Ok(true);
            }
            ENCODING_LAST_RECT => {
                self.pos += 12;
                self.update_done();
                return Ok(true);
            }
            ENCODING_CURSOR => {
                if pixels > MAX_CURSOR_PIXELS {
                    return Err(Error::Length("the cursor"));
                }
                let row = usize::from(w).div_ceil(8);
                let len = pixels * 4 + row * usize::from(hgt);
                let Some(all) = self.peek(12 + len) else {
                    return Ok(false);
                };
                let (px, mask) = all.get(12..).unwrap_or_default().split_at(pixels * 4);
                let mut rgba = Vec::with_capacity(pixels * 4);
                for j in 0..usize::from(hgt) {
                    for i in 0..usize::from(w) {
                        let at = (j * usize::from(w) + i) * 4;
                        let bits = mask.get(j * row + i / 8).copied().unwrap_or(0);
                        let shown = bits & (0x80 >> (i % 8)) != 0;
                        rgba.extend(px.get(at..at + 3).unwrap_or(&[0, 0, 0]));
                        rgba.push(if shown { 255 } else { 0 });
                    }
                }
                self.pos += 12 + len;
                self.event(Event::Cursor {
                    hotspot_x: x,
                    hotspot_y: y,
                    width: w,
                    height: hgt,
                    rgba,
                });
                self.next_rect(left);
                return Ok(true);
            }
            other => return Err(Error::Encoding(other)),
        };
        self.pos += consumed;
        if w > 0 && hgt > 0 {
            self.event(Event::Updated {
                x,
                y,
                width: w,
                height: hgt,
            });
        }
        self.next_rect(left);
        Ok(true)
    }

    fn next_rect(&mut self, left: u16) {
        let left = left.saturating_sub(1);
        if left == 0 {
            self.update_done();
        } else {
            self.state = State::Rects(left);
        }
    }
}

/// Answers a VNC Authentication challenge in place (RFC 6143 §7.2.2): DES in ECB mode over
/// the two 8-byte halves, keyed with the password's first 8 bytes (zero-padded), each byte
/// with its bits mirrored (the bit order of the DES code VNC was first written with).
pub fn vnc_auth_response(password: &str, challenge: &mut [u8; 16]) {
    use des::cipher::{BlockEncrypt, KeyInit};
    let mut key = [0u8; 8];
    for (k, b) in key.iter_mut().zip(password.bytes()) {
        *k = b.reverse_bits();
    }
    let cipher = des::Des::new(&key.into());
    for half in challenge.chunks_exact_mut(8) {
        cipher.encrypt_block(half.into());
    }
}
