//! The INVITE client transaction (RFC 3261 §17.1.1, as updated by RFC 6026 §7.2 and §8.4):
//! Calling, Proceeding, Completed, Accepted, Terminated; the ACK for non-2xx finals
//! (§17.1.1.3) and the CANCEL built from the INVITE (§9.1).
//!
//! ```text
//! Calling --1xx--> Proceeding --300-699 / send ACK--> Completed --Timer D--> Terminated
//!    |                 |
//!    +------2xx--------+--> Accepted (2xx passed up, Timer M) --Timer M--> Terminated
//! Calling --Timer B--> Terminated (timeout); Proceeding --Timer C--> Terminated (timeout)
//! ```

use super::timers::{Config, Timer, TimerSet};
use super::{is_provisional, is_success, Action, State};
use crate::sip::{CSeq, Message};
use crate::time::Time;
use core::time::Duration;

/// One INVITE client transaction.
#[derive(Debug)]
pub(crate) struct ClientInvite {
    state: State,
    request: Message,
    bytes: Vec<u8>,
    ack: Option<Vec<u8>>,
    reliable: bool,
    interval: Duration,
    timers: TimerSet,
    config: Config,
}

impl ClientInvite {
    /// Sends the INVITE and enters Calling: Timer A on unreliable flows, Timer B always.
    pub(crate) fn start(
        now: Time,
        request: Message,
        reliable: bool,
        config: &Config,
        out: &mut Vec<Action>,
    ) -> ClientInvite {
        let bytes = request.to_bytes();
        out.push(Action::Send(bytes.clone()));
        let mut timers = TimerSet::default();
        if !reliable {
            timers.start(Timer::A, now + config.t1);
        }
        timers.start(Timer::B, now + config.timeout());
        ClientInvite {
            state: State::Calling,
            request,
            bytes,
            ack: None,
            reliable,
            interval: config.t1,
            timers,
            config: config.clone(),
        }
    }

    pub(crate) fn state(&self) -> State {
        self.state
    }

    pub(crate) fn request(&self) -> &Message {
        &self.request
    }

    pub(crate) fn timers(&self) -> &TimerSet {
        &self.timers
    }

    pub(crate) fn timers_mut(&mut self) -> &mut TimerSet {
        &mut self.timers
    }

    /// A response matched this transaction (§17.1.1.2, RFC 6026 §8.4).
    pub(crate) fn on_response(&mut self, now: Time, msg: Message, out: &mut Vec<Action>) {
        let Some(code) = msg.code() else { return };
        match self.state {
            State::Calling | State::Proceeding if is_provisional(code) => {
                if self.state == State::Calling {
                    // No more retransmissions, nor Timer B: the server has the request.
                    self.timers.stop(Timer::A);
                    self.timers.stop(Timer::B);
                    if let Some(c) = self.config.timer_c {
                        self.timers.start(Timer::C, now + c);
                    }
                    self.state = State::Proceeding;
                } else if let Some(c) = self.config.timer_c {
                    // Each provisional response restarts Timer C (§16.7 step 2).
                    self.timers.start(Timer::C, now + c);
                }
                out.push(Action::Response(msg));
            }
            State::Calling | State::Proceeding if is_success(code) => {
                self.timers.clear();
                self.timers.start(Timer::M, now + self.config.timeout());
                self.state = State::Accepted;
                out.push(Action::Response(msg));
            }
            State::Calling | State::Proceeding => {
                self.timers.clear();
                let ack = build_ack(&self.request, &msg).to_bytes();
                out.push(Action::Send(ack.clone()));
                self.ack = Some(ack);
                self.state = State::Completed;
                out.push(Action::Response(msg));
                if self.reliable {
                    self.terminate(out);
                } else {
                    self.timers.start(Timer::D, now + self.config.timer_d);
                }
            }
            // A retransmitted non-2xx final: ACK it again, do not bother the TU.
            State::Completed if code >= 300 => {
                if let Some(ack) = &self.ack {
                    out.push(Action::Send(ack.clone()));
                }
            }
            // Every 2xx goes up: a retransmission, or another fork's answer (RFC 6026 §8.4).
            State::Accepted if is_success(code) => out.push(Action::Response(msg)),
            _ => {}
        }
    }

    /// One of this transaction's timers is due.
    pub(crate) fn on_timer(&mut self, now: Time, timer: Timer, out: &mut Vec<Action>) {
        match (self.state, timer) {
            (State::Calling, Timer::A) => {
                out.push(Action::Send(self.bytes.clone()));
                // Timer A doubles without a cap; Timer B ends the doubling (§17.1.1.2).
                self.interval = self.interval.saturating_mul(2);
                self.timers.start(Timer::A, now + self.interval);
            }
            (State::Calling, Timer::B) | (State::Proceeding, Timer::C) => {
                out.push(Action::Timeout);
                self.terminate(out);
            }
            (State::Completed, Timer::D) | (State::Accepted, Timer::M) => self.terminate(out),
            _ => {}
        }
    }

    /// The flow failed (§17.1.4). In Accepted the transaction sends nothing more, so the
    /// failure is the TU's (it sends the ACK).
    pub(crate) fn on_transport_error(&mut self, out: &mut Vec<Action>) {
        if matches!(
            self.state,
            State::Calling | State::Proceeding | State::Completed
        ) {
            out.push(Action::TransportError);
            self.terminate(out);
        }
    }

