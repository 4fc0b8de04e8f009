//! Vendor signatures and the trust store: packages are signed with the
//! `linli` CLI, and a host that is not a development host takes a package
//! only when a key it trusts for the package's vendor signed exactly these
//! bytes. Each way of failing has its own error code; revoking a key
//! suspends what it signed.

use std::path::Path;
use std::process::Command;

use linli_tests::{linli_binary, package, package_with, tar, TestHost};
use serde_json::json;

/// Runs the `linli` CLI, failing the test when it fails; returns its stdout.
fn linli(args: &[&std::ffi::OsStr]) -> String {
    let output = Command::new(linli_binary())
        .args(args)
        .output()
        .expect("linli runs");
    assert!(
        output.status.success(),
        "linli {args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// A new vendor key in `dir`; returns (secret key file, public key hex).
fn keygen(dir: &Path, name: &str) -> (std::path::PathBuf, String) {
    let key = dir.join(format!("{name}.key"));
    linli(&[
        "plugin".as_ref(),
        "keygen".as_ref(),
        "--out".as_ref(),
        key.as_os_str(),
    ]);
    let public = std::fs::read_to_string(key.with_extension("pub")).expect("the public key");
    (key, public.trim().to_owned())
}

/// `package` signed with the key file, through the CLI.
fn sign(dir: &Path, package: &[u8], key: &Path) -> Vec<u8> {
    let path = dir.join("package.linli");
    std::fs::write(&path, package).unwrap();
    linli(&[
        "plugin".as_ref(),
        "sign".as_ref(),
        path.as_os_str(),
        "--key".as_ref(),
        key.as_os_str(),
    ]);
    std::fs::read(&path).unwrap()
}

/// The error code of a refused upload.
async fn refused(host: &TestHost, package: Vec<u8>, status: u16) -> String {
    let reply = host.admin.post_bytes("/api/v1/plugins", package).await;
    let body = reply.expect(status);
    body["error"]["code"]
        .as_str()
        .expect("an error code")
        .to_owned()
}

/// The package with one byte of its component flipped, its signature kept.
fn tampered(signed: &[u8]) -> Vec<u8> {
    let mut archive = tar::Archive::new(signed);
    let mut entries: Vec<(String, Vec<u8>)> = Vec::new();
    for entry in archive.entries().unwrap() {
        let mut entry = entry.unwrap();
        let name = entry.path().unwrap().to_string_lossy().into_owned();
        let mut bytes = Vec::new();
        std::io::Read::read_to_end(&mut entry, &mut bytes).unwrap();
        if name == "plugin.wasm" {
            let middle = bytes.len() / 2;
            bytes[middle] ^= 0x01;
        }
        entries.push((name, bytes));
    }
    let entries: Vec<(&str, &[u8])> = entries
        .iter()
        .map(|(n, b)| (n.as_str(), b.as_slice()))
        .collect();
    tar(&entries)
}

#[tokio::test]
async fn only_packages_signed_by_a_trusted_unrevoked_key_are_taken() {
    let keys = tempfile::tempdir().unwrap();
    let (trusted, trusted_public) = keygen(keys.path(), "linli");
    let (stranger, _) = keygen(keys.path(), "stranger");
    let host = TestHost::start_with(|config| config.dev = false).await;
    host.admin
        .post(
            "/api/v1/vendor-keys",
            json!({"vendor": "linli", "key": trusted_public}),
        )
        .await
        .expect(201);

    assert_eq!(
        refused(&host, package("hello-scene"), 400).await,
        "unsigned"
    );
    let signed = sign(keys.path(), &package("hello-scene"), &trusted);
    assert_eq!(
        refused(&host, tampered(&signed), 400).await,
        "bad-signature"
    );
    let by_stranger = sign(keys.path(), &package("hello-scene"), &stranger);
    assert_eq!(refused(&host, by_stranger, 403).await, "untrusted-key");

    host.publish_package(signed).await;
    let listed = host
        .admin
        .get("/api/v1/plugins/hello-scene/versions/0.1.0")
        .await
        .expect(200);
    assert_eq!(
        listed["signed_by"]["key"],
        trusted_public.as_str(),
        "{listed}"
    );
    let community = host.community("oak-yard").await;
    let installation = community
        .install(
            "hello-scene",
            json!({"sensor": {"kinds": ["*"]}, "store": {}}),
            json!({}),
        )
        .await;
    let device = community.device("meter-1", &["temperature"]).await;
    community
        .send_handled(&installation, &device, "temperature", json!(21.0))
        .await;

    host.admin
        .post(
            &format!("/api/v1/vendor-keys/{trusted_public}/revoke"),
            json!({"reason": "the laptop holding it was stolen"}),
        )
        .await
        .expect(200);
    let suspended = community.installation(&installation).await;
    assert_eq!(suspended["state"], "suspended", "{suspended}");
    assert!(
        suspended["state_reason"]
            .as_str()
            .unwrap_or_default()
            .contains("stolen"),
        "{suspended}"
    );
    let resumed = community
        .admin
        .patch(
            &format!("/api/v1/communities/oak-yard/installations/{installation}"),
            json!({"state": "active"}),
        )
        .await;
    assert_eq!(
        resumed.body["error"]["code"], "revoked-key",
        "{}",
        resumed.body
    );
    // Still suspended, it can be changed as any suspended installation can.
    community
        .admin
        .patch(
            &format!("/api/v1/communities/oak-yard/installations/{installation}"),
            json!({"state": "suspended", "config": {"greeting": "still here"}}),
        )
        .await
        .expect(200);
    let next_version = sign(keys.path(), &hello_0_1_1(), &trusted);
    assert_eq!(refused(&host, next_version, 403).await, "revoked-key");
}

/// hello-scene as version 0.1.1.
fn hello_0_1_1() -> Vec<u8> {
    package_with("hello-scene", |m| {
        m.replace("version = \"0.1.0\"", "version = \"0.1.1\"")
    })
}

#[tokio::test]
async fn a_key_revoked_while_the_host_was_down_suspends_what_it_signed_when_it_starts() {
    let keys = tempfile::tempdir().unwrap();
    let (old, old_public) = keygen(keys.path(), "old");
    let (new, new_public) = keygen(keys.path(), "new");
    let untrusting = |config: &mut linli_host::HostConfig| config.dev = false;
    let host = TestHost::start_with(untrusting).await;
    for key in [&old_public, &new_public] {
        host.admin
            .post(
                "/api/v1/vendor-keys",
                json!({"vendor": "linli", "key": key}),
            )
            .await
            .expect(201);
    }
    host.publish_package(sign(keys.path(), &package("hello-scene"), &old))
        .await;
    let community = host.community("oak-yard").await;
    let installation = community
        .install(
            "hello-scene",
            json!({"sensor": {"kinds": ["*"]}, "store": {}}),
            json!({}),
        )
        .await;
    let path = format!("/api/v1/communities/oak-yard/installations/{installation}");

    let stopped = host.stop().await;
    stopped
        .execute(&format!(
            "UPDATE vendor_keys SET revoked_at = 1, revoked_reason = 'leaked' WHERE key = '{old_public}'"
        ))
        .await;
    let host = stopped.start_again(untrusting).await;
    let suspended = host.admin.get(&path).await.expect(200);
    assert_eq!(suspended["state"], "suspended", "{suspended}");
    let reason = suspended["state_reason"].as_str().unwrap_or_default();
    assert!(reason.contains("revoked"), "{suspended}");

    // A version signed by a key that stands takes it back into service.
    host.publish_package(sign(keys.path(), &hello_0_1_1(), &new))
        .await;
    let upgraded = host
        .admin
        .patch(&path, json!({"version": "0.1.1", "state": "active"}))
        .await
        .expect(200);
    assert_eq!(upgraded["state"], "active", "{upgraded}");
    assert_eq!(upgraded["version"], "0.1.1", "{upgraded}");
}

#[tokio::test]
async fn a_development_host_takes_unsigned_packages_but_still_checks_signed_ones() {
    let keys = tempfile::tempdir().unwrap();
    let (stranger, _) = keygen(keys.path(), "stranger");
    let host = TestHost::start().await;
    host.publish("hello-scene").await;
    let by_stranger = sign(keys.path(), &package("points-scene"), &stranger);
    assert_eq!(refused(&host, by_stranger, 403).await, "untrusted-key");
    host.admin
        .get("/api/v1/plugins/hello-scene/versions/0.1.0")
        .await
        .expect(200);
}
