//! hello-scene: counts readings per reading kind; the first plugin of every tutorial.
//!
//! Each reading increments the counter stored under `count/<kind>`; the
//! `stats` command reports every counter and their total. The first reading of
//! a kind is greeted in the host's log with the configured greeting.

use std::collections::BTreeMap;

use linli_sdk::{export_scene, log, state, Caller, Error, Event, Scene};
use serde::Deserialize;
use serde_json::{json, Value as Json};

/// Where the counter of a reading kind lives, followed by the kind.
const COUNT_PREFIX: &str = "count/";

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

/// Counts every reading by kind.
struct HelloScene;

impl Scene for HelloScene {
    type Config = Config;

    fn on_event(config: &Config, event: Event) -> Result<(), Error> {
        let Event::Reading(reading) = event else {
            return Ok(());
        };
        let count = state::update(
            &format!("{COUNT_PREFIX}{}", reading.kind),
            |count: &mut u64| {
                *count += 1;
                *count
            },
        )?;
        if count == 1 {
            log::info(&format!(
                "{}: first {} reading",
                config.greeting, reading.kind
            ));
        }
        Ok(())
    }

    fn on_command(_: &Config, _: &Caller, name: &str, _: Json) -> Result<Json, Error> {
        match name {
            "stats" => stats(),
            _ => Err(Error::Invalid(format!("unknown command: {name}"))),
        }
    }
}

/// `{"counts": {"<kind>": n, ...}, "total": n}`.
fn stats() -> Result<Json, Error> {
    let mut counts = BTreeMap::new();
    for key in state::keys(COUNT_PREFIX)? {
        let count: u64 = state::get(&key)?.unwrap_or(0);
        counts.insert(key[COUNT_PREFIX.len()..].to_owned(), count);
    }
    let total: u64 = counts.values().sum();
    Ok(json!({ "counts": counts, "total": total }))
}

export_scene!(HelloScene);
