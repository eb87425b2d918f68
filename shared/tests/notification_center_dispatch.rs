//! The notification bus: delivery order, filters, removal and posting during dispatch, and
//! named queues.

use std::cell::RefCell;
use std::rc::Rc;

use sipsimple::notification::{Event, Notification, Originator, Sender};
use sipsimple::notification_center::{NotificationCenter, Observer, ObserverToken};

type Log = Rc<RefCell<Vec<String>>>;

fn log() -> Log {
    Rc::new(RefCell::new(Vec::new()))
}

fn activate(id: &str) -> Notification {
    Notification {
        sender: Sender::Account(id.into()),
        event: Event::SIPAccountDidActivate {},
    }
}

fn deactivate(id: &str) -> Notification {
    Notification {
        sender: Sender::Account(id.into()),
        event: Event::SIPAccountDidDeactivate {},
    }
}

fn session_end(id: u64) -> Notification {
    Notification {
        sender: Sender::Session(id),
        event: Event::SIPSessionDidEnd {
            originator: Originator::Remote,
        },
    }
}

fn describe(n: &Notification) -> String {
    let sender = match &n.sender {
        Sender::Account(id) => id.clone(),
        Sender::Session(id) => format!("session{id}"),
        Sender::Stream { session, index } => format!("session{session}/{index}"),
        Sender::Application => "application".to_string(),
    };
    format!("{}:{sender}", n.event.name())
}

