//! The native driver (feature `native`): one [`UserAgent`] over a real UDP or TCP flow to
//! an outbound proxy, run by a tokio event loop on a thread of its own.
//!
//! This is a shell in the sense of the crate docs: it owns the socket, the timer and the
//! loop, and makes no protocol decision. The loop runs on a dedicated thread with a
//! current-thread tokio runtime, so the core need not be `Send` and the application may
//! use any runtime (the [`Handle`] and the notification channel work across runtimes). The
//! loop is the core's drive loop:
//!
//! 1. **drain**: take every [`Output`] from [`UserAgent::poll_output`]; a `Transmit` is
//!    written to the socket, a `Notification` is stamped with the wall clock and sent to
//!    the [`Driver::notifications`] receiver;
//! 2. **wait** in one `select!` for the first of: a command from a [`Handle`] (register,
//!    unregister, connect, end, accept, reject, hold, unhold, shutdown), a message on the
//!    socket, or the instant of [`UserAgent::poll_timeout`];
//! 3. **mutate**: apply the command, [`UserAgent::handle_input`] the message, or
//!    [`UserAgent::handle_timeout`]; then go to 1.
//!
//! Time given to the core is [`tokio::time::Instant`] measured from the driver's start, in
//! milliseconds; the core's randomness is seeded
//! from std's per-process random hasher keys mixed with the clock.
//!
//! Calls may carry a native audio stream ([`Handle::call_with_audio`],
//! [`Handle::answer_with_audio`], [`AudioOptions`]): plain RTP with PCMU/PCMA and RFC 4733
//! DTMF on the driver's local address, playing from and recording to WAV files (`audio.rs`).
//! Its SDP goes through the core like any shell's SDP; after each step of the core the loop
//! hands the stream what the descriptions in effect say.
//!
//! The driver sets [`AccountConfig::local_addr`] to the socket's local address, so that the
//! core writes it in Via sent-by, the Contact and the placeholder SDP.
//!
//! ```no_run
//! # async fn demo() -> std::io::Result<()> {
//! use sipsimple::native::{Config, Driver};
//! use sipsimple::{AccountConfig, Event, Transport};
//! let account = AccountConfig::new("alice@example.com", "secret");
//! let config = Config::new(account, "127.0.0.1:5060".parse().expect("an address"), Transport::Udp);
//! let mut driver = Driver::start(config).await?;
//! driver.handle().register().await.ok();
//! while let Some(n) = driver.notifications.recv().await {
//!     println!("{}", n.notification.event.name());
//!     if let Event::SIPAccountRegistrationDidSucceed { .. } = n.notification.event {
//!         break;
//!     }
//! }
//! let id = driver.handle().connect("sip:bob@example.com", None).await.ok();
//! # let _ = id;
//! driver.shutdown().await
//! # }
//! ```

mod audio;
mod bonjour;
mod desktop;
mod flow;
mod msrp;
mod rtp;

use crate::cpim::DateTime;
use crate::notification::Notification;
use crate::time::Time;
use crate::ua::{AccountConfig, Error, Output, Transport, UserAgent};
pub use audio::{AudioError, AudioOptions, AudioStatistics};
pub use bonjour::{Bonjour, BonjourConfig};
pub use desktop::DesktopHandler;
use flow::{Flow, Received};
use std::fmt;
use std::io;
use std::net::SocketAddr;
use std::time::{Duration, SystemTime};
use tokio::sync::{mpsc, oneshot};
use tokio::time::Instant;

/// How to reach the SIP world.
#[derive(Debug, Clone)]
pub struct Config {
    /// The account. Its `transport` is replaced by [`Config::transport`].
    pub account: AccountConfig,
    /// The outbound proxy (registrar) every message goes to.
    pub proxy: SocketAddr,
    /// [`Transport::Udp`] or [`Transport::Tcp`]; WebSocket is the browser's.
    pub transport: Transport,
    /// The local address to bind; by default an ephemeral port on loopback for a loopback
    /// proxy, else on the unspecified address.
    pub bind: Option<SocketAddr>,
    /// Where received files are written (`<name>.part` until complete); by default the
    /// system's temporary directory.
    pub receive_dir: Option<std::path::PathBuf>,
    /// No proxy (the Bonjour account): an unconnected UDP socket on `bind`, each message
    /// sent to the address it names; `proxy` is unused. See [`Config::direct`].
    pub direct: bool,
}

