//! The scene's two invariants, under long random runs of what a community
//! does to it: people reserve, cancel and turn up late or not at all;
//! sensors report, repeat themselves, fall silent and arrive out of order;
//! the clock moves; timers release no-shows, move overstays on and archive
//! old reservations.
//!
//! - no two active reservations of a space ever overlap;
//! - every lot's counts equal a recount from each sensor's latest reading,
//!   worked out here from the readings as they were sent, not from the
//!   scene's own state.
//!
//! The run drives the same calls a handler makes, in the same order, on one
//! in-memory copy of each store value.

use std::collections::{BTreeMap, BTreeSet};

use parking::access::Requester;
use parking::availability::SpaceAvailability;
use parking::config::Config;
use parking::interval::Interval;
use parking::occupancy::{self, count_lots, LotCounts, SensorState, Status};
use parking::overstay;
use parking::reservations::{Book, State};
use parking::search::{self, Candidate};
use parking::space::{Space, SpaceClass};
use parking::windows::{Recurrence, Weekday, Windows};
use proptest::prelude::*;

const MINUTE: i64 = 60_000;
/// 2026-01-05T00:00 in Shanghai, a Monday.
const START: i64 = 1_767_542_400_000;
const COMMANDS: usize = 10_000;

/// What happens next in the community.
#[derive(Debug, Clone)]
enum Command {
    /// Someone reserves `space` from `in_quarters` quarter-hours from now for
    /// `quarters` quarter-hours.
    Reserve {
        space: usize,
        in_quarters: i64,
        quarters: i64,
    },
    /// The holder of the `pick`-th reservation of `space` cancels it.
    Cancel { space: usize, pick: usize },
    /// The sensor of `space` reports, measured `late_s` seconds ago.
    Reading {
        space: usize,
        occupied: bool,
        late_s: i64,
    },
    /// The clock moves on.
    Advance { minutes: i64 },
    /// The timers of every space come due: no-shows, overstay stages.
    Timers,
    /// The daily archive runs.
    Prune,
}

fn command(spaces: usize) -> impl Strategy<Value = Command> {
    prop_oneof![
        4 => (0..spaces, 0i64..4 * 48, 2i64..24).prop_map(|(space, in_quarters, quarters)| {
            Command::Reserve { space, in_quarters, quarters }
        }),
        1 => (0..spaces, 0usize..8).prop_map(|(space, pick)| Command::Cancel { space, pick }),
        5 => (0..spaces, any::<bool>(), prop_oneof![3 => Just(0i64), 1 => 0i64..1800])
            .prop_map(|(space, occupied, late_s)| Command::Reading { space, occupied, late_s }),
        3 => (0i64..90).prop_map(|minutes| Command::Advance { minutes }),
        1 => Just(Command::Timers),
        1 => Just(Command::Prune),
    ]
}

/// Two lots: an office lot shared on weeknights and weekends, and a
/// residents' lot shared all day; a visitor space, a fire lane and a space
/// without a sensor among them.
fn community() -> (Vec<Space>, Vec<Windows>) {
    let mut spaces = Vec::new();
    let mut windows = Vec::new();
    let every_day = Recurrence::Weekly {
        days: Weekday::ALL.to_vec(),
        start: "00:00".parse().unwrap(),
        end: "24:00".parse().unwrap(),
    };
    let weeknights = Recurrence::Weekly {
        days: Weekday::ALL[..5].to_vec(),
        start: "19:00".parse().unwrap(),
        end: "08:00".parse().unwrap(),
    };
    let weekend = Recurrence::Weekly {
        days: Weekday::ALL[5..].to_vec(),
        start: "00:00".parse().unwrap(),
        end: "24:00".parse().unwrap(),
    };
    for (i, class) in [
        SpaceClass::Shared,
        SpaceClass::Shared,
        SpaceClass::Shared,
        SpaceClass::Visitor,
        SpaceClass::Shared,
        SpaceClass::FireLane,
        SpaceClass::Shared,
    ]
    .into_iter()
    .enumerate()
    {
        let office = i < 3;
        spaces.push(Space {
            id: format!("s-{i}"),
            lot: if office { "office-lot" } else { "home-lot" }.into(),
            building: Some("b-1".into()),
            class,
            owner: if office { "tenant-acme" } else { "property" }.into(),
            sensor: (i != 6).then(|| format!("mag-{i}")),
        });
        let mut published = Windows::default();
        if office {
            published.publish(weeknights.clone(), 6, 0).unwrap();
            published.publish(weekend.clone(), 4, 0).unwrap();
        } else {
            published.publish(every_day.clone(), 0, 0).unwrap();
        }
        windows.push(published);
    }
    (spaces, windows)
}

