//! The parking search benchmark: free spaces within 300 m for a two-hour
//! window, among 5,000 shared spaces holding 50,000 future reservations,
//! asked as a command over HTTP. Run it with `cargo xtask bench`.
//!
//! This process is the property office and a resident's app. It starts the
//! release `linli serve` binary on the embedded SQLite store, imports a
//! compound of 5,000 `parking-space` points in 50 lots (a 71 × 71 grid at
//! 10 m, about 700 m square) with one household at its centre, installs
//! parking with what its manifest asks for, shares every space all day
//! every day for free, and makes ten two-hour reservations on each over
//! the next thirty days (50,000 `reserve` commands). One space in five
//! also holds a reservation that overlaps the searched window, so a search
//! must read the books, not only the windows, to answer.
//!
//! Then the resident searches [`ROUNDS`] times from home for tomorrow
//! 10:00–12:00 within 300 m, each time checking the answer offers no space
//! reserved then. The host's spatial search answers at most the nearest
//! 1,000 spaces within the radius (of about 2,800), so that is what each
//! search reads. Target: p99 under 20 ms.

mod support;

use std::time::{Duration, Instant};

use linli_client::Client;
use serde_json::{json, Value};
use support::{load_average, ok, spread, verdict, wall_ms, Host};

const COMMUNITY: &str = "bench";
const SIDE: usize = 71;
const SPACES: usize = 5_000;
const SPACING_M: f64 = 10.0;
const RESERVATIONS_PER_SPACE: usize = 10;
const ROUNDS: usize = 200;
const TARGET_MS: f64 = 20.0;
const HOUR: i64 = 3_600_000;
const DAY: i64 = 24 * HOUR;
/// Commands in flight while the book is filled.
const CONCURRENCY: usize = 8;

/// A point `x` metres east and `y` metres north of the compound's corner.
fn at(x: f64, y: f64) -> [f64; 2] {
    [121.4 + x * 1.0514e-5, 31.2 + y * 8.993e-6]
}

fn space_id(n: usize) -> String {
    format!("space-{n:04}")
}

fn community() -> Value {
    let centre = SIDE as f64 * SPACING_M / 2.0;
    let mut features = vec![
        json!({"type": "Feature", "id": "cell", "geometry": null, "properties": {"kind": "grid-cell", "name": "The compound"}}),
        json!({"type": "Feature", "id": "tower", "geometry": {"type": "Point", "coordinates": at(centre, centre)},
               "properties": {"kind": "building", "name": "The tower at the centre", "parent": "cell"}}),
        json!({"type": "Feature", "id": "tower-f1", "geometry": null, "properties": {"kind": "floor", "name": "Its ground floor", "parent": "tower", "level": 1}}),
        json!({"type": "Feature", "id": "home", "geometry": {"type": "Point", "coordinates": at(centre, centre)},
               "properties": {"kind": "unit", "name": "The unit at the centre", "parent": "tower-f1"}}),
        json!({"type": "Feature", "id": "home-hh", "geometry": null, "properties": {"kind": "household", "name": "The household", "parent": "home"}}),
        json!({"type": "Feature", "id": "resident", "geometry": null,
               "properties": {"kind": "person", "name": "A resident", "links": [{"kind": "resident-of", "target": "home-hh"}]}}),
    ];
    for n in 0..SPACES {
        let (x, y) = ((n % SIDE) as f64 * SPACING_M, (n / SIDE) as f64 * SPACING_M);
        features.push(json!({"type": "Feature", "id": space_id(n), "geometry": {"type": "Point", "coordinates": at(x, y)},
            "properties": {"kind": "poi", "poi_kind": "parking-space", "name": format!("Space {n}"), "parent": "cell",
                           "attributes": {"class": "shared", "owner": "property", "lot": format!("lot-{:02}", n / 100)}}}));
    }
    json!({"type": "FeatureCollection", "features": features})
}

async fn command(client: &Client, name: &str, input: Value) -> Value {
    ok(client.post(
        &format!("/api/v1/communities/{COMMUNITY}/plugins/parking/commands/{name}"),
        &input,
    ))
    .await
}

