//! The one way tests start a host: a real `linli` host on a temporary data
//! dir and a random port, driven over real HTTP, with real wasm plugins built
//! from `examples/` by `cargo xtask plugins`, and a clock the test moves.
//!
//! With `LINLI_TEST_POSTGRES` set to a PostgreSQL URL (e.g.
//! `postgres://127.0.0.1:5432/test`), every host gets a fresh database on
//! that server instead of the embedded SQLite store, so the same scenarios
//! run against both stores; the database is dropped with the host.
//!
//! Scenarios read like what they protect: start a [`TestHost`], make a
//! community with [`TestHost::community`], register devices, enable plugins,
//! send readings, and ask plugins through commands. MQTT scenarios start
//! their own [`Broker`] (a real `mosquitto` on a free port) and a host
//! bridged to it with [`TestHost::start_with_mqtt`].

use std::future::Future;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use linli_host::{HostConfig, ManualClock, Server};
use reqwest::StatusCode;
use serde_json::{json, Value};

/// 2026-01-01T00:00:00Z: where every test clock starts.
pub const START: i64 = 1_767_225_600_000;

/// The workspace root.
pub fn workspace() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ is inside the workspace")
        .to_path_buf()
}

/// The `linli` binary built beside the tests (`cargo test` builds it with
/// the host): in the profile directory above the test's own executable,
/// wherever the target directory is.
pub fn linli_binary() -> PathBuf {
    let test = std::env::current_exe().expect("the test's own path");
    let profile = test
        .parent()
        .and_then(Path::parent)
        .expect("tests run from <target>/<profile>/deps");
    let path = profile.join("linli");
    assert!(
        path.exists(),
        "{} is missing; build it with `cargo build -p linli-host`",
        path.display()
    );
    path
}

/// The built component of an example plugin.
pub fn component(plugin: &str) -> Vec<u8> {
    let path = workspace()
        .join("target/wasm/wasm32-wasip2/plugin")
        .join(format!("{}.wasm", plugin.replace('-', "_")));
    std::fs::read(&path).unwrap_or_else(|e| {
        panic!(
            "{}: {e}; build the plugins first with `cargo xtask plugins`",
            path.display()
        )
    })
}

/// The demo community's map (`examples/demo-community/sunny-garden.geojson`).
pub fn demo_community_map() -> Value {
    let path = workspace().join("examples/demo-community/sunny-garden.geojson");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).expect("the demo map is JSON")
}

/// The people of the demo map living in a household at or under `place`, read from the file itself.
pub fn demo_residents_of(place: &str) -> std::collections::BTreeSet<String> {
    let map = demo_community_map();
    let features = map["features"].as_array().expect("features");
    let parent: std::collections::BTreeMap<&str, &str> = features
        .iter()
        .filter_map(|f| Some((f["id"].as_str()?, f["properties"]["parent"].as_str()?)))
        .collect();
    let within = |start: &str| {
        let mut at = start;
        loop {
            if at == place {
                return true;
            }
            match parent.get(at) {
                Some(up) => at = up,
                None => return false,
            }
        }
    };
    features
        .iter()
        .filter(|f| {
            f["properties"]["links"]
                .as_array()
                .into_iter()
                .flatten()
                .any(|l| l["kind"] == "resident-of" && l["target"].as_str().is_some_and(within))
        })
        .filter_map(|f| f["id"].as_str().map(str::to_owned))
        .collect()
}

/// A tar archive of `entries`, as a package file is built, without checking them.
pub fn tar(entries: &[(&str, &[u8])]) -> Vec<u8> {
    let mut builder = tar::Builder::new(Vec::new());
    for (name, bytes) in entries {
        let mut header = tar::Header::new_gnu();
        header.set_size(bytes.len() as u64);
        header.set_mode(0o644);
        header.set_cksum();
        builder
            .append_data(&mut header, name, *bytes)
            .expect("tar entry");
    }
    builder.into_inner().expect("tar archive")
}

