//! Settings objects with `save()` semantics (the Configuration API's `SettingsObject`).
//!
//! A [`SettingsObject`] holds the *saved* settings, which are the ones in effect, and a
//! *pending* copy the application edits. [`SettingsObject::save`] validates the pending copy,
//! writes it to the [`Storage`], makes it the saved one and reports what changed as a
//! [`SettingsChange`], the data of the seed's `CFGSettingsObjectDidChange` notification.

use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::Value;

use super::storage::Storage;
use super::validate::Validate;
use super::SettingsError;

/// What the value of a secret setting (a password) is replaced with in change reports, so
/// that notifications can be logged and handed to the page without leaking it.
pub const REDACTED: &str = "********";

/// One setting that changed: its dotted name and its values before and after, as JSON.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SettingChange {
    /// The setting's dotted name (`registration.enabled`).
    pub name: String,
    /// The value before the save.
    pub old: Value,
    /// The value after the save.
    pub new: Value,
}

/// The data of `CFGSettingsObjectDidChange`: which settings object changed and how.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SettingsChange {
    /// The settings object's storage key (its identity).
    pub key: String,
    /// The settings that changed, sorted by name.
    pub modified: Vec<SettingChange>,
}

impl SettingsChange {
    /// The seed's notification name.
    pub const NAME: &'static str = "CFGSettingsObjectDidChange";

    /// The seed's notification name, `CFGSettingsObjectDidChange`.
    pub fn name(&self) -> &'static str {
        Self::NAME
    }

    /// The names of the changed settings, sorted.
    pub fn names(&self) -> Vec<&str> {
        self.modified.iter().map(|c| c.name.as_str()).collect()
    }

    /// The change of setting `name`, if it changed.
    pub fn get(&self, name: &str) -> Option<&SettingChange> {
        self.modified.iter().find(|c| c.name == name)
    }

    /// `true` when setting `name` changed.
    pub fn contains(&self, name: &str) -> bool {
        self.get(name).is_some()
    }
}

/// The bounds of a settings document: serde both ways, comparable, cloneable, validated.
pub trait Settings: Serialize + DeserializeOwned + Clone + PartialEq + Validate {}

impl<T: Serialize + DeserializeOwned + Clone + PartialEq + Validate> Settings for T {}

/// A settings document under a storage key, with its saved and pending versions.
#[derive(Debug, Clone, PartialEq)]
pub struct SettingsObject<T> {
    key: String,
    saved: T,
    pending: T,
    stored: bool,
}

impl<T: Settings> SettingsObject<T> {
    /// A new object under `key`, not yet in storage: the first [`save`](Self::save) writes
    /// it.
    pub fn new(key: impl Into<String>, settings: T) -> SettingsObject<T> {
        SettingsObject {
            key: key.into(),
            saved: settings.clone(),
            pending: settings,
            stored: false,
        }
    }

    /// The object stored under `key`, `None` if the key is absent. A document that is not
    /// valid JSON for `T` or fails validation is an error naming the key.
    pub fn load<S: Storage + ?Sized>(
        key: &str,
        storage: &S,
    ) -> Result<Option<SettingsObject<T>>, SettingsError> {
        let Some(text) = storage.load(key) else {
            return Ok(None);
        };
        let settings: T = serde_json::from_str(&text).map_err(|e| SettingsError::Corrupt {
            key: key.to_string(),
            message: e.to_string(),
        })?;
        settings
            .validate()
            .map_err(|error| SettingsError::Invalid {
                key: key.to_string(),
                error,
            })?;
        Ok(Some(SettingsObject {
            key: key.to_string(),
            saved: settings.clone(),
            pending: settings,
            stored: true,
        }))
    }

    /// The object stored under `key`, or a new one holding `T::default()`.
    pub fn load_or_default<S: Storage + ?Sized>(
        key: &str,
        storage: &S,
    ) -> Result<SettingsObject<T>, SettingsError>
    where
        T: Default,
    {
        Ok(Self::load(key, storage)?.unwrap_or_else(|| SettingsObject::new(key, T::default())))
    }

    /// The storage key.
    pub fn key(&self) -> &str {
        &self.key
    }

    /// The saved settings: the ones in effect.
    pub fn settings(&self) -> &T {
        &self.saved
    }

    /// The pending settings, with the edits not saved yet.
    pub fn pending(&self) -> &T {
        &self.pending
    }

    /// Edits the pending settings; nothing takes effect until [`save`](Self::save).
    pub fn edit(&mut self) -> &mut T {
        &mut self.pending
    }

