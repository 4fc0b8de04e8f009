//! Points on the community ledger (namespace `parking`): what parkers pay
//! and owners earn, and the handover records.
//!
//! Accounts:
//! - `parking/pool`: where points come from. The property office sells
//!   points (`top-up`), so the pool goes below zero by what it has issued,
//!   down to `ledger.pool-floor-points`; every balance together sums to zero.
//! - `parking/parkers/<person>`: a parker's points, with the debt limit
//!   `ledger.parker-floor-points` (0 by default: no debt).
//! - `parking/owners/<owner>`: what an owner (a unit, the property company,
//!   an office tenant) earned from their spaces.
//! - `parking/fees`: overstay fees, the property company's.
//!
//! Every write has a deterministic idempotency key (`charge/<reservation>`,
//! `fee/<reservation>`, `handover/<reservation>/<what>`, ...), so a handler
//! run twice never moves points twice.
//!
//! A check-out cannot be refused, so a parker who cannot pay owes it: the
//! amount is kept in their [`History`](crate::overstay::History), written to
//! the ledger as an `unpaid` handover, paid by the next top-up, and they
//! reserve nothing priced until then. Without the ledger grant only free
//! windows can be reserved and nothing here runs.

use linli_sdk::ledger::{self, Account, EntryRef, LedgerError};
use linli_sdk::{grants, Error};
use serde::Serialize;
use serde_json::{json, Value as Json};

use crate::config::Config;
use crate::overstay::History;
use crate::reservations::{Reservation, ReservationId};
use crate::space::Space;

pub const POOL: &str = "parking/pool";
pub const FEES: &str = "parking/fees";
/// The kind of the handover records.
pub const HANDOVER: &str = "parking/handover";

pub fn parker_account(person: &str) -> String {
    format!("parking/parkers/{person}")
}

pub fn owner_account(owner: &str) -> String {
    format!("parking/owners/{owner}")
}

/// Whether the installation may move points: the ledger grant is optional.
pub fn granted() -> bool {
    grants::granted()
        .ledger
        .is_some_and(|namespaces| namespaces.iter().any(|n| n == "parking"))
}

/// A ledger failure in a parker's words.
pub fn ledger_error(error: LedgerError) -> Error {
    match error {
        LedgerError::Denied(why) => Error::Denied(why),
        LedgerError::UnknownAccount(account) => Error::NotFound(format!("no account {account}")),
        LedgerError::InsufficientFunds(short) => Error::Invalid(format!(
            "{} holds {} points and may not go below {}: cannot pay {}",
            short.account, short.balance, short.floor, short.requested
        )),
        LedgerError::Invalid(why) | LedgerError::Conflict(why) => Error::Invalid(why),
        LedgerError::Internal(why) => Error::Internal(why),
    }
}

/// Where a write landed, as replies and records name it: the entry index
/// whose receipt the host serves (`GET …/ledger/entries/{index}/receipt`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub struct Receipt {
    pub index: u64,
    pub leaf_hash: String,
}

impl From<EntryRef> for Receipt {
    fn from(entry: EntryRef) -> Self {
        Self {
            index: entry.index,
            leaf_hash: entry.leaf_hash,
        }
    }
}

fn open(name: &str, floor: i64) -> Result<(), Error> {
    ledger::open_account(name, Some(floor), &format!("open/{name}"))
        .map(drop)
        .map_err(ledger_error)
}

fn open_parker(person: &str, config: &Config) -> Result<String, Error> {
    let account = parker_account(person);
    open(&account, config.ledger.parker_floor_points)?;
    Ok(account)
}

/// The account `name`, or `None` when nothing has been paid into or out of
/// it yet: a read must not open it, for an open is a ledger write.
fn read_account(name: &str) -> Result<Option<Account>, Error> {
    match ledger::balance(name) {
        Ok(account) => Ok(Some(account)),
        Err(LedgerError::UnknownAccount(_)) => Ok(None),
        Err(other) => Err(ledger_error(other)),
    }
}

/// What `person` may still spend: their points above their floor.
pub fn spendable(person: &str, config: &Config) -> Result<i64, Error> {
    Ok(match read_account(&parker_account(person))? {
        Some(account) => account.balance - account.floor.unwrap_or(0),
        None => -config.ledger.parker_floor_points,
    })
}

/// What `owner`'s spaces have earned.
pub fn earned(owner: &str) -> Result<i64, Error> {
    Ok(read_account(&owner_account(owner))?.map_or(0, |account| account.balance))
}

