//! The items of a batch as a device sends them, read straight from the
//! request bytes without building a JSON tree: each item becomes a
//! [`RawItem`] whose strings borrow from the body (they are copied only when
//! they hold JSON escapes). Reading an item fails only on broken JSON; a
//! missing field, a value of the wrong type or an unknown field is kept as
//! it was sent and left to validation, which names the field.
//!
//! Reading stops at the first item past [`MAX_BATCH`]: a body of millions
//! of tiny items (`[0,0,…]`) costs no more memory than a full batch.

use std::borrow::Cow;
use std::fmt;

use serde::de::{self, Deserialize, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};

pub use super::MAX_BATCH;

/// One field of an item as sent: a JSON scalar, or a marker for an array or object.
#[derive(Debug, Clone, Default, PartialEq)]
pub enum Field<'a> {
    /// Absent, or `null`.
    #[default]
    Missing,
    Bool(bool),
    /// An integer that fits in an `i64`.
    Int(i64),
    /// Any other number.
    Float(f64),
    Text(Cow<'a, str>),
    /// An array or an object, which no reading field takes.
    Composite,
}

/// The fields of one item that is a JSON object.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RawReading<'a> {
    pub device: Field<'a>,
    pub kind: Field<'a>,
    pub value: Field<'a>,
    pub unit: Field<'a>,
    pub at: Field<'a>,
    /// The first field that a reading does not have, if any.
    pub unknown: Option<Cow<'a, str>>,
}

/// One item of a batch.
#[derive(Debug, Clone, PartialEq)]
pub enum RawItem<'a> {
    Reading(RawReading<'a>),
    /// Valid JSON, but not an object.
    NotAnObject,
    /// A line of NDJSON that is not JSON at all, with the parser's message.
    Malformed(String),
}

/// The fields a reading has, in the order messages list them.
pub const FIELDS: &[&str] = &["device", "kind", "value", "unit", "at"];

/// Why a body could not be read into items.
#[derive(Debug, thiserror::Error)]
pub enum ItemsError {
    /// More than [`MAX_BATCH`] items; reading stopped at the first one past it.
    #[error("a batch holds at most {MAX_BATCH} readings")]
    TooMany,
    /// The body is not a JSON array.
    #[error(transparent)]
    Json(serde_json::Error),
}

/// The message of the error [`bounded`] stops with, to tell it from broken JSON.
const TOO_MANY: &str = "linli: more readings than a batch holds";

impl From<serde_json::Error> for ItemsError {
    fn from(e: serde_json::Error) -> Self {
        if e.to_string().starts_with(TOO_MANY) {
            ItemsError::TooMany
        } else {
            ItemsError::Json(e)
        }
    }
}

/// Deserializes a JSON array of items, failing at the first item past
/// [`MAX_BATCH`] instead of reading the rest; for `deserialize_with`.
pub fn bounded<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Vec<RawItem<'de>>, D::Error> {
    struct BoundedVisitor;

    impl<'de> Visitor<'de> for BoundedVisitor {
        type Value = Vec<RawItem<'de>>;

        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            f.write_str("a JSON array of readings")
        }

        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
            let mut items = Vec::new();
            while let Some(item) = seq.next_element()? {
                if items.len() == MAX_BATCH {
                    return Err(de::Error::custom(TOO_MANY));
                }
                items.push(item);
            }
            Ok(items)
        }
    }

    deserializer.deserialize_seq(BoundedVisitor)
}

/// Reads a JSON array of items; fails when the body is not a JSON array or
/// holds more than [`MAX_BATCH`] items.
pub fn json_array(body: &[u8]) -> Result<Vec<RawItem<'_>>, ItemsError> {
    let mut deserializer = serde_json::Deserializer::from_slice(body);
    let items = bounded(&mut deserializer)?;
    deserializer.end()?;
    Ok(items)
}

