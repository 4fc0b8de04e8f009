//! Bringing one space up to date at `now`: releasing no-shows, moving an
//! overstayer through its stages, offering a blocked holder another space,
//! raising and clearing the space's alarms, and setting the space's one
//! timer (`space/<id>`) for the next moment any of these can change.
//!
//! A reading of the space, its timer, a fire confirmed in its building and
//! a reservation made on it all come here, so each rule is applied in one
//! place whatever woke the space. Everything is decided from the space's
//! book and sensor state at `now`, so waking a space twice, or late, does
//! what waking it once on time would have done, and sends nothing twice.

use linli_sdk::calendar;
use linli_sdk::map::{self, CommunityRole, Origin};
use linli_sdk::{alarm, log, state, timer, Error, Severity};
use serde_json::json;

use crate::config::Config;
use crate::finder;
use crate::interval::Interval;
use crate::money::{self, Handover};
use crate::occupancy::SensorState;
use crate::overstay::{self, History, Stage};
use crate::places::{self, SPACE_POI};
use crate::reservations::{Book, Reservation, State};
use crate::search;
use crate::space::{Space, SpaceClass};
use crate::tell::{self, Note};
use crate::violations::{self, FireLane, Unauthorised};
use crate::windows::Windows;

pub const UNAUTHORISED: &str = "parking-unauthorised";
pub const OVERSTAY: &str = "parking-overstay";
pub const FIRE_LANE: &str = "fire-lane-blocked";
/// Fire-safety's alarm for a confirmed fire, raised for a building.
pub const FIRE_CONFIRMED: &str = "fire-confirmed";

/// How many nearby spaces an offer to a blocked holder looks at.
const OFFER_CANDIDATES: u32 = 50;

/// The tag of `space`'s timer.
pub fn timer_tag(space: &str) -> String {
    format!("space/{space}")
}

/// The space whose timer `tag` is.
pub fn space_of_tag(tag: &str) -> Option<&str> {
    tag.strip_prefix("space/")
}

fn local(at: i64, config: &Config) -> String {
    calendar::date_time(at, config.utc_offset_minutes)
}

/// Brings `space` up to date at `now` (see the module's comment); the
/// caller writes `book` back.
pub fn wake(
    space: &Space,
    book: &mut Book,
    sensor: Option<SensorState>,
    now: i64,
    config: &Config,
) -> Result<(), Error> {
    for released in book.release_no_shows(now, config) {
        released_no_show(space, &released, now, config)?;
    }
    for reached in overstay::advance(book, now, config) {
        overstay_stage(space, &reached.reservation, reached.stage, now, config)?;
    }
    offer_blocked(space, book, now, config)?;
    let mut due = Vec::new();
    match space.class {
        SpaceClass::FireLane => due.extend(fire_lane(space, sensor.as_ref(), now, config)?),
        class if class.is_public() => {
            due.extend(unauthorised(space, book, sensor.as_ref(), now, config)?)
        }
        _ => {}
    }
    due.extend(book_changes(book, now, config));
    let tag = timer_tag(&space.id);
    match due.into_iter().filter(|at| *at > now).min() {
        Some(at) => timer::schedule(&tag, at, None),
        None => timer::cancel(&tag).map(drop),
    }
}

/// When the book next needs the space woken: a grace running out, an
/// overstay stage, a blocked holder's start, a reservation's end (after
/// which a vehicle on the space is no longer covered).
fn book_changes(book: &Book, now: i64, config: &Config) -> Vec<i64> {
    let mut due: Vec<i64> = book.next_release(config).into_iter().collect();
    due.extend(book.active().map(|r| r.end));
    if let Some(parked) = book.checked_in() {
        due.extend(overstay::next_change(parked.end, now, config));
        due.extend(
            book.active()
                .filter(|r| r.state == State::Confirmed)
                .map(|r| r.start),
        );
    }
    due
}

fn released_no_show(
    space: &Space,
    released: &Reservation,
    now: i64,
    config: &Config,
) -> Result<(), Error> {
    let id = released.id(&space.id);
    let (what, body) = if released.state == State::Displaced {
        (
            Handover::Displaced,
            format!(
                "{id} on {} was released: the space was still taken at its start; you pay nothing",
                space.id
            ),
        )
    } else {
        (
            Handover::NoShow,
            format!(
                "{id} on {} was released: no vehicle arrived by {}",
                space.id,
                local(
                    released.start + config.reservations.check_in_grace_ms,
                    config
                )
            ),
        )
    };
    money::record(what, space, released, now, None)?;
    log::info(&format!("{id} released as {:?}", released.state));
    Note::to_person(
        &released.holder,
        tell::RESERVATION,
        format!("released/{id}"),
    )
    .saying(
        "Reservation released".into(),
        body,
        json!({"reservation": id.to_string(), "state": released.state}),
    )
    .send()
    .map(drop)
}

