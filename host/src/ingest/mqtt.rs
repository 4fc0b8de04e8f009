//! The MQTT bridge: with `linli serve --mqtt mqtt://broker:1883` the host
//! subscribes to `linli/+/+/readings` and ingests what devices publish on
//! `linli/{community}/{device}/readings` through the same
//! [`Ingest::submit`] as HTTP.
//!
//! The payload is `{"token": "…", "batch": "…", "readings": [ … ]}`: the
//! device token, an optional batch key (the MQTT twin of `Idempotency-Key`)
//! and the readings, as over HTTP, except that a reading without `device`
//! is the topic's device's. The token has to be in the payload: the
//! host is a subscriber, and MQTT does not tell a subscriber who published a
//! message, so the username a device connected with never reaches the
//! host. A bare JSON array is therefore refused. The token must belong to
//! the device and community named by the topic.
//!
//! Messages are taken with QoS 1 and acknowledged by hand: the PUBACK goes
//! out only once the message's readings are durable (or the message has
//! been refused for good), and in the order the messages arrived. What
//! goes wrong is counted in `linli_mqtt_messages_total{result}`, logged,
//! and told to the device on `linli/{community}/{device}/errors` (QoS 0):
//! the report when some readings were refused, or `{"error": {code,
//! message}}` when the whole message was. A message whose readings could
//! not be stored (the store failed) is acknowledged too, with an
//! `unavailable` error, so that the device resends it with the same batch
//! key.
//!
//! The session is clean: after a lost connection the bridge reconnects with
//! exponential backoff (0.1 s doubling up to 30 s) and subscribes again.

use std::borrow::Cow;
use std::sync::Arc;
use std::time::Duration;

use rumqttc::{AsyncClient, Event, MqttOptions, Packet, Publish, QoS};
use serde::Deserialize;
use serde_json::json;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use super::idempotency::BatchKey;
use super::items::{ItemsError, RawItem};
use super::{Batch, Ingest, IngestError};
use crate::auth::{self, Role};
use crate::db::Db;
use crate::ids::CommunityId;
use crate::metrics::Metrics;

/// The topic filter the bridge subscribes to.
pub const READINGS_TOPICS: &str = "linli/+/+/readings";
/// Largest message the bridge takes: a full batch of 10,000 readings fits.
const MAX_MESSAGE_BYTES: usize = 8 << 20;
const FIRST_BACKOFF: Duration = Duration::from_millis(100);
const MAX_BACKOFF: Duration = Duration::from_secs(30);

/// Where the broker is, from `mqtt://[user[:password]@]host[:port]` (or `tcp://`).
pub fn options(url: &str) -> Result<MqttOptions, String> {
    let rest = url
        .strip_prefix("mqtt://")
        .or_else(|| url.strip_prefix("tcp://"))
        .ok_or_else(|| {
            format!("--mqtt {url:?}: use mqtt://host[:port] (TLS is not supported yet)")
        })?
        .trim_end_matches('/');
    let (credentials, address) = match rest.rsplit_once('@') {
        Some((credentials, address)) => (Some(credentials), address),
        None => (None, rest),
    };
    let (host, port) = match address.rsplit_once(':') {
        Some((host, port)) => (
            host,
            port.parse()
                .map_err(|_| format!("--mqtt {url:?}: {port:?} is not a port"))?,
        ),
        None => (address, 1883),
    };
    if host.is_empty() {
        return Err(format!("--mqtt {url:?}: no host"));
    }
    let client_id = format!("linli-host-{}", hex::encode(rand::random::<[u8; 6]>()));
    let mut options = MqttOptions::new(client_id, host, port);
    options
        .set_clean_session(true)
        .set_manual_acks(true)
        .set_keep_alive(Duration::from_secs(30))
        .set_max_packet_size(MAX_MESSAGE_BYTES, 64 << 10);
    if let Some(credentials) = credentials {
        let (user, password) = credentials.split_once(':').unwrap_or((credentials, ""));
        options.set_credentials(user, password);
    }
    Ok(options)
}

/// Starts the bridge; it runs until the task is aborted.
pub fn spawn(
    options: MqttOptions,
    ingest: Arc<Ingest>,
    db: Db,
    metrics: Arc<Metrics>,
) -> JoinHandle<()> {
    let bridge = Arc::new(Bridge {
        ingest,
        db,
        metrics,
    });
    tokio::spawn(bridge.run(options))
}

