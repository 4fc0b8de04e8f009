//! The community twin in memory: places from grid cells down to households,
//! points of interest, people and their links and roles, with the queries
//! plugins and the API ask of it. Free of storage and of GeoJSON: [`super::geojson`]
//! turns features into these types, [`super::store`] keeps them.
//!
//! The hierarchy is fixed by [`PlaceKind::allowed_parents`] (the community
//! itself is the implicit root), so parent chains are at most five long and
//! can never loop. Points of interest are also kept in one R-tree per POI
//! kind ([`super::index::PoiIndex`]), updated as places change.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use serde::{Deserialize, Serialize};

use super::consents::ConsentBook;
use super::index::{PoiIndex, Projection};
use super::links::LinkIndex;
pub use super::point::{GeoPoint, PoiKind};
use crate::ids::{PersonId, PlaceId};

/// What a place is, from the top of the hierarchy down.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum PlaceKind {
    /// 网格: the area one grid worker looks after.
    GridCell,
    Building,
    Floor,
    /// A flat: what an owner owns and votes with.
    Unit,
    /// The people living together in a unit.
    Household,
    /// A point of interest: hydrant, exit, AED, water tank, parking space, gate, ...
    Poi,
}

impl PlaceKind {
    /// Every kind, top down.
    pub const ALL: [PlaceKind; 6] = [
        PlaceKind::GridCell,
        PlaceKind::Building,
        PlaceKind::Floor,
        PlaceKind::Unit,
        PlaceKind::Household,
        PlaceKind::Poi,
    ];

    /// The kind's name, as in GeoJSON and the API.
    pub fn as_str(self) -> &'static str {
        match self {
            PlaceKind::GridCell => "grid-cell",
            PlaceKind::Building => "building",
            PlaceKind::Floor => "floor",
            PlaceKind::Unit => "unit",
            PlaceKind::Household => "household",
            PlaceKind::Poi => "poi",
        }
    }

    /// The kind named `name`.
    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == name)
    }

    /// The kinds a place of this kind may sit under, and whether it may sit
    /// directly under the community.
    pub fn allowed_parents(self) -> (&'static [PlaceKind], bool) {
        use PlaceKind::*;
        match self {
            GridCell => (&[], true),
            Building => (&[GridCell], true),
            Floor => (&[Building], false),
            Unit => (&[Floor], false),
            Household => (&[Unit], false),
            Poi => (&[GridCell, Building, Floor, Unit], true),
        }
    }

    /// Whether devices may be placed in places of this kind.
    pub fn holds_devices(self) -> bool {
        matches!(
            self,
            PlaceKind::Building | PlaceKind::Floor | PlaceKind::Unit | PlaceKind::Poi
        )
    }
}

/// One place of the map.
#[derive(Debug, Clone, PartialEq)]
pub struct Place {
    pub id: PlaceId,
    pub kind: PlaceKind,
    pub name: String,
    /// `None` for places directly under the community.
    pub parent: Option<PlaceId>,
    /// Set exactly for points of interest.
    pub poi_kind: Option<PoiKind>,
    /// A floor's number: 1 is the ground floor, negative numbers are below ground.
    pub level: Option<i32>,
    /// A unit's exclusive area (专有部分面积) in m², which owners' votes are weighed by.
    pub exclusive_area_m2: Option<f64>,
    /// What the community records of the place for scenes to read (a
    /// parking space's `class` and `owner`, say); the host gives them no
    /// meaning.
    pub attributes: std::collections::BTreeMap<String, String>,
    /// The geometry as imported (longitude, latitude), kept for export.
    pub geometry: Option<geojson::Geometry>,
    /// Where the place is: its point, or its footprint's centroid.
    pub point: Option<GeoPoint>,
}

/// How a person is tied to a place or to another person.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(tag = "kind", content = "target", rename_all = "kebab-case")]
pub enum Link {
    /// Lives in this household.
    #[schema(value_type = String)]
    ResidentOf(PlaceId),
    /// Owns this unit.
    #[schema(value_type = String)]
    OwnerOf(PlaceId),
    /// Is family of this person (a daughter is `family-of` her mother), whether
    /// or not they live in the community.
    #[schema(value_type = String)]
    FamilyOf(PersonId),
}

/// A duty a person has in the community.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "kebab-case")]
pub enum CommunityRole {
    /// Offers help (skills on the person).
    Volunteer,
    /// 网格员: looks after a grid cell.
    GridWorker,
    PropertyStaff,
    CommunityDoctor,
    Security,
    /// 业主委员会: elected by the owners; drafts their assembly's motions.
    OwnersCommittee,
}

