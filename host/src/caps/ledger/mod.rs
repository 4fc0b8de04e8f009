//! `ledger`: the community's tamper-evident ledger — accounts with balances
//! moved only by double-entry transfers, typed records, and an append-only
//! Merkle log (RFC 6962) over every entry with signed checkpoints, so that
//! residents can check a balance or a vote without trusting the database.
//!
//! - [`merkle`]: hashing, proofs and their verification.
//! - [`checkpoint`]: the host's signing key and signed checkpoints.
//! - [`log`]: the log in the store, receipts and the audit.
//! - [`api`]: checkpoints, proofs, receipts, accounts and entries over HTTP.
//!
//! Writes from a handler are pending until it succeeds, like every other
//! effect; the community's writer lock is held from the first write until the
//! handler's transaction commits, so the log index a plugin is told is final.
//! Every write carries an idempotency key: repeating a write returns the
//! original entry and moves nothing.

pub mod api;
pub mod checkpoint;
pub mod log;
pub mod merkle;

use std::sync::Arc;

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use tokio::sync::OwnedMutexGuard;

use super::{InstallationContext, Scope};
use crate::db::Tx;
use crate::runtime::bindings::linli::platform::ledger::{
    Account, Entry, EntryRef, Host, InsufficientFunds, LedgerError,
};
use log::PendingEntry;

/// Longest account name, record kind, memo or idempotency key, in bytes.
const MAX_NAME_BYTES: usize = 128;
/// Largest record body or transfer evidence, in bytes.
const MAX_BODY_BYTES: usize = 64 << 10;
/// Most entries one `entries` call returns.
const MAX_ENTRIES: u32 = 1000;

/// The `ledger` scope: the namespaces (the part of a name before `/`) the
/// installation may write and read, e.g. `["timebank"]`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LedgerScope {
    pub namespaces: Vec<String>,
}

impl LedgerScope {
    /// Whether `name` (`namespace/rest`) is in a granted namespace.
    pub fn allows(&self, name: &str) -> bool {
        name.split_once('/')
            .is_some_and(|(ns, rest)| !rest.is_empty() && self.namespaces.iter().any(|n| n == ns))
    }

    /// Checks every namespace's spelling.
    pub fn check_namespaces(&self) -> Result<(), String> {
        match self.namespaces.iter().find(|ns| {
            ns.is_empty()
                || ns.len() > 64
                || !ns
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        }) {
            Some(bad) => Err(format!(
                "namespace {bad:?} must be 1-64 characters of a-z, 0-9 or '-'"
            )),
            None => Ok(()),
        }
    }
}

impl Scope for LedgerScope {
    fn within(&self, requested: &Self) -> Result<(), String> {
        self.check_namespaces()?;
        match self
            .namespaces
            .iter()
            .find(|ns| !requested.namespaces.contains(ns))
        {
            Some(wider) => Err(format!("namespace {wider:?} was not requested")),
            None => Ok(()),
        }
    }
}

/// Per-instance `ledger` state: the running handler's pending entries.
pub struct LedgerHost {
    ctx: Arc<InstallationContext>,
    /// The community's writer lock, from the first write until commit.
    writing: Option<OwnedMutexGuard<()>>,
    /// The log size when the lock was taken.
    base: u64,
    pending: Vec<PendingEntry>,
}

fn invalid(message: impl Into<String>) -> LedgerError {
    LedgerError::Invalid(message.into())
}

/// A write's content without its time: what a replay must repeat exactly.
fn request_of(body: &str) -> Option<Value> {
    let mut value: Value = serde_json::from_str(body).ok()?;
    value.as_object_mut()?.remove("at");
    Some(value)
}

impl LedgerHost {
    pub fn new(ctx: Arc<InstallationContext>) -> Self {
        Self {
            ctx,
            writing: None,
            base: 0,
            pending: Vec::new(),
        }
    }

    fn internal(&self, error: impl std::fmt::Display) -> LedgerError {
        tracing::error!(installation = %self.ctx.installation, "ledger call failed: {error}");
        LedgerError::Internal("ledger: the host could not complete the call".to_owned())
    }

    /// Checks that `name` is well formed and in a granted namespace.
    fn check_name(&self, what: &str, name: &str) -> Result<(), LedgerError> {
        let Some(scope) = &self.ctx.grants.ledger else {
            self.ctx
                .deny("ledger", "ledger was not granted to this installation");
            return Err(LedgerError::Denied(
                "ledger was not granted to this installation".to_owned(),
            ));
        };
        if name.is_empty() || name.len() > MAX_NAME_BYTES || name.chars().any(char::is_control) {
            return Err(invalid(format!(
                "{what} must be 1-{MAX_NAME_BYTES} bytes without control characters"
            )));
        }
        if !scope.allows(name) {
            let why = format!("{what} {name:?} is not in a namespace granted to this installation");
            self.ctx.deny("ledger", why.clone());
            return Err(LedgerError::Denied(why));
        }
        Ok(())
    }