struct Bridge {
    ingest: Arc<Ingest>,
    db: Db,
    metrics: Arc<Metrics>,
}

/// What the bridge makes of a message's payload.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Message<'a> {
    #[serde(borrow)]
    token: Cow<'a, str>,
    #[serde(borrow, default)]
    batch: Option<Cow<'a, str>>,
    #[serde(borrow, deserialize_with = "super::items::bounded")]
    readings: Vec<RawItem<'a>>,
}

/// Why a message was refused as a whole: its `result` label, the error code
/// told to the device, and the message.
struct Refusal {
    result: &'static str,
    code: &'static str,
    message: String,
}

impl Refusal {
    fn new(result: &'static str, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            result,
            code,
            message: message.into(),
        }
    }
}

impl Bridge {
    async fn run(self: Arc<Self>, options: MqttOptions) {
        let (client, mut events) = AsyncClient::new(options, 64);
        // Acknowledge in arrival order, each once its ingest has finished.
        // Unbounded: the event loop must never wait for the acknowledger,
        // which waits for the event loop to take its acknowledgements (a
        // bounded queue here stalled the bridge for good under a burst of
        // a few hundred messages). The broker's in-flight window and queue
        // bound what is delivered unacknowledged.
        let (in_order, mut to_ack) = mpsc::unbounded_channel::<JoinHandle<Publish>>();
        let acker = client.clone();
        tokio::spawn(async move {
            while let Some(handled) = to_ack.recv().await {
                if let Ok(publish) = handled.await {
                    let _ = acker.ack(&publish).await;
                }
            }
        });
        let mut backoff = FIRST_BACKOFF;
        loop {
            match events.poll().await {
                Ok(Event::Incoming(Packet::ConnAck(_))) => {
                    backoff = FIRST_BACKOFF;
                    if let Err(e) = client.try_subscribe(READINGS_TOPICS, QoS::AtLeastOnce) {
                        tracing::error!("cannot subscribe to {READINGS_TOPICS}: {e}");
                    }
                }
                Ok(Event::Incoming(Packet::SubAck(_))) => {
                    tracing::info!("MQTT bridge subscribed to {READINGS_TOPICS}");
                    self.metrics.set_mqtt_connected(true);
                }
                Ok(Event::Incoming(Packet::Publish(publish))) => {
                    let (bridge, client) = (self.clone(), client.clone());
                    let handled = tokio::spawn(async move {
                        bridge.handle(&client, &publish).await;
                        publish
                    });
                    if in_order.send(handled).is_err() {
                        return;
                    }
                }
                Ok(_) => {}
                Err(e) => {
                    self.metrics.set_mqtt_connected(false);
                    tracing::warn!("MQTT connection lost ({e}); reconnecting in {backoff:?}");
                    tokio::time::sleep(backoff).await;
                    backoff = (backoff * 2).min(MAX_BACKOFF);
                }
            }
        }
    }

    /// Ingests one message, counts it and tells the device what went wrong.
    async fn handle(&self, client: &AsyncClient, publish: &Publish) {
        let Some((community, device)) = topic_ids(&publish.topic) else {
            tracing::warn!(
                topic = publish.topic,
                "MQTT message on a topic that names no community and device"
            );
            self.metrics.mqtt_message("bad-topic");
            return;
        };
        let errors_topic = format!("linli/{community}/{device}/errors");
        let reply = match self
            .ingest_message(&community, device, &publish.payload)
            .await
        {
            Ok((result, report)) => {
                self.metrics.mqtt_message(result);
                report
            }
            Err(refusal) => {
                tracing::warn!(%community, device, result = refusal.result, "MQTT message refused: {}", refusal.message);
                self.metrics.mqtt_message(refusal.result);
                Some(json!({"error": {"code": refusal.code, "message": refusal.message}}))
            }
        };
        if let Some(reply) = reply {
            if let Err(e) =
                client.try_publish(errors_topic, QoS::AtMostOnce, false, reply.to_string())
            {
                tracing::debug!("cannot tell {device} about its errors: {e}");
            }
        }
    }

