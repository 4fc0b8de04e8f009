//! A person's data on the simulated host: their health and presence
//! readings reach a scene only with their consent, and erasing them
//! deletes their keys before the scene forgets the rest.
//!
//! The scene counts readings per person (`readings/<person>`, the key the
//! host exports and erases), registers badges by device (`badge/<device>`,
//! which only the scene knows to be someone's), and keeps a roll of
//! everyone it has seen in one value.

use linli_sdk::testing::{callers, DeviceSpec, SimulatedHost};
use linli_sdk::{personal, state, Caller, Error, Event, Purpose, Scene, Value};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value as Json};

const MANIFEST: &str = r#"
id = "visits"
vendor = "test"
api = "0.1.0"
description = "keeps a little about people"

[capabilities.sensor]
kinds = ["heart-rate", "sos", "door"]
[capabilities.store]
[capabilities.map]
people = true
"#;

const ROLL: &str = "roll";

#[derive(Serialize, Deserialize)]
struct Badge {
    person: String,
}

struct Visits;

impl Scene for Visits {
    type Config = linli_sdk::NoConfig;

    fn on_event(_: &Self::Config, event: Event) -> Result<(), Error> {
        match event {
            Event::Reading(reading) => {
                let person = match state::get::<Badge>(&format!("badge/{}", reading.device))? {
                    Some(badge) => badge.person,
                    None => format!("at-{}", reading.location.unwrap_or_default()),
                };
                state::update(&personal::key("readings", &person), |n: &mut u64| *n += 1)?;
                state::update(ROLL, |roll: &mut Vec<String>| {
                    if !roll.contains(&person) {
                        roll.push(person);
                    }
                })
            }
            Event::PersonErased(person) => {
                personal::forget_where("badge/", |_, badge: &Badge| badge.person == person)?;
                state::update(ROLL, |roll: &mut Vec<String>| roll.retain(|p| *p != person))
            }
            _ => Ok(()),
        }
    }

    fn on_command(_: &Self::Config, _: &Caller, name: &str, input: Json) -> Result<Json, Error> {
        let field = |name: &str| input[name].as_str().unwrap_or_default().to_owned();
        match name {
            "badge" => {
                let badge = Badge {
                    person: field("person"),
                };
                state::put(&format!("badge/{}", field("device")), &badge)?;
                Ok(Json::Null)
            }
            "personal-data" => Ok(json!(personal::records_of(&field("person"))?)),
            _ => Err(Error::Invalid(format!("unknown command: {name}"))),
        }
    }
}

fn community() -> Json {
    let person = |id: &str, properties: Json| {
        let mut all = json!({"kind": "person", "name": id});
        all.as_object_mut()
            .unwrap()
            .extend(properties.as_object().cloned().unwrap());
        json!({"type": "Feature", "id": id, "geometry": null, "properties": all})
    };
    let place = |id: &str, kind: &str, parent: Option<&str>| {
        json!({"type": "Feature", "id": id, "geometry": null,
               "properties": {"kind": kind, "name": id, "parent": parent}})
    };
    json!({"type": "FeatureCollection", "features": [
        place("b1", "building", None),
        place("f1", "floor", Some("b1")),
        place("u1", "unit", Some("f1")),
        place("h1", "household", Some("u1")),
        person("grandma", json!({"links": [{"kind": "resident-of", "target": "h1"}],
                                 "consents": ["health-monitoring"]})),
        person("grandpa", json!({"links": [{"kind": "resident-of", "target": "h1"}]})),
        person("son", json!({"links": [{"kind": "family-of", "target": "grandma"}]})),
    ]})
}

fn started() -> SimulatedHost<Visits> {
    let mut host = SimulatedHost::<Visits>::builder(MANIFEST)
        .map(community())
        .device(DeviceSpec::new("watch-g", "wearable", &["heart-rate", "sos"]).worn_by("grandma"))
        .device(DeviceSpec::new("watch-p", "wearable", &["heart-rate", "sos"]).worn_by("grandpa"))
        .device(DeviceSpec::new("door-1", "contact", &["door"]).at("u1"))
        .start()
        .unwrap();
    for (device, person) in [("watch-g", "grandma"), ("watch-p", "grandpa")] {
        host.command(
            &callers::community_admin("office"),
            "badge",
            json!({"device": device, "person": person}),
        )
        .unwrap();
    }
    host
}

