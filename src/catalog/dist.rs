//! Latency and speed distributions of an endpoint, in their typed (validated) form.
//!
//! Each distribution knows how to sample itself from a random stream, and its closed-form CDF,
//! quantile and mean where one exists, so that tests and the optimizer can compare simulation with
//! exact values.

use rand::{Rng, RngExt};
use rand_distr::{Distribution, StandardNormal};

/// Φ, the standard normal CDF, via the complementary error function (|error| < 1.2e-7 relative).
pub fn std_normal_cdf(z: f64) -> f64 {
    0.5 * erfc(-z / std::f64::consts::SQRT_2)
}

/// Φ⁻¹, the standard normal quantile (Acklam's algorithm refined by one Halley step; |error| < 1e-12).
pub fn std_normal_quantile(p: f64) -> f64 {
    if p <= 0.0 {
        return f64::NEG_INFINITY;
    }
    if p >= 1.0 {
        return f64::INFINITY;
    }
    const A: [f64; 6] = [
        -3.969683028665376e+01,
        2.209460984245205e+02,
        -2.759285104469687e+02,
        1.383_577_518_672_69e2,
        -3.066479806614716e+01,
        2.506628277459239e+00,
    ];
    const B: [f64; 5] = [
        -5.447609879822406e+01,
        1.615858368580409e+02,
        -1.556989798598866e+02,
        6.680131188771972e+01,
        -1.328068155288572e+01,
    ];
    const C: [f64; 6] = [
        -7.784894002430293e-03,
        -3.223964580411365e-01,
        -2.400758277161838e+00,
        -2.549732539343734e+00,
        4.374664141464968e+00,
        2.938163982698783e+00,
    ];
    const D: [f64; 4] = [7.784695709041462e-03, 3.224671290700398e-01, 2.445134137142996e+00, 3.754408661907416e+00];
    let plow = 0.02425;
    let x = if p < plow {
        let q = (-2.0 * p.ln()).sqrt();
        (((((C[0] * q + C[1]) * q + C[2]) * q + C[3]) * q + C[4]) * q + C[5])
            / ((((D[0] * q + D[1]) * q + D[2]) * q + D[3]) * q + 1.0)
    } else if p <= 1.0 - plow {
        let q = p - 0.5;
        let r = q * q;
        (((((A[0] * r + A[1]) * r + A[2]) * r + A[3]) * r + A[4]) * r + A[5]) * q
            / (((((B[0] * r + B[1]) * r + B[2]) * r + B[3]) * r + B[4]) * r + 1.0)
    } else {
        let q = (-2.0 * (1.0 - p).ln()).sqrt();
        -(((((C[0] * q + C[1]) * q + C[2]) * q + C[3]) * q + C[4]) * q + C[5])
            / ((((D[0] * q + D[1]) * q + D[2]) * q + D[3]) * q + 1.0)
    };
    // One Halley refinement step.
    let e = std_normal_cdf(x) - p;
    let u = e * (2.0 * std::f64::consts::PI).sqrt() * (x * x / 2.0).exp();
    x - u / (1.0 + x * u / 2.0)
}

/// Complementary error function (W. J. Cody's rational approximations via the Numerical Recipes
/// erfc Chebyshev form; relative error < 1.2e-7 everywhere, better near 0).
fn erfc(x: f64) -> f64 {
    // Use a high-precision series/continued fraction split for accuracy in the tails.
    let z = x.abs();
    let t = 2.0 / (2.0 + z);
    let ty = 4.0 * t - 2.0;
    const COF: [f64; 28] = [
        -1.3026537197817094,
        6.419_697_923_564_902e-1,
        1.9476473204185836e-2,
        -9.561_514_786_808_63e-3,
        -9.46595344482036e-4,
        3.66839497852761e-4,
        4.2523324806907e-5,
        -2.0278578112534e-5,
        -1.624290004647e-6,
        1.303655835580e-6,
        1.5626441722e-8,
        -8.5238095915e-8,
        6.529054439e-9,
        5.059343495e-9,
        -9.91364156e-10,
        -2.27365122e-10,
        9.6467911e-11,
        2.394038e-12,
        -6.886027e-12,
        8.94487e-13,
        3.13092e-13,
        -1.12708e-13,
        3.81e-16,
        7.106e-15,
        -1.523e-15,
        -9.4e-17,
        1.21e-16,
        -2.8e-17,
    ];
    let mut d = 0.0;
    let mut dd = 0.0;
    for &c in COF.iter().skip(1).rev() {
        let tmp = d;
        d = ty * d - dd + c;
        dd = tmp;
    }
    let res = t * (-z * z + 0.5 * (COF[0] + ty * d) - dd).exp();
    if x >= 0.0 { res } else { 2.0 - res }
}

