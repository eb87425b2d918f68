//! The gateway binary as a child process on loopback (temp data dir, two users), killed on
//! drop.

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

/// A running gateway.
pub struct Gateway {
    child: Child,
    /// The HTTP listener (`/ws`).
    pub http: SocketAddr,
    /// The SIP UDP listener.
    pub udp: SocketAddr,
    _dir: tempfile::TempDir,
}

impl Drop for Gateway {
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        for _ in 0..50 {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn field(line: &str, name: &str) -> Option<SocketAddr> {
    line.split_whitespace()
        .find_map(|w| w.strip_prefix(name))
        .and_then(|v| v.parse().ok())
}

fn add_user(bin: &Path, data: &Path, name: &str, password: &str) -> Result<(), String> {
    let status = Command::new(bin)
        .arg("--data-dir")
        .arg(data)
        .args(["user", "add", name, "--password", password])
        .stdout(Stdio::null())
        .status()
        .map_err(|e| format!("cannot run {}: {e}", bin.display()))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("user add {name} failed: {status}"))
    }
}

impl Gateway {
    /// Adds alice (`secret`) and bob (`bobpass`), starts `serve` on ephemeral loopback ports
    /// and waits for the ready line.
    pub fn start(bin: &Path) -> Result<Gateway, String> {
        let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
        let data: PathBuf = dir.path().join("data");
        add_user(bin, &data, "alice", "secret")?;
        add_user(bin, &data, "bob", "bobpass")?;
        let mut child = Command::new(bin)
            .arg("--data-dir")
            .arg(&data)
            .args([
                "serve",
                "--http",
                "127.0.0.1:0",
                "--https",
                "off",
                "--sip-udp",
                "127.0.0.1:0",
                "--sip-tcp",
                "off",
                "--sip-tls",
                "off",
                "--no-demo",
            ])
            .env(
                "RUST_LOG",
                std::env::var("GATEWAY_LOG").unwrap_or_else(|_| "warn".into()),
            )
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .spawn()
            .map_err(|e| format!("cannot start {}: {e}", bin.display()))?;
        let stdout = child.stdout.take().ok_or("no stdout")?;
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            // Read to the end so that the gateway never blocks on a full pipe.
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if line.starts_with("sipsimple-gateway ready ") {
                    let _ = tx.send(line);
                }
            }
        });
        let placeholder = SocketAddr::from(([0, 0, 0, 0], 0));
        let mut gw = Gateway {
            child,
            http: placeholder,
            udp: placeholder,
            _dir: dir,
        };
        let line = rx
            .recv_timeout(Duration::from_secs(30))
            .map_err(|_| "the gateway printed no ready line in 30 s".to_string())?;
        gw.http = field(&line, "http=").ok_or_else(|| format!("no http= in {line}"))?;
        gw.udp = field(&line, "sip_udp=").ok_or_else(|| format!("no sip_udp= in {line}"))?;
        Ok(gw)
    }

    /// The process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }
}
