//! The community ledger, as the `ledger` capability keeps it: accounts with
//! floors, double-entry transfers that never take an account below its
//! floor, typed records, and idempotency keys whose repeat returns the first
//! result (and whose reuse for another write is a conflict).
//!
//! Entries carry the host's canonical bodies and leaf hashes (SHA-256 of
//! 0x00 and the body), so a plugin that stores an entry reference sees what
//! it would see on the host. The Merkle tree, checkpoints and receipts are
//! the host's and are not simulated.

use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use crate::ledger::{Account, Entry, EntryRef, InsufficientFunds, LedgerError};
use crate::native::Transfer;
use crate::Timestamp;

/// Largest record body or transfer evidence, in bytes, as on the host.
const MAX_BODY_BYTES: usize = 64 << 10;
/// Longest idempotency key, in bytes, as on the host.
const MAX_KEY_BYTES: usize = 128;
/// Most entries one `entries` call returns, as on the host.
const MAX_ENTRIES: u32 = 1000;

fn invalid(message: impl Into<String>) -> LedgerError {
    LedgerError::Invalid(message.into())
}

/// One entry of the log, with what it did to balances.
#[derive(Debug, Clone)]
struct Written {
    entry: Entry,
    leaf_hash: String,
    idempotency_key: String,
    /// The entry's request without its time: what a replay must repeat.
    request: Value,
    /// (account, amount) pairs; a transfer's sum to zero.
    movements: Vec<(String, i64)>,
}

/// Accounts and the append-only log of the community's entries.
#[derive(Debug, Clone, Default)]
pub(crate) struct Ledger {
    accounts: Vec<Account>,
    log: Vec<Written>,
}

pub(crate) fn check_key(key: &str) -> Result<(), LedgerError> {
    if key.is_empty() || key.len() > MAX_KEY_BYTES {
        return Err(invalid(format!(
            "idempotency-key must be 1-{MAX_KEY_BYTES} bytes"
        )));
    }
    Ok(())
}

impl Ledger {
    /// The earlier write with `key`: the same request is a replay, another a conflict.
    fn replay(&self, key: &str, request: &Value) -> Result<Option<EntryRef>, LedgerError> {
        let Some(earlier) = self.log.iter().find(|w| w.idempotency_key == key) else {
            return Ok(None);
        };
        if &earlier.request != request {
            return Err(LedgerError::Conflict(format!(
                "idempotency-key {key:?} was already used for a different write (entry {})",
                earlier.entry.index
            )));
        }
        Ok(Some(EntryRef {
            index: earlier.entry.index,
            leaf_hash: earlier.leaf_hash.clone(),
            replayed: true,
        }))
    }

    /// Appends an entry whose body is `request` plus the time.
    fn push(
        &mut self,
        kind: &str,
        request: Value,
        key: &str,
        movements: Vec<(String, i64)>,
        at: Timestamp,
    ) -> EntryRef {
        let mut body = request.clone();
        body["at"] = json!(at);
        let body = body.to_string();
        let mut hasher = Sha256::new();
        hasher.update([0u8]);
        hasher.update(body.as_bytes());
        let leaf_hash = hex::encode(hasher.finalize());
        let index = self.log.len() as u64;
        for (account, amount) in &movements {
            if let Some(a) = self.accounts.iter_mut().find(|a| &a.name == account) {
                a.balance += amount;
            }
        }
        self.log.push(Written {
            entry: Entry {
                index,
                kind: kind.to_owned(),
                body,
                at,
            },
            leaf_hash: leaf_hash.clone(),
            idempotency_key: key.to_owned(),
            request,
            movements,
        });
        EntryRef {
            index,
            leaf_hash,
            replayed: false,
        }
    }

    pub fn account(&self, name: &str) -> Option<&Account> {
        self.accounts.iter().find(|a| a.name == name)
    }

    pub fn open_account(
        &mut self,
        plugin: &str,
        name: &str,
        floor: Option<i64>,
        key: &str,
        at: Timestamp,
    ) -> Result<Account, LedgerError> {
        check_key(key)?;
        if floor.is_some_and(|f| f > 0) {
            return Err(invalid(
                "floor must be 0 or below: it is how far the account may go into debt",
            ));
        }
        if let Some(account) = self.account(name) {
            return Ok(account.clone());
        }
        let request =
            json!({"kind": "open", "account": name, "floor": floor, "plugin": plugin, "key": key});
        self.replay(key, &request)?;
        let account = Account {
            name: name.to_owned(),
            balance: 0,
            floor,
        };
        self.accounts.push(account.clone());
        self.push("open", request, key, Vec::new(), at);
        Ok(account)
    }