/// Time to first token (seconds), or any positive latency.
#[derive(Debug, Clone, PartialEq)]
pub enum LatencyDist {
    /// `exp(mu + sigma Z)`, Z ~ N(0, 1).
    LogNormal { mu: f64, sigma: f64 },
    /// Always the same value.
    Fixed(f64),
    /// Piecewise-linear inverse CDF through `(probs[i], values[i])`; `probs` runs from 0 to 1.
    Empirical { probs: Vec<f64>, values: Vec<f64> },
}

impl LatencyDist {
    /// Lognormal with the given median and p99.
    pub fn lognormal_from_median_p99(median: f64, p99: f64) -> LatencyDist {
        let sigma = (p99 / median).ln() / std_normal_quantile(0.99);
        LatencyDist::LogNormal { mu: median.ln(), sigma }
    }

    /// Draw one value. Lognormal draws one standard normal; empirical one uniform; fixed nothing.
    #[inline(always)]
    pub fn sample<R: Rng + ?Sized>(&self, rng: &mut R) -> f64 {
        match self {
            LatencyDist::LogNormal { mu, sigma } => {
                let z: f64 = StandardNormal.sample(rng);
                (mu + sigma * z).exp()
            }
            LatencyDist::Fixed(v) => *v,
            LatencyDist::Empirical { probs, values } => {
                let u: f64 = rng.random();
                interpolate(probs, values, u)
            }
        }
    }

    /// P(X <= x).
    pub fn cdf(&self, x: f64) -> f64 {
        match self {
            LatencyDist::LogNormal { mu, sigma } => {
                if x <= 0.0 {
                    0.0
                } else if *sigma == 0.0 {
                    if x.ln() >= *mu { 1.0 } else { 0.0 }
                } else {
                    std_normal_cdf((x.ln() - mu) / sigma)
                }
            }
            LatencyDist::Fixed(v) => {
                if x >= *v {
                    1.0
                } else {
                    0.0
                }
            }
            LatencyDist::Empirical { probs, values } => {
                if x < values[0] {
                    return 0.0;
                }
                if x >= values[values.len() - 1] {
                    return 1.0;
                }
                interpolate(values, probs, x)
            }
        }
    }

    /// The p-quantile.
    pub fn quantile(&self, p: f64) -> f64 {
        match self {
            LatencyDist::LogNormal { mu, sigma } => (mu + sigma * std_normal_quantile(p)).exp(),
            LatencyDist::Fixed(v) => *v,
            LatencyDist::Empirical { probs, values } => interpolate(probs, values, p),
        }
    }

    /// The mean.
    pub fn mean(&self) -> f64 {
        match self {
            LatencyDist::LogNormal { mu, sigma } => (mu + sigma * sigma / 2.0).exp(),
            LatencyDist::Fixed(v) => *v,
            LatencyDist::Empirical { probs, values } => {
                probs.windows(2).zip(values.windows(2)).map(|(p, v)| (p[1] - p[0]) * (v[0] + v[1]) / 2.0).sum()
            }
        }
    }

