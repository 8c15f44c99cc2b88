//! A comparison's inputs from two runs: every figure of the typed simulate report
//! ([`crate::report::Figures`], and the discrete-event figures when that engine ran), replicate by
//! replicate, as [`FigureInput`]s.
//!
//! Which figures: overall, per class and per origin, cost, cost per 1k, success, fallback, quality
//! and the four latency quantiles (classes and origins also their traffic share); per model and
//! per endpoint cost, traffic share, quality, p50 and p99; with the discrete-event engine, 429s,
//! retries, queue timeouts, cooldowns and the mean queue wait. A figure is compared only when
//! every replicate of both sides has it (a group with no requests in some replicate, a latency
//! where nothing was served, is left out; a guard that names it reports it as not measured).

use super::figure::{Figure, Metric, Scope};
use super::paired::Moments;
use super::{FigureInput, Values};
use crate::report::{Combine, DesFigures, Figures, Latency, Named, Number, RequestGroup, ServingGroup, SimulateReport};

/// One side of a paired comparison: its replicates' figures, in replicate order (replicate r of
/// both sides ran with the same random numbers), and their discrete-event figures (empty for the
/// replay engine).
#[derive(Debug, Clone, Copy)]
pub struct Side<'a> {
    pub figures: &'a [Figures],
    pub des: &'a [DesFigures],
}

/// Every figure both sides have in every replicate, in a fixed order (overall, classes, origins,
/// models, endpoints, the discrete-event figures), with its per-replicate values.
pub fn paired_inputs(baseline: Side<'_>, candidate: Side<'_>) -> Vec<FigureInput> {
    let replicates = |side: Side<'_>| -> Vec<Vec<(Figure, f64)>> {
        side.figures.iter().enumerate().map(|(r, f)| values_of(f, side.des.get(r))).collect()
    };
    let (b, c) = (replicates(baseline), replicates(candidate));
    let Some(first) = b.first() else { return Vec::new() };
    let lookup = |replicate: &[(Figure, f64)], figure: &Figure| -> Option<f64> {
        replicate.iter().find(|(f, _)| f == figure).map(|&(_, v)| v)
    };
    first
        .iter()
        .filter_map(|(figure, _)| {
            let side = |reps: &[Vec<(Figure, f64)>]| -> Option<Vec<f64>> {
                reps.iter().map(|rep| lookup(rep, figure)).collect()
            };
            let (baseline, candidate) = (side(&b)?, side(&c)?);
            (!candidate.is_empty() && baseline.len() == candidate.len())
                .then(|| FigureInput { figure: figure.clone(), values: Values::Paired { baseline, candidate } })
        })
        .collect()
}

/// Every figure two saved reports both have, unpaired: each side's mean and, from its 95%
/// interval over its replicates, its standard deviation (unknown with one replicate, or where the
/// report has no interval for the figure). Independent runs: the intervals are Welch's, wider
/// than a paired run's.
pub fn unpaired_inputs(baseline: &SimulateReport, candidate: &SimulateReport) -> Vec<FigureInput> {
    let moments = |r: &SimulateReport| -> Vec<(Figure, Moments)> {
        let n = r.replicates as usize;
        let ci = r.ci95.as_ref();
        let low = r.figures.bound(ci.map(|c| &c.figures), 0);
        let des_low = r.des.as_ref().map(|d| d.bound(ci.and_then(|c| c.des.as_ref()), 0));
        let lows = values_of(&low, des_low.as_ref());
        values_of(&r.figures, r.des.as_ref())
            .into_iter()
            .map(|(figure, mean)| {
                let low = lows.iter().find(|(f, _)| *f == figure).map(|&(_, v)| v);
                let m = match low {
                    Some(low) if n >= 2 => Moments::from_ci95(mean, mean - low, n),
                    _ => Moments { n, mean, sd: None },
                };
                (figure, m)
            })
            .collect()
    };
    let (b, c) = (moments(baseline), moments(candidate));
    b.into_iter()
        .filter_map(|(figure, baseline)| {
            let candidate = c.iter().find(|(f, _)| *f == figure)?.1;
            Some(FigureInput { figure, values: Values::Unpaired { baseline, candidate } })
        })
        .collect()
}

