//! What one detector reading says about fire: over a kind's threshold, a
//! temperature rising fast, or a manual call point pressed. Pure: the caller
//! keeps each heat detector's [`Trend`] in its device state.

use linli_sdk::Value;
use serde::{Deserialize, Serialize};

use crate::config::Config;

/// The reading kinds that come from fire detectors.
pub const DETECTOR_KINDS: [&str; 5] = [
    "smoke",
    "smoke-alarm",
    "temperature",
    "gas",
    "manual-call-point",
];

/// One piece of evidence of fire.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Signal {
    /// A reading at or above its kind's threshold (or a detector's own alarm flag).
    Threshold,
    /// A temperature rising at or above the configured rate.
    RateOfRise,
    /// A person pressed a manual call point.
    ManualCallPoint,
}

/// The signals in one reading of `kind`; `trend` is the detector's
/// temperature history, updated by temperature readings.
pub fn signals(
    config: &Config,
    kind: &str,
    value: &Value,
    at: i64,
    trend: &mut Trend,
) -> Vec<Signal> {
    let over = |threshold: f64| value.as_number().is_some_and(|v| v >= threshold);
    let flag = matches!(value, Value::Flag(true));
    match kind {
        "smoke" if over(config.smoke.obscuration_pct_per_m) => vec![Signal::Threshold],
        "smoke-alarm" if flag => vec![Signal::Threshold],
        "gas" if over(config.gas.lel_pct) => vec![Signal::Threshold],
        "manual-call-point" if flag => vec![Signal::ManualCallPoint],
        "temperature" => {
            let Some(celsius) = value.as_number() else {
                return Vec::new();
            };
            let mut found = Vec::new();
            if celsius >= config.temperature.max_c {
                found.push(Signal::Threshold);
            }
            let rate = trend.push(at, celsius, config.temperature.rise_window_ms);
            if rate.is_some_and(|r| r >= config.temperature.rise_c_per_min) {
                found.push(Signal::RateOfRise);
            }
            found
        }
        _ => Vec::new(),
    }
}

/// A heat detector's recent temperatures, thinned to one every
/// [`Trend::SPACING_MS`] so the stored list stays short however often it reports.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Trend {
    samples: Vec<(i64, f64)>,
}

impl Trend {
    /// Samples closer than this are not kept: they add storage, not accuracy.
    pub const SPACING_MS: i64 = 5_000;
    /// A rate over a shorter span mostly measures sensor noise.
    pub const MIN_SPAN_MS: i64 = 10_000;

    /// Adds a temperature; returns the rate of rise in °C per minute from the
    /// oldest sample within `window_ms` to this one, when they are far enough apart.
    pub fn push(&mut self, at: i64, celsius: f64, window_ms: u64) -> Option<f64> {
        let window = i64::try_from(window_ms).unwrap_or(i64::MAX);
        self.samples
            .retain(|(t, _)| *t <= at && at.saturating_sub(*t) <= window);
        let rate = self.samples.first().and_then(|(t, c)| {
            let span = at - t;
            (span >= Self::MIN_SPAN_MS).then(|| (celsius - c) * 60_000.0 / span as f64)
        });
        let spaced = self
            .samples
            .last()
            .is_none_or(|(t, _)| at - t >= Self::SPACING_MS);
        if spaced {
            self.samples.push((at, celsius));
        }
        rate
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config() -> Config {
        Config::default()
    }

    fn signal(kind: &str, value: Value) -> Vec<Signal> {
        signals(&config(), kind, &value, 0, &mut Trend::default())
    }

    #[test]
    fn each_kind_alarms_at_its_threshold() {
        assert_eq!(signal("smoke", Value::Number(2.9)), []);
        assert_eq!(signal("smoke", Value::Number(3.0)), [Signal::Threshold]);
        assert_eq!(
            signal("smoke-alarm", Value::Flag(true)),
            [Signal::Threshold]
        );
        assert_eq!(signal("smoke-alarm", Value::Flag(false)), []);
        assert_eq!(signal("gas", Value::Number(9.9)), []);
        assert_eq!(signal("gas", Value::Number(12.0)), [Signal::Threshold]);
        assert_eq!(signal("temperature", Value::Number(56.0)), []);
        assert_eq!(
            signal("temperature", Value::Number(57.0)),
            [Signal::Threshold]
        );
        assert_eq!(
            signal("manual-call-point", Value::Flag(true)),
            [Signal::ManualCallPoint]
        );
        assert_eq!(signal("humidity", Value::Number(99.0)), []);
    }

    #[test]
    fn a_configured_threshold_replaces_the_default() {
        let mut config = config();
        config.smoke.obscuration_pct_per_m = 8.0;
        let over = |v| {
            signals(
                &config,
                "smoke",
                &Value::Number(v),
                0,
                &mut Trend::default(),
            )
        };
        assert_eq!(over(5.0), []);
        assert_eq!(over(8.5), [Signal::Threshold]);
    }

    #[test]
    fn a_fast_rise_is_a_signal_below_the_fixed_temperature() {
        let config = config();
        let mut trend = Trend::default();
        let mut at =
            |t: i64, c: f64| signals(&config, "temperature", &Value::Number(c), t, &mut trend);
        assert_eq!(at(0, 22.0), []);
        assert_eq!(at(30_000, 24.0), [], "4 °C a minute is a warm room");
        assert_eq!(at(60_000, 34.0), [Signal::RateOfRise], "12 °C in a minute");
    }

    #[test]
    fn a_hot_and_rising_reading_gives_both_signals() {
        let config = config();
        let mut trend = Trend::default();
        signals(&config, "temperature", &Value::Number(30.0), 0, &mut trend);
        let both = signals(
            &config,
            "temperature",
            &Value::Number(60.0),
            20_000,
            &mut trend,
        );
        assert_eq!(both, [Signal::Threshold, Signal::RateOfRise]);
    }

    #[test]
    fn the_rate_needs_a_long_enough_span_and_forgets_old_samples() {
        let mut trend = Trend::default();
        assert_eq!(trend.push(0, 20.0, 60_000), None);
        assert_eq!(
            trend.push(5_000, 25.0, 60_000),
            None,
            "5 s is too short a span"
        );
        let rate = trend.push(30_000, 30.0, 60_000).expect("a rate over 30 s");
        assert!((rate - 20.0).abs() < 1e-9, "{rate}");
        // Two minutes later the early samples are out of the window.
        assert_eq!(trend.push(150_000, 30.0, 60_000), None);
    }

    #[test]
    fn frequent_readings_are_thinned() {
        let mut trend = Trend::default();
        for second in 0..60 {
            trend.push(second * 1_000, 20.0, 60_000);
        }
        assert_eq!(trend.samples.len(), 12, "one sample every 5 s");
    }
}
