//! The host interfaces on native targets, where there is no host to import.
//!
//! A plugin calls `linli_sdk::store::get`, `linli_sdk::alarm::raise` and the
//! rest the same way whatever it is compiled for. In a wasm component those
//! are the generated imports; natively (a vendor's `cargo test`) the
//! generated functions would panic, so each interface here re-exports the
//! generated module's types with a glob and defines its functions itself,
//! with exactly the generated signatures: a local item shadows a glob
//! import, so plugin code compiles unchanged for both targets.
//!
//! Every function hands its call to the [`Host`] installed on the running
//! thread, which is the simulated host of [`crate::testing`] when the
//! `testing` feature is on; without one the call panics, saying how to get
//! one. A thread-local suits `cargo test`, which runs each test on its own
//! thread: tests never see each other's host.

use std::cell::RefCell;
use std::rc::Rc;

use crate::bindings::linli::platform::{
    alarm as wit_alarm, grants as wit_grants, ledger as wit_ledger, log as wit_log, map as wit_map,
    notify as wit_notify, sensor as wit_sensor,
};
use crate::{Error, Severity, Timestamp};

/// What a host answers: one method per function of `wit/platform.wit`,
/// named `interface_function`, taking what the generated import takes.
pub(crate) trait Host {
    fn sensor_latest(
        &mut self,
        device: &str,
        kind: &str,
    ) -> Result<Option<wit_sensor::Reading>, Error>;
    fn sensor_history(
        &mut self,
        device: &str,
        kind: &str,
        start: Timestamp,
        end: Timestamp,
        limit: u32,
    ) -> Result<Vec<wit_sensor::Reading>, Error>;
    fn sensor_devices(&mut self, kind: Option<&str>) -> Result<Vec<wit_sensor::Device>, Error>;

    fn store_get(&mut self, key: &str) -> Result<Option<Vec<u8>>, Error>;
    fn store_set(&mut self, key: &str, value: &[u8]) -> Result<(), Error>;
    fn store_delete(&mut self, key: &str) -> Result<bool, Error>;
    fn store_list_keys(
        &mut self,
        prefix: &str,
        start_after: Option<&str>,
        limit: u32,
    ) -> Result<Vec<String>, Error>;

    fn timer_now(&mut self) -> Timestamp;
    fn timer_schedule(
        &mut self,
        tag: &str,
        at: Timestamp,
        every_ms: Option<u64>,
    ) -> Result<(), Error>;
    fn timer_cancel(&mut self, tag: &str) -> Result<bool, Error>;

    fn log_write(&mut self, level: wit_log::Level, message: &str, fields: &[(String, String)]);

    fn ledger_open_account(
        &mut self,
        name: &str,
        floor: Option<i64>,
        idempotency_key: &str,
    ) -> Result<wit_ledger::Account, wit_ledger::LedgerError>;
    fn ledger_transfer(
        &mut self,
        transfer: Transfer<'_>,
    ) -> Result<wit_ledger::EntryRef, wit_ledger::LedgerError>;
    fn ledger_append_record(
        &mut self,
        kind: &str,
        body: &str,
        idempotency_key: &str,
    ) -> Result<wit_ledger::EntryRef, wit_ledger::LedgerError>;
    fn ledger_balance(
        &mut self,
        name: &str,
    ) -> Result<wit_ledger::Account, wit_ledger::LedgerError>;
    fn ledger_entries(
        &mut self,
        account: Option<&str>,
        after: Option<u64>,
        limit: u32,
    ) -> Result<Vec<wit_ledger::Entry>, wit_ledger::LedgerError>;

    fn alarm_raise(
        &mut self,
        originator: &str,
        alarm_type: &str,
        severity: Severity,
        details: &str,
    ) -> Result<wit_alarm::AlarmInfo, Error>;
    fn alarm_clear(
        &mut self,
        originator: &str,
        alarm_type: &str,
    ) -> Result<Option<wit_alarm::AlarmInfo>, Error>;
    fn alarm_acknowledge(&mut self, id: &str) -> Result<wit_alarm::AlarmInfo, Error>;
    fn alarm_active(
        &mut self,
        originator: &str,
        alarm_type: &str,
    ) -> Result<Option<wit_alarm::AlarmInfo>, Error>;
    fn alarm_list_active(
        &mut self,
        alarm_type: Option<&str>,
        limit: u32,
    ) -> Result<Vec<wit_alarm::AlarmInfo>, Error>;

