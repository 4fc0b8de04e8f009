//! A dead letter as a bundle a vendor can replay: the event and why it
//! failed, with what the handler could see when it failed — the
//! installation's version, config and grants, the plugin's state in the
//! community, the devices of the granted kinds and the map. Personal data
//! follows the grants: people only when the installation may see them, and
//! never their contact details, which no plugin ever sees either.
//! `linli plugin test DIR --replay BUNDLE` replays it on a host of its own.

use axum::extract::State;
use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa_axum::{router::OpenApiRouter, routes};

use super::error::{ApiError, ApiResult, ErrorBody, Json, Path};
use super::installations::load;
use super::AppState;
use crate::auth::Principal;
use crate::caps::map::geojson::export_as_plugin_sees;
use crate::caps::sensor::SensorScope;
use crate::caps::store::snapshot;
use crate::caps::{CapabilitySet, NameSet};
use crate::ids::{CommunityId, InstallationId};
use crate::runtime::installation::{self, DeadLetter};

/// What a bundle says it is, so a replaying tool knows what it reads.
pub const BUNDLE_FORMAT: &str = "linli-dead-letter/1";

/// A dead letter with what is needed to replay it.
#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct DeadLetterBundle {
    /// `linli-dead-letter/1`.
    pub format: String,
    pub dead_letter: DeadLetter,
    pub plugin: String,
    /// The version that failed.
    pub version: String,
    #[schema(value_type = Object)]
    pub config: Value,
    pub grants: CapabilitySet,
    /// The plugin's state in the community when the bundle was made (the
    /// handler's own writes never landed), without its `sealed/` keys;
    /// empty without the store grant.
    pub state: Vec<StateEntry>,
    /// Whether the state was cut at 10,000 keys or 16 MiB.
    pub state_truncated: bool,
    /// The community's devices that report a granted reading kind.
    pub devices: Vec<BundleDevice>,
    /// The map as GeoJSON (the import schema): places, and people only when
    /// `map.people` was granted, without contact details; absent without
    /// the map grant.
    #[schema(value_type = Option<Object>)]
    pub map: Option<Value>,
}

/// One key of the plugin's state.
#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct StateEntry {
    pub key: String,
    /// The value's bytes, base64.
    pub value: String,
}

impl StateEntry {
    /// The value's bytes; `None` when it is not base64.
    pub fn bytes(&self) -> Option<Vec<u8>> {
        BASE64.decode(&self.value).ok()
    }
}

/// A device as the bundle carries it.
#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct BundleDevice {
    pub id: String,
    pub kind: String,
    pub reading_kinds: Vec<String>,
    pub location: Option<String>,
}

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(get_dead_letter))
}

/// One dead letter as a bundle to replay with `linli plugin test --replay`.
#[utoipa::path(get, path = "/api/v1/communities/{community}/installations/{installation}/dead-letters/{dead_letter}", tag = "installations",
    params(("community" = String, Path), ("installation" = String, Path), ("dead_letter" = i64, Path)),
    responses((status = 200, body = DeadLetterBundle), (status = 404, body = ErrorBody)), security(("bearer" = [])))]
async fn get_dead_letter(
    State(state): State<AppState>,
    principal: Principal,
    Path((community, id, dead_letter)): Path<(CommunityId, InstallationId, i64)>,
) -> ApiResult<Json<DeadLetterBundle>> {
    principal.require_community_admin(&community)?;
    let installation = load(&state, &community, &id).await?;
    let db = &state.services.db;
    let letter = installation::dead_letter(db, &id, dead_letter)
        .await?
        .ok_or_else(|| {
            ApiError::not_found(format!(
                "installation {id} has no dead letter {dead_letter}"
            ))
        })?;
    let grants = installation.grants;
    let (entries, state_truncated) = match grants.store {
        Some(_) => {
            let taken = snapshot::read(db, &community, &installation.plugin).await?;
            (taken.entries, taken.truncated)
        }
        None => (Vec::new(), false),
    };
    let devices = visible_devices(&state, &community, grants.sensor.as_ref()).await?;
    let map = match &grants.map {
        Some(scope) => Some(map_for_plugin(&state, &community, scope.people).await?),
        None => None,
    };
    tracing::info!(%community, installation = %id, dead_letter, by = %principal.subject, "dead letter bundle taken");
    Ok(Json(DeadLetterBundle {
        format: BUNDLE_FORMAT.to_owned(),
        dead_letter: letter,
        plugin: installation.plugin.to_string(),
        version: installation.version.to_string(),
        config: installation.config,
        grants,
        state: entries
            .into_iter()
            .map(|(key, value)| StateEntry {
                key,
                value: BASE64.encode(value),
            })
            .collect(),
        state_truncated,
        devices,
        map,
    }))
}

/// The community's devices that report a reading kind the installation was granted.
async fn visible_devices(
    state: &AppState,
    community: &CommunityId,
    sensor: Option<&SensorScope>,
) -> ApiResult<Vec<BundleDevice>> {
    let Some(sensor) = sensor else {
        return Ok(Vec::new());
    };
    let granted = NameSet(&sensor.kinds);
    Ok(crate::devices::list(&state.services.db, community)
        .await?
        .into_iter()
        .filter(|d| d.reading_kinds.iter().any(|k| granted.allows(k)))
        .map(|d| BundleDevice {
            id: d.id.to_string(),
            kind: d.kind,
            reading_kinds: d.reading_kinds,
            location: d.location,
        })
        .collect())
}

/// The map as the installation sees it: its places, and its people (with
/// no contact details) only when it may see people.
async fn map_for_plugin(
    state: &AppState,
    community: &CommunityId,
    people: bool,
) -> ApiResult<Value> {
    let map = super::map::read(state, community).await?;
    serde_json::to_value(export_as_plugin_sees(&map, people)).map_err(ApiError::internal)
}
