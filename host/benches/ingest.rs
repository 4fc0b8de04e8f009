//! The ingest benchmark: readings over HTTP into a real host, from a
//! separate process. Run it with `cargo xtask bench`.
//!
//! This process is only the load generator. It starts the release `linli
//! serve` binary on a temporary data dir (the embedded SQLite store),
//! registers a community with eight devices and enables hello-scene for
//! every reading kind, as an admin would over the API. Then:
//!
//! - **latency**: 10,000 readings/s, paced (batches of 100 sent at a fixed
//!   rate over four connections) for ten seconds on the fresh log; once
//!   hello-scene has caught up, the p50 and p99 of the time from a
//!   reading's append to the commit of its handling, interpolated within the
//!   buckets of the host's `linli_reading_handled_seconds` histogram.
//! - **throughput**: 32 keep-alive connections each send a pre-built batch
//!   of 100 readings as soon as the previous one is acknowledged (202, i.e.
//!   durable); after a warm-up, the readings acknowledged per second over
//!   fifteen seconds. Target: at least 150,000 readings/s. hello-scene keeps
//!   consuming the log meanwhile, as it would in production: ingest never
//!   waits for it.
//!
//! The load generator runs on one thread, so that on a small machine the
//! host gets the rest.

mod support;

use std::time::{Duration, Instant};

use linli_client::{Client, Method, StatusCode};
use serde_json::{json, Value};
use support::{ok, verdict, Host};

const COMMUNITY: &str = "bench";
const DEVICES: usize = 8;
const BATCH: usize = 100;
const CONNECTIONS: usize = 32;
const WARM_UP: Duration = Duration::from_secs(3);
const MEASURE: Duration = Duration::from_secs(15);
const THROUGHPUT_TARGET: f64 = 150_000.0;
const PACED_RATE: u64 = 10_000;
const PACED_CONNECTIONS: u64 = 4;
const PACED_FOR: Duration = Duration::from_secs(10);

/// A device and its pre-built batch.
#[derive(Clone)]
struct Sender {
    token: String,
    batch: Vec<u8>,
}

/// Registers the community, its devices and hello-scene; returns the devices and the installation.
async fn set_up(admin: &Client) -> (Vec<Sender>, String) {
    ok(admin.post(
        "/api/v1/communities",
        &json!({"id": COMMUNITY, "name": "Benchmark Gardens"}),
    ))
    .await;
    let mut senders = Vec::new();
    for d in 0..DEVICES {
        let id = format!("thermo-{d}");
        let registered = ok(admin.post(
            &format!("/api/v1/communities/{COMMUNITY}/devices"),
            &json!({"id": id, "kind": "thermometer", "reading_kinds": ["temperature", "humidity"]}),
        ))
        .await;
        let readings: Vec<Value> = (0..BATCH)
            .map(|i| {
                if i % 2 == 0 {
                    json!({"device": id, "kind": "temperature", "value": 20.0 + (i % 10) as f64 / 10.0, "unit": "°C"})
                } else {
                    json!({"device": id, "kind": "humidity", "value": 40 + i % 20})
                }
            })
            .collect();
        senders.push(Sender {
            token: registered["token"].as_str().expect("token").to_owned(),
            batch: serde_json::to_vec(&readings).expect("batch"),
        });
    }
    support::publish(admin, "hello-scene").await;
    let installation = ok(admin.post(
        &format!("/api/v1/communities/{COMMUNITY}/installations"),
        &json!({"plugin": "hello-scene", "version": "0.1.0",
               "grants": {"sensor": {"kinds": ["*"]}, "store": {}}, "config": {}}),
    ))
    .await;
    let id = installation["id"].as_str().expect("installation id");
    (senders, id.to_owned())
}

/// Sends `sender`'s batch as the device (`device` holds its token); the
/// readings it acknowledged.
async fn ingest(device: &Client, sender: &Sender) -> usize {
    let reply = device
        .request(Method::POST, "/api/v1/ingest")
        .body("application/json", sender.batch.clone())
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(reply.status, StatusCode::ACCEPTED, "{}", reply.body);
    let report = reply.body;
    let accepted = report["accepted"].as_u64().expect("accepted") as usize;
    assert_eq!(accepted, BATCH, "{report}");
    accepted
}

/// Readings acknowledged per second with `CONNECTIONS` closed-loop connections.
async fn throughput(host: &Host, senders: &[Sender]) -> (f64, u64) {
    let start = Instant::now();
    let (measure_from, measure_to) = (start + WARM_UP, start + WARM_UP + MEASURE);
    let workers: Vec<_> = (0..CONNECTIONS)
        .map(|c| {
            let sender = senders[c % senders.len()].clone();
            // A client of its own: one keep-alive connection per worker.
            let device = host.client(&sender.token);
            tokio::spawn(async move {
                let mut counted = 0_u64;
                while Instant::now() < measure_to {
                    let accepted = ingest(&device, &sender).await;
                    let now = Instant::now();
                    if now >= measure_from && now <= measure_to {
                        counted += accepted as u64;
                    }
                }
                counted
            })
        })
        .collect();
    let mut total = 0;
    for worker in workers {
        total += worker.await.expect("worker");
    }
    (total as f64 / MEASURE.as_secs_f64(), total)
}

