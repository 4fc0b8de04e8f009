//! Reading and changing messages after they are sent: status, delivery
//! lists, inboxes, acknowledgements, cancels, preferences and gateways.

use serde::{Deserialize, Serialize};
use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Row};

use super::model::{DeliveryState, EscalationStep, MessageState, Outgoing, INBOX};
use super::preferences::Preferences;
use crate::clock::Millis;
use crate::db::Tx;
use crate::feed::{self, FeedKind};
use crate::ids::CommunityId;

/// What a recipient reads of a message, and where it stands.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Content {
    pub topic: String,
    pub severity: String,
    pub title: String,
    pub body: String,
    #[schema(value_type = Object)]
    pub data: serde_json::Value,
    pub require_ack: bool,
    pub state: MessageState,
    pub acknowledged_by: Option<String>,
}

impl Content {
    /// What recipients read of a message just sent.
    pub fn of(message: &Outgoing) -> Self {
        Self {
            topic: message.topic.clone(),
            severity: message.severity.as_str().to_owned(),
            title: message.title.clone(),
            body: message.body.clone(),
            data: serde_json::from_str(&message.data).unwrap_or(serde_json::Value::Null),
            require_ack: message.require_ack,
            state: MessageState::Open,
            acknowledged_by: None,
        }
    }

    fn from_row(row: &AnyRow) -> Result<Self, sqlx::Error> {
        let data: String = row.try_get("data")?;
        let state: String = row.try_get("state")?;
        Ok(Self {
            topic: row.try_get("topic")?,
            severity: row.try_get("severity")?,
            title: row.try_get("title")?,
            body: row.try_get("body")?,
            data: serde_json::from_str(&data).unwrap_or(serde_json::Value::Null),
            require_ack: row.try_get::<i64, _>("require_ack")? != 0,
            state: MessageState::parse(&state).unwrap_or(MessageState::Open),
            acknowledged_by: row.try_get("acknowledged_by")?,
        })
    }
}

/// A message as the API shows it.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct MessageView {
    pub id: String,
    pub plugin: String,
    #[serde(flatten)]
    pub content: Content,
    /// The escalation policy: steps run one after the other until someone acknowledges.
    pub escalation: Vec<EscalationStep>,
    /// Escalation steps run so far.
    pub steps_run: i64,
    /// When the next escalation step runs, if one is due.
    pub next_step_at: Option<Millis>,
    /// People the first step reached.
    pub recipients: i64,
    pub created_at: Millis,
    pub acknowledged_at: Option<Millis>,
    #[serde(skip)]
    pub idempotency_key: String,
}

const MESSAGE_COLUMNS: &str = "id, plugin_id, topic, severity, title, body, data, require_ack, \
     state, escalation, steps_run, next_step_at, recipients, created_at, acknowledged_by, acknowledged_at, idempotency_key";

impl MessageView {
    fn from_row(row: &AnyRow) -> Result<Self, sqlx::Error> {
        Ok(Self {
            id: row.try_get("id")?,
            plugin: row.try_get("plugin_id")?,
            content: Content::from_row(row)?,
            escalation: serde_json::from_str(&row.try_get::<String, _>("escalation")?)
                .unwrap_or_default(),
            steps_run: row.try_get("steps_run")?,
            next_step_at: row.try_get("next_step_at")?,
            recipients: row.try_get("recipients")?,
            created_at: row.try_get("created_at")?,
            acknowledged_at: row.try_get("acknowledged_at")?,
            idempotency_key: row.try_get("idempotency_key")?,
        })
    }
}

/// One delivery as the API shows it.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct DeliveryView {
    /// Stable across retries: gateways deduplicate by it.
    pub id: String,
    pub person: String,
    pub channel: String,
    /// 0 for the first audience, then the escalation step that added it.
    pub step: i64,
    pub state: DeliveryState,
    pub attempts: i64,
    pub due_at: Millis,
    pub delivered_at: Option<Millis>,
    pub read_at: Option<Millis>,
    pub last_error: Option<String>,
}

/// The message `id` of `community`.
pub async fn message(
    conn: &mut AnyConnection,
    community: &CommunityId,
    id: &str,
) -> Result<Option<MessageView>, sqlx::Error> {
    find(conn, community, "id = $2", &[id]).await
}

/// The message `plugin` sent in `community` with `key`.
pub async fn message_by_key(
    conn: &mut AnyConnection,
    community: &CommunityId,
    plugin: &str,
    key: &str,
) -> Result<Option<MessageView>, sqlx::Error> {
    find(
        conn,
        community,
        "plugin_id = $2 AND idempotency_key = $3",
        &[plugin, key],
    )
    .await
}

