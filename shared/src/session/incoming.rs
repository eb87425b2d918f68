//! Incoming sessions (RFC 3261 §13.3): the INVITE creates the session and its early dialog
//! (180 Ringing with our tag), `accept` sends the 2xx and retransmits it until the ACK
//! (§13.3.1.4), `reject` sends 486 or 603, a CANCEL from the caller gets 200 and the INVITE
//! 487 (§9.2); then the requests of the dialog (§12.2.2): BYE (§15.1.2), re-INVITE, UPDATE,
//! INFO (RFC 6086, in `info`), OPTIONS.

use super::{streams, Session, SessionDirection};
use crate::dialog::uas::{dialog_response, Retransmitter};
use crate::dialog::{tag_of, Dialog};
use crate::notification::{Event, Originator, SessionState};
use crate::sip::{ContentType, Message, NameAddr};
use crate::time::Time;
use crate::transaction::TransactionId;
use crate::ua::{Ctx, Error, ALLOW};

impl Session {
    /// A new INVITE without To tag: the session, in INCOMING after SIPSessionNewIncoming,
    /// with 180 Ringing sent; `None` when the INVITE was refused (and answered).
    pub(crate) fn incoming(
        ctx: &mut Ctx,
        now: Time,
        id: u64,
        tx: TransactionId,
        invite: &Message,
    ) -> Option<Session> {
        let local_tag = ctx.rng.token(10);
        let bad_type = invite
            .header("Content-Type")
            .and_then(|c| ContentType::parse(c).ok())
            .is_some_and(|c| !c.is("application", "sdp"));
        if bad_type {
            let mut r = dialog_response(
                invite,
                415,
                "Unsupported Media Type",
                &local_tag,
                &ctx.contact,
            );
            r.push_header("Accept", "application/sdp");
            ctx.respond(now, tx, r);
            return None;
        }
        let Ok(dialog) = Dialog::uas(invite, &local_tag, ctx.contact.clone()) else {
            let r = dialog_response(
                invite,
                400,
                "Bad Request (Contact, From or CSeq)",
                &local_tag,
                &ctx.contact,
            );
            ctx.respond(now, tx, r);
            return None;
        };
        let remote_uri = invite
            .header("From")
            .and_then(|f| NameAddr::parse(f).ok())
            .map(|f| f.uri)
            .unwrap_or_else(|| dialog.remote_target().clone());
        let mut s = Session::new(id, SessionDirection::Incoming, ctx.aor.clone(), remote_uri);
        s.call_id = dialog.id().call_id.clone();
        s.local_tag = local_tag;
        s.remote_tag = Some(dialog.id().remote_tag.clone());
        s.invite_tx = Some(tx);
        s.invite = Some(invite.clone());
        s.learn_user_agent(invite);
        let streams = if invite.body.is_empty() {
            // An offer-less INVITE: we offer in the 2xx (RFC 3261 §13.3.1.1), audio.
            vec!["audio".to_string()]
        } else {
            let offer = String::from_utf8_lossy(&invite.body).into_owned();
            let streams = streams::names_of(&ctx.registry, &offer);
            s.media.remote = Some(offer);
            streams
        };
        let ringing = dialog.response(invite, 180, "Ringing");
        s.dialog = Some(dialog);
        s.notify(ctx, Event::SIPSessionNewIncoming { streams });
        s.set_state(ctx, SessionState::Incoming);
        ctx.respond(now, tx, ringing);
        Some(s)
    }

