//! The demo: a real host on the embedded store in `target/demo`, a community
//! with devices and hello-scene enabled, and a simulated feed of readings,
//! with the plugin's counts printed as they grow.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use serde_json::{json, Value};

use crate::{component_path, root};

const COMMUNITY: &str = "sunny-garden";

/// A tiny API client for the demo script.
struct Api {
    base: String,
    token: String,
}

impl Api {
    fn call(&self, method: &str, path: &str, body: Option<Value>) -> Result<Value> {
        let request = ureq::request(method, &format!("{}{path}", self.base))
            .set("Authorization", &format!("Bearer {}", self.token));
        let response = match body {
            Some(body) => request.send_json(body),
            None => request.call(),
        };
        match response {
            Ok(r) => Ok(r.into_json().unwrap_or(Value::Null)),
            Err(ureq::Error::Status(code, r)) => bail!(
                "{method} {path}: {code} {}",
                r.into_string().unwrap_or_default()
            ),
            Err(e) => Err(e).context(format!("{method} {path}")),
        }
    }

    fn upload(&self, package: Vec<u8>) -> Result<()> {
        ureq::post(&format!("{}/api/v1/plugins", self.base))
            .set("Authorization", &format!("Bearer {}", self.token))
            .set("Content-Type", "application/x-tar")
            .send_bytes(&package)
            .context("uploading a plugin")?;
        Ok(())
    }
}

/// Stops the host when the demo ends, however it ends.
struct Host(Child);

impl Drop for Host {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

pub fn run(listen: &str, seconds: Option<u64>) -> Result<()> {
    crate::run(crate::cargo().args(["build", "-p", "linli-host", "--bin", "linli"]))?;
    let linli = root().join("target/debug/linli");
    let demo_dir = root().join("target/demo");
    let _ = std::fs::remove_dir_all(&demo_dir);
    std::fs::create_dir_all(&demo_dir)?;

    let package = demo_dir.join("hello-scene.linli");
    crate::run(
        Command::new(&linli)
            .args(["plugin", "pack"])
            .arg(root().join("examples/hello-scene"))
            .arg("--wasm")
            .arg(component_path("hello-scene"))
            .arg("-o")
            .arg(&package),
    )?;

    let token = format!("lnl_demo_{}", hex::encode(rand::random::<[u8; 16]>()));
    let _host = Host(
        Command::new(&linli)
            .args(["serve", "--data-dir"])
            .arg(demo_dir.join("data"))
            .args(["--listen", listen])
            .env("LINLI_ADMIN_TOKEN", &token)
            .stdout(Stdio::inherit())
            .spawn()
            .context("starting the host")?,
    );
    let admin = Api {
        base: format!("http://{listen}"),
        token: token.clone(),
    };
    wait_healthy(&admin)?;

    admin.call(
        "POST",
        "/api/v1/communities",
        Some(
            json!({"id": COMMUNITY, "name": "阳光花园 Sunny Garden", "timezone": "Asia/Shanghai"}),
        ),
    )?;
    let mut feeds = Vec::new();
    for (id, kinds) in [
        ("b1-lobby-thermo", json!(["temperature", "humidity"])),
        ("b2-stair-smoke", json!(["smoke", "battery"])),
        ("b3-101-door", json!(["door"])),
        ("elder-wang-band", json!(["heart-rate", "steps"])),
    ] {
        let device = admin.call(
            "POST",
            &format!("/api/v1/communities/{COMMUNITY}/devices"),
            Some(json!({"id": id, "kind": "sensor", "reading_kinds": kinds})),
        )?;
        feeds.push((
            id,
            Api {
                base: admin.base.clone(),
                token: device["token"].as_str().unwrap_or_default().to_owned(),
            },
        ));
    }
    admin.upload(std::fs::read(&package)?)?;
    admin.call(
        "POST",
        &format!("/api/v1/communities/{COMMUNITY}/installations"),
        Some(json!({"plugin": "hello-scene", "version": "0.1.0", "grants": {"sensor": {"kinds": ["*"]}, "store": {}}, "config": {"greeting": "你好, 邻里"}})),
    )?;

    println!();
    println!("linli demo is running at {}", admin.base);
    println!("  platform-admin token: {token}");
    println!("  community: {COMMUNITY}, with hello-scene counting readings from 4 devices");
    println!("  try: curl -s -X POST -H 'Authorization: Bearer {token}' {}/api/v1/communities/{COMMUNITY}/plugins/hello-scene/commands/stats", admin.base);
    println!(
        "  API description: {}/api/v1/openapi.json   metrics: {}/metrics",
        admin.base, admin.base
    );
    println!("  Ctrl-C stops the demo.");
    println!();

    let started = Instant::now();
    let mut tick: u64 = 0;
    while seconds.is_none_or(|s| started.elapsed() < Duration::from_secs(s)) {
        tick += 1;
        for (id, device) in &feeds {
            device.call("POST", "/api/v1/ingest", Some(simulated_readings(id, tick)))?;
        }
        if tick.is_multiple_of(5) {
            let stats = admin.call(
                "POST",
                &format!("/api/v1/communities/{COMMUNITY}/plugins/hello-scene/commands/stats"),
                Some(json!({})),
            )?;
            println!(
                "[{:>4}s] hello-scene has counted {} readings: {}",
                started.elapsed().as_secs(),
                stats["total"],
                stats["counts"]
            );
        }
        std::thread::sleep(Duration::from_secs(1));
    }
    Ok(())
}

fn wait_healthy(api: &Api) -> Result<()> {
    let deadline = Instant::now() + Duration::from_secs(60);
    while Instant::now() < deadline {
        if ureq::get(&format!("{}/healthz", api.base)).call().is_ok() {
            return Ok(());
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    bail!("the host did not become healthy within 60 s")
}

/// One second of plausible readings from a demo device.
fn simulated_readings(device: &str, tick: u64) -> Value {
    let wave = ((tick as f64) / 10.0).sin();
    let readings = match device {
        "b1-lobby-thermo" => vec![
            ("temperature", json!(22.0 + 2.0 * wave)),
            ("humidity", json!(55.0 + 10.0 * wave)),
        ],
        "b2-stair-smoke" => vec![
            ("smoke", json!(0.2 + 0.1 * wave.abs())),
            ("battery", json!(100.0 - (tick as f64 / 100.0).min(80.0))),
        ],
        "b3-101-door" => vec![("door", json!(tick.is_multiple_of(7)))],
        _ => vec![
            ("heart-rate", json!(72.0 + 6.0 * wave)),
            ("steps", json!(tick * 3)),
        ],
    };
    Value::Array(
        readings
            .into_iter()
            .map(|(kind, value)| json!({"device": device, "kind": kind, "value": value}))
            .collect(),
    )
}
