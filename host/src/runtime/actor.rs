//! The installation actor: one tokio task per installation that owns its
//! plugin instance and handles everything for it in order — readings from
//! the event log after its cursor, due timers, lifecycle changes and
//! commands from people.
//!
//! Exactly-once in effect: a handler's effects, the cursor (or timer)
//! advance and the failure count are committed in one transaction, so after
//! a crash an event is either fully handled or handled again from scratch.
//! A failure that ends the instance (trap, deadline, memory limit) writes
//! the event to the dead-letter table and moves on with a fresh instance;
//! after [`SUSPEND_AFTER_FAILURES`] in a row the installation is suspended.

use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::json;
use tokio::sync::{mpsc, oneshot, Notify};
use wasmtime::Engine;

use super::bindings::linli::platform::events::{Event, Lifecycle, TimerFired};
use super::bindings::linli::platform::types::{Caller, Error as WitError};
use super::bindings::ScenePre;
use super::installation::{Installation, InstallationState, SUSPEND_AFTER_FAILURES};
use super::instance::{CallFailure, Instance, InstanceState};
use crate::caps::alarm::model::{AlarmChange, Raise, Severity};
use crate::caps::alarm::store::{self as alarms, PLATFORM};
use crate::caps::ledger::log::{LedgerError, LedgerService};
use crate::caps::notify::dispatch::NotifyService;
use crate::caps::notify::store::Acknowledgement;
use crate::caps::sensor::{Reading, READING_COLUMNS};
use crate::caps::timer::Schedule;
use crate::caps::InstallationContext;
use crate::clock::{Millis, SharedClock};
use crate::db::{Db, Tx};
use crate::feed::{self, Feed, FeedKind};
use crate::metrics::Metrics;

/// The platform alarm raised when an installation is suspended; its originator is the installation id.
pub const SUSPENDED_ALARM: &str = "installation-suspended";

/// Events handled per round before the actor looks at its mailbox again.
const BATCH: i64 = 64;
/// Pause after the store failed to commit, before trying again.
const STORE_RETRY: Duration = Duration::from_secs(1);
/// Pause before handling again an event whose handler found a shared resource busy.
const CONTENDED_RETRY: Duration = Duration::from_millis(50);

/// The two streams an installation follows, each with its own cursor.
#[derive(Debug, Clone, Copy)]
enum Position {
    /// The community's reading log.
    Log,
    /// The community feed (alarm changes).
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

/// Why a handler's outcome could not be committed; nothing of it was.
#[derive(Debug, thiserror::Error)]
enum CommitError {
    #[error(transparent)]
    Effects(#[from] LedgerError),
    /// Another writer (a previous process of this host whose last commit
    /// landed late, or a second host) moved the installation's position.
    #[error("the installation's position moved under it; another writer handled these events")]
    PositionMoved,
    /// The handler gave up on a shared resource that stayed busy; its event
    /// stays pending and is handled again.
    #[error("a shared resource stayed busy; the event will be handled again")]
    Contended,
}

impl From<sqlx::Error> for CommitError {
    fn from(e: sqlx::Error) -> Self {
        CommitError::Effects(e.into())
    }
}

/// Why a command got no answer from the plugin.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum CommandError {
    #[error("{0}")]
    Plugin(PluginError),
    #[error("the plugin failed: {0}")]
    Failed(CallFailure),
    #[error("the installation is suspended: {0}")]
    Suspended(String),
    #[error("the host could not record the command's effects")]
    Store,
}

/// A typed error a plugin returned, in host terms.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PluginError {
    #[error("denied: {0}")]
    Denied(String),
    #[error("not found: {0}")]
    NotFound(String),
    #[error("invalid: {0}")]
    Invalid(String),
    #[error("limit: {0}")]
    Limit(String),
    #[error("internal: {0}")]
    Internal(String),
}

