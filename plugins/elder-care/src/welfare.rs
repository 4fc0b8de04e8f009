//! Welfare checks for people living alone: no activity at home for
//! `welfare-check-hours` (per person, default 24) raises one welfare-check
//! alarm; the next activity clears it and starts the wait again.
//!
//! Activity is a door opening or closing, motion, water running (the
//! meter's reading changed) or steps (the count changed), from
//! - a device registered to the person (`register-wearable`), or
//! - a device placed in a unit on the map: it counts for everyone living
//!   in that unit. A device placed on a floor, in a building or at a point
//!   of interest is shared (a stairwell, a lobby door) and counts for no one.
//!
//! Store: `activity/<person>` → the time of the latest activity;
//! `meter/<device>/<kind>` → the last number a meter or step counter sent.
//! Timer: `welfare/<person>`, due when the wait runs out.

use linli_sdk::map::{self, PlaceKind, Relation};
use linli_sdk::{state, timer, Error, Reading, Value};
use serde_json::json;

use crate::care::{self, CareProfile};
use crate::config::Config;
use crate::safety::{self, Danger};

pub const TIMER: &str = "welfare/";
const ACTIVITY: &str = "activity/";
const METER: &str = "meter/";

pub fn last_activity(person: &str) -> Result<Option<i64>, Error> {
    state::get(&format!("{ACTIVITY}{person}"))
}

pub fn on_reading(config: &Config, reading: &Reading) -> Result<(), Error> {
    if !is_activity(reading)? {
        return Ok(());
    }
    for person in whose(reading)? {
        let profile = care::profile(&person)?;
        if profile.lives_alone {
            active(config, &person, &profile, reading.at)?;
        }
    }
    Ok(())
}

fn is_activity(reading: &Reading) -> Result<bool, Error> {
    match (reading.kind.as_str(), &reading.value) {
        ("door", Value::Flag(_)) => Ok(true),
        ("motion", Value::Flag(moving)) => Ok(*moving),
        ("water-meter" | "steps", Value::Number(count)) => {
            // Meters and counters report whether or not anyone moved: only a change is activity.
            let key = format!("{METER}{}/{}", reading.device, reading.kind);
            let last: Option<f64> = state::get(&key)?;
            state::put(&key, count)?;
            Ok(last != Some(*count))
        }
        _ => Ok(false),
    }
}

/// The people a reading's activity belongs to.
fn whose(reading: &Reading) -> Result<Vec<String>, Error> {
    if let Some(person) = care::wearer(&reading.device)? {
        return Ok(vec![person]);
    }
    let Some(place) = &reading.location else {
        return Ok(Vec::new());
    };
    match map::get(place) {
        Ok(found) if found.kind == PlaceKind::Unit => {
            Ok(map::people(Relation::Resident, Some(place))?
                .into_iter()
                .map(|person| person.id)
                .collect())
        }
        Ok(_) | Err(Error::NotFound(_)) => Ok(Vec::new()),
        Err(other) => Err(other),
    }
}

/// Activity at `at`: the wait starts again and a welfare check is over.
fn active(config: &Config, person: &str, profile: &CareProfile, at: i64) -> Result<(), Error> {
    let key = format!("{ACTIVITY}{person}");
    let latest = last_activity(person)?.map_or(at, |last| last.max(at));
    state::put(&key, &latest)?;
    timer::schedule(
        &format!("{TIMER}{person}"),
        latest + profile.welfare_ms(config),
        None,
    )?;
    safety::resolve(person, Danger::Welfare)
}

/// `welfare/<person>`: the wait ran out, unless activity came since.
pub fn on_timer(config: &Config, person: &str) -> Result<(), Error> {
    let profile = care::profile(person)?;
    if !profile.lives_alone {
        return Ok(());
    }
    let now = timer::now();
    let last = last_activity(person)?.unwrap_or(now);
    let due = last + profile.welfare_ms(config);
    if due > now {
        return timer::schedule(&format!("{TIMER}{person}"), due, None);
    }
    safety::raise(
        config,
        person,
        Danger::Welfare,
        json!({"last-activity": last, "hours": profile.welfare_ms(config) / 3_600_000}),
    )
}

/// The community erased `person`: their wait stops and the meter counts of
/// the devices that were theirs go (their last activity, keyed by them,
/// the host has deleted already).
pub fn forget(person: &str, devices: &[String]) -> Result<(), Error> {
    timer::cancel(&format!("{TIMER}{person}"))?;
    for device in devices {
        for key in state::keys(&format!("{METER}{device}/"))? {
            state::delete(&key)?;
        }
    }
    Ok(())
}

/// A care profile changed: start, move or stop the wait.
pub fn profile_changed(config: &Config, person: &str, profile: &CareProfile) -> Result<(), Error> {
    let tag = format!("{TIMER}{person}");
    if !profile.lives_alone {
        timer::cancel(&tag)?;
        return safety::resolve(person, Danger::Welfare);
    }
    let last = match last_activity(person)? {
        Some(last) => last,
        None => {
            // Registering counts as the first sign of life: the wait starts now.
            let now = timer::now();
            state::put(&format!("{ACTIVITY}{person}"), &now)?;
            now
        }
    };
    timer::schedule(&tag, last + profile.welfare_ms(config), None)
}
