//! TigerVNC's `Xvnc` as a child process of a test: RFB on a free 127.0.0.1 port, no X over
//! TCP, security type None (or VNC Authentication), a `width`×`height`×24 framebuffer on a free display of its own
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
    /// Its password file, removed with it.
    password_file: Option<std::path::PathBuf>,
}

impl Drop for Xvnc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_file(format!("/tmp/.X{}-lock", self.display));
        let _ = std::fs::remove_file(format!("/tmp/.X11-unix/X{}", self.display));
        if let Some(f) = &self.password_file {
            let _ = std::fs::remove_file(f);
        }
    }
}

/// Starts `Xvnc` on the first free display in `displays`; returns once its X socket exists
/// and it accepts RFB connections.
pub fn start(displays: std::ops::Range<u32>, width: u16, height: u16) -> Xvnc {
    start_with(displays, width, height, &["-SecurityTypes", "None"])
}

/// Starts `Xvnc` as [`start`] does, asking for VNC Authentication with `password`: its
/// password file (`-PasswordFile`) is the password zero-padded to 8 bytes and encrypted by
/// OpenSSL's DES under VNC's fixed obfuscation key (d3des's 17 52 6b 06 23 4e 58 07, each
/// byte's bits mirrored for a standard DES), so the test does not trust our own DES.
#[allow(dead_code)] // rfb_xvnc uses it, native_desktop does not
pub fn start_with_password(
    displays: std::ops::Range<u32>,
    width: u16,
    height: u16,
    password: &str,
) -> Xvnc {
    use std::io::Write;
    let mut padded = password.as_bytes().to_vec();
    padded.resize(8, 0);
    let mut openssl = Command::new("openssl")
        .args(["enc", "-des-ecb", "-nopad", "-K", "e84ad660c4721ae0"])
        .args(["-provider", "legacy", "-provider", "default"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("openssl runs (`cargo xtask setup` installs it)");
    openssl
        .stdin
        .take()
        .expect("stdin")
        .write_all(&padded)
        .expect("openssl's stdin");
    let out = openssl.wait_with_output().expect("openssl");
    assert!(
        out.status.success() && out.stdout.len() == 8,
        "openssl DES: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let file = std::env::temp_dir().join(format!(
        "sipsimple-vncpasswd-{}-{password}",
        std::process::id()
    ));
    std::fs::write(&file, &out.stdout).expect("the password file");
    let path = file.to_string_lossy().into_owned();
    let mut x = start_with(
        displays,
        width,
        height,
        &["-SecurityTypes", "VncAuth", "-PasswordFile", &path],
    );
    x.password_file = Some(file);
    x
}

/// Starts `Xvnc` as [`start`] does, with `-retro`: the classic root weave and the X-shaped
/// root cursor (by default the root has no visible cursor).
#[allow(dead_code)] // rfb_xvnc uses it, native_desktop does not
pub fn start_retro(displays: std::ops::Range<u32>, width: u16, height: u16) -> Xvnc {
    start_with(
        displays,
        width,
        height,
        &["-SecurityTypes", "None", "-retro"],
    )
}

fn start_with(displays: std::ops::Range<u32>, width: u16, height: u16, security: &[&str]) -> Xvnc {
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
        .args(security)
        .arg("-AlwaysShared")
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
        password_file: None,
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
