//! Accounts (the seed's `Account`, `BonjourAccount` and `AccountManager`).
//!
//! The [`AccountManager`] loads the accounts from a [`Storage`](crate::settings::Storage)
//! when it starts, activates them while the application runs and persists their settings on
//! save. It performs no I/O of its own and returns what happened as [`AccountEvent`]s, in
//! order, for the shell to deliver (those that are already [`notification::Event`]s convert
//! with [`AccountEvent::notification`]).
//!
//! ```
//! use sipsimple::account::{AccountEvent, AccountManager};
//! use sipsimple::settings::{AccountSettings, MemoryStorage};
//!
//! let mut store = MemoryStorage::new();
//! let mut manager = AccountManager::new(7);
//! manager.start(&store);
//! let mut alice = AccountSettings::new("alice@example.com");
//! alice.enabled = true;
//! let events = manager.add_account(alice, &mut store).expect("valid settings");
//! let names: Vec<&str> = events.iter().map(AccountEvent::name).collect();
//! assert_eq!(
//!     names,
//!     [
//!         "SIPAccountManagerDidAddAccount",
//!         "SIPAccountManagerDidChangeDefaultAccount",
//!         "SIPAccountDidActivate",
//!     ]
//! );
//! ```
//!
//! [`notification::Event`]: crate::notification::Event

use core::fmt;

use serde::Serialize;

use crate::notification::{Event, Notification, Sender};
use crate::settings::{SettingsChange, SettingsError, SipAddress, Transport};
use crate::sip::Uri;

mod bonjour;
mod contact;
mod manager;
mod sip_account;

pub use bonjour::{BonjourAccount, BonjourEvent};
pub use contact::{ContactAddress, ContactUri, Credentials};
pub use manager::{AccountManager, StartReport};
pub use sip_account::{Account, Feature};

/// What the account objects report, named exactly as the seed's notifications. Accounts are
/// named by their id. Serialised as the bus serialises notifications,
/// `{"name": ..., "data": {...}}`.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "name", content = "data")]
#[allow(clippy::enum_variant_names)]
#[non_exhaustive]
pub enum AccountEvent {
    /// An account's settings were saved with changes (sender: the account).
    CFGSettingsObjectDidChange {
        /// The account's id.
        account: String,
        /// What changed.
        #[serde(flatten)]
        change: SettingsChange,
    },
    /// The account activated (sender: the account).
    SIPAccountDidActivate {
        /// The account's id.
        account: String,
    },
    /// The account deactivated (sender: the account).
    SIPAccountDidDeactivate {
        /// The account's id.
        account: String,
    },
    /// An account was loaded or added (sender: the manager).
    SIPAccountManagerDidAddAccount {
        /// The account's id.
        account: String,
    },
    /// An account was removed (sender: the manager).
    SIPAccountManagerDidRemoveAccount {
        /// The account's id.
        account: String,
    },
    /// The default account changed (sender: the manager).
    SIPAccountManagerDidChangeDefaultAccount {
        /// The default account before, if there was one.
        old_account: Option<String>,
        /// The default account now, if there is one.
        account: Option<String>,
    },
}

impl AccountEvent {
    /// The seed's notification name.
    pub fn name(&self) -> &'static str {
        match self {
            AccountEvent::CFGSettingsObjectDidChange { .. } => "CFGSettingsObjectDidChange",
            AccountEvent::SIPAccountDidActivate { .. } => "SIPAccountDidActivate",
            AccountEvent::SIPAccountDidDeactivate { .. } => "SIPAccountDidDeactivate",
            AccountEvent::SIPAccountManagerDidAddAccount { .. } => "SIPAccountManagerDidAddAccount",
            AccountEvent::SIPAccountManagerDidRemoveAccount { .. } => {
                "SIPAccountManagerDidRemoveAccount"
            }
            AccountEvent::SIPAccountManagerDidChangeDefaultAccount { .. } => {
                "SIPAccountManagerDidChangeDefaultAccount"
            }
        }
    }

    /// The account the event is about (the new default for a default change).
    pub fn account(&self) -> Option<&str> {
        match self {
            AccountEvent::CFGSettingsObjectDidChange { account, .. }
            | AccountEvent::SIPAccountDidActivate { account }
            | AccountEvent::SIPAccountDidDeactivate { account }
            | AccountEvent::SIPAccountManagerDidAddAccount { account }
            | AccountEvent::SIPAccountManagerDidRemoveAccount { account } => Some(account),
            AccountEvent::SIPAccountManagerDidChangeDefaultAccount { account, .. } => {
                account.as_deref()
            }
        }
    }

    /// The event as a bus [`Notification`], for the events [`Event`] already has
    /// (activation); `None` for the others until `Event` gains them.
    pub fn notification(&self) -> Option<Notification> {
        let (account, event) = match self {
            AccountEvent::SIPAccountDidActivate { account } => {
                (account, Event::SIPAccountDidActivate {})
            }
            AccountEvent::SIPAccountDidDeactivate { account } => {
                (account, Event::SIPAccountDidDeactivate {})
            }
            _ => return None,
        };
        Some(Notification {
            sender: Sender::Account(account.clone()),
            event,
        })
    }
}

