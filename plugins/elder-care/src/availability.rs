//! When a member says they can help: weekly windows in local time, such as
//! `{"days": ["mon", "thu"], "from": "09:00", "to": "18:00"}`. A window does
//! not cross midnight; an evening-to-morning helper declares two windows.

use serde::{Deserialize, Serialize};

use linli_sdk::calendar::{local_minutes, minute_of_week, DAY_MINUTES, WEEK_MINUTES};
use linli_sdk::week::{LocalTime, Weekday};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Window {
    pub days: Vec<Weekday>,
    pub from: LocalTime,
    pub to: LocalTime,
}

impl Window {
    pub fn check(&self) -> Result<(), String> {
        if self.days.is_empty() {
            return Err("`days` names no day".to_owned());
        }
        if self.from >= self.to {
            return Err("`from` must be before `to` (a window does not cross midnight)".to_owned());
        }
        Ok(())
    }
}

/// How well someone's windows fit a piece of work.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Fit {
    /// Their windows hold the whole duration within the requested time.
    Full,
    /// They declared no windows: they may or may not be free.
    Unknown,
    /// Their windows hold part of it.
    Partial,
    /// Their windows miss it entirely.
    None,
}

/// How `windows` fit `minutes` of work somewhere in `[start, end)` (UTC ms).
pub fn fit(windows: &[Window], start: i64, end: i64, minutes: i64, offset_minutes: i32) -> Fit {
    if windows.is_empty() {
        return Fit::Unknown;
    }
    let covered = covered_minutes(windows, start, end, offset_minutes);
    if covered >= minutes {
        Fit::Full
    } else if covered > 0 {
        Fit::Partial
    } else {
        Fit::None
    }
}

/// Minutes of `[start, end)` inside any window, counting overlaps once.
fn covered_minutes(windows: &[Window], start: i64, end: i64, offset_minutes: i32) -> i64 {
    let (first, last) = (
        local_minutes(start, offset_minutes),
        local_minutes(end, offset_minutes),
    );
    if last <= first {
        return 0;
    }
    let week_start = first - minute_of_week(first);
    let mut spans: Vec<(i64, i64)> = Vec::new();
    let mut week = week_start;
    while week < last {
        for window in windows {
            for day in &window.days {
                let day_start = week + day.index() * DAY_MINUTES;
                let (from, to) = (
                    day_start + window.from.minutes(),
                    day_start + window.to.minutes(),
                );
                let (from, to) = (from.max(first), to.min(last));
                if from < to {
                    spans.push((from, to));
                }
            }
        }
        week += WEEK_MINUTES;
    }
    spans.sort_unstable();
    let mut covered = 0;
    let mut reached = i64::MIN;
    for (from, to) in spans {
        let from = from.max(reached);
        if from < to {
            covered += to - from;
            reached = to;
        }
    }
    covered
}

#[cfg(test)]
mod tests {
    use super::*;
    use linli_sdk::calendar::MINUTE_MS;

    /// 2026-01-01T00:00:00Z: Thursday 08:00 in Shanghai.
    const THURSDAY_8AM: i64 = 1_767_225_600_000;
    const SHANGHAI: i32 = 8 * 60;
    const HOUR: i64 = 60 * MINUTE_MS;

    fn window(days: &[Weekday], from: &str, to: &str) -> Window {
        Window {
            days: days.to_vec(),
            from: from.parse().unwrap(),
            to: to.parse().unwrap(),
        }
    }

    fn fits(windows: &[Window], start_hours: i64, end_hours: i64, minutes: i64) -> Fit {
        fit(
            windows,
            THURSDAY_8AM + start_hours * HOUR,
            THURSDAY_8AM + end_hours * HOUR,
            minutes,
            SHANGHAI,
        )
    }

    #[test]
    fn a_window_holding_the_duration_fits_fully() {
        let thursdays = [window(&[Weekday::Thu], "09:00", "18:00")];
        assert_eq!(fits(&thursdays, 2, 5, 90), Fit::Full, "10:00-13:00");
        assert_eq!(
            fits(&thursdays, 9, 11, 90),
            Fit::Partial,
            "17:00-19:00 holds an hour"
        );
        assert_eq!(fits(&thursdays, 11, 13, 90), Fit::None, "19:00-21:00");
        assert_eq!(fits(&[], 2, 5, 90), Fit::Unknown);
    }

    #[test]
    fn weekends_and_overlapping_windows_count_once() {
        let weekend = [window(&[Weekday::Sat, Weekday::Sun], "08:00", "20:00")];
        assert_eq!(fits(&weekend, 2, 5, 90), Fit::None, "a Thursday");
        assert_eq!(
            fits(&weekend, 48 + 2, 48 + 5, 90),
            Fit::Full,
            "Saturday 10:00"
        );
        let overlapping = [
            window(&[Weekday::Thu], "10:00", "10:30"),
            window(&[Weekday::Thu], "10:00", "10:45"),
        ];
        assert_eq!(
            fits(&overlapping, 2, 5, 60),
            Fit::Partial,
            "45 minutes, not 75"
        );
    }

    #[test]
    fn a_request_across_a_week_boundary_sees_next_week() {
        let mondays = [window(&[Weekday::Mon], "09:00", "10:00")];
        // Sunday 20:00 to Monday 12:00.
        assert_eq!(fits(&mondays, 3 * 24 + 12, 4 * 24 + 4, 60), Fit::Full);
    }

    #[test]
    fn times_of_day_are_checked() {
        assert!("24:00".parse::<LocalTime>().is_ok());
        for bad in ["24:01", "9", "09:60", "-1:00", "aa:bb"] {
            assert!(bad.parse::<LocalTime>().is_err(), "{bad}");
        }
        assert!(window(&[Weekday::Mon], "10:00", "09:00").check().is_err());
        assert!(window(&[], "09:00", "10:00").check().is_err());
    }
}
