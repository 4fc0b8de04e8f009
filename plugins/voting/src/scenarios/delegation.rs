//! Written proxies: recorded, revocable until the proxy casts, and while
//! they stand the only hands a unit's ballot is in.

use serde_json::json;

use super::*;

fn document() -> String {
    "5f".repeat(32)
}

#[test]
fn an_owners_proxy_is_recorded_and_casts_in_their_stead() {
    let mut host = host();
    let id = open_motion(&mut host, json!({}));
    let granted = host
        .command(
            &resident("cai"),
            "authorise-proxy",
            json!({"motion": id, "proxy": "pat", "document_sha256": document()}),
        )
        .unwrap();
    assert_eq!(granted["units"][0]["unit"], "b1-201");
    let recorded = records(&host, "voting/proxy/cai");
    assert_eq!(recorded.len(), 1);
    assert_eq!(recorded[0].1["action"], "authorise");
    assert_eq!(recorded[0].1["proxy"], "pat");
    assert_eq!(recorded[0].1["document_sha256"], document());

    let (kind, why) = refusal(host.command(
        &resident("cai"),
        "vote",
        json!({"motion": id, "choice": "agree"}),
    ));
    assert_eq!(kind, "denied");
    assert!(why.contains("revokes the proxy"), "{why}");
    let cast = vote(&mut host, "pat", &id, "disagree");
    assert_eq!(cast["ballots"][0]["unit"], "b1-201");
    assert_eq!(
        cast["ballots"][0]["capacity"],
        json!({"as": "proxy", "for": "cai"})
    );
    let (kind, why) =
        refusal(host.command(&resident("cai"), "revoke-proxy", json!({"motion": id})));
    assert_eq!(kind, "invalid");
    assert!(why.contains("already cast"), "{why}");
    // cai sees how his proxy voted for him.
    let mine = host
        .command(&resident("cai"), "my-ballot", json!({"motion": id}))
        .unwrap();
    assert_eq!(mine["ballots"][0]["choice"], "disagree");
}

#[test]
fn a_proxy_revoked_before_it_casts_hands_the_ballot_back() {
    let mut host = host();
    let id = open_motion(&mut host, json!({}));
    host.command(
        &resident("ann"),
        "authorise-proxy",
        json!({"motion": id, "proxy": "pat", "document_sha256": document(), "units": ["b1-102"]}),
    )
    .unwrap();
    let revoked = host
        .command(&resident("ann"), "revoke-proxy", json!({"motion": id}))
        .unwrap();
    assert_eq!(revoked["revoked"][0]["unit"], "b1-102");
    let actions: Vec<String> = records(&host, "voting/proxy/ann")
        .into_iter()
        .map(|(_, body)| body["action"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(actions, ["authorise", "revoke"]);
    let (kind, _) = refusal(host.command(
        &resident("pat"),
        "vote",
        json!({"motion": id, "choice": "agree"}),
    ));
    assert_eq!(kind, "denied", "pat holds nothing any more");
    let cast = vote(&mut host, "ann", &id, "agree");
    assert_eq!(cast["ballots"].as_array().unwrap().len(), 2);
}

#[test]
fn one_proxy_may_carry_several_owners_ballots_in_one_command() {
    let mut host = host();
    let id = open_motion(&mut host, json!({}));
    for owner in ["cai", "dan", "eve"] {
        host.command(
            &resident(owner),
            "authorise-proxy",
            json!({"motion": id, "proxy": "pat", "document_sha256": document()}),
        )
        .unwrap();
    }
    let cast = vote(&mut host, "pat", &id, "agree");
    let units: Vec<&str> = cast["ballots"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["unit"].as_str().unwrap())
        .collect();
    assert_eq!(units, ["b1-201", "b1-203", "b2-101"]);
}

#[test]
fn a_proxy_needs_a_person_a_document_and_a_ballot_not_yet_cast() {
    let mut host = host();
    let id = open_motion(&mut host, json!({}));
    let unknown = host.command(
        &resident("cai"),
        "authorise-proxy",
        json!({"motion": id, "proxy": "nobody", "document_sha256": document()}),
    );
    assert!(refusal(unknown).1.starts_with("proxy:"));
    let bad_hash = host.command(
        &resident("cai"),
        "authorise-proxy",
        json!({"motion": id, "proxy": "pat", "document_sha256": "signed"}),
    );
    assert!(refusal(bad_hash).1.starts_with("document_sha256"));
    let myself = host.command(
        &resident("cai"),
        "authorise-proxy",
        json!({"motion": id, "proxy": "cai", "document_sha256": document()}),
    );
    assert_eq!(refusal(myself).0, "invalid");
    vote(&mut host, "cai", &id, "agree");
    let late = host.command(
        &resident("cai"),
        "authorise-proxy",
        json!({"motion": id, "proxy": "pat", "document_sha256": document()}),
    );
    assert!(refusal(late).1.contains("already cast"));
}

#[test]
fn a_co_owner_acting_first_through_a_proxy_holds_the_unit() {
    let mut host = host();
    let id = open_motion(&mut host, json!({}));
    host.command(
        &resident("bea"),
        "authorise-proxy",
        json!({"motion": id, "proxy": "pat", "document_sha256": document()}),
    )
    .unwrap();
    let (_, why) = refusal(host.command(
        &resident("ben"),
        "vote",
        json!({"motion": id, "choice": "agree"}),
    ));
    assert!(why.contains("authorised pat"), "{why}");
    assert!(
        refusal(host.command(&resident("ben"), "revoke-proxy", json!({"motion": id})))
            .1
            .contains("no proxy")
    );
}
