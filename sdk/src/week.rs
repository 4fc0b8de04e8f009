//! Days of the week and times of day as scenes write them in commands,
//! configs and the store: `"mon"` … `"sun"` (weeks start on Monday, as in
//! China) and `"HH:MM"` from `00:00` to `24:00`. Both elder-care's
//! volunteer availability and parking's sharing windows are weekly
//! schedules in the community's local time.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::calendar::{self, DAY_MINUTES};

/// A day of the week; weeks start on Monday, as in China.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Weekday {
    Mon,
    Tue,
    Wed,
    Thu,
    Fri,
    Sat,
    Sun,
}

impl Weekday {
    /// Monday to Sunday.
    pub const ALL: [Weekday; 7] = [
        Weekday::Mon,
        Weekday::Tue,
        Weekday::Wed,
        Weekday::Thu,
        Weekday::Fri,
        Weekday::Sat,
        Weekday::Sun,
    ];

    /// Days since Monday: 0 for Monday, 6 for Sunday.
    pub fn index(self) -> i64 {
        self as i64
    }

    /// The weekday of local day number `day` (days since 1970-01-01, a Thursday).
    pub fn of_local_day(day: i64) -> Weekday {
        let index = calendar::minute_of_week(day * DAY_MINUTES) / DAY_MINUTES;
        Weekday::ALL[index as usize]
    }
}

/// A local time of day in minutes after midnight, `00:00` to `24:00`,
/// written `HH:MM` in commands and in the store.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct LocalTime(u16);

impl LocalTime {
    /// Midnight at the start of a day.
    pub const MIDNIGHT: LocalTime = LocalTime(0);
    /// Midnight at the end of a day, for windows that run to it.
    pub const END_OF_DAY: LocalTime = LocalTime(DAY_MINUTES as u16);

    /// `hour:minute`, or `None` past `24:00`.
    pub fn new(hour: u16, minute: u16) -> Option<Self> {
        let minutes = hour.checked_mul(60)?.checked_add(minute)?;
        (minute < 60 && i64::from(minutes) <= DAY_MINUTES).then_some(Self(minutes))
    }

    /// Minutes after midnight.
    pub fn minutes(self) -> i64 {
        i64::from(self.0)
    }
}

impl fmt::Display for LocalTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:02}:{:02}", self.0 / 60, self.0 % 60)
    }
}

impl std::str::FromStr for LocalTime {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        let bad = || format!("{text:?} is not a time of day: write HH:MM, 00:00 to 24:00");
        let (hour, minute) = text.split_once(':').ok_or_else(bad)?;
        if hour.len() != 2 || minute.len() != 2 {
            return Err(bad());
        }
        let hour = hour.parse().map_err(|_| bad())?;
        let minute = minute.parse().map_err(|_| bad())?;
        LocalTime::new(hour, minute).ok_or_else(bad)
    }
}

impl Serialize for LocalTime {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for LocalTime {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_read_as_written_and_only_up_to_midnight() {
        let time: LocalTime = "19:05".parse().unwrap();
        assert_eq!(
            (time.minutes(), time.to_string()),
            (19 * 60 + 5, "19:05".to_string())
        );
        assert_eq!("24:00".parse::<LocalTime>(), Ok(LocalTime::END_OF_DAY));
        for bad in ["24:01", "7:00", "07:60", "0700"] {
            assert!(bad.parse::<LocalTime>().is_err(), "{bad}");
        }
    }

    #[test]
    fn the_first_day_of_1970_was_a_thursday() {
        assert_eq!(Weekday::of_local_day(0), Weekday::Thu);
        assert_eq!(Weekday::of_local_day(4), Weekday::Mon);
        assert_eq!(Weekday::of_local_day(-1), Weekday::Wed);
    }
}
