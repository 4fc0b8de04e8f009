//! What becomes of an event once its handler has run: its effects and the
//! advance past it committed in one transaction, or the event dead-lettered
//! and the failure counted towards suspension. The other half of the actor:
//! [`super`] decides what to deliver, this records what came of it.

use std::time::Duration;

use super::{Actor, Delivery, DATABASE_RETRY};
use crate::caps::timer;
use crate::caps::CommitError as EffectsError;
use crate::db::Tx;
use crate::runtime::installation::{self, InstallationState, SUSPEND_AFTER_FAILURES};
use crate::runtime::instance::{CallFailure, Instance};
use crate::runtime::mailbox::PluginError;
use crate::runtime::progress::{self, Moved};
use crate::runtime::source::Source;
use crate::wit::linli::platform::types::Error as WitError;

/// Pause before handling again an event whose handler found a shared resource busy.
const CONTENDED_RETRY: Duration = Duration::from_millis(50);

/// Why a handler's outcome could not be committed; nothing of it was.
#[derive(Debug, thiserror::Error)]
pub(super) enum CommitError {
    #[error(transparent)]
    Effects(#[from] EffectsError),
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
        CommitError::Effects(EffectsError::Store(e))
    }
}

impl Actor {
    /// Commits a handled event's effects with its advance, or dead-letters a failed one.
    pub(super) async fn record(
        &mut self,
        source: &Source,
        outcome: Result<Result<(), WitError>, CallFailure>,
    ) -> Delivery {
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
        match recorded {
            Ok(()) => Delivery::Recorded,
            Err(e) => {
                self.commit_failed(&e).await;
                Delivery::Pending
            }
        }
    }

    /// Commits the pending effects of `handled` (events handled in order by
    /// the live instance) with the advance past the last of them.
    pub(super) async fn commit_handled(&mut self, handled: &[Source]) -> Result<(), CommitError> {
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
            let now = self.shared.services.clock.now();
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

    /// Commits a run of handled events.
    pub(super) async fn commit_run(&mut self, handled: &[Source]) -> Delivery {
        match self.commit_handled(handled).await {
            Ok(()) => Delivery::Recorded,
            Err(e) => {
                self.commit_failed(&e).await;
                Delivery::Pending
            }
        }
    }

    /// After a failed commit: drop the instance, learn the stored position
    /// again and, unless another writer simply got there first, give the store a moment.
    pub(super) async fn commit_failed(&mut self, error: &CommitError) {
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
                tokio::time::sleep(DATABASE_RETRY).await;
            }
        }
    }

    /// Commits an instance's effects, with the advance of `source` if given.
    pub(super) async fn commit(
        &mut self,
        instance: &mut Instance,
        source: Option<&Source>,
    ) -> Result<(), CommitError> {
        match self.write_effects(instance, source).await {
            Ok(()) => {
                instance.caps().committed();
                Ok(())
            }
            Err(e) => {
                instance.caps().discard();
                Err(e)
            }
        }
    }

    pub(super) async fn write_effects(
        &mut self,
        instance: &mut Instance,
        source: Option<&Source>,
    ) -> Result<(), CommitError> {
        let mut tx = crate::db::begin(&self.shared.services.db).await?;
        if let Some(source) = source {
            self.advance(&mut tx, source).await?;
        }
        instance.caps().commit(&mut tx).await?;
        if self.installation.consecutive_failures > 0 {
            progress::succeeded(&mut tx, &self.installation.id).await?;
        }
        tx.commit().await?;
        if let Some((position, seq)) = source.and_then(Source::position) {
            *self.position(position) = seq;
        }
        Ok(())
    }

    /// Moves past `source`: the cursor for a reading or an alarm change, the
    /// schedule for a timer. A cursor moves only from where this actor
    /// believes it is, so events handled by another writer meanwhile are
    /// never committed twice.
    pub(super) async fn advance(
        &mut self,
        tx: &mut Tx,
        source: &Source,
    ) -> Result<(), CommitError> {
        if let Some((position, seq)) = source.position() {
            let expected = *self.position(position);
            let moved =
                progress::advance(tx, &self.installation.id, position, expected, seq).await?;
            if moved == Moved::Elsewhere {
                return Err(CommitError::PositionMoved);
            }
        }
        if let Source::Timer(due) = source {
            timer::fired(
                tx,
                &self.installation.id,
                due,
                self.shared.services.clock.now(),
            )
            .await?;
        }
        if let Source::Retry { dead_letter, .. } = source {
            // Taken in the same transaction as the handler's effects (or
            // its new dead letter): a retried event lands exactly once.
            if !progress::retried(tx, &self.installation.id, *dead_letter).await? {
                return Err(CommitError::PositionMoved);
            }
        }
        Ok(())
    }

    /// Where the store says this installation is, after a failed commit.
    pub(super) async fn reload_position(&mut self) {
        match installation::get(&self.shared.services.db, &self.installation.id).await {
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
    pub(super) async fn dead_letter(
        &mut self,
        source: &Source,
        reason: &str,
        error: &str,
        counts: bool,
    ) -> Result<(), CommitError> {
        let failures = self.installation.consecutive_failures + i64::from(counts);
        let suspend = failures >= SUSPEND_AFTER_FAILURES;
        let state_reason = suspend
            .then(|| format!("suspended after {failures} consecutive failures; last: {error}"));
        let event = source.to_json().to_string();
        let failure = progress::Failure {
            event: &event,
            reason,
            error,
            at: self.shared.services.clock.now(),
            failures,
            suspension: state_reason.as_deref(),
        };
        let mut tx = crate::db::begin(&self.shared.services.db).await?;
        progress::failed(&mut tx, &self.installation.id, &failure).await?;
        self.advance(&mut tx, source).await?;
        if let Some(reason) = &state_reason {
            let now = self.shared.services.clock.now();
            progress::record_suspension(&mut tx, &self.installation, reason, now).await?;
        }
        tx.commit().await?;
        if suspend {
            self.shared
                .services
                .feed
                .published(&self.installation.community);
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
}
