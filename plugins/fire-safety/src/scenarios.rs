//! The scene's handlers end to end on the SDK's simulated host: readings,
//! the clock and commands in, alarms, messages, work orders and ledger
//! entries out, with the grants of this plugin's own `linli.toml`.
//!
//! The community: building b1 with two floors (a household on each, an
//! exit on the ground floor, a hydrant outside), building b2 with one
//! household; property staff for b1, a community-wide supervisor and
//! security.

use std::collections::BTreeSet;
use std::time::Duration;

use linli_sdk::testing::{callers, DeviceSpec, SimulatedHost};
use linli_sdk::{Severity, Value};
use serde_json::{json, Value as Json};

use crate::FireSafety;

fn place(id: &str, kind: &str, parent: Option<&str>, extra: Json) -> Json {
    let mut properties = json!({"kind": kind, "name": format!("{kind} {id}"), "parent": parent});
    properties
        .as_object_mut()
        .unwrap()
        .extend(extra.as_object().cloned().unwrap_or_default());
    json!({"type": "Feature", "id": id, "geometry": null, "properties": properties})
}

fn poi(id: &str, poi_kind: &str, parent: Option<&str>, (lon, lat): (f64, f64)) -> Json {
    json!({"type": "Feature", "id": id,
           "geometry": {"type": "Point", "coordinates": [lon, lat]},
           "properties": {"kind": "poi", "poi_kind": poi_kind, "name": id, "parent": parent}})
}

fn person(id: &str, properties: Json) -> Json {
    let mut all = json!({"kind": "person", "name": id});
    all.as_object_mut()
        .unwrap()
        .extend(properties.as_object().cloned().unwrap_or_default());
    json!({"type": "Feature", "id": id, "geometry": null, "properties": all})
}

fn community() -> Json {
    let mut b1 = place("b1", "building", None, json!({}));
    b1["geometry"] = json!({"type": "Point", "coordinates": [121.4000, 31.2000]});
    json!({"type": "FeatureCollection", "features": [
        b1,
        place("b1-f1", "floor", Some("b1"), json!({"level": 1})),
        place("b1-f2", "floor", Some("b1"), json!({"level": 2})),
        place("u101", "unit", Some("b1-f1"), json!({})),
        place("u201", "unit", Some("b1-f2"), json!({})),
        place("h101", "household", Some("u101"), json!({})),
        place("h201", "household", Some("u201"), json!({})),
        poi("exit-b1-f1", "exit", Some("b1-f1"), (121.4001, 31.2000)),
        poi("hydrant-1", "hydrant", None, (121.4003, 31.2001)),
        place("b2", "building", None, json!({})),
        place("b2-f1", "floor", Some("b2"), json!({"level": 1})),
        place("u2101", "unit", Some("b2-f1"), json!({})),
        place("h2101", "household", Some("u2101"), json!({})),
        person("ann", json!({"links": [{"kind": "resident-of", "target": "h101"}]})),
        person("ben", json!({"links": [{"kind": "resident-of", "target": "h201"}]})),
        person("cai", json!({"links": [{"kind": "resident-of", "target": "h2101"}]})),
        person("pat", json!({"roles": [{"role": "property-staff", "scope": "b1"}]})),
        person("boss", json!({"roles": [{"role": "property-staff"}]})),
        person("sam", json!({"roles": [{"role": "security"}]})),
    ]})
}

fn sunny_garden() -> SimulatedHost<FireSafety> {
    SimulatedHost::<FireSafety>::builder(include_str!("../linli.toml"))
        .map(community())
        .device(DeviceSpec::new("smoke-101", "smoke-detector", &["smoke"]).at("u101"))
        .device(DeviceSpec::new("smoke-201", "smoke-detector", &["smoke"]).at("u201"))
        .device(DeviceSpec::new("smoke-2101", "smoke-detector", &["smoke"]).at("u2101"))
        .start()
        .expect("fire-safety installs with its default config")
}

fn people(names: &[&str]) -> BTreeSet<String> {
    names.iter().map(|n| (*n).to_owned()).collect()
}

/// Smoke well over the default threshold (3 %/m).
fn smoke(host: &mut SimulatedHost<FireSafety>, device: &str) {
    host.reading(device, "smoke", Value::Number(8.0))
        .unwrap_or_else(|e| panic!("{device}: {e:?}"));
}

