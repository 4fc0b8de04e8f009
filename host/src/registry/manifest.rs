//! The plugin manifest, `linli.toml`: who made the plugin, which version of
//! the platform contract it targets, which capabilities (and scopes) it
//! requests (and which of them it can do without), and the JSON Schema its
//! installation config must satisfy.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

use crate::caps::{CapabilitySet, GrantError};
use crate::ids::PluginId;

/// Versions of `linli:platform` this host runs.
pub const SUPPORTED_APIS: &[semver::Version] = &[semver::Version::new(0, 1, 0)];

/// A parsed and checked `linli.toml`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct Manifest {
    pub id: PluginId,
    #[schema(value_type = String)]
    pub version: semver::Version,
    pub vendor: String,
    /// The `linli:platform` version the component targets.
    #[schema(value_type = String)]
    pub api: semver::Version,
    pub description: String,
    /// What the plugin asks to reach; an installation is granted a subset.
    #[serde(default)]
    pub capabilities: CapabilitySet,
    /// Requested capabilities the plugin can run without, marked
    /// `optional = true` in their table; an installation must be granted
    /// every other one. Read from the capability tables, never written as
    /// a key of its own.
    #[serde(default, skip_deserializing)]
    pub optional_capabilities: BTreeSet<String>,
    /// JSON Schema for the installation config.
    #[serde(default = "any_object")]
    #[schema(value_type = Object)]
    pub config_schema: serde_json::Value,
}

/// Takes `optional = true | false` out of every `[capabilities.NAME]`
/// table. Whether a plugin can run without a capability is the manifest's
/// to say and no part of the capability's scope, which an admin's grant
/// shares; so the flag is read here and the scopes parse as before.
fn take_optional_flags(table: &mut toml::Table) -> Result<BTreeSet<String>, ManifestError> {
    let mut optional = BTreeSet::new();
    let Some(toml::Value::Table(capabilities)) = table.get_mut("capabilities") else {
        return Ok(optional);
    };
    for (name, scope) in capabilities.iter_mut() {
        let Some(flag) = scope.as_table_mut().and_then(|t| t.remove("optional")) else {
            continue;
        };
        match flag {
            toml::Value::Boolean(true) => {
                optional.insert(name.clone());
            }
            toml::Value::Boolean(false) => {}
            _ => {
                return Err(ManifestError(format!(
                    "capabilities.{name}.optional: must be true or false"
                )))
            }
        }
    }
    Ok(optional)
}

fn any_object() -> serde_json::Value {
    serde_json::json!({"type": "object"})
}

/// Why a manifest was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("linli.toml: {0}")]
pub struct ManifestError(pub String);

impl Manifest {
    /// Parses and checks manifest text.
    pub fn parse(text: &str) -> Result<Self, ManifestError> {
        let toml_error = |e: toml::de::Error| ManifestError(e.message().to_owned());
        let mut table: toml::Table = toml::from_str(text).map_err(toml_error)?;
        let optional = take_optional_flags(&mut table)?;
        let mut manifest: Manifest = table.try_into().map_err(toml_error)?;
        manifest.optional_capabilities = optional;
        manifest.check()?;
        Ok(manifest)
    }

    /// The capabilities an installation must be granted: those requested
    /// and not marked optional.
    pub fn required_capabilities(&self) -> impl Iterator<Item = &'static str> + '_ {
        self.capabilities
            .names()
            .filter(|name| !self.optional_capabilities.contains(*name))
    }

    /// The optional capabilities `grants` leaves out: what the installation
    /// runs without.
    pub fn optional_not_granted(&self, grants: &CapabilitySet) -> Vec<String> {
        let granted: BTreeSet<&str> = grants.names().collect();
        self.optional_capabilities
            .iter()
            .filter(|name| !granted.contains(name.as_str()))
            .cloned()
            .collect()
    }

    /// Checks that `grants` holds every required capability, naming the
    /// first it lacks.
    pub fn check_required(&self, grants: &CapabilitySet) -> Result<(), GrantError> {
        let granted: BTreeSet<&str> = grants.names().collect();
        match self.required_capabilities().find(|name| !granted.contains(name)) {
            Some(capability) => Err(GrantError {
                capability,
                reason: format!(
                    "required by {} (its manifest does not mark it optional); grant it to install this plugin",
                    self.id
                ),
            }),
            None => Ok(()),
        }
    }

