//! What a notification is, free of storage and delivery: the audience a
//! plugin names, the message with its escalation policy, and the checks a
//! message must pass before the host takes it.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

use crate::caps::alarm::model::Severity;
use crate::caps::map::model::{CommunityMap, CommunityRole, QueryError, Relation};
use crate::clock::Millis;
use crate::ids::{MessageId, PersonId};
use crate::validation::Invalid;

/// Longest title, in bytes.
pub const MAX_TITLE_BYTES: usize = 200;
/// Longest body, in bytes.
pub const MAX_BODY_BYTES: usize = 4 * 1024;
/// Longest structured data (JSON), in bytes.
pub const MAX_DATA_BYTES: usize = 16 * 1024;
/// Longest idempotency key, in bytes.
pub const MAX_KEY_BYTES: usize = 200;
/// Most escalation steps of one message.
pub const MAX_STEPS: usize = 10;
/// Most audience entries in one step.
pub const MAX_AUDIENCE_ENTRIES: usize = 50;
/// Longest wait before an escalation step: a week.
pub const MAX_STEP_DELAY_MS: u64 = 7 * 24 * 60 * 60 * 1000;
/// Most people one step may reach.
pub const MAX_RECIPIENTS: usize = 50_000;

/// Who a message is for: a person, or the people tied to a place or person.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(tag = "kind", rename_all = "kebab-case", deny_unknown_fields)]
pub enum Audience {
    Person {
        person: String,
    },
    /// Residents of households at or under a place.
    Residents {
        scope: String,
    },
    /// Owners of units at or under a place.
    Owners {
        scope: String,
    },
    /// Family of a person.
    Family {
        of: String,
    },
    /// Holders of a role for a place (community-wide holders included), or every holder.
    Role {
        role: CommunityRole,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        scope: Option<String>,
    },
}

impl Audience {
    /// The people this audience names in `map`.
    pub fn resolve(&self, map: &CommunityMap) -> Result<Vec<PersonId>, QueryError> {
        let related = |relation, scope: Option<&str>| {
            map.related(relation, scope)
                .map(|people| people.into_iter().map(|p| p.id.clone()).collect())
        };
        match self {
            Audience::Person { person } => person
                .parse::<PersonId>()
                .ok()
                .filter(|id| map.person(id).is_some())
                .map(|id| vec![id])
                .ok_or_else(|| QueryError::NotFound(format!("no person {person} in the map"))),
            Audience::Residents { scope } => related(Relation::Resident, Some(scope)),
            Audience::Owners { scope } => related(Relation::Owner, Some(scope)),
            Audience::Family { of } => related(Relation::Family, Some(of)),
            Audience::Role { role, scope } => related(Relation::Role(*role), scope.as_deref()),
        }
    }
}

/// Every person named by `audience`, each once, by id.
pub fn resolve_all(
    audience: &[Audience],
    map: &CommunityMap,
) -> Result<BTreeSet<PersonId>, QueryError> {
    let mut people = BTreeSet::new();
    for entry in audience {
        people.extend(entry.resolve(map)?);
    }
    if people.len() > MAX_RECIPIENTS {
        return Err(QueryError::Invalid(format!(
            "audience reaches {} people; at most {MAX_RECIPIENTS} per step",
            people.len()
        )));
    }
    Ok(people)
}

/// One escalation step: with nobody having acknowledged `after_ms` after the
/// previous step (or the send), the message also goes to `audience`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EscalationStep {
    pub after_ms: u64,
    pub audience: Vec<Audience>,
}

/// A message a plugin sends.
#[derive(Debug, Clone, PartialEq)]
pub struct Outgoing {
    /// Chosen by the host when the plugin sends it.
    pub id: MessageId,
    pub audience: Vec<Audience>,
    pub severity: Severity,
    pub topic: String,
    pub title: String,
    pub body: String,
    /// JSON.
    pub data: String,
    pub idempotency_key: String,
    pub require_ack: bool,
    pub escalation: Vec<EscalationStep>,
}

fn topic_rule() -> &'static str {
    "1-64 characters of a-z, 0-9 or '-'"
}

/// Checks a topic's spelling.
pub fn check_topic(topic: &str) -> Result<(), Invalid> {
    if crate::caps::is_slug(topic, 64) {
        Ok(())
    } else {
        Err(Invalid::new("topic", format!("must be {}", topic_rule())))
    }
}

fn check_text(field: &str, text: &str, max: usize, may_be_empty: bool) -> Result<(), Invalid> {
    if (text.is_empty() && !may_be_empty) || text.len() > max {
        let least = if may_be_empty { 0 } else { 1 };
        return Err(Invalid::new(field, format!("must be {least}-{max} bytes")));
    }
    Ok(())
}

