//! The people of the community map over HTTP: one person read, put or
//! removed, and the people tied to a scope. Contact details leave only with
//! a `reason`, logged for each person shown (`super::privacy`); the rest of
//! the map's routes are [`super::map`]'s.

use axum::extract::State;
use axum::http::StatusCode;
use serde::Deserialize;
use serde_json::Value;
use utoipa_axum::{router::OpenApiRouter, routes};

use super::error::{ApiError, ApiResult, ErrorBody, Json, Path, Query};
use super::map::{
    delete_feature, person_json, put_feature, read, FeatureKind, InvalidMap, MapRefusal,
};
use super::privacy::{self, ReasonQuery};
use super::AppState;
use crate::auth::Principal;
use crate::caps::map::model::{CommunityRole, Relation};
use crate::caps::privacy::access::Category;
use crate::ids::{CommunityId, PersonId};

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(get_person, put_person, delete_person))
        .routes(routes!(related_people))
}

/// Get one person as a GeoJSON feature; contact details only with a
/// `reason`, which the person sees in their access log.
#[utoipa::path(get, path = "/api/v1/communities/{community}/map/people/{person}", tag = "map",
    params(("community" = String, Path), ("person" = String, Path), ReasonQuery),
    responses((status = 200, body = Object), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
async fn get_person(
    State(state): State<AppState>,
    principal: Principal,
    Path((community, id)): Path<(CommunityId, PersonId)>,
    Query(q): Query<ReasonQuery>,
) -> ApiResult<Json<Value>> {
    principal.require_staff(&community)?;
    let reason = privacy::contact_reason(q.reason.as_deref())?;
    let (json, shown) = {
        let map = read(&state, &community).await?;
        let person = map.person(&id).ok_or_else(|| {
            ApiError::not_found(format!("no person {id} in the map of {community}"))
        })?;
        (
            person_json(person, reason.is_some()),
            privacy::with_contact(std::iter::once(person)),
        )
    };
    if let Some(reason) = reason {
        let resource = format!("/api/v1/communities/{community}/map/people/{id}");
        privacy::log_read(
            &state,
            &principal,
            &community,
            &reason,
            &[Category::Contact],
            &shown,
            &resource,
        )
        .await?;
    }
    Ok(Json(json))
}

/// Add or replace a person (a GeoJSON feature of the import schema).
#[utoipa::path(put, path = "/api/v1/communities/{community}/map/people/{person}", tag = "map",
    params(("community" = String, Path), ("person" = String, Path)), request_body(content = Object, description = "a GeoJSON Feature"),
    responses((status = 200, body = Object), (status = 201, body = Object), (status = 400, body = InvalidMap),
        (status = 403, body = ErrorBody), (status = 409, body = ErrorBody)),
    security(("bearer" = [])))]
async fn put_person(
    State(state): State<AppState>,
    principal: Principal,
    Path((community, id)): Path<(CommunityId, PersonId)>,
    Json(body): Json<Value>,
) -> Result<(StatusCode, Json<Value>), MapRefusal> {
    put_feature(
        &state,
        &principal,
        &community,
        id.as_str(),
        FeatureKind::Person,
        body,
    )
    .await
}

/// Remove a person nobody is `family-of`.
#[utoipa::path(delete, path = "/api/v1/communities/{community}/map/people/{person}", tag = "map",
    params(("community" = String, Path), ("person" = String, Path)),
    responses((status = 204), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)),
    security(("bearer" = [])))]
async fn delete_person(
    State(state): State<AppState>,
    principal: Principal,
    Path((community, id)): Path<(CommunityId, PersonId)>,
) -> ApiResult<StatusCode> {
    delete_feature(
        &state,
        &principal,
        &community,
        id.as_str(),
        FeatureKind::Person,
    )
    .await
}

/// Which people to list.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct PeopleQuery {
    /// resident, owner, family, or a role: volunteer, grid-worker, property-staff, community-doctor, security, owners-committee, owners-committee.
    pub relation: String,
    /// A place id (a person id for `family`); optional for roles.
    pub scope: Option<String>,
    /// Why contact details are read: without it, people come without them.
    pub reason: Option<String>,
}

fn relation(name: &str) -> ApiResult<Relation> {
    Ok(match name {
        "resident" => Relation::Resident,
        "owner" => Relation::Owner,
        "family" => Relation::Family,
        role => Relation::Role(
            serde_json::from_value::<CommunityRole>(Value::String(role.to_owned())).map_err(|_| {
                ApiError::invalid(format!(
                    "relation: {role:?} is not resident, owner, family or a role (volunteer, grid-worker, property-staff, community-doctor, security, owners-committee)"
                ))
            })?,
        ),
    })
}

/// People tied to a scope: residents of building 3, family of P, grid workers of cell X.
#[utoipa::path(get, path = "/api/v1/communities/{community}/map/people", tag = "map",
    params(("community" = String, Path), PeopleQuery),
    responses((status = 200, body = Vec<Object>), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
async fn related_people(
    State(state): State<AppState>,
    principal: Principal,
    Path(community): Path<CommunityId>,
    Query(q): Query<PeopleQuery>,
) -> ApiResult<Json<Vec<Value>>> {
    principal.require_staff(&community)?;
    let relation = relation(&q.relation)?;
    let reason = privacy::contact_reason(q.reason.as_deref())?;
    let (json, shown) = {
        let map = read(&state, &community).await?;
        let people = map.related(relation, q.scope.as_deref())?;
        let json: Vec<Value> = people
            .iter()
            .map(|p| person_json(p, reason.is_some()))
            .collect();
        let shown = match reason {
            Some(_) => privacy::with_contact(people.into_iter()),
            None => Vec::new(),
        };
        (json, shown)
    };
    if let Some(reason) = reason {
        let resource = format!("/api/v1/communities/{community}/map/people");
        privacy::log_read(
            &state,
            &principal,
            &community,
            &reason,
            &[Category::Contact],
            &shown,
            &resource,
        )
        .await?;
    }
    Ok(Json(json))
}
