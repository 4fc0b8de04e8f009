//! `linli plugin dev` as a vendor runs it against a development host: the
//! plugin installed on the first round, then three reloads while a device
//! keeps sending readings. Each reload is a new pre-release version and an
//! upgrade in place, so every reading is handled exactly once, the
//! installation's state goes on counting where it was, and the versions
//! replaced are deleted.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use linli_tests::{component, eventually, linli_binary, workspace, Community, TestHost};
use serde_json::{json, Value};

const HELLO: &str = "hello-scene";

/// The development installation of hello-scene in `c`, if there is one.
async fn dev_installation(c: &Community) -> Option<Value> {
    let listed = c
        .admin
        .get(&format!("/api/v1/communities/{}/installations", c.id))
        .await
        .expect(200);
    listed
        .as_array()
        .expect("a list")
        .iter()
        .find(|i| i["plugin"] == HELLO)
        .cloned()
}

async fn version_of(c: &Community) -> Option<String> {
    dev_installation(c)
        .await
        .and_then(|i| i["version"].as_str().map(str::to_owned))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_reloads_under_a_steady_stream_handle_every_reading_once_and_keep_the_state() {
    let host = TestHost::start().await;
    let c = host.community("dev-court").await;

    // A vendor's folder whose component another tool writes: the manifest
    // and the built component, nothing else.
    let folder = tempfile::tempdir().expect("a plugin folder");
    let manifest = workspace().join("examples").join(HELLO).join("linli.toml");
    std::fs::copy(&manifest, folder.path().join("linli.toml")).expect("the manifest");
    let wasm = folder.path().join("plugin.wasm");
    let built = component(HELLO);
    std::fs::write(&wasm, &built).expect("the component");

    let mut dev = tokio::process::Command::new(linli_binary())
        .args(["plugin", "dev"])
        .arg(folder.path())
        .arg("--wasm")
        .arg(&wasm)
        .args(["--host", &host.server.url(), "--community", "dev-court"])
        .env("LINLI_TOKEN", "test-platform-admin")
        .kill_on_drop(true)
        .spawn()
        .expect("linli plugin dev starts");

    eventually("the first round installs a dev version", || async {
        version_of(&c)
            .await
            .is_some_and(|v| v.starts_with("0.1.0-dev."))
    })
    .await;
    let id = dev_installation(&c).await.expect("installed")["id"]
        .as_str()
        .expect("an id")
        .to_owned();

    let device = c.device("thermo-1", &["temperature"]).await;
    let stop = Arc::new(AtomicBool::new(false));
    let accepted = Arc::new(AtomicU64::new(0));
    let sender = tokio::spawn({
        let (stop, accepted) = (stop.clone(), accepted.clone());
        async move {
            while !stop.load(Ordering::Relaxed) {
                let reply = device
                    .send(json!([device.reading("temperature", json!(21.5))]))
                    .await;
                assert_eq!(reply.status.as_u16(), 202, "{}", reply.body);
                accepted.fetch_add(1, Ordering::Relaxed);
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        }
    });

    let mut versions = vec![version_of(&c).await.expect("a version")];
    for reload in 1..=3 {
        tokio::time::sleep(Duration::from_millis(400)).await;
        // The vendor's tool writes a new build.
        let fresh = folder.path().join("plugin.wasm.new");
        std::fs::write(&fresh, &built).expect("a new build");
        std::fs::rename(&fresh, &wasm).expect("the new build in place");
        let before = versions.last().cloned();
        eventually(
            &format!("reload {reload} upgrades the installation"),
            || async {
                let now = version_of(&c).await;
                now.is_some() && now != before
            },
        )
        .await;
        versions.push(version_of(&c).await.expect("a version"));
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    stop.store(true, Ordering::Relaxed);
    sender.await.expect("the sender");
    dev.kill().await.expect("stopping linli plugin dev");

    let installation = c.settle(&id).await;
    assert_eq!(
        installation["id"],
        id.as_str(),
        "one installation throughout"
    );
    let stats = c.command(HELLO, "stats", json!({})).await.expect(200);
    let sent = accepted.load(Ordering::Relaxed);
    assert!(sent > 20, "readings kept coming across the reloads: {sent}");
    assert_eq!(
        stats["counts"]["temperature"],
        json!(sent),
        "every reading handled exactly once, counted on in the kept state"
    );
    assert_eq!(
        stats["lifecycle"],
        json!({"installed": 1, "reconfigured": 3})
    );
    assert!(
        c.dead_letters(&id).await.is_empty(),
        "no reading failed across the reloads"
    );

    let published = host.admin.get("/api/v1/plugins").await.expect(200);
    let listed: Vec<&str> = published
        .as_array()
        .expect("a list")
        .iter()
        .filter(|p| p["id"] == HELLO)
        .filter_map(|p| p["version"].as_str())
        .collect();
    assert_eq!(
        listed,
        [versions.last().expect("a version").as_str()],
        "the versions replaced were deleted: {published}"
    );
}
