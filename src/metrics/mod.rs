//! Metrics: outcomes -> summaries, overall and per class, origin region, model and endpoint.
//!
//! Two parallel passes over the outcomes, and nothing that depends on how work is split:
//!
//! 1. **Cells.** Every request falls in one cell: (segment = class x origin, primary target,
//!    attempts, final status). A cell determines the whole route (the rule's fallback chain) and the
//!    serving endpoint, so counts, token sums (integers) and latency sums (integer nanoseconds)
//!    per cell are all that is needed to derive every group's requests, attempts, failures, cost
//!    and quality exactly. Integer sums are order-independent, so the result is identical at any
//!    thread count, and costs are computed once per cell from exact token totals. The same pass
//!    fills a histogram of latency buckets per group.
//! 2. **Exact quantiles by bucket selection.** The histograms say which bucket holds each order
//!    statistic a type-7 quantile needs; a second pass collects only the values in those buckets,
//!    which are sorted to read off the exact order statistics. The result equals sorting every
//!    group's latencies (tested against [`quantile::type7`]), at a fraction of the cost.
//!
//! Or, with a [`Context::sketching_collector`], **sketched quantiles**: the first pass adds each
//! served latency to a [`quantile::Sketch`] (per segment and per serving endpoint, merged into
//! groups at the end) and there is no second pass, so the engine need not keep any per-request
//! column. Every quantile is then within [`quantile::Sketch::RELATIVE_ERROR`] (2^-11) of the exact
//! one; every other figure is the same integer sum either way.
//!
//! Deliberately absent: no formatting and no files; `report` renders summaries.

pub mod quantile;

use rayon::prelude::*;

use crate::catalog::Catalog;
use crate::engine::{NOT_SERVED, Observer, Outcomes, Status};
use crate::policy::RoutingTable;
use crate::trace::Trace;

/// Quantile levels reported for every latency distribution.
pub const QUANTILES: [f64; 4] = [0.5, 0.9, 0.99, 0.999];

/// Requests per unit of parallel work.
const CHUNK: usize = 1 << 15;

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

/// Histogram buckets over latency: 32 octaves from 2^-12 s (0.24 ms) to 2^20 s, 128 buckets per
/// octave (0.54% wide). Values outside the range fall in the first or last bucket, which keeps the
/// bucket order monotone in the value, all that exact selection needs. The bucket count trades
/// the per-request histogram update (16 KiB per segment and per endpoint, in L2 cache) against
/// the values the quantile pass must collect and select from in the wanted buckets. Measured on
/// the 10M reference replay (BENCHMARKS.md): from 16 to 128 buckets per octave the metrics phase
/// fell from 0.064-0.108 s to 0.021-0.024 s with the replay phase unchanged.
const SUB_BITS: u32 = 7;
const MIN_EXP: i64 = -12;
const N_OCTAVES: usize = 32;
const N_BUCKETS: usize = N_OCTAVES << SUB_BITS;

/// The bucket of `x` (by magnitude): its exponent and top [`SUB_BITS`] mantissa bits, read
/// straight from the IEEE 754 bits and clamped to the range, without a branch (this runs once per
/// served request in the replay and again in the quantile pass).
#[inline]
fn bucket(x: f64) -> usize {
    let key = ((x.to_bits() >> (52 - SUB_BITS)) & ((1 << (11 + SUB_BITS)) - 1)) as i64 - ((1023 + MIN_EXP) << SUB_BITS);
    key.clamp(0, N_BUCKETS as i64 - 1) as usize
}

/// Group numbering: overall, then classes, origins, models, endpoints.
#[derive(Clone, Copy)]
struct Groups {
    n_classes: usize,
    n_origins: usize,
    n_models: usize,
    n_endpoints: usize,
}

impl Groups {
    fn class(&self, c: usize) -> usize {
        1 + c
    }
    fn origin(&self, o: usize) -> usize {
        1 + self.n_classes + o
    }
    fn model(&self, m: usize) -> usize {
        1 + self.n_classes + self.n_origins + m
    }
    fn endpoint(&self, e: usize) -> usize {
        1 + self.n_classes + self.n_origins + self.n_models + e
    }
    fn len(&self) -> usize {
        1 + self.n_classes + self.n_origins + self.n_models + self.n_endpoints
    }
}

/// Sums over the requests of one cell. Integers only, so any summation order gives the same.
#[derive(Debug, Clone, Copy, Default)]
struct Cell {
    n: u64,
    input_tokens: u64,
    cached_tokens: u64,
    output_tokens: u64,
    /// Latency of served requests, integer nanoseconds (exact mean to 1 ns, order-independent).
    latency_ns: u128,
    latency_max: f64,
}

