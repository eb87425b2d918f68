//! The composer's and the receiver's state machines of RFC 3994 §3.2–§3.3 and §4, on the
//! shell's monotonic clock ([`Time`]); no timer of their own.
//!
//! Both are driven the same way: feed an input with the current time, act on what it
//! returns, and call `handle_timeout(now)` once `poll_timeout()` has passed.

use super::{IsComposing, State};
use crate::cpim::DateTime;
use crate::time::Time;
use core::num::NonZeroU32;
use core::time::Duration;

/// Composing activity older than this ends the active state (RFC 3994 §3.2 suggests 15 s).
pub const DEFAULT_IDLE_TIMEOUT: Duration = Duration::from_secs(15);
/// How often a composer refreshes an active state by default.
pub const DEFAULT_REFRESH: Duration = Duration::from_secs(120);
/// How long a receiver keeps an active state without refresh when the document names no
/// `refresh` interval (RFC 3994 §3.3).
pub const RECEIVER_DEFAULT_REFRESH: Duration = Duration::from_secs(120);

/// The composer's settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ComposingConfig {
    /// Time without composing activity after which the state becomes idle.
    pub idle_timeout: Duration,
    /// Interval between active-state refreshes, announced in `<refresh>`.
    pub refresh: Duration,
    /// What is being composed, for `<contenttype>` (`None` for text).
    pub content_type: Option<String>,
}

impl Default for ComposingConfig {
    fn default() -> Self {
        ComposingConfig {
            idle_timeout: DEFAULT_IDLE_TIMEOUT,
            refresh: DEFAULT_REFRESH,
            content_type: None,
        }
    }
}

/// A status message the composer must send now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ComposingOutput {
    /// Send an active-state document: on entering the active state, and as a refresh.
    SendActive,
    /// Send an idle-state document: the idle timeout passed since the last activity.
    SendIdle {
        /// When the user was last active, on the shell's clock.
        last_active: Time,
    },
}

/// The composer's side (RFC 3994 §3.2, §4): says when to send active, refresh and idle
/// status messages as the local user types.
#[derive(Debug, Clone)]
pub struct ComposingState {
    config: ComposingConfig,
    active: bool,
    last_activity: Time,
    last_active_sent: Time,
}

impl ComposingState {
    /// An idle composer.
    pub fn new(config: ComposingConfig) -> ComposingState {
        ComposingState {
            config,
            active: false,
            last_activity: Time::default(),
            last_active_sent: Time::default(),
        }
    }

    /// The settings.
    pub fn config(&self) -> &ComposingConfig {
        &self.config
    }

    /// The current state.
    pub fn state(&self) -> State {
        if self.active {
            State::Active
        } else {
            State::Idle
        }
    }

    /// The local user composed (a key press, an audio recording going on). Returns
    /// [`ComposingOutput::SendActive`] when entering the active state, or when a refresh is
    /// due and its timeout has not been handled yet; nothing otherwise, so that keystrokes
    /// do not become messages.
    pub fn typing(&mut self, now: Time) -> Option<ComposingOutput> {
        self.last_activity = now;
        if !self.active || now >= self.last_active_sent + self.config.refresh {
            self.active = true;
            self.last_active_sent = now;
            return Some(ComposingOutput::SendActive);
        }
        None
    }

    /// The message was sent: the state becomes idle without an idle status message, the
    /// message itself telling the receiver (RFC 3994 §3.2).
    pub fn message_sent(&mut self, _now: Time) {
        self.active = false;
    }

    /// The timeout returned by [`poll_timeout`](Self::poll_timeout) passed: the idle timeout
    /// (→ [`ComposingOutput::SendIdle`]) or the refresh interval
    /// (→ [`ComposingOutput::SendActive`]). Early or repeated calls return nothing.
    pub fn handle_timeout(&mut self, now: Time) -> Option<ComposingOutput> {
        if !self.active {
            return None;
        }
        if now >= self.last_activity + self.config.idle_timeout {
            self.active = false;
            return Some(ComposingOutput::SendIdle {
                last_active: self.last_activity,
            });
        }
        if now >= self.last_active_sent + self.config.refresh {
            self.last_active_sent = now;
            return Some(ComposingOutput::SendActive);
        }
        None
    }

