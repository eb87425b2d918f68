//! The notification bus (the seed's middleware API: python-application's `NotificationCenter`).
//!
//! Observers subscribe by notification name and/or sender, either of which may be a wildcard,
//! and are delivered [`Notification`]s in subscription order. The center is sans-IO and
//! re-entrancy safe: [`NotificationCenter::post`] only queues, [`NotificationCenter::dispatch`]
//! delivers everything queued (including what observers post while being delivered to).
//!
//! Observers are closures (`FnMut(&Notification)`, no `Send`: the browser is single-threaded).
//! A closure that needs to post, subscribe or unsubscribe (itself included) while it runs
//! captures a [`CenterHandle`]; its requests are applied between two deliveries, so no
//! observer ever runs while another one is borrowed.
//!
//! For shells that cannot hold Rust closures (the browser glue hands notifications to
//! JavaScript), an observer can instead be a *named queue*: matching notifications are copied
//! into it and the shell drains it with [`NotificationCenter::drain_queue`].
//!
//! ```
//! use std::{cell::RefCell, rc::Rc};
//! use sipsimple::notification::{Event, Notification, Sender};
//! use sipsimple::notification_center::NotificationCenter;
//!
//! let mut center = NotificationCenter::new();
//! let seen = Rc::new(RefCell::new(Vec::new()));
//! let log = Rc::clone(&seen);
//! center.add_observer(Some("SIPAccountDidActivate"), None, move |n: &Notification| {
//!     log.borrow_mut().push(n.sender.clone());
//! });
//! center.post(Notification {
//!     sender: Sender::Account("alice@example.com".into()),
//!     event: Event::SIPAccountDidActivate {},
//! });
//! assert!(seen.borrow().is_empty()); // post only queues
//! assert_eq!(center.dispatch(), 1);
//! assert_eq!(seen.borrow().len(), 1);
//! ```

use crate::vec_map::VecMap;
use std::cell::RefCell;
use std::collections::VecDeque;
use std::fmt;
use std::rc::Rc;

use crate::notification::{Notification, Sender};

/// Identifies one subscription; pass it to [`NotificationCenter::remove_observer`].
///
/// Tokens increase with every subscription, so their order is the delivery order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ObserverToken(u64);

/// Which notifications a subscription receives: `None` in a field is a wildcard.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Filter {
    /// The notification name (`"SIPSessionDidEnd"`), or any name.
    pub name: Option<String>,
    /// The sender, or any sender.
    pub sender: Option<Sender>,
}

impl Filter {
    /// A filter for `name` (or any name) from `sender` (or any sender).
    pub fn new(name: Option<&str>, sender: Option<Sender>) -> Filter {
        Filter {
            name: name.map(str::to_string),
            sender,
        }
    }

    /// `true` when `notification` passes this filter.
    pub fn matches(&self, notification: &Notification) -> bool {
        self.name
            .as_deref()
            .is_none_or(|name| name == notification.event.name())
            && self
                .sender
                .as_ref()
                .is_none_or(|sender| *sender == notification.sender)
    }
}

/// A boxed observer closure.
pub type Observer = Box<dyn FnMut(&Notification)>;

/// Where a subscription delivers.
enum Target {
    /// A closure; `None` while it is running (taken out so that it is not borrowed twice).
    Closure(Option<Observer>),
    /// A named queue drained by the shell.
    Queue(String),
}

struct Subscription {
    filter: Filter,
    target: Target,
}

/// Requests made through a [`CenterHandle`], applied by the center at its next step.
#[derive(Default)]
struct Shared {
    next_token: u64,
    pending: VecDeque<Notification>,
    added: Vec<(ObserverToken, Subscription)>,
    removed: Vec<ObserverToken>,
}

impl Shared {
    fn token(&mut self) -> ObserverToken {
        let token = ObserverToken(self.next_token);
        self.next_token = self.next_token.saturating_add(1);
        token
    }
}

/// The notification bus: subscriptions, the queue of posted notifications and the named
/// queues of the shell.
pub struct NotificationCenter {
    shared: Rc<RefCell<Shared>>,
    subscriptions: VecMap<ObserverToken, Subscription>,
    queues: VecMap<String, VecDeque<Notification>>,
}

impl fmt::Debug for NotificationCenter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NotificationCenter")
            .field("observers", &self.subscriptions.len())
            .field("pending", &self.shared.borrow().pending.len())
            .field("queues", &self.queues.keys().collect::<Vec<_>>())
            .finish()
    }
}

impl Default for NotificationCenter {
    fn default() -> Self {
        NotificationCenter::new()
    }
}

impl NotificationCenter {
    /// An empty center.
    pub fn new() -> NotificationCenter {
        NotificationCenter {
            shared: Rc::new(RefCell::new(Shared::default())),
            subscriptions: VecMap::new(),
            queues: VecMap::new(),
        }
    }

