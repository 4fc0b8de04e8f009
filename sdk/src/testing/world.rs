//! Everything the simulated host knows, and its answers to the plugin's
//! calls: the `Host` trait of the SDK's native interfaces, implemented the
//! way `host/src/caps/*` implements the WIT interfaces — the grant first
//! (`denied` with the host's words), then the arguments (`invalid`), then
//! the capability's own state.
//!
//! What a handler can change is gathered in [`Effects`], which the harness
//! copies before each handler and puts back if it fails: that is the host's
//! commit-on-success, seen from the plugin. The map, devices, readings,
//! clock and log are the community's and stay.

use super::alarms::{self, Alarms, Raise};
use super::devices::Devices;
use super::grants::Grants;
use super::ledger::Ledger;
use super::log::{self, LogLine};
use super::map::CommunityMap;
use super::notify::{self, Messages};
use super::store::Store;
use super::timers::Timers;
use crate::alarm::{AlarmChange, AlarmInfo};
use crate::grants::GrantSet;
use crate::ledger::{Account, Entry, EntryRef, LedgerError};
use crate::map::{Origin, Person, Place, PlaceDistance, PlaceKind, Relation};
use crate::native::{Host, Transfer};
use crate::notify::{Message, MessageStatus, Sent};
use crate::sensor::{Device, Reading};
use crate::{Error, Severity, Timestamp};

/// Most places or people one map call lists, as on the host.
const MAX_LISTED: usize = 5000;
/// Most points one `nearest` call returns, as on the host.
const MAX_NEAREST: u32 = 100;
/// Most points one `within-radius` call returns, as on the host.
const MAX_WITHIN_RADIUS: usize = 1000;

/// What a handler's calls change; kept only when the handler succeeds.
#[derive(Debug, Clone, Default)]
pub(crate) struct Effects {
    pub store: Store,
    pub timers: Timers,
    pub alarms: Alarms,
    pub messages: Messages,
    pub ledger: Ledger,
    /// Alarm changes the running handler made, in order: the host never
    /// delivers an installation's own changes back to it, but a test may
    /// want to see them.
    pub alarm_changes: Vec<AlarmChange>,
}

/// The simulated community and installation.
pub(crate) struct World {
    /// The plugin's id, from its manifest: who raised an alarm or wrote an entry.
    pub plugin: String,
    pub grants: Grants,
    pub map: CommunityMap,
    pub devices: Devices,
    pub now: Timestamp,
    pub log: Vec<LogLine>,
    pub effects: Effects,
    /// The last id handed out; ids are never reused, even by a failed handler.
    last_id: u64,
}

impl World {
    pub fn new(plugin: String, grants: Grants, now: Timestamp) -> Self {
        Self {
            plugin,
            grants,
            map: CommunityMap::default(),
            devices: Devices::default(),
            now,
            log: Vec::new(),
            effects: Effects::default(),
            last_id: 0,
        }
    }

    /// A fresh id such as `alm_3` or `msg_7`.
    pub fn new_id(&mut self, prefix: &str) -> String {
        self.last_id += 1;
        format!("{prefix}_{}", self.last_id)
    }

    /// Raises an alarm as `by` (the plugin, or the platform for its own types).
    pub fn raise_as(
        &mut self,
        by: &str,
        originator: &str,
        alarm_type: &str,
        severity: Severity,
        details: &str,
    ) -> Result<AlarmChange, Error> {
        let location = self.devices.location(originator).flatten();
        let id = self.new_id("alm");
        let raise = Raise {
            originator,
            alarm_type,
            severity,
            details,
            by,
            location,
        };
        self.effects.alarms.raise(raise, self.now, || id)
    }

    fn listed<T>(items: Vec<T>) -> Result<Vec<T>, Error> {
        if items.len() > MAX_LISTED {
            return Err(Error::Limit(format!(
                "{} results; at most {MAX_LISTED}: narrow the scope",
                items.len()
            )));
        }
        Ok(items)
    }

    fn check_poi_kind(kind: &str) -> Result<(), Error> {
        let ok = !kind.is_empty()
            && kind.len() <= 64
            && kind
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
        if ok {
            Ok(())
        } else {
            Err(Error::Invalid(format!(
                "{kind:?} is not a point-of-interest kind: 1-64 characters of a-z, 0-9 or '-'"
            )))
        }
    }
}

impl Host for World {
    fn sensor_latest(&mut self, device: &str, kind: &str) -> Result<Option<Reading>, Error> {
        self.grants.sensor_kind(kind)?;
        Ok(self.devices.latest(device, kind))
    }

    fn sensor_history(
        &mut self,
        device: &str,
        kind: &str,
        start: Timestamp,
        end: Timestamp,
        limit: u32,
    ) -> Result<Vec<Reading>, Error> {
        self.grants.sensor_kind(kind)?;
        self.devices.history(device, kind, start, end, limit)
    }

