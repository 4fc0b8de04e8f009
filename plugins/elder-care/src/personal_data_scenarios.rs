//! Mrs Wang's personal data on the simulated host: after the community
//! erases her, nothing the scene keeps names her and her neighbour's
//! records are as they were; no volunteer learns where she lives unless
//! she consents to sharing it; and her watch and her door reach the scene
//! only with her consent to health monitoring and presence checks.
//!
//! The neighbour (h2, same floor) is a time-bank member who shops, with a
//! watch of his own; the community is `scenarios::community`.

use linli_sdk::notify::MessageState;
use linli_sdk::personal::mentions;
use std::time::Duration;

use linli_sdk::testing::{callers, DeviceSpec, SimulatedHost, START};
use linli_sdk::{Purpose, Value};
use serde_json::{json, Value as Json};

use crate::scenarios::{community, people, with_watch};
use crate::ElderCare;

const HOUR_MS: i64 = 3_600_000;

/// What would tell someone where Mrs Wang lives: her household, unit,
/// floor and building, by id or name.
const HER_HOME: [&str; 5] = ["h1", "u1", "b1", "Building 1", "Floor 1"];

fn says_where_she_lives(text: &str) -> bool {
    HER_HOME.iter().any(|place| text.contains(place))
}

/// Mrs Wang and her neighbour in the time bank, her request for shopping
/// offered to him, her watch, an SOS of hers and her welfare checks.
fn busy_week() -> SimulatedHost<ElderCare> {
    let mut host = with_watch();
    host.command(
        &callers::resident("daughter"),
        "join",
        json!({"for": "mrs-wang"}),
    )
    .unwrap();
    host.command(
        &callers::resident("neighbour"),
        "join",
        json!({"skills": ["shopping"]}),
    )
    .unwrap();
    host.command(
        &callers::resident("neighbour"),
        "register-wearable",
        json!({"device": "watch-9", "person": "neighbour"}),
    )
    .unwrap();
    host.command(
        &callers::resident("neighbour"),
        "care-profile",
        json!({"person": "neighbour", "lives-alone": true}),
    )
    .unwrap();
    host.command(
        &callers::resident("daughter"),
        "care-profile",
        json!({"person": "mrs-wang", "lives-alone": true}),
    )
    .unwrap();
    file_shopping(&mut host, "weekly");
    host.reading("watch-7", "heart-rate", Value::Number(70.0))
        .unwrap();
    host.reading("watch-7", "sos", Value::Flag(true)).unwrap();
    host
}

/// Mrs Wang asks for an hour of shopping tomorrow.
fn file_shopping(host: &mut SimulatedHost<ElderCare>, key: &str) -> Json {
    let tomorrow = START + 24 * HOUR_MS;
    host.command(
        &callers::resident("daughter"),
        "request",
        json!({"for": "mrs-wang", "need": "shopping", "start": tomorrow,
               "end": tomorrow + 4 * HOUR_MS, "minutes": 60, "key": key}),
    )
    .unwrap()
}

/// The request as the neighbour, offered it, is shown it.
fn shown_to_neighbour(host: &mut SimulatedHost<ElderCare>, request: &str) -> Json {
    host.command(
        &callers::resident("neighbour"),
        "show-request",
        json!({"request": request}),
    )
    .unwrap()
}

fn personal_data(host: &mut SimulatedHost<ElderCare>, person: &str) -> Json {
    host.command(
        &callers::community_admin("office"),
        "personal-data",
        json!({"person": person}),
    )
    .unwrap()
}

#[test]
fn after_erasure_nothing_the_scene_keeps_names_her_and_her_neighbour_keeps_his() {
    let mut host = busy_week();
    let before = personal_data(&mut host, "mrs-wang");
    assert_eq!(before["wearables"], json!(["watch-7"]));
    assert_eq!(before["requests"], json!(["r-000001"]));
    assert!(before["records"]["member/mrs-wang"].is_object());
    let neighbours = personal_data(&mut host, "neighbour");
    let sos = host.messages_on("sos")[0].id.clone();

    host.erase_person("mrs-wang").unwrap();

    for key in host.store_keys() {
        let value: Json = host.state(&key).unwrap();
        assert!(
            !key.contains("mrs-wang") && !mentions(&value, "mrs-wang"),
            "{key} still names her: {value}"
        );
    }
    let after = personal_data(&mut host, "mrs-wang");
    assert_eq!(
        after,
        json!({"person": "mrs-wang", "records": {}, "wearables": [], "alerts": [],
               "requests": []})
    );
    assert!(
        host.alarm("mrs-wang", "sos").is_none(),
        "her alarm is cleared"
    );
    let alert = host.messages().into_iter().find(|m| m.id == sos).unwrap();
    assert_eq!(alert.state, MessageState::Cancelled, "and stops escalating");
    let timers: Vec<String> = host.timers().into_iter().map(|(tag, _)| tag).collect();
    assert_eq!(timers, ["welfare/neighbour"]);
    assert_eq!(personal_data(&mut host, "neighbour"), neighbours);
    assert!(
        host.account("timebank/members/mrs-wang").is_some(),
        "the ledger keeps her account, under an id that names no one now"
    );
}

