//! `timer`: the host clock and one-shot or repeating timers. Timers live in
//! the store, so they survive restarts; the installation's actor fires the
//! due ones as `timer-fired` events. Schedules and cancels made by a handler
//! take effect only when it succeeds, like every other effect.

use std::collections::BTreeMap;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use futures::future::BoxFuture;

use super::effects::{CommitError, Effects};
use super::{InstallationContext, Scope};
use crate::clock::Millis;
use crate::db::{Db, Tx};
use crate::ids::InstallationId;
use crate::wit::linli::platform::timer::Host;
use crate::wit::linli::platform::types::Error;

/// Longest tag, in bytes.
pub const MAX_TAG_BYTES: usize = 128;
/// Shortest repeat interval.
pub const MIN_EVERY_MS: u64 = 1000;
/// Most timers one installation may have.
pub const MAX_TIMERS: i64 = 10_000;

/// The `timer` grant; it has no finer scope.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TimerScope {}

impl Scope for TimerScope {
    fn within(&self, _requested: &Self) -> Result<(), String> {
        Ok(())
    }
}

/// A timer as stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Schedule {
    pub due_at: Millis,
    pub every_ms: Option<i64>,
}

impl Schedule {
    /// When a timer that was due at `self.due_at` and fired at `now` fires next, if ever.
    /// A repeating timer that fell behind skips the missed beats instead of firing a burst.
    pub fn next_after(&self, now: Millis) -> Option<Millis> {
        let every = self.every_ms?;
        let missed = (now - self.due_at).max(0) / every;
        Some(self.due_at + (missed + 1) * every)
    }
}

/// Per-instance `timer` state: the running handler's uncommitted changes.
pub struct TimerHost {
    ctx: Arc<InstallationContext>,
    /// `Some` schedules, `None` cancels.
    pending: BTreeMap<String, Option<Schedule>>,
}

impl TimerHost {
    pub fn new(ctx: Arc<InstallationContext>) -> Self {
        Self {
            ctx,
            pending: BTreeMap::new(),
        }
    }

    fn check(&self, tag: &str) -> Result<(), Error> {
        if self.ctx.grants.timer.is_none() {
            return Err(self
                .ctx
                .deny("timer", "timer was not granted to this installation"));
        }
        if tag.is_empty() || tag.len() > MAX_TAG_BYTES {
            return Err(Error::Invalid(format!(
                "tag must be 1-{MAX_TAG_BYTES} bytes"
            )));
        }
        Ok(())
    }

    async fn exists(&self, tag: &str) -> Result<bool, Error> {
        if let Some(pending) = self.pending.get(tag) {
            return Ok(pending.is_some());
        }
        let found: Option<i64> =
            sqlx::query_scalar("SELECT due_at FROM timers WHERE installation_id = $1 AND tag = $2")
                .bind(&self.ctx.installation)
                .bind(tag)
                .fetch_optional(&self.ctx.db)
                .await
                .map_err(|e| self.ctx.internal("timer", e))?;
        Ok(found.is_some())
    }

    /// Writes the pending changes into `tx`.
    async fn write(&mut self, tx: &mut Tx) -> Result<(), sqlx::Error> {
        for (tag, schedule) in std::mem::take(&mut self.pending) {
            match schedule {
                Some(s) => sqlx::query(
                    "INSERT INTO timers (installation_id, tag, due_at, every_ms) VALUES ($1, $2, $3, $4) \
                     ON CONFLICT (installation_id, tag) DO UPDATE SET due_at = excluded.due_at, every_ms = excluded.every_ms",
                )
                .bind(&self.ctx.installation)
                .bind(tag)
                .bind(s.due_at)
                .bind(s.every_ms),
                None => sqlx::query("DELETE FROM timers WHERE installation_id = $1 AND tag = $2")
                    .bind(&self.ctx.installation)
                    .bind(tag),
            }
            .execute(&mut **tx)
            .await?;
        }
        Ok(())
    }
}

impl Effects for TimerHost {
    fn commit<'a>(&'a mut self, tx: &'a mut Tx) -> BoxFuture<'a, Result<(), CommitError>> {
        Box::pin(async move { Ok(self.write(tx).await?) })
    }

    /// Drops the pending changes.
    fn discard(&mut self) {
        self.pending.clear();
    }
}

