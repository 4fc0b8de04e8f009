//! The installation's config. Every field has a default, so `{}` is a
//! working config; the manifest's `[config-schema]` checks types and
//! ranges, and [`Config::check`] what the schema cannot say.
//!
//! Durations are milliseconds, like host time.

use linli_sdk::Error;
use serde::Deserialize;

const MINUTE_MS: i64 = 60_000;
const HOUR_MS: i64 = 60 * MINUTE_MS;
const DAY_MS: i64 = 24 * HOUR_MS;

/// Most reminders one motion sends to owners who have not voted.
pub const MAX_REMINDERS: usize = 2;

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields, default)]
pub struct Config {
    /// How long before a motion closes its owners who have not voted are
    /// reminded: at most two times, each a duration before the close.
    pub reminders_before_close_ms: Vec<i64>,
    /// The least time between scheduling a motion (`open`) and its opening,
    /// in which every owner is told of it. The Property Management
    /// Regulation (物业管理条例, art. 14) asks for 15 days before an
    /// owners' assembly meets; a written vote is such a meeting.
    pub min_notice_ms: i64,
    /// The shortest and longest a motion may stay open.
    pub min_voting_ms: i64,
    pub max_voting_ms: i64,
    /// The person of the map who casts the ballots of the developer's
    /// unsold units (建设单位); without one those units count in the totals
    /// only. Frozen into each motion when it opens.
    pub developer_voter: Option<String>,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            reminders_before_close_ms: vec![3 * DAY_MS, DAY_MS],
            min_notice_ms: 15 * DAY_MS,
            min_voting_ms: DAY_MS,
            max_voting_ms: 90 * DAY_MS,
            developer_voter: None,
        }
    }
}

impl Config {
    /// Refuses a config whose numbers contradict each other, naming the field.
    pub fn check(&self) -> Result<(), Error> {
        let invalid =
            |field: &str, why: &str| Err(Error::Invalid(format!("config.{field}: {why}")));
        let reminders = &self.reminders_before_close_ms;
        if reminders.len() > MAX_REMINDERS {
            return invalid("reminders-before-close-ms", "at most two reminders");
        }
        if reminders.iter().any(|r| *r <= 0) {
            return invalid("reminders-before-close-ms", "each must be more than 0");
        }
        if reminders.len() == 2 && reminders[0] == reminders[1] {
            return invalid(
                "reminders-before-close-ms",
                "two reminders at the same time",
            );
        }
        if self.min_notice_ms < 0 {
            return invalid("min-notice-ms", "must be 0 or more");
        }
        if self.min_voting_ms < MINUTE_MS {
            return invalid("min-voting-ms", "must be at least a minute");
        }
        if self.max_voting_ms < self.min_voting_ms {
            return invalid("max-voting-ms", "must not be shorter than min-voting-ms");
        }
        if self.developer_voter.as_deref().is_some_and(str::is_empty) {
            return invalid("developer-voter", "must name a person of the map");
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_empty_config_is_the_defaults_and_passes() {
        let config: Config = serde_json::from_str("{}").unwrap();
        assert_eq!(config, Config::default());
        config.check().unwrap();
        assert_eq!(config.min_notice_ms, 15 * DAY_MS);
        assert_eq!(config.reminders_before_close_ms.len(), 2);
    }

    #[test]
    fn fields_are_kebab_case_and_unknown_ones_are_refused() {
        let config: Config =
            serde_json::from_str(r#"{"developer-voter": "dev-rep", "min-notice-ms": 0}"#).unwrap();
        assert_eq!(config.developer_voter.as_deref(), Some("dev-rep"));
        assert!(serde_json::from_str::<Config>(r#"{"min_notice_ms": 0}"#).is_err());
    }

    #[test]
    fn contradictions_name_the_field() {
        let config = Config {
            reminders_before_close_ms: vec![1, 2, 3],
            ..Config::default()
        };
        let Err(Error::Invalid(why)) = config.check() else {
            panic!("three reminders accepted");
        };
        assert!(why.starts_with("config.reminders-before-close-ms"), "{why}");
        let config = Config {
            max_voting_ms: DAY_MS / 2,
            ..Config::default()
        };
        assert!(config.check().is_err());
    }

    /// The manifest's schema and this struct name the same fields.
    #[test]
    fn the_manifest_schema_names_every_field() {
        let manifest = include_str!("../linli.toml");
        for field in [
            "reminders-before-close-ms",
            "min-notice-ms",
            "min-voting-ms",
            "max-voting-ms",
            "developer-voter",
        ] {
            assert!(manifest.contains(field), "linli.toml lacks {field}");
        }
    }
}
