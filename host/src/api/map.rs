//! The map over HTTP. Community admins import the whole map as GeoJSON
//! (`PUT …/map`, all or nothing) and change single places and people;
//! admins and operators read it: the export, single features, the
//! hierarchy, spatial searches, people by relation and where a device is.
//! Places and people travel as GeoJSON features in the schema of
//! [`crate::caps::map::geojson`], contact details included: residents and plugins
//! never get them from here.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use tokio::sync::{OwnedRwLockReadGuard, OwnedRwLockWriteGuard};
use utoipa_axum::{router::OpenApiRouter, routes};

use super::error::{ApiError, ApiResult, ErrorBody, ErrorDetail, Json, Path, Query};
use super::privacy::{self, ReasonQuery};
use super::AppState;
use crate::auth::Principal;
use crate::caps::map::geojson::{
    check_references, export, export_as_plugin_sees, parse_collection, parse_feature,
    person_feature, person_feature_without_contact, place_feature, MapFeature, Rejected,
};
use crate::caps::map::model::{CommunityMap, Known, Person, Place, PlaceKind, PoiKind, QueryError};
use crate::caps::map::{rows, split, SharedMap, MAX_LISTED};
use crate::caps::privacy::access::Category;
use crate::caps::privacy::erasure;
use crate::db::Tx;
use crate::ids::{CommunityId, PersonId, PlaceId};
use crate::validation::ItemError;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(import_map, export_map))
        .routes(routes!(get_place, put_place, delete_place))
        .routes(routes!(place_children))
        .routes(routes!(place_ancestors))
        .routes(routes!(place_descendants))
        .merge(super::map_people::routes())
        .merge(super::map_search::routes())
}

/// A map or feature refused, with every invalid feature by index and field.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct InvalidMap {
    pub error: ErrorDetail,
    pub features: Vec<ItemError>,
}

/// Why a map change was refused.
pub(super) enum MapRefusal {
    Api(ApiError),
    Features(Vec<ItemError>),
}

impl From<ApiError> for MapRefusal {
    fn from(error: ApiError) -> Self {
        MapRefusal::Api(error)
    }
}

impl From<crate::auth::Forbidden> for MapRefusal {
    fn from(refused: crate::auth::Forbidden) -> Self {
        MapRefusal::Api(refused.into())
    }
}

impl From<sqlx::Error> for MapRefusal {
    fn from(error: sqlx::Error) -> Self {
        MapRefusal::Api(error.into())
    }
}

impl From<Rejected> for MapRefusal {
    fn from(rejected: Rejected) -> Self {
        match rejected {
            Rejected::NotACollection(message) => MapRefusal::Api(ApiError::invalid(message)),
            Rejected::Features(errors) => MapRefusal::Features(errors),
        }
    }
}

impl IntoResponse for MapRefusal {
    fn into_response(self) -> Response {
        match self {
            MapRefusal::Api(error) => error.into_response(),
            MapRefusal::Features(features) => {
                let invalid = features
                    .iter()
                    .map(|e| e.index)
                    .collect::<std::collections::BTreeSet<_>>()
                    .len();
                let body = InvalidMap {
                    error: ErrorDetail {
                        code: "invalid".to_owned(),
                        message: format!("{invalid} feature(s) are invalid; nothing was changed"),
                    },
                    features,
                };
                (StatusCode::BAD_REQUEST, axum::Json(body)).into_response()
            }
        }
    }
}

impl From<QueryError> for ApiError {
    fn from(error: QueryError) -> Self {
        match error {
            QueryError::NotFound(m) => ApiError::not_found(m),
            QueryError::Invalid(m) => ApiError::invalid(m),
        }
    }
}

/// Map checks waiting or running at once. Geometry checks are CPU-bound, so
/// they run on the blocking pool, one at a time: however large or numerous
/// the maps admins send, the async workers keep answering the API.
static CHECKS: tokio::sync::Semaphore = tokio::sync::Semaphore::const_new(1);

/// Runs a map check off the async workers.
async fn check_off_workers<T: Send + 'static>(
    check: impl FnOnce() -> T + Send + 'static,
) -> Result<T, MapRefusal> {
    let _turn = CHECKS
        .acquire()
        .await
        .map_err(|_| ApiError::internal("the map checks are closed"))?;
    Ok(tokio::task::spawn_blocking(check)
        .await
        .map_err(ApiError::internal)?)
}

/// What an import stored.
#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct MapSummary {
    pub places: usize,
    pub people: usize,
}

async fn shared(state: &AppState, community: &CommunityId) -> ApiResult<SharedMap> {
    Ok(state.services.map.get(community).await?)
}

/// The community's map to read, held until the handler is done with it.
pub(super) async fn read(
    state: &AppState,
    community: &CommunityId,
) -> ApiResult<OwnedRwLockReadGuard<CommunityMap>> {
    Ok(shared(state, community).await?.read_owned().await)
}

