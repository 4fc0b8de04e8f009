//! Where the plugin keeps things in its store.
//!
//! A compound of 5,000 units must not read or write its whole roll to take
//! one ballot, and the host bounds a value at 1 MiB and an installation's
//! keys at 100,000 by default. So each motion's per-unit and per-person
//! records are kept in **shards**: a unit (or person, or head) lives in
//! shard `sha256(name) mod shards`, with about 64 units a shard (at most
//! 256 shards, a few kilobytes each). One ballot reads and writes the
//! unit's shard, its head's shard and the motion's live counts; a 5,000-unit
//! motion keeps about 320 keys, so thousands of motions fit the quota.
//!
//! | key | value |
//! |---|---|
//! | `next-motion` | the number of the next motion |
//! | `motions/{motion}` | the [`Motion`]: text, stage, frozen totals, result |
//! | `live/{motion}` | participation so far ([`Totals`]) |
//! | `roll/{motion}/{shard}` | unit → [`Voter`](crate::roll::Voter), frozen at opening |
//! | `people/{motion}/{shard}` | person → [`PersonUnits`] |
//! | `sealed/votes/{motion}/{shard}` | unit → [`UnitVote`](crate::authority::UnitVote); sealed, so the host never exports a choice |
//! | `heads/{motion}/{shard}` | head → how many of its units have voted |
//!
//! Motions have their own prefix so listing them reads no shard.

use std::collections::BTreeMap;

use linli_sdk::{state, Error};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::motion::Motion;
use crate::roll::Totals;

const NEXT_MOTION: &str = "next-motion";
const MOTIONS: &str = "motions/";
/// About this many units to a shard.
const UNITS_PER_SHARD: u64 = 64;
const MAX_SHARDS: u32 = 256;

/// The per-motion records kept in shards.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Family {
    Roll,
    People,
    Votes,
    Heads,
}

impl Family {
    fn prefix(self) -> &'static str {
        match self {
            Family::Roll => "roll",
            Family::People => "people",
            // A secret ballot's choice is here: sealed, so no API of the
            // host exports it (see the WIT `store` interface).
            Family::Votes => "sealed/votes",
            Family::Heads => "heads",
        }
    }
}

/// What one person may cast in one motion.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PersonUnits {
    /// Units they own (or, for the developer's voter, the unsold units).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub owns: Vec<String>,
    /// Units whose owners made them proxy, while the proxy stands.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub proxied: Vec<String>,
}

impl PersonUnits {
    /// Every unit the person has to do with, owned first.
    pub fn all(&self) -> Vec<String> {
        let mut all = self.owns.clone();
        all.extend(
            self.proxied
                .iter()
                .filter(|u| !self.owns.contains(u))
                .cloned(),
        );
        all
    }
}

/// How many shards a motion over `units` units uses.
pub fn shard_count(units: u64) -> u32 {
    units
        .div_ceil(UNITS_PER_SHARD)
        .clamp(1, u64::from(MAX_SHARDS)) as u32
}

/// The shard `name` lives in, of `shards`.
pub fn shard_of(name: &str, shards: u32) -> u32 {
    let digest = Sha256::digest(name.as_bytes());
    let first = u32::from_be_bytes([digest[0], digest[1], digest[2], digest[3]]);
    first % shards.max(1)
}

/// One motion's sharded records.
#[derive(Debug, Clone, Copy)]
pub struct Shards<'m> {
    motion: &'m str,
    shards: u32,
}

impl<'m> Shards<'m> {
    pub fn new(motion: &'m str, shards: u32) -> Self {
        Self { motion, shards }
    }

    pub fn count(&self) -> u32 {
        self.shards
    }

    fn key(&self, family: Family, shard: u32) -> String {
        format!("{}/{}/{shard:03}", family.prefix(), self.motion)
    }

    /// Every record of `family` in shard `shard`.
    pub fn read<T: DeserializeOwned>(
        &self,
        family: Family,
        shard: u32,
    ) -> Result<BTreeMap<String, T>, Error> {
        Ok(state::get(&self.key(family, shard))?.unwrap_or_default())
    }

    /// Replaces shard `shard` of `family`.
    pub fn write<T: Serialize>(
        &self,
        family: Family,
        shard: u32,
        records: &BTreeMap<String, T>,
    ) -> Result<(), Error> {
        state::put(&self.key(family, shard), records)
    }

    /// The record of `name`, if any.
    pub fn get<T: DeserializeOwned>(&self, family: Family, name: &str) -> Result<Option<T>, Error> {
        let mut shard: BTreeMap<String, T> = self.read(family, shard_of(name, self.shards))?;
        Ok(shard.remove(name))
    }

