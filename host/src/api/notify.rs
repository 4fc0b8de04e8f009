//! Notifications over HTTP.
//!
//! - People (any token tied to a person of the community): their inbox,
//!   read and acknowledge, a live stream of new messages, their preferences
//!   (`/api/v1/me/...`).
//! - Admins and operators: every message with its delivery status and
//!   escalation state, acknowledging on someone's behalf.
//! - Community admins: people's preferences and the webhook gateways that
//!   carry channels other than the inbox (their secrets are never shown).

use std::convert::Infallible;

use axum::extract::State;
use axum::response::sse::{Event, KeepAlive, Sse};
use futures::Stream;
use serde::{Deserialize, Serialize};
use tokio::sync::broadcast::error::RecvError;
use utoipa_axum::{router::OpenApiRouter, routes};

use super::error::{ApiError, ApiResult, ErrorBody, Json, Path, Query};
use super::AppState;
use crate::auth::{Principal, Role};
use crate::caps::notify::preferences::{check_channel, Preferences};
use crate::caps::notify::rows::{
    self, AckError, DeliveryView, Gateway, InboxItem, MessageFilter, MessageView,
};
use crate::ids::{CommunityId, PersonId};

impl From<AckError> for ApiError {
    fn from(error: AckError) -> Self {
        match error {
            AckError::NotFound(_) => ApiError::not_found(error.to_string()),
            AckError::NotRequired(_) | AckError::Cancelled(_) => {
                ApiError::conflict(error.to_string())
            }
            AckError::Store(e) => e.into(),
        }
    }
}

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(inbox))
        .routes(routes!(inbox_events))
        .routes(routes!(acknowledge_mine))
        .routes(routes!(read_mine))
        .routes(routes!(my_preferences, set_my_preferences))
        .routes(routes!(list_messages))
        .routes(routes!(get_message))
        .routes(routes!(acknowledge_message))
        .routes(routes!(person_preferences, set_person_preferences))
        .routes(routes!(list_gateways))
        .routes(routes!(set_gateway, remove_gateway))
}

/// The caller's community and person; refused for tokens of no person.
pub(super) fn me(principal: &Principal) -> ApiResult<(CommunityId, PersonId)> {
    let community = principal.community.clone();
    let person = principal.person.as_deref().and_then(|p| p.parse().ok());
    match (community, person) {
        (Some(community), Some(person)) => Ok((community, person)),
        _ => Err(ApiError::forbidden(
            "this token belongs to no person of a community; inboxes and preferences are personal",
        )),
    }
}

#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct InboxQuery {
    /// At most this many, newest first (default 50, at most 500).
    pub limit: Option<u32>,
}

#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Inbox {
    pub items: Vec<InboxItem>,
}

/// The caller's inbox, newest first.
#[utoipa::path(get, path = "/api/v1/me/inbox", tag = "notifications", params(InboxQuery),
    responses((status = 200, body = Inbox), (status = 403, body = ErrorBody)),
    security(("bearer" = [])))]
async fn inbox(
    State(state): State<AppState>,
    principal: Principal,
    Query(query): Query<InboxQuery>,
) -> ApiResult<Json<Inbox>> {
    let (community, person) = me(&principal)?;
    let limit = i64::from(query.limit.unwrap_or(50).clamp(1, 500));
    let mut conn = state.services.db.acquire().await?;
    let items = rows::inbox(&mut conn, &community, person.as_str(), None, limit).await?;
    Ok(Json(Inbox { items }))
}

/// New messages in the caller's inbox as Server-Sent Events, from the moment
/// of connecting (read the inbox first): `message` events whose id is the
/// message id and whose data is the message as the inbox lists it, with
/// `delivered_at` (no delivery id or read time).
#[utoipa::path(get, path = "/api/v1/me/inbox/events", tag = "notifications",
    responses((status = 200, description = "text/event-stream of `message` events"), (status = 403, body = ErrorBody),
        (status = 429, body = ErrorBody, description = "too many live streams open")),
    security(("bearer" = [])))]
async fn inbox_events(
    State(state): State<AppState>,
    principal: Principal,
) -> ApiResult<Sse<impl Stream<Item = Result<Event, Infallible>>>> {
    let (community, person) = me(&principal)?;
    let permit = state.streams.open(&principal.token_id)?;
    let signals = state.services.notify.subscribe();
    tracing::info!(%community, %person, "inbox follower connected");
    let stream = futures::stream::unfold(
        (signals, community, person, permit),
        |(mut signals, community, person, permit)| async move {
            loop {
                match signals.recv().await {
                    Ok(s) if s.community == community && s.people.contains(&person) => {
                        let event = Event::default()
                            .id(s.item.message_id.clone())
                            .event("message")
                            .data(serde_json::to_string(&*s.item).expect("inbox items serialize"));
                        return Some((Ok(event), (signals, community, person, permit)));
                    }
                    Ok(_) => {}
                    Err(RecvError::Lagged(missed)) => {
                        tracing::warn!(%person, missed, "inbox follower lagged; it should read the inbox again");
                    }
                    Err(RecvError::Closed) => return None,
                }
            }
        },
    );
    Ok(Sse::new(stream).keep_alive(KeepAlive::default()))
}

