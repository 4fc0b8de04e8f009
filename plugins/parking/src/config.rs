//! The installation's config. Every field has a default, so `{}` is a
//! working config; the manifest's `[config-schema]` checks types and ranges
//! field by field, and [`Config::check`] repeats what the schema cannot say
//! (one duration against another) so a config is refused naming the field.
//!
//! Durations are milliseconds, like host time; amounts are whole community
//! points, never floats.

use linli_sdk::Error;
use serde::Deserialize;

const SECOND_MS: i64 = 1_000;
const MINUTE_MS: i64 = 60 * SECOND_MS;
const HOUR_MS: i64 = 60 * MINUTE_MS;
const DAY_MS: i64 = 24 * HOUR_MS;

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields, default)]
pub struct Config {
    /// The community's offset from UTC, in which sharing windows are read.
    pub utc_offset_minutes: i32,
    pub reservations: ReservationConfig,
    pub pricing: PricingConfig,
    pub overstay: OverstayConfig,
    pub unauthorised: UnauthorisedConfig,
    pub fire_lane: FireLaneConfig,
    pub occupancy: OccupancyConfig,
    pub access: AccessConfig,
    pub ledger: LedgerConfig,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            // China Standard Time.
            utc_offset_minutes: 480,
            reservations: ReservationConfig::default(),
            pricing: PricingConfig::default(),
            overstay: OverstayConfig::default(),
            unauthorised: UnauthorisedConfig::default(),
            fire_lane: FireLaneConfig::default(),
            occupancy: OccupancyConfig::default(),
            access: AccessConfig::default(),
            ledger: LedgerConfig::default(),
        }
    }
}

impl Config {
    /// Refuses a config whose numbers contradict each other, naming the field.
    pub fn check(&self) -> Result<(), Error> {
        let invalid =
            |field: &str, why: &str| Err(Error::Invalid(format!("config.{field}: {why}")));
        let r = &self.reservations;
        if r.min_length_ms > r.max_length_ms {
            return invalid(
                "reservations.min-length-ms",
                "must not exceed reservations.max-length-ms",
            );
        }
        if r.check_in_grace_ms >= r.min_length_ms {
            return invalid(
                "reservations.check-in-grace-ms",
                "must be shorter than reservations.min-length-ms, or a reservation could end before its no-show release",
            );
        }
        let o = &self.overstay;
        if o.alarm_after_ms <= o.grace_ms {
            return invalid(
                "overstay.alarm-after-ms",
                "must be longer than overstay.grace-ms: the alarm follows the warning",
            );
        }
        let positive = [
            ("reservations.min-length-ms", r.min_length_ms),
            ("pricing.billing-step-ms", self.pricing.billing_step_ms),
            ("overstay.fee-step-ms", o.fee_step_ms),
            (
                "occupancy.report-interval-ms",
                self.occupancy.report_interval_ms,
            ),
        ];
        for (field, value) in positive {
            if value <= 0 {
                return invalid(field, "must be more than 0");
            }
        }
        if !(-720..=840).contains(&self.utc_offset_minutes) {
            return invalid("utc-offset-minutes", "between -720 and 840");
        }
        Ok(())
    }
}

/// How reservations are made, checked in and released.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields, default)]
pub struct ReservationConfig {
    /// How long after its start a reservation waits for its vehicle before
    /// it is released as a no-show.
    pub check_in_grace_ms: i64,
    /// How long before its start a vehicle arriving checks a reservation in.
    pub early_check_in_ms: i64,
    pub min_length_ms: i64,
    pub max_length_ms: i64,
    /// How far ahead a reservation may start.
    pub max_advance_ms: i64,
    /// How long finished reservations stay in a space's book before they are
    /// folded into the monthly report; keeps a book small.
    pub keep_finished_days: u32,
}

impl Default for ReservationConfig {
    fn default() -> Self {
        Self {
            check_in_grace_ms: 15 * MINUTE_MS,
            early_check_in_ms: 15 * MINUTE_MS,
            min_length_ms: 30 * MINUTE_MS,
            // A whole weekend with its Friday and Monday nights.
            max_length_ms: 3 * DAY_MS,
            max_advance_ms: 30 * DAY_MS,
            keep_finished_days: 7,
        }
    }
}

impl ReservationConfig {
    pub fn keep_finished_ms(&self) -> i64 {
        i64::from(self.keep_finished_days) * DAY_MS
    }
}

/// How far accounts may go below zero (see [`crate::money`]).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields, default)]
pub struct LedgerConfig {
    /// The pool's floor: how many points the property office may issue.
    pub pool_floor_points: i64,
    /// A parker's floor: 0 allows no debt; -50 lets a parker owe 50.
    pub parker_floor_points: i64,
}

impl Default for LedgerConfig {
    fn default() -> Self {
        Self {
            pool_floor_points: -10_000_000,
            parker_floor_points: 0,
        }
    }
}

/// What time used costs.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields, default)]
pub struct PricingConfig {
    /// Time used is rounded up to a whole number of these.
    pub billing_step_ms: i64,
}

impl Default for PricingConfig {
    fn default() -> Self {
        Self {
            billing_step_ms: 15 * MINUTE_MS,
        }
    }
}

