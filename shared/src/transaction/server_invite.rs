//! The INVITE server transaction (RFC 3261 §17.2.1, as updated by RFC 6026 §7.1 and §8.7):
//! Proceeding with the automatic 100 Trying, Completed with Timers G and H, Confirmed with
//! Timer I, Accepted with Timer L.
//!
//! ```text
//! Proceeding --300-699 from TU--> Completed --ACK--> Confirmed --Timer I--> Terminated
//!     |                              |  Timer G: resend final, MIN(2x, T2)
//!     |                              +--Timer H (no ACK): timeout--> Terminated
//!     +--2xx from TU--> Accepted (INVITEs absorbed, ACKs to the TU) --Timer L--> Terminated
//! ```

use super::timers::{Config, Timer, TimerSet};
use super::{is_provisional, is_success, Action, Error, State};
use crate::sip::Message;
use crate::time::Time;
use core::time::Duration;

/// One INVITE server transaction.
#[derive(Debug)]
pub(crate) struct ServerInvite {
    state: State,
    request: Message,
    /// The last provisional response sent, for INVITE retransmissions in Proceeding.
    provisional: Option<Vec<u8>>,
    /// The non-2xx final, for INVITE retransmissions and Timer G in Completed.
    last_final: Option<Vec<u8>>,
    reliable: bool,
    interval: Duration,
    timers: TimerSet,
    config: Config,
}

impl ServerInvite {
    /// Enters Proceeding for a new INVITE. The layer passes the INVITE to the TU; the 100
    /// Trying goes out now or after [`Config::trying_delay`] unless the TU answers first.
    pub(crate) fn start(
        now: Time,
        request: Message,
        reliable: bool,
        config: &Config,
        out: &mut Vec<Action>,
    ) -> ServerInvite {
        let mut tx = ServerInvite {
            state: State::Proceeding,
            request,
            provisional: None,
            last_final: None,
            reliable,
            interval: config.t1,
            timers: TimerSet::default(),
            config: config.clone(),
        };
        match config.trying_delay {
            Some(d) if d.is_zero() => tx.send_trying(out),
            Some(d) => tx.timers.start(Timer::Trying, now + d),
            None => {}
        }
        tx
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

    fn send_trying(&mut self, out: &mut Vec<Action>) {
        let bytes = Message::response_to(&self.request, 100, "Trying").to_bytes();
        out.push(Action::Send(bytes.clone()));
        self.provisional = Some(bytes);
    }

    /// A request matched this transaction: a retransmitted INVITE or an ACK (§17.2.1).
    pub(crate) fn on_request(&mut self, now: Time, msg: Message, out: &mut Vec<Action>) {
        let is_ack = msg.method() == Some("ACK");
        match self.state {
            State::Proceeding if !is_ack => {
                if let Some(p) = &self.provisional {
                    out.push(Action::Send(p.clone()));
                }
            }
            State::Completed if is_ack => {
                self.timers.clear();
                self.state = State::Confirmed;
                if self.reliable {
                    self.terminate(out);
                } else {
                    self.timers.start(Timer::I, now + self.config.t4);
                }
            }
            State::Completed => {
                if let Some(f) = &self.last_final {
                    out.push(Action::Send(f.clone()));
                }
            }
            // RFC 6026 §8.7: ACKs go up, retransmitted INVITEs are absorbed.
            State::Accepted if is_ack => out.push(Action::Ack(msg)),
            // Confirmed absorbs ACKs; nothing else reaches a terminated transaction.
            _ => {}
        }
    }

    /// The TU sends a response (§17.2.1, RFC 6026 §8.7).
    pub(crate) fn on_tu_response(
        &mut self,
        now: Time,
        msg: &Message,
        out: &mut Vec<Action>,
    ) -> Result<(), Error> {
        let code = msg.code().ok_or(Error::NotAResponse)?;
        match self.state {
            State::Proceeding => {
                self.timers.stop(Timer::Trying);
                let bytes = msg.to_bytes();
                out.push(Action::Send(bytes.clone()));
                if is_provisional(code) {
                    self.provisional = Some(bytes);
                } else if is_success(code) {
                    self.state = State::Accepted;
                    self.timers.start(Timer::L, now + self.config.timeout());
                } else {
                    self.state = State::Completed;
                    self.last_final = Some(bytes);
                    if !self.reliable {
                        self.timers.start(Timer::G, now + self.interval);
                    }
                    self.timers.start(Timer::H, now + self.config.timeout());
                }
                Ok(())
            }
            // The TU retransmits its 2xx through the transaction (RFC 6026 §8.7).
            State::Accepted if is_success(code) => {
                out.push(Action::Send(msg.to_bytes()));
                Ok(())
            }
            _ => Err(Error::WrongState),
        }
    }

    /// One of this transaction's timers is due.
    pub(crate) fn on_timer(&mut self, now: Time, timer: Timer, out: &mut Vec<Action>) {
        match (self.state, timer) {
            (State::Proceeding, Timer::Trying) => self.send_trying(out),
            (State::Completed, Timer::G) => {
                if let Some(f) = &self.last_final {
                    out.push(Action::Send(f.clone()));
                }
                self.interval = self.config.backoff(self.interval);
                self.timers.start(Timer::G, now + self.interval);
            }
            (State::Completed, Timer::H) => {
                out.push(Action::Timeout);
                self.terminate(out);
            }
            (State::Confirmed, Timer::I) | (State::Accepted, Timer::L) => self.terminate(out),
            _ => {}
        }
    }

    /// The flow failed (§17.2.4): in any state that still sends responses.
    pub(crate) fn on_transport_error(&mut self, out: &mut Vec<Action>) {
        if matches!(
            self.state,
            State::Proceeding | State::Completed | State::Accepted
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