/// The source folder of a plugin: a scene in `plugins/` or an example in `examples/`.
fn plugin_dir(plugin: &str) -> PathBuf {
    let scene = workspace().join("plugins").join(plugin);
    if scene.is_dir() {
        scene
    } else {
        workspace().join("examples").join(plugin)
    }
}

/// A package of a plugin with its manifest edited (and not checked, so tests can break it).
pub fn package_with(plugin: &str, edit_manifest: impl FnOnce(String) -> String) -> Vec<u8> {
    let manifest = std::fs::read_to_string(plugin_dir(plugin).join("linli.toml"))
        .unwrap_or_else(|e| panic!("the manifest of {plugin}: {e}"));
    tar(&[
        ("linli.toml", edit_manifest(manifest).as_bytes()),
        ("plugin.wasm", &component(plugin)),
    ])
}

/// Everything a plugin's manifest requests, as the grants of an installation.
pub fn requested_grants(plugin: &str) -> Value {
    let text = std::fs::read_to_string(plugin_dir(plugin).join("linli.toml"))
        .unwrap_or_else(|e| panic!("the manifest of {plugin}: {e}"));
    let manifest = linli_host::registry::manifest::Manifest::parse(&text)
        .unwrap_or_else(|e| panic!("the manifest of {plugin}: {e}"));
    serde_json::to_value(manifest.capabilities).expect("capabilities serialize")
}

/// A package of a plugin as built.
pub fn package(plugin: &str) -> Vec<u8> {
    package_with(plugin, |m| m)
}

/// Waits until `check` holds, polling; fails the test after a minute.
pub async fn eventually<F, Fut>(what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    let deadline = Instant::now() + Duration::from_secs(60);
    while !check().await {
        assert!(Instant::now() < deadline, "timed out waiting until {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// An HTTP response: status, headers and JSON body (`Null` when empty).
#[derive(Debug, Clone)]
pub struct Reply {
    pub status: StatusCode,
    pub headers: reqwest::header::HeaderMap,
    pub body: Value,
}

impl Reply {
    /// Asserts the status and returns the body.
    #[track_caller]
    pub fn expect(self, status: u16) -> Value {
        assert_eq!(
            self.status.as_u16(),
            status,
            "unexpected status; body: {}",
            self.body
        );
        self.body
    }

    /// The error message of a JSON error body.
    pub fn message(&self) -> String {
        self.body["error"]["message"]
            .as_str()
            .unwrap_or_default()
            .to_owned()
    }
}

/// An API client holding one bearer token.
#[derive(Clone)]
pub struct Client {
    http: reqwest::Client,
    base: String,
    token: String,
}

impl Client {
    pub fn new(base: &str, token: &str) -> Self {
        Self {
            http: reqwest::Client::new(),
            base: base.to_owned(),
            token: token.to_owned(),
        }
    }

    /// The same host with another token.
    pub fn with_token(&self, token: &str) -> Self {
        Self::new(&self.base, token)
    }

    /// Sends a request; an error when the host cannot be reached or the
    /// connection dropped before a full reply.
    async fn try_send(&self, request: reqwest::RequestBuilder) -> Result<Reply, reqwest::Error> {
        let response = request.bearer_auth(&self.token).send().await?;
        let status = response.status();
        let headers = response.headers().clone();
        let bytes = response.bytes().await?;
        let body = if bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&bytes)
                .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into()))
        };
        Ok(Reply {
            status,
            headers,
            body,
        })
    }

    async fn send(&self, request: reqwest::RequestBuilder) -> Reply {
        self.try_send(request).await.expect("request sent")
    }

    /// Opens a Server-Sent Events stream, resuming after `last_event_id` if given.
    pub async fn events(&self, path: &str, last_event_id: Option<&str>) -> EventStream {
        let mut request = self
            .http
            .get(format!("{}{path}", self.base))
            .bearer_auth(&self.token);
        if let Some(id) = last_event_id {
            request = request.header("Last-Event-ID", id);
        }
        let response = request.send().await.expect("request sent");
        assert_eq!(response.status(), 200, "opening the event stream {path}");
        EventStream {
            response,
            buffer: String::new(),
        }
    }

    /// The status of a GET, or `None` when the host cannot be reached.
    /// POSTs raw bytes with a content type.
    pub async fn post_raw(&self, path: &str, content_type: &str, body: Vec<u8>) -> Reply {
        self.send(
            self.http
                .post(format!("{}{path}", self.base))
                .header("content-type", content_type)
                .body(body),
        )
        .await
    }

    pub async fn try_get(&self, path: &str) -> Option<StatusCode> {
        let request = self
            .http
            .get(format!("{}{path}", self.base))
            .bearer_auth(&self.token);
        request.send().await.ok().map(|r| r.status())
    }

    /// POSTs JSON with extra request headers; `None` when the host cannot be
    /// reached or the connection dropped before a full reply.
    pub async fn try_post_with(
        &self,
        path: &str,
        headers: &[(&str, &str)],
        body: &Value,
    ) -> Option<Reply> {
        self.try_send(self.post_request(path, headers, body))
            .await
            .ok()
    }

    fn post_request(
        &self,
        path: &str,
        headers: &[(&str, &str)],
        body: &Value,
    ) -> reqwest::RequestBuilder {
        let mut request = self.http.post(format!("{}{path}", self.base)).json(body);
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        request
    }

    pub async fn get(&self, path: &str) -> Reply {
        self.send(self.http.get(format!("{}{path}", self.base)))
            .await
    }

    pub async fn post(&self, path: &str, body: Value) -> Reply {
        self.send(self.http.post(format!("{}{path}", self.base)).json(&body))
            .await
    }

    /// POSTs JSON with extra request headers.
    pub async fn post_with(&self, path: &str, headers: &[(&str, &str)], body: Value) -> Reply {
        self.send(self.post_request(path, headers, &body)).await
    }

    pub async fn post_bytes(&self, path: &str, body: Vec<u8>) -> Reply {
        self.post_raw(path, "application/x-tar", body).await
    }

    pub async fn patch(&self, path: &str, body: Value) -> Reply {
        self.send(self.http.patch(format!("{}{path}", self.base)).json(&body))
            .await
    }

    pub async fn put(&self, path: &str, body: Value) -> Reply {
        self.send(self.http.put(format!("{}{path}", self.base)).json(&body))
            .await
    }

    pub async fn delete(&self, path: &str) -> Reply {
        self.send(self.http.delete(format!("{}{path}", self.base)))
            .await
    }
}

