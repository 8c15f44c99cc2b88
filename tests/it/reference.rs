//! Agreement with the reference workload's Python peers (../shared/bench): switchyard's replay of
//! a generated reference trace, with policies/reference/{catalog,policy}.yaml, must agree with
//! `expected.py` (|z| < 4 on total cost and on successes, reading our --json directly) and with
//! `peer_numpy.py`'s p50/p90/p99, overall and per class, within 2%.
//!
//! Needs a generated workload (`gen_workload.py --requests 1000000 --seed 42`) and a Python with the
//! bench requirements; `.ci/run` makes both. The folder comes from SWITCHYARD_REF_DIR (default
//! `bench-data/ref-1m`), the Python from SWITCHYARD_BENCH_PYTHON (default `.bench-venv/bin/python`).
//! Without them the test prints why it skips; under CI (CI=true) their absence is a failure.

use crate::root;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

/// |z| bound for cost and successes against expected.py.
const Z_MAX: f64 = 4.0;
/// Relative tolerance for percentiles against peer_numpy.py.
const PERCENTILE_TOL: f64 = 0.02;

pub(crate) fn setup() -> Option<(PathBuf, PathBuf)> {
    let dir =
        std::env::var_os("SWITCHYARD_REF_DIR").map(PathBuf::from).unwrap_or_else(|| root().join("bench-data/ref-1m"));
    let python = std::env::var_os("SWITCHYARD_BENCH_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| root().join(".bench-venv/bin/python"));
    let shared = shared_bench();
    let missing: Vec<String> = [
        (dir.join("trace.csv"), "reference trace"),
        (python.clone(), "bench Python"),
        (shared.join("expected.py"), "../shared/bench"),
    ]
    .into_iter()
    .filter(|(p, _)| !p.exists())
    .map(|(p, what)| format!("{what} ({})", p.display()))
    .collect();
    if missing.is_empty() {
        return Some((dir, python));
    }
    let why = format!(
        "reference agreement test skipped: missing {}; run .ci/run's setup (see README, 'Reference workload')",
        missing.join(", ")
    );
    if std::env::var("CI").is_ok_and(|v| v == "true") {
        panic!("{why}");
    }
    eprintln!("{why}");
    None
}

pub(crate) fn shared_bench() -> PathBuf {
    std::env::var_os("SWITCHYARD_SHARED")
        .map(|s| PathBuf::from(s).join("bench"))
        .unwrap_or_else(|| root().join("../shared/bench"))
}

pub(crate) fn run_json(cmd: &mut Command) -> Value {
    let out = cmd.output().expect("command runs");
    assert!(out.status.success(), "{cmd:?} failed:\n{}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{cmd:?} printed no JSON ({e}):\n{}", String::from_utf8_lossy(&out.stdout)))
}

fn simulate(dir: &Path, json: &Path) {
    let out = Command::new(env!("CARGO_BIN_EXE_switchyard"))
        .args(["simulate", "--quiet", "--seed", "2026", "--trace"])
        .arg(dir.join("trace.csv"))
        .arg("--catalog")
        .arg(root().join("policies/reference/catalog.yaml"))
        .arg("--policy")
        .arg(root().join("policies/reference/policy.yaml"))
        .arg("--json")
        .arg(json)
        .output()
        .unwrap();
    assert!(out.status.success(), "simulate failed:\n{}", String::from_utf8_lossy(&out.stderr));
}

#[test]
fn reference_workload_agrees_with_the_python_peers() {
    let Some((dir, python)) = setup() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let ours = tmp.path().join("switchyard.json");
    simulate(&dir, &ours);

    // expected.py reads our JSON and computes z-scores against the exact expectation.
    let expected =
        run_json(Command::new(&python).arg(shared_bench().join("expected.py")).arg(&dir).arg("--check").arg(&ours));
    let check = &expected["checks"][0];
    for key in ["z_cost", "z_successes"] {
        let z = check[key].as_f64().unwrap();
        assert!(z.abs() < Z_MAX, "{key} = {z:.3} (bound {Z_MAX}); expected.py said {check}");
        eprintln!("{key} = {z:.3}");
    }

    let peer = run_json(Command::new(&python).arg(shared_bench().join("peer_numpy.py")).arg(&dir));
    let ours: Value = serde_json::from_str(&std::fs::read_to_string(&ours).unwrap()).unwrap();
    assert_percentiles_close(&peer, &ours, "switchyard", "peer_numpy", PERCENTILE_TOL);
}

