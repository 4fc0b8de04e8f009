//! `alarm`: alarms in the model operators know — one active alarm per
//! (originator, type), raised again to update it, acknowledged and cleared
//! by people, plugins or the platform — with an audit trail, HTTP routes
//! ([`crate::api::alarms`]) and delivery of changes to the installations that watch a type.
//!
//! The grant scope is a list of alarm types (or `"*"`). Within it a plugin
//! raises, clears, acknowledges and lists alarms and receives their
//! changes. Types starting with `device-` or `installation-` belong to the
//! platform: plugins may watch and acknowledge them but not raise or clear
//! them.
//!
//! Like every effect, a handler's alarm changes take place only when it
//! succeeds: calls are recorded and replayed against the store in the
//! handler's transaction. What a call returns is computed the same way
//! from the store as it was when the call was made, so a change an
//! operator makes meanwhile (an ack, say) is kept, not overwritten.

pub mod model;
pub mod rows;

use std::sync::Arc;

use serde::{Deserialize, Serialize};

use futures::future::BoxFuture;

use super::effects::{CommitError, Effects};
use super::{InstallationContext, NameSet, Scope};
use crate::db::Tx;
use crate::feed::Feed;
use crate::ids::AlarmId;
use crate::validation::Invalid;
use crate::wit::linli::platform::alarm::{self as wit, Host};
use crate::wit::linli::platform::types::{Error, Severity as WitSeverity};
use model::{Alarm, AlarmChange, ChangeKind, Raise, Severity};

/// Type prefixes the platform raises itself.
pub const PLATFORM_PREFIXES: [&str; 2] = ["device-", "installation-"];
/// A device that stopped reporting (the device monitor).
pub const DEVICE_OFFLINE: &str = "device-offline";
/// A device whose battery runs low (the device monitor).
pub const DEVICE_BATTERY_LOW: &str = "device-battery-low";
/// An installation suspended after repeated failures or a revoked key (the runtime).
pub const INSTALLATION_SUSPENDED: &str = "installation-suspended";
/// Every alarm type the host raises itself.
pub const PLATFORM_TYPES: [&str; 3] = [DEVICE_OFFLINE, DEVICE_BATTERY_LOW, INSTALLATION_SUSPENDED];
/// Longest details JSON, in bytes.
pub const MAX_DETAILS_BYTES: usize = 16 * 1024;
/// Longest originator, in bytes.
pub const MAX_ORIGINATOR_BYTES: usize = 200;
/// Most alarm calls that change something in one handler.
pub const MAX_CHANGES_PER_CALL: usize = 1000;

/// The `alarm` scope: alarm types, or `"*"` for every type.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AlarmScope {
    pub types: Vec<String>,
}

impl AlarmScope {
    /// Whether alarms of `alarm_type` are within this scope.
    pub fn allows(&self, alarm_type: &str) -> bool {
        NameSet(&self.types).allows(alarm_type)
    }
}

impl Scope for AlarmScope {
    fn within(&self, requested: &Self) -> Result<(), String> {
        if let Some(bad) = self
            .types
            .iter()
            .find(|t| *t != "*" && check_type(t).is_err())
        {
            return Err(format!("{bad:?} is not an alarm type: {}", type_rule()));
        }
        check_platform_types(&self.types)?;
        NameSet(&self.types).within(&NameSet(&requested.types), "type")
    }
}

fn type_rule() -> &'static str {
    "1-64 characters of a-z, 0-9 or '-'"
}

/// Checks an alarm type's spelling.
pub fn check_type(alarm_type: &str) -> Result<(), Invalid> {
    if super::is_slug(alarm_type, 64) {
        Ok(())
    } else {
        Err(Invalid::new(
            "alarm-type",
            format!("must be {}", type_rule()),
        ))
    }
}

/// Checks that every platform-owned type named is one the platform raises:
/// a plugin watching `device-ofline` would wait for ever.
pub fn check_platform_types(types: &[String]) -> Result<(), String> {
    match types
        .iter()
        .find(|t| is_platform_type(t) && !PLATFORM_TYPES.contains(&t.as_str()))
    {
        Some(unknown) => Err(format!(
            "{unknown:?} is not an alarm type the platform raises{}; it raises {}",
            crate::validation::did_you_mean(unknown, PLATFORM_TYPES),
            PLATFORM_TYPES.join(", ")
        )),
        None => Ok(()),
    }
}

