//! The Envoy AI Gateway and OpenRouter exports, checked against the schemas their publishers ship.
//!
//! Envoy: every document of the export of several policies must be accepted as the Kubernetes API
//! server would accept it on create, against the CRDs vendored in tests/fixtures/envoy-crds/
//! (AIGatewayRoute, AIServiceBackend, BackendSecurityPolicy from Envoy AI Gateway v1.1.0,
//! BackendTrafficPolicy from Envoy Gateway v1.8.1): served version, object name, openAPIV3Schema with
//! defaults applied and unknown fields refused (kubectl's strict validation), list-type rules, and the
//! `x-kubernetes-validations` CEL rules (tests/schemas/envoy_crds.py says how).
//!
//! OpenRouter: every rule's request fragment, merged into a minimal chat completion body, must
//! validate against the request schema of `POST /chat/completions` in OpenRouter's OpenAPI document
//! (tests/fixtures/openrouter/), and use only fields that schema documents.
//!
//! Each check is also run on broken copies of an export, which it must reject: a validator that
//! accepts everything would pass the first test too.
//!
//! Needs a Python with tests/schemas/requirements.txt: SWITCHYARD_SCHEMA_PYTHON, default
//! `.schema-venv/bin/python`; `.ci/run` creates it. Without it the tests print why they skip; under
//! CI (CI=true) they fail.

use crate::{client_missing, root};
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::{Value, json};
use switchyard::catalog::Catalog;
use switchyard::export::{parse_formats, write_exports};
use switchyard::policy::Policy;

/// Policies whose exports are checked: the exporters' fixture, the field report's policy, and
/// corner cases (a name that collides once made safe, weight 0, 16 rules, sub-millisecond timeouts).
fn policies(catalog: &Catalog) -> Vec<Policy> {
    let many: String = (0..15)
        .map(|i| format!("  - name: r{i}\n    match: {{class: [c{i}]}}\n    targets: {{glm-5@us-east-1: 1.0}}\n"))
        .collect();
    let corner = format!(
        "version: 1\nname: corner cases\nrules:\n{many}  - name: a b\n    match: {{class: [x]}}\n    \
         targets: {{glm-5@us-east-1: 0.0, qwen3-8b@us-east-1: 1.0}}\n    fallback: [glm-5@eu-west-1, glm-5@us-east-1]\n    \
         timeout_s: 0.0004\n    max_attempts: 3\n  - name: a-b\n    targets:\n      glm-5@us-east-1: {{weight: 0.5, \
         fallback: [qwen3-8b@us-east-1]}}\n      qwen3-8b@us-east-1: {{weight: 0.5, fallback: [glm-5@us-east-1]}}\n    \
         timeout_s: 200000\n"
    );
    let mut out: Vec<Policy> = ["tests/fixtures/export-policy.yaml", "policies/field-report.yaml"]
        .iter()
        .map(|p| Policy::load(&root().join(p), catalog).unwrap_or_else(|e| panic!("{p}: {e}")))
        .collect();
    out.push(
        Policy::from_yaml_str(&corner, Path::new("corner.yaml"), catalog).unwrap_or_else(|e| panic!("{e}\n{corner}")),
    );
    out
}

fn python() -> Option<PathBuf> {
    let python = std::env::var_os("SWITCHYARD_SCHEMA_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| root().join(".schema-venv/bin/python"));
    if python.exists() {
        return Some(python);
    }
    client_missing(&format!(
        "schema check skipped: no Python with the validators at {} (set SWITCHYARD_SCHEMA_PYTHON, or run \
         `python3 -m venv .schema-venv && .schema-venv/bin/pip install --only-binary :all: -r tests/schemas/requirements.txt`)",
        python.display()
    ));
    None
}

fn run(python: &Path, script: &str, args: &[&Path]) -> Value {
    let out = Command::new(python).arg(root().join("tests/schemas").join(script)).args(args).output().unwrap();
    assert!(out.status.success(), "{script} failed:\n{}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{script} printed no JSON ({e}):\n{}", String::from_utf8_lossy(&out.stdout)))
}

/// Write each policy's export in `format` into its own folder; the paths of the written files.
fn export_all(format: &str, policies: &[Policy], catalog: &Catalog, dir: &Path) -> Vec<PathBuf> {
    policies
        .iter()
        .enumerate()
        .map(|(i, p)| {
            let sub = dir.join(format!("policy-{i}"));
            write_exports(p, catalog, &parse_formats(format).unwrap(), &sub).unwrap().remove(0).0
        })
        .collect()
}

