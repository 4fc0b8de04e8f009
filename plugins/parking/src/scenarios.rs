//! The scene's handlers end to end on the SDK's simulated host, with the
//! grants of this plugin's own `linli.toml`: an office tenant's weeknight
//! window reserved, checked in and out by the sensor and paid; a no-show
//! released; an overstay noticed, warned, alarmed and charged; an
//! unreserved vehicle and a blocked fire lane alarmed, the lane critical
//! while fire-safety confirms a fire in its building.
//!
//! The court (`scenarios/court.geojson`): office building `office-a` with
//! shared spaces `space-o1`, `space-o2` (sensors `mag-o1`, `mag-o2`) and
//! fire lane `lane-o` (`mag-lane`); residents Li and Wang in building b1;
//! property staff Pat and security Sam added here.

use std::time::Duration;

use linli_sdk::testing::{callers, DeviceSpec, SimulatedHost};
use linli_sdk::{Severity, Value};
use serde_json::{json, Value as Json};

use crate::Parking;

const MINUTE: u64 = 60;
/// 2026-01-05T00:00 in Shanghai, a Monday.
const MONDAY: i64 = 1_767_542_400_000;

fn court() -> Json {
    let mut map: Json = serde_json::from_str(include_str!("../scenarios/court.geojson")).unwrap();
    let features = map["features"].as_array_mut().unwrap();
    for (id, role) in [("pat", "property-staff"), ("sam", "security")] {
        features.push(json!({"type": "Feature", "id": id, "geometry": null,
            "properties": {"kind": "person", "name": id, "roles": [{"role": role}]}}));
    }
    map
}

fn court_host() -> SimulatedHost<Parking> {
    SimulatedHost::<Parking>::builder(include_str!("../linli.toml"))
        .map(court())
        .device(DeviceSpec::new("mag-o1", "geomagnetic", &["occupancy"]).at("space-o1"))
        .device(DeviceSpec::new("mag-o2", "geomagnetic", &["occupancy"]).at("space-o2"))
        .device(DeviceSpec::new("mag-lane", "geomagnetic", &["occupancy"]).at("lane-o"))
        .starting_at(MONDAY + 18 * 3_600_000)
        .start()
        .expect("parking installs with its default config")
}

fn admin() -> linli_sdk::Caller {
    callers::community_admin("office")
}

fn li() -> linli_sdk::Caller {
    callers::resident("resident-li")
}

/// The office's spaces shared every weeknight 19:00–08:00 at `price` points an hour.
fn share_weeknights(host: &mut SimulatedHost<Parking>, space: &str, price: u32) {
    host.command(&admin(), "publish-window", json!({"space": space, "price_per_hour": price,
        "when": {"kind": "weekly", "days": ["mon", "tue", "wed", "thu", "fri"], "start": "19:00", "end": "08:00"}}))
        .expect("the office shares its space");
}

fn top_up(host: &mut SimulatedHost<Parking>, person: &str, points: i64) {
    host.command(
        &admin(),
        "top-up",
        json!({"person": person, "points": points, "key": format!("{person}-{points}")}),
    )
    .expect("the office sells points");
}

fn at(host: &mut SimulatedHost<Parking>, local: &str) {
    let to = linli_sdk::calendar::parse_date_time(local, 480).unwrap();
    for handled in host.advance_to(to) {
        handled.outcome.expect("every timer is handled");
    }
}

fn occupied(host: &mut SimulatedHost<Parking>, device: &str, on: bool) {
    host.reading(device, "occupancy", Value::Flag(on))
        .expect("the reading is handled");
}

fn balance(host: &SimulatedHost<Parking>, account: &str) -> i64 {
    host.account(account).map_or(0, |a| a.balance)
}

fn handovers(host: &SimulatedHost<Parking>) -> Vec<String> {
    host.ledger_entries()
        .iter()
        .filter(|e| e.kind == "record")
        .filter_map(|e| {
            let body: Json = serde_json::from_str(&e.body).ok()?;
            let record = &body["body"];
            Some(format!(
                "{} {}",
                record["handover"].as_str()?,
                record["reservation"].as_str()?
            ))
        })
        .collect()
}

#[test]
fn a_weeknight_reservation_is_checked_in_and_out_by_the_sensor_and_paid_to_the_owner() {
    let mut host = court_host();
    share_weeknights(&mut host, "space-o1", 6);
    top_up(&mut host, "resident-li", 100);
    let made = host
        .command(
            &li(),
            "reserve",
            json!({"space": "space-o1", "start": "2026-01-05 20:00", "end": "2026-01-05 22:00"}),
        )
        .unwrap();
    assert_eq!(made["id"], "space-o1#0");
    let refused = host
        .command(
            &callers::resident("resident-wang"),
            "reserve",
            json!({"space": "space-o1", "start": "2026-01-05 21:00", "end": "2026-01-05 23:00"}),
        )
        .unwrap_err();
    assert!(
        format!("{refused:?}").contains("already reserved"),
        "{refused:?}"
    );

    at(&mut host, "2026-01-05 20:05");
    occupied(&mut host, "mag-o1", true);
    at(&mut host, "2026-01-05 21:40");
    occupied(&mut host, "mag-o1", false);

    // 95 minutes used, billed as 105 (seven quarters) at 6 points an hour:
    // 10.5, rounded up to 11.
    assert_eq!(balance(&host, "parking/owners/acme-tenancy"), 11);
    assert_eq!(balance(&host, "parking/parkers/resident-li"), 89);
    assert_eq!(
        handovers(&host),
        ["check-in space-o1#0", "check-out space-o1#0"]
    );
    let mine = host.command(&li(), "my-reservations", json!({})).unwrap();
    assert_eq!(
        mine["reservations"][0]["reservation"]["state"],
        "checked-out"
    );
    assert_eq!(
        mine["reservations"][0]["reservation"]["settlement"]["charge"],
        11
    );
    let told = host.messages_on("parking-reservation");
    assert!(told
        .iter()
        .any(|m| m.message.title == "Checked out" && m.message.body.contains("11 points")));
}

