//! fire-safety: the fire-safety scene of a residential community.
//!
//! - Detectors (smoke, heat, combustible gas, manual call points) raise a
//!   suspected fire when one goes over its threshold, and a confirmed fire
//!   when a second signal nearby agrees ([`fire`], [`confirm`], [`detect`]).
//! - Hydrants and water tanks are watched for pressure, level, tilt and
//!   leaks ([`water`]); detectors for going offline, low batteries and
//!   tampering ([`health`]).
//! - Every alarm opens a work order with a deadline by severity, taken step
//!   by step through commands, escalated to the supervisor when overdue and
//!   written to the ledger ([`work_orders`], [`order_lifecycle`]).
//! - Operators mark alarms false; a detector that keeps crying wolf is
//!   flagged for maintenance ([`false_alarms`]).
//!
//! All state is in the store, keyed by device, building, alarm and work
//! order, so that no reading scans more than its own device and building.

mod alarms;
mod callers;
mod commands;
mod config;
mod confirm;
mod detect;
mod devices;
mod false_alarms;
mod fire;
mod health;
mod notices;
mod order_lifecycle;
mod placement;
#[cfg(test)]
mod scenarios;
mod severity;
mod water;
mod work_orders;

use linli_sdk::{export_scene, Caller, Error, Event, Lifecycle, Reading, Scene};
use serde_json::Value as Json;

use config::Config;

struct FireSafety;

impl Scene for FireSafety {
    type Config = Config;

    fn init(config: &Config) -> Result<(), Error> {
        config.check()
    }

    fn on_event(config: &Config, event: Event) -> Result<(), Error> {
        match event {
            Event::Reading(reading) => on_reading(config, reading),
            Event::TimerFired(fired) if fired.tag == health::DAY_TAG => {
                health::new_day(config, fired.due)
            }
            Event::TimerFired(fired) => match fired.tag.strip_prefix(work_orders::DEADLINE_TAG) {
                Some(id) => work_orders::deadline_passed(config, id),
                None => Ok(()),
            },
            Event::Lifecycle(Lifecycle::Installed | Lifecycle::Reconfigured) => {
                health::schedule_days(config)
            }
            Event::Lifecycle(Lifecycle::Resumed) => Ok(()),
            Event::AlarmChanged(change) => alarms::changed(config, change),
            Event::NotificationAcknowledged(ack) => alarms::acknowledged(&ack),
            // Nothing is kept about residents; the staff named on work
            // orders and false alarms are the community's fire-safety
            // records of who did what on duty (README, "Personal data").
            Event::PersonErased(_) => Ok(()),
        }
    }

    fn on_command(
        config: &Config,
        caller: &Caller,
        name: &str,
        input: Json,
    ) -> Result<Json, Error> {
        commands::run(config, caller, name, input)
    }
}

/// Hands a reading to the part of the scene that understands its kind, and
/// stores the device's state if that changed.
fn on_reading(config: &Config, reading: Reading) -> Result<(), Error> {
    let kind = reading.kind.as_str();
    if !devices::KINDS.contains(&kind) {
        return Ok(());
    }
    let mut device = devices::load(&reading.device, reading.location.as_deref())?;
    let before = device.clone();
    if detect::DETECTOR_KINDS.contains(&kind) {
        fire::on_reading(config, &reading, &mut device)?;
    } else if kind == "tamper" {
        health::on_tamper(config, &reading, &mut device)?;
    } else {
        water::on_reading(config, &reading, &mut device)?;
    }
    if device != before {
        devices::put(&reading.device, &device)?;
    }
    Ok(())
}

export_scene!(FireSafety);
