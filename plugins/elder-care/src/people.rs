//! People and homes, from the community map (the host's `map` capability).

use std::fmt;

use linli_sdk::map::{self, CommunityRole, LinkKind, Person, PlaceKind};
use linli_sdk::{Error, Purpose};
use serde::Serialize;

use crate::geo::Home;

/// A person of the map; an unknown id is `NotFound` naming it.
pub fn person(id: &str) -> Result<Person, Error> {
    map::get_person(id).map_err(|error| match error {
        Error::NotFound(_) => Error::NotFound(format!("no person {id} on the community map")),
        other => other,
    })
}

/// The household they live in, if the map says.
pub fn household(person: &Person) -> Option<String> {
    person
        .links
        .iter()
        .find(|link| link.kind == LinkKind::ResidentOf)
        .map(|link| link.target.clone())
}

/// Whether `who` is family of `of` on the map (`who` is `family-of` them);
/// someone not on the map is nobody's family.
pub fn is_family_of(who: &str, of: &str) -> Result<bool, Error> {
    match map::get_person(who) {
        Ok(who) => Ok(who
            .links
            .iter()
            .any(|link| link.kind == LinkKind::FamilyOf && link.target == of)),
        Err(Error::NotFound(_)) => Ok(false),
        Err(other) => Err(other),
    }
}

/// Whether the map lists them as a volunteer, for any place.
pub fn is_volunteer(person: &Person) -> bool {
    person
        .roles
        .iter()
        .any(|role| role.role == CommunityRole::Volunteer)
}

/// Where they live: their household's point (its own, or the nearest
/// ancestor's: households and units often have no geometry of their own)
/// and its floor's level. `None` when they live outside the compound.
pub fn home(person: &Person) -> Result<Option<Home>, Error> {
    let Some(household) = household(person) else {
        return Ok(None);
    };
    let place = map::get(&household)?;
    let ancestors = map::ancestors(&household)?;
    let point = place
        .point
        .or_else(|| ancestors.iter().find_map(|above| above.point));
    let level = ancestors
        .iter()
        .find(|above| above.kind == PlaceKind::Floor)
        .and_then(|floor| floor.level);
    Ok(point.map(|point| Home {
        lat: point.lat,
        lon: point.lon,
        level,
    }))
}

/// Where someone lives, as a helper is told it: only with their consent
/// to `location-sharing`.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub struct Address {
    pub household: String,
    /// The household's name on the map ("Unit 301").
    pub name: String,
    /// The building's name, when the household is in one.
    pub building: Option<String>,
}

impl fmt::Display for Address {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.building {
            Some(building) => write!(f, "{}, {building}", self.name),
            None => f.write_str(&self.name),
        }
    }
}

/// Their address for helpers, if they consent to sharing it and the map
/// says where they live; `None` otherwise, so nothing a helper is told or
/// shown names their home. Matching helpers by distance inside the scene
/// needs no consent: nothing leaves it.
pub fn shared_address(person: &Person) -> Result<Option<Address>, Error> {
    if !person.consents_to(Purpose::LocationSharing) {
        return Ok(None);
    }
    let Some(household) = household(person) else {
        return Ok(None);
    };
    let name = map::get(&household)?.name;
    let building = map::ancestors(&household)?
        .into_iter()
        .find(|above| above.kind == PlaceKind::Building)
        .map(|building| building.name);
    Ok(Some(Address {
        household,
        name,
        building,
    }))
}
