//! Whole-percent weights. Gateways take integer weights, so each segment's weights are rounded to
//! multiples of the granularity: largest remainders first; if that breaks a constraint, a small
//! integer program over the routes the LP used (microlp's branch and bound) finds the cheapest
//! rounding that keeps every constraint; on supports too large for branch and bound, a repair step
//! re-solves the LP with the rows rounding broke tightened by what it broke them by (room for the
//! rounding's perturbation) and rounds that, until the rounded weights keep every original
//! constraint. What rounding cost is reported.

use super::lp::{Cmp, LinearProgram, LpStatus, Solver, solve, violations};
use super::model::{self, Model, Routing, Solved};
use crate::error::Result;

/// Row violations smaller than this (rows are in shares, or in the row's own units) are float noise.
pub const ROW_TOL: f64 = 1e-9;

/// Routes (integer variables) the rounding integer program is tried on at most.
pub const MAX_INTEGER_VARS: usize = 24;

/// Re-solves the repair step tries at most.
pub const REPAIR_ROUNDS: usize = 12;

/// How the rounding went.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Rounded {
    /// `largest_remainder`, `integer_program`, `repair` (tightened LP, then largest remainder), or
    /// `exact` (could not round without breaking a constraint, or rounding is off).
    pub method: String,
    pub granularity_pct: f64,
    /// Objective after rounding minus before.
    pub objective_change: f64,
    pub note: Option<String>,
}

/// Round `routing` (a solution of `model`) to multiples of `granularity_pct`.
pub fn round(model: &Model, routing: &Routing, granularity_pct: f64) -> Result<(Routing, Rounded)> {
    round_with(model, routing, granularity_pct, MAX_INTEGER_VARS)
}

/// [`round`], with the integer program tried on supports of at most `max_integer_vars` routes.
fn round_with(
    model: &Model,
    routing: &Routing,
    granularity_pct: f64,
    max_integer_vars: usize,
) -> Result<(Routing, Rounded)> {
    let exact = |note: Option<String>| Rounded { method: "exact".into(), granularity_pct, objective_change: 0.0, note };
    if granularity_pct <= 0.0 {
        return Ok((routing.clone(), exact(None)));
    }
    let units = (100.0 / granularity_pct).round() as i64;
    let x = largest_remainder(model, routing, units);
    let objective_of = |x: &[f64]| model.lp.vars.iter().zip(x).map(|(v, x)| v.obj * x).sum::<f64>();
    let broken_rows = violations(&model.lp, &x, ROW_TOL);
    if broken_rows.is_empty() {
        let r = to_routing(model, &x, routing);
        let change = r.objective - routing.objective;
        return Ok((
            r,
            Rounded { method: "largest_remainder".into(), granularity_pct, objective_change: change, note: None },
        ));
    }
    // Integer program: n_v in {0..units} on the routes the LP used, w = n / units. Branch and
    // bound can blow up (time and memory) on many integer variables, so it is tried only on small
    // supports; larger ones go to the repair step.
    let broken: Vec<String> =
        broken_rows.iter().filter_map(|&(i, _)| model.lp.rows.get(i).map(|r| r.name.clone())).collect();
    let support_len: usize = routing.weights.iter().map(Vec::len).sum();
    if support_len > max_integer_vars {
        if let Some(done) = repair(model, routing, units, granularity_pct)? {
            return Ok(done);
        }
        return Ok((
            routing.clone(),
            exact(Some(format!(
                "largest-remainder rounding to {granularity_pct}% breaks {}, and {REPAIR_ROUNDS} re-solves with those rows tightened did not make room; exact weights kept",
                broken.join(", ")
            ))),
        ));
    }
    let support: Vec<usize> = routing
        .weights
        .iter()
        .enumerate()
        .flat_map(|(s, ws)| ws.iter().map(move |&(r, _)| (s, r)))
        .map(|(s, r)| model.groups[s][r])
        .collect();
    let mut ip = LinearProgram::new("switchyard-rounding", model.lp.sense);
    let mut col = vec![usize::MAX; model.lp.vars.len()];
    for &v in &support {
        let orig = &model.lp.vars[v];
        col[v] = ip.add_int_var(orig.name.clone(), 0.0, units as f64, orig.obj / units as f64);
    }
    for row in &model.lp.rows {
        let mut e = super::lp::LinExpr::default();
        for &(v, c) in &row.coefs {
            if col[v] != usize::MAX {
                e.add_term(col[v], c / units as f64);
            }
        }
        ip.add_row(row.name.clone(), e, row.cmp, row.rhs);
    }
    let sol = solve(&ip, Solver::Microlp)?;
    if sol.status != LpStatus::Optimal {
        return Ok((
            routing.clone(),
            exact(Some(format!(
                "no {granularity_pct}% rounding of the routes used keeps every constraint; exact weights kept"
            ))),
        ));
    }
    let mut x = vec![0.0; model.lp.vars.len()];
    for &v in &support {
        x[v] = sol.x[col[v]].round() / units as f64;
    }
    let r = to_routing(model, &x, routing);
    let change = objective_of(&x) - routing.objective;
    Ok((r, Rounded { method: "integer_program".into(), granularity_pct, objective_change: change, note: None }))
}

