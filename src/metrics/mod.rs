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

/// Histogram buckets over latency: 32 octaves from 2^-12 s (0.24 ms) to 2^20 s, 16 buckets per
/// octave (4.4% wide). Values outside the range fall in the first or last bucket, which keeps the
/// bucket order monotone in the value, all that exact selection needs. The bucket count trades
/// the per-request histogram update (each group's histogram is 2 KiB, so a few dozen groups stay
/// in L1/L2 cache) against the number of values to select from in the wanted buckets.
const SUB_BITS: u32 = 4;
const MIN_EXP: i64 = -12;
const N_OCTAVES: usize = 32;
const N_BUCKETS: usize = N_OCTAVES << SUB_BITS;

#[inline]
fn bucket(x: f64) -> usize {
    let bits = x.to_bits();
    let exp = ((bits >> 52) & 0x7ff) as i64 - 1023;
    if exp < MIN_EXP {
        0
    } else if exp >= MIN_EXP + N_OCTAVES as i64 {
        N_BUCKETS - 1
    } else {
        (((exp - MIN_EXP) as usize) << SUB_BITS) | ((bits >> (52 - SUB_BITS)) & ((1 << SUB_BITS) - 1)) as usize
    }
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
pub struct Collector<'a> {
    ctx: &'a Context<'a>,
    cells: Vec<Cell>,
    /// `hist[group * N_BUCKETS + bucket]`: served requests per latency bucket.
    hist: Vec<u32>,
    /// Per group, a quantile sketch of served latencies (only in a [`Context::sketching_collector`],
    /// for outcomes that are not kept).
    sketches: Vec<quantile::Sketch>,
}

impl Observer for Collector<'_> {
    #[inline]
    fn observe(
        &mut self,
        i: usize,
        segment: usize,
        target: usize,
        attempts: u8,
        status: Status,
        served: u16,
        latency_s: f64,
    ) {
        let trace = self.ctx.trace;
        let cached = trace.cached_input_tokens.as_ref().map_or(0, |c| c[i]);
        let tokens = [trace.input_tokens[i], cached, trace.output_tokens[i]];
        self.add(segment, target, attempts, status, served, latency_s, tokens);
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
        for (a, b) in self.hist.iter_mut().zip(&other.hist) {
            *a += b;
        }
        for (a, b) in self.sketches.iter_mut().zip(&other.sketches) {
            a.merge(b);
        }
        self
    }
}

