//! Ingest: readings in. Devices send batches of readings with their device
//! token, over HTTP ([`crate::api::ingest`]) or MQTT ([`mqtt`]); both hand them to the one
//! [`Ingest::submit`], so the rules are the same whatever the transport:
//!
//! 1. [`items`] reads the items of a batch without building a JSON tree;
//! 2. [`validate`] checks every item on its own against the devices the
//!    token may send for ([`device_sets`], kept in memory until a device is
//!    registered, moved or retired) and the reading-kind catalogue — a bad
//!    item gets an error naming its index and field, the rest of the batch
//!    still lands;
//! 3. [`writer`] appends the valid readings to the event log with group
//!    commit, and only then is the batch acknowledged; between groups it
//!    brings the [`history`] index by device and time up to date;
//! 4. whoever follows the log is told ([`LogFollowers`]): the community's
//!    installations pull the new readings at their own pace, so ingest
//!    never waits for a plugin.
//!
//! A batch may carry a key ([`idempotency`]) so that a device can send it
//! again safely. [`retention`] purges readings past their community's
//! retention, never ahead of an installation that has not handled them.

pub mod device_sets;
pub mod history;
pub mod idempotency;
pub mod items;
pub mod mqtt;
pub mod retention;
pub mod validate;
pub mod writer;

use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::clock::SharedClock;
use crate::db::Db;
use crate::feed::Feed;
use crate::ids::CommunityId;
use crate::metrics::Metrics;
use crate::monitor::Monitor;
use crate::runtime::Runtime;
use crate::validation::ItemError;
use device_sets::DeviceSets;
use idempotency::{BatchKey, Recorded};
use items::RawItem;
pub use validate::{Sender, ValidReading};
use writer::{Append, AppendError, LogWriter};

/// Most readings in one batch.
pub const MAX_BATCH: usize = 10_000;

/// What happened to a batch.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct IngestReport {
    /// Readings now durable in the event log.
    pub accepted: usize,
    /// Readings refused; see `errors`.
    pub rejected: usize,
    /// One entry per refused reading.
    pub errors: Vec<ItemError>,
}

/// A batch as received, from a device token.
pub struct Batch<'a> {
    pub community: &'a CommunityId,
    /// The token's device: the sender.
    pub device: &'a str,
    pub items: Vec<RawItem<'a>>,
    pub key: Option<BatchKey>,
    /// Whether a reading that names no device is the sender's own: over
    /// MQTT the topic names the device already; over HTTP every reading
    /// names its device.
    pub sender_by_default: bool,
}

/// What a batch came to.
#[derive(Debug)]
pub struct Outcome {
    pub report: IngestReport,
    /// True when the batch's key was already on record: nothing was stored
    /// now, and `report` is the one the first delivery got.
    pub replayed: bool,
}

/// Why a batch was refused as a whole.
#[derive(Debug, thiserror::Error)]
pub enum IngestError {
    #[error("a batch holds at most {MAX_BATCH} readings, got {0}")]
    TooLarge(usize),
    #[error("batch key {0:?} was already used for a different batch")]
    KeyReused(String),
    #[error("cannot store the batch: {0}")]
    Store(#[from] AppendError),
}

impl From<sqlx::Error> for IngestError {
    fn from(error: sqlx::Error) -> Self {
        Self::Store(AppendError::Store(error))
    }
}

/// Everyone who follows the event log, told when readings are durable.
pub struct LogFollowers {
    /// The installations, which pull their new readings.
    pub runtime: Arc<Runtime>,
    /// The device monitor, which sees devices report again.
    pub monitor: Arc<Monitor>,
    /// Live followers of the community feed.
    pub feed: Arc<Feed>,
}

impl LogFollowers {
    fn readings_appended(&self, community: &CommunityId, count: usize) {
        self.runtime.wake_community(community);
        self.monitor.wake();
        self.feed.readings_appended(community, count);
    }
}

/// Ingest for one host: validation, the log writer, and who to tell.
pub struct Ingest {
    db: Db,
    clock: SharedClock,
    metrics: Arc<Metrics>,
    followers: LogFollowers,
    writer: LogWriter,
    device_sets: DeviceSets,
}

impl Ingest {
    /// Ingest over `db`, appending through `writer` and telling `followers`.
    pub fn new(
        db: Db,
        clock: SharedClock,
        metrics: Arc<Metrics>,
        followers: LogFollowers,
        writer: LogWriter,
    ) -> Self {
        Self {
            db,
            clock,
            metrics,
            followers,
            writer,
            device_sets: DeviceSets::default(),
        }
    }

    /// The devices of `community` changed (one was registered, moved or
    /// retired, and that has committed): its senders' device sets are read
    /// again from the store on their next batch.
    pub fn devices_changed(&self, community: &CommunityId) {
        self.device_sets.invalidate(community);
    }

    /// Validates a batch, appends its valid readings and returns its report
    /// once they are durable.
    pub async fn submit(&self, batch: Batch<'_>) -> Result<Outcome, IngestError> {
        if batch.items.len() > MAX_BATCH {
            return Err(IngestError::TooLarge(batch.items.len()));
        }
        let devices = self
            .device_sets
            .get(&self.db, batch.community, batch.device)
            .await?;
        let sender = Sender::new(devices, batch.sender_by_default);
        let received_at = self.clock.now();
        let (valid, errors) = sender.validate_all(&batch.items, received_at);
        let report = IngestReport {
            accepted: valid.readings.len(),
            rejected: errors.len(),
            errors,
        };
        if valid.readings.is_empty() && batch.key.is_none() {
            self.metrics.readings_ingested(0, report.rejected);
            return Ok(Outcome {
                report,
                replayed: false,
            });
        }
        let key_text = batch.key.as_ref().map(|key| key.as_str().to_owned());
        let key = batch.key.map(|key| {
            let report = serde_json::to_string(&report).expect("reports serialize");
            (key, report)
        });
        let recorded = self
            .writer
            .append(Append {
                community: batch.community.clone(),
                sender: batch.device.to_owned(),
                batch: valid,
                received_at,
                key,
            })
            .await?;
        match recorded {
            Recorded::New => {
                self.metrics
                    .readings_ingested(report.accepted, report.rejected);
                if report.accepted > 0 {
                    self.followers
                        .readings_appended(batch.community, report.accepted);
                }
                tracing::debug!(community = %batch.community, device = batch.device,
                    accepted = report.accepted, rejected = report.rejected, "batch ingested");
                Ok(Outcome {
                    report,
                    replayed: false,
                })
            }
            Recorded::Replay(report) => Ok(Outcome {
                report: serde_json::from_str(&report)
                    .map_err(|e| IngestError::from(sqlx::Error::Decode(e.into())))?,
                replayed: true,
            }),
            Recorded::Conflict => Err(IngestError::KeyReused(key_text.unwrap_or_default())),
        }
    }
}
