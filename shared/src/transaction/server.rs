//! The non-INVITE server transaction (RFC 3261 §17.2.2): Trying, Proceeding, Completed
//! with Timer J, Terminated. A retransmitted request is answered with the last response.
//!
//! ```text
//! Trying --1xx from TU--> Proceeding --200-699 from TU--> Completed --Timer J--> Terminated
//!   |  (requests absorbed)   |  (request: resend 1xx)         (request: resend final)
//!   +--------200-699 from TU--------------------------------> Completed
//! ```

use super::timers::{Config, Timer, TimerSet};
use super::{is_provisional, Action, Error, State};
use crate::sip::Message;
use crate::time::Time;

/// One non-INVITE server transaction.
#[derive(Debug)]
pub(crate) struct Server {
    state: State,
    request: Message,
    /// The last response sent, for retransmitted requests.
    last: Option<Vec<u8>>,
    reliable: bool,
    timers: TimerSet,
    config: Config,
}

impl Server {
    /// Enters Trying for a new request; the layer passes it to the TU.
    pub(crate) fn start(request: Message, reliable: bool, config: &Config) -> Server {
        Server {
            state: State::Trying,
            request,
            last: None,
            reliable,
            timers: TimerSet::default(),
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

    /// A retransmission of the request matched this transaction (§17.2.2).
    pub(crate) fn on_request(&mut self, out: &mut Vec<Action>) {
        if matches!(self.state, State::Proceeding | State::Completed) {
            if let Some(last) = &self.last {
                out.push(Action::Send(last.clone()));
            }
        }
    }

    /// The TU sends a response (§17.2.2).
    pub(crate) fn on_tu_response(
        &mut self,
        now: Time,
        msg: &Message,
        out: &mut Vec<Action>,
    ) -> Result<(), Error> {
        let code = msg.code().ok_or(Error::NotAResponse)?;
        if !matches!(self.state, State::Trying | State::Proceeding) {
            return Err(Error::WrongState);
        }
        let bytes = msg.to_bytes();
        out.push(Action::Send(bytes.clone()));
        self.last = Some(bytes);
        if is_provisional(code) {
            self.state = State::Proceeding;
        } else {
            self.state = State::Completed;
            if self.reliable {
                self.terminate(out);
            } else {
                self.timers.start(Timer::J, now + self.config.timeout());
            }
        }
        Ok(())
    }

    /// One of this transaction's timers is due.
    pub(crate) fn on_timer(&mut self, timer: Timer, out: &mut Vec<Action>) {
        if (self.state, timer) == (State::Completed, Timer::J) {
            self.terminate(out);
        }
    }

    /// The flow failed (§17.2.4).
    pub(crate) fn on_transport_error(&mut self, out: &mut Vec<Action>) {
        if matches!(self.state, State::Proceeding | State::Completed) {
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
