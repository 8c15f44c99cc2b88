//! Fitting one positive quantity (seconds, tokens per second) and measuring the fit.
//!
//! Two models: a lognormal by maximum likelihood (`mu`, `sigma` of the log: the mean and the
//! population standard deviation of `ln x`), and the empirical quantile function on a fixed grid of
//! probabilities (linear between grid points, as [`crate::catalog::LatencyDist::Empirical`] samples
//! it). Goodness of fit is the Kolmogorov-Smirnov distance between a fitted CDF and a sample's
//! empirical CDF, and the relative error of the fitted p50, p90 and p99 against the sample's
//! (type-7) quantiles. Everything here is plain arithmetic on sorted vectors.

use serde::Serialize;

use crate::catalog::LatencyDist;

/// Probabilities of the empirical quantile grid: every 5% to 95%, every 1% to 99%, then 99.5%,
/// 99.9% and the extremes. Dense in the tail, where routing decisions are made.
pub const EMPIRICAL_GRID: [f64; 28] = [
    0.0, 0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.35, 0.4, 0.45, 0.5, 0.55, 0.6, 0.65, 0.7, 0.75, 0.8, 0.85, 0.9, 0.95, 0.96,
    0.97, 0.98, 0.99, 0.995, 0.999, 0.9999, 1.0,
];

/// Type-7 quantile of an ascending, non-empty slice.
pub fn quantile_sorted(sorted: &[f64], p: f64) -> f64 {
    let n = sorted.len();
    let pos = (n - 1) as f64 * p.clamp(0.0, 1.0);
    let k = pos.floor() as usize;
    if k + 1 >= n {
        return sorted[n - 1];
    }
    sorted[k] + (sorted[k + 1] - sorted[k]) * (pos - k as f64)
}

/// Lognormal by maximum likelihood on positive values (non-positive ones are ignored).
pub fn fit_lognormal(values: &[f64]) -> Option<(f64, f64)> {
    let logs: Vec<f64> = values.iter().filter(|v| **v > 0.0).map(|v| v.ln()).collect();
    if logs.is_empty() {
        return None;
    }
    let n = logs.len() as f64;
    let mu = logs.iter().sum::<f64>() / n;
    let var = logs.iter().map(|l| (l - mu) * (l - mu)).sum::<f64>() / n;
    Some((mu, var.sqrt()))
}

/// Empirical quantile points `[p, value]` of an ascending, non-empty slice on [`EMPIRICAL_GRID`].
pub fn fit_empirical(sorted: &[f64]) -> Vec<[f64; 2]> {
    EMPIRICAL_GRID.iter().map(|&p| [p, quantile_sorted(sorted, p)]).collect()
}

/// How well a fitted distribution describes a sample.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, serde::Deserialize)]
pub struct Gof {
    /// Observations compared.
    pub n: usize,
    /// Kolmogorov-Smirnov distance, sup |F_fit - F_sample|.
    pub ks: f64,
    /// Relative errors of the fitted quantiles, (fitted - observed) / observed.
    pub p50_error: f64,
    pub p90_error: f64,
    pub p99_error: f64,
    /// The sample's quantiles.
    pub observed_p50: f64,
    pub observed_p90: f64,
    pub observed_p99: f64,
}

/// Compare `dist` with an ascending, non-empty sample.
pub fn goodness_of_fit(dist: &LatencyDist, sorted: &[f64]) -> Gof {
    let n = sorted.len();
    let mut ks: f64 = 0.0;
    for (i, &x) in sorted.iter().enumerate() {
        let f = dist.cdf(x);
        // Just below and at x the sample CDF is i/n and (i+1)/n (ties: the last of a run counts).
        let below = i as f64 / n as f64;
        let at = (i + 1) as f64 / n as f64;
        if i + 1 < n && sorted[i + 1] == x {
            ks = ks.max(f - below);
            continue;
        }
        ks = ks.max((f - below).abs()).max((at - f).abs());
    }
    let err = |p: f64| {
        let obs = quantile_sorted(sorted, p);
        let fit = dist.quantile(p);
        if obs > 0.0 { (fit - obs) / obs } else { 0.0 }
    };
    Gof {
        n,
        ks,
        p50_error: err(0.5),
        p90_error: err(0.9),
        p99_error: err(0.99),
        observed_p50: quantile_sorted(sorted, 0.5),
        observed_p90: quantile_sorted(sorted, 0.9),
        observed_p99: quantile_sorted(sorted, 0.99),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TOL: f64 = 1e-12;

    #[test]
    fn type7_quantiles_interpolate() {
        let v = [1.0, 2.0, 3.0, 4.0];
        assert_eq!(quantile_sorted(&v, 0.5), 2.5);
        assert_eq!(quantile_sorted(&v, 1.0), 4.0);
        assert!((quantile_sorted(&v, 0.99) - 3.97).abs() < TOL);
    }

    #[test]
    fn lognormal_mle_of_symmetric_logs() {
        let (mu, sigma) = fit_lognormal(&[1.0f64.exp(), 3.0f64.exp()]).unwrap();
        assert!((mu - 2.0).abs() < TOL && (sigma - 1.0).abs() < TOL, "mu {mu} sigma {sigma}");
    }

    #[test]
    fn ks_of_a_uniform_grid_against_its_own_line() {
        // Sample 0.1..1.0 against the empirical line through (0,0)..(1,1): the sample CDF jumps by
        // 0.1 at each point, the line lies between, so the distance is one step, 0.1.
        let sample: Vec<f64> = (1..=10).map(|i| i as f64 / 10.0).collect();
        let line = LatencyDist::Empirical { probs: vec![0.0, 1.0], values: vec![0.0, 1.0] };
        let g = goodness_of_fit(&line, &sample);
        assert!((g.ks - 0.1).abs() < 1e-9, "ks {}", g.ks);
    }
}
