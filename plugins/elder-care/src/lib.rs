//! elder-care: a community's care for its elderly people, as a scene plugin.
//!
//! - The **time bank**: residents join (or are joined by their family),
//!   ask for help (shopping, escorting, chatting, ...), and the plugin
//!   offers each request to the best few volunteers near them, widening
//!   the circle when nobody accepts. Confirmed services are paid in time
//!   coins (minutes) on the community ledger, with the service record as
//!   evidence and a receipt anyone involved can verify.
//! - **Safety**: wearables' heart rate, fall and SOS readings and home
//!   sensors' activity raise alarms and alerts that escalate until someone
//!   acknowledges them; people living alone get a welfare check after a day
//!   without activity.
//! - **Personal data**: records about one person are keyed by them, so the
//!   host exports and erases them; `person-erased` forgets the rest, and
//!   nobody helping is told where someone lives without their consent.
//!
//! Every piece of state lives in the plugin's store and every wait in a
//! host timer, so a new instance or an upgrade picks up where the last
//! left off. The README lists the commands, the state and the decisions.

mod access;
mod availability;
mod care;
mod coins;
mod config;
mod geo;
mod heart;
mod input;
mod matching;
mod members;
mod notices;
mod people;
mod personal_data;
#[cfg(test)]
mod personal_data_scenarios;
mod reports;
mod request;
mod safety;
#[cfg(test)]
mod scenarios;
mod timebank;
mod volunteers;
mod welfare;

use linli_sdk::{export_scene, Caller, Error, Event, Scene};
use serde_json::Value as Json;

use config::Config;

struct ElderCare;

impl Scene for ElderCare {
    type Config = Config;

    fn init(config: &Config) -> Result<(), Error> {
        config.check()
    }

    fn on_event(config: &Config, event: Event) -> Result<(), Error> {
        match event {
            Event::Reading(reading) => {
                safety::on_reading(config, &reading)?;
                welfare::on_reading(config, &reading)
            }
            Event::TimerFired(fired) => on_timer(config, &fired.tag),
            Event::AlarmChanged(change) => safety::on_alarm_changed(&change),
            Event::NotificationAcknowledged(ack) => safety::on_acknowledged(&ack),
            Event::PersonErased(person) => personal_data::forget(config, &person),
            // The pool account opens with the first member; nothing else is one-time.
            Event::Lifecycle(_) => Ok(()),
        }
    }

    fn on_command(
        config: &Config,
        caller: &Caller,
        name: &str,
        input: Json,
    ) -> Result<Json, Error> {
        match name {
            "join" => members::join(config, caller, input),
            "update-member" => members::update(caller, input),
            "member" => members::show(caller, input),
            "request" => timebank::file(config, caller, input),
            "requests" => timebank::list(caller, input),
            "show-request" => timebank::show(caller, input),
            "accept" | "start" | "complete" | "confirm" | "cancel" | "no-show" => {
                timebank::step(config, caller, name, input)
            }
            "receipt" => timebank::receipt(caller, input),
            "balance" => coins::show_balance(caller, input),
            "history" => coins::history(caller, input),
            "donate" => coins::donate(caller, input),
            "report" => timebank::report(config, caller, input),
            "register-wearable" => care::register(caller, input),
            "unregister-wearable" => care::unregister(caller, input),
            "care-profile" => care::set_profile(config, caller, input),
            "care" => care::show(config, caller, input),
            "personal-data" => personal_data::show(caller, input),
            _ => Err(Error::Invalid(format!("unknown command: {name}"))),
        }
    }
}

fn on_timer(config: &Config, tag: &str) -> Result<(), Error> {
    if let Some(id) = tag.strip_prefix(timebank::WIDEN) {
        timebank::widen(config, id)
    } else if let Some(id) = tag.strip_prefix(timebank::EXPIRE) {
        timebank::expire(id)
    } else if let Some(person) = tag.strip_prefix(welfare::TIMER) {
        welfare::on_timer(config, person)
    } else {
        Ok(())
    }
}

export_scene!(ElderCare);
