//! Outgoing sessions (RFC 3261 §13.2): the INVITE, provisional responses and early dialogs,
//! the 2xx with its ACK (§13.2.2.4, forks included), failures (the transaction ACKs them,
//! §17.1.1.3), a 401/407 answered once per nonce with credentials (§22.2, §22.3) and CANCEL
//! (§9.1), held back until a provisional response arrived.

use super::{streams, Session, SessionDirection};
use crate::auth::Challenge;
use crate::dialog::cseq_of;
use crate::dialog::uac::{ForkOutcome, ForkSet};
use crate::notification::{Event, Originator, SessionState};
use crate::sip::{Message, NameAddr, Uri};
use crate::time::Time;
use crate::ua::{Ctx, ALLOW};

/// At most this many nonces are remembered per INVITE.
const MAX_NONCES: usize = 8;

impl Session {
    /// Sends the INVITE to `remote_uri` offering `sdp`, or else streams of the types
    /// `stream_types`: SIPSessionNewOutgoing, then NULL → CALLING.
    pub(crate) fn connect(
        ctx: &mut Ctx,
        now: Time,
        id: u64,
        remote_uri: Uri,
        sdp: Option<&str>,
        stream_types: &[&str],
    ) -> Session {
        let mut s = Session::new(
            id,
            SessionDirection::Outgoing,
            ctx.aor.clone(),
            remote_uri.clone(),
        );
        s.call_id = ctx.rng.token(24);
        s.local_tag = ctx.rng.token(10);
        s.route = ctx.cfg.routes.get(ctx.route_index).cloned();
        s.file_offer = ctx.file_offer.take();
        let sdp = match sdp {
            Some(given) => given.to_string(),
            None => s.initial_offer(ctx, stream_types),
        };
        let mut invite = Message::request("INVITE", remote_uri.clone());
        invite.push_header("Via", ctx.new_via());
        invite.push_header("Max-Forwards", "70");
        invite.push_header("To", NameAddr::new(remote_uri).to_string());
        invite.push_header("From", ctx.local_party(&s.local_tag));
        invite.push_header("Call-ID", s.call_id.clone());
        invite.push_header("CSeq", "1 INVITE");
        invite.push_header("Contact", NameAddr::new(ctx.contact.clone()).to_string());
        invite.push_header("Allow", ALLOW);
        invite.set_body("application/sdp", sdp.clone().into_bytes());
        let streams = streams::names_of(&ctx.registry, &sdp);
        s.media.set_initial_local(sdp);
        s.notify(ctx, Event::SIPSessionNewOutgoing { streams });
        s.set_state(ctx, SessionState::Calling);
        s.send_invite(ctx, now, invite);
        s
    }

    fn send_invite(&mut self, ctx: &mut Ctx, now: Time, invite: Message) {
        self.got_provisional = false;
        self.invite_tx = ctx.send_request(now, invite.clone());
        // The layer adds only User-Agent and Content-Length: the ForkSet needs the headers
        // that make dialogs, which are all there.
        self.forks = Some(ForkSet::new(invite));
        if self.invite_tx.is_none() {
            self.fail(ctx, now, Originator::Local, 0, "cannot send the INVITE");
        }
    }

    /// CANCELs the INVITE (RFC 3261 §9.1) and gives it 64·T1 to complete.
    pub(super) fn send_cancel(&mut self, ctx: &mut Ctx, now: Time) {
        self.cancel_pending = false;
        if let Some(tx) = self.invite_tx {
            ctx.cancel(now, tx);
        }
        self.deadline = Some(now + ctx.timers().timeout());
    }

    pub(super) fn on_invite_response(
        &mut self,
        ctx: &mut Ctx,
        now: Time,
        msg: &Message,
        code: u16,
    ) {
        if !matches!(
            self.state,
            SessionState::Calling
                | SessionState::Terminating
                | SessionState::Established
                | SessionState::Terminated
        ) {
            return;
        }
        self.learn_user_agent(msg);
        let outcome = {
            let Some(forks) = self.forks.as_mut() else {
                return;
            };
            let mut via = || ctx.new_via();
            forks.on_response(msg, &mut via)
        };
        match outcome {
            ForkOutcome::Confirmed(dialog) => {
                self.remote_tag = Some(dialog.id().remote_tag.clone());
                self.dialog = Some(*dialog);
                self.on_2xx(ctx, now, msg);
                return;
            }
            ForkOutcome::Retransmission => {
                let seq = self.forks.as_ref().map_or(1, ForkSet::invite_seq);
                if let Some(ack) = self.dialog.as_ref().and_then(|d| d.ack_again(seq)) {
                    let ack = ack.clone();
                    ctx.send_stateless(&ack);
                }
                return;
            }
            ForkOutcome::HangUp { ack, bye } => {
                ctx.send_stateless(&ack);
                ctx.send_request(now, bye);
                return;
            }
            ForkOutcome::AckAgain(ack) => {
                ctx.send_stateless(&ack);
                return;
            }
            ForkOutcome::Early { .. } | ForkOutcome::Nothing => {}
        }
        match code {
            100..=199 => self.on_provisional(ctx, now, code),
            // A 2xx that makes no dialog (no To tag, no Contact): say so and hang up.
            200..=299 if self.dialog.is_none() => match self.state {
                SessionState::Calling => {
                    self.fail(ctx, now, Originator::Remote, 0, "invalid 2xx: no dialog")
                }
                _ => self.terminate(ctx, now, Originator::Local),
            },
            401 | 407 if self.state == SessionState::Calling => {
                self.on_challenge(ctx, now, msg, code)
            }
            300..=699 => match self.state {
                SessionState::Calling => {
                    self.fail(ctx, now, Originator::Remote, code, msg.reason())
                }
                SessionState::Terminating => self.terminate(ctx, now, Originator::Local),
                _ => {}
            },
            _ => {}
        }
    }

