//! The commands owners and parkers run, over the store: an owner publishes
//! and withdraws sharing windows and their exceptions; a resident (or a
//! visitor's host) searches for free spaces near a place, reserves one,
//! cancels and lists their reservations. Each reads a space's windows and
//! book, calls one domain function, and writes back what changed; the host
//! runs one handler of an installation at a time, so the read, check and
//! write of a reservation are atomic.
//!
//! Times are host timestamps (milliseconds since the epoch, UTC) or the
//! community's local time written `YYYY-MM-DD HH:MM` (see [`At`]).

use linli_sdk::map::Origin;
use linli_sdk::{calendar, parse_input, state, timer, Caller, Error};
use serde::Deserialize;
use serde_json::{json, Value as Json};

use crate::access::Requester;
use crate::availability;
use crate::config::Config;
use crate::finder;
use crate::interval::Interval;
use crate::lots;
use crate::money;
use crate::office;
use crate::overstay::History;
use crate::places;
use crate::pricing;
use crate::reservations::{Book, BookError, ReservationId};
use crate::search;
use crate::space::Space;
use crate::wake;
use crate::windows::{Exception, Recurrence, Windows};

/// Most offers one search answers.
const MAX_OFFERS: usize = 50;

/// A moment as a command names it: host milliseconds, or local time.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum At {
    Ms(i64),
    Local(String),
}

impl At {
    /// The host timestamp, reading local time at the community's offset;
    /// the error names `field`.
    pub fn resolve(&self, field: &str, config: &Config) -> Result<i64, Error> {
        match self {
            At::Ms(at) => Ok(*at),
            At::Local(text) => calendar::parse_date_time(text, config.utc_offset_minutes)
                .ok_or_else(|| {
                    Error::Invalid(format!(
                        "{field}: {text:?} is not a local time: write YYYY-MM-DD HH:MM, or milliseconds since the epoch"
                    ))
                }),
        }
    }
}

fn interval(start: &At, end: &At, config: &Config) -> Result<Interval, Error> {
    span(start.resolve("start", config)?, end.resolve("end", config)?)
}

fn span(start: i64, end: i64) -> Result<Interval, Error> {
    Interval::new(start, end).ok_or_else(|| Error::Invalid("start: must be before end".into()))
}

/// The caller as a parker; admins' tokens name no person and reserve nothing.
fn parker(caller: &Caller, visitor: Option<String>) -> Result<Requester, Error> {
    places::requester(caller, visitor)?.ok_or_else(|| {
        Error::Denied("reserving needs a person's token: an admin's names nobody".into())
    })
}

