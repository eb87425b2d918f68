//! SIPp (Debian `sip-tester`) started by a test on a free loopback port and killed when
//! dropped; scenario files live in `gateway/tests/scenarios/`.

use std::path::PathBuf;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

/// `true` when `sipp` can be run; under CI its absence is a failure.
pub fn installed() -> bool {
    let ok = Command::new("sipp")
        .arg("-v")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok();
    if !ok {
        assert!(
            std::env::var_os("CI").is_none(),
            "sipp is not installed; run `cargo xtask setup --for test`"
        );
        eprintln!("sipp is not installed: skipping");
    }
    ok
}

/// A free port on `ip` for TCP and UDP alike (released just before SIPp binds it).
pub fn free_port(ip: &str) -> u16 {
    for _ in 0..50 {
        let tcp = std::net::TcpListener::bind((ip, 0)).expect("bind");
        let port = tcp.local_addr().expect("addr").port();
        if std::net::UdpSocket::bind((ip, port)).is_ok() {
            return port;
        }
    }
    panic!("no free port");
}

/// The path of a scenario file.
pub fn scenario(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/scenarios")
        .join(name)
}

/// A running SIPp, killed on drop.
pub struct Sipp {
    child: Child,
    /// The port it listens on.
    pub port: u16,
    dir: tempfile::TempDir,
}

impl Drop for Sipp {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The SIPp transport flag for `-t`: `u1`, `t1` or `l1`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transport {
    Udp,
    Tcp,
    Tls,
}

impl Transport {
    pub fn flag(self) -> &'static str {
        match self {
            Transport::Udp => "u1",
            Transport::Tcp => "t1",
            Transport::Tls => "l1",
        }
    }
}

/// Starts SIPp on `ip` with `args` (scenario, remote address, `-s`, `-set` ...), one call,
/// the message trace kept for [`Sipp::trace`]. For TLS it is given `cert`/`key`.
pub fn start(
    ip: &str,
    transport: Transport,
    tls: Option<(PathBuf, PathBuf)>,
    args: &[&str],
) -> Sipp {
    start_at(ip, free_port(ip), transport, tls, args)
}

/// [`start`] over UDP on a given `port` (a user agent that registered from it, answering).
pub fn start_on_port(ip: &str, port: u16, args: &[&str]) -> Sipp {
    start_at(ip, port, Transport::Udp, None, args)
}

fn start_at(
    ip: &str,
    port: u16,
    transport: Transport,
    tls: Option<(PathBuf, PathBuf)>,
    args: &[&str],
) -> Sipp {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut cmd = Command::new("sipp");
    cmd.args([
        "-i",
        ip,
        "-mi",
        ip,
        "-p",
        &port.to_string(),
        "-t",
        transport.flag(),
    ])
    .args(["-m", "1", "-nostdin", "-timeout", "30s", "-timeout_error"])
    // SIPp writes its logs beside the scenario file unless told otherwise.
    .args(["-trace_msg", "-trace_err", "-trace_logs"])
    .arg("-message_file")
    .arg(dir.path().join("messages.log"))
    .arg("-error_file")
    .arg(dir.path().join("errors.log"))
    .arg("-log_file")
    .arg(dir.path().join("logs.log"))
    .args(args)
    .current_dir(dir.path())
    .stdin(Stdio::null())
    .stdout(Stdio::null())
    .stderr(Stdio::null());
    if let Some((cert, key)) = tls {
        cmd.arg("-tls_cert").arg(cert).arg("-tls_key").arg(key);
    }
    let child = cmd.spawn().expect("spawn sipp");
    Sipp { child, port, dir }
}

impl Sipp {
    /// Waits until SIPp holds its port (a server scenario is then ready).
    pub async fn ready(&mut self, ip: &str) {
        let deadline = Instant::now() + Duration::from_secs(10);
        while std::net::UdpSocket::bind((ip, self.port)).is_ok()
            && std::net::TcpListener::bind((ip, self.port)).is_ok()
        {
            if let Some(s) = self.child.try_wait().expect("try_wait") {
                panic!("SIPp exited early ({s}): {}", self.trace());
            }
            assert!(Instant::now() < deadline, "SIPp did not bind its port");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Waits for SIPp to exit (at most `secs` seconds).
    pub async fn wait(&mut self, secs: u64) -> ExitStatus {
        let deadline = Instant::now() + Duration::from_secs(secs);
        loop {
            if let Some(s) = self.child.try_wait().expect("try_wait") {
                return s;
            }
            assert!(
                Instant::now() < deadline,
                "SIPp did not finish: {}",
                self.trace()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// SIPp's message, error and scenario logs, for failure messages.
    pub fn trace(&self) -> String {
        let mut out = String::new();
        for name in ["messages.log", "errors.log", "logs.log"] {
            out.push_str(&format!("==== {name}\n"));
            out.push_str(&std::fs::read_to_string(self.dir.path().join(name)).unwrap_or_default());
        }
        out
    }

    /// The scenario's own log (`<log message=...>` actions).
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("logs.log")).unwrap_or_default()
    }

    /// Asserts a successful exit, showing the traces otherwise.
    pub async fn assert_success(&mut self, secs: u64) {
        let status = self.wait(secs).await;
        assert!(
            status.success(),
            "SIPp failed ({status}):\n{}",
            self.trace()
        );
    }
}
