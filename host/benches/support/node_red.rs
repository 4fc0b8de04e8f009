//! The peer the ingest benchmark measures linli against: a Node-RED 4.1
//! flow (`benches/load/node-red/`) doing linli's validation, installed from
//! the npm registry into `target/node-red` the first time (Node-RED 5 needs
//! a newer Node than the reference machine's 20).

use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The Node-RED release the peer runs.
const VERSION: &str = "4.1";

/// A running Node-RED with the peer's flow; killed when dropped.
pub struct NodeRed {
    process: Child,
    pub port: u16,
    _dir: tempfile::TempDir,
}

impl NodeRed {
    /// Installs Node-RED if needed and starts the flow with the devices and
    /// catalogue of `registry` (JSON, see `peer.js`).
    pub fn start(registry: &Path) -> Self {
        let red = install();
        let dir = tempfile::tempdir().expect("temp dir");
        let port = super::free_port();
        let flow = super::workspace().join("host/benches/load/node-red");
        let process = Command::new("node")
            .arg(red)
            .arg("--settings")
            .arg(flow.join("settings.js"))
            .env("LINLI_PEER_PORT", port.to_string())
            .env("LINLI_PEER_DIR", dir.path())
            .env("LINLI_PEER_REGISTRY", registry)
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("node runs (Node 20 is needed)");
        let started = Instant::now();
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                started.elapsed() < Duration::from_secs(60),
                "Node-RED did not start"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        Self {
            process,
            port,
            _dir: dir,
        }
    }

    /// The URL of the flow's endpoint: `memory` or `sync`.
    pub fn url(&self, store: &str) -> String {
        format!("http://127.0.0.1:{}/ingest/{store}", self.port)
    }
}

impl Drop for NodeRed {
    fn drop(&mut self) {
        let _ = self.process.kill();
        let _ = self.process.wait();
    }
}

/// Node-RED's entry point under `target/node-red`, installed with npm when missing.
fn install() -> PathBuf {
    let prefix = super::workspace().join("target/node-red");
    let red = prefix.join("node_modules/node-red/red.js");
    if !red.exists() {
        eprintln!("bench: installing node-red@{VERSION} from the npm registry");
        std::fs::create_dir_all(&prefix).expect("target/node-red");
        let installed = Command::new("npm")
            .args(["install", "--no-audit", "--no-fund", "--prefix"])
            .arg(&prefix)
            .arg(format!("node-red@{VERSION}"))
            .status()
            .is_ok_and(|s| s.success());
        assert!(installed, "cannot install node-red@{VERSION} with npm");
    }
    red
}
