//! The history index: which readings each device measured when, for
//! history queries by device and time (`caps::sensor::history`), kept apart
//! from the event log and filled by the log writer in large steps.
//!
//! An index of the log itself by (device, kind, measurement time) cost one
//! index page per device named in every commit: the writer commits often
//! (each group is a few thousand readings at most), a gateway's group names
//! hundreds of devices, and a late reading lands on an old page. So the log
//! stays append-only and [`HistoryIndex::step`] copies the keys of the
//! readings after `history_cursor` into `reading_history`, sorted by device
//! and time, up to [`STEP_READINGS`] at a time and in one transaction with
//! the cursor: each device's page is then written once a step instead of
//! once a commit. The writer takes a step between groups once
//! [`STEP_READINGS`] have accumulated or when it has waited [`STEP_DELAY`]
//! (or sooner, when nothing else is waiting), so under a flood history is
//! seconds behind the log at most, and otherwise milliseconds.
//!
//! Queries do not wait for it: they read `reading_history` up to the cursor
//! and the log after it (through its `(community, seq)` index), in one
//! statement and so one snapshot. A step and its cursor commit together,
//! so after a crash the next step starts where the last one ended.

use std::time::{Duration, Instant};

use crate::db::Db;

/// Most readings one step indexes.
pub const STEP_READINGS: i64 = 50_000;
/// Longest a committed reading waits for its step while readings arrive.
pub const STEP_DELAY: Duration = Duration::from_secs(1);

/// Where the history index is, as the log writer keeps track of it.
pub struct HistoryIndex {
    /// Readings committed since the last step (an estimate: sequence
    /// numbers may have gaps); `None` until the first step has looked.
    behind: Option<i64>,
    last_step: Instant,
}

impl Default for HistoryIndex {
    fn default() -> Self {
        Self {
            behind: None,
            last_step: Instant::now(),
        }
    }
}

impl HistoryIndex {
    /// `count` readings were committed to the log.
    pub fn appended(&mut self, count: usize) {
        self.behind = Some(self.behind.unwrap_or(0) + count as i64);
    }

    /// Whether readings may be waiting for a step at all.
    pub fn is_behind(&self) -> bool {
        self.behind != Some(0)
    }

    /// Whether a step is due although more batches are waiting.
    pub fn is_due(&self) -> bool {
        self.behind.is_some_and(|n| n >= STEP_READINGS)
            || (self.is_behind() && self.last_step.elapsed() >= STEP_DELAY)
    }

    /// Indexes up to [`STEP_READINGS`] readings after the cursor, sorted by
    /// device and time, and moves the cursor past them.
    pub async fn step(&mut self, db: &Db) -> Result<(), sqlx::Error> {
        let mut tx = crate::db::begin(db).await?;
        let (cursor, head): (i64, i64) = sqlx::query_as(
            "SELECT c.seq, COALESCE((SELECT MAX(seq) FROM readings), 0) FROM history_cursor c WHERE c.id = 1",
        )
        .fetch_one(&mut *tx)
        .await?;
        let upto = head.min(cursor + STEP_READINGS);
        if upto > cursor {
            sqlx::query(
                "INSERT INTO reading_history (community_id, device_id, kind, at, seq) \
                 SELECT community_id, device_id, kind, at, seq FROM readings WHERE seq > $1 AND seq <= $2 \
                 ORDER BY community_id, device_id, kind, at, seq ON CONFLICT DO NOTHING",
            )
            .bind(cursor)
            .bind(upto)
            .execute(&mut *tx)
            .await?;
            sqlx::query("UPDATE history_cursor SET seq = $1 WHERE id = 1")
                .bind(upto)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        self.behind = Some(head - upto);
        self.last_step = Instant::now();
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn append(db: &Db, device: &str, at: i64) {
        sqlx::query(
            "INSERT INTO readings (community_id, device_id, kind, num, at, received_at) \
             VALUES ('c', $1, 'temperature', 20.0, $2, 0)",
        )
        .bind(device)
        .bind(at)
        .execute(db)
        .await
        .unwrap();
    }

    async fn indexed(db: &Db) -> (Vec<(String, i64)>, i64) {
        let rows =
            sqlx::query_as("SELECT device_id, at FROM reading_history ORDER BY device_id, at")
                .fetch_all(db)
                .await
                .unwrap();
        let cursor = sqlx::query_scalar("SELECT seq FROM history_cursor WHERE id = 1")
            .fetch_one(db)
            .await
            .unwrap();
        (rows, cursor)
    }

    #[tokio::test]
    async fn a_step_indexes_the_log_after_the_cursor_and_moves_the_cursor_past_it() {
        let dir = tempfile::tempdir().unwrap();
        let db = crate::db::with_test_community(dir.path()).await;
        let mut history = HistoryIndex::default();
        assert!(history.is_behind(), "a new writer looks first");
        history.step(&db).await.unwrap();
        assert!(!history.is_behind() && !history.is_due());

        append(&db, "door-2", 30).await;
        append(&db, "door-1", 20).await;
        append(&db, "door-2", 10).await;
        history.appended(3);
        assert!(history.is_behind() && !history.is_due());
        history.step(&db).await.unwrap();
        let (rows, cursor) = indexed(&db).await;
        let expected = [("door-1", 20), ("door-2", 10), ("door-2", 30)];
        assert_eq!(rows, expected.map(|(d, at)| (d.to_owned(), at)));
        assert_eq!(cursor, 3);

        append(&db, "door-1", 5).await;
        history.appended(1);
        history.step(&db).await.unwrap();
        assert_eq!(indexed(&db).await.0.len(), 4);
        assert!(!history.is_behind());
        history.step(&db).await.unwrap();
        assert_eq!(indexed(&db).await.1, 4);
    }
}
