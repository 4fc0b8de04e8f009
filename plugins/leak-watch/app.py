"""leak-watch: water leaks in homes, a linli scene written in Python.

A `leak` reading that turns wet raises a `water-leak` alarm for its device
and tells the residents of the place the device is in; the message asks to
be acknowledged and goes on to the property staff of that place if nobody
acknowledges within `escalate-after-minutes`. More wet readings while the
alarm is active only count on it (the host deduplicates by device and
type). A dry reading clears the alarm and tells the household it is over.

Nothing is kept in memory between calls: the host may start a fresh
instance for any of them, so the alarm itself is the scene's record of an
ongoing leak, and the per-device counts live in the store when it was
granted. A handler that raises `Err` leaves no effect behind.
"""

import json

from componentize_py_types import Err
import wit_world
from wit_world.imports import alarm, grants, log, notify, store, types
from wit_world.imports.events import (
    Event_Lifecycle,
    Event_NotificationAcknowledged,
    Event_PersonErased,
    Event_Reading,
)
from wit_world.imports.map import CommunityRole, Relation_Resident, Relation_Role
from wit_world.imports.sensor import Value_Flag

ALARM_TYPE = "water-leak"
TOPIC = "water-leak"
COUNT_PREFIX = "leaks/"
SEVERITIES = {
    "critical": types.Severity.CRITICAL,
    "major": types.Severity.MAJOR,
    "minor": types.Severity.MINOR,
}
DEFAULTS = {"severity": "major", "escalate-after-minutes": 15}

# The installation's config, parsed once per instance by `init`.
config = dict(DEFAULTS)


def invalid(reason):
    """The error a command gets for input it cannot use."""
    return Err(types.Error_Invalid(reason))


def residents_of(place):
    return notify.Audience_Related(notify.Related(Relation_Resident(), place))


def staff_of(place):
    role = Relation_Role(CommunityRole.PROPERTY_STAFF)
    return notify.Audience_Related(notify.Related(role, place))


def count_leak(device):
    """Counts a new leak of `device`, when the store was granted."""
    if not grants.granted().store:
        return
    key = COUNT_PREFIX + device
    stored = store.get(key)
    count = json.loads(stored) if stored is not None else 0
    store.set(key, json.dumps(count + 1).encode())


def leak_counts():
    if not grants.granted().store:
        return None
    counts = {}
    for key in store.list_keys(COUNT_PREFIX, None, 1000):
        counts[key[len(COUNT_PREFIX):]] = json.loads(store.get(key) or b"0")
    return counts


def tell_household(reading, severity, title, body, key, escalation):
    """Tells the residents of the reading's place; with `escalation`, asks
    them to acknowledge and goes on to those steps until someone does."""
    notify.send(notify.Message(
        audience=[residents_of(reading.location)],
        severity=severity,
        topic=TOPIC,
        title=title,
        body=body,
        data=json.dumps({"device": reading.device, "place": reading.location}),
        idempotency_key=key,
        require_ack=escalation is not None,
        escalation=escalation or [],
    ))


def wet(reading):
    already = alarm.active(reading.device, ALARM_TYPE)
    details = json.dumps({"place": reading.location, "since": reading.at})
    alarm.raise_(reading.device, ALARM_TYPE, SEVERITIES[config["severity"]], details)
    if already is not None:
        return
    count_leak(reading.device)
    if reading.location is None:
        log.write(log.Level.WARN, "a leak sensor that is on no place is wet; nobody to tell",
                  [("device", reading.device)])
        return
    escalation = [notify.EscalationStep(
        config["escalate-after-minutes"] * 60_000, [staff_of(reading.location)])]
    tell_household(reading, SEVERITIES[config["severity"]], "Water leak at home",
                   f"The leak sensor {reading.device} is wet. Turn off the water supply and check the floor.",
                   f"leak:{reading.device}:{reading.at}", escalation)


def dry(reading):
    cleared = alarm.clear(reading.device, ALARM_TYPE)
    if cleared is None or reading.location is None:
        return
    tell_household(reading, types.Severity.INFO, "Leak over",
                   f"The leak sensor {reading.device} is dry again.",
                   f"dry:{reading.device}:{reading.at}", None)


def status():
    """`{"active": [{"device", "place", "since", "readings", "acknowledged"}], "leaks": {...}}`."""
    active = []
    for info in alarm.list_active(ALARM_TYPE, 1000):
        details = json.loads(info.details or "{}")
        active.append({
            "device": info.originator,
            "place": details.get("place"),
            "since": info.first_seen,
            "readings": info.count,
            "acknowledged": info.acknowledged,
        })
    return {"active": active, "leaks": leak_counts()}


class WitWorld(wit_world.WitWorld):
    def init(self, text):
        parsed = json.loads(text)
        if not isinstance(parsed, dict):
            raise Err(types.Error_Invalid("config: must be an object"))
        config.clear()
        config.update(DEFAULTS)
        config.update(parsed)

    def on_event(self, event):
        if isinstance(event, Event_Reading):
            reading = event.value
            if reading.kind != "leak" or not isinstance(reading.value, Value_Flag):
                return
            if reading.value.value:
                wet(reading)
            else:
                dry(reading)
        elif isinstance(event, Event_NotificationAcknowledged):
            log.write(log.Level.INFO, "a leak alert was acknowledged",
                      [("message", event.value.id), ("by", event.value.by)])
        elif isinstance(event, Event_Lifecycle):
            log.write(log.Level.INFO, "leak-watch is watching", [("severity", config["severity"])])
        elif isinstance(event, Event_PersonErased):
            # Its counts are per device and its alarms per device: nothing
            # it keeps is about a person.
            pass

    def on_command(self, caller, name, text):
        if name == "status":
            return json.dumps(status())
        raise invalid(f"unknown command: {name}")
