//! The ledger benchmark: how fast the community ledger appends, and what a
//! proof costs in a large log. Run it with `cargo xtask bench`.
//!
//! - `appends`: transfers appended through [`LedgerService::append`] on the
//!   embedded SQLite store, in commit batches of 100 with a signed checkpoint
//!   after each batch, as handlers commit them. Target: at least 20,000
//!   entries per second.
//! - `inclusion proof`: a proof for a random entry of a 1,000,000-entry log,
//!   as a receipt reads it ([`LedgerService::inclusion_proof`]), once the
//!   service holds the tree in memory. Target: median under 50 µs. Loading
//!   the tree from the store ([`LedgerService::warm`], which the first proof
//!   starts in the background) is timed on its own.
//! - `verify`: checking such a proof against the root
//!   ([`merkle::verify_inclusion`]). Target: median under 20 µs.
//!
//! The 1,000,000-entry tree is built in memory and its subtree hashes are
//! bulk-loaded into the store, so the run stays short; proofs read them
//! exactly as they read the hashes that appends write.

use std::sync::Arc;
use std::time::{Duration, Instant};

use linli_host::caps::ledger::log::{self, LedgerService, PendingEntry};
use linli_host::caps::ledger::merkle::{self, MemoryLog, NodeId, NodeStore};
use linli_host::ids::CommunityId;

/// Entries appended in the append benchmark.
const APPENDS: u64 = 50_000;
/// Entries per commit batch (and so per checkpoint).
const BATCH: u64 = 100;
/// Size of the log the proof benchmarks run against.
const PROOF_LOG_SIZE: u64 = 1_000_000;
/// Proofs sampled.
const PROOFS: usize = 2_000;

const APPENDS_TARGET: f64 = 20_000.0;
const PROOF_TARGET: Duration = Duration::from_micros(50);
const VERIFY_TARGET: Duration = Duration::from_micros(20);

fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

fn verdict(pass: bool) -> &'static str {
    if pass {
        "PASS"
    } else {
        "MISS"
    }
}

/// A transfer of one coin between two accounts, as a handler would queue it.
fn transfer(i: u64) -> PendingEntry {
    let (source, target) = if i.is_multiple_of(2) {
        ("bench/a", "bench/b")
    } else {
        ("bench/b", "bench/a")
    };
    let body = format!(
        r#"{{"amount":1,"at":{i},"evidence":null,"key":"t{i}","kind":"transfer","memo":"","plugin":"bench","source":"{source}","target":"{target}"}}"#
    );
    PendingEntry {
        kind: "transfer",
        leaf: merkle::leaf_hash(body.as_bytes()),
        body,
        plugin: "bench".to_owned(),
        idempotency_key: format!("t{i}"),
        at: i as i64,
        movements: vec![(source.to_owned(), -1), (target.to_owned(), 1)],
        opens: None,
    }
}

fn open(name: &str, key: &str) -> PendingEntry {
    let body = format!(
        r#"{{"account":"{name}","floor":-1000000,"key":"{key}","kind":"open","plugin":"bench"}}"#
    );
    PendingEntry {
        kind: "open",
        leaf: merkle::leaf_hash(body.as_bytes()),
        body,
        plugin: "bench".to_owned(),
        idempotency_key: key.to_owned(),
        at: 0,
        movements: Vec::new(),
        opens: Some((name.to_owned(), Some(-1_000_000))),
    }
}

async fn store(dir: &std::path::Path, community: &CommunityId) -> linli_host::db::Db {
    let db = linli_host::db::open(&linli_host::db::sqlite_url(dir))
        .await
        .expect("the store opens");
    sqlx::query(
        "INSERT INTO communities (id, name, timezone, created_at) VALUES ($1, $1, 'UTC', 0)",
    )
    .bind(community.as_str())
    .execute(&db)
    .await
    .expect("a community");
    db
}

