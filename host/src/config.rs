//! Host configuration: where data lives, where the API listens, and the
//! default sandbox limits for installations.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use serde::{Deserialize, Serialize};

/// Everything needed to start a host.
#[derive(Debug, Clone)]
pub struct HostConfig {
    /// Holds the SQLite store and the compiled-component cache.
    pub data_dir: PathBuf,
    /// Address for the HTTP API; port 0 picks a free one.
    pub listen: SocketAddr,
    /// A database URL overriding the embedded SQLite store.
    pub database_url: Option<String>,
    /// The platform-admin bootstrap token; generated and printed at first start when absent.
    pub admin_token: Option<String>,
    /// Limits for installations that do not set their own.
    pub default_limits: Limits,
    /// The most any installation may be given.
    pub max_limits: Limits,
    /// An MQTT broker to take readings from (`mqtt://host:port`); none when absent.
    pub mqtt: Option<String>,
    /// How often readings past their community's retention are purged (on the host clock).
    pub purge_interval: Duration,
    /// Notification delivery: burst limits and webhook retries.
    pub notify: crate::caps::notify::dispatch::NotifyConfig,
}

impl HostConfig {
    /// A configuration with the default limits.
    pub fn new(data_dir: impl Into<PathBuf>, listen: SocketAddr) -> Self {
        Self {
            data_dir: data_dir.into(),
            listen,
            database_url: None,
            admin_token: None,
            default_limits: Limits::default(),
            max_limits: Limits {
                memory_mib: 512,
                call_timeout_ms: 10_000,
            },
            mqtt: None,
            purge_interval: Duration::from_secs(60 * 60),
            notify: Default::default(),
        }
    }
}

/// Sandbox limits of one installation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct Limits {
    /// Linear memory cap of an instance, in MiB.
    pub memory_mib: u32,
    /// Wall-clock budget of one call into the plugin (init, one event, one command), in milliseconds.
    pub call_timeout_ms: u32,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            memory_mib: 64,
            call_timeout_ms: 200,
        }
    }
}

impl Limits {
    /// Checks these limits against the host's maximum, naming the first one over it.
    pub fn check_within(&self, max: &Limits) -> Result<(), String> {
        if self.memory_mib == 0 || self.memory_mib > max.memory_mib {
            return Err(format!(
                "limits.memory-mib must be between 1 and {}",
                max.memory_mib
            ));
        }
        if self.call_timeout_ms < 10 || self.call_timeout_ms > max.call_timeout_ms {
            return Err(format!(
                "limits.call-timeout-ms must be between 10 and {}",
                max.call_timeout_ms
            ));
        }
        Ok(())
    }
}
