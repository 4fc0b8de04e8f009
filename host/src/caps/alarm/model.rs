//! The alarm model, free of storage: what raising, acknowledging and
//! clearing do to an alarm. Plugin calls, operator requests and the
//! platform's own monitor all go through these rules.

use serde::{Deserialize, Serialize};

use crate::clock::Millis;
use crate::ids::AlarmId;

/// How urgent an alarm is; the order is most urgent first.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Serialize,
    Deserialize,
    utoipa::ToSchema,
)]
#[serde(rename_all = "kebab-case")]
pub enum Severity {
    Critical,
    Major,
    Minor,
    Warning,
    Info,
}

impl Severity {
    pub const ALL: [Severity; 5] = [
        Severity::Critical,
        Severity::Major,
        Severity::Minor,
        Severity::Warning,
        Severity::Info,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Critical => "critical",
            Severity::Major => "major",
            Severity::Minor => "minor",
            Severity::Warning => "warning",
            Severity::Info => "info",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|v| v.as_str() == s)
    }
}

/// One alarm as stored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Alarm {
    pub id: AlarmId,
    /// What the alarm is about: a device id, a place, a person or a name the raiser chose.
    pub originator: String,
    pub alarm_type: String,
    pub severity: Severity,
    /// False once cleared.
    pub active: bool,
    pub acknowledged: bool,
    /// Raises while active.
    pub count: i64,
    pub first_seen: Millis,
    pub last_seen: Millis,
    /// Details from the latest raise.
    #[schema(value_type = Object)]
    pub details: serde_json::Value,
    /// The plugin that raised it, or `platform`.
    pub raised_by: String,
    /// Where the originator is placed, when known.
    pub location: Option<String>,
    pub acked_by: Option<String>,
    pub acked_at: Option<Millis>,
    pub cleared_by: Option<String>,
    pub cleared_at: Option<Millis>,
}

/// What happened to an alarm.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "kebab-case")]
pub enum ChangeKind {
    Raised,
    Updated,
    Acknowledged,
    Cleared,
}

impl ChangeKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ChangeKind::Raised => "raised",
            ChangeKind::Updated => "updated",
            ChangeKind::Acknowledged => "acknowledged",
            ChangeKind::Cleared => "cleared",
        }
    }
}

/// A change to an alarm, as recorded in the community feed and delivered to watching plugins.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct AlarmChange {
    pub change: ChangeKind,
    pub alarm: Alarm,
    /// A plugin id, a token subject, or `platform`.
    pub by: String,
}

/// A request to raise (or update) the alarm of (originator, type).
#[derive(Debug, Clone, PartialEq)]
pub struct Raise {
    pub originator: String,
    pub alarm_type: String,
    pub severity: Severity,
    pub details: serde_json::Value,
    /// A plugin id, or [`PLATFORM`].
    pub raiser: String,
}

/// Who changes alarms that the host raises itself.
pub const PLATFORM: &str = "platform";

impl Raise {
    /// A raise by the host itself: a device gone quiet or low on battery,
    /// an installation suspended.
    pub fn by_platform(
        originator: &str,
        alarm_type: &str,
        severity: Severity,
        details: serde_json::Value,
    ) -> Raise {
        Raise {
            originator: originator.to_owned(),
            alarm_type: alarm_type.to_owned(),
            severity,
            details,
            raiser: PLATFORM.to_owned(),
        }
    }

    /// The alarm after this raise, given the active alarm of the same
    /// (originator, type) if there is one. A new alarm gets `new_id` and
    /// `location`.
    ///
    /// Raising an active alarm updates it: the count, the last-seen time and
    /// the details. Its severity may rise on any raise but only its raiser may
    /// lower it (a second plugin reporting the same fault mildly does not calm
    /// it down). A rise in severity asks for a fresh acknowledgement.
    pub fn apply(
        &self,
        active: Option<&Alarm>,
        new_id: impl FnOnce() -> AlarmId,
        location: Option<String>,
        at: Millis,
    ) -> (Alarm, ChangeKind) {
        match active.filter(|a| a.active) {
            Some(current) => {
                let severity =
                    if self.severity < current.severity || self.raiser == current.raised_by {
                        self.severity
                    } else {
                        current.severity
                    };
                let escalated = severity < current.severity;
                let mut updated = current.clone();
                updated.severity = severity;
                updated.count += 1;
                updated.last_seen = at.max(current.last_seen);
                updated.details = self.details.clone();
                if escalated {
                    updated.acknowledged = false;
                    updated.acked_by = None;
                    updated.acked_at = None;
                }
                (updated, ChangeKind::Updated)
            }
            None => (
                Alarm {
                    id: new_id(),
                    originator: self.originator.clone(),
                    alarm_type: self.alarm_type.clone(),
                    severity: self.severity,
                    active: true,
                    acknowledged: false,
                    count: 1,
                    first_seen: at,
                    last_seen: at,
                    details: self.details.clone(),
                    raised_by: self.raiser.clone(),
                    location,
                    acked_by: None,
                    acked_at: None,
                    cleared_by: None,
                    cleared_at: None,
                },
                ChangeKind::Raised,
            ),
        }
    }
}

