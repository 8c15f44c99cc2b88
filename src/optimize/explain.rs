//! Why a target cannot be met, and what it would take.
//!
//! An elastic copy of the LP gives every target row a slack variable with a cost and minimises the
//! total slack: the rows that need slack are the ones in conflict. For each of them we then search
//! the least relaxation that makes the problem feasible with the other conflicting targets set
//! aside: the fastest latency bound (tails recomputed on a fine grid), the best quality or success
//! share, the smallest budget, the capacity an endpoint would need.

use super::constraints::Constraints;
use super::lp::{Cmp, LinearProgram, LpStatus, Sense, Solver, solve};
use super::model::{self, Instance, RowKind, Solved, Targets};
use crate::catalog::Catalog;
use crate::error::Result;
use crate::trace::Trace;

/// One target the routing cannot meet, and its least relaxation.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Conflict {
    /// The LP row (`tail[reasoning]`, `quality[code]`, `rpm[glm-5@us-east-1]`, ...).
    pub constraint: String,
    /// What was asked, in the target's units.
    pub asked: f64,
    /// The least relaxed value that is feasible (None: not feasible even relaxed).
    pub feasible: Option<f64>,
    /// One sentence for people.
    pub message: String,
}

/// Slack (relative to the row's right-hand side, or absolute below 1) that counts as a conflict.
const SLACK_TOL: f64 = 1e-6;
/// Bisection steps for quality/success/budget relaxations.
const BISECT: usize = 30;

/// Explain an infeasible `targets`: the conflicting rows and each one's least relaxation.
pub fn explain(
    instance: &Instance,
    catalog: &Catalog,
    constraints: &Constraints,
    trace: &Trace,
    targets: &Targets,
) -> Result<Vec<Conflict>> {
    let model = model::build(instance, catalog, constraints, targets);
    let conflicting = elastic_rows(&model.lp, &model.rows)?;
    let mut out = Vec::new();
    for &(row, slack) in &conflicting {
        let kind = &model.rows[row];
        let name = model.lp.rows[row].name.clone();
        // The other conflicting targets set aside.
        let mut relaxed = targets.clone();
        drop_conflicts(&mut relaxed, &model.rows, row, &conflicting);
        let conflict = match kind {
            RowKind::Tail(c) => {
                let class = &instance.class_names[*c];
                let (_, asked, q) = targets.classes[*c].latency.unwrap_or((0, 0.0, 0.99));
                let fastest = fastest_bound(instance, catalog, constraints, trace, &relaxed, *c, asked)?;
                let label = quantile_label(q);
                Conflict {
                    constraint: name,
                    asked,
                    feasible: fastest,
                    message: match fastest {
                        Some(t) => {
                            let (a, f) = distinct(asked, t, 3);
                            format!(
                                "{class} {label} <= {a} s is out of reach with this catalog; the fastest feasible is {f} s ({} s slower)",
                                significant(t - asked)
                            )
                        }
                        None => format!("{class} {label} <= {asked:.3} s is out of reach even at 100x the bound"),
                    },
                }
            }
            RowKind::Quality(c) | RowKind::Success(c) => {
                let class = &instance.class_names[*c];
                let is_quality = matches!(kind, RowKind::Quality(_));
                let asked =
                    if is_quality { targets.classes[*c].quality } else { targets.classes[*c].success }.unwrap_or(0.0);
                let set = |t: &mut Targets, v: f64| {
                    if is_quality {
                        t.classes[*c].quality = Some(v);
                    } else {
                        t.classes[*c].success = Some(v);
                    }
                };
                let best = bisect(0.0, asked, |v| {
                    let mut t = relaxed.clone();
                    set(&mut t, v);
                    feasible(instance, catalog, constraints, &t)
                })?;
                let what = if is_quality { "mean quality" } else { "success rate" };
                Conflict {
                    constraint: name,
                    asked,
                    feasible: best,
                    message: match best {
                        Some(v) => {
                            let (a, b) = distinct(asked, v, 4);
                            format!(
                                "{class} {what} >= {a} is out of reach; the best feasible is {b} ({} short)",
                                significant(asked - v)
                            )
                        }
                        None => format!("{class} {what} >= {asked:.4} is out of reach even relaxed to 0"),
                    },
                }
            }
            RowKind::Budget => {
                let asked = targets.budget_usd.unwrap_or(0.0);
                let mut t = relaxed.clone();
                t.budget_usd = None;
                t.objective = super::constraints::Objective::Cost;
                let least = match model::solve_targets(instance, catalog, constraints, &t)? {
                    Solved::Optimal(r) => Some(r.objective),
                    Solved::Infeasible => None,
                };
                Conflict {
                    constraint: name,
                    asked,
                    feasible: least,
                    message: match least {
                        Some(v) => {
                            let (a, l) = distinct(asked, v, 2);
                            format!("the budget ${a} is too small; the least cost meeting the targets is ${l}")
                        }
                        None => format!("the budget ${asked:.2} is too small, and no budget meets the other targets"),
                    },
                }
            }
            RowKind::Rpm(e) | RowKind::Tpm(e) => {
                let rhs = model.lp.rows[row].rhs;
                let unit = if matches!(kind, RowKind::Rpm(_)) { "requests/s at peak" } else { "tokens/min at peak" };
                let (limit, need) = distinct(rhs, rhs + slack, 1);
                Conflict {
                    constraint: name,
                    asked: rhs,
                    feasible: Some(rhs + slack),
                    message: format!(
                        "{} would need {need} {unit} (its limit allows {limit}) to meet the other targets",
                        catalog.endpoints[*e].id,
                    ),
                }
            }
            RowKind::Fleet => {
                let (_, q) = targets.fleet.clone().unwrap_or_default();
                let asked = constraints.fleet.map(|f| f.0).unwrap_or(0.0);
                Conflict {
                    constraint: name,
                    asked,
                    feasible: None,
                    message: format!(
                        "the fleet-wide {} <= {asked:.3} s conflicts with the other targets; relax it or the class bounds",
                        quantile_label(q)
                    ),
                }
            }
            RowKind::Provider(n) | RowKind::Family(n) => {
                let rhs = model.lp.rows[row].rhs;
                let (cap, would) = distinct(100.0 * rhs, 100.0 * (rhs + slack), 1);
                Conflict {
                    constraint: name,
                    asked: rhs,
                    feasible: Some(rhs + slack),
                    message: format!(
                        "the share cap on `{n}` ({cap}%) conflicts with the other targets; {would}% would do"
                    ),
                }
            }
            RowKind::Canary(e) => {
                let rhs = model.lp.rows[row].rhs;
                let fits = (rhs - slack).max(0.0);
                let (asked, at_most) = distinct(100.0 * rhs, 100.0 * fits, 2);
                Conflict {
                    constraint: name,
                    asked: rhs,
                    feasible: Some(fits),
                    message: format!(
                        "the canary share of {} ({asked}%) conflicts with the other targets; at most {at_most}% fits",
                        catalog.endpoints[*e].id,
                    ),
                }
            }
            RowKind::Share(_) => continue,
        };
        out.push(conflict);
    }
    Ok(out)
}

