//! Tokens: issued by admins for people and vendors (devices get theirs when
//! registered), shown once, revocable.

use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use sqlx::Row;
use utoipa_axum::{router::OpenApiRouter, routes};

use super::error::{ApiError, ApiResult, Json, Path, Query};
use super::AppState;
use crate::auth::{self, Principal, Role, TokenSpec};
use crate::clock::Millis;
use crate::ids::{CommunityId, PersonId};

/// A token to issue.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewToken {
    pub role: Role,
    /// Required for community-admin, operator and resident; absent for platform-admin and vendor.
    pub community: Option<CommunityId>,
    /// Who the token stands for: an admin's name, a vendor name, or a person.
    pub subject: String,
    /// The person behind an operator or resident token.
    pub person: Option<PersonId>,
}

/// A token as listed: never its secret.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct TokenInfo {
    pub id: String,
    pub role: Role,
    pub community: Option<String>,
    pub subject: String,
    pub person: Option<String>,
    pub created_at: Millis,
    pub revoked_at: Option<Millis>,
}

/// A freshly issued token: the secret is shown this once.
#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct IssuedToken {
    pub id: String,
    /// The bearer secret; only its hash is kept.
    pub token: String,
}

/// Who a token stands for, as the token's holder may learn it: what a
/// client (the console) needs to know which pages to offer.
#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct WhoAmI {
    pub role: Role,
    /// The community the token is bound to, if any.
    pub community: Option<String>,
    pub subject: String,
    /// The person of the map behind an operator or resident token.
    pub person: Option<String>,
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct TokenFilter {
    /// Only tokens of this community.
    pub community: Option<CommunityId>,
}

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(issue_token, list_tokens))
        .routes(routes!(revoke_token))
        .routes(routes!(who_am_i))
}

/// Who this token stands for: its role, community, subject and person.
#[utoipa::path(get, path = "/api/v1/me", tag = "tokens",
    responses((status = 200, body = WhoAmI), (status = 401, body = super::error::ErrorBody)),
    security(("bearer" = [])))]
async fn who_am_i(principal: Principal) -> Json<WhoAmI> {
    Json(WhoAmI {
        role: principal.role,
        community: principal.community.map(|c| c.as_str().to_owned()),
        subject: principal.subject,
        person: principal.person,
    })
}

/// Issue a token.
#[utoipa::path(post, path = "/api/v1/tokens", tag = "tokens", request_body = NewToken,
    responses((status = 201, body = IssuedToken), (status = 400, body = super::error::ErrorBody), (status = 403, body = super::error::ErrorBody)),
    security(("bearer" = [])))]
async fn issue_token(
    State(state): State<AppState>,
    principal: Principal,
    Json(new): Json<NewToken>,
) -> ApiResult<(StatusCode, Json<IssuedToken>)> {
    let subject = new.subject.trim();
    if subject.is_empty() || subject.len() > 200 {
        return Err(ApiError::invalid("subject: must be 1-200 characters"));
    }
    match (new.role, &new.community) {
        (Role::Device, _) => {
            return Err(ApiError::invalid(
                "role: device tokens are issued by registering the device",
            ))
        }
        (role, Some(_)) if !role.is_community_bound() => {
            return Err(ApiError::invalid(format!(
                "community: a {} token is not bound to a community",
                role.as_str()
            )))
        }
        (role, None) if role.is_community_bound() => {
            return Err(ApiError::invalid(format!(
                "community: a {} token needs a community",
                role.as_str()
            )))
        }
        (_, Some(community)) => {
            principal.require_community_admin(community)?;
            super::communities::load(&state, community).await?;
        }
        (_, None) => principal.require_platform_admin()?,
    }
    if let Some(person) = &new.person {
        let Some(community) = &new.community else {
            return Err(ApiError::invalid(format!(
                "person: a {} token stands for no person of a community",
                new.role.as_str()
            )));
        };
        let map = state.services.map.get(community).await?;
        if map.read().await.person(person).is_none() {
            return Err(ApiError::invalid(format!(
                "person: {person} is not a person of {community}'s map; add them to the map first"
            )));
        }
    }
    let secret = auth::new_secret();
    let spec = TokenSpec {
        role: new.role,
        community: new.community.as_ref(),
        subject,
        person: new.person.as_ref().map(|p| p.as_str()),
    };
    let id = auth::store_token(
        &state.services.db,
        &spec,
        &secret,
        state.services.clock.now(),
    )
    .await?;
    tracing::info!(token = %id, role = new.role.as_str(), issued_by = %principal.token_id, "token issued");
    Ok((StatusCode::CREATED, Json(IssuedToken { id, token: secret })))
}

/// List tokens: every token for a platform admin, the community's for a community admin.
#[utoipa::path(get, path = "/api/v1/tokens", tag = "tokens", params(TokenFilter),
    responses((status = 200, body = Vec<TokenInfo>)), security(("bearer" = [])))]
async fn list_tokens(
    State(state): State<AppState>,
    principal: Principal,
    Query(filter): Query<TokenFilter>,
) -> ApiResult<Json<Vec<TokenInfo>>> {
    let community = match (&filter.community, principal.role) {
        (None, Role::PlatformAdmin) => None,
        (Some(c), _) => {
            principal.require_community_admin(c)?;
            Some(c.clone())
        }
        (None, _) => {
            let own = principal
                .community
                .clone()
                .ok_or_else(|| ApiError::forbidden("this token may not list tokens"))?;
            principal.require_community_admin(&own)?;
            Some(own)
        }
    };
    let rows = sqlx::query(
        "SELECT id, role, community_id, subject, person_id, created_at, revoked_at FROM tokens \
         WHERE ($1 IS NULL OR community_id = $1) ORDER BY created_at, id",
    )
    .bind(community.as_ref().map(|c| c.as_str()))
    .fetch_all(&state.services.db)
    .await?;
    let tokens = rows
        .iter()
        .map(|row| -> Result<TokenInfo, sqlx::Error> {
            let role: String = row.try_get("role")?;
            Ok(TokenInfo {
                id: row.try_get("id")?,
                role: serde_json::from_value(serde_json::Value::String(role))
                    .map_err(|e| sqlx::Error::Decode(Box::new(e)))?,
                community: row.try_get("community_id")?,
                subject: row.try_get("subject")?,
                person: row.try_get("person_id")?,
                created_at: row.try_get("created_at")?,
                revoked_at: row.try_get("revoked_at")?,
            })
        })
        .collect::<Result<_, _>>()?;
    Ok(Json(tokens))
}

/// Revoke a token.
#[utoipa::path(delete, path = "/api/v1/tokens/{id}", tag = "tokens", params(("id" = String, Path)),
    responses((status = 204), (status = 404, body = super::error::ErrorBody)), security(("bearer" = [])))]
async fn revoke_token(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    let community: Option<Option<String>> =
        sqlx::query_scalar("SELECT community_id FROM tokens WHERE id = $1")
            .bind(&id)
            .fetch_optional(&state.services.db)
            .await?;
    let community =
        community.ok_or_else(|| ApiError::not_found(format!("token {id} does not exist")))?;
    match community.and_then(|c| c.parse::<CommunityId>().ok()) {
        Some(c) => principal.require_community_admin(&c)?,
        None => principal.require_platform_admin()?,
    }
    sqlx::query("UPDATE tokens SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL")
        .bind(state.services.clock.now())
        .bind(&id)
        .execute(&state.services.db)
        .await?;
    tracing::info!(token = %id, revoked_by = %principal.token_id, "token revoked");
    Ok(StatusCode::NO_CONTENT)
}
