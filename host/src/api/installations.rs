//! Installations over HTTP — enable a plugin in a community with grants,
//! config and limits; inspect, suspend, resume, reconfigure, remove — and
//! the command route through which people talk to scenes.

use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use utoipa_axum::{router::OpenApiRouter, routes};

use super::error::{ApiError, ApiResult, ErrorBody, Json, Path};
use super::AppState;
use crate::auth::{Principal, Role};
use crate::caps::alarm::rows as alarms;
use crate::caps::CapabilitySet;
use crate::feed::{self, FeedKind};
use crate::ids::{self, CommunityId, InstallationId, PluginId};
use crate::limits::Limits;
use crate::registry::{self, Manifest, PluginInfo};
use crate::runtime::installation::{self, Installation, InstallationState};
use crate::runtime::instance::CallFailure;
use crate::runtime::mailbox::{CommandError, PluginError};
use crate::runtime::progress::SUSPENDED_ALARM;
use crate::runtime::{DispatchError, InstallError, LoadError, Prepared};
use crate::wit::linli::platform::events::Lifecycle;
use crate::wit::linli::platform::types::{Caller, Role as WitRole};

/// A plugin to enable in a community.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewInstallation {
    pub plugin: PluginId,
    /// A published version of the plugin.
    pub version: String,
    /// What the installation may reach: a subset of what the manifest requests.
    pub grants: CapabilitySet,
    /// Must validate against the manifest's config schema.
    #[serde(default = "empty_object")]
    #[schema(value_type = Object)]
    pub config: serde_json::Value,
    /// Sandbox limits and quotas; the host's defaults for those left out.
    #[serde(default)]
    #[schema(value_type = Option<Limits>)]
    pub limits: Option<serde_json::Value>,
}

fn empty_object() -> serde_json::Value {
    serde_json::json!({})
}

/// Changes to an installation; absent fields stay as they are.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct InstallationChange {
    /// `suspended` stops deliveries; `active` resumes them from where they stopped.
    pub state: Option<InstallationState>,
    /// Upgrade (or downgrade) to another published version.
    pub version: Option<String>,
    pub grants: Option<CapabilitySet>,
    #[schema(value_type = Option<Object>)]
    pub config: Option<serde_json::Value>,
    /// Limits and quotas to change; those left out stay as they are.
    #[schema(value_type = Option<Limits>)]
    pub limits: Option<serde_json::Value>,
    /// Confirms an upgrade to a version by another vendor than the installed
    /// one's (after a platform admin transferred the plugin id): the new
    /// vendor's name. Without it such an upgrade is refused.
    pub accept_vendor: Option<String>,
}

/// An installation with how far behind the event log it is.
#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct InstallationView {
    #[serde(flatten)]
    pub installation: Installation,
    /// Events in the log it has not yet handled or skipped.
    pub backlog: i64,
    /// Capabilities the plugin marks optional that this installation was
    /// not granted: what it runs without.
    #[serde(default)]
    pub optional_not_granted: Vec<String>,
}

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create_installation, list_installations))
        .routes(routes!(
            get_installation,
            change_installation,
            delete_installation
        ))
        .routes(routes!(run_command))
}

/// The installation with its backlog and the optional capabilities of
/// `manifest` (its version's, which the caller has at hand) it runs without.
async fn view(
    state: &AppState,
    installation: Installation,
    manifest: Option<&Manifest>,
) -> ApiResult<Json<InstallationView>> {
    let backlog = installation::backlog(&state.services.db, &installation).await?;
    let optional_not_granted = manifest
        .map(|manifest| manifest.optional_not_granted(&installation.grants))
        .unwrap_or_default();
    Ok(Json(InstallationView {
        installation,
        backlog,
        optional_not_granted,
    }))
}

pub(super) async fn load(
    state: &AppState,
    community: &CommunityId,
    id: &InstallationId,
) -> ApiResult<Installation> {
    installation::get(&state.services.db, id)
        .await?
        .filter(|i| &i.community == community)
        .ok_or_else(|| {
            ApiError::not_found(format!("installation {id} does not exist in {community}"))
        })
}

