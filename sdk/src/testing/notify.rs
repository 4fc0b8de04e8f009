//! Messages the plugin sent, as the `notify` capability keeps them: each
//! audience resolved through the simulated map to the people it reaches,
//! escalation steps run by the simulated clock until someone acknowledges,
//! and the same checks, idempotency and states as on the host.
//!
//! Delivery itself (inboxes, gateways, quiet hours, bursts) is the host's
//! business and is not simulated: a message "reaches" the people its
//! audience resolves to at each step.

use std::collections::BTreeSet;

use super::map::CommunityMap;
use crate::map::Relation;
use crate::notify::{Audience, Message, MessageState, MessageStatus, Sent};
use crate::{Error, Severity, Timestamp};

const MAX_TITLE_BYTES: usize = 200;
const MAX_BODY_BYTES: usize = 4 * 1024;
const MAX_DATA_BYTES: usize = 16 * 1024;
const MAX_KEY_BYTES: usize = 200;
const MAX_STEPS: usize = 10;
const MAX_AUDIENCE_ENTRIES: usize = 50;
const MAX_STEP_DELAY_MS: u64 = 7 * 24 * 60 * 60 * 1000;
const MAX_RECIPIENTS: usize = 50_000;

/// One step of a message that ran: who it reached and when.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Step {
    /// 0 for the send, then 1, 2, … for each escalation step.
    pub number: u32,
    pub at: Timestamp,
    /// The people the step's audience resolved to, by id.
    pub people: BTreeSet<String>,
}

/// A message as the simulated host keeps it.
#[derive(Clone)]
pub struct SentMessage {
    /// The message id, as `notify.status` and acknowledgements name it.
    pub id: String,
    /// The message as the plugin sent it.
    pub message: Message,
    pub sent_at: Timestamp,
    /// The steps that ran, the send first.
    pub steps: Vec<Step>,
    pub state: MessageState,
    pub acknowledged_by: Option<String>,
    pub acknowledged_at: Option<Timestamp>,
    /// When the next escalation step runs, if one is pending.
    pub next_step_at: Option<Timestamp>,
}

impl SentMessage {
    /// The people the send itself reached (step 0).
    pub fn recipients(&self) -> &BTreeSet<String> {
        &self.steps[0].people
    }

    /// Everyone any step reached.
    pub fn reached(&self) -> BTreeSet<String> {
        self.steps
            .iter()
            .flat_map(|s| s.people.iter().cloned())
            .collect()
    }

    fn status(&self) -> MessageStatus {
        MessageStatus {
            id: self.id.clone(),
            state: self.state,
            steps_run: self.steps.len() as u32 - 1,
            acknowledged_by: self.acknowledged_by.clone(),
            acknowledged_at: self.acknowledged_at,
        }
    }
}

impl std::fmt::Debug for SentMessage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SentMessage")
            .field("id", &self.id)
            .field("topic", &self.message.topic)
            .field("severity", &self.message.severity)
            .field("title", &self.message.title)
            .field("steps", &self.steps)
            .field("state", &self.state)
            .finish()
    }
}

/// Every person `audience` names, each once, by id (the host's `resolve_all`).
pub(crate) fn resolve(
    audience: &[Audience],
    map: &CommunityMap,
) -> Result<BTreeSet<String>, Error> {
    let mut people = BTreeSet::new();
    for entry in audience {
        match entry {
            Audience::Person(id) => {
                if map.person(id).is_none() {
                    return Err(Error::NotFound(format!("no person {id} in the map")));
                }
                people.insert(id.clone());
            }
            Audience::Related(related) => {
                let needs_scope = match related.relation {
                    Relation::Resident => Some("residents"),
                    Relation::Owner => Some("owners"),
                    Relation::Family => Some("family"),
                    Relation::Role(_) => None,
                };
                if let (Some(what), None) = (needs_scope, &related.scope) {
                    return Err(Error::Invalid(format!("audience: {what} need a scope")));
                }
                let found = map.related(related.relation, related.scope.as_deref())?;
                people.extend(found.into_iter().map(|p| p.id));
            }
        }
    }
    if people.len() > MAX_RECIPIENTS {
        return Err(Error::Invalid(format!(
            "audience reaches {} people; at most {MAX_RECIPIENTS} per step",
            people.len()
        )));
    }
    Ok(people)
}

fn check_text(field: &str, text: &str, max: usize, may_be_empty: bool) -> Result<(), Error> {
    if (text.is_empty() && !may_be_empty) || text.len() > max {
        let least = if may_be_empty { 0 } else { 1 };
        return Err(Error::Invalid(format!(
            "{field}: must be {least}-{max} bytes"
        )));
    }
    Ok(())
}

/// Checks everything about a message that needs neither the grant nor the map.
pub(crate) fn check(message: &Message) -> Result<(), Error> {
    check_text("title", &message.title, MAX_TITLE_BYTES, false)?;
    check_text("body", &message.body, MAX_BODY_BYTES, true)?;
    check_text(
        "idempotency-key",
        &message.idempotency_key,
        MAX_KEY_BYTES,
        false,
    )?;
    check_text("data", &message.data, MAX_DATA_BYTES, false)?;
    serde_json::from_str::<serde_json::Value>(&message.data)
        .map_err(|e| Error::Invalid(format!("data: must be JSON: {e}")))?;
    let audience_fits = |a: &[Audience]| !a.is_empty() && a.len() <= MAX_AUDIENCE_ENTRIES;
    if !audience_fits(&message.audience) {
        return Err(Error::Invalid(format!(
            "audience: must name 1-{MAX_AUDIENCE_ENTRIES} entries"
        )));
    }
    if !message.escalation.is_empty() && !message.require_ack {
        return Err(Error::Invalid(
            "escalation: needs require-ack: a step runs until someone acknowledges".to_owned(),
        ));
    }
    if message.escalation.len() > MAX_STEPS {
        return Err(Error::Invalid(format!(
            "escalation: has at most {MAX_STEPS} steps"
        )));
    }
    for (i, step) in message.escalation.iter().enumerate() {
        if step.after_ms > MAX_STEP_DELAY_MS {
            return Err(Error::Invalid(format!(
                "escalation[{i}].after-ms: must be at most {MAX_STEP_DELAY_MS} (a week)"
            )));
        }
        if !audience_fits(&step.audience) {
            return Err(Error::Invalid(format!(
                "escalation[{i}].audience: must name 1-{MAX_AUDIENCE_ENTRIES} entries"
            )));
        }
    }
    Ok(())
}

