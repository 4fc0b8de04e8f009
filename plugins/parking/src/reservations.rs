//! A space's book of reservations, and the one rule that matters most: two
//! active reservations of a space never overlap.
//!
//! A reservation is `confirmed` when made, `checked-in` when the space's
//! sensor turns occupied between its early check-in and the end of its
//! grace, `checked-out` when the sensor turns free again; a confirmed one
//! still waiting at the end of its grace is released as a `no-show`, or as
//! `displaced` when the space was still held by the previous, overstaying
//! vehicle (the holder is not to blame, and pays nothing); it is
//! `cancelled` by its holder before it starts. Confirmed and checked-in
//! reservations are *active*: they hold the space for their `[start, end)`.
//!
//! **Atomicity.** A space's book is one store value (`space/<id>/book`).
//! The host runs one handler of an installation at a time and commits its
//! store writes only when it returns `Ok`, so a handler that reads the book,
//! calls [`Book::reserve`] (which checks and inserts in one step on that
//! value) and writes it back is atomic against every other command, event
//! and timer: whatever the interleaving of two people reserving, the second
//! handler reads the first one's book and is refused. No lock, version or
//! retry is needed in the plugin, as long as a handler changes a book only
//! through these methods and writes it back before returning.
//!
//! **Bounded.** Finished reservations stay in the book for a few days (for
//! receipts and disputes) and are then handed back by [`Book::prune`] to be
//! folded into the monthly report; active reservations are bounded by how
//! far ahead one may reserve.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::config::Config;
use crate::interval::Interval;
use crate::overstay::Stage;
use crate::pricing::{self, Settlement};

/// At most this many reservations in one book, finished ones included.
pub const MAX_RESERVATIONS: usize = 512;

/// Where a reservation stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum State {
    Confirmed,
    CheckedIn,
    CheckedOut,
    NoShow,
    /// Released at the end of its grace because the previous vehicle had
    /// not left; not counted against its holder.
    Displaced,
    Cancelled,
}

impl State {
    /// Whether a reservation in this state holds the space.
    pub fn is_active(self) -> bool {
        matches!(self, State::Confirmed | State::CheckedIn)
    }
}

/// A reservation's id, `<space>#<n>`: unique in the community, since `n`
/// counts a space's reservations and is never reused.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ReservationId {
    pub space: String,
    pub seq: u32,
}

impl fmt::Display for ReservationId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}#{}", self.space, self.seq)
    }
}

impl std::str::FromStr for ReservationId {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        let (space, seq) = text
            .rsplit_once('#')
            .filter(|(space, _)| !space.is_empty())
            .ok_or_else(|| format!("{text:?} is not a reservation id: <space>#<number>"))?;
        let seq = seq
            .parse()
            .map_err(|_| format!("{text:?} is not a reservation id: <space>#<number>"))?;
        Ok(Self {
            space: space.to_owned(),
            seq,
        })
    }
}

/// One reservation. Field names are short-lived in memory but long-lived in
/// the store: add fields with `#[serde(default)]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reservation {
    pub seq: u32,
    /// The person who reserved and pays.
    pub holder: String,
    /// For a visitor host: who the space is for (a name or a plate).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub visitor: Option<String>,
    pub start: i64,
    pub end: i64,
    /// Points per hour, fixed when reserved.
    pub rate: u32,
    pub state: State,
    pub made_at: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub checked_in: Option<i64>,
    /// When it stopped being active: checked out, released or cancelled.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub finished: Option<i64>,
    /// The overstay stage the parker has been told of.
    #[serde(default, skip_serializing_if = "Stage::is_on_time")]
    pub told: Stage,
    /// What it cost, once checked out.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub settlement: Option<Settlement>,
    /// Whether its holder, blocked by an overstayer, was offered another space.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub offered: bool,
}

impl Reservation {
    pub fn interval(&self) -> Interval {
        Interval {
            start: self.start,
            end: self.end,
        }
    }

    pub fn id(&self, space: &str) -> ReservationId {
        ReservationId {
            space: space.to_owned(),
            seq: self.seq,
        }
    }
}

