//! The stateless Monte Carlo replay (see the module docs of [`crate::engine`]).

use rand::RngExt;
use rayon::prelude::*;

use super::rng::{RequestRng, stream_base};
use super::{NOT_SERVED, Outcomes, RequestOutcome, Status};
use crate::catalog::{Catalog, DecodeDist, LatencyDist};
use crate::error::Result;
use crate::policy::{BoundRule, RoutingTable};
use crate::trace::Trace;

/// Requests per unit of parallel work (results never depend on it: streams are keyed by request).
const CHUNK: usize = 1 << 14;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReplayOptions {
    pub seed: u64,
    pub replicate: u32,
}

impl Default for ReplayOptions {
    fn default() -> Self {
        ReplayOptions { seed: 42, replicate: 0 }
    }
}

struct EndpointModel<'a> {
    ttft: &'a LatencyDist,
    decode: &'a DecodeDist,
    availability: f64,
}

/// Sees every request's outcome as the engine produces it, so that summaries can be accumulated in
/// the same pass over memory. Each worker gets its own observer; they are merged at the end, in an
/// order that depends on scheduling, so merging must be order-independent (integer sums, maxima).
pub trait Observer: Send {
    /// One request's outcome.
    fn observe(&mut self, outcome: RequestOutcome);
    /// Combine two observers' records.
    fn merge(self, other: Self) -> Self;
}

/// An observer that records nothing.
#[derive(Debug, Default, Clone, Copy)]
pub struct NoObserver;

impl Observer for NoObserver {
    #[inline]
    fn observe(&mut self, _: RequestOutcome) {}
    fn merge(self, _: Self) -> Self {
        self
    }
}

/// How much of each request's outcome the engine stores (its observer sees everything either way).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Keep {
    /// Every column of [`Outcomes`]: for per-request output, counterfactual replay and
    /// after-the-fact summaries.
    All,
    /// Only `served` and `latency_s`, what exact quantiles need; `primary`, `attempts` and
    /// `status` stay empty. A 10M-request replay then writes 100 MB instead of 140 MB, and on a
    /// fresh process every page written is first zeroed by the kernel.
    Served,
    /// No column at all: the observer is the only record (sketched quantiles need nothing else).
    /// The replay then writes no memory per request.
    Nothing,
}

/// Replay every request of `trace` through `table`.
pub fn replay(catalog: &Catalog, table: &RoutingTable, trace: &Trace, opts: &ReplayOptions) -> Outcomes {
    replay_observed(catalog, table, trace, opts, Keep::All, &|| NoObserver, &|_| {}).0
}

/// What became of one request (the engine's per-request result before it is stored).
#[derive(Debug, Clone, Copy)]
struct One {
    segment: usize,
    /// Position of the primary among the rule's targets, and the primary itself.
    target: usize,
    primary: u16,
    attempts: u8,
    status: Status,
    served: u16,
    latency_s: f64,
}

/// The engine's inputs, resolved once per replay.
struct Engine<'a> {
    table: &'a RoutingTable,
    endpoints: Vec<EndpointModel<'a>>,
    /// The rule of each segment (absent segments never occur in the trace).
    segment_rules: Vec<&'a BoundRule>,
    base: u64,
}

