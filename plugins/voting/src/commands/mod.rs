//! The scene's commands, JSON in and out (README.md documents each):
//!
//! - motions ([`motions`]): `draft-motion`, `open`, `withdraw`, `motion`,
//!   `list-motions`;
//! - delegations ([`delegation`]): `designate`, `authorise-proxy`,
//!   `revoke-proxy`;
//! - ballots ([`casting`]): `vote`;
//! - counts ([`counts`]): `participation`, `result`, `my-ballot`.
//!
//! Refusals are `denied` (not yours to do), `not-found` (no such motion,
//! unit or person) or `invalid` (the input, or the motion's stage), each
//! naming the field.

mod casting;
mod counts;
mod delegation;
mod motions;

use linli_sdk::map::{self, LinkKind};
use linli_sdk::{Caller, Error};
use serde_json::Value as Json;

use crate::authority::{Refusal, UnitVote};
use crate::callers;
use crate::config::Config;
use crate::layout::{self, Family, Shards};
use crate::motion::{Motion, Stage};
use crate::roll::Voter;

/// Runs the command `name`.
pub fn run(config: &Config, caller: &Caller, name: &str, input: Json) -> Result<Json, Error> {
    match name {
        "draft-motion" => motions::draft(config, caller, input),
        "open" => motions::open(config, caller, input),
        "withdraw" => motions::withdraw(config, caller, input),
        "motion" => motions::view(caller, input),
        "list-motions" => motions::list(caller, input),
        "designate" => delegation::designate(caller, input),
        "authorise-proxy" => delegation::authorise(caller, input),
        "revoke-proxy" => delegation::revoke(caller, input),
        "vote" => casting::vote(caller, input),
        "participation" => counts::participation(caller, input),
        "result" => counts::result(caller, input),
        "my-ballot" => counts::my_ballot(caller, input),
        _ => Err(Error::Invalid(format!(
            "unknown command: {name} (draft-motion, open, withdraw, motion, list-motions, designate, \
             authorise-proxy, revoke-proxy, vote, participation, result, my-ballot)"
        ))),
    }
}

/// A motion the caller may read: drafts only for those who run motions.
fn readable(caller: &Caller, id: &str) -> Result<Motion, Error> {
    let motion = layout::motion(id)?;
    if motion.stage == Stage::Draft && !callers::runs_motions(caller, motion.scope.as_deref())? {
        // A draft is not yet anyone else's business: it is not there for them.
        return Err(Error::NotFound(format!("motion: no motion {id}")));
    }
    Ok(motion)
}

/// The shards of a motion taking ballots at `now`, or why it is not.
fn taking_ballots(motion: &Motion, now: i64) -> Result<Shards<'_>, Error> {
    let opened = motion
        .opened
        .as_ref()
        .filter(|_| motion.taking_ballots(now));
    match opened {
        Some(opened) => Ok(Shards::new(&motion.id, opened.shards)),
        None if now >= motion.closes_at => Err(Error::Invalid(format!(
            "motion: {} closed at {}",
            motion.id, motion.closes_at
        ))),
        None => Err(Error::Invalid(format!(
            "motion: {} is not open for ballots (it is {}; it opens at {})",
            motion.id,
            motion.stage.name(),
            motion.opens_at
        ))),
    }
}

/// A refusal about `unit` as the error a command answers.
fn refused(refusal: Refusal, unit: &str) -> Error {
    let why = refusal.explain(unit);
    match refusal {
        Refusal::Final | Refusal::AlreadyCast | Refusal::NotACoOwner(_) => Error::Invalid(why),
        Refusal::NotTheirs
        | Refusal::HeldBy(_)
        | Refusal::Proxied { .. }
        | Refusal::DevelopersOnly { .. }
        | Refusal::NoProxyOfTheirs => Error::Denied(why),
    }
}

/// The units a command acts on: those it names (checked to be distinct),
/// or by default the caller's own. Says whether they were named.
fn chosen_units(
    named: Option<Vec<String>>,
    default: Vec<String>,
) -> Result<(Vec<String>, bool), Error> {
    let Some(named) = named else {
        return Ok((default, false));
    };
    if named.is_empty() {
        return Err(Error::Invalid(
            "units: name at least one unit, or leave units out for all of yours".into(),
        ));
    }
    for (i, unit) in named.iter().enumerate() {
        if named[..i].contains(unit) {
            return Err(Error::Invalid(format!("units[{i}]: {unit} is named twice")));
        }
    }
    Ok((named, true))
}

/// The refusal of a command that acted on none of the caller's units,
/// with the reason for each it skipped: `invalid` when the units' stage
/// stood in the way (a ballot cast already), `denied` when someone else's
/// hands did.
fn nothing_done(what: &str, motion: &str, skipped: &[(String, Refusal)]) -> Error {
    let Some((unit, first)) = skipped.first() else {
        return Error::Denied(format!(
            "units: you own no unit on the roll of {motion} and are nobody's proxy"
        ));
    };
    let reasons: Vec<String> = skipped.iter().map(|(u, r)| r.explain(u)).collect();
    let message = format!("units: none of yours can {what}: {}", reasons.join("; "));
    match refused(first.clone(), unit) {
        Error::Invalid(_) => Error::Invalid(message),
        _ => Error::Denied(message),
    }
}

/// The units a command skipped, as its reply lists them.
fn skipped_json(skipped: &[(String, Refusal)]) -> Json {
    Json::Array(
        skipped
            .iter()
            .map(|(unit, refusal)| serde_json::json!({"unit": unit, "why": refusal.explain(unit)}))
            .collect(),
    )
}

/// Why a person with nothing on a motion's roll may not vote on the units
/// the map now says they own: unsold units are the developer's, and owners
/// linked after the roll froze were not owners when it opened.
fn why_not_on_roll(
    shards: &Shards<'_>,
    person: &str,
    developer_voter: Option<&str>,
) -> Result<Vec<(String, Refusal)>, Error> {
    let linked = match map::get_person(person) {
        Ok(found) => found.links,
        Err(Error::NotFound(_)) => return Ok(Vec::new()),
        Err(other) => return Err(other),
    };
    let mut why = Vec::new();
    for link in linked.into_iter().filter(|l| l.kind == LinkKind::OwnerOf) {
        let Some(voter) = shards.get::<Voter>(Family::Roll, &link.target)? else {
            continue;
        };
        let vote: UnitVote = shards.get(Family::Votes, &link.target)?.unwrap_or_default();
        if let Err(refusal) = vote.capacity(&voter, developer_voter, person) {
            why.push((link.target, refusal));
        }
    }
    Ok(why)
}
