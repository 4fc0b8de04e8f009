//! What the installation was granted: the `[capabilities]` of the plugin's
//! own `linli.toml`, read the way the host reads a manifest, and the checks
//! each capability makes before it answers a call.
//!
//! The simulated installation is granted everything its manifest requests
//! (what an admin usually grants), or less when a test narrows it with
//! [`Builder::grants`](super::Builder::grants). Every refusal here returns
//! the same `denied` error, with the same text, as the host's capability.

use std::collections::BTreeSet;

use serde::Deserialize;

use crate::grants::{self as wit_grants, GrantSet};
use crate::ledger::LedgerError;
use crate::Error;

/// A parsed `linli.toml`, as far as the simulated host needs it.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub(crate) struct Manifest {
    pub id: String,
    /// Filled in by `linli plugin pack` from `Cargo.toml` when absent.
    #[allow(dead_code)]
    pub version: Option<String>,
    #[allow(dead_code)]
    pub vendor: String,
    #[allow(dead_code)]
    pub api: String,
    #[allow(dead_code)]
    pub description: String,
    #[serde(default)]
    pub capabilities: Grants,
    /// Requested capabilities marked `optional = true` in their table, read
    /// out of the tables before they parse as grants (as the host does).
    #[serde(skip)]
    pub optional: BTreeSet<String>,
    #[serde(default)]
    #[allow(dead_code)]
    pub config_schema: Option<toml::Value>,
}

impl Manifest {
    /// Parses manifest text; a manifest the host would refuse to read panics
    /// the test with the reason, since nothing else can be checked.
    pub fn parse(text: &str) -> Manifest {
        fn refused<T>(e: toml::de::Error) -> T {
            panic!("linli.toml: {}", e.message())
        }
        let mut table: toml::Table = toml::from_str(text).unwrap_or_else(refused);
        let optional = take_optional_flags(&mut table);
        let mut manifest: Manifest = table.try_into().unwrap_or_else(refused);
        manifest.optional = optional;
        if let Some(ledger) = &manifest.capabilities.ledger {
            if let Some(bad) = ledger
                .public_records
                .iter()
                .find(|kind| !ledger.allows(kind))
            {
                panic!("linli.toml: capabilities.ledger.public-records: {bad:?} is not a record kind in the namespaces {:?}", ledger.namespaces);
            }
        }
        manifest
    }

    /// The requested capabilities `grants` leaves out that are not optional.
    pub fn missing_required(&self, grants: &Grants) -> Option<&'static str> {
        let granted = grants.names();
        self.capabilities
            .names()
            .into_iter()
            .find(|name| !self.optional.contains(*name) && !granted.contains(name))
    }
}

/// Takes `optional = true | false` out of every `[capabilities.NAME]` table;
/// any other value panics, as the host refuses the manifest.
fn take_optional_flags(table: &mut toml::Table) -> BTreeSet<String> {
    let mut optional = BTreeSet::new();
    let Some(toml::Value::Table(capabilities)) = table.get_mut("capabilities") else {
        return optional;
    };
    for (name, scope) in capabilities.iter_mut() {
        match scope.as_table_mut().and_then(|t| t.remove("optional")) {
            None | Some(toml::Value::Boolean(false)) => {}
            Some(toml::Value::Boolean(true)) => {
                optional.insert(name.clone());
            }
            Some(_) => panic!("linli.toml: capabilities.{name}.optional: must be true or false"),
        }
    }
    optional
}

/// The capabilities granted, each with its scope; `None` is not granted.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct Grants {
    /// Reading kinds the installation receives and reads (`"*"` for all).
    pub sensor: Option<SensorGrant>,
    /// The plugin's private key/value state.
    pub store: Option<Empty>,
    /// Timers on the host clock.
    pub timer: Option<Empty>,
    /// Ledger namespaces the installation writes and reads.
    pub ledger: Option<LedgerGrant>,
    /// Alarm types the installation raises, clears, acknowledges and watches (`"*"` for all).
    pub alarm: Option<AlarmGrant>,
    /// The community map; people only with `people = true`.
    pub map: Option<MapGrant>,
    /// Topics the installation sends (`"*"` for all); critical messages only with `critical = true`.
    pub notify: Option<NotifyGrant>,
}

/// A grant without a finer scope (`[capabilities.store]`, `[capabilities.timer]`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Empty {}

/// `[capabilities.sensor]`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SensorGrant {
    pub kinds: Vec<String>,
}

/// `[capabilities.ledger]`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LedgerGrant {
    pub namespaces: Vec<String>,
    /// Record kinds every member of the community may read (the host's API
    /// shows them to residents); each must be a name in the namespaces.
    #[serde(default, rename = "public-records")]
    pub public_records: Vec<String>,
}

/// `[capabilities.alarm]`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AlarmGrant {
    pub types: Vec<String>,
}

/// `[capabilities.map]`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MapGrant {
    #[serde(default)]
    pub people: bool,
}

/// `[capabilities.notify]`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NotifyGrant {
    pub topics: Vec<String>,
    #[serde(default)]
    pub critical: bool,
}

