//! Exporters: golden files for every format (insta snapshots under tests/it/snapshots/), the native
//! format's round trip, no credentials in any output, determinism, and the corner cases a policy can
//! have (one target, no fallbacks, many rules, weight 0, names that collide once made safe).
//!
//! To review a changed golden file: `cargo insta review` (or run with INSTA_UPDATE=always and read
//! the diff). Under CI=true a mismatch fails instead of writing a new snapshot.

use std::path::Path;

use serde_json::Value;
use switchyard::catalog::Catalog;
use switchyard::export::{exporter, parse_formats, write_exports};

/// Every export format's name.
fn formats() -> Vec<&'static str> {
    switchyard::export::names().collect()
}
use switchyard::policy::Policy;

const FIXTURE: &str = "tests/fixtures/export-policy.yaml";

/// The base URL the tests' catalog gives each endpoint: one OpenAI-compatible host per region,
/// serving every model there (the model is picked by `override_params.model`).
fn base_url(_model: &str, region: &str) -> String {
    format!("https://{region}.llm.example.com/v1")
}

/// The default catalog with a base URL on every endpoint, so that every format exports from it
/// (`portkey-oss` needs them; the other formats ignore them).
fn catalog() -> Catalog {
    crate::default_catalog_with_base_urls(|model, region| Some(base_url(model, region))).1
}

fn policy(text: &str, catalog: &Catalog) -> Policy {
    Policy::from_yaml_str(text, Path::new("inline.yaml"), catalog).unwrap_or_else(|e| panic!("{e}\n{text}"))
}

fn fixture(catalog: &Catalog) -> Policy {
    let text = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join(FIXTURE)).unwrap();
    // The source path is part of the generated header; keep it the same wherever the test runs.
    Policy::from_yaml_str(&text, Path::new(FIXTURE), catalog).unwrap()
}

/// A policy compared without where it was read from (lines, file name).
fn without_origin(mut p: Policy) -> Policy {
    p.source = String::new();
    for r in &mut p.rules {
        r.line = None;
    }
    p
}

/// Every document of a YAML or JSON export, as JSON values.
fn documents(format: &str, text: &str) -> Vec<Value> {
    if text.trim_start().starts_with('{') {
        return vec![serde_json::from_str(text).unwrap_or_else(|e| panic!("{format}: not JSON ({e}):\n{text}"))];
    }
    text.split("\n---\n")
        .filter(|d| d.lines().any(|l| !l.trim().is_empty() && !l.starts_with('#') && l != "---"))
        .map(|d| {
            switchyard::yaml::from_str::<Value>(d, Path::new(format))
                .unwrap_or_else(|e| panic!("{format}: not YAML ({e}):\n{d}"))
        })
        .collect()
}

#[test]
fn golden_files_for_every_format() {
    let catalog = catalog();
    let policy = fixture(&catalog);
    for name in formats() {
        let export = exporter(name).unwrap().export(&policy, &catalog).unwrap();
        insta::assert_snapshot!(name, export.text);
        insta::assert_snapshot!(format!("{name}_lost"), export.lost.join("\n"));
        assert!(!documents(name, &export.text).is_empty());
    }
}

