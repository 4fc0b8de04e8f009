//! Device kinds over HTTP: how often devices of a kind must report before
//! they count as offline, and under which battery level they alarm.

use axum::extract::State;
use serde::{Deserialize, Serialize};
use utoipa_axum::{router::OpenApiRouter, routes};

use super::error::{ApiError, ApiResult, ErrorBody, Json, Path};
use super::AppState;
use crate::auth::Principal;
use crate::ids::CommunityId;

/// Shortest reporting interval that can be watched.
const MIN_INTERVAL_S: u64 = 10;
/// Longest reporting interval: thirty days.
const MAX_INTERVAL_S: u64 = 30 * 24 * 3600;

/// How devices of one kind are watched.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DeviceKindSettings {
    /// A device silent for longer than this raises `device-offline`; none means silence is not watched.
    pub report_interval_s: Option<u64>,
    /// A battery reading under this percentage raises `device-battery-low` (default 20).
    pub battery_low_percent: Option<f64>,
}

/// A device kind and its settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct DeviceKind {
    pub kind: String,
    #[serde(flatten)]
    pub settings: DeviceKindSettings,
}

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_device_kinds))
        .routes(routes!(set_device_kind))
}

fn check(kind: &str, settings: &DeviceKindSettings) -> ApiResult<()> {
    let valid_kind = !kind.is_empty()
        && kind.len() <= 64
        && kind
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
    if !valid_kind {
        return Err(ApiError::invalid(
            "kind: 1-64 characters of a-z, 0-9 or '-'",
        ));
    }
    if let Some(s) = settings.report_interval_s {
        if !(MIN_INTERVAL_S..=MAX_INTERVAL_S).contains(&s) {
            return Err(ApiError::invalid(format!(
                "report_interval_s: between {MIN_INTERVAL_S} and {MAX_INTERVAL_S} seconds"
            )));
        }
    }
    if let Some(p) = settings.battery_low_percent {
        if !(p > 0.0 && p < 100.0) {
            return Err(ApiError::invalid(
                "battery_low_percent: above 0 and below 100",
            ));
        }
    }
    Ok(())
}

/// List the community's device-kind settings.
#[utoipa::path(get, path = "/api/v1/communities/{community}/device-kinds", tag = "devices",
    params(("community" = String, Path)),
    responses((status = 200, body = Vec<DeviceKind>), (status = 403, body = ErrorBody)),
    security(("bearer" = [])))]
async fn list_device_kinds(
    State(state): State<AppState>,
    principal: Principal,
    Path(community): Path<CommunityId>,
) -> ApiResult<Json<Vec<DeviceKind>>> {
    principal.require_staff(&community)?;
    let rows: Vec<(String, Option<i64>, Option<f64>)> = sqlx::query_as(
        "SELECT kind, report_interval_ms, battery_low_percent FROM device_kinds WHERE community_id = $1 ORDER BY kind",
    )
    .bind(community.as_str())
    .fetch_all(&state.services.db)
    .await?;
    Ok(Json(
        rows.into_iter()
            .map(|(kind, interval_ms, battery)| DeviceKind {
                kind,
                settings: DeviceKindSettings {
                    report_interval_s: interval_ms.map(|ms| (ms / 1000) as u64),
                    battery_low_percent: battery,
                },
            })
            .collect(),
    ))
}

/// Set how devices of a kind are watched (community admins).
#[utoipa::path(put, path = "/api/v1/communities/{community}/device-kinds/{kind}", tag = "devices",
    params(("community" = String, Path), ("kind" = String, Path)), request_body = DeviceKindSettings,
    responses((status = 200, body = DeviceKind), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody)),
    security(("bearer" = [])))]
async fn set_device_kind(
    State(state): State<AppState>,
    principal: Principal,
    Path((community, kind)): Path<(CommunityId, String)>,
    Json(settings): Json<DeviceKindSettings>,
) -> ApiResult<Json<DeviceKind>> {
    principal.require_community_admin(&community)?;
    check(&kind, &settings)?;
    sqlx::query(
        "INSERT INTO device_kinds (community_id, kind, report_interval_ms, battery_low_percent) VALUES ($1, $2, $3, $4) \
         ON CONFLICT (community_id, kind) DO UPDATE SET report_interval_ms = excluded.report_interval_ms, \
         battery_low_percent = excluded.battery_low_percent",
    )
    .bind(community.as_str())
    .bind(&kind)
    .bind(settings.report_interval_s.map(|s| (s * 1000) as i64))
    .bind(settings.battery_low_percent)
    .execute(&state.services.db)
    .await?;
    tracing::info!(%community, %kind, ?settings, changed_by = %principal.subject, "device kind settings changed");
    state.monitor.wake();
    Ok(Json(DeviceKind { kind, settings }))
}