/// What a reservation asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    pub holder: String,
    pub visitor: Option<String>,
    pub wanted: Interval,
    pub rate: u32,
}

/// Why the book refused a change; the text says what to do instead.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BookError {
    /// The times asked for break a rule; the text names it.
    Invalid(String),
    /// An active reservation already holds part of the time.
    Overlaps {
        seq: u32,
        held: Interval,
    },
    NotFound(u32),
    /// The reservation is not in a state that allows this.
    WrongState {
        seq: u32,
        state: State,
    },
    /// A reservation can be cancelled only before it starts.
    Started {
        seq: u32,
    },
    Full,
}

impl fmt::Display for BookError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BookError::Invalid(why) => f.write_str(why),
            BookError::Overlaps { seq, held } => write!(
                f,
                "the space is already reserved {held} (reservation {seq}): search again for another space or time"
            ),
            BookError::NotFound(seq) => write!(f, "the space has no reservation {seq}"),
            BookError::WrongState { seq, state } => {
                write!(f, "reservation {seq} is {state:?}, so this does not apply")
            }
            BookError::Started { seq } => write!(
                f,
                "reservation {seq} has started and can no longer be cancelled: it ends at check-out or as a no-show"
            ),
            BookError::Full => write!(
                f,
                "the space's book is full ({MAX_RESERVATIONS} reservations): try again after older ones are archived"
            ),
        }
    }
}

/// Whether `wanted` keeps the rules for any reservation made at `now`: it
/// starts no earlier than a minute ago (slack for a client clock a little
/// behind the host's), no further ahead than `max-advance-ms`, and lasts
/// from `min-length-ms` to `max-length-ms`. Search asks this too, so that
/// it never offers what reserve would refuse.
pub fn check_times(wanted: Interval, now: i64, config: &Config) -> Result<(), BookError> {
    let rules = &config.reservations;
    if wanted.start < now - 60_000 {
        return Err(BookError::Invalid("start: is in the past".into()));
    }
    if wanted.start > now + rules.max_advance_ms {
        return Err(BookError::Invalid(format!(
            "start: at most {} days ahead",
            rules.max_advance_ms / 86_400_000
        )));
    }
    if wanted.len_ms() < rules.min_length_ms || wanted.len_ms() > rules.max_length_ms {
        return Err(BookError::Invalid(format!(
            "end: a reservation lasts {} to {} minutes",
            rules.min_length_ms / 60_000,
            rules.max_length_ms / 60_000
        )));
    }
    Ok(())
}

/// One space's reservations, ordered by start: one store value.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Book {
    #[serde(default)]
    next_seq: u32,
    #[serde(default)]
    reservations: Vec<Reservation>,
}

impl Book {
    /// The store key of `space`'s book.
    pub fn key(space: &str) -> String {
        format!("space/{space}/book")
    }

    /// Every reservation, ordered by start.
    pub fn reservations(&self) -> &[Reservation] {
        &self.reservations
    }

    pub fn get(&self, seq: u32) -> Option<&Reservation> {
        self.reservations.iter().find(|r| r.seq == seq)
    }

    /// The confirmed and checked-in reservations.
    pub fn active(&self) -> impl Iterator<Item = &Reservation> {
        self.reservations.iter().filter(|r| r.state.is_active())
    }

    /// The active reservations' intervals, for [`crate::windows::Windows::withdraw`].
    pub fn active_intervals(&self) -> Vec<Interval> {
        self.active().map(Reservation::interval).collect()
    }

    /// Whether no active reservation holds any part of `wanted`.
    pub fn is_free(&self, wanted: Interval) -> bool {
        self.conflict(wanted).is_none()
    }

    fn conflict(&self, wanted: Interval) -> Option<&Reservation> {
        self.active().find(|r| r.interval().overlaps(wanted))
    }

    /// The reservation whose vehicle is on the space now, if any.
    pub fn checked_in(&self) -> Option<&Reservation> {
        self.reservations
            .iter()
            .find(|r| r.state == State::CheckedIn)
    }

