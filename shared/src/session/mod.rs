//! The Session of the seed's middleware API (RFC 3261 §13-§15, RFC 3264): outgoing sessions
//! (INVITE with digest retry, ringing, CANCEL, forks), incoming ones (ringing, accept, reject,
//! CANCEL from the caller), hold and unhold by re-INVITE on either side with glare handling
//! (§14.1), BYE both ways, and the seed's notifications in the seed's order.
//!
//! The rules the notifications follow:
//! - `SIPSessionChangedState` on every state change, with the previous state;
//! - `SIPSessionNewOutgoing`/`SIPSessionNewIncoming` before the session's first state change;
//! - `SIPSessionWillStart` once the final 2xx is received (before the ACK) or sent (before
//!   the ACK arrives), `SIPSessionDidStart` after the change to ESTABLISHED;
//! - `SIPSessionWillEnd` only when the application ends the session (`end`, `reject`);
//! - `SIPSessionDidFail` always just before the change to TERMINATED and `SIPSessionDidEnd`,
//!   which is always the last notification of a session.
//! - a recording in progress stops (`SIPSessionWillStopRecordingAudio`, `DidStop…`) before
//!   a session's `SIPSessionDidFail` or its change to TERMINATED.
//!
//! The files: `outgoing` (connect, INVITE responses, CANCEL), `incoming` (new INVITE,
//! accept, reject, in-dialog requests), `reinvite` (hold, unhold, the peer's re-offers,
//! glare), `media` (the descriptions) and `info` (DTMF and recording control by INFO).

mod audio;
mod desktop;
mod incoming;
mod info;
mod media;
mod msrp;
mod outgoing;
mod reinvite;
mod streams;

use crate::dialog::uac::ForkSet;
use crate::dialog::uas::{Retransmit, Retransmitter};
use crate::dialog::{tag_of, Dialog};
use crate::notification::{Event, Originator, Sender, SessionState};
use crate::sip::{Message, Uri};
use crate::time::Time;
use crate::transaction::TransactionId;
use crate::ua::{Ctx, Error};
pub use info::{
    dtmf_digit, parse_dtmf, parse_dtmf_relay, DTMF, DTMF_DURATION, DTMF_RELAY, INFO_ACCEPT,
    MAX_PENDING_INFO, MEDIA_EVENT, RECORDING,
};
pub(crate) use info::{dtmf_of, is_media_event, media_event_of, parse_target_dialog};
use info::{InfoKind, RecordingState};
use media::Media;
use serde::Serialize;
use std::collections::VecDeque;
use streams::{RemoteProposal, Slot};

/// Which way the session's initial INVITE went (the seed's `direction` attribute).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum SessionDirection {
    /// The peer called us.
    Incoming,
    /// We called the peer.
    Outgoing,
}

/// How a transaction failed without a response.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Failure {
    /// Timer B, C, F or H.
    Timeout,
    /// The flow failed.
    Transport,
}

impl Failure {
    fn code_reason(self) -> (u16, &'static str) {
        match self {
            Failure::Timeout => (408, "Request Timeout"),
            Failure::Transport => (0, "Transport error"),
        }
    }
}

/// What one of our re-INVITEs changes.
#[derive(Debug)]
enum Change {
    /// Hold (`true`) or unhold.
    Hold(bool),
    /// A stream proposal: the streams on their m-lines.
    Add(Vec<(usize, Box<dyn crate::stream::MediaStream>)>),
    /// Streams disabled.
    Remove,
}

/// Our re-INVITE in progress.
#[derive(Debug)]
struct ReInvite {
    tx: TransactionId,
    seq: u32,
    offer: String,
    change: Change,
}

