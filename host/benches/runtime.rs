//! The runtime benchmark: what it costs the host to run a scene plugin.
//!
//! Run it with `cargo xtask bench`, which builds the plugins first; anything
//! after `bench` goes to criterion (for example a group name as a filter).
//! It measures three figures, one criterion group each, on the `bench-scene`
//! plugin, whose `on-event` makes exactly one host call (`timer::now()`) and
//! updates a few in-memory sums:
//!
//! - `instantiate`: [`Instance::new`] from the plugin's `ScenePre` (wasmtime's
//!   `InstancePre`) on the host's pooling allocator: a new store with its
//!   limits, WASI context and capability state, then instantiation. Dropping
//!   the instance, which hands its slot back to the pool, is not timed.
//!   Target: median under 10 µs. The same group also times the whole cycle,
//!   instantiation and drop, without a target: the pool resets an instance's
//!   memory when it is dropped, and pool settings can move cost between the
//!   two halves, so the cycle keeps the first figure honest.
//! - `on-event`: one `on-event` call with a reading on a warm instance,
//!   through [`Instance::on_event`] as the installation actor makes it
//!   (deadline, backstop timer, lowering the event, the host call, the
//!   result). Target: median under 2 µs.
//! - `on-event-native`: the same logic compiled natively, as the baseline:
//!   the event is the same owned record, cloned per call as the guest gets its
//!   own copy, and the clock is read through a `dyn Clock` as the host call
//!   does. The summary reports the wasm/native ratio.
//!
//! Criterion's medians are not easily read back from inside the benchmark,
//! so after criterion has run, the summary times every figure again in the
//! same process with the same timed loops, and prints the median over
//! [`SUMMARY_SAMPLES`] samples of [`SUMMARY_ITERATIONS`] iterations each,
//! its target, PASS or MISS, and the ratio. Calls run on a current-thread
//! tokio runtime, each timed loop inside one `block_on`. Under `cargo test`
//! criterion only checks that each benchmark runs, and the summary is skipped.

use std::hint::black_box;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use criterion::Criterion;
use linli_host::caps::ledger::log::LedgerService;
use linli_host::caps::{InstallationContext, Services};
use linli_host::clock::{Clock, Millis, SharedClock};
use linli_host::metrics::Metrics;
use linli_host::registry::package;
use linli_host::runtime::instance::{Instance, InstanceState};
use linli_host::runtime::Runtime;
use linli_host::wit::linli::platform::events::Event;
use linli_host::wit::linli::platform::sensor::{Reading, Value};
use linli_host::wit::ScenePre;
use linli_host::{HostConfig, SystemClock};
use tokio::runtime::Runtime as Tokio;

/// Samples the summary takes of each figure.
const SUMMARY_SAMPLES: usize = 21;
/// Iterations timed together in one summary sample.
const SUMMARY_ITERATIONS: u64 = 10_000;
/// Median instantiation time the runtime promises.
const INSTANTIATE_TARGET: Duration = Duration::from_micros(10);
/// Median warm `on-event` time (one host call) the runtime promises.
const ON_EVENT_TARGET: Duration = Duration::from_micros(2);

/// A host runtime with bench-scene prepared, and what an installation of it gets.
struct Fixture {
    tokio: Tokio,
    runtime: Runtime,
    pre: ScenePre<InstanceState>,
    ctx: Arc<InstallationContext>,
    services: Services,
    config: HostConfig,
    /// Holds the store and the compile cache; removed on drop.
    _data_dir: tempfile::TempDir,
}

impl Fixture {
    /// Packs bench-scene, opens a store and a runtime like `linli serve`
    /// with default limits, and prepares the plugin.
    fn new() -> Self {
        let tokio = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a tokio runtime");
        let data_dir = tempfile::tempdir().expect("a temporary data dir");
        let config = HostConfig::new(data_dir.path(), SocketAddr::from(([127, 0, 0, 1], 0)));
        let package = package::unpack(&bench_scene_package()).expect("bench-scene unpacks");
        let clock: SharedClock = Arc::new(SystemClock);
        let metrics = Arc::new(Metrics::new());
        let ledger =
            Arc::new(LedgerService::open(&config.data_dir).expect("the ledger key is created"));
        let (runtime, pre, ctx, services) = tokio.block_on(async {
            let db = linli_host::db::open(&linli_host::db::sqlite_url(&config.data_dir))
                .await
                .expect("the store opens");
            let map = Arc::new(linli_host::caps::map::MapService::new(db.clone()));
            let notify = Arc::new(linli_host::caps::notify::dispatch::NotifyService::new(
                db.clone(),
                clock.clone(),
                map.clone(),
                metrics.clone(),
                Default::default(),
            ));
            let services = Services {
                db: db.clone(),
                clock: clock.clone(),
                metrics: metrics.clone(),
                ledger,
                feed: Arc::new(linli_host::feed::Feed::new()),
                map,
                notify,
                log_tails: Default::default(),
            };
            let runtime = Runtime::new(
                &config.data_dir.join("cache"),
                config.max_limits.memory_mib as usize * 1024 * 1024,
                services.clone(),
            )
            .expect("the runtime starts");
            let pre = runtime
                .prepare(&package)
                .await
                .expect("bench-scene is a scene");
            let ctx = Arc::new(InstallationContext {
                installation: "bench-installation".into(),
                community: "bench-community".parse().expect("a valid community id"),
                plugin: package.manifest.id.clone(),
                grants: package.manifest.capabilities.clone(),
                db,
                clock,
                metrics: metrics.installation(
                    "bench-community",
                    package.manifest.id.as_str(),
                    "bench-installation",
                ),
                quotas: linli_host::caps::quota::Quotas::new(
                    linli_host::limits::Limits::default(),
                    metrics.installation(
                        "bench-community",
                        package.manifest.id.as_str(),
                        "bench-installation",
                    ),
                ),
                log_tail: Default::default(),
            });
            (runtime, pre, ctx, services)
        });
        Self {
            tokio,
            runtime,
            pre,
            ctx,
            services,
            config,
            _data_dir: data_dir,
        }
    }

