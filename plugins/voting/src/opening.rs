//! Scheduling and opening a motion.
//!
//! `open` schedules a draft: the notice period is checked, the roll is
//! built once to find a scope that cannot be voted on (a unit without an
//! area) while the committee can still fix the map, owners are told, and
//! the motion opens on its timer — or at once when its time has come.
//!
//! Opening freezes the roll into the plugin's store (in shards, see
//! [`crate::layout`]), records the motion and its roll on the ledger, sets
//! the reminder and close timers and tells the owners. A scope that no
//! longer freezes when the timer fires (the map changed since) withdraws
//! the motion with the reason rather than failing the timer for ever.

use std::collections::BTreeMap;

use linli_sdk::{log, Error};
use serde_json::{json, Value as Json};

use crate::config::Config;
use crate::due::Due;
use crate::eligibility;
use crate::layout::{self, shard_count, Family, PersonUnits, Shards};
use crate::motion::{Motion, Opened, Stage};
use crate::notices::{Notice, MOTION_TOPIC};
use crate::records::{self, MOTION_KIND, ROLL_KIND};
use crate::roll::{self, Roll, Totals};

/// The roll of `motion`'s scope as the map has it now.
fn freeze(motion: &Motion) -> Result<Roll, Error> {
    roll::freeze(eligibility::units(motion.scope.as_deref())?)
        .map_err(|refused| Error::Invalid(format!("scope: {refused}")))
}

/// Schedules a draft (the `open` command).
pub fn schedule(config: &Config, motion: &mut Motion, now: i64) -> Result<(), Error> {
    if motion.stage != Stage::Draft {
        return Err(Error::Invalid(format!(
            "motion: {} is {}; only a draft is opened",
            motion.id,
            motion.stage.name()
        )));
    }
    // A draft left lying past its opening time opens now: it must still
    // give owners the shortest voting time.
    let left = motion.closes_at - motion.opens_at.max(now);
    if left < config.min_voting_ms {
        return Err(Error::Invalid(format!(
            "closes_at: only {left} ms of voting would be left, under config min-voting-ms; draft it again"
        )));
    }
    let notice = motion.opens_at - now;
    if notice < config.min_notice_ms {
        return Err(Error::Invalid(format!(
            "opens_at: owners must be told {} ms ahead (config min-notice-ms); it opens in {notice}",
            config.min_notice_ms
        )));
    }
    if motion.opens_at <= now {
        return open(config, motion, now);
    }
    // Built only to refuse now a scope that could not be voted on.
    freeze(motion)?;
    motion.stage = Stage::Scheduled;
    Due::Open(motion.id.clone()).schedule(motion.opens_at)?;
    let body = format!(
        "The owners are asked to vote on \"{}\" from {} to {} (host time, ms). {}",
        motion.title, motion.opens_at, motion.closes_at, motion.text
    );
    let audience =
        eligibility::owners_audience(motion.scope.as_deref(), config.developer_voter.as_deref())?;
    Notice::about(
        motion,
        MOTION_TOPIC,
        format!("Owners' vote scheduled: {}", motion.title),
        body,
        format!("{}/scheduled", motion.id),
    )
    .send(audience);
    Ok(())
}

/// The open timer fired.
pub fn open_due(config: &Config, id: &str, now: i64) -> Result<(), Error> {
    let mut motion = layout::motion(id)?;
    if motion.stage != Stage::Scheduled {
        return Ok(());
    }
    match open(config, &mut motion, now) {
        Err(Error::Invalid(why)) => {
            log::warn(&format!("{id} could not open and is withdrawn: {why}"));
            motion.stage = Stage::Withdrawn;
            motion.withdrawn = Some(format!("could not open: {why}"));
            layout::save_motion(&motion)
        }
        outcome => outcome,
    }
}

/// Opens `motion` now: freezes, records, schedules and tells.
pub fn open(config: &Config, motion: &mut Motion, now: i64) -> Result<(), Error> {
    let roll = freeze(motion)?;
    let developer_voter = config.developer_voter.clone();
    let shards = Shards::new(&motion.id, shard_count(roll.totals.units));
    let people: BTreeMap<String, PersonUnits> = roll
        .units_by_person(developer_voter.as_deref())
        .into_iter()
        .map(|(person, owns)| {
            (
                person,
                PersonUnits {
                    owns,
                    proxied: Vec::new(),
                },
            )
        })
        .collect();
    shards.write_all(Family::People, people)?;
    let rows: Vec<Json> = roll
        .voters
        .iter()
        .map(|(unit, voter)| json!([unit, voter.area, voter.head]))
        .collect();
    shards.write_all(Family::Roll, roll.voters)?;
    layout::save_live(&motion.id, &Totals::default())?;

    let parts = records::parts(rows);
    let record = records::append(
        MOTION_KIND,
        &opening_body(
            motion,
            &roll.totals,
            developer_voter.as_deref(),
            parts.len(),
        ),
        &format!("{}/motion", motion.id),
    )?;
    let mut roll_records = Vec::with_capacity(parts.len());
    let of = parts.len();
    for (i, units) in parts.into_iter().enumerate() {
        let body = json!({"motion": motion.id, "part": i + 1, "of": of, "units": units});
        roll_records.push(
            records::append(ROLL_KIND, &body, &format!("{}/roll/{}", motion.id, i + 1))?.index,
        );
    }

    Due::Close(motion.id.clone()).schedule(motion.closes_at)?;
    for (n, before) in config.reminders_before_close_ms.iter().enumerate() {
        let at = motion.closes_at - before;
        if at > now {
            Due::Remind(motion.id.clone(), n as u32 + 1).schedule(at)?;
        }
    }
    motion.stage = Stage::Open;
    motion.opened = Some(Opened {
        at: now,
        totals: roll.totals,
        shards: shards.count(),
        developer_voter: developer_voter.clone(),
        record,
        roll_records,
    });
    layout::save_motion(motion)?;

    let audience =
        eligibility::owners_audience(motion.scope.as_deref(), developer_voter.as_deref())?;
    Notice::about(
        motion,
        MOTION_TOPIC,
        format!("Owners' vote open: {}", motion.title),
        format!(
            "Voting on \"{}\" is open until {} (host time, ms). {}",
            motion.title, motion.closes_at, motion.text
        ),
        format!("{}/opened", motion.id),
    )
    .send(audience);
    Ok(())
}

/// The `voting/motion` record: the motion exactly as it is voted on.
fn opening_body(
    motion: &Motion,
    totals: &Totals,
    developer_voter: Option<&str>,
    roll_parts: usize,
) -> Json {
    json!({
        "motion": motion.id,
        "title": motion.title,
        "text": motion.text,
        "attachments": motion.attachments,
        "class": motion.class,
        "item": motion.class.item(),
        "passing_bar": motion.class.passing_bar().describe(),
        "quorum": "at least 2/3 of the area and at least 2/3 of the owners",
        "question": motion.question,
        "scope": motion.scope,
        "opens_at": motion.opens_at,
        "closes_at": motion.closes_at,
        "secret": motion.secret,
        "ballots_may_change": motion.ballots_may_change,
        "drafted_by": motion.drafted_by,
        "totals": {"units": totals.units, "area_m2": totals.area, "owners": totals.heads},
        "developer_voter": developer_voter,
        "roll_parts": roll_parts,
    })
}
