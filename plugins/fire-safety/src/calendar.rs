//! Local dates and times of the community, from UTC milliseconds and the
//! configured offset. Pure.

const MINUTE_MS: i64 = 60_000;
pub const DAY_MS: i64 = 24 * 60 * MINUTE_MS;

/// The local date of `at`, as `YYYY-MM-DD`.
pub fn date(at: i64, offset_minutes: i32) -> String {
    let (year, month, day) = civil(local_day(at, offset_minutes));
    format!("{year:04}-{month:02}-{day:02}")
}

/// The local date and time of `at`, as `YYYY-MM-DD HH:MM`.
pub fn date_time(at: i64, offset_minutes: i32) -> String {
    let local = at + i64::from(offset_minutes) * MINUTE_MS;
    let minutes = local.rem_euclid(DAY_MS) / MINUTE_MS;
    format!(
        "{} {:02}:{:02}",
        date(at, offset_minutes),
        minutes / 60,
        minutes % 60
    )
}

/// The first local midnight after `at`.
pub fn next_midnight(at: i64, offset_minutes: i32) -> i64 {
    let offset = i64::from(offset_minutes) * MINUTE_MS;
    (local_day(at, offset_minutes) + 1) * DAY_MS - offset
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

fn local_day(at: i64, offset_minutes: i32) -> i64 {
    (at + i64::from(offset_minutes) * MINUTE_MS).div_euclid(DAY_MS)
}

/// The (year, month, day) of a day counted from 1970-01-01 (Howard Hinnant's `civil_from_days`).
fn civil(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// 2026-01-01T00:00:00Z.
    const NEW_YEAR: i64 = 1_767_225_600_000;

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
    }

    #[test]
    fn the_next_midnight_is_local() {
        assert_eq!(next_midnight(NEW_YEAR, 0), NEW_YEAR + DAY_MS);
        // 08:00 in Shanghai on new year's day: midnight is 16 hours away.
        assert_eq!(next_midnight(NEW_YEAR, 480), NEW_YEAR + 16 * 60 * MINUTE_MS);
    }

    #[test]
    fn only_well_formed_dates_pass() {
        assert!(is_date("2026-01-31"));
        assert!(!is_date("2026-1-31"));
        assert!(!is_date("2026/01/31"));
    }
}
