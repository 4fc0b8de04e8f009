//! The quotas of one installation that outlive its instances: how fast it
//! logs and how many messages it sends, overall and to each person. (State
//! quotas are checked by `store` against the usage the store keeps.)
//!
//! Rates are counted in fixed windows: the current second for logs (wall
//! clock: logs cost the host's disk and CPU now), the current minute and
//! hour of the host clock for messages. The counts live in memory, so a
//! restart or an admin's change to the installation starts them afresh.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::clock::Millis;
use crate::ids::PersonId;
use crate::limits::Limits;
use crate::metrics::InstallationMetrics;
use crate::wit::linli::platform::types::Error;

const MINUTE_MS: Millis = 60_000;
const HOUR_MS: Millis = 60 * MINUTE_MS;

/// An installation's limits and the counts its rate quotas are checked against.
pub struct Quotas {
    limits: Limits,
    metrics: InstallationMetrics,
    log: Mutex<LogWindow>,
    messages: Mutex<MessageWindows>,
}

struct LogWindow {
    started: Instant,
    lines: u32,
    bytes: u64,
    /// Lines dropped in this window, reported once when it ends.
    dropped: u64,
}

#[derive(Default)]
struct MessageWindows {
    minute: Millis,
    sent_this_minute: u32,
    hour: Millis,
    /// Per person this hour: (non-critical, critical) messages.
    people: HashMap<PersonId, (u32, u32)>,
}

/// What a message reserved against the rates, to give back if its handler fails.
#[derive(Debug, Clone)]
pub struct Reservation {
    minute: Millis,
    hour: Millis,
    critical: bool,
    people: Vec<PersonId>,
}

impl Quotas {
    pub fn new(limits: Limits, metrics: InstallationMetrics) -> Self {
        Self {
            limits,
            metrics,
            log: Mutex::new(LogWindow {
                started: Instant::now(),
                lines: 0,
                bytes: 0,
                dropped: 0,
            }),
            messages: Mutex::default(),
        }
    }

    /// The installation's limits.
    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    /// The typed error for a reached quota, counted in `linli_quota_exceeded_total`.
    pub fn exceeded(&self, quota: &str, message: impl Into<String>) -> Error {
        self.metrics.quota_exceeded(quota);
        Error::Limit(format!("quota {quota}: {}", message.into()))
    }

    /// Whether a log line of `bytes` may be written now. Past the rate it is
    /// dropped and counted; when the window ends, the host notes how many
    /// went in one line of its own. The second value is that count, if any.
    pub fn admit_log(&self, bytes: usize) -> (bool, Option<u64>) {
        let mut window = self.log.lock().expect("log quota");
        let mut reported = None;
        if window.started.elapsed() >= Duration::from_secs(1) {
            if window.dropped > 0 {
                reported = Some(window.dropped);
            }
            *window = LogWindow {
                started: Instant::now(),
                lines: 0,
                bytes: 0,
                dropped: 0,
            };
        }
        let admitted = window.lines < self.limits.log_lines_per_second
            && window.bytes + bytes as u64 <= u64::from(self.limits.log_bytes_per_second);
        if admitted {
            window.lines += 1;
            window.bytes += bytes as u64;
        } else {
            window.dropped += 1;
            self.metrics.log_dropped(1);
        }
        (admitted, reported)
    }

