//! hello-scene: counts readings per reading kind; the first plugin of every tutorial.
//!
//! Each reading increments the counter stored under `count/<kind>`. The
//! `remind` command schedules a timer on the host clock and `forget` cancels
//! it; each firing is counted under `fired/<tag>`. Lifecycle events are
//! counted under `lifecycle/<event>`. The `stats` command reports all of it.
//! The first reading of a kind is greeted in the host's log with the
//! configured greeting.
//!
//! Readings and the timer are optional in its manifest: an installation
//! granted only the store answers `stats`, and `remind` then says that
//! reminders are off (the scene asks the host what it was granted) instead
//! of failing on a denied call.

use std::collections::BTreeMap;

use linli_sdk::{
    export_scene, grants, log, parse_input, state, timer, Caller, Error, Event, Lifecycle, Scene,
};
use serde::Deserialize;
use serde_json::{json, Value as Json};

/// Where the counter of a reading kind lives, followed by the kind.
const COUNT_PREFIX: &str = "count/";
/// Where the firings of a timer are counted, followed by its tag.
const FIRED_PREFIX: &str = "fired/";
/// Where lifecycle events are counted, followed by the event.
const LIFECYCLE_PREFIX: &str = "lifecycle/";

/// The installation's config: `{}` or `{"greeting": "..."}`.
#[derive(Deserialize)]
struct Config {
    /// Logged with the first reading of each kind.
    #[serde(default = "default_greeting")]
    greeting: String,
}

fn default_greeting() -> String {
    "hello".into()
}

/// Input of `remind`: a timer `in-ms` from now, repeating `every-ms` if given.
#[derive(Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
struct Reminder {
    tag: String,
    in_ms: u64,
    every_ms: Option<u64>,
}

/// Input of `forget`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Forget {
    tag: String,
}

/// Counts every reading by kind, and timer firings by tag.
struct HelloScene;

fn count(key: &str) -> Result<u64, Error> {
    state::update(key, |count: &mut u64| {
        *count += 1;
        *count
    })
}

impl Scene for HelloScene {
    type Config = Config;

    fn on_event(config: &Config, event: Event) -> Result<(), Error> {
        match event {
            Event::Reading(reading) => {
                if count(&format!("{COUNT_PREFIX}{}", reading.kind))? == 1 {
                    log::info(&format!(
                        "{}: first {} reading",
                        config.greeting, reading.kind
                    ));
                }
            }
            Event::TimerFired(fired) => {
                count(&format!("{FIRED_PREFIX}{}", fired.tag))?;
            }
            Event::Lifecycle(change) => {
                let name = match change {
                    Lifecycle::Installed => "installed",
                    Lifecycle::Reconfigured => "reconfigured",
                    Lifecycle::Resumed => "resumed",
                };
                count(&format!("{LIFECYCLE_PREFIX}{name}"))?;
            }
            // hello-scene watches no alarm types, so none are delivered.
            Event::AlarmChanged(_) | Event::NotificationAcknowledged(_) => {}
            // Its counts are by reading kind, timer tag and lifecycle:
            // nothing it keeps is about a person.
            Event::PersonErased(_) => {}
        }
        Ok(())
    }

    fn on_command(_: &Config, _: &Caller, name: &str, input: Json) -> Result<Json, Error> {
        match name {
            "stats" => stats(),
            "remind" => {
                let reminder: Reminder = parse_input(input)?;
                if !grants::granted().timer {
                    return Err(Error::Denied(
                        "reminders are off: this installation was not granted the timer".into(),
                    ));
                }
                let due = timer::now() + i64::try_from(reminder.in_ms).unwrap_or(i64::MAX / 2);
                timer::schedule(&reminder.tag, due, reminder.every_ms)?;
                Ok(json!({ "due": due }))
            }
            "forget" => {
                let forget: Forget = parse_input(input)?;
                Ok(json!({ "cancelled": timer::cancel(&forget.tag)? }))
            }
            _ => Err(Error::Invalid(format!("unknown command: {name}"))),
        }
    }
}

/// Every counter under `prefix`, keyed by what follows the prefix.
fn counters(prefix: &str) -> Result<BTreeMap<String, u64>, Error> {
    let mut counters = BTreeMap::new();
    for key in state::keys(prefix)? {
        let count: u64 = state::get(&key)?.unwrap_or(0);
        counters.insert(key[prefix.len()..].to_owned(), count);
    }
    Ok(counters)
}

/// `{"counts": {"<kind>": n, ...}, "total": n, "timers": {"<tag>": n}, "lifecycle": {"<event>": n}}`.
fn stats() -> Result<Json, Error> {
    let counts = counters(COUNT_PREFIX)?;
    let total: u64 = counts.values().sum();
    Ok(json!({
        "counts": counts,
        "total": total,
        "timers": counters(FIRED_PREFIX)?,
        "lifecycle": counters(LIFECYCLE_PREFIX)?,
    }))
}

export_scene!(HelloScene);
