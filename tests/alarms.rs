//! Alarms as operators rely on them: one active alarm per (originator,
//! type) that a repeat raise updates, acknowledged and cleared over the API
//! with who and when, changes delivered to the plugins watching the type and
//! streamed live with resume, and nothing of one community visible to
//! another.

use std::time::{Duration, Instant};

use linli_tests::{Client, Community, TestHost};
use serde_json::{json, Value};

const ALARMS: &str = "alarm-scene";

async fn alarm_community(host: &TestHost, id: &str) -> Community {
    let c = host.community(id).await;
    let place = |id: &str, kind: &str, parent: Option<&str>| {
        json!({"type": "Feature", "id": id, "geometry": null,
               "properties": {"kind": kind, "name": id, "parent": parent}})
    };
    let map = json!({"type": "FeatureCollection", "features": [
        place("building-3", "building", None),
        place("b3-f2", "floor", Some("building-3")),
        place("b3-201", "unit", Some("b3-f2")),
        place("building-30", "building", None),
    ]});
    c.import_map(&map).await.expect(200);
    c.install(
        ALARMS,
        json!({"alarm": {"types": ["smoke-fault", "device-offline"]}, "store": {}}),
        json!({}),
    )
    .await;
    c.admin
        .post(
            &format!("/api/v1/communities/{id}/devices"),
            json!({"id": "smoke-3-201", "kind": "smoke-detector", "reading_kinds": ["smoke"],
                   "location": "b3-201"}),
        )
        .await
        .expect(201);
    c
}

fn raise(severity: &str) -> Value {
    json!({"originator": "smoke-3-201", "type": "smoke-fault", "severity": severity,
           "details": {"obscuration": 4.2}})
}

