//! The ingest benchmark as devices really send: gateways speaking for
//! hundreds of devices, measurement times from the devices (some of them
//! late), a few bad items in every batch — driven from outside by a
//! standard load generator, against linli and against a peer doing the
//! same validation. Run it with `cargo xtask bench`.
//!
//! The release `linli serve` binary runs on a temporary data dir (SQLite,
//! `synchronous=FULL`: a 202 means durable) with hello-scene consuming every
//! reading, and bridged to the MQTT broker on 127.0.0.1:1883. The bench
//! registers one device that sends for itself and [`GATEWAYS`] gateways of
//! [`DEVICES_PER_GATEWAY`] devices each (door sensors, smoke detectors,
//! parking bays). wrk (`benches/load/ingest.lua`, 32 connections on one
//! thread, batches of 100, three invalid items each, one reading in 20 late
//! by 30 s to 10 min) then drives each load for [`MEASURE`] after a warm-up:
//!
//! | load | who sends | `at` |
//! |---|---|---|
//! | one device, arrival time | the device itself | absent |
//! | one device, device timestamps | the device itself | increasing, 5% late |
//! | a gateway for 500 devices, device timestamps | the gateways | increasing per device, 5% late |
//! | a gateway for 500 devices, arrival time | the gateways | absent |
//!
//! The same loads then go to the peer, a Node-RED 4.1 flow
//! (`benches/load/node-red/`), keeping valid readings in memory, then
//! appending them to a file with an fdatasync before each answer — batch
//! after batch (`fdatasyncSync` in the function node) and, a third pass,
//! with the write and sync off the event loop so that batches overlap.
//! Figures are readings acknowledged per second (97 a batch); the targets
//! are for the gateway load with device timestamps: linli at least twice
//! the peer with a sync per batch and at least the peer in memory.
//!
//! Last, the gateway load with device timestamps through MQTT: each gateway
//! publishes its batches with `mosquitto_pub -l` (QoS 1), and the figure is
//! the readings the host made durable per second from the first publish to
//! the last reading, against the HTTP figure.

mod support;

use std::collections::BTreeMap;
use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use linli_client::Client;
use linli_host::caps::sensor::catalogue::{ValueType, CATALOGUE};
use serde_json::{json, Value};
use support::broker::Broker;
use support::node_red::NodeRed;
use support::{ok, verdict, wall_ms, wrk, Host};

const COMMUNITY: &str = "bench";
const GATEWAYS: usize = 4;
const DEVICES_PER_GATEWAY: usize = 500;
/// What the devices behind a gateway are, in turn: (device kind, reading kind).
const FIELD_DEVICES: [(&str, &str); 3] = [
    ("door-sensor", "door"),
    ("smoke-detector", "smoke"),
    ("parking-sensor", "occupancy"),
];
const CONNECTIONS: u32 = 32;
const WARM_UP: Duration = Duration::from_secs(3);
const MEASURE: Duration = Duration::from_secs(10);
/// Valid readings in each batch of the load (100, three of them invalid).
const VALID_PER_BATCH: f64 = 97.0;
/// Batches each gateway publishes over MQTT: all of them together stay
/// under the 1,000 messages Mosquitto queues for a subscriber by default
/// (`max_queued_messages`); mosquitto_pub publishes faster than the host
/// takes them, and the broker would drop the rest.
const MQTT_BATCHES: usize = 240;
/// No reading landing for this long ends the MQTT run.
const MQTT_STALL: Duration = Duration::from_secs(15);

/// One row of the table: who sends and whether readings carry `at`.
struct Load {
    name: &'static str,
    senders: &'static str,
    times: &'static str,
}

const LOADS: [Load; 4] = [
    Load {
        name: "one device, arrival time",
        senders: "one-device.tsv",
        times: "arrival",
    },
    Load {
        name: "one device, device timestamps (at)",
        senders: "one-device.tsv",
        times: "device",
    },
    Load {
        name: "a gateway for 500 devices, device timestamps",
        senders: "gateways.tsv",
        times: "device",
    },
    Load {
        name: "a gateway for 500 devices, arrival time",
        senders: "gateways.tsv",
        times: "arrival",
    },
];
/// The row the targets are about.
const GATEWAY_TIMESTAMPS: usize = 2;