/// Acknowledges a message in `community` as `by`, telling the worker and the plugin.
async fn acknowledge(
    state: &AppState,
    community: &CommunityId,
    id: &str,
    by: &str,
) -> ApiResult<MessageView> {
    let now = state.services.clock.now();
    let mut tx = crate::db::begin(&state.services.db).await?;
    let view = rows::acknowledge(&mut tx, community, id, by, now).await?;
    rows::mark_read(&mut tx, community, by, id, now).await?;
    tx.commit().await?;
    tracing::info!(%community, message = id, by, "message acknowledged");
    state.services.feed.published(community);
    state.services.notify.committed([]);
    Ok(view)
}

/// Acknowledge a message in the caller's inbox: stops its escalation and tells the plugin that sent it.
#[utoipa::path(post, path = "/api/v1/me/inbox/{message}/ack", tag = "notifications",
    params(("message" = String, Path)),
    responses((status = 200, body = MessageView), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)),
    security(("bearer" = [])))]
async fn acknowledge_mine(
    State(state): State<AppState>,
    principal: Principal,
    Path(message): Path<String>,
) -> ApiResult<Json<MessageView>> {
    let (community, person) = me(&principal)?;
    require_in_inbox(&state, &community, &person, &message).await?;
    Ok(Json(
        acknowledge(&state, &community, &message, person.as_str()).await?,
    ))
}

async fn require_in_inbox(
    state: &AppState,
    community: &CommunityId,
    person: &PersonId,
    message: &str,
) -> ApiResult<()> {
    let mut conn = state.services.db.acquire().await?;
    if rows::inbox(&mut conn, community, person.as_str(), Some(message), 1)
        .await?
        .is_empty()
    {
        return Err(ApiError::not_found(format!(
            "no message {message} in your inbox"
        )));
    }
    Ok(())
}

/// Mark a message in the caller's inbox read.
#[utoipa::path(post, path = "/api/v1/me/inbox/{message}/read", tag = "notifications",
    params(("message" = String, Path)),
    responses((status = 204), (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
async fn read_mine(
    State(state): State<AppState>,
    principal: Principal,
    Path(message): Path<String>,
) -> ApiResult<axum::http::StatusCode> {
    let (community, person) = me(&principal)?;
    let mut tx = crate::db::begin(&state.services.db).await?;
    let found = rows::mark_read(
        &mut tx,
        &community,
        person.as_str(),
        &message,
        state.services.clock.now(),
    )
    .await?;
    tx.commit().await?;
    if !found {
        return Err(ApiError::not_found(format!(
            "no message {message} in your inbox"
        )));
    }
    Ok(axum::http::StatusCode::NO_CONTENT)
}

/// The caller's notification preferences.
#[utoipa::path(get, path = "/api/v1/me/preferences", tag = "notifications",
    responses((status = 200, body = Preferences), (status = 403, body = ErrorBody)),
    security(("bearer" = [])))]
async fn my_preferences(
    State(state): State<AppState>,
    principal: Principal,
) -> ApiResult<Json<Preferences>> {
    let (community, person) = me(&principal)?;
    load_preferences(&state, &community, &person).await
}

/// Replace the caller's notification preferences.
#[utoipa::path(put, path = "/api/v1/me/preferences", tag = "notifications",
    request_body = Preferences,
    responses((status = 200, body = Preferences), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody)),
    security(("bearer" = [])))]
async fn set_my_preferences(
    State(state): State<AppState>,
    principal: Principal,
    Json(preferences): Json<Preferences>,
) -> ApiResult<Json<Preferences>> {
    let (community, person) = me(&principal)?;
    save_preferences(&state, &community, &person, preferences).await
}

async fn load_preferences(
    state: &AppState,
    community: &CommunityId,
    person: &PersonId,
) -> ApiResult<Json<Preferences>> {
    let mut conn = state.services.db.acquire().await?;
    Ok(Json(
        rows::preferences(&mut conn, community, person.as_str()).await?,
    ))
}

