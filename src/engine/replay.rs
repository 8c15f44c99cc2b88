//! The stateless Monte Carlo replay (see the module docs of [`crate::engine`]).

use rand::RngExt;
use rayon::prelude::*;

use super::rng::{RequestRng, stream_base};
use super::{NOT_SERVED, Outcomes, Status};
use crate::catalog::{Catalog, DecodeDist, LatencyDist};
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
    /// One request: its index, its segment (`class * n_origins + origin`), the position of its
    /// primary among the rule's targets, attempts made, final status, serving endpoint (or
    /// `NOT_SERVED`) and latency.
    #[allow(clippy::too_many_arguments)]
    fn observe(
        &mut self,
        request: usize,
        segment: usize,
        target: usize,
        attempts: u8,
        status: Status,
        served: u16,
        latency_s: f64,
    );
    /// Combine two observers' records.
    fn merge(self, other: Self) -> Self;
}

/// An observer that records nothing.
#[derive(Debug, Default, Clone, Copy)]
pub struct NoObserver;

impl Observer for NoObserver {
    #[inline]
    fn observe(&mut self, _: usize, _: usize, _: usize, _: u8, _: Status, _: u16, _: f64) {}
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
    /// fresh process every written page is first zeroed by the kernel.
    Served,
}

/// Replay every request of `trace` through `table`.
pub fn replay(catalog: &Catalog, table: &RoutingTable, trace: &Trace, opts: &ReplayOptions) -> Outcomes {
    replay_observed(catalog, table, trace, opts, Keep::All, &|| NoObserver, &|_| {}).0
}

/// A chunk's slices of the columns that [`Keep::Served`] leaves out.
type Detail<'a> = (&'a mut [u16], &'a mut [u8], &'a mut [Status]);

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
    let n = trace.len();
    let endpoints: Vec<EndpointModel> = catalog
        .endpoints
        .iter()
        .map(|e| EndpointModel { ttft: &e.ttft, decode: &e.decode, availability: e.availability })
        .collect();
    let all = keep == Keep::All;
    let mut out = Outcomes {
        primary: if all { vec![0; n] } else { Vec::new() },
        served: vec![0; n],
        attempts: if all { vec![0; n] } else { Vec::new() },
        // A parallel fill: `vec![Status::Ok; n]` would write every byte on one thread first.
        status: if all { (0..n).into_par_iter().map(|_| Status::Ok).collect() } else { Vec::new() },
        latency_s: vec![0.0; n],
        seed: opts.seed,
        replicate: opts.replicate,
    };
    let base = stream_base(opts.seed, opts.replicate);
    // The rule of each segment, resolved once (absent segments never occur in the trace).
    let segment_rules: Vec<&BoundRule> =
        table.segment_rule.iter().map(|&r| &table.rules[if r == u16::MAX { 0 } else { r as usize }]).collect();
    let mut detail: Vec<Option<Detail>> = if all {
        out.primary
            .chunks_mut(CHUNK)
            .zip(out.attempts.chunks_mut(CHUNK))
            .zip(out.status.chunks_mut(CHUNK))
            .map(|((p, a), s)| Some((p, a, s)))
            .collect()
    } else {
        (0..n.div_ceil(CHUNK)).map(|_| None).collect()
    };
    let observer = out
        .served
        .par_chunks_mut(CHUNK)
        .zip(out.latency_s.par_chunks_mut(CHUNK))
        .zip(detail.par_iter_mut())
        .enumerate()
        // At least 8 chunks per task: each task starts a fresh observer, and fewer of them means
        // less to allocate and merge (results do not depend on the split).
        .with_min_len(8)
        .fold(new_observer, |mut observer, (chunk, ((served, latency), detail))| {
            let start = chunk * CHUNK;
            let len = served.len();
            // Equal-length slices up front let the compiler drop per-element bounds checks.
            let (classes, origins) = (&trace.class[start..start + len], &trace.origin[start..start + len]);
            let outputs = &trace.output_tokens[start..start + len];
            let latency = &mut latency[..len];
            let mut detail = detail.as_mut().map(|(p, a, s)| (&mut p[..len], &mut a[..len], &mut s[..len]));
            for k in 0..len {
                let i = start + k;
                let origin = origins[k] as usize;
                let segment = classes[k] as usize * table.n_origins + origin;
                let rule = segment_rules[segment];
                let rtt = &table.rtt_s[origin];
                let output_tokens = outputs[k];
                let mut rng = RequestRng::from_base(base, i as u64);

                let target = rule.pick_index(rng.random::<f64>());
                let first = rule.targets[target];
                let fallbacks = &rule.fallbacks[target];
                let mut endpoint_idx = first;
                let mut wasted_s = 0.0;
                let mut n_attempts: u8 = 0;
                let final_status = loop {
                    n_attempts += 1;
                    let ep = &endpoints[endpoint_idx as usize];
                    let ok = rng.random::<f64>() < ep.availability;
                    let ttft = ep.ttft.sample(&mut rng);
                    let last_status = if ok {
                        let duration =
                            ttft + rtt[endpoint_idx as usize] + ep.decode.decode_time(output_tokens, &mut rng);
                        if duration <= rule.timeout_s {
                            served[k] = endpoint_idx;
                            latency[k] = wasted_s + duration;
                            break Status::Ok;
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
                    let next = n_attempts as usize - 1;
                    if next >= fallbacks.len() {
                        served[k] = NOT_SERVED;
                        latency[k] = wasted_s;
                        break last_status;
                    }
                    endpoint_idx = fallbacks[next];
                };
                if let Some((primary, attempts, status)) = &mut detail {
                    primary[k] = first;
                    attempts[k] = n_attempts;
                    status[k] = final_status;
                }
                observer.observe(i, segment, target, n_attempts, final_status, served[k], latency[k]);
            }
            progress(len as u64);
            observer
        })
        .reduce(new_observer, O::merge);
    (out, observer)
}
