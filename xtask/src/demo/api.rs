//! The demo's side of the wire: a small blocking API client, polling with a
//! deadline, and the host process it talks to.

use std::fs::File;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use serde_json::Value;

/// How long the demo waits for a plugin to act on what it was sent.
pub const PATIENCE: Duration = Duration::from_secs(10);

/// A client of the host's API holding one bearer token.
#[derive(Clone)]
pub struct Api {
    agent: ureq::Agent,
    pub base: String,
    pub token: String,
}

impl Api {
    pub fn new(base: String, token: String) -> Self {
        let agent = ureq::AgentBuilder::new()
            .timeout(Duration::from_secs(30))
            .build();
        Self { agent, base, token }
    }

    /// The same host with another token.
    pub fn with_token(&self, token: &str) -> Self {
        Self {
            agent: self.agent.clone(),
            base: self.base.clone(),
            token: token.to_owned(),
        }
    }

    /// One request; a status other than 2xx is an error naming the request,
    /// the status and the body the host answered with.
    pub fn call(&self, method: &str, path: &str, body: Option<&Value>) -> Result<Value> {
        let request = self
            .agent
            .request(method, &format!("{}{path}", self.base))
            .set("Authorization", &format!("Bearer {}", self.token));
        let response = match body {
            Some(body) => request.send_json(body),
            None => request.call(),
        };
        match response {
            Ok(r) => {
                let text = r.into_string().unwrap_or_default();
                Ok(serde_json::from_str(&text).unwrap_or(Value::Null))
            }
            Err(ureq::Error::Status(code, r)) => bail!(
                "{method} {path} answered {code}: {}",
                r.into_string().unwrap_or_default()
            ),
            Err(e) => Err(e).with_context(|| {
                format!("{method} {path}: no answer (is the host still running? see target/demo/host.log)")
            }),
        }
    }

    pub fn get(&self, path: &str) -> Result<Value> {
        self.call("GET", path, None)
    }

    pub fn post(&self, path: &str, body: Value) -> Result<Value> {
        self.call("POST", path, Some(&body))
    }

    pub fn put(&self, path: &str, body: Value) -> Result<Value> {
        self.call("PUT", path, Some(&body))
    }

    /// Uploads a plugin package (a tar file).
    pub fn upload(&self, package: &Path) -> Result<Value> {
        let bytes =
            std::fs::read(package).with_context(|| format!("reading {}", package.display()))?;
        let response = self
            .agent
            .post(&format!("{}/api/v1/plugins", self.base))
            .set("Authorization", &format!("Bearer {}", self.token))
            .set("Content-Type", "application/x-tar")
            .send_bytes(&bytes);
        match response {
            Ok(r) => Ok(r.into_json().unwrap_or(Value::Null)),
            Err(ureq::Error::Status(code, r)) => bail!(
                "POST /api/v1/plugins ({}) answered {code}: {}",
                package.display(),
                r.into_string().unwrap_or_default()
            ),
            Err(e) => Err(e).context("POST /api/v1/plugins: no answer"),
        }
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
    pub fn start(linli: &Path, data_dir: &Path, listen: &str, token: &str) -> Result<Self> {
        TcpListener::bind(listen).with_context(|| {
            format!("{listen} is taken; stop what listens there or pass --listen ADDRESS")
        })?;
        let log = data_dir.parent().unwrap_or(data_dir).join("host.log");
        let out = File::create(&log).with_context(|| format!("creating {}", log.display()))?;
        let child = Command::new(linli)
            .args(["serve", "--dev", "--data-dir"])
            .arg(data_dir)
            .args(["--listen", listen])
            .env("LINLI_ADMIN_TOKEN", token)
            .env("NO_COLOR", "1")
            .stdout(out.try_clone()?)
            .stderr(out)
            .spawn()
            .with_context(|| format!("starting {}", linli.display()))?;
        let mut host = Self { child, log };
        host.wait_healthy(&format!("http://{listen}/healthz"))?;
        Ok(host)
    }

    fn wait_healthy(&mut self, url: &str) -> Result<()> {
        let deadline = Instant::now() + Duration::from_secs(60);
        while Instant::now() < deadline {
            if let Some(status) = self.child.try_wait()? {
                bail!(
                    "the host exited ({status}) before answering; its log:\n{}",
                    self.log_tail()
                );
            }
            if ureq::get(url).call().is_ok() {
                return Ok(());
            }
            std::thread::sleep(Duration::from_millis(200));
        }
        bail!(
            "the host did not answer {url} within 60 s; its log:\n{}",
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
