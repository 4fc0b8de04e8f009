//! The plugin manifest, `linli.toml`: who made the plugin, which version of
//! the platform contract it targets, which capabilities (and scopes) it
//! requests, and the JSON Schema its installation config must satisfy.

use serde::{Deserialize, Serialize};

use crate::caps::CapabilitySet;
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
    /// JSON Schema for the installation config.
    #[serde(default = "any_object")]
    #[schema(value_type = Object)]
    pub config_schema: serde_json::Value,
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
        let manifest: Manifest =
            toml::from_str(text).map_err(|e| ManifestError(e.message().to_owned()))?;
        manifest.check()?;
        Ok(manifest)
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
    fn refuses_what_the_host_cannot_run() {
        let err = Manifest::parse(&HELLO.replace("0.1.0", "9.0.0")).unwrap_err();
        assert!(err.0.contains("api 9.0.0"), "{err}");
        assert!(Manifest::parse(&HELLO.replace("temperature", "warp-flux")).is_err());
        assert!(Manifest::parse(&HELLO.replace("vendor", "maker")).is_err());
    }
}
