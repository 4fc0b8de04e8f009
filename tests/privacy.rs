//! Residents' personal information under PIPL, with the real host and the
//! real elder-care plugin in the demo community: a wearable's health
//! readings reach the scene only while the wearer (or their guardian)
//! consents; staff reads of contact details and presence readings are in
//! the resident's access log; a resident's export holds their own data and
//! no one else's; and an erased person leaves no name or phone in the
//! store, while their receipts still verify and the scene forgets them.
//!
//! People of the demo map used here: `person-003` (Liu Ping) lives alone in
//! b3-104; `person-038` (Gao Qiang, b1-501) and `person-212` are her
//! family; `person-214` is the grid worker of the west cell; `person-005`
//! is someone else's daughter.

use std::process::Command;

use linli_tests::{
    demo_community_map, eventually, linli_binary, run_command, Client, Community, Device, Reply,
    TestHost,
};
use serde_json::{json, Value};
use sqlx::Row;

const PLUGIN: &str = "elder-care";
const COMMUNITY: &str = "sunny-garden";
const ELDER: &str = "person-003";
const SON: &str = "person-038";
const MINUTE: i64 = 60_000;

async fn garden() -> (TestHost, Community, String) {
    TestHost::demo_with(PLUGIN, json!({})).await
}

async fn run(client: &Client, name: &str, input: Value) -> Reply {
    run_command(client, COMMUNITY, PLUGIN, name, input).await
}

fn people_path(person: &str, rest: &str) -> String {
    format!("/api/v1/communities/{COMMUNITY}/people/{person}{rest}")
}

/// The elder's watch, worn by her and registered to her in the scene by her son.
async fn elder_watch(c: &Community, son: &Client) -> Device {
    let watch = c
        .worn_device("watch-003", &["heart-rate", "fall", "sos", "steps"], ELDER)
        .await;
    run(
        son,
        "register-wearable",
        json!({"device": "watch-003", "person": ELDER}),
    )
    .await
    .expect(200);
    watch
}

/// The son decides on his mother's health monitoring, as her guardian.
async fn son_decides(son: &Client, given: bool) -> Value {
    son.put(
        &people_path(ELDER, "/consents/health-monitoring"),
        json!({"given": given, "text": "社区养老服务读取我母亲手表的心率、跌倒和步数数据"}),
    )
    .await
    .expect(200)
}

/// A minute apart, each handled before the next.
async fn heart_rates(
    host: &TestHost,
    c: &Community,
    installation: &str,
    watch: &Device,
    bpm: &[i64],
) {
    for rate in bpm {
        host.advance(MINUTE);
        c.send_handled(installation, watch, "heart-rate", json!(rate))
            .await;
    }
}

