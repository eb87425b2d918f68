//! The sans-IO RFB client (`sipsimple::rfb`, RFC 6143) against a real VNC server: TigerVNC's
//! `Xvnc`, started by the test on loopback (RFB on 127.0.0.1, no X over TCP, security type
//! None) with a known picture painted by a minimal X11 client written here (core protocol
//! over the display's Unix socket). The framebuffer decoded from ZRLE (with CopyRect) must
//! equal the one decoded from Raw, and both must show the picture. A second Xvnc asks for VNC
//! Authentication: the right password connects, a wrong one and none are clear errors.

#[path = "support/xvnc.rs"]
mod xvnc;

use sipsimple::rfb::{Client, Config, Error, Event, Output, ENCODINGS, ENCODING_RAW};
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::os::unix::net::UnixStream;
use std::time::Duration;
use xvnc::Xvnc;

const WIDTH: u16 = 200;
const HEIGHT: u16 = 150;

fn start_xvnc() -> Xvnc {
    xvnc::start(200..400, WIDTH, HEIGHT)
}

/// Windows painted: (x, y, width, height, 0xRRGGBB).
type Window = (i16, i16, u16, u16, u32);

/// Maps override-redirect windows of solid colours on `display` (X11 core protocol,
/// little-endian) and waits for the server to have done it. The connection is returned:
/// the windows live as long as it does.
fn paint(display: u32, windows: &[Window]) -> UnixStream {
    let mut s = UnixStream::connect(format!("/tmp/.X11-unix/X{display}")).expect("X connects");
    s.set_read_timeout(Some(Duration::from_secs(10)))
        .expect("timeout");
    s.write_all(&[0x6c, 0, 11, 0, 0, 0, 0, 0, 0, 0, 0, 0])
        .expect("setup");
    let mut head = [0u8; 8];
    s.read_exact(&mut head).expect("setup reply");
    assert_eq!(head[0], 1, "the X server accepts the connection");
    let mut body = vec![0u8; 4 * usize::from(u16::from_le_bytes([head[6], head[7]]))];
    s.read_exact(&mut body).expect("setup body");
    let u32le = |b: &[u8], i: usize| u32::from_le_bytes([b[i], b[i + 1], b[i + 2], b[i + 3]]);
    // Offsets in the body (the reply minus its first 8 bytes).
    let id_base = u32le(&body, 4);
    let vendor = usize::from(u16::from_le_bytes([body[16], body[17]]));
    let formats = usize::from(body[21]);
    let screen = 32 + vendor + (4 - vendor % 4) % 4 + 8 * formats;
    let root = u32le(&body, screen);
    let mut req = Vec::new();
    for (i, &(x, y, w, h, rgb)) in windows.iter().enumerate() {
        let wid = id_base + 1 + i as u32;
        // CreateWindow: background-pixel (0x2) and override-redirect (0x200).
        req.extend([1, 0, 10, 0]);
        req.extend(wid.to_le_bytes());
        req.extend(root.to_le_bytes());
        req.extend(x.to_le_bytes());
        req.extend(y.to_le_bytes());
        req.extend(w.to_le_bytes());
        req.extend(h.to_le_bytes());
        req.extend(0u16.to_le_bytes());
        req.extend(1u16.to_le_bytes());
        req.extend(0u32.to_le_bytes());
        req.extend(0x202u32.to_le_bytes());
        req.extend(rgb.to_le_bytes());
        req.extend(1u32.to_le_bytes());
        // MapWindow.
        req.extend([8, 0, 2, 0]);
        req.extend(wid.to_le_bytes());
    }
    // GetInputFocus: its reply says everything before it was done.
    req.extend([43, 0, 1, 0]);
    s.write_all(&req).expect("requests");
    let mut reply = [0u8; 32];
    s.read_exact(&mut reply).expect("a reply");
    assert_eq!(reply[0], 1, "no X error: {reply:?}");
    s
}

/// Views the desktop at `addr` asking for `encodings`; returns the framebuffer after the
/// first (full) update and the client.
fn view(addr: SocketAddr, encodings: &'static [i32]) -> Client {
    let c = Client::new(Config {
        encodings,
        ..Config::default()
    });
    connect(addr, c).expect("valid RFB")
}

/// Runs `c` against the server at `addr` until the first full update, or its error.
fn connect(addr: SocketAddr, mut c: Client) -> Result<Client, Error> {
    let mut tcp = TcpStream::connect(addr).expect("RFB connects");
    tcp.set_read_timeout(Some(Duration::from_secs(10)))
        .expect("timeout");
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = tcp.read(&mut buf).expect("RFB bytes");
        assert!(n > 0, "the VNC server closed");
        c.handle_input(&buf[..n])?;
        let mut done = false;
        while let Some(o) = c.poll_output() {
            match o {
                Output::Transmit(b) => tcp.write_all(&b).expect("write"),
                Output::Event(Event::UpdateDone) => done = true,
                Output::Event(_) => {}
            }
        }
        if done {
            return Ok(c);
        }
    }
}

fn pixel(c: &Client, x: usize, y: usize) -> u32 {
    let i = (y * usize::from(c.width()) + x) * 4;
    let p = &c.framebuffer()[i..i + 4];
    assert_eq!(p[3], 255);
    u32::from(p[0]) << 16 | u32::from(p[1]) << 8 | u32::from(p[2])
}

