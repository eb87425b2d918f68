//! The native driver's desktop-sharing handlers (the seed's `DesktopSharingStream`: RFB,
//! RFC 6143, over MSRP): they carry out the user agent's [`DesktopOutput`]s and make no
//! protocol decision.
//!
//! - The **external server handler** ([`DesktopHandler::Server`], python-sipsimple's
//!   `ExternalVNCServerHandler`) shares a desktop: once the stream is carried it connects to
//!   a real VNC server's TCP port and pumps bytes both ways.
//! - The **external viewer handler** ([`DesktopHandler::Viewer`], `ExternalVNCViewerHandler`)
//!   views the peer's: it listens on a local port (`127.0.0.1:0`, bound when the command is
//!   given, so that its address is known at once) for one VNC viewer and pumps bytes both
//!   ways; what the peer's server says before the viewer connects waits for it.
//! - Each read (at most 2048 bytes, as python-sipsimple reads) goes to
//!   [`UserAgent::push_desktop_data`], which sends it as one MSRP message. When the VNC
//!   server cannot be reached or closes, or the viewer goes away, the handler fails:
//!   [`UserAgent::desktop_handler_failed`] posts `DesktopSharingHandlerDidFail` with the
//!   context (`connecting`, `reading`, `sending`) and the reason.

use super::{CommandError, Handle};
use crate::time::Time;
use crate::ua::{DesktopOutput, DesktopRole, UserAgent};
use std::collections::BTreeMap;
use std::io;
use std::net::{Ipv4Addr, SocketAddr};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;

/// A stream: session id and m-line.
type Key = (u64, usize);

/// The size of one read from the VNC server or viewer (python-sipsimple's).
const READ_SIZE: usize = 2048;
/// How long connecting to the VNC server may take (python-sipsimple's `connect_timeout`).
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// Which handler runs a session's desktop-sharing stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DesktopHandler {
    /// Share our desktop: bridge the stream to the VNC server listening at `vnc`.
    Server {
        /// The VNC server's address (`127.0.0.1:5900` for display `:0`).
        vnc: SocketAddr,
    },
    /// View the peer's desktop: a VNC viewer connects to a local port the driver opens.
    Viewer,
}

/// The desktop-sharing commands of a [`Handle`], as the loop receives them.
#[derive(Debug)]
pub(super) enum Command {
    Connect {
        target: String,
        handler: DesktopHandler,
        reply: oneshot::Sender<Result<(u64, Option<SocketAddr>), CommandError>>,
    },
    Accept {
        id: u64,
        handler: DesktopHandler,
        reply: oneshot::Sender<Result<Option<SocketAddr>, CommandError>>,
    },
    AcceptProposal {
        id: u64,
        handler: DesktopHandler,
        reply: oneshot::Sender<Result<Option<SocketAddr>, CommandError>>,
    },
}

impl Handle {
    async fn desktop<T>(
        &self,
        make: impl FnOnce(oneshot::Sender<Result<T, CommandError>>) -> Command,
    ) -> Result<T, CommandError> {
        let (tx, rx) = oneshot::channel();
        self.commands
            .send(super::Command::Desktop(make(tx)))
            .map_err(|_| CommandError::Stopped)?;
        rx.await.unwrap_or(Err(CommandError::Stopped))
    }

    /// Calls `target` offering to share our desktop (`a=rfbsetup:passive`): once the
    /// stream is carried the external server handler connects to the VNC server at `vnc`.
    /// Returns the session id.
    pub async fn share_desktop(&self, target: &str, vnc: SocketAddr) -> Result<u64, CommandError> {
        let target = target.to_string();
        let handler = DesktopHandler::Server { vnc };
        let (id, _) = self
            .desktop(|reply| Command::Connect {
                target,
                handler,
                reply,
            })
            .await?;
        Ok(id)
    }

    /// Calls `target` asking to view its desktop (`a=rfbsetup:active`). Returns the
    /// session id and the local address (on loopback) a VNC viewer connects to.
    pub async fn view_desktop(&self, target: &str) -> Result<(u64, SocketAddr), CommandError> {
        let target = target.to_string();
        let handler = DesktopHandler::Viewer;
        let (id, at) = self
            .desktop(|reply| Command::Connect {
                target,
                handler,
                reply,
            })
            .await?;
        at.map(|a| (id, a))
            .ok_or_else(|| CommandError::Io("no viewer port".into()))
    }

    /// Accepts the incoming session `id` with its desktop-sharing stream run by `handler`
    /// (which must take the role the offer leaves us: [`DesktopHandler::Server`] when the
    /// peer asks to view, [`DesktopHandler::Viewer`] when it shares). Returns the local
    /// address a VNC viewer connects to, for a viewer.
    pub async fn accept_desktop(
        &self,
        id: u64,
        handler: DesktopHandler,
    ) -> Result<Option<SocketAddr>, CommandError> {
        self.desktop(|reply| Command::Accept { id, handler, reply })
            .await
    }

