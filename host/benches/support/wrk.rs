//! wrk, the standard HTTP load generator, driving a server from outside
//! with a Lua script (`benches/load/ingest.lua`). Installed from Debian's
//! packages when the machine has none.

use std::path::Path;
use std::process::Command;
use std::time::Duration;

/// What one wrk run measured.
#[derive(Debug, Clone, Copy)]
pub struct WrkRun {
    /// Requests answered.
    pub requests: u64,
    /// Answers that were not 2xx.
    pub failed: u64,
    /// 2xx answers whose report did not accept the batch's valid readings.
    pub short: u64,
    pub seconds: f64,
    /// 99th percentile of request latency, in milliseconds.
    pub p99_ms: f64,
}

impl WrkRun {
    /// Requests per second that were fully accepted.
    pub fn accepted_per_second(&self) -> f64 {
        (self.requests - self.failed - self.short) as f64 / self.seconds
    }
}

/// Installs wrk with apt-get when it is not on the path.
pub fn ensure() {
    if Command::new("wrk").arg("--version").output().is_ok() {
        return;
    }
    eprintln!("bench: installing wrk from Debian's packages");
    let installed = Command::new("apt-get")
        .args(["install", "-y", "-qq", "wrk"])
        .env("DEBIAN_FRONTEND", "noninteractive")
        .status()
        .is_ok_and(|s| s.success())
        || (Command::new("apt-get")
            .args(["update", "-qq"])
            .status()
            .is_ok_and(|s| s.success())
            && Command::new("apt-get")
                .args(["install", "-y", "-qq", "wrk"])
                .env("DEBIAN_FRONTEND", "noninteractive")
                .status()
                .is_ok_and(|s| s.success()));
    assert!(installed, "cannot install wrk (apt-get install wrk)");
}

/// Runs `script` against `url` with `connections` connections on one
/// thread for `duration`; `args` go to the script.
pub fn run(
    url: &str,
    script: &Path,
    connections: u32,
    duration: Duration,
    args: &[&str],
) -> WrkRun {
    let output = Command::new("wrk")
        .args(["-t1", "-c", &connections.to_string()])
        .args(["-d", &format!("{}s", duration.as_secs())])
        .args(["--timeout", "10s", "-s"])
        .arg(script)
        .arg(url)
        .arg("--")
        .args(args)
        .output()
        .expect("wrk runs");
    let text = String::from_utf8_lossy(&output.stdout);
    let line = text
        .lines()
        .find(|l| l.starts_with("wrk-result "))
        .unwrap_or_else(|| {
            panic!(
                "wrk printed no result: {text}{}",
                String::from_utf8_lossy(&output.stderr)
            )
        });
    let field = |name: &str| -> u64 {
        line.split_whitespace()
            .find_map(|pair| pair.strip_prefix(name)?.strip_prefix('='))
            .and_then(|v| v.parse().ok())
            .unwrap_or_else(|| panic!("no {name} in {line}"))
    };
    WrkRun {
        requests: field("requests"),
        failed: field("non_2xx"),
        short: field("short"),
        seconds: field("duration_us") as f64 / 1e6,
        p99_ms: field("p99_us") as f64 / 1e3,
    }
}
