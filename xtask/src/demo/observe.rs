//! What the story waits for and how it shows it: narration lines, times of
//! day, alarms, messages and inboxes read back from the API.

use std::time::{SystemTime, UNIX_EPOCH};

use std::path::Path;
use std::process::Command;

use anyhow::{bail, Context, Result};
use serde_json::Value;

use super::api::{poll, Api};
use super::community::Community;

pub const MINUTE: i64 = 60_000;
pub const HOUR: i64 = 60 * MINUTE;

/// Prints a narration line, wrapped.
pub fn say(text: &str) {
    let mut line = String::from("  ");
    for word in text.split(' ') {
        if line.len() + word.len() > 100 && line.trim().len() > 1 {
            println!("{line}");
            line = String::from("    ");
        }
        line.push_str(word);
        line.push(' ');
    }
    println!("{}", line.trim_end());
}

pub fn now_ms() -> i64 {
    let since = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    i64::try_from(since.as_millis()).unwrap_or(i64::MAX)
}

/// `14:05`, in Sunny Garden's time (UTC+8).
pub fn clock(ms: i64) -> String {
    let minutes = (ms / MINUTE + 8 * 60).rem_euclid(24 * 60);
    format!("{:02}:{:02}", minutes / 60, minutes % 60)
}

pub fn text(value: &Value) -> &str {
    value.as_str().unwrap_or("?")
}

/// The active alarms of `alarm_type`.
pub fn active_alarms(c: &Community, alarm_type: &str) -> Result<Vec<Value>> {
    let listed = c
        .committee
        .get(&c.path(&format!("/alarms?state=active&type={alarm_type}")))?;
    Ok(listed.as_array().cloned().unwrap_or_default())
}

/// Waits for the active alarm of `alarm_type` raised about `originator`.
pub fn await_alarm(c: &Community, alarm_type: &str, originator: &str) -> Result<Value> {
    poll(&format!("a {alarm_type} alarm about {originator}"), || {
        let active = active_alarms(c, alarm_type)?;
        Ok(active
            .iter()
            .find(|a| a["originator"] == originator)
            .cloned()
            .ok_or_else(|| format!("active {alarm_type} alarms: {}", Value::from(active))))
    })
}

/// The community's messages of `topic`, newest first, once there are `count`.
pub fn await_messages(c: &Community, topic: &str, count: usize) -> Result<Vec<Value>> {
    poll(&format!("{count} {topic} message(s)"), || {
        let listed = c
            .committee
            .get(&c.path(&format!("/notifications?topic={topic}")))?;
        let messages = listed["notifications"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        Ok(if messages.len() >= count {
            Ok(messages)
        } else {
            Err(format!("{} so far", messages.len()))
        })
    })
}

/// Waits until `person`'s inbox holds an item of `topic` matching `wanted`.
pub fn await_inbox(
    person: &Api,
    who: &str,
    topic: &str,
    wanted: impl Fn(&Value) -> bool,
) -> Result<Value> {
    poll(&format!("a {topic} message in {who}'s inbox"), || {
        let inbox = person.get("/api/v1/me/inbox")?;
        let items = inbox["items"].as_array().cloned().unwrap_or_default();
        Ok(items
            .iter()
            .find(|item| item["topic"] == topic && wanted(item))
            .cloned()
            .ok_or_else(|| format!("{} items, none of them it", items.len())))
    })
}

/// The people a message reached at its first step, in order.
pub fn first_recipients(c: &Community, message: &Value) -> Result<Vec<String>> {
    let detail = c
        .committee
        .get(&c.path(&format!("/notifications/{}", text(&message["id"]))))?;
    let mut people: Vec<String> = detail["deliveries"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|d| d["step"] == 0)
        .filter_map(|d| d["person"].as_str().map(str::to_owned))
        .collect();
    people.dedup();
    Ok(people)
}

/// A message's `data`, whether it came as an object or as JSON text.
pub fn data(message: &Value) -> Value {
    match &message["data"] {
        Value::String(text) => serde_json::from_str(text).unwrap_or(Value::Null),
        other => other.clone(),
    }
}

/// Prints messages, oldest first: how many they reached, and what they say.
pub fn show(messages: &[Value], with_body: bool) {
    for message in messages.iter().rev() {
        let ack = if message["require_ack"] == true {
            ", must acknowledge"
        } else {
            ""
        };
        let body = if with_body {
            text(&message["body"])
        } else {
            ""
        };
        say(&format!(
            "  → to {} people ({}{ack}): \"{}\" {body}",
            message["recipients"],
            text(&message["severity"]),
            text(&message["title"])
        ));
    }
}

pub fn offered(request: &Value) -> Vec<String> {
    request["offers"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|o| o["person"].as_str().map(str::to_owned))
        .collect()
}

/// Writes `receipt` to `file` and checks it offline with `linli ledger
/// verify` against the host's key; returns what the verifier said.
pub fn verify_offline(c: &Community, linli: &Path, file: &Path, receipt: &Value) -> Result<String> {
    std::fs::write(file, serde_json::to_vec_pretty(receipt)?)?;
    let key = c.committee.get("/api/v1/ledger/public-key")?;
    let verified = Command::new(linli)
        .args(["ledger", "verify"])
        .arg(file)
        .args(["--key", text(&key["public_key"])])
        .output()
        .context("running linli ledger verify")?;
    if !verified.status.success() {
        bail!(
            "linli ledger verify refused the receipt: {}",
            String::from_utf8_lossy(&verified.stderr)
        );
    }
    Ok(String::from_utf8_lossy(&verified.stdout).trim().to_owned())
}