impl From<WitError> for PluginError {
    fn from(e: WitError) -> Self {
        match e {
            WitError::Denied(m) => PluginError::Denied(m),
            WitError::NotFound(m) => PluginError::NotFound(m),
            WitError::Invalid(m) => PluginError::Invalid(m),
            WitError::Limit(m) => PluginError::Limit(m),
            WitError::Internal(m) => PluginError::Internal(m),
        }
    }
}

/// What the actor is asked to do.
pub enum Message {
    /// First start of a new installation: instantiate, `init`, deliver `installed`.
    Install {
        reply: oneshot::Sender<Result<(), String>>,
    },
    /// Run a command for a person.
    Command {
        caller: Caller,
        name: String,
        input: String,
        reply: oneshot::Sender<Result<String, CommandError>>,
    },
    /// The installation was changed by an admin; deliver `lifecycle` if given.
    Reload {
        installation: Box<Installation>,
        lifecycle: Option<Lifecycle>,
        pre: ScenePre<InstanceState>,
    },
    /// Finish the current event and stop.
    Stop,
}

/// Where an event came from, and so how handling it advances the installation.
enum Source {
    Reading(Reading),
    Timer { tag: String, schedule: Schedule },
    Lifecycle(Lifecycle),
    Alarm { seq: i64, change: AlarmChange },
    Acknowledged { seq: i64, ack: Acknowledgement },
}

impl Source {
    fn event(&self) -> Event {
        match self {
            Source::Reading(r) => Event::Reading(r.to_wit()),
            Source::Timer { tag, schedule } => Event::TimerFired(TimerFired {
                tag: tag.clone(),
                due: schedule.due_at,
            }),
            Source::Lifecycle(l) => Event::Lifecycle(*l),
            Source::Alarm { change, .. } => Event::AlarmChanged(change.to_wit()),
            Source::Acknowledged { ack, .. } => Event::NotificationAcknowledged(ack.clone().into()),
        }
    }

    /// The stream this event comes from and its place in it, for events read from one.
    fn position(&self) -> Option<(Position, i64)> {
        match self {
            Source::Reading(r) => Some((Position::Log, r.seq)),
            Source::Alarm { seq, .. } | Source::Acknowledged { seq, .. } => {
                Some((Position::Feed, *seq))
            }
            Source::Timer { .. } | Source::Lifecycle(_) => None,
        }
    }

    fn to_json(&self) -> serde_json::Value {
        match self {
            Source::Reading(r) => json!({ "reading": r }),
            Source::Timer { tag, schedule } => {
                json!({ "timer-fired": { "tag": tag, "due": schedule.due_at } })
            }
            Source::Lifecycle(l) => json!({ "lifecycle": format!("{l:?}").to_lowercase() }),
            Source::Alarm { change, .. } => json!({ "alarm-changed": change }),
            Source::Acknowledged { ack, .. } => json!({ "notification-acknowledged": ack }),
        }
    }
}

/// Everything an actor shares with the rest of the host.
#[derive(Clone)]
pub struct Shared {
    pub engine: Engine,
    pub db: Db,
    pub clock: SharedClock,
    pub metrics: Arc<Metrics>,
    pub ledger: Arc<LedgerService>,
    pub feed: Arc<Feed>,
    pub map: Arc<crate::caps::map::MapService>,
    pub notify: Arc<NotifyService>,
}

pub struct Actor {
    installation: Installation,
    pre: ScenePre<InstanceState>,
    shared: Shared,
    ctx: Arc<InstallationContext>,
    instance: Option<Instance>,
    wake: Arc<Notify>,
}

impl Actor {
    pub fn new(
        installation: Installation,
        pre: ScenePre<InstanceState>,
        shared: Shared,
        wake: Arc<Notify>,
    ) -> Self {
        let ctx = context(&installation, &shared);
        ctx.metrics
            .set_suspended(installation.state == InstallationState::Suspended);
        Self {
            installation,
            pre,
            shared,
            ctx,
            instance: None,
            wake,
        }
    }

