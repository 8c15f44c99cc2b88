//! Calibration: from a recorded trace (latency, TTFT, tokens, status per request, with the model
//! and region that served it) to a catalog, with a goodness-of-fit report.
//!
//! Per (model, region), in the trace's time order:
//! * **time to first token**: successful requests' `ttft_s`, fitted as a lognormal (maximum
//!   likelihood) or as empirical quantiles ([`fit`]);
//! * **decode speed**: `output_tokens / (latency_s - ttft_s)` of successful requests, as a
//!   lognormal in tokens per second (what the engine samples);
//! * **end-to-end latency**: successful requests' `latency_s`, fitted the same ways; when a trace
//!   has no TTFT (BurstGPT's `Elapsed time`), this fit stands in for the TTFT in the catalog, with a
//!   decode speed too fast to matter, so that simulated latency reproduces the recorded one;
//! * **availability** (share of requests that succeeded) and **429 rate** (share rate-limited);
//! * **outage windows**: runs of at least `outage_min_run` consecutive failed requests;
//! * **prices**, when the trace records cost: least squares of cost on input and output tokens.
//!
//! With `holdout`, every other request (in time order) is kept out of the fit and the goodness of
//! fit (KS distance, p50/p90/p99 relative error) is measured on those held-out requests; otherwise
//! on the same requests. A quantity with fewer than [`MIN_SAMPLES_FOR_P99`] observations gets a
//! warning: its p99 rests on less than one observation beyond it.
//!
//! Deliberately absent: no IO, no printing; the CLI writes the catalog, table and charts.

pub mod fit;
pub mod synthetic;

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::catalog::LatencyDist;
use crate::catalog::spec::{
    CatalogSpec, DecodeSpec, LatencySpec, LognormalSpec, ModelSpec, PricesSpec, RegionOverride,
};
use crate::error::{Error, Place, Problem, Result};
use crate::trace::Trace;
use crate::trace::import::status as st;
use crate::yaml::{OrderedMap, unspanned};
use fit::{Gof, fit_empirical, fit_lognormal, goodness_of_fit};

/// Below this many observations a p99 is not to be trusted (fewer than one beyond it).
pub const MIN_SAMPLES_FOR_P99: usize = 100;

/// Decode speed written for traces without TTFT: the whole latency is in the "TTFT" fit, and
/// decoding 1,000 tokens at this speed adds a microsecond.
pub const INSTANT_DECODE_TPS: f64 = 1e9;

/// Which fitted form goes into the catalog for TTFT (and latency).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FitMethod {
    #[default]
    Lognormal,
    Empirical,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CalibrateOptions {
    pub method: FitMethod,
    /// Fit on every other request and measure the fit on the rest.
    pub holdout: bool,
    /// Consecutive failures that make an outage window.
    pub outage_min_run: usize,
}

impl Default for CalibrateOptions {
    fn default() -> Self {
        CalibrateOptions { method: FitMethod::Lognormal, holdout: false, outage_min_run: 3 }
    }
}

/// (value, observed CDF, lognormal CDF, empirical CDF) at one observation.
pub type CdfPoint = (f64, f64, f64, f64);

/// One fitted quantity with both forms and their goodness of fit.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct QuantityFit {
    /// Observations fitted.
    pub n_fit: usize,
    pub mu: f64,
    pub sigma: f64,
    /// Empirical quantile points `[p, value]`.
    pub empirical: Vec<[f64; 2]>,
    pub lognormal_gof: Gof,
    pub empirical_gof: Gof,
    /// Fitted CDF against the observed one, for charts: (value, observed CDF, lognormal CDF,
    /// empirical CDF) at each test observation.
    #[serde(skip)]
    pub cdf: Vec<CdfPoint>,
}

impl QuantityFit {
    pub fn lognormal(&self) -> LatencyDist {
        LatencyDist::LogNormal { mu: self.mu, sigma: self.sigma }
    }
    pub fn empirical_dist(&self) -> LatencyDist {
        LatencyDist::Empirical {
            probs: self.empirical.iter().map(|p| p[0]).collect(),
            values: self.empirical.iter().map(|p| p[1]).collect(),
        }
    }
    /// The goodness of fit of the chosen form.
    pub fn gof(&self, method: FitMethod) -> &Gof {
        match method {
            FitMethod::Lognormal => &self.lognormal_gof,
            FitMethod::Empirical => &self.empirical_gof,
        }
    }
}

