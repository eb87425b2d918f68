//! The MSRP connections of a session's chat and file-transfer streams (RFC 4975 §5.4,
//! RFC 6135 for `a=setup`, RFC 4976 for relays): once offer/answer started such a stream,
//! the session makes its engine ([`ChatEngine`], [`FileTransferEngine`]) and asks the shell
//! for the connection with a [`MsrpOutput`]: `Connect` for the active end (or to our relay),
//! `Listen` for the passive one. The shell then feeds the connection's bytes back through
//! the user agent, and the engine's notifications go out with the stream as sender; the
//! chat ones are repeated at the session level (`SIPSessionGotMessage`, ...), as the seed
//! has them.

use super::desktop::{pump_desktop, DesktopEngine};
use super::Session;
use crate::cpim::Address;
use crate::file_selector::FileSelector;
use crate::iscomposing::State;
use crate::msrp::{MsrpSession, Role, SessionConfig, Uri};
use crate::notification::{Event, Sender};
use crate::sdp::{SessionDescription, Setup};
use crate::stream::{
    ChatConfig, ChatEngine, ChatOutput, FileTransferEngine, FileTransferOutput, CHAT,
    DESKTOP_SHARING, FILE_TRANSFER,
};
use crate::time::Time;
use crate::ua::{Ctx, Error, MsrpOutput};

/// Where a stream's connection stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum LinkState {
    /// Asked of the shell; not up yet.
    Waiting,
    /// Up: the engine runs.
    Connected,
    /// Gone (closed by either side, or never to be made).
    Closed,
}

/// The engine of one MSRP stream.
#[derive(Debug)]
enum Engine {
    Chat(Box<ChatEngine>),
    File(Box<FileTransferEngine>),
    /// A desktop-sharing stream's RFB bytes (`desktop.rs`).
    Desktop(Box<DesktopEngine>),
}

/// One stream's MSRP connection and engine.
#[derive(Debug)]
pub(super) struct MsrpLink {
    engine: Engine,
    /// The engine's MSRP session settings, used once the connection is up.
    config: SessionConfig,
    seed: u64,
    state: LinkState,
    /// The session id of our own URI, by which the shell routes a passive connection.
    local_id: String,
    /// The offset of the file data asked for and not yet pushed.
    need: Option<u64>,
}

impl MsrpLink {
    /// Whether an incoming connection whose first request is addressed to `session_id`
    /// belongs to this stream.
    pub(super) fn routes(&self, session_id: &str) -> bool {
        self.state == LinkState::Waiting
            && self.config.role == Role::Passive
            && self.local_id == session_id
    }

    pub(super) fn poll_timeout(&self) -> Option<Time> {
        match &self.engine {
            Engine::Chat(c) => c.poll_timeout(),
            Engine::File(f) => f.poll_timeout(),
            Engine::Desktop(d) => d.poll_timeout(),
        }
    }

    /// The file transfer's engine, for its selector and progress.
    pub(super) fn file(&self) -> Option<&FileTransferEngine> {
        match &self.engine {
            Engine::File(f) => Some(f),
            Engine::Chat(_) | Engine::Desktop(_) => None,
        }
    }

    /// Whether this is a desktop-sharing stream's link.
    pub(super) fn is_desktop(&self) -> bool {
        matches!(self.engine, Engine::Desktop(_))
    }

    /// The desktop-sharing engine, for a desktop-sharing stream.
    pub(super) fn desktop_mut(&mut self) -> Option<&mut DesktopEngine> {
        match &mut self.engine {
            Engine::Desktop(d) if self.state != LinkState::Closed => Some(d),
            _ => None,
        }
    }

    fn is_closed(&self) -> bool {
        self.state == LinkState::Closed
    }

    /// The engine's MSRP session gave up (a fatal parse error, a failed bind).
    fn session_closed(&self) -> bool {
        let s = match &self.engine {
            Engine::Chat(c) => c.session(),
            Engine::File(f) => f.session(),
            Engine::Desktop(d) => d.session(),
        };
        s.is_some_and(MsrpSession::is_closed)
    }
}

/// The MSRP URIs of an `a=path`, or `None` if one does not parse.
fn parse_path(path: &[&str]) -> Option<Vec<Uri>> {
    path.iter().map(|u| Uri::parse(u).ok()).collect()
}

