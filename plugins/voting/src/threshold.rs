//! The fractions the Civil Code decides by — at least two thirds, at least
//! three quarters, more than half — compared exactly, by
//! cross-multiplication of whole numbers: `part / whole ≥ 2/3` is
//! `part × 3 ≥ whole × 2`. No division, no floats, so a count exactly on an
//! edge is decided the way the law reads.

use serde::Serialize;

/// Whether the edge itself passes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Comparison {
    /// `≥`: "至少" / "以上" (in Chinese statutes 以上 includes the number itself).
    AtLeast,
    /// `>`: "过半数", more than half.
    MoreThan,
}

/// A fraction a measure must reach.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Bar {
    pub comparison: Comparison,
    pub numerator: u64,
    pub denominator: u64,
}

/// Participation: two thirds of the area and two thirds of the owners.
pub const QUORUM: Bar = Bar::at_least(2, 3);
/// Classes 6–8: three quarters of what took part.
pub const THREE_QUARTERS: Bar = Bar::at_least(3, 4);
/// Every other class: more than half of what took part.
pub const MORE_THAN_HALF: Bar = Bar::more_than(1, 2);

impl Bar {
    pub const fn at_least(numerator: u64, denominator: u64) -> Self {
        Self {
            comparison: Comparison::AtLeast,
            numerator,
            denominator,
        }
    }

    pub const fn more_than(numerator: u64, denominator: u64) -> Self {
        Self {
            comparison: Comparison::MoreThan,
            numerator,
            denominator,
        }
    }

    /// Whether `part` of `whole` reaches the bar. Nothing of nothing
    /// reaches no bar: a measure over an empty whole decides nothing.
    pub fn met(&self, part: u64, whole: u64) -> bool {
        if whole == 0 {
            return false;
        }
        let (left, right) = self.sides(part, whole);
        match self.comparison {
            Comparison::AtLeast => left >= right,
            Comparison::MoreThan => left > right,
        }
    }

    /// `part × denominator` and `whole × numerator`, in 128 bits so no sum
    /// of areas can overflow.
    fn sides(&self, part: u64, whole: u64) -> (u128, u128) {
        (
            u128::from(part) * u128::from(self.denominator),
            u128::from(whole) * u128::from(self.numerator),
        )
    }

    /// `at least 2/3`, `more than 1/2`.
    pub fn describe(&self) -> String {
        let words = match self.comparison {
            Comparison::AtLeast => "at least",
            Comparison::MoreThan => "more than",
        };
        format!("{words} {}/{}", self.numerator, self.denominator)
    }

    /// One measure against this bar, with the working shown. `show` writes a
    /// value the way a person reads it (an area in m², a head count).
    pub fn check(&self, part: u64, whole: u64, show: impl Fn(u64) -> String) -> Check {
        let (left, right) = self.sides(part, whole);
        let met = self.met(part, whole);
        let sign = match (self.comparison, met) {
            (Comparison::AtLeast, true) => "≥",
            (Comparison::AtLeast, false) | (Comparison::MoreThan, false) => "<",
            (Comparison::MoreThan, true) => ">",
        };
        // Equal sides fail a "more than" bar: say so rather than "<".
        let sign = if left == right && !met { "=" } else { sign };
        Check {
            value: show(part),
            of: show(whole),
            needs: self.describe(),
            met,
            working: format!(
                "{part} × {} = {left} {sign} {whole} × {} = {right}",
                self.denominator, self.numerator
            ),
        }
    }
}

/// One measure set against a bar: what a result shows for each line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Check {
    /// What was counted (agreeing area, participating owners, …).
    pub value: String,
    /// What it is measured against (participating area, total owners, …).
    pub of: String,
    /// The bar: `at least 2/3`.
    pub needs: String,
    pub met: bool,
    /// The cross-multiplication, in whole numbers (areas in hundredths of
    /// m²), so anyone can redo it by hand.
    pub working: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn two_thirds_exactly_is_a_quorum_and_one_less_is_not() {
        assert!(QUORUM.met(2, 3));
        assert!(QUORUM.met(200, 300));
        assert!(!QUORUM.met(199, 300));
        assert!(QUORUM.met(6, 8), "6/8 = 0.75 ≥ 2/3");
        // 5 of 8 is 0.625.
        assert!(!QUORUM.met(5, 8));
    }

    #[test]
    fn three_quarters_exactly_passes_the_special_classes() {
        assert!(THREE_QUARTERS.met(3, 4));
        assert!(THREE_QUARTERS.met(75, 100));
        assert!(!THREE_QUARTERS.met(74, 100));
    }

    #[test]
    fn half_exactly_is_not_more_than_half() {
        assert!(!MORE_THAN_HALF.met(1, 2));
        assert!(!MORE_THAN_HALF.met(50, 100));
        assert!(MORE_THAN_HALF.met(51, 100));
        assert!(MORE_THAN_HALF.met(2, 3));
    }

    #[test]
    fn an_empty_whole_decides_nothing() {
        assert!(!QUORUM.met(0, 0));
        assert!(!THREE_QUARTERS.met(0, 0));
        assert!(!MORE_THAN_HALF.met(0, 0));
    }

    #[test]
    fn huge_areas_do_not_overflow() {
        assert!(QUORUM.met(u64::MAX / 3 * 2 + 1, u64::MAX / 3 * 3));
    }

    #[test]
    fn a_check_shows_its_working() {
        let check = MORE_THAN_HALF.check(50, 100, |n| n.to_string());
        assert!(!check.met);
        assert_eq!(check.working, "50 × 2 = 100 = 100 × 1 = 100");
        assert_eq!(check.needs, "more than 1/2");
        let check = QUORUM.check(2, 3, |n| format!("{n} owners"));
        assert!(check.met);
        assert_eq!(check.value, "2 owners");
        assert_eq!(check.working, "2 × 3 = 6 ≥ 3 × 2 = 6");
    }
}
