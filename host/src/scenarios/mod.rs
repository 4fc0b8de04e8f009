//! `linli plugin test`: a plugin's built component run through scenario
//! files on a host of its own — the real runtime and capabilities on a
//! temporary embedded store and a test clock, driven through the API as a
//! community would drive it.
//!
//! A scenario is a TOML file (a vendor's `scenarios/*.toml`): the
//! installation's config and grants, a map, devices, then steps —
//! readings, clock moves, commands — and what must hold after them: a
//! command's output, the active alarms, the messages sent, the ledger's
//! entries. Expectations name only what matters (`expect`): an object
//! matches when every key it names matches, a list when it has as many
//! items, each matching in order (alarms, messages and entries are
//! compared in an order that is the same on every run, see [`Step`]).
//!
//! ```toml
//! description = "a hot reading counts against its device"
//! config = { threshold = 28.0 }
//!
//! [[devices]]
//! id = "boiler-room"
//! reading-kinds = ["temperature"]
//!
//! [[steps]]
//! reading = { device = "boiler-room", kind = "temperature", value = 31.5 }
//!
//! [[steps]]
//! command = "status"
//! expect = { devices = { boiler-room = { too_hot = 1 } } }
//! ```

mod expect;
mod replay;
mod run;

use std::path::{Path, PathBuf};

use serde::Deserialize;
use serde_json::Value;

pub use replay::{read_bundle, replay, Replayed};
pub use run::{run_scenario, Outcome, ScenarioError};

/// One scenario file.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct Scenario {
    /// What the scenario shows, printed with its result.
    #[serde(default)]
    pub description: String,
    /// The installation's config (`{}` when absent).
    #[serde(default = "empty_object")]
    pub config: Value,
    /// The grants (JSON as the API takes them); everything the manifest
    /// requests when absent.
    pub grants: Option<Value>,
    /// A GeoJSON map for the community, relative to the scenario file.
    pub map: Option<PathBuf>,
    /// Where the test clock starts (RFC 3339); 2026-01-01T00:00:00Z when absent.
    pub start: Option<String>,
    #[serde(default)]
    pub devices: Vec<DeviceSpec>,
    pub steps: Vec<Step>,
}

fn empty_object() -> Value {
    Value::Object(Default::default())
}

/// A device registered before the first step.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct DeviceSpec {
    pub id: String,
    #[serde(default = "sensor")]
    pub kind: String,
    pub reading_kinds: Vec<String>,
    /// A place of the map.
    pub location: Option<String>,
}

fn sensor() -> String {
    "sensor".to_owned()
}

/// One step: exactly one action or check, with what must hold after it.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct Step {
    /// Readings, as `POST /api/v1/ingest` takes them (an object or a list);
    /// each names a device of the scenario.
    pub reading: Option<Value>,
    /// Moves the test clock: `"90s"`, `"10m"`, `"2h"`, `"1d"` or milliseconds.
    pub advance: Option<Duration>,
    /// A command, by name: `command = "status"`.
    pub command: Option<String>,
    /// The command's input (`{}` when absent).
    pub input: Option<Value>,
    /// Who runs the command: `"community-admin"` (the default), or
    /// `"resident person-1"` / `"operator person-2"` for a person of the map.
    #[serde(rename = "as")]
    pub caller: Option<String>,
    /// What the command answers (a pattern, see the module's header).
    pub expect: Option<Value>,
    /// The error code the command must fail with (`invalid`, `forbidden`, …).
    pub error: Option<String>,
    /// The community's active alarms, oldest first (those raised at one
    /// time by type, then originator).
    pub alarms: Option<Value>,
    /// Every message the installation sent so far, oldest first (those sent
    /// together by topic, title and recipients), each with `to`: the people
    /// it reached, sorted.
    pub messages: Option<Value>,
    /// The ledger's entries, oldest first, with `body` decoded.
    pub ledger: Option<Value>,
}

/// A clock move as written in a scenario.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Duration(pub i64);

impl<'de> Deserialize<'de> for Duration {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Written {
            Millis(i64),
            Text(String),
        }
        match Written::deserialize(deserializer)? {
            Written::Millis(ms) if ms >= 0 => Ok(Duration(ms)),
            Written::Millis(ms) => Err(serde::de::Error::custom(format!(
                "advance: {ms} is negative; the clock only moves forward"
            ))),
            Written::Text(text) => parse_duration(&text).map(Duration).ok_or_else(|| {
                serde::de::Error::custom(format!(
                    "advance: {text:?} is not a duration like \"90s\", \"10m\", \"2h\" or \"1d\""
                ))
            }),
        }
    }
}

