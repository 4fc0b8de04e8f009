//! The community ledger in the store: entries, double-entry movements,
//! account balances, the Merkle tree's complete subtrees and signed
//! checkpoints — written in one transaction per commit batch, read for
//! balances, proofs and receipts.
//!
//! One writer per community at a time: [`LedgerService::lock`] is held from a
//! handler's first ledger write until its transaction commits, so the log
//! indices a handler is told are the ones that land.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};

use serde::{Deserialize, Serialize};
use sqlx::Row;
use tokio::sync::OwnedMutexGuard;

use super::checkpoint::{Checkpoint, CheckpointError, HostKey, SignedCheckpoint};
use super::merkle::{self, ConsistencyProof, Hash, InclusionProof, NodeId, ProofError};
use super::node_cache::{self, NodeCache};
pub use super::receipt::{Receipt, ReceiptError};
use crate::clock::Millis;
use crate::db::multi_row::{multi_row_insert, Placeholders, INSERT_CHUNK};
use crate::db::{Db, Tx};
use crate::ids::CommunityId;

/// The host's ledger: its signing key, the per-community writer locks and
/// each community's tree in memory.
pub struct LedgerService {
    key: HostKey,
    locks: Mutex<HashMap<CommunityId, Arc<tokio::sync::Mutex<()>>>>,
    nodes: Arc<NodeCache>,
}

