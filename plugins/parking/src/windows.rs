//! Sharing windows: when an owner makes a space available, and at what price.
//!
//! An owner publishes windows of two kinds, in the community's local time:
//!
//! - **weekly**: days of the week and a local start and end time, the way an
//!   office tenant thinks ("every weekday 19:00–08:00", "Saturday and Sunday
//!   00:00–24:00"). An end at or before the start crosses midnight: the
//!   window starts on the named day and ends the next morning;
//! - **one-off**: an absolute `[start, end)`, for "this Saturday afternoon".
//!
//! and **exceptions** that take time back out: a local date removes the
//! occurrences of weekly windows that *start* on that date (the whole night
//! 19:00–08:00, which is what "not on Friday" means to the office), and an
//! interval removes exactly that span from every window.
//!
//! [`Windows::available`] expands all of it into concrete, disjoint,
//! ordered intervals within a query, each with its price. Where two windows
//! overlap the cheaper price applies: overlaps happen when an owner adds a
//! one-off window over a weekly one, and a parker should never pay more
//! because an owner offered the same hour twice.
//!
//! The community's offset from UTC is fixed (China keeps one offset all
//! year), so a local time is the same UTC instant every week.

use std::fmt;

use linli_sdk::calendar::{self, DAY_MINUTES, DAY_MS, MINUTE_MS};
use serde::{Deserialize, Serialize};

use crate::interval::Interval;
pub use linli_sdk::week::{LocalTime, Weekday};

/// At most this many windows per space, so a space's windows stay one small
/// store value and an expansion stays cheap.
pub const MAX_WINDOWS: usize = 32;
/// At most this many exceptions per space.
pub const MAX_EXCEPTIONS: usize = 64;
/// The most a window may charge per hour, in community points.
pub const MAX_PRICE_PER_HOUR: u32 = 100_000;

/// When a window recurs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case", deny_unknown_fields)]
pub enum Recurrence {
    /// Every named day from `start`, to `end` the same day, or the next day
    /// when `end` is not after `start`.
    Weekly {
        days: Vec<Weekday>,
        start: LocalTime,
        end: LocalTime,
    },
    /// Once, `[start, end)` in host time.
    OneOff { start: i64, end: i64 },
}

/// One published window.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Window {
    /// Unique among the space's windows, never reused.
    pub id: u32,
    pub when: Recurrence,
    /// Community points per hour; 0 is free.
    pub price_per_hour: u32,
}

/// Time taken back out of a space's windows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case", deny_unknown_fields)]
pub enum Exception {
    /// The weekly occurrences that start on this local date, `YYYY-MM-DD`.
    Date { date: String },
    /// Exactly this span, from every window.
    Interval { start: i64, end: i64 },
}

/// A concrete stretch of availability with its price.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Available {
    pub start: i64,
    pub end: i64,
    pub price_per_hour: u32,
}

impl Available {
    pub fn interval(self) -> Interval {
        Interval {
            start: self.start,
            end: self.end,
        }
    }
}

/// Why a change to a space's windows was refused; the text says what to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WindowError {
    /// The window or exception is malformed.
    Invalid(String),
    /// The space already has as many as it may.
    TooMany(String),
    /// No window with this id.
    NotFound(u32),
    /// A reservation falls in the window, so it stays.
    Reserved { window: u32, reservation: Interval },
}

impl fmt::Display for WindowError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            WindowError::Invalid(why) | WindowError::TooMany(why) => f.write_str(why),
            WindowError::NotFound(id) => write!(f, "the space has no window {id}"),
            WindowError::Reserved { window, reservation } => write!(
                f,
                "window {window} holds a reservation {reservation}: cancel it first, or add an exception after it"
            ),
        }
    }
}

/// Every window and exception of one space: one store value,
/// `space/<id>/windows`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Windows {
    #[serde(default)]
    pub windows: Vec<Window>,
    #[serde(default)]
    pub exceptions: Vec<Exception>,
    /// The next window's id.
    #[serde(default)]
    next_id: u32,
}

