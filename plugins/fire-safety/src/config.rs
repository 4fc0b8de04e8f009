//! The installation's config. Every field has a default, so `{}` is a working
//! config; the manifest's schema checks types and ranges field by field, and
//! [`Config::check`] repeats the ranges so that a config is refused with the
//! field named whichever way it arrives.

use linli_sdk::map::CommunityRole;
use linli_sdk::{Error, Severity};
use serde::Deserialize;

const SECOND_MS: u64 = 1_000;
const MINUTE_MS: u64 = 60 * SECOND_MS;
const HOUR_MS: u64 = 60 * MINUTE_MS;
const DAY_MS: u64 = 24 * HOUR_MS;

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields, default)]
pub struct Config {
    pub smoke: SmokeConfig,
    pub temperature: TemperatureConfig,
    pub gas: GasConfig,
    /// How close in time a second signal must be to confirm a fire.
    pub confirmation_window_ms: u64,
    pub water: WaterConfig,
    pub work_orders: WorkOrderConfig,
    /// How long staff have to acknowledge a fire message before the supervisor is told too.
    pub staff_ack_ms: u64,
    pub false_alarms: FalseAlarmConfig,
    /// The community's offset from UTC, which decides where a day of the health report starts.
    pub utc_offset_minutes: i32,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            smoke: SmokeConfig::default(),
            temperature: TemperatureConfig::default(),
            gas: GasConfig::default(),
            confirmation_window_ms: MINUTE_MS,
            water: WaterConfig::default(),
            work_orders: WorkOrderConfig::default(),
            staff_ack_ms: 3 * MINUTE_MS,
            false_alarms: FalseAlarmConfig::default(),
            // China Standard Time.
            utc_offset_minutes: 480,
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields, default)]
pub struct SmokeConfig {
    /// Obscuration at or above which a smoke detector alarms.
    pub obscuration_pct_per_m: f64,
}

impl Default for SmokeConfig {
    fn default() -> Self {
        Self {
            obscuration_pct_per_m: 3.0,
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields, default)]
pub struct TemperatureConfig {
    /// Fixed temperature at or above which a heat detector alarms.
    pub max_c: f64,
    /// Rate of rise at or above which a heat detector alarms.
    pub rise_c_per_min: f64,
    /// How far back the rate of rise is measured.
    pub rise_window_ms: u64,
}

impl Default for TemperatureConfig {
    fn default() -> Self {
        // A class A1R heat detector: 57 °C fixed, about 8 °C per minute rate of rise.
        Self {
            max_c: 57.0,
            rise_c_per_min: 8.3,
            rise_window_ms: MINUTE_MS,
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields, default)]
pub struct GasConfig {
    /// Concentration at or above which a combustible-gas detector alarms.
    pub lel_pct: f64,
}

impl Default for GasConfig {
    fn default() -> Self {
        Self { lel_pct: 10.0 }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields, default)]
pub struct WaterConfig {
    /// Pressure below which a hydrant cannot fight a fire.
    pub hydrant_min_kpa: f64,
    /// Level below which a water tank holds too little for a fire.
    pub tank_min_level_pct: f64,
    /// Minimums for single hydrants (kPa) or tanks (%), by place id.
    pub minimums: std::collections::BTreeMap<String, f64>,
}

impl Default for WaterConfig {
    fn default() -> Self {
        Self {
            hydrant_min_kpa: 100.0,
            tank_min_level_pct: 50.0,
            minimums: Default::default(),
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields, default)]
pub struct WorkOrderConfig {
    /// The staff role work orders are assigned to, for the place of the fault.
    pub role: StaffRole,
    /// How long a work order of each severity may take to be resolved.
    pub deadlines_ms: Deadlines,
    /// Who is told when a work order is overdue, and who reviews and closes work orders.
    pub supervisor: Supervisor,
}

impl Default for WorkOrderConfig {
    fn default() -> Self {
        Self {
            role: StaffRole::PropertyStaff,
            deadlines_ms: Deadlines::default(),
            supervisor: Supervisor::Role(StaffRole::PropertyStaff),
        }
    }
}

#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Deadlines {
    pub critical: u64,
    pub major: u64,
    pub minor: u64,
    pub warning: u64,
    pub info: u64,
}

impl Default for Deadlines {
    fn default() -> Self {
        Self {
            critical: 10 * MINUTE_MS,
            major: 2 * HOUR_MS,
            minor: DAY_MS,
            warning: 3 * DAY_MS,
            info: 7 * DAY_MS,
        }
    }
}

impl Deadlines {
    pub fn for_severity(&self, severity: Severity) -> u64 {
        match severity {
            Severity::Critical => self.critical,
            Severity::Major => self.major,
            Severity::Minor => self.minor,
            Severity::Warning => self.warning,
            Severity::Info => self.info,
        }
    }
}

/// The supervisor: the community-wide holders of a role (those whose role
/// has no scope), or one person.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub enum Supervisor {
    Role(StaffRole),
    Person(String),
}

/// The community roles of the map, by their names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum StaffRole {
    Volunteer,
    GridWorker,
    PropertyStaff,
    CommunityDoctor,
    Security,
}