    /// A fresh instance under the default limits, as the installation actor makes it.
    async fn instantiate(&self) -> Instance {
        Instance::new(
            self.runtime.engine(),
            &self.pre,
            self.ctx.clone(),
            &self.services,
            self.config.default_limits,
        )
        .await
        .expect("bench-scene instantiates")
    }

    /// An instance that has run `init` and handled a first event.
    fn warm_instance(&self, event: &Event) -> Instance {
        self.tokio.block_on(async {
            let mut instance = self.instantiate().await;
            let initialised = instance.init("{}").await;
            assert!(
                matches!(initialised, Ok(Ok(()))),
                "init failed: {initialised:?}"
            );
            let handled = instance.on_event(event).await;
            assert!(
                matches!(handled, Ok(Ok(()))),
                "on-event failed: {handled:?}"
            );
            instance
        })
    }
}

/// The bench-scene package, built from the component `cargo xtask plugins` leaves in `target/wasm`.
fn bench_scene_package() -> Vec<u8> {
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the host crate is inside the workspace");
    let component = workspace.join("target/wasm/wasm32-wasip2/plugin/bench_scene.wasm");
    assert!(
        component.exists(),
        "{} is missing: run the benchmark with `cargo xtask bench`, which builds the plugins first",
        component.display()
    );
    package::pack(
        &workspace.join("examples/bench-scene/linli.toml"),
        &component,
    )
    .expect("bench-scene packs")
}

/// A temperature reading as the actor delivers it, measured a second ago.
fn reading_event() -> Event {
    Event::Reading(Reading {
        device: "thermometer-b2-3f".to_owned(),
        kind: "temperature".to_owned(),
        value: Value::Number(21.5),
        unit: Some("°C".to_owned()),
        at: SystemClock.now() - 1000,
        location: Some("building-2/floor-3".to_owned()),
    })
}

/// Times `iterations` instantiations, each followed by an untimed drop.
async fn time_instantiations(fixture: &Fixture, iterations: u64) -> Duration {
    let mut timed = Duration::ZERO;
    for _ in 0..iterations {
        let started = Instant::now();
        let instance = fixture.instantiate().await;
        timed += started.elapsed();
        drop(black_box(instance));
    }
    timed
}

/// Times `iterations` instantiations together with their drops.
async fn time_instance_cycles(fixture: &Fixture, iterations: u64) -> Duration {
    let started = Instant::now();
    for _ in 0..iterations {
        drop(black_box(fixture.instantiate().await));
    }
    started.elapsed()
}

/// Times `iterations` `on-event` calls with `event` on a warm instance.
async fn time_wasm_events(instance: &mut Instance, event: &Event, iterations: u64) -> Duration {
    let started = Instant::now();
    for _ in 0..iterations {
        let handled = instance.on_event(black_box(event)).await;
        assert!(
            matches!(handled, Ok(Ok(()))),
            "on-event failed: {handled:?}"
        );
    }
    started.elapsed()
}

/// Times `iterations` calls of the native baseline with a copy of `event` each.
fn time_native_events(
    scene: &mut NativeBenchScene,
    clock: &dyn Clock,
    event: &Event,
    iterations: u64,
) -> Duration {
    let started = Instant::now();
    for _ in 0..iterations {
        black_box(&mut *scene).on_event(black_box(clock), black_box(event.clone()));
    }
    started.elapsed()
}

/// bench-scene's `on-event`, compiled natively: what the same work costs without the sandbox.
#[derive(Default)]
struct NativeBenchScene {
    /// Readings handled.
    count: u64,
    /// The sum of their numeric values; other values add nothing.
    sum: f64,
    /// The largest `now - reading.at` seen, in milliseconds; `None` before the first reading.
    max_lag_ms: Option<Millis>,
}

impl NativeBenchScene {
    /// Reads the clock once and records the reading, as the plugin does.
    /// Never inlined: the host's call into a plugin is a real call too.
    #[inline(never)]
    fn on_event(&mut self, clock: &dyn Clock, event: Event) {
        let Event::Reading(reading) = event else {
            return;
        };
        let lag_ms = clock.now() - reading.at;
        let value = match reading.value {
            Value::Number(number) => number,
            Value::Flag(_) | Value::Text(_) => 0.0,
        };
        self.count += 1;
        self.sum += value;
        self.max_lag_ms = Some(self.max_lag_ms.map_or(lag_ms, |max| max.max(lag_ms)));
    }
}

