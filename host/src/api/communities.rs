//! Communities: created by platform admins, visible to their own people,
//! with settings their admins change (how long raw readings are kept).

use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use sqlx::Row;
use utoipa_axum::{router::OpenApiRouter, routes};

use super::error::{ApiError, ApiResult, Json, Path};
use super::AppState;
use crate::auth::Principal;
use crate::clock::Millis;
use crate::ids::CommunityId;
use crate::ingest::retention::{self, DEFAULT_RETENTION_DAYS};

/// A residential community.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Community {
    pub id: CommunityId,
    pub name: String,
    /// IANA time zone, for quiet hours and reports.
    pub timezone: String,
    /// Days raw readings are kept (1–3650, default 30); older ones are purged
    /// once every installation has handled them.
    pub reading_retention_days: i64,
    /// Days inbox messages are kept (default 180).
    pub inbox_retention_days: i64,
    /// Days the log of reads of people's personal data is kept (default 365).
    pub access_log_retention_days: i64,
    /// Days dead letters are kept (default 90).
    pub dead_letter_retention_days: i64,
    pub created_at: Millis,
}

/// A new community.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewCommunity {
    pub id: CommunityId,
    pub name: String,
    /// IANA time zone; `Asia/Shanghai` when not given.
    #[serde(default)]
    pub timezone: Option<String>,
    /// Days raw readings are kept; 30 when not given.
    #[serde(default)]
    pub reading_retention_days: Option<i64>,
}

/// Changes to a community's settings; absent fields stay as they are.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CommunityChange {
    /// Days raw readings are kept (1–3650).
    #[serde(default)]
    pub reading_retention_days: Option<i64>,
    /// Days inbox messages are kept (1–3650).
    #[serde(default)]
    pub inbox_retention_days: Option<i64>,
    /// Days the access log is kept (1–3650).
    #[serde(default)]
    pub access_log_retention_days: Option<i64>,
    /// Days dead letters are kept (1–3650).
    #[serde(default)]
    pub dead_letter_retention_days: Option<i64>,
}

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create_community, list_communities))
        .routes(routes!(get_community, change_community))
}

fn check_timezone(tz: &str) -> Result<(), ApiError> {
    jiff::tz::TimeZone::get(tz).map(drop).map_err(|_| {
        ApiError::invalid(format!(
            "timezone: {tz:?} is not an IANA time zone such as Asia/Shanghai"
        ))
    })
}

const COLUMNS: &str = "id, name, timezone, reading_retention_days, inbox_retention_days, \
     access_log_retention_days, dead_letter_retention_days, created_at";

fn community_from_row(row: &sqlx::any::AnyRow) -> Result<Community, sqlx::Error> {
    let id: String = row.try_get("id")?;
    Ok(Community {
        id: id.parse().map_err(|e| sqlx::Error::Decode(Box::new(e)))?,
        name: row.try_get("name")?,
        timezone: row.try_get("timezone")?,
        reading_retention_days: row.try_get("reading_retention_days")?,
        inbox_retention_days: row.try_get("inbox_retention_days")?,
        access_log_retention_days: row.try_get("access_log_retention_days")?,
        dead_letter_retention_days: row.try_get("dead_letter_retention_days")?,
        created_at: row.try_get("created_at")?,
    })
}

/// Loads a community, or 404.
pub async fn load(state: &AppState, id: &CommunityId) -> ApiResult<Community> {
    let row = sqlx::query(&format!("SELECT {COLUMNS} FROM communities WHERE id = $1"))
        .bind(id.as_str())
        .fetch_optional(&state.services.db)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("community {id} does not exist")))?;
    Ok(community_from_row(&row)?)
}

/// Create a community (platform admin).
#[utoipa::path(post, path = "/api/v1/communities", tag = "communities",
    request_body = NewCommunity,
    responses((status = 201, body = Community), (status = 400, body = super::error::ErrorBody), (status = 409, body = super::error::ErrorBody)),
    security(("bearer" = [])))]
