//! Synthetic traffic from a YAML spec: a day-periodic arrival rate, bursty arrivals, a class mix
//! with lognormal token counts, and an origin mix.
//!
//! Arrivals are made by time rescaling. The intensity is
//! `lambda(t) = mean_rate_per_s * (1 + a cos(2 pi (t - peak_hour*3600) / 86400))` with
//! `a = (peak_to_trough - 1) / (peak_to_trough + 1)`, so the busiest and quietest instants differ by
//! `peak_to_trough` and a whole day averages `mean_rate_per_s`. A unit-rate point process is drawn in
//! "operational time" (one expected request per unit) — Poisson, a gamma renewal process, or a
//! two-state Markov-modulated Poisson process — and each epoch tau is mapped to the time t with
//! `Lambda(t) = tau`, `Lambda` the cumulative intensity, by safeguarded Newton. The local inter-arrival
//! CV is therefore the process's own (gamma: `cv`), while the rate follows the day.
//!
//! Everything is drawn from one `Xoshiro256PlusPlus` seeded with the seed, in a fixed order
//! (all arrivals, then per request: class, origin, input tokens, output tokens), so a spec and a
//! seed always give the same trace. Timestamps are rounded to microseconds, like the reference
//! traces.
//!
//! Deliberately absent: no correlation between classes and time of day, no sessions.

use std::collections::BTreeMap;
use std::f64::consts::PI;
use std::path::Path;

use rand::rngs::Xoshiro256PlusPlus;
use rand::{RngExt, SeedableRng};
use rand_distr::{Distribution, Exp1, Gamma, StandardNormal};
use serde::{Deserialize, Serialize};

use super::{Recorded, Trace, UNSPECIFIED_ORIGIN};
use crate::error::{Error, Place, Problem, Result};

const DAY_S: f64 = 86_400.0;

/// A synthetic traffic spec. Every field has a default: the built-in spec ([`SynthSpec::default`]),
/// shaped like a multi-model gateway's day.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct SynthSpec {
    /// Length of the trace, seconds.
    pub duration_s: f64,
    /// Mean arrival rate over a whole day, requests per second.
    pub mean_rate_per_s: f64,
    /// Timestamp of the trace's first instant, seconds (0 = midnight).
    pub start_s: f64,
    pub diurnal: Diurnal,
    pub arrivals: Arrivals,
    /// Class name -> share and token distributions.
    pub classes: BTreeMap<String, ClassSpec>,
    /// Origin region -> share. Empty: every request has the unspecified origin.
    pub origins: BTreeMap<String, f64>,
}

/// The day-periodic shape of the arrival rate.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct Diurnal {
    /// Rate at the busiest instant / rate at the quietest (>= 1; 1 = flat).
    pub peak_to_trough: f64,
    /// Hour of the day of the busiest instant, 0-24.
    pub peak_hour: f64,
}

impl Default for Diurnal {
    fn default() -> Self {
        Diurnal { peak_to_trough: 3.0, peak_hour: 14.0 }
    }
}

/// How arrivals cluster around the day's rate.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum Arrivals {
    /// Independent arrivals (inter-arrival CV 1).
    Poisson {},
    /// Gamma renewal process: inter-arrival CV = `cv` (shape 1/cv^2).
    Gamma { cv: f64 },
    /// Two-state Markov-modulated Poisson process: bursts at `rates_ratio` times the calm rate, lasting
    /// `mean_sojourn_s` on average, `burst_share` of the time. Sojourns are measured at the mean rate
    /// (in operational time), so bursts are shorter at the daily peak and longer at the trough.
    Mmpp {
        rates_ratio: f64,
        mean_sojourn_s: f64,
        #[serde(default = "half")]
        burst_share: f64,
    },
}

fn half() -> f64 {
    0.5
}

impl Default for Arrivals {
    fn default() -> Self {
        Arrivals::Gamma { cv: 1.5 }
    }
}

/// One request class.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ClassSpec {
    pub share: f64,
    pub input_tokens: TokenDist,
    pub output_tokens: TokenDist,
}

/// Lognormal token counts: `round(median * exp(sigma * Z))`, clipped to `[min, max]`.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct TokenDist {
    pub median: f64,
    pub sigma: f64,
    #[serde(default = "default_min")]
    pub min: u32,
    #[serde(default = "default_max")]
    pub max: u32,
}

fn default_min() -> u32 {
    1
}
fn default_max() -> u32 {
    128_000
}

impl TokenDist {
    fn new(median: f64, sigma: f64) -> TokenDist {
        TokenDist { median, sigma, min: default_min(), max: default_max() }
    }
}

