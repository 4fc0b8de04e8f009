//! The `linli` binary as an operator meets it: help that explains, packing a
//! plugin, and a first start that prints the admin token once and keeps the
//! store across restarts.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

const LINLI: &str = env!("CARGO_BIN_EXE_linli");

fn linli(args: &[&str]) -> std::process::Output {
    Command::new(LINLI).args(args).output().expect("linli runs")
}

#[test]
fn help_names_every_command() {
    let help = String::from_utf8(linli(&["--help"]).stdout).unwrap();
    for command in ["serve", "plugin"] {
        assert!(help.contains(command), "{help}");
    }
    let serve = String::from_utf8(linli(&["serve", "--help"]).stdout).unwrap();
    for flag in [
        "--data-dir",
        "--listen",
        "--admin-token",
        "--memory-mib",
        "--call-timeout-ms",
    ] {
        assert!(serve.contains(flag), "{serve}");
    }
}

#[test]
fn pack_refuses_a_directory_without_a_manifest() {
    let dir = tempfile::tempdir().unwrap();
    let out = linli(&[
        "plugin",
        "pack",
        dir.path().to_str().unwrap(),
        "-o",
        "x.linli",
    ]);
    assert!(!out.status.success());
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(stderr.contains("linli.toml"), "{stderr}");
}

/// A `linli serve` process, killed when dropped.
struct Serve {
    child: Child,
    url: String,
    token: Option<String>,
}

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn serve(data_dir: &Path) -> Serve {
    let child = Command::new(LINLI)
        .args([
            "serve",
            "--data-dir",
            data_dir.to_str().unwrap(),
            "--listen",
            "127.0.0.1:0",
        ])
        .env_remove("LINLI_ADMIN_TOKEN")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("linli serve starts");
    // Owned by `Serve` from here on, so it is killed and reaped however this ends.
    let mut serve = Serve {
        child,
        url: String::new(),
        token: None,
    };
    let mut lines = BufReader::new(serve.child.stdout.take().unwrap()).lines();
    loop {
        let line = lines.next().expect("linli prints its address").unwrap();
        if let Some(token) = line.strip_prefix("platform-admin token (shown once, keep it safe): ")
        {
            serve.token = Some(token.to_owned());
        }
        if let Some(url) = line.strip_prefix("linli listening on ") {
            serve.url = url.to_owned();
            return serve;
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn first_start_prints_an_admin_token_once_and_the_store_survives_a_restart() {
    let data = tempfile::tempdir().unwrap();
    let http = reqwest::Client::new();

    let first = serve(data.path());
    let token = first
        .token
        .clone()
        .expect("a first start prints the admin token");
    let health = http
        .get(format!("{}/healthz", first.url))
        .send()
        .await
        .unwrap();
    assert_eq!(health.status(), 200);
    let created = http
        .post(format!("{}/api/v1/communities", first.url))
        .bearer_auth(&token)
        .json(&serde_json::json!({"id": "willow-court", "name": "Willow Court"}))
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), 201);
    drop(first);

    let second = serve(data.path());
    assert!(
        second.token.is_none(),
        "the admin token is printed only on the first start"
    );
    tokio::time::sleep(Duration::from_millis(50)).await;
    let community = http
        .get(format!("{}/api/v1/communities/willow-court", second.url))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(community.status(), 200);
    let spec = http
        .get(format!("{}/api/v1/openapi.json", second.url))
        .send()
        .await
        .unwrap();
    let spec: serde_json::Value = spec.json().await.unwrap();
    assert!(spec["paths"]["/api/v1/ingest"]["post"].is_object());
}
