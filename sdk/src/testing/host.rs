//! [`SimulatedHost`]: one installation of a scene in a simulated community,
//! driven by a test as the host drives a real one, with every effect open
//! to assertions.

use std::cell::RefCell;
use std::marker::PhantomData;
use std::rc::Rc;
use std::time::Duration;

use serde::de::DeserializeOwned;
use serde_json::Value as Json;

use super::builder::Builder;
use super::consent;
use super::notify::SentMessage;
use super::timers::Schedule;
use super::world::World;
use super::LogLine;
use crate::alarm::{AlarmChange, AlarmInfo};
use crate::ledger::{Account, Entry};
use crate::native::{self, SharedHost};
use crate::notify::Acknowledgement;
use crate::scene::adapter;
use crate::{
    Caller, Error, Event, Lifecycle, Purpose, Reading, Scene, Severity, TimerFired, Timestamp,
    Value,
};

/// How many timers and escalation steps one move of the clock may run
/// before the harness decides the scene keeps scheduling into the past.
const MAX_FIRINGS_PER_MOVE: usize = 100_000;

/// An event the scene was handed, and what its handler returned.
#[derive(Debug, Clone)]
pub struct Handled {
    pub event: Event,
    pub outcome: Result<(), Error>,
}

/// One installation of the scene `S` in a simulated community.
///
/// Built with [`SimulatedHost::builder`]. While it lives, every host call
/// the plugin's code makes on this thread (`linli_sdk::store`, `alarm`,
/// `notify`, …) is answered by it; one simulated host per thread at a time.
pub struct SimulatedHost<S: Scene> {
    world: Rc<RefCell<World>>,
    config: Json,
    dead_letters: Vec<Handled>,
    /// The host this thread's calls went to before, given back on drop.
    previous: Option<SharedHost>,
    scene: PhantomData<S>,
}

impl<S: Scene> SimulatedHost<S> {
    /// Sets up a community for the plugin whose `linli.toml` is `manifest`;
    /// pass `include_str!("../linli.toml")` so the grants are the real ones.
    pub fn builder(manifest: &str) -> Builder<S> {
        Builder::new(manifest)
    }

    pub(crate) fn install(world: World, config: Json) -> Result<Self, Error> {
        let world = Rc::new(RefCell::new(world));
        let shared: SharedHost = world.clone();
        let previous = native::install(Some(shared));
        let mut host = Self {
            world,
            config,
            dead_letters: Vec::new(),
            previous,
            scene: PhantomData,
        };
        host.new_instance()?;
        host.deliver(Event::Lifecycle(Lifecycle::Installed))?;
        Ok(host)
    }

    /// Runs `call` as a handler: its effects stay only if it returns `Ok`.
    fn handle<R>(&mut self, call: impl FnOnce() -> Result<R, Error>) -> Result<R, Error> {
        let before = self.world.borrow().effects.clone();
        let outcome = call();
        if outcome.is_err() {
            self.world.borrow_mut().effects = before;
        }
        outcome
    }

    /// Starts a fresh instance, as the host may at any time: `init` runs
    /// again with the config, and nothing the scene kept in memory survives.
    pub fn new_instance(&mut self) -> Result<(), Error> {
        let config = self.config.to_string();
        self.handle(|| adapter::init::<S>(&config))
    }

    /// Hands `event` to the scene's `on-event`. A failure is also kept as a
    /// dead letter ([`SimulatedHost::dead_letters`]).
    pub fn deliver(&mut self, event: Event) -> Result<(), Error> {
        let outcome = self.handle(|| adapter::on_event::<S>(event.clone()));
        if outcome.is_err() {
            self.dead_letters.push(Handled {
                event,
                outcome: outcome.clone(),
            });
        }
        outcome
    }

    /// A reading from `device`, measured now: recorded for `sensor` and
    /// delivered if the installation was granted its kind (`Ok` when not).
    pub fn reading(&mut self, device: &str, kind: &str, value: Value) -> Result<(), Error> {
        let reading = Reading {
            device: device.to_owned(),
            kind: kind.to_owned(),
            value,
            unit: None,
            at: self.now(),
            location: None,
        };
        self.ingest(reading)
    }

