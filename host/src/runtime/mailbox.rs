//! What an installation's actor is asked to do through its mailbox, and
//! what it answers: the runtime's side of the conversation with an actor.

use tokio::sync::oneshot;

use super::installation::Installation;
use super::instance::{CallFailure, InstanceState};
use crate::wit::linli::platform::events::Lifecycle;
use crate::wit::linli::platform::types::{Caller, Error as WitError};
use crate::wit::ScenePre;

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

/// What retrying a dead letter came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Retried {
    /// The handler succeeded: its effects landed and the dead letter is gone.
    Handled,
    /// The handler failed again: a new dead letter (with this error) takes
    /// the old one's place.
    FailedAgain(String),
}

/// Why a dead letter could not be retried.
#[derive(Debug, thiserror::Error)]
pub enum RetryError {
    #[error("no dead letter {0} of this installation")]
    NotFound(i64),
    #[error("the installation is suspended: {0}; resume it first")]
    Suspended(String),
    #[error("the dead letter's event cannot be read: {0}")]
    Unreadable(String),
    /// The store failed, or another retry took the dead letter first.
    #[error("the retry could not be recorded; try again")]
    NotRecorded,
}

/// Why an installation's instance could not be started.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum StartError {
    #[error("{0}")]
    Instantiate(CallFailure),
    #[error("init refused the config: {0}")]
    ConfigRefused(PluginError),
    #[error("init failed: {0}")]
    Init(CallFailure),
    /// What `init` wrote could not be committed; the cause is in the host log.
    #[error("store: {0}")]
    Commit(String),
    #[error("the installation stopped")]
    Stopped,
    /// Nothing was prepared to run: the installation is suspended.
    #[error("the installation is suspended")]
    Suspended,
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
        reply: oneshot::Sender<Result<(), StartError>>,
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
        /// `None` for a suspended installation, which runs nothing.
        pre: Option<ScenePre<InstanceState>>,
    },
    /// Deliver a dead letter's event again.
    Retry {
        dead_letter: i64,
        reply: oneshot::Sender<Result<Retried, RetryError>>,
    },
    /// Finish the current event and stop.
    Stop,
}