#[test]
fn one_detector_over_its_threshold_is_a_suspected_fire_told_to_its_household_and_the_staff() {
    let mut host = sunny_garden();
    smoke(&mut host, "smoke-101");
    let alarm = host
        .alarm("smoke-101", "fire-suspected")
        .expect("a suspected fire");
    assert_eq!(alarm.severity, Severity::Major);
    assert!(host.alarm("b1", "fire-confirmed").is_none());
    let sent = host.messages_on("fire-suspected");
    let recipients: Vec<BTreeSet<String>> = sent.iter().map(|m| m.recipients().clone()).collect();
    assert_eq!(recipients, [people(&["ann"]), people(&["boss", "pat"])]);
    assert!(host.messages_on("fire-confirmed").is_empty());
}

#[test]
fn a_second_detector_on_the_next_floor_confirms_the_fire_and_alerts_the_whole_building() {
    let mut host = sunny_garden();
    smoke(&mut host, "smoke-101");
    host.advance(Duration::from_secs(20));
    smoke(&mut host, "smoke-201");
    let fire = host
        .alarm("b1", "fire-confirmed")
        .expect("a confirmed fire in b1");
    assert_eq!(fire.severity, Severity::Critical);
    let confirmed = host.messages_on("fire-confirmed");
    assert_eq!(confirmed.len(), 2, "{confirmed:?}");
    assert_eq!(
        confirmed[0].recipients(),
        &people(&["ann", "ben"]),
        "b1's residents, not cai in b2"
    );
    assert_eq!(confirmed[1].recipients(), &people(&["boss", "pat", "sam"]));
    let data: Json = serde_json::from_str(&confirmed[0].message.data).unwrap();
    assert_eq!(data["exits"][0]["id"], "exit-b1-f1");
    assert_eq!(data["hydrants"][0]["id"], "hydrant-1");
}

#[test]
fn detectors_in_two_buildings_do_not_confirm_each_other() {
    let mut host = sunny_garden();
    smoke(&mut host, "smoke-101");
    smoke(&mut host, "smoke-2101");
    assert!(host.alarm("b1", "fire-confirmed").is_none());
    assert!(host.alarm("b2", "fire-confirmed").is_none());
    assert_eq!(host.active_alarms().len(), 2);
}

#[test]
fn staff_who_do_not_acknowledge_are_escalated_to_the_supervisor_and_an_overdue_work_order_too() {
    let mut host = sunny_garden();
    smoke(&mut host, "smoke-101");
    // The staff message waits three minutes (staff-ack-ms) for someone.
    host.advance(Duration::from_secs(3 * 60));
    let staff = &host.messages_on("fire-suspected")[1];
    assert_eq!(staff.steps.len(), 2);
    assert!(staff.steps[1].people.contains("boss"));
    // A major alarm's work order is due in two hours; past it, the supervisor hears.
    assert!(host.messages_on("work-order-overdue").is_empty());
    host.advance(Duration::from_secs(2 * 60 * 60));
    let overdue = host.messages_on("work-order-overdue");
    assert_eq!(overdue.len(), 1, "{:?}", host.messages());
    assert_eq!(overdue[0].recipients(), &people(&["boss"]));
    let trail: Vec<Json> = host
        .ledger_entries()
        .iter()
        .map(|e| serde_json::from_str(&e.body).unwrap())
        .collect();
    assert!(
        trail
            .iter()
            .any(|e| e["body"].to_string().contains("escalated")),
        "{trail:?}"
    );
}

#[test]
fn residents_may_not_read_work_orders_but_operators_may() {
    let mut host = sunny_garden();
    smoke(&mut host, "smoke-101");
    let refused = host.command(&callers::resident("ann"), "work-orders", json!({}));
    assert!(refused.is_err(), "{refused:?}");
    let orders = host
        .command(&callers::operator("pat"), "work-orders", json!({}))
        .expect("operators read work orders");
    assert!(orders.to_string().contains("fire-suspected"), "{orders}");
}

#[test]
fn erasing_a_resident_changes_nothing_the_scene_keeps() {
    let mut host = sunny_garden();
    smoke(&mut host, "smoke-101");
    let kept = |host: &SimulatedHost<FireSafety>| -> Vec<(String, Option<Vec<u8>>)> {
        host.store_keys()
            .into_iter()
            .map(|key| (key.clone(), host.stored(&key)))
            .collect()
    };
    let before = kept(&host);
    host.erase_person("ann").unwrap();
    assert_eq!(
        kept(&host),
        before,
        "it keeps devices, buildings and work orders, not people"
    );
}
