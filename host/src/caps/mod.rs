//! Host capabilities: what a plugin can reach, one folder each.
//!
//! Every capability owns its WIT host implementation, the scope a manifest
//! requests and an admin grants, its per-instance state, and the effects a
//! handler makes through it, which it keeps by the one [`Effects`]
//! protocol. The runtime composes them through the lists in this file and
//! knows nothing of their insides. Adding a capability is adding its folder
//! and one line in each list: its scope in [`CapabilitySet`] (and its check
//! in [`CapabilitySet::check_within`], its name in [`CapabilitySet::names`]
//! and `grants`), its state in [`InstanceCaps`] (built
//! in `new`, listed in `effects`) and its interface in [`add_to_linker`].
//!
//! A call outside the installation's grants returns the typed `denied` error
//! to the plugin (never a trap) and is counted in
//! `linli_denied_calls_total`; a plugin can ask beforehand through `grants`.
//! A manifest marks a capability it can do without `optional = true`; the
//! others are required, and an installation must be granted them.

pub mod alarm;
pub mod effects;
pub mod grants;
pub mod ledger;
pub mod log;
pub mod map;
pub mod notify;
pub mod privacy;
pub mod quota;
pub mod sensor;
pub mod services;
pub mod store;
pub mod timer;

use std::sync::Arc;

use serde::{Deserialize, Serialize};
use wasmtime::component::{HasSelf, Linker};

pub use effects::{CommitError, Effects};
pub use services::Services;

use crate::clock::SharedClock;
use crate::db::{Db, Tx};
use crate::ids::{CommunityId, InstallationId, PluginId};
use crate::metrics::InstallationMetrics;
use crate::wit::linli::platform::types::Error as WitError;

/// The capabilities a manifest requests or an admin grants, each with its scope.
/// `log` needs no grant.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct CapabilitySet {
    /// Reading kinds delivered as events and readable through `sensor`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sensor: Option<sensor::SensorScope>,
    /// Plugin-private key/value state.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub store: Option<store::StoreScope>,
    /// Timers on the host clock.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timer: Option<timer::TimerScope>,
    /// Ledger namespaces the installation writes and reads.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ledger: Option<ledger::LedgerScope>,
    /// Alarm types the installation raises, clears, acknowledges and watches.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alarm: Option<alarm::AlarmScope>,
    /// The community map; people only with `people = true`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub map: Option<map::MapScope>,
    /// Message topics the installation sends; critical messages only with `critical = true`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notify: Option<notify::NotifyScope>,
}

/// A grant that asks for more than the manifest requested.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("grants.{capability}: {reason}")]
pub struct GrantError {
    /// The capability whose grant is too wide.
    pub capability: &'static str,
    /// What exactly is too wide.
    pub reason: String,
}

/// A capability's scope: what the manifest asks for and what the admin grants.
pub trait Scope {
    /// Checks that `self`, as granted, stays within `requested`.
    fn within(&self, requested: &Self) -> Result<(), String>;
}

/// Whether `name` is 1 to `max` characters of a-z, 0-9 or '-': how alarm
/// types, point-of-interest kinds, message topics and channels are spelled.
pub fn is_slug(name: &str, max: usize) -> bool {
    !name.is_empty()
        && name.len() <= max
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
}

/// A list of names in which `"*"` stands for every name: the shape of the
/// sensor (reading kinds) and alarm (alarm types) scopes.
pub struct NameSet<'a>(pub &'a [String]);

impl NameSet<'_> {
    /// Whether `name` is in the set.
    pub fn allows(&self, name: &str) -> bool {
        self.0.iter().any(|n| n == "*" || n == name)
    }

    /// Checks that every name granted is in `requested`; `what` names a name in the message.
    pub fn within(&self, requested: &NameSet, what: &str) -> Result<(), String> {
        let wildcard = |names: &[String]| names.iter().any(|n| n == "*");
        match self.0.iter().find(|n| {
            if *n == "*" {
                !wildcard(requested.0)
            } else {
                !requested.allows(n)
            }
        }) {
            Some(wider) => Err(format!("{what} {wider:?} was not requested")),
            None => Ok(()),
        }
    }
}

