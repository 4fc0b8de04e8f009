//! `notify`: messages to people. A plugin names an audience (people, the
//! residents of a place, the family of a person, the holders of a role)
//! and the host resolves it from the map, routes each person's copy to
//! their inbox and the channels their preferences pick ([`outbox`]), holds
//! non-critical messages through quiet hours ([`preferences`]), posts
//! gateway channels to signed webhooks with retries and escalates messages
//! nobody acknowledged ([`dispatch`]). People read, acknowledge and follow
//! their inbox and admins watch delivery over HTTP ([`crate::api::notify`]). Plugins never
//! see how anybody is reached.
//!
//! Like every effect, a handler's messages exist only once it succeeds:
//! sends and cancels are written into the handler's transaction. The grant
//! lists the topics an installation may send and whether it may send
//! critical messages, which wake people in their quiet hours.

pub mod dispatch;
pub mod model;
pub mod outbox;
pub mod preferences;
pub mod rows;
pub mod targets;

use std::collections::BTreeSet;
use std::sync::Arc;

use futures::future::BoxFuture;
use serde::{Deserialize, Serialize};

use super::effects::{CommitError, Effects};
use super::{InstallationContext, NameSet, Scope};
use crate::caps::alarm::model::Severity;
use crate::db::Tx;
use crate::ids::{MessageId, PersonId};
use crate::wit::linli::platform::map::Relation as WitRelation;
use crate::wit::linli::platform::notify::{self as wit, Host};
use crate::wit::linli::platform::types::Error;
use dispatch::NotifyService;
use model::{resolve_all, Audience, EscalationStep, MessageState, Outgoing};
use outbox::{InboxSignal, NewMessage, RouteOf};

/// Most messages one handler may send.
pub const MAX_SENDS_PER_CALL: usize = 100;

/// The `notify` scope: the topics an installation sends (or `"*"`), and
/// whether it may send critical messages.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NotifyScope {
    pub topics: Vec<String>,
    /// Critical messages reach people in their quiet hours.
    #[serde(default)]
    pub critical: bool,
}

impl Scope for NotifyScope {
    fn within(&self, requested: &Self) -> Result<(), String> {
        if let Some(bad) = self
            .topics
            .iter()
            .find(|t| *t != "*" && model::check_topic(t).is_err())
        {
            return Err(format!(
                "{bad:?} is not a topic: 1-64 characters of a-z, 0-9 or '-'"
            ));
        }
        if self.critical && !requested.critical {
            return Err("critical was not requested".to_owned());
        }
        NameSet(&self.topics).within(&NameSet(&requested.topics), "topic")
    }
}

/// A send the running handler made.
struct PendingSend {
    message: Outgoing,
    /// The first step's audience, resolved when the plugin sent it.
    people: BTreeSet<PersonId>,
}

/// Per-instance `notify` state: the running handler's sends and cancels.
pub struct NotifyHost {
    ctx: Arc<InstallationContext>,
    sends: Vec<PendingSend>,
    /// How many of `sends` earlier handlers of the same uncommitted run made:
    /// the per-call limit counts only the running handler's.
    sends_before: usize,
    cancels: Vec<String>,
    /// What the pending sends reserved against the installation's message
    /// rates, given back if the handler fails.
    reservations: Vec<crate::caps::quota::Reservation>,
    /// The inboxes the transaction being committed reaches at once.
    reached: Vec<InboxSignal>,
    /// The host's notification delivery, and the map it resolves audiences on.
    notify: Arc<NotifyService>,
}

impl NotifyHost {
    pub fn new(ctx: Arc<InstallationContext>, notify: Arc<NotifyService>) -> Self {
        Self {
            ctx,
            sends: Vec::new(),
            sends_before: 0,
            cancels: Vec::new(),
            reservations: Vec::new(),
            reached: Vec::new(),
            notify,
        }
    }