/// A session: the seed's `Session` object, read through [`crate::UserAgent::session`].
#[derive(Debug)]
pub struct Session {
    id: u64,
    state: SessionState,
    direction: SessionDirection,
    start_time: Option<Time>,
    stop_time: Option<Time>,
    remote_user_agent: Option<String>,
    /// `SIPSessionGotNoAudio` was posted (once per session, whoever noticed).
    no_audio_reported: bool,
    /// The outbound proxy in use when `connect` was called (the seed's `route`).
    route: Option<crate::settings::Route>,
    local_uri: Uri,
    remote_uri: Uri,
    call_id: String,
    local_tag: String,
    /// The peer's tag once known: From of an incoming INVITE, To of the 2xx that confirmed.
    remote_tag: Option<String>,
    dialog: Option<Dialog>,
    forks: Option<ForkSet>,
    /// The initial INVITE's transaction (client or server).
    invite_tx: Option<TransactionId>,
    /// The initial INVITE received (incoming sessions).
    invite: Option<Message>,
    got_provisional: bool,
    cancel_pending: bool,
    bye_tx: Option<TransactionId>,
    reinvite: Option<ReInvite>,
    /// Our 2xx to an INVITE waiting for its ACK, and its server transaction.
    retransmit: Option<(TransactionId, Retransmitter)>,
    media: Media,
    on_hold_by_local: bool,
    on_hold_by_remote: bool,
    /// What the application asked for with hold/unhold; re-INVITEs bring the two together.
    want_hold: bool,
    glare_retry: Option<Time>,
    /// Gives up on a CANCELled INVITE that never completes (64·T1 after the CANCEL).
    deadline: Option<Time>,
    /// Nonces already answered on the INVITE (one answer per nonce).
    nonces: Vec<String>,
    /// `end` was called while accepting: BYE once the ACK arrives (RFC 3261 §15).
    bye_after_ack: bool,
    /// Our 2xx to an offer-less re-INVITE carried an offer: the answer comes in the ACK.
    offer_in_2xx: bool,
    /// The stream objects, by m-line of our description.
    streams: Vec<Option<Slot>>,
    /// The streams in effect: m-line and type.
    active_streams: Vec<(usize, String)>,
    /// Streams made so far (for unique stream ids).
    stream_seq: u32,
    /// The stream types of our proposal while PROPOSING.
    want_add: Vec<&'static str>,
    /// The stream types the application removes.
    want_remove: Vec<&'static str>,
    /// The peer's proposal while PROPOSED.
    proposal: Option<RemoteProposal>,
    /// Our INFO on its way (one at a time per dialog) and what it carries.
    info: Option<(TransactionId, InfoKind)>,
    /// The INFOs waiting for their turn.
    info_queue: VecDeque<InfoKind>,
    /// The in-dialog OPTIONS checking the dialog after the flow came back.
    probe: Option<TransactionId>,
    /// Where the recording of the audio stands.
    recording: RecordingState,
    /// The `a=file-selector` of the file our next offered file-transfer stream sends.
    file_offer: Option<String>,
    /// Our role in the desktop-sharing stream our next offer proposes (`add_desktop`).
    desktop_offer: Option<crate::ua::DesktopRole>,
}

impl Session {
    fn new(id: u64, direction: SessionDirection, local_uri: Uri, remote_uri: Uri) -> Session {
        Session {
            id,
            state: SessionState::Null,
            direction,
            start_time: None,
            stop_time: None,
            remote_user_agent: None,
            no_audio_reported: false,
            route: None,
            local_uri,
            remote_uri,
            call_id: String::new(),
            local_tag: String::new(),
            remote_tag: None,
            dialog: None,
            forks: None,
            invite_tx: None,
            invite: None,
            got_provisional: false,
            cancel_pending: false,
            bye_tx: None,
            reinvite: None,
            retransmit: None,
            media: Media::default(),
            on_hold_by_local: false,
            on_hold_by_remote: false,
            want_hold: false,
            glare_retry: None,
            deadline: None,
            nonces: Vec::new(),
            bye_after_ack: false,
            offer_in_2xx: false,
            streams: Vec::new(),
            active_streams: Vec::new(),
            stream_seq: 0,
            want_add: Vec::new(),
            want_remove: Vec::new(),
            proposal: None,
            info: None,
            info_queue: VecDeque::new(),
            probe: None,
            recording: RecordingState::Idle,
            file_offer: None,
            desktop_offer: None,
        }
    }

    /// The id the user agent gave the session (the `sender` of its notifications).
    pub fn id(&self) -> u64 {
        self.id
    }

    /// The seed's `state`.
    pub fn state(&self) -> SessionState {
        self.state
    }

    /// The seed's `direction`.
    pub fn direction(&self) -> SessionDirection {
        self.direction
    }

    /// When the session reached ESTABLISHED (the seed's `start_time`), on the shell's clock.
    pub fn start_time(&self) -> Option<Time> {
        self.start_time
    }

    /// When the session reached TERMINATED (the seed's `stop_time`).
    pub fn stop_time(&self) -> Option<Time> {
        self.stop_time
    }

    /// The peer's User-Agent or Server header, once seen.
    pub fn remote_user_agent(&self) -> Option<&str> {
        self.remote_user_agent.as_deref()
    }

    /// The seed's `route`: the outbound proxy ([`crate::ua::AccountConfig::routes`]) in use
    /// when `connect` placed this session; `None` for an incoming session, or without
    /// configured routes (the shell's one flow).
    pub fn route(&self) -> Option<&crate::settings::Route> {
        self.route.as_ref()
    }

