//! Occupancy truth: what the sensors say about each space, and per lot how
//! many spaces are free, occupied or unknown.
//!
//! The scene keeps, per space, only the newest thing its sensor said
//! ([`SensorState`]: the value, since when it has held, when it was last
//! heard). Counts are never kept: [`count_lots`] recounts them from those
//! states every time it is asked, so they cannot drift from the sensors,
//! and an admin's "recount" is the same call. A lot of a few hundred spaces
//! is one store value (`lot/<id>/sensors`), so a recount is one read.
//!
//! A space is **unknown** when it has no sensor, its sensor has never
//! spoken, or it has gone silent (a sensor that stopped reporting must not
//! keep a space "free" on the public board). Silence is the platform's to
//! judge, since it knows each device kind's report interval: the host
//! raises `device-offline` for a sensor silent past its kind's interval
//! and the scene marks the sensor [`SensorState::offline`] until it speaks
//! again ([`went_silent`]). The scene's own `report-interval-ms` is a
//! ceiling on top, for sensors of kinds the community gave no interval. Fire lanes are not parking and are left out of the
//! counts; [`crate::violations`] watches them. The statuses are FIWARE
//! ParkingSpot's `free`, `occupied` and `unknown`.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::space::{Space, SpaceClass};

/// What a space's sensor last said.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct SensorState {
    pub occupied: bool,
    /// When the current value was first reported (the last change).
    pub since: i64,
    /// When the sensor was last heard from.
    pub heard: i64,
    /// The platform says the sensor has gone silent (`device-offline`
    /// raised and not cleared since), until its next reading.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub offline: bool,
}

impl SensorState {
    /// The store key of the sensor states of `lot`'s spaces, a map by space id.
    pub fn key(lot: &str) -> String {
        format!("lot/{lot}/sensors")
    }
}

/// Folds a reading into what the sensor said before. Readings arrive in
/// the order the host made them durable, which for a gateway replaying a
/// buffer need not be the order they were measured: a reading older than
/// the one already heard is ignored, so the state is always that of the
/// newest measurement, whatever order they came in.
pub fn observe(before: Option<SensorState>, occupied: bool, at: i64) -> SensorState {
    match before {
        Some(before) if at < before.heard => before,
        Some(before) if before.occupied == occupied => SensorState {
            heard: at,
            offline: false,
            ..before
        },
        _ => SensorState {
            occupied,
            since: at,
            heard: at,
            offline: false,
        },
    }
}

/// What the sensor said before, once the platform says it has gone silent
/// (`offline`) or has been heard from again.
pub fn went_silent(before: SensorState, offline: bool) -> SensorState {
    SensorState { offline, ..before }
}

/// What a space is, as FIWARE's ParkingSpot status names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Status {
    Free,
    Occupied,
    Unknown,
}

/// The status of a space whose sensor said `state`, at `now`.
pub fn status(state: Option<&SensorState>, now: i64, report_interval_ms: i64) -> Status {
    match state {
        Some(state) if !state.offline && now - state.heard <= report_interval_ms => {
            if state.occupied {
                Status::Occupied
            } else {
                Status::Free
            }
        }
        _ => Status::Unknown,
    }
}

/// How many spaces of a lot are in each status.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LotCounts {
    pub free: u32,
    pub occupied: u32,
    pub unknown: u32,
}

impl LotCounts {
    fn add(&mut self, status: Status) {
        match status {
            Status::Free => self.free += 1,
            Status::Occupied => self.occupied += 1,
            Status::Unknown => self.unknown += 1,
        }
    }

    /// Every space counted.
    pub fn total(&self) -> u32 {
        self.free + self.occupied + self.unknown
    }
}

