//! Installations: a plugin version enabled in a community with a grant set,
//! a config and limits. This module is their record in the store; the
//! running side is the [`actor`](super::actor).

use serde::{Deserialize, Serialize};
use sqlx::Row;

use crate::caps::CapabilitySet;
use crate::clock::Millis;
use crate::db::Db;
use crate::ids::{CommunityId, InstallationId, PluginId};
use crate::limits::Limits;

/// How many consecutive instance-ending failures suspend an installation.
pub const SUSPEND_AFTER_FAILURES: i64 = 5;

/// Whether an installation receives events.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "kebab-case")]
pub enum InstallationState {
    Active,
    /// Receives nothing until an admin resumes it; events wait in the log.
    Suspended,
}

impl InstallationState {
    pub fn as_str(self) -> &'static str {
        match self {
            InstallationState::Active => "active",
            InstallationState::Suspended => "suspended",
        }
    }
}

/// An installation as stored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Installation {
    pub id: InstallationId,
    pub community: CommunityId,
    pub plugin: PluginId,
    #[schema(value_type = String)]
    pub version: semver::Version,
    pub grants: CapabilitySet,
    #[schema(value_type = Object)]
    pub config: serde_json::Value,
    pub limits: Limits,
    pub state: InstallationState,
    /// Why it is suspended, when it is.
    pub state_reason: Option<String>,
    /// Instance-ending failures since the last success.
    pub consecutive_failures: i64,
    /// The last event-log position it has handled (or skipped).
    pub cursor: i64,
    /// The last community-feed position it has handled (or skipped).
    pub feed_cursor: i64,
    pub created_at: Millis,
    pub updated_at: Millis,
}

const COLUMNS: &str =
    "id, community_id, plugin_id, plugin_version, grants, config, limits, state, state_reason, \
                       consecutive_failures, cursor, feed_cursor, created_at, updated_at";

fn decode<E: std::error::Error + Send + Sync + 'static>(e: E) -> sqlx::Error {
    sqlx::Error::Decode(Box::new(e))
}

fn from_row(row: &sqlx::any::AnyRow) -> Result<Installation, sqlx::Error> {
    let json = |col: &str| -> Result<serde_json::Value, sqlx::Error> {
        serde_json::from_str(&row.try_get::<String, _>(col)?).map_err(decode)
    };
    let state: String = row.try_get("state")?;
    Ok(Installation {
        id: row.try_get("id")?,
        community: row
            .try_get::<String, _>("community_id")?
            .parse()
            .map_err(decode)?,
        plugin: row
            .try_get::<String, _>("plugin_id")?
            .parse()
            .map_err(decode)?,
        version: row
            .try_get::<String, _>("plugin_version")?
            .parse()
            .map_err(decode)?,
        grants: serde_json::from_value(json("grants")?).map_err(decode)?,
        config: json("config")?,
        limits: serde_json::from_value(json("limits")?).map_err(decode)?,
        state: if state == "suspended" {
            InstallationState::Suspended
        } else {
            InstallationState::Active
        },
        state_reason: row.try_get("state_reason")?,
        consecutive_failures: row.try_get("consecutive_failures")?,
        cursor: row.try_get("cursor")?,
        feed_cursor: row.try_get("feed_cursor")?,
        created_at: row.try_get("created_at")?,
        updated_at: row.try_get("updated_at")?,
    })
}

fn to_json<T: Serialize>(value: &T) -> String {
    serde_json::to_string(value).expect("installation fields serialize")
}

/// Inserts a new installation whose cursors start at the end of the community's log and feed.
pub async fn insert(db: &Db, i: &Installation) -> Result<(), sqlx::Error> {
    sqlx::query(&format!(
        "INSERT INTO installations ({COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, \
         (SELECT COALESCE(MAX(seq), 0) FROM readings WHERE community_id = $2), \
         (SELECT COALESCE(MAX(seq), 0) FROM community_events WHERE community_id = $2), $11, $12)"
    ))
    .bind(&i.id)
    .bind(i.community.as_str())
    .bind(i.plugin.as_str())
    .bind(i.version.to_string())
    .bind(to_json(&i.grants))
    .bind(to_json(&i.config))
    .bind(to_json(&i.limits))
    .bind(i.state.as_str())
    .bind(&i.state_reason)
    .bind(i.consecutive_failures)
    .bind(i.created_at)
    .bind(i.updated_at)
    .execute(db)
    .await?;
    Ok(())
}

/// Writes the admin-editable fields (version, grants, config, limits, state).
pub async fn update(db: &Db, i: &Installation) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE installations SET plugin_version = $1, grants = $2, config = $3, limits = $4, state = $5, \
         state_reason = $6, consecutive_failures = $7, updated_at = $8 WHERE id = $9",
    )
    .bind(i.version.to_string())
    .bind(to_json(&i.grants))
    .bind(to_json(&i.config))
    .bind(to_json(&i.limits))
    .bind(i.state.as_str())
    .bind(&i.state_reason)
    .bind(i.consecutive_failures)
    .bind(i.updated_at)
    .bind(&i.id)
    .execute(db)
    .await?;
    Ok(())
}

/// One installation by id.
pub async fn get(db: &Db, id: &InstallationId) -> Result<Option<Installation>, sqlx::Error> {
    let row = sqlx::query(&format!(
        "SELECT {COLUMNS} FROM installations WHERE id = $1"
    ))
    .bind(id)
    .fetch_optional(db)
    .await?;
    row.as_ref().map(from_row).transpose()
}

