//! Scale-out (docs/scaling.md): two gateway processes sharing one PostgreSQL, behind Kamailio
//! running `deploy/kamailio/kamailio.cfg` (dispatcher, OPTIONS probing, failover), every
//! piece started by the test on loopback and stopped when it ends.
//!
//! - bob is a SIPp user agent that registers through Kamailio, which dispatches by priority
//!   (algorithm 8): he lands on gateway A. alice is a browser-style WebSocket client of
//!   gateway B: her flow lives on B only.
//! - alice calls bob: B finds bob's UDP binding (made on A) in the shared store and reaches
//!   him through Kamailio.
//! - bob calls alice through Kamailio: A challenges him (407), finds that alice's flow is on
//!   B and hands the INVITE over to B (signed with the cluster secret), which delivers it on
//!   her WebSocket.
//! - Gateway A is killed: bob registers again through Kamailio and lands on B (the store
//!   says so), and calls both ways complete through B.
//! - Before all that: a guesser behind Kamailio is locked out while bob is not, and carol's
//!   answer to a challenge of A is taken by B (the nodes' digest nonces share a key).
//!
//! Skipped with a note when PostgreSQL, Kamailio or SIPp is missing (a failure under CI).

mod common;

use common::kamailio::Kamailio;
use common::postgres::{postgres_bin, Postgres};
use common::sipp::{self, free_port, Sipp, Transport};
use common::{Client, WsStream, BIN};
use sipsimple::{Event, Output, Sender};
use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use tokio_tungstenite::tungstenite::Message as WsMessage;

const DOMAIN: &str = "sipsimple.local";
const SECRET: &str = "cluster-test-secret-0123456789";

fn repo_file(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join(rel)
}

/// `true` when every peer is installed; under CI a missing one is a failure.
fn peers_installed() -> bool {
    let runs = |p: &str, a: &str| {
        Command::new(p)
            .arg(a)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok()
    };
    let ok = postgres_bin().is_some() && runs("kamailio", "-v") && runs("sipp", "-v");
    if !ok {
        assert!(
            std::env::var_os("CI").is_none(),
            "PostgreSQL, Kamailio or SIPp is missing: run `cargo xtask setup --for test`"
        );
        eprintln!("PostgreSQL, Kamailio or SIPp is missing: skipping");
    }
    ok
}

/// One gateway of the cluster, killed on drop.
struct Node {
    child: Child,
    http: SocketAddr,
    _dir: tempfile::TempDir,
}

