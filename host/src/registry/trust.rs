//! The host's trust store: the vendor keys whose packages it accepts. A
//! platform admin adds a key for a vendor and may revoke it; a revoked key
//! stays listed with its reason, so a package signed with it is refused by
//! name rather than as unknown, and its installations are suspended.

use serde::{Deserialize, Serialize};

use super::signature::{PackageSignature, SignatureError};
use crate::clock::Millis;
use crate::db::Db;

/// A vendor key the host knows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema, sqlx::FromRow)]
pub struct VendorKey {
    /// The Ed25519 public key, hex.
    pub key: String,
    pub vendor: String,
    pub added_by: String,
    pub added_at: Millis,
    pub revoked_at: Option<Millis>,
    pub revoked_reason: Option<String>,
}

const COLUMNS: &str = "key, vendor, added_by, added_at, revoked_at, revoked_reason";

/// Adds `key` for `vendor`; `false` when the key is already there (for any vendor).
pub async fn add(
    db: &Db,
    key: &str,
    vendor: &str,
    added_by: &str,
    now: Millis,
) -> Result<bool, sqlx::Error> {
    let added = sqlx::query(
        "INSERT INTO vendor_keys (key, vendor, added_by, added_at) VALUES ($1, $2, $3, $4) \
         ON CONFLICT (key) DO NOTHING",
    )
    .bind(key)
    .bind(vendor)
    .bind(added_by)
    .bind(now)
    .execute(db)
    .await?;
    Ok(added.rows_affected() == 1)
}

pub async fn get(db: &Db, key: &str) -> Result<Option<VendorKey>, sqlx::Error> {
    sqlx::query_as(&format!("SELECT {COLUMNS} FROM vendor_keys WHERE key = $1"))
        .bind(key)
        .fetch_optional(db)
        .await
}

/// Every key, by vendor.
pub async fn list(db: &Db) -> Result<Vec<VendorKey>, sqlx::Error> {
    sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM vendor_keys ORDER BY vendor, added_at"
    ))
    .fetch_all(db)
    .await
}

/// Revokes `key`; `None` when the host does not know it.
pub async fn revoke(
    db: &Db,
    key: &str,
    reason: &str,
    now: Millis,
) -> Result<Option<VendorKey>, sqlx::Error> {
    sqlx::query(
        "UPDATE vendor_keys SET revoked_at = $1, revoked_reason = $2 \
         WHERE key = $3 AND revoked_at IS NULL",
    )
    .bind(now)
    .bind(reason)
    .bind(key)
    .execute(db)
    .await?;
    get(db, key).await
}

/// Why the trust store does not stand behind a signature.
#[derive(Debug, thiserror::Error)]
pub enum TrustError {
    #[error(transparent)]
    Refused(#[from] SignatureError),
    #[error(transparent)]
    Store(#[from] sqlx::Error),
}

/// Checks that the trust store stands behind a signature already checked
/// to be the key's: the key is known, belongs to the signing vendor and is
/// not revoked.
pub async fn vouch(db: &Db, signature: &PackageSignature) -> Result<(), TrustError> {
    let refused = match get(db, &signature.key).await? {
        None => SignatureError::UnknownKey(signature.key.clone()),
        Some(known) if known.vendor != signature.vendor => SignatureError::KeyOfAnotherVendor {
            key: known.key,
            vendor: known.vendor,
            signed: signature.vendor.clone(),
        },
        Some(VendorKey {
            key,
            revoked_reason: Some(reason),
            ..
        }) => SignatureError::Revoked { key, reason },
        Some(_) => return Ok(()),
    };
    Err(refused.into())
}