    fn terminate(&mut self, out: &mut Vec<Action>) {
        if self.state != State::Terminated {
            self.state = State::Terminated;
            self.timers.clear();
            out.push(Action::Terminated);
        }
    }
}

/// Copies every line of header `name` from `from` to `to`.
fn copy_lines(from: &Message, to: &mut Message, name: &str) {
    for line in from.header_lines(name) {
        to.push_header(name, line);
    }
}

/// The request's CSeq number, or 0 when it cannot be read (never the case for requests the
/// layer accepted: it checks CSeq on the way in).
fn cseq_number(request: &Message) -> u32 {
    request
        .header("CSeq")
        .and_then(|c| CSeq::parse(c).ok())
        .map_or(0, |c| c.seq)
}

/// The head shared by ACK and CANCEL (§17.1.1.3, §9.1): the same Request-URI, one Via equal
/// to the request's top Via (so the same branch), its Route set, Max-Forwards, From and
/// Call-ID, and the CSeq number with the new method. The caller adds To.
fn derived_request(request: &Message, method: &str) -> Message {
    let uri = request
        .request_uri()
        .cloned()
        .unwrap_or_else(|| crate::sip::Uri::sip(None, "invalid"));
    let mut m = Message::request(method, uri);
    if let Some(via) = request.header_values("Via").first() {
        m.push_header("Via", *via);
    }
    copy_lines(request, &mut m, "Route");
    m.push_header(
        "Max-Forwards",
        request.header("Max-Forwards").unwrap_or("70"),
    );
    copy_lines(request, &mut m, "From");
    copy_lines(request, &mut m, "Call-ID");
    m
}

/// The ACK for a non-2xx final `response` to `request` (§17.1.1.3): To from the response.
pub(crate) fn build_ack(request: &Message, response: &Message) -> Message {
    let mut ack = derived_request(request, "ACK");
    copy_lines(response, &mut ack, "To");
    ack.push_header("CSeq", format!("{} ACK", cseq_number(request)));
    ack
}

/// The CANCEL for `request` (§9.1): To from the request, no body.
pub(crate) fn build_cancel(request: &Message) -> Message {
    let mut cancel = derived_request(request, "CANCEL");
    copy_lines(request, &mut cancel, "To");
    cancel.push_header("CSeq", format!("{} CANCEL", cseq_number(request)));
    cancel
}

#[cfg(test)]
mod tests {
    use super::*;

    fn invite() -> Message {
        Message::parse(
            b"INVITE sip:bob@b.example SIP/2.0\r\n\
              Via: SIP/2.0/UDP a.example;branch=z9hG4bKabc\r\n\
              Via: SIP/2.0/UDP proxy.example;branch=z9hG4bKdef\r\n\
              Route: <sip:p1.example;lr>\r\n\
              Route: <sip:p2.example;lr>\r\n\
              Max-Forwards: 69\r\n\
              From: <sip:alice@a.example>;tag=1\r\n\
              To: <sip:bob@b.example>\r\n\
              Call-ID: c1\r\n\
              CSeq: 7 INVITE\r\n\
              Contact: <sip:alice@a.example>\r\n\
              Content-Type: application/sdp\r\n\
              Content-Length: 3\r\n\r\nv=0",
        )
        .expect("valid")
    }

    #[test]
    fn ack_follows_17_1_1_3() {
        let inv = invite();
        let mut busy = Message::response_to(&inv, 486, "Busy Here");
        busy.set_header("To", "<sip:bob@b.example>;tag=xyz");
        let ack = build_ack(&inv, &busy);
        assert_eq!(ack.method(), Some("ACK"));
        assert_eq!(ack.request_uri(), inv.request_uri());
        assert_eq!(
            ack.header_values("Via"),
            ["SIP/2.0/UDP a.example;branch=z9hG4bKabc"]
        );
        assert_eq!(ack.header_values("Route").len(), 2);
        assert_eq!(ack.header("To"), Some("<sip:bob@b.example>;tag=xyz"));
        assert_eq!(ack.header("CSeq"), Some("7 ACK"));
        assert_eq!(ack.header("Max-Forwards"), Some("69"));
        assert_eq!(ack.header("Contact"), None);
        assert!(ack.body.is_empty());
    }

    #[test]
    fn cancel_follows_9_1() {
        let c = build_cancel(&invite());
        assert_eq!(c.header("CSeq"), Some("7 CANCEL"));
        assert_eq!(c.header("To"), Some("<sip:bob@b.example>"));
        assert_eq!(c.header("Call-ID"), Some("c1"));
        assert_eq!(c.header_values("Via").len(), 1);
    }

    #[test]
    fn reliable_flow_no_timer_a_and_no_timer_d() {
        let cfg = Config::default();
        let mut out = Vec::new();
        let t0 = Time::from_millis(0);
        let mut tx = ClientInvite::start(t0, invite(), true, &cfg, &mut out);
        assert_eq!(tx.timers().iter().count(), 1); // B only
        out.clear();
        let resp = Message::response_to(tx.request(), 603, "Decline");
        tx.on_response(t0, resp, &mut out);
        assert_eq!(tx.state(), State::Terminated);
        assert!(matches!(out.first(), Some(Action::Send(_))));
        assert!(matches!(out.last(), Some(Action::Terminated)));
        assert_eq!(tx.timers().next(), None);
    }
}
