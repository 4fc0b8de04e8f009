//! The property office's and a parker's own views: the lots' counts and
//! recount, monthly reports, selling points, balances, and a parker's
//! reservations.

use linli_sdk::{calendar, parse_input, state, timer, Caller, Error};
use serde::Deserialize;
use serde_json::{json, Value as Json};

use crate::config::Config;
use crate::lots;
use crate::money;
use crate::overstay::History;
use crate::reservations::{Book, Reservation, ReservationId};

/// At most this many reservations one parker holds in their list.
const MAX_MINE: usize = 64;

fn managers_only(caller: &Caller, what: &str) -> Result<(), Error> {
    if caller.manages_community() {
        Ok(())
    } else {
        Err(Error::Denied(format!(
            "{what} is for whoever runs the community"
        )))
    }
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct LotQuery {
    lot: Option<String>,
}

/// `lots {lot?}`: anyone may see how many spaces are free.
pub fn lots(input: Json, config: &Config) -> Result<Json, Error> {
    let asked: LotQuery = parse_input(input)?;
    lots::lots(asked.lot.as_deref(), timer::now(), config)
}

/// `recount {lot?}`: staff rebuild the counts from the sensors.
pub fn recount(caller: &Caller, input: Json, config: &Config) -> Result<Json, Error> {
    managers_only(caller, "a recount")?;
    let asked: LotQuery = parse_input(input)?;
    lots::recount(asked.lot.as_deref(), timer::now(), config)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ReportQuery {
    lot: String,
    month: Option<String>,
}

/// `report {lot, month?}`: staff see a lot's month (the current one by default).
pub fn report(caller: &Caller, input: Json, config: &Config) -> Result<Json, Error> {
    managers_only(caller, "the monthly report")?;
    let asked: ReportQuery = parse_input(input)?;
    let month = match asked.month {
        Some(month) if is_month(&month) => month,
        Some(month) => {
            return Err(Error::Invalid(format!(
                "month: {month:?} is not a month: write YYYY-MM"
            )))
        }
        None => calendar::month(timer::now(), config.utc_offset_minutes),
    };
    lots::report(&asked.lot, &month, config)
}

fn is_month(text: &str) -> bool {
    calendar::is_date(&format!("{text}-01"))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TopUp {
    person: String,
    points: i64,
    /// The office's receipt number, so a retried top-up sells once.
    key: String,
}

/// `top-up {person, points, key}`: the office sells points; what the
/// parker owed is paid from them first.
pub fn top_up(caller: &Caller, input: Json, config: &Config) -> Result<Json, Error> {
    managers_only(caller, "selling points")?;
    let asked: TopUp = parse_input(input)?;
    if !(1..=1_000_000).contains(&asked.points) {
        return Err(Error::Invalid("points: between 1 and 1000000".into()));
    }
    if asked.key.is_empty() || asked.key.len() > 64 {
        return Err(Error::Invalid("key: 1 to 64 characters".into()));
    }
    if !money::granted() {
        return Err(Error::Denied(
            "the scene has no ledger grant: nothing is priced".into(),
        ));
    }
    linli_sdk::map::get_person(&asked.person)
        .map_err(|_| Error::NotFound(format!("person: no person {}", asked.person)))?;
    money::top_up(&asked.person, asked.points, &asked.key, config)
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct AccountQuery {
    person: Option<String>,
    owner: Option<String>,
}

/// `account {person?}` or `account {owner}`: a parker's points and debts
/// (their own; staff any), or what an owner earned.
pub fn account(caller: &Caller, input: Json, config: &Config) -> Result<Json, Error> {
    let asked: AccountQuery = parse_input(input)?;
    if !money::granted() {
        return Err(Error::Denied(
            "the scene has no ledger grant: nothing is priced".into(),
        ));
    }
    if let Some(owner) = asked.owner {
        let mine =
            crate::places::requester(caller, None)?.is_some_and(|me| me.acts_for.contains(&owner));
        if !mine {
            managers_only(caller, "another owner's earnings")?;
        }
        let earned = money::earned(&owner)?;
        return Ok(
            json!({"owner": owner, "account": money::owner_account(&owner), "earned": earned}),
        );
    }
    let person = match (asked.person, caller.person.clone()) {
        (Some(person), mine) if mine.as_deref() != Some(person.as_str()) => {
            managers_only(caller, "another parker's account")?;
            person
        }
        (Some(person), _) | (None, Some(person)) => person,
        (None, None) => {
            return Err(Error::Invalid(
                "person: an admin's token names nobody: say whose".into(),
            ))
        }
    };
    let spendable = money::spendable(&person, config)?;
    let history: History = state::get(&History::key(&person))?.unwrap_or_default();
    Ok(json!({
        "person": person,
        "account": money::parker_account(&person),
        "spendable": spendable,
        "owed": history.owed,
        "banned-until": history.banned_until,
    }))
}

/// The store key of the list of `person`'s reservation ids.
pub fn mine_key(person: &str) -> String {
    format!("parker/{person}/reservations")
}

/// Adds a reservation to its holder's list, forgetting ones the books no
/// longer hold.
pub fn remember(holder: &str, id: &ReservationId) -> Result<(), Error> {
    let key = mine_key(holder);
    let mut ids: Vec<String> = state::get(&key)?.unwrap_or_default();
    ids.push(id.to_string());
    if ids.len() > MAX_MINE {
        ids.drain(..ids.len() - MAX_MINE);
    }
    state::put(&key, &ids)
}

/// `my-reservations` → the caller's reservations, newest first.
pub fn my_reservations(caller: &Caller) -> Result<Json, Error> {
    let person = caller
        .person
        .as_deref()
        .ok_or_else(|| Error::Invalid("an admin's token names nobody".into()))?;
    let ids: Vec<String> = state::get(&mine_key(person))?.unwrap_or_default();
    let mut found: Vec<(String, Reservation)> = Vec::new();
    for text in ids.iter().rev() {
        let Ok(id) = text.parse::<ReservationId>() else {
            continue;
        };
        let book: Book = state::get(&Book::key(&id.space))?.unwrap_or_default();
        if let Some(reservation) = book.get(id.seq).filter(|r| r.holder == person) {
            found.push((text.clone(), reservation.clone()));
        }
    }
    Ok(json!({
        "reservations": found
            .into_iter()
            .map(|(id, reservation)| json!({"id": id, "reservation": reservation}))
            .collect::<Vec<_>>()
    }))
}