/// The space, if the caller may manage its windows: its owner's people, or
/// whoever runs the community.
fn owned_space(caller: &Caller, id: &str) -> Result<Space, Error> {
    let space = places::space(id)?;
    if !caller.manages_community() && !parker(caller, None)?.acts_for.contains(&space.owner) {
        return Err(Error::Denied(format!(
            "only {}'s people share {}",
            space.owner, space.id
        )));
    }
    Ok(space)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Publish {
    space: String,
    when: Recurrence,
    #[serde(default)]
    price_per_hour: u32,
}

/// `publish-window {space, when, price_per_hour}` → `{space, window}`.
pub fn publish_window(caller: &Caller, input: Json) -> Result<Json, Error> {
    let publish: Publish = parse_input(input)?;
    let space = owned_space(caller, &publish.space)?;
    let key = Windows::key(&space.id);
    let mut windows: Windows = state::get(&key)?.unwrap_or_default();
    let id = windows
        .publish(publish.when, publish.price_per_hour, timer::now())
        .map_err(|e| Error::Invalid(e.to_string()))?;
    availability::save_windows(&space, &windows)?;
    Ok(json!({ "space": space.id, "window": id }))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Withdraw {
    space: String,
    window: u32,
}

/// `withdraw-window {space, window}` → the withdrawn window; refused while
/// a reservation holds time in it.
pub fn withdraw_window(caller: &Caller, input: Json, config: &Config) -> Result<Json, Error> {
    let asked: Withdraw = parse_input(input)?;
    let space = owned_space(caller, &asked.space)?;
    let key = Windows::key(&space.id);
    let mut windows: Windows = state::get(&key)?.unwrap_or_default();
    let book: Book = state::get(&Book::key(&space.id))?.unwrap_or_default();
    let withdrawn = windows
        .withdraw(
            asked.window,
            &book.active_intervals(),
            config.utc_offset_minutes,
        )
        .map_err(|e| Error::Invalid(e.to_string()))?;
    availability::save_windows(&space, &windows)?;
    Ok(json!({ "space": space.id, "withdrawn": withdrawn }))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Except {
    space: String,
    except: Exception,
}

/// `except-window {space, except}` → the space's windows: takes a local
/// date's weekly occurrences, or a span, out of every window (a holiday, a
/// day the tenant needs the space). Time already reserved stays reserved.
pub fn except_window(caller: &Caller, input: Json) -> Result<Json, Error> {
    let asked: Except = parse_input(input)?;
    let space = owned_space(caller, &asked.space)?;
    let key = Windows::key(&space.id);
    let mut windows: Windows = state::get(&key)?.unwrap_or_default();
    windows
        .except(asked.except)
        .map_err(|e| Error::Invalid(e.to_string()))?;
    availability::save_windows(&space, &windows)?;
    Ok(json!({ "space": space.id, "windows": windows }))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SpaceQuery {
    space: String,
    start: Option<At>,
    end: Option<At>,
}

/// `space {space, start?, end?}` → the space, its status, windows, its
/// availability over the span (the next week by default) and the times
/// reserved, without who holds them.
pub fn space(input: Json, config: &Config) -> Result<Json, Error> {
    let asked: SpaceQuery = parse_input(input)?;
    let space = places::space(&asked.space)?;
    let now = timer::now();
    let start = asked
        .start
        .map_or(Ok(now), |at| at.resolve("start", config))?;
    let end = asked.end.map_or(Ok(start + 7 * calendar::DAY_MS), |at| {
        at.resolve("end", config)
    })?;
    let span = span(start, end)?;
    let windows: Windows = state::get(&Windows::key(&space.id))?.unwrap_or_default();
    let book: Book = state::get(&Book::key(&space.id))?.unwrap_or_default();
    let status = crate::occupancy::status(
        lots::sensor_of(&space)?.as_ref(),
        now,
        config.occupancy.report_interval_ms,
    );
    Ok(json!({
        "space": space,
        "status": status,
        "windows": windows,
        "available": windows.available(span, config.utc_offset_minutes),
        "reserved": book.active_intervals().into_iter().filter(|r| r.overlaps(span)).collect::<Vec<_>>(),
    }))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Search {
    /// A place to measure from: a household, a gate.
    from: String,
    start: At,
    end: At,
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
    let wanted = interval(&query.start, &query.end, config)?;
    if !(query.radius_m > 0.0 && query.radius_m <= 5_000.0) {
        return Err(Error::Invalid("radius_m: between 0 and 5000 metres".into()));
    }
    let requester = parker(caller, query.visitor)?;
    let from = Origin::Place(query.from);
    let wanted = search::Wanted {
        time: wanted,
        requester: &requester,
        now: timer::now(),
        limit: MAX_OFFERS,
    };
    let offers = finder::near(&from, query.radius_m, wanted, config)?;
    Ok(json!({ "offers": offers }))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Reserve {
    space: String,
    start: At,
    end: At,
    visitor: Option<String>,
}

/// `reserve {space, start, end, visitor?}` → `{id, reservation}`.
pub fn reserve(config: &Config, caller: &Caller, input: Json) -> Result<Json, Error> {
    let asked: Reserve = parse_input(input)?;
    let wanted = interval(&asked.start, &asked.end, config)?;
    let requester = parker(caller, asked.visitor)?;
    let space = places::space(&asked.space)?;
    let windows: Windows = state::get(&Windows::key(&space.id))?.unwrap_or_default();
    let now = timer::now();
    let key = Book::key(&space.id);
    let mut book: Book = state::get(&key)?.unwrap_or_default();
    let made = search::reserve(&space, &windows, &mut book, &requester, wanted, now, config)
        .map_err(|refused| refusal(&space, refused, config))?
        .clone();
    // Checked after the rules and the book, so an overlap is refused as
    // one; the book is written only if this passes too.
    can_pay(&requester.person, made.rate, wanted, config)?;
    wake::wake(&space, &mut book, lots::sensor_of(&space)?, now, config)?;
    availability::save_book(&space, &book)?;
    let id = made.id(&space.id);
    office::remember(&made.holder, &id)?;
    Ok(json!({ "id": id.to_string(), "reservation": made }))
}

/// A refused reservation in the parker's words: a clash with another
/// reservation is told in local time, without whose it is.
fn refusal(space: &Space, refused: search::Refusal, config: &Config) -> Error {
    match refused {
        search::Refusal::Book(BookError::Overlaps { held, .. }) => Error::Invalid(format!(
            "start: {} is already reserved from {} to {}: search again for another space or time",
            space.id,
            calendar::date_time(held.start, config.utc_offset_minutes),
            calendar::date_time(held.end, config.utc_offset_minutes)
        )),
        search::Refusal::Denied(denied) => Error::Denied(denied.to_string()),
        other => Error::Invalid(other.to_string()),
    }
}

/// Refuses a priced reservation the parker could not pay for if used to
/// its end, or while they owe for an earlier one.
fn can_pay(person: &str, rate: u32, wanted: Interval, config: &Config) -> Result<(), Error> {
    if rate == 0 {
        return Ok(());
    }
    if !money::granted() {
        return Err(Error::Denied(
            "this space is priced and the scene may not move points (no ledger grant): only free windows can be reserved".into(),
        ));
    }
    let history: History = state::get(&History::key(person))?.unwrap_or_default();
    let owed: u64 = history.owed.iter().map(|debt| debt.points).sum();
    if owed > 0 {
        return Err(Error::Denied(format!(
            "{owed} points are owed for earlier parking: top up first"
        )));
    }
    let price = pricing::charge(
        rate,
        pricing::billed_ms(wanted.len_ms(), config.pricing.billing_step_ms),
    );
    let spendable = money::spendable(person, config)?;
    if i64::try_from(price).unwrap_or(i64::MAX) > spendable {
        return Err(Error::Invalid(format!(
            "start: the reservation costs {price} points and {person} may spend {spendable}: top up or choose a shorter time"
        )));
    }
    Ok(())
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
    let id: ReservationId = asked
        .reservation
        .parse()
        .map_err(|why| Error::Invalid(format!("reservation: {why}")))?;
    let key = Book::key(&id.space);
    let mut book: Book = state::get(&key)?.unwrap_or_default();
    let holder = book
        .get(id.seq)
        .map(|r| r.holder.clone())
        .ok_or_else(|| Error::NotFound(format!("reservation: no reservation {id}")))?;
    if !caller.manages_community() && caller.person.as_deref() != Some(holder.as_str()) {
        return Err(Error::Denied(format!("{id} is {holder}'s to cancel")));
    }
    let cancelled = book
        .cancel(id.seq, timer::now())
        .map_err(|e| Error::Invalid(e.to_string()))?
        .clone();
    availability::save_book(&places::space(&id.space)?, &book)?;
    Ok(json!({ "id": id.to_string(), "reservation": cancelled }))
}
