//! A whole comparison, inputs to verdict, printouts and JSON: the cases issue 17 names.

use std::path::Path;

use super::*;

/// `n` values with mean `mean` and sample standard deviation `sd` (evenly spaced, rescaled).
fn spread(n: usize, mean: f64, sd: f64) -> Vec<f64> {
    if n == 1 {
        return vec![mean];
    }
    let z: Vec<f64> = (0..n).map(|i| i as f64 - (n - 1) as f64 / 2.0).collect();
    let z_sd = (z.iter().map(|x| x * x).sum::<f64>() / (n - 1) as f64).sqrt();
    z.iter().map(|x| mean + sd * x / z_sd).collect()
}

/// A figure whose baseline is `base` in every replicate and whose candidate differs from it by
/// `n` values of mean `shift` and standard deviation `sd`.
fn shifted(figure: Figure, n: usize, base: f64, shift: f64, sd: f64) -> FigureInput {
    let candidate = spread(n, shift, sd).into_iter().map(|d| base + d).collect();
    FigureInput::paired(figure, vec![base; n], candidate)
}

/// Like [`shifted`], on a baseline with replicate-to-replicate noise (standard deviation
/// `base_sd`) that the candidate shares, as it does under common random numbers.
fn correlated(figure: Figure, n: usize, base: f64, base_sd: f64, shift: f64, sd: f64) -> FigureInput {
    let baseline = spread(n, base, base_sd);
    let candidate = baseline.iter().zip(spread(n, shift, sd)).map(|(b, d)| b + d).collect();
    FigureInput::paired(figure, baseline, candidate)
}

/// A baseline day with replicate-to-replicate noise, and the same numbers for the candidate
/// (identical policies under common random numbers give identical replicates).
fn identical(n: usize) -> Vec<FigureInput> {
    let noisy = |mean: f64, sd: f64| spread(n, mean, sd);
    let same = |figure: Figure, xs: Vec<f64>| FigureInput::paired(figure, xs.clone(), xs);
    vec![
        same(Figure::overall(Metric::Cost), noisy(152.3, 1.7)),
        same(Figure::overall(Metric::P99), noisy(2.41, 0.03)),
        same(Figure::overall(Metric::Success), noisy(0.9991, 0.0002)),
        same(Figure::overall(Metric::Quality), noisy(0.812, 0.001)),
        same(Figure::class(Metric::P99, "reasoning"), noisy(6.3, 0.2)),
        same(Figure { metric: Metric::TrafficShare, scope: Scope::Model("glm-5".into()) }, noisy(0.31, 0.004)),
    ]
}

fn replace(mut inputs: Vec<FigureInput>, with: FigureInput) -> Vec<FigureInput> {
    match inputs.iter_mut().find(|i| i.figure == with.figure) {
        Some(slot) => *slot = with,
        None => inputs.push(with),
    }
    inputs
}

fn outcome_of(c: &Comparison, figure: &Figure) -> Option<Outcome> {
    c.figures.iter().find(|f| &f.figure == figure).and_then(|f| f.judgement.as_ref()).map(|j| j.outcome)
}

#[test]
fn identical_inputs_give_zero_differences_and_pass() {
    let c = compare(&identical(5), &Guard::default_guard(), None).unwrap();
    for f in &c.figures {
        assert_eq!(f.change.difference, 0.0, "{}", f.figure);
        assert_eq!(f.change.relative, Some(0.0), "{}", f.figure);
        assert_eq!(f.change.paired, Some(Interval { low: 0.0, high: 0.0 }), "{}", f.figure);
    }
    assert_eq!((c.verdict, c.score, c.exit_code()), (Verdict::Pass, Some(100.0), 0));
    assert!(c.decided_by.is_empty());
    assert_eq!(c.figures.iter().filter(|f| f.judgement.is_some()).count(), 4);
    let text = render_text(&c);
    assert!(text.starts_with("PASS: all 4 judged figures within their allowed change\n"), "{text}");
    // One replicate of identical inputs is still exactly zero, and still a pass.
    let c = compare(&identical(1), &Guard::default_guard(), None).unwrap();
    assert_eq!(c.verdict, Verdict::Pass);
}