    fn check_key(key: &str) -> Result<(), LedgerError> {
        if key.is_empty() || key.len() > MAX_NAME_BYTES {
            return Err(invalid(format!(
                "idempotency-key must be 1-{MAX_NAME_BYTES} bytes"
            )));
        }
        Ok(())
    }

    /// Takes the writer lock and notes the log size, once per handler.
    async fn begin(&mut self) -> Result<(), LedgerError> {
        if self.writing.is_none() {
            let guard = self.ctx.ledger.lock(&self.ctx.community).await;
            self.base = log::size(&self.ctx.db, &self.ctx.community)
                .await
                .map_err(|e| self.internal(e))?;
            self.writing = Some(guard);
        }
        Ok(())
    }

    /// The earlier write with `key`, if any: the same request is a replay, another is a conflict.
    async fn replay(&self, key: &str, request: &Value) -> Result<Option<EntryRef>, LedgerError> {
        let earlier = match self.pending.iter().position(|p| p.idempotency_key == key) {
            Some(i) => Some((
                self.base + i as u64,
                self.pending[i].body.clone(),
                hex::encode(self.pending[i].leaf),
            )),
            None => log::entry_by_key(
                &self.ctx.db,
                &self.ctx.community,
                self.ctx.plugin.as_str(),
                key,
            )
            .await
            .map_err(|e| self.internal(e))?
            .map(|e| (e.index, e.body, e.leaf_hash)),
        };
        let Some((index, body, leaf_hash)) = earlier else {
            return Ok(None);
        };
        if request_of(&body).as_ref() != Some(request) {
            return Err(LedgerError::Conflict(format!(
                "idempotency-key {key:?} was already used for a different write (entry {index})"
            )));
        }
        Ok(Some(EntryRef {
            index,
            leaf_hash,
            replayed: true,
        }))
    }

    /// Queues an entry whose body is `request` plus the time.
    fn push(
        &mut self,
        kind: &'static str,
        mut request: Value,
        key: String,
        movements: Vec<(String, i64)>,
        opens: Option<(String, Option<i64>)>,
    ) -> EntryRef {
        let at = self.ctx.clock.now();
        request["at"] = json!(at);
        let body = request.to_string();
        let leaf = merkle::leaf_hash(body.as_bytes());
        let index = self.base + self.pending.len() as u64;
        self.pending.push(PendingEntry {
            kind,
            body,
            leaf,
            plugin: self.ctx.plugin.to_string(),
            idempotency_key: key,
            at,
            movements,
            opens,
        });
        EntryRef {
            index,
            leaf_hash: hex::encode(leaf),
            replayed: false,
        }
    }

    /// The account as this handler sees it: committed, plus pending changes.
    async fn current(&self, name: &str) -> Result<Option<Account>, LedgerError> {
        let committed = log::account(&self.ctx.db, &self.ctx.community, name)
            .await
            .map_err(|e| self.internal(e))?
            .map(|a| Account {
                name: a.name,
                balance: a.balance,
                floor: a.floor,
            });
        let opened = self.pending.iter().find_map(|p| match &p.opens {
            Some((opened, floor)) if opened == name => Some(Account {
                name: name.to_owned(),
                balance: 0,
                floor: *floor,
            }),
            _ => None,
        });
        Ok(committed.or(opened).map(|mut account| {
            account.balance += self
                .pending
                .iter()
                .flat_map(|p| &p.movements)
                .filter(|(a, _)| a == name)
                .map(|(_, amount)| amount)
                .sum::<i64>();
            account
        }))
    }

    /// Writes the pending entries and a signed checkpoint into `tx`.
    pub async fn commit(&mut self, tx: &mut Tx) -> Result<(), log::LedgerError> {
        if !self.pending.is_empty() {
            let now = self.ctx.clock.now();
            self.ctx
                .ledger
                .append(tx, &self.ctx.community, self.base, &self.pending, now)
                .await?;
        }
        Ok(())
    }

    /// Forgets pending entries and lets other writers in; after a commit or a failure.
    pub fn release(&mut self) {
        self.pending.clear();
        self.writing = None;
    }
}

impl Host for LedgerHost {
    async fn open_account(
        &mut self,
        name: String,
        floor: Option<i64>,
        idempotency_key: String,
    ) -> Result<Account, LedgerError> {
        self.check_name("account", &name)?;
        Self::check_key(&idempotency_key)?;
        if floor.is_some_and(|f| f > 0) {
            return Err(invalid(
                "floor must be 0 or below: it is how far the account may go into debt",
            ));
        }
        self.begin().await?;
        if let Some(account) = self.current(&name).await? {
            return Ok(account);
        }
        let request = json!({"kind": "open", "account": name, "floor": floor, "plugin": self.ctx.plugin.as_str(), "key": idempotency_key});
        // A key already used for another write is a conflict; reopening is answered above.
        self.replay(&idempotency_key, &request).await?;
        self.push(
            "open",
            request,
            idempotency_key,
            Vec::new(),
            Some((name.clone(), floor)),
        );
        Ok(Account {
            name,
            balance: 0,
            floor,
        })
    }

