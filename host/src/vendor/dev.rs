//! `linli plugin dev`: a vendor's edit loop against a development host.
//!
//! Each round builds the plugin, packs it as a new pre-release version
//! (`0.1.0-dev.<stamp>`, so nothing the vendor wrote changes), signs it when
//! given a key, uploads it and upgrades the development installation in
//! place — installing it, with everything the manifest requests, the first
//! time. An upgrade is the host's ordinary one: the installation keeps its
//! store, timers, alarms and its position in the event log, so no reading
//! is lost or handled twice across reloads. The version it replaced is
//! deleted, so a day of edits leaves one version behind, not hundreds.
//! Then it waits for the next change of the plugin's files.
//!
//! It talks to the host only over its HTTP API, as any client does.

use std::path::PathBuf;
use std::process::Command;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use ed25519_dalek::SigningKey;
use linli_client::{Client, ClientError, StatusCode};
use serde_json::{json, Value};

use super::build::{self, PackError};
use super::watch::Watched;
use crate::registry::package::{self, PackageError};

/// How the component of each round is made.
pub enum Build {
    /// `cargo build --release --target wasm32-wasip2` in the plugin's crate.
    Cargo,
    /// A shell command run in the plugin's folder (componentize-py, say)
    /// that writes the component given with `--wasm`.
    Command(String),
    /// Nothing: another tool writes the component; a new one is a change.
    Prebuilt,
}

/// What the dev loop works on.
pub struct DevPlugin {
    /// The plugin's folder, holding `linli.toml`.
    pub dir: PathBuf,
    /// The component, when not the one cargo builds for the crate.
    pub wasm: Option<PathBuf>,
    pub build: Build,
    /// The community the development installation is in.
    pub community: String,
    /// The config of the installation when the loop installs it.
    pub config: Value,
    /// Signs every package, for a host that is not in `--dev` mode.
    pub key: Option<SigningKey>,
}