/// Where to connect for `uri`: its host (without IPv6 brackets) and port (2855 by default).
fn target(uri: &Uri) -> (String, u16) {
    let host = uri.host.trim_start_matches('[').trim_end_matches(']');
    (host.to_string(), uri.port.unwrap_or(2855))
}

impl Session {
    fn stream_sender(&self, index: usize) -> Sender {
        Sender::Stream {
            session: self.id,
            index,
        }
    }

    /// The MSRP link of the stream on m-line `index`, if it has one.
    pub(super) fn link_mut(&mut self, index: usize) -> Option<&mut MsrpLink> {
        self.streams
            .get_mut(index)?
            .as_mut()
            .and_then(|s| s.link.as_mut())
    }

    /// The MSRP link of the stream on m-line `index`, if it has one.
    pub(super) fn link(&self, index: usize) -> Option<&MsrpLink> {
        self.streams
            .get(index)?
            .as_ref()
            .and_then(|s| s.link.as_ref())
    }

    /// The m-line of the stream whose passive connection expects requests to `session_id`.
    pub(crate) fn msrp_route(&self, session_id: &str) -> Option<usize> {
        (0..self.streams.len()).find(|i| self.link(*i).is_some_and(|l| l.routes(session_id)))
    }

    /// A chat or file-transfer stream on m-line `index` started: makes its engine and asks
    /// the shell for its connection. `None` for other streams, or when the descriptions
    /// lack what MSRP needs (the stream then has no connection).
    pub(super) fn new_link(
        &self,
        ctx: &mut Ctx,
        stream_type: &str,
        local: &SessionDescription,
        remote: &SessionDescription,
        index: usize,
    ) -> Option<MsrpLink> {
        if ![CHAT, FILE_TRANSFER, DESKTOP_SHARING].contains(&stream_type) {
            return None;
        }
        let (lm, rm) = (local.media.get(index)?, remote.media.get(index)?);
        let ours = parse_path(&lm.msrp_path())?;
        let theirs = parse_path(&rm.msrp_path())?;
        let (own, relays) = ours.split_last()?;
        let first = theirs.first()?;
        // RFC 4976: with a relay every connection goes to it, and what we send visits it
        // first. Otherwise the negotiated a=setup says who connects (RFC 6135; an offerer
        // without it is active, RFC 4975 §5.4).
        let (role, to_path, connect_to) = if let Some(relay) = relays.first() {
            let mut to_path = relays.to_vec();
            to_path.extend(theirs.iter().cloned());
            (Role::Active, to_path, relay.clone())
        } else {
            let local_setup = local.setup_of(lm);
            let remote_setup = remote.setup_of(rm);
            let role = match (local_setup, remote_setup) {
                (Some(Setup::Active), _) => Role::Active,
                (Some(Setup::Passive | Setup::HoldConn), _) => Role::Passive,
                (_, Some(Setup::Active)) => Role::Passive,
                _ => Role::Active,
            };
            (role, theirs.clone(), first.clone())
        };
        let local_id = own.session_id.clone().unwrap_or_default();
        let engine = match stream_type {
            CHAT => {
                let cfg = ChatConfig::new(
                    Address::new(self.local_uri.to_string()),
                    Address::new(self.remote_uri.to_string()),
                )
                .with_remote_media(rm);
                Engine::Chat(Box::new(ChatEngine::new(cfg, ctx.rng.next_u64())))
            }
            DESKTOP_SHARING => Engine::Desktop(Box::default()),
            _ => {
                let sending = lm.file_selector().is_some() && {
                    let d = local.direction_of(lm);
                    d.sends() && !d.receives()
                };
                let selector = |v: Option<&str>| v.and_then(|v| FileSelector::parse(v).ok());
                let engine = if sending {
                    FileTransferEngine::sender(selector(lm.file_selector())?).ok()?
                } else {
                    let sel = selector(rm.file_selector()).or_else(|| selector(lm.file_selector()));
                    FileTransferEngine::receiver(sel.unwrap_or_default())
                };
                Engine::File(Box::new(engine))
            }
        };
        let config = match &engine {
            Engine::Chat(c) => c.config().session_config(own.clone(), to_path, role),
            Engine::File(f) => f.session_config(own.clone(), to_path, role),
            Engine::Desktop(_) => DesktopEngine::session_config(own.clone(), to_path, role),
        };
        let (session, stream) = (self.id, index);
        ctx.msrp_out.push_back(match role {
            Role::Active => MsrpOutput::Connect {
                session,
                stream,
                to: target(&connect_to),
                tls: connect_to.is_secure(),
            },
            Role::Passive => MsrpOutput::Listen {
                session,
                stream,
                session_id: local_id.clone(),
            },
        });
        Some(MsrpLink {
            engine,
            config,
            seed: ctx.rng.next_u64(),
            state: LinkState::Waiting,
            local_id,
            need: None,
        })
    }

