//! Casting ballots: one per unit, all of an owner's units in one command,
//! co-owners, the developer's units, changing a ballot, and what turnout
//! says while the vote runs.

use serde_json::json;

use super::*;

#[test]
fn one_command_casts_every_unit_of_an_owner_each_its_own_ballot_on_the_ledger() {
    let mut host = host();
    let id = open_motion(&mut host, json!({}));
    let cast = vote(&mut host, "ann", &id, "agree");
    let ballots = cast["ballots"].as_array().unwrap();
    assert_eq!(ballots.len(), 2);
    assert_eq!(ballots[0]["unit"], "b1-101");
    assert_eq!(ballots[1]["unit"], "b1-102");
    assert_eq!(ballots[0]["capacity"], json!({"as": "owner"}));
    let recorded = records(&host, "voting/ballot/ann");
    assert_eq!(recorded.len(), 2, "each unit is a ballot of its own");
    assert_eq!(ballots[0]["entry"]["index"], recorded[0].0);
    assert_eq!(
        recorded[0].1["choice"], "agree",
        "an open ballot is recorded in clear"
    );
    assert_eq!(recorded[0].1["cast_by"], "ann");
    assert!(ballots[0]["receipt"]
        .as_str()
        .unwrap()
        .ends_with("/receipt"));
}

#[test]
fn turnout_is_shown_against_both_quorum_lines_and_never_how_anyone_voted() {
    let mut host = host();
    let id = open_motion(&mut host, json!({}));
    vote(&mut host, "ann", &id, "agree");
    vote(&mut host, "cai", &id, "disagree");
    let seen = host
        .command(&resident("eve"), "participation", json!({"motion": id}))
        .unwrap();
    assert_eq!(seen["units"], json!({"voted": 3, "of": 8}));
    assert_eq!(seen["area_m2"], json!({"voted": "246.90", "of": "724.60"}));
    assert_eq!(seen["owners"], json!({"voted": 2, "of": 6}));
    assert_eq!(seen["quorum"], false);
    assert_eq!(seen["by_area"]["needs"], "at least 2/3");
    let text = seen.to_string();
    assert!(
        !text.contains("agree") && !seen.as_object().unwrap().contains_key("voted"),
        "{text}"
    );
    // Those who run motions see which units voted, to chase the quorum.
    let staff = host
        .command(&admin(), "participation", json!({"motion": id}))
        .unwrap();
    let voted: Vec<&str> = staff["voted"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["unit"].as_str().unwrap())
        .collect();
    assert_eq!(voted, ["b1-101", "b1-102", "b1-201"]);
    assert!(!staff.to_string().contains("agree"));
    assert_eq!(
        refusal(host.command(&resident("eve"), "result", json!({"motion": id}))).0,
        "invalid",
        "no partial results"
    );
}

#[test]
fn the_first_co_owner_to_vote_holds_the_units_ballot() {
    let mut host = host();
    let id = open_motion(&mut host, json!({}));
    vote(&mut host, "ben", &id, "agree");
    let (kind, why) = refusal(host.command(
        &resident("bea"),
        "vote",
        json!({"motion": id, "choice": "disagree"}),
    ));
    assert_eq!(kind, "denied");
    assert!(why.contains("held by co-owner ben"), "{why}");
    let seen = host
        .command(&resident("eve"), "participation", json!({"motion": id}))
        .unwrap();
    assert_eq!(
        seen["units"]["voted"], 1,
        "one unit, one ballot, however many own it"
    );
}

#[test]
fn a_co_owner_may_hand_the_ballot_to_another_before_it_is_cast() {
    let mut host = host();
    let id = open_motion(&mut host, json!({}));
    let handed = host
        .command(
            &resident("ben"),
            "designate",
            json!({"motion": id, "unit": "b1-103", "designee": "bea"}),
        )
        .unwrap();
    assert_eq!(handed["holder"], "bea");
    assert_eq!(
        refusal(host.command(
            &resident("ben"),
            "vote",
            json!({"motion": id, "choice": "agree"})
        ))
        .0,
        "denied"
    );
    vote(&mut host, "bea", &id, "disagree");
    let (kind, why) = refusal(host.command(
        &resident("bea"),
        "designate",
        json!({"motion": id, "unit": "b1-103", "designee": "ben"}),
    ));
    assert_eq!(kind, "invalid");
    assert!(why.contains("already cast"), "{why}");
    let (kind, _) = refusal(host.command(
        &resident("ann"),
        "designate",
        json!({"motion": id, "unit": "b1-103", "designee": "ann"}),
    ));
    assert_eq!(kind, "denied", "not ann's unit");
}

