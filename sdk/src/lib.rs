//! The guest side of linli: everything a vendor needs to write a community
//! scene plugin in Rust.
//!
//! A scene is a wasm component targeting the `scene` world of
//! `linli:platform@0.1.0` (see `wit/platform.wit`). The host calls `init` with
//! the installation's config on every new instance, then delivers events
//! (`on-event`) and people's commands (`on-command`). This crate turns that
//! contract into plain Rust:
//!
//! - [`Scene`] and [`export_scene!`]: implement three functions over your own
//!   typed config; the SDK parses the config once per instance, parses command
//!   input, serialises command output, and reports malformed JSON as
//!   [`Error::Invalid`] naming the offending field.
//! - [`state`]: typed, JSON-encoded values over the plugin's private `store`;
//!   [`personal`]: keys that hold one person's records (the host exports
//!   and erases them with the person) and forgetting a person elsewhere.
//! - [`log`]: one-line structured logging into the host's log.
//! - [`calendar`]: the community's local dates and times from host
//!   timestamps and its fixed UTC offset; [`week`]: days of the week and
//!   times of day as weekly schedules are written.
//! - [`audience`]: who a message goes to, named by relation (residents of a
//!   place, family of a person, holders of a role) for the host to resolve;
//!   [`roles`]: whether a person holds a role for a place.
//! - The platform's types ([`Event`], [`Reading`], [`Caller`], [`Error`], ...)
//!   and raw host interfaces ([`sensor`], [`store`], [`timer`], [`ledger`],
//!   [`alarm`], [`map`], [`notify`]) at short paths; [`grants`] answers what
//!   the installation was granted, for a scene whose manifest marks a
//!   capability `optional = true`.
//!
//! - `testing` (feature `testing`, native targets only): a simulated host
//!   that runs a [`Scene`] in a plain `#[test]`, with the manifest's grants,
//!   a map, a manual clock, and every effect open to assertions.
//!
//! Instances are disposable: the host may start a fresh one for any call, so
//! anything that must survive belongs in [`state`], and only the parsed config
//! is kept in memory. A handler's store writes commit only when it returns
//! `Ok`.
//!
//! # Example
//!
//! A complete plugin: `Cargo.toml` needs `crate-type = ["cdylib"]` and
//! dependencies on `linli-sdk`, `serde` and `serde_json`; build it with
//! `cargo build --release --target wasm32-wasip2`.
//!
//! ```no_run
//! use linli_sdk::{export_scene, log, state, Caller, Error, Event, Scene};
//! use serde::Deserialize;
//! use serde_json::{json, Value as Json};
//!
//! /// The installation's config: `{"threshold": 30.0}`.
//! #[derive(Deserialize)]
//! struct Config {
//!     threshold: f64,
//! }
//!
//! struct HeatWatch;
//!
//! impl Scene for HeatWatch {
//!     type Config = Config;
//!
//!     fn on_event(config: &Config, event: Event) -> Result<(), Error> {
//!         let Event::Reading(reading) = event else {
//!             return Ok(());
//!         };
//!         if reading.value.as_number().is_some_and(|t| t > config.threshold) {
//!             log::warn(&format!("{} is hot", reading.device));
//!             state::update("hot-readings", |count: &mut u64| *count += 1)?;
//!         }
//!         Ok(())
//!     }
//!
//!     fn on_command(_: &Config, _: &Caller, name: &str, _: Json) -> Result<Json, Error> {
//!         match name {
//!             "stats" => Ok(json!({ "hot": state::get::<u64>("hot-readings")?.unwrap_or(0) })),
//!             _ => Err(Error::Invalid(format!("unknown command: {name}"))),
//!         }
//!     }
//! }
//!
//! export_scene!(HeatWatch);
//! ```

pub mod audience;
pub mod calendar;
mod json;
pub mod log;
#[cfg(not(target_arch = "wasm32"))]
mod native;
pub mod personal;
pub mod roles;
mod scene;
pub mod state;
#[cfg(all(feature = "testing", not(target_arch = "wasm32")))]
pub mod testing;
pub mod week;

pub use scene::{parse_input, NoConfig, Scene};

#[doc(hidden)]
pub use scene::adapter as __adapter;