    /// The stream on m-line `index` ends: its engine reports what is left undelivered and
    /// the shell closes the connection.
    pub(super) fn end_link(&mut self, ctx: &mut Ctx, index: usize) {
        let now = ctx.now;
        let Some(link) = self.link_mut(index) else {
            return;
        };
        let was_open = !link.is_closed();
        link.state = LinkState::Closed;
        match &mut link.engine {
            Engine::Chat(c) => c.end(now),
            Engine::File(f) => f.end(now),
            Engine::Desktop(d) => d.end(now),
        }
        self.pump_link(ctx, index);
        if was_open {
            ctx.msrp_out.push_back(MsrpOutput::Close {
                session: self.id,
                stream: index,
            });
            self.desktop_ended(ctx, index);
        }
    }

    /// The shell's connection for m-line `index` is up: the engine starts (the active end
    /// binds it, queued messages go out, a file starts flowing).
    pub(crate) fn msrp_connected(
        &mut self,
        ctx: &mut Ctx,
        now: Time,
        index: usize,
    ) -> Result<(), Error> {
        let (session, stream) = (self.id, index);
        let link = self
            .link_mut(index)
            .filter(|l| l.state == LinkState::Waiting)
            .ok_or(Error::NoSuchMsrpStream { session, stream })?;
        link.state = LinkState::Connected;
        let msrp = MsrpSession::new(link.config.clone(), link.seed);
        match &mut link.engine {
            Engine::Chat(c) => c.start(now, msrp),
            Engine::File(f) => f.start(now, msrp),
            Engine::Desktop(d) => d.start(now, msrp),
        }
        self.desktop_started(ctx, index);
        self.pump_link(ctx, index);
        Ok(())
    }

    /// Bytes read from the connection of m-line `index`.
    pub(crate) fn msrp_input(
        &mut self,
        ctx: &mut Ctx,
        now: Time,
        index: usize,
        bytes: &[u8],
    ) -> Result<(), Error> {
        let (session, stream) = (self.id, index);
        let link = self
            .link_mut(index)
            .filter(|l| l.state == LinkState::Connected)
            .ok_or(Error::NoSuchMsrpStream { session, stream })?;
        match &mut link.engine {
            Engine::Chat(c) => c.handle_input(now, bytes),
            Engine::File(f) => f.handle_input(now, bytes),
            Engine::Desktop(d) => d.handle_input(now, bytes),
        }
        self.pump_link(ctx, index);
        Ok(())
    }

    /// The connection of m-line `index` closed (or could not be made): messages in flight
    /// are reported undelivered, an unfinished transfer fails.
    pub(crate) fn msrp_closed(
        &mut self,
        ctx: &mut Ctx,
        now: Time,
        index: usize,
    ) -> Result<(), Error> {
        let (session, stream) = (self.id, index);
        let link = self
            .link_mut(index)
            .filter(|l| !l.is_closed())
            .ok_or(Error::NoSuchMsrpStream { session, stream })?;
        link.state = LinkState::Closed;
        match &mut link.engine {
            Engine::Chat(c) => c.end(now),
            Engine::File(f) => f.end(now),
            Engine::Desktop(d) => d.end(now),
        }
        self.pump_link(ctx, index);
        self.desktop_ended(ctx, index);
        Ok(())
    }

