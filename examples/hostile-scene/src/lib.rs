//! hostile-scene: a deliberately misbehaving plugin for the host's sandbox tests.
//!
//! It behaves until a `reading` event's numeric value reaches the configured
//! `trigger-at` (non-numeric values count as 0), then misbehaves as the
//! `behaviour` config says: it spins forever, allocates forever, traps, or
//! calls host functions it was not granted — or attacks what it shares with
//! others (the ledger's writer lock, state, logs, messages: [`floods`]).
//! Every event it survives is counted in its store, and the `report` command
//! shows that count together with the denials and the last quota refusal the
//! host answered, so a test can check both that the host stopped the plugin
//! and that the plugin's state stayed consistent.

mod floods;

use std::time::Duration;

use linli_sdk::{export_scene, sensor, state, timer, Caller, Error, Event, Reading, Scene};
use serde::Deserialize;
use serde_json::{json, Value as Json};

/// Store key of the number of events handled without misbehaving fatally.
const HANDLED_KEY: &str = "handled";
/// Store key of how many events were handled, kept sealed: the host never
/// exports it (a dead letter's bundle leaves it out), which tests check.
const SEALED_HANDLED_KEY: &str = "sealed/handled";
/// Store key of the texts of the most recent `denied` errors.
const DENIALS_KEY: &str = "denials";
/// How many denial texts the report keeps, newest last.
const DENIALS_KEPT: usize = 8;
/// The size of each allocation the memory bomb keeps alive.
const BOMB_CHUNK_BYTES: usize = 1 << 20;

/// How the scene misbehaves once triggered.
#[derive(Deserialize, Clone, Copy, Default)]
#[serde(rename_all = "kebab-case")]
enum Behaviour {
    /// Loops forever without calling the host.
    Spin,
    /// Allocates and fills 1 MiB chunks forever, keeping every one alive.
    MemoryBomb,
    /// Panics, which aborts the instance with a wasm trap.
    Trap,
    /// Schedules a timer and reads heart-rate, then records the errors returned.
    Overreach,
    /// Appends a ledger record, then computes for `hold-ms`.
    LedgerHog,
    /// Writes `count` values of 1 MiB to new keys.
    StateBomb,
    /// Logs `count` lines of 1 KiB.
    LogFlood,
    /// Sends `count` messages to the residents of `audience-place`.
    MessageBurst,
    /// Never misbehaves.
    #[default]
    None,
}

/// The installation's config: `{"behaviour": "spin", "trigger-at": 50}`.
#[derive(Deserialize)]
#[serde(rename_all = "kebab-case")]
struct Config {
    #[serde(default)]
    behaviour: Behaviour,
    /// The smallest reading value that triggers the behaviour.
    #[serde(default)]
    trigger_at: f64,
    /// How long `ledger-hog` computes after its write, in milliseconds.
    #[serde(default)]
    hold_ms: u64,
    /// How many values, lines or messages a flood makes per event.
    #[serde(default)]
    count: u32,
    /// Whose residents `message-burst` writes to.
    #[serde(default)]
    audience_place: String,
    /// Whether `message-burst` sends critical messages.
    #[serde(default)]
    critical: bool,
}

/// Counts readings until its configured behaviour is triggered.
struct HostileScene;

impl Scene for HostileScene {
    type Config = Config;

    fn on_event(config: &Config, event: Event) -> Result<(), Error> {
        let Event::Reading(reading) = event else {
            return Ok(());
        };
        let value = reading.value.as_number().unwrap_or(0.0);
        if value >= config.trigger_at {
            match config.behaviour {
                Behaviour::Spin => spin(),
                Behaviour::MemoryBomb => memory_bomb(),
                Behaviour::Trap => panic!(
                    "hostile-scene: trapping as configured on a {} reading of {value}",
                    reading.kind
                ),
                Behaviour::Overreach => overreach(&reading)?,
                Behaviour::LedgerHog => {
                    floods::ledger_hog(&reading, Duration::from_millis(config.hold_ms))?
                }
                Behaviour::StateBomb => floods::state_bomb(&reading, config.count)?,
                Behaviour::LogFlood => floods::log_flood(config.count),
                Behaviour::MessageBurst => floods::message_burst(
                    &reading,
                    &config.audience_place,
                    config.count,
                    config.critical,
                )?,
                Behaviour::None => {}
            }
        }
        state::update(SEALED_HANDLED_KEY, |handled: &mut u64| *handled += 1)?;
        state::update(HANDLED_KEY, |handled: &mut u64| *handled += 1)
    }

    fn on_command(_: &Config, _: &Caller, name: &str, _: Json) -> Result<Json, Error> {
        match name {
            "report" => Ok(json!({
                "handled": state::get::<u64>(HANDLED_KEY)?.unwrap_or(0),
                "sealed_handled": state::get::<u64>(SEALED_HANDLED_KEY)?.unwrap_or(0),
                "denials": state::get::<Vec<String>>(DENIALS_KEY)?.unwrap_or_default(),
                "last_limit": state::get::<String>(floods::LIMIT_KEY)?,
                "bomb_values": floods::bomb_values()?,
            })),
            _ => Err(Error::Invalid(format!("unknown command: {name}"))),
        }
    }
}

fn spin() -> ! {
    let mut turns: u64 = 0;
    loop {
        // black_box keeps the optimiser from proving the loop does nothing.
        turns = std::hint::black_box(turns.wrapping_add(1));
    }
}

fn memory_bomb() -> ! {
    let mut hoard: Vec<Vec<u8>> = Vec::new();
    loop {
        // A non-zero fill writes every page, so the memory is really used.
        hoard.push(vec![0xA5; BOMB_CHUNK_BYTES]);
        std::hint::black_box(&hoard);
    }
}

/// Calls two host functions outside the test's grant (timer, and a reading
/// kind other than temperature) and records the denials. Any other error fails
/// the event, so a host that answers wrongly is visible to the test.
fn overreach(reading: &Reading) -> Result<(), Error> {
    let attempts = [
        timer::schedule("overreach", reading.at, None),
        sensor::latest(&reading.device, "heart-rate").map(drop),
    ];
    let mut denials = Vec::new();
    for attempt in attempts {
        match attempt {
            // Granted after all: nothing to record, and the report shows it.
            Ok(()) => {}
            Err(Error::Denied(text)) => denials.push(text),
            Err(other) => return Err(other),
        }
    }
    state::update(DENIALS_KEY, |kept: &mut Vec<String>| {
        kept.extend(denials);
        let excess = kept.len().saturating_sub(DENIALS_KEPT);
        kept.drain(..excess);
    })
}

export_scene!(HostileScene);
