//! The upper levels of each community's Merkle tree, kept in memory so that a
//! proof reads only its few lowest nodes from the store.
//!
//! A stored node is a complete subtree and never changes, so a copy of it
//! cannot go stale. Per community the cache holds every node at level
//! [`CACHED_FROM_LEVEL`] or above that lies inside the first `covered`
//! entries, and grows only when a read asks for a larger tree: the reader
//! fetches the missing nodes from the store in one query and hands them over
//! with [`NodeCache::extend`]. Those reads go through the pool, outside any
//! writer's transaction, so they only ever see committed rows; an append
//! that rolls back never reaches the cache.
//!
//! A tree of `n` entries has about `n / 2^(CACHED_FROM_LEVEL - 1)` such nodes:
//! 125,000 hashes (4 MB) at 1,000,000 entries. The levels below are 15 nodes
//! out of 16 and a proof needs at most one node from each of them, so they stay
//! in the store.

use std::collections::HashMap;
use std::sync::Mutex;

use super::merkle::{Hash, NodeId};
use crate::ids::CommunityId;

/// The lowest tree level the cache holds.
pub const CACHED_FROM_LEVEL: u8 = 4;

/// Cached upper tree levels, per community.
#[derive(Default)]
pub struct NodeCache {
    trees: Mutex<HashMap<CommunityId, UpperLevels>>,
}

/// One community's cached nodes.
#[derive(Default)]
struct UpperLevels {
    /// The tree size every cached level is complete for.
    covered: u64,
    /// `levels[i]` holds the nodes of level `CACHED_FROM_LEVEL + i`, from index 0.
    levels: Vec<Vec<Hash>>,
}

impl NodeCache {
    /// The tree size the community's cached levels are complete for.
    pub fn covered(&self, community: &CommunityId) -> u64 {
        self.trees
            .lock()
            .expect("ledger node cache")
            .get(community)
            .map_or(0, |tree| tree.covered)
    }

    /// Copies the cached nodes among `ids` into `found` and returns the
    /// others, which the caller reads from the store.
    pub fn read(
        &self,
        community: &CommunityId,
        ids: &[NodeId],
        found: &mut HashMap<NodeId, Hash>,
    ) -> Vec<NodeId> {
        let trees = self.trees.lock().expect("ledger node cache");
        let tree = trees.get(community);
        let mut missing = Vec::new();
        for &id in ids {
            match tree.and_then(|tree| tree.node(id)) {
                Some(hash) => {
                    found.insert(id, hash);
                }
                None => missing.push(id),
            }
        }
        missing
    }

    /// Grows the community's cache from tree size `from` to `to` with `rows`:
    /// every node at level [`CACHED_FROM_LEVEL`] or above that is complete in
    /// the tree of `to` entries but not in that of `from`, ordered by level,
    /// then index. Ignored if the cache has moved from `from` meanwhile or the
    /// rows are not exactly those nodes (the store lacks some: reading them
    /// later reports which).
    pub fn extend(&self, community: &CommunityId, from: u64, to: u64, rows: &[(NodeId, Hash)]) {
        if !rows_extend(from, to, rows) {
            return;
        }
        let mut trees = self.trees.lock().expect("ledger node cache");
        let tree = trees.entry(community.clone()).or_default();
        if tree.covered != from {
            return;
        }
        for &(id, hash) in rows {
            let level = usize::from(id.level - CACHED_FROM_LEVEL);
            if tree.levels.len() <= level {
                tree.levels.resize_with(level + 1, Vec::new);
            }
            tree.levels[level].push(hash);
        }
        tree.covered = to;
    }
}

impl UpperLevels {
    fn node(&self, id: NodeId) -> Option<Hash> {
        let level = id.level.checked_sub(CACHED_FROM_LEVEL)?;
        let index = usize::try_from(id.index).ok()?;
        self.levels.get(usize::from(level))?.get(index).copied()
    }
}

/// The index ranges, one per level from [`CACHED_FROM_LEVEL`] up, of the
/// nodes complete in a tree of `to` entries but not in one of `from`.
pub fn ranges_between(from: u64, to: u64) -> impl Iterator<Item = (u8, std::ops::Range<u64>)> {
    (CACHED_FROM_LEVEL..64)
        .map(move |level| (level, (from >> level)..(to >> level)))
        .filter(|(_, range)| !range.is_empty())
}

/// Whether `rows` are exactly the nodes [`ranges_between`] `from` and `to`, in order.
fn rows_extend(from: u64, to: u64, rows: &[(NodeId, Hash)]) -> bool {
    let mut expected = ranges_between(from, to)
        .flat_map(|(level, range)| range.map(move |index| NodeId::new(level, index)));
    rows.iter().all(|(id, _)| expected.next() == Some(*id)) && expected.next().is_none()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::caps::ledger::merkle::{self, MemoryLog, NodeStore};

    fn community() -> CommunityId {
        "plum-garden".parse().unwrap()
    }

    fn log(size: u64) -> MemoryLog {
        (0..size)
            .map(|i| merkle::leaf_hash(&i.to_le_bytes()))
            .collect()
    }

    /// The rows a store of `log` returns for growing the cache from `from` to `to`.
    fn rows(log: &MemoryLog, from: u64, to: u64) -> Vec<(NodeId, Hash)> {
        ranges_between(from, to)
            .flat_map(|(level, range)| range.map(move |index| NodeId::new(level, index)))
            .map(|id| (id, log.node(id).unwrap()))
            .collect()
    }

    #[test]
    fn grown_in_steps_it_holds_the_upper_nodes_and_nothing_below() {
        let log = log(1000);
        let cache = NodeCache::default();
        let mut covered = 0;
        for size in [15, 16, 17, 100, 511, 512, 1000] {
            cache.extend(&community(), covered, size, &rows(&log, covered, size));
            covered = size;
            assert_eq!(cache.covered(&community()), size);
        }
        let ids = merkle::inclusion_nodes(777, 1000).unwrap();
        let mut found = HashMap::new();
        let missing = cache.read(&community(), &ids, &mut found);
        assert!(missing.iter().all(|id| id.level < CACHED_FROM_LEVEL));
        assert!(found.keys().all(|id| id.level >= CACHED_FROM_LEVEL));
        assert_eq!(found.len() + missing.len(), ids.len());
        for (id, hash) in found {
            assert_eq!(Some(hash), log.node(id));
        }
    }

    #[test]
    fn incomplete_or_stale_rows_leave_the_cache_as_it_was() {
        let log = log(300);
        let cache = NodeCache::default();
        let mut short = rows(&log, 0, 300);
        short.pop();
        cache.extend(&community(), 0, 300, &short);
        assert_eq!(cache.covered(&community()), 0);

        cache.extend(&community(), 0, 100, &rows(&log, 0, 100));
        cache.extend(&community(), 0, 300, &rows(&log, 0, 300));
        assert_eq!(cache.covered(&community()), 100);
    }
}
