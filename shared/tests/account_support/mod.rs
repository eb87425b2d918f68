//! Helpers shared by the account tests.

#![allow(dead_code)]

use sipsimple::account::AccountEvent;
use sipsimple::settings::{AccountSettings, MemoryStorage, Storage, StorageError};

/// `Name(account)` for each event, `Name(old->new)` for default changes and
/// `Name(account:setting,setting)` for settings changes.
pub fn trace(events: &[AccountEvent]) -> Vec<String> {
    events
        .iter()
        .map(|e| match e {
            AccountEvent::SIPAccountManagerDidChangeDefaultAccount {
                old_account,
                account,
            } => format!(
                "{}({}->{})",
                e.name(),
                old_account.as_deref().unwrap_or("none"),
                account.as_deref().unwrap_or("none")
            ),
            AccountEvent::CFGSettingsObjectDidChange { account, change } => {
                format!("{}({account}:{})", e.name(), change.names().join(","))
            }
            _ => format!("{}({})", e.name(), e.account().unwrap_or("")),
        })
        .collect()
}

/// Settings of account `id`, enabled or not.
pub fn account(id: &str, enabled: bool) -> AccountSettings {
    let mut s = AccountSettings::new(id);
    s.enabled = enabled;
    s.password = format!("{id}-password");
    s
}

/// A store that refuses writes and deletes while `broken` is set.
#[derive(Default)]
pub struct FlakyStorage {
    pub inner: MemoryStorage,
    pub broken: bool,
}

impl Storage for FlakyStorage {
    fn load(&self, key: &str) -> Option<String> {
        self.inner.load(key)
    }
    fn save(&mut self, key: &str, value: &str) -> Result<(), StorageError> {
        if self.broken {
            return Err(StorageError::new("quota exceeded"));
        }
        self.inner.save(key, value)
    }
    fn delete(&mut self, key: &str) -> Result<(), StorageError> {
        if self.broken {
            return Err(StorageError::new("read-only"));
        }
        self.inner.delete(key)
    }
    fn keys(&self) -> Vec<String> {
        self.inner.keys()
    }
}
