//! leak-watch, the scene written in Python, on the demo community: the
//! same contract as the Rust scenes, end to end. A wet leak sensor in a
//! flat raises one alarm and tells the household once, asking for an
//! acknowledgement; unacknowledged, the alert goes on to the property staff
//! of that flat; dry again, the alarm clears and the household hears it is
//! over. Without the (optional) store the scene still alerts.

use linli_tests::{
    demo_community_map, demo_residents_of, eventually, recipients, requested_grants, Community,
    TestHost,
};
use serde_json::{json, Value};

const LEAK: &str = "leak-watch";
const MINUTE: i64 = 60_000;

/// Sunny Garden with its map and leak-watch installed with `grants`.
async fn sunny_garden(host: &TestHost, grants: Value) -> (Community, String) {
    host.publish(LEAK).await;
    let c = host.community("sunny-garden").await;
    c.import_map(&demo_community_map()).await.expect(200);
    let installation = c
        .install(LEAK, grants, json!({"escalate-after-minutes": 10}))
        .await;
    (c, installation)
}

/// The one water-leak notification of a title, with its deliveries.
async fn the_alert(c: &Community, title: &str) -> Value {
    eventually(&format!("a {title:?} notification"), || async {
        c.notifications("water-leak")
            .await
            .iter()
            .any(|n| n["title"] == title)
    })
    .await;
    let all: Vec<Value> = c
        .notifications("water-leak")
        .await
        .into_iter()
        .filter(|n| n["title"] == title)
        .collect();
    assert_eq!(all.len(), 1, "one {title:?} notification: {all:?}");
    c.notification(all[0]["id"].as_str().expect("an id")).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wet_sensor_alerts_the_household_once_escalates_to_staff_and_dry_clears_it() {
    let host = TestHost::start().await;
    let (c, installation) = sunny_garden(&host, requested_grants(LEAK)).await;
    let sensor = c
        .placed_device("leak-b3-201", "leak-sensor", &["leak"], Some("b3-201"))
        .await;

    c.send_handled(&installation, &sensor, "leak", json!(true))
        .await;
    c.send_handled(&installation, &sensor, "leak", json!(true))
        .await;
    let active = c.alarms("water-leak", "active").await;
    assert_eq!(active.len(), 1, "{active:?}");
    assert_eq!(
        (
            &active[0]["originator"],
            &active[0]["severity"],
            &active[0]["count"]
        ),
        (&json!("leak-b3-201"), &json!("major"), &json!(2))
    );

    let alert = the_alert(&c, "Water leak at home").await;
    let household: Vec<String> = demo_residents_of("b3-201").into_iter().collect();
    assert!(!household.is_empty(), "the demo map has people in b3-201");
    assert_eq!(recipients(&alert), household);
    assert_eq!(alert["require_ack"], true);

    let status = c.command(LEAK, "status", json!({})).await.expect(200);
    assert_eq!(status["active"][0]["device"], "leak-b3-201");
    assert_eq!(status["active"][0]["place"], "b3-201");
    assert_eq!(status["active"][0]["readings"], 2);
    assert_eq!(status["leaks"], json!({"leak-b3-201": 1}));

    // Nobody acknowledges: after ten minutes the staff of the flat hear of it.
    host.advance(11 * MINUTE);
    let id = alert["id"].as_str().expect("an id").to_owned();
    eventually("the alert escalates to the property staff", || async {
        c.notification(&id).await["steps_run"] == 1
    })
    .await;
    let escalated = c.notification(&id).await;
    let staff: Vec<String> = escalated["deliveries"]
        .as_array()
        .expect("deliveries")
        .iter()
        .filter(|d| d["step"] == 1)
        .map(|d| d["person"].as_str().expect("a person").to_owned())
        .collect();
    assert!(
        staff.contains(&"person-216".to_owned()) && staff.contains(&"person-217".to_owned()),
        "the community's and building 3's property staff: {staff:?}"
    );

    c.send_handled(&installation, &sensor, "leak", json!(false))
        .await;
    assert!(c.alarms("water-leak", "active").await.is_empty());
    let over = the_alert(&c, "Leak over").await;
    assert_eq!(recipients(&over), household);
    assert_eq!(over["severity"], "info");
    let status = c.command(LEAK, "status", json!({})).await.expect(200);
    assert_eq!(status["active"], json!([]));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_the_optional_store_the_scene_still_alerts_and_counts_nothing() {
    let host = TestHost::start().await;
    let mut grants = requested_grants(LEAK);
    grants.as_object_mut().expect("grants").remove("store");
    let (c, installation) = sunny_garden(&host, grants).await;
    assert_eq!(
        c.installation(&installation).await["optional_not_granted"],
        json!(["store"])
    );
    let sensor = c
        .placed_device("leak-b3-202", "leak-sensor", &["leak"], Some("b3-202"))
        .await;
    c.send_handled(&installation, &sensor, "leak", json!(true))
        .await;
    assert_eq!(c.alarms("water-leak", "active").await.len(), 1);
    let status = c.command(LEAK, "status", json!({})).await.expect(200);
    assert_eq!(status["leaks"], Value::Null);
    assert_eq!(status["active"][0]["device"], "leak-b3-202");
    let unknown = c.command(LEAK, "flood", json!({})).await;
    assert_eq!(unknown.status, 400, "{}", unknown.body);
    assert!(
        unknown.message().contains("unknown command: flood"),
        "{}",
        unknown.message()
    );
}
