//! Each device's state, one store entry per device (`device/<id>`), so a
//! reading reads one key and writes it only when something changed.

use std::collections::{BTreeMap, BTreeSet};

use linli_sdk::{sensor, state, Error};
use serde::{Deserialize, Serialize};

use crate::detect::Trend;
use crate::placement::{self, Placement};

/// Every reading kind the plugin handles: detectors, water supply, tamper.
pub const KINDS: [&str; 10] = [
    "smoke",
    "smoke-alarm",
    "temperature",
    "gas",
    "manual-call-point",
    "pressure",
    "level",
    "tilt",
    "leak",
    "tamper",
];

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct DeviceState {
    /// The location `placement` was resolved from; a new one resolves it again.
    pub location: Option<String>,
    pub placement: Placement,
    /// The reading kinds last seen over their threshold.
    #[serde(default)]
    pub over: BTreeSet<String>,
    /// When each of this device's alarms was last raised (reading time), by alarm type.
    #[serde(default)]
    pub raised: BTreeMap<String, i64>,
    /// A heat detector's recent temperatures.
    #[serde(default)]
    pub trend: Trend,
    /// Whether the detector's current alarm was marked false: it is not
    /// heard again until its readings return to normal.
    #[serde(default)]
    pub muted: bool,
}

fn key(device: &str) -> String {
    format!("device/{device}")
}

pub fn get(device: &str) -> Result<Option<DeviceState>, Error> {
    state::get(&key(device))
}

pub fn put(device: &str, value: &DeviceState) -> Result<(), Error> {
    state::put(&key(device), value)
}

/// The device's state, with its placement resolved again if it reported from somewhere new.
pub fn load(device: &str, location: Option<&str>) -> Result<DeviceState, Error> {
    match get(device)? {
        Some(known) if known.location.as_deref() == location => Ok(known),
        known => Ok(DeviceState {
            location: location.map(str::to_owned),
            placement: placement::resolve(device, location)?,
            ..known.unwrap_or_default()
        }),
    }
}

/// The state of a device the plugin has seen report, or else of a
/// registered device that reports one of the plugin's kinds; `None` for
/// every other device (a wearable going offline is not a fire-safety fault).
pub fn known(device: &str) -> Result<Option<DeviceState>, Error> {
    if let Some(known) = get(device)? {
        return Ok(Some(known));
    }
    let registered = sensor::devices(None)?.into_iter().find(|d| d.id == device);
    let Some(registered) = registered else {
        return Ok(None);
    };
    let ours = registered
        .reading_kinds
        .iter()
        .any(|k| KINDS.contains(&k.as_str()));
    if !ours {
        return Ok(None);
    }
    let found = load(device, registered.location.as_deref())?;
    put(device, &found)?;
    Ok(Some(found))
}
