//! Interop of the native driver with real peers on loopback: Kamailio (`tests/kamailio/
//! kamailio.cfg`) as digest registrar and record-routing stateful proxy, SIPp
//! (`tests/kamailio/uas.xml`) as the callee behind it. Every test starts its own peers on
//! free ports and kills them when it ends, passing or not.
//!
//! Run by `cargo xtask test`; by hand: `cargo test -p sipsimple --features native --examples
//! --test native_kamailio` (the examples are built for the example's own test). Without
//! `kamailio` or `sipp` installed the tests skip, unless `CI` or `SIPSIMPLE_REQUIRE_PEERS`
//! is set.

use sipsimple::native::{Config, Driver};
use sipsimple::{AccountConfig, Event, Notification, Originator, SessionState, Transport};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

const WAIT: Duration = Duration::from_secs(15);

fn repo_file(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join(path)
}

fn peers_required() -> bool {
    std::env::var_os("CI").is_some() || std::env::var_os("SIPSIMPLE_REQUIRE_PEERS").is_some()
}

/// `true` when both peers can run; their absence fails the test under CI.
fn peers_installed() -> bool {
    let runs = |program: &str, arg: &str| {
        Command::new(program)
            .arg(arg)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok()
    };
    let ok = runs("kamailio", "-v") && runs("sipp", "-v");
    if !ok {
        assert!(
            !peers_required(),
            "kamailio or sipp is missing: run `cargo xtask setup --for test`"
        );
        eprintln!("kamailio or sipp is missing: skipping");
    }
    ok
}

/// A directory under the system's temp dir, removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new(what: &str) -> TempDir {
        static N: AtomicU32 = AtomicU32::new(0);
        let n = N.fetch_add(1, Ordering::Relaxed);
        let dir = std::env::temp_dir().join(format!(
            "sipsimple-native-{what}-{}-{n}",
            std::process::id()
        ));
        std::fs::create_dir_all(&dir).expect("temp dir");
        TempDir(dir)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A port free on 127.0.0.1 for UDP and TCP alike (released just before a peer binds it).
fn free_port() -> u16 {
    for _ in 0..50 {
        let tcp = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let port = tcp.local_addr().expect("addr").port();
        if std::net::UdpSocket::bind(("127.0.0.1", port)).is_ok() {
            return port;
        }
    }
    panic!("no free port");
}

/// Waits until someone holds UDP `port` on loopback, failing if `child` exits first.
fn wait_bound(child: &mut Child, port: u16, what: &str, log: impl Fn() -> String) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while std::net::UdpSocket::bind(("127.0.0.1", port)).is_ok() {
        if let Ok(Some(status)) = child.try_wait() {
            panic!("{what} exited early ({status}):\n{}", log());
        }
        assert!(Instant::now() < deadline, "{what} did not bind its port");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// A running Kamailio, stopped with SIGTERM (it then stops its children) on drop.
struct Kamailio {
    child: Child,
    port: u16,
    dir: TempDir,
}

impl Kamailio {
    fn start(uas_port: u16) -> Kamailio {
        let dir = TempDir::new("kamailio");
        let port = free_port();
        let log = std::fs::File::create(dir.0.join("kamailio.log")).expect("log file");
        let mut child = Command::new("kamailio")
            .arg("-f")
            .arg(repo_file("tests/kamailio/kamailio.cfg"))
            .args(["-DD", "-E", "-m", "32", "-M", "4"])
            .arg("-w")
            .arg(&dir.0)
            .arg("-Y")
            .arg(&dir.0)
            .arg("-A")
            .arg(format!("KAM_PORT={port}"))
            .arg("-A")
            .arg(format!("UAS_URI=\"sip:127.0.0.1:{uas_port}\""))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("spawn kamailio");
        let log_path = dir.0.join("kamailio.log");
        wait_bound(&mut child, port, "kamailio", || {
            std::fs::read_to_string(&log_path).unwrap_or_default()
        });
        Kamailio { child, port, dir }
    }

    fn addr(&self) -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], self.port))
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.dir.0.join("kamailio.log")).unwrap_or_default()
    }

    /// How many requests of `method` it logged receiving.
    fn received(&self, method: &str) -> usize {
        self.log().matches(&format!("request {method} ")).count()
    }
}

