//! Per-item validation of readings against the device registry and the
//! reading-kind catalogue. An item either becomes a [`ValidReading`] or an
//! [`ItemError`] that names the offending field. Valid readings refer to
//! their device by position in the sender's [`DeviceSet`] and to their kind
//! and unit by the catalogue's `'static` names, so a number or flag reading
//! costs no allocation between the request body and the store.

use std::sync::Arc;

use serde::Deserialize;

use crate::validation::ItemError;

use super::device_sets::DeviceSet;
use super::items::{Field, RawItem, RawReading, FIELDS};
use crate::caps::sensor::catalogue::{self, ValueType};
use crate::caps::sensor::ReadingValue;
use crate::clock::Millis;

/// How far ahead of the host clock a reading may be stamped (device clock skew).
pub const MAX_FUTURE_MS: Millis = 5 * 60 * 1000;
/// How old a reading may be (a gateway catching up after an outage).
pub const MAX_AGE_MS: Millis = 30 * 24 * 60 * 60 * 1000;
/// Longest text value.
pub const MAX_TEXT_BYTES: usize = 1024;

/// A reading as a device sends it.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[allow(dead_code)] // documents the wire format for OpenAPI; items are read by `items`
pub struct ReadingInput {
    /// The device that measured it: the token's own device, or one behind it
    /// as a gateway. Over MQTT it may be left out for the topic's device.
    device: Option<String>,
    /// A reading kind from the host's catalogue.
    kind: String,
    /// A number, a boolean or a string, as the kind requires.
    #[schema(value_type = crate::caps::sensor::ReadingValue)]
    value: serde_json::Value,
    /// The unit, when the kind has one; converted spellings are accepted.
    unit: Option<String>,
    /// When it was measured, ms since the epoch; the arrival time when absent.
    at: Option<Millis>,
}

/// A reading that passed validation.
#[derive(Debug, Clone, PartialEq)]
pub struct ValidReading {
    /// Position of its device in [`ValidBatch::devices`].
    pub device: usize,
    pub kind: &'static str,
    pub value: ReadingValue,
    pub unit: Option<&'static str>,
    pub at: Millis,
}

/// The valid readings of a batch and the devices they name.
#[derive(Debug)]
pub struct ValidBatch {
    pub devices: Arc<DeviceSet>,
    pub readings: Vec<ValidReading>,
}

impl ValidBatch {
    /// The device of `reading`.
    pub fn device(&self, reading: &ValidReading) -> &str {
        self.devices.id(reading.device)
    }
}

/// A batch's sender as validation sees it: the devices its token may send
/// for, and the device a reading that names none is for.
pub struct Sender {
    devices: Arc<DeviceSet>,
    /// Over MQTT, the topic's device (the token's own); over HTTP, none:
    /// every reading names its device.
    unnamed: Option<usize>,
}

impl Sender {
    /// A sender of `devices`; with `sender_by_default`, a reading that names
    /// no device is the token's own device's.
    pub fn new(devices: Arc<DeviceSet>, sender_by_default: bool) -> Self {
        let unnamed = sender_by_default
            .then(|| devices.position(devices.sender()))
            .flatten();
        Self { devices, unnamed }
    }

