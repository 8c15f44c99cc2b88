//! The Portkey exports, run by Portkey's own open-source gateway (`@portkey-ai/gateway`, pinned in
//! tests/portkey/package-lock.json): tests/portkey/check_gateway.mjs starts the gateway and a mock
//! OpenAI-compatible upstream on 127.0.0.1 and says where the mock listens; the test exports
//! `portkey-oss` from the default catalog with each endpoint's `base_url` at the mock
//! (`<mock>/<model>/<region>/v1`), the one thing it changes, and the script sends that file as
//! written in `x-portkey-config`, with the class and origin in `x-portkey-metadata` and the key in
//! `Authorization`, and reports which endpoints each request reached, in order. Here the routes are
//! compared with what the policy itself says (independently of the exporter): the first matching
//! rule's targets, each reached within 4 standard deviations of its share
//! (|observed - n w| <= 4 sqrt(n w (1 - w))), and a failing endpoint's requests sent along that
//! target's chain, cut to the rule's attempt limit. Every upstream call must carry the client's key
//! and the endpoint's model, at the endpoint's base URL plus `/chat/completions`.
//!
//! The hosted flavour (`portkey`) names endpoints by Portkey Model Catalog slugs
//! (`@deepseek-us-east-1`), which only the hosted gateway resolves: it is sent once, unmodified, and
//! every complaint the open-source gateway has about it must be about those leaves and nothing else.
//!
//! Needs Node and `npm ci --ignore-scripts --prefix tests/portkey` (`.ci/run` does it; SWITCHYARD_NODE
//! names another node). Without them the test prints why it skips; under CI (CI=true) it fails.

use crate::{client_missing, root};
use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

use serde_json::{Value, json};
use switchyard::catalog::{Catalog, Endpoint};
use switchyard::export::{parse_formats, write_exports};
use switchyard::policy::{Policy, Rule};

/// Allowed distance from the expected count, in standard deviations.
const SD_MAX: f64 = 4.0;
/// Seed of the gateway's Math.random (the script replaces it with a seeded generator).
const SEED: u64 = 2026;
/// The key the test's client sends in `Authorization`, which every upstream call must carry.
const KEY: &str = "test-key";

const POLICY: &str = "\
version: 1
name: portkey-routing
rules:
  - name: EU chat
    match: {class: [chat, code], origin: [eu-west-1]}
    targets:
      deepseek-v4-flash@eu-west-1: {weight: 0.6, fallback: [qwen3-32b@eu-west-1, deepseek-v4-flash@us-east-1]}
      qwen3-32b@eu-west-1: 0.3
      glm-5@eu-west-1: 0.1
    fallback: [deepseek-v4-flash@us-east-1]
    max_attempts: 2
    timeout_s: 30
  - name: reasoning
    match: {class: [reasoning]}
    targets: {kimi-k2.5@us-east-1: 0.665, kimi-k2.5@ap-southeast-1: 0.335}
  - name: default
    targets: {deepseek-v4-flash@us-east-1: 1.0}
    fallback: [deepseek-v4-flash@eu-west-1]
";

/// One batch of requests: who sends them, how many, and which endpoints the mock fails (503).
struct Scenario {
    name: &'static str,
    class: &'static str,
    origin: &'static str,
    requests: u64,
    fail: &'static [&'static str],
}

const SCENARIOS: &[Scenario] = &[
    // The split: 2,500 requests over 0.6 / 0.3 / 0.1 (4 sd is 98, 92 and 60 requests).
    Scenario { name: "eu-chat", class: "chat", origin: "eu-west-1", requests: 2500, fail: &[] },
    // `$and` of class and origin, and a target's own chain: V4 Flash fails, its requests go to qwen3-32b.
    Scenario {
        name: "eu-code-flash-down",
        class: "code",
        origin: "eu-west-1",
        requests: 600,
        fail: &["deepseek-v4-flash@eu-west-1"],
    },
    // The attempt limit (2): V4 Flash's chain is cut before its us-east-1 fallback, so its requests
    // fail; qwen3-32b's requests take the rule's chain to V4 Flash in us-east-1.
    Scenario {
        name: "eu-chat-two-down",
        class: "chat",
        origin: "eu-west-1",
        requests: 300,
        fail: &["deepseek-v4-flash@eu-west-1", "qwen3-32b@eu-west-1"],
    },
    Scenario { name: "reasoning", class: "reasoning", origin: "us-east-1", requests: 500, fail: &[] },
    // Chat from outside the EU matches no rule but the catch-all.
    Scenario { name: "us-chat", class: "chat", origin: "us-east-1", requests: 50, fail: &[] },
    Scenario {
        name: "default-down",
        class: "summarize",
        origin: "us-east-1",
        requests: 50,
        fail: &["deepseek-v4-flash@us-east-1"],
    },
];