async fn published(state: &AppState, plugin: &PluginId, version: &str) -> ApiResult<PluginInfo> {
    let version =
        semver::Version::parse(version).map_err(|e| ApiError::invalid(format!("version: {e}")))?;
    registry::info(&state.services.db, plugin, &version)
        .await?
        .ok_or_else(|| ApiError::invalid(format!("plugin: {plugin} {version} is not published")))
}

/// Refuses an upgrade to `plugin`, a version by another vendor than the
/// installed one's, unless the admin confirmed that vendor: the new code
/// would run with the installation's grants and state.
async fn check_vendor(
    state: &AppState,
    before: &Installation,
    plugin: &PluginInfo,
    accepted: Option<&str>,
) -> ApiResult<()> {
    let installed = registry::info(&state.services.db, &before.plugin, &before.version)
        .await?
        .ok_or_else(|| ApiError::internal("the installed plugin version is not published"))?;
    let vendor = &plugin.manifest.vendor;
    if *vendor != installed.manifest.vendor && accepted != Some(vendor.as_str()) {
        return Err(ApiError::conflict(format!(
            "version: {} {} is by vendor {vendor:?}, the installed {} by {:?}; it would run with this installation's grants and state, so confirm with accept_vendor = {vendor:?}",
            before.plugin, plugin.manifest.version, before.version, installed.manifest.vendor
        )));
    }
    Ok(())
}

/// The refusal of a version the runtime would not load for an installation.
fn load_refusal(error: LoadError) -> ApiError {
    match error {
        LoadError::Untrusted { reason, .. } => super::plugins::signature_refusal(reason.into()),
        not_published @ LoadError::NotPublished { .. } => {
            ApiError::not_found(not_published.to_string())
        }
        LoadError::Prepare(e) => ApiError::internal(e),
        LoadError::Store(e) => ApiError::internal(e),
    }
}

/// Checks grants, config and limits against the plugin's manifest and the host's maximum.
fn check_against(state: &AppState, plugin: &PluginInfo, i: &Installation) -> ApiResult<()> {
    i.grants
        .check_within(&plugin.manifest.capabilities)
        .map_err(|e| ApiError::invalid(e.to_string()))?;
    plugin
        .manifest
        .check_required(&i.grants)
        .map_err(|e| ApiError::invalid(e.to_string()))?;
    plugin
        .manifest
        .check_config(&i.config)
        .map_err(ApiError::invalid)?;
    Ok(i.limits.check_within(&state.config.max_limits)?)
}

/// Enable a plugin in a community.
#[utoipa::path(post, path = "/api/v1/communities/{community}/installations", tag = "installations",
    params(("community" = String, Path)), request_body = NewInstallation,
    responses((status = 201, body = InstallationView), (status = 400, body = ErrorBody), (status = 409, body = ErrorBody)),
    security(("bearer" = [])))]