/// `"90s"`, `"10m"`, `"2h"`, `"1d"`, `"250ms"` in milliseconds.
fn parse_duration(text: &str) -> Option<i64> {
    let text = text.trim();
    let split = text.find(|c: char| !c.is_ascii_digit())?;
    let (number, unit) = text.split_at(split);
    let number: i64 = number.parse().ok()?;
    let unit_ms = match unit.trim() {
        "ms" => 1,
        "s" => 1_000,
        "m" | "min" => 60_000,
        "h" => 3_600_000,
        "d" => 86_400_000,
        _ => return None,
    };
    number.checked_mul(unit_ms)
}

/// Why a scenario file could not be read.
#[derive(Debug, thiserror::Error)]
#[error("{path}: {reason}")]
pub struct ScenarioFileError {
    pub path: PathBuf,
    pub reason: String,
}

impl Scenario {
    /// Reads and parses a scenario file.
    pub fn load(path: &Path) -> Result<Self, ScenarioFileError> {
        let fail = |reason: String| ScenarioFileError {
            path: path.to_owned(),
            reason,
        };
        let text = std::fs::read_to_string(path).map_err(|e| fail(e.to_string()))?;
        let mut scenario: Scenario = toml::from_str(&text).map_err(|e| fail(e.to_string()))?;
        if let Some(map) = &scenario.map {
            scenario.map = Some(path.parent().unwrap_or(Path::new(".")).join(map));
        }
        for (index, step) in scenario.steps.iter().enumerate() {
            step.check()
                .map_err(|reason| fail(format!("steps[{index}]: {reason}")))?;
        }
        Ok(scenario)
    }
}

impl Step {
    /// A step does one thing: a reading, a clock move, a command, or checks.
    fn check(&self) -> Result<(), String> {
        let actions = [
            self.reading.is_some(),
            self.advance.is_some(),
            self.command.is_some(),
        ];
        let checks = self.alarms.is_some() || self.messages.is_some() || self.ledger.is_some();
        match actions.iter().filter(|a| **a).count() {
            0 if !checks => Err("names nothing to do or check".to_owned()),
            0 | 1 => Ok(()),
            _ => Err("does more than one of reading, advance and command".to_owned()),
        }?;
        let command_only = self.input.is_some()
            || self.caller.is_some()
            || self.expect.is_some()
            || self.error.is_some();
        if command_only && self.command.is_none() {
            return Err("input, as, expect and error belong to a command step".to_owned());
        }
        if self.expect.is_some() && self.error.is_some() {
            return Err("a command either answers (expect) or fails (error), not both".to_owned());
        }
        Ok(())
    }

    /// What the step does, for messages: `command status`, `advance 600000 ms`.
    pub fn describe(&self) -> String {
        if let Some(name) = &self.command {
            format!("command {name}")
        } else if let Some(Duration(ms)) = self.advance {
            format!("advance {ms} ms")
        } else if self.reading.is_some() {
            "reading".to_owned()
        } else {
            "check".to_owned()
        }
    }
}

/// The scenario files of a plugin folder: `scenarios/*.toml`, by name.
pub fn discover(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir.join("scenarios"))
        .into_iter()
        .flatten()
        .flatten()
        .map(|entry| entry.path())
        .filter(|path| path.extension().is_some_and(|e| e == "toml"))
        .collect();
    files.sort();
    files
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_as_people_write_them() {
        assert_eq!(parse_duration("90s"), Some(90_000));
        assert_eq!(parse_duration("10m"), Some(600_000));
        assert_eq!(parse_duration("2h"), Some(7_200_000));
        assert_eq!(parse_duration("1d"), Some(86_400_000));
        assert_eq!(parse_duration("250ms"), Some(250));
        assert_eq!(parse_duration("ten minutes"), None);
        assert_eq!(parse_duration("5 fortnights"), None);
    }

    #[test]
    fn a_step_does_one_thing_and_says_where_it_is_wrong() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.toml");
        let write = |text: &str| {
            std::fs::write(&path, text).unwrap();
            Scenario::load(&path)
        };
        let both = write("[[steps]]\ncommand = \"a\"\nadvance = \"1m\"\n").unwrap_err();
        assert!(
            both.reason.starts_with("steps[0]: does more than one"),
            "{both}"
        );
        let stray = write("[[steps]]\nreading = {}\nexpect = {}\n").unwrap_err();
        assert!(stray.reason.contains("belong to a command"), "{stray}");
        let bad_duration = write("[[steps]]\nadvance = \"soon\"\n").unwrap_err();
        assert!(
            bad_duration.reason.contains("not a duration"),
            "{bad_duration}"
        );
        let unknown = write("[[steps]]\ncomand = \"status\"\n").unwrap_err();
        assert!(unknown.reason.contains("comand"), "{unknown}");
        let fine = write("map = \"court.geojson\"\n[[steps]]\ncommand = \"status\"\nexpect = {}\n")
            .unwrap();
        assert_eq!(fine.map, Some(dir.path().join("court.geojson")));
    }
}
