//! Closing: the count with its arithmetic, the two measures, elections,
//! reminders on the way, and the published record.

use std::time::Duration;

use serde_json::json;

use super::*;

/// Everyone votes: ann, ben, cai and the developer agree; dan disagrees;
/// eve abstains.
fn everyone_votes(host: &mut SimulatedHost<Voting>, id: &str) {
    for (person, choice) in [
        ("ann", "agree"),
        ("ben", "agree"),
        ("cai", "agree"),
        ("dan", "disagree"),
        ("eve", "abstain"),
        ("dev", "agree"),
    ] {
        vote(host, person, id, choice);
    }
}

#[test]
fn at_close_the_result_is_counted_by_area_and_by_head_and_published_with_its_working() {
    let mut host = host();
    let id = open_motion(&mut host, json!({}));
    everyone_votes(&mut host, &id);
    close(&mut host);
    let result = host
        .command(&resident("eve"), "result", json!({"motion": id}))
        .unwrap();
    let count = &result["result"];
    assert_eq!(count["participation"]["units"], 8);
    assert_eq!(count["participation"]["area_m2"], "724.60");
    assert_eq!(count["participation"]["owners"], 6);
    assert_eq!(count["participation"]["quorum"], true);
    let agree = &count["options"][0];
    assert_eq!(agree["option"], "agree");
    assert_eq!(agree["area_m2"], "556.10");
    assert_eq!(agree["owners"], 4);
    assert_eq!(
        agree["by_area"]["working"],
        "55610 × 2 = 111220 > 72460 × 1 = 72460"
    );
    assert_eq!(agree["by_owners"]["working"], "4 × 2 = 8 > 6 × 1 = 6");
    assert_eq!(count["options"][1]["owners"], 1, "dan disagreed");
    assert_eq!(
        count["options"][2]["area_m2"], "100.00",
        "eve abstained, and took part"
    );
    assert_eq!(count["decision"]["outcome"], "carried");

    let tally = records(&host, "voting/tally");
    assert_eq!(tally.len(), 1);
    assert_eq!(result["tally_record"]["index"], tally[0].0);
    assert_eq!(tally[0].1["result"], result["result"]);
    let ballots: Vec<u64> = records(&host, "voting/ballot")
        .into_iter()
        .map(|(i, _)| i)
        .collect();
    assert_eq!(
        result["counted"],
        json!(ballots),
        "the last ballot of every unit"
    );
    let parts = records(&host, "voting/tally-part");
    assert_eq!(parts[0].1["counted"], json!(ballots));

    let told = host.messages_on("voting-result");
    assert_eq!(told.len(), 1);
    assert!(
        told[0].message.body.contains("Carried"),
        "{}",
        told[0].message.body
    );
    assert!(told[0].recipients().contains("ann"));
    assert!(
        host.timers().is_empty(),
        "the reminders went with the close"
    );
}

#[test]
fn with_too_few_taking_part_nothing_is_decided() {
    let mut host = host();
    let id = open_motion(&mut host, json!({}));
    vote(&mut host, "ann", &id, "agree");
    vote(&mut host, "ben", &id, "agree");
    vote(&mut host, "cai", &id, "agree");
    close(&mut host);
    let result = host
        .command(&resident("ann"), "result", json!({"motion": id}))
        .unwrap();
    let count = &result["result"];
    // 366.90 of 724.60 m² and 3 of 6 owners: short of two thirds on both.
    assert_eq!(count["participation"]["by_area"]["met"], false);
    assert_eq!(count["participation"]["by_owners"]["met"], false);
    assert_eq!(count["decision"]["outcome"], "no-quorum");
    assert_eq!(
        count["options"][0]["passed"], false,
        "unanimous, and still not passed"
    );
}

#[test]
fn rebuilding_needs_three_quarters_of_the_owners_as_well_as_of_the_area() {
    let mut host = host();
    let id = open_motion(&mut host, json!({"class": "rebuild-or-renovate"}));
    everyone_votes(&mut host, &id);
    close(&mut host);
    let result = host
        .command(&resident("ann"), "result", json!({"motion": id}))
        .unwrap();
    let agree = &result["result"]["options"][0];
    assert_eq!(result["result"]["passing_bar"], "at least 3/4");
    // 556.10 of 724.60 m² is 76.7 %; 4 of 6 owners is 66.7 %.
    assert_eq!(agree["by_area"]["met"], true);
    assert_eq!(agree["by_owners"]["met"], false);
    assert_eq!(result["result"]["decision"]["outcome"], "not-carried");
}