#[test]
fn a_worse_candidate_fails_naming_the_figure() {
    // Cost up 5% (+$7.615 on $152.3) with a little noise: far beyond the allowed +2%.
    let worse = shifted(Figure::overall(Metric::Cost), 5, 152.3, 7.615, 0.2);
    let c = compare(&replace(identical(5), worse), &Guard::default_guard(), None).unwrap();
    assert_eq!((c.verdict, c.exit_code()), (Verdict::Fail, 1));
    assert_eq!(c.decided_by, vec![Figure::overall(Metric::Cost)]);
    let cost = &c.figures[0];
    let j = cost.judgement.as_ref().unwrap();
    assert!((j.limit - 0.02 * 152.3).abs() < 1e-9, "limit {}", j.limit);
    assert!((cost.change.relative.unwrap() - 0.05).abs() < 1e-12, "{:?}", cost.change.relative);
    let text = render_text(&c);
    let mut lines = text.lines();
    assert_eq!(lines.next(), Some("FAIL: a critical figure is beyond its allowed change"), "{text}");
    let decided = lines.next().unwrap();
    assert!(
        decided.starts_with("  cost +$7.615 (+5.00%), 95% interval [+$7.")
            && decided.ends_with("allowed +2% (+$3.046): fail, critical"),
        "{decided}"
    );
    let markdown = render_markdown(&c);
    assert!(markdown.starts_with("### switchyard compare: **FAIL**\n"), "{markdown}");
    assert!(markdown.contains("\n- **cost** +$7.615 (+5.00%)"), "{markdown}");
    assert!(markdown.contains("| cost | $152.3 | $159.9 | +$7.615 | +5.00% |"), "{markdown}");
}

#[test]
fn a_fall_in_success_fails_in_points() {
    // Success falls 0.08 points (0.0008): beyond -0.05 points.
    let worse = shifted(Figure::overall(Metric::Success), 4, 0.9991, -0.0008, 0.00005);
    let c = compare(&replace(identical(4), worse), &Guard::default_guard(), None).unwrap();
    assert_eq!(c.verdict, Verdict::Fail);
    assert_eq!(c.decided_by, vec![Figure::overall(Metric::Success)]);
    let text = render_text(&c);
    assert!(text.lines().nth(1).unwrap().contains("success -0.080 pt (-0.08%)"), "{text}");
    assert!(text.lines().nth(1).unwrap().contains("allowed -0.05 points (-0.050 pt): fail, critical"), "{text}");
}

#[test]
fn straddling_is_inconclusive_and_the_replicate_estimate_settles_it() {
    // p99 2 s, allowed +5% = 0.1 s; the candidate is 0.09 s slower with a replicate sd of 0.02 s:
    // half-width t95(3) 0.02 / 2 = 0.03182, interval [0.0582, 0.1218] straddles 0.1.
    // Quality 0.812, allowed -0.01; it falls 0.009 with sd 0.002: worsening [0.0058, 0.0122].
    let p99 = Figure::overall(Metric::P99);
    let quality = Figure::overall(Metric::Quality);
    let inputs = |n| {
        let inputs = replace(identical(n), shifted(p99.clone(), n, 2.0, 0.09, 0.02));
        replace(inputs, shifted(quality.clone(), n, 0.812, -0.009, 0.002))
    };
    let c = compare(&inputs(4), &Guard::default_guard(), None).unwrap();
    assert_eq!(outcome_of(&c, &p99), Some(Outcome::Inconclusive));
    assert_eq!(outcome_of(&c, &quality), Some(Outcome::Inconclusive));
    // Two of four weights passed: 50, below marginal, but nothing failed.
    assert_eq!((c.verdict, c.score, c.exit_code()), (Verdict::Inconclusive, Some(50.0), 3));
    assert_eq!(c.decided_by, vec![p99.clone(), quality.clone()]);
    let power = |c: &Comparison, figure: &Figure| {
        c.figures.iter().find(|f| &f.figure == figure).unwrap().judgement.as_ref().unwrap().power.clone()
    };
    // Distance 0.1 - 0.09 = 0.01 s = half the sd, so t95(n - 1) / sqrt(n) < 0.5: n = 18
    // (t95(17) / sqrt(18) = 2.110 / 4.243 = 0.4973; n = 17 gives 2.120 / 4.123 = 0.5142).
    let Some(Power::Estimate { replicates: Some(18), traffic_factor, .. }) = power(&c, &p99) else {
        panic!("{:?}", power(&c, &p99));
    };
    // (0.03182 / 0.01)^2 = 10.125
    assert!((traffic_factor - 10.125124).abs() < 1e-6, "{traffic_factor}");
    // Applied: 18 replicates with the same mean and spread settle p99 (and quality, whose distance
    // is also half its sd); 17 do not.
    let settled = compare(&inputs(18), &Guard::default_guard(), None).unwrap();
    assert_eq!(outcome_of(&settled, &p99), Some(Outcome::Pass));
    assert_eq!(outcome_of(&settled, &quality), Some(Outcome::Pass));
    assert_eq!(settled.verdict, Verdict::Pass);
    let short = compare(&inputs(17), &Guard::default_guard(), None).unwrap();
    assert_eq!(outcome_of(&short, &p99), Some(Outcome::Inconclusive));
    let text = render_text(&c);
    assert!(text.starts_with("INCONCLUSIVE: the intervals are too wide to say\n"), "{text}");
    assert!(text.contains("  p99: about 18 replicates (now 4), or more than 10.1x the traffic\n"), "{text}");
}