    /// Reserves one message to `people` at `now`, or says which rate it would pass.
    pub fn reserve_message(
        &self,
        now: Millis,
        people: Vec<PersonId>,
        critical: bool,
    ) -> Result<Reservation, Error> {
        let mut windows = self.messages.lock().expect("message quota");
        let (minute, hour) = (
            now - now.rem_euclid(MINUTE_MS),
            now - now.rem_euclid(HOUR_MS),
        );
        if windows.minute != minute {
            windows.minute = minute;
            windows.sent_this_minute = 0;
        }
        if windows.hour != hour {
            windows.hour = hour;
            windows.people.clear();
        }
        if windows.sent_this_minute >= self.limits.messages_per_minute {
            return Err(self.exceeded(
                "messages-per-minute",
                format!(
                    "at most {} messages a minute",
                    self.limits.messages_per_minute
                ),
            ));
        }
        let (cap, name) = if critical {
            (
                self.limits.critical_messages_per_person_per_hour,
                "critical-messages-per-person-per-hour",
            )
        } else {
            (
                self.limits.messages_per_person_per_hour,
                "messages-per-person-per-hour",
            )
        };
        let count = |counts: &(u32, u32)| if critical { counts.1 } else { counts.0 };
        let full = people
            .iter()
            .filter(|p| windows.people.get(*p).is_some_and(|c| count(c) >= cap))
            .count();
        if full > 0 {
            return Err(self.exceeded(
                name,
                format!(
                    "{full} of the {} recipients already got {cap} such messages this hour",
                    people.len()
                ),
            ));
        }
        windows.sent_this_minute += 1;
        for person in &people {
            let counts = windows.people.entry(person.clone()).or_default();
            if critical {
                counts.1 += 1;
            } else {
                counts.0 += 1;
            }
        }
        Ok(Reservation {
            minute,
            hour,
            critical,
            people,
        })
    }

    /// Gives back what messages of a failed handler reserved.
    pub fn release(&self, reservations: Vec<Reservation>) {
        let mut windows = self.messages.lock().expect("message quota");
        for r in reservations {
            if windows.minute == r.minute {
                windows.sent_this_minute = windows.sent_this_minute.saturating_sub(1);
            }
            if windows.hour != r.hour {
                continue;
            }
            for person in &r.people {
                if let Some(counts) = windows.people.get_mut(person) {
                    let count = if r.critical {
                        &mut counts.1
                    } else {
                        &mut counts.0
                    };
                    *count = count.saturating_sub(1);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn quotas(limits: Limits) -> Quotas {
        let metrics = crate::metrics::Metrics::new().installation("c", "p", "i");
        Quotas::new(limits, metrics)
    }

    fn people(names: &[&str]) -> Vec<PersonId> {
        names.iter().map(|n| n.parse().unwrap()).collect()
    }

    #[test]
    fn log_lines_past_the_rate_are_dropped_and_counted() {
        let q = quotas(Limits {
            log_lines_per_second: 3,
            ..Limits::default()
        });
        let admitted: Vec<bool> = (0..5).map(|_| q.admit_log(10).0).collect();
        assert_eq!(admitted, [true, true, true, false, false]);
    }

    #[test]
    fn message_rates_count_per_minute_per_person_and_apart_for_critical() {
        let q = quotas(Limits {
            messages_per_minute: 100,
            messages_per_person_per_hour: 2,
            critical_messages_per_person_per_hour: 3,
            ..Limits::default()
        });
        let both = people(&["a", "b"]);
        q.reserve_message(0, both.clone(), false).unwrap();
        q.reserve_message(1, people(&["a"]), false).unwrap();
        assert!(matches!(
            q.reserve_message(2, both.clone(), false),
            Err(Error::Limit(_))
        ));
        // b alone still has room; critical messages count on their own.
        q.reserve_message(3, people(&["b"]), false).unwrap();
        for t in 4..7 {
            q.reserve_message(t, both.clone(), true).unwrap();
        }
        assert!(q.reserve_message(7, both.clone(), true).is_err());
        // A failed handler gives its reservation back; a new hour starts afresh.
        let r = q.reserve_message(HOUR_MS, both.clone(), false).unwrap();
        q.reserve_message(HOUR_MS + 1, both.clone(), false).unwrap();
        q.release(vec![r]);
        q.reserve_message(HOUR_MS + 2, both.clone(), false).unwrap();
        assert!(q.reserve_message(HOUR_MS + 3, both.clone(), false).is_err());
    }

    #[test]
    fn messages_per_minute_hold_whatever_the_audience() {
        let q = quotas(Limits {
            messages_per_minute: 2,
            ..Limits::default()
        });
        q.reserve_message(0, people(&["a"]), false).unwrap();
        q.reserve_message(1, people(&["b"]), false).unwrap();
        assert!(q.reserve_message(2, people(&["c"]), false).is_err());
        q.reserve_message(MINUTE_MS, people(&["c"]), false).unwrap();
    }
}
