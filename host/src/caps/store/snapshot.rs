//! A plugin's whole state in one community, read out and written back: what
//! a dead letter's bundle carries so a vendor can replay the failure on a
//! host of their own with the state the handler saw. Keys under
//! [`SEALED`] are never read out: the plugin keeps there what nobody but
//! itself may see (a secret ballot's choice), and a bundle goes to admins
//! and vendors.

use crate::db::Db;
use crate::ids::{CommunityId, PluginId};

/// The prefix of the keys a snapshot leaves out.
pub const SEALED: &str = "sealed/";

/// Most keys a snapshot holds; a state past it is cut, and says so.
pub const MAX_SNAPSHOT_KEYS: i64 = 10_000;

/// Most bytes of values a snapshot holds.
pub const MAX_SNAPSHOT_BYTES: usize = 16 << 20;

/// A plugin's state, key by key, in key order.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Snapshot {
    pub entries: Vec<(String, Vec<u8>)>,
    /// Whether keys were left out, past [`MAX_SNAPSHOT_KEYS`] or
    /// [`MAX_SNAPSHOT_BYTES`].
    pub truncated: bool,
}

/// The state `plugin` keeps in `community`.
pub async fn read(
    db: &Db,
    community: &CommunityId,
    plugin: &PluginId,
) -> Result<Snapshot, sqlx::Error> {
    let rows: Vec<(String, Vec<u8>)> = sqlx::query_as(
        "SELECT key, value FROM plugin_state WHERE community_id = $1 AND plugin_id = $2 \
         AND key NOT LIKE $3 ORDER BY key LIMIT $4",
    )
    .bind(community.as_str())
    .bind(plugin.as_str())
    .bind(format!("{SEALED}%"))
    .bind(MAX_SNAPSHOT_KEYS + 1)
    .fetch_all(db)
    .await?;
    let mut snapshot = Snapshot {
        truncated: rows.len() as i64 > MAX_SNAPSHOT_KEYS,
        ..Snapshot::default()
    };
    let mut bytes = 0;
    for (key, value) in rows.into_iter().take(MAX_SNAPSHOT_KEYS as usize) {
        bytes += key.len() + value.len();
        if bytes > MAX_SNAPSHOT_BYTES {
            snapshot.truncated = true;
            break;
        }
        snapshot.entries.push((key, value));
    }
    Ok(snapshot)
}

/// Writes `entries` as `plugin`'s state in `community`, replacing what was
/// there: for a host that replays a failure, before the plugin runs.
pub async fn restore(
    db: &Db,
    community: &CommunityId,
    plugin: &PluginId,
    entries: &[(String, Vec<u8>)],
) -> Result<(), sqlx::Error> {
    let mut tx = db.begin().await?;
    sqlx::query("DELETE FROM plugin_state WHERE community_id = $1 AND plugin_id = $2")
        .bind(community.as_str())
        .bind(plugin.as_str())
        .execute(&mut *tx)
        .await?;
    for (key, value) in entries {
        sqlx::query(
            "INSERT INTO plugin_state (community_id, plugin_id, key, value) VALUES ($1, $2, $3, $4)",
        )
        .bind(community.as_str())
        .bind(plugin.as_str())
        .bind(key)
        .bind(value)
        .execute(&mut *tx)
        .await?;
    }
    tx.commit().await
}
