//! The Merkle log behind each community's ledger: an append-only,
//! tamper-evident sequence of entries, hashed as in Certificate Transparency
//! (RFC 6962 §2.1) and verified with the iterative algorithms of RFC 9162
//! §2.1.3.2 and §2.1.4.2, so any CT tooling can check our proofs.
//!
//! # Hashing
//!
//! A leaf is `SHA-256(0x00 || entry)`, an interior node
//! `SHA-256(0x01 || left || right)` and the empty tree `SHA-256("")`. The
//! prefixes keep a leaf from ever passing for an interior node.
//!
//! # Storage: complete subtrees only
//!
//! Node `(level, index)` covers leaves `[index·2^level, (index+1)·2^level)`.
//! A log stores the hash of every such node once its last leaf exists, and
//! never changes it again: appending a leaf stores the leaf and each parent it
//! completes ([`nodes_completed_by_append`]), two rows per entry on average.
//!
//! A tree of `n` leaves (RFC 6962's `MTH(D[n])`) is then a row of complete
//! subtrees along its right edge, one per set bit of `n`, largest on the left;
//! its root hashes them together from the right. Every root and proof is
//! assembled from O(log n) stored nodes and nothing is ever rehashed from the
//! leaves.
//!
//! # Plan, then compute
//!
//! The database is async and this module is not, so each operation comes in
//! two halves: `*_nodes` ([`root_nodes`], [`inclusion_nodes`],
//! [`consistency_nodes`], [`append_nodes`]) lists exactly the nodes it will
//! read, the store fetches them in one query, and the pure half ([`root`],
//! [`inclusion_proof`], [`consistency_proof`], [`nodes_completed_by_append`])
//! computes from any [`NodeStore`]: a `HashMap` of the fetched rows, or a
//! [`MemoryLog`].
//!
//! # Proofs
//!
//! A leaf lies in one of the right-edge subtrees. Its audit path (RFC 6962
//! `PATH`) is its siblings inside that subtree, then the hash of everything to
//! the right of that subtree (the one node on the path that is not complete,
//! folded from the smaller right-edge subtrees), then each larger subtree to
//! its left. A consistency proof (RFC 6962 `PROOF`) is the audit path, in the
//! new tree, of the old tree's smallest right-edge subtree, led by that
//! subtree's own hash unless it is the whole old tree.
//!
//! A root means nothing without its size: verification takes the sizes in a
//! proof on trust, which is why a [checkpoint](super::checkpoint) signs size
//! and root together.

use std::collections::HashMap;
use std::hash::BuildHasher;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// A SHA-256 digest: a leaf, an interior node or a tree root.
pub type Hash = [u8; 32];

/// The hash of one entry as a leaf: `SHA-256(0x00 || data)`.
pub fn leaf_hash(data: &[u8]) -> Hash {
    Sha256::new()
        .chain_update([0x00])
        .chain_update(data)
        .finalize()
        .into()
}

/// The hash of an interior node: `SHA-256(0x01 || left || right)`.
pub fn node_hash(left: &Hash, right: &Hash) -> Hash {
    Sha256::new()
        .chain_update([0x01])
        .chain_update(left)
        .chain_update(right)
        .finalize()
        .into()
}

/// Whether `hash`, held for node `id` above the leaves, is the hash of its
/// two children as `node` finds them; a child `node` lacks is a mismatch.
/// The audit and the node cache both check a stored tree with it.
pub fn recomputes(id: NodeId, hash: &Hash, node: impl Fn(NodeId) -> Option<Hash>) -> bool {
    debug_assert!(id.level > 0, "a leaf has no children");
    let child = |offset| node(NodeId::new(id.level - 1, 2 * id.index + offset));
    match (child(0), child(1)) {
        (Some(left), Some(right)) => node_hash(&left, &right) == *hash,
        _ => false,
    }
}

/// The root of the empty tree: `SHA-256("")`.
pub fn empty_root() -> Hash {
    Sha256::digest(b"").into()
}

/// A complete subtree of the log: the node `index` places from the left at
/// `level` above the leaves, covering leaves
/// `[index·2^level, (index+1)·2^level)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct NodeId {
    /// Height above the leaves, which are level 0.
    pub level: u8,
    /// Position within the level, from 0 on the left.
    pub index: u64,
}

impl NodeId {
    /// The node at `level` and `index`.
    pub const fn new(level: u8, index: u64) -> Self {
        Self { level, index }
    }

    /// The leaf of entry `index`.
    pub const fn leaf(index: u64) -> Self {
        Self::new(0, index)
    }
}

/// Where a log keeps the hashes of its complete subtrees.
pub trait NodeStore {
    /// The hash of node `id`, or `None` if it is not stored (it is not
    /// complete yet, or was not fetched).
    fn node(&self, id: NodeId) -> Option<Hash>;
}

/// The rows a database layer fetched for one `*_nodes` plan.
impl<S: BuildHasher> NodeStore for HashMap<NodeId, Hash, S> {
    fn node(&self, id: NodeId) -> Option<Hash> {
        self.get(&id).copied()
    }
}

