//! Running one scenario: a host of its own on a temporary embedded store and
//! a test clock, the package published and installed in a community
//! `scenario`, and each step driven through the API, waiting after every
//! action until the installation has handled everything it was given and
//! every timer that came due has fired.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use linli_client::{Client, ClientError};
use serde_json::{json, Value};

use super::expect::mismatch;
use super::{DeviceSpec, Scenario, Step};
use crate::clock::{Clock, ManualClock};
use crate::config::HostConfig;
use crate::ids::InstallationId;
use crate::server::Server;

/// The community every scenario runs in.
pub(super) const COMMUNITY: &str = "scenario";

/// 2026-01-01T00:00:00Z, where the clock starts unless the scenario says.
pub(super) const DEFAULT_START: i64 = 1_767_225_600_000;

/// The longest the host may take to handle one step's events and timers.
const SETTLE_WITHIN: Duration = Duration::from_secs(30);

/// How long a check waits for effects that land after the handler (an
/// escalation step sending, a delivery recorded) before it fails.
const CHECK_WITHIN: Duration = Duration::from_secs(5);

/// A scenario that held.
#[derive(Debug)]
pub struct Outcome {
    pub steps: usize,
    pub seconds: f64,
}

/// Why a scenario did not hold.
#[derive(Debug, thiserror::Error)]
pub enum ScenarioError {
    #[error("setting up: {0}")]
    Setup(String),
    #[error("step {number} ({what}): {reason}")]
    Step {
        /// 1-based, as a person counts the steps of the file.
        number: usize,
        what: String,
        reason: String,
    },
}

pub(super) fn setup_error(error: impl std::fmt::Display) -> ScenarioError {
    ScenarioError::Setup(error.to_string())
}

/// What a run's host holds before the first step: the community's map and
/// devices, and the installation's grants and config, on a clock at `start`.
pub(super) struct Setup {
    pub start: i64,
    pub map: Option<Value>,
    pub devices: Vec<DeviceSpec>,
    /// Everything the manifest requests when `None`.
    pub grants: Option<Value>,
    pub config: Value,
}

impl Setup {
    fn of(scenario: &Scenario) -> Result<Self, ScenarioError> {
        let start = match &scenario.start {
            Some(text) => text
                .parse::<jiff::Timestamp>()
                .map_err(|e| setup_error(format!("start: {e}")))?
                .as_millisecond(),
            None => DEFAULT_START,
        };
        let map = match &scenario.map {
            Some(path) => {
                let text = std::fs::read_to_string(path)
                    .map_err(|e| setup_error(format!("map {}: {e}", path.display())))?;
                Some(
                    serde_json::from_str(&text)
                        .map_err(|e| setup_error(format!("map {}: {e}", path.display())))?,
                )
            }
            None => None,
        };
        Ok(Self {
            start,
            map,
            devices: scenario.devices.clone(),
            grants: scenario.grants.clone(),
            config: scenario.config.clone(),
        })
    }
}

/// Runs `scenario` against the plugin in `package`.
pub async fn run_scenario(package: Vec<u8>, scenario: &Scenario) -> Result<Outcome, ScenarioError> {
    let started = Instant::now();
    let mut run = Run::start(package, &Setup::of(scenario)?).await?;
    let result = run.steps(scenario).await;
    run.server.shutdown().await.map_err(setup_error)?;
    result?;
    Ok(Outcome {
        steps: scenario.steps.len(),
        seconds: started.elapsed().as_secs_f64(),
    })
}

/// A scenario's host and what the steps act through.
pub(super) struct Run {
    pub(super) server: Server,
    clock: ManualClock,
    admin: Client,
    /// The community admin: commands run as them unless a step says.
    community: Client,
    pub(super) plugin: String,
    pub(super) installation: InstallationId,
    /// Each scenario device's client, holding its token.
    devices: BTreeMap<String, Client>,
    /// Tokens minted for people named by `as`.
    people: BTreeMap<String, Client>,
    _data: tempfile::TempDir,
}