#[test]
fn native_format_round_trips() {
    let catalog = catalog();
    let mut policies = vec![fixture(&catalog)];
    let field_report = Path::new(env!("CARGO_MANIFEST_DIR")).join("policies/field-report.yaml");
    policies.push(Policy::load(&field_report, &catalog).unwrap());
    for text in [
        // Weights that are not short decimals, rescaled by `normalize`.
        "normalize: true\nrules:\n  - targets: {glm-5@us-east-1: 1, glm-5@eu-west-1: 1, glm-5@ap-southeast-1: 1}\n",
        // An attempt limit from `defaults` beyond what the chains allow, and one that cuts a chain.
        "defaults: {max_attempts: 3, timeout_s: 0.1}\nrules:\n  - name: a\n    match: {origin: [eu-west-1]}\n    \
         targets: {glm-5@us-east-1: 1.0}\n  - name: b\n    targets: {glm-5@us-east-1: 0.9999999, glm-5@eu-west-1: 1e-7}\n    \
         fallback: [qwen3-8b@us-east-1, qwen3-8b@eu-west-1, qwen3-8b@us-east-1]\n    max_attempts: 2\n",
        // Every target with its own chain, one of them empty, and a rule chain nobody uses.
        "rules:\n  - name: own\n    targets:\n      glm-5@us-east-1: {weight: 0.25, fallback: []}\n      \
         qwen3-8b@us-east-1: {weight: 0.75, fallback: [glm-5@us-east-1]}\n    fallback: [kimi-k2.5@us-east-1]\n",
    ] {
        policies.push(policy(text, &catalog));
    }
    for original in policies {
        let export = exporter("switchyard").unwrap().export(&original, &catalog).unwrap();
        assert!(export.lost.is_empty(), "{:?}", export.lost);
        let back = Policy::from_yaml_str(&export.text, Path::new("exported.yaml"), &catalog)
            .unwrap_or_else(|e| panic!("exported policy does not read back: {e}\n{}", export.text));
        assert_eq!(without_origin(back), without_origin(original.clone()), "exported:\n{}", export.text);
        for (a, b) in original.rules.iter().zip(&without_origin(original.clone()).rules) {
            for ((_, wa), (_, wb)) in a.targets.iter().zip(&b.targets) {
                assert_eq!(wa.to_bits(), wb.to_bits());
            }
        }
    }
}

#[test]
fn no_export_contains_a_credential() {
    let catalog = catalog();
    let policy = fixture(&catalog);
    for name in formats() {
        let text = exporter(name).unwrap().export(&policy, &catalog).unwrap().text;
        for bad in ["sk-", "Bearer ", "stringData", "kind: Secret", "\"api_key\"", "virtual_key", "password"] {
            assert!(!text.contains(bad), "{name} output contains `{bad}`:\n{text}");
        }
        for line in text.lines().filter(|l| !l.trim_start().starts_with('#')) {
            let lower = line.to_ascii_lowercase();
            if lower.contains("api_key:") || lower.contains("api_base:") {
                let value = line.split_once(':').map(|(_, v)| v.trim()).unwrap_or("");
                assert!(value.starts_with("os.environ/"), "{name}: a key or base that is not an env reference: {line}");
            }
            // Anything long and unbroken that is not a name we made up would look like a token.
            for word in line.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == '-')) {
                assert!(word.len() < 48 || !word.chars().any(|c| c.is_ascii_digit()), "{name}: token-like `{word}`");
            }
        }
    }
}

#[test]
fn exports_are_deterministic_and_written_atomically() {
    let catalog = catalog();
    let policy = fixture(&catalog);
    let dir = tempfile::tempdir().unwrap();
    let all = parse_formats(&formats().join(",")).unwrap();
    let first = write_exports(&policy, &catalog, &all, dir.path()).unwrap();
    let second = write_exports(&policy, &catalog, &all, dir.path()).unwrap();
    assert_eq!(first, second);
    let mut names: Vec<String> =
        std::fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
    names.sort();
    let mut expected: Vec<String> = all.iter().map(|e| e.file_name().to_string()).collect();
    expected.sort();
    assert_eq!(names, expected, "exactly one file per format, no temporary files left");
    for (path, export) in &first {
        assert_eq!(std::fs::read_to_string(path).unwrap(), export.text);
    }
}

