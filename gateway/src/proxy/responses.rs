//! Responses through the proxy (RFC 3261 §16.7): our Via popped, 100 absorbed, other
//! provisionals and every 2xx forwarded at once, finals collected until no branch is
//! pending and the best sent; pending branches cancelled after a 2xx or 6xx (§16.7 step 10,
//! step 5) or the caller's CANCEL (§16.10); timeouts and transport errors standing for 408
//! and 503 (§16.7 step 2, §16.8, §16.9).

use super::context::{BranchState, Context};
use super::Core;
use crate::sipmsg::{pop_top_via, reply};
use sipsimple::sip::Message;
use sipsimple::transaction::{TransactionId, TransactionLayer};
use sipsimple::Time;

/// Sends CANCEL on every branch that may be cancelled (a provisional response came, §9.1)
/// and marks the others to be cancelled when one does.
pub(super) fn cancel_branches(layer: &mut TransactionLayer, now: Time, ctx: &mut Context) {
    if ctx.request.method() != Some("INVITE") {
        return;
    }
    for b in ctx.branches.iter_mut() {
        match b.state {
            BranchState::Proceeding if !b.cancel_sent => {
                b.cancel_sent = layer.cancel(now, b.client).is_ok();
                b.cancel_pending = false;
            }
            BranchState::Calling => b.cancel_pending = true,
            _ => {}
        }
    }
}

/// A CANCEL for the forwarded INVITE `invite` (§9.1): its Request-URI, top Via, Route,
/// Max-Forwards, Call-ID, From and To, and CSeq number.
fn build_cancel(invite: &Message) -> Option<Message> {
    let uri = invite.request_uri()?.clone();
    let mut c = Message::request("CANCEL", uri);
    c.push_header("Via", *invite.header_values("Via").first()?);
    for name in ["Max-Forwards", "From", "To", "Call-ID"] {
        c.push_header(name, invite.header(name)?);
    }
    for r in invite.header_lines("Route") {
        c.push_header("Route", r);
    }
    let seq = sipsimple::sip::CSeq::parse(invite.header("CSeq")?)
        .ok()?
        .seq;
    c.push_header("CSeq", format!("{seq} CANCEL"));
    c.push_header("Content-Length", "0");
    Some(c)
}

impl Core {
    /// A response on client transaction `client`.
    pub(super) fn on_response(&mut self, now: Time, client: TransactionId, mut msg: Message) {
        let Some(&server) = self.branch_of.get(&client) else {
            // The response to one of our CANCELs: nothing to do.
            return;
        };
        pop_top_via(&mut msg);
        let Some(code) = msg.code() else { return };
        let Some(ctx) = self.contexts.get_mut(&server) else {
            return;
        };
        let source = ctx.source.clone();
        match code {
            100..=199 => {
                if let Some(b) = ctx.branch_mut(client) {
                    if b.state == BranchState::Calling {
                        b.state = BranchState::Proceeding;
                    }
                }
                if ctx.cancelled {
                    cancel_branches(&mut self.layer, now, ctx);
                }
                // §16.7 step 3: a 100 is hop by hop; the others go up until a final has.
                if code > 100 && !ctx.final_sent {
                    self.send_response(now, server, Some(&source), msg);
                }
            }
            200..=299 => {
                if let Some(b) = ctx.branch_mut(client) {
                    b.state = BranchState::Done;
                }
                ctx.final_sent = true;
                ctx.cancelled = true;
                cancel_branches(&mut self.layer, now, ctx);
                // Every 2xx goes up, retransmissions and other forks' answers too.
                self.send_response(now, server, Some(&source), msg);
            }
            _ => {
                // The upstream proxy's challenge is answered with the gateway's credentials.
                if matches!(code, 401 | 407) && self.answer_upstream(now, server, client, &msg) {
                    return;
                }
                let Some(ctx) = self.contexts.get_mut(&server) else {
                    return;
                };
                if let Some(b) = ctx.branch_mut(client) {
                    b.state = BranchState::Done;
                }
                if code >= 600 {
                    ctx.cancelled = true;
                    cancel_branches(&mut self.layer, now, ctx);
                }
                ctx.offer(msg);
                self.maybe_finish(now, server);
            }
        }
    }

    /// Client transaction `client` timed out or could not be sent: the branch answered
    /// `code` as far as the context goes.
    pub(super) fn on_branch_failure(
        &mut self,
        now: Time,
        client: TransactionId,
        code: u16,
        reason: &str,
    ) {
        let Some(&server) = self.branch_of.get(&client) else {
            return;
        };
        let Some(ctx) = self.contexts.get_mut(&server) else {
            return;
        };
        let Some(b) = ctx.branch_mut(client) else {
            return;
        };
        if b.state == BranchState::Done {
            return;
        }
        // §16.8: Timer C fired on a branch that had rung; cancel it (its transaction is
        // gone, so the CANCEL is built here, §9.1).
        let cancel = (b.state == BranchState::Proceeding && code == 408 && !b.cancel_sent)
            .then(|| (build_cancel(&b.request), b.dest.clone()));
        b.state = BranchState::Done;
        if let Some((Some(cancel), dest)) = cancel {
            let _ = self.layer.send_request(now, dest, cancel);
        }
        let Some(ctx) = self.contexts.get_mut(&server) else {
            return;
        };
        let r = reply(&ctx.request, code, reason);
        ctx.offer(r);
        self.maybe_finish(now, server);
    }

    /// Transaction `id` ended: a branch is done for good; the context goes with its last.
    pub(super) fn on_terminated(&mut self, now: Time, id: TransactionId) {
        let Some(server) = self.branch_of.remove(&id) else {
            return;
        };
        let Some(ctx) = self.contexts.get_mut(&server) else {
            return;
        };
        if let Some(b) = ctx.branch_mut(id) {
            b.terminated = true;
            // A branch that ended without any answer reaching us (cannot happen with the
            // layer's events, but costs nothing to cover) counts as a timeout.
            if b.state != BranchState::Done {
                b.state = BranchState::Done;
                let r = reply(&ctx.request, 408, "Request Timeout");
                ctx.offer(r);
            }
        }
        self.maybe_finish(now, server);
        if self.contexts.get(&server).is_some_and(Context::finished) {
            self.contexts.remove(&server);
        }
    }

    /// Sends the best final response once no branch is pending and none went up yet
    /// (§16.7 step 6); with no response at all, a 408 (§16.7 step 2).
    pub(super) fn maybe_finish(&mut self, now: Time, server: TransactionId) {
        let Some(ctx) = self.contexts.get_mut(&server) else {
            return;
        };
        if ctx.final_sent || ctx.pending() {
            if ctx.finished() && ctx.final_sent {
                self.contexts.remove(&server);
            }
            return;
        }
        ctx.final_sent = true;
        let best = ctx
            .choose()
            .unwrap_or_else(|| reply(&ctx.request, 408, "Request Timeout"));
        let source = ctx.source.clone();
        if ctx.finished() {
            self.contexts.remove(&server);
        }
        self.send_response(now, server, Some(&source), best);
    }
}
