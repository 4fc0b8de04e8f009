//! Who is told, and the messages they get. Audiences are named by relation
//! (residents of a place, holders of a role for a place) so the host
//! resolves them from the map; every message carries an idempotency key
//! derived from its alarm or work order, so a repeat never reaches anyone twice.

use linli_sdk::map::{self, Relation};
use linli_sdk::notify::{self, Audience, EscalationStep, Message};
use linli_sdk::{audience, Error, Severity};
use serde_json::{json, Value as Json};

use crate::config::{Config, Supervisor};

/// The staff responsible for `place`: the work orders' role.
pub fn staff(config: &Config, place: Option<&str>) -> Audience {
    audience::role(config.work_orders.role.community_role(), place)
}

/// The supervisor: one person, or the holders of a role with no scope (the
/// community-wide ones). If nobody holds the role community-wide, every
/// holder is told rather than nobody.
pub fn supervisor(config: &Config) -> Result<Vec<Audience>, Error> {
    match &config.work_orders.supervisor {
        Supervisor::Person(person) => Ok(vec![Audience::Person(person.clone())]),
        Supervisor::Role(staff_role) => {
            let community_role = staff_role.community_role();
            let holders = map::people(Relation::Role(community_role), None)?;
            let community_wide: Vec<Audience> = holders
                .into_iter()
                .filter(|p| {
                    p.roles
                        .iter()
                        .any(|r| r.role == community_role && r.scope.is_none())
                })
                .map(|p| Audience::Person(p.id))
                .collect();
            if community_wide.is_empty() {
                Ok(vec![audience::role(community_role, None)])
            } else {
                Ok(community_wide)
            }
        }
    }
}

/// A message about to be sent.
pub struct Notice {
    pub topic: &'static str,
    pub severity: Severity,
    pub title: String,
    pub body: String,
    pub data: Json,
    pub key: String,
}

impl Notice {
    /// Sends it to `audience`; returns the message id.
    pub fn send(self, audience: Vec<Audience>) -> Result<String, Error> {
        self.send_with(audience, Vec::new())
    }

    /// Sends it to `staff` with the id of the work order they are to take
    /// on, waiting for one of them to acknowledge; when nobody does within
    /// the configured time, the supervisor is told too.
    pub fn alert_staff(
        mut self,
        config: &Config,
        work_order: &str,
        staff: Vec<Audience>,
    ) -> Result<String, Error> {
        self.data["work_order"] = json!(work_order);
        self.send_with(
            staff,
            vec![EscalationStep {
                after_ms: config.staff_ack_ms,
                audience: supervisor(config)?,
            }],
        )
    }

    fn send_with(
        self,
        audience: Vec<Audience>,
        escalation: Vec<EscalationStep>,
    ) -> Result<String, Error> {
        let sent = notify::send(&Message {
            audience,
            severity: self.severity,
            topic: self.topic.to_owned(),
            title: self.title,
            body: self.body,
            data: self.data.to_string(),
            idempotency_key: self.key,
            require_ack: !escalation.is_empty(),
            escalation,
        })?;
        Ok(sent.id)
    }
}
