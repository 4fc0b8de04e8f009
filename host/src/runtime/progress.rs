//! How far an installation has come, as the store records it: its position
//! in each stream it follows, its run of failures, the events it failed on
//! and its suspension. The actor decides when these move; this module is
//! how they move, each in the transaction the actor gives it.

use serde_json::json;

use super::installation::Installation;
use crate::caps::alarm::model::{Raise, Severity};
use crate::caps::alarm::rows as alarms;
use crate::clock::Millis;
use crate::db::{Db, Tx};
use crate::feed::{self, FeedKind};
use crate::ids::{AlarmId, InstallationId};

/// The two streams an installation follows, each with its own position.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Position {
    /// The community's reading log.
    Log,
    /// The community feed (alarm changes, acknowledgements).
    Feed,
}

impl Position {
    /// The `installations` column holding it.
    fn column(self) -> &'static str {
        match self {
            Position::Log => "cursor",
            Position::Feed => "feed_cursor",
        }
    }
}

/// Whether a compare-and-set of a position found it where it was expected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Moved {
    Moved,
    /// Another writer moved it first; nothing was changed.
    Elsewhere,
}

/// Moves `position` from exactly `from` to `to` in `tx`: a commit moves a
/// position only from where its actor believes it is, so events handled by
/// another writer meanwhile are never committed twice.
pub async fn advance(
    tx: &mut Tx,
    installation: &InstallationId,
    position: Position,
    from: i64,
    to: i64,
) -> Result<Moved, sqlx::Error> {
    let column = position.column();
    let moved = sqlx::query(&format!(
        "UPDATE installations SET {column} = $1 WHERE id = $2 AND {column} = $3"
    ))
    .bind(to)
    .bind(installation)
    .bind(from)
    .execute(&mut **tx)
    .await?
    .rows_affected();
    Ok(if moved == 1 {
        Moved::Moved
    } else {
        Moved::Elsewhere
    })
}

/// Moves `position` forward to `to` past events that needed no handler; it
/// never moves back.
pub async fn skip(
    db: &Db,
    installation: &InstallationId,
    position: Position,
    to: i64,
) -> Result<(), sqlx::Error> {
    let column = position.column();
    sqlx::query(&format!(
        "UPDATE installations SET {column} = $1 WHERE id = $2 AND {column} < $1"
    ))
    .bind(to)
    .bind(installation)
    .execute(db)
    .await?;
    Ok(())
}

/// Ends a run of failures after a success.
pub async fn succeeded(tx: &mut Tx, installation: &InstallationId) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE installations SET consecutive_failures = 0 WHERE id = $1")
        .bind(installation)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// An event the installation failed on.
pub struct Failure<'a> {
    /// The event, as JSON.
    pub event: &'a str,
    /// trap, deadline, memory-limit, instantiate or plugin-error.
    pub reason: &'a str,
    pub error: &'a str,
    pub at: Millis,
    /// The run of failures this one makes.
    pub failures: i64,
    /// Why the installation is suspended, when this failure suspends it.
    pub suspension: Option<&'a str>,
}

/// Writes a dead letter and the failure count, suspending the installation
/// when the failure says so, in `tx`.
pub async fn failed(
    tx: &mut Tx,
    installation: &InstallationId,
    failure: &Failure<'_>,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO dead_letters (installation_id, event, reason, error, at) VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(installation)
    .bind(failure.event)
    .bind(failure.reason)
    .bind(failure.error)
    .bind(failure.at)
    .execute(&mut **tx)
    .await?;
    sqlx::query(
        "UPDATE installations SET consecutive_failures = $1, \
         state = CASE WHEN $2 = 1 THEN 'suspended' ELSE state END, \
         state_reason = CASE WHEN $2 = 1 THEN $3 ELSE state_reason END WHERE id = $4",
    )
    .bind(failure.failures)
    .bind(i64::from(failure.suspension.is_some()))
    .bind(failure.suspension)
    .bind(installation)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// The platform alarm raised when an installation is suspended; its originator is the installation id.
pub const SUSPENDED_ALARM: &str = crate::caps::alarm::INSTALLATION_SUSPENDED;

/// Records a suspension in `tx`: the platform's `installation-suspended`
/// alarm and the state change in the community feed.
pub async fn record_suspension(
    tx: &mut Tx,
    installation: &Installation,
    reason: &str,
    at: Millis,
) -> Result<(), sqlx::Error> {
    let i = installation;
    let details = json!({ "plugin": i.plugin, "version": i.version.to_string(), "reason": reason });
    let raise = Raise::by_platform(i.id.as_str(), SUSPENDED_ALARM, Severity::Major, details);
    alarms::raise(tx, &i.community, &raise, AlarmId::generate, at).await?;
    let state =
        json!({ "installation": i.id, "plugin": i.plugin, "state": "suspended", "reason": reason });
    feed::append(
        tx,
        &i.community,
        FeedKind::Installation,
        i.id.as_str(),
        &state,
        at,
    )
    .await
}

/// Takes away a dead letter whose event was delivered again, in `tx`;
/// false when it was already gone (retried meanwhile).
pub async fn retried(
    tx: &mut Tx,
    installation: &InstallationId,
    dead_letter: i64,
) -> Result<bool, sqlx::Error> {
    let deleted = sqlx::query("DELETE FROM dead_letters WHERE installation_id = $1 AND id = $2")
        .bind(installation)
        .bind(dead_letter)
        .execute(&mut **tx)
        .await?;
    Ok(deleted.rows_affected() == 1)
}
