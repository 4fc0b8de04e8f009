//! The map as GeoJSON: a `FeatureCollection` whose features are places and
//! people (the property schema is in `docs/architecture.md`, "Map").
//!
//! Parsing checks every feature on its own (id, kind, the fields its kind
//! takes, geometry: WGS 84 ranges and validity such as rings that cross
//! themselves) and then every reference between features (parents, links,
//! role scopes), collecting *every* problem with its feature index and
//! field, so an import can be fixed in one round. Export writes the same
//! schema, so a map exported and imported again is the same map.

use std::collections::{BTreeMap, HashMap};

use geo::{Centroid, Validation};
use geojson::{Feature, FeatureCollection, GeometryValue};
use serde::Deserialize;
use serde_json::{json, Map, Value};

use super::model::{
    check_point, CommunityMap, Contact, GeoPoint, Known, Link, Person, Place, PlaceKind, PoiKind,
    RoleAssignment,
};
use crate::ids::{PersonId, PlaceId};
use crate::validation::ItemError;

/// Longest place or person name, in bytes.
const MAX_NAME_BYTES: usize = 200;
/// Most features in one map.
pub const MAX_FEATURES: usize = 200_000;
/// Most positions in one Polygon or MultiPolygon. Checking that rings do not
/// cross themselves takes time quadratic in their vertices (about 125 ms at
/// this size on the reference machine, 50 s at 20,000); a building's or a
/// grid cell's outline needs tens to hundreds.
pub const MAX_VERTICES_PER_GEOMETRY: usize = 1_000;
/// Most polygon positions in one map.
pub const MAX_VERTICES_PER_MAP: usize = 100_000;
/// How long checking one map may take before it is refused. The caps above
/// keep a map well inside it; this is the backstop.
pub const VALIDATION_BUDGET: std::time::Duration = std::time::Duration::from_secs(30);

/// The positions of a feature's Polygon or MultiPolygon geometry as sent
/// (0 for points, other types and no geometry), counted on the raw JSON so
/// that an oversized shape is refused before anything is built from it.
fn polygon_vertices(feature: &Value) -> usize {
    fn positions(value: &Value) -> usize {
        match value {
            Value::Array(items) if items.first().is_some_and(Value::is_number) => 1,
            Value::Array(items) => items.iter().map(positions).sum(),
            _ => 0,
        }
    }
    let geometry = feature.get("geometry");
    match geometry.and_then(|g| g.get("type")).and_then(Value::as_str) {
        Some("Polygon" | "MultiPolygon") => geometry
            .and_then(|g| g.get("coordinates"))
            .map_or(0, positions),
        _ => 0,
    }
}

/// A feature of the map: a place or a person.
#[derive(Debug, Clone, PartialEq)]
pub enum MapFeature {
    Place(Place),
    Person(Person),
}

impl MapFeature {
    pub fn id(&self) -> &str {
        match self {
            MapFeature::Place(p) => p.id.as_str(),
            MapFeature::Person(p) => p.id.as_str(),
        }
    }

    fn known(&self) -> Known {
        match self {
            MapFeature::Place(p) => Known::Place(p.kind),
            MapFeature::Person(_) => Known::Person,
        }
    }
}

/// Why a body is not a map.
#[derive(Debug, Clone, PartialEq)]
pub enum Rejected {
    /// The body as a whole is not a GeoJSON FeatureCollection.
    NotACollection(String),
    /// These features are invalid.
    Features(Vec<ItemError>),
}

/// The properties of a feature, for every kind; what a kind does not take must be absent.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Properties {
    kind: String,
    name: Option<String>,
    parent: Option<PlaceId>,
    poi_kind: Option<PoiKind>,
    level: Option<i32>,
    exclusive_area_m2: Option<f64>,
    attributes: Option<BTreeMap<String, String>>,
    birth_year: Option<i32>,
    links: Option<Vec<Link>>,
    roles: Option<Vec<RoleAssignment>>,
    skills: Option<Vec<String>>,
    contact: Option<Contact>,
}