#[test]
fn zrle_and_raw_decode_the_same_picture_from_xvnc() {
    let xvnc = start_xvnc();
    // Squares of distinct colours along the top (tiles of many colours: ZRLE's palettes),
    // three large areas below (solid tiles), and stripes one pixel wide (raw or RLE tiles).
    let mut windows: Vec<Window> = (0..10)
        .map(|i| {
            let rgb = ((i * 37) % 256) << 16 | ((i * 91 + 50) % 256) << 8 | (255 - i * 13);
            (i as i16 * 20, 0, 20, 20, rgb)
        })
        .collect();
    windows.push((0, 20, 100, 130, 0xd02020));
    windows.push((100, 20, 100, 60, 0x20b040));
    windows.push((100, 80, 100, 70, 0x2040e0));
    for k in 0..20 {
        windows.push((10 + 2 * k, 100, 1, 30, (k as u32) * 0x0c0c0c));
    }
    let _x = paint(xvnc.display, &windows);
    let raw = view(xvnc.addr, &[ENCODING_RAW]);
    let zrle = view(xvnc.addr, &ENCODINGS);
    assert_eq!((raw.width(), raw.height()), (WIDTH, HEIGHT));
    for &(x, y, w, h, rgb) in &windows {
        let (cx, cy) = (
            x as usize + usize::from(w) / 2,
            y as usize + usize::from(h) / 2,
        );
        assert_eq!(pixel(&raw, cx, cy), rgb, "raw at ({cx}, {cy})");
        assert_eq!(pixel(&zrle, cx, cy), rgb, "zrle at ({cx}, {cy})");
    }
    if raw.framebuffer() != zrle.framebuffer() {
        let diff = (0..usize::from(HEIGHT))
            .flat_map(|y| (0..usize::from(WIDTH)).map(move |x| (x, y)))
            .find(|&(x, y)| pixel(&raw, x, y) != pixel(&zrle, x, y));
        panic!("the ZRLE picture differs from the Raw one, first at {diff:?}");
    }
}

#[test]
fn vnc_authentication_with_xvnc() {
    let xvnc = xvnc::start_with_password(400..600, WIDTH, HEIGHT, "s3cret!");
    let _x = paint(xvnc.display, &[(0, 0, WIDTH, HEIGHT, 0x3060a0)]);
    let mut c = Client::default();
    c.set_password("s3cret!");
    let c = connect(xvnc.addr, c).expect("the right password connects");
    assert_eq!((c.width(), c.height()), (WIDTH, HEIGHT));
    assert_eq!(pixel(&c, 10, 10), 0x3060a0);

    let mut wrong = Client::default();
    wrong.set_password("s3cret?");
    match connect(xvnc.addr, wrong) {
        Err(Error::Refused(reason)) => assert!(!reason.is_empty()),
        Err(e) => panic!("a wrong password: {e}"),
        Ok(_) => panic!("a wrong password connected"),
    }
    assert_eq!(
        connect(xvnc.addr, Client::default()).err(),
        Some(Error::PasswordRequired)
    );
}

/// With the Cursor pseudo-encoding asked for (the default), Xvnc sends the pointer's shape
/// instead of drawing it: first an empty one, then, once the pointer is over the root window
/// (`-retro`: the X-shaped root cursor), a shape whose pixels show and whose hotspot is
/// inside it.
#[test]
fn xvnc_sends_the_pointer_shape() {
    let xvnc = xvnc::start_retro(600..800, WIDTH, HEIGHT);
    let mut tcp = TcpStream::connect(xvnc.addr).expect("RFB connects");
    tcp.set_read_timeout(Some(Duration::from_millis(200)))
        .expect("timeout");
    let mut c = Client::default();
    let mut buf = vec![0u8; 64 * 1024];
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    let mut moved = false;
    let shape = loop {
        assert!(
            std::time::Instant::now() < deadline,
            "no cursor shape within 10 s"
        );
        if c.is_connected() && !moved {
            c.pointer_event(50, 50, 0);
            moved = true;
        }
        let mut found = None;
        while let Some(o) = c.poll_output() {
            match o {
                Output::Transmit(b) => tcp.write_all(&b).expect("write"),
                Output::Event(Event::Cursor {
                    hotspot_x,
                    hotspot_y,
                    width,
                    height,
                    rgba,
                }) if width > 0 => found = Some((hotspot_x, hotspot_y, width, height, rgba)),
                Output::Event(_) => {}
            }
        }
        if let Some(f) = found {
            break f;
        }
        match tcp.read(&mut buf) {
            Ok(0) => panic!("the VNC server closed"),
            Ok(n) => c.handle_input(&buf[..n]).expect("valid RFB"),
            Err(_) => {} // the read timeout: look again
        }
    };
    let (hx, hy, w, h, rgba) = shape;
    assert!(hx < w && hy < h, "{w}x{h} hotspot ({hx}, {hy})");
    assert_eq!(rgba.len(), usize::from(w) * usize::from(h) * 4);
    assert!(rgba.chunks(4).any(|p| p[3] == 255), "an invisible cursor");
    assert!(
        rgba.chunks(4).any(|p| p[3] == 0),
        "a cursor without transparency"
    );
}