/// Generated bindings for the `scene` world of `linli:platform@0.1.0`.
///
/// Prefer the re-exports at the crate root and [`export_scene!`]; this module
/// is public so that a plugin can reach every generated item, and so that
/// [`export_scene!`] can export through the SDK without the plugin depending on
/// `wit-bindgen` itself.
// The generated canonical-ABI shims take one argument per flattened core value.
#[allow(clippy::too_many_arguments)]
pub mod bindings {
    wit_bindgen::generate!({
        world: "scene",
        path: "../wit",
        // Plugin crates expand the export macro, so it must be visible to them.
        pub_export_macro: true,
        default_bindings_module: "linli_sdk::bindings",
    });
}

pub use bindings::linli::platform::events::{Event, Lifecycle, TimerFired};
pub use bindings::linli::platform::map::{Person, Purpose};
pub use bindings::linli::platform::sensor::{Device, Reading, Value};
pub use bindings::linli::platform::types::{
    Caller, DeviceId, Error, GeoPoint, PersonId, Role, Severity, Timestamp,
};
// In a component the host interfaces are the generated imports; natively
// they are the same types with functions that call a simulated host
// (`native`), so a plugin's `cargo test` runs its handlers.
#[cfg(target_arch = "wasm32")]
pub use bindings::linli::platform::{alarm, grants, ledger, map, notify, sensor, store, timer};
#[cfg(not(target_arch = "wasm32"))]
pub use native::{alarm, grants, ledger, map, notify, sensor, store, timer};

impl Severity {
    /// Every severity, most urgent first.
    pub const ALL: [Severity; 5] = [
        Severity::Critical,
        Severity::Major,
        Severity::Minor,
        Severity::Warning,
        Severity::Info,
    ];

    /// The severity's name: `critical`, `major`, `minor`, `warning` or `info`.
    pub fn name(self) -> &'static str {
        match self {
            Severity::Critical => "critical",
            Severity::Major => "major",
            Severity::Minor => "minor",
            Severity::Warning => "warning",
            Severity::Info => "info",
        }
    }

    /// The severity called `name`, as [`Severity::name`] spells it.
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.name() == name)
    }
}

impl Purpose {
    /// Every purpose that needs a person's separate consent.
    pub const ALL: [Purpose; 3] = [
        Purpose::HealthMonitoring,
        Purpose::PresenceChecks,
        Purpose::LocationSharing,
    ];

    /// The purpose's name: `health-monitoring`, `presence-checks` or `location-sharing`.
    pub fn name(self) -> &'static str {
        match self {
            Purpose::HealthMonitoring => "health-monitoring",
            Purpose::PresenceChecks => "presence-checks",
            Purpose::LocationSharing => "location-sharing",
        }
    }

    /// The purpose called `name`, as [`Purpose::name`] spells it.
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|p| p.name() == name)
    }
}

impl Person {
    /// Whether the person (or their guardian) consents to `purpose` now.
    ///
    /// The host enforces health monitoring and presence checks itself (it
    /// withholds the readings); location sharing is the scene's to honour:
    /// without it, nothing a scene tells helpers may say where they live.
    pub fn consents_to(&self, purpose: Purpose) -> bool {
        self.consents.contains(&purpose)
    }
}

impl Caller {
    /// Whether the caller runs the community: a platform admin, a community
    /// admin or an operator. Scenes let them act for anyone.
    pub fn manages_community(&self) -> bool {
        self.roles.iter().any(|role| {
            matches!(
                role,
                Role::PlatformAdmin | Role::CommunityAdmin | Role::Operator
            )
        })
    }

    /// Who the caller is in records and messages: their person id, else
    /// their token's subject (admins and services have no person).
    pub fn name(&self) -> &str {
        self.person.as_deref().unwrap_or(&self.subject)
    }
}

impl Value {
    /// The number this value holds, if it is a [`Value::Number`].
    ///
    /// Scenes mostly compare numeric readings against thresholds; flags and
    /// texts answer `None`.
    pub fn as_number(&self) -> Option<f64> {
        match self {
            Value::Number(number) => Some(*number),
            Value::Flag(_) | Value::Text(_) => None,
        }
    }
}
