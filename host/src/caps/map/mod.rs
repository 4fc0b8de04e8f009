//! `map`: the community twin — grid cells, buildings, floors, units and
//! households, points of interest, and the people tied to them — imported
//! and exported as GeoJSON ([`geojson`]), kept in the store ([`store`]) and,
//! per community, in memory with a spatial index ([`model`], [`index`]),
//! served over HTTP ([`crate::api::map`]) and to plugins through the WIT `map`
//! interface ([`MapHost`]).
//!
//! The grant's scope is `{ people = bool }`: any `map` grant reads places;
//! people queries need `people = true` and are otherwise `denied`. What a
//! plugin learns of a person is their id, name, birth year, links, roles and
//! skills — never their contact details, which stay in the host for its
//! own notifications. Map queries have no effects to commit.
//!
//! [`MapService`] holds each community's [`CommunityMap`], loaded from the
//! store on first use. A change takes the map's write lock, commits to the
//! store and only then changes the map in memory, so readers see the store's
//! state and changes apply in one order.

pub mod consents;
#[cfg(test)]
pub mod fixture;
pub mod geojson;
pub mod index;
mod links;
pub mod model;
pub mod point;
pub mod rows;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use serde::{Deserialize, Serialize};
use tokio::sync::{OnceCell, RwLock};

use super::effects::Effects;
use super::{InstallationContext, Scope};
use crate::db::Db;
use crate::ids::{CommunityId, PersonId, PlaceId};
use crate::validation::Invalid;
use crate::wit::linli::platform::map::{self as wit, Host};
use crate::wit::linli::platform::types::{Error, GeoPoint as WitGeoPoint};
use geojson::MapFeature;
use model::{
    CommunityMap, CommunityRole, GeoPoint, Link, Origin, Person, Place, PlaceKind, PoiKind,
    QueryError, Relation,
};

/// Most points of interest one `nearest` call returns.
pub const MAX_NEAREST: u32 = 100;
/// Most places or people one listing returns.
pub const MAX_LISTED: usize = 5000;
/// Most points of interest one `within-radius` call returns.
pub const MAX_WITHIN_RADIUS: usize = 1000;

/// The `map` scope: whether the installation may see people.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MapScope {
    /// People, their links and roles (never their contact details).
    #[serde(default)]
    pub people: bool,
}

impl Scope for MapScope {
    fn within(&self, requested: &Self) -> Result<(), String> {
        if self.people && !requested.people {
            Err("people were not requested".to_owned())
        } else {
            Ok(())
        }
    }
}

/// Splits features into places and people.
pub fn split(features: Vec<MapFeature>) -> (Vec<Place>, Vec<Person>) {
    let mut places = Vec::new();
    let mut people = Vec::new();
    for feature in features {
        match feature {
            MapFeature::Place(p) => places.push(p),
            MapFeature::Person(p) => people.push(p),
        }
    }
    (places, people)
}

/// One community's map, shared by its readers and writers.
pub type SharedMap = Arc<RwLock<CommunityMap>>;

/// Every community's map in memory, loaded on first use.
pub struct MapService {
    db: Db,
    maps: Mutex<HashMap<CommunityId, Arc<OnceCell<SharedMap>>>>,
}

impl MapService {
    pub fn new(db: Db) -> Self {
        Self {
            db,
            maps: Mutex::new(HashMap::new()),
        }
    }

    /// The community's map, loading it from the store the first time.
    pub async fn get(&self, community: &CommunityId) -> Result<SharedMap, sqlx::Error> {
        let cell = self
            .maps
            .lock()
            .expect("the map registry is never poisoned")
            .entry(community.clone())
            .or_default()
            .clone();
        cell.get_or_try_init(|| async {
            let mut conn = self.db.acquire().await?;
            let (places, people) = split(rows::load(&mut conn, community).await?);
            let mut map = CommunityMap::new(places, people);
            *map.consents_mut() = consents::load(&mut conn, community).await?;
            Ok(Arc::new(RwLock::new(map)))
        })
        .await
        .cloned()
    }