impl Run {
    /// A host of its own with the plugin in `package` installed as `setup` says.
    pub(super) async fn start(package: Vec<u8>, setup: &Setup) -> Result<Self, ScenarioError> {
        let data = tempfile::tempdir().map_err(setup_error)?;
        let mut config = HostConfig::new(data.path(), "127.0.0.1:0".parse().expect("an address"));
        let admin_token = format!("scenario-{}", hex::encode(rand::random::<[u8; 16]>()));
        config.admin_token = Some(admin_token.clone());
        config.dev = true;
        let clock = ManualClock::new(setup.start);
        let server = Server::start(config, Arc::new(clock.clone()))
            .await
            .map_err(setup_error)?;
        let admin = Client::new(server.url(), admin_token);
        let community = community(&admin).await.map_err(setup_error)?;
        if let Some(geojson) = &setup.map {
            let path = format!("/api/v1/communities/{COMMUNITY}/map");
            community
                .put(&path, geojson)
                .await
                .and_then(|r| r.ok())
                .map_err(|e| setup_error(format!("the map: {e}")))?;
        }
        let published = admin
            .upload_package(package)
            .await
            .and_then(|r| r.ok())
            .map_err(setup_error)?;
        let plugin = published["id"].as_str().unwrap_or_default().to_owned();
        let mut devices = BTreeMap::new();
        for device in &setup.devices {
            let mut registration = json!({"id": device.id, "kind": device.kind,
                                          "reading_kinds": device.reading_kinds});
            if let Some(location) = &device.location {
                registration["location"] = json!(location);
            }
            let path = format!("/api/v1/communities/{COMMUNITY}/devices");
            let registered = community
                .post(&path, &registration)
                .await
                .and_then(|r| r.ok())
                .map_err(|e| setup_error(format!("device {}: {e}", device.id)))?;
            let token = registered["token"].as_str().unwrap_or_default();
            devices.insert(device.id.clone(), admin.with_token(token));
        }
        let grants = setup
            .grants
            .clone()
            .unwrap_or_else(|| published["capabilities"].clone());
        let install = json!({"plugin": plugin, "version": published["version"],
                             "grants": grants, "config": setup.config});
        let path = format!("/api/v1/communities/{COMMUNITY}/installations");
        let installed = community
            .post(&path, &install)
            .await
            .and_then(|r| r.ok())
            .map_err(|e| setup_error(format!("installing: {e}")))?;
        let installation = InstallationId::from(installed["id"].as_str().unwrap_or_default());
        let run = Self {
            server,
            clock,
            admin,
            community,
            plugin,
            installation,
            devices,
            people: BTreeMap::new(),
            _data: data,
        };
        run.settle().await.map_err(setup_error)?;
        Ok(run)
    }

    async fn steps(&mut self, scenario: &Scenario) -> Result<(), ScenarioError> {
        for (index, step) in scenario.steps.iter().enumerate() {
            self.step(step)
                .await
                .map_err(|reason| ScenarioError::Step {
                    number: index + 1,
                    what: step.describe(),
                    reason,
                })?;
        }
        Ok(())
    }

    async fn step(&mut self, step: &Step) -> Result<(), String> {
        if let Some(readings) = &step.reading {
            self.readings(readings).await?;
        }
        if let Some(super::Duration(ms)) = step.advance {
            self.clock.advance(ms);
            self.server.runtime().wake_all();
            self.settle().await?;
        }
        if let Some(name) = &step.command {
            self.command(name, step).await?;
        }
        let path = |what: &str| format!("/api/v1/communities/{COMMUNITY}/{what}");
        if let Some(pattern) = &step.alarms {
            self.check("alarms", pattern, || {
                self.active_alarms(path("alarms?state=active"))
            })
            .await?;
        }
        if let Some(pattern) = &step.messages {
            self.check("messages", pattern, || {
                self.messages(path("notifications?limit=1000"))
            })
            .await?;
        }
        if let Some(pattern) = &step.ledger {
            self.check("ledger", pattern, || {
                self.entries(path("ledger/entries?limit=1000"))
            })
            .await?;
        }
        Ok(())
    }

