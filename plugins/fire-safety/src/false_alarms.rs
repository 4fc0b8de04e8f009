//! False alarms. An operator (or the supervisor) marks an alarm false with
//! a reason: it is cleared, its messages stop escalating, its work order is
//! resolved, and each detector behind it has the false alarm logged
//! (`false-alarms/<device>`). A detector with as many false alarms as the
//! configured threshold within the window is flagged for maintenance
//! (`maintenance/<device>`): a `detector-maintenance` alarm, whose work
//! order, once closed, lifts the flag and starts the count afresh. Until
//! its readings return to normal, a detector whose alarm was found false is
//! not heard (neither as a suspicion nor as a confirmation); after that it
//! is, flagged or not: a detector that cries wolf may also smell a real fire.

use linli_sdk::{parse_input, state, timer, Caller, Error, Severity};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value as Json};

use crate::config::Config;
use crate::{alarms, callers, devices, health, work_orders};

pub const MAINTENANCE: &str = "detector-maintenance";
const LOG: &str = "false-alarms/";
const FLAGGED: &str = "maintenance/";
const MAX_REASON: usize = 500;

#[derive(Debug, Clone, Serialize, Deserialize)]
struct FalseAlarm {
    alarm: String,
    at: i64,
    by: String,
    reason: String,
}

/// A detector flagged for maintenance.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Flag {
    since: i64,
    false_alarms: Vec<FalseAlarm>,
    work_order: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct MarkFalse {
    alarm: String,
    reason: String,
}

/// `mark-false`.
pub fn mark_false(config: &Config, caller: &Caller, input: Json) -> Result<Json, Error> {
    let input: MarkFalse = parse_input(input)?;
    if !caller.manages_community() && !callers::is_supervisor(config, caller)? {
        return Err(Error::Denied(format!(
            "{} may not mark alarms false: operators and the supervisor may",
            caller.name()
        )));
    }
    let reason = input.reason.trim();
    if reason.is_empty() || reason.len() > MAX_REASON {
        return Err(Error::Invalid(format!(
            "command input at `reason`: must be 1-{MAX_REASON} characters"
        )));
    }
    let record = alarms::record(&input.alarm)?
        .ok_or_else(|| Error::NotFound(format!("no fire-safety alarm {}", input.alarm)))?;
    if record.alarm_type.starts_with("device-") {
        return Err(Error::Invalid(format!(
            "command input at `alarm`: {} is the platform's {} alarm; it ends when the device recovers",
            input.alarm, record.alarm_type
        )));
    }
    let by = caller.name();
    let cleared = alarms::clear(&input.alarm, &record.originator, &record.alarm_type)?;
    let order = work_orders::resolve_as_false(&record.work_order, by, reason)?;
    let now = timer::now();
    let mut detectors = Vec::new();
    for device in &record.detectors {
        let entry = FalseAlarm {
            alarm: input.alarm.clone(),
            at: now,
            by: by.to_owned(),
            reason: reason.to_owned(),
        };
        mute(device)?;
        let count = log(config, device, entry)?;
        let flagged = flag_if_due(config, device, count)?;
        detectors.push(json!({"device": device, "false_alarms": count, "maintenance": flagged}));
    }
    Ok(json!({
        "alarm": input.alarm,
        "cleared": cleared,
        "work_order": order.id,
        "detectors": detectors,
    }))
}

/// Stops hearing `device` until its readings return to normal: the alarm
/// it is still sounding was found false.
fn mute(device: &str) -> Result<(), Error> {
    match devices::get(device)? {
        Some(mut state) if !state.over.is_empty() => {
            state.muted = true;
            devices::put(device, &state)
        }
        _ => Ok(()),
    }
}

/// Logs a false alarm of `device`, forgetting those out of the window; returns how many remain.
fn log(config: &Config, device: &str, entry: FalseAlarm) -> Result<usize, Error> {
    let oldest = entry.at - config.false_alarms.window_ms();
    state::update(&format!("{LOG}{device}"), |log: &mut Vec<FalseAlarm>| {
        log.retain(|earlier| earlier.at >= oldest && earlier.alarm != entry.alarm);
        log.push(entry);
        log.len()
    })
}

/// Flags `device` for maintenance once it has `count` false alarms at the threshold; returns whether it is flagged.
fn flag_if_due(config: &Config, device: &str, count: usize) -> Result<bool, Error> {
    let key = format!("{FLAGGED}{device}");
    if state::get::<Flag>(&key)?.is_some() {
        return Ok(true);
    }
    if count < config.false_alarms.threshold as usize {
        return Ok(false);
    }
    let false_alarms: Vec<FalseAlarm> = state::get(&format!("{LOG}{device}"))?.unwrap_or_default();
    let known = devices::get(device)?.unwrap_or_default();
    let (alarm, _) = alarms::raise(
        device,
        MAINTENANCE,
        Severity::Minor,
        &json!({"false_alarms": count, "window_days": config.false_alarms.window_days}),
    )?;
    let what = format!(
        "It raised {count} false alarms within {} days: clean, test or replace it.",
        config.false_alarms.window_days
    );
    let work_order = alarms::fault(config, &alarm, &known.placement, MAINTENANCE, &what)?;
    health::problem_started(config, device, &known.placement.zone.area, "maintenance")?;
    state::put(
        &key,
        &Flag {
            since: timer::now(),
            false_alarms,
            work_order,
        },
    )?;
    Ok(true)
}

/// The detector's maintenance work order closed: the flag lifts and its false alarms are forgotten.
pub fn maintained(device: &str) -> Result<(), Error> {
    state::delete(&format!("{FLAGGED}{device}"))?;
    state::delete(&format!("{LOG}{device}"))?;
    health::problem_ended(device, "maintenance")
}

/// `maintenance`: the detectors flagged for maintenance.
pub fn list() -> Result<Json, Error> {
    let mut flagged = Vec::new();
    for key in state::keys(FLAGGED)? {
        if let Some(flag) = state::get::<Flag>(&key)? {
            flagged.push(json!({
                "device": &key[FLAGGED.len()..],
                "since": flag.since,
                "false_alarms": flag.false_alarms.len(),
                "reasons": flag.false_alarms.iter().map(|f| &f.reason).collect::<Vec<_>>(),
                "work_order": flag.work_order,
            }));
        }
    }
    Ok(json!({"detectors": flagged}))
}
