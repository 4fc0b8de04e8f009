//! Forgetting a person the community erased at their request.
//!
//! The host has deleted `parker/<person>` (overstays, a ban, unpaid debts)
//! before the event arrives: its last segment is the person. The rest is
//! in the spaces' books, keyed by space, and in the list of their
//! reservation ids, so the scene forgets it here:
//!
//! - a confirmed reservation of theirs is cancelled, whether or not its
//!   time has begun, so the space is free for others;
//! - a finished one (kept a few days for receipts and disputes) names
//!   [`ERASED`] instead of them, without its visitor;
//! - one they are checked in on stays theirs until the sensor checks the
//!   vehicle out and the stay is settled on the ledger; only its visitor
//!   goes now.
//!
//! Their ledger account `parking/parkers/<person>` and its entries stay:
//! they name only the person id, which maps to no one once erased.

use linli_sdk::{state, timer, Error};

use crate::availability;
use crate::office;
use crate::places;
use crate::reservations::{Book, State};

/// Who stands in for an erased holder in the finished reservations.
pub const ERASED: &str = "erased";

const SPACES: &str = "space/";
const BOOK: &str = "/book";

/// The community erased `person`: their reservations are cancelled or
/// no longer name them, and their list of reservations goes.
pub fn forget(person: &str) -> Result<(), Error> {
    let now = timer::now();
    state::delete(&office::mine_key(person))?;
    for key in state::keys(SPACES)? {
        let Some(space) = key
            .strip_prefix(SPACES)
            .and_then(|rest| rest.strip_suffix(BOOK))
        else {
            continue;
        };
        let Some(mut book) = state::get::<Book>(&key)? else {
            continue;
        };
        if forget_in(&mut book, person, now)? {
            availability::save_book(&places::space(space)?, &book)?;
        }
    }
    Ok(())
}

/// Takes `person` out of one book; whether it changed.
fn forget_in(book: &mut Book, person: &str, now: i64) -> Result<bool, Error> {
    let theirs: Vec<u32> = book
        .reservations()
        .iter()
        .filter(|r| r.holder == person)
        .map(|r| r.seq)
        .collect();
    for seq in &theirs {
        let reservation = book
            .find_mut(*seq)
            .map_err(|e| Error::Internal(e.to_string()))?;
        reservation.visitor = None;
        match reservation.state {
            State::Confirmed => {
                reservation.state = State::Cancelled;
                reservation.finished = Some(now);
                reservation.holder = ERASED.to_owned();
            }
            State::CheckedIn => {}
            State::CheckedOut | State::NoShow | State::Displaced | State::Cancelled => {
                reservation.holder = ERASED.to_owned();
            }
        }
    }
    Ok(!theirs.is_empty())
}
