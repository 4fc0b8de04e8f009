//! parking: the parking scene of a residential community.
//!
//! Compounds have far fewer spaces than cars. This scene lets an office
//! tenant's spaces serve residents at night and residents' spaces serve
//! visitors by day, keeps the lots' counts true to the sensors, and keeps
//! fire lanes clear.
//!
//! # Layout
//!
//! The domain logic is pure Rust over plain values, one concept a module,
//! so that a handler reads a few store values, calls one function and
//! writes back what changed:
//!
//! - [`space`]: a space's lot, class, owner and sensor, from the map;
//! - [`interval`]: half-open spans of host time;
//! - [`windows`]: an owner's weekly and one-off sharing windows and their
//!   exceptions, expanded into priced availability;
//! - [`access`]: who may reserve which class of space;
//! - [`reservations`]: a space's book — reserve, cancel, check-in and
//!   check-out by the sensor, no-show release — where two active
//!   reservations never overlap;
//! - [`search`]: free spaces for a time window, nearest first, and the
//!   reserve that makes the same checks;
//! - [`pricing`]: time used and overstay fees, in whole points;
//! - [`occupancy`]: sensor states and the per-lot recount;
//! - [`overstay`]: notice, grace, warning and alarm stages; repeat-overstay
//!   bans;
//! - [`violations`]: unauthorised vehicles and blocked fire lanes;
//! - [`report`]: a lot's monthly report;
//! - [`config`]: the installation's config, every number with a default.
//!
//! The handlers read and write the store around those:
//!
//! - [`places`]: spaces and parkers as the map describes them (a space's
//!   `class`, `owner`, `lot` and `sensor` are place attributes);
//! - [`sensing`]: occupancy readings, check-in, check-out and payment;
//! - [`wake`]: one space brought up to date — no-shows, overstay stages,
//!   offers to a blocked holder, unauthorised and fire-lane alarms — and
//!   its timer;
//! - [`money`]: points and handover records on the ledger;
//! - [`tell`]: messages, when the notify grant allows;
//! - [`availability`]: per lot, each space's windows and held intervals,
//!   so a search reads a dozen lots instead of a thousand spaces;
//! - [`finder`]: free spaces near a place, from those indexes;
//! - [`lots`]: counts, recount, hourly samples, the nightly archive and
//!   the monthly report;
//! - [`commands`] (windows, search, reserve, cancel) and [`office`] (lots,
//!   reports, points, a parker's own reservations): every command, in
//!   README.md with its input and output;
//! - [`erasure`]: a person the community erased, forgotten in the books.

pub mod access;
pub mod availability;
pub mod commands;
pub mod config;
pub mod erasure;
pub mod finder;
pub mod interval;
pub mod lots;
pub mod money;
pub mod occupancy;
pub mod office;
pub mod overstay;
pub mod places;
pub mod pricing;
pub mod report;
pub mod reservations;
pub mod search;
pub mod sensing;
pub mod space;
pub mod tell;
pub mod violations;
pub mod wake;
pub mod windows;

use linli_sdk::alarm::ChangeKind;
use linli_sdk::{export_scene, log, timer, Caller, Error, Event, Lifecycle, Scene};
use serde_json::Value as Json;

use config::Config;

/// The parking scene.
pub struct Parking;

impl Scene for Parking {
    type Config = Config;

    fn init(config: &Config) -> Result<(), Error> {
        config.check()
    }

    fn on_event(config: &Config, event: Event) -> Result<(), Error> {
        match event {
            Event::Reading(reading) => sensing::on_reading(reading, config),
            Event::TimerFired(fired) => match fired.tag.as_str() {
                lots::SAMPLE_TAG => lots::sample(timer::now(), config),
                lots::ARCHIVE_TAG => lots::archive(timer::now(), config),
                tag => match wake::space_of_tag(tag) {
                    Some(space) => wake::wake_space(space, config),
                    None => {
                        log::warn(&format!("a timer {tag:?} this scene does not set"));
                        Ok(())
                    }
                },
            },
            Event::Lifecycle(
                Lifecycle::Installed | Lifecycle::Resumed | Lifecycle::Reconfigured,
            ) => lots::schedule(timer::now(), config),
            Event::AlarmChanged(change) if change.alarm.alarm_type == sensing::DEVICE_OFFLINE => {
                sensing::on_device_offline(&change)
            }
            Event::AlarmChanged(change) if change.alarm.alarm_type == wake::FIRE_CONFIRMED => {
                match change.change {
                    ChangeKind::Raised | ChangeKind::Cleared => {
                        wake::wake_fire_lanes(&change.alarm.originator, config)
                    }
                    ChangeKind::Updated | ChangeKind::Acknowledged => Ok(()),
                }
            }
            Event::AlarmChanged(_) | Event::NotificationAcknowledged(_) => Ok(()),
            Event::PersonErased(person) => erasure::forget(&person),
        }
    }

    fn on_command(
        config: &Config,
        caller: &Caller,
        name: &str,
        input: Json,
    ) -> Result<Json, Error> {
        match name {
            "publish-window" => commands::publish_window(caller, input),
            "search" => commands::search(config, caller, input),
            "reserve" => commands::reserve(config, caller, input),
            "withdraw-window" => commands::withdraw_window(caller, input, config),
            "except-window" => commands::except_window(caller, input),
            "space" => commands::space(input, config),
            "cancel" => commands::cancel(caller, input),
            "my-reservations" => office::my_reservations(caller),
            "lots" => office::lots(input, config),
            "recount" => office::recount(caller, input, config),
            "report" => office::report(caller, input, config),
            "top-up" => office::top_up(caller, input, config),
            "account" => office::account(caller, input, config),
            _ => Err(Error::Invalid(format!("unknown command: {name}"))),
        }
    }
}

export_scene!(Parking);

#[cfg(test)]
mod scenarios;
