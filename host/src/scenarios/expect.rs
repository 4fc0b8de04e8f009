//! Whether what the host answered matches what a scenario expects, and if
//! not, where: an object pattern names only the keys that matter; a list
//! pattern has as many items as the answer, each matching in order; any
//! other value must be equal (numbers by value, so `1` matches `1.0`).

use serde_json::Value;

/// The first place `actual` differs from `pattern`, as `path: what`, or
/// `None` when it matches. `path` names the root (`output`, `alarms`).
pub fn mismatch(path: &str, pattern: &Value, actual: &Value) -> Option<String> {
    match (pattern, actual) {
        (Value::Object(wanted), Value::Object(got)) => wanted.iter().find_map(|(key, want)| {
            let at = format!("{path}.{key}");
            match got.get(key) {
                Some(value) => mismatch(&at, want, value),
                None => Some(format!("{at}: missing, expected {want}")),
            }
        }),
        (Value::Array(wanted), Value::Array(got)) if wanted.len() != got.len() => Some(format!(
            "{path}: {} items, expected {}: {actual}",
            got.len(),
            wanted.len()
        )),
        (Value::Array(wanted), Value::Array(got)) => wanted
            .iter()
            .zip(got)
            .enumerate()
            .find_map(|(index, (want, value))| mismatch(&format!("{path}[{index}]"), want, value)),
        (Value::Number(want), Value::Number(got)) if want.as_f64() == got.as_f64() => None,
        _ if pattern == actual => None,
        _ => Some(format!("{path}: {actual}, expected {pattern}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::json;

    #[test]
    fn a_pattern_names_only_what_matters_and_a_mismatch_says_where() {
        let actual = json!({"devices": {"boiler": {"too_hot": 1, "highest": 31.5}}, "total": 3});
        assert_eq!(
            mismatch(
                "output",
                &json!({"devices": {"boiler": {"too_hot": 1}}}),
                &actual
            ),
            None
        );
        assert_eq!(
            mismatch(
                "output",
                &json!({"devices": {"boiler": {"too_hot": 2}}}),
                &actual
            ),
            Some("output.devices.boiler.too_hot: 1, expected 2".to_owned())
        );
        assert_eq!(
            mismatch("output", &json!({"count": 1}), &actual),
            Some("output.count: missing, expected 1".to_owned())
        );
        assert_eq!(mismatch("output", &json!({"total": 3.0}), &actual), None);
    }

    #[test]
    fn a_list_has_as_many_items_each_matching_in_order() {
        let alarms = json!([{"type": "fire", "severity": "critical"}, {"type": "leak"}]);
        assert_eq!(
            mismatch(
                "alarms",
                &json!([{"type": "fire"}, {"type": "leak"}]),
                &alarms
            ),
            None
        );
        assert!(mismatch("alarms", &json!([{"type": "fire"}]), &alarms)
            .is_some_and(|m| m.starts_with("alarms: 2 items, expected 1")));
        assert_eq!(
            mismatch(
                "alarms",
                &json!([{"type": "leak"}, {"type": "fire"}]),
                &alarms
            ),
            Some("alarms[0].type: \"fire\", expected \"leak\"".to_owned())
        );
    }

    fn json_value() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            any::<bool>().prop_map(Value::from),
            any::<i32>().prop_map(Value::from),
            "[a-z]{0,4}".prop_map(Value::from),
        ];
        leaf.prop_recursive(3, 24, 4, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
                prop::collection::btree_map("[a-c]", inner, 0..4)
                    .prop_map(|m| Value::Object(m.into_iter().collect())),
            ]
        })
    }

    proptest! {
        /// Every value matches itself, and an object matches any of its
        /// sub-objects: dropping keys from a pattern never makes it fail.
        #[test]
        fn a_value_matches_itself_and_every_pattern_with_fewer_keys(value in json_value()) {
            prop_assert_eq!(mismatch("v", &value, &value), None);
            if let Value::Object(fields) = &value {
                for key in fields.keys() {
                    let mut fewer = fields.clone();
                    fewer.remove(key);
                    prop_assert_eq!(mismatch("v", &Value::Object(fewer), &value), None);
                }
            }
        }
    }
}
