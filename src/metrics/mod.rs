//! Metrics: outcomes -> summaries, overall and per class, origin region, model and endpoint.
//!
//! Counts and sums are accumulated in fixed-size chunks and combined in chunk order, so the
//! floating-point totals are identical at any thread count. Latency quantiles are exact
//! (Hyndman-Fan type 7, see [`quantile`]), not sketched.
//!
//! Deliberately absent: no formatting and no files; `report` renders summaries.

pub mod quantile;

use rayon::prelude::*;

use crate::catalog::Catalog;
use crate::engine::{NOT_SERVED, Outcomes, Status};
use crate::policy::RoutingTable;
use crate::trace::Trace;

/// Quantile levels reported for every latency distribution.
pub const QUANTILES: [f64; 4] = [0.5, 0.9, 0.99, 0.999];

const CHUNK: usize = 1 << 16;

/// Latency summary of a group's served requests (seconds).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LatencySummary {
    pub p50: f64,
    pub p90: f64,
    pub p99: f64,
    pub p999: f64,
    pub mean: f64,
    pub max: f64,
}

/// Figures for one group of requests.
///
/// For class, origin and overall groups the unit is the request. For endpoint and model groups the
/// unit is the attempt made there: `requests` counts attempts, `failed` failed attempts, `fallback`
/// attempts that were fallbacks, and `served` the requests the endpoint finally served.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct GroupStats {
    pub requests: u64,
    pub served: u64,
    pub failed: u64,
    /// Of `failed`: the last attempt timed out.
    pub timed_out: u64,
    /// Requests whose first attempt failed (or, for endpoints, attempts that were fallbacks).
    pub fallback: u64,
    pub attempts: u64,
    pub cost_usd: f64,
    pub quality_sum: f64,
    /// Served requests with a known quality score.
    pub quality_n: u64,
    pub latency_s: Option<LatencySummary>,
}

impl GroupStats {
    pub fn mean_quality(&self) -> Option<f64> {
        (self.quality_n > 0).then(|| self.quality_sum / self.quality_n as f64)
    }
    fn add(&mut self, other: &GroupStats) {
        self.requests += other.requests;
        self.served += other.served;
        self.failed += other.failed;
        self.timed_out += other.timed_out;
        self.fallback += other.fallback;
        self.attempts += other.attempts;
        self.cost_usd += other.cost_usd;
        self.quality_sum += other.quality_sum;
        self.quality_n += other.quality_n;
    }
}

/// A replay summarised.
#[derive(Debug, Clone, PartialEq)]
pub struct Summary {
    pub n_requests: u64,
    pub skipped_rows: u64,
    pub seed: u64,
    pub replicate: u32,
    pub overall: GroupStats,
    pub per_class: Vec<(String, GroupStats)>,
    pub per_origin: Vec<(String, GroupStats)>,
    pub per_model: Vec<(String, GroupStats)>,
    pub per_endpoint: Vec<(String, GroupStats)>,
}

/// The group dimensions, in accumulator order.
#[derive(Clone, Copy)]
enum Dim {
    Class,
    Origin,
    Model,
    Endpoint,
}

struct Layout {
    n_classes: usize,
    n_origins: usize,
    n_models: usize,
    n_endpoints: usize,
}

impl Layout {
    fn offset(&self, dim: Dim) -> usize {
        match dim {
            Dim::Class => 1,
            Dim::Origin => 1 + self.n_classes,
            Dim::Model => 1 + self.n_classes + self.n_origins,
            Dim::Endpoint => 1 + self.n_classes + self.n_origins + self.n_models,
        }
    }
    fn len(&self) -> usize {
        1 + self.n_classes + self.n_origins + self.n_models + self.n_endpoints
    }
}