impl Drop for Node {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn cluster_env(cmd: &mut Command, pg: &Postgres) {
    cmd.env("SIPSIMPLE_DATABASE_URL", &pg.url)
        .env("SIPSIMPLE_DOMAIN", DOMAIN)
        .env_remove("SIPSIMPLE_CONFIG");
}

fn add_user(pg: &Postgres, name: &str, password: &str) {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut cmd = Command::new(BIN);
    cluster_env(&mut cmd, pg);
    let status = cmd
        .arg("--data-dir")
        .arg(dir.path())
        .args(["user", "add", name, "--password", password])
        .stdout(Stdio::null())
        .status()
        .expect("run user add");
    assert!(status.success(), "user add {name}");
}

/// Starts gateway `id` with its SIP UDP on `port` (also its cluster address).
fn start_node(pg: &Postgres, id: &str, port: u16, peers: &[u16]) -> Node {
    let dir = tempfile::tempdir().expect("temp dir");
    let udp = format!("127.0.0.1:{port}");
    let peers = peers
        .iter()
        .map(|p| format!("127.0.0.1:{p}"))
        .collect::<Vec<_>>()
        .join(",");
    let mut cmd = Command::new(BIN);
    cluster_env(&mut cmd, pg);
    let mut child = cmd
        .arg("--data-dir")
        .arg(dir.path())
        .args(["serve", "--http", "127.0.0.1:0", "--https", "off"])
        .args([
            "--sip-udp",
            &udp,
            "--sip-tcp",
            "off",
            "--sip-tls",
            "off",
            "--no-demo",
        ])
        .env("SIPSIMPLE_CLUSTER_NODE_ID", id)
        .env("SIPSIMPLE_CLUSTER_ADDRESS", &udp)
        .env("SIPSIMPLE_CLUSTER_SECRET", SECRET)
        .env("SIPSIMPLE_CLUSTER_PEERS", peers)
        // Every request of the front proxy's users comes from its one address: the rate limit
        // and the lockout count the client Kamailio names in X-Sipsimple-Source instead.
        .env("SIPSIMPLE_SECURITY_TRUSTED_PROXIES", "127.0.0.1")
        .env("SIPSIMPLE_MEDIA_ENABLED", "false")
        .env("SIPSIMPLE_MSRP_TCP", "off")
        .env("SIPSIMPLE_MSRP_TLS", "off")
        .env(
            "RUST_LOG",
            std::env::var("GATEWAY_LOG").unwrap_or_else(|_| "warn".into()),
        )
        .stdout(Stdio::piped())
        .spawn()
        .expect("spawn the gateway");
    let stdout = child.stdout.take().expect("stdout");
    let (tx, rx) = std::sync::mpsc::channel();
    let echo = std::env::var_os("GATEWAY_LOG").is_some();
    let name = id.to_string();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if echo {
                eprintln!("[{name}] {line}");
            }
            if line.starts_with("sipsimple-gateway ready ") {
                let _ = tx.send(line);
            }
        }
    });
    let mut node = Node {
        child,
        http: "0.0.0.0:0".parse().expect("placeholder"),
        _dir: dir,
    };
    let line = rx
        .recv_timeout(Duration::from_secs(30))
        .expect("the ready line");
    node.http = line
        .split_whitespace()
        .find_map(|w| w.strip_prefix("http="))
        .and_then(|v| v.parse().ok())
        .expect("http address");
    node
}

/// Kamailio with the deployment's config and a dispatcher list of `gateways`.
fn start_kamailio(gateways: &[u16]) -> Kamailio {
    let dir = tempfile::tempdir().expect("temp dir");
    // Priority (algorithm 8): the first gateway while it is up, so the test knows where a
    // registration lands; the deployment's default hashes over the From URI.
    let list: String = gateways
        .iter()
        .enumerate()
        .map(|(i, p)| format!("1 sip:127.0.0.1:{p} 0 {}\n", 10 - i))
        .collect();
    let list_path = dir.path().join("dispatcher.list");
    std::fs::write(&list_path, list).expect("write the dispatcher list");
    let defines = [
        "KAM_IP=127.0.0.1".to_string(),
        format!("DS_LIST=\"{}\"", list_path.display()),
        "DS_ALG=\"8\"".to_string(),
        "DS_PING_INTERVAL=1".to_string(),
    ];
    Kamailio::start(dir, &repo_file("deploy/kamailio/kamailio.cfg"), &defines)
}

/// SIPp's arguments for `register_auth.xml` through Kamailio as `user` with `password`.
fn register_args(kam: &Kamailio, user: &str, password: &str) -> Vec<String> {
    let file = sipp::scenario("register_auth.xml");
    let file = file.to_str().expect("utf-8 path").to_string();
    let args = [
        "-sf",
        &file,
        &kam.addr(),
        "-key",
        "user",
        user,
        "-key",
        "domain",
        DOMAIN,
    ];
    let auth = ["-au", user, "-ap", password];
    args.iter().chain(&auth).map(|a| a.to_string()).collect()
}

/// Starts SIPp at `ip`:`port` with `args`.
fn sipp_with(ip: &str, port: u16, args: &[String]) -> Sipp {
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    sipp::start_on_port(ip, port, &args)
}

