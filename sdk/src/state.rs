//! Typed plugin state over the `store` interface.
//!
//! The store holds bytes under string keys, private to one plugin in one
//! community and kept across plugin versions. These helpers keep Rust values
//! there encoded as JSON, so a value stays readable by the next version of the
//! plugin (add fields with `#[serde(default)]`) and by a person debugging it.
//!
//! Writes are visible at once to the running handler and become durable only
//! when the handler returns `Ok`, so a read-modify-write through [`update`]
//! within one handler needs no further care.

use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::{json, store, Error};

/// How many keys [`keys`] asks for per `list-keys` call; the host may cap it lower.
const KEYS_PER_PAGE: u32 = 256;

/// The value under `key`, or `None` if there is none.
///
/// A stored value that does not decode as `T` is an [`Error::Invalid`] naming
/// the key and the field.
pub fn get<T: DeserializeOwned>(key: &str) -> Result<Option<T>, Error> {
    store::get(key)?
        .map(|bytes| json::from_slice(&format!("stored value `{key}`"), &bytes))
        .transpose()
}

/// Stores `value` under `key`, replacing what was there.
pub fn put<T: Serialize + ?Sized>(key: &str, value: &T) -> Result<(), Error> {
    let bytes = serde_json::to_vec(value)
        .map_err(|failure| Error::Invalid(format!("value for `{key}`: {failure}")))?;
    store::set(key, &bytes)
}

/// Changes the value under `key` in place, starting from `T::default()` when
/// there is none, stores the result and returns what `change` returned.
///
/// ```no_run
/// # fn count() -> Result<(), linli_sdk::Error> {
/// let total = linli_sdk::state::update("count", |count: &mut u64| {
///     *count += 1;
///     *count
/// })?;
/// # Ok(()) }
/// ```
pub fn update<T, R>(key: &str, change: impl FnOnce(&mut T) -> R) -> Result<R, Error>
where
    T: Serialize + DeserializeOwned + Default,
{
    let mut value = get(key)?.unwrap_or_default();
    let outcome = change(&mut value);
    put(key, &value)?;
    Ok(outcome)
}

/// Removes `key`; returns whether it existed.
pub fn delete(key: &str) -> Result<bool, Error> {
    store::delete(key)
}

/// Every key starting with `prefix`, in order.
///
/// Pages through `list-keys` until the host has no more, so the answer is
/// complete however many keys there are.
pub fn keys(prefix: &str) -> Result<Vec<String>, Error> {
    let mut keys: Vec<String> = Vec::new();
    loop {
        let page = store::list_keys(prefix, keys.last().map(String::as_str), KEYS_PER_PAGE)?;
        // The host may return fewer keys than asked for even when more
        // remain, so only an empty page means the end.
        if page.is_empty() {
            return Ok(keys);
        }
        keys.extend(page);
    }
}