/// Each segment's weights rounded to multiples of 1/units by largest remainders (ties: lower route
/// first), as the LP's variable vector.
fn largest_remainder(model: &Model, routing: &Routing, units: i64) -> Vec<f64> {
    let mut x = vec![0.0; model.lp.vars.len()];
    for (s, ws) in routing.weights.iter().enumerate() {
        let mut parts: Vec<(usize, i64, f64)> = ws
            .iter()
            .map(|&(r, w)| {
                let u = w * units as f64;
                (r, u.floor() as i64, u - u.floor())
            })
            .collect();
        let mut left = units - parts.iter().map(|p| p.1).sum::<i64>();
        let mut order: Vec<usize> = (0..parts.len()).collect();
        order.sort_by(|&a, &b| parts[b].2.total_cmp(&parts[a].2).then(a.cmp(&b)));
        for &i in order.iter().cycle().take(parts.len() * 2) {
            if left <= 0 {
                break;
            }
            parts[i].1 += 1;
            left -= 1;
        }
        for (r, n, _) in parts {
            x[model.groups[s][r]] = n as f64 / units as f64;
        }
    }
    x
}

/// The repair step: tighten each row the rounded weights break by twice what they broke it by
/// (times 4 for each earlier break of the same row), re-solve, round again; up to
/// [`REPAIR_ROUNDS`] times. Margins accumulate, so a row that keeps breaking gets more room each
/// round. None when the rounds run out or the tightened LP becomes
/// infeasible.
fn repair(model: &Model, routing: &Routing, units: i64, granularity_pct: f64) -> Result<Option<(Routing, Rounded)>> {
    let mut tightened = Model {
        lp: model.lp.clone(),
        var_of: model.var_of.clone(),
        rows: model.rows.clone(),
        groups: model.groups.clone(),
    };
    let mut x = largest_remainder(model, routing, units);
    // How often each row has broken: a row that keeps breaking is tightened 4x harder each time
    // (a small tightening can leave the rounded point where it was).
    let mut broke = vec![0i32; model.lp.rows.len()];
    for round in 1..=REPAIR_ROUNDS {
        for (i, amount) in violations(&model.lp, &x, ROW_TOL) {
            let Some(row) = tightened.lp.rows.get_mut(i) else { continue };
            let step = 2.0 * amount * 4f64.powi(broke[i]);
            broke[i] += 1;
            match row.cmp {
                Cmp::Ge => row.rhs += step,
                Cmp::Le => row.rhs -= step,
                Cmp::Eq => {}
            }
        }
        let Solved::Optimal(r) = model::solve_model(&tightened, Solver::Auto)? else {
            return Ok(None);
        };
        x = largest_remainder(model, &r, units);
        if violations(&model.lp, &x, ROW_TOL).is_empty() {
            let moves = descend(model, &mut x, units, routing);
            let rounded = to_routing(model, &x, routing);
            let change = rounded.objective - routing.objective;
            let note = format!(
                "plain rounding broke a constraint: re-solved {round} time(s) with the broken rows tightened, rounded, then moved {moves} unit(s) of weight to cheaper routes where every constraint still held"
            );
            return Ok(Some((
                rounded,
                Rounded { method: "repair".into(), granularity_pct, objective_change: change, note: Some(note) },
            )));
        }
    }
    Ok(None)
}

/// Greedy descent over whole units: move one unit of a segment's weight from one route to another
/// (routes the exact LP or `x` uses) when that improves the objective and keeps every row; best
/// move first, until none helps. The margins of the repair step are generous, so this takes back
/// most of what they cost. Returns the number of moves.
fn descend(model: &Model, x: &mut [f64], units: i64, exact: &Routing) -> usize {
    let unit = 1.0 / units as f64;
    // Objective change in the direction of improvement: lower is better for either sense.
    let sign = match model.lp.sense {
        super::lp::Sense::Minimize => 1.0,
        super::lp::Sense::Maximize => -1.0,
    };
    let mut moves = 0;
    for _ in 0..(units as usize * model.groups.len()) {
        let mut best: Option<(f64, usize, usize)> = None;
        for (s, group) in model.groups.iter().enumerate() {
            let mut used: Vec<usize> = exact.weights[s].iter().map(|&(r, _)| group[r]).collect();
            used.extend(group.iter().copied().filter(|&v| x[v] > 0.0));
            used.sort_unstable();
            used.dedup();
            for &from in &used {
                if x[from] < unit - 1e-12 {
                    continue;
                }
                for &to in used.iter().filter(|&&v| v != from) {
                    let gain = sign * (model.lp.vars[to].obj - model.lp.vars[from].obj) * unit;
                    if gain >= -1e-12 || best.is_some_and(|(g, _, _)| gain >= g) {
                        continue;
                    }
                    // Try the move, then restore the exact values (a float round trip might not).
                    let (was_from, was_to) = (x[from], x[to]);
                    x[from] -= unit;
                    x[to] += unit;
                    if violations(&model.lp, x, ROW_TOL).is_empty() {
                        best = Some((gain, from, to));
                    }
                    (x[from], x[to]) = (was_from, was_to);
                }
            }
        }
        let Some((_, from, to)) = best else { break };
        // Whole units stay exact: recompute from the count rather than accumulate float error.
        x[from] = ((x[from] - unit) * units as f64).round() / units as f64;
        x[to] = ((x[to] + unit) * units as f64).round() / units as f64;
        moves += 1;
    }
    moves
}