    /// `true` once the object has been written to (or loaded from) storage.
    pub fn is_stored(&self) -> bool {
        self.stored
    }

    /// `true` when the pending settings differ from the saved ones.
    pub fn is_modified(&self) -> bool {
        self.pending != self.saved
    }

    /// The names of the settings edited and not saved, sorted.
    pub fn modified(&self) -> Vec<String> {
        match (to_value(&self.saved), to_value(&self.pending)) {
            (Ok(old), Ok(new)) => diff(&old, &new).into_iter().map(|c| c.name).collect(),
            _ => Vec::new(),
        }
    }

    /// Drops the pending edits.
    pub fn revert(&mut self) {
        self.pending = self.saved.clone();
    }

    /// Validates the pending settings, writes them to `storage` and makes them the saved
    /// ones. Returns the `CFGSettingsObjectDidChange` data when some setting changed, `None`
    /// when nothing did (then nothing is written, unless the object was never stored).
    ///
    /// On error nothing changes: the pending edits stay pending.
    pub fn save<S: Storage + ?Sized>(
        &mut self,
        storage: &mut S,
    ) -> Result<Option<SettingsChange>, SettingsError> {
        if self.stored && !self.is_modified() {
            return Ok(None);
        }
        self.pending
            .validate()
            .map_err(|error| SettingsError::Invalid {
                key: self.key.clone(),
                error,
            })?;
        let old = to_value(&self.saved)?;
        let new = to_value(&self.pending)?;
        let text = serde_json::to_string(&new).map_err(|e| SettingsError::Encode {
            key: self.key.clone(),
            message: e.to_string(),
        })?;
        storage.save(&self.key, &text)?;
        self.saved = self.pending.clone();
        self.stored = true;
        let modified = diff(&old, &new);
        Ok((!modified.is_empty()).then(|| SettingsChange {
            key: self.key.clone(),
            modified,
        }))
    }

    /// Removes the object from `storage`; the settings stay in memory, unsaved.
    pub fn delete<S: Storage + ?Sized>(&mut self, storage: &mut S) -> Result<(), SettingsError> {
        storage.delete(&self.key)?;
        self.stored = false;
        Ok(())
    }
}

fn to_value<T: Serialize>(settings: &T) -> Result<Value, SettingsError> {
    serde_json::to_value(settings).map_err(|e| SettingsError::Encode {
        key: String::new(),
        message: e.to_string(),
    })
}

/// The leaves that differ between two JSON documents, by dotted name, sorted. Objects are
/// walked key by key; anything else (lists, scalars, an object replacing `null`) is one
/// setting. Secret settings have their values redacted.
pub fn diff(old: &Value, new: &Value) -> Vec<SettingChange> {
    let mut out = Vec::new();
    diff_into("", old, new, &mut out);
    out.sort_by(|a, b| a.name.cmp(&b.name));
    out
}

fn diff_into(path: &str, old: &Value, new: &Value, out: &mut Vec<SettingChange>) {
    if let (Value::Object(a), Value::Object(b)) = (old, new) {
        let mut keys: Vec<&String> = a.keys().chain(b.keys()).collect();
        keys.sort();
        keys.dedup();
        for key in keys {
            let child = if path.is_empty() {
                key.clone()
            } else {
                format!("{path}.{key}")
            };
            let (x, y) = (
                a.get(key).unwrap_or(&Value::Null),
                b.get(key).unwrap_or(&Value::Null),
            );
            diff_into(&child, x, y, out);
        }
        return;
    }
    if old == new {
        return;
    }
    let secret = path.rsplit('.').next() == Some("password");
    let shown = |v: &Value| {
        if secret {
            Value::String(REDACTED.to_string())
        } else {
            v.clone()
        }
    };
    out.push(SettingChange {
        name: path.to_string(),
        old: shown(old),
        new: shown(new),
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn diff_walks_objects_and_treats_lists_as_leaves() {
        let old = json!({"a": {"b": 1, "c": [1, 2]}, "d": null, "password": "x"});
        let new = json!({"a": {"b": 2, "c": [1, 2, 3]}, "d": {"e": 1}, "password": "y"});
        let d = diff(&old, &new);
        let names: Vec<&str> = d.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(names, ["a.b", "a.c", "d", "password"]);
        assert_eq!(d[0].old, json!(1));
        assert_eq!(d[2].new, json!({"e": 1}));
        assert_eq!(d[3].new, json!(REDACTED));
        assert!(diff(&old, &old).is_empty());
    }
}
