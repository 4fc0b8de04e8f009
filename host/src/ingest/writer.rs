//! The log writer: the one task per store that appends readings to the
//! event log, with group commit.
//!
//! Request handlers validate their batches concurrently and hand the valid
//! readings to the writer through a bounded queue (a full queue holds them
//! back: back-pressure instead of unbounded memory). The writer takes every
//! batch that is waiting, up to a group limit, and appends them all in one
//! transaction — multi-row `INSERT`s, one `last_seen` update per device,
//! the idempotency records — then answers each batch once the commit has
//! returned, i.e. once its readings are durable. One commit (one WAL sync
//! on SQLite, one round trip on PostgreSQL) thus serves many requests, and
//! readings get their sequence numbers in commit order, which the
//! installations' cursors rely on.
//!
//! If a group fails, its batches are committed again one by one, so a
//! batch that cannot be stored does not take the others down with it.
//!
//! Between groups the writer also keeps the history index ([`super::history`])
//! up to date, in large steps, so that no commit pays for it.

use std::collections::HashMap;
use std::time::Duration;

use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;

use super::history::HistoryIndex;
use super::idempotency::{self, BatchKey, Recorded};
use super::validate::{ValidBatch, ValidReading};
use crate::caps::sensor::ReadingValue;
use crate::clock::Millis;
use crate::db::multi_row::{multi_row_insert, values};
use crate::db::{Db, Tx};
use crate::ids::CommunityId;

/// How long the writer waits before indexing history again after a failed step.
const HISTORY_RETRY: Duration = Duration::from_secs(1);
/// No batch for this long, and the writer indexes history at once; under
/// steady ingest batches come far more often, and it steps only when due.
const QUIET: Duration = Duration::from_millis(20);
/// Batches waiting for the writer before senders are held back.
const QUEUE: usize = 256;
/// A group closes at this many readings even when more batches are waiting.
const GROUP_READINGS: usize = 20_000;
/// A group closes at this many batches even when more are waiting.
const GROUP_BATCHES: usize = 256;
/// Most rows in one `INSERT`: 9 values a row, 4,608 binds.
const MAX_ROWS: usize = 512;
const READING_TABLE: &str =
    "readings (community_id, device_id, kind, num, flag, txt, unit, at, received_at)";
const COLUMNS_PER_READING: usize = 9;

/// One batch to append.
pub struct Append {
    pub community: CommunityId,
    /// The token's device, which idempotency keys are scoped to.
    pub sender: String,
    pub batch: ValidBatch,
    /// The host clock when the batch arrived.
    pub received_at: Millis,
    /// The batch's key and its report (JSON), recorded with the readings.
    pub key: Option<(BatchKey, String)>,
}

/// Why a batch was not appended.
#[derive(Debug, thiserror::Error)]
pub enum AppendError {
    #[error(transparent)]
    Store(#[from] sqlx::Error),
    #[error("the log writer has stopped")]
    Stopped,
}

struct Job {
    append: Append,
    reply: oneshot::Sender<Result<Recorded, AppendError>>,
}

/// The handle that request handlers append through.
#[derive(Clone)]
pub struct LogWriter {
    jobs: mpsc::Sender<Job>,
}

impl LogWriter {
    /// Starts the writer task of `db`; it ends when every handle is dropped.
    pub fn spawn(db: Db) -> (Self, JoinHandle<()>) {
        let (jobs, queue) = mpsc::channel(QUEUE);
        let task = tokio::spawn(run(db, queue));
        (Self { jobs }, task)
    }

