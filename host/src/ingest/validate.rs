//! Per-item validation of readings against the device registry and the
//! reading-kind catalogue. An item either becomes a [`ValidReading`] or an
//! [`ItemError`] that names the offending field.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::caps::sensor::catalogue::{self, ValueType};
use crate::caps::sensor::ReadingValue;
use crate::clock::Millis;
use crate::db::Db;
use crate::ids::{CommunityId, DeviceId};

/// How far ahead of the host clock a reading may be stamped (device clock skew).
pub const MAX_FUTURE_MS: Millis = 5 * 60 * 1000;
/// How old a reading may be (a gateway catching up after an outage).
pub const MAX_AGE_MS: Millis = 30 * 24 * 60 * 60 * 1000;

/// A reading as a device sends it.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[allow(dead_code)] // documents the wire format for OpenAPI; items are validated field by field
pub struct ReadingInput {
    /// The device that measured it: the token's own device, or one behind it as a gateway.
    device: String,
    /// A reading kind from the host's catalogue.
    kind: String,
    /// A number, a boolean or a string, as the kind requires.
    #[schema(value_type = Object)]
    value: Value,
    /// The unit, when the kind has one; converted spellings are accepted.
    unit: Option<String>,
    /// When it was measured, ms since the epoch; the arrival time when absent.
    at: Option<Millis>,
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

/// A reading that passed validation.
#[derive(Debug, Clone, PartialEq)]
pub struct ValidReading {
    pub device: DeviceId,
    pub kind: &'static str,
    pub value: ReadingValue,
    pub unit: Option<&'static str>,
    pub at: Millis,
}

/// The devices one token may send readings for, with the kinds each reports.
pub struct Sender {
    devices: HashMap<String, Vec<String>>,
    token_device: String,
}

const FIELDS: &[&str] = &["device", "kind", "value", "unit", "at"];

impl Sender {
    /// The token's own device and the devices it is gateway for.
    pub async fn load(db: &Db, community: &CommunityId, device: &str) -> Result<Self, sqlx::Error> {
        let rows: Vec<(String, String)> = sqlx::query_as(
            "SELECT id, reading_kinds FROM devices WHERE community_id = $1 AND (id = $2 OR gateway = $2)",
        )
        .bind(community.as_str())
        .bind(device)
        .fetch_all(db)
        .await?;
        let devices = rows
            .into_iter()
            .map(|(id, kinds)| (id, serde_json::from_str(&kinds).unwrap_or_default()))
            .collect();
        Ok(Self {
            devices,
            token_device: device.to_owned(),
        })
    }

