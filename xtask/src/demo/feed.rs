//! After the story: the devices keep reporting plausible readings, and a
//! status line every few seconds shows what the scenes make of them.

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use serde_json::{json, Value};

use super::community::{Community, ELDER, FIRE, HELLO};
use super::observe::offered;

/// Feeds readings every second until `seconds` have passed (or forever).
pub fn run(c: &Community, seconds: Option<u64>, open_request: &str) -> Result<()> {
    let started = Instant::now();
    let mut tick: u64 = 0;
    let mut last: Option<Status> = None;
    println!(
        "The devices now report every second. Every 5 s: the readings hello-scene has counted,"
    );
    println!("the active alarms, fire-safety's open work orders and Li Hong's request.");
    while seconds.is_none_or(|s| started.elapsed() < Duration::from_secs(s)) {
        tick += 1;
        for (device, _) in &c.devices {
            let readings = simulated(device, tick);
            if !readings.is_empty() {
                c.send(device, &readings)
                    .context("the simulated feed failed")?;
            }
        }
        if tick.is_multiple_of(5) {
            let now = status(c, open_request).context("reading the status")?;
            println!("[{:>4}s] {}", started.elapsed().as_secs(), now.line);
            if let Some(before) = &last {
                for (kind, about) in before.alarms.difference(&now.alarms) {
                    println!("        {kind} about {} cleared", c.map.who(about));
                }
                for (kind, about) in now.alarms.difference(&before.alarms) {
                    println!("        {kind} about {} raised", c.map.who(about));
                }
                for person in now.offered.iter().skip(before.offered.len()) {
                    println!(
                        "        nobody took {open_request} within the minute: now offered to {} too",
                        c.map.who_home(person)
                    );
                }
            }
            last = Some(now);
        }
        std::thread::sleep(Duration::from_secs(1));
    }
    println!();
    println!(
        "The demo stops after {} s; the host's data stays in target/demo/data.",
        started.elapsed().as_secs()
    );
    Ok(())
}

/// One second of plausible readings from a demo device: quiet detectors,
/// a steady hydrant, a calm heart and a door now and then.
fn simulated(device: &str, tick: u64) -> Vec<(&'static str, Value, Option<i64>)> {
    let wave = ((tick as f64) / 10.0).sin();
    match device.split('-').next().unwrap_or_default() {
        "smoke" => vec![
            ("smoke", json!(0.2 + 0.1 * wave.abs()), None),
            (
                "battery",
                json!(97.0 - (tick as f64 / 600.0).min(20.0)),
                None,
            ),
        ],
        "pressure" => vec![("pressure", json!(310.0 + 5.0 * wave), None)],
        "watch" => vec![
            ("heart-rate", json!((76.0 + 4.0 * wave).round()), None),
            ("steps", json!(tick * 2), None),
        ],
        "door" if tick.is_multiple_of(15) => vec![("door", json!(tick.is_multiple_of(30)), None)],
        _ => vec![],
    }
}

/// What the status line shows, and what the next one is compared with.
struct Status {
    line: String,
    /// The active alarms: type and originator.
    alarms: BTreeSet<(String, String)>,
    /// Who the open request was offered to.
    offered: Vec<String>,
}

/// `412 readings · active alarms: fire-confirmed, ... · 3 open work orders · r-000002 ...`
fn status(c: &Community, open_request: &str) -> Result<Status> {
    let stats = c.command(&c.committee, HELLO, "stats", json!({}))?;
    let active = c.committee.get(&c.path("/alarms?state=active"))?;
    let alarms: BTreeSet<(String, String)> = active
        .as_array()
        .into_iter()
        .flatten()
        .map(|a| {
            let field = |name: &str| a[name].as_str().unwrap_or("?").to_owned();
            (field("alarm_type"), field("originator"))
        })
        .collect();
    let mut counts: BTreeMap<&str, u32> = BTreeMap::new();
    for (kind, _) in &alarms {
        *counts.entry(kind).or_default() += 1;
    }
    let listed: Vec<String> = counts
        .iter()
        .map(|(kind, n)| {
            if *n == 1 {
                (*kind).to_owned()
            } else {
                format!("{kind} ×{n}")
            }
        })
        .collect();
    let orders = c.command(&c.committee, FIRE, "work-orders", json!({}))?["work_orders"]
        .as_array()
        .map_or(0, Vec::len);
    let request = c.command(
        &c.committee,
        ELDER,
        "show-request",
        json!({"request": open_request}),
    )?;
    let offered = offered(&request);
    let line = format!(
        "{} readings · active alarms: {} · {orders} open work orders · {open_request} {}, offered to {} (round {})",
        stats["total"],
        if listed.is_empty() { "none".to_owned() } else { listed.join(", ") },
        request["status"].as_str().unwrap_or("?"),
        offered.len(),
        request["round"]
    );
    Ok(Status {
        line,
        alarms,
        offered,
    })
}
