//! The community feed: a durable, ordered record of what happens in a
//! community besides readings — alarm changes, installation state changes
//! and acknowledgements of messages. Installations watching alarm types,
//! and plugins whose messages were acknowledged, are fed from it with their
//! own cursor, exactly like readings; people follow it live over
//! Server-Sent Events ([`crate::api::events`]) and resume after a disconnect from the last
//! event id they saw.
//!
//! Events are appended inside the transaction of the change they describe,
//! so an event exists exactly when its change does. Once that transaction
//! commits, [`Feed::published`] wakes followers, who read the store after
//! their last sequence number.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use serde::{Deserialize, Serialize};
use tokio::sync::broadcast;

use crate::clock::Millis;
use crate::db::{Db, Tx};
use crate::ids::CommunityId;

/// How many "community changed" signals a slow follower may miss before it
/// is told it lagged (it then re-reads the store, so nothing is lost).
const SIGNAL_BUFFER: usize = 1024;

/// What an event is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "kebab-case")]
pub enum FeedKind {
    /// An alarm was raised, updated, acknowledged or cleared; the topic is the alarm type.
    Alarm,
    /// An installation was installed, changed, suspended, resumed or removed; the topic is its id.
    Installation,
    /// Someone acknowledged a message; the topic is the sending plugin's id.
    Notification,
    /// A person was erased at their request; the topic is their id. Every
    /// installation receives it.
    PersonErased,
}

impl FeedKind {
    pub fn as_str(self) -> &'static str {
        match self {
            FeedKind::Alarm => "alarm",
            FeedKind::Installation => "installation",
            FeedKind::Notification => "notification",
            FeedKind::PersonErased => "person-erased",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [
            FeedKind::Alarm,
            FeedKind::Installation,
            FeedKind::Notification,
            FeedKind::PersonErased,
        ]
        .into_iter()
        .find(|k| k.as_str() == s)
    }
}

/// One stored event.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct FeedEvent {
    /// Position in the host's feed; increases in commit order within a community.
    pub seq: i64,
    pub kind: FeedKind,
    pub topic: String,
    #[schema(value_type = Object)]
    pub data: serde_json::Value,
    pub at: Millis,
}

/// Appends an event to `community`'s feed inside `tx`.
///
/// On PostgreSQL, sequence numbers are handed out at insert but become
/// visible at commit, so two concurrent writers could commit out of order
/// and a follower that already read the later one would skip the earlier.
/// A transaction-scoped advisory lock per community makes appenders take
/// turns until commit. SQLite has one writer at a time already.
pub async fn append(
    tx: &mut Tx,
    community: &CommunityId,
    kind: FeedKind,
    topic: &str,
    data: &serde_json::Value,
    at: Millis,
) -> Result<(), sqlx::Error> {
    if !crate::db::is_sqlite(tx) {
        sqlx::query("SELECT pg_advisory_xact_lock(hashtext($1))::TEXT")
            .bind(format!("linli-feed/{community}"))
            .execute(&mut **tx)
            .await?;
    }
    sqlx::query(
        "INSERT INTO community_events (community_id, kind, topic, data, at) VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(community.as_str())
    .bind(kind.as_str())
    .bind(topic)
    .bind(data.to_string())
    .bind(at)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Events of `community` after `after`, oldest first.
pub async fn after(
    db: &Db,
    community: &CommunityId,
    after: i64,
    limit: i64,
) -> Result<Vec<FeedEvent>, sqlx::Error> {
    let rows: Vec<(i64, String, String, String, i64)> = sqlx::query_as(
        "SELECT seq, kind, topic, data, at FROM community_events \
         WHERE community_id = $1 AND seq > $2 ORDER BY seq LIMIT $3",
    )
    .bind(community.as_str())
    .bind(after)
    .bind(limit)
    .fetch_all(db)
    .await?;
    Ok(rows
        .into_iter()
        .filter_map(|(seq, kind, topic, data, at)| {
            Some(FeedEvent {
                seq,
                kind: FeedKind::parse(&kind)?,
                topic,
                data: serde_json::from_str(&data).unwrap_or(serde_json::Value::Null),
                at,
            })
        })
        .collect())
}

/// The newest sequence number of `community`'s feed (0 when empty).
pub async fn head(db: &Db, community: &CommunityId) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar("SELECT COALESCE(MAX(seq), 0) FROM community_events WHERE community_id = $1")
        .bind(community.as_str())
        .fetch_one(db)
        .await
}

/// Wakes followers once changes are committed, and counts readings for live summaries.
pub struct Feed {
    signal: broadcast::Sender<CommunityId>,
    readings: Mutex<HashMap<CommunityId, Arc<AtomicU64>>>,
}

impl Feed {
    pub fn new() -> Self {
        Self {
            signal: broadcast::channel(SIGNAL_BUFFER).0,
            readings: Mutex::new(HashMap::new()),
        }
    }

    /// Tells followers that `community`'s feed has new events; call after the commit.
    pub fn published(&self, community: &CommunityId) {
        // No receiver simply means nobody follows right now.
        let _ = self.signal.send(community.clone());
    }

    /// A receiver of "this community's feed changed" signals.
    pub fn subscribe(&self) -> broadcast::Receiver<CommunityId> {
        self.signal.subscribe()
    }

    /// Counts readings made durable for `community`.
    pub fn readings_appended(&self, community: &CommunityId, count: usize) {
        self.reading_counter(community)
            .fetch_add(count as u64, Ordering::Relaxed);
    }

    /// Readings made durable for `community` since the host started.
    pub fn reading_counter(&self, community: &CommunityId) -> Arc<AtomicU64> {
        self.readings
            .lock()
            .expect("reading counters are never poisoned")
            .entry(community.clone())
            .or_default()
            .clone()
    }
}

impl Default for Feed {
    fn default() -> Self {
        Self::new()
    }
}
