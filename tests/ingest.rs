//! A device posts readings; the host stores the good ones, names the field
//! of every bad one, and hands the good ones to the scenes that subscribed.

use linli_tests::TestHost;
use serde_json::{json, Value};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_batch_with_three_malformed_readings_lands_the_other_97_and_hello_scene_counts_exactly_them(
) {
    let host = TestHost::start().await;
    let block = host.community("block-a").await;
    let thermo = block.device("thermo-1", &["temperature", "humidity"]).await;
    let hello = host.install_hello(&block).await;

    let mut batch: Vec<Value> = (0..100)
        .map(|i| {
            let kind = if i % 2 == 0 {
                "temperature"
            } else {
                "humidity"
            };
            thermo.reading(kind, json!(20 + i % 10))
        })
        .collect();
    batch[10] = json!({"kind": "temperature", "value": 21.0});
    batch[50] = thermo.reading("temperature", json!("NaN"));
    batch[90] = thermo.reading("radiation", json!(1.0));

    let report = thermo.send(json!(batch)).await.expect(202);
    assert_eq!(report["accepted"], 97);
    assert_eq!(report["rejected"], 3);
    let errors: Vec<(u64, &str)> = report["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["index"].as_u64().unwrap(), e["field"].as_str().unwrap()))
        .collect();
    assert_eq!(errors, vec![(10, "device"), (50, "value"), (90, "kind")]);
    assert!(report["errors"][2]["message"]
        .as_str()
        .unwrap()
        .contains("radiation"));

    block.settle(&hello).await;
    let stats = block
        .command("hello-scene", "stats", json!({}))
        .await
        .expect(200);
    assert_eq!(stats["total"], 97);
    assert_eq!(stats["counts"]["temperature"], 47);
    assert_eq!(stats["counts"]["humidity"], 50);

    let handled = host.metric("linli_events_handled_total", &[&hello]).await;
    assert!(
        handled.ends_with(" 98"),
        "97 readings and the installed event: {handled}"
    );

    let history = block
        .admin
        .get("/api/v1/communities/block-a/devices/thermo-1/readings?kind=humidity&limit=5")
        .await
        .expect(200);
    assert_eq!(history.as_array().unwrap().len(), 5);
    assert_eq!(history[0]["unit"], "%");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ndjson_batches_reject_only_their_broken_lines() {
    let host = TestHost::start().await;
    let block = host.community("block-a").await;
    let door = block.device("door-1", &["door"]).await;
    let body = "{\"device\":\"door-1\",\"kind\":\"door\",\"value\":true}\nnot json\n{\"device\":\"door-1\",\"kind\":\"door\",\"value\":false}\n";
    let report = block
        .admin
        .with_token(door.token())
        .post_raw("/api/v1/ingest", "application/x-ndjson", body.into())
        .await
        .expect(202);
    assert_eq!(report["accepted"], 2);
    assert_eq!(report["errors"][0]["index"], 1);
}

/// A multi-sensor reports flags, numbers and texts in turn, each batch
/// holding only one type, so the value columns a batch leaves NULL change
/// from batch to batch on the same store connection (on PostgreSQL this
/// once failed with "incorrect binary data format" after the first flag).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn batches_of_flags_numbers_and_texts_in_turn_all_land() {
    let host = TestHost::start().await;
    let block = host.community("block-a").await;
    let sensor = block
        .device("multi-1", &["door", "temperature", "status"])
        .await;
    let kinds = [
        ("door", json!(true)),
        ("temperature", json!(21.5)),
        ("status", json!("locked")),
    ];
    for round in 0..12 {
        let (kind, value) = &kinds[round % kinds.len()];
        let report = sensor
            .send(json!([sensor.reading(kind, value.clone())]))
            .await
            .expect(202);
        assert_eq!(report["accepted"], 1, "round {round}: {report}");
    }
    let stored = block
        .admin
        .get("/api/v1/communities/block-a/devices/multi-1/readings?limit=100")
        .await
        .expect(200);
    assert_eq!(stored.as_array().map(Vec::len), Some(12), "{stored}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ingest_refuses_people_unknown_tokens_and_whole_batches_that_are_not_json() {
    let host = TestHost::start().await;
    let block = host.community("block-a").await;
    let thermo = block.device("thermo-1", &["temperature"]).await;

    let by_admin = block.admin.post("/api/v1/ingest", json!([])).await;
    assert_eq!(by_admin.status, 403);
    let stranger = block.admin.with_token("lnl_not-a-token");
    let unknown = stranger.post("/api/v1/ingest", json!([])).await;
    assert_eq!(unknown.status, 401);
    assert_eq!(unknown.body["error"]["code"], "unauthorized");
    let not_array = thermo.send(json!({"device": "thermo-1"})).await;
    assert_eq!(not_array.status, 400);
    assert!(
        not_array.message().contains("JSON array"),
        "{}",
        not_array.message()
    );

    let too_hot = thermo
        .send(json!([thermo.reading("temperature", json!(5000.0))]))
        .await
        .expect(202);
    assert_eq!(too_hot["errors"][0]["field"], "value");
    let future = thermo
        .send(json!([{"device": "thermo-1", "kind": "temperature", "value": 20, "at": linli_tests::START + 3_600_000}]))
        .await
        .expect(202);
    assert_eq!(future["errors"][0]["field"], "at");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_batch_retried_with_its_idempotency_key_lands_once_and_gets_the_first_report() {
    let host = TestHost::start().await;
    let block = host.community("block-a").await;
    let thermo = block.device("thermo-1", &["temperature"]).await;
    let door = block.device("door-1", &["door"]).await;
    let hello = host.install_hello(&block).await;
    let mut batch: Vec<Value> = (0..10)
        .map(|i| thermo.reading("temperature", json!(20 + i)))
        .collect();
    batch[3] = thermo.reading("temperature", json!("warm"));

    let first = thermo.send_keyed("gw-7/batch-1", json!(batch)).await;
    assert!(!first.headers.contains_key("idempotent-replayed"));
    let report = first.expect(202);
    assert_eq!(
        (report["accepted"].as_u64(), report["rejected"].as_u64()),
        (Some(9), Some(1))
    );
    block.settle(&hello).await;

    // The device did not see the answer (a timeout, a host crash) and sends again.
    let retry = thermo.send_keyed("gw-7/batch-1", json!(batch)).await;
    assert_eq!(retry.headers["idempotent-replayed"], "true");
    assert_eq!(retry.expect(202), report);
    block.settle(&hello).await;
    let stats = block
        .command("hello-scene", "stats", json!({}))
        .await
        .expect(200);
    assert_eq!(stats["total"], 9);
    let history = block
        .admin
        .get("/api/v1/communities/block-a/devices/thermo-1/readings?limit=1000")
        .await
        .expect(200);
    assert_eq!(history.as_array().unwrap().len(), 9);

    // The same key naming another batch is refused; keys are per device.
    let reused = thermo
        .send_keyed(
            "gw-7/batch-1",
            json!([thermo.reading("temperature", json!(1))]),
        )
        .await;
    assert_eq!(reused.status, 409);
    assert!(
        reused.message().contains("Idempotency-Key"),
        "{}",
        reused.message()
    );
    let other_device = door
        .send_keyed("gw-7/batch-1", json!([door.reading("door", json!(true))]))
        .await
        .expect(202);
    assert_eq!(other_device["accepted"], 1);

    for bad in ["has space", &"k".repeat(129)] {
        let refused = thermo.send_keyed(bad, json!(batch)).await;
        assert_eq!(refused.status, 400, "{bad}");
        assert!(
            refused.message().starts_with("Idempotency-Key"),
            "{}",
            refused.message()
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn readings_past_retention_are_purged_but_never_before_every_installation_handled_them() {
    const DAY: i64 = 24 * 60 * 60 * 1000;
    let host = TestHost::start().await;
    let block = host.community("block-a").await;
    let thermo = block.device("thermo-1", &["temperature"]).await;
    let hello = host.install_hello(&block).await;
    let community = "/api/v1/communities/block-a";
    for bad in [0, 3651] {
        let refused = block
            .admin
            .patch(community, json!({"reading_retention_days": bad}))
            .await;
        assert_eq!(refused.status, 400);
        assert!(refused.message().contains("reading_retention_days"));
    }
    let changed = block
        .admin
        .patch(community, json!({"reading_retention_days": 7}))
        .await
        .expect(200);
    assert_eq!(changed["reading_retention_days"], 7);
    let history = || async {
        block
            .admin
            .get(&format!("{community}/devices/thermo-1/readings?limit=1000"))
            .await
            .expect(200)
            .as_array()
            .unwrap()
            .len()
    };

    // Ten readings that hello-scene handles, then five it has not handled yet.
    let handled: Vec<Value> = (0..10)
        .map(|i| thermo.reading("temperature", json!(i)))
        .collect();
    thermo.send_keyed("day-1", json!(handled)).await.expect(202);
    block.settle(&hello).await;
    block
        .admin
        .patch(
            &format!("{community}/installations/{hello}"),
            json!({"state": "suspended"}),
        )
        .await
        .expect(200);
    let waiting: Vec<Value> = (0..5)
        .map(|i| thermo.reading("temperature", json!(i)))
        .collect();
    thermo.send(json!(waiting)).await.expect(202);

    // Eight days on, the handled ten are past the week's retention and go;
    // the five the suspended installation has not seen stay, however old.
    host.advance(8 * DAY);
    host.wait_for_metric("linli_readings_purged_total", &[], 10.0)
        .await;
    assert_eq!(history().await, 5);
    // The batch key went with its readings: the same batch is new again.
    let again = thermo.send_keyed("day-1", json!(handled)).await;
    assert!(!again.headers.contains_key("idempotent-replayed"));
    assert_eq!(again.expect(202)["accepted"], 10);

    block
        .admin
        .patch(
            &format!("{community}/installations/{hello}"),
            json!({"state": "active"}),
        )
        .await
        .expect(200);
    block.settle(&hello).await;
    let stats = block
        .command("hello-scene", "stats", json!({}))
        .await
        .expect(200);
    assert_eq!(stats["total"], 25);
    host.advance(8 * DAY);
    host.wait_for_metric("linli_readings_purged_total", &[], 25.0)
        .await;
    assert_eq!(history().await, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_device_registered_behind_a_gateway_a_moment_ago_is_heard_through_it_at_once() {
    let host = TestHost::start().await;
    let block = host.community("block-a").await;
    let gateway = block.device("lora-gw-1", &["battery"]).await;
    let door_1 = block.device_behind(&gateway, "door-1", &["door"]).await;
    // The gateway's device set is loaded and kept.
    let warm = gateway
        .send(json!([door_1.reading("door", json!(true))]))
        .await
        .expect(202);
    assert_eq!(warm["accepted"], 1, "{warm}");

    let door_2 = block.device_behind(&gateway, "door-2", &["door"]).await;
    let report = gateway
        .send(json!([
            door_2.reading("door", json!(false)),
            door_1.reading("door", json!(false))
        ]))
        .await
        .expect(202);
    assert_eq!(
        (report["accepted"].as_u64(), report["rejected"].as_u64()),
        (Some(2), Some(0)),
        "{report}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_retired_device_is_refused_through_its_gateway_at_once_though_the_gateway_sent_for_it_a_moment_before(
) {
    let host = TestHost::start().await;
    let block = host.community("block-a").await;
    let gateway = block.device("lora-gw-1", &["battery"]).await;
    let smoke = block
        .device_behind(&gateway, "smoke-7", &["smoke-alarm"])
        .await;
    let door = block.device_behind(&gateway, "door-1", &["door"]).await;
    for _ in 0..3 {
        let report = gateway
            .send(json!([smoke.reading("smoke-alarm", json!(false))]))
            .await
            .expect(202);
        assert_eq!(report["accepted"], 1, "{report}");
    }

    block
        .admin
        .delete("/api/v1/communities/block-a/devices/smoke-7")
        .await
        .expect(204);
    let report = gateway
        .send(json!([
            smoke.reading("smoke-alarm", json!(true)),
            door.reading("door", json!(true))
        ]))
        .await
        .expect(202);
    assert_eq!(report["accepted"], 1, "{report}");
    assert_eq!(report["errors"][0]["index"], 0);
    assert_eq!(report["errors"][0]["field"], "device");
    assert!(
        report["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("smoke-7"),
        "{report}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn late_readings_from_a_gateway_come_back_in_measurement_order_within_the_asked_span() {
    const MINUTE: i64 = 60_000;
    let host = TestHost::start().await;
    let block = host.community("block-a").await;
    let gateway = block.device("nb-gw-1", &["battery"]).await;
    let parking = block
        .device_behind(&gateway, "bay-12", &["occupancy"])
        .await;
    let start = linli_tests::START - 60 * MINUTE;
    // Minutes 10, 20 and 40 arrive first; 30 and 5 were buffered and come late.
    for minutes in [[10, 20], [40, 30], [5, 50]] {
        let batch: Vec<Value> = minutes
            .iter()
            .map(|m| parking.reading_at("occupancy", json!(m % 20 == 0), start + m * MINUTE))
            .collect();
        gateway.send(json!(batch)).await.expect(202);
    }
    let span = format!(
        "/api/v1/communities/block-a/devices/bay-12/readings?from={}&to={}",
        start + 10 * MINUTE,
        start + 45 * MINUTE
    );
    let history = block.admin.get(&span).await.expect(200);
    let measured: Vec<i64> = history
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r["at"].as_i64().unwrap() - start) / MINUTE)
        .collect();
    assert_eq!(measured, vec![10, 20, 30, 40]);
    let device = block
        .admin
        .get("/api/v1/communities/block-a/devices/bay-12")
        .await
        .expect(200);
    assert_eq!(
        device["last_seen"],
        start + 50 * MINUTE,
        "the newest measurement, not the last to arrive"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_device_moved_to_another_gateway_is_heard_only_through_the_new_one_at_once() {
    let host = TestHost::start().await;
    let block = host.community("block-a").await;
    let old = block.device("zigbee-gw-1", &["battery"]).await;
    let new = block.device("zigbee-gw-2", &["battery"]).await;
    let bay = block.device_behind(&old, "bay-3", &["occupancy"]).await;
    let reading = || json!([bay.reading("occupancy", json!(true))]);
    assert_eq!(old.send(reading()).await.expect(202)["accepted"], 1);
    assert_eq!(new.send(reading()).await.expect(202)["accepted"], 0);

    let moved = block
        .admin
        .patch(
            "/api/v1/communities/block-a/devices/bay-3",
            json!({"gateway": "zigbee-gw-2"}),
        )
        .await
        .expect(200);
    assert_eq!(moved["gateway"], "zigbee-gw-2");
    assert_eq!(
        old.send(reading()).await.expect(202)["errors"][0]["field"],
        "device"
    );
    assert_eq!(new.send(reading()).await.expect(202)["accepted"], 1);

    let itself = block
        .admin
        .patch(
            "/api/v1/communities/block-a/devices/bay-3",
            json!({"gateway": "bay-3"}),
        )
        .await;
    assert_eq!(itself.status, 400);
    assert!(
        itself.message().starts_with("gateway"),
        "{}",
        itself.message()
    );
}
