//! When a heart rate is out of range for long enough to alarm anyone.
//!
//! A single spike (a sneeze, a loose strap) must not wake a family, so a
//! rate is *sustained* only when at least `readings` consecutive readings
//! are out of range on the same side and they span at least `span_ms`:
//! a watch reporting every second needs the span, one reporting every few
//! minutes needs the count. A sustained out-of-range rate raises once per
//! episode; a sustained return to range clears it.

use serde::{Deserialize, Serialize};

/// One person's limits and the community's sustain rule.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Thresholds {
    pub low_bpm: f64,
    pub high_bpm: f64,
    pub readings: u32,
    pub span_ms: i64,
}

/// Where a rate lies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Band {
    Low,
    #[default]
    Normal,
    High,
}

impl Thresholds {
    fn band(&self, bpm: f64) -> Band {
        if bpm > self.high_bpm {
            Band::High
        } else if bpm < self.low_bpm {
            Band::Low
        } else {
            Band::Normal
        }
    }
}

/// The current run of readings in one band, and the band alarmed about.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct Streak {
    band: Band,
    since: i64,
    count: u32,
    last_at: i64,
    /// The out-of-range band an alarm is up for, if any.
    alarmed: Option<Band>,
}

/// What a reading changes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Verdict {
    /// An alarm to raise for this band.
    pub raise: Option<Band>,
    /// An alarm to clear for this band.
    pub clear: Option<Band>,
}

impl Streak {
    /// Takes one reading of `bpm` measured `at`; readings older than the
    /// last one (a device catching up out of order) are ignored.
    pub fn observe(&mut self, bpm: f64, at: i64, thresholds: &Thresholds) -> Verdict {
        if self.count > 0 && at < self.last_at {
            return Verdict::default();
        }
        let band = thresholds.band(bpm);
        if self.count == 0 || band != self.band {
            self.band = band;
            self.since = at;
            self.count = 0;
        }
        self.count += 1;
        self.last_at = at;
        let sustained = self.count >= thresholds.readings && at - self.since >= thresholds.span_ms;
        if !sustained
            || self.alarmed == Some(band)
            || (band == Band::Normal && self.alarmed.is_none())
        {
            return Verdict::default();
        }
        let clear = self.alarmed.take();
        let raise = (band != Band::Normal).then_some(band);
        self.alarmed = raise;
        Verdict { raise, clear }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MINUTE: i64 = 60_000;
    const RULE: Thresholds = Thresholds {
        low_bpm: 45.0,
        high_bpm: 120.0,
        readings: 3,
        span_ms: 2 * MINUTE,
    };

    fn feed(streak: &mut Streak, readings: &[(f64, i64)]) -> Vec<Verdict> {
        readings
            .iter()
            .map(|&(bpm, minute)| streak.observe(bpm, minute * MINUTE, &RULE))
            .collect()
    }

    fn raised(band: Band) -> Verdict {
        Verdict {
            raise: Some(band),
            clear: None,
        }
    }

    #[test]
    fn a_single_spike_raises_nothing() {
        let mut streak = Streak::default();
        let verdicts = feed(
            &mut streak,
            &[(80.0, 0), (160.0, 1), (80.0, 2), (160.0, 3), (82.0, 4)],
        );
        assert!(
            verdicts.iter().all(|v| *v == Verdict::default()),
            "{verdicts:?}"
        );
    }

    #[test]
    fn three_high_readings_over_two_minutes_raise_once() {
        let mut streak = Streak::default();
        let verdicts = feed(
            &mut streak,
            &[(150.0, 0), (150.0, 1), (151.0, 2), (155.0, 3), (149.0, 9)],
        );
        assert_eq!(
            verdicts,
            [
                Verdict::default(),
                Verdict::default(),
                raised(Band::High),
                Verdict::default(),
                Verdict::default()
            ]
        );
    }

    #[test]
    fn many_readings_in_a_few_seconds_are_not_yet_sustained() {
        let mut streak = Streak::default();
        let burst: Vec<Verdict> = (0..10)
            .map(|second| streak.observe(150.0, second * 1000, &RULE))
            .collect();
        assert!(burst.iter().all(|v| *v == Verdict::default()));
        assert_eq!(streak.observe(150.0, 2 * MINUTE, &RULE), raised(Band::High));
    }

    #[test]
    fn a_sustained_return_to_range_clears_and_a_drop_below_replaces_a_high() {
        let mut streak = Streak::default();
        feed(&mut streak, &[(150.0, 0), (150.0, 1), (150.0, 2)]);
        let back = feed(&mut streak, &[(80.0, 3), (80.0, 4), (80.0, 5)]);
        assert_eq!(
            back[2],
            Verdict {
                raise: None,
                clear: Some(Band::High)
            }
        );
        feed(&mut streak, &[(150.0, 6), (150.0, 7), (150.0, 8)]);
        let low = feed(&mut streak, &[(40.0, 9), (40.0, 10), (39.0, 11)]);
        assert_eq!(
            low[2],
            Verdict {
                raise: Some(Band::Low),
                clear: Some(Band::High)
            }
        );
    }

    #[test]
    fn readings_out_of_order_are_ignored() {
        let mut streak = Streak::default();
        feed(&mut streak, &[(150.0, 10), (150.0, 11)]);
        assert_eq!(streak.observe(80.0, 5 * MINUTE, &RULE), Verdict::default());
        assert_eq!(
            streak.observe(150.0, 12 * MINUTE, &RULE),
            raised(Band::High)
        );
    }
}
