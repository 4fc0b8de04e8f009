//! Overstaying: the stages a checked-in vehicle goes through as its
//! reservation ends, and the ban that follows repeat overstays.
//!
//! With the defaults: 10 minutes before the end the parker gets a
//! **notice**; the end starts a 15-minute **grace**; at end + grace the
//! parker gets a **warning**, the overstay counts against them and the fee
//! runs per started 15 minutes (see [`crate::pricing`]); an hour after the
//! end `parking-overstay` is raised to property staff (**alarm**). Checking
//! out ends it all.
//!
//! A reservation remembers the stage its parker was last told of
//! (`Reservation::told`), so [`advance`] reports each stage once however
//! often a timer or reading asks: the handler tells, raises or records for
//! what it returns and writes the book back.
//!
//! **Bans.** Each warning is one overstay in the parker's [`History`]; when
//! the configured number fall within the window (3 in 30 days by default),
//! the parker may not reserve anyone else's space (every class but their
//! own private spaces) until the ban ends.

use serde::{Deserialize, Serialize};

use crate::config::Config;
use crate::reservations::{Book, Reservation, State};

/// How far past its time a checked-in vehicle is, in order.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
#[serde(rename_all = "kebab-case")]
pub enum Stage {
    #[default]
    OnTime,
    /// The end is near: the parker is told.
    Notice,
    /// Past the end, within the grace: nothing new happens.
    Grace,
    /// Past the grace: warned, counted, charged.
    Warning,
    /// Long past the end: staff are alarmed.
    Alarm,
}

impl Stage {
    pub fn is_on_time(&self) -> bool {
        *self == Stage::OnTime
    }
}

/// The stage of a reservation `[.., end)` at `now`, if its vehicle is there.
pub fn stage_at(end: i64, now: i64, config: &Config) -> Stage {
    let o = &config.overstay;
    if now >= end + o.alarm_after_ms {
        Stage::Alarm
    } else if now >= end + o.grace_ms {
        Stage::Warning
    } else if now >= end {
        Stage::Grace
    } else if now >= end - o.notice_before_ms {
        Stage::Notice
    } else {
        Stage::OnTime
    }
}

/// When the stage of a reservation ending at `end` next changes after
/// `now`, for the handler's timer; `None` once it is at [`Stage::Alarm`].
pub fn next_change(end: i64, now: i64, config: &Config) -> Option<i64> {
    let o = &config.overstay;
    [
        end - o.notice_before_ms,
        end,
        end + o.grace_ms,
        end + o.alarm_after_ms,
    ]
    .into_iter()
    .find(|at| *at > now)
}

/// A stage a parker reached and has not yet been told of.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reached {
    pub reservation: Reservation,
    pub stage: Stage,
}

/// Moves the checked-in reservation of `book` to its stage at `now` and
/// returns the stages it reached since it was last told, in order (a timer
/// that fires late may pass more than one). [`Stage::Grace`] is reported
/// too, though it needs no message, so a handler sees every step.
pub fn advance(book: &mut Book, now: i64, config: &Config) -> Vec<Reached> {
    let Some(seq) = book.checked_in().map(|r| r.seq) else {
        return Vec::new();
    };
    let Ok(reservation) = book.find_mut(seq) else {
        return Vec::new();
    };
    let stage = stage_at(reservation.end, now, config);
    let from = reservation.told;
    if stage <= from {
        return Vec::new();
    }
    reservation.told = stage;
    let snapshot = reservation.clone();
    [Stage::Notice, Stage::Grace, Stage::Warning, Stage::Alarm]
        .into_iter()
        .filter(|s| from < *s && *s <= stage)
        .map(|stage| Reached {
            reservation: snapshot.clone(),
            stage,
        })
        .collect()
}

/// A parker's standing: their overstays, ban and unpaid debts; one store
/// value, `parker/<person>`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct History {
    /// When each recent overstay reached its warning, oldest first.
    #[serde(default)]
    pub overstays: Vec<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub banned_until: Option<i64>,
    /// Payments a check-out could not make, oldest first (see [`crate::money`]).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub owed: Vec<crate::money::Debt>,
}

impl History {
    /// The store key of `person`'s history.
    pub fn key(person: &str) -> String {
        format!("parker/{person}")
    }