impl Drop for Kamailio {
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A SIPp UAS running `tests/kamailio/uas.xml` for one call, killed on drop.
struct Sipp {
    child: Child,
    port: u16,
    dir: TempDir,
}

impl Sipp {
    fn start() -> Sipp {
        let dir = TempDir::new("sipp");
        let port = free_port();
        let mut child = Command::new("sipp")
            .arg("-sf")
            .arg(repo_file("tests/kamailio/uas.xml"))
            .args(["-i", "127.0.0.1", "-mi", "127.0.0.1", "-t", "u1"])
            .args(["-p", &port.to_string(), "-mp", &free_port().to_string()])
            .args(["-m", "1", "-nostdin", "-timeout", "30s", "-timeout_error"])
            .args(["-trace_msg", "-trace_err"])
            .arg("-message_file")
            .arg(dir.0.join("messages.log"))
            .arg("-error_file")
            .arg(dir.0.join("errors.log"))
            .current_dir(&dir.0)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn sipp");
        let trace = dir.0.join("messages.log");
        wait_bound(&mut child, port, "sipp", || {
            std::fs::read_to_string(&trace).unwrap_or_default()
        });
        Sipp { child, port, dir }
    }

    fn trace(&self) -> String {
        ["messages.log", "errors.log"]
            .iter()
            .map(|f| std::fs::read_to_string(self.dir.0.join(f)).unwrap_or_default())
            .collect::<Vec<_>>()
            .join("\n")
    }

