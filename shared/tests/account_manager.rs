//! The account manager: lookups, find_account, the default account, add/remove errors and
//! persistence through the storage.

mod account_support;

use account_support::{account, trace, FlakyStorage};
use sipsimple::account::{AccountError, AccountManager, BonjourAccount, ContactAddress};
use sipsimple::rng::Rng;
use sipsimple::settings::{
    keys, MemoryStorage, Problem, SettingsError, SipAddress, Storage, StorageError, Transport,
};
use sipsimple::sip::Uri;

fn started(store: &MemoryStorage) -> AccountManager {
    let mut m = AccountManager::new(42);
    m.start(store);
    m
}

fn ids(m: &AccountManager) -> Vec<String> {
    m.iter_accounts().map(|a| a.id().to_string()).collect()
}

fn uri(s: &str) -> Uri {
    Uri::parse(s).expect("a valid URI")
}

#[test]
fn nothing_is_managed_before_start() {
    let mut store = MemoryStorage::new();
    let mut m = AccountManager::new(1);
    assert!(m.get_accounts().is_empty());
    assert!(!m.has_account(BonjourAccount::ID));
    assert!(m.get_account(BonjourAccount::ID).is_none());
    assert_eq!(
        m.add_account(account("a@x.org", true), &mut store),
        Err(AccountError::NotStarted)
    );
    assert_eq!(
        m.set_default_account(None, &mut store),
        Err(AccountError::NotStarted)
    );
    assert_eq!(
        m.save_account("a@x.org", &mut store),
        Err(AccountError::NotStarted)
    );
    assert!(store.is_empty());
}

#[test]
fn lookups() {
    let mut store = MemoryStorage::new();
    let mut m = started(&store);
    m.add_account(account("a@x.org", true), &mut store)
        .expect("add");
    m.add_account(account("b@y.org", false), &mut store)
        .expect("add");
    assert_eq!(ids(&m), ["bonjour@local", "a@x.org", "b@y.org"]);
    assert_eq!(m.get_accounts().len(), 3);
    assert!(m.has_account("a@x.org") && m.has_account("bonjour@local"));
    assert!(!m.has_account("c@x.org"));
    let a = m.get_account("a@x.org").expect("a");
    assert!(!a.is_bonjour());
    assert_eq!(a.id().username(), "a");
    assert_eq!(a.id().domain(), "x.org");
    assert!(a.as_sip().is_some() && a.as_bonjour().is_none());
    let b = m.get_account("bonjour@local").expect("bonjour");
    assert!(b.is_bonjour());
    assert_eq!(b.id().username(), "bonjour");
    assert_eq!(b.id().domain(), "local");
    assert!(m.get_account("nobody@x.org").is_none());
}

#[test]
fn accounts_round_trip_through_the_storage() {
    let mut store = MemoryStorage::new();
    let mut m = started(&store);
    m.add_account(account("zed@x.org", false), &mut store)
        .expect("add");
    let mut alice = account("alice@x.org", true);
    alice.display_name = Some("Alice".into());
    alice.sip.transports = vec![Transport::Tls];
    m.add_account(alice.clone(), &mut store).expect("add");
    m.bonjour_account_mut().edit().enabled = true;
    m.save_account(BonjourAccount::ID, &mut store)
        .expect("save");
    m.set_default_account(Some("alice@x.org"), &mut store)
        .expect("default");
    assert_eq!(
        store.keys(),
        [
            "account:alice@x.org",
            "account:zed@x.org",
            "bonjour",
            "default_account"
        ]
    );

    let mut again = AccountManager::new(7);
    let report = again.start(&store);
    assert!(report.skipped.is_empty());
    assert_eq!(
        trace(&report.events),
        [
            "SIPAccountManagerDidAddAccount(bonjour@local)",
            "SIPAccountManagerDidAddAccount(alice@x.org)",
            "SIPAccountManagerDidAddAccount(zed@x.org)",
            "SIPAccountManagerDidChangeDefaultAccount(none->alice@x.org)",
            "SIPAccountDidActivate(bonjour@local)",
            "SIPAccountDidActivate(alice@x.org)",
        ]
    );
    assert_eq!(
        again.account("alice@x.org").expect("loaded").settings(),
        &alice
    );
    assert!(again.bonjour_account().enabled());
    assert_eq!(
        again.default_account().map(|a| a.id().to_string()),
        Some("alice@x.org".into())
    );
}

