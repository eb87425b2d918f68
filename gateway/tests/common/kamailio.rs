//! Kamailio as a child process of a test: a config file and `-A` defines, on a free loopback
//! port, its log in a temp dir; stopped on drop (SIGTERM: the main process stops its
//! children).

use super::sipp::free_port;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A running Kamailio.
pub struct Kamailio {
    child: Child,
    pub port: u16,
    pub dir: tempfile::TempDir,
}

impl Kamailio {
    /// Starts `kamailio -f cfg` with `KAM_PORT` (a free port) and the `defines` (`NAME=value`
    /// for `-A`), in `dir` (files the config refers to may be written there first); returns
    /// once it listens on the port.
    pub fn start(dir: tempfile::TempDir, cfg: &Path, defines: &[String]) -> Kamailio {
        let port = free_port("127.0.0.1");
        let log = std::fs::File::create(dir.path().join("kamailio.log")).expect("log file");
        let mut cmd = Command::new("kamailio");
        cmd.arg("-f")
            .arg(cfg)
            .args(["-DD", "-E", "-m", "64", "-M", "8"])
            .arg("-w")
            .arg(dir.path())
            .arg("-Y")
            .arg(dir.path())
            .args(["-A", &format!("KAM_PORT={port}")]);
        for d in defines {
            cmd.args(["-A", d]);
        }
        let mut child = cmd
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("spawn kamailio");
        let deadline = Instant::now() + Duration::from_secs(10);
        while std::net::UdpSocket::bind(("127.0.0.1", port)).is_ok() {
            if let Ok(Some(s)) = child.try_wait() {
                panic!(
                    "kamailio exited ({s}): {}",
                    std::fs::read_to_string(dir.path().join("kamailio.log")).unwrap_or_default()
                );
            }
            assert!(Instant::now() < deadline, "kamailio did not bind its port");
            std::thread::sleep(Duration::from_millis(20));
        }
        Kamailio { child, port, dir }
    }

    /// `127.0.0.1:port`.
    pub fn addr(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// What it logged so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("kamailio.log")).unwrap_or_default()
    }
}

impl Drop for Kamailio {
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let _ = self.child.wait();
    }
}
