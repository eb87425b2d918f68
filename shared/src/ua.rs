//! The user agent: one account's registration and sessions over one flow to the outbound
//! proxy (the gateway), driven sans-IO.
//!
//! The skeleton speaks over one reliable flow (a WebSocket, RFC 7118), so requests are not
//! retransmitted; Timer B and Timer F (64·T1 = 32 s, RFC 3261 §17.1) still end transactions
//! that never get an answer.

use crate::notification::{Event, Notification, Sender};
use crate::registration::Registration;
use crate::rng::Rng;
use crate::session::Session;
use crate::sip::{CSeq, Message, NameAddr, Uri, Via};
use crate::time::Time;
use core::fmt;
use core::time::Duration;
use std::collections::VecDeque;

/// RFC 3261's T1, the round-trip estimate.
pub const T1: Duration = Duration::from_millis(500);
/// Timer B and Timer F: how long a client transaction waits for a final response.
pub const TRANSACTION_TIMEOUT: Duration = Duration::from_millis(64 * 500);

/// The flow's transport, as written in Via and in the Contact's `transport` parameter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transport {
    /// SIP over WebSocket (RFC 7118).
    Ws,
    /// SIP over secure WebSocket (RFC 7118).
    Wss,
}

impl Transport {
    fn via_name(self) -> &'static str {
        match self {
            Transport::Ws => "WS",
            Transport::Wss => "WSS",
        }
    }
}

/// What the user agent needs to know about its account.
#[derive(Debug, Clone)]
pub struct AccountConfig {
    /// The SIP id, `user@domain`.
    pub id: String,
    /// The display name put in From.
    pub display_name: Option<String>,
    /// The digest password.
    pub password: String,
    /// The digest user name when it differs from the id's user part.
    pub auth_username: Option<String>,
    /// The flow's transport.
    pub transport: Transport,
    /// The registration lifetime asked for, in seconds.
    pub register_expires: u32,
    /// The User-Agent header value.
    pub user_agent: String,
}

impl AccountConfig {
    /// A configuration with the defaults: WebSocket, 600 s registrations.
    pub fn new(id: &str, password: &str) -> AccountConfig {
        AccountConfig {
            id: id.to_string(),
            display_name: None,
            password: password.to_string(),
            auth_username: None,
            transport: Transport::Ws,
            register_expires: 600,
            user_agent: concat!("sipsimple-rs/", env!("CARGO_PKG_VERSION")).to_string(),
        }
    }
}

/// Something the shell must do.
#[derive(Debug, Clone, PartialEq)]
pub enum Output {
    /// Send these bytes as one message on the flow.
    Transmit(Vec<u8>),
    /// Deliver this notification to observers.
    Notification(Notification),
}

/// Why a command was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Error {
    /// The account id is not `user@domain`.
    BadAccountId(String),
    /// The target is not a valid SIP URI.
    BadTarget(String),
    /// No session has this id.
    NoSuchSession(u64),
    /// The command is not allowed in the session's current state.
    InvalidState(&'static str),
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::BadAccountId(s) => write!(f, "account id {s:?} is not user@domain"),
            Error::BadTarget(s) => write!(f, "{s:?} is not a SIP URI or user@domain"),
            Error::NoSuchSession(id) => write!(f, "no session {id}"),
            Error::InvalidState(s) => write!(f, "not allowed in state {s}"),
        }
    }
}

impl std::error::Error for Error {}

/// State shared by the registration and the sessions: identity, randomness, the outbox.
#[derive(Debug)]
pub(crate) struct Ctx {
    pub cfg: AccountConfig,
    pub rng: Rng,
    pub out: VecDeque<Output>,
    /// Our address-of-record, `sip:user@domain`.
    pub aor: Uri,
    /// The `.invalid` host RFC 7118 §5.2 has us put in Via and Contact.
    pub via_host: String,
    /// The Contact URI we register and put in dialogs.
    pub contact: Uri,
}

impl Ctx {
    pub fn branch(&mut self) -> String {
        format!("z9hG4bK{}", self.rng.token(20))
    }

    pub fn via(&self, branch: &str) -> String {
        format!(
            "SIP/2.0/{} {};branch={branch};rport",
            self.cfg.transport.via_name(),
            self.via_host
        )
    }