    fn map_get(&mut self, id: &str) -> Result<wit_map::Place, Error>;
    fn map_children(&mut self, id: Option<&str>) -> Result<Vec<wit_map::Place>, Error>;
    fn map_ancestors(&mut self, id: &str) -> Result<Vec<wit_map::Place>, Error>;
    fn map_descendants(
        &mut self,
        id: &str,
        kind: Option<wit_map::PlaceKind>,
        poi_kind: Option<&str>,
    ) -> Result<Vec<wit_map::Place>, Error>;
    fn map_nearest(
        &mut self,
        poi_kind: &str,
        origin: &wit_map::Origin,
        k: u32,
    ) -> Result<Vec<wit_map::PlaceDistance>, Error>;
    fn map_within_radius(
        &mut self,
        poi_kind: &str,
        origin: &wit_map::Origin,
        radius_m: f64,
    ) -> Result<Vec<wit_map::PlaceDistance>, Error>;
    fn map_locate(&mut self, device: &str) -> Result<Option<wit_map::Place>, Error>;
    fn map_get_person(&mut self, id: &str) -> Result<wit_map::Person, Error>;
    fn map_people(
        &mut self,
        relation: wit_map::Relation,
        scope: Option<&str>,
    ) -> Result<Vec<wit_map::Person>, Error>;

    fn notify_send(&mut self, message: &wit_notify::Message) -> Result<wit_notify::Sent, Error>;
    fn notify_status(&mut self, id: &str) -> Result<wit_notify::MessageStatus, Error>;
    fn notify_cancel(&mut self, id: &str) -> Result<bool, Error>;

    fn grants_granted(&mut self) -> wit_grants::GrantSet;
}

/// The arguments of `ledger.transfer`, gathered so the trait method stays readable.
// Only a host reads them, and without `testing` there is none to read them.
#[cfg_attr(not(feature = "testing"), allow(dead_code))]
pub(crate) struct Transfer<'a> {
    pub source: &'a str,
    pub target: &'a str,
    pub amount: i64,
    pub memo: &'a str,
    pub evidence: Option<&'a str>,
    pub idempotency_key: &'a str,
}

/// A host shared between the test that drives it and the plugin code it answers.
pub(crate) type SharedHost = Rc<RefCell<dyn Host>>;

thread_local! {
    /// The host this thread's plugin calls go to.
    static CURRENT: RefCell<Option<SharedHost>> = const { RefCell::new(None) };
}

/// Makes `host` the one this thread's calls go to (or none); returns the one before.
#[cfg(feature = "testing")]
pub(crate) fn install(host: Option<SharedHost>) -> Option<SharedHost> {
    CURRENT.replace(host)
}

/// Runs `call` on this thread's host; panics when there is none.
fn with_host<R>(function: &str, call: impl FnOnce(&mut dyn Host) -> R) -> R {
    let Some(host) = CURRENT.with_borrow(Clone::clone) else {
        if cfg!(feature = "testing") {
            panic!(
                "linli-sdk: `{function}` was called natively with no simulated host on this \
                 thread; start one with `linli_sdk::testing::SimulatedHost` and drive the scene \
                 through it"
            );
        }
        panic!(
            "linli-sdk: `{function}` was called natively, where there is no linli host; enable \
             the `testing` feature of linli-sdk (`[dev-dependencies] linli-sdk = {{ ..., \
             features = [\"testing\"] }}`) and start a `linli_sdk::testing::SimulatedHost`"
        );
    };
    let mut host = host.borrow_mut();
    call(&mut *host)
}

/// `linli:platform/sensor`.
pub mod sensor {
    pub use crate::bindings::linli::platform::sensor::*;

    use super::with_host;

    /// The newest reading of `kind` from `device`.
    pub fn latest(device: &str, kind: &str) -> Result<Option<Reading>, Error> {
        with_host("sensor::latest", |h| h.sensor_latest(device, kind))
    }

    /// Readings of `kind` from `device` with `start <= at < end`, oldest first, at most `limit`.
    pub fn history(
        device: &str,
        kind: &str,
        start: Timestamp,
        end: Timestamp,
        limit: u32,
    ) -> Result<Vec<Reading>, Error> {
        with_host("sensor::history", |h| {
            h.sensor_history(device, kind, start, end, limit)
        })
    }