    /// A reading as the host's ingest stores it; its location is the device's.
    /// Panics for a device that was not registered: the host refuses those.
    ///
    /// A person's health or presence reading without their consent is
    /// withheld as the host withholds it: neither delivered nor answered by
    /// `sensor` (`Ok`, as the sender's ingest succeeds).
    pub fn ingest(&mut self, mut reading: Reading) -> Result<(), Error> {
        let receives = {
            let mut world = self.world.borrow_mut();
            let device = world.devices.device(&reading.device).unwrap_or_else(|| {
                panic!(
                    "device {} is not registered; add it with `Builder::device`",
                    reading.device
                )
            });
            if consent::withholds(&world.map, device, &reading.kind) {
                return Ok(());
            }
            reading.location = device.location.clone();
            world.devices.record(reading.clone());
            world.grants.receives_readings(&reading.kind)
        };
        if receives {
            self.deliver(Event::Reading(reading))
        } else {
            Ok(())
        }
    }

    /// Runs the command `name` for `caller` with `input`, as
    /// `POST …/commands/{name}` does; its effects stay only if it succeeds.
    pub fn command(&mut self, caller: &Caller, name: &str, input: Json) -> Result<Json, Error> {
        let input = input.to_string();
        let output = self.handle(|| adapter::on_command::<S>(caller, name, &input))?;
        Ok(serde_json::from_str(&output).expect("the adapter answers JSON"))
    }

    /// `person` (or their guardian) now consents to exactly `consents`:
    /// given or withdrawn, it holds from the next reading on. Panics for
    /// someone not on the map.
    pub fn set_consents(&mut self, person: &str, consents: &[Purpose]) {
        let known = self.world.borrow_mut().map.set_consents(person, consents);
        assert!(known, "{person} is not a person of the simulated map");
    }

    /// The community erases `person` at their request, as the host does:
    /// they leave the map (with the family links to them), every state key
    /// whose last `/` segment is their id is deleted — for good, whatever
    /// the handler does — and then the scene receives `person-erased`.
    /// Ledger entries stay. Panics for someone not on the map.
    pub fn erase_person(&mut self, person: &str) -> Result<(), Error> {
        {
            let mut world = self.world.borrow_mut();
            assert!(
                world.map.erase_person(person),
                "{person} is not a person of the simulated map"
            );
            world.effects.store.erase_person(person);
        }
        self.deliver(Event::PersonErased(person.to_owned()))
    }

    /// An admin changes the config: a new instance gets it, then
    /// `lifecycle(reconfigured)`. A config `init` refuses is not kept.
    pub fn reconfigure(&mut self, config: Json) -> Result<(), Error> {
        let previous = std::mem::replace(&mut self.config, config);
        if let Err(refused) = self.new_instance() {
            self.config = previous;
            self.new_instance()?;
            return Err(refused);
        }
        self.deliver(Event::Lifecycle(Lifecycle::Reconfigured))
    }

    /// An admin resumes the installation after a suspension.
    pub fn resume(&mut self) -> Result<(), Error> {
        self.new_instance()?;
        self.deliver(Event::Lifecycle(Lifecycle::Resumed))
    }

    /// The simulated time.
    pub fn now(&self) -> Timestamp {
        self.world.borrow().now
    }

    /// Moves the clock forward by `by`; see [`SimulatedHost::advance_to`].
    pub fn advance(&mut self, by: Duration) -> Vec<Handled> {
        let by = i64::try_from(by.as_millis()).expect("a duration in milliseconds fits an i64");
        self.advance_to(self.now() + by)
    }

