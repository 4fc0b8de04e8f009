//! A refused item of a list — a reading of a batch, a feature of a map —
//! named by its position and the field at fault, so a caller can fix every
//! problem in one round. Shared by every path that validates a list.

use serde::{Deserialize, Serialize};

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