impl Windows {
    /// Whether the owner shares nothing: no search need read the space's book.
    pub fn is_empty(&self) -> bool {
        self.windows.is_empty()
    }

    /// The store key of `space`'s windows.
    pub fn key(space: &str) -> String {
        format!("space/{space}/windows")
    }

    /// Publishes a window; returns its id. A one-off window must end after `now`.
    pub fn publish(
        &mut self,
        when: Recurrence,
        price_per_hour: u32,
        now: i64,
    ) -> Result<u32, WindowError> {
        if self.windows.len() >= MAX_WINDOWS {
            return Err(WindowError::TooMany(format!(
                "a space has at most {MAX_WINDOWS} windows: withdraw one first"
            )));
        }
        if price_per_hour > MAX_PRICE_PER_HOUR {
            return Err(WindowError::Invalid(format!(
                "price_per_hour: at most {MAX_PRICE_PER_HOUR} points"
            )));
        }
        match &when {
            Recurrence::Weekly { days, start, end } => {
                if days.is_empty() {
                    return Err(WindowError::Invalid("days: name at least one day".into()));
                }
                if start == end || *start == LocalTime::END_OF_DAY {
                    return Err(WindowError::Invalid(format!(
                        "a weekly window {start}–{end} is empty: for a whole day write 00:00–24:00"
                    )));
                }
            }
            Recurrence::OneOff { start, end } => {
                if start >= end {
                    return Err(WindowError::Invalid("start: must be before end".into()));
                }
                if *end <= now {
                    return Err(WindowError::Invalid(
                        "end: the window is already over".into(),
                    ));
                }
            }
        }
        let id = self.next_id;
        self.next_id += 1;
        self.windows.push(Window {
            id,
            when,
            price_per_hour,
        });
        Ok(id)
    }

    /// Adds an exception.
    pub fn except(&mut self, exception: Exception) -> Result<(), WindowError> {
        if self.exceptions.len() >= MAX_EXCEPTIONS {
            return Err(WindowError::TooMany(format!(
                "a space has at most {MAX_EXCEPTIONS} exceptions"
            )));
        }
        match &exception {
            Exception::Date { date } if !calendar::is_date(date) => {
                return Err(WindowError::Invalid(format!(
                    "date: {date:?} is not a date: write YYYY-MM-DD"
                )))
            }
            Exception::Interval { start, end } if start >= end => {
                return Err(WindowError::Invalid("start: must be before end".into()))
            }
            _ => {}
        }
        if !self.exceptions.contains(&exception) {
            self.exceptions.push(exception);
        }
        Ok(())
    }

    /// Withdraws window `id`, unless one of `active` (the space's confirmed
    /// and checked-in reservations) falls in it: an owner cannot take back
    /// time someone holds. Another window covering the same reservation does
    /// not help, on purpose: the rule is simple to state and to check.
    pub fn withdraw(
        &mut self,
        id: u32,
        active: &[Interval],
        offset_minutes: i32,
    ) -> Result<Window, WindowError> {
        let index = self
            .windows
            .iter()
            .position(|window| window.id == id)
            .ok_or(WindowError::NotFound(id))?;
        let window = &self.windows[index];
        if let Some(reservation) = active
            .iter()
            .find(|reservation| !occurrences(window, **reservation, &[], offset_minutes).is_empty())
        {
            return Err(WindowError::Reserved {
                window: id,
                reservation: *reservation,
            });
        }
        Ok(self.windows.remove(index))
    }

    /// Drops one-off windows and interval exceptions that ended before
    /// `now`; they can no longer matter, and the value stays small.
    pub fn forget_past(&mut self, now: i64) {
        self.windows
            .retain(|window| !matches!(window.when, Recurrence::OneOff { end, .. } if end <= now));
        self.exceptions.retain(
            |exception| !matches!(exception, Exception::Interval { end, .. } if *end <= now),
        );
    }

