//! `linli`: the host binary. `linli serve` runs a host; `linli plugin pack`
//! builds a plugin package; `linli ledger verify|audit` checks the ledger
//! without trusting a server.

use std::io::IsTerminal;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context;
use clap::{Parser, Subcommand};
use linli_host::caps::ledger::checkpoint::HostKey;
use linli_host::caps::ledger::log::Receipt;
use linli_host::{HostConfig, Server, SystemClock};

/// linli (邻里): a WebAssembly plugin platform for smart residential communities.
#[derive(Parser)]
#[command(name = "linli", version, about, long_about = None)]
struct Cli {
    /// On failure, print every cause and where it arose, not one line.
    #[arg(short, long, global = true)]
    verbose: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run a host: the HTTP API, the plugin runtime and the store.
    Serve {
        /// Where the embedded store and the compiled-plugin cache live.
        #[arg(long, env = "LINLI_DATA_DIR", default_value = "data")]
        data_dir: PathBuf,
        /// Address for the HTTP API.
        #[arg(long, env = "LINLI_LISTEN", default_value = "127.0.0.1:8080")]
        listen: SocketAddr,
        /// Use this platform-admin token instead of generating one at first start.
        #[arg(long, env = "LINLI_ADMIN_TOKEN", hide_env_values = true)]
        admin_token: Option<String>,
        /// Default linear-memory cap per installation, in MiB.
        #[arg(long, default_value_t = 64)]
        memory_mib: u32,
        /// Default wall-clock budget per plugin call, in milliseconds.
        #[arg(long, default_value_t = 200)]
        call_timeout_ms: u32,
        /// Another default limit or quota per installation, as NAME=VALUE
        /// (repeatable), e.g. --default-limit state-bytes=134217728; the
        /// names are those of an installation's `limits`.
        #[arg(long = "default-limit", value_name = "NAME=VALUE")]
        default_limit: Vec<String>,
        /// Also take readings from this MQTT broker (mqtt://[user:password@]host[:port]),
        /// published by devices on linli/{community}/{device}/readings.
        #[arg(long, env = "LINLI_MQTT", value_name = "URL")]
        mqtt: Option<String>,
        /// Let notification gateways point at loopback and private addresses
        /// (a host whose gateways run on its own private network).
        #[arg(long)]
        allow_private_gateways: bool,
        /// A development host: accept unsigned plugin packages (signed ones
        /// are still checked against the trust store).
        #[arg(long)]
        dev: bool,
        /// How often to purge readings past their community's retention, in seconds.
        #[arg(long, default_value_t = 3600, value_parser = clap::value_parser!(u64).range(1..))]
        purge_interval_secs: u64,
    },
    /// Work with plugin packages.
    Plugin {
        #[command(subcommand)]
        command: PluginCommand,
    },
    /// Check the community ledger without trusting the server.
    Ledger {
        #[command(subcommand)]
        command: LedgerCommand,
    },
}

#[derive(Subcommand)]
enum LedgerCommand {
    /// Verify an entry's receipt (from GET …/ledger/entries/{index}/receipt) offline.
    Verify {
        /// The receipt, a JSON file ("-" reads standard input).
        receipt: PathBuf,
        /// The host's public key, hex (from GET /api/v1/ledger/public-key).
        #[arg(long)]
        key: String,
        /// The log the receipt must be from (`linli/ledger/<community>`): a
        /// receipt from another community's log is refused.
        #[arg(long)]
        origin: Option<String>,
    },
    /// Recompute every community's ledger from the store and check it against the signed checkpoints.
    Audit {
        /// The host's data dir.
        #[arg(long, env = "LINLI_DATA_DIR", default_value = "data")]
        data_dir: PathBuf,
        /// The host's public key, hex; read from the data dir's key file when absent.
        #[arg(long)]
        key: Option<String>,
    },
}

