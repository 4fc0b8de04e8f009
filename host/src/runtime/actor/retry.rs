//! Retrying a dead letter after a fix: its event is delivered again to the
//! live instance, and the old dead letter is taken away in the transaction
//! that lands the handler's effects, or the new dead letter if it fails
//! again, so a retried event is handled at most once and never lost.

use super::{Actor, Delivery};
use crate::runtime::installation;
use crate::runtime::mailbox::{PluginError, Retried, RetryError};
use crate::runtime::source::Source;

impl Actor {
    /// Delivers dead letter `dead_letter`'s event again.
    pub(super) async fn retry(&mut self, dead_letter: i64) -> Result<Retried, RetryError> {
        if !self.active() {
            let reason = self.installation.state_reason.clone();
            return Err(RetryError::Suspended(
                reason.unwrap_or_else(|| "by an admin".to_owned()),
            ));
        }
        let letter = installation::dead_letter(
            &self.shared.services.db,
            &self.installation.id,
            dead_letter,
        )
        .await
        .map_err(|e| {
            tracing::error!(installation = %self.installation.id, "cannot read a dead letter: {e}");
            RetryError::NotRecorded
        })?
        .ok_or(RetryError::NotFound(dead_letter))?;
        let source = Source::retry(letter.id, letter.event).map_err(RetryError::Unreadable)?;
        let outcome = self.handle_event(&source).await;
        let failure = match &outcome {
            Ok(Ok(())) => None,
            Ok(Err(error)) => Some(PluginError::from(error.clone()).to_string()),
            Err(failure) => Some(failure.to_string()),
        };
        match self.record(&source, outcome).await {
            Delivery::Recorded => {
                tracing::info!(installation = %self.installation.id, dead_letter, handled = failure.is_none(), "dead letter retried");
                Ok(failure.map_or(Retried::Handled, Retried::FailedAgain))
            }
            Delivery::Pending => Err(RetryError::NotRecorded),
        }
    }
}
