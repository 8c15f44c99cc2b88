//! The built binary, end to end: help, demo, simulate, validate, determinism, exit codes.

use crate::root;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_switchyard"))
}

fn run(cmd: &mut Command) -> Output {
    cmd.output().expect("the binary runs")
}

fn ok(cmd: &mut Command) -> Output {
    let out = run(cmd);
    assert!(out.status.success(), "{cmd:?} failed ({}):\n{}", out.status, String::from_utf8_lossy(&out.stderr));
    out
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}
fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[test]
fn every_subcommand_has_help_with_an_example() {
    for args in [
        vec!["--help"],
        vec!["demo", "--help"],
        vec!["simulate", "--help"],
        vec!["validate", "--help"],
        vec!["trace", "synth", "--help"],
        vec!["trace", "stats", "--help"],
        vec!["trace", "convert", "--help"],
        vec!["trace", "import", "--help"],
        vec!["calibrate", "--help"],
        vec!["catalog", "show", "--help"],
        vec!["catalog", "default", "--help"],
    ] {
        let out = ok(bin().args(&args));
        let text = stdout(&out);
        assert!(text.contains("Example"), "`switchyard {}` help has no example:\n{text}", args.join(" "));
    }
}

fn sample_trace() -> PathBuf {
    root().join("traces/sample.csv")
}

fn simulate_json(dir: &Path, name: &str, threads: &str, seed: &str) -> Vec<u8> {
    let json = dir.join(name);
    ok(bin()
        .env("RAYON_NUM_THREADS", threads)
        .args(["simulate", "--quiet", "--replicates", "3", "--seed", seed, "--trace"])
        .arg(sample_trace())
        .arg("--policy")
        .arg(root().join("policies/field-report.yaml"))
        .arg("--json")
        .arg(&json));
    std::fs::read(json).unwrap()
}

#[test]
fn same_seed_gives_identical_json_at_any_thread_count() {
    let tmp = tempfile::tempdir().unwrap();
    let one = simulate_json(tmp.path(), "t1.json", "1", "7");
    let two = simulate_json(tmp.path(), "t2.json", "2", "7");
    assert!(one == two, "JSON differs between 1 and 2 threads");
    let other = simulate_json(tmp.path(), "s8.json", "2", "8");
    assert!(one != other, "a different seed gave the same JSON");
}

#[test]
fn simulate_prints_a_table_and_writes_the_documented_json() {
    let tmp = tempfile::tempdir().unwrap();
    let json = tmp.path().join("r.json");
    let per_request = tmp.path().join("requests.csv");
    let out = ok(bin()
        .args(["simulate", "--quiet", "--trace"])
        .arg(sample_trace())
        .arg("--policy")
        .arg(root().join("policies/field-report.yaml"))
        .arg("--json")
        .arg(&json)
        .arg("--per-request")
        .arg(&per_request));
    let text = stdout(&out);
    for needle in ["requests", "latency s", "p99", "class", "endpoint", "deepseek-v4-flash@us-east-1"] {
        assert!(text.contains(needle), "table lacks {needle:?}:\n{text}");
    }
    let v: serde_json::Value = serde_json::from_slice(&std::fs::read(&json).unwrap()).unwrap();
    let n = v["n_requests"].as_u64().unwrap();
    let rows = std::fs::read_to_string(&per_request).unwrap().lines().count() as u64 - 1;
    assert_eq!(rows, n, "one per-request row per request");
    for path in [
        "/n_failed",
        "/success_rate",
        "/total_cost_usd",
        "/latency_s/overall/p50",
        "/latency_s/overall/p90",
        "/latency_s/overall/p99",
        "/latency_s/per_class/chat/p99",
        "/per_model/deepseek-v4-flash/cost_usd",
        "/per_model/deepseek-v4-flash/cost_share",
        "/per_model/deepseek-v4-flash/requests_served",
        "/per_model/deepseek-v4-flash/traffic_share",
        "/per_class/chat/fallback_rate",
        "/per_origin/us-east-1/cost_per_1k_requests_usd",
        "/per_endpoint/deepseek-v4-flash@us-east-1/attempts",
    ] {
        assert!(v.pointer(path).is_some_and(|x| !x.is_null()), "JSON lacks {path}");
    }
    let served: u64 =
        v["per_model"].as_object().unwrap().values().map(|m| m["requests_served"].as_u64().unwrap()).sum();
    assert_eq!(served, v["n_served"].as_u64().unwrap(), "per-model served adds up");
}

