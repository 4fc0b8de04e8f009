//! The notify capability end to end: a real plugin (notify-scene) sends
//! messages through the real host to people of the demo community's map;
//! the test clock drives quiet hours, escalation and webhook retries; a
//! real HTTP receiver plays the SMS gateway.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};

use axum::http::{HeaderMap, StatusCode};
use hmac::{Hmac, Mac};
use linli_host::caps::notify::outbox::BROADCAST_FROM;
use linli_tests::{
    demo_community_map, demo_residents_of, eventually, Client, Community, TestHost, START,
};
use serde_json::{json, Value};
use sha2::Sha256;

const MINUTE: i64 = 60 * 1000;
const HOUR: i64 = 60 * MINUTE;

/// A host with the demo community's map and notify-scene enabled with
/// `grants`. Its gateways may be private: the test gateways listen on loopback.
async fn community_with(grants: Value) -> (TestHost, Community) {
    let host = TestHost::start_with(|config| config.notify.allow_private_gateways = true).await;
    let c = host.community("sunny-garden").await;
    c.import_map(&demo_community_map()).await.expect(200);
    host.publish("notify-scene").await;
    c.install("notify-scene", grants, json!({})).await;
    (host, c)
}

async fn community() -> (TestHost, Community) {
    community_with(json!({"notify": {"topics": ["*"], "critical": true}, "store": {}})).await
}

async fn send(c: &Community, message: Value) -> Value {
    c.command("notify-scene", "send", message).await.expect(200)
}

async fn message(c: &Community, id: &str) -> Value {
    c.admin
        .get(&format!("/api/v1/communities/{}/notifications/{id}", c.id))
        .await
        .expect(200)
}

