//! A community's local calendar over host timestamps (UTC milliseconds).
//!
//! A community's offset from UTC is fixed by its config — China keeps one
//! offset all year, with no daylight saving — so local time is UTC plus
//! that offset, and dates follow from the proleptic Gregorian calendar. No
//! time-zone database is needed in the component.

/// One minute in host milliseconds.
pub const MINUTE_MS: i64 = 60_000;
/// One day in host milliseconds.
pub const DAY_MS: i64 = DAY_MINUTES * MINUTE_MS;
/// Minutes in a day.
pub const DAY_MINUTES: i64 = 24 * 60;
/// Minutes in a week.
pub const WEEK_MINUTES: i64 = 7 * DAY_MINUTES;

/// Minutes since 1970-01-01T00:00 local time at `offset_minutes` east of UTC.
pub fn local_minutes(at: i64, offset_minutes: i32) -> i64 {
    (at + i64::from(offset_minutes) * MINUTE_MS).div_euclid(MINUTE_MS)
}

/// Minutes since the Monday 00:00 that starts the week of `local_minutes`.
pub fn minute_of_week(local_minutes: i64) -> i64 {
    // 1970-01-01 was a Thursday, three days after a Monday.
    (local_minutes + 3 * DAY_MINUTES).rem_euclid(WEEK_MINUTES)
}

/// The local date of `at`, as `YYYY-MM-DD`.
pub fn date(at: i64, offset_minutes: i32) -> String {
    let (year, month, day) = civil_from_days(local_day(at, offset_minutes));
    format!("{year:04}-{month:02}-{day:02}")
}

/// The local date and time of `at`, as `YYYY-MM-DD HH:MM`, for people to read.
pub fn date_time(at: i64, offset_minutes: i32) -> String {
    let minute = local_minutes(at, offset_minutes).rem_euclid(DAY_MINUTES);
    format!(
        "{} {:02}:{:02}",
        date(at, offset_minutes),
        minute / 60,
        minute % 60
    )
}

/// The local month of `at`, as `YYYY-MM`.
pub fn month(at: i64, offset_minutes: i32) -> String {
    let (year, month, _) = civil_from_days(local_day(at, offset_minutes));
    format!("{year:04}-{month:02}")
}

/// The first local midnight after `at`.
pub fn next_midnight(at: i64, offset_minutes: i32) -> i64 {
    (local_day(at, offset_minutes) + 1) * DAY_MS - i64::from(offset_minutes) * MINUTE_MS
}

/// Whether `text` is a date as [`date`] writes it.
pub fn is_date(text: &str) -> bool {
    let bytes = text.as_bytes();
    bytes.len() == 10
        && bytes.iter().enumerate().all(|(i, b)| match i {
            4 | 7 => *b == b'-',
            _ => b.is_ascii_digit(),
        })
}

/// The host timestamp of a local date and time written as [`date_time`]
/// writes it (`YYYY-MM-DD HH:MM`, or with a `T` between date and time, as
/// people and ISO 8601 write it); `None` for anything else, or a date that
/// does not exist.
pub fn parse_date_time(text: &str, offset_minutes: i32) -> Option<i64> {
    let (date, time) = text.split_once([' ', 'T'])?;
    if !is_date(date) || time.len() != 5 || time.as_bytes()[2] != b':' {
        return None;
    }
    let number = |digits: &str| digits.parse::<u32>().ok();
    let (year, month, day) = (
        number(&date[..4])?,
        number(&date[5..7])?,
        number(&date[8..])?,
    );
    let (hour, minute) = (number(&time[..2])?, number(&time[3..])?);
    if hour > 23 || minute > 59 {
        return None;
    }
    let days = days_from_civil(i64::from(year), month, day)?;
    let local = days * DAY_MINUTES + i64::from(hour * 60 + minute);
    Some((local - i64::from(offset_minutes)) * MINUTE_MS)
}

/// The day counted from 1970-01-01 of a proleptic Gregorian date, if it
/// exists (the inverse of [`civil_from_days`]).
pub fn days_from_civil(year: i64, month: u32, day: u32) -> Option<i64> {
    if !(1..=12).contains(&month) || day == 0 {
        return None;
    }
    let year = year - i64::from(month <= 2);
    let era = year.div_euclid(400);
    let year_of_era = year.rem_euclid(400);
    let shifted_month = i64::from((month + 9) % 12);
    let day_of_year = (153 * shifted_month + 2) / 5 + i64::from(day) - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    let days = era * 146_097 + day_of_era - 719_468;
    // A day past the month's end lands in the next month.
    let (_, check_month, check_day) = civil_from_days(days);
    (check_month == month && check_day == day).then_some(days)
}

