//! What would settle an inconclusive figure: how many replicates, or how much more traffic, would
//! bring the 95% interval's half-width below the distance from the estimate to the limit, if the
//! estimate and the spread stay as measured.
//!
//! That is a planning figure, not a promise: the estimate itself moves as data comes in, and with it
//! the distance (under the usual normal approximation, the estimate lands on the measured side of
//! the limit about half the time it would cross, so treat the answer as the least that could settle
//! it). Replicates use the measured spread: the paired differences' standard deviation, or each
//! side's for unpaired inputs, with the t quantile for the new degrees of freedom. Traffic uses the
//! fact that a replicate's spread comes from sampling requests, so the half-width shrinks as one
//! over the square root of the trace length: `k = (half-width / distance)^2` times the traffic.
//! For totals (cost, 429s) that holds against a relative limit, whose limit grows with the traffic
//! as the total does; against an absolute limit on a total, read the factor with that in mind.

use serde::{Deserialize, Serialize};

use super::figure::Direction;
use super::paired::{Basis, Change};
use super::verdict::worsening;
use crate::report::t95;

/// No estimate beyond this many replicates: the figure is, in practice, on its limit.
pub const MAX_REPLICATES: u64 = 1_000_000_000;

/// How an inconclusive figure could be settled.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Power {
    /// One replicate (per side): the spread is unknown. Two replicates estimate it; three or more
    /// give an interval worth reading (t95 with one degree of freedom is 12.7).
    SpreadUnknown,
    /// The estimate sits exactly on the limit: more data only narrows the interval around it.
    OnTheLimit,
    Estimate {
        /// From the estimate to the limit, in the figure's unit.
        distance: f64,
        /// The current interval's half-width.
        half_width: f64,
        /// Replicates (per side) from which the half-width is below the distance; `None` beyond
        /// [`MAX_REPLICATES`].
        replicates: Option<u64>,
        /// The multiple of the current traffic at which the half-width reaches the distance (any
        /// more settles it), with the current number of replicates.
        traffic_factor: f64,
    },
}

/// The half-width of the 95% interval `change`'s spread would give with `n` replicates per side.
/// `None` when the spread is unknown.
pub fn half_width_at(change: &Change, n: u64) -> Option<f64> {
    if n < 2 {
        return None;
    }
    let m = n as f64;
    match change.basis {
        Basis::Paired => change.difference_sd.map(|sd| t95_of(n - 1) * sd / m.sqrt()),
        Basis::Unpaired => {
            let (vb, vc) = (change.baseline.sd?.powi(2), change.candidate.sd?.powi(2));
            let variance = vb + vc;
            if variance == 0.0 {
                return Some(0.0);
            }
            // Welch-Satterthwaite with n per side, rounded down as in `paired::welch`.
            let df = variance * variance * (m - 1.0) / (vb * vb + vc * vc);
            Some(t95_of(df.floor() as u64) * (variance / m).sqrt())
        }
    }
}

fn t95_of(df: u64) -> f64 {
    t95(usize::try_from(df.max(1)).unwrap_or(usize::MAX))
}

