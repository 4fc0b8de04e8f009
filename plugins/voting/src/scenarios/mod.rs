//! The scene end to end on the SDK's simulated host: commands and the
//! clock in; motions, ballots, ledger records and messages out, with the
//! grants of this plugin's own `linli.toml`.
//!
//! The community, Sunny Court:
//!
//! | unit | m² | owners |
//! |---|---|---|
//! | b1-101 | 89.2 | ann |
//! | b1-102 | 68.5 | ann (her second unit) |
//! | b1-103 | 120.0 | ben and bea, co-owners |
//! | b1-201 | 89.2 | cai |
//! | b1-202 | 89.2 | nobody: the developer's, unsold |
//! | b1-203 | 68.5 | dan |
//! | b2-101 | 100.0 | eve |
//! | b2-102 | 100.0 | fay bought it, not yet handed over (`unsold`) |
//!
//! 8 units, 724.60 m², 6 owners by head count: ann, {ben, bea}, cai, dan,
//! eve and the developer (b1-202 and b2-102 together). Building b1 alone:
//! 6 units, 524.60 m², 5 owners. kim sits on the owners' committee for the
//! whole compound, lee for building b2; pat owns nothing and is anyone's
//! proxy; dev casts the developer's units; the admin runs the community.

mod casting;
mod delegation;
mod erasure;
mod files;
mod large;
mod motions;
mod results;
mod secret;

use std::collections::BTreeSet;
use std::time::Duration;

use linli_sdk::testing::{callers, SimulatedHost};
use linli_sdk::{Caller, Error};
use serde_json::{json, Value as Json};

use crate::Voting;

pub const HOUR_MS: i64 = 3_600_000;
pub const DAY_MS: i64 = 24 * HOUR_MS;

fn place(id: &str, kind: &str, parent: Option<&str>, extra: Json) -> Json {
    let mut properties = json!({"kind": kind, "name": id, "parent": parent});
    properties
        .as_object_mut()
        .unwrap()
        .extend(extra.as_object().cloned().unwrap_or_default());
    json!({"type": "Feature", "id": id, "geometry": null, "properties": properties})
}

fn unit(id: &str, floor: &str, area: f64) -> Json {
    place(id, "unit", Some(floor), json!({"exclusive_area_m2": area}))
}

fn person(id: &str, properties: Json) -> Json {
    let mut all = json!({"kind": "person", "name": id});
    all.as_object_mut()
        .unwrap()
        .extend(properties.as_object().cloned().unwrap_or_default());
    json!({"type": "Feature", "id": id, "geometry": null, "properties": all})
}

fn owner(id: &str, units: &[&str]) -> Json {
    let links: Vec<Json> = units
        .iter()
        .map(|u| json!({"kind": "owner-of", "target": u}))
        .collect();
    person(id, json!({ "links": links }))
}

/// Sunny Court as a GeoJSON map; `b2_102_area` lets a test leave an area out.
pub fn sunny_court(b2_102_area: Option<f64>) -> Json {
    let mut b2_102 = place(
        "b2-102",
        "unit",
        Some("b2-f1"),
        json!({"attributes": {"unsold": "true"}}),
    );
    if let Some(area) = b2_102_area {
        b2_102["properties"]["exclusive_area_m2"] = json!(area);
    }
    json!({"type": "FeatureCollection", "features": [
        place("b1", "building", None, json!({})),
        place("b1-f1", "floor", Some("b1"), json!({"level": 1})),
        place("b1-f2", "floor", Some("b1"), json!({"level": 2})),
        unit("b1-101", "b1-f1", 89.2),
        unit("b1-102", "b1-f1", 68.5),
        unit("b1-103", "b1-f1", 120.0),
        unit("b1-201", "b1-f2", 89.2),
        unit("b1-202", "b1-f2", 89.2),
        unit("b1-203", "b1-f2", 68.5),
        place("b2", "building", None, json!({})),
        place("b2-f1", "floor", Some("b2"), json!({"level": 1})),
        unit("b2-101", "b2-f1", 100.0),
        b2_102,
        owner("ann", &["b1-101", "b1-102"]),
        owner("ben", &["b1-103"]),
        owner("bea", &["b1-103"]),
        owner("cai", &["b1-201"]),
        owner("dan", &["b1-203"]),
        owner("eve", &["b2-101"]),
        owner("fay", &["b2-102"]),
        person("kim", json!({"roles": [{"role": "owners-committee"}]})),
        person("lee", json!({"roles": [{"role": "owners-committee", "scope": "b2"}]})),
        person("pat", json!({})),
        person("dev", json!({})),
    ]})
}

