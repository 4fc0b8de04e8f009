//! Residents' personal information under China's Personal Information
//! Protection Law: separate consent for sensitive purposes (`consent`),
//! a log of who read a person's data (`access`), a person's archive of
//! everything the host holds about them (`export`) and erasure on request
//! (`erasure`). `docs/privacy.md` is the handler's view of the same.
//!
//! **What is sensitive.** Health readings (heart rate, SpO2, steps, falls)
//! and presence readings at home (door, motion, occupancy, the water meter)
//! are sensitive personal information (PIPL art. 28) of the people they are
//! about — a device's wearer, or else the residents of the household or
//! unit it is placed in. The host delivers such a reading to a plugin, and
//! answers a plugin's query for it, only when every one of those people
//! consents to the matching purpose; otherwise the plugin never sees it.
//! SOS presses are delivered without consent: a person calling for help
//! asks to be processed, and PIPL art. 13(4) covers protecting their life.

pub mod access;
pub mod consent;
pub mod erasure;
pub mod export;

use serde::{Deserialize, Serialize};

pub use super::map::consents::Purpose;
use super::map::model::{CommunityMap, PlaceKind, Relation};
use super::map::MapService;
use super::sensor::Reading;
use crate::ids::{CommunityId, PersonId};

/// What kind of sensitive information a reading is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "kebab-case")]
pub enum Sensitivity {
    Health,
    Presence,
}

impl Sensitivity {
    /// The reading kinds that are sensitive, and how. `sos` is not among
    /// them: a call for help is delivered whatever was consented.
    pub fn of_kind(kind: &str) -> Option<Self> {
        match kind {
            "heart-rate" | "spo2" | "steps" | "fall" => Some(Sensitivity::Health),
            "door" | "motion" | "occupancy" | "water-meter" => Some(Sensitivity::Presence),
            _ => None,
        }
    }

    /// The consent that lets a plugin receive it.
    pub fn purpose(self) -> Purpose {
        match self {
            Sensitivity::Health => Purpose::HealthMonitoring,
            Sensitivity::Presence => Purpose::PresenceChecks,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Sensitivity::Health => "health",
            Sensitivity::Presence => "presence",
        }
    }
}

/// The people a device's readings are about: its wearer, or else the
/// residents of the home (household, or every household of a unit) it is
/// placed in. A device in a corridor, a building or at a point of interest
/// is about no one.
pub fn subjects(map: &CommunityMap, owner: Option<&str>, location: Option<&str>) -> Vec<PersonId> {
    if let Some(owner) = owner.and_then(|o| o.parse().ok()) {
        return vec![owner];
    }
    let Some(place) = location.and_then(|l| map.place_named(l)) else {
        return Vec::new();
    };
    if !matches!(place.kind, PlaceKind::Household | PlaceKind::Unit) {
        return Vec::new();
    }
    map.related(Relation::Resident, Some(place.id.as_str()))
        .map(|people| people.into_iter().map(|p| p.id.clone()).collect())
        .unwrap_or_default()
}

/// Whether `reading` must be kept from plugins: it is sensitive and someone
/// it is about has not consented to the purpose that would receive it. A
/// health reading is always someone's: from a device whose wearer the host
/// does not know (registered without `person`), no consent can be checked,
/// so it is withheld too. A presence reading away from any home (a
/// building's entrance, a parking space) is about no one.
pub fn withheld(map: &CommunityMap, reading: &Reading) -> bool {
    let Some(sensitivity) = Sensitivity::of_kind(&reading.kind) else {
        return false;
    };
    let subjects = subjects(map, reading.owner.as_deref(), reading.location.as_deref());
    (sensitivity == Sensitivity::Health && subjects.is_empty())
        || subjects
            .iter()
            .any(|person| !map.consents().consents(person, sensitivity.purpose()))
}

/// Keeps the readings plugins may receive, in order; the rest are dropped
/// here, before any plugin sees them, whether delivered as events or
/// answered to a query. Readings of no sensitive kind pass without the
/// community's map being read.
pub async fn consented(
    maps: &MapService,
    community: &CommunityId,
    mut readings: Vec<Reading>,
) -> Result<Vec<Reading>, sqlx::Error> {
    if readings
        .iter()
        .all(|r| Sensitivity::of_kind(&r.kind).is_none())
    {
        return Ok(readings);
    }
    let map = maps.get(community).await?;
    let map = map.read().await;
    readings.retain(|r| !withheld(&map, r));
    Ok(readings)
}