/// An observer that appends `tag` and the notification to `log`.
fn recorder(log: &Log, tag: &'static str) -> impl FnMut(&Notification) + 'static {
    let log = Rc::clone(log);
    move |n| log.borrow_mut().push(format!("{tag} {}", describe(n)))
}

#[test]
fn observers_are_called_in_subscription_order() {
    let mut center = NotificationCenter::new();
    let seen = log();
    for tag in ["first", "second", "third"] {
        // Boxed observers are accepted as they are.
        let boxed: Observer = Box::new(recorder(&seen, tag));
        center.add_observer(None, None, boxed);
    }
    center.post(activate("a@x"));
    center.post(deactivate("a@x"));
    assert_eq!(center.pending(), 2);
    assert_eq!(center.dispatch(), 2);
    assert_eq!(
        *seen.borrow(),
        [
            "first SIPAccountDidActivate:a@x",
            "second SIPAccountDidActivate:a@x",
            "third SIPAccountDidActivate:a@x",
            "first SIPAccountDidDeactivate:a@x",
            "second SIPAccountDidDeactivate:a@x",
            "third SIPAccountDidDeactivate:a@x",
        ]
    );
}

#[test]
fn post_only_queues_until_dispatch() {
    let mut center = NotificationCenter::new();
    let seen = log();
    center.add_observer(None, None, recorder(&seen, "o"));
    center.post(activate("a@x"));
    assert!(seen.borrow().is_empty());
    assert_eq!(center.dispatch(), 1);
    assert_eq!(center.dispatch(), 0, "the queue is empty after a dispatch");
    assert_eq!(seen.borrow().len(), 1);
}

#[test]
fn filters_by_name_sender_both_and_neither() {
    let mut center = NotificationCenter::new();
    let seen = log();
    center.add_observer(Some("SIPAccountDidActivate"), None, recorder(&seen, "name"));
    center.add_observer(
        None,
        Some(Sender::Account("b@x".into())),
        recorder(&seen, "sender"),
    );
    center.add_observer(
        Some("SIPAccountDidDeactivate"),
        Some(Sender::Account("b@x".into())),
        recorder(&seen, "both"),
    );
    center.add_observer(None, None, recorder(&seen, "any"));
    center.add_observer(Some("NoSuchNotification"), None, recorder(&seen, "never"));
    center.post_all([activate("a@x"), deactivate("b@x"), session_end(7)]);
    center.dispatch();
    assert_eq!(
        *seen.borrow(),
        [
            "name SIPAccountDidActivate:a@x",
            "any SIPAccountDidActivate:a@x",
            "sender SIPAccountDidDeactivate:b@x",
            "both SIPAccountDidDeactivate:b@x",
            "any SIPAccountDidDeactivate:b@x",
            "any SIPSessionDidEnd:session7",
        ]
    );
}

#[test]
fn removed_observers_receive_nothing_and_tokens_are_single_use() {
    let mut center = NotificationCenter::new();
    let seen = log();
    let a = center.add_observer(None, None, recorder(&seen, "a"));
    center.add_observer(None, None, recorder(&seen, "b"));
    assert_eq!(center.observer_count(), 2);
    assert!(center.remove_observer(a));
    assert!(!center.remove_observer(a), "already removed");
    center.post(activate("a@x"));
    center.dispatch();
    assert_eq!(*seen.borrow(), ["b SIPAccountDidActivate:a@x"]);
    assert_eq!(center.observer_count(), 1);
}

#[test]
fn an_observer_removes_itself_during_delivery() {
    let mut center = NotificationCenter::new();
    let seen = log();
    let handle = center.handle();
    let token: Rc<RefCell<Option<ObserverToken>>> = Rc::new(RefCell::new(None));
    let own = Rc::clone(&token);
    let record = Rc::clone(&seen);
    let t = center.add_observer(None, None, move |n| {
        record.borrow_mut().push(format!("once {}", describe(n)));
        if let Some(me) = *own.borrow() {
            handle.remove_observer(me);
        }
    });
    *token.borrow_mut() = Some(t);
    center.add_observer(None, None, recorder(&seen, "always"));
    center.post_all([activate("a@x"), deactivate("a@x")]);
    assert_eq!(center.dispatch(), 2);
    assert_eq!(
        *seen.borrow(),
        [
            "once SIPAccountDidActivate:a@x",
            "always SIPAccountDidActivate:a@x",
            "always SIPAccountDidDeactivate:a@x",
        ]
    );
    assert_eq!(center.observer_count(), 1);
}

#[test]
fn an_observer_removed_by_an_earlier_one_misses_the_current_notification() {
    let mut center = NotificationCenter::new();
    let seen = log();
    let handle = center.handle();
    let victim: Rc<RefCell<Option<ObserverToken>>> = Rc::new(RefCell::new(None));
    let target = Rc::clone(&victim);
    center.add_observer(None, None, move |_| {
        if let Some(t) = target.borrow_mut().take() {
            handle.remove_observer(t);
        }
    });
    let t = center.add_observer(None, None, recorder(&seen, "victim"));
    *victim.borrow_mut() = Some(t);
    center.add_observer(None, None, recorder(&seen, "after"));
    center.post(activate("a@x"));
    center.dispatch();
    assert_eq!(*seen.borrow(), ["after SIPAccountDidActivate:a@x"]);
}

#[test]
fn notifications_posted_during_delivery_come_after_the_queued_ones() {
    let mut center = NotificationCenter::new();
    let seen = log();
    let handle = center.handle();
    // On each activation, post the matching deactivation.
    center.add_observer(Some("SIPAccountDidActivate"), None, move |n| {
        if let Sender::Account(id) = &n.sender {
            handle.post(deactivate(id));
        }
    });
    center.add_observer(None, None, recorder(&seen, "o"));
    center.post_all([activate("a@x"), activate("b@x")]);
    assert_eq!(center.dispatch(), 4, "the reposted ones are delivered too");
    assert_eq!(
        *seen.borrow(),
        [
            "o SIPAccountDidActivate:a@x",
            "o SIPAccountDidActivate:b@x",
            "o SIPAccountDidDeactivate:a@x",
            "o SIPAccountDidDeactivate:b@x",
        ]
    );
    assert_eq!(center.pending(), 0);
}

#[test]
fn an_observer_added_during_delivery_starts_with_the_next_notification() {
    let mut center = NotificationCenter::new();
    let seen = log();
    let handle = center.handle();
    let late = Rc::clone(&seen);
    let mut added = false;
    center.add_observer(None, None, move |_| {
        if !added {
            added = true;
            handle.add_observer(None, None, recorder(&late, "late"));
        }
    });
    center.add_observer(None, None, recorder(&seen, "early"));
    center.post_all([activate("a@x"), deactivate("a@x")]);
    center.dispatch();
    assert_eq!(
        *seen.borrow(),
        [
            "early SIPAccountDidActivate:a@x",
            "early SIPAccountDidDeactivate:a@x",
            "late SIPAccountDidDeactivate:a@x",
        ]
    );
    assert_eq!(center.observer_count(), 3);
}

#[test]
fn handle_requests_outside_dispatch_apply_before_the_next_step() {
    let mut center = NotificationCenter::new();
    let seen = log();
    let handle = center.handle();
    let t = handle.add_observer(Some("SIPSessionDidEnd"), None, recorder(&seen, "h"));
    handle.post(session_end(1));
    assert_eq!(center.pending(), 1);
    center.dispatch();
    handle.remove_observer(t);
    handle.post(session_end(2));
    center.dispatch();
    assert_eq!(*seen.borrow(), ["h SIPSessionDidEnd:session1"]);
    assert_eq!(center.observer_count(), 0);
}

#[test]
fn named_queues_collect_for_the_shell_in_subscription_order() {
    let mut center = NotificationCenter::new();
    let seen = log();
    center.add_observer(None, None, recorder(&seen, "closure"));
    center.add_queue_observer("page", Some("SIPAccountDidActivate"), None);
    center.add_queue_observer("page", None, Some(Sender::Session(3)));
    center.add_queue_observer("log", None, None);
    // A closure subscribed after the "log" queue sees it already holding the notification.
    let handle = center.handle();
    let mut reposted = false;
    center.add_observer(Some("SIPSessionDidEnd"), None, move |n| {
        if !reposted {
            reposted = true;
            handle.post(Notification {
                sender: n.sender.clone(),
                event: Event::SIPSessionWillEnd {},
            });
        }
    });
    center.post_all([activate("a@x"), session_end(3), deactivate("a@x")]);
    assert_eq!(center.dispatch(), 4);
    assert_eq!(center.queue_names(), ["log", "page"]);
    let page: Vec<String> = center.drain_queue("page").iter().map(describe).collect();
    assert_eq!(
        page,
        [
            "SIPAccountDidActivate:a@x",
            "SIPSessionDidEnd:session3",
            "SIPSessionWillEnd:session3",
        ]
    );
    assert!(center.drain_queue("page").is_empty(), "drained");
    assert_eq!(center.queue_len("log"), 4);
    assert_eq!(
        center.pop_queue("log").as_ref().map(describe).as_deref(),
        Some("SIPAccountDidActivate:a@x")
    );
    assert!(center.drain_queue("unknown").is_empty());
    assert_eq!(seen.borrow().len(), 4);
    center.remove_queue("log");
    assert_eq!(center.queue_names(), ["page"]);
    assert_eq!(
        center.observer_count(),
        4,
        "the log subscription went with its queue"
    );
}

#[test]
fn a_notification_matching_two_subscriptions_of_one_queue_is_queued_twice() {
    let mut center = NotificationCenter::new();
    center.add_queue_observer("q", None, None);
    center.add_queue_observer("q", Some("SIPAccountDidActivate"), None);
    center.post(activate("a@x"));
    center.dispatch();
    assert_eq!(center.queue_len("q"), 2);
}

#[test]
fn a_queue_subscription_removed_keeps_what_was_queued() {
    let mut center = NotificationCenter::new();
    let t = center.add_queue_observer("page", None, None);
    center.post(activate("a@x"));
    center.dispatch();
    assert!(center.remove_observer(t));
    center.post(activate("b@x"));
    center.dispatch();
    let page: Vec<String> = center.drain_queue("page").iter().map(describe).collect();
    assert_eq!(page, ["SIPAccountDidActivate:a@x"]);
}

#[test]
fn observers_may_post_to_themselves_without_reentrancy() {
    let mut center = NotificationCenter::new();
    let handle = center.handle();
    let depth = Rc::new(RefCell::new(0u32));
    let max_depth = Rc::new(RefCell::new(0u32));
    let (d, m) = (Rc::clone(&depth), Rc::clone(&max_depth));
    let mut remaining = 5;
    center.add_observer(None, None, move |n| {
        *d.borrow_mut() += 1;
        let now = *d.borrow();
        let mut max = m.borrow_mut();
        *max = (*max).max(now);
        if remaining > 0 {
            remaining -= 1;
            handle.post(n.clone());
        }
        *d.borrow_mut() -= 1;
    });
    center.post(activate("a@x"));
    assert_eq!(center.dispatch(), 6);
    assert_eq!(*max_depth.borrow(), 1, "never called while already running");
}

#[test]
fn dispatch_at_most_bounds_an_observer_that_always_posts() {
    let mut center = NotificationCenter::new();
    let handle = center.handle();
    center.add_observer(None, None, move |n| handle.post(n.clone()));
    center.post(activate("a@x"));
    assert_eq!(center.dispatch_at_most(10), 10);
    assert_eq!(center.pending(), 1, "the echo of the last delivery waits");
}
