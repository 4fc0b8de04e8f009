//! A large compound: 2,600 units, each its own owner. Casting a ballot
//! touches a few small store values, never the roll; reminders to
//! thousands go out in rounds within the host's message limits.

use std::collections::BTreeMap;
use std::time::Duration;

use linli_sdk::testing::SimulatedHost;
use serde_json::{json, Value as Json};

use super::*;

const FLOORS: usize = 26;
const UNITS_PER_FLOOR: usize = 100;

fn tower() -> Json {
    let mut features = vec![
        json!({"type": "Feature", "id": "tower", "geometry": null,
               "properties": {"kind": "building", "name": "Tower"}}),
        json!({"type": "Feature", "id": "kim", "geometry": null,
               "properties": {"kind": "person", "name": "kim", "roles": [{"role": "owners-committee"}]}}),
    ];
    for floor in 1..=FLOORS {
        let floor_id = format!("f{floor}");
        features.push(json!({"type": "Feature", "id": floor_id, "geometry": null,
            "properties": {"kind": "floor", "name": floor_id, "parent": "tower", "level": floor}}));
        for n in 1..=UNITS_PER_FLOOR {
            let unit = format!("u{floor:02}{n:02}");
            features.push(json!({"type": "Feature", "id": unit, "geometry": null,
                "properties": {"kind": "unit", "name": unit, "parent": floor_id, "exclusive_area_m2": 88.88}}));
            features.push(json!({"type": "Feature", "id": format!("p{floor:02}{n:02}"), "geometry": null,
                "properties": {"kind": "person", "name": unit, "links": [{"kind": "owner-of", "target": unit}]}}));
        }
    }
    json!({"type": "FeatureCollection", "features": features})
}

fn snapshot(host: &SimulatedHost<Voting>) -> BTreeMap<String, Vec<u8>> {
    host.store_keys()
        .into_iter()
        .map(|key| {
            let value = host.stored(&key).unwrap();
            (key, value)
        })
        .collect()
}

#[test]
fn a_ballot_in_a_large_compound_touches_a_few_small_values_and_reminders_go_in_rounds() {
    let mut host = SimulatedHost::<Voting>::builder(include_str!("../../linli.toml"))
        .map(tower())
        .config(json!({"min-notice-ms": 0, "reminders-before-close-ms": [DAY_MS]}))
        .start()
        .unwrap();
    let id = open_motion(&mut host, json!({}));
    let before = snapshot(&host);
    assert!(before.len() < 200, "{} keys for 2,600 units", before.len());
    let largest = before.values().map(Vec::len).max().unwrap();
    assert!(largest < 64 * 1024, "the largest value is {largest} bytes");

    vote(&mut host, "p0101", &id, "agree");
    let after = snapshot(&host);
    let changed: Vec<&String> = after
        .iter()
        .filter(|(key, value)| before.get(*key) != Some(value))
        .map(|(key, _)| key)
        .collect();
    assert!(
        changed.len() <= 3,
        "votes, heads and live only: {changed:?}"
    );
    let written: usize = changed.iter().map(|k| after[*k].len()).sum();
    assert!(
        written < 16 * 1024,
        "{written} bytes written for one ballot"
    );

    // The reminder, a day before the close: 2,599 people in two rounds.
    host.advance(Duration::from_millis(6 * DAY_MS as u64));
    let first_round = host.messages_on("voting-reminder");
    assert_eq!(first_round.len(), 50, "50 messages of 50 people");
    host.advance(Duration::from_secs(61));
    let reminded: usize = host
        .messages_on("voting-reminder")
        .iter()
        .map(|m| m.recipients().len())
        .sum();
    assert_eq!(
        reminded,
        FLOORS * UNITS_PER_FLOOR - 1,
        "everyone but the voter, once"
    );
    close(&mut host);
    let result = host
        .command(&admin(), "result", json!({"motion": id}))
        .unwrap();
    assert_eq!(result["result"]["totals"]["area_m2"], "231088.00");
    assert_eq!(result["result"]["decision"]["outcome"], "no-quorum");
}
