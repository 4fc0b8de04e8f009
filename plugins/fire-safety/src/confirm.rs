//! When suspicion becomes a confirmed fire. A detector over its threshold
//! only makes a fire suspected; it is confirmed by a second detector, a
//! rate of rise, or a manual call point on the same or an adjacent floor of
//! the same building within the confirmation window. Pure: the caller keeps
//! one [`Suspicions`] per building, so a reading reads and writes one key.

use serde::{Deserialize, Serialize};

use crate::detect::Signal;

/// Where a device sits, as far as fire spreads: its building, and its floor
/// when it is on one.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Zone {
    /// The building, or for a device outside any building its own place (or device id).
    pub area: String,
    /// Whether `area` is a building of the map.
    pub in_building: bool,
    pub floor: Option<String>,
    /// The floor's number (1 = ground floor), when the map gives it.
    pub level: Option<i32>,
}

impl Zone {
    /// The same floor, or the floor directly above or below in the same
    /// building. A device placed on the building itself, not on a floor, is
    /// adjacent to every floor: where in the building it is, nobody said.
    pub fn adjacent(&self, other: &Zone) -> bool {
        if self.area != other.area {
            return false;
        }
        match (&self.floor, &other.floor) {
            (None, _) | (_, None) => true,
            (Some(a), Some(b)) if a == b => true,
            _ => matches!((self.level, other.level), (Some(a), Some(b)) if (a - b).abs() <= 1),
        }
    }
}

/// One detector's latest signal of one kind.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Trigger {
    pub device: String,
    pub signal: Signal,
    pub at: i64,
    pub zone: Zone,
    /// The map place of the device, where searches for exits and hydrants start.
    pub place: Option<String>,
}

/// Why a fire counts as confirmed, strongest first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Reason {
    ManualCallPoint,
    SecondDetector,
    RateOfRise,
}

impl Reason {
    pub fn describe(self) -> &'static str {
        match self {
            Reason::ManualCallPoint => "a manual call point was pressed",
            Reason::SecondDetector => "a second detector alarmed",
            Reason::RateOfRise => "the temperature is rising fast",
        }
    }
}

/// A confirmed fire: why, and the triggers that show it, earliest first.
#[derive(Debug, Clone, PartialEq)]
pub struct Confirmation {
    pub reason: Reason,
    pub triggers: Vec<Trigger>,
}

/// The recent triggers in one building (or area), each detector's latest
/// per signal, and whether a fire there is confirmed.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Suspicions {
    triggers: Vec<Trigger>,
    /// When the area's confirmed fire was last raised; `None` once it is cleared.
    #[serde(default)]
    pub confirmed_at: Option<i64>,
}

impl Suspicions {
    /// Adds `trigger`, replacing the same detector's earlier one of the same
    /// signal, and forgets triggers that can no longer confirm anything.
    pub fn record(&mut self, trigger: Trigger, window_ms: u64) {
        let window = i64::try_from(window_ms).unwrap_or(i64::MAX);
        let newest = self
            .triggers
            .iter()
            .map(|t| t.at)
            .chain([trigger.at])
            .max()
            .unwrap_or(trigger.at);
        self.triggers.retain(|t| {
            newest - t.at <= window && !(t.device == trigger.device && t.signal == trigger.signal)
        });
        self.triggers.push(trigger);
    }

