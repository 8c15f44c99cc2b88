//! The routing LP, written the way the math reads.
//!
//! Variables: `w[s][r] >= 0`, the share of segment `s` sent to route `r`. With `V_s` requests in
//! segment `s` and, per route, expected cost `cost`, quality mass `qmass` (P(served by k) x quality
//! of k, summed over the chain), `served` = P(served) and `tail(T)` = P(latency <= T and served):
//!
//! ```text
//! minimise   cost    = sum_s V_s sum_r w cost                                  (dollars, whole trace)
//! s.t.       share   : sum_r w[s][r] = 1                                       per segment
//!            quality : sum_{s in c} V_s sum_r w (qmass - q_c served) >= 0      mean quality of served >= q_c
//!            tail    : sum_{s in c} V_s sum_r w (tail(T_c) - p served) >= 0    p-quantile of served <= T_c
//!            success : sum_{s in c} V_s sum_r w (served - a_c) >= 0            served share >= a_c
//!            fleet   : the tail row over every segment
//!            rpm[e]  : sum_s peak_rps_s sum_r w load_e(r) <= u rpm_e / 60      primary + expected fallback attempts
//!            tpm[e]  : sum_s peak_tpm_s sum_r w load_e(r) <= u tpm_e
//!            provider/family share of primaries <= max;  canary share >= min;  cost <= budget
//! ```
//! The tail row is exact for a mixture: P(L <= T) of the mixed traffic is the weighted sum of the
//! routes' P(L <= T), so the mixture's p-quantile is <= T exactly when the row holds. Every class
//! row is divided by the class volume so its coefficients are shares.

use std::collections::BTreeMap;

use rayon::prelude::*;

use super::constraints::{Constraints, Objective};
use super::lp::{Cmp, LinExpr, LinearProgram, LpStatus, Sense, Solver, clean_weights, solve};
use super::routes::{self, RouteStats};
use super::segments::{self, Segment};
use crate::catalog::Catalog;
use crate::error::{Error, Place, Problem, Result};
use crate::trace::Trace;

/// Interior-point weights below this are zeroed before renormalising.
pub const CLEAN_THRESHOLD: f64 = 1e-6;

/// Everything the LP needs, computed once per (trace, catalog, constraints) and reused by every
/// solve of a sweep.
#[derive(Debug, Clone)]
pub struct Instance {
    pub class_names: Vec<String>,
    pub origin_names: Vec<String>,
    pub segments: Vec<Segment>,
    /// Per segment: its candidate routes with statistics.
    pub routes: Vec<Vec<RouteStats>>,
    /// Per class code: the latency bounds (seconds) the tails were computed at.
    pub grid: Vec<Vec<f64>>,
    pub n_requests: u64,
}

/// A segment's routes, or why it has none.
type SegmentRoutes = std::result::Result<Vec<RouteStats>, Box<Problem>>;

/// A segment's candidate routes with statistics on `grid` (its class's bounds), dominated ones pruned.
fn segment_routes(
    catalog: &Catalog,
    constraints: &Constraints,
    trace: &Trace,
    seg: &Segment,
    grid: &[f64],
) -> SegmentRoutes {
    let allowed = routes::allowed_endpoints(catalog, constraints, trace, seg);
    if allowed.is_empty() {
        return Err(Box::new(Problem::new(
            Place::file(&constraints.source).field(format!("classes.{}", trace.class_names[seg.class])),
            format!(
                "no endpoint may serve {} (p99.9 input {} tokens): quality, vision, context window or residency rules exclude them all",
                seg.name, seg.input_p999
            ),
            "lower `min_quality`, relax the residency rule, or add an endpoint to the catalog",
        )));
    }
    let cands = routes::candidates(catalog, constraints, seg, &allowed);
    let stats = routes::route_stats(catalog, constraints, trace, seg, &cands, grid);
    Ok(routes::prune_dominated(catalog, stats))
}

