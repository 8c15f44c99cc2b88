//! `compare` on the reference workload (../shared/bench), against `expected.py`'s exact
//! expectations: price changes and a routing change each move cost by an amount whose paired 95%
//! interval contains the exact expected change, and common random numbers make the paired
//! interval narrower than the unpaired one on the same replicates: at least [`MIN_NARROWING`]
//! times for a price rise on the workhorse model.
//!
//! How much pairing can narrow is bounded by the noise of the change itself. A quarter price rise on
//! Kimi K2.5, which carries most of the cost's variance, leaves a difference whose noise is a quarter
//! of the total's (4.4x narrower here); swapping two weights re-routes the code requests whose draw
//! falls between the old and the new boundaries (2.5x). Both are printed.
//!
//! Needs the generated workload and the bench Python (see `reference.rs`, which skips and says why
//! without them, and fails under CI=true).

use std::path::Path;
use std::process::Command;

use serde_json::Value;
use switchyard::compare::{Comparison, Figure, Metric};

use crate::reference::{run_json, setup, shared_bench};
use crate::root;

/// Paired replicates per side.
const REPLICATES: &str = "5";
/// The paired cost interval must be at least this many times narrower than the unpaired one.
const MIN_NARROWING: f64 = 5.0;
/// Prices rise by this factor.
const PRICE_FACTOR: f64 = 1.25;

/// `expected.py DIR`: exact expectations of the replay for the folder's catalog, policy and trace.
fn expectations(python: &Path, dir: &Path) -> Value {
    run_json(Command::new(python).arg(shared_bench().join("expected.py")).arg(dir))
}

