//! The host's delivery worker: runs due escalation steps, puts messages
//! held through quiet hours into inboxes, and posts gateway deliveries to
//! their webhooks with retries.
//!
//! A webhook delivery is a JSON POST signed with the gateway's secret:
//! `Linli-Signature: v1=<hex HMAC-SHA256 of "<Linli-Timestamp>.<body>">`.
//! `Linli-Delivery` carries the delivery id, the same on every retry, so a
//! gateway that saw it already can drop the repeat. A 2xx answer delivers;
//! anything else is retried with exponential backoff on the host clock
//! until [`NotifyConfig::max_attempts`], then the delivery is `dead`.
//!
//! Work is found in the store, so several hosts on one PostgreSQL store
//! share it: a gateway delivery is claimed by moving its due time past the
//! send's timeout with a compare-and-set before it is sent.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use hmac::{Hmac, Mac};
use serde_json::json;
use sha2::Sha256;
use tokio::sync::{broadcast, Notify};
use tokio::task::JoinHandle;

use super::model::{resolve_all, retry_delay, DeliveryState, MessageState, Outgoing, INBOX};
use super::outbox::{self, BurstLimit, InboxSignal, NewDelivery, RouteOf};
use super::rows;
use crate::caps::alarm::model::Severity;
use crate::caps::map::MapService;
use crate::clock::{Millis, SharedClock};
use crate::db::Db;
use crate::ids::{CommunityId, PersonId};
use crate::metrics::Metrics;

/// How the host delivers.
#[derive(Debug, Clone)]
pub struct NotifyConfig {
    pub burst: BurstLimit,
    /// Wait before the first retry; doubled per failed attempt.
    pub retry_base_ms: Millis,
    /// Longest wait between retries.
    pub retry_max_ms: Millis,
    /// Attempts before a delivery is dead.
    pub max_attempts: u32,
    /// How long one webhook post may take.
    pub webhook_timeout: Duration,
    /// Whether gateways may point at loopback and private addresses (see [`super::targets`]).
    pub allow_private_gateways: bool,
}

impl Default for NotifyConfig {
    fn default() -> Self {
        Self {
            burst: BurstLimit::default(),
            retry_base_ms: 1_000,
            retry_max_ms: 60 * 60 * 1000,
            max_attempts: 10,
            webhook_timeout: Duration::from_secs(10),
            allow_private_gateways: false,
        }
    }
}

/// Due work taken per round.
const BATCH: i64 = 200;
/// Webhook posts in flight at once.
const CONCURRENT_POSTS: usize = 16;
/// How often to look for work another host may have written.
const POLL: Duration = Duration::from_secs(5);
/// Wait after the store failed.
const STORE_RETRY: Duration = Duration::from_secs(1);
/// Live inbox signals a slow follower may miss before it is told it lagged.
const SIGNAL_BUFFER: usize = 1024;

/// Delivery for every community on this host.
pub struct NotifyService {
    db: Db,
    clock: SharedClock,
    map: Arc<MapService>,
    metrics: Arc<Metrics>,
    config: NotifyConfig,
    http: reqwest::Client,
    wake: Notify,
    inbox: broadcast::Sender<InboxSignal>,
}

/// A delivery that is due.
#[derive(sqlx::FromRow)]
struct Due {
    id: String,
    message_id: String,
    community_id: String,
    person_id: String,
    channel: String,
    step: i64,
    attempts: i64,
    due_at: i64,
}

/// A gateway delivery this host claimed.
struct Claimed {
    id: String,
    message_id: String,
    community: CommunityId,
    person: String,
    channel: String,
    step: i64,
    attempts: i64,
}

