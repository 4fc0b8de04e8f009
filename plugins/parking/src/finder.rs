//! Free spaces near a place, read from the lots' availability indexes
//! ([`crate::availability`]): the search command and the offer to a holder
//! blocked by an overstayer both come here.

use std::collections::BTreeMap;

use linli_sdk::map::PlaceDistance;
use linli_sdk::Error;

use crate::access::Requester;
use crate::availability::LotAvailability;
use crate::config::Config;
use crate::interval::Interval;
use crate::places;
use crate::search::{self, Candidate, Offer};

/// The free spaces among `nearby` (as the map answered them, nearest first)
/// that `requester` may reserve for `wanted`, at most `limit`, nearest
/// first. A point of interest the map cannot describe as a space is
/// skipped: one mislabelled place must not break every search. Each lot
/// around is read once.
pub fn offers(
    nearby: Vec<PlaceDistance>,
    wanted: Interval,
    requester: &Requester,
    now: i64,
    limit: usize,
    config: &Config,
) -> Result<Vec<Offer>, Error> {
    let mut lots: BTreeMap<String, LotAvailability> = BTreeMap::new();
    let mut found = Vec::with_capacity(nearby.len());
    for near in nearby {
        let Ok(space) = places::space_of(&near.place) else {
            continue;
        };
        if !lots.contains_key(&space.lot) {
            lots.insert(space.lot.clone(), LotAvailability::read(&space.lot)?);
        }
        found.push((space, near.distance_m));
    }
    let candidates: Vec<Candidate<'_>> = found
        .iter()
        .filter_map(|(space, distance_m)| {
            let shared = lots.get(&space.lot)?.spaces.get(&space.id)?;
            (!shared.windows.is_empty()).then_some(Candidate {
                space,
                distance_m: *distance_m,
                windows: &shared.windows,
                busy: &shared.busy,
            })
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
