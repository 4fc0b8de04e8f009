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
//! - [`places`]: spaces and parkers as the map describes them (a space's
//!   `class`, `owner`, `lot` and `sensor` are place attributes);
//! - [`commands`]: publishing and withdrawing windows, search, reserve,
//!   cancel.
//!
//! Still to come: the sensor's check-in and check-out with payment on the
//! ledger, no-show release on a timer, overstay, unauthorised and
//! fire-lane alarms, and the reports.

pub mod access;
pub mod commands;
pub mod config;
pub mod interval;
pub mod occupancy;
pub mod overstay;
pub mod places;
pub mod pricing;
pub mod report;
pub mod reservations;
pub mod search;
pub mod space;
pub mod violations;
pub mod windows;

use linli_sdk::{export_scene, Caller, Error, Event, Scene};
use serde_json::Value as Json;

use config::Config;

/// The parking scene.
pub struct Parking;

impl Scene for Parking {
    type Config = Config;

    fn init(config: &Config) -> Result<(), Error> {
        config.check()
    }

    fn on_event(_: &Config, _: Event) -> Result<(), Error> {
        Ok(())
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
            "cancel" => commands::cancel(caller, input),
            _ => Err(Error::Invalid(format!("unknown command: {name}"))),
        }
    }
}

export_scene!(Parking);
