//! The MQTT broker the ingest benchmark publishes through: the machine's
//! mosquitto on 127.0.0.1:1883, or one the benchmark starts there.

use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Where the broker listens.
pub const ADDRESS: &str = "127.0.0.1:1883";

/// The broker; one the benchmark started is killed when this is dropped.
pub struct Broker {
    started: Option<Child>,
}

impl Broker {
    /// The running broker, started when none listens.
    pub fn ensure() -> Self {
        if TcpStream::connect(ADDRESS).is_ok() {
            return Self { started: None };
        }
        let process = Command::new("mosquitto")
            .args(["-p", "1883"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("mosquitto runs (apt-get install mosquitto)");
        let since = Instant::now();
        while TcpStream::connect(ADDRESS).is_err() {
            assert!(
                since.elapsed() < Duration::from_secs(10),
                "mosquitto did not start"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        Self {
            started: Some(process),
        }
    }

    /// The broker's URL, for `linli serve --mqtt`.
    pub fn url(&self) -> String {
        format!("mqtt://{ADDRESS}")
    }
}

impl Drop for Broker {
    fn drop(&mut self) {
        if let Some(process) = &mut self.started {
            let _ = process.kill();
            let _ = process.wait();
        }
    }
}