impl Config {
    /// A configuration for `account` through `proxy` over `transport`.
    pub fn new(account: AccountConfig, proxy: SocketAddr, transport: Transport) -> Config {
        Config {
            account,
            proxy,
            transport,
            bind: None,
            receive_dir: None,
            direct: false,
        }
    }

    /// A configuration with no proxy, as the Bonjour account needs (its
    /// [`BonjourAccount::account_config`](crate::account::BonjourAccount::account_config)):
    /// UDP on `bind` (an address of the interface the neighbours share), requests sent to
    /// their Request-URI (a neighbour's contact), responses to their Via, and requests
    /// from anyone received. Announce the contact with [`Bonjour`].
    pub fn direct(account: AccountConfig, bind: SocketAddr) -> Config {
        Config {
            bind: Some(bind),
            direct: true,
            ..Config::new(account, bind, Transport::Udp)
        }
    }
}

/// A notification with the wall-clock time the driver delivered it (the seed's
/// `timestamp`, which the core leaves to the shell).
#[derive(Debug, Clone, PartialEq)]
pub struct TimedNotification {
    /// When the driver took it from the core.
    pub timestamp: SystemTime,
    /// The notification.
    pub notification: Notification,
}

/// Why a command did not run.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum CommandError {
    /// The core refused it.
    Core(Error),
    /// The driver has stopped (shut down, or its flow closed).
    Stopped,
    /// The native audio stream could not be set up (see [`AudioOptions`]).
    Audio(AudioError),
    /// A file to send could not be read.
    Io(String),
}

impl fmt::Display for CommandError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CommandError::Core(e) => e.fmt(f),
            CommandError::Stopped => f.write_str("the native driver has stopped"),
            CommandError::Io(e) => f.write_str(e),
            CommandError::Audio(e) => e.fmt(f),
        }
    }
}

impl std::error::Error for CommandError {}

impl From<Error> for CommandError {
    fn from(e: Error) -> Self {
        CommandError::Core(e)
    }
}

type Reply<T> = oneshot::Sender<Result<T, Error>>;

/// The application commands, as the loop receives them.
#[derive(Debug)]
enum Command {
    Register(Reply<()>),
    Unregister(Reply<()>),
    Connect {
        target: String,
        sdp: Option<String>,
        reply: Reply<u64>,
    },
    End(u64, Reply<()>),
    Accept {
        id: u64,
        sdp: Option<String>,
        reply: Reply<()>,
    },
    Reject {
        id: u64,
        busy: bool,
        reply: Reply<()>,
    },
    Hold(u64, Reply<()>),
    Unhold(u64, Reply<()>),
    SendDtmf(u64, char, Reply<()>),
    StartRecordingAudio {
        id: u64,
        file_name: Option<String>,
        reply: Reply<()>,
    },
    StopRecordingAudio(u64, Reply<()>),
    /// The native audio stream's commands (`audio.rs`).
    Audio(audio::Request),
    /// Chat and files (`msrp.rs`).
    Msrp(msrp::Command),
    /// Desktop sharing (`desktop.rs`).
    Desktop(desktop::Command),
    Shutdown,
}

/// Sends commands to a running driver; cheap to clone. Each call returns once the core has
/// taken the command (what it produced is sent right after), not when the network answers:
/// outcomes arrive as notifications.
#[derive(Debug, Clone)]
pub struct Handle {
    commands: mpsc::UnboundedSender<Command>,
}

impl Handle {
    async fn call<T>(&self, make: impl FnOnce(Reply<T>) -> Command) -> Result<T, CommandError> {
        let (tx, rx) = oneshot::channel();
        self.commands
            .send(make(tx))
            .map_err(|_| CommandError::Stopped)?;
        match rx.await {
            Ok(result) => result.map_err(CommandError::Core),
            Err(_) => Err(CommandError::Stopped),
        }
    }

    /// Starts registering the account, and keeps the registration refreshed.
    pub async fn register(&self) -> Result<(), CommandError> {
        self.call(Command::Register).await
    }

    /// Removes the registration (`Expires: 0`).
    pub async fn unregister(&self) -> Result<(), CommandError> {
        self.call(Command::Unregister).await
    }