/// The message of `community` meeting `condition`, whose parameters from `$2` on are `values`.
async fn find(
    conn: &mut AnyConnection,
    community: &CommunityId,
    condition: &str,
    values: &[&str],
) -> Result<Option<MessageView>, sqlx::Error> {
    let sql = format!(
        "SELECT {MESSAGE_COLUMNS} FROM notify_messages WHERE community_id = $1 AND {condition}"
    );
    let mut query = sqlx::query(&sql).bind(community.as_str());
    for value in values {
        query = query.bind(*value);
    }
    query
        .fetch_optional(conn)
        .await?
        .as_ref()
        .map(MessageView::from_row)
        .transpose()
}

/// Filters for listing a community's messages.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct MessageFilter {
    pub topic: Option<String>,
    pub plugin: Option<String>,
    /// At most this many, newest first (default 100, at most 1000).
    pub limit: Option<u32>,
}

/// A community's messages, newest first.
pub async fn messages(
    conn: &mut AnyConnection,
    community: &CommunityId,
    filter: &MessageFilter,
) -> Result<Vec<MessageView>, sqlx::Error> {
    let limit = i64::from(filter.limit.unwrap_or(100).min(1000));
    sqlx::query(&format!(
        "SELECT {MESSAGE_COLUMNS} FROM notify_messages WHERE community_id = $1 \
         AND ($2 IS NULL OR topic = $2) AND ($3 IS NULL OR plugin_id = $3) \
         ORDER BY created_at DESC, id LIMIT $4"
    ))
    .bind(community.as_str())
    .bind(filter.topic.as_deref())
    .bind(filter.plugin.as_deref())
    .bind(limit)
    .fetch_all(conn)
    .await?
    .iter()
    .map(MessageView::from_row)
    .collect()
}

/// The id a broadcast inbox delivery shows (`b` the broadcast, `r` the
/// person's row), in the form of the other delivery ids.
const BROADCAST_DELIVERY_ID: &str =
    "'dlv_' || substr(b.message_id, 5) || '_' || b.step || '_inbox-' || r.person_id";

/// Every delivery of a message, by step, person and channel.
pub async fn deliveries(
    conn: &mut AnyConnection,
    message_id: &str,
) -> Result<Vec<DeliveryView>, sqlx::Error> {
    let rows = sqlx::query(&format!(
        "SELECT id, person_id, channel, step, state, attempts, due_at, delivered_at, read_at, last_error \
         FROM notify_deliveries WHERE message_id = $1 \
         UNION ALL \
         SELECT {BROADCAST_DELIVERY_ID}, r.person_id, $2, b.step, $3, 0, b.delivered_at, b.delivered_at, \
         r.read_at, NULL \
         FROM notify_broadcasts b JOIN notify_broadcast_inbox r \
         ON r.message_id = b.message_id AND r.step = b.step WHERE b.message_id = $1 \
         ORDER BY step, person_id, channel"
    ))
    .bind(message_id)
    .bind(INBOX)
    .bind(DeliveryState::Delivered.as_str())
    .fetch_all(conn)
    .await?;
    rows.iter()
        .map(|row| {
            let state: String = row.try_get("state")?;
            Ok(DeliveryView {
                id: row.try_get("id")?,
                person: row.try_get("person_id")?,
                channel: row.try_get("channel")?,
                step: row.try_get("step")?,
                state: DeliveryState::parse(&state).unwrap_or(DeliveryState::Pending),
                attempts: row.try_get("attempts")?,
                due_at: row.try_get("due_at")?,
                delivered_at: row.try_get("delivered_at")?,
                read_at: row.try_get("read_at")?,
                last_error: row.try_get("last_error")?,
            })
        })
        .collect()
}

/// One message in a person's inbox.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct InboxItem {
    pub message_id: String,
    pub delivery_id: String,
    /// The message's `state` is `acknowledged` once anyone acknowledged it.
    #[serde(flatten)]
    pub content: Content,
    pub delivered_at: Millis,
    pub read_at: Option<Millis>,
}