/// Starts a change of the community's map: the store's transaction first,
/// then the map's write lock. Handlers that send notifications read the map
/// inside their transaction, so the other order could leave a change and a
/// handler each waiting for what the other holds.
async fn begin_change(
    state: &AppState,
    community: &CommunityId,
) -> ApiResult<(Tx, OwnedRwLockWriteGuard<CommunityMap>)> {
    let map = shared(state, community).await?;
    let tx = crate::db::begin(&state.services.db).await?;
    Ok((tx, map.write_owned().await))
}

/// Replace the community's whole map with a GeoJSON FeatureCollection: all or nothing.
#[utoipa::path(put, path = "/api/v1/communities/{community}/map", tag = "map",
    params(("community" = String, Path)), request_body(content = Object, description = "a GeoJSON FeatureCollection"),
    responses((status = 200, body = MapSummary), (status = 400, body = InvalidMap), (status = 403, body = ErrorBody)),
    security(("bearer" = [])))]
async fn import_map(
    State(state): State<AppState>,
    principal: Principal,
    Path(community): Path<CommunityId>,
    Json(body): Json<Value>,
) -> Result<Json<MapSummary>, MapRefusal> {
    principal.require_community_admin(&community)?;
    super::communities::load(&state, &community).await?;
    let features = check_off_workers(move || parse_collection(&body)).await??;
    let (mut tx, mut map) = begin_change(&state, &community).await?;
    let people = features.iter().filter_map(|f| match f {
        MapFeature::Person(p) => Some(&p.id),
        MapFeature::Place(_) => None,
    });
    refuse_erased(&mut tx, &community, people).await?;
    rows::replace(&mut tx, &community, &features).await?;
    tx.commit().await?;
    let (places, people) = split(features);
    let summary = MapSummary {
        places: places.len(),
        people: people.len(),
    };
    // Consents belong to people, not to the map's shape: they stay.
    let consents = std::mem::take(map.consents_mut());
    *map = CommunityMap::new(places, people);
    *map.consents_mut() = consents;
    tracing::info!(%community, places = summary.places, people = summary.people, "map imported");
    Ok(Json(summary))
}

/// Export the community's map as a GeoJSON FeatureCollection (the import
/// schema). People's contact details are included only with a `reason`,
/// and each person's appears in their access log.
#[utoipa::path(get, path = "/api/v1/communities/{community}/map", tag = "map",
    params(("community" = String, Path), ReasonQuery),
    responses((status = 200, body = Object, description = "a GeoJSON FeatureCollection"), (status = 403, body = ErrorBody)),
    security(("bearer" = [])))]