/// A sender: its token, the devices it may send for with their reading
/// kinds, and the (device, reading kind) pairs its batches name.
struct Sender {
    id: String,
    token: String,
    devices: BTreeMap<String, Vec<&'static str>>,
    pairs: Vec<(String, &'static str)>,
}

/// Registers a device (behind `gateway` if given) reporting `kinds`; its token.
async fn register(
    admin: &Client,
    id: &str,
    kind: &str,
    kinds: &[&str],
    gateway: Option<&str>,
) -> String {
    let registered = ok(admin.post(
        &format!("/api/v1/communities/{COMMUNITY}/devices"),
        &json!({"id": id, "kind": kind, "reading_kinds": kinds, "gateway": gateway}),
    ))
    .await;
    registered["token"].as_str().expect("token").to_owned()
}

/// The community, its senders (the device for itself first, then the gateways) and hello-scene.
async fn set_up(admin: &Client) -> Vec<Sender> {
    ok(admin.post(
        "/api/v1/communities",
        &json!({"id": COMMUNITY, "name": "Benchmark Gardens"}),
    ))
    .await;
    let meter = "thermo-1";
    let kinds = ["temperature", "humidity"];
    let mut senders = vec![Sender {
        id: meter.to_owned(),
        token: register(admin, meter, "thermometer", &kinds, None).await,
        devices: BTreeMap::from([(meter.to_owned(), kinds.to_vec())]),
        pairs: kinds.iter().map(|k| (meter.to_owned(), *k)).collect(),
    }];
    for g in 0..GATEWAYS {
        let gateway = format!("lora-gw-{g}");
        let token = register(admin, &gateway, "gateway", &["battery"], None).await;
        let mut devices = BTreeMap::from([(gateway.clone(), vec!["battery"])]);
        let mut pairs = Vec::with_capacity(DEVICES_PER_GATEWAY);
        for d in 0..DEVICES_PER_GATEWAY {
            let (kind, reading) = FIELD_DEVICES[d % FIELD_DEVICES.len()];
            let id = format!("gw{g}-{kind}-{d}");
            let kinds = vec![reading, "battery"];
            register(admin, &id, kind, &kinds, Some(&gateway)).await;
            devices.insert(id.clone(), kinds);
            pairs.push((id, reading));
        }
        senders.push(Sender {
            id: gateway,
            token,
            devices,
            pairs,
        });
    }
    support::publish(admin, "hello-scene").await;
    ok(admin.post(
        &format!("/api/v1/communities/{COMMUNITY}/installations"),
        &json!({"plugin": "hello-scene", "version": "0.1.0",
               "grants": {"sensor": {"kinds": ["*"]}, "store": {}}, "config": {}}),
    ))
    .await;
    senders
}

/// The senders files of the Lua script and the peer's registry, in `dir`.
fn write_load_files(dir: &Path, senders: &[Sender]) {
    let line = |s: &Sender| {
        let pairs: Vec<String> = s.pairs.iter().map(|(d, k)| format!("{d}:{k}")).collect();
        format!("{}\t{}\n", s.token, pairs.join(","))
    };
    std::fs::write(dir.join("one-device.tsv"), line(&senders[0])).expect("senders file");
    let gateways: String = senders[1..].iter().map(line).collect();
    std::fs::write(dir.join("gateways.tsv"), gateways).expect("senders file");

    let catalogue: Vec<Value> = CATALOGUE
        .iter()
        .map(|k| {
            let kind = match k.value {
                ValueType::Number => "number",
                ValueType::Flag => "flag",
                ValueType::Text => "text",
            };
            json!({"name": k.name, "type": kind, "unit": k.unit, "aliases": k.unit_aliases, "range": k.range})
        })
        .collect();
    let registry: BTreeMap<&str, Value> = senders
        .iter()
        .map(|s| (s.token.as_str(), json!({"id": s.id, "devices": s.devices})))
        .collect();
    let registry = json!({"catalogue": catalogue, "senders": registry});
    std::fs::write(dir.join("registry.json"), registry.to_string()).expect("registry");
}

/// Readings acknowledged per second under `load`, sent to `url` (after a warm-up).
fn drive(url: &str, dir: &Path, load: &Load) -> f64 {
    let script = support::workspace().join("host/benches/load/ingest.lua");
    let senders = dir.join(load.senders);
    let senders = senders.to_str().expect("a UTF-8 path");
    // Each device's clock starts an hour back, so late readings stay in bounds.
    let base = format!("{:.0}", wall_ms() - 3_600_000.0);
    let args = [senders, load.times, base.as_str()];
    wrk::run(url, &script, CONNECTIONS, WARM_UP, &args);
    let run = wrk::run(url, &script, CONNECTIONS, MEASURE, &args);
    assert_eq!(
        (run.failed, run.short),
        (0, 0),
        "{url}, {}: every batch is answered with its 97 valid readings",
        load.name
    );
    run.accepted_per_second() * VALID_PER_BATCH
}

/// The MQTT messages of gateway `sender`: the HTTP load's gateway batches
/// with device timestamps, each with the gateway's token, one a line.
fn mqtt_messages(sender: &Sender, batches: usize, base: i64) -> String {
    let mut clocks: BTreeMap<&str, i64> = BTreeMap::new();
    let mut cursor = 0;
    let mut lines = String::new();
    for _ in 0..batches {
        let readings: Vec<Value> = (0..100)
            .map(|n| {
                let (device, kind) = &sender.pairs[cursor % sender.pairs.len()];
                cursor += 1;
                let clock = clocks.entry(device).or_insert(base);
                *clock += 1;
                // As in ingest.lua: one in 20 late, three invalid items.
                let at = if n % 20 == 7 { *clock - 30_000 - (n * 7919) % 570_000 } else { *clock };
                let value = if *kind == "smoke" { json!((n % 50) as f64 / 100.0) } else { json!(n % 2 == 0) };
                match n {
                    10 => json!({"device": format!("ghost-{device}"), "kind": kind, "value": value, "at": at}),
                    50 => json!({"device": device, "kind": kind, "value": 5000, "at": at}),
                    90 => json!({"device": device, "kind": "radiation", "value": value, "at": at}),
                    _ => json!({"device": device, "kind": kind, "value": value, "at": at}),
                }
            })
            .collect();
        lines.push_str(&json!({"token": sender.token, "readings": readings}).to_string());
        lines.push('\n');
    }
    lines
}

/// The value of the host's metric whose line starts with `series`.
async fn metric(admin: &Client, series: &str) -> f64 {
    let metrics = ok(admin.get("/metrics")).await;
    metrics
        .as_str()
        .expect("the metrics are text")
        .lines()
        .find(|l| l.starts_with(series))
        .and_then(|l| l.rsplit(' ').next()?.parse().ok())
        .unwrap_or(0.0)
}

/// The host's count of readings it accepted.
async fn accepted(admin: &Client) -> f64 {
    metric(admin, "linli_readings_ingested_total{result=\"accepted\"}").await
}

/// Readings made durable per second when the gateways publish their
/// batches over MQTT, or, when the host stops taking them, how many it took.
async fn through_mqtt(admin: &Client, gateways: &[Sender]) -> Result<f64, String> {
    let base = wall_ms() as i64 - 3_600_000;
    let messages: Vec<String> = gateways
        .iter()
        .map(|g| mqtt_messages(g, MQTT_BATCHES, base))
        .collect();
    let before = accepted(admin).await;
    let expected = (gateways.len() * MQTT_BATCHES) as f64 * VALID_PER_BATCH;
    let start = Instant::now();
    let publishers: Vec<_> = gateways
        .iter()
        .zip(messages)
        .map(|(gateway, lines)| {
            let mut publisher = Command::new("mosquitto_pub")
                .args(["-h", "127.0.0.1", "-p", "1883", "-q", "1", "-l", "-t"])
                .arg(format!("linli/{COMMUNITY}/{}/readings", gateway.id))
                .stdin(Stdio::piped())
                .spawn()
                .expect("mosquitto_pub runs (apt-get install mosquitto-clients)");
            let mut stdin = publisher.stdin.take().expect("stdin");
            std::thread::spawn(move || {
                stdin.write_all(lines.as_bytes()).expect("messages written");
            });
            publisher
        })
        .collect();
    let (mut landed, mut last_change) = (0.0, Instant::now());
    while landed < expected {
        tokio::time::sleep(Duration::from_millis(20)).await;
        let now = accepted(admin).await - before;
        if now > landed {
            (landed, last_change) = (now, Instant::now());
        } else if last_change.elapsed() > MQTT_STALL {
            break;
        }
    }
    let seconds = last_change.duration_since(start).as_secs_f64();
    for mut publisher in publishers {
        let _ = publisher.wait();
    }
    if landed < expected {
        return Err(format!(
            "the host took {landed:.0} of {expected:.0} readings, then nothing for {} s",
            MQTT_STALL.as_secs()
        ));
    }
    Ok(landed / seconds)
}

fn main() {
    wrk::ensure();
    let broker = Broker::ensure();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let dir = tempfile::tempdir().expect("temp dir");
    let host = Host::start_with(&["--mqtt", &broker.url()]);
    let admin = host.admin();
    let senders = runtime.block_on(set_up(&admin));
    write_load_files(dir.path(), &senders);
    let linli_url = format!("http://{}/api/v1/ingest", host.addr);
    let linli: Vec<f64> = LOADS
        .iter()
        .map(|load| drive(&linli_url, dir.path(), load))
        .collect();
    println!();
    for (load, rate) in LOADS.iter().zip(&linli) {
        println!("  linli, {}: {rate:.0} readings/s", load.name);
    }
    let mqtt = runtime.block_on(async {
        while metric(&admin, "linli_mqtt_connected").await < 1.0 {
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        through_mqtt(&admin, &senders[1..]).await
    });
    drop(host);

    let peer = NodeRed::start(&dir.path().join("registry.json"));
    let peer_runs = |store: &str| -> Vec<f64> {
        LOADS
            .iter()
            .map(|load| drive(&peer.url(store), dir.path(), load))
            .collect()
    };
    let memory = peer_runs("memory");
    let synced = peer_runs("sync");
    let overlapping = peer_runs("sync-parallel");
    drop(peer);

    println!();
    println!(
        "ingest as devices send it: wrk, {CONNECTIONS} connections on one thread, batches of 100 with 3 invalid items, {} s after {} s of warm-up; readings acknowledged per second; load average {}",
        MEASURE.as_secs(),
        WARM_UP.as_secs(),
        support::load_average()
    );
    println!("  linli: SQLite synchronous=FULL (202 = durable), hello-scene installed; peer: a Node-RED 4.1 flow with the same validation, keeping readings in memory, or appending them with an fdatasync per batch before the answer, batch after batch or overlapping");
    println!(
        "  {:<46} {:>9} {:>9} {:>9} {:>9} {:>8} {:>8} {:>8}",
        "load", "linli", "NR mem", "NR sync", "NR sync∥", "/mem", "/sync", "/sync∥"
    );
    for (i, load) in LOADS.iter().enumerate() {
        println!(
            "  {:<46} {:>9.0} {:>9.0} {:>9.0} {:>9.0} {:>7.2}x {:>7.2}x {:>7.2}x",
            load.name,
            linli[i],
            memory[i],
            synced[i],
            overlapping[i],
            linli[i] / memory[i],
            linli[i] / synced[i],
            linli[i] / overlapping[i]
        );
    }
    let row = GATEWAY_TIMESTAMPS;
    println!(
        "  gateway load with device timestamps: linli / Node-RED with an fdatasync per batch {:.2}x   target >= 2x   {}   (with its batches overlapping: {:.2}x   {})",
        linli[row] / synced[row],
        verdict(linli[row] >= 2.0 * synced[row]),
        linli[row] / overlapping[row],
        verdict(linli[row] >= 2.0 * overlapping[row])
    );
    println!(
        "  gateway load with device timestamps: linli / Node-RED in memory {:.2}x   target >= 1x   {}",
        linli[row] / memory[row],
        verdict(linli[row] >= memory[row])
    );
    let mqtt = match mqtt {
        Ok(rate) => format!(
            "{rate:.0} readings/s durable, {:.2}x the HTTP figure",
            rate / linli[row]
        ),
        Err(stalled) => format!("MISS: {stalled}"),
    };
    println!(
        "  the same load through MQTT (mosquitto, {GATEWAYS} gateways publishing {MQTT_BATCHES} batches each with mosquitto_pub -l, QoS 1): {mqtt}"
    );
}
