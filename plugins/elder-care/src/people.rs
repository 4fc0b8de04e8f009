//! People and homes, from the community map (the host's `map` capability).

use linli_sdk::map::{self, CommunityRole, LinkKind, Person, PlaceKind};
use linli_sdk::Error;

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
