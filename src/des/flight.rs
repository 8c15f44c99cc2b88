//! The record the event loop keeps per request in flight (or hedge attempt): where it is in its
//! fallback chain, its current attempt and its draws, and the state of its hedge. Plain data;
//! the loop (`sim.rs`) moves it from state to state.

use crate::engine::Status;
use crate::engine::rng::RequestRng;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum State {
    Queued,
    InService,
    /// Between attempts (a backoff), or finished.
    Waiting,
    /// Its own attempt failed; its hedge is still running.
    AwaitHedge,
}

/// A request, or the hedge attempt of the request in slot `parent` (trace index `request`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Role {
    Request,
    Hedge { parent: u32, request: u64 },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum HedgeState {
    None,
    /// Running in this slot.
    Live(u32),
    Done,
}

#[derive(Debug, Clone)]
pub(super) struct InFlight {
    /// Trace index (over the whole trace, also when it is streamed in chunks).
    pub(super) request: u64,
    /// What the engine needs of the request's trace row, copied at arrival so that a streamed
    /// chunk can be dropped while its requests are still in flight.
    pub(super) input_tokens: u32,
    pub(super) output_tokens: u32,
    pub(super) cached_input_tokens: u32,
    pub(super) segment: u32,
    pub(super) origin: u16,
    pub(super) rng: RequestRng,
    pub(super) rule: u16,
    pub(super) target: u16,
    /// `rule.targets[target]`, and the rule's per-attempt timeout (copied: read at every attempt).
    pub(super) primary: u16,
    pub(super) timeout_s: f64,
    /// Position in the chain: 0 = the primary, k = fallback k.
    pub(super) chain_pos: u16,
    pub(super) retries_here: u32,
    pub(super) endpoint: u16,
    pub(super) token: u32,
    pub(super) state: State,
    /// Latency so far (waits, wasted attempts, backoffs).
    pub(super) wasted_s: f64,
    pub(super) wait_total_s: f64,
    // The current attempt.
    pub(super) enqueued_at: f64,
    pub(super) ok: bool,
    pub(super) ttft: f64,
    pub(super) decode: f64,
    /// Outcome decided when the attempt took its slot, and its time on the client's clock.
    pub(super) pending: Status,
    pub(super) wait: f64,
    pub(super) duration: f64,
    pub(super) last_status: Status,
    pub(super) arrival_s: f64,
    pub(super) role: Role,
    pub(super) hedge: HedgeState,
    /// Chain position taken by the hedge (0: none).
    pub(super) hedge_pos: u16,
    /// When the attempt in service ends.
    pub(super) end_at: f64,
}