/// Registers `user` from SIPp's `port` through Kamailio (the 401 and the digest answer).
async fn register_through(kam: &Kamailio, port: u16, user: &str, password: &str) {
    let mut reg = sipp_with("127.0.0.1", port, &register_args(kam, user, password));
    reg.assert_success(20).await;
    assert!(
        reg.log().contains("register-result 200"),
        "{}\n{}",
        reg.trace(),
        kam.log()
    );
}

/// 20 REGISTERs for bob with a wrong password from `ip` through Kamailio, then one with the
/// right password, which must be refused: the source is locked out.
async fn guess_through(kam: &Kamailio, ip: &str) {
    let port = free_port(ip);
    let mut guesses = register_args(kam, "bob", "wrong");
    guesses.extend(["-m", "20", "-r", "50"].map(String::from));
    let mut sipp = sipp_with(ip, port, &guesses);
    sipp.assert_success(30).await;
    assert_eq!(
        sipp.log().matches("register-result 403").count(),
        20,
        "{}",
        sipp.log()
    );
    let mut last = sipp_with(ip, port, &register_args(kam, "bob", "bobpass"));
    let _ = last.wait(30).await;
    assert!(
        !last.log().contains("register-result 200"),
        "{ip} was not locked out: {}",
        last.trace()
    );
}

/// carol REGISTERs at node `a` (401) and answers the challenge at node `b`: B's final code.
async fn challenge_here_answer_there(a: SocketAddr, b: SocketAddr) -> u16 {
    use sipsimple::auth::Challenge;
    use sipsimple::sip::Message;
    let sock = tokio::net::UdpSocket::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let local = sock.local_addr().expect("local address");
    let register = |cseq: u32, auth: &str| {
        format!(
            "REGISTER sip:{DOMAIN} SIP/2.0\r\nVia: SIP/2.0/UDP {local};branch=z9hG4bKcarol{cseq};rport\r\n\
             Max-Forwards: 70\r\nFrom: <sip:carol@{DOMAIN}>;tag=c1\r\nTo: <sip:carol@{DOMAIN}>\r\n\
             Call-ID: carol-{local}\r\nCSeq: {cseq} REGISTER\r\nContact: <sip:carol@{local}>\r\n\
             Expires: 60\r\n{auth}Content-Length: 0\r\n\r\n"
        )
    };
    let exchange = |text: String, to: SocketAddr| {
        let sock = &sock;
        async move {
            sock.send_to(text.as_bytes(), to).await.expect("send");
            let mut buf = vec![0u8; 65_535];
            loop {
                let (n, _) =
                    tokio::time::timeout(Duration::from_secs(10), sock.recv_from(&mut buf))
                        .await
                        .expect("an answer within 10 s")
                        .expect("recv");
                let m = Message::parse(&buf[..n]).expect("SIP");
                if m.code().is_some_and(|c| c >= 200) {
                    return m;
                }
            }
        }
    };
    let first = exchange(register(1, ""), a).await;
    assert_eq!(first.code(), Some(401));
    let c = Challenge::parse(first.header("WWW-Authenticate").expect("challenge")).expect("parses");
    let answer = c.answer(
        "carol",
        "carolpass",
        "REGISTER",
        &format!("sip:{DOMAIN}"),
        "cn",
        1,
    );
    let second = exchange(register(2, &format!("Authorization: {answer}\r\n")), b).await;
    second.code().unwrap_or(0)
}

/// bob's SIPp user agent server on his registered port, for one call.
async fn bob_answers(port: u16) -> Sipp {
    let file = sipp::scenario("uas_rr.xml");
    let file = file.to_str().expect("utf-8 path");
    let mut uas = sipp::start_on_port("127.0.0.1", port, &["-sf", file]);
    uas.ready("127.0.0.1").await;
    uas
}

/// bob calls alice through Kamailio (407 from the gateway first), from a port of his own.
fn bob_calls(kam: &Kamailio) -> Sipp {
    let file = sipp::scenario("uac_auth_call.xml");
    let file = file.to_str().expect("utf-8 path");
    sipp::start(
        "127.0.0.1",
        Transport::Udp,
        None,
        &[
            "-sf",
            file,
            &kam.addr(),
            "-s",
            "alice",
            "-key",
            "user",
            "bob",
            "-key",
            "domain",
            DOMAIN,
            "-au",
            "bob",
            "-ap",
            "bobpass",
        ],
    )
}