/// The installation of `plugin` in `community`.
pub async fn find(
    db: &Db,
    community: &CommunityId,
    plugin: &PluginId,
) -> Result<Option<Installation>, sqlx::Error> {
    let row = sqlx::query(&format!(
        "SELECT {COLUMNS} FROM installations WHERE community_id = $1 AND plugin_id = $2"
    ))
    .bind(community.as_str())
    .bind(plugin.as_str())
    .fetch_optional(db)
    .await?;
    row.as_ref().map(from_row).transpose()
}

/// Installations of one community, or of every community.
pub async fn list(
    db: &Db,
    community: Option<&CommunityId>,
) -> Result<Vec<Installation>, sqlx::Error> {
    let rows = sqlx::query(&format!(
        "SELECT {COLUMNS} FROM installations WHERE ($1 IS NULL OR community_id = $1) ORDER BY community_id, plugin_id"
    ))
    .bind(community.map(|c| c.as_str()))
    .fetch_all(db)
    .await?;
    rows.iter().map(from_row).collect()
}

/// Events in the log after the installation's cursor (including kinds it does not receive).
pub async fn backlog(db: &Db, i: &Installation) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar("SELECT COUNT(*) FROM readings WHERE community_id = $1 AND seq > $2")
        .bind(i.community.as_str())
        .bind(i.cursor)
        .fetch_one(db)
        .await
}

/// Removes an installation with its timers and dead letters; its plugin's
/// state stays, so re-enabling the plugin picks up where it left off.
pub async fn delete(db: &Db, id: &InstallationId) -> Result<(), sqlx::Error> {
    let mut tx = crate::db::begin(db).await?;
    for table in ["timers", "dead_letters"] {
        sqlx::query(&format!("DELETE FROM {table} WHERE installation_id = $1"))
            .bind(id)
            .execute(&mut *tx)
            .await?;
    }
    sqlx::query("DELETE FROM installations WHERE id = $1")
        .bind(id)
        .execute(&mut *tx)
        .await?;
    tx.commit().await
}

/// An event an installation failed on.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct DeadLetter {
    pub id: i64,
    /// The event, as JSON.
    #[schema(value_type = Object)]
    pub event: serde_json::Value,
    /// trap, deadline, memory-limit, instantiate or plugin-error.
    pub reason: String,
    pub error: String,
    pub at: Millis,
}

/// Dead letters of an installation, oldest first, after id `after`.
pub async fn dead_letters(
    db: &Db,
    installation: &InstallationId,
    after: i64,
    limit: i64,
) -> Result<Vec<DeadLetter>, sqlx::Error> {
    let rows = sqlx::query(
        "SELECT id, event, reason, error, at FROM dead_letters WHERE installation_id = $1 AND id > $2 ORDER BY id LIMIT $3",
    )
    .bind(installation)
    .bind(after)
    .bind(limit)
    .fetch_all(db)
    .await?;
    rows.iter().map(dead_letter_of).collect()
}

/// How many dead letters an installation holds, by reason.
pub async fn dead_letter_counts(
    db: &Db,
    installation: &InstallationId,
) -> Result<std::collections::BTreeMap<String, i64>, sqlx::Error> {
    let rows = sqlx::query(
        "SELECT reason, COUNT(*) AS n FROM dead_letters WHERE installation_id = $1 GROUP BY reason",
    )
    .bind(installation)
    .fetch_all(db)
    .await?;
    rows.iter()
        .map(|row| {
            Ok((
                row.try_get::<String, _>("reason")?,
                row.try_get::<i64, _>("n")?,
            ))
        })
        .collect()
}

/// One dead letter of an installation.
pub async fn dead_letter(
    db: &Db,
    installation: &InstallationId,
    id: i64,
) -> Result<Option<DeadLetter>, sqlx::Error> {
    let row = sqlx::query(
        "SELECT id, event, reason, error, at FROM dead_letters WHERE installation_id = $1 AND id = $2",
    )
    .bind(installation)
    .bind(id)
    .fetch_optional(db)
    .await?;
    row.as_ref().map(dead_letter_of).transpose()
}

/// Files `letter`'s event as a dead letter of `installation` and returns its
/// id: how a host replaying a failure from a bundle gets the event to
/// deliver again, by the retry path every dead letter takes.
pub async fn file_dead_letter(
    db: &Db,
    installation: &InstallationId,
    letter: &DeadLetter,
) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar(
        "INSERT INTO dead_letters (installation_id, event, reason, error, at) \
         VALUES ($1, $2, $3, $4, $5) RETURNING id",
    )
    .bind(installation)
    .bind(letter.event.to_string())
    .bind(&letter.reason)
    .bind(&letter.error)
    .bind(letter.at)
    .fetch_one(db)
    .await
}

fn dead_letter_of(row: &sqlx::any::AnyRow) -> Result<DeadLetter, sqlx::Error> {
    Ok(DeadLetter {
        id: row.try_get("id")?,
        event: serde_json::from_str(&row.try_get::<String, _>("event")?).map_err(decode)?,
        reason: row.try_get("reason")?,
        error: row.try_get("error")?,
        at: row.try_get("at")?,
    })
}
