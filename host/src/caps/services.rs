//! The host's long-lived services, built once at start: the one bag the
//! runtime and the HTTP layer share. Each capability's per-instance state
//! takes from it only the service it is built on, so a capability can be
//! built, and tested, with its own service alone.

use std::sync::Arc;

use super::ledger::log::LedgerService;
use super::map::MapService;
use super::notify::dispatch::NotifyService;
use crate::clock::SharedClock;
use crate::db::Db;
use crate::feed::Feed;
use crate::metrics::Metrics;

#[derive(Clone)]
pub struct Services {
    /// The database.
    pub db: Db,
    pub clock: SharedClock,
    pub metrics: Arc<Metrics>,
    /// The ledger: signing key, per-community writer locks and node cache.
    pub ledger: Arc<LedgerService>,
    /// The community feed, and who follows it live.
    pub feed: Arc<Feed>,
    /// Every community's map in memory.
    pub map: Arc<MapService>,
    /// Notification delivery: the worker, gateways and live inboxes.
    pub notify: Arc<NotifyService>,
    /// The last lines each installation logged.
    pub log_tails: Arc<super::log::tail::LogTails>,
}