/// The targets of one solve. Latency bounds are indices into the class's grid.
#[derive(Debug, Clone, PartialEq)]
pub struct Targets {
    /// Per class code.
    pub classes: Vec<ClassTarget>,
    /// (grid index per class, quantile) for the fleet-wide bound.
    pub fleet: Option<(Vec<usize>, f64)>,
    pub budget_usd: Option<f64>,
    pub objective: Objective,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct ClassTarget {
    /// (grid index, bound in seconds, quantile).
    pub latency: Option<(usize, f64, f64)>,
    pub quality: Option<f64>,
    pub success: Option<f64>,
}

impl Instance {
    /// Segment the trace, list candidates and compute their statistics with tails on `bounds`
    /// (per class code, the latency bounds any solve will ask for).
    pub fn build(
        catalog: &Catalog,
        constraints: &Constraints,
        trace: &Trace,
        bounds: Vec<Vec<f64>>,
    ) -> Result<Instance> {
        let segments = segments::segments(trace, constraints.segments, constraints.window_s);
        let mut grid = bounds;
        for g in &mut grid {
            g.sort_by(f64::total_cmp);
            g.dedup();
        }
        let mut problems = Vec::new();
        let routes: Vec<Vec<RouteStats>> = segments
            .par_iter()
            .map(|seg| segment_routes(catalog, constraints, trace, seg, &grid[seg.class]))
            .collect::<Vec<SegmentRoutes>>()
            .into_iter()
            .filter_map(|r| r.map_err(|p| problems.push(*p)).ok())
            .collect();
        if !problems.is_empty() {
            return Err(Error::Invalid(problems));
        }
        Ok(Instance {
            class_names: trace.class_names.clone(),
            origin_names: trace.origin_names.clone(),
            n_requests: segments.iter().map(|s| s.requests).sum(),
            segments,
            routes,
            grid,
        })
    }

    /// This instance with class `c`'s tails on `bounds` instead: only that class's segments are
    /// recomputed (the explanation's search for the fastest feasible bound uses it).
    pub fn regrid(
        &self,
        catalog: &Catalog,
        constraints: &Constraints,
        trace: &Trace,
        c: usize,
        bounds: &[f64],
    ) -> Result<Instance> {
        let mut out = self.clone();
        let mut g = bounds.to_vec();
        g.sort_by(f64::total_cmp);
        g.dedup();
        out.grid[c] = g;
        let fresh: Vec<(usize, SegmentRoutes)> = self
            .segments
            .par_iter()
            .enumerate()
            .filter(|(_, seg)| seg.class == c)
            .map(|(s, seg)| (s, segment_routes(catalog, constraints, trace, seg, &out.grid[c])))
            .collect();
        for (s, r) in fresh {
            out.routes[s] = r.map_err(|p| Error::Invalid(vec![*p]))?;
        }
        Ok(out)
    }

    /// The bounds each class asks for in `constraints` (and the fleet bound), times each multiplier,
    /// and (for shadow prices) 100 ms below each.
    pub fn bounds_for(
        constraints: &Constraints,
        class_names: &[String],
        multipliers: &[f64],
        shadow_steps: bool,
    ) -> Vec<Vec<f64>> {
        class_names
            .iter()
            .map(|c| {
                let mut g = Vec::new();
                let bases = constraints.for_class(c).latency_s.into_iter().chain(constraints.fleet.map(|f| f.0));
                for base in bases {
                    for m in multipliers {
                        let t = base * m;
                        g.push(t);
                        if shadow_steps && t > SHADOW_STEP_S {
                            g.push(t - SHADOW_STEP_S);
                        }
                    }
                }
                g
            })
            .collect()
    }

    fn grid_index(&self, class: usize, t: f64) -> Option<usize> {
        self.grid[class].iter().position(|&g| (g - t).abs() <= 1e-12 * t.max(1.0))
    }

    /// The targets of `constraints` with every latency bound multiplied by `mult`.
    pub fn targets(&self, constraints: &Constraints, mult: f64) -> Targets {
        let classes = self
            .class_names
            .iter()
            .enumerate()
            .map(|(c, name)| {
                let t = constraints.for_class(name);
                ClassTarget {
                    latency: t
                        .latency_s
                        .and_then(|base| self.grid_index(c, base * mult).map(|j| (j, base * mult, t.quantile))),
                    quality: t.quality,
                    success: t.success,
                }
            })
            .collect();
        let fleet = constraints.fleet.and_then(|(base, q)| {
            let idx: Option<Vec<usize>> =
                (0..self.class_names.len()).map(|c| self.grid_index(c, base * mult)).collect();
            idx.map(|i| (i, q))
        });
        Targets { classes, fleet, budget_usd: constraints.budget_usd, objective: constraints.objective }
    }