/// Where each segment's cells start; a segment with rule r has `targets x max_attempts x 3` cells.
struct CellLayout {
    seg_base: Vec<usize>,
    seg_attempts: Vec<usize>,
    n_cells: usize,
}

impl CellLayout {
    fn new(table: &RoutingTable) -> CellLayout {
        let mut seg_base = vec![usize::MAX; table.segment_rule.len()];
        let mut seg_attempts = vec![0; table.segment_rule.len()];
        let mut next = 0;
        for (s, &r) in table.segment_rule.iter().enumerate() {
            if r == u16::MAX {
                continue;
            }
            let rule = &table.rules[r as usize];
            let attempts = rule.max_attempts();
            seg_base[s] = next;
            seg_attempts[s] = attempts;
            next += rule.targets.len() * attempts * 3;
        }
        CellLayout { seg_base, seg_attempts, n_cells: next }
    }

    #[inline]
    fn index(&self, segment: usize, target: usize, attempts: usize, status: Status) -> usize {
        self.seg_base[segment] + (target * self.seg_attempts[segment] + attempts - 1) * 3 + status as usize
    }
}

/// Accumulates cells and latency histograms; one per worker, merged at the end. It is the engine's
/// [`Observer`], so the first metrics pass happens while the outcomes are still in cache.
///
/// Served requests are counted per latency bucket twice: by segment and by serving endpoint. Every
/// group's histogram is a sum of one of these (overall, class and origin of segments; model and
/// endpoint of endpoints), so two increments per request stand for five groups. An exact
/// collector ([`Context::collector`]) counts coarse buckets for the exact quantile pass; a
/// sketching one ([`Context::sketching_collector`]) adds to quantile sketches instead, and its
/// summary needs no outcomes.
pub struct Collector<'a> {
    ctx: &'a Context<'a>,
    cells: Vec<Cell>,
    /// `segment_hist[segment * N_BUCKETS + bucket]`: served requests per latency bucket (exact
    /// collectors only).
    segment_hist: Vec<u32>,
    /// `endpoint_hist[endpoint * N_BUCKETS + bucket]`, likewise by serving endpoint.
    endpoint_hist: Vec<u32>,
    /// Quantile sketches of served latencies per segment and per serving endpoint (sketching
    /// collectors only).
    segment_sketch: Vec<quantile::Sketch>,
    endpoint_sketch: Vec<quantile::Sketch>,
}

impl Observer for Collector<'_> {
    #[inline(always)]
    fn observe(&mut self, outcome: RequestOutcome) {
        self.add(outcome);
    }

    fn merge(mut self, other: Self) -> Self {
        for (a, b) in self.cells.iter_mut().zip(&other.cells) {
            a.n += b.n;
            a.input_tokens += b.input_tokens;
            a.cached_tokens += b.cached_tokens;
            a.output_tokens += b.output_tokens;
            a.latency_ns += b.latency_ns;
            a.latency_max = a.latency_max.max(b.latency_max);
        }
        for (a, b) in self.segment_hist.iter_mut().zip(&other.segment_hist) {
            *a += b;
        }
        for (a, b) in self.endpoint_hist.iter_mut().zip(&other.endpoint_hist) {
            *a += b;
        }
        for (a, b) in self.segment_sketch.iter_mut().zip(&other.segment_sketch) {
            a.merge(b);
        }
        for (a, b) in self.endpoint_sketch.iter_mut().zip(&other.endpoint_sketch) {
            a.merge(b);
        }
        self
    }
}

pub use crate::engine::RequestOutcome;

impl Collector<'_> {
    /// One request.
    #[inline(always)]
    pub fn add(
        &mut self,
        RequestOutcome {
            segment,
            target,
            attempts,
            status,
            served,
            latency_s,
            tokens: [input_tokens, cached_tokens, output_tokens],
        }: RequestOutcome,
    ) {
        let ctx = self.ctx;
        let seg = &ctx.segments[segment];
        let cell =
            &mut self.cells[seg.cell_base + (target * seg.max_attempts + attempts as usize - 1) * 3 + status as usize];
        cell.n += 1;
        cell.input_tokens += input_tokens as u64;
        cell.output_tokens += output_tokens as u64;
        cell.cached_tokens += cached_tokens as u64;
        if served != NOT_SERVED {
            // Truncating to whole nanoseconds: the mean is exact to 1 ns.
            cell.latency_ns += (latency_s * 1e9) as i64 as u128; // one instruction, unlike `as u64`
            if latency_s > cell.latency_max {
                cell.latency_max = latency_s; // latencies are never NaN: no need for f64::max
            }
            if self.segment_sketch.is_empty() {
                let b = bucket(latency_s);
                self.segment_hist[segment * N_BUCKETS + b] += 1;
                self.endpoint_hist[served as usize * N_BUCKETS + b] += 1;
            } else {
                self.segment_sketch[segment].add(latency_s);
                self.endpoint_sketch[served as usize].add(latency_s);
            }
        }
    }
}

