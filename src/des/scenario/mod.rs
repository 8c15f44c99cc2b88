//! The scenario of a discrete-event run: gateway settings, capacity overrides, availability
//! processes and scripted incidents, validated.
//!
//! [`spec`] holds the YAML shapes (the file format, with an example); [`Scenario::from_spec`]
//! validates them once against a catalog (every problem with its line, field and fix) into the
//! typed [`Scenario`] the engine trusts; [`Scenario::load`] reads a file through `yaml::load`.
//! Deliberately absent: simulation state (the event loop's, in `des::sim`).

pub mod spec;

use std::path::Path;

use crate::catalog::{Catalog, Limits};
use crate::error::{Place, Problems, Result};
use crate::names::Names;
use crate::yaml::{self, Spanned, line_of};
pub use spec::Strategy;
use spec::{ProcessSpec, ScenarioSpec, TimeValue};

/// LiteLLM-style cooldown: more than `allowed_fails` failed attempts on an endpoint within
/// `window_s` take it out of rotation for `cooldown_s`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Cooldown {
    pub allowed_fails: u32,
    pub window_s: f64,
    pub cooldown_s: f64,
}

/// How the gateway retries and cools down.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Gateway {
    /// Retries on the same endpoint before moving to the next one of the fallback chain.
    pub num_retries: u32,
    /// Delay before the first retry; doubled per retry.
    pub retry_backoff_s: f64,
    pub max_backoff_s: f64,
    /// A 429's retry-after (the time until the bucket has room) replaces the backoff.
    pub honor_retry_after: bool,
    pub cooldown: Option<Cooldown>,
    pub strategy: Strategy,
    pub latency_window_s: f64,
    pub hedge_after_s: Option<f64>,
}

impl Default for Gateway {
    fn default() -> Self {
        Gateway {
            num_retries: 0,
            retry_backoff_s: 0.0,
            max_backoff_s: 60.0,
            honor_retry_after: true,
            cooldown: None,
            strategy: Strategy::Weighted,
            latency_window_s: 60.0,
            hedge_after_s: None,
        }
    }
}

impl Gateway {
    /// The delay before retry number `k` (1-based).
    pub fn backoff_s(&self, k: u32) -> f64 {
        (self.retry_backoff_s * 2f64.powi(k.saturating_sub(1).min(60) as i32)).min(self.max_backoff_s)
    }
}

/// An up/degraded/down Markov process: from up, failure after Exp(mean `mtbf_s`) and (if given)
/// degradation after Exp(mean `degraded_mtbf_s`), whichever first; down lasts Exp(`mttr_s`),
/// degraded Exp(`degraded_mttr_s`), both back to up.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Process {
    pub mtbf_s: f64,
    pub mttr_s: f64,
    /// (mtbf, mttr, latency multiplier) of the degraded state.
    pub degraded: Option<(f64, f64, f64)>,
}

/// What an incident does while it lasts.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Effect {
    pub down: bool,
    pub latency_x: f64,
    pub rate_limit_x: f64,
}

/// Where an incident or process applies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    Endpoint(usize),
    /// Catalog region index.
    Region(usize),
}

/// A scripted incident. Times are seconds from the start of the trace's first day when `clock` is
/// true (resolved by the engine), otherwise on the trace's own clock.
#[derive(Debug, Clone, PartialEq)]
pub struct Incident {
    pub name: String,
    pub scope: Scope,
    pub from_s: f64,
    pub to_s: f64,
    pub clock: bool,
    pub effect: Effect,
}

/// A validated scenario.
#[derive(Debug, Clone, PartialEq)]
pub struct Scenario {
    pub name: String,
    pub gateway: Gateway,
    /// Effective limits per endpoint (catalog order).
    pub limits: Vec<Limits>,
    /// Per endpoint, its own availability process.
    pub endpoint_process: Vec<Option<Process>>,
    /// Per catalog region, the region's process.
    pub region_process: Vec<Option<Process>>,
    pub incidents: Vec<Incident>,
    /// Time-series bin width, seconds.
    pub bin_s: f64,
    /// Load-dependent slowdown curve (utilisation, multiplier), utilisation ascending; empty: none.
    pub slowdown: Vec<(f64, f64)>,
}

