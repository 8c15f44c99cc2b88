//! The discrete-event engine: time, finite capacity, rate limits, outages and the gateway's own
//! retry, fallback and cooldown logic.
//!
//! It shares the catalog, the bound policy ([`RoutingTable`]), the trace and the outcomes layout
//! ([`Outcomes`], so `metrics` and `report` work unchanged) with the replay engine, and adds what
//! only time can show. No IO and no clock; one replicate runs on one thread, and every random
//! stream is keyed by what it serves (request index; availability process index), so the same
//! inputs, seed and replicate give identical results whatever runs beside it.
//!
//! Per request (SEMANTICS.md section 5, generalised):
//!
//! * It **arrives** at its trace timestamp; the primary is drawn from the rule's weights with the
//!   request's first uniform, as in the replay engine. With a cooldown configured, targets that
//!   are cooling down are left out and the same uniform picks among the others by their weights
//!   (LiteLLM removes cooled-down deployments from the pool). A load-aware strategy
//!   ([`scenario::Strategy`]: least-busy, lowest-latency, cheapest-first) picks instead (the
//!   uniform is still drawn, so the streams stay aligned).
//! * An **attempt** at endpoint `e` first meets the rate limits: rpm and tpm are token buckets
//!   (capacity = the per-minute limit, refilled continuously at limit/60 per second; tpm counts
//!   input + output tokens). A request that does not fit gets a 429 at once, with a retry-after
//!   equal to the time until the buckets hold enough. Then the attempt's draws are taken (success
//!   `u < availability` and not down; TTFT; decode time if successful; both multiplied by the
//!   endpoint's current latency multiplier) and it takes a slot, or waits in the endpoint's FIFO
//!   queue if all `max_concurrency` slots are busy.
//! * A slot is held for the TTFT (failed attempt) or TTFT + decode (successful), both multiplied by
//!   the scenario's slowdown curve at the endpoint's utilisation when the attempt takes its slot. The attempt
//!   **times out** if wait + TTFT (+ RTT + decode when successful) exceeds the rule's per-attempt
//!   timeout (the replay engine's rule, with the wait added); it then ends at the timeout, and a
//!   queued attempt that reaches its timeout leaves the queue. RTT is added once to a served
//!   request's latency and does not delay anything.
//! * After a failed attempt (error, timeout, 429), the gateway **retries** the same endpoint up to
//!   `num_retries` times, after an exponential backoff or, for a 429 with `honor_retry_after`, after
//!   the retry-after; then moves to the next endpoint of the target's **fallback chain** at once.
//!   An endpoint with more than `allowed_fails` failures within `window_s` **cools down** for
//!   `cooldown_s`: attempts meant for it are skipped (no time, no attempt) in favour of the next
//!   fallback.
//! * A served request's latency is the sum of its waits, wasted attempt times, backoffs and the
//!   serving attempt's TTFT + RTT + decode; an unserved one's is its time until the last failure.
//!   Only the serving attempt is billed.
//! * **Hedging** (`hedge_after_s`): if a request's first attempt has not answered after that delay,
//!   a second attempt goes to the first endpoint of its fallback chain (which the chain then
//!   skips). The first success answers the request; a failure waits for the other attempt. The
//!   other attempt is abandoned: out of its queue if it waits, run to the end if it is in service
//!   (its slot stays busy, and a successful loser is billed, in `hedge_extra_cost_usd`).
//!
//! `Outcomes::attempts` holds the position in the fallback chain of the last endpoint tried, so that
//! the metrics' per-endpoint tables stay route-based; retries, 429s, skips and queue figures are in
//! [`DesStats`].
//!
//! Availability: besides the catalog's independent per-attempt failures, each endpoint and each
//! region may have an up/degraded/down Markov process ([`scenario::Process`]), and scripted
//! incidents switch an endpoint or a whole region down, multiply its latency, or scale its rate
//! limits. An endpoint is down when it, its region or an incident says so; attempts that start
//! while it is down fail (after their TTFT); attempts already running are not interrupted.
//!
//! With unlimited capacity, no limits, no processes and no retries this is exactly the replay
//! engine: the same per-request random stream is consumed in the same order (tested).

mod arrivals;
mod availability;
mod bucket;
pub mod event;
mod flight;
mod helper;
mod run;
pub mod scenario;
pub mod series;
mod sim;
mod sink;

pub use event::{Event, EventKind, EventQueue};
pub use run::{Stream, simulate, simulate_kept, simulate_observed};
pub use scenario::Scenario;
pub use series::TimeSeries;
pub use sink::{Done, Sink};

use crate::engine::Outcomes;

/// Seed and replicate of one run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DesOptions {
    pub seed: u64,
    pub replicate: u32,
}

impl Default for DesOptions {
    fn default() -> Self {
        DesOptions { seed: 42, replicate: 0 }
    }
}

/// Figures per endpoint.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct EndpointStats {
    /// Attempts that reached the endpoint (including 429s and retries; not cooldown skips).
    pub attempts: u64,
    pub rate_limited: u64,
    /// Attempts that waited in the queue (wait > 0).
    pub waited: u64,
    pub wait_s: f64,
    pub max_queue: u64,
    pub queue_timeouts: u64,
    /// Attempts skipped because the endpoint was cooling down.
    pub skipped_cooling: u64,
    pub cooldowns: u64,
    /// Seconds the endpoint was down (its own process, its region's, or an incident).
    pub down_s: f64,
    /// Seconds degraded (latency multiplier above 1 from a process).
    pub degraded_s: f64,
}

/// What the discrete-event run adds to the outcomes.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct DesStats {
    /// Events processed (arrivals included).
    pub events: u64,
    /// First arrival and last processed request event.
    pub sim_start_s: f64,
    pub sim_end_s: f64,
    pub attempts: u64,
    pub rate_limited: u64,
    pub retries: u64,
    pub queue_timeouts: u64,
    pub cooldowns: u64,
    pub skipped_cooling: u64,
    /// Requests with a total queue wait > 0, the sum of those waits, and the largest.
    pub requests_that_waited: u64,
    pub wait_s_total: f64,
    pub max_wait_s: f64,
    /// Largest number of requests in the system at once.
    pub max_in_flight: u64,
    /// Hedge attempts started, requests a hedge answered, and the dollars billed for attempts
    /// whose answer was not used (the loser of a hedge; not in the metrics' cost, which bills the
    /// serving attempt only).
    pub hedges: u64,
    pub hedge_wins: u64,
    pub hedge_extra_cost_usd: f64,
    pub per_endpoint: Vec<EndpointStats>,
}

/// One run: per-request outcomes (for `metrics`), run figures and the time series.
#[derive(Debug, Clone)]
pub struct DesRun {
    pub outcomes: Outcomes,
    pub stats: DesStats,
    pub series: TimeSeries,
    /// Scripted incidents as (name, start, end) on the trace's clock.
    pub incidents: Vec<(String, f64, f64)>,
}

/// What a run gives besides what its sink collected.
#[derive(Debug, Clone)]
pub struct StreamRun {
    pub stats: DesStats,
    pub series: TimeSeries,
    /// Scripted incidents as (name, start, end) on the trace's clock.
    pub incidents: Vec<(String, f64, f64)>,
}
