//! Golden files: the bytes switchyard writes for a fixed set of runs, kept under tests/golden/ and
//! compared byte for byte. They pin behaviour while the code is reshaped: a refactor that changes
//! any number, key order or float formatting of a report, a recommendation, a frontier or an export
//! fails here with the first differing line.
//!
//! An intended change of output regenerates them: `SWITCHYARD_BLESS=1 cargo test --test it golden::`
//! and the diff goes into the commit that changes the output (with a schema version bump where a
//! reader could notice).

use crate::root;
use std::path::{Path, PathBuf};
use std::process::Command;

/// Where the run's own folder appears inside its files (recommendation.json names its inputs and
/// outputs): replaced by this placeholder so that the golden files do not depend on the temp dir.
const OUT: &str = "<OUT>";
/// Where the checkout is (reports name the policies they read from it): CI clones elsewhere.
const ROOT: &str = "<ROOT>";

fn golden_dir(case: &str) -> PathBuf {
    root().join("tests/golden").join(case)
}

fn run(args: &[&str]) {
    let out = Command::new(env!("CARGO_BIN_EXE_switchyard")).args(args).output().expect("the binary runs");
    assert!(
        out.status.success(),
        "switchyard {args:?} failed ({}):\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Compares `files` (relative to `dir`) with the golden copies of `case`, or rewrites them under
/// SWITCHYARD_BLESS=1.
fn check(case: &str, dir: &Path, files: &[&str]) {
    let bless = std::env::var("SWITCHYARD_BLESS").is_ok_and(|v| v == "1");
    let mut failures = Vec::new();
    for file in files {
        let got = std::fs::read(dir.join(file)).unwrap_or_else(|e| panic!("{case}: {file} was not written: {e}"));
        let got = normalise(&got, dir);
        let want_path = golden_dir(case).join(file);
        if bless {
            std::fs::create_dir_all(want_path.parent().unwrap()).unwrap();
            std::fs::write(&want_path, &got).unwrap();
            continue;
        }
        let want = std::fs::read(&want_path).unwrap_or_else(|e| {
            panic!(
                "{case}: no golden copy {} ({e}); run SWITCHYARD_BLESS=1 cargo test --test it golden::",
                want_path.display()
            )
        });
        if got != want {
            failures.push(first_difference(file, &want, &got));
        }
    }
    assert!(
        failures.is_empty(),
        "{case}: {} file(s) differ from tests/golden/{case}/ (SWITCHYARD_BLESS=1 regenerates them if the change is intended):\n{}",
        failures.len(),
        failures.join("\n")
    );
}

fn normalise(bytes: &[u8], dir: &Path) -> Vec<u8> {
    let Ok(text) = std::str::from_utf8(bytes) else { return bytes.to_vec() };
    text.replace(&*dir.to_string_lossy(), OUT).replace(&*root().to_string_lossy(), ROOT).into_bytes()
}

fn first_difference(file: &str, want: &[u8], got: &[u8]) -> String {
    let (w, g) = (String::from_utf8_lossy(want), String::from_utf8_lossy(got));
    for (n, (wl, gl)) in w.lines().zip(g.lines()).enumerate() {
        if wl != gl {
            return format!("  {file} line {}:\n    golden: {wl}\n    now:    {gl}", n + 1);
        }
    }
    format!("  {file}: golden has {} lines, now {} (same prefix)", w.lines().count(), g.lines().count())
}

const DEMO_FILES: &[&str] = &[
    "report.json",
    "policy.yaml",
    "constraints.yaml",
    "optimize/recommendation.json",
    "optimize/policy.yaml",
    "optimize/litellm-config.yaml",
    "optimize/portkey-config.json",
    "optimize/envoy-aigatewayroute.yaml",
    "optimize/openrouter-provider.json",
    "frontier/frontier.json",
    "frontier/frontier.csv",
    "frontier/frontier-budget.csv",
    "frontier/frontier-quality.csv",
    "frontier/frontier-cost-latency.svg",
    "frontier/frontier-cost-quality.svg",
];

/// The demo end to end (synthetic day, replay, optimize with replay verification, four exports,
/// frontier and its charts), then three simulate runs on its trace: replicates with a
/// counterfactual, the sketch quantiles, and the discrete-event engine under an outage.
#[test]
fn the_demo_and_simulate_write_the_golden_bytes() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("demo");
    let o = out.to_str().unwrap();
    run(&["demo", "--requests", "40000", "--points", "4", "--seed", "7", "--threads", "2", "-q", "--out", o]);
    check("demo", &out, DEMO_FILES);

    let trace = out.join("trace.parquet");
    let t = trace.to_str().unwrap();
    let policy = root().join("policies/field-report.yaml");
    let p = policy.to_str().unwrap();
    run(&[
        "simulate",
        "--trace",
        t,
        "--policy",
        p,
        "--replicates",
        "3",
        "--counterfactual",
        "--seed",
        "11",
        "-q",
        "--json",
        &format!("{o}/replicates.json"),
    ]);
    run(&[
        "simulate",
        "--trace",
        t,
        "--policy",
        p,
        "--quantiles",
        "sketch",
        "--seed",
        "11",
        "-q",
        "--json",
        &format!("{o}/sketch.json"),
    ]);
    let scenario = root().join("policies/scenario-outage.yaml");
    run(&[
        "simulate",
        "--trace",
        t,
        "--policy",
        p,
        "--engine",
        "des",
        "--scenario",
        scenario.to_str().unwrap(),
        "--replicates",
        "2",
        "--seed",
        "11",
        "-q",
        "--json",
        &format!("{o}/des.json"),
        "--timeseries",
        &format!("{o}/des-timeline.csv"),
    ]);
    check("simulate", &out, &["replicates.json", "sketch.json", "des.json", "des-timeline.csv"]);
}

/// Every golden simulate report reads back as a typed report ([`SimulateReport::load`]) and
/// writes out again byte for byte: nothing in the layout is lost or reordered on the way.
#[test]
fn every_golden_simulate_report_reads_back_and_writes_the_same_bytes() {
    use switchyard::report::SimulateReport;
    for file in ["demo/report.json", "simulate/replicates.json", "simulate/sketch.json", "simulate/des.json"] {
        let path = root().join("tests/golden").join(file);
        let text = std::fs::read_to_string(&path).unwrap();
        let text = text.replace(ROOT, &root().to_string_lossy());
        let report = SimulateReport::from_json(&text, &path).unwrap_or_else(|e| panic!("{file}: {e}"));
        assert_eq!(report.to_json(), text, "{file} written again differs");
    }
    let policy = root().join("policies/field-report.yaml");
    let e = SimulateReport::load(&policy).unwrap_err().to_string();
    assert!(e.contains("field-report.yaml") && e.contains("not a simulate report"), "{e}");
}

/// The golden recommendation and frontier read back as typed reports and write out again byte for
/// byte; each refuses the other's file, naming what it is not.
#[test]
fn the_golden_recommendation_and_frontier_read_back_and_write_the_same_bytes() {
    use switchyard::report::{FrontierReport, RecommendationReport};
    let dir = root().join("tests/golden/demo");
    let rec_path = dir.join("optimize/recommendation.json");
    let rec = RecommendationReport::load(&rec_path).unwrap();
    assert_eq!(rec.to_json(), std::fs::read_to_string(&rec_path).unwrap(), "recommendation.json written again differs");
    assert_eq!(rec.status, "optimal");
    let frontier_path = dir.join("frontier/frontier.json");
    let frontier = FrontierReport::load(&frontier_path).unwrap();
    assert_eq!(
        frontier.to_json(),
        std::fs::read_to_string(&frontier_path).unwrap(),
        "frontier.json written again differs"
    );
    assert!(frontier.latency.iter().any(|p| p.feasible), "a feasible latency point");
    let e = FrontierReport::load(&rec_path).unwrap_err().to_string();
    assert!(e.contains("recommendation.json") && e.contains("is not a frontier"), "{e}");
    let e = RecommendationReport::load(&frontier_path).unwrap_err().to_string();
    assert!(e.contains("frontier.json") && e.contains("is not a recommendation"), "{e}");
}
