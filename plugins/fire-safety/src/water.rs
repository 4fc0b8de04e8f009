//! Water for fighting fire: a device on a hydrant reports its pressure, one
//! on a water tank its level, either may report tilt or leakage. A reading
//! out of bounds raises an alarm on the device, told to the staff of the
//! place with a work order; a reading back in bounds clears it.

use linli_sdk::{Error, Reading, Severity, Value};
use serde_json::json;

use crate::alarms;
use crate::config::Config;
use crate::devices::DeviceState;

pub const HYDRANT: &str = "hydrant";
pub const TANK: &str = "water-tank";
const TOPIC: &str = "water-supply";

/// One water-supply condition a reading can show.
struct Condition {
    alarm_type: &'static str,
    severity: Severity,
    /// Whether the reading shows it, or `None` when the reading says nothing about it.
    holds: Option<bool>,
    /// What people are told.
    what: String,
}

/// The condition `reading` speaks of on a device at a point of interest of `poi_kind`.
fn condition(
    config: &Config,
    poi_kind: &str,
    place: Option<&str>,
    reading: &Reading,
) -> Option<Condition> {
    let configured = place.and_then(|p| config.water.minimums.get(p)).copied();
    let number = reading.value.as_number();
    let flag = matches!(reading.value, Value::Flag(true));
    match (poi_kind, reading.kind.as_str()) {
        (HYDRANT, "pressure") => {
            let minimum = configured.unwrap_or(config.water.hydrant_min_kpa);
            Some(Condition {
                alarm_type: "hydrant-pressure-low",
                severity: Severity::Major,
                holds: number.map(|kpa| kpa < minimum),
                what: format!(
                    "Pressure is {} kPa, under the minimum of {minimum} kPa.",
                    number.unwrap_or_default()
                ),
            })
        }
        (TANK, "level") => {
            let minimum = configured.unwrap_or(config.water.tank_min_level_pct);
            Some(Condition {
                alarm_type: "tank-level-low",
                severity: Severity::Major,
                holds: number.map(|pct| pct < minimum),
                what: format!(
                    "The tank is {}% full, under the minimum of {minimum}%.",
                    number.unwrap_or_default()
                ),
            })
        }
        (HYDRANT | TANK, "tilt") => Some(Condition {
            alarm_type: "water-supply-tilt",
            severity: Severity::Major,
            holds: Some(flag),
            what: "It reports being tilted: it may have been hit.".into(),
        }),
        (HYDRANT | TANK, "leak") => Some(Condition {
            alarm_type: "water-supply-leak",
            severity: Severity::Minor,
            holds: Some(flag),
            what: "It reports a leak.".into(),
        }),
        _ => None,
    }
}

/// Handles a pressure, level, tilt or leak reading.
pub fn on_reading(
    config: &Config,
    reading: &Reading,
    device: &mut DeviceState,
) -> Result<(), Error> {
    let Some(poi_kind) = device.placement.poi_kind.clone() else {
        return Ok(());
    };
    let place = device.placement.place.clone();
    let Some(condition) = condition(config, &poi_kind, place.as_deref(), reading) else {
        return Ok(());
    };
    match condition.holds {
        Some(true) => {
            let details =
                json!({"kind": reading.kind, "value": reading.value.as_number(), "place": place});
            let raised = alarms::hold(
                device,
                &reading.device,
                condition.alarm_type,
                condition.severity,
                &details,
                reading.at,
            )?;
            if let Some(alarm) = raised {
                alarms::fault(config, &alarm, &device.placement, TOPIC, &condition.what)?;
            }
            Ok(())
        }
        Some(false) => alarms::release(device, &reading.device, condition.alarm_type),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reading(kind: &str, value: Value) -> Reading {
        Reading {
            device: "pressure-b3-west".into(),
            kind: kind.into(),
            value,
            unit: None,
            at: 0,
            location: Some("hydrant-b3-west".into()),
        }
    }

    fn holds(config: &Config, poi: &str, kind: &str, value: Value) -> Option<bool> {
        condition(config, poi, Some("hydrant-b3-west"), &reading(kind, value)).and_then(|c| c.holds)
    }

    #[test]
    fn a_hydrant_under_its_minimum_pressure_is_a_fault() {
        let config = Config::default();
        assert_eq!(
            holds(&config, HYDRANT, "pressure", Value::Number(80.0)),
            Some(true)
        );
        assert_eq!(
            holds(&config, HYDRANT, "pressure", Value::Number(100.0)),
            Some(false)
        );
        assert_eq!(
            holds(&config, TANK, "pressure", Value::Number(10.0)),
            None,
            "tanks report levels"
        );
    }

    #[test]
    fn a_place_may_have_its_own_minimum() {
        let mut config = Config::default();
        config
            .water
            .minimums
            .insert("hydrant-b3-west".into(), 150.0);
        assert_eq!(
            holds(&config, HYDRANT, "pressure", Value::Number(120.0)),
            Some(true)
        );
    }

    #[test]
    fn tanks_have_levels_and_both_report_tilt_and_leaks() {
        let config = Config::default();
        assert_eq!(
            holds(&config, TANK, "level", Value::Number(40.0)),
            Some(true)
        );
        assert_eq!(
            holds(&config, TANK, "level", Value::Number(90.0)),
            Some(false)
        );
        assert_eq!(
            holds(&config, HYDRANT, "tilt", Value::Flag(true)),
            Some(true)
        );
        assert_eq!(
            holds(&config, TANK, "leak", Value::Flag(false)),
            Some(false)
        );
        assert_eq!(holds(&config, "aed", "leak", Value::Flag(true)), None);
    }
}
