//! The outbox: messages and their deliveries as rows, written in the
//! transaction of the handler that sent them (or of the escalation step
//! that widened them), and the routing that decides, per person, which
//! channels a message takes and when.
//!
//! Routing per recipient: the inbox always, plus the channels their
//! preferences pick for the severity among those they have an address for
//! and the community has a gateway for. A non-critical message inside the
//! person's quiet hours waits until they end. Gateway channels (SMS, app
//! push, ...) carry at most [`BurstLimit::max`] messages of one topic to one
//! person per window; the rest are `suppressed` (they still reach the inbox).

use std::collections::{BTreeSet, HashMap, HashSet};
use std::sync::Arc;

use serde::Serialize;
use sqlx::{AnyConnection, Row};

use super::model::{DeliveryState, MessageState, Outgoing, INBOX};
use super::preferences::Preferences;
use super::rows::Content;
use crate::caps::alarm::model::Severity;
use crate::caps::map::model::CommunityMap;
use crate::clock::Millis;
use crate::db::multi_row::{multi_row_insert, Placeholders, INSERT_CHUNK};
use crate::db::Tx;
use crate::ids::{CommunityId, PersonId};

/// How many messages of one topic one person may get per channel and window on gateway channels.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BurstLimit {
    pub max: i64,
    pub window_ms: Millis,
}

impl Default for BurstLimit {
    fn default() -> Self {
        Self {
            max: 5,
            window_ms: 10 * 60 * 1000,
        }
    }
}

/// A delivery to write.
#[derive(Debug, Clone, PartialEq)]
pub struct NewDelivery {
    pub id: String,
    pub person: PersonId,
    pub channel: String,
    pub state: DeliveryState,
    pub due_at: Millis,
}

/// A message as live inbox followers receive it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct LiveItem {
    pub message_id: String,
    pub delivered_at: Millis,
    #[serde(flatten)]
    pub content: Content,
}

/// People whose inbox just received a message, and the message: live
/// followers get it without reading the store.
#[derive(Debug, Clone)]
pub struct InboxSignal {
    pub community: CommunityId,
    pub people: Arc<HashSet<PersonId>>,
    pub item: Arc<LiveItem>,
}

impl InboxSignal {
    pub fn new(
        community: &CommunityId,
        people: HashSet<PersonId>,
        message_id: &str,
        content: Content,
        delivered_at: Millis,
    ) -> Self {
        Self {
            community: community.clone(),
            people: Arc::new(people),
            item: Arc::new(LiveItem {
                message_id: message_id.to_owned(),
                delivered_at,
                content,
            }),
        }
    }
}

/// What is being routed: step `step` of message `message_id`.
#[derive(Debug, Clone, Copy)]
pub struct RouteOf<'a> {
    pub message_id: &'a str,
    pub step: u32,
    pub topic: &'a str,
    pub severity: Severity,
}

/// A message row to write.
pub struct NewMessage<'a> {
    pub community: &'a CommunityId,
    pub plugin: &'a str,
    pub installation: &'a str,
    pub message: &'a Outgoing,
    pub recipients: usize,
    pub now: Millis,
}

/// Writes a message; false when its idempotency key was used already (nothing written).
pub async fn insert_message(tx: &mut Tx, new: NewMessage<'_>) -> Result<bool, sqlx::Error> {
    let m = new.message;
    let next_step_at = m
        .escalation
        .first()
        .map(|step| new.now.saturating_add(step.after_ms as i64));
    let escalation = serde_json::to_string(&m.escalation).expect("steps serialize");
    let inserted = sqlx::query(
        "INSERT INTO notify_messages (id, community_id, plugin_id, installation_id, idempotency_key, \
         topic, severity, title, body, data, require_ack, escalation, state, steps_run, next_step_at, \
         recipients, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, 0, $14, $15, $16) \
         ON CONFLICT (community_id, plugin_id, idempotency_key) DO NOTHING",
    )
    .bind(&m.id)
    .bind(new.community.as_str())
    .bind(new.plugin)
    .bind(new.installation)
    .bind(&m.idempotency_key)
    .bind(&m.topic)
    .bind(m.severity.as_str())
    .bind(&m.title)
    .bind(&m.body)
    .bind(&m.data)
    .bind(i64::from(m.require_ack))
    .bind(escalation)
    .bind(MessageState::Open.as_str())
    .bind(next_step_at)
    .bind(new.recipients as i64)
    .bind(new.now)
    .execute(&mut **tx)
    .await?;
    Ok(inserted.rows_affected() == 1)
}