#[test]
fn a_no_show_is_released_after_the_grace_and_the_space_is_bookable_again() {
    let mut host = court_host();
    share_weeknights(&mut host, "space-o1", 0);
    host.command(
        &li(),
        "reserve",
        json!({"space": "space-o1", "start": "2026-01-05 20:00", "end": "2026-01-05 22:00"}),
    )
    .unwrap();
    at(&mut host, "2026-01-05 20:14");
    let mine = host.command(&li(), "my-reservations", json!({})).unwrap();
    assert_eq!(mine["reservations"][0]["reservation"]["state"], "confirmed");
    at(&mut host, "2026-01-05 20:15");
    let mine = host.command(&li(), "my-reservations", json!({})).unwrap();
    assert_eq!(mine["reservations"][0]["reservation"]["state"], "no-show");
    let busy = |host: &SimulatedHost<Parking>| {
        let stored = host.stored("lot/office-lot/availability").unwrap();
        crate::availability::decode(&stored).unwrap().spaces["space-o1"]
            .busy
            .len()
    };
    assert_eq!(
        busy(&host),
        0,
        "the released time is free in the lot's index"
    );
    host.command(
        &callers::resident("resident-wang"),
        "reserve",
        json!({"space": "space-o1", "start": "2026-01-05 20:30", "end": "2026-01-05 21:30"}),
    )
    .expect("released, the space is free again");
    assert_eq!(busy(&host), 1);
}

#[test]
fn an_overstay_is_noticed_warned_alarmed_and_charged() {
    let mut host = court_host();
    share_weeknights(&mut host, "space-o1", 6);
    top_up(&mut host, "resident-li", 100);
    host.command(
        &li(),
        "reserve",
        json!({"space": "space-o1", "start": "2026-01-05 20:00", "end": "2026-01-05 21:00"}),
    )
    .unwrap();
    at(&mut host, "2026-01-05 20:00");
    occupied(&mut host, "mag-o1", true);
    at(&mut host, "2026-01-05 20:50");
    let told: Vec<String> = host
        .messages_on("parking-overstay")
        .iter()
        .map(|m| m.message.title.clone())
        .collect();
    assert_eq!(told, ["Your parking ends soon"]);
    at(&mut host, "2026-01-05 21:15");
    let warned = host.messages_on("parking-overstay");
    assert_eq!(warned.last().unwrap().message.severity, Severity::Warning);
    assert!(host.alarm("space-o1", "parking-overstay").is_none());
    at(&mut host, "2026-01-05 22:00");
    let alarm = host
        .alarm("space-o1", "parking-overstay")
        .expect("staff are alarmed an hour after the end");
    assert!(alarm.active);
    at(&mut host, "2026-01-05 22:05");
    occupied(&mut host, "mag-o1", false);
    assert!(host.alarm("space-o1", "parking-overstay").is_none());
    // 125 minutes billed as 135 at 6/h = 13.5 → 14; 50 minutes past the
    // grace are four started quarters at 5 points.
    assert_eq!(balance(&host, "parking/owners/acme-tenancy"), 14);
    assert_eq!(balance(&host, "parking/fees"), 20);
    assert_eq!(balance(&host, "parking/parkers/resident-li"), 66);
    let history: crate::overstay::History = host.state("parker/resident-li").unwrap();
    assert_eq!(history.overstays.len(), 1);
}

#[test]
fn an_unreserved_vehicle_on_a_shared_space_alarms_staff_after_the_grace() {
    let mut host = court_host();
    share_weeknights(&mut host, "space-o2", 0);
    at(&mut host, "2026-01-05 20:00");
    occupied(&mut host, "mag-o2", true);
    at(&mut host, "2026-01-05 20:09");
    assert!(host.alarm("space-o2", "parking-unauthorised").is_none());
    at(&mut host, "2026-01-05 20:10");
    assert!(
        host.alarm("space-o2", "parking-unauthorised")
            .unwrap()
            .active
    );
    let told = host.messages_on("parking-unauthorised");
    assert_eq!(told.len(), 1);
    occupied(&mut host, "mag-o2", false);
    assert!(host.alarm("space-o2", "parking-unauthorised").is_none());
}

