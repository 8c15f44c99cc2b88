//! The change in one figure between a baseline and a candidate, with its 95% interval.
//!
//! Paired replicates are the main case: replicate r of both policies runs on the same trace with the
//! same per-request random streams (common random numbers), so most of the noise is shared and
//! cancels in the per-replicate difference. The interval is then Student's t on those differences
//! (`report::mean_ci95`, the helper every other interval in switchyard uses). The unpaired Welch
//! interval is computed beside it, to show what pairing bought, and is the only interval two saved
//! reports allow (they keep a mean and an interval per figure, not the replicates).
//!
//! Two rules keep the figures honest at the edges: a difference that is exactly zero in every
//! replicate is exactly zero with a zero-width interval (identical inputs and seed give identical
//! results, bit for bit), and one replicate with any other difference has an unknown interval, not
//! a zero-width one.

use serde::{Deserialize, Serialize};

use crate::report::{mean_ci95, t95};

/// A closed interval `[low, high]`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Interval {
    pub low: f64,
    pub high: f64,
}

impl Interval {
    pub fn around(centre: f64, half_width: f64) -> Interval {
        Interval { low: centre - half_width, high: centre + half_width }
    }
    pub fn half_width(&self) -> f64 {
        (self.high - self.low) / 2.0
    }
    pub fn contains(&self, x: f64) -> bool {
        self.low <= x && x <= self.high
    }
}

/// One side's replicate values, summarised: count, mean, and standard deviation (unknown with fewer
/// than two replicates).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Moments {
    pub n: usize,
    pub mean: f64,
    pub sd: Option<f64>,
}

impl Moments {
    /// Of replicate values (at least one).
    pub fn of(xs: &[f64]) -> Moments {
        let n = xs.len();
        let mean = xs.iter().sum::<f64>() / n as f64;
        let sd = (n >= 2).then(|| (xs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1) as f64).sqrt());
        Moments { n, mean, sd }
    }

    /// From a saved report's mean and the half-width of its 95% Student t interval over `n`
    /// replicates (the inverse of `report::mean_ci95`).
    pub fn from_ci95(mean: f64, half_width: f64, n: usize) -> Moments {
        let sd = (n >= 2).then(|| half_width * (n as f64).sqrt() / t95(n - 1));
        Moments { n, mean, sd }
    }
}

/// How a figure's two sides relate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Basis {
    /// Replicate r of both sides shared its random numbers.
    Paired,
    /// Independent runs (saved reports): intervals are wider.
    Unpaired,
}

/// A figure's inputs.
#[derive(Debug, Clone, PartialEq)]
pub enum Values {
    /// Per-replicate values, replicate r of both sides run with the same random numbers.
    Paired { baseline: Vec<f64>, candidate: Vec<f64> },
    /// Independent summaries (two saved reports).
    Unpaired { baseline: Moments, candidate: Moments },
}

/// The change in one figure.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Change {
    pub basis: Basis,
    pub baseline: Moments,
    pub candidate: Moments,
    /// Candidate minus baseline (the mean of the per-replicate differences when paired).
    pub difference: f64,
    /// `difference / |baseline mean|`; unknown when the baseline is zero and the difference is not.
    pub relative: Option<f64>,
    /// Standard deviation of the per-replicate differences (paired, two or more replicates).
    pub difference_sd: Option<f64>,
    /// 95% interval of the difference from the paired replicates; `None` when unpaired or unknown.
    pub paired: Option<Interval>,
    /// 95% Welch interval treating the two sides as independent; `None` when unknown.
    pub unpaired: Option<Interval>,
}

impl Change {
    /// The interval the verdict uses: paired when the inputs are, else unpaired. `None`: unknown.
    pub fn interval(&self) -> Option<Interval> {
        match self.basis {
            Basis::Paired => self.paired,
            Basis::Unpaired => self.unpaired,
        }
    }

    /// Replicates behind the interval (per side).
    pub fn replicates(&self) -> usize {
        self.baseline.n.min(self.candidate.n)
    }

    /// From paired replicate values (equal lengths, at least one each; `compare` checks).
    pub fn paired(baseline: &[f64], candidate: &[f64]) -> Change {
        debug_assert!(!baseline.is_empty() && baseline.len() == candidate.len());
        let diffs: Vec<f64> = baseline.iter().zip(candidate).map(|(b, c)| c - b).collect();
        let (difference, half_width) = mean_ci95(&diffs);
        let n = diffs.len();
        let difference_sd = (n >= 2).then(|| Moments::of(&diffs).sd.unwrap_or(0.0));
        let paired = if n >= 2 || difference == 0.0 { Some(Interval::around(difference, half_width)) } else { None };
        let (baseline, candidate) = (Moments::of(baseline), Moments::of(candidate));
        Change {
            basis: Basis::Paired,
            relative: relative(difference, baseline.mean),
            unpaired: welch(&baseline, &candidate),
            baseline,
            candidate,
            difference,
            difference_sd,
            paired,
        }
    }