impl Default for SynthSpec {
    fn default() -> Self {
        let class = |share, input_median, output_median| ClassSpec {
            share,
            input_tokens: TokenDist::new(input_median, 0.8),
            output_tokens: TokenDist::new(output_median, 0.7),
        };
        let classes = [
            ("code", class(0.30, 1500.0, 400.0)),
            ("chat", class(0.30, 800.0, 300.0)),
            ("classify", class(0.15, 300.0, 5.0)),
            ("reasoning", class(0.10, 2000.0, 1500.0)),
            ("vision", class(0.05, 1200.0, 300.0)),
            ("zh_docs", class(0.10, 4000.0, 500.0)),
        ];
        let origins = [("us-east-1", 0.5), ("eu-west-1", 0.3), ("ap-southeast-1", 0.2)];
        SynthSpec {
            duration_s: DAY_S,
            mean_rate_per_s: 1_000_000.0 / DAY_S,
            start_s: 0.0,
            diurnal: Diurnal::default(),
            arrivals: Arrivals::default(),
            classes: classes.into_iter().map(|(n, c)| (n.to_string(), c)).collect(),
            origins: origins.into_iter().map(|(n, s)| (n.to_string(), s)).collect(),
        }
    }
}

const DEFAULT_SPEC_YAML: &str = r#"# switchyard synthetic traffic spec: the built-in default, shaped like a multi-model gateway's day.
# Copy this file, edit it, and pass it to the synth command. Every key may be left out; a missing key
# takes the value shown here. Timestamps are seconds, t = 0 is midnight (start_s: 1767225600 starts
# at a Unix-epoch midnight).
#
# Arrival rate over the day:
#   lambda(t) = mean_rate_per_s * (1 + a*cos(2*pi*(t - peak_hour*3600)/86400)),
#   a = (peak_to_trough - 1) / (peak_to_trough + 1).

# Length of the trace, seconds (86400 = one day).
duration_s: 86400
# Mean arrival rate over a whole day, requests per second (1,000,000 requests a day).
mean_rate_per_s: 11.574074074074074
# Timestamp of the trace's first instant, seconds.
start_s: 0

diurnal:
  # Rate at the busiest instant / rate at the quietest; 1 = flat.
  peak_to_trough: 3
  # Hour of the day (0-24) when traffic peaks.
  peak_hour: 14

# How arrivals cluster, one of:
#   poisson: {}         independent arrivals (inter-arrival CV 1)
#   gamma: {cv: 1.5}    gamma renewal process with inter-arrival CV = cv (above 1 = bursty)
#   mmpp: {rates_ratio: 5, mean_sojourn_s: 60, burst_share: 0.2}
#                       two-state Markov-modulated Poisson: bursts at rates_ratio times the calm
#                       rate, lasting mean_sojourn_s on average, burst_share of the time
arrivals:
  gamma:
    cv: 1.5

# Request classes: share of requests (the shares sum to 1) and token counts. Token counts are
# lognormal, round(median * exp(sigma * Z)), clipped to [min, max] (defaults 1 and 128000).
classes:
  code:
    share: 0.30
    input_tokens: {median: 1500, sigma: 0.8, min: 1, max: 128000}
    output_tokens: {median: 400, sigma: 0.7, min: 1, max: 128000}
  chat:
    share: 0.30
    input_tokens: {median: 800, sigma: 0.8, min: 1, max: 128000}
    output_tokens: {median: 300, sigma: 0.7, min: 1, max: 128000}
  classify:
    share: 0.15
    input_tokens: {median: 300, sigma: 0.8, min: 1, max: 128000}
    output_tokens: {median: 5, sigma: 0.7, min: 1, max: 128000}
  reasoning:
    share: 0.10
    input_tokens: {median: 2000, sigma: 0.8, min: 1, max: 128000}
    output_tokens: {median: 1500, sigma: 0.7, min: 1, max: 128000}
  vision:
    share: 0.05
    input_tokens: {median: 1200, sigma: 0.8, min: 1, max: 128000}
    output_tokens: {median: 300, sigma: 0.7, min: 1, max: 128000}
  zh_docs:
    share: 0.10
    input_tokens: {median: 4000, sigma: 0.8, min: 1, max: 128000}
    output_tokens: {median: 500, sigma: 0.7, min: 1, max: 128000}

# Where requests come from: region -> share (the shares sum to 1). `origins: {}` means no origin
# column (every request from the unspecified origin).
origins:
  us-east-1: 0.5
  eu-west-1: 0.3
  ap-southeast-1: 0.2
"#;

/// The built-in spec as commented YAML, for a user to copy and edit. Parses to
/// [`SynthSpec::default`].
pub fn default_spec_yaml() -> String {
    DEFAULT_SPEC_YAML.to_string()
}

/// Read and validate a spec file; all problems are reported at once, with YAML lines.
pub fn load_spec(path: &Path) -> Result<SynthSpec> {
    let text = crate::error::read_text(path)?;
    let spec: SynthSpec = crate::yaml::from_str(&text, path)?;
    spec.check(Some((path, &text)))?;
    Ok(spec)
}

/// Shares must sum to 1 within this.
const SHARE_TOLERANCE: f64 = 1e-6;
/// Specs expecting more requests than this are refused (memory).
const MAX_EXPECTED_REQUESTS: f64 = 1e9;

