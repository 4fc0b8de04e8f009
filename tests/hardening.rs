//! Regression tests for the defects an outside attack found: each one
//! failed before its fix. Plugin ids owned by their vendor, bounded ingest
//! parsing, map checks that cannot freeze the host, the ledger lock held
//! for one call at most, per-call limits counted per handler, quotas on
//! state, logs and messages, residents' privacy, capped live streams,
//! gateway targets, tokens for people on the map and one manifest a package.

use std::time::Duration;

use linli_tests::{component, demo_community_map, package_with, tar, Client, Community, TestHost};
use serde_json::{json, Value};

/// A vendor token for `vendor`.
async fn vendor(host: &TestHost, vendor: &str) -> Client {
    let token = host
        .admin
        .post(
            "/api/v1/tokens",
            json!({"role": "vendor", "subject": vendor}),
        )
        .await
        .expect(201);
    host.admin.with_token(token["token"].as_str().unwrap())
}

/// hello-scene's package at `version` under `vendor`.
fn hello_by(vendor: &str, version: &str) -> Vec<u8> {
    package_with("hello-scene", |m| {
        m.replace("vendor = \"linli\"", &format!("vendor = \"{vendor}\""))
            .replace("version = \"0.1.0\"", &format!("version = \"{version}\""))
    })
}

#[tokio::test]
async fn a_plugin_id_belongs_to_the_vendor_that_first_published_it() {
    let host = TestHost::start().await;
    let (acme, rival) = (vendor(&host, "acme").await, vendor(&host, "rival").await);
    acme.post_bytes("/api/v1/plugins", hello_by("acme", "0.1.0"))
        .await
        .expect(201);
    // Another vendor's version of the id is refused, before and after the first.
    let taken = rival
        .post_bytes("/api/v1/plugins", hello_by("rival", "0.1.1"))
        .await;
    assert_eq!(taken.status, 403, "{}", taken.body);
    assert!(taken.message().contains("acme"), "{}", taken.message());
    let admin_too = host
        .admin
        .post_bytes("/api/v1/plugins", hello_by("rival", "0.1.2"))
        .await;
    assert_eq!(admin_too.status, 403, "not even through a platform admin");
    let owner = host
        .admin
        .get("/api/v1/plugins/hello-scene/owner")
        .await
        .expect(200);
    assert_eq!(owner["vendor"], "acme");

    // The owner's installation is not upgraded across vendors silently.
    let c = host.community("c1").await;
    let installation = c
        .install(
            "hello-scene",
            json!({"sensor": {"kinds": ["*"]}, "store": {}}),
            json!({}),
        )
        .await;
    rival
        .put(
            "/api/v1/plugins/hello-scene/owner",
            json!({"vendor": "rival"}),
        )
        .await
        .expect(403);
    host.admin
        .put(
            "/api/v1/plugins/hello-scene/owner",
            json!({"vendor": "rival"}),
        )
        .await
        .expect(200);
    rival
        .post_bytes("/api/v1/plugins", hello_by("rival", "0.1.1"))
        .await
        .expect(201);
    acme.post_bytes("/api/v1/plugins", hello_by("acme", "0.1.3"))
        .await
        .expect(403);
    let path = format!("/api/v1/communities/c1/installations/{installation}");
    let silent = c.admin.patch(&path, json!({"version": "0.1.1"})).await;
    assert_eq!(silent.status, 409, "{}", silent.body);
    assert_eq!(c.installation(&installation).await["version"], "0.1.0");
    let confirmed = c
        .admin
        .patch(&path, json!({"version": "0.1.1", "accept_vendor": "rival"}))
        .await
        .expect(200);
    assert_eq!(confirmed["version"], "0.1.1");
}