#[test]
fn litellm_groups_carry_the_rule_weights_and_the_heaviest_chain() {
    let catalog = catalog();
    let policy = fixture(&catalog);
    let export = exporter("litellm").unwrap().export(&policy, &catalog).unwrap();
    let config = &documents("litellm", &export.text)[0];
    let deployments = config["model_list"].as_array().unwrap();
    let in_group = |g: &str| deployments.iter().filter(|d| d["model_name"] == g).collect::<Vec<_>>();
    let eu = in_group("switchyard-eu-chat");
    let weights: Vec<f64> = eu.iter().map(|d| d["litellm_params"]["weight"].as_f64().unwrap()).collect();
    assert_eq!(weights, [0.6, 0.3, 0.1]);
    assert_eq!(eu[0]["model_info"]["id"], "switchyard-eu-chat:deepseek-v4-flash@eu-west-1");
    assert_eq!(eu[0]["litellm_params"]["model"], "deepseek/deepseek-v4-flash");
    // max_attempts 2 cuts the heaviest target's chain to its first endpoint.
    let fallbacks = &config["router_settings"]["fallbacks"];
    let eu_fallbacks = fallbacks.as_array().unwrap().iter().find_map(|f| f.get("switchyard-eu-chat")).unwrap();
    assert_eq!(eu_fallbacks, &serde_json::json!(["switchyard-eu-chat-fallback-1"]));
    let fb = in_group("switchyard-eu-chat-fallback-1");
    assert_eq!(fb.len(), 1);
    assert_eq!(fb[0]["litellm_params"]["model"], "dashscope/qwen3-32b");
    assert!(export.lost.iter().any(|l| l.contains("rule `EU chat`") && l.contains("heaviest")), "{:?}", export.lost);
    let mut ids: Vec<&str> = deployments.iter().map(|d| d["model_info"]["id"].as_str().unwrap()).collect();
    let n = ids.len();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), n, "deployment ids must be unique");
}

#[test]
fn envoy_weights_are_whole_percentages_per_priority_level() {
    let catalog = catalog();
    let policy = fixture(&catalog);
    let export = exporter("envoy").unwrap().export(&policy, &catalog).unwrap();
    let docs = documents("envoy", &export.text);
    let routes: Vec<&Value> = docs.iter().filter(|d| d["kind"] == "AIGatewayRoute").collect();
    assert_eq!(routes.len(), policy.rules.len());
    for route in routes {
        let rules = route["spec"]["rules"].as_array().unwrap();
        assert!(rules.len() <= 15);
        let refs = rules[0]["backendRefs"].as_array().unwrap();
        let levels = refs.iter().map(|r| r["priority"].as_u64().unwrap()).max().unwrap();
        for level in 0..=levels {
            let sum: u64 = refs.iter().filter(|r| r["priority"] == level).map(|r| r["weight"].as_u64().unwrap()).sum();
            assert_eq!(sum, 100, "{}: priority {level}", route["metadata"]["name"]);
        }
        let names: Vec<&str> = refs.iter().map(|r| r["name"].as_str().unwrap()).collect();
        let mut unique = names.clone();
        unique.sort_unstable();
        unique.dedup();
        assert_eq!(unique.len(), names.len(), "an endpoint listed twice in one rule: {names:?}");
    }
    assert!(export.lost.iter().any(|l| l.contains("66.5") || l.contains("-> 67")), "{:?}", export.lost);
    assert!(export.lost.iter().any(|l| l.contains("300.0005 s")), "{:?}", export.lost);
}

#[test]
fn portkey_expresses_match_lists_and_each_targets_chain() {
    let catalog = catalog();
    let policy = fixture(&catalog);
    let export = exporter("portkey").unwrap().export(&policy, &catalog).unwrap();
    let config = &documents("portkey", &export.text)[0];
    assert_eq!(config["strategy"]["mode"], "conditional");
    assert_eq!(config["strategy"]["default"], "switchyard-default");
    let conditions = config["strategy"]["conditions"].as_array().unwrap();
    assert_eq!(conditions.len(), 3);
    assert_eq!(
        conditions[1]["query"],
        serde_json::json!({"$and": [{"metadata.class": {"$in": ["chat", "code"]}}, {"metadata.origin_region": {"$in": ["eu-west-1"]}}]})
    );
    let eu = &config["targets"][1];
    assert_eq!(eu["name"], "switchyard-eu-chat");
    assert_eq!(eu["request_timeout"], 60000);
    // Each target falls back along its own chain, cut to max_attempts - 1 = 1 fallback.
    let first = &eu["targets"][0];
    assert_eq!(first["weight"], 0.6);
    assert_eq!(first["strategy"]["mode"], "fallback");
    let chain: Vec<&str> =
        first["targets"].as_array().unwrap().iter().map(|t| t["provider"].as_str().unwrap()).collect();
    assert_eq!(chain, ["@deepseek-eu-west-1", "@alibaba-eu-west-1"]);
    assert_eq!(eu["targets"][1]["targets"][1]["override_params"]["model"], "deepseek-v4-flash");
    assert!(!export.lost.iter().any(|l| l.contains("default target")), "{:?}", export.lost);
}

