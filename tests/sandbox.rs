//! Hostile plugins hurt only themselves: an infinite loop hits its deadline,
//! a memory bomb hits its cap, a plugin that traps on every event is
//! suspended after five, and a call outside the grants is denied — while a
//! well-behaved installation in another community handles every event.

use linli_tests::{Community, Device, TestHost};
use serde_json::{json, Value};

const HOSTILE: &str = "hostile-scene";

async fn hostile(
    host: &TestHost,
    community: &str,
    behaviour: &str,
    trigger_at: f64,
    grants: Value,
) -> (Community, Device, String) {
    let c = host.community(community).await;
    let sensor = c.device("probe", &["temperature"]).await;
    let id = c
        .install(
            HOSTILE,
            grants,
            json!({"behaviour": behaviour, "trigger-at": trigger_at}),
        )
        .await;
    (c, sensor, id)
}

fn full_grants() -> Value {
    json!({"sensor": {"kinds": ["*"]}, "store": {}, "timer": {}})
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_plugins_hurt_only_themselves() {
    let host = TestHost::start().await;
    host.publish("hello-scene").await;
    host.publish(HOSTILE).await;

    let good = host.community("good").await;
    let good_sensor = good.device("thermo", &["temperature"]).await;
    let hello = good
        .install(
            "hello-scene",
            json!({"sensor": {"kinds": ["temperature"]}, "store": {}}),
            json!({}),
        )
        .await;

    let (spin, spin_probe, spin_id) = hostile(&host, "spin", "spin", 50.0, full_grants()).await;
    let (bomb, bomb_probe, bomb_id) =
        hostile(&host, "bomb", "memory-bomb", 50.0, full_grants()).await;
    // A generous call budget, so that the memory cap, not the clock, stops
    // the bomb however slow the machine is.
    bomb.admin
        .patch(
            &format!("/api/v1/communities/bomb/installations/{bomb_id}"),
            json!({"limits": {"memory-mib": 64, "call-timeout-ms": 10_000}}),
        )
        .await
        .expect(200);
    let (trap, trap_probe, trap_id) = hostile(&host, "trap", "trap", 0.0, full_grants()).await;
    let (reach, reach_probe, reach_id) = hostile(
        &host,
        "reach",
        "overreach",
        50.0,
        json!({"sensor": {"kinds": ["temperature"]}, "store": {}}),
    )
    .await;

    // Each hostile installation gets one poisoned reading then one ordinary
    // one; the trapping one gets six. The good community keeps sending throughout.
    let mut good_sent = 0;
    for probe in [&spin_probe, &bomb_probe, &reach_probe] {
        probe
            .send(json!([probe.reading("temperature", json!(100.0))]))
            .await
            .expect(202);
        good_sensor
            .send(Value::Array(vec![
                good_sensor
                    .reading("temperature", json!(21.0));
                10
            ]))
            .await
            .expect(202);
        good_sent += 10;
        probe
            .send(json!([probe.reading("temperature", json!(1.0))]))
            .await
            .expect(202);
    }
    for _ in 0..6 {
        trap_probe
            .send(json!([trap_probe.reading("temperature", json!(1.0))]))
            .await
            .expect(202);
        good_sensor
            .send(Value::Array(vec![
                good_sensor
                    .reading("temperature", json!(22.0));
                5
            ]))
            .await
            .expect(202);
        good_sent += 5;
    }

    // The infinite loop was stopped at its deadline; the next event was handled.
    spin.settle(&spin_id).await;
    let letters = spin.dead_letters(&spin_id).await;
    assert_eq!(letters.len(), 1, "{letters:?}");
    assert_eq!(letters[0]["reason"], "deadline");
    assert_eq!(letters[0]["event"]["reading"]["value"], 100.0);
    assert_eq!(
        spin.command(HOSTILE, "report", json!({})).await.expect(200)["handled"],
        1
    );

    // The memory bomb was stopped at its cap; the next event was handled.
    bomb.settle(&bomb_id).await;
    let letters = bomb.dead_letters(&bomb_id).await;
    assert_eq!(letters.len(), 1, "{letters:?}");
    assert_eq!(letters[0]["reason"], "memory-limit");
    assert!(
        letters[0]["error"].as_str().unwrap().contains("limit"),
        "{}",
        letters[0]["error"]
    );
    assert_eq!(
        bomb.command(HOSTILE, "report", json!({})).await.expect(200)["handled"],
        1
    );

    // Trapping on every event: suspended after five, with five dead letters,
    // and the sixth reading waits in the log for a resume.
    let suspended = trap.settle(&trap_id).await;
    assert_eq!(suspended["state"], "suspended");
    assert!(suspended["state_reason"]
        .as_str()
        .unwrap()
        .contains("5 consecutive failures"));
    assert_eq!(suspended["backlog"], 1);
    let letters = trap.dead_letters(&trap_id).await;
    assert_eq!(letters.len(), 5);
    assert!(letters.iter().all(|l| l["reason"] == "trap"));
    let error = letters[0]["error"].as_str().unwrap_or_default();
    assert!(
        error.contains("panicked at") && error.contains("src/lib.rs"),
        "where the plugin panicked reaches the dead letter: {error}"
    );
    assert!(
        error.contains("trapping as configured on a temperature reading"),
        "and its panic message: {error}"
    );
    let refused = trap.command(HOSTILE, "report", json!({})).await;
    assert_eq!(refused.status, 409);
    let alarms = trap
        .admin
        .get(&format!(
            "/api/v1/communities/{}/alarms?type=installation-suspended&state=active",
            trap.id
        ))
        .await
        .expect(200);
    assert_eq!(
        alarms[0]["originator"], trap_id,
        "the suspension raised a platform alarm: {alarms}"
    );
    assert_eq!(
        (
            alarms[0]["raised_by"].as_str(),
            alarms[0]["severity"].as_str()
        ),
        (Some("platform"), Some("major"))
    );

    // Calls outside the grants came back as typed `denied` errors and were counted.
    reach.settle(&reach_id).await;
    assert!(reach.dead_letters(&reach_id).await.is_empty());
    let report = reach
        .command(HOSTILE, "report", json!({}))
        .await
        .expect(200);
    assert_eq!(report["handled"], 2);
    let denials: Vec<String> = serde_json::from_value(report["denials"].clone()).unwrap();
    assert!(denials.iter().any(|d| d.contains("timer")), "{denials:?}");
    assert!(
        denials.iter().any(|d| d.contains("heart-rate")),
        "{denials:?}"
    );
    let denied_line = host
        .metric(
            "linli_denied_calls_total",
            &[&reach_id, "capability=\"timer\""],
        )
        .await;
    assert!(denied_line.ends_with(" 1"), "{denied_line}");

    // Meanwhile the good community lost nothing.
    good.settle(&hello).await;
    let stats = good
        .command("hello-scene", "stats", json!({}))
        .await
        .expect(200);
    assert_eq!(stats["total"], good_sent);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_suspended_installation_resumes_where_it_stopped() {
    let host = TestHost::start().await;
    host.publish(HOSTILE).await;
    let (c, probe, id) = hostile(&host, "flaky", "trap", 50.0, full_grants()).await;
    for _ in 0..5 {
        probe
            .send(json!([probe.reading("temperature", json!(99.0))]))
            .await
            .expect(202);
    }
    probe
        .send(Value::Array(vec![
            probe.reading("temperature", json!(1.0));
            3
        ]))
        .await
        .expect(202);
    assert_eq!(c.settle(&id).await["state"], "suspended");

    let resumed = c
        .admin
        .patch(
            &format!("/api/v1/communities/flaky/installations/{id}"),
            json!({"state": "active"}),
        )
        .await
        .expect(200);
    assert_eq!(resumed["consecutive_failures"], 0);
    let settled = c.settle(&id).await;
    assert_eq!(settled["state"], "active");
    assert_eq!(
        c.command(HOSTILE, "report", json!({})).await.expect(200)["handled"],
        3
    );
    let alarm = c
        .admin
        .get("/api/v1/communities/flaky/alarms?type=installation-suspended")
        .await
        .expect(200);
    assert_eq!(
        (
            alarm[0]["active"].as_bool(),
            alarm[0]["cleared_by"].as_str()
        ),
        (Some(false), Some("flaky-admin")),
        "resuming clears the suspension alarm: {alarm}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failure_inside_a_batch_costs_only_the_failing_reading() {
    let host = TestHost::start().await;
    host.publish(HOSTILE).await;
    let (c, probe, id) = hostile(&host, "mixed", "trap", 50.0, full_grants()).await;
    let values = [1.0, 99.0, 2.0, 3.0, 99.0, 4.0, 5.0];
    let batch: Vec<Value> = values
        .iter()
        .map(|v| probe.reading("temperature", json!(v)))
        .collect();
    probe.send(Value::Array(batch)).await.expect(202);
    let settled = c.settle(&id).await;
    assert_eq!(
        settled["state"], "active",
        "two failures apart are not five in a row"
    );
    assert_eq!(
        c.command(HOSTILE, "report", json!({})).await.expect(200)["handled"],
        5,
        "every good reading is counted once, around the two that trap"
    );
    let letters = c.dead_letters(&id).await;
    let failed: Vec<f64> = letters
        .iter()
        .map(|l| l["event"]["reading"]["value"].as_f64().unwrap_or(f64::NAN))
        .collect();
    assert_eq!(failed, [99.0, 99.0], "{letters:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dead_letter_retried_after_a_fix_is_handled_exactly_once() {
    let host = TestHost::start().await;
    host.publish(HOSTILE).await;
    let (c, probe, id) = hostile(&host, "mended", "trap", 50.0, full_grants()).await;
    probe
        .send(json!([probe.reading("temperature", json!(99.0))]))
        .await
        .expect(202);
    c.settle(&id).await;
    let letters = c.dead_letters(&id).await;
    let first = letters[0]["id"].as_i64().expect("a dead letter");
    let retry = |letter: i64| {
        format!("/api/v1/communities/mended/installations/{id}/dead-letters/{letter}/retry")
    };

    // Not fixed yet: it fails again, and a new dead letter takes the old one's place.
    let again = c.admin.post(&retry(first), json!({})).await.expect(200);
    assert_eq!(again["outcome"], "failed", "{again}");
    assert!(
        again["error"]
            .as_str()
            .unwrap_or_default()
            .contains("trapping"),
        "{again}"
    );
    let letters = c.dead_letters(&id).await;
    assert_eq!(letters.len(), 1, "{letters:?}");
    let second = letters[0]["id"].as_i64().unwrap();
    assert_ne!(second, first);
    assert_eq!(letters[0]["event"]["reading"]["value"], 99.0);

    // The fix: the plugin no longer traps on 99. The retry lands once.
    c.admin
        .patch(
            &format!("/api/v1/communities/mended/installations/{id}"),
            json!({"config": {"behaviour": "trap", "trigger-at": 1000.0}}),
        )
        .await
        .expect(200);
    let handled = c.admin.post(&retry(second), json!({})).await.expect(200);
    assert_eq!(handled["outcome"], "handled", "{handled}");
    assert!(c.dead_letters(&id).await.is_empty());
    let retried_again = c.admin.post(&retry(second), json!({})).await;
    assert_eq!(retried_again.status, 404, "{}", retried_again.body);
    assert_eq!(
        c.command(HOSTILE, "report", json!({})).await.expect(200)["handled"],
        1,
        "the retried reading is counted once"
    );
    let elsewhere = c
        .admin
        .post(
            &format!("/api/v1/communities/mended/installations/{id}/dead-letters/-1/retry"),
            json!({}),
        )
        .await;
    assert_eq!(elsewhere.status, 404);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dead_letter_bundle_replays_the_same_failure_and_the_fix_and_carries_no_contact_details()
{
    let host = TestHost::start().await;
    host.publish(HOSTILE).await;
    let c = host.community("bundled").await;
    c.import_map(&linli_tests::demo_community_map())
        .await
        .expect(200);
    let probe = c
        .placed_device("probe", "thermometer", &["temperature"], Some("b3-201"))
        .await;
    c.device("door-1", &["door"]).await;
    let grants =
        json!({"sensor": {"kinds": ["temperature"]}, "store": {}, "map": {"people": true}});
    let config = json!({"behaviour": "trap", "trigger-at": 50.0});
    let id = c.install(HOSTILE, grants, config).await;
    for value in [20.0, 21.0, 99.0] {
        probe
            .send(json!([probe.reading("temperature", json!(value))]))
            .await
            .expect(202);
    }
    c.settle(&id).await;
    let letter = c.dead_letters(&id).await[0]["id"]
        .as_i64()
        .expect("a dead letter");
    let path = format!("/api/v1/communities/bundled/installations/{id}/dead-letters/{letter}");
    let bundle = c.admin.get(&path).await.expect(200);

    assert_eq!(bundle["format"], "linli-dead-letter/1");
    assert_eq!(bundle["dead_letter"]["event"]["reading"]["value"], 99.0);
    assert_eq!(bundle["version"], "0.1.0");
    let state: Vec<&str> = bundle["state"]
        .as_array()
        .expect("state")
        .iter()
        .filter_map(|e| e["key"].as_str())
        .collect();
    assert!(
        state.contains(&"handled"),
        "the state the handler saw: {state:?}"
    );
    let report = c.command(HOSTILE, "report", json!({})).await.expect(200);
    assert_eq!(
        report["sealed_handled"], 2,
        "the plugin keeps its sealed key"
    );
    assert!(
        !state.iter().any(|key| key.starts_with("sealed/")),
        "sealed keys never leave the host: {state:?}"
    );
    let devices: Vec<&str> = bundle["devices"]
        .as_array()
        .expect("devices")
        .iter()
        .filter_map(|d| d["id"].as_str())
        .collect();
    assert_eq!(devices, ["probe"], "only devices of the granted kinds");
    let features = bundle["map"]["features"].as_array().expect("the map");
    assert!(
        features.iter().any(|f| f["properties"]["kind"] == "person"),
        "people, since the installation may see them"
    );
    assert!(
        features
            .iter()
            .all(|f| f["properties"].get("contact").is_none()),
        "never contact details"
    );
    assert!(
        !bundle.to_string().contains("+86"),
        "no phone number anywhere in the bundle"
    );

    // Replayed against the same build: the same trap.
    let folder = tempfile::tempdir().expect("a folder");
    let file = folder.path().join("bundle.json");
    std::fs::write(&file, bundle.to_string()).expect("the bundle");
    let dir = linli_tests::workspace().join("examples").join(HOSTILE);
    let wasm = linli_tests::workspace().join("target/wasm/wasm32-wasip2/plugin/hostile_scene.wasm");
    let replay = |bundle: &std::path::Path| {
        std::process::Command::new(linli_tests::linli_binary())
            .args(["plugin", "test"])
            .arg(&dir)
            .arg("--replay")
            .arg(bundle)
            .arg("--wasm")
            .arg(&wasm)
            .output()
            .expect("linli plugin test --replay runs")
    };
    let same = replay(&file);
    let said = String::from_utf8_lossy(&same.stdout);
    assert!(!same.status.success(), "{said}");
    assert!(
        said.contains("failed again:")
            && said.contains("trapping as configured on a temperature reading"),
        "{said}"
    );

    // The fix (here: a config that no longer traps on 99) handles it.
    let mut fixed = bundle.clone();
    fixed["config"]["trigger-at"] = json!(1000.0);
    let fixed_file = folder.path().join("fixed.json");
    std::fs::write(&fixed_file, fixed.to_string()).expect("the fixed bundle");
    let mended = replay(&fixed_file);
    let said = String::from_utf8_lossy(&mended.stdout);
    assert!(
        mended.status.success(),
        "{said}{}",
        String::from_utf8_lossy(&mended.stderr)
    );
    assert!(said.contains("handled"), "{said}");

    // Without the people grant, the bundle's map has places only.
    c.admin
        .patch(
            &format!("/api/v1/communities/bundled/installations/{id}"),
            json!({"grants": {"sensor": {"kinds": ["temperature"]}, "store": {}, "map": {}}}),
        )
        .await
        .expect(200);
    let placeless = c.admin.get(&path).await.expect(200);
    assert!(placeless["map"]["features"]
        .as_array()
        .expect("the map")
        .iter()
        .all(|f| f["properties"]["kind"] != "person"));
}
