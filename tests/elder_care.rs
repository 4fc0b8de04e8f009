//! Elder care in the demo community (Sunny Garden), with the real host and
//! the real elder-care plugin: a shopping request offered to the nearest
//! free volunteer and widened when nobody accepts, paid in time coins with a
//! receipt that verifies; coins that move once however often a step is
//! repeated, and a floor that stops requests; heart-rate, fall and welfare
//! alarms that reach the right people and stop escalating at the first
//! acknowledgement; and an upgrade in the middle of it all that loses
//! nothing.
//!
//! People of the demo map used here: `person-001` lives alone in b1-104
//! (ground floor of building 1); `person-005` (b1-101) and `person-210`
//! (elsewhere) are her family; `person-003` lives alone in b3-104 with
//! family `person-038` and `person-212`; `person-214` and `person-215` are
//! the grid workers of the west and east cells; `person-218` is the
//! community doctor; `person-219` and `person-220` are security.

use linli_host::caps::ledger::checkpoint::SignedCheckpoint;
use linli_host::caps::ledger::log::Receipt;
use linli_host::caps::ledger::merkle::{self, InclusionProof};
use linli_tests::{
    eventually, package_with, recipients, run_command, Client, Community, Device, Reply, TestHost,
    START,
};
use serde_json::{json, Value};

const PLUGIN: &str = "elder-care";
const COMMUNITY: &str = "sunny-garden";
const MINUTE: i64 = 60_000;
const HOUR: i64 = 60 * MINUTE;

/// A host with the demo community's map and elder-care installed with `config`.
async fn sunny_garden(config: Value) -> (TestHost, Community, String) {
    TestHost::demo_with(PLUGIN, config).await
}

/// Runs a plugin command with a person's (or anyone's) token.
async fn run(client: &Client, name: &str, input: Value) -> Reply {
    run_command(client, COMMUNITY, PLUGIN, name, input).await
}

async fn person(c: &Community, id: &str) -> Client {
    c.person("resident", id).await
}

/// Joins `person` as an admin would for them, with declared skills and windows.
async fn join(c: &Community, person: &str, skills: &[&str], availability: Value) {
    c.command(
        PLUGIN,
        "join",
        json!({"for": person, "skills": skills, "availability": availability}),
    )
    .await
    .expect(200);
}

async fn balance(c: &Community, person: &str) -> i64 {
    c.command(PLUGIN, "balance", json!({"for": person}))
        .await
        .expect(200)["balance"]
        .as_i64()
        .expect("a balance")
}

async fn show_request(c: &Community, id: &str) -> Value {
    c.command(PLUGIN, "show-request", json!({"request": id}))
        .await
        .expect(200)
}

fn offered(request: &Value) -> Vec<String> {
    request["offers"]
        .as_array()
        .expect("offers")
        .iter()
        .map(|o| o["person"].as_str().expect("a person").to_owned())
        .collect()
}

/// Waits until exactly one notification of `topic` exists, and returns it with its deliveries.
async fn the_notification(c: &Community, topic: &str) -> Value {
    eventually(&format!("a {topic} notification"), || async {
        !c.notifications(topic).await.is_empty()
    })
    .await;
    let all = c.notifications(topic).await;
    assert_eq!(all.len(), 1, "one {topic} notification: {all:?}");
    c.notification(all[0]["id"].as_str().expect("an id")).await
}

/// The person's inbox items of `topic`, newest first.
async fn inbox(client: &Client, topic: &str) -> Vec<Value> {
    client.get("/api/v1/me/inbox?limit=100").await.expect(200)["items"]
        .as_array()
        .expect("items")
        .iter()
        .filter(|item| item["topic"] == topic)
        .cloned()
        .collect()
}

/// Acknowledges the newest inbox item of `topic` as the person holding `client`.
async fn acknowledge_newest(client: &Client, topic: &str) {
    let items = inbox(client, topic).await;
    let message = items[0]["message_id"].as_str().expect("an id");
    client
        .post(&format!("/api/v1/me/inbox/{message}/ack"), json!({}))
        .await
        .expect(200);
}

/// person-001's watch, registered by her daughter, who also records her
/// mother's consent to health monitoring (without it the host gives the
/// scene none of the watch's health readings).
async fn elder_watch(c: &Community) -> Device {
    let watch = c
        .worn_device(
            "watch-001",
            &["heart-rate", "fall", "sos", "steps"],
            "person-001",
        )
        .await;
    c.consent("person-001", "health-monitoring", true).await;
    let daughter = person(c, "person-005").await;
    run(
        &daughter,
        "register-wearable",
        json!({"device": "watch-001", "person": "person-001"}),
    )
    .await
    .expect(200);
    watch
}

