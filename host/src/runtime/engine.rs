//! The one wasmtime [`Engine`] of a host and the on-disk cache of compiled
//! components.
//!
//! The engine uses the pooling allocator (instantiation in microseconds),
//! async support (host calls await the store without blocking a thread) and
//! epoch interruption: a background thread ticks the epoch every
//! [`EPOCH_TICK`], and each call's deadline callback yields to the executor
//! on every tick (so a spinning plugin shares the cores) and traps once the
//! call's wall-clock budget is spent.

use std::hash::{Hash, Hasher};
use std::path::Path;
use std::time::Duration;

use cap_std::ambient_authority;
use cap_std::fs::Dir;
use wasmtime::component::Component;
use wasmtime::{Config, Enabled, Engine, InstanceAllocationStrategy, PoolingAllocationConfig};

/// How often the epoch advances; the granularity of call deadlines.
pub const EPOCH_TICK: Duration = Duration::from_millis(5);

/// How many plugin instances may be alive at once on a host.
pub const MAX_INSTANCES: u32 = 1000;

/// At most this much of a dropped instance's dirtied linear memory is reset
/// in place and kept resident for the next instance; beyond it the rest of
/// the slot is decommitted. A scene's working set on a typical event is a few
/// pages of stack, data and heap, well under it.
const KEEP_RESIDENT_MEMORY_BYTES: usize = 1 << 20;

/// The same for a dropped instance's tables (function references).
const KEEP_RESIDENT_TABLE_BYTES: usize = 64 << 10;

/// Builds the engine. `max_memory_bytes` is the most linear memory any one
/// instance may be given; per-installation limits are enforced below it.
pub fn new_engine(max_memory_bytes: usize) -> wasmtime::Result<Engine> {
    let mut pool = PoolingAllocationConfig::default();
    pool.total_component_instances(MAX_INSTANCES)
        .total_core_instances(MAX_INSTANCES * 4)
        .total_memories(MAX_INSTANCES * 2)
        .total_tables(MAX_INSTANCES * 4)
        .max_memory_size(max_memory_bytes);
    if PoolingAllocationConfig::is_pagemap_scan_available() {
        // Reset a dropped instance's slot by rewriting only the pages it
        // dirtied (found with the PAGEMAP_SCAN ioctl, Linux 6.7+) instead of
        // `madvise`-ing the whole slot away: no syscall to decommit on drop
        // and no page faults when the next instance touches the same pages.
        // Without the scan these sizes would `memset` whole regions on every
        // drop, which costs more than it saves, so they stay at 0 there.
        pool.pagemap_scan(Enabled::Yes)
            .linear_memory_keep_resident(KEEP_RESIDENT_MEMORY_BYTES)
            .table_keep_resident(KEEP_RESIDENT_TABLE_BYTES);
    }
    let mut config = Config::new();
    config
        .wasm_component_model(true)
        .epoch_interruption(true)
        .allocation_strategy(InstanceAllocationStrategy::Pooling(pool));
    let engine = Engine::new(&config)?;
    start_epoch_ticker(&engine);
    Ok(engine)
}

/// Ticks the engine's epoch until the engine is dropped.
fn start_epoch_ticker(engine: &Engine) {
    let weak = engine.weak();
    std::thread::Builder::new()
        .name("linli-epoch".to_owned())
        .spawn(move || {
            while let Some(engine) = weak.upgrade() {
                engine.increment_epoch();
                drop(engine);
                std::thread::sleep(EPOCH_TICK);
            }
        })
        .expect("spawning the epoch thread");
}

/// Compiled components on disk, keyed by component digest and engine
/// compatibility, so each plugin version is compiled once per host build.
pub struct ComponentCache {
    dir: Dir,
    compatibility: u64,
}

impl ComponentCache {
    /// Opens (creating) the cache directory.
    pub fn open(path: &Path, engine: &Engine) -> std::io::Result<Self> {
        std::fs::create_dir_all(path)?;
        let mut hasher = std::collections::hash_map::DefaultHasher::new();
        engine.precompile_compatibility_hash().hash(&mut hasher);
        Ok(Self {
            dir: Dir::open_ambient_dir(path, ambient_authority())?,
            compatibility: hasher.finish(),
        })
    }

    /// The compiled component for `bytes` (whose SHA-256 is `digest`), from the cache or freshly compiled.
    pub fn load_or_compile(
        &self,
        engine: &Engine,
        digest: &str,
        bytes: &[u8],
    ) -> wasmtime::Result<Component> {
        let name = format!("{digest}-{:016x}.cwasm", self.compatibility);
        if let Ok(compiled) = self.dir.read(&name) {
            // SAFETY: the cache holds only artifacts this host serialized; the
            // data dir is trusted like the store beside it. A stale or foreign
            // artifact fails wasmtime's own compatibility check and is rebuilt.
            match unsafe { Component::deserialize(engine, &compiled) } {
                Ok(component) => return Ok(component),
                Err(e) => tracing::warn!(%digest, "recompiling: cached artifact unusable: {e}"),
            }
        }
        let started = std::time::Instant::now();
        let component = Component::new(engine, bytes)?;
        tracing::info!(%digest, elapsed_ms = started.elapsed().as_millis() as u64, "component compiled");
        let tmp = format!("{name}.tmp");
        let written = component
            .serialize()
            .and_then(|artifact| Ok(self.dir.write(&tmp, artifact)?))
            .and_then(|()| Ok(self.dir.rename(&tmp, &self.dir, &name)?));
        if let Err(e) = written {
            tracing::warn!(%digest, "could not cache the compiled component: {e}");
        }
        Ok(component)
    }
}
