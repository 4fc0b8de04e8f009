//! Severities in stored state, by the names the SDK gives them:
//! `#[serde(with = "crate::severity")]` for a [`Severity`] field.

use linli_sdk::Severity;
use serde::{Deserialize, Deserializer, Serializer};

pub fn serialize<S: Serializer>(severity: &Severity, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_str(severity.name())
}

pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Severity, D::Error> {
    let text = String::deserialize(deserializer)?;
    Severity::from_name(&text).ok_or_else(|| {
        serde::de::Error::custom(format!(
            "unknown severity {text:?}: one of critical, major, minor, warning, info"
        ))
    })
}