async fn save_preferences(
    state: &AppState,
    community: &CommunityId,
    person: &PersonId,
    preferences: Preferences,
) -> ApiResult<Json<Preferences>> {
    preferences.check()?;
    let mut conn = state.services.db.acquire().await?;
    let now = state.services.clock.now();
    rows::set_preferences(&mut conn, community, person.as_str(), &preferences, now).await?;
    Ok(Json(preferences))
}

/// Community admins, and the person themselves.
fn require_admin_or_self(
    principal: &Principal,
    community: &CommunityId,
    person: &str,
) -> ApiResult<()> {
    let is_self = principal.community.as_ref() == Some(community)
        && principal.person.as_deref() == Some(person);
    if is_self {
        return Ok(());
    }
    Ok(principal.require_community_admin(community)?)
}

/// A person's notification preferences.
#[utoipa::path(get, path = "/api/v1/communities/{community}/people/{person}/preferences", tag = "notifications",
    params(("community" = String, Path), ("person" = String, Path)),
    responses((status = 200, body = Preferences), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
async fn person_preferences(
    State(state): State<AppState>,
    principal: Principal,
    Path((community, person)): Path<(CommunityId, PersonId)>,
) -> ApiResult<Json<Preferences>> {
    require_admin_or_self(&principal, &community, person.as_str())?;
    require_person(&state, &community, &person).await?;
    load_preferences(&state, &community, &person).await
}

/// Replace a person's notification preferences.
#[utoipa::path(put, path = "/api/v1/communities/{community}/people/{person}/preferences", tag = "notifications",
    params(("community" = String, Path), ("person" = String, Path)), request_body = Preferences,
    responses((status = 200, body = Preferences), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
async fn set_person_preferences(
    State(state): State<AppState>,
    principal: Principal,
    Path((community, person)): Path<(CommunityId, PersonId)>,
    Json(preferences): Json<Preferences>,
) -> ApiResult<Json<Preferences>> {
    require_admin_or_self(&principal, &community, person.as_str())?;
    require_person(&state, &community, &person).await?;
    save_preferences(&state, &community, &person, preferences).await
}

async fn require_person(
    state: &AppState,
    community: &CommunityId,
    person: &PersonId,
) -> ApiResult<()> {
    let map = state.services.map.get(community).await?;
    if map.read().await.person(person).is_none() {
        return Err(ApiError::not_found(format!(
            "no person {person} in the map of {community}"
        )));
    }
    Ok(())
}

#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct MessageList {
    pub notifications: Vec<MessageView>,
}

/// A community's messages, newest first.
#[utoipa::path(get, path = "/api/v1/communities/{community}/notifications", tag = "notifications",
    params(("community" = String, Path), MessageFilter),
    responses((status = 200, body = MessageList), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody)),
    security(("bearer" = [])))]
async fn list_messages(
    State(state): State<AppState>,
    principal: Principal,
    Path(community): Path<CommunityId>,
    Query(filter): Query<MessageFilter>,
) -> ApiResult<Json<MessageList>> {
    principal.require_staff(&community)?;
    if let Some(topic) = filter.topic.as_deref() {
        crate::caps::notify::model::check_topic(topic)?;
    }
    let mut conn = state.services.db.acquire().await?;
    Ok(Json(MessageList {
        notifications: rows::messages(&mut conn, &community, &filter).await?,
    }))
}

/// A message with every delivery: who, which channel, which escalation step, what became of it.
#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct MessageDetail {
    #[serde(flatten)]
    pub message: MessageView,
    pub deliveries: Vec<DeliveryView>,
}

/// One message with its deliveries and escalation state.
#[utoipa::path(get, path = "/api/v1/communities/{community}/notifications/{id}", tag = "notifications",
    params(("community" = String, Path), ("id" = String, Path)),
    responses((status = 200, body = MessageDetail), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
async fn get_message(
    State(state): State<AppState>,
    principal: Principal,
    Path((community, id)): Path<(CommunityId, String)>,
) -> ApiResult<Json<MessageDetail>> {
    principal.require_staff(&community)?;
    let mut conn = state.services.db.acquire().await?;
    let message = rows::message(&mut conn, &community, &id)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("no message {id}")))?;
    let deliveries = rows::deliveries(&mut conn, &id).await?;
    Ok(Json(MessageDetail {
        message,
        deliveries,
    }))
}

/// Acknowledge a message: as one of its recipients, or as an admin or operator on someone's behalf.
#[utoipa::path(post, path = "/api/v1/communities/{community}/notifications/{id}/ack", tag = "notifications",
    params(("community" = String, Path), ("id" = String, Path)),
    responses((status = 200, body = MessageView), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)),
    security(("bearer" = [])))]
