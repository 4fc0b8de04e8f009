//! Devices over HTTP: community admins register devices (getting each one's
//! token once), list them, read their history, move them behind another
//! gateway and retire them. Residents see only their own devices
//! ([`crate::caps::sensor::visibility`]).

use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use utoipa_axum::{router::OpenApiRouter, routes};

use super::error::{ApiError, ApiResult, ErrorBody, Json, Path, Query};
use super::AppState;
use crate::auth::{self, Principal, Role, TokenSpec};
use crate::caps::privacy::access::Category;
use crate::caps::privacy::{self, Sensitivity};
use crate::caps::sensor::visibility::ResidentView;
use crate::caps::sensor::{self, catalogue, History, Reading};
use crate::clock::Millis;
use crate::devices::{self, Device};
use crate::ids::{CommunityId, DeviceId, PersonId};

/// A device to register.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewDevice {
    pub id: DeviceId,
    pub kind: String,
    #[serde(default)]
    pub name: Option<String>,
    pub reading_kinds: Vec<String>,
    #[serde(default)]
    pub location: Option<String>,
    #[serde(default)]
    pub gateway: Option<DeviceId>,
    /// The person the device belongs to: they (and their family) may read it.
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub person: Option<PersonId>,
}

/// A device moved behind another gateway.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DeviceMove {
    /// The gateway that sends its readings from now on; `null`: it sends its own.
    pub gateway: Option<DeviceId>,
}

/// A registered device and its token, shown this once.
#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct RegisteredDevice {
    pub device: Device,
    pub token: String,
}

/// Bounds of a history query.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct HistoryQuery {
    pub kind: Option<String>,
    /// Inclusive start, ms since the epoch.
    pub from: Option<Millis>,
    /// Exclusive end, ms since the epoch.
    pub to: Option<Millis>,
    /// At most this many readings (capped at 1000).
    pub limit: Option<u32>,
    /// Why health or presence readings of someone's device are read:
    /// required of staff, shown to the people the readings are about.
    pub reason: Option<String>,
}

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(register_device, list))
        .routes(routes!(get_device, move_device, retire_device))
        .routes(routes!(device_readings))
}

async fn load_device(
    state: &AppState,
    community: &CommunityId,
    id: &DeviceId,
) -> ApiResult<Device> {
    devices::get(&state.services.db, community, id)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("device {id} does not exist in {community}")))
}

fn check_new_device(new: &NewDevice) -> ApiResult<()> {
    if new.kind.is_empty() || new.kind.len() > 64 {
        return Err(ApiError::invalid("kind: must be 1-64 characters"));
    }
    if new.reading_kinds.is_empty() {
        return Err(ApiError::invalid(
            "reading_kinds: name at least one reading kind",
        ));
    }
    if let Some(unknown) = new
        .reading_kinds
        .iter()
        .find(|k| catalogue::kind(k).is_none())
    {
        return Err(ApiError::invalid(format!(
            "reading_kinds: unknown reading kind {unknown:?}"
        )));
    }
    Ok(())
}

/// Refuses `gateway` for `device` unless it is another device of the community.
async fn check_gateway(
    state: &AppState,
    community: &CommunityId,
    device: &DeviceId,
    gateway: &DeviceId,
) -> ApiResult<()> {
    if gateway == device {
        return Err(ApiError::invalid(
            "gateway: a device cannot be its own gateway",
        ));
    }
    load_device(state, community, gateway).await.map_err(|_| {
        ApiError::invalid(format!(
            "gateway: device {gateway} is not registered in {community}"
        ))
    })?;
    Ok(())
}

/// Register a device; its token is in the response and nowhere else.
#[utoipa::path(post, path = "/api/v1/communities/{community}/devices", tag = "devices",
    params(("community" = String, Path)), request_body = NewDevice,
    responses((status = 201, body = RegisteredDevice), (status = 400, body = ErrorBody), (status = 409, body = ErrorBody)),
    security(("bearer" = [])))]