/// Requests a day that the default catalog's rate limits carry with room to spare: its main
/// endpoints' quotas are sized for a 1M-request day (about 1,000 requests/min at the peak). From
/// about 2M a day the limits start to bind (slower routes take the overflow: the latency bounds of
/// `policies/constraints.yaml` no longer hold at 0.8x), and at 20M a day no routing meets them.
/// [`SynthSpec::default_for`] spreads more requests than this over more days.
pub const DEFAULT_DAY_MAX_REQUESTS: u64 = 1_500_000;

impl SynthSpec {
    /// The built-in spec with `requests` expected requests: one day, or, past
    /// [`DEFAULT_DAY_MAX_REQUESTS`], as many whole days as keep each day at or below it. More
    /// requests make more days rather than a busier one, so the default catalog can carry them
    /// at any size (`switchyard demo --requests N`).
    pub fn default_for(requests: u64) -> SynthSpec {
        let mut spec = SynthSpec::default();
        let days = requests.div_ceil(DEFAULT_DAY_MAX_REQUESTS).max(1);
        spec.duration_s = DAY_S * days as f64;
        spec.mean_rate_per_s = requests as f64 / spec.duration_s;
        spec
    }

    /// Check the spec's values; all problems at once.
    pub fn validate(&self) -> Result<()> {
        self.check(None)
    }

    fn check(&self, source: Option<(&Path, &str)>) -> Result<()> {
        let mut found: Vec<(Vec<String>, String, String)> = Vec::new();
        let mut bad = |key: &[&str], message: String, fix: &str| {
            found.push((key.iter().map(|s| s.to_string()).collect(), message, fix.to_string()));
        };
        let positive = |v: f64| v.is_finite() && v > 0.0;
        if !positive(self.duration_s) {
            bad(
                &["duration_s"],
                format!("is {}; expected a positive number of seconds", self.duration_s),
                "e.g. duration_s: 86400 for one day",
            );
        }
        if !positive(self.mean_rate_per_s) {
            bad(
                &["mean_rate_per_s"],
                format!("is {}; expected a positive number of requests per second", self.mean_rate_per_s),
                "e.g. mean_rate_per_s: 11.574 for 1,000,000 requests a day",
            );
        }
        let expected = self.duration_s * self.mean_rate_per_s;
        if positive(expected) && expected > MAX_EXPECTED_REQUESTS {
            bad(
                &["mean_rate_per_s"],
                format!(
                    "duration_s x mean_rate_per_s = {expected:.3e} requests; at most {MAX_EXPECTED_REQUESTS:e} fit in memory"
                ),
                "lower mean_rate_per_s or duration_s",
            );
        }
        if !self.start_s.is_finite() {
            bad(&["start_s"], format!("is {}; expected a finite number of seconds", self.start_s), "e.g. start_s: 0");
        }
        let d = &self.diurnal;
        if !(d.peak_to_trough.is_finite() && d.peak_to_trough >= 1.0) {
            bad(
                &["diurnal", "peak_to_trough"],
                format!("is {}; expected a number >= 1", d.peak_to_trough),
                "1 is a flat day; 3 makes the busiest instant three times the quietest",
            );
        }
        if !(d.peak_hour.is_finite() && (0.0..=24.0).contains(&d.peak_hour)) {
            bad(
                &["diurnal", "peak_hour"],
                format!("is {}; expected an hour from 0 to 24", d.peak_hour),
                "e.g. peak_hour: 14 for 2 pm",
            );
        }
        match &self.arrivals {
            Arrivals::Poisson {} => {}
            Arrivals::Gamma { cv } => {
                if !(cv.is_finite() && *cv >= 0.05 && *cv <= 10.0) {
                    bad(
                        &["arrivals", "gamma", "cv"],
                        format!("is {cv}; expected an inter-arrival CV from 0.05 to 10"),
                        "1 is Poisson-like, above 1 is bursty, below 1 is regular",
                    );
                }
            }
            Arrivals::Mmpp { rates_ratio, mean_sojourn_s, burst_share } => {
                if !(rates_ratio.is_finite() && *rates_ratio >= 1.0 && *rates_ratio <= 1e6) {
                    bad(
                        &["arrivals", "mmpp", "rates_ratio"],
                        format!("is {rates_ratio}; expected a burst/calm rate ratio from 1 to 1e6"),
                        "e.g. rates_ratio: 5",
                    );
                }
                if !positive(*mean_sojourn_s) {
                    bad(
                        &["arrivals", "mmpp", "mean_sojourn_s"],
                        format!("is {mean_sojourn_s}; expected a positive number of seconds"),
                        "e.g. mean_sojourn_s: 60",
                    );
                }
                if !(burst_share.is_finite() && *burst_share > 0.0 && *burst_share < 1.0) {
                    bad(
                        &["arrivals", "mmpp", "burst_share"],
                        format!("is {burst_share}; expected a fraction of time strictly between 0 and 1"),
                        "e.g. burst_share: 0.2",
                    );
                }
            }
        }
        if self.classes.is_empty() {
            bad(
                &["classes"],
                "is empty; expected at least one class".to_string(),
                "add a class, e.g. chat: {share: 1, input_tokens: {median: 800, sigma: 0.8}, output_tokens: {median: 300, sigma: 0.7}}",
            );
        }
        if self.classes.len() > u16::MAX as usize {
            bad(
                &["classes"],
                format!("has {} classes; at most 65535 are supported", self.classes.len()),
                "merge rare classes",
            );
        }
        for (name, class) in &self.classes {
            if name.is_empty() {
                bad(&["classes"], "has a class with an empty name".to_string(), "give every class a name");
            }
            if !(class.share.is_finite() && class.share >= 0.0) {
                bad(
                    &["classes", name, "share"],
                    format!("is {}; expected a share from 0 to 1", class.share),
                    "shares are fractions of all requests and sum to 1",
                );
            }
            for (which, t) in [("input_tokens", &class.input_tokens), ("output_tokens", &class.output_tokens)] {
                if !positive(t.median) {
                    bad(
                        &["classes", name, which, "median"],
                        format!("is {}; expected a positive number of tokens", t.median),
                        "e.g. median: 800",
                    );
                }
                if !(t.sigma.is_finite() && (0.0..=5.0).contains(&t.sigma)) {
                    bad(
                        &["classes", name, which, "sigma"],
                        format!("is {}; expected a log-scale spread from 0 to 5", t.sigma),
                        "e.g. sigma: 0.8 (0 makes every request the median)",
                    );
                }
                if t.min > t.max {
                    bad(
                        &["classes", name, which, "min"],
                        format!("min {} is greater than max {}", t.min, t.max),
                        "make min <= max",
                    );
                }
            }
        }
        let class_shares: Vec<(&String, f64)> = self.classes.iter().map(|(n, c)| (n, c.share)).collect();
        if let Some((message, fix)) = sum_problem(&class_shares, "class") {
            bad(&["classes"], message, &fix);
        }
        if !self.origins.is_empty() {
            for (name, share) in &self.origins {
                if !(share.is_finite() && *share >= 0.0) {
                    bad(
                        &["origins", name],
                        format!("is {share}; expected a share from 0 to 1"),
                        "shares are fractions of all requests and sum to 1",
                    );
                }
                if name.is_empty() {
                    bad(
                        &["origins"],
                        "has an origin with an empty name".to_string(),
                        "give every origin a region name",
                    );
                }
            }
            let origin_shares: Vec<(&String, f64)> = self.origins.iter().map(|(n, s)| (n, *s)).collect();
            if let Some((message, fix)) = sum_problem(&origin_shares, "origin") {
                bad(&["origins"], message, &fix);
            }
        }
        if found.is_empty() {
            return Ok(());
        }
        let problems = found
            .into_iter()
            .map(|(key, message, fix)| {
                let mut place = Place::default().field(key.join("."));
                if let Some((path, text)) = source {
                    let keys: Vec<&str> = key.iter().map(|s| s.as_str()).collect();
                    place = Place::file(path).maybe_line(line_of_key(text, &keys)).field(key.join("."));
                }
                Problem::new(place, message, fix)
            })
            .collect();
        Err(Error::Invalid(problems))
    }
}

