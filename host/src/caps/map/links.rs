//! Who lives in or owns each place: the people whose `resident-of` or
//! `owner-of` links name it, kept beside the map's people so that "the
//! owners under building 3" reads the building's subtree instead of every
//! person of the community.
//!
//! Scanning every person and walking each link up to the scope cost an
//! owners' vote of 5,000 units most of its opening (fifty buildings, each
//! a scan of 5,000 people), and the same scan stood behind every message to
//! a building's residents. The index is changed only by [`LinkIndex::add`]
//! and [`LinkIndex::remove`], which the map calls whenever it stores or
//! drops a person.

use std::collections::{BTreeSet, HashMap};

use super::model::{Link, Person};
use crate::ids::{PersonId, PlaceId};

/// The people linked to each place as residents or owners.
#[derive(Debug, Default)]
pub struct LinkIndex {
    by_place: HashMap<PlaceId, BTreeSet<PersonId>>,
}

impl LinkIndex {
    fn targets(person: &Person) -> impl Iterator<Item = &PlaceId> {
        person.links.iter().filter_map(|link| match link {
            Link::ResidentOf(place) | Link::OwnerOf(place) => Some(place),
            Link::FamilyOf(_) => None,
        })
    }

    /// Records `person`'s resident and owner links.
    pub fn add(&mut self, person: &Person) {
        for place in Self::targets(person) {
            self.by_place
                .entry(place.clone())
                .or_default()
                .insert(person.id.clone());
        }
    }

    /// Forgets `person`'s resident and owner links.
    pub fn remove(&mut self, person: &Person) {
        for place in Self::targets(person) {
            if let Some(linked) = self.by_place.get_mut(place) {
                linked.remove(&person.id);
                if linked.is_empty() {
                    self.by_place.remove(place);
                }
            }
        }
    }

    /// The people with a resident or owner link to `place` itself.
    pub fn at(&self, place: &PlaceId) -> impl Iterator<Item = &PersonId> {
        self.by_place.get(place).into_iter().flatten()
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use crate::caps::map::model::{
        CommunityMap, Contact, Link, Person, Place, PlaceKind, Relation,
    };
    use crate::ids::{PersonId, PlaceId};

    fn place(id: String, kind: PlaceKind, parent: Option<String>) -> Place {
        Place {
            id: id.parse().unwrap(),
            kind,
            name: id,
            parent: parent.map(|p| p.parse().unwrap()),
            poi_kind: None,
            level: None,
            exclusive_area_m2: None,
            attributes: Default::default(),
            geometry: None,
            point: None,
        }
    }

    /// Two buildings of two floors of three units, each with a household.
    fn places() -> Vec<Place> {
        let mut places = Vec::new();
        for b in 0..2 {
            places.push(place(format!("b{b}"), PlaceKind::Building, None));
            for f in 0..2 {
                places.push(place(
                    format!("b{b}-f{f}"),
                    PlaceKind::Floor,
                    Some(format!("b{b}")),
                ));
                for u in 0..3 {
                    let unit = format!("b{b}-f{f}-u{u}");
                    places.push(place(
                        unit.clone(),
                        PlaceKind::Unit,
                        Some(format!("b{b}-f{f}")),
                    ));
                    places.push(place(
                        format!("{unit}-hh"),
                        PlaceKind::Household,
                        Some(unit),
                    ));
                }
            }
        }
        places
    }

    fn person(n: u8, links: &[(bool, u8)]) -> Person {
        let units: Vec<String> = places()
            .into_iter()
            .filter(|p| p.kind == PlaceKind::Unit)
            .map(|p| p.id.to_string())
            .collect();
        Person {
            id: format!("p{n}").parse().unwrap(),
            name: format!("p{n}"),
            birth_year: None,
            links: links
                .iter()
                .map(|(owns, unit)| {
                    let unit = &units[*unit as usize % units.len()];
                    if *owns {
                        Link::OwnerOf(unit.parse().unwrap())
                    } else {
                        Link::ResidentOf(format!("{unit}-hh").parse().unwrap())
                    }
                })
                .collect(),
            roles: Vec::new(),
            skills: Vec::new(),
            contact: Contact::default(),
        }
    }

    /// The people `related` must answer, found the slow way: every person,
    /// every link walked up to the scope.
    fn scanned(map: &CommunityMap, relation: Relation, scope: &PlaceId) -> Vec<PersonId> {
        map.people()
            .filter(|person| {
                person.links.iter().any(|link| match (relation, link) {
                    (Relation::Resident, Link::ResidentOf(target))
                    | (Relation::Owner, Link::OwnerOf(target)) => map.is_within(target, scope),
                    _ => false,
                })
            })
            .map(|person| person.id.clone())
            .collect()
    }

    proptest! {
        /// Whatever people are stored, replaced and removed, the residents
        /// and owners of every place are those a scan of everyone finds.
        #[test]
        fn residents_and_owners_of_a_place_are_what_a_scan_of_everyone_finds(
            changes in prop::collection::vec(
                (0u8..8, prop::collection::vec((any::<bool>(), 0u8..12), 0..4), any::<bool>()),
                0..40,
            ),
        ) {
            let mut map = CommunityMap::new(places(), Vec::new());
            for (n, links, remove) in changes {
                if remove {
                    map.remove_person(&format!("p{n}").parse().unwrap());
                } else {
                    map.put_person(person(n, &links));
                }
            }
            for scope in places() {
                for relation in [Relation::Resident, Relation::Owner] {
                    let found: Vec<PersonId> = map
                        .related(relation, Some(scope.id.as_str()))
                        .unwrap()
                        .into_iter()
                        .map(|person| person.id.clone())
                        .collect();
                    prop_assert_eq!(found, scanned(&map, relation, &scope.id), "{:?} of {}", relation, scope.id);
                }
            }
        }
    }
}
