//! The commands owners and parkers run, over the store: an owner publishes
//! and withdraws sharing windows; a resident (or a visitor's host) searches
//! for free spaces near a place, reserves one and cancels. Each reads a
//! space's windows and book, calls one domain function, and writes back
//! what changed; the host runs one handler of an installation at a time,
//! so the read, check and write of a reservation are atomic.
//!
//! Times are host timestamps (milliseconds since the epoch, UTC).

use linli_sdk::map::{self, Origin};
use linli_sdk::{parse_input, state, timer, Caller, Error};
use serde::Deserialize;
use serde_json::{json, Value as Json};

use crate::config::Config;
use crate::interval::Interval;
use crate::places::{self, SPACE_POI};
use crate::reservations::{Book, ReservationId};
use crate::search::{self, Candidate};
use crate::windows::{Recurrence, Windows};

/// Most spaces one search looks at.
const MAX_CANDIDATES: u32 = 5_000;
/// Most offers one search answers.
const MAX_OFFERS: usize = 50;

fn interval(start: i64, end: i64) -> Result<Interval, Error> {
    Interval::new(start, end).ok_or_else(|| Error::Invalid("start: must be before end".into()))
}

/// The caller as a parker; admins' tokens name no person and reserve nothing.
fn parker(caller: &Caller, visitor: Option<String>) -> Result<crate::access::Requester, Error> {
    places::requester(caller, visitor)?.ok_or_else(|| {
        Error::Denied("reserving needs a person's token: an admin's names nobody".into())
    })
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Publish {
    space: String,
    when: Recurrence,
    #[serde(default)]
    price_per_hour: u32,
}

/// `publish-window {space, when, price_per_hour}` → `{window}`: by the
/// space's owner, or whoever runs the community.
pub fn publish_window(caller: &Caller, input: Json) -> Result<Json, Error> {
    let publish: Publish = parse_input(input)?;
    let space = places::space(&publish.space)?;
    if !caller.manages_community() {
        let owner = parker(caller, None)?;
        if !owner.acts_for.contains(&space.owner) {
            return Err(Error::Denied(format!(
                "only {}'s people share {}",
                space.owner, space.id
            )));
        }
    }
    let key = Windows::key(&space.id);
    let mut windows: Windows = state::get(&key)?.unwrap_or_default();
    let id = windows
        .publish(publish.when, publish.price_per_hour, timer::now())
        .map_err(|e| Error::Invalid(e.to_string()))?;
    state::put(&key, &windows)?;
    Ok(json!({ "space": space.id, "window": id }))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Search {
    /// A place to measure from: a household, a gate.
    from: String,
    start: i64,
    end: i64,
    #[serde(default = "default_radius")]
    radius_m: f64,
    visitor: Option<String>,
}

fn default_radius() -> f64 {
    500.0
}

/// `search {from, start, end, radius_m?, visitor?}` → `{offers: [...]}`,
/// nearest first.
pub fn search(config: &Config, caller: &Caller, input: Json) -> Result<Json, Error> {
    let query: Search = parse_input(input)?;
    let wanted = interval(query.start, query.end)?;
    let requester = parker(caller, query.visitor)?;
    let nearby = map::within_radius(SPACE_POI, &Origin::Place(query.from), query.radius_m)?;
    let mut found = Vec::new();
    for near in nearby.into_iter().take(MAX_CANDIDATES as usize) {
        let Ok(space) = places::space_of(&near.place) else {
            continue;
        };
        let windows: Windows = state::get(&Windows::key(&space.id))?.unwrap_or_default();
        let book: Book = state::get(&Book::key(&space.id))?.unwrap_or_default();
        found.push((space, near.distance_m, windows, book));
    }
    let candidates: Vec<Candidate<'_>> = found
        .iter()
        .map(|(space, distance_m, windows, book)| Candidate {
            space,
            distance_m: *distance_m,
            windows,
            book,
        })
        .collect();
    let offers = search::search(
        &candidates,
        wanted,
        &requester,
        timer::now(),
        MAX_OFFERS,
        config,
    );
    Ok(json!({ "offers": offers }))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Reserve {
    space: String,
    start: i64,
    end: i64,
    visitor: Option<String>,
}

/// `reserve {space, start, end, visitor?}` → the reservation.
pub fn reserve(config: &Config, caller: &Caller, input: Json) -> Result<Json, Error> {
    let asked: Reserve = parse_input(input)?;
    let wanted = interval(asked.start, asked.end)?;
    let requester = parker(caller, asked.visitor)?;
    let space = places::space(&asked.space)?;
    let windows: Windows = state::get(&Windows::key(&space.id))?.unwrap_or_default();
    let key = Book::key(&space.id);
    let mut book: Book = state::get(&key)?.unwrap_or_default();
    let made = search::reserve(
        &space,
        &windows,
        &mut book,
        &requester,
        wanted,
        timer::now(),
        config,
    )
    .map_err(|refused| Error::Invalid(refused.to_string()))?
    .clone();
    state::put(&key, &book)?;
    Ok(json!({ "id": made.id(&space.id).to_string(), "reservation": made }))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Cancel {
    reservation: String,
}

/// `cancel {reservation}` → the cancelled reservation: by its holder, or
/// whoever runs the community, before it starts.
pub fn cancel(caller: &Caller, input: Json) -> Result<Json, Error> {
    let asked: Cancel = parse_input(input)?;
    let id: ReservationId = asked.reservation.parse().map_err(Error::Invalid)?;
    let key = Book::key(&id.space);
    let mut book: Book = state::get(&key)?.unwrap_or_default();
    let holder = book
        .get(id.seq)
        .map(|r| r.holder.clone())
        .ok_or_else(|| Error::NotFound(format!("no reservation {id}")))?;
    if !caller.manages_community() && caller.person.as_deref() != Some(holder.as_str()) {
        return Err(Error::Denied(format!("{id} is {holder}'s to cancel")));
    }
    let cancelled = book
        .cancel(id.seq, timer::now())
        .map_err(|e| Error::Invalid(e.to_string()))?
        .clone();
    state::put(&key, &book)?;
    Ok(json!({ "id": id.to_string(), "reservation": cancelled }))
}
