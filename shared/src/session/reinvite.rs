//! Hold and unhold (RFC 3264 §8.4, RFC 6337 §5.3) by re-INVITE (RFC 3261 §14): our
//! re-offers with the failure rules of §14.1 (a non-2xx keeps the session as it was, 408 and
//! 481 end it, 491 retries after a random delay), and the peer's re-offers by re-INVITE or
//! UPDATE (RFC 3311) answered at once, with the hold they announce.

use super::streams::Sent;
use super::{media, Change, Session};
use crate::dialog::uas::Retransmitter;
use crate::dialog::Role;
use crate::notification::{Event, Originator, SessionState};
use crate::sip::Message;
use crate::time::Time;
use crate::transaction::TransactionId;
use crate::ua::{Ctx, Error, ALLOW};
use core::time::Duration;

impl Session {
    /// The seed's `hold` (`hold == true`) and `unhold`: allowed while ESTABLISHED. The
    /// re-INVITE goes now, or once the INVITE transaction in progress (either way) ends.
    pub(crate) fn hold(&mut self, ctx: &mut Ctx, now: Time, hold: bool) -> Result<(), Error> {
        if self.state != SessionState::Established {
            return Err(Error::InvalidState(self.state.name()));
        }
        if self.media.local_sd().is_none() {
            return Err(Error::InvalidState(
                "ESTABLISHED without a parsable local SDP",
            ));
        }
        self.want_hold = hold;
        self.sync_hold(ctx, now);
        Ok(())
    }

    /// Sends the re-INVITE that brings our hold state to what the application wants, when
    /// no INVITE is in progress in the dialog (§14.1) and no glare retry is waiting.
    ///
    /// The same goes for our stream proposal (first, while PROPOSING) and removals (next).
    pub(super) fn sync_hold(&mut self, ctx: &mut Ctx, now: Time) {
        if self.reinvite.is_some()
            || self.glare_retry.is_some()
            || self.retransmit.is_some()
            || self.proposal.is_some()
        {
            return;
        }
        match self.state {
            SessionState::Proposing if !self.want_add.is_empty() => {
                self.send_proposal(ctx, now);
                return;
            }
            SessionState::Established if !self.want_remove.is_empty() => {
                self.send_removal(ctx, now);
                return;
            }
            SessionState::Established => {}
            _ => return,
        }
        if self.want_hold == self.on_hold_by_local {
            return;
        }
        let Some(offer) = self.media.reoffer(self.want_hold) else {
            self.want_hold = self.on_hold_by_local;
            return;
        };
        let hold = self.want_hold;
        if self.send_reinvite(ctx, now, offer, Change::Hold(hold)) == Sent::Failed {
            self.want_hold = self.on_hold_by_local;
        }
    }

    pub(super) fn on_reinvite_response(
        &mut self,
        ctx: &mut Ctx,
        now: Time,
        msg: &Message,
        code: u16,
    ) {
        if code < 200 {
            return;
        }
        let Some(r) = self.reinvite.take() else {
            return;
        };
        if let Some(d) = self.dialog.as_mut() {
            d.invite_out_done();
        }
        match code {
            200..=299 => {
                let via = ctx.new_via();
                if let Some(d) = self.dialog.as_mut() {
                    d.refresh_target(msg);
                    let ack = d.ack(r.seq, via);
                    ctx.send_stateless(&ack);
                }
                self.media.local = Some(r.offer);
                if !msg.body.is_empty() {
                    self.media.remote = Some(String::from_utf8_lossy(&msg.body).into_owned());
                }
                match r.change {
                    Change::Hold(hold) => {
                        if hold != self.on_hold_by_local {
                            self.on_hold_by_local = hold;
                            self.hold_streams(hold);
                            // Once the application hung up, the hold is no news.
                            if self.state == SessionState::Established {
                                self.notify_hold(ctx, Originator::Local, hold);
                            }
                        }
                        if self.sync_streams(ctx) && self.state == SessionState::Established {
                            self.notify_stream_update(ctx);
                        }
                    }
                    Change::Add(added) => self.on_proposal_answered(ctx, added),
                    Change::Remove => {
                        self.want_remove.clear();
                        if self.sync_streams(ctx) && self.state == SessionState::Established {
                            self.notify_stream_update(ctx);
                        }
                    }
                }
                self.sync_hold(ctx, now);
            }
            491 => {
                // Glare (§14.1): the owner of the Call-ID (the dialog's UAC) waits 2.1 to 4 s,
                // the other end 0 to 2 s, in units of 10 ms.
                let uac = self.dialog.as_ref().is_some_and(|d| d.role() == Role::Uac);
                let (base, steps) = if uac { (2_100, 190) } else { (0, 200) };
                let ms = base + 10 * (ctx.rng.next_u64() % (steps + 1));
                self.glare_retry = Some(now + Duration::from_millis(ms));
            }
            // The dialog is gone, or the peer is (§12.2.1.2): the session ends.
            481 => self.fail(ctx, now, Originator::Remote, code, msg.reason()),
            408 => self.fail_with_bye(ctx, now, Originator::Remote, code, msg.reason()),
            // Any other failure leaves the session as it was (§14.1): the previous
            // descriptions stay, and the application's wish is dropped.
            _ => match r.change {
                Change::Hold(_) => self.want_hold = self.on_hold_by_local,
                Change::Add(_) => {
                    let reason = format!("{code} {}", msg.reason());
                    self.end_local_proposal(ctx, &reason);
                    self.sync_hold(ctx, now);
                }
                Change::Remove => {
                    self.want_remove.clear();
                    self.sync_hold(ctx, now);
                }
            },
        }
    }