/// A run of consecutive failures at one endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Outage {
    pub start_s: f64,
    pub end_s: f64,
    pub failed_requests: usize,
}

/// Everything calibrated for one (model, region).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EndpointFit {
    pub model: String,
    pub region: String,
    pub requests: usize,
    pub ok: usize,
    pub rate_limited: usize,
    pub failed: usize,
    pub availability: f64,
    pub rate_limit_rate: f64,
    pub outages: Vec<Outage>,
    pub ttft: Option<QuantityFit>,
    pub decode_tps: Option<QuantityFit>,
    pub latency: Option<QuantityFit>,
    /// Dollars per million input and output tokens, from recorded cost.
    pub prices_per_mtok: Option<(f64, f64)>,
}

impl EndpointFit {
    pub fn id(&self) -> String {
        format!("{}@{}", self.model, self.region)
    }
}

/// The result of a calibration.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Calibration {
    pub source: String,
    pub method: FitMethod,
    pub holdout: bool,
    pub endpoints: Vec<EndpointFit>,
    pub warnings: Vec<String>,
}

/// Calibrate every (model, region) of a recorded trace.
pub fn calibrate(trace: &Trace, opts: &CalibrateOptions) -> Result<Calibration> {
    let r = &trace.recorded;
    let place = Place::file(&trace.source);
    let need = |present: bool, column: &str, fix: &str| -> Result<()> {
        if present {
            Ok(())
        } else {
            Err(Error::one(Problem::new(
                place.clone().field(column),
                format!("the trace has no `{column}` column; calibration needs it"),
                fix.to_string(),
            )))
        }
    };
    need(
        r.latency_s.is_some() || r.ttft_s.is_some(),
        "latency_s",
        "import a log with recorded latency (e.g. --format litellm, otel, llmperf, or burstgpt with Elapsed time), or --map your column to latency_s",
    )?;
    need(
        r.status.is_some(),
        "status",
        "record each request's outcome in a `status` column (ok, failed, rate_limited, timeout)",
    )?;
    let status = r.status.as_ref();
    let model = |i: usize| r.model.as_ref().and_then(|m| m.get(i)).unwrap_or("unknown").to_string();
    let region = |i: usize| r.region.as_ref().and_then(|m| m.get(i)).unwrap_or("unknown").to_string();
    let mut groups: BTreeMap<(String, String), Vec<usize>> = BTreeMap::new();
    for i in 0..trace.len() {
        groups.entry((model(i), region(i))).or_default().push(i);
    }
    let mut warnings = Vec::new();
    if r.model.is_none() || r.region.is_none() {
        warnings.push(format!(
            "the trace has no {} column: its requests are calibrated as model/region `unknown`",
            if r.model.is_none() { "model" } else { "region" }
        ));
    }
    let mut endpoints = Vec::new();
    for ((model, region), rows) in groups {
        let id = format!("{model}@{region}");
        let class = |i: usize| classify(status.and_then(|s| s.get(i)));
        let n = rows.len();
        let ok = rows.iter().filter(|&&i| class(i) == Outcome::Ok).count();
        let rate_limited = rows.iter().filter(|&&i| class(i) == Outcome::RateLimited).count();
        let mut outages = Vec::new();
        let mut run: Vec<usize> = Vec::new();
        for &i in rows.iter().chain(std::iter::once(&usize::MAX)) {
            if i != usize::MAX && class(i) != Outcome::Ok {
                run.push(i);
                continue;
            }
            if run.len() >= opts.outage_min_run.max(1) {
                outages.push(Outage {
                    start_s: trace.timestamp_s[run[0]],
                    end_s: trace.timestamp_s[run[run.len() - 1]],
                    failed_requests: run.len(),
                });
            }
            run.clear();
        }
        let ok_rows: Vec<usize> = rows.iter().copied().filter(|&i| class(i) == Outcome::Ok).collect();
        let value = |col: &Option<Vec<Option<f64>>>, i: usize| col.as_ref().and_then(|c| c[i]);
        let ttft: Vec<f64> = ok_rows.iter().filter_map(|&i| value(&r.ttft_s, i)).collect();
        let latency: Vec<f64> = ok_rows.iter().filter_map(|&i| value(&r.latency_s, i)).collect();
        let decode: Vec<f64> = ok_rows
            .iter()
            .filter_map(|&i| {
                let (l, t) = (value(&r.latency_s, i)?, value(&r.ttft_s, i)?);
                let out = trace.output_tokens[i];
                (out > 0 && l > t).then(|| out as f64 / (l - t))
            })
            .collect();
        let quantity = |name: &str, values: &[f64], warnings: &mut Vec<String>| -> Option<QuantityFit> {
            let q = fit_quantity(values, opts.holdout)?;
            let n_test = q.lognormal_gof.n;
            if n_test < MIN_SAMPLES_FOR_P99 {
                warnings.push(format!(
                    "{id}: {name} has {n_test} {} observations (< {MIN_SAMPLES_FOR_P99}): its p99 is not to be trusted",
                    if opts.holdout { "held-out" } else { "" }
                ).replace("  ", " "));
            }
            Some(q)
        };
        let ttft_fit = quantity("ttft", &ttft, &mut warnings);
        let decode_fit = quantity("decode speed", &decode, &mut warnings);
        let latency_fit = if ttft_fit.is_none() {
            quantity("latency", &latency, &mut warnings)
        } else {
            fit_quantity(&latency, opts.holdout)
        };
        if ok == 0 {
            warnings.push(format!("{id}: no successful request among {n}: no latency can be fitted"));
        }
        let prices_per_mtok = r.cost_usd.as_ref().and_then(|cost| {
            let pts: Vec<(f64, f64, f64)> = ok_rows
                .iter()
                .filter_map(|&i| Some((trace.input_tokens[i] as f64, trace.output_tokens[i] as f64, cost[i]?)))
                .collect();
            least_squares_prices(&pts)
        });
        endpoints.push(EndpointFit {
            model,
            region,
            requests: n,
            ok,
            rate_limited,
            failed: n - ok - rate_limited,
            availability: ok as f64 / n as f64,
            rate_limit_rate: rate_limited as f64 / n as f64,
            outages,
            ttft: ttft_fit,
            decode_tps: decode_fit,
            latency: latency_fit,
            prices_per_mtok,
        });
    }
    Ok(Calibration { source: trace.source.clone(), method: opts.method, holdout: opts.holdout, endpoints, warnings })
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Outcome {
    Ok,
    RateLimited,
    Failed,
}

/// A recorded status: the importers' canonical values, HTTP codes, and common spellings.
fn classify(status: Option<&str>) -> Outcome {
    let Some(s) = status else { return Outcome::Ok };
    let s = s.trim().to_ascii_lowercase();
    match s.as_str() {
        "" | st::OK | "success" | "succeeded" | "200" | "completed" => Outcome::Ok,
        st::RATE_LIMITED | "429" | "rate_limit" | "ratelimited" | "throttled" => Outcome::RateLimited,
        _ => Outcome::Failed,
    }
}

/// Fit one quantity; with `holdout`, on even positions and tested on odd ones.
fn fit_quantity(values: &[f64], holdout: bool) -> Option<QuantityFit> {
    let (mut train, mut test): (Vec<f64>, Vec<f64>) = if holdout {
        let train = values.iter().step_by(2).copied().collect();
        let test = values.iter().skip(1).step_by(2).copied().collect();
        (train, test)
    } else {
        (values.to_vec(), values.to_vec())
    };
    train.retain(|v| v.is_finite() && *v > 0.0);
    test.retain(|v| v.is_finite() && *v > 0.0);
    if train.is_empty() || test.is_empty() {
        return None;
    }
    train.sort_by(f64::total_cmp);
    test.sort_by(f64::total_cmp);
    let (mu, sigma) = fit_lognormal(&train)?;
    let empirical = fit_empirical(&train);
    let lognormal_dist = LatencyDist::LogNormal { mu, sigma };
    let empirical_dist = LatencyDist::Empirical {
        probs: empirical.iter().map(|p| p[0]).collect(),
        values: empirical.iter().map(|p| p[1]).collect(),
    };
    let n = test.len() as f64;
    let cdf = test
        .iter()
        .enumerate()
        .map(|(i, &x)| (x, (i + 1) as f64 / n, lognormal_dist.cdf(x), empirical_dist.cdf(x)))
        .collect();
    Some(QuantityFit {
        n_fit: train.len(),
        mu,
        sigma,
        empirical,
        lognormal_gof: goodness_of_fit(&lognormal_dist, &test),
        empirical_gof: goodness_of_fit(&empirical_dist, &test),
        cdf,
    })
}

/// Dollars per million input and output tokens minimising the squared error of recorded cost.
fn least_squares_prices(pts: &[(f64, f64, f64)]) -> Option<(f64, f64)> {
    let (mut sxx, mut sxy, mut syy, mut sxc, mut syc) = (0.0, 0.0, 0.0, 0.0, 0.0);
    for &(x, y, c) in pts {
        sxx += x * x;
        sxy += x * y;
        syy += y * y;
        sxc += x * c;
        syc += y * c;
    }
    let det = sxx * syy - sxy * sxy;
    if pts.len() < 2 || det.abs() <= 1e-9 * sxx * syy {
        return None;
    }
    let a = (sxc * syy - syc * sxy) / det;
    let b = (syc * sxx - sxc * sxy) / det;
    (a >= 0.0 && b >= 0.0).then_some((a * 1e6, b * 1e6))
}

impl Calibration {
    /// The calibrated catalog: one model per recorded model, one region per recorded region, each
    /// region with its own fitted figures and a `sources` entry saying where they came from.
    pub fn catalog_spec(&self) -> CatalogSpec {
        let mut models: Vec<ModelSpec> = Vec::new();
        for e in &self.endpoints {
            let Some(over) = self.region_spec(e) else { continue };
            let model_name = catalog_name(&e.model);
            let region_name = catalog_name(&e.region);
            match models.iter_mut().find(|m| m.name.value == model_name) {
                Some(m) => m.regions.0.push((unspanned(region_name), over)),
                None => models.push(ModelSpec {
                    name: unspanned(model_name),
                    provider: None,
                    family: None,
                    tier: None,
                    ttft: None,
                    decode: None,
                    availability: None,
                    prices: None,
                    quality: BTreeMap::new(),
                    capabilities: Default::default(),
                    limits: None,
                    base_url: None,
                    sources: BTreeMap::new(),
                    regions: OrderedMap(vec![(unspanned(region_name), over)]),
                }),
            }
        }
        CatalogSpec {
            version: 1,
            name: Some(format!("calibrated from {}", self.source)),
            description: Some(format!(
                "Fitted by `switchyard calibrate` ({} fits{}). Prices are 0 where the trace records no cost: fill them in with `switchyard catalog import-prices`.",
                match self.method {
                    FitMethod::Lognormal => "lognormal",
                    FitMethod::Empirical => "empirical-quantile",
                },
                if self.holdout { ", fitted on every other request" } else { "" }
            )),
            rtt_s: OrderedMap::default(),
            rtt_source: None,
            models,
        }
    }

    fn region_spec(&self, e: &EndpointFit) -> Option<RegionOverride> {
        let as_latency = |q: &QuantityFit| match self.method {
            FitMethod::Lognormal => {
                LatencySpec::Lognormal(LognormalSpec { mu: Some(q.mu), sigma: Some(q.sigma), ..Default::default() })
            }
            FitMethod::Empirical => LatencySpec::Empirical(q.empirical.clone()),
        };
        let mut sources = BTreeMap::new();
        let n = |q: &QuantityFit| q.n_fit;
        let (ttft, decode) = match (&e.ttft, &e.decode_tps, &e.latency) {
            (Some(t), Some(d), _) => {
                sources.insert("ttft".into(), format!("fitted to {} recorded TTFTs", n(t)));
                sources.insert("decode".into(), format!("fitted to {} recorded decode speeds", n(d)));
                (as_latency(t), DecodeSpec::Lognormal { median: d.mu.exp(), sigma: d.sigma })
            }
            (Some(t), None, _) => {
                sources.insert("ttft".into(), format!("fitted to {} recorded TTFTs", n(t)));
                sources.insert("decode".into(), "no decode speeds recorded: instantaneous".into());
                (as_latency(t), DecodeSpec::Constant(INSTANT_DECODE_TPS))
            }
            (None, _, Some(l)) => {
                sources.insert(
                    "ttft".into(),
                    format!(
                        "no TTFT recorded: the whole latency, fitted to {} requests, with instantaneous decode",
                        n(l)
                    ),
                );
                (as_latency(l), DecodeSpec::Constant(INSTANT_DECODE_TPS))
            }
            (None, _, None) => return None,
        };
        let availability = e.availability.max(0.5 / e.requests as f64);
        sources.insert(
            "availability".into(),
            format!(
                "{} of {} requests succeeded ({} rate-limited, {} outage windows)",
                e.ok,
                e.requests,
                e.rate_limited,
                e.outages.len()
            ),
        );
        let prices = match e.prices_per_mtok {
            Some((i, o)) => {
                sources.insert("prices".into(), "least squares of recorded cost on tokens".into());
                PricesSpec { input_per_mtok: i, output_per_mtok: o, cached_input_per_mtok: None }
            }
            None => {
                sources.insert("prices".into(), "not recorded: 0 (fill in with catalog import-prices)".into());
                PricesSpec { input_per_mtok: 0.0, output_per_mtok: 0.0, cached_input_per_mtok: None }
            }
        };
        Some(RegionOverride {
            ttft: Some(unspanned(ttft)),
            decode: Some(unspanned(decode)),
            availability: Some(unspanned(availability)),
            prices: Some(unspanned(prices)),
            sources,
            ..RegionOverride::default()
        })
    }

    /// Fitted-versus-observed CDF charts, one per endpoint and quantity (TTFT, decode speed,
    /// latency), as plain chart data for [`crate::chart::render_frontier`], with a file-name stem
    /// each. Up to [`CHART_POINTS`] points per curve, evenly spread over the observations.
    pub fn cdf_charts(&self) -> Vec<(String, crate::chart::FrontierChart)> {
        use crate::chart::{FrontierChart, Point, Series};
        let mut out = Vec::new();
        for e in &self.endpoints {
            for (name, label, q) in [
                ("ttft", "time to first token (s)", &e.ttft),
                ("decode", "decode speed (tokens per second)", &e.decode_tps),
                ("latency", "end-to-end latency (s)", &e.latency),
            ] {
                let Some(q) = q else { continue };
                let step = q.cdf.len().div_ceil(CHART_POINTS).max(1);
                let picked: Vec<&CdfPoint> = q.cdf.iter().step_by(step).chain(q.cdf.last()).collect();
                let series = |title: String, f: &dyn Fn(&CdfPoint) -> f64| Series {
                    name: title,
                    points: picked.iter().map(|c| Point { x: c.0, y: f(c), feasible: true, label: None }).collect(),
                };
                let (lo, hi) = (q.cdf.first().map_or(1.0, |c| c.0), q.cdf.last().map_or(1.0, |c| c.0));
                let g = q.gof(self.method);
                out.push((
                    format!("{}-{name}", slug_file(&e.id())),
                    FrontierChart {
                        title: format!("{}: {name}, fitted versus observed CDF", e.id()),
                        subtitle: Some(format!(
                            "{} observations{}; KS lognormal {:.3}, empirical {:.3}; p99 error {:+.1}% ({:?})",
                            g.n,
                            if self.holdout { " held out" } else { "" },
                            q.lognormal_gof.ks,
                            q.empirical_gof.ks,
                            100.0 * g.p99_error,
                            self.method
                        )),
                        x_label: label.to_string(),
                        y_label: "cumulative probability".to_string(),
                        x_log: lo > 0.0 && hi / lo > 10.0,
                        series: vec![
                            series("observed".into(), &|c| c.1),
                            series(format!("lognormal (mu {:.3}, sigma {:.3})", q.mu, q.sigma), &|c| c.2),
                            series("empirical quantiles".into(), &|c| c.3),
                        ],
                        infeasible: Vec::new(),
                        current: None,
                        recommended: None,
                    },
                ));
            }
        }
        out
    }

    /// A fit `calibrate --json` wrote; `path` names it in errors.
    pub fn load(path: &std::path::Path) -> Result<Calibration> {
        let text = std::fs::read_to_string(path).map_err(|e| Error::read(path, e))?;
        serde_json::from_str(&text).map_err(|e| {
            Error::one(Problem::new(
                Place::file(path).line(e.line()),
                format!("does not read as a calibration fit: {e}"),
                "give the file `switchyard calibrate --json FILE` wrote",
            ))
        })
    }

    /// The goodness-of-fit table, one row per endpoint and quantity.
    pub fn render_table(&self) -> String {
        let mut out = format!(
            "{:<40} {:<8} {:>6} {:>6} {:>7} {:>7} {:>8} {:>8} {:>8}  {:>6} {:>6}\n",
            "endpoint", "quantity", "n_fit", "n_test", "KS", "KS_emp", "p50_err", "p90_err", "p99_err", "avail", "429"
        );
        for e in &self.endpoints {
            let rows = [("ttft", &e.ttft), ("decode", &e.decode_tps), ("latency", &e.latency)];
            let mut first = true;
            for (name, q) in rows {
                let Some(q) = q else { continue };
                let g = q.gof(self.method);
                let (avail, limited) = if first {
                    (format!("{:.4}", e.availability), format!("{:.4}", e.rate_limit_rate))
                } else {
                    (String::new(), String::new())
                };
                first = false;
                out.push_str(&format!(
                    "{:<40} {:<8} {:>6} {:>6} {:>7.4} {:>7.4} {:>+7.1}% {:>+7.1}% {:>+7.1}%  {:>6} {:>6}\n",
                    e.id(),
                    name,
                    q.n_fit,
                    g.n,
                    q.lognormal_gof.ks,
                    q.empirical_gof.ks,
                    100.0 * g.p50_error,
                    100.0 * g.p90_error,
                    100.0 * g.p99_error,
                    avail,
                    limited
                ));
            }
            for o in &e.outages {
                out.push_str(&format!(
                    "{:<40} outage   {} failed requests in a row, {:.3} s .. {:.3} s\n",
                    e.id(),
                    o.failed_requests,
                    o.start_s,
                    o.end_s
                ));
            }
        }
        out
    }
}

/// A catalog as YAML without the fields its serde shape would spell out empty (nulls, and empty
/// `sources`, `quality`, `limits` and `rtt_s` maps), so the file reads like a hand-written one. Empty
/// region overrides (`us-east-1: {}`) are kept: they are what lists a region.
pub fn catalog_yaml(spec: &CatalogSpec) -> Result<String> {
    const DROP_WHEN_EMPTY: [&str; 4] = ["sources", "quality", "limits", "rtt_s"];
    fn prune(v: &mut serde_json::Value) {
        if let serde_json::Value::Object(map) = v {
            map.values_mut().for_each(prune);
            map.retain(|k, x| {
                !(x.is_null() || (DROP_WHEN_EMPTY.contains(&k.as_str()) && x.as_object().is_some_and(|o| o.is_empty())))
            });
        } else if let serde_json::Value::Array(items) = v {
            items.iter_mut().for_each(prune);
        }
    }
    let mut value = serde_json::to_value(spec)
        .map_err(|e| Error::Format { path: "calibrated catalog".into(), message: e.to_string() })?;
    prune(&mut value);
    crate::yaml::to_string(&value, "calibrated catalog")
}

/// Points per curve on a CDF chart.
pub const CHART_POINTS: usize = 60;

/// An endpoint id as a file-name stem: letters, digits, `-` and `.`; anything else becomes `_`.
fn slug_file(id: &str) -> String {
    id.chars().map(|c| if c.is_ascii_alphanumeric() || c == '-' || c == '.' { c } else { '_' }).collect()
}

/// A recorded name made usable as a catalog model or region name (no spaces, no `@`).
fn catalog_name(s: &str) -> String {
    let t: String = s.trim().chars().map(|c| if c.is_whitespace() || c == '@' { '_' } else { c }).collect();
    if t.is_empty() { "unknown".into() } else { t }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn least_squares_recovers_exact_prices() {
        let pts: Vec<(f64, f64, f64)> =
            [(100.0, 10.0), (200.0, 50.0), (50.0, 400.0)].iter().map(|&(i, o)| (i, o, i * 2e-7 + o * 8e-7)).collect();
        let (a, b) = least_squares_prices(&pts).unwrap();
        assert!((a - 0.2).abs() < 1e-9 && (b - 0.8).abs() < 1e-9, "{a} {b}");
    }

    #[test]
    fn statuses_are_classified() {
        assert_eq!(classify(Some("ok")), Outcome::Ok);
        assert_eq!(classify(Some("429")), Outcome::RateLimited);
        assert_eq!(classify(Some("rate_limited")), Outcome::RateLimited);
        assert_eq!(classify(Some("timeout")), Outcome::Failed);
        assert_eq!(classify(Some("failed")), Outcome::Failed);
    }
}