    /// The same distribution with every value multiplied by `k` (a regional slowdown).
    pub fn scaled(&self, k: f64) -> LatencyDist {
        match self {
            LatencyDist::LogNormal { mu, sigma } => LatencyDist::LogNormal { mu: mu + k.ln(), sigma: *sigma },
            LatencyDist::Fixed(v) => LatencyDist::Fixed(v * k),
            LatencyDist::Empirical { probs, values } => {
                LatencyDist::Empirical { probs: probs.clone(), values: values.iter().map(|v| v * k).collect() }
            }
        }
    }
}

/// Decode speed, output tokens per second.
#[derive(Debug, Clone, PartialEq)]
pub enum DecodeDist {
    Constant(f64),
    /// `exp(mu + sigma Z)` tokens per second, drawn once per successful attempt.
    LogNormal {
        mu: f64,
        sigma: f64,
    },
}

impl DecodeDist {
    /// Seconds to generate `tokens` output tokens.
    #[inline]
    pub fn decode_time<R: Rng + ?Sized>(&self, tokens: u32, rng: &mut R) -> f64 {
        match self {
            DecodeDist::Constant(tps) => tokens as f64 / tps,
            DecodeDist::LogNormal { mu, sigma } => {
                let z: f64 = StandardNormal.sample(rng);
                tokens as f64 / (mu + sigma * z).exp()
            }
        }
    }
    /// Median tokens per second.
    pub fn median_tokens_per_s(&self) -> f64 {
        match self {
            DecodeDist::Constant(tps) => *tps,
            DecodeDist::LogNormal { mu, .. } => mu.exp(),
        }
    }
}

/// Linear interpolation of `ys` at `x` over increasing `xs` (clamped at the ends).
fn interpolate(xs: &[f64], ys: &[f64], x: f64) -> f64 {
    let j = xs.partition_point(|&v| v <= x);
    if j == 0 {
        return ys[0];
    }
    if j >= xs.len() {
        return ys[ys.len() - 1];
    }
    let (x0, x1, y0, y1) = (xs[j - 1], xs[j], ys[j - 1], ys[j]);
    if x1 == x0 { y1 } else { y0 + (y1 - y0) * (x - x0) / (x1 - x0) }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TOL: f64 = 1e-9;

    #[test]
    fn normal_quantile_inverts_cdf() {
        for &p in &[1e-9, 0.001, 0.01, 0.2, 0.5, 0.9, 0.99, 0.999, 1.0 - 1e-9] {
            let z = std_normal_quantile(p);
            let back = std_normal_cdf(z);
            assert!((back - p).abs() <= 1e-7 * p.max(1e-3), "p={p} z={z} cdf={back}");
        }
        let z99 = std_normal_quantile(0.99);
        assert!((z99 - 2.326_347_874_040_841).abs() < 1e-9, "z99={z99}");
    }

    #[test]
    fn lognormal_from_median_p99_hits_both() {
        let d = LatencyDist::lognormal_from_median_p99(1.1, 1.8);
        assert!((d.quantile(0.5) - 1.1).abs() < TOL, "median {}", d.quantile(0.5));
        assert!((d.quantile(0.99) - 1.8).abs() < 1e-9, "p99 {}", d.quantile(0.99));
        assert!((d.cdf(1.8) - 0.99).abs() < 1e-7, "cdf(p99) {}", d.cdf(1.8));
    }

    #[test]
    fn empirical_quantile_and_cdf_agree() {
        let d = LatencyDist::Empirical { probs: vec![0.0, 0.5, 1.0], values: vec![1.0, 2.0, 4.0] };
        assert_eq!(d.quantile(0.25), 1.5);
        assert_eq!(d.quantile(0.75), 3.0);
        assert_eq!(d.cdf(3.0), 0.75);
        assert_eq!(d.cdf(0.5), 0.0);
        assert_eq!(d.cdf(5.0), 1.0);
        assert!((d.mean() - (0.5 * 1.5 + 0.5 * 3.0)).abs() < TOL);
    }

    #[test]
    fn scaling_a_lognormal_scales_its_median() {
        let d = LatencyDist::LogNormal { mu: 0.0, sigma: 0.4 }.scaled(1.2);
        assert!((d.quantile(0.5) - 1.2).abs() < TOL);
    }
}
