//! A community in a test: its admin, devices, members and people, and the
//! steps scenarios take in it (install, send, settle, command).

use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::{Client, Reply};

/// A community in a test, with its admin.
pub struct Community {
    pub id: String,
    pub admin: Client,
}

/// A registered device and its client (holding its token).
pub struct Device {
    pub id: String,
    pub client: Client,
}

impl Community {
    /// Registers a device reporting `kinds`.
    pub async fn device(&self, id: &str, kinds: &[&str]) -> Device {
        self.placed_device(id, "sensor", kinds, None).await
    }

    /// Registers a device of `kind` reporting `kinds`, placed at `location` (a place of the map) if given.
    pub async fn placed_device(
        &self,
        id: &str,
        kind: &str,
        kinds: &[&str],
        location: Option<&str>,
    ) -> Device {
        let mut registration = json!({"id": id, "kind": kind, "reading_kinds": kinds});
        if let Some(location) = location {
            registration["location"] = json!(location);
        }
        self.register(registration).await
    }

    /// Registers a wearable of `person` reporting `kinds`: the host
    /// withholds its health readings from plugins until `person` consents.
    pub async fn worn_device(&self, id: &str, kinds: &[&str], person: &str) -> Device {
        self.register(
            json!({"id": id, "kind": "wearable", "reading_kinds": kinds, "person": person}),
        )
        .await
    }

    /// Registers a device reporting `kinds` whose readings `gateway` sends.
    pub async fn device_behind(&self, gateway: &Device, id: &str, kinds: &[&str]) -> Device {
        self.register(
            json!({"id": id, "kind": "sensor", "reading_kinds": kinds, "gateway": gateway.id}),
        )
        .await
    }

    /// Registers the device `registration` describes.
    async fn register(&self, registration: Value) -> Device {
        let id = registration["id"].as_str().expect("device id").to_owned();
        let registered = self
            .admin
            .post(
                &format!("/api/v1/communities/{}/devices", self.id),
                registration,
            )
            .await
            .expect(201);
        Device {
            id,
            client: self
                .admin
                .with_token(registered["token"].as_str().expect("device token")),
        }
    }

    /// Records `person`'s decision on `purpose` (`health-monitoring`,
    /// `presence-checks`, `location-sharing`), as staff record a signed form.
    pub async fn consent(&self, person: &str, purpose: &str, given: bool) {
        self.admin
            .put(
                &format!("/api/v1/communities/{}/people/{person}/consents/{purpose}", self.id),
                json!({"given": given, "text": format!("{purpose}: the form {person} signed"), "given_by": person}),
            )
            .await
            .expect(200);
    }

    /// Sends one reading from `device` now and waits until `installation` has handled it.
    pub async fn send_handled(
        &self,
        installation: &str,
        device: &Device,
        kind: &str,
        value: Value,
    ) {
        device
            .send(json!([device.reading(kind, value)]))
            .await
            .expect(202);
        self.settle(installation).await;
    }

    /// Replaces the community's map with a GeoJSON FeatureCollection.
    pub async fn import_map(&self, map: &Value) -> Reply {
        self.admin
            .put(&format!("/api/v1/communities/{}/map", self.id), map.clone())
            .await
    }

    /// A client holding a new token of `role` in this community for `subject`.
    pub async fn member(&self, role: &str, subject: &str) -> Client {
        let token = self
            .admin
            .post(
                "/api/v1/tokens",
                json!({"role": role, "community": self.id, "subject": subject}),
            )
            .await
            .expect(201);
        self.admin
            .with_token(token["token"].as_str().expect("token"))
    }

    /// Puts a person with no links on the community's map.
    pub async fn add_person(&self, person: &str) {
        self.admin
            .put(
                &format!("/api/v1/communities/{}/map/people/{person}", self.id),
                json!({"type": "Feature", "geometry": null, "properties": {"kind": "person", "name": person}}),
            )
            .await
            .expect(201);
    }