#[derive(Subcommand)]
enum PluginCommand {
    /// Start a new plugin crate: a scene with one handler and one command,
    /// its manifest and config schema, native tests and a README.
    New {
        /// The plugin's id and crate name (a-z, 0-9, '-').
        name: String,
        /// What the example scene mainly does.
        #[arg(long, value_enum, default_value = "reading")]
        kind: linli_host::vendor::template::Kind,
        /// Who publishes it, as the manifest's `vendor`.
        #[arg(long, default_value = "example-vendor")]
        vendor: String,
        /// Where to make the crate's folder.
        #[arg(long, default_value = ".")]
        dir: PathBuf,
        /// A local linli SDK to build against until linli-sdk is on
        /// crates.io; the SDK this host was built from when not given.
        #[arg(long)]
        sdk: Option<PathBuf>,
    },
    /// Make a vendor signing key: writes the secret key to the file given
    /// and the public key beside it (`.pub`), and prints the public key for
    /// a host's trust store.
    Keygen {
        /// Where to write the secret key (hex); the public key goes beside it
        /// with the extension `.pub`.
        #[arg(long)]
        out: PathBuf,
    },
    /// Sign a package as its manifest's vendor.
    Sign {
        /// The package to sign (from `linli plugin pack`).
        package: PathBuf,
        /// The vendor's secret key file (from `linli plugin keygen`).
        #[arg(long)]
        key: PathBuf,
        /// Where to write the signed package; the package itself when not given.
        #[arg(short, long)]
        output: Option<PathBuf>,
    },
    /// Rebuild, upload and upgrade a development installation on every
    /// change of the plugin's files; the installation keeps its state and
    /// its place in the event log across reloads.
    Dev {
        /// The plugin directory holding linli.toml (and Cargo.toml for a crate).
        dir: PathBuf,
        /// The host's API.
        #[arg(long, env = "LINLI_HOST", default_value = "http://127.0.0.1:8080")]
        host: String,
        /// A token that may publish plugins and manage the community's
        /// installations.
        #[arg(long, env = "LINLI_TOKEN", hide_env_values = true)]
        token: String,
        /// The community of the development installation.
        #[arg(long)]
        community: String,
        /// The component to pack, when not the one cargo builds for the
        /// crate; without --build, a new one written there starts a round.
        #[arg(long)]
        wasm: Option<PathBuf>,
        /// A shell command, run in DIR, that builds the component given with
        /// --wasm (for a plugin that is not a Rust crate).
        #[arg(long, requires = "wasm")]
        build: Option<String>,
        /// The installation's config (JSON) when the loop installs it.
        #[arg(long, default_value = "{}")]
        config: String,
        /// Sign every package with this vendor key (for a host not in --dev mode).
        #[arg(long)]
        key: Option<PathBuf>,
        /// Reload once and stop, instead of watching.
        #[arg(long)]
        once: bool,
    },
    /// Run the plugin's built component through scenario files (readings,
    /// clock moves, commands, and the alarms, messages and ledger entries
    /// expected) on a host of its own: the real runtime on a temporary store.
    Test {
        /// The plugin directory holding linli.toml (and Cargo.toml for a crate).
        dir: PathBuf,
        /// Scenario files; DIR/scenarios/*.toml when none are given.
        #[arg(conflicts_with = "replay")]
        scenarios: Vec<PathBuf>,
        /// The built component; for a crate, the one cargo built.
        #[arg(long)]
        wasm: Option<PathBuf>,
        /// Replay a dead letter's bundle (`GET …/dead-letters/{id}`) against
        /// this build instead: the same event, state, map and devices.
        #[arg(long)]
        replay: Option<PathBuf>,
    },
    /// Pack a plugin (its linli.toml and built component) into one package file.
    Pack {
        /// The plugin directory holding linli.toml (and Cargo.toml for a crate).
        dir: PathBuf,
        /// The built component; for a crate, the one `cargo build --release
        /// --target wasm32-wasip2` wrote; else DIR/plugin.wasm.
        #[arg(long)]
        wasm: Option<PathBuf>,
        /// Where to write the package.
        #[arg(short, long)]
        output: PathBuf,
    },
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let Cli { verbose, command } = Cli::parse();
    match run(command).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(error) => {
            // One line a person can act on; the chain and backtrace on request.
            if verbose {
                eprintln!("linli: {error:?}");
            } else {
                eprintln!("linli: {error:#}");
            }
            std::process::ExitCode::FAILURE
        }
    }
}