    /// Devices of the community that report `kind` (every device when none is given).
    pub fn devices(kind: Option<&str>) -> Result<Vec<Device>, Error> {
        with_host("sensor::devices", |h| h.sensor_devices(kind))
    }
}

/// `linli:platform/store`.
pub mod store {
    pub use crate::bindings::linli::platform::store::*;

    use super::with_host;

    /// The value under `key`, if any.
    pub fn get(key: &str) -> Result<Option<Vec<u8>>, Error> {
        with_host("store::get", |h| h.store_get(key))
    }

    /// Writes `value` under `key`.
    pub fn set(key: &str, value: &[u8]) -> Result<(), Error> {
        with_host("store::set", |h| h.store_set(key, value))
    }

    /// Removes `key`; returns whether it existed.
    pub fn delete(key: &str) -> Result<bool, Error> {
        with_host("store::delete", |h| h.store_delete(key))
    }

    /// Keys starting with `prefix`, in order, after `start_after`, at most `limit`.
    pub fn list_keys(
        prefix: &str,
        start_after: Option<&str>,
        limit: u32,
    ) -> Result<Vec<String>, Error> {
        with_host("store::list_keys", |h| {
            h.store_list_keys(prefix, start_after, limit)
        })
    }
}

/// `linli:platform/timer`.
pub mod timer {
    pub use crate::bindings::linli::platform::timer::*;

    use super::with_host;

    /// The host's current time.
    pub fn now() -> Timestamp {
        with_host("timer::now", |h| h.timer_now())
    }

    /// Fires `timer-fired` with `tag` at `at`, then every `every_ms` if given.
    pub fn schedule(tag: &str, at: Timestamp, every_ms: Option<u64>) -> Result<(), Error> {
        with_host("timer::schedule", |h| h.timer_schedule(tag, at, every_ms))
    }

    /// Cancels the timer with `tag`; returns whether it existed.
    pub fn cancel(tag: &str) -> Result<bool, Error> {
        with_host("timer::cancel", |h| h.timer_cancel(tag))
    }
}

/// `linli:platform/log`.
pub mod log {
    pub use crate::bindings::linli::platform::log::*;

    use super::with_host;

    /// Writes one line into the host's log.
    pub fn write(level: Level, message: &str, fields: &[(String, String)]) {
        with_host("log::write", |h| h.log_write(level, message, fields))
    }
}

/// `linli:platform/ledger`.
pub mod ledger {
    pub use crate::bindings::linli::platform::ledger::*;

    use super::{with_host, Transfer};

    /// Opens an account (opening an existing account returns it unchanged).
    pub fn open_account(
        name: &str,
        floor: Option<i64>,
        idempotency_key: &str,
    ) -> Result<Account, LedgerError> {
        with_host("ledger::open_account", |h| {
            h.ledger_open_account(name, floor, idempotency_key)
        })
    }

    /// Moves `amount` (> 0) from one account to another.
    pub fn transfer(
        source: &str,
        target: &str,
        amount: i64,
        memo: &str,
        evidence: Option<&str>,
        idempotency_key: &str,
    ) -> Result<EntryRef, LedgerError> {
        with_host("ledger::transfer", |h| {
            h.ledger_transfer(Transfer {
                source,
                target,
                amount,
                memo,
                evidence,
                idempotency_key,
            })
        })
    }

    /// Appends a typed record; `body` is JSON.
    pub fn append_record(
        kind: &str,
        body: &str,
        idempotency_key: &str,
    ) -> Result<EntryRef, LedgerError> {
        with_host("ledger::append_record", |h| {
            h.ledger_append_record(kind, body, idempotency_key)
        })
    }

    /// An account's balance.
    pub fn balance(name: &str) -> Result<Account, LedgerError> {
        with_host("ledger::balance", |h| h.ledger_balance(name))
    }

    /// Entries touching `account` (every entry of the granted namespaces when none).
    pub fn entries(
        account: Option<&str>,
        after: Option<u64>,
        limit: u32,
    ) -> Result<Vec<Entry>, LedgerError> {
        with_host("ledger::entries", |h| {
            h.ledger_entries(account, after, limit)
        })
    }
}

/// `linli:platform/alarm`.
pub mod alarm {
    pub use crate::bindings::linli::platform::alarm::*;

    use super::with_host;

    /// Raises an alarm, or updates the active one of this (originator, type).
    pub fn raise(
        originator: &str,
        alarm_type: &str,
        severity: Severity,
        details: &str,
    ) -> Result<AlarmInfo, Error> {
        with_host("alarm::raise", |h| {
            h.alarm_raise(originator, alarm_type, severity, details)
        })
    }

