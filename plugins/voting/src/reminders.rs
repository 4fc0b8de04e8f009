//! Reminding owners who have not voted, at most twice a motion (config
//! `reminders-before-close-ms`).
//!
//! A reminder goes to whoever could cast each unit still without a ballot:
//! its proxy while one stands, the co-owner holding it, every owner of a
//! unit nobody holds yet, the developer's voter for unsold units. Those
//! people are named one by one, so a reminder to thousands is sent in
//! rounds of at most [`PEOPLE_PER_ROUND`] a minute apart, within the host's
//! per-call and per-minute message limits.

use std::collections::{BTreeMap, BTreeSet};

use linli_sdk::{audience, Error};

use crate::authority::UnitVote;
use crate::due::Due;
use crate::layout::{self, Family, Shards};
use crate::motion::Motion;
use crate::notices::{self, Notice, REMINDER_TOPIC};
use crate::roll::Voter;

/// People named in one round: 50 messages of 50, half the host's 100
/// messages a call.
const PEOPLE_PER_ROUND: usize = 2_500;
/// How long after one round of a reminder the next is sent.
const ROUND_GAP_MS: i64 = 60_000;

/// Who could still cast a ballot that is missing.
pub fn not_yet_voted(
    roll: &BTreeMap<String, Voter>,
    votes: &BTreeMap<String, UnitVote>,
    developer_voter: Option<&str>,
) -> BTreeSet<String> {
    let mut people = BTreeSet::new();
    for (unit, voter) in roll {
        let vote = votes.get(unit).cloned().unwrap_or_default();
        if vote.ballot.is_some() {
            continue;
        }
        if let Some(proxy) = vote.proxy {
            people.insert(proxy.proxy);
        } else if voter.developer {
            people.extend(developer_voter.map(str::to_owned));
        } else if let Some(holder) = vote.holder {
            people.insert(holder);
        } else {
            people.extend(voter.owners.iter().cloned());
        }
    }
    people
}

/// A reminder timer fired: the next round of reminder `n`, after the
/// people already reminded in earlier rounds of it.
pub fn remind_due(id: &str, n: u32, now: i64) -> Result<(), Error> {
    let mut motion = layout::motion(id)?;
    if !motion.taking_ballots(now) || !notices::granted() {
        return Ok(());
    }
    let Some(opened) = motion.opened.clone() else {
        return Ok(());
    };
    let shards = Shards::new(&motion.id, opened.shards);
    let roll: BTreeMap<String, Voter> = shards.all(Family::Roll)?;
    let votes: BTreeMap<String, UnitVote> = shards.all(Family::Votes)?;
    // Rounds of this reminder resume after the last person they reached.
    let after = match motion.reminder_cursor.take() {
        Some((of, person)) if of == n => Some(person),
        other => {
            motion.reminder_cursor = other;
            None
        }
    };
    let waiting: Vec<String> = not_yet_voted(&roll, &votes, opened.developer_voter.as_deref())
        .into_iter()
        .filter(|p| after.as_ref().is_none_or(|after| p > after))
        .collect();
    let round: Vec<String> = waiting.iter().take(PEOPLE_PER_ROUND).cloned().collect();
    if let Some(first) = round.first() {
        notice(&motion, n, first).send(round.iter().map(|p| audience::person(p)).collect());
    }
    if waiting.len() > round.len() {
        motion.reminder_cursor = round.last().map(|last| (n, last.clone()));
        Due::Remind(motion.id.clone(), n).schedule(now + ROUND_GAP_MS)?;
    } else {
        motion.reminders_sent += 1;
    }
    layout::save_motion(&motion)
}

fn notice(motion: &Motion, n: u32, first: &str) -> Notice {
    Notice::about(
        motion,
        REMINDER_TOPIC,
        format!("Please vote: {}", motion.title),
        format!(
            "Your ballot on \"{}\" has not been cast yet. Voting closes at {} (host time, ms).",
            motion.title, motion.closes_at
        ),
        format!("{}/remind/{n}/{first}", motion.id),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::area::Area;
    use crate::authority::Proxy;
    use crate::ballot::EntryPlace;

    fn voter(owners: &[&str]) -> Voter {
        Voter {
            area: Area::from_hundredths(100),
            head: "h".into(),
            owners: owners.iter().map(|o| (*o).to_owned()).collect(),
            developer: owners.is_empty(),
        }
    }

    #[test]
    fn those_who_could_still_cast_a_missing_ballot_are_reminded() {
        let roll: BTreeMap<String, Voter> = [
            ("u1", voter(&["ann", "ben"])),
            ("u2", voter(&["cai", "dan"])),
            ("u3", voter(&["eve"])),
            ("u4", voter(&[])),
        ]
        .into_iter()
        .map(|(u, v)| (u.to_owned(), v))
        .collect();
        let mut votes = BTreeMap::new();
        votes.insert(
            "u2".to_owned(),
            UnitVote {
                holder: Some("dan".into()),
                ..UnitVote::default()
            },
        );
        votes.insert(
            "u3".to_owned(),
            UnitVote {
                holder: Some("eve".into()),
                proxy: Some(Proxy {
                    proxy: "pat".into(),
                    granted_by: "eve".into(),
                    document_sha256: String::new(),
                    entry: EntryPlace {
                        index: 0,
                        leaf_hash: String::new(),
                    },
                }),
                ..UnitVote::default()
            },
        );
        let people = not_yet_voted(&roll, &votes, Some("dev"));
        let expected: BTreeSet<String> = ["ann", "ben", "dan", "pat", "dev"]
            .iter()
            .map(|p| (*p).to_owned())
            .collect();
        assert_eq!(people, expected);
        assert!(!not_yet_voted(&roll, &votes, None).contains("dev"));
    }
}
