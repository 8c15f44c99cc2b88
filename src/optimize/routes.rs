//! Candidate routes per segment and their statistics.
//!
//! A route is a primary endpoint and an ordered fallback chain. For each (segment, route) this module
//! computes, from the segment's own token mix and the catalog, the expected cost per request, the
//! quality mass (P(served by k) x quality of k, summed), the probability of being served, the
//! expected attempts each endpoint of the chain receives, and the latency tail P(L <= T, served) on
//! the bounds the model needs. The tail is exact in the time to first token (its CDF, not samples)
//! and averaged over the segment's exact output-token mix; a failed attempt's wasted time (its TTFT,
//! or the whole timeout) enters through a quantile quadrature of the TTFT distribution, which
//! matters only for the fallback share of traffic. `latency_model: first_attempt` is SEMANTICS.md
//! section 6: the primary alone, failures ignored.

use rayon::prelude::*;

use super::constraints::{Constraints, LatencyModel};
use super::segments::Segment;
use crate::catalog::dist::std_normal_quantile;
use crate::catalog::{Catalog, DecodeDist, LatencyDist};
use crate::trace::Trace;

/// Quadrature nodes for a lognormal decode speed.
const DECODE_NODES: usize = 16;
/// Quadrature nodes for a failed attempt's wasted time, per chain level (deeper levels carry less
/// mass, so fewer nodes).
const WASTE_NODES: [usize; 3] = [8, 4, 2];
/// Token-mix entries the fallback terms are averaged over at most (bins of equal request count).
const FALLBACK_MIX: usize = 24;

/// A candidate route: endpoint indices, primary first.
#[derive(Debug, Clone, PartialEq)]
pub struct Route {
    pub chain: Vec<usize>,
}

/// What a route does for one segment, per request.
#[derive(Debug, Clone, PartialEq)]
pub struct RouteStats {
    pub route: Route,
    /// Expected dollars (only the serving attempt is billed).
    pub cost_usd: f64,
    /// Sum over attempts of P(served there) x quality there.
    pub quality_mass: f64,
    pub p_served: f64,
    /// Expected attempts on each chain position (the first is 1).
    pub load: Vec<f64>,
    /// P(latency <= T and served) for each bound of the segment's class grid.
    pub tail: Vec<f64>,
}

/// One attempt's model for a given origin: TTFT, decode speed nodes, availability, RTT, timeout.
struct Attempt<'a> {
    ttft: &'a LatencyDist,
    decode: Vec<(f64, f64)>,
    availability: f64,
    rtt_s: f64,
    timeout_s: f64,
}

impl Attempt<'_> {
    /// P(the attempt succeeds and takes at most min(t, timeout)) for `x` output tokens.
    #[inline]
    fn ok_within(&self, x: f64, t: f64) -> f64 {
        let t = t.min(self.timeout_s);
        let mut p = 0.0;
        for &(tps, w) in &self.decode {
            let s = t - self.rtt_s - x / tps;
            if s > 0.0 {
                p += w * self.ttft.cdf(s);
            }
        }
        self.availability * p
    }

    /// Wasted time of a failed attempt as (seconds, probability) nodes; the masses sum to
    /// 1 - ok_within(x, inf).
    fn waste(&self, x: f64, nodes: usize) -> Vec<(f64, f64)> {
        let mut out = Vec::with_capacity(nodes + 1);
        let a = self.availability;
        let f_tau = if self.timeout_s.is_finite() { self.ttft.cdf(self.timeout_s) } else { 1.0 };
        if self.timeout_s.is_finite() {
            let too_slow = a - self.ok_within(x, f64::INFINITY);
            let mass = too_slow + (1.0 - a) * (1.0 - f_tau);
            if mass > 0.0 {
                out.push((self.timeout_s, mass));
            }
        }
        let errors = (1.0 - a) * f_tau;
        if errors > 0.0 {
            for j in 0..nodes {
                let u = (j as f64 + 0.5) / nodes as f64 * f_tau;
                out.push((self.ttft.quantile(u), errors / nodes as f64));
            }
        }
        out
    }
}

/// A primary attempt's term over a whole token mix at one decode speed: `sum count x
/// P(TTFT <= t - rtt - x / tps)`. The fixed parts `rtt + x / tps` are sorted, so for each `t` the
/// rows whose TTFT CDF is 0 (fixed part >= t) or 1 to within 1e-13 (fixed part <= t - the TTFT's
/// upper support) are counted from prefix sums, and the CDF is evaluated only in between.
struct HeadTerm<'a> {
    ttft: &'a LatencyDist,
    /// TTFT value above which the CDF is 1 to within 1e-13.
    upper: f64,
    fixed: Vec<f64>,
    /// `prefix[i]`: requests in rows `..i`.
    prefix: Vec<f64>,
    counts: Vec<f64>,
}

