//! voting: the owners' voting scene of a residential community (业主共同决定).
//!
//! The owners' committee drafts a motion of one of the Civil Code's nine
//! matter classes; it opens on schedule with the roll of its scope frozen
//! from the map; owners (or their co-owner, or their proxy) cast one ballot
//! per unit, each a record on the community ledger; at close the result is
//! counted by area and by head, exactly, and published with everything
//! anyone needs to recount it. README.md states the rules with their
//! sources and every command.
//!
//! # Layout
//!
//! Pure domain logic, each concept a module, tested on its own:
//!
//! - [`area`]: exclusive area in exact hundredths of m²;
//! - [`threshold`]: two thirds, three quarters, more than half, compared
//!   by cross-multiplication;
//! - [`matter`]: the nine matter classes and the bar each must clear;
//! - [`options`]: proposals and elections, and what a ballot may say;
//! - [`roll`]: the frozen roll, with the head count's grouping;
//! - [`authority`]: who may cast a unit's ballot — owners, co-owners,
//!   designees, proxies, the developer's voter;
//! - [`ballot`]: ballots, and a secret ballot's nonce, seal and tag;
//! - [`tally`]: the count and its published arithmetic;
//! - [`motion`]: a motion, its draft's checks and its stages;
//! - [`config`]: the installation's config.
//!
//! Over the host:
//!
//! - [`layout`]: the store's keys and the shards a roll is kept in;
//! - [`eligibility`]: a scope's units and owners, read from the map;
//! - [`records`]: the `voting/…` ledger records;
//! - [`notices`]: what owners are told;
//! - [`due`]: the motion's timers; [`opening`], [`reminders`] and
//!   [`closing`]: what happens when they fire;
//! - [`callers`]: who runs motions; [`commands`]: the commands.

pub mod area;
pub mod authority;
pub mod ballot;
pub mod callers;
pub mod closing;
mod commands;
pub mod config;
pub mod due;
pub mod eligibility;
pub mod layout;
pub mod matter;
pub mod motion;
pub mod notices;
pub mod opening;
pub mod options;
pub mod records;
pub mod reminders;
pub mod roll;
#[cfg(test)]
mod scenarios;
pub mod tally;
pub mod threshold;

use linli_sdk::{export_scene, Caller, Error, Event, Scene};
use serde_json::Value as Json;

use config::Config;
use due::Due;

/// The owners' voting scene.
pub struct Voting;

impl Scene for Voting {
    type Config = Config;

    fn init(config: &Config) -> Result<(), Error> {
        config.check()
    }

    fn on_event(config: &Config, event: Event) -> Result<(), Error> {
        let fired = match event {
            Event::TimerFired(fired) => fired,
            // Ballots, proxies and rolls are the assembly's records, on the
            // ledger and in each motion's frozen roll under the person id,
            // which names no one once they are erased: they stay (README,
            // "Personal data").
            Event::PersonErased(_) => return Ok(()),
            // Timers and state outlive instances and upgrades: nothing to
            // redo on installation, reconfiguration or resumption.
            _ => return Ok(()),
        };
        let now = linli_sdk::timer::now();
        match Due::from_tag(&fired.tag) {
            Some(Due::Open(motion)) => opening::open_due(config, &motion, now),
            Some(Due::Remind(motion, n)) => reminders::remind_due(&motion, n, now),
            Some(Due::Close(motion)) => closing::close_due(&motion, now),
            None => Ok(()),
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

export_scene!(Voting);
