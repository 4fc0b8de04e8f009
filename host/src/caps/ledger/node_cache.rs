//! Each community's Merkle tree, kept in memory so that a proof reads
//! nothing from the store.
//!
//! A stored node is a complete subtree and never changes, so a copy of it
//! cannot go stale. Per community the cache holds every node, leaves
//! included, that lies inside the first `covered` entries: `2n` hashes,
//! 64 MB at 1,000,000 entries. It grows from the store in the background
//! ([`NodeCache::claim_growth`], then [`NodeCache::extend`] chunk by chunk)
//! while proofs go on reading what it lacks from the store, so no proof
//! waits for a large tree to load. Those reads go through the pool, outside
//! any writer's transaction, so they only ever see committed rows; an append
//! that rolls back never reaches the cache.

use std::collections::HashMap;
use std::sync::Mutex;

use super::merkle::{self, Hash, NodeId};
use crate::ids::CommunityId;

/// Entries added to a community's cache per store read while it grows: a
/// read returns about twice as many nodes.
pub const GROWTH_CHUNK: u64 = 1 << 16;

/// Cached trees, per community.
#[derive(Default)]
pub struct NodeCache {
    trees: Mutex<HashMap<CommunityId, Tree>>,
}

/// One community's cached nodes.
#[derive(Default)]
struct Tree {
    /// The tree size every cached level is complete for.
    covered: u64,
    /// `levels[i]` holds the nodes of level `i`, from index 0.
    levels: Vec<Vec<Hash>>,
    /// Whether a task is growing the cache now.
    growing: bool,
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

    /// Makes the caller the one task growing the community's cache, if no
    /// other is; it must call [`NodeCache::release_growth`] when done.
    pub fn claim_growth(&self, community: &CommunityId) -> bool {
        let mut trees = self.trees.lock().expect("ledger node cache");
        let tree = trees.entry(community.clone()).or_default();
        !std::mem::replace(&mut tree.growing, true)
    }

    /// Lets another task grow the community's cache.
    pub fn release_growth(&self, community: &CommunityId) {
        if let Some(tree) = self
            .trees
            .lock()
            .expect("ledger node cache")
            .get_mut(community)
        {
            tree.growing = false;
        }
    }

    /// Grows the community's cache from tree size `from` to `to` with `rows`:
    /// every node that is complete in the tree of `to` entries but not in
    /// that of `from`, ordered by level, then index. Ignored if the cache has
    /// moved from `from` meanwhile or the rows are not exactly those nodes
    /// (the store lacks some: reading them later reports which).
    ///
    /// Refused, with the first such node, when a node above the leaves is
    /// not the hash of its two children: the store was changed, and a proof
    /// built on that node would lead nowhere a verifier accepts.
    pub fn extend(
        &self,
        community: &CommunityId,
        from: u64,
        to: u64,
        rows: &[(NodeId, Hash)],
    ) -> Result<(), NodeId> {
        if !rows_extend(from, to, rows) {
            return Ok(());
        }
        let mut trees = self.trees.lock().expect("ledger node cache");
        let tree = trees.entry(community.clone()).or_default();
        if tree.covered != from {
            return Ok(());
        }
        let fresh: HashMap<NodeId, Hash> = rows.iter().copied().collect();
        let known = |id: NodeId| fresh.get(&id).copied().or_else(|| tree.node(id));
        if let Some(&(bad, _)) = rows
            .iter()
            .find(|(id, hash)| id.level > 0 && !merkle::recomputes(*id, hash, known))
        {
            return Err(bad);
        }
        for &(id, hash) in rows {
            let level = usize::from(id.level);
            if tree.levels.len() <= level {
                tree.levels.resize_with(level + 1, Vec::new);
            }
            tree.levels[level].push(hash);
        }
        tree.covered = to;
        Ok(())
    }
}

impl Tree {
    fn node(&self, id: NodeId) -> Option<Hash> {
        let index = usize::try_from(id.index).ok()?;
        self.levels.get(usize::from(id.level))?.get(index).copied()
    }
}

/// The index ranges, one per level, of the nodes complete in a tree of `to`
/// entries but not in one of `from`.
pub fn ranges_between(from: u64, to: u64) -> impl Iterator<Item = (u8, std::ops::Range<u64>)> {
    (0..64)
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
    fn grown_in_steps_it_holds_every_node_a_proof_needs() {
        let log = log(1000);
        let cache = NodeCache::default();
        let mut covered = 0;
        for size in [15, 16, 17, 100, 511, 512, 1000] {
            cache
                .extend(&community(), covered, size, &rows(&log, covered, size))
                .unwrap();
            covered = size;
            assert_eq!(cache.covered(&community()), size);
        }
        for index in [0, 1, 500, 777, 999] {
            let ids = merkle::inclusion_nodes(index, 1000).unwrap();
            let mut found = HashMap::new();
            assert!(cache.read(&community(), &ids, &mut found).is_empty());
            assert_eq!(found.len(), ids.len());
            for (id, hash) in found {
                assert_eq!(Some(hash), log.node(id));
            }
        }
        let ids = merkle::consistency_nodes(300, 1000).unwrap();
        assert!(cache
            .read(&community(), &ids, &mut HashMap::new())
            .is_empty());
    }

    #[test]
    fn a_proof_beyond_the_cache_reads_only_the_nodes_it_lacks() {
        let log = log(1000);
        let cache = NodeCache::default();
        cache
            .extend(&community(), 0, 512, &rows(&log, 0, 512))
            .unwrap();
        let ids = merkle::inclusion_nodes(700, 1000).unwrap();
        let mut found = HashMap::new();
        let missing = cache.read(&community(), &ids, &mut found);
        assert!(!missing.is_empty());
        assert!(missing.iter().all(|id| (id.index + 1) << id.level > 512));
        assert_eq!(found.len() + missing.len(), ids.len());
    }

    #[test]
    fn incomplete_or_stale_rows_leave_the_cache_as_it_was() {
        let log = log(300);
        let cache = NodeCache::default();
        let mut short = rows(&log, 0, 300);
        short.pop();
        cache.extend(&community(), 0, 300, &short).unwrap();
        assert_eq!(cache.covered(&community()), 0);

        cache
            .extend(&community(), 0, 100, &rows(&log, 0, 100))
            .unwrap();
        cache
            .extend(&community(), 0, 300, &rows(&log, 0, 300))
            .unwrap();
        assert_eq!(cache.covered(&community()), 100);
    }

    /// A node above the leaves that is not the hash of its children, at
    /// any level, keeps the cache where it was and is named.
    #[test]
    fn a_changed_interior_node_is_refused_at_any_level() {
        let log = log(300);
        for level in 1..=8u8 {
            let cache = NodeCache::default();
            cache
                .extend(&community(), 0, 100, &rows(&log, 0, 100))
                .unwrap();
            let mut changed = rows(&log, 100, 300);
            let at = changed
                .iter()
                .position(|(id, _)| id.level == level)
                .unwrap();
            changed[at].1[0] ^= 1;
            let bad = changed[at].0;
            assert_eq!(cache.extend(&community(), 100, 300, &changed), Err(bad));
            assert_eq!(cache.covered(&community()), 100);
        }
    }

    #[test]
    fn one_task_at_a_time_grows_a_community() {
        let cache = NodeCache::default();
        assert!(cache.claim_growth(&community()));
        assert!(!cache.claim_growth(&community()));
        cache.release_growth(&community());
        assert!(cache.claim_growth(&community()));
    }
}
