//! The LP solver layer against hand-solved programs, each backend against the other, and the
//! LP-file writer against reviewed text.

use switchyard::Error;
use switchyard::optimize::lp::{
    Cmp, LinExpr, LinearProgram, LpStatus, Sense, Solver, clean_weights, polish, solve, synthetic, violations, write_lp,
};

/// Primal values from either backend, objective values compared relative to their size.
const X_TOL: f64 = 1e-6;
/// Dual values from clarabel against hand-computed shadow prices.
const DUAL_TOL: f64 = 1e-6;

fn assert_close(what: &str, got: f64, want: f64, tol: f64) {
    assert!((got - want).abs() <= tol * want.abs().max(1.0), "{what}: got {got}, want {want} (tol {tol})");
}

fn assert_all_close(what: &str, got: &[f64], want: &[f64], tol: f64) {
    assert_eq!(got.len(), want.len(), "{what}: lengths differ: {got:?} vs {want:?}");
    for (k, (&g, &w)) in got.iter().zip(want).enumerate() {
        assert_close(&format!("{what}[{k}]"), g, w, tol);
    }
}

/// minimize 2x + 3y  s.t.  x + y >= 4,  x + 3y >= 6,  x <= 3.5,  x, y >= 0.
/// Optimum (3, 1) = 9 with only the two `>=` rows tight; stationarity (2, 3) = u1 (1, 1) + u2 (1, 3)
/// gives shadow prices u = (1.5, 0.5) and 0 for the slack `x <= 3.5`.
fn covering() -> LinearProgram {
    let mut lp = LinearProgram::new("covering", Sense::Minimize);
    let x = lp.add_var("x", 0.0, f64::INFINITY, 2.0);
    let y = lp.add_var("y", 0.0, f64::INFINITY, 3.0);
    lp.add_row("cover", LinExpr::var(x) + LinExpr::var(y), Cmp::Ge, 4.0);
    lp.add_row("weighted", LinExpr::var(x) + 3.0 * LinExpr::var(y), Cmp::Ge, 6.0);
    lp.add_row("x_cap", LinExpr::var(x), Cmp::Le, 3.5);
    lp
}

/// maximize 3x + 2y  s.t.  x + y <= 4,  x + 3y <= 6,  x <= 3.5,  x, y >= 0.
/// Optimum (3.5, 0.5) = 11.5; (3, 2) = u1 (1, 1) + u3 (1, 0) gives shadow prices (2, 0, 1).
fn packing() -> LinearProgram {
    let mut lp = LinearProgram::new("packing", Sense::Maximize);
    let x = lp.add_var("x", 0.0, f64::INFINITY, 3.0);
    let y = lp.add_var("y", 0.0, f64::INFINITY, 2.0);
    lp.add_row("total", LinExpr::sum([(x, 1.0), (y, 1.0)]), Cmp::Le, 4.0);
    lp.add_row("weighted", LinExpr::sum([(x, 1.0), (y, 3.0)]), Cmp::Le, 6.0);
    lp.add_row("x_cap", LinExpr::var(x), Cmp::Le, 3.5);
    lp
}

/// minimize x + 2y  s.t.  x + y = 3,  x <= 2,  x, y >= 0: optimum (2, 1) = 4. Raising the
/// equality's right-hand side adds y at cost 2; raising the cap swaps y for x, saving 1.
fn split() -> LinearProgram {
    let mut lp = LinearProgram::new("split", Sense::Minimize);
    let x = lp.add_var("x", 0.0, f64::INFINITY, 1.0);
    let y = lp.add_var("y", 0.0, f64::INFINITY, 2.0);
    lp.add_row("total", LinExpr::var(x) + LinExpr::var(y), Cmp::Eq, 3.0);
    lp.add_row("x_cap", LinExpr::var(x), Cmp::Le, 2.0);
    lp
}