impl Scenario {
    /// No retries, no cooldown, the catalog's limits, no outages: the replay engine's semantics
    /// plus the catalog's capacity limits.
    pub fn plain(catalog: &Catalog) -> Scenario {
        Scenario {
            name: "none".into(),
            gateway: Gateway::default(),
            limits: catalog.endpoints.iter().map(|e| e.limits).collect(),
            endpoint_process: vec![None; catalog.endpoints.len()],
            region_process: vec![None; catalog.regions.len()],
            incidents: Vec::new(),
            bin_s: 60.0,
            slowdown: Vec::new(),
        }
    }

    /// Unlimited capacity and no rate limits (for agreement with the replay engine).
    pub fn unlimited(catalog: &Catalog) -> Scenario {
        let mut s = Scenario::plain(catalog);
        s.limits = vec![Limits::default(); catalog.endpoints.len()];
        s
    }

    /// The slowdown multiplier at utilisation `u` (linear between the curve's points, flat beyond).
    pub fn slowdown_at(&self, u: f64) -> f64 {
        let c = &self.slowdown;
        match c.iter().position(|&(x, _)| x >= u) {
            None => c.last().map_or(1.0, |p| p.1),
            Some(0) => c[0].1,
            Some(k) => {
                let ((x0, y0), (x1, y1)) = (c[k - 1], c[k]);
                if x1 > x0 { y0 + (y1 - y0) * (u - x0) / (x1 - x0) } else { y1 }
            }
        }
    }

    /// Every endpoint's concurrency set to `slots` (the peer's `--concurrency`).
    pub fn set_concurrency(&mut self, slots: u64) {
        for l in &mut self.limits {
            l.max_concurrency = Some(slots);
        }
    }

    pub fn load(path: &Path, catalog: &Catalog) -> Result<Scenario> {
        yaml::load(path, |spec, origin| Scenario::from_spec(spec, origin, catalog))
    }

    pub fn from_yaml_str(text: &str, origin: &Path, catalog: &Catalog) -> Result<Scenario> {
        yaml::load_str(text, origin, |spec, origin| Scenario::from_spec(spec, origin, catalog))
    }