/// A running host on a temp dir with a manual clock.
pub struct TestHost {
    pub server: Server,
    pub clock: ManualClock,
    /// A platform-admin client.
    pub admin: Client,
    server_store_url: String,
    /// Dropped after the server, so the server's connections go first.
    _postgres: Option<PostgresDatabase>,
    dir: tempfile::TempDir,
}

/// What is left of a stopped host: its data dir and its store.
pub struct StoppedHost {
    store_url: String,
    _postgres: Option<PostgresDatabase>,
    dir: tempfile::TempDir,
}

impl StoppedHost {
    /// The data dir.
    pub fn data_dir(&self) -> &std::path::Path {
        self.dir.path()
    }

    /// The store's URL, for `DATABASE_URL`.
    pub fn store_url(&self) -> &str {
        &self.store_url
    }

    /// Runs one SQL statement on the store, as someone with database access could.
    pub async fn execute(&self, sql: &str) {
        sqlx::any::install_default_drivers();
        let pool = sqlx::AnyPool::connect(&self.store_url)
            .await
            .expect("store opens");
        sqlx::query(sql)
            .execute(&pool)
            .await
            .expect("statement runs");
        pool.close().await;
    }
}

/// The real `linli serve` binary as a child process, on a fixed port and
/// data dir (and the harness's choice of store), so a test can kill it
/// without warning and start it again on the same data.
pub struct HostProcess {
    child: std::process::Child,
    listen: std::net::SocketAddr,
    store_url: Option<String>,
    _postgres: Option<PostgresDatabase>,
    dir: tempfile::TempDir,
    pub admin: Client,
}

