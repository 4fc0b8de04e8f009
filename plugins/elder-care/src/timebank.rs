//! The time bank's requests: filing one (within the requester's floor),
//! offering it in widening rounds, the service steps, payment on
//! confirmation, and expiry when nobody took it.
//!
//! Store:
//! - `request/<id>` → [`Request`] (ids `r-000001`, …, from `next-request`);
//! - `live/<id>` → `true` while the request is live (open to confirmation),
//!   so that the floor check and the busy check read only those;
//! - `request-key/<key>/<requester>` → id: a request filed again with the
//!   same client key is the same request (keyed by the requester last, so
//!   the host exports and erases it with them).
//!
//! Offers and the request as shown say where the requester lives only when
//! they consent to `location-sharing` (`people::shared_address`).
//!
//! Timers: `widen/<id>` (nobody accepted within the offer timeout: the next
//! round) and `expire/<id>` (at the end of the request's time: unmet if
//! still open).

use linli_sdk::calendar::date_time;
use linli_sdk::{parse_input, personal, state, timer, Caller, Error};
use serde::Deserialize;
use serde_json::{json, Value as Json};

use crate::config::Config;
use crate::input::{self, invalid};
use crate::matching::next_offers;
use crate::notices::{self, OFFER, UPDATE};
use crate::reports;
use crate::request::{Action, Actor, Offer, Outcome, Request, Status};
use crate::volunteers::{self, Work};
use crate::{access, coins, members, people};

const REQUEST: &str = "request/";
const LIVE: &str = "live/";
const NEXT_ID: &str = "next-request";
/// The longest service one request asks for.
const MOST_MINUTES: i64 = 12 * 60;

pub const WIDEN: &str = "widen/";
pub const EXPIRE: &str = "expire/";

pub fn load(id: &str) -> Result<Request, Error> {
    state::get(&format!("{REQUEST}{id}"))?
        .ok_or_else(|| Error::NotFound(format!("no request {id}")))
}

pub fn save(request: &Request) -> Result<(), Error> {
    state::put(&format!("{REQUEST}{}", request.id), request)?;
    let live = format!("{LIVE}{}", request.id);
    if request.status.is_live() {
        state::put(&live, &true)
    } else {
        state::delete(&live).map(drop)
    }
}

/// Requests not yet confirmed, cancelled or expired.
pub fn live_requests() -> Result<Vec<Request>, Error> {
    state::keys(LIVE)?
        .iter()
        .map(|key| load(&key[LIVE.len()..]))
        .collect()
}

pub fn all_requests() -> Result<Vec<Request>, Error> {
    state::keys(REQUEST)?
        .iter()
        .filter_map(|key| state::get(key).transpose())
        .collect()
}

fn describe(request: &Request) -> Json {
    serde_json::to_value(request).unwrap_or(Json::Null)
}

/// `request`: ask for help.
#[derive(Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
struct NewRequest {
    #[serde(rename = "for")]
    person: Option<String>,
    need: String,
    /// The earliest start, UTC ms.
    start: i64,
    /// The latest end, UTC ms; `start + minutes` when absent.
    end: Option<i64>,
    /// The estimated duration.
    minutes: i64,
    #[serde(default)]
    note: String,
    /// The client's key: filing again with it answers the first request.
    key: Option<String>,
}

pub fn file(config: &Config, caller: &Caller, input: Json) -> Result<Json, Error> {
    let new: NewRequest = parse_input(input)?;
    input::skill("need", &new.need)?;
    input::minutes("minutes", new.minutes, MOST_MINUTES)?;
    input::text("note", &new.note, 500)?;
    if let Some(key) = &new.key {
        input::key("key", key)?;
    }
    let requester = access::on_behalf(caller, new.person)?;
    members::require("for", &requester)?;
    let replay_key = new
        .key
        .as_ref()
        .map(|key| personal::key(&format!("request-key/{key}"), &requester));
    if let Some(replay_key) = &replay_key {
        if let Some(id) = state::get::<String>(replay_key)? {
            return Ok(describe(&load(&id)?));
        }
    }
    let now = timer::now();
    let end = new.end.unwrap_or(new.start + new.minutes);
    if end - new.start < new.minutes {
        return Err(invalid(
            "end",
            format!("leaves less than {} minutes after `start`", new.minutes),
        ));
    }
    if end <= now {
        return Err(invalid("start", "the requested time has passed"));
    }
    check_floor(&requester, new.minutes)?;
    let id = state::update(NEXT_ID, |next: &mut u64| {
        *next += 1;
        format!("r-{next:06}")
    })?;
    let mut request = Request {
        id: id.clone(),
        requester,
        filed_by: caller.name().to_owned(),
        need: new.need,
        start: new.start,
        end,
        minutes: new.minutes,
        note: new.note,
        created_at: now,
        ..Request::default()
    };
    offer(config, &mut request, now)?;
    timer::schedule(&format!("{EXPIRE}{id}"), end, None)?;
    save(&request)?;
    if let Some(replay_key) = &replay_key {
        state::put(replay_key, &id)?;
    }
    Ok(describe(&request))
}

