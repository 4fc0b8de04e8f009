//! The roll: who may vote on a motion and what each ballot weighs, frozen
//! from the map when the motion opens, so a later change of the map cannot
//! change who decides.
//!
//! Counting follows the Supreme People's Court's interpretation on
//! building ownership (《最高人民法院关于审理建筑物区分所有权纠纷案件适用法律若干问题的解释》):
//!
//! - **Area** (art. 8): each unit's exclusive area, `exclusive_area_m2` on
//!   the map. A unit without one cannot be weighed, so a motion whose scope
//!   holds one does not open until the map is fixed.
//! - **Head count** (art. 9): one unit is one owner, except that one owner
//!   of several units counts once, and the developer's unsold units count
//!   as one owner together.
//!
//! Two readings this scene takes, documented in README.md:
//!
//! - "One owner of several units" is the same owners: units whose owners
//!   on the map are exactly the same people form one *head*. A unit Ann
//!   owns alone and one she owns with Ben are two heads, as two purchases
//!   by different buyers are.
//! - A unit is the developer's when nobody on the map owns it, or when its
//!   place attribute `unsold` is `"true"` (sold but not yet handed over:
//!   art. 9 counts those with the developer too, whoever the map already
//!   links to them). All such units are the one head `developer`.
//!
//! Every unit counts in the totals, whether or not anyone can vote for it:
//! an owner who never registered lowers participation, as an absent owner
//! does.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use crate::area::Area;

/// The head of the developer's unsold units.
pub const DEVELOPER_HEAD: &str = "developer";

/// What the map says of one unit in a motion's scope.
#[derive(Debug, Clone, PartialEq)]
pub struct UnitFacts {
    pub unit: String,
    /// `exclusive_area_m2`, if the map has it.
    pub area_m2: Option<f64>,
    /// The people with an `owner-of` link to it.
    pub owners: BTreeSet<String>,
    /// Its `unsold` attribute is `"true"`.
    pub unsold: bool,
}

/// One unit on the frozen roll.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Voter {
    pub area: Area,
    /// The head it counts under: `h1`, `h2`, … or [`DEVELOPER_HEAD`].
    pub head: String,
    /// Who owns it; empty for the developer's.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub owners: Vec<String>,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub developer: bool,
}

/// The denominators every measure of the motion is taken against.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Totals {
    pub units: u64,
    pub area: Area,
    /// Owners by head count (业主人数).
    pub heads: u64,
}

/// The frozen roll: every unit of the scope, by id.
#[derive(Debug, Clone, PartialEq)]
pub struct Roll {
    pub voters: BTreeMap<String, Voter>,
    pub totals: Totals,
}

/// Why a scope cannot be put to a vote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RollError {
    /// The scope holds no unit.
    Empty,
    /// These units have no usable `exclusive_area_m2` on the map.
    MissingArea(Vec<String>),
}

impl std::fmt::Display for RollError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RollError::Empty => write!(f, "the scope holds no unit, so nobody could vote"),
            RollError::MissingArea(units) => {
                let shown: Vec<&str> = units.iter().take(10).map(String::as_str).collect();
                let more = units.len().saturating_sub(shown.len());
                write!(
                    f,
                    "{} unit(s) have no exclusive_area_m2 on the map, so their votes cannot be weighed: {}{}",
                    units.len(),
                    shown.join(", "),
                    if more > 0 { format!(" and {more} more") } else { String::new() }
                )
            }
        }
    }
}

/// Freezes the roll from what the map says of the scope's units.
pub fn freeze(units: Vec<UnitFacts>) -> Result<Roll, RollError> {
    if units.is_empty() {
        return Err(RollError::Empty);
    }
    let mut missing: Vec<String> = units
        .iter()
        .filter(|u| u.area_m2.and_then(Area::from_m2).is_none())
        .map(|u| u.unit.clone())
        .collect();
    if !missing.is_empty() {
        missing.sort();
        return Err(RollError::MissingArea(missing));
    }
    let mut by_unit: BTreeMap<String, UnitFacts> =
        units.into_iter().map(|u| (u.unit.clone(), u)).collect();
    // Heads are numbered in the order of their first unit, so the same map
    // always gives the same labels.
    let mut heads: BTreeMap<BTreeSet<String>, String> = BTreeMap::new();
    let mut developer_units = 0;
    let mut voters = BTreeMap::new();
    for (unit, facts) in &mut by_unit {
        let area = facts.area_m2.and_then(Area::from_m2).unwrap_or_default();
        let developer = facts.unsold || facts.owners.is_empty();
        let voter = if developer {
            developer_units += 1;
            Voter {
                area,
                head: DEVELOPER_HEAD.to_owned(),
                owners: Vec::new(),
                developer: true,
            }
        } else {
            let next = format!("h{}", heads.len() + 1);
            let head = heads.entry(facts.owners.clone()).or_insert(next).clone();
            Voter {
                area,
                head,
                owners: std::mem::take(&mut facts.owners).into_iter().collect(),
                developer: false,
            }
        };
        voters.insert(unit.clone(), voter);
    }
    let totals = Totals {
        units: voters.len() as u64,
        area: voters.values().map(|v| v.area).sum(),
        heads: heads.len() as u64 + u64::from(developer_units > 0),
    };
    Ok(Roll { voters, totals })
}