/// Why a root or a proof could not be produced from a store.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProofError {
    /// The leaf does not exist in a tree of that size.
    #[error("entry {leaf_index} is not in a tree of {tree_size} entries")]
    LeafOutOfRange {
        /// The requested leaf.
        leaf_index: u64,
        /// The size of the tree it was looked for in.
        tree_size: u64,
    },
    /// A consistency proof was asked from a larger tree to a smaller one.
    #[error("a tree of {old_size} entries cannot grow into one of {new_size}")]
    SizesOutOfOrder {
        /// The size of the earlier tree.
        old_size: u64,
        /// The size of the later tree.
        new_size: u64,
    },
    /// The tree asked for is larger than the log.
    #[error("the log has {log_size} entries, fewer than the {tree_size} asked for")]
    BeyondLog {
        /// The size asked for.
        tree_size: u64,
        /// The number of entries in the log.
        log_size: u64,
    },
    /// The store lacks a node the plan named: the node table is incomplete or
    /// the rows fetched do not match the plan.
    #[error("the log has no hash for the node at level {}, index {}", .0.level, .0.index)]
    MissingNode(NodeId),
}

/// Why a proof failed verification.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VerifyError {
    /// The proof names a leaf outside its own tree.
    #[error("entry {leaf_index} is not in a tree of {tree_size} entries")]
    LeafOutOfRange {
        /// The leaf the proof names.
        leaf_index: u64,
        /// The tree size the proof names.
        tree_size: u64,
    },
    /// The proof's old tree is larger than its new tree.
    #[error("a tree of {old_size} entries cannot grow into one of {new_size}")]
    SizesOutOfOrder {
        /// The old tree size the proof names.
        old_size: u64,
        /// The new tree size the proof names.
        new_size: u64,
    },
    /// The path is too long or too short for the sizes it claims.
    #[error("the proof has the wrong number of hashes for its tree sizes")]
    WrongPathLength,
    /// The leaf and path hash to another root than the one given.
    #[error("the inclusion proof does not lead to the given root")]
    RootMismatch,
    /// The path does not rebuild the given old root.
    #[error("the consistency proof does not lead to the given old root")]
    OldRootMismatch,
    /// The path does not rebuild the given new root from the old tree.
    #[error("the consistency proof does not lead to the given new root")]
    NewRootMismatch,
}

/// Proof that an entry is in a tree: RFC 6962 §2.1.1 `PATH(m, D[n])`, the
/// hashes beside the path from the leaf to the root, bottom up.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InclusionProof {
    /// The entry's position, from 0.
    pub leaf_index: u64,
    /// The number of entries in the tree whose root the proof leads to.
    pub tree_size: u64,
    /// The audit path, bottom up, as lowercase hex.
    #[serde(with = "hex_hashes")]
    pub path: Vec<Hash>,
}

/// Proof that one tree is a prefix of a later one: RFC 6962 §2.1.2
/// `PROOF(m, D[n])`. It is empty when `old_size` is 0 or equals `new_size`,
/// where there is nothing to prove beyond the roots themselves.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConsistencyProof {
    /// The number of entries in the earlier tree.
    pub old_size: u64,
    /// The number of entries in the later tree.
    pub new_size: u64,
    /// The proof's hashes, bottom up, as lowercase hex.
    #[serde(with = "hex_hashes")]
    pub path: Vec<Hash>,
}

/// The nodes [`root`] reads for a tree of `size` entries: the complete
/// subtrees on its right edge, smallest first.
pub fn root_nodes(size: u64) -> Vec<NodeId> {
    right_edge(size).collect()
}

/// The root (RFC 6962 `MTH`) of the tree of the first `size` entries.
pub fn root<S: NodeStore + ?Sized>(size: u64, store: &S) -> Result<Hash, ProofError> {
    Ok(fold_subtrees(right_edge(size), store)?.unwrap_or_else(empty_root))
}

/// The nodes [`inclusion_proof`] reads to prove entry `leaf_index` in the tree
/// of `tree_size` entries.
pub fn inclusion_nodes(leaf_index: u64, tree_size: u64) -> Result<Vec<NodeId>, ProofError> {
    Ok(nodes_of(inclusion_steps(leaf_index, tree_size)?, tree_size))
}

/// Proves that entry `leaf_index` is in the tree of `tree_size` entries.
pub fn inclusion_proof<S: NodeStore + ?Sized>(
    leaf_index: u64,
    tree_size: u64,
    store: &S,
) -> Result<InclusionProof, ProofError> {
    let path = hashes_of(inclusion_steps(leaf_index, tree_size)?, tree_size, store)?;
    Ok(InclusionProof {
        leaf_index,
        tree_size,
        path,
    })
}

/// The nodes [`consistency_proof`] reads to prove that the tree of `old_size`
/// entries is a prefix of the tree of `new_size` entries.
pub fn consistency_nodes(old_size: u64, new_size: u64) -> Result<Vec<NodeId>, ProofError> {
    Ok(nodes_of(consistency_steps(old_size, new_size)?, new_size))
}

/// Proves that the tree of `old_size` entries is a prefix of the tree of
/// `new_size` entries.
pub fn consistency_proof<S: NodeStore + ?Sized>(
    old_size: u64,
    new_size: u64,
    store: &S,
) -> Result<ConsistencyProof, ProofError> {
    let path = hashes_of(consistency_steps(old_size, new_size)?, new_size, store)?;
    Ok(ConsistencyProof {
        old_size,
        new_size,
        path,
    })
}

