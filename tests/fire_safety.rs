//! The fire-safety scene on the demo community, as residents, staff and
//! operators rely on it: one smoke detector makes a fire suspected and tells
//! only its household and the staff; a second detector on the floor within
//! the minute confirms it and tells every resident of the building once,
//! naming the nearest exit and hydrant. A hydrant losing pressure opens a
//! work order that escalates to the supervisor when overdue and leaves its
//! whole history on the ledger. A detector chattering ten thousand times
//! raises one alarm and one round of messages. Alarms found false pile up
//! against their detector until it is flagged for maintenance, and the
//! daily report counts unhealthy detectors per building. In a tower with
//! more stair exits at one spot than a nearest search returns, the fire
//! floor's own exit is the one named.

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use linli_tests::{
    demo_community_map, demo_residents_of, eventually, requested_grants, Community, TestHost,
};
use serde_json::{json, Value};

const FIRE: &str = "fire-safety";
const MINUTE: i64 = 60_000;
const HOUR: i64 = 60 * MINUTE;

/// Sunny Garden with its map and fire-safety installed with `config`; returns it and the installation.
async fn sunny_garden(host: &TestHost, config: Value) -> (Community, String) {
    host.publish(FIRE).await;
    let c = host.community("sunny-garden").await;
    c.import_map(&demo_community_map()).await.expect(200);
    let installation = c.install(FIRE, requested_grants(FIRE), config).await;
    (c, installation)
}

/// The active alarms of `alarm_type`.
async fn alarms(c: &Community, alarm_type: &str) -> Vec<Value> {
    let listed = c
        .admin
        .get(&format!(
            "/api/v1/communities/{}/alarms?state=active&type={alarm_type}",
            c.id
        ))
        .await
        .expect(200);
    listed.as_array().expect("a list").clone()
}

/// Asserts that exactly one alarm of `alarm_type` is active, raised on `originator` at `severity`.
async fn assert_one_alarm(c: &Community, alarm_type: &str, originator: &str, severity: &str) {
    let active = alarms(c, alarm_type).await;
    assert_eq!(active.len(), 1, "{active:?}");
    assert_eq!(
        (
            active[0]["originator"].as_str(),
            active[0]["severity"].as_str()
        ),
        (Some(originator), Some(severity))
    );
}