    /// Waits until the installation has handled every event in the log and
    /// no timer of it is due, or it was suspended.
    async fn settle(&self) -> Result<(), String> {
        let deadline = Instant::now() + SETTLE_WITHIN;
        let path = format!(
            "/api/v1/communities/{COMMUNITY}/installations/{}",
            self.installation
        );
        loop {
            let installation = read(&self.admin, &path).await?;
            let next_timer = crate::caps::timer::next_due(self.server.db(), &self.installation)
                .await
                .map_err(text)?;
            let timers_done = next_timer.is_none_or(|due| due > self.clock.now());
            if installation["state"] == "suspended" || (installation["backlog"] == 0 && timers_done)
            {
                return Ok(());
            }
            if Instant::now() > deadline {
                return Err(format!(
                    "the installation did not settle within {} s: {installation}",
                    SETTLE_WITHIN.as_secs()
                ));
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }

    /// Sends readings, each from its own device's token, and settles.
    async fn readings(&self, readings: &Value) -> Result<(), String> {
        let list = match readings {
            Value::Array(list) => list.clone(),
            one => vec![one.clone()],
        };
        for reading in list {
            let device = reading["device"].as_str().unwrap_or_default();
            let client = self.devices.get(device).ok_or_else(|| {
                format!("reading: device {device:?} is not one of the scenario's devices")
            })?;
            let reply = client
                .post("/api/v1/ingest", &json!([reading]))
                .await
                .map_err(text)?;
            if reply.status.as_u16() != 202 {
                return Err(format!("the host refused the reading: {}", reply.body));
            }
        }
        self.settle().await
    }

    async fn command(&mut self, name: &str, step: &Step) -> Result<(), String> {
        let caller = self.caller(step.caller.as_deref()).await?;
        let path = format!(
            "/api/v1/communities/{COMMUNITY}/plugins/{}/commands/{name}",
            self.plugin
        );
        let input = step.input.clone().unwrap_or_else(|| json!({}));
        let reply = caller.post(&path, &input).await.map_err(text)?;
        let outcome = match (&step.error, reply.status.is_success()) {
            (Some(code), true) => Err(format!(
                "answered {}, expected the error {code:?}",
                reply.body
            )),
            (Some(code), false) if reply.code() == Some(code.as_str()) => Ok(()),
            (Some(code), false) => Err(format!(
                "failed with {:?} ({}), expected {code:?}",
                reply.code().unwrap_or_default(),
                reply.message()
            )),
            (None, false) => Err(format!("failed: {} {}", reply.status, reply.message())),
            (None, true) => match &step.expect {
                Some(pattern) => mismatch("output", pattern, &reply.body).map_or(Ok(()), Err),
                None => Ok(()),
            },
        };
        outcome?;
        self.settle().await
    }

    /// The client a command runs as: the community admin, or a person of
    /// the map as `"resident person-1"` / `"operator person-2"`.
    async fn caller(&mut self, written: Option<&str>) -> Result<Client, String> {
        let Some(written) = written.filter(|w| *w != "community-admin") else {
            return Ok(self.community.clone());
        };
        if let Some(client) = self.people.get(written) {
            return Ok(client.clone());
        }
        let (role, person) = written.split_once(' ').ok_or_else(|| {
            format!("as: {written:?} is not \"community-admin\", \"resident PERSON\" or \"operator PERSON\"")
        })?;
        let minted = self
            .admin
            .post(
                "/api/v1/tokens",
                &json!({"role": role, "community": COMMUNITY, "subject": person, "person": person}),
            )
            .await
            .and_then(|r| r.ok())
            .map_err(|e| format!("as {written:?}: {e}"))?;
        let client = self
            .admin
            .with_token(minted["token"].as_str().unwrap_or_default());
        self.people.insert(written.to_owned(), client.clone());
        Ok(client)
    }

    /// Checks `pattern` against what `read` answers, reading again until it
    /// matches or [`CHECK_WITHIN`] has passed.
    async fn check<F, Fut>(&self, what: &str, pattern: &Value, read: F) -> Result<(), String>
    where
        F: Fn() -> Fut,
        Fut: std::future::Future<Output = Result<Value, String>>,
    {
        let deadline = Instant::now() + CHECK_WITHIN;
        loop {
            let actual = read().await?;
            match mismatch(what, pattern, &actual) {
                None => return Ok(()),
                Some(difference) if Instant::now() > deadline => return Err(difference),
                Some(_) => tokio::time::sleep(Duration::from_millis(20)).await,
            }
        }
    }

    /// Active alarms, oldest first.
    async fn active_alarms(&self, path: String) -> Result<Value, String> {
        let listed = read(&self.community, &path).await?;
        let mut alarms = listed.as_array().cloned().unwrap_or_default();
        // Ids are random; type and originator order alarms raised together
        // the same way on every run.
        alarms.sort_by_key(|a| {
            let name = |key: &str| a[key].as_str().map(str::to_owned);
            (
                a["first_seen"].as_i64(),
                name("alarm_type"),
                name("originator"),
            )
        });
        Ok(Value::Array(alarms))
    }

    /// Every message, oldest first, each with `to`: the people it reached.
    async fn messages(&self, path: String) -> Result<Value, String> {
        let listed = read(&self.community, &path).await?;
        let mut messages = Vec::new();
        for message in listed["notifications"]
            .as_array()
            .into_iter()
            .flatten()
            .rev()
        {
            let id = message["id"].as_str().unwrap_or_default();
            let path = format!("/api/v1/communities/{COMMUNITY}/notifications/{id}");
            let mut detail = read(&self.community, &path).await?;
            let mut to: Vec<String> = detail["deliveries"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|d| d["person"].as_str().map(str::to_owned))
                .collect();
            to.sort();
            to.dedup();
            detail["to"] = json!(to);
            messages.push(detail);
        }
        // Messages of one handler share a time (and their keys may hold
        // random ids): what they say and to whom orders them the same way
        // on every run.
        messages.sort_by_key(|m| {
            (
                m["created_at"].as_i64(),
                m["topic"].to_string(),
                m["title"].to_string(),
                m["to"].to_string(),
            )
        });
        Ok(Value::Array(messages))
    }

    /// The ledger's entries, oldest first, with each `body` decoded.
    async fn entries(&self, path: String) -> Result<Value, String> {
        let listed = read(&self.community, &path).await?;
        let entries = listed
            .as_array()
            .into_iter()
            .flatten()
            .map(|entry| {
                let mut entry = entry.clone();
                if let Some(body) = entry["body"]
                    .as_str()
                    .and_then(|b| serde_json::from_str(b).ok())
                {
                    entry["body"] = body;
                }
                entry
            })
            .collect();
        Ok(Value::Array(entries))
    }
}

/// Makes the scenario's community and a community-admin client for it.
async fn community(admin: &Client) -> Result<Client, ClientError> {
    admin
        .post(
            "/api/v1/communities",
            &json!({"id": COMMUNITY, "name": "Scenario community"}),
        )
        .await?
        .ok()?;
    let token = admin
        .post(
            "/api/v1/tokens",
            &json!({"role": "community-admin", "community": COMMUNITY, "subject": "scenario-admin"}),
        )
        .await?
        .ok()?;
    Ok(admin.with_token(token["token"].as_str().unwrap_or_default()))
}

/// The body of a successful GET, or what went wrong as the step's reason.
async fn read(client: &Client, path: &str) -> Result<Value, String> {
    client.get(path).await.and_then(|r| r.ok()).map_err(text)
}

fn text(error: impl std::fmt::Display) -> String {
    error.to_string()
}