#[test]
fn a_blocked_fire_lane_alarms_security_and_turns_critical_in_a_confirmed_fire() {
    let mut host = court_host();
    occupied(&mut host, "mag-lane", true);
    host.advance(Duration::from_secs(59));
    assert!(host.alarm("lane-o", "fire-lane-blocked").is_none());
    host.advance(Duration::from_secs(1));
    let blocked = host
        .alarm("lane-o", "fire-lane-blocked")
        .expect("blocked after 60 s");
    assert_eq!(blocked.severity, Severity::Major);
    host.raise_alarm_of(
        "fire-safety",
        "office-a",
        "fire-confirmed",
        Severity::Critical,
    )
    .unwrap();
    assert_eq!(
        host.alarm("lane-o", "fire-lane-blocked").unwrap().severity,
        Severity::Critical
    );
    let told: Vec<Severity> = host
        .messages_on("fire-lane-blocked")
        .iter()
        .map(|m| m.message.severity)
        .collect();
    assert_eq!(told, [Severity::Major, Severity::Critical]);
    host.advance(Duration::from_secs(5 * MINUTE));
    occupied(&mut host, "mag-lane", false);
    assert!(host.alarm("lane-o", "fire-lane-blocked").is_none());
}

/// The platform knows each device kind's report interval: when it says a
/// sensor has gone silent, its space counts unknown at once, and the next
/// reading brings it back.
#[test]
fn a_sensor_the_platform_calls_offline_leaves_its_space_unknown_until_it_reports() {
    let mut host = court_host();
    occupied(&mut host, "mag-o1", false);
    occupied(&mut host, "mag-o2", true);
    let status = |host: &mut SimulatedHost<Parking>| {
        let lot = host
            .command(&admin(), "lots", json!({"lot": "office-lot"}))
            .unwrap();
        let of = |space: &str| {
            lot["office-lot"]["spaces"]
                .as_array()
                .unwrap()
                .iter()
                .find(|s| s["space"] == space)
                .map(|s| s["status"].as_str().unwrap().to_owned())
                .unwrap()
        };
        (
            of("space-o1"),
            of("space-o2"),
            lot["office-lot"]["unknown"].clone(),
        )
    };
    assert_eq!(
        status(&mut host),
        ("free".into(), "occupied".into(), json!(0))
    );
    host.raise_platform_alarm("mag-o1", "device-offline", Severity::Warning)
        .unwrap();
    assert_eq!(
        status(&mut host),
        ("unknown".into(), "occupied".into(), json!(1))
    );
    occupied(&mut host, "mag-o1", true);
    assert_eq!(
        status(&mut host),
        ("occupied".into(), "occupied".into(), json!(0))
    );
    host.raise_platform_alarm("mag-o2", "device-offline", Severity::Warning)
        .unwrap();
    host.clear_alarm("mag-o2", "device-offline", "platform")
        .unwrap();
    assert_eq!(
        status(&mut host),
        ("occupied".into(), "occupied".into(), json!(0))
    );
}

#[test]
fn erasing_a_parker_cancels_their_coming_reservation_and_leaves_nothing_naming_them() {
    let mut host = court_host();
    share_weeknights(&mut host, "space-o1", 6);
    share_weeknights(&mut host, "space-o2", 6);
    top_up(&mut host, "resident-li", 100);
    top_up(&mut host, "resident-wang", 100);
    for night in ["2026-01-05", "2026-01-06"] {
        host.command(
            &li(),
            "reserve",
            json!({"space": "space-o1", "start": format!("{night} 20:00"),
                   "end": format!("{night} 22:00"), "visitor": "沪A 12345"}),
        )
        .unwrap();
    }
    let wang = callers::resident("resident-wang");
    host.command(
        &wang,
        "reserve",
        json!({"space": "space-o2", "start": "2026-01-06 20:00", "end": "2026-01-06 22:00"}),
    )
    .unwrap();
    at(&mut host, "2026-01-05 20:05");
    occupied(&mut host, "mag-o1", true);
    at(&mut host, "2026-01-05 21:40");
    occupied(&mut host, "mag-o1", false);

    host.erase_person("resident-li").unwrap();

    for key in host.store_keys() {
        let bytes = host.stored(&key).unwrap();
        let names_her = |needle: &str| bytes.windows(needle.len()).any(|w| w == needle.as_bytes());
        assert!(
            !key.contains("resident-li") && !names_her("resident-li") && !names_her("沪A 12345"),
            "{key} still names her"
        );
    }
    let space = host
        .command(
            &admin(),
            "space",
            json!({"space": "space-o1", "start": "2026-01-06 19:00",
                                           "end": "2026-01-06 23:00"}),
        )
        .unwrap();
    assert_eq!(
        space["reserved"],
        json!([]),
        "her coming night is free: {space}"
    );
    let theirs = host.command(&wang, "my-reservations", json!({})).unwrap();
    assert_eq!(
        theirs["reservations"][0]["reservation"]["state"],
        "confirmed"
    );
    assert_eq!(
        balance(&host, "parking/parkers/resident-li"),
        89,
        "the ledger keeps her account, under an id that names no one now"
    );
}