    /// The seed's `accept`: INCOMING → ACCEPTING, the 2xx with our answer (or, to an
    /// offer-less INVITE, our offer), SIPSessionWillStart; DidStart follows the ACK.
    ///
    /// Without `sdp_answer` the answer takes the offered streams of the types in `accept`
    /// (`None`: every proposed stream of a registered type), each of which must have been
    /// proposed; to an offer-less INVITE we offer those types (`None`: audio).
    pub(crate) fn accept(
        &mut self,
        ctx: &mut Ctx,
        now: Time,
        sdp_answer: Option<&str>,
        accept: Option<&[&str]>,
    ) -> Result<(), Error> {
        if self.state != SessionState::Incoming {
            return Err(Error::InvalidState(self.state.name()));
        }
        let (Some(tx), Some(invite)) = (self.invite_tx, self.invite.clone()) else {
            return Err(Error::InvalidState(self.state.name()));
        };
        if let (Some(types), Some(offer)) = (accept, self.media.remote.as_deref()) {
            let proposed = streams::names_of(&ctx.registry, offer);
            if let Some(t) = types.iter().find(|t| !proposed.iter().any(|p| p == *t)) {
                return Err(Error::StreamNotProposed(t.to_string()));
            }
        }
        if accept.is_some_and(<[&str]>::is_empty) {
            return Err(Error::NoStreams);
        }
        let all = ctx.registry.types();
        let sdp = match (self.media.remote.clone(), sdp_answer) {
            (_, Some(given)) => Some(given.to_string()),
            (Some(offer), None) => self.initial_answer(ctx, &offer, accept.unwrap_or(&all)),
            (None, None) => {
                Some(self.initial_offer(ctx, accept.unwrap_or(&[crate::stream::AUDIO])))
            }
        };
        let Some(sdp) = sdp else {
            // An offer we cannot read, and no answer from the shell: refuse it.
            if let Some(d) = self.dialog.as_ref() {
                let r = d.response(&invite, 488, "Not Acceptable Here");
                ctx.respond(now, tx, r);
            }
            self.fail(ctx, now, Originator::Local, 488, "Not Acceptable Here");
            return Ok(());
        };
        self.offer_in_2xx = self.media.remote.is_none();
        self.media.set_initial_local(sdp.clone());
        self.set_state(ctx, SessionState::Accepting);
        let Some(dialog) = self.dialog.as_mut() else {
            return Ok(());
        };
        let mut ok = dialog.response(&invite, 200, "OK");
        ok.push_header("Allow", ALLOW);
        ok.set_body("application/sdp", sdp.into_bytes());
        dialog.confirm();
        dialog.invite_in_done();
        ctx.respond(now, tx, ok.clone());
        self.retransmit = Some((tx, Retransmitter::new(now, ok, ctx.timers())));
        self.notify(ctx, Event::SIPSessionWillStart {});
        Ok(())
    }

    /// The seed's `reject`: SIPSessionWillEnd, INCOMING → TERMINATING, 486 or 603,
    /// TERMINATED, SIPSessionDidEnd.
    pub(crate) fn reject(&mut self, ctx: &mut Ctx, now: Time, busy: bool) -> Result<(), Error> {
        if self.state != SessionState::Incoming {
            return Err(Error::InvalidState(self.state.name()));
        }
        self.notify(ctx, Event::SIPSessionWillEnd {});
        self.set_state(ctx, SessionState::Terminating);
        let (code, reason) = if busy {
            (486, "Busy Here")
        } else {
            (603, "Decline")
        };
        self.answer_invite(ctx, now, code, reason);
        self.terminate(ctx, now, Originator::Local);
        Ok(())
    }

    /// Sends a final non-2xx to the initial INVITE.
    fn answer_invite(&mut self, ctx: &mut Ctx, now: Time, code: u16, reason: &str) {
        if let (Some(tx), Some(invite), Some(d)) = (self.invite_tx, &self.invite, &self.dialog) {
            let r = d.response(invite, code, reason);
            ctx.respond(now, tx, r);
        }
    }

    /// A CANCEL for INVITE server transaction `invite_tx` (RFC 3261 §9.2): 200 for the
    /// CANCEL; while INCOMING, 487 for the INVITE and the session fails.
    pub(crate) fn on_cancel(
        &mut self,
        ctx: &mut Ctx,
        now: Time,
        cancel_tx: TransactionId,
        invite_tx: TransactionId,
        cancel: &Message,
    ) {
        let ok = dialog_response(cancel, 200, "OK", &self.local_tag, &ctx.contact);
        ctx.respond(now, cancel_tx, ok);
        if self.state == SessionState::Incoming && Some(invite_tx) == self.invite_tx {
            self.answer_invite(ctx, now, 487, "Request Terminated");
            self.fail(ctx, now, Originator::Remote, 487, "Request Terminated");
        } else if self.state == SessionState::Proposed && self.is_proposal_tx(invite_tx) {
            // The peer withdrew its proposal.
            self.close_remote_proposal(ctx, now, 487, "Request Terminated");
            self.set_state(ctx, SessionState::Established);
            self.notify(
                ctx,
                Event::SIPSessionRejectedStreamProposal {
                    proposer: Originator::Remote,
                    reason: "Request Terminated".to_string(),
                },
            );
        }
    }