fn requester(n: usize) -> Requester {
    Requester {
        person: format!("p-{}", n % 5),
        resident: true,
        visitor: n.is_multiple_of(2).then(|| "a visitor".to_string()),
        ..Requester::default()
    }
}

/// The state a handler would keep, and the log the test keeps beside it.
struct Run {
    config: Config,
    now: i64,
    spaces: Vec<Space>,
    windows: Vec<Windows>,
    books: Vec<Book>,
    /// `lot/<id>/sensors`, by lot then space id.
    sensors: BTreeMap<String, BTreeMap<String, SensorState>>,
    /// The latest measurement of each space's sensor by the log of every
    /// reading sent: the last sent among the latest measured.
    log: BTreeMap<usize, (bool, i64)>,
    made: usize,
    /// Every state a reservation has been seen in.
    seen: BTreeSet<State>,
}

impl Run {
    fn new() -> Self {
        let (spaces, windows) = community();
        Self {
            config: Config::default(),
            now: START,
            books: vec![Book::default(); spaces.len()],
            spaces,
            windows,
            sensors: BTreeMap::new(),
            log: BTreeMap::new(),
            made: 0,
            seen: BTreeSet::new(),
        }
    }

    fn apply(&mut self, command: &Command) {
        let config = &self.config;
        match *command {
            Command::Reserve {
                space,
                in_quarters,
                quarters,
            } => {
                let start = self.now - self.now % (15 * MINUTE) + in_quarters * 15 * MINUTE;
                let wanted = Interval::new(start, start + quarters * 15 * MINUTE).unwrap();
                let who = requester(self.made);
                self.made += 1;
                // Refusals are fine; what matters is the state they leave.
                let _ = search::reserve(
                    &self.spaces[space],
                    &self.windows[space],
                    &mut self.books[space],
                    &who,
                    wanted,
                    self.now,
                    config,
                );
            }
            Command::Cancel { space, pick } => {
                let book = &mut self.books[space];
                if let Some(seq) = book.reservations().get(pick).map(|r| r.seq) {
                    let _ = book.cancel(seq, self.now);
                }
            }
            Command::Reading {
                space,
                occupied,
                late_s,
            } => {
                let at = self.now - late_s * 1000;
                if self.log.get(&space).is_none_or(|(_, heard)| at >= *heard) {
                    self.log.insert(space, (occupied, at));
                }
                let Some(_) = self.spaces[space].sensor else {
                    return;
                };
                let lot = self
                    .sensors
                    .entry(self.spaces[space].lot.clone())
                    .or_default();
                let id = &self.spaces[space].id;
                let before = lot.get(id).copied();
                let after = occupancy::observe(before, occupied, at);
                lot.insert(id.clone(), after);
                // Only the newest measurement moves a reservation.
                if after.heard == at {
                    let book = &mut self.books[space];
                    if occupied {
                        book.check_in(at, config);
                    } else {
                        book.check_out(at, config);
                    }
                }
            }
            Command::Advance { minutes } => self.now += minutes * MINUTE,
            Command::Timers => {
                for book in &mut self.books {
                    book.release_no_shows(self.now, config);
                    overstay::advance(book, self.now, config);
                }
            }
            Command::Prune => {
                for book in &mut self.books {
                    book.prune(self.now, config);
                }
            }
        }
    }

    fn check(&mut self, step: usize, command: &Command) -> Result<(), TestCaseError> {
        for (space, book) in self.books.iter().enumerate() {
            let active: Vec<_> = book.active().collect();
            for (i, a) in active.iter().enumerate() {
                for b in &active[i + 1..] {
                    prop_assert!(
                        !a.interval().overlaps(b.interval()),
                        "step {step} ({command:?}): s-{space} holds {:?} and {:?}",
                        a,
                        b
                    );
                }
            }
            let checked_in = book
                .reservations()
                .iter()
                .filter(|r| r.state == State::CheckedIn)
                .count();
            prop_assert!(
                checked_in <= 1,
                "step {step}: s-{space} has {checked_in} vehicles"
            );
            self.seen
                .extend(book.reservations().iter().map(|r| r.state));
            prop_assert!(
                book.reservations()
                    .windows(2)
                    .all(|w| w[0].start <= w[1].start),
                "step {step}: s-{space}'s book is out of order"
            );
        }
        let states: BTreeMap<String, SensorState> = self
            .sensors
            .values()
            .flat_map(|lot| lot.iter().map(|(id, state)| (id.clone(), *state)))
            .collect();
        let interval = self.config.occupancy.report_interval_ms;
        let counted = count_lots(&self.spaces, &states, self.now, interval);
        prop_assert_eq!(counted, self.recount(), "step {}: counts drifted", step);
        Ok(())
    }

