//! The simulated host against a small scene that uses every capability it
//! needs to show: a smoke detector over its threshold raises a fire alarm
//! and tells the residents of its building, escalating to security; a
//! repeating timer counts ticks; commands move time coins on the ledger.

use std::time::Duration;

use linli_sdk::ledger::LedgerError;
use linli_sdk::map::CommunityRole;
use linli_sdk::notify::{EscalationStep, Message, MessageState};
use linli_sdk::testing::{callers, DeviceSpec, SimulatedHost};
use linli_sdk::{
    alarm, audience, grants, ledger, map, notify, parse_input, state, timer, Caller, Error, Event,
    Lifecycle, Scene, Severity, Value,
};
use proptest::prelude::*;
use serde::Deserialize;
use serde_json::{json, Value as Json};

const MANIFEST: &str = r#"
id = "watch"
vendor = "test"
api = "0.1.0"
description = "exercises the simulated host"

[capabilities.sensor]
kinds = ["smoke"]
[capabilities.store]
[capabilities.timer]
[capabilities.alarm]
types = ["fire"]
[capabilities.map]
people = true
[capabilities.notify]
topics = ["fire"]
critical = true
optional = true
[capabilities.ledger]
namespaces = ["coins"]
"#;

const MINUTE: u64 = 60_000;

#[derive(Deserialize)]
struct Config {
    threshold: f64,
}

struct Watch;

/// Raises the fire alarm on `device` and tells its building, escalating to security.
fn fire(device: &str, obscuration: f64) -> Result<(), Error> {
    let raised = alarm::raise(
        device,
        "fire",
        Severity::Critical,
        &json!({"obscuration": obscuration}).to_string(),
    )?;
    let place = map::locate(device)?.ok_or_else(|| Error::NotFound(device.into()))?;
    let building = map::ancestors(&place.id)?
        .into_iter()
        .find(|p| p.kind == map::PlaceKind::Building)
        .map_or(place.id, |b| b.id);
    notify::send(&Message {
        audience: vec![audience::residents(&building)],
        severity: Severity::Critical,
        topic: "fire".into(),
        title: format!("Fire in {building}"),
        body: String::new(),
        data: "{}".into(),
        idempotency_key: raised.id.clone(),
        require_ack: true,
        escalation: vec![EscalationStep {
            after_ms: 5 * MINUTE,
            audience: vec![audience::role(CommunityRole::Security, Some(&building))],
        }],
    })?;
    state::put("last-alarm", &raised.id)
}

impl Scene for Watch {
    type Config = Config;

    fn on_event(config: &Config, event: Event) -> Result<(), Error> {
        match event {
            Event::Lifecycle(Lifecycle::Installed) => {
                timer::schedule("tick", timer::now() + MINUTE as i64, Some(MINUTE))
            }
            Event::TimerFired(fired) if fired.tag == "tick" => {
                state::update("ticks", |ticks: &mut u64| *ticks += 1)
            }
            Event::Reading(reading) => match reading.value {
                Value::Number(n) if n > config.threshold => fire(&reading.device, n),
                // A detector reporting a fault: every effect, then an error.
                Value::Text(fault) => {
                    fire(&reading.device, 0.0)?;
                    timer::schedule("recheck", timer::now() + 1000, None)?;
                    ledger::open_account("coins/pool", None, "open-pool")
                        .map_err(|e| Error::Internal(format!("{e:?}")))?;
                    Err(Error::Invalid(format!("detector fault: {fault}")))
                }
                _ => Ok(()),
            },
            Event::NotificationAcknowledged(ack) => state::put("acknowledged-by", &ack.by),
            _ => Ok(()),
        }
    }