/// Reads NDJSON: one item per non-blank line; a line that is not JSON is a
/// [`RawItem::Malformed`] item, so the other lines still land. Fails at the
/// first line past [`MAX_BATCH`].
pub fn ndjson(body: &str) -> Result<Vec<RawItem<'_>>, ItemsError> {
    let mut items = Vec::new();
    for line in body.lines().filter(|line| !line.trim().is_empty()) {
        if items.len() == MAX_BATCH {
            return Err(ItemsError::TooMany);
        }
        items.push(
            serde_json::from_str(line)
                .unwrap_or_else(|e| RawItem::Malformed(format!("not valid JSON: {e}"))),
        );
    }
    Ok(items)
}

impl<'de: 'a, 'a> Deserialize<'de> for RawItem<'a> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct ItemVisitor;

        impl<'de> Visitor<'de> for ItemVisitor {
            type Value = RawItem<'de>;

            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a reading")
            }

            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                let mut reading = RawReading::default();
                while let Some(key) = map.next_key::<Text<'de>>()? {
                    let slot = match key.0.as_ref() {
                        "device" => &mut reading.device,
                        "kind" => &mut reading.kind,
                        "value" => &mut reading.value,
                        "unit" => &mut reading.unit,
                        "at" => &mut reading.at,
                        _ => {
                            reading.unknown.get_or_insert(key.0);
                            map.next_value::<IgnoredAny>()?;
                            continue;
                        }
                    };
                    *slot = map.next_value()?;
                }
                Ok(RawItem::Reading(reading))
            }

            fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Self::Value, A::Error> {
                IgnoredAny.visit_seq(seq)?;
                Ok(RawItem::NotAnObject)
            }

            fn visit_unit<E>(self) -> Result<Self::Value, E> {
                Ok(RawItem::NotAnObject)
            }

            fn visit_bool<E>(self, _: bool) -> Result<Self::Value, E> {
                Ok(RawItem::NotAnObject)
            }

            fn visit_i64<E>(self, _: i64) -> Result<Self::Value, E> {
                Ok(RawItem::NotAnObject)
            }

            fn visit_u64<E>(self, _: u64) -> Result<Self::Value, E> {
                Ok(RawItem::NotAnObject)
            }

            fn visit_f64<E>(self, _: f64) -> Result<Self::Value, E> {
                Ok(RawItem::NotAnObject)
            }

            fn visit_str<E>(self, _: &str) -> Result<Self::Value, E> {
                Ok(RawItem::NotAnObject)
            }
        }

        deserializer.deserialize_any(ItemVisitor)
    }
}

impl<'de: 'a, 'a> Deserialize<'de> for Field<'a> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct FieldVisitor;

        impl<'de> Visitor<'de> for FieldVisitor {
            type Value = Field<'de>;

            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("any JSON value")
            }

            fn visit_unit<E>(self) -> Result<Self::Value, E> {
                Ok(Field::Missing)
            }

            fn visit_none<E>(self) -> Result<Self::Value, E> {
                Ok(Field::Missing)
            }

            fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
                Field::deserialize(d)
            }

            fn visit_bool<E>(self, b: bool) -> Result<Self::Value, E> {
                Ok(Field::Bool(b))
            }

            fn visit_i64<E>(self, n: i64) -> Result<Self::Value, E> {
                Ok(Field::Int(n))
            }

            fn visit_u64<E>(self, n: u64) -> Result<Self::Value, E> {
                Ok(i64::try_from(n).map_or(Field::Float(n as f64), Field::Int))
            }

            fn visit_f64<E>(self, n: f64) -> Result<Self::Value, E> {
                Ok(Field::Float(n))
            }

            fn visit_borrowed_str<E>(self, s: &'de str) -> Result<Self::Value, E> {
                Ok(Field::Text(Cow::Borrowed(s)))
            }

            fn visit_str<E>(self, s: &str) -> Result<Self::Value, E> {
                Ok(Field::Text(Cow::Owned(s.to_owned())))
            }

            fn visit_string<E>(self, s: String) -> Result<Self::Value, E> {
                Ok(Field::Text(Cow::Owned(s)))
            }

            fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Self::Value, A::Error> {
                IgnoredAny.visit_seq(seq)?;
                Ok(Field::Composite)
            }

            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
                IgnoredAny.visit_map(map)?;
                Ok(Field::Composite)
            }
        }

        deserializer.deserialize_any(FieldVisitor)
    }
}