    async fn transfer(
        &mut self,
        source: String,
        target: String,
        amount: i64,
        memo: String,
        evidence: Option<String>,
        idempotency_key: String,
    ) -> Result<EntryRef, LedgerError> {
        self.check_name("source", &source)?;
        self.check_name("target", &target)?;
        Self::check_key(&idempotency_key)?;
        if amount <= 0 {
            return Err(invalid("amount must be above 0"));
        }
        if source == target {
            return Err(invalid("source and target must differ"));
        }
        if memo.len() > 500 {
            return Err(invalid("memo must be at most 500 bytes"));
        }
        let evidence = match evidence {
            Some(e) if e.len() > MAX_BODY_BYTES => {
                return Err(invalid(format!(
                    "evidence must be at most {MAX_BODY_BYTES} bytes"
                )))
            }
            Some(e) => Some(
                serde_json::from_str::<Value>(&e)
                    .map_err(|err| invalid(format!("evidence is not JSON: {err}")))?,
            ),
            None => None,
        };
        let request = json!({
            "kind": "transfer", "source": source, "target": target, "amount": amount, "memo": memo,
            "evidence": evidence, "plugin": self.ctx.plugin.as_str(), "key": idempotency_key,
        });
        self.begin().await?;
        if let Some(replayed) = self.replay(&idempotency_key, &request).await? {
            return Ok(replayed);
        }
        let from = self
            .current(&source)
            .await?
            .ok_or_else(|| LedgerError::UnknownAccount(source.clone()))?;
        if self.current(&target).await?.is_none() {
            return Err(LedgerError::UnknownAccount(target));
        }
        let floor = from.floor.unwrap_or(0);
        if from
            .balance
            .checked_sub(amount)
            .is_none_or(|after| after < floor)
        {
            return Err(LedgerError::InsufficientFunds(InsufficientFunds {
                account: source,
                balance: from.balance,
                floor,
                requested: amount,
            }));
        }
        let movements = vec![(source, -amount), (target, amount)];
        Ok(self.push("transfer", request, idempotency_key, movements, None))
    }

    async fn append_record(
        &mut self,
        kind: String,
        body: String,
        idempotency_key: String,
    ) -> Result<EntryRef, LedgerError> {
        self.check_name("kind", &kind)?;
        Self::check_key(&idempotency_key)?;
        if body.len() > MAX_BODY_BYTES {
            return Err(invalid(format!(
                "body must be at most {MAX_BODY_BYTES} bytes"
            )));
        }
        let body: Value =
            serde_json::from_str(&body).map_err(|e| invalid(format!("body is not JSON: {e}")))?;
        let request = json!({"kind": "record", "record-kind": kind, "body": body, "plugin": self.ctx.plugin.as_str(), "key": idempotency_key});
        self.begin().await?;
        if let Some(replayed) = self.replay(&idempotency_key, &request).await? {
            return Ok(replayed);
        }
        Ok(self.push("record", request, idempotency_key, Vec::new(), None))
    }

    async fn balance(&mut self, name: String) -> Result<Account, LedgerError> {
        self.check_name("account", &name)?;
        self.current(&name)
            .await?
            .ok_or(LedgerError::UnknownAccount(name))
    }

    async fn entries(
        &mut self,
        account: Option<String>,
        after: Option<u64>,
        limit: u32,
    ) -> Result<Vec<Entry>, LedgerError> {
        if let Some(account) = &account {
            self.check_name("account", account)?;
        }
        let scope = self.ctx.grants.ledger.clone().unwrap_or_default();
        let entries = log::entries(
            &self.ctx.db,
            &self.ctx.community,
            account.as_deref(),
            after,
            limit.min(MAX_ENTRIES),
        )
        .await
        .map_err(|e| self.internal(e))?;
        Ok(entries
            .into_iter()
            .filter(|e| {
                account.is_some() || entry_namespaces(&e.body).iter().any(|n| scope.allows(n))
            })
            .map(|e| Entry {
                index: e.index,
                kind: e.kind,
                body: e.body,
                at: e.at,
            })
            .collect())
    }
}

/// The names an entry body touches: its accounts or its record kind.
pub fn entry_namespaces(body: &str) -> Vec<String> {
    let Ok(value) = serde_json::from_str::<Value>(body) else {
        return Vec::new();
    };
    ["account", "source", "target", "record-kind"]
        .iter()
        .filter_map(|field| value.get(*field).and_then(Value::as_str).map(str::to_owned))
        .collect()
}
