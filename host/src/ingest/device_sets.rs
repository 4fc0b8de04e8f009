//! The devices each device token may send readings for, kept in memory.
//!
//! A gateway speaks for hundreds of devices. Reading its device list from
//! the store on every batch (and decoding each row's reading kinds) made a
//! batch's cost grow with the number of devices behind the token, so
//! [`DeviceSets`] keeps each sender's [`DeviceSet`] once it is loaded and
//! hands out the same `Arc` to every batch until the community's devices
//! change.
//!
//! **Invalidation.** Whatever registers, moves or retires a device calls
//! [`DeviceSets::invalidate`] for its community once its transaction has
//! committed; the next batch of any of that community's senders reads its
//! set again. That call is the one entry point: a host of a future cluster
//! that hears another host changed a community's devices calls it too.
//! Each community has a generation, bumped by every invalidation; a set
//! loaded while the generation moved is used for its own batch but not
//! kept. Without that, a batch whose load raced a retirement (read before
//! the commit, stored after the invalidation) would keep a retired device
//! in the cache for good.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use crate::caps::sensor::catalogue::{self, ReadingKind};
use crate::db::Db;
use crate::ids::{CommunityId, DeviceId, InvalidId};

/// The devices one token may send readings for: its own device and the
/// devices whose gateway it is, each with the kinds it reports.
#[derive(Debug)]
pub struct DeviceSet {
    /// The token's device.
    sender: String,
    devices: Vec<DeviceId>,
    /// The kinds each device of `devices` reports, by position.
    kinds: Vec<Vec<&'static ReadingKind>>,
    /// Device id → position in `devices`.
    index: HashMap<String, usize>,
}

impl DeviceSet {
    /// The set of `sender` from `(device id, reading kinds)` rows; kinds
    /// the catalogue no longer has are left out.
    pub fn new<K: AsRef<str>>(
        sender: &str,
        rows: impl IntoIterator<Item = (DeviceId, Vec<K>)>,
    ) -> Self {
        let mut set = Self {
            sender: sender.to_owned(),
            devices: Vec::new(),
            kinds: Vec::new(),
            index: HashMap::new(),
        };
        for (id, kinds) in rows {
            set.index.insert(id.as_str().to_owned(), set.devices.len());
            set.kinds.push(
                kinds
                    .iter()
                    .filter_map(|k| catalogue::kind(k.as_ref()))
                    .collect(),
            );
            set.devices.push(id);
        }
        set
    }

    /// Reads the set of `sender` from the store.
    async fn load(db: &Db, community: &CommunityId, sender: &str) -> Result<Self, sqlx::Error> {
        let rows = crate::devices::sent_for(db, community, sender).await?;
        let rows = rows
            .into_iter()
            .map(|(id, kinds)| {
                let id = id
                    .parse()
                    .map_err(|e: InvalidId| sqlx::Error::Decode(e.into()))?;
                Ok((id, kinds))
            })
            .collect::<Result<Vec<_>, sqlx::Error>>()?;
        Ok(Self::new(sender, rows))
    }

    /// The token's device.
    pub fn sender(&self) -> &str {
        &self.sender
    }

    /// The position of device `id`, if the token may send for it.
    pub fn position(&self, id: &str) -> Option<usize> {
        self.index.get(id).copied()
    }

    /// The device at `position`.
    pub fn id(&self, position: usize) -> &str {
        self.devices[position].as_str()
    }

    /// Whether the device at `position` reports `kind`.
    pub fn reports(&self, position: usize, kind: &'static ReadingKind) -> bool {
        self.kinds[position].iter().any(|k| std::ptr::eq(*k, kind))
    }
}

/// Every sender's [`DeviceSet`] loaded so far, by community.
#[derive(Default)]
pub struct DeviceSets {
    communities: RwLock<HashMap<CommunityId, Community>>,
}

/// One community's cached sets and its generation.
#[derive(Default)]
struct Community {
    /// Bumped by every [`DeviceSets::invalidate`].
    generation: u64,
    /// Sender device id → its set.
    sets: HashMap<String, Arc<DeviceSet>>,
}

impl DeviceSets {
    /// The set of `sender` in `community`, read from the store only when it
    /// is not cached.
    pub async fn get(
        &self,
        db: &Db,
        community: &CommunityId,
        sender: &str,
    ) -> Result<Arc<DeviceSet>, sqlx::Error> {
        let generation = {
            let communities = self.communities.read().expect("device sets lock");
            match communities.get(community) {
                Some(cached) => match cached.sets.get(sender) {
                    Some(set) => return Ok(set.clone()),
                    None => cached.generation,
                },
                None => 0,
            }
        };
        let set = Arc::new(DeviceSet::load(db, community, sender).await?);
        let mut communities = self.communities.write().expect("device sets lock");
        let cached = communities.entry(community.clone()).or_default();
        if cached.generation == generation {
            cached.sets.insert(sender.to_owned(), set.clone());
        }
        Ok(set)
    }

    /// Forgets every set of `community`: its devices changed (call once the
    /// change has committed).
    pub fn invalidate(&self, community: &CommunityId) {
        let mut communities = self.communities.write().expect("device sets lock");
        let cached = communities.entry(community.clone()).or_default();
        cached.generation += 1;
        cached.sets.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(rows: &[(&str, &[&str])]) -> DeviceSet {
        DeviceSet::new(
            "gw-1",
            rows.iter()
                .map(|(id, kinds)| (id.parse().unwrap(), kinds.to_vec())),
        )
    }

    #[test]
    fn a_set_finds_its_devices_and_their_kinds() {
        let set = set(&[
            ("gw-1", &["battery"]),
            ("door-1", &["door", "no-such-kind"]),
        ]);
        let door = set.position("door-1").unwrap();
        assert_eq!(set.id(door), "door-1");
        assert!(set.reports(door, catalogue::kind("door").unwrap()));
        assert!(!set.reports(door, catalogue::kind("battery").unwrap()));
        assert_eq!(set.position("door-2"), None);
        assert_eq!(set.sender(), "gw-1");
    }
}
