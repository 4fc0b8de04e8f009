//! The trust store over HTTP: platform admins add the keys vendors sign
//! their packages with, list them, and revoke one. Revoking a key suspends
//! every installation running a version it signed, each with the reason.

use axum::extract::State;
use axum::http::StatusCode;
use serde::Deserialize;
use utoipa_axum::{router::OpenApiRouter, routes};

use super::error::{ApiError, ApiResult, ErrorBody, Json, Path};
use super::AppState;
use crate::auth::Principal;
use crate::registry::signature::parse_key;
use crate::registry::trust::{self, VendorKey};
use crate::runtime::installation;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(add_key, list_keys))
        .routes(routes!(revoke_key))
}

/// A vendor key to trust.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewVendorKey {
    /// The vendor, as their manifests name it.
    pub vendor: String,
    /// The Ed25519 public key, hex (`linli plugin keygen` prints it).
    pub key: String,
}

/// Trust a vendor's key.
#[utoipa::path(post, path = "/api/v1/vendor-keys", tag = "plugins", request_body = NewVendorKey,
    responses((status = 201, body = VendorKey), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 409, body = ErrorBody, description = "the key is already in the trust store")),
    security(("bearer" = [])))]
async fn add_key(
    State(state): State<AppState>,
    principal: Principal,
    Json(new): Json<NewVendorKey>,
) -> ApiResult<(StatusCode, Json<VendorKey>)> {
    principal.require_platform_admin()?;
    if new.vendor.trim().is_empty() || new.vendor.len() > 64 {
        return Err(ApiError::invalid("vendor: must be 1-64 characters"));
    }
    let key = parse_key(&new.key).map_err(|e| ApiError::invalid(format!("key: {e}")))?;
    let key = hex::encode(key.as_bytes());
    let now = state.services.clock.now();
    if !trust::add(
        &state.services.db,
        &key,
        &new.vendor,
        &principal.subject,
        now,
    )
    .await?
    {
        return Err(ApiError::conflict(format!(
            "key {key} is already in the trust store"
        )));
    }
    tracing::info!(vendor = %new.vendor, %key, by = %principal.subject, "vendor key trusted");
    let added = trust::get(&state.services.db, &key)
        .await?
        .ok_or_else(|| ApiError::internal("a new vendor key vanished"))?;
    Ok((StatusCode::CREATED, Json(added)))
}

/// The trust store, revoked keys included.
#[utoipa::path(get, path = "/api/v1/vendor-keys", tag = "plugins",
    responses((status = 200, body = Vec<VendorKey>), (status = 403, body = ErrorBody)),
    security(("bearer" = [])))]
async fn list_keys(
    State(state): State<AppState>,
    principal: Principal,
) -> ApiResult<Json<Vec<VendorKey>>> {
    principal.require_platform_admin()?;
    Ok(Json(trust::list(&state.services.db).await?))
}

/// Why a key is revoked.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Revocation {
    pub reason: String,
}

/// Revoke a vendor key: its packages are refused from now on, and every
/// installation running a version it signed is suspended.
#[utoipa::path(post, path = "/api/v1/vendor-keys/{key}/revoke", tag = "plugins",
    params(("key" = String, Path)), request_body = Revocation,
    responses((status = 200, body = VendorKey), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
async fn revoke_key(
    State(state): State<AppState>,
    principal: Principal,
    Path(key): Path<String>,
    Json(revocation): Json<Revocation>,
) -> ApiResult<Json<VendorKey>> {
    principal.require_platform_admin()?;
    let reason = revocation.reason.trim();
    if reason.is_empty() || reason.len() > 500 {
        return Err(ApiError::invalid("reason: must be 1-500 characters"));
    }
    let now = state.services.clock.now();
    let revoked = trust::revoke(&state.services.db, &key, reason, now)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("no vendor key {key}")))?;
    for id in crate::registry::installations_signed_with(&state.services.db, &key).await? {
        let Some(signed) = installation::get(&state.services.db, &id).await? else {
            continue;
        };
        let reason = format!(
            "the key that signed {} {} was revoked: {reason}",
            signed.plugin, signed.version
        );
        // Resuming it is refused until a version signed by a trusted key runs.
        super::installations::suspend(&state, &signed, reason, &principal.subject).await?;
        tracing::warn!(installation = %id, %key, "installation suspended: its signing key was revoked");
    }
    tracing::warn!(vendor = %revoked.vendor, %key, by = %principal.subject, "vendor key revoked: {reason}");
    Ok(Json(revoked))
}
