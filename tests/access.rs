//! Communities are walled off from each other: a community admin of A gets
//! 403 on every read and write of B, and sees only A.

use linli_tests::TestHost;
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_community_admin_of_a_is_refused_everything_of_b() {
    let host = TestHost::start().await;
    let a = host.community("garden-a").await;
    let b = host.community("garden-b").await;
    b.device("b-thermo", &["temperature"]).await;
    let b_hello = host.install_hello(&b).await;

    let installation = format!("/api/v1/communities/garden-b/installations/{b_hello}");
    let reads = [
        "/api/v1/communities/garden-b".to_owned(),
        "/api/v1/communities/garden-b/devices".to_owned(),
        "/api/v1/communities/garden-b/devices/b-thermo".to_owned(),
        "/api/v1/communities/garden-b/devices/b-thermo/readings".to_owned(),
        "/api/v1/communities/garden-b/installations".to_owned(),
        installation.clone(),
        format!("{installation}/dead-letters"),
        "/api/v1/tokens?community=garden-b".to_owned(),
        "/api/v1/communities/garden-b/people/someone/consents".to_owned(),
        "/api/v1/communities/garden-b/people/someone/access-log".to_owned(),
        "/api/v1/communities/garden-b/people/someone/data?reason=curious".to_owned(),
        "/api/v1/communities/garden-b/people/someone/erasure".to_owned(),
    ];
    for path in &reads {
        let reply = a.admin.get(path).await;
        assert_eq!(reply.status, 403, "GET {path}: {}", reply.body);
        assert_eq!(reply.body["error"]["code"], "forbidden");
    }

    let writes = [
        (
            "/api/v1/communities/garden-b/devices".to_owned(),
            json!({"id": "intruder", "kind": "x", "reading_kinds": ["door"]}),
        ),
        (
            "/api/v1/communities/garden-b/installations".to_owned(),
            json!({"plugin": "hello-scene", "version": "0.1.0", "grants": {}}),
        ),
        (
            "/api/v1/communities/garden-b/plugins/hello-scene/commands/stats".to_owned(),
            json!({}),
        ),
        (
            "/api/v1/tokens".to_owned(),
            json!({"role": "resident", "community": "garden-b", "subject": "mallory"}),
        ),
        (
            "/api/v1/communities/garden-b/people/someone/erasure".to_owned(),
            json!({"reason": "spite"}),
        ),
    ];
    for (path, body) in &writes {
        let reply = a.admin.post(path, body.clone()).await;
        assert_eq!(reply.status, 403, "POST {path}: {}", reply.body);
    }
    let patch = a
        .admin
        .patch(&installation, json!({"state": "suspended"}))
        .await;
    assert_eq!(patch.status, 403);
    let consent = a
        .admin
        .put(
            "/api/v1/communities/garden-b/people/someone/consents/health-monitoring",
            json!({"given": true, "text": "I agree", "given_by": "someone"}),
        )
        .await;
    assert_eq!(consent.status, 403, "{}", consent.body);
    let retention = a
        .admin
        .patch(
            "/api/v1/communities/garden-b",
            json!({"reading_retention_days": 1}),
        )
        .await;
    assert_eq!(retention.status, 403);
    for path in [
        installation.as_str(),
        "/api/v1/communities/garden-b/devices/b-thermo",
    ] {
        assert_eq!(a.admin.delete(path).await.status, 403, "DELETE {path}");
    }

    // B is untouched, and A sees only itself.
    assert_eq!(b.installation(&b_hello).await["state"], "active");
    let visible = a.admin.get("/api/v1/communities").await.expect(200);
    assert_eq!(
        visible,
        json!([{"id": "garden-a", "name": "Community garden-a", "timezone": "Asia/Shanghai",
                "reading_retention_days": 30, "inbox_retention_days": 180,
                "access_log_retention_days": 365, "dead_letter_retention_days": 90,
                "created_at": linli_tests::START}])
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn residents_run_commands_in_their_own_community_only() {
    let host = TestHost::start().await;
    host.publish("hello-scene").await;
    let a = host.community("garden-a").await;
    let b = host.community("garden-b").await;
    for c in [&a, &b] {
        c.install("hello-scene", json!({"store": {}}), json!({}))
            .await;
    }
    a.add_person("wang-li").await;
    let resident = a
        .admin
        .post("/api/v1/tokens", json!({"role": "resident", "community": "garden-a", "subject": "wang", "person": "wang-li"}))
        .await
        .expect(201);
    let resident = a.admin.with_token(resident["token"].as_str().unwrap());
    resident
        .post(
            "/api/v1/communities/garden-a/plugins/hello-scene/commands/stats",
            json!({}),
        )
        .await
        .expect(200);
    let refused = resident
        .post(
            "/api/v1/communities/garden-b/plugins/hello-scene/commands/stats",
            json!({}),
        )
        .await;
    assert_eq!(refused.status, 403);
    // Residents manage nothing.
    let refused = resident
        .post(
            "/api/v1/communities/garden-a/devices",
            json!({"id": "x", "kind": "x", "reading_kinds": ["door"]}),
        )
        .await;
    assert_eq!(refused.status, 403);
}
