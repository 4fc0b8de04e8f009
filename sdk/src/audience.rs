//! Who a message goes to, named by relation so the host resolves the
//! people from the community map at send time: a scene never copies a
//! resident list that would go stale.

use crate::map::{CommunityRole, Relation};
use crate::notify::{Audience, Related};

/// One person, by id.
pub fn person(id: &str) -> Audience {
    Audience::Person(id.to_owned())
}

/// The residents of the households at or under `place`.
pub fn residents(place: &str) -> Audience {
    related(Relation::Resident, Some(place))
}

/// Everyone `family-of` the person.
pub fn family_of(person: &str) -> Audience {
    related(Relation::Family, Some(person))
}

/// The holders of `role` for `place` and for the places containing it, or
/// every holder when there is no place.
pub fn role(role: CommunityRole, place: Option<&str>) -> Audience {
    related(Relation::Role(role), place)
}

/// The people tied to `scope` by `relation`, as `map::people` finds them.
pub fn related(relation: Relation, scope: Option<&str>) -> Audience {
    Audience::Related(Related {
        relation,
        scope: scope.map(str::to_owned),
    })
}
