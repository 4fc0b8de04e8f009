//! What search needs of every space of a lot, in one store value per lot
//! (`lot/<id>/availability`): each space's windows and the intervals its
//! active reservations hold.
//!
//! A search looks at up to a thousand spaces; reading each one's windows
//! and book is two thousand store reads, which took a search past the
//! host's 200 ms call budget among 5,000 spaces with 50,000 reservations.
//! Read by lot, the same search reads the dozen or so lots around the
//! place. The index is written only here, by [`save_book`] and
//! [`save_windows`], which every handler uses to store a space's book or
//! windows, so it never disagrees with them; a book change that leaves the
//! held intervals as they were (a check-in, a repeated reading) does not
//! rewrite the lot.

use std::collections::BTreeMap;

use linli_sdk::{state, Error};
use serde::{Deserialize, Serialize};

use crate::interval::Interval;
use crate::reservations::Book;
use crate::space::Space;
use crate::windows::Windows;

/// One space, as search sees it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SpaceAvailability {
    #[serde(default)]
    pub windows: Windows,
    /// The intervals its confirmed and checked-in reservations hold.
    #[serde(default)]
    pub busy: Vec<Interval>,
}

/// Every space of one lot that has windows or reservations, by id.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LotAvailability {
    #[serde(default)]
    pub spaces: BTreeMap<String, SpaceAvailability>,
}

impl LotAvailability {
    pub fn key(lot: &str) -> String {
        format!("lot/{lot}/availability")
    }

    /// The lot's index as stored.
    pub fn read(lot: &str) -> Result<Self, Error> {
        Ok(state::get(&Self::key(lot))?.unwrap_or_default())
    }
}

fn update(space: &Space, change: impl FnOnce(&mut SpaceAvailability) -> bool) -> Result<(), Error> {
    let mut lot = LotAvailability::read(&space.lot)?;
    let entry = lot.spaces.entry(space.id.clone()).or_default();
    if !change(entry) {
        return Ok(());
    }
    if *entry == SpaceAvailability::default() {
        lot.spaces.remove(&space.id);
    }
    state::put(&LotAvailability::key(&space.lot), &lot)
}

/// Stores `space`'s book, and the intervals it holds in the lot's index.
pub fn save_book(space: &Space, book: &Book) -> Result<(), Error> {
    state::put(&Book::key(&space.id), book)?;
    let busy = book.active_intervals();
    update(space, |entry| {
        let changed = entry.busy != busy;
        entry.busy = busy;
        changed
    })
}

/// Stores `space`'s windows, and them in the lot's index.
pub fn save_windows(space: &Space, windows: &Windows) -> Result<(), Error> {
    state::put(&Windows::key(&space.id), windows)?;
    update(space, |entry| {
        let changed = entry.windows != *windows;
        entry.windows = windows.clone();
        changed
    })
}