/// The nodes [`nodes_completed_by_append`] reads when the log holds
/// `size_before` entries: the left halves of the parents the new leaf
/// completes, which are the smallest subtrees on the log's right edge.
pub fn append_nodes(size_before: u64) -> Vec<NodeId> {
    completed_parents_left_halves(size_before).collect()
}

/// The nodes that appending the leaf `leaf_hash` to a log of `size_before`
/// entries makes complete: the leaf itself, then each parent it completes,
/// bottom up. A writer stores them in the transaction that stores the entry.
pub fn nodes_completed_by_append<S: NodeStore + ?Sized>(
    size_before: u64,
    leaf_hash: Hash,
    store: &S,
) -> Result<Vec<(NodeId, Hash)>, ProofError> {
    let left_halves = completed_parents_left_halves(size_before);
    let mut completed = Vec::with_capacity(1 + left_halves.len());
    let mut node = NodeId::leaf(size_before);
    let mut hash = leaf_hash;
    completed.push((node, hash));
    for left_half in left_halves {
        node = NodeId::new(node.level + 1, node.index >> 1);
        hash = node_hash(&read(store, left_half)?, &hash);
        completed.push((node, hash));
    }
    Ok(completed)
}

/// Checks that `proof` leads from the entry whose leaf hash is `leaf_hash` to
/// `root`, the root of the tree of `proof.tree_size` entries (RFC 9162
/// §2.1.3.2).
pub fn verify_inclusion(
    leaf_hash: &Hash,
    proof: &InclusionProof,
    root: &Hash,
) -> Result<(), VerifyError> {
    let InclusionProof {
        leaf_index,
        tree_size,
        ref path,
    } = *proof;
    if leaf_index >= tree_size {
        return Err(VerifyError::LeafOutOfRange {
            leaf_index,
            tree_size,
        });
    }
    // RFC 9162's `fn` and `sn`: the positions of the node being hashed and of
    // the tree's last node, on the level currently reached.
    let mut position = leaf_index;
    let mut last = tree_size - 1;
    let mut hash = *leaf_hash;
    for sibling in path {
        if last == 0 {
            return Err(VerifyError::WrongPathLength);
        }
        if position & 1 == 1 || position == last {
            hash = node_hash(sibling, &hash);
            // A rightmost node with no sibling on some levels moves up
            // unchanged until it becomes a right child.
            while position & 1 == 0 && position != 0 {
                position >>= 1;
                last >>= 1;
            }
        } else {
            hash = node_hash(&hash, sibling);
        }
        position >>= 1;
        last >>= 1;
    }
    if last != 0 {
        return Err(VerifyError::WrongPathLength);
    }
    if hash != *root {
        return Err(VerifyError::RootMismatch);
    }
    Ok(())
}

/// Checks that `proof` shows the tree with root `old_root` (of
/// `proof.old_size` entries) to be a prefix of the tree with root `new_root`
/// (of `proof.new_size` entries), as RFC 9162 §2.1.4.2 does.
///
/// The empty tree is a prefix of every tree and a tree is a prefix of
/// itself; both need an empty path, and `old_root` must then be the empty
/// root or `new_root` respectively.
pub fn verify_consistency(
    old_root: &Hash,
    new_root: &Hash,
    proof: &ConsistencyProof,
) -> Result<(), VerifyError> {
    let ConsistencyProof {
        old_size,
        new_size,
        ref path,
    } = *proof;
    if old_size > new_size {
        return Err(VerifyError::SizesOutOfOrder { old_size, new_size });
    }
    if old_size == 0 || old_size == new_size {
        if !path.is_empty() {
            return Err(VerifyError::WrongPathLength);
        }
        if old_size == 0 && *old_root != empty_root() {
            return Err(VerifyError::OldRootMismatch);
        }
        if old_size == new_size && old_root != new_root {
            return Err(VerifyError::NewRootMismatch);
        }
        return Ok(());
    }
    let Some((first, rest)) = path.split_first() else {
        return Err(VerifyError::WrongPathLength);
    };
    // When the old tree is one complete subtree, the proof leaves out its hash:
    // the verifier has it as the old root.
    let (start, rest) = if old_size.is_power_of_two() {
        (old_root, path.as_slice())
    } else {
        (first, rest)
    };
    // RFC 9162's `fn` and `sn`, as in `verify_inclusion`, starting from the
    // old tree's last leaf and climbing to the top of its last complete
    // subtree.
    let mut position = old_size - 1;
    let mut last = new_size - 1;
    while position & 1 == 1 {
        position >>= 1;
        last >>= 1;
    }
    let mut old_hash = *start;
    let mut new_hash = *start;
    for sibling in rest {
        if last == 0 {
            return Err(VerifyError::WrongPathLength);
        }
        if position & 1 == 1 || position == last {
            // A left sibling is in both trees; the old tree ends where the
            // path turns right.
            old_hash = node_hash(sibling, &old_hash);
            new_hash = node_hash(sibling, &new_hash);
            while position & 1 == 0 && position != 0 {
                position >>= 1;
                last >>= 1;
            }
        } else {
            new_hash = node_hash(&new_hash, sibling);
        }
        position >>= 1;
        last >>= 1;
    }
    if last != 0 {
        return Err(VerifyError::WrongPathLength);
    }
    if old_hash != *old_root {
        return Err(VerifyError::OldRootMismatch);
    }
    if new_hash != *new_root {
        return Err(VerifyError::NewRootMismatch);
    }
    Ok(())
}