    pub fn transfer(
        &mut self,
        plugin: &str,
        t: Transfer<'_>,
        at: Timestamp,
    ) -> Result<EntryRef, LedgerError> {
        check_key(t.idempotency_key)?;
        if t.amount <= 0 {
            return Err(invalid("amount must be above 0"));
        }
        if t.source == t.target {
            return Err(invalid("source and target must differ"));
        }
        if t.memo.len() > 500 {
            return Err(invalid("memo must be at most 500 bytes"));
        }
        let evidence = match t.evidence {
            Some(e) if e.len() > MAX_BODY_BYTES => {
                return Err(invalid(format!(
                    "evidence must be at most {MAX_BODY_BYTES} bytes"
                )))
            }
            Some(e) => Some(
                serde_json::from_str::<Value>(e)
                    .map_err(|err| invalid(format!("evidence is not JSON: {err}")))?,
            ),
            None => None,
        };
        let request = json!({
            "kind": "transfer", "source": t.source, "target": t.target, "amount": t.amount,
            "memo": t.memo, "evidence": evidence, "plugin": plugin, "key": t.idempotency_key,
        });
        if let Some(replayed) = self.replay(t.idempotency_key, &request)? {
            return Ok(replayed);
        }
        let from = self
            .account(t.source)
            .ok_or_else(|| LedgerError::UnknownAccount(t.source.to_owned()))?;
        if self.account(t.target).is_none() {
            return Err(LedgerError::UnknownAccount(t.target.to_owned()));
        }
        let floor = from.floor.unwrap_or(0);
        if from
            .balance
            .checked_sub(t.amount)
            .is_none_or(|after| after < floor)
        {
            return Err(LedgerError::InsufficientFunds(InsufficientFunds {
                account: t.source.to_owned(),
                balance: from.balance,
                floor,
                requested: t.amount,
            }));
        }
        let movements = vec![
            (t.source.to_owned(), -t.amount),
            (t.target.to_owned(), t.amount),
        ];
        Ok(self.push("transfer", request, t.idempotency_key, movements, at))
    }

    pub fn append_record(
        &mut self,
        plugin: &str,
        kind: &str,
        body: &str,
        key: &str,
        at: Timestamp,
    ) -> Result<EntryRef, LedgerError> {
        check_key(key)?;
        if body.len() > MAX_BODY_BYTES {
            return Err(invalid(format!(
                "body must be at most {MAX_BODY_BYTES} bytes"
            )));
        }
        let body: Value =
            serde_json::from_str(body).map_err(|e| invalid(format!("body is not JSON: {e}")))?;
        let request = json!({"kind": "record", "record-kind": kind, "body": body, "plugin": plugin, "key": key});
        if let Some(replayed) = self.replay(key, &request)? {
            return Ok(replayed);
        }
        Ok(self.push("record", request, key, Vec::new(), at))
    }

    /// Entries after `after` that moved `account`, or (without one) that `visible` allows.
    pub fn entries(
        &self,
        account: Option<&str>,
        after: Option<u64>,
        limit: u32,
        visible: impl Fn(&str) -> bool,
    ) -> Vec<Entry> {
        self.log
            .iter()
            .filter(|w| after.is_none_or(|after| w.entry.index > after))
            .filter(|w| match account {
                Some(account) => w.movements.iter().any(|(a, _)| a == account),
                None => ["account", "source", "target", "record-kind"]
                    .iter()
                    .filter_map(|field| w.request.get(*field).and_then(Value::as_str))
                    .any(&visible),
            })
            .take(limit.min(MAX_ENTRIES) as usize)
            .map(|w| w.entry.clone())
            .collect()
    }

    /// Every account, in the order opened.
    pub fn accounts(&self) -> &[Account] {
        &self.accounts
    }

    /// Every entry, oldest first.
    pub fn all_entries(&self) -> Vec<Entry> {
        self.log.iter().map(|w| w.entry.clone()).collect()
    }
}
