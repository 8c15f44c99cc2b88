//! Each arrival's draws, made from its trace row and its random stream alone (the routing draw
//! and a first attempt's availability, time to first token and decode time), and where the event
//! loop takes them from: made in the loop ([`InLoop`]) or ahead of it by the helper thread
//! (`helper.rs`).

use rand::RngExt;

use super::DesOptions;
use crate::catalog::Catalog;
use crate::engine::rng::{RequestRng, stream_base};
use crate::policy::RoutingTable;
use crate::trace::Trace;

/// What an arrival needs that depends only on its trace row and its random stream: the routing
/// draw and the draws of a first attempt at the target it picks under the rule's weights. They
/// are made ahead of the event loop, on another thread when there is a core to spare (see
/// [`Prepare`]); the loop uses them only in the attempt it makes as the request arrives, and only
/// at the endpoint they were made for, where drawing them would have used the same stream: the
/// run is the same as drawing in the loop. (Any other attempt draws from the request's stream,
/// which stays where the routing draw left it until an attempt draws.)
#[derive(Debug, Clone)]
pub(super) struct Prepared {
    pub(super) segment: u32,
    pub(super) rule: u16,
    pub(super) target: u16,
    /// `rule.targets[target]`.
    pub(super) endpoint: u16,
    /// The routing draw, and the stream after it.
    pub(super) u: f64,
    pub(super) rng: RequestRng,
    /// At `rule.targets[target]`: the availability draw, the time to first token, the stream
    /// after it (a failed attempt draws no decode), the decode time and the stream after it.
    pub(super) u_avail: f64,
    pub(super) ttft: f64,
    pub(super) after_ttft: RequestRng,
    pub(super) decode: f64,
    pub(super) after_decode: RequestRng,
}

/// Makes [`Prepared`] arrivals: shared by the event loop and a thread working ahead of it.
#[derive(Clone, Copy)]
pub(super) struct Prepare<'a> {
    catalog: &'a Catalog,
    table: &'a RoutingTable,
    /// The key of every request's random stream.
    base: u64,
}

impl<'a> Prepare<'a> {
    pub(super) fn new(catalog: &'a Catalog, table: &'a RoutingTable, opts: &DesOptions) -> Prepare<'a> {
        Prepare { catalog, table, base: stream_base(opts.seed, opts.replicate) }
    }

    /// Request `i` of the trace, which is row `row` of `chunk`.
    #[inline]
    pub(super) fn prepare(&self, i: u64, chunk: &Trace, row: usize) -> Prepared {
        let segment = chunk.class[row] as usize * self.table.n_origins + chunk.origin[row] as usize;
        let rule = self.table.rule_index(segment);
        let bound = &self.table.rules[rule as usize];
        let mut rng = RequestRng::from_base(self.base, i);
        let u: f64 = rng.random();
        let target = bound.pick_index(u);
        let after_route = rng.clone();
        let model = &self.catalog.endpoints[bound.targets[target] as usize];
        // The order of `Sim::issue`: availability, time to first token, decode.
        let u_avail: f64 = rng.random();
        let ttft = model.ttft.sample(&mut rng);
        let after_ttft = rng.clone();
        let decode = model.decode.decode_time(chunk.output_tokens[row], &mut rng);
        Prepared {
            segment: segment as u32,
            rule,
            target: target as u16,
            endpoint: bound.targets[target],
            u,
            rng: after_route,
            u_avail,
            ttft,
            after_ttft,
            decode,
            after_decode: rng,
        }
    }
}

/// Where the event loop takes each arrival's [`Prepared`] draws from.
pub(super) trait Arrivals {
    /// Row `row` of `chunk`, request `i` of the trace (called once per row, in order).
    fn next(&mut self, prepare: &Prepare<'_>, i: u64, chunk: &Trace, row: usize) -> Prepared;
}

/// Draws made in the loop, as each request arrives.
pub(super) struct InLoop;

impl Arrivals for InLoop {
    #[inline]
    fn next(&mut self, prepare: &Prepare<'_>, i: u64, chunk: &Trace, row: usize) -> Prepared {
        prepare.prepare(i, chunk, row)
    }
}