/// The message ids in a person's inbox, newest first.
async fn inbox(person: &Client) -> Vec<String> {
    let inbox = person.get("/api/v1/me/inbox").await.expect(200);
    inbox["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|i| i["message_id"].as_str().expect("message id").to_owned())
        .collect()
}

/// Gives `person` quiet hours from 22:00 to 07:00 in Shanghai and moves the
/// clock to 03:00 there (START is 08:00 in Shanghai).
async fn at_three_in_the_night_for(host: &TestHost, c: &Community, person: &str) {
    c.admin
        .put(
            &format!("/api/v1/communities/{}/people/{person}/preferences", c.id),
            json!({"timezone": "Asia/Shanghai", "quiet_hours": {"start": "22:00", "end": "07:00"}}),
        )
        .await
        .expect(200);
    host.advance(19 * HOUR);
}

#[tokio::test]
async fn critical_messages_pass_quiet_hours_and_warnings_wait_for_them_to_end() {
    let (host, c) = community().await;
    at_three_in_the_night_for(&host, &c, "person-005").await;
    let daughter = c.person("resident", "person-005").await;
    let mut live = daughter.events("/api/v1/me/inbox/events", None).await;

    let fall = send(
        &c,
        json!({"audience": [{"person": "person-005"}], "severity": "critical",
        "topic": "fall", "title": "Mother fell", "key": "fall-1"}),
    )
    .await;
    let reminder = send(
        &c,
        json!({"audience": [{"person": "person-005"}], "severity": "warning",
        "topic": "reminder", "title": "Volunteer meeting tomorrow", "key": "reminder-1"}),
    )
    .await;
    let fall = fall["id"].as_str().unwrap();
    let reminder = reminder["id"].as_str().unwrap();

    assert_eq!(inbox(&daughter).await, [fall]);
    let pushed = live.next_of("message").await;
    assert_eq!(pushed.id.as_deref(), Some(fall));
    assert_eq!(pushed.data["title"], "Mother fell");
    assert_eq!(pushed.data["severity"], "critical");
    let held = message(&c, reminder).await;
    let seven = START + 23 * HOUR;
    assert_eq!(held["deliveries"][0]["state"], "pending");
    assert_eq!(held["deliveries"][0]["due_at"], seven);

    host.advance(4 * HOUR);
    eventually("the warning reaches the inbox at 07:00", || async {
        inbox(&daughter).await.contains(&reminder.to_owned())
    })
    .await;
    let pushed = live.next_of("message").await;
    assert_eq!(
        pushed.data["message_id"], reminder,
        "the held warning is pushed when it is delivered"
    );
    assert_eq!(pushed.data["delivered_at"], seven);
    let delivered = message(&c, reminder).await;
    assert_eq!(delivered["deliveries"][0]["state"], "delivered");
    assert_eq!(delivered["deliveries"][0]["delivered_at"], seven);
}

#[tokio::test]
async fn escalation_runs_on_schedule_and_stops_at_the_first_acknowledgement() {
    let (host, c) = community().await;
    let sent = send(&c, json!({
        "audience": [{"family": "person-001"}], "severity": "critical", "topic": "fall",
        "title": "Fall detected", "body": "Grandma Wang, building 1 unit 104", "key": "fall-person-001",
        "require-ack": true,
        "escalation": [
            {"after-ms": 5 * MINUTE, "audience": [{"role": "community-doctor"}]},
            {"after-ms": 5 * MINUTE, "audience": [{"role": "grid-worker", "scope": "building-1"}]}
        ]})).await;
    let id = sent["id"].as_str().unwrap().to_owned();
    assert_eq!(sent["recipients"], 2, "both children of person-001");

    let family = [
        c.person("resident", "person-005").await,
        c.person("resident", "person-210").await,
    ];
    let doctor = c.person("operator", "person-218").await;
    let grid_worker = c.person("operator", "person-214").await;
    for member in &family {
        assert_eq!(inbox(member).await, std::slice::from_ref(&id));
    }
    assert!(inbox(&doctor).await.is_empty());

    host.advance(5 * MINUTE);
    eventually("the doctor is told after five minutes", || async {
        inbox(&doctor).await == [id.clone()]
    })
    .await;
    assert!(inbox(&grid_worker).await.is_empty());
    assert_eq!(message(&c, &id).await["steps_run"], 1);

    let acked = doctor
        .post(&format!("/api/v1/me/inbox/{id}/ack"), json!({}))
        .await
        .expect(200);
    assert_eq!(acked["state"], "acknowledged");
    assert_eq!(acked["acknowledged_by"], "person-218");
    assert_eq!(acked["next_step_at"], Value::Null);

    eventually("the plugin hears of the acknowledgement", || async {
        c.command("notify-scene", "acks", json!({}))
            .await
            .expect(200)
            == json!([{"id": id, "key": "fall-person-001", "topic": "fall", "by": "person-218",
                       "at": START + 5 * MINUTE}])
    })
    .await;
    host.advance(10 * MINUTE);
    let status = c
        .command("notify-scene", "status", json!({"id": id}))
        .await
        .expect(200);
    assert_eq!(status["state"], "acknowledged");
    assert_eq!(status["steps-run"], 1);
    assert!(
        inbox(&grid_worker).await.is_empty(),
        "escalation stopped at the ack"
    );

    let again = family[0]
        .post(&format!("/api/v1/me/inbox/{id}/ack"), json!({}))
        .await
        .expect(200);
    assert_eq!(
        again["acknowledged_by"], "person-218",
        "the first acknowledgement stands"
    );
    let stranger = c.person("resident", "person-100").await;
    stranger
        .post(&format!("/api/v1/me/inbox/{id}/ack"), json!({}))
        .await
        .expect(404);
}

#[tokio::test]
async fn an_unacknowledged_message_runs_its_whole_escalation() {
    let (host, c) = community().await;
    let sent = send(&c, json!({
        "audience": [{"person": "person-210"}], "severity": "major", "topic": "welfare-check",
        "title": "No activity for 24 h", "key": "welfare-1", "require-ack": true,
        "escalation": [{"after-ms": MINUTE, "audience": [{"role": "grid-worker", "scope": "cell-west"}]}]})).await;
    let id = sent["id"].as_str().unwrap().to_owned();
    host.advance(MINUTE);
    let grid_worker = c.person("operator", "person-214").await;
    eventually("the grid worker is told", || async {
        inbox(&grid_worker).await == [id.clone()]
    })
    .await;
    let view = message(&c, &id).await;
    assert_eq!(view["state"], "unacknowledged");
    assert_eq!(view["steps_run"], 1);
    assert_eq!(
        view["escalation"],
        json!([{"after_ms": MINUTE, "audience": [{"kind": "role", "role": "grid-worker", "scope": "cell-west"}]}]),
        "admins see the policy"
    );
    let steps: Vec<(i64, &str)> = view["deliveries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| (d["step"].as_i64().unwrap(), d["person"].as_str().unwrap()))
        .collect();
    assert_eq!(steps, [(0, "person-210"), (1, "person-214")]);
}

/// The people with an inbox delivery of step `step` in a message's view, and their states.
fn inbox_deliveries(view: &Value, step: i64) -> BTreeMap<String, String> {
    view["deliveries"]
        .as_array()
        .expect("deliveries")
        .iter()
        .filter(|d| d["step"] == step && d["channel"] == "inbox")
        .map(|d| {
            let person = d["person"].as_str().expect("person").to_owned();
            (person, d["state"].as_str().expect("state").to_owned())
        })
        .collect()
}

#[tokio::test]
async fn a_notice_to_a_whole_grid_cell_is_one_broadcast_every_resident_reads_and_acknowledges() {
    let west = demo_residents_of("cell-west");
    let east = demo_residents_of("cell-east");
    assert!(
        west.len() >= BROADCAST_FROM && east.len() >= BROADCAST_FROM,
        "both steps are stored as broadcasts"
    );
    let (host, c) = community().await;
    at_three_in_the_night_for(&host, &c, "person-006").await;
    let reader = c.person("resident", "person-005").await;
    let sleeper = c.person("resident", "person-006").await;
    let neighbour = c.person("resident", "person-003").await;
    let mut live = reader.events("/api/v1/me/inbox/events", None).await;

    let sent = send(
        &c,
        json!({
        "audience": [{"residents": "cell-west"}], "severity": "warning", "topic": "water",
        "title": "Water off tomorrow 09:00-12:00", "key": "water-west", "require-ack": true,
        "escalation": [{"after-ms": MINUTE, "audience": [{"residents": "cell-east"}]}]}),
    )
    .await;
    let id = sent["id"].as_str().unwrap().to_owned();
    assert_eq!(sent["recipients"], west.len());

    assert_eq!(inbox(&reader).await, std::slice::from_ref(&id));
    let pushed = live.next_of("message").await;
    assert_eq!(pushed.id.as_deref(), Some(id.as_str()));
    assert_eq!(pushed.data["title"], "Water off tomorrow 09:00-12:00");
    assert!(inbox(&sleeper).await.is_empty(), "held through quiet hours");
    assert!(
        inbox(&neighbour).await.is_empty(),
        "the east cell is not told yet"
    );

    let view = message(&c, &id).await;
    let first = inbox_deliveries(&view, 0);
    assert_eq!(first.keys().cloned().collect::<BTreeSet<_>>(), west);
    assert_eq!(first["person-005"], "delivered");
    assert_eq!(first["person-006"], "pending");
    assert_eq!(
        first.values().filter(|s| *s == "delivered").count(),
        west.len() - 1
    );

    reader
        .post(&format!("/api/v1/me/inbox/{id}/read"), json!({}))
        .await
        .expect(204);
    let items = reader.get("/api/v1/me/inbox").await.expect(200);
    assert_eq!(items["items"][0]["read_at"], START + 19 * HOUR);
    let other = c.person("resident", "person-001").await;
    let items = other.get("/api/v1/me/inbox").await.expect(200);
    assert_eq!(items["items"][0]["message_id"], id.as_str());
    assert_eq!(
        items["items"][0]["read_at"],
        Value::Null,
        "read is per person"
    );

    host.advance(MINUTE);
    eventually("the east cell is told after a minute", || async {
        inbox(&neighbour).await == [id.clone()]
    })
    .await;
    let view = message(&c, &id).await;
    let second = inbox_deliveries(&view, 1);
    assert_eq!(second.keys().cloned().collect::<BTreeSet<_>>(), east);

    let doctor = c.person("operator", "person-218").await;
    doctor
        .post(&format!("/api/v1/me/inbox/{id}/ack"), json!({}))
        .await
        .expect(404);
    let acked = neighbour
        .post(&format!("/api/v1/me/inbox/{id}/ack"), json!({}))
        .await
        .expect(200);
    assert_eq!(acked["state"], "acknowledged");
    assert_eq!(acked["acknowledged_by"], "person-003");
    let view = message(&c, &id).await;
    assert_eq!(
        inbox_deliveries(&view, 0)["person-006"],
        "cancelled",
        "the held delivery stops at the acknowledgement"
    );
}

/// What the fake SMS gateway saw: delivery id, timestamp, signature, body.
type Seen = Arc<Mutex<Vec<(String, String, String, String)>>>;

/// An HTTP receiver that answers 503 to its first `failures` posts, then 200.
async fn gateway(failures: usize) -> (String, Seen) {
    let seen: Seen = Arc::default();
    let record = seen.clone();
    let app = axum::Router::new().route(
        "/sms",
        axum::routing::post(move |headers: HeaderMap, body: String| {
            let record = record.clone();
            async move {
                let header = |name: &str| {
                    headers
                        .get(name)
                        .and_then(|v| v.to_str().ok())
                        .unwrap_or_default()
                        .to_owned()
                };
                let mut seen = record.lock().unwrap();
                seen.push((
                    header("linli-delivery"),
                    header("linli-timestamp"),
                    header("linli-signature"),
                    body,
                ));
                if seen.len() <= failures {
                    StatusCode::SERVICE_UNAVAILABLE
                } else {
                    StatusCode::OK
                }
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/sms", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    (url, seen)
}

fn signed(secret: &str, timestamp: &str, body: &str) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(format!("{timestamp}.{body}").as_bytes());
    format!("v1={}", hex::encode(mac.finalize().into_bytes()))
}

#[tokio::test]
async fn a_failing_webhook_gets_the_message_once_after_retries_and_signed() {
    let (host, c) = community().await;
    let (url, seen) = gateway(3).await;
    let secret = "sms-gateway-shared-secret";
    c.admin
        .put(
            &format!("/api/v1/communities/{}/notify/gateways/sms", c.id),
            json!({"url": url, "secret": secret}),
        )
        .await
        .expect(200);
    let listed = c
        .admin
        .get(&format!("/api/v1/communities/{}/notify/gateways", c.id))
        .await
        .expect(200);
    assert!(
        !listed.to_string().contains(secret),
        "secrets are never shown"
    );

    let sent = send(
        &c,
        json!({"audience": [{"person": "person-210"}], "severity": "critical",
        "topic": "sos", "title": "SOS from your mother", "key": "sos-1"}),
    )
    .await;
    let id = sent["id"].as_str().unwrap().to_owned();
    let sms = |view: &Value| {
        view["deliveries"]
            .as_array()
            .unwrap()
            .iter()
            .find(|d| d["channel"] == "sms")
            .cloned()
            .expect("an sms delivery")
    };
    // The first try, then retries after 1, 2 and 4 seconds of host clock.
    for (attempt, wait) in [(1, 1_000), (2, 2_000), (3, 4_000)] {
        eventually(&format!("attempt {attempt} fails"), || async {
            sms(&message(&c, &id).await)["attempts"] == attempt
        })
        .await;
        assert_eq!(sms(&message(&c, &id).await)["state"], "pending");
        host.advance(wait);
    }
    eventually("the fourth attempt delivers", || async {
        sms(&message(&c, &id).await)["state"] == "delivered"
    })
    .await;

    let delivery = sms(&message(&c, &id).await);
    assert_eq!(delivery["attempts"], 4);
    let seen = seen.lock().unwrap().clone();
    assert_eq!(seen.len(), 4, "no post after the one that succeeded");
    for (delivery_id, timestamp, signature, body) in &seen {
        assert_eq!(
            delivery_id,
            delivery["id"].as_str().unwrap(),
            "one delivery id across retries"
        );
        assert_eq!(signature, &signed(secret, timestamp, body), "HMAC verifies");
    }
    let body: Value = serde_json::from_str(&seen[3].3).unwrap();
    assert_eq!(body["message_id"], id);
    assert_eq!(body["person"], "person-210");
    assert_eq!(body["channel"], "sms");
    assert!(body["address"].as_str().unwrap().starts_with("+86"));
    assert_eq!(body["title"], "SOS from your mother");
}

#[tokio::test]
async fn replays_send_once_and_bursts_to_one_person_are_limited_on_gateways() {
    let (_host, c) = community().await;
    let (url, seen) = gateway(0).await;
    c.admin
        .put(
            &format!("/api/v1/communities/{}/notify/gateways/sms", c.id),
            json!({"url": url, "secret": "another-long-secret"}),
        )
        .await
        .expect(200);
    c.admin
        .put(
            &format!("/api/v1/communities/{}/people/person-216/preferences", c.id),
            json!({"channels": {"warning": ["sms"]}}),
        )
        .await
        .expect(200);
    let warn = |key: String| {
        json!({"audience": [{"role": "property-staff"}], "severity": "warning",
               "topic": "hydrant-pressure", "title": "Low hydrant pressure", "key": key})
    };
    let first = send(&c, warn("pressure-0".into())).await;
    let replay = send(&c, warn("pressure-0".into())).await;
    assert_eq!(replay["id"], first["id"]);
    assert_eq!(replay["replayed"], true);
    for i in 1..7 {
        send(&c, warn(format!("pressure-{i}"))).await;
    }
    let list = c
        .admin
        .get(&format!(
            "/api/v1/communities/{}/notifications?topic=hydrant-pressure",
            c.id
        ))
        .await
        .expect(200);
    let ids: Vec<String> = list["notifications"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(ids.len(), 7, "the replay made no second message");

    let mut states = Vec::new();
    for id in ids.iter().rev() {
        let view = message(&c, id).await;
        for d in view["deliveries"].as_array().unwrap() {
            if d["person"] == "person-216" && d["channel"] == "sms" {
                states.push(d["state"].as_str().unwrap().to_owned());
            }
        }
    }
    let suppressed = states.iter().filter(|s| *s == "suppressed").count();
    assert_eq!(
        (states.len(), suppressed),
        (7, 2),
        "five per window get through: {states:?}"
    );
    eventually("the five go out", || async {
        seen.lock().unwrap().len() == 5
    })
    .await;
    let staff = c.person("operator", "person-216").await;
    assert_eq!(
        inbox(&staff).await.len(),
        7,
        "the inbox keeps every message"
    );
}

#[tokio::test]
async fn sends_outside_the_grant_are_denied() {
    let (_host, c) = community_with(json!({"notify": {"topics": ["reminder"]}, "store": {}})).await;
    let to_daughter = |topic: &str, severity: &str| {
        json!({"audience": [{"person": "person-005"}], "severity": severity,
               "topic": topic, "title": "Hello", "key": format!("{topic}-{severity}")})
    };
    let denied = c
        .command("notify-scene", "send", to_daughter("fire", "warning"))
        .await;
    assert_eq!(denied.status, 403, "{}", denied.message());
    assert!(denied.message().contains("topic"));
    let denied = c
        .command("notify-scene", "send", to_daughter("reminder", "critical"))
        .await;
    assert_eq!(denied.status, 403);
    assert!(denied.message().contains("critical"));
    let unknown = c
        .command(
            "notify-scene",
            "send",
            json!({"audience": [{"residents": "building-9"}],
            "severity": "info", "topic": "reminder", "title": "Hello", "key": "k"}),
        )
        .await;
    assert_eq!(unknown.status, 404, "{}", unknown.message());
    send(&c, to_daughter("reminder", "warning")).await;
}

#[tokio::test]
async fn people_manage_their_own_preferences_and_nobody_elses() {
    let (_host, c) = community().await;
    let daughter = c.person("resident", "person-005").await;
    let mine = json!({"timezone": "Europe/Berlin", "quiet_hours": {"start": "23:00", "end": "06:30"},
                      "channels": {"critical": ["sms", "app"], "info": []}});
    daughter
        .put("/api/v1/me/preferences", mine.clone())
        .await
        .expect(200);
    assert_eq!(
        daughter.get("/api/v1/me/preferences").await.expect(200),
        mine
    );
    let other = format!("/api/v1/communities/{}/people/person-210/preferences", c.id);
    daughter.put(&other, mine.clone()).await.expect(403);
    let bad = daughter
        .put("/api/v1/me/preferences", json!({"timezone": "Moon/Base"}))
        .await;
    assert_eq!(bad.status, 400);
    assert!(bad.message().contains("timezone"), "{}", bad.message());
    let bad = daughter
        .put(
            "/api/v1/me/preferences",
            json!({"quiet_hours": {"start": "25:00", "end": "06:00"}}),
        )
        .await;
    assert!(
        bad.message().contains("quiet_hours.start"),
        "{}",
        bad.message()
    );
    c.admin.get(&other).await.expect(200);
}