#[test]
fn the_default_account_follows_add_set_and_remove() {
    let mut store = MemoryStorage::new();
    let mut m = started(&store);
    assert!(m.default_account().is_none());
    m.add_account(account("a@x.org", false), &mut store)
        .expect("add");
    m.add_account(account("b@x.org", false), &mut store)
        .expect("add");
    assert_eq!(
        store.load(keys::DEFAULT_ACCOUNT).as_deref(),
        Some("a@x.org")
    );

    let events = m
        .set_default_account(Some("b@x.org"), &mut store)
        .expect("set");
    assert_eq!(
        trace(&events),
        ["SIPAccountManagerDidChangeDefaultAccount(a@x.org->b@x.org)"]
    );
    assert_eq!(
        store.load(keys::DEFAULT_ACCOUNT).as_deref(),
        Some("b@x.org")
    );
    assert!(m
        .set_default_account(Some("b@x.org"), &mut store)
        .expect("same")
        .is_empty());
    assert_eq!(
        m.set_default_account(Some("nobody@x.org"), &mut store),
        Err(AccountError::NotFound("nobody@x.org".into()))
    );

    let events = m
        .set_default_account(Some(BonjourAccount::ID), &mut store)
        .expect("bonjour may be the default");
    assert_eq!(
        trace(&events),
        ["SIPAccountManagerDidChangeDefaultAccount(b@x.org->bonjour@local)"]
    );
    assert!(m.default_account().is_some_and(|a| a.is_bonjour()));

    let events = m.set_default_account(None, &mut store).expect("none");
    assert_eq!(
        trace(&events),
        ["SIPAccountManagerDidChangeDefaultAccount(bonjour@local->none)"]
    );
    assert_eq!(store.load(keys::DEFAULT_ACCOUNT), None);

    m.set_default_account(Some("a@x.org"), &mut store)
        .expect("set");
    let events = m.remove_account("a@x.org", &mut store).expect("remove");
    assert_eq!(
        trace(&events),
        [
            "SIPAccountManagerDidRemoveAccount(a@x.org)",
            "SIPAccountManagerDidChangeDefaultAccount(a@x.org->b@x.org)"
        ]
    );
    let events = m.remove_account("b@x.org", &mut store).expect("remove");
    assert_eq!(
        trace(&events),
        [
            "SIPAccountManagerDidRemoveAccount(b@x.org)",
            "SIPAccountManagerDidChangeDefaultAccount(b@x.org->none)"
        ]
    );
    assert!(m.default_account().is_none());
    assert_eq!(store.keys(), Vec::<String>::new());
}

#[test]
fn removing_a_non_default_account_keeps_the_default() {
    let mut store = MemoryStorage::new();
    let mut m = started(&store);
    m.add_account(account("a@x.org", false), &mut store)
        .expect("add");
    m.add_account(account("b@x.org", false), &mut store)
        .expect("add");
    let events = m.remove_account("b@x.org", &mut store).expect("remove");
    assert_eq!(
        trace(&events),
        ["SIPAccountManagerDidRemoveAccount(b@x.org)"]
    );
    assert_eq!(ids(&m), ["bonjour@local", "a@x.org"]);
    assert_eq!(store.load("account:b@x.org"), None);
}

#[test]
fn add_and_remove_refuse_what_they_cannot_do() {
    let mut store = MemoryStorage::new();
    let mut m = started(&store);
    m.add_account(account("a@x.org", true), &mut store)
        .expect("add");
    let before = store.clone();
    assert_eq!(
        m.add_account(account("a@x.org", false), &mut store),
        Err(AccountError::Exists("a@x.org".into()))
    );
    assert_eq!(
        m.add_account(account(BonjourAccount::ID, false), &mut store),
        Err(AccountError::Bonjour)
    );
    let bad = account("not an address", true);
    match m.add_account(bad, &mut store) {
        Err(AccountError::Settings(SettingsError::Invalid { error, .. })) => {
            assert_eq!(error.field, "id");
            assert_eq!(error.problem, Problem::NotASipAddress);
        }
        other => panic!("expected an invalid id, got {other:?}"),
    }
    let mut short = account("c@x.org", true);
    short.registration.expires = 1;
    let err = m.add_account(short, &mut store).expect_err("invalid");
    assert_eq!(
        err.to_string(),
        "invalid setting in \"account:c@x.org\": registration.expires: must be between 30 and 604800, got 1"
    );
    assert_eq!(
        m.remove_account(BonjourAccount::ID, &mut store),
        Err(AccountError::Bonjour)
    );
    assert_eq!(
        m.remove_account("c@x.org", &mut store),
        Err(AccountError::NotFound("c@x.org".into()))
    );
    assert_eq!(
        m.save_account("c@x.org", &mut store),
        Err(AccountError::NotFound("c@x.org".into()))
    );
    assert_eq!(store, before, "nothing written");
    assert_eq!(ids(&m), ["bonjour@local", "a@x.org"]);
}

