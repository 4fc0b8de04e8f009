//! Who wears which device, and each person's care settings.
//!
//! A wearable moves with its wearer, so its place on the map says nothing
//! about who it belongs to: the registry says. Staff, the person themselves
//! or their family (on the map) register a device with
//! `register-wearable`; a home sensor may be registered the same way, or
//! simply placed in the person's unit on the map (see `welfare`).
//!
//! Store: `wearable/<device>` → [`Wearable`]; `care/<person>` → [`CareProfile`].

use linli_sdk::{parse_input, personal, state, timer, Caller, Error};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value as Json};

use crate::config::Config;
use crate::heart::Thresholds;
use crate::input::invalid;
use crate::request::ERASED;
use crate::{access, people, safety, welfare};

const WEARABLE: &str = "wearable/";
const CARE: &str = "care/";
const HOUR_MS: i64 = 3_600_000;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct Wearable {
    pub person: String,
    pub registered_by: String,
    pub at: i64,
}

/// A person's care settings; absent limits take the community's.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct CareProfile {
    /// Welfare checks run for people living alone.
    #[serde(default)]
    pub lives_alone: bool,
    pub heart_rate_low_bpm: Option<f64>,
    pub heart_rate_high_bpm: Option<f64>,
    pub welfare_check_hours: Option<u32>,
}

impl CareProfile {
    pub fn thresholds(&self, config: &Config) -> Thresholds {
        let community = config.heart_thresholds();
        Thresholds {
            low_bpm: self.heart_rate_low_bpm.unwrap_or(community.low_bpm),
            high_bpm: self.heart_rate_high_bpm.unwrap_or(community.high_bpm),
            ..community
        }
    }

    /// How long without activity before a welfare check.
    pub fn welfare_ms(&self, config: &Config) -> i64 {
        i64::from(
            self.welfare_check_hours
                .unwrap_or(config.welfare_check_hours),
        ) * HOUR_MS
    }
}

pub fn profile(person: &str) -> Result<CareProfile, Error> {
    Ok(state::get(&format!("{CARE}{person}"))?.unwrap_or_default())
}

/// Whose wearable (or registered home sensor) `device` is.
pub fn wearer(device: &str) -> Result<Option<String>, Error> {
    Ok(state::get::<Wearable>(&format!("{WEARABLE}{device}"))?.map(|w| w.person))
}

fn require_may_act_for(caller: &Caller, person: &str) -> Result<(), Error> {
    if access::may_act_for(caller, person)? {
        Ok(())
    } else {
        Err(Error::Denied(format!(
            "only staff, {person} and their family may change {person}'s care"
        )))
    }
}

/// The devices registered to `person`, by id.
pub fn devices_of(person: &str) -> Result<Vec<String>, Error> {
    let mut devices = Vec::new();
    for key in state::keys(WEARABLE)? {
        if state::get::<Wearable>(&key)?.is_some_and(|w| w.person == person) {
            devices.push(key[WEARABLE.len()..].to_owned());
        }
    }
    Ok(devices)
}

/// The community erased `person`: the devices registered to them are
/// forgotten (their care profile the host has deleted already), and on
/// devices they registered for someone else they are no longer named.
/// Returns the devices forgotten.
pub fn forget(person: &str) -> Result<Vec<String>, Error> {
    let worn = personal::forget_where(WEARABLE, |_, w: &Wearable| w.person == person)?;
    for key in state::keys(WEARABLE)? {
        if let Some(mut wearable) =
            state::get::<Wearable>(&key)?.filter(|w| w.registered_by == person)
        {
            wearable.registered_by = ERASED.to_owned();
            state::put(&key, &wearable)?;
        }
    }
    Ok(worn
        .into_iter()
        .map(|(key, _)| key[WEARABLE.len()..].to_owned())
        .collect())
}

/// `register-wearable`: `{device, person}`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Registration {
    device: String,
    person: String,
}