    fn on_provisional(&mut self, ctx: &mut Ctx, now: Time, code: u16) {
        self.got_provisional = true;
        if self.cancel_pending {
            self.send_cancel(ctx, now);
        }
        if self.state == SessionState::Calling && (code == 180 || code == 183) {
            self.notify(ctx, Event::SIPSessionGotRingIndication {});
        }
    }

    /// The 2xx that confirmed our dialog: WillStart, ACK, ESTABLISHED, DidStart; or, when
    /// the session is being cancelled, ACK and BYE.
    fn on_2xx(&mut self, ctx: &mut Ctx, now: Time, msg: &Message) {
        if !msg.body.is_empty() {
            self.media.remote = Some(String::from_utf8_lossy(&msg.body).into_owned());
        }
        let via = ctx.new_via();
        let ack = match (self.dialog.as_mut(), self.forks.as_ref()) {
            (Some(d), Some(forks)) => d.ack_for(forks.invite(), via),
            _ => return,
        };
        match self.state {
            SessionState::Calling => {
                self.notify(ctx, Event::SIPSessionWillStart {});
                ctx.send_stateless(&ack);
                self.established(ctx, now);
            }
            SessionState::Terminating | SessionState::Terminated => {
                // The callee answered while we were cancelling (or after we gave up): ACK
                // it, then hang up.
                ctx.send_stateless(&ack);
                self.deadline = None;
                self.send_bye(ctx, now);
                if self.bye_tx.is_none() {
                    self.terminate(ctx, now, Originator::Local);
                }
            }
            _ => ctx.send_stateless(&ack),
        }
    }

    /// A 401/407 to the INVITE: answered once per nonce, else the session fails.
    fn on_challenge(&mut self, ctx: &mut Ctx, now: Time, msg: &Message, code: u16) {
        if !self.answer_challenge(ctx, now, msg, code) {
            self.fail(ctx, now, Originator::Remote, code, msg.reason());
        }
    }

    /// Re-sends the INVITE with credentials for the challenge in `msg` (a new transaction:
    /// CSeq + 1, a new branch, the same Call-ID and From tag). `false` when the challenge
    /// cannot be answered or its nonce was answered already (the credentials are wrong).
    fn answer_challenge(&mut self, ctx: &mut Ctx, now: Time, msg: &Message, code: u16) -> bool {
        let (challenge_header, answer_header) = if code == 401 {
            ("WWW-Authenticate", "Authorization")
        } else {
            ("Proxy-Authenticate", "Proxy-Authorization")
        };
        let Some(challenge) = msg
            .header(challenge_header)
            .and_then(|c| Challenge::parse(c).ok())
        else {
            return false;
        };
        if self.nonces.contains(&challenge.nonce) || self.nonces.len() >= MAX_NONCES {
            return false;
        }
        let Some(previous) = self.forks.as_ref().map(|f| f.invite().clone()) else {
            return false;
        };
        let seq = cseq_of(&previous).map_or(1, |c| c.seq).wrapping_add(1);
        let mut invite = previous;
        invite.set_header("Via", ctx.new_via());
        invite.set_header("CSeq", format!("{seq} INVITE"));
        invite.remove_header("User-Agent");
        invite.remove_header(answer_header);
        let uri = invite
            .request_uri()
            .map(ToString::to_string)
            .unwrap_or_default();
        let cnonce = ctx.rng.token(16);
        let value = challenge.answer(
            ctx.auth_username(),
            &ctx.cfg.password,
            "INVITE",
            &uri,
            &cnonce,
            1,
        );
        invite.push_header(answer_header, value);
        self.nonces.push(challenge.nonce);
        self.send_invite(ctx, now, invite);
        true
    }
}
