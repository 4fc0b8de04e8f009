//! What a ballot may say: agree, disagree or abstain on a proposal, or
//! which candidates the voter approves of in an election (electing the
//! owners' committee, choosing a property manager).
//!
//! An election is counted candidate by candidate: each candidate is a
//! proposal of its own ("elect Li Wei"), agreed to by the ballots that
//! approve of them and measured against the motion's bar like any other.
//! A ballot approves of at most as many candidates as there are seats; one
//! approving of nobody took part without agreeing to anyone, as an
//! abstention does.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};
use serde_json::{json, Value as Json};

/// Longest candidate name, in characters.
const MAX_CANDIDATE_CHARS: usize = 100;
/// Most candidates one election may have.
pub const MAX_CANDIDATES: usize = 50;

/// What a motion asks.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", tag = "kind")]
pub enum Question {
    /// One proposal: agree, disagree or abstain.
    Proposal,
    /// Candidates for `seats` places; a ballot approves of some of them.
    Election { candidates: Vec<String>, seats: u32 },
}

/// One ballot's choice. Candidates are named by their position in the
/// motion's list, so the text a seal hashes never depends on how a name
/// is spelled or escaped.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Choice {
    Agree,
    Disagree,
    Abstain,
    /// The candidates approved of, by position, ascending.
    Approve(Vec<u32>),
}

impl Question {
    /// The question a draft asks: an election when it names candidates.
    pub fn from_draft(candidates: Vec<String>, seats: Option<u32>) -> Result<Self, String> {
        if candidates.is_empty() {
            return match seats {
                Some(_) => Err("seats: only an election (with candidates) has seats".to_owned()),
                None => Ok(Question::Proposal),
            };
        }
        if candidates.len() > MAX_CANDIDATES {
            return Err(format!("candidates: at most {MAX_CANDIDATES}"));
        }
        let mut seen = BTreeSet::new();
        for (i, name) in candidates.iter().enumerate() {
            let chars = name.trim().chars().count();
            if chars == 0 || chars > MAX_CANDIDATE_CHARS || name.trim() != name {
                return Err(format!(
                    "candidates[{i}]: 1-{MAX_CANDIDATE_CHARS} characters without leading or trailing spaces"
                ));
            }
            if !seen.insert(name.as_str()) {
                return Err(format!("candidates[{i}]: {name:?} is named twice"));
            }
        }
        let seats = seats.unwrap_or(1);
        if seats == 0 || seats as usize > candidates.len() {
            return Err(format!(
                "seats: between 1 and the {} candidates",
                candidates.len()
            ));
        }
        Ok(Question::Election { candidates, seats })
    }

    /// The choice a vote's input makes: `choice` for a proposal, `approve`
    /// (candidate names) for an election. The error names the field.
    pub fn choice(
        &self,
        choice: Option<&str>,
        approve: Option<&[String]>,
    ) -> Result<Choice, String> {
        match (self, choice, approve) {
            (Question::Proposal, Some(said), None) => match said {
                "agree" => Ok(Choice::Agree),
                "disagree" => Ok(Choice::Disagree),
                "abstain" => Ok(Choice::Abstain),
                other => Err(format!(
                    "choice: {other:?} is not agree, disagree or abstain"
                )),
            },
            (Question::Proposal, _, _) => Err(
                "choice: a proposal takes choice (agree, disagree or abstain), not approve".to_owned(),
            ),
            (Question::Election { candidates, seats }, None, Some(names)) => {
                let mut picked = BTreeSet::new();
                for (i, name) in names.iter().enumerate() {
                    let position = candidates
                        .iter()
                        .position(|c| c == name)
                        .ok_or_else(|| format!("approve[{i}]: {name:?} is not a candidate"))?;
                    if !picked.insert(position as u32) {
                        return Err(format!("approve[{i}]: {name:?} is named twice"));
                    }
                }
                if picked.len() > *seats as usize {
                    return Err(format!(
                        "approve: at most {seats} candidate(s), one per seat"
                    ));
                }
                Ok(Choice::Approve(picked.into_iter().collect()))
            }
            (Question::Election { .. }, _, _) => Err(
                "approve: an election takes approve (a list of candidates, possibly empty), not choice"
                    .to_owned(),
            ),
        }
    }

    /// The options a result reports on, in order: agree, disagree, abstain
    /// for a proposal; each candidate for an election.
    pub fn options(&self) -> Vec<String> {
        match self {
            Question::Proposal => vec!["agree".into(), "disagree".into(), "abstain".into()],
            Question::Election { candidates, .. } => candidates.clone(),
        }
    }