impl Outgoing {
    /// Checks everything about the message that does not need the map.
    pub fn check(&self) -> Result<(), Invalid> {
        check_topic(&self.topic)?;
        check_text("title", &self.title, MAX_TITLE_BYTES, false)?;
        check_text("body", &self.body, MAX_BODY_BYTES, true)?;
        check_text(
            "idempotency-key",
            &self.idempotency_key,
            MAX_KEY_BYTES,
            false,
        )?;
        check_text("data", &self.data, MAX_DATA_BYTES, false)?;
        serde_json::from_str::<serde_json::Value>(&self.data)
            .map_err(|e| Invalid::new("data", format!("must be JSON: {e}")))?;
        check_audience("audience", &self.audience)?;
        if !self.escalation.is_empty() && !self.require_ack {
            return Err(Invalid::new(
                "escalation",
                "needs require-ack: a step runs until someone acknowledges",
            ));
        }
        if self.escalation.len() > MAX_STEPS {
            return Err(Invalid::new(
                "escalation",
                format!("has at most {MAX_STEPS} steps"),
            ));
        }
        for (i, step) in self.escalation.iter().enumerate() {
            if step.after_ms > MAX_STEP_DELAY_MS {
                return Err(Invalid::new(
                    format!("escalation[{i}].after-ms"),
                    format!("must be at most {MAX_STEP_DELAY_MS} (a week)"),
                ));
            }
            check_audience(&format!("escalation[{i}].audience"), &step.audience)?;
        }
        Ok(())
    }
}

fn check_audience(field: &str, audience: &[Audience]) -> Result<(), Invalid> {
    if audience.is_empty() || audience.len() > MAX_AUDIENCE_ENTRIES {
        return Err(Invalid::new(
            field,
            format!("must name 1-{MAX_AUDIENCE_ENTRIES} entries"),
        ));
    }
    Ok(())
}

/// Where a message stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "kebab-case")]
pub enum MessageState {
    /// Being delivered; waiting for an acknowledgement if it requires one.
    Open,
    Acknowledged,
    /// Its escalation ran out with nobody acknowledging.
    Unacknowledged,
    /// The sending plugin stopped it.
    Cancelled,
}

impl MessageState {
    pub fn as_str(self) -> &'static str {
        match self {
            MessageState::Open => "open",
            MessageState::Acknowledged => "acknowledged",
            MessageState::Unacknowledged => "unacknowledged",
            MessageState::Cancelled => "cancelled",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [
            MessageState::Open,
            MessageState::Acknowledged,
            MessageState::Unacknowledged,
            MessageState::Cancelled,
        ]
        .into_iter()
        .find(|v| v.as_str() == s)
    }
}

/// Where one delivery stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "kebab-case")]
pub enum DeliveryState {
    /// Waiting for its time: quiet hours, or the next retry.
    Pending,
    Delivered,
    /// Every retry failed.
    Dead,
    /// Held back: too many messages of this topic to this person on this channel.
    Suppressed,
    /// The message was acknowledged or cancelled before this delivery went out.
    Cancelled,
}

impl DeliveryState {
    pub fn as_str(self) -> &'static str {
        match self {
            DeliveryState::Pending => "pending",
            DeliveryState::Delivered => "delivered",
            DeliveryState::Dead => "dead",
            DeliveryState::Suppressed => "suppressed",
            DeliveryState::Cancelled => "cancelled",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [
            DeliveryState::Pending,
            DeliveryState::Delivered,
            DeliveryState::Dead,
            DeliveryState::Suppressed,
            DeliveryState::Cancelled,
        ]
        .into_iter()
        .find(|v| v.as_str() == s)
    }
}

/// The channel every person has: the inbox of the community app.
pub const INBOX: &str = "inbox";

/// When the next retry of a delivery that failed `attempts` times is due:
/// `base_ms` doubled per attempt, at most `max_ms`.
pub fn retry_delay(attempts: u32, base_ms: Millis, max_ms: Millis) -> Millis {
    let doubling = attempts.saturating_sub(1).min(30);
    base_ms.saturating_mul(1 << doubling).min(max_ms)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message() -> Outgoing {
        Outgoing {
            id: "msg_1".into(),
            audience: vec![Audience::Person {
                person: "person-001".into(),
            }],
            severity: Severity::Critical,
            topic: "fall".into(),
            title: "Fall detected".into(),
            body: String::new(),
            data: "{}".into(),
            idempotency_key: "fall-1".into(),
            require_ack: true,
            escalation: vec![],
        }
    }

    #[test]
    fn a_message_names_its_bad_field() {
        assert_eq!(message().check(), Ok(()));
        let bad = Outgoing {
            topic: "Fall!".into(),
            ..message()
        };
        assert_eq!(bad.check().unwrap_err().field, "topic");
        let bad = Outgoing {
            data: "{not json".into(),
            ..message()
        };
        assert_eq!(bad.check().unwrap_err().field, "data");
        let bad = Outgoing {
            escalation: vec![EscalationStep {
                after_ms: 60_000,
                audience: vec![],
            }],
            ..message()
        };
        assert_eq!(
            bad.check().unwrap_err(),
            Invalid::new(
                "escalation[0].audience",
                format!("must name 1-{MAX_AUDIENCE_ENTRIES} entries")
            )
        );
        let bad = Outgoing {
            require_ack: false,
            escalation: message_steps(),
            ..message()
        };
        assert!(bad.check().unwrap_err().reason.contains("require-ack"));
    }

    fn message_steps() -> Vec<EscalationStep> {
        vec![EscalationStep {
            after_ms: 1,
            audience: message().audience,
        }]
    }

    #[test]
    fn retries_back_off_exponentially_up_to_a_cap() {
        let delays: Vec<_> = (1..=6).map(|a| retry_delay(a, 1_000, 10_000)).collect();
        assert_eq!(delays, [1_000, 2_000, 4_000, 8_000, 10_000, 10_000]);
        assert_eq!(retry_delay(200, 1_000, 3_600_000), 3_600_000);
    }
}