/// The documents of a report that have errors, one line each.
fn documents_with_errors(report: &Value) -> Vec<String> {
    report["documents"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|d| !d["errors"].as_array().unwrap().is_empty())
        .map(|d| format!("{} #{} {} {}: {}", d["file"], d["index"], d["kind"], d["name"], d["errors"]))
        .collect()
}

fn envoy_documents(path: &Path) -> Vec<Value> {
    let text = std::fs::read_to_string(path).unwrap();
    text.split("\n---\n")
        .filter(|d| d.lines().any(|l| !l.trim().is_empty() && !l.starts_with('#') && l != "---"))
        .map(|d| switchyard::yaml::from_str::<Value>(d, path).unwrap())
        .collect()
}

#[test]
fn envoy_export_validates_against_the_published_crds() {
    let Some(python) = python() else { return };
    let catalog = Catalog::default_catalog();
    let dir = tempfile::tempdir().unwrap();
    let files = export_all("envoy", &policies(&catalog), &catalog, dir.path());
    let crds = root().join("tests/fixtures/envoy-crds");
    let mut args: Vec<&Path> = vec![&crds];
    args.extend(files.iter().map(PathBuf::as_path));
    let report = run(&python, "envoy_crds.py", &args);

    let kinds: Vec<&str> = report["documents"].as_array().unwrap().iter().filter_map(|d| d["kind"].as_str()).collect();
    for kind in ["AIGatewayRoute", "AIServiceBackend", "BackendSecurityPolicy", "BackendTrafficPolicy"] {
        let n = kinds.iter().filter(|k| **k == kind).count();
        eprintln!("{kind}: {n} documents");
        assert!(n > 0, "no {kind} among the exported documents: {kinds:?}");
    }
    let expected: usize = files.iter().map(|f| envoy_documents(f).len()).sum();
    assert_eq!(kinds.len(), expected, "the checker read a different number of documents than the exports hold");
    let cel = &report["cel"];
    eprintln!(
        "CEL rules: {} evaluated, {} transition rules skipped (create only), {} on fields the exports do not set",
        cel["evaluated"], cel["transition_rules_skipped"], cel["not_applicable"]
    );
    let not_evaluated = cel["not_evaluated"].as_array().unwrap();
    for rule in not_evaluated {
        eprintln!("CEL rule not evaluated: {} {}: `{}` ({})", rule["kind"], rule["path"], rule["rule"], rule["why"]);
    }
    assert!(cel["evaluated"].as_u64().unwrap() > 0, "no CEL rule was evaluated: {cel}");
    let bad = documents_with_errors(&report);
    assert!(bad.is_empty(), "exported documents the API server would refuse:\n{}", bad.join("\n"));
}

#[test]
fn envoy_crd_check_refuses_what_the_api_server_refuses() {
    let Some(python) = python() else { return };
    let catalog = Catalog::default_catalog();
    let dir = tempfile::tempdir().unwrap();
    let policy = &policies(&catalog)[0];
    let file = &export_all("envoy", std::slice::from_ref(policy), &catalog, dir.path())[0];
    let docs = envoy_documents(file);
    let first = |kind: &str| docs.iter().find(|d| d["kind"] == kind).unwrap().clone();
    // Each broken copy, and a word its error must contain.
    let mut broken: Vec<(Value, &str)> = Vec::new();
    let mut d = first("AIGatewayRoute");
    d["spec"]["rules"][0]["retries"] = json!(3);
    broken.push((d, "'retries' was unexpected"));
    let mut d = first("AIGatewayRoute");
    d["spec"]["rules"][0]["backendRefs"][0]["weight"] = json!("60");
    broken.push((d, "is not of type 'integer'"));
    let mut d = first("AIGatewayRoute");
    d["spec"]["rules"][0]["timeouts"] = json!({"request": "10s", "backendRequest": "1m"});
    broken.push((d, "backendRequest timeout cannot be longer than request timeout"));
    let mut d = first("AIGatewayRoute");
    d["metadata"]["name"] = json!("Switchyard_Chat");
    broken.push((d, "DNS-1123"));
    let mut d = first("BackendSecurityPolicy");
    d["spec"].as_object_mut().unwrap().remove("apiKey");
    broken.push((d, "When type is APIKey, only apiKey field should be set"));
    let mut d = first("BackendTrafficPolicy");
    d["spec"]["retry"]["perRetry"] = json!({"timeout": "10 s"});
    broken.push((d, "does not match"));
    let mut d = first("BackendTrafficPolicy");
    d["spec"]["targetRefs"][0]["kind"] = json!("Service");
    broken.push((d, "targetRefs[*].kind of Gateway/HTTPRoute"));
    let mut d = first("AIServiceBackend");
    d["apiVersion"] = json!("aigateway.envoyproxy.io/v1");
    broken.push((d, "no CRD declares"));

    // JSON is YAML: one broken document per file, so each error is the one its change made.
    let paths: Vec<PathBuf> = broken
        .iter()
        .enumerate()
        .map(|(i, (doc, _))| {
            let path = dir.path().join(format!("broken-{i}.yaml"));
            std::fs::write(&path, serde_json::to_string_pretty(doc).unwrap()).unwrap();
            path
        })
        .collect();
    let crds = root().join("tests/fixtures/envoy-crds");
    let mut args: Vec<&Path> = vec![&crds];
    args.extend(paths.iter().map(PathBuf::as_path));
    let report = run(&python, "envoy_crds.py", &args);
    for (i, (_, word)) in broken.iter().enumerate() {
        let file = format!("broken-{i}.yaml");
        let doc = report["documents"].as_array().unwrap().iter().find(|d| d["file"] == file.as_str()).unwrap();
        let errors = doc["errors"].to_string();
        assert!(
            errors.contains(word),
            "{file} ({} {}): expected an error with `{word}`, got {errors}",
            doc["kind"],
            doc["name"]
        );
    }
}

