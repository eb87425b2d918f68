//! The Bonjour account end to end (feature `native`): two `bonjour_peer` processes
//! (shared/examples/bonjour_peer.rs) in a network namespace this test creates, on the
//! loopback addresses 127.0.0.2 and 127.0.0.3 of its own `lo` (multicast switched on), with
//! no registrar or proxy anywhere. They find each other with mDNS/DNS-SD (`_sipuri._udp`),
//! A places an audio call to the contact it discovered and B answers (RTP both ways), then
//! a chat session carries a message each way over MSRP; when B quits, its goodbye packet
//! makes A report the neighbour removed. A second test puts the account beside an mDNS
//! stack nobody here wrote, python-zeroconf (tests/tools/zeroconf_peer.py): each finds the
//! other and sees the other's goodbye. Nothing can leave the machine: the namespaces have no
//! other interface.
//!
//! Needs root (`ip netns add`) and the example built beside the test: `cargo xtask test`
//! does both; by hand, `cargo build -p sipsimple --features native --example bonjour_peer`
//! then `cargo test -p sipsimple --features native --test native_bonjour`. Missing either is
//! a failure, not a skip.
#![cfg(feature = "native")]

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// How long any one step may take.
const WAIT: Duration = Duration::from_secs(30);

/// The namespace, deleted on drop (also when the test fails).
struct Netns(String);

impl Netns {
    /// `tag` tells apart the namespaces of the tests running at once in this process.
    fn create(tag: &str) -> Netns {
        let name = format!("sipsimple-bj{tag}-{}", std::process::id());
        // A leftover of an earlier run with the same pid goes first.
        let _ = ip(&["netns", "del", &name]);
        if let Err(e) = ip(&["netns", "add", &name]) {
            panic!(
                "cannot create network namespace {name}: {e}. This test needs root and \
                 iproute2 (`ip netns add`); it does not run outside one."
            );
        }
        let ns = Netns(name);
        for args in [
            &["link", "set", "lo", "up"][..],
            &["link", "set", "lo", "multicast", "on"],
            &["addr", "add", "127.0.0.2/8", "dev", "lo"],
            &["addr", "add", "127.0.0.3/8", "dev", "lo"],
        ] {
            let mut v = vec!["-n", ns.0.as_str()];
            v.extend_from_slice(args);
            if let Err(e) = ip(&v) {
                panic!("setting up namespace {}: ip {}: {e}", ns.0, v.join(" "));
            }
        }
        ns
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        let _ = ip(&["netns", "del", &self.0]);
    }
}

fn ip(args: &[&str]) -> Result<(), String> {
    let out = Command::new("ip")
        .args(args)
        .output()
        .map_err(|e| format!("cannot run ip: {e}"))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(String::from_utf8_lossy(&out.stderr).trim().to_string())
    }
}

/// The example binary, built by `--example bonjour_peer` beside this test's binary.
fn peer_binary() -> PathBuf {
    let exe = std::env::current_exe().expect("the test's path");
    // target/debug/deps/native_bonjour-HASH -> target/debug/examples/bonjour_peer
    let bin = exe
        .parent()
        .and_then(|p| p.parent())
        .map(|p| p.join("examples").join("bonjour_peer"))
        .expect("a target directory");
    assert!(
        bin.exists(),
        "{} is missing: build it with `cargo build -p sipsimple --features native --example \
         bonjour_peer` (cargo xtask test does)",
        bin.display()
    );
    bin
}

/// One `bonjour_peer` process in the namespace, its output lines read on a thread.
struct Peer {
    name: &'static str,
    child: Child,
    stdin: Option<ChildStdin>,
    lines: mpsc::Receiver<String>,
    seen: Vec<String>,
}

impl Peer {
    fn spawn(ns: &Netns, name: &'static str, address: &str) -> Peer {
        Peer::spawn_program(
            ns,
            name,
            &peer_binary(),
            &["--address", address, "--name", name],
        )
    }