async fn create_community(
    State(state): State<AppState>,
    principal: Principal,
    Json(new): Json<NewCommunity>,
) -> ApiResult<(StatusCode, Json<Community>)> {
    principal.require_platform_admin()?;
    let name = new.name.trim();
    if name.is_empty() || name.len() > 200 {
        return Err(ApiError::invalid("name: must be 1-200 characters"));
    }
    let timezone = new.timezone.unwrap_or_else(|| "Asia/Shanghai".to_owned());
    check_timezone(&timezone)?;
    let reading_retention_days = new.reading_retention_days.unwrap_or(DEFAULT_RETENTION_DAYS);
    retention::check_days("reading_retention_days", reading_retention_days)?;
    let community = Community {
        id: new.id,
        name: name.to_owned(),
        timezone,
        reading_retention_days,
        inbox_retention_days: retention::DEFAULT_INBOX_DAYS,
        access_log_retention_days: retention::DEFAULT_ACCESS_LOG_DAYS,
        dead_letter_retention_days: retention::DEFAULT_DEAD_LETTER_DAYS,
        created_at: state.services.clock.now(),
    };
    let inserted = sqlx::query(
        "INSERT INTO communities (id, name, timezone, reading_retention_days, created_at) VALUES ($1, $2, $3, $4, $5) \
         ON CONFLICT (id) DO NOTHING",
    )
    .bind(community.id.as_str())
    .bind(&community.name)
    .bind(&community.timezone)
    .bind(community.reading_retention_days)
    .bind(community.created_at)
    .execute(&state.services.db)
    .await?;
    if inserted.rows_affected() == 0 {
        return Err(ApiError::conflict(format!(
            "community {} already exists",
            community.id
        )));
    }
    tracing::info!(community = %community.id, "community created");
    Ok((StatusCode::CREATED, Json(community)))
}

/// List the communities this token can see.
#[utoipa::path(get, path = "/api/v1/communities", tag = "communities",
    responses((status = 200, body = Vec<Community>)), security(("bearer" = [])))]
async fn list_communities(
    State(state): State<AppState>,
    principal: Principal,
) -> ApiResult<Json<Vec<Community>>> {
    let rows = sqlx::query(&format!("SELECT {COLUMNS} FROM communities ORDER BY id"))
        .fetch_all(&state.services.db)
        .await?;
    let communities = rows
        .iter()
        .map(community_from_row)
        .collect::<Result<Vec<_>, _>>()?
        .into_iter()
        .filter(|c| {
            principal.role == crate::auth::Role::PlatformAdmin
                || principal.community.as_ref() == Some(&c.id)
        })
        .collect();
    Ok(Json(communities))
}

/// Get one community.
#[utoipa::path(get, path = "/api/v1/communities/{community}", tag = "communities",
    params(("community" = String, Path)),
    responses((status = 200, body = Community), (status = 403, body = super::error::ErrorBody), (status = 404, body = super::error::ErrorBody)),
    security(("bearer" = [])))]
async fn get_community(
    State(state): State<AppState>,
    principal: Principal,
    Path(community): Path<CommunityId>,
) -> ApiResult<Json<Community>> {
    principal.require_member(&community)?;
    Ok(Json(load(&state, &community).await?))
}

/// Change a community's settings (its community admin or a platform admin).
#[utoipa::path(patch, path = "/api/v1/communities/{community}", tag = "communities",
    params(("community" = String, Path)), request_body = CommunityChange,
    responses((status = 200, body = Community), (status = 400, body = super::error::ErrorBody), (status = 403, body = super::error::ErrorBody), (status = 404, body = super::error::ErrorBody)),
    security(("bearer" = [])))]
async fn change_community(
    State(state): State<AppState>,
    principal: Principal,
    Path(community): Path<CommunityId>,
    Json(change): Json<CommunityChange>,
) -> ApiResult<Json<Community>> {
    principal.require_community_admin(&community)?;
    let settings = [
        ("reading_retention_days", change.reading_retention_days),
        ("inbox_retention_days", change.inbox_retention_days),
        (
            "access_log_retention_days",
            change.access_log_retention_days,
        ),
        (
            "dead_letter_retention_days",
            change.dead_letter_retention_days,
        ),
    ];
    for (field, days) in settings {
        if let Some(days) = days {
            retention::check_days(field, days)?;
        }
    }
    load(&state, &community).await?;
    for (field, days) in settings {
        let Some(days) = days else { continue };
        sqlx::query(&format!(
            "UPDATE communities SET {field} = $1 WHERE id = $2"
        ))
        .bind(days)
        .bind(community.as_str())
        .execute(&state.services.db)
        .await?;
        tracing::info!(%community, field, days, by = %principal.subject, "retention changed");
    }
    Ok(Json(load(&state, &community).await?))
}