#[tokio::test]
async fn a_package_with_two_manifests_is_refused() {
    let host = TestHost::start().await;
    let manifest =
        std::fs::read(linli_tests::workspace().join("examples/hello-scene/linli.toml")).unwrap();
    let hostile = manifest.clone();
    let package = tar(&[
        ("linli.toml", &manifest),
        ("plugin.wasm", &component("hello-scene")),
        ("./linli.toml", &hostile),
    ]);
    let reply = host.admin.post_bytes("/api/v1/plugins", package).await;
    assert_eq!(reply.status, 400, "{}", reply.body);
    assert!(
        reply.message().contains("more than once"),
        "{}",
        reply.message()
    );
}

#[tokio::test]
async fn ingest_stops_reading_at_the_first_item_past_a_batch_and_has_its_own_body_limit() {
    let host = TestHost::start().await;
    let c = host.community("c1").await;
    let device = c.device("t1", &["temperature"]).await;
    // 3 MB of tiny items: under the body limit, far over the item limit.
    let tiny = format!("[{}]", vec!["0"; 1_500_000].join(","));
    let reply = device
        .client
        .post_raw("/api/v1/ingest", "application/json", tiny.into_bytes())
        .await;
    assert_eq!(reply.status, 413, "{}", reply.body);
    assert_eq!(reply.body["error"]["code"], "too-large");
    let lines = "0\n".repeat(1_500_000);
    let reply = device
        .client
        .post_raw("/api/v1/ingest", "application/x-ndjson", lines.into_bytes())
        .await;
    assert_eq!(reply.status, 413, "{}", reply.body);
    // Past the ingest body limit (4 MiB), long before the package limit.
    let huge = format!("[{}]", vec!["0"; 2_600_000].join(","));
    let reply = device
        .client
        .post_raw("/api/v1/ingest", "application/json", huge.into_bytes())
        .await;
    assert_eq!(reply.status, 413, "{}", reply.body);
    assert!(
        reply.body["error"]["message"].is_string(),
        "a JSON error: {}",
        reply.body
    );
    // A full batch still lands.
    let full: Vec<Value> = (0..10_000)
        .map(|i| json!({"device": "t1", "kind": "temperature", "value": 20 + i % 5}))
        .collect();
    let report = device.send(Value::Array(full)).await.expect(202);
    assert_eq!(report["accepted"], 10_000, "{report}");
}

/// A closed ring of `vertices` points around (lon, lat), a valid polygon.
fn ring(lon: f64, lat: f64, vertices: usize) -> Value {
    let mut points: Vec<Value> = (0..vertices)
        .map(|i| {
            let angle = i as f64 / vertices as f64 * std::f64::consts::TAU;
            json!([lon + 0.0005 * angle.cos(), lat + 0.0005 * angle.sin()])
        })
        .collect();
    points.push(points[0].clone());
    json!([points])
}

fn building(id: &str, vertices: usize) -> Value {
    json!({"type": "Feature", "id": id, "properties": {"kind": "building", "name": id},
        "geometry": {"type": "Polygon", "coordinates": ring(121.47, 31.23, vertices)}})
}

