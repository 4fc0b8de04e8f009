//! The scene's records on the community ledger, all in the `voting`
//! namespace, each a typed JSON record (`ledger.append-record`):
//!
//! | kind | when | body |
//! |---|---|---|
//! | `voting/motion` | a motion opens | the motion as voted on: text, attachments' hashes, class, question, scope, times, secrecy, the roll's totals |
//! | `voting/roll` | a motion opens, in parts | `[unit, area_m2, head]` for every unit of the roll |
//! | `voting/ballot/{caster}` | each ballot cast or changed | motion, unit, its sequence number, who cast it and how; the choice, or a secret ballot's seal |
//! | `voting/proxy/{owner}` | a proxy authorised or revoked | motion, unit, owner, proxy, the written authorisation's SHA-256 |
//! | `voting/tally` | a motion closes | the result with its arithmetic, and the parts that list the counted ballots |
//! | `voting/tally-part` | a motion closes, in parts | the ledger indices of the counted ballots; for a secret motion, the unlinked lines `[tag, choice, area_m2, head]` |
//!
//! Ballot and proxy kinds end in the person they belong to because the host
//! shows a resident the entries whose kind's last segment is their person
//! id: a voter fetches their own ballot's receipt with their own token.
//!
//! A body is at most 64 KiB on the host, so the roll and the tally's lists
//! are cut into parts well under that.
//!
//! Every record has an idempotency key naming what it records, so a
//! handler the host runs again writes nothing twice.

use linli_sdk::ledger::{self, LedgerError};
use linli_sdk::Error;
use serde_json::Value as Json;

use crate::ballot::EntryPlace;

pub const MOTION_KIND: &str = "voting/motion";
pub const ROLL_KIND: &str = "voting/roll";
pub const BALLOT_KIND: &str = "voting/ballot";
pub const PROXY_KIND: &str = "voting/proxy";
pub const TALLY_KIND: &str = "voting/tally";
pub const TALLY_PART_KIND: &str = "voting/tally-part";

/// How large one part's items may grow, in bytes of JSON: room to spare
/// under the host's 64 KiB body for the record's own fields.
const PART_BYTES: usize = 48 * 1024;

fn ledger_error(error: LedgerError) -> Error {
    match error {
        LedgerError::Denied(m) => Error::Denied(m),
        LedgerError::Invalid(m) => Error::Invalid(format!("ledger: {m}")),
        LedgerError::Conflict(m) => Error::Internal(format!("ledger: {m}")),
        LedgerError::Internal(m) => Error::Internal(m),
        LedgerError::UnknownAccount(a) => Error::Internal(format!("ledger: no account {a}")),
        LedgerError::InsufficientFunds(f) => {
            Error::Internal(format!("ledger: unexpected transfer on {}", f.account))
        }
    }
}

/// Appends a record of `kind` and says where it landed.
pub fn append(kind: &str, body: &Json, key: &str) -> Result<EntryPlace, Error> {
    ledger::append_record(kind, &body.to_string(), key)
        .map(EntryPlace::from)
        .map_err(ledger_error)
}

/// `items` cut into parts of at most [`PART_BYTES`] of JSON each, in order;
/// one empty part when there are none, so a list is always published.
pub fn parts(items: Vec<Json>) -> Vec<Vec<Json>> {
    let mut parts: Vec<Vec<Json>> = vec![Vec::new()];
    let mut size = 0;
    for item in items {
        let bytes = item.to_string().len() + 1;
        if size + bytes > PART_BYTES && !parts.last().is_some_and(Vec::is_empty) {
            parts.push(Vec::new());
            size = 0;
        }
        size += bytes;
        parts.last_mut().expect("never empty").push(item);
    }
    parts
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn long_lists_are_cut_into_parts_under_the_body_limit() {
        let items: Vec<Json> = (0..5_000)
            .map(|i| json!([format!("b{}-{i:04}", i % 40), "120.00", format!("h{i}")]))
            .collect();
        let parts = parts(items);
        assert!(parts.len() > 1);
        assert_eq!(parts.iter().map(Vec::len).sum::<usize>(), 5_000);
        for part in &parts {
            assert!(Json::from(part.clone()).to_string().len() <= PART_BYTES + 2);
        }
    }

    #[test]
    fn an_empty_list_is_one_empty_part() {
        assert_eq!(parts(Vec::new()), vec![Vec::<Json>::new()]);
    }
}
