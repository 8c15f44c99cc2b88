//! The reference LP (SEMANTICS.md section 6) solved by switchyard equals peer_lp.py's optimum (scipy
//! HiGHS, via tests/peer/lp_points.py with tails over every row) within 1e-6 relative, at bounds on
//! the steep part of the frontier, on the flat part, and where it is infeasible.
//!
//! Needs the generated reference workload and the bench Python, as tests/reference.rs does: the
//! folder from SWITCHYARD_REF_DIR (default `bench-data/ref-1m`), the Python from
//! SWITCHYARD_BENCH_PYTHON (default `.bench-venv/bin/python`). Skips with a reason without them,
//! fails under CI=true.

use crate::root;
use std::path::PathBuf;
use std::process::Command;

use switchyard::catalog::Catalog;
use switchyard::optimize::{self, Constraints, Solved, model};
use switchyard::trace::{self, ReadOptions};

/// Relative agreement of the optimal cost with scipy HiGHS.
const REL_TOL: f64 = 1e-6;
/// Multipliers of every class's T_ref: infeasible, steep, knee, flat.
const MULTS: [f64; 5] = [0.5, 0.55, 0.6, 0.75, 1.0];

fn setup() -> Option<(PathBuf, PathBuf, PathBuf)> {
    let dir =
        std::env::var_os("SWITCHYARD_REF_DIR").map(PathBuf::from).unwrap_or_else(|| root().join("bench-data/ref-1m"));
    let python = std::env::var_os("SWITCHYARD_BENCH_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| root().join(".bench-venv/bin/python"));
    let shared = std::env::var_os("SWITCHYARD_SHARED")
        .map(|s| PathBuf::from(s).join("bench"))
        .unwrap_or_else(|| root().join("../shared/bench"));
    let missing: Vec<String> = [
        (dir.join("trace.csv"), "reference trace"),
        (python.clone(), "bench Python"),
        (shared.join("peer_lp.py"), "../shared/bench"),
    ]
    .into_iter()
    .filter(|(p, _)| !p.exists())
    .map(|(p, what)| format!("{what} ({})", p.display()))
    .collect();
    if missing.is_empty() {
        return Some((dir, python, shared));
    }
    let why = format!("optimizer reference test skipped: missing {}; run .ci/run's setup", missing.join(", "));
    if std::env::var("CI").is_ok_and(|v| v == "true") {
        panic!("{why}");
    }
    eprintln!("{why}");
    None
}

#[test]
fn reference_optimum_equals_scipy_highs_at_several_bounds() {
    let Some((dir, python, shared)) = setup() else { return };
    let out = Command::new(&python)
        .arg(root().join("tests/peer/lp_points.py"))
        .arg(&shared)
        .arg(&dir)
        .args(MULTS.iter().map(|m| m.to_string()))
        .output()
        .expect("python runs");
    assert!(out.status.success(), "lp_points.py failed:\n{}", String::from_utf8_lossy(&out.stderr));
    let peer: Vec<serde_json::Value> = serde_json::from_slice(&out.stdout).expect("JSON from lp_points.py");

    let catalog = Catalog::load(&root().join("policies/reference/catalog.yaml")).unwrap();
    let constraints = Constraints::load(&root().join("policies/reference/constraints.yaml"), &catalog).unwrap();
    let trace = trace::read(&dir.join("trace.csv"), &ReadOptions::default()).unwrap();
    let instance = optimize::instance(&catalog, &constraints, &trace, &MULTS, false).unwrap();
    let n_vars: usize = instance.routes.iter().map(Vec::len).sum();
    assert_eq!(n_vars, 102, "SEMANTICS.md section 6 has 102 variables");
    let mut feasible = 0;
    for (k, &mult) in MULTS.iter().enumerate() {
        let targets = instance.targets(&constraints, mult);
        let ours = model::solve_targets(&instance, &catalog, &constraints, &targets).unwrap();
        let theirs = peer[k]["cost_usd"].as_f64();
        match (ours, theirs) {
            (Solved::Optimal(r), Some(c)) => {
                let rel = (r.objective - c).abs() / c;
                println!("x{mult}: switchyard {:.9} scipy {c:.9} (relative {rel:.2e})", r.objective);
                assert!(
                    rel <= REL_TOL,
                    "x{mult}: switchyard ${} vs scipy HiGHS ${c}: relative {rel:.2e} > {REL_TOL:e}",
                    r.objective
                );
                feasible += 1;
            }
            (Solved::Infeasible, None) => println!("x{mult}: both infeasible"),
            (ours, theirs) => panic!("x{mult}: switchyard {ours:?} but scipy {theirs:?}"),
        }
    }
    assert!(feasible >= 3, "too few feasible points compared ({feasible})");
}