    /// The file data asked for by [`MsrpOutput::NeedData`] at `offset`.
    pub(crate) fn push_file_data(
        &mut self,
        ctx: &mut Ctx,
        now: Time,
        index: usize,
        offset: u64,
        bytes: &[u8],
    ) -> Result<(), Error> {
        let (session, stream) = (self.id, index);
        let link = self
            .link_mut(index)
            .filter(|l| l.state == LinkState::Connected)
            .ok_or(Error::NoSuchMsrpStream { session, stream })?;
        let Engine::File(f) = &mut link.engine else {
            return Err(Error::NoSuchMsrpStream { session, stream });
        };
        if link.need != Some(offset) {
            return Err(Error::FileTransfer(crate::stream::FileTransferError::Send(
                crate::msrp::SendError::NoDataRequested,
            )));
        }
        link.need = None;
        let r = f.push_data(now, bytes).map_err(Error::FileTransfer);
        self.pump_link(ctx, index);
        r
    }

    /// The m-line of the session's chat stream with an MSRP link that is not closed.
    fn chat_index(&self) -> Result<usize, Error> {
        (0..self.streams.len())
            .find(|i| {
                self.link(*i)
                    .is_some_and(|l| matches!(l.engine, Engine::Chat(_)) && !l.is_closed())
            })
            .ok_or_else(|| Error::NoSuchStream(CHAT.to_string()))
    }

    /// The seed's `send_message` on the chat stream: queued in the engine until the
    /// connection is up.
    pub(crate) fn send_message(
        &mut self,
        ctx: &mut Ctx,
        now: Time,
        content: &[u8],
        content_type: &str,
    ) -> Result<String, Error> {
        let index = self.chat_index()?;
        let Some(Engine::Chat(c)) = self.link_mut(index).map(|l| &mut l.engine) else {
            return Err(Error::NoSuchStream(CHAT.to_string()));
        };
        let r = c
            .send_message(now, content.to_vec(), content_type, None, None)
            .map_err(Error::Chat);
        self.pump_link(ctx, index);
        r
    }

    /// The seed's `send_composing_indication` on the chat stream (nothing is sent before
    /// the connection is up).
    pub(crate) fn send_composing_indication(
        &mut self,
        ctx: &mut Ctx,
        now: Time,
        state: State,
        refresh: Option<u32>,
    ) -> Result<(), Error> {
        let index = self.chat_index()?;
        let Some(Engine::Chat(c)) = self.link_mut(index).map(|l| &mut l.engine) else {
            return Err(Error::NoSuchStream(CHAT.to_string()));
        };
        let r = c
            .send_composing_indication(now, state, refresh, None)
            .map(|_| ())
            .map_err(Error::Chat);
        self.pump_link(ctx, index);
        r
    }

    /// The local user is typing (RFC 3994 §3.2: indications as their refresh and idle
    /// timers say).
    pub(crate) fn typing(&mut self, ctx: &mut Ctx, now: Time) -> Result<(), Error> {
        let index = self.chat_index()?;
        if let Some(Engine::Chat(c)) = self.link_mut(index).map(|l| &mut l.engine) {
            c.typing(now);
        }
        self.pump_link(ctx, index);
        Ok(())
    }

    /// When the MSRP engines next need [`Session::msrp_timeout`].
    pub(super) fn msrp_next_timeout(&self) -> Option<Time> {
        (0..self.streams.len())
            .filter_map(|i| self.link(i).filter(|l| !l.is_closed()))
            .filter_map(MsrpLink::poll_timeout)
            .min()
    }

    /// Runs the MSRP engines' timers.
    pub(super) fn msrp_timeout(&mut self, ctx: &mut Ctx, now: Time) {
        for i in 0..self.streams.len() {
            let Some(link) = self.link_mut(i).filter(|l| !l.is_closed()) else {
                continue;
            };
            if link.poll_timeout().is_none_or(|t| t > now) {
                continue;
            }
            match &mut link.engine {
                Engine::Chat(c) => c.handle_timeout(now),
                Engine::File(f) => f.handle_timeout(now),
                Engine::Desktop(d) => d.handle_timeout(now),
            }
            self.pump_link(ctx, i);
        }
    }

