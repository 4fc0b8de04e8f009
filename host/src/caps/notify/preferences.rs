//! A person's notification preferences: their time zone, their quiet hours
//! and which channels each severity reaches. Critical messages ignore quiet
//! hours; everything else waits for them to end.

use std::collections::BTreeMap;

use jiff::civil::Time;
use jiff::tz::TimeZone;
use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use super::model::INBOX;
use crate::caps::alarm::model::Severity;
use crate::clock::Millis;
use crate::validation::Invalid;

/// Hours in which only critical messages get through, in the person's time zone.
/// `start` after `end` spans midnight (22:00 to 07:00).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct QuietHours {
    /// `HH:MM`, 24-hour.
    pub start: String,
    /// `HH:MM`, 24-hour.
    pub end: String,
}

/// How a person wants to be reached.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Preferences {
    /// An IANA time zone name, such as `Asia/Shanghai`; the community's when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timezone: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quiet_hours: Option<QuietHours>,
    /// Channels besides the inbox, by severity (`critical`, `major`, `minor`,
    /// `warning`, `info`): `sms`, `app`, ... A severity not listed reaches
    /// every channel of the person's contact when it is critical or major,
    /// and the inbox alone otherwise.
    #[serde(default)]
    pub channels: BTreeMap<String, Vec<String>>,
}

/// Parses `HH:MM`.
fn clock_time(field: &str, text: &str) -> Result<Time, Invalid> {
    let parsed = (text.len() == 5 && text.as_bytes()[2] == b':')
        .then(|| Time::new(text[..2].parse().ok()?, text[3..].parse().ok()?, 0, 0).ok())
        .flatten();
    parsed.ok_or_else(|| {
        Invalid::new(
            field,
            format!("must be a time of day as HH:MM, got {text:?}"),
        )
    })
}

/// Checks a channel kind's spelling.
pub fn check_channel(channel: &str) -> Result<(), Invalid> {
    if crate::caps::is_slug(channel, 32) {
        Ok(())
    } else {
        Err(Invalid::new(
            "channel",
            format!("{channel:?} is not a channel: 1-32 characters of a-z, 0-9 or '-'"),
        ))
    }
}

impl Preferences {
    /// Checks every field, naming the first bad one.
    pub fn check(&self) -> Result<(), Invalid> {
        if let Some(tz) = &self.timezone {
            TimeZone::get(tz).map_err(|_| {
                Invalid::new("timezone", format!("{tz:?} is not an IANA time zone"))
            })?;
        }
        if let Some(quiet) = &self.quiet_hours {
            let start = clock_time("quiet_hours.start", &quiet.start)?;
            let end = clock_time("quiet_hours.end", &quiet.end)?;
            if start == end {
                return Err(Invalid::new("quiet_hours", "start and end must differ"));
            }
        }
        for (severity, channels) in &self.channels {
            if Severity::parse(severity).is_none() {
                return Err(Invalid::new(
                    "channels",
                    format!("{severity:?} is not a severity"),
                ));
            }
            for channel in channels {
                check_channel(channel).map_err(|e| e.at(format!("channels.{severity}")))?;
            }
        }
        Ok(())
    }