#[test]
fn both_backends_find_the_hand_solved_optima() {
    let cases = [(covering(), [3.0, 1.0], 9.0), (packing(), [3.5, 0.5], 11.5), (split(), [2.0, 1.0], 4.0)];
    for (lp, x, objective) in &cases {
        for solver in [Solver::Clarabel, Solver::Microlp, Solver::Auto] {
            let what = format!("{} with {solver:?}", lp.name);
            let s = solve(lp, solver).unwrap();
            assert_eq!(s.status, LpStatus::Optimal, "{what}");
            assert_all_close(&format!("{what}: x"), &s.x, x, X_TOL);
            assert_close(&format!("{what}: objective"), s.objective, *objective, X_TOL);
            assert!(violations(lp, &s.x, 1e-7).is_empty(), "{what}: {:?}", violations(lp, &s.x, 1e-7));
        }
    }
}

#[test]
fn auto_picks_microlp_for_small_programs_and_clarabel_for_large_ones() {
    assert_eq!(solve(&covering(), Solver::Auto).unwrap().solver, "microlp");
    assert_eq!(solve(&covering(), Solver::Clarabel).unwrap().solver, "clarabel");
    let large = synthetic(70, 200, 3);
    assert!(large.nnz() > switchyard::optimize::lp::AUTO_MICROLP_MAX_NNZ);
    let auto = solve(&large, Solver::Auto).unwrap();
    assert_eq!(auto.solver, "clarabel+sifting+microlp");
    // The polished answer is an exact vertex with clarabel's duals.
    assert!(auto.duals.is_some());
    assert_eq!(violations(&large, &auto.x, 1e-9), vec![]);
    let exact = solve(&large, Solver::Microlp).unwrap();
    assert_close("objective, auto vs microlp", auto.objective, exact.objective, 1e-9);
}

#[test]
fn clarabel_duals_are_the_hand_computed_shadow_prices() {
    let cases = [(covering(), vec![1.5, 0.5, 0.0]), (packing(), vec![2.0, 0.0, 1.0]), (split(), vec![2.0, -1.0])];
    for (lp, duals) in &cases {
        let s = solve(lp, Solver::Clarabel).unwrap();
        let got = s.duals.unwrap_or_else(|| panic!("{}: clarabel gave no duals", lp.name));
        assert_all_close(&format!("{}: duals", lp.name), &got, duals, DUAL_TOL);
    }
}

#[test]
fn clarabel_duals_match_a_finite_difference_re_solve() {
    // d objective / d rhs, estimated by re-solving exactly (microlp) with each right-hand side
    // moved by H; H is small enough to keep every optimal basis of these programs.
    const H: f64 = 1e-3;
    for lp in [covering(), packing(), split()] {
        let base = solve(&lp, Solver::Microlp).unwrap().objective;
        let duals = solve(&lp, Solver::Clarabel).unwrap().duals.unwrap();
        for (i, dual) in duals.iter().enumerate() {
            let mut moved = lp.clone();
            moved.rows[i].rhs += H;
            let slope = (solve(&moved, Solver::Microlp).unwrap().objective - base) / H;
            assert_close(&format!("{} row {i}: dual vs finite difference", lp.name), *dual, slope, 1e-5);
        }
    }
}

#[test]
fn microlp_gives_no_duals_rather_than_made_up_ones() {
    assert_eq!(solve(&covering(), Solver::Microlp).unwrap().duals, None);
}

#[test]
fn infeasible_programs_are_a_status_not_an_error() {
    let mut lp = LinearProgram::new("too much", Sense::Minimize);
    let x = lp.add_var("x", 0.0, 2.0, 1.0);
    let y = lp.add_var("y", 0.0, 2.0, 1.0);
    lp.add_row("need", LinExpr::var(x) + LinExpr::var(y), Cmp::Ge, 5.0);
    for solver in [Solver::Clarabel, Solver::Microlp] {
        let s = solve(&lp, solver).unwrap();
        assert_eq!(s.status, LpStatus::Infeasible, "{solver:?}");
        assert!(s.x.is_empty() && s.objective.is_nan() && s.duals.is_none(), "{solver:?}: {s:?}");
    }

    let mut crossed = LinearProgram::new("crossed bounds", Sense::Minimize);
    crossed.add_var("x", 1.0, 0.0, 1.0);
    assert_eq!(solve(&crossed, Solver::Clarabel).unwrap().status, LpStatus::Infeasible);
}

