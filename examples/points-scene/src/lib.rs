//! points-scene: neighbour points on the community ledger.
//!
//! Each resident has an account `points/<person>`; the community's pool
//! `points/pool` may go into debt down to the configured `pool-floor` and is
//! where awarded points come from. Every award, gift and record is a ledger
//! entry with an idempotency key, so a retried command never moves points
//! twice, and every entry has a receipt residents can verify.

use linli_sdk::{export_scene, ledger, parse_input, Caller, Error, Event, Lifecycle, Scene};
use serde::Deserialize;
use serde_json::{json, Value as Json};

/// The pool that awards come from.
const POOL: &str = "points/pool";

/// The installation's config.
#[derive(Deserialize)]
#[serde(rename_all = "kebab-case")]
struct Config {
    /// How far into debt the pool may go.
    #[serde(default = "default_pool_floor")]
    pool_floor: i64,
}

fn default_pool_floor() -> i64 {
    -1_000_000
}

/// `join`: open a resident's account.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Join {
    person: String,
}

/// `award` (from the pool) and `give` (between residents).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Move {
    from: Option<String>,
    to: String,
    amount: i64,
    key: String,
    #[serde(default)]
    note: String,
}

/// `record`: a typed record such as a service proof.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Record {
    kind: String,
    body: Json,
    key: String,
}

fn account(person: &str) -> String {
    format!("points/{person}")
}

fn ledger_error(error: ledger::LedgerError) -> Error {
    match error {
        ledger::LedgerError::Denied(m) => Error::Denied(m),
        ledger::LedgerError::UnknownAccount(a) => Error::NotFound(format!("no account {a}")),
        ledger::LedgerError::InsufficientFunds(f) => Error::Invalid(format!(
            "{} holds {} and may not go below {}; cannot move {}",
            f.account, f.balance, f.floor, f.requested
        )),
        ledger::LedgerError::Invalid(m) | ledger::LedgerError::Conflict(m) => Error::Invalid(m),
        ledger::LedgerError::Internal(m) => Error::Internal(m),
    }
}

fn entry_json(entry: ledger::EntryRef) -> Json {
    json!({ "index": entry.index, "leaf-hash": entry.leaf_hash, "replayed": entry.replayed })
}

struct PointsScene;

impl Scene for PointsScene {
    type Config = Config;

    fn on_event(config: &Config, event: Event) -> Result<(), Error> {
        if let Event::Lifecycle(Lifecycle::Installed) = event {
            ledger::open_account(POOL, Some(config.pool_floor), "open-pool")
                .map_err(ledger_error)?;
        }
        Ok(())
    }

    fn on_command(_: &Config, _: &Caller, name: &str, input: Json) -> Result<Json, Error> {
        match name {
            "join" => {
                let join: Join = parse_input(input)?;
                let key = format!("join/{}", join.person);
                let opened = ledger::open_account(&account(&join.person), None, &key)
                    .map_err(ledger_error)?;
                Ok(json!({ "account": opened.name, "balance": opened.balance }))
            }
            "award" | "give" => {
                let m: Move = parse_input(input)?;
                let source = match (name, &m.from) {
                    ("award", _) => POOL.to_owned(),
                    (_, Some(from)) => account(from),
                    (_, None) => {
                        return Err(Error::Invalid(
                            "command input at `from`: required for give".into(),
                        ))
                    }
                };
                let entry =
                    ledger::transfer(&source, &account(&m.to), m.amount, &m.note, None, &m.key)
                        .map_err(ledger_error)?;
                Ok(entry_json(entry))
            }
            "record" => {
                let r: Record = parse_input(input)?;
                let entry = ledger::append_record(
                    &format!("points/{}", r.kind),
                    &r.body.to_string(),
                    &r.key,
                )
                .map_err(ledger_error)?;
                Ok(entry_json(entry))
            }
            "balance" => {
                let join: Join = parse_input(input)?;
                let held = ledger::balance(&account(&join.person)).map_err(ledger_error)?;
                Ok(json!({ "account": held.name, "balance": held.balance }))
            }
            _ => Err(Error::Invalid(format!("unknown command: {name}"))),
        }
    }
}

export_scene!(PointsScene);