    /// Checks a device's location: when it names a place of the map, that
    /// place must hold devices; any other text is kept as it is (free-text
    /// locations from before the map).
    pub async fn check_device_location(
        &self,
        community: &CommunityId,
        location: &str,
    ) -> Result<Option<Invalid>, sqlx::Error> {
        let map = self.get(community).await?;
        let map = map.read().await;
        Ok(match map.place_named(location) {
            Some(place) if !place.kind.holds_devices() => Some(Invalid::new(
                "location",
                format!(
                    "{location} is a {}; devices are placed in a building, floor, unit or point of interest",
                    place.kind.as_str()
                ),
            )),
            _ => None,
        })
    }
}

impl From<GeoPoint> for WitGeoPoint {
    fn from(p: GeoPoint) -> Self {
        WitGeoPoint {
            lat: p.lat,
            lon: p.lon,
        }
    }
}

impl From<PlaceKind> for wit::PlaceKind {
    fn from(kind: PlaceKind) -> Self {
        match kind {
            PlaceKind::GridCell => wit::PlaceKind::GridCell,
            PlaceKind::Building => wit::PlaceKind::Building,
            PlaceKind::Floor => wit::PlaceKind::Floor,
            PlaceKind::Unit => wit::PlaceKind::Unit,
            PlaceKind::Household => wit::PlaceKind::Household,
            PlaceKind::Poi => wit::PlaceKind::Poi,
        }
    }
}

impl From<wit::PlaceKind> for PlaceKind {
    fn from(kind: wit::PlaceKind) -> Self {
        match kind {
            wit::PlaceKind::GridCell => PlaceKind::GridCell,
            wit::PlaceKind::Building => PlaceKind::Building,
            wit::PlaceKind::Floor => PlaceKind::Floor,
            wit::PlaceKind::Unit => PlaceKind::Unit,
            wit::PlaceKind::Household => PlaceKind::Household,
            wit::PlaceKind::Poi => PlaceKind::Poi,
        }
    }
}

impl From<CommunityRole> for wit::CommunityRole {
    fn from(role: CommunityRole) -> Self {
        match role {
            CommunityRole::Volunteer => wit::CommunityRole::Volunteer,
            CommunityRole::GridWorker => wit::CommunityRole::GridWorker,
            CommunityRole::PropertyStaff => wit::CommunityRole::PropertyStaff,
            CommunityRole::CommunityDoctor => wit::CommunityRole::CommunityDoctor,
            CommunityRole::Security => wit::CommunityRole::Security,
            CommunityRole::OwnersCommittee => wit::CommunityRole::OwnersCommittee,
        }
    }
}

impl From<wit::CommunityRole> for CommunityRole {
    fn from(role: wit::CommunityRole) -> Self {
        match role {
            wit::CommunityRole::Volunteer => CommunityRole::Volunteer,
            wit::CommunityRole::GridWorker => CommunityRole::GridWorker,
            wit::CommunityRole::PropertyStaff => CommunityRole::PropertyStaff,
            wit::CommunityRole::CommunityDoctor => CommunityRole::CommunityDoctor,
            wit::CommunityRole::Security => CommunityRole::Security,
            wit::CommunityRole::OwnersCommittee => CommunityRole::OwnersCommittee,
        }
    }
}

impl From<wit::Relation> for Relation {
    fn from(relation: wit::Relation) -> Self {
        match relation {
            wit::Relation::Resident => Relation::Resident,
            wit::Relation::Owner => Relation::Owner,
            wit::Relation::Family => Relation::Family,
            wit::Relation::Role(role) => Relation::Role(role.into()),
        }
    }
}

impl Place {
    /// The place as a plugin sees it.
    pub fn to_wit(&self) -> wit::Place {
        wit::Place {
            id: self.id.to_string(),
            kind: self.kind.into(),
            name: self.name.clone(),
            parent: self.parent.as_ref().map(|p| p.to_string()),
            poi_kind: self.poi_kind.as_ref().map(|k| k.as_str().to_owned()),
            point: self.point.map(Into::into),
            level: self.level,
            exclusive_area_m2: self.exclusive_area_m2,
            attributes: self
                .attributes
                .iter()
                .map(|(name, value)| (name.clone(), value.clone()))
                .collect(),
        }
    }
}

