//! `store`: plugin-private key/value state, scoped to (community, plugin) so
//! that it survives upgrades and is never visible to another community.
//!
//! Writes go to an in-memory overlay that reads see at once; the overlay is
//! written in the same transaction that records the handler's success (and,
//! for readings, advances the installation's cursor), so a handler that traps
//! or fails leaves no partial state behind.

use std::collections::BTreeMap;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use super::{InstallationContext, Scope};
use crate::db::Tx;
use crate::runtime::bindings::linli::platform::store::Host;
use crate::runtime::bindings::linli::platform::types::Error;

/// Longest key, in bytes.
pub const MAX_KEY_BYTES: usize = 256;
/// Largest value, in bytes.
pub const MAX_VALUE_BYTES: usize = 1 << 20;
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
}

impl StoreHost {
    pub fn new(ctx: Arc<InstallationContext>) -> Self {
        Self {
            ctx,
            pending: BTreeMap::new(),
        }
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

    async fn committed(&self, key: &str) -> Result<Option<Vec<u8>>, Error> {
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
    pub async fn commit(&mut self, tx: &mut Tx) -> Result<(), sqlx::Error> {
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
        Ok(())
    }

    /// Drops the pending changes.
    pub fn discard(&mut self) {
        self.pending.clear();
    }
}

impl Host for StoreHost {
    async fn get(&mut self, key: String) -> Result<Option<Vec<u8>>, Error> {
        self.check(&key)?;
        match self.pending.get(&key) {
            Some(pending) => Ok(pending.clone()),
            None => self.committed(&key).await,
        }
    }

    async fn set(&mut self, key: String, value: Vec<u8>) -> Result<(), Error> {
        self.check(&key)?;
        if value.len() > MAX_VALUE_BYTES {
            return Err(Error::Limit(format!(
                "value of {} bytes is over the {MAX_VALUE_BYTES}-byte limit",
                value.len()
            )));
        }
        self.pending.insert(key, Some(value));
        Ok(())
    }

    async fn delete(&mut self, key: String) -> Result<bool, Error> {
        self.check(&key)?;
        let existed = match self.pending.get(&key) {
            Some(pending) => pending.is_some(),
            None => self.committed(&key).await?.is_some(),
        };
        self.pending.insert(key, None);
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