/// What happens when a vehicle stays past its reservation.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields, default)]
pub struct OverstayConfig {
    /// How long before the end the parker is told.
    pub notice_before_ms: i64,
    /// How long after the end before the parker is warned and the fee runs.
    pub grace_ms: i64,
    /// Points charged per started step after the end and grace.
    pub fee_points_per_step: u32,
    pub fee_step_ms: i64,
    /// How long after the end `parking-overstay` is raised to property staff.
    pub alarm_after_ms: i64,
    pub ban: BanConfig,
}

impl Default for OverstayConfig {
    fn default() -> Self {
        Self {
            notice_before_ms: 10 * MINUTE_MS,
            grace_ms: 15 * MINUTE_MS,
            fee_points_per_step: 5,
            fee_step_ms: 15 * MINUTE_MS,
            alarm_after_ms: HOUR_MS,
            ban: BanConfig::default(),
        }
    }
}

/// When a repeat overstayer loses the right to reserve others' spaces.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields, default)]
pub struct BanConfig {
    /// This many overstays within the window bring a ban; 0 never bans.
    pub overstays: u32,
    pub window_days: u32,
    pub ban_days: u32,
}

impl Default for BanConfig {
    fn default() -> Self {
        Self {
            overstays: 3,
            window_days: 30,
            ban_days: 14,
        }
    }
}

impl BanConfig {
    pub fn window_ms(&self) -> i64 {
        i64::from(self.window_days) * DAY_MS
    }

    pub fn ban_ms(&self) -> i64 {
        i64::from(self.ban_days) * DAY_MS
    }
}

/// When an unreserved vehicle on a shared or visitor space is reported.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields, default)]
pub struct UnauthorisedConfig {
    /// How long the vehicle must stay before `parking-unauthorised` is raised;
    /// a driver turning round or a sensor glitch is not a violation.
    pub grace_ms: i64,
}

impl Default for UnauthorisedConfig {
    fn default() -> Self {
        Self {
            grace_ms: 10 * MINUTE_MS,
        }
    }
}

/// When a vehicle on a fire lane is reported.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields, default)]
pub struct FireLaneConfig {
    pub blocked_after_ms: i64,
}

impl Default for FireLaneConfig {
    fn default() -> Self {
        Self {
            blocked_after_ms: 60 * SECOND_MS,
        }
    }
}

/// How sensor readings become occupancy.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields, default)]
pub struct OccupancyConfig {
    /// A sensor silent for longer than this counts its space unknown. It
    /// should match the occupancy sensors' heartbeat (the host's reporting
    /// interval for their device kind, which a plugin cannot read).
    pub report_interval_ms: i64,
}

impl Default for OccupancyConfig {
    fn default() -> Self {
        // Geomagnetic sensors report on every change and send a heartbeat
        // about every half hour; two missed heartbeats mean it is unknown.
        Self {
            report_interval_ms: HOUR_MS,
        }
    }
}

/// Who may reserve accessible and EV spaces.
#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields, default)]
pub struct AccessConfig {
    /// Let anyone who may reserve shared spaces reserve accessible ones too;
    /// by default only people with an accessibility permit may.
    pub accessible_open_to_all: bool,
    /// Let anyone reserve EV spaces; by default only people with an
    /// electric vehicle may, so the chargers stay free for them.
    pub ev_open_to_all: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_empty_config_is_the_defaults_and_passes() {
        let config: Config = serde_json::from_str("{}").unwrap();
        assert_eq!(config, Config::default());
        config.check().unwrap();
        assert_eq!(config.reservations.check_in_grace_ms, 15 * MINUTE_MS);
        assert_eq!(config.fire_lane.blocked_after_ms, 60_000);
    }

    #[test]
    fn fields_are_kebab_case_and_unknown_ones_are_refused() {
        let config: Config = serde_json::from_str(
            r#"{"overstay": {"ban": {"ban-days": 30}}, "fire-lane": {"blocked-after-ms": 30000}}"#,
        )
        .unwrap();
        assert_eq!(config.overstay.ban.ban_days, 30);
        assert_eq!(config.overstay.ban.overstays, 3);
        assert_eq!(config.fire_lane.blocked_after_ms, 30_000);
        assert!(serde_json::from_str::<Config>(r#"{"fire_lane": {}}"#).is_err());
    }

    #[test]
    fn contradictions_name_the_field() {
        let mut config = Config::default();
        config.overstay.alarm_after_ms = config.overstay.grace_ms;
        let Err(Error::Invalid(why)) = config.check() else {
            panic!("accepted");
        };
        assert!(why.starts_with("config.overstay.alarm-after-ms"), "{why}");
    }

    /// The manifest's schema and this struct name the same fields.
    #[test]
    fn the_manifest_schema_names_every_field() {
        let manifest = include_str!("../linli.toml");
        for field in [
            "utc-offset-minutes",
            "check-in-grace-ms",
            "early-check-in-ms",
            "min-length-ms",
            "max-length-ms",
            "max-advance-ms",
            "keep-finished-days",
            "billing-step-ms",
            "notice-before-ms",
            "fee-points-per-step",
            "fee-step-ms",
            "alarm-after-ms",
            "overstays",
            "window-days",
            "ban-days",
            "blocked-after-ms",
            "report-interval-ms",
            "accessible-open-to-all",
            "ev-open-to-all",
        ] {
            assert!(manifest.contains(field), "linli.toml lacks {field}");
        }
    }
}