/// A whole log in memory with every complete subtree: for tests, and for an
/// audit that rebuilds a community's log from its entries and compares it
/// with what the database holds.
#[derive(Debug, Clone, Default)]
pub struct MemoryLog {
    /// `levels[l][i]` is the hash of node `(l, i)`; level 0 holds the leaves.
    levels: Vec<Vec<Hash>>,
}

impl MemoryLog {
    /// An empty log.
    pub fn new() -> Self {
        Self::default()
    }

    /// The number of entries.
    pub fn size(&self) -> u64 {
        self.levels.first().map_or(0, |leaves| leaves.len() as u64)
    }

    /// Appends an entry by its leaf hash and returns its index.
    pub fn append(&mut self, leaf_hash: Hash) -> u64 {
        let index = self.size();
        let completed = nodes_completed_by_append(index, leaf_hash, self)
            .expect("a memory log holds every complete subtree");
        for (node, hash) in completed {
            let level = usize::from(node.level);
            if self.levels.len() == level {
                self.levels.push(Vec::new());
            }
            self.levels[level].push(hash);
        }
        index
    }

    /// The root of the whole log.
    pub fn root(&self) -> Hash {
        root(self.size(), self).expect("a memory log holds every complete subtree")
    }

    /// The root of the tree of the first `tree_size` entries.
    pub fn root_at(&self, tree_size: u64) -> Result<Hash, ProofError> {
        self.check_size(tree_size)?;
        root(tree_size, self)
    }

    /// Proves that entry `leaf_index` is in the tree of `tree_size` entries.
    pub fn inclusion_proof(
        &self,
        leaf_index: u64,
        tree_size: u64,
    ) -> Result<InclusionProof, ProofError> {
        self.check_size(tree_size)?;
        inclusion_proof(leaf_index, tree_size, self)
    }

    /// Proves that the tree of `old_size` entries is a prefix of the tree of
    /// `new_size` entries.
    pub fn consistency_proof(
        &self,
        old_size: u64,
        new_size: u64,
    ) -> Result<ConsistencyProof, ProofError> {
        self.check_size(new_size)?;
        consistency_proof(old_size, new_size, self)
    }

    /// Refuses trees larger than the log: a proof about entries that do not
    /// exist yet could otherwise be built from the nodes that do.
    fn check_size(&self, tree_size: u64) -> Result<(), ProofError> {
        let log_size = self.size();
        if tree_size > log_size {
            return Err(ProofError::BeyondLog {
                tree_size,
                log_size,
            });
        }
        Ok(())
    }
}

impl NodeStore for MemoryLog {
    fn node(&self, id: NodeId) -> Option<Hash> {
        let level = self.levels.get(usize::from(id.level))?;
        level.get(usize::try_from(id.index).ok()?).copied()
    }
}

/// Builds a log from its entries' leaf hashes, in order.
impl FromIterator<Hash> for MemoryLog {
    fn from_iter<I: IntoIterator<Item = Hash>>(leaf_hashes: I) -> Self {
        let mut log = Self::new();
        for leaf_hash in leaf_hashes {
            log.append(leaf_hash);
        }
        log
    }
}

/// One hash of a proof, named before any hash is read.
#[derive(Debug, Clone, Copy)]
enum PathStep {
    /// A complete subtree, read as stored.
    Stored(NodeId),
    /// The one incomplete node of a path: everything to the right of the
    /// right-edge subtree at this level, folded from the smaller right-edge
    /// subtrees.
    RightOf(u8),
}

/// The complete subtrees on the right edge of a tree of `size` entries, one
/// per set bit of `size`, smallest (rightmost) first.
fn right_edge(size: u64) -> impl Iterator<Item = NodeId> + Clone {
    (0..u64::BITS as u8)
        .filter(move |&level| (size >> level) & 1 == 1)
        .map(move |level| NodeId::new(level, (size >> level) - 1))
}

/// The left halves of the parents that appending to a log of `size_before`
/// entries completes: one per trailing one bit of `size_before`, bottom up.
fn completed_parents_left_halves(size_before: u64) -> impl ExactSizeIterator<Item = NodeId> {
    (0..size_before.trailing_ones() as u8)
        .map(move |level| NodeId::new(level, (size_before >> level) - 1))
}

/// The audit path from the complete subtree `start` to the root of a tree of
/// `size` entries, bottom up. `start` must lie within the tree.
fn audit_path(start: NodeId, size: u64) -> impl Iterator<Item = PathStep> + Clone {
    // `start` lies in the right-edge subtree of the highest level at which
    // its ancestor's position and the number of nodes on that level differ.
    let nodes_at_start_level = size >> start.level;
    let levels_up = u64::BITS - (start.index ^ nodes_at_start_level).leading_zeros() - 1;
    let fork_level = start.level + levels_up as u8;

    let siblings = (start.level..fork_level).map(move |level| {
        let ancestor = start.index >> (level - start.level);
        PathStep::Stored(NodeId::new(level, ancestor ^ 1))
    });
    let has_right_part = size & ((1 << fork_level) - 1) != 0;
    let right_part = has_right_part.then_some(PathStep::RightOf(fork_level));
    let left_parts = right_edge(size)
        .filter(move |subtree| subtree.level > fork_level)
        .map(PathStep::Stored);
    siblings.chain(right_part).chain(left_parts)
}