async fn create_installation(
    State(state): State<AppState>,
    principal: Principal,
    Path(community): Path<CommunityId>,
    Json(new): Json<NewInstallation>,
) -> ApiResult<(StatusCode, Json<InstallationView>)> {
    principal.require_community_admin(&community)?;
    super::communities::load(&state, &community).await?;
    let plugin = published(&state, &new.plugin, &new.version).await?;
    if installation::find(&state.services.db, &community, &new.plugin)
        .await?
        .is_some()
    {
        return Err(ApiError::conflict(format!(
            "{} is already installed in {community}; change that installation instead",
            new.plugin
        )));
    }
    let now = state.services.clock.now();
    let installation = Installation {
        id: ids::InstallationId::generate(),
        community: community.clone(),
        plugin: new.plugin,
        version: plugin.manifest.version.clone(),
        grants: new.grants,
        config: new.config,
        limits: match &new.limits {
            Some(changes) => state.config.default_limits.with_changes(changes)?,
            None => state.config.default_limits,
        },
        state: InstallationState::Active,
        state_reason: None,
        consecutive_failures: 0,
        cursor: 0,
        feed_cursor: 0,
        created_at: now,
        updated_at: now,
    };
    check_against(&state, &plugin, &installation)?;
    installation::insert(&state.services.db, &installation).await?;
    let stored = installation::get(&state.services.db, &installation.id)
        .await?
        .ok_or_else(|| ApiError::internal("a new installation vanished"))?;
    match state.runtime.install(stored.clone()).await {
        Ok(()) => {}
        Err(refused @ InstallError::Refused(_)) => {
            installation::delete(&state.services.db, &stored.id).await?;
            return Err(ApiError::invalid(refused.to_string()));
        }
        Err(InstallError::Load(refused)) => {
            installation::delete(&state.services.db, &stored.id).await?;
            return Err(load_refusal(refused));
        }
        Err(InstallError::Host(e)) => return Err(ApiError::internal(e)),
    }
    tracing::info!(%community, installation = %stored.id, plugin = %stored.plugin, version = %stored.version, "plugin installed");
    announce(&state, &stored, "installed", &principal.subject).await?;
    let current = installation::get(&state.services.db, &stored.id)
        .await?
        .unwrap_or(stored);
    Ok((
        StatusCode::CREATED,
        view(&state, current, Some(&plugin.manifest)).await?,
    ))
}

/// List a community's installations.
#[utoipa::path(get, path = "/api/v1/communities/{community}/installations", tag = "installations",
    params(("community" = String, Path)), responses((status = 200, body = Vec<Installation>)), security(("bearer" = [])))]
async fn list_installations(
    State(state): State<AppState>,
    principal: Principal,
    Path(community): Path<CommunityId>,
) -> ApiResult<Json<Vec<Installation>>> {
    principal.require_community_admin(&community)?;
    Ok(Json(
        installation::list(&state.services.db, Some(&community)).await?,
    ))
}

/// Get an installation with its backlog.
#[utoipa::path(get, path = "/api/v1/communities/{community}/installations/{installation}", tag = "installations",
    params(("community" = String, Path), ("installation" = String, Path)),
    responses((status = 200, body = InstallationView), (status = 404, body = ErrorBody)), security(("bearer" = [])))]
async fn get_installation(
    State(state): State<AppState>,
    principal: Principal,
    Path((community, id)): Path<(CommunityId, InstallationId)>,
) -> ApiResult<Json<InstallationView>> {
    principal.require_community_admin(&community)?;
    let installation = load(&state, &community, &id).await?;
    let plugin = registry::info(
        &state.services.db,
        &installation.plugin,
        &installation.version,
    )
    .await?;
    view(&state, installation, plugin.as_ref().map(|p| &p.manifest)).await
}