async fn bench_appends(service: &LedgerService) -> f64 {
    let dir = tempfile::tempdir().expect("a data dir");
    let community: CommunityId = "bench".parse().expect("an id");
    let db = store(dir.path(), &community).await;
    let mut tx = db.begin().await.expect("a transaction");
    service
        .append(
            &mut tx,
            &community,
            0,
            &[open("bench/a", "oa"), open("bench/b", "ob")],
            0,
        )
        .await
        .expect("accounts open");
    tx.commit().await.expect("commit");
    let mut base = 2;
    let started = Instant::now();
    for batch in 0..APPENDS / BATCH {
        let entries: Vec<PendingEntry> = (0..BATCH).map(|i| transfer(batch * BATCH + i)).collect();
        let mut tx = db.begin().await.expect("a transaction");
        service
            .append(&mut tx, &community, base, &entries, batch as i64)
            .await
            .expect("append");
        tx.commit().await.expect("commit");
        base += BATCH;
    }
    APPENDS as f64 / started.elapsed().as_secs_f64()
}

/// What the proof benchmark measured.
struct ProofFigures {
    /// Loading the whole tree from the store into memory.
    load: Duration,
    median: Duration,
    verify_median: Duration,
}

async fn bench_proofs(service: &LedgerService) -> ProofFigures {
    let dir = tempfile::tempdir().expect("a data dir");
    let community: CommunityId = "bench".parse().expect("an id");
    let db = store(dir.path(), &community).await;
    let log: MemoryLog = (0..PROOF_LOG_SIZE)
        .map(|i| merkle::leaf_hash(&i.to_le_bytes()))
        .collect();
    let mut nodes = Vec::with_capacity(2 * PROOF_LOG_SIZE as usize);
    for level in 0..64u8 {
        let count = PROOF_LOG_SIZE >> level;
        if count == 0 {
            break;
        }
        nodes.extend((0..count).map(|index| {
            let id = NodeId::new(level, index);
            (id, log.node(id).expect("a complete subtree"))
        }));
    }
    let mut tx = db.begin().await.expect("a transaction");
    log::insert_nodes(&mut tx, &community, &nodes)
        .await
        .expect("nodes load");
    tx.commit().await.expect("commit");
    let root = log.root();
    let started = Instant::now();
    service
        .warm(&db, &community, PROOF_LOG_SIZE)
        .await
        .expect("the tree loads");
    let load = started.elapsed();

    let mut state = 0x9e37_79b9_7f4a_7c15_u64;
    let mut proof_times = Vec::with_capacity(PROOFS);
    let mut verify_times = Vec::with_capacity(PROOFS);
    for _ in 0..PROOFS {
        state = state
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        let index = (state >> 11) % PROOF_LOG_SIZE;
        let started = Instant::now();
        let proof = service
            .inclusion_proof(&db, &community, index, PROOF_LOG_SIZE)
            .await
            .expect("a proof");
        proof_times.push(started.elapsed());
        let leaf = merkle::leaf_hash(&index.to_le_bytes());
        let started = Instant::now();
        merkle::verify_inclusion(&leaf, &proof, &root).expect("the proof verifies");
        verify_times.push(started.elapsed());
    }
    ProofFigures {
        load,
        median: median(proof_times),
        verify_median: median(verify_times),
    }
}

fn main() {
    // `cargo test` runs benches once to check they work; the figures need release mode.
    if !std::env::args().any(|a| a == "--bench") {
        return;
    }
    let tokio = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime");
    let key_dir = tempfile::tempdir().expect("a key dir");
    let service = Arc::new(LedgerService::open(key_dir.path()).expect("a signing key"));
    let appends = tokio.block_on(bench_appends(&service));
    println!(
        "ledger appends (SQLite, checkpoint every {BATCH}): {appends:>9.0} entries/s   target >= {APPENDS_TARGET:.0}/s   {}",
        verdict(appends >= APPENDS_TARGET)
    );
    // The proof log is another store, so it gets a ledger of its own, as
    // another host would.
    let proof_service = LedgerService::open(key_dir.path()).expect("a signing key");
    let proofs = tokio.block_on(bench_proofs(&proof_service));
    let (proof, verify) = (proofs.median, proofs.verify_median);
    println!(
        "inclusion proof at {PROOF_LOG_SIZE} entries (median of {PROOFS}): {proof:>9.1?}   target < {PROOF_TARGET:?}   {}",
        verdict(proof < PROOF_TARGET)
    );
    println!(
        "  loading the tree into memory first:                     {:>9.1?}",
        proofs.load
    );
    println!(
        "inclusion proof verification (median of {PROOFS}):        {verify:>9.1?}   target < {VERIFY_TARGET:?}   {}",
        verdict(verify < VERIFY_TARGET)
    );
}