/// Reads a whole collection and checks it, references included.
pub fn parse_collection(body: &Value) -> Result<Vec<MapFeature>, Rejected> {
    let features = match body {
        Value::Object(o) if o.get("type") == Some(&json!("FeatureCollection")) => o
            .get("features")
            .and_then(Value::as_array)
            .ok_or_else(|| Rejected::NotACollection("features: expected an array".to_owned()))?,
        _ => {
            return Err(Rejected::NotACollection(
                "expected a GeoJSON FeatureCollection".to_owned(),
            ))
        }
    };
    if features.len() > MAX_FEATURES {
        return Err(Rejected::NotACollection(format!(
            "features: at most {MAX_FEATURES} in one map"
        )));
    }
    let vertices: usize = features.iter().map(polygon_vertices).sum();
    if vertices > MAX_VERTICES_PER_MAP {
        return Err(Rejected::NotACollection(format!(
            "features: {vertices} polygon vertices; at most {MAX_VERTICES_PER_MAP} in one map"
        )));
    }
    let started = std::time::Instant::now();
    let mut errors = Vec::new();
    let mut parsed = Vec::new();
    for (index, feature) in features.iter().enumerate() {
        if started.elapsed() > VALIDATION_BUDGET {
            return Err(Rejected::NotACollection(format!(
                "features: checking the map took longer than {VALIDATION_BUDGET:?} (stopped at feature {index}); import it in parts"
            )));
        }
        match parse_feature(index, feature) {
            Ok(feature) => parsed.push((index, feature)),
            Err(mut e) => errors.append(&mut e),
        }
    }
    let mut known: HashMap<&str, Known> = HashMap::new();
    for (index, feature) in &parsed {
        if known.insert(feature.id(), feature.known()).is_some() {
            errors.push(ItemError::new(
                *index,
                "id",
                format!("{} is the id of an earlier feature", feature.id()),
            ));
        }
    }
    let lookup = |id: &str| known.get(id).copied();
    for (index, feature) in &parsed {
        errors.extend(check_references(*index, feature, &lookup));
    }
    if errors.is_empty() {
        Ok(parsed.into_iter().map(|(_, f)| f).collect())
    } else {
        errors.sort_by_key(|e| e.index);
        Err(Rejected::Features(errors))
    }
}

/// Reads one feature and checks what it holds on its own (not its references).
pub fn parse_feature(index: usize, value: &Value) -> Result<MapFeature, Vec<ItemError>> {
    let error = |field: &str, message: String| ItemError::new(index, field, message);
    let vertices = polygon_vertices(value);
    if vertices > MAX_VERTICES_PER_GEOMETRY {
        return Err(vec![error(
            "geometry",
            format!("{vertices} vertices; a Polygon or MultiPolygon takes at most {MAX_VERTICES_PER_GEOMETRY}"),
        )]);
    }
    let feature: Feature = serde_json::from_value(value.clone())
        .map_err(|e| vec![error("", format!("not a GeoJSON Feature: {e}"))])?;
    let mut errors = Vec::new();
    let id = match &feature.id {
        Some(geojson::feature::Id::String(id)) => Some(id.clone()),
        _ => {
            errors.push(error("id", "every feature needs a string id".to_owned()));
            None
        }
    };
    let properties = Value::Object(feature.properties.clone().unwrap_or_default());
    let properties: Properties = serde_path_to_error::deserialize(properties).map_err(|e| {
        let field = match e.path().to_string() {
            path if path == "." => "properties".to_owned(),
            path => format!("properties.{path}"),
        };
        let mut all = errors.clone();
        all.push(error(&field, e.into_inner().to_string()));
        all
    })?;
    let name = properties.name.clone().unwrap_or_default();
    if name.trim().is_empty() || name.len() > MAX_NAME_BYTES {
        errors.push(error(
            "properties.name",
            format!("a name of 1-{MAX_NAME_BYTES} bytes is needed"),
        ));
    }
    let parsed = if properties.kind == "person" {
        person(index, id, name, properties, &feature, &mut errors)
    } else {
        match PlaceKind::parse(&properties.kind) {
            Some(kind) => place(index, id, kind, name, properties, &feature, &mut errors),
            None => {
                errors.push(error(
                    "properties.kind",
                    format!(
                        "{:?} is not a kind; expected person or one of {}",
                        properties.kind,
                        PlaceKind::ALL.map(PlaceKind::as_str).join(", ")
                    ),
                ));
                None
            }
        }
    };
    match parsed {
        Some(feature) if errors.is_empty() => Ok(feature),
        _ => Err(errors),
    }
}

