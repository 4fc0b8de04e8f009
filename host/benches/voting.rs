//! The voting benchmark: an owners' assembly of 5,000 units votes on one
//! motion, each ballot a command over HTTP, then the motion closes on its
//! timer and is tallied. Run it with `cargo xtask bench`.
//!
//! This process is the residents' committee and 5,000 owners' phones. It
//! starts the release `linli serve` binary on the embedded SQLite store,
//! imports a compound of 50 buildings of 10 floors of 10 units (5,000
//! units, each with its exclusive area and one owner), installs voting with
//! what its manifest asks for and the host's default limits (and without
//! the notice period, so the motion opens at once), drafts and opens a
//! motion of the whole compound (which freezes the roll of 5,000 units in
//! one call, inside the default call budget), and casts one ballot per
//! unit, [`CONCURRENCY`] owners at a time.
//!
//! - **ballot**: from sending `vote` to its reply (the ballot on the
//!   ledger, its entry named). Target: p99 under 50 ms.
//! - **tally**: from the motion's close to its result being readable
//!   (the close timer firing, every shard read, the tally on the ledger).
//!   Target: under 2 s.
//! - **open**: from the motion's opening time to its stage being open
//!   (the timer firing, the roll of every unit frozen). No target of its
//!   own: it must happen within the default call budget, or the motion
//!   never opens and the bench stops with a MISS.

mod support;

use std::time::{Duration, Instant};

use linli_client::Client;
use serde_json::{json, Value};
use support::{load_average, ok, spread, verdict, wall_ms, Host};

const COMMUNITY: &str = "bench";
const BUILDINGS: usize = 50;
const FLOORS: usize = 10;
const UNITS_PER_FLOOR: usize = 10;
const UNITS: usize = BUILDINGS * FLOORS * UNITS_PER_FLOOR;
const CONCURRENCY: usize = 8;
const BALLOT_TARGET_MS: f64 = 50.0;
const TALLY_TARGET_MS: f64 = 2_000.0;
/// How long the motion stays open: long enough for every ballot.
const VOTING: Duration = Duration::from_secs(180);
/// How long after its opening or closing time a motion may take to get
/// there before the bench calls it a miss.
const GIVE_UP_MS: f64 = 30_000.0;
const AREAS: [f64; 4] = [68.5, 89.2, 89.2, 120.0];

fn unit_id(n: usize) -> String {
    format!("u-{n:04}")
}

fn owner_id(n: usize) -> String {
    format!("owner-{n:04}")
}

fn community() -> Value {
    let mut features = Vec::new();
    let feature = |id: String, properties: Value| json!({"type": "Feature", "id": id, "geometry": null, "properties": properties});
    for b in 0..BUILDINGS {
        let building = format!("building-{b:02}");
        features.push(feature(
            building.clone(),
            json!({"kind": "building", "name": format!("Building {b}")}),
        ));
        for f in 0..FLOORS {
            let floor = format!("{building}-f{f}");
            features.push(feature(floor.clone(), json!({"kind": "floor", "name": format!("Building {b}, floor {f}"), "parent": building, "level": f + 1})));
            for u in 0..UNITS_PER_FLOOR {
                let n = (b * FLOORS + f) * UNITS_PER_FLOOR + u;
                features.push(feature(
                    unit_id(n),
                    json!({"kind": "unit", "name": format!("Unit {n}"), "parent": floor,
                    "exclusive_area_m2": AREAS[n % AREAS.len()]}),
                ));
                features.push(feature(
                    owner_id(n),
                    json!({"kind": "person", "name": format!("Owner {n}"),
                    "links": [{"kind": "owner-of", "target": unit_id(n)}]}),
                ));
            }
        }
    }
    json!({"type": "FeatureCollection", "features": features})
}

