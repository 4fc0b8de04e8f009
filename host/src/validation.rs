//! A refused item of a list — a reading of a batch, a feature of a map —
//! named by its position and the field at fault, so a caller can fix every
//! problem in one round. Shared by every path that validates a list.

use serde::{Deserialize, Serialize};

/// The name among `known` closest to a misspelled `name`, when one is close
/// enough to be what was meant (at most two edits, and fewer than half the
/// name's length).
pub fn nearest<'a>(name: &str, known: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    known
        .into_iter()
        .map(|candidate| (strsim::levenshtein(name, candidate), candidate))
        .filter(|(distance, _)| *distance <= 2 && *distance * 2 < name.len().max(1))
        .min_by_key(|(distance, _)| *distance)
        .map(|(_, candidate)| candidate)
}

/// ` (did you mean "x"?)` when a near name exists, else nothing.
pub fn did_you_mean<'a>(name: &str, known: impl IntoIterator<Item = &'a str>) -> String {
    nearest(name, known)
        .map(|near| format!(" (did you mean {near:?}?)"))
        .unwrap_or_default()
}

/// Why one item of a batch was refused.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ItemError {
    /// Position of the item in the batch, from 0.
    pub index: usize,
    /// The offending field (empty when the item as a whole is malformed).
    pub field: String,
    pub message: String,
}

impl ItemError {
    pub fn new(index: usize, field: &str, message: impl Into<String>) -> Self {
        Self {
            index,
            field: field.to_owned(),
            message: message.into(),
        }
    }
}

/// Why a value was refused: the field at fault (dotted, as the caller spelt
/// it: `limits.memory-mib`, `escalation[0].audience`) and the reason.
/// Every validation below the HTTP layer returns one, so the field is data,
/// not something to parse out of a message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {reason}")]
pub struct Invalid {
    pub field: String,
    pub reason: String,
}

impl Invalid {
    pub fn new(field: impl Into<String>, reason: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            reason: reason.into(),
        }
    }

    /// The same reason for a field the caller names otherwise (an alarm
    /// type checked for a query's `type`).
    pub fn at(self, field: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            ..self
        }
    }
}

#[cfg(test)]
mod tests {
    use super::nearest;

    #[test]
    fn a_near_name_is_suggested_and_a_far_one_is_not() {
        let kinds = ["temperature", "humidity", "smoke", "co", "co2"];
        assert_eq!(nearest("temprature", kinds), Some("temperature"));
        assert_eq!(nearest("humidty", kinds), Some("humidity"));
        assert_eq!(
            nearest("c", kinds),
            None,
            "one letter is too short to guess from"
        );
        assert_eq!(nearest("rainfall", kinds), None);
    }
}
