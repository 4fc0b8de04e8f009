//! Detector readings to fire alarms. One detector over its threshold is a
//! suspected fire, told to the unit's household and the staff; a
//! confirmation (see [`crate::confirm`]) makes it a confirmed fire, told to
//! every resident of the building, the staff, security and the grid worker,
//! with the nearest exits and hydrants named. Each reading reads the
//! device's entry and its building's suspicions (`suspicions/<area>`), and
//! writes them only when they changed.

use linli_sdk::map::{self, CommunityRole, Origin, PlaceDistance};
use linli_sdk::{audience, state, Error, Reading, Severity, Value};
use serde_json::{json, Value as Json};

use crate::alarms;
use crate::config::Config;
use crate::confirm::{Confirmation, Suspicions, Trigger, Zone};
use crate::detect;
use crate::devices::DeviceState;
use crate::notices::{self, Notice};
use crate::{placement, work_orders};

pub const SUSPECTED: &str = "fire-suspected";
pub const CONFIRMED: &str = "fire-confirmed";
const SUSPICIONS: &str = "suspicions/";
/// How many exits and hydrants a confirmed fire's messages name.
const NAMED: usize = 2;

fn suspicions_key(area: &str) -> String {
    format!("{SUSPICIONS}{area}")
}

/// Handles one detector reading.
pub fn on_reading(
    config: &Config,
    reading: &Reading,
    device: &mut DeviceState,
) -> Result<(), Error> {
    let signals = detect::signals(
        config,
        &reading.kind,
        &reading.value,
        reading.at,
        &mut device.trend,
    );
    if signals.is_empty() {
        device.over.remove(&reading.kind);
        if device.over.is_empty() {
            // Back to normal: the next alarm of this detector is heard at once.
            device.raised.remove(SUSPECTED);
            device.muted = false;
        }
        return Ok(());
    }
    device.over.insert(reading.kind.clone());
    if device.muted {
        return Ok(());
    }
    let window = config.confirmation_window_ms;
    let zone = device.placement.zone.clone();
    let key = suspicions_key(&zone.area);
    let mut suspicions: Suspicions = state::get(&key)?.unwrap_or_default();
    let before = suspicions.clone();
    let triggers: Vec<Trigger> = signals
        .into_iter()
        .map(|signal| Trigger {
            device: reading.device.clone(),
            signal,
            at: reading.at,
            zone: zone.clone(),
            place: device.placement.place.clone(),
        })
        .collect();
    for trigger in &triggers {
        suspicions.record(trigger.clone(), window);
    }
    let latest = triggers.last().expect("at least one signal");
    match suspicions.confirmation(latest, window) {
        Some(confirmation) => {
            if alarms::due(suspicions.confirmed_at, reading.at) {
                confirmed(config, &zone, &confirmation)?;
                suspicions.confirmed_at = Some(reading.at);
            }
        }
        // A fire already confirmed in the building has told everyone there.
        None if suspicions.confirmed_at.is_some() => {}
        None => suspected(config, reading, device)?,
    }
    if suspicions != before {
        state::put(&key, &suspicions)?;
    }
    Ok(())
}

/// The area's confirmed fire was cleared: its evidence goes with it.
pub fn forget_area(area: &str) -> Result<(), Error> {
    state::delete(&suspicions_key(area))?;
    Ok(())
}

fn value_json(value: &Value) -> Json {
    match value {
        Value::Number(number) => json!(number),
        Value::Flag(flag) => json!(flag),
        Value::Text(text) => json!(text),
    }
}

/// What a detector of `kind` detects, for people.
fn detects(kind: &str) -> &'static str {
    match kind {
        "smoke" | "smoke-alarm" => "smoke",
        "temperature" => "heat",
        "gas" => "combustible gas",
        "manual-call-point" => "a pressed manual call point",
        _ => "an alarm",
    }
}

/// Raises or refreshes the detector's suspected fire; tells people when it is new.
fn suspected(config: &Config, reading: &Reading, device: &mut DeviceState) -> Result<(), Error> {
    let placement = device.placement.clone();
    let details = json!({
        "kind": reading.kind,
        "value": value_json(&reading.value),
        "at": reading.at,
        "place": placement.place,
    });
    let Some(alarm) = alarms::hold(
        device,
        &reading.device,
        SUSPECTED,
        Severity::Major,
        &details,
        reading.at,
    )?
    else {
        return Ok(());
    };
    let (order, mut record) = alarms::opened(
        config,
        &alarm,
        placement.place.clone(),
        vec![reading.device.clone()],
    )?;
    let where_ = placement.name.as_deref().unwrap_or(&reading.device);
    let what = detects(&reading.kind);
    let data = json!({
        "alarm": alarm.id,
        "device": reading.device,
        "place": placement.place,
        "unit": placement.unit,
        "kind": reading.kind,
        "value": value_json(&reading.value),
    });
    if let Some(unit) = &placement.unit {
        let household = Notice {
            topic: SUSPECTED,
            severity: Severity::Major,
            title: format!("Possible fire: {where_}"),
            body: format!(
                "A detector in {where_} reports {what}. Check at once; if there is fire, \
                 leave and call 119. Property staff have been told."
            ),
            data: data.clone(),
            key: format!("{SUSPECTED}/{}/household", alarm.id),
        }
        .send(vec![audience::residents(unit)])?;
        record.messages.push(household);
    }
    let staff = Notice {
        topic: SUSPECTED,
        severity: Severity::Major,
        title: format!("Suspected fire: {where_}"),
        body: format!(
            "{} in {where_} reports {what}. Check on site and acknowledge; work order {} is due by {}.",
            reading.device,
            order.id,
            work_orders::due_by(config, &order)
        ),
        data,
        key: format!("{SUSPECTED}/{}/staff", alarm.id),
    }
    .alert_staff(
        config,
        &order.id,
        vec![notices::staff(config, placement.place.as_deref())],
    )?;
    record.messages.push(staff);
    alarms::save_record(&alarm.id, &record)
}