    /// The reservation that makes a vehicle on the space at `at` authorised:
    /// the checked-in one (overstaying is its own matter), else a confirmed
    /// one from its early check-in to its end.
    pub fn authorising(&self, at: i64, config: &Config) -> Option<&Reservation> {
        let early = config.reservations.early_check_in_ms;
        self.checked_in()
            .or_else(|| self.active().find(|r| r.start - early <= at && at < r.end))
    }

    /// Checks `request` against the rules and every active reservation, and
    /// inserts it if it holds: one step on one value, so that a handler doing
    /// read-reserve-write is atomic (see the module's comment).
    pub fn reserve(
        &mut self,
        request: Request,
        now: i64,
        config: &Config,
    ) -> Result<&Reservation, BookError> {
        let wanted = request.wanted;
        check_times(wanted, now, config)?;
        if let Some(held) = self.conflict(wanted) {
            return Err(BookError::Overlaps {
                seq: held.seq,
                held: held.interval(),
            });
        }
        if self.reservations.len() >= MAX_RESERVATIONS {
            return Err(BookError::Full);
        }
        let seq = self.next_seq;
        self.next_seq += 1;
        let at = self
            .reservations
            .partition_point(|r| (r.start, r.seq) < (wanted.start, seq));
        self.reservations.insert(
            at,
            Reservation {
                seq,
                holder: request.holder,
                visitor: request.visitor,
                start: wanted.start,
                end: wanted.end,
                rate: request.rate,
                state: State::Confirmed,
                made_at: now,
                checked_in: None,
                finished: None,
                told: Stage::OnTime,
                settlement: None,
                offered: false,
            },
        );
        Ok(&self.reservations[at])
    }

    /// Cancels reservation `seq` before its start. Who may cancel is the
    /// handler's to decide (its holder, or staff).
    pub fn cancel(&mut self, seq: u32, now: i64) -> Result<&Reservation, BookError> {
        let reservation = self.find_mut(seq)?;
        if reservation.state != State::Confirmed {
            return Err(BookError::WrongState {
                seq,
                state: reservation.state,
            });
        }
        if now >= reservation.start {
            return Err(BookError::Started { seq });
        }
        reservation.state = State::Cancelled;
        reservation.finished = Some(now);
        Ok(reservation)
    }

    /// The space's sensor said occupied at `at`: checks in the confirmed
    /// reservation whose early check-in to grace end contains `at`, unless a
    /// vehicle is already checked in (the overstayer is still there, and the
    /// next holder cannot have arrived on the same space).
    pub fn check_in(&mut self, at: i64, config: &Config) -> Option<&Reservation> {
        if self.checked_in().is_some() {
            return None;
        }
        let rules = &config.reservations;
        let reservation = self.reservations.iter_mut().find(|r| {
            r.state == State::Confirmed
                && r.start - rules.early_check_in_ms <= at
                && at < (r.start + rules.check_in_grace_ms).min(r.end)
        })?;
        reservation.state = State::CheckedIn;
        reservation.checked_in = Some(at);
        Some(reservation)
    }

    /// The space's sensor said free at `at`: checks out the vehicle checked
    /// in, settling what it owes.
    pub fn check_out(&mut self, at: i64, config: &Config) -> Option<&Reservation> {
        let reservation = self
            .reservations
            .iter_mut()
            .find(|r| r.state == State::CheckedIn)?;
        let checked_in = reservation.checked_in.unwrap_or(reservation.start);
        reservation.state = State::CheckedOut;
        reservation.finished = Some(at.max(checked_in));
        reservation.settlement = Some(pricing::settle(
            reservation.rate,
            reservation.start,
            reservation.end,
            checked_in,
            at.max(checked_in),
            config,
        ));
        Some(reservation)
    }

    /// Releases every confirmed reservation whose grace has run out by `now`:
    /// as a no-show, or as displaced when another vehicle is checked in on
    /// the space. Returns the released, so the handler can record and tell.
    pub fn release_no_shows(&mut self, now: i64, config: &Config) -> Vec<Reservation> {
        let blocked = self.checked_in().is_some();
        let grace = config.reservations.check_in_grace_ms;
        let mut released = Vec::new();
        for reservation in &mut self.reservations {
            if reservation.state == State::Confirmed
                && now >= (reservation.start + grace).min(reservation.end)
            {
                reservation.state = if blocked {
                    State::Displaced
                } else {
                    State::NoShow
                };
                reservation.finished = Some(now);
                released.push(reservation.clone());
            }
        }
        released
    }

