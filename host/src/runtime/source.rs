//! The events an actor delivers, by where they come from: the reading log,
//! the community feed, timers and lifecycle changes. Where an event comes
//! from decides how handling it advances the installation.

use serde_json::json;

use super::progress::Position;
use crate::caps::alarm::model::AlarmChange;
use crate::caps::notify::rows::Acknowledgement;
use crate::caps::sensor::Reading;
use crate::caps::timer::DueTimer;
use crate::wit::linli::platform::events::{Event, Lifecycle, TimerFired};

/// Where an event came from, and so how handling it advances the installation.
pub enum Source {
    Reading(Reading),
    Timer(DueTimer),
    Lifecycle(Lifecycle),
    Alarm { seq: i64, change: AlarmChange },
    Acknowledged { seq: i64, ack: Acknowledgement },
}

impl Source {
    pub fn event(&self) -> Event {
        match self {
            Source::Reading(r) => Event::Reading(r.to_wit()),
            Source::Timer(timer) => Event::TimerFired(TimerFired {
                tag: timer.tag.clone(),
                due: timer.schedule.due_at,
            }),
            Source::Lifecycle(l) => Event::Lifecycle(*l),
            Source::Alarm { change, .. } => Event::AlarmChanged(change.to_wit()),
            Source::Acknowledged { ack, .. } => Event::NotificationAcknowledged(ack.clone().into()),
        }
    }

    /// The stream this event comes from and its place in it, for events read from one.
    pub fn position(&self) -> Option<(Position, i64)> {
        match self {
            Source::Reading(r) => Some((Position::Log, r.seq)),
            Source::Alarm { seq, .. } | Source::Acknowledged { seq, .. } => {
                Some((Position::Feed, *seq))
            }
            Source::Timer(_) | Source::Lifecycle(_) => None,
        }
    }

    pub fn to_json(&self) -> serde_json::Value {
        match self {
            Source::Reading(r) => json!({ "reading": r }),
            Source::Timer(timer) => {
                json!({ "timer-fired": { "tag": timer.tag, "due": timer.schedule.due_at } })
            }
            Source::Lifecycle(l) => json!({ "lifecycle": format!("{l:?}").to_lowercase() }),
            Source::Alarm { change, .. } => json!({ "alarm-changed": change }),
            Source::Acknowledged { ack, .. } => json!({ "notification-acknowledged": ack }),
        }
    }
}