/// The steps of `PATH(leaf_index, D[tree_size])`.
fn inclusion_steps(
    leaf_index: u64,
    tree_size: u64,
) -> Result<impl Iterator<Item = PathStep> + Clone, ProofError> {
    if leaf_index >= tree_size {
        return Err(ProofError::LeafOutOfRange {
            leaf_index,
            tree_size,
        });
    }
    Ok(audit_path(NodeId::leaf(leaf_index), tree_size))
}

/// The steps of `PROOF(old_size, D[new_size])`.
fn consistency_steps(
    old_size: u64,
    new_size: u64,
) -> Result<impl Iterator<Item = PathStep> + Clone, ProofError> {
    if old_size > new_size {
        return Err(ProofError::SizesOutOfOrder { old_size, new_size });
    }
    let something_to_prove = old_size != 0 && old_size != new_size;
    let steps = something_to_prove.then(|| {
        // The old tree's smallest right-edge subtree is complete in the new
        // tree too; proving where it sits there proves the whole old tree.
        let level = old_size.trailing_zeros() as u8;
        let last_subtree = NodeId::new(level, (old_size >> level) - 1);
        let named = (!old_size.is_power_of_two()).then_some(PathStep::Stored(last_subtree));
        named.into_iter().chain(audit_path(last_subtree, new_size))
    });
    Ok(steps.into_iter().flatten())
}

/// Every stored node that `steps` read, in a tree of `size` entries.
fn nodes_of(steps: impl Iterator<Item = PathStep>, size: u64) -> Vec<NodeId> {
    let mut nodes = Vec::new();
    for step in steps {
        match step {
            PathStep::Stored(node) => nodes.push(node),
            PathStep::RightOf(level) => {
                nodes.extend(right_edge(size).take_while(|subtree| subtree.level < level))
            }
        }
    }
    nodes
}

/// The hashes of `steps` in a tree of `size` entries, read from `store` into
/// one allocation.
fn hashes_of<S: NodeStore + ?Sized>(
    steps: impl Iterator<Item = PathStep> + Clone,
    size: u64,
    store: &S,
) -> Result<Vec<Hash>, ProofError> {
    let mut hashes = Vec::with_capacity(steps.clone().count());
    for step in steps {
        let hash = match step {
            PathStep::Stored(node) => read(store, node)?,
            PathStep::RightOf(level) => {
                let right_part = right_edge(size).take_while(|subtree| subtree.level < level);
                fold_subtrees(right_part, store)?
                    .expect("a right part is only named when the size has lower bits")
            }
        };
        hashes.push(hash);
    }
    Ok(hashes)
}

/// Hashes adjacent complete subtrees, given right to left and each at least
/// twice the size of everything to its right, into the root over all of them
/// (as `MTH` splits at the largest power of two); `None` if there are none.
fn fold_subtrees<S: NodeStore + ?Sized>(
    right_to_left: impl Iterator<Item = NodeId>,
    store: &S,
) -> Result<Option<Hash>, ProofError> {
    let mut folded = None;
    for subtree in right_to_left {
        let left = read(store, subtree)?;
        folded = Some(match folded {
            None => left,
            Some(right) => node_hash(&left, &right),
        });
    }
    Ok(folded)
}

/// Reads one node the plan named.
fn read<S: NodeStore + ?Sized>(store: &S, node: NodeId) -> Result<Hash, ProofError> {
    store.node(node).ok_or(ProofError::MissingNode(node))
}

/// Serde for one hash as a lowercase hex string.
pub(crate) mod hex_hash {
    use hex::FromHex;
    use serde::{Deserialize, Deserializer, Serializer};

    use super::Hash;

    /// Writes `hash` as 64 lowercase hex digits.
    pub fn serialize<S: Serializer>(hash: &Hash, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&hex::encode(hash))
    }

    /// Reads 64 hex digits.
    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Hash, D::Error> {
        let text = String::deserialize(deserializer)?;
        Hash::from_hex(&text).map_err(serde::de::Error::custom)
    }
}

/// Serde for a list of hashes as lowercase hex strings.
mod hex_hashes {
    use hex::FromHex;
    use serde::{Deserialize, Deserializer, Serializer};

    use super::Hash;

    /// Writes each hash as 64 lowercase hex digits.
    pub fn serialize<S: Serializer>(hashes: &[Hash], serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_seq(hashes.iter().map(hex::encode))
    }

    /// Reads a list of 64-hex-digit strings.
    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Vec<Hash>, D::Error> {
        Vec::<String>::deserialize(deserializer)?
            .iter()
            .map(|text| Hash::from_hex(text).map_err(serde::de::Error::custom))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use std::sync::OnceLock;

    use ct_merkle::mem_backed_tree::MemoryBackedTree;
    use hex::FromHex;
    use proptest::prelude::*;
    use proptest::sample::Index;
    use sha2_for_ct_merkle::Sha256 as CtSha256;

    use super::*;

    /// The largest tree the property tests look at.
    const LARGEST: u64 = 2000;

    /// A distinct entry for every position, so that no two leaves collide.
    fn entry(index: u64) -> Vec<u8> {
        format!("entry {index}").into_bytes()
    }

    fn log_of(size: u64) -> MemoryLog {
        (0..size).map(|index| leaf_hash(&entry(index))).collect()
    }

    /// One log of [`LARGEST`] entries; any smaller tree is a prefix of it.
    fn shared_log() -> &'static MemoryLog {
        static LOG: OnceLock<MemoryLog> = OnceLock::new();
        LOG.get_or_init(|| log_of(LARGEST))
    }