    /// Places a call to `target`, offering `sdp` or the core's placeholder offer; returns
    /// the session id.
    pub async fn connect(&self, target: &str, sdp: Option<&str>) -> Result<u64, CommandError> {
        let (target, sdp) = (target.to_string(), sdp.map(str::to_string));
        self.call(|reply| Command::Connect { target, sdp, reply })
            .await
    }

    /// Ends a session: CANCEL, 603 or BYE as its state requires.
    pub async fn end(&self, id: u64) -> Result<(), CommandError> {
        self.call(|reply| Command::End(id, reply)).await
    }

    /// Accepts an incoming session with `sdp` or the core's placeholder answer.
    pub async fn accept(&self, id: u64, sdp: Option<&str>) -> Result<(), CommandError> {
        let sdp = sdp.map(str::to_string);
        self.call(|reply| Command::Accept { id, sdp, reply }).await
    }

    /// Rejects an incoming session with 486 (`busy`) or 603.
    pub async fn reject(&self, id: u64, busy: bool) -> Result<(), CommandError> {
        self.call(|reply| Command::Reject { id, busy, reply }).await
    }

    /// Puts an established session on hold.
    pub async fn hold(&self, id: u64) -> Result<(), CommandError> {
        self.call(|reply| Command::Hold(id, reply)).await
    }

    /// Takes an established session off hold.
    pub async fn unhold(&self, id: u64) -> Result<(), CommandError> {
        self.call(|reply| Command::Unhold(id, reply)).await
    }

    /// Sends a DTMF digit: as RFC 4733 events in RTP when the session has a native audio
    /// stream sending media with telephone-event negotiated, else by INFO
    /// (`application/dtmf-relay`).
    pub async fn send_dtmf(&self, id: u64, digit: char) -> Result<(), CommandError> {
        self.call(|reply| Command::SendDtmf(id, digit, reply)).await
    }

    /// Asks the recorder to record the session's audio to `file_name`, or to a name made
    /// of the participants and the current UTC date and time.
    pub async fn start_recording_audio(
        &self,
        id: u64,
        file_name: Option<&str>,
    ) -> Result<(), CommandError> {
        let file_name = file_name.map(str::to_string);
        self.call(|reply| Command::StartRecordingAudio {
            id,
            file_name,
            reply,
        })
        .await
    }

    /// Asks the recorder to stop recording the session's audio.
    pub async fn stop_recording_audio(&self, id: u64) -> Result<(), CommandError> {
        self.call(|reply| Command::StopRecordingAudio(id, reply))
            .await
    }
}

/// A running driver: its command handle, its notifications and its thread. The loop stops
/// on [`Driver::shutdown`], or once the driver and every [`Handle`] cloned from it are
/// dropped.
#[derive(Debug)]
pub struct Driver {
    handle: Handle,
    /// Every notification of the user agent, in order. Unbounded, so that a slow reader
    /// never stalls the protocol; read it.
    pub notifications: mpsc::UnboundedReceiver<TimedNotification>,
    local: SocketAddr,
    contact: String,
    /// The loop's result, sent as its thread ends.
    done: oneshot::Receiver<io::Result<()>>,
}

impl Driver {
    /// Starts the driver's thread, opens the flow to the proxy from it and returns once
    /// the flow is open (or failed to open).
    pub async fn start(config: Config) -> io::Result<Driver> {
        let (commands, command_rx) = mpsc::unbounded_channel();
        let (notify, notifications) = mpsc::unbounded_channel();
        let (ready_tx, ready) = oneshot::channel();
        let (done_tx, done) = oneshot::channel();
        std::thread::Builder::new()
            .name("sipsimple-native".into())
            .spawn(move || {
                let runtime = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build();
                let result = match runtime {
                    Ok(rt) => rt.block_on(async move {
                        match Loop::open(config, notify).await {
                            Ok(lp) => {
                                let _ = ready_tx.send(Ok(lp.addresses()));
                                lp.run(command_rx).await
                            }
                            Err(e) => {
                                let _ = ready_tx.send(Err(e));
                                Ok(())
                            }
                        }
                    }),
                    Err(e) => {
                        let _ = ready_tx.send(Err(e));
                        Ok(())
                    }
                };
                let _ = done_tx.send(result);
            })?;
        let (local, contact) = ready
            .await
            .map_err(|_| io::Error::other("the driver's thread ended before opening the flow"))??;
        Ok(Driver {
            handle: Handle { commands },
            notifications,
            local,
            contact,
            done,
        })
    }

