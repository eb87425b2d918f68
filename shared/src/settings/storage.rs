//! Where settings live: a key/value store of JSON strings (the Configuration API's backend).
//!
//! The core only sees the [`Storage`] trait. [`MemoryStorage`] serves tests and simulations;
//! the shells provide the real stores (a file natively, `localStorage` in the browser), which
//! is why writing may fail and the core never touches a file itself.

use std::collections::BTreeMap;
use std::fmt;

/// Why a store refused to write or delete (a full `localStorage`, a read-only disk ...).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StorageError {
    /// What the store said.
    pub message: String,
}

impl StorageError {
    /// An error saying `message`.
    pub fn new(message: impl Into<String>) -> StorageError {
        StorageError {
            message: message.into(),
        }
    }
}

impl fmt::Display for StorageError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "storage error: {}", self.message)
    }
}

impl std::error::Error for StorageError {}

/// A key/value store of settings documents.
///
/// Keys are short ASCII strings chosen by the core (see [`super::keys`]); values are JSON
/// documents. Implementations decide how to map them onto their medium.
pub trait Storage {
    /// The value stored under `key`, if any. A store that cannot read treats the key as
    /// absent.
    fn load(&self, key: &str) -> Option<String>;
    /// Stores `value` under `key`, replacing what was there.
    fn save(&mut self, key: &str, value: &str) -> Result<(), StorageError>;
    /// Removes `key`; removing an absent key succeeds.
    fn delete(&mut self, key: &str) -> Result<(), StorageError>;
    /// Every stored key, in any order.
    fn keys(&self) -> Vec<String>;
}

/// A [`Storage`] in memory, sorted by key.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MemoryStorage {
    entries: BTreeMap<String, String>,
}

impl MemoryStorage {
    /// An empty store.
    pub fn new() -> MemoryStorage {
        MemoryStorage::default()
    }

    /// The number of stored keys.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// `true` when nothing is stored.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

impl Storage for MemoryStorage {
    fn load(&self, key: &str) -> Option<String> {
        self.entries.get(key).cloned()
    }

    fn save(&mut self, key: &str, value: &str) -> Result<(), StorageError> {
        self.entries.insert(key.to_string(), value.to_string());
        Ok(())
    }

    fn delete(&mut self, key: &str) -> Result<(), StorageError> {
        self.entries.remove(key);
        Ok(())
    }

    fn keys(&self) -> Vec<String> {
        self.entries.keys().cloned().collect()
    }
}

impl<S: Storage + ?Sized> Storage for &mut S {
    fn load(&self, key: &str) -> Option<String> {
        (**self).load(key)
    }

    fn save(&mut self, key: &str, value: &str) -> Result<(), StorageError> {
        (**self).save(key, value)
    }

    fn delete(&mut self, key: &str) -> Result<(), StorageError> {
        (**self).delete(key)
    }

    fn keys(&self) -> Vec<String> {
        (**self).keys()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn memory_storage_round_trip() {
        let mut s = MemoryStorage::new();
        assert!(s.is_empty());
        s.save("b", "2").expect("save");
        s.save("a", "1").expect("save");
        assert_eq!(s.load("a").as_deref(), Some("1"));
        assert_eq!(s.keys(), vec!["a".to_string(), "b".to_string()]);
        s.delete("a").expect("delete");
        s.delete("a").expect("deleting twice is fine");
        assert_eq!(s.load("a"), None);
        assert_eq!(s.len(), 1);
    }
}