    fn notify_hold(&self, ctx: &mut Ctx, originator: Originator, hold: bool) {
        let event = if hold {
            Event::SIPSessionGotHoldRequest { originator }
        } else {
            Event::SIPSessionGotUnholdRequest { originator }
        };
        self.notify(ctx, event);
    }

    /// A re-INVITE from the peer, already accepted by the dialog (§14.2).
    pub(super) fn on_reinvite(
        &mut self,
        ctx: &mut Ctx,
        now: Time,
        tx: TransactionId,
        req: &Message,
    ) {
        let refusal = match self.state {
            SessionState::Established | SessionState::Proposing if self.retransmit.is_some() => {
                Some((491, "Request Pending"))
            }
            SessionState::Established => None,
            // Our proposal waits for its glare retry: the peer's re-INVITE goes first.
            SessionState::Proposing if self.reinvite.is_none() => None,
            SessionState::Terminating => Some((487, "Request Terminated")),
            _ => Some((491, "Request Pending")),
        };
        if let Some((code, reason)) = refusal {
            self.refuse_offer(ctx, now, tx, req, code, reason);
            return;
        }
        let additions = media::parse(&String::from_utf8_lossy(&req.body))
            .map(|offer| self.offered_additions(ctx, &offer))
            .unwrap_or_default();
        if !additions.is_empty() {
            if self.state == SessionState::Proposing {
                // Both proposed (glare): the peer's proposal wins, ours is dropped.
                self.glare_retry = None;
                self.end_local_proposal(ctx, "491 Request Pending");
            }
            self.on_remote_proposal(ctx, tx, req, additions);
            return;
        }
        let Some((answer, offer)) = self.answer_for(req) else {
            self.refuse_offer(ctx, now, tx, req, 488, "Not Acceptable Here");
            return;
        };
        let mut ok = self.in_dialog_response(ctx, req, 200, "OK");
        ok.push_header("Allow", ALLOW);
        ok.set_body("application/sdp", answer.clone().into_bytes());
        if let Some(d) = self.dialog.as_mut() {
            d.invite_in_done();
        }
        ctx.respond(now, tx, ok.clone());
        self.retransmit = Some((tx, Retransmitter::new(now, ok, ctx.timers())));
        self.apply_remote_offer(ctx, answer, offer);
    }

    /// An UPDATE from the peer (RFC 3311): answered at once, with an answer to its offer.
    pub(super) fn on_update(&mut self, ctx: &mut Ctx, now: Time, tx: TransactionId, req: &Message) {
        if req.body.is_empty() {
            let ok = self.in_dialog_response(ctx, req, 200, "OK");
            ctx.respond(now, tx, ok);
            return;
        }
        if self.state != SessionState::Established || self.reinvite.is_some() || self.offer_in_2xx {
            // An offer while ours is pending (RFC 3311 §5.2).
            let r = self.in_dialog_response(ctx, req, 491, "Request Pending");
            ctx.respond(now, tx, r);
            return;
        }
        let Some((answer, offer)) = self.answer_for(req).filter(|(_, o)| o.is_some()) else {
            let r = self.in_dialog_response(ctx, req, 488, "Not Acceptable Here");
            ctx.respond(now, tx, r);
            return;
        };
        let mut ok = self.in_dialog_response(ctx, req, 200, "OK");
        ok.set_body("application/sdp", answer.clone().into_bytes());
        ctx.respond(now, tx, ok);
        self.apply_remote_offer(ctx, answer, offer);
    }

    fn refuse_offer(
        &mut self,
        ctx: &mut Ctx,
        now: Time,
        tx: TransactionId,
        req: &Message,
        code: u16,
        reason: &str,
    ) {
        if let Some(d) = self.dialog.as_mut() {
            d.invite_in_done();
        }
        let r = self.in_dialog_response(ctx, req, code, reason);
        ctx.respond(now, tx, r);
    }

    /// Our answer to the offer in `req` with the offer, or, for an offer-less request, a new
    /// offer of ours (the answer then comes in the ACK) and `None`.
    fn answer_for(&mut self, req: &Message) -> Option<(String, Option<String>)> {
        if req.body.is_empty() {
            let offer = self.media.fresh_offer()?;
            self.offer_in_2xx = true;
            return Some((offer, None));
        }
        let offer = String::from_utf8_lossy(&req.body).into_owned();
        let none = crate::vec_map::VecMap::new();
        let answer = self
            .media
            .answer_offer(&offer, self.on_hold_by_local, &none)?;
        Some((answer, Some(offer)))
    }

    /// The new descriptions are in effect; a change of the peer's hold is announced, and
    /// so are streams the offer disabled (with SIPSessionGotStreamUpdate).
    pub(super) fn apply_remote_offer(
        &mut self,
        ctx: &mut Ctx,
        ours: String,
        offer: Option<String>,
    ) {
        self.media.local = Some(ours);
        let Some(offer) = offer else {
            return;
        };
        let holds = media::offer_holds(&offer);
        self.media.remote = Some(offer);
        if holds != self.on_hold_by_remote {
            self.on_hold_by_remote = holds;
            self.notify_hold(ctx, Originator::Remote, holds);
        }
        if self.proposal.is_none() && self.sync_streams(ctx) {
            self.notify_stream_update(ctx);
        }
    }
}