/// Everything a summary of one (catalog, routing table, trace) needs, built once and shared by all
/// replicates.
pub struct Context<'a> {
    catalog: &'a Catalog,
    table: &'a RoutingTable,
    trace: &'a Trace,
    groups: Groups,
    layout: CellLayout,
    /// Per segment, what the per-request update needs, in one place.
    segments: Vec<SegmentInfo>,
    /// Per endpoint: its model's group and its own group.
    endpoint_groups: Vec<[usize; 2]>,
    rows: Rows,
}

#[derive(Debug, Clone, Copy, Default)]
struct SegmentInfo {
    cell_base: usize,
    max_attempts: usize,
    class_group: usize,
    origin_group: usize,
}

impl<'a> Context<'a> {
    pub fn new(catalog: &'a Catalog, table: &'a RoutingTable, trace: &'a Trace) -> Context<'a> {
        let groups = Groups {
            n_classes: trace.class_names.len(),
            n_origins: trace.origin_names.len(),
            n_models: catalog.models.len(),
            n_endpoints: catalog.endpoints.len(),
        };
        let layout = CellLayout::new(table);
        let segments = (0..table.segment_rule.len())
            .map(|s| SegmentInfo {
                cell_base: layout.seg_base[s],
                max_attempts: layout.seg_attempts[s],
                class_group: groups.class(s / table.n_origins),
                origin_group: groups.origin(s % table.n_origins),
            })
            .collect();
        let endpoint_groups = catalog
            .endpoints
            .iter()
            .enumerate()
            .map(|(e, ep)| [groups.model(ep.model_idx), groups.endpoint(e)])
            .collect();
        let ep_model: Vec<usize> = catalog.endpoints.iter().map(|e| e.model_idx).collect();
        let rows = Rows::new(table, &groups, &ep_model);
        Context { catalog, table, trace, groups, layout, segments, endpoint_groups, rows }
    }

    /// A fresh collector, to hand to the engine as its observer.
    pub fn collector(&self) -> Collector<'_> {
        self.new_collector(false)
    }