impl HostProcess {
    /// Starts `linli serve` on a free port with a fresh data dir.
    pub async fn start() -> Self {
        let listen = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port");
        let postgres = PostgresDatabase::create().await;
        let store_url = postgres.as_ref().map(PostgresDatabase::url);
        let dir = tempfile::tempdir().expect("temp dir");
        let child = Self::spawn(listen, dir.path(), store_url.as_deref());
        let host = Self {
            child,
            listen,
            store_url,
            _postgres: postgres,
            dir,
            admin: Client::new(&format!("http://{listen}"), "test-platform-admin"),
        };
        host.wait_healthy().await;
        host
    }

    fn spawn(
        listen: std::net::SocketAddr,
        data_dir: &std::path::Path,
        store_url: Option<&str>,
    ) -> std::process::Child {
        let mut command = std::process::Command::new(linli_binary());
        command
            .args([
                "serve",
                "--dev",
                "--listen",
                &listen.to_string(),
                "--data-dir",
            ])
            .arg(data_dir)
            .env("LINLI_ADMIN_TOKEN", "test-platform-admin")
            .env("RUST_LOG", "warn")
            .stdout(std::process::Stdio::null());
        match store_url {
            Some(url) => command.env("DATABASE_URL", url),
            None => command.env_remove("DATABASE_URL"),
        };
        command.spawn().expect("linli serve starts")
    }

    async fn wait_healthy(&self) {
        let deadline = Instant::now() + Duration::from_secs(60);
        while self.admin.try_get("/healthz").await != Some(StatusCode::OK) {
            assert!(Instant::now() < deadline, "linli serve did not come up");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// The API's base URL.
    pub fn url(&self) -> String {
        format!("http://{}", self.listen)
    }

    /// Kills the host with SIGKILL (no shutdown of any kind) and starts it again on the same data.
    pub async fn kill_and_restart(&mut self) {
        self.child.kill().expect("SIGKILL delivered");
        self.child.wait().expect("the killed host is reaped");
        self.child = Self::spawn(self.listen, self.dir.path(), self.store_url.as_deref());
        self.wait_healthy().await;
    }
}

impl Drop for HostProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A throwaway database on the PostgreSQL server named by `LINLI_TEST_POSTGRES`.
struct PostgresDatabase {
    server: String,
    name: String,
}

impl PostgresDatabase {
    /// Creates a fresh database when `LINLI_TEST_POSTGRES` is set.
    async fn create() -> Option<Self> {
        use sqlx::Connection;
        let server = std::env::var("LINLI_TEST_POSTGRES").ok()?;
        let name = format!("linli_test_{}", hex::encode(rand::random::<[u8; 8]>()));
        let mut admin = sqlx::PgConnection::connect(&server)
            .await
            .unwrap_or_else(|e| panic!("LINLI_TEST_POSTGRES={server}: {e}"));
        sqlx::Executor::execute(&mut admin, format!("CREATE DATABASE {name}").as_str())
            .await
            .expect("create test database");
        Some(Self { server, name })
    }

    /// The URL of the test database on the same server.
    fn url(&self) -> String {
        let base = self.server.split('?').next().unwrap_or(&self.server);
        let server = base.rsplit_once('/').map_or(base, |(server, _)| server);
        format!("{server}/{}", self.name)
    }
}

impl Drop for PostgresDatabase {
    fn drop(&mut self) {
        let (server, name) = (self.server.clone(), self.name.clone());
        // Drop runs inside the test's runtime, which cannot block on itself.
        let dropped = std::thread::spawn(move || {
            tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()?
                .block_on(async {
                    use sqlx::Connection;
                    let mut admin = sqlx::PgConnection::connect(&server)
                        .await
                        .map_err(std::io::Error::other)?;
                    sqlx::Executor::execute(
                        &mut admin,
                        format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)").as_str(),
                    )
                    .await
                    .map_err(std::io::Error::other)?;
                    Ok::<_, std::io::Error>(())
                })
        })
        .join();
        if !matches!(dropped, Ok(Ok(()))) {
            eprintln!("could not drop test database {}", self.name);
        }
    }
}

/// One Server-Sent Event.
#[derive(Debug, Clone)]
pub struct ServerEvent {
    pub id: Option<String>,
    pub event: String,
    pub data: Value,
}

/// An open Server-Sent Events stream.
pub struct EventStream {
    response: reqwest::Response,
    buffer: String,
}

impl EventStream {
    /// The next event (keep-alive comments skipped); panics after 30 s of silence.
    pub async fn next(&mut self) -> ServerEvent {
        loop {
            if let Some(end) = self.buffer.find("\n\n") {
                let block: String = self.buffer.drain(..end + 2).collect();
                let mut event = ServerEvent {
                    id: None,
                    event: "message".to_owned(),
                    data: Value::Null,
                };
                let mut data = String::new();
                for line in block.lines() {
                    match line.split_once(':') {
                        Some(("id", v)) => event.id = Some(v.trim().to_owned()),
                        Some(("event", v)) => event.event = v.trim().to_owned(),
                        Some(("data", v)) => data.push_str(v.trim()),
                        _ => {}
                    }
                }
                if data.is_empty() {
                    continue;
                }
                event.data = serde_json::from_str(&data).expect("event data is JSON");
                return event;
            }
            let chunk = tokio::time::timeout(Duration::from_secs(30), self.response.chunk())
                .await
                .expect("an event within 30 s")
                .expect("the stream stays open")
                .expect("the stream does not end");
            self.buffer.push_str(&String::from_utf8_lossy(&chunk));
        }
    }