impl NotifyService {
    pub fn new(
        db: Db,
        clock: SharedClock,
        map: Arc<MapService>,
        metrics: Arc<Metrics>,
        config: NotifyConfig,
    ) -> Self {
        let mut http = reqwest::Client::builder()
            .timeout(config.webhook_timeout)
            // A gateway answers; it does not send the host elsewhere.
            .redirect(reqwest::redirect::Policy::none());
        if !config.allow_private_gateways {
            http = http.dns_resolver(Arc::new(super::targets::PublicOnly));
        }
        let http = http.build().expect("the HTTP client builds");
        Self {
            db,
            clock,
            map,
            metrics,
            config,
            http,
            wake: Notify::new(),
            inbox: broadcast::channel(SIGNAL_BUFFER).0,
        }
    }

    pub fn config(&self) -> &NotifyConfig {
        &self.config
    }

    pub fn map(&self) -> &Arc<MapService> {
        &self.map
    }

    /// Counts a committed message and the deliveries it held back.
    pub fn sent(&self, message: &Outgoing, deliveries: &[NewDelivery]) {
        self.metrics.notify_message(message.severity.as_str());
        let suppressed = deliveries
            .iter()
            .filter(|d| d.state == DeliveryState::Suppressed);
        for d in suppressed {
            self.metrics.notify_deliveries(&d.channel, "suppressed", 1);
        }
    }

    /// Called once messages are committed: tells inbox followers and wakes the worker.
    pub fn committed(&self, signals: impl IntoIterator<Item = InboxSignal>) {
        for signal in signals {
            if !signal.people.is_empty() {
                // No receiver simply means nobody follows an inbox right now.
                let _ = self.inbox.send(signal);
            }
        }
        self.wake.notify_one();
    }

    /// A receiver of "these people's inboxes received this message" signals.
    pub fn subscribe(&self) -> broadcast::Receiver<InboxSignal> {
        self.inbox.subscribe()
    }

    /// Runs the worker until the host stops.
    pub fn spawn(self: &Arc<Self>) -> JoinHandle<()> {
        let service = self.clone();
        tokio::spawn(async move {
            loop {
                let next = match service.round().await {
                    Ok(next) => next,
                    Err(e) => {
                        tracing::error!("notify: cannot read the outbox: {e}");
                        tokio::time::sleep(STORE_RETRY).await;
                        continue;
                    }
                };
                let due = async {
                    match next {
                        Some(at) => service.clock.sleep_until(at).await,
                        None => futures::future::pending().await,
                    }
                };
                tokio::select! {
                    () = service.wake.notified() => {}
                    () = due => {}
                    () = tokio::time::sleep(POLL) => {}
                }
            }
        })
    }

