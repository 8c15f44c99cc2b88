//! `compare`'s pipeline in the library: two policies run through `run::simulate` with the same
//! seed (common random numbers), their typed figures paired replicate by replicate
//! (`compare::paired_inputs`), judged by the default guard.

use switchyard::catalog::Catalog;
use switchyard::compare::{self, Figure, Guard, Metric, Side, Verdict};
use switchyard::policy::Policy;
use switchyard::report::Figures;
use switchyard::run::{self, Inputs, RunSpec, Unwatched};
use switchyard::trace::{Row, Trace};

const REPLICATES: u32 = 4;

fn trace() -> Trace {
    let classes = ["chat", "code"];
    let rows: Vec<Row> = (0..20_000)
        .map(|i| Row {
            timestamp_s: i as f64 * 0.5,
            class: classes[i % 2],
            origin: Some("us-east-1"),
            input_tokens: 400 + (i % 700) as u32,
            output_tokens: 100 + (i % 300) as u32,
        })
        .collect();
    Trace::from_rows("two classes", &rows)
}

/// Each replicate's figures of `policy` on `trace`, seed 7.
fn figures(catalog: &Catalog, trace: &Trace, policy_yaml: &str) -> Vec<Figures> {
    let policy = Policy::from_yaml_str(policy_yaml, "p.yaml".as_ref(), catalog).unwrap();
    let table = policy.bind(catalog, trace).unwrap();
    let spec = RunSpec::replay(7, REPLICATES);
    let ran = run::simulate(Inputs { catalog, table: &table, trace }, &spec, &Unwatched).unwrap();
    ran.summaries.iter().map(Figures::of).collect()
}

/// The us-east-1 endpoints with the lowest and the highest output price.
fn cheapest_and_dearest(catalog: &Catalog) -> (String, String) {
    let mut east: Vec<_> = catalog.endpoints.iter().filter(|e| e.region == "us-east-1").collect();
    east.sort_by(|a, b| a.prices.output_per_mtok.total_cmp(&b.prices.output_per_mtok));
    (east[0].id.clone(), east[east.len() - 1].id.clone())
}

fn policy(targets: &str, fallback: &str) -> String {
    format!("rules:\n  - name: all\n    targets: {{{targets}}}\n    fallback: [{fallback}]\n")
}

#[test]
fn a_policy_compared_with_itself_changes_nothing_and_passes() {
    let catalog = Catalog::default_catalog();
    let t = trace();
    let (cheap, dear) = cheapest_and_dearest(&catalog);
    let p = policy(&format!("{cheap}: 0.7, {dear}: 0.3"), &dear);
    let (a, b) = (figures(&catalog, &t, &p), figures(&catalog, &t, &p));
    let inputs = compare::paired_inputs(Side { figures: &a, des: &[] }, Side { figures: &b, des: &[] });
    assert!(inputs.len() > 20, "{} figures", inputs.len());
    let c = compare::compare(&inputs, &Guard::default_guard(), None).unwrap();
    for f in &c.figures {
        assert_eq!(f.change.difference, 0.0, "{}: the same policy and seed must give the same values", f.figure);
    }
    assert_eq!((c.verdict, c.exit_code()), (Verdict::Pass, 0), "{}", compare::render_text(&c));
}

#[test]
fn moving_traffic_to_the_dearest_endpoint_fails_on_cost() {
    let catalog = Catalog::default_catalog();
    let t = trace();
    let (cheap, dear) = cheapest_and_dearest(&catalog);
    let base = figures(&catalog, &t, &policy(&format!("{cheap}: 0.9, {dear}: 0.1"), &dear));
    let cand = figures(&catalog, &t, &policy(&format!("{cheap}: 0.5, {dear}: 0.5"), &dear));
    let inputs = compare::paired_inputs(Side { figures: &base, des: &[] }, Side { figures: &cand, des: &[] });
    let c = compare::compare(&inputs, &Guard::default_guard(), None).unwrap();
    let text = compare::render_text(&c);
    assert_eq!((c.verdict, c.exit_code()), (Verdict::Fail, 1), "{text}");
    assert!(c.decided_by.contains(&Figure::overall(Metric::Cost)), "cost decides: {text}");
    let cost = c.figures.iter().find(|f| f.figure == Figure::overall(Metric::Cost)).unwrap();
    // Half the traffic instead of a tenth at the dearest price: cost must rise by far more than
    // the default guard's allowance, and the paired interval must exclude zero.
    let interval = cost.change.interval().expect("four paired replicates give an interval");
    assert!(cost.change.difference > 0.0 && interval.low > 0.0, "cost change {:?}", cost.change);
}

