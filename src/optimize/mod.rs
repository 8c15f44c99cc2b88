//! Routing optimisation: the cheapest split of each segment's traffic across routes (a primary and
//! its fallback chain) that meets the latency, quality, success, capacity, residency and diversity
//! targets of a constraints file. The only module that knows the LP solver (`lp.rs` wraps good_lp).
//!
//! Data flow: [`segments`] (trace -> segments with token mix and peak rates) -> [`routes`]
//! (candidates and their exact statistics) -> [`model`] (the LP, read like the math; solve; sweep)
//! -> [`rounding`] (whole-percent weights) -> [`verify`] (replay the recommendation through the
//! engine) and [`explain`] (why a target is out of reach). [`recommend`] runs them in that order.

pub mod constraints;
pub mod explain;
pub mod frontier;
pub mod lp;
pub mod model;
pub mod recommend;
pub mod rounding;
pub mod routes;
pub mod segments;
pub mod verify;

use std::collections::BTreeMap;

pub use constraints::Constraints;
pub use model::{Instance, Routing, Solved, Targets};

use crate::catalog::Catalog;
use crate::error::Result;
use crate::policy::{Policy, Rule};
use crate::trace::Trace;

/// The policy a routing stands for: one rule per segment, each route a target with its own
/// fallback chain. Two routes with the same primary (different chains) are merged into the heavier
/// one's chain, and said so in the returned notes.
pub fn policy_of(
    instance: &Instance,
    catalog: &Catalog,
    constraints: &Constraints,
    routing: &Routing,
    name: &str,
) -> (Policy, Vec<String>) {
    let mut notes = Vec::new();
    let mut rules = Vec::new();
    for (s, seg) in instance.segments.iter().enumerate() {
        let class = &instance.class_names[seg.class];
        let mut targets: Vec<(usize, f64)> = Vec::new();
        let mut chains: Vec<Option<Vec<usize>>> = Vec::new();
        for &(r, w) in &routing.weights[s] {
            let chain = &instance.routes[s][r].route.chain;
            match targets.iter().position(|t| t.0 == chain[0]) {
                Some(i) => {
                    targets[i].1 += w;
                    let kept: Vec<usize> =
                        std::iter::once(chain[0]).chain(chains[i].iter().flatten().copied()).collect();
                    notes.push(format!(
                        "{}: {:.1}% on route {} follows route {} instead (a policy target has one fallback chain)",
                        seg.name,
                        w * 100.0,
                        route_label(catalog, chain),
                        route_label(catalog, &kept)
                    ));
                }
                None => {
                    targets.push((chain[0], w));
                    chains.push(Some(chain[1..].to_vec()));
                }
            }
        }
        let longest = chains.iter().flatten().map(Vec::len).max().unwrap_or(0);
        rules.push(Rule {
            name: seg.name.replace(' ', "-"),
            classes: Some(vec![class.clone()]),
            origins: seg.origin.map(|o| vec![instance.origin_names[o].clone()]),
            targets,
            fallbacks: Vec::new(),
            target_fallbacks: chains,
            timeout_s: constraints.for_class(class).timeout_s,
            max_attempts: 1 + longest,
            line: None,
        });
    }
    (Policy { name: name.to_string(), source: format!("switchyard optimize ({})", constraints.source), rules }, notes)
}

/// A route's name for notes: "a > b", or "a (no fallback)".
fn route_label(catalog: &Catalog, chain: &[usize]) -> String {
    let name = model::route_name(catalog, chain);
    if chain.len() == 1 { format!("{name} (no fallback)") } else { name }
}

/// Shadow prices: what 100 ms less of each class's latency bound, one more quality point, and one
/// more request/s of each binding rpm limit would change the objective by (re-solves, so they hold
/// for the step quoted, not only at the margin).
#[derive(Debug, Clone, PartialEq, Default, serde::Serialize, serde::Deserialize)]
pub struct ShadowPrices {
    /// Class -> objective change for a bound 100 ms tighter (None: infeasible then).
    pub per_100ms_tighter: BTreeMap<String, Option<f64>>,
    /// Class -> objective change for a quality target 0.01 higher.
    pub per_quality_point: BTreeMap<String, Option<f64>>,
    /// Endpoint -> objective change for one more request/s at peak, where its limit binds.
    pub per_rps_capacity: BTreeMap<String, f64>,
}

pub fn shadow_prices(
    instance: &Instance,
    catalog: &Catalog,
    constraints: &Constraints,
    targets: &Targets,
    base: &Routing,
) -> Result<ShadowPrices> {
    let mut out = ShadowPrices::default();
    let delta = |t: &Targets| -> Result<Option<f64>> {
        Ok(match model::solve_targets(instance, catalog, constraints, t)? {
            Solved::Optimal(r) => Some(r.objective - base.objective),
            Solved::Infeasible => None,
        })
    };
    for c in instance.present_classes() {
        let name = instance.class_names[c].clone();
        if let Some((_, bound, q)) = targets.classes[c].latency {
            let tighter = bound - model::SHADOW_STEP_S;
            let j = instance.grid[c].iter().position(|&g| (g - tighter).abs() <= 1e-12 * tighter.max(1.0));
            if let Some(j) = j {
                let mut t = targets.clone();
                t.classes[c].latency = Some((j, tighter, q));
                out.per_100ms_tighter.insert(name.clone(), delta(&t)?);
            }
        }
        if let Some(q) = targets.classes[c].quality {
            let mut t = targets.clone();
            t.classes[c].quality = Some((q + 0.01).min(1.0));
            out.per_quality_point.insert(name, delta(&t)?);
        }
    }
    // Binding capacity rows: one more request/s of limit.
    let m = model::build(instance, catalog, constraints, targets);
    let x = weights_vector(&m, base);
    for (i, kind) in m.rows.iter().enumerate() {
        if let model::RowKind::Rpm(e) = kind {
            let row = &m.lp.rows[i];
            let lhs: f64 = row.coefs.iter().map(|&(v, c)| c * x[v]).sum();
            if row.rhs - lhs <= 1e-6 * row.rhs.max(1.0) {
                let mut lp = m.lp.clone();
                lp.rows[i].rhs += 1.0;
                let bigger =
                    model::Model { lp, var_of: m.var_of.clone(), rows: m.rows.clone(), groups: m.groups.clone() };
                if let Solved::Optimal(r) = model::solve_model(&bigger, lp::Solver::Auto)? {
                    out.per_rps_capacity.insert(catalog.endpoints[*e].id.clone(), r.objective - base.objective);
                }
            }
        }
    }
    Ok(out)
}

/// A routing's weights as the LP's variable vector.
pub fn weights_vector(m: &model::Model, routing: &Routing) -> Vec<f64> {
    let mut x = vec![0.0; m.lp.vars.len()];
    for (s, ws) in routing.weights.iter().enumerate() {
        for &(r, w) in ws {
            x[m.groups[s][r]] = w;
        }
    }
    x
}

/// Read inputs for `optimize`/`frontier` once.
/// `shadow_steps`: also compute tails 100 ms below each bound, for shadow prices.
pub fn instance(
    catalog: &Catalog,
    constraints: &Constraints,
    trace: &Trace,
    multipliers: &[f64],
    shadow_steps: bool,
) -> Result<Instance> {
    let bounds = Instance::bounds_for(constraints, &trace.class_names, multipliers, shadow_steps);
    Instance::build(catalog, constraints, trace, bounds)
}