/// The median time per iteration over [`SUMMARY_SAMPLES`] runs of `time` with [`SUMMARY_ITERATIONS`] each.
fn median_per_iteration(mut time: impl FnMut(u64) -> Duration) -> Duration {
    let mut samples: Vec<Duration> = (0..SUMMARY_SAMPLES)
        .map(|_| time(SUMMARY_ITERATIONS) / SUMMARY_ITERATIONS as u32)
        .collect();
    samples.sort();
    samples[SUMMARY_SAMPLES / 2]
}

/// Criterion settings that keep the whole run well under three minutes.
fn configure(group: &mut criterion::BenchmarkGroup<'_, criterion::measurement::WallTime>) {
    group
        .warm_up_time(Duration::from_secs(2))
        .measurement_time(Duration::from_secs(10))
        .sample_size(50);
}

/// Whether criterion was asked to measure (`cargo bench`), not just to check that benchmarks run.
fn measuring() -> bool {
    let args: Vec<String> = std::env::args().collect();
    let has = |flag: &str| args.iter().any(|arg| arg == flag);
    has("--bench") && !has("--test") && !has("--list")
}

/// A short duration in the unit that reads best.
fn readable(duration: Duration) -> String {
    let nanos = duration.as_nanos();
    if nanos < 1000 {
        format!("{nanos} ns")
    } else {
        format!("{:.2} µs", duration.as_secs_f64() * 1e6)
    }
}

/// One line of the summary: a figure, its median, and its target when it has one.
fn summary_line(figure: &str, median: Duration, target: Option<Duration>) {
    let (target, verdict) = match target {
        Some(target) if median < target => (format!("< {}", readable(target)), "PASS"),
        Some(target) => (format!("< {}", readable(target)), "MISS"),
        None => ("-".to_owned(), "-"),
    };
    println!(
        "{figure:<40} {:>10} {target:>10} {verdict:>6}",
        readable(median)
    );
}

fn main() {
    let fixture = Fixture::new();
    let event = reading_event();
    let mut instance = fixture.warm_instance(&event);
    let mut native = NativeBenchScene::default();
    let clock: SharedClock = Arc::new(SystemClock);

    let mut criterion = Criterion::default().configure_from_args();
    {
        let mut group = criterion.benchmark_group("instantiate");
        configure(&mut group);
        group.bench_function("bench-scene", |b| {
            b.iter_custom(|iterations| {
                fixture
                    .tokio
                    .block_on(time_instantiations(&fixture, iterations))
            })
        });
        group.bench_function("bench-scene-with-drop", |b| {
            b.iter_custom(|iterations| {
                fixture
                    .tokio
                    .block_on(time_instance_cycles(&fixture, iterations))
            })
        });
    }
    {
        let mut group = criterion.benchmark_group("on-event");
        configure(&mut group);
        group.bench_function("bench-scene", |b| {
            b.iter_custom(|iterations| {
                fixture
                    .tokio
                    .block_on(time_wasm_events(&mut instance, &event, iterations))
            })
        });
    }
    {
        let mut group = criterion.benchmark_group("on-event-native");
        configure(&mut group);
        group.bench_function("bench-scene", |b| {
            b.iter_custom(|iterations| time_native_events(&mut native, &*clock, &event, iterations))
        });
    }
    criterion.final_summary();

    if !measuring() {
        return;
    }
    let instantiate = median_per_iteration(|iterations| {
        fixture
            .tokio
            .block_on(time_instantiations(&fixture, iterations))
    });
    let instance_cycle = median_per_iteration(|iterations| {
        fixture
            .tokio
            .block_on(time_instance_cycles(&fixture, iterations))
    });
    let on_event = median_per_iteration(|iterations| {
        fixture
            .tokio
            .block_on(time_wasm_events(&mut instance, &event, iterations))
    });
    let on_event_native = median_per_iteration(|iterations| {
        time_native_events(&mut native, &*clock, &event, iterations)
    });

    println!();
    println!(
        "summary: median of {SUMMARY_SAMPLES} samples of {SUMMARY_ITERATIONS} iterations each, per iteration"
    );
    println!(
        "{:<40} {:>10} {:>10} {:>6}",
        "figure", "median", "target", "result"
    );
    summary_line(
        "instantiate (ScenePre -> Instance)",
        instantiate,
        Some(INSTANTIATE_TARGET),
    );
    summary_line("instantiate + drop (whole cycle)", instance_cycle, None);
    summary_line(
        "on-event, warm, one host call",
        on_event,
        Some(ON_EVENT_TARGET),
    );
    summary_line("on-event, native Rust baseline", on_event_native, None);
    println!(
        "{:<40} {:>10}",
        "ratio wasm / native",
        format!(
            "{:.1}x",
            on_event.as_secs_f64() / on_event_native.as_secs_f64()
        )
    );
}