    /// Appends a batch and returns once it is durable: [`Recorded::New`]
    /// when its readings were stored (always, for a batch without a key),
    /// otherwise what an earlier batch with the same key left.
    pub async fn append(&self, append: Append) -> Result<Recorded, AppendError> {
        let (reply, answer) = oneshot::channel();
        self.jobs
            .send(Job { append, reply })
            .await
            .map_err(|_| AppendError::Stopped)?;
        answer.await.map_err(|_| AppendError::Stopped)?
    }
}

async fn run(db: Db, mut queue: mpsc::Receiver<Job>) {
    let mut statements = Statements::default();
    let mut history = HistoryIndex::default();
    let mut group: Vec<Job> = Vec::new();
    loop {
        let next = if history.is_behind() {
            // Once no batch has come for a moment, bring history up to date.
            match tokio::time::timeout(QUIET, queue.recv()).await {
                Ok(job) => job,
                Err(_) => {
                    index_history(&db, &mut history).await;
                    continue;
                }
            }
        } else {
            queue.recv().await
        };
        let Some(first) = next else { break };
        let mut readings = first.append.batch.readings.len();
        group.push(first);
        while readings < GROUP_READINGS && group.len() < GROUP_BATCHES {
            let Ok(job) = queue.try_recv() else { break };
            readings += job.append.batch.readings.len();
            group.push(job);
        }
        match commit(&db, &mut statements, &group).await {
            Ok(outcomes) => {
                history.appended(readings);
                for (job, outcome) in group.drain(..).zip(outcomes) {
                    let _ = job.reply.send(Ok(outcome));
                }
            }
            Err(e) if group.len() == 1 => {
                let _ = group.remove(0).reply.send(Err(e.into()));
            }
            Err(e) => {
                tracing::warn!(
                    batches = group.len(),
                    "group commit failed ({e}); committing its batches one by one"
                );
                for job in group.drain(..) {
                    let single = std::slice::from_ref(&job);
                    let outcome = commit(&db, &mut statements, single)
                        .await
                        .map(|mut outcomes| outcomes.remove(0))
                        .map_err(AppendError::from);
                    history.appended(job.append.batch.readings.len());
                    let _ = job.reply.send(outcome);
                }
            }
        }
        if history.is_due() {
            index_history(&db, &mut history).await;
        }
    }
}

/// One step of the history index; a failure is logged and the step taken
/// again later (history queries read the log past the cursor meanwhile).
async fn index_history(db: &Db, history: &mut HistoryIndex) {
    if let Err(e) = history.step(db).await {
        tracing::error!("cannot index reading history: {e}");
        tokio::time::sleep(HISTORY_RETRY).await;
    }
}

/// Appends a group of batches in one transaction; one outcome per batch.
async fn commit(
    db: &Db,
    statements: &mut Statements,
    group: &[Job],
) -> Result<Vec<Recorded>, sqlx::Error> {
    let mut tx = crate::db::begin(db).await?;
    let mut outcomes = Vec::with_capacity(group.len());
    let mut rows = Vec::with_capacity(group.iter().map(|j| j.append.batch.readings.len()).sum());
    let mut last_seen: HashMap<(&str, &str), Millis> = HashMap::new();
    for Job { append, .. } in group {
        let community = append.community.as_str();
        let outcome = match &append.key {
            Some((key, report)) => {
                idempotency::record(
                    &mut tx,
                    community,
                    &append.sender,
                    key,
                    report,
                    append.received_at,
                )
                .await?
            }
            None => Recorded::New,
        };
        if outcome == Recorded::New {
            for reading in &append.batch.readings {
                let device = append.batch.device(reading);
                rows.push(Row {
                    community,
                    device,
                    reading,
                    received_at: append.received_at,
                });
                let seen = last_seen.entry((community, device)).or_insert(reading.at);
                *seen = (*seen).max(reading.at);
            }
        }
        outcomes.push(outcome);
    }
    let mut rest = rows.as_slice();
    while !rest.is_empty() {
        let (chunk, tail) = rest.split_at(chunk_len(rest.len()));
        let sql = statements.insert(&tx, chunk.len());
        // sqlx 0.8.6's Any driver declares a NULL `f64` as `float4` to
        // PostgreSQL (transact-rs/sqlx#4284), and a prepared statement keeps
        // the parameter types of its first execution: a batch of flags
        // followed by one of numbers on the same connection would send an
        // 8-byte float to a 4-byte parameter and fail. On PostgreSQL the
        // statement is prepared afresh each time, with this batch's types;
        // SQLite, untyped, keeps it prepared.
        let mut query = sqlx::query(sql).persistent(crate::db::is_sqlite(&tx));
        for row in chunk {
            let (num, flag, txt) = match &row.reading.value {
                ReadingValue::Number(n) => (Some(*n), None, None),
                ReadingValue::Flag(f) => (None, Some(i64::from(*f)), None),
                ReadingValue::Text(t) => (None, None, Some(t.as_str())),
            };
            query = query
                .bind(row.community)
                .bind(row.device)
                .bind(row.reading.kind)
                .bind(num)
                .bind(flag)
                .bind(txt)
                .bind(row.reading.unit)
                .bind(row.reading.at)
                .bind(row.received_at);
        }
        query.execute(&mut *tx).await?;
        rest = tail;
    }
    update_last_seen(&mut tx, statements, &last_seen).await?;
    tx.commit().await?;
    Ok(outcomes)
}

/// Moves each device's `last_seen` forward to its newest reading (never
/// back), in statements of up to [`MAX_ROWS`] devices: a gateway's group
/// names hundreds of devices, and one statement each was most of its commit.
async fn update_last_seen(
    tx: &mut Tx,
    statements: &mut Statements,
    last_seen: &HashMap<(&str, &str), Millis>,
) -> Result<(), sqlx::Error> {
    let devices: Vec<_> = last_seen.iter().collect();
    let mut rest = devices.as_slice();
    while !rest.is_empty() {
        let (chunk, tail) = rest.split_at(chunk_len(rest.len()));
        let mut query = sqlx::query(statements.last_seen(tx, chunk.len()));
        for ((community, device), at) in chunk {
            query = query.bind(*community).bind(*device).bind(**at);
        }
        query.execute(&mut **tx).await?;
        rest = tail;
    }
    Ok(())
}

/// One reading row to insert, borrowed from its batch.
struct Row<'a> {
    community: &'a str,
    device: &'a str,
    reading: &'a ValidReading,
    received_at: Millis,
}

