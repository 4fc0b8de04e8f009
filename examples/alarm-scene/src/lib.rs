//! alarm-scene: drives the `alarm` capability from commands and keeps every
//! alarm change the host delivers to it, so tests (and curious vendors) can
//! see the whole lifecycle from a plugin's side.

use linli_sdk::alarm::{self, AlarmChange, AlarmInfo, ChangeKind};
use linli_sdk::{
    export_scene, parse_input, state, Caller, Error, Event, NoConfig, Scene, Severity,
};
use serde::Deserialize;
use serde_json::{json, Value as Json};

/// `raise`: (originator, type) with a severity and JSON details.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RaiseInput {
    originator: String,
    #[serde(rename = "type")]
    alarm_type: String,
    severity: String,
    #[serde(default)]
    details: Json,
}

/// `clear` and `active`: one (originator, type).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Key {
    originator: String,
    #[serde(rename = "type")]
    alarm_type: String,
}

/// `ack`: an alarm id.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Ack {
    id: String,
}

fn severity(name: &str) -> Result<Severity, Error> {
    Severity::from_name(name).ok_or_else(|| {
        Error::Invalid(format!(
            "command input at `severity`: unknown severity {name:?}"
        ))
    })
}

fn alarm_json(alarm: &AlarmInfo) -> Json {
    json!({
        "id": alarm.id,
        "originator": alarm.originator,
        "type": alarm.alarm_type,
        "severity": alarm.severity.name(),
        "active": alarm.active,
        "acknowledged": alarm.acknowledged,
        "count": alarm.count,
        "raised-by": alarm.raised_by,
        "location": alarm.location,
    })
}

fn change_json(change: &AlarmChange) -> Json {
    let kind = match change.change {
        ChangeKind::Raised => "raised",
        ChangeKind::Updated => "updated",
        ChangeKind::Acknowledged => "acknowledged",
        ChangeKind::Cleared => "cleared",
    };
    json!({ "change": kind, "by": change.by, "alarm": alarm_json(&change.alarm) })
}

struct AlarmScene;

impl Scene for AlarmScene {
    type Config = NoConfig;

    fn on_event(_: &NoConfig, event: Event) -> Result<(), Error> {
        if let Event::AlarmChanged(change) = event {
            state::update("seen", |seen: &mut Vec<Json>| {
                seen.push(change_json(&change))
            })?;
        }
        Ok(())
    }

    fn on_command(_: &NoConfig, _: &Caller, name: &str, input: Json) -> Result<Json, Error> {
        match name {
            "raise" => {
                let r: RaiseInput = parse_input(input)?;
                let raised = alarm::raise(
                    &r.originator,
                    &r.alarm_type,
                    severity(&r.severity)?,
                    &r.details.to_string(),
                )?;
                Ok(alarm_json(&raised))
            }
            "clear" => {
                let k: Key = parse_input(input)?;
                Ok(alarm::clear(&k.originator, &k.alarm_type)?
                    .map_or(Json::Null, |a| alarm_json(&a)))
            }
            "ack" => {
                let a: Ack = parse_input(input)?;
                Ok(alarm_json(&alarm::acknowledge(&a.id)?))
            }
            "active" => {
                let k: Key = parse_input(input)?;
                Ok(alarm::active(&k.originator, &k.alarm_type)?
                    .map_or(Json::Null, |a| alarm_json(&a)))
            }
            "list" => Ok(Json::Array(
                alarm::list_active(None, 100)?
                    .iter()
                    .map(alarm_json)
                    .collect(),
            )),
            "seen" => Ok(Json::Array(
                state::get::<Vec<Json>>("seen")?.unwrap_or_default(),
            )),
            _ => Err(Error::Invalid(format!("unknown command: {name}"))),
        }
    }
}

export_scene!(AlarmScene);
