//! Publishing and enabling plugins: what is not a scene package, a manifest
//! the component does not match, or grants wider than the request are
//! refused with a 400 that says what is wrong, and so is an installation
//! without a capability the plugin requires.

use linli_tests::{component, package, package_with, tar, TestHost};
use serde_json::json;

const MANIFEST: &str = "id = \"odd\"\nversion = \"0.1.0\"\nvendor = \"linli\"\napi = \"0.1.0\"\ndescription = \"test\"\n";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn uploads_that_are_not_scene_packages_are_refused_with_the_reason() {
    let host = TestHost::start().await;
    let upload = |bytes: Vec<u8>| {
        let admin = host.admin.clone();
        async move { admin.post_bytes("/api/v1/plugins", bytes).await }
    };

    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        ("random bytes", b"MZ this is an exe".to_vec(), "tar archive"),
        (
            "no component",
            tar(&[("linli.toml", MANIFEST.as_bytes())]),
            "no plugin.wasm",
        ),
        (
            "not wasm",
            tar(&[
                ("linli.toml", MANIFEST.as_bytes()),
                ("plugin.wasm", b"#!/bin/sh\necho hi"),
            ]),
            "not WebAssembly",
        ),
        (
            "core module",
            tar(&[
                ("linli.toml", MANIFEST.as_bytes()),
                ("plugin.wasm", b"\0asm\x01\0\0\0"),
            ]),
            "core WebAssembly module",
        ),
        (
            "component of another world",
            tar(&[
                ("linli.toml", MANIFEST.as_bytes()),
                ("plugin.wasm", b"\0asm\x0d\0\x01\0"),
            ]),
            "scene world",
        ),
        (
            "unsupported api",
            package_with("hello-scene", |m| {
                m.replace("api = \"0.1.0\"", "api = \"0.2.0\"")
            }),
            "api 0.2.0",
        ),
        (
            "unknown manifest key",
            package_with("hello-scene", |m| format!("homepage = \"x\"\n{m}")),
            "homepage",
        ),
        (
            "unknown reading kind",
            package_with("hello-scene", |m| {
                m.replace("kinds = [\"*\"]", "kinds = [\"warp-flux\"]")
            }),
            "warp-flux",
        ),
    ];
    for (case, bytes, expected) in cases {
        let reply = upload(bytes).await;
        assert_eq!(reply.status, 400, "{case}: {}", reply.body);
        assert_eq!(reply.body["error"]["code"], "invalid", "{case}");
        assert!(
            reply.message().contains(expected),
            "{case}: {:?} should mention {expected:?}",
            reply.message()
        );
    }
    let listed = host.admin.get("/api/v1/plugins").await.expect(200);
    assert_eq!(listed, json!([]), "nothing refused was published");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn versions_are_immutable_and_vendors_publish_only_their_own() {
    let host = TestHost::start().await;
    let first = host
        .admin
        .post_bytes("/api/v1/plugins", package("hello-scene"))
        .await
        .expect(201);
    assert_eq!(first["id"], "hello-scene");
    assert_eq!(first["digest"].as_str().unwrap().len(), 64);
    host.admin
        .post_bytes("/api/v1/plugins", package("hello-scene"))
        .await
        .expect(200);
    let changed = package_with("hello-scene", |m| {
        m.replace("description = ", "description = \"changed \" # ")
    });
    assert_eq!(
        host.admin
            .post_bytes("/api/v1/plugins", changed)
            .await
            .status,
        409
    );

    let vendor = host
        .admin
        .post(
            "/api/v1/tokens",
            json!({"role": "vendor", "subject": "acme"}),
        )
        .await
        .expect(201);
    let acme = host.admin.with_token(vendor["token"].as_str().unwrap());
    let foreign = acme
        .post_bytes("/api/v1/plugins", package("bench-scene"))
        .await;
    assert_eq!(foreign.status, 403);
    assert!(foreign.message().contains("acme"));
    let own = package_with("bench-scene", |m| {
        m.replace("vendor = \"linli\"", "vendor = \"acme\"")
    });
    acme.post_bytes("/api/v1/plugins", own).await.expect(201);
    assert!(!component("bench-scene").is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn grants_must_stay_within_the_request_and_config_must_fit_the_schema() {
    let host = TestHost::start().await;
    let narrow = package_with("hostile-scene", |m| {
        m.replace("kinds = [\"*\"]", "kinds = [\"temperature\"]")
    });
    host.admin
        .post_bytes("/api/v1/plugins", narrow)
        .await
        .expect(201);
    host.publish("hello-scene").await;
    host.publish("bench-scene").await;
    let c = host.community("block-c").await;
    let install = |plugin: &str, grants: serde_json::Value, config: serde_json::Value| {
        let admin = c.admin.clone();
        let body =
            json!({"plugin": plugin, "version": "0.1.0", "grants": grants, "config": config});
        async move {
            admin
                .post("/api/v1/communities/block-c/installations", body)
                .await
        }
    };

    let wider_kind = install(
        "hostile-scene",
        json!({"sensor": {"kinds": ["smoke"]}}),
        json!({"behaviour": "none"}),
    )
    .await;
    assert_eq!(wider_kind.status, 400);
    assert!(
        wider_kind.message().contains("grants.sensor") && wider_kind.message().contains("smoke"),
        "{}",
        wider_kind.message()
    );
    let every_kind = install(
        "hostile-scene",
        json!({"sensor": {"kinds": ["*"]}}),
        json!({"behaviour": "none"}),
    )
    .await;
    assert_eq!(every_kind.status, 400);
    let unrequested = install("bench-scene", json!({"store": {}}), json!({})).await;
    assert_eq!(unrequested.status, 400);
    assert!(
        unrequested.message().contains("grants.store"),
        "{}",
        unrequested.message()
    );
    let unknown_capability = install("hello-scene", json!({"network": {}}), json!({})).await;
    assert_eq!(unknown_capability.status, 400);
    assert!(
        unknown_capability.message().contains("network"),
        "{}",
        unknown_capability.message()
    );
    let bad_config = install("hostile-scene", json!({}), json!({"behaviour": "explode"})).await;
    assert_eq!(bad_config.status, 400);
    assert!(
        bad_config.message().contains("config.behaviour"),
        "{}",
        bad_config.message()
    );

    install(
        "hostile-scene",
        json!({"sensor": {"kinds": ["temperature"]}, "store": {}}),
        json!({"behaviour": "none"}),
    )
    .await
    .expect(201);
    let listed = c
        .admin
        .get("/api/v1/communities/block-c/installations")
        .await
        .expect(200);
    assert_eq!(
        listed.as_array().unwrap().len(),
        1,
        "refused installations left nothing behind"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_required_capability_must_be_granted_and_an_optional_one_left_out_is_shown() {
    let host = TestHost::start().await;
    host.publish("hello-scene").await;
    let c = host.community("block-d").await;
    let installations = "/api/v1/communities/block-d/installations";

    // hello-scene requires the store; readings and the timer are optional.
    let without_store = c
        .admin
        .post(
            installations,
            json!({"plugin": "hello-scene", "version": "0.1.0",
                   "grants": {"sensor": {"kinds": ["*"]}, "timer": {}}}),
        )
        .await;
    assert_eq!(without_store.status, 400, "{}", without_store.body);
    assert!(
        without_store
            .message()
            .starts_with("grants.store: required"),
        "{}",
        without_store.message()
    );

    let id = c
        .install("hello-scene", json!({"store": {}}), json!({}))
        .await;
    assert_eq!(
        c.installation(&id).await["optional_not_granted"],
        json!(["sensor", "timer"])
    );
    // The scene asks the host what it was granted and says what it will not do.
    let remind = json!({"tag": "t", "in-ms": 60000});
    let off = c.command("hello-scene", "remind", remind.clone()).await;
    assert_eq!(off.status, 403, "{}", off.body);
    assert!(
        off.message().contains("not granted the timer"),
        "{}",
        off.message()
    );

    let path = format!("{installations}/{id}");
    c.admin
        .patch(&path, json!({"grants": {"store": {}, "timer": {}}}))
        .await
        .expect(200);
    assert_eq!(
        c.installation(&id).await["optional_not_granted"],
        json!(["sensor"])
    );
    c.command("hello-scene", "remind", remind).await.expect(200);

    let dropping_store = c.admin.patch(&path, json!({"grants": {"timer": {}}})).await;
    assert_eq!(dropping_store.status, 400, "{}", dropping_store.body);
    assert!(
        dropping_store.message().starts_with("grants.store"),
        "{}",
        dropping_store.message()
    );
    assert_eq!(c.installation(&id).await["grants"]["store"], json!({}));
}