    /// A collector that sketches latencies instead of counting buckets for the exact pass, for
    /// [`Context::summarize_sketched`], which needs no outcomes (a streamed trace, or a replay
    /// that keeps none: `--quantiles sketch`).
    pub fn sketching_collector(&self) -> Collector<'_> {
        self.new_collector(true)
    }

    /// A collector with either bucket histograms (exact) or sketches, per segment and endpoint.
    fn new_collector(&self, sketch: bool) -> Collector<'_> {
        let (segments, endpoints) = (self.segments.len(), self.groups.n_endpoints);
        let (hists, sketches) = if sketch { (0, 1) } else { (N_BUCKETS, 0) };
        Collector {
            ctx: self,
            cells: vec![Cell::default(); self.layout.n_cells],
            segment_hist: vec![0; segments * hists],
            endpoint_hist: vec![0; endpoints * hists],
            segment_sketch: vec![quantile::Sketch::new(); segments * sketches],
            endpoint_sketch: vec![quantile::Sketch::new(); endpoints * sketches],
        }
    }

    /// The summary of requests that `collected` (a [`Context::sketching_collector`]) has seen, without
    /// their outcomes: every figure is exact (integer sums, as in [`Context::summarize`]) except
    /// the latency quantiles, which come from the sketches, within
    /// [`quantile::Sketch::RELATIVE_ERROR`] of the exact ones. The context's trace only names the
    /// classes and origins; `n_requests` and `skipped_rows` are the streamed trace's.
    pub fn summarize_sketched(
        &self,
        collected: Collector<'_>,
        n_requests: u64,
        skipped_rows: u64,
        seed: u64,
        replicate: u32,
    ) -> Summary {
        let quantiles: Vec<Option<[f64; 4]>> = self
            .group_sketches(&collected)
            .iter()
            .map(|s| s.quantiles(&QUANTILES).map(|q| [q[0], q[1], q[2], q[3]]))
            .collect();
        let mut summary = self.summary_with(&collected.cells, &quantiles, seed, replicate);
        summary.n_requests = n_requests;
        summary.skipped_rows = skipped_rows;
        summary
    }

    /// Every group's latency sketch from a sketching collector's per-segment and per-endpoint
    /// ones (merging is exact, so this equals sketching each group directly).
    fn group_sketches(&self, collected: &Collector<'_>) -> Vec<quantile::Sketch> {
        let mut groups = vec![quantile::Sketch::new(); self.groups.len()];
        for (seg, sketch) in self.segments.iter().zip(&collected.segment_sketch) {
            for group in [0, seg.class_group, seg.origin_group] {
                groups[group].merge(sketch);
            }
        }
        for (&[model_group, endpoint_group], sketch) in self.endpoint_groups.iter().zip(&collected.endpoint_sketch) {
            for group in [model_group, endpoint_group] {
                groups[group].merge(sketch);
            }
        }
        groups
    }

    /// Every group's latency histogram (`[group * N_BUCKETS + bucket]`) from a collector's
    /// per-segment and per-endpoint ones.
    fn group_histograms(&self, collected: &Collector<'_>) -> Vec<u32> {
        let groups = &self.groups;
        let mut hist = vec![0u32; groups.len() * N_BUCKETS];
        let mut add = |group: usize, from: &[u32]| {
            for (a, b) in hist[group * N_BUCKETS..(group + 1) * N_BUCKETS].iter_mut().zip(from) {
                *a += b;
            }
        };
        for (segment, seg) in self.segments.iter().enumerate() {
            let from = &collected.segment_hist[segment * N_BUCKETS..(segment + 1) * N_BUCKETS];
            for group in [0, seg.class_group, seg.origin_group] {
                add(group, from);
            }
        }
        for (e, &[model_group, endpoint_group]) in self.endpoint_groups.iter().enumerate() {
            let from = &collected.endpoint_hist[e * N_BUCKETS..(e + 1) * N_BUCKETS];
            for group in [model_group, endpoint_group] {
                add(group, from);
            }
        }
        hist
    }

    /// The summary of `outcomes` (with at least `served` and `latency_s`), whose requests
    /// `collected` has observed.
    pub fn summarize(&self, outcomes: &Outcomes, collected: Collector<'_>) -> Summary {
        let hist = self.group_histograms(&collected);
        let ranks = RankPlan::new(self.groups.len(), &hist);
        let candidates = candidates_from_outcomes(&ranks, &self.rows, self.trace, outcomes, &hist);
        let quantiles = ranks.quantiles(candidates);
        self.summary_with(&collected.cells, &quantiles, outcomes.seed, outcomes.replicate)
    }

    /// A summary from a collector's cells and every group's quantiles.
    fn summary_with(&self, cells: &[Cell], quantiles: &[Option<[f64; 4]>], seed: u64, replicate: u32) -> Summary {
        let (catalog, trace, groups) = (self.catalog, self.trace, &self.groups);
        let mut stats = derive_group_stats(catalog, self.table, trace, &self.layout, groups, cells);
        for (g, s) in stats.iter_mut().enumerate() {
            if let (Some(q), Some(extra)) = (quantiles[g], s.latency_s.as_mut()) {
                extra.p50 = q[0];
                extra.p90 = q[1];
                extra.p99 = q[2];
                extra.p999 = q[3];
            }
        }
        let take = |first: usize, names: &[String]| -> Vec<(String, GroupStats)> {
            names.iter().enumerate().map(|(j, name)| (name.clone(), stats[first + j].clone())).collect()
        };
        let endpoint_names: Vec<String> = catalog.endpoints.iter().map(|e| e.id.clone()).collect();
        Summary {
            n_requests: trace.len() as u64,
            skipped_rows: trace.skipped_rows as u64,
            seed,
            replicate,
            overall: stats[0].clone(),
            per_class: take(groups.class(0), &trace.class_names),
            per_origin: take(groups.origin(0), &trace.origin_names),
            per_model: take(groups.model(0), &catalog.models),
            per_endpoint: take(groups.endpoint(0), &endpoint_names),
        }
    }
}