impl StaffRole {
    pub fn community_role(self) -> CommunityRole {
        match self {
            StaffRole::Volunteer => CommunityRole::Volunteer,
            StaffRole::GridWorker => CommunityRole::GridWorker,
            StaffRole::PropertyStaff => CommunityRole::PropertyStaff,
            StaffRole::CommunityDoctor => CommunityRole::CommunityDoctor,
            StaffRole::Security => CommunityRole::Security,
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields, default)]
pub struct FalseAlarmConfig {
    /// How many false alarms of one detector within the window flag it for maintenance.
    pub threshold: u32,
    pub window_days: u32,
}

impl Default for FalseAlarmConfig {
    fn default() -> Self {
        Self {
            threshold: 3,
            window_days: 30,
        }
    }
}

impl FalseAlarmConfig {
    pub fn window_ms(&self) -> i64 {
        i64::from(self.window_days) * DAY_MS as i64
    }
}

impl Config {
    /// Refuses values outside their ranges, naming the field.
    pub fn check(&self) -> Result<(), Error> {
        positive(
            "smoke.obscuration-pct-per-m",
            self.smoke.obscuration_pct_per_m,
            100.0,
        )?;
        positive("temperature.max-c", self.temperature.max_c, 1200.0)?;
        positive(
            "temperature.rise-c-per-min",
            self.temperature.rise_c_per_min,
            1200.0,
        )?;
        within(
            "temperature.rise-window-ms",
            self.temperature.rise_window_ms,
            10 * SECOND_MS,
            HOUR_MS,
        )?;
        positive("gas.lel-pct", self.gas.lel_pct, 100.0)?;
        within(
            "confirmation-window-ms",
            self.confirmation_window_ms,
            SECOND_MS,
            HOUR_MS,
        )?;
        positive(
            "water.hydrant-min-kpa",
            self.water.hydrant_min_kpa,
            10_000.0,
        )?;
        positive(
            "water.tank-min-level-pct",
            self.water.tank_min_level_pct,
            100.0,
        )?;
        for (place, minimum) in &self.water.minimums {
            positive(&format!("water.minimums.{place}"), *minimum, 10_000.0)?;
        }
        let deadlines = &self.work_orders.deadlines_ms;
        for (name, value) in [
            ("critical", deadlines.critical),
            ("major", deadlines.major),
            ("minor", deadlines.minor),
            ("warning", deadlines.warning),
            ("info", deadlines.info),
        ] {
            within(
                &format!("work-orders.deadlines-ms.{name}"),
                value,
                MINUTE_MS,
                90 * DAY_MS,
            )?;
        }
        if let Supervisor::Person(person) = &self.work_orders.supervisor {
            if person.is_empty() {
                return Err(invalid(
                    "work-orders.supervisor.person",
                    "must name a person",
                ));
            }
        }
        within("staff-ack-ms", self.staff_ack_ms, 10 * SECOND_MS, DAY_MS)?;
        if self.false_alarms.threshold == 0 {
            return Err(invalid("false-alarms.threshold", "must be at least 1"));
        }
        if !(1..=365).contains(&self.false_alarms.window_days) {
            return Err(invalid("false-alarms.window-days", "must be 1-365"));
        }
        if !(-720..=840).contains(&self.utc_offset_minutes) {
            return Err(invalid("utc-offset-minutes", "must be -720 to 840"));
        }
        Ok(())
    }
}

fn invalid(field: &str, message: &str) -> Error {
    Error::Invalid(format!("config at `{field}`: {message}"))
}

fn positive(field: &str, value: f64, max: f64) -> Result<(), Error> {
    if value > 0.0 && value <= max {
        Ok(())
    } else {
        Err(invalid(
            field,
            &format!("must be above 0 and at most {max}"),
        ))
    }
}

fn within(field: &str, value: u64, min: u64, max: u64) -> Result<(), Error> {
    if (min..=max).contains(&value) {
        Ok(())
    } else {
        Err(invalid(field, &format!("must be {min}-{max}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Config {
        serde_json::from_str(text).expect("config parses")
    }

    #[test]
    fn an_empty_config_takes_every_default_and_passes() {
        let config = parse("{}");
        assert_eq!(config.confirmation_window_ms, 60_000);
        assert_eq!(config.work_orders.deadlines_ms.critical, 600_000);
        assert_eq!(config.work_orders.deadlines_ms.minor, 86_400_000);
        assert_eq!(
            config.work_orders.supervisor,
            Supervisor::Role(StaffRole::PropertyStaff)
        );
        config.check().expect("defaults are valid");
    }

    #[test]
    fn a_supervisor_is_a_role_or_a_person() {
        let by_person = parse(r#"{"work-orders": {"supervisor": {"person": "person-216"}}}"#);
        assert_eq!(
            by_person.work_orders.supervisor,
            Supervisor::Person("person-216".into())
        );
        let by_role = parse(r#"{"work-orders": {"supervisor": {"role": "security"}}}"#);
        assert_eq!(
            by_role.work_orders.supervisor,
            Supervisor::Role(StaffRole::Security)
        );
    }

    #[test]
    fn out_of_range_values_are_refused_by_field() {
        let config = parse(r#"{"smoke": {"obscuration-pct-per-m": 0}}"#);
        let Err(Error::Invalid(message)) = config.check() else {
            panic!("a zero threshold is refused")
        };
        assert!(
            message.contains("`smoke.obscuration-pct-per-m`"),
            "{message}"
        );

        let config = parse(r#"{"work-orders": {"deadlines-ms": {"critical": 5}}}"#);
        let Err(Error::Invalid(message)) = config.check() else {
            panic!("a five-millisecond deadline is refused")
        };
        assert!(
            message.contains("`work-orders.deadlines-ms.critical`"),
            "{message}"
        );
    }

    #[test]
    fn unknown_fields_are_refused() {
        assert!(serde_json::from_str::<Config>(r#"{"smoke": {"threshold": 3}}"#).is_err());
    }
}
