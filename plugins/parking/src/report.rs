//! The monthly report of a lot: occupancy by hour of day, shared time
//! offered and used, what owners earned, no-shows and overstays.
//!
//! A report is built as the month goes, from three sources, so that no one
//! handler ever scans a month of history:
//!
//! - finished reservations, when [`crate::reservations::Book::prune`] takes
//!   them out of a space's book ([`MonthlyReport::fold`]);
//! - an hourly recount of the lot ([`MonthlyReport::sample`]);
//! - the time the lot's windows offered, added per day
//!   ([`MonthlyReport::offered`]).
//!
//! One value per lot and month, `report/<lot>/<YYYY-MM>`; a month is the
//! community's local month of a reservation's start.

use std::collections::BTreeMap;

use linli_sdk::calendar;
use serde::{Deserialize, Serialize};

use crate::occupancy::LotCounts;
use crate::overstay;
use crate::reservations::{Reservation, State};

/// Occupancy seen in one hour of the day over the month.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct HourOccupancy {
    /// Spaces seen occupied, summed over the samples.
    pub occupied: u64,
    /// Spaces whose status was known, summed over the samples.
    pub known: u64,
}

impl HourOccupancy {
    /// Occupied share of known spaces in per mille, or `None` with no samples.
    pub fn per_mille(&self) -> Option<u64> {
        (self.known > 0).then(|| self.occupied * 1000 / self.known)
    }
}

/// One lot's month.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct MonthlyReport {
    pub reservations: u32,
    pub checked_out: u32,
    pub no_shows: u32,
    pub displaced: u32,
    pub cancelled: u32,
    /// Shared time the lot's windows offered, in milliseconds.
    pub offered_ms: i64,
    /// Time used by checked-out reservations, before rounding.
    pub used_ms: i64,
    /// Points paid for time, which owners earned.
    pub charged: u64,
    pub overstays: u32,
    pub overstay_fees: u64,
    /// Points earned per owner.
    pub earnings: BTreeMap<String, u64>,
    /// By local hour of day, 0 to 23.
    pub occupancy_by_hour: [HourOccupancy; 24],
}

impl MonthlyReport {
    /// The store key of `lot`'s report for `month` (`YYYY-MM`).
    pub fn key(lot: &str, month: &str) -> String {
        format!("report/{lot}/{month}")
    }

    /// The month a reservation counts in: the local month of its start.
    pub fn month_of(reservation: &Reservation, offset_minutes: i32) -> String {
        calendar::month(reservation.start, offset_minutes)
    }

    /// Adds a finished reservation of a space owned by `owner`. Active
    /// reservations are not finished and are left out.
    pub fn fold(&mut self, reservation: &Reservation, owner: &str) {
        match reservation.state {
            State::Confirmed | State::CheckedIn => return,
            State::CheckedOut => self.checked_out += 1,
            State::NoShow => self.no_shows += 1,
            State::Displaced => self.displaced += 1,
            State::Cancelled => self.cancelled += 1,
        }
        self.reservations += 1;
        if let Some(settlement) = reservation.settlement {
            self.used_ms += settlement.used_ms;
            self.charged += settlement.charge;
            self.overstay_fees += settlement.overstay_fee;
            if settlement.charge > 0 {
                *self.earnings.entry(owner.to_owned()).or_default() += settlement.charge;
            }
        }
        if overstay::overstayed(reservation) {
            self.overstays += 1;
        }
    }

    /// Adds a recount of the lot taken at `at`.
    pub fn sample(&mut self, at: i64, offset_minutes: i32, counts: LotCounts) {
        let hour =
            calendar::local_minutes(at, offset_minutes).rem_euclid(calendar::DAY_MINUTES) / 60;
        let slot = &mut self.occupancy_by_hour[hour as usize];
        slot.occupied += u64::from(counts.occupied);
        slot.known += u64::from(counts.occupied + counts.free);
    }

    /// Adds shared time offered by the lot's windows.
    pub fn offered(&mut self, ms: i64) {
        self.offered_ms += ms.max(0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;
    use crate::interval::Interval;
    use crate::reservations::{Book, Request};

    const MINUTE: i64 = 60_000;
    /// 2026-01-05T00:00 in Shanghai.
    const NOW: i64 = 1_767_542_400_000;

    #[test]
    fn finished_reservations_fold_into_earnings_and_counts() {
        let config = Config::default();
        let mut book = Book::default();
        for (holder, from) in [("ann", 60), ("bo", 180)] {
            book.reserve(
                Request {
                    holder: holder.into(),
                    visitor: None,
                    wanted: Interval::new(NOW + from * MINUTE, NOW + (from + 60) * MINUTE).unwrap(),
                    rate: 8,
                },
                NOW,
                &config,
            )
            .unwrap();
        }
        book.check_in(NOW + 60 * MINUTE, &config).unwrap();
        book.check_out(NOW + 150 * MINUTE, &config).unwrap();
        book.release_no_shows(NOW + 200 * MINUTE, &config);
        let mut report = MonthlyReport::default();
        for reservation in book.reservations() {
            report.fold(reservation, "tenant-acme");
        }
        assert_eq!(
            (report.reservations, report.checked_out, report.no_shows),
            (2, 1, 1)
        );
        // 90 minutes at 8 points an hour; 30 minutes late, 15 of them past the grace.
        assert_eq!(report.charged, 12);
        assert_eq!((report.overstays, report.overstay_fees), (1, 5));
        assert_eq!(report.earnings["tenant-acme"], 12);
        assert_eq!(
            MonthlyReport::month_of(&book.reservations()[0], 480),
            "2026-01"
        );
    }

    #[test]
    fn samples_land_in_their_local_hour() {
        let mut report = MonthlyReport::default();
        let counts = LotCounts {
            free: 3,
            occupied: 1,
            unknown: 5,
        };
        report.sample(NOW + 19 * 60 * MINUTE, 480, counts);
        report.sample(NOW + 19 * 60 * MINUTE + 30 * MINUTE, 480, counts);
        assert_eq!(
            report.occupancy_by_hour[19],
            HourOccupancy {
                occupied: 2,
                known: 8
            }
        );
        assert_eq!(report.occupancy_by_hour[19].per_mille(), Some(250));
        assert_eq!(report.occupancy_by_hour[0].per_mille(), None);
    }
}
