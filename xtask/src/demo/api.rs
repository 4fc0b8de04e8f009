//! The demo's side of the wire: a blocking API client, polling with a
//! deadline, and the host process it talks to.

use std::fs::File;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use linli_client::Method;
use serde_json::Value;

/// How long the demo waits for a plugin to act on what it was sent.
pub const PATIENCE: Duration = Duration::from_secs(10);

/// How long one request may take before the demo says the host is stuck.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// A blocking client of the host's API holding one bearer token: the
/// project's client, driven on a runtime of its own so the story reads
/// top to bottom.
#[derive(Clone)]
pub struct Api {
    client: linli_client::Client,
    runtime: Arc<tokio::runtime::Runtime>,
}

impl Api {
    pub fn new(base: String, token: String) -> Result<Self> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .context("starting the demo's HTTP runtime")?;
        Ok(Self {
            client: linli_client::Client::new(base, token),
            runtime: Arc::new(runtime),
        })
    }

    /// The same host with another token.
    pub fn with_token(&self, token: &str) -> Self {
        Self {
            client: self.client.with_token(token),
            runtime: self.runtime.clone(),
        }
    }

    /// The host's base address.
    pub fn base(&self) -> &str {
        self.client.base()
    }

    /// The bearer token this client sends.
    pub fn token(&self) -> &str {
        self.client.token()
    }

    /// Sends `request`; a status other than 2xx is an error naming the
    /// request, the status and the body the host answered with.
    fn call(&self, request: linli_client::Request) -> Result<Value> {
        let reply = self
            .runtime
            .block_on(request.timeout(REQUEST_TIMEOUT).send())
            .context("is the host still running? see target/demo/host.log")?;
        Ok(reply.ok()?)
    }

    pub fn get(&self, path: &str) -> Result<Value> {
        self.call(self.client.request(Method::GET, path))
    }

    pub fn post(&self, path: &str, body: Value) -> Result<Value> {
        self.call(self.client.request(Method::POST, path).json(&body))
    }

    pub fn put(&self, path: &str, body: Value) -> Result<Value> {
        self.call(self.client.request(Method::PUT, path).json(&body))
    }

    /// Uploads a plugin package (a tar file).
    pub fn upload(&self, package: &Path) -> Result<Value> {
        let bytes =
            std::fs::read(package).with_context(|| format!("reading {}", package.display()))?;
        self.call(
            self.client
                .request(Method::POST, "/api/v1/plugins")
                .body("application/x-tar", bytes),
        )
        .with_context(|| format!("uploading {}", package.display()))
    }

    /// Whether the host answers `/healthz`.
    fn is_healthy(&self) -> bool {
        self.get("/healthz").is_ok()
    }

    /// Sends readings as a device (this client must hold its token); every
    /// reading must be accepted.
    pub fn ingest(&self, readings: Value) -> Result<()> {
        let report = self.post("/api/v1/ingest", readings)?;
        if report["rejected"].as_u64().unwrap_or(0) > 0 {
            bail!("the host refused readings: {report}");
        }
        Ok(())
    }
}

/// Polls `check` until it gives a value, for at most [`PATIENCE`]; then
/// fails naming `what` and the last thing `check` saw.
pub fn poll<T>(what: &str, mut check: impl FnMut() -> Result<Result<T, String>>) -> Result<T> {
    let deadline = Instant::now() + PATIENCE;
    loop {
        match check()? {
            Ok(found) => return Ok(found),
            Err(seen) if Instant::now() >= deadline => bail!(
                "waited {} s for {what}, in vain; last seen: {seen}",
                PATIENCE.as_secs()
            ),
            Err(_) => std::thread::sleep(Duration::from_millis(100)),
        }
    }
}

/// The `linli` host process, stopped when the demo ends however it ends.
pub struct Host {
    child: Child,
    pub log: PathBuf,
}

impl Host {
    /// Starts `linli serve` on `data_dir`, its output going to `log`, and
    /// waits until it answers `/healthz`.
    pub fn start(linli: &Path, data_dir: &Path, listen: &str, api: &Api) -> Result<Self> {
        TcpListener::bind(listen).with_context(|| {
            format!("{listen} is taken; stop what listens there or pass --listen ADDRESS")
        })?;
        let log = data_dir.parent().unwrap_or(data_dir).join("host.log");
        let out = File::create(&log).with_context(|| format!("creating {}", log.display()))?;
        let child = Command::new(linli)
            .args(["serve", "--dev", "--data-dir"])
            .arg(data_dir)
            .args(["--listen", listen])
            .env("LINLI_ADMIN_TOKEN", api.token())
            .env("NO_COLOR", "1")
            .stdout(out.try_clone()?)
            .stderr(out)
            .spawn()
            .with_context(|| format!("starting {}", linli.display()))?;
        let mut host = Self { child, log };
        host.wait_healthy(api)?;
        Ok(host)
    }

    fn wait_healthy(&mut self, api: &Api) -> Result<()> {
        let deadline = Instant::now() + Duration::from_secs(60);
        while Instant::now() < deadline {
            if let Some(status) = self.child.try_wait()? {
                bail!(
                    "the host exited ({status}) before answering; its log:\n{}",
                    self.log_tail()
                );
            }
            if api.is_healthy() {
                return Ok(());
            }
            std::thread::sleep(Duration::from_millis(200));
        }
        bail!(
            "the host did not answer {}/healthz within 60 s; its log:\n{}",
            api.base(),
            self.log_tail()
        )
    }

    /// The last lines the host wrote.
    pub fn log_tail(&self) -> String {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(12)..].join("\n")
    }
}

impl Drop for Host {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
