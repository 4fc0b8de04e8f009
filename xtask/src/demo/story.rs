//! The scripted story, told over the HTTP API as residents, staff and
//! devices would: the time bank, a wearable's alarm, a fire, a hydrant.
//! Each chapter waits for the plugins by polling the API (at most
//! [`PATIENCE`](super::api::PATIENCE)), never by sleeping.

use std::path::Path;

use anyhow::{anyhow, bail, Context, Result};
use serde_json::{json, Value};

use super::api::{poll, Api};
use super::community::{Community, ELDER, FIRE};
use super::observe::{
    active_alarms, await_alarm, await_inbox, await_messages, clock, data, first_recipients, now_ms,
    offered, say, show, text, verify_offline, HOUR, MINUTE,
};

/// Liu Ping, born 1945, lives alone in b3-104.
const ELDER_PERSON: &str = "person-003";
/// Her son, living in b1-501.
const SON: &str = "person-038";
/// A volunteer one floor up, in b3-204.
const HELPER: &str = "person-126";
/// Li Hong, who lives alone in b4-104.
const NEIGHBOUR: &str = "person-004";
/// Property staff: the community-wide supervisor, and the staff of buildings 3 and 4.
const SUPERVISOR: &str = "person-216";
const BUILDING_STAFF: &str = "person-217";

/// What the story leaves behind for the reader to look at.
pub struct Told {
    /// The son's token, for his inbox.
    pub son: Api,
    /// The ledger entry of the service payment.
    pub receipt_index: u64,
    /// The request nobody has answered yet.
    pub open_request: String,
    /// The message telling building 3's residents of the fire.
    pub fire_message: String,
}

pub fn tell(c: &mut Community, linli: &Path, demo_dir: &Path) -> Result<Told> {
    let (son, receipt_index, open_request) = chapter(
        "1",
        "The time bank: an hour of shopping, paid in time coins",
        || time_bank(c, linli, demo_dir),
    )?;
    chapter("2", "A watch that notices a racing heart", || {
        safety(c, &son)
    })?;
    let fire_message = chapter("3", "Smoke on the second floor of building 3", || fire(c))?;
    chapter("4", "A hydrant losing pressure", || water(c))?;
    chapter(
        "5",
        "Parking: an office space at night, and a fire lane",
        || super::parking::tell(c),
    )?;
    chapter("6", "The owners of building 3 vote", || {
        super::voting::tell(c, linli, demo_dir)
    })?;
    Ok(Told {
        son,
        receipt_index,
        open_request,
        fire_message,
    })
}

/// Prints a chapter's title and names it in any error it ends with.
fn chapter<T>(number: &str, title: &str, body: impl FnOnce() -> Result<T>) -> Result<T> {
    println!();
    println!("── {number}. {title}");
    body().with_context(|| format!("demo step {number} ({title}) failed"))
}

