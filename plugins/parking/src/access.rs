//! Who may reserve which space: the class rules.
//!
//! | class | who may reserve it |
//! |---|---|
//! | private | people acting for its owner (their household, unit or tenant), for themselves or their visitor |
//! | shared | residents, for themselves or their visitor |
//! | visitor | residents hosting a visitor, for that visitor only |
//! | accessible | residents with an accessibility permit for the vehicle parking, or any resident when `access.accessible-open-to-all` |
//! | EV | residents with an electric vehicle, or any resident when `access.ev-open-to-all` |
//! | fire-lane | nobody, ever |
//!
//! A parker banned for repeat overstays may reserve only spaces of their
//! own (private ones whose owner they act for). The handler builds the
//! [`Requester`] from the caller and the map (their `resident-of` and
//! `owner-of` links, tenants they work for, their marks); these rules never
//! read the map.

use std::collections::BTreeSet;
use std::fmt;

use crate::config::Config;
use crate::space::{Space, SpaceClass};

/// The person reserving, as the rules need them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Requester {
    pub person: String,
    /// The owners they act for: their households and units, an office
    /// tenant they work for.
    pub acts_for: BTreeSet<String>,
    /// Whether they live in the community.
    pub resident: bool,
    /// The visitor they host, when the reservation is for one (a name or a
    /// plate, kept on the reservation).
    pub visitor: Option<String>,
    /// Whether the vehicle parking has an accessibility permit.
    pub accessible_permit: bool,
    /// Whether the vehicle parking is electric.
    pub electric: bool,
    /// Until when they may not reserve others' spaces, if banned.
    pub banned_until: Option<i64>,
}

/// Why a requester may not reserve a space; the text says why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Denied {
    FireLane,
    NotTheOwner,
    NotAResident,
    VisitorsOnly,
    NeedsPermit,
    NeedsElectric,
    Banned { until: i64 },
}

impl fmt::Display for Denied {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Denied::FireLane => "a fire lane is never bookable",
            Denied::NotTheOwner => "a private space is reserved only by its owner's household",
            Denied::NotAResident => "shared spaces are reserved by residents",
            Denied::VisitorsOnly => "visitor spaces are reserved by a resident for their visitor",
            Denied::NeedsPermit => {
                "accessible spaces are for vehicles with an accessibility permit"
            }
            Denied::NeedsElectric => "EV spaces are for electric vehicles",
            Denied::Banned { .. } => {
                "reserving is suspended after repeated overstays; own spaces stay bookable"
            }
        })?;
        if let Denied::Banned { until } = self {
            write!(f, " (until {until})")?;
        }
        Ok(())
    }
}

/// Whether `requester` may reserve `space` at `now`.
pub fn may_reserve(
    space: &Space,
    requester: &Requester,
    now: i64,
    config: &Config,
) -> Result<(), Denied> {
    let owns = requester.acts_for.contains(&space.owner);
    match space.class {
        SpaceClass::FireLane => return Err(Denied::FireLane),
        SpaceClass::Private if !owns => return Err(Denied::NotTheOwner),
        SpaceClass::Private => return Ok(()),
        _ if !requester.resident && !owns => return Err(Denied::NotAResident),
        SpaceClass::Visitor if requester.visitor.is_none() => return Err(Denied::VisitorsOnly),
        SpaceClass::Accessible
            if !requester.accessible_permit && !config.access.accessible_open_to_all =>
        {
            return Err(Denied::NeedsPermit)
        }
        SpaceClass::Ev if !requester.electric && !config.access.ev_open_to_all => {
            return Err(Denied::NeedsElectric)
        }
        _ => {}
    }
    match requester.banned_until {
        Some(until) if now < until => Err(Denied::Banned { until }),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn space(class: SpaceClass) -> Space {
        Space {
            id: "s".into(),
            lot: "lot".into(),
            building: None,
            class,
            owner: "unit-101".into(),
            sensor: None,
        }
    }

    fn resident() -> Requester {
        Requester {
            person: "ann".into(),
            acts_for: ["household-202".to_string()].into(),
            resident: true,
            ..Requester::default()
        }
    }

    #[test]
    fn each_class_admits_whom_the_table_says() {
        let config = Config::default();
        let ann = resident();
        let may = |class, who: &Requester| may_reserve(&space(class), who, 0, &config);
        assert_eq!(may(SpaceClass::Shared, &ann), Ok(()));
        assert_eq!(may(SpaceClass::Private, &ann), Err(Denied::NotTheOwner));
        assert_eq!(may(SpaceClass::Visitor, &ann), Err(Denied::VisitorsOnly));
        assert_eq!(may(SpaceClass::Accessible, &ann), Err(Denied::NeedsPermit));
        assert_eq!(may(SpaceClass::Ev, &ann), Err(Denied::NeedsElectric));
        assert_eq!(may(SpaceClass::FireLane, &ann), Err(Denied::FireLane));
        let hosting = Requester {
            visitor: Some("plate 沪A 12345".into()),
            ..resident()
        };
        assert_eq!(may(SpaceClass::Visitor, &hosting), Ok(()));
        let owner = Requester {
            acts_for: ["unit-101".to_string()].into(),
            ..resident()
        };
        assert_eq!(may(SpaceClass::Private, &owner), Ok(()));
        let outsider = Requester::default();
        assert_eq!(
            may(SpaceClass::Shared, &outsider),
            Err(Denied::NotAResident)
        );
    }

    #[test]
    fn config_can_open_accessible_and_ev_spaces_to_everyone() {
        let mut config = Config::default();
        config.access.accessible_open_to_all = true;
        config.access.ev_open_to_all = true;
        for class in [SpaceClass::Accessible, SpaceClass::Ev] {
            assert_eq!(may_reserve(&space(class), &resident(), 0, &config), Ok(()));
        }
    }

    #[test]
    fn a_ban_keeps_only_own_spaces_bookable() {
        let config = Config::default();
        let banned = Requester {
            acts_for: ["unit-101".to_string()].into(),
            banned_until: Some(100),
            ..resident()
        };
        let refused = may_reserve(&space(SpaceClass::Shared), &banned, 50, &config);
        assert_eq!(refused, Err(Denied::Banned { until: 100 }));
        assert_eq!(
            may_reserve(&space(SpaceClass::Private), &banned, 50, &config),
            Ok(())
        );
        assert_eq!(
            may_reserve(&space(SpaceClass::Shared), &banned, 100, &config),
            Ok(())
        );
    }
}
