//! A parking space as the scene sees it: its lot, its class, its owner and
//! its sensor.
//!
//! Spaces are `parking-space` points of interest of the community map. The
//! map says where a space is and what it is under (a lot, a building or a
//! grid cell); its class and owner are typed attributes of the point that
//! the host's map carries for the scene. The handler builds a [`Space`]
//! from them once per call; everything below works on this plain value and
//! never reads the map itself.

use serde::{Deserialize, Serialize};

/// What a space is for, which decides who may reserve it.
///
/// The names are the ones the map's `class` attribute uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum SpaceClass {
    /// Belongs to one unit or tenant; only the owner's people reserve it.
    Private,
    /// Published by its owner for residents to reserve in its windows.
    Shared,
    /// Kept for visitors: a visitor host reserves it for their visitor.
    Visitor,
    /// Marked on the ground so that fire engines get through: never bookable,
    /// and a vehicle on it is a hazard.
    FireLane,
    /// Wider, near an entrance: for people with an accessibility permit.
    Accessible,
    /// Has a charger: for people with an electric vehicle.
    Ev,
}

impl SpaceClass {
    /// Every class, in the order the README lists them.
    pub const ALL: [SpaceClass; 6] = [
        SpaceClass::Private,
        SpaceClass::Shared,
        SpaceClass::Visitor,
        SpaceClass::FireLane,
        SpaceClass::Accessible,
        SpaceClass::Ev,
    ];

    /// The class's name, as the map's attribute spells it.
    pub fn name(self) -> &'static str {
        match self {
            SpaceClass::Private => "private",
            SpaceClass::Shared => "shared",
            SpaceClass::Visitor => "visitor",
            SpaceClass::FireLane => "fire-lane",
            SpaceClass::Accessible => "accessible",
            SpaceClass::Ev => "ev",
        }
    }

    /// The class called `name`, as [`SpaceClass::name`] spells it.
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|class| class.name() == name)
    }

    /// Whether anyone besides the owner parks here by reservation, so that an
    /// unreserved vehicle in a sharing window is unauthorised. A private
    /// space is its owner's to use at will; a fire lane has its own rule.
    pub fn is_public(self) -> bool {
        matches!(
            self,
            SpaceClass::Shared | SpaceClass::Visitor | SpaceClass::Accessible | SpaceClass::Ev
        )
    }
}

/// One parking space.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Space {
    /// The space's place id on the map.
    pub id: String,
    /// The place it is counted under: its lot, or the building or grid cell
    /// it stands in when it has no lot.
    pub lot: String,
    /// For a fire lane, the building it serves: a fire confirmed in this
    /// building makes the blocked lane critical. `None` for other classes.
    pub building: Option<String>,
    pub class: SpaceClass,
    /// Who the space belongs to and who earns what it is paid: a unit or
    /// household place id, an office tenant's id, or the property company.
    /// Only one thing is asked of it: whether a person acts for it.
    pub owner: String,
    /// The occupancy sensor on the space, if it has one.
    pub sensor: Option<String>,
}

impl Space {
    /// Whether `device`, placed on this space, speaks for its occupancy:
    /// the sensor it names, or any device when it names none (a gate
    /// camera on a space with a named sensor does not).
    pub fn is_sensed_by(&self, device: &str) -> bool {
        self.sensor.as_deref().is_none_or(|sensor| sensor == device)
    }
}
