//! The native driver's MSRP transport (RFC 4975 over TCP): it carries out the user agent's
//! [`MsrpOutput`]s and makes no protocol decision.
//!
//! - **Active** streams: a TCP connection to the address of [`MsrpOutput::Connect`].
//! - **Passive** streams: one listener on the account's local address (an ephemeral port)
//!   whose address the driver writes in [`AccountConfig::msrp_listen`], so that `a=path`
//!   names it. An accepted connection is routed by the session id of its first request's
//!   To-Path ([`msrp_session_id_of`], [`UserAgent::msrp_route`]); one that arrives before
//!   its stream started (the peer's SEND overtaking our ACK) waits until it has.
//! - Each connection has a reader task and a writer task; bytes go both ways through
//!   channels, so a slow peer never blocks the loop.
//! - **Files**: a file sent is read a piece at a time on [`MsrpOutput::NeedData`], never
//!   whole; a file received is written incrementally to `<name>.part` in the receive
//!   directory ([`unique_file_name`]: a safe name, never overwriting) and renamed to
//!   `<name>` only once `FileTransferStreamDidFinish` reports success; a failed transfer's
//!   `.part` file is deleted.
//! - **Relay** (RFC 4976): [`Handle::use_msrp_relay`] opens one TCP connection to an MSRP
//!   relay, AUTHs with digest ([`AuthClient`]) and makes the relay's `Use-Path` the
//!   account's relay path; every stream negotiated afterwards goes through that one
//!   connection (the relay binds the URIs it issued to it), its frames routed to their
//!   stream by the session id of the last To-Path URI (our own URI in that stream's
//!   `a=path`).
//!
//! [`AccountConfig::msrp_listen`]: crate::ua::AccountConfig::msrp_listen

use super::{CommandError, Handle};
use crate::file_selector::{FileHasher, FileSelector};
use crate::iscomposing::State;
use crate::msrp::auth::{AuthClient, AuthStep};
use crate::msrp::{Frame, Parser, Uri};
use crate::notification::{Event, Notification, Sender};
use crate::rng::Rng;
use crate::sdp::SessionDescription;
use crate::stream::unique_file_name;
use crate::time::Time;
use crate::ua::{msrp_session_id_of, MsrpOutput, MsrpPeek, UserAgent};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fs::{File, OpenOptions};
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;

/// A stream: session id and m-line.
type Key = (u64, usize);

/// Most connections accepted and not yet routed to a stream.
const MAX_UNROUTED: usize = 64;
/// Most bytes read from an unrouted connection before it is dropped.
const MAX_PEEK: usize = 64 * 1024;
/// The size of one read.
const READ_SIZE: usize = 64 * 1024;

/// The MSRP commands of a [`Handle`], as the loop receives them.
#[derive(Debug)]
pub(super) enum Command {
    ConnectChat {
        target: String,
        reply: oneshot::Sender<Result<u64, CommandError>>,
    },
    SendMessage {
        id: u64,
        content: Vec<u8>,
        content_type: String,
        reply: oneshot::Sender<Result<String, CommandError>>,
    },
    Composing {
        id: u64,
        state: State,
        refresh: Option<u32>,
        reply: oneshot::Sender<Result<(), CommandError>>,
    },
    SendFile {
        target: String,
        path: PathBuf,
        reply: oneshot::Sender<Result<u64, CommandError>>,
    },
    AddFile {
        id: u64,
        path: PathBuf,
        reply: oneshot::Sender<Result<(), CommandError>>,
    },
    Kill {
        key: Key,
        reply: oneshot::Sender<Result<bool, CommandError>>,
    },
    ReceivedFile {
        key: Key,
        reply: oneshot::Sender<Result<Option<PathBuf>, CommandError>>,
    },
    UseRelay {
        relay: SocketAddr,
        username: String,
        password: String,
        reply: oneshot::Sender<Result<Vec<String>, CommandError>>,
    },
}

impl Handle {
    async fn msrp<T>(
        &self,
        make: impl FnOnce(oneshot::Sender<Result<T, CommandError>>) -> Command,
    ) -> Result<T, CommandError> {
        let (tx, rx) = oneshot::channel();
        self.commands
            .send(super::Command::Msrp(make(tx)))
            .map_err(|_| CommandError::Stopped)?;
        rx.await.unwrap_or(Err(CommandError::Stopped))
    }

