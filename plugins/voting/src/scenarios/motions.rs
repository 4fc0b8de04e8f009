//! Motions from draft to opening: who may draft, the notice, the timer,
//! the frozen roll and what the ledger records of it.

use std::time::Duration;

use serde_json::json;

use super::*;

#[test]
fn a_committee_motion_is_announced_opens_on_its_timer_and_records_its_roll() {
    let mut host = sunny_court_with(json!({"min-notice-ms": DAY_MS}));
    let input = draft_input(&host, 2 * DAY_MS, json!({}));
    let drafted = host.command(&kim(), "draft-motion", input).unwrap();
    assert_eq!(drafted["motion"], "motion-1");
    assert_eq!(drafted["stage"], "draft");
    assert_eq!(drafted["passing_bar"], "more than 1/2");

    let scheduled = host
        .command(&kim(), "open", json!({"motion": "motion-1"}))
        .unwrap();
    assert_eq!(scheduled["stage"], "scheduled");
    let told = host.messages_on("voting-motion");
    assert_eq!(told.len(), 1);
    assert_eq!(
        told[0].recipients(),
        &people(&["ann", "bea", "ben", "cai", "dan", "dev", "eve", "fay"]),
        "every owner under the scope, and the developer's voter"
    );
    assert!(
        records(&host, "voting/motion").is_empty(),
        "nothing is frozen before it opens"
    );

    host.advance(Duration::from_millis(2 * DAY_MS as u64));
    let view = host
        .command(&resident("ann"), "motion", json!({"motion": "motion-1"}))
        .unwrap();
    assert_eq!(view["stage"], "open");
    assert_eq!(
        host.messages_on("voting-motion").len(),
        2,
        "opened, told again"
    );
    let opening = records(&host, "voting/motion");
    assert_eq!(opening.len(), 1);
    assert_eq!(
        opening[0].1["totals"],
        json!({"units": 8, "area_m2": "724.60", "owners": 6})
    );
    assert_eq!(opening[0].1["class"], "use-maintenance-fund");
    let roll = records(&host, "voting/roll");
    assert_eq!(roll.len(), 1);
    let units = roll[0].1["units"].as_array().unwrap();
    assert_eq!(units.len(), 8);
    assert_eq!(units[0], json!(["b1-101", "89.20", "h1"]));
    assert_eq!(
        units[1],
        json!(["b1-102", "68.50", "h1"]),
        "ann's two units, one head"
    );
    assert!(units.contains(&json!(["b2-102", "100.00", "developer"])));
    let tags: Vec<String> = host.timers().into_iter().map(|(tag, _)| tag).collect();
    assert_eq!(
        tags,
        ["close/motion-1", "remind/motion-1/1", "remind/motion-1/2"]
    );
}

#[test]
fn a_motion_opens_at_once_when_its_time_has_come() {
    let mut host = host();
    let id = open_motion(&mut host, json!({}));
    assert_eq!(id, "motion-1");
    assert_eq!(records(&host, "voting/motion").len(), 1);
}

#[test]
fn owners_must_be_told_the_notice_period_ahead() {
    let mut host = sunny_court_with(json!({"min-notice-ms": 15 * DAY_MS}));
    let input = draft_input(&host, 10 * DAY_MS, json!({}));
    host.command(&kim(), "draft-motion", input).unwrap();
    let (kind, why) = refusal(host.command(&kim(), "open", json!({"motion": "motion-1"})));
    assert_eq!(kind, "invalid");
    assert!(
        why.starts_with("opens_at") && why.contains("min-notice-ms"),
        "{why}"
    );
}

#[test]
fn only_the_committee_of_the_scope_or_an_admin_drafts_and_drafts_stay_theirs() {
    let mut host = host();
    let (kind, why) = refusal(host.command(
        &resident("ann"),
        "draft-motion",
        draft_input(&host, 0, json!({})),
    ));
    assert_eq!(kind, "denied");
    assert!(why.contains("owners' committee"), "{why}");
    // lee sits on building b2's committee: b2's motions, not the compound's.
    let compound = draft_input(&host, 0, json!({}));
    assert_eq!(
        refusal(host.command(&resident("lee"), "draft-motion", compound)).0,
        "denied"
    );
    let b2 = draft_input(&host, 0, json!({"scope": "b2"}));
    host.command(&resident("lee"), "draft-motion", b2).unwrap();
    host.command(&admin(), "draft-motion", draft_input(&host, 0, json!({})))
        .unwrap();

    let listed = host
        .command(&resident("ann"), "list-motions", json!({}))
        .unwrap();
    assert_eq!(
        listed["motions"],
        json!([]),
        "drafts are not yet the owners'"
    );
    assert_eq!(
        refusal(host.command(&resident("ann"), "motion", json!({"motion": "motion-1"}))).0,
        "not-found"
    );
    let listed = host
        .command(&kim(), "list-motions", json!({"stage": "draft"}))
        .unwrap();
    assert_eq!(listed["motions"].as_array().unwrap().len(), 2);
}

