//! The community ledger as residents rely on it: points move once per
//! idempotency key, balances never pass their floor and always sum to zero,
//! every entry has a receipt that verifies offline after the server is gone,
//! and a single edited row is caught by the audit.

use std::process::Command;

use linli_host::caps::ledger::checkpoint::SignedCheckpoint;
use linli_host::caps::ledger::log::Receipt;
use linli_host::caps::ledger::merkle::{self, ConsistencyProof};
use linli_tests::{linli_binary, Community, StoppedHost, TestHost};
use serde_json::{json, Value};

const POINTS: &str = "points-scene";

async fn points_community(host: &TestHost) -> Community {
    host.publish(POINTS).await;
    let c = host.community("plum-garden").await;
    c.install(
        POINTS,
        json!({"ledger": {"namespaces": ["points"]}}),
        json!({}),
    )
    .await;
    for person in ["wang", "li"] {
        c.command(POINTS, "join", json!({"person": person}))
            .await
            .expect(200);
    }
    c
}

/// The community's latest checkpoint, as a C2SP signed note, is accepted
/// by an implementation of c2sp.org/signed-note this project did not write,
/// with the verifier key the host publishes, and reads as a tlog
/// checkpoint of the community's log of `size` entries.
async fn assert_note_verifies(c: &Community, community: &str, size: u64) {
    let ledger = format!("/api/v1/communities/{community}/ledger");
    let note = c
        .admin
        .get(&format!("{ledger}/checkpoint/note"))
        .await
        .expect(200);
    let vkey = c.admin.get(&format!("{ledger}/vkey")).await.expect(200);
    let (note, vkey) = (note.as_str().unwrap(), vkey.as_str().unwrap());
    let verifier = signed_note::StandardVerifier::new(vkey).expect("a vkey signed_note reads");
    let parsed = signed_note::Note::from_bytes(note.as_bytes()).expect("a signed note");
    let (verified, unverified) = parsed
        .verify(&signed_note::VerifierList::new(vec![Box::new(verifier)]))
        .expect("the note's signature verifies");
    assert_eq!((verified.len(), unverified.len()), (1, 0));
    let text = String::from_utf8(parsed.text().to_vec()).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines[0], format!("linli/ledger/{community}"));
    assert_eq!(lines[1], size.to_string());
}

/// `linli ledger audit` run on a stopped host's data and store.
fn audit(stopped: &StoppedHost) -> std::process::Output {
    Command::new(linli_binary())
        .args([
            "ledger",
            "audit",
            "--data-dir",
            stopped.data_dir().to_str().unwrap(),
        ])
        .env("DATABASE_URL", stopped.store_url())
        .output()
        .unwrap()
}

/// Awards li `amount` points `times` times, each under its own key `{prefix}{n}`.
async fn award_li(c: &Community, times: usize, amount: i64, prefix: &str) {
    for n in 0..times {
        c.command(
            POINTS,
            "award",
            json!({"to": "li", "amount": amount, "key": format!("{prefix}{n}")}),
        )
        .await
        .expect(200);
    }
}

