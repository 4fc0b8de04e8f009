//! Alarms in the operators' model, as the `alarm` capability keeps them:
//! one active alarm per (originator, type); raising it again updates it
//! (count, last seen, details, a severity that may rise on any raise and
//! fall only by its raiser's hand; a rise asks for a fresh acknowledgement);
//! a raise after a clear starts a new alarm with a new id.
//!
//! The plugin's own calls go through the grant checks in
//! [`super::grants`]; people and the platform change alarms through the
//! simulated host's methods, and those changes are delivered to the scene
//! as `alarm-changed` when it watches the type.

use crate::alarm::{AlarmChange, AlarmInfo, ChangeKind};
use crate::{Error, Severity, Timestamp};

/// Longest details JSON, in bytes, as on the host.
const MAX_DETAILS_BYTES: usize = 16 * 1024;
/// Longest originator, in bytes, as on the host.
const MAX_ORIGINATOR_BYTES: usize = 200;
/// Most alarms one `list-active` call returns, as on the host.
const MAX_LIST: u32 = 1000;
/// Type prefixes the platform raises itself.
const PLATFORM_PREFIXES: [&str; 2] = ["device-", "installation-"];

/// Who changes an alarm: the installation's plugin, a person or admin, or `platform`.
pub(crate) type By<'a> = &'a str;

/// Every alarm ever raised, oldest first; at most one active per (originator, type).
#[derive(Debug, Clone, Default)]
pub(crate) struct Alarms {
    all: Vec<AlarmInfo>,
}

/// Whether the platform owns alarms of this type.
pub(crate) fn is_platform_type(alarm_type: &str) -> bool {
    PLATFORM_PREFIXES.iter().any(|p| alarm_type.starts_with(p))
}

/// Checks what a plugin's raise or clear names, before its grant is asked.
pub(crate) fn check_type_spelling(alarm_type: &str) -> Result<(), Error> {
    super::check_slug("alarm-type", alarm_type)
}

/// Checks a plugin's raise or clear once its grant allows the type.
pub(crate) fn check_change(originator: &str, alarm_type: &str) -> Result<(), Error> {
    if is_platform_type(alarm_type) {
        return Err(Error::Denied(format!(
            "{alarm_type:?} alarms are raised and cleared by the platform"
        )));
    }
    if originator.is_empty()
        || originator.len() > MAX_ORIGINATOR_BYTES
        || originator.chars().any(char::is_control)
    {
        return Err(Error::Invalid(format!(
            "originator must be 1-{MAX_ORIGINATOR_BYTES} bytes without control characters"
        )));
    }
    Ok(())
}

/// What one raise asks for.
pub(crate) struct Raise<'a> {
    pub originator: &'a str,
    pub alarm_type: &'a str,
    pub severity: Severity,
    pub details: &'a str,
    pub by: By<'a>,
    /// Where the originator is placed, for a new alarm.
    pub location: Option<String>,
}

impl Alarms {
    fn active_index(&self, originator: &str, alarm_type: &str) -> Option<usize> {
        self.all
            .iter()
            .position(|a| a.active && a.originator == originator && a.alarm_type == alarm_type)
    }

    /// Raises, or updates the active alarm of the same (originator, type).
    pub fn raise(
        &mut self,
        raise: Raise<'_>,
        at: Timestamp,
        new_id: impl FnOnce() -> String,
    ) -> Result<AlarmChange, Error> {
        if raise.details.len() > MAX_DETAILS_BYTES {
            return Err(Error::Invalid(format!(
                "details must be at most {MAX_DETAILS_BYTES} bytes"
            )));
        }
        let details: serde_json::Value = serde_json::from_str(raise.details)
            .map_err(|e| Error::Invalid(format!("details must be JSON: {e}")))?;
        let (alarm, change) = match self.active_index(raise.originator, raise.alarm_type) {
            Some(i) => {
                let current = &mut self.all[i];
                // Severity is ordered most urgent first: a smaller one is a rise.
                let rises = raise.severity < current.severity;
                if rises || raise.by == current.raised_by {
                    current.severity = raise.severity;
                }
                if rises {
                    current.acknowledged = false;
                }
                current.count += 1;
                current.last_seen = at.max(current.last_seen);
                current.details = details.to_string();
                (current.clone(), ChangeKind::Updated)
            }
            None => {
                let alarm = AlarmInfo {
                    id: new_id(),
                    originator: raise.originator.to_owned(),
                    alarm_type: raise.alarm_type.to_owned(),
                    severity: raise.severity,
                    active: true,
                    acknowledged: false,
                    count: 1,
                    first_seen: at,
                    last_seen: at,
                    details: details.to_string(),
                    raised_by: raise.by.to_owned(),
                    location: raise.location,
                };
                self.all.push(alarm.clone());
                (alarm, ChangeKind::Raised)
            }
        };
        Ok(AlarmChange {
            change,
            alarm,
            by: raise.by.to_owned(),
        })
    }

    /// Clears the active alarm of (originator, type); `None` when there is none.
    pub fn clear(&mut self, originator: &str, alarm_type: &str, by: By<'_>) -> Option<AlarmChange> {
        let i = self.active_index(originator, alarm_type)?;
        self.all[i].active = false;
        Some(AlarmChange {
            change: ChangeKind::Cleared,
            alarm: self.all[i].clone(),
            by: by.to_owned(),
        })
    }

    /// The alarm with `id`, if any.
    pub fn by_id(&self, id: &str) -> Option<&AlarmInfo> {
        self.all.iter().find(|a| a.id == id)
    }

    /// Acknowledges an alarm; the change is `None` when it already was.
    pub fn acknowledge(
        &mut self,
        id: &str,
        by: By<'_>,
    ) -> Result<(AlarmInfo, Option<AlarmChange>), Error> {
        let alarm = self
            .all
            .iter_mut()
            .find(|a| a.id == id)
            .ok_or_else(|| Error::NotFound(format!("no alarm {id}")))?;
        if alarm.acknowledged {
            return Ok((alarm.clone(), None));
        }
        alarm.acknowledged = true;
        let change = AlarmChange {
            change: ChangeKind::Acknowledged,
            alarm: alarm.clone(),
            by: by.to_owned(),
        };
        Ok((alarm.clone(), Some(change)))
    }

    /// The active alarm of (originator, type), if any.
    pub fn active(&self, originator: &str, alarm_type: &str) -> Option<AlarmInfo> {
        self.active_index(originator, alarm_type)
            .map(|i| self.all[i].clone())
    }

    /// Active alarms that `keep` allows, newest first (by last seen), at most `limit`.
    pub fn list_active(&self, keep: impl Fn(&AlarmInfo) -> bool, limit: u32) -> Vec<AlarmInfo> {
        let mut active: Vec<AlarmInfo> = self
            .all
            .iter()
            .filter(|a| a.active && keep(a))
            .cloned()
            .collect();
        active.sort_by(|a, b| b.last_seen.cmp(&a.last_seen).then_with(|| a.id.cmp(&b.id)));
        active.truncate(limit.clamp(1, MAX_LIST) as usize);
        active
    }

    /// Every alarm ever raised, oldest first.
    pub fn all(&self) -> &[AlarmInfo] {
        &self.all
    }
}