/// `asked` and `got` with `min` decimals, or as many more (up to 12) as it takes for them to read
/// differently: a message never says "asked 0.9990, the best is 0.9990" about two values that
/// differ in the fifth decimal.
fn distinct(asked: f64, got: f64, min: usize) -> (String, String) {
    let mut d = min;
    while d < 12 && format!("{asked:.d$}") == format!("{got:.d$}") {
        d += 1;
    }
    (format!("{asked:.d$}"), format!("{got:.d$}"))
}

/// A positive difference to two significant digits (`0.00031`, `1.2`, `35`).
fn significant(x: f64) -> String {
    let x = x.abs();
    if x == 0.0 || !x.is_finite() {
        return format!("{x}");
    }
    let decimals = (1 - x.log10().floor() as i32).max(0) as usize;
    format!("{x:.decimals$}")
}

/// `p99`, `p95`, `p99.9`.
pub fn quantile_label(q: f64) -> String {
    let pct = q * 100.0;
    if (pct - pct.round()).abs() < 1e-9 {
        format!("p{}", pct.round())
    } else {
        format!("p{}", (pct * 10.0).round() / 10.0)
    }
}

fn feasible(instance: &Instance, catalog: &Catalog, constraints: &Constraints, t: &Targets) -> Result<bool> {
    Ok(matches!(model::solve_targets(instance, catalog, constraints, t)?, Solved::Optimal(_)))
}

/// Largest v in [lo, hi] with `ok(v)`, assuming monotone; None if not even `lo`.
fn bisect(lo: f64, hi: f64, mut ok: impl FnMut(f64) -> Result<bool>) -> Result<Option<f64>> {
    if !ok(lo)? {
        return Ok(None);
    }
    let (mut a, mut b) = (lo, hi);
    for _ in 0..BISECT {
        let m = 0.5 * (a + b);
        if ok(m)? { a = m } else { b = m }
    }
    Ok(Some(a))
}

/// Remove the conflicting targets other than `keep` (found by the elastic LP) from `t`.
fn drop_conflicts(t: &mut Targets, kinds: &[RowKind], keep: usize, conflicts: &[(usize, f64)]) {
    for &(row, _) in conflicts {
        if row == keep {
            continue;
        }
        match &kinds[row] {
            RowKind::Tail(c) => t.classes[*c].latency = None,
            RowKind::Quality(c) => t.classes[*c].quality = None,
            RowKind::Success(c) => t.classes[*c].success = None,
            RowKind::Fleet => t.fleet = None,
            RowKind::Budget => t.budget_usd = None,
            _ => {}
        }
    }
}