    /// Any program in the namespace, scripted over its stdin and stdout lines.
    fn spawn_program(ns: &Netns, name: &'static str, program: &Path, args: &[&str]) -> Peer {
        let mut child = Command::new("ip")
            .args(["netns", "exec", &ns.0])
            .arg(program)
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap_or_else(|e| panic!("spawn {}: {e}", program.display()));
        let stdout = child.stdout.take().expect("stdout");
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        Peer {
            name,
            stdin: child.stdin.take(),
            child,
            lines,
            seen: Vec::new(),
        }
    }

    fn send(&mut self, line: &str) {
        let stdin = self.stdin.as_mut().expect("stdin open");
        writeln!(stdin, "{line}").expect("write to the peer");
        stdin.flush().expect("flush");
    }

    /// Waits for a line satisfying `want`; returns it.
    fn expect(&mut self, what: &str, want: impl Fn(&str) -> bool) -> String {
        let deadline = Instant::now() + WAIT;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) => {
                    eprintln!("[{}] {line}", self.name);
                    self.seen.push(line.clone());
                    assert!(
                        !line.starts_with("error") && !line.starts_with("discovery-failed"),
                        "{} reported: {line}",
                        self.name
                    );
                    if want(&line) {
                        return line;
                    }
                }
                Err(e) => panic!(
                    "{} did not print {what} ({e}; exit status {:?}); it printed:\n{}",
                    self.name,
                    self.child.try_wait().ok().flatten(),
                    self.seen.join("\n")
                ),
            }
        }
    }

    /// The word after `prefix` in the next line starting with it.
    fn expect_word(&mut self, prefix: &str) -> String {
        let line = self.expect(prefix, |l| l.starts_with(prefix));
        line[prefix.len()..]
            .split_whitespace()
            .next()
            .unwrap_or_default()
            .to_string()
    }

    /// Closes stdin (the peer quits) and waits for a clean exit.
    fn quit(&mut self) {
        self.send("quit");
        self.stdin = None;
        let deadline = Instant::now() + WAIT;
        loop {
            if let Some(status) = self.child.try_wait().expect("wait") {
                assert!(status.success(), "{} exited with {status}", self.name);
                return;
            }
            assert!(Instant::now() < deadline, "{} did not quit", self.name);
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Peer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn bonjour_peers_discover_each_other_call_and_chat_without_a_registrar() {
    let ns = Netns::create("peers");
    let mut a = Peer::spawn(&ns, "Alice", "127.0.0.2");
    let mut b = Peer::spawn(&ns, "Bob", "127.0.0.3");
    for p in [&mut a, &mut b] {
        p.expect("activation", |l| l == "activated bonjour@local");
    }
    let a_uri = a.expect_word("contact ");
    let b_uri = b.expect_word("contact ");
    assert!(
        a_uri.starts_with("sip:") && a_uri.contains("@127.0.0.2:"),
        "{a_uri}"
    );
    assert!(
        b_uri.starts_with("sip:") && b_uri.contains("@127.0.0.3:"),
        "{b_uri}"
    );

    // Discovery, with the display names of the TXT records; never oneself.
    a.expect("Bob as a neighbour", |l| {
        l == format!("neighbour-added {b_uri} Bob")
    });
    b.expect("Alice as a neighbour", |l| {
        l == format!("neighbour-added {a_uri} Alice")
    });

    // An audio call to the discovered contact, answered, with RTP both ways.
    a.send(&format!("call {b_uri}"));
    let call_a = a.expect_word("session ");
    let call_b = b.expect_word("incoming ");
    a.expect("the call started", |l| l == format!("started {call_a}"));
    b.expect("the call started", |l| l == format!("started {call_b}"));
    for (p, id) in [(&mut a, &call_a), (&mut b, &call_b)] {
        let deadline = Instant::now() + WAIT;
        loop {
            p.send(&format!("audio {id}"));
            let line = p.expect("audio", |l| l.starts_with("audio "));
            if line == format!("audio {id} true") {
                break;
            }
            assert!(Instant::now() < deadline, "{} received no audio", p.name);
            std::thread::sleep(Duration::from_millis(50));
        }
    }
    a.send(&format!("end {call_a}"));
    a.expect("the call ended", |l| l == format!("ended {call_a}"));
    b.expect("the call ended", |l| l == format!("ended {call_b}"));

    // A chat, a message each way.
    a.send(&format!("chat {b_uri}"));
    let chat_a = a.expect_word("session ");
    let chat_b = b.expect_word("incoming ");
    a.expect("the chat started", |l| l == format!("started {chat_a}"));
    b.expect("the chat started", |l| l == format!("started {chat_b}"));
    a.send(&format!("say {chat_a} hello bob"));
    let sent = a.expect_word("sent ");
    b.expect("Alice's message", |l| {
        l == format!("message {chat_b} hello bob")
    });
    a.expect("its delivery", |l| l == format!("delivered {sent}"));
    b.send(&format!("say {chat_b} hello alice"));
    let sent = b.expect_word("sent ");
    a.expect("Bob's message", |l| {
        l == format!("message {chat_a} hello alice")
    });
    b.expect("its delivery", |l| l == format!("delivered {sent}"));
    b.send(&format!("end {chat_b}"));
    a.expect("the chat ended", |l| l == format!("ended {chat_a}"));
    b.expect("the chat ended", |l| l == format!("ended {chat_b}"));

    // B leaves: its goodbye removes it from A's neighbours.
    b.quit();
    a.expect("Bob's goodbye", |l| {
        l == format!("neighbour-removed {b_uri}")
    });
    a.quit();
    for p in [&a, &b] {
        let own = if p.name == "Alice" { &a_uri } else { &b_uri };
        assert!(
            !p.seen
                .iter()
                .any(|l| l.starts_with("neighbour-") && l.contains(own.as_str())),
            "{} listed itself: {:?}",
            p.name,
            p.seen
        );
    }
}

/// python-zeroconf: the Python mDNS stack (Debian's python3-zeroconf).
const ZEROCONF: &str = "/usr/lib/python3/dist-packages/zeroconf/__init__.py";

/// Interop with an mDNS stack nobody here wrote: python-zeroconf (Debian's python3-zeroconf,
/// driven by tests/tools/zeroconf_peer.py) announces a `_sipuri._udp` neighbour the way
/// python-sipsimple did, on 127.0.0.3 of the namespace. The Bonjour account on 127.0.0.2
/// lists it with the contact and name of its TXT record, and zeroconf resolves ours; each
/// one's goodbye removes it from the other's list.
#[test]
fn bonjour_and_python_zeroconf_discover_each_other() {
    assert!(
        Path::new(ZEROCONF).exists(),
        "python3-zeroconf is missing: `cargo xtask setup --for test` installs it"
    );
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../tests/tools/zeroconf_peer.py");
    let ns = Netns::create("zc");
    let mut z = Peer::spawn_program(
        &ns,
        "zeroconf",
        Path::new("/usr/bin/python3"),
        &[
            script.to_str().expect("a UTF-8 path"),
            "127.0.0.3",
            "5070",
            "zed",
            "Zed",
        ],
    );
    z.expect("zeroconf's start", |l| l == "ready");
    let mut a = Peer::spawn(&ns, "Alice", "127.0.0.2");
    a.expect("activation", |l| l == "activated bonjour@local");
    let a_uri = a.expect_word("contact ");

    a.expect("zeroconf's service", |l| {
        l == "neighbour-added sip:zed@127.0.0.3:5070 Zed"
    });
    z.expect("Alice's service", |l| l == format!("found {a_uri} Alice"));

    // zeroconf leaves (unregister: TTL 0 records), then Alice does.
    z.send("quit");
    z.expect("zeroconf's goodbye sent", |l| l == "bye");
    a.expect("zeroconf's goodbye", |l| {
        l == "neighbour-removed sip:zed@127.0.0.3:5070"
    });
    let mut z = Peer::spawn_program(
        &ns,
        "zeroconf",
        Path::new("/usr/bin/python3"),
        &[
            script.to_str().expect("a UTF-8 path"),
            "127.0.0.3",
            "5071",
            "zoe",
            "Zoe",
        ],
    );
    z.expect("zeroconf's start", |l| l == "ready");
    z.expect("Alice's service", |l| l == format!("found {a_uri} Alice"));
    a.quit();
    z.expect("Alice's goodbye", |l| {
        l.starts_with("removed ") && l.contains(a_uri.as_str())
    });
    z.send("quit");
    z.expect("zeroconf's end", |l| l == "bye");
}
