//! Free spaces near a place, read from the store: the search command and
//! the offer to a holder blocked by an overstayer both come here.

use linli_sdk::map::PlaceDistance;
use linli_sdk::{state, Error};

use crate::access::Requester;
use crate::config::Config;
use crate::interval::Interval;
use crate::places;
use crate::reservations::Book;
use crate::search::{self, Candidate, Offer};
use crate::windows::Windows;

/// The free spaces among `nearby` (as the map answered them, nearest first)
/// that `requester` may reserve for `wanted`, at most `limit`, nearest
/// first. A point of interest the map cannot describe as a space is
/// skipped: one mislabelled place must not break every search.
pub fn offers(
    nearby: Vec<PlaceDistance>,
    wanted: Interval,
    requester: &Requester,
    now: i64,
    limit: usize,
    config: &Config,
) -> Result<Vec<Offer>, Error> {
    let mut found = Vec::with_capacity(nearby.len());
    for near in nearby {
        let Ok(space) = places::space_of(&near.place) else {
            continue;
        };
        let windows: Windows = state::get(&Windows::key(&space.id))?.unwrap_or_default();
        if windows.is_empty() {
            continue;
        }
        let book: Book = state::get(&Book::key(&space.id))?.unwrap_or_default();
        found.push((space, near.distance_m, windows, book));
    }
    let candidates: Vec<Candidate<'_>> = found
        .iter()
        .map(|(space, distance_m, windows, book)| Candidate {
            space,
            distance_m: *distance_m,
            windows,
            book,
        })
        .collect();
    Ok(search::search(
        &candidates,
        wanted,
        requester,
        now,
        limit,
        config,
    ))
}