    /// Runs until told to stop or until every sender is gone.
    pub async fn run(mut self, mut mailbox: mpsc::Receiver<Message>) {
        loop {
            while let Ok(message) = mailbox.try_recv() {
                if !self.handle(message).await {
                    return;
                }
            }
            if self.active() && self.work().await {
                tokio::task::yield_now().await;
                continue;
            }
            let next_timer = if self.active() {
                self.next_timer().await
            } else {
                None
            };
            let timer = async {
                match next_timer {
                    Some(at) => self.shared.clock.sleep_until(at).await,
                    None => futures::future::pending().await,
                }
            };
            tokio::select! {
                message = mailbox.recv() => match message {
                    Some(message) => if !self.handle(message).await { return },
                    None => return,
                },
                () = self.wake.notified() => {}
                () = timer => {}
            }
        }
    }

    fn active(&self) -> bool {
        self.installation.state == InstallationState::Active
    }

    /// Handles a message; false means stop.
    async fn handle(&mut self, message: Message) -> bool {
        match message {
            Message::Install { reply } => {
                let ready = self.instance().await.map(drop);
                if ready.is_ok() {
                    self.deliver(Source::Lifecycle(Lifecycle::Installed)).await;
                }
                let _ = reply.send(ready);
            }
            Message::Command {
                caller,
                name,
                input,
                reply,
            } => {
                let _ = reply.send(self.command(&caller, &name, &input).await);
            }
            Message::Reload {
                installation,
                lifecycle,
                pre,
            } => {
                self.installation = *installation;
                self.pre = pre;
                self.ctx = context(&self.installation, &self.shared);
                self.ctx.metrics.set_suspended(!self.active());
                self.instance = None;
                if let (Some(lifecycle), true) = (lifecycle, self.active()) {
                    self.deliver(Source::Lifecycle(lifecycle)).await;
                }
            }
            Message::Stop => return false,
        }
        true
    }

    /// The live instance, instantiating and initialising one if needed.
    async fn instance(&mut self) -> Result<&mut Instance, String> {
        if self.instance.is_none() {
            let mut instance = Instance::new(
                &self.shared.engine,
                &self.pre,
                self.ctx.clone(),
                self.installation.limits,
            )
            .await
            .map_err(|f| f.to_string())?;
            self.ctx.metrics.instantiated();
            let config = self.installation.config.to_string();
            let started = Instant::now();
            let init = instance.init(&config).await;
            self.ctx
                .metrics
                .observe_call("init", started.elapsed().as_secs_f64());
            match init {
                Ok(Ok(())) => {
                    // init may write state; it commits like any handler.
                    self.commit(&mut instance, None)
                        .await
                        .map_err(|e| format!("store: {e}"))?;
                }
                Ok(Err(e)) => {
                    return Err(format!("init refused the config: {}", PluginError::from(e)))
                }
                Err(failure) => return Err(format!("init failed: {failure}")),
            }
            self.instance = Some(instance);
        }
        Ok(self.instance.as_mut().expect("just created"))
    }

    /// One round of event work; true if there may be more right away.
    async fn work(&mut self) -> bool {
        let readings = match self.pending_readings().await {
            Ok(readings) => readings,
            Err(e) => {
                tracing::error!(installation = %self.installation.id, "cannot read the event log: {e}");
                tokio::time::sleep(STORE_RETRY).await;
                return true;
            }
        };
        let full = readings.len() as i64 == BATCH;
        let now = self.shared.clock.now();
        self.ctx
            .metrics
            .set_lag(readings.first().map_or(0, |r| now - r.received_at));
        let last_seq = readings.last().map(|r| r.seq);
        let scope = self.installation.grants.sensor.clone();
        let delivered = readings
            .into_iter()
            .filter(|r| scope.as_ref().is_some_and(|s| s.allows(&r.kind)))
            .collect();
        if !self.deliver_readings(delivered).await {
            // The store failed: try again from the cursor.
            return true;
        }
        if !self.active() {
            return false;
        }
        // Readings this installation does not receive still move its cursor.
        self.skip_to(Position::Log, last_seq).await;
        let alarms_full = self.active() && self.deliver_feed_events().await;
        let timers_full = self.active() && self.fire_due_timers().await;
        full || alarms_full || timers_full
    }