#[tokio::test]
async fn map_checks_refuse_huge_polygons_and_keep_the_api_answering() {
    let host = TestHost::start().await;
    let c = host.community("c1").await;
    let reply = c
        .admin
        .put(
            "/api/v1/communities/c1/map/places/tower",
            building("tower", 20_000),
        )
        .await;
    assert_eq!(reply.status, 400, "{}", reply.body);
    assert_eq!(
        reply.body["features"][0]["field"], "geometry",
        "{}",
        reply.body
    );
    let whole = json!({"type": "FeatureCollection", "features": [building("tower", 20_000)]});
    assert_eq!(c.import_map(&whole).await.status, 400);

    // Maps at the caps, two at once: their checks run beside the API, which keeps answering.
    let heavy = json!({"type": "FeatureCollection",
        "features": (0..20).map(|i| building(&format!("b{i}"), 999)).collect::<Vec<_>>()});
    let imports: Vec<_> = (0..2)
        .map(|_| {
            let (admin, map) = (c.admin.clone(), heavy.clone());
            tokio::spawn(async move { admin.put("/api/v1/communities/c1/map", map).await })
        })
        .collect();
    for _ in 0..10 {
        let health = tokio::time::timeout(Duration::from_secs(5), host.admin.get("/healthz")).await;
        assert_eq!(
            health
                .expect("/healthz answered while maps were checked")
                .status,
            200
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    for import in imports {
        let reply = import.await.unwrap();
        assert_eq!(reply.status, 200, "{}", reply.body);
    }
}

/// A community with the demo map and hostile-scene installed with `config` and `limits`.
async fn hostile(host: &TestHost, config: Value, limits: Value) -> (Community, String) {
    let c = host.community("c1").await;
    c.import_map(&demo_community_map()).await.expect(200);
    host.publish("hostile-scene").await;
    let installed = c
        .admin
        .post(
            "/api/v1/communities/c1/installations",
            json!({"plugin": "hostile-scene", "version": "0.1.0", "limits": limits, "config": config,
                "grants": linli_tests::requested_grants("hostile-scene")}),
        )
        .await
        .expect(201);
    (c, installed["id"].as_str().unwrap().to_owned())
}

/// Sends `count` readings from a fresh device, each with its own time.
async fn readings(c: &Community, count: usize) {
    let device = c.device("t1", &["temperature"]).await;
    let batch: Vec<Value> = (0..count)
        .map(|i| json!({"device": "t1", "kind": "temperature", "value": 21, "at": linli_tests::START - 1000 * (count - i) as i64}))
        .collect();
    device.send(Value::Array(batch)).await.expect(202);
}

#[tokio::test]
async fn a_plugin_holding_the_ledger_lock_cannot_make_another_lose_its_writes() {
    let host = TestHost::start().await;
    let (c, hog) = hostile(
        &host,
        json!({"behaviour": "ledger-hog", "hold-ms": 150}),
        json!({"call-timeout-ms": 1000}),
    )
    .await;
    host.publish("points-scene").await;
    c.install(
        "points-scene",
        json!({"ledger": {"namespaces": ["points"]}}),
        json!({}),
    )
    .await;
    readings(&c, 48).await;
    // While the hog works through its backlog, another plugin writes to the same ledger.
    for i in 0..12 {
        let reply = c
            .command(
                "points-scene",
                "record",
                json!({"kind": "note", "body": {"i": i}, "key": format!("note-{i}")}),
            )
            .await;
        assert_eq!(reply.status, 200, "write {i}: {}", reply.body);
    }
    let settled = c.settle(&hog).await;
    assert_eq!(settled["state"], "active");
    assert!(c.dead_letters(&hog).await.is_empty());
}

#[tokio::test]
async fn the_per_call_message_limit_counts_each_handler_alone() {
    let host = TestHost::start().await;
    let (c, installation) = hostile(
        &host,
        json!({"behaviour": "message-burst", "count": 100, "audience-place": "b1-101"}),
        json!({"messages-per-minute": 10_000, "messages-per-person-per-hour": 1_000, "call-timeout-ms": 5_000}),
    )
    .await;
    readings(&c, 4).await;
    c.settle(&installation).await;
    assert!(
        c.dead_letters(&installation).await.is_empty(),
        "every handler sent its 100"
    );
    let report = c
        .command("hostile-scene", "report", json!({}))
        .await
        .expect(200);
    assert_eq!(report["handled"], 4);
    assert!(report["last_limit"].is_null(), "{report}");
}

#[tokio::test]
async fn state_past_its_quota_is_refused_and_stays_bounded() {
    let host = TestHost::start().await;
    let (c, installation) = hostile(
        &host,
        json!({"behaviour": "state-bomb", "count": 3}),
        json!({"state-bytes": 5 << 20, "call-timeout-ms": 5_000}),
    )
    .await;
    readings(&c, 5).await;
    c.settle(&installation).await;
    let report = c
        .command("hostile-scene", "report", json!({}))
        .await
        .expect(200);
    assert_eq!(
        report["bomb_values"], 4,
        "five values of 1 MiB do not fit in 5 MiB with the rest: {report}"
    );
    assert!(
        report["last_limit"]
            .as_str()
            .unwrap()
            .contains("state-bytes"),
        "{report}"
    );
    assert!(
        host.metric_value("linli_quota_exceeded_total", &["state-bytes"])
            .await
            >= Some(1.0)
    );
    // A lower quota set by the admin holds from the next write on.
    c.admin
        .patch(
            &format!("/api/v1/communities/c1/installations/{installation}"),
            json!({"limits": {"state-keys": 2}}),
        )
        .await
        .expect(200);
    let limits = c.installation(&installation).await["limits"].clone();
    assert_eq!(limits["state-keys"], 2);
    assert_eq!(
        limits["state-bytes"],
        5 << 20,
        "the other limits stay: {limits}"
    );
}

#[tokio::test]
async fn a_log_flood_is_dropped_and_counted_not_written() {
    let host = TestHost::start().await;
    let (c, installation) = hostile(
        &host,
        json!({"behaviour": "log-flood", "count": 2_000}),
        json!({"log-lines-per-second": 50, "call-timeout-ms": 5_000}),
    )
    .await;
    readings(&c, 2).await;
    c.settle(&installation).await;
    let dropped = host
        .metric_value("linli_log_lines_dropped_total", &[&installation])
        .await
        .unwrap_or(0.0);
    // At most 50 of each second's lines get through; the handlers take well under a second each.
    assert!(dropped >= 4_000.0 - 50.0 * 10.0, "dropped {dropped}");
    assert!(
        c.dead_letters(&installation).await.is_empty(),
        "a flood is not an outage"
    );
}

#[tokio::test]
async fn messages_past_their_rate_are_refused_critical_ones_too() {
    let host = TestHost::start().await;
    let (c, installation) = hostile(
        &host,
        json!({"behaviour": "message-burst", "count": 100, "audience-place": "building-1", "critical": true}),
        json!({"messages-per-minute": 1_000, "critical-messages-per-person-per-hour": 30, "call-timeout-ms": 5_000}),
    )
    .await;
    readings(&c, 3).await;
    c.settle(&installation).await;
    let report = c
        .command("hostile-scene", "report", json!({}))
        .await
        .expect(200);
    assert!(
        report["last_limit"]
            .as_str()
            .unwrap()
            .contains("critical-messages-per-person-per-hour"),
        "{report}"
    );
    let sent = c
        .admin
        .get("/api/v1/communities/c1/notifications?plugin=hostile-scene")
        .await
        .expect(200);
    assert_eq!(
        sent["notifications"].as_array().unwrap().len(),
        30,
        "each resident of b1 got 30"
    );
}

#[tokio::test]
async fn residents_see_only_their_own_devices() {
    let host = TestHost::start().await;
    let c = host.community("c1").await;
    c.import_map(&demo_community_map()).await.expect(200);
    let mine = linli_tests::demo_residents_of("b1-101");
    let theirs = linli_tests::demo_residents_of("b1-102");
    let (me, neighbour) = (mine.iter().next().unwrap(), theirs.iter().next().unwrap());
    c.placed_device("door-101", "door-sensor", &["door"], Some("b1-101"))
        .await;
    c.placed_device("door-102", "door-sensor", &["door"], Some("b1-102"))
        .await;
    c.admin
        .post(
            "/api/v1/communities/c1/devices",
            json!({"id": "watch-102", "kind": "wearable", "reading_kinds": ["heart-rate"], "person": neighbour}),
        )
        .await
        .expect(201);
    let resident = c.person("resident", me).await;
    let listed = resident
        .get("/api/v1/communities/c1/devices")
        .await
        .expect(200);
    let ids: Vec<&str> = listed
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["door-101"]);
    assert_eq!(
        resident
            .get("/api/v1/communities/c1/devices/watch-102")
            .await
            .status,
        404
    );
    assert_eq!(
        resident
            .get("/api/v1/communities/c1/devices/watch-102/readings")
            .await
            .status,
        404
    );
    // The wearer sees her watch.
    let wearer = c.person("resident", neighbour).await;
    wearer
        .get("/api/v1/communities/c1/devices/watch-102/readings")
        .await
        .expect(200);
    // Staff see everything.
    let all = c
        .admin
        .get("/api/v1/communities/c1/devices")
        .await
        .expect(200);
    assert_eq!(all.as_array().unwrap().len(), 3);
}

#[tokio::test]
async fn tokens_are_only_minted_for_people_on_the_map() {
    let host = TestHost::start().await;
    let c = host.community("c1").await;
    c.import_map(&demo_community_map()).await.expect(200);
    let reply = c
        .admin
        .post(
            "/api/v1/tokens",
            json!({"role": "resident", "community": "c1", "subject": "x", "person": "nobody-here"}),
        )
        .await;
    assert_eq!(reply.status, 400, "{}", reply.body);
    assert!(
        reply.message().starts_with("person:"),
        "{}",
        reply.message()
    );
}

#[tokio::test]
async fn live_streams_are_capped_per_token() {
    let host = TestHost::start().await;
    let c = host.community("c1").await;
    let operator = c.member("operator", "watcher").await;
    let mut open = Vec::new();
    for _ in 0..8 {
        open.push(operator.events("/api/v1/communities/c1/events", None).await);
    }
    match operator.try_events("/api/v1/communities/c1/events").await {
        Err(linli_tests::ClientError::Refused { status, body, .. }) => {
            assert_eq!(status, 429, "{body}");
            assert_eq!(body["error"]["code"], "limit");
        }
        Err(other) => panic!("a ninth stream: {other}"),
        Ok(_) => panic!("a ninth stream was opened past the limit of eight"),
    }
    // Another token still gets one; a closed stream gives its place back.
    let other = c.member("operator", "other").await;
    let _theirs = other.events("/api/v1/communities/c1/events", None).await;
    open.pop();
    linli_tests::eventually("a closed stream's place is free", || async {
        operator
            .try_events("/api/v1/communities/c1/events")
            .await
            .is_ok()
    })
    .await;
}

#[tokio::test]
async fn gateways_may_not_point_at_loopback_or_private_addresses() {
    let host = TestHost::start().await;
    let c = host.community("c1").await;
    for url in [
        "http://127.0.0.1:9/sms",
        "http://localhost/sms",
        "http://169.254.169.254/",
        "http://[::1]/x",
        "http://10.0.0.5/x",
    ] {
        let reply = c
            .admin
            .put(
                "/api/v1/communities/c1/notify/gateways/sms",
                json!({"url": url, "secret": "a-long-enough-shared-secret"}),
            )
            .await;
        assert_eq!(reply.status, 400, "{url}: {}", reply.body);
        assert!(reply.message().starts_with("url:"), "{}", reply.message());
    }
}

#[tokio::test]
async fn the_openapi_document_is_valid_by_an_independent_validator() {
    let host = TestHost::start().await;
    let document = host.admin.get("/api/v1/openapi.json").await.expect(200);
    let file = host.data_dir().join("openapi.json");
    std::fs::write(&file, document.to_string()).unwrap();
    let python = std::env::var("LINLI_TEST_PYTHON").unwrap_or_else(|_| "python3".to_owned());
    let output = std::process::Command::new(&python)
        .args(["-m", "openapi_spec_validator"])
        .arg(&file)
        .output()
        .unwrap_or_else(|e| {
            panic!("cannot run {python}: {e}; `cargo xtask test` installs the validator")
        });
    assert!(
        output.status.success(),
        "openapi-spec-validator refused the document (is it installed? `cargo xtask test` does it):\n{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    // A reading's value is a number, a flag or a text, in both directions.
    let schemas = &document["components"]["schemas"];
    assert_eq!(
        schemas["ReadingInput"]["properties"]["value"]["$ref"],
        "#/components/schemas/ReadingValue"
    );
    let kinds: Vec<&str> = schemas["ReadingValue"]["oneOf"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["type"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["boolean", "number", "string"]);
}
