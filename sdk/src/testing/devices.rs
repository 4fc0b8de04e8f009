//! The community's devices and the readings they sent: what `sensor`
//! answers and where `map.locate` and a new alarm's location come from.
//!
//! Readings are what the community sent, not an effect of the plugin, so a
//! failed handler keeps them (on the host they are in the durable event
//! log before any plugin sees them).

use crate::sensor::{Device, Reading};
use crate::{Error, Timestamp};

/// Most readings one `history` call returns, as on the host.
const MAX_HISTORY: u32 = 1000;

/// A device placed in the simulated community.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceSpec {
    /// Unique in the community.
    pub id: String,
    /// The device kind, for example `smoke-detector` or `wearable`.
    pub kind: String,
    pub name: String,
    /// The reading kinds it reports.
    pub reading_kinds: Vec<String>,
    /// The place of the map it is in, if any.
    pub location: Option<String>,
    /// The person it belongs to (a wearable), if any.
    pub person: Option<String>,
}

impl DeviceSpec {
    /// A device of `kind` reporting `reading_kinds`, named after its id, not placed.
    pub fn new(id: &str, kind: &str, reading_kinds: &[&str]) -> Self {
        Self {
            id: id.to_owned(),
            kind: kind.to_owned(),
            name: id.to_owned(),
            reading_kinds: reading_kinds.iter().map(|k| (*k).to_owned()).collect(),
            location: None,
            person: None,
        }
    }

    /// Placed in `place` of the map.
    pub fn at(mut self, place: &str) -> Self {
        self.location = Some(place.to_owned());
        self
    }

    /// Belonging to `person`.
    pub fn worn_by(mut self, person: &str) -> Self {
        self.person = Some(person.to_owned());
        self
    }

    fn to_wit(&self) -> Device {
        Device {
            id: self.id.clone(),
            kind: self.kind.clone(),
            name: self.name.clone(),
            reading_kinds: self.reading_kinds.clone(),
            location: self.location.clone(),
        }
    }
}

/// The registered devices and every reading received, in arrival order.
#[derive(Default)]
pub(crate) struct Devices {
    devices: Vec<DeviceSpec>,
    readings: Vec<Reading>,
}

impl Devices {
    pub fn register(&mut self, device: DeviceSpec) {
        self.devices.retain(|d| d.id != device.id);
        self.devices.push(device);
    }

    pub fn device(&self, id: &str) -> Option<&DeviceSpec> {
        self.devices.iter().find(|d| d.id == id)
    }

    /// Where the device is placed: `None` for a device not registered,
    /// `Some(None)` for one registered without a place.
    pub fn location(&self, id: &str) -> Option<Option<String>> {
        self.device(id).map(|d| d.location.clone())
    }

    pub fn record(&mut self, reading: Reading) {
        self.readings.push(reading);
    }

    /// Readings of `kind` from `device` measured in `[start, end)`, in measurement order.
    fn span(&self, device: &str, kind: &str, start: Timestamp, end: Timestamp) -> Vec<&Reading> {
        let mut found: Vec<&Reading> = self
            .readings
            .iter()
            .filter(|r| r.device == device && r.kind == kind && start <= r.at && r.at < end)
            .collect();
        // Stable: readings measured at the same time stay in arrival order.
        found.sort_by_key(|r| r.at);
        found
    }

    pub fn latest(&self, device: &str, kind: &str) -> Option<Reading> {
        // Readings of unregistered devices are not found, as on the host.
        self.device(device)?;
        self.span(device, kind, Timestamp::MIN, Timestamp::MAX)
            .last()
            .map(|r| (*r).clone())
    }

    pub fn history(
        &self,
        device: &str,
        kind: &str,
        start: Timestamp,
        end: Timestamp,
        limit: u32,
    ) -> Result<Vec<Reading>, Error> {
        if start >= end {
            return Err(Error::Invalid("start must be before end".to_owned()));
        }
        if self.device(device).is_none() {
            return Ok(Vec::new());
        }
        Ok(self
            .span(device, kind, start, end)
            .into_iter()
            .take(limit.min(MAX_HISTORY) as usize)
            .cloned()
            .collect())
    }

    /// Devices reporting `kind`, or any kind `visible` allows when none is given.
    pub fn reporting(&self, kind: Option<&str>, visible: impl Fn(&str) -> bool) -> Vec<Device> {
        self.devices
            .iter()
            .filter(|d| match kind {
                Some(kind) => d.reading_kinds.iter().any(|k| k == kind),
                None => d.reading_kinds.iter().any(|k| visible(k)),
            })
            .map(DeviceSpec::to_wit)
            .collect()
    }
}