#[test]
fn a_committee_election_counts_each_candidate_against_the_bar() {
    let mut host = host();
    let candidates = json!({
        "class": "owners-committee",
        "title": "Elect two committee members",
        "candidates": ["Li Wei", "Wang Fang", "Zhao Min"],
        "seats": 2,
    });
    let id = open_motion(&mut host, candidates);
    for (person, approve) in [
        ("ann", json!(["Li Wei", "Wang Fang"])),
        ("ben", json!(["Li Wei"])),
        ("cai", json!(["Wang Fang", "Zhao Min"])),
        ("dan", json!(["Li Wei", "Zhao Min"])),
        ("eve", json!([])),
        ("dev", json!(["Wang Fang", "Li Wei"])),
    ] {
        host.command(
            &resident(person),
            "vote",
            json!({"motion": id, "approve": approve}),
        )
        .unwrap_or_else(|e| panic!("{person}: {e:?}"));
    }
    let three = host.command(
        &resident("ann"),
        "vote",
        json!({"motion": id, "approve": ["Li Wei", "Wang Fang", "Zhao Min"]}),
    );
    assert!(refusal(three).1.starts_with("approve"));
    close(&mut host);
    let result = host
        .command(&resident("ann"), "result", json!({"motion": id}))
        .unwrap();
    let options = result["result"]["options"].as_array().unwrap();
    assert_eq!(options[0]["option"], "Li Wei");
    assert_eq!(options[0]["area_m2"], "535.40");
    assert_eq!(options[0]["owners"], 4);
    assert_eq!(options[0]["passed"], true);
    // Wang Fang has most of the area but exactly half the owners: not more than half.
    assert_eq!(options[1]["area_m2"], "436.10");
    assert_eq!(options[1]["owners"], 3);
    assert_eq!(options[1]["by_owners"]["working"], "3 × 2 = 6 = 6 × 1 = 6");
    assert_eq!(options[1]["passed"], false);
    assert_eq!(
        result["result"]["decision"],
        json!({"outcome": "elected", "elected": ["Li Wei"], "tied": []})
    );
}

#[test]
fn owners_who_have_not_voted_are_reminded_at_most_twice() {
    let mut host = host();
    let id = open_motion(&mut host, json!({}));
    vote(&mut host, "ann", &id, "agree");
    vote(&mut host, "ben", &id, "agree");
    // Reminders fall three days and one day before the close, a week out.
    host.advance(Duration::from_millis(4 * DAY_MS as u64 + HOUR_MS as u64));
    let first = host.messages_on("voting-reminder");
    assert_eq!(first.len(), 1);
    assert_eq!(
        first[0].recipients(),
        &people(&["cai", "dan", "dev", "eve"]),
        "not ann, not ben, nor bea whose unit ben cast"
    );
    vote(&mut host, "cai", &id, "agree");
    host.advance(Duration::from_millis(2 * DAY_MS as u64));
    let both = host.messages_on("voting-reminder");
    assert_eq!(both.len(), 2);
    assert_eq!(both[1].recipients(), &people(&["dan", "dev", "eve"]));
    close(&mut host);
    assert_eq!(host.messages_on("voting-reminder").len(), 2);
}

#[test]
fn without_notify_the_vote_runs_all_the_same() {
    let mut host = SimulatedHost::<Voting>::builder(include_str!("../../linli.toml"))
        .map(sunny_court(Some(100.0)))
        .config(json!({"min-notice-ms": 0, "developer-voter": "dev"}))
        .grants(|g| g.notify = None)
        .start()
        .unwrap();
    let id = open_motion(&mut host, json!({}));
    everyone_votes(&mut host, &id);
    close(&mut host);
    assert!(host.messages().is_empty());
    let result = host
        .command(&resident("ann"), "result", json!({"motion": id}))
        .unwrap();
    assert_eq!(result["result"]["decision"]["outcome"], "carried");
}
