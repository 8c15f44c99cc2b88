//! Names that match nothing (issue 15, item 1): every name a user writes is resolved against the
//! catalog and the trace (`switchyard::names`), and a trace column whose header differs from a
//! canonical one only by case, spaces or punctuation is read as it with a note. Each test is named
//! after the mistake it catches, runs the built binary, and checks the exit code, that the message
//! names the offending name (and its file), and that no input file changed.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use crate::root;
use switchyard::trace::write::{ColumnData, Table, write_table};

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_switchyard"))
}

fn run(cmd: &mut Command) -> Output {
    cmd.output().expect("the binary runs")
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn sample_trace() -> PathBuf {
    root().join("traces/sample.csv")
}

fn field_report_policy() -> PathBuf {
    root().join("policies/field-report.yaml")
}

fn default_constraints() -> PathBuf {
    root().join("policies/constraints.yaml")
}

/// The bytes of every input file, to show that a run left them as they were.
struct Unchanged(Vec<(PathBuf, Vec<u8>)>);

impl Unchanged {
    fn new(paths: &[&Path]) -> Unchanged {
        Unchanged(paths.iter().map(|p| (p.to_path_buf(), std::fs::read(p).unwrap())).collect())
    }
    fn check(&self) {
        for (path, before) in &self.0 {
            let after = std::fs::read(path).unwrap();
            assert!(
                after == *before,
                "{} changed ({} bytes before, {} after)",
                path.display(),
                before.len(),
                after.len()
            );
        }
    }
}

/// `base` with `from` replaced by `to` (which must occur), written to `dir/name`.
fn edited(base: &Path, from: &str, to: &str, dir: &Path, name: &str) -> PathBuf {
    let text = std::fs::read_to_string(base).unwrap();
    assert!(text.contains(from), "{} has no {from:?}", base.display());
    let path = dir.join(name);
    std::fs::write(&path, text.replacen(from, to, 1)).unwrap();
    path
}

/// Assert exit code `code` and that stderr holds every needle.
fn expect(out: &Output, code: i32, needles: &[&str]) -> String {
    let err = stderr(out);
    assert_eq!(out.status.code(), Some(code), "exit code; stderr:\n{err}");
    for n in needles {
        assert!(err.contains(n), "stderr lacks {n:?}:\n{err}");
    }
    err
}

#[test]
fn residency_origin_typo_eu_west_l_is_an_error_suggesting_eu_west_1() {
    let dir = tempfile::tempdir().unwrap();
    let constraints =
        edited(&default_constraints(), "{origin: [eu-west-1]", "{origin: [eu-west-l]", dir.path(), "k.yaml");
    let inputs = Unchanged::new(&[&constraints, &sample_trace()]);
    let shown = constraints.display().to_string();
    let needles = [shown.as_str(), "residency.origin", "`eu-west-l`", "closest: `eu-west-1`"];
    // Before this was caught, optimize exited 0 and routed EU traffic anywhere.
    let out = run(bin()
        .args(["optimize", "--quiet", "--trace"])
        .arg(sample_trace())
        .arg("--constraints")
        .arg(&constraints)
        .arg("--out")
        .arg(dir.path().join("opt")));
    expect(&out, 2, &needles);
    assert!(!dir.path().join("opt/recommendation.json").exists(), "nothing is written for bad input");
    // An origin is a region: the catalog alone tells, without a trace.
    let out = run(bin().arg("validate").arg("--constraints").arg(&constraints));
    expect(&out, 2, &needles);
    inputs.check();
}

#[test]
fn policy_match_origin_typo_is_an_error_without_a_trace() {
    let dir = tempfile::tempdir().unwrap();
    let policy = edited(
        &field_report_policy(),
        "match: {origin: [eu-west-1]}",
        "match: {origin: [eu-west-l]}",
        dir.path(),
        "p.yaml",
    );
    let inputs = Unchanged::new(&[&policy]);
    let out = run(bin().arg("validate").arg("--policy").arg(&policy));
    expect(&out, 2, &[&policy.display().to_string(), "match.origin", "`eu-west-l`", "`eu-west-1`"]);
    inputs.check();
}

#[test]
fn constraints_class_typo_chta_is_an_error_suggesting_chat() {
    let dir = tempfile::tempdir().unwrap();
    let constraints = edited(&default_constraints(), "  chat:  ", "  chta:  ", dir.path(), "k.yaml");
    let inputs = Unchanged::new(&[&constraints, &sample_trace()]);
    let shown = constraints.display().to_string();
    let needles = [shown.as_str(), "classes.chta", "class `chta`", "correct it to `chat`"];
    // Before, chat's latency bound was dropped without a word.
    for command in ["optimize", "frontier"] {
        let out = run(bin()
            .args([command, "--quiet", "--trace"])
            .arg(sample_trace())
            .arg("--constraints")
            .arg(&constraints)
            .arg("--out")
            .arg(dir.path().join(command)));
        expect(&out, 2, &needles);
    }
    let out = run(bin().arg("validate").arg("--constraints").arg(&constraints).arg("--trace").arg(sample_trace()));
    expect(&out, 2, &needles);
    inputs.check();
}

#[test]
fn policy_match_class_typo_clasify_is_an_error_in_validate_and_simulate() {
    let dir = tempfile::tempdir().unwrap();
    let policy =
        edited(&field_report_policy(), "match: {class: [classify]}", "match: {class: [clasify]}", dir.path(), "p.yaml");
    let parquet = dir.path().join("t.parquet");
    let out = run(bin().args(["trace", "convert"]).arg(sample_trace()).arg("-o").arg(&parquet));
    expect(&out, 0, &[]);
    let inputs = Unchanged::new(&[&policy, &sample_trace(), &parquet]);
    let shown = policy.display().to_string();
    let needles = [shown.as_str(), "classify: match.class", "class `clasify`", "correct it to `classify`"];
    // Before, `validate --trace` said ok and simulate sent classify traffic to the catch-all rule.
    let out = run(bin().arg("validate").arg("--policy").arg(&policy).arg("--trace").arg(sample_trace()));
    expect(&out, 2, &needles);
    assert!(!String::from_utf8_lossy(&out.stdout).contains("ok:"), "validate must not say ok");
    // Every way simulate reads a trace: whole CSV, Parquet replayed as it is read, the
    // discrete-event engine, and the streamed reader.
    for (trace, extra) in [
        (sample_trace(), &[][..]),
        (parquet.clone(), &[][..]),
        (sample_trace(), &["--engine", "des"][..]),
        (parquet.clone(), &["--engine", "des", "--stream"][..]),
    ] {
        let out =
            run(bin().args(["simulate", "--quiet", "--trace"]).arg(&trace).arg("--policy").arg(&policy).args(extra));
        let err = expect(&out, 2, &needles);
        assert_eq!(err.matches("class `clasify`").count(), 1, "reported once ({extra:?}):\n{err}");
    }
    inputs.check();
}

#[test]
fn a_class_absent_from_the_trace_and_far_from_every_name_is_a_warning() {
    let dir = tempfile::tempdir().unwrap();
    // A policy written for more traffic than this trace has: `summarize` is no typo of anything.
    let policy = edited(
        &field_report_policy(),
        "match: {class: [vision]}",
        "match: {class: [vision, summarize]}",
        dir.path(),
        "p.yaml",
    );
    let inputs = Unchanged::new(&[&policy, &sample_trace()]);
    let warning = "class `summarize` does not occur in trace";
    for args in [&["validate"][..], &["simulate", "--quiet"][..]] {
        let out = run(bin().args(args).arg("--policy").arg(&policy).arg("--trace").arg(sample_trace()));
        let err = expect(&out, 0, &["warning:", &policy.display().to_string(), warning]);
        assert_eq!(err.matches(warning).count(), 1, "the warning is printed once:\n{err}");
    }
    inputs.check();
}

#[test]
fn a_constraints_class_absent_from_the_trace_is_a_warning_in_optimize() {
    let dir = tempfile::tempdir().unwrap();
    let constraints = edited(
        &default_constraints(),
        "  zh_docs:   {latency_s: 40,  quality: 0.88}\n",
        "  zh_docs:   {latency_s: 40,  quality: 0.88}\n  summarize: {latency_s: 60}\n",
        dir.path(),
        "k.yaml",
    );
    let inputs = Unchanged::new(&[&constraints, &sample_trace()]);
    let out = run(bin()
        .args(["optimize", "--quiet", "--no-verify", "--trace"])
        .arg(sample_trace())
        .arg("--constraints")
        .arg(&constraints)
        .arg("--out")
        .arg(dir.path().join("opt")));
    let warning = "class `summarize` does not occur in trace";
    let err = expect(&out, 0, &["warning:", "classes.summarize", warning]);
    assert_eq!(err.matches(warning).count(), 1, "the warning is printed once:\n{err}");
    inputs.check();
}

#[test]
fn frontier_class_typo_is_an_error_naming_the_closest_class() {
    let dir = tempfile::tempdir().unwrap();
    let inputs = Unchanged::new(&[&default_constraints(), &sample_trace()]);
    let out = run(bin()
        .args(["frontier", "--quiet", "--class", "reasonin", "--trace"])
        .arg(sample_trace())
        .arg("--constraints")
        .arg(default_constraints())
        .arg("--out")
        .arg(dir.path().join("f")));
    expect(&out, 2, &["--class", "`reasonin`", "closest: `reasoning`"]);
    inputs.check();
}

/// The sample trace as a table whose class column is named `class_header`.
fn sample_with_class_header(class_header: &str) -> Table {
    let text = std::fs::read_to_string(sample_trace()).unwrap();
    let mut cols: [Vec<String>; 5] = Default::default();
    for line in text.lines().skip(1) {
        for (col, cell) in cols.iter_mut().zip(line.split(',')) {
            col.push(cell.to_string());
        }
    }
    let num = |c: &[String]| ColumnData::F64(c.iter().map(|v| v.parse().unwrap()).collect());
    let tokens = |c: &[String]| ColumnData::U32(c.iter().map(|v| v.parse().unwrap()).collect());
    Table::new()
        .with("timestamp_s", num(&cols[0]))
        .with(class_header, ColumnData::Str(cols[1].clone()))
        .with("origin_region", ColumnData::Str(cols[2].clone()))
        .with("input_tokens", tokens(&cols[3]))
        .with("output_tokens", tokens(&cols[4]))
}

/// `simulate --json` of `trace` with the field-report policy: the report and stderr.
fn simulate(trace: &Path, json: &Path, extra: &[&str]) -> (serde_json::Value, String) {
    let out = run(bin()
        .args(["simulate", "--quiet", "--trace"])
        .arg(trace)
        .arg("--policy")
        .arg(field_report_policy())
        .args(extra)
        .arg("--json")
        .arg(json));
    let err = expect(&out, 0, &[]);
    (serde_json::from_slice(&std::fs::read(json).unwrap()).unwrap(), err)
}

#[test]
fn a_trace_header_with_a_stray_space_is_read_as_class_with_a_note() {
    let dir = tempfile::tempdir().unwrap();
    let (clean, _) = simulate(&sample_trace(), &dir.path().join("clean.json"), &[]);
    let clean_cost = clean["total_cost_usd"].as_f64().unwrap();
    let classes = |v: &serde_json::Value| v["per_class"].as_object().unwrap().keys().cloned().collect::<Vec<_>>();
    assert!(classes(&clean).contains(&"classify".to_string()), "{clean}");
    // Before, ` class` was ignored and every request became class `default` ($1.21 against $5.33).
    let csv = edited(&sample_trace(), "timestamp_s,class,", "timestamp_s, class,", dir.path(), "spaced.csv");
    let table = sample_with_class_header(" class");
    let (parquet, ndjson) = (dir.path().join("spaced.parquet"), dir.path().join("spaced.ndjson"));
    write_table(&table, &parquet).unwrap();
    write_table(&table, &ndjson).unwrap();
    let gz = dir.path().join("spaced.csv.gz");
    {
        use std::io::Write;
        let mut enc = flate2::write::GzEncoder::new(std::fs::File::create(&gz).unwrap(), flate2::Compression::fast());
        enc.write_all(&std::fs::read(&csv).unwrap()).unwrap();
        enc.finish().unwrap();
    }
    let inputs = Unchanged::new(&[&csv, &parquet, &ndjson, &gz, &sample_trace()]);
    let note = "column ` class` read as `class`";
    let runs: [(&Path, &[&str]); 6] = [
        (&csv, &[]),
        (&gz, &[]),
        (&parquet, &[]),                                          // replayed as it is read
        (&parquet, &["--replicates", "1", "--per-request", "_"]), // the whole-file reader
        (&ndjson, &[]),
        (&parquet, &["--engine", "des", "--stream"]), // the streamed reader
    ];
    for (i, (trace, extra)) in runs.iter().enumerate() {
        let per_request = dir.path().join(format!("requests{i}.parquet"));
        let extra: Vec<&str> =
            extra.iter().map(|a| if *a == "_" { per_request.to_str().unwrap() } else { *a }).collect();
        let (report, err) = simulate(trace, &dir.path().join(format!("r{i}.json")), &extra);
        assert!(err.contains("note:") && err.contains(note), "{} {extra:?}: no note:\n{err}", trace.display());
        assert_eq!(err.matches(note).count(), 1, "the note is printed once:\n{err}");
        assert_eq!(classes(&report), classes(&clean), "{} {extra:?}: classes", trace.display());
        if !extra.contains(&"des") {
            // The same requests, classes, policy and seed: the same cost to the cent and beyond.
            let cost = report["total_cost_usd"].as_f64().unwrap();
            assert!(
                cost == clean_cost,
                "{} {extra:?}: cost {cost} against {clean_cost} with the clean header",
                trace.display()
            );
        }
    }
    inputs.check();
}

#[test]
fn a_header_differing_in_case_only_beside_the_exact_one_is_rejected() {
    let dir = tempfile::tempdir().unwrap();
    let text = std::fs::read_to_string(sample_trace()).unwrap();
    let mut doubled = String::new();
    for (i, line) in text.lines().enumerate() {
        let cells: Vec<&str> = line.split(',').collect();
        let extra = if i == 0 { "Class" } else { cells[1] };
        doubled.push_str(&format!("{},{},{extra},{}\n", cells[0], cells[1], cells[2..].join(",")));
    }
    let path = dir.path().join("two.csv");
    std::fs::write(&path, doubled).unwrap();
    let inputs = Unchanged::new(&[&path]);
    let out = run(bin().args(["trace", "stats"]).arg(&path));
    expect(&out, 2, &[&path.display().to_string(), "`class` and `Class` could each be `class`"]);
    inputs.check();
}

#[test]
fn a_misspelt_optional_header_is_a_warning_not_silence() {
    let dir = tempfile::tempdir().unwrap();
    let csv = edited(&sample_trace(), ",origin_region,", ",orgin_region,", dir.path(), "t.csv");
    let inputs = Unchanged::new(&[&csv]);
    let out = run(bin().arg("validate").arg("--trace").arg(&csv));
    expect(
        &out,
        0,
        &["warning:", "`orgin_region` is not read", "did you mean `origin_region`", "--map orgin_region=origin_region"],
    );
    inputs.check();
}

#[test]
fn a_price_alias_for_a_model_the_catalog_lacks_is_an_error() {
    let prices = root().join("tests/fixtures/import/model_prices.json");
    let inputs = Unchanged::new(&[&prices]);
    let out =
        run(bin().args(["catalog", "import-prices", "--prices"]).arg(&prices).args(["--alias", "glm-55=z-ai/glm-5"]));
    expect(&out, 2, &["--alias", "unknown model `glm-55`", "closest: `glm-5`"]);
    inputs.check();
}