fn time_bank(c: &Community, linli: &Path, demo_dir: &Path) -> Result<(Api, u64, String)> {
    let map = &c.map;
    let helper = c.person(HELPER)?;
    c.command(&helper, ELDER, "join", json!({"skills": ["shopping"]}))?;
    say(&format!(
        "{}, a volunteer ({} on the map), joins the time bank from her phone and adds shopping.",
        map.who_home(HELPER),
        map.skills(HELPER).join(", ")
    ));
    let volunteers: Vec<String> = map
        .holders("volunteer")
        .into_iter()
        .filter(|v| v != HELPER)
        .collect();
    for volunteer in &volunteers {
        c.command(&c.committee, ELDER, "join", json!({"for": volunteer}))?;
    }
    let allowance = c.command(&helper, ELDER, "balance", json!({}))?["balance"].clone();
    say(&format!(
        "The residents' committee enrols the map's other {} volunteers. Every member starts with {allowance} time coins (minutes) from the community pool.",
        volunteers.len()
    ));

    let son = c.person(SON)?;
    c.command(&son, ELDER, "join", json!({"for": ELDER_PERSON}))?;
    let now = now_ms();
    let (start, end) = (now + HOUR, now + 4 * HOUR);
    let filed = c.command(
        &son,
        ELDER,
        "request",
        json!({"for": ELDER_PERSON, "need": "shopping", "start": start, "end": end, "minutes": 60,
               "note": "Rice, eggs and greens from the market.", "key": "weekly-shop"}),
    )?;
    let id = text(&filed["id"]).to_owned();
    say(&format!(
        "Her son {} joins his mother {}, who lives alone, and files request {id} for her: an hour of shopping between {} and {}.",
        map.who_home(SON),
        map.who_home(ELDER_PERSON),
        clock(start),
        clock(end)
    ));
    let offers = offered(&filed);
    if offers.first().map(String::as_str) != Some(HELPER) {
        bail!("expected the request to be offered to {HELPER} first, the nearest shopper; it was offered to {offers:?}");
    }
    say(&format!(
        "elder-care offers it to the nearest member who shops and is free then: {}.",
        map.who_home(HELPER)
    ));
    let offer = await_inbox(&helper, HELPER, "timebank-offer", |item| {
        item["data"]["request"] == id.as_str()
    })?;
    say(&format!(
        "Her inbox: \"{}\" {}",
        text(&offer["title"]),
        text(&offer["body"])
    ));

    for step in ["accept", "start", "complete"] {
        c.command(&helper, ELDER, step, json!({"request": id}))?;
    }
    let confirmed = c.command(&son, ELDER, "confirm", json!({"request": id, "rating": 5}))?;
    let balance = |person: &str| -> Result<Value> {
        Ok(c.command(&c.committee, ELDER, "balance", json!({"for": person}))?["balance"].clone())
    };
    say(&format!(
        "She accepts, goes shopping and marks it complete; her son confirms it ({}, rating 5). 60 coins move: {} now has {}, {} has {}.",
        text(&confirmed["request"]["status"]),
        map.who(ELDER_PERSON),
        balance(ELDER_PERSON)?,
        map.who(HELPER),
        balance(HELPER)?
    ));

    let receipt = c.command(&son, ELDER, "receipt", json!({"request": id}))?;
    let index = receipt["index"]
        .as_u64()
        .ok_or_else(|| anyhow!("no ledger index in the receipt answer {receipt}"))?;
    let elder = c.person(ELDER_PERSON)?;
    let full = elder.get(&c.path(&format!("/ledger/entries/{index}/receipt")))?;
    let verified = verify_offline(c, linli, &demo_dir.join("receipt.json"), &full)?;
    say(&format!(
        "The payment is ledger entry {index} (leaf {}), with the service record as evidence. Liu Ping's own token fetches its receipt (target/demo/receipt.json), and `linli ledger verify` checks it offline: {verified}",
        text(&receipt["leaf-hash"]),
    ));

    let neighbour = c.person(NEIGHBOUR)?;
    c.command(&neighbour, ELDER, "join", json!({}))?;
    let chat = c.command(
        &neighbour,
        ELDER,
        "request",
        json!({"need": "chatting", "start": now + 2 * HOUR, "end": now + 6 * HOUR, "minutes": 45,
               "note": "A cup of tea and a chat."}),
    )?;
    let open = text(&chat["id"]).to_owned();
    say(&format!(
        "{} joins too and asks for someone to chat with, some time in the next few hours ({open}); it is offered to {}. Nobody answers: every minute (offer-timeout-minutes = 1 in the demo) the offer widens to one more volunteer, up to three; the status line below follows it.",
        map.who_home(NEIGHBOUR),
        offered(&chat)
            .iter()
            .map(|p| map.who_home(p))
            .collect::<Vec<_>>()
            .join(", ")
    ));
    Ok((son, index, open))
}

