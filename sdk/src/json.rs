//! JSON decoding that reports failures as the platform's [`Error::Invalid`].
//!
//! Config, command input and stored values all cross the host boundary as JSON.
//! When one does not fit its Rust type, the person who has to fix it needs to
//! know which field is wrong, so every decode goes through
//! `serde_path_to_error` and the message names the field path.

use serde::de::{DeserializeOwned, Deserializer};
use serde_path_to_error::Segment;

use crate::Error;

/// Decodes `T` from `text`; `what` names the document in the error, such as "config".
pub(crate) fn from_str<T: DeserializeOwned>(what: &str, text: &str) -> Result<T, Error> {
    decode_whole(what, serde_json::Deserializer::from_str(text))
}

/// Decodes `T` from JSON `bytes`; `what` names the document in the error.
pub(crate) fn from_slice<T: DeserializeOwned>(what: &str, bytes: &[u8]) -> Result<T, Error> {
    decode_whole(what, serde_json::Deserializer::from_slice(bytes))
}

/// Decodes one `T` and then insists that only whitespace follows it.
fn decode_whole<'de, R, T>(
    what: &str,
    mut deserializer: serde_json::Deserializer<R>,
) -> Result<T, Error>
where
    R: serde_json::de::Read<'de>,
    T: DeserializeOwned,
{
    let value = decode(what, &mut deserializer)?;
    deserializer
        .end()
        .map_err(|trailing| Error::Invalid(format!("{what}: {trailing}")))?;
    Ok(value)
}

/// Decodes `T` from an already parsed JSON `value`; `what` names the document in the error.
pub(crate) fn from_value<T: DeserializeOwned>(
    what: &str,
    value: serde_json::Value,
) -> Result<T, Error> {
    decode(what, value)
}

fn decode<'de, D, T>(what: &str, deserializer: D) -> Result<T, Error>
where
    D: Deserializer<'de>,
    D::Error: std::fmt::Display,
    T: DeserializeOwned,
{
    serde_path_to_error::deserialize(deserializer).map_err(|failure| {
        // A failure at the root, or inside JSON too broken to name a field
        // (every segment unknown), has no useful location: the inner message
        // already gives the line and column.
        let located = failure
            .path()
            .iter()
            .any(|segment| !matches!(segment, Segment::Unknown));
        if located {
            Error::Invalid(format!(
                "{what} at `{}`: {}",
                failure.path(),
                failure.inner()
            ))
        } else {
            Error::Invalid(format!("{what}: {}", failure.inner()))
        }
    })
}