/// Summarise one replay after the fact (the engine can instead feed a [`Context::collector`] while
/// it runs). `table` must be the routing table the outcomes came from.
pub fn summarize(catalog: &Catalog, table: &RoutingTable, trace: &Trace, outcomes: &Outcomes) -> Summary {
    assert!(outcomes.has_detail(), "summarize needs outcomes replayed with Keep::All");
    let ctx = Context::new(catalog, table, trace);
    let n = trace.len();
    let collected = (0..n.div_ceil(CHUNK))
        .into_par_iter()
        .fold(
            || ctx.collector(),
            |mut acc, chunk| {
                for i in chunk * CHUNK..((chunk + 1) * CHUNK).min(n) {
                    let segment = trace.class[i] as usize * table.n_origins + trace.origin[i] as usize;
                    let rule = &table.rules[table.segment_rule[segment] as usize];
                    let target = rule.targets.iter().position(|&t| t == outcomes.primary[i]).unwrap_or(0);
                    let cached = trace.cached_input_tokens.as_ref().map_or(0, |c| c[i]);
                    acc.observe(RequestOutcome {
                        segment,
                        target,
                        attempts: outcomes.attempts[i],
                        status: outcomes.status[i],
                        served: outcomes.served[i],
                        latency_s: outcomes.latency_s[i],
                        tokens: [trace.input_tokens[i], cached, trace.output_tokens[i]],
                    });
                }
                acc
            },
        )
        .reduce(|| ctx.collector(), Collector::merge);
    ctx.summarize(outcomes, collected)
}

/// Every group's counts, cost, quality and latency mean/max, from the cells (in a fixed order).
fn derive_group_stats(
    catalog: &Catalog,
    table: &RoutingTable,
    trace: &Trace,
    layout: &CellLayout,
    groups: &Groups,
    cells: &[Cell],
) -> Vec<GroupStats> {
    let mut stats = vec![GroupStats::default(); groups.len()];
    let mut latency_ns = vec![0u128; groups.len()];
    let mut latency_max = vec![f64::NEG_INFINITY; groups.len()];
    let n_origins = table.n_origins;
    for (segment, &r) in table.segment_rule.iter().enumerate() {
        if r == u16::MAX {
            continue;
        }
        let (class, origin) = (segment / n_origins, segment % n_origins);
        let class_name = &trace.class_names[class];
        let rule = &table.rules[r as usize];
        let max_attempts = layout.seg_attempts[segment];
        for (target, &primary) in rule.targets.iter().enumerate() {
            for attempts in 1..=max_attempts {
                for status in [Status::Ok, Status::Failed, Status::TimedOut] {
                    let cell = &cells[layout.index(segment, target, attempts, status)];
                    if cell.n == 0 {
                        continue;
                    }
                    let route: Vec<usize> = std::iter::once(primary as usize)
                        .chain(rule.fallbacks[target].iter().take(attempts - 1).map(|&e| e as usize))
                        .collect();
                    let ok = status == Status::Ok;
                    // The request-level view, and the serving endpoint's share of it.
                    let mut request = GroupStats {
                        requests: cell.n,
                        attempts: cell.n * attempts as u64,
                        fallback: if attempts > 1 { cell.n } else { 0 },
                        ..Default::default()
                    };
                    let served_endpoint = route[attempts - 1];
                    if ok {
                        let ep = &catalog.endpoints[served_endpoint];
                        let uncached = cell.input_tokens - cell.cached_tokens;
                        request.served = cell.n;
                        request.cost_usd = (uncached as f64 * ep.prices.input_per_mtok
                            + cell.cached_tokens as f64 * ep.prices.cached_input_per_mtok
                            + cell.output_tokens as f64 * ep.prices.output_per_mtok)
                            / 1e6;
                        if let Some(q) = ep.quality.for_class(class_name) {
                            request.quality_sum = q * cell.n as f64;
                            request.quality_n = cell.n;
                        }
                    } else {
                        request.failed = cell.n;
                        request.timed_out = if status == Status::TimedOut { cell.n } else { 0 };
                    }
                    let mut add = |g: usize, s: &GroupStats, with_latency: bool| {
                        let t = &mut stats[g];
                        t.requests += s.requests;
                        t.served += s.served;
                        t.failed += s.failed;
                        t.timed_out += s.timed_out;
                        t.fallback += s.fallback;
                        t.attempts += s.attempts;
                        t.cost_usd += s.cost_usd;
                        t.quality_sum += s.quality_sum;
                        t.quality_n += s.quality_n;
                        if with_latency {
                            latency_ns[g] += cell.latency_ns;
                            latency_max[g] = latency_max[g].max(cell.latency_max);
                        }
                    };
                    for g in [0, groups.class(class), groups.origin(origin)] {
                        add(g, &request, ok);
                    }
                    // The attempt-level view along the route.
                    for (position, &e) in route.iter().enumerate() {
                        let last = position + 1 == attempts;
                        let attempt = if last && ok {
                            GroupStats {
                                requests: cell.n,
                                attempts: cell.n,
                                fallback: if position > 0 { cell.n } else { 0 },
                                served: cell.n,
                                cost_usd: request.cost_usd,
                                quality_sum: request.quality_sum,
                                quality_n: request.quality_n,
                                ..Default::default()
                            }
                        } else {
                            GroupStats {
                                requests: cell.n,
                                attempts: cell.n,
                                fallback: if position > 0 { cell.n } else { 0 },
                                failed: cell.n,
                                timed_out: if last && status == Status::TimedOut { cell.n } else { 0 },
                                ..Default::default()
                            }
                        };
                        let served_here = last && ok;
                        add(groups.endpoint(e), &attempt, served_here);
                        add(groups.model(catalog.endpoints[e].model_idx), &attempt, served_here);
                    }
                }
            }
        }
    }
    for (g, s) in stats.iter_mut().enumerate() {
        if s.served > 0 {
            s.latency_s = Some(LatencySummary {
                p50: f64::NAN,
                p90: f64::NAN,
                p99: f64::NAN,
                p999: f64::NAN,
                mean: latency_ns[g] as f64 / 1e9 / s.served as f64,
                max: latency_max[g],
            });
        }
    }
    stats
}