/// The kinds of sensitive information among `readings`, each once, health first.
pub fn sensitivities(readings: &[Reading]) -> Vec<Sensitivity> {
    [Sensitivity::Health, Sensitivity::Presence]
        .into_iter()
        .filter(|s| {
            readings
                .iter()
                .any(|r| Sensitivity::of_kind(&r.kind) == Some(*s))
        })
        .collect()
}

/// `text` as a `LIKE` pattern that matches it anywhere, `\` escaping.
pub(crate) fn containing(text: &str) -> String {
    let escaped = text
        .replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_");
    format!("%{escaped}%")
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;
    use serde_json::json;

    use super::*;
    use crate::caps::map::fixture::{map as map_of, person, place};
    use crate::caps::sensor::ReadingValue;

    /// A floor with a couple's household, a single resident's, and a corridor.
    fn map() -> CommunityMap {
        let resident =
            |id: &str, home: &str| person(id, json!([{"kind": "resident-of", "target": home}]));
        map_of(vec![
            place("b1", "building", None),
            place("f1", "floor", Some("b1")),
            place("u1", "unit", Some("f1")),
            place("u2", "unit", Some("f1")),
            place("h1", "household", Some("u1")),
            place("h2", "household", Some("u2")),
            resident("wife", "h1"),
            resident("husband", "h1"),
            resident("widow", "h2"),
        ])
    }

    const PEOPLE: [&str; 3] = ["wife", "husband", "widow"];
    const KINDS: [&str; 6] = ["heart-rate", "fall", "sos", "door", "motion", "temperature"];
    const PLACES: [Option<&str>; 5] = [None, Some("u1"), Some("h2"), Some("f1"), Some("b1")];

    fn reading(kind: &str, owner: Option<&str>, location: Option<&str>) -> Reading {
        Reading {
            seq: 1,
            device: "d".to_owned(),
            kind: kind.to_owned(),
            value: ReadingValue::Flag(true),
            unit: None,
            at: 0,
            location: location.map(str::to_owned),
            received_at: 0,
            owner: owner.map(str::to_owned),
        }
    }

    proptest! {
        /// A reading is withheld exactly when it is sensitive and someone
        /// it is about (its wearer, else every resident of the home it is
        /// in) lacks the purpose's consent, or it is health data of no one
        /// known.
        #[test]
        fn a_reading_is_withheld_exactly_when_someone_it_is_about_has_not_consented(
            given in proptest::collection::vec((0..3usize, 0..3usize, any::<bool>()), 0..12),
            kind in 0..KINDS.len(),
            owner in proptest::option::of(0..PEOPLE.len()),
            place in 0..PLACES.len(),
        ) {
            let mut map = map();
            for (person, purpose, yes) in &given {
                let person: PersonId = PEOPLE[*person].parse().unwrap();
                map.consents_mut().apply(&person, Purpose::ALL[*purpose], *yes);
            }
            let kind = KINDS[kind];
            let owner = owner.map(|o| PEOPLE[o]);
            let reading = reading(kind, owner, PLACES[place]);
            let about: Vec<&str> = match (owner, PLACES[place]) {
                (Some(owner), _) => vec![owner],
                (None, Some("u1")) => vec!["husband", "wife"],
                (None, Some("h2")) => vec!["widow"],
                _ => vec![],
            };
            let expected = match Sensitivity::of_kind(kind) {
                None => false,
                Some(s) => {
                    (s == Sensitivity::Health && about.is_empty())
                        || about.iter().any(|p| {
                            !map.consents().consents(&p.parse().unwrap(), s.purpose())
                        })
                }
            };
            prop_assert_eq!(withheld(&map, &reading), expected);
        }
    }

    #[test]
    fn a_call_for_help_and_a_thermometer_are_never_withheld() {
        let map = map();
        assert!(!withheld(&map, &reading("sos", Some("widow"), None)));
        assert!(!withheld(&map, &reading("temperature", None, Some("h2"))));
        assert!(withheld(&map, &reading("heart-rate", Some("widow"), None)));
        assert!(withheld(&map, &reading("door", None, Some("u1"))));
        assert!(!withheld(&map, &reading("door", None, Some("b1"))));
    }

    #[test]
    fn like_patterns_match_the_text_only() {
        assert_eq!(containing("王秀英"), "%王秀英%");
        assert_eq!(containing("a_b%c\\"), "%a\\_b\\%c\\\\%");
    }
}