fn check_grant<S: Scope>(
    capability: &'static str,
    granted: &Option<S>,
    requested: &Option<S>,
) -> Result<(), GrantError> {
    let error = |reason: String| GrantError { capability, reason };
    match (granted, requested) {
        (None, _) => Ok(()),
        (Some(_), None) => Err(error(
            "the plugin did not request this capability".to_owned(),
        )),
        (Some(granted), Some(requested)) => granted.within(requested).map_err(error),
    }
}

impl CapabilitySet {
    /// The capabilities in this set, by the names a manifest gives them.
    pub fn names(&self) -> impl Iterator<Item = &'static str> {
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
        .filter_map(|(name, present)| present.then_some(name))
    }

    /// Checks that this grant set is a subset of `requested`, naming the first capability that is not.
    pub fn check_within(&self, requested: &CapabilitySet) -> Result<(), GrantError> {
        check_grant("sensor", &self.sensor, &requested.sensor)?;
        check_grant("store", &self.store, &requested.store)?;
        check_grant("timer", &self.timer, &requested.timer)?;
        check_grant("ledger", &self.ledger, &requested.ledger)?;
        check_grant("alarm", &self.alarm, &requested.alarm)?;
        check_grant("map", &self.map, &requested.map)?;
        check_grant("notify", &self.notify, &requested.notify)?;
        Ok(())
    }
}

/// What every capability of one installation shares: who is calling and
/// where, what it was granted, and the limits its calls count against.
/// The services a capability is built on are its own, not shared here.
pub struct InstallationContext {
    pub installation: InstallationId,
    pub community: CommunityId,
    pub plugin: PluginId,
    pub grants: CapabilitySet,
    pub db: Db,
    pub clock: SharedClock,
    pub metrics: InstallationMetrics,
    /// The installation's limits, and the rates its quotas count.
    pub quotas: quota::Quotas,
    /// Where the lines it logs are kept for the API.
    pub log_tail: log::tail::LogTail,
}

impl InstallationContext {
    /// Counts and logs a refused call, and builds the error the plugin gets.
    pub fn deny(&self, capability: &str, why: impl Into<String>) -> WitError {
        let why = why.into();
        self.metrics.denied(capability);
        tracing::warn!(
            installation = %self.installation,
            capability,
            "denied plugin call: {why}"
        );
        WitError::Denied(why)
    }

    /// Logs a database failure and builds the error the plugin gets; the details stay in the host log.
    pub fn internal(&self, capability: &str, error: impl std::fmt::Display) -> WitError {
        tracing::error!(installation = %self.installation, capability, "host call failed: {error}");
        WitError::Internal(format!(
            "{capability}: the host could not complete the call"
        ))
    }
}

/// Per-instance state of every capability, kept in the wasmtime store.
pub struct InstanceCaps {
    pub sensor: sensor::SensorHost,
    pub store: store::StoreHost,
    pub timer: timer::TimerHost,
    pub ledger: ledger::LedgerHost,
    pub alarm: alarm::AlarmHost,
    pub map: map::MapHost,
    pub notify: notify::NotifyHost,
    pub log: log::LogHost,
    /// Answers what the installation was granted; it has no effects.
    pub grants: grants::GrantsHost,
}

impl InstanceCaps {
    /// Fresh per-instance state for an installation, each capability on its own service.
    pub fn new(ctx: Arc<InstallationContext>, services: &Services) -> Self {
        Self {
            sensor: sensor::SensorHost::new(ctx.clone(), services.map.clone()),
            store: store::StoreHost::new(ctx.clone()),
            timer: timer::TimerHost::new(ctx.clone()),
            ledger: ledger::LedgerHost::new(ctx.clone(), services.ledger.clone()),
            alarm: alarm::AlarmHost::new(ctx.clone(), services.feed.clone()),
            map: map::MapHost::new(ctx.clone(), services.map.clone()),
            notify: notify::NotifyHost::new(ctx.clone(), services.notify.clone()),
            log: log::LogHost::new(ctx.clone()),
            grants: grants::GrantsHost::new(ctx),
        }
    }