async fn balance(c: &Community, person: &str) -> i64 {
    c.command(POINTS, "balance", json!({"person": person}))
        .await
        .expect(200)["balance"]
        .as_i64()
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn points_move_once_per_key_never_below_the_floor_and_always_sum_to_zero() {
    let host = TestHost::start().await;
    let c = points_community(&host).await;

    let award = json!({"to": "wang", "amount": 90, "key": "award-1", "note": "escort to clinic"});
    let first = c.command(POINTS, "award", award.clone()).await.expect(200);
    let again = c.command(POINTS, "award", award).await.expect(200);
    assert_eq!(again["replayed"], true);
    assert_eq!(again["index"], first["index"]);
    assert_eq!(
        balance(&c, "wang").await,
        90,
        "the same award twice moves the points once"
    );

    c.command(
        POINTS,
        "give",
        json!({"from": "wang", "to": "li", "amount": 30, "key": "gift-1"}),
    )
    .await
    .expect(200);
    let overdraw = c
        .command(
            POINTS,
            "give",
            json!({"from": "li", "to": "wang", "amount": 31, "key": "gift-2"}),
        )
        .await;
    assert_eq!(overdraw.status, 400);
    assert!(
        overdraw.message().contains("may not go below 0"),
        "{}",
        overdraw.message()
    );
    let reused = c
        .command(
            POINTS,
            "award",
            json!({"to": "wang", "amount": 5, "key": "award-1"}),
        )
        .await;
    assert_eq!(reused.status, 400);
    assert!(
        reused.message().contains("already used"),
        "{}",
        reused.message()
    );

    let accounts = c
        .admin
        .get("/api/v1/communities/plum-garden/ledger/accounts")
        .await
        .expect(200);
    let balances: Vec<(String, i64)> = accounts
        .as_array()
        .unwrap()
        .iter()
        .map(|a| {
            (
                a["name"].as_str().unwrap().to_owned(),
                a["balance"].as_i64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        balances,
        vec![
            ("points/li".into(), 30),
            ("points/pool".into(), -90),
            ("points/wang".into(), 60)
        ]
    );
    assert_eq!(balances.iter().map(|(_, b)| b).sum::<i64>(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn checkpoints_grow_consistently_and_residents_see_only_their_own_accounts() {
    let host = TestHost::start().await;
    // A community with nothing on its ledger yet has the empty log's
    // checkpoint, signed, so a follower can start from the beginning.
    let fresh = host.community("peach-court").await;
    let empty: SignedCheckpoint = serde_json::from_value(
        fresh
            .admin
            .get("/api/v1/communities/peach-court/ledger/checkpoint")
            .await
            .expect(200),
    )
    .unwrap();
    assert_eq!(
        (empty.checkpoint.size, empty.checkpoint.root),
        (0, merkle::empty_root())
    );
    assert_eq!(empty.checkpoint.origin, "linli/ledger/peach-court");
    let key = linli_host::registry::signature::parse_key(&host.ledger_public_key().await)
        .expect("the host's key");
    empty
        .verify(&key)
        .expect("the empty log's checkpoint is signed");
    assert_note_verifies(&fresh, "peach-court", 0).await;

    let c = points_community(&host).await;
    let ledger = "/api/v1/communities/plum-garden/ledger";
    let before: SignedCheckpoint = serde_json::from_value(
        c.admin
            .get(&format!("{ledger}/checkpoint"))
            .await
            .expect(200),
    )
    .unwrap();
    award_li(&c, 5, 10, "a").await;
    c.command(
        POINTS,
        "record",
        json!({"kind": "service-proof", "body": {"minutes": 90}, "key": "proof-1"}),
    )
    .await
    .expect(200);
    let after: SignedCheckpoint = serde_json::from_value(
        c.admin
            .get(&format!("{ledger}/checkpoint"))
            .await
            .expect(200),
    )
    .unwrap();
    assert_eq!(after.checkpoint.size, before.checkpoint.size + 6);
    assert_note_verifies(&c, "plum-garden", after.checkpoint.size).await;
    let proof: ConsistencyProof = serde_json::from_value(
        c.admin
            .get(&format!(
                "{ledger}/consistency?from={}&to={}",
                before.checkpoint.size, after.checkpoint.size
            ))
            .await
            .expect(200),
    )
    .unwrap();
    merkle::verify_consistency(&before.checkpoint.root, &after.checkpoint.root, &proof)
        .expect("the log only grew");

    c.add_person("li").await;
    let token = c
        .admin
        .post("/api/v1/tokens", json!({"role": "resident", "community": "plum-garden", "subject": "Li", "person": "li"}))
        .await
        .expect(201);
    let li = c.admin.with_token(token["token"].as_str().unwrap());
    assert_eq!(
        li.get(&format!("{ledger}/account?name=points/li"))
            .await
            .expect(200)["balance"],
        50
    );
    assert_eq!(
        li.get(&format!("{ledger}/account?name=points/wang"))
            .await
            .status,
        403
    );
    assert_eq!(li.get(&format!("{ledger}/accounts")).await.status, 403);
    let mine = li
        .get(&format!("{ledger}/entries?account=points/li"))
        .await
        .expect(200);
    assert_eq!(mine.as_array().unwrap().len(), 5);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_receipt_verifies_offline_after_the_server_stops_and_the_audit_names_an_edited_entry() {
    let host = TestHost::start().await;
    let c = points_community(&host).await;
    let gift = c
        .command(
            POINTS,
            "award",
            json!({"to": "wang", "amount": 90, "key": "award-1"}),
        )
        .await
        .expect(200);
    award_li(&c, 3, 1, "later-").await;
    let index = gift["index"].as_u64().unwrap();
    let receipt: Value = c
        .admin
        .get(&format!(
            "/api/v1/communities/plum-garden/ledger/entries/{index}/receipt"
        ))
        .await
        .expect(200);
    let key = host.ledger_public_key().await;
    let parsed: Receipt = serde_json::from_value(receipt.clone()).unwrap();
    assert!(parsed.entry.body.contains("\"amount\":90"));

    let stopped = host.stop().await;
    let receipt_file = stopped.data_dir().join("receipt.json");
    std::fs::write(&receipt_file, receipt.to_string()).unwrap();
    // `linli ledger verify` on the receipt file, with more arguments.
    let verify_with = |more: &[&str]| {
        Command::new(linli_binary())
            .args([
                "ledger",
                "verify",
                receipt_file.to_str().unwrap(),
                "--key",
                &key,
            ])
            .args(more)
            .output()
            .unwrap()
    };
    let verify = || verify_with(&[]);
    let verified = verify();
    assert!(
        verified.status.success(),
        "{}",
        String::from_utf8_lossy(&verified.stderr)
    );
    assert!(String::from_utf8_lossy(&verified.stdout).starts_with("verified"));
    let from_log = |origin: &str| verify_with(&["--origin", origin]);
    assert!(from_log("linli/ledger/plum-garden").status.success());
    let elsewhere = from_log("linli/ledger/peach-court");
    assert!(
        !elsewhere.status.success(),
        "another community's log is refused"
    );
    assert!(String::from_utf8_lossy(&elsewhere.stderr).contains("peach-court"));

    let forged = receipt
        .to_string()
        .replace("\\\"amount\\\":90", "\\\"amount\\\":900");
    assert_ne!(forged, receipt.to_string());
    std::fs::write(&receipt_file, forged).unwrap();
    assert!(
        !verify().status.success(),
        "a forged receipt must not verify"
    );

    let clean = audit(&stopped);
    assert!(
        clean.status.success(),
        "{}",
        String::from_utf8_lossy(&clean.stderr)
    );

    stopped
        .execute(&format!(
            "UPDATE ledger_entries SET body = REPLACE(body, '\"amount\":90', '\"amount\":900') WHERE idx = {index}"
        ))
        .await;
    let tampered = audit(&stopped);
    assert!(!tampered.status.success());
    let report = String::from_utf8_lossy(&tampered.stderr);
    assert!(
        report.contains(&format!("first bad entry {index}")),
        "{report}"
    );
}

/// A stored tree node above the leaves changed while the host was stopped
/// (one at level 1, 2 and 3 in turn): the audit names it, and the host,
/// started again on it, refuses to serve a receipt or a consistency proof
/// that would use it rather than serve one every verifier rejects.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_changed_interior_tree_node_is_found_by_the_audit_and_no_proof_is_served_from_it() {
    let host = TestHost::start().await;
    let c = points_community(&host).await;
    award_li(&c, 18, 1, "award-").await;
    let size = c
        .admin
        .get("/api/v1/communities/plum-garden/ledger/checkpoint")
        .await
        .expect(200)["checkpoint"]["size"]
        .as_u64()
        .unwrap();
    assert!(size >= 16, "a tree with level-3 nodes: {size} entries");
    let mut stopped = host.stop().await;
    assert!(audit(&stopped).status.success());
    for level in 1..=3 {
        let node = format!("community_id = 'plum-garden' AND level = {level} AND idx = 0");
        stopped
            .execute(&format!(
                "CREATE TABLE node_backup AS SELECT hash FROM ledger_nodes WHERE {node}"
            ))
            .await;
        // The node takes its right-hand neighbour's hash: one changed row.
        stopped
            .execute(&format!(
                "UPDATE ledger_nodes SET hash = (SELECT n.hash FROM ledger_nodes n WHERE n.community_id = 'plum-garden' AND n.level = {level} AND n.idx = 1) WHERE {node}"
            ))
            .await;
        let found = audit(&stopped);
        assert!(!found.status.success(), "level {level} passed the audit");
        let report = String::from_utf8_lossy(&found.stderr);
        assert!(
            report.contains(&format!("level {level} index 0")),
            "{report}"
        );

        let started = stopped.start_again(|_| {}).await;
        let admin = started.admin.clone();
        // Entry 2^level sits just right of the changed subtree, whose hash
        // is on its path; the consistency proof from `from` uses it too.
        let changed = merkle::NodeId::new(level, 0);
        let beside = 1u64 << level;
        assert!(merkle::inclusion_nodes(beside, size)
            .unwrap()
            .contains(&changed));
        let from = (1..size)
            .find(|from| {
                merkle::consistency_nodes(*from, size)
                    .unwrap()
                    .contains(&changed)
            })
            .expect("a consistency proof that uses the changed node");
        let receipt = admin
            .get(&format!(
                "/api/v1/communities/plum-garden/ledger/entries/{beside}/receipt"
            ))
            .await;
        assert_eq!(receipt.status, 500, "level {level}: {receipt:?}");
        let proof = admin
            .get(&format!(
                "/api/v1/communities/plum-garden/ledger/consistency?from={from}&to={size}"
            ))
            .await;
        assert_eq!(proof.status, 500, "level {level}: {proof:?}");
        stopped = started.stop().await;
        stopped
            .execute(&format!(
                "UPDATE ledger_nodes SET hash = (SELECT hash FROM node_backup) WHERE {node}"
            ))
            .await;
        stopped.execute("DROP TABLE node_backup").await;
        assert!(
            audit(&stopped).status.success(),
            "restored, level {level} passes"
        );
    }
}