/// Sells `points` to `person` from the pool, then pays what they owe from
/// them; `key` makes a retried top-up move nothing twice.
pub fn top_up(person: &str, points: i64, key: &str, config: &Config) -> Result<Json, Error> {
    open(POOL, config.ledger.pool_floor_points)?;
    let account = open_parker(person, config)?;
    let receipt: Receipt = ledger::transfer(
        POOL,
        &account,
        points,
        &format!("{points} parking points for {person}"),
        None,
        &format!("top-up/{person}/{key}"),
    )
    .map_err(ledger_error)?
    .into();
    let history_key = History::key(person);
    let mut history: History = linli_sdk::state::get(&history_key)?.unwrap_or_default();
    let mut paid = Vec::new();
    while let Some(debt) = history.owed.first().cloned() {
        match transfer(&account, &debt.to, debt.points, &debt.memo, &debt.key) {
            Ok(receipt) => {
                paid.push(json!({"reservation": debt.reservation, "points": debt.points, "receipt": receipt}));
                history.owed.remove(0);
            }
            Err(LedgerError::InsufficientFunds(_)) => break,
            Err(other) => return Err(ledger_error(other)),
        }
    }
    linli_sdk::state::put(&history_key, &history)?;
    let balance = ledger::balance(&account).map_err(ledger_error)?.balance;
    Ok(json!({"person": person, "balance": balance, "receipt": receipt, "debts-paid": paid}))
}

fn transfer(
    source: &str,
    target: &str,
    points: u64,
    memo: &str,
    key: &str,
) -> Result<Receipt, LedgerError> {
    let amount =
        i64::try_from(points).map_err(|_| LedgerError::Invalid("amount too large".into()))?;
    ledger::transfer(source, target, amount, memo, None, key).map(Receipt::from)
}

/// A payment a parker could not make at check-out, owed until a top-up.
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize, Serialize)]
pub struct Debt {
    pub reservation: String,
    pub to: String,
    pub points: u64,
    pub memo: String,
    pub key: String,
}

/// What a check-out moved: each payment's receipt, or that it is owed.
#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "kebab-case")]
pub struct Paid {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub charge: Option<Receipt>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub overstay_fee: Option<Receipt>,
    pub owed: u64,
}

/// Pays a checked-out reservation of `space`: the time to the owner, the
/// overstay fee to the property company. What the parker cannot pay is
/// owed (see the module's comment).
pub fn pay(space: &Space, reservation: &Reservation, config: &Config) -> Result<Paid, Error> {
    let mut paid = Paid::default();
    let Some(settlement) = reservation.settlement else {
        return Ok(paid);
    };
    if !granted() || settlement.total() == 0 {
        return Ok(paid);
    }
    let id = reservation.id(&space.id);
    let parker = open_parker(&reservation.holder, config)?;
    let owner = owner_account(&space.owner);
    open(&owner, 0)?;
    open(FEES, 0)?;
    let mut history: Option<History> = None;
    let payments = [
        (
            owner,
            settlement.charge,
            format!("charge/{id}"),
            format!(
                "{id}: {} min at {} points/h",
                settlement.billed_ms / 60_000,
                reservation.rate
            ),
        ),
        (
            FEES.to_owned(),
            settlement.overstay_fee,
            format!("fee/{id}"),
            format!(
                "{id}: overstay, {} started steps",
                settlement.overstay_steps
            ),
        ),
    ];
    for (index, (to, points, key, memo)) in payments.into_iter().enumerate() {
        if points == 0 {
            continue;
        }
        match transfer(&parker, &to, points, &memo, &key) {
            Ok(receipt) if index == 0 => paid.charge = Some(receipt),
            Ok(receipt) => paid.overstay_fee = Some(receipt),
            Err(LedgerError::InsufficientFunds(_)) => {
                let history_key = History::key(&reservation.holder);
                let owing =
                    history.get_or_insert(linli_sdk::state::get(&history_key)?.unwrap_or_default());
                owing.owed.push(Debt {
                    reservation: id.to_string(),
                    to,
                    points,
                    memo,
                    key,
                });
                paid.owed += points;
            }
            Err(other) => return Err(ledger_error(other)),
        }
    }
    if let Some(history) = history {
        linli_sdk::state::put(&History::key(&reservation.holder), &history)?;
    }
    Ok(paid)
}

/// What happened at a handover, for the ledger record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Handover {
    CheckIn,
    CheckOut,
    NoShow,
    Displaced,
    Overstay,
}

impl Handover {
    fn name(self) -> &'static str {
        match self {
            Handover::CheckIn => "check-in",
            Handover::CheckOut => "check-out",
            Handover::NoShow => "no-show",
            Handover::Displaced => "displaced",
            Handover::Overstay => "overstay",
        }
    }
}

/// Records a handover of `reservation` on the ledger (when granted), with
/// what was paid; returns its receipt.
pub fn record(
    what: Handover,
    space: &Space,
    reservation: &Reservation,
    at: i64,
    paid: Option<&Paid>,
) -> Result<Option<Receipt>, Error> {
    if !granted() {
        return Ok(None);
    }
    let id: ReservationId = reservation.id(&space.id);
    let body = json!({
        "handover": what.name(),
        "reservation": id.to_string(),
        "space": space.id,
        "lot": space.lot,
        "owner": space.owner,
        "holder": reservation.holder,
        "visitor": reservation.visitor,
        "start": reservation.start,
        "end": reservation.end,
        "rate": reservation.rate,
        "at": at,
        "settlement": reservation.settlement,
        "paid": paid,
    });
    let receipt = ledger::append_record(
        HANDOVER,
        &body.to_string(),
        &format!("handover/{id}/{}", what.name()),
    )
    .map_err(ledger_error)?;
    Ok(Some(receipt.into()))
}
