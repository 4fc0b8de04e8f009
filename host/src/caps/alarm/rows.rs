//! Alarms in the store. Every change writes the alarm row, a line of its
//! audit trail and an event in the community feed in the caller's
//! transaction, so the three never disagree.

use serde::{Deserialize, Serialize};
use sqlx::{AnyConnection, Row};

use super::model::{Alarm, AlarmChange, ChangeKind, Raise, Severity};
use crate::clock::Millis;
use crate::db::{Db, Tx};
use crate::feed::{self, FeedKind};
use crate::ids::{AlarmId, CommunityId};

pub use super::model::PLATFORM;
/// Most alarms one listing returns.
pub const MAX_LIST: u32 = 500;

/// Why an alarm change could not be made.
#[derive(Debug, thiserror::Error)]
pub enum AlarmError {
    #[error("no alarm {0} in this community")]
    NotFound(String),
    #[error(transparent)]
    Store(#[from] sqlx::Error),
}

const COLUMNS: &str =
    "id, originator, alarm_type, severity, active, acknowledged, count, first_seen, last_seen, \
     details, raised_by, location, acked_by, acked_at, cleared_by, cleared_at";

fn decode(message: String) -> sqlx::Error {
    sqlx::Error::Decode(message.into())
}

fn from_row(row: &sqlx::any::AnyRow) -> Result<Alarm, sqlx::Error> {
    let severity: String = row.try_get("severity")?;
    let details: String = row.try_get("details")?;
    Ok(Alarm {
        id: row.try_get("id")?,
        originator: row.try_get("originator")?,
        alarm_type: row.try_get("alarm_type")?,
        severity: Severity::parse(&severity)
            .ok_or_else(|| decode(format!("unknown severity {severity:?}")))?,
        active: row.try_get::<i64, _>("active")? != 0,
        acknowledged: row.try_get::<i64, _>("acknowledged")? != 0,
        count: row.try_get("count")?,
        first_seen: row.try_get("first_seen")?,
        last_seen: row.try_get("last_seen")?,
        details: serde_json::from_str(&details).map_err(|e| decode(e.to_string()))?,
        raised_by: row.try_get("raised_by")?,
        location: row.try_get("location")?,
        acked_by: row.try_get("acked_by")?,
        acked_at: row.try_get("acked_at")?,
        cleared_by: row.try_get("cleared_by")?,
        cleared_at: row.try_get("cleared_at")?,
    })
}

/// The active alarm of (originator, type).
pub async fn active(
    conn: &mut AnyConnection,
    community: &CommunityId,
    originator: &str,
    alarm_type: &str,
) -> Result<Option<Alarm>, sqlx::Error> {
    let row = sqlx::query(&format!(
        "SELECT {COLUMNS} FROM alarms WHERE community_id = $1 AND originator = $2 AND alarm_type = $3 AND active = 1"
    ))
    .bind(community.as_str())
    .bind(originator)
    .bind(alarm_type)
    .fetch_optional(conn)
    .await?;
    row.as_ref().map(from_row).transpose()
}

/// One alarm by id.
pub async fn by_id(
    conn: &mut AnyConnection,
    community: &CommunityId,
    id: &str,
) -> Result<Option<Alarm>, sqlx::Error> {
    let row = sqlx::query(&format!(
        "SELECT {COLUMNS} FROM alarms WHERE community_id = $1 AND id = $2"
    ))
    .bind(community.as_str())
    .bind(id)
    .fetch_optional(conn)
    .await?;
    row.as_ref().map(from_row).transpose()
}

/// Where the originator sits, when it names a registered device.
pub async fn originator_location(
    conn: &mut AnyConnection,
    community: &CommunityId,
    originator: &str,
) -> Result<Option<String>, sqlx::Error> {
    let location = crate::devices::location(conn, community, originator).await?;
    Ok(location.flatten())
}

/// Writes a change: the alarm row, its audit line and the feed event.
async fn record(
    tx: &mut Tx,
    community: &CommunityId,
    change: &AlarmChange,
    note: Option<&str>,
    at: Millis,
) -> Result<(), sqlx::Error> {
    let a = &change.alarm;
    sqlx::query(&format!(
        "INSERT INTO alarms (community_id, {COLUMNS}) VALUES \
         ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17) \
         ON CONFLICT (id) DO UPDATE SET severity = excluded.severity, active = excluded.active, \
         acknowledged = excluded.acknowledged, count = excluded.count, last_seen = excluded.last_seen, \
         details = excluded.details, acked_by = excluded.acked_by, acked_at = excluded.acked_at, \
         cleared_by = excluded.cleared_by, cleared_at = excluded.cleared_at"
    ))
    .bind(community.as_str())
    .bind(&a.id)
    .bind(&a.originator)
    .bind(&a.alarm_type)
    .bind(a.severity.as_str())
    .bind(i64::from(a.active))
    .bind(i64::from(a.acknowledged))
    .bind(a.count)
    .bind(a.first_seen)
    .bind(a.last_seen)
    .bind(a.details.to_string())
    .bind(&a.raised_by)
    .bind(&a.location)
    .bind(&a.acked_by)
    .bind(a.acked_at)
    .bind(&a.cleared_by)
    .bind(a.cleared_at)
    .execute(&mut **tx)
    .await?;
    sqlx::query(
        "INSERT INTO alarm_audit (alarm_id, action, changed_by, severity, count, note, at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(&a.id)
    .bind(change.change.as_str())
    .bind(&change.by)
    .bind(a.severity.as_str())
    .bind(a.count)
    .bind(note)
    .bind(at)
    .execute(&mut **tx)
    .await?;
    let data = serde_json::to_value(change).expect("alarm changes serialize");
    feed::append(tx, community, FeedKind::Alarm, &a.alarm_type, &data, at).await
}

/// Raises (or updates) the alarm of the request's (originator, type); a new
/// alarm takes its id from `new_id`.
pub async fn raise(
    tx: &mut Tx,
    community: &CommunityId,
    request: &Raise,
    new_id: impl FnOnce() -> AlarmId,
    at: Millis,
) -> Result<AlarmChange, sqlx::Error> {
    let current = active(tx, community, &request.originator, &request.alarm_type).await?;
    let location = match current {
        Some(_) => None,
        None => originator_location(tx, community, &request.originator).await?,
    };
    let (alarm, change) = request.apply(current.as_ref(), new_id, location, at);
    let change = AlarmChange {
        change,
        alarm,
        by: request.raiser.clone(),
    };
    record(tx, community, &change, None, at).await?;
    Ok(change)
}

/// What a person, plugin or the platform does to an existing alarm.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Operation {
    Acknowledge,
    Clear,
}

/// Acknowledges or clears `alarm`; `None` when it already was.
pub async fn operate(
    tx: &mut Tx,
    community: &CommunityId,
    alarm: &Alarm,
    operation: Operation,
    by: &str,
    note: Option<&str>,
    at: Millis,
) -> Result<Option<AlarmChange>, sqlx::Error> {
    let (changed, change) = match operation {
        Operation::Acknowledge => (alarm.acknowledge(by, at), ChangeKind::Acknowledged),
        Operation::Clear => (alarm.clear(by, at), ChangeKind::Cleared),
    };
    let Some(changed) = changed else {
        return Ok(None);
    };
    let change = AlarmChange {
        change,
        alarm: changed,
        by: by.to_owned(),
    };
    record(tx, community, &change, note, at).await?;
    Ok(Some(change))
}

/// Acknowledges the alarm with `id`; `None` when it already was.
pub async fn acknowledge(
    tx: &mut Tx,
    community: &CommunityId,
    id: &str,
    by: &str,
    at: Millis,
) -> Result<Option<AlarmChange>, AlarmError> {
    let alarm = by_id(tx, community, id)
        .await?
        .ok_or_else(|| AlarmError::NotFound(id.to_owned()))?;
    Ok(operate(tx, community, &alarm, Operation::Acknowledge, by, None, at).await?)
}

/// Clears the active alarm of (originator, type), if there is one.
pub async fn clear_active(
    tx: &mut Tx,
    community: &CommunityId,
    originator: &str,
    alarm_type: &str,
    by: &str,
    at: Millis,
) -> Result<Option<AlarmChange>, sqlx::Error> {
    match active(tx, community, originator, alarm_type).await? {
        Some(alarm) => operate(tx, community, &alarm, Operation::Clear, by, None, at).await,
        None => Ok(None),
    }
}

/// Which alarms a listing returns.
#[derive(Debug, Default, Clone, Deserialize, utoipa::IntoParams)]
pub struct AlarmFilter {
    /// `active` or `cleared`.
    pub state: Option<String>,
    pub acknowledged: Option<bool>,
    pub severity: Option<Severity>,
    #[serde(rename = "type")]
    #[param(rename = "type")]
    pub alarm_type: Option<String>,
    pub originator: Option<String>,
    /// Alarms located in this place of the map (a building, say) or any place under it.
    pub building: Option<String>,
    /// Only alarms last seen before this time, for paging (newest first).
    pub before: Option<Millis>,
    /// At most this many (default 100, at most 500).
    pub limit: Option<u32>,
}

/// Alarms matching `filter`, most recently seen first.
pub async fn list(
    db: &Db,
    community: &CommunityId,
    filter: &AlarmFilter,
) -> Result<Vec<Alarm>, sqlx::Error> {
    let active = match filter.state.as_deref() {
        Some("active") => Some(1_i64),
        Some("cleared") => Some(0),
        _ => None,
    };
    // `under` is the building and every place under it in the map.
    let rows = sqlx::query(&format!(
        "WITH RECURSIVE under (id) AS ( \
           SELECT id FROM map_features WHERE community_id = $1 AND id = $7 \
           UNION SELECT f.id FROM map_features f JOIN under u ON f.parent_id = u.id \
           WHERE f.community_id = $1) \
         SELECT {COLUMNS} FROM alarms WHERE community_id = $1 \
         AND ($2 IS NULL OR active = $2) AND ($3 IS NULL OR acknowledged = $3) \
         AND ($4 IS NULL OR severity = $4) AND ($5 IS NULL OR alarm_type = $5) \
         AND ($6 IS NULL OR originator = $6) \
         AND ($7 IS NULL OR location IN (SELECT id FROM under)) \
         AND ($8 IS NULL OR last_seen < $8) \
         ORDER BY last_seen DESC, id LIMIT $9"
    ))
    .bind(community.as_str())
    .bind(active)
    .bind(filter.acknowledged.map(i64::from))
    .bind(filter.severity.map(Severity::as_str))
    .bind(&filter.alarm_type)
    .bind(&filter.originator)
    .bind(&filter.building)
    .bind(filter.before)
    .bind(i64::from(filter.limit.unwrap_or(100).clamp(1, MAX_LIST)))
    .fetch_all(db)
    .await?;
    rows.iter().map(from_row).collect()
}

/// One line of an alarm's audit trail.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct AuditLine {
    /// raised, updated, acknowledged or cleared.
    pub action: String,
    /// A plugin id, a token subject, or `platform`.
    pub by: String,
    pub severity: Severity,
    pub count: i64,
    pub note: Option<String>,
    pub at: Millis,
}

/// An alarm's audit trail, oldest first.
pub async fn audit(db: &Db, id: &str) -> Result<Vec<AuditLine>, sqlx::Error> {
    let rows: Vec<(String, String, String, i64, Option<String>, i64)> = sqlx::query_as(
        "SELECT action, changed_by, severity, count, note, at FROM alarm_audit WHERE alarm_id = $1 ORDER BY seq",
    )
    .bind(id)
    .fetch_all(db)
    .await?;
    rows.into_iter()
        .map(|(action, by, severity, count, note, at)| {
            Ok(AuditLine {
                action,
                by,
                severity: Severity::parse(&severity)
                    .ok_or_else(|| decode(format!("unknown severity {severity:?}")))?,
                count,
                note,
                at,
            })
        })
        .collect()
}