/// Suspend, resume, upgrade, re-grant, reconfigure or re-limit an installation.
#[utoipa::path(patch, path = "/api/v1/communities/{community}/installations/{installation}", tag = "installations",
    params(("community" = String, Path), ("installation" = String, Path)), request_body = InstallationChange,
    responses((status = 200, body = InstallationView), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
async fn change_installation(
    State(state): State<AppState>,
    principal: Principal,
    Path((community, id)): Path<(CommunityId, InstallationId)>,
    Json(change): Json<InstallationChange>,
) -> ApiResult<Json<InstallationView>> {
    principal.require_community_admin(&community)?;
    let before = load(&state, &community, &id).await?;
    let mut after = before.clone();
    let version = change.version.unwrap_or_else(|| before.version.to_string());
    let plugin = published(&state, &before.plugin, &version).await?;
    if plugin.manifest.version != before.version {
        check_vendor(&state, &before, &plugin, change.accept_vendor.as_deref()).await?;
    }
    after.version = plugin.manifest.version.clone();
    after.grants = change.grants.unwrap_or(after.grants);
    after.config = change.config.unwrap_or(after.config);
    if let Some(changes) = &change.limits {
        after.limits = after.limits.with_changes(changes)?;
    }
    if let Some(new_state) = change.state {
        after.state = new_state;
        after.state_reason = match new_state {
            InstallationState::Suspended => Some(format!("suspended by {}", principal.subject)),
            InstallationState::Active => None,
        };
        if new_state == InstallationState::Active {
            after.consecutive_failures = 0;
        }
    }
    check_against(&state, &plugin, &after)?;
    // The runtime checks the version's signature and key as it loads it:
    // refused here, before anything is written.
    let prepared = state
        .runtime
        .prepare_installation(&after)
        .await
        .map_err(load_refusal)?;
    let after = apply(&state, &before, after, prepared, &principal.subject).await?;
    tracing::info!(%community, installation = %id, state = after.state.as_str(), version = %after.version, changed_by = %principal.subject, "installation changed");
    let current = installation::get(&state.services.db, &id)
        .await?
        .unwrap_or(after);
    view(&state, current, Some(&plugin.manifest)).await
}

/// Writes a change to an installation, tells the community's feed and hands
/// it, as `prepared`, to its actor; the installation as written.
async fn apply(
    state: &AppState,
    before: &Installation,
    mut after: Installation,
    prepared: Prepared,
    by: &str,
) -> ApiResult<Installation> {
    after.updated_at = state.services.clock.now();
    let lifecycle = if before.state == InstallationState::Suspended
        && after.state == InstallationState::Active
    {
        Some(Lifecycle::Resumed)
    } else if before.config != after.config
        || before.version != after.version
        || before.grants != after.grants
    {
        Some(Lifecycle::Reconfigured)
    } else {
        None
    };
    installation::update(&state.services.db, &after).await?;
    let change = match lifecycle {
        Some(Lifecycle::Resumed) => "resumed",
        _ if after.state == InstallationState::Suspended => "suspended",
        _ => "changed",
    };
    announce(state, &after, change, by).await?;
    state
        .runtime
        .reload(after.clone(), prepared, lifecycle)
        .await
        .map_err(ApiError::internal)?;
    Ok(after)
}

/// Suspends an installation for `reason`, on behalf of `by`: its actor
/// runs nothing until it is resumed.
pub(super) async fn suspend(
    state: &AppState,
    before: &Installation,
    reason: String,
    by: &str,
) -> ApiResult<Installation> {
    let mut after = before.clone();
    after.state = InstallationState::Suspended;
    after.state_reason = Some(reason);
    let prepared = state
        .runtime
        .prepare_installation(&after)
        .await
        .map_err(load_refusal)?;
    apply(state, before, after, prepared, by).await
}

/// Records an admin's change to an installation in the community feed; a
/// resume also clears the platform's suspension alarm.
async fn announce(
    state: &AppState,
    installation: &Installation,
    change: &str,
    by: &str,
) -> Result<(), sqlx::Error> {
    let now = state.services.clock.now();
    let community = &installation.community;
    let mut tx = crate::db::begin(&state.services.db).await?;
    if change == "resumed" {
        alarms::clear_active(
            &mut tx,
            community,
            installation.id.as_str(),
            SUSPENDED_ALARM,
            by,
            now,
        )
        .await?;
    }
    let data = serde_json::json!({
        "installation": installation.id,
        "plugin": installation.plugin,
        "version": installation.version.to_string(),
        "state": installation.state.as_str(),
        "change": change,
        "by": by,
    });
    feed::append(
        &mut tx,
        community,
        FeedKind::Installation,
        installation.id.as_str(),
        &data,
        now,
    )
    .await?;
    tx.commit().await?;
    state.services.feed.published(community);
    Ok(())
}

/// Remove an installation. Its plugin's stored state is kept for a later re-install.
#[utoipa::path(delete, path = "/api/v1/communities/{community}/installations/{installation}", tag = "installations",
    params(("community" = String, Path), ("installation" = String, Path)),
    responses((status = 204), (status = 404, body = ErrorBody)), security(("bearer" = [])))]