impl Roll {
    /// The units each person may cast as their owner, and the developer's
    /// units under the person who casts them (when the community named one).
    pub fn units_by_person(&self, developer_voter: Option<&str>) -> BTreeMap<String, Vec<String>> {
        let mut index: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for (unit, voter) in &self.voters {
            let casters: Vec<&str> = if voter.developer {
                developer_voter.into_iter().collect()
            } else {
                voter.owners.iter().map(String::as_str).collect()
            };
            for person in casters {
                index
                    .entry(person.to_owned())
                    .or_default()
                    .push(unit.clone());
            }
        }
        index
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn unit(id: &str, area: f64, owners: &[&str]) -> UnitFacts {
        UnitFacts {
            unit: id.to_owned(),
            area_m2: Some(area),
            owners: owners.iter().map(|o| (*o).to_owned()).collect(),
            unsold: false,
        }
    }

    #[test]
    fn one_owner_of_several_units_counts_once_with_all_their_area() {
        let roll = freeze(vec![
            unit("u1", 89.2, &["ann"]),
            unit("u2", 68.5, &["ann"]),
            unit("u3", 120.0, &["ben"]),
        ])
        .unwrap();
        assert_eq!(roll.totals.units, 3);
        assert_eq!(roll.totals.heads, 2);
        assert_eq!(roll.totals.area.to_string(), "277.70");
        assert_eq!(roll.voters["u1"].head, roll.voters["u2"].head);
        assert_ne!(roll.voters["u1"].head, roll.voters["u3"].head);
    }

    #[test]
    fn a_unit_is_one_owner_however_many_own_it_and_other_owner_sets_are_other_heads() {
        let roll = freeze(vec![
            unit("u1", 80.0, &["ann", "ben"]),
            unit("u2", 80.0, &["ben", "ann"]),
            unit("u3", 80.0, &["ann"]),
        ])
        .unwrap();
        assert_eq!(roll.totals.heads, 2, "{{ann, ben}} twice, then {{ann}}");
        assert_eq!(roll.voters["u1"].head, roll.voters["u2"].head);
        assert_eq!(roll.voters["u1"].owners, ["ann", "ben"]);
    }

    #[test]
    fn the_developers_unsold_units_are_one_owner_together() {
        let mut sold_not_delivered = unit("u3", 100.0, &["buyer"]);
        sold_not_delivered.unsold = true;
        let roll = freeze(vec![
            unit("u1", 100.0, &[]),
            unit("u2", 100.0, &[]),
            sold_not_delivered,
            unit("u4", 100.0, &["cai"]),
        ])
        .unwrap();
        assert_eq!(roll.totals.heads, 2, "the developer and cai");
        assert_eq!(roll.totals.area.to_string(), "400.00");
        let developer: Vec<&str> = roll
            .voters
            .iter()
            .filter(|(_, v)| v.developer)
            .map(|(u, _)| u.as_str())
            .collect();
        assert_eq!(developer, ["u1", "u2", "u3"]);
        assert!(
            roll.voters["u3"].owners.is_empty(),
            "the buyer does not vote yet"
        );
        assert_eq!(roll.voters["u1"].head, DEVELOPER_HEAD);
    }

    #[test]
    fn a_unit_without_an_area_stops_the_roll_naming_it() {
        let mut unknown = unit("u2", 1.0, &["ben"]);
        unknown.area_m2 = None;
        let refused = freeze(vec![unit("u1", 50.0, &["ann"]), unknown]).unwrap_err();
        assert_eq!(refused, RollError::MissingArea(vec!["u2".to_owned()]));
        assert!(refused.to_string().contains("u2"));
        assert_eq!(freeze(Vec::new()).unwrap_err(), RollError::Empty);
    }

    #[test]
    fn each_person_is_indexed_with_what_they_may_cast() {
        let roll = freeze(vec![
            unit("u1", 50.0, &["ann", "ben"]),
            unit("u2", 50.0, &["ann"]),
            unit("u3", 50.0, &[]),
        ])
        .unwrap();
        let index = roll.units_by_person(Some("dev"));
        assert_eq!(index["ann"], ["u1", "u2"]);
        assert_eq!(index["ben"], ["u1"]);
        assert_eq!(index["dev"], ["u3"]);
        assert!(!roll.units_by_person(None).contains_key("dev"));
    }

    #[test]
    fn heads_are_labelled_the_same_way_every_time() {
        let units = vec![unit("b", 1.0, &["x"]), unit("a", 1.0, &["y"])];
        let first = freeze(units.clone()).unwrap();
        let again = freeze(units.into_iter().rev().collect()).unwrap();
        assert_eq!(first, again);
        assert_eq!(first.voters["a"].head, "h1");
    }
}
