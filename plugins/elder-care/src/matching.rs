//! Who is asked to help, in which order, and how the circle widens.
//!
//! Only candidates with the skill the work needs (the map's skills, which
//! the community keeps, or skills members declared themselves) are asked.
//! They are ranked by availability first (windows that hold the work, then
//! members who declared no windows, then windows that hold part of it;
//! members whose windows miss it, or who are busy with another service at
//! that time, are left out), then by distance from the requester's home,
//! nearest first. Ties go by person id, so the order is the same on every
//! run.
//!
//! A request is offered in rounds. Round `k` (from 0) reaches
//! `radius · factor^k` metres and `group · (k + 1)` people in all: each
//! widening asks as many people again, from a wider circle.

use std::cmp::Ordering;

use crate::availability::Fit;

/// One possible helper.
#[derive(Debug, Clone, PartialEq)]
pub struct Candidate {
    pub person: String,
    /// Whether they have the skill the work needs (always, when it needs none).
    pub skilled: bool,
    pub fit: Fit,
    /// Metres from the requester's home; `None` when either home is not on the map.
    pub distance_m: Option<f64>,
    /// Already serving someone else at that time.
    pub busy: bool,
}

impl Candidate {
    fn eligible(&self) -> bool {
        self.skilled && self.fit != Fit::None && !self.busy
    }
}

/// Eligible candidates, best first.
pub fn rank(mut candidates: Vec<Candidate>) -> Vec<Candidate> {
    candidates.retain(Candidate::eligible);
    candidates.sort_by(|a, b| {
        a.fit
            .cmp(&b.fit)
            .then(by_distance(a.distance_m, b.distance_m))
            .then_with(|| a.person.cmp(&b.person))
    });
    candidates
}

/// Known distances first, nearest first.
fn by_distance(a: Option<f64>, b: Option<f64>) -> Ordering {
    match (a, b) {
        (Some(a), Some(b)) => a.total_cmp(&b),
        (Some(_), None) => Ordering::Less,
        (None, Some(_)) => Ordering::Greater,
        (None, None) => Ordering::Equal,
    }
}

/// How offers widen round by round.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Widening {
    /// People per round.
    pub group_size: u32,
    /// The first round's reach, metres.
    pub radius_m: f64,
    /// What each widening multiplies the reach by.
    pub factor: f64,
    /// How many rounds there are, the first included.
    pub rounds: u32,
}

impl Widening {
    /// The reach of round `round` (from 0), metres.
    pub fn radius_m(&self, round: u32) -> f64 {
        self.radius_m * self.factor.powi(round.min(i32::MAX as u32) as i32)
    }

    /// How many people round `round` has asked in all.
    pub fn reached(&self, round: u32) -> usize {
        self.group_size as usize * (round as usize + 1)
    }

    /// Whether a round follows `round`.
    pub fn widens_after(&self, round: u32) -> bool {
        round + 1 < self.rounds
    }
}

/// Whom round `round` asks next: the best ranked candidates within its reach
/// not yet asked, until `already_asked` plus them make the round's number.
/// Candidates with no known distance are never within reach.
pub fn next_offers(
    ranked: &[Candidate],
    already_asked: usize,
    asked: impl Fn(&str) -> bool,
    widening: &Widening,
    round: u32,
) -> Vec<String> {
    let radius = widening.radius_m(round);
    let room = widening.reached(round).saturating_sub(already_asked);
    ranked
        .iter()
        .filter(|c| !asked(&c.person))
        .filter(|c| c.distance_m.is_some_and(|d| d <= radius))
        .take(room)
        .map(|c| c.person.clone())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn candidate(person: &str, fit: Fit, distance_m: f64) -> Candidate {
        Candidate {
            person: person.to_owned(),
            skilled: true,
            fit,
            distance_m: Some(distance_m),
            busy: false,
        }
    }

    /// A candidate who declared no windows, `distance_m` away.
    fn undeclared(person: &str, distance_m: f64) -> Candidate {
        candidate(person, Fit::Unknown, distance_m)
    }

    /// A candidate whose home is not on the map.
    fn off_the_map(person: &str) -> Candidate {
        Candidate {
            distance_m: None,
            ..undeclared(person, 0.0)
        }
    }

    fn names(ranked: &[Candidate]) -> Vec<&str> {
        ranked.iter().map(|c| c.person.as_str()).collect()
    }

    const WIDENING: Widening = Widening {
        group_size: 1,
        radius_m: 50.0,
        factor: 2.0,
        rounds: 3,
    };

    #[test]
    fn the_nearest_available_skilled_volunteer_comes_first() {
        let ranked = rank(vec![
            candidate("far-unknown", Fit::Unknown, 98.5),
            Candidate {
                skilled: false,
                ..candidate("no-skill", Fit::Full, 3.0)
            },
            candidate("weekends-only", Fit::None, 10.0),
            candidate("upstairs-unknown", Fit::Unknown, 21.9),
            candidate("next-door-free", Fit::Full, 10.0),
            candidate("partly-free", Fit::Partial, 5.0),
            Candidate {
                busy: true,
                ..candidate("busy", Fit::Full, 1.0)
            },
        ]);
        assert_eq!(
            names(&ranked),
            [
                "next-door-free",
                "upstairs-unknown",
                "far-unknown",
                "partly-free"
            ],
            "availability first, then distance; no skill, no time or busy: not asked"
        );
    }

    #[test]
    fn ties_are_broken_by_distance_then_id() {
        let ranked = rank(vec![
            undeclared("b", 20.0),
            undeclared("a", 20.0),
            undeclared("c", 5.0),
            off_the_map("homeless"),
        ]);
        assert_eq!(names(&ranked), ["c", "a", "b", "homeless"]);
    }

    #[test]
    fn each_round_reaches_further_and_asks_as_many_again() {
        let ranked = rank(vec![
            undeclared("at-10", 10.0),
            undeclared("at-22", 22.0),
            undeclared("at-99", 99.0),
            undeclared("at-250", 250.0),
            off_the_map("nowhere"),
        ]);
        let mut asked: Vec<String> = Vec::new();
        for (round, expected) in [(0, ["at-10"]), (1, ["at-22"]), (2, ["at-99"])] {
            let next = next_offers(
                &ranked,
                asked.len(),
                |p| asked.iter().any(|a| a == p),
                &WIDENING,
                round,
            );
            assert_eq!(next, expected, "round {round}");
            asked.extend(next);
        }
        assert!(WIDENING.widens_after(1));
        assert!(!WIDENING.widens_after(2), "three rounds in all");
        assert_eq!(WIDENING.radius_m(2), 200.0);
    }

    #[test]
    fn a_round_fills_up_from_further_out_when_the_near_ones_are_asked() {
        let widening = Widening {
            group_size: 2,
            ..WIDENING
        };
        let ranked = rank(vec![
            undeclared("at-10", 10.0),
            undeclared("at-40", 40.0),
            undeclared("at-60", 60.0),
            undeclared("at-90", 90.0),
        ]);
        let first = next_offers(&ranked, 0, |_| false, &widening, 0);
        assert_eq!(first, ["at-10", "at-40"]);
        let second = next_offers(&ranked, 2, |p| first.iter().any(|a| a == p), &widening, 1);
        assert_eq!(second, ["at-60", "at-90"]);
        assert!(next_offers(&ranked, 4, |_| true, &widening, 2).is_empty());
    }
}
