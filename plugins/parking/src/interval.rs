//! A half-open span of host time, `[start, end)` in UTC milliseconds.
//!
//! Windows, reservations and queries are all intervals, and every rule of
//! the scene is stated over them half-open: a reservation ending at 08:00
//! and the next starting at 08:00 do not overlap.

use std::fmt;

use linli_sdk::calendar;
use serde::{Deserialize, Serialize};

/// `[start, end)`, with `start < end`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Interval {
    pub start: i64,
    pub end: i64,
}

impl Interval {
    /// The interval `[start, end)`, or `None` when it would be empty.
    pub fn new(start: i64, end: i64) -> Option<Self> {
        (start < end).then_some(Self { start, end })
    }

    /// Its length in milliseconds, always positive.
    pub fn len_ms(self) -> i64 {
        self.end - self.start
    }

    /// Whether the two share any instant.
    pub fn overlaps(self, other: Interval) -> bool {
        self.start < other.end && other.start < self.end
    }

    /// Whether `at` falls inside.
    pub fn contains(self, at: i64) -> bool {
        self.start <= at && at < self.end
    }

    /// The part both share, if any.
    pub fn intersection(self, other: Interval) -> Option<Interval> {
        Interval::new(self.start.max(other.start), self.end.min(other.end))
    }

    /// What is left of `self` once `cut` is taken out: none, one or two pieces.
    pub fn minus(self, cut: Interval) -> Vec<Interval> {
        if !self.overlaps(cut) {
            return vec![self];
        }
        [
            Interval::new(self.start, cut.start),
            Interval::new(cut.end, self.end),
        ]
        .into_iter()
        .flatten()
        .collect()
    }

    /// The interval as people read it, in the community's local time.
    pub fn local(self, offset_minutes: i32) -> String {
        format!(
            "{} – {}",
            calendar::date_time(self.start, offset_minutes),
            calendar::date_time(self.end, offset_minutes)
        )
    }
}

impl fmt::Display for Interval {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "[{}, {})", self.start, self.end)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn iv(start: i64, end: i64) -> Interval {
        Interval::new(start, end).unwrap()
    }

    #[test]
    fn touching_intervals_do_not_overlap() {
        assert!(!iv(0, 10).overlaps(iv(10, 20)));
        assert!(iv(0, 11).overlaps(iv(10, 20)));
        assert!(Interval::new(5, 5).is_none());
    }

    #[test]
    fn cutting_leaves_the_outer_pieces() {
        assert_eq!(iv(0, 30).minus(iv(10, 20)), vec![iv(0, 10), iv(20, 30)]);
        assert_eq!(iv(0, 30).minus(iv(0, 40)), vec![]);
        assert_eq!(iv(0, 30).minus(iv(30, 40)), vec![iv(0, 30)]);
        assert_eq!(iv(0, 30).intersection(iv(20, 40)), Some(iv(20, 30)));
    }
}