/// A role, for a place and everything in it, or the whole community when `scope` is `None`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RoleAssignment {
    pub role: CommunityRole,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>)]
    pub scope: Option<PlaceId>,
}

/// A way to reach a person, for the host's notifications: `sms`, `voice`, `app`, `webhook`, ...
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Channel {
    pub kind: String,
    pub address: String,
}

/// How to reach a person. Kept by the host; never given to a plugin.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Contact {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone: Option<String>,
    /// A postal address, for family living outside the community.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub channels: Vec<Channel>,
}

/// A person known to the community.
#[derive(Debug, Clone, PartialEq)]
pub struct Person {
    pub id: PersonId,
    pub name: String,
    pub birth_year: Option<i32>,
    pub links: Vec<Link>,
    pub roles: Vec<RoleAssignment>,
    /// What a volunteer can do: escorting, shopping, chatting, first-aid, ...
    pub skills: Vec<String>,
    /// Host-side only.
    pub contact: Contact,
}

/// People tied to a scope in one way: the question "who are the residents of
/// building 3, the family of P, the grid workers of cell X".
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Relation {
    /// People living in a household at or under the scope.
    Resident,
    /// People owning a unit at or under the scope.
    Owner,
    /// People who are `family-of` the scope (a person).
    Family,
    /// People holding the role for the scope: scoped to it or to a place
    /// containing it, or community-wide. Without a scope, every holder.
    Role(CommunityRole),
}

/// What an id of the map names, for checking references.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Known {
    Place(PlaceKind),
    Person,
}

/// A map query that cannot be answered.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum QueryError {
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    Invalid(String),
}

/// Where a spatial search starts.
#[derive(Debug, Clone, PartialEq)]
pub enum Origin {
    Point(GeoPoint),
    Place(PlaceId),
}

/// A community's map with its indexes.
#[derive(Debug, Default)]
pub struct CommunityMap {
    places: HashMap<PlaceId, Place>,
    children: HashMap<Option<PlaceId>, BTreeSet<PlaceId>>,
    people: BTreeMap<PersonId, Person>,
    /// The people linked to each place as residents or owners.
    links: LinkIndex,
    pois: PoiIndex,
    /// What each person consents to now.
    consents: ConsentBook,
}

impl CommunityMap {
    /// A map of `places` and `people`, which must already be consistent
    /// (checked by [`super::geojson::parse_collection`] or loaded from the store).
    pub fn new(places: Vec<Place>, people: Vec<Person>) -> Self {
        let reference = places.iter().find_map(|p| p.point).map(|p| p.lat);
        let mut map = Self {
            pois: PoiIndex::new(Projection::around(reference.unwrap_or(0.0))),
            ..Self::default()
        };
        let mut pois = Vec::new();
        for place in places {
            map.children
                .entry(place.parent.clone())
                .or_default()
                .insert(place.id.clone());
            if let (Some(kind), Some(point)) = (&place.poi_kind, place.point) {
                pois.push((kind.clone(), point, place.id.clone()));
            }
            map.places.insert(place.id.clone(), place);
        }
        map.pois.bulk_load(pois);
        for person in people {
            map.put_person(person);
        }
        map
    }

    pub fn is_empty(&self) -> bool {
        self.places.is_empty() && self.people.is_empty()
    }

    /// Every place, top-down by kind and then by id.
    pub fn places(&self) -> Vec<&Place> {
        let mut places: Vec<&Place> = self.places.values().collect();
        places.sort_by(|a, b| (a.kind, &a.id).cmp(&(b.kind, &b.id)));
        places
    }

    /// Every person, by id.
    pub fn people(&self) -> impl Iterator<Item = &Person> {
        self.people.values()
    }

    pub fn place(&self, id: &PlaceId) -> Option<&Place> {
        self.places.get(id)
    }

    /// The place named by `id` in text, if it is one.
    pub fn place_named(&self, id: &str) -> Option<&Place> {
        id.parse().ok().and_then(|id| self.places.get(&id))
    }

    /// What `id` names in this map, if anything.
    pub fn known(&self, id: &str) -> Option<Known> {
        if let Some(place) = self.place_named(id) {
            return Some(Known::Place(place.kind));
        }
        let person: PersonId = id.parse().ok()?;
        self.people.contains_key(&person).then_some(Known::Person)
    }

    pub fn person(&self, id: &PersonId) -> Option<&Person> {
        self.people.get(id)
    }

    fn existing(&self, id: &PlaceId) -> Result<&Place, QueryError> {
        self.places
            .get(id)
            .ok_or_else(|| QueryError::NotFound(format!("no place {id} in the map")))
    }

