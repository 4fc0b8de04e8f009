//! Starting and stopping a host: open the store, make sure a platform admin
//! can get in, build the runtime, restart every installation, start the
//! ingest writer, the retention purge, the notification worker and the MQTT
//! bridge, serve HTTP.

use std::net::SocketAddr;
use std::sync::Arc;

use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use crate::api::AppState;
use crate::auth::{self, Role, TokenSpec};
use crate::caps::ledger::log::LedgerService;
use crate::caps::map::MapService;
use crate::caps::notify::dispatch::NotifyService;
use crate::caps::Services;
use crate::clock::SharedClock;
use crate::config::HostConfig;
use crate::feed::Feed;
use crate::ingest::writer::LogWriter;
use crate::ingest::{mqtt, retention, Ingest, LogFollowers};
use crate::metrics::Metrics;
use crate::monitor::Monitor;
use crate::runtime::{installation, LoadError, Runtime};

/// A running host.
pub struct Server {
    /// Where the API listens.
    pub addr: SocketAddr,
    /// The platform-admin token, when this start generated one (first start without `LINLI_ADMIN_TOKEN`).
    pub generated_admin_token: Option<String>,
    state: AppState,
    stop: Option<oneshot::Sender<()>>,
    task: JoinHandle<std::io::Result<()>>,
    /// The MQTT bridge, when configured: stopped before HTTP.
    mqtt: Option<JoinHandle<()>>,
    /// The ingest writer and the retention purge: stopped after HTTP.
    background: Vec<JoinHandle<()>>,
    monitor_task: JoinHandle<()>,
}

impl Server {
    /// Starts a host with `config` on `clock`.
    pub async fn start(config: HostConfig, clock: SharedClock) -> anyhow::Result<Self> {
        let mqtt_options = config
            .mqtt
            .as_deref()
            .map(mqtt::options)
            .transpose()
            .map_err(anyhow::Error::msg)?;
        std::fs::create_dir_all(&config.data_dir)?;
        let url = config
            .database_url
            .clone()
            .unwrap_or_else(|| crate::db::sqlite_url(&config.data_dir));
        let db = crate::db::open(&url).await?;
        let checkpointer = crate::db::spawn_checkpointer(&db);
        let generated_admin_token =
            bootstrap_admin(&db, config.admin_token.as_deref(), clock.now()).await?;
        let ledger = Arc::new(LedgerService::open(&config.data_dir)?);
        let metrics = Arc::new(Metrics::new());
        let feed = Arc::new(Feed::new());
        let map = Arc::new(MapService::new(db.clone()));
        let notify = Arc::new(NotifyService::new(
            db.clone(),
            clock.clone(),
            map.clone(),
            metrics.clone(),
            config.notify.clone(),
        ));
        let notify_task = notify.spawn();
        let services = Services {
            db: db.clone(),
            clock: clock.clone(),
            metrics: metrics.clone(),
            ledger,
            feed: feed.clone(),
            map,
            notify,
            log_tails: Default::default(),
        };
        let runtime = Arc::new(
            Runtime::new(
                &config.data_dir.join("cache"),
                config.max_limits.memory_mib as usize * 1024 * 1024,
                services.clone(),
            )?
            .accept_unsigned(config.dev),
        );
        runtime.follow_feed();
        let monitor = Arc::new(Monitor::new(db.clone(), clock.clone(), feed.clone()));
        let monitor_task = monitor.spawn();
        for installation in installation::list(&db, None).await? {
            start_installation(&runtime, &db, clock.now(), installation).await?;
        }
        let (writer, writer_task) = LogWriter::spawn(db.clone());
        let followers = LogFollowers {
            runtime: runtime.clone(),
            monitor: monitor.clone(),
            feed: feed.clone(),
        };
        let ingest = Arc::new(Ingest::new(
            db.clone(),
            clock.clone(),
            metrics.clone(),
            followers,
            writer,
        ));
        let purge_task = retention::spawn(
            db.clone(),
            clock.clone(),
            metrics.clone(),
            config.purge_interval,
        );
        let erasure_task = crate::caps::privacy::erasure::spawn_finisher(db.clone(), clock.clone());
        let mqtt = mqtt_options
            .map(|options| mqtt::spawn(options, ingest.clone(), db.clone(), metrics.clone()));
        let listener = TcpListener::bind(config.listen).await?;
        let addr = listener.local_addr()?;
        let state = AppState {
            services,
            runtime,
            config: Arc::new(config),
            ingest,
            monitor,
            streams: Default::default(),
        };
        let app = crate::api::router(state.clone());
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            axum::serve(listener, app)
                .with_graceful_shutdown(async {
                    let _ = stopped.await;
                })
                .await
        });
        tracing::info!(%addr, "linli host listening");
        Ok(Self {
            addr,
            generated_admin_token,
            state,
            stop: Some(stop),
            task,
            mqtt,
            background: [writer_task, purge_task, notify_task, erasure_task]
                .into_iter()
                .chain(checkpointer)
                .collect(),
            monitor_task,
        })
    }

    /// The base URL of the API, e.g. `http://127.0.0.1:8080`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The host's runtime, for tests and benchmarks that drive it directly.
    pub fn runtime(&self) -> &Arc<Runtime> {
        &self.state.runtime
    }

    /// The host's store, for tools that run a host of their own and read
    /// what the API does not show (`linli plugin test` waits for due timers).
    pub fn db(&self) -> &crate::db::Db {
        &self.state.services.db
    }

    /// Stops serving, lets each installation finish its current event, and closes the store.
    pub async fn shutdown(mut self) -> anyhow::Result<()> {
        if let Some(mqtt) = self.mqtt.take() {
            mqtt.abort();
        }
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        (&mut self.task).await??;
        // HTTP has drained: no batch waits on the writer any more.
        for task in self.background.drain(..) {
            task.abort();
        }
        self.monitor_task.abort();
        self.state.runtime.shutdown().await;
        self.state.services.db.close().await;
        Ok(())
    }

    /// Waits until the server stops on its own (it does not, short of an error).
    pub async fn wait(&mut self) -> anyhow::Result<()> {
        Ok((&mut self.task).await??)
    }
}

