//! Engines replay a trace through a routing table and record what happened to each request.
//!
//! [`replay()`] is the stateless Monte Carlo engine of `SEMANTICS.md` section 3, generalised to
//! fallback chains and per-attempt timeouts. No IO and no clock: the same inputs, seed and replicate
//! give identical [`Outcomes`] at any thread count, because each request's random stream is keyed by
//! (seed, replicate, request index) rather than by which thread runs it.
//!
//! Per request, in this order: one uniform picks the primary by the rule's cumulative weights; then
//! per attempt one uniform decides success (`u < availability`), one time-to-first-token draw is
//! taken whether the attempt succeeds or not, and a successful attempt with a lognormal decode speed
//! draws its speed. A failed attempt wastes its TTFT; an attempt that would exceed the rule's timeout
//! fails at the timeout and wastes the whole timeout. The next endpoint of the fallback chain is then
//! tried, up to the rule's attempt limit. A successful attempt's latency is its TTFT plus the RTT
//! between the request's origin and the endpoint's region plus output tokens over decode speed, and
//! the request's latency adds every wasted time before it. Only the successful attempt is billed.

pub mod replay;
pub mod rng;

pub use replay::{
    GroupSlot, GroupStep, GroupTokens, Keep, NoObserver, Observer, ReplayOptions, replay, replay_groups,
    replay_observed, replay_observed_reusing,
};

/// One request's outcome as an engine reports it to an [`Observer`] (a metrics collector counts
/// it: `metrics::Collector::add`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RequestOutcome {
    /// `class * n_origins + origin`.
    pub segment: usize,
    /// Position of the primary among the rule's targets.
    pub target: usize,
    /// Endpoints of the fallback chain tried (1 = no fallback), as in [`Outcomes::attempts`].
    pub attempts: u8,
    pub status: Status,
    /// Serving endpoint, or [`NOT_SERVED`].
    pub served: u16,
    pub latency_s: f64,
    /// Token counts `[input, cached input, output]`, given rather than read from the trace (for an
    /// engine fed the trace in chunks).
    pub tokens: [u32; 3],
}

/// What became of one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[repr(u8)]
pub enum Status {
    /// Served (possibly after fallbacks).
    Ok = 0,
    /// Every attempt failed; the last with an error.
    Failed = 1,
    /// Every attempt failed; the last by exceeding the timeout.
    TimedOut = 2,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Ok => "ok",
            Status::Failed => "failed",
            Status::TimedOut => "timeout",
        }
    }
}

/// Marker in [`Outcomes::served`] for a request that was not served.
pub const NOT_SERVED: u16 = u16::MAX;

/// Per-request results, columnar, in trace order.
///
/// `primary`, `attempts` and `status` are empty when the engine ran with [`Keep::Served`]
/// (see [`Outcomes::has_detail`]); every column is empty under [`Keep::Nothing`].
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Outcomes {
    /// The endpoint of the first attempt.
    pub primary: Vec<u16>,
    /// The endpoint that served the request, or [`NOT_SERVED`].
    pub served: Vec<u16>,
    /// Attempts made (1 = no fallback).
    pub attempts: Vec<u8>,
    pub status: Vec<Status>,
    /// Seconds from arrival to the full response; for unserved requests, to the last failure.
    pub latency_s: Vec<f64>,
    /// The seed and replicate that produced these outcomes.
    pub seed: u64,
    pub replicate: u32,
}

impl Outcomes {
    pub fn len(&self) -> usize {
        self.served.len()
    }
    pub fn is_empty(&self) -> bool {
        self.served.is_empty()
    }
    /// Whether `primary`, `attempts` and `status` were kept ([`Keep::All`]).
    pub fn has_detail(&self) -> bool {
        self.primary.len() == self.served.len()
    }

    /// Dollars billed for each request: the serving endpoint's prices times the request's tokens
    /// (0 for unserved requests; failed attempts are not billed). Not stored, since it follows
    /// from the served endpoint.
    pub fn costs_usd(&self, catalog: &crate::catalog::Catalog, trace: &crate::trace::Trace) -> Vec<f64> {
        let cached = trace.cached_input_tokens.as_deref();
        (0..self.len())
            .map(|i| match self.served[i] {
                NOT_SERVED => 0.0,
                e => catalog.endpoints[e as usize].prices.cost_usd(
                    trace.input_tokens[i],
                    cached.map_or(0, |c| c[i]),
                    trace.output_tokens[i],
                ),
            })
            .collect()
    }
}
