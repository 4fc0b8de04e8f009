//! `cargo xtask demo`: the real `linli` host on the embedded store in
//! `target/demo`, the demo community Sunny Garden with its map, the scene
//! plugins installed with the grants their manifests request, a scripted
//! story told over the HTTP API (`story.rs`, reading back through
//! `observe.rs`), then a simulated feed of readings with a status line
//! (`feed.rs`) until Ctrl-C or `--seconds`.

mod api;
mod community;
mod feed;
mod observe;
mod parking;
mod story;
mod voting;

use std::path::{Path, PathBuf};
use std::process::Stdio;

use anyhow::{bail, Context, Result};
use serde_json::Value;

use api::{Api, Host};
use community::{Community, COMMUNITY, FIRE};

use crate::root;

pub fn run(listen: &str, seconds: Option<u64>) -> Result<()> {
    println!("linli demo: builds the scene plugins and the `linli` host, starts the host on the");
    println!("embedded store in target/demo, creates the community Sunny Garden (阳光花园) from");
    println!("examples/demo-community, installs hello-scene, fire-safety, elder-care, parking and");
    println!(
        "voting, and tells a short story over the HTTP API: the time bank, a wearable's alarm,"
    );
    println!(
        "a fire, a hydrant losing pressure, parking and an owners' vote (a minute long). Then"
    );
    println!("simulated devices keep reporting until Ctrl-C");
    match seconds {
        Some(s) => println!("(here: for {s} s)."),
        None => println!("(or --seconds N)."),
    }
    println!();

    crate::build_plugins()?;
    let linli = build_linli()?;
    let demo_dir = root().join("target/demo");
    let _ = std::fs::remove_dir_all(&demo_dir);
    std::fs::create_dir_all(&demo_dir)
        .with_context(|| format!("creating {}", demo_dir.display()))?;
    let packages = community::pack_scenes(&linli, &demo_dir)?;

    let token = format!("lnl_demo_{}", hex::encode(rand::random::<[u8; 16]>()));
    let admin = Api::new(format!("http://{listen}"), token)?;
    let host = Host::start(&linli, &demo_dir.join("data"), listen, &admin)?;
    println!();
    println!(
        "The host is up at {} (its log: target/demo/host.log).",
        admin.base()
    );

    let shown = (|| {
        let mut c = Community::create(&admin, &packages).context("setting up the community")?;
        let told = story::tell(&mut c, &linli, &demo_dir)?;
        print_try(&admin, &c, &told, &linli);
        feed::run(&c, seconds, &told.open_request)
    })();
    if shown.is_err() {
        eprintln!(
            "The host's last log lines ({}):\n{}",
            host.log.display(),
            host.log_tail()
        );
    }
    shown
}

/// Builds the `linli` binary (dev profile) and returns its path, wherever
/// cargo's target directory is.
fn build_linli() -> Result<PathBuf> {
    let mut build = crate::cargo();
    build.args([
        "build",
        "-p",
        "linli-host",
        "--bin",
        "linli",
        "--message-format=json-render-diagnostics",
    ]);
    eprintln!("xtask: {build:?}");
    let output = build
        .current_dir(root())
        .stderr(Stdio::inherit())
        .output()
        .context("cannot run cargo build")?;
    if !output.status.success() {
        bail!("building the linli binary failed with {}", output.status);
    }
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .filter_map(|line| serde_json::from_str::<Value>(line).ok())
        .filter(|m| m["reason"] == "compiler-artifact" && m["target"]["name"] == "linli")
        .find_map(|m| m["executable"].as_str().map(PathBuf::from))
        .context("cargo built no linli executable")
}

/// What to look at while the demo runs.
fn print_try(admin: &Api, c: &Community, told: &story::Told, linli: &Path) {
    let base = admin.base();
    let linli = linli.strip_prefix(root()).unwrap_or(linli).display();
    let committee = format!("-H 'Authorization: Bearer {}'", c.committee.token());
    let son = format!("-H 'Authorization: Bearer {}'", told.son.token());
    let community = format!("{base}/api/v1/communities/{COMMUNITY}");
    println!();
    println!("── The demo keeps running at {base}");
    println!("  platform-admin token: {}", admin.token());
    println!(
        "  residents' committee (community-admin) token: {}",
        c.committee.token()
    );
    println!("  Gao Qiang's (person-038) token: {}", told.son.token());
    println!();
    println!("  # the web console: log in with one of these tokens");
    println!("  {base}/console/");
    println!();
    println!("  # his inbox: the heart-rate alert, the fire");
    println!("  curl -s {son} {base}/api/v1/me/inbox");
    println!("  # the fire messages, and who got the residents' one on which channel");
    println!("  curl -s {committee} '{community}/notifications?topic=fire-confirmed'");
    println!(
        "  curl -s {committee} {community}/notifications/{}",
        told.fire_message
    );
    println!("  # active alarms, and the community feed live (Server-Sent Events)");
    println!("  curl -s {committee} '{community}/alarms?state=active'");
    println!("  curl -sN {committee} {community}/events");
    println!("  # fire-safety's open work orders");
    println!("  curl -s {committee} -X POST -H 'Content-Type: application/json' -d '{{}}' {community}/plugins/{FIRE}/commands/work-orders");
    println!("  # the time-bank payment's receipt, checked offline");
    println!(
        "  curl -s {committee} {community}/ledger/entries/{}/receipt > receipt.json",
        told.receipt_index
    );
    println!("  {linli} ledger verify receipt.json --key $(curl -s {base}/api/v1/ledger/public-key | jq -r .public_key)");
    println!("  # the whole API, and the metrics");
    println!("  curl -s {base}/api/v1/openapi.json");
    println!("  curl -s {base}/metrics");
    println!();
    println!("  Ctrl-C stops the demo.");
    println!();
}
