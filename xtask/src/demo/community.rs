//! Sunny Garden as the demo sets it up: the community, its map, the scene
//! plugins with the grants their manifests request, and its devices.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{anyhow, bail, Context, Result};
use serde_json::{json, Value};

use super::api::Api;
use crate::{component_path, root};

pub const COMMUNITY: &str = "sunny-garden";
pub const FIRE: &str = "fire-safety";
pub const ELDER: &str = "elder-care";
pub const HELLO: &str = "hello-scene";
pub const PARKING: &str = "parking";
pub const VOTING: &str = "voting";
/// How long a car may stand on a fire lane before the alarm, in the demo
/// (the scene's default is a minute).
pub const LANE_SECONDS: u64 = 5;

/// The scenes the demo installs: plugin, source folder, installation config.
fn scenes() -> [(&'static str, &'static str, Value); 5] {
    [
        (
            HELLO,
            "examples/hello-scene",
            json!({"greeting": "你好, 邻里"}),
        ),
        (FIRE, "plugins/fire-safety", json!({})),
        // One volunteer per round of offers, and a round a minute, so that
        // the widening of an unanswered offer shows while the demo runs.
        (
            ELDER,
            "plugins/elder-care",
            json!({"offer-group-size": 1, "offer-timeout-minutes": 1}),
        ),
        (
            PARKING,
            "plugins/parking",
            json!({"fire-lane": {"blocked-after-ms": LANE_SECONDS * 1000}}),
        ),
        // No notice period and the shortest vote the scene allows, so a
        // motion opens and closes while the demo tells it.
        (
            VOTING,
            "plugins/voting",
            json!({"min-notice-ms": 0, "min-voting-ms": 60_000}),
        ),
    ]
}

/// The demo map file.
pub fn map_file() -> PathBuf {
    root().join("examples/demo-community/sunny-garden.geojson")
}

/// Packs every scene the demo installs into `dir`; returns (plugin, package).
pub fn pack_scenes(linli: &Path, dir: &Path) -> Result<Vec<(&'static str, PathBuf)>> {
    let mut packages = Vec::new();
    for (plugin, source, _) in scenes() {
        let package = dir.join(format!("{plugin}.linli"));
        crate::run(
            Command::new(linli)
                .args(["plugin", "pack"])
                .arg(root().join(source))
                .arg("--wasm")
                .arg(component_path(plugin))
                .arg("-o")
                .arg(&package),
        )?;
        packages.push((plugin, package));
    }
    Ok(packages)
}

/// The people and places of the map, read from the map file itself.
pub struct Map {
    features: BTreeMap<String, Value>,
}

impl Map {
    pub fn load(geojson: &Value) -> Result<Self> {
        let features = geojson["features"]
            .as_array()
            .ok_or_else(|| anyhow!("the demo map has no features"))?
            .iter()
            .filter_map(|f| Some((f["id"].as_str()?.to_owned(), f["properties"].clone())))
            .collect();
        Ok(Self { features })
    }

    fn props(&self, id: &str) -> &Value {
        self.features.get(id).unwrap_or(&Value::Null)
    }

    /// A place or person by name and id: `Liu Ping (person-003)`.
    pub fn who(&self, id: &str) -> String {
        match self.props(id)["name"].as_str() {
            Some(name) => format!("{name} ({id})"),
            None => id.to_owned(),
        }
    }

    /// The unit a person lives in, when they live in the compound.
    pub fn home(&self, person: &str) -> Option<String> {
        let household = self.links(person, "resident-of").into_iter().next()?;
        self.props(&household)["parent"].as_str().map(str::to_owned)
    }

    /// `who`, with where they live: `Gao Guilan (person-126, b3-204)`.
    pub fn who_home(&self, person: &str) -> String {
        let name = self.props(person)["name"].as_str().unwrap_or(person);
        match self.home(person) {
            Some(home) => format!("{name} ({person}, {home})"),
            None => format!("{name} ({person}, lives elsewhere)"),
        }
    }

    fn links(&self, person: &str, kind: &str) -> Vec<String> {
        self.props(person)["links"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|l| l["kind"] == kind)
            .filter_map(|l| l["target"].as_str().map(str::to_owned))
            .collect()
    }

