//! Closing a motion: counting the last ballot of every unit against the
//! frozen roll, and publishing the result so that anyone can recount it.
//!
//! The `voting/tally-part` records come first and list the ledger indices
//! of the counted ballots; the `voting/tally` record after them holds the
//! result with its arithmetic and names the parts. With the `voting/roll`
//! records (areas and heads) and the ballot records, anyone holding the
//! ledger entries recounts an open motion exactly.
//!
//! A secret motion's ballot records hold seals, not choices, so its parts
//! also carry one line per counted ballot, `[tag, choice, area_m2, head]`,
//! in the order of their tags and without their units (see
//! [`crate::ballot`]); `head` is a pseudonym drawn afresh at close for each
//! head, so lines of one owner's units can be counted once without saying
//! whose they are. The choices are recounted from the lines; each voter
//! finds their own line by its tag.

use std::collections::BTreeMap;

use linli_sdk::Error;
use serde_json::{json, Value as Json};

use crate::authority::UnitVote;
use crate::ballot::{fresh_nonce, Ballot};
use crate::config::MAX_REMINDERS;
use crate::due::Due;
use crate::eligibility;
use crate::layout::{self, Family, Shards};
use crate::motion::{Closed, Motion, Stage};
use crate::notices::{Notice, RESULT_TOPIC};
use crate::records::{self, TALLY_KIND, TALLY_PART_KIND};
use crate::roll::Voter;
use crate::tally::{self, Counted, Outcome, Tally};

/// The close timer fired.
pub fn close_due(id: &str, now: i64) -> Result<(), Error> {
    let mut motion = layout::motion(id)?;
    if motion.stage != Stage::Open {
        return Ok(());
    }
    close(&mut motion, now)
}

/// Counts, publishes and announces the result of an open motion.
pub fn close(motion: &mut Motion, now: i64) -> Result<(), Error> {
    let opened = motion
        .opened
        .clone()
        .ok_or_else(|| Error::Internal(format!("{} is open without a roll", motion.id)))?;
    let shards = Shards::new(&motion.id, opened.shards);
    let roll: BTreeMap<String, Voter> = shards.all(Family::Roll)?;
    let votes: BTreeMap<String, UnitVote> = shards.all(Family::Votes)?;
    let counted: Vec<(&Voter, &Ballot)> = votes
        .iter()
        .filter_map(|(unit, vote)| Some((roll.get(unit)?, vote.ballot.as_ref()?)))
        .collect();
    let result = tally::tally(
        motion.class,
        &motion.question,
        opened.totals,
        counted.iter().map(|(voter, ballot)| Counted {
            area: voter.area,
            head: &voter.head,
            choice: &ballot.choice,
        }),
    );
    let report = result.report();

    let mut indices: Vec<u64> = counted.iter().map(|(_, b)| b.entry.index).collect();
    indices.sort_unstable();
    let mut lists: Vec<(&str, Vec<Json>)> =
        vec![("counted", indices.into_iter().map(Json::from).collect())];
    if motion.secret {
        lists.push(("lines", secret_lines(&counted)?));
    }
    let mut parts = Vec::new();
    for (name, items) in lists {
        for chunk in records::parts(items) {
            let body = json!({"motion": motion.id, "part": parts.len() + 1, name: chunk});
            let key = format!("{}/tally-part/{}", motion.id, parts.len() + 1);
            parts.push(records::append(TALLY_PART_KIND, &body, &key)?.index);
        }
    }
    let body = json!({
        "motion": motion.id,
        "title": motion.title,
        "closed_at": now,
        "secret": motion.secret,
        "counted_ballots": counted.len(),
        "parts": parts,
        "result": report,
    });
    let record = records::append(TALLY_KIND, &body, &format!("{}/tally", motion.id))?;

    for n in 1..=MAX_REMINDERS as u32 {
        Due::Remind(motion.id.clone(), n).cancel()?;
    }
    motion.stage = Stage::Closed;
    motion.closed = Some(Closed {
        at: now,
        record,
        parts,
        report,
    });
    layout::save_motion(motion)?;

    let audience =
        eligibility::owners_audience(motion.scope.as_deref(), opened.developer_voter.as_deref())?;
    Notice::about(
        motion,
        RESULT_TOPIC,
        format!("Owners' vote result: {}", motion.title),
        announcement(motion, &result),
        format!("{}/result", motion.id),
    )
    .send(audience);
    Ok(())
}

/// The published lines of a secret motion, sorted by tag.
fn secret_lines(counted: &[(&Voter, &Ballot)]) -> Result<Vec<Json>, Error> {
    let mut pseudonyms: BTreeMap<&str, String> = BTreeMap::new();
    let mut lines = Vec::with_capacity(counted.len());
    for (voter, ballot) in counted {
        let sealed = ballot.sealed.as_ref().ok_or_else(|| {
            Error::Internal(format!("a secret ballot of {} has no seal", voter.head))
        })?;
        let head = match pseudonyms.get(voter.head.as_str()) {
            Some(head) => head.clone(),
            None => {
                let fresh = fresh_nonce()?[..16].to_owned();
                pseudonyms.insert(&voter.head, fresh.clone());
                fresh
            }
        };
        lines.push((
            sealed.tag(),
            json!([sealed.tag(), ballot.choice.text(), voter.area, head]),
        ));
    }
    lines.sort_by(|a, b| a.0.cmp(&b.0));
    Ok(lines.into_iter().map(|(_, line)| line).collect())
}

/// The result in a sentence or two, for the owners' inboxes.
fn announcement(motion: &Motion, result: &Tally) -> String {
    let part = &result.participating;
    let turnout = format!(
        "{} of {} m² and {} of {} owners took part",
        part.area, result.totals.area, part.heads, result.totals.heads
    );
    let decision = match &result.outcome {
        Outcome::NoQuorum => {
            "No quorum: fewer than two thirds took part, so nothing was decided.".to_owned()
        }
        Outcome::Carried => format!(
            "Carried ({} needed by area and by owners).",
            motion.class.passing_bar().describe()
        ),
        Outcome::NotCarried => format!(
            "Not carried ({} needed by area and by owners).",
            motion.class.passing_bar().describe()
        ),
        Outcome::Elected { elected, tied } if elected.is_empty() && tied.is_empty() => {
            format!(
                "No candidate reached {} by area and by owners.",
                motion.class.passing_bar().describe()
            )
        }
        Outcome::Elected { elected, tied } if tied.is_empty() => {
            format!("Elected: {}.", elected.join(", "))
        }
        Outcome::Elected { elected, tied } => format!(
            "Elected: {}; tied for the last seat: {}.",
            elected.join(", "),
            tied.join(", ")
        ),
    };
    format!("{turnout}. {decision} The count is on the ledger for anyone to check.")
}