    fn granted(&self) -> Result<&NotifyScope, Error> {
        self.ctx.grants.notify.as_ref().ok_or_else(|| {
            self.ctx
                .deny("notify", "notify was not granted to this installation")
        })
    }

    fn internal(&self, e: impl std::fmt::Display) -> Error {
        self.ctx.internal("notify", e)
    }

    /// Checks a message against the grant and the map; returns the first step's people.
    async fn admit(&self, message: &Outgoing) -> Result<BTreeSet<PersonId>, Error> {
        let scope = self.granted()?;
        model::check_topic(&message.topic).map_err(|e| Error::Invalid(e.to_string()))?;
        if !NameSet(&scope.topics).allows(&message.topic) {
            return Err(self.ctx.deny(
                "notify",
                format!(
                    "topic {:?} was not granted to this installation",
                    message.topic
                ),
            ));
        }
        if message.severity == Severity::Critical && !scope.critical {
            return Err(self.ctx.deny(
                "notify",
                "critical messages were not granted to this installation (notify scope critical = true)",
            ));
        }
        message.check().map_err(|e| Error::Invalid(e.to_string()))?;
        if self.sends.len().saturating_sub(self.sends_before) >= MAX_SENDS_PER_CALL {
            return Err(Error::Limit(format!(
                "at most {MAX_SENDS_PER_CALL} messages per call"
            )));
        }
        let map = self
            .notify
            .map()
            .get(&self.ctx.community)
            .await
            .map_err(|e| self.internal(e))?;
        let map = map.read().await;
        for step in &message.escalation {
            resolve_all(&step.audience, &map)?;
        }
        Ok(resolve_all(&message.audience, &map)?)
    }

    /// Writes the handler's messages and cancels into `tx`, noting who gets
    /// them in their inbox at once.
    async fn write(&mut self, tx: &mut Tx) -> Result<(), sqlx::Error> {
        let ctx = &self.ctx;
        let now = ctx.clock.now();
        for PendingSend { message, people } in std::mem::take(&mut self.sends) {
            let written = outbox::insert_message(
                tx,
                NewMessage {
                    community: &ctx.community,
                    plugin: ctx.plugin.as_str(),
                    installation: ctx.installation.as_str(),
                    message: &message,
                    recipients: people.len(),
                    now,
                },
            )
            .await?;
            if !written {
                // Its key was used meanwhile by another version of the plugin.
                continue;
            }
            let of = RouteOf {
                message_id: message.id.as_str(),
                step: 0,
                topic: &message.topic,
                severity: message.severity,
            };
            let map = self.notify.map().get(&ctx.community).await?;
            let map = map.read().await;
            let burst = self.notify.config().burst;
            let deliveries =
                outbox::route(tx, &map, &ctx.community, of, &people, now, burst).await?;
            drop(map);
            let reached =
                outbox::write_deliveries(tx, &ctx.community, of, &deliveries, now).await?;
            self.reached.push(InboxSignal::new(
                &ctx.community,
                reached,
                message.id.as_str(),
                rows::Content::of(&message),
                now,
            ));
            self.notify.sent(&message, &deliveries);
        }
        self.reservations.clear();
        for id in std::mem::take(&mut self.cancels) {
            rows::cancel(tx, &ctx.community, ctx.plugin.as_str(), &id).await?;
        }
        Ok(())
    }
}

impl Effects for NotifyHost {
    fn begin_call(&mut self) {
        self.sends_before = self.sends.len();
    }

    fn commit<'a>(&'a mut self, tx: &'a mut Tx) -> BoxFuture<'a, Result<(), CommitError>> {
        Box::pin(async move { Ok(self.write(tx).await?) })
    }

    /// Wakes the delivery worker and tells live inboxes of what landed.
    fn committed(&mut self) {
        let reached = std::mem::take(&mut self.reached);
        if !reached.is_empty() {
            self.notify.committed(reached);
        }
    }