impl Collector<'_> {
    /// One request, with its token counts `[input, cached input, output]` given rather than read
    /// from the trace (for an engine fed the trace in chunks).
    #[allow(clippy::too_many_arguments)]
    #[inline]
    pub fn add(
        &mut self,
        segment: usize,
        target: usize,
        attempts: u8,
        status: Status,
        served: u16,
        latency_s: f64,
        [input_tokens, cached_tokens, output_tokens]: [u32; 3],
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
            cell.latency_max = cell.latency_max.max(latency_s);
            let b = bucket(latency_s);
            let [model_group, endpoint_group] = ctx.endpoint_groups[served as usize];
            let groups = [0, seg.class_group, seg.origin_group, model_group, endpoint_group];
            for group in groups {
                self.hist[group * N_BUCKETS + b] += 1;
            }
            if !self.sketches.is_empty() {
                for group in groups {
                    self.sketches[group].add(latency_s);
                }
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
    ep_model: Vec<usize>,
    /// Per segment, what the per-request update needs, in one place.
    segments: Vec<SegmentInfo>,
    /// Per endpoint: its model's group and its own group.
    endpoint_groups: Vec<[usize; 2]>,
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
        Context {
            catalog,
            table,
            trace,
            groups,
            layout,
            ep_model: catalog.endpoints.iter().map(|e| e.model_idx).collect(),
            segments,
            endpoint_groups,
        }
    }

    /// A fresh collector, to hand to the engine as its observer.
    pub fn collector(&self) -> Collector<'_> {
        Collector {
            ctx: self,
            cells: vec![Cell::default(); self.layout.n_cells],
            hist: vec![0; self.groups.len() * N_BUCKETS],
            sketches: Vec::new(),
        }
    }

    /// A collector that also sketches every group's latencies, for [`Context::summarize_sketched`]
    /// when the outcomes are not kept (a streamed trace).
    pub fn sketching_collector(&self) -> Collector<'_> {
        Collector { sketches: vec![quantile::Sketch::new(); self.groups.len()], ..self.collector() }
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
        let quantiles: Vec<Option<[f64; 4]>> =
            collected.sketches.iter().map(|s| s.quantiles(&QUANTILES).map(|q| [q[0], q[1], q[2], q[3]])).collect();
        let mut summary = self.summary_with(&collected, &quantiles, seed, replicate);
        summary.n_requests = n_requests;
        summary.skipped_rows = skipped_rows;
        summary
    }

    /// The summary of `outcomes`, whose requests `collected` has observed.
    pub fn summarize(&self, outcomes: &Outcomes, collected: Collector<'_>) -> Summary {
        let quantiles =
            exact_quantiles(self.table, self.trace, outcomes, &self.groups, &self.ep_model, &collected.hist);
        self.summary_with(&collected, &quantiles, outcomes.seed, outcomes.replicate)
    }

    fn summary_with(
        &self,
        collected: &Collector<'_>,
        quantiles: &[Option<[f64; 4]>],
        seed: u64,
        replicate: u32,
    ) -> Summary {
        let (catalog, trace, groups) = (self.catalog, self.trace, &self.groups);
        let mut stats = derive_group_stats(catalog, self.table, trace, &self.layout, groups, &collected.cells);
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
                    acc.observe(
                        i,
                        segment,
                        target,
                        outcomes.attempts[i],
                        outcomes.status[i],
                        outcomes.served[i],
                        outcomes.latency_s[i],
                    );
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

/// Exact type-7 quantiles per group by bucket selection (see the module docs).
fn exact_quantiles(
    table: &RoutingTable,
    trace: &Trace,
    outcomes: &Outcomes,
    groups: &Groups,
    ep_model: &[usize],
    hist: &[u32],
) -> Vec<Option<[f64; 4]>> {
    const MAX_SLOTS: usize = 8;
    let n_groups = groups.len();
    // Per group: the buckets holding needed ranks, each with the number of values below it.
    let mut target = vec![0u8; n_groups * N_BUCKETS];
    let mut plan: Vec<Vec<(usize, u64)>> = vec![Vec::new(); n_groups];
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
                plan[g].push((b, below));
                target[g * N_BUCKETS + b] = plan[g].len() as u8;
                debug_assert!(plan[g].len() <= MAX_SLOTS);
            }
            below += c;
        }
    }

    // Pass 2: collect the values in the wanted buckets. A request's five groups (overall, class,
    // origin, model, endpoint) follow from its segment and serving endpoint, so one lookup in a
    // table keyed by (segment, endpoint, bucket) says whether any of them wants its value. The
    // requests are split into one contiguous piece per thread; each piece's buffers are allocated
    // at the bucket's full count (an upper bound, so they never grow) and concatenated at the end.
    // Selection does not depend on the order the values arrive in.
    let n_origins = trace.origin_names.len();
    let n_endpoints = groups.n_endpoints;
    let n_segments = trace.class_names.len() * n_origins;
    let groups_of = |segment: usize, e: usize| -> [usize; 5] {
        [
            0,
            groups.class(segment / n_origins),
            groups.origin(segment % n_origins),
            groups.model(ep_model[e]),
            groups.endpoint(e),
        ]
    };
    // Rows only for (segment, endpoint) pairs the segment's rule can serve from, as bitsets over
    // buckets, so the table stays small however many classes and origins a trace has.
    const WORDS: usize = N_BUCKETS / 64;
    let mut row_of = vec![u32::MAX; n_segments * n_endpoints];
    let mut wanted_bits: Vec<[u64; WORDS]> = Vec::new();
    for (segment, &r) in table.segment_rule.iter().enumerate() {
        if r == u16::MAX {
            continue;
        }
        let rule = &table.rules[r as usize];
        for &e in rule.targets.iter().chain(rule.fallbacks.iter().flatten()) {
            let e = e as usize;
            if row_of[segment * n_endpoints + e] != u32::MAX {
                continue;
            }
            let mut bits = [0u64; WORDS];
            for g in groups_of(segment, e) {
                for &(b, _) in &plan[g] {
                    bits[b / 64] |= 1 << (b % 64);
                }
            }
            row_of[segment * n_endpoints + e] = wanted_bits.len() as u32;
            wanted_bits.push(bits);
        }
    }
    let n = trace.len();
    let pieces = rayon::current_num_threads().clamp(1, 64);
    let piece_len = n.div_ceil(pieces).max(1);
    let new_buffers = || -> Vec<Vec<f64>> {
        (0..n_groups * MAX_SLOTS)
            .map(|gs| {
                plan[gs / MAX_SLOTS]
                    .get(gs % MAX_SLOTS)
                    .map_or(Vec::new(), |&(b, _)| Vec::with_capacity(hist[(gs / MAX_SLOTS) * N_BUCKETS + b] as usize))
            })
            .collect()
    };
    let per_piece: Vec<Vec<Vec<f64>>> = (0..pieces)
        .into_par_iter()
        .map(|piece| {
            let mut buffers = new_buffers();
            for i in piece * piece_len..((piece + 1) * piece_len).min(n) {
                let served = outcomes.served[i];
                if served == NOT_SERVED {
                    continue;
                }
                let served = served as usize;
                let latency = outcomes.latency_s[i];
                let b = bucket(latency);
                let segment = trace.class[i] as usize * n_origins + trace.origin[i] as usize;
                let row = row_of[segment * n_endpoints + served];
                if wanted_bits[row as usize][b / 64] & (1 << (b % 64)) == 0 {
                    continue;
                }
                for g in groups_of(segment, served) {
                    let slot = target[g * N_BUCKETS + b];
                    if slot != 0 {
                        buffers[g * MAX_SLOTS + slot as usize - 1].push(latency);
                    }
                }
            }
            buffers
        })
        .collect();
    let mut per_piece = per_piece.into_iter();
    let mut candidates = per_piece.next().unwrap_or_else(new_buffers);
    for other in per_piece {
        for (a, b) in candidates.iter_mut().zip(other) {
            a.extend(b);
        }
    }
    // Within each wanted bucket, place the ranks that are needed (selection, not a full sort).
    let wanted: Vec<Vec<u64>> = (0..n_groups * MAX_SLOTS)
        .map(|gs| {
            let (g, slot) = (gs / MAX_SLOTS, gs % MAX_SLOTS);
            match plan[g].get(slot) {
                None => Vec::new(),
                Some(&(_, below)) => needed_ranks(counts[g])
                    .into_iter()
                    .filter(|&k| k >= below && k < below + candidates[gs].len() as u64)
                    .map(|k| k - below)
                    .collect(),
            }
        })
        .collect();
    candidates.par_iter_mut().zip(&wanted).for_each(|(c, ranks)| select_ranks(c, ranks));

    (0..n_groups)
        .map(|g| {
            let total = counts[g];
            if total == 0 {
                return None;
            }
            let order_stat = |k: u64| -> f64 {
                // The last planned bucket starting at or below rank k holds it.
                let slot = plan[g].iter().rposition(|&(_, below)| below <= k).expect("rank planned");
                let (_, below) = plan[g][slot];
                candidates[g * MAX_SLOTS + slot][(k - below) as usize]
            };
            let mut out = [0.0; 4];
            for (o, &q) in out.iter_mut().zip(&QUANTILES) {
                let pos = (total - 1) as f64 * q;
                let k = pos.floor() as u64;
                let lo = order_stat(k);
                *o =
                    if k + 1 < total && pos > k as f64 { lo + (order_stat(k + 1) - lo) * (pos - k as f64) } else { lo };
            }
            Some(out)
        })
        .collect()
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
        assert_eq!(bucket(1e300), N_BUCKETS - 1);
    }

    #[test]
    fn needed_ranks_cover_type7() {
        assert_eq!(needed_ranks(1), vec![0]);
        // n = 5: pos 2 (p50), 3.6 (p90), 3.96 (p99), 3.996 (p99.9)
        assert_eq!(needed_ranks(5), vec![2, 3, 4]);
    }
}