/// p50, p90 and p99 of `ours` (switchyard's JSON) and `peer` (a peer's), overall and per class,
/// each within `tol` relative; prints the largest difference.
pub(crate) fn assert_percentiles_close(peer: &Value, ours: &Value, us: &str, them: &str, tol: f64) {
    let mut worst = 0.0f64;
    let mut groups = vec![("overall".to_string(), &peer["latency_s"]["overall"], &ours["latency_s"]["overall"])];
    for (class, p) in peer["latency_s"]["per_class"].as_object().unwrap() {
        groups.push((class.clone(), p, &ours["latency_s"]["per_class"][class]));
    }
    for (name, p, o) in groups {
        for q in ["p50", "p90", "p99"] {
            let (pv, ov) = (p[q].as_f64().unwrap(), o[q].as_f64().unwrap());
            let rel = (ov - pv).abs() / pv;
            worst = worst.max(rel);
            assert!(rel < tol, "{name} {q}: {us} {ov:.4} s vs {them} {pv:.4} s (rel {rel:.4}, tol {tol})");
        }
    }
    eprintln!("largest percentile difference vs {them}: {:.3}%", worst * 100.0);
}

#[test]
fn reference_yaml_matches_the_generated_catalog_and_policy() {
    let Some((dir, _)) = setup() else { return };
    let cat_json: Value = serde_json::from_str(&std::fs::read_to_string(dir.join("catalog.json")).unwrap()).unwrap();
    let catalog = switchyard::catalog::Catalog::load(&root().join("policies/reference/catalog.yaml")).unwrap();
    let endpoints = cat_json["endpoints"].as_array().unwrap();
    assert_eq!(catalog.endpoints.len(), endpoints.len());
    for (ours, theirs) in catalog.endpoints.iter().zip(endpoints) {
        assert_eq!(ours.id, theirs["id"].as_str().unwrap(), "endpoint order");
        let mu = theirs["ttft_mu"].as_f64().unwrap();
        let sigma = theirs["ttft_sigma"].as_f64().unwrap();
        assert_eq!(ours.ttft, switchyard::catalog::LatencyDist::LogNormal { mu, sigma }, "{}", ours.id);
        assert_eq!(ours.availability, theirs["availability"].as_f64().unwrap(), "{}", ours.id);
        assert_eq!(ours.prices.output_per_mtok, theirs["price_out_per_mtok"].as_f64().unwrap(), "{}", ours.id);
        assert_eq!(ours.prices.input_per_mtok, theirs["price_in_per_mtok"].as_f64().unwrap(), "{}", ours.id);
        assert_eq!(ours.decode.median_tokens_per_s(), theirs["decode_tokens_per_s"].as_f64().unwrap(), "{}", ours.id);
        assert_eq!(ours.limits.max_concurrency, theirs["max_concurrency"].as_u64(), "{}", ours.id);
    }
    let pol_json: Value = serde_json::from_str(&std::fs::read_to_string(dir.join("policy.json")).unwrap()).unwrap();
    let policy = switchyard::policy::Policy::load(&root().join("policies/reference/policy.yaml"), &catalog).unwrap();
    for rule in &policy.rules {
        let class = &rule.classes.as_ref().unwrap()[0];
        let spec = &pol_json["classes"][class];
        let weights: Vec<(String, f64)> =
            spec["weights"].as_object().unwrap().iter().map(|(k, v)| (k.clone(), v.as_f64().unwrap())).collect();
        let ours: Vec<(String, f64)> =
            rule.targets.iter().map(|(e, w)| (catalog.endpoints[*e].id.clone(), *w)).collect();
        assert_eq!(ours, weights, "class {class}: targets in sampling order");
        assert_eq!(catalog.endpoints[rule.fallbacks[0]].id, spec["fallback"].as_str().unwrap());
    }
}