    /// Per lot, from the log alone: each sensor's latest measurement, then
    /// its status now.
    fn recount(&self) -> BTreeMap<String, LotCounts> {
        let latest = &self.log;
        let mut lots: BTreeMap<String, LotCounts> = BTreeMap::new();
        for (i, space) in self.spaces.iter().enumerate() {
            if space.class == SpaceClass::FireLane {
                continue;
            }
            let counts = lots.entry(space.lot.clone()).or_default();
            let status = match latest.get(&i).filter(|_| space.sensor.is_some()) {
                Some((occupied, at))
                    if self.now - at <= self.config.occupancy.report_interval_ms =>
                {
                    if *occupied {
                        Status::Occupied
                    } else {
                        Status::Free
                    }
                }
                _ => Status::Unknown,
            };
            match status {
                Status::Free => counts.free += 1,
                Status::Occupied => counts.occupied += 1,
                Status::Unknown => counts.unknown += 1,
            }
        }
        lots
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    /// After every one of 10,000 random commands and readings, no two active
    /// reservations of a space overlap and every lot's counts are a recount
    /// of the sensors' latest readings.
    #[test]
    fn reservations_never_overlap_and_counts_never_drift(
        commands in proptest::collection::vec(command(7), COMMANDS)
    ) {
        let mut run = Run::new();
        for (step, command) in commands.iter().enumerate() {
            run.apply(command);
            run.check(step, command)?;
        }
        // The run did reach the states it is meant to test.
        for state in [State::CheckedIn, State::CheckedOut, State::NoShow, State::Displaced, State::Cancelled] {
            prop_assert!(run.seen.contains(&state), "no reservation was ever {:?}", state);
        }
    }

    /// Whatever the books hold, search offers exactly the spaces a reserve
    /// for the same time would take.
    #[test]
    fn search_offers_what_reserve_takes(
        commands in proptest::collection::vec(command(7), 500),
        in_quarters in 0i64..4 * 48,
        quarters in 2i64..24,
        who in 0usize..10,
    ) {
        let mut run = Run::new();
        for command in &commands {
            run.apply(command);
        }
        let start = run.now - run.now % (15 * MINUTE) + in_quarters * 15 * MINUTE;
        let wanted = Interval::new(start, start + quarters * 15 * MINUTE).unwrap();
        let requester = requester(who);
        let indexed: Vec<SpaceAvailability> = (0..run.spaces.len())
            .map(|i| SpaceAvailability::new(&run.windows[i], run.books[i].active_intervals()))
            .collect();
        let mut candidates: Vec<Candidate<'_>> = (0..run.spaces.len())
            .map(|i| Candidate {
                space: &run.spaces[i],
                distance_m: 10.0 * i as f64,
                availability: &indexed[i],
            })
            .collect();
        let looked_for = search::Wanted { time: wanted, requester: &requester, now: run.now, limit: 100 };
        let offered: Vec<String> = search::search(&mut candidates, looked_for, &run.config)
            .expect("the index decodes")
            .into_iter()
            .map(|offer| offer.space)
            .collect();
        for i in 0..run.spaces.len() {
            let mut book = run.books[i].clone();
            let taken = search::reserve(
                &run.spaces[i], &run.windows[i], &mut book, &requester, wanted, run.now, &run.config,
            );
            prop_assert_eq!(
                taken.is_ok(),
                offered.contains(&run.spaces[i].id),
                "s-{}: {:?}", i, taken.err()
            );
        }
    }
}

/// The log-based recount really sees what the scene sees: a sensor that
/// falls silent turns its space unknown in both.
#[test]
fn a_silent_sensor_turns_unknown_in_the_scene_and_the_recount() {
    let mut run = Run::new();
    run.apply(&Command::Reading {
        space: 0,
        occupied: true,
        late_s: 0,
    });
    run.apply(&Command::Advance { minutes: 61 });
    let recount = run.recount();
    assert_eq!(recount["office-lot"].unknown, 3);
    run.check(0, &Command::Timers).unwrap();
}