    /// Drops the handler's sends and cancels.
    fn discard(&mut self) {
        self.sends.clear();
        self.cancels.clear();
        self.reached.clear();
        self.ctx
            .quotas
            .release(std::mem::take(&mut self.reservations));
    }
}

/// An instance dropped after a trap, a deadline or a contended call is
/// never told to discard: what its pending sends reserved goes back here.
impl Drop for NotifyHost {
    fn drop(&mut self) {
        self.ctx
            .quotas
            .release(std::mem::take(&mut self.reservations));
    }
}

impl Host for NotifyHost {
    async fn send(&mut self, message: wit::Message) -> Result<wit::Sent, Error> {
        let message = outgoing(message)?;
        let people = self.admit(&message).await?;
        if let Some(earlier) = self
            .sends
            .iter()
            .find(|s| s.message.idempotency_key == message.idempotency_key)
        {
            return Ok(wit::Sent {
                id: earlier.message.id.to_string(),
                recipients: earlier.people.len() as u32,
                replayed: true,
            });
        }
        let mut conn = self.ctx.db.acquire().await.map_err(|e| self.internal(e))?;
        let stored = rows::message_by_key(
            &mut conn,
            &self.ctx.community,
            self.ctx.plugin.as_str(),
            &message.idempotency_key,
        )
        .await
        .map_err(|e| self.internal(e))?;
        if let Some(earlier) = stored {
            return Ok(wit::Sent {
                id: earlier.id,
                recipients: u32::try_from(earlier.recipients).unwrap_or(u32::MAX),
                replayed: true,
            });
        }
        let sent = wit::Sent {
            id: message.id.to_string(),
            recipients: people.len() as u32,
            replayed: false,
        };
        // Replays above cost nothing; a new message counts against the rates.
        let reservation = self.ctx.quotas.reserve_message(
            self.ctx.clock.now(),
            people.iter().cloned().collect(),
            message.severity == Severity::Critical,
        )?;
        self.reservations.push(reservation);
        self.sends.push(PendingSend { message, people });
        Ok(sent)
    }

    async fn status(&mut self, id: String) -> Result<wit::MessageStatus, Error> {
        self.granted()?;
        if self.sends.iter().any(|s| s.message.id == id) {
            return Ok(wit::MessageStatus {
                id,
                state: wit::MessageState::Open,
                steps_run: 0,
                acknowledged_by: None,
                acknowledged_at: None,
            });
        }
        let mut conn = self.ctx.db.acquire().await.map_err(|e| self.internal(e))?;
        let view = rows::message(&mut conn, &self.ctx.community, &id)
            .await
            .map_err(|e| self.internal(e))?
            .filter(|m| m.plugin == self.ctx.plugin.as_str())
            .ok_or_else(|| Error::NotFound(format!("no message {id} sent by this plugin")))?;
        let state = if self.cancels.contains(&id) {
            MessageState::Cancelled
        } else {
            view.content.state
        };
        Ok(wit::MessageStatus {
            id,
            state: state.into(),
            steps_run: u32::try_from(view.steps_run).unwrap_or(u32::MAX),
            acknowledged_by: view.content.acknowledged_by,
            acknowledged_at: view.acknowledged_at,
        })
    }

    async fn cancel(&mut self, id: String) -> Result<bool, Error> {
        let status = self.status(id.clone()).await?;
        if let Some(i) = self.sends.iter().position(|s| s.message.id == id) {
            self.sends.remove(i);
            return Ok(true);
        }
        let open = matches!(
            status.state,
            wit::MessageState::Open | wit::MessageState::Unacknowledged
        );
        if open {
            self.cancels.push(id);
        }
        Ok(open)
    }
}

