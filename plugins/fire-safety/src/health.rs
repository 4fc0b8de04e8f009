//! Device health: offline and low-battery devices (the platform's alarms,
//! watched), tampered detectors (a reading flag) and detectors flagged for
//! maintenance. Each unhealthy device has `unhealthy/<device>`; each day's
//! unhealthy devices are kept under `health-day/<date>/<device>` (written
//! when a problem starts, and for every device still unhealthy when a new
//! day begins) so that `report` counts a day per building without scanning
//! every device.

use std::collections::{BTreeMap, BTreeSet};

use linli_sdk::alarm::AlarmInfo;
use linli_sdk::{calendar, parse_input, state, timer, Error, Reading, Severity, Value};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value as Json};

use crate::alarms;
use crate::config::Config;
use crate::devices::{self, DeviceState};

pub const TAMPER: &str = "detector-tamper";
/// The timer that starts each day's record.
pub const DAY_TAG: &str = "health-day";
const TOPIC: &str = "device-health";
const UNHEALTHY: &str = "unhealthy/";
const DAY: &str = "health-day/";
/// How many days of records the report can look back on.
const DAYS_KEPT: i64 = 90;

/// What is wrong with one device.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
struct Health {
    /// The building (or area) the device is in.
    area: String,
    problems: BTreeSet<String>,
}

fn unhealthy_key(device: &str) -> String {
    format!("{UNHEALTHY}{device}")
}

fn day_key(date: &str, device: &str) -> String {
    format!("{DAY}{date}/{device}")
}

/// A device has a new problem (`offline`, `battery-low`, `tamper`, `maintenance`).
pub fn problem_started(
    config: &Config,
    device: &str,
    area: &str,
    problem: &str,
) -> Result<(), Error> {
    let add = |health: &mut Health| {
        health.area = area.to_owned();
        health.problems.insert(problem.to_owned());
    };
    state::update(&unhealthy_key(device), add)?;
    let today = calendar::date(timer::now(), config.utc_offset_minutes);
    state::update(&day_key(&today, device), add)
}

/// A device's problem is over.
pub fn problem_ended(device: &str, problem: &str) -> Result<(), Error> {
    let key = unhealthy_key(device);
    let Some(mut health) = state::get::<Health>(&key)? else {
        return Ok(());
    };
    if health.problems.remove(problem) {
        if health.problems.is_empty() {
            state::delete(&key)?;
        } else {
            state::put(&key, &health)?;
        }
    }
    Ok(())
}

/// Handles a tamper reading.
pub fn on_tamper(
    config: &Config,
    reading: &Reading,
    device: &mut DeviceState,
) -> Result<(), Error> {
    match reading.value {
        Value::Flag(true) => {
            let details = json!({"kind": reading.kind, "place": device.placement.place});
            let raised = alarms::hold(
                device,
                &reading.device,
                TAMPER,
                Severity::Major,
                &details,
                reading.at,
            )?;
            if let Some(alarm) = raised {
                problem_started(
                    config,
                    &reading.device,
                    &device.placement.zone.area,
                    "tamper",
                )?;
                let what = "It reports being opened or taken off its base.";
                alarms::fault(config, &alarm, &device.placement, TOPIC, what)?;
            }
            Ok(())
        }
        Value::Flag(false) => {
            alarms::release(device, &reading.device, TAMPER)?;
            problem_ended(&reading.device, "tamper")
        }
        _ => Ok(()),
    }
}

fn problem_of(alarm_type: &str) -> &'static str {
    if alarm_type == alarms::DEVICE_OFFLINE {
        "offline"
    } else {
        "battery-low"
    }
}

/// The platform raised `device-offline` or `device-battery-low`: for a
/// fire-safety device, a problem and a work order.
pub fn device_alarm_raised(config: &Config, alarm: &AlarmInfo) -> Result<(), Error> {
    let Some(device) = devices::known(&alarm.originator)? else {
        return Ok(());
    };
    problem_started(
        config,
        &alarm.originator,
        &device.placement.zone.area,
        problem_of(&alarm.alarm_type),
    )?;
    let what = if alarm.alarm_type == alarms::DEVICE_OFFLINE {
        "It has stopped reporting: until it is back, this spot is unwatched."
    } else {
        "Its battery is low: replace it before the device stops."
    };
    alarms::fault(config, alarm, &device.placement, TOPIC, what)?;
    Ok(())
}

/// The platform cleared a device alarm: the device is back, or its battery replaced.
pub fn device_alarm_cleared(device: &str, alarm_type: &str) -> Result<(), Error> {
    problem_ended(device, problem_of(alarm_type))
}

/// A new day begins: every device still unhealthy counts for it too, and
/// records older than [`DAYS_KEPT`] go.
pub fn new_day(config: &Config, at: i64) -> Result<(), Error> {
    let offset = config.utc_offset_minutes;
    let today = calendar::date(at, offset);
    for key in state::keys(UNHEALTHY)? {
        if let Some(health) = state::get::<Health>(&key)? {
            state::put(&day_key(&today, &key[UNHEALTHY.len()..]), &health)?;
        }
    }
    let oldest_kept = calendar::date(at - DAYS_KEPT * calendar::DAY_MS, offset);
    for key in state::keys(DAY)? {
        if key[DAY.len()..] < *oldest_kept {
            state::delete(&key)?;
        } else {
            break;
        }
    }
    Ok(())
}

/// Schedules the daily timer that starts each day's record at local midnight.
pub fn schedule_days(config: &Config) -> Result<(), Error> {
    let first = calendar::next_midnight(timer::now(), config.utc_offset_minutes);
    timer::schedule(DAY_TAG, first, Some(calendar::DAY_MS as u64))
}

/// `report`: a day's unhealthy fire-safety devices per building.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ReportInput {
    /// `YYYY-MM-DD`, the community's local date; today when absent.
    date: Option<String>,
}

pub fn report(config: &Config, input: Json) -> Result<Json, Error> {
    let input: ReportInput = parse_input(input)?;
    let date = match input.date {
        Some(date) if calendar::is_date(&date) => date,
        Some(other) => {
            return Err(Error::Invalid(format!(
                "command input at `date`: {other:?} is not a date like 2026-01-31"
            )))
        }
        None => calendar::date(timer::now(), config.utc_offset_minutes),
    };
    let prefix = format!("{DAY}{date}/");
    let mut buildings: BTreeMap<String, Vec<Json>> = BTreeMap::new();
    for key in state::keys(&prefix)? {
        if let Some(health) = state::get::<Health>(&key)? {
            buildings.entry(health.area).or_default().push(json!({
                "device": &key[prefix.len()..],
                "problems": health.problems,
            }));
        }
    }
    let total: usize = buildings.values().map(Vec::len).sum();
    let buildings: Vec<Json> = buildings
        .into_iter()
        .map(|(building, devices)| {
            json!({"building": building, "unhealthy": devices.len(), "devices": devices})
        })
        .collect();
    Ok(json!({"date": date, "unhealthy": total, "buildings": buildings}))
}
