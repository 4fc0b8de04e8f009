//! The plugin runtime: one wasmtime engine per host, each plugin version
//! compiled once (cached on disk) and pre-instantiated, and one
//! [`actor`](actor::Actor) per installation.
//!
//! The runtime knows nothing of the capabilities' insides: it links what
//! [`crate::caps::add_to_linker`] provides and hands each instance the
//! per-installation context.

pub mod actor;
pub mod engine;
mod guest_output;
pub mod installation;
pub mod instance;
pub mod mailbox;
pub mod progress;
pub mod source;

use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::{mpsc, oneshot, Notify};
use tokio::task::JoinHandle;
use wasmtime::component::Linker;
use wasmtime::Engine;

use crate::caps::Services;
use crate::ids::{CommunityId, InstallationId, PluginId};
use crate::registry::manifest::Manifest;
use crate::registry::signature::SignatureError;
use crate::registry::trust::TrustError;
use crate::registry::Package;
use crate::wit::linli::platform::events::Lifecycle;
use crate::wit::linli::platform::types::Caller;
use crate::wit::ScenePre;
use actor::{Actor, Shared};
use engine::ComponentCache;
pub use installation::{Installation, InstallationState};
use instance::InstanceState;
use mailbox::{CommandError, Message, Retried, RetryError, StartError};

/// Mailbox size of an installation actor; commands beyond it are refused as busy.
const MAILBOX: usize = 64;
/// How long a command waits for its installation before the caller is told it is busy.
const COMMAND_WAIT: Duration = Duration::from_secs(30);

/// Why a component cannot run as a scene on this host.
#[derive(Debug, thiserror::Error)]
pub enum PrepareError {
    #[error("plugin.wasm is not WebAssembly")]
    NotWasm,
    #[error(
        "plugin.wasm is a core WebAssembly module, not a component; build it for wasm32-wasip2"
    )]
    CoreModule,
    #[error("plugin.wasm does not compile: {0}")]
    Compile(String),
    #[error("the manifest declares api {manifest} but the component imports {import}")]
    ApiMismatch { manifest: String, import: String },
    #[error("the component imports {0}, which this host does not provide")]
    UnknownImport(String),
    #[error("the component does not implement the linli:platform scene world: {0}")]
    NotAScene(String),
}