    /// The next event named `event`, skipping others.
    pub async fn next_of(&mut self, event: &str) -> ServerEvent {
        loop {
            let next = self.next().await;
            if next.event == event {
                return next;
            }
        }
    }
}

/// A community in a test, with its admin.
pub struct Community {
    pub id: String,
    pub admin: Client,
}

/// A registered device and its client (holding its token).
pub struct Device {
    pub id: String,
    pub client: Client,
}

impl TestHost {
    /// Starts a host with default limits.
    pub async fn start() -> Self {
        Self::start_with(|_| {}).await
    }

    /// Starts a host after `configure` adjusts its config.
    pub async fn start_with(configure: impl FnOnce(&mut HostConfig)) -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let mut config = HostConfig::new(dir.path(), "127.0.0.1:0".parse().expect("addr"));
        config.admin_token = Some("test-platform-admin".to_owned());
        // The example plugins are packed unsigned; the signing tests turn this off.
        config.dev = true;
        let postgres = PostgresDatabase::create().await;
        config.database_url = postgres.as_ref().map(PostgresDatabase::url);
        let server_store_url = config
            .database_url
            .clone()
            .unwrap_or_else(|| linli_host::db::sqlite_url(&config.data_dir));
        configure(&mut config);
        let clock = ManualClock::new(START);
        let server = Server::start(config, Arc::new(clock.clone()))
            .await
            .expect("host starts");
        let admin = Client::new(&server.url(), "test-platform-admin");
        Self {
            server,
            clock,
            admin,
            server_store_url,
            _postgres: postgres,
            dir,
        }
    }

    /// Starts a host that also takes readings from `broker`.
    pub async fn start_with_mqtt(broker: &Broker) -> Self {
        let url = broker.url();
        Self::start_with(|config| config.mqtt = Some(url)).await
    }

    /// Creates community `id` and a community-admin token for it.
    pub async fn community(&self, id: &str) -> Community {
        self.admin
            .post(
                "/api/v1/communities",
                json!({"id": id, "name": format!("Community {id}")}),
            )
            .await
            .expect(201);
        let token = self
            .admin
            .post(
                "/api/v1/tokens",
                json!({"role": "community-admin", "community": id, "subject": format!("{id}-admin")}),
            )
            .await
            .expect(201);
        Community {
            id: id.to_owned(),
            admin: self
                .admin
                .with_token(token["token"].as_str().expect("token")),
        }
    }