#[test]
fn a_health_reading_waits_for_consent_and_stops_when_it_is_withdrawn() {
    let mut host = started();
    host.reading("watch-p", "heart-rate", Value::Number(80.0))
        .unwrap();
    assert_eq!(
        host.state::<u64>("readings/grandpa"),
        None,
        "no consent yet"
    );
    host.set_consents("grandpa", &[Purpose::HealthMonitoring]);
    host.reading("watch-p", "heart-rate", Value::Number(80.0))
        .unwrap();
    assert_eq!(host.state::<u64>("readings/grandpa"), Some(1));
    host.set_consents("grandpa", &[]);
    host.reading("watch-p", "heart-rate", Value::Number(80.0))
        .unwrap();
    assert_eq!(
        host.state::<u64>("readings/grandpa"),
        Some(1),
        "withdrawn at once"
    );
    host.reading("watch-p", "sos", Value::Flag(true)).unwrap();
    assert_eq!(
        host.state::<u64>("readings/grandpa"),
        Some(2),
        "an SOS always reaches the scene"
    );
}

#[test]
fn a_door_at_home_waits_for_everyone_living_there() {
    let mut host = SimulatedHost::<Visits>::builder(MANIFEST)
        .map(community())
        .consents("grandma", &[Purpose::PresenceChecks])
        .device(DeviceSpec::new("door-1", "contact", &["door"]).at("u1"))
        .start()
        .unwrap();
    host.reading("door-1", "door", Value::Flag(true)).unwrap();
    assert_eq!(
        host.state::<u64>("readings/at-u1"),
        None,
        "grandpa has not agreed"
    );
    host.set_consents("grandpa", &[Purpose::PresenceChecks]);
    host.reading("door-1", "door", Value::Flag(false)).unwrap();
    assert_eq!(host.state::<u64>("readings/at-u1"), Some(1));
}

#[test]
fn erasure_deletes_the_persons_keys_and_the_scene_forgets_the_rest() {
    let mut host = started();
    host.set_consents("grandpa", &[Purpose::HealthMonitoring]);
    for watch in ["watch-g", "watch-p"] {
        host.reading(watch, "heart-rate", Value::Number(70.0))
            .unwrap();
    }
    let theirs = host
        .command(
            &callers::community_admin("office"),
            "personal-data",
            json!({"person": "grandma"}),
        )
        .unwrap();
    assert_eq!(theirs, json!([["readings/grandma", 1]]));

    host.erase_person("grandma").unwrap();

    assert_eq!(host.state::<u64>("readings/grandma"), None);
    assert_eq!(host.state::<Json>("badge/watch-g"), None);
    assert_eq!(
        host.state::<Vec<String>>(ROLL),
        Some(vec!["grandpa".to_owned()])
    );
    assert_eq!(
        host.state::<u64>("readings/grandpa"),
        Some(1),
        "others are untouched"
    );
    assert!(host.state::<Json>("badge/watch-p").is_some());
    let gone = host.command(
        &callers::community_admin("office"),
        "personal-data",
        json!({"person": "grandma"}),
    );
    assert_eq!(gone.unwrap(), json!([]));
}

/// Fails on erasure, to show the host's own deletion does not depend on the scene.
struct Stubborn;

impl Scene for Stubborn {
    type Config = linli_sdk::NoConfig;

    fn on_event(_: &Self::Config, event: Event) -> Result<(), Error> {
        match event {
            Event::Lifecycle(_) => state::put(&personal::key("seen", "grandma"), &true),
            Event::PersonErased(_) => Err(Error::Internal("cannot forget".into())),
            _ => Ok(()),
        }
    }

    fn on_command(_: &Self::Config, _: &Caller, _: &str, _: Json) -> Result<Json, Error> {
        Ok(Json::Null)
    }
}

#[test]
fn the_hosts_deletion_stands_when_the_scenes_handler_fails() {
    let mut host = SimulatedHost::<Stubborn>::builder(MANIFEST)
        .map(community())
        .start()
        .unwrap();
    assert_eq!(host.state::<bool>("seen/grandma"), Some(true));
    assert!(host.erase_person("grandma").is_err());
    assert_eq!(host.state::<bool>("seen/grandma"), None);
    assert_eq!(host.dead_letters().len(), 1);
}