    /// Clears the active alarm of (originator, type).
    pub fn clear(originator: &str, alarm_type: &str) -> Result<Option<AlarmInfo>, Error> {
        with_host("alarm::clear", |h| h.alarm_clear(originator, alarm_type))
    }

    /// Acknowledges an alarm by id.
    pub fn acknowledge(id: &str) -> Result<AlarmInfo, Error> {
        with_host("alarm::acknowledge", |h| h.alarm_acknowledge(id))
    }

    /// The active alarm of (originator, type), if any.
    pub fn active(originator: &str, alarm_type: &str) -> Result<Option<AlarmInfo>, Error> {
        with_host("alarm::active", |h| h.alarm_active(originator, alarm_type))
    }

    /// Active alarms of the granted types (or of `alarm_type`), newest first.
    pub fn list_active(alarm_type: Option<&str>, limit: u32) -> Result<Vec<AlarmInfo>, Error> {
        with_host("alarm::list_active", |h| {
            h.alarm_list_active(alarm_type, limit)
        })
    }
}

/// `linli:platform/map`.
pub mod map {
    pub use crate::bindings::linli::platform::map::*;

    use super::with_host;

    /// One place.
    pub fn get(id: &str) -> Result<Place, Error> {
        with_host("map::get", |h| h.map_get(id))
    }

    /// The places directly under `id` (under the community when `None`).
    pub fn children(id: Option<&str>) -> Result<Vec<Place>, Error> {
        with_host("map::children", |h| h.map_children(id))
    }

    /// The places above `id`, its parent first.
    pub fn ancestors(id: &str) -> Result<Vec<Place>, Error> {
        with_host("map::ancestors", |h| h.map_ancestors(id))
    }

    /// Everything under `id`, optionally only of `kind` and `poi_kind`.
    pub fn descendants(
        id: &str,
        kind: Option<PlaceKind>,
        poi_kind: Option<&str>,
    ) -> Result<Vec<Place>, Error> {
        with_host("map::descendants", |h| {
            h.map_descendants(id, kind, poi_kind)
        })
    }

    /// The `k` points of interest of `poi_kind` nearest to `origin`.
    pub fn nearest(poi_kind: &str, origin: &Origin, k: u32) -> Result<Vec<PlaceDistance>, Error> {
        with_host("map::nearest", |h| h.map_nearest(poi_kind, origin, k))
    }

    /// The points of interest of `poi_kind` within `radius_m` metres of `origin`.
    pub fn within_radius(
        poi_kind: &str,
        origin: &Origin,
        radius_m: f64,
    ) -> Result<Vec<PlaceDistance>, Error> {
        with_host("map::within_radius", |h| {
            h.map_within_radius(poi_kind, origin, radius_m)
        })
    }

    /// The place a device is in.
    pub fn locate(device: &str) -> Result<Option<Place>, Error> {
        with_host("map::locate", |h| h.map_locate(device))
    }

    /// One person (needs `people`).
    pub fn get_person(id: &str) -> Result<Person, Error> {
        with_host("map::get_person", |h| h.map_get_person(id))
    }

    /// The people tied to `scope` by `relation` (needs `people`).
    pub fn people(relation: Relation, scope: Option<&str>) -> Result<Vec<Person>, Error> {
        with_host("map::people", |h| h.map_people(relation, scope))
    }
}

/// `linli:platform/notify`.
pub mod notify {
    pub use crate::bindings::linli::platform::notify::*;

    use super::with_host;

    /// Sends a message; it is delivered once the handler succeeds.
    pub fn send(message: &Message) -> Result<Sent, Error> {
        with_host("notify::send", |h| h.notify_send(message))
    }

    /// A message this plugin sent.
    pub fn status(id: &str) -> Result<MessageStatus, Error> {
        with_host("notify::status", |h| h.notify_status(id))
    }

    /// Stops a message's escalation; returns whether it was open.
    pub fn cancel(id: &str) -> Result<bool, Error> {
        with_host("notify::cancel", |h| h.notify_cancel(id))
    }
}

/// `linli:platform/grants`.
pub mod grants {
    pub use crate::bindings::linli::platform::grants::*;

    use super::with_host;

    /// What this installation was granted.
    pub fn granted() -> GrantSet {
        with_host("grants::granted", |h| h.grants_granted())
    }
}
