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
//!
//! The value is binary (postcard, after a format byte) because decoding it
//! is most of what a search costs: as JSON, the two dozen lots around a
//! place took ten times longer to decode than to search. A space's
//! windows stay JSON inside it and are decoded only for the spaces a search
//! gets to ([`SpaceAvailability::windows`]), which is a few dozen of the
//! thousands a lot index holds. A value in an older or unknown format is
//! rebuilt from the spaces' own windows and books, so a new version of the
//! scene can change the format without losing what was reserved.

use std::collections::BTreeMap;

use linli_sdk::{log, state, store, Error};
use serde::{Deserialize, Serialize};

use crate::interval::Interval;
use crate::places;
use crate::reservations::Book;
use crate::space::Space;
use crate::windows::Windows;

/// The first byte of a stored index: the layout that follows it.
const FORMAT: u8 = 1;

/// One space, as search sees it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SpaceAvailability {
    /// Its [`Windows`] as JSON, empty when it has none.
    windows: Vec<u8>,
    /// The intervals its confirmed and checked-in reservations hold.
    pub busy: Vec<Interval>,
}

impl SpaceAvailability {
    /// A space with `windows` whose reservations hold `busy`.
    pub fn new(windows: &Windows, busy: Vec<Interval>) -> Self {
        Self {
            windows: encode_windows(windows),
            busy,
        }
    }

    /// Whether its owner shares nothing: no search need look further.
    pub fn is_unshared(&self) -> bool {
        self.windows.is_empty()
    }

    /// Its windows, decoded.
    pub fn windows(&self) -> Result<Windows, Error> {
        if self.windows.is_empty() {
            return Ok(Windows::default());
        }
        serde_json::from_slice(&self.windows)
            .map_err(|e| Error::Internal(format!("a space's windows in a lot index: {e}")))
    }
}

fn encode_windows(windows: &Windows) -> Vec<u8> {
    if windows.is_empty() {
        return Vec::new();
    }
    serde_json::to_vec(windows).expect("windows always encode as JSON")
}

/// Every space of one lot that has windows or reservations, by id.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LotAvailability {
    pub spaces: BTreeMap<String, SpaceAvailability>,
}

impl LotAvailability {
    pub fn key(lot: &str) -> String {
        format!("lot/{lot}/availability")
    }

    /// The lot's index as stored (empty when nothing was ever shared or
    /// reserved in it), rebuilt first when stored in another format.
    pub fn read(lot: &str) -> Result<Self, Error> {
        let Some(bytes) = store::get(&Self::key(lot))? else {
            return Ok(Self::default());
        };
        match decode(&bytes) {
            Some(index) => Ok(index),
            None => {
                log::info(&format!(
                    "the availability index of lot {lot} is in an older format: rebuilding it"
                ));
                let index = rebuild(lot)?;
                index.save(lot)?;
                Ok(index)
            }
        }
    }

    fn save(&self, lot: &str) -> Result<(), Error> {
        let mut bytes = vec![FORMAT];
        bytes.extend(
            postcard::to_allocvec(self)
                .map_err(|e| Error::Internal(format!("encoding lot {lot}'s index: {e}")))?,
        );
        store::set(&Self::key(lot), &bytes)
    }
}

/// The index stored as `bytes`, if it is in this version's format.
pub fn decode(bytes: &[u8]) -> Option<LotAvailability> {
    match bytes.split_first() {
        Some((&FORMAT, rest)) => postcard::from_bytes(rest).ok(),
        _ => None,
    }
}

/// The index of `lot` from its spaces' own windows and books.
fn rebuild(lot: &str) -> Result<LotAvailability, Error> {
    let mut index = LotAvailability::default();
    for space in places::all_spaces()?.into_iter().filter(|s| s.lot == lot) {
        let windows: Windows = state::get(&Windows::key(&space.id))?.unwrap_or_default();
        let book: Book = state::get(&Book::key(&space.id))?.unwrap_or_default();
        let entry = SpaceAvailability::new(&windows, book.active_intervals());
        if entry != SpaceAvailability::default() {
            index.spaces.insert(space.id, entry);
        }
    }
    Ok(index)
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
    lot.save(&space.lot)
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
    let encoded = encode_windows(windows);
    update(space, |entry| {
        let changed = entry.windows != encoded;
        entry.windows = encoded;
        changed
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_index_reads_back_as_saved_and_a_json_one_is_not_taken_for_it() {
        let mut index = LotAvailability::default();
        index.spaces.insert(
            "space-1".into(),
            SpaceAvailability::new(&Windows::default(), vec![Interval::new(5, 9).unwrap()]),
        );
        let mut bytes = vec![FORMAT];
        bytes.extend(postcard::to_allocvec(&index).unwrap());
        assert_eq!(decode(&bytes), Some(index));
        assert_eq!(decode(br#"{"spaces":{}}"#), None);
        assert_eq!(decode(&[]), None);
        assert_eq!(decode(&[FORMAT, 0xff, 0xff]), None);
    }
}