    /// Classes that occur in the trace.
    pub fn present_classes(&self) -> Vec<usize> {
        let mut c: Vec<usize> = self.segments.iter().map(|s| s.class).collect();
        c.dedup();
        c
    }
}

/// Seconds of the latency step shadow prices are quoted for.
pub const SHADOW_STEP_S: f64 = 0.1;

/// Where each family of rows sits in the LP, for explanations.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum RowKind {
    Share(usize),
    Quality(usize),
    Tail(usize),
    Success(usize),
    Fleet,
    Rpm(usize),
    Tpm(usize),
    Provider(String),
    Family(String),
    Canary(usize),
    Budget,
}

/// The LP and the map from variables to (segment, route).
pub struct Model {
    pub lp: LinearProgram,
    pub var_of: Vec<(usize, usize)>,
    pub rows: Vec<RowKind>,
    /// Variable indices per segment (each sums to 1).
    pub groups: Vec<Vec<usize>>,
}

/// Build the LP for `targets`.
pub fn build(problem: &Instance, catalog: &Catalog, constraints: &Constraints, targets: &Targets) -> Model {
    let sense = match targets.objective {
        Objective::Cost => Sense::Minimize,
        Objective::Quality => Sense::Maximize,
    };
    let mut lp = LinearProgram::new("switchyard-routing", sense);
    let mut var_of = Vec::new();
    let mut groups = Vec::new();
    for (s, seg) in problem.segments.iter().enumerate() {
        let mut group = Vec::new();
        for (r, st) in problem.routes[s].iter().enumerate() {
            let objective = match targets.objective {
                Objective::Cost => seg.requests as f64 * st.cost_usd,
                Objective::Quality => seg.requests as f64 * st.quality_mass / problem.n_requests as f64,
            };
            let name = format!("w[{}][{}]", seg.name, route_name(catalog, &st.route.chain));
            group.push(lp.add_var(name, 0.0, 1.0, objective));
            var_of.push((s, r));
        }
        groups.push(group);
    }
    let mut rows = Vec::new();
    let mut add = |lp: &mut LinearProgram, kind: RowKind, name: String, e: LinExpr, cmp: Cmp, rhs: f64| {
        lp.add_row(name, e, cmp, rhs);
        rows.push(kind);
    };
    // A linear expression over every route of the segments selected, with a coefficient per route.
    let expr = |pick: &dyn Fn(&Segment) -> Option<f64>, coef: &dyn Fn(usize, &RouteStats) -> f64| {
        let mut e = LinExpr::default();
        for (s, seg) in problem.segments.iter().enumerate() {
            if let Some(scale) = pick(seg) {
                for (r, st) in problem.routes[s].iter().enumerate() {
                    let c = scale * coef(s, st);
                    if c != 0.0 {
                        e.add_term(groups[s][r], c);
                    }
                }
            }
        }
        e
    };
    for (s, seg) in problem.segments.iter().enumerate() {
        let mut share = LinExpr::default();
        for &v in &groups[s] {
            share.add_term(v, 1.0);
        }
        add(&mut lp, RowKind::Share(s), format!("share[{}]", seg.name), share, Cmp::Eq, 1.0);
    }
    for c in problem.present_classes() {
        let name = &problem.class_names[c];
        let volume: f64 = problem.segments.iter().filter(|s| s.class == c).map(|s| s.requests as f64).sum();
        let in_class = |seg: &Segment| (seg.class == c).then(|| seg.requests as f64 / volume);
        let t = &targets.classes[c];
        if let Some(q) = t.quality {
            let quality = expr(&in_class, &|_, st| st.quality_mass - q * st.p_served);
            add(&mut lp, RowKind::Quality(c), format!("quality[{name}]"), quality, Cmp::Ge, 0.0);
        }
        if let Some((j, _, p)) = t.latency {
            let tail_mass = expr(&in_class, &|_, st| st.tail[j] - p * st.p_served);
            add(&mut lp, RowKind::Tail(c), format!("tail[{name}]"), tail_mass, Cmp::Ge, 0.0);
        }
        if let Some(a) = t.success {
            let served = expr(&in_class, &|_, st| st.p_served - a);
            add(&mut lp, RowKind::Success(c), format!("success[{name}]"), served, Cmp::Ge, 0.0);
        }
    }
    if let Some((idx, p)) = &targets.fleet {
        let total = problem.n_requests as f64;
        let fleet = expr(&|seg| Some(seg.requests as f64 / total), &|s, st| {
            st.tail[idx[problem.segments[s].class]] - p * st.p_served
        });
        add(&mut lp, RowKind::Fleet, "tail[fleet]".into(), fleet, Cmp::Ge, 0.0);
    }
    // Capacity at the peak window: each endpoint's expected attempts, primary and fallback.
    let load_on = |e: usize, st: &RouteStats| -> f64 {
        st.route.chain.iter().zip(&st.load).filter(|(x, _)| **x == e).map(|(_, l)| l).sum()
    };
    let mut used = vec![false; catalog.endpoints.len()];
    for rs in &problem.routes {
        for st in rs {
            for &e in &st.route.chain {
                used[e] = true;
            }
        }
    }
    for (e, ep) in catalog.endpoints.iter().enumerate().filter(|(e, _)| used[*e]) {
        if let Some(rpm) = ep.limits.rpm {
            let rps = expr(&|seg| Some(seg.peak_rps), &|_, st| load_on(e, st));
            let cap = constraints.utilization * rpm as f64 / 60.0;
            add(&mut lp, RowKind::Rpm(e), format!("rpm[{}]", ep.id), rps, Cmp::Le, cap);
        }
        if let Some(tpm) = ep.limits.tpm {
            let tokens = expr(&|seg| Some(seg.peak_tpm), &|_, st| load_on(e, st));
            let cap = constraints.utilization * tpm as f64;
            add(&mut lp, RowKind::Tpm(e), format!("tpm[{}]", ep.id), tokens, Cmp::Le, cap);
        }
    }
    let total = problem.n_requests as f64;
    let primary_share = |pred: &dyn Fn(usize) -> bool| {
        expr(&|seg| Some(seg.requests as f64 / total), &|_, st| if pred(st.route.chain[0]) { 1.0 } else { 0.0 })
    };
    for (limit, kind) in [(constraints.max_share_provider, true), (constraints.max_share_family, false)] {
        let Some(limit) = limit else { continue };
        let mut names: Vec<&str> = catalog
            .endpoints
            .iter()
            .enumerate()
            .filter(|(e, _)| used[*e])
            .map(|(_, ep)| if kind { ep.provider.as_str() } else { ep.family.as_str() })
            .collect();
        names.sort_unstable();
        names.dedup();
        for n in names {
            let of = |e: usize| {
                let ep = &catalog.endpoints[e];
                (if kind { &ep.provider } else { &ep.family }) == n
            };
            let (label, row) =
                if kind { ("provider", RowKind::Provider(n.into())) } else { ("family", RowKind::Family(n.into())) };
            add(&mut lp, row, format!("{label}_share[{n}]"), primary_share(&of), Cmp::Le, limit);
        }
    }
    for &(e, min) in &constraints.min_share {
        let canary = primary_share(&|x| x == e);
        add(&mut lp, RowKind::Canary(e), format!("canary[{}]", catalog.endpoints[e].id), canary, Cmp::Ge, min);
    }
    if let Some(budget) = targets.budget_usd {
        let cost = expr(&|seg| Some(seg.requests as f64), &|_, st| st.cost_usd);
        add(&mut lp, RowKind::Budget, "budget".into(), cost, Cmp::Le, budget);
    }
    Model { lp, var_of, rows, groups }
}

