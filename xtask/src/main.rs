//! `cargo xtask`: the project's build orchestration.
//!
//! - `cargo xtask plugins` builds every plugin to a wasm component.
//! - `cargo xtask test` builds the plugins, installs the browser the
//!   console's tests drive when it is missing, and runs every test (the
//!   plugins' own unit tests natively), then the end-to-end tests again on
//!   PostgreSQL.
//! - `cargo xtask demo` runs a host with the scene plugins and a scripted
//!   demo community.
//! - `cargo xtask bench` runs the benchmarks in release mode.
//!
//! Its own unit tests, run by `cargo xtask test`, include the check that the
//! host's top-level modules import one another without a cycle (`layers`).

mod browser;
mod demo;
#[cfg(test)]
mod layers;
mod python;

use std::net::{TcpStream, ToSocketAddrs};
use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use anyhow::{bail, Context, Result};
use clap::{Parser, Subcommand};

/// Build, test, benchmark and demo linli.
#[derive(Parser)]
#[command(name = "cargo xtask")]
struct Cli {
    #[command(subcommand)]
    command: Task,
}

#[derive(Subcommand)]
enum Task {
    /// Build every plugin (examples/ and plugins/, Rust and Python) to wasm32-wasip2 components.
    Plugins,
    /// Build the plugins (and install the console tests' browser if missing), run every test, then the end-to-end tests again on PostgreSQL.
    Test {
        /// Extra arguments for `cargo test` (e.g. a test name filter).
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<String>,
    },
    /// Run a host with the scene plugins, a scripted story in the demo community, then a simulated device feed.
    Demo {
        /// Address for the host's API.
        #[arg(long, default_value = "127.0.0.1:8080")]
        listen: String,
        /// Stop this many seconds after the story (runs until Ctrl-C when absent).
        #[arg(long)]
        seconds: Option<u64>,
    },
    /// Build the plugins and run the runtime, ledger, ingest, ingest-gateways (wrk against linli and a Node-RED peer), ingest-memory, map, notify and fire benchmarks in release mode; figures go to stdout.
    Bench {
        /// Extra arguments for the benchmark harness (e.g. a benchmark name filter).
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<String>,
    },
}

/// The plugin crates, built to `target/wasm/wasm32-wasip2/plugin/<name>.wasm`
/// (the scenes written in Python are in `python::PYTHON_PLUGINS`).
pub const PLUGINS: &[&str] = &[
    "hello-scene",
    "hostile-scene",
    "bench-scene",
    "points-scene",
    "alarm-scene",
    "map-scene",
    "notify-scene",
    "fire-safety",
    "elder-care",
    "parking",
    "voting",
];

/// The workspace root.
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("xtask is inside the workspace")
        .to_path_buf()
}

/// Runs a command in the workspace root, failing on a non-zero exit.
pub fn run(command: &mut Command) -> Result<()> {
    let shown = format!("{command:?}");
    eprintln!("xtask: {shown}");
    let status = command
        .current_dir(root())
        .status()
        .with_context(|| format!("cannot run {shown}"))?;
    if !status.success() {
        bail!("{shown} failed with {status}");
    }
    Ok(())
}

/// `cargo`, as the one running xtask.
pub fn cargo() -> Command {
    Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned()))
}

/// Installs the wasm32-wasip2 target when it is missing.
fn ensure_wasm_target() -> Result<()> {
    let installed = Command::new("rustup")
        .args(["target", "list", "--installed"])
        .output()
        .context("rustup is needed to install the wasm32-wasip2 target")?;
    if !String::from_utf8_lossy(&installed.stdout)
        .lines()
        .any(|t| t == "wasm32-wasip2")
    {
        eprintln!("xtask: installing the wasm32-wasip2 target");
        run(Command::new("rustup").args(["target", "add", "wasm32-wasip2"]))?;
    }
    Ok(())
}

