//! Safety alarms: a sustained heart rate out of range, a fall, an SOS press
//! (from a registered wearable), and welfare checks (raised by `welfare`).
//!
//! Each danger raises an alarm whose originator is the person, and sends
//! one alert that waits for an acknowledgement and escalates:
//!
//! | danger | told at once | then, every `escalate-after-minutes` |
//! |---|---|---|
//! | heart rate, fall, SOS | family, the community doctor for their home, the nearest available volunteer | the grid worker for their home; then security |
//! | welfare check | family, the grid worker for their home | security |
//!
//! The first acknowledgement ends the escalation, wherever it is made: a
//! recipient acknowledging the message (the host stops the escalation and
//! the plugin acknowledges the alarm), or someone acknowledging the alarm
//! (the plugin cancels the message). A fall or an SOS latches: its alarm
//! stays active until that acknowledgement, then the plugin clears it. A
//! heart-rate alarm stays active until the rate is back in range (sustained
//! as for raising); a welfare check until there is activity at home.
//!
//! Store: `heart/<person>` → [`Streak`]; `alert/<alarm-id>` → [`Alert`].

use linli_sdk::alarm::{self, AlarmChange, ChangeKind};
use linli_sdk::audience::{self, family_of, role};
use linli_sdk::map::CommunityRole;
use linli_sdk::notify::Acknowledgement;
use linli_sdk::{personal, state, timer, Error, Purpose, Reading, Severity, Value};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value as Json};

use crate::config::Config;
use crate::heart::{Band, Streak};
use crate::notices;
use crate::volunteers::{self, Work};
use crate::{care, people};

const ALERT: &str = "alert/";
const HEART: &str = "heart/";
/// How long the nearest volunteer must be free to be called.
const CALL_OUT_MINUTES: i64 = 30;

/// What can be wrong.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Danger {
    HeartRateHigh,
    HeartRateLow,
    Fall,
    Sos,
    Welfare,
}

impl Danger {
    const ALL: [Danger; 5] = [
        Self::HeartRateHigh,
        Self::HeartRateLow,
        Self::Fall,
        Self::Sos,
        Self::Welfare,
    ];

    pub fn alarm_type(self) -> &'static str {
        match self {
            Self::HeartRateHigh => "heart-rate-high",
            Self::HeartRateLow => "heart-rate-low",
            Self::Fall => "fall",
            Self::Sos => "sos",
            Self::Welfare => "welfare-check",
        }
    }

    fn of_alarm_type(alarm_type: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|d| d.alarm_type() == alarm_type)
    }

    fn topic(self) -> &'static str {
        match self {
            Self::HeartRateHigh | Self::HeartRateLow => "heart-rate",
            other => other.alarm_type(),
        }
    }

    fn severity(self) -> Severity {
        match self {
            Self::Fall | Self::Sos => Severity::Critical,
            Self::HeartRateHigh | Self::HeartRateLow | Self::Welfare => Severity::Major,
        }
    }

    /// Whether the alarm stays until acknowledged, whatever the device says next.
    fn latches(self) -> bool {
        matches!(self, Self::Fall | Self::Sos)
    }

    fn describe(self, name: &str) -> (String, String) {
        let (title, what) = match self {
            Self::HeartRateHigh => (
                "High heart rate",
                "has had a high heart rate for several minutes",
            ),
            Self::HeartRateLow => (
                "Low heart rate",
                "has had a low heart rate for several minutes",
            ),
            Self::Fall => ("Fall detected", "may have fallen"),
            Self::Sos => ("SOS", "pressed the SOS button"),
            Self::Welfare => (
                "Welfare check",
                "has shown no activity at home for a long time",
            ),
        };
        (
            format!("{title}: {name}"),
            format!("{name} {what}. Please check on them and acknowledge this message."),
        )
    }

    fn of_band(band: Band) -> Option<Self> {
        match band {
            Band::High => Some(Self::HeartRateHigh),
            Band::Low => Some(Self::HeartRateLow),
            Band::Normal => None,
        }
    }
}

/// An alarm the plugin raised and the alert it sent about it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct Alert {
    pub alarm: String,
    pub person: String,
    pub alarm_type: String,
    /// The notify message id.
    pub message: String,
    #[serde(default)]
    pub acknowledged: bool,
}