    /// Publishes hello-scene and enables it in `community` for every reading
    /// kind, counting what it is given; returns the installation id.
    pub async fn install_hello(&self, community: &Community) -> String {
        self.publish("hello-scene").await;
        community
            .install(
                "hello-scene",
                json!({"sensor": {"kinds": ["*"]}, "store": {}}),
                json!({}),
            )
            .await
    }

    /// Uploads a plugin's package as built, as the platform admin.
    pub async fn publish(&self, plugin: &str) {
        self.publish_package(package(plugin)).await;
    }

    /// Stops the host and keeps its data dir and store for inspection.
    pub async fn stop(self) -> StoppedHost {
        self.server.shutdown().await.expect("host stops");
        StoppedHost {
            store_url: self.server_store_url,
            _postgres: self._postgres,
            dir: self.dir,
        }
    }

    /// The line of Prometheus metric `name` whose labels mention every one of `labels`.
    pub async fn metric(&self, name: &str, labels: &[&str]) -> String {
        let metrics = self.admin.get("/metrics").await.body;
        let text = metrics.as_str().expect("metrics are text");
        text.lines()
            .find(|l| l.starts_with(name) && labels.iter().all(|label| l.contains(label)))
            .unwrap_or_else(|| panic!("no {name} metric for {labels:?}"))
            .to_owned()
    }

    /// The value of Prometheus metric `name` on the line whose labels
    /// mention every one of `labels`, if the metric has such a line yet.
    pub async fn metric_value(&self, name: &str, labels: &[&str]) -> Option<f64> {
        let metrics = self.admin.get("/metrics").await.body;
        let text = metrics.as_str().expect("metrics are text");
        text.lines()
            .find(|l| {
                l.split([' ', '{']).next() == Some(name)
                    && labels.iter().all(|label| l.contains(label))
            })
            .and_then(|l| l.rsplit(' ').next()?.parse().ok())
    }

    /// Waits until metric `name` (on the line with `labels`) reads `value`.
    pub async fn wait_for_metric(&self, name: &str, labels: &[&str], value: f64) {
        eventually(&format!("{name}{labels:?} = {value}"), || async {
            self.metric_value(name, labels).await == Some(value)
        })
        .await;
    }

    /// The host's data dir (store file, compiled-component cache).
    pub fn data_dir(&self) -> &std::path::Path {
        self.dir.path()
    }

    /// Moves the clock and lets every installation see it.
    pub fn advance(&self, ms: i64) {
        self.clock.advance(ms);
        self.server.runtime().wake_all();
    }
}

impl Community {
    /// Registers a device reporting `kinds`.
    pub async fn device(&self, id: &str, kinds: &[&str]) -> Device {
        self.placed_device(id, "sensor", kinds, None).await
    }

    /// Registers a device of `kind` reporting `kinds`, placed at `location` (a place of the map) if given.
    pub async fn placed_device(
        &self,
        id: &str,
        kind: &str,
        kinds: &[&str],
        location: Option<&str>,
    ) -> Device {
        let mut registration = json!({"id": id, "kind": kind, "reading_kinds": kinds});
        if let Some(location) = location {
            registration["location"] = json!(location);
        }
        let registered = self
            .admin
            .post(
                &format!("/api/v1/communities/{}/devices", self.id),
                registration,
            )
            .await
            .expect(201);
        Device {
            id: id.to_owned(),
            client: self
                .admin
                .with_token(registered["token"].as_str().expect("device token")),
        }
    }

    /// Sends one reading from `device` now and waits until `installation` has handled it.
    pub async fn send_handled(
        &self,
        installation: &str,
        device: &Device,
        kind: &str,
        value: Value,
    ) {
        device
            .send(json!([device.reading(kind, value)]))
            .await
            .expect(202);
        self.settle(installation).await;
    }

    /// Replaces the community's map with a GeoJSON FeatureCollection.
    pub async fn import_map(&self, map: &Value) -> Reply {
        self.admin
            .put(&format!("/api/v1/communities/{}/map", self.id), map.clone())
            .await
    }

