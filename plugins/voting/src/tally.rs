//! Counting: the counted ballots (the last one of each unit) against the
//! frozen roll, both measures always, exactly.
//!
//! - **Participation**: the units with a counted ballot, their area, and
//!   the heads with at least one of them; the quorum is two thirds of the
//!   total area *and* two thirds of the total heads.
//! - **Agreeing**: an option's area is the area of the ballots agreeing
//!   to it; its heads are the heads **all** of whose counted ballots agree
//!   to it. A head counts once, so when the ballots of one owner's units
//!   differ (a proxy for one, the owner for another) that owner took part
//!   without agreeing to either side; the result shows how many such
//!   split heads there were.
//! - **Passing**: both measures reach the class's bar
//!   ([`MatterClass::passing_bar`]) as shares of what took part, and the
//!   quorum is met. Without a quorum nothing passes.
//! - **Elections**: each candidate passes or not on its own. When more
//!   candidates pass than there are seats, the seats go to those with the
//!   most agreeing area, then the most agreeing heads; candidates tied on
//!   both for the last seat are all left unelected (`tied`) for a runoff,
//!   since the law gives no order between them.

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::{json, Value as Json};

use crate::area::Area;
use crate::matter::MatterClass;
use crate::options::{Choice, Question};
use crate::roll::Totals;
use crate::threshold::{Check, QUORUM};

/// One counted ballot: its unit's weight and head, and its choice.
#[derive(Debug, Clone, Copy)]
pub struct Counted<'a> {
    pub area: Area,
    pub head: &'a str,
    pub choice: &'a Choice,
}

/// How much agreed to one option.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OptionCount {
    pub option: String,
    pub units: u64,
    pub area: Area,
    /// Heads all of whose counted ballots agree to it.
    pub heads: u64,
    /// Whether it passed; `None` for disagree and abstain, which decide nothing.
    pub passed: Option<bool>,
}

/// What the motion decided.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case", tag = "outcome")]
pub enum Outcome {
    /// Too few took part: nothing is decided.
    NoQuorum,
    Carried,
    NotCarried,
    Elected {
        elected: Vec<String>,
        /// Passing candidates tied for the last seat, elected by nobody yet.
        tied: Vec<String>,
    },
}

/// The count of one motion.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tally {
    pub class: MatterClass,
    pub totals: Totals,
    pub participating: Totals,
    pub quorum_by_area: bool,
    pub quorum_by_heads: bool,
    pub options: Vec<OptionCount>,
    /// Heads whose counted ballots do not all say the same.
    pub split_heads: u64,
    pub outcome: Outcome,
}

/// What one head's ballots say together.
#[derive(Default)]
struct Head {
    ballots: u64,
    /// Per option: how many of the head's ballots agree to it.
    agreeing: Vec<u64>,
    first: Option<Choice>,
    split: bool,
}

/// Counts `ballots` (one per unit that voted) of a motion of `class`
/// asking `question`, against the roll's `totals`.
pub fn tally<'a>(
    class: MatterClass,
    question: &Question,
    totals: Totals,
    ballots: impl IntoIterator<Item = Counted<'a>>,
) -> Tally {
    let names = question.options();
    let mut heads: BTreeMap<&str, Head> = BTreeMap::new();
    let mut participating = Totals::default();
    let mut options: Vec<OptionCount> = names
        .iter()
        .map(|name| OptionCount {
            option: name.clone(),
            units: 0,
            area: Area::default(),
            heads: 0,
            passed: None,
        })
        .collect();
    for ballot in ballots {
        participating.units += 1;
        participating.area += ballot.area;
        let head = heads.entry(ballot.head).or_default();
        head.ballots += 1;
        head.agreeing.resize(names.len(), 0);
        match &head.first {
            None => head.first = Some(ballot.choice.clone()),
            Some(first) if first != ballot.choice => head.split = true,
            Some(_) => {}
        }
        for (i, option) in options.iter_mut().enumerate() {
            if ballot.choice.agrees_to(i) {
                option.units += 1;
                option.area += ballot.area;
                head.agreeing[i] += 1;
            }
        }
    }
    participating.heads = heads.len() as u64;
    for head in heads.values() {
        for (i, option) in options.iter_mut().enumerate() {
            if head.agreeing[i] == head.ballots {
                option.heads += 1;
            }
        }
    }
    let quorum_by_area = QUORUM.met(participating.area.hundredths(), totals.area.hundredths());
    let quorum_by_heads = QUORUM.met(participating.heads, totals.heads);
    let quorum = quorum_by_area && quorum_by_heads;
    let bar = class.passing_bar();
    let decides = match question {
        Question::Proposal => 1,
        Question::Election { candidates, .. } => candidates.len(),
    };
    for option in options.iter_mut().take(decides) {
        option.passed = Some(
            quorum
                && bar.met(option.area.hundredths(), participating.area.hundredths())
                && bar.met(option.heads, participating.heads),
        );
    }
    let outcome = match question {
        _ if !quorum => Outcome::NoQuorum,
        Question::Proposal if options[0].passed == Some(true) => Outcome::Carried,
        Question::Proposal => Outcome::NotCarried,
        Question::Election { seats, .. } => seat(&options, *seats as usize),
    };
    Tally {
        class,
        totals,
        participating,
        quorum_by_area,
        quorum_by_heads,
        options,
        split_heads: heads.values().filter(|h| h.split).count() as u64,
        outcome,
    }
}

