//! A real MQTT broker for the bridge's scenarios.

use std::process::{Child, Command, Stdio};
use std::time::Duration;

use serde_json::Value;

use crate::eventually;

/// A real MQTT broker: `mosquitto` on a free loopback port, killed with the test.
pub struct Broker {
    port: u16,
    process: Option<Child>,
}

impl Broker {
    /// Starts a broker on a free port.
    pub async fn start() -> Self {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let mut broker = Self {
            port,
            process: None,
        };
        broker.restart().await;
        broker
    }

    /// The broker's URL, for `linli serve --mqtt`.
    pub fn url(&self) -> String {
        format!("mqtt://127.0.0.1:{}", self.port)
    }

    /// Kills the broker process (as a crash would) and waits for it to go.
    pub fn kill(&mut self) {
        if let Some(mut process) = self.process.take() {
            let _ = process.kill();
            let _ = process.wait();
        }
    }

    /// Starts the broker again on the same port; waits until it takes connections.
    pub async fn restart(&mut self) {
        self.kill();
        let binary = ["/usr/sbin/mosquitto", "/usr/local/sbin/mosquitto"]
            .into_iter()
            .find(|p| std::path::Path::new(p).exists())
            .unwrap_or("mosquitto");
        let process = Command::new(binary)
            .args(["-p", &self.port.to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {binary}: {e}; install mosquitto"));
        self.process = Some(process);
        let address = format!("127.0.0.1:{}", self.port);
        eventually("the broker takes connections", || async {
            tokio::net::TcpStream::connect(&address).await.is_ok()
        })
        .await;
    }

    fn options(&self, role: &str) -> rumqttc::MqttOptions {
        let id = format!("test-{role}-{}", hex::encode(rand::random::<[u8; 4]>()));
        rumqttc::MqttOptions::new(id, "127.0.0.1", self.port)
    }

    /// Publishes `payload` on `topic` with QoS 1 and waits for the broker's PUBACK.
    pub async fn publish(&self, topic: &str, payload: &Value) {
        use rumqttc::{AsyncClient, Event, Packet, QoS};
        let (client, mut events) = AsyncClient::new(self.options("device"), 8);
        client
            .publish(topic, QoS::AtLeastOnce, false, payload.to_string())
            .await
            .expect("publish queued");
        let acked = tokio::time::timeout(Duration::from_secs(10), async {
            loop {
                match events.poll().await {
                    Ok(Event::Incoming(Packet::PubAck(_))) => return,
                    Ok(_) => {}
                    Err(e) => panic!("publishing to {topic}: {e}"),
                }
            }
        })
        .await;
        assert!(acked.is_ok(), "the broker did not acknowledge {topic}");
        let _ = client.disconnect().await;
    }

    /// Subscribes to `topic`; the payloads published on it arrive on the receiver.
    pub async fn subscribe(&self, topic: &str) -> tokio::sync::mpsc::UnboundedReceiver<Value> {
        use rumqttc::{AsyncClient, Event, Packet, QoS};
        let (client, mut events) = AsyncClient::new(self.options("listener"), 8);
        client
            .subscribe(topic, QoS::AtMostOnce)
            .await
            .expect("subscribe queued");
        loop {
            match events.poll().await {
                Ok(Event::Incoming(Packet::SubAck(_))) => break,
                Ok(_) => {}
                Err(e) => panic!("subscribing to {topic}: {e}"),
            }
        }
        let (sender, receiver) = tokio::sync::mpsc::unbounded_channel();
        tokio::spawn(async move {
            let _client = client;
            while let Ok(event) = events.poll().await {
                if let Event::Incoming(Packet::Publish(p)) = event {
                    let payload = serde_json::from_slice(&p.payload).unwrap_or(Value::Null);
                    if sender.send(payload).is_err() {
                        return;
                    }
                }
            }
        });
        receiver
    }
}

impl Drop for Broker {
    fn drop(&mut self) {
        self.kill();
    }
}