/// The newest `limit` messages delivered to `person`'s inbox, newest first;
/// only `message_id` when given. Broadcasts are found through the
/// community's broadcast list, one key lookup each.
pub async fn inbox(
    conn: &mut AnyConnection,
    community: &CommunityId,
    person: &str,
    message_id: Option<&str>,
    limit: i64,
) -> Result<Vec<InboxItem>, sqlx::Error> {
    const CONTENT: &str =
        "m.id, m.topic, m.severity, m.title, m.body, m.data, m.require_ack, m.state, m.acknowledged_by";
    let rows = sqlx::query(&format!(
        "SELECT * FROM ( \
         SELECT d.id AS delivery_id, d.delivered_at, d.read_at, {CONTENT} \
         FROM notify_deliveries d JOIN notify_messages m ON m.id = d.message_id \
         WHERE d.community_id = $1 AND d.person_id = $2 AND d.channel = $3 AND d.state = $4 \
         AND ($5 IS NULL OR m.id = $5) \
         UNION ALL \
         SELECT {BROADCAST_DELIVERY_ID} AS delivery_id, b.delivered_at, r.read_at, {CONTENT} \
         FROM notify_broadcasts b \
         JOIN notify_broadcast_inbox r ON r.message_id = b.message_id AND r.person_id = $2 AND r.step = b.step \
         JOIN notify_messages m ON m.id = b.message_id \
         WHERE b.community_id = $1 AND ($5 IS NULL OR b.message_id = $5) \
         ) inbox ORDER BY delivered_at DESC, delivery_id DESC LIMIT $6"
    ))
    .bind(community.as_str())
    .bind(person)
    .bind(INBOX)
    .bind(DeliveryState::Delivered.as_str())
    .bind(message_id)
    .bind(limit)
    .fetch_all(conn)
    .await?;
    rows.iter()
        .map(|row| {
            Ok(InboxItem {
                message_id: row.try_get("id")?,
                delivery_id: row.try_get("delivery_id")?,
                content: Content::from_row(row)?,
                delivered_at: row.try_get("delivered_at")?,
                read_at: row.try_get("read_at")?,
            })
        })
        .collect()
}

/// Marks a message read in `person`'s inbox; false when it is not there.
pub async fn mark_read(
    tx: &mut Tx,
    community: &CommunityId,
    person: &str,
    message_id: &str,
    now: Millis,
) -> Result<bool, sqlx::Error> {
    let direct = sqlx::query(
        "UPDATE notify_deliveries SET read_at = COALESCE(read_at, $1) \
         WHERE community_id = $2 AND person_id = $3 AND message_id = $4 AND channel = $5 AND state = $6",
    )
    .bind(now)
    .bind(community.as_str())
    .bind(person)
    .bind(message_id)
    .bind(INBOX)
    .bind(DeliveryState::Delivered.as_str())
    .execute(&mut **tx)
    .await?;
    let broadcast = sqlx::query(
        "UPDATE notify_broadcast_inbox SET read_at = COALESCE(read_at, $1) \
         WHERE message_id = $2 AND person_id = $3 AND EXISTS (SELECT 1 FROM notify_broadcasts b \
         WHERE b.message_id = notify_broadcast_inbox.message_id AND b.step = notify_broadcast_inbox.step \
         AND b.community_id = $4)",
    )
    .bind(now)
    .bind(message_id)
    .bind(person)
    .bind(community.as_str())
    .execute(&mut **tx)
    .await?;
    Ok(direct.rows_affected() + broadcast.rows_affected() > 0)
}

/// An acknowledgement as the sending plugin receives it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Acknowledgement {
    pub id: String,
    pub idempotency_key: String,
    pub topic: String,
    pub by: String,
    pub at: Millis,
}