fn to_routing(model: &Model, x: &[f64], like: &Routing) -> Routing {
    let weights = model
        .groups
        .iter()
        .map(|g| {
            let mut w: Vec<(usize, f64)> =
                g.iter().enumerate().filter(|(_, v)| x[**v] > 0.0).map(|(r, &v)| (r, x[v])).collect();
            w.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
            w
        })
        .collect();
    let objective = model.lp.vars.iter().zip(x).map(|(v, x)| v.obj * x).sum();
    Routing { weights, objective, solver: like.solver, seconds: like.seconds }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::optimize::lp::{LinExpr, Sense};
    use crate::optimize::model::RowKind;

    /// One segment, three routes (cost, quality): (3, 0.9), (1, 0.5), (2.1, 0.7); quality >= 0.7733.
    /// The LP mixes the first two, 68.325% / 31.675%; rounded to 68/32 the quality is 0.772, short
    /// of the target, and the cheapest whole-percent split that keeps it is 69/31.
    fn instance() -> (Model, Routing) {
        let routes = [(3.0, 0.9), (1.0, 0.5), (2.1, 0.7)];
        let mut lp = LinearProgram::new("t", Sense::Minimize);
        let vars: Vec<usize> =
            routes.iter().enumerate().map(|(r, &(c, _))| lp.add_var(format!("w{r}"), 0.0, 1.0, c)).collect();
        let mut share = LinExpr::new();
        let mut quality = LinExpr::new();
        for (&v, &(_, q)) in vars.iter().zip(&routes) {
            share.add_term(v, 1.0);
            quality.add_term(v, q);
        }
        lp.add_row("share", share, Cmp::Eq, 1.0);
        lp.add_row("quality", quality, Cmp::Ge, 0.7733);
        let model = Model {
            lp,
            var_of: vec![(0, 0), (0, 1), (0, 2)],
            rows: vec![RowKind::Share(0), RowKind::Quality(0)],
            groups: vec![vars],
        };
        let Solved::Optimal(exact) = model::solve_model(&model, Solver::Microlp).unwrap() else { panic!("infeasible") };
        (model, exact)
    }

    fn weights(r: &Routing) -> Vec<(usize, f64)> {
        r.weights[0].clone()
    }

    #[test]
    fn the_lp_optimum_is_fractional() {
        let (_, exact) = instance();
        let w = weights(&exact);
        assert_eq!(w.len(), 2, "{w:?}");
        assert!((w[0].1 - 0.68325).abs() < 1e-9 && w[0].0 == 0, "{w:?}");
    }

    #[test]
    fn repair_finds_the_cheapest_whole_percent_split() {
        let (model, exact) = instance();
        // No integer program: the repair step must do it.
        let (r, how) = round_with(&model, &exact, 1.0, 0).unwrap();
        assert_eq!(how.method, "repair", "{how:?}");
        let w = weights(&r);
        assert_eq!(w, vec![(0, 0.69), (1, 0.31)], "expected 69% / 31%, got {w:?}");
        let x: Vec<f64> = (0..3).map(|v| w.iter().find(|p| p.0 == v).map_or(0.0, |p| p.1)).collect();
        assert!(violations(&model.lp, &x, ROW_TOL).is_empty(), "rounded weights break a row: {x:?}");
        let want = 0.69 * 3.0 + 0.31 - exact.objective;
        assert!((how.objective_change - want).abs() < 1e-9, "rounding cost {} != {want}", how.objective_change);
    }

    #[test]
    fn the_integer_program_agrees_with_the_repair_here() {
        let (model, exact) = instance();
        let (r, how) = round(&model, &exact, 1.0).unwrap();
        assert_eq!(how.method, "integer_program", "{how:?}");
        assert_eq!(weights(&r), vec![(0, 0.69), (1, 0.31)]);
    }

    #[test]
    fn plain_rounding_when_it_keeps_every_row() {
        let (mut model, _) = instance();
        model.lp.rows[1].rhs = 0.77;
        let Solved::Optimal(exact) = model::solve_model(&model, Solver::Microlp).unwrap() else { panic!("infeasible") };
        let (r, how) = round(&model, &exact, 1.0).unwrap();
        assert_eq!(how.method, "largest_remainder", "{how:?}");
        assert_eq!(weights(&r), vec![(0, 0.68), (1, 0.32)]);
    }
}
