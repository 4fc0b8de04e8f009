//! One live plugin instance: its wasmtime store (with every capability's
//! per-instance state), its sandbox limits, and guarded calls into it.
//!
//! The sandbox: WASI with no preopened directories, no environment, no
//! arguments and no network; stdout and stderr become log lines tagged with
//! the installation, and what a failing call wrote to stderr (a Rust
//! guest's panic message and location) joins its failure. Linear memory is capped by [`Limiter`]; each call has a
//! wall-clock budget enforced through epoch interruption. Any trap ends the
//! instance — the actor drops it and the next event gets a fresh one.

use std::sync::Arc;
use std::time::{Duration, Instant};

use wasmtime::component::ResourceTable;
use wasmtime::{Engine, ResourceLimiter, Store, UpdateDeadline};
use wasmtime_wasi::{WasiCtx, WasiCtxBuilder, WasiCtxView, WasiView};

use super::guest_output::{CallStderr, GuestOutput};
use crate::caps::{InstallationContext, InstanceCaps, Services};
use crate::limits::Limits;
use crate::wit::linli::platform::events::Event;
use crate::wit::linli::platform::types::{Caller, Error as WitError};
use crate::wit::{Scene, ScenePre};

/// The data of a plugin's wasmtime store.
pub struct InstanceState {
    pub caps: InstanceCaps,
    wasi: WasiCtx,
    table: ResourceTable,
    limiter: Limiter,
    call_started: Instant,
    call_budget: Duration,
    /// What the running call wrote to stderr.
    call_stderr: CallStderr,
}

impl crate::caps::CapsView for InstanceState {
    fn caps(&mut self) -> &mut InstanceCaps {
        &mut self.caps
    }
}

impl WasiView for InstanceState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}

/// Caps an instance's linear memory at its installation's limit.
struct Limiter {
    max_memory: usize,
}

/// A call ran past its wall-clock budget.
#[derive(Debug, thiserror::Error)]
#[error("the call ran past its {0:?} deadline")]
struct DeadlineExceeded(Duration);

/// An instance tried to grow its memory past the cap.
#[derive(Debug, thiserror::Error)]
#[error("the instance asked for {desired} bytes of memory; its limit is {limit}")]
struct MemoryLimitExceeded {
    desired: usize,
    limit: usize,
}

impl ResourceLimiter for Limiter {
    fn memory_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        if desired > self.max_memory {
            return Err(MemoryLimitExceeded {
                desired,
                limit: self.max_memory,
            }
            .into());
        }
        Ok(true)
    }

    fn table_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        Ok(desired <= 100_000)
    }
}

/// Why a call into a plugin did not return.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CallFailure {
    #[error("trap: {0}")]
    Trap(String),
    #[error("deadline: {0}")]
    Deadline(String),
    #[error("memory limit: {0}")]
    MemoryLimit(String),
    #[error("instantiation failed: {0}")]
    Instantiate(String),
    /// A shared resource stayed busy; the call is to be made again later.
    #[error("contended: {0}")]
    Contended(String),
}

impl CallFailure {
    /// Short reason, as in metrics and dead letters.
    pub fn reason(&self) -> &'static str {
        match self {
            CallFailure::Trap(_) => "trap",
            CallFailure::Deadline(_) => "deadline",
            CallFailure::MemoryLimit(_) => "memory-limit",
            CallFailure::Instantiate(_) => "instantiate",
            CallFailure::Contended(_) => "contended",
        }
    }

    fn classify(error: wasmtime::Error) -> Self {
        if let Some(deadline) = error.downcast_ref::<DeadlineExceeded>() {
            return CallFailure::Deadline(deadline.to_string());
        }
        if let Some(memory) = error.downcast_ref::<MemoryLimitExceeded>() {
            return CallFailure::MemoryLimit(memory.to_string());
        }
        CallFailure::Trap(format!("{error:#}"))
    }
}

/// What a guarded call produced: the plugin's own result, or a failure that ended the instance.
pub type CallResult<T> = Result<Result<T, WitError>, CallFailure>;

/// A live instance of an installation's plugin.
pub struct Instance {
    store: Store<InstanceState>,
    scene: Scene,
}

