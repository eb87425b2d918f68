//! Transaction timers and their configuration (RFC 3261 §17.1.1.1, §17.1.2.2, §17.2.1,
//! §17.2.2 and the table of Appendix A; RFC 6026 §8.4 and §8.7 for Timers L and M).
//!
//! A transaction never reads a clock: each state machine keeps its running timers as
//! deadlines in a [`TimerSet`] and the layer wakes it when the earliest one is due.

use crate::time::Time;
use core::time::Duration;

/// The timer values a [`TransactionLayer`](super::TransactionLayer) runs with.
///
/// The defaults are RFC 3261's: T1 = 500 ms, T2 = 4 s, T4 = 5 s, Timer D = 32 s, the
/// automatic 100 Trying after 200 ms (§17.2.1) and Timer C = 185 s (see
/// [`Config::timer_c`]). Every transaction timeout (B, F, H, J, L, M) is 64·T1.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Config {
    /// T1, the round-trip time estimate: the first retransmission interval (Timers A, E, G).
    pub t1: Duration,
    /// T2, the largest retransmission interval of non-INVITE requests and INVITE responses.
    pub t2: Duration,
    /// T4, how long a message may stay in the network (Timers I and K on unreliable flows).
    pub t4: Duration,
    /// Timer D on unreliable flows: how long a completed INVITE client transaction absorbs
    /// retransmitted non-2xx finals (at least 32 s, §17.1.1.2). Zero on reliable flows.
    pub timer_d: Duration,
    /// When the INVITE server transaction sends 100 Trying on its own if the TU has not
    /// answered: `Some(200 ms)` by default (§17.2.1), `Some(Duration::ZERO)` at once, and
    /// `None` never (the TU then owns the 100).
    pub trying_delay: Option<Duration>,
    /// Timer C: how long an INVITE client transaction may stay in Proceeding before it gives
    /// up with [`Event::Timeout`](super::Event::Timeout); each provisional response restarts
    /// it. RFC 3261 §16.6 defines it for proxies (more than 3 minutes); applying it to every
    /// INVITE client transaction means that a 2xx lost for good never leaves a transaction
    /// behind. `None` disables it.
    pub timer_c: Option<Duration>,
    /// Stamp `received` and fill an empty `rport` in the top Via of received requests from
    /// their source (RFC 3261 §18.2.1, RFC 3581 §4). On by default.
    pub stamp_via: bool,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            t1: Duration::from_millis(500),
            t2: Duration::from_secs(4),
            t4: Duration::from_secs(5),
            timer_d: Duration::from_secs(32),
            trying_delay: Some(Duration::from_millis(200)),
            timer_c: Some(Duration::from_secs(185)),
            stamp_via: true,
        }
    }
}

impl Config {
    /// 64·T1: Timers B, F, H, J (unreliable), L and M.
    pub fn timeout(&self) -> Duration {
        self.t1.saturating_mul(64)
    }

    /// The next retransmission interval after `current`, doubling and capped at T2
    /// (Timers E and G).
    pub(crate) fn backoff(&self, current: Duration) -> Duration {
        current.saturating_mul(2).min(self.t2)
    }
}

/// The named timers of RFC 3261 §17 and RFC 6026, plus the 100 Trying delay.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum Timer {
    /// INVITE request retransmission, unreliable flows only (§17.1.1.2).
    A,
    /// INVITE client transaction timeout in Calling (§17.1.1.2).
    B,
    /// INVITE client transaction timeout in Proceeding (§16.6 step 11, see [`Config::timer_c`]).
    C,
    /// Wait for retransmitted non-2xx finals in Completed (§17.1.1.2).
    D,
    /// Non-INVITE request retransmission, unreliable flows only (§17.1.2.2).
    E,
    /// Non-INVITE client transaction timeout (§17.1.2.2).
    F,
    /// INVITE final response retransmission, unreliable flows only (§17.2.1).
    G,
    /// Wait for the ACK in Completed (§17.2.1).
    H,
    /// Absorb retransmitted ACKs in Confirmed (§17.2.1).
    I,
    /// Absorb retransmitted non-INVITE requests in Completed (§17.2.2).
    J,
    /// Absorb retransmitted non-INVITE responses in Completed (§17.1.2.2).
    K,
    /// Absorb INVITE retransmissions after a 2xx in Accepted (RFC 6026 §8.7).
    L,
    /// Pass 2xx retransmissions up in Accepted (RFC 6026 §8.4).
    M,
    /// Send 100 Trying if the TU has not answered an INVITE (§17.2.1).
    Trying,
}

/// The timers one transaction has running: at most a handful, so a small vector.
#[derive(Debug, Clone, Default)]
pub(crate) struct TimerSet {
    running: Vec<(Timer, Time)>,
}

impl TimerSet {
    /// Starts (or restarts) `timer` to fire at `at`.
    pub(crate) fn start(&mut self, timer: Timer, at: Time) {
        self.stop(timer);
        self.running.push((timer, at));
    }

    /// Stops `timer` if it runs.
    pub(crate) fn stop(&mut self, timer: Timer) {
        self.running.retain(|(t, _)| *t != timer);
    }

    /// Stops every timer: a terminated transaction leaves none behind.
    pub(crate) fn clear(&mut self) {
        self.running.clear();
    }

    /// The earliest deadline.
    pub(crate) fn next(&self) -> Option<Time> {
        self.running.iter().map(|(_, at)| *at).min()
    }

    /// Removes and returns the earliest timer due at `now`, if any; ties go to the timer
    /// started first.
    pub(crate) fn pop_due(&mut self, now: Time) -> Option<Timer> {
        let mut best: Option<(usize, Time)> = None;
        for (i, (_, at)) in self.running.iter().enumerate() {
            if *at <= now && best.is_none_or(|(_, b)| *at < b) {
                best = Some((i, *at));
            }
        }
        best.map(|(i, _)| self.running.remove(i).0)
    }

    /// The running timers and their deadlines, in start order.
    pub(crate) fn iter(&self) -> impl Iterator<Item = (Timer, Time)> + '_ {
        self.running.iter().copied()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_t2() {
        let c = Config::default();
        let mut d = c.t1;
        let mut seen = Vec::new();
        for _ in 0..6 {
            d = c.backoff(d);
            seen.push(d.as_millis());
        }
        assert_eq!(seen, [1000, 2000, 4000, 4000, 4000, 4000]);
        assert_eq!(c.timeout(), Duration::from_secs(32));
    }

    #[test]
    fn timer_set_pops_earliest_first() {
        let mut s = TimerSet::default();
        s.start(Timer::B, Time::from_millis(32_000));
        s.start(Timer::A, Time::from_millis(500));
        s.start(Timer::A, Time::from_millis(1_500));
        assert_eq!(s.next(), Some(Time::from_millis(1_500)));
        assert_eq!(s.pop_due(Time::from_millis(1_000)), None);
        assert_eq!(s.pop_due(Time::from_millis(40_000)), Some(Timer::A));
        assert_eq!(s.pop_due(Time::from_millis(40_000)), Some(Timer::B));
        assert_eq!(s.next(), None);
    }
}
