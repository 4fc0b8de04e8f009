//! The platform's own watch over devices: a device that stays silent past
//! its kind's reporting interval raises `device-offline` (cleared by its
//! next reading), and a battery reading under its kind's threshold raises
//! `device-battery-low` (cleared by a reading at or above it).
//!
//! Reporting intervals and battery thresholds are set per community and
//! device kind ([`crate::api::device_kinds`]); kinds without an interval are not watched for
//! silence. Battery readings are read from the event log after the
//! monitor's own cursor, and the alarms they raise commit with the cursor
//! advance, so each reading counts once even across a crash. Ingest wakes
//! the monitor; otherwise it sleeps on the host clock until the next device
//! is due, so tests move time instead of waiting.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use serde_json::json;
use tokio::sync::Notify;
use tokio::task::JoinHandle;

use crate::caps::alarm::model::{AlarmChange, Raise, Severity};
use crate::caps::alarm::rows::{self as alarms, Operation, PLATFORM};
use crate::clock::{Millis, SharedClock};
use crate::db::{Db, Tx};
use crate::feed::Feed;
use crate::ids::{AlarmId, CommunityId};

/// The alarm raised for a device that stopped reporting.
pub const OFFLINE_ALARM: &str = crate::caps::alarm::DEVICE_OFFLINE;
/// The alarm raised for a device whose battery runs low.
pub const BATTERY_ALARM: &str = crate::caps::alarm::DEVICE_BATTERY_LOW;
/// Battery percentage under which a device's battery is low, unless its kind says otherwise.
pub const DEFAULT_BATTERY_LOW: f64 = 20.0;
/// Battery readings handled per round.
const BATTERY_PAGE: i64 = 1000;
/// Longest sleep between checks when nothing is due sooner.
const IDLE_CHECK_MS: Millis = 60_000;
/// Pause after the store failed.
const STORE_RETRY: Duration = Duration::from_secs(1);
/// Least time between two rounds, so a stream of ingest wake-ups costs a few rounds a second.
const MIN_ROUND_GAP: Duration = Duration::from_millis(200);

/// A battery reading: seq, community, device, level, and its kind's threshold if set.
type BatteryReading = (i64, String, String, Option<f64>, Option<f64>);
/// A watched device: community, device, last heard, interval, and its active offline alarm if any.
type WatchedDevice = (String, String, Millis, Millis, Option<String>);

/// The device monitor of one host.
pub struct Monitor {
    db: Db,
    clock: SharedClock,
    feed: Arc<Feed>,
    wake: Notify,
}

impl Monitor {
    pub fn new(db: Db, clock: SharedClock, feed: Arc<Feed>) -> Self {
        Self {
            db,
            clock,
            feed,
            wake: Notify::new(),
        }
    }

    /// New readings are in the log: look at them soon.
    pub fn wake(&self) {
        self.wake.notify_one();
    }

    /// Runs the monitor until the task is aborted.
    pub fn spawn(self: &Arc<Self>) -> JoinHandle<()> {
        let monitor = self.clone();
        tokio::spawn(async move {
            loop {
                let next_check = match monitor.check().await {
                    Ok(next) => next,
                    Err(e) => {
                        tracing::error!("device monitor: cannot read the store: {e}");
                        tokio::time::sleep(STORE_RETRY).await;
                        continue;
                    }
                };
                tokio::time::sleep(MIN_ROUND_GAP).await;
                tokio::select! {
                    () = monitor.wake.notified() => {}
                    () = monitor.clock.sleep_until(next_check) => {}
                }
            }
        })
    }

    /// One round: battery readings, then silence. Returns when to look again.
    async fn check(&self) -> Result<Millis, sqlx::Error> {
        while self.battery_round().await? {}
        self.liveness_round().await
    }