/// Fills `seats` from the passing candidates, most agreeing area first,
/// then most agreeing heads, leaving a tie for the last seat unfilled.
fn seat(options: &[OptionCount], seats: usize) -> Outcome {
    let mut passing: Vec<&OptionCount> =
        options.iter().filter(|o| o.passed == Some(true)).collect();
    passing.sort_by_key(|o| std::cmp::Reverse((o.area, o.heads)));
    let names = |list: &[&OptionCount]| list.iter().map(|o| o.option.clone()).collect::<Vec<_>>();
    if passing.len() <= seats {
        return Outcome::Elected {
            elected: names(&passing),
            tied: Vec::new(),
        };
    }
    let last = (passing[seats - 1].area, passing[seats - 1].heads);
    let (above, level): (Vec<&OptionCount>, Vec<&OptionCount>) =
        passing.iter().partition(|o| (o.area, o.heads) > last);
    let tied: Vec<&OptionCount> = level
        .into_iter()
        .filter(|o| (o.area, o.heads) == last)
        .collect();
    if above.len() + tied.len() <= seats {
        let mut elected = names(&above);
        elected.extend(names(&tied));
        return Outcome::Elected {
            elected,
            tied: Vec::new(),
        };
    }
    Outcome::Elected {
        elected: names(&above),
        tied: names(&tied),
    }
}

fn square_metres(hundredths: u64) -> String {
    format!("{} m²", Area::from_hundredths(hundredths))
}

fn owners(count: u64) -> String {
    format!("{count} owners")
}