impl<'a> Engine<'a> {
    fn new(catalog: &'a Catalog, table: &'a RoutingTable, opts: &ReplayOptions) -> Engine<'a> {
        Engine {
            table,
            endpoints: catalog
                .endpoints
                .iter()
                .map(|e| EndpointModel { ttft: &e.ttft, decode: &e.decode, availability: e.availability })
                .collect(),
            segment_rules: (0..table.segment_rule.len()).map(|s| &table.rules[table.rule_index(s) as usize]).collect(),
            base: stream_base(opts.seed, opts.replicate),
        }
    }

    /// Request `i`, given its class, origin and output tokens (read by the caller, which can
    /// slice the trace's columns once per chunk).
    #[inline(always)]
    fn run(&self, i: usize, class: u16, origin: u16, output_tokens: u32) -> One {
        let origin = origin as usize;
        let segment = class as usize * self.table.n_origins + origin;
        let rule = self.segment_rules[segment];
        let rtt = &self.table.rtt_s[origin];
        let mut rng = RequestRng::from_base(self.base, i as u64);

        let target = rule.pick_index(rng.random::<f64>());
        let primary = rule.targets[target];
        let fallbacks = &rule.fallbacks[target];
        let mut endpoint_idx = primary;
        let mut wasted_s = 0.0;
        let mut attempts: u8 = 0;
        loop {
            attempts += 1;
            let ep = &self.endpoints[endpoint_idx as usize];
            let ok = rng.random::<f64>() < ep.availability;
            let ttft = ep.ttft.sample(&mut rng);
            let status = if ok {
                let duration = ttft + rtt[endpoint_idx as usize] + ep.decode.decode_time(output_tokens, &mut rng);
                if duration <= rule.timeout_s {
                    let latency_s = wasted_s + duration;
                    return One {
                        segment,
                        target,
                        primary,
                        attempts,
                        status: Status::Ok,
                        served: endpoint_idx,
                        latency_s,
                    };
                }
                wasted_s += rule.timeout_s;
                Status::TimedOut
            } else if ttft > rule.timeout_s {
                wasted_s += rule.timeout_s;
                Status::TimedOut
            } else {
                wasted_s += ttft;
                Status::Failed
            };
            let next = attempts as usize - 1;
            if next >= fallbacks.len() {
                return One { segment, target, primary, attempts, status, served: NOT_SERVED, latency_s: wasted_s };
            }
            endpoint_idx = fallbacks[next];
        }
    }
}

/// A run's slices of the columns that [`Keep::Served`] leaves out.
type Detail<'a> = (&'a mut [u16], &'a mut [u8], &'a mut [Status]);
/// A run's slices of `served` and `latency_s` (which [`Keep::Nothing`] leaves out).
type Served<'a> = (&'a mut [u16], &'a mut [f64]);

/// One column cut into runs of `sizes` rows, or `None` per run when the column is not kept (empty).
fn runs_or_none<'a, T>(column: &'a mut [T], sizes: &[usize]) -> Vec<Option<&'a mut [T]>> {
    if column.is_empty() {
        return sizes.iter().map(|_| None).collect();
    }
    let mut rest = column;
    sizes
        .iter()
        .map(|&size| {
            let (run, tail) = std::mem::take(&mut rest).split_at_mut(size);
            rest = tail;
            Some(run)
        })
        .collect()
}

/// The outcome columns `keep` asks for, for `n` requests, in `reuse`'s memory where it has room
/// (see [`replay_observed_reusing`]).
fn new_outcomes(n: usize, keep: Keep, opts: &ReplayOptions, reuse: Outcomes) -> Outcomes {
    let (all, served) = (keep == Keep::All, keep != Keep::Nothing);
    let rows = |kept: bool| if kept { n } else { 0 };
    Outcomes {
        primary: reused(reuse.primary, rows(all), 0),
        served: reused(reuse.served, rows(served), 0),
        attempts: reused(reuse.attempts, rows(all), 0),
        status: reused(reuse.status, rows(all), Status::Ok),
        latency_s: reused(reuse.latency_s, rows(served), 0.0),
        seed: opts.seed,
        replicate: opts.replicate,
    }
}

/// A column of `n` rows for the replay to overwrite: `spare` cut to length if it holds that many
/// (its old values stay until the replay writes every row; nothing reads them), else `value` in
/// fresh memory, filled on all threads (`vec![value; n]` is zeroed on this thread, by the allocator
/// or by the kernel page by page on first touch, which for 10M requests took as long as the
/// replay's math).
fn reused<T: Copy + Send + Sync>(mut spare: Vec<T>, n: usize, value: T) -> Vec<T> {
    if n > 0 && spare.len() >= n {
        spare.truncate(n);
        return spare;
    }
    (0..n).into_par_iter().with_min_len(CHUNK).map(|_| value).collect()
}