#[test]
fn the_id_of_an_account_cannot_change() {
    let mut store = MemoryStorage::new();
    let mut m = started(&store);
    m.add_account(account("a@x.org", true), &mut store)
        .expect("add");
    m.account_mut("a@x.org").expect("a").edit().id = SipAddress::new("b@x.org");
    match m.save_account("a@x.org", &mut store) {
        Err(AccountError::Settings(SettingsError::Invalid { error, .. })) => {
            assert_eq!(error.field, "id");
            assert_eq!(error.problem, Problem::Immutable);
        }
        other => panic!("expected an immutable id, got {other:?}"),
    }
    let a = m.account_mut("a@x.org").expect("still there");
    a.revert();
    assert!(a.modified().is_empty());
}

#[test]
fn storage_failures_leave_the_manager_unchanged() {
    let mut store = FlakyStorage::default();
    let mut m = AccountManager::new(3);
    m.start(&store);
    m.add_account(account("a@x.org", true), &mut store)
        .expect("add");
    store.broken = true;
    let quota = AccountError::Settings(SettingsError::Storage(StorageError::new("quota exceeded")));
    assert_eq!(
        m.add_account(account("b@x.org", true), &mut store),
        Err(quota)
    );
    assert!(!m.has_account("b@x.org"));
    assert_eq!(
        m.remove_account("a@x.org", &mut store),
        Err(AccountError::Settings(SettingsError::Storage(
            StorageError::new("read-only")
        )))
    );
    assert!(m.account("a@x.org").is_some_and(|a| a.is_active()));
    m.account_mut("a@x.org").expect("a").edit().enabled = false;
    assert!(m.save_account("a@x.org", &mut store).is_err());
    assert!(
        m.account("a@x.org").is_some_and(|a| a.is_active()),
        "an unsaved disable does not deactivate"
    );
    store.broken = false;
    let events = m.save_account("a@x.org", &mut store).expect("retry");
    assert_eq!(
        trace(&events),
        [
            "CFGSettingsObjectDidChange(a@x.org:enabled)",
            "SIPAccountDidDeactivate(a@x.org)"
        ]
    );
}