async fn run(command: Command) -> anyhow::Result<()> {
    // `plugin test` runs hosts of its own: their start-up lines would bury
    // the results, so it logs warnings (and the plugin's own lines) only.
    let default_filter = match &command {
        Command::Plugin {
            command: PluginCommand::Test { .. },
        } => "warn,plugin=info",
        _ => "info,sqlx=warn,wasmtime=warn,cranelift=warn",
    };
    tracing_subscriber::fmt()
        // Colours only for a terminal: a log file or collector gets plain text.
        .with_ansi(std::io::stdout().is_terminal())
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| default_filter.into()),
        )
        .init();
    match command {
        Command::Serve {
            data_dir,
            listen,
            admin_token,
            memory_mib,
            call_timeout_ms,
            default_limit,
            mqtt,
            allow_private_gateways,
            dev,
            purge_interval_secs,
        } => {
            let mut config = HostConfig::new(data_dir, listen);
            config.dev = dev;
            if dev {
                tracing::warn!("development host: unsigned plugin packages are accepted");
            }
            config.admin_token = admin_token;
            config.mqtt = mqtt;
            config.notify.allow_private_gateways = allow_private_gateways;
            config.purge_interval = std::time::Duration::from_secs(purge_interval_secs);
            config.database_url = std::env::var("DATABASE_URL").ok();
            let mut changes = serde_json::json!({
                "memory-mib": memory_mib,
                "call-timeout-ms": call_timeout_ms,
            });
            for pair in &default_limit {
                let (name, value) = pair.split_once('=').ok_or_else(|| {
                    anyhow::anyhow!("--default-limit {pair:?}: expected NAME=VALUE")
                })?;
                let value: u64 = value.trim().parse().map_err(|e| {
                    anyhow::anyhow!("--default-limit {name}: {value:?} is not a whole number: {e}")
                })?;
                changes[name.trim()] = value.into();
            }
            config.default_limits = linli_host::limits::Limits::default()
                .with_changes(&changes)
                .map_err(anyhow::Error::msg)?;
            config
                .default_limits
                .check_within(&config.max_limits)
                .map_err(anyhow::Error::msg)?;
            let mut server = Server::start(config, Arc::new(SystemClock)).await?;
            if let Some(token) = &server.generated_admin_token {
                println!("platform-admin token (shown once, keep it safe): {token}");
            }
            println!("linli listening on {}", server.url());
            tokio::select! {
                result = server.wait() => result?,
                _ = tokio::signal::ctrl_c() => {
                    tracing::info!("shutting down");
                    server.shutdown().await?;
                }
            }
        }
        Command::Plugin {
            command:
                PluginCommand::New {
                    name,
                    kind,
                    vendor,
                    dir,
                    sdk,
                },
        } => {
            let plugin = linli_host::vendor::template::NewPlugin {
                name: &name,
                kind,
                vendor: &vendor,
                parent: &dir,
                sdk: sdk.as_deref(),
            };
            let made = linli_host::vendor::template::generate(&plugin)?;
            println!("created {}", made.display());
            println!("next: cd {} && cargo test && cargo build --release --target wasm32-wasip2 && linli plugin pack . -o {name}.linli", made.display());
        }
        Command::Plugin {
            command: PluginCommand::Keygen { out },
        } => {
            let public = linli_host::vendor::keys::generate(&out)?;
            println!("secret key: {} (keep it to yourself)", out.display());
            println!("public key: {public}");
        }
        Command::Plugin {
            command:
                PluginCommand::Sign {
                    package,
                    key,
                    output,
                },
        } => {
            let key = linli_host::vendor::keys::read_secret(&key)?;
            let bytes = std::fs::read(&package)
                .with_context(|| format!("reading {}", package.display()))?;
            let signed = linli_host::registry::package::signed(&bytes, &key)?;
            let output = output.unwrap_or(package);
            std::fs::write(&output, signed)
                .with_context(|| format!("writing {}", output.display()))?;
            println!(
                "signed {} with key {}",
                output.display(),
                hex::encode(key.verifying_key().as_bytes())
            );
        }
        Command::Plugin {
            command:
                PluginCommand::Dev {
                    dir,
                    host,
                    token,
                    community,
                    wasm,
                    build,
                    config,
                    key,
                    once,
                },
        } => {
            use linli_host::vendor::dev::{Build, DevPlugin};
            let build = match (build, dir.join("Cargo.toml").exists(), &wasm) {
                (Some(line), _, _) => Build::Command(line),
                (None, true, None) => Build::Cargo,
                (None, _, _) => Build::Prebuilt,
            };
            let plugin = DevPlugin {
                dir,
                wasm,
                build,
                community,
                config: serde_json::from_str(&config).context("--config is not JSON")?,
                key: key
                    .map(|key| linli_host::vendor::keys::read_secret(&key))
                    .transpose()?,
            };
            dev_loop(plugin, linli_client::Client::new(host, token), once).await?;
        }
        Command::Plugin {
            command:
                PluginCommand::Test {
                    dir,
                    scenarios,
                    wasm,
                    replay,
                },
        } => match replay {
            Some(bundle) => replay_bundle(&dir, &bundle, wasm.as_deref()).await?,
            None => test_scenarios(&dir, scenarios, wasm.as_deref()).await?,
        },
        Command::Plugin {
            command: PluginCommand::Pack { dir, wasm, output },
        } => {
            let package = linli_host::vendor::build::pack_crate(&dir, wasm.as_deref())?;
            std::fs::write(&output, &package)
                .with_context(|| format!("writing {}", output.display()))?;
            println!("packed {} ({} bytes)", output.display(), package.len());
        }
        Command::Ledger {
            command:
                LedgerCommand::Verify {
                    receipt,
                    key,
                    origin,
                },
        } => verify_receipt(&receipt, &key, origin.as_deref())?,
        Command::Ledger {
            command: LedgerCommand::Audit { data_dir, key },
        } => audit(&data_dir, key.as_deref()).await?,
    }
    Ok(())
}