    /// Moves the clock to `to`, stopping at every due time on the way: the
    /// escalation steps due then run, then the timers due then fire in the
    /// host's order (earliest, then by tag), each a `timer-fired` event.
    /// Returns what each timer's handler returned; failures are also dead letters.
    pub fn advance_to(&mut self, to: Timestamp) -> Vec<Handled> {
        assert!(to >= self.now(), "the clock only moves forward");
        let mut handled = Vec::new();
        let mut firings = 0;
        loop {
            let next = {
                let world = self.world.borrow();
                let timers = world.effects.timers.next_due();
                let steps = world.effects.messages.next_step_due();
                timers.into_iter().chain(steps).min()
            };
            let Some(due) = next.filter(|due| *due <= to) else {
                break;
            };
            firings += 1;
            assert!(
                firings < MAX_FIRINGS_PER_MOVE,
                "the scene keeps scheduling timers that are already due"
            );
            let due_timers = {
                let mut world = self.world.borrow_mut();
                world.now = world.now.max(due);
                let World {
                    map, effects, now, ..
                } = &mut *world;
                effects.messages.escalate(map, *now);
                let due_timers = effects.timers.due(*now);
                // A timer moves on when it fires, whatever its handler does;
                // a handler scheduling the same tag again replaces that.
                for (tag, schedule) in &due_timers {
                    effects.timers.fired(tag, *schedule, *now);
                }
                due_timers
            };
            for (tag, schedule) in due_timers {
                let event = Event::TimerFired(TimerFired {
                    tag,
                    due: schedule.due,
                });
                let outcome = self.deliver(event.clone());
                handled.push(Handled { event, outcome });
            }
        }
        self.world.borrow_mut().now = to;
        handled
    }

    /// A person (or admin, or operator; `by` names them) acknowledges an
    /// alarm; the change reaches the scene if it watches the alarm's type.
    pub fn acknowledge_alarm(&mut self, id: &str, by: &str) -> Result<(), Error> {
        let change = self
            .world
            .borrow_mut()
            .effects
            .alarms
            .acknowledge(id, by)?
            .1;
        self.announce(change)
    }

    /// A person clears the active alarm of (originator, type).
    pub fn clear_alarm(
        &mut self,
        originator: &str,
        alarm_type: &str,
        by: &str,
    ) -> Result<(), Error> {
        let change = self
            .world
            .borrow_mut()
            .effects
            .alarms
            .clear(originator, alarm_type, by);
        self.announce(change)
    }

    /// The platform raises one of its own alarms (`device-offline`,
    /// `device-battery-low`, …) on `originator`.
    pub fn raise_platform_alarm(
        &mut self,
        originator: &str,
        alarm_type: &str,
        severity: Severity,
    ) -> Result<(), Error> {
        assert!(
            super::alarms::is_platform_type(alarm_type),
            "{alarm_type} is not a platform alarm type (device-… or installation-…)"
        );
        self.raise_alarm_of("platform", originator, alarm_type, severity)
    }

    /// Another installation of the community (the plugin `raiser`) raises
    /// an alarm, as fire-safety raises `fire-confirmed` for a building; the
    /// scene receives the change if it watches the type.
    pub fn raise_alarm_of(
        &mut self,
        raiser: &str,
        originator: &str,
        alarm_type: &str,
        severity: Severity,
    ) -> Result<(), Error> {
        let change = self
            .world
            .borrow_mut()
            .raise_as(raiser, originator, alarm_type, severity, "{}")?;
        self.announce(Some(change))
    }

    /// Delivers a change someone else made, if the installation watches its type.
    fn announce(&mut self, change: Option<AlarmChange>) -> Result<(), Error> {
        let Some(change) = change else {
            return Ok(());
        };
        if self
            .world
            .borrow()
            .grants
            .watches_alarms(&change.alarm.alarm_type)
        {
            self.deliver(Event::AlarmChanged(change))
        } else {
            Ok(())
        }
    }

