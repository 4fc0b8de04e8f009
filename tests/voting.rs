//! The voting scene on the demo community, as owners and the residents'
//! committee rely on it (Civil Code art. 278): an ordinary motion carries
//! with both majorities; raising the maintenance fund with 70% agreeing
//! does not (it needs three quarters); a motion too few owners take part in
//! fails for want of quorum; a unit votes once, or changes its ballot where
//! the motion allows; a non-owner and an owner of another building are
//! refused a building's motion; results stay hidden until the close; a
//! voter's receipt verifies offline with `linli ledger verify`; a recount
//! from the published ballot entries gives the tally; and on a secret
//! motion nothing an admin or another resident can read links a voter to
//! their choice.
//!
//! Sunny Garden: 96 units of 68.5, 89.2, 89.2 and 120.0 m² (8,805.60 m²),
//! 88 of them owned by one resident each, 8 standing empty (the
//! developer's, one head together): 89 owners by head count.

use std::collections::BTreeMap;
use std::process::Command;

use linli_tests::{
    demo_community_map, linli_binary, run_command, Client, Community, Reply, TestHost, START,
};
use serde_json::{json, Value};

const VOTING: &str = "voting";
const HOUR: i64 = 3_600_000;
const DAY: i64 = 24 * HOUR;

/// An owner of the demo map with their unit and its area in hundredths of a m².
#[derive(Debug, Clone)]
struct Owner {
    person: String,
    unit: String,
    centiares: u64,
}

/// The owners of the demo map, by unit.
fn owners() -> Vec<Owner> {
    let map = demo_community_map();
    let features = map["features"].as_array().unwrap();
    let areas: BTreeMap<&str, f64> = features
        .iter()
        .filter(|f| f["properties"]["kind"] == "unit")
        .map(|f| {
            (
                f["id"].as_str().unwrap(),
                f["properties"]["exclusive_area_m2"].as_f64().unwrap(),
            )
        })
        .collect();
    let mut owners: Vec<Owner> = features
        .iter()
        .filter(|f| f["properties"]["kind"] == "person")
        .flat_map(|f| {
            let person = f["id"].as_str().unwrap().to_owned();
            let areas = &areas;
            f["properties"]["links"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|l| l["kind"] == "owner-of")
                .map(move |l| {
                    let unit = l["target"].as_str().unwrap().to_owned();
                    Owner {
                        person: person.clone(),
                        centiares: (areas[unit.as_str()] * 100.0).round() as u64,
                        unit,
                    }
                })
        })
        .collect();
    owners.sort_by(|a, b| a.unit.cmp(&b.unit));
    owners
}

fn m2(centiares: u64) -> String {
    format!("{}.{:02}", centiares / 100, centiares % 100)
}

struct Assembly {
    host: TestHost,
    c: Community,
    installation: String,
}

async fn sunny_garden() -> Assembly {
    let host = TestHost::start().await;
    host.publish(VOTING).await;
    let c = host.community("sunny-garden").await;
    c.import_map(&demo_community_map()).await.expect(200);
    let installation = c
        .install(
            VOTING,
            linli_tests::requested_grants(VOTING),
            json!({"min-notice-ms": 0}),
        )
        .await;
    Assembly {
        host,
        c,
        installation,
    }
}

impl Assembly {
    /// Drafts and opens a motion, open from now for two days.
    async fn motion(&self, class: &str, extra: Value) -> String {
        let mut input = json!({"title": "A motion", "text": "The owners decide.", "class": class,
                               "opens_at": START, "closes_at": START + 2 * DAY});
        input
            .as_object_mut()
            .unwrap()
            .extend(extra.as_object().cloned().unwrap_or_default());
        let drafted = self
            .c
            .command(VOTING, "draft-motion", input)
            .await
            .expect(200);
        let id = drafted["motion"].as_str().unwrap().to_owned();
        let opened = self
            .c
            .command(VOTING, "open", json!({"motion": id}))
            .await
            .expect(200);
        assert_eq!(opened["stage"], "open", "{opened}");
        id
    }

    async fn owner(&self, person: &str) -> Client {
        self.c.person("resident", person).await
    }

    async fn vote(&self, person: &str, motion: &str, choice: &str) -> Reply {
        run(
            &self.owner(person).await,
            "vote",
            json!({"motion": motion, "choice": choice}),
        )
        .await
    }

