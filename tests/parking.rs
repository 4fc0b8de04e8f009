//! The parking scene on the demo community, as residents, the property
//! office and security rely on it: the office tower's weeknight spaces are
//! reserved by a resident, checked in and out by the space's sensor, and
//! paid to the tenant with a receipt that verifies against the signed log;
//! an overlapping reservation is refused; a no-show is released after its
//! grace and the space is bookable again; an overstay is noticed, warned,
//! charged and alarmed; an unreserved vehicle on a shared space alarms the
//! staff; a vehicle on a fire lane alarms security after a minute, clears
//! when it leaves, and turns critical when fire-safety confirms a fire in
//! that building.
//!
//! The clock starts at 2026-01-01T00:00Z, a Thursday, 08:00 in Shanghai.

use linli_host::caps::ledger::checkpoint::SignedCheckpoint;
use linli_host::caps::ledger::log::Receipt;
use linli_host::caps::ledger::merkle::{self, InclusionProof};
use linli_tests::{
    demo_community_map, demo_residents_of, eventually, recipients, requested_grants, run_command,
    Client, Community, Device, Reply, TestHost, START,
};
use serde_json::{json, Value};

const PARKING: &str = "parking";
const FIRE: &str = "fire-safety";
const MINUTE: i64 = 60_000;
const HOUR: i64 = 60 * MINUTE;
/// 2026-01-01 19:00 in Shanghai: the office's spaces are shared from now.
const THURSDAY_EVENING: i64 = START + 11 * HOUR;

struct Compound {
    host: TestHost,
    c: Community,
    installation: String,
}

/// Sunny Garden with parking installed, the office's weeknight windows
/// published and the clock at Thursday 19:00.
async fn sunny_garden() -> Compound {
    let host = TestHost::start().await;
    host.publish(PARKING).await;
    let c = host.community("sunny-garden").await;
    c.import_map(&demo_community_map()).await.expect(200);
    let installation = c
        .install(PARKING, requested_grants(PARKING), json!({}))
        .await;
    for space in ["office-p01", "office-p02"] {
        c.command(PARKING, "publish-window", json!({"space": space, "price_per_hour": 6,
            "when": {"kind": "weekly", "days": ["mon", "tue", "wed", "thu", "fri"], "start": "19:00", "end": "08:00"}}))
            .await
            .expect(200);
    }
    host.advance(THURSDAY_EVENING - START);
    Compound {
        host,
        c,
        installation,
    }
}

impl Compound {
    async fn resident(&self, household: &str) -> (String, Client) {
        let person = demo_residents_of(household)
            .into_iter()
            .next()
            .expect("a resident");
        let client = self.c.person("resident", &person).await;
        (person, client)
    }

    async fn sensor(&self, space: &str) -> Device {
        self.c
            .placed_device(
                &format!("mag-{space}"),
                "geomagnetic",
                &["occupancy"],
                Some(space),
            )
            .await
    }

    async fn vehicle(&self, sensor: &Device, on: bool) {
        self.c
            .send_handled(&self.installation, sensor, "occupancy", json!(on))
            .await;
    }

    /// Moves the clock and waits until the installation has handled the timers due.
    async fn advance(&self, ms: i64) {
        self.host.advance(ms);
        // A timer that came due is in the backlog once the actor has seen
        // the clock; settling twice covers the moment in between.
        self.c.settle(&self.installation).await;
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        self.c.settle(&self.installation).await;
    }

    async fn top_up(&self, person: &str, points: i64) {
        self.c
            .command(
                PARKING,
                "top-up",
                json!({"person": person, "points": points, "key": format!("{person}-{points}")}),
            )
            .await
            .expect(200);
    }

    async fn my(&self, client: &Client) -> Vec<Value> {
        run(client, "my-reservations", json!({})).await.expect(200)["reservations"]
            .as_array()
            .expect("a list")
            .clone()
    }

    async fn account(&self, query: Value) -> Value {
        self.c.command(PARKING, "account", query).await.expect(200)
    }
}