    /// Validate a parsed scenario against a catalog, reporting every problem at once.
    pub fn from_spec(spec: &ScenarioSpec, origin: &Path, catalog: &Catalog) -> Result<Scenario> {
        let mut problems = Problems::default();
        let at = |line: Option<usize>, field: &str| Place::file(origin).maybe_line(line).field(field);
        if spec.version != 1 {
            problems.push(at(None, "version"), format!("unknown version {}", spec.version), "use `version: 1`");
        }
        let mut s = Scenario::plain(catalog);
        s.name = spec.name.clone().unwrap_or_else(|| origin.display().to_string());

        // Gateway.
        let g = &spec.gateway;
        if let Some(n) = &g.num_retries {
            if n.value > 100 {
                problems.push(
                    at(line_of(n), "gateway.num_retries"),
                    format!("{} retries per endpoint is not a gateway setting anyone uses", n.value),
                    "use 0 to 10",
                );
            }
            s.gateway.num_retries = n.value;
        }
        for (field, v, target) in [
            ("gateway.retry_backoff_s", &g.retry_backoff_s, &mut s.gateway.retry_backoff_s),
            ("gateway.max_backoff_s", &g.max_backoff_s, &mut s.gateway.max_backoff_s),
        ] {
            if let Some(v) = v {
                if !(v.value.is_finite() && v.value >= 0.0) {
                    problems.push(
                        at(line_of(v), field),
                        format!("{} is not a number of seconds >= 0", v.value),
                        "give seconds, e.g. 0.5",
                    );
                }
                *target = v.value;
            }
        }
        if let Some(h) = g.honor_retry_after {
            s.gateway.honor_retry_after = h;
        }
        if let Some(c) = &g.cooldown {
            let line = line_of(c);
            let window_s = c.value.window_s.unwrap_or(60.0);
            if !(window_s.is_finite() && window_s > 0.0) {
                problems.push(
                    at(line, "gateway.cooldown.window_s"),
                    format!("window {window_s} s must be > 0"),
                    "LiteLLM counts failures per minute: use 60",
                );
            }
            if !(c.value.cooldown_s.is_finite() && c.value.cooldown_s > 0.0) {
                problems.push(
                    at(line, "gateway.cooldown.cooldown_s"),
                    format!("cooldown {} s must be > 0", c.value.cooldown_s),
                    "give seconds > 0, as for LiteLLM's `cooldown_time`; remove `cooldown:` for none",
                );
            }
            s.gateway.cooldown =
                Some(Cooldown { allowed_fails: c.value.allowed_fails, window_s, cooldown_s: c.value.cooldown_s });
        }

        if let Some(st) = &g.strategy {
            s.gateway.strategy = st.value;
        }
        if let Some(w) = &g.latency_window_s {
            if !(w.value.is_finite() && w.value > 0.0) {
                problems.push(
                    at(line_of(w), "gateway.latency_window_s"),
                    format!("{} must be > 0", w.value),
                    "e.g. 60",
                );
            }
            s.gateway.latency_window_s = w.value;
        }
        if let Some(h) = &g.hedge_after_s {
            if !(h.value.is_finite() && h.value >= 0.0) {
                problems.push(
                    at(line_of(h), "gateway.hedge_after_s"),
                    format!("{} is not a number of seconds >= 0", h.value),
                    "e.g. `hedge_after_s: 2` (remove it for no hedging)",
                );
            }
            s.gateway.hedge_after_s = Some(h.value);
        }
        if let Some(curve) = &spec.limits.slowdown {
            let ok = !curve.value.is_empty()
                && curve.value.iter().all(|[u, m]| (0.0..=1.0).contains(u) && m.is_finite() && *m > 0.0)
                && curve.value.windows(2).all(|w| w[0][0] < w[1][0]);
            if !ok {
                problems.push(
                    at(line_of(curve), "limits.slowdown"),
                    "the curve needs [utilisation, multiplier] points with utilisation rising within 0..1 and multipliers > 0",
                    "e.g. `slowdown: [[0.0, 1.0], [0.7, 1.0], [1.0, 1.6]]`",
                );
            }
            s.slowdown = curve.value.iter().map(|p| (p[0], p[1])).collect();
        }

        // Limits.
        let rate_limits = spec.limits.rate_limits.unwrap_or(true);
        for (e, l) in s.limits.iter_mut().enumerate() {
            if !rate_limits {
                l.rpm = None;
                l.tpm = None;
            }
            if let Some(d) = &spec.limits.default {
                apply_limits(l, d);
            }
            let _ = e;
        }
        for (key, l) in &spec.limits.endpoints.0 {
            match endpoint_of(catalog, key, origin, "limits.endpoints", &mut problems) {
                Some(e) => apply_limits(&mut s.limits[e], l),
                None => continue,
            }
        }
        for (e, l) in s.limits.iter().enumerate() {
            for (name, v) in [("rpm", l.rpm), ("tpm", l.tpm), ("max_concurrency", l.max_concurrency)] {
                if v == Some(0) {
                    problems.push(
                        at(None, &format!("limits: {}: {name}", catalog.endpoints[e].id)),
                        format!("{name} 0 would refuse every request"),
                        "give a positive limit, or leave it out for none",
                    );
                }
            }
        }

        // Availability processes.
        for (key, p) in &spec.availability.endpoints.0 {
            let Some(process) = process_of(p, origin, &format!("availability.endpoints.{}", key.value), &mut problems)
            else {
                continue;
            };
            if key.value == "default" {
                for slot in &mut s.endpoint_process {
                    *slot = Some(process);
                }
            } else if let Some(e) = endpoint_of(catalog, key, origin, "availability.endpoints", &mut problems) {
                s.endpoint_process[e] = Some(process);
            }
        }
        for (key, p) in &spec.availability.regions.0 {
            let Some(process) = process_of(p, origin, &format!("availability.regions.{}", key.value), &mut problems)
            else {
                continue;
            };
            if let Some(r) = region_of(catalog, key, origin, "availability.regions", &mut problems) {
                s.region_process[r] = Some(process);
            }
        }

        // Incidents.
        for (i, inc) in spec.incidents.iter().enumerate() {
            let line = line_of(inc);
            let field = format!("incidents[{i}]");
            let v = &inc.value;
            let spanned =
                |name: &str| Spanned { value: name.to_string(), referenced: inc.referenced, defined: inc.defined };
            let scope = match (&v.region, &v.endpoint) {
                (Some(r), None) => region_of(catalog, &spanned(r), origin, &field, &mut problems).map(Scope::Region),
                (None, Some(e)) => {
                    endpoint_of(catalog, &spanned(e), origin, &field, &mut problems).map(Scope::Endpoint)
                }
                _ => {
                    problems.push(
                        at(line, &field),
                        "an incident needs exactly one of `region:` and `endpoint:`",
                        "e.g. `region: ap-southeast-1` or `endpoint: deepseek-v4-flash@us-east-1`",
                    );
                    None
                }
            };
            let from = parse_time(&v.from, false).map_err(|m| (format!("{field}.from"), m));
            let end = match (&v.to, &v.duration) {
                (Some(to), None) => parse_time(to, false).map(|(t, c)| (t, c, false)),
                (None, Some(d)) => parse_time(d, true).map(|(t, _)| (t, false, true)),
                _ => Err("give exactly one of `to:` (a time) and `for:` (a duration, e.g. 15m)".to_string()),
            }
            .map_err(|m| (format!("{field}.to"), m));
            let (from_s, from_clock, to_s) = match (from, end) {
                (Ok((f, fc)), Ok((t, tc, is_duration))) => {
                    if !is_duration && tc != fc {
                        problems.push(
                            at(line, &field),
                            "`from:` and `to:` mix a clock time and plain seconds",
                            "write both as clock times (\"03:00\") or both as seconds",
                        );
                    }
                    (f, fc, if is_duration { f + t } else { t })
                }
                (Err((fld, m)), _) | (_, Err((fld, m))) => {
                    problems.push(
                        at(line, &fld),
                        m,
                        "times are \"HH:MM\", \"HH:MM:SS\" or seconds; durations 90s, 15m, 1h",
                    );
                    continue;
                }
            };
            if to_s <= from_s {
                problems.push(
                    at(line, &field),
                    format!("the incident ends ({to_s} s) before it starts ({from_s} s)"),
                    "make `to:` later than `from:` (an incident past midnight: use seconds, e.g. 90000)",
                );
            }
            let effect = Effect {
                down: v.down.unwrap_or(false),
                latency_x: v.latency_x.unwrap_or(1.0),
                rate_limit_x: v.rate_limit_x.unwrap_or(1.0),
            };
            if !(effect.latency_x.is_finite() && effect.latency_x > 0.0) {
                problems.push(at(line, &format!("{field}.latency_x")), "must be > 0", "e.g. `latency_x: 3`");
            }
            if !(effect.rate_limit_x.is_finite() && effect.rate_limit_x > 0.0) {
                problems.push(
                    at(line, &format!("{field}.rate_limit_x")),
                    "must be > 0",
                    "e.g. `rate_limit_x: 0.5` halves the limit; use `down: true` for none at all",
                );
            }
            if !effect.down && effect.latency_x == 1.0 && effect.rate_limit_x == 1.0 {
                problems.push(
                    at(line, &field),
                    "the incident changes nothing",
                    "add `down: true`, `latency_x: 3` or `rate_limit_x: 0.5`",
                );
            }
            if let Some(scope) = scope {
                s.incidents.push(Incident {
                    name: v.name.clone().unwrap_or_else(|| format!("incident {}", i + 1)),
                    scope,
                    from_s,
                    to_s,
                    clock: from_clock,
                    effect,
                });
            }
        }
        if let Some(ts) = &spec.timeseries {
            if !(ts.bin_s.is_finite() && ts.bin_s > 0.0) {
                problems.push(at(None, "timeseries.bin_s"), format!("bin {} s must be > 0", ts.bin_s), "e.g. 60");
            }
            s.bin_s = ts.bin_s;
        }
        problems.finish()?;
        Ok(s)
    }
}