impl Person {
    /// The person as a plugin sees them: no contact details; `consents`
    /// are the purposes they consent to now.
    pub fn to_wit(&self, consents: &consents::ConsentBook) -> wit::Person {
        wit::Person {
            id: self.id.to_string(),
            name: self.name.clone(),
            birth_year: self.birth_year,
            links: self
                .links
                .iter()
                .map(|link| match link {
                    Link::ResidentOf(t) => (wit::LinkKind::ResidentOf, t.to_string()),
                    Link::OwnerOf(t) => (wit::LinkKind::OwnerOf, t.to_string()),
                    Link::FamilyOf(t) => (wit::LinkKind::FamilyOf, t.to_string()),
                })
                .map(|(kind, target)| wit::Link { kind, target })
                .collect(),
            roles: self
                .roles
                .iter()
                .map(|r| wit::RoleAssignment {
                    role: r.role.into(),
                    scope: r.scope.as_ref().map(|s| s.to_string()),
                })
                .collect(),
            skills: self.skills.clone(),
            consents: consents
                .purposes(&self.id)
                .into_iter()
                .map(consents::Purpose::to_wit)
                .collect(),
        }
    }
}

impl From<QueryError> for Error {
    fn from(error: QueryError) -> Self {
        match error {
            QueryError::NotFound(m) => Error::NotFound(m),
            QueryError::Invalid(m) => Error::Invalid(m),
        }
    }
}

fn place_id(id: &str) -> Result<PlaceId, Error> {
    id.parse()
        .map_err(|e: crate::ids::InvalidId| Error::Invalid(e.to_string()))
}

fn poi_kind(kind: String) -> Result<PoiKind, Error> {
    PoiKind::try_from(kind).map_err(Error::Invalid)
}

fn origin(origin: wit::Origin) -> Result<Origin, Error> {
    Ok(match origin {
        wit::Origin::Point(p) => Origin::Point(GeoPoint {
            lat: p.lat,
            lon: p.lon,
        }),
        wit::Origin::Place(id) => Origin::Place(place_id(&id)?),
    })
}

fn listed<T>(items: Vec<T>) -> Result<Vec<T>, Error> {
    if items.len() > MAX_LISTED {
        Err(Error::Limit(format!(
            "{} results; at most {MAX_LISTED}: narrow the scope",
            items.len()
        )))
    } else {
        Ok(items)
    }
}

fn distances(found: Vec<(&Place, f64)>) -> Vec<wit::PlaceDistance> {
    found
        .into_iter()
        .map(|(place, distance_m)| wit::PlaceDistance {
            place: place.to_wit(),
            distance_m,
        })
        .collect()
}

/// Per-instance `map` state.
pub struct MapHost {
    ctx: Arc<InstallationContext>,
    /// Every community's map in memory.
    maps: Arc<MapService>,
}

impl MapHost {
    pub fn new(ctx: Arc<InstallationContext>, maps: Arc<MapService>) -> Self {
        Self { ctx, maps }
    }

    /// The community's map, if the installation may read it.
    async fn map(&self) -> Result<SharedMap, Error> {
        if self.ctx.grants.map.is_none() {
            return Err(self
                .ctx
                .deny("map", "map was not granted to this installation"));
        }
        self.maps
            .get(&self.ctx.community)
            .await
            .map_err(|e| self.ctx.internal("map", e))
    }

    /// The community's map, if the installation may see people.
    async fn map_with_people(&self) -> Result<SharedMap, Error> {
        let map = self.map().await?;
        if !self.ctx.grants.map.as_ref().is_some_and(|s| s.people) {
            return Err(self.ctx.deny(
                "map",
                "people were not granted to this installation (map scope people = true)",
            ));
        }
        Ok(map)
    }
}

/// Map calls only read: nothing to commit.
impl Effects for MapHost {}