/// Refuses a request that would take the requester below their floor,
/// counting what their live requests already promise to pay.
fn check_floor(requester: &str, minutes: i64) -> Result<(), Error> {
    let account = coins::balance(requester)?;
    let promised: i64 = live_requests()?
        .iter()
        .filter(|r| r.requester == requester)
        .map(|r| r.served_minutes.unwrap_or(r.minutes))
        .sum();
    let floor = account.floor.unwrap_or(0);
    let room = account.balance - promised - floor;
    if room >= minutes {
        return Ok(());
    }
    let standing = format!(
        "balance {} minutes, {promised} promised to requests under way, floor {floor}",
        account.balance
    );
    let why = if room <= 0 {
        format!(
            "{requester} is at the time-coin floor ({standing}): help others or receive a donation before asking for more help"
        )
    } else {
        format!("{requester} can ask for at most {room} more minutes of help ({standing})")
    };
    Err(invalid("minutes", why))
}

/// Offers the request to the next candidates of its current round and
/// starts the timer for the next round.
pub fn offer(config: &Config, request: &mut Request, now: i64) -> Result<(), Error> {
    let work = Work {
        near: &request.requester,
        need: Some(&request.need),
        start: request.start,
        end: request.end,
        minutes: request.minutes,
    };
    let ranked = volunteers::ranked(config, &work, &request.excluded)?;
    let widening = config.widening();
    // Someone who withdrew or did not show frees their place in the round.
    let still_asked = request
        .offers
        .iter()
        .filter(|o| !request.excluded.contains(&o.person))
        .count();
    let asked = next_offers(
        &ranked,
        still_asked,
        |person| request.offered_to(person),
        &widening,
        request.round,
    );
    let requester = people::person(&request.requester)?;
    let address = people::shared_address(&requester)?;
    let at = address
        .as_ref()
        .map_or_else(String::new, |address| format!(" at {address}"));
    let offset = config.utc_offset_minutes;
    for person in asked {
        notices::tell(
            &person,
            OFFER,
            &format!("Can you help with {}?", request.need),
            &format!(
                "{} needs help with {}{at} for about {} minutes between {} and {}. {}",
                requester.name,
                request.need,
                request.minutes,
                date_time(request.start, offset),
                date_time(request.end, offset),
                request.note
            ),
            &json!({"request": request.id, "need": request.need, "start": request.start,
                    "end": request.end, "minutes": request.minutes, "round": request.round,
                    "home": &address}),
            &format!("offer/{}/{person}", request.id),
        )?;
        request.offers.push(Offer {
            person,
            round: request.round,
            at: now,
        });
    }
    if widening.widens_after(request.round) {
        timer::schedule(
            &format!("{WIDEN}{}", request.id),
            now + config.offer_timeout_ms(),
            None,
        )?;
    }
    Ok(())
}

/// `widen/<id>`: nobody accepted in time; ask a wider circle.
pub fn widen(config: &Config, id: &str) -> Result<(), Error> {
    let mut request = load(id)?;
    if request.status != Status::Open || !config.widening().widens_after(request.round) {
        return Ok(());
    }
    request.round += 1;
    offer(config, &mut request, timer::now())?;
    save(&request)
}