/// Why a ledger read failed.
#[derive(Debug, thiserror::Error)]
pub enum LedgerError {
    #[error(transparent)]
    Store(#[from] sqlx::Error),
    #[error(transparent)]
    Proof(#[from] ProofError),
    #[error(transparent)]
    Checkpoint(#[from] CheckpointError),
    #[error("stored ledger data is malformed: {0}")]
    Malformed(String),
}

/// One entry of the log, as stored and as hashed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct StoredEntry {
    pub index: u64,
    /// `open`, `transfer` or `record`.
    pub kind: String,
    /// Canonical JSON; the Merkle leaf is SHA-256(0x00 || body).
    pub body: String,
    /// Hex leaf hash.
    pub leaf_hash: String,
    pub at: Millis,
}

/// A write waiting for its handler to succeed.
#[derive(Debug, Clone)]
pub struct PendingEntry {
    pub kind: &'static str,
    pub body: String,
    pub leaf: Hash,
    pub plugin: String,
    pub idempotency_key: String,
    pub at: Millis,
    /// Balance changes: two that sum to zero for a transfer, none otherwise.
    pub movements: Vec<(String, i64)>,
    /// The account an `open` entry creates, with its floor.
    pub opens: Option<(String, Option<i64>)>,
}

/// The log name a community's checkpoints are signed for.
pub fn origin(community: &CommunityId) -> String {
    format!("linli/ledger/{community}")
}

fn to_u64(v: i64) -> u64 {
    u64::try_from(v).unwrap_or_default()
}

fn hash_of(bytes: Vec<u8>) -> Result<Hash, LedgerError> {
    bytes
        .try_into()
        .map_err(|_| LedgerError::Malformed("a stored hash is not 32 bytes".to_owned()))
}

fn node_id(level: i64, index: i64) -> Result<NodeId, LedgerError> {
    let level =
        u8::try_from(level).map_err(|_| LedgerError::Malformed(format!("node level {level}")))?;
    Ok(NodeId::new(level, to_u64(index)))
}

/// The ledger's signing key file in a host's data dir (mode 0600).
pub const KEY_FILE: &str = "ledger-signing.key";

impl LedgerService {
    /// The ledger of the host whose data dir is `data_dir`, creating its key on first use.
    pub fn open(data_dir: &std::path::Path) -> Result<Self, super::checkpoint::HostKeyError> {
        Ok(Self::new(HostKey::load_or_create(
            &data_dir.join(KEY_FILE),
        )?))
    }

    pub fn new(key: HostKey) -> Self {
        Self {
            key,
            locks: Mutex::new(HashMap::new()),
            nodes: Arc::default(),
        }
    }

    /// The public key that verifies this host's checkpoints, hex.
    pub fn public_key_hex(&self) -> String {
        self.key.public_key_hex()
    }

    /// The verifying key.
    pub fn verifying_key(&self) -> ed25519_dalek::VerifyingKey {
        self.key.verifying_key()
    }

    /// The checkpoint of a community's log before its first entry: size 0,
    /// the empty tree's root, signed as of the community's creation
    /// (`created_at`), so a witness or a follower can start from the
    /// beginning. Signing is deterministic, so every call gives the same one.
    pub fn empty_checkpoint(
        &self,
        community: &CommunityId,
        created_at: Millis,
    ) -> Result<SignedCheckpoint, LedgerError> {
        Ok(Checkpoint {
            origin: origin(community),
            size: 0,
            root: merkle::empty_root(),
            timestamp_ms: created_at,
        }
        .sign(self.key.signing_key())?)
    }

    /// Takes the community's writer lock.
    pub async fn lock(&self, community: &CommunityId) -> OwnedMutexGuard<()> {
        let lock = self
            .locks
            .lock()
            .expect("ledger locks")
            .entry(community.clone())
            .or_default()
            .clone();
        lock.lock_owned().await
    }

    /// Appends `entries` after the first `base` and signs a checkpoint over
    /// the new size, inside `tx`. The caller holds the community's lock.
    pub async fn append(
        &self,
        tx: &mut Tx,
        community: &CommunityId,
        base: u64,
        entries: &[PendingEntry],
        now: Millis,
    ) -> Result<SignedCheckpoint, LedgerError> {
        let c = community.as_str();
        let new_size = base + entries.len() as u64;
        let mut wanted: Vec<NodeId> = (0..entries.len() as u64)
            .flat_map(|i| merkle::append_nodes(base + i))
            .chain(merkle::root_nodes(new_size))
            .filter(|n| (n.index + 1) << n.level <= base)
            .collect();
        wanted.sort();
        wanted.dedup();
        let mut nodes = fetch_nodes(tx, community, &wanted).await?;
        // Everything the batch writes, gathered first and inserted a few
        // statements per batch: per-row statements would cap appends at a
        // few thousand a second.
        let mut new_nodes = Vec::with_capacity(entries.len() * 2);
        let mut movements = Vec::new();
        let mut deltas: BTreeMap<&str, i64> = BTreeMap::new();
        for (i, entry) in entries.iter().enumerate() {
            let idx = base + i as u64;
            for (account, amount) in &entry.movements {
                movements.push((idx, account.as_str(), *amount));
                *deltas.entry(account.as_str()).or_default() += amount;
            }
            for (node, hash) in merkle::nodes_completed_by_append(idx, entry.leaf, &nodes)? {
                nodes.insert(node, hash);
                new_nodes.push((node, hash));
            }
        }
        for (chunk_no, chunk) in entries.chunks(INSERT_CHUNK).enumerate() {
            let first = base + (chunk_no * INSERT_CHUNK) as u64;
            let sql = multi_row_insert(
                tx,
                "ledger_entries (community_id, idx, kind, body, leaf_hash, plugin_id, idempotency_key, at)",
                8,
                chunk.len(),
            );
            let mut query = sqlx::query(&sql);
            for (i, entry) in chunk.iter().enumerate() {
                query = query
                    .bind(c)
                    .bind((first + i as u64) as i64)
                    .bind(entry.kind)
                    .bind(&entry.body)
                    .bind(entry.leaf.as_slice())
                    .bind(&entry.plugin)
                    .bind(&entry.idempotency_key)
                    .bind(entry.at);
            }
            query.execute(&mut **tx).await?;
        }
        for entry in entries {
            if let Some((name, floor)) = &entry.opens {
                sqlx::query(
                    "INSERT INTO ledger_accounts (community_id, name, balance, floor, opened_at) VALUES ($1, $2, 0, $3, $4)",
                )
                .bind(c)
                .bind(name)
                .bind(*floor)
                .bind(entry.at)
                .execute(&mut **tx)
                .await?;
            }
        }
        for chunk in movements.chunks(INSERT_CHUNK) {
            let sql = multi_row_insert(
                tx,
                "ledger_movements (community_id, idx, account, amount)",
                4,
                chunk.len(),
            );
            let mut query = sqlx::query(&sql);
            for (idx, account, amount) in chunk {
                query = query.bind(c).bind(*idx as i64).bind(*account).bind(*amount);
            }
            query.execute(&mut **tx).await?;
        }
        for (account, delta) in deltas {
            sqlx::query("UPDATE ledger_accounts SET balance = balance + $1 WHERE community_id = $2 AND name = $3")
                .bind(delta)
                .bind(c)
                .bind(account)
                .execute(&mut **tx)
                .await?;
        }
        insert_nodes(tx, community, &new_nodes).await?;
        let root = merkle::root(new_size, &nodes)?;
        let signed = Checkpoint {
            origin: origin(community),
            size: new_size,
            root,
            timestamp_ms: now,
        }
        .sign(self.key.signing_key())?;
        sqlx::query(
            "INSERT INTO ledger_checkpoints (community_id, size, root, signed, at) VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(c)
        .bind(new_size as i64)
        .bind(root.as_slice())
        .bind(serde_json::to_string(&signed).map_err(|e| LedgerError::Malformed(e.to_string()))?)
        .bind(now)
        .execute(&mut **tx)
        .await?;
        Ok(signed)
    }

    /// The inclusion proof of entry `index` in the tree of `size` entries.
    pub async fn inclusion_proof(
        &self,
        db: &Db,
        community: &CommunityId,
        index: u64,
        size: u64,
    ) -> Result<InclusionProof, LedgerError> {
        let proof = self.stored_inclusion(db, community, index, size).await?;
        let stored = entry(db, community, index)
            .await?
            .ok_or_else(|| LedgerError::Malformed(format!("entry {index} is not stored")))?;
        let root = self.checked_root(db, community, size).await?;
        check_inclusion(&stored, &proof, &root)?;
        Ok(proof)
    }

    /// The inclusion proof of entry `index` in the tree of `size` entries,
    /// as the stored tree gives it, not yet checked.
    async fn stored_inclusion(
        &self,
        db: &Db,
        community: &CommunityId,
        index: u64,
        size: u64,
    ) -> Result<InclusionProof, LedgerError> {
        let ids = merkle::inclusion_nodes(index, size)?;
        let nodes = self.tree_nodes(db, community, size, &ids).await?;
        Ok(merkle::inclusion_proof(index, size, &nodes)?)
    }

    /// The consistency proof between two tree sizes.
    pub async fn consistency_proof(
        &self,
        db: &Db,
        community: &CommunityId,
        old: u64,
        new: u64,
    ) -> Result<ConsistencyProof, LedgerError> {
        let ids = merkle::consistency_nodes(old, new)?;
        let nodes = self.tree_nodes(db, community, new, &ids).await?;
        let proof = merkle::consistency_proof(old, new, &nodes)?;
        let old_root = self.checked_root(db, community, old).await?;
        let new_root = self.checked_root(db, community, new).await?;
        merkle::verify_consistency(&old_root, &new_root, &proof)
            .map_err(|_| unsound("a consistency", new))?;
        Ok(proof)
    }

    /// The root a proof about the tree of `size` entries must lead to: the
    /// signed checkpoint's when there is one of that size, else the one the
    /// stored right-edge subtrees give. A proof is checked against it before
    /// it is served, so a changed stored node shows as an error here, not
    /// as a proof every verifier rejects.
    async fn checked_root(
        &self,
        db: &Db,
        community: &CommunityId,
        size: u64,
    ) -> Result<Hash, LedgerError> {
        if let Some(signed) = checkpoint_of_size(db, community, size).await? {
            return Ok(signed.checkpoint.root);
        }
        let ids = merkle::root_nodes(size);
        let nodes = self.tree_nodes(db, community, size, &ids).await?;
        Ok(merkle::root(size, &nodes)?)
    }

    /// The receipt of entry `index`, proven up to the latest checkpoint.
    pub async fn receipt(
        &self,
        db: &Db,
        community: &CommunityId,
        index: u64,
    ) -> Result<Option<Receipt>, LedgerError> {
        let (Some(entry), Some(checkpoint)) = (
            entry(db, community, index).await?,
            latest_checkpoint(db, community).await?,
        ) else {
            return Ok(None);
        };
        // The entry and its signed root are in hand: the proof is checked
        // against them without reading either again.
        let proof = self
            .stored_inclusion(db, community, index, checkpoint.checkpoint.size)
            .await?;
        check_inclusion(&entry, &proof, &checkpoint.checkpoint.root)?;
        Ok(Some(Receipt {
            entry,
            proof,
            checkpoint,
        }))
    }

    /// Reads the nodes `ids` of the committed tree of `size` entries: from
    /// memory where the cache has them, the rest from the store in one
    /// query. A cache smaller than the tree starts growing in the background.
    async fn tree_nodes(
        &self,
        db: &Db,
        community: &CommunityId,
        size: u64,
        ids: &[NodeId],
    ) -> Result<HashMap<NodeId, Hash>, LedgerError> {
        let mut nodes = HashMap::with_capacity(ids.len());
        let uncached = self.nodes.read(community, ids, &mut nodes);
        if self.nodes.covered(community) < size && self.nodes.claim_growth(community) {
            let (cache, db, community) = (self.nodes.clone(), db.clone(), community.clone());
            tokio::spawn(async move {
                if let Err(e) = grow(&cache, &db, &community, size).await {
                    tracing::warn!(%community, "ledger: cannot load the tree into memory: {e}");
                }
                cache.release_growth(&community);
            });
        }
        if !uncached.is_empty() {
            let mut conn = db.acquire().await?;
            nodes.extend(fetch_nodes(&mut conn, community, &uncached).await?);
        }
        Ok(nodes)
    }

    /// Loads the community's committed tree of `size` entries into memory
    /// now rather than when proofs ask for it.
    pub async fn warm(
        &self,
        db: &Db,
        community: &CommunityId,
        size: u64,
    ) -> Result<(), LedgerError> {
        grow(&self.nodes, db, community, size).await
    }
}

/// Grows the community's cached tree to `size` entries,
/// [`node_cache::GROWTH_CHUNK`] entries per store read.
async fn grow(
    cache: &NodeCache,
    db: &Db,
    community: &CommunityId,
    size: u64,
) -> Result<(), LedgerError> {
    loop {
        let from = cache.covered(community);
        if from >= size {
            return Ok(());
        }
        let to = size.min(from + node_cache::GROWTH_CHUNK);
        let rows = fetch_node_ranges(&mut *db.acquire().await?, community, from, to).await?;
        if let Err(bad) = cache.extend(community, from, to, &rows) {
            return Err(damaged(bad));
        }
        if cache.covered(community) == from {
            return Err(LedgerError::Malformed(format!(
                "the store lacks tree nodes of entries {from}..{to}"
            )));
        }
    }
}

/// Checks that `proof`, built from the stored tree, leads `entry`'s own
/// body to `root` before it is served.
fn check_inclusion(
    entry: &StoredEntry,
    proof: &InclusionProof,
    root: &Hash,
) -> Result<(), LedgerError> {
    let leaf = merkle::leaf_hash(entry.body.as_bytes());
    merkle::verify_inclusion(&leaf, proof, root)
        .map_err(|_| unsound("an inclusion", proof.tree_size))
}

/// The error for a proof, built from the stored tree, that does not lead
/// where the signed checkpoint (or the stored roots) say.
fn unsound(what: &str, size: u64) -> LedgerError {
    LedgerError::Malformed(format!(
        "{what} proof built from the stored tree of {size} entries does not check out: the store was changed (run `linli ledger audit`)"
    ))
}

/// The error for a stored tree node that does not recompute.
fn damaged(node: NodeId) -> LedgerError {
    LedgerError::Malformed(format!(
        "the stored tree node at level {} index {} is not the hash of the nodes under it: the store was changed (run `linli ledger audit`)",
        node.level, node.index
    ))
}

/// Stores completed tree nodes of a community.
pub async fn insert_nodes(
    tx: &mut Tx,
    community: &CommunityId,
    nodes: &[(NodeId, Hash)],
) -> Result<(), sqlx::Error> {
    for chunk in nodes.chunks(INSERT_CHUNK) {
        let sql = multi_row_insert(
            tx,
            "ledger_nodes (community_id, level, idx, hash)",
            4,
            chunk.len(),
        );
        let mut query = sqlx::query(&sql);
        for (node, hash) in chunk {
            query = query
                .bind(community.as_str())
                .bind(i64::from(node.level))
                .bind(node.index as i64)
                .bind(hash.as_slice());
        }
        query.execute(&mut **tx).await?;
    }
    Ok(())
}

/// Reads the nodes `ids` of a community's tree.
async fn fetch_nodes(
    conn: &mut sqlx::AnyConnection,
    community: &CommunityId,
    ids: &[NodeId],
) -> Result<HashMap<NodeId, Hash>, LedgerError> {
    let mut nodes = HashMap::with_capacity(ids.len());
    // One round trip for the whole plan: a proof needs O(log n) nodes. The
    // community is repeated in every term so each one is a primary-key lookup.
    for chunk in ids.chunks(INSERT_CHUNK) {
        let mut placeholders = Placeholders::for_backend(conn);
        let mut sql = "SELECT level, idx, hash FROM ledger_nodes WHERE ".to_owned();
        for i in 0..chunk.len() {
            if i > 0 {
                sql.push_str(" OR ");
            }
            sql.push_str(&format!(
                "(community_id = {} AND level = {} AND idx = {})",
                placeholders.take_next(),
                placeholders.take_next(),
                placeholders.take_next()
            ));
        }
        let mut query = sqlx::query_as::<_, (i64, i64, Vec<u8>)>(&sql);
        for id in chunk {
            query = query
                .bind(community.as_str())
                .bind(i64::from(id.level))
                .bind(id.index as i64);
        }
        for (level, index, hash) in query.fetch_all(&mut *conn).await? {
            nodes.insert(node_id(level, index)?, hash_of(hash)?);
        }
    }
    Ok(nodes)
}

/// Reads the nodes that are complete in the tree of `to` entries but not in
/// that of `from`, ordered by level, then index: one index range scan per
/// level, in one round trip.
async fn fetch_node_ranges(
    conn: &mut sqlx::AnyConnection,
    community: &CommunityId,
    from: u64,
    to: u64,
) -> Result<Vec<(NodeId, Hash)>, LedgerError> {
    let ranges: Vec<_> = node_cache::ranges_between(from, to).collect();
    if ranges.is_empty() {
        return Ok(Vec::new());
    }
    let mut placeholders = Placeholders::for_backend(conn);
    let mut sql = "SELECT level, idx, hash FROM ledger_nodes WHERE ".to_owned();
    for i in 0..ranges.len() {
        if i > 0 {
            sql.push_str(" OR ");
        }
        sql.push_str(&format!(
            "(community_id = {} AND level = {} AND idx >= {} AND idx < {})",
            placeholders.take_next(),
            placeholders.take_next(),
            placeholders.take_next(),
            placeholders.take_next()
        ));
    }
    sql.push_str(" ORDER BY level, idx");
    let mut query = sqlx::query_as::<_, (i64, i64, Vec<u8>)>(&sql);
    for (level, range) in &ranges {
        query = query
            .bind(community.as_str())
            .bind(i64::from(*level))
            .bind(range.start as i64)
            .bind(range.end as i64);
    }
    query
        .fetch_all(&mut *conn)
        .await?
        .into_iter()
        .map(|(level, index, hash)| Ok((node_id(level, index)?, hash_of(hash)?)))
        .collect()
}

/// The number of entries in a community's log.
pub async fn size<'e, E: sqlx::Executor<'e, Database = sqlx::Any>>(
    executor: E,
    community: &CommunityId,
) -> Result<u64, sqlx::Error> {
    let next: i64 = sqlx::query_scalar(
        "SELECT COALESCE(MAX(idx) + 1, 0) FROM ledger_entries WHERE community_id = $1",
    )
    .bind(community.as_str())
    .fetch_one(executor)
    .await?;
    Ok(to_u64(next))
}

/// The newest signed checkpoint of a community.
pub async fn latest_checkpoint(
    db: &Db,
    community: &CommunityId,
) -> Result<Option<SignedCheckpoint>, LedgerError> {
    let signed: Option<String> = sqlx::query_scalar(
        "SELECT signed FROM ledger_checkpoints WHERE community_id = $1 ORDER BY size DESC LIMIT 1",
    )
    .bind(community.as_str())
    .fetch_optional(db)
    .await?;
    signed.as_deref().map(parse_checkpoint).transpose()
}

/// A checkpoint as `ledger_checkpoints.signed` holds it.
fn parse_checkpoint(signed: &str) -> Result<SignedCheckpoint, LedgerError> {
    serde_json::from_str(signed).map_err(|e| LedgerError::Malformed(e.to_string()))
}

/// The signed checkpoint of the tree of exactly `size` entries, if one was made.
async fn checkpoint_of_size(
    db: &Db,
    community: &CommunityId,
    size: u64,
) -> Result<Option<SignedCheckpoint>, LedgerError> {
    let signed: Option<String> = sqlx::query_scalar(
        "SELECT signed FROM ledger_checkpoints WHERE community_id = $1 AND size = $2",
    )
    .bind(community.as_str())
    .bind(size as i64)
    .fetch_optional(db)
    .await?;
    signed.as_deref().map(parse_checkpoint).transpose()
}

fn entry_from_row(row: &sqlx::any::AnyRow) -> Result<StoredEntry, LedgerError> {
    Ok(StoredEntry {
        index: to_u64(row.try_get("idx")?),
        kind: row.try_get("kind")?,
        body: row.try_get("body")?,
        leaf_hash: hex::encode(row.try_get::<Vec<u8>, _>("leaf_hash")?),
        at: row.try_get("at")?,
    })
}

const ENTRY_COLUMNS: &str = "e.idx, e.kind, e.body, e.leaf_hash, e.at";

/// One entry by index.
pub async fn entry(
    db: &Db,
    community: &CommunityId,
    index: u64,
) -> Result<Option<StoredEntry>, LedgerError> {
    let row = sqlx::query(&format!(
        "SELECT {ENTRY_COLUMNS} FROM ledger_entries e WHERE e.community_id = $1 AND e.idx = $2"
    ))
    .bind(community.as_str())
    .bind(index as i64)
    .fetch_optional(db)
    .await?;
    row.as_ref().map(entry_from_row).transpose()
}

/// The entry written with `key` by `plugin`, if any.
pub async fn entry_by_key(
    db: &Db,
    community: &CommunityId,
    plugin: &str,
    key: &str,
) -> Result<Option<StoredEntry>, LedgerError> {
    let row = sqlx::query(&format!(
        "SELECT {ENTRY_COLUMNS} FROM ledger_entries e WHERE e.community_id = $1 AND e.plugin_id = $2 AND e.idempotency_key = $3"
    ))
    .bind(community.as_str())
    .bind(plugin)
    .bind(key)
    .fetch_optional(db)
    .await?;
    row.as_ref().map(entry_from_row).transpose()
}

/// Entries after `after` (all when `None`), oldest first; only those moving
/// `account` when given, only those whose accounts or record kinds satisfy
/// `visible` otherwise is left to the caller.
pub async fn entries(
    db: &Db,
    community: &CommunityId,
    account: Option<&str>,
    after: Option<u64>,
    limit: u32,
) -> Result<Vec<StoredEntry>, LedgerError> {
    let after = after.map_or(-1, |a| a as i64);
    let rows = match account {
        Some(account) => {
            sqlx::query(&format!(
                "SELECT {ENTRY_COLUMNS} FROM ledger_entries e JOIN ledger_movements m \
                 ON m.community_id = e.community_id AND m.idx = e.idx \
                 WHERE e.community_id = $1 AND m.account = $2 AND e.idx > $3 ORDER BY e.idx LIMIT $4"
            ))
            .bind(community.as_str())
            .bind(account)
            .bind(after)
            .bind(i64::from(limit))
            .fetch_all(db)
            .await?
        }
        None => {
            sqlx::query(&format!(
                "SELECT {ENTRY_COLUMNS} FROM ledger_entries e WHERE e.community_id = $1 AND e.idx > $2 ORDER BY e.idx LIMIT $3"
            ))
            .bind(community.as_str())
            .bind(after)
            .bind(i64::from(limit))
            .fetch_all(db)
            .await?
        }
    };
    rows.iter().map(entry_from_row).collect()
}

/// An account as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct AccountRow {
    pub name: String,
    pub balance: i64,
    pub floor: Option<i64>,
    pub opened_at: Millis,
}

/// One account.
pub async fn account(
    db: &Db,
    community: &CommunityId,
    name: &str,
) -> Result<Option<AccountRow>, sqlx::Error> {
    sqlx::query_as::<_, (String, i64, Option<i64>, i64)>(
        "SELECT name, balance, floor, opened_at FROM ledger_accounts WHERE community_id = $1 AND name = $2",
    )
    .bind(community.as_str())
    .bind(name)
    .fetch_optional(db)
    .await
    .map(|row| row.map(|(name, balance, floor, opened_at)| AccountRow { name, balance, floor, opened_at }))
}

/// Every account of a community, by name.
pub async fn accounts(db: &Db, community: &CommunityId) -> Result<Vec<AccountRow>, sqlx::Error> {
    let rows = sqlx::query_as::<_, (String, i64, Option<i64>, i64)>(
        "SELECT name, balance, floor, opened_at FROM ledger_accounts WHERE community_id = $1 ORDER BY name",
    )
    .bind(community.as_str())
    .fetch_all(db)
    .await?;
    Ok(rows
        .into_iter()
        .map(|(name, balance, floor, opened_at)| AccountRow {
            name,
            balance,
            floor,
            opened_at,
        })
        .collect())
}

/// What an audit found wrong in one community's log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AuditFinding {
    pub community: String,
    /// The first entry index where the stored data and the signed checkpoints disagree.
    pub first_bad_index: u64,
    pub reason: String,
}

/// Recomputes every community's log from its stored entries and checks it
/// against the stored leaf hashes, tree nodes and signed checkpoints.
pub async fn audit(
    db: &Db,
    key: &ed25519_dalek::VerifyingKey,
) -> Result<(u64, Vec<AuditFinding>), LedgerError> {
    let communities: Vec<String> = sqlx::query_scalar(
        "SELECT DISTINCT community_id FROM ledger_entries ORDER BY community_id",
    )
    .fetch_all(db)
    .await?;
    let mut checked = 0;
    let mut findings = Vec::new();
    for community in communities {
        let rows = sqlx::query(
            "SELECT idx, body, leaf_hash FROM ledger_entries WHERE community_id = $1 ORDER BY idx",
        )
        .bind(&community)
        .fetch_all(db)
        .await?;
        let stored_nodes: BTreeMap<NodeId, Vec<u8>> = sqlx::query_as::<_, (i64, i64, Vec<u8>)>(
            "SELECT level, idx, hash FROM ledger_nodes WHERE community_id = $1",
        )
        .bind(&community)
        .fetch_all(db)
        .await?
        .into_iter()
        .map(|(level, index, hash)| Ok((node_id(level, index)?, hash)))
        .collect::<Result<_, LedgerError>>()?;
        let mut log = merkle::MemoryLog::new();
        let mut finding = None;
        for row in &rows {
            let index = to_u64(row.try_get("idx")?);
            let body: String = row.try_get("body")?;
            let stored: Vec<u8> = row.try_get("leaf_hash")?;
            let leaf = merkle::leaf_hash(body.as_bytes());
            if finding.is_none() && index != log.size() {
                finding = Some((log.size(), "an entry is missing from the log".to_owned()));
            }
            if finding.is_none()
                && (leaf.as_slice() != stored
                    || stored_nodes.get(&NodeId::leaf(index)).map(Vec::as_slice)
                        != Some(leaf.as_slice()))
            {
                finding = Some((
                    index,
                    "the entry's body does not match its recorded hash".to_owned(),
                ));
            }
            log.append(leaf);
            checked += 1;
        }
        if let Some(node) = first_bad_node(log.size(), &stored_nodes) {
            let first = u64::try_from(first_leaf(node)).unwrap_or(u64::MAX);
            if finding.as_ref().is_none_or(|(index, _)| first < *index) {
                finding = Some((
                    first,
                    format!(
                        "the stored tree node at level {} index {} is not the hash of the nodes under it",
                        node.level, node.index
                    ),
                ));
            }
        }
        let checkpoints: Vec<String> = sqlx::query_scalar(
            "SELECT signed FROM ledger_checkpoints WHERE community_id = $1 ORDER BY size",
        )
        .bind(&community)
        .fetch_all(db)
        .await?;
        let mut verified_up_to = 0;
        for signed in checkpoints {
            let signed = parse_checkpoint(&signed)?;
            let cp = &signed.checkpoint;
            let bad = if signed.verify(key).is_err() {
                Some("a checkpoint's signature does not verify with this host's key")
            } else if cp.origin != format!("linli/ledger/{community}") {
                Some("a checkpoint names another log")
            } else if log.root_at(cp.size).ok() != Some(cp.root) {
                Some("the recomputed log does not match a signed checkpoint")
            } else {
                None
            };
            match bad {
                Some(reason) => {
                    if finding.is_none() {
                        finding = Some((verified_up_to, reason.to_owned()));
                    }
                    break;
                }
                None => verified_up_to = cp.size,
            }
        }
        if let Some((first_bad_index, reason)) = finding {
            findings.push(AuditFinding {
                community,
                first_bad_index,
                reason,
            });
        }
    }
    Ok((checked, findings))
}

/// The stored node above the leaves, covering the lowest entries, that is
/// not the hash of its two stored children, is missing though complete in
/// a log of `size` entries, or lies outside it. The leaves themselves are
/// checked against the entries' bodies; checking each node against its
/// children keeps a changed body reported at its own entry.
fn first_bad_node(size: u64, stored: &BTreeMap<NodeId, Vec<u8>>) -> Option<NodeId> {
    let hash = |id: NodeId| {
        stored
            .get(&id)
            .and_then(|h| Hash::try_from(h.as_slice()).ok())
    };
    let expected = node_cache::ranges_between(0, size)
        .flat_map(|(level, range)| range.map(move |index| NodeId::new(level, index)));
    let wrong = expected.filter(|id| match hash(*id) {
        None => true,
        Some(_) if id.level == 0 => false,
        Some(found) => !merkle::recomputes(*id, &found, hash),
    });
    let outside = stored
        .keys()
        .copied()
        .filter(|id| first_leaf(NodeId::new(id.level, id.index + 1)) > u128::from(size));
    wrong
        .chain(outside)
        .min_by_key(|id| (first_leaf(*id), id.level))
}

/// The first entry under `node`, wide enough for any stored level.
fn first_leaf(node: NodeId) -> u128 {
    u128::from(node.index) << node.level
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A record entry with the body `body-{index}`.
    fn record(index: u64) -> PendingEntry {
        let body = format!("body-{index}");
        PendingEntry {
            kind: "record",
            leaf: merkle::leaf_hash(body.as_bytes()),
            body,
            plugin: "p".to_owned(),
            idempotency_key: format!("key-{index}"),
            at: 0,
            movements: Vec::new(),
            opens: None,
        }
    }

    /// Every inclusion proof in trees of each size up to `size`, and a few
    /// consistency proofs, as the service serves them and as the log computes them.
    async fn assert_proofs_match(service: &LedgerService, db: &Db, log: &merkle::MemoryLog) {
        let community: CommunityId = "c".parse().unwrap();
        let size = log.size();
        for tree_size in [1, size / 3, size / 2 + 1, size]
            .into_iter()
            .filter(|s| *s > 0)
        {
            for index in (0..tree_size).step_by(7).chain([tree_size - 1]) {
                let proof = service
                    .inclusion_proof(db, &community, index, tree_size)
                    .await
                    .unwrap();
                assert_eq!(proof, log.inclusion_proof(index, tree_size).unwrap());
            }
            let consistency = service
                .consistency_proof(db, &community, tree_size / 2, tree_size)
                .await
                .unwrap();
            assert_eq!(
                consistency,
                log.consistency_proof(tree_size / 2, tree_size).unwrap()
            );
        }
    }

    #[tokio::test]
    async fn proofs_match_the_log_as_it_grows_and_a_rolled_back_append_never_shows() {
        let dir = tempfile::tempdir().unwrap();
        let db = crate::db::with_test_community(dir.path()).await;
        let community: CommunityId = "c".parse().unwrap();
        let service = LedgerService::open(dir.path()).unwrap();
        let mut log = merkle::MemoryLog::new();
        let mut next = 0;
        for batch in [5, 11, 1, 23, 24, 36, 100, 1] {
            // A commit that fails after the ledger's part: its entries, and
            // the tree nodes they complete, must never reach a proof.
            let mut doomed = db.begin().await.unwrap();
            let forgotten: Vec<_> = (next..next + batch).map(|i| record(i + 1_000)).collect();
            service
                .append(&mut doomed, &community, next, &forgotten, 0)
                .await
                .unwrap();
            doomed.rollback().await.unwrap();

            let entries: Vec<_> = (next..next + batch).map(record).collect();
            let mut tx = db.begin().await.unwrap();
            service
                .append(&mut tx, &community, next, &entries, 0)
                .await
                .unwrap();
            tx.commit().await.unwrap();
            for entry in &entries {
                log.append(entry.leaf);
            }
            next += batch;
            assert_proofs_match(&service, &db, &log).await;
        }
    }
}
