//! How an installation is doing, for the admin watching it (the console's
//! installations page): what it handled and failed on since the host
//! started, the dead letters it holds by reason, how far behind it is, and
//! the last lines it logged. Community admins only, as for the installation
//! itself.

use axum::extract::State;
use serde::{Deserialize, Serialize};
use utoipa_axum::{router::OpenApiRouter, routes};

use super::error::{ApiError, ApiResult, ErrorBody, Json, Path, Query};
use super::installations::load;
use super::AppState;
use crate::auth::Principal;
use crate::caps::log::tail::{LogLine, KEPT_LINES};
use crate::ids::{CommunityId, InstallationId};
use crate::metrics::InstallationCounts;
use crate::runtime::installation;

/// An installation's health at a glance.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct InstallationStats {
    /// Counted in this host's memory since it started (a restart starts
    /// them at 0): events handled, failures by reason, lag.
    #[serde(flatten)]
    pub counts: InstallationCounts,
    /// Events in the log it has not yet handled or skipped.
    pub backlog: i64,
    /// The dead letters it holds, by reason (kept in the store).
    #[schema(value_type = Object)]
    pub dead_letters: std::collections::BTreeMap<String, i64>,
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct LogQuery {
    /// At most this many of the newest lines (default 50, at most 200).
    pub limit: Option<i64>,
}

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(installation_stats))
        .routes(routes!(installation_log))
}

/// What an installation handled and failed on, its dead letters by reason and its lag.
#[utoipa::path(get, path = "/api/v1/communities/{community}/installations/{installation}/stats", tag = "installations",
    params(("community" = String, Path), ("installation" = String, Path)),
    responses((status = 200, body = InstallationStats), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
async fn installation_stats(
    State(state): State<AppState>,
    principal: Principal,
    Path((community, id)): Path<(CommunityId, InstallationId)>,
) -> ApiResult<Json<InstallationStats>> {
    principal.require_community_admin(&community)?;
    let found = load(&state, &community, &id).await?;
    let db = &state.services.db;
    Ok(Json(InstallationStats {
        counts: state.services.metrics.installation_counts(
            community.as_str(),
            found.plugin.as_str(),
            id.as_str(),
        ),
        backlog: installation::backlog(db, &found).await?,
        dead_letters: installation::dead_letter_counts(db, &id).await?,
    }))
}

/// The last lines the installation logged (through `log`, stdout or stderr), oldest first.
#[utoipa::path(get, path = "/api/v1/communities/{community}/installations/{installation}/log", tag = "installations",
    params(("community" = String, Path), ("installation" = String, Path), LogQuery),
    responses((status = 200, body = Vec<LogLine>), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
async fn installation_log(
    State(state): State<AppState>,
    principal: Principal,
    Path((community, id)): Path<(CommunityId, InstallationId)>,
    Query(query): Query<LogQuery>,
) -> ApiResult<Json<Vec<LogLine>>> {
    principal.require_community_admin(&community)?;
    let limit = match query.limit {
        None => 50,
        Some(n) if (1..=KEPT_LINES as i64).contains(&n) => n as usize,
        Some(_) => return Err(ApiError::invalid(format!("limit: must be 1-{KEPT_LINES}"))),
    };
    load(&state, &community, &id).await?;
    Ok(Json(state.services.log_tails.of(&id).last(limit)))
}