    /// Accepts the peer's proposal (`SIPSessionGotStreamProposal`) of a desktop-sharing
    /// stream in the established session `id`, run by `handler` (as
    /// [`accept_desktop`](Self::accept_desktop)); other streams proposed with it are
    /// declined. Returns the local address a VNC viewer connects to, for a viewer.
    pub async fn accept_desktop_proposal(
        &self,
        id: u64,
        handler: DesktopHandler,
    ) -> Result<Option<SocketAddr>, CommandError> {
        self.desktop(|reply| Command::AcceptProposal { id, handler, reply })
            .await
    }
}

/// What the handler tasks report.
#[derive(Debug)]
pub(super) enum DeskEvent {
    /// The VNC server answered (or not), or the viewer connected.
    Connected(Key, io::Result<TcpStream>),
    /// Bytes read from the VNC server or viewer.
    Data(Key, Vec<u8>),
    /// The handler's connection failed: context and reason.
    Failed(Key, &'static str, String),
}

/// A session's handler, before its stream is carried.
#[derive(Debug)]
enum Pending {
    Server(SocketAddr),
    Viewer(TcpListener),
}

/// A running handler.
#[derive(Debug)]
struct Active {
    role: DesktopRole,
    /// Writes to the VNC server or viewer, once connected.
    writer: Option<mpsc::UnboundedSender<Vec<u8>>>,
    /// What the peer sent before the connection was up.
    pending: Vec<Vec<u8>>,
    tasks: Vec<JoinHandle<()>>,
}

impl Drop for Active {
    fn drop(&mut self) {
        for t in &self.tasks {
            t.abort();
        }
    }
}

/// The desktop-sharing side of the loop.
#[derive(Debug)]
pub(super) struct Handlers {
    pending: BTreeMap<u64, Pending>,
    active: BTreeMap<Key, Active>,
    events: mpsc::UnboundedReceiver<DeskEvent>,
    events_tx: mpsc::UnboundedSender<DeskEvent>,
}

impl Handlers {
    pub(super) fn new() -> Handlers {
        let (events_tx, events) = mpsc::unbounded_channel();
        Handlers {
            pending: BTreeMap::new(),
            active: BTreeMap::new(),
            events,
            events_tx,
        }
    }

    /// The next handler event (cancel-safe, for `select!`).
    pub(super) async fn next(&mut self) -> DeskEvent {
        match self.events.recv().await {
            Some(e) => e,
            // The loop holds a sender: never reached.
            None => std::future::pending().await,
        }
    }

    /// Makes the handler's pending state: a viewer's listener is bound now.
    fn prepare(handler: DesktopHandler) -> Result<(Pending, Option<SocketAddr>), CommandError> {
        match handler {
            DesktopHandler::Server { vnc } => Ok((Pending::Server(vnc), None)),
            DesktopHandler::Viewer => {
                let io = |e: io::Error| CommandError::Io(format!("VNC viewer port: {e}"));
                let std = std::net::TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).map_err(io)?;
                std.set_nonblocking(true).map_err(io)?;
                let listener = TcpListener::from_std(std).map_err(io)?;
                let at = listener.local_addr().map_err(io)?;
                Ok((Pending::Viewer(listener), Some(at)))
            }
        }
    }

    /// Runs a command.
    pub(super) fn apply(&mut self, ua: &mut UserAgent, now: Time, command: Command) {
        match command {
            Command::Connect {
                target,
                handler,
                reply,
            } => {
                let role = match handler {
                    DesktopHandler::Server { .. } => DesktopRole::Server,
                    DesktopHandler::Viewer => DesktopRole::Viewer,
                };
                let r = Self::prepare(handler).and_then(|(p, at)| {
                    let id = ua.connect_desktop(now, &target, role)?;
                    self.pending.insert(id, p);
                    Ok((id, at))
                });
                let _ = reply.send(r);
            }
            Command::Accept { id, handler, reply } => {
                let r = Self::prepare(handler).and_then(|(p, at)| {
                    self.pending.insert(id, p);
                    match ua.accept(now, id, None) {
                        Ok(()) => Ok(at),
                        Err(e) => {
                            self.pending.remove(&id);
                            Err(CommandError::Core(e))
                        }
                    }
                });
                let _ = reply.send(r);
            }
            Command::AcceptProposal { id, handler, reply } => {
                let r = Self::prepare(handler).and_then(|(p, at)| {
                    self.pending.insert(id, p);
                    match ua.accept_proposal_of(now, id, &[crate::stream::DESKTOP_SHARING]) {
                        Ok(()) => Ok(at),
                        Err(e) => {
                            self.pending.remove(&id);
                            Err(CommandError::Core(e))
                        }
                    }
                });
                let _ = reply.send(r);
            }
        }
    }

