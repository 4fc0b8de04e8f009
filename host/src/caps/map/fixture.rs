//! Small maps for the capabilities' own tests, written as the GeoJSON an
//! admin imports, so a test says its places and people in a few lines.

use serde_json::{json, Value};

use super::geojson::parse_collection;
use super::model::CommunityMap;
use super::split;

/// A place feature without geometry.
pub fn place(id: &str, kind: &str, parent: Option<&str>) -> Value {
    json!({"type": "Feature", "id": id, "geometry": null,
        "properties": {"kind": kind, "name": id, "parent": parent}})
}

/// A person feature with `links` (`[{kind, target}]`).
pub fn person(id: &str, links: Value) -> Value {
    json!({"type": "Feature", "id": id, "geometry": null,
        "properties": {"kind": "person", "name": id, "links": links}})
}

/// The map of `features`, which must be valid.
pub fn map(features: Vec<Value>) -> CommunityMap {
    let features =
        parse_collection(&json!({"type": "FeatureCollection", "features": features})).unwrap();
    let (places, people) = split(features);
    CommunityMap::new(places, people)
}