#[test]
fn the_developers_voter_casts_the_unsold_units_and_the_buyer_not_yet() {
    let mut host = host();
    let id = open_motion(&mut host, json!({}));
    let (kind, why) = refusal(host.command(
        &resident("fay"),
        "vote",
        json!({"motion": id, "choice": "agree"}),
    ));
    assert_eq!(kind, "denied");
    assert!(why.contains("unsold"), "{why}");
    let cast = vote(&mut host, "dev", &id, "agree");
    let units: Vec<&str> = cast["ballots"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["unit"].as_str().unwrap())
        .collect();
    assert_eq!(units, ["b1-202", "b2-102"]);
    assert_eq!(cast["ballots"][0]["capacity"], json!({"as": "developer"}));
    let seen = host
        .command(&resident("eve"), "participation", json!({"motion": id}))
        .unwrap();
    assert_eq!(
        seen["owners"]["voted"], 1,
        "the developer's units are one owner"
    );
}

#[test]
fn without_a_developers_voter_unsold_units_only_count_in_the_totals() {
    let mut host = sunny_court_with(json!({"developer-voter": null}));
    let id = open_motion(&mut host, json!({}));
    let (_, why) = refusal(host.command(
        &resident("dev"),
        "vote",
        json!({"motion": id, "choice": "agree"}),
    ));
    assert!(why.contains("no unit on the roll"), "{why}");
    let view = host
        .command(&resident("dev"), "motion", json!({"motion": id}))
        .unwrap();
    assert_eq!(view["totals"]["owners"], 6);
}

#[test]
fn a_voter_may_change_their_ballot_until_the_close_and_the_last_one_counts() {
    let mut host = host();
    let id = open_motion(&mut host, json!({}));
    vote(&mut host, "eve", &id, "disagree");
    let changed = vote(&mut host, "eve", &id, "agree");
    assert_eq!(changed["ballots"][0]["seq"], 2);
    assert_eq!(changed["ballots"][0]["replaces"], 1);
    assert_eq!(
        records(&host, "voting/ballot/eve").len(),
        2,
        "both stay on the ledger"
    );
    let seen = host
        .command(&resident("eve"), "participation", json!({"motion": id}))
        .unwrap();
    assert_eq!(seen["units"]["voted"], 1);
    close(&mut host);
    let result = host
        .command(&resident("eve"), "result", json!({"motion": id}))
        .unwrap();
    let counted = result["counted"].as_array().unwrap();
    assert_eq!(
        counted,
        &vec![json!(changed["ballots"][0]["entry"]["index"])]
    );
    assert_eq!(
        result["result"]["options"][0]["units"], 1,
        "the agree counted"
    );
    assert_eq!(
        refusal(host.command(
            &resident("eve"),
            "vote",
            json!({"motion": id, "choice": "abstain"})
        ))
        .0,
        "invalid",
        "closed"
    );
}

#[test]
fn a_motion_may_forbid_changing_a_cast_ballot() {
    let mut host = host();
    let id = open_motion(&mut host, json!({"ballots_may_change": false}));
    vote(&mut host, "eve", &id, "disagree");
    let (kind, why) = refusal(host.command(
        &resident("eve"),
        "vote",
        json!({"motion": id, "choice": "agree"}),
    ));
    assert_eq!(kind, "invalid");
    assert!(why.contains("does not let ballots change"), "{why}");
}

#[test]
fn units_named_are_all_cast_or_none() {
    let mut host = host();
    let id = open_motion(&mut host, json!({}));
    let one = host
        .command(
            &resident("ann"),
            "vote",
            json!({"motion": id, "choice": "agree", "units": ["b1-102"]}),
        )
        .unwrap();
    assert_eq!(one["ballots"].as_array().unwrap().len(), 1);
    let mixed = host.command(
        &resident("ann"),
        "vote",
        json!({"motion": id, "choice": "agree", "units": ["b1-101", "b1-201"]}),
    );
    let (kind, why) = refusal(mixed);
    assert_eq!(kind, "denied");
    assert!(why.starts_with("b1-201"), "{why}");
    assert_eq!(
        records(&host, "voting/ballot").len(),
        1,
        "b1-101 was not cast either"
    );
    let unknown = host.command(
        &resident("ann"),
        "vote",
        json!({"motion": id, "choice": "agree", "units": ["b7-701"]}),
    );
    assert_eq!(refusal(unknown).0, "not-found");
    let bad = host.command(
        &resident("ann"),
        "vote",
        json!({"motion": id, "choice": "yes"}),
    );
    assert!(refusal(bad).1.starts_with("choice"));
}

#[test]
fn an_admin_has_no_ballot() {
    let mut host = host();
    let id = open_motion(&mut host, json!({}));
    let (kind, why) =
        refusal(host.command(&admin(), "vote", json!({"motion": id, "choice": "agree"})));
    assert_eq!(kind, "denied");
    assert!(why.contains("no person"), "{why}");
}

#[test]
fn an_owner_sees_where_each_of_their_units_stands() {
    let mut host = host();
    let id = open_motion(&mut host, json!({}));
    vote(&mut host, "ben", &id, "agree");
    let view = host
        .command(&resident("bea"), "motion", json!({"motion": id}))
        .unwrap();
    let unit = &view["your_units"][0];
    assert_eq!(unit["unit"], "b1-103");
    assert_eq!(unit["may_cast"], false);
    assert_eq!(unit["cast"]["by"], "ben");
    assert!(!view.to_string().contains("\"agree\""), "not how ben voted");
}