/// The messages of `topic`, newest first, each with its deliveries, once
/// every recipient of each has a delivery.
async fn messages(c: &Community, topic: &str) -> Vec<Value> {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let list = c
            .admin
            .get(&format!(
                "/api/v1/communities/{}/notifications?topic={topic}&limit=100",
                c.id
            ))
            .await
            .expect(200);
        let mut found = Vec::new();
        for message in list["notifications"].as_array().expect("a list") {
            let id = message["id"].as_str().expect("an id");
            found.push(
                c.admin
                    .get(&format!("/api/v1/communities/{}/notifications/{id}", c.id))
                    .await
                    .expect(200),
            );
        }
        let delivered = found
            .iter()
            .all(|m| reached(m, 0).len() as u64 == m["recipients"].as_u64().unwrap_or(0));
        if delivered {
            return found;
        }
        assert!(
            Instant::now() < deadline,
            "the {topic} messages were not delivered: {found:?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// The people a message reached at escalation step `step`.
fn reached(message: &Value, step: u64) -> BTreeSet<String> {
    message["deliveries"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|d| d["step"] == step)
        .map(|d| d["person"].as_str().expect("a person").to_owned())
        .collect()
}

/// How many of `messages` reached each person at their first step.
fn reach_counts(messages: &[Value]) -> BTreeMap<String, usize> {
    let mut counts = BTreeMap::new();
    for message in messages {
        for person in reached(message, 0) {
            *counts.entry(person).or_default() += 1;
        }
    }
    counts
}

fn set(people: &[&str]) -> BTreeSet<String> {
    people.iter().map(|p| (*p).to_owned()).collect()
}

/// Whether work order `id`'s history has a line that `matches`.
async fn history_has(c: &Community, id: &Value, matches: impl Fn(&Value) -> bool) -> bool {
    let order = c
        .command(FIRE, "work-order", json!({"id": id}))
        .await
        .expect(200);
    order["history"]
        .as_array()
        .expect("a history")
        .iter()
        .any(matches)
}

/// The work-order history records the plugin wrote to the ledger, in order: `(work order, what)`.
async fn ledger_history(c: &Community) -> Vec<(String, String)> {
    c.ledger_entries()
        .await
        .iter()
        .filter_map(|entry| {
            let body: Value = serde_json::from_str(entry["body"].as_str()?).ok()?;
            let request = find_record(&body)?;
            (request["record-kind"] == "fire-safety/work-order").then(|| {
                (
                    request["body"]["work_order"]
                        .as_str()
                        .unwrap_or_default()
                        .to_owned(),
                    request["body"]["what"]
                        .as_str()
                        .unwrap_or_default()
                        .to_owned(),
                )
            })
        })
        .collect()
}

/// The object holding `record-kind` within a ledger entry's body.
fn find_record(value: &Value) -> Option<&Value> {
    match value {
        Value::Object(fields) if fields.contains_key("record-kind") => Some(value),
        Value::Object(fields) => fields.values().find_map(find_record),
        _ => None,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_detector_is_a_suspicion_for_the_household_and_a_second_on_the_floor_alerts_the_building_once(
) {
    let host = TestHost::start().await;
    let (c, installation) = sunny_garden(&host, json!({})).await;
    let kinds = ["smoke", "tamper"];
    let first = c
        .placed_device("smoke-b3-201", "smoke-detector", &kinds, Some("b3-201"))
        .await;
    let second = c
        .placed_device("smoke-b3-202", "smoke-detector", &kinds, Some("b3-202"))
        .await;

    c.send_handled(&installation, &first, "smoke", json!(1.2))
        .await;
    assert!(
        alarms(&c, "fire-suspected").await.is_empty(),
        "1.2 %/m is under the threshold"
    );

    c.send_handled(&installation, &first, "smoke", json!(8.5))
        .await;
    assert_one_alarm(&c, "fire-suspected", "smoke-b3-201", "major").await;
    let told = reach_counts(&messages(&c, "fire-suspected").await);
    let household = demo_residents_of("b3-201");
    assert_eq!(household, set(&["person-120", "person-121"]));
    let staff = set(&["person-216", "person-217"]);
    let expected: BTreeSet<String> = household.union(&staff).cloned().collect();
    assert_eq!(
        told.keys().cloned().collect::<BTreeSet<_>>(),
        expected,
        "only the household and the staff"
    );
    assert!(told.values().all(|n| *n == 1), "{told:?}");
    assert!(messages(&c, "fire-confirmed").await.is_empty());

    // Half a minute later the detector next door agrees.
    host.advance(30_000);
    c.send_handled(&installation, &second, "smoke", json!(6.0))
        .await;
    assert_one_alarm(&c, "fire-confirmed", "building-3", "critical").await;

    // More smoke from both detectors updates the fire; nobody is told twice.
    host.advance(15_000);
    c.send_handled(&installation, &first, "smoke", json!(12.0))
        .await;
    c.send_handled(&installation, &second, "smoke", json!(14.0))
        .await;
    assert_eq!(alarms(&c, "fire-confirmed").await.len(), 1);

    let fire = messages(&c, "fire-confirmed").await;
    let told = reach_counts(&fire);
    let building = demo_residents_of("building-3");
    assert!(building.len() > 40, "{building:?}");
    for resident in &building {
        assert_eq!(
            told.get(resident),
            Some(&1),
            "{resident} is told once: {told:?}"
        );
    }
    for responder in [
        "person-216",
        "person-217",
        "person-215",
        "person-219",
        "person-220",
    ] {
        assert_eq!(
            told.get(responder),
            Some(&1),
            "property staff, the grid worker and security are told: {told:?}"
        );
    }
    assert!(!told.contains_key("person-001"), "building 1 is not told");

    let to_residents = fire
        .iter()
        .find(|m| reached(m, 0).contains("person-120"))
        .expect("the residents' message");
    assert_eq!(to_residents["severity"], "critical");
    let text = format!("{} {}", to_residents["title"], to_residents["body"]);
    for named in ["b3-f2-exit-a", "hydrant-b3-west"] {
        assert!(text.contains(named), "the message names {named}: {text}");
    }
    let data: Value = match &to_residents["data"] {
        Value::String(text) => serde_json::from_str(text).expect("data is JSON"),
        other => other.clone(),
    };
    assert_eq!(data["exits"][0]["id"], "b3-f2-exit-a", "{data}");
    assert_eq!(data["hydrants"][0]["id"], "hydrant-b3-west", "{data}");

    // A resident finds it once in their inbox.
    let resident = c.person("resident", "person-130").await;
    let inbox = resident.get("/api/v1/me/inbox?limit=50").await.expect(200);
    let fires = inbox["items"]
        .as_array()
        .expect("items")
        .iter()
        .filter(|item| item["topic"] == "fire-confirmed")
        .count();
    assert_eq!(fires, 1, "{inbox}");

    // The staff member who acknowledges the suspicion is on its work order's record.
    let suspicion = messages(&c, "fire-suspected")
        .await
        .into_iter()
        .find(|m| m["require_ack"] == true)
        .expect("the staff's message waits for an acknowledgement");
    let guo = c.person("resident", "person-217").await;
    guo.post(
        &format!(
            "/api/v1/me/inbox/{}/ack",
            suspicion["id"].as_str().expect("an id")
        ),
        json!({}),
    )
    .await
    .expect(200);
    let orders = c.command(FIRE, "work-orders", json!({})).await.expect(200);
    let order = orders["work_orders"]
        .as_array()
        .expect("a list")
        .iter()
        .find(|o| o["alarm_type"] == "fire-suspected")
        .expect("the suspicion's work order")["id"]
        .clone();
    eventually("the acknowledgement reaches the work order", || {
        history_has(&c, &order, |line| {
            line["what"] == "acknowledged" && line["by"] == "person-217"
        })
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hydrant_losing_pressure_opens_a_work_order_that_escalates_when_overdue_and_ends_on_the_ledger(
) {
    let host = TestHost::start().await;
    let (c, installation) = sunny_garden(&host, json!({})).await;
    let gauge = c
        .placed_device(
            "pressure-b3-west",
            "pressure-gauge",
            &["pressure"],
            Some("hydrant-b3-west"),
        )
        .await;

    c.send_handled(&installation, &gauge, "pressure", json!(320.0))
        .await;
    assert!(alarms(&c, "hydrant-pressure-low").await.is_empty());
    c.send_handled(&installation, &gauge, "pressure", json!(60.0))
        .await;
    let low = alarms(&c, "hydrant-pressure-low").await;
    assert_eq!(low.len(), 1, "{low:?}");

    let open = c.command(FIRE, "work-orders", json!({})).await.expect(200);
    let orders = open["work_orders"].as_array().expect("a list");
    assert_eq!(orders.len(), 1, "{open}");
    let order = &orders[0];
    let id = order["id"].as_str().expect("an id").to_owned();
    assert_eq!(order["place"], "hydrant-b3-west");
    assert_eq!(order["severity"], "major");
    assert_eq!(order["step"], "report");
    assert_eq!(order["alarms"][0], low[0]["id"]);
    assert_eq!(
        order["deadline"].as_i64(),
        Some(linli_tests::START + 2 * HOUR),
        "a major fault is due within two hours"
    );
    let told = reach_counts(&messages(&c, "water-supply").await);
    assert_eq!(
        told.keys().cloned().collect::<BTreeSet<_>>(),
        set(&["person-216", "person-217"])
    );

    // Nobody acts: at the deadline the supervisor (community-wide property staff) is told.
    host.advance(2 * HOUR - 1);
    c.settle(&installation).await;
    assert!(
        messages(&c, "work-order-overdue").await.is_empty(),
        "not overdue yet"
    );
    host.advance(1);
    eventually("the overdue work order is escalated", || async {
        c.command(FIRE, "work-order", json!({"id": id}))
            .await
            .expect(200)["escalated"]
            == true
    })
    .await;
    let overdue = messages(&c, "work-order-overdue").await;
    assert_eq!(overdue.len(), 1);
    assert_eq!(
        reached(&overdue[0], 0),
        set(&["person-216"]),
        "the supervisor alone"
    );

    // Steps go in order, each taken by someone allowed to.
    let advance = |step: &str| json!({"id": id, "step": step});
    let skipped = c.command(FIRE, "advance", advance("resolve")).await;
    assert_eq!(skipped.status, 400, "{:?}", skipped.body);
    assert!(
        skipped.message().contains("dispatch"),
        "{}",
        skipped.message()
    );
    c.command(
        FIRE,
        "advance",
        json!({"id": id, "step": "dispatch", "to": "person-217"}),
    )
    .await
    .expect(200);
    let stranger = c.person("resident", "person-120").await;
    let path = format!(
        "/api/v1/communities/{}/plugins/{FIRE}/commands/advance",
        c.id
    );
    assert_eq!(stranger.post(&path, advance("accept")).await.status, 403);
    let guo = c.person("resident", "person-217").await;
    for step in ["accept", "on-site"] {
        guo.post(&path, advance(step)).await.expect(200);
    }
    guo.post(
        &path,
        json!({"id": id, "step": "resolve", "note": "valve reopened"}),
    )
    .await
    .expect(200);
    assert_eq!(
        guo.post(&path, advance("review")).await.status,
        403,
        "the supervisor reviews"
    );
    let hu = c.person("resident", "person-216").await;
    hu.post(&path, advance("review")).await.expect(200);
    let closed = hu.post(&path, advance("close")).await.expect(200);
    assert_eq!(closed["step"], "close");
    assert_eq!(closed["assignee"], "person-217");

    let history: Vec<String> = ledger_history(&c)
        .await
        .into_iter()
        .filter(|(order, _)| *order == id)
        .map(|(_, what)| what)
        .collect();
    assert_eq!(
        history,
        [
            "report",
            "escalated",
            "dispatch",
            "accept",
            "on-site",
            "resolve",
            "review",
            "close"
        ],
        "the whole history is on the ledger"
    );
    let still_open = c.command(FIRE, "work-orders", json!({})).await.expect(200);
    assert_eq!(still_open["work_orders"], json!([]));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_storm_of_ten_thousand_readings_from_one_faulty_detector_raises_one_alarm_and_one_round_of_messages(
) {
    let host = TestHost::start().await;
    let (c, installation) = sunny_garden(&host, json!({})).await;
    let faulty = c
        .placed_device("smoke-b3-301", "smoke-detector", &["smoke"], Some("b3-301"))
        .await;

    for batch in 0..10 {
        let readings: Vec<Value> = (0..1_000)
            .map(|i| faulty.reading("smoke", json!(20.0 + f64::from(i % 7))))
            .collect();
        faulty.send(Value::Array(readings)).await.expect(202);
        if batch < 9 {
            // Fifteen seconds between bursts: past the alarm's ten-second refresh.
            host.advance(15_000);
        }
    }
    c.settle(&installation).await;

    let suspected = alarms(&c, "fire-suspected").await;
    assert_eq!(suspected.len(), 1, "{suspected:?}");
    assert_eq!(
        suspected[0]["count"], 10,
        "updated once per burst, not per reading: {suspected:?}"
    );
    let sent = messages(&c, "fire-suspected").await;
    assert_eq!(
        sent.len(),
        2,
        "one message to the household, one to the staff"
    );
    let told = reach_counts(&sent);
    assert!(told.values().all(|n| *n == 1), "{told:?}");
    assert!(
        messages(&c, "fire-confirmed").await.is_empty(),
        "one detector confirms nothing"
    );
    let open = c.command(FIRE, "work-orders", json!({})).await.expect(200);
    assert_eq!(
        open["work_orders"].as_array().map(Vec::len),
        Some(1),
        "{open}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn false_alarms_flag_their_detector_for_maintenance_and_the_report_counts_it() {
    let host = TestHost::start().await;
    let config = json!({"false-alarms": {"threshold": 2, "window-days": 30}});
    let (c, installation) = sunny_garden(&host, config).await;
    let kitchen = c
        .placed_device(
            "smoke-b3-204",
            "smoke-detector",
            &["smoke", "tamper"],
            Some("b3-204"),
        )
        .await;

    for round in 0..2 {
        c.send_handled(&installation, &kitchen, "smoke", json!(9.0))
            .await;
        let suspected = alarms(&c, "fire-suspected").await;
        assert_eq!(suspected.len(), 1, "round {round}: {suspected:?}");
        let id = suspected[0]["id"].as_str().expect("an id");
        let marked = c
            .command(
                FIRE,
                "mark-false",
                json!({"alarm": id, "reason": "cooking fumes"}),
            )
            .await
            .expect(200);
        assert_eq!(marked["cleared"], true);
        assert_eq!(marked["detectors"][0]["false_alarms"], round + 1);
        assert!(alarms(&c, "fire-suspected").await.is_empty());
        // Still smoky: a detector whose alarm was found false is not heard until it clears.
        c.send_handled(&installation, &kitchen, "smoke", json!(9.5))
            .await;
        assert!(
            alarms(&c, "fire-suspected").await.is_empty(),
            "round {round}"
        );
        c.send_handled(&installation, &kitchen, "smoke", json!(0.4))
            .await;
        host.advance(MINUTE);
    }

    let flagged = c.command(FIRE, "maintenance", json!({})).await.expect(200);
    assert_eq!(
        flagged["detectors"][0]["device"], "smoke-b3-204",
        "{flagged}"
    );
    assert_eq!(flagged["detectors"][0]["false_alarms"], 2);
    let maintenance = alarms(&c, "detector-maintenance").await;
    assert_eq!(maintenance.len(), 1, "{maintenance:?}");

    c.send_handled(&installation, &kitchen, "tamper", json!(true))
        .await;
    let report = c.command(FIRE, "report", json!({})).await.expect(200);
    assert_eq!(report["buildings"][0]["building"], "building-3", "{report}");
    assert_eq!(
        report["buildings"][0]["unhealthy"], 1,
        "one detector, two problems: {report}"
    );
    assert_eq!(
        report["buildings"][0]["devices"][0]["problems"],
        json!(["maintenance", "tamper"])
    );

    let resident = c.person("resident", "person-126").await;
    let path = format!(
        "/api/v1/communities/{}/plugins/{FIRE}/commands/report",
        c.id
    );
    assert_eq!(
        resident.post(&path, json!({})).await.status,
        403,
        "residents see no reports"
    );
    let bad = c
        .command(FIRE, "report", json!({"date": "yesterday"}))
        .await;
    assert_eq!(bad.status, 400);
    assert!(bad.message().contains("`date`"), "{}", bad.message());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_detector_gone_silent_is_a_work_order_and_counts_in_the_day_s_report() {
    let host = TestHost::start().await;
    let (c, installation) = sunny_garden(&host, json!({})).await;
    c.admin
        .put(
            &format!("/api/v1/communities/{}/device-kinds/smoke-detector", c.id),
            json!({"report_interval_s": 600}),
        )
        .await
        .expect(200);
    let hallway = c
        .placed_device("smoke-b3-f4", "smoke-detector", &["smoke"], Some("b3-f4"))
        .await;
    c.send_handled(&installation, &hallway, "smoke", json!(0.2))
        .await;

    host.advance(11 * MINUTE);
    eventually("the silent detector has a work order", || async {
        let open = c.command(FIRE, "work-orders", json!({})).await.expect(200);
        open["work_orders"].as_array().is_some_and(|orders| {
            orders
                .iter()
                .any(|o| o["alarm_type"] == "device-offline" && o["originator"] == "smoke-b3-f4")
        })
    })
    .await;
    let told = reach_counts(&messages(&c, "device-health").await);
    assert_eq!(
        told.keys().cloned().collect::<BTreeSet<_>>(),
        set(&["person-216", "person-217"])
    );
    let report = c.command(FIRE, "report", json!({})).await.expect(200);
    assert_eq!(report["date"], "2026-01-01", "Shanghai's date: {report}");
    assert_eq!(
        report["buildings"],
        json!([{"building": "building-3", "unhealthy": 1,
                "devices": [{"device": "smoke-b3-f4", "problems": ["offline"]}]}])
    );

    // Back online: the platform clears its alarm and the work order hears of it.
    c.send_handled(&installation, &hallway, "smoke", json!(0.2))
        .await;
    let open = c.command(FIRE, "work-orders", json!({})).await.expect(200);
    let id = open["work_orders"][0]["id"].clone();
    eventually("the work order hears the detector is back", || {
        history_has(&c, &id, |line| line["what"] == "alarm-cleared")
    })
    .await;
    let report = c
        .command(FIRE, "report", json!({"date": "2026-01-01"}))
        .await
        .expect(200);
    assert_eq!(report["unhealthy"], 1, "it was unhealthy today: {report}");
}

/// A tower of `floors` floors, two units each, whose stair exits all stand
/// at one spot on the plan, and a resident on every floor.
fn tower(floors: usize) -> Value {
    let point = |lon: f64| json!({"type": "Point", "coordinates": [lon, 31.2]});
    let mut features = vec![
        json!({"type": "Feature", "id": "tower", "geometry": point(121.4),
               "properties": {"kind": "building", "name": "Sky Tower"}}),
        json!({"type": "Feature", "id": "hydrant-tower", "geometry": point(121.4003),
               "properties": {"kind": "poi", "poi_kind": "hydrant", "name": "Hydrant by the tower", "parent": "tower"}}),
    ];
    for f in 1..=floors {
        let floor = format!("t-f{f}");
        features.push(json!({"type": "Feature", "id": floor, "geometry": null,
            "properties": {"kind": "floor", "name": format!("Floor {f}"), "parent": "tower", "level": f}}));
        features.push(json!({"type": "Feature", "id": format!("{floor}-exit"), "geometry": point(121.4001),
            "properties": {"kind": "poi", "poi_kind": "exit", "name": format!("Stair exit, floor {f}"), "parent": floor}}));
        for u in 1..=2 {
            let unit = format!("t-{f}0{u}");
            features.push(json!({"type": "Feature", "id": unit, "geometry": point(121.4 + 0.0001 * u as f64),
                "properties": {"kind": "unit", "name": format!("Unit {f}0{u}"), "parent": floor, "exclusive_area_m2": 80.0}}));
        }
        features.push(json!({"type": "Feature", "id": format!("t-{f}01-hh"), "geometry": null,
            "properties": {"kind": "household", "name": format!("Household {f}01"), "parent": format!("t-{f}01")}}));
        features.push(
            json!({"type": "Feature", "id": format!("person-{f:03}"), "geometry": null,
            "properties": {"kind": "person", "name": format!("Resident {f}01"),
                           "links": [{"kind": "resident-of", "target": format!("t-{f}01-hh")}]}}),
        );
    }
    json!({"type": "FeatureCollection", "features": features})
}

#[tokio::test]
async fn in_a_tower_with_more_exits_than_a_nearest_search_returns_the_fire_floor_s_own_exit_is_named(
) {
    let host = TestHost::start().await;
    host.publish(FIRE).await;
    let c = host.community("sky-tower").await;
    c.import_map(&tower(150)).await.expect(200);
    let installation = c.install(FIRE, requested_grants(FIRE), json!({})).await;
    let kinds = ["smoke", "tamper"];
    let first = c
        .placed_device("smoke-13701", "smoke-detector", &kinds, Some("t-13701"))
        .await;
    let second = c
        .placed_device("smoke-13702", "smoke-detector", &kinds, Some("t-13702"))
        .await;
    c.send_handled(&installation, &first, "smoke", json!(8.5))
        .await;
    host.advance(10_000);
    c.send_handled(&installation, &second, "smoke", json!(9.0))
        .await;
    assert_one_alarm(&c, "fire-confirmed", "tower", "critical").await;
    let fire = &alarms(&c, "fire-confirmed").await[0];
    assert_eq!(fire["details"]["floors"], json!(["t-f137"]), "{fire}");
    assert_eq!(
        fire["details"]["exits"],
        json!(["t-f137-exit"]),
        "the fire floor's own exit, out of 150 at one spot: {fire}"
    );
}
