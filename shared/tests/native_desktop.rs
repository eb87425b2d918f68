//! Desktop sharing (the seed's `DesktopSharingStream`: RFB over MSRP) between two native
//! drivers on loopback (feature `native`): SIP over UDP straight from one user agent to the
//! other, MSRP over real TCP, a real VNC server (TigerVNC's `Xvnc`, started by the test on
//! loopback) behind Alice's external server handler, and the test itself as the VNC viewer
//! speaking RFB 3.8 (RFC 6143) to the port Bob's external viewer handler opens.
#![cfg(feature = "native")]

#[path = "support/xvnc.rs"]
mod xvnc;

use sipsimple::native::{Config, DesktopHandler, Driver, TimedNotification};
use sipsimple::{AccountConfig, Event, Sender, Transport};
use std::net::{Ipv4Addr, SocketAddr, TcpListener as StdListener, UdpSocket};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use xvnc::Xvnc;

/// How long any one step may take.
const WAIT: Duration = Duration::from_secs(60);
/// The framebuffer Xvnc is started with.
const WIDTH: u16 = 320;
const HEIGHT: u16 = 240;

fn free_tcp() -> SocketAddr {
    StdListener::bind((Ipv4Addr::LOCALHOST, 0))
        .and_then(|l| l.local_addr())
        .expect("a free port")
}

fn free_udp() -> SocketAddr {
    UdpSocket::bind("127.0.0.1:0")
        .and_then(|s| s.local_addr())
        .expect("a free port")
}

/// Starts `Xvnc` on a free display, its RFB port on loopback only, no authentication.
async fn start_xvnc() -> Xvnc {
    tokio::task::spawn_blocking(|| xvnc::start(40..200, WIDTH, HEIGHT))
        .await
        .expect("Xvnc starts")
}

/// Two drivers talking SIP straight to each other: (alice, bob).
async fn pair() -> (Driver, Driver) {
    let (a, b) = (free_udp(), free_udp());
    let mut ca = Config::new(
        AccountConfig::new("alice@example.com", "secret"),
        b,
        Transport::Udp,
    );
    ca.bind = Some(a);
    let mut cb = Config::new(
        AccountConfig::new("bob@example.com", "secret"),
        a,
        Transport::Udp,
    );
    cb.bind = Some(b);
    let alice = Driver::start(ca).await.expect("alice starts");
    let bob = Driver::start(cb).await.expect("bob starts");
    (alice, bob)
}

/// Reads notifications until one satisfies `done`; returns it.
async fn until(
    driver: &mut Driver,
    done: impl Fn(&TimedNotification) -> bool,
) -> TimedNotification {
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let n = tokio::time::timeout_at(deadline, driver.notifications.recv())
            .await
            .expect("the notification in time")
            .expect("the driver runs");
        if done(&n) {
            return n;
        }
    }
}

fn is(n: &TimedNotification, name: &str) -> bool {
    n.notification.event.name() == name
}

fn target(bob: &Driver) -> String {
    format!("sip:bob@{}", bob.local_addr())
}

/// Bob's next incoming session.
async fn incoming(bob: &mut Driver) -> u64 {
    let n = until(bob, |n| is(n, "SIPSessionNewIncoming")).await;
    let Sender::Session(id) = n.notification.sender else {
        panic!("a session")
    };
    id
}

async fn read_exact(s: &mut TcpStream, n: usize) -> Vec<u8> {
    let mut buf = vec![0; n];
    tokio::time::timeout(WAIT, s.read_exact(&mut buf))
        .await
        .expect("RFB bytes in time")
        .expect("RFB bytes");
    buf
}

async fn read_u16(s: &mut TcpStream) -> u16 {
    let b = read_exact(s, 2).await;
    u16::from_be_bytes([b[0], b[1]])
}

async fn read_u32(s: &mut TcpStream) -> u32 {
    let b = read_exact(s, 4).await;
    u32::from_be_bytes([b[0], b[1], b[2], b[3]])
}