impl Instance {
    /// Instantiates `pre` for the installation `ctx` under `limits`.
    pub async fn new(
        engine: &Engine,
        pre: &ScenePre<InstanceState>,
        ctx: Arc<InstallationContext>,
        services: &Services,
        limits: Limits,
    ) -> Result<Self, CallFailure> {
        let call_stderr = CallStderr::default();
        let wasi = WasiCtxBuilder::new()
            .stdout(GuestOutput::stdout(ctx.clone()))
            .stderr(GuestOutput::stderr(ctx.clone(), call_stderr.clone()))
            .build();
        let state = InstanceState {
            caps: InstanceCaps::new(ctx, services),
            wasi,
            table: ResourceTable::new(),
            limiter: Limiter {
                max_memory: limits.memory_mib as usize * 1024 * 1024,
            },
            call_started: Instant::now(),
            call_budget: Duration::from_millis(u64::from(limits.call_timeout_ms)),
            call_stderr,
        };
        let mut store = Store::new(engine, state);
        store.limiter(|s| &mut s.limiter);
        store.epoch_deadline_callback(|mut store| {
            let state = store.data_mut();
            // Time spent waiting for a shared resource is another
            // plugin's, not this call's.
            let spent = state
                .call_started
                .elapsed()
                .saturating_sub(state.caps.waited());
            if spent >= state.call_budget {
                Err(DeadlineExceeded(state.call_budget).into())
            } else {
                Ok(UpdateDeadline::Yield(1))
            }
        });
        store.set_epoch_deadline(1);
        let scene =
            pre.instantiate_async(&mut store).await.map_err(|e| {
                match CallFailure::classify(e) {
                    CallFailure::Trap(msg) => CallFailure::Instantiate(msg),
                    other => other,
                }
            })?;
        Ok(Self { store, scene })
    }

    /// The capabilities' per-instance state, to commit or discard effects.
    pub fn caps(&mut self) -> &mut InstanceCaps {
        &mut self.store.data_mut().caps
    }

    fn start_call(&mut self) {
        self.store.data_mut().call_started = Instant::now();
        self.store.data_mut().call_stderr.clear();
        self.store.data_mut().caps.begin_call();
        self.store.set_epoch_deadline(1);
    }

    /// A backstop above the epoch deadline, for a host call that never
    /// returns; room is left for a wait on the ledger's writer lock.
    fn backstop(&self) -> Duration {
        self.store.data().call_budget + crate::caps::ledger::LOCK_WAIT + Duration::from_secs(10)
    }

    async fn guard<T>(
        backstop: Duration,
        call: impl std::future::Future<Output = wasmtime::Result<Result<T, WitError>>>,
    ) -> CallResult<T> {
        match tokio::time::timeout(backstop, call).await {
            Ok(Ok(result)) => Ok(result),
            Ok(Err(error)) => Err(CallFailure::classify(error)),
            Err(_) => Err(CallFailure::Deadline(format!(
                "no answer within {backstop:?}"
            ))),
        }
    }

    /// Calls `init` with the installation's config.
    pub async fn init(&mut self, config: &str) -> CallResult<()> {
        self.start_call();
        let backstop = self.backstop();
        let result = Self::guard(backstop, self.scene.call_init(&mut self.store, config)).await;
        self.settle(result)
    }

    /// Calls `on-event`.
    pub async fn on_event(&mut self, event: &Event) -> CallResult<()> {
        self.start_call();
        let backstop = self.backstop();
        let result = Self::guard(backstop, self.scene.call_on_event(&mut self.store, event)).await;
        self.settle(result)
    }

    /// Calls `on-command`.
    pub async fn on_command(
        &mut self,
        caller: &Caller,
        name: &str,
        input: &str,
    ) -> CallResult<String> {
        self.start_call();
        let backstop = self.backstop();
        let result = Self::guard(
            backstop,
            self.scene
                .call_on_command(&mut self.store, caller, name, input),
        )
        .await;
        self.settle(result)
    }

    /// A call that gave up on a busy shared resource is to be made again,
    /// whatever the plugin made of the error (even a trap from unwrapping it).
    fn settle<T>(&mut self, result: CallResult<T>) -> CallResult<T> {
        if self.store.data_mut().caps.contended() {
            return Err(CallFailure::Contended(
                "the community's ledger stayed busy".to_owned(),
            ));
        }
        match result {
            // A trap says where the code stopped; what the guest wrote to
            // stderr just before says why (a Rust panic's message and line).
            Err(CallFailure::Trap(trap)) => match self.store.data().call_stderr.text() {
                Some(stderr) => Err(CallFailure::Trap(format!("{stderr}\n{trap}"))),
                None => Err(CallFailure::Trap(trap)),
            },
            other => other,
        }
    }
}