/// Reorder `values` so that each of the ascending `ranks` holds its order statistic.
fn select_ranks(values: &mut [f64], ranks: &[u64]) {
    let mut done = 0usize;
    for &k in ranks {
        let k = k as usize;
        if k < done {
            continue;
        }
        values[done..].select_nth_unstable_by(k - done, f64::total_cmp);
        done = k + 1;
    }
}

/// The order statistics (0-based ranks) that type-7 quantiles of `n` values need.
fn needed_ranks(n: u64) -> Vec<u64> {
    let mut ranks = Vec::new();
    for &q in &QUANTILES {
        let pos = (n - 1) as f64 * q;
        let k = pos.floor() as u64;
        ranks.push(k);
        if k + 1 < n && pos > k as f64 {
            ranks.push(k + 1);
        }
    }
    ranks.sort_unstable();
    ranks.dedup();
    ranks
}

/// The most buckets one group's needed ranks can fall in (two per quantile level).
const MAX_SLOTS: usize = 8;
/// Bitset over buckets.
const WORDS: usize = N_BUCKETS / 64;
type BucketBits = [u64; WORDS];

#[inline]
fn has_bucket(bits: &BucketBits, b: usize) -> bool {
    bits[b / 64] & (1 << (b % 64)) != 0
}

/// Per group, the buckets that hold the order statistics its type-7 quantiles need.
struct RankPlan {
    /// Per group: (bucket, values below it), ascending; at most [`MAX_SLOTS`].
    slots: Vec<Vec<(usize, u64)>>,
    /// `slot_of[group * N_BUCKETS + bucket]`: 1 + the bucket's slot in `slots[group]`, or 0.
    slot_of: Vec<u8>,
    /// Served requests per group.
    counts: Vec<u64>,
}

impl RankPlan {
    /// From every group's full histogram.
    fn new(n_groups: usize, hist: &[u32]) -> RankPlan {
        let mut slot_of = vec![0u8; n_groups * N_BUCKETS];
        let mut slots: Vec<Vec<(usize, u64)>> = vec![Vec::new(); n_groups];
        let mut counts = vec![0u64; n_groups];
        for g in 0..n_groups {
            let h = &hist[g * N_BUCKETS..(g + 1) * N_BUCKETS];
            let total: u64 = h.iter().map(|&c| c as u64).sum();
            counts[g] = total;
            if total == 0 {
                continue;
            }
            let mut below = 0u64;
            let mut ranks = needed_ranks(total).into_iter().peekable();
            for (b, &c) in h.iter().enumerate() {
                let c = c as u64;
                let mut wanted = false;
                while ranks.peek().is_some_and(|&k| k < below + c) {
                    ranks.next();
                    wanted = true;
                }
                if wanted {
                    slots[g].push((b, below));
                    slot_of[g * N_BUCKETS + b] = slots[g].len() as u8;
                    debug_assert!(slots[g].len() <= MAX_SLOTS);
                }
                below += c;
            }
        }
        RankPlan { slots, slot_of, counts }
    }

    fn n_groups(&self) -> usize {
        self.counts.len()
    }

    /// Empty candidate buffers (`[group * MAX_SLOTS + slot]`), each with room for its bucket's
    /// full count so that it never grows.
    fn new_buffers(&self, hist: &[u32]) -> Vec<Vec<f64>> {
        (0..self.n_groups() * MAX_SLOTS)
            .map(|gs| {
                self.slots[gs / MAX_SLOTS]
                    .get(gs % MAX_SLOTS)
                    .map_or(Vec::new(), |&(b, _)| Vec::with_capacity(hist[(gs / MAX_SLOTS) * N_BUCKETS + b] as usize))
            })
            .collect()
    }

