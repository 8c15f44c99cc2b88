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
        vec!["compare", "--help"],
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

/// `simulate --json` of `trace` as a JSON value without the fields naming the input file.
fn simulate_value(trace: &Path, json: &Path, extra: &[&str]) -> serde_json::Value {
    let out = ok(bin()
        .args(["simulate", "--quiet", "--trace"])
        .arg(trace)
        .arg("--policy")
        .arg(root().join("policies/field-report.yaml"))
        .args(extra)
        .arg("--json")
        .arg(json));
    let mut v: serde_json::Value = serde_json::from_slice(&std::fs::read(json).unwrap()).unwrap();
    let text = v.to_string();
    let name = trace.display().to_string();
    assert!(text.contains(&name), "the report names its trace");
    v = serde_json::from_str(&text.replace(&name, "TRACE")).unwrap();
    // What the terminal shows comes with the same figures (and the same warnings).
    v["stderr"] = stderr(&out).replace(&name, "TRACE").replace(&json.display().to_string(), "JSON").into();
    v
}

#[test]
fn a_parquet_trace_replayed_as_it_is_read_reports_what_its_csv_does() {
    use switchyard::trace::write::{ColumnData, Table, write_table};
    let tmp = tempfile::tempdir().unwrap();
    let parquet = tmp.path().join("sample.parquet");
    ok(bin().args(["trace", "convert"]).arg(sample_trace()).arg("-o").arg(&parquet));
    for extra in [&[][..], &["--quantiles", "sketch"], &["--seed", "9"]] {
        let csv = simulate_value(&sample_trace(), &tmp.path().join("csv.json"), extra);
        let pq = simulate_value(&parquet, &tmp.path().join("pq.json"), extra);
        assert!(csv == pq, "{extra:?}: the Parquet run differs from the CSV run:\n{pq}\n{csv}");
    }
    // Out of time order: read whole and sorted, with the warning, as the same rows in CSV are.
    let rows = [(3.0, 120, 40), (1.0, 80, 300), (2.0, 1000, 5)];
    let table = Table::new()
        .with("timestamp_s", ColumnData::F64(rows.iter().map(|r| r.0).collect()))
        .with("input_tokens", ColumnData::U32(rows.iter().map(|r| r.1).collect()))
        .with("output_tokens", ColumnData::U32(rows.iter().map(|r| r.2).collect()));
    let (unsorted_pq, unsorted_csv) = (tmp.path().join("unsorted.parquet"), tmp.path().join("unsorted.csv"));
    write_table(&table, &unsorted_pq).unwrap();
    write_table(&table, &unsorted_csv).unwrap();
    let pq = simulate_value(&unsorted_pq, &tmp.path().join("u1.json"), &[]);
    assert!(pq["stderr"].as_str().unwrap().contains("not in time order"), "{}", pq["stderr"]);
    let csv = simulate_value(&unsorted_csv, &tmp.path().join("u2.json"), &[]);
    assert!(pq == csv, "unsorted: the Parquet run differs from the CSV run:\n{pq}\n{csv}");
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
    for needle in ["requests", "latency  p50", "p99", "class", "endpoint", "deepseek-v4-flash@us-east-1"] {
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
fn sketched_quantiles_are_within_their_error_of_exact_and_identical_at_any_thread_count() {
    let tmp = tempfile::tempdir().unwrap();
    let run = |threads: &str, extra: &[&str], name: &str| -> Vec<u8> {
        let json = tmp.path().join(name);
        ok(bin()
            .env("RAYON_NUM_THREADS", threads)
            .args(["simulate", "--quiet", "--replicates", "2", "--seed", "3", "--trace"])
            .arg(sample_trace())
            .arg("--policy")
            .arg(root().join("policies/field-report.yaml"))
            .arg("--json")
            .arg(&json)
            .args(extra));
        std::fs::read(json).unwrap()
    };
    let exact = run("2", &[], "exact.json");
    let one = run("1", &["--quantiles", "sketch"], "s1.json");
    // Keeping the outcomes for --per-request does not change how the summary is made.
    let per_request = tmp.path().join("requests.parquet");
    let two = run("2", &["--quantiles", "sketch", "--per-request", per_request.to_str().unwrap()], "s2.json");
    assert!(one == two, "sketched JSON differs between 1 and 2 threads (or with --per-request)");
    let json = |b: &[u8]| -> serde_json::Value { serde_json::from_slice(b).unwrap() };
    let (exact, sketched) = (json(&exact), json(&one));
    assert_eq!(sketched["inputs"]["quantiles"], "sketch");
    crate::des::same_report_but_sketched_quantiles(&exact, &sketched, "report");
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
    let out = ok(bin().args(["demo", "--quiet", "--requests", "50000", "--points", "4", "--out"]).arg(&out_dir));
    assert!(stdout(&out).contains("deepseek-v4-flash"), "{}", stdout(&out));
    for f in [
        "report.json",
        "requests.parquet",
        "trace.parquet",
        "policy.yaml",
        "constraints.yaml",
        "optimize/recommendation.json",
        "optimize/policy.yaml",
        "optimize/litellm-config.yaml",
        "optimize/portkey-config.json",
        "optimize/envoy-aigatewayroute.yaml",
        "optimize/openrouter-provider.json",
        "frontier/frontier.csv",
        "frontier/frontier.json",
        "frontier/frontier-cost-latency.png",
        "frontier/frontier-cost-latency.svg",
        "frontier/frontier-cost-quality.png",
        "frontier/frontier-cost-quality.svg",
    ] {
        assert!(out_dir.join(f).exists(), "demo did not write {f}");
    }
    let read =
        |f: &str| -> serde_json::Value { serde_json::from_slice(&std::fs::read(out_dir.join(f)).unwrap()).unwrap() };
    let v = read("report.json");
    let flash = v["per_model"]["deepseek-v4-flash"]["traffic_share"].as_f64().unwrap();
    assert!(
        (0.5..0.7).contains(&flash),
        "DeepSeek V4 Flash carries {flash:.3} of traffic, the field report says about 0.6"
    );
    // The optimizer found a routing, rounded to whole percent, cheaper than the field-report policy.
    let rec = read("optimize/recommendation.json");
    assert_eq!(rec["status"], "optimal", "{rec:#}");
    let current = rec["diff"]["current"]["all"]["cost_usd"]["mean"].as_f64().unwrap();
    let recommended = rec["diff"]["recommended"]["all"]["cost_usd"]["mean"].as_f64().unwrap();
    assert!(recommended < current, "recommended ${recommended:.2} is not cheaper than current ${current:.2}");
    for (segment, routes) in rec["weights"].as_object().unwrap() {
        let ws: Vec<f64> = routes.as_array().unwrap().iter().map(|r| r["weight"].as_f64().unwrap()).collect();
        let sum: f64 = ws.iter().sum();
        assert!((sum - 1.0).abs() < 1e-9, "{segment}: weights sum to {sum}");
        for w in ws {
            assert!((w * 100.0 - (w * 100.0).round()).abs() < 1e-9, "{segment}: weight {w} is not a whole percent");
        }
    }
    // A looser bound never costs more: the frontier's feasible costs do not increase.
    let frontier = read("frontier/frontier.json");
    let costs: Vec<f64> =
        frontier["latency"].as_array().unwrap().iter().filter_map(|p| p["cost_usd"].as_f64()).collect();
    assert!(!costs.is_empty(), "no feasible point on the demo frontier: {frontier:#}");
    for pair in costs.windows(2) {
        assert!(pair[1] <= pair[0] * (1.0 + 1e-9), "frontier cost rises with a looser bound: {costs:?}");
    }
    // `optimize` and `frontier` on the demo's files, on one thread, give byte for byte what the
    // demo wrote on all of them (the demo verifies with seed 43, 3 replicates, 2 rounds, and sweeps
    // every bound x0.6 to x2).
    let again = tmp.path().join("again");
    // An output file's folder must exist (`--out` folders are created by the command).
    std::fs::create_dir(&again).unwrap();
    let demo_file = |f: &str| out_dir.join(f);
    ok(bin()
        .args(["optimize", "--quiet", "--threads", "1", "--seed", "43", "--replicates", "3", "--rounds", "2"])
        .args(["--export", "litellm,portkey,envoy,openrouter", "--trace"])
        .arg(demo_file("trace.parquet"))
        .arg("--constraints")
        .arg(demo_file("constraints.yaml"))
        .arg("--current")
        .arg(demo_file("policy.yaml"))
        .arg("--dump-lp")
        .arg(again.join("model.lp"))
        .arg("--out")
        .arg(again.join("optimize")));
    ok(bin()
        .args(["frontier", "--quiet", "--threads", "1", "--from", "0.6", "--to", "2", "--points", "4", "--trace"])
        .arg(demo_file("trace.parquet"))
        .arg("--constraints")
        .arg(demo_file("constraints.yaml"))
        .arg("--current")
        .arg(demo_file("policy.yaml"))
        .arg("--out")
        .arg(again.join("frontier")));
    for f in [
        "optimize/policy.yaml",
        "optimize/litellm-config.yaml",
        "optimize/portkey-config.json",
        "optimize/envoy-aigatewayroute.yaml",
        "optimize/openrouter-provider.json",
        "frontier/frontier.csv",
        "frontier/frontier-quality.csv",
        "frontier/frontier.json",
        "frontier/frontier-cost-latency.svg",
    ] {
        let (a, b) = (std::fs::read(out_dir.join(f)).unwrap(), std::fs::read(again.join(f)).unwrap());
        assert!(a == b, "{f} differs between the demo (all threads) and the CLI (--threads 1)");
    }
    let lp = std::fs::read_to_string(again.join("model.lp")).unwrap();
    assert!(lp.starts_with("\\") && lp.contains("Minimize") && lp.trim_end().ends_with("End"), "{}", &lp[..200]);
    // The demo's outputs feed straight back into simulate: the field-report policy and the
    // recommendation alike.
    for policy in ["policy.yaml", "optimize/policy.yaml"] {
        ok(bin()
            .args(["simulate", "--quiet", "--trace"])
            .arg(out_dir.join("trace.parquet"))
            .arg("--policy")
            .arg(out_dir.join(policy)));
    }
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
