//! The simulated community map: places and people read from the same
//! GeoJSON `FeatureCollection` the host's map import takes
//! (`PUT /api/v1/communities/{c}/map`), and the queries `map` answers.
//!
//! A feature is a place (`properties.kind` one of grid-cell, building,
//! floor, unit, household, poi) or a person (`kind = "person"`, no
//! geometry, with `links`, `roles`, `skills`, `birth_year` and `consents`).
//! `consents` lists the purposes a person consents to, as
//! [`Purpose::name`] spells them: the simulator's shortcut for the consent
//! records a community keeps on the host (who gave it, when, the text
//! shown), which reach plugins only as `person.consents`. References
//! are checked as the host checks them, so a test map the host would refuse
//! is refused here too. Distances use the same plane tangent at the
//! community's latitude as the host's spatial index; a polygon's point is
//! the mean of its outer ring's vertices, close to the host's centroid for
//! the small shapes of a test map.

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_json::Value;

use crate::map::{
    CommunityRole, Link, LinkKind, Origin, Person, Place, PlaceDistance, PlaceKind, Relation,
    RoleAssignment,
};
use crate::{Error, GeoPoint, Purpose};

/// Mean Earth radius in metres (IUGG), as the host's index uses it.
const EARTH_RADIUS_M: f64 = 6_371_008.8;

/// The kinds of place, top down, with their names in GeoJSON.
const PLACE_KINDS: [(&str, PlaceKind); 6] = [
    ("grid-cell", PlaceKind::GridCell),
    ("building", PlaceKind::Building),
    ("floor", PlaceKind::Floor),
    ("unit", PlaceKind::Unit),
    ("household", PlaceKind::Household),
    ("poi", PlaceKind::Poi),
];

/// A community map in memory.
#[derive(Clone, Default)]
pub(crate) struct CommunityMap {
    places: BTreeMap<String, Place>,
    people: BTreeMap<String, Person>,
}

/// A feature's properties, for every kind.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Properties {
    kind: String,
    name: String,
    parent: Option<String>,
    poi_kind: Option<String>,
    level: Option<i32>,
    exclusive_area_m2: Option<f64>,
    #[serde(default)]
    attributes: BTreeMap<String, String>,
    birth_year: Option<i32>,
    #[serde(default)]
    links: Vec<LinkJson>,
    #[serde(default)]
    roles: Vec<RoleJson>,
    #[serde(default)]
    skills: Vec<String>,
    #[serde(default)]
    consents: Vec<String>,
    /// How the host reaches the person; plugins never see it.
    #[allow(dead_code)]
    contact: Option<Value>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct LinkJson {
    kind: String,
    target: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RoleJson {
    role: String,
    scope: Option<String>,
}

/// The community role named as in GeoJSON and the API.
pub(crate) fn community_role(name: &str) -> Option<CommunityRole> {
    Some(match name {
        "volunteer" => CommunityRole::Volunteer,
        "grid-worker" => CommunityRole::GridWorker,
        "property-staff" => CommunityRole::PropertyStaff,
        "community-doctor" => CommunityRole::CommunityDoctor,
        "security" => CommunityRole::Security,
        "owners-committee" => CommunityRole::OwnersCommittee,
        _ => return None,
    })
}

fn link_kind(name: &str) -> Option<LinkKind> {
    Some(match name {
        "resident-of" => LinkKind::ResidentOf,
        "owner-of" => LinkKind::OwnerOf,
        "family-of" => LinkKind::FamilyOf,
        _ => return None,
    })
}

/// A place's representative point: its Point, or the mean of its outer
/// ring's vertices (of every polygon's, for a MultiPolygon).
fn point_of(geometry: &Value) -> Result<Option<GeoPoint>, String> {
    if geometry.is_null() {
        return Ok(None);
    }
    let coordinates = &geometry["coordinates"];
    let position = |p: &Value| -> Result<GeoPoint, String> {
        match (
            p.get(0).and_then(Value::as_f64),
            p.get(1).and_then(Value::as_f64),
        ) {
            (Some(lon), Some(lat))
                if (-90.0..=90.0).contains(&lat) && (-180.0..=180.0).contains(&lon) =>
            {
                Ok(GeoPoint { lat, lon })
            }
            _ => Err(format!("{p} is not a [longitude, latitude] position")),
        }
    };
    let rings: Vec<&Value> = match geometry["type"].as_str() {
        Some("Point") => return position(coordinates).map(Some),
        Some("Polygon") => coordinates.get(0).into_iter().collect(),
        Some("MultiPolygon") => coordinates
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|polygon| polygon.get(0))
            .collect(),
        other => {
            return Err(format!(
                "{other:?} geometry: a place takes a Point, Polygon or MultiPolygon"
            ))
        }
    };
    let points = rings
        .into_iter()
        .flat_map(|ring| ring.as_array().into_iter().flatten())
        .map(position)
        .collect::<Result<Vec<_>, _>>()?;
    if points.is_empty() {
        return Err("a polygon needs positions".to_owned());
    }
    let n = points.len() as f64;
    Ok(Some(GeoPoint {
        lat: points.iter().map(|p| p.lat).sum::<f64>() / n,
        lon: points.iter().map(|p| p.lon).sum::<f64>() / n,
    }))
}