    /// Connects to the MSRP relay at `relay` (TCP, RFC 4976) and AUTHs as `username` with
    /// `password`; returns the relay's `Use-Path`, which from then on goes before our own
    /// URI in the `a=path` of every chat and file stream, all of which then run over this
    /// one connection. Fails with [`CommandError::Io`] when the relay cannot be reached
    /// or refuses the credentials.
    pub async fn use_msrp_relay(
        &self,
        relay: SocketAddr,
        username: &str,
        password: &str,
    ) -> Result<Vec<String>, CommandError> {
        let (username, password) = (username.to_string(), password.to_string());
        self.msrp(|reply| Command::UseRelay {
            relay,
            username,
            password,
            reply,
        })
        .await
    }

    /// The seed's `connect(callee, audio=False, chat=True)`: calls `target` offering a
    /// chat stream; returns the session id.
    pub async fn connect_chat(&self, target: &str) -> Result<u64, CommandError> {
        let target = target.to_string();
        self.msrp(|reply| Command::ConnectChat { target, reply })
            .await
    }

    /// The seed's `send_message`: sends `content` of `content_type` on the session's chat
    /// stream (queued until its MSRP connection is up); returns the message id the
    /// delivery notifications carry.
    pub async fn send_message(
        &self,
        id: u64,
        content: &str,
        content_type: &str,
    ) -> Result<String, CommandError> {
        let (content, content_type) = (content.as_bytes().to_vec(), content_type.to_string());
        self.msrp(|reply| Command::SendMessage {
            id,
            content,
            content_type,
            reply,
        })
        .await
    }

    /// The seed's `send_composing_indication` on the session's chat stream.
    pub async fn send_composing_indication(
        &self,
        id: u64,
        state: State,
        refresh: Option<u32>,
    ) -> Result<(), CommandError> {
        self.msrp(|reply| Command::Composing {
            id,
            state,
            refresh,
            reply,
        })
        .await
    }

    /// Calls `target` offering the file at `path` (its name, size and SHA-1, read by the
    /// driver in pieces); returns the session id. The file is read again, a piece at a
    /// time, while it is sent; `FileTransferStreamDidFinish` says how it went.
    pub async fn send_file(
        &self,
        target: &str,
        path: impl AsRef<Path>,
    ) -> Result<u64, CommandError> {
        let (target, path) = (target.to_string(), path.as_ref().to_path_buf());
        self.msrp(|reply| Command::SendFile {
            target,
            path,
            reply,
        })
        .await
    }

    /// Proposes to the established session `id` a file-transfer stream sending the file
    /// at `path`.
    pub async fn add_file(&self, id: u64, path: impl AsRef<Path>) -> Result<(), CommandError> {
        let path = path.as_ref().to_path_buf();
        self.msrp(|reply| Command::AddFile { id, path, reply })
            .await
    }

    /// Drops the MSRP connection of stream `stream` of session `session` at once, as a
    /// network failure would (the core is told it closed); `false` when it had none.
    pub async fn kill_msrp_connection(
        &self,
        session: u64,
        stream: usize,
    ) -> Result<bool, CommandError> {
        let key = (session, stream);
        self.msrp(|reply| Command::Kill { key, reply }).await
    }

    /// Where the file received on stream `stream` of session `session` was saved, once
    /// its transfer finished successfully.
    pub async fn received_file(
        &self,
        session: u64,
        stream: usize,
    ) -> Result<Option<PathBuf>, CommandError> {
        let key = (session, stream);
        self.msrp(|reply| Command::ReceivedFile { key, reply })
            .await
    }
}

/// What the connection tasks and the listener report.
#[derive(Debug)]
pub(super) enum ConnEvent {
    Accepted(TcpStream),
    Connected(Key, io::Result<TcpStream>),
    Data(u64, Vec<u8>),
    Closed(u64),
    /// The relay connection authenticated: the stream, its Use-Path, the parser holding
    /// what was read past the 200, and the command's reply.
    Relay(
        TcpStream,
        Vec<Uri>,
        Box<Parser>,
        oneshot::Sender<Result<Vec<String>, CommandError>>,
    ),
}

