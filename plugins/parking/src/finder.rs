//! Free spaces near a place, read from the lots' availability indexes
//! ([`crate::availability`]): the search command and the offer to a holder
//! blocked by an overstayer both come here.

use std::collections::BTreeMap;

use linli_sdk::map::{self, Origin, PlaceDistance};
use linli_sdk::Error;

use crate::availability::LotAvailability;
use crate::config::Config;
use crate::places::{self, SPACE_POI};
use crate::search::{self, Candidate, Offer, Wanted};

/// How many of the nearest spaces a search looks at before it asks the map
/// for every space within the radius (the most the map's `nearest` answers).
pub const FIRST_LOOK: u32 = 100;

/// The lots' indexes a search has read, each read once however many of
/// its spaces come up.
#[derive(Default)]
pub struct Lots(BTreeMap<String, LotAvailability>);

/// The free spaces within `radius_m` of `from` for `wanted`, nearest first.
///
/// Most searches are answered by the nearest spaces, so the map is asked
/// for the [`FIRST_LOOK`] nearest first, and for all of them within the
/// radius (up to the thousand it answers) only when those held too few
/// offers nearer than the farthest of them: a space the first look did not
/// see is at least that far, so it could not displace one of those.
pub fn near(
    from: &Origin,
    radius_m: f64,
    wanted: Wanted<'_>,
    config: &Config,
) -> Result<Vec<Offer>, Error> {
    let mut lots = Lots::default();
    let nearest = map::nearest(SPACE_POI, from, FIRST_LOOK)?;
    let horizon = nearest.last().map_or(0.0, |last| last.distance_m);
    let saw_all = nearest.len() < FIRST_LOOK as usize || horizon > radius_m;
    let within: Vec<PlaceDistance> = nearest
        .into_iter()
        .filter(|near| near.distance_m <= radius_m)
        .collect();
    let first = offers(&mut lots, within, wanted, config)?;
    let settled = first.iter().filter(|o| o.distance_m < horizon).count() >= wanted.limit;
    if saw_all || settled {
        return Ok(first);
    }
    let all = map::within_radius(SPACE_POI, from, radius_m)?;
    offers(&mut lots, all, wanted, config)
}

/// The free spaces among `nearby` for `wanted`, nearest first. A point of
/// interest the map cannot describe as a space is skipped: one mislabelled
/// place must not break every search.
pub fn offers(
    lots: &mut Lots,
    nearby: Vec<PlaceDistance>,
    wanted: Wanted<'_>,
    config: &Config,
) -> Result<Vec<Offer>, Error> {
    let mut found = Vec::with_capacity(nearby.len());
    for near in nearby {
        let Ok(space) = places::space_of(&near.place) else {
            continue;
        };
        if !lots.0.contains_key(&space.lot) {
            lots.0
                .insert(space.lot.clone(), LotAvailability::read(&space.lot)?);
        }
        found.push((space, near.distance_m));
    }
    let mut candidates: Vec<Candidate<'_>> = found
        .iter()
        .filter_map(|(space, distance_m)| {
            Some(Candidate {
                space,
                distance_m: *distance_m,
                availability: lots.0.get(&space.lot)?.spaces.get(&space.id)?,
            })
        })
        .collect();
    search::search(&mut candidates, wanted, config)
}

#[cfg(test)]
mod tests {
    use linli_sdk::testing::{callers, SimulatedHost};
    use serde_json::{json, Value as Json};

    use crate::Parking;

    /// 2026-01-05T00:00 in Shanghai, a Monday.
    const MONDAY: i64 = 1_767_542_400_000;
    const SPACES: usize = 150;

    /// A household in a building at the west end of a row of [`SPACES`]
    /// shared spaces 10 m apart, space `n` about `10 n + 10` m from it.
    fn row() -> Json {
        let east = |metres: f64| [121.4 + metres * 1.0514e-5, 31.2];
        let mut features = vec![
            json!({"type": "Feature", "id": "b1", "geometry": {"type": "Point", "coordinates": east(0.0)}, "properties": {"kind": "building", "name": "Building 1"}}),
            json!({"type": "Feature", "id": "b1-f1", "geometry": null, "properties": {"kind": "floor", "name": "Floor 1", "parent": "b1", "level": 1}}),
            json!({"type": "Feature", "id": "b1-101", "geometry": null, "properties": {"kind": "unit", "name": "Unit 101", "parent": "b1-f1"}}),
            json!({"type": "Feature", "id": "b1-101-hh", "geometry": null, "properties": {"kind": "household", "name": "The Lis", "parent": "b1-101"}}),
        ];
        for person in ["li", "wang"] {
            features.push(json!({"type": "Feature", "id": person, "geometry": null,
                "properties": {"kind": "person", "name": person, "links": [{"kind": "resident-of", "target": "b1-101-hh"}]}}));
        }
        for n in 0..SPACES {
            features.push(json!({"type": "Feature", "id": format!("s-{n:03}"),
                "geometry": {"type": "Point", "coordinates": east(10.0 * n as f64 + 10.0)},
                "properties": {"kind": "poi", "poi_kind": "parking-space", "name": format!("Space {n}"),
                               "attributes": {"class": "shared", "owner": "property", "lot": format!("lot-{}", n / 40)}}}));
        }
        json!({"type": "FeatureCollection", "features": features})
    }

    fn search(host: &mut SimulatedHost<Parking>, who: &str, radius_m: f64) -> Vec<String> {
        let found = host
            .command(
                &callers::resident(who),
                "search",
                json!({"from": "b1-101-hh",
                "start": "2026-01-06 10:00", "end": "2026-01-06 12:00", "radius_m": radius_m}),
            )
            .expect("search answers");
        found["offers"]
            .as_array()
            .unwrap()
            .iter()
            .map(|offer| offer["space"].as_str().unwrap().to_owned())
            .collect()
    }

    /// With the nearest hundred spaces taken, the answer comes from the
    /// spaces beyond them, still nearest first; within a radius that the
    /// first look reaches past, no further look is needed to say so.
    #[test]
    fn a_search_looks_past_the_nearest_hundred_when_they_are_taken() {
        let mut host = SimulatedHost::<Parking>::builder(include_str!("../linli.toml"))
            .map(row())
            .starting_at(MONDAY)
            .start()
            .expect("parking installs");
        let admin = callers::community_admin("office");
        for n in 0..SPACES {
            host.command(&admin, "publish-window", json!({"space": format!("s-{n:03}"),
                "when": {"kind": "weekly", "days": ["mon", "tue", "wed", "thu", "fri", "sat", "sun"], "start": "00:00", "end": "24:00"},
                "price_per_hour": 0}))
                .expect("the property shares the space");
        }
        for n in 0..120 {
            host.command(
                &callers::resident("li"),
                "reserve",
                json!({"space": format!("s-{n:03}"),
                "start": "2026-01-06 10:00", "end": "2026-01-06 12:00"}),
            )
            .expect("a free space is reserved");
        }
        let beyond: Vec<String> = (120..SPACES).map(|n| format!("s-{n:03}")).collect();
        assert_eq!(search(&mut host, "wang", 2_000.0), beyond);
        assert!(
            search(&mut host, "wang", 900.0).is_empty(),
            "within 900 m all 90 are taken"
        );
    }
}