/// Why the plugin version an installation names cannot be loaded.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error("plugin {plugin} {version} is not published")]
    NotPublished {
        plugin: PluginId,
        version: semver::Version,
    },
    /// Its signature or the key behind it no longer stands (checked on
    /// every load, not only on upload: a key revoked since, or a row
    /// changed in the database, stops the plugin here).
    #[error("plugin {plugin} {version} may not run: {reason}")]
    Untrusted {
        plugin: PluginId,
        version: semver::Version,
        reason: SignatureError,
    },
    #[error(transparent)]
    Prepare(#[from] PrepareError),
    #[error(transparent)]
    Store(#[from] sqlx::Error),
}

/// Why a new installation did not start.
#[derive(Debug, thiserror::Error)]
pub enum InstallError {
    /// The plugin would not start: its `init` refused the config, or failed.
    #[error("the plugin did not start: {0}")]
    Refused(StartError),
    #[error(transparent)]
    Load(#[from] LoadError),
    #[error(transparent)]
    Host(#[from] anyhow::Error),
}

/// What an installation's actor runs, prepared before the change that needs
/// it is written: the pre-instantiated component of its version, or nothing
/// for a suspended installation (it runs nothing until resumed, so a version
/// that may no longer be loaded can still be suspended).
pub struct Prepared(Option<ScenePre<InstanceState>>);

/// Why a command could not be run.
#[derive(Debug, thiserror::Error)]
pub enum DispatchError {
    #[error("the installation is not running")]
    NotRunning,
    #[error("the installation is busy; try again shortly")]
    Busy,
    #[error(transparent)]
    Command(#[from] CommandError),
}

struct ActorHandle {
    mailbox: mpsc::Sender<Message>,
    community: CommunityId,
    wake: Arc<Notify>,
    task: JoinHandle<()>,
}

/// The host's plugin runtime.
pub struct Runtime {
    shared: Shared,
    linker: Linker<InstanceState>,
    cache: Arc<ComponentCache>,
    /// Pre-instantiated components by digest.
    pres: Mutex<HashMap<String, ScenePre<InstanceState>>>,
    actors: Mutex<HashMap<InstallationId, ActorHandle>>,
    /// Whether a plugin version without a vendor signature may run (a
    /// development host).
    accept_unsigned: bool,
}

impl Runtime {
    /// A runtime whose compiled components are cached under `cache_dir`.
    pub fn new(
        cache_dir: &Path,
        max_memory_bytes: usize,
        services: Services,
    ) -> anyhow::Result<Self> {
        let engine = engine::new_engine(max_memory_bytes)?;
        let mut linker = Linker::new(&engine);
        wasmtime_wasi::p2::add_to_linker_async(&mut linker)?;
        crate::caps::add_to_linker(&mut linker)?;
        let cache = Arc::new(ComponentCache::open(cache_dir, &engine)?);
        Ok(Self {
            shared: Shared { engine, services },
            linker,
            cache,
            pres: Mutex::new(HashMap::new()),
            actors: Mutex::new(HashMap::new()),
            accept_unsigned: false,
        })
    }

    /// Lets plugin versions without a vendor signature run: a development host.
    pub fn accept_unsigned(mut self, accept: bool) -> Self {
        self.accept_unsigned = accept;
        self
    }

    /// The engine, for benchmarks and tools.
    pub fn engine(&self) -> &Engine {
        &self.shared.engine
    }

    /// Compiles (or loads from cache) and checks a package's component
    /// against its manifest and the scene world.
    pub async fn prepare(
        &self,
        package: &Package,
    ) -> Result<ScenePre<InstanceState>, PrepareError> {
        self.pre(&package.manifest, &package.digest, &package.component)
            .await
    }

    async fn pre(
        &self,
        manifest: &Manifest,
        digest: &str,
        bytes: &[u8],
    ) -> Result<ScenePre<InstanceState>, PrepareError> {
        if let Some(pre) = self.pres.lock().expect("pres lock").get(digest) {
            return Ok(pre.clone());
        }
        match bytes.get(0..8) {
            Some([0, b'a', b's', b'm', _, _, 1, 0]) => {}
            Some([0, b'a', b's', b'm', ..]) => return Err(PrepareError::CoreModule),
            _ => return Err(PrepareError::NotWasm),
        }
        let (engine, cache) = (self.shared.engine.clone(), self.cache.clone());
        let (digest_owned, bytes_owned) = (digest.to_owned(), bytes.to_vec());
        let component = tokio::task::spawn_blocking(move || {
            cache.load_or_compile(&engine, &digest_owned, &bytes_owned)
        })
        .await
        .map_err(|e| PrepareError::Compile(e.to_string()))?
        .map_err(|e| PrepareError::Compile(format!("{e:#}")))?;
        let api = format!("@{}", manifest.api);
        for (name, _) in component.component_type().imports(&self.shared.engine) {
            if name.starts_with("linli:platform/") && !name.ends_with(&api) {
                return Err(PrepareError::ApiMismatch {
                    manifest: manifest.api.to_string(),
                    import: name.to_owned(),
                });
            }
        }
        let pre = self
            .linker
            .instantiate_pre(&component)
            .map_err(|e| PrepareError::UnknownImport(format!("{e:#}")))?;
        let pre = ScenePre::new(pre).map_err(|e| PrepareError::NotAScene(format!("{e:#}")))?;
        self.pres
            .lock()
            .expect("pres lock")
            .insert(digest.to_owned(), pre.clone());
        Ok(pre)
    }

    /// What `installation`'s actor will run; a suspended installation's
    /// version is not loaded.
    pub async fn prepare_installation(
        &self,
        installation: &Installation,
    ) -> Result<Prepared, LoadError> {
        if installation.state == InstallationState::Suspended {
            return Ok(Prepared(None));
        }
        let (plugin, version) = (&installation.plugin, &installation.version);
        let stored = crate::registry::load(&self.shared.services.db, plugin, version)
            .await?
            .ok_or_else(|| LoadError::NotPublished {
                plugin: plugin.clone(),
                version: version.clone(),
            })?;
        match stored
            .check_trusted(&self.shared.services.db, self.accept_unsigned)
            .await
        {
            Ok(()) => {}
            Err(TrustError::Store(e)) => return Err(e.into()),
            Err(TrustError::Refused(reason)) => {
                return Err(LoadError::Untrusted {
                    plugin: plugin.clone(),
                    version: version.clone(),
                    reason,
                })
            }
        }
        let pre = self
            .pre(
                &stored.info.manifest,
                &stored.info.digest,
                &stored.component,
            )
            .await?;
        Ok(Prepared(Some(pre)))
    }

    /// Starts the actor of an installation already in the store.
    pub async fn start(&self, installation: Installation) -> Result<(), LoadError> {
        let Prepared(pre) = self.prepare_installation(&installation).await?;
        let (mailbox, rx) = mpsc::channel(MAILBOX);
        let wake = Arc::new(Notify::new());
        let id = installation.id.clone();
        let community = installation.community.clone();
        let span = tracing::info_span!("installation", installation = %id, plugin = %installation.plugin, community = %community);
        let actor = Actor::new(installation, pre, self.shared.clone(), wake.clone());
        let task = tokio::spawn(tracing::Instrument::instrument(actor.run(rx), span));
        let previous = self.actors.lock().expect("actors lock").insert(
            id,
            ActorHandle {
                mailbox,
                community,
                wake,
                task,
            },
        );
        if let Some(previous) = previous {
            previous.task.abort();
        }
        Ok(())
    }

    /// Starts a new installation and runs its first `init` and `installed`
    /// event; an error means the plugin refused to start (the actor is stopped).
    pub async fn install(&self, installation: Installation) -> Result<(), InstallError> {
        let id = installation.id.clone();
        self.start(installation).await?;
        let (reply, answer) = oneshot::channel();
        self.send(&id, Message::Install { reply })
            .await
            .map_err(anyhow::Error::from)?;
        let outcome = answer.await.unwrap_or(Err(StartError::Stopped));
        if outcome.is_err() {
            self.stop(&id).await;
        }
        outcome.map_err(InstallError::Refused)
    }

    /// Hands a changed installation, with what [`Runtime::prepare_installation`] made of
    /// it, to its actor, which restarts its instance.
    pub async fn reload(
        &self,
        installation: Installation,
        Prepared(pre): Prepared,
        lifecycle: Option<Lifecycle>,
    ) -> Result<(), DispatchError> {
        let id = installation.id.clone();
        self.send(
            &id,
            Message::Reload {
                installation: Box::new(installation),
                lifecycle,
                pre,
            },
        )
        .await
    }

    /// The mailbox of a running installation.
    fn mailbox(&self, id: &InstallationId) -> Result<mpsc::Sender<Message>, DispatchError> {
        self.actors
            .lock()
            .expect("actors lock")
            .get(id)
            .map(|a| a.mailbox.clone())
            .ok_or(DispatchError::NotRunning)
    }

    async fn send(&self, id: &InstallationId, message: Message) -> Result<(), DispatchError> {
        self.mailbox(id)?
            .send(message)
            .await
            .map_err(|_| DispatchError::NotRunning)
    }

    /// Stops an installation's actor after its current event.
    pub async fn stop(&self, id: &InstallationId) {
        let handle = self.actors.lock().expect("actors lock").remove(id);
        if let Some(handle) = handle {
            let _ = handle.mailbox.send(Message::Stop).await;
            let _ = handle.task.await;
        }
    }

    /// Stops every actor.
    pub async fn shutdown(&self) {
        let ids: Vec<InstallationId> = self
            .actors
            .lock()
            .expect("actors lock")
            .keys()
            .cloned()
            .collect();
        for id in ids {
            self.stop(&id).await;
        }
    }

    /// Tells every installation of `community` that new events are in the log.
    pub fn wake_community(&self, community: &CommunityId) {
        for handle in self.actors.lock().expect("actors lock").values() {
            if &handle.community == community {
                handle.wake.notify_one();
            }
        }
    }

    /// Wakes a community's installations whenever its feed gets new events
    /// (alarm changes they may watch), until the runtime is dropped.
    pub fn follow_feed(self: &Arc<Self>) -> JoinHandle<()> {
        let runtime = Arc::downgrade(self);
        let mut signals = self.shared.services.feed.subscribe();
        tokio::spawn(async move {
            loop {
                let signal = signals.recv().await;
                let Some(runtime) = runtime.upgrade() else {
                    return;
                };
                match signal {
                    Ok(community) => runtime.wake_community(&community),
                    Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => runtime.wake_all(),
                    Err(tokio::sync::broadcast::error::RecvError::Closed) => return,
                }
            }
        })
    }

    /// Tells every installation to look at the clock (after a test clock moved).
    pub fn wake_all(&self) {
        for handle in self.actors.lock().expect("actors lock").values() {
            handle.wake.notify_one();
        }
    }

    /// Runs a command on an installation for `caller`.
    /// Delivers dead letter `dead_letter`'s event to installation `id` again.
    pub async fn retry(
        &self,
        id: &InstallationId,
        dead_letter: i64,
    ) -> Result<Result<Retried, RetryError>, DispatchError> {
        let (reply, answer) = oneshot::channel();
        self.enqueue(id, Message::Retry { dead_letter, reply })?;
        Self::await_answer(answer).await
    }

    /// Hands `message` to installation `id`'s actor, refusing at once when
    /// its mailbox is full.
    fn enqueue(&self, id: &InstallationId, message: Message) -> Result<(), DispatchError> {
        self.mailbox(id)?.try_send(message).map_err(|e| match e {
            mpsc::error::TrySendError::Full(_) => DispatchError::Busy,
            mpsc::error::TrySendError::Closed(_) => DispatchError::NotRunning,
        })
    }

    /// The actor's answer, or busy after [`COMMAND_WAIT`].
    async fn await_answer<T>(answer: oneshot::Receiver<T>) -> Result<T, DispatchError> {
        match tokio::time::timeout(COMMAND_WAIT, answer).await {
            Ok(Ok(result)) => Ok(result),
            Ok(Err(_)) => Err(DispatchError::NotRunning),
            Err(_) => Err(DispatchError::Busy),
        }
    }

    pub async fn command(
        &self,
        id: &InstallationId,
        caller: Caller,
        name: String,
        input: String,
    ) -> Result<String, DispatchError> {
        let (reply, answer) = oneshot::channel();
        let message = Message::Command {
            caller,
            name,
            input,
            reply,
        };
        self.enqueue(id, message)?;
        Ok(Self::await_answer(answer).await??)
    }
}