/// Per lot, the counts of `spaces` (fire lanes left out) at `now`, from the
/// sensor states by space id. Every lot with a counted space appears, with
/// zeros where nothing is in a status.
pub fn count_lots(
    spaces: &[Space],
    sensors: &BTreeMap<String, SensorState>,
    now: i64,
    report_interval_ms: i64,
) -> BTreeMap<String, LotCounts> {
    let mut lots: BTreeMap<String, LotCounts> = BTreeMap::new();
    for space in spaces.iter().filter(|s| s.class != SpaceClass::FireLane) {
        let state = space.sensor.as_ref().and(sensors.get(&space.id));
        lots.entry(space.lot.clone())
            .or_default()
            .add(status(state, now, report_interval_ms));
    }
    lots
}

#[cfg(test)]
mod tests {
    use super::*;

    const HOUR: i64 = 3_600_000;

    fn space(id: &str, lot: &str, class: SpaceClass, sensor: bool) -> Space {
        Space {
            id: id.into(),
            lot: lot.into(),
            building: None,
            class,
            owner: "property".into(),
            sensor: sensor.then(|| format!("mag-{id}")),
        }
    }

    #[test]
    fn a_change_moves_since_and_a_repeat_only_heard() {
        let first = observe(None, true, 100);
        assert_eq!(
            first,
            SensorState {
                occupied: true,
                since: 100,
                heard: 100,
                offline: false
            }
        );
        let repeat = observe(Some(first), true, 200);
        assert_eq!(
            repeat,
            SensorState {
                occupied: true,
                since: 100,
                heard: 200,
                offline: false
            }
        );
        let change = observe(Some(repeat), false, 300);
        assert_eq!(
            change,
            SensorState {
                occupied: false,
                since: 300,
                heard: 300,
                offline: false
            }
        );
        assert_eq!(
            observe(Some(change), true, 250),
            change,
            "older readings are ignored"
        );
    }

    #[test]
    fn a_silent_sensor_counts_unknown() {
        let state = observe(None, false, 0);
        assert_eq!(status(Some(&state), HOUR, HOUR), Status::Free);
        assert_eq!(status(Some(&state), HOUR + 1, HOUR), Status::Unknown);
        assert_eq!(status(None, 0, HOUR), Status::Unknown);
    }

    #[test]
    fn a_sensor_the_platform_calls_offline_counts_unknown_until_it_speaks() {
        let heard = observe(None, true, 0);
        let silent = went_silent(heard, true);
        assert_eq!(status(Some(&silent), 1, HOUR), Status::Unknown);
        assert_eq!(
            observe(Some(silent), true, -5),
            silent,
            "a late reading from before is no sign of life"
        );
        assert_eq!(
            status(Some(&observe(Some(silent), true, 2)), 3, HOUR),
            Status::Occupied
        );
        assert_eq!(
            status(Some(&went_silent(silent, false)), 3, HOUR),
            Status::Occupied
        );
    }

    #[test]
    fn lots_are_recounted_from_the_sensors_and_fire_lanes_are_left_out() {
        let spaces = vec![
            space("a1", "lot-a", SpaceClass::Shared, true),
            space("a2", "lot-a", SpaceClass::Visitor, true),
            space("a3", "lot-a", SpaceClass::Private, false),
            space("a4", "lot-a", SpaceClass::FireLane, true),
            space("b1", "lot-b", SpaceClass::Shared, true),
        ];
        let mut sensors = BTreeMap::new();
        sensors.insert("a1".to_string(), observe(None, true, 0));
        sensors.insert("a2".to_string(), observe(None, false, 0));
        sensors.insert("a4".to_string(), observe(None, true, 0));
        sensors.insert("b1".to_string(), observe(None, true, -2 * HOUR));
        let counts = count_lots(&spaces, &sensors, 10, HOUR);
        assert_eq!(
            counts["lot-a"],
            LotCounts {
                free: 1,
                occupied: 1,
                unknown: 1
            }
        );
        assert_eq!(
            counts["lot-b"],
            LotCounts {
                free: 0,
                occupied: 0,
                unknown: 1
            }
        );
    }
}
