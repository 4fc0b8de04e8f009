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
//! after [`SUSPEND_AFTER_FAILURES`](super::installation::SUSPEND_AFTER_FAILURES)
//! in a row the installation is suspended. Recording what came of an event
//! is [`outcome`].

use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::{mpsc, Notify};
use wasmtime::Engine;

mod outcome;
mod retry;

use super::installation::{Installation, InstallationState};
use super::instance::{CallFailure, Instance, InstanceState};
use super::mailbox::{CommandError, Message, StartError};
use super::progress::{self, Position};
use super::source::Source;
use crate::caps::alarm::model::AlarmChange;
use crate::caps::privacy;
use crate::caps::sensor::{self, Reading};
use crate::caps::timer;
use crate::caps::{InstallationContext, Services};
use crate::clock::Millis;
use crate::feed::{self, FeedKind};
use crate::wit::linli::platform::events::Lifecycle;
use crate::wit::linli::platform::types::{Caller, Error as WitError};
use crate::wit::ScenePre;

/// Events handled per round before the actor looks at its mailbox again.
const BATCH: i64 = 64;
/// Pause after the database failed, before trying again.
const DATABASE_RETRY: Duration = Duration::from_secs(1);

/// Whether a round of work may have left more to do right away.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Round {
    /// Everything there was is done; wait for a wake-up.
    Done,
    /// A batch came back full (or must be tried again): go on at once.
    More,
}

impl Round {
    /// After reading a batch of `len` events: a full batch may have more behind it.
    fn after_batch(len: usize) -> Round {
        if len as i64 == BATCH {
            Round::More
        } else {
            Round::Done
        }
    }

    fn or(self, other: Round) -> Round {
        if self == Round::More || other == Round::More {
            Round::More
        } else {
            Round::Done
        }
    }
}

/// What became of delivering events.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Delivery {
    /// Every outcome is recorded: committed or dead-lettered.
    Recorded,
    /// An outcome could not be recorded (the store failed, or a shared
    /// resource stayed busy): the events stay pending from the position.
    Pending,
}

/// Whether the actor goes on after a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Next {
    Continue,
    Stop,
}

/// Everything an actor shares with the rest of the host.
#[derive(Clone)]
pub struct Shared {
    pub engine: Engine,
    pub services: Services,
}

pub struct Actor {
    installation: Installation,
    /// The component the installation runs; `None` while it is suspended.
    pre: Option<ScenePre<InstanceState>>,
    shared: Shared,
    ctx: Arc<InstallationContext>,
    instance: Option<Instance>,
    wake: Arc<Notify>,
}