#[test]
fn unbounded_programs_are_a_status_not_an_error() {
    let mut lp = LinearProgram::new("runaway", Sense::Maximize);
    let x = lp.add_var("x", 0.0, f64::INFINITY, 1.0);
    let y = lp.add_var("y", 0.0, f64::INFINITY, 1.0);
    lp.add_row("gap", LinExpr::var(x) - LinExpr::var(y), Cmp::Le, 1.0);
    for solver in [Solver::Clarabel, Solver::Microlp] {
        let s = solve(&lp, solver).unwrap();
        assert_eq!(s.status, LpStatus::Unbounded, "{solver:?}");
        assert_eq!(s.objective, f64::INFINITY, "{solver:?}");
    }
}

#[test]
fn integer_programs_go_to_microlp() {
    // maximize 5x + 4y  s.t.  6x + 4y <= 24,  x + 2y <= 6,  x, y integer >= 0.
    // The LP relaxation's optimum is (3, 1.5) = 21; the integer points nearby give (4, 0) = 20,
    // (3, 1) = 19, (2, 2) = 18.
    let mut lp = LinearProgram::new("integers", Sense::Maximize);
    let x = lp.add_int_var("x", 0.0, f64::INFINITY, 5.0);
    let y = lp.add_int_var("y", 0.0, f64::INFINITY, 4.0);
    lp.add_row("a", LinExpr::sum([(x, 6.0), (y, 4.0)]), Cmp::Le, 24.0);
    lp.add_row("b", LinExpr::sum([(x, 1.0), (y, 2.0)]), Cmp::Le, 6.0);
    for solver in [Solver::Microlp, Solver::Auto] {
        let s = solve(&lp, solver).unwrap();
        assert_eq!((s.status, s.solver), (LpStatus::Optimal, "microlp"));
        assert_all_close("integer x", &s.x, &[4.0, 0.0], 1e-9);
        assert_close("integer objective", s.objective, 20.0, 1e-9);
    }
    match solve(&lp, Solver::Clarabel) {
        Err(Error::Solve { solver: "clarabel", message, .. }) => assert!(message.contains("integer"), "{message}"),
        other => panic!("clarabel on an integer program: {other:?}"),
    }
}

#[test]
fn malformed_programs_are_invalid_with_every_problem_listed() {
    let mut lp = LinearProgram::new("broken", Sense::Minimize);
    let x = lp.add_var("x", 0.0, 1.0, f64::NAN);
    lp.add_row("nan", LinExpr::term(x, f64::NAN), Cmp::Le, 1.0);
    lp.add_row("dangling", LinExpr::var(7), Cmp::Le, 1.0);
    match solve(&lp, Solver::Auto) {
        Err(Error::Invalid(problems)) => {
            assert_eq!(problems.len(), 3, "{problems:?}");
            assert!(problems[2].message.contains("variable 7"), "{}", problems[2]);
        }
        other => panic!("expected Error::Invalid, got {other:?}"),
    }
}

#[test]
fn a_program_without_variables_is_decided_by_its_constant_rows() {
    let mut lp = LinearProgram::new("empty", Sense::Minimize);
    assert_eq!(solve(&lp, Solver::Auto).unwrap().status, LpStatus::Optimal);
    lp.add_row("impossible", LinExpr::new(), Cmp::Ge, 1.0);
    assert_eq!(solve(&lp, Solver::Auto).unwrap().status, LpStatus::Infeasible);
}

