//! The limits and quotas an installation runs under, with their defaults
//! and the host's maximum: what a manifest-blind admin sets per
//! installation and every capability and the runtime enforce.

use serde::{Deserialize, Serialize};

use crate::validation::Invalid;

/// Sandbox limits and quotas of one installation. Fields left out of a
/// request or of an older stored installation take the defaults below.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "kebab-case", deny_unknown_fields, default)]
pub struct Limits {
    /// Linear memory cap of an instance, in MiB.
    pub memory_mib: u32,
    /// Wall-clock budget of one call into the plugin (init, one event, one command), in milliseconds.
    pub call_timeout_ms: u32,
    /// Most bytes (keys and values) the plugin keeps in `store` in this community.
    pub state_bytes: u64,
    /// Most keys the plugin keeps in `store` in this community.
    pub state_keys: u64,
    /// Most bytes of state writes one call may leave uncommitted; handlers
    /// whose writes pile up past it are committed before the next one runs.
    pub pending_bytes: u64,
    /// Log lines per second (plugin `log` calls and stdout/stderr lines); the excess is dropped and counted.
    pub log_lines_per_second: u32,
    /// Log bytes per second; the excess is dropped and counted.
    pub log_bytes_per_second: u32,
    /// Messages the installation may send per minute.
    pub messages_per_minute: u32,
    /// Non-critical messages one person may get from the installation per hour.
    pub messages_per_person_per_hour: u32,
    /// Critical messages one person may get from the installation per hour.
    pub critical_messages_per_person_per_hour: u32,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            memory_mib: 64,
            call_timeout_ms: 200,
            state_bytes: 64 << 20,
            state_keys: 100_000,
            pending_bytes: 8 << 20,
            log_lines_per_second: 100,
            log_bytes_per_second: 64 << 10,
            messages_per_minute: 600,
            messages_per_person_per_hour: 60,
            critical_messages_per_person_per_hour: 300,
        }
    }
}

impl Limits {
    /// These limits with the fields of `changes` (a JSON object of some of
    /// the fields) replaced: how a request or a host flag sets only the
    /// limits it names. An unknown field or a wrong type is an error naming it.
    pub fn with_changes(&self, changes: &serde_json::Value) -> Result<Self, Invalid> {
        let serde_json::Value::Object(changes) = changes else {
            return Err(Invalid::new("limits", "expected an object"));
        };
        let mut merged = serde_json::to_value(self).expect("limits serialize");
        let fields = merged
            .as_object_mut()
            .expect("limits serialize to an object");
        for (name, value) in changes {
            if !fields.contains_key(name) {
                return Err(Invalid::new(
                    format!("limits.{name}"),
                    format!(
                        "not a limit; the limits are {}",
                        fields.keys().cloned().collect::<Vec<_>>().join(", ")
                    ),
                ));
            }
            fields.insert(name.clone(), value.clone());
        }
        serde_json::from_value(merged).map_err(|e| Invalid::new("limits", e.to_string()))
    }

    /// The most any installation may be given unless the host says otherwise.
    pub fn host_maximum() -> Self {
        Self {
            memory_mib: 512,
            call_timeout_ms: 10_000,
            state_bytes: 4 << 30,
            state_keys: 10_000_000,
            pending_bytes: 64 << 20,
            log_lines_per_second: 10_000,
            log_bytes_per_second: 4 << 20,
            messages_per_minute: 10_000,
            messages_per_person_per_hour: 1_000,
            critical_messages_per_person_per_hour: 10_000,
        }
    }

    /// Checks these limits against the host's maximum, naming the first one over it.
    pub fn check_within(&self, max: &Limits) -> Result<(), Invalid> {
        fn between<T: PartialOrd + std::fmt::Display>(
            name: &str,
            value: T,
            min: T,
            max: T,
        ) -> Result<(), Invalid> {
            if value < min || value > max {
                return Err(Invalid::new(
                    format!("limits.{name}"),
                    format!("must be between {min} and {max}"),
                ));
            }
            Ok(())
        }
        between("memory-mib", self.memory_mib, 1, max.memory_mib)?;
        between(
            "call-timeout-ms",
            self.call_timeout_ms,
            10,
            max.call_timeout_ms,
        )?;
        between("state-bytes", self.state_bytes, 1, max.state_bytes)?;
        between("state-keys", self.state_keys, 1, max.state_keys)?;
        // A single value may be 1 MiB, so a call must be able to write one.
        between(
            "pending-bytes",
            self.pending_bytes,
            2 << 20,
            max.pending_bytes,
        )?;
        between(
            "log-lines-per-second",
            self.log_lines_per_second,
            1,
            max.log_lines_per_second,
        )?;
        between(
            "log-bytes-per-second",
            self.log_bytes_per_second,
            1024,
            max.log_bytes_per_second,
        )?;
        between(
            "messages-per-minute",
            self.messages_per_minute,
            1,
            max.messages_per_minute,
        )?;
        between(
            "messages-per-person-per-hour",
            self.messages_per_person_per_hour,
            1,
            max.messages_per_person_per_hour,
        )?;
        between(
            "critical-messages-per-person-per-hour",
            self.critical_messages_per_person_per_hour,
            1,
            max.critical_messages_per_person_per_hour,
        )
    }
}