    /// The channels besides the inbox that a message of `severity` goes to,
    /// among the ones the person can be reached on.
    pub fn channels_for<'a>(&'a self, severity: Severity, reachable: &[&'a str]) -> Vec<&'a str> {
        let mut chosen: Vec<&str> = match self.channels.get(severity.as_str()) {
            Some(listed) => listed
                .iter()
                .map(String::as_str)
                .filter(|c| *c != INBOX && reachable.contains(c))
                .collect(),
            None if matches!(severity, Severity::Critical | Severity::Major) => {
                reachable.iter().copied().filter(|c| *c != INBOX).collect()
            }
            None => Vec::new(),
        };
        chosen.sort_unstable();
        chosen.dedup();
        chosen
    }

    /// When the quiet hours that `now` falls in end, if it falls in them;
    /// `community_tz` is the time zone of a person who named none.
    pub fn quiet_until(&self, now: Millis, community_tz: &str) -> Option<Millis> {
        let quiet = self.quiet_hours.as_ref()?;
        let start = clock_time("start", &quiet.start).ok()?;
        let end = clock_time("end", &quiet.end).ok()?;
        let tz = TimeZone::get(self.timezone.as_deref().unwrap_or(community_tz)).ok()?;
        let local = Timestamp::from_millisecond(now).ok()?.to_zoned(tz.clone());
        let time = local.time();
        let quiet_now = if start < end {
            start <= time && time < end
        } else {
            time >= start || time < end
        };
        if !quiet_now {
            return None;
        }
        let end_day = if time < end {
            local.date()
        } else {
            local.date().tomorrow().ok()?
        };
        let ends = end_day.to_datetime(end).to_zoned(tz).ok()?;
        Some(ends.timestamp().as_millisecond())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shanghai_quiet() -> Preferences {
        Preferences {
            timezone: Some("Asia/Shanghai".into()),
            quiet_hours: Some(QuietHours {
                start: "22:00".into(),
                end: "07:00".into(),
            }),
            channels: BTreeMap::new(),
        }
    }

    /// Milliseconds of a local time in Shanghai (UTC+8, no daylight saving).
    fn shanghai(date: &str, time: &str) -> Millis {
        let text = format!("{date}T{time}:00+08:00[Asia/Shanghai]");
        text.parse::<jiff::Zoned>()
            .unwrap()
            .timestamp()
            .as_millisecond()
    }

    #[test]
    fn quiet_hours_span_midnight_in_the_persons_time_zone() {
        let prefs = shanghai_quiet();
        let seven = shanghai("2026-11-24", "07:00");
        assert_eq!(
            prefs.quiet_until(shanghai("2026-11-24", "03:00"), "UTC"),
            Some(seven)
        );
        assert_eq!(
            prefs.quiet_until(shanghai("2026-11-23", "23:30"), "UTC"),
            Some(seven)
        );
        assert_eq!(
            prefs.quiet_until(shanghai("2026-11-24", "07:00"), "UTC"),
            None
        );
        assert_eq!(
            prefs.quiet_until(shanghai("2026-11-24", "12:00"), "UTC"),
            None
        );
        assert_eq!(Preferences::default().quiet_until(seven, "UTC"), None);
        let community_zone = Preferences {
            timezone: None,
            ..shanghai_quiet()
        };
        let three_in_shanghai = shanghai("2026-11-24", "03:00");
        assert_eq!(
            community_zone.quiet_until(three_in_shanghai, "Asia/Shanghai"),
            Some(seven)
        );
        assert_eq!(
            community_zone.quiet_until(three_in_shanghai, "Europe/Berlin"),
            None
        );
    }

    #[test]
    fn daytime_quiet_hours_do_not_wrap() {
        let prefs = Preferences {
            quiet_hours: Some(QuietHours {
                start: "13:00".into(),
                end: "14:30".into(),
            }),
            ..shanghai_quiet()
        };
        assert_eq!(
            prefs.quiet_until(shanghai("2026-11-24", "13:10"), "UTC"),
            Some(shanghai("2026-11-24", "14:30"))
        );
        assert_eq!(
            prefs.quiet_until(shanghai("2026-11-24", "03:00"), "UTC"),
            None
        );
    }

    #[test]
    fn bad_preferences_name_their_field() {
        let mut prefs = shanghai_quiet();
        assert_eq!(prefs.check(), Ok(()));
        prefs.timezone = Some("Mars/Olympus".into());
        assert_eq!(prefs.check().unwrap_err().field, "timezone");
        let mut prefs = shanghai_quiet();
        prefs.quiet_hours.as_mut().unwrap().end = "7:00".into();
        assert_eq!(prefs.check().unwrap_err().field, "quiet_hours.end");
        let mut prefs = shanghai_quiet();
        prefs.channels.insert("urgent".into(), vec!["sms".into()]);
        assert!(prefs.check().unwrap_err().reason.contains("not a severity"));
    }

    #[test]
    fn unlisted_severities_reach_every_channel_only_when_serious() {
        let reachable = ["sms", "app"];
        let prefs = Preferences::default();
        assert_eq!(
            prefs.channels_for(Severity::Critical, &reachable),
            ["app", "sms"]
        );
        assert!(prefs.channels_for(Severity::Warning, &reachable).is_empty());
        let mut prefs = Preferences::default();
        prefs
            .channels
            .insert("warning".into(), vec!["app".into(), "wechat".into()]);
        assert_eq!(prefs.channels_for(Severity::Warning, &reachable), ["app"]);
    }
}