/// A minimal RFB 3.8 viewer (RFC 6143 §7): handshake with security type None, ClientInit
/// shared, ServerInit, SetEncodings Raw, one full FramebufferUpdateRequest and its update.
/// Returns the desktop's name, the bytes of pixel data received, and the connection, which
/// the caller keeps open until it has ended the call (closing it makes the viewer handler
/// end the stream, and with it the session, which would race the caller's own hang-up).
async fn view(port: SocketAddr) -> (String, usize, TcpStream) {
    let mut s = tokio::time::timeout(WAIT, TcpStream::connect(port))
        .await
        .expect("connect in time")
        .expect("the viewer port accepts");
    // §7.1.1 ProtocolVersion: the server's comes through SIP + MSRP from Xvnc.
    let version = read_exact(&mut s, 12).await;
    assert_eq!(&version, b"RFB 003.008\n", "the server's ProtocolVersion");
    s.write_all(b"RFB 003.008\n").await.expect("write");
    // §7.1.2 Security: a list of types; take None (1).
    let n = read_exact(&mut s, 1).await[0] as usize;
    assert!(n > 0, "the server offers security types");
    let types = read_exact(&mut s, n).await;
    assert!(types.contains(&1), "security type None offered: {types:?}");
    s.write_all(&[1]).await.expect("write");
    // §7.1.3 SecurityResult: OK.
    assert_eq!(read_u32(&mut s).await, 0, "SecurityResult OK");
    // §7.3.1 ClientInit, shared; §7.3.2 ServerInit.
    s.write_all(&[1]).await.expect("write");
    let (w, h) = (read_u16(&mut s).await, read_u16(&mut s).await);
    let pixel_format = read_exact(&mut s, 16).await;
    let name_len = read_u32(&mut s).await as usize;
    assert!(name_len < 4096, "a sane name length");
    let name = String::from_utf8_lossy(&read_exact(&mut s, name_len).await).into_owned();
    assert_eq!((w, h), (WIDTH, HEIGHT), "the framebuffer's size");
    let bpp = pixel_format[0] as usize;
    assert!(matches!(bpp, 8 | 16 | 32), "bits per pixel {bpp}");
    // §7.5.2 SetEncodings: Raw only; §7.5.3 FramebufferUpdateRequest, not incremental.
    s.write_all(&[2, 0, 0, 1, 0, 0, 0, 0]).await.expect("write");
    let mut req = vec![3, 0, 0, 0, 0, 0];
    req.extend(WIDTH.to_be_bytes());
    req.extend(HEIGHT.to_be_bytes());
    s.write_all(&req).await.expect("write");
    // §7.6.1 FramebufferUpdate: Raw rectangles covering the whole framebuffer.
    let kind = read_exact(&mut s, 1).await[0];
    assert_eq!(kind, 0, "a FramebufferUpdate");
    let _pad = read_exact(&mut s, 1).await;
    let rects = read_u16(&mut s).await;
    assert!(rects > 0, "at least one rectangle");
    let (mut pixels, mut bytes) = (0usize, 0usize);
    for _ in 0..rects {
        let _x = read_u16(&mut s).await;
        let _y = read_u16(&mut s).await;
        let rw = read_u16(&mut s).await as usize;
        let rh = read_u16(&mut s).await as usize;
        let encoding = read_u32(&mut s).await;
        assert_eq!(encoding, 0, "a Raw rectangle");
        let data = read_exact(&mut s, rw * rh * bpp / 8).await;
        pixels += rw * rh;
        bytes += data.len();
    }
    assert_eq!(
        pixels,
        usize::from(WIDTH) * usize::from(HEIGHT),
        "the whole screen"
    );
    assert_eq!(bytes, pixels * bpp / 8);
    (name, bytes, s)
}

#[tokio::test]
async fn native_desktop_sharing_with_xvnc() {
    let xvnc = start_xvnc().await;
    let (mut alice, mut bob) = pair().await;
    // Alice shares her desktop (Xvnc) with Bob, who views it.
    let a = alice
        .handle()
        .share_desktop(&target(&bob), xvnc.addr)
        .await
        .expect("a call");
    let b = incoming(&mut bob).await;
    let port = bob
        .handle()
        .accept_desktop(b, DesktopHandler::Viewer)
        .await
        .expect("accepted")
        .expect("a viewer port");
    assert!(port.ip().is_loopback());
    until(&mut alice, |n| is(n, "SIPSessionDidStart")).await;
    let (name, bytes, _viewer) = view(port).await;
    assert!(!name.is_empty(), "the desktop has a name");
    assert_eq!(
        bytes,
        320 * 240 * 4,
        "depth 24 travels as 32 bits per pixel"
    );
    alice.handle().end(a).await.expect("ended");
    until(&mut alice, |n| is(n, "SIPSessionDidEnd")).await;
    until(&mut bob, |n| is(n, "SIPSessionDidEnd")).await;
    alice.shutdown().await.expect("alice stops");
    bob.shutdown().await.expect("bob stops");
    drop(xvnc);
}

/// Alice's handler fails: `DesktopSharingHandlerDidFail` with `context`, and the session
/// (whose only stream it was) ends.
async fn handler_fails(vnc: SocketAddr, context: &str) -> String {
    let (mut alice, mut bob) = pair().await;
    let a = alice
        .handle()
        .share_desktop(&target(&bob), vnc)
        .await
        .expect("a call");
    let b = incoming(&mut bob).await;
    bob.handle()
        .accept_desktop(b, DesktopHandler::Viewer)
        .await
        .expect("accepted");
    let n = until(&mut alice, |n| is(n, "DesktopSharingHandlerDidFail")).await;
    assert_eq!(
        n.notification.sender,
        Sender::Stream {
            session: a,
            index: 0
        }
    );
    let Event::DesktopSharingHandlerDidFail {
        context: got,
        reason,
    } = n.notification.event
    else {
        panic!("DesktopSharingHandlerDidFail")
    };
    assert_eq!(got, context, "{reason}");
    until(&mut alice, |n| is(n, "MediaStreamDidFail")).await;
    until(&mut alice, |n| is(n, "SIPSessionDidEnd")).await;
    until(&mut bob, |n| is(n, "SIPSessionDidEnd")).await;
    alice.shutdown().await.expect("alice stops");
    bob.shutdown().await.expect("bob stops");
    reason
}

#[tokio::test]
async fn native_desktop_server_unreachable() {
    // A port nobody listens on.
    let closed = free_tcp();
    let reason = handler_fails(closed, "connecting").await;
    assert!(
        reason.contains("VNC server") && reason.contains(&closed.to_string()),
        "{reason}"
    );
}

#[tokio::test]
async fn native_desktop_server_closes() {
    // A "VNC server" that greets and hangs up.
    let listener = tokio::net::TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .await
        .expect("bind");
    let vnc = listener.local_addr().expect("address");
    let server = tokio::spawn(async move {
        if let Ok((mut s, _)) = listener.accept().await {
            let _ = s.write_all(b"RFB 003.008\n").await;
        }
    });
    let reason = handler_fails(vnc, "reading").await;
    assert!(reason.contains("VNC server was closed"), "{reason}");
    server.abort();
}