    /// Delivers what the installation receives from the community feed:
    /// alarm changes of watched types (not its own) and acknowledgements of
    /// its plugin's messages; true if the batch was full. Everything else
    /// only moves its feed cursor.
    async fn deliver_feed_events(&mut self) -> bool {
        let alarms = self.installation.grants.alarm.clone();
        if alarms.is_none() && self.installation.grants.notify.is_none() {
            return false;
        }
        let events = match feed::after(
            &self.shared.db,
            &self.installation.community,
            self.installation.feed_cursor,
            BATCH,
        )
        .await
        {
            Ok(events) => events,
            Err(e) => {
                tracing::error!(installation = %self.installation.id, "cannot read the community feed: {e}");
                return false;
            }
        };
        let full = events.len() as i64 == BATCH;
        let last_seq = events.last().map(|e| e.seq);
        let plugin = self.installation.plugin.as_str().to_owned();
        for event in events {
            if !self.active() {
                return false;
            }
            let (seq, kind) = (event.seq, event.kind);
            let source = match kind {
                FeedKind::Alarm if alarms.as_ref().is_some_and(|a| a.allows(&event.topic)) => {
                    serde_json::from_value::<AlarmChange>(event.data).map(|change| {
                        (change.by != plugin).then_some(Source::Alarm { seq, change })
                    })
                }
                FeedKind::Notification
                    if event.topic == plugin && self.installation.grants.notify.is_some() =>
                {
                    serde_json::from_value(event.data)
                        .map(|ack| Some(Source::Acknowledged { seq, ack }))
                }
                _ => Ok(None),
            };
            match source {
                Ok(Some(source)) => {
                    if !self.deliver(source).await {
                        // The store failed: try again from the feed cursor.
                        return true;
                    }
                }
                Ok(None) => {}
                Err(e) => {
                    tracing::error!(installation = %self.installation.id, seq, "unreadable {} event in the feed: {e}", kind.as_str());
                }
            }
        }
        self.skip_to(Position::Feed, last_seq).await;
        full
    }

    async fn pending_readings(&mut self) -> Result<Vec<Reading>, sqlx::Error> {
        let rows = sqlx::query(&format!(
            "SELECT {READING_COLUMNS} FROM readings r \
             LEFT JOIN devices d ON d.community_id = r.community_id AND d.id = r.device_id \
             WHERE r.community_id = $1 AND r.seq > $2 ORDER BY r.seq LIMIT $3"
        ))
        .bind(self.installation.community.as_str())
        .bind(self.installation.cursor)
        .bind(BATCH)
        .fetch_all(&self.shared.db)
        .await?;
        rows.iter().map(Reading::from_row).collect()
    }

    /// The installation's position in the reading log or the community feed.
    fn position(&mut self, position: Position) -> &mut i64 {
        match position {
            Position::Log => &mut self.installation.cursor,
            Position::Feed => &mut self.installation.feed_cursor,
        }
    }

    /// Moves a position past events that needed no handler (kinds outside
    /// the grants, the installation's own alarm changes) up to `seq`.
    async fn skip_to(&mut self, position: Position, seq: Option<i64>) {
        let Some(seq) = seq.filter(|seq| *seq > *self.position(position)) else {
            return;
        };
        if !self.active() {
            return;
        }
        let column = position.column();
        let moved = sqlx::query(&format!(
            "UPDATE installations SET {column} = $1 WHERE id = $2 AND {column} < $1"
        ))
        .bind(seq)
        .bind(&self.installation.id)
        .execute(&self.shared.db)
        .await;
        match moved {
            Ok(_) => *self.position(position) = seq,
            Err(e) => {
                tracing::error!(installation = %self.installation.id, "cannot move the {column}: {e}");
            }
        }
    }