    pub fn local_party(&self, tag: &str) -> String {
        let mut n = NameAddr::new(self.aor.clone());
        n.display_name.clone_from(&self.cfg.display_name);
        n.set_param("tag", Some(tag));
        n.to_string()
    }

    pub fn auth_username(&self) -> &str {
        self.cfg
            .auth_username
            .as_deref()
            .or(self.aor.user.as_deref())
            .unwrap_or_default()
    }

    pub fn send(&mut self, msg: &Message) {
        self.out.push_back(Output::Transmit(msg.to_bytes()));
    }

    pub fn notify(&mut self, sender: Sender, event: Event) {
        self.out
            .push_back(Output::Notification(Notification { sender, event }));
    }

    pub fn account_sender(&self) -> Sender {
        Sender::Account(self.cfg.id.clone())
    }

    /// A 2xx-or-error response to `req`, with our tag on To when it has none.
    pub fn respond(&mut self, req: &Message, code: u16, reason: &str, to_tag: Option<&str>) {
        let mut r = Message::response_to(req, code, reason);
        if let (Some(tag), Some(to)) = (to_tag, req.header("To")) {
            if let Ok(mut to) = NameAddr::parse(to) {
                if to.tag().is_none() {
                    to.set_param("tag", Some(tag));
                    r.set_header("To", to.to_string());
                }
            }
        }
        r.push_header("Server", self.cfg.user_agent.clone());
        if code == 405 {
            r.push_header("Allow", ALLOW);
        }
        self.send(&r);
    }
}

/// The methods this user agent handles.
pub const ALLOW: &str = "INVITE, ACK, CANCEL, BYE, OPTIONS";

/// One account's user agent. See the crate docs for the drive loop.
#[derive(Debug)]
pub struct UserAgent {
    ctx: Ctx,
    registration: Registration,
    sessions: Vec<Session>,
    next_session: u64,
}

impl UserAgent {
    /// A user agent for `cfg`, with randomness expanded from `seed`.
    pub fn new(cfg: AccountConfig, seed: u64) -> Result<UserAgent, Error> {
        let (user, domain) = cfg
            .id
            .split_once('@')
            .filter(|(u, d)| !u.is_empty() && !d.is_empty())
            .ok_or_else(|| Error::BadAccountId(cfg.id.clone()))?;
        let aor = Uri::parse(&format!("sip:{user}@{domain}"))
            .map_err(|_| Error::BadAccountId(cfg.id.clone()))?;
        let mut rng = Rng::from_seed(seed);
        let via_host = format!("{}.invalid", rng.token(12));
        let mut contact = Uri::sip(Some(&rng.letters(8)), &via_host);
        contact.set_param("transport", Some("ws"));
        let mut ctx = Ctx {
            cfg,
            rng,
            out: VecDeque::new(),
            aor,
            via_host,
            contact,
        };
        let registration = Registration::new(&mut ctx);
        Ok(UserAgent {
            ctx,
            registration,
            sessions: Vec::new(),
            next_session: 1,
        })
    }

    /// The account's address-of-record.
    pub fn aor(&self) -> &Uri {
        &self.ctx.aor
    }

    /// The Contact URI this user agent registers.
    pub fn contact(&self) -> &Uri {
        &self.ctx.contact
    }

    /// Starts registering, and keeps the registration refreshed.
    pub fn register(&mut self, now: Time) {
        self.registration.start(&mut self.ctx, now);
    }

    /// Removes the registration (`Expires: 0`).
    pub fn unregister(&mut self, now: Time) {
        self.registration.stop(&mut self.ctx, now);
    }

    /// Places a call to `target` (`sip:bob@example.com` or `bob@example.com`), offering
    /// `sdp` or, without one, a media-less placeholder offer. Returns the session id.
    pub fn connect(&mut self, now: Time, target: &str, sdp: Option<&str>) -> Result<u64, Error> {
        let target = target.trim();
        let text = if target.contains(':') {
            target.to_string()
        } else {
            format!("sip:{target}")
        };
        let uri = Uri::parse(&text).map_err(|_| Error::BadTarget(target.to_string()))?;
        if uri.scheme != "sip" && uri.scheme != "sips" || uri.host.is_empty() {
            return Err(Error::BadTarget(target.to_string()));
        }
        let id = self.next_session;
        self.next_session += 1;
        let session = Session::connect(&mut self.ctx, now, id, uri, sdp);
        self.sessions.push(session);
        Ok(id)
    }