    /// Moves the engine's outputs of m-line `index` to the user agent's queues.
    pub(super) fn pump_link(&mut self, ctx: &mut Ctx, index: usize) {
        let (session, stream) = (self.id, index);
        let sender = self.stream_sender(index);
        let Some(link) = self.link_mut(index) else {
            return;
        };
        let mut events = Vec::new();
        match &mut link.engine {
            Engine::Chat(c) => {
                while let Some(o) = c.poll_output() {
                    match o {
                        ChatOutput::Transmit(bytes) => ctx.msrp_out.push_back(MsrpOutput::Send {
                            session,
                            stream,
                            bytes,
                        }),
                        ChatOutput::Notification(e) => events.push(e),
                    }
                }
            }
            Engine::File(f) => {
                while let Some(o) = f.poll_output() {
                    match o {
                        FileTransferOutput::Transmit(bytes) => {
                            ctx.msrp_out.push_back(MsrpOutput::Send {
                                session,
                                stream,
                                bytes,
                            })
                        }
                        FileTransferOutput::NeedData { offset, max_len } => {
                            link.need = Some(offset);
                            ctx.msrp_out.push_back(MsrpOutput::NeedData {
                                session,
                                stream,
                                offset,
                                max_len,
                            });
                        }
                        FileTransferOutput::WriteData { offset, data } => {
                            ctx.msrp_out.push_back(MsrpOutput::FileData {
                                session,
                                stream,
                                offset,
                                bytes: data,
                            })
                        }
                        FileTransferOutput::Notification(e) => events.push(e),
                    }
                }
            }
            Engine::Desktop(d) => pump_desktop(d, ctx, session, stream, &mut events),
        }
        // The MSRP session gave up on its own: the shell closes the connection.
        let gave_up = link.state == LinkState::Connected && link.session_closed();
        if gave_up {
            link.state = LinkState::Closed;
            ctx.msrp_out
                .push_back(MsrpOutput::Close { session, stream });
        }
        for e in events {
            let mirror = session_event(&e);
            ctx.notify(sender.clone(), e);
            if let Some(m) = mirror {
                ctx.notify(Sender::Session(session), m);
            }
        }
        if gave_up {
            let now = ctx.now;
            if let Some(link) = self.link_mut(index) {
                match &mut link.engine {
                    Engine::Chat(c) => c.end(now),
                    Engine::File(f) => f.end(now),
                    Engine::Desktop(d) => d.end(now),
                }
            }
            self.pump_link(ctx, index);
            self.desktop_ended(ctx, index);
        }
    }
}

/// The session-level notification the seed posts for a chat stream's one.
fn session_event(e: &Event) -> Option<Event> {
    Some(match e {
        Event::ChatStreamGotMessage {
            message_id,
            content,
            content_type,
            cpim_headers,
        } => Event::SIPSessionGotMessage {
            message_id: message_id.clone(),
            content: content.clone(),
            content_type: content_type.clone(),
            cpim_headers: cpim_headers.clone(),
        },
        Event::ChatStreamDidDeliverMessage {
            message_id,
            code,
            reason,
        } => Event::SIPSessionDidDeliverMessage {
            message_id: message_id.clone(),
            code: *code,
            reason: reason.clone(),
        },
        Event::ChatStreamDidNotDeliverMessage {
            message_id,
            code,
            reason,
        } => Event::SIPSessionDidNotDeliverMessage {
            message_id: message_id.clone(),
            code: *code,
            reason: reason.clone(),
        },
        _ => return None,
    })
}

impl Session {
    /// Proposes a file-transfer stream sending the file `selector` describes
    /// (ESTABLISHED → PROPOSING, as `add_stream`).
    pub(crate) fn add_file(
        &mut self,
        ctx: &mut Ctx,
        now: Time,
        selector: String,
    ) -> Result<(), Error> {
        self.file_offer = Some(selector);
        let r = self.add_stream(ctx, now, FILE_TRANSFER);
        if r.is_err() {
            self.file_offer = None;
        }
        r
    }

    /// The selector of the file the stream on m-line `index` sends or receives.
    pub fn file_selector(&self, index: usize) -> Option<&FileSelector> {
        self.link(index)?.file().map(FileTransferEngine::selector)
    }

    /// The file transfer of the stream on m-line `index` (progress, result), once its
    /// stream started.
    pub fn file_transfer(&self, index: usize) -> Option<&FileTransferEngine> {
        self.link(index)?.file()
    }
}