/// A string borrowed from the input when it holds no escapes.
struct Text<'a>(Cow<'a, str>);

impl<'de: 'a, 'a> Deserialize<'de> for Text<'a> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct TextVisitor;

        impl<'de> Visitor<'de> for TextVisitor {
            type Value = Text<'de>;

            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a string")
            }

            fn visit_borrowed_str<E>(self, s: &'de str) -> Result<Self::Value, E> {
                Ok(Text(Cow::Borrowed(s)))
            }

            fn visit_str<E: de::Error>(self, s: &str) -> Result<Self::Value, E> {
                Ok(Text(Cow::Owned(s.to_owned())))
            }

            fn visit_string<E: de::Error>(self, s: String) -> Result<Self::Value, E> {
                Ok(Text(Cow::Owned(s)))
            }
        }

        deserializer.deserialize_str(TextVisitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_borrow_from_the_body_and_keep_what_was_sent() {
        let body = br#"[{"device":"t1","kind":"temp\u0065rature","value":[1],"at":null,"x":{"y":1},"z":2}, 5, [1]]"#;
        let items = json_array(body).unwrap();
        let RawItem::Reading(r) = &items[0] else {
            panic!("{items:?}")
        };
        assert!(matches!(r.device, Field::Text(Cow::Borrowed("t1"))));
        assert_eq!(r.kind, Field::Text(Cow::Owned("temperature".into())));
        assert_eq!(r.value, Field::Composite);
        assert_eq!(r.at, Field::Missing);
        assert_eq!(r.unit, Field::Missing);
        assert_eq!(r.unknown.as_deref(), Some("x"));
        assert_eq!(&items[1..], &[RawItem::NotAnObject, RawItem::NotAnObject]);
    }

    #[test]
    fn numbers_keep_their_flavour() {
        let items =
            json_array(br#"[{"value":-3,"at":18446744073709551615}, {"value":1.5}]"#).unwrap();
        let RawItem::Reading(r) = &items[0] else {
            panic!()
        };
        assert_eq!(r.value, Field::Int(-3));
        assert!(matches!(r.at, Field::Float(_)));
        let RawItem::Reading(r) = &items[1] else {
            panic!()
        };
        assert_eq!(r.value, Field::Float(1.5));
    }

    #[test]
    fn only_broken_json_fails_a_whole_array_and_only_its_line_in_ndjson() {
        assert!(json_array(b"[{\"device\": }]").is_err());
        assert!(json_array(b"{\"device\": \"t1\"}").is_err());
        let items = ndjson("{\"device\":\"t1\"}\nnot json\n\n7\n").unwrap();
        assert_eq!(items.len(), 3);
        assert!(matches!(items[1], RawItem::Malformed(_)));
        assert_eq!(items[2], RawItem::NotAnObject);
    }

    #[test]
    fn reading_stops_at_the_first_item_past_a_batch() {
        let full = format!("[{}]", vec!["0"; MAX_BATCH].join(","));
        assert_eq!(json_array(full.as_bytes()).unwrap().len(), MAX_BATCH);
        // Past the limit, even with broken JSON after it: reading never got there.
        let over = format!("[{},0,0,{{broken", vec!["0"; MAX_BATCH].join(","));
        assert!(matches!(
            json_array(over.as_bytes()),
            Err(ItemsError::TooMany)
        ));
        let lines = "0\n".repeat(MAX_BATCH);
        assert_eq!(ndjson(&lines).unwrap().len(), MAX_BATCH);
        assert!(matches!(
            ndjson(&format!("{lines}0\n")),
            Err(ItemsError::TooMany)
        ));
        assert!(matches!(json_array(b"[0] x"), Err(ItemsError::Json(_))));
    }
}