/// Runs `inputs` as `name` commands, [`CONCURRENCY`] at a time, with a
/// progress line every 10,000.
async fn run_all(client: &Client, name: &'static str, inputs: Vec<Value>) {
    let total = inputs.len();
    let started = Instant::now();
    let mut pending = inputs.into_iter().enumerate();
    let mut running = tokio::task::JoinSet::new();
    loop {
        while running.len() < CONCURRENCY {
            let Some((i, input)) = pending.next() else {
                break;
            };
            let client = client.clone();
            running.spawn(async move {
                command(&client, name, input).await;
                i
            });
        }
        let Some(done) = running.join_next().await else {
            break;
        };
        let i = done.expect("a command task");
        if (i + 1) % 10_000 == 0 {
            eprintln!(
                "parking bench: {} of {total} {name} commands, {:.0} s",
                i + 1,
                started.elapsed().as_secs_f64()
            );
        }
    }
}

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a runtime");
    runtime.block_on(async {
        let host = Host::start();
        let admin = host.admin();
        support::community_with_map(&admin, COMMUNITY, "Parking bench", community()).await;
        support::install(&admin, COMMUNITY, "parking", json!({}), json!({})).await;
        let office = admin.clone();
        let resident = host.client(&support::resident_token(&admin, COMMUNITY, "resident").await);

        let every_day = json!({"kind": "weekly", "days": ["mon", "tue", "wed", "thu", "fri", "sat", "sun"], "start": "00:00", "end": "24:00"});
        let windows: Vec<Value> = (0..SPACES)
            .map(|n| json!({"space": space_id(n), "when": every_day}))
            .collect();
        run_all(&office, "publish-window", windows).await;

        // Tomorrow 10:00–12:00 in the compound (UTC+8), on whole hours.
        let now = wall_ms() as i64;
        let local_midnight = (now + 8 * HOUR) / DAY * DAY - 8 * HOUR;
        let wanted = (local_midnight + DAY + 10 * HOUR, local_midnight + DAY + 12 * HOUR);
        let mut reservations = Vec::with_capacity(SPACES * RESERVATIONS_PER_SPACE);
        for n in 0..SPACES {
            for r in 0..RESERVATIONS_PER_SPACE {
                // Ten two-hour reservations on days 2 to 29, spread by space;
                // one space in five also overlaps the searched window.
                let start = if r == 0 && n % 5 == 0 {
                    wanted.0 + HOUR
                } else {
                    local_midnight + (2 + ((n + 3 * r) % 27) as i64) * DAY + (r as i64 % 10) * 2 * HOUR
                };
                reservations.push(json!({"space": space_id(n), "start": start, "end": start + 2 * HOUR}));
            }
        }
        let made = Instant::now();
        run_all(&resident, "reserve", reservations).await;
        eprintln!("parking bench: {} reservations made in {:.0} s", SPACES * RESERVATIONS_PER_SPACE, made.elapsed().as_secs_f64());

        let load_before = load_average();
        let query = json!({"from": "home-hh", "start": wanted.0, "end": wanted.1, "radius_m": 300});
        let mut latencies = Vec::with_capacity(ROUNDS);
        let mut offered = 0;
        for _ in 0..ROUNDS {
            let sent = Instant::now();
            let found = command(&resident, "search", query.clone()).await;
            latencies.push(sent.elapsed().as_secs_f64() * 1000.0);
            let offers = found["offers"].as_array().expect("offers");
            for offer in offers {
                let n: usize = offer["space"].as_str().expect("a space")[6..].parse().expect("a number");
                assert_ne!(n % 5, 0, "{} is reserved in the window and was offered", offer["space"]);
            }
            offered = offers.len();
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        let load_after = load_average();
        let (p50, p99, max) = spread(&mut latencies);
        println!();
        println!(
            "parking: search within 300 m for two hours among {SPACES} spaces with {} future reservations, over HTTP, SQLite, {ROUNDS} rounds ({offered} offers each)",
            SPACES * RESERVATIONS_PER_SPACE
        );
        println!("  load average before {load_before}, after {load_after}");
        println!(
            "  search: p50 {p50:.1} ms, p99 {p99:.1} ms, max {max:.1} ms   target p99 < {TARGET_MS} ms   {}",
            verdict(p99 < TARGET_MS)
        );
    });
}