impl Actor {
    pub fn new(
        installation: Installation,
        pre: Option<ScenePre<InstanceState>>,
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
                if self.handle(message).await == Next::Stop {
                    return;
                }
            }
            if self.active() && self.work().await == Round::More {
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
                    Some(at) => self.shared.services.clock.sleep_until(at).await,
                    None => futures::future::pending().await,
                }
            };
            tokio::select! {
                message = mailbox.recv() => match message {
                    Some(message) => if self.handle(message).await == Next::Stop { return },
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

    /// Handles a message.
    async fn handle(&mut self, message: Message) -> Next {
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
            Message::Retry { dead_letter, reply } => {
                let _ = reply.send(self.retry(dead_letter).await);
            }
            Message::Stop => return Next::Stop,
        }
        Next::Continue
    }

    /// The live instance, instantiating and initialising one if needed.
    async fn instance(&mut self) -> Result<&mut Instance, StartError> {
        if self.instance.is_none() {
            let pre = self.pre.as_ref().ok_or(StartError::Suspended)?;
            let mut instance = Instance::new(
                &self.shared.engine,
                pre,
                self.ctx.clone(),
                &self.shared.services,
                self.installation.limits,
            )
            .await
            .map_err(StartError::Instantiate)?;
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
                        .map_err(|e| StartError::Commit(e.to_string()))?;
                }
                Ok(Err(e)) => return Err(StartError::ConfigRefused(e.into())),
                Err(failure) => return Err(StartError::Init(failure)),
            }
            self.instance = Some(instance);
        }
        Ok(self.instance.as_mut().expect("just created"))
    }

    /// One round of event work.
    async fn work(&mut self) -> Round {
        let readings = sensor::readings_after(
            &self.shared.services.db,
            &self.installation.community,
            self.installation.cursor,
            BATCH,
        )
        .await;
        let readings = match readings {
            Ok(readings) => readings,
            Err(e) => {
                tracing::error!(installation = %self.installation.id, "cannot read the event log: {e}");
                tokio::time::sleep(DATABASE_RETRY).await;
                return Round::More;
            }
        };
        let mut round = Round::after_batch(readings.len());
        let now = self.shared.services.clock.now();
        self.ctx
            .metrics
            .set_lag(readings.first().map_or(0, |r| now - r.received_at));
        let last_seq = readings.last().map(|r| r.seq);
        let scope = self.installation.grants.sensor.clone();
        let granted: Vec<Reading> = readings
            .into_iter()
            .filter(|r| scope.as_ref().is_some_and(|s| s.allows(&r.kind)))
            .collect();
        let delivered = match privacy::consented(
            &self.shared.services.map,
            &self.installation.community,
            granted,
        )
        .await
        {
            Ok(delivered) => delivered,
            Err(e) => {
                tracing::error!(installation = %self.installation.id, "cannot read the community map: {e}");
                tokio::time::sleep(DATABASE_RETRY).await;
                return Round::More;
            }
        };
        if self.deliver_readings(delivered).await == Delivery::Pending {
            return Round::More;
        }
        if !self.active() {
            return Round::Done;
        }
        // Readings this installation does not receive still move its cursor.
        self.skip_to(Position::Log, last_seq).await;
        if self.active() {
            round = round.or(self.deliver_feed_events().await);
        }
        if self.active() {
            round = round.or(self.fire_due_timers().await);
        }
        round
    }

    /// Delivers what the installation receives from the community feed:
    /// alarm changes of watched types (not its own), acknowledgements of
    /// its plugin's messages and erasures of people (every installation
    /// gets those). Everything else only moves its feed cursor.
    async fn deliver_feed_events(&mut self) -> Round {
        let alarms = self.installation.grants.alarm.clone();
        let events = match feed::after(
            &self.shared.services.db,
            &self.installation.community,
            self.installation.feed_cursor,
            BATCH,
        )
        .await
        {
            Ok(events) => events,
            Err(e) => {
                tracing::error!(installation = %self.installation.id, "cannot read the community feed: {e}");
                return Round::Done;
            }
        };
        let round = Round::after_batch(events.len());
        let last_seq = events.last().map(|e| e.seq);
        let plugin = self.installation.plugin.as_str().to_owned();
        for event in events {
            if !self.active() {
                return Round::Done;
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
                FeedKind::PersonErased => Ok(Some(Source::PersonErased {
                    seq,
                    person: event.topic,
                })),
                _ => Ok(None),
            };
            match source {
                Ok(Some(source)) => {
                    if self.deliver(source).await == Delivery::Pending {
                        return Round::More;
                    }
                }
                Ok(None) => {}
                Err(e) => {
                    tracing::error!(installation = %self.installation.id, seq, "unreadable {} event in the feed: {e}", kind.as_str());
                }
            }
        }
        self.skip_to(Position::Feed, last_seq).await;
        round
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
        match progress::skip(
            &self.shared.services.db,
            &self.installation.id,
            position,
            seq,
        )
        .await
        {
            Ok(()) => *self.position(position) = seq,
            Err(e) => {
                tracing::error!(installation = %self.installation.id, ?position, "cannot move the position: {e}");
            }
        }
    }

    /// Fires due timers.
    async fn fire_due_timers(&mut self) -> Round {
        let now = self.shared.services.clock.now();
        let due = match timer::due(&self.shared.services.db, &self.installation.id, now, BATCH)
            .await
        {
            Ok(due) => due,
            Err(e) => {
                tracing::error!(installation = %self.installation.id, "cannot read timers: {e}");
                return Round::Done;
            }
        };
        let round = Round::after_batch(due.len());
        for due in due {
            if !self.active() || self.deliver(Source::Timer(due)).await == Delivery::Pending {
                break;
            }
        }
        round
    }

    async fn next_timer(&mut self) -> Option<Millis> {
        timer::next_due(&self.shared.services.db, &self.installation.id)
            .await
            .ok()
            .flatten()
    }

    /// Delivers one event and records the outcome.
    async fn deliver(&mut self, source: Source) -> Delivery {
        let outcome = self.handle_event(&source).await;
        self.record(&source, outcome).await
    }

    /// Runs the plugin's handler for one event, leaving its effects pending.
    async fn handle_event(&mut self, source: &Source) -> Result<Result<(), WitError>, CallFailure> {
        let event = source.event();
        let started = Instant::now();
        let outcome = match self.instance().await {
            Ok(instance) => instance.on_event(&event).await,
            Err(refused) => Err(CallFailure::Instantiate(refused.to_string())),
        };
        self.ctx
            .metrics
            .observe_call("event", started.elapsed().as_secs_f64());
        outcome
    }

    /// Delivers readings in order, committing the effects of a run of
    /// successful handlers in one transaction. When a handler fails, the
    /// uncommitted run is discarded and replayed one event at a time on a
    /// fresh instance, so every event before the failure lands exactly once
    /// and the failure is recorded for the failing event alone.
    async fn deliver_readings(&mut self, readings: Vec<Reading>) -> Delivery {
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
                        .is_some_and(|i| i.caps().commit_now());
                    if commit_now
                        && self.commit_run(&std::mem::take(&mut handled)).await == Delivery::Pending
                    {
                        return Delivery::Pending;
                    }
                }
                failed => {
                    if !handled.is_empty() {
                        if let Some(instance) = self.instance.as_mut() {
                            instance.caps().discard();
                        }
                        self.instance = None;
                        for earlier in std::mem::take(&mut handled) {
                            if self.deliver(earlier).await == Delivery::Pending {
                                return Delivery::Pending;
                            }
                        }
                    }
                    if self.record(&source, failed).await == Delivery::Pending {
                        return Delivery::Pending;
                    }
                }
            }
        }
        if handled.is_empty() || !self.active() {
            return Delivery::Recorded;
        }
        self.commit_run(&handled).await
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
            Err(refused) => Err(CallFailure::Instantiate(refused.to_string())),
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
    let metrics = shared.services.metrics.installation(
        installation.community.as_str(),
        installation.plugin.as_str(),
        installation.id.as_str(),
    );
    Arc::new(InstallationContext {
        installation: installation.id.clone(),
        community: installation.community.clone(),
        plugin: installation.plugin.clone(),
        grants: installation.grants.clone(),
        db: shared.services.db.clone(),
        clock: shared.services.clock.clone(),
        metrics: metrics.clone(),
        quotas: crate::caps::quota::Quotas::new(installation.limits, metrics),
        log_tail: shared.services.log_tails.of(&installation.id),
    })
}