/// The connection to the MSRP relay, shared by every stream going through it.
#[derive(Debug)]
struct RelayConn {
    /// The connection's id.
    id: u64,
    /// Where the Use-Path's first URI points, `(host, port)`.
    at: (String, u16),
    parser: Parser,
    /// The streams on it.
    keys: BTreeSet<Key>,
    /// Our URI's session id → stream.
    routes: HashMap<String, Key>,
}

/// The session id of our own URI for stream `key`: the last URI of its local `a=path`.
fn local_id(ua: &UserAgent, key: Key) -> Option<String> {
    let sd = SessionDescription::parse(ua.local_sdp(key.0)?.as_bytes()).ok()?;
    let path = sd.media.get(key.1)?.msrp_path();
    Uri::parse(path.last()?).ok()?.session_id
}

/// Connects to the relay and runs the AUTH exchange; the stream and the Use-Path.
async fn relay_auth(
    relay: SocketAddr,
    username: &str,
    password: &str,
    seed: u64,
) -> Result<(TcpStream, Vec<Uri>, Box<Parser>), CommandError> {
    let io = |e: io::Error| CommandError::Io(format!("MSRP relay {relay}: {e}"));
    let mut stream = TcpStream::connect(relay).await.map_err(io)?;
    let _ = stream.set_nodelay(true);
    let mut rng = Rng::from_seed(seed);
    let host = match relay.ip() {
        IpAddr::V4(v4) => v4.to_string(),
        IpAddr::V6(v6) => format!("[{v6}]"),
    };
    let relay_uri = Uri::parse(&format!("msrp://{host}:{};tcp", relay.port()))
        .map_err(|e| CommandError::Io(e.to_string()))?;
    let local = stream.local_addr().map_err(io)?;
    let me = Uri::parse(&format!(
        "msrp://{}:{}/{};tcp",
        match local.ip() {
            IpAddr::V4(v4) => v4.to_string(),
            IpAddr::V6(v6) => format!("[{v6}]"),
        },
        local.port(),
        rng.token(16)
    ))
    .map_err(|e| CommandError::Io(e.to_string()))?;
    let mut auth = AuthClient::new(relay_uri, me, username, password);
    let mut frame = auth.start(&mut rng);
    let mut parser = Parser::new();
    let mut buf = vec![0; READ_SIZE];
    loop {
        stream.write_all(&frame.to_bytes()).await.map_err(io)?;
        let response: Frame = loop {
            if let Some(r) = parser.next() {
                break r.map_err(|e| CommandError::Io(format!("MSRP relay {relay}: {e}")))?;
            }
            let n = tokio::time::timeout(std::time::Duration::from_secs(10), stream.read(&mut buf))
                .await
                .map_err(|_| CommandError::Io(format!("MSRP relay {relay}: no answer to AUTH")))?
                .map_err(io)?;
            if n == 0 {
                return Err(CommandError::Io(format!(
                    "MSRP relay {relay} closed the connection"
                )));
            }
            parser.push(&buf[..n]);
        };
        match auth.handle_response(&mut rng, &response) {
            AuthStep::Send(f) => frame = *f,
            AuthStep::Done { use_path, .. } => {
                return Ok((stream, use_path, Box::new(parser)));
            }
            AuthStep::Failed { code, reason } => {
                return Err(CommandError::Io(format!(
                    "MSRP relay {relay} refused the AUTH: {code} {reason}"
                )))
            }
            AuthStep::Ignored => {
                return Err(CommandError::Io(format!(
                    "MSRP relay {relay}: an unexpected response to AUTH"
                )))
            }
        }
    }
}

/// One TCP connection.
#[derive(Debug)]
struct Conn {
    /// The stream it carries, once known.
    key: Option<Key>,
    /// What an unrouted connection sent so far.
    peek: Vec<u8>,
    /// The session id its first request is addressed to, once read.
    session_id: Option<String>,
    writer: Option<mpsc::UnboundedSender<Vec<u8>>>,
    tasks: [JoinHandle<()>; 2],
}

impl Conn {
    /// Closes it at once: both tasks stop and the socket is dropped.
    fn kill(self) {
        for t in &self.tasks {
            t.abort();
        }
    }
}

/// A file being received.
#[derive(Debug)]
struct Receiving {
    file: File,
    part: PathBuf,
    name: String,
}

