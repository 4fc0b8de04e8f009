//! The installation's config. The host has already validated it against the
//! manifest's schema; the defaults here repeat the schema's so that an empty
//! config means the same on both sides.

use serde::Deserialize;

use linli_sdk::calendar::MINUTE_MS;
use linli_sdk::Error;

use crate::heart::Thresholds;
use crate::matching::Widening;

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct Config {
    #[serde(default = "defaults::offer_group_size")]
    pub offer_group_size: u32,
    #[serde(default = "defaults::offer_timeout_minutes")]
    pub offer_timeout_minutes: u32,
    #[serde(default = "defaults::offer_radius_m")]
    pub offer_radius_m: f64,
    #[serde(default = "defaults::offer_widen_factor")]
    pub offer_widen_factor: f64,
    #[serde(default = "defaults::offer_rounds")]
    pub offer_rounds: u32,
    #[serde(default = "defaults::starting_allowance_minutes")]
    pub starting_allowance_minutes: i64,
    #[serde(default = "defaults::member_floor_minutes")]
    pub member_floor_minutes: i64,
    #[serde(default = "defaults::pool_floor_minutes")]
    pub pool_floor_minutes: i64,
    #[serde(default = "defaults::heart_rate_high_bpm")]
    pub heart_rate_high_bpm: f64,
    #[serde(default = "defaults::heart_rate_low_bpm")]
    pub heart_rate_low_bpm: f64,
    #[serde(default = "defaults::heart_rate_sustain_readings")]
    pub heart_rate_sustain_readings: u32,
    #[serde(default = "defaults::heart_rate_sustain_minutes")]
    pub heart_rate_sustain_minutes: u32,
    #[serde(default = "defaults::escalate_after_minutes")]
    pub escalate_after_minutes: u32,
    #[serde(default = "defaults::welfare_check_hours")]
    pub welfare_check_hours: u32,
    #[serde(default = "defaults::utc_offset_minutes")]
    pub utc_offset_minutes: i32,
}

mod defaults {
    pub fn offer_group_size() -> u32 {
        3
    }
    pub fn offer_timeout_minutes() -> u32 {
        10
    }
    pub fn offer_radius_m() -> f64 {
        300.0
    }
    pub fn offer_widen_factor() -> f64 {
        2.0
    }
    pub fn offer_rounds() -> u32 {
        3
    }
    pub fn starting_allowance_minutes() -> i64 {
        120
    }
    pub fn member_floor_minutes() -> i64 {
        -600
    }
    pub fn pool_floor_minutes() -> i64 {
        -10_000_000
    }
    pub fn heart_rate_high_bpm() -> f64 {
        120.0
    }
    pub fn heart_rate_low_bpm() -> f64 {
        45.0
    }
    pub fn heart_rate_sustain_readings() -> u32 {
        3
    }
    pub fn heart_rate_sustain_minutes() -> u32 {
        2
    }
    pub fn escalate_after_minutes() -> u32 {
        5
    }
    pub fn welfare_check_hours() -> u32 {
        24
    }
    pub fn utc_offset_minutes() -> i32 {
        480
    }
}

impl Config {
    /// What the schema cannot say: the heart-rate band must not be empty.
    pub fn check(&self) -> Result<(), Error> {
        if self.heart_rate_low_bpm >= self.heart_rate_high_bpm {
            return Err(Error::Invalid(format!(
                "config at `heart-rate-low-bpm`: {} must be below heart-rate-high-bpm ({})",
                self.heart_rate_low_bpm, self.heart_rate_high_bpm
            )));
        }
        Ok(())
    }

    pub fn offer_timeout_ms(&self) -> i64 {
        i64::from(self.offer_timeout_minutes) * MINUTE_MS
    }

    pub fn escalate_after_ms(&self) -> u64 {
        u64::from(self.escalate_after_minutes) * MINUTE_MS as u64
    }

    pub fn widening(&self) -> Widening {
        Widening {
            group_size: self.offer_group_size,
            radius_m: self.offer_radius_m,
            factor: self.offer_widen_factor,
            rounds: self.offer_rounds,
        }
    }

    /// The community's heart-rate rule, before a person's own limits.
    pub fn heart_thresholds(&self) -> Thresholds {
        Thresholds {
            low_bpm: self.heart_rate_low_bpm,
            high_bpm: self.heart_rate_high_bpm,
            readings: self.heart_rate_sustain_readings,
            span_ms: i64::from(self.heart_rate_sustain_minutes) * MINUTE_MS,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_empty_config_takes_the_documented_defaults() {
        let config: Config = serde_json::from_str("{}").unwrap();
        assert_eq!(config.offer_group_size, 3);
        assert_eq!(config.offer_timeout_ms(), 600_000);
        assert_eq!(config.member_floor_minutes, -600);
        assert_eq!(config.welfare_check_hours, 24);
        config.check().unwrap();
    }

    #[test]
    fn an_empty_heart_rate_band_is_refused() {
        let config: Config =
            serde_json::from_str(r#"{"heart-rate-low-bpm": 130, "heart-rate-high-bpm": 120}"#)
                .unwrap();
        assert!(config.check().is_err());
    }
}