/// alice: a browser-style client of one gateway, keeping who sent each notification.
struct Alice {
    c: Client<WsStream>,
    seen: Vec<(Sender, Event)>,
}

impl Alice {
    async fn connect(http: SocketAddr) -> Alice {
        let ws = common::open_sip_ws(http).await;
        let mut a = Alice {
            c: Client::for_user(ws, "alice", "secret"),
            seen: Vec::new(),
        };
        let now = a.c.now();
        a.c.ua.register(now);
        let e = a
            .until(|_, e| {
                matches!(
                    e,
                    Event::SIPAccountRegistrationDidSucceed { .. }
                        | Event::SIPAccountRegistrationDidFail { .. }
                )
            })
            .await;
        assert!(
            matches!(e.1, Event::SIPAccountRegistrationDidSucceed { .. }),
            "{e:?}"
        );
        a
    }

    async fn flush(&mut self) {
        use futures_util::SinkExt;
        while let Some(out) = self.c.ua.poll_output() {
            match out {
                Output::Transmit(bytes) => {
                    let text = String::from_utf8(bytes).expect("SIP text");
                    self.c
                        .ws
                        .send(WsMessage::text(text))
                        .await
                        .expect("send frame");
                }
                Output::Notification(n) => self.seen.push((n.sender, n.event)),
            }
        }
    }

    /// Drives the user agent until a notification not seen before satisfies `done`.
    async fn until(&mut self, done: impl Fn(&Sender, &Event) -> bool) -> (Sender, Event) {
        use futures_util::StreamExt;
        let deadline = Instant::now() + Duration::from_secs(15);
        let mut checked = 0;
        loop {
            self.flush().await;
            if let Some(hit) = self.seen[checked..].iter().find(|(s, e)| done(s, e)) {
                let hit = hit.clone();
                // Later waits look only past this one.
                checked = self
                    .seen
                    .iter()
                    .position(|x| *x == hit)
                    .map_or(self.seen.len(), |i| i + 1);
                self.seen.drain(..checked);
                return hit;
            }
            checked = self.seen.len();
            let left = deadline.saturating_duration_since(Instant::now());
            let frame = tokio::time::timeout(left, self.c.ws.next())
                .await
                .unwrap_or_else(|_| panic!("timed out; notifications: {:?}", self.seen))
                .expect("the gateway closed the WebSocket")
                .expect("a frame");
            let bytes = match frame {
                WsMessage::Text(t) => t.as_bytes().to_vec(),
                WsMessage::Binary(b) => b.to_vec(),
                _ => continue,
            };
            let now = self.c.now();
            self.c.ua.handle_input(now, &bytes);
        }
    }

    /// Calls bob and hangs up once the call started.
    async fn calls_bob(&mut self, kam: &Kamailio, uas: &mut Sipp) {
        let now = self.c.now();
        let id = self
            .c
            .ua
            .connect(now, &format!("sip:bob@{DOMAIN}"), None)
            .expect("connect");
        let (_, e) = self
            .until(|s, e| {
                *s == Sender::Session(id)
                    && matches!(
                        e,
                        Event::SIPSessionDidStart {} | Event::SIPSessionDidFail { .. }
                    )
            })
            .await;
        assert!(
            matches!(e, Event::SIPSessionDidStart {}),
            "{e:?}\n{}\n{}",
            uas.trace(),
            kam.log()
        );
        let now = self.c.now();
        self.c.ua.end(now, id).expect("hang up");
        self.until(|s, e| *s == Sender::Session(id) && matches!(e, Event::SIPSessionDidEnd { .. }))
            .await;
        uas.assert_success(10).await;
    }

