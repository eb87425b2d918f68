//! The non-INVITE client transaction (RFC 3261 §17.1.2): Trying, Proceeding, Completed,
//! Terminated, with Timers E, F and K.
//!
//! ```text
//! Trying --1xx--> Proceeding --200-699--> Completed --Timer K--> Terminated
//!   |  Timer E: resend, MIN(2x, T2)   |  Timer E: resend, T2
//!   +------------- Timer F (64*T1) or transport error --------> Terminated
//! ```

use super::timers::{Config, Timer, TimerSet};
use super::{is_provisional, Action, State};
use crate::sip::Message;
use crate::time::Time;
use core::time::Duration;

/// One non-INVITE client transaction.
#[derive(Debug)]
pub(crate) struct Client {
    state: State,
    request: Message,
    bytes: Vec<u8>,
    reliable: bool,
    interval: Duration,
    timers: TimerSet,
    config: Config,
}

impl Client {
    /// Sends the request and enters Trying: Timer E on unreliable flows, Timer F always.
    pub(crate) fn start(
        now: Time,
        request: Message,
        reliable: bool,
        config: &Config,
        out: &mut Vec<Action>,
    ) -> Client {
        let bytes = request.to_bytes();
        out.push(Action::Send(bytes.clone()));
        let mut timers = TimerSet::default();
        if !reliable {
            timers.start(Timer::E, now + config.t1);
        }
        timers.start(Timer::F, now + config.timeout());
        Client {
            state: State::Trying,
            request,
            bytes,
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

    /// A response matched this transaction (§17.1.2.2).
    pub(crate) fn on_response(&mut self, now: Time, msg: Message, out: &mut Vec<Action>) {
        let Some(code) = msg.code() else { return };
        match self.state {
            State::Trying | State::Proceeding if is_provisional(code) => {
                self.state = State::Proceeding;
                out.push(Action::Response(msg));
            }
            State::Trying | State::Proceeding => {
                self.timers.clear();
                self.state = State::Completed;
                out.push(Action::Response(msg));
                if self.reliable {
                    self.terminate(out);
                } else {
                    self.timers.start(Timer::K, now + self.config.t4);
                }
            }
            // Completed absorbs retransmitted finals; Terminated never sees any.
            _ => {}
        }
    }

    /// One of this transaction's timers is due.
    pub(crate) fn on_timer(&mut self, now: Time, timer: Timer, out: &mut Vec<Action>) {
        match (self.state, timer) {
            (State::Trying | State::Proceeding, Timer::E) => {
                out.push(Action::Send(self.bytes.clone()));
                // Doubling up to T2 while Trying; T2 flat once Proceeding.
                self.interval = if self.state == State::Trying {
                    self.config.backoff(self.interval)
                } else {
                    self.config.t2
                };
                self.timers.start(Timer::E, now + self.interval);
            }
            (State::Trying | State::Proceeding, Timer::F) => {
                out.push(Action::Timeout);
                self.terminate(out);
            }
            (State::Completed, Timer::K) => self.terminate(out),
            _ => {}
        }
    }

    /// The flow failed (§17.1.4).
    pub(crate) fn on_transport_error(&mut self, out: &mut Vec<Action>) {
        if matches!(self.state, State::Trying | State::Proceeding) {
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
