//! What the map says of spaces and people, read into the domain's types: a
//! `parking-space` point of interest carries its `class`, `owner` and,
//! optionally, `lot` and `sensor` as place attributes; a person acts for
//! the households they live in, the units they own and the households'
//! units, and marks vehicles by skills (`accessible-permit`,
//! `electric-vehicle`) until the map has a better word for them.

use std::collections::BTreeSet;

use linli_sdk::map::{self, LinkKind, Place, PlaceKind};
use linli_sdk::{state, Caller, Error};

use crate::access::Requester;
use crate::overstay::History;
use crate::space::{Space, SpaceClass};

/// The point-of-interest kind of a parking space.
pub const SPACE_POI: &str = "parking-space";

fn attribute<'p>(place: &'p Place, name: &str) -> Option<&'p str> {
    place
        .attributes
        .iter()
        .find(|(key, _)| key == name)
        .map(|(_, value)| value.as_str())
}

/// The space `place` is, from its attributes and its ancestors: its lot is
/// the `lot` attribute, else its parent; a fire lane's building the nearest
/// building above it.
pub fn space_of(place: &Place) -> Result<Space, Error> {
    if place.poi_kind.as_deref() != Some(SPACE_POI) {
        return Err(Error::Invalid(format!(
            "{} is not a parking space",
            place.id
        )));
    }
    let class = attribute(place, "class")
        .and_then(SpaceClass::from_name)
        .ok_or_else(|| {
            Error::Invalid(format!(
                "{}: the map gives it no class attribute (private, shared, visitor, fire-lane, accessible, ev)",
                place.id
            ))
        })?;
    let owner = attribute(place, "owner").ok_or_else(|| {
        Error::Invalid(format!("{}: the map gives it no owner attribute", place.id))
    })?;
    // Only a fire lane needs its building, and a search reads a thousand
    // spaces: the others are spared the map call.
    let building = if class == SpaceClass::FireLane {
        map::ancestors(&place.id)?
            .into_iter()
            .find(|p| p.kind == PlaceKind::Building)
            .map(|b| b.id)
    } else {
        None
    };
    let lot = attribute(place, "lot")
        .map(str::to_owned)
        .or_else(|| place.parent.clone())
        .unwrap_or_else(|| "community".to_owned());
    Ok(Space {
        id: place.id.clone(),
        lot,
        building,
        class,
        owner: owner.to_owned(),
        sensor: attribute(place, "sensor").map(str::to_owned),
    })
}

/// The space with id `id`.
pub fn space(id: &str) -> Result<Space, Error> {
    space_of(&map::get(id)?)
}

/// The caller as the reservation rules see them; `None` for a caller who is
/// no person of the map (an admin's token), who reserves nothing.
pub fn requester(caller: &Caller, visitor: Option<String>) -> Result<Option<Requester>, Error> {
    caller
        .person
        .as_deref()
        .map(|person| requester_of(person, visitor))
        .transpose()
}

/// `person` as the reservation rules see them, with their ban.
pub fn requester_of(person: &str, visitor: Option<String>) -> Result<Requester, Error> {
    let found = map::get_person(person)?;
    let mut acts_for = BTreeSet::new();
    let mut resident = false;
    for link in &found.links {
        match link.kind {
            LinkKind::ResidentOf => {
                resident = true;
                acts_for.insert(link.target.clone());
                if let Some(unit) = map::get(&link.target)?.parent {
                    acts_for.insert(unit);
                }
            }
            LinkKind::OwnerOf => {
                acts_for.insert(link.target.clone());
            }
            LinkKind::FamilyOf => {}
        }
    }
    let marked = |skill: &str| found.skills.iter().any(|s| s == skill);
    let history: History = state::get(&History::key(person))?.unwrap_or_default();
    Ok(Requester {
        person: person.to_owned(),
        acts_for,
        resident,
        visitor,
        accessible_permit: marked("accessible-permit"),
        electric: marked("electric-vehicle"),
        banned_until: history.banned_until,
    })
}

/// Every parking space of the community, for the lots' counts and reports
/// (the map answers at most 5,000 places a list).
pub fn all_spaces() -> Result<Vec<Space>, Error> {
    let mut spaces = Vec::new();
    for top in map::children(None)? {
        if top.poi_kind.as_deref() == Some(SPACE_POI) {
            spaces.extend(space_of(&top));
        }
        for place in map::descendants(&top.id, Some(PlaceKind::Poi), Some(SPACE_POI))? {
            spaces.extend(space_of(&place));
        }
    }
    Ok(spaces)
}