/// Sends `PACED_RATE` readings/s for `PACED_FOR`.
async fn paced(host: &Host, senders: &[Sender]) {
    let every =
        Duration::from_secs_f64((BATCH as u64 * PACED_CONNECTIONS) as f64 / PACED_RATE as f64);
    let batches = (PACED_FOR.as_secs_f64() / every.as_secs_f64()) as usize;
    let workers: Vec<_> = (0..PACED_CONNECTIONS as usize)
        .map(|c| {
            let sender = senders[c % senders.len()].clone();
            let device = host.client(&sender.token);
            tokio::spawn(async move {
                // Spread the connections' sends over the period.
                tokio::time::sleep(every / PACED_CONNECTIONS as u32 * c as u32).await;
                let mut ticks = tokio::time::interval(every);
                ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
                for _ in 0..batches {
                    ticks.tick().await;
                    ingest(&device, &sender).await;
                }
            })
        })
        .collect();
    for worker in workers {
        worker.await.expect("worker");
    }
}

/// Readings hello-scene has yet to handle.
async fn backlog(admin: &Client, installation: &str) -> i64 {
    let view = ok(admin.get(&format!(
        "/api/v1/communities/{COMMUNITY}/installations/{installation}"
    )))
    .await;
    view["backlog"].as_i64().expect("backlog")
}

/// The cumulative buckets `(upper bound in seconds, count)` of histogram `name`, summed over its label sets.
async fn histogram(admin: &Client, name: &str) -> Vec<(f64, f64)> {
    let metrics = ok(admin.get("/metrics")).await;
    let text = metrics.as_str().expect("the metrics are text");
    let prefix = format!("{name}_bucket{{");
    let mut buckets: Vec<(f64, f64)> = Vec::new();
    for line in text.lines().filter(|l| l.starts_with(&prefix)) {
        let le = line
            .split("le=\"")
            .nth(1)
            .and_then(|rest| rest.split('"').next())
            .expect("a bucket bound");
        let bound = if le == "+Inf" {
            f64::INFINITY
        } else {
            le.parse().expect("a number")
        };
        let count: f64 = line
            .rsplit(' ')
            .next()
            .and_then(|c| c.parse().ok())
            .expect("a count");
        match buckets.iter_mut().find(|(b, _)| *b == bound) {
            Some((_, c)) => *c += count,
            None => buckets.push((bound, count)),
        }
    }
    buckets.sort_by(|a, b| a.0.total_cmp(&b.0));
    buckets
}

/// The `q` quantile of a cumulative histogram, interpolated linearly within
/// its bucket; infinite when it is past the last finite bound.
fn quantile(buckets: &[(f64, f64)], q: f64) -> f64 {
    let total = buckets.last().map_or(0.0, |b| b.1);
    let rank = q * total;
    let mut lower = (0.0, 0.0);
    for &(bound, count) in buckets {
        if count >= rank {
            if bound.is_infinite() {
                return f64::INFINITY;
            }
            let share = if count > lower.1 {
                (rank - lower.1) / (count - lower.1)
            } else {
                0.0
            };
            return lower.0 + (bound - lower.0) * share;
        }
        lower = (bound, count);
    }
    lower.0
}

/// A latency in milliseconds, or how far the histogram reaches.
fn millis(seconds: f64, buckets: &[(f64, f64)]) -> String {
    if seconds.is_finite() {
        format!("{:.2} ms", seconds * 1e3)
    } else {
        let reach = buckets
            .iter()
            .map(|b| b.0)
            .filter(|b| b.is_finite())
            .fold(0.0, f64::max);
        format!("> {:.0} ms", reach * 1e3)
    }
}

fn main() {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let host = Host::start();
    runtime.block_on(async {
        let admin = host.admin();
        let (senders, installation) = set_up(&admin).await;

        paced(&host, &senders).await;
        let drained = Instant::now();
        while backlog(&admin, &installation).await > 0 {
            assert!(
                drained.elapsed() < Duration::from_secs(300),
                "hello-scene did not catch up"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let buckets = histogram(&admin, "linli_reading_handled_seconds").await;
        let observed = buckets.last().map_or(0.0, |b| b.1);
        let (p50, p99) = (quantile(&buckets, 0.50), quantile(&buckets, 0.99));

        let (rate, total) = throughput(&host, &senders).await;
        let behind = backlog(&admin, &installation).await;

        println!();
        println!("ingest over HTTP: SQLite, hello-scene installed, batches of {BATCH}, load generator in its own process");
        println!(
            "  throughput, {CONNECTIONS} keep-alive connections: {rate:.0} readings/s ({total} acknowledged in {} s)   target >= {THROUGHPUT_TARGET:.0}/s   {}",
            MEASURE.as_secs(),
            verdict(rate >= THROUGHPUT_TARGET)
        );
        println!("  hello-scene's backlog right after: {behind} readings (it consumes the log on its own)");
        println!(
            "  reading-to-handled latency at {PACED_RATE} readings/s paced for {} s: p50 {}, p99 {} ({observed} readings, linli_reading_handled_seconds)",
            PACED_FOR.as_secs(),
            millis(p50, &buckets),
            millis(p99, &buckets)
        );
    });
}
