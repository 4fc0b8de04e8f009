//! The story's sixth chapter: the owners of building 3 vote to repaint
//! their stairwells from the maintenance fund (Civil Code art. 278, item
//! 5: more than half of the area and of the owners taking part, with two
//! thirds of both taking part). The motion is open for a minute, the
//! demo's shortest; participation shows while it runs, never choices; the
//! result comes with its arithmetic; one owner checks her ballot offline.

use std::path::Path;
use std::time::Duration;

use anyhow::{anyhow, Result};
use serde_json::{json, Value};

use super::api::Api;
use super::community::{Community, VOTING};
use super::observe::{clock, now_ms, say, text, verify_offline};

/// How long the motion is open: the scene's shortest allowed.
const OPEN_MS: i64 = 60_000;
const BUILDING: &str = "building-3";

/// `by_area` or `by_owners` of a result, in words: `1467.60 m² of 2201.40
/// m² (at least 2/3: 146760 × 3 = 440280 ≥ 220140 × 2 = 440280) met`.
fn measure(measure: &Value) -> String {
    format!(
        "{} of {} ({}: {}) {}",
        text(&measure["value"]),
        text(&measure["of"]),
        text(&measure["needs"]),
        text(&measure["working"]),
        if measure["met"] == true {
            "met"
        } else {
            "not met"
        }
    )
}

pub fn tell(c: &mut Community, linli: &Path, demo_dir: &Path) -> Result<()> {
    // It opens on its timer a moment from now: opening at once would leave
    // less than the shortest vote by the time the command runs.
    let now = now_ms() + 2_000;
    let drafted = c.command(&c.committee, VOTING, "draft-motion", json!({
        "title": "Repaint the stairwells of building 3",
        "text": "Spend 48,000 yuan of building 3's maintenance fund on repainting both stairwells, as quoted.",
        "attachments": [{"name": "quote.pdf", "sha256": "9f2b5c1d0e8a7f6b4c3d2e1f0a9b8c7d6e5f4a3b2c1d0e9f8a7b6c5d4e3f2a1b"}],
        "class": "use-maintenance-fund", "scope": BUILDING, "opens_at": now, "closes_at": now + OPEN_MS}))?;
    let motion = text(&drafted["motion"]).to_owned();
    c.command(&c.committee, VOTING, "open", json!({"motion": motion}))?;
    let opened = super::api::poll("the motion to open", || {
        let seen = c.command(&c.committee, VOTING, "motion", json!({"motion": motion}))?;
        Ok(if seen["stage"] == "open" {
            Ok(seen)
        } else {
            Err(seen.to_string())
        })
    })?;
    let totals = &opened["totals"];
    say(&format!(
        "The residents' committee puts {motion} to the owners of {BUILDING}: repaint the stairwells from the maintenance fund (art. 278 item 5: more than half of the area and of the owners taking part must agree, and two thirds of both must take part). The roll is frozen from the map as it opens: {} units, {} m², {} owners by head count. It closes at {}.",
        totals["units"], text(&totals["area_m2"]), totals["owners"], clock(now + OPEN_MS)
    ));

    let owners = c
        .map
        .owners_under(&format!("b{}-", &BUILDING[BUILDING.len() - 1..]));
    let mut first: Option<(String, Api, Value)> = None;
    let (mut agreed, mut against, mut abstained) = (0, 0, 0);
    for (i, (person, _)) in owners.iter().enumerate() {
        // Four in five take part; of those, most agree.
        let choice = match i % 10 {
            0 | 1 => continue,
            2 => "disagree",
            3 => "abstain",
            _ => "agree",
        };
        let owner = c.person(person)?;
        let voted = c.command(
            &owner,
            VOTING,
            "vote",
            json!({"motion": motion, "choice": choice}),
        )?;
        match choice {
            "agree" => agreed += 1,
            "disagree" => against += 1,
            _ => abstained += 1,
        }
        if first.is_none() {
            first = Some((person.clone(), owner, voted["ballots"][0].clone()));
        }
    }
    let turnout = c.command(
        &c.committee,
        VOTING,
        "participation",
        json!({"motion": motion}),
    )?;
    say(&format!(
        "{agreed} owners agree, {against} disagree, {abstained} abstain, each from their own phone; each ballot is a record on the ledger. Live participation, the only thing shown before the close: {} of {} units, {} of {} m², {} of {} owners (quorum {}).",
        turnout["units"]["voted"], turnout["units"]["of"], text(&turnout["area_m2"]["voted"]), text(&turnout["area_m2"]["of"]),
        turnout["owners"]["voted"], turnout["owners"]["of"], if turnout["quorum"] == true { "reached" } else { "not yet" }
    ));

    let (person, owner, ballot) =
        first.ok_or_else(|| anyhow!("nobody in {BUILDING} could vote"))?;
    let index = ballot["entry"]["index"]
        .as_u64()
        .ok_or_else(|| anyhow!("no ledger entry for the ballot: {ballot}"))?;
    let receipt = owner.get(&c.path(&format!("/ledger/entries/{index}/receipt")))?;
    let verified = verify_offline(c, linli, &demo_dir.join("ballot-receipt.json"), &receipt)?;
    say(&format!(
        "{} fetches her ballot's receipt (ledger entry {index}, target/demo/ballot-receipt.json) with her own token and checks it offline: {verified}",
        c.map.who_home(&person)
    ));

    let wait = (now + OPEN_MS - now_ms()).max(0) as u64;
    say(&format!(
        "The result stays hidden until the close, {} s from now…",
        wait / 1000
    ));
    std::thread::sleep(Duration::from_millis(wait));
    let result = super::api::poll("the motion's result", || {
        Ok(
            c.command(&c.committee, VOTING, "result", json!({"motion": motion}))
                .map_err(|e| e.to_string()),
        )
    })?;
    let counted = &result["result"];
    let agree = counted["options"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|o| o["option"] == "agree")
        .ok_or_else(|| anyhow!("no agree option in {result}"))?;
    say(&format!(
        "At the close the tally is published to every owner and recorded (ledger entry {}), with the arithmetic: participation by area {}, by owners {}; agreeing by area {}, by owners {}. Decision: {}. Anyone holding the {} counted ballot entries can recount it.",
        result["tally_record"]["index"],
        measure(&counted["participation"]["by_area"]),
        measure(&counted["participation"]["by_owners"]),
        measure(&agree["by_area"]),
        measure(&agree["by_owners"]),
        text(&counted["decision"]["outcome"]),
        result["counted"].as_array().map_or(0, Vec::len)
    ));
    Ok(())
}