fn overstay_stage(
    space: &Space,
    parked: &Reservation,
    stage: Stage,
    now: i64,
    config: &Config,
) -> Result<(), Error> {
    let id = parked.id(&space.id);
    let data = json!({"reservation": id.to_string(), "space": space.id, "end": parked.end});
    let key = format!("overstay/{id}/{stage:?}");
    match stage {
        Stage::OnTime | Stage::Grace => Ok(()),
        Stage::Notice => Note::to_person(&parked.holder, tell::OVERSTAY, key)
            .saying(
                "Your parking ends soon".into(),
                format!("{id} on {} ends at {}", space.id, local(parked.end, config)),
                data,
            )
            .send()
            .map(drop),
        Stage::Warning => {
            let history_key = History::key(&parked.holder);
            let mut history: History = state::get(&history_key)?.unwrap_or_default();
            let banned = history.record_overstay(now, config);
            state::put(&history_key, &history)?;
            money::record(Handover::Overstay, space, parked, now, None)?;
            let fee = config.overstay.fee_points_per_step;
            let mut body = format!(
                "{id} on {} ended at {}: an overstay fee of {fee} points runs per started {} minutes until you leave",
                space.id,
                local(parked.end, config),
                config.overstay.fee_step_ms / 60_000
            );
            if let Some(until) = banned {
                body.push_str(&format!(
                    "; after repeated overstays you may not reserve shared spaces until {}",
                    local(until, config)
                ));
            }
            Note::to_person(&parked.holder, tell::OVERSTAY, key)
                .severity(Severity::Warning)
                .saying("Overstay: please move your vehicle".into(), body, data)
                .send()
                .map(drop)
        }
        Stage::Alarm => {
            let details = json!({"reservation": id.to_string(), "space": space.id, "lot": space.lot, "holder": parked.holder, "end": parked.end});
            alarm::raise(&space.id, OVERSTAY, Severity::Minor, &details.to_string())?;
            Note::to_role(
                CommunityRole::PropertyStaff,
                Some(&space.id),
                tell::OVERSTAY,
                key,
            )
            .severity(Severity::Minor)
            .saying(
                format!("Overstay on {}", space.id),
                format!(
                    "{id} ended at {} and the vehicle is still there",
                    local(parked.end, config)
                ),
                data,
            )
            .send()
            .map(drop)
        }
    }
}

/// Offers the holder of a confirmed reservation that has started while an
/// overstayer still holds the space the nearest free space for the rest of
/// their time, once.
fn offer_blocked(space: &Space, book: &mut Book, now: i64, config: &Config) -> Result<(), Error> {
    let Some(overstayer) = book.checked_in().filter(|r| r.end <= now).map(|r| r.seq) else {
        return Ok(());
    };
    let Some(blocked) = book
        .active()
        .find(|r| {
            r.state == State::Confirmed && r.start <= now && !r.offered && r.seq != overstayer
        })
        .cloned()
    else {
        return Ok(());
    };
    book.find_mut(blocked.seq)
        .map_err(|e| Error::Internal(e.to_string()))?
        .offered = true;
    let Some(rest) = Interval::new(now.max(blocked.start), blocked.end) else {
        return Ok(());
    };
    let requester = places::requester_of(&blocked.holder, blocked.visitor.clone())?;
    let nearby = map::nearest(
        SPACE_POI,
        &Origin::Place(space.id.clone()),
        OFFER_CANDIDATES,
    )?;
    let wanted = search::Wanted {
        time: rest,
        requester: &requester,
        now,
        limit: 1,
    };
    let offers = finder::offers(&mut finder::Lots::default(), nearby, wanted, config)?;
    let id = blocked.id(&space.id);
    let (title, body) = match offers.first() {
        Some(offer) => (
            "Your space is still taken: a nearby one is free".to_owned(),
            format!(
                "{} is still occupied by the previous vehicle. {} ({:.0} m away, {} points/h) is free until {}: reserve it with `reserve`; {id} is released without charge",
                space.id, offer.space, offer.distance_m, offer.price_per_hour, local(blocked.end, config)
            ),
        ),
        None => (
            "Your space is still taken".to_owned(),
            format!("{} is still occupied by the previous vehicle and no space nearby is free; {id} is released without charge", space.id),
        ),
    };
    Note::to_person(&blocked.holder, tell::OFFER, format!("offer/{id}"))
        .saying(
            title,
            body,
            json!({"reservation": id.to_string(), "offers": offers}),
        )
        .send()
        .map(drop)
}

