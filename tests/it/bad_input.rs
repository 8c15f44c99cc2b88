//! Bad catalogs and policies: each error names the file, the line or field, and the fix.
//! (Bad traces are in tests/it/trace.rs.)

use std::path::Path;

use switchyard::catalog::Catalog;
use switchyard::policy::Policy;
use switchyard::trace::{Row, Trace};

const CATALOG: &str = r#"rtt_s: {us-east-1: {eu-west-1: 0.08}}
models:
  - name: deepseek-v4-flash
    ttft: {lognormal: {median_s: 1.1, p99_s: 1.8}}
    decode: {constant: 60}
    availability: 0.999
    prices: {input_per_mtok: 0.07, output_per_mtok: 0.25}
    regions: {us-east-1: {}, eu-west-1: {}}
  - name: qwen3-32b
    ttft: {lognormal: {median_s: 1.3, p99_s: 2.1}}
    decode: {constant: 50}
    prices: {input_per_mtok: 0.07, output_per_mtok: 0.28}
    regions: {us-east-1: {}}
"#;

fn catalog() -> Catalog {
    Catalog::from_yaml_str(CATALOG, Path::new("cat.yaml")).unwrap()
}

/// Assert that `err` mentions every one of `needles` (the place, the value, the fix).
fn check(err: impl std::fmt::Display, needles: &[&str]) {
    let msg = err.to_string();
    for n in needles {
        assert!(msg.contains(n), "error message lacks {n:?}:\n{msg}");
    }
}

fn catalog_err(yaml: &str) -> String {
    Catalog::from_yaml_str(yaml, Path::new("cat.yaml")).unwrap_err().to_string()
}

fn policy_err(yaml: &str) -> String {
    Policy::from_yaml_str(yaml, Path::new("pol.yaml"), &catalog()).unwrap_err().to_string()
}

#[test]
fn unknown_yaml_key_in_catalog() {
    let yaml = CATALOG.replace("    availability: 0.999\n", "    availabilty: 0.999\n");
    check(catalog_err(&yaml), &["cat.yaml:6", "unknown field `availabilty`", "fix:"]);
}

#[test]
fn duplicate_endpoint_in_catalog() {
    let yaml = CATALOG.replace("{us-east-1: {}, eu-west-1: {}}", "{us-east-1: {}, us-east-1: {ttft_scale: 1.1}}");
    let msg = catalog_err(&yaml);
    // Either the YAML parser (duplicate key) or our validation must name it.
    assert!(msg.contains("cat.yaml:8"), "no line in:\n{msg}");
    assert!(msg.contains("us-east-1"), "no key in:\n{msg}");
    assert!(msg.contains("fix:"), "no fix in:\n{msg}");
}

#[test]
fn duplicate_model_in_catalog() {
    let yaml = CATALOG.replace("name: qwen3-32b", "name: deepseek-v4-flash");
    check(catalog_err(&yaml), &["cat.yaml:9", "duplicate model `deepseek-v4-flash`", "fix:"]);
}

#[test]
fn availability_outside_zero_one() {
    let yaml = CATALOG.replace("availability: 0.999", "availability: 1.5");
    check(catalog_err(&yaml), &["cat.yaml:6", "availability 1.5", "probability", "fix:"]);
}

#[test]
fn lognormal_with_p99_below_median() {
    let yaml = CATALOG.replace("p99_s: 1.8", "p99_s: 0.5");
    check(catalog_err(&yaml), &["cat.yaml:4", "deepseek-v4-flash: ttft", "p99_s", "fix:"]);
}

#[test]
fn negative_price() {
    let yaml = CATALOG.replace("output_per_mtok: 0.25", "output_per_mtok: -0.25");
    check(catalog_err(&yaml), &["cat.yaml:7", "prices", "output_per_mtok is -0.25", "fix:"]);
}

