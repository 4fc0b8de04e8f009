//! Local calendar arithmetic over host timestamps (UTC milliseconds): the
//! community's offset is fixed by config (China has no daylight saving), so a
//! local time is the UTC time plus that offset.

pub const MINUTE_MS: i64 = 60_000;
pub const DAY_MINUTES: i64 = 24 * 60;
pub const WEEK_MINUTES: i64 = 7 * DAY_MINUTES;

/// Minutes since 1970-01-01T00:00 local time.
pub fn local_minutes(at: i64, offset_ms: i64) -> i64 {
    (at + offset_ms).div_euclid(MINUTE_MS)
}

/// Minutes since the Monday 00:00 starting the week of `local_minutes`.
pub fn minute_of_week(local_minutes: i64) -> i64 {
    // 1970-01-01 was a Thursday, three days after a Monday.
    (local_minutes + 3 * DAY_MINUTES).rem_euclid(WEEK_MINUTES)
}

/// The local month of `at` as `YYYY-MM`.
pub fn month(at: i64, offset_ms: i64) -> String {
    let (year, month, _) = civil_date(local_minutes(at, offset_ms).div_euclid(DAY_MINUTES));
    format!("{year:04}-{month:02}")
}

/// `YYYY-MM-DD HH:MM` in local time, for people to read.
pub fn local_text(at: i64, offset_ms: i64) -> String {
    let minutes = local_minutes(at, offset_ms);
    let (year, month, day) = civil_date(minutes.div_euclid(DAY_MINUTES));
    let time = minutes.rem_euclid(DAY_MINUTES);
    format!(
        "{year:04}-{month:02}-{day:02} {:02}:{:02}",
        time / 60,
        time % 60
    )
}

/// (year, month, day) of a day count since 1970-01-01, proleptic Gregorian
/// (Howard Hinnant's `civil_from_days`).
fn civil_date(days: i64) -> (i64, u32, u32) {
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

    /// 2026-01-01T00:00:00Z, a Thursday.
    const NEW_YEAR: i64 = 1_767_225_600_000;
    const SHANGHAI: i64 = 8 * 60 * MINUTE_MS;

    #[test]
    fn months_follow_the_local_calendar() {
        assert_eq!(month(NEW_YEAR, 0), "2026-01");
        assert_eq!(month(NEW_YEAR - 1, 0), "2025-12");
        // 23:00 UTC on 31 December is already January in Shanghai.
        assert_eq!(month(NEW_YEAR - 60 * MINUTE_MS, SHANGHAI), "2026-01");
        assert_eq!(month(951_782_400_000, 0), "2000-02", "29 February 2000");
    }

    #[test]
    fn weeks_start_on_monday() {
        let thursday_8am = local_minutes(NEW_YEAR, SHANGHAI);
        assert_eq!(minute_of_week(thursday_8am), 3 * DAY_MINUTES + 8 * 60);
        assert_eq!(
            local_text(NEW_YEAR + 90 * MINUTE_MS, SHANGHAI),
            "2026-01-01 09:30"
        );
    }
}
