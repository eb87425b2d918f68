//! The seed's `SimpleOutboundCall` (SipMiddlewareApi, end of the Session section) over the
//! native driver: register, place a call, print every notification, end the call on Enter
//! or after `--duration` seconds, unregister.
//!
//! ```text
//! cargo run -p sipsimple --features native --example simple_outbound_call -- \
//!     --proxy 127.0.0.1:5060 --account alice@example.com --password secret sip:bob@example.com
//! ```
//!
//! With `--play FILE.wav` (8 kHz mono 16-bit, looped) and/or `--record FILE.wav` the call
//! carries a native audio stream (PCMU/PCMA RTP on the driver's address) instead of the
//! placeholder SDP.
//!
//! Exits with 0 when the call was established and then ended, 1 when it failed (or the
//! registration did), 2 on bad arguments.

use sipsimple::native::{AudioOptions, Config, Driver, TimedNotification};
use sipsimple::{AccountConfig, Event, Sender, Transport};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, UNIX_EPOCH};
use tokio::sync::mpsc;
use tokio::time::{sleep_until, Instant};

const USAGE: &str = "usage: simple_outbound_call --proxy HOST:PORT --account USER@DOMAIN \
--password PASSWORD [--transport udp|tcp] [--duration SECONDS] [--play FILE.wav] \
[--record FILE.wav] TARGET-URI";

/// How long to wait for the registrar, and for the goodbye at the end.
const REGISTER_TIMEOUT: Duration = Duration::from_secs(40);
const GOODBYE_TIMEOUT: Duration = Duration::from_secs(5);

struct Args {
    proxy: SocketAddr,
    account: String,
    password: String,
    transport: Transport,
    duration: Option<Duration>,
    /// The native audio stream's files; without either, the placeholder SDP.
    play: Option<PathBuf>,
    record: Option<PathBuf>,
    target: String,
}

fn parse_args(mut args: impl Iterator<Item = String>) -> Result<Args, String> {
    let (mut proxy, mut account, mut password, mut duration, mut target) =
        (None, None, None, None, None);
    let mut transport = Transport::Udp;
    let (mut play, mut record) = (None, None);
    while let Some(arg) = args.next() {
        let mut value = |name: &str| args.next().ok_or(format!("{name} needs a value"));
        match arg.as_str() {
            "--proxy" => {
                let v = value("--proxy")?;
                proxy = Some(v.parse().map_err(|_| format!("bad --proxy {v:?}"))?);
            }
            "--account" => account = Some(value("--account")?),
            "--password" => password = Some(value("--password")?),
            "--transport" => {
                transport = match value("--transport")?.as_str() {
                    "udp" => Transport::Udp,
                    "tcp" => Transport::Tcp,
                    other => return Err(format!("--transport udp|tcp, not {other:?}")),
                }
            }
            "--duration" => {
                let v = value("--duration")?;
                let secs: f64 = v.parse().map_err(|_| format!("bad --duration {v:?}"))?;
                duration = Some(
                    Duration::try_from_secs_f64(secs)
                        .map_err(|_| format!("bad --duration {v:?}"))?,
                );
            }
            "--play" => play = Some(PathBuf::from(value("--play")?)),
            "--record" => record = Some(PathBuf::from(value("--record")?)),
            "-h" | "--help" => return Err(String::new()),
            s if s.starts_with("--") => return Err(format!("unknown option {s}")),
            _ if target.is_none() => target = Some(arg),
            _ => return Err(format!("one target only (got {arg:?} too)")),
        }
    }
    Ok(Args {
        proxy: proxy.ok_or("--proxy is required")?,
        account: account.ok_or("--account is required")?,
        password: password.unwrap_or_default(),
        transport,
        duration,
        play,
        record,
        target: target.ok_or("a target URI is required")?,
    })
}

fn print(n: &TimedNotification) {
    let ts = n
        .timestamp
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_secs_f64();
    let json = serde_json::to_string(&n.notification).unwrap_or_default();
    println!("{ts:.3} {json}");
}