/// `out`'s kept columns cut into runs of `sizes` rows: per run, its served slices and its
/// detail slices (each `None` when not kept).
fn outcome_runs<'a>(out: &'a mut Outcomes, sizes: &[usize]) -> Vec<(Option<Served<'a>>, Option<Detail<'a>>)> {
    let detail = runs_or_none(&mut out.primary, sizes)
        .into_iter()
        .zip(runs_or_none(&mut out.attempts, sizes))
        .zip(runs_or_none(&mut out.status, sizes))
        .map(|((p, a), s)| Some((p?, a?, s?)));
    runs_or_none(&mut out.served, sizes)
        .into_iter()
        .zip(runs_or_none(&mut out.latency_s, sizes))
        .map(|(s, l)| Some((s?, l?)))
        .zip(detail)
        .collect()
}

/// A run of consecutive requests' columns: a slice of the trace, or a row group as it is read.
struct Rows<'a> {
    classes: &'a [u16],
    origins: &'a [u16],
    inputs: &'a [u32],
    cached: Option<&'a [u32]>,
    outputs: &'a [u32],
}

impl Rows<'_> {
    /// Requests `start..start + len` of `trace`.
    fn of_trace(trace: &Trace, start: usize, len: usize) -> Rows<'_> {
        let range = start..start + len;
        Rows {
            classes: &trace.class[range.clone()],
            origins: &trace.origin[range.clone()],
            inputs: &trace.input_tokens[range.clone()],
            cached: trace.cached_input_tokens.as_deref().map(|c| &c[range.clone()]),
            outputs: &trace.output_tokens[range],
        }
    }
}

impl Engine<'_> {
    /// Requests `start..start + rows.len()`: each one's kept outcome columns are written into the
    /// run's slices, and `observer` sees it.
    #[inline(always)]
    fn run_rows<O: Observer>(
        &self,
        start: usize,
        rows: Rows<'_>,
        kept: Option<Served<'_>>,
        detail: Option<Detail<'_>>,
        observer: &mut O,
    ) {
        let len = rows.classes.len();
        // Equal-length slices up front let the compiler drop per-element bounds checks.
        let (classes, origins) = (&rows.classes[..len], &rows.origins[..len]);
        let (inputs, outputs) = (&rows.inputs[..len], &rows.outputs[..len]);
        let cached = rows.cached.map(|c| &c[..len]);
        let mut kept = kept.map(|(s, l)| (&mut s[..len], &mut l[..len]));
        let mut detail = detail.map(|(p, a, s)| (&mut p[..len], &mut a[..len], &mut s[..len]));
        for k in 0..len {
            let one = self.run(start + k, classes[k], origins[k], outputs[k]);
            if let Some((served, latency)) = &mut kept {
                served[k] = one.served;
                latency[k] = one.latency_s;
            }
            if let Some((primary, attempts, status)) = &mut detail {
                primary[k] = one.primary;
                attempts[k] = one.attempts;
                status[k] = one.status;
            }
            let tokens = [inputs[k], cached.map_or(0, |c| c[k]), outputs[k]];
            observer.observe(RequestOutcome {
                segment: one.segment,
                target: one.target,
                attempts: one.attempts,
                status: one.status,
                served: one.served,
                latency_s: one.latency_s,
                tokens,
            });
        }
    }
}

/// [`replay`] with an observer per worker (merged and returned) and `progress` called with the
/// number of requests finished in each completed chunk (from worker threads).
pub fn replay_observed<O: Observer>(
    catalog: &Catalog,
    table: &RoutingTable,
    trace: &Trace,
    opts: &ReplayOptions,
    keep: Keep,
    new_observer: &(dyn Fn() -> O + Sync),
    progress: &(dyn Fn(u64) + Sync),
) -> (Outcomes, O) {
    replay_observed_reusing(catalog, table, trace, opts, keep, Outcomes::default(), new_observer, progress)
}