fn openrouter_spec() -> PathBuf {
    root().join("tests/fixtures/openrouter/openapi.yaml")
}

#[test]
fn openrouter_fragments_validate_against_the_published_request_schema() {
    let Some(python) = python() else { return };
    let catalog = Catalog::default_catalog();
    let dir = tempfile::tempdir().unwrap();
    let policies = policies(&catalog);
    let files = export_all("openrouter", &policies, &catalog, dir.path());
    let spec = openrouter_spec();
    let mut args: Vec<&Path> = vec![&spec];
    args.extend(files.iter().map(PathBuf::as_path));
    let report = run(&python, "openrouter_request.py", &args);
    eprintln!("checked against {} ({})", report["spec"], report["spec"]["request_schema"]);
    let rules = report["rules"].as_array().unwrap();
    let expected: usize = policies.iter().map(|p| p.rules.len()).sum();
    assert_eq!(rules.len(), expected, "the checker read a different number of rules than the policies have");
    let bad: Vec<String> = rules
        .iter()
        .filter(|r| !r["errors"].as_array().unwrap().is_empty())
        .map(|r| format!("{} rule {}: {}", r["file"], r["name"], r["errors"]))
        .collect();
    assert!(bad.is_empty(), "request fragments OpenRouter's schema refuses:\n{}", bad.join("\n"));
    assert!(rules.iter().all(|r| r["keys"] == json!(["model", "models", "provider"])), "{rules:?}");
}

#[test]
fn openrouter_schema_check_refuses_a_misspelt_or_mistyped_field() {
    let Some(python) = python() else { return };
    let catalog = Catalog::default_catalog();
    let dir = tempfile::tempdir().unwrap();
    let file = export_all("openrouter", &policies(&catalog)[..1], &catalog, dir.path()).remove(0);
    let mut export: Value = serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
    let broken = [
        ("fallback_models", json!(["qwen/qwen3-8b"]), "`fallback_models` is not a documented"),
        ("models", json!("qwen/qwen3-8b"), "is not of type 'array'"),
        ("provider", json!({"order": ["alibaba"], "allow_fallback": true}), "'allow_fallback' was unexpected"),
    ];
    let rules = export["rules"].as_array_mut().unwrap();
    assert!(rules.len() >= broken.len());
    for (rule, (key, value, _)) in rules.iter_mut().zip(&broken) {
        rule["request"][*key] = value.clone();
    }
    std::fs::write(&file, serde_json::to_string(&export).unwrap()).unwrap();
    let spec = openrouter_spec();
    let report = run(&python, "openrouter_request.py", &[&spec, &file]);
    for (rule, (key, _, word)) in report["rules"].as_array().unwrap().iter().zip(&broken) {
        let errors = rule["errors"].to_string();
        assert!(errors.contains(word), "rule {} with a broken `{key}`: expected `{word}`, got {errors}", rule["name"]);
    }
}