/// `expire/<id>`: the request's time is over; if nobody took it, it is unmet.
pub fn expire(id: &str) -> Result<(), Error> {
    let mut request = load(id)?;
    let nobody = Actor {
        person: None,
        for_requester: false,
    };
    if request.apply(Action::Expire, &nobody, timer::now()) == Ok(Outcome::Changed) {
        timer::cancel(&format!("{WIDEN}{id}"))?;
        notices::tell(
            &request.requester,
            UPDATE,
            "Nobody could take your request",
            &format!(
                "Nobody was free to help with {} in the time you asked for.",
                request.need
            ),
            &json!({"request": request.id, "status": "expired"}),
            &format!("expired/{id}"),
        )?;
        save(&request)?;
    }
    Ok(())
}

/// `accept`, `start`, `cancel`, `no-show`: a request id.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Step {
    request: String,
}

/// `complete`: with the minutes served when they differ from the estimate.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Completion {
    request: String,
    minutes: Option<i64>,
}

/// `confirm`: with a rating of 1 to 5.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Confirmation {
    request: String,
    rating: u8,
}

/// Runs one service step named by a command.
pub fn step(config: &Config, caller: &Caller, name: &str, input: Json) -> Result<Json, Error> {
    let (id, action) = match name {
        "complete" => {
            let done: Completion = parse_input(input)?;
            if let Some(minutes) = done.minutes {
                input::minutes("minutes", minutes, MOST_MINUTES)?;
            }
            (done.request, Action::Complete(done.minutes))
        }
        "confirm" => {
            let confirmed: Confirmation = parse_input(input)?;
            if !(1..=5).contains(&confirmed.rating) {
                return Err(invalid("rating", "must be 1 to 5"));
            }
            (confirmed.request, Action::Confirm(confirmed.rating))
        }
        _ => {
            let step: Step = parse_input(input)?;
            let action = match name {
                "accept" => Action::Accept,
                "start" => Action::Start,
                "cancel" => Action::Cancel,
                "no-show" => Action::NoShow,
                other => return Err(Error::Invalid(format!("unknown command: {other}"))),
            };
            (step.request, action)
        }
    };
    let mut request = load(&id)?;
    let actor = Actor {
        person: caller.person.clone(),
        for_requester: access::may_act_for(caller, &request.requester)?,
    };
    let volunteer = request.volunteer.clone();
    let now = timer::now();
    let outcome = request
        .apply(action, &actor, now)
        .map_err(|refusal| invalid("request", refusal))?;
    match outcome {
        Outcome::Unchanged => {}
        Outcome::Changed => after(&mut request, action, volunteer.as_deref())?,
        Outcome::Reopened => {
            let gone = volunteer.unwrap_or_default();
            notices::tell(
                &request.requester,
                UPDATE,
                "Your helper is not coming",
                &format!(
                    "{gone} is not coming for {}; others are being asked.",
                    request.need
                ),
                &json!({"request": request.id, "status": "open"}),
                &format!("reopened/{id}/{gone}"),
            )?;
            offer(config, &mut request, now)?;
        }
    }
    save(&request)?;
    Ok(json!({"changed": outcome != Outcome::Unchanged, "request": describe(&request)}))
}

/// What follows a step: payment, timers, telling the other side.
fn after(request: &mut Request, action: Action, volunteer: Option<&str>) -> Result<(), Error> {
    let id = request.id.clone();
    let data = json!({"request": id, "status": request.status.name()});
    match action {
        Action::Accept => {
            timer::cancel(&format!("{WIDEN}{id}"))?;
            let helper = request.volunteer.clone().unwrap_or_default();
            let name = people::person(&helper)?.name;
            notices::tell(
                &request.requester,
                UPDATE,
                "A helper is coming",
                &format!("{name} will help with {}.", request.need),
                &data,
                &format!("accepted/{id}/{helper}"),
            )
        }
        Action::Complete(_) => notices::tell(
            &request.requester,
            UPDATE,
            "Please confirm the help you received",
            &format!(
                "{} minutes of {} are done; confirm them to pay the helper.",
                request.served_minutes.unwrap_or(request.minutes),
                request.need
            ),
            &data,
            &format!("completed/{id}"),
        ),
        Action::Confirm(_) => {
            let receipt = coins::pay(request)?;
            request.receipt = Some(receipt);
            notices::tell(
                volunteer.unwrap_or_default(),
                UPDATE,
                "Thank you: time coins received",
                &format!(
                    "{} minutes for {} were confirmed and paid.",
                    request.served_minutes.unwrap_or(request.minutes),
                    request.need
                ),
                &data,
                &format!("confirmed/{id}"),
            )
        }
        Action::Cancel => {
            timer::cancel(&format!("{WIDEN}{id}"))?;
            match volunteer {
                Some(helper) => notices::tell(
                    helper,
                    UPDATE,
                    "A request was cancelled",
                    &format!("The request for {} was called off.", request.need),
                    &data,
                    &format!("cancelled/{id}"),
                ),
                None => Ok(()),
            }
        }
        Action::Start | Action::NoShow | Action::Expire => Ok(()),
    }
}