fn node() -> Option<PathBuf> {
    let node = std::env::var_os("SWITCHYARD_NODE").map(PathBuf::from).unwrap_or_else(|| PathBuf::from("node"));
    let gateway = root().join("tests/portkey/node_modules/@portkey-ai/gateway/package.json");
    let runs = Command::new(&node).arg("--version").output().is_ok_and(|o| o.status.success());
    if runs && gateway.exists() {
        return Some(node);
    }
    client_missing(&format!(
        "Portkey gateway test skipped: {} (install with `npm ci --ignore-scripts --prefix tests/portkey`; \
         SWITCHYARD_NODE names the node to use)",
        if runs {
            format!("no gateway at {}", gateway.display())
        } else {
            format!("`{}` does not run", node.display())
        }
    ));
    None
}

/// The name the mock gives an endpoint: the `model@region` of the base URL a call reached.
fn key(e: &Endpoint) -> String {
    e.id.clone()
}

/// The route the policy gives target `t` of `rule` when the endpoints in `fail` fail: its endpoint,
/// then its chain, cut to the attempt limit, up to the first endpoint that answers.
fn expected_route(rule: &Rule, t: usize, fail: &[&str], catalog: &Catalog) -> (Vec<String>, bool) {
    let endpoints = std::iter::once(rule.targets[t].0).chain(rule.chain_of(t).iter().copied());
    let mut route = Vec::new();
    for e in endpoints.take(rule.max_attempts.max(1)) {
        let e = &catalog.endpoints[e];
        route.push(key(e));
        if !fail.contains(&e.id.as_str()) {
            return (route, true);
        }
    }
    (route, false)
}

/// Runs check_gateway.mjs: the hosted export is sent as is; the open-source export is made, once the
/// mock listens, by `export_oss(mock address)`, which returns its path.
fn run_gateway(node: &Path, hosted: &Path, plan: &Value, export_oss: impl FnOnce(&str) -> PathBuf) -> Value {
    let plan_path = hosted.parent().unwrap().join("plan.json");
    std::fs::write(&plan_path, serde_json::to_vec(plan).unwrap()).unwrap();
    let started = Instant::now();
    let mut child = Command::new(node)
        .arg(root().join("tests/portkey/check_gateway.mjs"))
        .arg(hosted)
        .arg(&plan_path)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("node runs");
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut first = String::new();
    stdout.read_line(&mut first).unwrap();
    fn failed(child: &mut std::process::Child, what: &str) -> ! {
        let _ = child.kill();
        let mut err = String::new();
        child.stderr.take().unwrap().read_to_string(&mut err).unwrap();
        panic!("check_gateway.mjs {what}:\n{err}")
    }
    let mock = match serde_json::from_str::<Value>(&first) {
        Ok(v) if v["mock"].is_string() => v["mock"].as_str().unwrap().to_string(),
        _ => failed(&mut child, &format!("did not say where the mock listens (first line {first:?})")),
    };
    let oss = export_oss(&mock);
    let mut stdin = child.stdin.take().unwrap();
    writeln!(stdin, "{}", oss.display()).unwrap();
    drop(stdin);
    let mut rest = String::new();
    stdout.read_to_string(&mut rest).unwrap();
    let status = child.wait().unwrap();
    if !status.success() {
        failed(&mut child, &format!("failed ({status})"));
    }
    eprintln!("Portkey gateway check took {:.1} s", started.elapsed().as_secs_f64());
    serde_json::from_str(&rest).unwrap_or_else(|e| panic!("check_gateway.mjs printed no JSON ({e}):\n{rest}"))
}

