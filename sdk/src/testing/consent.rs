//! Which readings the host withholds for want of a person's consent
//! (`wit/platform.wit`, `purpose`), so a scene's tests see what a scene on
//! the host would see.
//!
//! - A health reading (heart rate, SpO2, steps, fall) from a device that
//!   belongs to a person reaches no plugin until that person consents to
//!   `health-monitoring`.
//! - A presence reading (door, motion, occupancy, water meter) reaches no
//!   plugin until `presence-checks` is given by the person the device
//!   belongs to, or, for a device placed in a unit or a household, by
//!   everyone living there: it tells when each of them is home.
//! - `sos` is always delivered (the person's vital interests), and
//!   `location-sharing` is not the host's to enforce.

use super::devices::DeviceSpec;
use super::map::CommunityMap;
use crate::Purpose;

/// Reading kinds that are a person's health.
const HEALTH: [&str; 4] = ["heart-rate", "spo2", "steps", "fall"];
/// Reading kinds that tell whether someone is at home.
const PRESENCE: [&str; 4] = ["door", "motion", "occupancy", "water-meter"];

/// Whether a reading of `kind` from `device` is withheld from every plugin.
pub(crate) fn withholds(map: &CommunityMap, device: &DeviceSpec, kind: &str) -> bool {
    let purpose = if HEALTH.contains(&kind) {
        Purpose::HealthMonitoring
    } else if PRESENCE.contains(&kind) {
        Purpose::PresenceChecks
    } else {
        return false;
    };
    let consents = |person: &str| {
        map.person(person)
            .is_some_and(|person| person.consents_to(purpose))
    };
    if let Some(owner) = &device.person {
        return !consents(owner);
    }
    match (&device.location, purpose) {
        (Some(place), Purpose::PresenceChecks) => map
            .living_at(place)
            .iter()
            .any(|resident| !resident.consents_to(purpose)),
        _ => false,
    }
}