    /// Validates item `index` of a batch received at `now`.
    pub fn validate(
        &self,
        index: usize,
        item: &Value,
        now: Millis,
    ) -> Result<ValidReading, ItemError> {
        let error = |field: &str, message: String| ItemError::new(index, field, message);
        let object = item
            .as_object()
            .ok_or_else(|| error("", "a reading must be a JSON object".to_owned()))?;
        if let Some(unknown) = object.keys().find(|k| !FIELDS.contains(&k.as_str())) {
            return Err(error(
                unknown,
                format!("unknown field; a reading has {}", FIELDS.join(", ")),
            ));
        }
        let text = |field: &str| -> Result<&str, ItemError> {
            match object.get(field) {
                None | Some(Value::Null) => Err(error(field, "is required".to_owned())),
                Some(Value::String(s)) => Ok(s),
                Some(_) => Err(error(field, "must be a string".to_owned())),
            }
        };

        let device = text("device")?;
        let reported = self.devices.get(device).ok_or_else(|| {
            error(
                "device",
                format!(
                    "device {device:?} is not registered behind this token ({})",
                    self.token_device
                ),
            )
        })?;
        let kind_name = text("kind")?;
        let kind = catalogue::kind(kind_name)
            .ok_or_else(|| error("kind", format!("unknown reading kind {kind_name:?}")))?;
        if !reported.iter().any(|k| k == kind.name) {
            return Err(error(
                "kind",
                format!("device {device:?} does not report {kind_name:?}"),
            ));
        }

        let value = match (kind.value, object.get("value")) {
            (_, None | Some(Value::Null)) => return Err(error("value", "is required".to_owned())),
            (ValueType::Number, Some(Value::Number(n))) => {
                let n = n
                    .as_f64()
                    .filter(|n| n.is_finite())
                    .ok_or_else(|| error("value", "must be a finite number".to_owned()))?;
                if let Some((lo, hi)) = kind.range {
                    if !(lo..=hi).contains(&n) {
                        return Err(error(
                            "value",
                            format!("{n} is outside {lo}..={hi} for {}", kind.name),
                        ));
                    }
                }
                ReadingValue::Number(n)
            }
            (ValueType::Number, Some(_)) => {
                return Err(error(
                    "value",
                    format!("must be a finite number for {}", kind.name),
                ))
            }
            (ValueType::Flag, Some(Value::Bool(b))) => ReadingValue::Flag(*b),
            (ValueType::Flag, Some(_)) => {
                return Err(error(
                    "value",
                    format!("must be true or false for {}", kind.name),
                ))
            }
            (ValueType::Text, Some(Value::String(s))) if s.len() <= 1024 => {
                ReadingValue::Text(s.clone())
            }
            (ValueType::Text, Some(_)) => {
                return Err(error(
                    "value",
                    format!("must be a string of at most 1024 bytes for {}", kind.name),
                ))
            }
        };

        let unit = match object.get("unit") {
            None | Some(Value::Null) => None,
            Some(Value::String(s)) => Some(s.as_str()),
            Some(_) => return Err(error("unit", "must be a string".to_owned())),
        };
        let unit = kind.canonical_unit(unit).map_err(|m| error("unit", m))?;

        let at = match object.get("at") {
            None | Some(Value::Null) => now,
            Some(Value::Number(n)) => n.as_i64().ok_or_else(|| {
                error(
                    "at",
                    "must be whole milliseconds since the epoch".to_owned(),
                )
            })?,
            Some(_) => {
                return Err(error(
                    "at",
                    "must be whole milliseconds since the epoch".to_owned(),
                ))
            }
        };
        if at > now + MAX_FUTURE_MS {
            return Err(error(
                "at",
                format!(
                    "is {} ms ahead of the host clock; check the device clock",
                    at - now
                ),
            ));
        }
        if at < now - MAX_AGE_MS {
            return Err(error("at", "is more than 30 days old".to_owned()));
        }

        Ok(ValidReading {
            device: device
                .parse()
                .map_err(|e: crate::ids::InvalidId| error("device", e.to_string()))?,
            kind: kind.name,
            value,
            unit,
            at,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn sender() -> Sender {
        Sender {
            devices: HashMap::from([(
                "t1".to_owned(),
                vec!["temperature".to_owned(), "door".to_owned()],
            )]),
            token_device: "t1".to_owned(),
        }
    }

    fn field_of(item: Value) -> String {
        sender()
            .validate(0, &item, 1_000_000_000)
            .unwrap_err()
            .field
    }

    #[test]
    fn each_bad_field_is_named() {
        let cases = [
            (json!({"kind": "temperature", "value": 1}), "device"),
            (
                json!({"device": "zz", "kind": "temperature", "value": 1}),
                "device",
            ),
            (
                json!({"device": "t1", "kind": "nonsense", "value": 1}),
                "kind",
            ),
            (json!({"device": "t1", "kind": "smoke", "value": 1}), "kind"),
            (
                json!({"device": "t1", "kind": "temperature", "value": "NaN"}),
                "value",
            ),
            (
                json!({"device": "t1", "kind": "temperature", "value": 5000}),
                "value",
            ),
            (json!({"device": "t1", "kind": "door", "value": 1}), "value"),
            (
                json!({"device": "t1", "kind": "temperature", "value": 1, "unit": "K"}),
                "unit",
            ),
            (
                json!({"device": "t1", "kind": "temperature", "value": 1, "at": 2_000_000_000}),
                "at",
            ),
            (
                json!({"device": "t1", "kind": "temperature", "value": 1, "extra": 1}),
                "extra",
            ),
        ];
        for (item, field) in cases {
            assert_eq!(field_of(item.clone()), field, "{item}");
        }
    }

    #[test]
    fn units_are_canonicalised() {
        let r = sender()
            .validate(
                0,
                &json!({"device": "t1", "kind": "temperature", "value": 21.5, "unit": "C"}),
                1_000,
            )
            .unwrap();
        assert_eq!(r.unit, Some("°C"));
        assert_eq!(r.at, 1_000);
    }
}