impl<'a> HeadTerm<'a> {
    fn new(a: &Attempt<'a>, tps: f64, rows: &[(u32, u32)]) -> HeadTerm<'a> {
        // Rows come sorted by output tokens, so the fixed parts are increasing.
        let fixed: Vec<f64> = rows.iter().map(|&(x, _)| a.rtt_s + f64::from(x) / tps).collect();
        let counts: Vec<f64> = rows.iter().map(|&(_, c)| f64::from(c)).collect();
        let mut prefix = Vec::with_capacity(counts.len() + 1);
        let mut acc = 0.0;
        prefix.push(0.0);
        for c in &counts {
            acc += c;
            prefix.push(acc);
        }
        let upper = match a.ttft {
            // Phi(7.5) = 1 - 3.2e-14.
            LatencyDist::LogNormal { mu, sigma } => (mu + 7.5 * sigma).exp(),
            LatencyDist::Fixed(v) => *v,
            LatencyDist::Empirical { values, .. } => values.last().copied().unwrap_or(0.0),
        };
        HeadTerm { ttft: a.ttft, upper, fixed, prefix, counts }
    }

    /// Requests (weighted) whose first attempt would be done by `t`, given it succeeds.
    fn within(&self, t: f64) -> f64 {
        let sure = self.fixed.partition_point(|&f| f <= t - self.upper);
        let never = self.fixed.partition_point(|&f| f < t);
        let mut p = self.prefix[sure];
        for i in sure..never {
            p += self.counts[i] * self.ttft.cdf(t - self.fixed[i]);
        }
        p
    }
}

fn decode_nodes(d: &DecodeDist) -> Vec<(f64, f64)> {
    match d {
        DecodeDist::Constant(tps) => vec![(*tps, 1.0)],
        DecodeDist::LogNormal { mu, sigma } => (0..DECODE_NODES)
            .map(|j| {
                let z = std_normal_quantile((j as f64 + 0.5) / DECODE_NODES as f64);
                ((mu + sigma * z).exp(), 1.0 / DECODE_NODES as f64)
            })
            .collect(),
    }
}

/// P(L <= t, served) for a chain starting at `level`, for `x` output tokens; `wastes[k]` is
/// `attempts[k].waste(x, ..)`, computed once per `x` (it does not depend on `t`).
fn chain_tail(attempts: &[Attempt], wastes: &[Vec<(f64, f64)>], level: usize, x: f64, t: f64) -> f64 {
    attempts[level].ok_within(x, t) + fallback_tail(attempts, wastes, level, x, t)
}

/// The part of [`chain_tail`] served after the attempt at `level` failed.
fn fallback_tail(attempts: &[Attempt], wastes: &[Vec<(f64, f64)>], level: usize, x: f64, t: f64) -> f64 {
    if level + 1 >= attempts.len() {
        return 0.0;
    }
    wastes[level]
        .iter()
        .filter(|&&(w, _)| t > w)
        .map(|&(w, m)| m * chain_tail(attempts, wastes, level + 1, x, t - w))
        .sum()
}

/// Endpoints a segment may use: quality, capability, context window and residency filters.
pub fn allowed_endpoints(catalog: &Catalog, constraints: &Constraints, trace: &Trace, seg: &Segment) -> Vec<usize> {
    let class = &trace.class_names[seg.class];
    let targets = constraints.for_class(class);
    let regions = seg.origin.and_then(|o| constraints.allowed_regions(&trace.origin_names[o]));
    let origins: Vec<&str> = match seg.origin {
        Some(o) => vec![trace.origin_names[o].as_str()],
        None => {
            let mut o: Vec<&str> = seg.mix.iter().map(|m| trace.origin_names[m.0 as usize].as_str()).collect();
            o.dedup();
            o
        }
    };
    (0..catalog.endpoints.len())
        .filter(|&e| {
            let ep = &catalog.endpoints[e];
            ep.quality.for_class(class).is_some_and(|q| q >= targets.min_quality)
                && (!targets.vision.unwrap_or(false) || ep.capabilities.vision)
                && ep.capabilities.max_context_tokens.is_none_or(|c| c >= u64::from(seg.input_p999))
                && regions.as_ref().is_none_or(|r| r.contains(&ep.region.as_str()))
                && origins.iter().all(|o| catalog.rtt_s(o, e).is_some())
        })
        .collect()
}

/// Candidate routes for a segment: every allowed endpoint alone, and (chain model) each followed by
/// up to `max_fallbacks` endpoints from the segment's fallback pool (the `fallback_pool` allowed
/// endpoints most likely to answer, fastest first).
pub fn candidates(catalog: &Catalog, constraints: &Constraints, seg: &Segment, allowed: &[usize]) -> Vec<Route> {
    let mut routes: Vec<Route> = allowed.iter().map(|&e| Route { chain: vec![e] }).collect();
    if constraints.latency_model == LatencyModel::FirstAttempt || constraints.max_fallbacks == 0 {
        return routes;
    }
    let typical = |e: usize| {
        let ep = &catalog.endpoints[e];
        ep.ttft.quantile(0.5) + seg.mean_output / ep.decode.median_tokens_per_s()
    };
    let mut pool: Vec<usize> = allowed.to_vec();
    pool.sort_by(|&a, &b| {
        let (ea, eb) = (&catalog.endpoints[a], &catalog.endpoints[b]);
        eb.availability.total_cmp(&ea.availability).then(typical(a).total_cmp(&typical(b))).then(a.cmp(&b))
    });
    pool.truncate(constraints.fallback_pool);
    let mut frontier: Vec<Vec<usize>> = allowed.iter().map(|&e| vec![e]).collect();
    for _ in 0..constraints.max_fallbacks {
        let mut next = Vec::new();
        for chain in &frontier {
            for &f in &pool {
                if !chain.contains(&f) {
                    let mut c = chain.clone();
                    c.push(f);
                    next.push(c);
                }
            }
        }
        routes.extend(next.iter().map(|c| Route { chain: c.clone() }));
        frontier = next;
    }
    routes
}

/// Statistics of every route of a segment, with the tail on `grid` (seconds, the class's bounds).
pub fn route_stats(
    catalog: &Catalog,
    constraints: &Constraints,
    trace: &Trace,
    seg: &Segment,
    routes: &[Route],
    grid: &[f64],
) -> Vec<RouteStats> {
    let class = &trace.class_names[seg.class];
    let timeout_s = constraints.for_class(class).timeout_s.unwrap_or(f64::INFINITY);
    let first_attempt = constraints.latency_model == LatencyModel::FirstAttempt;
    let total: f64 = seg.mix.iter().map(|m| f64::from(m.2)).sum();
    let reduced = reduce_mix(&seg.mix);
    let attempt = |e: usize, origin: u16| {
        let ep = &catalog.endpoints[e];
        Attempt {
            ttft: &ep.ttft,
            decode: decode_nodes(&ep.decode),
            availability: if first_attempt { 1.0 } else { ep.availability },
            rtt_s: catalog.rtt_s(&trace.origin_names[origin as usize], e).unwrap_or(0.0),
            timeout_s: if first_attempt { f64::INFINITY } else { timeout_s },
        }
    };
    let origins: Vec<u16> = {
        let mut o: Vec<u16> = seg.mix.iter().map(|m| m.0).collect();
        o.dedup();
        o
    };
    // The primary term of every endpoint that heads a route, exact over the whole mix, computed
    // once and shared by all routes it heads.
    let mut heads: Vec<usize> = routes.iter().map(|r| r.chain[0]).collect();
    heads.sort_unstable();
    heads.dedup();
    let head_terms: Vec<(Vec<f64>, f64)> = heads
        .par_iter()
        .map(|&e| {
            let mut tail = vec![0.0; grid.len()];
            let mut ok = 0.0;
            for &o in &origins {
                let a = attempt(e, o);
                let part: Vec<(u32, u32)> = seg.mix.iter().filter(|m| m.0 == o).map(|m| (m.1, m.2)).collect();
                for &(tps, w) in &a.decode {
                    let head = HeadTerm::new(&a, tps, &part);
                    for (p, &t) in tail.iter_mut().zip(grid) {
                        *p += w * a.availability * head.within(t.min(a.timeout_s));
                    }
                    ok += w * a.availability * head.within(a.timeout_s);
                }
            }
            (tail.iter().map(|p| p / total).collect(), ok / total)
        })
        .collect();
    let cost = |e: usize| {
        let p = &catalog.endpoints[e].prices;
        ((seg.mean_input - seg.mean_cached_input).max(0.0) * p.input_per_mtok
            + seg.mean_cached_input * p.cached_input_per_mtok
            + seg.mean_output * p.output_per_mtok)
            / 1e6
    };
    let quality = |e: usize| catalog.endpoints[e].quality.for_class(class).unwrap_or(0.0);
    routes
        .par_iter()
        .map(|route| {
            let chain = &route.chain;
            let (head_tail, head_ok) = &head_terms[heads.binary_search(&chain[0]).unwrap_or(0)];
            let mut tail = head_tail.clone();
            // P(served at position k) and P(attempt k is made), averaged over the (reduced) mix.
            let mut served_at = vec![0.0; chain.len()];
            let mut reach = vec![0.0; chain.len()];
            served_at[0] = *head_ok;
            reach[0] = 1.0;
            if chain.len() > 1 {
                let rtotal: f64 = reduced.iter().map(|m| m.2).sum();
                for &o in &origins {
                    let attempts: Vec<Attempt> = chain.iter().map(|&e| attempt(e, o)).collect();
                    for &(_, x, c) in reduced.iter().filter(|m| m.0 == o) {
                        let share = c / rtotal;
                        let mut alive = 1.0;
                        for (k, a) in attempts.iter().enumerate() {
                            let s = a.ok_within(x, f64::INFINITY);
                            if k > 0 {
                                reach[k] += share * alive;
                                served_at[k] += share * alive * s;
                            }
                            alive *= 1.0 - s;
                        }
                        // Fallback terms: the tail minus its primary term.
                        let wastes: Vec<Vec<(f64, f64)>> = attempts[..attempts.len() - 1]
                            .iter()
                            .enumerate()
                            .map(|(k, a)| a.waste(x, WASTE_NODES[k.min(2)]))
                            .collect();
                        for (p, &t) in tail.iter_mut().zip(grid) {
                            *p += share * fallback_tail(&attempts, &wastes, 0, x, t);
                        }
                    }
                }
            }
            let p_served: f64 = served_at.iter().sum();
            let (cost_usd, quality_mass) = if first_attempt {
                (cost(chain[0]), quality(chain[0]))
            } else {
                (
                    chain.iter().zip(&served_at).map(|(&e, p)| p * cost(e)).sum(),
                    chain.iter().zip(&served_at).map(|(&e, p)| p * quality(e)).sum(),
                )
            };
            RouteStats {
                route: route.clone(),
                cost_usd,
                quality_mass,
                p_served: if first_attempt { 1.0 } else { p_served },
                load: reach,
                tail,
            }
        })
        .collect()
}

/// At most `FALLBACK_MIX` entries per origin: consecutive output lengths binned by request count,
/// each bin represented by its request-weighted mean length.
fn reduce_mix(mix: &[(u16, u32, u32)]) -> Vec<(u16, f64, f64)> {
    let mut out = Vec::new();
    let mut start = 0;
    while start < mix.len() {
        let origin = mix[start].0;
        let end = start + mix[start..].iter().take_while(|m| m.0 == origin).count();
        let part = &mix[start..end];
        let n: f64 = part.iter().map(|m| f64::from(m.2)).sum();
        let per_bin = (n / FALLBACK_MIX as f64).max(1.0);
        let (mut sx, mut sc) = (0.0, 0.0);
        for m in part {
            sx += f64::from(m.1) * f64::from(m.2);
            sc += f64::from(m.2);
            if sc >= per_bin {
                out.push((origin, sx / sc, sc));
                (sx, sc) = (0.0, 0.0);
            }
        }
        if sc > 0.0 {
            out.push((origin, sx / sc, sc));
        }
        start = end;
    }
    out
}

/// Drop routes no better than another route of the segment with the same primary on every figure
/// (cost, quality, success, the tail at every bound) whose fallbacks have no rate limits (so
/// capacity cannot make the dropped route necessary), and chains whose fallbacks are never used.
pub fn prune_dominated(catalog: &Catalog, stats: Vec<RouteStats>) -> Vec<RouteStats> {
    let unlimited = |r: &RouteStats| {
        r.route.chain[1..]
            .iter()
            .all(|&e| catalog.endpoints[e].limits.rpm.is_none() && catalog.endpoints[e].limits.tpm.is_none())
    };
    let keep: Vec<bool> = (0..stats.len())
        .map(|i| {
            let a = &stats[i];
            if a.route.chain.len() > 1 && a.load[1..].iter().all(|&l| l == 0.0) {
                return false;
            }
            !stats.iter().enumerate().any(|(j, b)| {
                j != i
                    && b.route.chain[0] == a.route.chain[0]
                    && b.route.chain.len() > 1
                    && a.route.chain.len() > 1
                    && unlimited(b)
                    && b.cost_usd <= a.cost_usd
                    && b.quality_mass >= a.quality_mass
                    && b.p_served >= a.p_served
                    && b.tail.iter().zip(&a.tail).all(|(x, y)| x >= y)
                    // A strict improvement somewhere, or the lower index wins ties.
                    && (j < i
                        || b.cost_usd < a.cost_usd
                        || b.quality_mass > a.quality_mass
                        || b.p_served > a.p_served
                        || b.tail.iter().zip(&a.tail).any(|(x, y)| x > y))
            })
        })
        .collect();
    stats.into_iter().zip(keep).filter_map(|(s, k)| k.then_some(s)).collect()
}
