//! The context the registration and the sessions share inside a [`UserAgent`](super::UserAgent):
//! identity, randomness, the transaction layer with the owners of its transactions, and the
//! outbox of [`Output`]s in the order they happened.

use super::{AccountConfig, DesktopOutput, DesktopRole, MsrpOutput, Output, ALLOW};
use crate::notification::{Event, Notification, Sender};
use crate::rng::Rng;
use crate::sip::{Message, NameAddr, Uri};
use crate::stream::MediaStreamRegistry;
use crate::time::Time;
use crate::transaction::{
    Config, Dest, Event as TxEvent, Output as TxOutput, TransactionId, TransactionLayer,
};
use crate::vec_map::VecMap;
use std::collections::VecDeque;

/// Who started or received a transaction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Owner {
    Registration,
    Session(u64),
}

/// State shared by the registration and the sessions: identity, randomness, the transaction
/// layer and the outbox.
#[derive(Debug)]
pub(crate) struct Ctx {
    pub cfg: AccountConfig,
    pub rng: Rng,
    pub out: VecDeque<Output>,
    /// Our address-of-record, `sip:user@domain`.
    pub aor: Uri,
    /// Our host for SDP and streams: the configured local address on UDP/TCP/TLS, else the
    /// `.invalid` name RFC 7118 §5.2 has us use.
    pub local_host: String,
    /// Via's sent-by: `host:port` of the local address, or the `.invalid` name.
    pub sent_by: String,
    /// The Contact URI we register and put in dialogs.
    pub contact: Uri,
    /// The RFC 5626 instance id, `urn:uuid:...`.
    pub instance_id: String,
    /// The index of the route in use in `cfg.routes`.
    pub route_index: usize,
    /// A route change the shell has not taken yet.
    pub route_switch: Option<usize>,
    pub layer: TransactionLayer,
    /// The one flow, as the transaction layer sees it.
    pub flow: Dest,
    /// Layer events waiting for their transaction user.
    pub(super) events: VecDeque<TxEvent>,
    pub(super) owners: VecMap<TransactionId, Owner>,
    /// Who is acting: the owner of the client transactions started now.
    pub(super) acting: Option<Owner>,
    /// The stream types sessions negotiate.
    pub registry: MediaStreamRegistry,
    /// What the shell must do for MSRP connections and files, in order.
    pub msrp_out: VecDeque<MsrpOutput>,
    /// The time of the call being handled, for streams acting deep inside a session.
    pub now: Time,
    /// The file selector (`a=file-selector` value) the next offered file-transfer stream
    /// sends, set by `connect_file` for the session it creates.
    pub file_offer: Option<String>,
    /// What the shell's desktop-sharing handlers must do, in order.
    pub desktop_out: VecDeque<DesktopOutput>,
    /// Our role in the desktop-sharing stream offered by `connect_desktop`.
    pub desktop_offer: Option<DesktopRole>,
}

impl Ctx {
    pub fn branch(&mut self) -> String {
        format!("z9hG4bK{}", self.rng.token(20))
    }

    pub fn via(&self, branch: &str) -> String {
        format!(
            "SIP/2.0/{} {};branch={branch};rport",
            self.cfg.transport.kind().via_name(),
            self.sent_by
        )
    }

    /// A top Via with a fresh branch.
    pub fn new_via(&mut self) -> String {
        let branch = self.branch();
        self.via(&branch)
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

    pub fn timers(&self) -> &Config {
        self.layer.config()
    }

    pub fn notify(&mut self, sender: Sender, event: Event) {
        self.out
            .push_back(Output::Notification(Notification { sender, event }));
    }

    pub fn account_sender(&self) -> Sender {
        Sender::Account(self.cfg.id.clone())
    }

    /// Moves the layer's transmissions to the outbox, in order, and queues its events.
    pub fn flush(&mut self) {
        while let Some(o) = self.layer.poll_output() {
            match o {
                TxOutput::Transmit { bytes, .. } => self.out.push_back(Output::Transmit(bytes)),
                TxOutput::Event(e) => self.events.push_back(e),
            }
        }
    }

    /// Starts a client transaction for `req` on the flow, owned by whoever is acting.
    pub fn send_request(&mut self, now: Time, mut req: Message) -> Option<TransactionId> {
        req.push_header("User-Agent", self.cfg.user_agent.clone());
        if req.header("Content-Length").is_none() && req.body.is_empty() {
            req.push_header("Content-Length", "0");
        }
        let flow = self.flow.clone();
        let id = self.layer.send_request(now, flow, req).ok();
        if let (Some(id), Some(owner)) = (id, self.acting) {
            self.owners.insert(id, owner);
        }
        self.flush();
        id
    }

    /// CANCELs INVITE client transaction `invite` (RFC 3261 §9.1).
    pub fn cancel(&mut self, now: Time, invite: TransactionId) -> Option<TransactionId> {
        let id = self.layer.cancel(now, invite).ok();
        if let (Some(id), Some(owner)) = (id, self.acting) {
            self.owners.insert(id, owner);
        }
        self.flush();
        id
    }

    /// Sends `msg` outside transactions: an ACK for a 2xx, a 2xx retransmission.
    pub fn send_stateless(&mut self, msg: &Message) {
        let flow = self.flow.clone();
        self.layer.send_stateless(flow, msg);
        self.flush();
    }

    /// Sends response `resp` on server transaction `tx`, or statelessly once it is gone
    /// (a 2xx retransmitted after Timer L).
    pub fn respond(&mut self, now: Time, tx: TransactionId, mut resp: Message) {
        if resp.header("Server").is_none() {
            resp.push_header("Server", self.cfg.user_agent.clone());
        }
        if resp.code() == Some(405) {
            resp.push_header("Allow", ALLOW);
        }
        if resp.header("Content-Length").is_none() && resp.body.is_empty() {
            resp.push_header("Content-Length", "0");
        }
        let is_2xx = resp.code().is_some_and(|c| (200..300).contains(&c));
        if self.layer.respond(now, tx, resp.clone()).is_err() && is_2xx {
            self.send_stateless(&resp);
        }
        self.flush();
    }

    /// Answers `req` (server transaction `tx`) with `code`, adding `to_tag` to a To without
    /// one.
    pub fn reply(&mut self, now: Time, tx: TransactionId, req: &Message, code: u16, reason: &str) {
        let r = self.response(req, code, reason);
        self.respond(now, tx, r);
    }

    /// A response to `req` outside dialogs: a To tag is added to a To without one.
    pub fn response(&mut self, req: &Message, code: u16, reason: &str) -> Message {
        let mut r = Message::response_to(req, code, reason);
        if code > 100 {
            if let Some(mut to) = req.header("To").and_then(|t| NameAddr::parse(t).ok()) {
                if to.tag().is_none() {
                    let tag = self.rng.token(10);
                    to.set_param("tag", Some(&tag));
                    r.set_header("To", to.to_string());
                }
            }
        }
        r
    }

    /// Marks server transaction `tx` as `owner`'s.
    pub fn own(&mut self, tx: TransactionId, owner: Owner) {
        self.owners.insert(tx, owner);
    }
}