    /// Carries out the user agent's desktop outputs, until none is left.
    pub(super) fn drain(&mut self, ua: &mut UserAgent, now: Time) {
        while let Some(o) = ua.poll_desktop() {
            match o {
                DesktopOutput::Started {
                    session,
                    stream,
                    role,
                } => self.start(ua, now, (session, stream), role),
                DesktopOutput::Data {
                    session,
                    stream,
                    bytes,
                } => {
                    let Some(a) = self.active.get_mut(&(session, stream)) else {
                        continue;
                    };
                    match &a.writer {
                        Some(w) => {
                            let _ = w.send(bytes);
                        }
                        None => a.pending.push(bytes),
                    }
                }
                DesktopOutput::Ended { session, stream } => {
                    // Dropping it stops its tasks and closes its socket.
                    self.active.remove(&(session, stream));
                    if !self.active.keys().any(|k| k.0 == session) {
                        self.pending.remove(&session);
                    }
                }
            }
        }
    }

    /// The stream `key` is carried: its session's handler starts.
    fn start(&mut self, ua: &mut UserAgent, now: Time, key: Key, role: DesktopRole) {
        let events = self.events_tx.clone();
        let task = match (self.pending.remove(&key.0), role) {
            (Some(Pending::Server(vnc)), DesktopRole::Server) => tokio::spawn(async move {
                let r = match tokio::time::timeout(CONNECT_TIMEOUT, TcpStream::connect(vnc)).await {
                    Ok(Ok(s)) => Ok(s),
                    Ok(Err(e)) => Err(io::Error::new(
                        e.kind(),
                        format!("cannot connect to the VNC server at {vnc}: {e}"),
                    )),
                    Err(_) => Err(io::Error::new(
                        io::ErrorKind::TimedOut,
                        format!("no answer from the VNC server at {vnc}"),
                    )),
                };
                let _ = events.send(DeskEvent::Connected(key, r));
            }),
            (Some(Pending::Viewer(listener)), DesktopRole::Viewer) => tokio::spawn(async move {
                // One viewer; the listener closes once it connected.
                let r = listener.accept().await.map(|(s, _)| s);
                let _ = events.send(DeskEvent::Connected(key, r));
            }),
            (pending, role) => {
                let reason = match pending {
                    None => "no desktop-sharing handler for this session".to_string(),
                    Some(_) => format!(
                        "the handler does not fit the negotiated role (we are the {})",
                        match role {
                            DesktopRole::Server => "server",
                            DesktopRole::Viewer => "viewer",
                        }
                    ),
                };
                let _ = ua.desktop_handler_failed(now, key.0, key.1, "connecting", &reason);
                return;
            }
        };
        self.active.insert(
            key,
            Active {
                role,
                writer: None,
                pending: Vec::new(),
                tasks: vec![task],
            },
        );
    }

    /// Handles one handler event.
    pub(super) fn handle(&mut self, ua: &mut UserAgent, now: Time, event: DeskEvent) {
        match event {
            DeskEvent::Connected(key, Ok(stream)) => {
                let Some(a) = self.active.get_mut(&key) else {
                    return;
                };
                let _ = stream.set_nodelay(true);
                let peer = match a.role {
                    DesktopRole::Server => "the VNC server",
                    DesktopRole::Viewer => "the VNC viewer",
                };
                let (mut rd, mut wr) = stream.into_split();
                let events = self.events_tx.clone();
                let reader = tokio::spawn(async move {
                    let mut buf = vec![0; READ_SIZE];
                    let reason = loop {
                        match rd.read(&mut buf).await {
                            Ok(0) => break format!("the connection with {peer} was closed"),
                            Err(e) => break format!("reading from {peer}: {e}"),
                            Ok(n) => {
                                let data = buf.get(..n).unwrap_or_default().to_vec();
                                if events.send(DeskEvent::Data(key, data)).is_err() {
                                    return;
                                }
                            }
                        }
                    };
                    let _ = events.send(DeskEvent::Failed(key, "reading", reason));
                });
                let (tx, mut rx) = mpsc::unbounded_channel::<Vec<u8>>();
                let events = self.events_tx.clone();
                let writer = tokio::spawn(async move {
                    while let Some(bytes) = rx.recv().await {
                        if let Err(e) = wr.write_all(&bytes).await {
                            let reason = format!("writing to {peer}: {e}");
                            let _ = events.send(DeskEvent::Failed(key, "sending", reason));
                            return;
                        }
                    }
                });
                for bytes in a.pending.drain(..) {
                    let _ = tx.send(bytes);
                }
                a.writer = Some(tx);
                a.tasks.push(reader);
                a.tasks.push(writer);
            }
            DeskEvent::Connected(key, Err(e)) => {
                if self.active.remove(&key).is_some() {
                    let reason = e.to_string();
                    let _ = ua.desktop_handler_failed(now, key.0, key.1, "connecting", &reason);
                }
            }
            DeskEvent::Data(key, bytes) => {
                if self.active.contains_key(&key)
                    && ua.push_desktop_data(now, key.0, key.1, &bytes).is_err()
                {
                    self.active.remove(&key);
                }
            }
            DeskEvent::Failed(key, context, reason) => {
                if self.active.remove(&key).is_some() {
                    let _ = ua.desktop_handler_failed(now, key.0, key.1, context, &reason);
                }
            }
        }
    }
}
