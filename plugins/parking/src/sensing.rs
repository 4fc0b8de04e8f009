//! Occupancy readings: the space's sensor state, check-in when a vehicle
//! arrives for a reservation, check-out with payment when it leaves.
//!
//! A reading is the space's when its device is placed on a `parking-space`
//! of the map (the reading's `location`) and, if the space names its
//! `sensor`, comes from that device: a gate camera placed on the same
//! space does not count as its occupancy sensor.

use linli_sdk::alarm::{AlarmChange, ChangeKind};
use linli_sdk::{alarm, log, map, state, timer, Error, Reading, Value};
use serde_json::json;

use crate::availability;
use crate::config::Config;
use crate::lots;
use crate::money::{self, Handover};
use crate::occupancy::{self, SensorState};
use crate::places;
use crate::reservations::{Book, Reservation};
use crate::space::Space;
use crate::tell::{self, Note};
use crate::wake;

/// The reading kind of the spaces' sensors.
pub const OCCUPANCY: &str = "occupancy";
/// The platform's alarm for a device silent past its kind's report interval.
pub const DEVICE_OFFLINE: &str = "device-offline";

/// Handles one reading; readings that are not a space's occupancy are
/// ignored.
pub fn on_reading(reading: Reading, config: &Config) -> Result<(), Error> {
    let (OCCUPANCY, Value::Flag(occupied), Some(place)) =
        (reading.kind.as_str(), &reading.value, &reading.location)
    else {
        return Ok(());
    };
    let Ok(space) = places::space(place) else {
        log::debug(&format!(
            "{} reports occupancy from {place}, which is no parking space",
            reading.device
        ));
        return Ok(());
    };
    if !space.is_sensed_by(&reading.device) {
        return Ok(());
    }
    let mut sensors = lots::sensors_of(&space.lot)?;
    let before = sensors.get(&space.id).copied();
    let after = occupancy::observe(before, *occupied, reading.at);
    sensors.insert(space.id.clone(), after);
    state::put(&SensorState::key(&space.lot), &sensors)?;
    let changed = before.is_none_or(|b| b.occupied != after.occupied) && after.since == reading.at;
    let book_key = Book::key(&space.id);
    let mut book: Book = state::get(&book_key)?.unwrap_or_default();
    if changed && after.occupied {
        if let Some(arrived) = book.check_in(reading.at, config).cloned() {
            checked_in(&space, &arrived, config)?;
        }
    } else if changed {
        if let Some(left) = book.check_out(reading.at, config).cloned() {
            checked_out(&space, &left, config)?;
        }
    }
    wake::wake(&space, &mut book, Some(after), timer::now(), config)?;
    availability::save_book(&space, &book)
}

/// The platform raised or cleared `device-offline` for a device: if it is
/// a space's sensor, the space counts unknown until the sensor speaks
/// again. A device on no space, or one whose space never heard from it, is
/// no concern of the counts.
pub fn on_device_offline(change: &AlarmChange) -> Result<(), Error> {
    let offline = match change.change {
        ChangeKind::Raised | ChangeKind::Updated => true,
        ChangeKind::Cleared => false,
        ChangeKind::Acknowledged => return Ok(()),
    };
    let device = &change.alarm.originator;
    let Some(place) = map::locate(device)? else {
        return Ok(());
    };
    let Ok(space) = places::space_of(&place) else {
        return Ok(());
    };
    if !space.is_sensed_by(device) {
        return Ok(());
    }
    let mut sensors = lots::sensors_of(&space.lot)?;
    let Some(before) = sensors.get(&space.id).copied() else {
        return Ok(());
    };
    let after = occupancy::went_silent(before, offline);
    if after != before {
        log::info(&format!(
            "{}'s sensor {device} is {}",
            space.id,
            if offline {
                "offline: the space counts unknown"
            } else {
                "back"
            }
        ));
        sensors.insert(space.id.clone(), after);
        state::put(&SensorState::key(&space.lot), &sensors)?;
    }
    Ok(())
}

fn checked_in(space: &Space, arrived: &Reservation, config: &Config) -> Result<(), Error> {
    let id = arrived.id(&space.id);
    let at = arrived.checked_in.unwrap_or(arrived.start);
    let receipt = money::record(Handover::CheckIn, space, arrived, at, None)?;
    log::info(&format!("{id} checked in on {}", space.id));
    Note::to_person(
        &arrived.holder,
        tell::RESERVATION,
        format!("checked-in/{id}"),
    )
    .saying(
        "Checked in".into(),
        format!(
            "{id}: your vehicle is on {}; the reservation ends at {}",
            space.id,
            linli_sdk::calendar::date_time(arrived.end, config.utc_offset_minutes)
        ),
        json!({"reservation": id.to_string(), "record": receipt}),
    )
    .send()
    .map(drop)
}

fn checked_out(space: &Space, left: &Reservation, config: &Config) -> Result<(), Error> {
    let id = left.id(&space.id);
    let at = left.finished.unwrap_or(left.end);
    let paid = money::pay(space, left, config)?;
    let record = money::record(Handover::CheckOut, space, left, at, Some(&paid))?;
    alarm::clear(&space.id, wake::OVERSTAY)?;
    let settlement = left.settlement.unwrap_or_default();
    let mut body = format!(
        "{id} on {}: {} minutes billed, {} points to the owner",
        space.id,
        settlement.billed_ms / 60_000,
        settlement.charge
    );
    if settlement.overstay_fee > 0 {
        body.push_str(&format!(
            ", {} points overstay fee",
            settlement.overstay_fee
        ));
    }
    if paid.owed > 0 {
        body.push_str(&format!(
            "; {} points could not be paid and are owed until your next top-up",
            paid.owed
        ));
    }
    log::info(&format!("{id} checked out: {body}"));
    Note::to_person(&left.holder, tell::RESERVATION, format!("checked-out/{id}"))
        .saying(
            "Checked out".into(),
            body,
            json!({"reservation": id.to_string(), "settlement": settlement, "paid": paid, "record": record}),
        )
        .send()
        .map(drop)
}
