//! Who holds a community role for a place, read from the map as the host
//! reads a role audience: a holder without a scope holds it everywhere; a
//! scoped holder holds it for that place and everything under it.

use crate::map::{self, CommunityRole};
use crate::Error;

/// Whether `person` holds `role` for `place`: community-wide, or scoped to
/// the place or a place containing it. With no place, only community-wide
/// counts. A person or place the map does not know holds nothing.
pub fn holds(person: &str, role: CommunityRole, place: Option<&str>) -> Result<bool, Error> {
    let found = match map::get_person(person) {
        Ok(found) => found,
        Err(Error::NotFound(_)) => return Ok(false),
        Err(other) => return Err(other),
    };
    let scopes: Vec<Option<String>> = found
        .roles
        .into_iter()
        .filter(|r| r.role == role)
        .map(|r| r.scope)
        .collect();
    if scopes.iter().any(Option::is_none) {
        return Ok(true);
    }
    let Some(place) = place else {
        return Ok(false);
    };
    let mut around = vec![place.to_owned()];
    match map::ancestors(place) {
        Ok(ancestors) => around.extend(ancestors.into_iter().map(|p| p.id)),
        Err(Error::NotFound(_)) => {}
        Err(other) => return Err(other),
    }
    Ok(scopes.iter().flatten().any(|scope| around.contains(scope)))
}