    /// Does everything due; returns when something is due next.
    async fn round(&self) -> Result<Option<Millis>, sqlx::Error> {
        loop {
            let now = self.clock.now();
            let escalated = self.run_escalations(now).await?;
            let delivered = self.deliver_due(now).await?;
            if escalated < BATCH as usize && delivered < BATCH as usize {
                break;
            }
        }
        let deliveries: Option<Millis> =
            sqlx::query_scalar("SELECT MIN(due_at) FROM notify_deliveries WHERE state = 'pending'")
                .fetch_one(&self.db)
                .await?;
        let steps: Option<Millis> = sqlx::query_scalar(
            "SELECT MIN(next_step_at) FROM notify_messages WHERE next_step_at IS NOT NULL",
        )
        .fetch_one(&self.db)
        .await?;
        Ok(match (deliveries, steps) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        })
    }

    /// Runs the escalation steps due at `now`; returns how many were due.
    async fn run_escalations(&self, now: Millis) -> Result<usize, sqlx::Error> {
        let due: Vec<(String, String)> = sqlx::query_as(
            "SELECT id, community_id FROM notify_messages \
             WHERE next_step_at IS NOT NULL AND next_step_at <= $1 ORDER BY next_step_at LIMIT $2",
        )
        .bind(now)
        .bind(BATCH)
        .fetch_all(&self.db)
        .await?;
        for (id, community) in &due {
            let Ok(community) = community.parse::<CommunityId>() else {
                continue;
            };
            self.escalate(&community, id, now).await?;
        }
        Ok(due.len())
    }

    /// Runs message `id`'s next escalation step, unless someone acknowledged it meanwhile.
    async fn escalate(
        &self,
        community: &CommunityId,
        id: &str,
        now: Millis,
    ) -> Result<(), sqlx::Error> {
        let mut tx = crate::db::begin(&self.db).await?;
        let message = rows::message(&mut tx, community, id)
            .await?
            .filter(|m| m.next_step_at.is_some_and(|at| at <= now));
        let Some(message) = message else {
            return Ok(());
        };
        let steps_run = message.steps_run;
        let index = usize::try_from(steps_run).unwrap_or(usize::MAX);
        let open = message.content.state == MessageState::Open;
        let severity = Severity::parse(&message.content.severity);
        let (Some(step), Some(severity), true) = (message.escalation.get(index), severity, open)
        else {
            // Nothing left to run: stop looking at it.
            sqlx::query("UPDATE notify_messages SET next_step_at = NULL WHERE id = $1")
                .bind(id)
                .execute(&mut *tx)
                .await?;
            return tx.commit().await;
        };
        let step_number = u32::try_from(index + 1).unwrap_or(u32::MAX);
        let of = RouteOf {
            message_id: id,
            step: step_number,
            topic: &message.content.topic,
            severity,
        };
        let map = self.map.get(community).await?;
        let map = map.read().await;
        let people = resolve_all(&step.audience, &map).unwrap_or_else(|e| {
            tracing::warn!(
                message = id,
                step = step_number,
                "escalation audience no longer resolves: {e}"
            );
            Default::default()
        });
        let deliveries = outbox::route(
            &mut tx,
            &map,
            community,
            of,
            &people,
            now,
            self.config.burst,
        )
        .await?;
        drop(map);
        let reached = outbox::write_deliveries(&mut tx, community, of, &deliveries, now).await?;
        let next_step_at = message
            .escalation
            .get(index + 1)
            .map(|next| now.saturating_add(next.after_ms as i64));
        let signal = InboxSignal::new(community, reached, id, message.content, now);
        let state = if next_step_at.is_some() {
            MessageState::Open
        } else {
            MessageState::Unacknowledged
        };
        let moved = sqlx::query(
            "UPDATE notify_messages SET steps_run = $1, next_step_at = $2, state = $3 \
             WHERE id = $4 AND steps_run = $5 AND state = $6",
        )
        .bind(steps_run + 1)
        .bind(next_step_at)
        .bind(state.as_str())
        .bind(id)
        .bind(steps_run)
        .bind(MessageState::Open.as_str())
        .execute(&mut *tx)
        .await?;
        if moved.rows_affected() != 1 {
            // Another host ran this step first.
            return Ok(());
        }
        tx.commit().await?;
        tracing::info!(message = id, %community, step = step_number, people = people.len(), "escalated an unacknowledged message");
        self.metrics.notify_escalation();
        self.committed([signal]);
        Ok(())
    }

    /// Delivers what is due at `now`; returns how many deliveries were due.
    async fn deliver_due(&self, now: Millis) -> Result<usize, sqlx::Error> {
        let due: Vec<Due> = sqlx::query_as(
            "SELECT id, message_id, community_id, person_id, channel, step, attempts, due_at \
             FROM notify_deliveries WHERE state = 'pending' AND due_at <= $1 ORDER BY due_at LIMIT $2",
        )
        .bind(now)
        .bind(BATCH)
        .fetch_all(&self.db)
        .await?;
        let count = due.len();
        let lease = now.saturating_add(self.config.webhook_timeout.as_millis() as i64 * 2);
        let mut claimed = Vec::new();
        let mut tx = crate::db::begin(&self.db).await?;
        let mut reached: HashMap<(CommunityId, String), HashSet<PersonId>> = HashMap::new();
        for Due {
            id,
            message_id,
            community_id: community,
            person_id: person,
            channel,
            step,
            attempts,
            due_at,
        } in due
        {
            let Ok(community) = community.parse::<CommunityId>() else {
                continue;
            };
            let (state, delivered_at, due) = if channel == INBOX {
                (DeliveryState::Delivered.as_str(), Some(now), due_at)
            } else {
                (DeliveryState::Pending.as_str(), None, lease)
            };
            let taken = sqlx::query(
                "UPDATE notify_deliveries SET state = $1, delivered_at = $2, due_at = $3 \
                 WHERE id = $4 AND state = 'pending' AND due_at = $5",
            )
            .bind(state)
            .bind(delivered_at)
            .bind(due)
            .bind(&id)
            .bind(due_at)
            .execute(&mut *tx)
            .await?
            .rows_affected()
                == 1;
            if !taken {
                continue;
            }
            if channel == INBOX {
                self.metrics.notify_deliveries(INBOX, "delivered", 1);
                let Ok(person) = person.parse::<PersonId>() else {
                    continue;
                };
                reached
                    .entry((community, message_id))
                    .or_default()
                    .insert(person);
            } else {
                claimed.push(Claimed {
                    id,
                    message_id,
                    community,
                    person,
                    channel,
                    step,
                    attempts,
                });
            }
        }
        tx.commit().await?;
        self.announce_held(reached, now).await?;
        futures::stream::iter(claimed)
            .for_each_concurrent(CONCURRENT_POSTS, |delivery| async move {
                if let Err(e) = self.post(delivery).await {
                    tracing::error!("notify: cannot record a delivery attempt: {e}");
                }
            })
            .await;
        Ok(count)
    }

    /// Tells live followers about inbox deliveries that were held and are
    /// now delivered: one signal per message, for everyone it reached.
    async fn announce_held(
        &self,
        reached: HashMap<(CommunityId, String), HashSet<PersonId>>,
        now: Millis,
    ) -> Result<(), sqlx::Error> {
        if reached.is_empty() {
            return Ok(());
        }
        let mut conn = self.db.acquire().await?;
        for ((community, message_id), people) in reached {
            if let Some(message) = rows::message(&mut conn, &community, &message_id).await? {
                let signal =
                    InboxSignal::new(&community, people, &message_id, message.content, now);
                let _ = self.inbox.send(signal);
            }
        }
        Ok(())
    }

    /// Posts one gateway delivery and records how it went.
    async fn post(&self, delivery: Claimed) -> Result<(), sqlx::Error> {
        let outcome = self.attempt(&delivery).await;
        let now = self.clock.now();
        let attempts = delivery.attempts + 1;
        let (state, due_at, error) = match outcome {
            Ok(()) => (DeliveryState::Delivered, now, None),
            Err(error) if attempts >= i64::from(self.config.max_attempts) => {
                tracing::warn!(delivery = %delivery.id, channel = %delivery.channel, attempts, "delivery is dead: {error}");
                (DeliveryState::Dead, now, Some(error))
            }
            Err(error) => {
                let wait = retry_delay(
                    u32::try_from(attempts).unwrap_or(u32::MAX),
                    self.config.retry_base_ms,
                    self.config.retry_max_ms,
                );
                tracing::info!(delivery = %delivery.id, channel = %delivery.channel, attempts, "delivery failed, retrying in {wait} ms: {error}");
                (DeliveryState::Pending, now + wait, Some(error))
            }
        };
        let result = match (state, &error) {
            (DeliveryState::Delivered, _) => "delivered",
            (DeliveryState::Dead, _) => "dead",
            _ => "retry",
        };
        self.metrics.notify_deliveries(&delivery.channel, result, 1);
        sqlx::query(
            "UPDATE notify_deliveries SET state = $1, attempts = $2, due_at = $3, last_error = $4, \
             delivered_at = $5 WHERE id = $6 AND state = 'pending'",
        )
        .bind(state.as_str())
        .bind(attempts)
        .bind(due_at)
        .bind(error)
        .bind((state == DeliveryState::Delivered).then_some(now))
        .bind(&delivery.id)
        .execute(&self.db)
        .await?;
        self.wake.notify_one();
        Ok(())
    }

    /// One post of `delivery` to its gateway; the error says why it failed.
    async fn attempt(&self, delivery: &Claimed) -> Result<(), String> {
        let store_error = |e: sqlx::Error| format!("store: {e}");
        let mut conn = self.db.acquire().await.map_err(store_error)?;
        let gateway = rows::gateways(&mut conn, &delivery.community)
            .await
            .map_err(store_error)?
            .into_iter()
            .find(|g| g.channel == delivery.channel)
            .ok_or_else(|| format!("no gateway for channel {}", delivery.channel))?;
        let message = rows::message(&mut conn, &delivery.community, &delivery.message_id)
            .await
            .map_err(store_error)?
            .ok_or_else(|| format!("message {} is gone", delivery.message_id))?;
        drop(conn);
        let map = self
            .map
            .get(&delivery.community)
            .await
            .map_err(store_error)?;
        let address = {
            let map = map.read().await;
            delivery
                .person
                .parse::<PersonId>()
                .ok()
                .and_then(|id| map.person(&id).cloned())
                .and_then(|p| {
                    p.contact
                        .channels
                        .into_iter()
                        .find(|c| c.kind == delivery.channel)
                })
                .map(|c| c.address)
                .ok_or_else(|| {
                    format!(
                        "{} has no {} address any more",
                        delivery.person, delivery.channel
                    )
                })?
        };
        let body = json!({
            "delivery_id": delivery.id,
            "message_id": message.id,
            "community": delivery.community,
            "person": delivery.person,
            "channel": delivery.channel,
            "address": address,
            "severity": message.content.severity,
            "topic": message.content.topic,
            "title": message.content.title,
            "body": message.content.body,
            "data": message.content.data,
            "require_ack": message.content.require_ack,
            "step": delivery.step,
            "sent_by": message.plugin,
        })
        .to_string();
        let url = reqwest::Url::parse(&gateway.url).map_err(|e| format!("{}: {e}", gateway.url))?;
        super::targets::check_url(&url, self.config.allow_private_gateways)?;
        let timestamp = self.clock.now().to_string();
        let response = self
            .http
            .post(&gateway.url)
            .header("content-type", "application/json")
            .header("linli-delivery", &delivery.id)
            .header("linli-timestamp", &timestamp)
            .header(
                "linli-signature",
                signature(&gateway.secret, &timestamp, &body),
            )
            .body(body)
            .send()
            .await
            .map_err(|e| format!("post to {}: {e}", gateway.url))?;
        if response.status().is_success() {
            Ok(())
        } else {
            Err(format!("{} answered {}", gateway.url, response.status()))
        }
    }
}

/// `v1=` and the hex HMAC-SHA256 of `<timestamp>.<body>` under `secret`.
pub fn signature(secret: &str, timestamp: &str, body: &str) -> String {
    let mut mac =
        Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC takes keys of any length");
    mac.update(timestamp.as_bytes());
    mac.update(b".");
    mac.update(body.as_bytes());
    format!("v1={}", hex::encode(mac.finalize().into_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signatures_match_an_independent_hmac() {
        // Python: hmac.new(b"gateway-secret", b'1795000000000.{"delivery_id":"dlv_1"}', hashlib.sha256)
        let body = r#"{"delivery_id":"dlv_1"}"#;
        assert_eq!(
            signature("gateway-secret", "1795000000000", body),
            "v1=511f56b4d40ccd0f07418a6c6996f99b43d410d407a8b1baca7d680632121978"
        );
        assert_ne!(
            signature("other-secret", "1795000000000", body),
            signature("gateway-secret", "1795000000000", body)
        );
    }
}
