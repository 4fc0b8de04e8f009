//! Drafting, scheduling, withdrawing, reading and listing motions.
//!
//! Drafts are the committee's working papers: only those who run motions
//! of the scope see them. From the moment a motion is scheduled everyone
//! in the community may read it.

use linli_sdk::{parse_input, timer, Caller, Error};
use serde::Deserialize;
use serde_json::{json, Value as Json};

use super::readable;
use crate::authority::UnitVote;
use crate::callers;
use crate::config::Config;
use crate::due::Due;
use crate::eligibility;
use crate::layout::{self, Family, PersonUnits, Shards};
use crate::motion::{DraftInput, Stage};
use crate::notices::{Notice, MOTION_TOPIC};
use crate::opening;
use crate::roll::Voter;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Named {
    motion: String,
}

/// `draft-motion {...}` → the draft's summary with its id.
pub fn draft(config: &Config, caller: &Caller, input: Json) -> Result<Json, Error> {
    let input: DraftInput = parse_input(input)?;
    if let Some(scope) = &input.scope {
        eligibility::check_scope(scope)?;
    }
    callers::require_runs_motions(caller, input.scope.as_deref(), "draft motions")?;
    let id = layout::next_motion_id()?;
    let motion = input
        .into_motion(config, id, caller.name(), timer::now())
        .map_err(Error::Invalid)?;
    layout::save_motion(&motion)?;
    Ok(motion.view())
}

/// `open {motion}` → the motion, scheduled (or open, when its time has come).
pub fn open(config: &Config, caller: &Caller, input: Json) -> Result<Json, Error> {
    let Named { motion } = parse_input(input)?;
    let mut motion = readable(caller, &motion)?;
    callers::require_runs_motions(caller, motion.scope.as_deref(), "open motions")?;
    opening::schedule(config, &mut motion, timer::now())?;
    layout::save_motion(&motion)?;
    Ok(motion.view())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Withdraw {
    motion: String,
    #[serde(default)]
    reason: String,
}

/// `withdraw {motion, reason?}` → the withdrawn motion; drafts and
/// scheduled motions only: once open, owners are voting.
pub fn withdraw(config: &Config, caller: &Caller, input: Json) -> Result<Json, Error> {
    let asked: Withdraw = parse_input(input)?;
    let mut motion = readable(caller, &asked.motion)?;
    callers::require_runs_motions(caller, motion.scope.as_deref(), "withdraw motions")?;
    let was = motion.stage;
    if !matches!(was, Stage::Draft | Stage::Scheduled) {
        return Err(Error::Invalid(format!(
            "motion: {} is {}; only drafts and scheduled motions are withdrawn",
            motion.id,
            was.name()
        )));
    }
    Due::Open(motion.id.clone()).cancel()?;
    motion.stage = Stage::Withdrawn;
    let reason = asked.reason.trim();
    motion.withdrawn = Some(if reason.is_empty() {
        format!("withdrawn by {}", caller.name())
    } else {
        format!("withdrawn by {}: {reason}", caller.name())
    });
    layout::save_motion(&motion)?;
    if was == Stage::Scheduled {
        let audience = eligibility::owners_audience(
            motion.scope.as_deref(),
            config.developer_voter.as_deref(),
        )?;
        Notice::about(
            &motion,
            MOTION_TOPIC,
            format!("Owners' vote withdrawn: {}", motion.title),
            motion.withdrawn.clone().unwrap_or_default(),
            format!("{}/withdrawn", motion.id),
        )
        .send(audience);
    }
    Ok(motion.view())
}

/// `motion {motion}` → the motion, and for a person the units they have to
/// do with and where each stands.
pub fn view(caller: &Caller, input: Json) -> Result<Json, Error> {
    let Named { motion } = parse_input(input)?;
    let motion = readable(caller, &motion)?;
    let mut view = motion.view();
    if let (Some(person), Some(opened)) = (caller.person.as_deref(), &motion.opened) {
        let shards = Shards::new(&motion.id, opened.shards);
        let mine: PersonUnits = shards.get(Family::People, person)?.unwrap_or_default();
        let mut units = Vec::new();
        for unit in mine.all() {
            let Some(voter) = shards.get::<Voter>(Family::Roll, &unit)? else {
                continue;
            };
            let vote: UnitVote = shards.get(Family::Votes, &unit)?.unwrap_or_default();
            let may_cast = vote.capacity(&voter, opened.developer_voter.as_deref(), person);
            units.push(json!({
                "unit": unit,
                "area_m2": voter.area,
                "owners": voter.owners,
                "may_cast": may_cast.is_ok(),
                "why_not": may_cast.err().map(|r| r.explain(&unit)),
                "holder": vote.holder,
                "proxy": vote.proxy.as_ref().map(|p| json!({"proxy": p.proxy, "granted_by": p.granted_by})),
                "cast": vote.ballot.as_ref().map(|b| json!({"by": b.cast_by, "seq": b.seq, "at": b.at})),
            }));
        }
        view["your_units"] = json!(units);
    }
    Ok(view)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct List {
    stage: Option<Stage>,
}

/// `list-motions {stage?}` → `{motions: [...]}`, oldest first.
pub fn list(caller: &Caller, input: Json) -> Result<Json, Error> {
    let List { stage } = parse_input(input)?;
    let mut listed = Vec::new();
    for motion in layout::motions()? {
        if stage.is_some_and(|s| s != motion.stage) {
            continue;
        }
        if motion.stage == Stage::Draft && !callers::runs_motions(caller, motion.scope.as_deref())?
        {
            continue;
        }
        listed.push(motion.summary());
    }
    Ok(json!({ "motions": listed }))
}