    /// Whether the triggers near `latest` (adjacent, within the window of it) confirm a fire.
    pub fn confirmation(&self, latest: &Trigger, window_ms: u64) -> Option<Confirmation> {
        let window = i64::try_from(window_ms).unwrap_or(i64::MAX);
        let mut near: Vec<Trigger> = self
            .triggers
            .iter()
            .filter(|t| (t.at - latest.at).abs() <= window && t.zone.adjacent(&latest.zone))
            .cloned()
            .collect();
        near.sort_by_key(|t| t.at);
        let devices = {
            let mut devices: Vec<&str> = near.iter().map(|t| t.device.as_str()).collect();
            devices.sort_unstable();
            devices.dedup();
            devices.len()
        };
        let has = |signal: Signal| near.iter().any(|t| t.signal == signal);
        let reason = if has(Signal::ManualCallPoint) {
            Reason::ManualCallPoint
        } else if devices >= 2 {
            Reason::SecondDetector
        } else if has(Signal::RateOfRise) && near.len() >= 2 {
            Reason::RateOfRise
        } else {
            return None;
        };
        Some(Confirmation {
            reason,
            triggers: near,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const WINDOW: u64 = 60_000;

    fn zone(floor: &str, level: i32) -> Zone {
        Zone {
            area: "building-3".into(),
            in_building: true,
            floor: Some(floor.into()),
            level: Some(level),
        }
    }

    fn trigger(device: &str, signal: Signal, at: i64, zone: Zone) -> Trigger {
        Trigger {
            device: device.into(),
            signal,
            at,
            zone,
            place: None,
        }
    }

    /// A detector over its threshold.
    fn threshold(device: &str, at: i64, zone: Zone) -> Trigger {
        trigger(device, Signal::Threshold, at, zone)
    }

    /// Records `trigger` and asks whether it confirms.
    fn add(suspicions: &mut Suspicions, trigger: Trigger) -> Option<Reason> {
        suspicions.record(trigger.clone(), WINDOW);
        suspicions
            .confirmation(&trigger, WINDOW)
            .map(|confirmation| confirmation.reason)
    }

    /// Whether `latest` confirms a fire after `earlier`, in a building that had no other triggers.
    fn after(earlier: &[Trigger], latest: Trigger) -> Option<Reason> {
        let mut suspicions = Suspicions::default();
        for trigger in earlier {
            add(&mut suspicions, trigger.clone());
        }
        add(&mut suspicions, latest)
    }

    #[test]
    fn adjacent_means_the_same_floor_or_one_above_or_below_in_the_same_building() {
        let f2 = zone("b3-f2", 2);
        assert!(f2.adjacent(&zone("b3-f2", 2)));
        assert!(f2.adjacent(&zone("b3-f3", 3)));
        assert!(f2.adjacent(&zone("b3-f1", 1)));
        assert!(!f2.adjacent(&zone("b3-f4", 4)));
        let other_building = Zone {
            area: "building-4".into(),
            ..zone("b4-f2", 2)
        };
        assert!(!f2.adjacent(&other_building));
        let lobby = Zone {
            floor: None,
            level: None,
            ..zone("", 0)
        };
        assert!(
            f2.adjacent(&lobby),
            "a device on the building is near every floor"
        );
    }

    #[test]
    fn one_detector_alone_confirms_nothing_however_often_it_alarms() {
        let mut suspicions = Suspicions::default();
        for at in (0..600_000).step_by(1_000) {
            assert_eq!(
                add(&mut suspicions, threshold("a", at, zone("b3-f2", 2))),
                None
            );
        }
        assert_eq!(
            suspicions.triggers.len(),
            1,
            "one entry per detector and signal"
        );
    }

    #[test]
    fn a_second_detector_within_the_window_confirms() {
        let first = threshold("a", 0, zone("b3-f2", 2));
        assert_eq!(
            after(&[first], threshold("b", 60_000, zone("b3-f3", 3))),
            Some(Reason::SecondDetector)
        );
    }

    #[test]
    fn a_second_detector_after_the_window_or_two_floors_away_does_not() {
        let first = [threshold("a", 0, zone("b3-f2", 2))];
        let too_late = threshold("b", 60_001, zone("b3-f2", 2));
        assert_eq!(after(&first, too_late), None);
        let too_far = threshold("b", 1_000, zone("b3-f4", 4));
        assert_eq!(after(&first, too_far), None);
    }

    #[test]
    fn a_rate_of_rise_confirms_a_suspicion_even_from_the_same_detector() {
        let rising = trigger("heat", Signal::RateOfRise, 0, zone("b3-f2", 2));
        assert_eq!(
            after(&[], rising.clone()),
            None,
            "a rate of rise alone is a suspicion"
        );
        assert_eq!(
            after(&[rising], threshold("heat", 20_000, zone("b3-f2", 2))),
            Some(Reason::RateOfRise)
        );
    }

    #[test]
    fn a_manual_call_point_confirms_at_once() {
        let pressed = trigger("mcp", Signal::ManualCallPoint, 0, zone("b3-f5", 5));
        assert_eq!(after(&[], pressed), Some(Reason::ManualCallPoint));
    }

    #[test]
    fn the_confirmation_lists_its_triggers_earliest_first() {
        let mut suspicions = Suspicions::default();
        let latest = threshold("b", 5_000, zone("b3-f2", 2));
        add(&mut suspicions, latest.clone());
        add(&mut suspicions, threshold("a", 1_000, zone("b3-f2", 2)));
        let confirmation = suspicions.confirmation(&latest, WINDOW).expect("confirmed");
        let order: Vec<&str> = confirmation
            .triggers
            .iter()
            .map(|t| t.device.as_str())
            .collect();
        assert_eq!(order, ["a", "b"]);
    }
}