async fn register_device(
    State(state): State<AppState>,
    principal: Principal,
    Path(community): Path<CommunityId>,
    Json(new): Json<NewDevice>,
) -> ApiResult<(StatusCode, Json<RegisteredDevice>)> {
    principal.require_community_admin(&community)?;
    super::communities::load(&state, &community).await?;
    check_new_device(&new)?;
    if let Some(location) = &new.location {
        if let Some(refused) = state
            .services
            .map
            .check_device_location(&community, location)
            .await?
        {
            return Err(refused.into());
        }
    }
    if let Some(person) = &new.person {
        let map = state.services.map.get(&community).await?;
        if map.read().await.person(person).is_none() {
            return Err(ApiError::invalid(format!(
                "person: {person} is not a person of {community}'s map"
            )));
        }
    }
    if let Some(gateway) = &new.gateway {
        check_gateway(&state, &community, &new.id, gateway).await?;
    }
    let now = state.services.clock.now();
    let secret = auth::new_secret();
    let mut tx = crate::db::begin(&state.services.db).await?;
    if devices::get(&mut *tx, &community, &new.id).await?.is_some() {
        return Err(ApiError::conflict(format!(
            "device {} already exists in {community}",
            new.id
        )));
    }
    let spec = TokenSpec {
        role: Role::Device,
        community: Some(&community),
        subject: new.id.as_str(),
        person: None,
    };
    let token_id = auth::store_token(&mut *tx, &spec, &secret, now).await?;
    let device = Device {
        name: new.name.clone().unwrap_or_else(|| new.id.to_string()),
        id: new.id,
        kind: new.kind,
        reading_kinds: new.reading_kinds,
        location: new.location,
        gateway: new.gateway,
        person: new.person,
        created_at: now,
        last_seen: None,
    };
    devices::insert(&mut tx, &community, &device, &token_id).await?;
    tx.commit().await?;
    state.ingest.devices_changed(&community);
    tracing::info!(%community, device = %device.id, "device registered");
    Ok((
        StatusCode::CREATED,
        Json(RegisteredDevice {
            device,
            token: secret,
        }),
    ))
}

/// For a resident, what they may see; `None` for staff, who see everything.
async fn resident_view(
    state: &AppState,
    principal: &Principal,
    community: &CommunityId,
) -> ApiResult<Option<(crate::caps::map::SharedMap, ResidentView)>> {
    if principal.role != Role::Resident {
        return Ok(None);
    }
    let map = state.services.map.get(community).await?;
    let view = match principal.person.as_ref().and_then(|p| p.parse().ok()) {
        Some(person) => ResidentView::of(&*map.read().await, &person),
        None => ResidentView::default(),
    };
    Ok(Some((map, view)))
}

/// Loads a device the caller may see; another resident's is absent.
async fn visible_device(
    state: &AppState,
    principal: &Principal,
    community: &CommunityId,
    id: &DeviceId,
) -> ApiResult<Device> {
    let device = load_device(state, community, id).await?;
    if let Some((map, view)) = resident_view(state, principal, community).await? {
        if !view.sees(
            &*map.read().await,
            device.location.as_deref(),
            device.person.as_ref(),
        ) {
            return Err(ApiError::not_found(format!(
                "device {id} does not exist in {community}"
            )));
        }
    }
    Ok(device)
}

/// List a community's devices (a resident: their own).
#[utoipa::path(get, path = "/api/v1/communities/{community}/devices", tag = "devices",
    params(("community" = String, Path)), responses((status = 200, body = Vec<Device>)), security(("bearer" = [])))]
async fn list(
    State(state): State<AppState>,
    principal: Principal,
    Path(community): Path<CommunityId>,
) -> ApiResult<Json<Vec<Device>>> {
    principal.require_member(&community)?;
    let mut devices = devices::list(&state.services.db, &community).await?;
    if let Some((map, view)) = resident_view(&state, &principal, &community).await? {
        let map = map.read().await;
        devices.retain(|d| view.sees(&map, d.location.as_deref(), d.person.as_ref()));
    }
    Ok(Json(devices))
}

/// Get one device.
#[utoipa::path(get, path = "/api/v1/communities/{community}/devices/{device}", tag = "devices",
    params(("community" = String, Path), ("device" = String, Path)),
    responses((status = 200, body = Device), (status = 404, body = ErrorBody)), security(("bearer" = [])))]
async fn get_device(
    State(state): State<AppState>,
    principal: Principal,
    Path((community, device)): Path<(CommunityId, DeviceId)>,
) -> ApiResult<Json<Device>> {
    principal.require_member(&community)?;
    Ok(Json(
        visible_device(&state, &principal, &community, &device).await?,
    ))
}

