use std::path::Path;

use super::*;
use crate::catalog::Catalog;
use crate::compare::{Figure, FigureInput, Guard, Metric, compare};
use crate::policy::Policy;

fn policies(catalog: &Catalog) -> (Policy, Policy) {
    let yaml = |a: f64| {
        format!(
            "name: p\nrules:\n  - name: chat\n    match: {{class: [chat]}}\n    targets: {{deepseek-v4-flash@us-east-1: {a}, qwen3-32b@us-east-1: {}}}\n    fallback: [deepseek-v4-flash@eu-west-1]\n  - name: rest\n    targets: {{deepseek-v4-flash@us-east-1: 1.0}}\n",
            1.0 - a
        )
    };
    let p = |a| Policy::from_yaml_str(&yaml(a), Path::new("p.yaml"), catalog).unwrap();
    (p(0.8), p(0.5))
}

fn comparison() -> crate::compare::Comparison {
    let inputs = vec![
        FigureInput::paired(Figure::overall(Metric::Cost), vec![10.0, 10.2, 10.1], vec![11.0, 11.2, 11.1]),
        FigureInput::paired(Figure::overall(Metric::P99), vec![2.0, 2.1, 2.0], vec![2.0, 2.1, 2.0]),
        FigureInput::paired(Figure::class(Metric::P99, "<chat>"), vec![1.0, 1.1, 1.0], vec![0.9, 1.0, 0.9]),
    ];
    compare(&inputs, &Guard::default_guard(), None).unwrap()
}

#[test]
fn the_page_leads_with_the_verdict_and_escapes_what_it_is_given() {
    let catalog = Catalog::default_catalog();
    let (before, after) = policies(&catalog);
    let comparisons = [comparison()];
    let dir = tempfile::tempdir().unwrap();
    let trace = dir.path().join("t.csv");
    std::fs::write(&trace, "abc").unwrap();
    let inputs = Inputs {
        title: "Routing review".into(),
        comparisons: &comparisons,
        baseline: Side { name: "before.yaml".into(), policy: Some(&before), peaks: Vec::new() },
        candidate: Side { name: "after <b>.yaml".into(), policy: Some(&after), peaks: Vec::new() },
        catalog: Some(&catalog),
        provenance: Provenance {
            files: vec![InputFile::new("trace", &trace)],
            requests: Some(1234),
            span_s: Some((0.0, 86_400.0)),
            seed: Some(7),
            replicates: Some(3),
            engine: Some("replay".into()),
            command: Some("switchyard compare --trace t.csv --baseline before.yaml --candidate after.yaml".into()),
        },
        ..Inputs::default()
    };
    let review = build(&inputs).unwrap();
    let html = review.to_html(Path::new("review.html")).unwrap();
    // The verdict first: cost rose 10% against an allowed 2%.
    let banner = html.find("class=\"banner fail\"").expect("a FAIL banner");
    assert!(banner < html.find("id=\"provenance\"").unwrap(), "the banner leads");
    assert!(html.contains("<div class=\"verdict\">FAIL</div>"), "verdict word");
    // SHA-256 of "abc", the well-known test vector.
    assert!(html.contains("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"), "the trace's SHA-256");
    // The policy diff marks the changed weights.
    assert!(html.contains("deepseek-v4-flash@us-east-1 80%, qwen3-32b@us-east-1 20%"), "baseline weights");
    assert!(html.contains("class=\"changed\">deepseek-v4-flash@us-east-1 50%"), "candidate weights marked");
    // Projected to a month: a day's $11.1 mean is $333 in 30 days.
    assert!(html.contains("candidate $333"), "monthly projection");
    // Names are text, never markup.
    assert!(!html.contains("<chat>") && html.contains("&#60;chat&#62;"), "class names escaped");
    assert!(!html.contains("after <b>"), "policy names escaped");
    // Self-contained: the comparison chart inline, nothing fetched.
    assert!(html.contains("<svg"), "the comparison chart is inline");
    for attr in ["src=\"http", "href=\"http", "src=\"//", "url(http"] {
        assert!(!html.contains(attr), "the page must load nothing ({attr})");
    }
}

#[test]
fn without_a_comparison_the_page_still_says_where_it_came_from() {
    let review = build(&Inputs { title: "t".into(), ..Inputs::default() }).unwrap();
    let html = review.to_html(Path::new("r.html")).unwrap();
    assert!(html.contains("id=\"provenance\"") && html.contains("id=\"trust\""));
    assert!(!html.contains("class=\"banner"), "no verdict without a comparison");
}
