//! Setting up a simulated community before the scene is installed in it:
//! the plugin's manifest and config, the map, the devices, the time.

use std::marker::PhantomData;

use serde_json::Value as Json;

use super::devices::DeviceSpec;
use super::grants::{Grants, Manifest};
use super::map::CommunityMap;
use super::world::World;
use super::SimulatedHost;
use crate::{Error, Purpose, Scene, Timestamp};

/// Where the simulated clock starts unless told otherwise: 2026-01-01T00:00:00Z.
pub const START: Timestamp = 1_767_225_600_000;

/// A simulated community being set up; [`Builder::start`] installs the scene.
#[must_use = "a builder does nothing until `start` installs the scene"]
pub struct Builder<S: Scene> {
    manifest: Manifest,
    grants: Grants,
    config: Json,
    map: CommunityMap,
    devices: Vec<DeviceSpec>,
    consents: Vec<(String, Vec<Purpose>)>,
    now: Timestamp,
    scene: PhantomData<S>,
}

impl<S: Scene> Builder<S> {
    pub(crate) fn new(manifest: &str) -> Self {
        let manifest = Manifest::parse(manifest);
        Self {
            grants: manifest.capabilities.clone(),
            manifest,
            config: Json::Object(Default::default()),
            map: CommunityMap::default(),
            devices: Vec::new(),
            consents: Vec::new(),
            now: START,
            scene: PhantomData,
        }
    }

    /// The installation's config (default `{}`), handed to the scene's `init`
    /// as JSON. The host has checked it against the manifest's schema by
    /// then; here it must at least be an object.
    pub fn config(mut self, config: Json) -> Self {
        self.config = config;
        self
    }

    /// The community map, as the GeoJSON FeatureCollection the host's map
    /// import takes. Panics with the first refused feature.
    pub fn map(mut self, geojson: Json) -> Self {
        self.map = CommunityMap::from_geojson(&geojson)
            .unwrap_or_else(|e| panic!("the simulated map was refused: {e}"));
        self
    }

    /// A registered device, placed in the map if it names a place.
    pub fn device(mut self, device: DeviceSpec) -> Self {
        self.devices.push(device);
        self
    }

    /// What `person` of the map consents to when the scene is installed,
    /// in place of the map's `consents` for them; the host withholds their
    /// health and presence readings until the matching consent is given.
    pub fn consents(mut self, person: &str, consents: &[Purpose]) -> Self {
        self.consents.push((person.to_owned(), consents.to_vec()));
        self
    }

    /// Starts the clock at `now` instead of [`START`].
    pub fn starting_at(mut self, now: Timestamp) -> Self {
        self.now = now;
        self
    }

    /// Narrows what the installation is granted: by default it is
    /// everything the manifest requests, as an admin usually grants it.
    /// Widening past the manifest, or leaving out a capability it does not
    /// mark `optional = true`, panics, as the host refuses such a grant.
    pub fn grants(mut self, change: impl FnOnce(&mut Grants)) -> Self {
        let mut grants = self.grants.clone();
        change(&mut grants);
        let requested = &self.manifest.capabilities;
        let widened = [
            grants.sensor.is_some() && requested.sensor.is_none(),
            grants.store.is_some() && requested.store.is_none(),
            grants.timer.is_some() && requested.timer.is_none(),
            grants.ledger.is_some() && requested.ledger.is_none(),
            grants.alarm.is_some() && requested.alarm.is_none(),
            grants.map.is_some() && requested.map.is_none(),
            grants.notify.is_some() && requested.notify.is_none(),
        ];
        assert!(
            !widened.contains(&true),
            "grants: a capability the manifest does not request cannot be granted"
        );
        if let Some(required) = self.manifest.missing_required(&grants) {
            panic!(
                "grants.{required}: required by {} (its manifest does not mark it optional); \
                 the host refuses an installation without it",
                self.manifest.id
            );
        }
        self.grants = grants;
        self
    }

    /// Installs the scene as the host does: `init` with the config on a new
    /// instance (its error refuses the installation, and is returned), then
    /// `lifecycle(installed)`, whose error is returned as well.
    pub fn start(self) -> Result<SimulatedHost<S>, Error> {
        if !self.config.is_object() {
            return Err(Error::Invalid("config: must be a JSON object".to_owned()));
        }
        let mut world = World::new(self.manifest.id.clone(), self.grants, self.now);
        world.map = self.map;
        for (person, consents) in &self.consents {
            assert!(
                world.map.set_consents(person, consents),
                "consents: {person} is not a person of the simulated map"
            );
        }
        for device in self.devices {
            if let Some(place) = &device.location {
                assert!(
                    world.map.place(place).is_some(),
                    "device {}: {place} is not a place of the simulated map",
                    device.id
                );
            }
            world.devices.register(device);
        }
        SimulatedHost::install(world, self.config)
    }
}