async fn export_map(
    State(state): State<AppState>,
    principal: Principal,
    Path(community): Path<CommunityId>,
    Query(q): Query<ReasonQuery>,
) -> ApiResult<Json<Value>> {
    principal.require_staff(&community)?;
    let reason = privacy::contact_reason(q.reason.as_deref())?;
    let (collection, shown) = {
        let map = read(&state, &community).await?;
        match reason {
            Some(_) => (export(&map), privacy::with_contact(map.people())),
            None => (export_as_plugin_sees(&map, true), Vec::new()),
        }
    };
    if let Some(reason) = reason {
        let resource = format!("/api/v1/communities/{community}/map");
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
    Ok(Json(
        serde_json::to_value(collection).map_err(ApiError::internal)?,
    ))
}

/// Refuses ids of erased people: what the ledger keeps under such an id
/// must never come to name someone else.
async fn refuse_erased(
    tx: &mut Tx,
    community: &CommunityId,
    people: impl Iterator<Item = &PersonId>,
) -> ApiResult<()> {
    let erased = erasure::erased_ids(tx, community).await?;
    match people.into_iter().find(|p| erased.contains(p.as_str())) {
        Some(person) => Err(ApiError::conflict(format!(
            "{person} is the id of a person erased from this community; give the new person another id"
        ))),
        None => Ok(()),
    }
}

/// A person's feature, with contact details when `with_contact`.
pub(super) fn person_json(person: &Person, with_contact: bool) -> Value {
    feature_json(if with_contact {
        person_feature(person)
    } else {
        person_feature_without_contact(person)
    })
}

pub(super) fn feature_json(feature: geojson::Feature) -> Value {
    serde_json::to_value(feature).expect("features serialize")
}

fn places_json(places: Vec<&Place>) -> ApiResult<Json<Vec<Value>>> {
    if places.len() > MAX_LISTED {
        return Err(ApiError::invalid(format!(
            "{} places; at most {MAX_LISTED}: narrow the query",
            places.len()
        )));
    }
    Ok(Json(
        places
            .into_iter()
            .map(|p| feature_json(place_feature(p)))
            .collect(),
    ))
}

/// Which kind of feature a route changes.
#[derive(Clone, Copy, PartialEq)]
pub(super) enum FeatureKind {
    Place,
    Person,
}

/// Adds or replaces one feature under `id` after checking it against the map.
pub(super) async fn put_feature(
    state: &AppState,
    principal: &Principal,
    community: &CommunityId,
    id: &str,
    expected: FeatureKind,
    mut body: Value,
) -> Result<(StatusCode, Json<Value>), MapRefusal> {
    principal.require_community_admin(community)?;
    super::communities::load(state, community).await?;
    if let Some(object) = body.as_object_mut() {
        match object.get("id") {
            None => {
                object.insert("id".to_owned(), Value::String(id.to_owned()));
            }
            Some(given) if given != id => {
                return Err(
                    ApiError::invalid(format!("id: the feature's id {given} is not {id}")).into(),
                )
            }
            Some(_) => {}
        }
    }
    let feature = check_off_workers(move || parse_feature(0, &body))
        .await?
        .map_err(MapRefusal::Features)?;
    let kind = match feature {
        MapFeature::Place(_) => FeatureKind::Place,
        MapFeature::Person(_) => FeatureKind::Person,
    };
    if kind != expected {
        return Err(ApiError::invalid(match expected {
            FeatureKind::Place => "properties.kind: people are changed under …/map/people",
            FeatureKind::Person => "properties.kind: places are changed under …/map/places",
        })
        .into());
    }
    let (mut tx, mut map) = begin_change(state, community).await?;
    if let MapFeature::Person(person) = &feature {
        refuse_erased(&mut tx, community, std::iter::once(&person.id)).await?;
    }
    let before = map.known(id);
    let after = match &feature {
        MapFeature::Place(p) => Known::Place(p.kind),
        MapFeature::Person(_) => Known::Person,
    };
    if let Some(before) = before.filter(|b| *b != after) {
        let refusal = match (before, map.dependents(id).first()) {
            (Known::Person, _) => format!("{id} is a person of the map, not a place"),
            (Known::Place(_), _) if after == Known::Person => {
                format!("{id} is a place of the map, not a person")
            }
            (Known::Place(kind), Some(dependent)) => format!(
                "{id} cannot stop being a {} while {dependent}",
                kind.as_str()
            ),
            (Known::Place(_), None) => String::new(),
        };
        if !refusal.is_empty() {
            return Err(ApiError::conflict(refusal).into());
        }
    }
    let lookup = |other: &str| {
        if other == id {
            Some(after)
        } else {
            map.known(other)
        }
    };
    let errors = check_references(0, &feature, &lookup);
    if !errors.is_empty() {
        return Err(MapRefusal::Features(errors));
    }
    rows::put(&mut tx, community, &feature).await?;
    tx.commit().await?;
    let json = match feature {
        MapFeature::Place(place) => {
            let json = feature_json(place_feature(&place));
            map.put_place(place);
            json
        }
        MapFeature::Person(person) => {
            let json = feature_json(person_feature(&person));
            map.put_person(person);
            json
        }
    };
    tracing::info!(%community, feature = id, by = %principal.subject, "map feature put");
    let status = if before.is_some() {
        StatusCode::OK
    } else {
        StatusCode::CREATED
    };
    Ok((status, Json(json)))
}

/// Removes one feature, unless places or people depend on it.
pub(super) async fn delete_feature(
    state: &AppState,
    principal: &Principal,
    community: &CommunityId,
    id: &str,
    kind: FeatureKind,
) -> ApiResult<StatusCode> {
    principal.require_community_admin(community)?;
    let (mut tx, mut map) = begin_change(state, community).await?;
    let exists = match kind {
        FeatureKind::Place => map.place_named(id).is_some(),
        FeatureKind::Person => id.parse().ok().and_then(|p| map.person(&p)).is_some(),
    };
    if !exists {
        return Err(ApiError::not_found(format!(
            "{id} is not in the map of {community}"
        )));
    }
    let dependents = map.dependents(id);
    if !dependents.is_empty() {
        return Err(ApiError::conflict(format!(
            "{id} is still needed: {}",
            dependents.join("; ")
        )));
    }
    rows::delete(&mut tx, community, id).await?;
    tx.commit().await?;
    match kind {
        FeatureKind::Place => map.remove_place(&id.parse().map_err(ApiError::internal)?),
        FeatureKind::Person => {
            map.remove_person(&id.parse().map_err(ApiError::internal)?);
            None
        }
    };
    tracing::info!(%community, feature = id, by = %principal.subject, "map feature deleted");
    Ok(StatusCode::NO_CONTENT)
}

/// Get one place as a GeoJSON feature.
#[utoipa::path(get, path = "/api/v1/communities/{community}/map/places/{place}", tag = "map",
    params(("community" = String, Path), ("place" = String, Path)),
    responses((status = 200, body = Object), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
async fn get_place(
    State(state): State<AppState>,
    principal: Principal,
    Path((community, id)): Path<(CommunityId, PlaceId)>,
) -> ApiResult<Json<Value>> {
    principal.require_staff(&community)?;
    let map = read(&state, &community).await?;
    let place = map
        .place(&id)
        .ok_or_else(|| ApiError::not_found(format!("no place {id} in the map of {community}")))?;
    Ok(Json(feature_json(place_feature(place))))
}

/// Add or replace a place (a GeoJSON feature of the import schema).
#[utoipa::path(put, path = "/api/v1/communities/{community}/map/places/{place}", tag = "map",
    params(("community" = String, Path), ("place" = String, Path)), request_body(content = Object, description = "a GeoJSON Feature"),
    responses((status = 200, body = Object), (status = 201, body = Object), (status = 400, body = InvalidMap),
        (status = 403, body = ErrorBody), (status = 409, body = ErrorBody)),
    security(("bearer" = [])))]