/// Builds every plugin component.
pub fn build_plugins() -> Result<()> {
    ensure_wasm_target()?;
    let mut build = cargo();
    build.args([
        "build",
        "--profile",
        "plugin",
        "--target",
        "wasm32-wasip2",
        "--target-dir",
        "target/wasm",
    ]);
    for plugin in PLUGINS {
        build.args(["-p", plugin]);
    }
    run(&mut build)?;
    python::build_plugins(&python::environment()?)
}

/// Runs the plugins' and the SDK's own tests natively: their domain logic,
/// the SDK's calendar, and their handlers on the SDK's simulated host.
fn test_plugin_logic() -> Result<()> {
    let mut test = cargo();
    // `--tests`: the crates' unit tests and the SDK's simulated-host tests,
    // not their doctests (the SDK's examples are compiled for wasm only).
    test.args(["test", "--tests", "-p", "linli-sdk"]);
    for plugin in PLUGINS {
        test.args(["-p", plugin]);
    }
    run(&mut test)
}

/// The built component of a plugin.
pub fn component_path(plugin: &str) -> PathBuf {
    root()
        .join("target/wasm/wasm32-wasip2/plugin")
        .join(format!("{}.wasm", plugin.replace('-', "_")))
}

/// The PostgreSQL server the end-to-end tests run against a second time.
const DEFAULT_POSTGRES: &str = "postgres://127.0.0.1:5432/test";

/// Runs the end-to-end tests again with every host on a fresh PostgreSQL
/// database. Without a reachable server this is skipped with a warning,
/// except in CI, where it is an error.
fn test_on_postgres(args: &[String]) -> Result<()> {
    let url = std::env::var("LINLI_TEST_POSTGRES").unwrap_or_else(|_| DEFAULT_POSTGRES.to_owned());
    let address = url
        .split("://")
        .nth(1)
        .and_then(|rest| rest.rsplit('@').next())
        .and_then(|rest| rest.split('/').next())
        .unwrap_or("127.0.0.1:5432");
    let reachable = address
        .to_socket_addrs()
        .ok()
        .and_then(|mut addrs| addrs.next())
        .is_some_and(|addr| TcpStream::connect_timeout(&addr, Duration::from_secs(2)).is_ok());
    if !reachable {
        if std::env::var("CI").is_ok_and(|ci| ci == "true") {
            bail!("no PostgreSQL server at {address}; CI runs every end-to-end test on PostgreSQL too");
        }
        eprintln!("xtask: WARNING: no PostgreSQL server at {address}; skipping the PostgreSQL pass (set LINLI_TEST_POSTGRES)");
        return Ok(());
    }
    eprintln!("xtask: running the end-to-end tests again on PostgreSQL ({address})");
    // Every integration test target of the default members, not `-p
    // linli-tests`: the same package selection as the first pass resolves
    // the same features, so nothing is compiled again (selecting the tests
    // crate alone rebuilt the host and its dependencies).
    run(cargo()
        .args(["test", "--test", "*"])
        .args(args)
        .env("LINLI_TEST_POSTGRES", &url))
}

fn main() -> Result<()> {
    match Cli::parse().command {
        Task::Plugins => build_plugins(),
        Task::Test { args } => {
            build_plugins()?;
            browser::ensure()?;
            let python = python::environment()?;
            run(cargo()
                .arg("test")
                .args(&args)
                .env("LINLI_TEST_PYTHON", &python))?;
            test_plugin_logic()?;
            test_on_postgres(&args)
        }
        Task::Demo { listen, seconds } => demo::run(&listen, seconds),
        Task::Bench { args } => {
            build_plugins()?;
            run(cargo()
                .args([
                    "bench",
                    "-p",
                    "linli-host",
                    "--bench",
                    "runtime",
                    "--bench",
                    "ledger",
                    "--bench",
                    "ingest",
                    "--bench",
                    "ingest_gateways",
                    "--bench",
                    "ingest_memory",
                    "--bench",
                    "map",
                    "--bench",
                    "notify",
                    "--bench",
                    "fire",
                    "--bench",
                    "parking",
                    "--bench",
                    "voting",
                    "--",
                ])
                .args(&args))
        }
    }
}
