//! Account activation: active exactly when enabled and the application runs, with the exact
//! notification sequences of start, stop, enable and disable.

mod account_support;

use std::cell::RefCell;
use std::rc::Rc;

use account_support::{account, trace};
use sipsimple::account::{AccountManager, BonjourAccount, Feature};
use sipsimple::notification::Sender;
use sipsimple::notification_center::NotificationCenter;
use sipsimple::settings::MemoryStorage;

/// A running manager with `a@x.org` (enabled, the default) and `b@x.org` (disabled).
fn running() -> (AccountManager, MemoryStorage) {
    let mut store = MemoryStorage::new();
    let mut m = AccountManager::new(1);
    m.start(&store);
    m.add_account(account("a@x.org", true), &mut store)
        .expect("add a");
    m.add_account(account("b@x.org", false), &mut store)
        .expect("add b");
    (m, store)
}

#[test]
fn start_on_an_empty_store_adds_only_the_bonjour_account() {
    let store = MemoryStorage::new();
    let mut m = AccountManager::new(1);
    assert!(!m.is_running());
    let report = m.start(&store);
    assert_eq!(
        trace(&report.events),
        ["SIPAccountManagerDidAddAccount(bonjour@local)"]
    );
    assert!(report.skipped.is_empty());
    assert!(m.is_running());
    assert!(!m.bonjour_account().is_active(), "disabled by default");
}

#[test]
fn adding_accounts_while_running_activates_the_enabled_ones() {
    let mut store = MemoryStorage::new();
    let mut m = AccountManager::new(1);
    m.start(&store);
    let events = m
        .add_account(account("a@x.org", true), &mut store)
        .expect("add a");
    assert_eq!(
        trace(&events),
        [
            "SIPAccountManagerDidAddAccount(a@x.org)",
            "SIPAccountManagerDidChangeDefaultAccount(none->a@x.org)",
            "SIPAccountDidActivate(a@x.org)",
        ]
    );
    let events = m
        .add_account(account("b@x.org", false), &mut store)
        .expect("add b");
    assert_eq!(trace(&events), ["SIPAccountManagerDidAddAccount(b@x.org)"]);
    assert!(m.account("a@x.org").is_some_and(|a| a.is_active()));
    assert!(m.account("b@x.org").is_some_and(|a| !a.is_active()));
}

#[test]
fn stop_deactivates_and_start_reactivates_without_reloading() {
    let (mut m, mut store) = running();
    m.bonjour_account_mut().edit().enabled = true;
    m.save_account(BonjourAccount::ID, &mut store)
        .expect("save bonjour");
    assert_eq!(
        trace(&m.stop()),
        [
            "SIPAccountDidDeactivate(bonjour@local)",
            "SIPAccountDidDeactivate(a@x.org)"
        ]
    );
    assert!(!m.is_running());
    assert!(m.stop().is_empty(), "stopping twice does nothing");
    assert!(
        m.iter_accounts().all(|a| !a.is_active()),
        "nothing active while stopped"
    );
    assert_eq!(m.get_accounts().len(), 3, "accounts stay loaded");
    let report = m.start(&store);
    assert_eq!(
        trace(&report.events),
        [
            "SIPAccountDidActivate(bonjour@local)",
            "SIPAccountDidActivate(a@x.org)"
        ]
    );
    assert!(
        m.start(&store).events.is_empty(),
        "starting twice does nothing"
    );
}

#[test]
fn enabling_and_disabling_take_effect_on_save() {
    let (mut m, mut store) = running();
    m.account_mut("b@x.org").expect("b").edit().enabled = true;
    assert!(
        !m.account("b@x.org").expect("b").is_active(),
        "not before save"
    );
    assert_eq!(m.account("b@x.org").expect("b").modified(), ["enabled"]);
    let events = m.save_account("b@x.org", &mut store).expect("save b");
    assert_eq!(
        trace(&events),
        [
            "CFGSettingsObjectDidChange(b@x.org:enabled)",
            "SIPAccountDidActivate(b@x.org)"
        ]
    );
    m.account_mut("a@x.org").expect("a").edit().enabled = false;
    let events = m.save_account("a@x.org", &mut store).expect("save a");
    assert_eq!(
        trace(&events),
        [
            "CFGSettingsObjectDidChange(a@x.org:enabled)",
            "SIPAccountDidDeactivate(a@x.org)"
        ]
    );
    assert!(m
        .save_account("a@x.org", &mut store)
        .expect("no-op")
        .is_empty());
}