/// What would settle `change` against `limit` (the allowed worsening in the figure's unit). Meant
/// for an inconclusive figure; for a settled one the answer is the current replicates.
pub fn settle(change: &Change, direction: Direction, limit: f64) -> Power {
    let Some(interval) = change.interval() else {
        return Power::SpreadUnknown;
    };
    let distance = (limit - worsening(change.difference, direction)).abs();
    if distance == 0.0 {
        return Power::OnTheLimit;
    }
    let half_width = interval.half_width();
    let clears = |n: u64| half_width_at(change, n).is_some_and(|h| h < distance);
    let current = change.replicates() as u64;
    let replicates = if half_width < distance {
        Some(current)
    } else {
        // The half-width falls as n grows (t95 falls, and so does 1 / sqrt(n)): double until it
        // clears, then bisect for the first n that does.
        let mut low = current.max(1);
        let mut high = (2 * low).max(2);
        while !clears(high) && high < MAX_REPLICATES {
            low = high;
            high = (2 * high).min(MAX_REPLICATES);
        }
        if clears(high) {
            while high - low > 1 {
                let mid = low + (high - low) / 2;
                if clears(mid) { high = mid } else { low = mid }
            }
            Some(high)
        } else {
            None
        }
    };
    Power::Estimate { distance, half_width, replicates, traffic_factor: (half_width / distance).powi(2) }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::compare::paired::{Interval, Moments};
    use crate::compare::verdict::{Outcome, classify, worsening_interval};

    /// `n` values with mean `mean` and sample standard deviation `sd` (evenly spaced, rescaled).
    fn replicates_with(n: usize, mean: f64, sd: f64) -> Vec<f64> {
        let z: Vec<f64> = (0..n).map(|i| i as f64 - (n - 1) as f64 / 2.0).collect();
        let z_sd = (z.iter().map(|x| x * x).sum::<f64>() / (n - 1) as f64).sqrt();
        z.iter().map(|x| mean + sd * x / z_sd).collect()
    }

    /// Paired inputs whose differences have the given mean and sd: baseline 100 in every replicate.
    fn paired(n: usize, mean: f64, sd: f64) -> Change {
        let baseline = vec![100.0; n];
        let candidate: Vec<f64> = replicates_with(n, mean, sd).iter().map(|d| 100.0 + d).collect();
        Change::paired(&baseline, &candidate)
    }

    fn outcome(change: &Change, limit: f64) -> Outcome {
        classify(change.interval().map(|i| worsening_interval(i, Direction::HigherIsWorse)), limit)
    }

    /// The estimate, applied, settles it: the same mean and spread with the estimated replicates
    /// are pass or fail, and with one fewer still inconclusive.
    fn check(mean: f64, sd: f64, n: usize, limit: f64, want_replicates: u64, settled_as: Outcome) {
        let change = paired(n, mean, sd);
        assert_eq!(outcome(&change, limit), Outcome::Inconclusive, "the case should start inconclusive");
        let Power::Estimate { distance, half_width, replicates, traffic_factor } =
            settle(&change, Direction::HigherIsWorse, limit)
        else {
            panic!("expected an estimate");
        };
        assert_eq!(replicates, Some(want_replicates), "distance {distance}, half-width {half_width}");
        let needed = want_replicates as usize;
        assert_eq!(outcome(&paired(needed, mean, sd), limit), settled_as, "{needed} replicates");
        assert_eq!(outcome(&paired(needed - 1, mean, sd), limit), Outcome::Inconclusive, "{} replicates", needed - 1);
        // k times the traffic: half-width / sqrt(k) is the distance.
        let shrunk = half_width / traffic_factor.sqrt();
        assert!((shrunk - distance).abs() < 1e-12 * distance.max(1.0), "{shrunk} vs {distance}");
    }

    #[test]
    fn replicates_that_settle_an_inconclusive_figure() {
        // Mean 1.5, sd 1, 4 replicates, limit 2: distance 0.5, half-width 3.182 / 2 = 1.591.
        // t95(n-1) / sqrt(n) < 0.5 first at n = 18 (2.110 / 4.243 = 0.4973; n = 17: 2.120 / 4.123
        // = 0.5142).
        check(1.5, 1.0, 4, 2.0, 18, Outcome::Pass);
        // Above the limit: mean 2.6, sd 1, limit 2: distance 0.6. n = 13: 2.179 / 3.606 = 0.6043;
        // n = 14: 2.160 / 3.742 = 0.5773.
        check(2.6, 1.0, 3, 2.0, 14, Outcome::Fail);
        // A distance of 0.05 with sd 1 needs the normal quantile: (1.96 / 0.05)^2 = 1536.6 -> 1537.
        check(1.95, 1.0, 5, 2.0, 1537, Outcome::Pass);
    }

    #[test]
    fn traffic_factor_is_the_squared_ratio() {
        let change = paired(4, 1.5, 1.0);
        let Power::Estimate { traffic_factor, half_width, distance, .. } =
            settle(&change, Direction::HigherIsWorse, 2.0)
        else {
            panic!("expected an estimate");
        };
        // Half-width 3.182 * 1 / sqrt(4) = 1.591; distance 0.5; (1.591 / 0.5)^2 = 10.125124.
        assert!((half_width - 1.591).abs() < 1e-12, "{half_width}");
        assert!((distance - 0.5).abs() < 1e-12, "{distance}");
        assert!((traffic_factor - 10.125124).abs() < 1e-9, "{traffic_factor}");
    }

    #[test]
    fn unknown_spread_and_the_limit_itself() {
        let one = Change::paired(&[1.0], &[2.0]);
        assert_eq!(settle(&one, Direction::HigherIsWorse, 0.5), Power::SpreadUnknown);
        // The estimate exactly on the limit.
        let on = paired(4, 2.0, 1.0);
        assert_eq!(settle(&on, Direction::HigherIsWorse, 2.0), Power::OnTheLimit);
        // Higher is better: a fall of 1.5 against an allowed fall of 2 is 0.5 inside it.
        let fall = paired(4, -1.5, 1.0);
        let Power::Estimate { distance, .. } = settle(&fall, Direction::HigherIsBetter, 2.0) else { panic!() };
        assert!((distance - 0.5).abs() < 1e-12, "{distance}");
    }

    #[test]
    fn unpaired_replicates_use_both_spreads() {
        // sd 1 on each side, 3 replicates each, difference 1.5 against a limit of 2.
        let side = |mean| Moments { n: 3, mean, sd: Some(1.0) };
        let change = Change::unpaired(side(10.0), side(11.5));
        let interval: Interval = change.interval().unwrap();
        let Power::Estimate { replicates: Some(n), .. } = settle(&change, Direction::HigherIsWorse, 2.0) else {
            panic!("expected an estimate")
        };
        // Half-width t95(2n - 2) * sqrt(2 / n) < 0.5: n = 31 gives t95(60) = 2.000 * 0.25400 =
        // 0.50800, n = 32 gives t95(62) = 1.980 * 0.25 = 0.495.
        assert_eq!(n, 32, "current interval {interval:?}");
    }
}