    fn sensor_devices(&mut self, kind: Option<&str>) -> Result<Vec<Device>, Error> {
        match kind {
            Some(kind) => self.grants.sensor_kind(kind)?,
            None => {
                self.grants.sensor()?;
            }
        }
        let grants = &self.grants;
        Ok(self
            .devices
            .reporting(kind, |k| grants.receives_readings(k)))
    }

    fn store_get(&mut self, key: &str) -> Result<Option<Vec<u8>>, Error> {
        self.grants.store()?;
        self.effects.store.get(key)
    }

    fn store_set(&mut self, key: &str, value: &[u8]) -> Result<(), Error> {
        self.grants.store()?;
        self.effects.store.set(key, value)
    }

    fn store_delete(&mut self, key: &str) -> Result<bool, Error> {
        self.grants.store()?;
        self.effects.store.delete(key)
    }

    fn store_list_keys(
        &mut self,
        prefix: &str,
        start_after: Option<&str>,
        limit: u32,
    ) -> Result<Vec<String>, Error> {
        self.grants.store()?;
        Ok(self.effects.store.list_keys(prefix, start_after, limit))
    }

    fn timer_now(&mut self) -> Timestamp {
        self.now
    }

    fn timer_schedule(
        &mut self,
        tag: &str,
        at: Timestamp,
        every_ms: Option<u64>,
    ) -> Result<(), Error> {
        self.grants.timer()?;
        self.effects.timers.schedule(tag, at, every_ms)
    }

    fn timer_cancel(&mut self, tag: &str) -> Result<bool, Error> {
        self.grants.timer()?;
        self.effects.timers.cancel(tag)
    }

    fn log_write(&mut self, level: crate::log::Level, message: &str, fields: &[(String, String)]) {
        self.log.push(log::line(level, message, fields));
    }

    fn ledger_open_account(
        &mut self,
        name: &str,
        floor: Option<i64>,
        idempotency_key: &str,
    ) -> Result<Account, LedgerError> {
        self.grants.ledger_name("account", name)?;
        let (plugin, now) = (self.plugin.clone(), self.now);
        self.effects
            .ledger
            .open_account(&plugin, name, floor, idempotency_key, now)
    }

    fn ledger_transfer(&mut self, t: Transfer<'_>) -> Result<EntryRef, LedgerError> {
        self.grants.ledger_name("source", t.source)?;
        self.grants.ledger_name("target", t.target)?;
        let (plugin, now) = (self.plugin.clone(), self.now);
        self.effects.ledger.transfer(&plugin, t, now)
    }

    fn ledger_append_record(
        &mut self,
        kind: &str,
        body: &str,
        idempotency_key: &str,
    ) -> Result<EntryRef, LedgerError> {
        self.grants.ledger_name("kind", kind)?;
        let (plugin, now) = (self.plugin.clone(), self.now);
        self.effects
            .ledger
            .append_record(&plugin, kind, body, idempotency_key, now)
    }

    fn ledger_balance(&mut self, name: &str) -> Result<Account, LedgerError> {
        self.grants.ledger_name("account", name)?;
        self.effects
            .ledger
            .account(name)
            .cloned()
            .ok_or_else(|| LedgerError::UnknownAccount(name.to_owned()))
    }

    fn ledger_entries(
        &mut self,
        account: Option<&str>,
        after: Option<u64>,
        limit: u32,
    ) -> Result<Vec<Entry>, LedgerError> {
        if let Some(account) = account {
            self.grants.ledger_name("account", account)?;
        }
        let scope = self.grants.ledger.clone().unwrap_or_default();
        Ok(self
            .effects
            .ledger
            .entries(account, after, limit, |name| scope.allows(name)))
    }

    fn alarm_raise(
        &mut self,
        originator: &str,
        alarm_type: &str,
        severity: Severity,
        details: &str,
    ) -> Result<AlarmInfo, Error> {
        alarms::check_type_spelling(alarm_type)?;
        self.grants.alarm_type(alarm_type)?;
        alarms::check_change(originator, alarm_type)?;
        let plugin = self.plugin.clone();
        let change = self.raise_as(&plugin, originator, alarm_type, severity, details)?;
        self.effects.alarm_changes.push(change.clone());
        Ok(change.alarm)
    }

    fn alarm_clear(
        &mut self,
        originator: &str,
        alarm_type: &str,
    ) -> Result<Option<AlarmInfo>, Error> {
        alarms::check_type_spelling(alarm_type)?;
        self.grants.alarm_type(alarm_type)?;
        alarms::check_change(originator, alarm_type)?;
        let change = self
            .effects
            .alarms
            .clear(originator, alarm_type, &self.plugin);
        self.effects.alarm_changes.extend(change.clone());
        Ok(change.map(|c| c.alarm))
    }

    fn alarm_acknowledge(&mut self, id: &str) -> Result<AlarmInfo, Error> {
        let alarm = self
            .effects
            .alarms
            .by_id(id)
            .ok_or_else(|| Error::NotFound(format!("no alarm {id}")))?;
        self.grants.alarm_type(&alarm.alarm_type.clone())?;
        let (alarm, change) = self.effects.alarms.acknowledge(id, &self.plugin)?;
        self.effects.alarm_changes.extend(change);
        Ok(alarm)
    }

