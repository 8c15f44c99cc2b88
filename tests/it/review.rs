//! The review page as a person sees it: the demo's page opened in headless Chromium (Debian's
//! `chromium`, driven by playwright-core from tests/review/check.mjs) loads with no console errors
//! and no network request, draws every chart, sorts a table on a click, fits a laptop screen and
//! prints; a screenshot is kept at target/artifacts/review.png. Also `compare --html` and `report`
//! from saved outputs, read as text.
//!
//! The browser check needs node, `npm ci --ignore-scripts --prefix tests/review` and
//! /usr/bin/chromium (or CHROMIUM); `.ci/run` installs them. Without them the test prints why it
//! skips; under CI (CI=true) it fails.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

use crate::{client_missing, root};

fn switchyard(dir: &Path, args: &[&str]) -> (Option<i32>, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_switchyard")).current_dir(dir).args(args).output().unwrap();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// node and Chromium, or why not.
fn browser() -> Option<(PathBuf, PathBuf)> {
    let node = std::env::var_os("SWITCHYARD_NODE").map(PathBuf::from).unwrap_or_else(|| PathBuf::from("node"));
    let chromium =
        std::env::var_os("CHROMIUM").map(PathBuf::from).unwrap_or_else(|| PathBuf::from("/usr/bin/chromium"));
    let module = root().join("tests/review/node_modules/playwright-core/package.json");
    let node_runs = Command::new(&node).arg("--version").output().is_ok_and(|o| o.status.success());
    let missing: Vec<String> = [
        (!node_runs).then(|| format!("`{}` does not run", node.display())),
        (!module.exists()).then(|| format!("no playwright-core at {}", module.display())),
        (!chromium.exists()).then(|| format!("no Chromium at {}", chromium.display())),
    ]
    .into_iter()
    .flatten()
    .collect();
    if missing.is_empty() {
        return Some((node, chromium));
    }
    // .ci/run could not install Chromium on this machine: skip, saying why, rather than fail.
    if let Ok(why) = std::env::var("SWITCHYARD_BROWSER_UNAVAILABLE") {
        eprintln!("review page browser test skipped: {why} ({})", missing.join(", "));
        return None;
    }
    client_missing(&format!(
        "review page browser test skipped: {} (install with `apt-get install chromium` and \
         `npm ci --ignore-scripts --prefix tests/review`)",
        missing.join(", ")
    ));
    None
}

#[test]
fn the_demos_review_page_opens_in_chromium_with_no_errors_and_no_network() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let (code, stdout, stderr) =
        switchyard(dir, &["demo", "-q", "--requests", "20000", "--points", "3", "--out", "demo"]);
    assert_eq!(code, Some(0), "{stderr}");
    assert!(stdout.contains("the review page: demo/review.html"), "the demo names its page:\n{stdout}");
    let page = dir.join("demo/review.html");
    let html = std::fs::read_to_string(&page).unwrap();
    for section in [
        "id=\"banner\"",
        "id=\"provenance\"",
        "id=\"policy\"",
        "id=\"service\"",
        "id=\"cost\"",
        "id=\"capacity\"",
        "id=\"frontier\"",
        "id=\"trust\"",
    ] {
        assert!(html.contains(section), "the demo's page lacks {section}");
    }
    let Some((node, chromium)) = browser() else { return };
    let artifacts = root().join("target/artifacts");
    std::fs::create_dir_all(&artifacts).unwrap();
    let shot = artifacts.join("review.png");
    let out = Command::new(node)
        .arg(root().join("tests/review/check.mjs"))
        .arg(&page)
        .arg(&shot)
        .env("CHROMIUM", chromium)
        .output()
        .unwrap();
    assert!(out.status.success(), "the browser check did not run:\n{}", String::from_utf8_lossy(&out.stderr));
    let seen: Value = serde_json::from_slice(&out.stdout).expect("check.mjs prints JSON");
    eprintln!("review page in Chromium: {seen}; screenshot {}", shot.display());
    assert_eq!(seen["console_errors"], Value::Array(vec![]), "console errors: {seen}");
    assert_eq!(seen["page_errors"], Value::Array(vec![]), "script errors: {seen}");
    assert_eq!(seen["requests"], Value::Array(vec![]), "the page must load nothing: {seen}");
    let charts = seen["charts"].as_array().unwrap();
    // The comparison chart and the two frontiers.
    assert!(charts.len() >= 3, "{} charts: {seen}", charts.len());
    for c in charts {
        assert!(
            c["width"].as_f64().unwrap() > 600.0 && c["height"].as_f64().unwrap() > 300.0,
            "a chart too small: {c}"
        );
        assert!(c["elements"].as_u64().unwrap() > 30, "a chart with nothing drawn: {c}");
    }
    assert!(seen["verdict"].is_string(), "the verdict banner: {seen}");
    assert_eq!(seen["sorted"], Value::Bool(true), "clicking a header twice sorts the column descending: {seen}");
    assert_eq!(seen["overflow_x"], Value::Bool(false), "the page is wider than a laptop screen: {seen}");
    assert_eq!(seen["print_pages"], Value::Bool(true), "the page prints: {seen}");
    let png = std::fs::read(&shot).unwrap();
    assert_eq!(&png[1..4], b"PNG", "a screenshot at {}", shot.display());
}