async fn delete_installation(
    State(state): State<AppState>,
    principal: Principal,
    Path((community, id)): Path<(CommunityId, InstallationId)>,
) -> ApiResult<StatusCode> {
    principal.require_community_admin(&community)?;
    let removed = load(&state, &community, &id).await?;
    state.runtime.stop(&id).await;
    installation::delete(&state.services.db, &id).await?;
    state.services.log_tails.forget(&id);
    announce(&state, &removed, "removed", &principal.subject).await?;
    tracing::info!(%community, installation = %id, removed_by = %principal.subject, "installation removed");
    Ok(StatusCode::NO_CONTENT)
}

fn wit_role(role: Role) -> Option<WitRole> {
    match role {
        Role::PlatformAdmin => Some(WitRole::PlatformAdmin),
        Role::CommunityAdmin => Some(WitRole::CommunityAdmin),
        Role::Operator => Some(WitRole::Operator),
        Role::Resident => Some(WitRole::Resident),
        Role::Vendor => Some(WitRole::Vendor),
        Role::Device => None,
    }
}

fn check_command_name(name: &str) -> ApiResult<()> {
    let ok = !name.is_empty()
        && name.len() <= 64
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_');
    if ok {
        Ok(())
    } else {
        Err(ApiError::invalid(
            "name: a command name is 1-64 characters of a-z, 0-9, '-' or '_'",
        ))
    }
}

impl From<DispatchError> for ApiError {
    fn from(error: DispatchError) -> Self {
        let message = error.to_string();
        match error {
            DispatchError::NotRunning | DispatchError::Busy => {
                ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "unavailable", message)
            }
            DispatchError::Command(CommandError::Suspended(_)) => ApiError::conflict(message),
            DispatchError::Command(CommandError::Failed(CallFailure::Contended(_))) => {
                ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "unavailable", message)
            }
            DispatchError::Command(CommandError::Failed(_)) => {
                ApiError::new(StatusCode::BAD_GATEWAY, "plugin-failed", message)
            }
            DispatchError::Command(CommandError::Store) => ApiError::internal(message),
            DispatchError::Command(CommandError::Plugin(plugin)) => match plugin {
                PluginError::Denied(m) => ApiError::forbidden(m),
                PluginError::NotFound(m) => ApiError::not_found(m),
                PluginError::Invalid(m) => ApiError::invalid(m),
                PluginError::Limit(m) => ApiError::new(StatusCode::TOO_MANY_REQUESTS, "limit", m),
                PluginError::Internal(m) => {
                    ApiError::new(StatusCode::BAD_GATEWAY, "plugin-failed", m)
                }
            },
        }
    }
}

/// Run a scene command as the caller. The body is the command's JSON input;
/// the response is the plugin's JSON output.
#[utoipa::path(post, path = "/api/v1/communities/{community}/plugins/{plugin}/commands/{name}", tag = "commands",
    params(("community" = String, Path), ("plugin" = String, Path), ("name" = String, Path)),
    request_body(content = Object, description = "the command's input"),
    responses((status = 200, body = Object, description = "the command's output"), (status = 400, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 502, body = ErrorBody)),
    security(("bearer" = [])))]
async fn run_command(
    State(state): State<AppState>,
    principal: Principal,
    Path((community, plugin, name)): Path<(CommunityId, PluginId, String)>,
    body: axum::body::Bytes,
) -> ApiResult<Json<serde_json::Value>> {
    principal.require_member(&community)?;
    check_command_name(&name)?;
    let installation = installation::find(&state.services.db, &community, &plugin)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("{plugin} is not installed in {community}")))?;
    let caller = Caller {
        subject: principal.subject.clone(),
        person: principal.person.clone(),
        roles: wit_role(principal.role).into_iter().collect(),
    };
    let input: serde_json::Value = if body.is_empty() {
        empty_object()
    } else {
        serde_json::from_slice(&body)
            .map_err(|e| ApiError::invalid(format!("body: not JSON: {e}")))?
    };
    let input = input.to_string();
    let output = state
        .runtime
        .command(&installation.id, caller, name, input)
        .await?;
    serde_json::from_str(&output).map(Json).map_err(|e| {
        ApiError::new(
            StatusCode::BAD_GATEWAY,
            "plugin-failed",
            format!("the plugin answered with invalid JSON: {e}"),
        )
    })
}
