//! The events an installation failed on: listed for the admin who looks
//! into a failure, and retried once the plugin (or what it depends on) is
//! fixed. A retry delivers the event to the running version; the dead
//! letter is taken away in the transaction that lands the handler's effects,
//! or replaced by a new one if the handler fails again, so retrying twice
//! never handles an event twice.

use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use utoipa_axum::{router::OpenApiRouter, routes};

use super::error::{ApiError, ApiResult, ErrorBody, Json, Path, Query};
use super::installations::load;
use super::AppState;
use crate::auth::Principal;
use crate::ids::{CommunityId, InstallationId};
use crate::runtime::installation::{self, DeadLetter};
use crate::runtime::mailbox::{Retried, RetryError};

#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct DeadLetterPage {
    /// Only dead letters with a larger id.
    pub after: Option<i64>,
    /// At most this many (default 100, at most 1000).
    pub limit: Option<i64>,
}

/// What retrying a dead letter came to.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct RetryOutcome {
    /// The dead letter retried (gone now either way).
    pub dead_letter: i64,
    /// `handled`: the handler succeeded and its effects landed; `failed`:
    /// it failed again and a new dead letter holds the event.
    pub outcome: &'static str,
    /// Why it failed again.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_dead_letters))
        .routes(routes!(retry_dead_letter))
}

/// Events the installation failed on, oldest first.
#[utoipa::path(get, path = "/api/v1/communities/{community}/installations/{installation}/dead-letters", tag = "installations",
    params(("community" = String, Path), ("installation" = String, Path), DeadLetterPage),
    responses((status = 200, body = Vec<DeadLetter>), (status = 404, body = ErrorBody)), security(("bearer" = [])))]
async fn list_dead_letters(
    State(state): State<AppState>,
    principal: Principal,
    Path((community, id)): Path<(CommunityId, InstallationId)>,
    Query(page): Query<DeadLetterPage>,
) -> ApiResult<Json<Vec<DeadLetter>>> {
    principal.require_community_admin(&community)?;
    load(&state, &community, &id).await?;
    let limit = page.limit.unwrap_or(100).clamp(1, 1000);
    Ok(Json(
        installation::dead_letters(&state.services.db, &id, page.after.unwrap_or(0), limit).await?,
    ))
}

/// Deliver a dead-lettered event again, to the version now installed.
#[utoipa::path(post, path = "/api/v1/communities/{community}/installations/{installation}/dead-letters/{dead_letter}/retry", tag = "installations",
    params(("community" = String, Path), ("installation" = String, Path), ("dead_letter" = i64, Path)),
    responses((status = 200, body = RetryOutcome), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody, description = "the installation is suspended, or the event cannot be read"),
        (status = 503, body = ErrorBody, description = "the installation is busy; try again")),
    security(("bearer" = [])))]
async fn retry_dead_letter(
    State(state): State<AppState>,
    principal: Principal,
    Path((community, id, dead_letter)): Path<(CommunityId, InstallationId, i64)>,
) -> ApiResult<Json<RetryOutcome>> {
    principal.require_community_admin(&community)?;
    load(&state, &community, &id).await?;
    let retried =
        state
            .runtime
            .retry(&id, dead_letter)
            .await?
            .map_err(|refused| match refused {
                RetryError::NotFound(_) => ApiError::not_found(refused.to_string()),
                RetryError::Suspended(_) | RetryError::Unreadable(_) => {
                    ApiError::conflict(refused.to_string())
                }
                RetryError::NotRecorded => ApiError::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "unavailable",
                    refused.to_string(),
                ),
            })?;
    tracing::info!(%community, installation = %id, dead_letter, by = %principal.subject, "dead letter retried");
    let (outcome, error) = match retried {
        Retried::Handled => ("handled", None),
        Retried::FailedAgain(error) => ("failed", Some(error)),
    };
    Ok(Json(RetryOutcome {
        dead_letter,
        outcome,
        error,
    }))
}