/// The MSRP side of the loop.
#[derive(Debug)]
pub(super) struct Transport {
    listener: TcpListener,
    events: mpsc::UnboundedReceiver<ConnEvent>,
    events_tx: mpsc::UnboundedSender<ConnEvent>,
    next_conn: u64,
    conns: BTreeMap<u64, Conn>,
    by_key: BTreeMap<Key, u64>,
    /// Files being sent, by session.
    sending: BTreeMap<u64, File>,
    receiving: BTreeMap<Key, Receiving>,
    received: BTreeMap<Key, PathBuf>,
    receive_dir: PathBuf,
    relay: Option<RelayConn>,
}

impl Transport {
    /// Binds the listener on `ip` (an ephemeral port).
    pub(super) async fn bind(ip: IpAddr, receive_dir: PathBuf) -> io::Result<Transport> {
        let listener = TcpListener::bind(SocketAddr::new(ip, 0)).await?;
        let (events_tx, events) = mpsc::unbounded_channel();
        Ok(Transport {
            listener,
            events,
            events_tx,
            next_conn: 1,
            conns: BTreeMap::new(),
            by_key: BTreeMap::new(),
            sending: BTreeMap::new(),
            receiving: BTreeMap::new(),
            received: BTreeMap::new(),
            receive_dir,
            relay: None,
        })
    }

    /// The listener's address.
    pub(super) fn local_addr(&self) -> io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// The next connection event (cancel-safe, for `select!`).
    pub(super) async fn next(&mut self) -> ConnEvent {
        loop {
            tokio::select! {
                accepted = self.listener.accept() => {
                    if let Ok((stream, _)) = accepted {
                        return ConnEvent::Accepted(stream);
                    }
                    // A failed accept (the peer gave up, too many files) is not ours to
                    // fix: wait for the next one.
                }
                Some(e) = self.events.recv() => return e,
            }
        }
    }

    /// Starts the reader and writer tasks of a new connection.
    fn open(&mut self, stream: TcpStream, key: Option<Key>) -> u64 {
        let id = self.next_conn;
        self.next_conn += 1;
        let _ = stream.set_nodelay(true);
        let (mut rd, mut wr) = stream.into_split();
        let events = self.events_tx.clone();
        let reader = tokio::spawn(async move {
            let mut buf = vec![0; READ_SIZE];
            loop {
                match rd.read(&mut buf).await {
                    Ok(0) | Err(_) => break,
                    Ok(n) => {
                        if events.send(ConnEvent::Data(id, buf[..n].to_vec())).is_err() {
                            return;
                        }
                    }
                }
            }
            let _ = events.send(ConnEvent::Closed(id));
        });
        let (tx, mut rx) = mpsc::unbounded_channel::<Vec<u8>>();
        let writer = tokio::spawn(async move {
            while let Some(bytes) = rx.recv().await {
                if wr.write_all(&bytes).await.is_err() {
                    return;
                }
            }
            // The stream ended: a graceful close once everything queued is written.
            let _ = wr.shutdown().await;
        });
        self.conns.insert(
            id,
            Conn {
                key,
                peek: Vec::new(),
                session_id: None,
                writer: Some(tx),
                tasks: [reader, writer],
            },
        );
        if let Some(k) = key {
            self.by_key.insert(k, id);
        }
        id
    }