fn safety(c: &mut Community, son: &Api) -> Result<()> {
    c.register_worn(
        "watch-003",
        &["heart-rate", "fall", "sos", "steps"],
        ELDER_PERSON,
    )?;
    c.consent(
        son,
        ELDER_PERSON,
        "health-monitoring",
        "我同意社区养老服务读取我母亲手表的心率、跌倒和步数数据，用于异常时通知家属、社区医生和志愿者。",
    )?;
    c.consent(
        son,
        ELDER_PERSON,
        "presence-checks",
        "我同意社区养老服务读取家中门磁数据，超过一天无活动时上门探望。",
    )?;
    c.command(
        son,
        ELDER,
        "register-wearable",
        json!({"device": "watch-003", "person": ELDER_PERSON}),
    )?;
    c.register("door-b3-104", "door-sensor", &["door"], Some("b3-104"))?;
    c.command(
        &c.committee,
        ELDER,
        "care-profile",
        json!({"person": ELDER_PERSON, "lives-alone": true}),
    )?;
    c.send("door-b3-104", &[("door", json!(true), None)])?;
    let care = poll("the door to count as Liu Ping's activity", || {
        let care = c.command(&c.committee, ELDER, "care", json!({"person": ELDER_PERSON}))?;
        Ok(if care["last-activity"].is_i64() {
            Ok(care)
        } else {
            Err(care.to_string())
        })
    })?;
    say(&format!(
        "Her son registers her new watch (watch-003) to her and, as her guardian, consents to health monitoring and presence checks (the host gives no scene her heart rate or her front door without it); the committee marks her as living alone, and the door sensor of b3-104 reports her front door opening at {}. A day without any activity at home would send a welfare check.",
        clock(care["last-activity"].as_i64().unwrap_or_default())
    ));

    let now = now_ms();
    let readings: Vec<(&str, Value, Option<i64>)> = [(128, 3), (141, 2), (152, 1), (149, 0)]
        .into_iter()
        .map(|(bpm, minutes_ago)| ("heart-rate", json!(bpm), Some(now - minutes_ago * MINUTE)))
        .collect();
    c.send("watch-003", &readings)?;
    say("The watch uploads its last three minutes: 128, 141, 152 and 149 bpm, above her limit of 120 the whole time.");
    let alarm = await_alarm(c, "heart-rate-high", ELDER_PERSON)?;
    let message = await_messages(c, "heart-rate", 1)?.remove(0);
    say(&format!(
        "elder-care raises {} ({}) and sends one alert that must be acknowledged: \"{}\" {}",
        text(&alarm["alarm_type"]),
        text(&alarm["severity"]),
        text(&message["title"]),
        text(&message["body"])
    ));
    let told: Vec<String> = first_recipients(c, &message)?
        .iter()
        .map(|p| format!("{} [{}]", c.map.who(p), c.map.relation(p, ELDER_PERSON)))
        .collect();
    say(&format!(
        "Told at once: {}. Unacknowledged, it goes to the grid worker after 5 minutes, then to security.",
        told.join(", ")
    ));

    let item = await_inbox(son, SON, "heart-rate", |_| true)?;
    say(&format!(
        "Her son's inbox (GET /api/v1/me/inbox with his own token): [{}] \"{}\" ({}).",
        text(&item["severity"]),
        text(&item["title"]),
        text(&item["state"])
    ));
    son.post(
        &format!("/api/v1/me/inbox/{}/ack", text(&item["message_id"])),
        json!({}),
    )?;
    let acknowledged = poll("elder-care to acknowledge the heart-rate alarm", || {
        let alarm = c
            .committee
            .get(&c.path(&format!("/alarms/{}", text(&alarm["id"]))))?;
        Ok(if alarm["acknowledged"] == true {
            Ok(alarm)
        } else {
            Err(alarm.to_string())
        })
    })?;
    say(&format!(
        "He acknowledges it in his inbox: the host stops the escalation, and {} acknowledges the alarm in turn. The alarm stays active until her heart rate has been back in range for two minutes (the simulated feed below sees to that).",
        text(&acknowledged["acked_by"])
    ));
    Ok(())
}

