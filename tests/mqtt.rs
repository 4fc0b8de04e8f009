//! Devices publish readings to an MQTT broker; the host's bridge ingests
//! them like an HTTP batch, refuses what is not from the device the topic
//! names, and keeps going when the broker goes away and comes back.
//! Each scenario runs its own `mosquitto` on a free port.

use linli_tests::{eventually, Broker, Community, TestHost};
use serde_json::{json, Value};

/// A host bridged to a fresh broker, with hello-scene counting block-a's readings.
async fn bridged_block() -> (Broker, TestHost, Community, String) {
    let broker = Broker::start().await;
    let host = TestHost::start_with_mqtt(&broker).await;
    let block = host.community("block-a").await;
    let hello = host.install_hello(&block).await;
    host.wait_for_metric("linli_mqtt_connected", &[], 1.0).await;
    (broker, host, block, hello)
}

/// Waits until hello-scene has counted `total` readings.
async fn wait_for_total(block: &Community, total: u64) {
    eventually(&format!("hello-scene counts {total} readings"), || async {
        let stats = block
            .command("hello-scene", "stats", json!({}))
            .await
            .expect(200);
        stats["total"] == total
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn readings_published_to_the_broker_reach_hello_scene_once_each() {
    let (broker, host, block, _hello) = bridged_block().await;
    let thermo = block.device("thermo-1", &["temperature", "humidity"]).await;
    let topic = thermo.readings_topic(&block);
    let readings: Vec<Value> = (0..5)
        .map(|i| thermo.reading("temperature", json!(20 + i)))
        .collect();
    broker
        .publish(&topic, &thermo.mqtt_message(None, json!(readings)))
        .await;
    wait_for_total(&block, 5).await;

    // A batch with a key, published twice (the device did not see the PUBACK): counted once.
    let keyed = thermo.mqtt_message(
        Some("thermo-1/42"),
        json!([thermo.reading("humidity", json!(40))]),
    );
    broker.publish(&topic, &keyed).await;
    broker.publish(&topic, &keyed).await;
    host.wait_for_metric("linli_mqtt_messages_total", &["replayed"], 1.0)
        .await;
    wait_for_total(&block, 6).await;
    assert_eq!(
        host.metric_value("linli_mqtt_messages_total", &["\"accepted\""])
            .await,
        Some(2.0)
    );
    let stats = block
        .command("hello-scene", "stats", json!({}))
        .await
        .expect(200);
    assert_eq!(stats["counts"]["humidity"], 1);
    let device = block
        .admin
        .get("/api/v1/communities/block-a/devices/thermo-1")
        .await
        .expect(200);
    assert_eq!(device["last_seen"], linli_tests::START);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_tokens_and_malformed_payloads_are_refused_counted_and_told_to_the_device() {
    let (broker, host, block, _hello) = bridged_block().await;
    let thermo = block.device("thermo-1", &["temperature"]).await;
    let door = block.device("door-1", &["door"]).await;
    let topic = thermo.readings_topic(&block);
    let mut errors = broker.subscribe("linli/block-a/thermo-1/errors").await;
    let reading = json!([thermo.reading("temperature", json!(21))]);

    // Another device's token on thermo-1's topic, a bare array, and a payload that is not JSON.
    broker
        .publish(&topic, &door.mqtt_message(None, reading.clone()))
        .await;
    broker.publish(&topic, &reading).await;
    broker.publish(&topic, &json!("not json at all")).await;
    broker
        .publish(
            "linli/block-a/no-such-device/readings",
            &thermo.mqtt_message(None, reading.clone()),
        )
        .await;
    host.wait_for_metric("linli_mqtt_messages_total", &["bad-token"], 3.0)
        .await;
    host.wait_for_metric("linli_mqtt_messages_total", &["malformed"], 1.0)
        .await;

    let mut codes = Vec::new();
    for _ in 0..3 {
        let told = errors.recv().await.expect("an error message");
        codes.push(
            told["error"]["code"]
                .as_str()
                .unwrap_or_default()
                .to_owned(),
        );
    }
    codes.sort();
    assert_eq!(codes, ["invalid", "unauthorized", "unauthorized"]);

    // A good message with one bad reading: the rest lands, the device hears which one.
    let mixed = json!([
        thermo.reading("temperature", json!(21)),
        thermo.reading("temperature", json!(9000))
    ]);
    broker
        .publish(&topic, &thermo.mqtt_message(Some("mixed-1"), mixed))
        .await;
    let told = errors.recv().await.expect("the report");
    assert_eq!(told["batch"], "mixed-1");
    assert_eq!(told["report"]["accepted"], 1);
    assert_eq!(told["report"]["errors"][0]["index"], 1);
    assert_eq!(told["report"]["errors"][0]["field"], "value");
    wait_for_total(&block, 1).await;
    let history = block
        .admin
        .get("/api/v1/communities/block-a/devices/thermo-1/readings")
        .await
        .expect(200);
    assert_eq!(history.as_array().unwrap().len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_bridge_reconnects_and_resubscribes_after_a_broker_restart() {
    let (mut broker, host, block, _hello) = bridged_block().await;
    let thermo = block.device("thermo-1", &["temperature"]).await;
    let topic = thermo.readings_topic(&block);
    let batch = |n: i64| json!([thermo.reading("temperature", json!(n))]);
    broker
        .publish(&topic, &thermo.mqtt_message(None, batch(1)))
        .await;
    wait_for_total(&block, 1).await;

    broker.kill();
    host.wait_for_metric("linli_mqtt_connected", &[], 0.0).await;
    broker.restart().await;
    host.wait_for_metric("linli_mqtt_connected", &[], 1.0).await;

    broker
        .publish(&topic, &thermo.mqtt_message(None, batch(2)))
        .await;
    wait_for_total(&block, 2).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reading_that_names_no_device_is_for_the_device_its_topic_names() {
    let (broker, _host, block, _hello) = bridged_block().await;
    let gateway = block.device("zigbee-gw-1", &["battery"]).await;
    let leak = block.device_behind(&gateway, "leak-3", &["leak"]).await;
    let mut errors = broker.subscribe("linli/block-a/zigbee-gw-1/errors").await;
    let readings = json!([
        {"kind": "battery", "value": 87},
        leak.reading("leak", json!(false)),
        {"kind": "leak", "value": true}
    ]);
    broker
        .publish(
            &gateway.readings_topic(&block),
            &gateway.mqtt_message(Some("gw-1"), readings),
        )
        .await;
    // The third names no device, so it is the gateway's own, which reports no leaks.
    let told = errors.recv().await.expect("the report");
    assert_eq!(told["report"]["accepted"], 2, "{told}");
    assert_eq!(told["report"]["errors"][0]["index"], 2);
    assert_eq!(told["report"]["errors"][0]["field"], "kind");
    wait_for_total(&block, 2).await;
    let history = block
        .admin
        .get("/api/v1/communities/block-a/devices/zigbee-gw-1/readings")
        .await
        .expect(200);
    assert_eq!(history[0]["kind"], "battery", "{history}");
    assert_eq!(history.as_array().map(Vec::len), Some(1));
}