    /// Our URI: the account's address-of-record.
    pub fn local_uri(&self) -> &Uri {
        &self.local_uri
    }

    /// The peer's URI: the target called, or the caller's From.
    pub fn remote_uri(&self) -> &Uri {
        &self.remote_uri
    }

    /// The calling party's URI.
    pub fn caller_uri(&self) -> &Uri {
        match self.direction {
            SessionDirection::Outgoing => &self.local_uri,
            SessionDirection::Incoming => &self.remote_uri,
        }
    }

    /// The called party's URI.
    pub fn callee_uri(&self) -> &Uri {
        match self.direction {
            SessionDirection::Outgoing => &self.remote_uri,
            SessionDirection::Incoming => &self.local_uri,
        }
    }

    /// Whether we put the session on hold.
    pub fn on_hold_by_local(&self) -> bool {
        self.on_hold_by_local
    }

    /// Whether the peer put the session on hold.
    pub fn on_hold_by_remote(&self) -> bool {
        self.on_hold_by_remote
    }

    /// Whether either side put the session on hold.
    pub fn on_hold(&self) -> bool {
        self.on_hold_by_local || self.on_hold_by_remote
    }

    /// Our SDP in effect: the offer or answer we sent last that took effect.
    pub fn local_sdp(&self) -> Option<&str> {
        self.media.local.as_deref()
    }

    /// The peer's SDP in effect (for an incoming session, its offer until `accept`).
    pub fn remote_sdp(&self) -> Option<&str> {
        self.media.remote.as_deref()
    }

    /// The Call-ID.
    pub fn call_id(&self) -> &str {
        &self.call_id
    }

    /// Our tag in the session's dialog (RFC 4538's `local-tag` of a `Target-Dialog` sent to
    /// us).
    pub fn local_tag(&self) -> &str {
        &self.local_tag
    }

    /// The peer's tag in the session's dialog, once known.
    pub fn remote_tag(&self) -> Option<&str> {
        self.remote_tag.as_deref()
    }

    pub(crate) fn is_over(&self) -> bool {
        self.state == SessionState::Terminated
    }

    /// Whether a request with a To tag belongs to this session: same Call-ID, our tag.
    pub(crate) fn matches_request(&self, req: &Message) -> bool {
        req.header("Call-ID").map(str::trim) == Some(self.call_id.as_str())
            && tag_of(req, "To").as_deref() == Some(self.local_tag.as_str())
    }

    fn notify(&self, ctx: &mut Ctx, event: Event) {
        ctx.notify(Sender::Session(self.id), event);
    }

    fn set_state(&mut self, ctx: &mut Ctx, state: SessionState) {
        if self.state != state {
            let prev_state = self.state;
            self.state = state;
            self.notify(ctx, Event::SIPSessionChangedState { prev_state, state });
        }
    }

    fn established(&mut self, ctx: &mut Ctx, now: Time) {
        self.start_time = Some(now);
        self.set_state(ctx, SessionState::Established);
        self.notify(ctx, Event::SIPSessionDidStart {});
        self.sync_streams(ctx);
    }

    fn terminate(&mut self, ctx: &mut Ctx, now: Time, originator: Originator) {
        if self.is_over() {
            return;
        }
        self.retransmit = None;
        self.glare_retry = None;
        self.deadline = None;
        self.want_add.clear();
        self.want_remove.clear();
        self.proposal = None;
        self.end_recording(ctx);
        self.end_streams(ctx);
        self.stop_time = Some(now);
        self.set_state(ctx, SessionState::Terminated);
        self.notify(ctx, Event::SIPSessionDidEnd { originator });
    }

    fn fail(&mut self, ctx: &mut Ctx, now: Time, originator: Originator, code: u16, reason: &str) {
        if self.is_over() {
            return;
        }
        // The recording and the streams end before the session's last notifications.
        self.end_recording(ctx);
        self.end_streams(ctx);
        self.notify(
            ctx,
            Event::SIPSessionDidFail {
                originator,
                code,
                reason: reason.to_string(),
            },
        );
        self.terminate(ctx, now, originator);
    }

    /// Fails an established dialog, hanging up with a BYE whose outcome nobody waits for.
    fn fail_with_bye(
        &mut self,
        ctx: &mut Ctx,
        now: Time,
        originator: Originator,
        code: u16,
        reason: &str,
    ) {
        self.send_bye(ctx, now);
        self.fail(ctx, now, originator, code, reason);
    }