    /// Ingests the payload of a message from `device`: the result label and
    /// what to tell the device, or why the whole message was refused.
    async fn ingest_message(
        &self,
        community: &CommunityId,
        device: &str,
        payload: &[u8],
    ) -> Result<(&'static str, Option<serde_json::Value>), Refusal> {
        if payload.trim_ascii_start().starts_with(b"[") {
            return Err(Refusal::new(
                "bad-token",
                "unauthorized",
                r#"a bare array carries no device token; publish {"token": "…", "readings": […]}"#,
            ));
        }
        let message: Message = serde_json::from_slice(payload).map_err(|e| match ItemsError::from(e) {
            ItemsError::TooMany => Refusal::new("too-large", "too-large", ItemsError::TooMany.to_string()),
            ItemsError::Json(e) => Refusal::new(
                "malformed",
                "invalid",
                format!(
                    r#"expected {{"token": "…", "batch": "…" (optional), "readings": […]}}: {e}"#
                ),
            ),
        })?;
        let principal = auth::authenticate(&self.db, &message.token)
            .await
            .map_err(|e| {
                Refusal::new(
                    "error",
                    "unavailable",
                    format!("cannot check the token: {e}"),
                )
            })?;
        let owned = principal.is_some_and(|p| {
            p.role == Role::Device && p.community.as_ref() == Some(community) && p.subject == device
        });
        if !owned {
            return Err(Refusal::new(
                "bad-token",
                "unauthorized",
                format!("the token is not the device token of {device} in {community}"),
            ));
        }
        let key = message
            .batch
            .map(|key| BatchKey::new(key.as_bytes(), payload))
            .transpose()
            .map_err(|e| Refusal::new("malformed", "invalid", format!("batch: {e}")))?;
        let key_text = key.as_ref().map(|k| k.as_str().to_owned());
        let outcome = self
            .ingest
            .submit(Batch {
                community,
                device,
                items: message.readings,
                key,
                sender_by_default: true,
            })
            .await
            .map_err(|e| match e {
                IngestError::TooLarge(_) => Refusal::new("too-large", "too-large", e.to_string()),
                IngestError::KeyReused(_) => Refusal::new("key-reused", "conflict", e.to_string()),
                IngestError::Store(_) => {
                    tracing::error!(%community, device, "MQTT batch not stored: {e}");
                    Refusal::new(
                        "error",
                        "unavailable",
                        "the host could not store the batch; send it again with the same batch key",
                    )
                }
            })?;
        let result = if outcome.replayed {
            "replayed"
        } else {
            "accepted"
        };
        let report = (outcome.report.rejected > 0)
            .then(|| json!({"batch": key_text, "report": outcome.report}));
        Ok((result, report))
    }
}

/// The community and device of a readings topic, `linli/{community}/{device}/readings`.
fn topic_ids(topic: &str) -> Option<(CommunityId, &str)> {
    let mut parts = topic.split('/');
    let (Some("linli"), Some(community), Some(device), Some("readings"), None) = (
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
    ) else {
        return None;
    };
    let community = community.parse().ok()?;
    device.parse::<crate::ids::DeviceId>().ok()?;
    Some((community, device))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn broker_urls_name_host_port_and_credentials() {
        let o = options("mqtt://127.0.0.1:1884").unwrap();
        assert_eq!(o.broker_address(), ("127.0.0.1".to_owned(), 1884));
        assert!(o.manual_acks() && o.clean_session());
        let o = options("tcp://bridge:s3cret@broker").unwrap();
        assert_eq!(o.broker_address(), ("broker".to_owned(), 1883));
        let login = o.credentials().unwrap();
        assert_eq!(
            (login.username.as_str(), login.password.as_str()),
            ("bridge", "s3cret")
        );
        for bad in [
            "broker:1883",
            "mqtts://broker",
            "mqtt://broker:x",
            "mqtt://",
        ] {
            assert!(options(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn only_readings_topics_name_a_device() {
        let (c, d) = topic_ids("linli/block-a/thermo-1/readings").unwrap();
        assert_eq!((c.as_str(), d), ("block-a", "thermo-1"));
        for bad in [
            "linli/block-a/thermo-1/errors",
            "linli/block-a/readings",
            "linli/Block A/thermo-1/readings",
            "linli/block-a/thermo-1/readings/x",
            "other/block-a/thermo-1/readings",
        ] {
            assert!(topic_ids(bad).is_none(), "{bad}");
        }
    }
}
