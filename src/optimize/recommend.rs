//! `switchyard optimize` as a library call: solve, explain or round, verify by simulation (tighten
//! and re-solve when the simulation misses a target by more than its interval), price the targets,
//! and compare with the current policy.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::explain::{self, Conflict, quantile_label};
use super::model::{self, Instance, Predicted, Routing, Solved, Targets};
use super::rounding::{self, Rounded};
use super::verify::{self, Bounds, Simulated};
use super::{Constraints, ShadowPrices, policy_of, shadow_prices};
use crate::catalog::Catalog;
use crate::error::Result;
use crate::policy::Policy;
use crate::trace::Trace;

#[derive(Debug, Clone)]
pub struct Options {
    /// Seed of the verification replay (use a different one from any earlier run).
    pub seed: u64,
    pub replicates: u32,
    /// Tighten-and-re-solve rounds after a missed target (0: simulate once, never re-solve).
    pub max_rounds: usize,
    /// Skip the verification replay altogether.
    pub verify: bool,
    pub current: Option<Policy>,
    /// Verify in the discrete-event engine under this scenario instead of the replay engine
    /// (`optimize --verify-engine des`).
    pub des: Option<crate::des::Scenario>,
}

/// One constrained figure: target, model prediction, simulation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Check {
    pub class: String,
    pub figure: String,
    pub target: f64,
    /// The model's figure (None for the quantile itself: the LP bounds it, it does not predict it).
    pub predicted: Option<f64>,
    pub simulated: f64,
    pub ci95: f64,
    pub met: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Round {
    pub round: usize,
    pub objective: f64,
    pub checks: Vec<Check>,
    /// What was tightened for the next round.
    pub tightened: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Diff {
    pub current: BTreeMap<String, Simulated>,
    pub recommended: BTreeMap<String, Simulated>,
    /// Endpoint -> (current share of primaries, recommended share).
    pub primary_share: BTreeMap<String, (f64, f64)>,
    /// Half the summed absolute share changes: the traffic that moves.
    pub traffic_moved: f64,
}

#[derive(Debug, Clone)]
pub struct Recommendation {
    pub instance: Instance,
    pub targets: Targets,
    /// Continuous LP optimum (None when infeasible).
    pub exact: Option<Routing>,
    /// Rounded weights, the ones the policy uses.
    pub routing: Option<Routing>,
    pub rounded: Option<Rounded>,
    pub policy: Option<Policy>,
    pub notes: Vec<String>,
    pub conflicts: Vec<Conflict>,
    pub predicted: BTreeMap<String, Predicted>,
    pub rounds: Vec<Round>,
    pub shadow: Option<ShadowPrices>,
    pub diff: Option<Diff>,
}

pub fn recommend(
    catalog: &Catalog,
    constraints: &Constraints,
    trace: &Trace,
    opts: &Options,
) -> Result<Recommendation> {
    let instance = super::instance(catalog, constraints, trace, &[1.0], true)?;
    let mut targets = instance.targets(constraints, 1.0);
    let mut rec = Recommendation {
        targets: targets.clone(),
        exact: None,
        routing: None,
        rounded: None,
        policy: None,
        notes: Vec::new(),
        conflicts: Vec::new(),
        predicted: BTreeMap::new(),
        rounds: Vec::new(),
        shadow: None,
        diff: None,
        instance: instance.clone(),
    };
    let bounds: Bounds = targets
        .classes
        .iter()
        .enumerate()
        .filter_map(|(c, t)| t.latency.map(|(_, s, q)| (instance.class_names[c].clone(), (s, q))))
        .collect();
    for round in 0..=opts.max_rounds {
        let m = model::build(&instance, catalog, constraints, &targets);
        let exact = match model::solve_model(&m, super::lp::Solver::Auto)? {
            Solved::Optimal(r) => r,
            Solved::Infeasible => {
                rec.conflicts = explain::explain(&instance, catalog, constraints, trace, &targets)?;
                if round > 0 {
                    rec.notes
                        .push(format!("round {round}: tightened targets are infeasible; the previous round stands"));
                    break;
                }
                return Ok(rec);
            }
        };
        let (routing, rounded) = rounding::round(&m, &exact, constraints.granularity_pct)?;
        let (policy, notes) = policy_of(&instance, catalog, constraints, &routing, "switchyard-recommended");
        rec.predicted = model::predict(&instance, &routing, &rec.targets);
        rec.exact = Some(exact.clone());
        rec.routing = Some(routing.clone());
        rec.rounded = Some(rounded);
        rec.policy = Some(policy.clone());
        rec.notes = notes;
        rec.targets = targets.clone();
        if !opts.verify {
            break;
        }
        let sim =
            verify::simulate_with(catalog, &policy, trace, &bounds, opts.seed, opts.replicates, opts.des.as_ref())?;
        let checks = checks(&instance, &rec.targets, &rec.predicted, &sim, constraints);
        let missed: Vec<&Check> = checks.iter().filter(|c| !c.met).collect();
        let mut tightened = Vec::new();
        if !missed.is_empty() && round < opts.max_rounds {
            for ch in &missed {
                let Some(c) = instance.class_names.iter().position(|n| *n == ch.class) else { continue };
                let t = &mut targets.classes[c];
                match ch.figure.as_str() {
                    "within_bound" => {
                        if let Some((j, s, q)) = t.latency {
                            let q2 = (q + (ch.target - ch.simulated).max(1e-4)).min(0.99999);
                            t.latency = Some((j, s, q2));
                            tightened.push(format!("{}: tail mass at {s} s raised from {q:.5} to {q2:.5}", ch.class));
                        }
                    }
                    "mean_quality" => {
                        if let Some(q) = t.quality {
                            let q2 = (q + (ch.target - ch.simulated).max(1e-4)).min(1.0);
                            t.quality = Some(q2);
                            tightened.push(format!("{}: quality target raised from {q:.4} to {q2:.4}", ch.class));
                        }
                    }
                    "success" => {
                        if let Some(a) = t.success {
                            let a2 = (a + (ch.target - ch.simulated).max(1e-5)).min(1.0);
                            t.success = Some(a2);
                            tightened.push(format!("{}: success target raised from {a:.5} to {a2:.5}", ch.class));
                        }
                    }
                    _ => {}
                }
            }
        }
        let objective = rec.routing.as_ref().map_or(0.0, |r| r.objective);
        let done = tightened.is_empty();
        rec.rounds.push(Round { round, objective, checks, tightened });
        if let Some(current) = &opts.current
            && done
        {
            rec.diff = Some(diff(catalog, &instance, current, &policy, trace, &bounds, opts, sim)?);
        }
        if done {
            break;
        }
    }
    if let Some(exact) = &rec.exact {
        rec.shadow = Some(shadow_prices(&instance, catalog, constraints, &rec.targets, exact)?);
    }
    Ok(rec)
}

fn checks(
    instance: &Instance,
    targets: &Targets,
    predicted: &BTreeMap<String, Predicted>,
    sim: &BTreeMap<String, Simulated>,
    constraints: &Constraints,
) -> Vec<Check> {
    let mut out = Vec::new();
    for c in instance.present_classes() {
        let name = &instance.class_names[c];
        let (Some(p), Some(s)) = (predicted.get(name), sim.get(name)) else { continue };
        let t = &targets.classes[c];
        // The user's targets (not the tightened ones) are what "met" is judged against.
        let asked = constraints.for_class(name);
        if let (Some((_, bound, _)), Some(within), Some(sw)) = (t.latency, p.within_bound, s.within_bound) {
            let q = asked.quantile;
            out.push(Check {
                class: name.clone(),
                figure: "within_bound".into(),
                target: q,
                predicted: Some(within),
                simulated: sw.mean,
                ci95: sw.ci95,
                met: sw.mean + sw.ci95 >= q,
            });
            if let Some(lq) = s.latency_quantile_s {
                out.push(Check {
                    class: name.clone(),
                    figure: format!("{}_s", quantile_label(q)),
                    target: bound,
                    predicted: None,
                    simulated: lq.mean,
                    ci95: lq.ci95,
                    met: lq.mean - lq.ci95 <= bound,
                });
            }
        }
        if let Some(q) = asked.quality.filter(|_| t.quality.is_some()) {
            out.push(Check {
                class: name.clone(),
                figure: "mean_quality".into(),
                target: q,
                predicted: Some(p.mean_quality),
                simulated: s.mean_quality.mean,
                ci95: s.mean_quality.ci95,
                met: s.mean_quality.mean + s.mean_quality.ci95 >= q - 1e-12,
            });
        }
        if let Some(a) = asked.success.filter(|_| t.success.is_some()) {
            out.push(Check {
                class: name.clone(),
                figure: "success".into(),
                target: a,
                predicted: Some(p.success),
                simulated: s.success.mean,
                ci95: s.success.ci95,
                met: s.success.mean + s.success.ci95 >= a - 1e-12,
            });
        }
    }
    out
}

#[allow(clippy::too_many_arguments)]
fn diff(
    catalog: &Catalog,
    instance: &Instance,
    current: &Policy,
    recommended: &Policy,
    trace: &Trace,
    bounds: &Bounds,
    opts: &Options,
    recommended_sim: BTreeMap<String, Simulated>,
) -> Result<Diff> {
    let current_sim =
        verify::simulate_with(catalog, current, trace, bounds, opts.seed, opts.replicates, opts.des.as_ref())?;
    let shares = |p: &Policy| -> BTreeMap<String, f64> {
        let mut out = BTreeMap::new();
        for seg in &instance.segments {
            let class = &instance.class_names[seg.class];
            let share = seg.requests as f64 / instance.n_requests as f64;
            // A class-only segment spans origins: split it by the origins' request counts.
            let mut by_origin: BTreeMap<u16, f64> = BTreeMap::new();
            for m in &seg.mix {
                *by_origin.entry(m.0).or_default() += f64::from(m.2);
            }
            let n: f64 = by_origin.values().sum();
            for (o, k) in by_origin {
                let origin = &instance.origin_names[o as usize];
                if let Some(rule) = p.rules.iter().find(|r| r.matches(class, origin)) {
                    for &(e, w) in &rule.targets {
                        *out.entry(catalog.endpoints[e].id.clone()).or_default() += share * k / n * w;
                    }
                }
            }
        }
        out
    };
    let (a, b) = (shares(current), shares(recommended));
    let mut primary_share = BTreeMap::new();
    for k in a.keys().chain(b.keys()) {
        primary_share.insert(k.clone(), (a.get(k).copied().unwrap_or(0.0), b.get(k).copied().unwrap_or(0.0)));
    }
    let traffic_moved = primary_share.values().map(|(x, y)| (x - y).abs()).sum::<f64>() / 2.0;
    Ok(Diff { current: current_sim, recommended: recommended_sim, primary_share, traffic_moved })
}