    fn send_bye(&mut self, ctx: &mut Ctx, now: Time) {
        let via = ctx.new_via();
        if let Some(d) = self.dialog.as_mut() {
            let bye = d.request("BYE", via);
            self.bye_tx = ctx.send_request(now, bye);
        }
    }

    fn learn_user_agent(&mut self, msg: &Message) {
        let value = if msg.is_request() {
            msg.header("User-Agent")
        } else {
            msg.header("Server").or(msg.header("User-Agent"))
        };
        if let Some(v) = value {
            self.remote_user_agent = Some(v.to_string());
        }
    }

    /// The seed's `end`: allowed while CALLING, INCOMING, ACCEPTING or ESTABLISHED.
    pub(crate) fn end(&mut self, ctx: &mut Ctx, now: Time) -> Result<(), Error> {
        match self.state {
            SessionState::Calling => {
                self.notify(ctx, Event::SIPSessionWillEnd {});
                self.set_state(ctx, SessionState::Terminating);
                if self.got_provisional {
                    self.send_cancel(ctx, now);
                } else {
                    // CANCEL may only follow a provisional response (RFC 3261 §9.1).
                    self.cancel_pending = true;
                }
                Ok(())
            }
            SessionState::Incoming => self.reject(ctx, now, false),
            SessionState::Accepting => {
                self.notify(ctx, Event::SIPSessionWillEnd {});
                self.set_state(ctx, SessionState::Terminating);
                // The callee may not BYE before the ACK or its timeout (RFC 3261 §15).
                self.bye_after_ack = true;
                Ok(())
            }
            SessionState::Established | SessionState::Proposing | SessionState::Proposed => {
                // A proposal of the peer's still waiting is refused first.
                self.close_remote_proposal(ctx, now, 487, "Request Terminated");
                self.notify(ctx, Event::SIPSessionWillEnd {});
                self.set_state(ctx, SessionState::Terminating);
                self.glare_retry = None;
                self.send_bye(ctx, now);
                if self.bye_tx.is_none() {
                    self.terminate(ctx, now, Originator::Local);
                }
                Ok(())
            }
            other => Err(Error::InvalidState(other.name())),
        }
    }

    /// A response on one of our client transactions; `false` when the session has no use
    /// for it (the user agent then treats a 2xx to an INVITE as an orphan).
    pub(crate) fn on_response(
        &mut self,
        ctx: &mut Ctx,
        now: Time,
        tx: TransactionId,
        msg: &Message,
    ) -> bool {
        let Some(code) = msg.code() else { return true };
        if self.is_over() {
            // Only the INVITE's 2xx still matter: ACK them (and hang up a late one).
            if Some(tx) == self.invite_tx && (200..300).contains(&code) {
                self.on_invite_response(ctx, now, msg, code);
                return true;
            }
            return false;
        }
        if Some(tx) == self.invite_tx {
            self.on_invite_response(ctx, now, msg, code);
        } else if self.reinvite.as_ref().is_some_and(|r| r.tx == tx) {
            self.on_reinvite_response(ctx, now, msg, code);
        } else if self.is_info_tx(tx) {
            self.on_info_response(ctx, now, msg, code);
        } else if Some(tx) == self.probe {
            if code >= 200 {
                self.probe = None;
                self.on_probe_answer(ctx, now, code, msg.reason());
            }
        } else if Some(tx) == self.bye_tx {
            if code >= 200 && self.state == SessionState::Terminating {
                self.terminate(ctx, now, Originator::Local);
            }
        } else if (200..300).contains(&code) {
            // A retransmitted 2xx to an earlier re-INVITE: our ACK was lost.
            let seq = crate::dialog::cseq_of(msg)
                .filter(|c| c.method == "INVITE")
                .map(|c| c.seq);
            let ack = seq.and_then(|s| self.dialog.as_ref()?.ack_again(s).cloned());
            match ack {
                Some(ack) => ctx.send_stateless(&ack),
                None => return false,
            }
        }
        true
    }

