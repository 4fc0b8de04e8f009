//! `vote`: casting (or, where the motion allows, changing) the ballots of
//! one or more units in one command.
//!
//! Each unit is still its own ballot and its own ledger record. Without
//! `units` the command casts every unit the caller may cast now — those
//! they own, hold, or are proxy for — and says which of theirs it skipped
//! and why (a co-owner holds it, a proxy stands for it). Units named in
//! `units` are all cast or none: one the caller may not cast refuses the
//! whole command.

use linli_sdk::{parse_input, timer, Caller, Error};
use serde::Deserialize;
use serde_json::{json, Value as Json};

use super::{chosen_units, nothing_done, refused, skipped_json, taking_ballots, why_not_on_roll};
use crate::authority::UnitVote;
use crate::ballot::{Ballot, Capacity, Sealed};
use crate::callers;
use crate::layout::{self, Family, PersonUnits};
use crate::motion::Motion;
use crate::options::Choice;
use crate::records::{self, BALLOT_KIND};
use crate::roll::Voter;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct VoteInput {
    motion: String,
    /// A proposal's `agree`, `disagree` or `abstain`.
    choice: Option<String>,
    /// An election's approved candidates.
    approve: Option<Vec<String>>,
    units: Option<Vec<String>>,
}

/// `vote {motion, choice | approve, units?}` → `{ballots, skipped}`.
pub fn vote(caller: &Caller, input: Json) -> Result<Json, Error> {
    let input: VoteInput = parse_input(input)?;
    let person = callers::person(caller)?;
    let motion = layout::motion(&input.motion)?;
    let now = timer::now();
    let shards = taking_ballots(&motion, now)?;
    let developer_voter = motion
        .opened
        .as_ref()
        .and_then(|o| o.developer_voter.clone());
    let choice = motion
        .question
        .choice(input.choice.as_deref(), input.approve.as_deref())
        .map_err(Error::Invalid)?;
    let mine: PersonUnits = shards.get(Family::People, person)?.unwrap_or_default();
    let (units, named) = chosen_units(input.units, mine.all())?;

    let mut live = layout::live(&motion.id)?;
    let mut ballots = Vec::new();
    let mut skipped = Vec::new();
    for (i, unit) in units.iter().enumerate() {
        let voter: Voter = shards.get(Family::Roll, unit)?.ok_or_else(|| {
            Error::NotFound(format!(
                "units[{i}]: {unit} is not on the roll of {}",
                motion.id
            ))
        })?;
        let mut vote: UnitVote = shards.get(Family::Votes, unit)?.unwrap_or_default();
        let capacity = match vote.claim_for_casting(
            &voter,
            developer_voter.as_deref(),
            person,
            motion.ballots_may_change,
        ) {
            Ok(capacity) => capacity,
            Err(refusal) if named => return Err(refused(refusal, unit)),
            Err(refusal) => {
                skipped.push((unit.clone(), refusal));
                continue;
            }
        };
        let replaces = vote.ballot.as_ref().map(|b| b.seq);
        let seq = replaces.map_or(1, |seq| seq + 1);
        let sealed = if motion.secret {
            Some(Sealed::new(&motion.id, unit, seq, &choice)?)
        } else {
            None
        };
        let body = record_body(
            &motion,
            unit,
            seq,
            person,
            &capacity,
            &choice,
            sealed.as_ref(),
        );
        // Named after its caster, so their own token may read its receipt.
        let kind = format!("{BALLOT_KIND}/{person}");
        let entry = records::append(&kind, &body, &format!("{}/ballot/{unit}/{seq}", motion.id))?;
        let ballot = Ballot {
            seq,
            choice: choice.clone(),
            cast_by: person.to_owned(),
            capacity,
            at: now,
            entry,
            sealed,
        };
        ballots.push(reply_line(&motion, unit, &ballot, replaces));
        vote.ballot = Some(ballot);
        shards.put(Family::Votes, unit, vote)?;
        if replaces.is_none() {
            live.units += 1;
            live.area += voter.area;
            let voted = shards.update(Family::Heads, &voter.head, |n: &mut u64| {
                *n += 1;
                *n
            })?;
            if voted == 1 {
                live.heads += 1;
            }
        }
    }
    if ballots.is_empty() {
        if units.is_empty() {
            skipped = why_not_on_roll(&shards, person, developer_voter.as_deref())?;
        }
        return Err(nothing_done("be cast", &motion.id, &skipped));
    }
    layout::save_live(&motion.id, &live)?;
    Ok(json!({ "motion": motion.id, "ballots": ballots, "skipped": skipped_json(&skipped) }))
}

/// The `voting/ballot` record: the choice in clear on an open motion, its
/// seal on a secret one.
fn record_body(
    motion: &Motion,
    unit: &str,
    seq: u32,
    person: &str,
    capacity: &Capacity,
    choice: &Choice,
    sealed: Option<&Sealed>,
) -> Json {
    let mut body = json!({
        "motion": motion.id,
        "unit": unit,
        "seq": seq,
        "cast_by": person,
        "capacity": capacity,
    });
    match sealed {
        Some(sealed) => body["seal"] = json!(sealed.seal),
        None => body["choice"] = motion.question.show(choice),
    }
    body
}

/// What the voter is told of one ballot: where it is recorded and, on a
/// secret motion, what they need to check it later.
pub fn reply_line(motion: &Motion, unit: &str, ballot: &Ballot, replaces: Option<u32>) -> Json {
    let mut line = json!({
        "unit": unit,
        "seq": ballot.seq,
        "choice": motion.question.show(&ballot.choice),
        "capacity": ballot.capacity,
        "entry": ballot.entry,
        "receipt": format!("GET /api/v1/communities/{{community}}/ledger/entries/{}/receipt", ballot.entry.index),
    });
    if let Some(seq) = replaces {
        line["replaces"] = json!(seq);
    }
    if let Some(sealed) = &ballot.sealed {
        line["nonce"] = json!(sealed.nonce);
        line["seal"] = json!(sealed.seal);
        line["tag"] = json!(sealed.tag());
        line["choice_text"] = json!(ballot.choice.text());
    }
    line
}
