//! Timers run on the host clock, which tests drive: a reminder fires when
//! the clock reaches it, a repeating one skips the beats it missed rather
//! than firing a burst, and a cancelled one stays silent. Lifecycle events
//! arrive once per change.

use std::time::{Duration, Instant};

use linli_tests::{Community, TestHost};
use serde_json::{json, Value};

const MINUTE: i64 = 60_000;

async fn stats(c: &Community) -> Value {
    c.command("hello-scene", "stats", json!({}))
        .await
        .expect(200)
}

/// Waits until the plugin has seen `tag` fire `times` times.
async fn fired(c: &Community, tag: &str, times: u64) {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let stats = stats(c).await;
        if stats["timers"][tag] == times {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{tag} did not fire {times} times: {stats}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_repeating_reminder_follows_the_test_clock_and_stops_when_forgotten() {
    let host = TestHost::start().await;
    host.publish("hello-scene").await;
    let c = host.community("lotus-court").await;
    c.install("hello-scene", json!({"store": {}, "timer": {}}), json!({}))
        .await;

    let scheduled = c
        .command(
            "hello-scene",
            "remind",
            json!({"tag": "tea", "in-ms": MINUTE, "every-ms": MINUTE}),
        )
        .await
        .expect(200);
    assert_eq!(scheduled["due"], linli_tests::START + MINUTE);

    host.advance(MINUTE - 1);
    assert_eq!(stats(&c).await["timers"]["tea"], Value::Null, "not yet due");
    host.advance(1);
    fired(&c, "tea", 1).await;

    // Three minutes pass at once: one firing, not a burst of three.
    host.advance(3 * MINUTE);
    fired(&c, "tea", 2).await;

    c.command("hello-scene", "forget", json!({"tag": "tea"}))
        .await
        .expect(200);
    host.advance(10 * MINUTE);
    assert_eq!(stats(&c).await["timers"]["tea"], 2);

    let bad = c
        .command(
            "hello-scene",
            "remind",
            json!({"tag": "x", "in-ms": 5, "every-ms": 10}),
        )
        .await;
    assert_eq!(
        bad.status, 400,
        "a repeat under a second is refused: {}",
        bad.body
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lifecycle_events_arrive_once_per_change() {
    let host = TestHost::start().await;
    host.publish("hello-scene").await;
    let c = host.community("lotus-court").await;
    let id = c
        .install("hello-scene", json!({"store": {}}), json!({}))
        .await;
    assert_eq!(stats(&c).await["lifecycle"], json!({"installed": 1}));

    let path = format!("/api/v1/communities/lotus-court/installations/{id}");
    c.admin
        .patch(&path, json!({"config": {"greeting": "你好"}}))
        .await
        .expect(200);
    c.admin
        .patch(&path, json!({"state": "suspended"}))
        .await
        .expect(200);
    assert_eq!(
        c.command("hello-scene", "stats", json!({})).await.status,
        409
    );
    c.admin
        .patch(&path, json!({"state": "active"}))
        .await
        .expect(200);
    assert_eq!(
        stats(&c).await["lifecycle"],
        json!({"installed": 1, "reconfigured": 1, "resumed": 1})
    );

    let refused = c
        .admin
        .patch(&path, json!({"config": {"greeting": 7}}))
        .await;
    assert_eq!(refused.status, 400);
    assert!(
        refused.message().contains("config.greeting"),
        "{}",
        refused.message()
    );
}