#[test]
fn catalog_reports_every_problem_at_once() {
    let yaml = CATALOG
        .replace("availability: 0.999", "availability: 2")
        .replace("output_per_mtok: 0.28", "output_per_mtok: -1");
    check(
        catalog_err(&yaml),
        &[
            "2 problems",
            "deepseek-v4-flash: availability",
            "availability 2",
            "qwen3-32b: prices",
            "output_per_mtok is -1",
        ],
    );
}

#[test]
fn base_url_that_clients_cannot_call_or_that_carries_a_password() {
    let with = |model_url: &str, region_url: &str| {
        CATALOG
            .replace("    availability: 0.999\n", &format!("    availability: 0.999\n    base_url: {model_url}\n"))
            .replace("eu-west-1: {}}", &format!("eu-west-1: {{base_url: {region_url:?}}}}}"))
    };
    let cases = [
        ("ftp://llm.example.com/v1", "is not http or https"),
        ("llm.example.com/v1", "is not a URL"),
        ("https://user:secret@llm.example.com/v1", "carries a user name or password"),
        ("https://llm.example.com/v1?key=1", "has a query or fragment"),
    ];
    for (bad, says) in cases {
        // On the model (line 7), reported under the model's name; on a region (line 9), under the
        // endpoint's id.
        check(
            catalog_err(&with(bad, "https://eu.example.com/v1")),
            &["cat.yaml:7", "deepseek-v4-flash: base_url", says, "fix:"],
        );
        check(
            catalog_err(&with("https://us.example.com/v1", bad)),
            &["cat.yaml:9", "deepseek-v4-flash@eu-west-1: base_url", says, "fix:"],
        );
    }
    let secret = catalog_err(&with("https://user:secret@llm.example.com/v1", "https://eu.example.com/v1"));
    check(&secret, &["Authorization header"]);
    // A region's base URL wins over the model's; a trailing `/` is dropped; none is none.
    let c =
        Catalog::from_yaml_str(&with("https://us.example.com/v1/", "http://10.0.0.7:8000/v1"), Path::new("cat.yaml"))
            .unwrap();
    let url = |id: &str| c.endpoints[c.endpoint_index(id).unwrap()].base_url.clone();
    assert_eq!(url("deepseek-v4-flash@us-east-1").as_deref(), Some("https://us.example.com/v1"));
    assert_eq!(url("deepseek-v4-flash@eu-west-1").as_deref(), Some("http://10.0.0.7:8000/v1"));
    assert_eq!(url("qwen3-32b@us-east-1"), None);
}

const POLICY: &str = "version: 1
rules:
  - name: chat
    match: {class: [chat]}
    targets: {deepseek-v4-flash@us-east-1: 0.6, qwen3-32b@us-east-1: 0.4}
    fallback: [deepseek-v4-flash@eu-west-1]
  - name: default
    targets: {deepseek-v4-flash@us-east-1: 1.0}
";

#[test]
fn the_base_policy_is_valid() {
    Policy::from_yaml_str(POLICY, Path::new("pol.yaml"), &catalog()).unwrap();
}

#[test]
fn unknown_endpoint_names_line_and_closest() {
    let yaml = POLICY.replace("qwen3-32b@us-east-1: 0.4", "qwen3-32B@us-east-1: 0.4");
    check(
        policy_err(&yaml),
        &["pol.yaml:5", "unknown endpoint `qwen3-32B@us-east-1`", "closest: `qwen3-32b@us-east-1`"],
    );
}

#[test]
fn unknown_fallback_endpoint() {
    let yaml = POLICY.replace("fallback: [deepseek-v4-flash@eu-west-1]", "fallback: [deepseek-v4-flash@eu-west-2]");
    check(policy_err(&yaml), &["pol.yaml:6", "deepseek-v4-flash@eu-west-2", "closest: `deepseek-v4-flash@eu-west-1`"]);
}

#[test]
fn negative_weight() {
    let yaml = POLICY.replace("0.6, qwen3-32b@us-east-1: 0.4", "1.4, qwen3-32b@us-east-1: -0.4");
    check(policy_err(&yaml), &["pol.yaml:5", "weight -0.4", "fix:"]);
}