/// `linli ledger verify`: exits 1 when the receipt does not check out.
/// Runs every scenario, printing a line for each; fails when one did not hold.
async fn test_scenarios(
    dir: &std::path::Path,
    mut files: Vec<PathBuf>,
    wasm: Option<&std::path::Path>,
) -> anyhow::Result<()> {
    use linli_host::scenarios::{discover, run_scenario, Scenario};
    let package = linli_host::vendor::build::pack_crate(dir, wasm)?;
    if files.is_empty() {
        files = discover(dir);
    }
    if files.is_empty() {
        anyhow::bail!(
            "no scenarios: write {}/scenarios/NAME.toml or name the files",
            dir.display()
        );
    }
    let mut failed = 0;
    for file in &files {
        let name = file.file_stem().unwrap_or_default().to_string_lossy();
        let scenario = Scenario::load(file)?;
        match run_scenario(package.clone(), &scenario).await {
            Ok(outcome) => println!(
                "ok     {name} ({} steps, {:.2} s) {}",
                outcome.steps, outcome.seconds, scenario.description
            ),
            Err(error) => {
                failed += 1;
                println!("FAILED {name}: {error}");
            }
        }
    }
    if failed > 0 {
        anyhow::bail!("{failed} of {} scenarios failed", files.len());
    }
    println!("{} scenarios held", files.len());
    Ok(())
}

/// Replays a dead letter's bundle against the build in `dir`; fails when
/// the event fails again, printing how.
async fn replay_bundle(
    dir: &std::path::Path,
    bundle: &std::path::Path,
    wasm: Option<&std::path::Path>,
) -> anyhow::Result<()> {
    use linli_host::scenarios::{read_bundle, replay, Replayed};
    let text =
        std::fs::read_to_string(bundle).with_context(|| format!("reading {}", bundle.display()))?;
    let bundle = read_bundle(&text)?;
    let package = linli_host::vendor::build::pack_crate(dir, wasm)?;
    let letter = &bundle.dead_letter;
    println!(
        "replaying dead letter {} of {} {} ({}: {})",
        letter.id,
        bundle.plugin,
        bundle.version,
        letter.reason,
        letter.error.lines().next().unwrap_or_default()
    );
    match replay(package, &bundle).await? {
        Replayed::Handled => {
            println!("handled: this build does not fail on it");
            Ok(())
        }
        Replayed::FailedAgain(error) => {
            println!("failed again: {error}");
            anyhow::bail!("the replayed event fails on this build too")
        }
    }
}

