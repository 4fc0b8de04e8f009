//! Points of interest, as the spatial index needs them: where a point is
//! and what kind of point it is.

use serde::{Deserialize, Serialize};

/// A point on the WGS 84 ellipsoid, in degrees.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct GeoPoint {
    pub lat: f64,
    pub lon: f64,
}

/// The kind of a point of interest: 1-64 characters of a-z, 0-9 or '-'.
/// The platform knows no fixed list; scenes agree on names such as
/// `hydrant`, `exit`, `aed`, `water-tank`, `parking-space` and `gate`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct PoiKind(String);

impl PoiKind {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for PoiKind {
    type Error = String;
    fn try_from(kind: String) -> Result<Self, String> {
        if crate::caps::is_slug(&kind, 64) {
            Ok(Self(kind))
        } else {
            Err(format!(
                "{kind:?} is not a point-of-interest kind: 1-64 characters of a-z, 0-9 or '-'"
            ))
        }
    }
}

impl From<PoiKind> for String {
    fn from(kind: PoiKind) -> String {
        kind.0
    }
}