/// Inputs to a verdict and its exit code, under `guard`.
fn check(inputs: &[FigureInput], guard: &Guard, verdict: Verdict, exit_code: i32) {
    let c = compare(inputs, guard, None).unwrap();
    assert_eq!((c.verdict, c.exit_code()), (verdict, exit_code), "{}", render_text(&c));
}

#[test]
fn exit_codes_for_each_verdict() {
    let guard = Guard::default_guard();
    let p99 = Figure::overall(Metric::P99);
    let quality = Figure::overall(Metric::Quality);
    check(&identical(4), &guard, Verdict::Pass, 0);
    check(&replace(identical(4), shifted(p99.clone(), 4, 2.0, 0.3, 0.01)), &guard, Verdict::Fail, 1);
    // Quality alone straddles: 3 of 4 weights, 75: marginal.
    check(&replace(identical(4), shifted(quality.clone(), 4, 0.812, -0.009, 0.002)), &guard, Verdict::Marginal, 3);
    // A non-critical failure of a quarter of the weight: 75, marginal too.
    check(&replace(identical(4), shifted(quality, 4, 0.812, -0.05, 0.002)), &guard, Verdict::Marginal, 3);
    check(&replace(identical(4), shifted(p99.clone(), 4, 2.0, 0.09, 0.02)), &guard, Verdict::Marginal, 3);
    // One replicate and a real change: the interval is unknown, so p99 is inconclusive.
    check(&replace(identical(1), shifted(p99, 1, 2.0, 0.01, 0.0)), &guard, Verdict::Marginal, 3);
    // A guard that judges nothing these results have.
    let retries_only = Guard::from_yaml_str("figures:\n  retries: {allowed: +5%}\n", Path::new("g.yaml"), &[]).unwrap();
    check(&identical(4), &retries_only, Verdict::Inconclusive, 3);
}

#[test]
fn unmeasured_figures_are_listed_not_judged() {
    let guard = Guard::from_yaml_str(
        "figures:\n  cost: {allowed: +2%, critical: true}\n  retries: {allowed: +10%}\n\
         classes:\n  reasoning: {p99: {allowed: +10%}}\n  chat: {p99: {allowed: +10%}}\n",
        Path::new("g.yaml"),
        &["chat".to_string(), "reasoning".to_string()],
    )
    .unwrap();
    let c = compare(&identical(3), &guard, None).unwrap();
    assert_eq!(c.unmeasured, vec![Figure::overall(Metric::Retries), Figure::class(Metric::P99, "chat")]);
    assert_eq!(outcome_of(&c, &Figure::class(Metric::P99, "reasoning")), Some(Outcome::Pass));
    assert_eq!(c.verdict, Verdict::Pass);
    assert!(render_text(&c).contains("\nnot measured in these results, so not judged: retries, p99 (class chat)\n"));
}

#[test]
fn per_class_rules_judge_class_figures() {
    let guard = Guard::from_yaml_str(
        "figures:\n  cost: {allowed: +2%, critical: true}\nclasses:\n  default: {p99: {allowed: +5%, critical: true}}\n",
        Path::new("g.yaml"),
        &["reasoning".to_string()],
    )
    .unwrap();
    // reasoning's p99 up 10%: a critical class figure fails.
    let worse = shifted(Figure::class(Metric::P99, "reasoning"), 4, 6.3, 0.63, 0.01);
    let c = compare(&replace(identical(4), worse), &guard, None).unwrap();
    assert_eq!(c.verdict, Verdict::Fail);
    assert_eq!(c.decided_by, vec![Figure::class(Metric::P99, "reasoning")]);
    assert!(render_text(&c).lines().nth(1).unwrap().starts_with("  p99 (class reasoning) +0.6300 s (+10.00%)"));
}