/// Whether a topic is spelled as the host spells topics.
pub(crate) fn check_topic(topic: &str) -> Result<(), Error> {
    super::check_slug("topic", topic)
}

/// Every message the plugin sent, oldest first.
#[derive(Debug, Clone, Default)]
pub(crate) struct Messages {
    sent: Vec<SentMessage>,
}

impl Messages {
    /// Records a message already checked against the grant and resolved; a
    /// used idempotency key answers with the earlier message.
    pub fn send(
        &mut self,
        message: &Message,
        map: &CommunityMap,
        now: Timestamp,
        new_id: impl FnOnce() -> String,
    ) -> Result<Sent, Error> {
        for step in &message.escalation {
            resolve(&step.audience, map)?;
        }
        let people = resolve(&message.audience, map)?;
        if let Some(earlier) = self
            .sent
            .iter()
            .find(|m| m.message.idempotency_key == message.idempotency_key)
        {
            return Ok(Sent {
                id: earlier.id.clone(),
                recipients: earlier.recipients().len() as u32,
                replayed: true,
            });
        }
        let id = new_id();
        let sent = Sent {
            id: id.clone(),
            recipients: people.len() as u32,
            replayed: false,
        };
        self.sent.push(SentMessage {
            id,
            message: message.clone(),
            sent_at: now,
            steps: vec![Step {
                number: 0,
                at: now,
                people,
            }],
            state: MessageState::Open,
            acknowledged_by: None,
            acknowledged_at: None,
            next_step_at: message
                .escalation
                .first()
                .map(|s| now.saturating_add(s.after_ms as i64)),
        });
        Ok(sent)
    }

    fn find(&self, id: &str) -> Result<usize, Error> {
        self.sent
            .iter()
            .position(|m| m.id == id)
            .ok_or_else(|| Error::NotFound(format!("no message {id} sent by this plugin")))
    }

    pub fn status(&self, id: &str) -> Result<MessageStatus, Error> {
        Ok(self.sent[self.find(id)?].status())
    }

    /// Stops a message's escalation; whether it was open (or had run out unacknowledged).
    pub fn cancel(&mut self, id: &str) -> Result<bool, Error> {
        let i = self.find(id)?;
        let message = &mut self.sent[i];
        let open = matches!(
            message.state,
            MessageState::Open | MessageState::Unacknowledged
        );
        if open {
            message.state = MessageState::Cancelled;
            message.next_step_at = None;
        }
        Ok(open)
    }

    /// Records `person`'s acknowledgement; `Ok(None)` when someone already had.
    pub fn acknowledge(
        &mut self,
        id: &str,
        person: &str,
        now: Timestamp,
    ) -> Result<Option<&SentMessage>, Error> {
        let i = self.find(id)?;
        let message = &mut self.sent[i];
        if !message.message.require_ack {
            return Err(Error::Invalid(format!(
                "message {id} does not ask for an acknowledgement"
            )));
        }
        match message.state {
            MessageState::Cancelled => Err(Error::Invalid(format!("message {id} was cancelled"))),
            MessageState::Acknowledged => Ok(None),
            MessageState::Open | MessageState::Unacknowledged => {
                message.state = MessageState::Acknowledged;
                message.acknowledged_by = Some(person.to_owned());
                message.acknowledged_at = Some(now);
                message.next_step_at = None;
                Ok(Some(&self.sent[i]))
            }
        }
    }

    /// When the next escalation step of any message is due.
    pub fn next_step_due(&self) -> Option<Timestamp> {
        self.sent.iter().filter_map(|m| m.next_step_at).min()
    }

    /// Runs every escalation step due at `now`, as the host's delivery worker does.
    pub fn escalate(&mut self, map: &CommunityMap, now: Timestamp) {
        for message in &mut self.sent {
            while message.next_step_at.is_some_and(|at| at <= now)
                && message.state == MessageState::Open
            {
                let index = message.steps.len() - 1;
                let Some(step) = message.message.escalation.get(index) else {
                    message.next_step_at = None;
                    break;
                };
                // An audience that no longer resolves reaches nobody, as on the host.
                let people = resolve(&step.audience, map).unwrap_or_default();
                message.steps.push(Step {
                    number: index as u32 + 1,
                    at: now,
                    people,
                });
                message.next_step_at = message
                    .message
                    .escalation
                    .get(index + 1)
                    .map(|next| now.saturating_add(next.after_ms as i64));
                if message.next_step_at.is_none() {
                    message.state = MessageState::Unacknowledged;
                }
            }
        }
    }

    /// Every message sent, oldest first.
    pub fn all(&self) -> &[SentMessage] {
        &self.sent
    }
}

/// Whether a message of `severity` is critical (and so needs `critical = true`).
pub(crate) fn is_critical(severity: Severity) -> bool {
    severity == Severity::Critical
}