    /// A client holding a new token of `role` in this community for `subject`.
    pub async fn member(&self, role: &str, subject: &str) -> Client {
        let token = self
            .admin
            .post(
                "/api/v1/tokens",
                json!({"role": role, "community": self.id, "subject": subject}),
            )
            .await
            .expect(201);
        self.admin
            .with_token(token["token"].as_str().expect("token"))
    }

    /// Puts a person with no links on the community's map.
    pub async fn add_person(&self, person: &str) {
        self.admin
            .put(
                &format!("/api/v1/communities/{}/map/people/{person}", self.id),
                json!({"type": "Feature", "geometry": null, "properties": {"kind": "person", "name": person}}),
            )
            .await
            .expect(201);
    }

    /// A client holding a new token of `role` in this community for `person` of the map.
    pub async fn person(&self, role: &str, person: &str) -> Client {
        let token = self
            .admin
            .post(
                "/api/v1/tokens",
                json!({"role": role, "community": self.id, "subject": person, "person": person}),
            )
            .await
            .expect(201);
        self.admin
            .with_token(token["token"].as_str().expect("token"))
    }

    /// Enables a published plugin with `grants` and `config`; returns the installation id.
    pub async fn install(&self, plugin: &str, grants: Value, config: Value) -> String {
        let body = self
            .admin
            .post(
                &format!("/api/v1/communities/{}/installations", self.id),
                json!({"plugin": plugin, "version": "0.1.0", "grants": grants, "config": config}),
            )
            .await
            .expect(201);
        body["id"].as_str().expect("installation id").to_owned()
    }

    /// The installation's current record.
    pub async fn installation(&self, id: &str) -> Value {
        self.admin
            .get(&format!(
                "/api/v1/communities/{}/installations/{id}",
                self.id
            ))
            .await
            .expect(200)
    }