    /// The places directly under `parent` (under the community when `None`), by id.
    pub fn children(&self, parent: Option<&PlaceId>) -> Result<Vec<&Place>, QueryError> {
        if let Some(parent) = parent {
            self.existing(parent)?;
        }
        Ok(self
            .children
            .get(&parent.cloned())
            .into_iter()
            .flatten()
            .map(|id| &self.places[id])
            .collect())
    }

    /// The places above `id`, its parent first.
    pub fn ancestors(&self, id: &PlaceId) -> Result<Vec<&Place>, QueryError> {
        let mut next = self.existing(id)?.parent.as_ref();
        let mut ancestors = Vec::new();
        while let Some(parent) = next {
            let place = &self.places[parent];
            ancestors.push(place);
            next = place.parent.as_ref();
        }
        Ok(ancestors)
    }

    /// Whether `id` is `scope` or lies under it.
    pub fn is_within(&self, id: &PlaceId, scope: &PlaceId) -> bool {
        let mut next = Some(id);
        while let Some(current) = next {
            if current == scope {
                return true;
            }
            next = self.places.get(current).and_then(|p| p.parent.as_ref());
        }
        false
    }

    /// Everything under `id` (not `id` itself), depth first in id order,
    /// keeping places for which `keep` holds.
    pub fn descendants(
        &self,
        id: &PlaceId,
        keep: impl Fn(&Place) -> bool,
    ) -> Result<Vec<&Place>, QueryError> {
        self.existing(id)?;
        let mut found = Vec::new();
        let mut stack: Vec<&PlaceId> = vec![id];
        while let Some(current) = stack.pop() {
            let children = self.children.get(&Some(current.clone()));
            for child in children.into_iter().flatten().rev() {
                stack.push(child);
            }
            if current != id && keep(&self.places[current]) {
                found.push(&self.places[current]);
            }
        }
        Ok(found)
    }

    /// Where `id` is: its own point, or the nearest ancestor's.
    pub fn point_of(&self, id: &PlaceId) -> Result<GeoPoint, QueryError> {
        let place = self.existing(id)?;
        std::iter::once(place)
            .chain(self.ancestors(id)?)
            .find_map(|p| p.point)
            .ok_or_else(|| {
                QueryError::Invalid(format!(
                    "place {id} and the places above it have no geometry"
                ))
            })
    }

    fn origin_point(&self, origin: &Origin) -> Result<GeoPoint, QueryError> {
        match origin {
            Origin::Point(point) => {
                check_point(*point).map_err(QueryError::Invalid)?;
                Ok(*point)
            }
            Origin::Place(id) => self.point_of(id),
        }
    }

    /// The `k` points of interest of `kind` nearest to `origin`, nearest first, with their distance in metres.
    pub fn nearest(
        &self,
        kind: &PoiKind,
        origin: &Origin,
        k: usize,
    ) -> Result<Vec<(&Place, f64)>, QueryError> {
        let from = self.origin_point(origin)?;
        Ok(self.resolve(self.pois.nearest(kind, from, k)))
    }

    /// The points of interest of `kind` within `radius_m` metres of `origin`, nearest first.
    pub fn within_radius(
        &self,
        kind: &PoiKind,
        origin: &Origin,
        radius_m: f64,
    ) -> Result<Vec<(&Place, f64)>, QueryError> {
        if !(radius_m.is_finite() && radius_m >= 0.0) {
            return Err(QueryError::Invalid(
                "radius must be a finite number of metres, at least 0".to_owned(),
            ));
        }
        let from = self.origin_point(origin)?;
        Ok(self.resolve(self.pois.within_radius(kind, from, radius_m)))
    }

    fn resolve(&self, found: Vec<(&PlaceId, f64)>) -> Vec<(&Place, f64)> {
        found
            .into_iter()
            .map(|(id, distance)| (&self.places[id], distance))
            .collect()
    }