/// One place found nearby, for messages and their data.
fn found_json(found: &[PlaceDistance]) -> Json {
    json!(found
        .iter()
        .map(
            |f| json!({"id": f.place.id, "name": f.place.name, "distance_m": f.distance_m.round()})
        )
        .collect::<Vec<_>>())
}

fn found_text(found: &[PlaceDistance]) -> String {
    found
        .iter()
        .map(|f| format!("{} ({})", f.place.name, f.place.id))
        .collect::<Vec<_>>()
        .join(", or ")
}

/// How far from where a fire started its floor's exits are looked for: a
/// building's footprint, with room to spare.
const FLOOR_EXITS_WITHIN_M: f64 = 200.0;

/// The exits nearest to where the fire started: those of its floor when
/// the floor has any, else the nearest. Every floor's stair exit shares one
/// spot on the plan, so distance alone cannot tell floors apart and a tall
/// tower has more exits at that spot than a nearest-k search returns: the
/// floor's are picked out of every exit within reach.
fn nearest_exits(origin: &Trigger) -> Result<Vec<PlaceDistance>, Error> {
    let Some(place) = &origin.place else {
        return Ok(Vec::new());
    };
    let from = Origin::Place(place.clone());
    if origin.zone.floor.is_some() {
        let mut on_floor: Vec<PlaceDistance> =
            map::within_radius("exit", &from, FLOOR_EXITS_WITHIN_M)?
                .into_iter()
                .filter(|f| f.place.parent == origin.zone.floor)
                .collect();
        if !on_floor.is_empty() {
            on_floor.truncate(NAMED);
            return Ok(on_floor);
        }
    }
    map::nearest("exit", &from, NAMED as u32)
}

fn nearest_hydrants(origin: &Trigger) -> Result<Vec<PlaceDistance>, Error> {
    match &origin.place {
        Some(place) => map::nearest("hydrant", &Origin::Place(place.clone()), NAMED as u32),
        None => Ok(Vec::new()),
    }
}

/// Raises or refreshes the area's confirmed fire; tells everyone when it is new.
fn confirmed(config: &Config, zone: &Zone, confirmation: &Confirmation) -> Result<(), Error> {
    let origin = &confirmation.triggers[0];
    let mut detectors: Vec<String> = Vec::new();
    let mut floors: Vec<String> = Vec::new();
    for trigger in &confirmation.triggers {
        if !detectors.contains(&trigger.device) {
            detectors.push(trigger.device.clone());
        }
        if let Some(floor) = &trigger.zone.floor {
            if !floors.contains(floor) {
                floors.push(floor.clone());
            }
        }
    }
    let exits = nearest_exits(origin)?;
    let hydrants = nearest_hydrants(origin)?;
    let details = json!({
        "reason": confirmation.reason,
        "detectors": detectors,
        "floors": floors,
        "origin": origin.place,
        "exits": exits.iter().map(|f| &f.place.id).collect::<Vec<_>>(),
        "hydrants": hydrants.iter().map(|f| &f.place.id).collect::<Vec<_>>(),
    });
    let (alarm, new) = alarms::raise(&zone.area, CONFIRMED, Severity::Critical, &details)?;
    if !new {
        return Ok(());
    }
    let place = origin.place.clone().or_else(|| Some(zone.area.clone()));
    let (order, mut record) = alarms::opened(config, &alarm, place, detectors.clone())?;
    let area_name = placement::name_of(&zone.area)?;
    let where_ = match floors.first() {
        Some(floor) => placement::name_of(floor)?,
        None => area_name.clone(),
    };
    let reason = confirmation.reason.describe();
    let mut guidance = String::new();
    if !exits.is_empty() {
        guidance.push_str(&format!(" Nearest exit: {}.", found_text(&exits)));
    }
    if !hydrants.is_empty() {
        guidance.push_str(&format!(" Nearest hydrant: {}.", found_text(&hydrants)));
    }
    let data = json!({
        "alarm": alarm.id,
        "area": zone.area,
        "floors": floors,
        "reason": confirmation.reason,
        "detectors": detectors,
        "exits": found_json(&exits),
        "hydrants": found_json(&hydrants),
    });
    if zone.in_building {
        let residents = Notice {
            topic: CONFIRMED,
            severity: Severity::Critical,
            title: format!("FIRE in {area_name}: leave now"),
            body: format!(
                "Fire confirmed on {where_} ({reason}). Leave the building now by the stairs, \
                 not the lifts, and call 119.{guidance}"
            ),
            data: data.clone(),
            key: format!("{CONFIRMED}/{}/residents", alarm.id),
        }
        .send(vec![audience::residents(&zone.area)])?;
        record.messages.push(residents);
    }
    let staff = Notice {
        topic: CONFIRMED,
        severity: Severity::Critical,
        title: format!("FIRE confirmed: {where_}"),
        body: format!(
            "Fire confirmed on {where_} ({reason}; detectors {}). Start the evacuation, open the \
             gates for the fire brigade and acknowledge. Work order {}.{guidance}",
            detectors.join(", "),
            order.id
        ),
        data,
        key: format!("{CONFIRMED}/{}/staff", alarm.id),
    }
    .alert_staff(
        config,
        &order.id,
        vec![
            notices::staff(config, Some(&zone.area)),
            audience::role(CommunityRole::Security, None),
            audience::role(CommunityRole::GridWorker, Some(&zone.area)),
        ],
    )?;
    record.messages.push(staff);
    alarms::save_record(&alarm.id, &record)
}