    fn on_command(_: &Config, _: &Caller, name: &str, input: Json) -> Result<Json, Error> {
        let ledger_error = |e: LedgerError| match e {
            LedgerError::Denied(why) => Error::Denied(why),
            other => Error::Invalid(format!("{other:?}")),
        };
        match name {
            "open" => {
                #[derive(Deserialize)]
                struct Open {
                    name: String,
                    floor: Option<i64>,
                }
                let open: Open = parse_input(input)?;
                let account =
                    ledger::open_account(&open.name, open.floor, &format!("open-{}", open.name))
                        .map_err(ledger_error)?;
                Ok(json!({"balance": account.balance}))
            }
            "transfer" => {
                #[derive(Deserialize)]
                struct Transfer {
                    from: String,
                    to: String,
                    amount: i64,
                    key: String,
                }
                let t: Transfer = parse_input(input)?;
                let entry = ledger::transfer(&t.from, &t.to, t.amount, "", None, &t.key)
                    .map_err(ledger_error)?;
                Ok(json!({"index": entry.index, "replayed": entry.replayed}))
            }
            "person" => {
                let person = map::get_person(input["id"].as_str().unwrap_or_default())?;
                Ok(json!({"name": person.name}))
            }
            "granted" => {
                let granted = grants::granted();
                Ok(json!({
                    "notify": granted.notify.map(|n| n.topics),
                    "people": granted.map.is_some_and(|m| m.people),
                    "store": granted.store,
                }))
            }
            _ => Err(Error::Invalid(format!("unknown command: {name}"))),
        }
    }
}

/// Two buildings: alice and bob live in b1 (guarded by gina), carol in b2.
fn community() -> Json {
    let place = |id: &str, kind: &str, parent: Option<&str>| {
        json!({"type": "Feature", "id": id, "geometry": null,
               "properties": {"kind": kind, "name": id, "parent": parent}})
    };
    let person = |id: &str, properties: Json| {
        let mut p = json!({"kind": "person", "name": id});
        p.as_object_mut()
            .unwrap()
            .extend(properties.as_object().unwrap().clone());
        json!({"type": "Feature", "id": id, "geometry": null, "properties": p})
    };
    json!({"type": "FeatureCollection", "features": [
        place("b1", "building", None), place("f1", "floor", Some("b1")),
        place("u1", "unit", Some("f1")), place("u2", "unit", Some("f1")),
        place("h1", "household", Some("u1")), place("h2", "household", Some("u2")),
        place("b2", "building", None), place("f2", "floor", Some("b2")),
        place("u3", "unit", Some("f2")), place("h3", "household", Some("u3")),
        person("alice", json!({"links": [{"kind": "resident-of", "target": "h1"}]})),
        person("bob", json!({"links": [{"kind": "resident-of", "target": "h2"}]})),
        person("carol", json!({"links": [{"kind": "resident-of", "target": "h3"}]})),
        person("gina", json!({"roles": [{"role": "security", "scope": "b1"}]})),
    ]})
}

fn watch() -> SimulatedHost<Watch> {
    SimulatedHost::<Watch>::builder(MANIFEST)
        .config(json!({"threshold": 10.0}))
        .map(community())
        .device(DeviceSpec::new("smoke-1", "smoke-detector", &["smoke"]).at("u1"))
        .start()
        .expect("the scene installs")
}

#[test]
fn a_timer_fires_when_the_simulated_clock_passes_it_and_repeats_on_every_beat() {
    let mut host = watch();
    assert_eq!(host.advance(Duration::from_secs(59)).len(), 0);
    assert_eq!(host.state::<u64>("ticks"), None);
    let fired = host.advance(Duration::from_secs(1));
    assert_eq!(fired.len(), 1);
    assert!(
        matches!(&fired[0].event, Event::TimerFired(t) if t.tag == "tick" && t.due == linli_sdk::testing::START + 60_000)
    );
    host.advance(Duration::from_secs(150));
    assert_eq!(host.state::<u64>("ticks"), Some(3));
    assert_eq!(
        host.timers()[0].1.due,
        linli_sdk::testing::START + 4 * 60_000
    );
}

