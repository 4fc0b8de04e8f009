//! `store`: plugin-private key/value state, scoped to (community, plugin) so
//! that it survives upgrades and is never visible to another community.
//!
//! Writes go to an in-memory overlay that reads see at once; the overlay is
//! written in the same transaction that records the handler's success (and,
//! for readings, advances the installation's cursor), so a handler that traps
//! or fails leaves no partial state behind.
//!
//! Quotas (the installation's limits): `state-bytes` and `state-keys` bound
//! what the plugin keeps, checked on every write against the usage the store
//! maintains (`plugin_state_usage`, kept by triggers) plus the overlay's
//! changes; `pending-bytes` bounds what one call leaves in the overlay, which
//! the runtime commits once it holds more than that. A write past a quota is
//! the typed `limit` error; writes that shrink the state are always allowed.

pub mod snapshot;

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use futures::future::BoxFuture;

use super::effects::{CommitError, Effects};
use super::{InstallationContext, Scope};
use crate::db::Tx;
use crate::wit::linli::platform::store::Host;
use crate::wit::linli::platform::types::Error;

/// Longest key, in bytes.
pub const MAX_KEY_BYTES: usize = 256;
/// Largest value, in bytes.
pub const MAX_VALUE_BYTES: usize = 1 << 20;
/// Most key sizes an instance keeps in memory for its quota checks.
const MAX_CACHED_SIZES: usize = 4096;
/// Most keys one `list-keys` call returns.
pub const MAX_LIST: u32 = 1000;

/// The `store` grant; it has no finer scope.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StoreScope {}

impl Scope for StoreScope {
    fn within(&self, _requested: &Self) -> Result<(), String> {
        Ok(())
    }
}

/// Per-instance `store` state: the uncommitted writes of the running handler.
pub struct StoreHost {
    ctx: Arc<InstallationContext>,
    /// `Some` is a pending write, `None` a pending delete.
    pending: BTreeMap<String, Option<Vec<u8>>>,
    /// The committed size (key and value bytes) of keys this instance has
    /// touched, `None` for keys not stored: read once, then kept up to date
    /// by its own commits (one installation writes a plugin's state in a
    /// community), so a handler rewriting the same keys costs no lookups.
    committed_sizes: HashMap<String, Option<u64>>,
    /// The committed usage, read at the instance's first write and kept up
    /// to date by its commits.
    usage: Option<Usage>,
    /// What the transaction being committed changes, applied to the caches
    /// once it has committed.
    landing: Option<Landing>,
    /// What the overlay changes in the usage once committed.
    change: Usage,
    /// Bytes the overlay holds (keys and values).
    overlay_bytes: u64,
    /// `overlay_bytes` when the running call started.
    overlay_at_call: u64,
}

/// What a commit changes: each key's new size (`None`: deleted), and the usage.
type Landing = (Vec<(String, Option<u64>)>, Usage);

/// Keys and bytes (keys and values) of stored state.
#[derive(Debug, Clone, Copy, Default)]
struct Usage {
    keys: i64,
    bytes: i64,
}

/// The bytes an entry takes in the overlay: its key, and its value if it is a write.
fn entry_size(key: &str, value: Option<&Vec<u8>>) -> u64 {
    (key.len() + value.map_or(0, Vec::len)) as u64
}

/// The bytes a key takes in the store: its key and value, or `None` when it is not stored.
fn stored_size(key: &str, value: Option<&Vec<u8>>) -> Option<u64> {
    value.map(|v| entry_size(key, Some(v)))
}

impl StoreHost {
    pub fn new(ctx: Arc<InstallationContext>) -> Self {
        Self {
            ctx,
            pending: BTreeMap::new(),
            committed_sizes: HashMap::new(),
            usage: None,
            landing: None,
            change: Usage::default(),
            overlay_bytes: 0,
            overlay_at_call: 0,
        }
    }

    fn internal(&self, e: impl std::fmt::Display) -> Error {
        self.ctx.internal("store", e)
    }

    /// The size `key` has as the handler sees it: pending, else committed.
    async fn current_size(&mut self, key: &str) -> Result<Option<u64>, Error> {
        if let Some(pending) = self.pending.get(key) {
            return Ok(stored_size(key, pending.as_ref()));
        }
        if let Some(size) = self.committed_sizes.get(key) {
            return Ok(*size);
        }
        let length: Option<i64> = sqlx::query_scalar(
            "SELECT LENGTH(value) FROM plugin_state WHERE community_id = $1 AND plugin_id = $2 AND key = $3",
        )
        .bind(self.ctx.community.as_str())
        .bind(self.ctx.plugin.as_str())
        .bind(key)
        .fetch_optional(&self.ctx.db)
        .await
        .map_err(|e| self.internal(e))?;
        let size = length.map(|l| key.len() as u64 + l as u64);
        self.remember(key.to_owned(), size);
        Ok(size)
    }