/// Raises, keeps or clears `parking-unauthorised` on a space parked by
/// reservation; returns when to look again.
fn unauthorised(
    space: &Space,
    book: &Book,
    sensor: Option<&SensorState>,
    now: i64,
    config: &Config,
) -> Result<Option<i64>, Error> {
    let windows: Windows = state::get(&Windows::key(&space.id))?.unwrap_or_default();
    let in_window = Interval::new(now, now + 1)
        .and_then(|instant| windows.rate_for(instant, config.utc_offset_minutes))
        .is_some();
    match violations::unauthorised(space, sensor, book, in_window, now, config) {
        Unauthorised::Clear => clear(space, UNAUTHORISED).map(|()| None),
        Unauthorised::Pending { due } => Ok(Some(due)),
        Unauthorised::Raise { since } => {
            if alarm::active(&space.id, UNAUTHORISED)?.is_none() {
                let details = json!({"space": space.id, "lot": space.lot, "class": space.class, "since": since});
                alarm::raise(
                    &space.id,
                    UNAUTHORISED,
                    Severity::Minor,
                    &details.to_string(),
                )?;
                Note::to_role(
                    CommunityRole::PropertyStaff,
                    Some(&space.id),
                    tell::UNAUTHORISED,
                    format!("unauthorised/{}/{since}", space.id),
                )
                .severity(Severity::Minor)
                .saying(
                    format!("Unreserved vehicle on {}", space.id),
                    format!(
                        "A vehicle has been on {} without a reservation since {}",
                        space.id,
                        local(since, config)
                    ),
                    details,
                )
                .send()?;
            }
            Ok(None)
        }
    }
}

/// Raises, escalates or clears `fire-lane-blocked`; returns when to look
/// again.
fn fire_lane(
    space: &Space,
    sensor: Option<&SensorState>,
    now: i64,
    config: &Config,
) -> Result<Option<i64>, Error> {
    let fire = match &space.building {
        Some(building) => alarm::active(building, FIRE_CONFIRMED)?.is_some(),
        None => false,
    };
    match violations::fire_lane(space, sensor, fire, now, config) {
        FireLane::Clear => clear(space, FIRE_LANE).map(|()| None),
        FireLane::Pending { due } => Ok(Some(due)),
        FireLane::Blocked { since, severity } => {
            let raised = alarm::active(&space.id, FIRE_LANE)?;
            if raised.as_ref().is_some_and(|a| a.severity == severity) {
                return Ok(None);
            }
            let details = json!({"space": space.id, "building": space.building, "since": since, "fire-confirmed": fire});
            alarm::raise(&space.id, FIRE_LANE, severity, &details.to_string())?;
            let building = space.building.as_deref().unwrap_or("the compound");
            let title = if fire {
                format!("FIRE in {building}: fire lane {} is blocked", space.id)
            } else {
                format!("Fire lane {} is blocked", space.id)
            };
            Note::to_role(
                CommunityRole::Security,
                None,
                tell::FIRE_LANE,
                format!("fire-lane/{}/{since}/{}", space.id, severity.name()),
            )
            .severity(severity)
            .saying(
                title,
                format!(
                    "A vehicle has stood on fire lane {} by {building} since {}: clear it",
                    space.id,
                    local(since, config)
                ),
                details,
            )
            .send()?;
            Ok(None)
        }
    }
}

fn clear(space: &Space, alarm_type: &str) -> Result<(), Error> {
    alarm::clear(&space.id, alarm_type).map(drop)
}

/// The space's timer: wakes it and writes its book back.
pub fn wake_space(id: &str, config: &Config) -> Result<(), Error> {
    let Ok(space) = places::space(id) else {
        // The space left the map; its timer has nothing left to do.
        return timer::cancel(&timer_tag(id)).map(drop);
    };
    let key = Book::key(&space.id);
    let mut book: Book = state::get(&key)?.unwrap_or_default();
    wake(
        &space,
        &mut book,
        crate::lots::sensor_of(&space)?,
        timer::now(),
        config,
    )?;
    crate::availability::save_book(&space, &book)
}

/// A fire confirmed or cleared in `building`: every fire lane of it is
/// woken, so a blocked one becomes critical (and security is told) at once,
/// and major again after.
pub fn wake_fire_lanes(building: &str, config: &Config) -> Result<(), Error> {
    let places = match map::descendants(building, Some(map::PlaceKind::Poi), Some(SPACE_POI)) {
        Ok(places) => places,
        // A fire confirmed somewhere the map has no place for: no lanes.
        Err(Error::NotFound(_)) => return Ok(()),
        Err(other) => return Err(other),
    };
    for place in places {
        let Ok(space) = places::space_of(&place) else {
            continue;
        };
        if space.class == SpaceClass::FireLane {
            wake_space(&space.id, config)?;
        }
    }
    Ok(())
}
