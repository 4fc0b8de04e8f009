//! The alarms the plugin raises and watches. A new alarm opens (or joins)
//! a work order and is told to people once; a condition that persists
//! refreshes its alarm at most every [`REFRESH_MS`]; an alarm that ends —
//! cleared by the plugin, an operator or the platform, or closed with its
//! work order — lets go of everything that was waiting on it.
//!
//! What the plugin knows of an alarm lives under `alarm/<id>`: its work
//! order, the detectors behind it and the messages sent about it.

use linli_sdk::alarm::{self, AlarmChange, AlarmInfo, ChangeKind};
use linli_sdk::notify::{self, Acknowledgement};
use linli_sdk::{state, Error, Severity};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value as Json};

use crate::config::Config;
use crate::devices::{self, DeviceState};
use crate::order_lifecycle::{Opening, WorkOrder};
use crate::placement::Placement;
use crate::{false_alarms, fire, health, notices, work_orders};

/// How often a condition that persists updates its alarm (count, last
/// seen): often enough for "last seen" to mean something, rarely enough
/// that a chattering device does not write the alarm, its audit trail and
/// the community feed on every reading.
pub const REFRESH_MS: i64 = 10_000;

/// The platform's device alarms the plugin watches.
pub const DEVICE_OFFLINE: &str = "device-offline";
pub const DEVICE_BATTERY_LOW: &str = "device-battery-low";

/// Whether a condition last raised at `last` should raise its alarm again at `at`.
pub fn due(last: Option<i64>, at: i64) -> bool {
    last.is_none_or(|last| at - last >= REFRESH_MS)
}

/// A few words for an alarm type, for people.
pub fn describe(alarm_type: &str) -> &'static str {
    match alarm_type {
        fire::SUSPECTED => "Suspected fire",
        fire::CONFIRMED => "Fire",
        "hydrant-pressure-low" => "Hydrant pressure low",
        "tank-level-low" => "Fire water tank level low",
        "water-supply-tilt" => "Hydrant or tank tilted",
        "water-supply-leak" => "Water supply leaking",
        health::TAMPER => "Detector tampered with",
        false_alarms::MAINTENANCE => "Detector needs maintenance",
        DEVICE_OFFLINE => "Device offline",
        DEVICE_BATTERY_LOW => "Device battery low",
        _ => "Fault",
    }
}

/// What the plugin keeps about one alarm.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct AlarmRecord {
    pub alarm_type: String,
    pub originator: String,
    pub place: Option<String>,
    /// The detectors whose readings raised it.
    pub detectors: Vec<String>,
    pub work_order: String,
    /// Messages sent about it, whose escalation stops when it ends.
    pub messages: Vec<String>,
}

fn record_key(id: &str) -> String {
    format!("alarm/{id}")
}

pub fn record(id: &str) -> Result<Option<AlarmRecord>, Error> {
    state::get(&record_key(id))
}

pub fn save_record(id: &str, record: &AlarmRecord) -> Result<(), Error> {
    state::put(&record_key(id), record)
}

/// Raises `alarm_type` on `originator`; returns the alarm and whether it is new.
pub fn raise(
    originator: &str,
    alarm_type: &str,
    severity: Severity,
    details: &Json,
) -> Result<(AlarmInfo, bool), Error> {
    let alarm = alarm::raise(originator, alarm_type, severity, &details.to_string())?;
    let new = alarm.count == 1;
    Ok((alarm, new))
}

/// Raises or refreshes the alarm of a condition that holds on `device`;
/// returns the alarm when it is new.
pub fn hold(
    device_state: &mut DeviceState,
    device: &str,
    alarm_type: &str,
    severity: Severity,
    details: &Json,
    at: i64,
) -> Result<Option<AlarmInfo>, Error> {
    if !due(device_state.raised.get(alarm_type).copied(), at) {
        return Ok(None);
    }
    let (alarm, new) = raise(device, alarm_type, severity, details)?;
    device_state.raised.insert(alarm_type.to_owned(), at);
    Ok(new.then_some(alarm))
}

/// Clears the alarm of a condition on `device` that no longer holds.
pub fn release(
    device_state: &mut DeviceState,
    device: &str,
    alarm_type: &str,
) -> Result<(), Error> {
    if device_state.raised.remove(alarm_type).is_none() {
        return Ok(());
    }
    if let Some(cleared) = alarm::clear(device, alarm_type)? {
        ended(&cleared.id, work_orders::PLUGIN, "the condition ended")?;
    }
    Ok(())
}

/// A new alarm: opens or joins its work order and keeps its record. The
/// caller tells people and adds the messages with [`save_record`].
pub fn opened(
    config: &Config,
    alarm: &AlarmInfo,
    place: Option<String>,
    detectors: Vec<String>,
) -> Result<(WorkOrder, AlarmRecord), Error> {
    let order = work_orders::open_or_join(
        config,
        Opening {
            alarm: alarm.id.clone(),
            alarm_type: alarm.alarm_type.clone(),
            originator: alarm.originator.clone(),
            place: place.clone(),
            severity: alarm.severity,
            note: alarm.details.clone(),
        },
    )?;
    let record = AlarmRecord {
        alarm_type: alarm.alarm_type.clone(),
        originator: alarm.originator.clone(),
        place,
        detectors,
        work_order: order.id.clone(),
        messages: Vec::new(),
    };
    save_record(&alarm.id, &record)?;
    Ok((order, record))
}

