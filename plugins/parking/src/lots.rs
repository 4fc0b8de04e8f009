//! The lots: their counts as the sensors say, an admin's recount from the
//! sensors' latest readings, the hourly occupancy samples and the nightly
//! archive that feed the monthly report.
//!
//! Counts are never stored (see [`crate::occupancy`]): `lots` reads each
//! lot's sensor states and counts them at the moment it is asked.
//! `recount` goes further and asks the host for every occupancy sensor's
//! latest reading, rebuilding the states, so a scene installed after the
//! sensors started, or one that was suspended, is true again at once.

use std::collections::BTreeMap;

use linli_sdk::calendar::{self, DAY_MS};
use linli_sdk::{sensor, state, timer, Error, Value};
use serde_json::{json, Value as Json};

use crate::availability;
use crate::config::Config;
use crate::interval::Interval;
use crate::occupancy::{self, LotCounts, SensorState};
use crate::places;
use crate::report::MonthlyReport;
use crate::reservations::Book;
use crate::sensing::OCCUPANCY;
use crate::space::Space;
use crate::windows::Windows;

pub const SAMPLE_TAG: &str = "lots/sample";
pub const ARCHIVE_TAG: &str = "lots/archive";
const HOUR_MS: i64 = 3_600_000;

/// Schedules the hourly sample and the nightly archive (idempotent: each
/// tag is one timer).
pub fn schedule(now: i64, config: &Config) -> Result<(), Error> {
    let next_hour = (now / HOUR_MS + 1) * HOUR_MS;
    timer::schedule(SAMPLE_TAG, next_hour, Some(HOUR_MS as u64))?;
    let midnight = calendar::next_midnight(now, config.utc_offset_minutes);
    timer::schedule(ARCHIVE_TAG, midnight, Some(DAY_MS as u64))
}

fn by_lot(spaces: Vec<Space>) -> BTreeMap<String, Vec<Space>> {
    let mut lots: BTreeMap<String, Vec<Space>> = BTreeMap::new();
    for space in spaces {
        lots.entry(space.lot.clone()).or_default().push(space);
    }
    lots
}

/// What the sensors of `lot`'s spaces last said, by space id.
pub fn sensors_of(lot: &str) -> Result<BTreeMap<String, SensorState>, Error> {
    Ok(state::get(&SensorState::key(lot))?.unwrap_or_default())
}

/// What `space`'s sensor last said, if it has spoken.
pub fn sensor_of(space: &Space) -> Result<Option<SensorState>, Error> {
    Ok(sensors_of(&space.lot)?.get(&space.id).copied())
}

fn counts_of(spaces: &[Space], now: i64, config: &Config) -> Result<LotCounts, Error> {
    let Some(lot) = spaces.first().map(|s| s.lot.clone()) else {
        return Ok(LotCounts::default());
    };
    let sensors = sensors_of(&lot)?;
    let counts = occupancy::count_lots(spaces, &sensors, now, config.occupancy.report_interval_ms);
    Ok(counts.get(&lot).copied().unwrap_or_default())
}

/// `lots {lot?}` → per lot `{free, occupied, unknown, total}`; with `lot`,
/// also each space's status.
pub fn lots(only: Option<&str>, now: i64, config: &Config) -> Result<Json, Error> {
    let mut answer = serde_json::Map::new();
    for (lot, spaces) in by_lot(places::all_spaces()?) {
        if only.is_some_and(|wanted| wanted != lot) {
            continue;
        }
        let counts = counts_of(&spaces, now, config)?;
        let mut entry = json!({"free": counts.free, "occupied": counts.occupied, "unknown": counts.unknown, "total": counts.total()});
        if only.is_some() {
            let sensors = sensors_of(&lot)?;
            entry["spaces"] = spaces
                .iter()
                .map(|space| {
                    let status = occupancy::status(
                        sensors.get(&space.id),
                        now,
                        config.occupancy.report_interval_ms,
                    );
                    json!({"space": space.id, "class": space.class, "status": status})
                })
                .collect();
        }
        answer.insert(lot, entry);
    }
    if let Some(lot) = only.filter(|lot| !answer.contains_key(*lot)) {
        return Err(Error::NotFound(format!(
            "lot: no parking space is in {lot}"
        )));
    }
    Ok(Json::Object(answer))
}

/// `recount {lot?}`: rebuilds the lots' sensor states from every occupancy
/// sensor's latest reading, then answers as `lots` does.
pub fn recount(only: Option<&str>, now: i64, config: &Config) -> Result<Json, Error> {
    let placed: BTreeMap<String, String> = sensor::devices(Some(OCCUPANCY))?
        .into_iter()
        .filter_map(|device| device.location.map(|at| (at, device.id)))
        .collect();
    for (lot, spaces) in by_lot(places::all_spaces()?) {
        if only.is_some_and(|wanted| wanted != lot) {
            continue;
        }
        let mut sensors = BTreeMap::new();
        for space in &spaces {
            let Some(device) = space.sensor.as_ref().or(placed.get(&space.id)) else {
                continue;
            };
            if let Some(reading) = sensor::latest(device, OCCUPANCY)? {
                if let Value::Flag(occupied) = reading.value {
                    // The newest reading is all a recount knows: since when
                    // the value has held is when it was measured.
                    sensors.insert(
                        space.id.clone(),
                        occupancy::observe(None, occupied, reading.at),
                    );
                }
            }
        }
        state::put(&SensorState::key(&lot), &sensors)?;
    }
    lots(only, now, config)
}