/// What routing needs to know about a community at one moment.
struct Routing {
    /// The community's time zone, for people who named none.
    timezone: String,
    preferences: HashMap<String, Preferences>,
    gateways: BTreeSet<String>,
    /// Gateway deliveries of the topic in the burst window, per (person, channel).
    recent: HashMap<(String, String), i64>,
}

impl Routing {
    async fn load(
        conn: &mut AnyConnection,
        community: &CommunityId,
        people: &BTreeSet<PersonId>,
        topic: &str,
        since: Millis,
    ) -> Result<Self, sqlx::Error> {
        let preferences = preferences_of(conn, community, people).await?;
        let timezone: Option<String> =
            sqlx::query_scalar("SELECT timezone FROM communities WHERE id = $1")
                .bind(community.as_str())
                .fetch_optional(&mut *conn)
                .await?;
        let gateways: BTreeSet<String> =
            sqlx::query_scalar("SELECT channel FROM notify_gateways WHERE community_id = $1")
                .bind(community.as_str())
                .fetch_all(&mut *conn)
                .await?
                .into_iter()
                .collect();
        let recent = if gateways.is_empty() {
            HashMap::new()
        } else {
            sqlx::query_as::<_, (String, String, i64)>(
                "SELECT person_id, channel, COUNT(*) FROM notify_deliveries \
                 WHERE community_id = $1 AND topic = $2 AND created_at > $3 AND channel <> 'inbox' \
                 AND state <> 'suppressed' GROUP BY person_id, channel",
            )
            .bind(community.as_str())
            .bind(topic)
            .bind(since)
            .fetch_all(&mut *conn)
            .await?
            .into_iter()
            .map(|(person, channel, count)| ((person, channel), count))
            .collect()
        };
        Ok(Self {
            timezone: timezone.unwrap_or_else(|| "UTC".to_owned()),
            preferences,
            gateways,
            recent,
        })
    }
}

/// Audiences up to this size have their preferences read by key; larger
/// ones in one pass over the community's.
const PREFERENCES_BY_KEY_MAX: usize = 64;

/// The stored preferences of `people`, by person.
async fn preferences_of(
    conn: &mut AnyConnection,
    community: &CommunityId,
    people: &BTreeSet<PersonId>,
) -> Result<HashMap<String, Preferences>, sqlx::Error> {
    if people.is_empty() {
        return Ok(HashMap::new());
    }
    let mut placeholders = Placeholders::for_backend(conn);
    let mut sql = format!(
        "SELECT person_id, preferences FROM notify_preferences WHERE community_id = {}",
        placeholders.take_next()
    );
    let by_key = people.len() <= PREFERENCES_BY_KEY_MAX;
    if by_key {
        let keys: Vec<String> = people.iter().map(|_| placeholders.take_next()).collect();
        sql.push_str(&format!(" AND person_id IN ({})", keys.join(", ")));
    }
    let mut query = sqlx::query(&sql).bind(community.as_str());
    if by_key {
        for person in people {
            query = query.bind(person.as_str());
        }
    }
    Ok(query
        .fetch_all(&mut *conn)
        .await?
        .into_iter()
        .filter_map(|row| {
            let person: String = row.try_get("person_id").ok()?;
            let prefs: String = row.try_get("preferences").ok()?;
            Some((person, serde_json::from_str(&prefs).ok()?))
        })
        .collect())
}

/// The deliveries of `of` to `people`. Their ids follow the message's, so
/// that one message's rows sit together in the store's indexes.
pub async fn route(
    conn: &mut AnyConnection,
    map: &CommunityMap,
    community: &CommunityId,
    of: RouteOf<'_>,
    people: &BTreeSet<PersonId>,
    now: Millis,
    burst: BurstLimit,
) -> Result<Vec<NewDelivery>, sqlx::Error> {
    let RouteOf {
        message_id,
        step,
        topic,
        severity,
    } = of;
    let routing = Routing::load(conn, community, people, topic, now - burst.window_ms).await?;
    let default = Preferences::default();
    let id_prefix = format!("dlv_{}_{step}_", message_id.trim_start_matches("msg_"));
    let mut deliveries: Vec<NewDelivery> = Vec::with_capacity(people.len());
    for person in people {
        let prefs = routing.preferences.get(person.as_str()).unwrap_or(&default);
        let due_at = match severity {
            Severity::Critical => now,
            _ => prefs.quiet_until(now, &routing.timezone).unwrap_or(now),
        };
        let delivery = |deliveries: &Vec<NewDelivery>, channel: &str, state| NewDelivery {
            id: format!("{id_prefix}{}", deliveries.len()),
            person: person.clone(),
            channel: channel.to_owned(),
            state,
            due_at,
        };
        deliveries.push(delivery(&deliveries, INBOX, DeliveryState::Pending));
        let reachable: Vec<&str> = map
            .person(person)
            .map(|p| {
                p.contact
                    .channels
                    .iter()
                    .map(|c| c.kind.as_str())
                    .filter(|c| routing.gateways.contains(*c))
                    .collect()
            })
            .unwrap_or_default();
        for channel in prefs.channels_for(severity, &reachable) {
            let sent = routing
                .recent
                .get(&(person.to_string(), channel.to_owned()))
                .copied()
                .unwrap_or(0);
            let limited = severity != Severity::Critical && sent >= burst.max;
            let state = if limited {
                DeliveryState::Suppressed
            } else {
                DeliveryState::Pending
            };
            deliveries.push(delivery(&deliveries, channel, state));
        }
    }
    Ok(deliveries)
}