impl CommunityMap {
    /// Reads a GeoJSON FeatureCollection of places and people; the error
    /// names the first feature the host would refuse and why.
    pub fn from_geojson(body: &Value) -> Result<Self, String> {
        if body["type"] != "FeatureCollection" {
            return Err("expected a GeoJSON FeatureCollection".to_owned());
        }
        let features = body["features"]
            .as_array()
            .ok_or("features: expected an array")?;
        let mut map = CommunityMap::default();
        for (index, feature) in features.iter().enumerate() {
            map.add_feature(feature)
                .map_err(|e| format!("features[{index}]: {e}"))?;
        }
        map.check_references()?;
        Ok(map)
    }

    fn add_feature(&mut self, feature: &Value) -> Result<(), String> {
        let id = feature["id"]
            .as_str()
            .ok_or("every feature needs a string id")?
            .to_owned();
        if self.places.contains_key(&id) || self.people.contains_key(&id) {
            return Err(format!("{id} is the id of an earlier feature"));
        }
        let p: Properties = serde_json::from_value(feature["properties"].clone())
            .map_err(|e| format!("properties: {e}"))?;
        let geometry = feature.get("geometry").unwrap_or(&Value::Null);
        if p.kind == "person" {
            if !geometry.is_null() {
                return Err("a person has no geometry (null); place them with links".to_owned());
            }
            let links = p
                .links
                .into_iter()
                .map(|l| {
                    link_kind(&l.kind)
                        .map(|kind| Link {
                            kind,
                            target: l.target,
                        })
                        .ok_or(format!("{:?} is not a link kind", l.kind))
                })
                .collect::<Result<_, _>>()?;
            let roles = p
                .roles
                .into_iter()
                .map(|r| {
                    community_role(&r.role)
                        .map(|role| RoleAssignment {
                            role,
                            scope: r.scope,
                        })
                        .ok_or(format!("{:?} is not a community role", r.role))
                })
                .collect::<Result<_, _>>()?;
            let consents = p
                .consents
                .iter()
                .map(|name| Purpose::from_name(name).ok_or(format!("{name:?} is not a purpose")))
                .collect::<Result<_, _>>()?;
            let person = Person {
                id: id.clone(),
                name: p.name,
                birth_year: p.birth_year,
                links,
                roles,
                skills: p.skills,
                consents,
            };
            self.people.insert(id, person);
            return Ok(());
        }
        let kind = PLACE_KINDS
            .iter()
            .find(|(name, _)| *name == p.kind)
            .map(|(_, kind)| *kind)
            .ok_or(format!(
                "{:?} is not a kind; expected person or a place kind",
                p.kind
            ))?;
        if (kind == PlaceKind::Poi) != p.poi_kind.is_some() {
            return Err("a poi, and only a poi, has a poi_kind".to_owned());
        }
        let point = point_of(geometry)?;
        if kind == PlaceKind::Poi && point.is_none() {
            return Err("a poi needs a Point geometry".to_owned());
        }
        let place = Place {
            id: id.clone(),
            kind,
            name: p.name,
            parent: p.parent,
            poi_kind: p.poi_kind,
            point,
            level: p.level,
            exclusive_area_m2: p.exclusive_area_m2,
            attributes: p.attributes.into_iter().collect(),
        };
        self.places.insert(id, place);
        Ok(())
    }