    /// The space's availability within `query`: disjoint stretches in time
    /// order, adjacent stretches of the same price merged, exceptions taken
    /// out, the cheaper price where windows overlap.
    pub fn available(&self, query: Interval, offset_minutes: i32) -> Vec<Available> {
        let dates: Vec<&str> = self
            .exceptions
            .iter()
            .filter_map(|exception| match exception {
                Exception::Date { date } => Some(date.as_str()),
                Exception::Interval { .. } => None,
            })
            .collect();
        let cuts: Vec<Interval> = self
            .exceptions
            .iter()
            .filter_map(|exception| match exception {
                Exception::Interval { start, end } => Interval::new(*start, *end),
                Exception::Date { .. } => None,
            })
            .collect();
        let mut pieces: Vec<Available> = Vec::new();
        for window in &self.windows {
            for occurrence in occurrences(window, query, &dates, offset_minutes) {
                let mut parts = vec![occurrence];
                for cut in &cuts {
                    parts = parts
                        .into_iter()
                        .flat_map(|part| part.minus(*cut))
                        .collect();
                }
                pieces.extend(parts.into_iter().map(|part| Available {
                    start: part.start,
                    end: part.end,
                    price_per_hour: window.price_per_hour,
                }));
            }
        }
        cheapest_cover(&pieces)
    }

    /// The rate a reservation of `wanted` pays, if the windows cover all of
    /// it: the highest rate among the stretches it spans, fixed when it is
    /// made. One rate keeps the reservation compact and the quote honest:
    /// an owner who offers adjacent windows at two prices is paid at least
    /// what they asked for each hour.
    pub fn rate_for(&self, wanted: Interval, offset_minutes: i32) -> Option<u32> {
        covered_rate(&self.available(wanted, offset_minutes), wanted)
    }
}

/// The highest rate of `available` over `wanted`, if `available` (disjoint,
/// in order) covers every instant of it.
pub fn covered_rate(available: &[Available], wanted: Interval) -> Option<u32> {
    let mut reached = wanted.start;
    let mut rate = 0;
    for stretch in available {
        if stretch.end <= reached {
            continue;
        }
        if stretch.start > reached {
            return None;
        }
        rate = rate.max(stretch.price_per_hour);
        reached = stretch.end;
        if reached >= wanted.end {
            return Some(rate);
        }
    }
    None
}

/// The occurrences of `window` that overlap `query`, clipped to it; weekly
/// occurrences starting on one of `excepted_dates` are left out.
fn occurrences(
    window: &Window,
    query: Interval,
    excepted_dates: &[&str],
    offset_minutes: i32,
) -> Vec<Interval> {
    match &window.when {
        Recurrence::OneOff { start, end } => Interval::new(*start, *end)
            .and_then(|whole| whole.intersection(query))
            .into_iter()
            .collect(),
        Recurrence::Weekly { days, start, end } => {
            let length = if end > start {
                end.minutes() - start.minutes()
            } else {
                end.minutes() + DAY_MINUTES - start.minutes()
            };
            let offset_ms = i64::from(offset_minutes) * MINUTE_MS;
            // An occurrence lasts under a day, so one that overlaps the query
            // starts at most a day before it.
            let first_day =
                calendar::local_minutes(query.start, offset_minutes).div_euclid(DAY_MINUTES) - 1;
            let last_day =
                calendar::local_minutes(query.end, offset_minutes).div_euclid(DAY_MINUTES);
            (first_day..=last_day)
                .filter(|day| days.contains(&Weekday::of_local_day(*day)))
                .filter_map(|day| {
                    let midnight = day * DAY_MS - offset_ms;
                    if excepted_dates.contains(&calendar::date(midnight, offset_minutes).as_str()) {
                        return None;
                    }
                    let from = midnight + start.minutes() * MINUTE_MS;
                    Interval::new(from, from + length * MINUTE_MS)?.intersection(query)
                })
                .collect()
        }
    }
}