    /// A client holding a new token of `role` in this community for `person` of the map.
    pub async fn person(&self, role: &str, person: &str) -> Client {
        let token = self
            .admin
            .post(
                "/api/v1/tokens",
                json!({"role": role, "community": self.id, "subject": person, "person": person}),
            )
            .await
            .expect(201);
        self.admin
            .with_token(token["token"].as_str().expect("token"))
    }

    /// Enables a published plugin with `grants` and `config`; returns the installation id.
    pub async fn install(&self, plugin: &str, grants: Value, config: Value) -> String {
        let body = self
            .admin
            .post(
                &format!("/api/v1/communities/{}/installations", self.id),
                json!({"plugin": plugin, "version": "0.1.0", "grants": grants, "config": config}),
            )
            .await
            .expect(201);
        body["id"].as_str().expect("installation id").to_owned()
    }

    /// The installation's current record.
    pub async fn installation(&self, id: &str) -> Value {
        self.admin
            .get(&format!(
                "/api/v1/communities/{}/installations/{id}",
                self.id
            ))
            .await
            .expect(200)
    }

    /// Waits until the installation has handled everything in the log (or is suspended).
    pub async fn settle(&self, id: &str) -> Value {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let installation = self.installation(id).await;
            if installation["backlog"] == 0 || installation["state"] == "suspended" {
                return installation;
            }
            assert!(
                Instant::now() < deadline,
                "installation {id} did not settle: {installation}"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Runs a plugin command as this community's admin.
    pub async fn command(&self, plugin: &str, name: &str, input: Value) -> Reply {
        run_command(&self.admin, &self.id, plugin, name, input).await
    }

    /// The installation's dead letters.
    pub async fn dead_letters(&self, id: &str) -> Vec<Value> {
        let body = self
            .admin
            .get(&format!(
                "/api/v1/communities/{}/installations/{id}/dead-letters",
                self.id
            ))
            .await
            .expect(200);
        body.as_array().expect("a list").clone()
    }
}

impl Device {
    /// The device's bearer token.
    pub fn token(&self) -> &str {
        self.client.token()
    }

    /// Sends a batch of readings.
    pub async fn send(&self, readings: Value) -> Reply {
        self.client.post("/api/v1/ingest", readings).await
    }

    /// Sends a batch of readings named by an idempotency key.
    pub async fn send_keyed(&self, key: &str, readings: Value) -> Reply {
        self.client
            .post_with("/api/v1/ingest", &[("idempotency-key", key)], readings)
            .await
    }

    /// An MQTT message with this device's token and `readings`, named by `batch` if given.
    pub fn mqtt_message(&self, batch: Option<&str>, readings: Value) -> Value {
        let mut message = json!({"token": self.token(), "readings": readings});
        if let Some(batch) = batch {
            message["batch"] = json!(batch);
        }
        message
    }

    /// The topic this device publishes readings on.
    pub fn readings_topic(&self, community: &Community) -> String {
        format!("linli/{}/{}/readings", community.id, self.id)
    }

    /// A reading of this device.
    pub fn reading(&self, kind: &str, value: Value) -> Value {
        json!({"device": self.id, "kind": kind, "value": value})
    }

    /// A reading of this device measured at `at` (ms since the epoch).
    pub fn reading_at(&self, kind: &str, value: Value, at: i64) -> Value {
        json!({"device": self.id, "kind": kind, "value": value, "at": at})
    }
}

/// Runs `plugin`'s command `name` in `community` as `client` (whoever's
/// token it holds: a resident, an operator, an admin).
pub async fn run_command(
    client: &Client,
    community: &str,
    plugin: &str,
    name: &str,
    input: Value,
) -> Reply {
    client
        .post(
            &format!("/api/v1/communities/{community}/plugins/{plugin}/commands/{name}"),
            input,
        )
        .await
}
