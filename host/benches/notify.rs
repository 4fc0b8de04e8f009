//! The notify benchmark: one message to every resident of a 10,000-resident
//! compound, through a real host. Run it with `cargo xtask bench`.
//!
//! This process is the admin and the residents' apps. It starts the release
//! `linli serve` binary on the embedded SQLite store, imports a compound of
//! 20 buildings × 25 floors × 10 units with two residents in each of its
//! 5,000 households, and enables notify-scene. [`FOLLOWERS`] residents,
//! spread over the compound, follow their inbox over Server-Sent Events.
//! Then, [`ROUNDS`] times, notify-scene is told to send a message to the
//! residents of the compound's grid cell:
//!
//! - **enqueue**: the command's round trip — the plugin call, resolving the
//!   audience from the map and committing the message with its 10,000
//!   inbox deliveries (a broadcast: one narrow row per resident). Target:
//!   under 1 s.
//! - **inbox delivery**: for every follower, the time from the message's
//!   enqueue (its `delivered_at` on the host clock) to the SSE event
//!   arriving at the follower. Target: p99 under 100 ms.
//! - **inbox read**: afterwards, what `GET /api/v1/me/inbox` costs a
//!   follower whose inbox holds every broadcast (no target; broadcasts are
//!   found at read time, so this is where their cost would show).

mod support;

use std::time::{Duration, Instant};

use linli_client::Client;
use serde_json::{json, Value};
use support::{ok, percentile, verdict, wall_ms, Host};
use tokio::sync::mpsc;

const COMMUNITY: &str = "bench";
const BUILDINGS: usize = 20;
const FLOORS: usize = 25;
const UNITS_PER_FLOOR: usize = 10;
const RESIDENTS_PER_HOUSEHOLD: usize = 2;
const FOLLOWERS: usize = 200;
const ROUNDS: usize = 10;
const ENQUEUE_TARGET: Duration = Duration::from_secs(1);
const DELIVERY_TARGET_MS: f64 = 100.0;

fn feature(id: &str, properties: Value) -> Value {
    json!({"type": "Feature", "id": id, "geometry": null, "properties": properties})
}

/// The compound's GeoJSON and its residents' ids.
fn compound() -> (Value, Vec<String>) {
    let mut features = vec![feature(
        "cell-1",
        json!({"kind": "grid-cell", "name": "The only grid cell"}),
    )];
    let mut residents = Vec::new();
    for b in 1..=BUILDINGS {
        let building = format!("building-{b}");
        features.push(feature(
            &building,
            json!({"kind": "building", "name": format!("Building {b}"), "parent": "cell-1"}),
        ));
        for f in 1..=FLOORS {
            let floor = format!("b{b}-f{f}");
            features.push(feature(
                &floor,
                json!({"kind": "floor", "name": format!("Building {b}, floor {f}"), "parent": building, "level": f}),
            ));
            for u in 1..=UNITS_PER_FLOOR {
                let unit = format!("b{b}-{f}{u:02}");
                let household = format!("{unit}-hh");
                features.push(feature(
                    &unit,
                    json!({"kind": "unit", "name": format!("Unit {unit}"), "parent": floor, "exclusive_area_m2": 89.2}),
                ));
                features.push(feature(
                    &household,
                    json!({"kind": "household", "name": format!("Household of {unit}"), "parent": unit}),
                ));
                for r in 1..=RESIDENTS_PER_HOUSEHOLD {
                    let person = format!("person-{unit}-{r}");
                    features.push(feature(
                        &person,
                        json!({"kind": "person", "name": format!("Resident {r} of {unit}"),
                               "links": [{"kind": "resident-of", "target": household}]}),
                    ));
                    residents.push(person);
                }
            }
        }
    }
    (
        json!({"type": "FeatureCollection", "features": features}),
        residents,
    )
}