    /// What a person is to `of`: family, or their roles on the map.
    pub fn relation(&self, person: &str, of: &str) -> String {
        if self.links(person, "family-of").iter().any(|t| t == of) {
            return "family".to_owned();
        }
        let roles: Vec<&str> = self.props(person)["roles"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|r| r["role"].as_str())
            .collect();
        if roles.is_empty() {
            "resident".to_owned()
        } else {
            roles.join(", ")
        }
    }

    /// The people holding `role` on the map.
    pub fn holders(&self, role: &str) -> Vec<String> {
        self.features
            .iter()
            .filter(|(_, p)| {
                p["roles"]
                    .as_array()
                    .is_some_and(|roles| roles.iter().any(|r| r["role"] == role))
            })
            .map(|(id, _)| id.clone())
            .collect()
    }

    /// `(person, unit)` for every unit whose id starts with `prefix`
    /// (`b3-` for building 3) and the person owning it, by unit.
    pub fn owners_under(&self, prefix: &str) -> Vec<(String, String)> {
        let mut owners: Vec<(String, String)> = self
            .features
            .keys()
            .flat_map(|person| {
                self.links(person, "owner-of")
                    .into_iter()
                    .filter(|unit| unit.starts_with(prefix))
                    .map(move |unit| (person.clone(), unit))
            })
            .collect();
        owners.sort_by(|a, b| a.1.cmp(&b.1));
        owners
    }

    pub fn skills(&self, person: &str) -> Vec<String> {
        self.props(person)["skills"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|s| s.as_str().map(str::to_owned))
            .collect()
    }
}

/// The community as the story drives it.
pub struct Community {
    /// The residents' committee: a community-admin token.
    pub committee: Api,
    pub map: Map,
    /// Registered devices and clients holding their tokens, in order.
    pub devices: Vec<(String, Api)>,
}

impl Community {
    /// Creates Sunny Garden, imports its map and installs the scenes.
    pub fn create(admin: &Api, packages: &[(&str, PathBuf)]) -> Result<Self> {
        admin
            .post(
                "/api/v1/communities",
                json!({"id": COMMUNITY, "name": "阳光花园 Sunny Garden", "timezone": "Asia/Shanghai"}),
            )
            .context("creating the community")?;
        let committee = admin
            .post(
                "/api/v1/tokens",
                json!({"role": "community-admin", "community": COMMUNITY, "subject": "residents-committee"}),
            )
            .context("issuing the residents' committee's token")?;
        let committee = admin.with_token(
            committee["token"]
                .as_str()
                .ok_or_else(|| anyhow!("no token in {committee}"))?,
        );

        let file = map_file();
        let text = std::fs::read_to_string(&file)
            .with_context(|| format!("reading {}", file.display()))?;
        let geojson: Value = serde_json::from_str(&text)
            .with_context(|| format!("{} is not JSON", file.display()))?;
        let summary = committee
            .put(
                &format!("/api/v1/communities/{COMMUNITY}/map"),
                geojson.clone(),
            )
            .context("importing the map")?;
        println!(
            "  Community {COMMUNITY} created; map {} imported: {} places, {} people.",
            file.strip_prefix(root()).unwrap_or(&file).display(),
            summary["places"],
            summary["people"]
        );

        // What the host answers an upload is its own reading of the
        // manifest: the version packed and the capabilities requested.
        let mut published = BTreeMap::new();
        for (plugin, package) in packages {
            let info = admin
                .upload(package)
                .with_context(|| format!("publishing {plugin}"))?;
            published.insert(*plugin, info);
        }
        for (plugin, _, config) in scenes() {
            let info = published
                .get(plugin)
                .ok_or_else(|| anyhow!("{plugin} was not packed"))?;
            let version = info["version"]
                .as_str()
                .ok_or_else(|| anyhow!("{plugin}: the host answered no version"))?;
            // The committee grants the demo scenes all they ask for.
            let grants = info["capabilities"].clone();
            let installed = committee
                .post(
                    &format!("/api/v1/communities/{COMMUNITY}/installations"),
                    json!({"plugin": plugin, "version": version, "grants": grants, "config": config}),
                )
                .with_context(|| format!("installing {plugin}"))?;
            println!(
                "  {plugin} {version} published and installed ({}), granted what its manifest requests: {}.",
                installed["id"].as_str().unwrap_or("?"),
                describe_grants(&grants)
            );
        }
        Ok(Self {
            committee,
            map: Map::load(&geojson)?,
            devices: Vec::new(),
        })
    }