    /// The quantiles, from every wanted bucket's values (`[group * MAX_SLOTS + slot]`, in any
    /// order): selection within each bucket, not a full sort.
    fn quantiles(&self, mut candidates: Vec<Vec<f64>>) -> Vec<Option<[f64; 4]>> {
        let wanted: Vec<Vec<u64>> = (0..self.n_groups() * MAX_SLOTS)
            .map(|gs| {
                let (g, slot) = (gs / MAX_SLOTS, gs % MAX_SLOTS);
                match self.slots[g].get(slot) {
                    None => Vec::new(),
                    Some(&(_, below)) => needed_ranks(self.counts[g])
                        .into_iter()
                        .filter(|&k| k >= below && k < below + candidates[gs].len() as u64)
                        .map(|k| k - below)
                        .collect(),
                }
            })
            .collect();
        candidates.par_iter_mut().zip(&wanted).for_each(|(c, ranks)| select_ranks(c, ranks));

        (0..self.n_groups())
            .map(|g| {
                let total = self.counts[g];
                if total == 0 {
                    return None;
                }
                let order_stat = |k: u64| -> f64 {
                    // The last planned bucket starting at or below rank k holds it.
                    let slot = self.slots[g].iter().rposition(|&(_, below)| below <= k).expect("rank planned");
                    let (_, below) = self.slots[g][slot];
                    candidates[g * MAX_SLOTS + slot][(k - below) as usize]
                };
                let mut out = [0.0; 4];
                for (o, &q) in out.iter_mut().zip(&QUANTILES) {
                    let pos = (total - 1) as f64 * q;
                    let k = pos.floor() as u64;
                    let lo = order_stat(k);
                    *o = if k + 1 < total && pos > k as f64 {
                        lo + (order_stat(k + 1) - lo) * (pos - k as f64)
                    } else {
                        lo
                    };
                }
                Some(out)
            })
            .collect()
    }
}

/// The (segment, serving endpoint) pairs a routing table can produce, numbered. A served
/// request's five groups (overall, class, origin, model, endpoint) follow from its pair.
struct Rows {
    n_endpoints: usize,
    /// `index[segment * n_endpoints + endpoint]`: the pair's row, or `u32::MAX`.
    index: Vec<u32>,
    /// Per row, its five groups.
    groups: Vec<[usize; 5]>,
}

impl Rows {
    fn new(table: &RoutingTable, groups: &Groups, ep_model: &[usize]) -> Rows {
        let n_origins = table.n_origins;
        let n_endpoints = groups.n_endpoints;
        let mut rows =
            Rows { n_endpoints, index: vec![u32::MAX; table.segment_rule.len() * n_endpoints], groups: Vec::new() };
        for (segment, &r) in table.segment_rule.iter().enumerate() {
            if r == u16::MAX {
                continue;
            }
            let rule = &table.rules[r as usize];
            for &e in rule.targets.iter().chain(rule.fallbacks.iter().flatten()) {
                let e = e as usize;
                if rows.index[segment * n_endpoints + e] != u32::MAX {
                    continue;
                }
                rows.index[segment * n_endpoints + e] = rows.groups.len() as u32;
                rows.groups.push([
                    0,
                    groups.class(segment / n_origins),
                    groups.origin(segment % n_origins),
                    groups.model(ep_model[e]),
                    groups.endpoint(e),
                ]);
            }
        }
        rows
    }

    #[inline]
    fn of(&self, segment: usize, endpoint: usize) -> usize {
        self.index[segment * self.n_endpoints + endpoint] as usize
    }

    /// Per row, the buckets that any of its groups wants (`wants(group)`), and their union.
    fn wanted(&self, wants: impl Fn(usize) -> BucketBits) -> (Vec<BucketBits>, BucketBits) {
        let per_row: Vec<BucketBits> = self
            .groups
            .iter()
            .map(|gs| {
                gs.iter().fold([0u64; WORDS], |mut acc, &g| {
                    for (a, w) in acc.iter_mut().zip(wants(g)) {
                        *a |= w;
                    }
                    acc
                })
            })
            .collect();
        let any = per_row.iter().fold([0u64; WORDS], |mut acc, bits| {
            for (a, b) in acc.iter_mut().zip(bits) {
                *a |= b;
            }
            acc
        });
        (per_row, any)
    }
}