/// Summarise one replay. `table` must be the routing table the outcomes came from (it gives each
/// request's fallback chain, to count attempts per endpoint).
pub fn summarize(catalog: &Catalog, table: &RoutingTable, trace: &Trace, outcomes: &Outcomes) -> Summary {
    let layout = Layout {
        n_classes: trace.class_names.len(),
        n_origins: trace.origin_names.len(),
        n_models: catalog.models.len(),
        n_endpoints: catalog.endpoints.len(),
    };
    // quality[endpoint * n_classes + class]
    let quality: Vec<Option<f64>> =
        catalog.endpoints.iter().flat_map(|e| trace.class_names.iter().map(|c| e.quality.for_class(c))).collect();
    let ep_model: Vec<usize> = catalog.endpoints.iter().map(|e| e.model_idx).collect();
    let n = trace.len();
    let n_chunks = n.div_ceil(CHUNK);

    // Pass 1: counts and sums per chunk, combined in chunk order.
    let partials: Vec<Vec<GroupStats>> = (0..n_chunks)
        .into_par_iter()
        .map(|chunk| {
            let mut acc = vec![GroupStats::default(); layout.len()];
            let end = ((chunk + 1) * CHUNK).min(n);
            for i in chunk * CHUNK..end {
                let class = trace.class[i] as usize;
                let origin = trace.origin[i] as usize;
                let served = outcomes.served[i];
                let attempts = outcomes.attempts[i] as u64;
                let status = outcomes.status[i];
                let mut req =
                    GroupStats { requests: 1, attempts, fallback: u64::from(attempts > 1), ..Default::default() };
                if served != NOT_SERVED {
                    req.served = 1;
                    req.cost_usd = outcomes.cost_usd[i];
                    if let Some(q) = quality[served as usize * layout.n_classes + class] {
                        req.quality_sum = q;
                        req.quality_n = 1;
                    }
                } else {
                    req.failed = 1;
                    req.timed_out = u64::from(status == Status::TimedOut);
                }
                acc[0].add(&req);
                acc[layout.offset(Dim::Class) + class].add(&req);
                acc[layout.offset(Dim::Origin) + origin].add(&req);
                // Attempts per endpoint along the request's chain.
                let rule = &table.rules[table.segment_rule[class * table.n_origins + origin] as usize];
                for a in 0..attempts as usize {
                    let e = if a == 0 { outcomes.primary[i] } else { rule.fallbacks[a - 1] } as usize;
                    let is_last = a + 1 == attempts as usize;
                    let mut att =
                        GroupStats { requests: 1, attempts: 1, fallback: u64::from(a > 0), ..Default::default() };
                    if is_last && served != NOT_SERVED {
                        att.served = 1;
                        att.cost_usd = req.cost_usd;
                        att.quality_sum = req.quality_sum;
                        att.quality_n = req.quality_n;
                    } else {
                        att.failed = 1;
                        att.timed_out = u64::from(is_last && status == Status::TimedOut);
                    }
                    acc[layout.offset(Dim::Endpoint) + e].add(&att);
                    acc[layout.offset(Dim::Model) + ep_model[e]].add(&att);
                }
            }
            acc
        })
        .collect();
    let mut groups = vec![GroupStats::default(); layout.len()];
    for part in &partials {
        for (g, p) in groups.iter_mut().zip(part) {
            g.add(p);
        }
    }

    // Pass 2: exact latency quantiles of served requests, one dimension at a time.
    let served_idx = |i: usize| outcomes.served[i] != NOT_SERVED;
    let mut latencies: Vec<f64> = Vec::new();
    let key_of = |dim: Option<Dim>, i: usize| -> usize {
        match dim {
            None => 0,
            Some(Dim::Class) => trace.class[i] as usize,
            Some(Dim::Origin) => trace.origin[i] as usize,
            Some(Dim::Model) => ep_model[outcomes.served[i] as usize],
            Some(Dim::Endpoint) => outcomes.served[i] as usize,
        }
    };
    for dim in [None, Some(Dim::Class), Some(Dim::Origin), Some(Dim::Model), Some(Dim::Endpoint)] {
        let (offset, n_groups) = match dim {
            None => (0, 1),
            Some(d) => (
                layout.offset(d),
                match d {
                    Dim::Class => layout.n_classes,
                    Dim::Origin => layout.n_origins,
                    Dim::Model => layout.n_models,
                    Dim::Endpoint => layout.n_endpoints,
                },
            ),
        };
        // Counting sort of served latencies by group.
        let mut counts = vec![0usize; n_groups + 1];
        for i in (0..n).filter(|&i| served_idx(i)) {
            counts[key_of(dim, i) + 1] += 1;
        }
        for g in 0..n_groups {
            counts[g + 1] += counts[g];
        }
        latencies.resize(counts[n_groups], 0.0);
        let mut cursor = counts.clone();
        for i in (0..n).filter(|&i| served_idx(i)) {
            let g = key_of(dim, i);
            latencies[cursor[g]] = outcomes.latency_s[i];
            cursor[g] += 1;
        }
        let mut slices: Vec<&mut [f64]> = Vec::with_capacity(n_groups);
        let mut rest: &mut [f64] = &mut latencies;
        for g in 0..n_groups {
            let (head, tail) = rest.split_at_mut(counts[g + 1] - counts[g]);
            slices.push(head);
            rest = tail;
        }
        let summaries: Vec<Option<LatencySummary>> = slices.into_par_iter().map(|s| latency_summary(s)).collect();
        for (g, s) in summaries.into_iter().enumerate() {
            groups[offset + g].latency_s = s;
        }
    }

    let take = |dim: Dim, names: &[String]| -> Vec<(String, GroupStats)> {
        let off = layout.offset(dim);
        names.iter().enumerate().map(|(j, name)| (name.clone(), groups[off + j].clone())).collect()
    };
    let endpoint_names: Vec<String> = catalog.endpoints.iter().map(|e| e.id.clone()).collect();
    Summary {
        n_requests: n as u64,
        skipped_rows: trace.skipped_rows as u64,
        seed: outcomes.seed,
        replicate: outcomes.replicate,
        overall: groups[0].clone(),
        per_class: take(Dim::Class, &trace.class_names),
        per_origin: take(Dim::Origin, &trace.origin_names),
        per_model: take(Dim::Model, &catalog.models),
        per_endpoint: take(Dim::Endpoint, &endpoint_names),
    }
}

/// Exact quantiles, mean and max of a group's latencies (reorders the slice). The mean is summed in
/// a fixed order (pairwise over fixed blocks) so it does not depend on threads.
fn latency_summary(values: &mut [f64]) -> Option<LatencySummary> {
    if values.is_empty() {
        return None;
    }
    // Mean and max before the selection reorders the values.
    let sum: f64 = values.chunks(4096).map(|c| c.iter().sum::<f64>()).sum();
    let mean = sum / values.len() as f64;
    let max = values.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let q = quantile::type7(values, &QUANTILES)?;
    Some(LatencySummary { p50: q[0], p90: q[1], p99: q[2], p999: q[3], mean, max })
}
