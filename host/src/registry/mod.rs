//! The plugin registry: packages uploaded by vendors, kept per
//! (plugin id, version) with their manifest and component. Versions are
//! immutable: re-uploading the same bytes is a no-op, different bytes under
//! a published version are refused. A plugin id belongs to the vendor that
//! first published it (`plugin_owners`): another vendor's version of it is
//! refused, and only a platform admin can hand the id to another vendor.

pub mod manifest;
pub mod package;
pub mod signature;
pub mod trust;

use serde::{Deserialize, Serialize};
use sqlx::Row;

use crate::clock::Millis;
use crate::db::Db;
use crate::ids::PluginId;
pub use manifest::Manifest;
pub use package::Package;
use signature::{PackageSignature, SignatureError};
use trust::TrustError;

/// A published plugin version, as listed.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct PluginInfo {
    #[serde(flatten)]
    pub manifest: Manifest,
    /// SHA-256 of the component.
    pub digest: String,
    /// Size of the component in bytes.
    pub size: i64,
    pub uploaded_by: String,
    pub uploaded_at: Millis,
    /// Who signed the package, when it was signed.
    pub signed_by: Option<PackageSignature>,
}

/// A published version with its component.
pub struct StoredPlugin {
    pub info: PluginInfo,
    /// The manifest exactly as packed: what the signature covers.
    pub manifest_text: String,
    pub component: Vec<u8>,
}

impl StoredPlugin {
    /// Checks, as on upload, that the vendor's signature covers this version
    /// and that the trust store stands behind its key; an unsigned version
    /// passes only where unsigned packages are accepted.
    pub async fn check_trusted(&self, db: &Db, accept_unsigned: bool) -> Result<(), TrustError> {
        let manifest = &self.info.manifest;
        let Some(signature) = &self.info.signed_by else {
            return if accept_unsigned {
                Ok(())
            } else {
                Err(SignatureError::Unsigned.into())
            };
        };
        signature::check(
            signature,
            &manifest.vendor,
            &self.manifest_text,
            &self.info.digest,
        )?;
        trust::vouch(db, signature).await
    }
}

/// What storing a package did.
#[derive(Debug, PartialEq, Eq)]
pub enum Stored {
    New,
    /// The same bytes were already published.
    AlreadyPublished,
    /// A different component is already published under this id and version.
    Conflict,
    /// The id belongs to another vendor.
    OwnedBy(String),
}

/// Who owns a plugin id.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct PluginOwner {
    pub plugin: PluginId,
    /// The vendor whose versions of the id are accepted.
    pub vendor: String,
    /// When the vendor got the id: its first upload, or the transfer.
    pub since: Millis,
}

/// The owner of a plugin id; `None` for an id nobody published yet.
pub async fn owner<'e, E>(executor: E, id: &PluginId) -> Result<Option<PluginOwner>, sqlx::Error>
where
    E: sqlx::Executor<'e, Database = sqlx::Any>,
{
    let row: Option<(String, Millis)> =
        sqlx::query_as("SELECT vendor, since FROM plugin_owners WHERE plugin_id = $1")
            .bind(id.as_str())
            .fetch_optional(executor)
            .await?;
    Ok(row.map(|(vendor, since)| PluginOwner {
        plugin: id.clone(),
        vendor,
        since,
    }))
}

/// Hands a plugin id to `vendor`; `None` when the id was never published.
pub async fn transfer(
    db: &Db,
    id: &PluginId,
    vendor: &str,
    now: Millis,
) -> Result<Option<PluginOwner>, sqlx::Error> {
    let moved =
        sqlx::query("UPDATE plugin_owners SET vendor = $1, since = $2 WHERE plugin_id = $3")
            .bind(vendor)
            .bind(now)
            .bind(id.as_str())
            .execute(db)
            .await?;
    if moved.rows_affected() == 0 {
        return Ok(None);
    }
    owner(db, id).await
}

/// Stores a package that the runtime has accepted.
pub async fn store(
    db: &Db,
    package: &Package,
    uploaded_by: &str,
    now: Millis,
) -> Result<Stored, sqlx::Error> {
    let m = &package.manifest;
    let mut tx = crate::db::begin(db).await?;
    // The first upload of an id claims it for its vendor, in the transaction
    // that stores it, so two vendors racing for a new id cannot both win.
    sqlx::query(
        "INSERT INTO plugin_owners (plugin_id, vendor, since) VALUES ($1, $2, $3) ON CONFLICT (plugin_id) DO NOTHING",
    )
    .bind(m.id.as_str())
    .bind(&m.vendor)
    .bind(now)
    .execute(&mut *tx)
    .await?;
    let owner = owner(&mut *tx, &m.id).await?.map(|o| o.vendor);
    if let Some(owner) = owner.filter(|owner| *owner != m.vendor) {
        return Ok(Stored::OwnedBy(owner));
    }
    let inserted = sqlx::query(
        "INSERT INTO plugins (id, version, vendor, api, description, manifest, component, digest, uploaded_by, uploaded_at, signature, signing_key) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) ON CONFLICT (id, version) DO NOTHING",
    )
    .bind(m.id.as_str())
    .bind(m.version.to_string())
    .bind(&m.vendor)
    .bind(m.api.to_string())
    .bind(&m.description)
    .bind(&package.manifest_text)
    .bind(package.component.as_slice())
    .bind(&package.digest)
    .bind(uploaded_by)
    .bind(now)
    .bind(
        package
            .signature
            .as_ref()
            .map(|s| serde_json::to_string(s).expect("a signature serializes")),
    )
    .bind(package.signature.as_ref().map(|s| s.key.as_str()))
    .execute(&mut *tx)
    .await?;
    if inserted.rows_affected() == 1 {
        tx.commit().await?;
        return Ok(Stored::New);
    }
    let (digest, manifest): (String, String) =
        sqlx::query_as("SELECT digest, manifest FROM plugins WHERE id = $1 AND version = $2")
            .bind(m.id.as_str())
            .bind(m.version.to_string())
            .fetch_one(&mut *tx)
            .await?;
    tx.commit().await?;
    Ok(
        if digest == package.digest && manifest == package.manifest_text {
            Stored::AlreadyPublished
        } else {
            Stored::Conflict
        },
    )
}