    /// Parents exist and may hold their children; links and role scopes name what they should.
    fn check_references(&self) -> Result<(), String> {
        for place in self.places.values() {
            let allowed: &[PlaceKind] = match place.kind {
                PlaceKind::GridCell => &[],
                PlaceKind::Building => &[PlaceKind::GridCell],
                PlaceKind::Floor => &[PlaceKind::Building],
                PlaceKind::Unit => &[PlaceKind::Floor],
                PlaceKind::Household => &[PlaceKind::Unit],
                PlaceKind::Poi => &[
                    PlaceKind::GridCell,
                    PlaceKind::Building,
                    PlaceKind::Floor,
                    PlaceKind::Unit,
                ],
            };
            let top_level = matches!(
                place.kind,
                PlaceKind::GridCell | PlaceKind::Building | PlaceKind::Poi
            );
            let fits = match &place.parent {
                None => top_level,
                Some(parent) => self
                    .places
                    .get(parent)
                    .is_some_and(|p| allowed.contains(&p.kind)),
            };
            if !fits {
                return Err(format!(
                    "place {}: parent {:?} cannot hold it",
                    place.id, place.parent
                ));
            }
        }
        for person in self.people.values() {
            for link in &person.links {
                let fits = match link.kind {
                    LinkKind::ResidentOf => {
                        self.kind_of(&link.target) == Some(PlaceKind::Household)
                    }
                    LinkKind::OwnerOf => self.kind_of(&link.target) == Some(PlaceKind::Unit),
                    LinkKind::FamilyOf => self.people.contains_key(&link.target),
                };
                if !fits {
                    return Err(format!(
                        "person {}: link to {} does not fit",
                        person.id, link.target
                    ));
                }
            }
            if let Some(role) = person.roles.iter().find(|r| {
                r.scope
                    .as_ref()
                    .is_some_and(|s| !self.places.contains_key(s))
            }) {
                return Err(format!(
                    "person {}: role scope {:?} is not a place",
                    person.id, role.scope
                ));
            }
        }
        Ok(())
    }

    fn kind_of(&self, id: &str) -> Option<PlaceKind> {
        self.places.get(id).map(|p| p.kind)
    }

    /// The place `id`, if the map has it.
    pub fn place(&self, id: &str) -> Option<&Place> {
        self.places.get(id)
    }

    fn existing(&self, id: &str) -> Result<&Place, Error> {
        self.places
            .get(id)
            .ok_or_else(|| Error::NotFound(format!("no place {id} in the map")))
    }

    pub fn get(&self, id: &str) -> Result<Place, Error> {
        self.existing(id).cloned()
    }

    pub fn children(&self, id: Option<&str>) -> Result<Vec<Place>, Error> {
        if let Some(id) = id {
            self.existing(id)?;
        }
        Ok(self
            .places
            .values()
            .filter(|p| p.parent.as_deref() == id)
            .cloned()
            .collect())
    }

    pub fn ancestors(&self, id: &str) -> Result<Vec<Place>, Error> {
        let mut next = self.existing(id)?.parent.as_deref();
        let mut found = Vec::new();
        while let Some(parent) = next.and_then(|p| self.places.get(p)) {
            found.push(parent.clone());
            next = parent.parent.as_deref();
        }
        Ok(found)
    }

    /// Whether `id` is `scope` or lies under it.
    pub fn is_within(&self, id: &str, scope: &str) -> bool {
        let mut next = Some(id);
        while let Some(current) = next {
            if current == scope {
                return true;
            }
            next = self.places.get(current).and_then(|p| p.parent.as_deref());
        }
        false
    }

    /// Everything under `id`, depth first in id order, kept by `keep`.
    pub fn descendants(
        &self,
        id: &str,
        keep: impl Fn(&Place) -> bool,
    ) -> Result<Vec<Place>, Error> {
        self.existing(id)?;
        let mut found = Vec::new();
        let mut stack = vec![id.to_owned()];
        while let Some(current) = stack.pop() {
            let children = self.children(Some(&current))?;
            stack.extend(children.iter().rev().map(|c| c.id.clone()));
            if current != id && keep(&self.places[&current]) {
                found.push(self.places[&current].clone());
            }
        }
        Ok(found)
    }

    fn origin_point(&self, origin: &Origin) -> Result<GeoPoint, Error> {
        match origin {
            Origin::Point(point) => Ok(*point),
            Origin::Place(id) => std::iter::once(self.existing(id)?.clone())
                .chain(self.ancestors(id)?)
                .find_map(|p| p.point)
                .ok_or_else(|| {
                    Error::Invalid(format!(
                        "place {id} and the places above it have no geometry"
                    ))
                }),
        }
    }