#[test]
fn unreadable_stored_accounts_are_skipped_and_reported() {
    let mut store = MemoryStorage::new();
    store.save("account:a@x.org", "{").expect("save");
    store
        .save("account:b@x.org", r#"{"id": "c@x.org", "enabled": true}"#)
        .expect("save");
    store
        .save("account:bonjour@local", r#"{"id": "bonjour@local"}"#)
        .expect("save");
    store
        .save("account:d@x.org", r#"{"id": "d@x.org", "enabled": true}"#)
        .expect("save");
    store.save("bonjour", "42").expect("save");
    store
        .save(keys::DEFAULT_ACCOUNT, "gone@x.org")
        .expect("save");
    store.save("something-else", "ignored").expect("save");
    let mut m = AccountManager::new(5);
    let report = m.start(&store);
    assert_eq!(
        trace(&report.events),
        [
            "SIPAccountManagerDidAddAccount(bonjour@local)",
            "SIPAccountManagerDidAddAccount(d@x.org)",
            "SIPAccountManagerDidChangeDefaultAccount(none->d@x.org)",
            "SIPAccountDidActivate(d@x.org)",
        ]
    );
    let skipped: Vec<String> = report
        .skipped
        .iter()
        .map(|e| match e {
            SettingsError::Corrupt { key, .. } => format!("corrupt {key}"),
            SettingsError::Invalid { key, error } => format!("invalid {key} {}", error.field),
            other => format!("{other}"),
        })
        .collect();
    assert_eq!(
        skipped,
        [
            "corrupt bonjour",
            "corrupt account:a@x.org",
            "invalid account:b@x.org id",
            "invalid account:bonjour@local id",
        ]
    );
}

#[test]
fn find_account_matches_contact_then_id_then_user_among_enabled_accounts() {
    let mut store = MemoryStorage::new();
    let mut m = started(&store);
    m.add_account(account("alice@x.org", true), &mut store)
        .expect("add");
    m.add_account(account("alice@y.org", true), &mut store)
        .expect("add");
    m.add_account(account("bob@x.org", false), &mut store)
        .expect("add");
    let found = |m: &AccountManager, u: &str| m.find_account(&uri(u)).map(|a| a.id().to_string());

    let contact_y = m.account("alice@y.org").expect("y").contact(Transport::Ws);
    assert_eq!(
        m.find_account(&contact_y).map(|a| a.id().to_string()),
        Some("alice@y.org".into()),
        "the contact's random user part names the account"
    );
    assert_eq!(found(&m, "sip:alice@y.org"), Some("alice@y.org".into()));
    assert_eq!(
        found(&m, "sip:alice@Y.ORG;transport=tcp"),
        Some("alice@y.org".into())
    );
    assert_eq!(
        found(&m, "sip:alice@10.0.0.9:5060"),
        Some("alice@x.org".into()),
        "a user part alone matches the first account with it"
    );
    assert_eq!(found(&m, "sip:%61lice@y.org"), Some("alice@y.org".into()));
    assert_eq!(found(&m, "sip:bob@x.org"), None, "bob is disabled");
    let bob_contact = m.account("bob@x.org").expect("bob").contact(Transport::Udp);
    assert!(m.find_account(&bob_contact).is_none());
    assert_eq!(found(&m, "sip:carol@x.org"), None);
    assert_eq!(found(&m, "sip:x.org"), None, "no user part");

    let bonjour_contact = m.bonjour_account().contact(Transport::Udp);
    assert!(
        m.find_account(&bonjour_contact).is_none(),
        "bonjour is disabled"
    );
    m.bonjour_account_mut().edit().enabled = true;
    m.save_account(BonjourAccount::ID, &mut store)
        .expect("save");
    assert!(m
        .find_account(&bonjour_contact)
        .is_some_and(|a| a.is_bonjour()));
}

#[test]
fn contacts_per_transport_and_credentials() {
    let mut store = MemoryStorage::new();
    let mut m = started(&store);
    let mut alice = account("alice@example.com", true);
    alice.display_name = Some("Alice".into());
    alice.auth_username = Some("alice-auth".into());
    m.add_account(alice, &mut store).expect("add");
    m.add_account(account("bob@example.com", true), &mut store)
        .expect("add");

    let a = m.account("alice@example.com").expect("alice");
    let user = a.contact_uri().username().to_string();
    assert_eq!(user.len(), 8);
    assert!(user.bytes().all(|b| b.is_ascii_lowercase()));
    assert!(a.contact_uri().domain().ends_with(".invalid"));
    let b = m.account("bob@example.com").expect("bob");
    assert_ne!(b.contact_uri().username(), user, "contacts are distinct");
    assert_ne!(m.bonjour_account().contact_uri().username(), user);

    m.set_contact_address(
        ContactAddress::new("10.0.0.1")
            .with_port(Transport::Udp, 53024)
            .with_port(Transport::Tls, 54478),
    );
    let a = m.account("alice@example.com").expect("alice");
    assert_eq!(a.contact_uri().to_string(), format!("{user}@10.0.0.1"));
    assert_eq!(
        a.contact(Transport::Udp).to_string(),
        format!("sip:{user}@10.0.0.1:53024")
    );
    assert_eq!(
        a.contact(Transport::Tls).to_string(),
        format!("sip:{user}@10.0.0.1:54478;transport=tls")
    );
    assert_eq!(
        m.get_account("alice@example.com")
            .expect("alice")
            .contact(Transport::Tcp)
            .to_string(),
        format!("sip:{user}@10.0.0.1;transport=tcp")
    );
    assert_eq!(m.contact_address().port(Transport::Udp), Some(53024));

    let c = a.credentials();
    assert_eq!(c.username, "alice-auth");
    assert_eq!(c.password, "alice@example.com-password");
    assert_eq!(c.to_string(), "\"Alice\" <sip:alice@example.com>");
    assert!(!format!("{c:?}").contains("password\": \"alice"));
    assert!(!format!("{c:?}").contains("alice@example.com-password"));
    let b = m.account("bob@example.com").expect("bob").credentials();
    assert_eq!(b.username, "bob");
    assert_eq!(b.to_string(), "<sip:bob@example.com>");

    let bonjour = m.bonjour_account();
    let bc = bonjour.credentials();
    assert_eq!(bc.password, "");
    assert_eq!(bc.username, bonjour.contact_uri().username());
    assert_eq!(
        bc.uri.to_string(),
        format!("sip:{}@10.0.0.1", bonjour.contact_uri().username())
    );
}

#[test]
fn the_same_seed_gives_the_same_contacts() {
    let store = MemoryStorage::new();
    let address = ContactAddress::new("192.0.2.1");
    let mut a = AccountManager::with_contact_address(Rng::from_seed(9), address.clone());
    let mut b = AccountManager::with_contact_address(Rng::from_seed(9), address);
    a.start(&store);
    b.start(&store);
    assert_eq!(
        a.bonjour_account().contact(Transport::Udp),
        b.bonjour_account().contact(Transport::Udp)
    );
}
