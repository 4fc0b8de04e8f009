//! What a parker pays: the time used at the reservation's rate, and an
//! overstay fee.
//!
//! All amounts are whole community points (`u64`), never floats: the ledger
//! moves integers, and a fraction of a point rounds up so the owner is never
//! paid less than the rate says. Time used runs from the later of check-in
//! and the reservation's start (arriving early is free) to check-out, and is
//! rounded up to the billing step (15 minutes by default). Time past the end
//! is still time used, charged at the same rate; past the end and the
//! overstay grace, a fee is added per started fee step.

use serde::{Deserialize, Serialize};

use crate::config::Config;

const HOUR_MS: i64 = 3_600_000;

/// What one reservation cost at check-out.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Settlement {
    /// Milliseconds the space was used, before rounding.
    pub used_ms: i64,
    /// Milliseconds charged: `used_ms` rounded up to the billing step.
    pub billed_ms: i64,
    /// Points for the time, which the owner earns.
    pub charge: u64,
    /// Started fee steps past the end and the grace.
    pub overstay_steps: u32,
    /// Points of overstay fee.
    pub overstay_fee: u64,
}

impl Settlement {
    /// What the parker pays in all.
    pub fn total(&self) -> u64 {
        self.charge + self.overstay_fee
    }
}

/// `used_ms` rounded up to a whole number of `step_ms`.
pub fn billed_ms(used_ms: i64, step_ms: i64) -> i64 {
    ceil_div(used_ms.max(0), step_ms) * step_ms
}

/// Points for `billed_ms` at `rate_per_hour`, a fraction of a point rounded up.
pub fn charge(rate_per_hour: u32, billed_ms: i64) -> u64 {
    let billed = u64::try_from(billed_ms.max(0)).unwrap_or(0);
    (u64::from(rate_per_hour) * billed).div_ceil(HOUR_MS as u64)
}

/// Started fee steps between `end` plus the grace and `at`: none up to the
/// grace's last instant, one for any part of the first step after it.
pub fn overstay_steps(end: i64, at: i64, config: &Config) -> u32 {
    let late = at - (end + config.overstay.grace_ms);
    if late <= 0 {
        return 0;
    }
    u32::try_from(ceil_div(late, config.overstay.fee_step_ms)).unwrap_or(u32::MAX)
}

/// `count / step` rounded up, for a `count` of at least 0 and a positive `step`
/// (the signed `div_ceil` is not stable).
fn ceil_div(count: i64, step: i64) -> i64 {
    count / step + i64::from(count % step != 0)
}

/// The settlement of a reservation `[start, end)` at `rate_per_hour`,
/// checked in at `checked_in` and out at `checked_out`.
pub fn settle(
    rate_per_hour: u32,
    start: i64,
    end: i64,
    checked_in: i64,
    checked_out: i64,
    config: &Config,
) -> Settlement {
    let used_ms = (checked_out - checked_in.max(start)).max(0);
    let billed_ms = billed_ms(used_ms, config.pricing.billing_step_ms);
    let overstay_steps = overstay_steps(end, checked_out, config);
    Settlement {
        used_ms,
        billed_ms,
        charge: charge(rate_per_hour, billed_ms),
        overstay_steps,
        overstay_fee: u64::from(overstay_steps) * u64::from(config.overstay.fee_points_per_step),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MINUTE: i64 = 60_000;

    #[test]
    fn time_used_rounds_up_to_fifteen_minutes() {
        let step = 15 * MINUTE;
        assert_eq!(billed_ms(0, step), 0);
        assert_eq!(billed_ms(1, step), step);
        assert_eq!(billed_ms(15 * MINUTE, step), step);
        assert_eq!(billed_ms(15 * MINUTE + 1, step), 2 * step);
    }

    #[test]
    fn a_fraction_of_a_point_is_paid_to_the_owner() {
        assert_eq!(charge(6, 60 * MINUTE), 6);
        // A quarter of an hour at 6 points is 1.5 points.
        assert_eq!(charge(6, 15 * MINUTE), 2);
        assert_eq!(charge(0, 600 * MINUTE), 0);
    }

    #[test]
    fn a_night_checked_in_early_and_out_late_pays_time_and_fee() {
        let config = Config::default();
        let (start, end) = (0, 600 * MINUTE); // 19:00–05:00 say
        let settled = settle(4, start, end, -10 * MINUTE, end + 31 * MINUTE, &config);
        assert_eq!(settled.used_ms, 631 * MINUTE);
        assert_eq!(settled.billed_ms, 645 * MINUTE);
        assert_eq!(settled.charge, 43); // 10.75 hours at 4
                                        // 31 minutes late, 15 of grace: 16 minutes is two started steps.
        assert_eq!(settled.overstay_steps, 2);
        assert_eq!(settled.overstay_fee, 10);
        assert_eq!(settled.total(), 53);
    }

    #[test]
    fn leaving_within_the_grace_costs_no_fee() {
        let config = Config::default();
        assert_eq!(overstay_steps(0, 15 * MINUTE, &config), 0);
        assert_eq!(overstay_steps(0, 15 * MINUTE + 1, &config), 1);
        let settled = settle(10, 0, 60 * MINUTE, 5 * MINUTE, 70 * MINUTE, &config);
        // 65 minutes is billed as 75: 12.5 points, paid as 13.
        assert_eq!((settled.charge, settled.overstay_fee), (13, 0));
    }
}