#[test]
fn other_changes_of_an_active_account_do_not_toggle_it() {
    let (mut m, mut store) = running();
    let a = m.account_mut("a@x.org").expect("a");
    a.edit().registration.expires = 3600;
    a.edit().display_name = Some("Alice".into());
    let events = m.save_account("a@x.org", &mut store).expect("save");
    assert_eq!(
        trace(&events),
        ["CFGSettingsObjectDidChange(a@x.org:display_name,registration.expires)"]
    );
    assert!(m.account("a@x.org").expect("a").is_active());
}

#[test]
fn enabling_while_stopped_waits_for_start() {
    let (mut m, mut store) = running();
    m.stop();
    m.account_mut("b@x.org").expect("b").edit().enabled = true;
    let events = m.save_account("b@x.org", &mut store).expect("save");
    assert_eq!(
        trace(&events),
        ["CFGSettingsObjectDidChange(b@x.org:enabled)"]
    );
    assert_eq!(
        trace(&m.start(&store).events),
        [
            "SIPAccountDidActivate(a@x.org)",
            "SIPAccountDidActivate(b@x.org)"
        ]
    );
}

#[test]
fn the_bonjour_account_activates_like_the_others() {
    let (mut m, mut store) = running();
    let bonjour = m.bonjour_account_mut();
    bonjour.edit().enabled = true;
    bonjour.edit().display_name = Some("Me".into());
    let events = m
        .save_account(BonjourAccount::ID, &mut store)
        .expect("save");
    assert_eq!(
        trace(&events),
        [
            "CFGSettingsObjectDidChange(bonjour@local:display_name,enabled)",
            "SIPAccountDidActivate(bonjour@local)"
        ]
    );
    m.bonjour_account_mut().edit().enabled = false;
    let events = m
        .save_account(BonjourAccount::ID, &mut store)
        .expect("save");
    assert_eq!(
        trace(&events),
        [
            "CFGSettingsObjectDidChange(bonjour@local:enabled)",
            "SIPAccountDidDeactivate(bonjour@local)"
        ]
    );
}

#[test]
fn removing_an_active_account_deactivates_it_first() {
    let (mut m, mut store) = running();
    let events = m.remove_account("a@x.org", &mut store).expect("remove");
    assert_eq!(
        trace(&events),
        [
            "SIPAccountDidDeactivate(a@x.org)",
            "SIPAccountManagerDidRemoveAccount(a@x.org)",
            "SIPAccountManagerDidChangeDefaultAccount(a@x.org->b@x.org)",
        ]
    );
}

#[test]
fn features_run_only_while_the_account_is_active() {
    let (mut m, mut store) = running();
    let a = m.account("a@x.org").expect("a");
    assert!(a.feature_active(Feature::Registration), "on by default");
    assert!(!a.feature_active(Feature::Presence), "off by default");
    assert!(!a.feature_active(Feature::DialogEvent));
    assert!(!a.feature_active(Feature::MessageSummary));
    let b = m.account_mut("b@x.org").expect("b");
    b.edit().presence.enabled = true;
    m.save_account("b@x.org", &mut store).expect("save");
    let b = m.account("b@x.org").expect("b");
    assert!(
        !b.feature_active(Feature::Presence),
        "b is disabled, so its presence does not run"
    );
    m.stop();
    let a = m.account("a@x.org").expect("a");
    assert!(!a.feature_active(Feature::Registration));
}

#[test]
fn activation_events_reach_observers_through_the_bus() {
    let (mut m, _store) = running();
    let mut center = NotificationCenter::new();
    let seen = Rc::new(RefCell::new(Vec::new()));
    let log = Rc::clone(&seen);
    center.add_observer(
        Some("SIPAccountDidDeactivate"),
        Some(Sender::Account("a@x.org".into())),
        move |n| log.borrow_mut().push(n.event.name()),
    );
    let events = m.stop();
    center.post_all(events.iter().filter_map(|e| e.notification()));
    center.dispatch();
    assert_eq!(*seen.borrow(), ["SIPAccountDidDeactivate"]);
}