    /// When [`Book::release_no_shows`] next has something to do.
    pub fn next_release(&self, config: &Config) -> Option<i64> {
        let grace = config.reservations.check_in_grace_ms;
        self.reservations
            .iter()
            .filter(|r| r.state == State::Confirmed)
            .map(|r| (r.start + grace).min(r.end))
            .min()
    }

    /// Takes out the finished reservations that finished before
    /// `now - keep-finished-days`, oldest first, for the monthly report.
    pub fn prune(&mut self, now: i64, config: &Config) -> Vec<Reservation> {
        let before = now - config.reservations.keep_finished_ms();
        let (old, kept): (Vec<Reservation>, Vec<Reservation>) =
            std::mem::take(&mut self.reservations)
                .into_iter()
                .partition(|r| !r.state.is_active() && r.finished.is_some_and(|at| at < before));
        self.reservations = kept;
        old
    }

    /// The reservation `seq`, to record what the parker was told.
    pub fn find_mut(&mut self, seq: u32) -> Result<&mut Reservation, BookError> {
        self.reservations
            .iter_mut()
            .find(|r| r.seq == seq)
            .ok_or(BookError::NotFound(seq))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MINUTE: i64 = 60_000;
    const HOUR: i64 = 60 * MINUTE;
    const NOW: i64 = 1_767_542_400_000;

    fn request(holder: &str, start_h: i64, end_h: i64) -> Request {
        Request {
            holder: holder.into(),
            visitor: None,
            wanted: Interval::new(NOW + start_h * HOUR, NOW + end_h * HOUR).unwrap(),
            rate: 6,
        }
    }

    fn book_with(requests: &[(&str, i64, i64)]) -> Book {
        let config = Config::default();
        let mut book = Book::default();
        for (holder, start, end) in requests {
            book.reserve(request(holder, *start, *end), NOW, &config)
                .unwrap();
        }
        book
    }

    #[test]
    fn a_second_overlapping_reservation_is_refused_and_touching_ones_are_not() {
        let config = Config::default();
        let mut book = book_with(&[("ann", 19, 32)]);
        let refused = book
            .reserve(request("bo", 31, 33), NOW, &config)
            .unwrap_err();
        assert_eq!(
            refused,
            BookError::Overlaps {
                seq: 0,
                held: Interval::new(NOW + 19 * HOUR, NOW + 32 * HOUR).unwrap()
            }
        );
        assert!(refused.to_string().contains("already reserved"));
        assert_eq!(
            book.reserve(request("bo", 32, 34), NOW, &config)
                .unwrap()
                .seq,
            1
        );
        assert_eq!(
            book.reserve(request("cy", 17, 19), NOW, &config)
                .unwrap()
                .seq,
            2
        );
        let starts: Vec<u32> = book.reservations().iter().map(|r| r.seq).collect();
        assert_eq!(starts, vec![2, 0, 1], "ordered by start");
    }

    #[test]
    fn times_that_break_the_rules_are_refused_naming_the_field() {
        let config = Config::default();
        let mut book = Book::default();
        let past = book
            .reserve(request("ann", -2, 1), NOW, &config)
            .unwrap_err();
        assert!(matches!(past, BookError::Invalid(why) if why.starts_with("start")));
        let mut short = request("ann", 1, 2);
        short.wanted.end = short.wanted.start + 10 * MINUTE;
        let short = book.reserve(short, NOW, &config).unwrap_err();
        assert!(matches!(short, BookError::Invalid(why) if why.starts_with("end")));
        let far = book.reserve(request("ann", 24 * 31, 24 * 31 + 2), NOW, &config);
        assert!(matches!(far, Err(BookError::Invalid(why)) if why.contains("days ahead")));
    }

    #[test]
    fn a_cancelled_reservation_frees_its_time_and_only_before_it_starts() {
        let config = Config::default();
        let mut book = book_with(&[("ann", 1, 3), ("bo", 3, 5)]);
        book.cancel(0, NOW).unwrap();
        assert!(book.is_free(Interval::new(NOW + HOUR, NOW + 3 * HOUR).unwrap()));
        assert_eq!(
            book.cancel(0, NOW),
            Err(BookError::WrongState {
                seq: 0,
                state: State::Cancelled
            })
        );
        assert_eq!(
            book.cancel(1, NOW + 3 * HOUR),
            Err(BookError::Started { seq: 1 })
        );
        assert_eq!(book.cancel(9, NOW), Err(BookError::NotFound(9)));
        book.reserve(request("cy", 1, 3), NOW, &config).unwrap();
    }

    #[test]
    fn the_sensor_checks_in_within_the_grace_and_out_with_a_settlement() {
        let config = Config::default();
        let mut book = book_with(&[("ann", 1, 3)]);
        assert!(
            book.check_in(NOW, &config).is_none(),
            "an hour early is not her"
        );
        let start = NOW + HOUR;
        let checked = book.check_in(start + 5 * MINUTE, &config).unwrap();
        assert_eq!(checked.state, State::CheckedIn);
        let out = book.check_out(start + 65 * MINUTE, &config).unwrap();
        assert_eq!(out.state, State::CheckedOut);
        let settled = out.settlement.unwrap();
        assert_eq!(settled.billed_ms, 60 * MINUTE);
        assert_eq!(settled.charge, 6);
    }

    #[test]
    fn a_no_show_is_released_after_the_grace_and_the_space_is_bookable_again() {
        let config = Config::default();
        let mut book = book_with(&[("ann", 1, 3)]);
        let start = NOW + HOUR;
        assert_eq!(book.next_release(&config), Some(start + 15 * MINUTE));
        assert!(book
            .release_no_shows(start + 14 * MINUTE, &config)
            .is_empty());
        let released = book.release_no_shows(start + 15 * MINUTE, &config);
        assert_eq!(released[0].state, State::NoShow);
        assert!(book.check_in(start + 16 * MINUTE, &config).is_none());
        let again = Request {
            wanted: Interval::new(start + 20 * MINUTE, start + 2 * HOUR).unwrap(),
            ..request("bo", 0, 1)
        };
        book.reserve(again, start + 16 * MINUTE, &config).unwrap();
    }

    #[test]
    fn an_overstayer_displaces_the_next_holder_without_blame() {
        let config = Config::default();
        let mut book = book_with(&[("ann", 1, 3), ("bo", 3, 5)]);
        book.check_in(NOW + HOUR, &config).unwrap();
        // Ann is still there when Bo's time starts: Bo cannot check in.
        assert!(book.check_in(NOW + 3 * HOUR, &config).is_none());
        let released = book.release_no_shows(NOW + 3 * HOUR + 15 * MINUTE, &config);
        assert_eq!(released.len(), 1);
        assert_eq!((released[0].seq, released[0].state), (1, State::Displaced));
    }

    #[test]
    fn old_finished_reservations_leave_the_book_and_active_ones_stay() {
        let config = Config::default();
        let mut book = book_with(&[("ann", 1, 3), ("bo", 24 * 20, 24 * 20 + 2)]);
        book.cancel(0, NOW).unwrap();
        assert!(book.prune(NOW + 6 * 24 * HOUR, &config).is_empty());
        let pruned = book.prune(NOW + 8 * 24 * HOUR, &config);
        assert_eq!(pruned.iter().map(|r| r.seq).collect::<Vec<_>>(), vec![0]);
        assert_eq!(book.reservations().len(), 1);
    }

    #[test]
    fn ids_read_back_and_the_store_format_is_compact() {
        let id: ReservationId = "lot-a/s-12#7".parse().unwrap();
        assert_eq!((id.space.as_str(), id.seq), ("lot-a/s-12", 7));
        assert_eq!(id.to_string(), "lot-a/s-12#7");
        assert!("#7".parse::<ReservationId>().is_err());
        let book = book_with(&[("ann", 1, 3)]);
        let json = serde_json::to_string(&book).unwrap();
        assert!(!json.contains("null") && !json.contains("told"), "{json}");
        assert_eq!(serde_json::from_str::<Book>(&json).unwrap(), book);
    }
}
