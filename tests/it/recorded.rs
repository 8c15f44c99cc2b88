//! What-ifs on recorded traffic: counterfactual replay (kept versus sampled) and repricing.

use std::path::Path;
use std::process::Command;

use switchyard::catalog::Catalog;
use switchyard::engine::{self, NOT_SERVED, ReplayOptions, Status};
use switchyard::policy::Policy;
use switchyard::recorded::reprice::{load, reprice};
use switchyard::recorded::{Kept, counterfactual};
use switchyard::trace::TraceFormat;
use switchyard::trace::import::{Carried, ImportOptions, Request, build_trace, import};

use crate::root;

/// Sampled latency is 10 s plus decode (fixed TTFT); recorded ones are below 5 s, so the two
/// cannot be confused.
const CATALOG: &str = "
models:
  - name: m1
    ttft: {fixed: 10.0}
    decode: {constant: 100}
    availability: 1.0
    prices: {input_per_mtok: 1, output_per_mtok: 2}
    regions: {r1: {}, r2: {}}
";

#[test]
fn requests_routed_to_their_recorded_endpoint_keep_their_recorded_outcome() {
    let catalog = Catalog::from_yaml_str(CATALOG, Path::new("c.yaml")).unwrap();
    let rec = |t: f64, region: Option<&str>, latency: Option<f64>, status: &str| Request {
        timestamp_s: t,
        input_tokens: 100,
        output_tokens: 100,
        model: Some("m1".into()),
        region: region.map(str::to_string),
        latency_s: latency,
        status: Some(status.into()),
        ..Request::default()
    };
    let requests = vec![
        rec(0.0, Some("r1"), Some(1.5), "ok"),
        rec(1.0, Some("r1"), Some(0.2), "rate_limited"),
        rec(2.0, Some("r2"), Some(2.5), "ok"),
        rec(3.0, None, Some(3.0), "ok"),
        rec(4.0, Some("r1"), None, "ok"),
    ];
    let carried = Carried { model: true, region: true, latency_s: true, status: true, ..Carried::default() };
    let trace = build_trace("recorded".into(), requests, carried);
    let policy =
        Policy::from_yaml_str("rules:\n  - name: all\n    targets: {m1@r1: 1.0}\n", Path::new("p.yaml"), &catalog)
            .unwrap();
    let table = policy.bind(&catalog, &trace).unwrap();
    let mut outcomes = engine::replay(&catalog, &table, &trace, &ReplayOptions::default());
    let kept = counterfactual(&catalog, &trace, &mut outcomes);
    assert_eq!(kept, Kept { kept: 2, sampled_rerouted: 1, sampled_unrecorded: 2 });
    assert_eq!(outcomes.latency_s[0], 1.5);
    assert_eq!((outcomes.status[1], outcomes.served[1], outcomes.latency_s[1]), (Status::Failed, NOT_SERVED, 0.2));
    // Sampled: 10 s TTFT + 100 tokens at 100/s.
    for i in 2..5 {
        assert_eq!((outcomes.status[i], outcomes.latency_s[i]), (Status::Ok, 11.0), "request {i}");
    }
}

const PRICES: &str = "
prices:
  azure/gpt-4o-mini: {input_per_mtok: 1.0, output_per_mtok: 2.0}
  bedrock/anthropic.claude-3-haiku@us-west-2: {input_per_mtok: 0.5, output_per_mtok: 1.5}
";

/// Dollar sums of a few requests.
const USD_TOL: f64 = 1e-12;

#[test]
fn repricing_bills_successful_requests_at_the_new_prices() {
    let dir = tempfile::tempdir().unwrap();
    let prices = dir.path().join("prices.yaml");
    std::fs::write(&prices, PRICES).unwrap();
    let (trace, _) = import(
        &root().join("tests/fixtures/import/litellm_spend.csv"),
        TraceFormat::Litellm,
        &ImportOptions::default(),
    )
    .unwrap();
    let rows = reprice(&trace, &load(&prices).unwrap()).unwrap();
    let azure = rows.iter().find(|r| r.model == "azure/gpt-4o-mini").unwrap();
    // t1: 800 in, 300 out at $1/$2 per M; t3 failed and is not billed.
    assert_eq!((azure.requests, azure.billed_requests), (2, 1));
    assert!((azure.repriced_usd - 0.0014).abs() < USD_TOL, "{azure:?}");
    assert!((azure.recorded_usd.unwrap() - 0.00105).abs() < USD_TOL, "{azure:?}");
    let haiku = rows.iter().find(|r| r.model == "bedrock/anthropic.claude-3-haiku").unwrap();
    assert!((haiku.repriced_usd - 0.00125).abs() < USD_TOL, "model@region price: {haiku:?}");

    std::fs::write(&prices, format!("{PRICES}serve_as: azure/gpt-4o-mini\n")).unwrap();
    let rows = reprice(&trace, &load(&prices).unwrap()).unwrap();
    let total: f64 = rows.iter().map(|r| r.repriced_usd).sum();
    assert!((total - 0.0034).abs() < USD_TOL, "all at azure prices: {total}");

    std::fs::write(&prices, format!("{PRICES}serve_as: nobody\n")).unwrap();
    let msg = load(&prices).unwrap_err().to_string();
    assert!(msg.contains("`serve_as`") && msg.contains("azure/gpt-4o-mini"), "{msg}");
}

#[test]
fn cli_counterfactual_and_reprice_on_an_imported_log() {
    let dir = tempfile::tempdir().unwrap();
    let log = root().join("tests/fixtures/import/litellm_spend.csv");
    let catalog = dir.path().join("calibrated.yaml");
    let run = |args: &mut Command| {
        let o = args.output().unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        String::from_utf8_lossy(&o.stdout).into_owned()
    };
    let bin = || Command::new(env!("CARGO_BIN_EXE_switchyard"));
    run(bin().args(["calibrate", "--format", "litellm", "--trace"]).arg(&log).arg("-o").arg(&catalog));
    let policy = dir.path().join("policy.yaml");
    std::fs::write(&policy, "rules:\n  - name: all\n    targets: {azure/gpt-4o-mini@eastus2: 1.0}\n").unwrap();
    let json = dir.path().join("sim.json");
    let out = run(bin()
        .args(["simulate", "--quiet", "--counterfactual", "--format", "litellm", "--trace"])
        .arg(&log)
        .arg("--catalog")
        .arg(&catalog)
        .arg("--policy")
        .arg(&policy)
        .arg("--json")
        .arg(&json));
    assert!(out.contains("counterfactual: 2 requests kept"), "{out}");
    let report: serde_json::Value = serde_json::from_slice(&std::fs::read(&json).unwrap()).unwrap();
    assert_eq!(report["counterfactual"]["kept"], 2);
    assert_eq!(report["counterfactual"]["sampled_rerouted"], 1);
    assert_eq!(report["inputs"]["quantiles"], "exact");
    // Its outcomes are all kept, so its quantiles are exact: asking for a sketch is refused.
    let o = bin()
        .args(["simulate", "--quiet", "--counterfactual", "--quantiles", "sketch", "--format", "litellm", "--trace"])
        .arg(&log)
        .arg("--catalog")
        .arg(&catalog)
        .arg("--policy")
        .arg(&policy)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(!o.status.success() && err.contains("drop `--quantiles sketch`"), "{err}");

    let prices = dir.path().join("prices.yaml");
    std::fs::write(&prices, PRICES).unwrap();
    let out = run(bin().args(["simulate", "--format", "litellm", "--trace"]).arg(&log).arg("--reprice").arg(&prices));
    assert!(out.contains("repriced $") && out.contains("total"), "{out}");
}
