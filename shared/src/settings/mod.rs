//! Settings (the seed's Configuration API): typed, validated settings documents kept in a
//! key/value [`Storage`] as JSON, with `save()` reporting what changed.
//!
//! - [`types`]: [`GeneralSettings`], [`AccountSettings`], [`BonjourSettings`] and their parts;
//! - [`validate`]: checks whose errors name the bad setting ([`ValidationError`]);
//! - [`storage`]: the [`Storage`] trait and [`MemoryStorage`] (the shells bring a file store
//!   and a `localStorage` store);
//! - [`object`]: [`SettingsObject`], which tracks edits and on `save` writes them and returns
//!   the data of `CFGSettingsObjectDidChange` ([`SettingsChange`]).
//!
//! ```
//! use sipsimple::settings::{keys, AccountSettings, MemoryStorage, SettingsObject};
//!
//! let mut store = MemoryStorage::new();
//! let mut account = SettingsObject::new(
//!     keys::account("alice@example.com"),
//!     AccountSettings::new("alice@example.com"),
//! );
//! account.save(&mut store).expect("valid defaults");
//! account.edit().enabled = true;
//! account.edit().registration.expires = 3600;
//! let change = account.save(&mut store).expect("valid").expect("something changed");
//! assert_eq!(change.names(), ["enabled", "registration.expires"]);
//! assert_eq!(change.name(), "CFGSettingsObjectDidChange");
//! ```

use core::fmt;

#[cfg(feature = "native")]
pub mod file;
pub mod object;
pub mod storage;
pub mod types;
pub mod validate;

#[cfg(feature = "native")]
pub use file::FileStorage;
pub use object::{SettingChange, Settings, SettingsChange, SettingsObject};
pub use storage::{MemoryStorage, Storage, StorageError};
pub use types::{
    AccountSettings, AccountSipSettings, AudioSettings, BonjourSettings, ChatSettings,
    FeatureSettings, GeneralAudioSettings, GeneralChatSettings, GeneralSettings,
    GeneralSipSettings, RegistrationSettings, Route, SipAddress, SrtpEncryption, Transport,
};
pub use validate::{Problem, Validate, ValidationError};

/// The storage keys of the core's settings documents.
pub mod keys {
    /// The general settings.
    pub const GENERAL: &str = "general";
    /// The Bonjour account's settings.
    pub const BONJOUR: &str = "bonjour";
    /// The id of the default account (a plain string, not JSON).
    pub const DEFAULT_ACCOUNT: &str = "default_account";
    /// The prefix of the keys of SIP accounts, followed by the account id.
    pub const ACCOUNT_PREFIX: &str = "account:";

    /// The key of the SIP account `id`.
    pub fn account(id: &str) -> String {
        format!("{ACCOUNT_PREFIX}{id}")
    }

    /// The account id in an account key, `None` for other keys.
    pub fn account_id(key: &str) -> Option<&str> {
        key.strip_prefix(ACCOUNT_PREFIX)
    }
}

/// Why settings could not be loaded or saved.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum SettingsError {
    /// A setting is invalid.
    Invalid {
        /// The settings object's storage key.
        key: String,
        /// Which setting and why.
        error: ValidationError,
    },
    /// The stored document under `key` is not valid JSON for its type.
    Corrupt {
        /// The storage key.
        key: String,
        /// What the JSON parser said.
        message: String,
    },
    /// The settings could not be turned into JSON.
    Encode {
        /// The storage key.
        key: String,
        /// What the serialiser said.
        message: String,
    },
    /// The store refused to write.
    Storage(StorageError),
}

impl SettingsError {
    /// The validation error, when this is one.
    pub fn validation(&self) -> Option<&ValidationError> {
        match self {
            SettingsError::Invalid { error, .. } => Some(error),
            _ => None,
        }
    }
}

impl fmt::Display for SettingsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SettingsError::Invalid { key, error } => {
                write!(f, "invalid setting in {key:?}: {error}")
            }
            SettingsError::Corrupt { key, message } => {
                write!(f, "stored settings {key:?} are unreadable: {message}")
            }
            SettingsError::Encode { key, message } => {
                write!(f, "settings {key:?} cannot be encoded: {message}")
            }
            SettingsError::Storage(e) => e.fmt(f),
        }
    }
}

impl std::error::Error for SettingsError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            SettingsError::Invalid { error, .. } => Some(error),
            SettingsError::Storage(e) => Some(e),
            _ => None,
        }
    }
}

impl From<StorageError> for SettingsError {
    fn from(e: StorageError) -> Self {
        SettingsError::Storage(e)
    }
}