async fn put_place(
    State(state): State<AppState>,
    principal: Principal,
    Path((community, id)): Path<(CommunityId, PlaceId)>,
    Json(body): Json<Value>,
) -> Result<(StatusCode, Json<Value>), MapRefusal> {
    put_feature(
        &state,
        &principal,
        &community,
        id.as_str(),
        FeatureKind::Place,
        body,
    )
    .await
}

/// Remove a place nothing depends on (no places under it, no people tied to it).
#[utoipa::path(delete, path = "/api/v1/communities/{community}/map/places/{place}", tag = "map",
    params(("community" = String, Path), ("place" = String, Path)),
    responses((status = 204), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)),
    security(("bearer" = [])))]
async fn delete_place(
    State(state): State<AppState>,
    principal: Principal,
    Path((community, id)): Path<(CommunityId, PlaceId)>,
) -> ApiResult<StatusCode> {
    delete_feature(
        &state,
        &principal,
        &community,
        id.as_str(),
        FeatureKind::Place,
    )
    .await
}

/// The places directly under a place.
#[utoipa::path(get, path = "/api/v1/communities/{community}/map/places/{place}/children", tag = "map",
    params(("community" = String, Path), ("place" = String, Path)),
    responses((status = 200, body = Vec<Object>), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
async fn place_children(
    State(state): State<AppState>,
    principal: Principal,
    Path((community, id)): Path<(CommunityId, PlaceId)>,
) -> ApiResult<Json<Vec<Value>>> {
    principal.require_staff(&community)?;
    let map = read(&state, &community).await?;
    places_json(map.children(Some(&id))?)
}

/// The places above a place, its parent first.
#[utoipa::path(get, path = "/api/v1/communities/{community}/map/places/{place}/ancestors", tag = "map",
    params(("community" = String, Path), ("place" = String, Path)),
    responses((status = 200, body = Vec<Object>), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
async fn place_ancestors(
    State(state): State<AppState>,
    principal: Principal,
    Path((community, id)): Path<(CommunityId, PlaceId)>,
) -> ApiResult<Json<Vec<Value>>> {
    principal.require_staff(&community)?;
    let map = read(&state, &community).await?;
    places_json(map.ancestors(&id)?)
}

/// Which descendants to list.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct DescendantsQuery {
    /// grid-cell, building, floor, unit, household or poi.
    pub kind: Option<String>,
    pub poi_kind: Option<String>,
}

/// Everything under a place, optionally of one kind.
#[utoipa::path(get, path = "/api/v1/communities/{community}/map/places/{place}/descendants", tag = "map",
    params(("community" = String, Path), ("place" = String, Path), DescendantsQuery),
    responses((status = 200, body = Vec<Object>), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
async fn place_descendants(
    State(state): State<AppState>,
    principal: Principal,
    Path((community, id)): Path<(CommunityId, PlaceId)>,
    Query(q): Query<DescendantsQuery>,
) -> ApiResult<Json<Vec<Value>>> {
    principal.require_staff(&community)?;
    let kind = q
        .kind
        .map(|k| {
            PlaceKind::parse(&k)
                .ok_or_else(|| ApiError::invalid(format!("kind: {k:?} is not a place kind")))
        })
        .transpose()?;
    let poi = q.poi_kind.map(poi_kind).transpose()?;
    let map = read(&state, &community).await?;
    places_json(map.descendants(&id, |p| {
        kind.is_none_or(|k| p.kind == k)
            && poi.as_ref().is_none_or(|k| p.poi_kind.as_ref() == Some(k))
    })?)
}

/// A point-of-interest kind from a query.
pub(super) fn poi_kind(kind: String) -> ApiResult<PoiKind> {
    PoiKind::try_from(kind).map_err(|e| ApiError::invalid(format!("poi_kind: {e}")))
}