/// The host's form of a plugin's message, with an id of its own.
fn outgoing(message: wit::Message) -> Result<Outgoing, Error> {
    let audience = |entries: Vec<wit::Audience>| -> Result<Vec<Audience>, Error> {
        entries.into_iter().map(audience).collect()
    };
    let escalation = message
        .escalation
        .into_iter()
        .map(|step| {
            Ok(EscalationStep {
                after_ms: step.after_ms,
                audience: audience(step.audience)?,
            })
        })
        .collect::<Result<_, Error>>()?;
    Ok(Outgoing {
        id: MessageId::generate(),
        audience: audience(message.audience)?,
        severity: message.severity.into(),
        topic: message.topic,
        title: message.title,
        body: message.body,
        data: message.data,
        idempotency_key: message.idempotency_key,
        require_ack: message.require_ack,
        escalation,
    })
}

fn audience(entry: wit::Audience) -> Result<Audience, Error> {
    let scope_needed = |scope: Option<String>, what: &str| {
        scope.ok_or_else(|| Error::Invalid(format!("audience: {what} need a scope")))
    };
    Ok(match entry {
        wit::Audience::Person(person) => Audience::Person { person },
        wit::Audience::Related(related) => match related.relation {
            WitRelation::Resident => Audience::Residents {
                scope: scope_needed(related.scope, "residents")?,
            },
            WitRelation::Owner => Audience::Owners {
                scope: scope_needed(related.scope, "owners")?,
            },
            WitRelation::Family => Audience::Family {
                of: scope_needed(related.scope, "family")?,
            },
            WitRelation::Role(role) => Audience::Role {
                role: role.into(),
                scope: related.scope,
            },
        },
    })
}

impl From<MessageState> for wit::MessageState {
    fn from(state: MessageState) -> Self {
        match state {
            MessageState::Open => wit::MessageState::Open,
            MessageState::Acknowledged => wit::MessageState::Acknowledged,
            MessageState::Unacknowledged => wit::MessageState::Unacknowledged,
            MessageState::Cancelled => wit::MessageState::Cancelled,
        }
    }
}