pub fn register(caller: &Caller, input: Json) -> Result<Json, Error> {
    let registration: Registration = parse_input(input)?;
    if registration.device.is_empty() || registration.device.len() > 128 {
        return Err(invalid("device", "must be 1-128 bytes"));
    }
    require_may_act_for(caller, &registration.person)?;
    people::person(&registration.person)?;
    let key = format!("{WEARABLE}{}", registration.device);
    if let Some(earlier) = state::get::<Wearable>(&key)? {
        require_may_act_for(caller, &earlier.person)?;
    }
    let wearable = Wearable {
        person: registration.person,
        registered_by: caller.name().to_owned(),
        at: timer::now(),
    };
    state::put(&key, &wearable)?;
    Ok(json!({"device": registration.device, "wearable": wearable}))
}

/// `unregister-wearable`: `{device}`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DeviceOnly {
    device: String,
}

pub fn unregister(caller: &Caller, input: Json) -> Result<Json, Error> {
    let DeviceOnly { device } = parse_input(input)?;
    let key = format!("{WEARABLE}{device}");
    let Some(earlier) = state::get::<Wearable>(&key)? else {
        return Err(Error::NotFound(format!(
            "no wearable {device} is registered"
        )));
    };
    require_may_act_for(caller, &earlier.person)?;
    state::delete(&key)?;
    Ok(json!({"device": device, "removed": true}))
}

/// `care-profile`: changes the fields given, keeps the others.
#[derive(Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
struct ProfileChange {
    person: String,
    lives_alone: Option<bool>,
    heart_rate_low_bpm: Option<f64>,
    heart_rate_high_bpm: Option<f64>,
    welfare_check_hours: Option<u32>,
}

pub fn set_profile(config: &Config, caller: &Caller, input: Json) -> Result<Json, Error> {
    let change: ProfileChange = parse_input(input)?;
    require_may_act_for(caller, &change.person)?;
    people::person(&change.person)?;
    let mut profile = profile(&change.person)?;
    if let Some(lives_alone) = change.lives_alone {
        profile.lives_alone = lives_alone;
    }
    if let Some(hours) = change.welfare_check_hours {
        if !(1..=168).contains(&hours) {
            return Err(invalid("welfare-check-hours", "must be 1 to 168"));
        }
        profile.welfare_check_hours = Some(hours);
    }
    for (field, bpm) in [
        ("heart-rate-low-bpm", change.heart_rate_low_bpm),
        ("heart-rate-high-bpm", change.heart_rate_high_bpm),
    ] {
        if bpm.is_some_and(|bpm| !(bpm > 0.0 && bpm < 300.0)) {
            return Err(invalid(field, "must be between 0 and 300"));
        }
    }
    profile.heart_rate_low_bpm = change.heart_rate_low_bpm.or(profile.heart_rate_low_bpm);
    profile.heart_rate_high_bpm = change.heart_rate_high_bpm.or(profile.heart_rate_high_bpm);
    let limits = profile.thresholds(config);
    if limits.low_bpm >= limits.high_bpm {
        return Err(invalid(
            "heart-rate-low-bpm",
            format!(
                "{} must be below the high limit {}",
                limits.low_bpm, limits.high_bpm
            ),
        ));
    }
    state::put(&format!("{CARE}{}", change.person), &profile)?;
    welfare::profile_changed(config, &change.person, &profile)?;
    Ok(json!({"person": change.person, "profile": profile}))
}

/// `care`: a person's profile, devices, open alerts and last activity.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PersonOnly {
    person: String,
}

pub fn show(config: &Config, caller: &Caller, input: Json) -> Result<Json, Error> {
    let PersonOnly { person } = parse_input(input)?;
    require_may_act_for(caller, &person)?;
    let profile = profile(&person)?;
    let mut wearables = Vec::new();
    for device in devices_of(&person)? {
        if let Some(wearable) = state::get::<Wearable>(&format!("{WEARABLE}{device}"))? {
            wearables.push(json!({"device": device, "registered-by": wearable.registered_by}));
        }
    }
    let limits = profile.thresholds(config);
    Ok(json!({
        "person": person,
        "profile": profile,
        "heart-rate-low-bpm": limits.low_bpm,
        "heart-rate-high-bpm": limits.high_bpm,
        "wearables": wearables,
        "alerts": safety::alerts_of(&person)?,
        "last-activity": welfare::last_activity(&person)?,
    }))
}