/// Makes sure a platform admin can log in: stores `LINLI_ADMIN_TOKEN` if
/// given, or, on a store with no platform admin yet, generates a token and
/// returns it so it can be shown once.
async fn bootstrap_admin(
    db: &crate::db::Db,
    token: Option<&str>,
    now: i64,
) -> anyhow::Result<Option<String>> {
    let spec = TokenSpec {
        role: Role::PlatformAdmin,
        community: None,
        subject: "bootstrap-admin",
        person: None,
    };
    if let Some(token) = token {
        if auth::authenticate(db, token).await?.is_none() {
            auth::store_token(db, &spec, token, now).await?;
        }
        return Ok(None);
    }
    let admins: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM tokens WHERE role = $1 AND revoked_at IS NULL")
            .bind(Role::PlatformAdmin.as_str())
            .fetch_one(db)
            .await?;
    if admins > 0 {
        return Ok(None);
    }
    let secret = auth::new_secret();
    auth::store_token(db, &spec, &secret, now).await?;
    Ok(Some(secret))
}

/// Starts an installation's actor as the host starts. One whose version
/// may no longer run (its key was revoked while the host was down, or its
/// stored signature no longer checks) is suspended, with the reason on its
/// record, rather than left active with nothing running.
async fn start_installation(
    runtime: &Runtime,
    db: &crate::db::Db,
    now: i64,
    mut installation: installation::Installation,
) -> Result<(), sqlx::Error> {
    let id = installation.id.clone();
    match runtime.start(installation.clone()).await {
        Ok(()) => {}
        Err(untrusted @ LoadError::Untrusted { .. }) => {
            tracing::warn!(installation = %id, "installation suspended: {untrusted}");
            installation.state = installation::InstallationState::Suspended;
            installation.state_reason = Some(untrusted.to_string());
            installation.updated_at = now;
            installation::update(db, &installation).await?;
            if let Err(e) = runtime.start(installation).await {
                tracing::error!(installation = %id, "cannot start installation: {e}");
            }
        }
        Err(e) => tracing::error!(installation = %id, "cannot start installation: {e}"),
    }
    Ok(())
}