impl From<rows::Acknowledgement> for wit::Acknowledgement {
    fn from(ack: rows::Acknowledgement) -> Self {
        wit::Acknowledgement {
            id: ack.id,
            idempotency_key: ack.idempotency_key,
            topic: ack.topic,
            by: ack.by,
            at: ack.at,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::caps::map::{rows as map_rows, MapService};
    use crate::caps::CapabilitySet;
    use crate::clock::ManualClock;
    use crate::db::Db;
    use crate::wit::linli::platform::types::Severity as WitSeverity;

    /// A database with one community whose map holds the person `li`, and
    /// a notify host granted topic `fall`, built on the notification
    /// service alone (with the map it resolves audiences on): no ledger,
    /// no feed, no other capability's service.
    async fn fixture(dir: &std::path::Path) -> (NotifyHost, Arc<NotifyService>, Db) {
        let db = crate::db::with_test_community(dir).await;
        let li = serde_json::json!({"type": "Feature", "id": "li", "geometry": null,
            "properties": {"kind": "person", "name": "Li"}});
        let feature = crate::caps::map::geojson::parse_feature(0, &li).unwrap();
        let mut tx = crate::db::begin(&db).await.unwrap();
        map_rows::put(&mut tx, &"c".parse().unwrap(), &feature)
            .await
            .unwrap();
        tx.commit().await.unwrap();
        let clock: crate::clock::SharedClock = Arc::new(ManualClock::new(1_000));
        let metrics = Arc::new(crate::metrics::Metrics::new());
        let notify = Arc::new(NotifyService::new(
            db.clone(),
            clock.clone(),
            Arc::new(MapService::new(db.clone())),
            metrics.clone(),
            Default::default(),
        ));
        let ctx = Arc::new(InstallationContext {
            installation: "i".into(),
            community: "c".parse().unwrap(),
            plugin: "p".parse().unwrap(),
            grants: CapabilitySet {
                notify: Some(scope(&["fall"], false)),
                ..CapabilitySet::default()
            },
            db: db.clone(),
            clock,
            metrics: metrics.installation("c", "p", "i"),
            quotas: crate::caps::quota::Quotas::new(
                crate::limits::Limits::default(),
                metrics.installation("c", "p", "i"),
            ),
            log_tail: Default::default(),
        });
        (NotifyHost::new(ctx, notify.clone()), notify, db)
    }

    fn message_to_li(key: &str) -> wit::Message {
        wit::Message {
            audience: vec![wit::Audience::Person("li".to_owned())],
            severity: WitSeverity::Major,
            topic: "fall".to_owned(),
            title: "A fall".to_owned(),
            body: "Someone fell at home".to_owned(),
            data: "{}".to_owned(),
            idempotency_key: key.to_owned(),
            require_ack: false,
            escalation: Vec::new(),
        }
    }

    async fn inbox_of_li(db: &Db) -> Vec<String> {
        let mut conn = db.acquire().await.unwrap();
        rows::inbox(&mut conn, &"c".parse().unwrap(), "li", None, 10)
            .await
            .unwrap()
            .into_iter()
            .map(|item| item.content.title)
            .collect()
    }

    /// A message sent by a handler reaches nobody until its transaction
    /// commits; then it is in the person's inbox and live followers hear of it.
    #[tokio::test]
    async fn a_committed_send_reaches_the_inbox_and_live_followers() {
        let dir = tempfile::tempdir().unwrap();
        let (mut host, notify, db) = fixture(dir.path()).await;
        let mut live = notify.subscribe();
        host.begin_call();
        host.send(message_to_li("fall-1")).await.unwrap();
        assert!(
            inbox_of_li(&db).await.is_empty(),
            "nothing lands before the commit"
        );

        let mut tx = crate::db::begin(&db).await.unwrap();
        host.commit(&mut tx).await.unwrap();
        assert!(
            live.try_recv().is_err(),
            "nobody hears of an uncommitted message"
        );
        tx.commit().await.unwrap();
        host.committed();

        assert_eq!(inbox_of_li(&db).await, ["A fall"]);
        let signal = live.try_recv().expect("a live inbox signal");
        assert!(signal.people.contains(&"li".parse::<PersonId>().unwrap()));
    }

    /// A failed handler's sends are forgotten: nothing reaches anyone.
    #[tokio::test]
    async fn a_discarded_send_reaches_nobody() {
        let dir = tempfile::tempdir().unwrap();
        let (mut host, notify, db) = fixture(dir.path()).await;
        let mut live = notify.subscribe();
        host.begin_call();
        host.send(message_to_li("fall-2")).await.unwrap();
        host.discard();

        let mut tx = crate::db::begin(&db).await.unwrap();
        host.commit(&mut tx).await.unwrap();
        tx.commit().await.unwrap();
        host.committed();
        assert!(inbox_of_li(&db).await.is_empty());
        assert!(live.try_recv().is_err());
    }

    /// A message to someone not on the map is refused at the call, naming them.
    #[tokio::test]
    async fn a_send_to_a_stranger_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let (mut host, _, _) = fixture(dir.path()).await;
        let mut message = message_to_li("fall-3");
        message.audience = vec![wit::Audience::Person("wang".to_owned())];
        let refused = host.send(message).await.unwrap_err();
        assert!(
            matches!(&refused, Error::NotFound(m) | Error::Invalid(m) if m.contains("wang")),
            "{refused:?}"
        );
    }

    fn scope(topics: &[&str], critical: bool) -> NotifyScope {
        NotifyScope {
            topics: topics.iter().map(|t| t.to_string()).collect(),
            critical,
        }
    }

    #[test]
    fn grants_stay_within_the_request() {
        let requested = scope(&["fall", "sos"], true);
        assert!(scope(&["fall"], false).within(&requested).is_ok());
        assert!(scope(&["fall"], true).within(&requested).is_ok());
        assert!(scope(&["fire"], false).within(&requested).is_err());
        assert!(scope(&["fall"], true)
            .within(&scope(&["fall"], false))
            .unwrap_err()
            .contains("critical"));
        assert!(scope(&["Fall"], false).within(&requested).is_err());
    }
}