    /// `person`, whom the message reached, acknowledges it: escalation stops
    /// and the scene receives `notification-acknowledged`.
    pub fn acknowledge_message(&mut self, id: &str, person: &str) -> Result<(), Error> {
        let ack = {
            let mut world = self.world.borrow_mut();
            let now = world.now;
            let messages = &mut world.effects.messages;
            let reached = messages
                .all()
                .iter()
                .find(|m| m.id == id)
                .map(SentMessage::reached);
            if reached.is_some_and(|people| !people.contains(person)) {
                return Err(Error::Invalid(format!(
                    "message {id} did not reach {person}"
                )));
            }
            messages
                .acknowledge(id, person, now)?
                .map(|m| Acknowledgement {
                    id: m.id.clone(),
                    idempotency_key: m.message.idempotency_key.clone(),
                    topic: m.message.topic.clone(),
                    by: person.to_owned(),
                    at: now,
                })
        };
        match ack {
            Some(ack) => self.deliver(Event::NotificationAcknowledged(ack)),
            None => Ok(()),
        }
    }

    /// The active alarms, oldest first.
    pub fn active_alarms(&self) -> Vec<AlarmInfo> {
        self.alarms().into_iter().filter(|a| a.active).collect()
    }

    /// Every alarm ever raised, oldest first, cleared ones included.
    pub fn alarms(&self) -> Vec<AlarmInfo> {
        self.world.borrow().effects.alarms.all().to_vec()
    }

    /// The active alarm of (originator, type), if any.
    pub fn alarm(&self, originator: &str, alarm_type: &str) -> Option<AlarmInfo> {
        self.world
            .borrow()
            .effects
            .alarms
            .active(originator, alarm_type)
    }

    /// The alarm changes the scene itself made, in order (the host does not
    /// deliver these back to it).
    pub fn own_alarm_changes(&self) -> Vec<AlarmChange> {
        self.world.borrow().effects.alarm_changes.clone()
    }

    /// Every message sent, oldest first, with the people each step reached.
    pub fn messages(&self) -> Vec<SentMessage> {
        self.world.borrow().effects.messages.all().to_vec()
    }

    /// The messages of `topic`, oldest first.
    pub fn messages_on(&self, topic: &str) -> Vec<SentMessage> {
        self.messages()
            .into_iter()
            .filter(|m| m.message.topic == topic)
            .collect()
    }

    /// Every ledger entry, oldest first.
    pub fn ledger_entries(&self) -> Vec<Entry> {
        self.world.borrow().effects.ledger.all_entries()
    }

    /// Every ledger account, in the order opened.
    pub fn accounts(&self) -> Vec<Account> {
        self.world.borrow().effects.ledger.accounts().to_vec()
    }

    /// The account `name`, if opened.
    pub fn account(&self, name: &str) -> Option<Account> {
        self.world.borrow().effects.ledger.account(name).cloned()
    }

    /// The bytes stored under `key`.
    pub fn stored(&self, key: &str) -> Option<Vec<u8>> {
        self.world
            .borrow()
            .effects
            .store
            .entries()
            .get(key)
            .cloned()
    }

    /// The value under `key` decoded from JSON, as `linli_sdk::state` keeps it.
    /// Panics if it is not a `T`.
    pub fn state<T: DeserializeOwned>(&self, key: &str) -> Option<T> {
        self.stored(key).map(|bytes| {
            serde_json::from_slice(&bytes)
                .unwrap_or_else(|e| panic!("stored value `{key}` is not the type asked for: {e}"))
        })
    }

    /// Every stored key, in order.
    pub fn store_keys(&self) -> Vec<String> {
        self.world
            .borrow()
            .effects
            .store
            .entries()
            .keys()
            .cloned()
            .collect()
    }

    /// Every scheduled timer, by tag.
    pub fn timers(&self) -> Vec<(String, Schedule)> {
        let world = self.world.borrow();
        world
            .effects
            .timers
            .all()
            .iter()
            .map(|(t, s)| (t.clone(), *s))
            .collect()
    }

    /// Every line the plugin logged, failed handlers' included.
    pub fn log_lines(&self) -> Vec<LogLine> {
        self.world.borrow().log.clone()
    }

    /// The events whose handler failed, in order.
    pub fn dead_letters(&self) -> &[Handled] {
        &self.dead_letters
    }
}

impl<S: Scene> Drop for SimulatedHost<S> {
    fn drop(&mut self) {
        native::install(self.previous.take());
    }
}