    /// Answers the next incoming call and waits for the caller to hang up.
    async fn answers(&mut self, kam: &Kamailio, uac: &mut Sipp) {
        let (sender, _) = self
            .until(|_, e| matches!(e, Event::SIPSessionNewIncoming { .. }))
            .await;
        let Sender::Session(id) = sender else {
            panic!("an incoming session has a session id: {sender:?}");
        };
        let now = self.c.now();
        self.c.ua.accept(now, id, None).expect("accept");
        let (_, e) = self
            .until(|s, e| {
                *s == Sender::Session(id)
                    && matches!(
                        e,
                        Event::SIPSessionDidStart {} | Event::SIPSessionDidFail { .. }
                    )
            })
            .await;
        assert!(
            matches!(e, Event::SIPSessionDidStart {}),
            "{e:?}\n{}",
            kam.log()
        );
        self.until(|s, e| *s == Sender::Session(id) && matches!(e, Event::SIPSessionDidEnd { .. }))
            .await;
        let status = uac.wait(15).await;
        assert!(
            status.success(),
            "bob's call failed:\n{}\n{}",
            uac.trace(),
            kam.log()
        );
    }
}

#[tokio::test]
async fn two_gateways_behind_kamailio_call_across_and_fail_over() {
    if !peers_installed() {
        return;
    }
    let Some(bin) = postgres_bin() else { return };
    let pg = Postgres::start(bin);
    add_user(&pg, "alice", "secret");
    add_user(&pg, "bob", "bobpass");
    add_user(&pg, "carol", "carolpass");
    let (port_a, port_b) = (free_port("127.0.0.1"), free_port("127.0.0.1"));
    let node_a = start_node(&pg, "gw-a", port_a, &[port_b]);
    let node_b = start_node(&pg, "gw-b", port_b, &[port_a]);
    let kam = start_kamailio(&[port_a, port_b]);

    // Someone at 127.0.0.2 guesses bob's password through Kamailio and is locked out; the
    // gateway counts that client (X-Sipsimple-Source), not Kamailio, so bob, at 127.0.0.1
    // behind the same Kamailio, still registers below.
    guess_through(&kam, "127.0.0.2").await;
    // A challenge of A answered to B: B takes it (with no stale=true round).
    let (addr_a, addr_b) = (
        SocketAddr::from(([127, 0, 0, 1], port_a)),
        SocketAddr::from(([127, 0, 0, 1], port_b)),
    );
    assert_eq!(challenge_here_answer_there(addr_a, addr_b).await, 200);

    // alice on B over WebSocket; bob on A through Kamailio.
    let mut alice = Alice::connect(node_b.http).await;
    let bob_port = free_port("127.0.0.1");
    register_through(&kam, bob_port, "bob", "bobpass").await;
    let where_is = |user: &str| {
        pg.query(&format!(
            "SELECT string_agg(node_id || ':' || transport, ',' ORDER BY node_id) \
             FROM registrations WHERE username = '{user}'"
        ))
    };
    assert_eq!(where_is("bob"), "gw-a:UDP");
    assert_eq!(where_is("alice"), "gw-b:WS");

    // B → A: alice's gateway finds bob's registration, made on A, in the shared store.
    let mut uas = bob_answers(bob_port).await;
    alice.calls_bob(&kam, &mut uas).await;

    // A → B: Kamailio hands bob's call to A, which hands it over to B, alice's flow's node.
    let mut uac = bob_calls(&kam);
    alice.answers(&kam, &mut uac).await;

    // Gateway A dies; bob registers again through Kamailio and lands on B.
    drop(node_a);
    register_through(&kam, bob_port, "bob", "bobpass").await;
    assert_eq!(where_is("bob"), "gw-b:UDP");

    // Calls both ways now go through B alone.
    let mut uac = bob_calls(&kam);
    alice.answers(&kam, &mut uac).await;
    let mut uas = bob_answers(bob_port).await;
    alice.calls_bob(&kam, &mut uas).await;
    drop(node_b);
}
