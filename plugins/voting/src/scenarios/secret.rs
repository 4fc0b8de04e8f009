//! Secret ballots: the ledger holds seals, only the voter holds the nonce,
//! and the published lines recount the result without naming units.

use std::collections::BTreeMap;

use serde_json::{json, Value as Json};

use super::*;
use crate::ballot;
use crate::options::Choice;

fn secret_motion(host: &mut SimulatedHost<Voting>) -> String {
    open_motion(host, json!({"secret": true}))
}

#[test]
fn a_secret_ballot_records_a_seal_and_only_its_voter_gets_the_nonce() {
    let mut host = host();
    let id = secret_motion(&mut host);
    let cast = vote(&mut host, "eve", &id, "disagree");
    let line = &cast["ballots"][0];
    let nonce = line["nonce"].as_str().unwrap();
    assert_eq!(nonce.len(), 64);
    let expected = ballot::seal(&id, "b2-101", 1, &Choice::Disagree, nonce);
    assert_eq!(line["seal"], expected);
    assert_eq!(line["tag"], ballot::tag(nonce));

    let recorded = records(&host, "voting/ballot/eve");
    assert_eq!(recorded[0].1["seal"], expected);
    assert_eq!(recorded[0].1["unit"], "b2-101", "who voted is public");
    assert!(recorded[0].1.get("choice").is_none(), "how is not");
    assert!(!recorded[0].1.to_string().contains("disagree"));

    let mine = host
        .command(&resident("eve"), "my-ballot", json!({"motion": id}))
        .unwrap();
    assert_eq!(mine["ballots"][0]["nonce"], nonce);
    assert_eq!(mine["ballots"][0]["choice"], "disagree");
    for other in [admin(), kim(), resident("ann")] {
        for command in ["motion", "participation", "my-ballot"] {
            let Ok(seen) = host.command(&other, command, json!({"motion": id})) else {
                continue;
            };
            let text = seen.to_string();
            assert!(
                !text.contains(nonce) && !text.contains("disagree"),
                "{command}: {text}"
            );
        }
    }
}

/// The published lines of a closed secret motion.
fn lines(host: &mut SimulatedHost<Voting>, id: &str) -> (Json, Vec<Json>) {
    let result = host
        .command(&resident("ann"), "result", json!({"motion": id}))
        .unwrap();
    let lines = result["lines"].as_array().cloned().unwrap();
    (result, lines)
}

#[test]
fn the_secret_tally_recounts_from_its_lines_and_each_voter_finds_their_own() {
    let mut host = host();
    let id = secret_motion(&mut host);
    let ann = vote(&mut host, "ann", &id, "agree");
    vote(&mut host, "ben", &id, "agree");
    vote(&mut host, "cai", &id, "disagree");
    vote(&mut host, "dan", &id, "abstain");
    vote(&mut host, "dev", &id, "agree");
    close(&mut host);
    let (result, lines) = lines(&mut host, &id);
    assert_eq!(
        lines.len(),
        7,
        "every counted ballot, eve's unit never voted"
    );

    // Anyone recounts: area by choice, heads all of whose lines agree.
    let mut agree_area = 0u64;
    let mut heads: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for line in &lines {
        let [tag, choice, area, head] = line.as_array().unwrap().as_slice() else {
            panic!("a line is [tag, choice, area, head]: {line}");
        };
        assert_eq!(tag.as_str().unwrap().len(), 64);
        let hundredths: crate::area::Area = serde_json::from_value(area.clone()).unwrap();
        if choice == "agree" {
            agree_area += hundredths.hundredths();
        }
        heads
            .entry(head.as_str().unwrap().to_owned())
            .or_default()
            .push(choice.as_str().unwrap().to_owned());
    }
    let agree_heads = heads
        .values()
        .filter(|c| c.iter().all(|c| c == "agree"))
        .count();
    let agree = &result["result"]["options"][0];
    assert_eq!(agree["area_m2"], "466.90");
    assert_eq!(
        crate::area::Area::from_hundredths(agree_area).to_string(),
        "466.90"
    );
    assert_eq!(agree["owners"], agree_heads as u64);
    assert_eq!(
        heads.len(),
        5,
        "ann's two units and dev's two are one owner each"
    );
    assert_eq!(result["result"]["decision"]["outcome"], "carried");

    // ann finds both her lines by their tags; nobody else can.
    for mine in ann["ballots"].as_array().unwrap() {
        let tag = mine["tag"].as_str().unwrap();
        let line = lines
            .iter()
            .find(|l| l[0] == tag)
            .expect("ann's line is published");
        assert_eq!(line[1], "agree");
    }
    // The lines name no unit and share nothing with the ballot records.
    let published = json!(lines).to_string();
    for (_, body) in records(&host, "voting/ballot") {
        assert!(!published.contains(body["unit"].as_str().unwrap()));
        assert!(!published.contains(body["seal"].as_str().unwrap()));
    }
    let mut sorted = lines.clone();
    sorted.sort_by(|a, b| a[0].as_str().cmp(&b[0].as_str()));
    assert_eq!(
        sorted, lines,
        "in the order of their tags, not of the units"
    );
}

#[test]
fn every_seal_opens_with_its_voters_nonce_to_the_choice_published_under_its_tag() {
    let mut host = host();
    let id = secret_motion(&mut host);
    let first = vote(&mut host, "eve", &id, "agree");
    let last = vote(&mut host, "eve", &id, "disagree");
    close(&mut host);
    let (result, lines) = lines(&mut host, &id);
    let counted = &last["ballots"][0];
    assert_eq!(result["counted"], json!([counted["entry"]["index"]]));
    let nonce = counted["nonce"].as_str().unwrap();
    assert_ne!(nonce, first["ballots"][0]["nonce"].as_str().unwrap());
    let record = records(&host, "voting/ballot/eve")
        .into_iter()
        .find(|(index, _)| json!(index) == counted["entry"]["index"])
        .unwrap()
        .1;
    assert_eq!(record["seq"], 2);
    assert_eq!(
        record["seal"],
        ballot::seal(&id, "b2-101", 2, &Choice::Disagree, nonce)
    );
    assert_eq!(
        lines,
        vec![json!([
            ballot::tag(nonce),
            "disagree",
            "100.00",
            lines[0][3]
        ])]
    );
}