    /// Fires due timers; true if the batch was full.
    async fn fire_due_timers(&mut self) -> bool {
        let now = self.shared.clock.now();
        let due: Result<Vec<(String, i64, Option<i64>)>, _> = sqlx::query_as(
            "SELECT tag, due_at, every_ms FROM timers WHERE installation_id = $1 AND due_at <= $2 ORDER BY due_at, tag LIMIT $3",
        )
        .bind(&self.installation.id)
        .bind(now)
        .bind(BATCH)
        .fetch_all(&self.shared.db)
        .await;
        let due = match due {
            Ok(due) => due,
            Err(e) => {
                tracing::error!(installation = %self.installation.id, "cannot read timers: {e}");
                return false;
            }
        };
        let full = due.len() as i64 == BATCH;
        for (tag, due_at, every_ms) in due {
            if !self.active() {
                break;
            }
            let source = Source::Timer {
                tag,
                schedule: Schedule { due_at, every_ms },
            };
            if !self.deliver(source).await {
                break;
            }
        }
        full
    }

    async fn next_timer(&mut self) -> Option<Millis> {
        sqlx::query_scalar::<_, Option<i64>>(
            "SELECT MIN(due_at) FROM timers WHERE installation_id = $1",
        )
        .bind(&self.installation.id)
        .fetch_one(&self.shared.db)
        .await
        .ok()
        .flatten()
    }

    /// Delivers one event and records the outcome; false if the store
    /// could not record it (the event stays pending and is retried).
    async fn deliver(&mut self, source: Source) -> bool {
        let outcome = self.handle_event(&source).await;
        self.record(&source, outcome).await
    }

    /// Runs the plugin's handler for one event, leaving its effects pending.
    async fn handle_event(&mut self, source: &Source) -> Result<Result<(), WitError>, CallFailure> {
        let event = source.event();
        let started = Instant::now();
        let outcome = match self.instance().await {
            Ok(instance) => instance.on_event(&event).await,
            Err(message) => Err(CallFailure::Instantiate(message)),
        };
        self.ctx
            .metrics
            .observe_call("event", started.elapsed().as_secs_f64());
        outcome
    }

    /// Commits a handled event's effects with its advance, or dead-letters a failed one.
    async fn record(
        &mut self,
        source: &Source,
        outcome: Result<Result<(), WitError>, CallFailure>,
    ) -> bool {
        let recorded = match outcome {
            Ok(Ok(())) => {
                let handled = std::slice::from_ref(source);
                self.commit_handled(handled).await
            }
            Ok(Err(error)) => {
                if let Some(instance) = self.instance.as_mut() {
                    instance.caps().discard();
                }
                self.ctx.metrics.failed("plugin-error");
                self.dead_letter(
                    source,
                    "plugin-error",
                    &PluginError::from(error).to_string(),
                    false,
                )
                .await
            }
            Err(CallFailure::Contended(_)) => {
                // Nothing of the call is kept and nothing moves: the event is
                // handled again once the resource is free.
                self.instance = None;
                Err(CommitError::Contended)
            }
            Err(failure) => {
                self.instance = None;
                self.ctx.metrics.failed(failure.reason());
                tracing::warn!(installation = %self.installation.id, plugin = %self.installation.plugin, "plugin failed: {failure}");
                self.dead_letter(source, failure.reason(), &failure.to_string(), true)
                    .await
            }
        };
        if let Err(e) = &recorded {
            self.commit_failed(e).await;
        }
        recorded.is_ok()
    }

