//! The events an actor delivers, by where they come from: the reading log,
//! the community feed, timers, lifecycle changes and dead letters retried. Where an event comes
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
    Alarm {
        seq: i64,
        change: AlarmChange,
    },
    Acknowledged {
        seq: i64,
        ack: Acknowledgement,
    },
    /// The community erased a person (every installation receives it).
    PersonErased {
        seq: i64,
        person: String,
    },
    /// A dead-lettered event delivered again at an admin's request; handling
    /// it (or dead-lettering it anew) takes the old dead letter away.
    Retry {
        dead_letter: i64,
        event: Event,
        /// The event as the dead letter holds it.
        original: serde_json::Value,
    },
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
            Source::PersonErased { person, .. } => Event::PersonErased(person.clone()),
            Source::Retry { event, .. } => event.clone(),
        }
    }

    /// The event a dead letter holds (as [`Source::to_json`] wrote it),
    /// to be delivered again; an error names what could not be read.
    pub fn retry(dead_letter: i64, original: serde_json::Value) -> Result<Self, String> {
        fn part<T: serde::de::DeserializeOwned>(value: &serde_json::Value) -> Result<T, String> {
            T::deserialize(value).map_err(|e| e.to_string())
        }
        let (kind, body) = original
            .as_object()
            .and_then(|o| o.iter().next())
            .ok_or_else(|| "the dead letter holds no event".to_owned())?;
        let event = match kind.as_str() {
            "reading" => Event::Reading(part::<Reading>(body)?.to_wit()),
            "timer-fired" => Event::TimerFired(TimerFired {
                tag: part(&body["tag"])?,
                due: part(&body["due"])?,
            }),
            "lifecycle" => Event::Lifecycle(match body.as_str() {
                Some("installed") => Lifecycle::Installed,
                Some("reconfigured") => Lifecycle::Reconfigured,
                Some("resumed") => Lifecycle::Resumed,
                _ => return Err(format!("unknown lifecycle event {body}")),
            }),
            "alarm-changed" => Event::AlarmChanged(part::<AlarmChange>(body)?.to_wit()),
            "notification-acknowledged" => {
                Event::NotificationAcknowledged(part::<Acknowledgement>(body)?.into())
            }
            "person-erased" => Event::PersonErased(part(body)?),
            other => return Err(format!("unknown event kind {other:?}")),
        };
        Ok(Source::Retry {
            dead_letter,
            event,
            original,
        })
    }

    /// The stream this event comes from and its place in it, for events read from one.
    pub fn position(&self) -> Option<(Position, i64)> {
        match self {
            Source::Reading(r) => Some((Position::Log, r.seq)),
            Source::Alarm { seq, .. }
            | Source::Acknowledged { seq, .. }
            | Source::PersonErased { seq, .. } => Some((Position::Feed, *seq)),
            Source::Timer(_) | Source::Lifecycle(_) | Source::Retry { .. } => None,
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
            Source::PersonErased { person, .. } => json!({ "person-erased": person }),
            Source::Retry { original, .. } => original.clone(),
        }
    }
}