    /// A choice as people read it: `"agree"`, or `{"approve": ["Li Wei"]}`.
    pub fn show(&self, choice: &Choice) -> Json {
        match (self, choice) {
            (Question::Election { candidates, .. }, Choice::Approve(picked)) => {
                let names: Vec<&str> = picked
                    .iter()
                    .filter_map(|i| candidates.get(*i as usize).map(String::as_str))
                    .collect();
                json!({ "approve": names })
            }
            (_, other) => json!(other.text()),
        }
    }
}

impl Choice {
    /// The exact text a secret ballot's seal hashes: `agree`, `disagree`,
    /// `abstain`, or `approve:` and the candidates' positions joined by
    /// commas (`approve:0,2`; `approve:` for nobody).
    pub fn text(&self) -> String {
        match self {
            Choice::Agree => "agree".to_owned(),
            Choice::Disagree => "disagree".to_owned(),
            Choice::Abstain => "abstain".to_owned(),
            Choice::Approve(picked) => {
                let positions: Vec<String> = picked.iter().map(u32::to_string).collect();
                format!("approve:{}", positions.join(","))
            }
        }
    }

    /// Whether this choice agrees to option `option` of `question`
    /// (`0` is "agree" for a proposal; a candidate's position otherwise).
    pub fn agrees_to(&self, option: usize) -> bool {
        match self {
            Choice::Agree => option == 0,
            Choice::Disagree => option == 1,
            Choice::Abstain => option == 2,
            Choice::Approve(picked) => picked.contains(&(option as u32)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn election() -> Question {
        Question::from_draft(
            vec!["Li Wei".into(), "Wang Fang".into(), "Zhao Min".into()],
            Some(2),
        )
        .unwrap()
    }

    #[test]
    fn a_draft_without_candidates_is_a_proposal() {
        assert_eq!(
            Question::from_draft(Vec::new(), None),
            Ok(Question::Proposal)
        );
        assert!(Question::from_draft(Vec::new(), Some(1))
            .unwrap_err()
            .starts_with("seats"));
    }

    #[test]
    fn an_election_needs_distinct_names_and_seats_it_can_fill() {
        assert!(Question::from_draft(vec!["A".into(), "A".into()], None)
            .unwrap_err()
            .starts_with("candidates[1]"));
        assert!(Question::from_draft(vec!["A".into()], Some(2))
            .unwrap_err()
            .starts_with("seats"));
        assert!(Question::from_draft(vec![" A".into()], None)
            .unwrap_err()
            .starts_with("candidates[0]"));
        assert_eq!(
            Question::from_draft(vec!["A".into()], None),
            Ok(Question::Election {
                candidates: vec!["A".into()],
                seats: 1
            })
        );
    }

    #[test]
    fn a_proposal_takes_agree_disagree_or_abstain() {
        let q = Question::Proposal;
        assert_eq!(q.choice(Some("agree"), None), Ok(Choice::Agree));
        assert_eq!(q.choice(Some("abstain"), None), Ok(Choice::Abstain));
        assert!(q
            .choice(Some("yes"), None)
            .unwrap_err()
            .starts_with("choice"));
        assert!(q.choice(None, Some(&[])).unwrap_err().starts_with("choice"));
    }

    #[test]
    fn an_election_ballot_approves_of_at_most_one_candidate_a_seat() {
        let q = election();
        let names = |n: &[&str]| n.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
        assert_eq!(
            q.choice(None, Some(&names(&["Zhao Min", "Li Wei"]))),
            Ok(Choice::Approve(vec![0, 2]))
        );
        assert_eq!(q.choice(None, Some(&[])), Ok(Choice::Approve(vec![])));
        let too_many = q.choice(None, Some(&names(&["Li Wei", "Wang Fang", "Zhao Min"])));
        assert!(too_many.unwrap_err().starts_with("approve:"));
        let unknown = q.choice(None, Some(&names(&["Li Wei", "Nobody"])));
        assert!(unknown.unwrap_err().starts_with("approve[1]"));
        assert!(q
            .choice(Some("agree"), None)
            .unwrap_err()
            .starts_with("approve"));
    }

    #[test]
    fn the_hashed_text_names_candidates_by_position() {
        assert_eq!(Choice::Approve(vec![0, 2]).text(), "approve:0,2");
        assert_eq!(Choice::Approve(vec![]).text(), "approve:");
        assert_eq!(Choice::Disagree.text(), "disagree");
        let q = election();
        assert_eq!(
            q.show(&Choice::Approve(vec![1])),
            json!({"approve": ["Wang Fang"]})
        );
        assert_eq!(Question::Proposal.show(&Choice::Agree), json!("agree"));
    }

    #[test]
    fn a_choice_agrees_only_to_its_own_option() {
        assert!(Choice::Agree.agrees_to(0));
        assert!(!Choice::Abstain.agrees_to(0));
        assert!(Choice::Abstain.agrees_to(2));
        assert!(Choice::Approve(vec![1, 2]).agrees_to(2));
        assert!(!Choice::Approve(vec![1, 2]).agrees_to(0));
    }
}