fn alert_key(alarm: &str) -> String {
    format!("{ALERT}{alarm}")
}

/// Readings from wearables: heart rate, fall, SOS.
pub fn on_reading(config: &Config, reading: &Reading) -> Result<(), Error> {
    if !matches!(reading.kind.as_str(), "heart-rate" | "fall" | "sos") {
        return Ok(());
    }
    let Some(person) = care::wearer(&reading.device)? else {
        return Ok(());
    };
    let details = json!({"device": reading.device, "at": reading.at});
    match (reading.kind.as_str(), &reading.value) {
        ("heart-rate", Value::Number(bpm)) => heart_rate(config, &person, *bpm, reading),
        ("fall", Value::Flag(true)) => raise(config, &person, Danger::Fall, details),
        ("sos", Value::Flag(true)) => raise(config, &person, Danger::Sos, details),
        _ => Ok(()),
    }
}

fn heart_rate(config: &Config, person: &str, bpm: f64, reading: &Reading) -> Result<(), Error> {
    let limits = care::profile(person)?.thresholds(config);
    let key = format!("{HEART}{person}");
    let mut streak: Streak = state::get(&key)?.unwrap_or_default();
    let verdict = streak.observe(bpm, reading.at, &limits);
    state::put(&key, &streak)?;
    if let Some(danger) = verdict.clear.and_then(Danger::of_band) {
        resolve(person, danger)?;
    }
    if let Some(danger) = verdict.raise.and_then(Danger::of_band) {
        let details = json!({
            "device": reading.device, "at": reading.at, "bpm": bpm,
            "low-bpm": limits.low_bpm, "high-bpm": limits.high_bpm,
        });
        raise(config, person, danger, details)?;
    }
    Ok(())
}

/// Raises the alarm for `danger` and, the first time for this alarm, sends its alert.
pub fn raise(config: &Config, person: &str, danger: Danger, details: Json) -> Result<(), Error> {
    let raised = alarm::raise(
        person,
        danger.alarm_type(),
        danger.severity(),
        &details.to_string(),
    )?;
    let key = alert_key(&raised.id);
    if state::get::<Alert>(&key)?.is_some() {
        return Ok(());
    }
    // Someone since removed from the map still gets their alarm, to staff.
    let on_map = match people::person(person) {
        Ok(found) => Some(found),
        Err(Error::NotFound(_)) => None,
        Err(other) => return Err(other),
    };
    let name = on_map.as_ref().map_or(person, |p| p.name.as_str());
    let household = on_map.as_ref().and_then(people::household);
    // The host resolves the roles for their home; the message itself names
    // it only with their consent, since the nearest volunteer reads it too.
    let home = household.as_deref();
    let shared_household = on_map
        .as_ref()
        .filter(|p| p.consents_to(Purpose::LocationSharing))
        .and(household.as_deref());
    let (first, then) = match danger {
        Danger::Welfare => (
            vec![family_of(person), role(CommunityRole::GridWorker, home)],
            vec![vec![role(CommunityRole::Security, None)]],
        ),
        _ => {
            let mut first = vec![
                family_of(person),
                role(CommunityRole::CommunityDoctor, home),
            ];
            if on_map.is_some() {
                first.extend(nearest_volunteer(config, person)?.map(|v| audience::person(&v)));
            }
            (
                first,
                vec![
                    vec![role(CommunityRole::GridWorker, home)],
                    vec![role(CommunityRole::Security, None)],
                ],
            )
        }
    };
    let (title, body) = danger.describe(name);
    let sent = notices::alert(notices::Alert {
        topic: danger.topic(),
        severity: danger.severity(),
        title,
        body,
        data: json!({"alarm": raised.id, "type": danger.alarm_type(), "person": person,
                     "household": shared_household, "details": details}),
        key: key.clone(),
        first,
        then,
        every_ms: config.escalate_after_ms(),
    })?;
    state::put(
        &key,
        &Alert {
            alarm: raised.id,
            person: person.to_owned(),
            alarm_type: danger.alarm_type().to_owned(),
            message: sent.id,
            acknowledged: false,
        },
    )
}

