//! The count, checked against a second, deliberately plain implementation
//! of the rules written here from the statutes, on random communities:
//! units of random areas (as the map gives them, decimals in m²), owners
//! holding several units, co-owned units, unsold units and units sold but
//! not handed over, and random ballots.
//!
//! The rules, as this file reads them (Civil Code art. 278; the Supreme
//! People's Court's interpretation on building ownership, art. 8–9):
//!
//! - a unit weighs its exclusive area; owners are counted by head: units
//!   with the same owners are one head, the developer's units one head;
//! - the quorum is at least 2/3 of all area and at least 2/3 of all heads;
//! - classes 6–8 pass with at least 3/4 of the participating area and
//!   heads agreeing, the others with more than 1/2 of each; a head agrees
//!   when all its ballots agree.
//!
//! Fractions here are reduced rationals compared as such, never floats;
//! the edges themselves (exactly 2/3, 3/4, 1/2) are generated on purpose.

use std::cmp::Ordering;
use std::collections::{BTreeMap, BTreeSet};

use proptest::prelude::*;
use voting::matter::MatterClass;
use voting::options::{Choice, Question};
use voting::roll::{self, UnitFacts};
use voting::tally::{self, Counted, Outcome};

/// A non-negative fraction in lowest terms.
#[derive(Debug, Clone, Copy)]
struct Ratio {
    num: u128,
    den: u128,
}

fn gcd(a: u128, b: u128) -> u128 {
    if b == 0 {
        a
    } else {
        gcd(b, a % b)
    }
}

impl Ratio {
    fn new(num: u128, den: u128) -> Self {
        assert!(den > 0);
        let g = gcd(num, den).max(1);
        Ratio {
            num: num / g,
            den: den / g,
        }
    }
}

