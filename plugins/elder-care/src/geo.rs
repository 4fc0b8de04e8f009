//! Distances between homes. The map gives a point per unit (or building) and
//! a level per floor; the distance is the straight line between two homes,
//! with each floor counted as [`FLOOR_HEIGHT_M`] of height. It is not a
//! walking route (no stairs or paths are on the map), but over a compound
//! of a few hundred metres it ranks neighbours the way walking would: the
//! flat across the landing first, then the floors above, then the next
//! building.

use serde::{Deserialize, Serialize};

/// Mean Earth radius, metres.
const EARTH_RADIUS_M: f64 = 6_371_008.8;
/// What one floor adds to a distance.
pub const FLOOR_HEIGHT_M: f64 = 3.0;

/// Where someone lives.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Home {
    pub lat: f64,
    pub lon: f64,
    /// The floor: 1 is the ground floor; `None` when the map does not say.
    pub level: Option<i32>,
}

/// Straight-line metres between two homes (equirectangular: within 0.1% of
/// the great circle over a community's few kilometres).
pub fn distance_m(a: &Home, b: &Home) -> f64 {
    let mean_lat = ((a.lat + b.lat) / 2.0).to_radians();
    let east = (b.lon - a.lon).to_radians() * mean_lat.cos() * EARTH_RADIUS_M;
    let north = (b.lat - a.lat).to_radians() * EARTH_RADIUS_M;
    let up = match (a.level, b.level) {
        (Some(x), Some(y)) => f64::from(x - y) * FLOOR_HEIGHT_M,
        _ => 0.0,
    };
    (east * east + north * north + up * up).sqrt()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn home(lon: f64, lat: f64, level: i32) -> Home {
        Home {
            lat,
            lon,
            level: Some(level),
        }
    }

    #[test]
    fn neighbours_across_the_landing_and_upstairs() {
        // Units b1-104 and b1-103 of the demo map: 10 m apart on the ground floor.
        let elder = home(121.4005783, 31.2002473, 1);
        let next_door = home(121.4004731, 31.2002473, 1);
        assert!((distance_m(&elder, &next_door) - 10.0).abs() < 0.05);
        let upstairs = home(121.4005783, 31.2002473, 6);
        assert!((distance_m(&elder, &upstairs) - 15.0).abs() < 1e-9);
        assert_eq!(distance_m(&elder, &elder), 0.0);
    }
}
