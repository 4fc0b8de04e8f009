//! notify-scene: sends messages through the `notify` capability from
//! commands and keeps every acknowledgement the host delivers to it, so
//! tests (and curious vendors) can drive delivery, quiet hours and
//! escalation from a plugin's side.

use linli_sdk::map::{CommunityRole, Relation};
use linli_sdk::notify::{self, Audience, EscalationStep, Message, MessageState, Related};
use linli_sdk::{
    export_scene, parse_input, state, Caller, Error, Event, NoConfig, Scene, Severity,
};
use serde::Deserialize;
use serde_json::{json, Value as Json};

/// One audience entry: exactly one of the fields.
#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct AudienceInput {
    person: Option<String>,
    residents: Option<String>,
    owners: Option<String>,
    family: Option<String>,
    role: Option<String>,
    scope: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct StepInput {
    after_ms: u64,
    audience: Vec<AudienceInput>,
}

/// `send`: a message, as the WIT record spells it.
#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct SendInput {
    audience: Vec<AudienceInput>,
    severity: String,
    topic: String,
    title: String,
    #[serde(default)]
    body: String,
    #[serde(default)]
    data: Option<Json>,
    key: String,
    #[serde(default)]
    require_ack: bool,
    #[serde(default)]
    escalation: Vec<StepInput>,
}

/// `status` and `cancel`: a message id.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Id {
    id: String,
}

fn invalid(field: &str, why: String) -> Error {
    Error::Invalid(format!("command input at `{field}`: {why}"))
}

fn role(name: &str) -> Result<CommunityRole, Error> {
    Ok(match name {
        "volunteer" => CommunityRole::Volunteer,
        "grid-worker" => CommunityRole::GridWorker,
        "property-staff" => CommunityRole::PropertyStaff,
        "community-doctor" => CommunityRole::CommunityDoctor,
        "security" => CommunityRole::Security,
        other => return Err(invalid("role", format!("unknown role {other:?}"))),
    })
}

fn audience(entry: AudienceInput) -> Result<Audience, Error> {
    let related = |relation, scope| Audience::Related(Related { relation, scope });
    Ok(match entry {
        AudienceInput {
            person: Some(p), ..
        } => Audience::Person(p),
        AudienceInput {
            residents: Some(place),
            ..
        } => related(Relation::Resident, Some(place)),
        AudienceInput {
            owners: Some(place),
            ..
        } => related(Relation::Owner, Some(place)),
        AudienceInput {
            family: Some(of), ..
        } => related(Relation::Family, Some(of)),
        AudienceInput {
            role: Some(r),
            scope,
            ..
        } => related(Relation::Role(role(&r)?), scope),
        _ => {
            return Err(invalid(
                "audience",
                "name a person, residents, owners, family or role".into(),
            ))
        }
    })
}

fn audiences(entries: Vec<AudienceInput>) -> Result<Vec<Audience>, Error> {
    entries.into_iter().map(audience).collect()
}

fn severity(name: &str) -> Result<Severity, Error> {
    Severity::from_name(name)
        .ok_or_else(|| invalid("severity", format!("unknown severity {name:?}")))
}

fn send(input: SendInput) -> Result<Json, Error> {
    let escalation = input
        .escalation
        .into_iter()
        .map(|step| {
            Ok(EscalationStep {
                after_ms: step.after_ms,
                audience: audiences(step.audience)?,
            })
        })
        .collect::<Result<_, Error>>()?;
    let sent = notify::send(&Message {
        audience: audiences(input.audience)?,
        severity: severity(&input.severity)?,
        topic: input.topic,
        title: input.title,
        body: input.body,
        data: input.data.unwrap_or_else(|| json!({})).to_string(),
        idempotency_key: input.key,
        require_ack: input.require_ack,
        escalation,
    })?;
    Ok(json!({ "id": sent.id, "recipients": sent.recipients, "replayed": sent.replayed }))
}

fn state_name(state: MessageState) -> &'static str {
    match state {
        MessageState::Open => "open",
        MessageState::Acknowledged => "acknowledged",
        MessageState::Unacknowledged => "unacknowledged",
        MessageState::Cancelled => "cancelled",
    }
}

struct NotifyScene;

impl Scene for NotifyScene {
    type Config = NoConfig;

    fn on_event(_: &NoConfig, event: Event) -> Result<(), Error> {
        if let Event::NotificationAcknowledged(ack) = event {
            state::update("acks", |acks: &mut Vec<Json>| {
                acks.push(json!({ "id": ack.id, "key": ack.idempotency_key, "topic": ack.topic, "by": ack.by, "at": ack.at }))
            })?;
        }
        Ok(())
    }

    fn on_command(_: &NoConfig, _: &Caller, name: &str, input: Json) -> Result<Json, Error> {
        match name {
            "send" => send(parse_input(input)?),
            "status" => {
                let Id { id } = parse_input(input)?;
                let status = notify::status(&id)?;
                Ok(json!({
                    "id": status.id,
                    "state": state_name(status.state),
                    "steps-run": status.steps_run,
                    "acknowledged-by": status.acknowledged_by,
                }))
            }
            "cancel" => {
                let Id { id } = parse_input(input)?;
                Ok(json!(notify::cancel(&id)?))
            }
            "acks" => Ok(Json::Array(
                state::get::<Vec<Json>>("acks")?.unwrap_or_default(),
            )),
            _ => Err(Error::Invalid(format!("unknown command: {name}"))),
        }
    }
}

export_scene!(NotifyScene);