/// Cost and traffic share per provider, summed replicate by replicate from the endpoints' paired
/// figures (both add up), `provider_of` naming each endpoint's provider (from the catalog). For
/// "what moved": a swap within a provider's models leaves its provider's share where it was.
/// Endpoints the inputs lack in some replicate are not in the sums.
pub fn provider_inputs(inputs: &[FigureInput], provider_of: impl Fn(&str) -> Option<String>) -> Vec<FigureInput> {
    let mut sums: Vec<(Figure, Vec<f64>, Vec<f64>)> = Vec::new();
    for input in inputs {
        let (Scope::Endpoint(id), Values::Paired { baseline, candidate }) = (&input.figure.scope, &input.values) else {
            continue;
        };
        if !matches!(input.figure.metric, Metric::Cost | Metric::TrafficShare) {
            continue;
        }
        let Some(provider) = provider_of(id) else { continue };
        let figure = Figure { metric: input.figure.metric, scope: Scope::Provider(provider) };
        match sums.iter_mut().find(|(f, _, _)| *f == figure) {
            Some((_, b, c)) => {
                b.iter_mut().zip(baseline).for_each(|(s, v)| *s += v);
                c.iter_mut().zip(candidate).for_each(|(s, v)| *s += v);
            }
            None => sums.push((figure, baseline.clone(), candidate.clone())),
        }
    }
    sums.into_iter().map(|(figure, baseline, candidate)| FigureInput::paired(figure, baseline, candidate)).collect()
}

/// One replicate's figures as (figure, value), in the order [`paired_inputs`] keeps.
fn values_of(f: &Figures, des: Option<&DesFigures>) -> Vec<(Figure, f64)> {
    let mut out = Vec::new();
    let mut push = |metric: Metric, scope: &Scope, value: Option<Number>| {
        if let Some(v) = value.map(Number::as_f64).filter(|v| v.is_finite()) {
            out.push((Figure { metric, scope: scope.clone() }, v));
        }
    };
    let overall = Scope::Overall;
    push(Metric::Cost, &overall, Some(f.total_cost_usd));
    push(Metric::CostPer1k, &overall, Some(f.cost_per_1k_requests_usd));
    push(Metric::Success, &overall, Some(f.success_rate));
    push(Metric::Fallback, &overall, Some(f.fallback_rate));
    push(Metric::Quality, &overall, f.mean_quality);
    latency(&mut push, &overall, f.latency_s.overall.as_ref());
    requests(&mut push, &f.per_class, Scope::Class);
    requests(&mut push, &f.per_origin, Scope::Origin);
    serving(&mut push, &f.per_model, Scope::Model);
    serving(&mut push, &f.per_endpoint, Scope::Endpoint);
    if let Some(d) = des {
        push(Metric::RateLimited429, &overall, Some(d.rate_limited_429));
        push(Metric::Retries, &overall, Some(d.retries));
        push(Metric::QueueTimeouts, &overall, Some(d.queue_timeouts));
        push(Metric::Cooldowns, &overall, Some(d.cooldowns));
        push(Metric::QueueWait, &overall, Some(d.queue.mean_wait_s_all));
    }
    out
}

fn latency(push: &mut impl FnMut(Metric, &Scope, Option<Number>), scope: &Scope, l: Option<&Latency>) {
    push(Metric::P50, scope, l.map(|l| l.p50));
    push(Metric::P90, scope, l.map(|l| l.p90));
    push(Metric::P99, scope, l.map(|l| l.p99));
    push(Metric::P999, scope, l.map(|l| l.p999));
}

fn requests(
    push: &mut impl FnMut(Metric, &Scope, Option<Number>),
    groups: &Named<RequestGroup>,
    scope_of: fn(String) -> Scope,
) {
    for (name, g) in groups.iter() {
        let scope = scope_of(name.to_string());
        push(Metric::Cost, &scope, Some(g.cost_usd));
        push(Metric::CostPer1k, &scope, Some(g.cost_per_1k_requests_usd));
        push(Metric::Success, &scope, Some(g.success_rate));
        push(Metric::Fallback, &scope, Some(g.fallback_rate));
        push(Metric::Quality, &scope, g.mean_quality);
        push(Metric::TrafficShare, &scope, Some(g.traffic_share));
        latency(push, &scope, g.latency_s.as_ref());
    }
}

fn serving(
    push: &mut impl FnMut(Metric, &Scope, Option<Number>),
    groups: &Named<ServingGroup>,
    scope_of: fn(String) -> Scope,
) {
    for (name, g) in groups.iter() {
        let scope = scope_of(name.to_string());
        push(Metric::Cost, &scope, Some(g.cost_usd));
        push(Metric::TrafficShare, &scope, Some(g.traffic_share));
        push(Metric::Quality, &scope, g.mean_quality);
        push(Metric::P50, &scope, g.latency_s.as_ref().map(|l| l.p50));
        push(Metric::P99, &scope, g.latency_s.as_ref().map(|l| l.p99));
    }
}
