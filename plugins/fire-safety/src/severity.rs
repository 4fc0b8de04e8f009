//! Severities by name, as config, stored state and command output spell them.

use linli_sdk::Severity;
use serde::{Deserialize, Deserializer, Serializer};

/// Every severity with its name, most urgent first.
const NAMES: [(Severity, &str); 5] = [
    (Severity::Critical, "critical"),
    (Severity::Major, "major"),
    (Severity::Minor, "minor"),
    (Severity::Warning, "warning"),
    (Severity::Info, "info"),
];

pub fn name(severity: Severity) -> &'static str {
    NAMES
        .iter()
        .find(|(s, _)| *s == severity)
        .map_or("info", |(_, n)| n)
}

pub fn parse(name: &str) -> Option<Severity> {
    NAMES.iter().find(|(_, n)| *n == name).map(|(s, _)| *s)
}

/// `#[serde(with = "crate::severity")]` for a [`Severity`] field.
pub fn serialize<S: Serializer>(severity: &Severity, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_str(name(*severity))
}

pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Severity, D::Error> {
    let text = String::deserialize(deserializer)?;
    parse(&text).ok_or_else(|| {
        serde::de::Error::custom(format!(
            "unknown severity {text:?}: one of critical, major, minor, warning, info"
        ))
    })
}
