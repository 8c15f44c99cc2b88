//! Where finished requests go: [`Done`], the [`Sink`] trait and its implementations (outcome
//! columns, the metrics' collector, the series' per-request figures, pairs and nothing), and
//! `Finished`, everything a run hands its finished requests to.

use super::scenario::Scenario;
use super::series::FinishedSeries;
use crate::catalog::Catalog;
use crate::engine::{NOT_SERVED, Outcomes, Status};
use crate::metrics::RequestOutcome;

/// What the engine hands its [`Sink`] when a request is over.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Done {
    /// `class * n_origins + origin`.
    pub segment: u32,
    /// Position of the primary among the rule's targets, and the primary endpoint.
    pub target: u16,
    pub primary: u16,
    /// Position in the fallback chain of the last endpoint tried, plus one.
    pub attempts: u8,
    pub status: Status,
    /// Serving endpoint, or [`NOT_SERVED`].
    pub served: u16,
    pub latency_s: f64,
    /// When it finished (seconds on the trace's clock).
    pub finish_s: f64,
    pub input_tokens: u32,
    pub cached_input_tokens: u32,
    pub output_tokens: u32,
}

/// Where finished requests go: per-request outcomes, a metrics collector, or both. Requests are
/// handed over in the order they finish (not trace order), each once, by trace index.
pub trait Sink {
    fn request_done(&mut self, request: u64, done: &Done);
}

impl Sink for Outcomes {
    #[inline]
    fn request_done(&mut self, request: u64, d: &Done) {
        let i = request as usize;
        // Empty under `Keep::Nothing` (see `simulate_kept`).
        if self.served.is_empty() {
            return;
        }
        self.served[i] = d.served;
        self.latency_s[i] = d.latency_s;
        // Empty under `Keep::Served`.
        if !self.primary.is_empty() {
            self.primary[i] = d.primary;
            self.attempts[i] = d.attempts;
            self.status[i] = d.status;
        }
    }
}

impl<A: Sink, B: Sink> Sink for (A, B) {
    #[inline]
    fn request_done(&mut self, request: u64, d: &Done) {
        self.0.request_done(request, d);
        self.1.request_done(request, d);
    }
}

/// The metrics' collector, fed as requests finish (the cells are integer sums, so the order does
/// not matter).
impl Sink for crate::metrics::Collector<'_> {
    #[inline]
    fn request_done(&mut self, _: u64, d: &Done) {
        self.add(RequestOutcome {
            segment: d.segment as usize,
            target: d.target as usize,
            attempts: d.attempts,
            status: d.status,
            served: d.served,
            latency_s: d.latency_s,
            tokens: [d.input_tokens, d.cached_input_tokens, d.output_tokens],
        });
    }
}

/// A sink that keeps nothing (for runs that only want [`DesStats`](super::DesStats) and the series).
impl Sink for () {
    #[inline]
    fn request_done(&mut self, _: u64, _: &Done) {}
}

impl Sink for FinishedSeries {
    #[inline]
    fn request_done(&mut self, _: u64, d: &Done) {
        let served = (d.served != NOT_SERVED).then_some(d.served);
        self.finish_request(d.finish_s, served, d.latency_s, [d.input_tokens, d.cached_input_tokens, d.output_tokens]);
    }
}

/// Everything a run hands its finished requests to: the outcome columns it keeps, the series'
/// per-request figures, and the caller's sink. One value, so that all of it can move to another
/// thread together (see [`with_helper`](super::helper::with_helper)).
pub(super) struct Finished<S> {
    pub(super) outcomes: Outcomes,
    pub(super) series: FinishedSeries,
    pub(super) sink: S,
}

impl<S: Sink> Finished<S> {
    pub(super) fn new(
        catalog: &Catalog,
        scenario: &Scenario,
        first_s: f64,
        outcomes: Outcomes,
        sink: S,
    ) -> Finished<S> {
        let prices = catalog.endpoints.iter().map(|e| e.prices).collect();
        Finished { outcomes, series: FinishedSeries::new(scenario.bin_s, first_s, prices), sink }
    }
}

impl<S: Sink> Sink for Finished<S> {
    #[inline]
    fn request_done(&mut self, request: u64, d: &Done) {
        self.outcomes.request_done(request, d);
        self.series.request_done(request, d);
        self.sink.request_done(request, d);
    }
}