    async fn wait(&mut self) -> ExitStatus {
        let deadline = Instant::now() + WAIT;
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                return status;
            }
            assert!(
                Instant::now() < deadline,
                "SIPp did not finish:\n{}",
                self.trace()
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

impl Drop for Sipp {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Notifications until one passes `done`, all of them returned.
async fn until(driver: &mut Driver, done: impl Fn(&Notification) -> bool) -> Vec<Notification> {
    let mut seen = Vec::new();
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        match tokio::time::timeout_at(deadline, driver.notifications.recv()).await {
            Ok(Some(n)) => {
                let n = n.notification;
                eprintln!("{}", serde_json::to_string(&n).unwrap_or_default());
                let last = done(&n);
                seen.push(n);
                if last {
                    return seen;
                }
            }
            Ok(None) => panic!("the driver stopped; seen {seen:?}"),
            Err(_) => panic!("timed out; seen {seen:?}"),
        }
    }
}

fn names(seen: &[Notification]) -> Vec<&'static str> {
    seen.iter().map(|n| n.event.name()).collect()
}

async fn register_call_and_hang_up(transport: Transport) {
    if !peers_installed() {
        return;
    }
    let mut sipp = Sipp::start();
    let kamailio = Kamailio::start(sipp.port);
    let account = AccountConfig::new("alice@example.com", "secret");
    let mut driver = Driver::start(Config::new(account, kamailio.addr(), transport))
        .await
        .expect("driver");
    let local = driver.local_addr().to_string();
    assert!(driver.contact().contains(&local), "{}", driver.contact());

    // REGISTER, 401, REGISTER with credentials, 200.
    let handle = driver.handle().clone();
    handle.register().await.expect("register");
    let seen = until(&mut driver, |n| {
        matches!(
            n.event,
            Event::SIPAccountRegistrationDidSucceed { .. }
                | Event::SIPAccountRegistrationDidFail { .. }
        )
    })
    .await;
    let Some(Event::SIPAccountRegistrationDidSucceed {
        code,
        contact_uri,
        contact_uri_list,
        expires,
        ..
    }) = seen.last().map(|n| n.event.clone())
    else {
        panic!("registration failed: {seen:?}\n{}", kamailio.log());
    };
    assert_eq!(code, 200);
    assert!(contact_uri.contains(&local), "{contact_uri}");
    assert!(
        contact_uri_list.iter().any(|c| c.contains(&local)),
        "the registrar holds our contact: {contact_uri_list:?}"
    );
    assert!(expires > 0 && expires <= 600, "{expires}");
    assert_eq!(kamailio.received("REGISTER"), 2, "{}", kamailio.log());

    // INVITE, 407, INVITE with credentials, 180, 200, ACK through the Record-Route.
    let id = handle
        .connect("sip:bob@example.com", None)
        .await
        .expect("connect");
    let seen = until(&mut driver, |n| {
        matches!(
            n.event,
            Event::SIPSessionDidStart {} | Event::SIPSessionDidEnd { .. }
        )
    })
    .await;
    assert_eq!(
        names(&seen),
        [
            "SIPSessionNewOutgoing",
            "SIPSessionChangedState",
            "SIPSessionGotRingIndication",
            "SIPSessionWillStart",
            "SIPSessionChangedState",
            "SIPSessionDidStart",
        ],
        "{seen:?}\n{}",
        sipp.trace()
    );
    assert!(matches!(
        seen[4].event,
        Event::SIPSessionChangedState {
            state: SessionState::Established,
            ..
        }
    ));
    assert_eq!(kamailio.received("INVITE"), 2, "{}", kamailio.log());

    // BYE through the Record-Route; SIPp answers and exits.
    handle.end(id).await.expect("end");
    let seen = until(&mut driver, |n| {
        matches!(n.event, Event::SIPSessionDidEnd { .. })
    })
    .await;
    assert!(
        !names(&seen).contains(&"SIPSessionDidFail"),
        "{seen:?}\n{}",
        sipp.trace()
    );
    assert!(matches!(
        seen.last().map(|n| &n.event),
        Some(Event::SIPSessionDidEnd {
            originator: Originator::Local
        })
    ));
    let status = sipp.wait().await;
    assert!(
        status.success(),
        "SIPp failed ({status}):\n{}",
        sipp.trace()
    );

    handle.unregister().await.expect("unregister");
    let seen = until(&mut driver, |n| {
        matches!(n.event, Event::SIPAccountRegistrationDidEnd { .. })
    })
    .await;
    assert!(matches!(
        seen.last().map(|n| &n.event),
        Some(Event::SIPAccountRegistrationDidEnd {
            code: Some(200),
            ..
        })
    ));
    driver.shutdown().await.expect("a clean stop");
}

#[tokio::test]
async fn udp_registers_with_digest_calls_through_kamailio_and_hangs_up() {
    register_call_and_hang_up(Transport::Udp).await;
}

#[tokio::test]
async fn tcp_registers_with_digest_calls_through_kamailio_and_hangs_up() {
    register_call_and_hang_up(Transport::Tcp).await;
}

#[tokio::test]
async fn a_wrong_password_fails_the_registration() {
    if !peers_installed() {
        return;
    }
    let kamailio = Kamailio::start(free_port());
    let account = AccountConfig::new("alice@example.com", "not-the-password");
    let mut driver = Driver::start(Config::new(account, kamailio.addr(), Transport::Udp))
        .await
        .expect("driver");
    driver.handle().register().await.expect("register");
    let seen = until(&mut driver, |n| {
        matches!(
            n.event,
            Event::SIPAccountRegistrationDidSucceed { .. }
                | Event::SIPAccountRegistrationDidFail { .. }
        )
    })
    .await;
    assert!(
        matches!(
            seen.last().map(|n| &n.event),
            Some(Event::SIPAccountRegistrationDidFail {
                code: Some(401),
                ..
            })
        ),
        "{seen:?}"
    );
    driver.shutdown().await.expect("a clean stop");
}

/// The example binary, built by `cargo test --examples` beside this test's binary.
fn example_binary() -> Option<PathBuf> {
    let exe = std::env::current_exe().ok()?;
    // target/debug/deps/native_kamailio-HASH -> target/debug/examples/simple_outbound_call
    let bin = exe.parent()?.parent()?.join("examples").join(format!(
        "simple_outbound_call{}",
        std::env::consts::EXE_SUFFIX
    ));
    bin.is_file().then_some(bin)
}

#[tokio::test]
async fn the_example_completes_a_call_and_exits_0() {
    if !peers_installed() {
        return;
    }
    let Some(bin) = example_binary() else {
        assert!(
            !peers_required(),
            "the example is not built: run with `--examples`"
        );
        eprintln!("the example is not built (add `--examples`): skipping");
        return;
    };
    let mut sipp = Sipp::start();
    let kamailio = Kamailio::start(sipp.port);
    let out = tokio::task::spawn_blocking(move || {
        Command::new(bin)
            .args(["--proxy", &kamailio.addr().to_string()])
            .args(["--account", "alice@example.com", "--password", "secret"])
            .args(["--duration", "0.5", "sip:bob@example.com"])
            .stdin(Stdio::null())
            .output()
            .expect("run the example")
    })
    .await
    .expect("join");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "the example failed ({}):\n{stdout}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    for name in [
        "SIPAccountRegistrationDidSucceed",
        "SIPSessionDidStart",
        "SIPSessionDidEnd",
        "SIPAccountRegistrationDidEnd",
    ] {
        assert!(stdout.contains(name), "{name} missing:\n{stdout}");
    }
    let status = sipp.wait().await;
    assert!(
        status.success(),
        "SIPp failed ({status}):\n{}",
        sipp.trace()
    );
}