    /// Handles one page of battery readings after the cursor; true if there may be more.
    async fn battery_round(&self) -> Result<bool, sqlx::Error> {
        let cursor: i64 = sqlx::query_scalar(
            "SELECT COALESCE((SELECT cursor FROM monitor_cursor WHERE id = 1), 0)",
        )
        .fetch_one(&self.db)
        .await?;
        let head: i64 = sqlx::query_scalar("SELECT COALESCE(MAX(seq), 0) FROM readings")
            .fetch_one(&self.db)
            .await?;
        if head <= cursor {
            return Ok(false);
        }
        let readings: Vec<BatteryReading> = sqlx::query_as(
            "SELECT r.seq, r.community_id, r.device_id, r.num, k.battery_low_percent FROM readings r \
             JOIN devices d ON d.community_id = r.community_id AND d.id = r.device_id \
             LEFT JOIN device_kinds k ON k.community_id = d.community_id AND k.kind = d.kind \
             WHERE r.seq > $1 AND r.seq <= $2 AND r.kind = 'battery' ORDER BY r.seq LIMIT $3",
        )
        .bind(cursor)
        .bind(head)
        .bind(BATTERY_PAGE)
        .fetch_all(&self.db)
        .await?;
        let full = readings.len() as i64 == BATTERY_PAGE;
        let advanced_to = match readings.last() {
            Some((seq, ..)) if full => *seq,
            _ => head,
        };
        let now = self.clock.now();
        let mut tx = crate::db::begin(&self.db).await?;
        let mut changed = HashSet::new();
        for (_, community, device, level, threshold) in &readings {
            let Some(level) = level else { continue };
            let threshold = threshold.unwrap_or(DEFAULT_BATTERY_LOW);
            let community: CommunityId = match community.parse() {
                Ok(c) => c,
                Err(_) => continue,
            };
            let low = (*level < threshold).then(|| {
                Raise::by_platform(
                    device,
                    BATTERY_ALARM,
                    Severity::Warning,
                    json!({ "battery_percent": level, "threshold_percent": threshold }),
                )
            });
            let change = set_alarm(&mut tx, &community, device, BATTERY_ALARM, low, now).await?;
            if change.is_some() {
                changed.insert(community);
            }
        }
        sqlx::query(
            "INSERT INTO monitor_cursor (id, cursor) VALUES (1, $1) \
             ON CONFLICT (id) DO UPDATE SET cursor = excluded.cursor",
        )
        .bind(advanced_to)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        self.announce(changed);
        Ok(full)
    }

    /// Raises `device-offline` for silent devices and clears it for devices
    /// heard from again; returns when the next device falls due.
    async fn liveness_round(&self) -> Result<Millis, sqlx::Error> {
        let now = self.clock.now();
        let watched: Vec<WatchedDevice> = sqlx::query_as(
            "SELECT d.community_id, d.id, COALESCE(d.last_seen, d.created_at), k.report_interval_ms, \
             (SELECT a.id FROM alarms a WHERE a.community_id = d.community_id AND a.originator = d.id \
              AND a.alarm_type = $1 AND a.active = 1) \
             FROM devices d JOIN device_kinds k ON k.community_id = d.community_id AND k.kind = d.kind \
             WHERE k.report_interval_ms IS NOT NULL",
        )
        .bind(OFFLINE_ALARM)
        .fetch_all(&self.db)
        .await?;
        let mut next_check = now + IDLE_CHECK_MS;
        let mut changes = Vec::new();
        for (community, device, last_heard, interval, offline) in watched {
            let due = last_heard + interval;
            let silent = due < now;
            if !silent {
                next_check = next_check.min(due + 1);
            }
            if offline.is_some() != silent {
                changes.push((community, device, last_heard, interval, silent));
            }
        }
        if changes.is_empty() {
            return Ok(next_check);
        }
        let mut tx = crate::db::begin(&self.db).await?;
        let mut changed = HashSet::new();
        for (community, device, last_heard, interval, silent) in changes {
            let Ok(community) = community.parse::<CommunityId>() else {
                continue;
            };
            let offline = silent.then(|| {
                Raise::by_platform(
                    &device,
                    OFFLINE_ALARM,
                    Severity::Major,
                    json!({ "last_heard": last_heard, "report_interval_ms": interval }),
                )
            });
            let change =
                set_alarm(&mut tx, &community, &device, OFFLINE_ALARM, offline, now).await?;
            if change.is_some() {
                tracing::info!(%community, %device, silent, "device liveness changed");
                changed.insert(community);
            }
        }
        tx.commit().await?;
        self.announce(changed);
        Ok(next_check)
    }

    fn announce(&self, communities: HashSet<CommunityId>) {
        for community in communities {
            self.feed.published(&community);
        }
    }
}

/// Brings the platform alarm of (device, type) to the wanted state: raised
/// with `raise` when given and not yet active, cleared when not wanted and
/// active; otherwise left alone (a platform alarm is not re-raised while
/// its condition lasts).
async fn set_alarm(
    tx: &mut Tx,
    community: &CommunityId,
    device: &str,
    alarm_type: &str,
    raise: Option<Raise>,
    now: Millis,
) -> Result<Option<AlarmChange>, sqlx::Error> {
    let active = alarms::active(tx, community, device, alarm_type).await?;
    match (active, raise) {
        (None, Some(raise)) => Ok(Some(
            alarms::raise(tx, community, &raise, AlarmId::generate, now).await?,
        )),
        (Some(alarm), None) => {
            alarms::operate(tx, community, &alarm, Operation::Clear, PLATFORM, None, now).await
        }
        _ => Ok(None),
    }
}