    /// Keeps a key's committed size, within the cache's bound.
    fn remember(&mut self, key: String, size: Option<u64>) {
        if self.committed_sizes.len() >= MAX_CACHED_SIZES {
            self.committed_sizes.clear();
        }
        self.committed_sizes.insert(key, size);
    }

    /// The committed usage, read once per instance.
    async fn usage(&mut self) -> Result<Usage, Error> {
        if let Some(usage) = self.usage {
            return Ok(usage);
        }
        let row: Option<(i64, i64)> = sqlx::query_as(
            "SELECT keys, bytes FROM plugin_state_usage WHERE community_id = $1 AND plugin_id = $2",
        )
        .bind(self.ctx.community.as_str())
        .bind(self.ctx.plugin.as_str())
        .fetch_optional(&self.ctx.db)
        .await
        .map_err(|e| self.internal(e))?;
        let usage = row.map_or(Usage::default(), |(keys, bytes)| Usage { keys, bytes });
        self.usage = Some(usage);
        Ok(usage)
    }

    /// Puts a write (`Some`) or delete (`None`) of `key` in the overlay if
    /// the quotas allow it.
    async fn stage(&mut self, key: String, value: Option<Vec<u8>>) -> Result<(), Error> {
        let limits = *self.ctx.quotas.limits();
        let before = self.current_size(&key).await?;
        let after = stored_size(&key, value.as_ref());
        let overlay_before = self
            .pending
            .get(&key)
            .map_or(0, |v| entry_size(&key, v.as_ref()));
        let overlay = self.overlay_bytes - overlay_before + entry_size(&key, value.as_ref());
        if overlay > self.overlay_bytes
            && overlay.saturating_sub(self.overlay_at_call) > limits.pending_bytes
        {
            return Err(self.ctx.quotas.exceeded(
                "pending-bytes",
                format!(
                    "one call may leave at most {} bytes of state writes uncommitted",
                    limits.pending_bytes
                ),
            ));
        }
        let keys = i64::from(after.is_some()) - i64::from(before.is_some());
        let bytes = after.unwrap_or(0) as i64 - before.unwrap_or(0) as i64;
        if keys > 0 || bytes > 0 {
            let usage = self.usage().await?;
            let quotas = &self.ctx.quotas;
            if keys > 0 && usage.keys + self.change.keys + keys > limits.state_keys as i64 {
                return Err(quotas.exceeded(
                    "state-keys",
                    format!(
                        "the plugin may keep at most {} keys in this community",
                        limits.state_keys
                    ),
                ));
            }
            if bytes > 0 && usage.bytes + self.change.bytes + bytes > limits.state_bytes as i64 {
                return Err(quotas.exceeded(
                    "state-bytes",
                    format!(
                        "the plugin may keep at most {} bytes of state in this community",
                        limits.state_bytes
                    ),
                ));
            }
        }
        self.change.keys += keys;
        self.change.bytes += bytes;
        self.overlay_bytes = overlay;
        self.pending.insert(key, value);
        Ok(())
    }

    /// Empties the overlay and its accounting.
    fn clear_overlay(&mut self) {
        self.pending.clear();
        self.change = Usage::default();
        self.overlay_bytes = 0;
        self.overlay_at_call = 0;
    }

    fn check(&self, key: &str) -> Result<(), Error> {
        if self.ctx.grants.store.is_none() {
            return Err(self
                .ctx
                .deny("store", "store was not granted to this installation"));
        }
        if key.is_empty() || key.len() > MAX_KEY_BYTES {
            return Err(Error::Invalid(format!(
                "key must be 1-{MAX_KEY_BYTES} bytes"
            )));
        }
        Ok(())
    }

    async fn stored(&self, key: &str) -> Result<Option<Vec<u8>>, Error> {
        sqlx::query_scalar(
            "SELECT value FROM plugin_state WHERE community_id = $1 AND plugin_id = $2 AND key = $3",
        )
        .bind(self.ctx.community.as_str())
        .bind(self.ctx.plugin.as_str())
        .bind(key)
        .fetch_optional(&self.ctx.db)
        .await
        .map_err(|e| self.ctx.internal("store", e))
    }

