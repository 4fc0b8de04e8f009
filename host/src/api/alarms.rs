//! Alarms over HTTP for a community's admins and operators: list with
//! filters, one alarm with its audit trail, acknowledge and clear (each
//! recorded with who and when). Changes reach watching plugins and live
//! followers through the community feed.

use axum::body::Bytes;
use axum::extract::State;
use serde::{Deserialize, Serialize};
use utoipa_axum::{router::OpenApiRouter, routes};

use super::error::{ApiError, ApiResult, ErrorBody, Json, Path, Query};
use super::AppState;
use crate::auth::Principal;
use crate::caps::alarm::model::{Alarm, AlarmChange};
use crate::caps::alarm::rows::{self, AlarmError, AlarmFilter, AuditLine, Operation};
use crate::ids::CommunityId;

/// Longest note on an acknowledgement or clear.
const MAX_NOTE_BYTES: usize = 2000;

impl From<AlarmError> for ApiError {
    fn from(error: AlarmError) -> Self {
        match error {
            AlarmError::NotFound(id) => ApiError::not_found(format!("no alarm {id}")),
            AlarmError::Store(e) => e.into(),
        }
    }
}

/// An alarm with its audit trail.
#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct AlarmView {
    #[serde(flatten)]
    pub alarm: Alarm,
    /// Every change, oldest first, with who made it and when.
    pub audit: Vec<AuditLine>,
}

/// An optional note on an acknowledgement or clear.
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Note {
    pub note: Option<String>,
}

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_alarms))
        .routes(routes!(get_alarm))
        .routes(routes!(acknowledge_alarm))
        .routes(routes!(clear_alarm))
}

fn check_filter(filter: &AlarmFilter) -> ApiResult<()> {
    if let Some(state) = filter.state.as_deref() {
        if state != "active" && state != "cleared" {
            return Err(ApiError::invalid(format!(
                "state: expected active or cleared, got {state:?}"
            )));
        }
    }
    if let Some(t) = filter.alarm_type.as_deref() {
        crate::caps::alarm::check_type(t).map_err(|e| e.at("type"))?;
    }
    Ok(())
}

/// List a community's alarms, most recently seen first.
#[utoipa::path(get, path = "/api/v1/communities/{community}/alarms", tag = "alarms",
    params(("community" = String, Path), AlarmFilter),
    responses((status = 200, body = Vec<Alarm>), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody)),
    security(("bearer" = [])))]
async fn list_alarms(
    State(state): State<AppState>,
    principal: Principal,
    Path(community): Path<CommunityId>,
    Query(filter): Query<AlarmFilter>,
) -> ApiResult<Json<Vec<Alarm>>> {
    principal.require_staff(&community)?;
    check_filter(&filter)?;
    Ok(Json(
        rows::list(&state.services.db, &community, &filter).await?,
    ))
}

async fn load(state: &AppState, community: &CommunityId, id: &str) -> ApiResult<Alarm> {
    let mut conn = state.services.db.acquire().await?;
    rows::by_id(&mut conn, community, id)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("no alarm {id} in {community}")))
}

/// Get an alarm with its audit trail.
#[utoipa::path(get, path = "/api/v1/communities/{community}/alarms/{alarm}", tag = "alarms",
    params(("community" = String, Path), ("alarm" = String, Path)),
    responses((status = 200, body = AlarmView), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
async fn get_alarm(
    State(state): State<AppState>,
    principal: Principal,
    Path((community, id)): Path<(CommunityId, String)>,
) -> ApiResult<Json<AlarmView>> {
    principal.require_staff(&community)?;
    let alarm = load(&state, &community, &id).await?;
    let audit = rows::audit(&state.services.db, alarm.id.as_str()).await?;
    Ok(Json(AlarmView { alarm, audit }))
}

fn note(body: &Bytes) -> ApiResult<Option<String>> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(None);
    }
    let note: Note = serde_json::from_slice(body)
        .map_err(|e| ApiError::invalid(format!("body: expected {{\"note\": \"…\"}}: {e}")))?;
    match note.note {
        Some(n) if n.len() > MAX_NOTE_BYTES => Err(ApiError::invalid(format!(
            "note: at most {MAX_NOTE_BYTES} bytes"
        ))),
        other => Ok(other),
    }
}

/// Announces a committed change and returns the alarm as it now is.
fn changed(
    state: &AppState,
    community: &CommunityId,
    change: Option<AlarmChange>,
    unchanged: Alarm,
) -> Alarm {
    match change {
        Some(change) => {
            state.services.feed.published(community);
            tracing::info!(%community, alarm = %change.alarm.id, alarm_type = %change.alarm.alarm_type,
                change = change.change.as_str(), by = %change.by, "alarm changed");
            change.alarm
        }
        None => unchanged,
    }
}

/// Acknowledge an alarm (a no-op when it already is).
#[utoipa::path(post, path = "/api/v1/communities/{community}/alarms/{alarm}/ack", tag = "alarms",
    params(("community" = String, Path), ("alarm" = String, Path)), request_body(content = Option<Note>),
    responses((status = 200, body = Alarm), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
async fn acknowledge_alarm(
    State(state): State<AppState>,
    principal: Principal,
    Path((community, id)): Path<(CommunityId, String)>,
    body: Bytes,
) -> ApiResult<Json<Alarm>> {
    operate(
        &state,
        &principal,
        &community,
        &id,
        &body,
        Operation::Acknowledge,
    )
    .await
}

/// Clear an alarm (a no-op when it already is).
#[utoipa::path(post, path = "/api/v1/communities/{community}/alarms/{alarm}/clear", tag = "alarms",
    params(("community" = String, Path), ("alarm" = String, Path)), request_body(content = Option<Note>),
    responses((status = 200, body = Alarm), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
async fn clear_alarm(
    State(state): State<AppState>,
    principal: Principal,
    Path((community, id)): Path<(CommunityId, String)>,
    body: Bytes,
) -> ApiResult<Json<Alarm>> {
    operate(&state, &principal, &community, &id, &body, Operation::Clear).await
}

/// An operator's acknowledgement or clear, recorded with who, when and the note.
async fn operate(
    state: &AppState,
    principal: &Principal,
    community: &CommunityId,
    id: &str,
    body: &Bytes,
    operation: Operation,
) -> ApiResult<Json<Alarm>> {
    principal.require_staff(community)?;
    let note = note(body)?;
    let mut tx = crate::db::begin(&state.services.db).await?;
    let alarm = rows::by_id(&mut tx, community, id)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("no alarm {id} in {community}")))?;
    let now = state.services.clock.now();
    let change = rows::operate(
        &mut tx,
        community,
        &alarm,
        operation,
        &principal.subject,
        note.as_deref(),
        now,
    )
    .await?;
    tx.commit().await?;
    Ok(Json(changed(state, community, change, alarm)))
}
