//! Which devices a resident may see. Staff see every device of their
//! community; a resident sees only the devices that are theirs: placed in
//! the unit of a household they live in or in a unit they own (devices are
//! placed on units, not households), or belonging to them. The map's `family-of` links are the grant for the
//! rest: the family of a person also sees the devices belonging to that
//! person (a daughter sees her mother's watch), not the others of her
//! household. Everything else is absent to a resident: listed nowhere, and
//! 404 when asked for by id, so a neighbour's heart rate cannot even be
//! found.

use crate::caps::map::model::{CommunityMap, Link};
use crate::ids::{PersonId, PlaceId};

/// What one resident may see.
#[derive(Debug, Default)]
pub struct ResidentView {
    /// The units of the households they live in, and the units they own.
    homes: Vec<PlaceId>,
    /// Themselves and the people they are family of.
    people: Vec<PersonId>,
}

impl ResidentView {
    /// The view of `person`, from the map; empty for someone not on it.
    pub fn of(map: &CommunityMap, person: &PersonId) -> Self {
        let Some(found) = map.person(person) else {
            return Self::default();
        };
        let mut view = Self {
            people: vec![person.clone()],
            ..Self::default()
        };
        for link in &found.links {
            match link {
                Link::ResidentOf(household) => view.homes.extend(
                    map.place(household)
                        .map(|h| h.parent.clone().unwrap_or_else(|| household.clone())),
                ),
                Link::OwnerOf(unit) => view.homes.push(unit.clone()),
                Link::FamilyOf(other) => view.people.push(other.clone()),
            }
        }
        view
    }

    /// Whether a device placed at `location` and belonging to `person` is theirs to see.
    pub fn sees(
        &self,
        map: &CommunityMap,
        location: Option<&str>,
        person: Option<&PersonId>,
    ) -> bool {
        if person.is_some_and(|p| self.people.contains(p)) {
            return true;
        }
        let Some(place) = location.and_then(|l| map.place_named(l)) else {
            return false;
        };
        self.homes.iter().any(|home| map.is_within(&place.id, home))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::caps::map::fixture::{map as map_of, person, place};
    use serde_json::json;

    fn map() -> CommunityMap {
        map_of(vec![
            place("b1", "building", None),
            place("f1", "floor", Some("b1")),
            place("u1", "unit", Some("f1")),
            place("u2", "unit", Some("f1")),
            place("h1", "household", Some("u1")),
            place("h2", "household", Some("u2")),
            person("mother", json!([{"kind": "resident-of", "target": "h1"}])),
            person(
                "daughter",
                json!([{"kind": "family-of", "target": "mother"}]),
            ),
            person(
                "neighbour",
                json!([{"kind": "resident-of", "target": "h2"}]),
            ),
        ])
    }

    #[test]
    fn residents_see_their_home_and_their_own_and_family_see_only_the_persons_devices() {
        let map = map();
        let id = |s: &str| s.parse::<PersonId>().unwrap();
        let mother = ResidentView::of(&map, &id("mother"));
        let daughter = ResidentView::of(&map, &id("daughter"));
        let neighbour = ResidentView::of(&map, &id("neighbour"));
        let stranger = ResidentView::of(&map, &id("nobody"));
        // The mother's door sensor on her unit, and her watch.
        assert!(mother.sees(&map, Some("u1"), None));
        assert!(mother.sees(&map, None, Some(&id("mother"))));
        assert!(!mother.sees(&map, Some("u2"), None));
        assert!(!mother.sees(&map, Some("f1"), None));
        assert!(!mother.sees(&map, Some("b1"), None));
        assert!(daughter.sees(&map, Some("u1"), Some(&id("mother"))));
        assert!(!daughter.sees(&map, Some("u1"), None));
        assert!(!neighbour.sees(&map, Some("u1"), Some(&id("mother"))));
        assert!(neighbour.sees(&map, Some("u2"), None));
        assert!(!stranger.sees(&map, Some("u1"), None));
    }
}