impl Grants {
    /// The capabilities granted, by the names a manifest gives them.
    pub(crate) fn names(&self) -> Vec<&'static str> {
        [
            ("sensor", self.sensor.is_some()),
            ("store", self.store.is_some()),
            ("timer", self.timer.is_some()),
            ("ledger", self.ledger.is_some()),
            ("alarm", self.alarm.is_some()),
            ("map", self.map.is_some()),
            ("notify", self.notify.is_some()),
        ]
        .into_iter()
        .filter_map(|(name, granted)| granted.then_some(name))
        .collect()
    }

    /// What `grants::granted` answers the scene.
    pub(crate) fn grant_set(&self) -> GrantSet {
        GrantSet {
            sensor: self.sensor.as_ref().map(|s| s.kinds.clone()),
            store: self.store.is_some(),
            timer: self.timer.is_some(),
            ledger: self.ledger.as_ref().map(|l| l.namespaces.clone()),
            alarm: self.alarm.as_ref().map(|a| a.types.clone()),
            map: self
                .map
                .as_ref()
                .map(|m| wit_grants::MapGrant { people: m.people }),
            notify: self.notify.as_ref().map(|n| wit_grants::NotifyGrant {
                topics: n.topics.clone(),
                critical: n.critical,
            }),
        }
    }
}

/// Whether a list of names in which `"*"` stands for every name allows `name`.
fn allows(names: &[String], name: &str) -> bool {
    names.iter().any(|n| n == "*" || n == name)
}

fn not_granted(capability: &str) -> Error {
    Error::Denied(format!("{capability} was not granted to this installation"))
}

impl Grants {
    /// Whether readings of `kind` reach the installation.
    pub fn receives_readings(&self, kind: &str) -> bool {
        self.sensor.as_ref().is_some_and(|s| allows(&s.kinds, kind))
    }

    /// Whether changes of alarms of `alarm_type` reach the installation.
    pub fn watches_alarms(&self, alarm_type: &str) -> bool {
        self.alarm
            .as_ref()
            .is_some_and(|a| allows(&a.types, alarm_type))
    }

    pub(crate) fn sensor(&self) -> Result<&SensorGrant, Error> {
        self.sensor.as_ref().ok_or_else(|| not_granted("sensor"))
    }

    pub(crate) fn sensor_kind(&self, kind: &str) -> Result<(), Error> {
        if allows(&self.sensor()?.kinds, kind) {
            Ok(())
        } else {
            Err(Error::Denied(format!(
                "reading kind {kind:?} was not granted to this installation"
            )))
        }
    }

    pub(crate) fn store(&self) -> Result<(), Error> {
        self.store
            .as_ref()
            .map(|_| ())
            .ok_or_else(|| not_granted("store"))
    }

    pub(crate) fn timer(&self) -> Result<(), Error> {
        self.timer
            .as_ref()
            .map(|_| ())
            .ok_or_else(|| not_granted("timer"))
    }

    pub(crate) fn alarm(&self) -> Result<&AlarmGrant, Error> {
        self.alarm.as_ref().ok_or_else(|| not_granted("alarm"))
    }

    pub(crate) fn alarm_type(&self, alarm_type: &str) -> Result<(), Error> {
        if allows(&self.alarm()?.types, alarm_type) {
            Ok(())
        } else {
            Err(Error::Denied(format!(
                "alarm type {alarm_type:?} was not granted to this installation"
            )))
        }
    }

    pub(crate) fn map(&self) -> Result<(), Error> {
        self.map
            .as_ref()
            .map(|_| ())
            .ok_or_else(|| not_granted("map"))
    }

    pub(crate) fn map_people(&self) -> Result<(), Error> {
        self.map()?;
        if self.map.as_ref().is_some_and(|m| m.people) {
            Ok(())
        } else {
            Err(Error::Denied(
                "people were not granted to this installation (map scope people = true)".to_owned(),
            ))
        }
    }

    pub(crate) fn notify(&self) -> Result<&NotifyGrant, Error> {
        self.notify.as_ref().ok_or_else(|| not_granted("notify"))
    }

    /// Checks a message's topic and severity against the notify grant.
    pub(crate) fn notify_message(&self, topic: &str, critical: bool) -> Result<(), Error> {
        let grant = self.notify()?;
        if !allows(&grant.topics, topic) {
            return Err(Error::Denied(format!(
                "topic {topic:?} was not granted to this installation"
            )));
        }
        if critical && !grant.critical {
            return Err(Error::Denied(
                "critical messages were not granted to this installation (notify scope critical = true)"
                    .to_owned(),
            ));
        }
        Ok(())
    }

    /// Checks that a ledger `name` (`namespace/rest`) is in a granted namespace.
    pub(crate) fn ledger_name(&self, what: &str, name: &str) -> Result<(), LedgerError> {
        let Some(grant) = &self.ledger else {
            return Err(LedgerError::Denied(
                "ledger was not granted to this installation".to_owned(),
            ));
        };
        if name.is_empty() || name.len() > 128 || name.chars().any(char::is_control) {
            return Err(LedgerError::Invalid(format!(
                "{what} must be 1-128 bytes without control characters"
            )));
        }
        if !grant.allows(name) {
            return Err(LedgerError::Denied(format!(
                "{what} {name:?} is not in a namespace granted to this installation"
            )));
        }
        Ok(())
    }
}

impl LedgerGrant {
    /// Whether `name` (`namespace/rest`) is in a granted namespace.
    pub fn allows(&self, name: &str) -> bool {
        name.split_once('/')
            .is_some_and(|(ns, rest)| !rest.is_empty() && self.namespaces.iter().any(|n| n == ns))
    }
}
