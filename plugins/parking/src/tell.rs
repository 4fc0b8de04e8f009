//! Messages to parkers, staff and security. The notify grant is optional:
//! without it (or without a topic, or critical sending) the scene still
//! raises its alarms, which reach staff through the alarm list, and a
//! parker finds their reservation's state through `my-reservations`.

use linli_sdk::audience;
use linli_sdk::map::CommunityRole;
use linli_sdk::notify::{self, Audience, Message};
use linli_sdk::{grants, Error, Severity};
use serde_json::Value as Json;

pub const RESERVATION: &str = "parking-reservation";
pub const OVERSTAY: &str = "parking-overstay";
pub const OFFER: &str = "parking-offer";
pub const UNAUTHORISED: &str = "parking-unauthorised";
pub const FIRE_LANE: &str = "fire-lane-blocked";

/// One message; sent only if the installation may send it.
pub struct Note {
    pub audience: Vec<Audience>,
    pub severity: Severity,
    pub topic: &'static str,
    pub title: String,
    pub body: String,
    pub data: Json,
    /// Makes a handler run twice send once.
    pub key: String,
}

impl Note {
    /// To one person.
    pub fn to_person(person: &str, topic: &'static str, key: String) -> Self {
        Self::to(vec![audience::person(person)], topic, key)
    }

    /// To the holders of `role` for `place` (or every holder without a place).
    pub fn to_role(
        role: CommunityRole,
        place: Option<&str>,
        topic: &'static str,
        key: String,
    ) -> Self {
        Self::to(vec![audience::role(role, place)], topic, key)
    }

    fn to(audience: Vec<Audience>, topic: &'static str, key: String) -> Self {
        Self {
            audience,
            severity: Severity::Info,
            topic,
            title: String::new(),
            body: String::new(),
            data: Json::Object(Default::default()),
            key,
        }
    }

    pub fn severity(mut self, severity: Severity) -> Self {
        self.severity = severity;
        self
    }

    pub fn saying(mut self, title: String, body: String, data: Json) -> Self {
        self.title = title;
        self.body = body;
        self.data = data;
        self
    }

    /// Sends it if the grant allows; returns the message id, or `None` when
    /// it was not sent for want of a grant.
    pub fn send(self) -> Result<Option<String>, Error> {
        if !may_send(self.topic, self.severity) {
            return Ok(None);
        }
        let sent = notify::send(&Message {
            audience: self.audience,
            severity: self.severity,
            topic: self.topic.to_owned(),
            title: self.title,
            body: self.body,
            data: self.data.to_string(),
            idempotency_key: self.key,
            require_ack: false,
            escalation: Vec::new(),
        })?;
        Ok(Some(sent.id))
    }
}

fn may_send(topic: &str, severity: Severity) -> bool {
    grants::granted().notify.is_some_and(|grant| {
        (severity != Severity::Critical || grant.critical)
            && grant.topics.iter().any(|t| t == "*" || t == topic)
    })
}
