//! Retention: each community keeps its raw readings for
//! `reading_retention_days` (30 unless its admin sets otherwise, through
//! `PATCH /api/v1/communities/{c}`), and what else holds personal
//! information for a time of its own ([`KEPT`]): inbox messages 180 days,
//! the access log 365 (China's Cybersecurity Law asks for at least six
//! months of such logs), dead letters 90. A periodic task on the host clock
//! purges what is older, in bounded chunks so that ingest's writer is never
//! held up for long.
//!
//! A reading is never purged before every installation of its community has
//! handled it: only readings at or below the smallest cursor of the
//! community's installations (active or suspended) go. A suspended
//! installation therefore holds its backlog until it is resumed, however old.

use std::sync::Arc;
use std::time::Duration;

use tokio::task::JoinHandle;

use crate::clock::{Millis, SharedClock};
use crate::db::Db;
use crate::metrics::Metrics;
use crate::validation::Invalid;

/// Retention of a community that has not set its own.
pub const DEFAULT_RETENTION_DAYS: i64 = 30;
/// Inbox messages' retention of a community that has not set its own.
pub const DEFAULT_INBOX_DAYS: i64 = 180;
/// The access log's retention of a community that has not set its own.
pub const DEFAULT_ACCESS_LOG_DAYS: i64 = 365;
/// Dead letters' retention of a community that has not set its own.
pub const DEFAULT_DEAD_LETTER_DAYS: i64 = 90;
/// Longest retention a community may set (ten years).
pub const MAX_RETENTION_DAYS: i64 = 3650;
/// Rows one purge statement looks at.
const CHUNK: i64 = 5_000;
const DAY_MS: Millis = 24 * 60 * 60 * 1000;

/// Checks a community's retention setting `field` (in days).
pub fn check_days(field: &'static str, days: i64) -> Result<(), Invalid> {
    if (1..=MAX_RETENTION_DAYS).contains(&days) {
        Ok(())
    } else {
        Err(Invalid::new(
            field,
            format!("must be between 1 and {MAX_RETENTION_DAYS}, got {days}"),
        ))
    }
}

/// Rows a community keeps for a number of days after they were made.
struct Kept {
    table: &'static str,
    /// The columns that pick one row, for chunked deletes.
    key: &'static str,
    /// How a row belongs to community `$1`.
    belongs: &'static str,
    /// When the row was made.
    made: &'static str,
    /// The community's setting, in days.
    days: &'static str,
}

/// Everything but the readings that retention purges. Messages take their
/// deliveries and broadcast inboxes with them (foreign keys).
const KEPT: [Kept; 4] = [
    Kept {
        table: "ingest_batches",
        key: "(device_id, idempotency_key)",
        belongs: "community_id = $1",
        made: "received_at",
        days: "reading_retention_days",
    },
    Kept {
        table: "notify_messages",
        key: "id",
        belongs: "community_id = $1",
        made: "created_at",
        days: "inbox_retention_days",
    },
    Kept {
        table: "personal_data_access",
        key: "seq",
        belongs: "community_id = $1",
        made: "at",
        days: "access_log_retention_days",
    },
    Kept {
        table: "dead_letters",
        key: "id",
        belongs: "installation_id IN (SELECT id FROM installations WHERE community_id = $1)",
        made: "at",
        days: "dead_letter_retention_days",
    },
];

/// What one purge removed.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Purged {
    pub readings: u64,
    /// Batch keys, messages, access log entries and dead letters.
    pub other_rows: u64,
}

/// Purges every community once, as of `now`.
pub async fn purge(db: &Db, now: Millis) -> Result<Purged, sqlx::Error> {
    let communities: Vec<String> = sqlx::query_scalar("SELECT id FROM communities ORDER BY id")
        .fetch_all(db)
        .await?;
    let mut purged = Purged::default();
    let cutoff = |days: i64| now.saturating_sub(days.saturating_mul(DAY_MS));
    for community in communities {
        let days: i64 =
            sqlx::query_scalar("SELECT reading_retention_days FROM communities WHERE id = $1")
                .bind(&community)
                .fetch_one(db)
                .await?;
        purged.readings += purge_readings(db, &community, cutoff(days)).await?;
        for kept in &KEPT {
            let days: i64 = sqlx::query_scalar(&format!(
                "SELECT {} FROM communities WHERE id = $1",
                kept.days
            ))
            .bind(&community)
            .fetch_one(db)
            .await?;
            purged.other_rows += purge_kept(db, kept, &community, cutoff(days)).await?;
        }
    }
    Ok(purged)
}

