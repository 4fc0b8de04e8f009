//! The protocol every capability's per-instance state follows for the
//! effects a handler makes through it.
//!
//! A handler's calls change nothing at once: each capability keeps what
//! they asked for and the handler's caller decides what becomes of it —
//! written into the handler's transaction ([`Effects::commit`]), announced
//! once that transaction has committed ([`Effects::committed`]: feed
//! followers woken, live inboxes told, locks let go), or forgotten when the
//! handler failed or its transaction did not land ([`Effects::discard`]).
//! The runtime drives every capability through this one trait, so it never
//! learns what any of them keeps.

use std::time::Duration;

use futures::future::BoxFuture;

use super::ledger::log::LedgerError;
use crate::db::Tx;

/// Why a handler's effects could not be written into its transaction;
/// the transaction is then rolled back and nothing of the handler lands.
#[derive(Debug, thiserror::Error)]
pub enum CommitError {
    #[error("the store failed: {0}")]
    Store(#[from] sqlx::Error),
    #[error("the ledger could not append: {0}")]
    Ledger(#[from] LedgerError),
}

/// What the runtime asks of each capability's per-instance state. Every
/// method has a default for capabilities that keep nothing of a kind (a
/// read-only capability implements none of them).
pub trait Effects: Send {
    /// A new call into the plugin starts: per-call limits count from here.
    fn begin_call(&mut self) {}

    /// Writes what the handlers since the last commit asked for into `tx`.
    fn commit<'a>(&'a mut self, tx: &'a mut Tx) -> BoxFuture<'a, Result<(), CommitError>> {
        let _ = tx;
        Box::pin(async { Ok(()) })
    }

    /// `tx` has committed: announce what landed and let go of what was held.
    fn committed(&mut self) {}

    /// The handler failed, or its transaction did not commit: forget what
    /// it asked for and let go of what was held.
    fn discard(&mut self) {}

    /// How long the running call waited for a resource shared with other
    /// installations; that time does not count against its budget.
    fn waited(&self) -> Duration {
        Duration::ZERO
    }

    /// Whether the running call gave up on a shared resource that stayed
    /// busy, so its event is to be handled again rather than failed.
    fn contended(&self) -> bool {
        false
    }

    /// Whether what is pending should be committed now rather than joined by
    /// the next handler's (a lock others wait for, an overlay past its size).
    fn commit_now(&self) -> bool {
        false
    }
}
