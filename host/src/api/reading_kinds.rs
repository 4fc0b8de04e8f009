//! The reading-kind catalogue over HTTP: what a device may send and a
//! manifest may name, with each kind's value type, unit and plausible range.

use serde::Serialize;
use utoipa_axum::{router::OpenApiRouter, routes};

use super::error::{ErrorBody, Json};
use super::AppState;
use crate::auth::Principal;
use crate::caps::sensor::catalogue::{ValueType, CATALOGUE};

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(list_reading_kinds))
}

/// One kind of reading the host understands.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ReadingKindView {
    pub name: &'static str,
    /// `number`, `flag` or `text`.
    pub value: &'static str,
    /// The unit readings are stored in; none for flags and text.
    pub unit: Option<&'static str>,
    /// Other spellings of the unit that devices may send.
    pub unit_aliases: Vec<&'static str>,
    /// Inclusive bounds outside which a value is refused as a device fault.
    pub range: Option<[f64; 2]>,
}

/// The reading kinds devices send and manifests name.
#[utoipa::path(get, path = "/api/v1/reading-kinds", tag = "devices",
    responses((status = 200, body = Vec<ReadingKindView>), (status = 401, body = ErrorBody)),
    security(("bearer" = [])))]
async fn list_reading_kinds(_principal: Principal) -> Json<Vec<ReadingKindView>> {
    Json(
        CATALOGUE
            .iter()
            .map(|kind| ReadingKindView {
                name: kind.name,
                value: match kind.value {
                    ValueType::Number => "number",
                    ValueType::Flag => "flag",
                    ValueType::Text => "text",
                },
                unit: kind.unit,
                unit_aliases: kind.unit_aliases.to_vec(),
                range: kind.range.map(|(low, high)| [low, high]),
            })
            .collect(),
    )
}
