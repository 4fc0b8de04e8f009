//! Plugin packages over HTTP: vendors upload, admins list and inspect, and
//! platform admins hand a plugin id from one vendor to another.

use axum::extract::State;
use axum::http::StatusCode;
use utoipa_axum::{router::OpenApiRouter, routes};

use serde::Deserialize;

use super::error::{ApiError, ApiResult, Body, ErrorBody, Json, Path};
use super::AppState;
use crate::auth::{Principal, Role};
use crate::ids::PluginId;
use crate::registry::signature::{self, SignatureError};
use crate::registry::trust::{self, TrustError};
use crate::registry::{package, Deleted, PluginInfo, PluginOwner, Stored};

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(upload_plugin, list_plugins))
        .routes(routes!(get_plugin, delete_plugin_version))
        .routes(routes!(get_owner, transfer_owner))
}

/// The refusal of a version of an id that another vendor owns.
fn owned_by(plugin: &PluginId, owner: &str) -> ApiError {
    ApiError::forbidden(format!(
        "vendor: plugin id {plugin} belongs to vendor {owner:?}; only its versions are accepted (a platform admin can transfer the id)"
    ))
}

/// The refusal of a package whose signature does not stand: a distinct
/// code for each way, so a vendor's tooling can tell them apart.
pub(super) fn signature_refusal(error: TrustError) -> ApiError {
    let refused = match error {
        TrustError::Store(e) => return ApiError::internal(e),
        TrustError::Refused(refused) => refused,
    };
    let (status, code) = match &refused {
        SignatureError::Unsigned => (StatusCode::BAD_REQUEST, "unsigned"),
        SignatureError::Malformed(_)
        | SignatureError::Mismatch
        | SignatureError::OtherVendor { .. } => (StatusCode::BAD_REQUEST, "bad-signature"),
        SignatureError::UnknownKey(_) | SignatureError::KeyOfAnotherVendor { .. } => {
            (StatusCode::FORBIDDEN, "untrusted-key")
        }
        SignatureError::Revoked { .. } => (StatusCode::FORBIDDEN, "revoked-key"),
    };
    ApiError::new(status, code, refused.to_string())
}

/// Checks the vendor's signature and the trust store's key; a development
/// host takes unsigned packages (a signed one is checked all the same).
async fn check_signature(state: &AppState, package: &package::Package) -> ApiResult<()> {
    let Some(signed) = &package.signature else {
        return if state.config.dev {
            Ok(())
        } else {
            Err(signature_refusal(SignatureError::Unsigned.into()))
        };
    };
    let manifest = &package.manifest;
    signature::check(
        signed,
        &manifest.vendor,
        &package.manifest_text,
        &package.digest,
    )
    .map_err(|e| signature_refusal(e.into()))?;
    trust::vouch(&state.services.db, signed)
        .await
        .map_err(signature_refusal)
}

/// Upload a plugin package (a tar of linli.toml and plugin.wasm made by `linli plugin pack`).
#[utoipa::path(post, path = "/api/v1/plugins", tag = "plugins",
    request_body(content = Vec<u8>, content_type = "application/x-tar"),
    responses((status = 201, body = PluginInfo), (status = 200, body = PluginInfo, description = "the same package was already published"),
        (status = 400, body = ErrorBody, description = "not a package; `unsigned` or `bad-signature`"),
        (status = 403, body = ErrorBody, description = "not a vendor, the id belongs to another vendor, or the key is `untrusted-key` or `revoked-key`"), (status = 409, body = ErrorBody)),
    security(("bearer" = [])))]
async fn upload_plugin(
    State(state): State<AppState>,
    principal: Principal,
    Body(body): Body,
) -> ApiResult<(StatusCode, Json<PluginInfo>)> {
    if !matches!(principal.role, Role::PlatformAdmin | Role::Vendor) {
        return Err(ApiError::forbidden(
            "only vendors and platform admins upload plugins",
        ));
    }
    let package = package::unpack(&body).map_err(|e| ApiError::invalid(e.to_string()))?;
    check_signature(&state, &package).await?;
    let manifest = &package.manifest;
    if principal.role == Role::Vendor && manifest.vendor != principal.subject {
        return Err(ApiError::forbidden(format!(
            "this vendor token is for {:?} but the manifest names vendor {:?}",
            principal.subject, manifest.vendor
        )));
    }
    // Refused before the component is compiled; checked again when stored.
    if let Some(owner) = crate::registry::owner(&state.services.db, &manifest.id).await? {
        if owner.vendor != manifest.vendor {
            return Err(owned_by(&manifest.id, &owner.vendor));
        }
    }
    state
        .runtime
        .prepare(&package)
        .await
        .map_err(|e| ApiError::invalid(e.to_string()))?;
    let status = match crate::registry::store(
        &state.services.db,
        &package,
        &principal.subject,
        state.services.clock.now(),
    )
    .await?
    {
        Stored::New => StatusCode::CREATED,
        Stored::AlreadyPublished => StatusCode::OK,
        Stored::OwnedBy(owner) => return Err(owned_by(&manifest.id, &owner)),
        Stored::Conflict => {
            return Err(ApiError::conflict(format!(
                "{} {} is already published with different contents; bump the version",
                manifest.id, manifest.version
            )))
        }
    };
    tracing::info!(plugin = %manifest.id, version = %manifest.version, digest = %package.digest, "plugin published");
    let info = crate::registry::info(&state.services.db, &manifest.id, &manifest.version)
        .await?
        .ok_or_else(|| ApiError::internal("a stored plugin vanished"))?;
    Ok((status, Json(info)))
}

