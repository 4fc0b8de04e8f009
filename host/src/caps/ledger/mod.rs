//! `ledger`: the community's tamper-evident ledger — accounts with balances
//! moved only by double-entry transfers, typed records, and an append-only
//! Merkle log (RFC 6962) over every entry with signed checkpoints, so that
//! residents can check a balance or a vote without trusting the database.
//!
//! - [`merkle`]: hashing, proofs and their verification.
//! - [`checkpoint`]: the host's signing key and signed checkpoints.
//! - [`log`]: the log in the store, receipts and the audit.
//! - [`node_cache`]: each tree, kept in memory for proofs.
//! - [`crate::api::ledger`]: checkpoints, proofs, receipts, accounts and entries over HTTP.
//!
//! Writes from a handler are pending until it succeeds, like every other
//! effect; the community's writer lock is held from the first write until the
//! handler's transaction commits, so the log index a plugin is told is final.
//! The runtime commits a handler that holds the lock at once instead of
//! letting it join a longer run, so a plugin holds it for at most one call;
//! the time another plugin waits for it does not count against that
//! plugin's call budget, and a wait past [`LOCK_WAIT`] gives up and has the
//! event handled again later instead of failing it.
//! Every write carries an idempotency key: repeating a write returns the
//! original entry and moves nothing.

pub mod checkpoint;
pub mod log;
pub mod merkle;
mod node_cache;
pub mod note;
pub mod receipt;

use std::sync::Arc;

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use tokio::sync::OwnedMutexGuard;

use futures::future::BoxFuture;

use super::effects::{CommitError, Effects};
use super::{InstallationContext, Scope};
use crate::db::Tx;
use crate::wit::linli::platform::ledger::{
    Account, Entry, EntryRef, Host, InsufficientFunds, LedgerError,
};
use log::{LedgerService, PendingEntry};

/// Longest account name, record kind, memo or idempotency key, in bytes.
const MAX_NAME_BYTES: usize = 128;
/// Largest record body or transfer evidence, in bytes.
const MAX_BODY_BYTES: usize = 64 << 10;
/// Most entries one `entries` call returns.
const MAX_ENTRIES: u32 = 1000;
/// Longest a handler waits for the community's writer lock before its event
/// is put back to be handled again.
pub const LOCK_WAIT: std::time::Duration = std::time::Duration::from_secs(15);

/// The `ledger` scope: the namespaces (the part of a name before `/`) the
/// installation may write and read, e.g. `["timebank"]`, and the record
/// kinds within them that every member of the community may read.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LedgerScope {
    pub namespaces: Vec<String>,
    /// Record kinds residents read besides the entries of their own
    /// accounts: `voting/tally` covers that kind and every kind under it
    /// (`voting/tally/part`). An owners' vote publishes its ballots and
    /// tally this way so that anyone can recount it; what is left out stays
    /// for staff, admins and the people an entry names.
    #[serde(
        default,
        rename = "public-records",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub public_records: Vec<String>,
}

impl LedgerScope {
    /// Whether `name` (`namespace/rest`) is in a granted namespace.
    pub fn allows(&self, name: &str) -> bool {
        name.split_once('/')
            .is_some_and(|(ns, rest)| !rest.is_empty() && self.namespaces.iter().any(|n| n == ns))
    }

    /// Whether records of `kind` are for every member of the community.
    pub fn is_public(&self, kind: &str) -> bool {
        self.public_records.iter().any(|public| {
            kind.strip_prefix(public.as_str())
                .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
        })
    }

    /// Checks every namespace's spelling, and that every public record kind
    /// is a name in one of them.
    pub fn check_namespaces(&self) -> Result<(), String> {
        if let Some(bad) = self.namespaces.iter().find(|ns| {
            ns.is_empty()
                || ns.len() > 64
                || !ns
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        }) {
            return Err(format!(
                "namespace {bad:?} must be 1-64 characters of a-z, 0-9 or '-'"
            ));
        }
        match self
            .public_records
            .iter()
            .find(|kind| !self.allows(kind) || kind.len() > MAX_NAME_BYTES || kind.ends_with('/'))
        {
            Some(bad) => Err(format!(
                "public-records: {bad:?} is not a record kind in the namespaces {:?}",
                self.namespaces
            )),
            None => Ok(()),
        }
    }
}

impl Scope for LedgerScope {
    fn within(&self, requested: &Self) -> Result<(), String> {
        self.check_namespaces()?;
        if let Some(wider) = self
            .namespaces
            .iter()
            .find(|ns| !requested.namespaces.contains(ns))
        {
            return Err(format!("namespace {wider:?} was not requested"));
        }
        match self
            .public_records
            .iter()
            .find(|kind| !requested.public_records.contains(kind))
        {
            Some(wider) => Err(format!(
                "public-records: {wider:?} was not requested public"
            )),
            None => Ok(()),
        }
    }
}