/// Waits until the plugin has been told about `count` alarm changes.
async fn seen_by_plugin(c: &Community, count: usize) -> Vec<Value> {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let seen = c.command(ALARMS, "seen", json!({})).await.expect(200);
        let seen = seen.as_array().expect("a list").clone();
        if seen.len() >= count {
            return seen;
        }
        assert!(Instant::now() < deadline, "the plugin saw only {seen:?}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn operator(c: &Community, subject: &str) -> Client {
    c.member("operator", subject).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_alarm_is_raised_updated_acknowledged_cleared_and_raised_anew() {
    let host = TestHost::start().await;
    host.publish(ALARMS).await;
    let a = alarm_community(&host, "garden-a").await;
    let zhang = operator(&a, "zhang").await;

    let first = a.command(ALARMS, "raise", raise("major")).await.expect(200);
    assert_eq!(
        (first["count"].as_u64(), first["active"].as_bool()),
        (Some(1), Some(true))
    );
    assert_eq!(first["location"], "b3-201", "placed where its device is");
    let second = a.command(ALARMS, "raise", raise("major")).await.expect(200);
    assert_eq!(
        second["id"], first["id"],
        "one active alarm per (originator, type)"
    );
    assert_eq!(second["count"], 2);

    let listed = zhang
        .get("/api/v1/communities/garden-a/alarms?state=active&type=smoke-fault&building=building-3&severity=major")
        .await
        .expect(200);
    let listed = listed.as_array().unwrap();
    assert_eq!(listed.len(), 1, "{listed:?}");
    assert_eq!(
        (
            listed[0]["count"].as_i64(),
            listed[0]["acknowledged"].as_bool()
        ),
        (Some(2), Some(false))
    );
    let elsewhere = zhang
        .get("/api/v1/communities/garden-a/alarms?building=building-30")
        .await
        .expect(200);
    assert_eq!(elsewhere, json!([]), "unit 201 is not in building-30");

    let id = first["id"].as_str().unwrap();
    let acked = zhang
        .post(
            &format!("/api/v1/communities/garden-a/alarms/{id}/ack"),
            json!({"note": "on my way"}),
        )
        .await
        .expect(200);
    assert_eq!(
        (acked["acknowledged"].as_bool(), acked["acked_by"].as_str()),
        (Some(true), Some("zhang"))
    );
    assert_eq!(acked["acked_at"].as_i64(), Some(linli_tests::START));
    let seen = seen_by_plugin(&a, 1).await;
    assert_eq!(
        seen[0]["change"], "acknowledged",
        "the plugin hears of the ack: {seen:?}"
    );
    assert_eq!(seen[0]["by"], "zhang");

    let cleared = a
        .command(
            ALARMS,
            "clear",
            json!({"originator": "smoke-3-201", "type": "smoke-fault"}),
        )
        .await
        .expect(200);
    assert_eq!(cleared["active"], false);
    let view = zhang
        .get(&format!("/api/v1/communities/garden-a/alarms/{id}"))
        .await
        .expect(200);
    let trail: Vec<(&str, &str)> = view["audit"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| (l["action"].as_str().unwrap(), l["by"].as_str().unwrap()))
        .collect();
    assert_eq!(
        trail,
        [
            ("raised", ALARMS),
            ("updated", ALARMS),
            ("acknowledged", "zhang"),
            ("cleared", ALARMS)
        ]
    );
    assert_eq!(view["audit"][2]["note"], "on my way");
    assert_eq!(
        (view["cleared_by"].as_str(), view["active"].as_bool()),
        (Some(ALARMS), Some(false))
    );

    let anew = a.command(ALARMS, "raise", raise("minor")).await.expect(200);
    assert_ne!(
        anew["id"], first["id"],
        "a raise after a clear is a new alarm"
    );
    assert_eq!(anew["count"], 1);
    let all = zhang
        .get("/api/v1/communities/garden-a/alarms?type=smoke-fault")
        .await
        .expect(200);
    assert_eq!(all.as_array().unwrap().len(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn another_communitys_operator_cannot_see_or_touch_alarms() {
    let host = TestHost::start().await;
    host.publish(ALARMS).await;
    let a = alarm_community(&host, "garden-a").await;
    let b = alarm_community(&host, "garden-b").await;
    let alarm = a
        .command(ALARMS, "raise", raise("critical"))
        .await
        .expect(200);
    let id = alarm["id"].as_str().unwrap();
    let mallory = operator(&b, "mallory").await;

    for path in [
        "/api/v1/communities/garden-a/alarms".to_owned(),
        format!("/api/v1/communities/garden-a/alarms/{id}"),
    ] {
        assert_eq!(mallory.get(&path).await.status, 403, "GET {path}");
    }
    for action in ["ack", "clear"] {
        let path = format!("/api/v1/communities/garden-a/alarms/{id}/{action}");
        assert_eq!(
            mallory.post(&path, json!({})).await.status,
            403,
            "POST {path}"
        );
        let through_own = format!("/api/v1/communities/garden-b/alarms/{id}/{action}");
        assert_eq!(
            mallory.post(&through_own, json!({})).await.status,
            404,
            "POST {through_own}"
        );
    }
    assert_eq!(
        mallory
            .get("/api/v1/communities/garden-b/alarms")
            .await
            .expect(200),
        json!([])
    );
    let untouched = a
        .admin
        .get(&format!("/api/v1/communities/garden-a/alarms/{id}"))
        .await
        .expect(200);
    assert_eq!(
        (
            untouched["acknowledged"].as_bool(),
            untouched["active"].as_bool()
        ),
        (Some(false), Some(true))
    );

    let resident = a.member("resident", "wang").await;
    assert_eq!(
        resident
            .get("/api/v1/communities/garden-a/alarms")
            .await
            .status,
        403
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plugins_are_held_to_their_alarm_types() {
    let host = TestHost::start().await;
    host.publish(ALARMS).await;
    let a = alarm_community(&host, "garden-a").await;
    let not_granted = json!({"originator": "tap-1", "type": "water-leak", "severity": "minor"});
    let reply = a.command(ALARMS, "raise", not_granted).await;
    assert_eq!(reply.status, 403, "{}", reply.message());
    let platform_owned =
        json!({"originator": "smoke-3-201", "type": "device-offline", "severity": "minor"});
    let reply = a.command(ALARMS, "raise", platform_owned).await;
    assert_eq!(reply.status, 403, "{}", reply.message());
    assert!(reply.message().contains("platform"), "{}", reply.message());
    let granted = json!({"originator": "smoke-3-201", "type": "smoke-fault", "severity": "minor"});
    a.command(ALARMS, "raise", granted).await.expect(200);
    let denied = host
        .metric("linli_denied_calls_total", &["capability=\"alarm\""])
        .await;
    assert!(denied.ends_with(" 2"), "{denied}");
    assert_eq!(
        a.admin
            .get("/api/v1/communities/garden-a/alarms?type=water-leak")
            .await
            .expect(200),
        json!([]),
        "a denied raise leaves nothing behind"
    );
    let bad = a
        .admin
        .get("/api/v1/communities/garden-a/alarms?state=maybe")
        .await;
    assert_eq!(bad.status, 400);
    assert!(bad.message().contains("state"), "{}", bad.message());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_live_feed_streams_alarm_changes_and_resumes_after_the_last_event_seen() {
    let host = TestHost::start().await;
    host.publish(ALARMS).await;
    let a = alarm_community(&host, "garden-a").await;
    let zhang = operator(&a, "zhang").await;
    let path = "/api/v1/communities/garden-a/events?kinds=alarm";
    let mut live = zhang.events(path, None).await;

    let alarm = a.command(ALARMS, "raise", raise("major")).await.expect(200);
    let raised = live.next_of("alarm").await;
    assert_eq!(raised.data["data"]["change"], "raised");
    assert_eq!(raised.data["data"]["alarm"]["id"], alarm["id"]);
    let resume_from = raised.id.clone().expect("stored events carry an id");
    drop(live);

    let id = alarm["id"].as_str().unwrap();
    zhang
        .post(
            &format!("/api/v1/communities/garden-a/alarms/{id}/ack"),
            json!({}),
        )
        .await
        .expect(200);
    a.command(ALARMS, "raise", raise("critical"))
        .await
        .expect(200);

    let mut resumed = zhang.events(path, Some(&resume_from)).await;
    let missed: Vec<String> = [resumed.next().await, resumed.next().await]
        .iter()
        .map(|e| e.data["data"]["change"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(
        missed,
        ["acknowledged", "updated"],
        "what happened while disconnected, in order"
    );

    let bad = zhang
        .get("/api/v1/communities/garden-a/events?kinds=weather")
        .await;
    assert_eq!(bad.status, 400);
    let resident = a.member("resident", "wang").await;
    assert_eq!(resident.get(path).await.status, 403);
}

/// Polls the community's alarms of `alarm_type` until one matches `wanted`.
async fn wait_for_alarm(c: &Community, alarm_type: &str, wanted: impl Fn(&Value) -> bool) -> Value {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let alarms = c
            .admin
            .get(&format!(
                "/api/v1/communities/{}/alarms?type={alarm_type}",
                c.id
            ))
            .await
            .expect(200);
        if let Some(found) = alarms.as_array().unwrap().iter().find(|a| wanted(a)) {
            return found.clone();
        }
        assert!(
            Instant::now() < deadline,
            "no such {alarm_type} alarm in {alarms}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_silent_device_goes_offline_and_its_next_reading_brings_it_back() {
    let host = TestHost::start().await;
    host.publish(ALARMS).await;
    let c = alarm_community(&host, "garden-a").await;
    c.admin
        .put(
            "/api/v1/communities/garden-a/device-kinds/smoke-detector",
            json!({"report_interval_s": 600, "battery_low_percent": 25.0}),
        )
        .await
        .expect(200);
    let bad = c
        .admin
        .put(
            "/api/v1/communities/garden-a/device-kinds/smoke-detector",
            json!({"report_interval_s": 1}),
        )
        .await;
    assert_eq!(bad.status, 400);
    assert!(
        bad.message().contains("report_interval_s"),
        "{}",
        bad.message()
    );
    let registered = c
        .admin
        .post(
            "/api/v1/communities/garden-a/devices",
            json!({"id": "smoke-7", "kind": "smoke-detector", "reading_kinds": ["smoke", "battery"]}),
        )
        .await
        .expect(201);
    let smoke = c.admin.with_token(registered["token"].as_str().unwrap());
    let reading =
        |kind: &str, value: f64| json!([{"device": "smoke-7", "kind": kind, "value": value}]);
    smoke
        .post("/api/v1/ingest", reading("smoke", 0.1))
        .await
        .expect(202);

    host.advance(5 * 60_000);
    smoke
        .post("/api/v1/ingest", reading("smoke", 0.1))
        .await
        .expect(202);
    host.advance(9 * 60_000);
    assert_eq!(
        c.admin
            .get("/api/v1/communities/garden-a/alarms?type=device-offline&originator=smoke-7")
            .await
            .expect(200),
        json!([]),
        "nine minutes of silence is within a ten-minute interval"
    );
    host.advance(2 * 60_000);
    let offline = wait_for_alarm(&c, "device-offline", |a| {
        a["active"] == true && a["originator"] == "smoke-7"
    })
    .await;
    assert_eq!(offline["raised_by"], "platform");
    let never_reported = wait_for_alarm(&c, "device-offline", |a| {
        a["active"] == true && a["originator"] == "smoke-3-201"
    })
    .await;
    assert_eq!(
        never_reported["details"]["last_heard"],
        linli_tests::START,
        "silent since it was registered"
    );
    let told = seen_by_plugin(&c, 2).await;
    assert!(
        told.iter().any(|t| t["change"] == "raised"
            && t["alarm"]["originator"] == "smoke-7"
            && t["by"] == "platform"),
        "the plugin watching device-offline is told: {told:?}"
    );

    smoke
        .post("/api/v1/ingest", reading("smoke", 0.1))
        .await
        .expect(202);
    let back = wait_for_alarm(&c, "device-offline", |a| {
        a["active"] == false && a["originator"] == "smoke-7"
    })
    .await;
    assert_eq!(
        (back["id"].as_str(), back["cleared_by"].as_str()),
        (offline["id"].as_str(), Some("platform"))
    );

    smoke
        .post("/api/v1/ingest", reading("battery", 18.0))
        .await
        .expect(202);
    smoke
        .post("/api/v1/ingest", reading("battery", 17.0))
        .await
        .expect(202);
    let low = wait_for_alarm(&c, "device-battery-low", |a| a["active"] == true).await;
    assert_eq!(
        (low["severity"].as_str(), low["count"].as_i64()),
        (Some("warning"), Some(1))
    );
    smoke
        .post("/api/v1/ingest", reading("battery", 96.0))
        .await
        .expect(202);
    wait_for_alarm(&c, "device-battery-low", |a| a["active"] == false).await;
}