#[test]
fn replicates_add_confidence_intervals() {
    let tmp = tempfile::tempdir().unwrap();
    let bytes = simulate_json(tmp.path(), "r.json", "2", "1");
    let v: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
    assert_eq!(v["replicates"], 3);
    let mean = v["total_cost_usd"].as_f64().unwrap();
    let ci = &v["ci95"]["total_cost_usd"];
    let (lo, hi) = (ci[0].as_f64().unwrap(), ci[1].as_f64().unwrap());
    assert!(lo < mean && mean < hi, "interval [{lo}, {hi}] does not contain the mean {mean}");
    assert!(v["ci95"]["latency_s"]["overall"]["p99"].is_array());
}

#[test]
fn demo_writes_its_outputs() {
    let tmp = tempfile::tempdir().unwrap();
    let out_dir = tmp.path().join("demo");
    let out = ok(bin().args(["demo", "--quiet", "--requests", "20000", "--out"]).arg(&out_dir));
    assert!(stdout(&out).contains("deepseek-v4-flash"), "{}", stdout(&out));
    for f in ["report.json", "requests.parquet", "trace.parquet", "policy.yaml"] {
        assert!(out_dir.join(f).exists(), "demo did not write {f}");
    }
    let v: serde_json::Value = serde_json::from_slice(&std::fs::read(out_dir.join("report.json")).unwrap()).unwrap();
    let flash = v["per_model"]["deepseek-v4-flash"]["traffic_share"].as_f64().unwrap();
    assert!(
        (0.5..0.7).contains(&flash),
        "DeepSeek V4 Flash carries {flash:.3} of traffic, the field report says about 0.6"
    );
    // The demo's outputs feed straight back into simulate.
    ok(bin()
        .args(["simulate", "--quiet", "--trace"])
        .arg(out_dir.join("trace.parquet"))
        .arg("--policy")
        .arg(out_dir.join("policy.yaml")));
}

#[test]
fn validate_reports_every_problem_with_exit_code_2() {
    let tmp = tempfile::tempdir().unwrap();
    let policy = tmp.path().join("bad.yaml");
    std::fs::write(
        &policy,
        "rules:\n  - targets: {deepseek-v4-flsh@us-east-1: 0.5, qwen3-32b@us-east-1: -0.5}\n    fallback: [nope@us-east-1]\n",
    )
    .unwrap();
    let out = run(bin().arg("validate").arg("--policy").arg(&policy));
    assert_eq!(out.status.code(), Some(2), "stderr: {}", stderr(&out));
    let err = stderr(&out);
    for needle in
        ["3 problems", "bad.yaml:2", "deepseek-v4-flash@us-east-1", "weight -0.5", "bad.yaml:3", "nope@us-east-1"]
    {
        assert!(err.contains(needle), "validate output lacks {needle:?}:\n{err}");
    }
    let good = ok(bin()
        .arg("validate")
        .arg("--policy")
        .arg(root().join("policies/field-report.yaml"))
        .arg("--trace")
        .arg(sample_trace()));
    assert!(stdout(&good).starts_with("ok:"), "{}", stdout(&good));
}

#[test]
fn an_input_file_is_never_modified() {
    let before = std::fs::read(sample_trace()).unwrap();
    let tmp = tempfile::tempdir().unwrap();
    ok(bin().args(["trace", "convert"]).arg(sample_trace()).arg("-o").arg(tmp.path().join("x.parquet")));
    assert_eq!(before, std::fs::read(sample_trace()).unwrap());
}

#[test]
fn catalog_show_lists_endpoints() {
    let out = ok(bin().args(["catalog", "show"]));
    let text = stdout(&out);
    assert!(text.contains("deepseek-v4-flash@us-east-1"), "{text}");
    let out =
        ok(bin().args(["catalog", "show", "--json", "--catalog"]).arg(root().join("policies/reference/catalog.yaml")));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["endpoints"].as_array().unwrap().len(), 18);
}

#[test]
fn trace_stats_and_synth_work_from_the_cli() {
    let tmp = tempfile::tempdir().unwrap();
    let spec = tmp.path().join("spec.yaml");
    let out = ok(bin().args(["trace", "synth", "--print-default-spec"]));
    std::fs::write(&spec, &out.stdout).unwrap();
    let csv = tmp.path().join("t.csv");
    ok(bin().args(["trace", "synth", "--spec"]).arg(&spec).args(["--seed", "3", "-o"]).arg(&csv));
    let stats = ok(bin().args(["trace", "stats"]).arg(&csv));
    assert!(stdout(&stats).contains("rows"), "{}", stdout(&stats));
}