/// The volunteers of the shopping scenario around person-001 (b1-104).
async fn shopping_volunteers(c: &Community) {
    // 3 m away (upstairs), but does not shop.
    join(c, "person-014", &["cleaning"], json!([])).await;
    // Next door, shops, but only at weekends.
    join(
        c,
        "person-008",
        &["shopping"],
        json!([{"days": ["sat", "sun"], "from": "08:00", "to": "20:00"}]),
    )
    .await;
    // Next door, shops, free on Thursdays.
    join(
        c,
        "person-007",
        &["shopping"],
        json!([{"days": ["thu"], "from": "09:00", "to": "18:00"}]),
    )
    .await;
    // Three floors up and one unit along: about 22 m; never said when.
    join(c, "person-030", &["shopping"], json!([])).await;
    // Building 4, about 100 m: shopping is on the map.
    join(c, "person-166", &[], json!([])).await;
}

/// person-001's weekly shop, filed by her daughter: 90 minutes some time
/// between 10:00 and 13:00 on Thursday 1 January 2026 (the test clock
/// starts at 08:00 that day in Shanghai).
fn weekly_shop() -> Value {
    json!({"for": "person-001", "need": "shopping", "start": START + 2 * HOUR,
           "end": START + 5 * HOUR, "minutes": 90, "key": "weekly-shop"})
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_shopping_request_goes_to_the_nearest_free_volunteer_widens_and_pays_ninety_minutes_with_a_receipt(
) {
    let (host, c, _) = sunny_garden(json!({"offer-group-size": 1, "offer-radius-m": 50})).await;
    shopping_volunteers(&c).await;
    let daughter = person(&c, "person-005").await;
    run(&daughter, "join", json!({"for": "person-001"}))
        .await
        .expect(200);

    let filed = run(&daughter, "request", weekly_shop()).await.expect(200);
    let id = filed["id"].as_str().expect("a request id").to_owned();
    assert_eq!(filed["filed-by"], "person-005");
    assert_eq!(
        offered(&filed),
        ["person-007"],
        "the nearest volunteer who shops and is free then"
    );
    let first = person(&c, "person-007").await;
    eventually("the offer reaches person-007's inbox", || async {
        inbox(&first, "timebank-offer")
            .await
            .iter()
            .any(|item| item["data"]["request"] == id.as_str())
    })
    .await;

    host.advance(10 * MINUTE - 1);
    assert_eq!(offered(&show_request(&c, &id).await), ["person-007"]);
    host.advance(1);
    eventually("the offer widens after ten minutes", || async {
        offered(&show_request(&c, &id).await).len() == 2
    })
    .await;
    let widened = show_request(&c, &id).await;
    assert_eq!(offered(&widened), ["person-007", "person-030"]);
    assert_eq!(widened["round"], 1);

    let helper = person(&c, "person-030").await;
    run(&helper, "accept", json!({"request": id}))
        .await
        .expect(200);
    let late = run(&first, "accept", json!({"request": id})).await;
    assert_eq!(late.status, 400);
    assert!(
        late.message().contains("no longer open"),
        "{}",
        late.message()
    );
    run(&helper, "start", json!({"request": id}))
        .await
        .expect(200);
    run(&helper, "complete", json!({"request": id}))
        .await
        .expect(200);
    let confirmed = run(&daughter, "confirm", json!({"request": id, "rating": 5}))
        .await
        .expect(200);
    assert_eq!(confirmed["request"]["status"], "confirmed");

    assert_eq!(balance(&c, "person-001").await, 120 - 90);
    assert_eq!(balance(&c, "person-030").await, 120 + 90);

    let receipt = run(&daughter, "receipt", json!({"request": id}))
        .await
        .expect(200);
    let index = receipt["index"].as_u64().expect("an entry index");
    let elder = person(&c, "person-001").await;
    let ledger = format!("/api/v1/communities/{COMMUNITY}/ledger");
    let served: Receipt = serde_json::from_value(
        elder
            .get(&format!("{ledger}/entries/{index}/receipt"))
            .await
            .expect(200),
    )
    .expect("a receipt");
    assert_eq!(served.entry.leaf_hash, receipt["leaf-hash"]);
    let body: Value = serde_json::from_str(&served.entry.body).expect("the entry body");
    assert_eq!(
        (&body["source"], &body["target"], &body["amount"]),
        (
            &json!("timebank/members/person-001"),
            &json!("timebank/members/person-030"),
            &json!(90)
        )
    );
    assert_eq!(body["evidence"]["service"]["request"], id.as_str());
    let checkpoint: SignedCheckpoint =
        serde_json::from_value(elder.get(&format!("{ledger}/checkpoint")).await.expect(200))
            .expect("a checkpoint");
    let proof: InclusionProof = serde_json::from_value(
        elder
            .get(&format!(
                "{ledger}/entries/{index}/proof?size={}",
                checkpoint.checkpoint.size
            ))
            .await
            .expect(200),
    )
    .expect("an inclusion proof");
    merkle::verify_inclusion(
        &merkle::leaf_hash(served.entry.body.as_bytes()),
        &proof,
        &checkpoint.checkpoint.root,
    )
    .expect("the payment is in the signed log");

    let report = c
        .command(PLUGIN, "report", json!({"month": "2026-01"}))
        .await
        .expect(200);
    assert_eq!(
        report["months"]["2026-01"],
        json!({"hours-served": 1.5, "services": 1, "active-volunteers": 1,
               "unmet-requests": 0, "average-minutes-to-accept": 10.0})
    );
    assert_eq!(run(&daughter, "report", json!({})).await.status, 403);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn coins_move_once_however_often_a_step_is_repeated_and_the_floor_stops_requests() {
    let (_host, c, _) =
        sunny_garden(json!({"starting-allowance-minutes": 0, "member-floor-minutes": -90})).await;
    join(&c, "person-075", &["shopping"], json!([])).await;
    let elder = person(&c, "person-002").await;
    run(&elder, "join", json!({})).await.expect(200);

    let shop = json!({"need": "shopping", "start": START + HOUR, "end": START + 4 * HOUR,
                      "minutes": 90, "key": "shop-1"});
    let filed = run(&elder, "request", shop.clone()).await.expect(200);
    let again = run(&elder, "request", shop).await.expect(200);
    assert_eq!(
        again["id"], filed["id"],
        "a replayed request is the same request"
    );
    let mine = run(&elder, "requests", json!({})).await.expect(200);
    assert_eq!(mine.as_array().expect("a list").len(), 1);
    let id = filed["id"].as_str().expect("an id");
    assert!(offered(&filed).contains(&"person-075".to_owned()));

    let helper = person(&c, "person-075").await;
    for step in ["accept", "complete"] {
        run(&helper, step, json!({"request": id})).await.expect(200);
    }
    let confirm = json!({"request": id, "rating": 4});
    let first = run(&elder, "confirm", confirm.clone()).await.expect(200);
    let second = run(&elder, "confirm", confirm).await.expect(200);
    assert_eq!(
        (&first["changed"], &second["changed"]),
        (&json!(true), &json!(false))
    );
    assert_eq!(first["request"]["receipt"], second["request"]["receipt"]);
    assert_eq!(balance(&c, "person-002").await, -90);
    assert_eq!(balance(&c, "person-075").await, 90);
    let history = c
        .command(PLUGIN, "history", json!({"for": "person-075"}))
        .await
        .expect(200);
    let payments: Vec<&Value> = history["entries"]
        .as_array()
        .expect("entries")
        .iter()
        .filter(|e| e["kind"] == "transfer")
        .collect();
    assert_eq!(payments.len(), 1, "{history}");
    assert_eq!(payments[0]["change"], 90);

    let refused = run(
        &elder,
        "request",
        json!({"need": "chatting", "start": START + 5 * HOUR, "minutes": 30}),
    )
    .await;
    assert_eq!(refused.status, 400);
    assert!(
        refused.message().contains("`minutes`")
            && refused
                .message()
                .contains("person-002 is at the time-coin floor"),
        "{}",
        refused.message()
    );

    let gift = json!({"for": "person-075", "to": "person-002", "minutes": 30, "key": "thanks"});
    run(&helper, "donate", gift.clone()).await.expect(200);
    let replayed = run(&helper, "donate", gift).await.expect(200);
    assert_eq!(replayed["replayed"], true);
    assert_eq!(
        balance(&c, "person-002").await,
        -60,
        "a donation lands once"
    );
    run(
        &elder,
        "request",
        json!({"need": "chatting", "start": START + 5 * HOUR, "minutes": 30}),
    )
    .await
    .expect(200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sustained_high_heart_rate_alarms_family_doctor_and_a_volunteer_but_a_spike_does_not() {
    let (host, c, installation) = sunny_garden(json!({})).await;
    join(&c, "person-007", &[], json!([])).await;
    let watch = elder_watch(&c).await;
    let stranger = person(&c, "person-050").await;
    let refused = run(
        &stranger,
        "register-wearable",
        json!({"device": "watch-001", "person": "person-050"}),
    )
    .await;
    assert_eq!(refused.status, 403, "a stranger cannot take over the watch");

    c.send_handled(&installation, &watch, "heart-rate", json!(150))
        .await;
    host.advance(MINUTE);
    c.send_handled(&installation, &watch, "heart-rate", json!(80))
        .await;
    host.advance(MINUTE);
    c.send_handled(&installation, &watch, "heart-rate", json!(150))
        .await;
    assert!(c.alarms("heart-rate-high", "active").await.is_empty());
    assert!(
        c.notifications("heart-rate").await.is_empty(),
        "a spike alarms no one"
    );

    for bpm in [152, 155] {
        host.advance(MINUTE);
        c.send_handled(&installation, &watch, "heart-rate", json!(bpm))
            .await;
    }
    let raised = c.alarms("heart-rate-high", "active").await;
    assert_eq!(raised.len(), 1, "{raised:?}");
    assert_eq!(raised[0]["originator"], "person-001");
    let alert = the_notification(&c, "heart-rate").await;
    assert_eq!(alert["require_ack"], true);
    assert_eq!(
        recipients(&alert),
        ["person-005", "person-007", "person-210", "person-218"],
        "her family, the doctor and the nearest volunteer"
    );

    for bpm in [82, 80, 78] {
        host.advance(MINUTE);
        c.send_handled(&installation, &watch, "heart-rate", json!(bpm))
            .await;
    }
    assert!(
        c.alarms("heart-rate-high", "active").await.is_empty(),
        "back in range"
    );
    let after = c.notification(alert["id"].as_str().expect("an id")).await;
    assert_eq!(after["state"], "cancelled", "nobody needs to come any more");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fall_alarm_stays_until_acknowledged_and_stops_escalating_at_the_first_acknowledgement() {
    let (host, c, installation) = sunny_garden(json!({"escalate-after-minutes": 5})).await;
    let watch = elder_watch(&c).await;

    c.send_handled(&installation, &watch, "fall", json!(true))
        .await;
    c.send_handled(&installation, &watch, "fall", json!(false))
        .await;
    let active = c.alarms("fall", "active").await;
    assert_eq!(active.len(), 1, "a fall latches: {active:?}");
    assert_eq!(active[0]["severity"], "critical");
    let alert = the_notification(&c, "fall").await;
    let alert_id = alert["id"].as_str().expect("an id").to_owned();

    host.advance(5 * MINUTE);
    eventually("the fall escalates to the grid worker", || async {
        c.notification(&alert_id).await["steps_run"] == 1
    })
    .await;
    assert!(recipients(&c.notification(&alert_id).await).contains(&"person-214".to_owned()));

    let daughter = person(&c, "person-005").await;
    assert_eq!(inbox(&daughter, "fall").await.len(), 1);
    acknowledge_newest(&daughter, "fall").await;
    eventually("the acknowledged fall alarm is cleared", || async {
        c.alarms("fall", "active").await.is_empty()
    })
    .await;
    host.advance(20 * MINUTE);
    c.settle(&installation).await;
    let stopped = c.notification(&alert_id).await;
    assert_eq!(
        (
            &stopped["state"],
            &stopped["steps_run"],
            &stopped["acknowledged_by"]
        ),
        (&json!("acknowledged"), &json!(1), &json!("person-005")),
        "security is never called"
    );

    // A second fall, acknowledged on the alarm itself by an operator: the message is called off.
    c.send_handled(&installation, &watch, "fall", json!(true))
        .await;
    eventually("a second fall alert", || async {
        c.notifications("fall").await.len() == 2
    })
    .await;
    let second = c.alarms("fall", "active").await;
    let operator = c.member("operator", "duty-officer").await;
    operator
        .post(
            &format!(
                "/api/v1/communities/{COMMUNITY}/alarms/{}/ack",
                second[0]["id"].as_str().expect("an id")
            ),
            json!({"note": "on my way"}),
        )
        .await
        .expect(200);
    let newest = c.notifications("fall").await[0]["id"]
        .as_str()
        .expect("an id")
        .to_owned();
    eventually(
        "the operator's acknowledgement cancels the alert",
        || async { c.notification(&newest).await["state"] == "cancelled" },
    )
    .await;
    eventually("and clears the latched alarm", || async {
        c.alarms("fall", "active").await.is_empty()
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_person_living_alone_gets_one_welfare_check_after_a_silent_day_and_a_door_clears_it() {
    let (host, c, installation) = sunny_garden(json!({})).await;
    let door = c
        .placed_device("door-b3-104", "sensor", &["door"], Some("b3-104"))
        .await;
    // Her front door shows when she is home: the scene sees it only with her consent.
    c.consent("person-003", "presence-checks", true).await;
    c.command(
        PLUGIN,
        "care-profile",
        json!({"person": "person-003", "lives-alone": true}),
    )
    .await
    .expect(200);

    host.advance(12 * HOUR);
    c.send_handled(&installation, &door, "door", json!(true))
        .await;
    host.advance(24 * HOUR - MINUTE);
    c.settle(&installation).await;
    assert!(
        c.notifications("welfare-check").await.is_empty(),
        "the door 23 hours 59 minutes ago counts"
    );

    host.advance(MINUTE);
    let check = the_notification(&c, "welfare-check").await;
    assert_eq!(
        recipients(&check),
        ["person-038", "person-212", "person-215"],
        "her family and the grid worker of her cell"
    );
    let raised = c.alarms("welfare-check", "active").await;
    assert_eq!(raised.len(), 1);
    assert_eq!(raised[0]["originator"], "person-003");

    host.advance(24 * HOUR);
    c.settle(&installation).await;
    assert_eq!(
        c.notifications("welfare-check").await.len(),
        1,
        "one check, not one a day"
    );
    assert_eq!(c.alarms("welfare-check", "active").await[0]["count"], 1);

    c.send_handled(&installation, &door, "door", json!(false))
        .await;
    assert!(c.alarms("welfare-check", "active").await.is_empty());
    assert_eq!(
        c.notification(check["id"].as_str().expect("an id")).await["state"],
        "cancelled"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_upgrade_mid_scenario_keeps_pending_requests_timers_and_active_alarms() {
    let (host, c, installation) =
        sunny_garden(json!({"offer-group-size": 1, "offer-radius-m": 50})).await;
    shopping_volunteers(&c).await;
    join(&c, "person-001", &[], json!([])).await;
    let watch = elder_watch(&c).await;
    let filed = c
        .command(PLUGIN, "request", weekly_shop())
        .await
        .expect(200);
    let id = filed["id"].as_str().expect("an id").to_owned();
    c.send_handled(&installation, &watch, "fall", json!(true))
        .await;
    let alert = the_notification(&c, "fall").await;

    host.publish_package(package_with(PLUGIN, |m| {
        m.replace("version = \"0.1.0\"", "version = \"0.1.1\"")
    }))
    .await;
    let upgraded = c
        .admin
        .patch(
            &format!("/api/v1/communities/{COMMUNITY}/installations/{installation}"),
            json!({"version": "0.1.1"}),
        )
        .await
        .expect(200);
    assert_eq!(upgraded["version"], "0.1.1");

    let kept = show_request(&c, &id).await;
    assert_eq!(
        (&kept["status"], offered(&kept)),
        (&json!("open"), vec!["person-007".to_owned()])
    );
    assert_eq!(c.alarms("fall", "active").await.len(), 1);

    host.advance(10 * MINUTE);
    eventually("the widening timer set by 0.1.0 fires in 0.1.1", || async {
        offered(&show_request(&c, &id).await).len() == 2
    })
    .await;

    let daughter = person(&c, "person-005").await;
    acknowledge_newest(&daughter, "fall").await;
    eventually("0.1.1 clears the fall alarm 0.1.0 raised", || async {
        c.alarms("fall", "active").await.is_empty()
    })
    .await;
    assert_eq!(
        c.notification(alert["id"].as_str().expect("an id")).await["state"],
        "acknowledged"
    );

    let helper = person(&c, "person-030").await;
    let accepted = run(&helper, "accept", json!({"request": id}))
        .await
        .expect(200);
    assert_eq!(accepted["request"]["volunteer"], "person-030");
}
