//! A vendor's way from nothing to a running plugin, through the `linli` CLI
//! and the HTTP API only: `linli plugin new` into a folder outside this
//! workspace, the generated crate's own tests, a wasm32-wasip2 build, `linli
//! plugin pack`, a signing key and `linli plugin sign`, upload to a host
//! that trusts the key, install, and its handler running on a reading; and
//! `linli plugin test`, the scenario files run against a built component.

use std::path::Path;
use std::process::Command;

use linli_tests::{linli_binary, package_with, workspace, TestHost};
use serde_json::json;

/// Runs `command`, failing the test with its output when it fails.
fn run(what: &str, command: &mut Command) -> String {
    let output = command.output().unwrap_or_else(|e| panic!("{what}: {e}"));
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(output.status.success(), "{what} failed:\n{text}");
    text
}

/// cargo, as a vendor runs it in their crate: with a target dir of its own
/// under this workspace's, so repeated runs reuse the dependencies built.
fn cargo(crate_dir: &Path) -> Command {
    let mut command = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
    command
        .current_dir(crate_dir)
        .env("CARGO_TARGET_DIR", workspace().join("target/vendor-crates"))
        // The outer test run's settings are not the vendor's.
        .env_remove("RUSTFLAGS")
        .env_remove("CARGO_BUILD_TARGET");
    command
}

#[tokio::test]
async fn a_new_plugin_builds_tests_packs_uploads_and_handles_a_reading() {
    let outside = tempfile::tempdir().expect("a folder outside the workspace");
    let created = run(
        "linli plugin new",
        Command::new(linli_binary())
            .args([
                "plugin",
                "new",
                "heat-watch",
                "--kind",
                "reading",
                "--vendor",
                "acme",
                "--dir",
            ])
            .arg(outside.path()),
    );
    assert!(created.contains("created"), "{created}");
    let crate_dir = outside.path().join("heat-watch");

    let tested = run("cargo test in the new crate", cargo(&crate_dir).arg("test"));
    assert!(tested.contains("test result: ok"), "{tested}");
    run(
        "building the new crate for wasm32-wasip2",
        cargo(&crate_dir).args(["build", "--release", "--target", "wasm32-wasip2"]),
    );
    let scenarios = run(
        "linli plugin test in the new crate",
        Command::new(linli_binary())
            .args(["plugin", "test"])
            .arg(&crate_dir)
            .env("CARGO_TARGET_DIR", workspace().join("target/vendor-crates")),
    );
    assert!(scenarios.contains("ok     first"), "{scenarios}");
    let package = outside.path().join("heat-watch.linli");
    run(
        "linli plugin pack",
        Command::new(linli_binary())
            .args(["plugin", "pack"])
            .arg(&crate_dir)
            .arg("-o")
            .arg(&package)
            .env("CARGO_TARGET_DIR", workspace().join("target/vendor-crates")),
    );

    let key = outside.path().join("acme.key");
    run(
        "linli plugin keygen",
        Command::new(linli_binary())
            .args(["plugin", "keygen", "--out"])
            .arg(&key),
    );
    run(
        "linli plugin sign",
        Command::new(linli_binary())
            .args(["plugin", "sign"])
            .arg(&package)
            .arg("--key")
            .arg(&key),
    );

    let host = TestHost::start_with(|config| config.dev = false).await;
    let public = std::fs::read_to_string(key.with_extension("pub")).expect("the public key");
    host.admin
        .post(
            "/api/v1/vendor-keys",
            json!({"vendor": "acme", "key": public.trim()}),
        )
        .await
        .expect(201);
    host.publish_package(std::fs::read(&package).expect("the package"))
        .await;
    let community = host.community("maple-court").await;
    let installation = community
        .install(
            "heat-watch",
            json!({"sensor": {"kinds": ["temperature"]}, "store": {}}),
            json!({"threshold": 28.0}),
        )
        .await;
    let device = community.device("boiler-room", &["temperature"]).await;
    community
        .send_handled(&installation, &device, "temperature", json!(31.5))
        .await;
    community
        .send_handled(&installation, &device, "temperature", json!(20.0))
        .await;
    let status = community
        .command("heat-watch", "status", json!({}))
        .await
        .expect(200);
    assert_eq!(
        status["devices"]["boiler-room"],
        json!({"too_hot": 1, "highest": 31.5}),
        "{status}"
    );
}

/// What a vendor trips over first: the kinds a manifest may name are served,
/// and a misspelled kind or platform alarm type is refused with the name
/// that was meant.
#[tokio::test]
async fn misspelled_kinds_and_platform_alarm_types_are_refused_with_the_nearest_name() {
    let host = TestHost::start().await;
    let kinds = host.admin.get("/api/v1/reading-kinds").await.expect(200);
    let temperature = kinds
        .as_array()
        .expect("a list")
        .iter()
        .find(|k| k["name"] == "temperature")
        .expect("temperature is a kind");
    assert_eq!(temperature["unit"], "°C");
    assert_eq!(temperature["value"], "number");

    let misspelled_kind = package_with("hello-scene", |m| {
        m.replace("kinds = [\"*\"]", "kinds = [\"temprature\"]")
    });
    let refused = host
        .admin
        .post_bytes("/api/v1/plugins", misspelled_kind)
        .await;
    assert_eq!(refused.status.as_u16(), 400, "{}", refused.body);
    assert!(
        refused.message().contains("did you mean \"temperature\"?"),
        "{}",
        refused.body
    );

    let misspelled_alarm = package_with("alarm-scene", |m| {
        m.replace("types = [", "types = [\"device-ofline\", ")
    });
    let refused = host
        .admin
        .post_bytes("/api/v1/plugins", misspelled_alarm)
        .await;
    assert_eq!(refused.status.as_u16(), 400, "{}", refused.body);
    assert!(
        refused
            .message()
            .contains("did you mean \"device-offline\"?"),
        "{}",
        refused.body
    );
}