/// Turns possibly overlapping priced pieces into disjoint stretches, each
/// instant at the cheapest price offered for it.
fn cheapest_cover(pieces: &[Available]) -> Vec<Available> {
    let mut bounds: Vec<i64> = pieces.iter().flat_map(|p| [p.start, p.end]).collect();
    bounds.sort_unstable();
    bounds.dedup();
    let mut cover: Vec<Available> = Vec::new();
    for pair in bounds.windows(2) {
        let (from, to) = (pair[0], pair[1]);
        let Some(price) = pieces
            .iter()
            .filter(|p| p.start <= from && to <= p.end)
            .map(|p| p.price_per_hour)
            .min()
        else {
            continue;
        };
        match cover.last_mut() {
            Some(last) if last.end == from && last.price_per_hour == price => last.end = to,
            _ => cover.push(Available {
                start: from,
                end: to,
                price_per_hour: price,
            }),
        }
    }
    cover
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Shanghai, where the demo community is.
    const CST: i32 = 480;
    /// 2026-01-05T00:00 in Shanghai, a Monday.
    const MONDAY: i64 = 1_767_542_400_000;
    const HOUR: i64 = 60 * MINUTE_MS;

    fn at(day: i64, hour: i64) -> i64 {
        MONDAY + day * DAY_MS + hour * HOUR
    }

    fn weekly(days: &[Weekday], start: &str, end: &str) -> Recurrence {
        Recurrence::Weekly {
            days: days.to_vec(),
            start: start.parse().unwrap(),
            end: end.parse().unwrap(),
        }
    }

    /// An office tenant's spaces: every weekday 19:00–08:00 and all weekend.
    fn office() -> Windows {
        use Weekday::*;
        let mut windows = Windows::default();
        windows
            .publish(weekly(&[Mon, Tue, Wed, Thu, Fri], "19:00", "08:00"), 6, 0)
            .unwrap();
        windows
            .publish(weekly(&[Sat, Sun], "00:00", "24:00"), 4, 0)
            .unwrap();
        windows
    }

    fn week() -> Interval {
        Interval::new(MONDAY, MONDAY + 7 * DAY_MS).unwrap()
    }

    #[test]
    fn the_monday_is_a_monday() {
        assert_eq!(calendar::date(MONDAY, CST), "2026-01-05");
        assert_eq!(
            Weekday::of_local_day(calendar::local_minutes(MONDAY, CST) / DAY_MINUTES),
            Weekday::Mon
        );
    }

    #[test]
    fn an_office_week_is_weeknights_and_the_weekend() {
        let available = office().available(week(), CST);
        let spans: Vec<(i64, i64, u32)> = available
            .iter()
            .map(|a| {
                (
                    (a.start - MONDAY) / HOUR,
                    (a.end - MONDAY) / HOUR,
                    a.price_per_hour,
                )
            })
            .collect();
        assert_eq!(
            spans,
            vec![
                // Monday 00:00–08:00 is empty: the weekend window ends at
                // Sunday midnight and Sunday has no weeknight window.
                (19, 32, 6),   // Mon 19:00 – Tue 08:00
                (43, 56, 6),   // Tue – Wed
                (67, 80, 6),   // Wed – Thu
                (91, 104, 6),  // Thu – Fri
                (115, 120, 6), // Fri 19:00 – Sat 00:00 at the weeknight price
                (120, 168, 4), // the weekend
            ]
        );
    }

    #[test]
    fn a_night_is_covered_and_a_day_is_not() {
        let windows = office();
        let night = Interval::new(at(1, 20), at(2, 7)).unwrap();
        assert_eq!(windows.rate_for(night, CST), Some(6));
        let day = Interval::new(at(1, 9), at(1, 10)).unwrap();
        assert_eq!(windows.rate_for(day, CST), None);
        // Friday night into Saturday spans both prices: the higher applies.
        let friday = Interval::new(at(4, 22), at(5, 2)).unwrap();
        assert_eq!(windows.rate_for(friday, CST), Some(6));
    }

    #[test]
    fn a_date_exception_removes_the_night_that_starts_on_it() {
        let mut windows = office();
        windows
            .except(Exception::Date {
                date: "2026-01-06".into(),
            })
            .unwrap();
        let tuesday_night = Interval::new(at(1, 20), at(1, 22)).unwrap();
        assert_eq!(windows.rate_for(tuesday_night, CST), None);
        // Tuesday's small hours belong to Monday's night and stay.
        let tuesday_morning = Interval::new(at(1, 1), at(1, 7)).unwrap();
        assert_eq!(windows.rate_for(tuesday_morning, CST), Some(6));
    }

    #[test]
    fn an_interval_exception_cuts_exactly_its_span() {
        let mut windows = office();
        windows
            .except(Exception::Interval {
                start: at(5, 10),
                end: at(5, 12),
            })
            .unwrap();
        let saturday = windows.available(Interval::new(at(5, 0), at(6, 0)).unwrap(), CST);
        assert_eq!(
            saturday.iter().map(|a| a.interval()).collect::<Vec<_>>(),
            vec![
                Interval::new(at(5, 0), at(5, 10)).unwrap(),
                Interval::new(at(5, 12), at(6, 0)).unwrap()
            ]
        );
    }

    #[test]
    fn overlapping_windows_charge_the_cheaper_price() {
        let mut windows = office();
        windows
            .publish(
                Recurrence::OneOff {
                    start: at(5, 8),
                    end: at(5, 20),
                },
                0,
                0,
            )
            .unwrap();
        let saturday = Interval::new(at(5, 9), at(5, 11)).unwrap();
        assert_eq!(windows.rate_for(saturday, CST), Some(0));
        let evening = Interval::new(at(5, 19), at(5, 21)).unwrap();
        assert_eq!(windows.rate_for(evening, CST), Some(4));
    }

    #[test]
    fn a_window_holding_a_reservation_is_not_withdrawn() {
        let mut windows = office();
        let held = Interval::new(at(2, 20), at(2, 23)).unwrap();
        let refused = windows.withdraw(0, &[held], CST).unwrap_err();
        assert!(matches!(refused, WindowError::Reserved { window: 0, .. }));
        assert!(refused.to_string().contains("cancel it first"));
        // The weekend window holds nothing.
        assert_eq!(windows.withdraw(1, &[held], CST).unwrap().id, 1);
        assert_eq!(windows.withdraw(1, &[], CST), Err(WindowError::NotFound(1)));
    }

    #[test]
    fn malformed_windows_are_refused_with_the_field() {
        let mut windows = Windows::default();
        let empty = windows.publish(weekly(&[Weekday::Mon], "08:00", "08:00"), 0, 0);
        assert!(matches!(empty, Err(WindowError::Invalid(why)) if why.contains("00:00–24:00")));
        assert!("25:00".parse::<LocalTime>().is_err());
        assert!("7:00".parse::<LocalTime>().is_err());
        assert_eq!("24:00".parse::<LocalTime>(), Ok(LocalTime::END_OF_DAY));
        let over = windows.publish(Recurrence::OneOff { start: 0, end: 10 }, 0, 10);
        assert!(matches!(over, Err(WindowError::Invalid(why)) if why.starts_with("end")));
        let date = windows.except(Exception::Date {
            date: "6 Jan".into(),
        });
        assert!(matches!(date, Err(WindowError::Invalid(why)) if why.starts_with("date")));
    }

    #[test]
    fn windows_round_trip_through_the_store_format() {
        let mut windows = office();
        windows
            .except(Exception::Date {
                date: "2026-01-06".into(),
            })
            .unwrap();
        let json = serde_json::to_string(&windows).unwrap();
        assert!(json.contains(r#""start":"19:00""#), "{json}");
        assert_eq!(serde_json::from_str::<Windows>(&json).unwrap(), windows);
    }

    #[test]
    fn past_one_off_windows_are_forgotten() {
        let mut windows = office();
        windows
            .publish(Recurrence::OneOff { start: 10, end: 20 }, 0, 0)
            .unwrap();
        windows.forget_past(30);
        assert_eq!(windows.windows.len(), 2);
    }
}