#[test]
fn the_volunteer_offered_her_request_is_told_it_was_withdrawn_and_nothing_else() {
    let mut host = busy_week();
    host.erase_person("mrs-wang").unwrap();
    let withdrawn = host.messages_on("timebank-update");
    let told = withdrawn.last().expect("the neighbour is told");
    assert_eq!(told.recipients(), &people(&["neighbour"]));
    let said = format!(
        "{} {} {}",
        told.message.title, told.message.body, told.message.data
    );
    assert!(
        !said.contains("mrs-wang") && !says_where_she_lives(&said),
        "{said}"
    );
    let refused = host.command(
        &callers::resident("neighbour"),
        "accept",
        json!({"request": "r-000001"}),
    );
    assert!(refused.is_err(), "a withdrawn request cannot be taken");
}

#[test]
fn her_request_is_offered_without_her_address_until_she_consents_to_share_it() {
    let mut host = busy_week();
    let offers = host.messages_on("timebank-offer");
    let offer = &offers[0];
    assert_eq!(offer.recipients(), &people(&["neighbour"]));
    let said = format!("{} {}", offer.message.body, offer.message.data);
    assert!(!says_where_she_lives(&said), "{said}");
    let shown = shown_to_neighbour(&mut host, "r-000001");
    assert!(!says_where_she_lives(&shown.to_string()), "{shown}");
    let alert = &host.messages_on("sos")[0];
    assert!(
        !says_where_she_lives(&alert.message.data),
        "{}",
        alert.message.data
    );

    host.set_consents(
        "mrs-wang",
        &[Purpose::HealthMonitoring, Purpose::LocationSharing],
    );
    file_shopping(&mut host, "another");
    let offers = host.messages_on("timebank-offer");
    let offer = offers.last().unwrap();
    assert!(
        offer.message.body.contains("at h1, Building 1"),
        "{}",
        offer.message.body
    );
    let shown = shown_to_neighbour(&mut host, "r-000002");
    assert_eq!(shown["home"]["household"], "h1");
}

#[test]
fn her_watch_reaches_the_scene_only_with_her_consent_to_health_monitoring() {
    let mut host = with_watch();
    host.set_consents("mrs-wang", &[]);
    host.reading("watch-7", "fall", Value::Flag(true)).unwrap();
    assert!(
        host.alarm("mrs-wang", "fall").is_none(),
        "withheld by the host"
    );
    host.reading("watch-7", "sos", Value::Flag(true)).unwrap();
    assert!(
        host.alarm("mrs-wang", "sos").is_some(),
        "an SOS always comes through"
    );
    host.set_consents("mrs-wang", &[Purpose::HealthMonitoring]);
    host.reading("watch-7", "fall", Value::Flag(true)).unwrap();
    assert!(
        host.alarm("mrs-wang", "fall").is_some(),
        "given, it holds at once"
    );
}

#[test]
fn her_door_counts_as_activity_only_with_her_consent_to_presence_checks() {
    let mut host = SimulatedHost::<ElderCare>::builder(include_str!("../linli.toml"))
        .map(community())
        .device(DeviceSpec::new("door-1", "contact", &["door"]).at("u1"))
        .start()
        .unwrap();
    host.command(
        &callers::resident("daughter"),
        "care-profile",
        json!({"person": "mrs-wang", "lives-alone": true}),
    )
    .unwrap();
    host.set_consents("mrs-wang", &[Purpose::HealthMonitoring]);
    host.advance(Duration::from_secs(12 * 3600));
    host.reading("door-1", "door", Value::Flag(true)).unwrap();
    host.advance(Duration::from_secs(13 * 3600));
    assert!(
        host.alarm("mrs-wang", "welfare-check").is_some(),
        "the door was withheld, so the day looked silent"
    );
    host.set_consents("mrs-wang", &[Purpose::PresenceChecks]);
    host.reading("door-1", "door", Value::Flag(false)).unwrap();
    assert!(host.alarm("mrs-wang", "welfare-check").is_none());
}