/// Why a message could not be acknowledged.
#[derive(Debug, thiserror::Error)]
pub enum AckError {
    #[error("no message {0}")]
    NotFound(String),
    #[error("message {0} does not ask for an acknowledgement")]
    NotRequired(String),
    #[error("message {0} was cancelled by its sender")]
    Cancelled(String),
    #[error(transparent)]
    Store(#[from] sqlx::Error),
}

/// Acknowledges message `id` by `by`: stops its escalation and its
/// deliveries not yet out, and tells the sending plugin through the
/// community feed. Acknowledging it again changes nothing.
pub async fn acknowledge(
    tx: &mut Tx,
    community: &CommunityId,
    id: &str,
    by: &str,
    now: Millis,
) -> Result<MessageView, AckError> {
    let changed = sqlx::query(
        "UPDATE notify_messages SET state = $1, acknowledged_by = $2, acknowledged_at = $3, next_step_at = NULL \
         WHERE community_id = $4 AND id = $5 AND require_ack = 1 AND state IN ($6, $7)",
    )
    .bind(MessageState::Acknowledged.as_str())
    .bind(by)
    .bind(now)
    .bind(community.as_str())
    .bind(id)
    .bind(MessageState::Open.as_str())
    .bind(MessageState::Unacknowledged.as_str())
    .execute(&mut **tx)
    .await?
    .rows_affected()
        == 1;
    let view = message(tx, community, id)
        .await?
        .ok_or_else(|| AckError::NotFound(id.to_owned()))?;
    if !view.content.require_ack {
        return Err(AckError::NotRequired(id.to_owned()));
    }
    if view.content.state == MessageState::Cancelled {
        return Err(AckError::Cancelled(id.to_owned()));
    }
    if changed {
        cancel_pending(tx, id).await?;
        let ack = Acknowledgement {
            id: id.to_owned(),
            idempotency_key: view.idempotency_key.clone(),
            topic: view.content.topic.clone(),
            by: by.to_owned(),
            at: now,
        };
        let data = serde_json::to_value(&ack).expect("acknowledgements serialize");
        feed::append(
            tx,
            community,
            FeedKind::Notification,
            &view.plugin,
            &data,
            now,
        )
        .await?;
    }
    Ok(view)
}

/// Cancels `plugin`'s open message `id`; true when it was open.
pub async fn cancel(
    tx: &mut Tx,
    community: &CommunityId,
    plugin: &str,
    id: &str,
) -> Result<bool, sqlx::Error> {
    let changed = sqlx::query(
        "UPDATE notify_messages SET state = $1, next_step_at = NULL \
         WHERE community_id = $2 AND plugin_id = $3 AND id = $4 AND state IN ($5, $6)",
    )
    .bind(MessageState::Cancelled.as_str())
    .bind(community.as_str())
    .bind(plugin)
    .bind(id)
    .bind(MessageState::Open.as_str())
    .bind(MessageState::Unacknowledged.as_str())
    .execute(&mut **tx)
    .await?
    .rows_affected()
        == 1;
    if changed {
        cancel_pending(tx, id).await?;
    }
    Ok(changed)
}

/// A person's preferences; the defaults when they set none.
pub async fn preferences(
    conn: &mut AnyConnection,
    community: &CommunityId,
    person: &str,
) -> Result<Preferences, sqlx::Error> {
    let stored: Option<String> = sqlx::query_scalar(
        "SELECT preferences FROM notify_preferences WHERE community_id = $1 AND person_id = $2",
    )
    .bind(community.as_str())
    .bind(person)
    .fetch_optional(conn)
    .await?;
    Ok(stored
        .and_then(|s| serde_json::from_str(&s).ok())
        .unwrap_or_default())
}

/// Replaces a person's preferences.
pub async fn set_preferences(
    conn: &mut AnyConnection,
    community: &CommunityId,
    person: &str,
    preferences: &Preferences,
    now: Millis,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO notify_preferences (community_id, person_id, preferences, updated_at) VALUES ($1, $2, $3, $4) \
         ON CONFLICT (community_id, person_id) DO UPDATE SET preferences = excluded.preferences, updated_at = excluded.updated_at",
    )
    .bind(community.as_str())
    .bind(person)
    .bind(serde_json::to_string(preferences).expect("preferences serialize"))
    .bind(now)
    .execute(conn)
    .await?;
    Ok(())
}

/// Where a channel's messages go: a webhook that signs every body with `secret`.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Gateway {
    pub channel: String,
    pub url: String,
    #[serde(skip_serializing)]
    pub secret: String,
    pub updated_at: Millis,
}

/// The community's gateways, by channel.
pub async fn gateways(
    conn: &mut AnyConnection,
    community: &CommunityId,
) -> Result<Vec<Gateway>, sqlx::Error> {
    let rows: Vec<(String, String, String, i64)> = sqlx::query_as(
        "SELECT channel, url, secret, updated_at FROM notify_gateways WHERE community_id = $1 ORDER BY channel",
    )
    .bind(community.as_str())
    .fetch_all(conn)
    .await?;
    Ok(rows
        .into_iter()
        .map(|(channel, url, secret, updated_at)| Gateway {
            channel,
            url,
            secret,
            updated_at,
        })
        .collect())
}

/// Sets the gateway of `gateway.channel`.
pub async fn set_gateway(
    conn: &mut AnyConnection,
    community: &CommunityId,
    gateway: &Gateway,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO notify_gateways (community_id, channel, url, secret, updated_at) VALUES ($1, $2, $3, $4, $5) \
         ON CONFLICT (community_id, channel) DO UPDATE SET url = excluded.url, secret = excluded.secret, updated_at = excluded.updated_at",
    )
    .bind(community.as_str())
    .bind(&gateway.channel)
    .bind(&gateway.url)
    .bind(&gateway.secret)
    .bind(gateway.updated_at)
    .execute(conn)
    .await?;
    Ok(())
}

/// Removes a channel's gateway; true when there was one.
pub async fn remove_gateway(
    conn: &mut AnyConnection,
    community: &CommunityId,
    channel: &str,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query("DELETE FROM notify_gateways WHERE community_id = $1 AND channel = $2")
        .bind(community.as_str())
        .bind(channel)
        .execute(conn)
        .await?;
    Ok(done.rows_affected() == 1)
}

/// Stops deliveries of `message_id` that have not gone out.
pub async fn cancel_pending(tx: &mut Tx, message_id: &str) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE notify_deliveries SET state = $1 WHERE message_id = $2 AND state = $3")
        .bind(DeliveryState::Cancelled.as_str())
        .bind(message_id)
        .bind(DeliveryState::Pending.as_str())
        .execute(&mut **tx)
        .await?;
    Ok(())
}