/// Why an account operation was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum AccountError {
    /// The manager has not been started (the seed: it "cannot be used until its start
    /// method has been called").
    NotStarted,
    /// An account with this id exists already.
    Exists(String),
    /// No account has this id.
    NotFound(String),
    /// The Bonjour account cannot be added or removed.
    Bonjour,
    /// The settings are invalid or could not be stored.
    Settings(SettingsError),
}

impl fmt::Display for AccountError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AccountError::NotStarted => f.write_str("the account manager has not been started"),
            AccountError::Exists(id) => write!(f, "account {id:?} exists already"),
            AccountError::NotFound(id) => write!(f, "no account {id:?}"),
            AccountError::Bonjour => f.write_str("the Bonjour account cannot be added or removed"),
            AccountError::Settings(e) => e.fmt(f),
        }
    }
}

impl std::error::Error for AccountError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            AccountError::Settings(e) => Some(e),
            _ => None,
        }
    }
}

impl From<SettingsError> for AccountError {
    fn from(e: SettingsError) -> Self {
        AccountError::Settings(e)
    }
}

/// A managed account: a SIP [`Account`] or the [`BonjourAccount`].
#[derive(Debug, Clone, Copy)]
pub enum AccountRef<'a> {
    /// A SIP account.
    Sip(&'a Account),
    /// The Bonjour account.
    Bonjour(&'a BonjourAccount),
}

impl<'a> AccountRef<'a> {
    /// The id.
    pub fn id(&self) -> &'a SipAddress {
        match self {
            AccountRef::Sip(a) => a.id(),
            AccountRef::Bonjour(b) => b.id(),
        }
    }

    /// `true` for the Bonjour account.
    pub fn is_bonjour(&self) -> bool {
        matches!(self, AccountRef::Bonjour(_))
    }

    /// The SIP account, if it is one.
    pub fn as_sip(&self) -> Option<&'a Account> {
        match self {
            AccountRef::Sip(a) => Some(a),
            AccountRef::Bonjour(_) => None,
        }
    }

    /// The Bonjour account, if it is it.
    pub fn as_bonjour(&self) -> Option<&'a BonjourAccount> {
        match self {
            AccountRef::Sip(_) => None,
            AccountRef::Bonjour(b) => Some(b),
        }
    }

    /// The saved `enabled` flag.
    pub fn enabled(&self) -> bool {
        match self {
            AccountRef::Sip(a) => a.enabled(),
            AccountRef::Bonjour(b) => b.enabled(),
        }
    }

    /// `true` while the account is active.
    pub fn is_active(&self) -> bool {
        match self {
            AccountRef::Sip(a) => a.is_active(),
            AccountRef::Bonjour(b) => b.is_active(),
        }
    }

    /// The saved display name.
    pub fn display_name(&self) -> Option<&'a str> {
        match self {
            AccountRef::Sip(a) => a.display_name(),
            AccountRef::Bonjour(b) => b.display_name(),
        }
    }

    /// The contact.
    pub fn contact_uri(&self) -> &'a ContactUri {
        match self {
            AccountRef::Sip(a) => a.contact_uri(),
            AccountRef::Bonjour(b) => b.contact_uri(),
        }
    }

    /// The Contact URI for `transport`.
    pub fn contact(&self, transport: Transport) -> Uri {
        self.contact_uri().uri(transport)
    }

    /// The credentials.
    pub fn credentials(&self) -> Credentials {
        match self {
            AccountRef::Sip(a) => a.credentials(),
            AccountRef::Bonjour(b) => b.credentials(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_serialise_like_notifications() {
        let e = AccountEvent::SIPAccountManagerDidChangeDefaultAccount {
            old_account: None,
            account: Some("a@b".into()),
        };
        let v = serde_json::to_value(&e).expect("serialise");
        assert_eq!(v["name"], "SIPAccountManagerDidChangeDefaultAccount");
        assert_eq!(v["data"]["account"], "a@b");
        assert!(v["data"]["old_account"].is_null());
        assert_eq!(e.name(), "SIPAccountManagerDidChangeDefaultAccount");
        assert!(e.notification().is_none());
        let a = AccountEvent::SIPAccountDidActivate {
            account: "a@b".into(),
        };
        let n = a.notification().expect("an Event variant exists");
        assert_eq!(n.event.name(), a.name());
        assert_eq!(n.sender, Sender::Account("a@b".into()));
    }
}
