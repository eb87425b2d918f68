//! [`FileStorage`]: settings as one JSON file per key in a folder (cargo feature `native`).
//!
//! This is shell code behind the `native` feature, like `sipsimple::native`: the core itself
//! only sees the [`Storage`] trait. Writes go to a temporary file that is then renamed over
//! the old one, so a crash leaves either the old or the new document, never half of one.

use super::storage::{Storage, StorageError};
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

/// A [`Storage`] keeping `<folder>/<key>.json`, keys percent-encoded to safe file names.
#[derive(Debug, Clone)]
pub struct FileStorage {
    dir: PathBuf,
}

const SUFFIX: &str = ".json";

fn encode(key: &str) -> String {
    let mut out = String::with_capacity(key.len());
    for b in key.bytes() {
        if b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || (b == b'.' && !out.is_empty()) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

fn decode(name: &str) -> Option<String> {
    let bytes = name.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        if b == b'%' {
            let hex = name.get(i + 1..i + 3)?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(b);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

impl FileStorage {
    /// A store in `dir`, created (with its parents) when missing.
    pub fn open(dir: impl AsRef<Path>) -> Result<FileStorage, StorageError> {
        let dir = dir.as_ref().to_path_buf();
        fs::create_dir_all(&dir)
            .map_err(|e| StorageError::new(format!("{}: {e}", dir.display())))?;
        Ok(FileStorage { dir })
    }

    /// The folder.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn path(&self, key: &str) -> PathBuf {
        self.dir.join(format!("{}{SUFFIX}", encode(key)))
    }
}

impl Storage for FileStorage {
    fn load(&self, key: &str) -> Option<String> {
        fs::read_to_string(self.path(key)).ok()
    }

    fn save(&mut self, key: &str, value: &str) -> Result<(), StorageError> {
        let path = self.path(key);
        let tmp = path.with_extension("json.tmp");
        let err = |e: std::io::Error| StorageError::new(format!("{}: {e}", path.display()));
        let mut f = fs::File::create(&tmp).map_err(err)?;
        f.write_all(value.as_bytes()).map_err(err)?;
        f.sync_all().map_err(err)?;
        drop(f);
        fs::rename(&tmp, &path).map_err(err)
    }

    fn delete(&mut self, key: &str) -> Result<(), StorageError> {
        match fs::remove_file(self.path(key)) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(StorageError::new(format!("{key}: {e}"))),
        }
    }

    fn keys(&self) -> Vec<String> {
        let Ok(rd) = fs::read_dir(&self.dir) else {
            return Vec::new();
        };
        rd.filter_map(|e| {
            let name = e.ok()?.file_name().into_string().ok()?;
            decode(name.strip_suffix(SUFFIX)?)
        })
        .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::settings::{AccountSettings, SettingsObject};

    fn scratch(name: &str) -> PathBuf {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0);
        std::env::temp_dir().join(format!("sipsimple-{name}-{}-{nanos}", std::process::id()))
    }

    #[test]
    fn keeps_documents_across_instances_with_odd_keys() {
        let dir = scratch("file-storage");
        let mut a = FileStorage::open(&dir).expect("open");
        a.save("accounts/alice@example.com", "{\"a\":1}")
            .expect("save");
        a.save("../escape", "x").expect("save");
        a.save(".hidden", "y").expect("save");
        let b = FileStorage::open(&dir).expect("reopen");
        assert_eq!(
            b.load("accounts/alice@example.com").as_deref(),
            Some("{\"a\":1}")
        );
        assert_eq!(b.load("../escape").as_deref(), Some("x"));
        let mut keys = b.keys();
        keys.sort();
        assert_eq!(
            keys,
            vec!["../escape", ".hidden", "accounts/alice@example.com"]
        );
        // Every file stayed inside the folder.
        assert_eq!(fs::read_dir(&dir).expect("dir").count(), 3);
        a.delete("../escape").expect("delete");
        a.delete("never-there").expect("absent is fine");
        assert_eq!(a.load("../escape"), None);
        let _ = fs::remove_dir_all(&dir);
    }

    #[test]
    fn account_settings_round_trip_through_files() {
        let dir = scratch("file-settings");
        let mut store = FileStorage::open(&dir).expect("open");
        let mut obj =
            SettingsObject::new("accounts/alice", AccountSettings::new("alice@example.com"));
        obj.edit().display_name = Some("Alice".into());
        obj.save(&mut store).expect("save");
        let back: SettingsObject<AccountSettings> = SettingsObject::load("accounts/alice", &store)
            .expect("valid")
            .expect("stored");
        assert_eq!(back.settings().display_name.as_deref(), Some("Alice"));
        let _ = fs::remove_dir_all(&dir);
    }
}