    /// Handles one connection event.
    pub(super) fn handle(&mut self, ua: &mut UserAgent, now: Time, event: ConnEvent) {
        match event {
            ConnEvent::Accepted(stream) => {
                let unrouted = self.conns.values().filter(|c| c.key.is_none()).count();
                if unrouted < MAX_UNROUTED {
                    self.open(stream, None);
                }
            }
            ConnEvent::Connected(key, Ok(stream)) => {
                let id = self.open(stream, Some(key));
                if ua.handle_msrp_connected(now, key.0, key.1).is_err() {
                    // The stream ended while connecting.
                    self.drop_conn(id, true);
                }
            }
            ConnEvent::Connected(key, Err(_)) => {
                let _ = ua.handle_msrp_closed(now, key.0, key.1);
            }
            ConnEvent::Relay(stream, use_path, rest, reply) => {
                if let Some(old) = self.relay.take() {
                    self.relay_closed(ua, now, old);
                }
                let Some(first) = use_path.first() else {
                    let _ = reply.send(Err(CommandError::Io("an empty Use-Path".into())));
                    return;
                };
                let at = (
                    first
                        .host
                        .trim_start_matches('[')
                        .trim_end_matches(']')
                        .to_string(),
                    first.port.unwrap_or(2855),
                );
                let id = self.open(stream, None);
                let path: Vec<String> = use_path.iter().map(ToString::to_string).collect();
                ua.set_msrp_relay_path(path.clone());
                self.relay = Some(RelayConn {
                    id,
                    at,
                    parser: *rest,
                    keys: BTreeSet::new(),
                    routes: HashMap::new(),
                });
                let _ = reply.send(Ok(path));
            }
            ConnEvent::Data(id, bytes) if self.relay.as_ref().is_some_and(|r| r.id == id) => {
                self.relay_input(ua, now, &bytes);
            }
            ConnEvent::Closed(id) if self.relay.as_ref().is_some_and(|r| r.id == id) => {
                self.conns.remove(&id);
                if let Some(r) = self.relay.take() {
                    self.relay_closed(ua, now, r);
                }
            }
            ConnEvent::Data(id, bytes) => {
                let Some(conn) = self.conns.get_mut(&id) else {
                    return;
                };
                match conn.key {
                    Some((s, i)) => {
                        if ua.handle_msrp_input(now, s, i, &bytes).is_err() {
                            self.drop_conn(id, false);
                        }
                    }
                    None => {
                        conn.peek.extend_from_slice(&bytes);
                        self.route(ua, now, id);
                    }
                }
            }
            ConnEvent::Closed(id) => {
                if let Some(conn) = self.conns.remove(&id) {
                    if let Some(k) = conn.key {
                        self.by_key.remove(&k);
                        let _ = ua.handle_msrp_closed(now, k.0, k.1);
                    }
                }
            }
        }
    }

    /// The relay connection is gone: its streams fail, the relay path is cleared.
    fn relay_closed(&mut self, ua: &mut UserAgent, now: Time, r: RelayConn) {
        if let Some(c) = self.conns.remove(&r.id) {
            c.kill();
        }
        ua.set_msrp_relay_path(Vec::new());
        for k in r.keys {
            let _ = ua.handle_msrp_closed(now, k.0, k.1);
        }
    }

    /// Bytes from the relay: whole frames, each to the stream its To-Path ends with.
    fn relay_input(&mut self, ua: &mut UserAgent, now: Time, bytes: &[u8]) {
        let Some(r) = self.relay.as_mut() else {
            return;
        };
        r.parser.push(bytes);
        let mut frames = Vec::new();
        let mut dead = false;
        for next in r.parser.by_ref() {
            match next {
                Ok(f) => frames.push(f),
                Err(e) if !e.is_fatal() => {}
                Err(_) => {
                    dead = true;
                    break;
                }
            }
        }
        for frame in frames {
            let Some(sid) = frame.to_path.last().and_then(|u| u.session_id.clone()) else {
                continue;
            };
            let mut key = r.routes.get(&sid).copied();
            if key.is_none() {
                key = r
                    .keys
                    .iter()
                    .copied()
                    .find(|k| local_id(ua, *k).as_deref() == Some(sid.as_str()));
                if let Some(k) = key {
                    r.routes.insert(sid, k);
                }
            }
            if let Some((s, i)) = key {
                let _ = ua.handle_msrp_input(now, s, i, &frame.to_bytes());
            }
        }
        if dead {
            // The relay's stream cannot be followed any more.
            if let Some(r) = self.relay.take() {
                self.relay_closed(ua, now, r);
            }
        }
    }

    /// Routes the unrouted connection `id` to its stream once its first request says
    /// where it goes and the stream waits for it.
    fn route(&mut self, ua: &mut UserAgent, now: Time, id: u64) {
        let Some(conn) = self.conns.get_mut(&id) else {
            return;
        };
        if conn.session_id.is_none() {
            match msrp_session_id_of(&conn.peek) {
                MsrpPeek::SessionId(s) => conn.session_id = Some(s),
                MsrpPeek::Incomplete if conn.peek.len() <= MAX_PEEK => return,
                _ => {
                    self.drop_conn(id, true);
                    return;
                }
            }
        }
        if conn.peek.len() > MAX_PEEK {
            self.drop_conn(id, true);
            return;
        }
        let Some(key) = conn.session_id.as_deref().and_then(|s| ua.msrp_route(s)) else {
            // Not yet: its stream may start in a moment (MsrpOutput::Listen).
            return;
        };
        conn.key = Some(key);
        let peek = std::mem::take(&mut conn.peek);
        self.by_key.insert(key, id);
        let ok = ua.handle_msrp_connected(now, key.0, key.1).is_ok()
            && ua.handle_msrp_input(now, key.0, key.1, &peek).is_ok();
        if !ok {
            self.drop_conn(id, true);
        }
    }