/// Move a device behind another gateway (or none): from the moment this
/// returns, only the new gateway's readings for it are accepted.
#[utoipa::path(patch, path = "/api/v1/communities/{community}/devices/{device}", tag = "devices",
    params(("community" = String, Path), ("device" = String, Path)), request_body = DeviceMove,
    responses((status = 200, body = Device), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
async fn move_device(
    State(state): State<AppState>,
    principal: Principal,
    Path((community, device)): Path<(CommunityId, DeviceId)>,
    Json(change): Json<DeviceMove>,
) -> ApiResult<Json<Device>> {
    principal.require_community_admin(&community)?;
    let mut moved = load_device(&state, &community, &device).await?;
    if let Some(gateway) = &change.gateway {
        check_gateway(&state, &community, &device, gateway).await?;
    }
    let mut tx = crate::db::begin(&state.services.db).await?;
    devices::set_gateway(&mut tx, &community, &device, change.gateway.as_ref()).await?;
    tx.commit().await?;
    state.ingest.devices_changed(&community);
    tracing::info!(%community, %device, gateway = ?change.gateway, "device moved");
    moved.gateway = change.gateway;
    Ok(Json(moved))
}

/// Retire a device: its token stops working; its readings stay in the log.
#[utoipa::path(delete, path = "/api/v1/communities/{community}/devices/{device}", tag = "devices",
    params(("community" = String, Path), ("device" = String, Path)),
    responses((status = 204), (status = 404, body = ErrorBody)), security(("bearer" = [])))]
async fn retire_device(
    State(state): State<AppState>,
    principal: Principal,
    Path((community, device)): Path<(CommunityId, DeviceId)>,
) -> ApiResult<StatusCode> {
    principal.require_community_admin(&community)?;
    load_device(&state, &community, &device).await?;
    let mut tx = crate::db::begin(&state.services.db).await?;
    devices::retire(&mut tx, &community, &device, state.services.clock.now()).await?;
    tx.commit().await?;
    state.ingest.devices_changed(&community);
    tracing::info!(%community, %device, "device retired");
    Ok(StatusCode::NO_CONTENT)
}

/// A device's readings in a time range, oldest first (bounded).
#[utoipa::path(get, path = "/api/v1/communities/{community}/devices/{device}/readings", tag = "devices",
    params(("community" = String, Path), ("device" = String, Path), HistoryQuery),
    responses((status = 200, body = Vec<Reading>), (status = 400, body = ErrorBody)), security(("bearer" = [])))]
async fn device_readings(
    State(state): State<AppState>,
    principal: Principal,
    Path((community, device)): Path<(CommunityId, DeviceId)>,
    Query(q): Query<HistoryQuery>,
) -> ApiResult<Json<Vec<Reading>>> {
    principal.require_member(&community)?;
    let found = visible_device(&state, &principal, &community, &device).await?;
    let sensitive = found
        .reading_kinds
        .iter()
        .filter(|k| q.kind.as_ref().is_none_or(|asked| asked == *k))
        .any(|k| Sensitivity::of_kind(k).is_some());
    let subjects = if sensitive {
        let map = super::map::read(&state, &community).await?;
        privacy::subjects(
            &map,
            found.person.as_ref().map(|p| p.as_str()),
            found.location.as_deref(),
        )
    } else {
        Vec::new()
    };
    let read_by_another = subjects
        .iter()
        .any(|s| Some(s.as_str()) != principal.person.as_deref());
    let reason = if read_by_another {
        Some(super::privacy::reason_for(&principal, q.reason.as_deref())?)
    } else {
        None
    };
    let from = q.from.unwrap_or(0);
    let to = q.to.unwrap_or(Millis::MAX);
    if from >= to {
        return Err(ApiError::invalid("from: must be before to"));
    }
    let span = History {
        device: device.as_str(),
        kind: q.kind.as_deref(),
        from,
        to,
        limit: q.limit.unwrap_or(100),
        newest_first: false,
    };
    let readings = sensor::history(&state.services.db, &community, &span).await?;
    if let Some(reason) = reason {
        let resource = format!("/api/v1/communities/{community}/devices/{device}/readings");
        let shown: Vec<Category> = privacy::sensitivities(&readings)
            .into_iter()
            .map(Category::from)
            .collect();
        super::privacy::log_read(
            &state, &principal, &community, &reason, &shown, &subjects, &resource,
        )
        .await?;
    }
    Ok(Json(readings))
}