impl Alarm {
    /// The alarm acknowledged by `by`; `None` when it already was.
    pub fn acknowledge(&self, by: &str, at: Millis) -> Option<Alarm> {
        (!self.acknowledged).then(|| Alarm {
            acknowledged: true,
            acked_by: Some(by.to_owned()),
            acked_at: Some(at),
            ..self.clone()
        })
    }

    /// The alarm cleared by `by`; `None` when it already was.
    pub fn clear(&self, by: &str, at: Millis) -> Option<Alarm> {
        self.active.then(|| Alarm {
            active: false,
            cleared_by: Some(by.to_owned()),
            cleared_at: Some(at),
            ..self.clone()
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn raise(severity: Severity, raiser: &str) -> Raise {
        Raise {
            originator: "smoke-3-201".to_owned(),
            alarm_type: "fire-suspected".to_owned(),
            severity,
            details: serde_json::json!({}),
            raiser: raiser.to_owned(),
        }
    }

    fn raised(severity: Severity) -> Alarm {
        raise(severity, "fire-safety")
            .apply(None, || "alm_1".into(), None, 1_000)
            .0
    }

    #[test]
    fn a_second_raise_updates_the_active_alarm() {
        let first = raised(Severity::Major);
        let (second, change) = raise(Severity::Major, "fire-safety").apply(
            Some(&first),
            || unreachable!("an active alarm keeps its id"),
            None,
            2_000,
        );
        assert_eq!(change, ChangeKind::Updated);
        assert_eq!((second.id.as_str(), second.count), ("alm_1", 2));
        assert_eq!((second.first_seen, second.last_seen), (1_000, 2_000));
    }

    #[test]
    fn a_raise_after_a_clear_starts_a_new_alarm() {
        let cleared = raised(Severity::Major).clear("op", 1_500).unwrap();
        let (again, change) = raise(Severity::Major, "fire-safety").apply(
            Some(&cleared),
            || "alm_2".into(),
            None,
            2_000,
        );
        assert_eq!(change, ChangeKind::Raised);
        assert_eq!((again.id.as_str(), again.count), ("alm_2", 1));
    }

    #[test]
    fn only_the_raiser_lowers_severity_and_escalation_needs_a_new_ack() {
        let acked = raised(Severity::Major).acknowledge("op", 1_100).unwrap();
        let (kept, _) =
            raise(Severity::Info, "another").apply(Some(&acked), || unreachable!(), None, 2_000);
        assert_eq!(kept.severity, Severity::Major);
        assert!(
            kept.acknowledged,
            "an update that does not escalate keeps the ack"
        );
        let (lowered, _) = raise(Severity::Minor, "fire-safety").apply(
            Some(&acked),
            || unreachable!(),
            None,
            2_000,
        );
        assert_eq!(lowered.severity, Severity::Minor);
        let (escalated, _) = raise(Severity::Critical, "another").apply(
            Some(&acked),
            || unreachable!(),
            None,
            2_000,
        );
        assert_eq!(escalated.severity, Severity::Critical);
        assert!(!escalated.acknowledged && escalated.acked_by.is_none());
    }

    #[test]
    fn ack_and_clear_happen_once() {
        let alarm = raised(Severity::Minor);
        let acked = alarm.acknowledge("op", 1_100).unwrap();
        assert_eq!(acked.acked_by.as_deref(), Some("op"));
        assert!(acked.acknowledge("op2", 1_200).is_none());
        let cleared = acked.clear("op", 1_300).unwrap();
        assert!(!cleared.active && cleared.acknowledged);
        assert!(cleared.clear("op", 1_400).is_none());
    }
}