    /// Commits the pending effects of `handled` (events handled in order by
    /// the live instance) with the advance past the last of them.
    async fn commit_handled(&mut self, handled: &[Source]) -> Result<(), CommitError> {
        let Some(last) = handled.last() else {
            return Ok(());
        };
        let mut instance = self
            .instance
            .take()
            .expect("an instance handled the events");
        let committed = self.commit(&mut instance, Some(last)).await;
        if committed.is_ok() {
            self.instance = Some(instance);
            let now = self.shared.clock.now();
            for source in handled {
                self.ctx.metrics.event_handled();
                if let Source::Reading(r) = source {
                    self.ctx.metrics.reading_handled(now - r.received_at);
                }
            }
            self.installation.consecutive_failures = 0;
        }
        committed
    }

    /// Delivers readings in order, committing the effects of a run of
    /// successful handlers in one transaction. When a handler fails, the
    /// uncommitted run is discarded and replayed one event at a time on a
    /// fresh instance, so every event before the failure lands exactly once
    /// and the failure is recorded for the failing event alone. False if the
    /// store could not record an outcome.
    async fn deliver_readings(&mut self, readings: Vec<Reading>) -> bool {
        let mut handled = Vec::new();
        for reading in readings {
            if !self.active() {
                break;
            }
            let source = Source::Reading(reading);
            match self.handle_event(&source).await {
                Ok(Ok(())) => {
                    handled.push(source);
                    // A handler holding the ledger's writer lock, or an
                    // overlay past its size, ends the run: others wait for
                    // the lock, and the overlay is memory.
                    let commit_now = self
                        .instance
                        .as_mut()
                        .is_some_and(|i| i.caps().should_commit());
                    if commit_now {
                        let run = std::mem::take(&mut handled);
                        if let Err(e) = self.commit_handled(&run).await {
                            self.commit_failed(&e).await;
                            return false;
                        }
                    }
                }
                failed => {
                    if !handled.is_empty() {
                        if let Some(instance) = self.instance.as_mut() {
                            instance.caps().discard();
                        }
                        self.instance = None;
                        for earlier in std::mem::take(&mut handled) {
                            if !self.deliver(earlier).await {
                                return false;
                            }
                        }
                    }
                    if !self.record(&source, failed).await {
                        return false;
                    }
                }
            }
        }
        if handled.is_empty() || !self.active() {
            return true;
        }
        match self.commit_handled(&handled).await {
            Ok(()) => true,
            Err(e) => {
                self.commit_failed(&e).await;
                false
            }
        }
    }

    /// After a failed commit: drop the instance, learn the stored position
    /// again and, unless another writer simply got there first, give the store a moment.
    async fn commit_failed(&mut self, error: &CommitError) {
        self.instance = None;
        self.reload_position().await;
        match error {
            CommitError::PositionMoved => {
                tracing::warn!(installation = %self.installation.id, cursor = self.installation.cursor, "{error}");
            }
            CommitError::Contended => {
                tracing::info!(installation = %self.installation.id, cursor = self.installation.cursor, "{error}");
                tokio::time::sleep(CONTENDED_RETRY).await;
            }
            CommitError::Effects(e) => {
                tracing::error!(installation = %self.installation.id, "cannot record an event's outcome: {e}");
                tokio::time::sleep(STORE_RETRY).await;
            }
        }
    }

    /// Commits an instance's effects, with the advance of `source` if given.
    async fn commit(
        &mut self,
        instance: &mut Instance,
        source: Option<&Source>,
    ) -> Result<(), CommitError> {
        match self.write_effects(instance, source).await {
            Ok(committed) => {
                instance.caps().committed();
                if committed.alarm_changes > 0 {
                    self.shared.feed.published(&self.installation.community);
                }
                if !committed.inbox.is_empty() {
                    self.shared.notify.committed(committed.inbox);
                }
                Ok(())
            }
            Err(e) => {
                instance.caps().discard();
                Err(e)
            }
        }
    }