    /// Writes the pending changes into `tx`.
    async fn write(&mut self, tx: &mut Tx) -> Result<(), sqlx::Error> {
        let landing = self
            .pending
            .iter()
            .map(|(key, value)| (key.clone(), stored_size(key, value.as_ref())))
            .collect();
        self.landing = Some((landing, self.change));
        for (key, value) in std::mem::take(&mut self.pending) {
            let query = match value {
                Some(value) => sqlx::query(
                    "INSERT INTO plugin_state (community_id, plugin_id, key, value) VALUES ($1, $2, $3, $4) \
                     ON CONFLICT (community_id, plugin_id, key) DO UPDATE SET value = excluded.value",
                )
                .bind(self.ctx.community.as_str())
                .bind(self.ctx.plugin.as_str())
                .bind(key)
                .bind(value),
                None => sqlx::query(
                    "DELETE FROM plugin_state WHERE community_id = $1 AND plugin_id = $2 AND key = $3",
                )
                .bind(self.ctx.community.as_str())
                .bind(self.ctx.plugin.as_str())
                .bind(key),
            };
            query.execute(&mut **tx).await?;
        }
        self.clear_overlay();
        Ok(())
    }
}

impl Effects for StoreHost {
    fn begin_call(&mut self) {
        self.overlay_at_call = self.overlay_bytes;
    }

    fn commit<'a>(&'a mut self, tx: &'a mut Tx) -> BoxFuture<'a, Result<(), CommitError>> {
        Box::pin(async move { Ok(self.write(tx).await?) })
    }

    /// The caches learn what landed.
    fn committed(&mut self) {
        let Some((landed, change)) = self.landing.take() else {
            return;
        };
        if let Some(usage) = &mut self.usage {
            usage.keys += change.keys;
            usage.bytes += change.bytes;
        }
        for (key, size) in landed {
            self.remember(key, size);
        }
    }

    /// Drops the pending changes; the caches are read afresh, since what a
    /// failed transaction left is not known.
    fn discard(&mut self) {
        self.clear_overlay();
        self.landing = None;
        self.committed_sizes.clear();
        self.usage = None;
    }

    /// An overlay holding more than one call may leave in it is written out
    /// before the next handler adds to it: it is memory.
    fn commit_now(&self) -> bool {
        self.overlay_bytes > self.ctx.quotas.limits().pending_bytes
    }
}

impl Host for StoreHost {
    async fn get(&mut self, key: String) -> Result<Option<Vec<u8>>, Error> {
        self.check(&key)?;
        if let Some(pending) = self.pending.get(&key) {
            return Ok(pending.clone());
        }
        let value = self.stored(&key).await?;
        // What was read is what a write of the key replaces: no second lookup.
        let size = stored_size(&key, value.as_ref());
        self.remember(key, size);
        Ok(value)
    }

    async fn set(&mut self, key: String, value: Vec<u8>) -> Result<(), Error> {
        self.check(&key)?;
        if value.len() > MAX_VALUE_BYTES {
            return Err(Error::Limit(format!(
                "value of {} bytes is over the {MAX_VALUE_BYTES}-byte limit",
                value.len()
            )));
        }
        self.stage(key, Some(value)).await
    }

    async fn delete(&mut self, key: String) -> Result<bool, Error> {
        self.check(&key)?;
        let existed = self.current_size(&key).await?.is_some();
        self.stage(key, None).await?;
        Ok(existed)
    }

    async fn list_keys(
        &mut self,
        prefix: String,
        start_after: Option<String>,
        limit: u32,
    ) -> Result<Vec<String>, Error> {
        if self.ctx.grants.store.is_none() {
            return Err(self
                .ctx
                .deny("store", "store was not granted to this installation"));
        }
        let limit = limit.min(MAX_LIST) as usize;
        let after = start_after.unwrap_or_default();
        // Committed keys in range, then merged with the pending overlay; the
        // prefix match is done here so that LIKE wildcards in keys stay literal.
        let committed: Vec<String> = sqlx::query_scalar(
            "SELECT key FROM plugin_state WHERE community_id = $1 AND plugin_id = $2 \
             AND key >= $3 AND key > $4 ORDER BY key LIMIT $5",
        )
        .bind(self.ctx.community.as_str())
        .bind(self.ctx.plugin.as_str())
        .bind(&prefix)
        .bind(&after)
        .bind((limit + self.pending.len()) as i64)
        .fetch_all(&self.ctx.db)
        .await
        .map_err(|e| self.ctx.internal("store", e))?;
        let mut keys: std::collections::BTreeSet<String> = committed
            .into_iter()
            .filter(|k| k.starts_with(&prefix) && !self.pending.contains_key(k))
            .collect();
        keys.extend(
            self.pending
                .iter()
                .filter(|(k, v)| v.is_some() && k.starts_with(&prefix) && **k > after)
                .map(|(k, _)| k.clone()),
        );
        Ok(keys.into_iter().take(limit).collect())
    }
}