async fn run(client: &Client, name: &str, input: Value) -> Reply {
    run_command(client, "sunny-garden", PARKING, name, input).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_resident_parks_on_the_office_s_weeknight_space_and_the_tenant_is_paid_with_a_receipt_that_verifies(
) {
    let p = sunny_garden().await;
    let (li, li_client) = p.resident("b1-201-hh").await;
    let (_, wang_client) = p.resident("b2-301-hh").await;
    p.top_up(&li, 100).await;
    let sensor = p.sensor("office-p01").await;

    let found = run(&li_client, "search", json!({"from": "b1-201-hh", "start": "2026-01-01 20:00", "end": "2026-01-01 22:00", "radius_m": 300}))
        .await
        .expect(200);
    let offered: Vec<&str> = found["offers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["space"].as_str().unwrap())
        .collect();
    assert!(
        offered.contains(&"office-p01") && offered.contains(&"office-p02"),
        "{found}"
    );
    assert_eq!(
        found["offers"][0]["estimated_charge"], 12,
        "two hours at 6 points"
    );
    let made = run(
        &li_client,
        "reserve",
        json!({"space": "office-p01", "start": "2026-01-01 20:00", "end": "2026-01-01 22:00"}),
    )
    .await
    .expect(200);
    assert_eq!(made["id"], "office-p01#0");

    let refused = run(
        &wang_client,
        "reserve",
        json!({"space": "office-p01", "start": "2026-01-01 21:00", "end": "2026-01-01 23:00"}),
    )
    .await;
    assert_eq!(refused.status, 400, "{refused:?}");
    assert!(
        refused.body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("already reserved"),
        "{refused:?}"
    );

    p.advance(65 * MINUTE).await; // 20:05
    p.vehicle(&sensor, true).await;
    assert_eq!(
        p.my(&li_client).await[0]["reservation"]["state"],
        "checked-in"
    );
    p.advance(95 * MINUTE).await; // 21:40
    p.vehicle(&sensor, false).await;

    // 95 minutes, billed as 105 at 6 points an hour: 10.5, rounded up.
    let mine = p.my(&li_client).await;
    assert_eq!(mine[0]["reservation"]["state"], "checked-out");
    assert_eq!(mine[0]["reservation"]["settlement"]["charge"], 11);
    assert_eq!(p.account(json!({"person": li})).await["spendable"], 89);
    assert_eq!(
        p.account(json!({"owner": "tenant-sunrise-tech"})).await["earned"],
        11
    );

    let told = p.c.notifications("parking-reservation").await;
    let checked_out = told
        .iter()
        .find(|n| n["title"] == "Checked out")
        .expect("the parker is told");
    let message = p.c.notification(checked_out["id"].as_str().unwrap()).await;
    assert_eq!(recipients(&message), [li.as_str()]);
    let data: Value = match &message["data"] {
        Value::String(text) => serde_json::from_str(text).unwrap(),
        other => other.clone(),
    };
    let index = data["paid"]["charge"]["index"]
        .as_u64()
        .expect("the payment's entry");

    let ledger = "/api/v1/communities/sunny-garden/ledger";
    let served: Receipt = serde_json::from_value(
        li_client
            .get(&format!("{ledger}/entries/{index}/receipt"))
            .await
            .expect(200),
    )
    .expect("a receipt");
    let body: Value = serde_json::from_str(&served.entry.body).unwrap();
    assert_eq!(
        (&body["source"], &body["target"], &body["amount"]),
        (
            &json!(format!("parking/parkers/{li}")),
            &json!("parking/owners/tenant-sunrise-tech"),
            &json!(11)
        )
    );
    let checkpoint: SignedCheckpoint = serde_json::from_value(
        li_client
            .get(&format!("{ledger}/checkpoint"))
            .await
            .expect(200),
    )
    .unwrap();
    let proof: InclusionProof = serde_json::from_value(
        li_client
            .get(&format!(
                "{ledger}/entries/{index}/proof?size={}",
                checkpoint.checkpoint.size
            ))
            .await
            .expect(200),
    )
    .unwrap();
    merkle::verify_inclusion(
        &merkle::leaf_hash(served.entry.body.as_bytes()),
        &proof,
        &checkpoint.checkpoint.root,
    )
    .expect("the payment is in the signed log");
    let handovers = handovers(&p.c).await;
    assert_eq!(
        handovers,
        ["check-in office-p01#0", "check-out office-p01#0"]
    );
}

/// The parking handover records on the ledger, in order: `"<what> <reservation>"`.
async fn handovers(c: &Community) -> Vec<String> {
    c.ledger_entries()
        .await
        .iter()
        .filter_map(|entry| {
            let body: Value = serde_json::from_str(entry["body"].as_str()?).ok()?;
            (body["record-kind"] == "parking/handover").then(|| {
                format!(
                    "{} {}",
                    body["body"]["handover"].as_str().unwrap_or_default(),
                    body["body"]["reservation"].as_str().unwrap_or_default()
                )
            })
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_no_show_is_released_after_the_grace_and_the_space_is_bookable_again() {
    let p = sunny_garden().await;
    let (li, li_client) = p.resident("b1-201-hh").await;
    let (wang, wang_client) = p.resident("b2-301-hh").await;
    p.top_up(&li, 100).await;
    p.top_up(&wang, 100).await;
    run(
        &li_client,
        "reserve",
        json!({"space": "office-p02", "start": "2026-01-01 20:00", "end": "2026-01-01 22:00"}),
    )
    .await
    .expect(200);
    p.advance(HOUR + 14 * MINUTE).await; // 20:14
    assert_eq!(
        p.my(&li_client).await[0]["reservation"]["state"],
        "confirmed"
    );
    p.advance(MINUTE).await; // 20:15, the grace is over
    eventually("the no-show is released", || async {
        p.my(&li_client).await[0]["reservation"]["state"] == "no-show"
    })
    .await;
    assert_eq!(
        p.account(json!({"person": li})).await["spendable"],
        100,
        "a no-show pays nothing"
    );
    run(
        &wang_client,
        "reserve",
        json!({"space": "office-p02", "start": "2026-01-01 20:30", "end": "2026-01-01 21:30"}),
    )
    .await
    .expect(200);
    assert_eq!(handovers(&p.c).await, ["no-show office-p02#0"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_overstay_is_told_warned_charged_and_then_alarmed_to_the_staff() {
    let p = sunny_garden().await;
    let (li, li_client) = p.resident("b1-201-hh").await;
    p.top_up(&li, 100).await;
    let sensor = p.sensor("office-p01").await;
    run(
        &li_client,
        "reserve",
        json!({"space": "office-p01", "start": "2026-01-01 20:00", "end": "2026-01-01 21:00"}),
    )
    .await
    .expect(200);
    p.advance(HOUR).await; // 20:00
    p.vehicle(&sensor, true).await;
    p.advance(50 * MINUTE).await; // 20:50
    eventually("the parker is told the end is near", || async {
        p.c.notifications("parking-overstay").await.len() == 1
    })
    .await;
    p.advance(25 * MINUTE).await; // 21:15, the grace is over
    eventually("the parker is warned", || async {
        p.c.notifications("parking-overstay")
            .await
            .iter()
            .any(|n| n["severity"] == "warning")
    })
    .await;
    assert!(p.c.alarms("parking-overstay", "active").await.is_empty());
    // The sensor keeps reporting while the car stands there.
    p.vehicle(&sensor, true).await;
    p.advance(45 * MINUTE).await; // 22:00, an hour past the end
    eventually("staff are alarmed", || async {
        p.c.alarms("parking-overstay", "active").await.len() == 1
    })
    .await;
    let alarm = &p.c.alarms("parking-overstay", "active").await[0];
    assert_eq!(alarm["originator"], "office-p01");
    p.advance(5 * MINUTE).await; // 22:05
    p.vehicle(&sensor, false).await;
    assert!(p.c.alarms("parking-overstay", "active").await.is_empty());
    // 125 minutes billed as 135 at 6/h = 13.5 → 14 to the tenant; 50
    // minutes past the grace are four started quarters at 5 points.
    assert_eq!(
        p.account(json!({"owner": "tenant-sunrise-tech"})).await["earned"],
        14
    );
    assert_eq!(
        p.account(json!({"person": li})).await["spendable"],
        100 - 14 - 20
    );
    assert_eq!(
        handovers(&p.c).await,
        [
            "check-in office-p01#0",
            "overstay office-p01#0",
            "check-out office-p01#0"
        ]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreserved_vehicle_on_a_shared_space_alarms_the_property_staff() {
    let p = sunny_garden().await;
    let sensor = p.sensor("office-p02").await;
    p.vehicle(&sensor, true).await;
    p.advance(9 * MINUTE).await;
    assert!(
        p.c.alarms("parking-unauthorised", "active")
            .await
            .is_empty(),
        "within the grace"
    );
    p.advance(MINUTE).await;
    eventually("the staff are alarmed", || async {
        p.c.alarms("parking-unauthorised", "active").await.len() == 1
    })
    .await;
    let told = p.c.notifications("parking-unauthorised").await;
    assert_eq!(told.len(), 1);
    let message = p.c.notification(told[0]["id"].as_str().unwrap()).await;
    // Community-wide property staff; the office tower is no building of
    // the second one's.
    assert_eq!(recipients(&message), ["person-216"]);
    p.vehicle(&sensor, false).await;
    assert!(p
        .c
        .alarms("parking-unauthorised", "active")
        .await
        .is_empty());
}

/// The community gives its geomagnetic sensors a report interval: one
/// silent past it is taken offline by the platform, and its space counts
/// unknown on the lot's board (well inside the scene's own one-hour
/// ceiling) until it reports again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sensor_silent_past_its_kinds_interval_leaves_its_space_unknown_until_it_reports() {
    let p = sunny_garden().await;
    p.c.admin
        .put(
            "/api/v1/communities/sunny-garden/device-kinds/geomagnetic",
            json!({"report_interval_s": 600}),
        )
        .await
        .expect(200);
    let sensor = p.sensor("office-p01").await;
    p.vehicle(&sensor, false).await;
    let status = || async {
        let lots =
            p.c.command(PARKING, "lots", json!({"lot": "lot-office"}))
                .await
                .expect(200);
        lots["lot-office"]["spaces"]
            .as_array()
            .expect("the lot's spaces")
            .iter()
            .find(|space| space["space"] == "office-p01")
            .map(|space| space["status"].clone())
            .expect("office-p01 is on the board")
    };
    assert_eq!(status().await, "free");
    p.advance(11 * MINUTE).await;
    eventually("the platform takes the silent sensor offline", || async {
        p.c.alarms("device-offline", "active").await.len() == 1
    })
    .await;
    eventually("its space counts unknown", || async {
        p.c.settle(&p.installation).await;
        status().await == "unknown"
    })
    .await;
    p.vehicle(&sensor, true).await;
    assert_eq!(status().await, "occupied");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_blocked_fire_lane_alarms_security_clears_when_it_leaves_and_is_critical_in_a_confirmed_fire(
) {
    let p = sunny_garden().await;
    p.host.publish(FIRE).await;
    let fire = p.c.install(FIRE, requested_grants(FIRE), json!({})).await;
    let lane = p.sensor("lane-b1").await;

    p.vehicle(&lane, true).await;
    p.advance(59_000).await;
    assert!(p.c.alarms("fire-lane-blocked", "active").await.is_empty());
    p.advance(1_000).await;
    eventually("the lane is blocked", || async {
        p.c.alarms("fire-lane-blocked", "active").await.len() == 1
    })
    .await;
    let blocked = &p.c.alarms("fire-lane-blocked", "active").await[0];
    assert_eq!(
        (blocked["originator"].as_str(), blocked["severity"].as_str()),
        (Some("lane-b1"), Some("major"))
    );
    let told = p.c.notifications("fire-lane-blocked").await;
    assert_eq!(told.len(), 1);
    assert_eq!(
        recipients(&p.c.notification(told[0]["id"].as_str().unwrap()).await),
        ["person-219", "person-220"]
    );
    p.vehicle(&lane, false).await;
    assert!(
        p.c.alarms("fire-lane-blocked", "active").await.is_empty(),
        "cleared when it leaves"
    );

    p.vehicle(&lane, true).await;
    p.advance(MINUTE).await;
    eventually("blocked again", || async {
        p.c.alarms("fire-lane-blocked", "active").await.len() == 1
    })
    .await;
    // Two detectors on one floor of building 1 within the minute: fire-safety confirms a fire there.
    let kinds = ["smoke", "tamper"];
    let first =
        p.c.placed_device("smoke-b1-201", "smoke-detector", &kinds, Some("b1-201"))
            .await;
    let second =
        p.c.placed_device("smoke-b1-202", "smoke-detector", &kinds, Some("b1-202"))
            .await;
    p.c.send_handled(&fire, &first, "smoke", json!(8.5)).await;
    p.c.send_handled(&fire, &second, "smoke", json!(6.0)).await;
    eventually("fire-safety confirms the fire", || async {
        p.c.alarms("fire-confirmed", "active").await.len() == 1
    })
    .await;
    eventually("the blocked lane turns critical", || async {
        p.c.alarms("fire-lane-blocked", "active")
            .await
            .first()
            .is_some_and(|a| a["severity"] == "critical")
    })
    .await;
    eventually("security is told at once, critically", || async {
        p.c.notifications("fire-lane-blocked")
            .await
            .iter()
            .any(|n| n["severity"] == "critical")
    })
    .await;
}