    async fn write_effects(
        &mut self,
        instance: &mut Instance,
        source: Option<&Source>,
    ) -> Result<crate::caps::Committed, CommitError> {
        let mut tx = crate::db::begin(&self.shared.db).await?;
        if let Some(source) = source {
            self.advance(&mut tx, source).await?;
        }
        let committed = instance.caps().commit(&mut tx).await?;
        if self.installation.consecutive_failures > 0 {
            sqlx::query("UPDATE installations SET consecutive_failures = 0 WHERE id = $1")
                .bind(&self.installation.id)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        if let Some((position, seq)) = source.and_then(Source::position) {
            *self.position(position) = seq;
        }
        Ok(committed)
    }

    /// Moves past `source`: the cursor for a reading or an alarm change, the
    /// schedule for a timer. A cursor moves only from where this actor
    /// believes it is, so events handled by another writer meanwhile are
    /// never committed twice.
    async fn advance(&mut self, tx: &mut Tx, source: &Source) -> Result<(), CommitError> {
        if let Some((position, seq)) = source.position() {
            let column = position.column();
            let expected = *self.position(position);
            let moved = sqlx::query(&format!(
                "UPDATE installations SET {column} = $1 WHERE id = $2 AND {column} = $3"
            ))
            .bind(seq)
            .bind(&self.installation.id)
            .bind(expected)
            .execute(&mut **tx)
            .await?
            .rows_affected();
            if moved != 1 {
                return Err(CommitError::PositionMoved);
            }
        }
        if let Source::Timer { tag, schedule } = source {
            match schedule.next_after(self.shared.clock.now()) {
                Some(next) => sqlx::query(
                    "UPDATE timers SET due_at = $1 WHERE installation_id = $2 AND tag = $3",
                )
                .bind(next)
                .bind(&self.installation.id)
                .bind(tag),
                None => sqlx::query("DELETE FROM timers WHERE installation_id = $1 AND tag = $2")
                    .bind(&self.installation.id)
                    .bind(tag),
            }
            .execute(&mut **tx)
            .await?;
        }
        Ok(())
    }

    /// Where the store says this installation is, after a failed commit.
    async fn reload_position(&mut self) {
        match super::installation::get(&self.shared.db, &self.installation.id).await {
            Ok(Some(stored)) => {
                self.installation.cursor = stored.cursor;
                self.installation.feed_cursor = stored.feed_cursor;
            }
            Ok(None) => {}
            Err(e) => {
                tracing::error!(installation = %self.installation.id, "cannot reload the installation: {e}");
            }
        }
    }

    /// Records a failed event and moves past it; an instance-ending failure
    /// counts towards suspension.
    async fn dead_letter(
        &mut self,
        source: &Source,
        reason: &str,
        error: &str,
        counts: bool,
    ) -> Result<(), CommitError> {
        let failures = self.installation.consecutive_failures + i64::from(counts);
        let suspend = failures >= SUSPEND_AFTER_FAILURES;
        let mut tx = crate::db::begin(&self.shared.db).await?;
        sqlx::query("INSERT INTO dead_letters (installation_id, event, reason, error, at) VALUES ($1, $2, $3, $4, $5)")
            .bind(&self.installation.id)
            .bind(source.to_json().to_string())
            .bind(reason)
            .bind(error)
            .bind(self.shared.clock.now())
            .execute(&mut *tx)
            .await?;
        self.advance(&mut tx, source).await?;
        let state_reason = suspend
            .then(|| format!("suspended after {failures} consecutive failures; last: {error}"));
        sqlx::query(
            "UPDATE installations SET consecutive_failures = $1, \
             state = CASE WHEN $2 = 1 THEN 'suspended' ELSE state END, \
             state_reason = CASE WHEN $2 = 1 THEN $3 ELSE state_reason END WHERE id = $4",
        )
        .bind(failures)
        .bind(i64::from(suspend))
        .bind(&state_reason)
        .bind(&self.installation.id)
        .execute(&mut *tx)
        .await?;
        if let Some(reason) = &state_reason {
            self.record_suspension(&mut tx, reason).await?;
        }
        tx.commit().await?;
        if suspend {
            self.shared.feed.published(&self.installation.community);
        }
        self.installation.consecutive_failures = failures;
        if let Some((position, seq)) = source.position() {
            *self.position(position) = seq;
        }
        if suspend {
            self.installation.state = InstallationState::Suspended;
            self.installation.state_reason = state_reason;
            self.ctx.metrics.set_suspended(true);
            tracing::error!(installation = %self.installation.id, plugin = %self.installation.plugin, failures, "installation suspended");
        }
        Ok(())
    }

    /// Raises the platform's `installation-suspended` alarm and records the
    /// state change in the community feed.
    async fn record_suspension(&mut self, tx: &mut Tx, reason: &str) -> Result<(), sqlx::Error> {
        let i = &self.installation;
        let now = self.shared.clock.now();
        let raise = Raise {
            originator: i.id.clone(),
            alarm_type: SUSPENDED_ALARM.to_owned(),
            severity: Severity::Major,
            details: json!({ "plugin": i.plugin, "version": i.version.to_string(), "reason": reason }),
            raiser: PLATFORM.to_owned(),
        };
        alarms::raise(
            tx,
            &i.community,
            &raise,
            || crate::ids::generated("alm"),
            now,
        )
        .await?;
        let state = json!({ "installation": i.id, "plugin": i.plugin, "state": "suspended", "reason": reason });
        feed::append(tx, &i.community, FeedKind::Installation, &i.id, &state, now).await
    }

    async fn command(
        &mut self,
        caller: &Caller,
        name: &str,
        input: &str,
    ) -> Result<String, CommandError> {
        if !self.active() {
            return Err(CommandError::Suspended(
                self.installation
                    .state_reason
                    .clone()
                    .unwrap_or_else(|| "by an admin".to_owned()),
            ));
        }
        let started = Instant::now();
        let outcome = match self.instance().await {
            Ok(instance) => instance.on_command(caller, name, input).await,
            Err(message) => Err(CallFailure::Instantiate(message)),
        };
        self.ctx
            .metrics
            .observe_call("command", started.elapsed().as_secs_f64());
        match outcome {
            Ok(Ok(output)) => {
                let mut instance = self.instance.take().expect("an instance ran the command");
                let committed = self.commit(&mut instance, None).await;
                self.instance = Some(instance);
                committed.map_err(|e| {
                    tracing::error!(installation = %self.installation.id, "cannot commit a command: {e}");
                    CommandError::Store
                })?;
                Ok(output)
            }
            Ok(Err(error)) => {
                if let Some(instance) = self.instance.as_mut() {
                    instance.caps().discard();
                }
                Err(CommandError::Plugin(error.into()))
            }
            Err(failure) => {
                self.instance = None;
                self.ctx.metrics.failed(failure.reason());
                tracing::warn!(installation = %self.installation.id, command = name, "plugin failed: {failure}");
                Err(CommandError::Failed(failure))
            }
        }
    }
}

fn context(installation: &Installation, shared: &Shared) -> Arc<InstallationContext> {
    let metrics = shared.metrics.installation(
        installation.community.as_str(),
        installation.plugin.as_str(),
        &installation.id,
    );
    Arc::new(InstallationContext {
        installation: installation.id.clone(),
        community: installation.community.clone(),
        plugin: installation.plugin.clone(),
        grants: installation.grants.clone(),
        db: shared.db.clone(),
        clock: shared.clock.clone(),
        metrics: metrics.clone(),
        ledger: shared.ledger.clone(),
        map: shared.map.clone(),
        notify: shared.notify.clone(),
        quotas: crate::caps::quota::Quotas::new(installation.limits, metrics),
    })
}