    /// Closes connection `id`: at once (`kill`), or once what is queued is written.
    fn drop_conn(&mut self, id: u64, kill: bool) {
        let Some(mut conn) = self.conns.remove(&id) else {
            return;
        };
        if let Some(k) = conn.key {
            self.by_key.remove(&k);
        }
        if kill {
            conn.kill();
        } else {
            conn.writer = None;
            // The reader ends with the peer's close; its report then finds nothing.
        }
    }

    /// Carries out the user agent's MSRP outputs, until none is left.
    pub(super) fn drain(&mut self, ua: &mut UserAgent, now: Time) {
        while let Some(o) = ua.poll_msrp() {
            match o {
                MsrpOutput::Connect {
                    session,
                    stream,
                    to,
                    tls,
                } => {
                    let key = (session, stream);
                    if let Some(r) = self.relay.as_mut().filter(|r| r.at == to && !tls) {
                        // Through the relay: the one connection to it.
                        r.keys.insert(key);
                        if let Some(id) = local_id(ua, key) {
                            r.routes.insert(id, key);
                        }
                        let _ = ua.handle_msrp_connected(now, session, stream);
                        continue;
                    }
                    if tls {
                        // The driver speaks plain TCP (it announces `TCP/MSRP` itself).
                        let _ = ua.handle_msrp_closed(now, session, stream);
                        continue;
                    }
                    let events = self.events_tx.clone();
                    tokio::spawn(async move {
                        let r = TcpStream::connect((to.0.as_str(), to.1)).await;
                        let _ = events.send(ConnEvent::Connected((session, stream), r));
                    });
                }
                MsrpOutput::Listen { session_id, .. } => {
                    let waiting: Vec<u64> = self
                        .conns
                        .iter()
                        .filter(|(_, c)| c.key.is_none())
                        .filter(|(_, c)| c.session_id.as_deref() == Some(session_id.as_str()))
                        .map(|(id, _)| *id)
                        .collect();
                    for id in waiting {
                        self.route(ua, now, id);
                    }
                }
                MsrpOutput::Send {
                    session,
                    stream,
                    bytes,
                } => {
                    let on_relay = self
                        .relay
                        .as_ref()
                        .filter(|r| r.keys.contains(&(session, stream)))
                        .map(|r| r.id);
                    let conn = on_relay
                        .or_else(|| self.by_key.get(&(session, stream)).copied())
                        .and_then(|id| self.conns.get(&id));
                    if let Some(w) = conn.and_then(|c| c.writer.as_ref()) {
                        let _ = w.send(bytes);
                    }
                }
                MsrpOutput::Close { session, stream } => {
                    if let Some(r) = self.relay.as_mut() {
                        r.keys.remove(&(session, stream));
                        r.routes.retain(|_, k| *k != (session, stream));
                    }
                    if let Some(id) = self.by_key.get(&(session, stream)).copied() {
                        self.drop_conn(id, false);
                    }
                }
                MsrpOutput::NeedData {
                    session,
                    stream,
                    offset,
                    max_len,
                } => {
                    let data = self
                        .sending
                        .get_mut(&session)
                        .and_then(|f| read_at(f, offset, max_len).ok())
                        .filter(|d| !d.is_empty());
                    match data {
                        Some(d) => {
                            let _ = ua.push_file_data(now, session, stream, offset, &d);
                        }
                        None => {
                            // The file is gone or shrank: the transfer cannot go on.
                            self.sending.remove(&session);
                            let _ = ua.handle_msrp_closed(now, session, stream);
                            if let Some(id) = self.by_key.get(&(session, stream)).copied() {
                                self.drop_conn(id, false);
                            }
                        }
                    }
                }
                MsrpOutput::FileData {
                    session,
                    stream,
                    offset,
                    bytes,
                } => {
                    let key = (session, stream);
                    if self.write_received(ua, key, offset, &bytes).is_err() {
                        // Nothing can be kept: stop the transfer (its DidFinish deletes
                        // the part file).
                        let _ = ua.handle_msrp_closed(now, session, stream);
                        if let Some(id) = self.by_key.get(&key).copied() {
                            self.drop_conn(id, true);
                        }
                    }
                }
            }
        }
    }