    /// Stores `record` as the record of `name`.
    pub fn put<T>(&self, family: Family, name: &str, record: T) -> Result<(), Error>
    where
        T: Serialize + DeserializeOwned,
    {
        let shard = shard_of(name, self.shards);
        let mut records: BTreeMap<String, T> = self.read(family, shard)?;
        records.insert(name.to_owned(), record);
        self.write(family, shard, &records)
    }

    /// Changes the record of `name` (from `T::default()` when it has none)
    /// and writes its shard back.
    pub fn update<T, R>(
        &self,
        family: Family,
        name: &str,
        change: impl FnOnce(&mut T) -> R,
    ) -> Result<R, Error>
    where
        T: Serialize + DeserializeOwned + Default,
    {
        let shard = shard_of(name, self.shards);
        let mut records: BTreeMap<String, T> = self.read(family, shard)?;
        let outcome = change(records.entry(name.to_owned()).or_default());
        self.write(family, shard, &records)?;
        Ok(outcome)
    }

    /// Every record of `family`, reading each shard once: for the close
    /// and the reminders, never for a ballot.
    pub fn all<T: DeserializeOwned>(&self, family: Family) -> Result<BTreeMap<String, T>, Error> {
        let mut all = BTreeMap::new();
        for shard in 0..self.shards {
            all.append(&mut self.read(family, shard)?);
        }
        Ok(all)
    }

    /// Writes `records` of `family` into their shards (at opening).
    pub fn write_all<T: Serialize>(
        &self,
        family: Family,
        records: BTreeMap<String, T>,
    ) -> Result<(), Error> {
        let mut by_shard: BTreeMap<u32, BTreeMap<String, T>> = BTreeMap::new();
        for (name, record) in records {
            by_shard
                .entry(shard_of(&name, self.shards))
                .or_default()
                .insert(name, record);
        }
        for (shard, records) in by_shard {
            self.write(family, shard, &records)?;
        }
        Ok(())
    }
}

fn motion_key(id: &str) -> String {
    format!("{MOTIONS}{id}")
}

/// The motion `id`.
pub fn motion(id: &str) -> Result<Motion, Error> {
    state::get(&motion_key(id))?.ok_or_else(|| Error::NotFound(format!("motion: no motion {id}")))
}

pub fn save_motion(motion: &Motion) -> Result<(), Error> {
    state::put(&motion_key(&motion.id), motion)
}

/// A fresh motion id: `motion-1`, `motion-2`, …
pub fn next_motion_id() -> Result<String, Error> {
    let number = state::update(NEXT_MOTION, |next: &mut u64| {
        *next += 1;
        *next
    })?;
    Ok(format!("motion-{number}"))
}

/// Every motion, oldest first.
pub fn motions() -> Result<Vec<Motion>, Error> {
    let mut all = Vec::new();
    for key in state::keys(MOTIONS)? {
        if let Some(motion) = state::get::<Motion>(&key)? {
            all.push(motion);
        }
    }
    all.sort_by_key(|m| {
        m.id.trim_start_matches("motion-")
            .parse::<u64>()
            .unwrap_or(u64::MAX)
    });
    Ok(all)
}

fn live_key(id: &str) -> String {
    format!("live/{id}")
}

/// Participation so far.
pub fn live(id: &str) -> Result<Totals, Error> {
    Ok(state::get(&live_key(id))?.unwrap_or_default())
}

pub fn save_live(id: &str, live: &Totals) -> Result<(), Error> {
    state::put(&live_key(id), live)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shards_grow_with_the_roll_within_bounds() {
        assert_eq!(shard_count(0), 1);
        assert_eq!(shard_count(64), 1);
        assert_eq!(shard_count(65), 2);
        assert_eq!(shard_count(5_000), 79);
        assert_eq!(shard_count(1_000_000), MAX_SHARDS);
    }

    #[test]
    fn a_name_always_lands_in_the_same_shard_and_names_spread() {
        assert_eq!(shard_of("b3-201", 79), shard_of("b3-201", 79));
        assert!(shard_of("b3-201", 79) < 79);
        let used: std::collections::BTreeSet<u32> =
            (0..5_000).map(|i| shard_of(&format!("u{i}"), 79)).collect();
        assert_eq!(used.len(), 79, "every shard gets units");
        let fullest = (0..79)
            .map(|s| {
                (0..5_000)
                    .filter(|i| shard_of(&format!("u{i}"), 79) == s)
                    .count()
            })
            .max()
            .unwrap();
        assert!(fullest < 110, "a shard holds {fullest} of about 64 units");
    }

    #[test]
    fn a_person_sees_owned_units_before_proxied_ones_once_each() {
        let person = PersonUnits {
            owns: vec!["u1".into()],
            proxied: vec!["u2".into(), "u1".into()],
        };
        assert_eq!(person.all(), ["u1", "u2"]);
    }
}