impl Host for MapHost {
    async fn get(&mut self, id: String) -> Result<wit::Place, Error> {
        let map = self.map().await?;
        let map = map.read().await;
        map.place(&place_id(&id)?)
            .map(Place::to_wit)
            .ok_or_else(|| Error::NotFound(format!("no place {id} in the map")))
    }

    async fn children(&mut self, id: Option<String>) -> Result<Vec<wit::Place>, Error> {
        let id = id.as_deref().map(place_id).transpose()?;
        let map = self.map().await?;
        let map = map.read().await;
        listed(
            map.children(id.as_ref())?
                .into_iter()
                .map(Place::to_wit)
                .collect(),
        )
    }

    async fn ancestors(&mut self, id: String) -> Result<Vec<wit::Place>, Error> {
        let id = place_id(&id)?;
        let map = self.map().await?;
        let map = map.read().await;
        Ok(map.ancestors(&id)?.into_iter().map(Place::to_wit).collect())
    }

    async fn descendants(
        &mut self,
        id: String,
        kind: Option<wit::PlaceKind>,
        poi: Option<String>,
    ) -> Result<Vec<wit::Place>, Error> {
        let id = place_id(&id)?;
        let kind = kind.map(PlaceKind::from);
        let poi = poi.map(poi_kind).transpose()?;
        let map = self.map().await?;
        let map = map.read().await;
        let found = map.descendants(&id, |p| {
            kind.is_none_or(|k| p.kind == k)
                && poi.as_ref().is_none_or(|k| p.poi_kind.as_ref() == Some(k))
        })?;
        listed(found.into_iter().map(Place::to_wit).collect())
    }

    async fn nearest(
        &mut self,
        kind: String,
        from: wit::Origin,
        k: u32,
    ) -> Result<Vec<wit::PlaceDistance>, Error> {
        let (kind, from) = (poi_kind(kind)?, origin(from)?);
        let map = self.map().await?;
        let map = map.read().await;
        let k = k.min(MAX_NEAREST) as usize;
        Ok(distances(map.nearest(&kind, &from, k)?))
    }

    async fn within_radius(
        &mut self,
        kind: String,
        from: wit::Origin,
        radius_m: f64,
    ) -> Result<Vec<wit::PlaceDistance>, Error> {
        let (kind, from) = (poi_kind(kind)?, origin(from)?);
        let map = self.map().await?;
        let map = map.read().await;
        let mut found = map.within_radius(&kind, &from, radius_m)?;
        found.truncate(MAX_WITHIN_RADIUS);
        Ok(distances(found))
    }

    async fn locate(&mut self, device: String) -> Result<Option<wit::Place>, Error> {
        let map = self.map().await?;
        let mut conn = self
            .ctx
            .db
            .acquire()
            .await
            .map_err(|e| self.ctx.internal("map", e))?;
        let location = crate::devices::location(&mut conn, &self.ctx.community, &device)
            .await
            .map_err(|e| self.ctx.internal("map", e))?;
        let location = location.ok_or_else(|| Error::NotFound(format!("no device {device}")))?;
        let map = map.read().await;
        Ok(location.and_then(|l| map.place_named(&l).map(Place::to_wit)))
    }

    async fn get_person(&mut self, id: String) -> Result<wit::Person, Error> {
        let map = self.map_with_people().await?;
        let map = map.read().await;
        id.parse::<PersonId>()
            .ok()
            .and_then(|id| map.person(&id))
            .map(|p| p.to_wit(map.consents()))
            .ok_or_else(|| Error::NotFound(format!("no person {id} in the map")))
    }

    async fn people(
        &mut self,
        relation: wit::Relation,
        scope: Option<String>,
    ) -> Result<Vec<wit::Person>, Error> {
        let map = self.map_with_people().await?;
        let map = map.read().await;
        let found = map.related(relation.into(), scope.as_deref())?;
        listed(
            found
                .into_iter()
                .map(|p| p.to_wit(map.consents()))
                .collect(),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn people_need_to_be_requested() {
        let people = MapScope { people: true };
        let places = MapScope { people: false };
        assert!(places.within(&people).is_ok());
        assert!(people.within(&people).is_ok());
        assert!(people.within(&places).is_err());
    }
}
