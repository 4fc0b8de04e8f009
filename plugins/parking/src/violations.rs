//! Vehicles where they should not be: an unreserved vehicle on a space that
//! is parked by reservation (`parking-unauthorised`), and any vehicle on a
//! fire lane (`fire-lane-blocked`).
//!
//! Both are decisions over one space's [`SensorState`] at `now`, so a handler
//! asks on every reading of the space and on a timer at the due time the
//! decision names, raises or clears the alarm it answers, and keeps nothing
//! else: the alarm itself (one active per space and type on the host)
//! remembers that it was raised.

use crate::config::Config;
use crate::occupancy::{self, SensorState, Status};
use crate::reservations::{Book, State};
use crate::space::{Space, SpaceClass};
use linli_sdk::Severity;

/// What to do about an unreserved vehicle on a space.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unauthorised {
    /// Nothing is wrong (or nothing can be told): clear any alarm.
    Clear,
    /// A vehicle without a reservation, within the grace: ask again at `due`.
    Pending { due: i64 },
    /// Raise `parking-unauthorised`: a vehicle without a reservation since `since`.
    Raise { since: i64 },
}

/// Whether the vehicle on `space` at `now` is unauthorised.
///
/// Only spaces parked by reservation (shared, visitor, accessible, EV) and
/// only inside the space's sharing windows (`in_window`, from
/// [`crate::windows::Windows::rate_for`] over `[now, now + 1)`): outside its
/// windows an office tenant's space is the tenant's own, and their vehicle
/// there needs no reservation. A vehicle is authorised by the checked-in
/// reservation or a confirmed one from its early check-in to its end. A
/// sensor that is silent says nothing, so it raises nothing.
pub fn unauthorised(
    space: &Space,
    sensor: Option<&SensorState>,
    book: &Book,
    in_window: bool,
    now: i64,
    config: &Config,
) -> Unauthorised {
    let Some(state) = sensor else {
        return Unauthorised::Clear;
    };
    if !space.class.is_public()
        || !in_window
        || occupancy::status(sensor, now, config.occupancy.report_interval_ms) != Status::Occupied
        || book.authorising(now, config).is_some()
    {
        return Unauthorised::Clear;
    }
    // The grace runs from when the vehicle arrived, or from when a
    // reservation last stopped covering the space, whichever is later: a
    // vehicle that stayed on after a released no-show is judged from the
    // release.
    let since = state.since.max(
        book.reservations()
            .iter()
            .filter(|r| {
                matches!(
                    r.state,
                    State::CheckedOut | State::NoShow | State::Displaced
                )
            })
            .filter_map(|r| r.finished.filter(|at| *at <= now))
            .max()
            .unwrap_or(i64::MIN),
    );
    let due = since + config.unauthorised.grace_ms;
    if now >= due {
        Unauthorised::Raise { since }
    } else {
        Unauthorised::Pending { due }
    }
}

/// What to do about a fire lane.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FireLane {
    /// Free (or not a fire lane, or silent): clear any alarm.
    Clear,
    /// A vehicle arrived; ask again at `due`.
    Pending { due: i64 },
    /// Raise `fire-lane-blocked` at `severity`: major, critical while a
    /// fire is confirmed in the lane's building.
    Blocked { since: i64, severity: Severity },
}

