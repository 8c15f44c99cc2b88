//! One simulation run: a routing table replayed over a trace, replicate by replicate, in either
//! engine, summarised into [`Summary`]s. Every caller runs simulations through here: `simulate`
//! (both engines, the counterfactual, a Parquet trace replayed as it is read, a streamed trace),
//! `optimize`'s verification, `demo` and `compare`. This is the one replicate loop.
//!
//! Replicate `r` draws from the streams of `(seed, r)` ([`crate::engine::rng`]), so two policies
//! run with the same seed see the same random numbers request by request (common random numbers),
//! and results do not depend on the thread count.
//!
//! The run does no printing and keeps no clock: a [`Watch`] sees progress and phase ends.

use std::path::Path;

use rayon::prelude::*;

use crate::catalog::Catalog;
use crate::des::{self, DesOptions, DesStats, Scenario, TimeSeries};
use crate::engine::{self, GroupTokens, Keep, Outcomes, ReplayOptions};
use crate::error::Result;
use crate::metrics::{self, Summary};
use crate::policy::RoutingTable;
use crate::recorded::{self, Kept};
use crate::trace::{self, ParquetGroups, ReadOptions, Trace};

/// How latency quantiles are computed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum Quantiles {
    /// Exact type 7 (numpy's default): keeps every served latency for a selection pass.
    #[default]
    Exact,
    /// A quantile sketch, within a relative 2^-11 (0.049%) of exact: no per-request memory.
    Sketch,
}

impl Quantiles {
    /// As the JSON report's `inputs.quantiles` names it.
    pub fn label(self) -> &'static str {
        match self {
            Quantiles::Exact => "exact",
            Quantiles::Sketch => "sketch",
        }
    }

    /// The outcome columns to keep: every one for per-request output (`all`), else what the
    /// summary reads (served endpoint and latency for exact quantiles, nothing for a sketch).
    fn keep(self, all: bool) -> Keep {
        match (all, self) {
            (true, _) => Keep::All,
            (false, Quantiles::Exact) => Keep::Served,
            (false, Quantiles::Sketch) => Keep::Nothing,
        }
    }

    /// A fresh metrics collector for one engine worker.
    fn collector<'c>(self, ctx: &'c metrics::Context<'c>) -> metrics::Collector<'c> {
        match self {
            Quantiles::Exact => ctx.collector(),
            Quantiles::Sketch => ctx.sketching_collector(),
        }
    }

    /// The summary of one replicate from its outcomes (kept as [`Quantiles::keep`] says) and what
    /// its collectors saw.
    fn summarize(
        self,
        ctx: &metrics::Context<'_>,
        trace: &Trace,
        outcomes: &Outcomes,
        collected: metrics::Collector<'_>,
    ) -> Summary {
        match self {
            Quantiles::Exact => ctx.summarize(outcomes, collected),
            Quantiles::Sketch => {
                let (n, skipped) = (trace.len() as u64, trace.skipped_rows as u64);
                ctx.summarize_sketched(collected, n, skipped, outcomes.seed, outcomes.replicate)
            }
        }
    }
}

/// Which engine runs the replicates.
#[derive(Debug, Clone, Copy)]
pub enum Engine<'a> {
    /// The stateless Monte Carlo replay ([`crate::engine`]).
    Replay,
    /// The discrete-event engine under a scenario ([`crate::des`]).
    Des(&'a Scenario),
}

/// What a run replays: a catalog, a routing table bound to the trace's classes and origins, and
/// the trace.
#[derive(Clone, Copy)]
pub struct Inputs<'a> {
    pub catalog: &'a Catalog,
    pub table: &'a RoutingTable,
    pub trace: &'a Trace,
}

/// How a run replays.
#[derive(Debug, Clone, Copy)]
pub struct RunSpec<'a> {
    pub engine: Engine<'a>,
    pub seed: u64,
    pub replicates: u32,
    pub quantiles: Quantiles,
    /// Requests routed where they were recorded keep their recorded outcome ([`recorded`]);
    /// replay engine and exact quantiles only.
    pub counterfactual: bool,
    /// Keep the first replicate's outcome columns (per-request output).
    pub keep_first: bool,
}

impl RunSpec<'_> {
    /// One replicate of the replay engine with exact quantiles.
    pub fn replay(seed: u64, replicates: u32) -> RunSpec<'static> {
        RunSpec {
            engine: Engine::Replay,
            seed,
            replicates,
            quantiles: Quantiles::Exact,
            counterfactual: false,
            keep_first: false,
        }
    }
}

/// Sees a run's progress: `advance` from worker threads with requests finished, `phase` on this
/// thread when a phase ends (`replay`, `simulate`, `metrics`).
pub trait Watch: Sync {
    fn advance(&self, _requests: u64) {}
    fn phase(&self, _name: &str) {}
}

/// A watch that sees nothing.
pub struct Unwatched;
impl Watch for Unwatched {}