#[test]
fn what_moved_lists_unjudged_changes() {
    let share = Figure { metric: Metric::TrafficShare, scope: Scope::Model("glm-5".into()) };
    let moved = shifted(share, 4, 0.31, 0.12, 0.001);
    let c = compare(&replace(identical(4), moved), &Guard::default_guard(), None).unwrap();
    assert_eq!(c.verdict, Verdict::Pass);
    let text = render_text(&c);
    assert!(text.contains("\nwhat moved (not judged; largest relative change first)\n"), "{text}");
    assert!(text.contains("  traffic_share (model glm-5)  31.000%   43.000%    +12.000 pt  +38.71%"), "{text}");
}

#[test]
fn saved_reports_are_compared_unpaired() {
    let side = |mean, half| Moments::from_ci95(mean, half, 5);
    let figure = Figure::overall(Metric::Cost);
    let inputs = vec![FigureInput {
        figure,
        values: Values::Unpaired { baseline: side(150.0, 2.0), candidate: side(151.0, 2.0) },
    }];
    let c = compare(&inputs, &Guard::default_guard(), None).unwrap();
    let cost = &c.figures[0].change;
    assert_eq!(cost.basis, Basis::Unpaired);
    assert_eq!(cost.paired, None);
    // sd = 2 sqrt(5) / 2.776 each; Welch df = 8, t95(8) = 2.306; half-width 2.306 * sqrt(2) * 2 / 2.776.
    let half = 2.306 * 2.0f64.sqrt() * 2.0 / 2.776;
    assert!((cost.unpaired.unwrap().half_width() - half).abs() < 1e-9, "{cost:?} vs {half}");
    // +1 with a half-width of 2.35 straddles the allowed +3: inconclusive; quality etc. unmeasured.
    assert_eq!(c.figures[0].judgement.as_ref().unwrap().outcome, Outcome::Inconclusive);
    assert!(render_text(&c).contains("5 replicates per side, unpaired (saved reports)"), "{}", render_text(&c));
}

#[test]
fn the_comparison_reads_back_from_json() {
    let worse = shifted(Figure::overall(Metric::P99), 4, 2.0, 0.09, 0.02);
    let view =
        request_view(&[1.0, 2.0, f64::NAN], &[1.5, 2.0, 0.7], &[0, 1, 1], &["chat".into(), "coding".into()]).unwrap();
    let c = compare(&replace(identical(4), worse), &Guard::default_guard(), Some(view)).unwrap();
    let json = c.to_json();
    assert!(json.starts_with("{\n  \"schema\": \"switchyard.compare.v1\",\n  \"verdict\": \"marginal\","), "{json}");
    let back = Comparison::from_json(&json, Path::new("c.json")).unwrap();
    assert_eq!(back, c);
    assert_eq!(render_text(&back), render_text(&c));
    assert_eq!(render_markdown(&back), render_markdown(&c));
    let other = json.replace("switchyard.compare.v1", "switchyard.simulate.v1");
    let err = Comparison::from_json(&other, Path::new("c.json")).unwrap_err();
    assert_eq!(
        err.to_string(),
        "c.json, `schema`: is not a comparison (schema `switchyard.simulate.v1`; expected `switchyard.compare.v1`)\n    fix: give a file written by `switchyard compare --json`"
    );
    let err =
        Comparison::from_json("{\"schema\": \"switchyard.compare.v1\",\n \"verdict\": \"maybe\"}", Path::new("c.json"))
            .unwrap_err();
    assert!(err.to_string().starts_with("c.json:2: does not read as a comparison: unknown variant `maybe`"), "{err}");
}

#[test]
fn bad_inputs_are_errors_naming_the_figure() {
    let p99 = Figure::overall(Metric::P99);
    let inputs = vec![
        FigureInput::paired(p99.clone(), vec![1.0, 2.0], vec![1.0]),
        FigureInput::paired(Figure::class(Metric::P50, "chat"), vec![1.0], vec![f64::NAN]),
        FigureInput::paired(p99, vec![1.0], vec![1.0]),
    ];
    let err = compare(&inputs, &Guard::default_guard(), None).unwrap_err();
    let messages: Vec<String> = err.problems().iter().map(|p| format!("{}: {}", p.place, p.message)).collect();
    assert_eq!(
        messages,
        [
            "`p99`: paired values need the same number of replicates on both sides, at least one (baseline 2, candidate 1)",
            "`p50 (class chat)`: a replicate value is not a finite number",
            "`p99`: figure given twice",
        ]
    );
}