    /// An ACK for one of our 2xx: the session starts (or, after `end` while accepting,
    /// hangs up), or a re-INVITE completes.
    pub(crate) fn on_ack(&mut self, ctx: &mut Ctx, now: Time, ack: &Message) {
        if tag_of(ack, "From").as_deref() != self.remote_tag.as_deref() {
            return;
        }
        if !self
            .retransmit
            .as_ref()
            .is_some_and(|(_, r)| r.is_acked_by(ack))
        {
            return;
        }
        self.retransmit = None;
        if self.offer_in_2xx {
            self.offer_in_2xx = false;
            if !ack.body.is_empty() {
                self.media.remote = Some(String::from_utf8_lossy(&ack.body).into_owned());
            }
        }
        match self.state {
            SessionState::Accepting => self.established(ctx, now),
            SessionState::Terminating if self.bye_after_ack => {
                self.bye_after_ack = false;
                self.send_bye(ctx, now);
                if self.bye_tx.is_none() {
                    self.terminate(ctx, now, Originator::Local);
                }
            }
            SessionState::Established => self.sync_hold(ctx, now),
            _ => {}
        }
    }

    /// A request in our dialog (RFC 3261 §12.2.2).
    pub(crate) fn on_request(
        &mut self,
        ctx: &mut Ctx,
        now: Time,
        tx: TransactionId,
        msg: &Message,
    ) {
        let from_tag = tag_of(msg, "From");
        let check = match self.dialog.as_mut() {
            Some(d) if from_tag.as_deref() == Some(d.id().remote_tag.as_str()) => {
                Some(d.receive(msg))
            }
            _ => None,
        };
        let Some(check) = check else {
            ctx.reply(now, tx, msg, 481, "Call/Transaction Does Not Exist");
            return;
        };
        if let Err(rejection) = check {
            let retry_after = (ctx.rng.next_u64() % 11) as u32;
            ctx.respond(now, tx, rejection.response(msg, retry_after));
            return;
        }
        self.learn_user_agent(msg);
        match msg.method().unwrap_or_default() {
            "BYE" => self.on_bye(ctx, now, tx, msg),
            "INVITE" => self.on_reinvite(ctx, now, tx, msg),
            "UPDATE" => self.on_update(ctx, now, tx, msg),
            "INFO" => self.on_info(ctx, now, tx, msg),
            "OPTIONS" => {
                let mut r = self.in_dialog_response(ctx, msg, 200, "OK");
                r.push_header("Allow", ALLOW);
                r.push_header("Accept", "application/sdp");
                ctx.respond(now, tx, r);
            }
            _ => {
                let r = self.in_dialog_response(ctx, msg, 405, "Method Not Allowed");
                ctx.respond(now, tx, r);
            }
        }
    }

    pub(super) fn in_dialog_response(
        &self,
        ctx: &Ctx,
        req: &Message,
        code: u16,
        reason: &str,
    ) -> Message {
        match &self.dialog {
            Some(d) => d.response(req, code, reason),
            None => dialog_response(req, code, reason, &self.local_tag, &ctx.contact),
        }
    }

    /// BYE (RFC 3261 §15.1.2): 200, and the session ends; while INCOMING (a BYE on the
    /// early dialog) the INVITE gets 487 and the session fails.
    fn on_bye(&mut self, ctx: &mut Ctx, now: Time, tx: TransactionId, bye: &Message) {
        let ok = self.in_dialog_response(ctx, bye, 200, "OK");
        ctx.respond(now, tx, ok);
        // A proposal of the peer's still waiting ends with the dialog.
        self.close_remote_proposal(ctx, now, 487, "Request Terminated");
        match self.state {
            SessionState::Incoming => {
                self.answer_invite(ctx, now, 487, "Request Terminated");
                self.fail(ctx, now, Originator::Remote, 487, "Request Terminated");
            }
            // Our own BYE (or CANCEL) crossed theirs: the application ended first.
            SessionState::Terminating => self.terminate(ctx, now, Originator::Local),
            _ => self.terminate(ctx, now, Originator::Remote),
        }
    }
}
