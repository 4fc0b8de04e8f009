//! Messages to people through the host's `notify` capability: who hears
//! what. The host resolves audiences from the map, delivers on each
//! person's channels and runs escalations; the plugin only names them.
//!
//! Topics: `timebank-offer` (a request offered to a volunteer),
//! `timebank-update` (a request's progress, to the other side),
//! `heart-rate`, `fall`, `sos`, `welfare-check` (safety alerts, which wait
//! for an acknowledgement and escalate).

use linli_sdk::notify::{self, Audience, EscalationStep, Message, Sent};
use linli_sdk::{audience, Error, Severity};
use serde_json::Value as Json;

pub const OFFER: &str = "timebank-offer";
pub const UPDATE: &str = "timebank-update";

/// An informational message to one person; `key` makes a repeat send once.
pub fn tell(
    to: &str,
    topic: &str,
    title: &str,
    body: &str,
    data: &Json,
    key: &str,
) -> Result<(), Error> {
    notify::send(&Message {
        audience: vec![audience::person(to)],
        severity: Severity::Info,
        topic: topic.to_owned(),
        title: title.to_owned(),
        body: body.to_owned(),
        data: data.to_string(),
        idempotency_key: key.to_owned(),
        require_ack: false,
        escalation: Vec::new(),
    })?;
    Ok(())
}

/// What a safety alert says and to whom, step by step.
pub struct Alert<'a> {
    pub topic: &'a str,
    pub severity: Severity,
    pub title: String,
    pub body: String,
    pub data: Json,
    pub key: String,
    /// Told at once.
    pub first: Vec<Audience>,
    /// Each told `every_ms` after the previous step while nobody has acknowledged.
    pub then: Vec<Vec<Audience>>,
    pub every_ms: u64,
}

/// Sends an alert that waits for an acknowledgement and escalates until one comes.
pub fn alert(alert: Alert) -> Result<Sent, Error> {
    notify::send(&Message {
        audience: alert.first,
        severity: alert.severity,
        topic: alert.topic.to_owned(),
        title: alert.title,
        body: alert.body,
        data: alert.data.to_string(),
        idempotency_key: alert.key,
        require_ack: true,
        escalation: alert
            .then
            .into_iter()
            .map(|audience| EscalationStep {
                after_ms: alert.every_ms,
                audience,
            })
            .collect(),
    })
}

/// Stops an alert's escalation: the situation was handled or resolved itself.
pub fn stop(message: &str) -> Result<(), Error> {
    notify::cancel(message)?;
    Ok(())
}