/// Whether the platform owns alarms of this type.
pub fn is_platform_type(alarm_type: &str) -> bool {
    PLATFORM_PREFIXES.iter().any(|p| alarm_type.starts_with(p))
}

/// An alarm call a handler made, replayed against the store at commit.
enum Call {
    Raise {
        raise: Raise,
        new_id: AlarmId,
    },
    Clear {
        originator: String,
        alarm_type: String,
    },
    Acknowledge {
        id: String,
    },
}

/// Per-instance `alarm` state: the running handler's calls and what they did.
pub struct AlarmHost {
    ctx: Arc<InstallationContext>,
    calls: Vec<Call>,
    /// How many of `calls` earlier handlers of the same uncommitted run made:
    /// the per-call limit counts only the running handler's.
    calls_before: usize,
    /// The alarms the calls touched, latest state last, as the handler sees them.
    touched: Vec<Alarm>,
    /// The community feed, whose followers hear of committed changes.
    feed: Arc<Feed>,
    /// Whether the transaction being committed holds alarm changes.
    announce: bool,
}

impl AlarmHost {
    pub fn new(ctx: Arc<InstallationContext>, feed: Arc<Feed>) -> Self {
        Self {
            ctx,
            calls: Vec::new(),
            calls_before: 0,
            touched: Vec::new(),
            feed,
            announce: false,
        }
    }

    /// The installation's alarm scope; `denied` when it has no alarm grant.
    fn granted(&self) -> Result<&AlarmScope, Error> {
        self.ctx.grants.alarm.as_ref().ok_or_else(|| {
            self.ctx
                .deny("alarm", "alarm was not granted to this installation")
        })
    }

    fn scope(&self, alarm_type: &str) -> Result<(), Error> {
        if self.granted()?.allows(alarm_type) {
            Ok(())
        } else {
            Err(self.ctx.deny(
                "alarm",
                format!("alarm type {alarm_type:?} was not granted to this installation"),
            ))
        }
    }

    /// Refuses a change once the handler has made as many as one call may.
    fn check_room(&self) -> Result<(), Error> {
        if self.calls.len().saturating_sub(self.calls_before) >= MAX_CHANGES_PER_CALL {
            return Err(Error::Limit(format!(
                "at most {MAX_CHANGES_PER_CALL} alarm changes per call"
            )));
        }
        Ok(())
    }

    /// Checks a raise or clear of (originator, type).
    fn check_change(&self, originator: &str, alarm_type: &str) -> Result<(), Error> {
        check_type(alarm_type).map_err(|e| Error::Invalid(e.to_string()))?;
        self.scope(alarm_type)?;
        if is_platform_type(alarm_type) {
            return Err(self.ctx.deny(
                "alarm",
                format!("{alarm_type:?} alarms are raised and cleared by the platform"),
            ));
        }
        if originator.is_empty()
            || originator.len() > MAX_ORIGINATOR_BYTES
            || originator.chars().any(char::is_control)
        {
            return Err(Error::Invalid(format!(
                "originator must be 1-{MAX_ORIGINATOR_BYTES} bytes without control characters"
            )));
        }
        self.check_room()
    }

    fn internal(&self, e: impl std::fmt::Display) -> Error {
        self.ctx.internal("alarm", e)
    }

    fn remember(&mut self, alarm: Alarm) -> Alarm {
        self.touched.retain(|a| a.id != alarm.id);
        self.touched.push(alarm.clone());
        alarm
    }

    /// The active alarm of (originator, type) as this handler sees it.
    async fn current(&self, originator: &str, alarm_type: &str) -> Result<Option<Alarm>, Error> {
        if let Some(seen) = self
            .touched
            .iter()
            .rev()
            .find(|a| a.originator == originator && a.alarm_type == alarm_type)
        {
            return Ok(seen.active.then(|| seen.clone()));
        }
        let mut conn = self.ctx.db.acquire().await.map_err(|e| self.internal(e))?;
        rows::active(&mut conn, &self.ctx.community, originator, alarm_type)
            .await
            .map_err(|e| self.internal(e))
    }