#[test]
fn lin_expr_arithmetic_reads_like_the_math_and_rows_merge_duplicates() {
    let mut lp = LinearProgram::new("merge", Sense::Minimize);
    let a = lp.add_var("a", 0.0, 1.0, 0.0);
    let b = lp.add_var("b", 0.0, 1.0, 0.0);
    let quality = LinExpr::sum([(b, 0.9), (a, 0.6)]);
    let served: LinExpr = [(a, 1.0), (b, 1.0)].into_iter().collect();
    let mut expr = quality - 0.8 * served.clone();
    expr += LinExpr::term(a, 0.2) * 2.0;
    expr -= -LinExpr::var(b);
    let row = lp.add_row("quality", expr, Cmp::Ge, 0.0);
    // a: 0.6 - 0.8 + 0.4 = 0.2; b: 0.9 - 0.8 + 1 = 1.1
    let coefs = &lp.rows[row].coefs;
    assert_eq!(coefs.iter().map(|c| c.0).collect::<Vec<_>>(), vec![a, b]);
    assert_all_close("merged", &coefs.iter().map(|c| c.1).collect::<Vec<_>>(), &[0.2, 1.1], 1e-12);
    // Terms that cancel are dropped.
    let cancelled = lp.add_row("zero", served.clone() - served, Cmp::Le, 1.0);
    assert!(lp.rows[cancelled].coefs.is_empty());
    let total: LinExpr = [LinExpr::var(a), LinExpr::var(b), LinExpr::var(a)].into_iter().sum();
    assert_close("eval", total.eval(&[0.25, 0.5]), 1.0, 1e-12);
}

#[test]
fn clean_weights_zeroes_dust_and_renormalises_each_group() {
    let x = [0.7, 1e-9, 0.3 - 1e-9, -1e-12, 1.0, 42.0];
    let cleaned = clean_weights(&x, &[vec![0, 1, 2], vec![3, 4]], 1e-6);
    assert_all_close(
        "cleaned",
        &cleaned,
        &[0.7 / (1.0 - 1e-9), 0.0, (0.3 - 1e-9) / (1.0 - 1e-9), 0.0, 1.0, 42.0],
        1e-15,
    );
    assert_eq!(cleaned[1], 0.0);
    assert_close("group sum", cleaned[0] + cleaned[2], 1.0, 1e-15);
    // A group with nothing above the threshold is left alone rather than emptied.
    assert_eq!(clean_weights(&[1e-9, 2e-9], &[vec![0, 1]], 1e-6), vec![1e-9, 2e-9]);
}

#[test]
fn violations_reports_rows_then_variables_with_amounts() {
    let mut lp = LinearProgram::new("check", Sense::Minimize);
    let x = lp.add_var("x", 0.0, 1.0, 0.0);
    let n = lp.add_int_var("n", 0.0, 10.0, 0.0);
    lp.add_row("le", LinExpr::var(x), Cmp::Le, 0.5);
    lp.add_row("ge", LinExpr::var(x), Cmp::Ge, 0.1);
    lp.add_row("eq", LinExpr::var(x) + LinExpr::var(n), Cmp::Eq, 3.0);
    let found = violations(&lp, &[1.25, 2.5], 1e-9);
    // le: 1.25 - 0.5; eq: |3.75 - 3|; x above its bound by 0.25; n half-way between integers.
    let want = [(0, 0.75), (2, 0.75), (3, 0.25), (4, 0.5)];
    assert_eq!(found.iter().map(|v| v.0).collect::<Vec<_>>(), want.iter().map(|v| v.0).collect::<Vec<_>>());
    for ((_, got), (i, amount)) in found.iter().zip(want) {
        assert_close(&format!("violation {i}"), *got, amount, 1e-12);
    }
    assert!(violations(&lp, &[0.5, 2.5], 0.6).is_empty());
    let near_integer = violations(&lp, &[0.5, 2.0 + 1e-12], 1e-9);
    assert_eq!(near_integer.iter().map(|v| v.0).collect::<Vec<_>>(), vec![2], "{near_integer:?}");
    // A short x is a violation, not a panic.
    assert!(violations(&lp, &[0.3], 1e-9).iter().any(|&(i, a)| i == 4 && a == f64::INFINITY));
}