/// Fails for each field that `kind` does not take.
fn refuse_fields(index: usize, kind: &str, fields: &[(&str, bool)], errors: &mut Vec<ItemError>) {
    for (field, present) in fields {
        if *present {
            errors.push(ItemError::new(
                index,
                &format!("properties.{field}"),
                format!("a {kind} has no {field}"),
            ));
        }
    }
}

fn person(
    index: usize,
    id: Option<String>,
    name: String,
    p: Properties,
    feature: &Feature,
    errors: &mut Vec<ItemError>,
) -> Option<MapFeature> {
    refuse_fields(
        index,
        "person",
        &[
            ("parent", p.parent.is_some()),
            ("poi_kind", p.poi_kind.is_some()),
            ("level", p.level.is_some()),
            ("exclusive_area_m2", p.exclusive_area_m2.is_some()),
            ("attributes", p.attributes.is_some()),
        ],
        errors,
    );
    if feature.geometry.is_some() {
        errors.push(ItemError::new(
            index,
            "geometry",
            "a person has no geometry (null); place them with links",
        ));
    }
    if let Some(year) = p.birth_year.filter(|y| !(1880..=2200).contains(y)) {
        errors.push(ItemError::new(
            index,
            "properties.birth_year",
            format!("{year} is not a plausible birth year"),
        ));
    }
    let skills = p.skills.unwrap_or_default();
    if let Some(bad) = skills.iter().position(|s| s.is_empty() || s.len() > 64) {
        errors.push(ItemError::new(
            index,
            &format!("properties.skills[{bad}]"),
            "a skill is 1-64 bytes",
        ));
    }
    let id = id.and_then(|id| match id.parse::<PersonId>() {
        Ok(id) => Some(id),
        Err(e) => {
            errors.push(ItemError::new(index, "id", e.to_string()));
            None
        }
    })?;
    Some(MapFeature::Person(Person {
        id,
        name,
        birth_year: p.birth_year,
        links: p.links.unwrap_or_default(),
        roles: p.roles.unwrap_or_default(),
        skills,
        contact: p.contact.unwrap_or_default(),
    }))
}

fn place(
    index: usize,
    id: Option<String>,
    kind: PlaceKind,
    name: String,
    p: Properties,
    feature: &Feature,
    errors: &mut Vec<ItemError>,
) -> Option<MapFeature> {
    let error = |field: &str, message: String| ItemError::new(index, field, message);
    refuse_fields(
        index,
        kind.as_str(),
        &[
            ("birth_year", p.birth_year.is_some()),
            ("links", p.links.is_some()),
            ("roles", p.roles.is_some()),
            ("skills", p.skills.is_some()),
            ("contact", p.contact.is_some()),
            ("poi_kind", p.poi_kind.is_some() && kind != PlaceKind::Poi),
            ("level", p.level.is_some() && kind != PlaceKind::Floor),
            (
                "exclusive_area_m2",
                p.exclusive_area_m2.is_some() && kind != PlaceKind::Unit,
            ),
        ],
        errors,
    );
    if kind == PlaceKind::Poi && p.poi_kind.is_none() {
        errors.push(error(
            "properties.poi_kind",
            "a poi needs a poi_kind (hydrant, exit, aed, water-tank, parking-space, gate, ...)"
                .to_owned(),
        ));
    }
    if let Some(area) = p
        .exclusive_area_m2
        .filter(|a| !(a.is_finite() && *a > 0.0 && *a < 1e6))
    {
        errors.push(error(
            "properties.exclusive_area_m2",
            format!("{area} is not an area in m²: expected a number above 0"),
        ));
    }
    let attributes = p.attributes.unwrap_or_default();
    check_attributes(index, &attributes, errors);
    let point = geometry_point(kind, feature.geometry.as_ref()).unwrap_or_else(|message| {
        errors.push(error("geometry", message));
        None
    });
    let id = id.and_then(|id| match id.parse::<PlaceId>() {
        Ok(id) => Some(id),
        Err(e) => {
            errors.push(error("id", e.to_string()));
            None
        }
    })?;
    Some(MapFeature::Place(Place {
        id,
        kind,
        name,
        parent: p.parent,
        poi_kind: p.poi_kind,
        level: p.level,
        exclusive_area_m2: p.exclusive_area_m2,
        attributes,
        geometry: feature.geometry.clone(),
        point,
    }))
}

