//! A simulated host, so that a plugin's ordinary `#[test]` runs its
//! [`Scene`](crate::Scene) natively and asserts on what it did.
//!
//! Enable it for tests only:
//!
//! ```toml
//! [dev-dependencies]
//! linli-sdk = { version = "0.1", features = ["testing"] }
//! ```
//!
//! On native targets the SDK's host interfaces (`linli_sdk::store`,
//! `alarm`, `notify`, …) call whatever host is installed on the running
//! thread; a [`SimulatedHost`] installs itself when it starts. It behaves
//! like the real host as far as a plugin can tell:
//!
//! - the installation is granted what the plugin's own `linli.toml`
//!   requests ([`Builder::grants`] narrows it), and a call outside the grant
//!   returns the host's `denied` error, word for word;
//! - the map is the GeoJSON the host's map import takes, with people,
//!   their links and roles; devices are placed on it ([`DeviceSpec`]);
//! - the clock is manual: [`SimulatedHost::advance`] fires due timers in
//!   order, repeating ones on every beat, and runs notification escalations;
//! - readings are recorded (for `sensor.latest`, `history`, `devices`) and
//!   delivered if their kind is granted, except a person's health and
//!   presence readings while they have not given the consent the host
//!   waits for (`consent`); [`SimulatedHost::set_consents`] gives or
//!   withdraws it, and the map's people carry `consents` from the start;
//! - [`SimulatedHost::erase_person`] erases a person as the host does: off
//!   the map, the state keys whose last segment is their id deleted, then
//!   `person-erased` delivered;
//! - a handler that returns an error leaves no store, timer, alarm, message
//!   or ledger effect, as the host's commit does;
//! - commands run for a caller built by [`callers`]; alarm acknowledgements,
//!   clears, platform alarms and message acknowledgements by people reach
//!   the scene as the host's events do.
//!
//! Everything the scene did is open to assertions: alarms, messages with
//! the people each step reached, ledger entries and accounts, stored state,
//! timers and log lines.
//!
//! Not simulated: quotas and rate limits, the Merkle proofs of the ledger,
//! message delivery channels and quiet hours, other installations, and
//! traps (a panicking handler fails the test instead).
//!
//! # Example
//!
//! ```ignore
//! use linli_sdk::testing::{DeviceSpec, SimulatedHost};
//! use linli_sdk::Value;
//!
//! let mut host = SimulatedHost::<HeatWatch>::builder(include_str!("../linli.toml"))
//!     .config(serde_json::json!({"threshold": 30.0}))
//!     .device(DeviceSpec::new("t-1", "thermometer", &["temperature"]))
//!     .start()
//!     .unwrap();
//! host.reading("t-1", "temperature", Value::Number(35.0)).unwrap();
//! assert_eq!(host.state::<u64>("hot-readings"), Some(1));
//! ```
//!
//! # Layout
//!
//! [`host`](SimulatedHost) drives the scene; `builder` sets the community
//! up; `consent` decides which readings are withheld; `world` answers the
//! plugin's calls through the grant checks of `grants`; `store`, `timers`,
//! `alarms`, `notify`, `ledger`, `map`, `devices` and `log` each keep one
//! capability's state.

mod alarms;
mod builder;
pub mod callers;
mod consent;
mod devices;
mod grants;
mod host;
mod ledger;
mod log;
mod map;
mod notify;
mod store;
mod timers;
mod world;

pub use builder::{Builder, START};
pub use devices::DeviceSpec;
pub use grants::{AlarmGrant, Empty, Grants, LedgerGrant, MapGrant, NotifyGrant, SensorGrant};
pub use host::{Handled, SimulatedHost};
pub use log::LogLine;
pub use notify::{SentMessage, Step};
pub use timers::Schedule;

/// Whether `name` is 1-64 characters of a-z, 0-9 or '-', as the host spells
/// alarm types and topics; the error names `field` in the host's words.
pub(crate) fn check_slug(field: &str, name: &str) -> Result<(), crate::Error> {
    let spelled = !name.is_empty()
        && name.len() <= 64
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
    if spelled {
        Ok(())
    } else {
        Err(crate::Error::Invalid(format!(
            "{field}: must be 1-64 characters of a-z, 0-9 or '-'"
        )))
    }
}
