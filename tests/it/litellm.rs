//! The LiteLLM export, checked by LiteLLM itself: its Router must accept the exported config and,
//! with mocked responses and no network, split 10,000 requests across a group's deployments within
//! 4 standard deviations of the policy's weights (|observed - n w| <= 4 sqrt(n w (1 - w)) per
//! deployment), and send a request whose first attempt fails to the rule's first fallback.
//!
//! Needs a Python with LiteLLM (tests/litellm/requirements.txt): SWITCHYARD_LITELLM_PYTHON, default
//! `.litellm-venv/bin/python`; `.ci/run` creates it. Without it the test prints why it skips; under
//! CI (CI=true) its absence is a failure.

use crate::root;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use serde_json::Value;
use switchyard::catalog::Catalog;
use switchyard::export::{parse_formats, write_exports};
use switchyard::policy::Policy;

/// Requests sent to the weighted group.
const N: u64 = 10_000;
/// Allowed distance from the expected count, in standard deviations.
const SD_MAX: f64 = 4.0;

const POLICY: &str = "\
version: 1
name: litellm-split
rules:
  - name: chat
    match: {class: [chat]}
    targets: {deepseek-v4-flash@us-east-1: 0.6, qwen3-32b@us-east-1: 0.3, glm-5@us-east-1: 0.1}
    fallback: [kimi-k2.5@us-east-1, deepseek-v4-flash@eu-west-1]
    timeout_s: 30
  - name: default
    targets: {deepseek-v4-flash@eu-west-1: 1.0}
";

fn python() -> Option<PathBuf> {
    let python = std::env::var_os("SWITCHYARD_LITELLM_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| root().join(".litellm-venv/bin/python"));
    if python.exists() {
        return Some(python);
    }
    let why = format!(
        "LiteLLM router test skipped: no Python with LiteLLM at {} (set SWITCHYARD_LITELLM_PYTHON, or run \
         `python3 -m venv .litellm-venv && .litellm-venv/bin/pip install -r tests/litellm/requirements.txt`)",
        python.display()
    );
    if std::env::var("CI").is_ok_and(|v| v == "true") {
        panic!("{why}");
    }
    eprintln!("{why}");
    None
}

/// The environment variables a LiteLLM config references (`os.environ/NAME`).
fn referenced_env(config: &str) -> Vec<String> {
    let mut names: Vec<String> = config
        .split("os.environ/")
        .skip(1)
        .map(|rest| rest.chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '_').collect())
        .collect();
    names.sort();
    names.dedup();
    names
}

fn run_router(python: &Path, config: &Path) -> Value {
    let text = std::fs::read_to_string(config).unwrap();
    let mut cmd = Command::new(python);
    cmd.arg(root().join("tests/litellm/check_router.py"))
        .arg(config)
        .args(["--requests", &N.to_string(), "--group", "switchyard-chat"])
        // No network: the local model cost map, no telemetry, and dummy credentials and bases
        // (mocked responses never reach them).
        .env("LITELLM_LOCAL_MODEL_COST_MAP", "True")
        .env("LITELLM_TELEMETRY", "False")
        .env("NO_PROXY", "*");
    for name in referenced_env(&text) {
        let value = if name.ends_with("_API_BASE") { "http://127.0.0.1:9/v1" } else { "dummy-key-for-tests" };
        cmd.env(name, value);
    }
    let started = Instant::now();
    let out = cmd.output().expect("the LiteLLM Python runs");
    eprintln!("LiteLLM router check took {:.1} s", started.elapsed().as_secs_f64());
    assert!(
        out.status.success(),
        "LiteLLM rejected the exported config or failed:\n{}\n--- config ---\n{text}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("check_router.py printed no JSON ({e}):\n{}", String::from_utf8_lossy(&out.stdout)))
}

#[test]
fn litellm_router_accepts_the_export_and_splits_by_the_weights() {
    let Some(python) = python() else { return };
    let catalog = Catalog::default_catalog();
    let policy = Policy::from_yaml_str(POLICY, Path::new("litellm-split.yaml"), &catalog).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let written = write_exports(&policy, &catalog, &parse_formats("litellm").unwrap(), dir.path()).unwrap();
    let result = run_router(&python, &written[0].0);
    eprintln!("LiteLLM {}", result["litellm_version"]);

    let counts = &result["counts"]["switchyard-chat"];
    let rule = &policy.rules[0];
    let mut report =
        vec![format!("{:<45} {:>8} {:>8} {:>8} {:>6}", "deployment", "weight", "expected", "observed", "z")];
    let mut failures = 0;
    let mut total = 0;
    for &(e, w) in &rule.targets {
        let id = format!("switchyard-chat:{}", catalog.endpoints[e].id);
        let observed = counts[&id].as_u64().unwrap_or(0);
        total += observed;
        let n = N as f64;
        let expected = n * w;
        let sd = (n * w * (1.0 - w)).sqrt();
        let z = (observed as f64 - expected) / sd;
        if z.abs() > SD_MAX {
            failures += 1;
        }
        report.push(format!("{id:<45} {w:>8} {expected:>8.0} {observed:>8} {z:>6.2}"));
    }
    let report = report.join("\n");
    eprintln!("{report}");
    assert_eq!(total, N, "requests served by deployments not in the rule:\n{counts}\n{report}");
    assert_eq!(failures, 0, "split outside {SD_MAX} standard deviations:\n{report}");
    assert_eq!(
        result["fallback_served_by"]["switchyard-chat"], "switchyard-chat-fallback-1:kimi-k2.5@us-east-1",
        "a failed first attempt should go to the rule's first fallback: {result}"
    );
}

#[test]
fn referenced_env_finds_every_variable() {
    let config = "api_base: os.environ/DEEPSEEK_US_EAST_1_API_BASE\n  api_key: os.environ/DEEPSEEK_API_KEY\n";
    assert_eq!(referenced_env(config), ["DEEPSEEK_API_KEY", "DEEPSEEK_US_EAST_1_API_BASE"]);
}