/// Why a round did not reload the plugin.
#[derive(Debug, thiserror::Error)]
pub enum DevError {
    #[error("the build failed: {0}")]
    Build(String),
    #[error(transparent)]
    Pack(#[from] PackError),
    #[error(transparent)]
    Package(#[from] PackageError),
    #[error(transparent)]
    Host(#[from] ClientError),
}

impl DevError {
    /// Whether the next change may fix it: a failed build, a manifest or
    /// config the host refused. An unreachable host or a refused token
    /// will not mend itself by an edit, so the loop stops on those.
    pub fn fixable_by_an_edit(&self) -> bool {
        match self {
            DevError::Build(_) | DevError::Pack(_) | DevError::Package(_) => true,
            DevError::Host(ClientError::Refused { status, .. }) => {
                *status != StatusCode::UNAUTHORIZED && *status != StatusCode::FORBIDDEN
            }
            DevError::Host(_) => false,
        }
    }
}

/// One reload that landed.
pub struct Reloaded {
    pub plugin: String,
    pub version: String,
    pub installation: String,
    /// Whether this round installed the plugin rather than upgrading it.
    pub installed: bool,
    pub build_seconds: f64,
    pub total_seconds: f64,
}

/// The dev loop of one plugin against one host.
pub struct DevLoop {
    plugin: DevPlugin,
    host: Client,
    /// The installation and the version it runs, once known.
    installed: Option<(String, String)>,
}

impl DevLoop {
    pub fn new(plugin: DevPlugin, host: Client) -> Self {
        Self {
            plugin,
            host,
            installed: None,
        }
    }

    /// The files whose change starts the next round.
    pub fn watched(&self) -> Watched {
        match (&self.plugin.build, &self.plugin.wasm) {
            (Build::Prebuilt, Some(component)) => Watched::Component {
                component: component.clone(),
                dir: self.plugin.dir.clone(),
            },
            _ => Watched::Sources(self.plugin.dir.clone()),
        }
    }

    /// Builds, packs, uploads and installs or upgrades once.
    pub async fn round(&mut self) -> Result<Reloaded, DevError> {
        let started = Instant::now();
        self.build()?;
        let build_seconds = started.elapsed().as_secs_f64();
        let stamp = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as u64);
        let mut bytes = build::pack_dev(&self.plugin.dir, self.plugin.wasm.as_deref(), stamp)?;
        if let Some(key) = &self.plugin.key {
            bytes = package::signed(&bytes, key)?;
        }
        let manifest = package::unpack(&bytes)?.manifest;
        let (plugin, version) = (manifest.id.to_string(), manifest.version.to_string());
        self.host.upload_package(bytes).await?.ok()?;
        if self.installed.is_none() {
            self.installed = self.find_installation(&plugin).await?;
        }
        let installed = self.installed.is_none();
        let installation = match self.installed.take() {
            None => {
                let grants =
                    serde_json::to_value(&manifest.capabilities).expect("capabilities serialise");
                self.install(&plugin, &version, grants).await?
            }
            Some((installation, before)) => {
                self.upgrade(&installation, &version).await?;
                self.delete_version(&plugin, &before).await;
                installation
            }
        };
        self.installed = Some((installation.clone(), version.clone()));
        Ok(Reloaded {
            plugin,
            version,
            installation,
            installed,
            build_seconds,
            total_seconds: started.elapsed().as_secs_f64(),
        })
    }

    fn build(&self) -> Result<(), DevError> {
        let mut command = match &self.plugin.build {
            Build::Prebuilt => return Ok(()),
            Build::Cargo => {
                let mut cargo =
                    Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
                cargo.args(["build", "--release", "--target", "wasm32-wasip2"]);
                cargo
            }
            Build::Command(line) => {
                let mut shell = Command::new("sh");
                shell.arg("-c").arg(line);
                shell
            }
        };
        let status = command
            .current_dir(&self.plugin.dir)
            .status()
            .map_err(|e| DevError::Build(e.to_string()))?;
        if status.success() {
            Ok(())
        } else {
            Err(DevError::Build(format!("{status}; fix it and save again")))
        }
    }

    fn installations_path(&self) -> String {
        format!(
            "/api/v1/communities/{}/installations",
            self.plugin.community
        )
    }

    /// An installation of `plugin` already in the community, and its version.
    async fn find_installation(
        &self,
        plugin: &str,
    ) -> Result<Option<(String, String)>, ClientError> {
        let listed = self.host.get(&self.installations_path()).await?.ok()?;
        Ok(listed
            .as_array()
            .into_iter()
            .flatten()
            .find_map(|i| (i["plugin"] == plugin).then(|| (text(&i["id"]), text(&i["version"])))))
    }

    async fn install(
        &self,
        plugin: &str,
        version: &str,
        grants: Value,
    ) -> Result<String, ClientError> {
        let body = json!({"plugin": plugin, "version": version, "grants": grants,
                          "config": self.plugin.config});
        let created = self
            .host
            .post(&self.installations_path(), &body)
            .await?
            .ok()?;
        Ok(text(&created["id"]))
    }

    async fn upgrade(&self, installation: &str, version: &str) -> Result<(), ClientError> {
        let path = format!("{}/{installation}", self.installations_path());
        self.host
            .patch(&path, &json!({"version": version}))
            .await?
            .ok()?;
        Ok(())
    }

    /// Deletes the dev version the installation ran before; a version that
    /// is not a dev pre-release, or that something else still runs, stays.
    async fn delete_version(&self, plugin: &str, version: &str) {
        if !version.contains("-dev.") {
            return;
        }
        let path = format!("/api/v1/plugins/{plugin}/versions/{version}");
        if let Ok(reply) = self.host.delete(&path).await {
            if !reply.status.is_success() {
                tracing::debug!(%plugin, %version, status = %reply.status, "the replaced dev version stays");
            }
        }
    }
}

fn text(value: &Value) -> String {
    value.as_str().unwrap_or_default().to_owned()
}

/// What the loop builds and packs, for its first line.
pub fn describe(plugin: &DevPlugin) -> String {
    match (&plugin.build, &plugin.wasm) {
        (Build::Cargo, _) => format!("{} (cargo build)", plugin.dir.display()),
        (Build::Command(line), Some(wasm)) => {
            format!(
                "{} (`{line}` writes {})",
                plugin.dir.display(),
                wasm.display()
            )
        }
        (_, Some(wasm)) => wasm.display().to_string(),
        (_, None) => plugin.dir.join("plugin.wasm").display().to_string(),
    }
}