/// A timer that is due to fire.
pub struct DueTimer {
    pub tag: String,
    pub schedule: Schedule,
}

/// The installation's timers due at `now`, earliest first, at most `limit`.
pub async fn due(
    db: &Db,
    installation: &InstallationId,
    now: Millis,
    limit: i64,
) -> Result<Vec<DueTimer>, sqlx::Error> {
    let rows: Vec<(String, i64, Option<i64>)> = sqlx::query_as(
        "SELECT tag, due_at, every_ms FROM timers WHERE installation_id = $1 AND due_at <= $2 ORDER BY due_at, tag LIMIT $3",
    )
    .bind(installation)
    .bind(now)
    .bind(limit)
    .fetch_all(db)
    .await?;
    Ok(rows
        .into_iter()
        .map(|(tag, due_at, every_ms)| DueTimer {
            tag,
            schedule: Schedule { due_at, every_ms },
        })
        .collect())
}

/// When the installation's next timer is due, if it has one.
pub async fn next_due(
    db: &Db,
    installation: &InstallationId,
) -> Result<Option<Millis>, sqlx::Error> {
    sqlx::query_scalar("SELECT MIN(due_at) FROM timers WHERE installation_id = $1")
        .bind(installation)
        .fetch_one(db)
        .await
}

/// Moves a timer that fired to its next beat after `now` (a repeating timer
/// that fell behind skips the missed ones), or removes a one-shot, in `tx`.
pub async fn fired(
    tx: &mut Tx,
    installation: &InstallationId,
    timer: &DueTimer,
    now: Millis,
) -> Result<(), sqlx::Error> {
    match timer.schedule.next_after(now) {
        Some(next) => {
            sqlx::query("UPDATE timers SET due_at = $1 WHERE installation_id = $2 AND tag = $3")
                .bind(next)
                .bind(installation)
                .bind(&timer.tag)
        }
        None => sqlx::query("DELETE FROM timers WHERE installation_id = $1 AND tag = $2")
            .bind(installation)
            .bind(&timer.tag),
    }
    .execute(&mut **tx)
    .await?;
    Ok(())
}

impl Host for TimerHost {
    async fn now(&mut self) -> Millis {
        self.ctx.clock.now()
    }

    async fn schedule(
        &mut self,
        tag: String,
        at: Millis,
        every_ms: Option<u64>,
    ) -> Result<(), Error> {
        self.check(&tag)?;
        if at < 0 {
            return Err(Error::Invalid("at must not be before 1970".to_owned()));
        }
        let every_ms = match every_ms {
            Some(every) if every < MIN_EVERY_MS => {
                return Err(Error::Invalid(format!(
                    "every-ms must be at least {MIN_EVERY_MS}"
                )));
            }
            Some(every) => Some(
                i64::try_from(every)
                    .map_err(|_| Error::Invalid("every-ms is too large".to_owned()))?,
            ),
            None => None,
        };
        if !self.exists(&tag).await? {
            let count: i64 =
                sqlx::query_scalar("SELECT COUNT(*) FROM timers WHERE installation_id = $1")
                    .bind(&self.ctx.installation)
                    .fetch_one(&self.ctx.db)
                    .await
                    .map_err(|e| self.ctx.internal("timer", e))?;
            if count + self.pending.len() as i64 >= MAX_TIMERS {
                return Err(Error::Limit(format!(
                    "an installation may have at most {MAX_TIMERS} timers"
                )));
            }
        }
        self.pending.insert(
            tag,
            Some(Schedule {
                due_at: at,
                every_ms,
            }),
        );
        Ok(())
    }

    async fn cancel(&mut self, tag: String) -> Result<bool, Error> {
        self.check(&tag)?;
        let existed = self.exists(&tag).await?;
        self.pending.insert(tag, None);
        Ok(existed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repeating_timers_skip_missed_beats() {
        let s = Schedule {
            due_at: 1_000,
            every_ms: Some(100),
        };
        assert_eq!(s.next_after(1_000), Some(1_100));
        assert_eq!(s.next_after(1_350), Some(1_400));
        let once = Schedule {
            due_at: 1_000,
            every_ms: None,
        };
        assert_eq!(once.next_after(5_000), None);
    }
}