    /// Counts an overstay at `at`; returns the end of the ban it brings, if
    /// this one makes the count. Overstays older than the window are
    /// forgotten, so the value stays small; a ban starts the count afresh,
    /// so the next ban takes as many new overstays.
    pub fn record_overstay(&mut self, at: i64, config: &Config) -> Option<i64> {
        let ban = &config.overstay.ban;
        self.overstays.retain(|when| *when > at - ban.window_ms());
        self.overstays.push(at);
        if ban.overstays == 0 || self.overstays.len() < ban.overstays as usize {
            return None;
        }
        self.overstays.clear();
        let until = at + ban.ban_ms();
        self.banned_until = Some(self.banned_until.map_or(until, |before| before.max(until)));
        self.banned_until
    }

    /// Whether the parker is banned at `now`.
    pub fn banned(&self, now: i64) -> bool {
        self.banned_until.is_some_and(|until| now < until)
    }
}

/// Whether `reservation` overstayed past its grace before it was checked
/// out (whether or not a timer got to warn it); for the monthly report.
pub fn overstayed(reservation: &Reservation) -> bool {
    reservation.state == State::CheckedOut
        && (reservation.told >= Stage::Warning
            || reservation.settlement.is_some_and(|s| s.overstay_steps > 0))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::interval::Interval;
    use crate::reservations::Request;

    const MINUTE: i64 = 60_000;
    const NOW: i64 = 1_767_542_400_000;

    fn checked_in_book(config: &Config) -> (Book, i64) {
        let mut book = Book::default();
        let (start, end) = (NOW + 60 * MINUTE, NOW + 180 * MINUTE);
        book.reserve(
            Request {
                holder: "ann".into(),
                visitor: None,
                wanted: Interval::new(start, end).unwrap(),
                rate: 6,
            },
            NOW,
            config,
        )
        .unwrap();
        book.check_in(start, config).unwrap();
        (book, end)
    }

    #[test]
    fn stages_follow_the_clock_around_the_end() {
        let config = Config::default();
        let end = 1_000 * MINUTE;
        assert_eq!(stage_at(end, end - 11 * MINUTE, &config), Stage::OnTime);
        assert_eq!(stage_at(end, end - 10 * MINUTE, &config), Stage::Notice);
        assert_eq!(stage_at(end, end, &config), Stage::Grace);
        assert_eq!(stage_at(end, end + 15 * MINUTE, &config), Stage::Warning);
        assert_eq!(stage_at(end, end + 60 * MINUTE, &config), Stage::Alarm);
        assert_eq!(
            next_change(end, end - 30 * MINUTE, &config),
            Some(end - 10 * MINUTE)
        );
        assert_eq!(next_change(end, end, &config), Some(end + 15 * MINUTE));
        assert_eq!(next_change(end, end + 60 * MINUTE, &config), None);
    }

    #[test]
    fn each_stage_is_reported_once_and_a_late_timer_reports_all_it_passed() {
        let config = Config::default();
        let (mut book, end) = checked_in_book(&config);
        let stages =
            |reached: Vec<Reached>| reached.into_iter().map(|r| r.stage).collect::<Vec<_>>();
        assert_eq!(
            stages(advance(&mut book, end - 10 * MINUTE, &config)),
            vec![Stage::Notice]
        );
        assert!(advance(&mut book, end - 5 * MINUTE, &config).is_empty());
        assert_eq!(
            stages(advance(&mut book, end + 20 * MINUTE, &config)),
            vec![Stage::Grace, Stage::Warning]
        );
        assert_eq!(
            stages(advance(&mut book, end + 2 * 60 * MINUTE, &config)),
            vec![Stage::Alarm]
        );
        let out = book
            .check_out(end + 2 * 60 * MINUTE, &config)
            .unwrap()
            .clone();
        assert!(overstayed(&out));
        assert!(advance(&mut book, end + 3 * 60 * MINUTE, &config).is_empty());
    }

    #[test]
    fn the_third_overstay_in_thirty_days_bans_for_the_configured_time() {
        let config = Config::default();
        let day = 24 * 60 * MINUTE;
        let mut history = History::default();
        assert_eq!(history.record_overstay(0, &config), None);
        // The first has dropped out of the window by day 31.
        assert_eq!(history.record_overstay(20 * day, &config), None);
        assert_eq!(history.record_overstay(31 * day, &config), None);
        let until = history.record_overstay(32 * day, &config).unwrap();
        assert_eq!(until, 32 * day + 14 * day);
        assert!(history.banned(until - 1));
        assert!(!history.banned(until));
        assert!(
            history.overstays.is_empty(),
            "a ban starts the count afresh"
        );
    }

    #[test]
    fn a_count_of_zero_never_bans() {
        let mut config = Config::default();
        config.overstay.ban.overstays = 0;
        let mut history = History::default();
        for at in 0..10 {
            assert_eq!(history.record_overstay(at, &config), None);
        }
    }
}