/// Shares that are all valid but do not sum to 1: the message and a fix with rescaled shares.
fn sum_problem(shares: &[(&String, f64)], what: &str) -> Option<(String, String)> {
    let sum: f64 = shares.iter().map(|(_, s)| s).sum();
    let valid = shares.iter().all(|(_, s)| s.is_finite() && *s >= 0.0);
    if !valid || (sum - 1.0).abs() <= SHARE_TOLERANCE {
        return None;
    }
    let message = format!("{what} shares sum to {sum}; expected 1 (within {SHARE_TOLERANCE:e})");
    if sum <= 0.0 {
        return Some((message, format!("give at least one {what} a positive share")));
    }
    let example = shares.iter().map(|(n, s)| format!("{n}: {}", round_share(s / sum))).collect::<Vec<_>>().join(", ");
    Some((message, format!("divide each share by {sum}: {example}")))
}

fn round_share(v: f64) -> f64 {
    (v * 1e6).round() / 1e6
}

/// 1-based line of a nested key in block-style YAML (the deepest key found, so a value written in
/// flow style `{...}` points at its parent's line). `None` if not even the first key is found.
fn line_of_key(text: &str, keys: &[&str]) -> Option<usize> {
    let lines: Vec<&str> = text.lines().collect();
    let mut best = None;
    let mut from = 0;
    let mut parent_indent: Option<usize> = None;
    'keys: for key in keys {
        for (i, line) in lines.iter().enumerate().skip(from) {
            let trimmed = line.trim_start();
            if trimmed.is_empty() || trimmed.starts_with('#') {
                continue;
            }
            let indent = line.len() - trimmed.len();
            if let Some(p) = parent_indent
                && indent <= p
            {
                break 'keys;
            }
            let is_key = [format!("{key}:"), format!("\"{key}\":"), format!("'{key}':")]
                .iter()
                .any(|k| trimmed.starts_with(k.as_str()));
            if is_key {
                best = Some(i + 1);
                from = i + 1;
                parent_indent = Some(indent);
                continue 'keys;
            }
        }
        break;
    }
    best
}

