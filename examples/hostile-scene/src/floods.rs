//! The attacks on shared resources and quotas: each stays inside the
//! sandbox (no trap, no spin past the budget) and tries to hurt the host or
//! its neighbours through what it was granted. Each returns `Ok` once the
//! host refuses it, keeping the host's last refusal for the report.

use std::time::{Duration, Instant};

use linli_sdk::notify::{self, Message};
use linli_sdk::{audience, ledger, log, state, Error, Reading, Severity};

/// Store key of the text of the last `limit` error the host answered.
pub const LIMIT_KEY: &str = "last-limit";
/// Store key prefix of the state bomb's values.
pub const BOMB_PREFIX: &str = "bomb/";
/// The size of each value the state bomb writes.
const BOMB_VALUE_BYTES: usize = 1 << 20;

/// Keeps the text of a `limit` error for the report; other errors fail the event.
fn refused(error: Error) -> Result<(), Error> {
    match error {
        Error::Limit(text) => state::put(LIMIT_KEY, &text),
        other => Err(other),
    }
}

/// Appends one ledger record, then computes for `hold` while holding
/// whatever writing to the ledger holds.
pub fn ledger_hog(reading: &Reading, hold: Duration) -> Result<(), Error> {
    let key = format!("hog-{}-{}", reading.device, reading.at);
    ledger::append_record("hostile/hog", "{}", &key)
        .map_err(|e| Error::Internal(format!("{e:?}")))?;
    let started = Instant::now();
    let mut turns: u64 = 0;
    while started.elapsed() < hold {
        turns = std::hint::black_box(turns.wrapping_add(1));
    }
    Ok(())
}

/// Writes `count` values of 1 MiB under new keys.
pub fn state_bomb(reading: &Reading, count: u32) -> Result<(), Error> {
    let value = vec![0xA5u8; BOMB_VALUE_BYTES];
    for i in 0..count {
        let key = format!("{BOMB_PREFIX}{}-{i}", reading.at);
        if let Err(e) = linli_sdk::store::set(&key, &value) {
            return refused(e);
        }
    }
    Ok(())
}

/// Logs `count` lines of about 1 KiB.
pub fn log_flood(count: u32) {
    let line = "x".repeat(1000);
    for i in 0..count {
        log::info(&format!("flood {i} {line}"));
    }
}

/// Sends `count` messages to the residents of `place`.
pub fn message_burst(
    reading: &Reading,
    place: &str,
    count: u32,
    critical: bool,
) -> Result<(), Error> {
    for i in 0..count {
        let sent = notify::send(&Message {
            audience: vec![audience::residents(place)],
            severity: if critical {
                Severity::Critical
            } else {
                Severity::Info
            },
            topic: "burst".to_owned(),
            title: format!("message {i}"),
            body: String::new(),
            data: "{}".to_owned(),
            idempotency_key: format!("burst-{}-{}-{i}", reading.device, reading.at),
            require_ack: false,
            escalation: Vec::new(),
        });
        if let Err(e) = sent {
            return refused(e);
        }
    }
    Ok(())
}

/// How many bomb values are stored.
pub fn bomb_values() -> Result<usize, Error> {
    Ok(state::keys(BOMB_PREFIX)?.len())
}
