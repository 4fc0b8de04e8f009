//! The map benchmark: how fast a plugin's "the 5 nearest hydrants" is
//! answered. Run it with `cargo xtask bench` (anything after `bench` goes to
//! criterion).
//!
//! - `nearest-k`: [`CommunityMap::nearest`] with k = 5 among 100,000
//!   points of interest of one kind spread over about 2 km × 2 km, from a
//!   different origin each call: the R-tree search plus resolving each hit to
//!   its place, as the `map` host call does it. Target: median under 5 µs.
//!
//! After criterion has run, the summary times the figure again in the same
//! process and prints the median over [`SAMPLES`] samples of [`ITERATIONS`]
//! calls each with its target and PASS or MISS. Under `cargo test` criterion
//! only checks that the benchmark runs and the summary is skipped.

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::Criterion;
use linli_host::caps::map::model::{CommunityMap, GeoPoint, Origin, Place, PlaceKind, PoiKind};

/// Points of interest in the benchmark's map.
const POIS: usize = 100_000;
/// How many nearest points each call asks for.
const K: usize = 5;
/// Origins cycled through, so that no call repeats the previous one.
const ORIGINS: usize = 1024;
const SAMPLES: usize = 50;
const ITERATIONS: usize = 10_000;
const TARGET: Duration = Duration::from_micros(5);

/// A reproducible point within about a kilometre of a Shanghai compound.
fn point(seed: u64) -> GeoPoint {
    // SplitMix64: well spread and free of dependencies.
    let mut z = seed.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^= z >> 31;
    let unit = |bits: u64| (bits & 0xFFFF_FFFF) as f64 / f64::from(u32::MAX);
    GeoPoint {
        lat: 31.20 + 0.018 * unit(z),
        lon: 121.40 + 0.021 * unit(z >> 32),
    }
}

fn hydrants() -> CommunityMap {
    let kind = PoiKind::try_from("hydrant".to_owned()).expect("a POI kind");
    let places = (0..POIS)
        .map(|i| Place {
            id: format!("hydrant-{i}").parse().expect("a place id"),
            kind: PlaceKind::Poi,
            name: format!("Hydrant {i}"),
            parent: None,
            poi_kind: Some(kind.clone()),
            level: None,
            exclusive_area_m2: None,
            attributes: Default::default(),
            geometry: None,
            point: Some(point(i as u64)),
        })
        .collect();
    CommunityMap::new(places, Vec::new())
}

/// Times `iterations` nearest-k calls, cycling through `origins`.
fn time_nearest(
    map: &CommunityMap,
    kind: &PoiKind,
    origins: &[Origin],
    iterations: usize,
) -> Duration {
    let started = Instant::now();
    for i in 0..iterations {
        let found = map
            .nearest(kind, &origins[i % origins.len()], K)
            .expect("the origin is a point");
        black_box(found);
    }
    started.elapsed()
}

fn measuring() -> bool {
    let args: Vec<String> = std::env::args().collect();
    let has = |flag: &str| args.iter().any(|arg| arg == flag);
    has("--bench") && !has("--test") && !has("--list")
}

fn main() {
    let map = hydrants();
    let kind = PoiKind::try_from("hydrant".to_owned()).expect("a POI kind");
    let origins: Vec<Origin> = (0..ORIGINS)
        .map(|i| Origin::Point(point(u64::MAX - i as u64)))
        .collect();

    let mut criterion = Criterion::default().configure_from_args();
    {
        let mut group = criterion.benchmark_group("map");
        group
            .warm_up_time(Duration::from_secs(1))
            .measurement_time(Duration::from_secs(5))
            .sample_size(50);
        group.bench_function("nearest-k", |b| {
            b.iter_custom(|iterations| time_nearest(&map, &kind, &origins, iterations as usize))
        });
    }
    criterion.final_summary();

    if !measuring() {
        return;
    }
    let mut samples: Vec<Duration> = (0..SAMPLES)
        .map(|_| time_nearest(&map, &kind, &origins, ITERATIONS) / ITERATIONS as u32)
        .collect();
    samples.sort();
    let median = samples[SAMPLES / 2];
    println!();
    println!(
        "nearest-k (k = {K}) among {POIS} POIs, median of {SAMPLES} x {ITERATIONS}: {:.2} µs   target < {TARGET:?}   {}",
        median.as_secs_f64() * 1e6,
        if median < TARGET { "PASS" } else { "MISS" }
    );
}