/// A new fault: its work order, and the staff of its place told on
/// `topic`; returns the work order's id.
pub fn fault(
    config: &Config,
    alarm: &AlarmInfo,
    placement: &Placement,
    topic: &'static str,
    what: &str,
) -> Result<String, Error> {
    let place = placement.place.clone();
    let (order, mut record) = opened(config, alarm, place.clone(), vec![alarm.originator.clone()])?;
    let where_ = placement.name.as_deref().unwrap_or(&alarm.originator);
    let message = notices::Notice {
        topic,
        severity: alarm.severity,
        title: format!("{}: {where_}", describe(&alarm.alarm_type)),
        body: format!(
            "{what} Work order {} is due by {}.",
            order.id,
            work_orders::due_by(config, &order)
        ),
        data: json!({
            "alarm": alarm.id,
            "alarm_type": alarm.alarm_type,
            "device": alarm.originator,
            "place": place,
            "work_order": order.id,
            "deadline": order.deadline,
        }),
        key: format!("{}/{}", alarm.alarm_type, alarm.id),
    }
    .send(vec![notices::staff(config, place.as_deref())])?;
    record.messages.push(message);
    save_record(&alarm.id, &record)?;
    Ok(order.id)
}

/// An alarm of a watched type changed by someone else: the platform or a person.
pub fn changed(config: &Config, change: AlarmChange) -> Result<(), Error> {
    let alarm = &change.alarm;
    match change.change {
        ChangeKind::Raised if is_device_health(&alarm.alarm_type) => {
            health::device_alarm_raised(config, alarm)
        }
        ChangeKind::Cleared => {
            forget(&alarm.alarm_type, &alarm.originator)?;
            ended(&alarm.id, &change.by, "cleared")
        }
        ChangeKind::Acknowledged => match record(&alarm.id)? {
            Some(record) => {
                work_orders::note(&record.work_order, "alarm-acknowledged", &change.by, "")
            }
            None => Ok(()),
        },
        ChangeKind::Raised | ChangeKind::Updated => Ok(()),
    }
}

fn is_device_health(alarm_type: &str) -> bool {
    alarm_type == DEVICE_OFFLINE || alarm_type == DEVICE_BATTERY_LOW
}

/// An alarm ended: its messages stop escalating and its work order hears of it.
fn ended(id: &str, by: &str, how: &str) -> Result<(), Error> {
    let Some(record) = record(id)? else {
        return Ok(());
    };
    for message in &record.messages {
        notify::cancel(message)?;
    }
    work_orders::note(&record.work_order, "alarm-cleared", by, how)
}

/// Lets go of what the plugin kept for an active alarm of (type, originator),
/// so that the condition, if it persists, raises a new alarm.
fn forget(alarm_type: &str, originator: &str) -> Result<(), Error> {
    match alarm_type {
        fire::CONFIRMED => fire::forget_area(originator),
        DEVICE_OFFLINE | DEVICE_BATTERY_LOW => health::device_alarm_cleared(originator, alarm_type),
        _ => {
            let Some(mut device) = devices::get(originator)? else {
                return Ok(());
            };
            if device.raised.remove(alarm_type).is_some() {
                devices::put(originator, &device)?;
            }
            Ok(())
        }
    }
}

/// A work order closed: the plugin's alarm of its fault is over. (The
/// platform's device alarms end when the device recovers, not before.)
pub fn closed(order: &WorkOrder) -> Result<(), Error> {
    if is_device_health(&order.alarm_type) {
        return Ok(());
    }
    if order.alarm_type == false_alarms::MAINTENANCE {
        false_alarms::maintained(&order.originator)?;
    }
    match alarm::active(&order.originator, &order.alarm_type)? {
        Some(active) => clear(&active.id, &order.originator, &order.alarm_type).map(|_| ()),
        None => forget(&order.alarm_type, &order.originator),
    }
}

/// Clears alarm `id` of (`originator`, `alarm_type`) if it is still the
/// active one, stops its messages and lets go of its state; returns whether it was active.
pub fn clear(id: &str, originator: &str, alarm_type: &str) -> Result<bool, Error> {
    if let Some(record) = record(id)? {
        for message in &record.messages {
            notify::cancel(message)?;
        }
    }
    let active = alarm::active(originator, alarm_type)?.is_some_and(|a| a.id == id);
    if active {
        alarm::clear(originator, alarm_type)?;
        forget(alarm_type, originator)?;
    }
    Ok(active)
}

/// Someone acknowledged a message about an alarm: its work order records who and when.
pub fn acknowledged(ack: &Acknowledgement) -> Result<(), Error> {
    // Keys are `<alarm type>/<alarm id>[/<audience>]`.
    let Some(alarm) = ack.idempotency_key.split('/').nth(1) else {
        return Ok(());
    };
    match record(alarm)? {
        Some(record) => work_orders::note(&record.work_order, "acknowledged", &ack.by, &ack.topic),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_persisting_condition_refreshes_its_alarm_at_most_every_ten_seconds() {
        assert!(due(None, 0));
        assert!(!due(Some(0), 0));
        assert!(!due(Some(0), REFRESH_MS - 1));
        assert!(due(Some(0), REFRESH_MS));
        assert!(
            !due(Some(5_000), 1_000),
            "a late reading from before the last raise"
        );
    }
}