/// The command: its exit code is the verdict, its JSON reads back as a `Comparison`, a flag of the
/// other engine is a usage error.
#[test]
fn the_compare_command_exits_with_its_verdict() {
    use std::process::Command;
    let catalog = Catalog::default_catalog();
    let (cheap, dear) = cheapest_and_dearest(&catalog);
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let trace_path = dir.join("t.parquet");
    switchyard::trace::write::write(&trace(), &trace_path, None).unwrap();
    std::fs::write(dir.join("base.yaml"), policy(&format!("{cheap}: 0.9, {dear}: 0.1"), &dear)).unwrap();
    std::fs::write(dir.join("dear.yaml"), policy(&format!("{cheap}: 0.5, {dear}: 0.5"), &dear)).unwrap();
    let run = |candidate: &str, extra: &[&str]| {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_switchyard"));
        cmd.current_dir(dir).args([
            "compare",
            "--trace",
            "t.parquet",
            "--baseline",
            "base.yaml",
            "--candidate",
            candidate,
        ]);
        let out = cmd.args(["--replicates", "3", "-q"]).args(extra).output().unwrap();
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let (code, stdout, stderr) = run("base.yaml", &[]);
    assert_eq!(code, Some(0), "the same policy passes:\n{stdout}{stderr}");
    assert!(stdout.starts_with("PASS"), "{stdout}");
    let (code, stdout, stderr) = run("dear.yaml", &["--json", "c.json", "--markdown", "c.md"]);
    assert_eq!(code, Some(1), "the dearer policy fails:\n{stdout}{stderr}");
    let back: switchyard::compare::Comparison =
        serde_json::from_str(&std::fs::read_to_string(dir.join("c.json")).unwrap()).unwrap();
    assert_eq!(back.verdict, Verdict::Fail);
    assert!(std::fs::read_to_string(dir.join("c.md")).unwrap().contains("**FAIL**"));
    // Saved reports of the same two policies compare unpaired, with the same verdict; flags that
    // only a run uses are refused rather than ignored.
    for (policy, json) in [("base.yaml", "base.json"), ("dear.yaml", "dear.json")] {
        let out = Command::new(env!("CARGO_BIN_EXE_switchyard"))
            .current_dir(dir)
            .args(["simulate", "-q", "--trace", "t.parquet", "--policy", policy, "--replicates", "3", "--json", json])
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    }
    let saved = |extra: &[&str]| {
        let out = Command::new(env!("CARGO_BIN_EXE_switchyard"))
            .current_dir(dir)
            .args(["compare", "-q", "--baseline", "base.json", "--candidate", "dear.json"])
            .args(extra)
            .output()
            .unwrap();
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let (code, stdout, stderr) = saved(&[]);
    assert_eq!(code, Some(1), "saved reports, the dearer policy fails:\n{stdout}{stderr}");
    assert!(stdout.contains("unpaired (saved reports)"), "{stdout}");
    let out = Command::new(env!("CARGO_BIN_EXE_switchyard"))
        .current_dir(dir)
        .args(["compare", "-q", "--baseline-report", "base.json", "--candidate-report", "dear.json"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "--baseline-report/--candidate-report name saved reports too");
    let (code, _, stderr) = saved(&["--seed", "3"]);
    assert_eq!(code, Some(2), "--seed with saved reports is a usage error: {stderr}");
    let scenario = crate::root().join("policies/scenario-outage.yaml");
    let (code, _, stderr) = run("dear.yaml", &["--scenario", scenario.to_str().unwrap()]);
    assert_eq!(code, Some(2), "--scenario without --engine des is a usage error: {stderr}");
    assert!(stderr.contains("--engine des"), "{stderr}");
}

/// Two saved reports compare unpaired: each side's mean and, from its `ci95`, its standard
/// deviation; a report against itself changes nothing and its Welch interval is centred on zero.
#[test]
fn saved_reports_compare_unpaired_from_their_means_and_intervals() {
    use switchyard::compare::Values;
    use switchyard::report::SimulateReport;
    let path = crate::root().join("tests/golden/simulate/replicates.json");
    let text = std::fs::read_to_string(&path).unwrap();
    let report = SimulateReport::from_json(&text, &path).unwrap();
    assert_eq!(report.replicates, 3);
    let inputs = compare::unpaired_inputs(&report, &report);
    assert!(inputs.len() > 20, "{} figures", inputs.len());
    let cost = inputs.iter().find(|i| i.figure == Figure::overall(Metric::Cost)).expect("cost is compared");
    let Values::Unpaired { baseline, .. } = &cost.values else { panic!("saved reports are unpaired") };
    let [low, high] = report.ci95.as_ref().unwrap().figures.total_cost_usd.unwrap();
    let half = (high - low) / 2.0;
    let sd = baseline.sd.expect("three replicates give a standard deviation");
    // The interval the report was written with, rebuilt from the moments: t95(2) = 4.303.
    let rebuilt = 4.303 * sd / 3f64.sqrt();
    assert!((rebuilt - half).abs() < 1e-9 * half.max(1.0), "half-width {half} vs rebuilt {rebuilt}");
    assert_eq!(baseline.mean, report.figures.total_cost_usd.as_f64());
    let c = compare::compare(&inputs, &Guard::default_guard(), None).unwrap();
    for f in &c.figures {
        assert_eq!(f.change.difference, 0.0, "{}", f.figure);
        if let Some(i) = f.change.interval() {
            assert!((i.low + i.high).abs() <= 1e-9 * i.high.abs().max(1e-12), "{}: [{}, {}]", f.figure, i.low, i.high);
        }
    }
    assert_eq!(c.verdict, Verdict::Pass, "{}", compare::render_text(&c));
}

/// The field report's incident on a small day: the default rule's workhorse swapped for its
/// priority tier (twice the price). Under two discrete-event scenarios the verdict is FAIL in each,
/// named by cost; the per-request view sees the faster first tokens; the chart is drawn per scenario;
/// the JSON reads back as `Scenarios`.
#[test]
fn a_swap_to_a_pricier_tier_fails_on_cost_in_every_scenario() {
    use std::process::Command;
    use switchyard::compare::Scenarios;
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    switchyard::trace::write::write(&trace(), &dir.join("t.parquet"), None).unwrap();
    let policies = crate::root().join("policies");
    let out = Command::new(env!("CARGO_BIN_EXE_switchyard"))
        .current_dir(dir)
        .args(["compare", "-q", "--trace", "t.parquet", "--replicates", "2", "--engine", "des"])
        .arg("--baseline")
        .arg(policies.join("field-report.yaml"))
        .arg("--candidate")
        .arg(policies.join("field-report-priority.yaml"))
        .arg("--scenario")
        .arg(policies.join("scenario-outage.yaml"))
        .arg("--scenario")
        .arg(policies.join("scenario-outage-nocooldown.yaml"))
        .args(["--json", "c.json", "--markdown", "c.md", "--chart", "charts", "--html", "review.html"])
        .output()
        .unwrap();
    let (stdout, stderr) = (String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert_eq!(out.status.code(), Some(1), "{stdout}{stderr}");
    assert!(stdout.starts_with("FAIL in 2 of 2 scenarios"), "{stdout}");
    let text = std::fs::read_to_string(dir.join("c.json")).unwrap();
    let back = Scenarios::from_json(&text, &dir.join("c.json")).unwrap();
    assert_eq!(back.comparisons.len(), 2);
    for c in &back.comparisons {
        assert_eq!(c.verdict, Verdict::Fail, "{}", compare::render_text(c));
        assert!(c.decided_by.contains(&Figure::overall(Metric::Cost)), "{:?}", c.decided_by);
        let view = c.requests.as_ref().expect("a paired run has the per-request view");
        assert!(
            view.counts.faster > view.counts.slower,
            "the priority tier's first tokens are faster: {:?}",
            view.counts
        );
        assert!(
            c.figures.iter().any(|f| f.figure.metric == Metric::RateLimited429),
            "discrete-event figures are compared"
        );
    }
    assert_eq!(
        back.comparisons.iter().map(|c| c.scenario.clone().unwrap()).collect::<Vec<_>>(),
        ["scenario-outage", "scenario-outage-nocooldown"]
    );
    assert!(std::fs::read_to_string(dir.join("c.md")).unwrap().contains("#### Scenario `scenario-outage`"));
    // The review page of a discrete-event run: both scenarios' verdicts, the first one's timeline.
    let page = std::fs::read_to_string(dir.join("review.html")).unwrap();
    assert!(
        page.contains("id=\"timeline\"") && page.contains("scenario-outage-nocooldown FAIL"),
        "the DES review page"
    );
    for stem in ["compare-scenario-outage", "compare-scenario-outage-nocooldown"] {
        let png = std::fs::read(dir.join(format!("charts/{stem}.png"))).unwrap();
        assert_eq!(&png[1..4], b"PNG");
        let svg = std::fs::read_to_string(dir.join(format!("charts/{stem}.svg"))).unwrap();
        assert!(svg.contains("field-report-priority.yaml") && svg.contains("chat"), "{stem}.svg lacks its labels");
    }
}

/// The combined verdict of several scenarios is the worst one's.
#[test]
fn the_worst_scenario_decides() {
    use switchyard::compare::{FigureInput, Scenarios};
    let run = |candidate: f64| {
        let inputs = vec![FigureInput::paired(
            Figure::overall(Metric::Cost),
            vec![100.0, 101.0],
            vec![candidate, candidate + 1.0],
        )];
        compare::compare(&inputs, &Guard::default_guard(), None).unwrap()
    };
    let (pass, fail) = (run(100.0), run(110.0));
    assert_eq!((pass.verdict, fail.verdict), (Verdict::Pass, Verdict::Fail));
    let both = Scenarios::new(vec![pass.clone(), fail]);
    assert_eq!((both.verdict, both.exit_code()), (Verdict::Fail, 1));
    assert_eq!(Scenarios::new(vec![pass.clone(), pass]).verdict, Verdict::Pass);
}