impl PartialEq for Ratio {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for Ratio {}

impl PartialOrd for Ratio {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Ratio {
    fn cmp(&self, other: &Self) -> Ordering {
        // Lowest terms, then whole parts and remainders: a comparison that
        // shares nothing with the scene's cross-multiplication.
        let (a, b) = (self.num / self.den, other.num / other.den);
        if a != b {
            return a.cmp(&b);
        }
        let (ra, rb) = (self.num % self.den, other.num % other.den);
        match (ra, rb) {
            (0, 0) => Ordering::Equal,
            (0, _) => Ordering::Less,
            (_, 0) => Ordering::Greater,
            _ => Ratio::new(other.den, rb).cmp(&Ratio::new(self.den, ra)),
        }
    }
}

/// One unit of a generated community.
#[derive(Debug, Clone)]
struct Unit {
    hundredths: u64,
    owners: BTreeSet<usize>,
    unsold: bool,
    ballot: Option<Choice>,
}

fn facts(units: &[Unit]) -> Vec<UnitFacts> {
    units
        .iter()
        .enumerate()
        .map(|(i, u)| UnitFacts {
            unit: format!("u{i:03}"),
            area_m2: Some(u.hundredths as f64 / 100.0),
            owners: u.owners.iter().map(|o| format!("person-{o}")).collect(),
            unsold: u.unsold,
        })
        .collect()
}

/// The head a unit counts under, worked out from the rules.
fn head_of(unit: &Unit) -> String {
    if unit.unsold || unit.owners.is_empty() {
        "the developer".to_owned()
    } else {
        let names: Vec<String> = unit.owners.iter().map(|o| o.to_string()).collect();
        names.join("+")
    }
}

/// What the plain implementation decides.
#[derive(Debug, PartialEq)]
struct Decision {
    total_area: u128,
    total_heads: usize,
    part_area: u128,
    part_heads: usize,
    quorum: bool,
    /// Per option: agreeing area, agreeing heads, passed (for the options that decide).
    options: Vec<(u128, usize, Option<bool>)>,
}

fn decide(units: &[Unit], class: MatterClass, options: usize, deciding: usize) -> Decision {
    let total_area: u128 = units.iter().map(|u| u128::from(u.hundredths)).sum();
    let total_heads = units.iter().map(head_of).collect::<BTreeSet<_>>().len();
    let voted: Vec<&Unit> = units.iter().filter(|u| u.ballot.is_some()).collect();
    let part_area: u128 = voted.iter().map(|u| u128::from(u.hundredths)).sum();
    let mut heads: BTreeMap<String, Vec<&Choice>> = BTreeMap::new();
    for unit in &voted {
        heads
            .entry(head_of(unit))
            .or_default()
            .push(unit.ballot.as_ref().unwrap());
    }
    let part_heads = heads.len();
    let two_thirds = Ratio::new(2, 3);
    let quorum = total_area > 0
        && total_heads > 0
        && Ratio::new(part_area, total_area) >= two_thirds
        && Ratio::new(part_heads as u128, total_heads as u128) >= two_thirds;
    let special = matches!(
        class,
        MatterClass::RaiseMaintenanceFund
            | MatterClass::RebuildOrRenovate
            | MatterClass::CommonPartsUse
    );
    let passes = |part: u128, whole: u128| {
        whole > 0
            && if special {
                Ratio::new(part, whole) >= Ratio::new(3, 4)
            } else {
                Ratio::new(part, whole) > Ratio::new(1, 2)
            }
    };
    let options = (0..options)
        .map(|option| {
            let agrees = |c: &Choice| c.agrees_to(option);
            let area: u128 = voted
                .iter()
                .filter(|u| agrees(u.ballot.as_ref().unwrap()))
                .map(|u| u128::from(u.hundredths))
                .sum();
            let agreeing_heads = heads
                .values()
                .filter(|cs| cs.iter().all(|c| agrees(c)))
                .count();
            let passed = (option < deciding).then(|| {
                quorum
                    && passes(area, part_area)
                    && passes(agreeing_heads as u128, part_heads as u128)
            });
            (area, agreeing_heads, passed)
        })
        .collect();
    Decision {
        total_area,
        total_heads,
        part_area,
        part_heads,
        quorum,
        options,
    }
}

/// What the scene decides, in the same shape.
fn scene(units: &[Unit], class: MatterClass, question: &Question) -> (Decision, Outcome) {
    let roll = roll::freeze(facts(units)).expect("every generated unit has an area");
    let counted: Vec<Counted<'_>> = facts(units)
        .iter()
        .zip(units)
        .filter_map(|(f, u)| {
            let voter = &roll.voters[&f.unit];
            Some(Counted {
                area: voter.area,
                head: &voter.head,
                choice: u.ballot.as_ref()?,
            })
        })
        .collect();
    let result = tally::tally(class, question, roll.totals, counted);
    let decision = Decision {
        total_area: u128::from(result.totals.area.hundredths()),
        total_heads: result.totals.heads as usize,
        part_area: u128::from(result.participating.area.hundredths()),
        part_heads: result.participating.heads as usize,
        quorum: result.quorum_by_area && result.quorum_by_heads,
        options: result
            .options
            .iter()
            .map(|o| (u128::from(o.area.hundredths()), o.heads as usize, o.passed))
            .collect(),
    };
    (decision, result.outcome)
}

/// The seats, as the rules give them: to passing candidates by agreeing
/// area, then agreeing heads; candidates level for the last seat share it
/// only if they all fit, else none of them takes it.
fn seat(decision: &Decision, seats: usize) -> (Vec<String>, Vec<String>) {
    let names = ["A", "B", "C"];
    let passing: Vec<(u128, usize, &str)> = decision
        .options
        .iter()
        .zip(names)
        .filter(|((_, _, passed), _)| *passed == Some(true))
        .map(|((area, heads, _), name)| (*area, *heads, name))
        .collect();
    let owned = |list: Vec<&str>| list.into_iter().map(str::to_owned).collect::<Vec<_>>();
    if passing.len() <= seats {
        return (owned(passing.iter().map(|p| p.2).collect()), Vec::new());
    }
    let mut keys: Vec<(u128, usize)> = passing.iter().map(|p| (p.0, p.1)).collect();
    keys.sort_unstable_by(|a, b| b.cmp(a));
    let cutoff = keys[seats - 1];
    let above: Vec<&str> = passing
        .iter()
        .filter(|p| (p.0, p.1) > cutoff)
        .map(|p| p.2)
        .collect();
    let level: Vec<&str> = passing
        .iter()
        .filter(|p| (p.0, p.1) == cutoff)
        .map(|p| p.2)
        .collect();
    if above.len() + level.len() <= seats {
        (owned(above.into_iter().chain(level).collect()), Vec::new())
    } else {
        (owned(above), owned(level))
    }
}

fn proposal_choice() -> impl Strategy<Value = Option<Choice>> {
    prop_oneof![
        2 => Just(None),
        4 => Just(Some(Choice::Agree)),
        2 => Just(Some(Choice::Disagree)),
        1 => Just(Some(Choice::Abstain)),
    ]
}

/// A unit: an area (in hundredths, up to 300 m²), one or two of eight
/// people as owners or nobody, sometimes sold but not handed over.
fn unit(ballot: impl Strategy<Value = Option<Choice>>) -> impl Strategy<Value = Unit> {
    (
        1u64..30_000,
        prop_oneof![
            1 => Just(BTreeSet::new()),
            6 => proptest::collection::btree_set(0usize..8, 1..=2),
        ],
        prop::bool::weighted(0.1),
        ballot,
    )
        .prop_map(|(hundredths, owners, unsold, ballot)| Unit {
            hundredths,
            owners,
            unsold,
            ballot,
        })
}

fn class() -> impl Strategy<Value = MatterClass> {
    proptest::sample::select(MatterClass::ALL.to_vec())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn a_proposal_is_decided_as_the_rules_read(
        units in proptest::collection::vec(unit(proposal_choice()), 1..40),
        class in class(),
    ) {
        let (decision, outcome) = scene(&units, class, &Question::Proposal);
        let expected = decide(&units, class, 3, 1);
        prop_assert_eq!(&decision, &expected);
        let carried = expected.options[0].2 == Some(true);
        let wanted = if !expected.quorum {
            Outcome::NoQuorum
        } else if carried {
            Outcome::Carried
        } else {
            Outcome::NotCarried
        };
        prop_assert_eq!(outcome, wanted);
    }

    #[test]
    fn each_candidate_is_decided_as_the_rules_read(
        units in proptest::collection::vec(
            unit(proptest::option::weighted(0.8, proptest::collection::btree_set(0u32..3, 0..=2)
                .prop_map(|picked| Choice::Approve(picked.into_iter().collect())))),
            1..40,
        ),
        class in class(),
    ) {
        let question = Question::from_draft(vec!["A".into(), "B".into(), "C".into()], Some(2)).unwrap();
        let (decision, outcome) = scene(&units, class, &question);
        let expected = decide(&units, class, 3, 3);
        prop_assert_eq!(&decision, &expected);
        let wanted = if expected.quorum {
            let (elected, tied) = seat(&expected, 2);
            Outcome::Elected { elected, tied }
        } else {
            Outcome::NoQuorum
        };
        let sorted = |outcome: Outcome| match outcome {
            Outcome::Elected { mut elected, mut tied } => {
                elected.sort();
                tied.sort();
                Outcome::Elected { elected, tied }
            }
            other => other,
        };
        prop_assert_eq!(sorted(outcome), sorted(wanted));
    }

    #[test]
    fn exactly_two_thirds_taking_part_is_a_quorum_and_one_fewer_is_not(
        k in 1usize..30,
        hundredths in 1u64..20_000,
        short in any::<bool>(),
    ) {
        let voters = 2 * k - usize::from(short);
        let units: Vec<Unit> = (0..3 * k)
            .map(|i| Unit {
                hundredths,
                owners: BTreeSet::from([i]),
                unsold: false,
                ballot: (i < voters).then_some(Choice::Agree),
            })
            .collect();
        let (decision, _) = scene(&units, MatterClass::OtherMajor, &Question::Proposal);
        prop_assert_eq!(&decision, &decide(&units, MatterClass::OtherMajor, 3, 1));
        prop_assert_eq!(decision.quorum, !short);
    }

    #[test]
    fn exactly_three_quarters_agreeing_carries_classes_six_to_eight(
        m in 1usize..25,
        class in proptest::sample::select(vec![
            MatterClass::RaiseMaintenanceFund,
            MatterClass::RebuildOrRenovate,
            MatterClass::CommonPartsUse,
        ]),
        short in any::<bool>(),
    ) {
        let agreeing = 3 * m - usize::from(short);
        let units: Vec<Unit> = (0..4 * m)
            .map(|i| Unit {
                hundredths: 8_920,
                owners: BTreeSet::from([i]),
                unsold: false,
                ballot: Some(if i < agreeing { Choice::Agree } else { Choice::Disagree }),
            })
            .collect();
        let (decision, outcome) = scene(&units, class, &Question::Proposal);
        prop_assert_eq!(&decision, &decide(&units, class, 3, 1));
        prop_assert_eq!(outcome, if short { Outcome::NotCarried } else { Outcome::Carried });
    }

    #[test]
    fn exactly_half_agreeing_is_not_more_than_half(
        m in 1usize..30,
        class in proptest::sample::select(vec![
            MatterClass::AssemblyRules,
            MatterClass::UseMaintenanceFund,
            MatterClass::OtherMajor,
        ]),
        one_more in any::<bool>(),
    ) {
        let agreeing = m + usize::from(one_more);
        let units: Vec<Unit> = (0..2 * m + 1)
            .map(|i| Unit {
                hundredths: 6_850,
                owners: BTreeSet::from([i]),
                unsold: false,
                // One unit stays out: 2m take part, of 2m + 1.
                ballot: (i < 2 * m).then_some(if i < agreeing { Choice::Agree } else { Choice::Abstain }),
            })
            .collect();
        let (decision, outcome) = scene(&units, class, &Question::Proposal);
        prop_assert_eq!(&decision, &decide(&units, class, 3, 1));
        prop_assert!(decision.quorum, "2m of 2m + 1 is over two thirds");
        prop_assert_eq!(outcome, if one_more { Outcome::Carried } else { Outcome::NotCarried });
    }

    #[test]
    fn one_owners_several_units_weigh_all_their_area_and_count_once(
        areas in proptest::collection::vec(1u64..30_000, 2..10),
        others in 1usize..10,
    ) {
        let mut units: Vec<Unit> = areas
            .iter()
            .map(|&hundredths| Unit { hundredths, owners: BTreeSet::from([99]), unsold: false, ballot: None })
            .collect();
        units.extend((0..others).map(|i| Unit {
            hundredths: 10_000,
            owners: BTreeSet::from([i]),
            unsold: i % 3 == 0,
            ballot: None,
        }));
        let (decision, _) = scene(&units, MatterClass::OtherMajor, &Question::Proposal);
        let developer = usize::from((0..others).any(|i| i % 3 == 0));
        let sold = (0..others).filter(|i| i % 3 != 0).count();
        prop_assert_eq!(decision.total_heads, 1 + sold + developer);
        let area: u64 = areas.iter().sum::<u64>() + 10_000 * others as u64;
        prop_assert_eq!(decision.total_area, u128::from(area));
    }
}

#[test]
fn the_plain_rationals_compare_as_fractions_do() {
    assert!(Ratio::new(2, 3) == Ratio::new(200, 300));
    assert!(Ratio::new(199, 300) < Ratio::new(2, 3));
    assert!(Ratio::new(3, 4) > Ratio::new(2, 3));
    assert!(Ratio::new(1, 2) < Ratio::new(51, 100));
    assert!(Ratio::new(5, 3) > Ratio::new(3, 2));
    assert!(Ratio::new(0, 5) < Ratio::new(1, 1000));
}
