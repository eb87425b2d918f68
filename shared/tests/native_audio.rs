//! The native driver's audio stream (`sipsimple::native::AudioOptions`) on loopback: a call
//! to SIPp's built-in UAS with `-rtp_echo` that plays a tone and records its echo, and two
//! native user agents calling each other directly over UDP (each one's outbound proxy is
//! the other's socket) that exchange tones, RFC 4733 DTMF, and hold and unhold.
//!
//! Needs `sipp` (Debian `sip-tester`): without it the tests fail, they do not skip. By hand:
//! `cargo test -p sipsimple --features native --test native_audio`.

use sipsimple::native::{AudioOptions, AudioStatistics, Config, Driver, Handle};
use sipsimple::{AccountConfig, Event, Notification, Originator, Sender, Transport};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

const WAIT: Duration = Duration::from_secs(15);

/// Fails the test with a clear message when SIPp is not installed.
fn require_sipp() {
    let found = Command::new("sipp")
        .arg("-v")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok();
    assert!(
        found,
        "`sipp` is not installed (Debian package sip-tester): run `cargo xtask setup --for test`"
    );
}

/// A directory under the system's temp dir, removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new(what: &str) -> TempDir {
        static N: AtomicU32 = AtomicU32::new(0);
        let n = N.fetch_add(1, Ordering::Relaxed);
        let dir = std::env::temp_dir().join(format!(
            "sipsimple-native-audio-{what}-{}-{n}",
            std::process::id()
        ));
        std::fs::create_dir_all(&dir).expect("temp dir");
        TempDir(dir)
    }

    fn join(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A UDP port free on 127.0.0.1 (released just before someone binds it).
fn free_port() -> u16 {
    std::net::UdpSocket::bind("127.0.0.1:0")
        .and_then(|s| s.local_addr())
        .expect("a free port")
        .port()
}

/// SIPp's built-in UAS for one call, echoing RTP or silent, killed on drop.
struct Sipp {
    child: Child,
    port: u16,
    dir: TempDir,
}

impl Sipp {
    fn echo() -> Sipp {
        Sipp::start(true)
    }

    /// SIPp's UAS that answers and sends no RTP at all.
    fn silent() -> Sipp {
        Sipp::start(false)
    }

    fn start(echo: bool) -> Sipp {
        let dir = TempDir::new("sipp");
        let port = free_port();
        let mut child = Command::new("sipp")
            .args([
                "-sn",
                "uas",
                "-i",
                "127.0.0.1",
                "-mi",
                "127.0.0.1",
                "-t",
                "u1",
            ])
            .args(["-p", &port.to_string(), "-mp", &free_port().to_string()])
            .args(["-m", "1", "-nostdin", "-timeout", "30s"])
            .args(if echo { &["-rtp_echo"][..] } else { &[][..] })
            .args(["-timeout_error", "-trace_msg", "-trace_err"])
            .arg("-message_file")
            .arg(dir.join("messages.log"))
            .arg("-error_file")
            .arg(dir.join("errors.log"))
            .current_dir(&dir.0)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn sipp");
        let deadline = Instant::now() + Duration::from_secs(10);
        while std::net::UdpSocket::bind(("127.0.0.1", port)).is_ok() {
            if let Ok(Some(status)) = child.try_wait() {
                panic!("sipp exited early ({status})");
            }
            assert!(Instant::now() < deadline, "sipp did not bind its port");
            std::thread::sleep(Duration::from_millis(20));
        }
        Sipp { child, port, dir }
    }

    fn addr(&self) -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], self.port))
    }

    fn trace(&self) -> String {
        ["messages.log", "errors.log"]
            .iter()
            .map(|f| std::fs::read_to_string(self.dir.join(f)).unwrap_or_default())
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

/// Writes `seconds` of a `freq` Hz tone as 8 kHz mono 16-bit WAV.
fn write_tone(path: &Path, freq: f64, seconds: f64) {
    let spec = hound::WavSpec {
        channels: 1,
        sample_rate: 8000,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    let mut w = hound::WavWriter::create(path, spec).expect("create the tone");
    let n = (seconds * 8000.0) as usize;
    for i in 0..n {
        let t = i as f64 / 8000.0;
        let s = 8000.0 * (2.0 * std::f64::consts::PI * freq * t).sin();
        w.write_sample(s as i16).expect("write the tone");
    }
    w.finalize().expect("finalize the tone");
}

/// A recording's samples; it must be 8 kHz mono 16-bit.
fn read_wav(path: &Path) -> Vec<i16> {
    let mut r = hound::WavReader::open(path).expect("a valid WAV recording");
    let spec = r.spec();
    assert_eq!(
        (spec.channels, spec.sample_rate, spec.bits_per_sample),
        (1, 8000, 16)
    );
    r.samples::<i16>()
        .collect::<Result<_, _>>()
        .expect("samples")
}

/// The power of `x` at `freq` Hz (Goertzel).
fn goertzel(x: &[i16], freq: f64) -> f64 {
    let w = 2.0 * std::f64::consts::PI * freq / 8000.0;
    let coeff = 2.0 * w.cos();
    let (mut s1, mut s2) = (0.0, 0.0);
    for &v in x {
        let s = f64::from(v) + coeff * s1 - s2;
        s2 = s1;
        s1 = s;
    }
    s1 * s1 + s2 * s2 - coeff * s1 * s2
}

/// Asserts that `freq` dominates the recording: well above the other tone and an unrelated
/// frequency.
fn assert_tone(samples: &[i16], freq: f64, other: f64, what: &str) {
    let (p, q, r) = (
        goertzel(samples, freq),
        goertzel(samples, other),
        goertzel(samples, 1300.0),
    );
    assert!(
        p > 100.0 * q && p > 100.0 * r,
        "{what}: power at {freq} Hz {p:e}, at {other} Hz {q:e}, at 1300 Hz {r:e}"
    );
}

/// Notifications until one passes `done`, all of them returned.
async fn until(driver: &mut Driver, done: impl Fn(&Notification) -> bool) -> Vec<Notification> {
    let mut seen = Vec::new();
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        match tokio::time::timeout_at(deadline, driver.notifications.recv()).await {
            Ok(Some(n)) => {
                let n = n.notification;
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

fn is(id: u64, n: &Notification, f: impl Fn(&Event) -> bool) -> bool {
    n.sender == Sender::Session(id) && f(&n.event)
}

fn started(id: u64) -> impl Fn(&Notification) -> bool {
    move |n| {
        is(id, n, |e| {
            matches!(
                e,
                Event::SIPSessionDidStart {} | Event::SIPSessionDidFail { .. }
            )
        })
    }
}

fn ended(id: u64) -> impl Fn(&Notification) -> bool {
    move |n| {
        is(id, n, |e| {
            matches!(
                e,
                Event::SIPSessionDidEnd { .. } | Event::SIPSessionDidFail { .. }
            )
        })
    }
}

async fn stats(handle: &Handle, id: u64) -> AudioStatistics {
    handle.audio_statistics(id).await.expect("audio statistics")
}

#[tokio::test]
async fn plays_to_sipp_rtp_echo_and_records_the_echo() {
    require_sipp();
    let dir = TempDir::new("echo");
    let (play, record) = (dir.join("tone440.wav"), dir.join("echo.wav"));
    write_tone(&play, 440.0, 1.3);
    let mut sipp = Sipp::echo();
    let options = AudioOptions {
        play: Some(play),
        record: Some(record.clone()),
        loop_play: true,
    };
    let (mut driver, handle, id) = call_sipp(&sipp, options).await;
    let call_start = Instant::now();
    // The offer SIPp answered carried the stream's real port, on the driver's address.
    let s = stats(&handle, id).await;
    assert_eq!(s.local.ip(), driver.local_addr().ip());
    assert_eq!(s.local.port() % 2, 0, "an even RTP port");
    assert_eq!(s.codec, Some("PCMU"));
    assert!(s.sending && s.receiving, "{s:?}");

    tokio::time::sleep(Duration::from_secs(2)).await;
    let s = stats(&handle, id).await;
    assert!(
        (85..=115).contains(&s.packets_sent),
        "about 100 packets in 2 s: {s:?}"
    );
    assert!(s.packets_received >= 80, "the echo came back: {s:?}");
    assert!(s.audio_was_received);
    assert!(handle.audio_was_received(id).await.expect("a stream"));
    assert!(s.packets_lost <= 2, "{s:?}");
    assert!(s.jitter_ms < 20.0, "{s:?}");
    assert_eq!(s.remote.map(|a| a.ip()), Some(sipp.addr().ip()));

    handle.end(id).await.expect("end");
    let seen = until(&mut driver, ended(id)).await;
    let call = call_start.elapsed();
    assert!(
        matches!(
            seen.last().map(|n| &n.event),
            Some(Event::SIPSessionDidEnd {
                originator: Originator::Local
            })
        ),
        "{seen:?}"
    );
    // The stream ended before the session's end was told: the file is complete.
    let s = stats(&handle, id).await;
    assert!(s.ended && !s.sending, "{s:?}");
    let samples = read_wav(&record);
    let recorded = samples.len() as f64 / 8000.0;
    assert!(
        (recorded - call.as_secs_f64()).abs() < 0.35,
        "recorded {recorded:.2} s of a {:.2} s call",
        call.as_secs_f64()
    );
    assert_eq!(s.recorded_ms, samples.len() as u64 / 8);
    assert_tone(&samples, 440.0, 700.0, "the echo");

    let status = sipp.wait().await;
    assert!(
        status.success(),
        "SIPp failed ({status}):\n{}",
        sipp.trace()
    );
    driver.shutdown().await.expect("a clean stop");
}

/// A driver for alice that calls SIPp's UAS with `options` until the session started.
async fn call_sipp(sipp: &Sipp, options: AudioOptions) -> (Driver, Handle, u64) {
    let account = AccountConfig::new("alice@example.com", "secret");
    let mut driver = Driver::start(Config::new(account, sipp.addr(), Transport::Udp))
        .await
        .expect("driver");
    let handle = driver.handle().clone();
    let target = format!("sip:service@127.0.0.1:{}", sipp.port);
    let id = handle
        .call_with_audio(&target, options)
        .await
        .expect("call");
    let seen = until(&mut driver, started(id)).await;
    assert!(
        matches!(
            seen.last().map(|n| &n.event),
            Some(Event::SIPSessionDidStart {})
        ),
        "{seen:?}\n{}",
        sipp.trace()
    );
    (driver, handle, id)
}

/// A peer that answers and never sends audio: `SIPSessionGotNoAudio` once the stream's first
/// 5 s have passed (the seed's notification), and the call goes on.
#[tokio::test]
async fn a_silent_peer_gets_sip_session_got_no_audio() {
    require_sipp();
    let dir = TempDir::new("silent");
    let play = dir.join("tone.wav");
    write_tone(&play, 440.0, 1.0);
    let sipp = Sipp::silent();
    let options = AudioOptions {
        play: Some(play),
        record: None,
        loop_play: true,
    };
    let (mut driver, handle, id) = call_sipp(&sipp, options).await;
    let seen = until(&mut driver, |n| {
        is(id, n, |e| matches!(e, Event::SIPSessionGotNoAudio {}))
    })
    .await;
    assert!(
        matches!(
            seen.last().map(|n| &n.event),
            Some(Event::SIPSessionGotNoAudio {})
        ),
        "{seen:?}"
    );
    let s = stats(&handle, id).await;
    assert!(!s.audio_was_received && s.packets_sent > 0, "{s:?}");
    handle.end(id).await.expect("end");
    until(&mut driver, ended(id)).await;
    driver.shutdown().await.expect("a clean stop");
}

#[tokio::test]
async fn refuses_a_wav_file_it_cannot_play() {
    let dir = TempDir::new("format");
    let path = dir.join("cd.wav");
    let spec = hound::WavSpec {
        channels: 2,
        sample_rate: 44_100,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    hound::WavWriter::create(&path, spec)
        .expect("create")
        .finalize()
        .expect("finalize");
    let account = AccountConfig::new("alice@example.com", "secret");
    let proxy = SocketAddr::from(([127, 0, 0, 1], free_port()));
    let driver = Driver::start(Config::new(account, proxy, Transport::Udp))
        .await
        .expect("driver");
    let options = AudioOptions {
        play: Some(path),
        ..AudioOptions::default()
    };
    let err = driver
        .handle()
        .call_with_audio("sip:bob@127.0.0.1", options)
        .await
        .expect_err("a 44.1 kHz stereo file");
    let text = err.to_string();
    assert!(
        text.contains("44100 Hz") && text.contains("8000 Hz mono"),
        "{text}"
    );
    let err = driver
        .handle()
        .audio_statistics(1)
        .await
        .expect_err("no stream");
    assert!(err.to_string().contains("no native audio"), "{err}");
    driver.shutdown().await.expect("a clean stop");
}

/// Two native user agents in a call on loopback, each playing a tone and recording.
struct Pair {
    a: Driver,
    b: Driver,
    ha: Handle,
    hb: Handle,
    /// The session ids at A and at B.
    ia: u64,
    ib: u64,
    a_record: PathBuf,
    b_record: PathBuf,
    _dir: TempDir,
}

impl Pair {
    /// A (alice, playing 440 Hz) calls B (carol, playing 700 Hz) directly: each one's
    /// outbound proxy is the other's SIP socket.
    async fn call() -> Pair {
        let dir = TempDir::new("pair");
        let (pa, pb) = (free_port(), free_port());
        let (a_addr, b_addr) = (
            SocketAddr::from(([127, 0, 0, 1], pa)),
            SocketAddr::from(([127, 0, 0, 1], pb)),
        );
        let mut ca = Config::new(
            AccountConfig::new("alice@127.0.0.1", "secret"),
            b_addr,
            Transport::Udp,
        );
        ca.bind = Some(a_addr);
        let mut cb = Config::new(
            AccountConfig::new("carol@127.0.0.1", "secret"),
            a_addr,
            Transport::Udp,
        );
        cb.bind = Some(b_addr);
        let mut a = Driver::start(ca).await.expect("driver A");
        let mut b = Driver::start(cb).await.expect("driver B");
        let (ha, hb) = (a.handle().clone(), b.handle().clone());
        let (a_play, b_play) = (dir.join("a440.wav"), dir.join("b700.wav"));
        write_tone(&a_play, 440.0, 1.0);
        write_tone(&b_play, 700.0, 1.0);
        let (a_record, b_record) = (dir.join("a.wav"), dir.join("b.wav"));

        let ia = ha
            .call_with_audio(
                &format!("sip:carol@127.0.0.1:{pb}"),
                AudioOptions {
                    play: Some(a_play),
                    record: Some(a_record.clone()),
                    loop_play: true,
                },
            )
            .await
            .expect("call");
        let seen = until(&mut b, |n| {
            matches!(n.event, Event::SIPSessionNewIncoming { .. })
        })
        .await;
        let Some(Sender::Session(ib)) = seen.last().map(|n| n.sender.clone()) else {
            panic!("no incoming session: {seen:?}");
        };
        hb.answer_with_audio(
            ib,
            AudioOptions {
                play: Some(b_play),
                record: Some(b_record.clone()),
                loop_play: true,
            },
        )
        .await
        .expect("answer");
        for (driver, id) in [(&mut a, ia), (&mut b, ib)] {
            let seen = until(driver, started(id)).await;
            assert!(
                matches!(
                    seen.last().map(|n| &n.event),
                    Some(Event::SIPSessionDidStart {})
                ),
                "{seen:?}"
            );
        }
        Pair {
            a,
            b,
            ha,
            hb,
            ia,
            ib,
            a_record,
            b_record,
            _dir: dir,
        }
    }

    /// A hangs up; both sessions end and the drivers stop.
    async fn hang_up(mut self) -> (Vec<i16>, Vec<i16>) {
        self.ha.end(self.ia).await.expect("end");
        until(&mut self.a, ended(self.ia)).await;
        let seen = until(&mut self.b, ended(self.ib)).await;
        assert!(
            matches!(
                seen.last().map(|n| &n.event),
                Some(Event::SIPSessionDidEnd {
                    originator: Originator::Remote
                })
            ),
            "{seen:?}"
        );
        let recordings = (read_wav(&self.a_record), read_wav(&self.b_record));
        self.a.shutdown().await.expect("A stops");
        self.b.shutdown().await.expect("B stops");
        recordings
    }
}

#[tokio::test]
async fn two_native_user_agents_exchange_tones_and_rfc4733_dtmf() {
    let mut pair = Pair::call().await;
    tokio::time::sleep(Duration::from_millis(800)).await;
    let (sa, sb) = (
        stats(&pair.ha, pair.ia).await,
        stats(&pair.hb, pair.ib).await,
    );
    assert!(sa.telephone_event && sb.telephone_event, "{sa:?} {sb:?}");
    assert!(
        sa.packets_received > 20 && sb.packets_received > 20,
        "{sa:?} {sb:?}"
    );

    // DTMF from A: RFC 4733 events in RTP, reported once each at B.
    pair.ha.send_dtmf(pair.ia, '1').await.expect("dtmf 1");
    pair.ha.send_dtmf(pair.ia, '#').await.expect("dtmf #");
    let mut digits = Vec::new();
    while digits.len() < 2 {
        let seen = until(&mut pair.b, |n| {
            matches!(n.event, Event::SIPSessionGotDTMF { .. })
        })
        .await;
        if let Some(Notification {
            sender,
            event: Event::SIPSessionGotDTMF { digit },
        }) = seen.last()
        {
            assert_eq!(*sender, Sender::Session(pair.ib));
            digits.push(digit.clone());
        }
    }
    assert_eq!(digits, ["1", "#"]);
    // Some more audio after the digits; no second report of either digit (and no INFO,
    // which would have been reported too).
    tokio::time::sleep(Duration::from_millis(600)).await;
    while let Ok(n) = pair.b.notifications.try_recv() {
        assert!(
            !matches!(n.notification.event, Event::SIPSessionGotDTMF { .. }),
            "{n:?}"
        );
    }
    let (sa, sb) = (
        stats(&pair.ha, pair.ia).await,
        stats(&pair.hb, pair.ib).await,
    );
    assert_eq!(sa.dtmf_sent, 2, "{sa:?}");
    assert_eq!(sb.dtmf_received, 2, "{sb:?}");
    assert!(sb.packets_lost <= 2, "{sb:?}");
    // Each has had the other's first sender report (1 s after the stream started).
    assert!(
        sa.rtcp_received >= 1 && sb.rtcp_received >= 1,
        "{sa:?} {sb:?}"
    );
    // Symmetric RTP: each sends to where the other's packets come from.
    assert_eq!(sa.remote, Some(sb.local));
    assert_eq!(sb.remote, Some(sa.local));

    let (a_heard, b_heard) = pair.hang_up().await;
    assert!(a_heard.len() > 8000 && b_heard.len() > 8000);
    assert_tone(&a_heard, 700.0, 440.0, "A's recording");
    assert_tone(&b_heard, 440.0, 700.0, "B's recording");
}

#[tokio::test]
async fn hold_stops_the_media_and_unhold_resumes_it() {
    let mut pair = Pair::call().await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(stats(&pair.hb, pair.ib).await.packets_received > 10);

    pair.ha.hold(pair.ia).await.expect("hold");
    let hold = |o: Originator| move |n: &Notification| matches!(n.event, Event::SIPSessionGotHoldRequest { originator } if originator == o);
    until(&mut pair.a, hold(Originator::Local)).await;
    until(&mut pair.b, hold(Originator::Remote)).await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    let before = stats(&pair.hb, pair.ib).await;
    let a_before = stats(&pair.ha, pair.ia).await;
    assert!(!before.sending && !before.receiving, "{before:?}");
    assert!(!a_before.sending && !a_before.receiving, "{a_before:?}");
    tokio::time::sleep(Duration::from_secs(1)).await;
    let after = stats(&pair.hb, pair.ib).await;
    assert!(
        after.packets_received <= before.packets_received + 1,
        "B still receives on hold: {before:?} {after:?}"
    );
    assert_eq!(
        after.recorded_ms, before.recorded_ms,
        "nothing recorded on hold"
    );
    // A sends nothing on hold either.
    assert_eq!(
        stats(&pair.ha, pair.ia).await.packets_sent,
        a_before.packets_sent
    );

    pair.ha.unhold(pair.ia).await.expect("unhold");
    let unhold = |o: Originator| move |n: &Notification| matches!(n.event, Event::SIPSessionGotUnholdRequest { originator } if originator == o);
    until(&mut pair.a, unhold(Originator::Local)).await;
    until(&mut pair.b, unhold(Originator::Remote)).await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    let resumed = stats(&pair.hb, pair.ib).await;
    assert!(resumed.sending && resumed.receiving, "{resumed:?}");
    assert!(
        resumed.packets_received >= after.packets_received + 35,
        "B receives again: {after:?} {resumed:?}"
    );
    assert!(resumed.recorded_ms > after.recorded_ms + 700, "{resumed:?}");
    let (a_heard, b_heard) = pair.hang_up().await;
    assert_tone(&a_heard, 700.0, 440.0, "A's recording");
    assert_tone(&b_heard, 440.0, 700.0, "B's recording");
}