    /// Writes the handler's alarm changes into `tx`, each with its feed event.
    async fn write(&mut self, tx: &mut Tx) -> Result<(), sqlx::Error> {
        let community = &self.ctx.community;
        let by = self.ctx.plugin.as_str();
        let now = self.ctx.clock.now();
        for call in std::mem::take(&mut self.calls) {
            let change = match call {
                Call::Raise { raise, new_id } => {
                    Some(rows::raise(tx, community, &raise, || new_id, now).await?)
                }
                Call::Clear {
                    originator,
                    alarm_type,
                } => rows::clear_active(tx, community, &originator, &alarm_type, by, now).await?,
                Call::Acknowledge { id } => {
                    match rows::acknowledge(tx, community, &id, by, now).await {
                        Ok(change) => change,
                        // Gone since the call (its community was deleted): nothing to do.
                        Err(rows::AlarmError::NotFound(_)) => None,
                        Err(rows::AlarmError::Store(e)) => return Err(e),
                    }
                }
            };
            self.announce |= change.is_some();
        }
        self.touched.clear();
        Ok(())
    }
}

impl Effects for AlarmHost {
    fn begin_call(&mut self) {
        self.calls_before = self.calls.len();
    }

    fn commit<'a>(&'a mut self, tx: &'a mut Tx) -> BoxFuture<'a, Result<(), CommitError>> {
        Box::pin(async move { Ok(self.write(tx).await?) })
    }

    /// Wakes the community feed's followers: the changes are in it now.
    fn committed(&mut self) {
        if std::mem::take(&mut self.announce) {
            self.feed.published(&self.ctx.community);
        }
    }

    /// Drops the handler's calls.
    fn discard(&mut self) {
        self.calls.clear();
        self.touched.clear();
        self.announce = false;
    }
}

impl From<WitSeverity> for Severity {
    fn from(s: WitSeverity) -> Self {
        match s {
            WitSeverity::Critical => Severity::Critical,
            WitSeverity::Major => Severity::Major,
            WitSeverity::Minor => Severity::Minor,
            WitSeverity::Warning => Severity::Warning,
            WitSeverity::Info => Severity::Info,
        }
    }
}

impl From<Severity> for WitSeverity {
    fn from(s: Severity) -> Self {
        match s {
            Severity::Critical => WitSeverity::Critical,
            Severity::Major => WitSeverity::Major,
            Severity::Minor => WitSeverity::Minor,
            Severity::Warning => WitSeverity::Warning,
            Severity::Info => WitSeverity::Info,
        }
    }
}

impl Alarm {
    /// The alarm as a plugin sees it.
    pub fn to_wit(&self) -> wit::AlarmInfo {
        wit::AlarmInfo {
            id: self.id.to_string(),
            originator: self.originator.clone(),
            alarm_type: self.alarm_type.clone(),
            severity: self.severity.into(),
            active: self.active,
            acknowledged: self.acknowledged,
            count: u32::try_from(self.count).unwrap_or(u32::MAX),
            first_seen: self.first_seen,
            last_seen: self.last_seen,
            details: self.details.to_string(),
            raised_by: self.raised_by.clone(),
            location: self.location.clone(),
        }
    }
}

impl AlarmChange {
    /// The change as a plugin receives it.
    pub fn to_wit(&self) -> wit::AlarmChange {
        wit::AlarmChange {
            change: match self.change {
                ChangeKind::Raised => wit::ChangeKind::Raised,
                ChangeKind::Updated => wit::ChangeKind::Updated,
                ChangeKind::Acknowledged => wit::ChangeKind::Acknowledged,
                ChangeKind::Cleared => wit::ChangeKind::Cleared,
            },
            alarm: self.alarm.to_wit(),
            by: self.by.clone(),
        }
    }
}

