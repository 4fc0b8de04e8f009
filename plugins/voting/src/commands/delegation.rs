//! Handing a unit's ballot to someone else: a co-owner designating the
//! co-owner who casts it, an owner authorising a proxy in writing, and
//! revoking that proxy before it has cast. The rules are
//! [`crate::authority`]'s; this is their reading and writing.

use linli_sdk::{map, parse_input, timer, Caller, Error};
use serde::Deserialize;
use serde_json::{json, Value as Json};

use super::{chosen_units, nothing_done, refused, skipped_json, taking_ballots};
use crate::authority::{Proxy, UnitVote};
use crate::callers;
use crate::layout::{self, Family, PersonUnits, Shards};
use crate::records::{self, PROXY_KIND};
use crate::roll::Voter;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Designate {
    motion: String,
    unit: String,
    designee: String,
}

fn roll_entry(shards: &Shards<'_>, field: &str, unit: &str) -> Result<Voter, Error> {
    shards
        .get(Family::Roll, unit)?
        .ok_or_else(|| Error::NotFound(format!("{field}: {unit} is not on this motion's roll")))
}

/// `designate {motion, unit, designee}` → who now holds the unit's ballot.
pub fn designate(caller: &Caller, input: Json) -> Result<Json, Error> {
    let asked: Designate = parse_input(input)?;
    let person = callers::person(caller)?;
    let motion = layout::motion(&asked.motion)?;
    let shards = taking_ballots(&motion, timer::now())?;
    let voter = roll_entry(&shards, "unit", &asked.unit)?;
    let mut vote: UnitVote = shards.get(Family::Votes, &asked.unit)?.unwrap_or_default();
    vote.designate(&voter, person, &asked.designee)
        .map_err(|r| refused(r, &asked.unit))?;
    shards.put(Family::Votes, &asked.unit, vote)?;
    Ok(json!({
        "motion": motion.id,
        "unit": asked.unit,
        "holder": asked.designee,
        "designated_by": person,
    }))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Authorise {
    motion: String,
    proxy: String,
    /// SHA-256 of the signed authorisation, lowercase hex.
    document_sha256: String,
    units: Option<Vec<String>>,
}

/// `authorise-proxy {motion, proxy, document_sha256, units?}` → the units
/// now in the proxy's hands, each with its `voting/proxy` record.
pub fn authorise(caller: &Caller, input: Json) -> Result<Json, Error> {
    let asked: Authorise = parse_input(input)?;
    let person = callers::person(caller)?;
    if asked.proxy == person {
        return Err(Error::Invalid("proxy: you cannot be your own proxy".into()));
    }
    let hex = asked.document_sha256.len() == 64
        && asked
            .document_sha256
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
    if !hex {
        return Err(Error::Invalid(
            "document_sha256: the signed authorisation's SHA-256, 64 lowercase hex digits".into(),
        ));
    }
    map::get_person(&asked.proxy).map_err(|e| match e {
        Error::NotFound(_) => {
            Error::NotFound(format!("proxy: no person {} in the map", asked.proxy))
        }
        other => other,
    })?;
    let motion = layout::motion(&asked.motion)?;
    let shards = taking_ballots(&motion, timer::now())?;
    let developer_voter = motion
        .opened
        .as_ref()
        .and_then(|o| o.developer_voter.clone());
    let mine: PersonUnits = shards.get(Family::People, person)?.unwrap_or_default();
    let (units, named) = chosen_units(asked.units, mine.owns)?;
    let mut granted = Vec::new();
    let mut skipped = Vec::new();
    for (i, unit) in units.iter().enumerate() {
        let voter = roll_entry(&shards, &format!("units[{i}]"), unit)?;
        let mut vote: UnitVote = shards.get(Family::Votes, unit)?.unwrap_or_default();
        match vote.claim_for_proxy(&voter, developer_voter.as_deref(), person) {
            Ok(()) => {}
            Err(refusal) if named => return Err(refused(refusal, unit)),
            Err(refusal) => {
                skipped.push((unit.clone(), refusal));
                continue;
            }
        }
        vote.proxy_records += 1;
        let body = json!({
            "motion": motion.id, "unit": unit, "action": "authorise",
            "owner": person, "proxy": asked.proxy, "document_sha256": asked.document_sha256,
        });
        let key = format!("{}/proxy/{unit}/{}", motion.id, vote.proxy_records);
        let entry = records::append(&format!("{PROXY_KIND}/{person}"), &body, &key)?;
        vote.proxy = Some(Proxy {
            proxy: asked.proxy.clone(),
            granted_by: person.to_owned(),
            document_sha256: asked.document_sha256.clone(),
            entry: entry.clone(),
        });
        shards.put(Family::Votes, unit, vote)?;
        shards.update(Family::People, &asked.proxy, |theirs: &mut PersonUnits| {
            if !theirs.proxied.contains(unit) {
                theirs.proxied.push(unit.clone());
            }
        })?;
        granted.push(json!({"unit": unit, "entry": entry}));
    }
    if granted.is_empty() {
        return Err(nothing_done(
            "be put in a proxy's hands",
            &motion.id,
            &skipped,
        ));
    }
    Ok(
        json!({"motion": motion.id, "proxy": asked.proxy, "units": granted, "skipped": skipped_json(&skipped)}),
    )
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Revoke {
    motion: String,
    units: Option<Vec<String>>,
}

/// `revoke-proxy {motion, units?}` → the units back in the caller's hands.
pub fn revoke(caller: &Caller, input: Json) -> Result<Json, Error> {
    let asked: Revoke = parse_input(input)?;
    let person = callers::person(caller)?;
    let motion = layout::motion(&asked.motion)?;
    let shards = taking_ballots(&motion, timer::now())?;
    let mine: PersonUnits = shards.get(Family::People, person)?.unwrap_or_default();
    let (units, named) = chosen_units(asked.units, mine.owns)?;
    let mut revoked = Vec::new();
    let mut skipped = Vec::new();
    for (i, unit) in units.iter().enumerate() {
        roll_entry(&shards, &format!("units[{i}]"), unit)?;
        let mut vote: UnitVote = shards.get(Family::Votes, unit)?.unwrap_or_default();
        let proxy = match vote.revoke(person) {
            Ok(proxy) => proxy,
            Err(refusal) if named => return Err(refused(refusal, unit)),
            // Units that never had a proxy of theirs are nothing to report.
            Err(crate::authority::Refusal::NoProxyOfTheirs) => continue,
            Err(refusal) => {
                skipped.push((unit.clone(), refusal));
                continue;
            }
        };
        vote.proxy_records += 1;
        let body = json!({
            "motion": motion.id, "unit": unit, "action": "revoke",
            "owner": person, "proxy": proxy.proxy, "document_sha256": proxy.document_sha256,
        });
        let key = format!("{}/proxy/{unit}/{}", motion.id, vote.proxy_records);
        let entry = records::append(&format!("{PROXY_KIND}/{person}"), &body, &key)?;
        shards.put(Family::Votes, unit, vote)?;
        shards.update(Family::People, &proxy.proxy, |theirs: &mut PersonUnits| {
            theirs.proxied.retain(|u| u != unit);
        })?;
        revoked.push(json!({"unit": unit, "proxy": proxy.proxy, "entry": entry}));
    }
    if revoked.is_empty() && skipped.is_empty() {
        return Err(Error::NotFound(format!(
            "units: you authorised no proxy in {} to revoke",
            motion.id
        )));
    }
    if revoked.is_empty() {
        return Err(nothing_done(
            "have their proxy revoked",
            &motion.id,
            &skipped,
        ));
    }
    Ok(json!({"motion": motion.id, "revoked": revoked, "skipped": skipped_json(&skipped)}))
}