/// Follows a resident's inbox (`resident` holds their token); sends
/// (message id, enqueue-to-arrival ms) for every message.
async fn follow(resident: Client, arrivals: mpsc::UnboundedSender<(String, f64)>) {
    let inbox = support::events(&resident, "/api/v1/me/inbox/events").await;
    support::each_event(inbox, |item, _| {
        let latency = wall_ms() - item["delivered_at"].as_f64().expect("delivered_at");
        let id = item["message_id"].as_str().expect("message id").to_owned();
        arrivals.send((id, latency)).is_ok()
    })
    .await;
}

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("runtime");
    let host = Host::start();
    runtime.block_on(async {
        let admin = host.admin();
        let (map, residents) = compound();
        let imported = Instant::now();
        support::community_with_map(&admin, COMMUNITY, "Benchmark Heights", map).await;
        eprintln!(
            "notify bench: imported {} residents in {:.1} s",
            residents.len(),
            imported.elapsed().as_secs_f64()
        );
        support::publish(&admin, "notify-scene").await;
        ok(admin.post(
            &format!("/api/v1/communities/{COMMUNITY}/installations"),
            &json!({"plugin": "notify-scene", "version": "0.1.0", "config": {},
                   "grants": {"notify": {"topics": ["*"]}, "store": {}}}),
        ))
        .await;

        let (arrivals, mut arrived) = mpsc::unbounded_channel();
        let stride = residents.len() / FOLLOWERS;
        let mut followers = Vec::with_capacity(FOLLOWERS);
        for person in residents.iter().step_by(stride).take(FOLLOWERS) {
            let resident = admin.with_token(support::resident_token(&admin, COMMUNITY, person).await);
            tokio::spawn(follow(resident.clone(), arrivals.clone()));
            followers.push(resident);
        }
        // Let every follower subscribe before the first message.
        tokio::time::sleep(Duration::from_millis(500)).await;

        let mut enqueue = Vec::new();
        let mut latencies = Vec::new();
        for round in 0..ROUNDS {
            let started = Instant::now();
            let sent = ok(admin.post(
                &format!("/api/v1/communities/{COMMUNITY}/plugins/notify-scene/commands/send"),
                &json!({"audience": [{"residents": "cell-1"}], "severity": "warning",
                       "topic": "water-outage", "title": "Water off tomorrow 9:00-12:00",
                       "key": format!("outage-{round}")}),
            ))
            .await;
            enqueue.push(started.elapsed());
            assert_eq!(sent["recipients"], residents.len());
            let id = sent["id"].as_str().expect("message id").to_owned();
            let mut received = 0;
            while received < FOLLOWERS {
                let (message, latency) = tokio::time::timeout(Duration::from_secs(30), arrived.recv())
                    .await
                    .expect("every follower hears of the message within 30 s")
                    .expect("followers run");
                if message == id {
                    received += 1;
                    latencies.push(latency);
                }
            }
        }

        let mut reads = Vec::with_capacity(followers.len());
        for resident in &followers {
            let started = Instant::now();
            let inbox = ok(resident.get("/api/v1/me/inbox")).await;
            reads.push(started.elapsed());
            assert_eq!(
                inbox["items"].as_array().map(Vec::len),
                Some(ROUNDS),
                "every broadcast is in the inbox"
            );
        }

        enqueue.sort();
        reads.sort();
        latencies.sort_by(f64::total_cmp);
        let median = enqueue[enqueue.len() / 2];
        let worst = enqueue[enqueue.len() - 1];
        let (p50, p99) = (percentile(&latencies, 0.50), percentile(&latencies, 0.99));
        println!();
        println!(
            "notify: one message to {} residents through notify-scene, SQLite, {ROUNDS} rounds, {FOLLOWERS} followers on SSE",
            residents.len()
        );
        println!(
            "  enqueue (command round trip, {} inbox deliveries committed): median {:.0} ms, worst {:.0} ms   target < {} ms   {}",
            residents.len(),
            median.as_secs_f64() * 1000.0,
            worst.as_secs_f64() * 1000.0,
            ENQUEUE_TARGET.as_millis(),
            verdict(worst < ENQUEUE_TARGET)
        );
        println!(
            "  inbox delivery (enqueue to SSE arrival, {} samples): p50 {p50:.1} ms, p99 {p99:.1} ms   target p99 < {DELIVERY_TARGET_MS} ms   {}",
            latencies.len(),
            verdict(p99 < DELIVERY_TARGET_MS)
        );
        println!(
            "  inbox read (GET /api/v1/me/inbox holding {ROUNDS} broadcasts, {} followers): median {:.2} ms, worst {:.2} ms",
            reads.len(),
            reads[reads.len() / 2].as_secs_f64() * 1000.0,
            reads[reads.len() - 1].as_secs_f64() * 1000.0
        );
    });
}
