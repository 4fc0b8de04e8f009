//! Time coins on the community ledger: one minute of service is one coin
//! (amounts are minutes; 60 make the hour the issue calls one coin).
//!
//! Accounts (ledger namespace `timebank`):
//! - `timebank/members/<person>`: a member's coins, with the configured floor
//!   (how far into debt they may go);
//! - `timebank/pool`: the community pool. Starting allowances come from it,
//!   so it goes below zero by what the community has issued (down to
//!   `pool-floor-minutes`); every balance together always sums to zero.
//!
//! Every write has a deterministic idempotency key, so a retried command or
//! a handler run twice never moves coins twice: `open/pool`,
//! `open/<person>`, `allowance/<person>`, `service/<request>`,
//! `donation/<donor>/<key>`.

use linli_sdk::ledger::{self, Account, EntryRef, LedgerError};
use linli_sdk::{parse_input, Caller, Error};
use serde::Deserialize;
use serde_json::{json, Value as Json};

use crate::access;
use crate::config::Config;
use crate::input::{self, invalid};
use crate::members::{self, Who};
use crate::request::{Receipt, Request};

pub const POOL: &str = "timebank/pool";
/// The most a single donation or history page may carry.
const MOST_DONATED_MINUTES: i64 = 100 * 60;
const HISTORY_PAGE: u32 = 100;

pub fn account(person: &str) -> String {
    format!("timebank/members/{person}")
}

/// A ledger failure as the platform's error, in words a member understands.
pub fn ledger_error(error: LedgerError) -> Error {
    match error {
        LedgerError::Denied(why) => Error::Denied(why),
        LedgerError::UnknownAccount(account) => {
            Error::NotFound(format!("no time-coin account {account}"))
        }
        LedgerError::InsufficientFunds(short) => Error::Invalid(format!(
            "{} holds {} minutes and may not go below {}: cannot pay {} minutes",
            short.account, short.balance, short.floor, short.requested
        )),
        LedgerError::Invalid(why) | LedgerError::Conflict(why) => Error::Invalid(why),
        LedgerError::Internal(why) => Error::Internal(why),
    }
}

fn receipt(entry: &EntryRef) -> Receipt {
    Receipt {
        index: entry.index,
        leaf_hash: entry.leaf_hash.clone(),
    }
}

/// Opens the pool (once) and the member's account, and pays the starting allowance.
pub fn open(config: &Config, person: &str) -> Result<(), Error> {
    ledger::open_account(POOL, Some(config.pool_floor_minutes), "open/pool")
        .map_err(ledger_error)?;
    let mine = account(person);
    ledger::open_account(
        &mine,
        Some(config.member_floor_minutes),
        &format!("open/{person}"),
    )
    .map_err(ledger_error)?;
    if config.starting_allowance_minutes > 0 {
        let evidence = json!({"allowance": "starting", "person": person});
        ledger::transfer(
            POOL,
            &mine,
            config.starting_allowance_minutes,
            "starting allowance",
            Some(&evidence.to_string()),
            &format!("allowance/{person}"),
        )
        .map_err(ledger_error)?;
    }
    Ok(())
}

pub fn balance(person: &str) -> Result<Account, Error> {
    ledger::balance(&account(person)).map_err(ledger_error)
}

/// Pays the volunteer for a confirmed service, with the service record as evidence.
pub fn pay(request: &Request) -> Result<Receipt, Error> {
    let (Some(volunteer), Some(minutes)) = (&request.volunteer, request.served_minutes) else {
        return Err(Error::Internal(format!(
            "request {} is confirmed without a volunteer or minutes",
            request.id
        )));
    };
    let evidence = json!({
        "service": {
            "request": request.id,
            "need": request.need,
            "requester": request.requester,
            "volunteer": volunteer,
            "minutes": minutes,
            "accepted-at": request.accepted_at,
            "started-at": request.started_at,
            "completed-at": request.completed_at,
            "confirmed-at": request.confirmed_at,
            "confirmed-by": request.confirmed_by,
            "rating": request.rating,
        }
    });
    let entry = ledger::transfer(
        &account(&request.requester),
        &account(volunteer),
        minutes,
        &format!(
            "{} for {}: request {}",
            request.need, request.requester, request.id
        ),
        Some(&evidence.to_string()),
        &format!("service/{}", request.id),
    )
    .map_err(ledger_error)?;
    Ok(receipt(&entry))
}