#[test]
fn a_failed_handler_leaves_no_store_timer_alarm_message_or_ledger_effect() {
    let mut host = watch();
    let before_timers = host.timers();
    let failed = host.reading("smoke-1", "smoke", Value::Text("chamber dirty".into()));
    assert!(
        matches!(failed, Err(Error::Invalid(ref why)) if why.contains("chamber dirty")),
        "{failed:?}"
    );
    assert_eq!(host.stored("last-alarm"), None);
    assert_eq!(host.timers(), before_timers);
    assert!(host.alarms().is_empty());
    assert!(host.messages().is_empty());
    assert!(host.ledger_entries().is_empty() && host.accounts().is_empty());
    assert_eq!(host.dead_letters().len(), 1);
    // The same detector over its threshold afterwards works: nothing was left half-done.
    host.reading("smoke-1", "smoke", Value::Number(12.0))
        .unwrap();
    assert_eq!(host.active_alarms().len(), 1);
}

#[test]
fn a_call_outside_the_grants_is_denied_with_the_hosts_words() {
    let mut host = SimulatedHost::<Watch>::builder(MANIFEST)
        .config(json!({"threshold": 10.0}))
        .map(community())
        .device(DeviceSpec::new("smoke-1", "smoke-detector", &["smoke"]).at("u1"))
        .grants(|g| {
            g.notify = None;
            g.map.as_mut().unwrap().people = false;
        })
        .start()
        .unwrap();
    let refused = host.reading("smoke-1", "smoke", Value::Number(12.0));
    assert!(
        matches!(refused, Err(Error::Denied(ref why)) if why == "notify was not granted to this installation"),
        "{refused:?}"
    );
    assert!(
        host.alarms().is_empty(),
        "the raise before the refused send is not kept"
    );
    let person = host.command(
        &callers::resident("alice"),
        "person",
        json!({"id": "alice"}),
    );
    assert!(
        matches!(person, Err(Error::Denied(ref why)) if why.contains("people = true")),
        "{person:?}"
    );
    let outside = host.command(
        &callers::operator("gina"),
        "open",
        json!({"name": "points/alice"}),
    );
    assert!(
        matches!(outside, Err(Error::Denied(ref why)) if why == "account \"points/alice\" is not in a namespace granted to this installation"),
        "{outside:?}"
    );
}

#[test]
fn a_fire_message_reaches_the_residents_of_the_building_and_escalates_to_security_until_acknowledged(
) {
    let mut host = watch();
    host.reading("smoke-1", "smoke", Value::Number(12.0))
        .unwrap();
    let sent = &host.messages_on("fire")[0];
    assert_eq!(
        sent.recipients()
            .iter()
            .map(String::as_str)
            .collect::<Vec<_>>(),
        ["alice", "bob"]
    );
    assert_eq!(sent.steps.len(), 1);
    host.advance(Duration::from_secs(5 * 60));
    let escalated = &host.messages_on("fire")[0];
    assert_eq!(
        escalated.steps[1]
            .people
            .iter()
            .map(String::as_str)
            .collect::<Vec<_>>(),
        ["gina"]
    );
    assert_eq!(escalated.state, MessageState::Unacknowledged);
    host.acknowledge_message(&escalated.id, "gina").unwrap();
    assert_eq!(
        host.state::<String>("acknowledged-by").as_deref(),
        Some("gina")
    );
    assert!(
        host.acknowledge_message(&escalated.id, "carol").is_err(),
        "carol was never reached"
    );
}

#[test]
fn an_acknowledged_message_does_not_escalate() {
    let mut host = watch();
    host.reading("smoke-1", "smoke", Value::Number(12.0))
        .unwrap();
    let id = host.messages()[0].id.clone();
    host.advance(Duration::from_secs(60));
    host.acknowledge_message(&id, "bob").unwrap();
    host.advance(Duration::from_secs(10 * 60));
    let message = &host.messages()[0];
    assert_eq!(
        (message.steps.len(), message.state),
        (1, MessageState::Acknowledged)
    );
}

#[test]
fn raising_an_active_alarm_again_updates_it_and_a_raise_after_a_clear_is_a_new_alarm() {
    let mut host = watch();
    host.reading("smoke-1", "smoke", Value::Number(12.0))
        .unwrap();
    host.reading("smoke-1", "smoke", Value::Number(15.0))
        .unwrap();
    let alarms = host.active_alarms();
    assert_eq!((alarms.len(), alarms[0].count), (1, 2));
    assert_eq!(alarms[0].location.as_deref(), Some("u1"));
    assert_eq!(
        host.messages().len(),
        1,
        "the second raise repeats the idempotency key"
    );
    let first = alarms[0].id.clone();
    host.clear_alarm("smoke-1", "fire", "operator").unwrap();
    host.reading("smoke-1", "smoke", Value::Number(13.0))
        .unwrap();
    assert_ne!(host.active_alarms()[0].id, first);
}