/// `switchyard compare` on the reference trace; the comparison it wrote.
fn compare(trace: &Path, out: &Path, extra: &[&std::ffi::OsStr]) -> Comparison {
    let json = out.join("comparison.json");
    let output = Command::new(env!("CARGO_BIN_EXE_switchyard"))
        .args(["compare", "--quiet", "--seed", "2026", "--replicates", REPLICATES, "--trace"])
        .arg(trace)
        .arg("--catalog")
        .arg(root().join("policies/reference/catalog.yaml"))
        .arg("--baseline")
        .arg(root().join("policies/reference/policy.yaml"))
        .args(extra)
        .arg("--json")
        .arg(&json)
        .output()
        .unwrap();
    assert!(
        matches!(output.status.code(), Some(0 | 1 | 3)),
        "compare did not reach a verdict:\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let text = std::fs::read_to_string(&json).unwrap();
    Comparison::from_json(&text, &json).unwrap()
}

/// The cost change's exact expectation inside its paired interval, and the paired interval at
/// `min_narrowing` times narrower than the unpaired one.
fn check_cost(c: &Comparison, exact: f64, min_narrowing: f64, what: &str) {
    let cost = c.figures.iter().find(|f| f.figure == Figure::overall(Metric::Cost)).expect("cost is compared");
    let paired = cost.change.paired.expect("paired replicates give a paired interval");
    let unpaired = cost.change.unpaired.expect("replicates give an unpaired interval");
    eprintln!(
        "{what}: cost change {:.4} (exact expectation {exact:.4}), paired 95% interval [{:.4}, {:.4}] (width {:.5}), \
         unpaired [{:.4}, {:.4}] (width {:.5}): {:.1}x narrower",
        cost.change.difference,
        paired.low,
        paired.high,
        paired.high - paired.low,
        unpaired.low,
        unpaired.high,
        unpaired.high - unpaired.low,
        (unpaired.high - unpaired.low) / (paired.high - paired.low)
    );
    assert!(
        paired.low <= exact && exact <= paired.high,
        "{what}: the exact expected cost change {exact} is outside the paired interval [{}, {}] (change {})",
        paired.low,
        paired.high,
        cost.change.difference
    );
    let narrowing = (unpaired.high - unpaired.low) / (paired.high - paired.low);
    assert!(
        narrowing >= min_narrowing,
        "{what}: common random numbers narrowed the cost interval only {narrowing:.2}x (want at least {min_narrowing}x): \
         paired width {}, unpaired width {}",
        paired.high - paired.low,
        unpaired.high - unpaired.low
    );
}

/// A model's prices rise by a quarter: the candidate catalog differs from the baseline's in those two
/// prices only, and the same policy runs on both. Exact expected change: a quarter of the model's
/// expected cost (`expected.py`'s per-model figure).
#[test]
fn a_price_rise_moves_cost_by_its_exact_expectation_with_a_narrow_paired_interval() {
    let Some((dir, python)) = setup() else { return };
    let expected = expectations(&python, &dir);
    // The workhorse (most traffic), and the model with most of the cost.
    for (model, min_narrowing) in [("deepseek-v4-flash", MIN_NARROWING), ("kimi-k2.5", 1.0)] {
        let exact = (PRICE_FACTOR - 1.0) * expected["expected_per_model"][model]["cost_usd"].as_f64().unwrap();
        price_rise(&dir, model, exact, min_narrowing);
    }
}

fn price_rise(dir: &Path, model: &str, exact: f64, min_narrowing: f64) {
    let tmp = tempfile::tempdir().unwrap();
    let catalog = std::fs::read_to_string(root().join("policies/reference/catalog.yaml")).unwrap();
    let mut in_model = false;
    let mut changed = 0;
    let repriced: Vec<String> = catalog
        .lines()
        .map(|line| {
            if let Some(name) = line.strip_prefix("  - name: ") {
                in_model = name == model;
            }
            match line.strip_prefix("    prices: ") {
                Some(prices) if in_model => {
                    let prices: Value = serde_json::from_str(
                        &prices
                            .replace("input_per_mtok", "\"input_per_mtok\"")
                            .replace("output_per_mtok", "\"output_per_mtok\""),
                    )
                    .unwrap();
                    changed += 1;
                    format!(
                        "    prices: {{input_per_mtok: {}, output_per_mtok: {}}}",
                        prices["input_per_mtok"].as_f64().unwrap() * PRICE_FACTOR,
                        prices["output_per_mtok"].as_f64().unwrap() * PRICE_FACTOR
                    )
                }
                _ => line.to_string(),
            }
        })
        .collect();
    assert_eq!(changed, 1, "{model}'s prices line not found once in the reference catalog");
    let candidate_catalog = tmp.path().join("repriced.yaml");
    std::fs::write(&candidate_catalog, repriced.join("\n") + "\n").unwrap();
    let policy = root().join("policies/reference/policy.yaml");
    let c = compare(
        &dir.join("trace.csv"),
        tmp.path(),
        &["--candidate".as_ref(), policy.as_os_str(), "--candidate-catalog".as_ref(), candidate_catalog.as_os_str()],
    );
    check_cost(&c, exact, min_narrowing, &format!("{model} prices x{PRICE_FACTOR}"));
    // The routing is the same request by request: nobody got slower or faster.
    let view = c.requests.as_ref().expect("a paired run has the per-request view");
    assert_eq!((view.counts.slower, view.counts.faster), (0, 0), "{:?}", view.counts);
}

/// A routing change: the code class's weights of DeepSeek V4 Flash (us-east-1) and Kimi K2.5
/// (us-east-1) swapped, 0.35/0.15 to 0.15/0.35. Exact expected change: `expected.py` on the
/// candidate policy minus on the baseline's.
#[test]
fn a_routing_change_moves_cost_by_its_exact_expectation_with_a_narrow_paired_interval() {
    let Some((dir, python)) = setup() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let (flash, kimi) = ("deepseek-v4-flash@us-east-1", "kimi-k2.5@us-east-1");
    // The candidate as the Python reference reads it: the same folder, another policy.json.
    let candidate_dir = tmp.path().join("candidate");
    std::fs::create_dir(&candidate_dir).unwrap();
    let mut policy: Value = serde_json::from_str(&std::fs::read_to_string(dir.join("policy.json")).unwrap()).unwrap();
    let weights = &mut policy["classes"]["code"]["weights"];
    assert_eq!((weights[flash].as_f64(), weights[kimi].as_f64()), (Some(0.35), Some(0.15)), "reference policy changed");
    weights[flash] = 0.15.into();
    weights[kimi] = 0.35.into();
    std::fs::write(candidate_dir.join("policy.json"), policy.to_string()).unwrap();
    std::fs::copy(dir.join("catalog.json"), candidate_dir.join("catalog.json")).unwrap();
    std::fs::copy(dir.join("trace.csv"), candidate_dir.join("trace.csv")).unwrap();
    let expected = |d: &Path| expectations(&python, d)["expected_total_cost_usd"].as_f64().unwrap();
    let exact = expected(&candidate_dir) - expected(&dir);
    // And as switchyard reads it: the same edit in the code rule of the YAML policy.
    let yaml = std::fs::read_to_string(root().join("policies/reference/policy.yaml")).unwrap();
    let mut rule = String::new();
    let edited: Vec<String> = yaml
        .lines()
        .map(|line| {
            if let Some(name) = line.strip_prefix("  - name: ") {
                rule = name.to_string();
            }
            match line.trim() {
                l if rule == "code" && l == format!("{flash}: 0.35") => line.replace("0.35", "0.15"),
                l if rule == "code" && l == format!("{kimi}: 0.15") => line.replace("0.15", "0.35"),
                _ => line.to_string(),
            }
        })
        .collect();
    let candidate = tmp.path().join("candidate.yaml");
    std::fs::write(&candidate, edited.join("\n") + "\n").unwrap();
    assert_eq!(edited.iter().zip(yaml.lines()).filter(|(a, b)| a.as_str() != *b).count(), 2, "two weights edited");
    let c = compare(&dir.join("trace.csv"), tmp.path(), &["--candidate".as_ref(), candidate.as_os_str()]);
    check_cost(&c, exact, 1.0, "code class: flash and kimi weights swapped");
}
