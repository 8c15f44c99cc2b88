//! The discrete-event engine against `peer_simpy.py` on the reference 1M trace with the catalog's
//! concurrency limits (SEMANTICS.md section 5): queue statistics within their Monte Carlo noise
//! (|z| < 4 against the spread of our replicates) and latency percentiles within 2%, overall and per
//! class. Needs the same generated workload and bench Python as `reference.rs`, and skips the same
//! way (with a printed reason; a failure under CI=true).

use std::process::Command;

use serde_json::Value;

use crate::reference::{assert_percentiles_close, run_json, setup, shared_bench};
use crate::root;

/// |z| bound for the queue statistics.
const Z_MAX: f64 = 4.0;
/// Relative tolerance for latency percentiles (p99 of a class at 1M has about 1-2% noise).
const PERCENTILE_TOL: f64 = 0.02;
/// Our replicates, for the spread of the queue statistics.
const REPLICATES: u32 = 4;

#[test]
fn des_agrees_with_peer_simpy_on_the_reference_workload() {
    let Some((dir, python)) = setup() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let ours_path = tmp.path().join("des.json");
    let out = Command::new(env!("CARGO_BIN_EXE_switchyard"))
        .args(["simulate", "--quiet", "--engine", "des", "--seed", "2026", "--replicates"])
        .arg(REPLICATES.to_string())
        .arg("--trace")
        .arg(dir.join("trace.csv"))
        .arg("--catalog")
        .arg(root().join("policies/reference/catalog.yaml"))
        .arg("--policy")
        .arg(root().join("policies/reference/policy.yaml"))
        .arg("--scenario")
        .arg(root().join("policies/reference/scenario.yaml"))
        .arg("--json")
        .arg(&ours_path)
        .output()
        .unwrap();
    assert!(out.status.success(), "simulate --engine des failed:\n{}", String::from_utf8_lossy(&out.stderr));
    let ours: Value = serde_json::from_str(&std::fs::read_to_string(&ours_path).unwrap()).unwrap();
    let peer = run_json(Command::new(&python).arg(shared_bench().join("peer_simpy.py")).arg(&dir));

    // Queue statistics: the mean of our replicates and its 95% interval give the per-run spread.
    for key in ["requests_that_waited", "mean_wait_s_all"] {
        let mean = ours["des"]["queue"][key].as_f64().unwrap();
        let ci = &ours["ci95"]["des"]["queue"][key];
        let half = (ci[1].as_f64().unwrap() - ci[0].as_f64().unwrap()) / 2.0;
        // Half-width = t(0.975, R-1) * sd / sqrt(R); one peer run against our mean has sd * sqrt(1 + 1/R).
        let t = switchyard::report::t95(REPLICATES as usize - 1);
        let sd = half / t * (REPLICATES as f64).sqrt();
        let theirs = peer["queue"][key].as_f64().unwrap();
        let z = (theirs - mean) / (sd * (1.0 + 1.0 / REPLICATES as f64).sqrt());
        eprintln!("{key}: switchyard {mean:.5} (sd {sd:.5}) vs peer_simpy {theirs:.5}, z = {z:.2}");
        assert!(
            z.abs() < Z_MAX,
            "{key}: switchyard {mean} (sd {sd}) vs peer_simpy {theirs}: z = {z:.2} (bound {Z_MAX})"
        );
    }

    assert_percentiles_close(&peer, &ours, "switchyard des", "peer_simpy", PERCENTILE_TOL);
}