/// Rows in the next `INSERT` for `remaining` rows: [`MAX_ROWS`], or the
/// largest power of two that fits, so that a handful of statement shapes
/// (each prepared once per connection) covers every group size.
fn chunk_len(remaining: usize) -> usize {
    if remaining >= MAX_ROWS {
        MAX_ROWS
    } else {
        1 << (usize::BITS - 1 - remaining.leading_zeros())
    }
}

/// The multi-row statements built so far, by row count.
#[derive(Default)]
struct Statements {
    inserts: HashMap<usize, String>,
    last_seen: HashMap<usize, String>,
}

impl Statements {
    fn insert(&mut self, conn: &sqlx::AnyConnection, rows: usize) -> &str {
        self.inserts
            .entry(rows)
            .or_insert_with(|| multi_row_insert(conn, READING_TABLE, COLUMNS_PER_READING, rows))
    }

    /// `last_seen` of `rows` devices, each `(community, device, newest at)`.
    fn last_seen(&mut self, conn: &sqlx::AnyConnection, rows: usize) -> &str {
        self.last_seen.entry(rows).or_insert_with(|| {
            format!(
                "UPDATE devices SET last_seen = v.column3 FROM ({}) AS v \
                 WHERE devices.community_id = v.column1 AND devices.id = v.column2 \
                 AND (devices.last_seen IS NULL OR devices.last_seen < v.column3)",
                values(conn, 3, rows)
            )
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn groups_split_into_few_statement_shapes() {
        let mut shapes = std::collections::BTreeSet::new();
        for total in 1..=3 * MAX_ROWS {
            let mut rest = total;
            while rest > 0 {
                let n = chunk_len(rest);
                assert!(n <= rest && n <= MAX_ROWS);
                shapes.insert(n);
                rest -= n;
            }
        }
        assert_eq!(shapes.len(), 10, "{shapes:?}");
    }
}
