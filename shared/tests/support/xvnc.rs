//! TigerVNC's `Xvnc` as a child process of a test: RFB on a free 127.0.0.1 port, no X over
//! TCP, security type None, a `width`×`height`×24 framebuffer on a free display of its own
//! range (so that suites running at once do not race for one); stopped on drop.

use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A running `Xvnc`.
pub struct Xvnc {
    child: Child,
    /// The X display number (`:N`, socket `/tmp/.X11-unix/XN`).
    pub display: u32,
    /// Where it speaks RFB.
    pub addr: SocketAddr,
}

impl Drop for Xvnc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_file(format!("/tmp/.X{}-lock", self.display));
        let _ = std::fs::remove_file(format!("/tmp/.X11-unix/X{}", self.display));
    }
}

/// Starts `Xvnc` on the first free display in `displays`; returns once its X socket exists
/// and it accepts RFB connections.
pub fn start(displays: std::ops::Range<u32>, width: u16, height: u16) -> Xvnc {
    let bin = ["/usr/bin/Xvnc", "/usr/local/bin/Xvnc"]
        .into_iter()
        .find(|p| Path::new(p).exists())
        .unwrap_or_else(|| {
            panic!(
                "Xvnc not found: install the Debian package tigervnc-standalone-server \
                 (`cargo xtask setup` does)"
            )
        });
    let display = displays
        .into_iter()
        .find(|d| {
            !Path::new(&format!("/tmp/.X{d}-lock")).exists()
                && !Path::new(&format!("/tmp/.X11-unix/X{d}")).exists()
        })
        .expect("a free X display");
    let addr = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .and_then(|l| l.local_addr())
        .expect("a free port");
    let child = Command::new(bin)
        .arg(format!(":{display}"))
        .args(["-rfbport", &addr.port().to_string()])
        .args(["-localhost", "-interface", "127.0.0.1", "-nolisten", "tcp"])
        .args(["-SecurityTypes", "None", "-AlwaysShared"])
        .args(["-geometry", &format!("{width}x{height}"), "-depth", "24"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {bin}: {e}"));
    let mut x = Xvnc {
        child,
        display,
        addr,
    };
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        if let Ok(Some(status)) = x.child.try_wait() {
            panic!("Xvnc :{display} exited at start: {status}");
        }
        if Path::new(&format!("/tmp/.X11-unix/X{display}")).exists()
            && TcpStream::connect(addr).is_ok()
        {
            return x;
        }
        assert!(Instant::now() < deadline, "Xvnc :{display} does not start");
        std::thread::sleep(Duration::from_millis(50));
    }
}