/// `donate`: a member gives coins to another; a donation never takes the donor below zero.
#[derive(Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
struct Donation {
    #[serde(rename = "for")]
    donor: Option<String>,
    to: String,
    minutes: i64,
    /// The client's key: the same key again donates once.
    key: String,
    #[serde(default)]
    note: String,
}

pub fn donate(caller: &Caller, input: Json) -> Result<Json, Error> {
    let donation: Donation = parse_input(input)?;
    input::minutes("minutes", donation.minutes, MOST_DONATED_MINUTES)?;
    input::key("key", &donation.key)?;
    input::text("note", &donation.note, 200)?;
    let donor = access::on_behalf(caller, donation.donor)?;
    members::require("for", &donor)?;
    members::require("to", &donation.to)?;
    if donor == donation.to {
        return Err(invalid("to", "a member cannot donate to themselves"));
    }
    let evidence = json!({"donation": {"from": donor, "to": donation.to, "note": donation.note}});
    let entry = ledger::transfer(
        &account(&donor),
        &account(&donation.to),
        donation.minutes,
        "donation",
        Some(&evidence.to_string()),
        &format!("donation/{donor}/{}", donation.key),
    )
    .map_err(ledger_error)?;
    // Checked after the transfer, not before, so that a retried donation is
    // answered as the first was even though the balance has moved since; a
    // refusal here discards the pending transfer with the handler.
    let left = balance(&donor)?.balance;
    if !entry.replayed && left < 0 {
        return Err(invalid(
            "minutes",
            format!(
                "{donor} holds {} minutes; a donation cannot take a donor into debt",
                left + donation.minutes
            ),
        ));
    }
    Ok(entry_json(&entry))
}

fn entry_json(entry: &EntryRef) -> Json {
    json!({"index": entry.index, "leaf-hash": entry.leaf_hash, "replayed": entry.replayed})
}

/// `balance`: a member's account.
pub fn show_balance(caller: &Caller, input: Json) -> Result<Json, Error> {
    let who: Who = parse_input(input)?;
    let person = access::on_behalf(caller, who.person)?;
    members::require("for", &person)?;
    let held = balance(&person)?;
    Ok(json!({"account": held.name, "balance": held.balance, "floor": held.floor.unwrap_or(0)}))
}

/// `history`: the entries touching a member's account, oldest first, with
/// the signed amount for them and the entry index for its receipt.
#[derive(Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
struct HistoryPage {
    #[serde(rename = "for")]
    person: Option<String>,
    after: Option<u64>,
    limit: Option<u32>,
}

pub fn history(caller: &Caller, input: Json) -> Result<Json, Error> {
    let page: HistoryPage = parse_input(input)?;
    let person = access::on_behalf(caller, page.person)?;
    members::require("for", &person)?;
    let mine = account(&person);
    let limit = page.limit.unwrap_or(HISTORY_PAGE).clamp(1, HISTORY_PAGE);
    let entries = ledger::entries(Some(&mine), page.after, limit).map_err(ledger_error)?;
    let lines: Vec<Json> = entries
        .iter()
        .map(|entry| {
            let body: Json = serde_json::from_str(&entry.body).unwrap_or(Json::Null);
            let amount = body["amount"].as_i64().unwrap_or(0);
            let change = if body["target"] == mine.as_str() {
                amount
            } else if body["source"] == mine.as_str() {
                -amount
            } else {
                0
            };
            json!({
                "index": entry.index,
                "kind": entry.kind,
                "at": entry.at,
                "change": change,
                "memo": body["memo"],
                "evidence": body["evidence"],
            })
        })
        .collect();
    Ok(json!({"account": mine, "entries": lines}))
}