fn apply_limits(l: &mut Limits, spec: &crate::catalog::spec::LimitsSpec) {
    if spec.rpm.is_some() {
        l.rpm = spec.rpm;
    }
    if spec.tpm.is_some() {
        l.tpm = spec.tpm;
    }
    if spec.max_concurrency.is_some() {
        l.max_concurrency = spec.max_concurrency;
    }
}

fn endpoint_of(
    catalog: &Catalog,
    key: &Spanned<String>,
    origin: &Path,
    field: &str,
    problems: &mut Problems,
) -> Option<usize> {
    Names::new(catalog).endpoint(&key.value, Place::file(origin).maybe_line(line_of(key)).field(field), problems)
}

fn region_of(
    catalog: &Catalog,
    key: &Spanned<String>,
    origin: &Path,
    field: &str,
    problems: &mut Problems,
) -> Option<usize> {
    Names::new(catalog).region(&key.value, Place::file(origin).maybe_line(line_of(key)).field(field), problems)
}

fn process_of(p: &Spanned<ProcessSpec>, origin: &Path, field: &str, problems: &mut Problems) -> Option<Process> {
    let before = problems.0.len();
    let place = |f: &str| Place::file(origin).maybe_line(line_of(p)).field(format!("{field}.{f}"));
    let positive = |v: f64| v.is_finite() && v > 0.0;
    let v = &p.value;
    if !positive(v.mtbf_s) {
        problems.push(place("mtbf_s"), format!("{} is not a positive number of seconds", v.mtbf_s), "e.g. 86400");
    }
    if !positive(v.mttr_s) {
        problems.push(place("mttr_s"), format!("{} is not a positive number of seconds", v.mttr_s), "e.g. 600");
    }
    if let Some(d) = &v.degraded {
        for (f, x) in
            [("degraded.mtbf_s", d.mtbf_s), ("degraded.mttr_s", d.mttr_s), ("degraded.latency_x", d.latency_x)]
        {
            if !positive(x) {
                problems.push(
                    place(f),
                    format!("{x} must be > 0"),
                    "e.g. `degraded: {mtbf_s: 43200, mttr_s: 900, latency_x: 2}`",
                );
            }
        }
    }
    (problems.0.len() == before).then(|| Process {
        mtbf_s: v.mtbf_s,
        mttr_s: v.mttr_s,
        degraded: v.degraded.as_ref().map(|d| (d.mtbf_s, d.mttr_s, d.latency_x)),
    })
}