impl Host for AlarmHost {
    async fn raise(
        &mut self,
        originator: String,
        alarm_type: String,
        severity: WitSeverity,
        details: String,
    ) -> Result<wit::AlarmInfo, Error> {
        self.check_change(&originator, &alarm_type)?;
        if details.len() > MAX_DETAILS_BYTES {
            return Err(Error::Invalid(format!(
                "details must be at most {MAX_DETAILS_BYTES} bytes"
            )));
        }
        let details: serde_json::Value = serde_json::from_str(&details)
            .map_err(|e| Error::Invalid(format!("details must be JSON: {e}")))?;
        let raise = Raise {
            originator,
            alarm_type,
            severity: severity.into(),
            details,
            raiser: self.ctx.plugin.to_string(),
        };
        let current = self.current(&raise.originator, &raise.alarm_type).await?;
        let new_id = AlarmId::generate();
        let location = match current {
            Some(_) => None,
            None => {
                let mut conn = self.ctx.db.acquire().await.map_err(|e| self.internal(e))?;
                rows::originator_location(&mut conn, &self.ctx.community, &raise.originator)
                    .await
                    .map_err(|e| self.internal(e))?
            }
        };
        let (alarm, _) = raise.apply(
            current.as_ref(),
            || new_id.clone(),
            location,
            self.ctx.clock.now(),
        );
        self.calls.push(Call::Raise { raise, new_id });
        Ok(self.remember(alarm).to_wit())
    }

    async fn clear(
        &mut self,
        originator: String,
        alarm_type: String,
    ) -> Result<Option<wit::AlarmInfo>, Error> {
        self.check_change(&originator, &alarm_type)?;
        let Some(current) = self.current(&originator, &alarm_type).await? else {
            return Ok(None);
        };
        let cleared = current
            .clear(self.ctx.plugin.as_str(), self.ctx.clock.now())
            .unwrap_or(current);
        self.calls.push(Call::Clear {
            originator,
            alarm_type,
        });
        Ok(Some(self.remember(cleared).to_wit()))
    }

    async fn acknowledge(&mut self, id: String) -> Result<wit::AlarmInfo, Error> {
        let known = match self.touched.iter().rev().find(|a| a.id == id) {
            Some(alarm) => Some(alarm.clone()),
            None => {
                let mut conn = self.ctx.db.acquire().await.map_err(|e| self.internal(e))?;
                rows::by_id(&mut conn, &self.ctx.community, &id)
                    .await
                    .map_err(|e| self.internal(e))?
            }
        };
        let alarm = known.ok_or_else(|| Error::NotFound(format!("no alarm {id}")))?;
        self.scope(&alarm.alarm_type)?;
        self.check_room()?;
        let acked = alarm
            .acknowledge(self.ctx.plugin.as_str(), self.ctx.clock.now())
            .unwrap_or(alarm);
        self.calls.push(Call::Acknowledge { id });
        Ok(self.remember(acked).to_wit())
    }

    async fn active(
        &mut self,
        originator: String,
        alarm_type: String,
    ) -> Result<Option<wit::AlarmInfo>, Error> {
        check_type(&alarm_type).map_err(|e| Error::Invalid(e.to_string()))?;
        self.scope(&alarm_type)?;
        Ok(self
            .current(&originator, &alarm_type)
            .await?
            .map(|a| a.to_wit()))
    }

    async fn list_active(
        &mut self,
        alarm_type: Option<String>,
        limit: u32,
    ) -> Result<Vec<wit::AlarmInfo>, Error> {
        match &alarm_type {
            Some(t) => {
                check_type(t).map_err(|e| Error::Invalid(e.to_string()))?;
                self.scope(t)?;
            }
            None => {
                self.granted()?;
            }
        }
        let limit = limit.clamp(1, rows::MAX_LIST) as usize;
        let filter = rows::AlarmFilter {
            state: Some("active".to_owned()),
            alarm_type: alarm_type.clone(),
            limit: Some(rows::MAX_LIST),
            ..Default::default()
        };
        let stored = rows::list(&self.ctx.db, &self.ctx.community, &filter)
            .await
            .map_err(|e| self.internal(e))?;
        // The handler's own changes first, then the store's, without repeats.
        let mut seen: Vec<Alarm> = self.touched.iter().rev().cloned().collect();
        seen.extend(
            stored
                .into_iter()
                .filter(|s| !self.touched.iter().any(|t| t.id == s.id)),
        );
        let scope = self.granted()?;
        Ok(seen
            .into_iter()
            .filter(|a| a.active && scope.allows(&a.alarm_type))
            .filter(|a| alarm_type.as_ref().is_none_or(|t| *t == a.alarm_type))
            .take(limit)
            .map(|a| a.to_wit())
            .collect())
    }
}
