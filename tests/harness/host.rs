//! The host under test: in process with a manual clock ([`TestHost`]), or
//! the real binary as a child process that a test can kill and restart
//! ([`HostProcess`]), each on SQLite or a throwaway PostgreSQL database.

use std::sync::Arc;
use std::time::{Duration, Instant};

use linli_host::{HostConfig, ManualClock, Server};
use serde_json::json;

use crate::{eventually, linli_binary, package, Broker, Client, Community, StatusCode, START};

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

    /// Starts a host again on what this one left, `configure`d as a new one is.
    pub async fn start_again(self, configure: impl FnOnce(&mut HostConfig)) -> TestHost {
        TestHost::start_on(self.dir, self._postgres, configure).await
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

impl TestHost {
    /// Starts a host with default limits.
    pub async fn start() -> Self {
        Self::start_with(|_| {}).await
    }

    /// Starts a host after `configure` adjusts its config.
    pub async fn start_with(configure: impl FnOnce(&mut HostConfig)) -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let postgres = PostgresDatabase::create().await;
        Self::start_on(dir, postgres, configure).await
    }

    /// Starts a host on `dir` and `postgres` (the embedded store in `dir`
    /// when `None`), new or left by a stopped host.
    async fn start_on(
        dir: tempfile::TempDir,
        postgres: Option<PostgresDatabase>,
        configure: impl FnOnce(&mut HostConfig),
    ) -> Self {
        let mut config = HostConfig::new(dir.path(), "127.0.0.1:0".parse().expect("addr"));
        config.admin_token = Some("test-platform-admin".to_owned());
        // The example plugins are packed unsigned; the signing tests turn this off.
        config.dev = true;
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

    /// A host with the demo community (Sunny Garden) and its map, and
    /// `plugin` installed there with the grants it requests and `config`:
    /// where a scene's end-to-end tests start. Answers the installation's id.
    pub async fn demo_with(plugin: &str, config: serde_json::Value) -> (Self, Community, String) {
        let host = Self::start().await;
        host.publish_package(crate::package_with(plugin, |m| m))
            .await;
        let c = host.community("sunny-garden").await;
        c.import_map(&crate::demo_community_map()).await.expect(200);
        let installation = c
            .install(plugin, crate::requested_grants(plugin), config)
            .await;
        (host, c, installation)
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

    /// The host's store, for what a test checks beneath the API (what
    /// erasure leaves behind).
    pub fn store(&self) -> &linli_host::db::Db {
        self.server.db()
    }

    /// The host's ledger key, as `linli ledger verify --key` takes it.
    pub async fn ledger_public_key(&self) -> String {
        self.admin
            .get("/api/v1/ledger/public-key")
            .await
            .expect(200)["public_key"]
            .as_str()
            .expect("a key")
            .to_owned()
    }

    /// Moves the clock and lets every installation see it.
    pub fn advance(&self, ms: i64) {
        self.clock.advance(ms);
        self.server.runtime().wake_all();
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
