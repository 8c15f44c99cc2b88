//! Frontiers: one LP per point, points in parallel. Cost against the latency bounds (every class's
//! bound times a multiplier) and cost against the quality targets (every class's target shifted).

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use super::constraints::Constraints;
use super::model::{self, Instance, Solved};
use crate::catalog::Catalog;
use crate::error::Result;

/// One point of a frontier.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FrontierPoint {
    /// The sweep's parameter: latency multiplier, or quality shift.
    pub parameter: f64,
    /// The headline class's latency bound (seconds), for latency sweeps.
    pub bound_s: Option<f64>,
    pub feasible: bool,
    /// Objective (dollars for the whole trace, with `objective: cost`).
    pub cost_usd: Option<f64>,
    /// Predicted mean quality of served requests, all traffic.
    pub mean_quality: Option<f64>,
    /// Wall-clock seconds of the solve (not serialized: outputs are byte-identical run to run).
    #[serde(skip)]
    pub solve_s: f64,
}

/// `n` geometrically spaced values from `lo` to `hi`.
pub fn geomspace(lo: f64, hi: f64, n: usize) -> Vec<f64> {
    if n < 2 {
        return vec![lo];
    }
    (0..n).map(|k| lo * (hi / lo).powf(k as f64 / (n - 1) as f64)).collect()
}

/// The class whose bound is the x axis: `wanted`, else the busiest class with a latency bound.
pub fn headline_class(instance: &Instance, constraints: &Constraints, wanted: Option<&str>) -> Option<usize> {
    if let Some(w) = wanted {
        return instance.class_names.iter().position(|c| c == w);
    }
    instance
        .present_classes()
        .into_iter()
        .filter(|&c| constraints.for_class(&instance.class_names[c]).latency_s.is_some())
        .max_by_key(|&c| instance.segments.iter().filter(|s| s.class == c).map(|s| s.requests).sum::<u64>())
}

/// Cost against latency multipliers (the instance must have been built with these multipliers).
pub fn latency_frontier(
    instance: &Instance,
    catalog: &Catalog,
    constraints: &Constraints,
    multipliers: &[f64],
    headline: Option<usize>,
) -> Result<Vec<FrontierPoint>> {
    multipliers
        .par_iter()
        .map(|&m| {
            let targets = instance.targets(constraints, m);
            let bound_s = headline.and_then(|c| targets.classes[c].latency.map(|l| l.1));
            point(instance, catalog, constraints, &targets, m, bound_s)
        })
        .collect()
}

/// Cost against every class's quality target shifted by each of `shifts` (latency at 1x).
pub fn quality_frontier(
    instance: &Instance,
    catalog: &Catalog,
    constraints: &Constraints,
    shifts: &[f64],
) -> Result<Vec<FrontierPoint>> {
    shifts
        .par_iter()
        .map(|&d| {
            let mut targets = instance.targets(constraints, 1.0);
            for t in &mut targets.classes {
                t.quality = Some((t.quality.unwrap_or(0.0) + d).clamp(0.0, 1.0));
            }
            point(instance, catalog, constraints, &targets, d, None)
        })
        .collect()
}

/// Best mean quality within each budget (dollars for the trace; `objective: quality`, no quality
/// floors, every other target as given, latency at 1x). The dual view of [`quality_frontier`]: both trace the same
/// cost-quality curve from opposite sides.
pub fn budget_frontier(
    instance: &Instance,
    catalog: &Catalog,
    constraints: &Constraints,
    budgets: &[f64],
) -> Result<Vec<FrontierPoint>> {
    budgets
        .par_iter()
        .map(|&b| {
            let mut targets = instance.targets(constraints, 1.0);
            targets.objective = super::constraints::Objective::Quality;
            targets.budget_usd = Some(b);
            // Quality is what the budget buys here, not a floor.
            for t in &mut targets.classes {
                t.quality = None;
            }
            point(instance, catalog, constraints, &targets, b, None)
        })
        .collect()
}

fn point(
    instance: &Instance,
    catalog: &Catalog,
    constraints: &Constraints,
    targets: &model::Targets,
    parameter: f64,
    bound_s: Option<f64>,
) -> Result<FrontierPoint> {
    let t0 = std::time::Instant::now();
    let solved = model::solve_targets(instance, catalog, constraints, targets)?;
    let solve_s = t0.elapsed().as_secs_f64();
    Ok(match solved {
        Solved::Optimal(r) => {
            let p = model::predict(instance, &r, targets);
            FrontierPoint {
                parameter,
                bound_s,
                feasible: true,
                cost_usd: Some(p.get("all").map_or(r.objective, |a| a.cost_usd)),
                mean_quality: p.get("all").map(|a| a.mean_quality),
                solve_s,
            }
        }
        Solved::Infeasible => {
            FrontierPoint { parameter, bound_s, feasible: false, cost_usd: None, mean_quality: None, solve_s }
        }
    })
}

/// Budgets in the budget frontier: this many equal steps from the quality sweep's cheapest
/// feasible cost to its dearest.
pub const BUDGET_POINTS: usize = 20;

/// The three sweeps of `frontier`: cost against every latency bound times each multiplier
/// (`headline` names the class whose bound is the chart's x axis), cost against every class's
/// quality target shifted from -0.10 to +0.10, and the best quality each budget buys.
#[derive(Debug, Clone, PartialEq)]
pub struct Sweeps {
    pub headline: Option<usize>,
    pub latency: Vec<FrontierPoint>,
    pub quality: Vec<FrontierPoint>,
    pub budget: Vec<FrontierPoint>,
}

/// Run the three sweeps of [`Sweeps`].
pub fn sweep(
    inst: &Instance,
    catalog: &Catalog,
    constraints: &Constraints,
    mults: &[f64],
    headline: Option<usize>,
) -> Result<Sweeps> {
    let latency = latency_frontier(inst, catalog, constraints, mults, headline)?;
    let shifts: Vec<f64> = (0..=20).map(|k| -0.10 + 0.01 * k as f64).collect();
    let quality = quality_frontier(inst, catalog, constraints, &shifts)?;
    let costs: Vec<f64> = quality.iter().filter_map(|p| p.cost_usd).collect();
    let budgets: Vec<f64> = match (costs.iter().copied().reduce(f64::min), costs.iter().copied().reduce(f64::max)) {
        (Some(lo), Some(hi)) if hi > lo => {
            (0..=BUDGET_POINTS).map(|k| lo + (hi - lo) * k as f64 / BUDGET_POINTS as f64).collect()
        }
        _ => Vec::new(),
    };
    let budget = budget_frontier(inst, catalog, constraints, &budgets)?;
    Ok(Sweeps { headline, latency, quality, budget })
}