    fn check(&self) -> Result<(), ManifestError> {
        let fail = |m: String| Err(ManifestError(m));
        if self.vendor.trim().is_empty() || self.vendor.len() > 64 {
            return fail("vendor must be 1-64 characters".to_owned());
        }
        if self.description.len() > 1000 {
            return fail("description must be at most 1000 characters".to_owned());
        }
        if !SUPPORTED_APIS.contains(&self.api) {
            return fail(format!(
                "api {} is not supported by this host (supported: {})",
                self.api,
                SUPPORTED_APIS
                    .iter()
                    .map(|v| v.to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
        }
        if let Some(sensor) = &self.capabilities.sensor {
            sensor
                .check_kinds()
                .map_err(|e| ManifestError(format!("capabilities.sensor: {e}")))?;
        }
        if let Some(alarm) = &self.capabilities.alarm {
            crate::caps::alarm::check_platform_types(&alarm.types)
                .map_err(|e| ManifestError(format!("capabilities.alarm: {e}")))?;
        }
        if let Some(ledger) = &self.capabilities.ledger {
            ledger
                .check_namespaces()
                .map_err(|e| ManifestError(format!("capabilities.ledger: {e}")))?;
        }
        self.config_validator()?;
        Ok(())
    }

    /// The compiled config schema.
    pub fn config_validator(&self) -> Result<jsonschema::Validator, ManifestError> {
        jsonschema::validator_for(&self.config_schema)
            .map_err(|e| ManifestError(format!("config-schema is not a valid JSON Schema: {e}")))
    }

    /// Checks an installation config against the schema, naming the first offending path.
    pub fn check_config(&self, config: &serde_json::Value) -> Result<(), String> {
        let validator = self.config_validator().map_err(|e| e.to_string())?;
        let errors: Vec<String> = validator
            .iter_errors(config)
            .take(5)
            .map(|e| {
                let path = e.instance_path.to_string();
                let path = if path.is_empty() {
                    "config".to_owned()
                } else {
                    format!("config{}", path.replace('/', "."))
                };
                format!("{path}: {e}")
            })
            .collect();
        if errors.is_empty() {
            Ok(())
        } else {
            Err(errors.join("; "))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HELLO: &str = r#"
id = "hello"
version = "1.2.3"
vendor = "acme"
api = "0.1.0"
description = "test"
[capabilities.sensor]
kinds = ["temperature"]
[capabilities.store]
[config-schema]
type = "object"
required = ["threshold"]
[config-schema.properties.threshold]
type = "number"
"#;

    #[test]
    fn parses_and_checks_config() {
        let m = Manifest::parse(HELLO).unwrap();
        assert_eq!(m.version, semver::Version::new(1, 2, 3));
        assert!(m.capabilities.store.is_some());
        assert!(m.check_config(&serde_json::json!({"threshold": 3})).is_ok());
        let err = m
            .check_config(&serde_json::json!({"threshold": "x"}))
            .unwrap_err();
        assert!(err.contains("config.threshold"), "{err}");
        assert!(m.check_config(&serde_json::json!({})).is_err());
    }

    #[test]
    fn a_capability_is_required_unless_marked_optional() {
        let m = Manifest::parse(&HELLO.replace(
            "[capabilities.store]",
            "[capabilities.store]\noptional = true",
        ))
        .unwrap();
        assert_eq!(m.required_capabilities().collect::<Vec<_>>(), ["sensor"]);
        assert!(
            m.capabilities.store.is_some(),
            "an optional capability is still requested"
        );
        let store_only: CapabilitySet =
            serde_json::from_value(serde_json::json!({"store": {}})).unwrap();
        let err = m.check_required(&store_only).unwrap_err();
        assert_eq!(err.capability, "sensor");
        assert!(
            err.to_string().starts_with("grants.sensor: required"),
            "{err}"
        );
        let sensor_only: CapabilitySet =
            serde_json::from_value(serde_json::json!({"sensor": {"kinds": ["temperature"]}}))
                .unwrap();
        assert!(m.check_required(&sensor_only).is_ok());
        assert_eq!(m.optional_not_granted(&sensor_only), ["store"]);
        assert!(m.optional_not_granted(&store_only).is_empty());
    }

    #[test]
    fn an_optional_flag_is_a_boolean_inside_a_capability_table() {
        let err = Manifest::parse(&HELLO.replace(
            "[capabilities.store]",
            "[capabilities.store]\noptional = \"yes\"",
        ))
        .unwrap_err();
        assert!(err.0.contains("capabilities.store.optional"), "{err}");
        let err = Manifest::parse(&format!("optional = [\"store\"]\n{HELLO}")).unwrap_err();
        assert!(err.0.contains("optional"), "{err}");
        let all_required = Manifest::parse(HELLO).unwrap();
        assert!(all_required.optional_capabilities.is_empty());
    }

    #[test]
    fn refuses_what_the_host_cannot_run() {
        let err = Manifest::parse(&HELLO.replace("0.1.0", "9.0.0")).unwrap_err();
        assert!(err.0.contains("api 9.0.0"), "{err}");
        assert!(Manifest::parse(&HELLO.replace("temperature", "warp-flux")).is_err());
        assert!(Manifest::parse(&HELLO.replace("vendor", "maker")).is_err());
    }
}