/// The smallest latency bound for class `c` that is feasible, searched on a fine grid of bounds
/// from `asked` up to 100x (tails recomputed for them).
fn fastest_bound(
    instance: &Instance,
    catalog: &Catalog,
    constraints: &Constraints,
    trace: &Trace,
    relaxed: &Targets,
    c: usize,
    asked: f64,
) -> Result<Option<f64>> {
    let q = relaxed.classes[c].latency.map_or(0.99, |l| l.2);
    let mut lo = asked;
    let mut hi = asked * 100.0;
    // Two passes: a coarse geometric grid, then a fine one between the bracketing bounds.
    for pass in 0..2 {
        let n = if pass == 0 { 48 } else { 40 };
        let bounds: Vec<f64> = (0..=n).map(|k| lo * (hi / lo).powf(k as f64 / n as f64)).collect();
        let fine = instance.regrid(catalog, constraints, trace, c, &bounds)?;
        let mut t = relaxed.clone();
        // Other classes' grids are unchanged, so their indices still hold.
        let (mut a, mut b) = (0usize, n);
        let try_at = |k: usize, t: &mut Targets| -> Result<bool> {
            t.classes[c].latency = Some((k, bounds[k], q));
            feasible(&fine, catalog, constraints, t)
        };
        if !try_at(n, &mut t)? {
            return Ok(None);
        }
        while a < b {
            let m = (a + b) / 2;
            if try_at(m, &mut t)? { b = m } else { a = m + 1 }
        }
        let k = a;
        if k == 0 {
            return Ok(Some(bounds[0]));
        }
        lo = bounds[k - 1];
        hi = bounds[k];
    }
    Ok(Some(hi))
}

/// Rows that need slack in the elastic LP (minimise total slack, each target row softened), with
/// the slack each needs. Share rows stay hard.
fn elastic_rows(lp: &LinearProgram, kinds: &[RowKind]) -> Result<Vec<(usize, f64)>> {
    let mut e = lp.clone();
    e.sense = Sense::Minimize;
    for v in &mut e.vars {
        v.obj = 0.0;
    }
    let mut slack_of = Vec::new();
    for (i, kind) in kinds.iter().enumerate() {
        if matches!(kind, RowKind::Share(_)) {
            continue;
        }
        // Penalties are per unit of the row; budget rows are in dollars, so scale them down.
        let scale = match kind {
            RowKind::Budget => 1.0 / e.rows[i].rhs.abs().max(1.0),
            RowKind::Rpm(_) | RowKind::Tpm(_) => 1.0 / e.rows[i].rhs.abs().max(1.0),
            _ => 1.0,
        };
        let s = e.add_var(format!("slack[{}]", e.rows[i].name), 0.0, f64::INFINITY, scale);
        let sign = match e.rows[i].cmp {
            Cmp::Ge => 1.0,
            Cmp::Le => -1.0,
            Cmp::Eq => continue,
        };
        e.rows[i].coefs.push((s, sign));
        slack_of.push((i, s));
    }
    let sol = solve(&e, Solver::Auto)?;
    if sol.status != LpStatus::Optimal {
        return Ok(Vec::new());
    }
    // Interior-point solutions leave tiny slacks everywhere: count a row only when its slack is a
    // real fraction of the row's scale.
    Ok(slack_of
        .into_iter()
        .filter(|&(i, s)| sol.x[s] > SLACK_TOL * e.rows[i].rhs.abs().max(1.0))
        .map(|(i, s)| (i, sol.x[s]))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn asked_and_best_never_read_the_same() {
        // The demo once said "reasoning success rate >= 0.9990 is out of reach; the best feasible
        // is 0.9990" about 0.999 and 0.99897.
        assert_eq!(distinct(0.999, 0.9989699, 4), ("0.99900".to_string(), "0.99897".to_string()));
        assert_eq!(distinct(30.0, 30.072, 3), ("30.000".to_string(), "30.072".to_string()));
        assert_eq!(distinct(30.0, 30.0004, 3), ("30.0000".to_string(), "30.0004".to_string()));
        // Values that differ at the asked precision keep it.
        assert_eq!(distinct(0.88, 0.8512, 4), ("0.8800".to_string(), "0.8512".to_string()));
        // Equal values stop at 12 decimals instead of looping.
        assert_eq!(distinct(0.5, 0.5, 2).0.len(), "0.".len() + 12);
    }

    #[test]
    fn shortfalls_have_two_significant_digits() {
        assert_eq!(significant(0.999 - 0.9989699), "0.000030");
        assert_eq!(significant(0.58), "0.58");
        assert_eq!(significant(1.234), "1.2");
        assert_eq!(significant(35.2), "35");
    }
}