/// Returns the id of the message to the building's residents.
fn fire(c: &mut Community) -> Result<String> {
    for unit in ["b3-201", "b3-202"] {
        c.register(
            &format!("smoke-{unit}"),
            "smoke-detector",
            &["smoke", "battery", "tamper"],
            Some(unit),
        )?;
    }
    c.send("smoke-b3-201", &[("smoke", json!(8.5), None)])?;
    say("The smoke detector of b3-201 reads 8.5 %/m obscuration (the threshold is 3).");
    let suspected = await_alarm(c, "fire-suspected", "smoke-b3-201")?;
    let messages = await_messages(c, "fire-suspected", 2)?;
    say(&format!(
        "fire-safety raises {} ({}); only the household and the staff are told:",
        text(&suspected["alarm_type"]),
        text(&suspected["severity"])
    ));
    show(&messages, false);

    c.send("smoke-b3-202", &[("smoke", json!(6.0), None)])?;
    say("Seconds later the detector next door, in b3-202, reads 6.0 %/m.");
    let confirmed = await_alarm(c, "fire-confirmed", "building-3")?;
    let messages = await_messages(c, "fire-confirmed", 2)?;
    say(&format!(
        "Two detectors on one floor within a minute: {} ({}) about building-3. The whole building is told, with the way out:",
        text(&confirmed["alarm_type"]),
        text(&confirmed["severity"])
    ));
    show(&messages, true);
    let to_residents = messages
        .iter()
        .find(|m| m["require_ack"] == false)
        .ok_or_else(|| {
            anyhow!(
                "no fire-confirmed message to the residents: {}",
                Value::from(messages.clone())
            )
        })?;
    let data = data(to_residents);
    say(&format!(
        "Both name the nearest exits and hydrants, found on the map; so does their data, for apps: exits[0] = {}, hydrants[0] = {}.",
        text(&data["exits"][0]["id"]),
        text(&data["hydrants"][0]["id"])
    ));
    Ok(text(&to_residents["id"]).to_owned())
}

fn water(c: &mut Community) -> Result<()> {
    c.register(
        "pressure-b3-west",
        "pressure-gauge",
        &["pressure"],
        Some("hydrant-b3-west"),
    )?;
    c.send("pressure-b3-west", &[("pressure", json!(320.0), None)])?;
    c.send("pressure-b3-west", &[("pressure", json!(60.0), None)])?;
    say("The gauge on hydrant-b3-west drops from 320 to 60 kPa (the minimum is 100).");
    let low = await_alarm(c, "hydrant-pressure-low", "pressure-b3-west")?;
    let order = poll("a work order for the hydrant", || {
        let open = c.command(&c.committee, FIRE, "work-orders", json!({}))?;
        let orders = open["work_orders"].as_array().cloned().unwrap_or_default();
        Ok(orders
            .into_iter()
            .find(|o| o["alarms"][0] == low["id"])
            .ok_or_else(|| open.to_string()))
    })?;
    let id = text(&order["id"]).to_owned();
    let told = await_messages(c, "water-supply", 1)?;
    say(&format!(
        "fire-safety raises hydrant-pressure-low and opens work order {id} for {} ({}, due by {}), telling {} staff: \"{}\".",
        text(&order["place"]),
        text(&order["severity"]),
        clock(order["deadline"].as_i64().unwrap_or_default()),
        told[0]["recipients"],
        text(&told[0]["title"])
    ));

    let supervisor = c.person(SUPERVISOR)?;
    let staff = c.person(BUILDING_STAFF)?;
    c.command(
        &supervisor,
        FIRE,
        "advance",
        json!({"id": id, "step": "dispatch", "to": BUILDING_STAFF}),
    )?;
    for step in ["accept", "on-site"] {
        c.command(&staff, FIRE, "advance", json!({"id": id, "step": step}))?;
    }
    c.send("pressure-b3-west", &[("pressure", json!(310.0), None)])?;
    poll("the hydrant alarm to clear", || {
        let active = active_alarms(c, "hydrant-pressure-low")?;
        Ok(if active.is_empty() {
            Ok(())
        } else {
            Err(Value::from(active).to_string())
        })
    })?;
    let order = c.command(&c.committee, FIRE, "work-order", json!({"id": id}))?;
    let history: Vec<String> = order["history"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|line| format!("{} by {}", text(&line["what"]), text(&line["by"])))
        .collect();
    say(&format!(
        "The supervisor {} dispatches it to {}, who accepts and goes on site; she reopens a valve and the gauge reads 310 kPa: the alarm clears, and the order stays open until it is resolved, reviewed and closed. Its history so far, each line also a record on the ledger: {}.",
        c.map.who(SUPERVISOR),
        c.map.who(BUILDING_STAFF),
        history.join(" → ")
    ));
    Ok(())
}