impl Tally {
    /// The result as published: every number with the measure it is held
    /// against, the bar and the cross-multiplication.
    pub fn report(&self) -> Json {
        let bar = self.class.passing_bar();
        let part = &self.participating;
        let options: Vec<Json> = self
            .options
            .iter()
            .map(|o| {
                let mut line = json!({
                    "option": o.option,
                    "units": o.units,
                    "area_m2": o.area,
                    "owners": o.heads,
                });
                if let Some(passed) = o.passed {
                    line["passed"] = json!(passed);
                    line["by_area"] = json!(bar.check(
                        o.area.hundredths(),
                        part.area.hundredths(),
                        square_metres
                    ));
                    line["by_owners"] = json!(bar.check(o.heads, part.heads, owners));
                }
                line
            })
            .collect();
        let area_check: Check = QUORUM.check(
            part.area.hundredths(),
            self.totals.area.hundredths(),
            square_metres,
        );
        json!({
            "class": self.class,
            "item": self.class.item(),
            "totals": {"units": self.totals.units, "area_m2": self.totals.area, "owners": self.totals.heads},
            "participation": {
                "units": part.units,
                "area_m2": part.area,
                "owners": part.heads,
                "by_area": area_check,
                "by_owners": QUORUM.check(part.heads, self.totals.heads, owners),
                "quorum": self.quorum_by_area && self.quorum_by_heads,
            },
            "passing_bar": bar.describe(),
            "options": options,
            "split_owners": self.split_heads,
            "decision": self.outcome,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn totals(units: u64, area: u64, heads: u64) -> Totals {
        Totals {
            units,
            area: Area::from_hundredths(area),
            heads,
        }
    }

    fn ballot<'a>(area: u64, head: &'a str, choice: &'a Choice) -> Counted<'a> {
        Counted {
            area: Area::from_hundredths(area),
            head,
            choice,
        }
    }

    #[test]
    fn exactly_two_thirds_taking_part_is_a_quorum_and_more_than_half_carries() {
        let (agree, disagree) = (Choice::Agree, Choice::Disagree);
        let result = tally(
            MatterClass::UseMaintenanceFund,
            &Question::Proposal,
            totals(3, 300, 3),
            [ballot(100, "h1", &agree), ballot(100, "h2", &disagree)],
        );
        assert!(result.quorum_by_area && result.quorum_by_heads);
        // One of two agreeing is half, not more than half.
        assert_eq!(result.options[0].passed, Some(false));
        assert_eq!(result.outcome, Outcome::NotCarried);
    }

    #[test]
    fn area_and_heads_must_both_pass() {
        let (agree, disagree) = (Choice::Agree, Choice::Disagree);
        // The agreeing owner holds most of the area but is one head of three.
        let result = tally(
            MatterClass::OtherMajor,
            &Question::Proposal,
            totals(3, 1000, 3),
            [
                ballot(800, "h1", &agree),
                ballot(100, "h2", &disagree),
                ballot(100, "h3", &disagree),
            ],
        );
        assert_eq!(result.options[0].area.hundredths(), 800);
        assert_eq!(result.options[0].heads, 1);
        assert_eq!(result.outcome, Outcome::NotCarried);
    }

    #[test]
    fn three_quarters_exactly_carries_a_special_class() {
        let (agree, against) = (Choice::Agree, Choice::Abstain);
        let mut ballots = vec![ballot(100, "h4", &against)];
        ballots.extend(["h1", "h2", "h3"].map(|h| ballot(100, h, &agree)));
        let result = tally(
            MatterClass::RebuildOrRenovate,
            &Question::Proposal,
            totals(4, 400, 4),
            ballots,
        );
        assert_eq!(result.outcome, Outcome::Carried);
        assert_eq!(result.options[2].units, 1, "the abstention took part");
    }

    #[test]
    fn without_a_quorum_nothing_passes_however_one_sided() {
        let agree = Choice::Agree;
        let result = tally(
            MatterClass::AssemblyRules,
            &Question::Proposal,
            totals(3, 300, 3),
            [ballot(100, "h1", &agree)],
        );
        assert_eq!(result.outcome, Outcome::NoQuorum);
        assert_eq!(result.options[0].passed, Some(false));
    }

    #[test]
    fn a_head_whose_ballots_differ_took_part_without_agreeing() {
        let (agree, disagree) = (Choice::Agree, Choice::Disagree);
        let result = tally(
            MatterClass::OtherMajor,
            &Question::Proposal,
            totals(3, 300, 2),
            [
                ballot(100, "h1", &agree),
                ballot(100, "h1", &disagree),
                ballot(100, "h2", &agree),
            ],
        );
        assert_eq!(result.participating.heads, 2);
        assert_eq!(result.split_heads, 1);
        assert_eq!(result.options[0].heads, 1);
        assert_eq!(result.options[1].heads, 0);
        assert_eq!(result.options[0].area.hundredths(), 200);
        // 200 of 300 by area passes; 1 of 2 heads is not more than half.
        assert_eq!(result.outcome, Outcome::NotCarried);
    }

    fn election(seats: u32) -> Question {
        Question::from_draft(vec!["A".into(), "B".into(), "C".into()], Some(seats)).unwrap()
    }

    #[test]
    fn each_candidate_is_its_own_measure_and_the_most_area_takes_the_seats() {
        let ab = Choice::Approve(vec![0, 1]);
        let bc = Choice::Approve(vec![1, 2]);
        let ac = Choice::Approve(vec![0, 2]);
        let result = tally(
            MatterClass::OwnersCommittee,
            &election(2),
            totals(3, 600, 3),
            [
                ballot(300, "h1", &ab),
                ballot(200, "h2", &bc),
                ballot(100, "h3", &ac),
            ],
        );
        // A: 400, B: 500, C: 300 of 600 (each with two of three heads).
        let passed: Vec<Option<bool>> = result.options.iter().map(|o| o.passed).collect();
        assert_eq!(passed, [Some(true), Some(true), Some(false)]);
        assert_eq!(
            result.outcome,
            Outcome::Elected {
                elected: vec!["B".into(), "A".into()],
                tied: vec![]
            }
        );
    }

    #[test]
    fn a_tie_for_the_last_seat_elects_neither() {
        let ab = Choice::Approve(vec![0, 1]);
        let ac = Choice::Approve(vec![0, 2]);
        let bc = Choice::Approve(vec![1, 2]);
        // A: 4 of 5; B and C: 3 of 5 each, by area and by heads.
        let result = tally(
            MatterClass::OwnersCommittee,
            &election(2),
            totals(5, 500, 5),
            [
                ballot(100, "h1", &ab),
                ballot(100, "h2", &ab),
                ballot(100, "h3", &ac),
                ballot(100, "h4", &ac),
                ballot(100, "h5", &bc),
            ],
        );
        assert_eq!(
            result.outcome,
            Outcome::Elected {
                elected: vec!["A".into()],
                tied: vec!["B".into(), "C".into()]
            }
        );
    }

    #[test]
    fn the_report_shows_the_working() {
        let agree = Choice::Agree;
        let result = tally(
            MatterClass::UseMaintenanceFund,
            &Question::Proposal,
            totals(3, 26760, 3),
            [ballot(8920, "h1", &agree), ballot(8920, "h2", &agree)],
        );
        let report = result.report();
        assert_eq!(report["totals"]["area_m2"], "267.60");
        assert_eq!(report["participation"]["by_area"]["met"], true);
        assert_eq!(
            report["participation"]["by_area"]["working"],
            "17840 × 3 = 53520 ≥ 26760 × 2 = 53520"
        );
        assert_eq!(report["options"][0]["by_owners"]["needs"], "more than 1/2");
        assert_eq!(report["decision"]["outcome"], "carried");
        assert!(report["options"][1].get("passed").is_none());
    }
}