    /// Every capability's effects, in the order they are committed.
    fn effects(&mut self) -> [&mut dyn Effects; 8] {
        [
            &mut self.sensor,
            &mut self.store,
            &mut self.timer,
            &mut self.ledger,
            &mut self.alarm,
            &mut self.map,
            &mut self.notify,
            &mut self.log,
        ]
    }

    /// A new call into the plugin starts: per-call limits count from here.
    pub fn begin_call(&mut self) {
        self.effects().into_iter().for_each(|e| e.begin_call());
    }

    /// Writes the effects of the handlers since the last commit into `tx`.
    pub async fn commit(&mut self, tx: &mut Tx) -> Result<(), CommitError> {
        for effects in self.effects() {
            effects.commit(tx).await?;
        }
        Ok(())
    }

    /// Called once `tx` has committed: announces what landed, lets go of what was held.
    pub fn committed(&mut self) {
        self.effects().into_iter().for_each(|e| e.committed());
    }

    /// Forgets the effects of a handler that failed, or of a transaction that did not land.
    pub fn discard(&mut self) {
        self.effects().into_iter().for_each(|e| e.discard());
    }

    /// How long the running call waited for shared resources; this time
    /// does not count against its budget.
    pub fn waited(&mut self) -> std::time::Duration {
        self.effects().iter().map(|e| e.waited()).sum()
    }

    /// Whether the running call gave up on a shared resource that stayed
    /// busy: its event is to be handled again, not failed.
    pub fn contended(&mut self) -> bool {
        self.effects().iter().any(|e| e.contended())
    }

    /// Whether the pending effects should be committed now rather than
    /// joined by the next handler's.
    pub fn commit_now(&mut self) -> bool {
        self.effects().iter().any(|e| e.commit_now())
    }
}

/// What the data of a wasmtime store gives the capabilities: their
/// per-instance state. The runtime's store data implements it; the
/// capabilities never name the runtime's types (as wasmtime-wasi asks only
/// for a `WasiView`).
pub trait CapsView: Send + 'static {
    fn caps(&mut self) -> &mut InstanceCaps;
}

/// Adds every capability's WIT interface to the linker.
pub fn add_to_linker<T: CapsView>(linker: &mut Linker<T>) -> wasmtime::Result<()> {
    use crate::wit::linli::platform as wit;
    wit::types::add_to_linker::<T, HasSelf<_>>(linker, |s: &mut T| &mut s.caps().log)?;
    wit::events::add_to_linker::<T, HasSelf<_>>(linker, |s: &mut T| &mut s.caps().log)?;
    wit::sensor::add_to_linker::<T, HasSelf<_>>(linker, |s: &mut T| &mut s.caps().sensor)?;
    wit::store::add_to_linker::<T, HasSelf<_>>(linker, |s: &mut T| &mut s.caps().store)?;
    wit::timer::add_to_linker::<T, HasSelf<_>>(linker, |s: &mut T| &mut s.caps().timer)?;
    wit::log::add_to_linker::<T, HasSelf<_>>(linker, |s: &mut T| &mut s.caps().log)?;
    wit::ledger::add_to_linker::<T, HasSelf<_>>(linker, |s: &mut T| &mut s.caps().ledger)?;
    wit::alarm::add_to_linker::<T, HasSelf<_>>(linker, |s: &mut T| &mut s.caps().alarm)?;
    wit::map::add_to_linker::<T, HasSelf<_>>(linker, |s: &mut T| &mut s.caps().map)?;
    wit::notify::add_to_linker::<T, HasSelf<_>>(linker, |s: &mut T| &mut s.caps().notify)?;
    wit::grants::add_to_linker::<T, HasSelf<_>>(linker, |s: &mut T| &mut s.caps().grants)?;
    Ok(())
}
