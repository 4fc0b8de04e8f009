//! The story's fifth chapter: parking. The office tower's spaces are
//! shared with residents; one reserves, parks and pays the tenant in
//! points with a receipt; a neighbour's overlapping reservation is
//! refused; a car left on the fire lane of building 3, where chapter 3's
//! fire is still confirmed, is a critical alarm for security.

use anyhow::{anyhow, Result};
use serde_json::{json, Value};

use super::community::{Community, LANE_SECONDS, PARKING};
use super::observe::{await_alarm, await_messages, clock, now_ms, say, text, HOUR};

/// A resident of b3-201 who drives.
const DRIVER: &str = "person-120";
/// Her neighbour across the landing, in b3-202.
const NEIGHBOUR: &str = "person-122";
const SPACE: &str = "office-p01";
/// The fire lane beside building 3, on fire since chapter 3.
const LANE: &str = "lane-b3";

pub fn tell(c: &mut Community) -> Result<()> {
    let now = now_ms();
    for space in ["office-p01", "office-p02", "office-p03"] {
        c.command(&c.committee, PARKING, "publish-window", json!({"space": space, "price_per_hour": 6,
            "when": {"kind": "weekly", "days": ["mon", "tue", "wed", "thu", "fri"], "start": "19:00", "end": "08:00"}}))?;
        // The weeknight window may not be open while the demo runs: the
        // tenant also shares today's next twelve hours.
        c.command(
            &c.committee,
            PARKING,
            "publish-window",
            json!({"space": space, "price_per_hour": 6,
            "when": {"kind": "one-off", "start": now, "end": now + 12 * HOUR}}),
        )?;
    }
    say("Sunny Tower's tenant shares its first three spaces with the compound every weeknight 19:00–08:00 (and, for the demo, the next twelve hours), at 6 points an hour; the property office publishes the windows.");

    c.command(
        &c.committee,
        PARKING,
        "top-up",
        json!({"person": DRIVER, "points": 50, "key": "front-desk-0001"}),
    )?;
    let driver = c.person(DRIVER)?;
    let start = now + 2_000;
    let found = c.command(
        &driver,
        PARKING,
        "search",
        json!({"from": "b3-201-hh", "start": start, "end": start + 2 * HOUR, "radius_m": 300}),
    )?;
    let offers = found["offers"].as_array().cloned().unwrap_or_default();
    let nearest = offers
        .first()
        .ok_or_else(|| anyhow!("no free space offered: {found}"))?;
    say(&format!(
        "{} buys 50 points at the front desk and searches from home for two hours from {}: {} free spaces within 300 m, the nearest {} ({:.0} m, {} points estimated).",
        c.map.who_home(DRIVER),
        clock(start),
        offers.len(),
        text(&nearest["space"]),
        nearest["distance_m"].as_f64().unwrap_or_default(),
        nearest["estimated_charge"]
    ));
    let made = c.command(
        &driver,
        PARKING,
        "reserve",
        json!({"space": SPACE, "start": start, "end": start + 2 * HOUR}),
    )?;
    let id = text(&made["id"]).to_owned();
    let neighbour = c.person(NEIGHBOUR)?;
    let refused = c
        .command(
            &neighbour,
            PARKING,
            "reserve",
            json!({"space": SPACE, "start": start + HOUR, "end": start + 3 * HOUR}),
        )
        .err()
        .and_then(|e| match e.downcast_ref::<linli_client::ClientError>() {
            Some(linli_client::ClientError::Refused { body, .. }) => {
                Some(text(&body["error"]["message"]).to_owned())
            }
            _ => None,
        })
        .ok_or_else(|| anyhow!("an overlapping reservation of {SPACE} was accepted"))?;
    say(&format!("She reserves {SPACE} ({id}). {} tries the same space an hour later and is refused: \"{refused}\".", c.map.who_home(NEIGHBOUR)));

    let sensor = format!("mag-{SPACE}");
    c.register(&sensor, "geomagnetic", &["occupancy"], Some(SPACE))?;
    std::thread::sleep(std::time::Duration::from_millis(2_500));
    c.send(&sensor, &[("occupancy", json!(true), None)])?;
    std::thread::sleep(std::time::Duration::from_millis(1_000));
    c.send(&sensor, &[("occupancy", json!(false), None)])?;
    let told = await_messages(c, "parking-reservation", 2)?;
    let out = told
        .iter()
        .find(|m| m["title"] == "Checked out")
        .ok_or_else(|| anyhow!("no check-out message: {}", Value::from(told.clone())))?;
    let data = super::observe::data(out);
    say(&format!(
        "The geomagnetic sensor under {SPACE} sees her car arrive and leave: checked in, checked out, and told \"{}\". The payment is ledger entry {} (its receipt: GET …/ledger/entries/{}/receipt).",
        text(&out["body"]),
        data["paid"]["charge"]["index"],
        data["paid"]["charge"]["index"]
    ));

    let lane_sensor = format!("mag-{LANE}");
    c.register(&lane_sensor, "geomagnetic", &["occupancy"], Some(LANE))?;
    c.send(&lane_sensor, &[("occupancy", json!(true), None)])?;
    let blocked = await_alarm(c, "fire-lane-blocked", LANE)?;
    let why = if blocked["severity"] == "critical" {
        "critical, because fire-safety's fire-confirmed is still active for building-3"
    } else {
        "major"
    };
    say(&format!(
        "A car stops on {LANE}, the fire lane beside building 3. After {LANE_SECONDS} s (the demo's setting; 60 s by default) parking raises fire-lane-blocked, {why}, and security is told at once."
    ));
    let lots = c.command(&c.committee, PARKING, "lots", json!({}))?;
    say(&format!(
        "The lots as the sensors say: {}.",
        lots.as_object()
            .into_iter()
            .flatten()
            .map(|(lot, counts)| format!(
                "{lot} {} free / {} occupied / {} unknown",
                counts["free"], counts["occupied"], counts["unknown"]
            ))
            .collect::<Vec<_>>()
            .join("; ")
    ));
    Ok(())
}
