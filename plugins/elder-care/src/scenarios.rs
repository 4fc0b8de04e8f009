//! The scene's handlers end to end on the SDK's simulated host, with the
//! grants of this plugin's own `linli.toml`: wearables raising safety
//! alarms that reach family and escalate, and time coins on the ledger.
//!
//! The community: Mrs Wang lives alone in h1 of building b1 and consents to
//! health monitoring and presence checks (not to sharing where she lives);
//! her daughter lives elsewhere; b1 has a community doctor and a grid worker, the
//! community one security guard; a neighbour lives in h2.

use std::collections::BTreeSet;
use std::time::Duration;

use linli_sdk::notify::MessageState;
use linli_sdk::testing::{callers, DeviceSpec, SimulatedHost};
use linli_sdk::{Error, Severity, Value};
use serde_json::{json, Value as Json};

use crate::ElderCare;

fn feature(id: &str, properties: Json, geometry: Json) -> Json {
    json!({"type": "Feature", "id": id, "geometry": geometry, "properties": properties})
}

fn place(id: &str, kind: &str, parent: Option<&str>) -> Json {
    feature(
        id,
        json!({"kind": kind, "name": id, "parent": parent}),
        Json::Null,
    )
}

fn person(id: &str, extra: Json) -> Json {
    let mut properties = json!({"kind": "person", "name": id});
    properties
        .as_object_mut()
        .unwrap()
        .extend(extra.as_object().cloned().unwrap_or_default());
    feature(id, properties, Json::Null)
}

pub(crate) fn community() -> Json {
    json!({"type": "FeatureCollection", "features": [
        feature("b1", json!({"kind": "building", "name": "Building 1"}),
                json!({"type": "Point", "coordinates": [121.40, 31.20]})),
        feature("b1-f1", json!({"kind": "floor", "name": "Floor 1", "parent": "b1", "level": 1}), Json::Null),
        place("u1", "unit", Some("b1-f1")),
        place("u2", "unit", Some("b1-f1")),
        place("h1", "household", Some("u1")),
        place("h2", "household", Some("u2")),
        person("mrs-wang", json!({"birth_year": 1941, "links": [{"kind": "resident-of", "target": "h1"}],
                                  "consents": ["health-monitoring", "presence-checks"]})),
        person("daughter", json!({"links": [{"kind": "family-of", "target": "mrs-wang"}]})),
        person("neighbour", json!({"links": [{"kind": "resident-of", "target": "h2"}]})),
        person("dr-li", json!({"roles": [{"role": "community-doctor", "scope": "b1"}]})),
        person("grid-zhao", json!({"roles": [{"role": "grid-worker", "scope": "b1"}]})),
        person("guard", json!({"roles": [{"role": "security"}]})),
    ]})
}

/// The community with Mrs Wang's watch registered by her daughter.
pub(crate) fn with_watch() -> SimulatedHost<ElderCare> {
    let mut host = SimulatedHost::<ElderCare>::builder(include_str!("../linli.toml"))
        .map(community())
        .device(
            DeviceSpec::new("watch-7", "wearable", &["heart-rate", "fall", "sos"])
                .worn_by("mrs-wang"),
        )
        .start()
        .expect("elder-care installs with its default config");
    host.command(
        &callers::resident("daughter"),
        "register-wearable",
        json!({"device": "watch-7", "person": "mrs-wang"}),
    )
    .expect("family may register a wearable");
    host
}

pub(crate) fn people(names: &[&str]) -> BTreeSet<String> {
    names.iter().map(|n| (*n).to_owned()).collect()
}

#[test]
fn an_sos_press_raises_an_alarm_and_tells_family_and_the_doctor_then_escalates() {
    let mut host = with_watch();
    host.reading("watch-7", "sos", Value::Flag(true)).unwrap();
    let sos = host
        .alarm("mrs-wang", "sos")
        .expect("an SOS alarm on the person");
    assert_eq!(sos.severity, Severity::Critical);
    let alert = &host.messages_on("sos")[0];
    assert_eq!(alert.recipients(), &people(&["daughter", "dr-li"]));
    // Nobody acknowledges: every five minutes the next circle is told.
    host.advance(Duration::from_secs(5 * 60));
    host.advance(Duration::from_secs(5 * 60));
    let alert = &host.messages_on("sos")[0];
    let steps: Vec<&BTreeSet<String>> = alert.steps.iter().map(|s| &s.people).collect();
    assert_eq!(
        steps,
        [
            &people(&["daughter", "dr-li"]),
            &people(&["grid-zhao"]),
            &people(&["guard"])
        ]
    );
    assert!(!alert.reached().contains("neighbour"));
}

#[test]
fn the_first_acknowledgement_of_an_sos_stops_the_escalation_and_clears_the_latched_alarm() {
    let mut host = with_watch();
    host.reading("watch-7", "sos", Value::Flag(true)).unwrap();
    let id = host.messages_on("sos")[0].id.clone();
    host.acknowledge_message(&id, "daughter").unwrap();
    assert!(
        host.alarm("mrs-wang", "sos").is_none(),
        "an acknowledged SOS is cleared"
    );
    host.advance(Duration::from_secs(30 * 60));
    let alert = &host.messages_on("sos")[0];
    assert_eq!(
        (alert.state, alert.steps.len()),
        (MessageState::Acknowledged, 1)
    );
}

#[test]
fn an_operator_acknowledging_the_alarm_cancels_the_alert() {
    let mut host = with_watch();
    host.reading("watch-7", "fall", Value::Flag(true)).unwrap();
    let fall = host.alarm("mrs-wang", "fall").expect("a fall alarm");
    host.acknowledge_alarm(&fall.id, "operator-1").unwrap();
    assert_eq!(host.messages_on("fall")[0].state, MessageState::Cancelled);
    assert!(host.alarm("mrs-wang", "fall").is_none());
}

#[test]
fn a_neighbour_may_not_register_someone_elses_wearable() {
    let mut host = with_watch();
    let refused = host.command(
        &callers::resident("neighbour"),
        "register-wearable",
        json!({"device": "watch-9", "person": "mrs-wang"}),
    );
    assert!(matches!(refused, Err(Error::Denied(_))), "{refused:?}");
    assert!(host.state::<Json>("wearable/watch-9").is_none());
}

#[test]
fn members_start_with_an_allowance_and_a_donation_past_zero_moves_nothing() {
    let mut host = with_watch();
    for member in ["mrs-wang", "neighbour"] {
        host.command(&callers::resident(member), "join", json!({}))
            .unwrap();
    }
    let balance = |host: &SimulatedHost<ElderCare>, who: &str| {
        host.account(&format!("timebank/members/{who}"))
            .map(|a| a.balance)
    };
    assert_eq!(balance(&host, "neighbour"), Some(120));
    let entries = host.ledger_entries().len();
    let gift = json!({"to": "mrs-wang", "minutes": 30, "key": "thanks"});
    host.command(&callers::resident("neighbour"), "donate", gift.clone())
        .unwrap();
    host.command(&callers::resident("neighbour"), "donate", gift)
        .unwrap();
    assert_eq!(
        balance(&host, "neighbour"),
        Some(90),
        "the same key donates once"
    );
    assert_eq!(host.ledger_entries().len(), entries + 1);
    let too_much = json!({"to": "mrs-wang", "minutes": 100, "key": "everything"});
    assert!(host
        .command(&callers::resident("neighbour"), "donate", too_much)
        .is_err());
    assert_eq!(balance(&host, "neighbour"), Some(90));
    assert_eq!(host.ledger_entries().len(), entries + 1);
}
