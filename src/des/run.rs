//! The engine's entry points: a run over a whole trace ([`simulate`], [`simulate_observed`],
//! [`simulate_kept`], with or without the helper thread) and a run fed the trace in chunks
//! ([`Stream`]). Each sets up the event loop (`sim.rs`) and its sinks and hands back what it made.

use super::arrivals::{Arrivals, InLoop, Prepare};
use super::helper::with_helper;
use super::sim::{Ended, Sim};
use super::sink::{Finished, Sink};
use super::{DesOptions, DesRun, Scenario, StreamRun};
use crate::catalog::Catalog;
use crate::engine::{Keep, Outcomes, Status};
use crate::error::Result;
use crate::policy::RoutingTable;
use crate::trace::Trace;

/// Run the discrete-event engine over `trace` (held whole; per-request outcomes kept).
pub fn simulate(
    catalog: &Catalog,
    table: &RoutingTable,
    trace: &Trace,
    scenario: &Scenario,
    opts: &DesOptions,
    progress: &dyn Fn(u64),
) -> Result<DesRun> {
    Ok(simulate_observed(catalog, table, trace, scenario, opts, (), progress)?.0)
}

/// [`simulate`], also handing every finished request to `sink` (a metrics collector, so that the
/// metrics' first pass happens while the loop runs).
pub fn simulate_observed<S: Sink + Send>(
    catalog: &Catalog,
    table: &RoutingTable,
    trace: &Trace,
    scenario: &Scenario,
    opts: &DesOptions,
    sink: S,
    progress: &dyn Fn(u64),
) -> Result<(DesRun, S)> {
    simulate_kept(catalog, table, trace, scenario, opts, Keep::All, sink, false, progress)
}

/// [`simulate_observed`], keeping only the outcome columns `keep` says: with [`Keep::Served`]
/// (what the metrics need) `primary`, `attempts` and `status` stay empty, so 10 of the 14 bytes a
/// request are written (and first zeroed by the kernel); with [`Keep::Nothing`] none (for a
/// sketching collector).
///
/// With `spare_core`, a helper thread beside the event loop makes the arrivals' draws ahead of it
/// and handles finished requests (their outcomes, the series' per-request figures and `sink`)
/// behind it (see [`with_helper`]); results are identical either way.
#[allow(clippy::too_many_arguments)]
pub fn simulate_kept<S: Sink + Send>(
    catalog: &Catalog,
    table: &RoutingTable,
    trace: &Trace,
    scenario: &Scenario,
    opts: &DesOptions,
    keep: Keep,
    sink: S,
    spare_core: bool,
    progress: &dyn Fn(u64),
) -> Result<(DesRun, S)> {
    let n = trace.len();
    let (all, served) = (keep == Keep::All, keep != Keep::Nothing);
    let outcomes = Outcomes {
        primary: if all { vec![0; n] } else { Vec::new() },
        // Every request finishes and is written; zeros are pages mapped on first touch, which is
        // the finishing thread's write.
        served: if served { vec![0; n] } else { Vec::new() },
        attempts: if all { vec![0; n] } else { Vec::new() },
        status: if all { vec![Status::Ok; n] } else { Vec::new() },
        latency_s: if served { vec![0.0; n] } else { Vec::new() },
        seed: opts.seed,
        replicate: opts.replicate,
    };
    let first = trace.timestamp_s.first().copied().unwrap_or(0.0);
    let finished = Finished::new(catalog, scenario, first, outcomes, sink);
    // The whole trace as one chunk, then every event until no request is left.
    fn run<K: Sink>(
        mut sim: Sim<'_, K>,
        trace: &Trace,
        arrivals: &mut impl Arrivals,
        progress: &dyn Fn(u64),
    ) -> Result<(Ended, K)> {
        sim.run_chunk(trace, arrivals, progress);
        let (sink, ended) = sim.end(progress)?;
        Ok((ended, sink))
    }
    let (ended, finished) = if spare_core {
        // Two threads: the loop, and a helper making draws ahead of it and finishing requests
        // after it.
        let prepare = Prepare::new(catalog, table, opts);
        with_helper(finished, &prepare, trace, |batches, mut ahead| {
            run(Sim::new(catalog, table, scenario, opts, first, batches), trace, &mut ahead, progress)
        })?
    } else {
        run(Sim::new(catalog, table, scenario, opts, first, finished), trace, &mut InLoop, progress)?
    };
    let Finished { outcomes, series, sink } = finished;
    let r = ended.with(series);
    Ok((DesRun { outcomes, stats: r.stats, series: r.series, incidents: r.incidents }, sink))
}

/// A run fed the trace in consecutive chunks: state proportional to the requests in flight, not
/// to the trace. Each chunk's arrivals are interleaved with the scheduled events exactly as in a
/// run over the whole trace (an arrival waits for every event at or before its time, and events
/// after the chunk's last arrival wait for the next chunk), so any chunking gives the same result.
pub struct Stream<'a, S: Sink> {
    sim: Sim<'a, Finished<S>>,
}

impl<'a, S: Sink> Stream<'a, S> {
    /// A run whose first arrival is at `first_s` (it starts the clock, the time series and the
    /// scripted incidents' day). Finished requests go to `sink`.
    pub fn new(
        catalog: &'a Catalog,
        table: &'a RoutingTable,
        scenario: &'a Scenario,
        opts: &DesOptions,
        first_s: f64,
        sink: S,
    ) -> Stream<'a, S> {
        let finished = Finished::new(catalog, scenario, first_s, Outcomes::default(), sink);
        Stream { sim: Sim::new(catalog, table, scenario, opts, first_s, finished) }
    }

    /// The next chunk of the trace: its rows are the next requests in trace order (their indices
    /// continue from the previous chunk's), with class and origin codes of the names the routing
    /// table was bound to. Timestamps must not decrease, within a chunk and from one to the next.
    ///
    /// Fails if the run needs more events than the event queue can order (see
    /// [`super::event::MAX_PENDING_EVENTS`]); the run is then not usable.
    pub fn feed(&mut self, chunk: &Trace, progress: &dyn Fn(u64)) -> Result<()> {
        self.sim.run_chunk(chunk, &mut InLoop, progress);
        self.sim.check_queue()
    }

    /// Run the requests still in flight to their end.
    pub fn finish(self, progress: &dyn Fn(u64)) -> Result<(S, StreamRun)> {
        let (finished, ended) = self.sim.end(progress)?;
        Ok((finished.sink, ended.with(finished.series)))
    }

    /// The same run with smaller event-queue limits (events per run, pending at once), so that
    /// tests can reach them; at most the queue's own.
    #[doc(hidden)]
    pub fn with_event_limits(mut self, max_events: u64, max_pending: u32) -> Stream<'a, S> {
        self.sim.queue.set_limits(max_events, max_pending);
        self
    }

    /// Requests fed so far.
    pub fn fed(&self) -> u64 {
        self.sim.next_request
    }

    /// Requests (and hedge or abandoned attempts) in the system now, and the most there were.
    pub fn in_flight(&self) -> (u64, u64) {
        (self.sim.live + self.sim.live_aux, self.sim.stats.max_in_flight)
    }

    /// Slots the engine's request table has ever held: its memory, in requests.
    pub fn state_slots(&self) -> usize {
        self.sim.slab.len()
    }
}
