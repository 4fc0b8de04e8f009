//! The plugin's key/value state, as the `store` capability keeps it.
//!
//! The simulated host applies a handler's writes at once and rolls all of
//! its effects back if the handler fails (see [`super::effects`]), which
//! is what the host's overlay-and-commit amounts to as the plugin sees it.

use std::collections::BTreeMap;

use crate::Error;

/// Longest key, in bytes, as on the host.
const MAX_KEY_BYTES: usize = 256;
/// Largest value, in bytes, as on the host.
const MAX_VALUE_BYTES: usize = 1 << 20;
/// Most keys one `list-keys` call returns, as on the host.
const MAX_LIST: u32 = 1000;

/// Keys and their values, in key order.
#[derive(Debug, Clone, Default)]
pub(crate) struct Store {
    entries: BTreeMap<String, Vec<u8>>,
}

fn check_key(key: &str) -> Result<(), Error> {
    if key.is_empty() || key.len() > MAX_KEY_BYTES {
        return Err(Error::Invalid(format!(
            "key must be 1-{MAX_KEY_BYTES} bytes"
        )));
    }
    Ok(())
}

impl Store {
    pub fn get(&self, key: &str) -> Result<Option<Vec<u8>>, Error> {
        check_key(key)?;
        Ok(self.entries.get(key).cloned())
    }

    pub fn set(&mut self, key: &str, value: &[u8]) -> Result<(), Error> {
        check_key(key)?;
        if value.len() > MAX_VALUE_BYTES {
            return Err(Error::Limit(format!(
                "value of {} bytes is over the {MAX_VALUE_BYTES}-byte limit",
                value.len()
            )));
        }
        self.entries.insert(key.to_owned(), value.to_vec());
        Ok(())
    }

    pub fn delete(&mut self, key: &str) -> Result<bool, Error> {
        check_key(key)?;
        Ok(self.entries.remove(key).is_some())
    }

    pub fn list_keys(&self, prefix: &str, start_after: Option<&str>, limit: u32) -> Vec<String> {
        let after = start_after.unwrap_or_default();
        self.entries
            .keys()
            .filter(|k| k.starts_with(prefix) && k.as_str() > after)
            .take(limit.min(MAX_LIST) as usize)
            .cloned()
            .collect()
    }

    /// Deletes every key whose last `/` segment is `person`, as the host
    /// does when the community erases them; returns the keys deleted.
    pub fn erase_person(&mut self, person: &str) -> Vec<String> {
        let theirs: Vec<String> = self
            .entries
            .keys()
            .filter(|key| crate::personal::owner(key) == Some(person))
            .cloned()
            .collect();
        for key in &theirs {
            self.entries.remove(key);
        }
        theirs
    }

    /// Every entry, in key order.
    pub fn entries(&self) -> &BTreeMap<String, Vec<u8>> {
        &self.entries
    }
}