    /// A handle to send commands with.
    pub fn handle(&self) -> &Handle {
        &self.handle
    }

    /// The socket's local address.
    pub fn local_addr(&self) -> SocketAddr {
        self.local
    }

    /// The Contact URI as it goes on the wire.
    pub fn contact(&self) -> &str {
        &self.contact
    }

    /// Stops the drive loop and waits for it. Nothing more is sent: end the sessions and
    /// unregister first, and wait for their notifications, for a clean goodbye. Returns
    /// the flow's error if it had failed before.
    pub async fn shutdown(self) -> io::Result<()> {
        // The loop may already be gone (its flow closed); its result says why.
        let _ = self.handle.commands.send(Command::Shutdown);
        match self.done.await {
            Ok(result) => result,
            Err(_) => Err(io::Error::other("the driver's thread panicked")),
        }
    }
}

/// A seed from std's per-process random hasher keys (drawn from the OS) and the clocks.
fn seed(origin: Instant) -> u64 {
    use std::hash::BuildHasher;
    let wall = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap_or_default()
        .as_nanos();
    std::collections::hash_map::RandomState::new().hash_one((
        wall,
        std::process::id(),
        format!("{origin:?}"),
    ))
}

/// The wall clock in UTC, for the names of recordings.
fn wall_clock() -> DateTime {
    let since = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap_or_default();
    let secs = i64::try_from(since.as_secs()).unwrap_or(0);
    DateTime::from_unix(secs, since.subsec_nanos(), 0)
        .or_else(|| DateTime::from_unix(0, 0, 0))
        .expect("the epoch is a valid date")
}

/// The loop's state.
struct Loop {
    ua: UserAgent,
    flow: Flow,
    local: SocketAddr,
    origin: Instant,
    notify: mpsc::UnboundedSender<TimedNotification>,
    /// The native audio streams of the sessions that have one.
    audio: audio::Streams,
    /// The MSRP connections and files of chat and file-transfer streams.
    msrp: msrp::Transport,
    /// The desktop-sharing handlers.
    desktop: desktop::Handlers,
}