async fn acknowledge_message(
    State(state): State<AppState>,
    principal: Principal,
    Path((community, id)): Path<(CommunityId, String)>,
) -> ApiResult<Json<MessageView>> {
    principal.require_member(&community)?;
    let staff = matches!(
        principal.role,
        Role::PlatformAdmin | Role::CommunityAdmin | Role::Operator
    );
    let by = match principal
        .person
        .as_deref()
        .and_then(|p| p.parse::<PersonId>().ok())
    {
        Some(person) if !staff => {
            require_in_inbox(&state, &community, &person, &id).await?;
            person.to_string()
        }
        Some(person) => person.to_string(),
        None if staff => principal.subject.clone(),
        None => {
            return Err(ApiError::forbidden(
                "only recipients, admins and operators acknowledge messages",
            ))
        }
    };
    Ok(Json(acknowledge(&state, &community, &id, &by).await?))
}

#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct GatewayList {
    pub gateways: Vec<Gateway>,
}

/// The community's gateways (secrets are not shown).
#[utoipa::path(get, path = "/api/v1/communities/{community}/notify/gateways", tag = "notifications",
    params(("community" = String, Path)),
    responses((status = 200, body = GatewayList), (status = 403, body = ErrorBody)),
    security(("bearer" = [])))]
async fn list_gateways(
    State(state): State<AppState>,
    principal: Principal,
    Path(community): Path<CommunityId>,
) -> ApiResult<Json<GatewayList>> {
    principal.require_community_admin(&community)?;
    let mut conn = state.services.db.acquire().await?;
    Ok(Json(GatewayList {
        gateways: rows::gateways(&mut conn, &community).await?,
    }))
}

/// A gateway as set by an admin.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct GatewaySpec {
    /// Where deliveries are posted: `http://` or `https://`.
    pub url: String,
    /// Signs every body (HMAC-SHA256); at least 16 characters.
    pub secret: String,
}

/// Shortest gateway secret.
const MIN_SECRET_CHARS: usize = 16;

/// Set the webhook that carries a channel (`sms`, `app`, ...) for this community.
#[utoipa::path(put, path = "/api/v1/communities/{community}/notify/gateways/{channel}", tag = "notifications",
    params(("community" = String, Path), ("channel" = String, Path)), request_body = GatewaySpec,
    responses((status = 200, body = Gateway), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody)),
    security(("bearer" = [])))]
async fn set_gateway(
    State(state): State<AppState>,
    principal: Principal,
    Path((community, channel)): Path<(CommunityId, String)>,
    Json(spec): Json<GatewaySpec>,
) -> ApiResult<Json<Gateway>> {
    principal.require_community_admin(&community)?;
    check_channel(&channel)?;
    if channel == crate::caps::notify::model::INBOX {
        return Err(ApiError::invalid(
            "channel: the inbox is delivered by the host and takes no gateway",
        ));
    }
    let url = reqwest::Url::parse(&spec.url)
        .ok()
        .filter(|u| matches!(u.scheme(), "http" | "https") && u.host().is_some())
        .ok_or_else(|| ApiError::invalid("url: expected an http:// or https:// URL"))?;
    crate::caps::notify::targets::check_url(&url, state.config.notify.allow_private_gateways)
        .map_err(|e| ApiError::invalid(format!("url: {e}")))?;
    if spec.secret.chars().count() < MIN_SECRET_CHARS {
        return Err(ApiError::invalid(format!(
            "secret: at least {MIN_SECRET_CHARS} characters"
        )));
    }
    let gateway = Gateway {
        channel,
        url: url.to_string(),
        secret: spec.secret,
        updated_at: state.services.clock.now(),
    };
    let mut conn = state.services.db.acquire().await?;
    rows::set_gateway(&mut conn, &community, &gateway).await?;
    tracing::info!(%community, channel = %gateway.channel, url = %gateway.url, "notification gateway set");
    Ok(Json(gateway))
}

/// Remove a channel's gateway; its pending deliveries fail until one is set again.
#[utoipa::path(delete, path = "/api/v1/communities/{community}/notify/gateways/{channel}", tag = "notifications",
    params(("community" = String, Path), ("channel" = String, Path)),
    responses((status = 204), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
async fn remove_gateway(
    State(state): State<AppState>,
    principal: Principal,
    Path((community, channel)): Path<(CommunityId, String)>,
) -> ApiResult<axum::http::StatusCode> {
    principal.require_community_admin(&community)?;
    let mut conn = state.services.db.acquire().await?;
    if !rows::remove_gateway(&mut conn, &community, &channel).await? {
        return Err(ApiError::not_found(format!("no gateway for {channel}")));
    }
    Ok(axum::http::StatusCode::NO_CONTENT)
}