    /// From independent summaries.
    pub fn unpaired(baseline: Moments, candidate: Moments) -> Change {
        let difference = candidate.mean - baseline.mean;
        Change {
            basis: Basis::Unpaired,
            relative: relative(difference, baseline.mean),
            unpaired: welch(&baseline, &candidate),
            baseline,
            candidate,
            difference,
            difference_sd: None,
            paired: None,
        }
    }

    pub fn of(values: &Values) -> Change {
        match values {
            Values::Paired { baseline, candidate } => Change::paired(baseline, candidate),
            Values::Unpaired { baseline, candidate } => Change::unpaired(*baseline, *candidate),
        }
    }
}

fn relative(difference: f64, baseline: f64) -> Option<f64> {
    if difference == 0.0 {
        Some(0.0)
    } else if baseline != 0.0 {
        Some(difference / baseline.abs())
    } else {
        None
    }
}

/// Welch's interval for the difference of two independent means, with the Welch-Satterthwaite
/// degrees of freedom rounded down (the table `t95` is by whole degrees; rounding down widens the
/// interval slightly rather than narrowing it).
fn welch(baseline: &Moments, candidate: &Moments) -> Option<Interval> {
    let difference = candidate.mean - baseline.mean;
    let (Some(sb), Some(sc)) = (baseline.sd, candidate.sd) else {
        // One replicate on a side: no spread to speak of, unless nothing differs at all.
        return (baseline.sd.is_none() && candidate.sd.is_none() && difference == 0.0)
            .then(|| Interval::around(0.0, 0.0));
    };
    let vb = sb * sb / baseline.n as f64;
    let vc = sc * sc / candidate.n as f64;
    let variance = vb + vc;
    if variance == 0.0 {
        return Some(Interval::around(difference, 0.0));
    }
    let df = variance * variance / (vb * vb / (baseline.n - 1) as f64 + vc * vc / (candidate.n - 1) as f64);
    Some(Interval::around(difference, t95((df.floor() as usize).max(1)) * variance.sqrt()))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Tolerance for interval ends computed by hand to six decimals.
    const HAND: f64 = 1e-5;

    fn close(what: &str, got: f64, want: f64, tol: f64) {
        assert!((got - want).abs() <= tol, "{what}: got {got}, expected {want} (tolerance {tol})");
    }

    fn check(baseline: &[f64], candidate: &[f64], difference: f64, paired: Option<(f64, f64)>) {
        let c = Change::paired(baseline, candidate);
        close("difference", c.difference, difference, HAND);
        match (c.paired, paired) {
            (Some(got), Some((low, high))) => {
                close("low", got.low, low, HAND);
                close("high", got.high, high, HAND);
            }
            (None, None) => {}
            (got, want) => panic!("paired interval: got {got:?}, expected {want:?}"),
        }
    }

    #[test]
    fn identical_inputs_give_exactly_zero() {
        let xs = [10.1, 12.7, 11.3, 13.9];
        let c = Change::paired(&xs, &xs);
        assert_eq!(c.difference, 0.0);
        assert_eq!(c.relative, Some(0.0));
        assert_eq!(c.paired, Some(Interval { low: 0.0, high: 0.0 }));
        // One replicate: exactly zero is still exactly zero.
        let c = Change::paired(&[3.3], &[3.3]);
        assert_eq!(c.paired, Some(Interval { low: 0.0, high: 0.0 }));
        assert_eq!(c.unpaired, Some(Interval { low: 0.0, high: 0.0 }));
    }

    #[test]
    fn paired_intervals_against_hand_computation() {
        // Differences 0.5, 0.7, 0.4, 0.6: mean 0.55, squared deviations 0.0025 + 0.0225 + 0.0225 +
        // 0.0025 = 0.05, variance 0.05 / 3, standard error sqrt(0.05 / 3 / 4) = 0.0645497,
        // t95(3) = 3.182, half-width 0.2053970.
        check(&[10.0, 12.0, 11.0, 13.0], &[10.5, 12.7, 11.4, 13.6], 0.55, Some((0.344603, 0.755397)));
        // Two replicates, differences 1 and 3: mean 2, sd sqrt(2), se 1, t95(1) = 12.706.
        check(&[0.0, 0.0], &[1.0, 3.0], 2.0, Some((-10.706, 14.706)));
        // A constant shift: zero spread, zero width, but not zero.
        check(&[1.0, 2.0, 4.0], &[1.5, 2.5, 4.5], 0.5, Some((0.5, 0.5)));
        // One replicate and a real difference: unknown, not zero width.
        check(&[1.0], &[1.25], 0.25, None);
    }

    #[test]
    fn welch_against_hand_computation() {
        // The first case above, unpaired: variances 5/3 and 5.65/3, standard error
        // sqrt((1.666667 + 1.883333) / 4) = 0.942072, Welch df 0.78766 / 0.131765 = 5.98 -> 5,
        // t95(5) = 2.571, half-width 2.422067 around 0.55.
        let c = Change::paired(&[10.0, 12.0, 11.0, 13.0], &[10.5, 12.7, 11.4, 13.6]);
        let welch = c.unpaired.expect("known");
        close("low", welch.low, 0.55 - 2.422067, HAND);
        close("high", welch.high, 0.55 + 2.422067, HAND);
        assert!(c.paired.unwrap().half_width() * 10.0 < welch.half_width(), "{c:?}");
    }

    #[test]
    fn saved_report_moments_give_back_their_interval() {
        let xs = [4.0, 4.5, 5.5, 6.0];
        let (mean, half) = mean_ci95(&xs);
        let m = Moments::from_ci95(mean, half, xs.len());
        close("sd", m.sd.unwrap(), Moments::of(&xs).sd.unwrap(), 1e-12);
        assert_eq!(Moments::from_ci95(4.0, 0.0, 1).sd, None);
    }

    #[test]
    fn unpaired_with_one_replicate_is_unknown() {
        let one = |x| Moments { n: 1, mean: x, sd: None };
        assert_eq!(Change::unpaired(one(1.0), one(2.0)).interval(), None);
        let c = Change::unpaired(one(1.0), Moments { n: 5, mean: 1.0, sd: Some(0.3) });
        assert_eq!(c.interval(), None, "one side without a spread");
    }

    #[test]
    fn relative_difference_is_unknown_on_a_zero_baseline() {
        assert_eq!(Change::paired(&[0.0, 0.0], &[1.0, 2.0]).relative, None);
        assert_eq!(Change::paired(&[0.0, 0.0], &[0.0, 0.0]).relative, Some(0.0));
        close("relative", Change::paired(&[2.0, 2.0], &[2.1, 2.1]).relative.unwrap(), 0.05, 1e-12);
    }
    #[test]
    fn paired_interval_is_narrower_than_unpaired_on_correlated_data() {
        use rand::SeedableRng;
        use rand::rngs::Xoshiro256PlusPlus;
        use rand_distr::{Distribution, LogNormal};
        // A small workload with common random numbers: in each replicate both policies see the same
        // requests (token counts) and the same routing draws; the candidate raises by 10% the price of
        // the endpoint that takes 20% of requests. Most of the replicate-to-replicate spread (how many
        // tokens) is shared, so the paired interval must be far narrower than the unpaired one.
        let tokens = LogNormal::new(6.0, 1.0).unwrap();
        let mut rng = Xoshiro256PlusPlus::seed_from_u64(17);
        let (mut baseline, mut candidate) = (Vec::new(), Vec::new());
        for _replicate in 0..8 {
            let (mut b, mut c) = (0.0, 0.0);
            for _request in 0..2_000 {
                let t: f64 = tokens.sample(&mut rng);
                let routed_there = rand::RngExt::random::<f64>(&mut rng) < 0.2;
                b += t * 1e-6;
                c += t * 1e-6 * if routed_there { 1.1 } else { 1.0 };
            }
            baseline.push(b);
            candidate.push(c);
        }
        let change = Change::paired(&baseline, &candidate);
        let (paired, unpaired) = (change.paired.unwrap().half_width(), change.unpaired.unwrap().half_width());
        println!("paired half-width {paired:.6}, unpaired {unpaired:.6}, ratio {:.1}", unpaired / paired);
        assert!(paired * 5.0 <= unpaired, "paired {paired} is not 5x narrower than unpaired {unpaired}");
        // Both intervals contain the expected change, 10% of 20% of the baseline's mean cost.
        let expected = 0.02 * change.baseline.mean;
        assert!(change.paired.unwrap().contains(expected), "{change:?} vs {expected}");
        assert!(change.unpaired.unwrap().contains(expected), "{change:?} vs {expected}");
    }
}