    /// When [`handle_timeout`](Self::handle_timeout) must next be called; `None` when idle.
    pub fn poll_timeout(&self) -> Option<Time> {
        self.active.then(|| {
            (self.last_activity + self.config.idle_timeout)
                .min(self.last_active_sent + self.config.refresh)
        })
    }

    /// The document for `output`. `wall_now` is the wall-clock time at `now`; it dates
    /// `<lastactive>` of an idle document.
    pub fn document(&self, output: &ComposingOutput, now: Time, wall_now: DateTime) -> IsComposing {
        let ct = self.config.content_type.as_deref();
        match output {
            ComposingOutput::SendActive => {
                let r = self.config.refresh;
                let secs = r.as_secs() + u64::from(r.subsec_nanos() > 0);
                let secs = u32::try_from(secs).unwrap_or(u32::MAX).max(1);
                IsComposing::active(ct, NonZeroU32::new(secs))
            }
            ComposingOutput::SendIdle { last_active } => {
                let ago = now.saturating_since(*last_active);
                IsComposing::idle(ct, wall_now.checked_sub(ago))
            }
        }
    }
}

/// A change of the remote party's composing state, to show to the user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RemoteComposing {
    /// The remote party started composing.
    Active {
        /// What is being composed, from `<contenttype>`.
        content_type: Option<String>,
    },
    /// The remote party stopped composing, sent its message, or its active state expired.
    Idle {
        /// From `<lastactive>` of an idle document, when there was one.
        last_active: Option<DateTime>,
    },
}

/// The receiver's side (RFC 3994 §3.3): the remote party's state, kept active until an idle
/// document, a message, or the end of the refresh interval (120 s when not given).
#[derive(Debug, Clone, Default)]
pub struct ComposingReceiver {
    active_until: Option<Time>,
    grace: Duration,
}

impl ComposingReceiver {
    /// A receiver that sees the remote party idle.
    pub fn new() -> ComposingReceiver {
        ComposingReceiver::default()
    }

    /// The same receiver, waiting `grace` past the refresh interval before expiring an
    /// active state. RFC 3994 §3.3 waits exactly the interval, so a refresh delayed by the
    /// network briefly shows the remote party idle; a grace of a second or two avoids that.
    pub fn with_grace(self, grace: Duration) -> ComposingReceiver {
        ComposingReceiver { grace, ..self }
    }

    /// The remote party's state.
    pub fn state(&self) -> State {
        if self.active_until.is_some() {
            State::Active
        } else {
            State::Idle
        }
    }

    /// A status document arrived. Returns the change, if the state changed; a refresh of an
    /// active state only moves its expiry.
    pub fn handle_status(&mut self, now: Time, doc: &IsComposing) -> Option<RemoteComposing> {
        match doc.state {
            State::Active => {
                let refresh = doc.refresh.map_or(RECEIVER_DEFAULT_REFRESH, |r| {
                    Duration::from_secs(u64::from(r.get()))
                });
                let was_idle = self.active_until.is_none();
                self.active_until = Some(now + refresh + self.grace);
                was_idle.then(|| RemoteComposing::Active {
                    content_type: doc.content_type.clone(),
                })
            }
            State::Idle => self.active_until.take().map(|_| RemoteComposing::Idle {
                last_active: doc.last_active,
            }),
        }
    }

    /// A message (content, not a status document) arrived: the remote party is idle.
    pub fn message_received(&mut self, _now: Time) -> Option<RemoteComposing> {
        self.active_until
            .take()
            .map(|_| RemoteComposing::Idle { last_active: None })
    }

    /// Expires an active state whose refresh did not come in time.
    pub fn handle_timeout(&mut self, now: Time) -> Option<RemoteComposing> {
        match self.active_until {
            Some(until) if now >= until => {
                self.active_until = None;
                Some(RemoteComposing::Idle { last_active: None })
            }
            _ => None,
        }
    }

    /// When the active state expires; `None` when idle.
    pub fn poll_timeout(&self) -> Option<Time> {
        self.active_until
    }
}