/// The printouts of one comparison with every section: reviewed golden files
/// (src/compare/snapshots/), so that a change of layout shows up in review.
#[test]
fn printouts_match_the_reviewed_golden_files() {
    let worse = correlated(Figure::overall(Metric::Cost), 5, 152.3, 1.7, 7.615, 0.2);
    let share = Figure { metric: Metric::TrafficShare, scope: Scope::Model("glm-5".into()) };
    let inputs = replace(replace(identical(5), worse), correlated(share, 5, 0.31, 0.004, 0.12, 0.001));
    let inputs = replace(inputs, correlated(Figure::overall(Metric::Quality), 5, 0.812, 0.001, -0.009, 0.002));
    let view = request_view(
        &[1.0, 2.0, f64::NAN, 3.0, 0.5],
        &[1.5, 2.0, 0.7, 2.0, 0.5],
        &[0, 1, 1, 0, 1],
        &["chat".into(), "coding".into()],
    )
    .unwrap();
    let c = compare(&inputs, &Guard::default_guard(), Some(view)).unwrap();
    insta::assert_snapshot!("compare_text", render_text(&c));
    insta::assert_snapshot!("compare_markdown", render_markdown(&c));
}

/// The guard file once read itself with `read_to_string`, so bytes that are not UTF-8 were an IO
/// error without a line; it now loads like every other YAML input (`yaml::load`).
#[test]
fn guard_file_not_utf8_is_bad_input_naming_its_line() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("guard.yaml");
    std::fs::write(&path, b"version: 1\n# caf\xe9\n").unwrap();
    let err = Guard::load(&path, &[]).unwrap_err();
    let problems: Vec<String> = err.problems().iter().map(|p| format!("{:?}: {}", p.place.line, p.message)).collect();
    assert_eq!(problems, ["Some(2): is not UTF-8 text: byte 6 of the line (0xe9) is not UTF-8"]);
}

#[test]
fn provider_figures_sum_their_endpoints_replicate_by_replicate() {
    use crate::compare::{Scope, provider_inputs};
    let endpoint = |metric: Metric, id: &str, b: Vec<f64>, c: Vec<f64>| {
        FigureInput::paired(Figure { metric, scope: Scope::Endpoint(id.into()) }, b, c)
    };
    // Traffic moves from one deepseek endpoint to another: deepseek's share stays, its cost rises.
    let inputs = vec![
        endpoint(Metric::TrafficShare, "flash@us", vec![0.5, 0.25], vec![0.125, 0.125]),
        endpoint(Metric::TrafficShare, "priority@us", vec![0.0, 0.25], vec![0.375, 0.375]),
        endpoint(Metric::TrafficShare, "qwen@us", vec![0.5, 0.5], vec![0.5, 0.5]),
        endpoint(Metric::Cost, "flash@us", vec![6.0, 5.0], vec![1.0, 1.0]),
        endpoint(Metric::Cost, "priority@us", vec![0.0, 2.0], vec![10.0, 10.0]),
        endpoint(Metric::P99, "flash@us", vec![1.0, 1.0], vec![2.0, 2.0]),
    ];
    let provider = |id: &str| Some(if id.starts_with("qwen") { "qwen" } else { "deepseek" }.to_string());
    let sums = provider_inputs(&inputs, provider);
    let find = |metric: Metric, p: &str| {
        sums.iter().find(|i| i.figure == Figure { metric, scope: Scope::Provider(p.into()) }).map(|i| i.values.clone())
    };
    let share = find(Metric::TrafficShare, "deepseek").expect("deepseek's share");
    assert_eq!(share, Values::Paired { baseline: vec![0.5, 0.5], candidate: vec![0.5, 0.5] });
    let cost = find(Metric::Cost, "deepseek").expect("deepseek's cost");
    assert_eq!(cost, Values::Paired { baseline: vec![6.0, 7.0], candidate: vec![11.0, 11.0] });
    assert!(find(Metric::P99, "deepseek").is_none(), "quantiles do not add up");
    assert_eq!(sums.len(), 3, "deepseek share and cost, qwen share: {sums:?}");
}
