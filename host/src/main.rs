//! `linli`: the host binary. `linli serve` runs a host; `linli plugin pack`
//! builds a plugin package.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context;
use clap::{Parser, Subcommand};
use linli_host::{HostConfig, Server, SystemClock};

/// linli (邻里): a WebAssembly plugin platform for smart residential communities.
#[derive(Parser)]
#[command(name = "linli", version, about, long_about = None)]
struct Cli {
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
    },
    /// Work with plugin packages.
    Plugin {
        #[command(subcommand)]
        command: PluginCommand,
    },
}

#[derive(Subcommand)]
enum PluginCommand {
    /// Pack a plugin directory (its linli.toml and a built component) into one package file.
    Pack {
        /// The plugin directory holding linli.toml.
        dir: PathBuf,
        /// The built component; DIR/plugin.wasm when not given.
        #[arg(long)]
        wasm: Option<PathBuf>,
        /// Where to write the package.
        #[arg(short, long)]
        output: PathBuf,
    },
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "info,sqlx=warn,wasmtime=warn,cranelift=warn".into()),
        )
        .init();
    match Cli::parse().command {
        Command::Serve {
            data_dir,
            listen,
            admin_token,
            memory_mib,
            call_timeout_ms,
        } => {
            let mut config = HostConfig::new(data_dir, listen);
            config.admin_token = admin_token;
            config.database_url = std::env::var("DATABASE_URL").ok();
            config.default_limits = linli_host::config::Limits {
                memory_mib,
                call_timeout_ms,
            };
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
            command: PluginCommand::Pack { dir, wasm, output },
        } => {
            let wasm = wasm.unwrap_or_else(|| dir.join("plugin.wasm"));
            let package = linli_host::registry::package::pack(&dir.join("linli.toml"), &wasm)?;
            std::fs::write(&output, &package)
                .with_context(|| format!("writing {}", output.display()))?;
            println!("packed {} ({} bytes)", output.display(), package.len());
        }
    }
    Ok(())
}
