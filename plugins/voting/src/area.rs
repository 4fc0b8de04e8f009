//! Exclusive area (专有部分面积), the weight of a unit's ballot, kept as a
//! whole number of hundredths of a square metre.
//!
//! The map gives areas as decimals in m² (89.2), and registers record them
//! to the hundredth. Binary floating point cannot hold most of those
//! exactly (89.2 is 89.2000000000000028…), so a sum of them compared with
//! two thirds of another could land on the wrong side of an exact edge.
//! Converted once to hundredths at the edge, every sum and comparison after
//! that is integer arithmetic and exact.

use std::fmt;
use std::ops::{Add, AddAssign};

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// An area in hundredths of a square metre.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Area(u64);

/// The largest area one unit may have: a million square metres, far above
/// any flat or shop, and small enough that 10 million of them add up
/// without overflow.
const MAX_UNIT_HUNDREDTHS: u64 = 100_000_000;

impl Area {
    /// The area of `hundredths` hundredths of a square metre.
    pub const fn from_hundredths(hundredths: u64) -> Self {
        Self(hundredths)
    }

    /// A unit's area as the map gives it, rounded to the nearest hundredth;
    /// `None` unless it is a finite number above 0 and at most a million m².
    pub fn from_m2(m2: f64) -> Option<Self> {
        if !m2.is_finite() || m2 <= 0.0 {
            return None;
        }
        let hundredths = (m2 * 100.0).round();
        // Rounding can take a tiny positive area to zero: it has no weight.
        if hundredths < 1.0 || hundredths > MAX_UNIT_HUNDREDTHS as f64 {
            return None;
        }
        Some(Self(hundredths as u64))
    }

    /// The area in hundredths of a square metre.
    pub const fn hundredths(self) -> u64 {
        self.0
    }
}

impl Add for Area {
    type Output = Area;

    fn add(self, other: Area) -> Area {
        Area(self.0 + other.0)
    }
}

impl AddAssign for Area {
    fn add_assign(&mut self, other: Area) {
        self.0 += other.0;
    }
}

impl std::iter::Sum for Area {
    fn sum<I: Iterator<Item = Area>>(areas: I) -> Area {
        areas.fold(Area::default(), Add::add)
    }
}

/// `89.20`: square metres with both decimals, exact.
impl fmt::Display for Area {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{:02}", self.0 / 100, self.0 % 100)
    }
}

/// Written as its decimal text (`"89.20"`), so JSON readers that parse
/// numbers as floats still see the exact value.
impl Serialize for Area {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Area {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        text.parse().map_err(|_| {
            serde::de::Error::custom(format!("{text:?} is not an area like \"89.20\""))
        })
    }
}

impl std::str::FromStr for Area {
    type Err = ();

    /// Reads `89.20` (exactly two decimals), as [`Area`] writes it.
    fn from_str(text: &str) -> Result<Self, ()> {
        let (whole, fraction) = text.split_once('.').ok_or(())?;
        let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
        if !digits(whole) || fraction.len() != 2 || !digits(fraction) {
            return Err(());
        }
        let whole: u64 = whole.parse().map_err(|_| ())?;
        let fraction: u64 = fraction.parse().map_err(|_| ())?;
        whole
            .checked_mul(100)
            .and_then(|w| w.checked_add(fraction))
            .map(Area)
            .ok_or(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn map_areas_become_exact_hundredths() {
        assert_eq!(Area::from_m2(89.2), Some(Area::from_hundredths(8920)));
        assert_eq!(Area::from_m2(68.5), Some(Area::from_hundredths(6850)));
        assert_eq!(Area::from_m2(120.0), Some(Area::from_hundredths(12000)));
        // A third decimal is rounded off, as a register would.
        assert_eq!(Area::from_m2(0.125), Some(Area::from_hundredths(13)));
        assert_eq!(Area::from_m2(0.004), None);
    }

    #[test]
    fn nothing_but_a_positive_finite_area_weighs() {
        for refused in [0.0, -1.0, f64::NAN, f64::INFINITY, 2e6] {
            assert_eq!(Area::from_m2(refused), None, "{refused}");
        }
    }

    #[test]
    fn sums_stay_exact_where_floats_drift() {
        // 0.1 + 0.2 != 0.3 in floats; in hundredths it is.
        let sum: Area = [0.1, 0.2].into_iter().filter_map(Area::from_m2).sum();
        assert_eq!(sum, Area::from_m2(0.3).unwrap());
        let total: Area = std::iter::repeat_n(Area::from_m2(89.2).unwrap(), 3).sum();
        assert_eq!(total.to_string(), "267.60");
    }

    #[test]
    fn text_round_trips() {
        for area in [Area::from_hundredths(5), Area::from_hundredths(880_560)] {
            assert_eq!(area.to_string().parse::<Area>(), Ok(area));
        }
        assert_eq!(Area::from_hundredths(5).to_string(), "0.05");
        for refused in ["89.2", "89", ".20", "8a.20", "-1.00"] {
            assert!(refused.parse::<Area>().is_err(), "{refused}");
        }
        let json = serde_json::to_string(&Area::from_hundredths(8920)).unwrap();
        assert_eq!(json, "\"89.20\"");
        assert_eq!(
            serde_json::from_str::<Area>(&json).unwrap(),
            Area::from_hundredths(8920)
        );
    }
}