/// List published plugin versions.
#[utoipa::path(get, path = "/api/v1/plugins", tag = "plugins",
    responses((status = 200, body = Vec<PluginInfo>)), security(("bearer" = [])))]
async fn list_plugins(
    State(state): State<AppState>,
    principal: Principal,
) -> ApiResult<Json<Vec<PluginInfo>>> {
    if principal.role == Role::Device {
        return Err(ApiError::forbidden("devices cannot list plugins"));
    }
    Ok(Json(crate::registry::list(&state.services.db).await?))
}

/// Get one published plugin version.
#[utoipa::path(get, path = "/api/v1/plugins/{plugin}/versions/{version}", tag = "plugins",
    params(("plugin" = String, Path), ("version" = String, Path)),
    responses((status = 200, body = PluginInfo), (status = 404, body = ErrorBody)), security(("bearer" = [])))]
async fn get_plugin(
    State(state): State<AppState>,
    principal: Principal,
    Path((plugin, version)): Path<(PluginId, String)>,
) -> ApiResult<Json<PluginInfo>> {
    if principal.role == Role::Device {
        return Err(ApiError::forbidden("devices cannot read plugins"));
    }
    let version =
        semver::Version::parse(&version).map_err(|e| ApiError::invalid(format!("version: {e}")))?;
    crate::registry::info(&state.services.db, &plugin, &version)
        .await?
        .map(Json)
        .ok_or_else(|| ApiError::not_found(format!("plugin {plugin} {version} is not published")))
}

/// Delete a pre-release version nobody has installed (its vendor or a
/// platform admin). Releases are never deleted.
#[utoipa::path(delete, path = "/api/v1/plugins/{plugin}/versions/{version}", tag = "plugins",
    params(("plugin" = String, Path), ("version" = String, Path)),
    responses((status = 204), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody, description = "a release, or an installed pre-release")),
    security(("bearer" = [])))]
async fn delete_plugin_version(
    State(state): State<AppState>,
    principal: Principal,
    Path((plugin, version)): Path<(PluginId, String)>,
) -> ApiResult<StatusCode> {
    let version =
        semver::Version::parse(&version).map_err(|e| ApiError::invalid(format!("version: {e}")))?;
    let owner = crate::registry::owner(&state.services.db, &plugin).await?;
    let owns = principal.role == Role::Vendor
        && owner
            .as_ref()
            .is_some_and(|o| o.vendor == principal.subject);
    if principal.role != Role::PlatformAdmin && !owns {
        return Err(ApiError::forbidden(
            "only the plugin's vendor or a platform admin deletes its versions",
        ));
    }
    match crate::registry::delete_prerelease(&state.services.db, &plugin, &version).await? {
        Deleted::Deleted => {
            tracing::info!(%plugin, %version, by = %principal.subject, "pre-release deleted");
            Ok(StatusCode::NO_CONTENT)
        }
        Deleted::NotFound => Err(ApiError::not_found(format!(
            "plugin {plugin} {version} is not published"
        ))),
        Deleted::Released => Err(ApiError::conflict(format!(
            "{plugin} {version} is a release, and releases are never deleted; only pre-releases (such as {version}-dev.1) are"
        ))),
        Deleted::InUse(n) => Err(ApiError::conflict(format!(
            "{plugin} {version} is installed in {n} place(s); upgrade or remove those installations first"
        ))),
    }
}

/// Who owns a plugin id.
#[utoipa::path(get, path = "/api/v1/plugins/{plugin}/owner", tag = "plugins",
    params(("plugin" = String, Path)),
    responses((status = 200, body = PluginOwner), (status = 404, body = ErrorBody)), security(("bearer" = [])))]
async fn get_owner(
    State(state): State<AppState>,
    principal: Principal,
    Path(plugin): Path<PluginId>,
) -> ApiResult<Json<PluginOwner>> {
    if principal.role == Role::Device {
        return Err(ApiError::forbidden("devices cannot read plugins"));
    }
    crate::registry::owner(&state.services.db, &plugin)
        .await?
        .map(Json)
        .ok_or_else(|| ApiError::not_found(format!("plugin {plugin} was never published")))
}

/// The vendor a plugin id is handed to.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewOwner {
    pub vendor: String,
}

/// Hand a plugin id to another vendor (platform admins). Versions already
/// published stay as they are; from now on only the new vendor's are accepted.
#[utoipa::path(put, path = "/api/v1/plugins/{plugin}/owner", tag = "plugins",
    params(("plugin" = String, Path)), request_body = NewOwner,
    responses((status = 200, body = PluginOwner), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
async fn transfer_owner(
    State(state): State<AppState>,
    principal: Principal,
    Path(plugin): Path<PluginId>,
    Json(new): Json<NewOwner>,
) -> ApiResult<Json<PluginOwner>> {
    principal.require_platform_admin()?;
    let vendor = new.vendor.trim();
    if vendor.is_empty() || vendor.len() > 64 {
        return Err(ApiError::invalid("vendor: must be 1-64 characters"));
    }
    let owner = crate::registry::transfer(
        &state.services.db,
        &plugin,
        vendor,
        state.services.clock.now(),
    )
    .await?
    .ok_or_else(|| ApiError::not_found(format!("plugin {plugin} was never published")))?;
    tracing::info!(%plugin, vendor, by = %principal.subject, "plugin id transferred");
    Ok(Json(owner))
}
