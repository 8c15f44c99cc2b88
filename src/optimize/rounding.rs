//! Whole-percent weights. Gateways take integer weights, so each segment's weights are rounded to
//! multiples of the granularity: largest remainders first; if that breaks a constraint, a small
//! integer program over the routes the LP used (microlp's branch and bound) finds the cheapest
//! rounding that keeps every constraint. What rounding cost is reported.

use super::lp::{LinearProgram, LpStatus, Solver, solve, violations};
use super::model::{Model, Routing};
use crate::error::Result;

/// Row violations smaller than this (rows are in shares, or in the row's own units) are float noise.
pub const ROW_TOL: f64 = 1e-9;

/// Routes (integer variables) the rounding integer program is tried on at most.
pub const MAX_INTEGER_VARS: usize = 24;

/// How the rounding went.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Rounded {
    /// `largest_remainder`, `integer_program`, or `exact` (could not round without breaking a
    /// constraint, or rounding is off).
    pub method: &'static str,
    pub granularity_pct: f64,
    /// Objective after rounding minus before.
    pub objective_change: f64,
    pub note: Option<String>,
}

/// Round `routing` (a solution of `model`) to multiples of `granularity_pct`.
pub fn round(model: &Model, routing: &Routing, granularity_pct: f64) -> Result<(Routing, Rounded)> {
    let exact = |note: Option<String>| Rounded { method: "exact", granularity_pct, objective_change: 0.0, note };
    if granularity_pct <= 0.0 {
        return Ok((routing.clone(), exact(None)));
    }
    let units = (100.0 / granularity_pct).round() as i64;
    let var = |s: usize, r: usize| model.groups[s][r];
    // Largest remainder per segment.
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
            x[var(s, r)] = n as f64 / units as f64;
        }
    }
    let objective_of = |x: &[f64]| model.lp.vars.iter().zip(x).map(|(v, x)| v.obj * x).sum::<f64>();
    if violations(&model.lp, &x, ROW_TOL).is_empty() {
        let r = to_routing(model, &x, routing);
        let change = r.objective - routing.objective;
        return Ok((r, Rounded { method: "largest_remainder", granularity_pct, objective_change: change, note: None }));
    }
    // Integer program: n_v in {0..units} on the routes the LP used, w = n / units. Branch and
    // bound can blow up (time and memory) on many integer variables, so it is tried only on small
    // supports; otherwise the exact weights stand and the note says which rows rounding broke.
    let broken: Vec<String> = violations(&model.lp, &x, ROW_TOL)
        .iter()
        .filter_map(|&(i, _)| model.lp.rows.get(i).map(|r| r.name.clone()))
        .collect();
    let support_len: usize = routing.weights.iter().map(Vec::len).sum();
    if support_len > MAX_INTEGER_VARS {
        return Ok((
            routing.clone(),
            exact(Some(format!(
                "largest-remainder rounding to {granularity_pct}% breaks {}; the integer program is limited to {MAX_INTEGER_VARS} routes and this routing uses {support_len}: exact weights kept",
                broken.join(", ")
            ))),
        ));
    }
    let support: Vec<usize> = routing
        .weights
        .iter()
        .enumerate()
        .flat_map(|(s, ws)| ws.iter().map(move |&(r, _)| (s, r)))
        .map(|(s, r)| var(s, r))
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
    Ok((r, Rounded { method: "integer_program", granularity_pct, objective_change: change, note: None }))
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
