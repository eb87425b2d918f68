//! The Session state machine of the seed, outgoing side (RFC 3261 §13 and §15): INVITE,
//! ringing, 2xx with ACK, failures with ACK for non-2xx (§17.1.1.3), CANCEL (§9), BYE both
//! ways, and the seed's notifications in the seed's order.

use crate::notification::{Event, Originator, Sender, SessionState};
use crate::sip::{CSeq, Message, NameAddr, Uri};
use crate::time::Time;
use crate::ua::{Ctx, Error, ALLOW, TRANSACTION_TIMEOUT};

/// A session. Ids are given by the user agent.
#[derive(Debug)]
pub(crate) struct Session {
    pub id: u64,
    pub state: SessionState,
    pub call_id: String,
    remote_uri: Uri,
    local_tag: String,
    remote_tag: Option<String>,
    cseq: u32,
    route_set: Vec<String>,
    remote_target: Option<Uri>,
    invite: Message,
    invite_branch: String,
    other_branch: Option<String>,
    got_provisional: bool,
    cancel_pending: bool,
    deadline: Option<Time>,
}

impl Session {
    pub fn connect(
        ctx: &mut Ctx,
        now: Time,
        id: u64,
        remote_uri: Uri,
        sdp: Option<&str>,
    ) -> Session {
        let call_id = ctx.rng.token(24);
        let local_tag = ctx.rng.token(10);
        let branch = ctx.branch();
        let mut invite = Message::request("INVITE", remote_uri.clone());
        invite.push_header("Via", ctx.via(&branch));
        invite.push_header("Max-Forwards", "70");
        invite.push_header("To", NameAddr::new(remote_uri.clone()).to_string());
        invite.push_header("From", ctx.local_party(&local_tag));
        invite.push_header("Call-ID", call_id.clone());
        invite.push_header("CSeq", "1 INVITE");
        invite.push_header("Contact", NameAddr::new(ctx.contact.clone()).to_string());
        invite.push_header("Allow", ALLOW);
        invite.push_header("User-Agent", ctx.cfg.user_agent.clone());
        let sdp = match sdp {
            Some(s) => s.to_string(),
            None => placeholder_offer(ctx.rng.next_u64() >> 12),
        };
        invite.set_body("application/sdp", sdp.into_bytes());
        let mut s = Session {
            id,
            state: SessionState::Null,
            call_id,
            remote_uri,
            local_tag,
            remote_tag: None,
            cseq: 1,
            route_set: Vec::new(),
            remote_target: None,
            invite,
            invite_branch: branch,
            other_branch: None,
            got_provisional: false,
            cancel_pending: false,
            deadline: Some(now + TRANSACTION_TIMEOUT),
        };
        s.notify(
            ctx,
            Event::SIPSessionNewOutgoing {
                streams: vec!["audio".into()],
            },
        );
        s.set_state(ctx, SessionState::Calling);
        ctx.send(&s.invite);
        s
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

    fn terminate(&mut self, ctx: &mut Ctx, originator: Originator) {
        self.deadline = None;
        self.set_state(ctx, SessionState::Terminated);
        self.notify(ctx, Event::SIPSessionDidEnd { originator });
    }

    fn fail(&mut self, ctx: &mut Ctx, originator: Originator, code: u16, reason: String) {
        self.notify(
            ctx,
            Event::SIPSessionDidFail {
                originator,
                code,
                reason,
            },
        );
        self.terminate(ctx, originator);
    }

    pub fn is_over(&self) -> bool {
        self.state == SessionState::Terminated
    }

    pub fn owns(&self, branch: &str) -> bool {
        self.invite_branch == branch || self.other_branch.as_deref() == Some(branch)
    }

    pub fn next_timeout(&self) -> Option<Time> {
        self.deadline
    }

    /// A request inside the dialog (RFC 3261 §12.2.1.1): remote target, route set, CSeq.
    fn in_dialog(&mut self, ctx: &mut Ctx, method: &str, branch: &str, cseq: u32) -> Message {
        let target = self
            .remote_target
            .clone()
            .unwrap_or_else(|| self.remote_uri.clone());
        let mut req = Message::request(method, target);
        req.push_header("Via", ctx.via(branch));
        req.push_header("Max-Forwards", "70");
        for r in &self.route_set {
            req.push_header("Route", r.clone());
        }
        let mut to = NameAddr::new(self.remote_uri.clone());
        if let Some(tag) = &self.remote_tag {
            to.set_param("tag", Some(tag));
        }
        req.push_header("To", to.to_string());
        req.push_header("From", ctx.local_party(&self.local_tag));
        req.push_header("Call-ID", self.call_id.clone());
        req.push_header("CSeq", format!("{cseq} {method}"));
        req.push_header("User-Agent", ctx.cfg.user_agent.clone());
        req.push_header("Content-Length", "0");
        req
    }

    fn send_bye(&mut self, ctx: &mut Ctx, now: Time) {
        self.cseq += 1;
        let branch = ctx.branch();
        let bye = self.in_dialog(ctx, "BYE", &branch, self.cseq);
        ctx.send(&bye);
        self.other_branch = Some(branch);
        self.deadline = Some(now + TRANSACTION_TIMEOUT);
    }

    /// CANCEL copies the INVITE's Request-URI, Via (branch), Call-ID, From, To, Route and
    /// CSeq number (RFC 3261 §9.1).
    fn send_cancel(&mut self, ctx: &mut Ctx, now: Time) {
        let uri = self.remote_uri.clone();
        let mut cancel = Message::request("CANCEL", uri);
        for name in ["Via", "Max-Forwards", "To", "From", "Call-ID", "Route"] {
            for v in self.invite.header_lines(name) {
                cancel.push_header(name, v.to_string());
            }
        }
        cancel.push_header("CSeq", "1 CANCEL");
        cancel.push_header("User-Agent", ctx.cfg.user_agent.clone());
        cancel.push_header("Content-Length", "0");
        ctx.send(&cancel);
        self.cancel_pending = false;
        self.deadline = Some(now + TRANSACTION_TIMEOUT);
    }

    /// ACK for a non-2xx final response: same branch and Request-URI as the INVITE, To
    /// from the response (RFC 3261 §17.1.1.3).
    fn ack_failure(&self, ctx: &mut Ctx, resp: &Message) {
        let mut ack = Message::request("ACK", self.remote_uri.clone());
        for name in ["Via", "Max-Forwards", "From", "Call-ID", "Route"] {
            for v in self.invite.header_lines(name) {
                ack.push_header(name, v.to_string());
            }
        }
        ack.push_header("To", resp.header("To").unwrap_or_default().to_string());
        ack.push_header("CSeq", "1 ACK");
        ack.push_header("Content-Length", "0");
        ctx.send(&ack);
    }

    fn ack_success(&mut self, ctx: &mut Ctx) {
        let branch = ctx.branch();
        let ack = self.in_dialog(ctx, "ACK", &branch, 1);
        ctx.send(&ack);
    }

    fn learn_dialog(&mut self, resp: &Message) {
        if let Some(tag) = resp
            .header("To")
            .and_then(|t| NameAddr::parse(t).ok())
            .and_then(|t| t.tag().map(str::to_string))
        {
            self.remote_tag = Some(tag);
        }
        if let Some(c) = resp
            .header_values("Contact")
            .first()
            .and_then(|c| NameAddr::parse(c).ok())
        {
            self.remote_target = Some(c.uri);
        }
        // The UAC's route set is the Record-Route list in reverse (RFC 3261 §12.1.2).
        let rr = resp.header_values("Record-Route");
        self.route_set = rr.iter().rev().map(|r| r.to_string()).collect();
    }

    pub fn on_response(&mut self, ctx: &mut Ctx, now: Time, msg: &Message, cseq: &CSeq) {
        let Some(code) = msg.code() else { return };
        match cseq.method.as_str() {
            "INVITE" => self.on_invite_response(ctx, now, msg, code),
            "BYE" if code >= 200 && self.state == SessionState::Terminating => {
                self.terminate(ctx, Originator::Local)
            }
            _ => {}
        }
    }

    fn on_invite_response(&mut self, ctx: &mut Ctx, now: Time, msg: &Message, code: u16) {
        match (code, self.state) {
            (100..=199, SessionState::Calling | SessionState::Terminating) => {
                self.got_provisional = true;
                if self.cancel_pending {
                    self.send_cancel(ctx, now);
                }
                if self.state == SessionState::Calling {
                    if code != 100 {
                        self.learn_dialog(msg);
                    }
                    if code == 180 || code == 183 {
                        self.notify(ctx, Event::SIPSessionGotRingIndication {});
                    }
                }
            }
            (200..=299, SessionState::Calling) => {
                self.learn_dialog(msg);
                self.notify(ctx, Event::SIPSessionWillStart {});
                self.ack_success(ctx);
                self.deadline = None;
                self.set_state(ctx, SessionState::Established);
                self.notify(ctx, Event::SIPSessionDidStart {});
            }
            (200..=299, SessionState::Terminating) => {
                // The callee answered while we were cancelling: ACK it, then hang up.
                self.learn_dialog(msg);
                self.ack_success(ctx);
                self.send_bye(ctx, now);
            }
            (200..=299, SessionState::Established) => {
                // A retransmitted 2xx: our ACK was lost, send it again (RFC 3261 §13.2.2.4).
                self.ack_success(ctx);
            }
            (300..=699, SessionState::Calling) => {
                self.ack_failure(ctx, msg);
                self.fail(ctx, Originator::Remote, code, msg.reason().to_string());
            }
            (300..=699, SessionState::Terminating) => {
                self.ack_failure(ctx, msg);
                self.terminate(ctx, Originator::Local);
            }
            _ => {}
        }
    }

    pub fn on_request(&mut self, ctx: &mut Ctx, _now: Time, msg: &Message) {
        let local_tag = self.local_tag.clone();
        match msg.method().unwrap_or_default() {
            "BYE"
                if matches!(
                    self.state,
                    SessionState::Established | SessionState::Terminating
                ) =>
            {
                ctx.respond(msg, 200, "OK", Some(&local_tag));
                self.terminate(ctx, Originator::Remote);
            }
            "BYE" => ctx.respond(msg, 481, "Call/Transaction Does Not Exist", None),
            "ACK" => {}
            "OPTIONS" => ctx.respond(msg, 200, "OK", Some(&local_tag)),
            "INVITE" => {
                // Re-INVITEs (hold, stream changes) come with the media issues.
                ctx.respond(msg, 488, "Not Acceptable Here", Some(&local_tag));
            }
            _ => ctx.respond(msg, 405, "Method Not Allowed", Some(&local_tag)),
        }
    }

    pub fn end(&mut self, ctx: &mut Ctx, now: Time) -> Result<(), Error> {
        match self.state {
            SessionState::Calling => {
                self.notify(ctx, Event::SIPSessionWillEnd {});
                self.set_state(ctx, SessionState::Terminating);
                // CANCEL may only follow a provisional response (RFC 3261 §9.1).
                if self.got_provisional {
                    self.send_cancel(ctx, now);
                } else {
                    self.cancel_pending = true;
                }
                Ok(())
            }
            SessionState::Established => {
                self.notify(ctx, Event::SIPSessionWillEnd {});
                self.set_state(ctx, SessionState::Terminating);
                self.send_bye(ctx, now);
                Ok(())
            }
            SessionState::Null => Err(Error::InvalidState("NULL")),
            SessionState::Terminating => Err(Error::InvalidState("TERMINATING")),
            SessionState::Terminated => Err(Error::InvalidState("TERMINATED")),
            _ => Err(Error::InvalidState("unsupported")),
        }
    }

    pub fn on_timeout(&mut self, ctx: &mut Ctx, now: Time) {
        if self.deadline.is_none_or(|d| now < d) {
            return;
        }
        self.deadline = None;
        match self.state {
            SessionState::Calling => {
                self.fail(ctx, Originator::Local, 408, "Request Timeout".into())
            }
            SessionState::Terminating => self.terminate(ctx, Originator::Local),
            _ => {}
        }
    }

    pub fn on_transport_closed(&mut self, ctx: &mut Ctx, _now: Time) {
        match self.state {
            SessionState::Calling | SessionState::Established => {
                self.fail(ctx, Originator::Local, 0, "Transport closed".into())
            }
            SessionState::Terminating => self.terminate(ctx, Originator::Local),
            _ => {}
        }
    }
}

/// An SDP offer with one inactive audio stream, for calls placed before media exists.
fn placeholder_offer(session_id: u64) -> String {
    format!(
        "v=0\r\no=- {session_id} {session_id} IN IP4 0.0.0.0\r\ns=sipsimple-rs\r\nc=IN IP4 0.0.0.0\r\nt=0 0\r\nm=audio 9 RTP/AVP 0 101\r\na=rtpmap:0 PCMU/8000\r\na=rtpmap:101 telephone-event/8000\r\na=inactive\r\n"
    )
}