/// Whether the caller may see a request: its requester's side, its
/// volunteer, those it was offered to, and staff.
fn may_see(caller: &Caller, request: &Request) -> Result<bool, Error> {
    if access::may_act_for(caller, &request.requester)? {
        return Ok(true);
    }
    Ok(caller
        .person
        .as_deref()
        .is_some_and(|me| request.volunteer.as_deref() == Some(me) || request.offered_to(me)))
}

/// The request named by `{request}`, if the caller may see it.
fn load_visible(caller: &Caller, input: Json) -> Result<Request, Error> {
    let step: Step = parse_input(input)?;
    let request = load(&step.request)?;
    if !may_see(caller, &request)? {
        return Err(Error::Denied(format!(
            "request {} is not yours to see",
            request.id
        )));
    }
    Ok(request)
}

/// `show-request`: the request, and where its requester lives when they
/// consent to sharing it (an erased requester is on no map and shares nothing).
pub fn show(caller: &Caller, input: Json) -> Result<Json, Error> {
    let request = load_visible(caller, input)?;
    let address = match people::person(&request.requester) {
        Ok(requester) => people::shared_address(&requester)?,
        Err(Error::NotFound(_)) => None,
        Err(other) => return Err(other),
    };
    let mut shown = describe(&request);
    shown["home"] = json!(address);
    Ok(shown)
}

/// `receipt`: where a confirmed service's payment is in the ledger; the
/// host serves the entry's receipt and inclusion proof at `receipt-path`.
pub fn receipt(caller: &Caller, input: Json) -> Result<Json, Error> {
    let request = load_visible(caller, input)?;
    let Some(receipt) = &request.receipt else {
        return Err(invalid(
            "request",
            format!(
                "request {} is {}, not paid yet",
                request.id,
                request.status.name()
            ),
        ));
    };
    Ok(json!({
        "request": request.id,
        "index": receipt.index,
        "leaf-hash": receipt.leaf_hash,
        "minutes": request.served_minutes,
        "from": coins::account(&request.requester),
        "to": request.volunteer.as_deref().map(coins::account),
        "receipt-path": format!("ledger/entries/{}/receipt", receipt.index),
    }))
}

/// `requests`: a person's requests (filed, taken, or offered to them and
/// still open); staff without `for` see every request.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Listing {
    #[serde(rename = "for")]
    person: Option<String>,
    status: Option<Status>,
}

pub fn list(caller: &Caller, input: Json) -> Result<Json, Error> {
    let listing: Listing = parse_input(input)?;
    let everyone = listing.person.is_none() && caller.manages_community();
    let person = if everyone {
        String::new()
    } else {
        access::on_behalf(caller, listing.person)?
    };
    let mine = |r: &Request| {
        everyone
            || r.requester == person
            || r.volunteer.as_deref() == Some(person.as_str())
            || (r.status == Status::Open && r.offered_to(&person) && !r.excluded.contains(&person))
    };
    let requests: Vec<Json> = all_requests()?
        .iter()
        .filter(|r| mine(r))
        .filter(|r| listing.status.is_none_or(|status| r.status == status))
        .map(describe)
        .collect();
    Ok(Json::Array(requests))
}

/// `report`: the monthly figures, for staff; `{"month": "2026-01"}` for one month.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ReportQuery {
    month: Option<String>,
}

pub fn report(config: &Config, caller: &Caller, input: Json) -> Result<Json, Error> {
    access::require_staff(caller)?;
    let query: ReportQuery = parse_input(input)?;
    let mut months = reports::monthly(&all_requests()?, config.utc_offset_minutes);
    if let Some(month) = &query.month {
        months.retain(|m, _| m == month);
    }
    let open = live_requests()?
        .iter()
        .filter(|r| r.status == Status::Open)
        .count();
    Ok(json!({"months": months, "open-requests": open}))
}