/// The discrete-event engine's figures of one replicate beyond the summary.
#[derive(Debug, Clone)]
pub struct DesExtras {
    pub stats: DesStats,
    pub series: TimeSeries,
    /// Scripted incidents as (name, start, end) on the trace's clock.
    pub incidents: Vec<(String, f64, f64)>,
}

/// A finished run: per replicate its summary, the discrete-event figures (that engine only) and
/// what the caller's look at its outcomes returned.
#[derive(Debug)]
pub struct Run<T = ()> {
    pub summaries: Vec<Summary>,
    pub des: Vec<DesExtras>,
    pub looks: Vec<T>,
    /// The first replicate's outcomes, when [`RunSpec::keep_first`] asked for them.
    pub first: Option<Outcomes>,
    /// The counterfactual's first replicate: which requests kept their recorded outcome.
    pub kept: Option<Kept>,
}

/// Run `spec.replicates` replicates of `inputs` and summarise each.
pub fn simulate(inputs: Inputs<'_>, spec: &RunSpec<'_>, watch: &dyn Watch) -> Result<Run> {
    let run = simulate_looking::<()>(inputs, spec, watch, None)?;
    Ok(Run { summaries: run.summaries, des: run.des, looks: Vec::new(), first: run.first, kept: run.kept })
}

/// [`simulate`], also handing each replicate's outcomes to `look` (which may read the served
/// endpoint and latency of every request, whatever the quantile method) and keeping its answers
/// (`None` per replicate without a look).
pub fn simulate_looking<T: Send>(
    inputs: Inputs<'_>,
    spec: &RunSpec<'_>,
    watch: &dyn Watch,
    look: Option<&(dyn Fn(&Outcomes) -> T + Sync)>,
) -> Result<Run<Option<T>>> {
    let Inputs { catalog, table, trace } = inputs;
    let ctx = metrics::Context::new(catalog, table, trace);
    let quantiles = spec.quantiles;
    let keep_for = |replicate: u32| {
        match quantiles.keep(spec.keep_first && replicate == 0) {
            // A look reads served endpoints and latencies, which a sketch would not keep.
            Keep::Nothing if look.is_some() => Keep::Served,
            keep => keep,
        }
    };
    let look = |outcomes: &Outcomes| look.map(|f| f(outcomes));
    let mut run = Run { summaries: Vec::new(), des: Vec::new(), looks: Vec::new(), first: None, kept: None };
    match spec.engine {
        Engine::Replay if spec.counterfactual => {
            for replicate in 0..spec.replicates {
                let mut outcomes = engine::replay(catalog, table, trace, &ReplayOptions { seed: spec.seed, replicate });
                let kept = recorded::counterfactual(catalog, trace, &mut outcomes);
                run.kept.get_or_insert(kept);
                run.summaries.push(metrics::summarize(catalog, table, trace, &outcomes));
                run.looks.push(look(&outcomes));
                watch.advance(trace.len() as u64);
                if spec.keep_first && replicate == 0 {
                    run.first = Some(outcomes);
                }
            }
            watch.phase("replay");
        }
        Engine::Replay => {
            // The first replicate writes its outcomes into the trace-sized memory of `spare` where
            // it can, each later one into the previous one's ([`engine::replay_observed_reusing`]).
            let mut spare = Outcomes::default();
            for replicate in 0..spec.replicates {
                let opts = ReplayOptions { seed: spec.seed, replicate };
                let collector = || quantiles.collector(&ctx);
                let reuse = std::mem::take(&mut spare);
                let (outcomes, collected) = engine::replay_observed_reusing(
                    catalog,
                    table,
                    trace,
                    &opts,
                    keep_for(replicate),
                    reuse,
                    &collector,
                    &|k| watch.advance(k),
                );
                watch.phase("replay");
                run.summaries.push(quantiles.summarize(&ctx, trace, &outcomes, collected));
                run.looks.push(look(&outcomes));
                watch.phase("metrics");
                if spec.keep_first && replicate == 0 {
                    run.first = Some(outcomes);
                } else {
                    spare = outcomes;
                }
            }
        }
        Engine::Des(scenario) => {
            // Replicates in parallel, each event loop on one thread; with fewer replicates than
            // threads each loop gets a helper thread (draws made ahead of it, finished requests
            // summed behind it). The metrics' collector rides along in the event loop.
            let spare_core = (spec.replicates as usize) < rayon::current_num_threads();
            let collector = || quantiles.collector(&ctx);
            let observed: Vec<(des::DesRun, metrics::Collector<'_>)> = (0..spec.replicates)
                .into_par_iter()
                .map(|replicate| {
                    let opts = DesOptions { seed: spec.seed, replicate };
                    let keep = keep_for(replicate);
                    let progress = |k| watch.advance(k);
                    des::simulate_kept(catalog, table, trace, scenario, &opts, keep, collector(), spare_core, &progress)
                })
                .collect::<Result<_>>()?;
            watch.phase("simulate");
            for (replicate, (des_run, collected)) in observed.into_iter().enumerate() {
                run.summaries.push(quantiles.summarize(&ctx, trace, &des_run.outcomes, collected));
                run.looks.push(look(&des_run.outcomes));
                let des::DesRun { outcomes, stats, series, incidents } = des_run;
                run.des.push(DesExtras { stats, series, incidents });
                if spec.keep_first && replicate == 0 {
                    run.first = Some(outcomes);
                }
            }
            watch.phase("metrics");
        }
    }
    Ok(run)
}

/// One replicate of the replay engine over a Parquet trace as it is read: `segments` is the
/// file's classes and origins ([`ParquetGroups::segments`]), which `table` was bound to, and each
/// row group's token columns are decoded and replayed in one step, so that they are never held
/// whole. The same summary as reading the trace and replaying it. `Ok(None)` when the file is not
/// fit for it (a bad cell, rows out of time order): read the whole trace and [`simulate`].
pub fn replay_as_read(
    catalog: &Catalog,
    table: &RoutingTable,
    segments: &Trace,
    groups: &ParquetGroups,
    seed: u64,
    quantiles: Quantiles,
    watch: &dyn Watch,
) -> Result<Option<Summary>> {
    let ctx = metrics::Context::new(catalog, table, segments);
    let opts = ReplayOptions { seed, replicate: 0 };
    let collector = || quantiles.collector(&ctx);
    let progress = |k| watch.advance(k);
    let replayed =
        replay_groups_as_read(catalog, table, segments, groups, &opts, quantiles.keep(false), &collector, &progress)?;
    watch.phase("replay");
    let summary = replayed.map(|(outcomes, collected)| quantiles.summarize(&ctx, segments, &outcomes, collected));
    watch.phase("metrics");
    Ok(summary)
}

/// [`engine::replay_groups`] fed by `groups` as the reader decodes them: the outcomes (as `keep`
/// says) and the merged observers, `Ok(None)` when the file is not fit for it.
#[allow(clippy::too_many_arguments)]
pub fn replay_groups_as_read<O: engine::Observer>(
    catalog: &Catalog,
    table: &RoutingTable,
    segments: &Trace,
    groups: &ParquetGroups,
    opts: &ReplayOptions,
    keep: Keep,
    new_observer: &(dyn Fn() -> O + Sync),
    progress: &(dyn Fn(u64) + Sync),
) -> Result<Option<(Outcomes, O)>> {
    engine::replay_groups(catalog, table, segments, groups.group_sizes(), opts, keep, progress, |slots, step| {
        groups.fold(
            slots,
            new_observer,
            |observer, slot, rows| {
                let tokens = GroupTokens {
                    first_row: rows.first_row,
                    inputs: rows.input_tokens,
                    cached: rows.cached_input_tokens,
                    outputs: rows.output_tokens,
                };
                step(observer, slot, tokens)
            },
            O::merge,
        )
    })
}

/// A trace streamed through the discrete-event engine: checked in a first pass
/// ([`trace::stream::scan`]), then read in chunks of `chunk_rows` by each replicate's own reader,
/// metrics collected as requests finish (quantiles sketched). State stays proportional to the
/// requests in flight, not to the trace.
pub struct Streamed<'a> {
    pub path: &'a Path,
    pub read: &'a ReadOptions,
    pub chunk_rows: usize,
    pub shape: &'a trace::stream::StreamShape,
}

