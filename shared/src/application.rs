//! The seed's `SIPApplication`: starts and stops the sub-systems (the [`AccountManager`],
//! the [`SessionManager`]) and delivers everything through one [`NotificationCenter`].
//!
//! Sans-IO like the rest of the core: the shell owns the flows and the timer, and drives
//! the application's [`SessionManager`]; [`SIPApplication::poll_transmit`] posts the user
//! agents' notifications to the center as it hands out their messages, and the shell
//! calls [`NotificationCenter::dispatch`] to deliver them.
//!
//! The seed lists no notifications for `SIPApplication`; these are python-sipsimple's:
//! `SIPApplicationWillStart`, `SIPApplicationDidStart`, `SIPApplicationWillEnd`,
//! `SIPApplicationDidEnd` (sender: [`Sender::Application`]).
//!
//! ```
//! use sipsimple::application::SIPApplication;
//! use sipsimple::settings::MemoryStorage;
//! use sipsimple::Time;
//! let mut app = SIPApplication::new(7);
//! let queue = "log";
//! app.notification_center.add_queue_observer(queue, None, None);
//! app.start(&MemoryStorage::new()).expect("not running yet");
//! app.stop(Time::from_millis(0));
//! app.notification_center.dispatch();
//! let names: Vec<&str> = app
//!     .notification_center
//!     .drain_queue(queue)
//!     .iter()
//!     .map(|n| n.event.name())
//!     .collect();
//! assert_eq!(names.first(), Some(&"SIPApplicationWillStart"));
//! assert_eq!(names.last(), Some(&"SIPApplicationDidEnd"));
//! ```

use crate::account::{AccountEvent, AccountManager, StartReport};
use crate::notification::{Event, Notification, Sender};
use crate::notification_center::NotificationCenter;
use crate::session_manager::SessionManager;
use crate::settings::Storage;
use crate::time::Time;
use crate::ua::Output;
use std::collections::VecDeque;

/// Why the application refused a command.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ApplicationError {
    /// `start` while running.
    AlreadyRunning,
}

impl core::fmt::Display for ApplicationError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            ApplicationError::AlreadyRunning => f.write_str("the application runs already"),
        }
    }
}

impl std::error::Error for ApplicationError {}

/// The seed's `SIPApplication`.
#[derive(Debug)]
pub struct SIPApplication {
    running: bool,
    /// Messages drained while posting notifications in order, not yet handed out.
    pending: VecDeque<(String, Vec<u8>)>,
    /// The accounts.
    pub account_manager: AccountManager,
    /// The user agents and their sessions.
    pub session_manager: SessionManager,
    /// The bus every notification goes through.
    pub notification_center: NotificationCenter,
}

impl SIPApplication {
    /// A stopped application whose account manager is seeded with `seed`.
    pub fn new(seed: u64) -> SIPApplication {
        SIPApplication {
            running: false,
            pending: VecDeque::new(),
            account_manager: AccountManager::new(seed),
            session_manager: SessionManager::new(),
            notification_center: NotificationCenter::new(),
        }
    }

    /// Whether the application runs (between `start` and `stop`).
    pub fn is_running(&self) -> bool {
        self.running
    }

    fn post(&mut self, event: Event) {
        self.notification_center.post(Notification {
            sender: Sender::Application,
            event,
        });
    }

    fn post_accounts(&mut self, events: &[AccountEvent]) {
        for n in events.iter().filter_map(AccountEvent::notification) {
            self.notification_center.post(n);
        }
    }

    /// Starts the sub-systems: SIPApplicationWillStart, the account manager (loading from
    /// `storage`, activating), the session manager, SIPApplicationDidStart. The account
    /// events are returned; those the bus has names for are posted too.
    pub fn start<S: Storage + ?Sized>(
        &mut self,
        storage: &S,
    ) -> Result<StartReport, ApplicationError> {
        if self.running {
            return Err(ApplicationError::AlreadyRunning);
        }
        self.post(Event::SIPApplicationWillStart {});
        let report = self.account_manager.start(storage);
        self.post_accounts(&report.events);
        self.running = true;
        self.post(Event::SIPApplicationDidStart {});
        Ok(report)
    }

    /// Stops the sub-systems: SIPApplicationWillEnd, every session ended, the accounts
    /// deactivated, SIPApplicationDidEnd. The user agents stay, so that the shell can drain
    /// the BYEs and CANCELs. Does nothing when not running.
    pub fn stop(&mut self, now: Time) -> Vec<AccountEvent> {
        if !self.running {
            return Vec::new();
        }
        // What happened before the stop is delivered before it.
        self.drain_notifications();
        self.post(Event::SIPApplicationWillEnd {});
        self.session_manager.end_all(now);
        self.drain_notifications();
        let events = self.account_manager.stop();
        self.post_accounts(&events);
        self.running = false;
        self.post(Event::SIPApplicationDidEnd {});
        events
    }

    /// The next message to send, with the account whose flow it goes on; the
    /// notifications met on the way are posted to the center.
    pub fn poll_transmit(&mut self) -> Option<(String, Vec<u8>)> {
        if let Some(p) = self.pending.pop_front() {
            return Some(p);
        }
        while let Some((account, out)) = self.session_manager.poll_output() {
            match out {
                Output::Transmit(bytes) => return Some((account, bytes)),
                Output::Notification(n) => self.notification_center.post(n),
            }
        }
        None
    }

    /// Posts the user agents' pending notifications, keeping their messages queued for
    /// [`poll_transmit`](Self::poll_transmit).
    fn drain_notifications(&mut self) {
        let mut held = Vec::new();
        while let Some((account, out)) = self.session_manager.poll_output() {
            match out {
                Output::Transmit(bytes) => held.push((account, bytes)),
                Output::Notification(n) => self.notification_center.post(n),
            }
        }
        self.pending.extend(held);
    }
}