/// `primary > fallback > ...` with endpoint ids.
pub fn route_name(catalog: &Catalog, chain: &[usize]) -> String {
    chain.iter().map(|&e| catalog.endpoints[e].id.as_str()).collect::<Vec<_>>().join(" > ")
}

/// A solved routing: weights per (segment, route) and the figures the model predicts.
#[derive(Debug, Clone, PartialEq)]
pub struct Routing {
    /// Per segment: (route index, weight) with weight > 0, heaviest first.
    pub weights: Vec<Vec<(usize, f64)>>,
    pub objective: f64,
    pub solver: &'static str,
    pub seconds: f64,
}

/// Outcome of one solve.
#[derive(Debug, Clone, PartialEq)]
pub enum Solved {
    Optimal(Routing),
    Infeasible,
}

/// Solve `targets`; interior-point weights are cleaned (tiny ones zeroed, each segment
/// renormalised).
pub fn solve_targets(
    problem: &Instance,
    catalog: &Catalog,
    constraints: &Constraints,
    targets: &Targets,
) -> Result<Solved> {
    let model = build(problem, catalog, constraints, targets);
    solve_model(&model, Solver::Auto)
}

pub fn solve_model(model: &Model, solver: Solver) -> Result<Solved> {
    let sol = solve(&model.lp, solver)?;
    match sol.status {
        LpStatus::Optimal => {
            let x = clean_weights(&sol.x, &model.groups, CLEAN_THRESHOLD);
            let weights = model
                .groups
                .iter()
                .map(|g| {
                    let mut w: Vec<(usize, f64)> =
                        g.iter().filter(|&&v| x[v] > 0.0).map(|&v| (model.var_of[v].1, x[v])).collect();
                    w.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
                    w
                })
                .collect();
            let objective = model.lp.vars.iter().zip(&x).map(|(v, x)| v.obj * x).sum();
            Ok(Solved::Optimal(Routing { weights, objective, solver: sol.solver, seconds: sol.seconds }))
        }
        LpStatus::Infeasible | LpStatus::Unbounded => Ok(Solved::Infeasible),
    }
}

