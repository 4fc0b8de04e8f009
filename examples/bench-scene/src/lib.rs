//! bench-scene: the plugin side of the host's event-delivery benchmark.
//!
//! Each `reading` event costs exactly one host call, `timer::now()`, plus a
//! little arithmetic kept in memory, so the benchmark measures the host's
//! per-event overhead rather than the plugin's work. The statistics live in a
//! static on purpose: they describe this instance's run, not community state,
//! and a store call per event would be a second host call. The host benchmark
//! reimplements the same logic natively as its baseline.

use std::cell::RefCell;

use linli_sdk::{export_scene, timer, Caller, Error, Event, NoConfig, Scene, Timestamp};
use serde_json::{json, Value as Json};

/// What this instance has seen since it started.
struct Stats {
    /// Readings handled.
    count: u64,
    /// The sum of their numeric values; other values add nothing.
    sum: f64,
    /// The largest `now - reading.at` seen, in milliseconds; `None` before the first reading.
    max_lag_ms: Option<Timestamp>,
}

impl Stats {
    fn record(&mut self, value: f64, lag_ms: Timestamp) {
        self.count += 1;
        self.sum += value;
        self.max_lag_ms = Some(self.max_lag_ms.map_or(lag_ms, |max| max.max(lag_ms)));
    }
}

thread_local! {
    // An instance runs one call at a time, so a RefCell needs no lock.
    static STATS: RefCell<Stats> = const {
        RefCell::new(Stats { count: 0, sum: 0.0, max_lag_ms: None })
    };
}

/// Records one clock read and a few sums per reading.
struct BenchScene;

impl Scene for BenchScene {
    type Config = NoConfig;

    fn on_event(_: &NoConfig, event: Event) -> Result<(), Error> {
        let Event::Reading(reading) = event else {
            return Ok(());
        };
        let lag_ms = timer::now() - reading.at;
        let value = reading.value.as_number().unwrap_or(0.0);
        STATS.with_borrow_mut(|stats| stats.record(value, lag_ms));
        Ok(())
    }

    fn on_command(_: &NoConfig, _: &Caller, name: &str, _: Json) -> Result<Json, Error> {
        match name {
            "stats" => Ok(STATS.with_borrow(|stats| {
                json!({ "count": stats.count, "sum": stats.sum, "max-lag-ms": stats.max_lag_ms })
            })),
            _ => Err(Error::Invalid(format!("unknown command: {name}"))),
        }
    }
}

export_scene!(BenchScene);