fn local_day(at: i64, offset_minutes: i32) -> i64 {
    local_minutes(at, offset_minutes).div_euclid(DAY_MINUTES)
}

/// The (year, month, day) of a day counted from 1970-01-01, proleptic
/// Gregorian (Howard Hinnant's `civil_from_days`).
pub fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let day_of_era = z.rem_euclid(146_097);
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let shifted_month = (5 * day_of_year + 2) / 153;
    let day = (day_of_year - (153 * shifted_month + 2) / 5 + 1) as u32;
    let month = if shifted_month < 10 {
        shifted_month + 3
    } else {
        shifted_month - 9
    } as u32;
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// 2026-01-01T00:00:00Z.
    const NEW_YEAR: i64 = 1_767_225_600_000;

    #[test]
    fn local_date_times_parse_back_to_the_instant() {
        assert_eq!(parse_date_time("2026-01-01 00:00", 0), Some(NEW_YEAR));
        assert_eq!(parse_date_time("2026-01-01T08:00", 480), Some(NEW_YEAR));
        assert_eq!(
            parse_date_time("2025-12-31 23:59", 0),
            Some(NEW_YEAR - MINUTE_MS)
        );
        let at = NEW_YEAR + 40 * DAY_MS + 19 * 60 * MINUTE_MS;
        assert_eq!(parse_date_time(&date_time(at, 480), 480), Some(at));
        for bad in [
            "2026-02-30 10:00",
            "2026-13-01 10:00",
            "2026-01-01 24:00",
            "2026-01-01",
            "tomorrow 10:00",
            "2026-01-01 9:00",
        ] {
            assert_eq!(parse_date_time(bad, 480), None, "{bad}");
        }
    }

    #[test]
    fn dates_follow_the_offset() {
        assert_eq!(date(NEW_YEAR, 0), "2026-01-01");
        assert_eq!(date(NEW_YEAR - 1, 0), "2025-12-31");
        assert_eq!(date(NEW_YEAR - 1, 480), "2026-01-01", "08:00 in Shanghai");
        assert_eq!(date(0, 0), "1970-01-01");
        assert_eq!(date(951_782_400_000, 0), "2000-02-29");
        assert_eq!(
            date_time(NEW_YEAR + 90 * MINUTE_MS, 480),
            "2026-01-01 09:30"
        );
        assert_eq!(month(NEW_YEAR - 1, 0), "2025-12");
    }

    #[test]
    fn the_next_midnight_is_local() {
        assert_eq!(next_midnight(NEW_YEAR, 0), NEW_YEAR + DAY_MS);
        // 08:00 in Shanghai on new year's day: midnight is 16 hours away.
        assert_eq!(next_midnight(NEW_YEAR, 480), NEW_YEAR + 16 * 60 * MINUTE_MS);
    }

    #[test]
    fn weeks_start_on_monday() {
        // 2026-01-05 was a Monday.
        let monday = NEW_YEAR + 4 * DAY_MS;
        assert_eq!(minute_of_week(local_minutes(monday, 0)), 0);
        assert_eq!(
            minute_of_week(local_minutes(monday - MINUTE_MS, 0)),
            WEEK_MINUTES - 1
        );
    }

    #[test]
    fn only_well_formed_dates_pass() {
        assert!(is_date("2026-01-31"));
        assert!(!is_date("2026-1-31"));
        assert!(!is_date("2026/01/31"));
    }

    /// Every day for four Gregorian cycles (1,600 years) either side of
    /// 1970 is the day after the one before it: the next day of the same
    /// month, or, after a month's last day, the first of the next month.
    /// With 1970-01-01 pinned above, this is the whole calendar.
    #[test]
    fn consecutive_days_are_consecutive_dates() {
        fn days_in(year: i64, month: u32) -> u32 {
            let leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0);
            match month {
                2 if leap => 29,
                2 => 28,
                4 | 6 | 9 | 11 => 30,
                _ => 31,
            }
        }
        const CYCLES: i64 = 4 * 146_097;
        let (mut year, mut month, mut day) = civil_from_days(-CYCLES - 1);
        for days in -CYCLES..CYCLES {
            let expected = if day < days_in(year, month) {
                (year, month, day + 1)
            } else if month < 12 {
                (year, month + 1, 1)
            } else {
                (year + 1, 1, 1)
            };
            let got = civil_from_days(days);
            assert_eq!(got, expected, "day {days}");
            (year, month, day) = got;
        }
    }
}
