//! Searching the community map over HTTP: the points of interest of a kind
//! nearest to a place or point, those within a radius, and the place a
//! device is in. Staff only, like every read of the map; the rest of the
//! map's routes are [`super::map`]'s.

use axum::extract::State;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa_axum::{router::OpenApiRouter, routes};

use super::error::{ApiError, ApiResult, ErrorBody, Json, Path, Query};
use super::map::{feature_json, poi_kind, read};
use super::AppState;
use crate::auth::Principal;
use crate::caps::map::geojson::place_feature;
use crate::caps::map::model::{GeoPoint, Origin, Place};
use crate::caps::map::{MAX_NEAREST, MAX_WITHIN_RADIUS};
use crate::ids::{CommunityId, DeviceId, PlaceId};

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(nearest))
        .routes(routes!(within_radius))
        .routes(routes!(locate_device))
}

/// Where a spatial search starts and what it looks for.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct SearchQuery {
    /// hydrant, exit, aed, water-tank, parking-space, gate, ...
    pub poi_kind: String,
    /// Start from this place (its point, or its nearest ancestor's) ...
    #[param(value_type = Option<String>)]
    pub place: Option<PlaceId>,
    /// ... or from this point.
    pub lat: Option<f64>,
    pub lon: Option<f64>,
    /// `nearest`: how many (default 5, at most 100).
    pub k: Option<u32>,
    /// `within`: the radius in metres.
    pub radius_m: Option<f64>,
}

/// A place found by a spatial search.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Found {
    #[schema(value_type = Object)]
    pub place: Value,
    pub distance_m: f64,
}

impl SearchQuery {
    fn origin(&self) -> ApiResult<Origin> {
        match (&self.place, self.lat, self.lon) {
            (Some(place), None, None) => Ok(Origin::Place(place.clone())),
            (None, Some(lat), Some(lon)) => Ok(Origin::Point(GeoPoint { lat, lon })),
            _ => Err(ApiError::invalid(
                "place, or lat and lon: give exactly one origin",
            )),
        }
    }
}

fn found(results: Vec<(&Place, f64)>) -> Json<Vec<Found>> {
    Json(
        results
            .into_iter()
            .map(|(place, distance_m)| Found {
                place: feature_json(place_feature(place)),
                distance_m,
            })
            .collect(),
    )
}

/// The k points of interest of a kind nearest to a place or point.
#[utoipa::path(get, path = "/api/v1/communities/{community}/map/nearest", tag = "map",
    params(("community" = String, Path), SearchQuery),
    responses((status = 200, body = Vec<Found>), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
async fn nearest(
    State(state): State<AppState>,
    principal: Principal,
    Path(community): Path<CommunityId>,
    Query(q): Query<SearchQuery>,
) -> ApiResult<Json<Vec<Found>>> {
    principal.require_staff(&community)?;
    let origin = q.origin()?;
    let k = q.k.unwrap_or(5).min(MAX_NEAREST) as usize;
    let kind = poi_kind(q.poi_kind)?;
    let map = read(&state, &community).await?;
    Ok(found(map.nearest(&kind, &origin, k)?))
}

/// The points of interest of a kind within a radius of a place or point.
#[utoipa::path(get, path = "/api/v1/communities/{community}/map/within", tag = "map",
    params(("community" = String, Path), SearchQuery),
    responses((status = 200, body = Vec<Found>), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
async fn within_radius(
    State(state): State<AppState>,
    principal: Principal,
    Path(community): Path<CommunityId>,
    Query(q): Query<SearchQuery>,
) -> ApiResult<Json<Vec<Found>>> {
    principal.require_staff(&community)?;
    let origin = q.origin()?;
    let radius = q
        .radius_m
        .ok_or_else(|| ApiError::invalid("radius_m: the radius in metres is needed"))?;
    let kind = poi_kind(q.poi_kind)?;
    let map = read(&state, &community).await?;
    let mut results = map.within_radius(&kind, &origin, radius)?;
    results.truncate(MAX_WITHIN_RADIUS);
    Ok(found(results))
}

/// The place a device is in (`null` when its location is not a place of the map).
#[utoipa::path(get, path = "/api/v1/communities/{community}/map/devices/{device}", tag = "map",
    params(("community" = String, Path), ("device" = String, Path)),
    responses((status = 200, body = Option<Object>), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
async fn locate_device(
    State(state): State<AppState>,
    principal: Principal,
    Path((community, device)): Path<(CommunityId, DeviceId)>,
) -> ApiResult<Json<Option<Value>>> {
    principal.require_staff(&community)?;
    let mut conn = state.services.db.acquire().await?;
    let location = crate::devices::location(&mut conn, &community, device.as_str())
        .await?
        .ok_or_else(|| {
            ApiError::not_found(format!("device {device} does not exist in {community}"))
        })?;
    let map = read(&state, &community).await?;
    Ok(Json(location.and_then(|l| {
        map.place_named(&l).map(|p| feature_json(place_feature(p)))
    })))
}