/// [`replay_observed`] writing each outcome column into the memory of `reuse`'s column of the same
/// type where that is long enough (the result is the same): the previous replicate's outcomes, or
/// the trace's timestamps as `latency_s` once nothing needs them. Memory already written costs
/// nothing to touch again; fresh memory is first zeroed by the kernel, page by page, which on a
/// shared VM can cost more than the replay that writes it.
#[allow(clippy::too_many_arguments)]
pub fn replay_observed_reusing<O: Observer>(
    catalog: &Catalog,
    table: &RoutingTable,
    trace: &Trace,
    opts: &ReplayOptions,
    keep: Keep,
    reuse: Outcomes,
    new_observer: &(dyn Fn() -> O + Sync),
    progress: &(dyn Fn(u64) + Sync),
) -> (Outcomes, O) {
    let n = trace.len();
    let engine = Engine::new(catalog, table, opts);
    let mut out = new_outcomes(n, keep, opts, reuse);
    let sizes: Vec<usize> = (0..n).step_by(CHUNK).map(|start| CHUNK.min(n - start)).collect();
    let observer = outcome_runs(&mut out, &sizes)
        .into_par_iter()
        .enumerate()
        // At least 8 chunks per task: each task starts a fresh observer, and fewer of them means
        // less to allocate and merge (results do not depend on the split).
        .with_min_len(8)
        .fold(new_observer, |mut observer, (chunk, (kept, detail))| {
            let (start, len) = (chunk * CHUNK, sizes[chunk]);
            engine.run_rows(start, Rows::of_trace(trace, start, len), kept, detail, &mut observer);
            progress(len as u64);
            observer
        })
        .reduce(new_observer, O::merge);
    (out, observer)
}

/// One row group's token columns, as a reader hands them to [`replay_groups`]: requests
/// `first_row..first_row + outputs.len()` of the trace.
#[derive(Debug, Clone, Copy)]
pub struct GroupTokens<'a> {
    pub first_row: usize,
    pub inputs: &'a [u32],
    pub cached: Option<&'a [u32]>,
    pub outputs: &'a [u32],
}

/// Where one row group's outcomes go: handed out by [`replay_groups`], one per group, and given
/// back with that group's tokens.
pub struct GroupSlot<'a>(Option<Served<'a>>, Option<Detail<'a>>);

/// One step of [`replay_groups`]: replay a row group's requests into its slot.
pub type GroupStep<'s, O> = dyn Fn(&mut O, GroupSlot<'s>, GroupTokens<'_>) + Sync + 's;

/// [`replay_observed`] of a trace whose token columns arrive by row group as a reader decodes
/// them, so that they are never held whole. `segments` holds the trace's classes and origins
/// (which `table` was bound to), `sizes` the rows of each group in file order. `fold` is the
/// reader's: it gets one [`GroupSlot`] per group and must call the step once per group, in any
/// order and from any thread, with that group's slot and tokens, merging observers with
/// [`Observer::merge`]; `Ok(None)` from it (the file is not fit for this: a bad cell, rows out of
/// time order) is passed on. The engine does no IO: it never sees the reader.
#[allow(clippy::too_many_arguments)]
pub fn replay_groups<O: Observer>(
    catalog: &Catalog,
    table: &RoutingTable,
    segments: &Trace,
    sizes: &[usize],
    opts: &ReplayOptions,
    keep: Keep,
    progress: &(dyn Fn(u64) + Sync),
    fold: impl for<'s> FnOnce(Vec<GroupSlot<'s>>, &GroupStep<'s, O>) -> Result<Option<O>>,
) -> Result<Option<(Outcomes, O)>> {
    assert_eq!(segments.len(), sizes.iter().sum::<usize>(), "segments must be the groups' own");
    let engine = Engine::new(catalog, table, opts);
    let mut out = new_outcomes(segments.len(), keep, opts, Outcomes::default());
    let slots = outcome_runs(&mut out, sizes).into_iter().map(|(kept, detail)| GroupSlot(kept, detail)).collect();
    let step = |observer: &mut O, GroupSlot(kept, detail): GroupSlot<'_>, rows: GroupTokens<'_>| {
        let (start, len) = (rows.first_row, rows.outputs.len());
        let rows = Rows {
            classes: &segments.class[start..start + len],
            origins: &segments.origin[start..start + len],
            inputs: rows.inputs,
            cached: rows.cached,
            outputs: rows.outputs,
        };
        engine.run_rows(start, rows, kept, detail, observer);
        progress(len as u64);
    };
    let observer = fold(slots, &step)?;
    Ok(observer.map(|observer| (out, observer)))
}