const INFO_COLUMNS: &str =
    "manifest, digest, LENGTH(component) AS size, uploaded_by, uploaded_at, signature";

fn info_from_row(row: &sqlx::any::AnyRow) -> Result<PluginInfo, sqlx::Error> {
    let text: String = row.try_get("manifest")?;
    Ok(PluginInfo {
        manifest: Manifest::parse(&text).map_err(|e| sqlx::Error::Decode(Box::new(e)))?,
        digest: row.try_get("digest")?,
        size: row.try_get("size")?,
        uploaded_by: row.try_get("uploaded_by")?,
        uploaded_at: row.try_get("uploaded_at")?,
        signed_by: row
            .try_get::<Option<String>, _>("signature")?
            .map(|json| serde_json::from_str(&json))
            .transpose()
            .map_err(|e| sqlx::Error::Decode(Box::new(e)))?,
    })
}

/// The installations running a version signed with `key`.
pub async fn installations_signed_with(
    db: &Db,
    key: &str,
) -> Result<Vec<crate::ids::InstallationId>, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT i.id FROM installations i JOIN plugins p \
         ON p.id = i.plugin_id AND p.version = i.plugin_version WHERE p.signing_key = $1",
    )
    .bind(key)
    .fetch_all(db)
    .await
}

/// What became of a request to delete a version.
#[derive(Debug, PartialEq, Eq)]
pub enum Deleted {
    Deleted,
    NotFound,
    /// A release (no pre-release part): published releases never change.
    Released,
    /// Installations run it.
    InUse(i64),
}

/// Deletes a pre-release version nobody has installed: a vendor's
/// development builds (`0.2.0-dev.3`) need not stay published for ever,
/// while a release, which communities may depend on, does.
pub async fn delete_prerelease(
    db: &Db,
    id: &PluginId,
    version: &semver::Version,
) -> Result<Deleted, sqlx::Error> {
    let mut tx = crate::db::begin(db).await?;
    let exists: Option<String> =
        sqlx::query_scalar("SELECT digest FROM plugins WHERE id = $1 AND version = $2")
            .bind(id.as_str())
            .bind(version.to_string())
            .fetch_optional(&mut *tx)
            .await?;
    if exists.is_none() {
        return Ok(Deleted::NotFound);
    }
    if version.pre.is_empty() {
        return Ok(Deleted::Released);
    }
    let installed: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM installations WHERE plugin_id = $1 AND plugin_version = $2",
    )
    .bind(id.as_str())
    .bind(version.to_string())
    .fetch_one(&mut *tx)
    .await?;
    if installed > 0 {
        return Ok(Deleted::InUse(installed));
    }
    sqlx::query("DELETE FROM plugins WHERE id = $1 AND version = $2")
        .bind(id.as_str())
        .bind(version.to_string())
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(Deleted::Deleted)
}

/// Every published version, newest upload last.
pub async fn list(db: &Db) -> Result<Vec<PluginInfo>, sqlx::Error> {
    let rows = sqlx::query(&format!(
        "SELECT {INFO_COLUMNS} FROM plugins ORDER BY id, uploaded_at"
    ))
    .fetch_all(db)
    .await?;
    rows.iter().map(info_from_row).collect()
}

/// One published version's info.
pub async fn info(
    db: &Db,
    id: &PluginId,
    version: &semver::Version,
) -> Result<Option<PluginInfo>, sqlx::Error> {
    let row = sqlx::query(&format!(
        "SELECT {INFO_COLUMNS} FROM plugins WHERE id = $1 AND version = $2"
    ))
    .bind(id.as_str())
    .bind(version.to_string())
    .fetch_optional(db)
    .await?;
    row.as_ref().map(info_from_row).transpose()
}

/// One published version with its component.
pub async fn load(
    db: &Db,
    id: &PluginId,
    version: &semver::Version,
) -> Result<Option<StoredPlugin>, sqlx::Error> {
    let row = sqlx::query(&format!(
        "SELECT {INFO_COLUMNS}, component FROM plugins WHERE id = $1 AND version = $2"
    ))
    .bind(id.as_str())
    .bind(version.to_string())
    .fetch_optional(db)
    .await?;
    row.map(|row| {
        Ok(StoredPlugin {
            info: info_from_row(&row)?,
            manifest_text: row.try_get("manifest")?,
            component: row.try_get("component")?,
        })
    })
    .transpose()
}