    /// Writes received bytes to the stream's `.part` file, creating it on the first ones.
    fn write_received(
        &mut self,
        ua: &UserAgent,
        key: Key,
        offset: u64,
        bytes: &[u8],
    ) -> io::Result<()> {
        if !self.receiving.contains_key(&key) {
            let requested = ua
                .file_selector(key.0, key.1)
                .and_then(|s| s.name.clone())
                .unwrap_or_else(|| "file".to_string());
            let r = self.create_part(&requested)?;
            self.receiving.insert(key, r);
        }
        let Some(r) = self.receiving.get_mut(&key) else {
            return Err(io::Error::other("no file"));
        };
        r.file.seek(SeekFrom::Start(offset))?;
        r.file.write_all(bytes)
    }

    /// A new `<name>.part` in the receive directory for a file the peer calls `requested`,
    /// where neither it nor `<name>` exists.
    fn create_part(&self, requested: &str) -> io::Result<Receiving> {
        std::fs::create_dir_all(&self.receive_dir)?;
        let dir = &self.receive_dir;
        for _ in 0..16 {
            let taken = |n: &str| dir.join(n).exists() || dir.join(format!("{n}.part")).exists();
            let Some(name) = unique_file_name(requested, taken) else {
                break;
            };
            let part = dir.join(format!("{name}.part"));
            match OpenOptions::new().write(true).create_new(true).open(&part) {
                Ok(file) => return Ok(Receiving { file, part, name }),
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
                Err(e) => return Err(e),
            }
        }
        Err(io::Error::new(
            io::ErrorKind::AlreadyExists,
            "no free name in the receive directory",
        ))
    }

    /// Looks at a notification before the application gets it: a finished transfer's
    /// file is renamed (success) or deleted (failure); an ended session lets go of its
    /// files.
    pub(super) fn on_notification(&mut self, ua: &UserAgent, n: &Notification) {
        match (&n.sender, &n.event) {
            (Sender::Stream { session, index }, Event::FileTransferStreamDidFinish { error }) => {
                let key = (*session, *index);
                self.sending.remove(session);
                let receiving = self.receiving.remove(&key);
                match (receiving, error) {
                    (Some(r), None) => {
                        if let Ok(path) = self.complete(r) {
                            self.received.insert(key, path);
                        }
                    }
                    (Some(r), Some(_)) => discard(r),
                    (None, None) => {
                        // A receiver of an empty file had nothing to write.
                        let empty = ua
                            .session(*session)
                            .and_then(|s| s.file_transfer(*index))
                            .is_some_and(|f| f.transferred_bytes() == 0);
                        let name = ua
                            .file_selector(*session, *index)
                            .filter(|s| s.size == Some(0))
                            .and_then(|s| s.name.clone());
                        if let (true, Some(name)) = (empty, name) {
                            if let Ok(r) = self.create_part(&name) {
                                if let Ok(path) = self.complete(r) {
                                    self.received.insert(key, path);
                                }
                            }
                        }
                    }
                    (None, Some(_)) => {}
                }
            }
            (Sender::Stream { session, index }, Event::MediaStreamDidEnd { .. }) => {
                if let Some(r) = self.receiving.remove(&(*session, *index)) {
                    discard(r);
                }
            }
            (Sender::Session(id), Event::SIPSessionDidEnd { .. }) => {
                self.sending.remove(id);
                let keys: Vec<Key> = self
                    .receiving
                    .keys()
                    .filter(|(s, _)| s == id)
                    .copied()
                    .collect();
                for k in keys {
                    if let Some(r) = self.receiving.remove(&k) {
                        discard(r);
                    }
                }
            }
            _ => {}
        }
    }

