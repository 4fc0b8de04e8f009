//! A person's records in plugin state, and forgetting a person.
//!
//! The host treats one spelling of a key as the convention for "this value
//! is about this person": its last `/` segment is exactly their person id
//! (`members/person-075`, `offers/r-000012/person-075`). In a person's
//! "download my data" archive the host includes those keys (except under
//! `sealed/`), and when the community erases the person it deletes them
//! before the scene receives [`Event::PersonErased`](crate::Event). So a
//! scene that keys its per-person records with [`key`] gets export and most
//! of erasure for nothing.
//!
//! What the host cannot see is the scene's to forget in its
//! `person-erased` handler: records keyed by something else (a device, an
//! alarm, a request) that name the person, indexes, lists inside other
//! values. [`forget_where`] deletes the values under a prefix that a
//! predicate says are theirs; [`forget_mentions`] those that name them
//! anywhere. Ledger entries stay: they name only the opaque person id,
//! which maps to no one once the person is erased.

use serde::de::DeserializeOwned;
use serde_json::Value as Json;

use crate::{state, Error};

/// The key of a record about `person` under `prefix`: `prefix/person`.
///
/// `prefix` has no trailing `/` and may have segments of its own
/// (`key("offers/r-000012", "person-075")` is `offers/r-000012/person-075`).
pub fn key(prefix: &str, person: &str) -> String {
    format!("{prefix}/{person}")
}

/// The person a key is about under the convention: its last `/` segment.
/// A key without a `/` is about no one.
pub fn owner(key: &str) -> Option<&str> {
    key.rsplit_once('/').map(|(_, last)| last)
}

/// Every record about `person` under the convention, with its value, in
/// key order: what the host exports for them (keys under `sealed/` left out)
/// and erases with them.
///
/// It reads the whole store, so it suits a person's or staff's request for
/// what the scene keeps, not an event handler. A value that is not JSON
/// (a compact binary index) is an [`Error::Invalid`] naming its key.
pub fn records_of(person: &str) -> Result<Vec<(String, Json)>, Error> {
    let mut records = Vec::new();
    for key in state::keys("")? {
        if owner(&key) != Some(person) || key.starts_with("sealed/") {
            continue;
        }
        if let Some(value) = state::get::<Json>(&key)? {
            records.push((key, value));
        }
    }
    Ok(records)
}

/// Deletes every value under `prefix` that `about` says is about the
/// person being forgotten; returns what it deleted, key and value, in key
/// order, so the scene can cancel what hung off them (a timer, an
/// escalation):
///
/// ```no_run
/// # #[derive(serde::Deserialize)] struct Wearable { person: String }
/// # fn erased(person: &str) -> Result<(), linli_sdk::Error> {
/// let worn = linli_sdk::personal::forget_where("wearable/", |_, w: &Wearable| w.person == person)?;
/// for (key, _) in worn {
///     linli_sdk::timer::cancel(&format!("battery/{key}"))?;
/// }
/// # Ok(()) }
/// ```
pub fn forget_where<T: DeserializeOwned>(
    prefix: &str,
    mut about: impl FnMut(&str, &T) -> bool,
) -> Result<Vec<(String, T)>, Error> {
    let mut forgotten = Vec::new();
    for key in state::keys(prefix)? {
        let Some(value) = state::get::<T>(&key)? else {
            continue;
        };
        if about(&key, &value) {
            state::delete(&key)?;
            forgotten.push((key, value));
        }
    }
    Ok(forgotten)
}

/// Deletes every JSON value under `prefix` that names `person` anywhere
/// (a string equal to their id, at any depth); returns what it deleted.
///
/// For records where any mention makes the whole record theirs; where a
/// record is someone else's and only mentions them (a volunteer on another
/// person's request), change the record instead.
pub fn forget_mentions(prefix: &str, person: &str) -> Result<Vec<(String, Json)>, Error> {
    forget_where(prefix, |_, value: &Json| mentions(value, person))
}

/// Whether `value` holds a string equal to `person`, at any depth
/// (object keys included).
pub fn mentions(value: &Json, person: &str) -> bool {
    match value {
        Json::String(text) => text == person,
        Json::Array(items) => items.iter().any(|item| mentions(item, person)),
        Json::Object(fields) => fields
            .iter()
            .any(|(name, item)| name == person || mentions(item, person)),
        Json::Null | Json::Bool(_) | Json::Number(_) => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_last_segment_names_the_person() {
        assert_eq!(key("members", "person-075"), "members/person-075");
        assert_eq!(owner("offers/r-000012/person-075"), Some("person-075"));
        assert_eq!(owner("next-request"), None);
    }

    #[test]
    fn a_mention_is_a_whole_string_at_any_depth() {
        let value = json!({"alarm": "alm_1", "people": [{"id": "person-075"}]});
        assert!(mentions(&value, "person-075"));
        assert!(!mentions(&value, "person-07"));
        assert!(mentions(&json!({"person-075": 3}), "person-075"));
        assert!(!mentions(&json!({"note": "ask person-075"}), "person-075"));
    }
}