/// Pass 2 over kept outcomes: collect the values in the wanted buckets. The requests are split
/// into one contiguous piece per thread; selection does not depend on the order the values
/// arrive in.
fn candidates_from_outcomes(
    plan: &RankPlan,
    rows: &Rows,
    trace: &Trace,
    outcomes: &Outcomes,
    hist: &[u32],
) -> Vec<Vec<f64>> {
    let (wanted_bits, any_wanted) = rows.wanted(|g| {
        let mut bits = [0u64; WORDS];
        for &(b, _) in &plan.slots[g] {
            bits[b / 64] |= 1 << (b % 64);
        }
        bits
    });
    let n_origins = trace.origin_names.len();
    let n = trace.len();
    let pieces = rayon::current_num_threads().clamp(1, 64);
    let piece_len = n.div_ceil(pieces).max(1);
    let per_piece: Vec<Vec<Vec<f64>>> = (0..pieces)
        .into_par_iter()
        .map(|piece| {
            let mut buffers = plan.new_buffers(hist);
            // Most values lie in buckets no group wants: they are skipped before the trace is
            // read, in two steps so that the test is not a branch (which values are wanted is
            // random, so a branch on it mispredicts often): a block's possibly wanted requests
            // are listed without branching, then only those are looked at.
            const BLOCK: usize = 1024;
            let mut listed = [0u32; BLOCK];
            let (from, to) = (piece * piece_len, ((piece + 1) * piece_len).min(n));
            let mut block_start = from;
            while block_start < to {
                let block_end = (block_start + BLOCK).min(to);
                let (served, latency) =
                    (&outcomes.served[block_start..block_end], &outcomes.latency_s[block_start..block_end]);
                let mut k = 0;
                for (j, (&e, &x)) in served.iter().zip(latency).enumerate() {
                    listed[k] = j as u32;
                    k += usize::from((e != NOT_SERVED) & has_bucket(&any_wanted, bucket(x)));
                }
                for &j in &listed[..k] {
                    let i = block_start + j as usize;
                    let (served, latency) = (outcomes.served[i], outcomes.latency_s[i]);
                    let b = bucket(latency);
                    let segment = trace.class[i] as usize * n_origins + trace.origin[i] as usize;
                    let row = rows.of(segment, served as usize);
                    if !has_bucket(&wanted_bits[row], b) {
                        continue;
                    }
                    for g in rows.groups[row] {
                        let slot = plan.slot_of[g * N_BUCKETS + b];
                        if slot != 0 {
                            buffers[g * MAX_SLOTS + slot as usize - 1].push(latency);
                        }
                    }
                }
                block_start = block_end;
            }
            buffers
        })
        .collect();
    let mut per_piece = per_piece.into_iter();
    let mut candidates = per_piece.next().unwrap_or_else(|| plan.new_buffers(hist));
    for other in per_piece {
        for (a, b) in candidates.iter_mut().zip(other) {
            a.extend(b);
        }
    }
    candidates
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_are_monotone_in_the_value() {
        let mut prev = 0;
        let mut x = 1e-7;
        while x < 1e7 {
            let b = bucket(x);
            assert!(b >= prev, "bucket({x}) = {b} < {prev}");
            prev = b;
            x *= 1.001;
        }
        assert_eq!(bucket(0.0), 0);
        assert_eq!(bucket(-0.0), 0);
        assert_eq!(bucket(f64::NAN), N_BUCKETS - 1);
        assert_eq!(bucket(f64::INFINITY), N_BUCKETS - 1);
        assert_eq!(bucket(1e300), N_BUCKETS - 1);
        // Octave k above 2^-12 starts at bucket k << SUB_BITS; each 1/2^SUB_BITS of an octave is one bucket.
        let per_octave = 1 << SUB_BITS;
        let step = 1.0 / per_octave as f64;
        assert_eq!(bucket(1.0), 12 * per_octave);
        assert_eq!(bucket(1.0 + step * 0.99), 12 * per_octave);
        assert_eq!(bucket(1.0 + step), 12 * per_octave + 1);
        assert_eq!(bucket(1.999), 12 * per_octave + per_octave - 1);
        assert_eq!(bucket(2f64.powi(-12) * 1.5), per_octave / 2);
        assert_eq!(bucket(2f64.powi(-13)), 0);
        assert_eq!(bucket(2f64.powi(19) * (2.0 - step / 2.0)), N_BUCKETS - 1);
        assert_eq!(bucket(2f64.powi(19) * (2.0 - step * 1.5)), N_BUCKETS - 2);
        assert_eq!(bucket(2f64.powi(20)), N_BUCKETS - 1);
    }

    #[test]
    fn needed_ranks_cover_type7() {
        assert_eq!(needed_ranks(1), vec![0]);
        // n = 5: pos 2 (p50), 3.6 (p90), 3.96 (p99), 3.996 (p99.9)
        assert_eq!(needed_ranks(5), vec![2, 3, 4]);
    }
}