#[test]
fn a_building_motion_is_its_owners_alone() {
    let mut host = host();
    let input = draft_input(&host, 0, json!({"scope": "b2"}));
    host.command(&resident("lee"), "draft-motion", input)
        .unwrap();
    let opened = host
        .command(&resident("lee"), "open", json!({"motion": "motion-1"}))
        .unwrap();
    assert_eq!(
        opened["totals"],
        json!({"units": 2, "area_m2": "200.00", "owners": 2})
    );
    assert_eq!(
        host.messages_on("voting-motion")[0].recipients(),
        &people(&["dev", "eve", "fay"])
    );
    let (kind, why) = refusal(host.command(
        &resident("ann"),
        "vote",
        json!({"motion": "motion-1", "choice": "agree"}),
    ));
    assert_eq!(kind, "denied");
    assert!(why.contains("no unit on the roll"), "{why}");
    vote(&mut host, "eve", "motion-1", "agree");
}

#[test]
fn a_scope_with_a_unit_of_unknown_area_does_not_open_and_says_which() {
    let mut host = SimulatedHost::<Voting>::builder(include_str!("../../linli.toml"))
        .map(sunny_court(None))
        .config(json!({"min-notice-ms": 0}))
        .start()
        .unwrap();
    host.command(
        &kim(),
        "draft-motion",
        draft_input(&host, DAY_MS, json!({})),
    )
    .unwrap();
    let (kind, why) = refusal(host.command(&kim(), "open", json!({"motion": "motion-1"})));
    assert_eq!(kind, "invalid");
    assert!(why.starts_with("scope:") && why.contains("b2-102"), "{why}");
    // Building b1 has every area: its own motion opens.
    let b1 = draft_input(&host, 0, json!({"scope": "b1"}));
    host.command(&kim(), "draft-motion", b1).unwrap();
    let opened = host
        .command(&kim(), "open", json!({"motion": "motion-2"}))
        .unwrap();
    assert_eq!(
        opened["totals"],
        json!({"units": 6, "area_m2": "524.60", "owners": 5})
    );
}

#[test]
fn a_withdrawn_motion_is_told_and_never_opens() {
    let mut host = host();
    host.command(
        &kim(),
        "draft-motion",
        draft_input(&host, DAY_MS, json!({})),
    )
    .unwrap();
    host.command(&kim(), "open", json!({"motion": "motion-1"}))
        .unwrap();
    let withdrawn = host
        .command(
            &kim(),
            "withdraw",
            json!({"motion": "motion-1", "reason": "a better quote came in"}),
        )
        .unwrap();
    assert_eq!(withdrawn["stage"], "withdrawn");
    assert!(withdrawn["withdrawn"]
        .as_str()
        .unwrap()
        .contains("better quote"));
    assert_eq!(
        host.messages_on("voting-motion").len(),
        2,
        "scheduled, then withdrawn"
    );
    host.advance(Duration::from_millis(2 * DAY_MS as u64));
    assert!(records(&host, "voting/motion").is_empty());
    assert_eq!(
        refusal(host.command(&kim(), "withdraw", json!({"motion": "motion-1"}))).0,
        "invalid"
    );
}

#[test]
fn drafts_are_checked_field_by_field() {
    let mut host = host();
    let bad_scope = draft_input(&host, 0, json!({"scope": "b1-101"}));
    let (kind, why) = refusal(host.command(&kim(), "draft-motion", bad_scope));
    assert_eq!(kind, "invalid");
    assert!(why.starts_with("scope:"), "{why}");
    let no_place = draft_input(&host, 0, json!({"scope": "b9"}));
    assert_eq!(
        refusal(host.command(&kim(), "draft-motion", no_place)).0,
        "not-found"
    );
    let unknown_class = draft_input(&host, 0, json!({"class": "fund"}));
    let (_, why) = refusal(host.command(&kim(), "draft-motion", unknown_class));
    assert!(why.contains("class"), "{why}");
    let short = draft_input(&host, 0, json!({"closes_at": host.now() + HOUR_MS}));
    let (_, why) = refusal(host.command(&kim(), "draft-motion", short));
    assert!(why.starts_with("closes_at"), "{why}");
}

#[test]
fn a_draft_left_past_its_opening_still_owes_the_owners_their_voting_time() {
    let mut host = host();
    let input = draft_input(&host, 0, json!({"closes_at": host.now() + 2 * DAY_MS}));
    host.command(&kim(), "draft-motion", input).unwrap();
    host.advance(Duration::from_millis(36 * HOUR_MS as u64));
    let (kind, why) = refusal(host.command(&kim(), "open", json!({"motion": "motion-1"})));
    assert_eq!(kind, "invalid");
    assert!(why.contains("min-voting-ms"), "{why}");
}