// ---------------------------------------------------------------------------------------------
// The day-periodic intensity and its inverse.

/// `lambda(t) = rate (1 + a cos(omega (t - peak)))` and its integral from `start`. Phases are taken
/// relative to `start` (reduced modulo 2 pi once), so Unix-epoch timestamps lose no precision.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Intensity {
    rate: f64,
    a: f64,
    omega: f64,
    start_s: f64,
    /// omega (start - peak), modulo 2 pi.
    phase_at_start: f64,
}

impl Intensity {
    pub(crate) fn new(rate: f64, peak_to_trough: f64, peak_hour: f64, start_s: f64) -> Intensity {
        let a = (peak_to_trough - 1.0) / (peak_to_trough + 1.0);
        let omega = 2.0 * PI / DAY_S;
        let phase_at_start = omega * (start_s - peak_hour * 3600.0).rem_euclid(DAY_S);
        Intensity { rate, a, omega, start_s, phase_at_start }
    }

    pub(crate) fn lambda(&self, t: f64) -> f64 {
        let phase = self.omega * (t - self.start_s) + self.phase_at_start;
        self.rate * (1.0 + self.a * phase.cos())
    }

    /// Expected arrivals in `[start, t]`.
    pub(crate) fn cumulative(&self, t: f64) -> f64 {
        let u = t - self.start_s;
        let wave = (self.omega * u + self.phase_at_start).sin() - self.phase_at_start.sin();
        self.rate * (u + self.a / self.omega * wave)
    }

    /// The `t >= lo` with `cumulative(t) = tau`, given `cumulative(lo) <= tau`: Newton steps kept
    /// inside a shrinking bracket (bisection when a step would leave it).
    pub(crate) fn inverse(&self, tau: f64, lo: f64) -> f64 {
        let lambda_min = self.rate * (1.0 - self.a);
        let mut lo = lo;
        let f_lo = self.cumulative(lo) - tau;
        if f_lo >= 0.0 {
            return lo;
        }
        let mut hi = lo - f_lo / lambda_min;
        let mut t = lo - f_lo / self.lambda(lo);
        for _ in 0..200 {
            let f = self.cumulative(t) - tau;
            if f == 0.0 {
                return t;
            }
            if f < 0.0 {
                lo = t;
            } else {
                hi = t;
            }
            let mut next = t - f / self.lambda(t);
            if !(next >= lo && next <= hi) {
                next = 0.5 * (lo + hi);
            }
            let tolerance = 1e-9f64.max(t.abs() * 2.0 * f64::EPSILON);
            if (next - t).abs() <= tolerance || hi - lo <= tolerance {
                return next;
            }
            t = next;
        }
        t
    }
}

// ---------------------------------------------------------------------------------------------
// Generation.

/// Make a trace from a spec. Same spec and seed, same trace.
pub fn synth(spec: &SynthSpec, seed: u64) -> Result<Trace> {
    spec.validate()?;
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(seed);
    let intensity =
        Intensity::new(spec.mean_rate_per_s, spec.diurnal.peak_to_trough, spec.diurnal.peak_hour, spec.start_s);
    let end_s = spec.start_s + spec.duration_s;
    let horizon = intensity.cumulative(end_s);
    let epochs = operational_epochs(&spec.arrivals, spec.mean_rate_per_s, horizon, &mut rng);

    let mut timestamp_s = Vec::with_capacity(epochs.len());
    let mut t = spec.start_s;
    for tau in epochs {
        t = intensity.inverse(tau, t);
        // Microsecond resolution, like the reference traces, and never past the end.
        timestamp_s.push(((t * 1e6).round() / 1e6).clamp(spec.start_s, end_s));
    }
    let n = timestamp_s.len();

    let classes: Vec<(&String, &ClassSpec)> = spec.classes.iter().filter(|(_, c)| c.share > 0.0).collect();
    let class_cdf = cumulative(classes.iter().map(|(_, c)| c.share));
    let origins: Vec<(&String, f64)> = spec.origins.iter().filter(|(_, s)| **s > 0.0).map(|(n, s)| (n, *s)).collect();
    let origin_cdf = cumulative(origins.iter().map(|(_, s)| *s));

    let mut class = Vec::with_capacity(n);
    let mut origin = Vec::with_capacity(n);
    let mut input_tokens = Vec::with_capacity(n);
    let mut output_tokens = Vec::with_capacity(n);
    for _ in 0..n {
        let c = pick(&class_cdf, rng.random::<f64>());
        let o = if origins.is_empty() { 0 } else { pick(&origin_cdf, rng.random::<f64>()) };
        let spec_c = classes[c].1;
        let z_in: f64 = StandardNormal.sample(&mut rng);
        let z_out: f64 = StandardNormal.sample(&mut rng);
        class.push(c as u16);
        origin.push(o as u16);
        input_tokens.push(tokens(&spec_c.input_tokens, z_in));
        output_tokens.push(tokens(&spec_c.output_tokens, z_out));
    }
    let origin_names = if origins.is_empty() {
        vec![UNSPECIFIED_ORIGIN.to_string()]
    } else {
        origins.iter().map(|(n, _)| n.to_string()).collect()
    };
    Ok(Trace {
        source: format!("synthetic (seed {seed})"),
        timestamp_s,
        class,
        class_names: classes.iter().map(|(n, _)| n.to_string()).collect(),
        origin,
        origin_names,
        input_tokens,
        output_tokens,
        cached_input_tokens: None,
        recorded: Recorded::default(),
        skipped_rows: 0,
        sorted_on_load: false,
        notices: Vec::new(),
    })
}