/// What the call came to.
#[derive(PartialEq)]
enum Outcome {
    Completed,
    Failed,
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    let args = match parse_args(std::env::args().skip(1)) {
        Ok(a) => a,
        Err(e) => {
            if !e.is_empty() {
                eprintln!("error: {e}");
            }
            eprintln!("{USAGE}");
            return ExitCode::from(2);
        }
    };
    match call(args).await {
        Ok(Outcome::Completed) => ExitCode::SUCCESS,
        Ok(Outcome::Failed) => ExitCode::FAILURE,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn call(args: Args) -> Result<Outcome, Box<dyn std::error::Error>> {
    let account = AccountConfig::new(&args.account, &args.password);
    let mut driver = Driver::start(Config::new(account, args.proxy, args.transport)).await?;
    println!(
        "local address {}, contact {}",
        driver.local_addr(),
        driver.contact()
    );
    let handle = driver.handle().clone();

    handle.register().await?;
    let registered = next_event(&mut driver, Instant::now() + REGISTER_TIMEOUT, |e| {
        matches!(
            e,
            Event::SIPAccountRegistrationDidSucceed { .. }
                | Event::SIPAccountRegistrationDidFail { .. }
        )
    })
    .await;
    if !matches!(
        registered,
        Some(Event::SIPAccountRegistrationDidSucceed { .. })
    ) {
        eprintln!("registration failed");
        driver.shutdown().await?;
        return Ok(Outcome::Failed);
    }

    // Enter on stdin ends the call; a closed stdin does not (run with `--duration`).
    let (enter_tx, mut enter) = mpsc::unbounded_channel();
    std::thread::spawn(move || {
        let mut line = String::new();
        if std::io::stdin().read_line(&mut line).is_ok_and(|n| n > 0) {
            let _ = enter_tx.send(());
        }
    });

    let id = if args.play.is_some() || args.record.is_some() {
        let options = AudioOptions {
            play: args.play.clone(),
            record: args.record.clone(),
            loop_play: true,
        };
        handle.call_with_audio(&args.target, options).await?
    } else {
        handle.connect(&args.target, None).await?
    };
    println!("Placing call to {}, press Enter to quit", args.target);
    let end_at = args.duration.map(|d| Instant::now() + d);
    let (mut started, mut failed, mut ended, mut end_sent) = (false, false, false, false);
    while !ended {
        let timer = async {
            match end_at {
                Some(at) if !end_sent => sleep_until(at).await,
                _ => std::future::pending().await,
            }
        };
        tokio::select! {
            n = driver.notifications.recv() => {
                let Some(n) = n else { break };
                print(&n);
                if n.notification.sender == Sender::Session(id) {
                    match n.notification.event {
                        Event::SIPSessionDidStart {} => started = true,
                        Event::SIPSessionDidFail { .. } => failed = true,
                        Event::SIPSessionDidEnd { .. } => ended = true,
                        _ => {}
                    }
                }
            }
            Some(()) = enter.recv(), if !end_sent => {
                end_sent = true;
                handle.end(id).await.ok();
            }
            () = timer => {
                end_sent = true;
                handle.end(id).await.ok();
            }
        }
    }
    println!("Session ended");
    if let Ok(stats) = handle.audio_statistics(id).await {
        println!(
            "audio: {} packets sent, {} received, {} lost, jitter {:.1} ms, {} ms recorded",
            stats.packets_sent,
            stats.packets_received,
            stats.packets_lost,
            stats.jitter_ms,
            stats.recorded_ms
        );
    }

    handle.unregister().await?;
    next_event(&mut driver, Instant::now() + GOODBYE_TIMEOUT, |e| {
        matches!(e, Event::SIPAccountRegistrationDidEnd { .. })
    })
    .await;
    driver.shutdown().await?;
    Ok(if started && !failed {
        Outcome::Completed
    } else {
        Outcome::Failed
    })
}

/// Prints notifications until one passes `done` (returned) or `deadline` passes (`None`).
async fn next_event(
    driver: &mut Driver,
    deadline: Instant,
    done: impl Fn(&Event) -> bool,
) -> Option<Event> {
    loop {
        tokio::select! {
            n = driver.notifications.recv() => {
                let n = n?;
                print(&n);
                if done(&n.notification.event) {
                    return Some(n.notification.event);
                }
            }
            () = sleep_until(deadline) => return None,
        }
    }
}