    fn from_hex(text: &str) -> Hash {
        Hash::from_hex(text).unwrap()
    }

    fn flip_bit(bytes: &mut [u8], pick: Index, bit: u8) {
        let at = pick.index(bytes.len());
        bytes[at] ^= 1 << bit;
    }

    #[test]
    fn the_hashes_are_those_of_rfc_6962() {
        assert_eq!(
            hex::encode(empty_root()),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
        assert_eq!(
            leaf_hash(b"abc"),
            <[u8; 32]>::from(Sha256::digest(b"\x00abc"))
        );
        let (left, right) = ([1; 32], [2; 32]);
        let mut preimage = vec![0x01];
        preimage.extend_from_slice(&left);
        preimage.extend_from_slice(&right);
        assert_eq!(
            node_hash(&left, &right),
            <[u8; 32]>::from(Sha256::digest(&preimage))
        );
    }

    /// The eight-entry tree of the Certificate Transparency reference tests.
    #[test]
    fn the_ct_reference_tree_has_its_published_roots_and_proofs() {
        let entries: [&[u8]; 8] = [
            b"",
            b"\x00",
            b"\x10",
            b"\x20\x21",
            b"\x30\x31",
            b"\x40\x41\x42\x43",
            b"\x50\x51\x52\x53\x54\x55\x56\x57",
            b"\x60\x61\x62\x63\x64\x65\x66\x67\x68\x69\x6a\x6b\x6c\x6d\x6e\x6f",
        ];
        let roots = [
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
            "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
            "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
            "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
            "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
            "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
            "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
            "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
        ];
        let log: MemoryLog = entries.iter().map(|data| leaf_hash(data)).collect();
        for (size, expected) in roots.iter().enumerate() {
            assert_eq!(
                log.root_at(size as u64).unwrap(),
                from_hex(expected),
                "size {size}"
            );
        }

        let path_of_first_in_eight = [
            "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
        ];
        assert_eq!(
            log.inclusion_proof(0, 8).unwrap().path,
            path_of_first_in_eight.map(from_hex)
        );

        let consistency: [(u64, u64, &[&str]); 4] = [
            (1, 1, &[]),
            (1, 8, &path_of_first_in_eight),
            (
                6,
                8,
                &[
                    "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
                    "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
                    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
                ],
            ),
            (
                2,
                5,
                &[
                    "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
                    "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
                ],
            ),
        ];
        for (old_size, new_size, expected) in consistency {
            let proof = log.consistency_proof(old_size, new_size).unwrap();
            let expected: Vec<Hash> = expected.iter().copied().map(from_hex).collect();
            assert_eq!(proof.path, expected, "{old_size} -> {new_size}");
        }
    }

    /// Our roots and proofs are byte for byte those of `ct-merkle`, an
    /// independent implementation, for every leaf and old size of every tree
    /// up to 130 entries.
    #[test]
    fn small_trees_match_ct_merkle_exactly() {
        let mut theirs = MemoryBackedTree::<CtSha256, Vec<u8>>::new();
        let mut ours = MemoryLog::new();
        for size in 1..=130u64 {
            theirs.push(entry(size - 1));
            ours.append(leaf_hash(&entry(size - 1)));
            assert_same_tree(&theirs, &ours, size, 0..size, 1..size);
        }
    }

    /// The same for a spread of larger trees, around powers of two and not.
    #[test]
    fn large_trees_match_ct_merkle_exactly() {
        let mut theirs = MemoryBackedTree::<CtSha256, Vec<u8>>::new();
        let mut ours = MemoryLog::new();
        for size in 1..=LARGEST {
            theirs.push(entry(size - 1));
            ours.append(leaf_hash(&entry(size - 1)));
            let interesting = size % 97 == 0 || [511, 512, 513, 1023, 1024, 1025].contains(&size);
            if interesting {
                let sample = |bound: u64| (0..bound).filter(move |n| n % 13 == 0 || bound - n < 3);
                assert_same_tree(
                    &theirs,
                    &ours,
                    size,
                    sample(size),
                    sample(size).filter(|&n| n > 0),
                );
            }
        }
    }

    fn assert_same_tree(
        theirs: &MemoryBackedTree<CtSha256, Vec<u8>>,
        ours: &MemoryLog,
        size: u64,
        leaves: impl Iterator<Item = u64>,
        old_sizes: impl Iterator<Item = u64>,
    ) {
        assert_eq!(
            ours.root().as_slice(),
            theirs.root().as_bytes().as_slice(),
            "root of {size}"
        );
        for leaf_index in leaves {
            let proof = ours.inclusion_proof(leaf_index, size).unwrap();
            let expected = theirs.prove_inclusion(leaf_index as usize);
            assert_eq!(
                proof.path.concat(),
                expected.as_bytes(),
                "inclusion of {leaf_index} in {size}"
            );
        }
        for old_size in old_sizes {
            let proof = ours.consistency_proof(old_size, size).unwrap();
            let expected = theirs.prove_consistency((size - old_size) as usize);
            assert_eq!(
                proof.path.concat(),
                expected.as_bytes(),
                "consistency {old_size} -> {size}"
            );
        }
    }

    #[test]
    fn the_log_stores_each_complete_subtree_once() {
        for size in [0u64, 1, 2, 3, 7, 8, 100, 1000] {
            let log = log_of(size);
            let stored: usize = log.levels.iter().map(Vec::len).sum();
            assert_eq!(
                stored as u64,
                2 * size - u64::from(size.count_ones()),
                "size {size}"
            );
        }
    }

    /// The database path: fetch what the plan names into a map, compute from
    /// the map alone, and get what the full log gives.
    #[test]
    fn proofs_from_the_planned_nodes_alone_match_the_full_log() {
        let log = shared_log();
        let fetch = |plan: Vec<NodeId>| -> HashMap<NodeId, Hash> {
            plan.into_iter()
                .map(|node| (node, log.node(node).expect("planned node exists")))
                .collect()
        };
        for size in (0..=LARGEST).step_by(7).chain([1023, 1024, 1025]) {
            let plan = root_nodes(size);
            assert_eq!(plan.len() as u32, size.count_ones());
            assert_eq!(
                root(size, &fetch(plan)).unwrap(),
                log.root_at(size).unwrap()
            );

            for leaf_index in (0..size).step_by(61).chain(size.checked_sub(1)) {
                let plan = inclusion_nodes(leaf_index, size).unwrap();
                assert!(plan.len() <= 2 * 64);
                let proof = inclusion_proof(leaf_index, size, &fetch(plan)).unwrap();
                assert_eq!(proof, log.inclusion_proof(leaf_index, size).unwrap());
            }
            for old_size in (0..=size).step_by(53).chain([size]) {
                let plan = consistency_nodes(old_size, size).unwrap();
                let proof = consistency_proof(old_size, size, &fetch(plan)).unwrap();
                assert_eq!(proof, log.consistency_proof(old_size, size).unwrap());
            }
        }
    }

    /// A writer that reads only `append_nodes` stores exactly the nodes a full
    /// log gains.
    #[test]
    fn appending_from_the_planned_nodes_completes_the_right_subtrees() {
        let mut log = MemoryLog::new();
        for size_before in 0..300u64 {
            let plan = append_nodes(size_before);
            let fetched: HashMap<NodeId, Hash> = plan
                .iter()
                .map(|&node| (node, log.node(node).unwrap()))
                .collect();
            let leaf = leaf_hash(&entry(size_before));
            let completed = nodes_completed_by_append(size_before, leaf, &fetched).unwrap();

            log.append(leaf);
            let expected_parents = (size_before + 1).trailing_zeros() as usize;
            assert_eq!(completed.len(), 1 + expected_parents);
            for (node, hash) in completed {
                assert_eq!(log.node(node), Some(hash));
            }
        }
    }

    #[test]
    fn impossible_requests_are_refused() {
        let log = log_of(5);
        assert_eq!(
            log.inclusion_proof(5, 5),
            Err(ProofError::LeafOutOfRange {
                leaf_index: 5,
                tree_size: 5
            })
        );
        assert_eq!(
            log.consistency_proof(4, 3),
            Err(ProofError::SizesOutOfOrder {
                old_size: 4,
                new_size: 3
            })
        );
        assert_eq!(
            log.root_at(6),
            Err(ProofError::BeyondLog {
                tree_size: 6,
                log_size: 5
            })
        );
        assert_eq!(
            inclusion_proof(0, 5, &HashMap::new()),
            Err(ProofError::MissingNode(NodeId::leaf(1)))
        );
    }

    #[test]
    fn proofs_serialise_with_lowercase_hex_hashes() {
        let proof = shared_log().inclusion_proof(2, 3).unwrap();
        let json = serde_json::to_value(&proof).unwrap();
        assert_eq!(json["leaf_index"], 2);
        assert_eq!(json["tree_size"], 3);
        assert_eq!(json["path"][0], hex::encode(proof.path[0]));
        assert!(json["path"][0]
            .as_str()
            .unwrap()
            .chars()
            .all(|c| matches!(c, '0'..='9' | 'a'..='f')));
        assert_eq!(
            serde_json::from_value::<InclusionProof>(json).unwrap(),
            proof
        );

        let proof = shared_log().consistency_proof(3, 7).unwrap();
        let json = serde_json::to_string(&proof).unwrap();
        assert_eq!(
            serde_json::from_str::<ConsistencyProof>(&json).unwrap(),
            proof
        );

        let short_hash = r#"{"old_size":1,"new_size":2,"path":["abcd"]}"#;
        assert!(serde_json::from_str::<ConsistencyProof>(short_hash).is_err());
    }

    #[test]
    fn trivial_consistency_needs_an_empty_path_and_the_right_roots() {
        let log = shared_log();
        let (root_5, root_6) = (log.root_at(5).unwrap(), log.root_at(6).unwrap());
        let same = log.consistency_proof(5, 5).unwrap();
        assert_eq!(verify_consistency(&root_5, &root_5, &same), Ok(()));
        assert_eq!(
            verify_consistency(&root_5, &root_6, &same),
            Err(VerifyError::NewRootMismatch)
        );

        let from_empty = log.consistency_proof(0, 5).unwrap();
        assert_eq!(
            verify_consistency(&empty_root(), &root_5, &from_empty),
            Ok(())
        );
        assert_eq!(
            verify_consistency(&root_6, &root_5, &from_empty),
            Err(VerifyError::OldRootMismatch)
        );

        let padded = ConsistencyProof {
            path: vec![root_5],
            ..same
        };
        assert_eq!(
            verify_consistency(&root_5, &root_5, &padded),
            Err(VerifyError::WrongPathLength)
        );
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(128))]