/// The hourly timer: adds every lot's counts to its month's report.
pub fn sample(now: i64, config: &Config) -> Result<(), Error> {
    let month = calendar::month(now, config.utc_offset_minutes);
    for (lot, spaces) in by_lot(places::all_spaces()?) {
        let counts = counts_of(&spaces, now, config)?;
        state::update(
            &MonthlyReport::key(&lot, &month),
            |report: &mut MonthlyReport| report.sample(now, config.utc_offset_minutes, counts),
        )?;
    }
    Ok(())
}

/// One lot's monthly reports as the archive changes them: each month read
/// once, written once at the end.
struct Reports<'l> {
    lot: &'l str,
    months: BTreeMap<String, MonthlyReport>,
}

impl Reports<'_> {
    fn month(&mut self, month: String) -> Result<&mut MonthlyReport, Error> {
        if !self.months.contains_key(&month) {
            let stored = state::get(&MonthlyReport::key(self.lot, &month))?.unwrap_or_default();
            self.months.insert(month.clone(), stored);
        }
        Ok(self.months.get_mut(&month).expect("just read"))
    }

    fn save(self) -> Result<(), Error> {
        for (month, report) in self.months {
            state::put(&MonthlyReport::key(self.lot, &month), &report)?;
        }
        Ok(())
    }
}

/// The nightly timer: folds reservations finished long enough ago into
/// their month's report and out of the books, adds the day's offered
/// shared time, and forgets windows that have passed.
pub fn archive(now: i64, config: &Config) -> Result<(), Error> {
    let day = Interval::new(now - DAY_MS, now).expect("a day is a span");
    let month = calendar::month(day.start, config.utc_offset_minutes);
    for (lot, spaces) in by_lot(places::all_spaces()?) {
        let mut reports = Reports {
            lot: &lot,
            months: BTreeMap::new(),
        };
        for space in &spaces {
            if let Some(mut windows) = state::get::<Windows>(&Windows::key(&space.id))? {
                let offered: i64 = windows
                    .available(day, config.utc_offset_minutes)
                    .iter()
                    .map(|a| a.end - a.start)
                    .sum();
                if offered > 0 {
                    reports.month(month.clone())?.offered(offered);
                }
                let before = windows.clone();
                windows.forget_past(now);
                if windows != before {
                    availability::save_windows(space, &windows)?;
                }
            }
            let Some(mut book) = state::get::<Book>(&Book::key(&space.id))? else {
                continue;
            };
            let old = book.prune(now, config);
            if old.is_empty() {
                continue;
            }
            for reservation in &old {
                reports
                    .month(MonthlyReport::month_of(
                        reservation,
                        config.utc_offset_minutes,
                    ))?
                    .fold(reservation, &space.owner);
            }
            availability::save_book(space, &book)?;
        }
        reports.save()?;
    }
    Ok(())
}

/// `report {lot, month}` → the lot's month: what the archive folded in,
/// plus the reservations of the month still in the books, so the report is
/// complete on any day.
pub fn report(lot: &str, month: &str, config: &Config) -> Result<Json, Error> {
    let spaces: Vec<Space> = places::all_spaces()?
        .into_iter()
        .filter(|s| s.lot == lot)
        .collect();
    if spaces.is_empty() {
        return Err(Error::NotFound(format!(
            "lot: no parking space is in {lot}"
        )));
    }
    let mut report: MonthlyReport =
        state::get(&MonthlyReport::key(lot, month))?.unwrap_or_default();
    for space in &spaces {
        let book: Book = state::get(&Book::key(&space.id))?.unwrap_or_default();
        for reservation in book.reservations() {
            if MonthlyReport::month_of(reservation, config.utc_offset_minutes) == month {
                report.fold(reservation, &space.owner);
            }
        }
    }
    let by_hour: Vec<Json> = report
        .occupancy_by_hour
        .iter()
        .enumerate()
        .map(|(hour, slot)| json!({"hour": hour, "occupied-per-mille": slot.per_mille(), "samples": slot.known}))
        .collect();
    Ok(json!({
        "lot": lot,
        "month": month,
        "spaces": spaces.len(),
        "reservations": report.reservations,
        "checked-out": report.checked_out,
        "no-shows": report.no_shows,
        "displaced": report.displaced,
        "cancelled": report.cancelled,
        "offered-hours": report.offered_ms as f64 / HOUR_MS as f64,
        "used-hours": report.used_ms as f64 / HOUR_MS as f64,
        "charged-points": report.charged,
        "overstays": report.overstays,
        "overstay-fee-points": report.overstay_fees,
        "owner-earnings": report.earnings,
        "occupancy-by-hour": by_hour,
    }))
}