    /// Moves past the close and waits for the tally.
    async fn close(&self) {
        self.host.advance(2 * DAY + HOUR);
        linli_tests::eventually("the motion closes", || async {
            self.c.settle(&self.installation).await;
            self.c
                .command(VOTING, "list-motions", json!({"stage": "closed"}))
                .await
                .body["motions"]
                .as_array()
                .is_some_and(|m| !m.is_empty())
        })
        .await;
    }

    async fn result(&self, motion: &str) -> Value {
        self.c
            .command(VOTING, "result", json!({"motion": motion}))
            .await
            .expect(200)
    }
}

async fn run(client: &Client, name: &str, input: Value) -> Reply {
    run_command(client, "sunny-garden", VOTING, name, input).await
}

fn agree_option(result: &Value) -> &Value {
    result["result"]["options"]
        .as_array()
        .unwrap()
        .iter()
        .find(|o| o["option"] == "agree")
        .expect("an agree option")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_ordinary_motion_carries_with_both_majorities_hidden_until_the_close_and_recounts_from_the_ledger(
) {
    let a = sunny_garden().await;
    let owners = owners();
    assert_eq!(owners.len(), 88);
    let motion = a.motion("management-covenant", json!({})).await;
    let mut cast = Vec::new();
    for (i, owner) in owners.iter().enumerate() {
        let choice = if i < 60 { "agree" } else { "disagree" };
        let voted = a.vote(&owner.person, &motion, choice).await.expect(200);
        cast.push(voted["ballots"][0].clone());
    }
    let before =
        a.c.command(VOTING, "result", json!({"motion": motion}))
            .await;
    assert_ne!(before.status, 200, "no result before the close: {before:?}");
    let turnout =
        a.c.command(VOTING, "participation", json!({"motion": motion}))
            .await
            .expect(200);
    assert_eq!(turnout["owners"], json!({"voted": 88, "of": 89}));
    assert_eq!(turnout["area_m2"]["of"], "8805.60");
    assert!(
        !turnout.to_string().contains("agree"),
        "turnout shows no choices: {turnout}"
    );

    a.close().await;
    let result = a.result(&motion).await;
    assert_eq!(
        result["result"]["decision"]["outcome"], "carried",
        "{result}"
    );
    let agreed: u64 = owners[..60].iter().map(|o| o.centiares).sum();
    assert_eq!(agree_option(&result)["area_m2"], m2(agreed));
    assert_eq!(agree_option(&result)["owners"], 60);

    // Any resident recounts from the ledger alone: the roll's parts give
    // every unit's area, the ballots the tally names give the choices.
    let neighbour = a.owner(&owners[87].person).await;
    let record = |index: Value| {
        let neighbour = &neighbour;
        async move {
            let entry = neighbour
                .get(&format!(
                    "/api/v1/communities/sunny-garden/ledger/entries/{index}"
                ))
                .await
                .expect(200);
            let body: Value = serde_json::from_str(entry["body"].as_str().unwrap()).unwrap();
            (
                body["record-kind"].as_str().unwrap().to_owned(),
                body["body"].clone(),
            )
        }
    };
    let published = run(&neighbour, "result", json!({"motion": motion}))
        .await
        .expect(200);
    let mut area_of: BTreeMap<String, u64> = BTreeMap::new();
    for index in published["roll_records"]
        .as_array()
        .expect("the roll's records")
    {
        let (kind, part) = record(index.clone()).await;
        assert_eq!(kind, "voting/roll");
        for unit in part["units"].as_array().unwrap() {
            let centiares = unit[1].as_str().unwrap().replace('.', "").parse().unwrap();
            area_of.insert(unit[0].as_str().unwrap().to_owned(), centiares);
        }
    }
    assert_eq!(
        m2(area_of.values().sum()),
        turnout["area_m2"]["of"].as_str().unwrap(),
        "the roll on the ledger is the whole area"
    );
    let (tally_kind, _) = record(published["tally_record"]["index"].clone()).await;
    assert_eq!(tally_kind, "voting/tally");
    let counted = published["counted"]
        .as_array()
        .expect("the counted entries");
    assert_eq!(counted.len(), 88);
    let (mut units, mut area) = (0, 0);
    for index in counted {
        let (kind, ballot) = record(index.clone()).await;
        assert!(kind.starts_with("voting/ballot/"), "{kind}");
        assert_eq!(ballot["motion"], motion.as_str());
        if ballot["choice"] == "agree" {
            units += 1;
            area += area_of[ballot["unit"].as_str().unwrap()];
        }
    }
    assert_eq!(
        (units, m2(area)),
        (
            60,
            agree_option(&result)["area_m2"]
                .as_str()
                .unwrap()
                .to_owned()
        )
    );

    // The first voter checks their ballot's receipt offline.
    let voter = a.owner(&owners[0].person).await;
    let index = cast[0]["entry"]["index"]
        .as_u64()
        .expect("the ballot's entry");
    let receipt = voter
        .get(&format!(
            "/api/v1/communities/sunny-garden/ledger/entries/{index}/receipt"
        ))
        .await
        .expect(200);
    let key = a.host.ledger_public_key().await;
    let file = a.host.data_dir().join("ballot-receipt.json");
    std::fs::write(&file, receipt.to_string()).unwrap();
    let verified = Command::new(linli_binary())
        .args(["ledger", "verify", file.to_str().unwrap(), "--key", &key])
        .output()
        .unwrap();
    assert!(
        verified.status.success(),
        "{}",
        String::from_utf8_lossy(&verified.stderr)
    );
    assert!(String::from_utf8_lossy(&verified.stdout).starts_with("verified"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn raising_the_maintenance_fund_with_seventy_percent_agreeing_fails_and_too_few_voters_is_no_quorum(
) {
    let a = sunny_garden().await;
    let owners = owners();
    let raise = a.motion("raise-maintenance-fund", json!({})).await;
    let thin = a.motion("management-covenant", json!({})).await;
    for (i, owner) in owners.iter().enumerate() {
        // 62 of 88 (70.5%) agree to the raise.
        a.vote(
            &owner.person,
            &raise,
            if i < 62 { "agree" } else { "disagree" },
        )
        .await
        .expect(200);
        // 50 of 89 owners take part in the other: under two thirds.
        if i < 50 {
            a.vote(&owner.person, &thin, "agree").await.expect(200);
        }
    }
    a.close().await;
    let raised = a.result(&raise).await;
    assert_eq!(
        raised["result"]["decision"]["outcome"], "not-carried",
        "{raised}"
    );
    assert_eq!(raised["result"]["passing_bar"], "at least 3/4");
    assert_eq!(agree_option(&raised)["by_owners"]["met"], false);
    let thin = a.result(&thin).await;
    assert_eq!(thin["result"]["decision"]["outcome"], "no-quorum", "{thin}");
    assert_eq!(thin["result"]["participation"]["by_owners"]["met"], false);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_unit_votes_once_or_changes_its_ballot_and_others_are_refused() {
    let a = sunny_garden().await;
    let owners = owners();
    let in_b1 = owners.iter().find(|o| o.unit.starts_with("b1-")).unwrap();
    let in_b2 = owners.iter().find(|o| o.unit.starts_with("b2-")).unwrap();
    let fixed = a
        .motion(
            "rebuild-or-renovate",
            json!({"scope": "building-1", "ballots_may_change": false}),
        )
        .await;
    let changing = a
        .motion("rebuild-or-renovate", json!({"scope": "building-1"}))
        .await;

    a.vote(&in_b1.person, &fixed, "agree").await.expect(200);
    let again = a.vote(&in_b1.person, &fixed, "disagree").await;
    assert!(
        again.status == 400 || again.status == 403,
        "a second ballot is refused: {again:?}"
    );
    let other_building = a.vote(&in_b2.person, &fixed, "agree").await;
    assert_eq!(
        other_building.status, 403,
        "building 2's owner has no say on building 1: {other_building:?}"
    );
    // A resident of building 1 who owns nothing.
    let map = demo_community_map();
    let tenant = map["features"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| {
            f["properties"]["links"].as_array().is_some_and(|links| {
                links.iter().any(|l| {
                    l["kind"] == "resident-of"
                        && l["target"].as_str().is_some_and(|t| t.starts_with("b1-"))
                }) && !links.iter().any(|l| l["kind"] == "owner-of")
            })
        })
        .map(|f| f["id"].as_str().unwrap().to_owned())
        .expect("a resident of building 1 who owns nothing");
    assert_eq!(a.vote(&tenant, &fixed, "agree").await.status, 403);

    a.vote(&in_b1.person, &changing, "agree").await.expect(200);
    a.vote(&in_b1.person, &changing, "disagree")
        .await
        .expect(200);
    let mine = run(
        &a.owner(&in_b1.person).await,
        "my-ballot",
        json!({"motion": changing}),
    )
    .await
    .expect(200);
    // The unit's ballot is the second one; the first is replaced, not added.
    let ballots = mine["ballots"].as_array().unwrap();
    assert_eq!(ballots.len(), 1, "{mine}");
    assert_eq!(
        (&ballots[0]["choice"], &ballots[0]["seq"]),
        (&json!("disagree"), &json!(2)),
        "{mine}"
    );
    let turnout =
        a.c.command(VOTING, "participation", json!({"motion": changing}))
            .await
            .expect(200);
    assert_eq!(turnout["units"]["voted"], 1);

    // A written proxy is on the ledger for its owner and the staff, not
    // for the neighbours: only the records the scene publishes are.
    let giver = owners
        .iter()
        .find(|o| o.unit.starts_with("b1-") && o.person != in_b1.person)
        .unwrap();
    let proxied = run(
        &a.owner(&giver.person).await,
        "authorise-proxy",
        json!({"motion": changing, "proxy": tenant, "document_sha256": "ab".repeat(32)}),
    )
    .await
    .expect(200);
    let index = &proxied["units"][0]["entry"]["index"];
    let path = format!("/api/v1/communities/sunny-garden/ledger/entries/{index}");
    let neighbour = a.owner(&in_b2.person).await;
    assert_eq!(neighbour.get(&path).await.status, 403);
    let own = a.owner(&giver.person).await.get(&path).await.expect(200);
    assert!(
        own["body"].as_str().unwrap().contains("voting/proxy/"),
        "{own}"
    );
}

/// Every object in `value` that names `unit` and also holds `needle` in one of its fields.
fn links(value: &Value, unit: &str, needle: &str) -> Vec<Value> {
    let mut found = Vec::new();
    match value {
        Value::Object(fields) => {
            let names_unit = fields.values().any(|v| v == unit);
            let holds = fields
                .values()
                .any(|v| v == needle || v.as_str().is_some_and(|s| s.contains(needle)));
            if names_unit && holds {
                found.push(value.clone());
            }
            for v in fields.values() {
                found.extend(links(v, unit, needle));
            }
        }
        Value::Array(items) => items
            .iter()
            .for_each(|v| found.extend(links(v, unit, needle))),
        Value::String(text) if text.starts_with('{') => {
            if let Ok(inner) = serde_json::from_str::<Value>(text) {
                found.extend(links(&inner, unit, needle));
            }
        }
        _ => {}
    }
    found
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_a_secret_motion_nobody_else_can_link_a_voter_to_their_choice() {
    let a = sunny_garden().await;
    let owners = owners();
    let motion = a.motion("other-major", json!({"secret": true})).await;
    let voter = &owners[0];
    let neighbour = &owners[1];
    a.vote(&voter.person, &motion, "disagree").await.expect(200);
    for owner in &owners[1..70] {
        a.vote(&owner.person, &motion, "agree").await.expect(200);
    }
    let mine = run(
        &a.owner(&voter.person).await,
        "my-ballot",
        json!({"motion": motion}),
    )
    .await
    .expect(200);
    assert_eq!(
        mine["ballots"][0]["choice"], "disagree",
        "the voter sees their own: {mine}"
    );

    let mut seen = Vec::new();
    let neighbour_client = a.owner(&neighbour.person).await;
    for (name, input) in [
        ("motion", json!({"motion": motion})),
        ("participation", json!({"motion": motion})),
        ("list-motions", json!({})),
    ] {
        seen.push(a.c.command(VOTING, name, input.clone()).await.expect(200));
        seen.push(run(&neighbour_client, name, input).await.expect(200));
    }
    a.close().await;
    seen.push(a.result(&motion).await);
    seen.push(
        run(&neighbour_client, "result", json!({"motion": motion}))
            .await
            .expect(200),
    );
    seen.push(Value::from(a.c.ledger_entries().await));
    for reply in &seen {
        let linked = links(reply, &voter.unit, "disagree");
        assert!(
            linked.is_empty(),
            "{} is linked to its choice: {linked:?}",
            voter.unit
        );
    }
    let result = &seen[seen.len() - 3];
    assert_eq!(
        result["result"]["decision"]["outcome"], "carried",
        "{result}"
    );
}