/// Per-instance `ledger` state: the running handler's pending entries.
pub struct LedgerHost {
    ctx: Arc<InstallationContext>,
    /// The host's ledger: signing key and per-community writer locks.
    ledger: Arc<LedgerService>,
    /// The community's writer lock, from the first write until commit.
    writing: Option<OwnedMutexGuard<()>>,
    /// The log size when the lock was taken.
    base: u64,
    pending: Vec<PendingEntry>,
    /// How long the running call waited for the writer lock.
    waited: std::time::Duration,
    /// Whether the running call gave up waiting for the lock.
    contended: bool,
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
    pub fn new(ctx: Arc<InstallationContext>, ledger: Arc<LedgerService>) -> Self {
        Self {
            ctx,
            ledger,
            writing: None,
            base: 0,
            pending: Vec::new(),
            waited: std::time::Duration::ZERO,
            contended: false,
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
            let started = std::time::Instant::now();
            let guard =
                tokio::time::timeout(LOCK_WAIT, self.ledger.lock(&self.ctx.community)).await;
            self.waited += started.elapsed();
            let Ok(guard) = guard else {
                self.contended = true;
                return Err(LedgerError::Internal(
                    "ledger: the community's ledger stayed busy; the event will be handled again"
                        .to_owned(),
                ));
            };
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

    /// Forgets pending entries and lets other writers in; after a commit or a failure.
    fn release(&mut self) {
        self.pending.clear();
        self.writing = None;
    }
}

impl Effects for LedgerHost {
    fn begin_call(&mut self) {
        self.waited = std::time::Duration::ZERO;
        self.contended = false;
    }

    /// Writes the pending entries and a signed checkpoint into `tx`.
    fn commit<'a>(&'a mut self, tx: &'a mut Tx) -> BoxFuture<'a, Result<(), CommitError>> {
        Box::pin(async move {
            if !self.pending.is_empty() {
                let now = self.ctx.clock.now();
                self.ledger
                    .append(tx, &self.ctx.community, self.base, &self.pending, now)
                    .await?;
            }
            Ok(())
        })
    }

    fn committed(&mut self) {
        self.release();
    }

    fn discard(&mut self) {
        self.release();
    }

    fn waited(&self) -> std::time::Duration {
        self.waited
    }

    fn contended(&self) -> bool {
        self.contended
    }

    /// A held writer lock is committed at once: other installations of the
    /// community wait for it.
    fn commit_now(&self) -> bool {
        self.writing.is_some()
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

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use proptest::prelude::*;

    use super::log::LedgerService;
    use super::*;
    use crate::caps::CapabilitySet;
    use crate::clock::ManualClock;
    use crate::db::Db;

    /// A database with one community, and a ledger host granted namespace
    /// `t` built on the ledger service alone: no other capability's service.
    async fn fixture(dir: &std::path::Path) -> (LedgerHost, Db) {
        let db = crate::db::with_test_community(dir).await;
        let clock: crate::clock::SharedClock = Arc::new(ManualClock::new(1_000));
        let metrics = Arc::new(crate::metrics::Metrics::new());
        let ctx = Arc::new(InstallationContext {
            installation: "i".into(),
            community: "c".parse().unwrap(),
            plugin: "p".parse().unwrap(),
            grants: CapabilitySet {
                ledger: Some(LedgerScope {
                    namespaces: vec!["t".to_owned()],
                    public_records: Vec::new(),
                }),
                ..CapabilitySet::default()
            },
            db: db.clone(),
            clock: clock.clone(),
            metrics: metrics.installation("c", "p", "i"),
            quotas: crate::caps::quota::Quotas::new(
                crate::limits::Limits::default(),
                metrics.installation("c", "p", "i"),
            ),
            log_tail: Default::default(),
        });
        let ledger = Arc::new(LedgerService::open(dir).unwrap());
        (LedgerHost::new(ctx, ledger), db)
    }

    fn scope(namespaces: &[&str], public: &[&str]) -> LedgerScope {
        LedgerScope {
            namespaces: namespaces.iter().map(|n| n.to_string()).collect(),
            public_records: public.iter().map(|k| k.to_string()).collect(),
        }
    }

    #[test]
    fn a_public_record_kind_covers_the_kinds_under_it_and_no_other() {
        let voting = scope(&["voting"], &["voting/tally", "voting/ballot"]);
        assert!(voting.check_namespaces().is_ok());
        for public in ["voting/tally", "voting/ballot/owner-1", "voting/tally/part"] {
            assert!(voting.is_public(public), "{public}");
        }
        for private in [
            "voting/tallyx",
            "voting/proxy/owner-1",
            "voting",
            "parking/tally",
        ] {
            assert!(!voting.is_public(private), "{private}");
        }
    }

    #[test]
    fn public_record_kinds_are_in_the_namespaces_and_granted_only_as_requested() {
        assert!(scope(&["voting"], &["parking/handover"])
            .check_namespaces()
            .is_err());
        assert!(scope(&["voting"], &["voting"]).check_namespaces().is_err());
        assert!(scope(&["voting"], &["voting/"]).check_namespaces().is_err());
        let requested = scope(&["voting"], &["voting/tally", "voting/ballot"]);
        assert!(scope(&["voting"], &["voting/tally"])
            .within(&requested)
            .is_ok());
        assert!(scope(&["voting"], &[]).within(&requested).is_ok());
        let wider = scope(&["voting"], &["voting/motion"]).within(&requested);
        assert!(wider.unwrap_err().contains("voting/motion"));
    }

    /// Commits the handler's writes as the actor does.
    async fn commit(host: &mut LedgerHost, db: &Db) {
        let mut tx = crate::db::begin(db).await.unwrap();
        host.commit(&mut tx).await.unwrap();
        tx.commit().await.unwrap();
        host.committed();
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(24))]

        /// After any sequence of transfers — some refused, some in handlers
        /// that fail, some replayed — balances sum to zero, none is under its
        /// floor, every entry's movements sum to zero, and each balance is
        /// the sum of its movements.
        #[test]
        fn balances_sum_to_zero_and_never_pass_their_floor(
            floors in prop::collection::vec(prop::option::of(-300i64..=0), 2..6),
            moves in prop::collection::vec((0usize..6, 0usize..6, 1i64..200, 0u8..4), 1..40),
        ) {
            let dir = tempfile::tempdir().unwrap();
            tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
                let (mut host, db) = fixture(dir.path()).await;
                let n = floors.len();
                for (i, floor) in floors.iter().enumerate() {
                    host.open_account(format!("t/a{i}"), *floor, format!("open-{i}")).await.unwrap();
                }
                commit(&mut host, &db).await;
                let mut committed: Vec<(usize, usize, i64, String)> = Vec::new();
                for (step, (from, to, amount, fate)) in moves.into_iter().enumerate() {
                    let (from, to) = (from % n, to % n);
                    // fate 3 replays an earlier committed transfer with its key.
                    let (from, to, amount, key) = match (fate, committed.last()) {
                        (3, Some(earlier)) => earlier.clone(),
                        _ => (from, to, amount, format!("move-{step}")),
                    };
                    let result = host
                        .transfer(format!("t/a{from}"), format!("t/a{to}"), amount, String::new(), None, key.clone())
                        .await;
                    match result {
                        Ok(entry) if fate == 2 && !entry.replayed => host.release(),
                        Ok(entry) => {
                            commit(&mut host, &db).await;
                            if !entry.replayed {
                                committed.push((from, to, amount, key));
                            }
                        }
                        Err(LedgerError::InsufficientFunds(_)) | Err(LedgerError::Invalid(_)) => host.release(),
                        Err(other) => panic!("unexpected ledger error: {other:?}"),
                    }
                }
                let accounts = log::accounts(&db, &"c".parse().unwrap()).await.unwrap();
                assert_eq!(accounts.iter().map(|a| a.balance).sum::<i64>(), 0);
                for account in &accounts {
                    assert!(account.balance >= account.floor.unwrap_or(0), "{account:?}");
                    let moved: Option<i64> = sqlx::query_scalar(
                        "SELECT SUM(amount) FROM ledger_movements WHERE community_id = 'c' AND account = $1",
                    )
                    .bind(&account.name)
                    .fetch_one(&db)
                    .await
                    .unwrap();
                    assert_eq!(moved.unwrap_or(0), account.balance);
                }
                let unbalanced: Vec<i64> = sqlx::query_scalar(
                    "SELECT idx FROM ledger_movements GROUP BY idx HAVING SUM(amount) <> 0",
                )
                .fetch_all(&db)
                .await
                .unwrap();
                assert!(unbalanced.is_empty());
                let transfers: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM ledger_entries WHERE kind = 'transfer'")
                    .fetch_one(&db)
                    .await
                    .unwrap();
                assert_eq!(transfers as usize, committed.len(), "replays and failed handlers wrote nothing");
            });
        }
    }
}