    /// A handle observers can capture to post and (un)subscribe while they are delivered to.
    ///
    /// The handle does not keep the observers alive, so capturing it makes no reference cycle.
    pub fn handle(&self) -> CenterHandle {
        CenterHandle {
            shared: Rc::clone(&self.shared),
        }
    }

    /// Subscribes `observer` to notifications called `name` (any name if `None`) from `sender`
    /// (any sender if `None`). It is called from [`dispatch`](Self::dispatch), after every
    /// observer subscribed before it.
    pub fn add_observer<F>(
        &mut self,
        name: Option<&str>,
        sender: Option<Sender>,
        observer: F,
    ) -> ObserverToken
    where
        F: FnMut(&Notification) + 'static,
    {
        self.apply_requests();
        let token = self.shared.borrow_mut().token();
        self.subscriptions.insert(
            token,
            Subscription {
                filter: Filter::new(name, sender),
                target: Target::Closure(Some(Box::new(observer))),
            },
        );
        token
    }

    /// Subscribes the named queue `queue` (created if needed): matching notifications are
    /// copied into it, in subscription order with the closures, for the shell to
    /// [`drain`](Self::drain_queue). Several subscriptions may feed one queue; a notification
    /// matching two of them is queued twice.
    pub fn add_queue_observer(
        &mut self,
        queue: &str,
        name: Option<&str>,
        sender: Option<Sender>,
    ) -> ObserverToken {
        self.apply_requests();
        let token = self.shared.borrow_mut().token();
        self.queues.get_or_default(queue.to_string());
        self.subscriptions.insert(
            token,
            Subscription {
                filter: Filter::new(name, sender),
                target: Target::Queue(queue.to_string()),
            },
        );
        token
    }

    /// Ends a subscription. Returns `false` if the token was unknown (or already removed).
    /// Notifications already copied into a named queue stay there until drained.
    pub fn remove_observer(&mut self, token: ObserverToken) -> bool {
        self.apply_requests();
        self.subscriptions.remove(&token).is_some()
    }

    /// The number of subscriptions, counting those requested through handles.
    pub fn observer_count(&self) -> usize {
        let shared = self.shared.borrow();
        let live = |t: &ObserverToken| !shared.removed.contains(t);
        self.subscriptions.keys().filter(|t| live(t)).count()
            + shared.added.iter().filter(|(t, _)| live(t)).count()
    }

    /// Queues `notification` for the next [`dispatch`](Self::dispatch).
    pub fn post(&mut self, notification: Notification) {
        self.shared.borrow_mut().pending.push_back(notification);
    }

    /// Queues every notification of `notifications`, in order.
    pub fn post_all<I: IntoIterator<Item = Notification>>(&mut self, notifications: I) {
        self.shared.borrow_mut().pending.extend(notifications);
    }

    /// The number of notifications posted and not yet dispatched.
    pub fn pending(&self) -> usize {
        self.shared.borrow().pending.len()
    }

    /// Delivers queued notifications, oldest first, until the queue is empty, and returns how
    /// many were delivered. Notifications posted by observers meanwhile are delivered in the
    /// same call, after those posted before them.
    ///
    /// Each notification goes to the subscriptions that existed when its delivery began and
    /// still exist when their turn comes: an observer removed during delivery (by itself or
    /// another) receives nothing more, one added during delivery starts with the next
    /// notification.
    ///
    /// Observers that post on every delivery would keep this going forever; a shell that
    /// cannot trust its observers uses [`dispatch_at_most`](Self::dispatch_at_most).
    pub fn dispatch(&mut self) -> usize {
        self.dispatch_at_most(usize::MAX)
    }

    /// Delivers at most `limit` queued notifications, as [`dispatch`](Self::dispatch) does,
    /// and returns how many were delivered; the rest stay queued.
    pub fn dispatch_at_most(&mut self, limit: usize) -> usize {
        let mut delivered = 0;
        while delivered < limit {
            self.apply_requests();
            let Some(notification) = self.shared.borrow_mut().pending.pop_front() else {
                break;
            };
            self.deliver(&notification);
            delivered += 1;
        }
        self.apply_requests();
        delivered
    }

    /// Delivers one notification to each matching subscription in token order.
    fn deliver(&mut self, notification: &Notification) {
        let targets: Vec<ObserverToken> = self
            .subscriptions
            .iter()
            .filter(|(_, s)| s.filter.matches(notification))
            .map(|(t, _)| *t)
            .collect();
        for token in targets {
            self.apply_requests();
            let Some(subscription) = self.subscriptions.get_mut(&token) else {
                continue;
            };
            match &mut subscription.target {
                Target::Queue(name) => {
                    self.queues
                        .get_or_default(name.clone())
                        .push_back(notification.clone());
                }
                Target::Closure(slot) => {
                    // Take the closure out so that the center stays usable (through handles)
                    // while it runs; put it back unless it was removed meanwhile.
                    let Some(mut observer) = slot.take() else {
                        continue;
                    };
                    observer(notification);
                    self.apply_requests();
                    if let Some(Subscription {
                        target: Target::Closure(slot),
                        ..
                    }) = self.subscriptions.get_mut(&token)
                    {
                        *slot = Some(observer);
                    }
                }
            }
        }
    }