/// Most attributes one place carries.
pub const MAX_ATTRIBUTES: usize = 32;
/// Longest attribute value, in characters.
pub const MAX_ATTRIBUTE_CHARS: usize = 256;

/// Checks a place's `attributes`: at most [`MAX_ATTRIBUTES`], names spelled
/// as slugs, values at most [`MAX_ATTRIBUTE_CHARS`] characters.
fn check_attributes(
    index: usize,
    attributes: &BTreeMap<String, String>,
    errors: &mut Vec<ItemError>,
) {
    if attributes.len() > MAX_ATTRIBUTES {
        errors.push(ItemError::new(
            index,
            "properties.attributes",
            format!("{} attributes; at most {MAX_ATTRIBUTES}", attributes.len()),
        ));
    }
    for (name, value) in attributes {
        let field = format!("properties.attributes.{name}");
        if !crate::caps::is_slug(name, 64) {
            errors.push(ItemError::new(
                index,
                &field,
                "an attribute's name is 1-64 characters of a-z, 0-9 or '-'",
            ));
        } else if value.chars().count() > MAX_ATTRIBUTE_CHARS {
            errors.push(ItemError::new(
                index,
                &field,
                format!("at most {MAX_ATTRIBUTE_CHARS} characters"),
            ));
        }
    }
}

/// Checks a place's geometry and finds its representative point.
fn geometry_point(
    kind: PlaceKind,
    geometry: Option<&geojson::Geometry>,
) -> Result<Option<GeoPoint>, String> {
    let Some(geometry) = geometry else {
        return if kind == PlaceKind::Poi {
            Err("a poi needs a Point geometry".to_owned())
        } else {
            Ok(None)
        };
    };
    let allowed = match (&geometry.value, kind) {
        (GeometryValue::Point { .. }, _) => true,
        (GeometryValue::Polygon { .. } | GeometryValue::MultiPolygon { .. }, k) => {
            k != PlaceKind::Poi
        }
        _ => false,
    };
    if !allowed {
        return Err(format!(
            "a {} takes a Point{} geometry",
            kind.as_str(),
            if kind == PlaceKind::Poi {
                ""
            } else {
                ", Polygon or MultiPolygon"
            }
        ));
    }
    let shape = geo::Geometry::<f64>::try_from(geometry.clone()).map_err(|e| e.to_string())?;
    let mut coordinates = geo::CoordsIter::coords_iter(&shape);
    if let Some(bad) = coordinates.find_map(|c| check_point(GeoPoint { lat: c.y, lon: c.x }).err())
    {
        return Err(format!(
            "{bad} (GeoJSON positions are [longitude, latitude])"
        ));
    }
    if let Err(invalid) = shape.check_validation() {
        return Err(format!("invalid {}: {invalid}", kind.as_str()));
    }
    Ok(shape.centroid().map(|c| GeoPoint {
        lat: c.y(),
        lon: c.x(),
    }))
}