/// The values of the scene's state keys that are `key` or start with it.
async fn scene_state(host: &TestHost, key: &str) -> Vec<(String, String)> {
    let rows = sqlx::query("SELECT key, value FROM plugin_state WHERE plugin_id = $1 ORDER BY key")
        .bind(PLUGIN)
        .fetch_all(host.store())
        .await
        .expect("the store answers");
    rows.iter()
        .map(|row| {
            let value: Vec<u8> = row.get("value");
            (
                row.get::<String, _>("key"),
                String::from_utf8_lossy(&value).into_owned(),
            )
        })
        .filter(|(k, _)| k.starts_with(key))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wearables_health_readings_reach_elder_care_only_while_its_wearer_consents() {
    let (host, c, installation) = garden().await;
    let son = c.person("resident", SON).await;
    let watch = elder_watch(&c, &son).await;
    let heart_key = format!("heart/{ELDER}");

    heart_rates(&host, &c, &installation, &watch, &[150, 152, 155, 158]).await;
    assert!(
        c.alarms("heart-rate-high", "active").await.is_empty(),
        "without consent the scene saw nothing to alarm on"
    );
    assert!(
        scene_state(&host, &heart_key).await.is_empty(),
        "the scene holds nothing of her heart"
    );

    let stranger = c.person("resident", "person-005").await;
    let refused = stranger
        .put(
            &people_path(ELDER, "/consents/health-monitoring"),
            json!({"given": true, "text": "I agree"}),
        )
        .await;
    assert_eq!(
        refused.status, 403,
        "only she or her family decide: {}",
        refused.body
    );

    let decided = son_decides(&son, true).await;
    assert_eq!(decided["record"]["given_by"], SON);
    heart_rates(&host, &c, &installation, &watch, &[150, 152, 155]).await;
    assert_eq!(c.alarms("heart-rate-high", "active").await.len(), 1);
    let seen = scene_state(&host, &heart_key).await;
    assert_eq!(seen.len(), 1, "the scene now keeps her heart rate");

    son_decides(&son, false).await;
    heart_rates(&host, &c, &installation, &watch, &[30, 31, 32, 33]).await;
    assert!(
        c.alarms("heart-rate-low", "active").await.is_empty(),
        "after withdrawal the scene sees nothing new"
    );
    assert_eq!(
        scene_state(&host, &heart_key).await,
        seen,
        "its state of her heart stopped at the withdrawal"
    );

    // A call for help is delivered whatever was consented (vital interests).
    c.send_handled(&installation, &watch, "sos", json!(true))
        .await;
    assert_eq!(c.alarms("sos", "active").await.len(), 1);

    let consents = son.get(&people_path(ELDER, "/consents")).await.expect(200);
    let history: Vec<bool> = consents["history"]
        .as_array()
        .expect("a history")
        .iter()
        .map(|r| r["given"].as_bool().expect("given"))
        .collect();
    assert_eq!(history, [true, false], "both decisions are on record");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn staff_reads_of_a_residents_contact_details_and_presence_are_in_her_access_log() {
    let (_host, c, _installation) = garden().await;
    let worker = c.person("operator", "person-214").await;
    let elder = c.person("resident", ELDER).await;
    let person_path = format!("/api/v1/communities/{COMMUNITY}/map/people/{ELDER}");

    let plain = worker.get(&person_path).await.expect(200);
    assert!(
        plain["properties"].get("contact").is_none(),
        "no reason, no phone: {plain}"
    );
    assert!(elder
        .get("/api/v1/me/access-log")
        .await
        .expect(200)
        .as_array()
        .expect("a log")
        .is_empty());

    let read = worker
        .get(&format!("{person_path}?reason=welfare%20visit%20tomorrow"))
        .await
        .expect(200);
    assert_eq!(read["properties"]["contact"]["phone"], "+86 138 0000 0002");
    let log = elder.get("/api/v1/me/access-log").await.expect(200);
    let entries = log.as_array().expect("a log");
    assert_eq!(entries.len(), 1, "{log}");
    assert_eq!(entries[0]["reader_person"], "person-214");
    assert_eq!(entries[0]["reader_role"], "operator");
    assert_eq!(entries[0]["category"], "contact");
    assert_eq!(entries[0]["reason"], "welfare visit tomorrow");

    let door = c
        .placed_device("door-b3-104", "door-sensor", &["door"], Some("b3-104"))
        .await;
    door.send(json!([door.reading("door", json!(true))]))
        .await
        .expect(202);
    let readings = format!("/api/v1/communities/{COMMUNITY}/devices/door-b3-104/readings");
    let refused = worker.get(&readings).await;
    assert_eq!(refused.status, 400, "{}", refused.body);
    assert!(
        refused.body.to_string().contains("reason"),
        "{}",
        refused.body
    );
    worker
        .get(&format!("{readings}?reason=no%20activity%20reported"))
        .await
        .expect(200);
    let log = elder.get("/api/v1/me/access-log").await.expect(200);
    assert_eq!(log[0]["category"], "presence", "{log}");
    assert_eq!(log[0]["reason"], "no activity reported");

    let staff_log = c
        .admin
        .get(&people_path(ELDER, "/access-log"))
        .await
        .expect(200);
    assert_eq!(
        staff_log, log,
        "the community admin answers her with the same log"
    );
}

/// Every phone number of the demo map but `except`'s.
fn other_phones(except: &str) -> Vec<String> {
    demo_community_map()["features"]
        .as_array()
        .expect("features")
        .iter()
        .filter(|f| f["id"] != except)
        .filter_map(|f| {
            f["properties"]["contact"]["phone"]
                .as_str()
                .map(str::to_owned)
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_residents_export_holds_their_readings_inbox_and_ledger_and_nothing_of_anyone_else() {
    let (host, c, installation) = garden().await;
    let son = c.person("resident", SON).await;
    let own_watch = c
        .worn_device("watch-038", &["heart-rate", "steps"], SON)
        .await;
    son.put(
        &people_path(SON, "/consents/health-monitoring"),
        json!({"given": true, "text": "I agree to my watch being read"}),
    )
    .await
    .expect(200);
    c.send_handled(&installation, &own_watch, "steps", json!(1200))
        .await;
    for person in [SON, "person-005"] {
        c.command(
            PLUGIN,
            "join",
            json!({"for": person, "skills": ["chatting"], "availability": []}),
        )
        .await
        .expect(200);
    }
    let watch = elder_watch(&c, &son).await;
    son_decides(&son, true).await;
    heart_rates(&host, &c, &installation, &watch, &[150, 152, 155]).await;

    let data = son.get("/api/v1/me/data").await.expect(200);
    assert_eq!(data["format"], "linli-personal-data/1");
    assert_eq!(data["person"], SON);
    assert_eq!(data["map_record"]["id"], SON);
    assert_eq!(
        data["map_record"]["properties"]["contact"]["phone"],
        "+86 138 0000 0037"
    );
    let readings = data["readings"].as_array().expect("readings");
    assert!(!readings.is_empty(), "{data}");
    assert!(
        readings.iter().all(|r| r["device"] == "watch-038"),
        "{readings:?}"
    );
    let inbox = data["inbox"].as_array().expect("an inbox");
    assert!(
        inbox.iter().any(|m| m["topic"] == "heart-rate"),
        "the alert about his mother: {inbox:?}"
    );
    let names_him = |name: &Value| {
        name.as_str()
            .is_some_and(|n| n.ends_with(&format!("/{SON}")))
    };
    let accounts = data["ledger_accounts"].as_array().expect("accounts");
    assert!(
        !accounts.is_empty() && accounts.iter().all(|a| names_him(&a["name"])),
        "{accounts:?}"
    );
    let entries = data["ledger_entries"].as_array().expect("entries");
    assert!(
        !entries.is_empty(),
        "his time-bank account and allowance: {data}"
    );
    for entry in entries {
        let body: Value =
            serde_json::from_str(entry["body"].as_str().expect("a body")).expect("JSON");
        assert!(
            ["account", "source", "target", "record-kind"]
                .iter()
                .any(|f| names_him(&body[*f])),
            "an entry that does not name him: {body}"
        );
    }
    let state = data["plugin_state"].as_array().expect("state");
    assert!(state.iter().all(|s| names_him(&s["key"])), "{state:?}");
    assert_eq!(data["consents"][0]["purpose"], "health-monitoring");

    let text = data.to_string();
    assert!(
        !text.contains("person-005"),
        "another member of the time bank is in his export"
    );
    for phone in other_phones(SON) {
        assert!(
            !text.contains(&phone),
            "someone else's phone {phone} is in his export"
        );
    }
}

/// The store's files, as a copy of the data dir would hold them.
fn store_bytes(host: &TestHost) -> Vec<u8> {
    ["linli.db", "linli.db-wal"]
        .iter()
        .filter_map(|f| std::fs::read(host.data_dir().join(f)).ok())
        .flatten()
        .collect()
}

fn contains(haystack: &[u8], needle: &str) -> bool {
    haystack
        .windows(needle.len())
        .any(|w| w == needle.as_bytes())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_erased_person_leaves_no_name_or_phone_in_the_store_and_her_receipts_still_verify() {
    let (host, c, installation) = garden().await;
    let on_sqlite = host.store().connect_options().database_url.scheme() == "sqlite";
    let (name, phone) = ("Liu Ping", "+86 138 0000 0002");
    let son = c.person("resident", SON).await;
    let elder = c.person("resident", ELDER).await;
    c.command(
        PLUGIN,
        "join",
        json!({"for": ELDER, "skills": [], "availability": []}),
    )
    .await
    .expect(200);
    c.command(
        PLUGIN,
        "care-profile",
        json!({"person": ELDER, "lives-alone": true}),
    )
    .await
    .expect(200);
    let watch = elder_watch(&c, &son).await;
    // A band of hers that her home's hub sends for, heard a moment before the erasure.
    let hub = c.device("hub-b3-104", &["battery"]).await;
    c.admin
        .post(
            &format!("/api/v1/communities/{COMMUNITY}/devices"),
            json!({"id": "band-003", "kind": "wearable", "reading_kinds": ["steps"],
                   "person": ELDER, "gateway": "hub-b3-104"}),
        )
        .await
        .expect(201);
    let band = |steps: i64| json!([{"device": "band-003", "kind": "steps", "value": steps}]);
    assert_eq!(hub.send(band(10)).await.expect(202)["accepted"], 1);
    son_decides(&son, true).await;
    heart_rates(&host, &c, &installation, &watch, &[150, 152, 155]).await;
    let alert = c.notifications("heart-rate").await;
    assert!(
        alert[0]["body"].as_str().expect("a body").contains(name),
        "the alert names her: {alert:?}"
    );
    if on_sqlite {
        assert!(
            contains(&store_bytes(&host), name),
            "before erasure the store holds her name"
        );
    }

    let account = format!("timebank/members/{ELDER}");
    let entries = c
        .admin
        .get(&format!(
            "/api/v1/communities/{COMMUNITY}/ledger/entries?account={account}"
        ))
        .await
        .expect(200);
    let index = entries[0]["index"].as_u64().expect("an entry of hers");
    let receipt_path = format!("/api/v1/communities/{COMMUNITY}/ledger/entries/{index}/receipt");
    let receipt = c.admin.get(&receipt_path).await.expect(200);

    let refused = c
        .admin
        .post(&people_path(ELDER, "/erasure"), json!({"reason": ""}))
        .await;
    assert_eq!(
        refused.status, 400,
        "an erasure says whose request it answers"
    );
    let erasure = c
        .admin
        .post(
            &people_path(ELDER, "/erasure"),
            json!({"reason": "her written request of 2026-01-01"}),
        )
        .await
        .expect(202);
    assert_eq!(
        erasure["ledger_entries_naming_them"], 0,
        "the scene wrote only her id to the ledger"
    );
    eventually("every installation to forget her", || async {
        c.admin.get(&people_path(ELDER, "/erasure")).await.body["completed_at"].is_i64()
    })
    .await;

    c.admin
        .get(&format!(
            "/api/v1/communities/{COMMUNITY}/map/people/{ELDER}"
        ))
        .await
        .expect(404);
    let reused = c
        .admin
        .put(
            &format!("/api/v1/communities/{COMMUNITY}/map/people/{ELDER}"),
            json!({"type": "Feature", "geometry": null, "properties": {"kind": "person", "name": "Someone New"}}),
        )
        .await;
    assert_eq!(
        reused.status, 409,
        "her id never names anyone again: {}",
        reused.body
    );
    assert_eq!(
        elder.get("/api/v1/me").await.status,
        401,
        "her token is revoked"
    );
    let report = hub.send(band(11)).await.expect(202);
    assert_eq!(
        report["accepted"], 0,
        "her band is retired, for her hub too: {report}"
    );
    let son_record = c
        .admin
        .get(&format!("/api/v1/communities/{COMMUNITY}/map/people/{SON}"))
        .await
        .expect(200);
    assert!(
        !son_record.to_string().contains(ELDER),
        "his family-of link to her is gone: {son_record}"
    );

    let remembered: Vec<(String, String)> = scene_state(&host, "")
        .await
        .into_iter()
        .filter(|(k, v)| k.contains(ELDER) || v.contains(ELDER))
        .collect();
    assert!(
        remembered.is_empty(),
        "elder-care still keeps: {remembered:?}"
    );
    let message = c
        .notification(alert[0]["id"].as_str().expect("an id"))
        .await;
    assert!(
        !message.to_string().contains(name),
        "the alert her son got no longer names her"
    );

    if on_sqlite {
        let bytes = store_bytes(&host);
        assert!(
            !contains(&bytes, name),
            "her name is still in the store files"
        );
        assert!(
            !contains(&bytes, phone),
            "her phone is still in the store files"
        );
    }

    let key = host.ledger_public_key().await;
    let after = c.admin.get(&receipt_path).await.expect(200);
    assert_eq!(after, receipt, "the ledger did not change");
    let file = host.data_dir().join("receipt.json");
    std::fs::write(&file, receipt.to_string()).expect("the receipt is saved");
    let verified = Command::new(linli_binary())
        .args([
            "ledger",
            "verify",
            file.to_str().expect("a path"),
            "--key",
            &key,
        ])
        .output()
        .expect("linli runs");
    assert!(
        verified.status.success(),
        "her receipt no longer verifies: {}",
        String::from_utf8_lossy(&verified.stderr)
    );
}
