//! Who is in a motion's scope, read from the community map: the units
//! under the scope place (a building's repairs are its owners' to decide),
//! or under every top-level place for the whole compound, with their areas
//! and owners as the map says now. [`crate::roll::freeze`] turns that into
//! the roll.
//!
//! The map answers at most 5,000 places or people a call; a scope with more
//! is read one level down at a time, so a compound of any size is read.

use std::collections::{BTreeMap, BTreeSet};

use linli_sdk::map::{self, LinkKind, Person, Place, PlaceKind, Relation};
use linli_sdk::notify::Audience;
use linli_sdk::{audience, Error};

use crate::roll::UnitFacts;

/// The place attribute that marks a unit as still the developer's.
pub const UNSOLD_ATTRIBUTE: &str = "unsold";

/// Checks that `scope` is a place a motion can be put to: a building or a
/// grid cell of the map.
pub fn check_scope(scope: &str) -> Result<(), Error> {
    let place = map::get(scope).map_err(|e| match e {
        Error::NotFound(_) => Error::NotFound(format!("scope: no place {scope} in the map")),
        other => other,
    })?;
    match place.kind {
        PlaceKind::Building | PlaceKind::GridCell => Ok(()),
        other => Err(Error::Invalid(format!(
            "scope: {scope} is a {other:?}; a motion is put to a building, a grid cell or (without a scope) the whole compound"
        ))),
    }
}

/// The places a scope is read from: the scope itself, or every grid cell
/// and building directly under the community.
pub fn tops(scope: Option<&str>) -> Result<Vec<String>, Error> {
    match scope {
        Some(scope) => Ok(vec![scope.to_owned()]),
        None => Ok(map::children(None)?
            .into_iter()
            .filter(|p| matches!(p.kind, PlaceKind::GridCell | PlaceKind::Building))
            .map(|p| p.id)
            .collect()),
    }
}

/// The units under `place`, reading a level down when there are too many.
fn units_under(place: &str) -> Result<Vec<Place>, Error> {
    match map::descendants(place, Some(PlaceKind::Unit), None) {
        Err(Error::Limit(_)) => {
            let mut units = Vec::new();
            for child in map::children(Some(place))? {
                if child.kind == PlaceKind::Unit {
                    units.push(child);
                } else if child.kind != PlaceKind::Poi {
                    units.extend(units_under(&child.id)?);
                }
            }
            Ok(units)
        }
        found => found,
    }
}

/// The owners of units under `place`, reading a level down when there are
/// too many.
fn owners_under(place: &str) -> Result<Vec<Person>, Error> {
    match map::people(Relation::Owner, Some(place)) {
        Err(Error::Limit(_)) => {
            let mut owners = Vec::new();
            for child in map::children(Some(place))? {
                if child.kind != PlaceKind::Poi && child.kind != PlaceKind::Household {
                    owners.extend(owners_under(&child.id)?);
                }
            }
            Ok(owners)
        }
        found => found,
    }
}

fn is_unsold(place: &Place) -> bool {
    place
        .attributes
        .iter()
        .any(|(name, value)| name == UNSOLD_ATTRIBUTE && value == "true")
}

/// Every unit in the scope with what the map says of it now.
pub fn units(scope: Option<&str>) -> Result<Vec<UnitFacts>, Error> {
    let mut facts: BTreeMap<String, UnitFacts> = BTreeMap::new();
    let mut owners: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for top in tops(scope)? {
        for unit in units_under(&top)? {
            facts.insert(
                unit.id.clone(),
                UnitFacts {
                    unsold: is_unsold(&unit),
                    unit: unit.id,
                    area_m2: unit.exclusive_area_m2,
                    owners: BTreeSet::new(),
                },
            );
        }
        for person in owners_under(&top)? {
            for link in person.links.iter().filter(|l| l.kind == LinkKind::OwnerOf) {
                owners
                    .entry(link.target.clone())
                    .or_default()
                    .insert(person.id.clone());
            }
        }
    }
    for (unit, people) in owners {
        // An owner of the scope may also own units elsewhere: only this
        // scope's units are on its roll.
        if let Some(facts) = facts.get_mut(&unit) {
            facts.owners = people;
        }
    }
    Ok(facts.into_values().collect())
}

/// Who hears of a motion: the owners of the units under the scope, as the
/// host resolves them from the map when it sends, and the developer's voter.
pub fn owners_audience(
    scope: Option<&str>,
    developer_voter: Option<&str>,
) -> Result<Vec<Audience>, Error> {
    let mut audiences: Vec<Audience> = tops(scope)?
        .iter()
        .map(|top| audience::related(Relation::Owner, Some(top)))
        .collect();
    audiences.extend(developer_voter.map(audience::person));
    Ok(audiences)
}
