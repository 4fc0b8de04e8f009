//! Exactly once across crashes: a driver streams readings in batches with
//! idempotency keys, retrying each batch until it is acknowledged, while the
//! real `linli serve` process is killed with SIGKILL at random moments and
//! restarted. Afterwards hello-scene has counted exactly the readings the
//! driver saw acknowledged: none lost, none handled twice.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use linli_tests::{package, Client, HostProcess};
use rand::Rng;
use serde_json::{json, Value};

const BATCH: usize = 20;
const KILLS: usize = 5;

/// Sends batches until told to stop; returns how many readings were
/// acknowledged and how many sends had to be retried.
async fn drive(device: Client, stop: Arc<AtomicBool>) -> (u64, u64) {
    let mut acknowledged = 0;
    let mut retries = 0;
    let mut batch = 0u64;
    while !stop.load(Ordering::SeqCst) {
        batch += 1;
        let key = format!("batch-{batch}");
        let readings: Vec<Value> = (0..BATCH)
            .map(|i| json!({"device": "thermo-1", "kind": "temperature", "value": 20.0 + i as f64 / 10.0}))
            .collect();
        let body = Value::Array(readings);
        // The same batch under the same key until the host acknowledges it,
        // however many times it dies in between.
        loop {
            match device
                .try_post_with(
                    "/api/v1/ingest",
                    &[("Idempotency-Key", key.as_str())],
                    &body,
                )
                .await
            {
                Some(reply) if reply.status == 202 => {
                    assert_eq!(reply.body["accepted"], BATCH, "{}", reply.body);
                    acknowledged += BATCH as u64;
                    break;
                }
                Some(reply) if reply.status.is_server_error() || reply.status == 429 => {}
                Some(reply) => panic!("batch {key} refused: {} {}", reply.status, reply.body),
                None => {}
            }
            retries += 1;
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
    (acknowledged, retries)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_acknowledged_reading_is_handled_exactly_once_across_sigkills() {
    let mut host = HostProcess::start().await;
    let admin = host.admin.clone();
    admin
        .post(
            "/api/v1/communities",
            json!({"id": "crash-garden", "name": "Crash Garden"}),
        )
        .await
        .expect(201);
    admin
        .post_bytes("/api/v1/plugins", package("hello-scene"))
        .await
        .expect(201);
    let device = admin
        .post(
            "/api/v1/communities/crash-garden/devices",
            json!({"id": "thermo-1", "kind": "thermometer", "reading_kinds": ["temperature"]}),
        )
        .await
        .expect(201);
    let installation = admin
        .post(
            "/api/v1/communities/crash-garden/installations",
            json!({"plugin": "hello-scene", "version": "0.1.0",
                   "grants": {"sensor": {"kinds": ["temperature"]}, "store": {}},
                   "config": {"greeting": "hi"}}),
        )
        .await
        .expect(201)["id"]
        .as_str()
        .unwrap()
        .to_owned();

    let stop = Arc::new(AtomicBool::new(false));
    let driver = tokio::spawn(drive(
        admin.with_token(device["token"].as_str().unwrap()),
        stop.clone(),
    ));
    let mut rng = rand::rng();
    for _ in 0..KILLS {
        tokio::time::sleep(Duration::from_millis(rng.random_range(150..700))).await;
        host.kill_and_restart().await;
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    stop.store(true, Ordering::SeqCst);
    let (acknowledged, retries) = driver.await.expect("the driver finishes");
    assert!(acknowledged > 0, "the driver got readings through");
    assert!(retries > 0, "the kills interrupted the driver");

    let path = format!("/api/v1/communities/crash-garden/installations/{installation}");
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let state = admin.get(&path).await.expect(200);
        if state["backlog"] == 0 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the plugin did not catch up: {state}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let stats = admin
        .post(
            "/api/v1/communities/crash-garden/plugins/hello-scene/commands/stats",
            json!({}),
        )
        .await
        .expect(200);
    assert_eq!(
        stats["counts"]["temperature"].as_u64(),
        Some(acknowledged),
        "counted exactly the acknowledged readings ({} kills): {stats}",
        KILLS
    );
}