/// Every object of a Portkey config with a `provider`, by its JSON path.
fn leaves<'a>(node: &'a Value, path: String, out: &mut Vec<(String, &'a Value)>) {
    match node {
        Value::Object(map) if map.contains_key("provider") => out.push((path, node)),
        Value::Object(map) => map.iter().for_each(|(k, v)| leaves(v, format!("{path}.{k}"), out)),
        Value::Array(items) => items.iter().enumerate().for_each(|(i, v)| leaves(v, format!("{path}[{i}]"), out)),
        _ => {}
    }
}

#[test]
fn portkey_oss_is_the_hosted_config_with_each_endpoint_at_its_base_url() {
    let catalog = catalog();
    let policy = fixture(&catalog);
    let hosted = exporter("portkey").unwrap().export(&policy, &catalog).unwrap();
    let oss = exporter("portkey-oss").unwrap().export(&policy, &catalog).unwrap();
    let (hosted, mut oss_config) =
        (documents("portkey", &hosted.text).remove(0), documents("portkey-oss", &oss.text).remove(0));
    // The key is the client's: its Authorization header, passed on by every target.
    assert_eq!(oss_config["forward_headers"], serde_json::json!(["authorization"]));
    assert!(!oss.text.contains("api_key"), "{}", oss.text);
    let (mut hosted_leaves, mut oss_leaves) = (Vec::new(), Vec::new());
    leaves(&hosted, String::new(), &mut hosted_leaves);
    leaves(&oss_config, String::new(), &mut oss_leaves);
    assert_eq!(hosted_leaves.len(), oss_leaves.len());
    assert!(hosted_leaves.len() >= 8, "{}", hosted_leaves.len());
    for ((path, h), (oss_path, o)) in hosted_leaves.iter().zip(&oss_leaves) {
        assert_eq!(path, oss_path);
        // The hosted slug `@<provider>-<region>` and the model name the endpoint.
        let model = h["override_params"]["model"].as_str().unwrap();
        let slug = h["provider"].as_str().unwrap();
        let e = catalog
            .endpoints
            .iter()
            .find(|e| e.model == model && slug == format!("@{}-{}", e.provider, e.region))
            .unwrap_or_else(|| panic!("{path}: no endpoint for {slug} {model}"));
        assert_eq!(o["provider"], "openai", "{path}");
        assert_eq!(o["custom_host"], base_url(&e.model, &e.region), "{path}: {}", e.id);
        assert_eq!(o["override_params"], h["override_params"], "{path}");
        assert_eq!(o["retry"], serde_json::json!({"attempts": 0}), "{path}");
        assert_eq!(o.get("weight"), h.get("weight"), "{path}");
        assert_eq!(o.as_object().unwrap().len(), h.as_object().unwrap().len() + 2, "{path}: {o}");
    }
    // Apart from the leaves and the forwarded header, the two configs are one: same conditions,
    // strategies, weights, chains and timeouts.
    oss_config.as_object_mut().unwrap().remove("forward_headers");
    let blank = |v: &mut Value| {
        fn walk(v: &mut Value) {
            match v {
                Value::Object(map) if map.contains_key("provider") => {
                    map.retain(|k, _| k == "weight");
                }
                Value::Object(map) => map.values_mut().for_each(walk),
                Value::Array(items) => items.iter_mut().for_each(walk),
                _ => {}
            }
        }
        walk(v);
    };
    let mut hosted_blank = hosted.clone();
    blank(&mut hosted_blank);
    blank(&mut oss_config);
    assert_eq!(oss_config, hosted_blank);
    let (hosted_lost, oss_lost) = (exporter("portkey").unwrap().export(&policy, &catalog).unwrap().lost, oss.lost);
    assert_eq!(oss_lost[..hosted_lost.len()], hosted_lost[..]);
    // The fixture's endpoints are of four providers, which must take the client's one key.
    assert!(
        oss_lost
            .iter()
            .any(|l| l.contains("4 providers (alibaba, deepseek, moonshot, zhipu)") && l.contains("api_key")),
        "{oss_lost:?}"
    );
}