    /// A path under the community.
    pub fn path(&self, rest: &str) -> String {
        format!("/api/v1/communities/{COMMUNITY}{rest}")
    }

    /// Runs a plugin command as `caller`.
    pub fn command(&self, caller: &Api, plugin: &str, name: &str, input: Value) -> Result<Value> {
        caller.post(
            &self.path(&format!("/plugins/{plugin}/commands/{name}")),
            input,
        )
    }

    /// A client holding a new resident token tied to `person` of the map.
    pub fn person(&self, person: &str) -> Result<Api> {
        let issued = self
            .committee
            .post(
                "/api/v1/tokens",
                json!({"role": "resident", "community": COMMUNITY, "subject": person, "person": person}),
            )
            .with_context(|| format!("issuing a token for {person}"))?;
        let token = issued["token"]
            .as_str()
            .ok_or_else(|| anyhow!("no token in {issued}"))?;
        Ok(self.committee.with_token(token))
    }

    /// Registers a device reporting `kinds`, placed at `location` when given.
    pub fn register(
        &mut self,
        id: &str,
        kind: &str,
        kinds: &[&str],
        location: Option<&str>,
    ) -> Result<()> {
        let mut device = json!({"id": id, "kind": kind, "reading_kinds": kinds});
        if let Some(location) = location {
            device["location"] = json!(location);
        }
        self.register_device(id, device)
    }

    /// Registers a device that `person` wears: the host withholds its
    /// health readings from every scene until the person (or their
    /// guardian) consents to health monitoring.
    pub fn register_worn(&mut self, id: &str, kinds: &[&str], person: &str) -> Result<()> {
        let device =
            json!({"id": id, "kind": "wearable", "reading_kinds": kinds, "person": person});
        self.register_device(id, device)
    }

    fn register_device(&mut self, id: &str, device: Value) -> Result<()> {
        let registered = self
            .committee
            .post(&self.path("/devices"), device)
            .with_context(|| format!("registering device {id}"))?;
        let token = registered["token"]
            .as_str()
            .ok_or_else(|| anyhow!("no device token in {registered}"))?;
        let client = self.committee.with_token(token);
        self.devices.push((id.to_owned(), client));
        Ok(())
    }

    /// Records `person`'s consent to `purpose`, given by `by` (the person
    /// or their guardian) with the words they were shown.
    pub fn consent(&self, by: &Api, person: &str, purpose: &str, text: &str) -> Result<()> {
        by.put(
            &self.path(&format!("/people/{person}/consents/{purpose}")),
            json!({"given": true, "text": text}),
        )
        .with_context(|| format!("recording {person}'s consent to {purpose}"))?;
        Ok(())
    }

    /// Sends readings `(kind, value, at)` from a registered device (`at`:
    /// when it measured them, UTC ms; now when absent).
    pub fn send(&self, device: &str, readings: &[(&str, Value, Option<i64>)]) -> Result<()> {
        let Some((_, client)) = self.devices.iter().find(|(id, _)| id == device) else {
            bail!("no device {device} was registered");
        };
        let batch: Vec<Value> = readings
            .iter()
            .map(|(kind, value, at)| {
                let mut reading = json!({"device": device, "kind": kind, "value": value});
                if let Some(at) = at {
                    reading["at"] = json!(at);
                }
                reading
            })
            .collect();
        client
            .ingest(Value::Array(batch))
            .with_context(|| format!("sending readings from {device}"))
    }
}

/// `sensor (10 kinds), store, map (people), ledger (timebank), ...`
fn describe_grants(grants: &Value) -> String {
    let Some(grants) = grants.as_object() else {
        return "nothing".to_owned();
    };
    grants
        .iter()
        .map(|(capability, scope)| {
            let details: Vec<String> = scope
                .as_object()
                .into_iter()
                .flatten()
                .map(|(key, value)| match value {
                    Value::Array(items) if items.len() <= 2 => items
                        .iter()
                        .filter_map(Value::as_str)
                        .collect::<Vec<_>>()
                        .join(", "),
                    Value::Array(items) => format!("{} {key}", items.len()),
                    Value::Bool(true) => key.clone(),
                    other => format!("{key} {other}"),
                })
                .collect();
            if details.is_empty() {
                capability.clone()
            } else {
                format!("{capability} ({})", details.join("; "))
            }
        })
        .collect::<Vec<_>>()
        .join(", ")
}