/// What a routing does, per class and overall, under the model.
#[derive(Debug, Clone, PartialEq, Default, serde::Serialize, serde::Deserialize)]
pub struct Predicted {
    pub requests: u64,
    pub cost_usd: f64,
    pub success: f64,
    pub mean_quality: f64,
    /// P(latency <= bound | served) at the class's bound, if it has one.
    pub within_bound: Option<f64>,
}

/// Model figures of a routing for each class (by name) and for all traffic (`"all"`).
pub fn predict(problem: &Instance, routing: &Routing, targets: &Targets) -> BTreeMap<String, Predicted> {
    let mut out: BTreeMap<String, Predicted> = BTreeMap::new();
    let mut acc = |key: String, seg: &Segment, st: &RouteStats, w: f64, bound: Option<usize>| {
        let p = out.entry(key).or_default();
        let v = seg.requests as f64 * w;
        p.cost_usd += v * st.cost_usd;
        p.success += v * st.p_served;
        p.mean_quality += v * st.quality_mass;
        if let Some(j) = bound {
            *p.within_bound.get_or_insert(0.0) += v * st.tail[j];
        }
    };
    for (s, seg) in problem.segments.iter().enumerate() {
        let bound = targets.classes[seg.class].latency.map(|l| l.0);
        for &(r, w) in &routing.weights[s] {
            let st = &problem.routes[s][r];
            acc(problem.class_names[seg.class].clone(), seg, st, w, bound);
            acc("all".into(), seg, st, w, None);
        }
    }
    for (key, p) in out.iter_mut() {
        let requests: u64 = problem
            .segments
            .iter()
            .filter(|s| key == "all" || problem.class_names[s.class] == *key)
            .map(|s| s.requests)
            .sum();
        p.requests = requests;
        let served = p.success;
        p.success /= requests as f64;
        if served > 0.0 {
            p.mean_quality /= served;
            if let Some(w) = p.within_bound.as_mut() {
                *w /= served;
            }
        }
    }
    out
}

/// Solve every multiplier in parallel (results in input order).
pub fn sweep(
    problem: &Instance,
    catalog: &Catalog,
    constraints: &Constraints,
    multipliers: &[f64],
) -> Result<Vec<(f64, Solved)>> {
    multipliers
        .par_iter()
        .map(|&m| {
            let targets = problem.targets(constraints, m);
            solve_targets(problem, catalog, constraints, &targets).map(|s| (m, s))
        })
        .collect()
}