#[test]
fn weights_that_do_not_sum_to_one() {
    let yaml = POLICY.replace("0.4}", "0.5}");
    check(policy_err(&yaml), &["pol.yaml:", "chat: targets", "sum to 1.1", "normalize: true"]);
    // ... and normalize: true rescales them instead.
    let yaml = format!("normalize: true\n{}", POLICY.replace("0.4}", "0.5}"));
    let p = Policy::from_yaml_str(&yaml, Path::new("pol.yaml"), &catalog()).unwrap();
    let w: Vec<f64> = p.rules[0].targets.iter().map(|t| t.1).collect();
    assert!((w[0] - 0.6 / 1.1).abs() < 1e-12 && (w[1] - 0.5 / 1.1).abs() < 1e-12, "weights {w:?}");
}

#[test]
fn unknown_key_in_policy() {
    let yaml = POLICY.replace("    fallback:", "    fallbacks:");
    check(policy_err(&yaml), &["pol.yaml:6", "fallbacks", "fix:"]);
}

#[test]
fn unreachable_rule_after_a_default() {
    let yaml =
        format!("{POLICY}  - name: late\n    match: {{class: [code]}}\n    targets: {{qwen3-32b@us-east-1: 1.0}}\n");
    check(policy_err(&yaml), &["pol.yaml:9", "rule `late` can never match", "rule `default`", "fix:"]);
}

#[test]
fn duplicate_target_in_a_rule() {
    let yaml = POLICY.replace("qwen3-32b@us-east-1: 0.4", "deepseek-v4-flash@us-east-1: 0.4");
    let msg = policy_err(&yaml);
    assert!(msg.contains("pol.yaml:5"), "no line in:\n{msg}");
    assert!(msg.contains("deepseek-v4-flash@us-east-1"), "no endpoint in:\n{msg}");
}

#[test]
fn non_positive_timeout() {
    let yaml = POLICY.replace(
        "    fallback: [deepseek-v4-flash@eu-west-1]\n",
        "    fallback: [deepseek-v4-flash@eu-west-1]\n    timeout_s: 0\n",
    );
    check(policy_err(&yaml), &["pol.yaml:", "chat: timeout_s", "not positive", "fix:"]);
}

#[test]
fn classes_without_a_rule_are_listed_in_one_error() {
    let yaml = "rules:\n  - match: {class: [chat]}\n    targets: {deepseek-v4-flash@us-east-1: 1.0}\n";
    let c = catalog();
    let p = Policy::from_yaml_str(yaml, Path::new("pol.yaml"), &c).unwrap();
    let rows: Vec<Row> = ["chat", "code", "vision", "code"]
        .iter()
        .enumerate()
        .map(|(i, class)| Row {
            timestamp_s: i as f64,
            class,
            origin: Some("us-east-1"),
            input_tokens: 1,
            output_tokens: 1,
        })
        .collect();
    let t = Trace::from_rows("t.csv", &rows);
    let err = p.bind(&c, &t).unwrap_err();
    check(&err, &["pol.yaml", "code (from us-east-1)", "vision (from us-east-1)", "t.csv", "fix:"]);
    assert_eq!(err.problems().len(), 1, "one error for all classes");
}

#[test]
fn origin_without_rtt() {
    let c = catalog();
    let p = Policy::from_yaml_str(POLICY, Path::new("pol.yaml"), &c).unwrap();
    let rows = [Row { timestamp_s: 0.0, class: "chat", origin: Some("sa-east-1"), input_tokens: 1, output_tokens: 1 }];
    let t = Trace::from_rows("t.csv", &rows);
    check(p.bind(&c, &t).unwrap_err(), &["t.csv", "origin_region", "sa-east-1", "rtt_s", "fix:"]);
}

#[test]
fn malformed_yaml_names_the_line() {
    let msg = Catalog::from_yaml_str("models:\n  - name: [unclosed\n", Path::new("cat.yaml")).unwrap_err().to_string();
    assert!(msg.contains("cat.yaml"), "{msg}");
    assert!(msg.contains("fix:"), "{msg}");
}