/// Reloads on every change until Ctrl-C (or once); a failure an edit can
/// fix is printed and waited out, any other ends the loop.
async fn dev_loop(
    plugin: linli_host::vendor::dev::DevPlugin,
    host: linli_client::Client,
    once: bool,
) -> anyhow::Result<()> {
    println!("watching {}", linli_host::vendor::dev::describe(&plugin));
    let mut dev = linli_host::vendor::dev::DevLoop::new(plugin, host);
    let watched = dev.watched();
    loop {
        match dev.round().await {
            Ok(done) => println!(
                "{} {} {} as installation {} (build {:.1} s, in all {:.1} s)",
                if done.installed {
                    "installed"
                } else {
                    "reloaded"
                },
                done.plugin,
                done.version,
                done.installation,
                done.build_seconds,
                done.total_seconds
            ),
            Err(e) if e.fixable_by_an_edit() && !once => {
                eprintln!("linli: {e}; waiting for the next change");
            }
            Err(e) => return Err(e.into()),
        }
        if once {
            return Ok(());
        }
        tokio::select! {
            () = watched.changed() => {}
            _ = tokio::signal::ctrl_c() => return Ok(()),
        }
    }
}

fn verify_receipt(path: &std::path::Path, key: &str, origin: Option<&str>) -> anyhow::Result<()> {
    let text = if path.as_os_str() == "-" {
        std::io::read_to_string(std::io::stdin())?
    } else {
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?
    };
    let receipt: Receipt =
        serde_json::from_str(&text).context("the file is not a linli ledger receipt")?;
    let checkpoint = &receipt.checkpoint.checkpoint;
    match receipt.verify_from(&parse_key(key)?, origin) {
        Ok(()) => println!(
            "verified: entry {} is in {} ({} entries, signed at {} ms)",
            receipt.entry.index, checkpoint.origin, checkpoint.size, checkpoint.timestamp_ms
        ),
        Err(e) => {
            eprintln!("NOT verified: {e}");
            std::process::exit(1);
        }
    }
    Ok(())
}

/// `linli ledger audit`: exits 1 when any community's log disagrees with its signed checkpoints.
async fn audit(data_dir: &std::path::Path, key: Option<&str>) -> anyhow::Result<()> {
    let key = match key {
        Some(key) => parse_key(key)?,
        None => {
            let path = data_dir.join(linli_host::caps::ledger::log::KEY_FILE);
            anyhow::ensure!(
                path.exists(),
                "no ledger key at {}; pass --key",
                path.display()
            );
            HostKey::load_or_create(&path)?.verifying_key()
        }
    };
    let url =
        std::env::var("DATABASE_URL").unwrap_or_else(|_| linli_host::db::sqlite_url(data_dir));
    let db = linli_host::db::open(&url).await?;
    let (checked, findings) = linli_host::caps::ledger::log::audit(&db, &key).await?;
    if findings.is_empty() {
        println!("audit passed: {checked} entries match their signed checkpoints");
        return Ok(());
    }
    for f in &findings {
        eprintln!(
            "audit FAILED: community {}: first bad entry {}: {}",
            f.community, f.first_bad_index, f.reason
        );
    }
    std::process::exit(1);
}

/// Parses a hex Ed25519 public key.
fn parse_key(hex_key: &str) -> anyhow::Result<ed25519_dalek::VerifyingKey> {
    let bytes: [u8; 32] = hex::decode(hex_key.trim())
        .ok()
        .and_then(|b| b.try_into().ok())
        .context("--key must be 64 hex digits (an Ed25519 public key)")?;
    Ok(ed25519_dalek::VerifyingKey::from_bytes(&bytes)?)
}