/// Steps whose inbox reaches at least this many people at once are stored
/// as broadcasts: one row for the step and one narrow row per person,
/// clustered by message. Smaller ones take a delivery row per person, which
/// the person-ordered inbox index finds fastest.
pub const BROADCAST_FROM: usize = 64;

/// Writes the deliveries of `of`. Inbox deliveries that are due already are
/// written delivered, as a broadcast when there are [`BROADCAST_FROM`] or
/// more of them; the people they reached are returned.
pub async fn write_deliveries(
    tx: &mut Tx,
    community: &CommunityId,
    of: RouteOf<'_>,
    deliveries: &[NewDelivery],
    now: Millis,
) -> Result<HashSet<PersonId>, sqlx::Error> {
    let RouteOf {
        message_id,
        step,
        topic,
        ..
    } = of;
    let at_once = |d: &NewDelivery| {
        d.channel == INBOX && d.state == DeliveryState::Pending && d.due_at <= now
    };
    let reached: Vec<&PersonId> = deliveries
        .iter()
        .filter(|d| at_once(d))
        .map(|d| &d.person)
        .collect();
    let broadcast = reached.len() >= BROADCAST_FROM;
    if broadcast {
        write_broadcast(tx, community, of, &reached, now).await?;
    }
    let rows: Vec<&NewDelivery> = deliveries
        .iter()
        .filter(|d| !(broadcast && at_once(d)))
        .collect();
    for chunk in rows.chunks(INSERT_CHUNK) {
        let sql = multi_row_insert(
            tx,
            "notify_deliveries (id, message_id, community_id, person_id, channel, topic, step, \
             state, attempts, due_at, delivered_at, created_at)",
            12,
            chunk.len(),
        );
        let mut insert = sqlx::query(&sql);
        for d in chunk {
            let delivered = at_once(d);
            let state = if delivered {
                DeliveryState::Delivered
            } else {
                d.state
            };
            insert = insert
                .bind(&d.id)
                .bind(message_id)
                .bind(community.as_str())
                .bind(d.person.as_str())
                .bind(&d.channel)
                .bind(topic)
                .bind(i64::from(step))
                .bind(state.as_str())
                .bind(0_i64)
                .bind(d.due_at)
                .bind(delivered.then_some(now))
                .bind(now);
        }
        insert.execute(&mut **tx).await?;
    }
    Ok(reached.into_iter().cloned().collect())
}

/// Writes step `of` as delivered now to the inboxes of `people`, in routing
/// (person) order so that the rows append in key order. The people travel
/// as one JSON array: binding two values per person costs more than
/// inserting the rows.
async fn write_broadcast(
    tx: &mut Tx,
    community: &CommunityId,
    of: RouteOf<'_>,
    people: &[&PersonId],
    now: Millis,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO notify_broadcasts (message_id, step, community_id, delivered_at) \
         VALUES ($1, $2, $3, $4)",
    )
    .bind(of.message_id)
    .bind(i64::from(of.step))
    .bind(community.as_str())
    .bind(now)
    .execute(&mut **tx)
    .await?;
    let elements = if crate::db::is_sqlite(tx) {
        "json_each($3)"
    } else {
        "json_array_elements_text($3::json)"
    };
    let people = serde_json::to_string(people).expect("person ids serialize");
    sqlx::query(&format!(
        "INSERT INTO notify_broadcast_inbox (message_id, step, person_id) \
         SELECT $1, $2, value FROM {elements}"
    ))
    .bind(of.message_id)
    .bind(i64::from(of.step))
    .bind(people)
    .execute(&mut **tx)
    .await?;
    Ok(())
}