#[test]
fn a_scene_asks_what_it_was_granted_and_sees_what_was_withheld() {
    let admin = callers::community_admin("admin");
    let mut full = watch();
    assert_eq!(
        full.command(&admin, "granted", json!({})).unwrap(),
        json!({"notify": ["fire"], "people": true, "store": true})
    );
    let mut narrowed = SimulatedHost::<Watch>::builder(MANIFEST)
        .config(json!({"threshold": 10.0}))
        .grants(|g| {
            g.notify = None;
            g.map.as_mut().unwrap().people = false;
        })
        .start()
        .unwrap();
    assert_eq!(
        narrowed.command(&admin, "granted", json!({})).unwrap(),
        json!({"notify": null, "people": false, "store": true})
    );
}

#[test]
#[should_panic(expected = "grants.store: required by watch")]
fn withholding_a_required_capability_is_refused_as_the_host_refuses_it() {
    let _ = SimulatedHost::<Watch>::builder(MANIFEST).grants(|g| g.store = None);
}

#[test]
#[should_panic(expected = "no simulated host on this thread")]
fn a_host_call_with_no_simulated_host_panics_saying_how_to_get_one() {
    let _ = linli_sdk::store::get("anything");
}

#[test]
fn a_config_that_is_not_an_object_is_refused() {
    let refused = SimulatedHost::<Watch>::builder(MANIFEST)
        .config(json!([1]))
        .start();
    assert!(matches!(refused, Err(Error::Invalid(_))));
}

/// One step of the ledger property: a transfer between two of three accounts.
#[derive(Debug, Clone)]
struct Step {
    from: usize,
    to: usize,
    amount: i64,
    /// Reusing an earlier step's key replays it.
    key: usize,
}

fn steps() -> impl Strategy<Value = Vec<Step>> {
    prop::collection::vec(
        (0..3usize, 0..3usize, 1..200i64, 0..12usize).prop_map(|(from, to, amount, key)| Step {
            from,
            to,
            amount,
            key,
        }),
        1..40,
    )
}

proptest! {
    /// Whatever transfers a scene attempts, no balance goes below its floor,
    /// balances always sum to zero, and a replayed key changes nothing.
    #[test]
    fn ledger_balances_never_go_below_their_floors_and_replays_change_nothing(steps in steps()) {
        let mut host = watch();
        let admin = callers::community_admin("admin");
        let names = ["coins/pool", "coins/ann", "coins/ben"];
        let floors = [Some(-500), None, Some(-50)];
        for (name, floor) in names.iter().zip(floors) {
            host.command(&admin, "open", json!({"name": name, "floor": floor})).unwrap();
        }
        let mut used: std::collections::HashMap<usize, Json> = Default::default();
        for step in steps {
            let balances_before: Vec<i64> = host.accounts().iter().map(|a| a.balance).collect();
            let entries_before = host.ledger_entries().len();
            let input = json!({"from": names[step.from], "to": names[step.to], "amount": step.amount, "key": format!("k{}", step.key)});
            let outcome = host.command(&admin, "transfer", input.clone());
            if let Ok(answer) = &outcome {
                if answer["replayed"] == true {
                    prop_assert_eq!(used.get(&step.key), Some(&input), "only the same request replays");
                    prop_assert_eq!(host.ledger_entries().len(), entries_before);
                    let after: Vec<i64> = host.accounts().iter().map(|a| a.balance).collect();
                    prop_assert_eq!(after, balances_before);
                } else {
                    used.insert(step.key, input);
                }
            }
            for (account, floor) in host.accounts().iter().zip(floors) {
                prop_assert!(account.balance >= floor.unwrap_or(0), "{account:?}");
            }
            prop_assert_eq!(host.accounts().iter().map(|a| a.balance).sum::<i64>(), 0);
        }
    }
}
