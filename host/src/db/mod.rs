//! The store: one sqlx pool over SQLite (the embedded default, a file in the
//! data dir in WAL mode) or PostgreSQL (`DATABASE_URL`). Queries are written
//! once in SQL both accept (`$n` placeholders, `BIGINT` times in UTC
//! milliseconds, JSON as `TEXT`); migrations are embedded per backend and
//! applied at start.

#[cfg(test)]
mod migration_parity;
pub mod multi_row;

use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::{AnyPool, ConnectOptions, Executor};

/// The host's connection pool.
pub type Db = AnyPool;

/// A transaction on the host's store; the one way effects are committed.
pub type Tx = sqlx::Transaction<'static, sqlx::Any>;

/// Why the store could not be opened.
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    #[error("cannot open the store at {url}: {source}")]
    Connect { url: String, source: sqlx::Error },
    #[error("cannot apply the store migrations: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("unsupported database URL {0:?}: use sqlite:// or postgres://")]
    Unsupported(String),
}

/// Whether `conn` is to the embedded SQLite store (the other backend is PostgreSQL).
pub fn is_sqlite(conn: &sqlx::AnyConnection) -> bool {
    conn.backend_name() == "SQLite"
}

/// Starts a transaction.
///
/// On SQLite it takes the write lock at once (`BEGIN IMMEDIATE`): a
/// transaction that reads first and writes later would otherwise fail
/// outright, without waiting, when another writer commits in between. With
/// the lock taken up front it waits its turn (`busy_timeout`) instead.
pub async fn begin(db: &Db) -> Result<Tx, sqlx::Error> {
    if db.connect_options().database_url.scheme() == "sqlite" {
        db.begin_with("BEGIN IMMEDIATE").await
    } else {
        db.begin().await
    }
}

/// The embedded store's URL for a data dir.
pub fn sqlite_url(data_dir: &Path) -> String {
    format!("sqlite://{}?mode=rwc", data_dir.join("linli.db").display())
}

/// How often the embedded store's log is copied back into the database file.
const CHECKPOINT_EVERY: Duration = Duration::from_secs(1);

/// On SQLite, copies the write-ahead log back into the database file once a
/// second, beside the writers (`PASSIVE`: it never blocks them). SQLite's
/// automatic checkpoint would run inside the commit that fills the log,
/// adding tens of milliseconds to that one write. `None` on PostgreSQL.
pub fn spawn_checkpointer(db: &Db) -> Option<tokio::task::JoinHandle<()>> {
    if db.connect_options().database_url.scheme() != "sqlite" {
        return None;
    }
    let db = db.clone();
    Some(tokio::spawn(async move {
        let mut ticks = tokio::time::interval(CHECKPOINT_EVERY);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            ticks.tick().await;
            if let Err(e) = sqlx::query("PRAGMA wal_checkpoint(PASSIVE)")
                .execute(&db)
                .await
            {
                tracing::warn!("store checkpoint failed: {e}");
            }
        }
    }))
}

/// Attempts at truncating the log before giving up for this time.
const TRUNCATE_ATTEMPTS: usize = 20;

/// On SQLite, copies the whole write-ahead log into the database file and
/// truncates it to nothing, so no page image from before a deletion stays
/// in it; retried while readers hold it. Nothing to do on PostgreSQL.
pub async fn truncate_log(db: &Db) -> Result<(), sqlx::Error> {
    if db.connect_options().database_url.scheme() != "sqlite" {
        return Ok(());
    }
    for _ in 0..TRUNCATE_ATTEMPTS {
        // (busy, log frames, frames checkpointed): busy = 1 when a reader held it.
        let (busy, _, _): (i64, i64, i64) = sqlx::query_as("PRAGMA wal_checkpoint(TRUNCATE)")
            .fetch_one(db)
            .await?;
        if busy == 0 {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    Err(sqlx::Error::Protocol(
        "the write-ahead log stayed busy; it will be truncated on the next attempt".into(),
    ))
}

/// `url` without its credentials, for messages and logs.
fn redacted(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            format!("{}://…@{}", &url[..scheme], &url[at + 1..])
        }
        _ => url.to_owned(),
    }
}

/// Opens the store at `url` and brings its schema up to date.
pub async fn open(url: &str) -> Result<Db, OpenError> {
    sqlx::any::install_default_drivers();
    let connect_err = |source| OpenError::Connect {
        url: redacted(url),
        source,
    };
    let options = AnyConnectOptions::from_str(url)
        .map_err(connect_err)?
        .log_slow_statements(tracing::log::LevelFilter::Warn, Duration::from_secs(1));
    let is_sqlite = url.starts_with("sqlite:");
    if !is_sqlite && !url.starts_with("postgres:") && !url.starts_with("postgresql:") {
        return Err(OpenError::Unsupported(redacted(url)));
    }
    let pool = AnyPoolOptions::new()
        .max_connections(if is_sqlite { 8 } else { 16 })
        // A SQLite connection is in-process and cannot be lost, so pinging it
        // before each use only doubles the round trips to its worker thread.
        .test_before_acquire(!is_sqlite)
        .after_connect(move |conn, _| {
            Box::pin(async move {
                if is_sqlite {
                    // WAL lets readers run beside the single writer; FULL
                    // sync makes every commit reach the disk before it
                    // returns, so an acknowledged write survives a power
                    // loss, not only a crash of the process. Checkpoints run
                    // in the background (`spawn_checkpointer`), not inside
                    // whichever commit fills the log. A 32 MiB page cache
                    // (SQLite's default is 2 MiB) holds what a group commit
                    // and a history step dirty without spilling pages to the
                    // log mid-transaction, and temporary data in memory keeps
                    // statement journals and the history step's sort off
                    // temporary files; under a gateway load both were a
                    // fifth of the store's time. `secure_delete` zeroes what
                    // a delete or an update frees, so an erased person's rows
                    // do not linger in free pages of the file.
                    conn.execute(
                        "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; \
                         PRAGMA busy_timeout = 10000; PRAGMA foreign_keys = ON; \
                         PRAGMA wal_autocheckpoint = 0; PRAGMA cache_size = -32768; \
                         PRAGMA temp_store = MEMORY; PRAGMA secure_delete = ON;",
                    )
                    .await?;
                }
                Ok(())
            })
        })
        .connect_with(options)
        .await
        .map_err(connect_err)?;
    if is_sqlite {
        sqlx::migrate!("./migrations/sqlite").run(&pool).await?;
    } else {
        sqlx::migrate!("./migrations/postgres").run(&pool).await?;
    }
    Ok(pool)
}

/// A fresh SQLite database under `dir` holding one community, `c`: where a
/// capability's own tests start.
#[cfg(test)]
pub async fn with_test_community(dir: &std::path::Path) -> Db {
    let db = open(&sqlite_url(dir)).await.unwrap();
    sqlx::query(
        "INSERT INTO communities (id, name, timezone, created_at) VALUES ('c', 'c', 'UTC', 0)",
    )
    .execute(&db)
    .await
    .unwrap();
    db
}

#[cfg(test)]
mod tests {
    #[test]
    fn credentials_never_reach_messages() {
        assert_eq!(
            super::redacted("postgres://linli:s3cret@db:5432/linli"),
            "postgres://…@db:5432/linli"
        );
        assert_eq!(
            super::redacted("sqlite:///data/linli.db"),
            "sqlite:///data/linli.db"
        );
    }
}