    /// Waits until the installation has handled everything in the log (or is suspended).
    pub async fn settle(&self, id: &str) -> Value {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let installation = self.installation(id).await;
            if installation["backlog"] == 0 || installation["state"] == "suspended" {
                return installation;
            }
            assert!(
                Instant::now() < deadline,
                "installation {id} did not settle: {installation}"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Runs a plugin command as this community's admin.
    pub async fn command(&self, plugin: &str, name: &str, input: Value) -> Reply {
        self.admin
            .post(
                &format!(
                    "/api/v1/communities/{}/plugins/{plugin}/commands/{name}",
                    self.id
                ),
                input,
            )
            .await
    }

    /// The installation's dead letters.
    pub async fn dead_letters(&self, id: &str) -> Vec<Value> {
        let body = self
            .admin
            .get(&format!(
                "/api/v1/communities/{}/installations/{id}/dead-letters",
                self.id
            ))
            .await
            .expect(200);
        body.as_array().expect("a list").clone()
    }
}

impl Device {
    /// The device's bearer token.
    pub fn token(&self) -> &str {
        &self.client.token
    }

    /// Sends a batch of readings.
    pub async fn send(&self, readings: Value) -> Reply {
        self.client.post("/api/v1/ingest", readings).await
    }

    /// Sends a batch of readings named by an idempotency key.
    pub async fn send_keyed(&self, key: &str, readings: Value) -> Reply {
        self.client
            .post_with("/api/v1/ingest", &[("idempotency-key", key)], readings)
            .await
    }

    /// An MQTT message with this device's token and `readings`, named by `batch` if given.
    pub fn mqtt_message(&self, batch: Option<&str>, readings: Value) -> Value {
        let mut message = json!({"token": self.token(), "readings": readings});
        if let Some(batch) = batch {
            message["batch"] = json!(batch);
        }
        message
    }

    /// The topic this device publishes readings on.
    pub fn readings_topic(&self, community: &Community) -> String {
        format!("linli/{}/{}/readings", community.id, self.id)
    }

    /// A reading of this device.
    pub fn reading(&self, kind: &str, value: Value) -> Value {
        json!({"device": self.id, "kind": kind, "value": value})
    }
}

/// A real MQTT broker: `mosquitto` on a free loopback port, killed with the test.
pub struct Broker {
    port: u16,
    process: Option<Child>,
}

impl Broker {
    /// Starts a broker on a free port.
    pub async fn start() -> Self {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let mut broker = Self {
            port,
            process: None,
        };
        broker.restart().await;
        broker
    }

    /// The broker's URL, for `linli serve --mqtt`.
    pub fn url(&self) -> String {
        format!("mqtt://127.0.0.1:{}", self.port)
    }

    /// Kills the broker process (as a crash would) and waits for it to go.
    pub fn kill(&mut self) {
        if let Some(mut process) = self.process.take() {
            let _ = process.kill();
            let _ = process.wait();
        }
    }

    /// Starts the broker again on the same port; waits until it takes connections.
    pub async fn restart(&mut self) {
        self.kill();
        let binary = ["/usr/sbin/mosquitto", "/usr/local/sbin/mosquitto"]
            .into_iter()
            .find(|p| std::path::Path::new(p).exists())
            .unwrap_or("mosquitto");
        let process = Command::new(binary)
            .args(["-p", &self.port.to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {binary}: {e}; install mosquitto"));
        self.process = Some(process);
        let address = format!("127.0.0.1:{}", self.port);
        eventually("the broker takes connections", || async {
            tokio::net::TcpStream::connect(&address).await.is_ok()
        })
        .await;
    }

    fn options(&self, role: &str) -> rumqttc::MqttOptions {
        let id = format!("test-{role}-{}", hex::encode(rand::random::<[u8; 4]>()));
        rumqttc::MqttOptions::new(id, "127.0.0.1", self.port)
    }

    /// Publishes `payload` on `topic` with QoS 1 and waits for the broker's PUBACK.
    pub async fn publish(&self, topic: &str, payload: &Value) {
        use rumqttc::{AsyncClient, Event, Packet, QoS};
        let (client, mut events) = AsyncClient::new(self.options("device"), 8);
        client
            .publish(topic, QoS::AtLeastOnce, false, payload.to_string())
            .await
            .expect("publish queued");
        let acked = tokio::time::timeout(Duration::from_secs(10), async {
            loop {
                match events.poll().await {
                    Ok(Event::Incoming(Packet::PubAck(_))) => return,
                    Ok(_) => {}
                    Err(e) => panic!("publishing to {topic}: {e}"),
                }
            }
        })
        .await;
        assert!(acked.is_ok(), "the broker did not acknowledge {topic}");
        let _ = client.disconnect().await;
    }

    /// Subscribes to `topic`; the payloads published on it arrive on the receiver.
    pub async fn subscribe(&self, topic: &str) -> tokio::sync::mpsc::UnboundedReceiver<Value> {
        use rumqttc::{AsyncClient, Event, Packet, QoS};
        let (client, mut events) = AsyncClient::new(self.options("listener"), 8);
        client
            .subscribe(topic, QoS::AtMostOnce)
            .await
            .expect("subscribe queued");
        loop {
            match events.poll().await {
                Ok(Event::Incoming(Packet::SubAck(_))) => break,
                Ok(_) => {}
                Err(e) => panic!("subscribing to {topic}: {e}"),
            }
        }
        let (sender, receiver) = tokio::sync::mpsc::unbounded_channel();
        tokio::spawn(async move {
            let _client = client;
            while let Ok(event) = events.poll().await {
                if let Event::Incoming(Packet::Publish(p)) = event {
                    let payload = serde_json::from_slice(&p.payload).unwrap_or(Value::Null);
                    if sender.send(payload).is_err() {
                        return;
                    }
                }
            }
        });
        receiver
    }
}

impl Drop for Broker {
    fn drop(&mut self) {
        self.kill();
    }
}

impl TestHost {
    /// Uploads a package as the platform admin.
    pub async fn publish_package(&self, package: Vec<u8>) {
        let reply = self.admin.post_bytes("/api/v1/plugins", package).await;
        assert!(
            reply.status == 201 || reply.status == 200,
            "publishing a package: {} {}",
            reply.status,
            reply.body
        );
    }
}