    /// Metres between two points on the plane tangent at the community's latitude.
    fn distance_m(&self, a: GeoPoint, b: GeoPoint) -> f64 {
        let reference = self
            .places
            .values()
            .find_map(|p| p.point)
            .map_or(0.0, |p| p.lat);
        let per_degree = EARTH_RADIUS_M.to_radians();
        let dx = (a.lon - b.lon) * per_degree * reference.to_radians().cos();
        let dy = (a.lat - b.lat) * per_degree;
        (dx * dx + dy * dy).sqrt()
    }

    /// Points of interest of `poi_kind`, nearest to `origin` first.
    pub fn by_distance(
        &self,
        poi_kind: &str,
        origin: &Origin,
    ) -> Result<Vec<PlaceDistance>, Error> {
        let from = self.origin_point(origin)?;
        let mut found: Vec<PlaceDistance> = self
            .places
            .values()
            .filter(|p| p.poi_kind.as_deref() == Some(poi_kind))
            .filter_map(|p| {
                p.point.map(|at| PlaceDistance {
                    place: p.clone(),
                    distance_m: self.distance_m(from, at),
                })
            })
            .collect();
        found.sort_by(|a, b| a.distance_m.total_cmp(&b.distance_m));
        Ok(found)
    }

    /// One person of the map.
    pub fn person(&self, id: &str) -> Option<&Person> {
        self.people.get(id)
    }

    /// Replaces what `id` consents to; `false` when the map has no such person.
    pub fn set_consents(&mut self, id: &str, consents: &[Purpose]) -> bool {
        let Some(person) = self.people.get_mut(id) else {
            return false;
        };
        person.consents = consents.to_vec();
        true
    }

    /// Takes the person off the map, with the family links others had to
    /// them; `false` when the map has no such person.
    pub fn erase_person(&mut self, id: &str) -> bool {
        if self.people.remove(id).is_none() {
            return false;
        }
        for person in self.people.values_mut() {
            person
                .links
                .retain(|l| !(l.kind == LinkKind::FamilyOf && l.target == id));
        }
        true
    }

    /// The people living at `place` or under it: the residents a presence
    /// reading from a device there is about, when it is a unit or a household.
    pub fn living_at(&self, place: &str) -> Vec<&Person> {
        if !matches!(
            self.kind_of(place),
            Some(PlaceKind::Unit | PlaceKind::Household)
        ) {
            return Vec::new();
        }
        self.people
            .values()
            .filter(|person| {
                person
                    .links
                    .iter()
                    .any(|l| l.kind == LinkKind::ResidentOf && self.is_within(&l.target, place))
            })
            .collect()
    }

    /// The people tied to `scope` by `relation`, by id, as `map.people` finds them.
    pub fn related(&self, relation: Relation, scope: Option<&str>) -> Result<Vec<Person>, Error> {
        let place_scope = |scope: Option<&str>| -> Result<Option<String>, Error> {
            scope
                .map(|s| self.existing(s).map(|p| p.id.clone()))
                .transpose()
        };
        let matches: Box<dyn Fn(&Person) -> bool> = match relation {
            Relation::Resident | Relation::Owner => {
                let scope = place_scope(scope)?.ok_or_else(|| {
                    Error::Invalid("residents and owners need a place as scope".to_owned())
                })?;
                let wanted = match relation {
                    Relation::Resident => LinkKind::ResidentOf,
                    _ => LinkKind::OwnerOf,
                };
                Box::new(move |person: &Person| {
                    person
                        .links
                        .iter()
                        .any(|l| l.kind == wanted && self.is_within(&l.target, &scope))
                })
            }
            Relation::Family => {
                let of = scope
                    .filter(|id| self.people.contains_key(*id))
                    .ok_or_else(|| {
                        Error::NotFound(format!(
                            "family needs a person of the map as scope, not {scope:?}"
                        ))
                    })?
                    .to_owned();
                Box::new(move |person: &Person| {
                    person
                        .links
                        .iter()
                        .any(|l| l.kind == LinkKind::FamilyOf && l.target == of)
                })
            }
            Relation::Role(role) => {
                let scope = place_scope(scope)?;
                Box::new(move |person: &Person| {
                    person.roles.iter().any(|held| {
                        held.role == role
                            && match (&scope, &held.scope) {
                                (None, _) | (Some(_), None) => true,
                                (Some(asked), Some(covered)) => self.is_within(asked, covered),
                            }
                    })
                })
            }
        };
        Ok(self
            .people
            .values()
            .filter(|p| matches(p))
            .cloned()
            .collect())
    }
}