    /// Renames a complete `.part` file to its final name (another free one if that was
    /// taken meanwhile).
    fn complete(&self, r: Receiving) -> io::Result<PathBuf> {
        r.file.sync_all()?;
        drop(r.file);
        let dir = &self.receive_dir;
        let taken = |n: &str| dir.join(n).exists();
        let name = unique_file_name(&r.name, taken)
            .ok_or_else(|| io::Error::new(io::ErrorKind::AlreadyExists, "no free name"))?;
        let path = dir.join(name);
        std::fs::rename(&r.part, &path)?;
        Ok(path)
    }

    /// Runs an MSRP command of a [`Handle`].
    pub(super) fn apply(&mut self, ua: &mut UserAgent, now: Time, command: Command) {
        // A reply nobody waits for any more is fine to drop.
        match command {
            Command::ConnectChat { target, reply } => {
                let r = ua.connect_streams(now, &target, false, true);
                let _ = reply.send(r.map_err(CommandError::Core));
            }
            Command::SendMessage {
                id,
                content,
                content_type,
                reply,
            } => {
                let r = ua.send_message(now, id, &content, &content_type);
                let _ = reply.send(r.map_err(CommandError::Core));
            }
            Command::Composing {
                id,
                state,
                refresh,
                reply,
            } => {
                let r = ua.send_composing_indication(now, id, state, refresh);
                let _ = reply.send(r.map_err(CommandError::Core));
            }
            Command::SendFile {
                target,
                path,
                reply,
            } => {
                let r = open_file(&path).and_then(|(file, selector)| {
                    let id = ua
                        .connect_file(now, &target, &selector)
                        .map_err(CommandError::Core)?;
                    self.sending.insert(id, file);
                    Ok(id)
                });
                let _ = reply.send(r);
            }
            Command::AddFile { id, path, reply } => {
                let r = open_file(&path).and_then(|(file, selector)| {
                    ua.add_file(now, id, &selector)
                        .map_err(CommandError::Core)?;
                    self.sending.insert(id, file);
                    Ok(())
                });
                let _ = reply.send(r);
            }
            Command::Kill { key, reply } => {
                let found = self.by_key.get(&key).copied();
                if let Some(id) = found {
                    self.drop_conn(id, true);
                    let _ = ua.handle_msrp_closed(now, key.0, key.1);
                }
                let _ = reply.send(Ok(found.is_some()));
            }
            Command::ReceivedFile { key, reply } => {
                let _ = reply.send(Ok(self.received.get(&key).cloned()));
            }
            Command::UseRelay {
                relay,
                username,
                password,
                reply,
            } => {
                let events = self.events_tx.clone();
                let seed = u64::from(now.as_millis() as u32) ^ (self.next_conn << 32);
                tokio::spawn(async move {
                    match relay_auth(relay, &username, &password, seed).await {
                        Ok((stream, path, rest)) => {
                            let _ = events.send(ConnEvent::Relay(stream, path, rest, reply));
                        }
                        Err(e) => {
                            let _ = reply.send(Err(e));
                        }
                    }
                });
            }
        }
    }
}

/// Deletes an unfinished `.part` file: nothing half-written stays behind.
fn discard(r: Receiving) {
    drop(r.file);
    let _ = std::fs::remove_file(&r.part);
}

/// Reads up to `max_len` bytes of `file` from `offset`.
fn read_at(file: &mut File, offset: u64, max_len: usize) -> io::Result<Vec<u8>> {
    file.seek(SeekFrom::Start(offset))?;
    let mut buf = vec![0; max_len];
    let mut filled = 0;
    while filled < max_len {
        let n = file.read(&mut buf[filled..])?;
        if n == 0 {
            break;
        }
        filled += n;
    }
    buf.truncate(filled);
    Ok(buf)
}

/// Opens the file at `path` to send it, with its selector: name, size and SHA-1 (read in
/// pieces).
fn open_file(path: &Path) -> Result<(File, FileSelector), CommandError> {
    let io_err = |e: io::Error| CommandError::Io(format!("{}: {e}", path.display()));
    let mut file = File::open(path).map_err(io_err)?;
    let size = file.metadata().map_err(io_err)?.len();
    let mut hasher = FileHasher::sha1();
    let mut buf = vec![0; READ_SIZE];
    loop {
        let n = file.read(&mut buf).map_err(io_err)?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
    }
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "file".to_string());
    let selector = FileSelector {
        name: Some(name),
        media_type: None,
        size: Some(size),
        hash: Some(hasher.finish()),
    };
    Ok((file, selector))
}