    /// Validates every item of a batch received at `now`: the valid readings, and an error for each other item.
    pub fn validate_all(self, items: &[RawItem<'_>], now: Millis) -> (ValidBatch, Vec<ItemError>) {
        let mut readings = Vec::with_capacity(items.len());
        let mut errors = Vec::new();
        for (index, item) in items.iter().enumerate() {
            match self.validate(index, item, now) {
                Ok(reading) => readings.push(reading),
                Err(error) => errors.push(error),
            }
        }
        let batch = ValidBatch {
            devices: self.devices,
            readings,
        };
        (batch, errors)
    }

    /// Validates item `index` of a batch received at `now`.
    pub fn validate(
        &self,
        index: usize,
        item: &RawItem<'_>,
        now: Millis,
    ) -> Result<ValidReading, ItemError> {
        let error = |field: &str, message: String| ItemError::new(index, field, message);
        let reading: &RawReading = match item {
            RawItem::Reading(reading) => reading,
            RawItem::NotAnObject => {
                return Err(error("", "a reading must be a JSON object".to_owned()))
            }
            RawItem::Malformed(message) => return Err(error("", message.clone())),
        };
        if let Some(unknown) = &reading.unknown {
            return Err(error(
                unknown,
                format!("unknown field; a reading has {}", FIELDS.join(", ")),
            ));
        }
        let position = match (&reading.device, self.unnamed) {
            (Field::Missing, Some(own)) => own,
            (device, _) => {
                let device = required_text(index, "device", device)?;
                self.devices.position(device).ok_or_else(|| {
                    error(
                        "device",
                        format!(
                            "device {device:?} is not registered behind this token ({})",
                            self.devices.sender()
                        ),
                    )
                })?
            }
        };
        let kind_name = required_text(index, "kind", &reading.kind)?;
        let kind = catalogue::kind(kind_name)
            .ok_or_else(|| error("kind", format!("unknown reading kind {kind_name:?}")))?;
        if !self.devices.reports(position, kind) {
            return Err(error(
                "kind",
                format!(
                    "device {:?} does not report {kind_name:?}",
                    self.devices.id(position)
                ),
            ));
        }

        let number = match reading.value {
            Field::Int(n) => Some(n as f64),
            Field::Float(n) => Some(n),
            _ => None,
        };
        let value = match (kind.value, &reading.value) {
            (_, Field::Missing) => return Err(error("value", "is required".to_owned())),
            (ValueType::Number, _) => {
                let n = number.filter(|n| n.is_finite()).ok_or_else(|| {
                    error(
                        "value",
                        format!("must be a finite number for {}", kind.name),
                    )
                })?;
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
            (ValueType::Flag, Field::Bool(b)) => ReadingValue::Flag(*b),
            (ValueType::Flag, _) => {
                return Err(error(
                    "value",
                    format!("must be true or false for {}", kind.name),
                ))
            }
            (ValueType::Text, Field::Text(s)) if s.len() <= MAX_TEXT_BYTES => {
                ReadingValue::Text(s.to_string())
            }
            (ValueType::Text, _) => {
                return Err(error(
                    "value",
                    format!(
                        "must be a string of at most {MAX_TEXT_BYTES} bytes for {}",
                        kind.name
                    ),
                ))
            }
        };

        let unit = match &reading.unit {
            Field::Missing => None,
            Field::Text(s) => Some(s.as_ref()),
            _ => return Err(error("unit", "must be a string".to_owned())),
        };
        let unit = kind.canonical_unit(unit).map_err(|m| error("unit", m))?;

        let at = match reading.at {
            Field::Missing => now,
            Field::Int(at) => at,
            _ => {
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
            device: position,
            kind: kind.name,
            value,
            unit,
            at,
        })
    }
}

/// The string in a required field, or the error naming it.
fn required_text<'v>(
    index: usize,
    field: &str,
    value: &'v Field<'_>,
) -> Result<&'v str, ItemError> {
    match value {
        Field::Missing => Err(ItemError::new(index, field, "is required")),
        Field::Text(s) => Ok(s),
        _ => Err(ItemError::new(index, field, "must be a string")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ingest::items::json_array;
    use serde_json::{json, Value};

    fn devices() -> Arc<DeviceSet> {
        let rows = [("t1".parse().unwrap(), vec!["temperature", "door"])];
        Arc::new(DeviceSet::new("t1", rows))
    }

    fn sender() -> Sender {
        Sender::new(devices(), false)
    }

    fn validate(item: &Value, now: Millis) -> Result<ValidReading, ItemError> {
        let body = serde_json::to_vec(&json!([item])).unwrap();
        let items = json_array(&body).unwrap();
        sender().validate(0, &items[0], now)
    }

    fn field_of(item: Value) -> String {
        validate(&item, 1_000_000_000).unwrap_err().field
    }

    #[test]
    fn each_bad_field_is_named() {
        let cases = [
            (json!({"kind": "temperature", "value": 1}), "device"),
            (
                json!({"device": 7, "kind": "temperature", "value": 1}),
                "device",
            ),
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
            (json!({"device": "t1", "kind": "temperature"}), "value"),
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
                json!({"device": "t1", "kind": "temperature", "value": 1, "unit": 1}),
                "unit",
            ),
            (
                json!({"device": "t1", "kind": "temperature", "value": 1, "at": 2_000_000_000}),
                "at",
            ),
            (
                json!({"device": "t1", "kind": "temperature", "value": 1, "at": 1.5}),
                "at",
            ),
            (
                json!({"device": "t1", "kind": "temperature", "value": 1, "extra": 1}),
                "extra",
            ),
            (json!([1, 2]), ""),
        ];
        for (item, field) in cases {
            assert_eq!(field_of(item.clone()), field, "{item}");
        }
    }

    #[test]
    fn units_are_canonicalised() {
        let r = validate(
            &json!({"device": "t1", "kind": "temperature", "value": 21.5, "unit": "C"}),
            1_000,
        )
        .unwrap();
        assert_eq!(r.unit, Some("°C"));
        assert_eq!(r.at, 1_000);
        assert_eq!(r.value, ReadingValue::Number(21.5));
    }

    #[test]
    fn a_batch_keeps_its_good_items_and_names_its_bad_ones() {
        let body = br#"[{"device":"t1","kind":"door","value":true}, 3, {"device":"t1","kind":"temperature","value":20,"at":999}]"#;
        let items = json_array(body).unwrap();
        let (batch, errors) = sender().validate_all(&items, 1_000);
        assert_eq!(batch.readings.len(), 2);
        assert_eq!(batch.device(&batch.readings[1]), "t1");
        assert_eq!(batch.readings[1].at, 999);
        assert_eq!(
            errors,
            vec![ItemError::new(1, "", "a reading must be a JSON object")]
        );
    }

    #[test]
    fn a_reading_without_device_is_the_senders_only_when_the_transport_says_so() {
        let body = br#"[{"kind":"door","value":true}]"#;
        let items = json_array(body).unwrap();
        let (batch, errors) = Sender::new(devices(), true).validate_all(&items, 1_000);
        assert!(errors.is_empty(), "{errors:?}");
        assert_eq!(batch.device(&batch.readings[0]), "t1");
        let (batch, errors) = sender().validate_all(&items, 1_000);
        assert!(batch.readings.is_empty());
        assert_eq!(errors, vec![ItemError::new(0, "device", "is required")]);
    }

    proptest::proptest! {
        /// Whether the sender is named or left to the transport, a reading
        /// is kept with its own timestamp exactly when that timestamp and
        /// its value are inside their bounds, and otherwise the error names
        /// the field that is not.
        #[test]
        fn a_reading_keeps_its_timestamp_exactly_when_it_is_in_bounds(
            offset in -2 * MAX_AGE_MS..2 * MAX_FUTURE_MS,
            value in -100.0_f64..1300.0,
            named: bool,
        ) {
            let now = 2 * MAX_AGE_MS;
            let at = now + offset;
            let mut item = json!({"kind": "temperature", "value": value, "at": at});
            if named {
                item["device"] = json!("t1");
            }
            let body = serde_json::to_vec(&json!([item])).unwrap();
            let items = json_array(&body).unwrap();
            let result = Sender::new(devices(), true).validate(0, &items[0], now);
            let at_ok = (now - MAX_AGE_MS..=now + MAX_FUTURE_MS).contains(&at);
            let value_ok = (-60.0..=1200.0).contains(&value);
            match result {
                Ok(reading) => {
                    proptest::prop_assert!(at_ok && value_ok);
                    proptest::prop_assert_eq!(reading.at, at);
                    proptest::prop_assert_eq!(reading.device, 0);
                }
                Err(error) => {
                    let expected = if value_ok { "at" } else { "value" };
                    proptest::prop_assert_eq!(error.field.as_str(), expected);
                }
            }
        }
    }
}