#[test]
fn write_lp_matches_the_reviewed_text() {
    let mut lp = LinearProgram::new("golden: routing", Sense::Minimize);
    let a = lp.add_var("w[code,deepseek-v4@us-east-1]", 0.0, 1.0, 2.5);
    let b = lp.add_var("w[code,glm-5@eu-west-1]", 0.0, 1.0, 1e-7);
    let e = lp.add_var("end", f64::NEG_INFINITY, 4.0, -1.0);
    let f = lp.add_var("", f64::NEG_INFINITY, f64::INFINITY, 0.0);
    let n = lp.add_int_var("9 lives", 2.0, f64::INFINITY, 0.0);
    let same = lp.add_var("w[code,glm-5@eu-west-1]", 3.0, 3.0, 0.0);
    lp.add_row("share[code]", LinExpr::var(a) + LinExpr::var(b), Cmp::Eq, 1.0);
    lp.add_row("quality[code]", 0.9 * LinExpr::var(a) + 0.75 * LinExpr::var(b) - LinExpr::var(e), Cmp::Ge, -0.85);
    lp.add_row("obj", LinExpr::sum([(f, -1.0), (n, 2.0), (same, 2.5e14)]), Cmp::Le, 0.0);
    lp.add_row("", LinExpr::new(), Cmp::Le, 5.0);
    let mut out = Vec::new();
    write_lp(&lp, &mut out).unwrap();
    let want = "\
\\ golden: routing
Minimize
 obj~2: 2.5 w(code,deepseek_v4@us_east_1) + 1e-7 w(code,glm_5@eu_west_1) - _end
Subject To
 share(code): w(code,deepseek_v4@us_east_1) + w(code,glm_5@eu_west_1) = 1
 quality(code): 0.9 w(code,deepseek_v4@us_east_1) + 0.75 w(code,glm_5@eu_west_1) - _end >= -0.85
 obj: - x3 + 2 _9_lives + 250000000000000 w(code,glm_5@eu_west_1)~2 <= 0
 r3: 0 w(code,deepseek_v4@us_east_1) <= 5
Bounds
 0 <= w(code,deepseek_v4@us_east_1) <= 1
 0 <= w(code,glm_5@eu_west_1) <= 1
 -inf <= _end <= 4
 x3 free
 _9_lives >= 2
 w(code,glm_5@eu_west_1)~2 = 3
General
 _9_lives
End
";
    assert_eq!(String::from_utf8(out).unwrap(), want);
}

#[test]
fn write_lp_wraps_long_rows() {
    let lp = synthetic(2, 300, 1);
    let mut out = Vec::new();
    write_lp(&lp, &mut out).unwrap();
    let text = String::from_utf8(out).unwrap();
    assert!(text.lines().all(|l| l.len() <= 255), "a line is longer than 255 characters");
    assert_eq!(text.matches(" w(c1,e299)").count(), 6, "objective, share, quality, tail, capacity, bounds");
}

#[test]
fn synthetic_instances_solve_alike_on_both_backends_and_clean_without_violations() {
    let lp = synthetic(4, 25, 7);
    assert_eq!((lp.vars.len(), lp.rows.len(), lp.nnz()), (100, 3 * 4 + 25, 400));
    let exact = solve(&lp, Solver::Microlp).unwrap();
    let interior = solve(&lp, Solver::Clarabel).unwrap();
    assert_eq!((exact.status, interior.status), (LpStatus::Optimal, LpStatus::Optimal));
    assert_close("objective, clarabel vs microlp", interior.objective, exact.objective, 1e-7);
    let groups: Vec<Vec<usize>> = (0..4).map(|c| (c * 25..(c + 1) * 25).collect()).collect();
    let cleaned = clean_weights(&interior.x, &groups, 1e-7);
    assert!(cleaned.iter().all(|&w| w == 0.0 || w >= 1e-7));
    assert_eq!(violations(&lp, &cleaned, 1e-7), vec![]);
    assert_close("objective after cleaning", lp.objective_at(&cleaned), exact.objective, 1e-6);
}