#[test]
fn portkey_oss_names_every_endpoint_without_a_base_url_and_the_fix() {
    // A catalog without any base URL (the default one): one problem, with where they go.
    let default = Catalog::default_catalog();
    let policy = fixture(&default);
    let err = exporter("portkey-oss").unwrap().export(&policy, &default).expect_err("no base URLs");
    let text = err.to_string();
    assert_eq!(err.problems().len(), 1, "{text}");
    for needle in [
        "catalog `default-2026-field-report` gives no endpoint a `base_url`",
        "custom_host",
        "add `base_url: https://HOST/v1`",
        "`switchyard catalog default > catalog.yaml`",
        "export `portkey`",
    ] {
        assert!(text.contains(needle), "the message lacks {needle:?}:\n{text}");
    }
    let all = exporter("portkey-oss").unwrap().check_catalog(&default).expect_err("no base URLs");
    assert_eq!(all.problems().len(), 1, "{all}");
    assert!(all.to_string().contains("remove those you cannot call"), "{all}");
    // Base URLs on every endpoint but those of two models: one problem per model the policy uses,
    // naming its endpoints without one; the check before an optimizer names every such model.
    let (_, partial) = crate::default_catalog_with_base_urls(|model, region| {
        (!["deepseek-v4-flash", "qwen3.5-397b"].contains(&model)).then(|| base_url(model, region))
    });
    let err = exporter("portkey-oss").unwrap().export(&fixture(&partial), &partial).expect_err("flash has none");
    let text = err.to_string();
    assert_eq!(err.problems().len(), 1, "{text}");
    for needle in [
        "deepseek-v4-flash: base_url",
        "deepseek-v4-flash@us-east-1, deepseek-v4-flash@eu-west-1 have no `base_url`",
        "add `base_url: https://HOST/v1` to model `deepseek-v4-flash`",
    ] {
        assert!(text.contains(needle), "the message lacks {needle:?}:\n{text}");
    }
    // Only the endpoints the policy routes to: it uses no ap-southeast-1 V4 Flash, nor Qwen3.5.
    assert!(!text.contains("deepseek-v4-flash@ap-southeast-1") && !text.contains("qwen3.5"), "{text}");
    let all = exporter("portkey-oss").unwrap().check_catalog(&partial).expect_err("two models have none");
    assert_eq!(all.problems().len(), 2, "{all}");
    assert!(all.to_string().contains("deepseek-v4-flash@ap-southeast-1"), "{all}");
    assert!(exporter("portkey-oss").unwrap().check_catalog(&catalog()).is_ok());
    for name in formats().into_iter().filter(|n| *n != "portkey-oss") {
        assert!(exporter(name).unwrap().check_catalog(&default).is_ok(), "{name}");
        exporter(name).unwrap().export(&policy, &default).unwrap_or_else(|e| panic!("{name}: {e}"));
    }
}