/// Replicates of a streamed trace (see [`Streamed`]): the inputs' trace is the shape's classes
/// and origins ([`trace::stream::StreamShape::names_trace`]), which the table was bound to.
/// Quantiles are sketched: nothing keeps the latencies.
pub fn simulate_streamed(
    inputs: Inputs<'_>,
    input: &Streamed<'_>,
    scenario: &Scenario,
    seed: u64,
    replicates: u32,
    watch: &dyn Watch,
) -> Result<Run> {
    let Inputs { catalog, table, trace: names } = inputs;
    let ctx = metrics::Context::new(catalog, table, names);
    let shape = input.shape;
    let runs: Vec<(Summary, des::StreamRun)> = (0..replicates)
        .into_par_iter()
        .map(|replicate| -> Result<(Summary, des::StreamRun)> {
            let opts = DesOptions { seed, replicate };
            let first = shape.first_timestamp_s;
            let mut run = des::Stream::new(catalog, table, scenario, &opts, first, ctx.sketching_collector());
            for chunk in shape.chunks(input.path, input.read, input.chunk_rows)? {
                run.feed(&chunk?, &|k| watch.advance(k))?;
            }
            let (collected, stream_run) = run.finish(&|k| watch.advance(k))?;
            let summary = ctx.summarize_sketched(collected, shape.n_rows, shape.skipped_rows, seed, replicate);
            Ok((summary, stream_run))
        })
        .collect::<Result<Vec<_>>>()?;
    watch.phase("simulate");
    let mut run = Run { summaries: Vec::new(), des: Vec::new(), looks: Vec::new(), first: None, kept: None };
    for (summary, des::StreamRun { stats, series, incidents }) in runs {
        run.summaries.push(summary);
        run.des.push(DesExtras { stats, series, incidents });
    }
    Ok(run)
}