/// The scene installed in Sunny Court with `config` over the test defaults
/// (no notice period, the developer's voter `dev`).
pub fn sunny_court_with(config: Json) -> SimulatedHost<Voting> {
    let mut all = json!({"min-notice-ms": 0, "developer-voter": "dev"});
    all.as_object_mut()
        .unwrap()
        .extend(config.as_object().cloned().unwrap_or_default());
    SimulatedHost::<Voting>::builder(include_str!("../../linli.toml"))
        .map(sunny_court(Some(100.0)))
        .config(all)
        .start()
        .expect("voting installs in Sunny Court")
}

pub fn host() -> SimulatedHost<Voting> {
    sunny_court_with(json!({}))
}

pub fn kim() -> Caller {
    callers::resident("kim")
}

pub fn admin() -> Caller {
    callers::community_admin("admin")
}

pub fn resident(person: &str) -> Caller {
    callers::resident(person)
}

/// A motion's draft input: using the maintenance fund, for the whole
/// compound, open from `opens_in` after now for a week; `extra` overrides.
pub fn draft_input(host: &SimulatedHost<Voting>, opens_in: i64, extra: Json) -> Json {
    let opens_at = host.now() + opens_in;
    let mut input = json!({
        "title": "Repaint the stairwells",
        "text": "Spend 120,000 yuan of the maintenance fund on repainting both stairwells.",
        "class": "use-maintenance-fund",
        "opens_at": opens_at,
        "closes_at": opens_at + 7 * DAY_MS,
    });
    input
        .as_object_mut()
        .unwrap()
        .extend(extra.as_object().cloned().unwrap_or_default());
    input
}

/// kim drafts a motion and opens it at once; returns its id.
pub fn open_motion(host: &mut SimulatedHost<Voting>, extra: Json) -> String {
    let input = draft_input(host, 0, extra);
    let drafted = host
        .command(&kim(), "draft-motion", input)
        .expect("kim drafts");
    let id = drafted["motion"].as_str().unwrap().to_owned();
    let opened = host
        .command(&kim(), "open", json!({"motion": id}))
        .expect("kim opens");
    assert_eq!(opened["stage"], "open", "{opened}");
    id
}

/// `person` votes `choice` on `motion` for all their units.
pub fn vote(host: &mut SimulatedHost<Voting>, person: &str, motion: &str, choice: &str) -> Json {
    host.command(
        &resident(person),
        "vote",
        json!({"motion": motion, "choice": choice}),
    )
    .unwrap_or_else(|e| panic!("{person} votes {choice}: {e:?}"))
}

/// Moves the clock past the motion's close.
pub fn close(host: &mut SimulatedHost<Voting>) {
    for handled in host.advance(Duration::from_millis(8 * DAY_MS as u64)) {
        assert!(handled.outcome.is_ok(), "{handled:?}");
    }
}

/// The ledger records of `kind` (its exact kind, or under it: `voting/ballot`
/// matches `voting/ballot/ann`), with their bodies as written.
pub fn records(host: &SimulatedHost<Voting>, kind: &str) -> Vec<(u64, Json)> {
    host.ledger_entries()
        .into_iter()
        .filter_map(|entry| {
            let whole: Json = serde_json::from_str(&entry.body).unwrap();
            let written = whole["record-kind"].as_str()?.to_owned();
            let under = written == kind || written.starts_with(&format!("{kind}/"));
            under.then(|| (entry.index, whole["body"].clone()))
        })
        .collect()
}

pub fn people(names: &[&str]) -> BTreeSet<String> {
    names.iter().map(|n| (*n).to_owned()).collect()
}

/// The error's kind and text, for asserting on both.
pub fn refusal(outcome: Result<Json, Error>) -> (&'static str, String) {
    match outcome {
        Ok(answer) => panic!("expected a refusal, got {answer}"),
        Err(Error::Denied(why)) => ("denied", why),
        Err(Error::Invalid(why)) => ("invalid", why),
        Err(Error::NotFound(why)) => ("not-found", why),
        Err(other) => panic!("unexpected error {other:?}"),
    }
}

#[test]
fn the_test_community_has_the_numbers_its_table_says() {
    let mut host = host();
    let id = open_motion(&mut host, json!({}));
    let view = host
        .command(&admin(), "motion", json!({"motion": id}))
        .unwrap();
    assert_eq!(
        view["totals"],
        json!({"units": 8, "area_m2": "724.60", "owners": 6})
    );
}