/// Cumulative shares, normalized, the last exactly 1.
fn cumulative(shares: impl Iterator<Item = f64>) -> Vec<f64> {
    let shares: Vec<f64> = shares.collect();
    let total: f64 = shares.iter().sum();
    let mut acc = 0.0;
    let mut cdf: Vec<f64> = shares
        .iter()
        .map(|s| {
            acc += s / total;
            acc
        })
        .collect();
    if let Some(last) = cdf.last_mut() {
        *last = 1.0;
    }
    cdf
}

/// Index of the first cumulative share above `u` (u in [0, 1)).
fn pick(cdf: &[f64], u: f64) -> usize {
    cdf.partition_point(|&c| c <= u).min(cdf.len() - 1)
}

fn tokens(dist: &TokenDist, z: f64) -> u32 {
    let v = (dist.median * (dist.sigma * z).exp()).round();
    v.clamp(dist.min as f64, dist.max as f64) as u32
}

/// Epochs of a unit-rate point process in `(0, horizon]`.
fn operational_epochs(
    arrivals: &Arrivals,
    mean_rate_per_s: f64,
    horizon: f64,
    rng: &mut Xoshiro256PlusPlus,
) -> Vec<f64> {
    let mut epochs = Vec::with_capacity((horizon * 1.05 + 16.0).min(2e9) as usize);
    let mut tau = 0.0;
    match arrivals {
        Arrivals::Poisson {} => loop {
            let gap: f64 = Exp1.sample(rng);
            tau += gap;
            if tau > horizon {
                break;
            }
            epochs.push(tau);
        },
        Arrivals::Gamma { cv } => {
            let shape = 1.0 / (cv * cv);
            let gamma = Gamma::new(shape, 1.0 / shape).expect("validated: shape and scale positive");
            loop {
                tau += gamma.sample(rng);
                if tau > horizon {
                    break;
                }
                epochs.push(tau);
            }
        }
        Arrivals::Mmpp { rates_ratio, mean_sojourn_s, burst_share } => {
            // Rates so that the long-run mean is 1: p*high + (1-p)*low = 1, high = ratio*low.
            let p = *burst_share;
            let low = 1.0 / (p * rates_ratio + 1.0 - p);
            let high = rates_ratio * low;
            // Sojourns in operational units (expected requests at the mean rate).
            let burst_mean = mean_sojourn_s * mean_rate_per_s;
            let calm_mean = burst_mean * (1.0 - p) / p;
            let mut bursting = rng.random::<f64>() < p;
            let exp = |rng: &mut Xoshiro256PlusPlus, mean: f64| -> f64 {
                let e: f64 = Exp1.sample(rng);
                e * mean
            };
            let mut left = exp(rng, if bursting { burst_mean } else { calm_mean });
            loop {
                let rate = if bursting { high } else { low };
                let gap = exp(rng, 1.0 / rate);
                if gap < left {
                    tau += gap;
                    left -= gap;
                    if tau > horizon {
                        break;
                    }
                    epochs.push(tau);
                } else {
                    // The state changes first; arrivals are memoryless, so draw afresh.
                    tau += left;
                    if tau > horizon {
                        break;
                    }
                    bursting = !bursting;
                    left = exp(rng, if bursting { burst_mean } else { calm_mean });
                }
            }
        }
    }
    epochs
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Statistical tolerances (relative unless named otherwise); each is about 4 standard errors
    /// of the estimate for the sample size used, and the seeds are fixed.
    const CV_TOL_ABS: f64 = 0.04;
    const RATIO_TOL_REL: f64 = 0.06;
    const COUNT_TOL_REL: f64 = 0.02;

    fn flat(arrivals: Arrivals, rate: f64, duration_s: f64) -> SynthSpec {
        SynthSpec {
            duration_s,
            mean_rate_per_s: rate,
            diurnal: Diurnal { peak_to_trough: 1.0, peak_hour: 0.0 },
            arrivals,
            ..SynthSpec::default()
        }
    }

    fn gap_cv(ts: &[f64]) -> f64 {
        let gaps: Vec<f64> = ts.windows(2).map(|w| w[1] - w[0]).collect();
        let mean = gaps.iter().sum::<f64>() / gaps.len() as f64;
        let var = gaps.iter().map(|g| (g - mean).powi(2)).sum::<f64>() / gaps.len() as f64;
        var.sqrt() / mean
    }

    #[test]
    fn inverse_intensity_inverts_the_cumulative() {
        let it = Intensity::new(10.0, 3.0, 14.0, 1000.0);
        let end = 1000.0 + 2.0 * DAY_S;
        let total = it.cumulative(end);
        let mut prev = 1000.0;
        for i in 1..=2000 {
            let tau = total * i as f64 / 2000.0;
            let t = it.inverse(tau, prev);
            assert!(t >= prev, "not monotone at tau {tau}: {t} < {prev}");
            let back = it.cumulative(t);
            assert!((back - tau).abs() <= 1e-6 * tau.max(1.0), "tau {tau}: Lambda(t) = {back}");
            prev = t;
        }
        assert!((prev - end).abs() < 1e-6, "last point {prev}, want {end}");
        // Flat intensity: closed form t = start + tau / rate.
        let it = Intensity::new(4.0, 1.0, 0.0, 0.0);
        let t = it.inverse(10.0, 0.0);
        assert!((t - 2.5).abs() < 1e-9, "flat inverse: {t}, want 2.5");
        // A very peaky day still converges (bracket keeps Newton honest).
        let it = Intensity::new(1.0, 1000.0, 3.0, 0.0);
        let t = it.inverse(50_000.0, 0.0);
        assert!((it.cumulative(t) - 50_000.0).abs() < 1e-6, "peaky inverse: Lambda({t}) = {}", it.cumulative(t));
    }

    #[test]
    fn one_day_integrates_to_the_mean_rate() {
        let it = Intensity::new(7.0, 3.0, 14.0, 123.0);
        let got = it.cumulative(123.0 + DAY_S);
        assert!((got - 7.0 * DAY_S).abs() < 1e-6, "one day: {got}, want {}", 7.0 * DAY_S);
    }

    #[test]
    fn gamma_arrivals_have_the_requested_cv() {
        // 200k arrivals: the CV estimate's standard error is about 0.01 at cv 1.5.
        let spec = flat(Arrivals::Gamma { cv: 1.5 }, 20.0, 10_000.0);
        let trace = synth(&spec, 7).unwrap();
        let cv = gap_cv(&trace.timestamp_s);
        assert!((cv - 1.5).abs() < CV_TOL_ABS, "gamma cv: got {cv}, want 1.5 +- {CV_TOL_ABS}");
        let n = trace.len() as f64;
        assert!((n / 200_000.0 - 1.0).abs() < COUNT_TOL_REL, "count: got {n}, want 200000");
        let poisson = synth(&flat(Arrivals::Poisson {}, 20.0, 10_000.0), 7).unwrap();
        let cv = gap_cv(&poisson.timestamp_s);
        assert!((cv - 1.0).abs() < CV_TOL_ABS, "poisson cv: got {cv}, want 1 +- {CV_TOL_ABS}");
    }

    #[test]
    fn mmpp_is_bursty_with_the_requested_mean_rate() {
        let spec = flat(Arrivals::Mmpp { rates_ratio: 10.0, mean_sojourn_s: 1.0, burst_share: 0.2 }, 20.0, 20_000.0);
        let trace = synth(&spec, 11).unwrap();
        let n = trace.len() as f64;
        // Counts vary more than Poisson's. In operational units: rates 3.57 and 0.357, sojourns 20
        // and 80, correlation time 1/(1/20 + 1/80) = 16, rate variance 0.2*0.8*(3.57-0.357)^2 = 1.65,
        // so Var(N) ~ 2 * 1.65 * 16 * 400000 and the standard deviation is about 1.15 %.
        assert!((n / 400_000.0 - 1.0).abs() < 0.05, "mmpp count: got {n}, want 400000 +- 5%");
        let cv = gap_cv(&trace.timestamp_s);
        assert!(cv > 1.3, "mmpp inter-arrival cv: got {cv}, want clearly above 1");
    }

    #[test]
    fn diurnal_peak_to_trough_ratio() {
        // Poisson, one day, ~400k requests; count the hour around the peak and around the trough.
        let spec =
            SynthSpec { mean_rate_per_s: 400_000.0 / DAY_S, arrivals: Arrivals::Poisson {}, ..SynthSpec::default() };
        let trace = synth(&spec, 3).unwrap();
        let count = |centre_h: f64| {
            let (lo, hi) = ((centre_h - 0.5) * 3600.0, (centre_h + 0.5) * 3600.0);
            trace.timestamp_s.iter().filter(|&&t| t >= lo && t < hi).count() as f64
        };
        let ratio = count(14.0) / count(2.0);
        // Averaging cos over +-30 min: (1 + a s) / (1 - a s), a = 0.5, s = sin(pi/24)/(pi/24).
        let s = (PI / 24.0).sin() / (PI / 24.0);
        let want = (1.0 + 0.5 * s) / (1.0 - 0.5 * s);
        assert!((ratio / want - 1.0).abs() < RATIO_TOL_REL, "peak/trough: got {ratio}, want {want}");
        assert!(trace.timestamp_s.windows(2).all(|w| w[0] <= w[1]), "not sorted");
        assert!(trace.timestamp_s.iter().all(|&t| (0.0..=DAY_S).contains(&t)));
    }

    #[test]
    fn class_and_origin_mix_and_tokens_follow_the_spec() {
        let spec = SynthSpec { mean_rate_per_s: 2.0, duration_s: 50_000.0, ..SynthSpec::default() };
        let trace = synth(&spec, 5).unwrap();
        let n = trace.len() as f64;
        assert_eq!(trace.class_names, ["chat", "classify", "code", "reasoning", "vision", "zh_docs"]);
        assert_eq!(trace.origin_names, ["ap-southeast-1", "eu-west-1", "us-east-1"]);
        for (i, name) in trace.class_names.iter().enumerate() {
            let want = spec.classes[name].share;
            let got = trace.class.iter().filter(|&&c| c as usize == i).count() as f64 / n;
            let se = (want * (1.0 - want) / n).sqrt();
            assert!((got - want).abs() < 4.0 * se, "class {name}: share {got}, want {want} +- {}", 4.0 * se);
        }
        // Median of lognormal tokens is the spec's median (code: 1500 in, 400 out).
        let code = trace.class_names.iter().position(|c| c == "code").unwrap() as u16;
        let mut code_in: Vec<u32> =
            (0..trace.len()).filter(|&i| trace.class[i] == code).map(|i| trace.input_tokens[i]).collect();
        code_in.sort_unstable();
        let median = code_in[code_in.len() / 2] as f64;
        assert!((median / 1500.0 - 1.0).abs() < 0.05, "code input median: got {median}, want 1500");
        assert!(trace.input_tokens.iter().all(|&t| (1..=128_000).contains(&t)));
    }

    #[test]
    fn same_seed_same_trace_other_seed_other_trace() {
        let spec = SynthSpec { duration_s: 3600.0, ..SynthSpec::default() };
        let a = synth(&spec, 42).unwrap();
        let b = synth(&spec, 42).unwrap();
        assert_eq!(a, b);
        let c = synth(&spec, 43).unwrap();
        assert_ne!(a.timestamp_s, c.timestamp_s);
        assert_ne!(a.input_tokens, c.input_tokens);
    }

    #[test]
    fn default_yaml_is_the_default_spec() {
        let parsed: SynthSpec = crate::yaml::from_str(&default_spec_yaml(), Path::new("default.yaml")).unwrap();
        assert_eq!(parsed, SynthSpec::default());
        parsed.validate().unwrap();
        // The copy shipped in the repository stays in step.
        let shipped =
            std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("traces/synth-default.yaml")).unwrap();
        assert_eq!(shipped, default_spec_yaml(), "traces/synth-default.yaml differs from default_spec_yaml()");
    }

    #[test]
    fn arrival_kinds_parse_and_misspelt_keys_are_rejected() {
        let p = Path::new("s.yaml");
        let spec: SynthSpec = crate::yaml::from_str("arrivals:\n  poisson: {}\n", p).unwrap();
        assert_eq!(spec.arrivals, Arrivals::Poisson {});
        let spec: SynthSpec =
            crate::yaml::from_str("arrivals:\n  mmpp: {rates_ratio: 4, mean_sojourn_s: 10}\n", p).unwrap();
        assert_eq!(spec.arrivals, Arrivals::Mmpp { rates_ratio: 4.0, mean_sojourn_s: 10.0, burst_share: 0.5 });
        let err = crate::yaml::from_str::<SynthSpec>("arrivals:\n  gamma: {cvv: 2}\n", p).unwrap_err();
        assert!(err.to_string().contains("cvv"), "{err}");
        let err = crate::yaml::from_str::<SynthSpec>("duration: 5\n", p).unwrap_err();
        assert!(err.to_string().contains("duration"), "{err}");
    }

    #[test]
    fn bad_spec_reports_every_problem_with_its_line() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("bad.yaml");
        let text = "duration_s: -5\ndiurnal:\n  peak_to_trough: 0.5\nclasses:\n  a:\n    share: 0.7\n    input_tokens: {median: 10, sigma: 1}\n    output_tokens: {median: 10, sigma: 1}\n  b:\n    share: 0.7\n    input_tokens: {median: 10, sigma: 1}\n    output_tokens: {median: 0, sigma: 1}\norigins:\n  x: -1\n  y: 2\n";
        std::fs::write(&path, text).unwrap();
        let err = load_spec(&path).unwrap_err();
        let problems = err.problems();
        let find = |field: &str| {
            problems
                .iter()
                .find(|p| p.place.field.as_deref() == Some(field))
                .unwrap_or_else(|| panic!("no problem for {field} in:\n{err}"))
        };
        assert_eq!(find("duration_s").place.line, Some(1));
        assert_eq!(find("diurnal.peak_to_trough").place.line, Some(3));
        let sum = find("classes");
        assert_eq!(sum.place.line, Some(4));
        assert!(sum.message.contains("sum to 1.4"), "{}", sum.message);
        assert!(sum.fix.contains("a: 0.5, b: 0.5"), "{}", sum.fix);
        // Flow style: the line of the enclosing key.
        assert_eq!(find("classes.b.output_tokens.median").place.line, Some(12));
        assert_eq!(find("origins.x").place.line, Some(14));
        assert_eq!(problems.len(), 5, "{err}");
    }
}
