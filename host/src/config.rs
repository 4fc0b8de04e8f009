//! Host configuration: where data lives, where the API listens, the default
//! and maximum limits for installations ([`crate::limits`]) and how
//! notifications are delivered.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use crate::limits::Limits;

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
    /// A development host: accepts unsigned packages (signed ones are still
    /// checked). Never on a host that serves a community.
    pub dev: bool,
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
            max_limits: Limits::host_maximum(),
            mqtt: None,
            purge_interval: Duration::from_secs(60 * 60),
            notify: Default::default(),
            dev: false,
        }
    }
}