#[test]
fn compare_and_report_write_the_same_review_from_a_run_and_from_saved_outputs() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let trace = dir.join("t.parquet");
    let (code, _, stderr) = switchyard(dir, &["demo", "-q", "--requests", "20000", "--points", "2", "--out", "d"]);
    assert_eq!(code, Some(0), "{stderr}");
    std::fs::copy(dir.join("d/trace.parquet"), &trace).unwrap();
    let policies = root().join("policies");
    let (b, c) = (policies.join("field-report.yaml"), policies.join("field-report-priority.yaml"));
    let (code, _, stderr) = switchyard(
        dir,
        &[
            "compare",
            "-q",
            "--trace",
            "t.parquet",
            "--baseline",
            b.to_str().unwrap(),
            "--candidate",
            c.to_str().unwrap(),
            "--replicates",
            "3",
            "--json",
            "c.json",
            "--html",
            "run.html",
        ],
    );
    assert_eq!(code, Some(1), "the swap to a pricier tier fails on cost: {stderr}");
    let run = std::fs::read_to_string(dir.join("run.html")).unwrap();
    assert!(run.contains("<div class=\"verdict\">FAIL</div>") && run.contains("id=\"capacity\""), "compare --html");
    assert!(run.contains("switchyard compare -q --trace t.parquet"), "the page prints the command that made it");
    assert!(run.contains("By provider") && run.contains("By serving region"), "cost by provider and region");
    let (code, _, stderr) = switchyard(
        dir,
        &[
            "report",
            "--comparison",
            "c.json",
            "--baseline",
            b.to_str().unwrap(),
            "--candidate",
            c.to_str().unwrap(),
            "--trace",
            "t.parquet",
            "-o",
            "saved.html",
        ],
    );
    assert_eq!(code, Some(0), "{stderr}");
    let saved = std::fs::read_to_string(dir.join("saved.html")).unwrap();
    // The same verdict and the same policy diff either way.
    let diff = |html: &str| {
        html.split("id=\"policy\"").nth(1).and_then(|s| s.split("</section>").next()).unwrap_or("").to_string()
    };
    assert!(saved.contains("<div class=\"verdict\">FAIL</div>"));
    assert_eq!(diff(&saved), diff(&run), "the policy diff differs between compare --html and report");
    assert!(diff(&run).contains("deepseek-v4-flash-priority@us-east-1 80%"), "the changed weight is shown");
    // Nothing to review is a usage error; an output over an input is refused.
    let (code, _, stderr) = switchyard(dir, &["report", "-o", "x.html"]);
    assert_eq!(code, Some(2), "{stderr}");
    let (code, _, stderr) = switchyard(dir, &["report", "--comparison", "c.json", "-o", "c.json"]);
    assert_eq!(code, Some(2), "writing the page over its input is refused: {stderr}");
}

/// A calibration fit on the page: `report --calibration` reads what `calibrate --json` wrote and
/// shows its goodness of fit per endpoint and quantity as a table.
#[test]
fn a_calibration_fit_shows_as_a_table_under_how_far_to_trust_it() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let spend = root().join("tests/fixtures/import/litellm_spend.csv");
    let (code, _, stderr) = switchyard(
        dir,
        &[
            "calibrate",
            "-q",
            "--format",
            "litellm",
            "--trace",
            spend.to_str().unwrap(),
            "-o",
            "cat.yaml",
            "--json",
            "fit.json",
        ],
    );
    assert_eq!(code, Some(0), "{stderr}");
    let (code, _, stderr) =
        switchyard(dir, &["report", "--calibration", "fit.json", "--catalog", "cat.yaml", "-o", "fit.html"]);
    assert_eq!(code, Some(0), "{stderr}");
    let html = std::fs::read_to_string(dir.join("fit.html")).unwrap();
    let fit: Value = serde_json::from_str(&std::fs::read_to_string(dir.join("fit.json")).unwrap()).unwrap();
    let first = &fit["endpoints"][0];
    let id = format!("{}@{}", first["model"].as_str().unwrap(), first["region"].as_str().unwrap());
    let trust = html.split("id=\"trust\"").nth(1).expect("the trust section");
    assert!(trust.contains("Calibration fit") && trust.contains(&id), "the fit table names {id}");
    // A file that is not a fit is an error naming it.
    std::fs::write(dir.join("bad.json"), "{\"endpoints\": 3}").unwrap();
    let (code, _, stderr) = switchyard(dir, &["report", "--calibration", "bad.json", "-o", "x.html"]);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stderr.contains("bad.json") && stderr.contains("calibration fit"), "{stderr}");
}

/// Saved simulate reports: one gives a page of that policy's figures, two a comparison, unpaired
/// (as `compare` does with two saved reports), with its verdict.
#[test]
fn saved_simulate_reports_make_a_page_of_figures_or_an_unpaired_comparison() {
    let dir = root().join("tests/golden/simulate");
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path();
    let replicates = dir.join("replicates.json");
    let (code, _, stderr) = switchyard(out, &["report", "--simulate", replicates.to_str().unwrap(), "-o", "one.html"]);
    assert_eq!(code, Some(0), "{stderr}");
    let one = std::fs::read_to_string(out.join("one.html")).unwrap();
    assert!(
        one.contains("Simulated figures of one policy") && !one.contains("class=\"banner"),
        "one report, no verdict"
    );
    let (code, _, stderr) = switchyard(
        out,
        &[
            "report",
            "--simulate",
            replicates.to_str().unwrap(),
            "--simulate",
            replicates.to_str().unwrap(),
            "-o",
            "two.html",
        ],
    );
    assert_eq!(code, Some(0), "{stderr}");
    let two = std::fs::read_to_string(out.join("two.html")).unwrap();
    // A report against itself: nothing changed, so the verdict passes; the basis says unpaired.
    assert!(two.contains("<div class=\"verdict\">PASS</div>"), "a report against itself passes");
    assert!(two.contains("unpaired"), "saved reports compare unpaired");
    let (code, _, stderr) = switchyard(
        out,
        &["report", "--simulate", "a.json", "--simulate", "b.json", "--simulate", "c.json", "-o", "x.html"],
    );
    assert_eq!(code, Some(2), "three reports is a usage error: {stderr}");
}