    /// Applies the subscriptions and removals requested through handles.
    fn apply_requests(&mut self) {
        let (added, removed) = {
            let mut shared = self.shared.borrow_mut();
            (
                std::mem::take(&mut shared.added),
                std::mem::take(&mut shared.removed),
            )
        };
        for (token, subscription) in added {
            if let Target::Queue(name) = &subscription.target {
                self.queues.get_or_default(name.clone());
            }
            self.subscriptions.insert(token, subscription);
        }
        for token in removed {
            self.subscriptions.remove(&token);
        }
    }

    /// Takes every notification waiting in the named queue, oldest first. An unknown queue
    /// is empty.
    pub fn drain_queue(&mut self, queue: &str) -> Vec<Notification> {
        self.queues
            .get_mut(queue)
            .map(|q| q.drain(..).collect())
            .unwrap_or_default()
    }

    /// Takes the oldest notification waiting in the named queue.
    pub fn pop_queue(&mut self, queue: &str) -> Option<Notification> {
        self.queues.get_mut(queue)?.pop_front()
    }

    /// The number of notifications waiting in the named queue.
    pub fn queue_len(&self, queue: &str) -> usize {
        self.queues.get(queue).map_or(0, VecDeque::len)
    }

    /// The names of the named queues, sorted.
    pub fn queue_names(&self) -> Vec<String> {
        self.queues.keys().cloned().collect()
    }

    /// Forgets a named queue and what it holds; its subscriptions are removed too.
    pub fn remove_queue(&mut self, queue: &str) {
        self.apply_requests();
        self.queues.remove(queue);
        self.subscriptions
            .retain(|_, s| !matches!(&s.target, Target::Queue(name) if name == queue));
    }
}

/// A cheap, cloneable handle on a [`NotificationCenter`] for use inside observers: what it
/// requests takes effect before the center's next delivery.
#[derive(Clone)]
pub struct CenterHandle {
    shared: Rc<RefCell<Shared>>,
}

impl fmt::Debug for CenterHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CenterHandle").finish_non_exhaustive()
    }
}

impl CenterHandle {
    /// Queues `notification`; it is delivered by the running (or next) `dispatch`, after the
    /// notifications posted before it.
    pub fn post(&self, notification: Notification) {
        self.shared.borrow_mut().pending.push_back(notification);
    }

    /// Subscribes `observer` as [`NotificationCenter::add_observer`] does; during a delivery
    /// it starts with the next notification.
    pub fn add_observer<F>(
        &self,
        name: Option<&str>,
        sender: Option<Sender>,
        observer: F,
    ) -> ObserverToken
    where
        F: FnMut(&Notification) + 'static,
    {
        let mut shared = self.shared.borrow_mut();
        let token = shared.token();
        shared.added.push((
            token,
            Subscription {
                filter: Filter::new(name, sender),
                target: Target::Closure(Some(Box::new(observer))),
            },
        ));
        token
    }

    /// Subscribes a named queue as [`NotificationCenter::add_queue_observer`] does.
    pub fn add_queue_observer(
        &self,
        queue: &str,
        name: Option<&str>,
        sender: Option<Sender>,
    ) -> ObserverToken {
        let mut shared = self.shared.borrow_mut();
        let token = shared.token();
        shared.added.push((
            token,
            Subscription {
                filter: Filter::new(name, sender),
                target: Target::Queue(queue.to_string()),
            },
        ));
        token
    }

    /// Ends a subscription (an observer may pass its own token): it receives nothing after
    /// the observer that asked returns.
    pub fn remove_observer(&self, token: ObserverToken) {
        self.shared.borrow_mut().removed.push(token);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::notification::Event;

    fn activate(id: &str) -> Notification {
        Notification {
            sender: Sender::Account(id.into()),
            event: Event::SIPAccountDidActivate {},
        }
    }

    #[test]
    fn filter_wildcards() {
        let n = activate("a@b");
        assert!(Filter::default().matches(&n));
        assert!(Filter::new(Some("SIPAccountDidActivate"), None).matches(&n));
        assert!(!Filter::new(Some("SIPAccountDidDeactivate"), None).matches(&n));
        assert!(Filter::new(None, Some(Sender::Account("a@b".into()))).matches(&n));
        assert!(!Filter::new(None, Some(Sender::Session(1))).matches(&n));
    }

    #[test]
    fn an_observer_is_not_borrowed_twice_when_it_posts() {
        let mut center = NotificationCenter::new();
        let handle = center.handle();
        let mut count = 0;
        center.add_observer(None, None, move |_| {
            count += 1;
            if count < 3 {
                handle.post(activate("x@y"));
            }
        });
        center.post(activate("x@y"));
        assert_eq!(center.dispatch(), 3);
        assert_eq!(center.pending(), 0);
    }
}