    /// A client or server transaction failed without a response (Timer B, F, H, a flow
    /// error).
    pub(crate) fn on_failure(
        &mut self,
        ctx: &mut Ctx,
        now: Time,
        tx: TransactionId,
        failure: Failure,
    ) {
        let (code, reason) = failure.code_reason();
        if Some(tx) == self.invite_tx {
            match self.state {
                SessionState::Calling | SessionState::Incoming | SessionState::Accepting => {
                    self.fail(ctx, now, Originator::Local, code, reason)
                }
                SessionState::Terminating => self.terminate(ctx, now, Originator::Local),
                _ => {}
            }
        } else if self.reinvite.as_ref().is_some_and(|r| r.tx == tx) {
            // An in-dialog request timed out: the dialog is gone (RFC 3261 §12.2.1.2).
            self.reinvite = None;
            self.fail_with_bye(ctx, now, Originator::Local, code, reason);
        } else if self.is_info_tx(tx) {
            self.on_info_failure(ctx, now, failure);
        } else if Some(tx) == self.probe {
            self.probe = None;
            // A flow that broke again is the flow logic's business; no answer at all means
            // the route set leads nowhere any more.
            if matches!(failure, Failure::Timeout) {
                self.on_probe_answer(ctx, now, code, reason);
            }
        } else if Some(tx) == self.bye_tx && self.state == SessionState::Terminating {
            self.terminate(ctx, now, Originator::Local);
        }
    }

    /// The flow came back after a drop with RFC 5626 outbound (the session was kept): an
    /// in-dialog OPTIONS checks that the dialog still reaches the peer through its route
    /// set, which names the edge proxy the old flow went through. When that proxy went away
    /// with the flow (a gateway node that died), the session ends with a reason that says so
    /// rather than going on silently.
    pub(crate) fn on_flow_recovered(&mut self, ctx: &mut Ctx, now: Time) {
        if self.state != SessionState::Established || self.probe.is_some() {
            return;
        }
        let via = ctx.new_via();
        let Some(d) = self.dialog.as_mut() else {
            return;
        };
        let options = d.request("OPTIONS", via);
        self.probe = ctx.send_request(now, options);
    }

    /// The answer to the dialog check: 481 (the peer lost the dialog), 408 or 430 (Flow
    /// Failed: the route is broken) end the session, RFC 5057 §5.1; anything else — a 200,
    /// a 405 from a peer without OPTIONS — shows the dialog alive.
    fn on_probe_answer(&mut self, ctx: &mut Ctx, now: Time, code: u16, reason: &str) {
        let lost = format!("The call was lost with the connection to the server ({code} {reason})");
        match code {
            481 => self.fail(ctx, now, Originator::Local, code, &lost),
            408 | 430 => self.fail_with_bye(ctx, now, Originator::Local, code, &lost),
            _ => {}
        }
    }

    /// The flow closed: whatever is left of the session fails.
    pub(crate) fn on_transport_closed(&mut self, ctx: &mut Ctx, now: Time) {
        match self.state {
            SessionState::Terminated => {}
            SessionState::Terminating => self.terminate(ctx, now, Originator::Local),
            _ => self.fail(ctx, now, Originator::Local, 0, "Transport closed"),
        }
    }

    pub(crate) fn next_timeout(&self) -> Option<Time> {
        let retransmit = self.retransmit.as_ref().map(|(_, r)| r.poll_timeout());
        [
            retransmit,
            self.glare_retry,
            self.deadline,
            self.msrp_next_timeout(),
        ]
        .into_iter()
        .flatten()
        .min()
    }

    pub(crate) fn on_timeout(&mut self, ctx: &mut Ctx, now: Time) {
        if self.is_over() {
            return;
        }
        if let Some((tx, r)) = self.retransmit.as_mut() {
            let tx = *tx;
            match r.on_timeout(now) {
                Retransmit::Nothing => {}
                Retransmit::Resend => {
                    let resp = r.response().clone();
                    ctx.respond(now, tx, resp);
                }
                Retransmit::GiveUp => {
                    self.retransmit = None;
                    self.on_no_ack(ctx, now);
                }
            }
        }
        if self.glare_retry.is_some_and(|t| now >= t) {
            self.glare_retry = None;
            self.sync_hold(ctx, now);
        }
        if self.deadline.is_some_and(|t| now >= t) {
            self.deadline = None;
            if self.state == SessionState::Terminating {
                self.terminate(ctx, now, Originator::Local);
            }
        }
        self.msrp_timeout(ctx, now);
    }

    /// 64·T1 without the ACK for our 2xx: the session ends with a BYE (RFC 3261 §13.3.1.4).
    fn on_no_ack(&mut self, ctx: &mut Ctx, now: Time) {
        self.offer_in_2xx = false;
        match self.state {
            SessionState::Terminating if self.bye_after_ack => {
                self.bye_after_ack = false;
                self.send_bye(ctx, now);
                if self.bye_tx.is_none() {
                    self.terminate(ctx, now, Originator::Local);
                }
            }
            SessionState::Accepting
            | SessionState::Established
            | SessionState::Proposing
            | SessionState::Proposed => {
                self.fail_with_bye(ctx, now, Originator::Local, 408, "No ACK received")
            }
            _ => {}
        }
    }
}