/// Checks what `feature` refers to (parent, link targets, role scopes)
/// against `lookup`, which names what every id in the map is.
pub fn check_references(
    index: usize,
    feature: &MapFeature,
    lookup: &dyn Fn(&str) -> Option<Known>,
) -> Vec<ItemError> {
    let mut errors = Vec::new();
    let check = |field: String, target: &str, wanted: &[Known], what: &str| {
        let message = match lookup(target) {
            Some(found) if wanted.contains(&found) => return None,
            Some(_) => format!("{target} is not {what}"),
            None => format!("{target} is not in the map"),
        };
        Some(ItemError::new(index, &field, message))
    };
    match feature {
        MapFeature::Place(place) => {
            let (parents, top_level) = place.kind.allowed_parents();
            let wanted: Vec<Known> = parents.iter().map(|k| Known::Place(*k)).collect();
            let what = format!(
                "a place a {} can be in ({})",
                place.kind.as_str(),
                parents
                    .iter()
                    .map(|k| k.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            );
            match &place.parent {
                Some(parent) => errors.extend(check(
                    "properties.parent".into(),
                    parent.as_str(),
                    &wanted,
                    &what,
                )),
                None if !top_level => errors.push(ItemError::new(
                    index,
                    "properties.parent",
                    format!("a {} needs a parent: {what}", place.kind.as_str()),
                )),
                None => {}
            }
        }
        MapFeature::Person(person) => {
            for (i, link) in person.links.iter().enumerate() {
                let field = format!("properties.links[{i}].target");
                let problem = match link {
                    Link::ResidentOf(h) => check(
                        field,
                        h.as_str(),
                        &[Known::Place(PlaceKind::Household)],
                        "a household",
                    ),
                    Link::OwnerOf(u) => check(
                        field,
                        u.as_str(),
                        &[Known::Place(PlaceKind::Unit)],
                        "a unit",
                    ),
                    Link::FamilyOf(p) if *p == person.id => Some(ItemError::new(
                        index,
                        &field,
                        "a person is not family of themselves",
                    )),
                    Link::FamilyOf(p) => check(field, p.as_str(), &[Known::Person], "a person"),
                };
                errors.extend(problem);
            }
            let places: Vec<Known> = PlaceKind::ALL.map(Known::Place).to_vec();
            for (i, role) in person.roles.iter().enumerate() {
                if let Some(scope) = &role.scope {
                    errors.extend(check(
                        format!("properties.roles[{i}].scope"),
                        scope.as_str(),
                        &places,
                        "a place",
                    ));
                }
            }
        }
    }
    errors
}

/// A place as a GeoJSON feature.
pub fn place_feature(place: &Place) -> Feature {
    let mut properties = Map::new();
    properties.insert("kind".into(), json!(place.kind.as_str()));
    properties.insert("name".into(), json!(place.name));
    let optional = [
        ("parent", place.parent.as_ref().map(|p| json!(p))),
        ("poi_kind", place.poi_kind.as_ref().map(|k| json!(k))),
        ("level", place.level.map(|l| json!(l))),
        (
            "exclusive_area_m2",
            place.exclusive_area_m2.map(|a| json!(a)),
        ),
        (
            "attributes",
            (!place.attributes.is_empty()).then(|| json!(place.attributes)),
        ),
    ];
    for (key, value) in optional {
        if let Some(value) = value {
            properties.insert(key.into(), value);
        }
    }
    feature(place.id.as_str(), place.geometry.clone(), properties)
}

/// A person as a GeoJSON feature, contact details included: for the API, never for plugins.
pub fn person_feature(person: &Person) -> Feature {
    let mut feature = person_feature_without_contact(person);
    if let Some(properties) = feature.properties.as_mut() {
        properties.insert("contact".into(), json!(person.contact));
    }
    feature
}

/// A person as a GeoJSON feature without contact details: what a plugin
/// may know of them, and so all that may leave the host with a plugin's data.
pub fn person_feature_without_contact(person: &Person) -> Feature {
    let mut properties = Map::new();
    properties.insert("kind".into(), json!("person"));
    properties.insert("name".into(), json!(person.name));
    if let Some(year) = person.birth_year {
        properties.insert("birth_year".into(), json!(year));
    }
    properties.insert("links".into(), json!(person.links));
    properties.insert("roles".into(), json!(person.roles));
    properties.insert("skills".into(), json!(person.skills));
    feature(person.id.as_str(), None, properties)
}

fn feature(
    id: &str,
    geometry: Option<geojson::Geometry>,
    properties: Map<String, Value>,
) -> Feature {
    Feature {
        bbox: None,
        geometry,
        id: Some(geojson::feature::Id::String(id.to_owned())),
        properties: Some(properties),
        foreign_members: None,
    }
}

/// The whole map as a collection: places top-down, then people.
pub fn export(map: &CommunityMap) -> FeatureCollection {
    collection(map, Some(person_feature))
}

/// The map as a plugin sees it: its places, and its people without contact
/// details when `people` (the `map.people` grant) allows them.
pub fn export_as_plugin_sees(map: &CommunityMap, people: bool) -> FeatureCollection {
    collection(
        map,
        people.then_some(person_feature_without_contact as fn(&Person) -> Feature),
    )
}

fn collection(map: &CommunityMap, people: Option<fn(&Person) -> Feature>) -> FeatureCollection {
    let features = map
        .places()
        .into_iter()
        .map(place_feature)
        .chain(
            people
                .into_iter()
                .flat_map(|person| map.people().map(person)),
        )
        .collect();
    FeatureCollection {
        bbox: None,
        features,
        foreign_members: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn collection(features: Vec<Value>) -> Value {
        json!({"type": "FeatureCollection", "features": features})
    }

    fn building(id: &str, ring: Value) -> Value {
        json!({"type": "Feature", "id": id,
               "geometry": {"type": "Polygon", "coordinates": [ring]},
               "properties": {"kind": "building", "name": id}})
    }

    fn square() -> Value {
        json!([
            [121.40, 31.20],
            [121.401, 31.20],
            [121.401, 31.201],
            [121.40, 31.201],
            [121.40, 31.20]
        ])
    }

    #[test]
    fn every_invalid_feature_is_reported_with_its_field() {
        let bow_tie = json!([
            [121.40, 31.20],
            [121.401, 31.201],
            [121.401, 31.20],
            [121.40, 31.201],
            [121.40, 31.20]
        ]);
        let body = collection(vec![
            building("b1", square()),
            building("b2", bow_tie),
            json!({"type": "Feature", "id": "f1", "geometry": null,
                   "properties": {"kind": "floor", "name": "1F", "parent": "b9", "level": 1}}),
            json!({"type": "Feature", "id": "p1", "geometry": null,
                   "properties": {"kind": "person", "name": "Li", "links": [{"kind": "resident-of", "target": "b1"}],
                                  "contact": {"phone": "+86 138 0000 0000"}}}),
            json!({"type": "Feature", "id": "h1", "geometry": null,
                   "properties": {"kind": "hydrant", "name": "H"}}),
        ]);
        let Err(Rejected::Features(errors)) = parse_collection(&body) else {
            panic!("the collection is invalid")
        };
        let found: Vec<(usize, &str)> =
            errors.iter().map(|e| (e.index, e.field.as_str())).collect();
        assert_eq!(
            found,
            [
                (1, "geometry"),
                (2, "properties.parent"),
                (3, "properties.links[0].target"),
                (4, "properties.kind")
            ],
            "{errors:?}"
        );
        assert!(
            errors[0].message.contains("self-intersection"),
            "{errors:?}"
        );
    }

    #[test]
    fn an_exported_map_reads_back_the_same() {
        let body = collection(vec![
            building("b1", square()),
            json!({"type": "Feature", "id": "f1", "geometry": null,
                   "properties": {"kind": "floor", "name": "1F", "parent": "b1", "level": 1}}),
            json!({"type": "Feature", "id": "exit-1", "geometry": {"type": "Point", "coordinates": [121.4, 31.2]},
                   "properties": {"kind": "poi", "poi_kind": "exit", "name": "Exit", "parent": "f1"}}),
        ]);
        let features = parse_collection(&body).unwrap();
        let (places, people) = super::super::split(features);
        let map = CommunityMap::new(places, people);
        let exported = serde_json::to_value(export(&map)).unwrap();
        let again = parse_collection(&exported).unwrap();
        let (places, people) = super::super::split(again);
        let map_again = CommunityMap::new(places, people);
        assert_eq!(exported, serde_json::to_value(export(&map_again)).unwrap());
        let b1 = map.place(&"b1".parse().unwrap()).unwrap();
        let centre = b1.point.unwrap();
        assert!((centre.lat - 31.2005).abs() < 1e-9 && (centre.lon - 121.4005).abs() < 1e-9);
    }
}