/// The time-bank volunteer nearest to the person's home who is free now.
fn nearest_volunteer(config: &Config, person: &str) -> Result<Option<String>, Error> {
    let now = timer::now();
    let work = Work {
        near: person,
        need: None,
        start: now,
        end: now + CALL_OUT_MINUTES * 60_000,
        minutes: CALL_OUT_MINUTES,
    };
    Ok(volunteers::ranked(config, &work, &[])?
        .into_iter()
        .next()
        .map(|c| c.person))
}

/// The danger is over: clears its alarm and stops its alert.
pub fn resolve(person: &str, danger: Danger) -> Result<(), Error> {
    if let Some(cleared) = alarm::clear(person, danger.alarm_type())? {
        let key = alert_key(&cleared.id);
        if let Some(alert) = state::get::<Alert>(&key)? {
            notices::stop(&alert.message)?;
            state::delete(&key)?;
        }
    }
    Ok(())
}

/// Someone acknowledged an alert message: the host has stopped its
/// escalation; the alarm is acknowledged to match.
pub fn on_acknowledged(ack: &Acknowledgement) -> Result<(), Error> {
    let Some(alarm) = ack.idempotency_key.strip_prefix(ALERT) else {
        return Ok(());
    };
    let Some(alert) = state::get::<Alert>(&alert_key(alarm))? else {
        return Ok(());
    };
    match alarm::acknowledge(alarm) {
        // Cleared and gone meanwhile: there is nothing left to acknowledge.
        Ok(_) | Err(Error::NotFound(_)) => settle(alert),
        Err(other) => Err(other),
    }
}

/// Someone else changed one of the plugin's alarms.
pub fn on_alarm_changed(change: &AlarmChange) -> Result<(), Error> {
    let key = alert_key(&change.alarm.id);
    let Some(alert) = state::get::<Alert>(&key)? else {
        return Ok(());
    };
    match change.change {
        ChangeKind::Acknowledged => {
            notices::stop(&alert.message)?;
            settle(alert)
        }
        ChangeKind::Cleared => {
            notices::stop(&alert.message)?;
            state::delete(&key).map(drop)
        }
        ChangeKind::Raised | ChangeKind::Updated => Ok(()),
    }
}

/// After the first acknowledgement: a latched alarm is cleared, others are
/// marked acknowledged and wait for their danger to pass.
fn settle(mut alert: Alert) -> Result<(), Error> {
    let key = alert_key(&alert.alarm);
    if Danger::of_alarm_type(&alert.alarm_type).is_some_and(Danger::latches) {
        alarm::clear(&alert.person, &alert.alarm_type)?;
        state::delete(&key).map(drop)
    } else {
        alert.acknowledged = true;
        state::put(&key, &alert)
    }
}

/// The community erased `person`: their alerts stop escalating, their
/// alarms clear and the alert records go. (Their heart-rate run,
/// `heart/<person>`, the host has deleted already.)
pub fn forget(person: &str) -> Result<(), Error> {
    for (_, alert) in personal::forget_where(ALERT, |_, alert: &Alert| alert.person == person)? {
        notices::stop(&alert.message)?;
    }
    for danger in Danger::ALL {
        alarm::clear(person, danger.alarm_type())?;
    }
    Ok(())
}

/// A person's open alerts.
pub fn alerts_of(person: &str) -> Result<Vec<Alert>, Error> {
    let mut alerts = Vec::new();
    for key in state::keys(ALERT)? {
        if let Some(alert) = state::get::<Alert>(&key)?.filter(|a| a.person == person) {
            alerts.push(alert);
        }
    }
    Ok(alerts)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_danger_has_its_own_alarm_type_and_only_falls_and_sos_latch() {
        for danger in Danger::ALL {
            assert_eq!(Danger::of_alarm_type(danger.alarm_type()), Some(danger));
        }
        let latched: Vec<Danger> = Danger::ALL.into_iter().filter(|d| d.latches()).collect();
        assert_eq!(latched, [Danger::Fall, Danger::Sos]);
        assert_eq!(Danger::HeartRateLow.topic(), "heart-rate");
    }
}
