//! The stateless Monte Carlo replay (see the module docs of [`crate::engine`]).

use rand::rngs::Xoshiro256PlusPlus;
use rand::{RngExt, SeedableRng};
use rayon::prelude::*;

use super::{NOT_SERVED, Outcomes, Status};
use crate::catalog::{Catalog, DecodeDist, LatencyDist, Prices};
use crate::policy::RoutingTable;
use crate::trace::Trace;

/// Requests per unit of parallel work. Fixed (not derived from the thread count) so that results
/// never depend on how work is split.
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

/// The random stream of one request: Xoshiro256++ (named explicitly so seeds stay reproducible
/// across rand releases) seeded from a bijective mix of (seed, replicate, request index).
#[inline]
pub(crate) fn request_rng(seed: u64, replicate: u32, index: u64) -> Xoshiro256PlusPlus {
    let base = mix64(mix64(seed ^ 0x5157_4954_4348_5944) ^ (replicate as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15));
    Xoshiro256PlusPlus::seed_from_u64(mix64(base ^ index))
}

/// SplitMix64's finalizer: a bijection on u64 with good avalanche.
#[inline]
fn mix64(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

struct EndpointModel<'a> {
    ttft: &'a LatencyDist,
    decode: &'a DecodeDist,
    availability: f64,
    prices: Prices,
}

/// Replay every request of `trace` through `table`. `progress`, if given, is called with the number
/// of requests finished in each completed chunk (from worker threads).
pub fn replay(catalog: &Catalog, table: &RoutingTable, trace: &Trace, opts: &ReplayOptions) -> Outcomes {
    replay_with_progress(catalog, table, trace, opts, &|_| {})
}

pub fn replay_with_progress(
    catalog: &Catalog,
    table: &RoutingTable,
    trace: &Trace,
    opts: &ReplayOptions,
    progress: &(dyn Fn(u64) + Sync),
) -> Outcomes {
    let n = trace.len();
    let endpoints: Vec<EndpointModel> = catalog
        .endpoints
        .iter()
        .map(|e| EndpointModel { ttft: &e.ttft, decode: &e.decode, availability: e.availability, prices: e.prices })
        .collect();
    let mut out = Outcomes {
        primary: vec![0; n],
        served: vec![0; n],
        attempts: vec![0; n],
        status: vec![Status::Ok; n],
        latency_s: vec![0.0; n],
        cost_usd: vec![0.0; n],
        seed: opts.seed,
        replicate: opts.replicate,
    };
    let cached = trace.cached_input_tokens.as_deref();
    out.primary
        .par_chunks_mut(CHUNK)
        .zip(out.served.par_chunks_mut(CHUNK))
        .zip(out.attempts.par_chunks_mut(CHUNK))
        .zip(out.status.par_chunks_mut(CHUNK))
        .zip(out.latency_s.par_chunks_mut(CHUNK))
        .zip(out.cost_usd.par_chunks_mut(CHUNK))
        .enumerate()
        .for_each(|(chunk, (((((primary, served), attempts), status), latency), cost))| {
            let start = chunk * CHUNK;
            for k in 0..primary.len() {
                let i = start + k;
                let class = trace.class[i] as usize;
                let origin = trace.origin[i] as usize;
                let rule = &table.rules[table.segment_rule[class * table.n_origins + origin] as usize];
                let rtt = &table.rtt_s[origin];
                let output_tokens = trace.output_tokens[i];
                let mut rng = request_rng(opts.seed, opts.replicate, i as u64);

                let first: u16 = rule.pick(rng.random::<f64>());
                primary[k] = first;
                let mut endpoint_idx = first;
                let mut wasted_s = 0.0;
                let mut n_attempts: u8 = 0;
                loop {
                    n_attempts += 1;
                    let ep = &endpoints[endpoint_idx as usize];
                    let ok = rng.random::<f64>() < ep.availability;
                    let ttft = ep.ttft.sample(&mut rng);
                    let last_status = if ok {
                        let duration =
                            ttft + rtt[endpoint_idx as usize] + ep.decode.decode_time(output_tokens, &mut rng);
                        if duration <= rule.timeout_s {
                            served[k] = endpoint_idx;
                            status[k] = Status::Ok;
                            latency[k] = wasted_s + duration;
                            let cached_tokens = cached.map_or(0, |c| c[i]);
                            cost[k] = ep.prices.cost_usd(trace.input_tokens[i], cached_tokens, output_tokens);
                            break;
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
                    if next >= rule.fallbacks.len() {
                        served[k] = NOT_SERVED;
                        status[k] = last_status;
                        latency[k] = wasted_s;
                        cost[k] = 0.0;
                        break;
                    }
                    endpoint_idx = rule.fallbacks[next];
                }
                attempts[k] = n_attempts;
            }
            progress(primary.len() as u64);
        });
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_streams_differ_by_every_key_part() {
        let draw = |s, r, i| request_rng(s, r, i).random::<u64>();
        let a = draw(1, 0, 0);
        assert_ne!(a, draw(2, 0, 0));
        assert_ne!(a, draw(1, 1, 0));
        assert_ne!(a, draw(1, 0, 1));
        assert_eq!(a, draw(1, 0, 0));
    }
}