#[test]
fn portkey_oss_says_when_two_endpoints_are_one_place() {
    // A model-level base_url serves every region of the model from one host: the gateway cannot
    // keep their traffic apart, and the export says so.
    let (_, catalog) =
        crate::default_catalog_with_base_urls(|model, _| Some(format!("https://{model}.example.com/v1")));
    let policy = fixture(&catalog);
    let lost = exporter("portkey-oss").unwrap().export(&policy, &catalog).unwrap().lost;
    let line = lost
        .iter()
        .find(|l| l.contains("same base_url and model"))
        .unwrap_or_else(|| panic!("nothing said about shared base URLs: {lost:?}"));
    assert!(line.starts_with("deepseek-v4-flash@us-east-1 and deepseek-v4-flash@eu-west-1"), "{line}");
}

#[test]
fn openrouter_orders_by_weight_and_says_weights_are_lost() {
    let catalog = catalog();
    let policy = fixture(&catalog);
    let export = exporter("openrouter").unwrap().export(&policy, &catalog).unwrap();
    let doc = &documents("openrouter", &export.text)[0];
    let eu = &doc["rules"][1]["request"];
    assert_eq!(eu["models"], serde_json::json!(["deepseek/deepseek-v4-flash", "qwen/qwen3-32b", "z-ai/glm-5"]));
    assert_eq!(eu["provider"]["order"], serde_json::json!(["deepseek", "alibaba", "z-ai"]));
    assert_eq!(eu["provider"]["allow_fallbacks"], true);
    assert!(export.lost.iter().any(|l| l.contains("OpenRouter has no weights")), "{:?}", export.lost);
}

/// Policies at the edges: every exporter gives a parseable document and no panic.
#[test]
fn corner_cases_export_in_every_format() {
    let catalog = catalog();
    let many_rules: String = (0..40)
        .map(|i| format!("  - name: r{i}\n    match: {{class: [c{i}]}}\n    targets: {{glm-5@us-east-1: 1.0}}\n"))
        .collect::<String>()
        + "  - targets: {qwen3-8b@us-east-1: 1.0}\n";
    let cases = [
        "rules:\n  - targets: {glm-5@us-east-1: 1.0}\n".to_string(),
        "rules:\n  - match: {class: [a]}\n    targets: {glm-5@us-east-1: 1.0}\n".to_string(),
        format!("rules:\n{many_rules}"),
        "rules:\n  - name: z\n    targets: {glm-5@us-east-1: 0.0, qwen3-8b@us-east-1: 1.0}\n    fallback: [glm-5@us-east-1]\n"
            .to_string(),
        "rules:\n  - name: a b\n    match: {class: [x]}\n    targets: {glm-5@us-east-1: 1.0}\n  - name: a-b\n    \
         targets: {glm-5@eu-west-1: 1.0}\n    fallback: [glm-5@us-east-1, glm-5@us-east-1]\n"
            .to_string(),
        "rules:\n  - targets:\n      glm-5@us-east-1: {weight: 0.5, fallback: [qwen3-8b@us-east-1]}\n      \
         qwen3-8b@us-east-1: {weight: 0.5, fallback: [glm-5@us-east-1]}\n"
            .to_string(),
    ];
    for text in &cases {
        let policy = policy(text, &catalog);
        for name in formats() {
            let export =
                exporter(name).unwrap().export(&policy, &catalog).unwrap_or_else(|e| panic!("{name}: {e}\n{text}"));
            documents(name, &export.text);
            let again = exporter(name).unwrap().export(&policy, &catalog).unwrap();
            assert_eq!(export, again, "{name} is not deterministic");
        }
    }
}

#[test]
fn a_policy_from_another_catalog_is_an_error_not_a_panic() {
    let catalog = catalog();
    let mut policy = fixture(&catalog);
    policy.rules[0].targets[0].0 = catalog.endpoints.len() + 5;
    policy.rules[1].targets.clear();
    for name in formats() {
        let err = exporter(name).unwrap().export(&policy, &catalog).expect_err(name);
        let text = err.to_string();
        assert!(text.contains("is not in catalog") && text.contains("no targets"), "{name}: {text}");
    }
}