        #[test]
        fn every_inclusion_proof_verifies_and_any_change_breaks_it(
            (tree_size, leaf_index) in (1..=LARGEST).prop_flat_map(|size| (Just(size), 0..size)),
            other_index in 0..LARGEST,
            other_size in 1..=LARGEST,
            pick in any::<Index>(),
            bit in 0u8..8,
        ) {
            let log = shared_log();
            let root = log.root_at(tree_size).unwrap();
            let proof = log.inclusion_proof(leaf_index, tree_size).unwrap();
            let leaf = leaf_hash(&entry(leaf_index));
            prop_assert_eq!(verify_inclusion(&leaf, &proof, &root), Ok(()));

            let mut altered_entry = entry(leaf_index);
            flip_bit(&mut altered_entry, pick, bit);
            prop_assert!(verify_inclusion(&leaf_hash(&altered_entry), &proof, &root).is_err());

            if !proof.path.is_empty() {
                let mut altered = proof.clone();
                let at = pick.index(altered.path.len());
                flip_bit(&mut altered.path[at], pick, bit);
                prop_assert!(verify_inclusion(&leaf, &altered, &root).is_err());

                let mut shortened = proof.clone();
                shortened.path.pop();
                prop_assert_eq!(
                    verify_inclusion(&leaf, &shortened, &root),
                    Err(VerifyError::WrongPathLength)
                );
            }
            let mut lengthened = proof.clone();
            lengthened.path.push(root);
            prop_assert_eq!(
                verify_inclusion(&leaf, &lengthened, &root),
                Err(VerifyError::WrongPathLength)
            );

            if other_index != leaf_index {
                let moved = InclusionProof { leaf_index: other_index, ..proof.clone() };
                prop_assert!(verify_inclusion(&leaf, &moved, &root).is_err());
            }

            if other_size != tree_size {
                let resized = InclusionProof { tree_size: other_size, ..proof.clone() };
                let other_root = log.root_at(other_size).unwrap();
                prop_assert!(verify_inclusion(&leaf, &resized, &other_root).is_err());
            }
        }