async fn command(client: &Client, name: &str, input: &Value) -> Value {
    ok(client.post(
        &format!("/api/v1/communities/{COMMUNITY}/plugins/voting/commands/{name}"),
        input,
    ))
    .await
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
        support::community_with_map(&admin, COMMUNITY, "Voting bench", community()).await;
        // The host's default limits: opening freezes 5,000 units and
        // closing reads every ballot within the default call budget, or
        // the motion never opens or closes and the bench says so.
        support::install(
            &admin,
            COMMUNITY,
            "voting",
            json!({"min-notice-ms": 0, "min-voting-ms": 60_000}),
            json!({}),
        )
        .await;

        // The motion opens a second from now, on its timer: opening
        // freezes the roll of every unit in one call.
        let opens_at = wall_ms() as i64 + 1_000;
        let closes_at = opens_at + VOTING.as_millis() as i64;
        let drafted = command(&admin, "draft-motion", &json!({"title": "Renew the management covenant", "text": "Adopt the revised covenant.",
            "class": "management-covenant", "opens_at": opens_at, "closes_at": closes_at})).await;
        let motion = drafted["motion"].as_str().expect("a motion id").to_owned();
        let scheduled = command(&admin, "open", &json!({"motion": motion})).await;
        assert_eq!(scheduled["stage"], "scheduled", "{scheduled}");
        let open_ms = loop {
            let seen = command(&admin, "motion", &json!({"motion": motion})).await;
            if seen["stage"] == "open" {
                break wall_ms() - opens_at as f64;
            }
            assert!(
                wall_ms() - (opens_at as f64) < GIVE_UP_MS,
                "MISS: the motion is still {} {GIVE_UP_MS} ms after its opening time (within the default call budget?)",
                seen["stage"]
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        };

        eprintln!("voting bench: {UNITS} owners get their tokens");
        let mut owners = Vec::with_capacity(UNITS);
        for n in 0..UNITS {
            owners.push(host.client(&support::resident_token(&admin, COMMUNITY, &owner_id(n)).await));
        }
        let load_before = load_average();
        let mut latencies = Vec::with_capacity(UNITS);
        let mut running = tokio::task::JoinSet::new();
        let mut next = owners.into_iter().enumerate();
        loop {
            while running.len() < CONCURRENCY {
                let Some((n, owner)) = next.next() else { break };
                let input = json!({"motion": motion, "choice": if n % 3 == 0 { "disagree" } else { "agree" }});
                running.spawn(async move {
                    let sent = Instant::now();
                    let voted = command(&owner, "vote", &input).await;
                    assert_eq!(voted["ballots"].as_array().map(Vec::len), Some(1), "{voted}");
                    sent.elapsed().as_secs_f64() * 1000.0
                });
            }
            let Some(done) = running.join_next().await else { break };
            latencies.push(done.expect("a ballot task"));
            if latencies.len() % 1_000 == 0 {
                eprintln!("voting bench: {} of {UNITS} ballots", latencies.len());
            }
        }
        let load_after = load_average();
        let wait = closes_at - wall_ms() as i64;
        assert!(wait > 0, "the ballots took longer than the motion was open");
        eprintln!("voting bench: every unit voted; the motion closes in {} s", wait / 1000);
        tokio::time::sleep(Duration::from_millis(wait as u64)).await;
        let result = loop {
            let reply = admin
                .post(&format!("/api/v1/communities/{COMMUNITY}/plugins/voting/commands/result"), &json!({"motion": motion}))
                .await
                .expect("the host answers");
            if reply.status.is_success() {
                break reply.body;
            }
            assert!(
                wall_ms() - (closes_at as f64) < GIVE_UP_MS,
                "MISS: no result {GIVE_UP_MS} ms after the close: {}",
                reply.body
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        };
        let tally_ms = wall_ms() - closes_at as f64;
        assert_eq!(result["result"]["decision"]["outcome"], "carried", "{result}");
        let (p50, p99, max) = spread(&mut latencies);
        println!();
        println!("voting: an assembly of {UNITS} units, one ballot each as a command over HTTP, {CONCURRENCY} at a time, SQLite");
        println!("  load average before {load_before}, after {load_after}");
        println!("  ballot: p50 {p50:.1} ms, p99 {p99:.1} ms, max {max:.1} ms   target p99 < {BALLOT_TARGET_MS} ms   {}", verdict(p99 < BALLOT_TARGET_MS));
        println!("  tally: {tally_ms:.0} ms from the close to the result   target < {TALLY_TARGET_MS} ms   {}", verdict(tally_ms < TALLY_TARGET_MS));
        println!("  open (from its time to the roll of {UNITS} units frozen, on its timer): {open_ms:.0} ms");
    });
}
