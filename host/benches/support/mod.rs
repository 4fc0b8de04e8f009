//! What the benchmarks that drive a real host over HTTP share: the release
//! `linli serve` binary on a temporary data dir, clients of it, publishing a
//! plugin and the PASS/MISS verdict.

// Each benchmark compiles this module on its own and uses part of it.
#![allow(dead_code)]

pub mod broker;
pub mod node_red;
pub mod wrk;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use linli_client::{Client, ClientError, EventStream, Reply};
use serde_json::{json, Value};

/// The platform admin's token of every benchmark host.
pub const ADMIN_TOKEN: &str = "bench-admin-token";

/// The host under test; killed when dropped.
pub struct Host {
    process: Child,
    pub addr: String,
    _data: tempfile::TempDir,
}

impl Host {
    pub fn start() -> Self {
        Self::start_with(&[])
    }

    /// A host started with `serve`'s options and `args` besides.
    pub fn start_with(args: &[&str]) -> Self {
        let data = tempfile::tempdir().expect("temp dir");
        let mut process = Command::new(env!("CARGO_BIN_EXE_linli"))
            .args(["serve", "--dev", "--listen", "127.0.0.1:0", "--data-dir"])
            .arg(data.path())
            .args(args)
            .env("LINLI_ADMIN_TOKEN", ADMIN_TOKEN)
            .env("RUST_LOG", "warn")
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("the linli binary starts");
        let stdout = process.stdout.take().expect("stdout");
        let mut lines = std::io::BufRead::lines(std::io::BufReader::new(stdout));
        let addr = lines
            .find_map(|line| {
                line.ok()?
                    .strip_prefix("linli listening on http://")
                    .map(str::to_owned)
            })
            .expect("the host prints its address");
        Self {
            process,
            addr,
            _data: data,
        }
    }

    /// A client of this host holding `token`.
    pub fn client(&self, token: &str) -> Client {
        Client::new(format!("http://{}", self.addr), token)
    }

    /// A client of this host holding the platform admin's token.
    pub fn admin(&self) -> Client {
        self.client(ADMIN_TOKEN)
    }

    /// The host process's id, to read its memory from `/proc`.
    pub fn pid(&self) -> u32 {
        self.process.id()
    }
}

impl Drop for Host {
    fn drop(&mut self) {
        let _ = self.process.kill();
        let _ = self.process.wait();
    }
}

/// The body of a 2xx reply; anything else ends the benchmark, naming the
/// request and what the host said.
pub async fn ok(reply: impl std::future::Future<Output = Result<Reply, ClientError>>) -> Value {
    reply
        .await
        .and_then(Reply::ok)
        .unwrap_or_else(|e| panic!("{e}"))
}

/// Creates community `id` called `name` with `map` (GeoJSON) as its map.
pub async fn community_with_map(admin: &Client, id: &str, name: &str, map: Value) {
    ok(admin.post("/api/v1/communities", &json!({"id": id, "name": name}))).await;
    ok(admin.put(&format!("/api/v1/communities/{id}/map"), &map)).await;
}

/// A new token of a resident of `community` who is `person` of its map.
pub async fn resident_token(admin: &Client, community: &str, person: &str) -> String {
    let token = ok(admin.post(
        "/api/v1/tokens",
        &json!({"role": "resident", "community": community, "subject": person, "person": person}),
    ))
    .await;
    token["token"].as_str().expect("token").to_owned()
}

/// Uploads a plugin's package (a scene in `plugins/` or an example in
/// `examples/`) as the platform admin.
pub async fn publish(admin: &Client, plugin: &str) {
    let package = linli_host::registry::package::pack(
        &manifest_path(plugin),
        &workspace().join(format!(
            "target/wasm/wasm32-wasip2/plugin/{}.wasm",
            plugin.replace('-', "_")
        )),
    )
    .unwrap_or_else(|e| panic!("{plugin} is built (cargo xtask plugins): {e}"));
    ok(admin.upload_package(package)).await;
}

/// The workspace root.
pub fn workspace() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("workspace")
}

/// The manifest of a scene in `plugins/` or an example in `examples/`.
fn manifest_path(plugin: &str) -> PathBuf {
    ["plugins", "examples"]
        .iter()
        .map(|dir| workspace().join(dir).join(plugin).join("linli.toml"))
        .find(|manifest| manifest.exists())
        .unwrap_or_else(|| panic!("no plugins/{plugin} or examples/{plugin}"))
}

/// Publishes `plugin` and installs it in `community` with everything its
/// manifest requests, `config` and `limits`; returns the installation's id.
pub async fn install(
    admin: &Client,
    community: &str,
    plugin: &str,
    config: Value,
    limits: Value,
) -> String {
    publish(admin, plugin).await;
    let installed = ok(admin.post(
        &format!("/api/v1/communities/{community}/installations"),
        &json!({"plugin": plugin, "version": "0.1.0", "grants": requested_grants(plugin),
                "config": config, "limits": limits}),
    ))
    .await;
    installed["id"]
        .as_str()
        .expect("installation id")
        .to_owned()
}

/// Everything a plugin's manifest requests, as the grants of an installation.
pub fn requested_grants(plugin: &str) -> Value {
    let text = std::fs::read_to_string(manifest_path(plugin)).expect("the manifest is readable");
    let manifest = linli_host::registry::manifest::Manifest::parse(&text)
        .unwrap_or_else(|e| panic!("the manifest of {plugin}: {e}"));
    serde_json::to_value(manifest.capabilities).expect("capabilities serialize")
}

/// Opens the Server-Sent Events stream at `path`; once this returns, the
/// host has subscribed it.
pub async fn events(client: &Client, path: &str) -> EventStream {
    client
        .events(path, None)
        .await
        .unwrap_or_else(|e| panic!("{e}"))
}

/// Hands `each` the JSON data of every event of `stream` with the moment it
/// arrived, until `each` says stop or the stream ends.
pub async fn each_event(mut stream: EventStream, mut each: impl FnMut(Value, Instant) -> bool) {
    while let Ok(event) = stream.next().await {
        if !each(event.data, event.arrived) {
            return;
        }
    }
}

/// Now on the wall clock, in milliseconds since the Unix epoch.
pub fn wall_ms() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("after 1970")
        .as_secs_f64()
        * 1000.0
}

/// PASS when a figure meets its target, MISS otherwise.
pub fn verdict(pass: bool) -> &'static str {
    if pass {
        "PASS"
    } else {
        "MISS"
    }
}

/// The sample at quantile `q` of `sorted` (nearest rank).
pub fn percentile(sorted: &[f64], q: f64) -> f64 {
    let rank = ((sorted.len() as f64 * q).ceil() as usize).clamp(1, sorted.len());
    sorted[rank - 1]
}

/// p50, p99 and max of `samples`.
pub fn spread(samples: &mut [f64]) -> (f64, f64, f64) {
    samples.sort_by(f64::total_cmp);
    (
        percentile(samples, 0.50),
        percentile(samples, 0.99),
        samples[samples.len() - 1],
    )
}

/// A loopback port nothing listens on right now.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port()
}

/// The machine's load averages over 1, 5 and 15 minutes.
pub fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|l| l.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "unknown".to_owned())
}