    /// Ends a session (CANCEL while calling, BYE once established).
    pub fn end(&mut self, now: Time, id: u64) -> Result<(), Error> {
        let s = self
            .sessions
            .iter_mut()
            .find(|s| s.id == id)
            .ok_or(Error::NoSuchSession(id))?;
        s.end(&mut self.ctx, now)
    }

    /// The state of a session, if it still exists.
    pub fn session_state(&self, id: u64) -> Option<crate::notification::SessionState> {
        self.sessions.iter().find(|s| s.id == id).map(|s| s.state)
    }

    /// Feeds one received message (a WebSocket frame).
    pub fn handle_input(&mut self, now: Time, bytes: &[u8]) {
        let Ok(msg) = Message::parse(bytes) else {
            // Nothing can be answered to bytes we cannot read (RFC 3261 §18.3 drops them).
            return;
        };
        if msg.is_request() {
            self.handle_request(now, msg);
        } else {
            self.handle_response(now, msg);
        }
        self.sessions.retain(|s| !s.is_over());
    }

    fn handle_response(&mut self, now: Time, msg: Message) {
        let Some(branch) = msg
            .header("Via")
            .and_then(|v| Via::parse(crate::sip::split_list(v).first()?).ok())
            .and_then(|v| v.branch().map(str::to_string))
        else {
            return;
        };
        let Some(cseq) = msg.header("CSeq").and_then(|c| CSeq::parse(c).ok()) else {
            return;
        };
        if self.registration.owns(&branch) {
            self.registration
                .on_response(&mut self.ctx, now, &msg, &cseq);
        } else if let Some(s) = self.sessions.iter_mut().find(|s| s.owns(&branch)) {
            s.on_response(&mut self.ctx, now, &msg, &cseq);
        }
    }

    fn handle_request(&mut self, now: Time, msg: Message) {
        let method = msg.method().unwrap_or_default().to_string();
        let call_id = msg.header("Call-ID").unwrap_or_default().to_string();
        if let Some(s) = self.sessions.iter_mut().find(|s| s.call_id == call_id) {
            s.on_request(&mut self.ctx, now, &msg);
            return;
        }
        match method.as_str() {
            "ACK" => {}
            "OPTIONS" => {
                let tag = self.ctx.rng.token(10);
                self.ctx.respond(&msg, 200, "OK", Some(&tag));
            }
            "INVITE" => {
                // Incoming sessions arrive with the core issue; say so rather than ring forever.
                let tag = self.ctx.rng.token(10);
                self.ctx
                    .respond(&msg, 480, "Incoming Sessions Not Supported Yet", Some(&tag));
            }
            "BYE" | "CANCEL" => {
                self.ctx
                    .respond(&msg, 481, "Call/Transaction Does Not Exist", None)
            }
            _ => {
                let tag = self.ctx.rng.token(10);
                self.ctx
                    .respond(&msg, 405, "Method Not Allowed", Some(&tag));
            }
        }
    }

    /// Fires every timer due at `now`.
    pub fn handle_timeout(&mut self, now: Time) {
        self.registration.on_timeout(&mut self.ctx, now);
        for s in &mut self.sessions {
            s.on_timeout(&mut self.ctx, now);
        }
        self.sessions.retain(|s| !s.is_over());
    }

    /// The flow closed: pending transactions fail now rather than at their timers.
    pub fn handle_transport_closed(&mut self, now: Time) {
        self.registration.on_transport_closed(&mut self.ctx, now);
        for s in &mut self.sessions {
            s.on_transport_closed(&mut self.ctx, now);
        }
        self.sessions.retain(|s| !s.is_over());
    }

    /// The next thing to do, until `None`.
    pub fn poll_output(&mut self) -> Option<Output> {
        self.ctx.out.pop_front()
    }

    /// When [`handle_timeout`](Self::handle_timeout) must next be called.
    pub fn poll_timeout(&self) -> Option<Time> {
        let sessions = self.sessions.iter().filter_map(Session::next_timeout);
        self.registration
            .next_timeout()
            .into_iter()
            .chain(sessions)
            .min()
    }
}