    /// The people tied to `scope` by `relation`, by id. `scope` is a place
    /// id, or a person id for [`Relation::Family`]; only roles may go without one.
    pub fn related(
        &self,
        relation: Relation,
        scope: Option<&str>,
    ) -> Result<Vec<&Person>, QueryError> {
        let place_scope = |scope: Option<&str>| -> Result<Option<PlaceId>, QueryError> {
            scope
                .map(|s| {
                    self.place_named(s)
                        .map(|p| p.id.clone())
                        .ok_or_else(|| QueryError::NotFound(format!("no place {s} in the map")))
                })
                .transpose()
        };
        let matches: Box<dyn Fn(&Person) -> bool> = match relation {
            Relation::Resident | Relation::Owner => {
                let scope = place_scope(scope)?.ok_or_else(|| {
                    QueryError::Invalid("residents and owners need a place as scope".to_owned())
                })?;
                return Ok(self.linked_within(relation, &scope));
            }
            Relation::Family => {
                let of: PersonId = scope
                    .and_then(|s| s.parse().ok())
                    .filter(|id| self.people.contains_key(id))
                    .ok_or_else(|| {
                        QueryError::NotFound(format!(
                            "family needs a person of the map as scope, not {scope:?}"
                        ))
                    })?;
                Box::new(move |person: &Person| person.links.contains(&Link::FamilyOf(of.clone())))
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
        Ok(self.people.values().filter(|p| matches(p)).collect())
    }

    /// The residents or owners of `scope` and the places under it, by id:
    /// the people linked to each place of the subtree, from the index.
    fn linked_within(&self, relation: Relation, scope: &PlaceId) -> Vec<&Person> {
        let mut found: BTreeMap<&PersonId, &Person> = BTreeMap::new();
        let mut stack: Vec<&PlaceId> = vec![scope];
        while let Some(place) = stack.pop() {
            stack.extend(
                self.children
                    .get(&Some(place.clone()))
                    .into_iter()
                    .flatten(),
            );
            for id in self.links.at(place) {
                let person = &self.people[id];
                let linked = person.links.iter().any(|link| match (relation, link) {
                    (Relation::Resident, Link::ResidentOf(target))
                    | (Relation::Owner, Link::OwnerOf(target)) => target == place,
                    _ => false,
                });
                if linked {
                    found.insert(id, person);
                }
            }
        }
        found.into_values().collect()
    }

    /// Adds `place`, or replaces the place with its id, keeping the indexes current.
    pub fn put_place(&mut self, place: Place) {
        self.remove_place(&place.id);
        self.children
            .entry(place.parent.clone())
            .or_default()
            .insert(place.id.clone());
        if let (Some(kind), Some(point)) = (&place.poi_kind, place.point) {
            self.pois.insert(kind.clone(), point, place.id.clone());
        }
        self.places.insert(place.id.clone(), place);
    }

    /// Removes a place (its children, if any, are the caller's concern).
    pub fn remove_place(&mut self, id: &PlaceId) -> Option<Place> {
        let place = self.places.remove(id)?;
        if let Some(siblings) = self.children.get_mut(&place.parent) {
            siblings.remove(id);
        }
        if let (Some(kind), Some(point)) = (&place.poi_kind, place.point) {
            self.pois.remove(kind, point, id);
        }
        Some(place)
    }

    /// Adds `person`, or replaces the person with their id, keeping the
    /// link index current.
    pub fn put_person(&mut self, person: Person) {
        if let Some(before) = self.people.remove(&person.id) {
            self.links.remove(&before);
        }
        self.links.add(&person);
        self.people.insert(person.id.clone(), person);
    }

    /// What each person consents to now.
    pub fn consents(&self) -> &ConsentBook {
        &self.consents
    }

    /// Changes consents, once their records have committed.
    pub fn consents_mut(&mut self) -> &mut ConsentBook {
        &mut self.consents
    }

    pub fn remove_person(&mut self, id: &PersonId) -> Option<Person> {
        let person = self.people.remove(id)?;
        self.links.remove(&person);
        Some(person)
    }

    /// Why `id` cannot be removed or change kind: the places under it and
    /// the people tied to it. Empty when nothing depends on it.
    pub fn dependents(&self, id: &str) -> Vec<String> {
        let mut found: Vec<String> = id
            .parse::<PlaceId>()
            .ok()
            .and_then(|id| self.children.get(&Some(id)))
            .into_iter()
            .flatten()
            .map(|child| format!("place {child} is under it"))
            .collect();
        for person in self.people.values() {
            let linked = person.links.iter().any(|link| match link {
                Link::ResidentOf(target) | Link::OwnerOf(target) => target.as_str() == id,
                Link::FamilyOf(target) => target.as_str() == id,
            });
            let scoped = person
                .roles
                .iter()
                .any(|r| r.scope.as_ref().is_some_and(|s| s.as_str() == id));
            if linked || scoped {
                found.push(format!("person {} refers to it", person.id));
            }
        }
        found
    }
}

/// Checks a point's coordinates.
pub fn check_point(point: GeoPoint) -> Result<(), String> {
    if (-90.0..=90.0).contains(&point.lat) && (-180.0..=180.0).contains(&point.lon) {
        Ok(())
    } else {
        Err(format!(
            "({}, {}) is not a WGS 84 point: latitude must be within ±90 and longitude within ±180",
            point.lat, point.lon
        ))
    }
}
