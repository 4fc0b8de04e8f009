//! The installation's timers, as the `timer` capability keeps them.
//!
//! The simulated clock only moves when a test moves it, and it stops at
//! every due time on the way (see [`super::SimulatedHost::advance_to`]), so
//! a repeating timer fires on each of its beats and never falls behind; the
//! host's rule for a timer that did fall behind (skip the missed beats) is
//! kept for a clock moved by other means.

use std::collections::BTreeMap;

use crate::{Error, Timestamp};

/// Longest tag, in bytes, as on the host.
const MAX_TAG_BYTES: usize = 128;
/// Shortest repeat interval, as on the host.
const MIN_EVERY_MS: u64 = 1000;
/// Most timers one installation may have, as on the host.
const MAX_TIMERS: usize = 10_000;

/// A timer as scheduled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Schedule {
    /// When it fires next.
    pub due: Timestamp,
    /// How often it repeats, if it does.
    pub every_ms: Option<u64>,
}

impl Schedule {
    /// When a timer due at `self.due` that fired at `now` fires next, if ever.
    fn next_after(&self, now: Timestamp) -> Option<Timestamp> {
        let every = i64::try_from(self.every_ms?).ok()?;
        let missed = (now - self.due).max(0) / every;
        Some(self.due + (missed + 1) * every)
    }
}

/// The timers by tag.
#[derive(Debug, Clone, Default)]
pub(crate) struct Timers {
    by_tag: BTreeMap<String, Schedule>,
}

fn check_tag(tag: &str) -> Result<(), Error> {
    if tag.is_empty() || tag.len() > MAX_TAG_BYTES {
        return Err(Error::Invalid(format!(
            "tag must be 1-{MAX_TAG_BYTES} bytes"
        )));
    }
    Ok(())
}

impl Timers {
    pub fn schedule(
        &mut self,
        tag: &str,
        at: Timestamp,
        every_ms: Option<u64>,
    ) -> Result<(), Error> {
        check_tag(tag)?;
        if at < 0 {
            return Err(Error::Invalid("at must not be before 1970".to_owned()));
        }
        match every_ms {
            Some(every) if every < MIN_EVERY_MS => {
                return Err(Error::Invalid(format!(
                    "every-ms must be at least {MIN_EVERY_MS}"
                )))
            }
            Some(every) if i64::try_from(every).is_err() => {
                return Err(Error::Invalid("every-ms is too large".to_owned()))
            }
            _ => {}
        }
        if !self.by_tag.contains_key(tag) && self.by_tag.len() >= MAX_TIMERS {
            return Err(Error::Limit(format!(
                "an installation may have at most {MAX_TIMERS} timers"
            )));
        }
        self.by_tag
            .insert(tag.to_owned(), Schedule { due: at, every_ms });
        Ok(())
    }

    pub fn cancel(&mut self, tag: &str) -> Result<bool, Error> {
        check_tag(tag)?;
        Ok(self.by_tag.remove(tag).is_some())
    }

    /// The earliest due time of any timer.
    pub fn next_due(&self) -> Option<Timestamp> {
        self.by_tag.values().map(|s| s.due).min()
    }

    /// The timers due at `now`, earliest first, then by tag (the host's order).
    pub fn due(&self, now: Timestamp) -> Vec<(String, Schedule)> {
        let mut due: Vec<(String, Schedule)> = self
            .by_tag
            .iter()
            .filter(|(_, s)| s.due <= now)
            .map(|(tag, s)| (tag.clone(), *s))
            .collect();
        due.sort_by_key(|(_, s)| s.due);
        due
    }

    /// Moves a timer that fired at `now` to its next beat, or removes a one-shot.
    pub fn fired(&mut self, tag: &str, schedule: Schedule, now: Timestamp) {
        match schedule.next_after(now) {
            Some(due) => {
                self.by_tag
                    .insert(tag.to_owned(), Schedule { due, ..schedule });
            }
            None => {
                self.by_tag.remove(tag);
            }
        }
    }

    /// Every timer, by tag.
    pub fn all(&self) -> &BTreeMap<String, Schedule> {
        &self.by_tag
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_repeating_timer_that_fell_behind_skips_the_missed_beats() {
        let schedule = Schedule {
            due: 1_000,
            every_ms: Some(1_000),
        };
        assert_eq!(schedule.next_after(1_000), Some(2_000));
        assert_eq!(schedule.next_after(3_500), Some(4_000));
        let once = Schedule {
            due: 1_000,
            every_ms: None,
        };
        assert_eq!(once.next_after(5_000), None);
    }
}
