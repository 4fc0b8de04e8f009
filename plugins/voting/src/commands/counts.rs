//! What may be counted aloud, and when:
//!
//! - `participation`: while voting, how many units, how much area and how
//!   many owners have voted, against both quorum lines — never how they
//!   voted. Those who run motions also see which units voted and who cast
//!   them, as they must to chase the quorum.
//! - `result`: only after the close, the published count.
//! - `my-ballot`: the caller's own ballots, with a secret ballot's nonce;
//!   units a co-owner cast show that they were cast, not how.

use linli_sdk::ledger;
use linli_sdk::{parse_input, Caller, Error};
use serde::Deserialize;
use serde_json::{json, Value as Json};

use super::casting::reply_line;
use super::readable;
use crate::authority::UnitVote;
use crate::ballot::Capacity;
use crate::callers;
use crate::layout::{self, Family, PersonUnits, Shards};
use crate::motion::{Motion, Opened, Stage};
use crate::threshold::QUORUM;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Named {
    motion: String,
}

fn opened(motion: &Motion) -> Result<&Opened, Error> {
    motion.opened.as_ref().ok_or_else(|| {
        Error::Invalid(format!(
            "motion: {} has not opened (it opens at {}); nothing is counted before",
            motion.id, motion.opens_at
        ))
    })
}

/// `participation {motion}` → turnout so far against the quorum.
pub fn participation(caller: &Caller, input: Json) -> Result<Json, Error> {
    let Named { motion } = parse_input(input)?;
    let motion = readable(caller, &motion)?;
    let opened = opened(&motion)?;
    let live = layout::live(&motion.id)?;
    let totals = opened.totals;
    let area = |h: u64| format!("{} m²", crate::area::Area::from_hundredths(h));
    let owners = |n: u64| format!("{n} owners");
    let by_area = QUORUM.check(live.area.hundredths(), totals.area.hundredths(), area);
    let by_owners = QUORUM.check(live.heads, totals.heads, owners);
    let mut reply = json!({
        "motion": motion.id,
        "stage": motion.stage,
        "closes_at": motion.closes_at,
        "units": {"voted": live.units, "of": totals.units},
        "area_m2": {"voted": live.area, "of": totals.area},
        "owners": {"voted": live.heads, "of": totals.heads},
        "quorum": by_area.met && by_owners.met,
        "by_area": by_area,
        "by_owners": by_owners,
    });
    if callers::runs_motions(caller, motion.scope.as_deref())? {
        let shards = Shards::new(&motion.id, opened.shards);
        let voted: Vec<Json> = shards
            .all::<UnitVote>(Family::Votes)?
            .into_iter()
            .filter_map(|(unit, vote)| {
                let ballot = vote.ballot?;
                Some(json!({"unit": unit, "cast_by": ballot.cast_by, "at": ballot.at}))
            })
            .collect();
        reply["voted"] = json!(voted);
    }
    Ok(reply)
}

/// The ledger entry at `index`, read back through the granted namespace.
fn entry_body(index: u64) -> Result<Json, Error> {
    let entries = ledger::entries(None, index.checked_sub(1), 1)
        .map_err(|e| Error::Internal(format!("ledger: {e:?}")))?;
    let entry = entries
        .into_iter()
        .find(|e| e.index == index)
        .ok_or_else(|| Error::Internal(format!("ledger: entry {index} is not readable")))?;
    let body: Json = serde_json::from_str(&entry.body)
        .map_err(|e| Error::Internal(format!("ledger: entry {index}: {e}")))?;
    Ok(body["body"].clone())
}

/// `result {motion}` → the published count, after the close only.
pub fn result(caller: &Caller, input: Json) -> Result<Json, Error> {
    let Named { motion } = parse_input(input)?;
    let motion = readable(caller, &motion)?;
    let Some(closed) = &motion.closed else {
        return Err(Error::Invalid(format!(
            "motion: {} is {}; its result is published when it closes at {} (participation shows turnout meanwhile)",
            motion.id,
            motion.stage.name(),
            motion.closes_at
        )));
    };
    let mut counted = Vec::new();
    let mut lines = Vec::new();
    for part in &closed.parts {
        let body = entry_body(*part)?;
        counted.extend(body["counted"].as_array().cloned().unwrap_or_default());
        lines.extend(body["lines"].as_array().cloned().unwrap_or_default());
    }
    let mut reply = json!({
        "motion": motion.id,
        "title": motion.title,
        "closed_at": closed.at,
        "result": closed.report,
        "tally_record": closed.record,
        "parts": closed.parts,
        "roll_records": motion.opened.as_ref().map(|o| o.roll_records.clone()),
        "counted": counted,
    });
    if motion.secret {
        reply["lines"] = json!(lines);
    }
    Ok(reply)
}

/// `my-ballot {motion}` → the caller's ballots (and those their proxy cast
/// for them), each with its record and, when secret, its nonce.
pub fn my_ballot(caller: &Caller, input: Json) -> Result<Json, Error> {
    let Named { motion } = parse_input(input)?;
    let person = callers::person(caller)?;
    let motion = readable(caller, &motion)?;
    let opened = opened(&motion)?;
    let shards = Shards::new(&motion.id, opened.shards);
    let mine: PersonUnits = shards.get(Family::People, person)?.unwrap_or_default();
    let mut ballots = Vec::new();
    let mut by_others = Vec::new();
    for unit in mine.all() {
        let vote: UnitVote = shards.get(Family::Votes, &unit)?.unwrap_or_default();
        let Some(ballot) = vote.ballot else {
            continue;
        };
        let cast_for_me =
            matches!(&ballot.capacity, Capacity::Proxy { for_person } if for_person == person);
        if ballot.cast_by == person || cast_for_me {
            let mut line = reply_line(&motion, &unit, &ballot, None);
            line["counted"] = json!(motion.stage == Stage::Closed);
            ballots.push(line);
        } else {
            by_others.push(json!({"unit": unit, "cast_by": ballot.cast_by, "seq": ballot.seq}));
        }
    }
    Ok(json!({"motion": motion.id, "ballots": ballots, "cast_by_others": by_others}))
}