#[test]
fn wide_programs_are_sifted_to_the_same_optimum_with_duals_that_certify_it() {
    // 5000 variables and 310 rows: wide enough for row and column generation.
    let lp = synthetic(20, 250, 11);
    let sifted = solve(&lp, Solver::Clarabel).unwrap();
    assert_eq!((sifted.status, sifted.solver), (LpStatus::Optimal, "clarabel+sifting"));
    let exact = solve(&lp, Solver::Microlp).unwrap();
    // The raw interior point pays for its dust: weights of 1e-9 on options costing 1e5 times the
    // cheapest (here 0.9 of the gap of 1.05 in 47280). Polished, it is the exact optimum.
    assert_close("objective, sifting vs microlp", sifted.objective, exact.objective, 1e-4);
    let polished = polish(&lp, &sifted.x, 1e-6).unwrap().expect("an optimal support");
    assert_close("objective, polished sifting vs microlp", lp.objective_at(&polished), exact.objective, 1e-12);
    // Weak duality: with the duals' signs right (>= rows >= 0, <= rows <= 0 when minimizing),
    // sum(y b) + sum over columns of min(0, reduced cost) * upper bound is a lower bound on the
    // optimum; it is tight only if the duals are optimal (here to about 4e-6: clarabel's gap
    // tolerance and sifting's pricing tolerance, both relative to the largest cost, add up over
    // 5000 columns).
    let y = sifted.duals.unwrap();
    let mut reduced: Vec<f64> = lp.vars.iter().map(|v| v.obj).collect();
    let mut bound = 0.0;
    for (row, &yi) in lp.rows.iter().zip(&y) {
        match row.cmp {
            Cmp::Ge => assert!(yi >= -1e-6, "row {}: dual {yi} of a >= row", row.name),
            Cmp::Le => assert!(yi <= 1e-6, "row {}: dual {yi} of a <= row", row.name),
            Cmp::Eq => {}
        }
        bound += yi * row.rhs;
        for &(j, a) in &row.coefs {
            reduced[j] -= a * yi;
        }
    }
    bound += reduced.iter().zip(&lp.vars).map(|(d, v)| d.min(0.0) * v.hi).sum::<f64>();
    assert!(bound <= exact.objective * (1.0 + 1e-12), "dual bound {bound} above the optimum {}", exact.objective);
    assert_close("dual bound vs optimum", bound, exact.objective, 1e-5);
}

#[test]
fn sifting_hands_an_infeasible_wide_program_to_the_whole_solve() {
    let mut lp = synthetic(20, 250, 11);
    let all = LinExpr::sum((0..lp.vars.len()).map(|j| (j, 1.0)));
    lp.add_row("too little traffic", all, Cmp::Le, 10.0); // the 20 shares need 20
    let s = solve(&lp, Solver::Clarabel).unwrap();
    assert_eq!((s.status, s.solver), (LpStatus::Infeasible, "clarabel"));
}

#[test]
fn polish_turns_interior_point_dust_into_an_exact_vertex() {
    let lp = synthetic(4, 25, 7);
    let interior = solve(&lp, Solver::Clarabel).unwrap();
    assert!(interior.x.iter().any(|&w| w != 0.0 && w.abs() < 1e-6), "expected some dust to polish");
    let vertex = polish(&lp, &interior.x, 1e-6).unwrap().expect("the support holds an optimal vertex");
    assert!(vertex.iter().all(|&w| w == 0.0 || w >= 1e-6));
    assert_eq!(violations(&lp, &vertex, 1e-9), vec![]);
    let exact = solve(&lp, Solver::Microlp).unwrap();
    assert_close("objective, polished vs microlp", lp.objective_at(&vertex), exact.objective, 1e-9);
    // A support that misses what the rows need is reported, not papered over.
    assert_eq!(polish(&lp, &vec![0.0; lp.vars.len()], 1e-6).unwrap(), None);
}