    fn alarm_active(
        &mut self,
        originator: &str,
        alarm_type: &str,
    ) -> Result<Option<AlarmInfo>, Error> {
        alarms::check_type_spelling(alarm_type)?;
        self.grants.alarm_type(alarm_type)?;
        Ok(self.effects.alarms.active(originator, alarm_type))
    }

    fn alarm_list_active(
        &mut self,
        alarm_type: Option<&str>,
        limit: u32,
    ) -> Result<Vec<AlarmInfo>, Error> {
        match alarm_type {
            Some(t) => {
                alarms::check_type_spelling(t)?;
                self.grants.alarm_type(t)?;
            }
            None => {
                self.grants.alarm()?;
            }
        }
        let grants = &self.grants;
        Ok(self.effects.alarms.list_active(
            |a| {
                grants.watches_alarms(&a.alarm_type) && alarm_type.is_none_or(|t| t == a.alarm_type)
            },
            limit,
        ))
    }

    fn map_get(&mut self, id: &str) -> Result<Place, Error> {
        self.grants.map()?;
        self.map.get(id)
    }

    fn map_children(&mut self, id: Option<&str>) -> Result<Vec<Place>, Error> {
        self.grants.map()?;
        Self::listed(self.map.children(id)?)
    }

    fn map_ancestors(&mut self, id: &str) -> Result<Vec<Place>, Error> {
        self.grants.map()?;
        self.map.ancestors(id)
    }

    fn map_descendants(
        &mut self,
        id: &str,
        kind: Option<PlaceKind>,
        poi_kind: Option<&str>,
    ) -> Result<Vec<Place>, Error> {
        if let Some(poi_kind) = poi_kind {
            Self::check_poi_kind(poi_kind)?;
        }
        self.grants.map()?;
        let found = self.map.descendants(id, |p| {
            kind.is_none_or(|k| p.kind == k)
                && poi_kind.is_none_or(|k| p.poi_kind.as_deref() == Some(k))
        })?;
        Self::listed(found)
    }

    fn map_nearest(
        &mut self,
        poi_kind: &str,
        origin: &Origin,
        k: u32,
    ) -> Result<Vec<PlaceDistance>, Error> {
        Self::check_poi_kind(poi_kind)?;
        self.grants.map()?;
        let mut found = self.map.by_distance(poi_kind, origin)?;
        found.truncate(k.min(MAX_NEAREST) as usize);
        Ok(found)
    }

    fn map_within_radius(
        &mut self,
        poi_kind: &str,
        origin: &Origin,
        radius_m: f64,
    ) -> Result<Vec<PlaceDistance>, Error> {
        Self::check_poi_kind(poi_kind)?;
        self.grants.map()?;
        if !(radius_m.is_finite() && radius_m >= 0.0) {
            return Err(Error::Invalid(
                "radius must be a finite number of metres, at least 0".to_owned(),
            ));
        }
        let mut found = self.map.by_distance(poi_kind, origin)?;
        found.retain(|p| p.distance_m <= radius_m);
        found.truncate(MAX_WITHIN_RADIUS);
        Ok(found)
    }

    fn map_locate(&mut self, device: &str) -> Result<Option<Place>, Error> {
        self.grants.map()?;
        let location = self
            .devices
            .location(device)
            .ok_or_else(|| Error::NotFound(format!("no device {device}")))?;
        Ok(location.and_then(|l| self.map.place(&l).cloned()))
    }

    fn map_get_person(&mut self, id: &str) -> Result<Person, Error> {
        self.grants.map_people()?;
        self.map
            .person(id)
            .cloned()
            .ok_or_else(|| Error::NotFound(format!("no person {id} in the map")))
    }

    fn map_people(
        &mut self,
        relation: Relation,
        scope: Option<&str>,
    ) -> Result<Vec<Person>, Error> {
        self.grants.map_people()?;
        Self::listed(self.map.related(relation, scope)?)
    }

    fn notify_send(&mut self, message: &Message) -> Result<Sent, Error> {
        self.grants.notify()?;
        notify::check_topic(&message.topic)?;
        self.grants
            .notify_message(&message.topic, notify::is_critical(message.severity))?;
        notify::check(message)?;
        let id = self.new_id("msg");
        self.effects
            .messages
            .send(message, &self.map, self.now, || id)
    }

    fn notify_status(&mut self, id: &str) -> Result<MessageStatus, Error> {
        self.grants.notify()?;
        self.effects.messages.status(id)
    }

    fn notify_cancel(&mut self, id: &str) -> Result<bool, Error> {
        self.grants.notify()?;
        self.effects.messages.cancel(id)
    }

    fn grants_granted(&mut self) -> GrantSet {
        self.grants.grant_set()
    }
}