/// Seconds from a time value, and whether it is a clock time (relative to the trace's first day).
/// With `duration`, `15m`, `90s`, `1h` and plain numbers are accepted.
pub fn parse_time(v: &TimeValue, duration: bool) -> std::result::Result<(f64, bool), String> {
    let check = |x: f64| {
        if x.is_finite() && x >= 0.0 { Ok(x) } else { Err(format!("{x} is not a time >= 0")) }
    };
    match v {
        TimeValue::Seconds(x) => Ok((check(*x)?, false)),
        TimeValue::Text(s) => {
            let s = s.trim();
            if duration {
                let (num, unit) = s.split_at(s.find(|c: char| c.is_ascii_alphabetic()).unwrap_or(s.len()));
                let x: f64 = num.trim().parse().map_err(|_| format!("`{s}` is not a duration"))?;
                let k = match unit {
                    "" | "s" => 1.0,
                    "m" | "min" => 60.0,
                    "h" => 3600.0,
                    _ => return Err(format!("`{s}`: unknown unit `{unit}`")),
                };
                return Ok((check(x * k)?, false));
            }
            if let Ok(x) = s.parse::<f64>() {
                return Ok((check(x)?, false));
            }
            let parts: Vec<&str> = s.split(':').collect();
            let nums: Option<Vec<f64>> = parts.iter().map(|p| p.parse::<f64>().ok()).collect();
            match nums.as_deref() {
                Some([h, m]) if *h < 48.0 && *m < 60.0 => Ok((h * 3600.0 + m * 60.0, true)),
                Some([h, m, sec]) if *h < 48.0 && *m < 60.0 && *sec < 60.0 => Ok((h * 3600.0 + m * 60.0 + sec, true)),
                _ => Err(format!("`{s}` is not a clock time")),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_and_durations_parse() {
        let t = |s: &str| parse_time(&TimeValue::Text(s.into()), false);
        let d = |s: &str| parse_time(&TimeValue::Text(s.into()), true).map(|x| x.0);
        assert_eq!(t("03:20"), Ok((12000.0, true)));
        assert_eq!(t("14:00:30"), Ok((50430.0, true)));
        assert_eq!(t("3600"), Ok((3600.0, false)));
        assert_eq!(d("15m"), Ok(900.0));
        assert_eq!(d("1h"), Ok(3600.0));
        assert_eq!(d("90s"), Ok(90.0));
        assert!(t("3 o'clock").is_err());
        assert!(d("5 days").is_err());
    }

    #[test]
    fn backoff_doubles_up_to_the_cap() {
        let g = Gateway { retry_backoff_s: 0.5, max_backoff_s: 3.0, ..Gateway::default() };
        assert_eq!([g.backoff_s(1), g.backoff_s(2), g.backoff_s(3), g.backoff_s(4)], [0.5, 1.0, 2.0, 3.0]);
    }
}