/// A vendor's development builds can be taken down; releases and builds in
/// use cannot.
#[tokio::test]
async fn an_unpublished_pre_release_can_be_deleted_and_nothing_else() {
    let host = TestHost::start().await;
    host.publish("hello-scene").await;
    let dev = package_with("hello-scene", |m| {
        m.replace("version = \"0.1.0\"", "version = \"0.2.0-dev.1\"")
    });
    host.publish_package(dev).await;
    let path = "/api/v1/plugins/hello-scene/versions/0.2.0-dev.1";
    host.admin.delete(path).await.expect(204);
    host.admin.get(path).await.expect(404);
    host.admin.delete(path).await.expect(404);
    let release = host
        .admin
        .delete("/api/v1/plugins/hello-scene/versions/0.1.0")
        .await;
    assert_eq!(release.status.as_u16(), 409, "{}", release.body);
    assert!(
        release.message().contains("never deleted"),
        "{}",
        release.body
    );

    let dev2 = package_with("hello-scene", |m| {
        m.replace("version = \"0.1.0\"", "version = \"0.2.0-dev.2\"")
    });
    host.publish_package(dev2).await;
    let community = host.community("elm-row").await;
    community
        .admin
        .post(
            "/api/v1/communities/elm-row/installations",
            json!({"plugin": "hello-scene", "version": "0.2.0-dev.2",
                   "grants": {"sensor": {"kinds": ["*"]}, "store": {}}, "config": {}}),
        )
        .await
        .expect(201);
    let in_use = host
        .admin
        .delete("/api/v1/plugins/hello-scene/versions/0.2.0-dev.2")
        .await;
    assert_eq!(in_use.status.as_u16(), 409, "{}", in_use.body);
    assert!(
        in_use.message().contains("installed in 1"),
        "{}",
        in_use.body
    );
}

/// A failing CLI command says what went wrong in one line and exits 1;
/// `--verbose` shows the causes as well.
#[test]
fn cli_errors_are_one_clear_line_unless_asked_for_more() {
    let missing = tempfile::tempdir().unwrap().path().join("no-such-plugin");
    let output = Command::new(linli_binary())
        .args(["plugin", "pack"])
        .arg(&missing)
        .args(["-o", "unused.linli"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.starts_with("linli: cannot read"), "{stderr}");
    assert!(stderr.contains("linli.toml"), "{stderr}");

    let output = Command::new(linli_binary())
        .args([
            "--verbose",
            "ledger",
            "verify",
            "/no/such/receipt.json",
            "--key",
            "00",
        ])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.lines().count() > 1, "{stderr}");
}

/// The component `cargo xtask plugins` built for `plugin`.
fn built(plugin: &str) -> std::path::PathBuf {
    workspace()
        .join("target/wasm/wasm32-wasip2/plugin")
        .join(format!("{}.wasm", plugin.replace('-', "_")))
}

/// `linli plugin test` runs a scene's scenario files against its built
/// component on a host of its own (a Rust scene, one on the demo map, the
/// Python one, parking on a map of its own), and a scenario expecting what
/// the scene does not do fails,
/// naming the step and the difference.
#[test]
fn plugin_test_runs_the_scenarios_and_names_the_step_that_does_not_hold() {
    for (dir, plugin, scenario) in [
        (
            "examples/hello-scene",
            "hello-scene",
            "counts-and-reminders (20 steps",
        ),
        (
            "plugins/fire-safety",
            "fire-safety",
            "two-detectors-confirm-a-fire (7 steps",
        ),
        ("plugins/leak-watch", "leak-watch", "wet-then-dry (5 steps"),
        (
            "plugins/parking",
            "parking",
            "share-search-reserve (13 steps",
        ),
        (
            "plugins/voting",
            "voting",
            "repaint-the-stairwells (22 steps",
        ),
    ] {
        let output = run(
            &format!("linli plugin test {dir}"),
            Command::new(linli_binary())
                .args(["plugin", "test"])
                .arg(workspace().join(dir))
                .arg("--wasm")
                .arg(built(plugin)),
        );
        assert!(output.contains(&format!("ok     {scenario}")), "{output}");
        assert!(output.contains("1 scenarios held"), "{output}");
    }

    let hello = workspace().join("examples/hello-scene");
    let written =
        std::fs::read_to_string(hello.join("scenarios/counts-and-reminders.toml")).expect("read");
    let wrong = tempfile::tempdir().expect("a folder");
    let file = wrong.path().join("four-beats.toml");
    std::fs::write(
        &file,
        written.replacen("water-plants = 3 } }", "water-plants = 4 } }", 1),
    )
    .expect("write");
    let failed = Command::new(linli_binary())
        .args(["plugin", "test"])
        .arg(&hello)
        .arg(&file)
        .arg("--wasm")
        .arg(built("hello-scene"))
        .output()
        .expect("linli plugin test runs");
    let stdout = String::from_utf8_lossy(&failed.stdout);
    assert!(!failed.status.success(), "{stdout}");
    assert!(
        stdout.contains(
            "FAILED four-beats: step 12 (command stats): output.timers.water-plants: 3, expected 4"
        ),
        "{stdout}"
    );
    assert!(
        String::from_utf8_lossy(&failed.stderr).contains("1 of 1 scenarios failed"),
        "{}",
        String::from_utf8_lossy(&failed.stderr)
    );
}