/// A JSON value with every number as an f64: JavaScript writes the weight `1.0` back as `1`, the
/// same number.
fn numbers_as_f64(v: &Value) -> Value {
    match v {
        Value::Number(n) => json!(n.as_f64().unwrap()),
        Value::Array(items) => items.iter().map(numbers_as_f64).collect(),
        Value::Object(map) => map.iter().map(|(k, v)| (k.clone(), numbers_as_f64(v))).collect(),
        other => other.clone(),
    }
}

/// JSON paths (`targets,0,targets,1`, the gateway's spelling) of the leaves with a catalog slug.
fn slug_leaves(node: &Value, path: &mut Vec<String>, out: &mut Vec<String>) {
    match node {
        Value::Object(map) => {
            if map.get("provider").and_then(Value::as_str).is_some_and(|p| p.starts_with('@')) {
                out.push(path.join(","));
            }
            for (k, v) in map {
                path.push(k.clone());
                slug_leaves(v, path, out);
                path.pop();
            }
        }
        Value::Array(items) => {
            for (i, v) in items.iter().enumerate() {
                path.push(i.to_string());
                slug_leaves(v, path, out);
                path.pop();
            }
        }
        _ => {}
    }
}

#[test]
fn portkey_gateway_routes_the_export_by_its_weights_and_fallbacks() {
    let Some(node) = node() else { return };
    let catalog = Catalog::default_catalog();
    let policy = Policy::from_yaml_str(POLICY, Path::new("portkey-routing.yaml"), &catalog).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let hosted_dir = dir.path().join("hosted");
    let written = write_exports(&policy, &catalog, &parse_formats("portkey").unwrap(), &hosted_dir).unwrap();
    let hosted: Value = serde_json::from_str(&written[0].1.text).unwrap();
    let plan = json!({
        "seed": SEED,
        "key": KEY,
        "scenarios": SCENARIOS.iter().map(|s| {
            json!({ "name": s.name, "metadata": { "class": s.class, "origin_region": s.origin }, "requests": s.requests, "fail": s.fail })
        }).collect::<Vec<_>>(),
    });
    // The open-source export, from the same policy over a catalog whose base URLs are the mock's.
    let mut oss_text = String::new();
    let result = run_gateway(&node, &written[0].0, &plan, |mock| {
        let (_, at_mock) =
            crate::default_catalog_with_base_urls(|model, region| Some(format!("{mock}/{model}/{region}/v1")));
        let policy = Policy::from_yaml_str(POLICY, Path::new("portkey-routing.yaml"), &at_mock).unwrap();
        let oss_dir = dir.path().join("oss");
        let written = write_exports(&policy, &at_mock, &parse_formats("portkey-oss").unwrap(), &oss_dir).unwrap();
        oss_text = written[0].1.text.clone();
        written[0].0.clone()
    });
    eprintln!("Portkey gateway {} (seed {})", result["gateway_version"], result["seed"]);
    // The file went to the gateway as written, and its one key reached every endpoint.
    let oss: Value = serde_json::from_str(&oss_text).unwrap();
    assert_eq!(
        numbers_as_f64(&result["config_sent"]),
        numbers_as_f64(&oss),
        "the script changed the open-source export"
    );
    assert!(!oss_text.contains("api_key") && !oss_text.contains(KEY), "{oss_text}");
    let upstream = &result["upstream"];
    assert!(upstream["calls"].as_u64().unwrap() >= SCENARIOS.iter().map(|s| s.requests).sum::<u64>(), "{upstream}");
    for wrong in ["wrong_key", "wrong_model", "wrong_path"] {
        assert_eq!(upstream[wrong], 0, "upstream calls with the {wrong}: {upstream}");
    }

    // The hosted export: rejected only for its Model Catalog leaves, if at all.
    let mut leaves = Vec::new();
    slug_leaves(&hosted, &mut Vec::new(), &mut leaves);
    assert!(leaves.len() >= 9, "{leaves:?}");
    let hosted_answer = &result["hosted"];
    if hosted_answer["status"] != 200 {
        let errors = hosted_answer["body"]["errors"].as_array().cloned().unwrap_or_default();
        assert!(!errors.is_empty(), "the gateway rejected the hosted export without saying why: {hosted_answer}");
        let elsewhere: Vec<&Value> = errors
            .iter()
            .filter(|e| {
                let text = e.as_str().unwrap_or("");
                let path = text.strip_prefix("path: ").and_then(|t| t.split(", message:").next()).unwrap_or("");
                !leaves.iter().any(|l| path == l || path == format!("{l},provider"))
            })
            .collect();
        assert!(elsewhere.is_empty(), "the gateway objects to more than the Model Catalog leaves: {elsewhere:?}");
        eprintln!(
            "hosted export: {} {} ({} complaints, all about the {} Model Catalog leaves)",
            hosted_answer["status"],
            hosted_answer["body"]["message"],
            errors.len(),
            leaves.len()
        );
    }

    let mut report = vec![format!(
        "{:<20} {:<56} {:>6} {:>8} {:>8} {:>6}",
        "scenario", "route", "weight", "expected", "observed", "z"
    )];
    let mut failures = Vec::new();
    for s in SCENARIOS {
        let got = &result["scenarios"][s.name];
        let rule = policy.rules.iter().find(|r| r.matches(s.class, s.origin)).unwrap();
        let mut observed: BTreeMap<String, u64> = got["routes"]
            .as_object()
            .unwrap_or_else(|| panic!("no routes for {}: {got}", s.name))
            .iter()
            .map(|(route, n)| (route.clone(), n.as_u64().unwrap()))
            .collect();
        let (mut served, mut total) = (0, 0);
        for (t, &(_, w)) in rule.targets.iter().enumerate() {
            let (route, ok) = expected_route(rule, t, s.fail, &catalog);
            let route = route.join(" > ");
            let count = observed.remove(&route).unwrap_or(0);
            total += count;
            if ok {
                served += count;
            }
            let n = s.requests as f64;
            let (expected, sd) = (n * w, (n * w * (1.0 - w)).sqrt());
            let z = if sd > 0.0 {
                (count as f64 - expected) / sd
            } else if count as f64 == expected {
                0.0
            } else {
                f64::INFINITY
            };
            if z.abs() > SD_MAX {
                failures.push(format!("{}: {route} observed {count}, expected {expected:.0} (z = {z:.2})", s.name));
            }
            report.push(format!("{:<20} {route:<56} {w:>6} {expected:>8.0} {count:>8} {z:>6.2}", s.name));
        }
        if !observed.is_empty() {
            failures.push(format!("{}: routes the policy does not have: {observed:?}", s.name));
        }
        assert_eq!(total + observed.values().sum::<u64>(), s.requests, "{}: requests lost: {got}", s.name);
        let ok = got["statuses"]["200"].as_u64().unwrap_or(0);
        if ok != served {
            failures.push(format!(
                "{}: {ok} requests answered 200, the routes say {served} (statuses {}, first error {})",
                s.name, got["statuses"], got["first_error"]
            ));
        }
    }
    let report = report.join("\n");
    eprintln!("{report}");
    assert!(failures.is_empty(), "{}\n{report}", failures.join("\n"));
}

#[test]
fn expected_route_stops_at_the_attempt_limit_and_at_the_first_answer() {
    let catalog = Catalog::default_catalog();
    let policy = Policy::from_yaml_str(POLICY, Path::new("portkey-routing.yaml"), &catalog).unwrap();
    let eu = &policy.rules[0];
    let flash_eu = "deepseek-v4-flash@eu-west-1";
    let qwen_eu = "qwen3-32b@eu-west-1";
    assert_eq!(expected_route(eu, 0, &[], &catalog), (vec![flash_eu.to_string()], true));
    let two_down = ["deepseek-v4-flash@eu-west-1", "qwen3-32b@eu-west-1"];
    assert_eq!(expected_route(eu, 0, &two_down, &catalog), (vec![flash_eu.to_string(), qwen_eu.to_string()], false));
    assert_eq!(
        expected_route(eu, 1, &two_down, &catalog),
        (vec![qwen_eu.to_string(), "deepseek-v4-flash@us-east-1".to_string()], true)
    );
}