/// Whether the fire lane `space` is blocked at `now`; `fire_in_building` is
/// whether `fire-confirmed` is active for the space's building.
///
/// A lane whose sensor has gone silent keeps its last answer only while the
/// reading is fresh: past the report interval it is cleared as unknown, and
/// the host's own `device-offline` alarm tells staff the sensor is down.
pub fn fire_lane(
    space: &Space,
    sensor: Option<&SensorState>,
    fire_in_building: bool,
    now: i64,
    config: &Config,
) -> FireLane {
    let Some(state) = sensor else {
        return FireLane::Clear;
    };
    if space.class != SpaceClass::FireLane
        || occupancy::status(sensor, now, config.occupancy.report_interval_ms) != Status::Occupied
    {
        return FireLane::Clear;
    }
    let due = state.since + config.fire_lane.blocked_after_ms;
    if now < due {
        return FireLane::Pending { due };
    }
    FireLane::Blocked {
        since: state.since,
        severity: if fire_in_building {
            Severity::Critical
        } else {
            Severity::Major
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::interval::Interval;
    use crate::occupancy::observe;
    use crate::reservations::Request;

    const SECOND: i64 = 1_000;
    const MINUTE: i64 = 60 * SECOND;
    const NOW: i64 = 1_767_542_400_000;

    fn space(class: SpaceClass) -> Space {
        Space {
            id: "s-1".into(),
            lot: "lot-a".into(),
            building: Some("b2".into()),
            class,
            owner: "tenant-acme".into(),
            sensor: Some("mag-1".into()),
        }
    }

    #[test]
    fn an_unreserved_vehicle_on_a_shared_space_alarms_after_the_grace() {
        let config = Config::default();
        let book = Book::default();
        let shared = space(SpaceClass::Shared);
        let state = observe(None, true, NOW);
        let ask = |at| unauthorised(&shared, Some(&state), &book, true, at, &config);
        assert_eq!(
            ask(NOW),
            Unauthorised::Pending {
                due: NOW + 10 * MINUTE
            }
        );
        assert_eq!(ask(NOW + 10 * MINUTE), Unauthorised::Raise { since: NOW });
        // Outside its windows the tenant parks on its own space freely.
        assert_eq!(
            unauthorised(
                &shared,
                Some(&state),
                &book,
                false,
                NOW + 10 * MINUTE,
                &config
            ),
            Unauthorised::Clear
        );
        let private = space(SpaceClass::Private);
        assert_eq!(
            unauthorised(
                &private,
                Some(&state),
                &book,
                true,
                NOW + 10 * MINUTE,
                &config
            ),
            Unauthorised::Clear
        );
    }

    #[test]
    fn a_reservation_authorises_its_vehicle_until_the_end() {
        let config = Config::default();
        let mut book = Book::default();
        let start = NOW + 10 * MINUTE;
        book.reserve(
            Request {
                holder: "ann".into(),
                visitor: None,
                wanted: Interval::new(start, start + 60 * MINUTE).unwrap(),
                rate: 0,
            },
            NOW,
            &config,
        )
        .unwrap();
        let shared = space(SpaceClass::Visitor);
        let state = observe(None, true, NOW);
        // Five minutes early is within the early check-in.
        assert_eq!(
            unauthorised(
                &shared,
                Some(&state),
                &book,
                true,
                NOW + 5 * MINUTE,
                &config
            ),
            Unauthorised::Clear
        );
    }

    #[test]
    fn a_fire_lane_blocks_after_a_minute_and_is_critical_in_a_fire() {
        let config = Config::default();
        let lane = space(SpaceClass::FireLane);
        let state = observe(None, true, NOW);
        assert_eq!(
            fire_lane(&lane, Some(&state), false, NOW + 59 * SECOND, &config),
            FireLane::Pending {
                due: NOW + 60 * SECOND
            }
        );
        assert_eq!(
            fire_lane(&lane, Some(&state), false, NOW + 60 * SECOND, &config),
            FireLane::Blocked {
                since: NOW,
                severity: Severity::Major
            }
        );
        assert_eq!(
            fire_lane(&lane, Some(&state), true, NOW + 60 * SECOND, &config),
            FireLane::Blocked {
                since: NOW,
                severity: Severity::Critical
            }
        );
        let left = observe(Some(state), false, NOW + 90 * SECOND);
        assert_eq!(
            fire_lane(&lane, Some(&left), true, NOW + 90 * SECOND, &config),
            FireLane::Clear
        );
    }
}
