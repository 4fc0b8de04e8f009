//! The `scenarios/*.toml` files that `linli plugin test` runs on a real
//! host, run here on the simulated one as far as they go — commands with
//! their callers, expected answers and errors, clock moves, messages and
//! ledger checks — so a wrong expectation shows in `cargo test` before the
//! component is even built. Patterns match as the host's runner matches
//! them: an object names only the keys that matter, a list has exactly as
//! many items, each matching in order.

use std::time::Duration;

use linli_sdk::testing::callers;
use linli_sdk::Caller;
use serde::Deserialize;
use serde_json::{json, Value as Json};

use super::*;

#[derive(Deserialize)]
#[serde(rename_all = "kebab-case")]
struct File {
    map: String,
    #[serde(default)]
    config: Json,
    steps: Vec<Step>,
}

#[derive(Deserialize)]
struct Step {
    command: Option<String>,
    input: Option<Json>,
    #[serde(rename = "as")]
    caller: Option<String>,
    expect: Option<Json>,
    error: Option<String>,
    advance: Option<String>,
    messages: Option<Json>,
    ledger: Option<Json>,
}

/// Where `actual` first differs from `pattern`, if it does.
fn mismatch(path: &str, pattern: &Json, actual: &Json) -> Option<String> {
    match (pattern, actual) {
        (Json::Object(wanted), Json::Object(got)) => {
            wanted.iter().find_map(|(key, want)| match got.get(key) {
                Some(value) => mismatch(&format!("{path}.{key}"), want, value),
                None => Some(format!("{path}.{key}: missing, expected {want}")),
            })
        }
        (Json::Array(wanted), Json::Array(got)) if wanted.len() != got.len() => Some(format!(
            "{path}: {} items, expected {}: {actual}",
            got.len(),
            wanted.len()
        )),
        (Json::Array(wanted), Json::Array(got)) => wanted
            .iter()
            .zip(got)
            .enumerate()
            .find_map(|(i, (want, value))| mismatch(&format!("{path}[{i}]"), want, value)),
        (Json::Number(want), Json::Number(got)) if want.as_f64() == got.as_f64() => None,
        _ if pattern == actual => None,
        _ => Some(format!("{path}: {actual}, expected {pattern}")),
    }
}

fn caller(written: Option<&str>) -> Caller {
    match written.and_then(|w| w.split_once(' ')) {
        Some(("resident", person)) => callers::resident(person),
        Some(("operator", person)) => callers::operator(person),
        _ => callers::community_admin("scenario-admin"),
    }
}

/// `"6d"`, `"90s"`: the durations the files use.
fn duration(text: &str) -> Duration {
    let (number, unit) = text.split_at(text.len() - 1);
    let number: u64 = number
        .parse()
        .unwrap_or_else(|_| panic!("advance {text:?}"));
    let seconds = match unit {
        "s" => 1,
        "m" => 60,
        "h" => 3_600,
        "d" => 86_400,
        _ => panic!("advance {text:?}: s, m, h or d"),
    };
    Duration::from_secs(number * seconds)
}

/// The host's names for the errors a file expects.
fn code(error: &linli_sdk::Error) -> &'static str {
    match error {
        linli_sdk::Error::Denied(_) => "forbidden",
        linli_sdk::Error::NotFound(_) => "not-found",
        linli_sdk::Error::Invalid(_) => "invalid",
        linli_sdk::Error::Limit(_) => "limit",
        linli_sdk::Error::Internal(_) => "plugin-failed",
    }
}

fn run(name: &str, text: &str, map: &str) {
    let file: File = toml::from_str(text).unwrap_or_else(|e| panic!("{name}: {e}"));
    assert_eq!(
        file.map, "sunny-court.geojson",
        "{name}: a map this runner knows"
    );
    let mut host = SimulatedHost::<Voting>::builder(include_str!("../../linli.toml"))
        .map(serde_json::from_str(map).unwrap())
        .config(file.config)
        .start()
        .unwrap();
    for (number, step) in file.steps.iter().enumerate() {
        let at = format!("{name}, step {}", number + 1);
        if let Some(command) = &step.command {
            let input = step.input.clone().unwrap_or_else(|| json!({}));
            let outcome = host.command(&caller(step.caller.as_deref()), command, input);
            match (&step.error, outcome) {
                (Some(expected), Err(error)) => {
                    assert_eq!(code(&error), expected, "{at}: {error:?}")
                }
                (Some(expected), Ok(answer)) => {
                    panic!("{at}: answered {answer}, expected {expected}")
                }
                (None, Err(error)) => panic!("{at}: {error:?}"),
                (None, Ok(answer)) => {
                    if let Some(difference) = step
                        .expect
                        .as_ref()
                        .and_then(|p| mismatch("output", p, &answer))
                    {
                        panic!("{at}: {difference}");
                    }
                }
            }
        }
        if let Some(by) = &step.advance {
            for handled in host.advance(duration(by)) {
                assert!(handled.outcome.is_ok(), "{at}: {handled:?}");
            }
        }
        if let Some(pattern) = &step.messages {
            let sent: Vec<Json> = host
                .messages()
                .iter()
                .map(|m| json!({"topic": m.message.topic, "title": m.message.title, "to": m.recipients()}))
                .collect();
            if let Some(difference) = mismatch("messages", pattern, &json!(sent)) {
                panic!("{at}: {difference}");
            }
        }
        if let Some(pattern) = &step.ledger {
            let entries: Vec<Json> = host
                .ledger_entries()
                .iter()
                .map(|e| json!({"index": e.index, "kind": e.kind, "body": serde_json::from_str::<Json>(&e.body).unwrap()}))
                .collect();
            if let Some(difference) = mismatch("ledger", pattern, &json!(entries)) {
                panic!("{at}: {difference}");
            }
        }
    }
}

#[test]
fn repaint_the_stairwells_runs_as_written() {
    run(
        "repaint-the-stairwells.toml",
        include_str!("../../scenarios/repaint-the-stairwells.toml"),
        include_str!("../../scenarios/sunny-court.geojson"),
    );
}

#[test]
fn the_scenarios_map_is_the_court_these_tests_describe() {
    let map: Json =
        serde_json::from_str(include_str!("../../scenarios/sunny-court.geojson")).unwrap();
    let mut host = SimulatedHost::<Voting>::builder(include_str!("../../linli.toml"))
        .map(map)
        .config(json!({"min-notice-ms": 0, "developer-voter": "dev"}))
        .start()
        .unwrap();
    let id = open_motion(&mut host, json!({}));
    let view = host
        .command(&admin(), "motion", json!({"motion": id}))
        .unwrap();
    assert_eq!(
        view["totals"],
        json!({"units": 8, "area_m2": "724.60", "owners": 6})
    );
}