impl Loop {
    /// Opens the flow and builds the user agent.
    async fn open(
        config: Config,
        notify: mpsc::UnboundedSender<TimedNotification>,
    ) -> io::Result<Loop> {
        let Config {
            mut account,
            proxy,
            transport,
            bind,
            receive_dir,
            direct,
        } = config;
        account.transport = transport;
        let flow = match (transport, bind) {
            (Transport::Udp, Some(bind)) if direct => Flow::direct(bind).await?,
            (Transport::Udp, _) => Flow::udp(proxy, bind).await?,
            (Transport::Tcp, _) => Flow::tcp(proxy, bind).await?,
            (other, _) => {
                return Err(io::Error::new(
                    io::ErrorKind::Unsupported,
                    format!("the native driver speaks UDP and TCP, not {other:?}"),
                ))
            }
        };
        let local = flow.local_addr()?;
        account.local_addr = Some((local.ip().to_string(), local.port()));
        // The MSRP listener on the same address; its port goes in a=path.
        let receive_dir = receive_dir.unwrap_or_else(std::env::temp_dir);
        let msrp = msrp::Transport::bind(local.ip(), receive_dir).await?;
        let listen = msrp.local_addr()?;
        account.msrp_listen = Some((listen.ip().to_string(), listen.port()));
        account.msrp_tls = false;
        let origin = Instant::now();
        let ua = UserAgent::new(account, seed(origin))
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e.to_string()))?;
        Ok(Loop {
            ua,
            flow,
            local,
            origin,
            audio: audio::Streams::new(notify.clone(), local.ip()),
            notify,
            msrp,
            desktop: desktop::Handlers::new(),
        })
    }

    /// The local address and the Contact URI.
    fn addresses(&self) -> (SocketAddr, String) {
        (self.local, self.ua.contact().to_string())
    }

    fn now(&self) -> Time {
        let ms = Instant::now()
            .saturating_duration_since(self.origin)
            .as_millis();
        Time::from_millis(u64::try_from(ms).unwrap_or(u64::MAX))
    }

    fn instant(&self, t: Time) -> Instant {
        self.origin + Duration::from_millis(t.as_millis())
    }

    async fn run(mut self, mut commands: mpsc::UnboundedReceiver<Command>) -> io::Result<()> {
        loop {
            self.drain().await;
            let deadline = self.ua.poll_timeout().map(|t| self.instant(t));
            let timer = async {
                match deadline {
                    Some(at) => tokio::time::sleep_until(at).await,
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                command = commands.recv() => match command {
                    Some(Command::Shutdown) | None => return Ok(()),
                    Some(command) => self.apply(command),
                },
                received = self.flow.recv() => match received {
                    Received::Messages(messages) => {
                        for msg in messages {
                            let now = self.now();
                            self.ua.handle_input(now, &msg);
                        }
                    }
                    Received::Closed(e) => {
                        let now = self.now();
                        self.ua.handle_transport_closed(now);
                        self.drain().await;
                        return Err(e);
                    }
                },
                () = timer => {
                    let now = self.now();
                    self.ua.handle_timeout(now);
                }
                event = self.msrp.next() => {
                    let now = self.now();
                    self.msrp.handle(&mut self.ua, now, event);
                }
                event = self.desktop.next() => {
                    let now = self.now();
                    self.desktop.handle(&mut self.ua, now, event);
                }
            }
        }
    }

    /// Sends what the core wants sent and delivers its notifications.
    async fn drain(&mut self) {
        loop {
            // MSRP first: a file's data is written before its DidFinish is seen.
            let now = self.now();
            self.desktop.drain(&mut self.ua, now);
            self.msrp.drain(&mut self.ua, now);
            // A connection that came up starts its desktop handler.
            self.desktop.drain(&mut self.ua, now);
            let Some(output) = self.ua.poll_output() else {
                break;
            };
            match output {
                Output::Transmit(bytes) => {
                    // A failed send is a lost message: the transactions retransmit or
                    // time out, as for a datagram lost on the way; a broken TCP
                    // connection also shows up on the read side.
                    let _ = self.flow.send(&bytes).await;
                }
                Output::Notification(notification) => {
                    // The media follows the session first: a stream ends, its recording
                    // complete, before its session's end is told.
                    self.audio.sync(&self.ua);
                    self.msrp.on_notification(&self.ua, &notification);
                    // Nobody listening is not an error of the protocol.
                    let _ = self.notify.send(TimedNotification {
                        timestamp: SystemTime::now(),
                        notification,
                    });
                }
            }
        }
        // A re-offer may change the media without a notification.
        self.audio.sync(&self.ua);
    }

    fn apply(&mut self, command: Command) {
        let now = self.now();
        let ua = &mut self.ua;
        // A reply nobody waits for any more is fine to drop.
        match command {
            Command::Register(reply) => {
                ua.register(now);
                let _ = reply.send(Ok(()));
            }
            Command::Unregister(reply) => {
                ua.unregister(now);
                let _ = reply.send(Ok(()));
            }
            Command::Connect { target, sdp, reply } => {
                let _ = reply.send(ua.connect(now, &target, sdp.as_deref()));
            }
            Command::End(id, reply) => {
                let _ = reply.send(ua.end(now, id));
            }
            Command::Accept { id, sdp, reply } => {
                let _ = reply.send(ua.accept(now, id, sdp.as_deref()));
            }
            Command::Reject { id, busy, reply } => {
                let _ = reply.send(ua.reject(now, id, busy));
            }
            Command::Hold(id, reply) => {
                let _ = reply.send(ua.hold(now, id));
            }
            Command::Unhold(id, reply) => {
                let _ = reply.send(ua.unhold(now, id));
            }
            Command::SendDtmf(id, digit, reply) => {
                let result = match self.audio.send_dtmf(id, digit) {
                    Some(result) => result,
                    None => ua.send_dtmf(now, id, digit),
                };
                let _ = reply.send(result);
            }
            Command::StartRecordingAudio {
                id,
                file_name,
                reply,
            } => {
                let _ = reply.send(ua.start_recording_audio(
                    now,
                    id,
                    file_name.as_deref(),
                    wall_clock(),
                ));
            }
            Command::StopRecordingAudio(id, reply) => {
                let _ = reply.send(ua.stop_recording_audio(now, id));
            }
            Command::Audio(request) => self.audio.apply(ua, now, request),
            Command::Msrp(command) => self.msrp.apply(ua, now, command),
            Command::Desktop(command) => self.desktop.apply(ua, now, command),
            Command::Shutdown => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seeds_differ() {
        let origin = Instant::now();
        assert_ne!(seed(origin), seed(origin));
    }
}
