//! Chat and file transfer between two native drivers on loopback (feature `native`): SIP
//! over UDP straight from one user agent to the other (each one's "proxy" is the other's
//! socket), MSRP over real TCP connections, files read and written in pieces.
#![cfg(feature = "native")]

use sipsimple::file_selector::{FileHash, FileHasher};
use sipsimple::native::{Config, Driver, TimedNotification};
use sipsimple::{AccountConfig, Event, Sender, Transport};
use std::io::{Read, Write};
use std::net::{SocketAddr, UdpSocket};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

/// How long any one step may take.
const WAIT: Duration = Duration::from_secs(60);

/// A fresh directory under the system's temporary one, removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new(what: &str) -> TempDir {
        static N: AtomicU32 = AtomicU32::new(0);
        let n = N.fetch_add(1, Ordering::Relaxed);
        let p =
            std::env::temp_dir().join(format!("sipsimple-msrp-{what}-{}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&p);
        std::fs::create_dir_all(&p).expect("temp dir");
        TempDir(p)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn free_udp() -> SocketAddr {
    UdpSocket::bind("127.0.0.1:0")
        .and_then(|s| s.local_addr())
        .expect("a free port")
}

/// Two drivers talking SIP straight to each other: (alice, bob).
async fn pair(alice_dir: &Path, bob_dir: &Path) -> (Driver, Driver) {
    let (a, b) = (free_udp(), free_udp());
    let mut ca = Config::new(
        AccountConfig::new("alice@example.com", "secret"),
        b,
        Transport::Udp,
    );
    ca.bind = Some(a);
    ca.receive_dir = Some(alice_dir.to_path_buf());
    let mut cb = Config::new(
        AccountConfig::new("bob@example.com", "secret"),
        a,
        Transport::Udp,
    );
    cb.bind = Some(b);
    cb.receive_dir = Some(bob_dir.to_path_buf());
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

/// Bob accepts the next incoming session; returns its id.
async fn accept_next(bob: &mut Driver) -> u64 {
    let n = until(bob, |n| is(n, "SIPSessionNewIncoming")).await;
    let Sender::Session(id) = n.notification.sender else {
        panic!("a session")
    };
    bob.handle().accept(id, None).await.expect("accepted");
    id
}

fn target(bob: &Driver) -> String {
    format!("sip:bob@{}", bob.local_addr())
}

#[tokio::test]
async fn native_chat_both_ways() {
    let (da, db) = (TempDir::new("a"), TempDir::new("b"));
    let (mut alice, mut bob) = pair(&da.0, &db.0).await;
    let a = alice
        .handle()
        .connect_chat(&target(&bob))
        .await
        .expect("a call");
    let b = accept_next(&mut bob).await;
    until(&mut alice, |n| is(n, "SIPSessionDidStart")).await;
    // Sent at once: it waits for the MSRP connection.
    let id = alice
        .handle()
        .send_message(a, "hello bob", "text/plain")
        .await
        .expect("queued");
    let got = until(&mut bob, |n| is(n, "SIPSessionGotMessage")).await;
    assert!(
        matches!(&got.notification.event, Event::SIPSessionGotMessage { content, .. } if content == "hello bob")
    );
    assert_eq!(got.notification.sender, Sender::Session(b));
    let d = until(&mut alice, |n| is(n, "SIPSessionDidDeliverMessage")).await;
    assert!(
        matches!(&d.notification.event, Event::SIPSessionDidDeliverMessage { message_id, .. } if *message_id == id)
    );
    let id = bob
        .handle()
        .send_message(b, "hello alice", "text/plain")
        .await
        .expect("sent");
    let got = until(&mut alice, |n| is(n, "ChatStreamGotMessage")).await;
    assert_eq!(
        got.notification.sender,
        Sender::Stream {
            session: a,
            index: 0
        }
    );
    let d = until(&mut bob, |n| is(n, "ChatStreamDidDeliverMessage")).await;
    assert!(
        matches!(&d.notification.event, Event::ChatStreamDidDeliverMessage { message_id, .. } if *message_id == id)
    );
    bob.handle()
        .send_composing_indication(b, sipsimple::iscomposing::State::Active, Some(30))
        .await
        .expect("sent");
    until(&mut alice, |n| is(n, "ChatStreamGotComposingIndication")).await;
    alice.handle().end(a).await.expect("ended");
    until(&mut bob, |n| is(n, "SIPSessionDidEnd")).await;
    alice.shutdown().await.expect("clean");
    bob.shutdown().await.expect("clean");
}

/// Writes `len` pseudo-random bytes to `path` in pieces; returns their SHA-1.
fn write_file(path: &Path, len: usize) -> FileHash {
    let mut f = std::fs::File::create(path).expect("create");
    let mut h = FileHasher::sha1();
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut left = len;
    let mut buf = vec![0u8; 64 * 1024];
    while left > 0 {
        let n = left.min(buf.len());
        for b in &mut buf[..n] {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            *b = x as u8;
        }
        f.write_all(&buf[..n]).expect("write");
        h.update(&buf[..n]);
        left -= n;
    }
    h.finish()
}

fn sha1_of(path: &Path) -> FileHash {
    let mut f = std::fs::File::open(path).expect("open");
    let mut h = FileHasher::sha1();
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = f.read(&mut buf).expect("read");
        if n == 0 {
            return h.finish();
        }
        h.update(&buf[..n]);
    }
}

fn finish_error(n: &TimedNotification) -> Option<Option<String>> {
    match &n.notification.event {
        Event::FileTransferStreamDidFinish { error } => Some(error.clone()),
        _ => None,
    }
}

fn names_in(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .map(|d| {
            d.filter_map(|e| e.ok())
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    v.sort();
    v
}

#[tokio::test]
async fn native_five_megabyte_file_arrives_whole() {
    let (da, db, src) = (TempDir::new("a"), TempDir::new("b"), TempDir::new("src"));
    let path = src.0.join("big file.bin");
    let hash = write_file(&path, 5 * 1024 * 1024);
    // A file of that name exists already: the new one must not overwrite it.
    std::fs::write(db.0.join("big file.bin"), b"older").expect("write");
    let (mut alice, mut bob) = pair(&da.0, &db.0).await;
    let a = alice
        .handle()
        .send_file(&target(&bob), &path)
        .await
        .expect("a call");
    let b = accept_next(&mut bob).await;
    let done = until(&mut bob, |n| finish_error(n).is_some()).await;
    assert_eq!(finish_error(&done), Some(None), "the receiver verified it");
    let sent = until(&mut alice, |n| finish_error(n).is_some()).await;
    assert_eq!(finish_error(&sent), Some(None));
    let saved = bob
        .handle()
        .received_file(b, 0)
        .await
        .expect("running")
        .expect("saved");
    assert_eq!(saved, db.0.join("big file (1).bin"));
    assert_eq!(sha1_of(&saved), hash);
    assert_eq!(
        std::fs::read(db.0.join("big file.bin")).expect("read"),
        b"older"
    );
    assert_eq!(names_in(&db.0), ["big file (1).bin", "big file.bin"]);
    alice.handle().end(a).await.expect("ended");
    until(&mut bob, |n| is(n, "SIPSessionDidEnd")).await;
    alice.shutdown().await.expect("clean");
    bob.shutdown().await.expect("clean");
}

#[tokio::test]
async fn native_killed_connection_fails_the_transfer_and_leaves_no_file() {
    let (da, db, src) = (TempDir::new("a"), TempDir::new("b"), TempDir::new("src"));
    let path = src.0.join("doomed.bin");
    write_file(&path, 32 * 1024 * 1024);
    let (mut alice, mut bob) = pair(&da.0, &db.0).await;
    alice
        .handle()
        .send_file(&target(&bob), &path)
        .await
        .expect("a call");
    let b = accept_next(&mut bob).await;
    until(&mut bob, |n| is(n, "FileTransferStreamGotChunk")).await;
    assert!(bob
        .handle()
        .kill_msrp_connection(b, 0)
        .await
        .expect("running"));
    let done = until(&mut bob, |n| finish_error(n).is_some()).await;
    assert!(matches!(finish_error(&done), Some(Some(_))), "{done:?}");
    let failed = until(&mut alice, |n| finish_error(n).is_some()).await;
    assert!(
        matches!(finish_error(&failed), Some(Some(_))),
        "the sender learns it failed: {failed:?}"
    );
    // Nothing half-written is left, under the final name or any other.
    assert_eq!(names_in(&db.0), Vec::<String>::new());
    assert_eq!(
        bob.handle().received_file(b, 0).await.expect("running"),
        None
    );
    alice.shutdown().await.expect("clean");
    bob.shutdown().await.expect("clean");
}