        #[test]
        fn every_consistency_proof_verifies_and_any_change_breaks_it(
            (old_size, new_size) in (0..=LARGEST).prop_flat_map(|new| (0..=new, Just(new))),
            (other_old, other_new) in (0..=LARGEST).prop_flat_map(|new| (0..=new, Just(new))),
            pick in any::<Index>(),
            bit in 0u8..8,
        ) {
            let log = shared_log();
            let old_root = log.root_at(old_size).unwrap();
            let new_root = log.root_at(new_size).unwrap();
            let proof = log.consistency_proof(old_size, new_size).unwrap();
            prop_assert_eq!(verify_consistency(&old_root, &new_root, &proof), Ok(()));

            if !proof.path.is_empty() {
                let mut altered = proof.clone();
                let at = pick.index(altered.path.len());
                flip_bit(&mut altered.path[at], pick, bit);
                prop_assert!(verify_consistency(&old_root, &new_root, &altered).is_err());

                let mut shortened = proof.clone();
                shortened.path.pop();
                prop_assert_eq!(
                    verify_consistency(&old_root, &new_root, &shortened),
                    Err(VerifyError::WrongPathLength)
                );
            }
            let mut lengthened = proof.clone();
            lengthened.path.push(new_root);
            prop_assert_eq!(
                verify_consistency(&old_root, &new_root, &lengthened),
                Err(VerifyError::WrongPathLength)
            );

            // Other sizes, checked against their own roots, only pass if the
            // path happens to be the true proof for those sizes too (as the
            // empty path is for every tree grown from nothing).
            let resized = ConsistencyProof { old_size: other_old, new_size: other_new, ..proof.clone() };
            let verdict = verify_consistency(
                &log.root_at(other_old).unwrap(),
                &log.root_at(other_new).unwrap(),
                &resized,
            );
            if verdict.is_ok() {
                prop_assert_eq!(&log.consistency_proof(other_old, other_new).unwrap().path, &proof.path);
            }
        }

        /// A log that rewrote an entry an earlier checkpoint covered cannot
        /// prove itself consistent with that checkpoint.
        #[test]
        fn a_rewritten_history_is_never_consistent_with_the_old_root(
            (rewritten, old_size, new_size) in (1..=LARGEST)
                .prop_flat_map(|new| (1..=new, Just(new)))
                .prop_flat_map(|(old, new)| (0..old, Just(old), Just(new))),
            pick in any::<Index>(),
            bit in 0u8..8,
        ) {
            let old_root = shared_log().root_at(old_size).unwrap();
            let forged: MemoryLog = (0..new_size)
                .map(|index| {
                    let mut data = entry(index);
                    if index == rewritten {
                        flip_bit(&mut data, pick, bit);
                    }
                    leaf_hash(&data)
                })
                .collect();
            let proof = forged.consistency_proof(old_size, new_size).unwrap();
            prop_assert!(verify_consistency(&old_root, &forged.root(), &proof).is_err());
        }
    }
}