/// Deletes a community's readings measured before `cutoff` that every
/// installation has handled, walking its log from the oldest in windows of
/// [`CHUNK`] readings. It stops at the first window with nothing to delete:
/// from there on the log is young, or not yet handled.
async fn purge_readings(db: &Db, community: &str, cutoff: Millis) -> Result<u64, sqlx::Error> {
    let mut deleted = 0;
    let mut after = 0_i64;
    loop {
        let window_end: Option<i64> = sqlx::query_scalar(
            "SELECT MAX(seq) FROM (SELECT seq FROM readings WHERE community_id = $1 AND seq > $2 \
             ORDER BY seq LIMIT $3) w",
        )
        .bind(community)
        .bind(after)
        .bind(CHUNK)
        .fetch_one(db)
        .await?;
        let Some(window_end) = window_end else {
            return Ok(deleted);
        };
        // The window's history entries go with its readings, found by their
        // keys (each a lookup in `reading_history`'s primary key).
        let purged = "FROM readings WHERE community_id = $1 AND seq > $2 AND seq <= $3 AND at < $4 \
             AND seq <= COALESCE((SELECT MIN(cursor) FROM installations WHERE community_id = $1), seq)";
        let mut tx = crate::db::begin(db).await?;
        sqlx::query(&format!(
            "DELETE FROM reading_history WHERE (community_id, device_id, kind, at, seq) IN \
             (SELECT community_id, device_id, kind, at, seq {purged})"
        ))
        .bind(community)
        .bind(after)
        .bind(window_end)
        .bind(cutoff)
        .execute(&mut *tx)
        .await?;
        let done = sqlx::query(&format!("DELETE {purged}"))
            .bind(community)
            .bind(after)
            .bind(window_end)
            .bind(cutoff)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        tx.commit().await?;
        if done == 0 {
            return Ok(deleted);
        }
        deleted += done;
        after = window_end;
        tokio::task::yield_now().await;
    }
}

/// Deletes a community's rows of `kept` made before `cutoff`.
async fn purge_kept(
    db: &Db,
    kept: &Kept,
    community: &str,
    cutoff: Millis,
) -> Result<u64, sqlx::Error> {
    let Kept {
        table,
        key,
        belongs,
        made,
        ..
    } = kept;
    let columns = key.trim_start_matches('(').trim_end_matches(')');
    let statement = format!(
        "DELETE FROM {table} WHERE {belongs} AND {key} IN \
         (SELECT {columns} FROM {table} WHERE {belongs} AND {made} < $2 LIMIT $3)"
    );
    let mut deleted = 0;
    loop {
        let done = sqlx::query(&statement)
            .bind(community)
            .bind(cutoff)
            .bind(CHUNK)
            .execute(db)
            .await?
            .rows_affected();
        deleted += done;
        if done < CHUNK as u64 {
            return Ok(deleted);
        }
        tokio::task::yield_now().await;
    }
}

/// Starts the purge task: a purge now, then one every `every` on the host clock.
pub fn spawn(db: Db, clock: SharedClock, metrics: Arc<Metrics>, every: Duration) -> JoinHandle<()> {
    let every_ms = Millis::try_from(every.as_millis()).unwrap_or(Millis::MAX);
    tokio::spawn(async move {
        loop {
            // The next purge is due `every` after this one starts, so a clock
            // that moves during a purge is not missed.
            let next = clock.now().saturating_add(every_ms);
            match purge(&db, clock.now()).await {
                Ok(purged) => {
                    metrics.readings_purged(purged.readings);
                    if purged != Purged::default() {
                        tracing::info!(
                            readings = purged.readings,
                            other_rows = purged.other_rows,
                            "purged what is past its retention"
                        );
                    }
                }
                Err(e) => tracing::warn!("retention purge failed, trying again later: {e}"),
            }
            clock.sleep_until(next).await;
        }
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn retention_is_between_a_day_and_ten_years() {
        let field = "reading_retention_days";
        assert!(super::check_days(field, 1).is_ok());
        assert!(super::check_days(field, 30).is_ok());
        assert!(super::check_days(field, 3650).is_ok());
        for bad in [0, -1, 3651] {
            let err = super::check_days(field, bad).unwrap_err();
            assert_eq!(err.field, "reading_retention_days", "{err}");
        }
    }
}
