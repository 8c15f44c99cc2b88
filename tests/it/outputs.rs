//! Outputs and exit codes, end to end: an output never overwrites an input, is checked before any
//! work, an output folder holds one run, every subcommand exits by one convention, every fix that
//! is a command runs as printed, and `±` carries its unit.

use crate::root;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_switchyard"))
}

/// The binary run in `dir` (relative paths in its arguments start there).
fn run_in(dir: &Path, args: &[&str]) -> Output {
    bin().current_dir(dir).args(args).output().expect("the binary runs")
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}
fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn path_str(p: &Path) -> &str {
    p.to_str().expect("test paths are UTF-8")
}

fn sample_trace() -> PathBuf {
    root().join("traces/sample.csv")
}
fn policy() -> PathBuf {
    root().join("policies/field-report.yaml")
}
fn constraints() -> PathBuf {
    root().join("policies/constraints.yaml")
}

/// Constraints no routing of the sample trace meets: classify's p99 under 10 ms.
fn infeasible_constraints(dir: &Path) -> PathBuf {
    let text = std::fs::read_to_string(constraints()).unwrap();
    let tight = text.replace("classify:  {latency_s: 2.0", "classify:  {latency_s: 0.01");
    assert_ne!(text, tight, "policies/constraints.yaml changed: the classify bound was not found");
    let path = dir.join("infeasible.yaml");
    std::fs::write(&path, tight).unwrap();
    path
}

/// Asserts a refused command: exit code 2, every needle in stderr, nothing on stdout (no work done).
fn assert_refused(o: &Output, needles: &[&str]) {
    let err = stderr(o);
    assert_eq!(o.status.code(), Some(2), "expected exit code 2; stderr:\n{err}");
    for needle in needles {
        assert!(err.contains(needle), "the message lacks {needle:?}:\n{err}");
    }
    assert!(stdout(o).is_empty(), "work was done before the refusal:\n{}", stdout(o));
}

#[test]
fn simulate_json_onto_its_own_policy_is_refused_and_the_policy_unchanged() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(policy(), dir.path().join("p.yaml")).unwrap();
    std::os::unix::fs::symlink("p.yaml", dir.path().join("link.yaml")).unwrap();
    let before = std::fs::read(dir.path().join("p.yaml")).unwrap();
    let trace = sample_trace();
    // The same file spelt three ways: as given, through `./`, and through a symlink.
    for json in ["p.yaml", "./p.yaml", "link.yaml"] {
        let o = run_in(dir.path(), &["simulate", "--trace", path_str(&trace), "--policy", "p.yaml", "--json", json]);
        assert_refused(&o, &[json, "--json", "--policy", "p.yaml"]);
        assert_eq!(std::fs::read(dir.path().join("p.yaml")).unwrap(), before, "--json {json} changed the policy");
    }
}

#[test]
fn per_request_onto_the_trace_is_refused_and_the_trace_unchanged() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(sample_trace(), dir.path().join("trace.csv")).unwrap();
    let before = std::fs::read(dir.path().join("trace.csv")).unwrap();
    let pol = policy();
    let o = run_in(
        dir.path(),
        &["simulate", "--trace", "trace.csv", "--policy", path_str(&pol), "--per-request", "./trace.csv"],
    );
    assert_refused(&o, &["./trace.csv", "--per-request", "--trace"]);
    assert_eq!(std::fs::read(dir.path().join("trace.csv")).unwrap(), before);
    // And a converted trace written over its source: the same refusal in another command.
    let o = run_in(dir.path(), &["trace", "convert", "trace.csv", "-o", "trace.csv"]);
    assert_refused(&o, &["trace.csv", "--output", "FILE"]);
    assert_eq!(std::fs::read(dir.path().join("trace.csv")).unwrap(), before);
}

#[test]
fn optimize_out_folder_holding_its_current_policy_is_refused() {
    // `--out run` would write run/policy.yaml, which is the --current policy.
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("run")).unwrap();
    std::fs::copy(policy(), dir.path().join("run/policy.yaml")).unwrap();
    let before = std::fs::read(dir.path().join("run/policy.yaml")).unwrap();
    let (trace, k) = (sample_trace(), constraints());
    let o = run_in(
        dir.path(),
        &[
            "optimize",
            "--trace",
            path_str(&trace),
            "--constraints",
            path_str(&k),
            "--current",
            "run/policy.yaml",
            "--out",
            "run",
        ],
    );
    assert_refused(&o, &["--out", "--current", "policy.yaml"]);
    assert_eq!(std::fs::read(dir.path().join("run/policy.yaml")).unwrap(), before);
}

#[test]
fn an_output_in_a_missing_folder_is_refused_before_any_work() {
    let dir = tempfile::tempdir().unwrap();
    let (trace, pol) = (sample_trace(), policy());
    let o = run_in(
        dir.path(),
        &["simulate", "--trace", path_str(&trace), "--policy", path_str(&pol), "--json", "no-such-folder/r.json"],
    );
    assert_refused(&o, &["no-such-folder", "does not exist", "--json", "mkdir -p no-such-folder"]);
    assert!(!dir.path().join("no-such-folder").exists(), "the folder was created anyway");
    // An output file that is a folder, and a table whose name does not tell its format.
    std::fs::create_dir(dir.path().join("a-folder")).unwrap();
    let o = run_in(
        dir.path(),
        &[
            "simulate",
            "--trace",
            path_str(&trace),
            "--policy",
            path_str(&pol),
            "--json",
            "a-folder",
            "--per-request",
            "r.txt",
        ],
    );
    assert_refused(&o, &["2 problems", "a-folder", "is a folder", "r.txt", "output format"]);
}

#[test]
fn an_infeasible_rerun_leaves_no_deployable_config_from_the_feasible_run() {
    let dir = tempfile::tempdir().unwrap();
    let (trace, k) = (sample_trace(), constraints());
    let optimize = |constraints: &Path| {
        run_in(
            dir.path(),
            &[
                "optimize",
                "--quiet",
                "--trace",
                path_str(&trace),
                "--constraints",
                path_str(constraints),
                "--export",
                "litellm,portkey,envoy,openrouter",
                "--replicates",
                "2",
                "--rounds",
                "1",
                "--out",
                "run",
            ],
        )
    };
    let first = optimize(&k);
    assert!(first.status.success(), "the feasible run failed:\n{}", stderr(&first));
    assert!(stderr(&first).contains("created the folder run"), "{}", stderr(&first));
    let deployable = [
        "policy.yaml",
        "litellm-config.yaml",
        "portkey-config.json",
        "envoy-aigatewayroute.yaml",
        "openrouter-provider.json",
    ];
    for f in deployable {
        assert!(dir.path().join("run").join(f).exists(), "the feasible run did not write {f}");
    }
    // The verification table shows each interval in its figure's unit.
    let text = stdout(&first);
    let checks: Vec<&str> = text.lines().filter(|l| l.contains(" ± ")).collect();
    assert!(!checks.is_empty(), "no verification lines:\n{text}");
    for line in checks {
        assert_units_match(line);
    }

    std::fs::write(dir.path().join("run/notes.txt"), "my notes").unwrap();
    let tight = infeasible_constraints(dir.path());
    let second = optimize(&tight);
    let err = stderr(&second);
    assert_eq!(second.status.code(), Some(1), "an infeasible optimize exits 1:\n{err}");
    for f in deployable {
        assert!(
            !dir.path().join("run").join(f).exists(),
            "{f} of the feasible run is still beside an infeasible result"
        );
    }
    let rec: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.path().join("run/recommendation.json")).unwrap()).unwrap();
    assert_eq!(rec["status"], "infeasible");
    assert_eq!(std::fs::read_to_string(dir.path().join("run/notes.txt")).unwrap(), "my notes");
    let warning = err.lines().find(|l| l.starts_with("warning:")).unwrap_or_else(|| panic!("no warning:\n{err}"));
    assert!(warning.contains("notes.txt") && warning.contains("left alone"), "{warning}");
    assert!(err.contains("removed") && err.contains("policy.yaml"), "the removal is not said:\n{err}");
    // Nothing of the staging is left behind.
    let names: Vec<String> = std::fs::read_dir(dir.path().join("run"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert!(names.iter().all(|n| !n.starts_with(".switchyard")), "{names:?}");
}

#[test]
fn a_failed_run_leaves_no_output_folder_behind() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("k.yaml"), "classes:\n  chat: {latency_s: 9, qualty: 0.8}\n").unwrap();
    let trace = sample_trace();
    let o = run_in(dir.path(), &["optimize", "--trace", path_str(&trace), "--constraints", "k.yaml", "--out", "a/b"]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("qualty"), "{}", stderr(&o));
    assert!(!dir.path().join("a").exists(), "a failed run left the folder it created");
}

#[test]
fn portkey_oss_without_base_urls_is_refused_before_any_work_and_runs_with_them() {
    let dir = tempfile::tempdir().unwrap();
    let (trace, k) = (sample_trace(), constraints());
    let optimize = |catalog: Option<&str>| {
        let mut args = vec!["optimize", "--quiet", "--trace", path_str(&trace), "--constraints", path_str(&k)];
        args.extend(["--export", "litellm,portkey-oss", "--replicates", "2", "--rounds", "1", "--out", "run"]);
        args.extend(catalog.map(|c| ["--catalog", c]).into_iter().flatten());
        run_in(dir.path(), &args)
    };
    // The default catalog has no base URLs: refused before the optimizer runs (nothing on stdout,
    // no folder).
    let o = optimize(None);
    assert_refused(&o, &["default-2026-field-report", "gives no endpoint a `base_url`", "base_url: https://HOST/v1"]);
    assert!(!dir.path().join("run").exists(), "a refused run created its folder");
    // The fix's command runs as printed and writes the catalog to add base URLs to.
    let commands = suggested_commands(&stderr(&o));
    assert_eq!(commands, ["switchyard catalog default > catalog.yaml"]);
    let bin_dir = Path::new(env!("CARGO_BIN_EXE_switchyard")).parent().unwrap().to_path_buf();
    let path = format!("{}:{}", bin_dir.display(), std::env::var("PATH").unwrap_or_default());
    let ran =
        Command::new("sh").arg("-c").arg(&commands[0]).current_dir(dir.path()).env("PATH", &path).output().unwrap();
    assert!(ran.status.success(), "{}", stderr(&ran));
    let written = std::fs::read_to_string(dir.path().join("catalog.yaml")).unwrap();
    assert!(written.contains("name: default-2026-field-report"), "{}", &written[..200.min(written.len())]);
    // With a base URL on every endpoint the same command writes the open-source gateway's config.
    let url = |model: &str, region: &str| Some(format!("http://{region}.vllm.example.com:8000/{model}/v1"));
    let (yaml, catalog) = crate::default_catalog_with_base_urls(url);
    // One model without them: named with its endpoints, and still refused before any work.
    let (partial, _) =
        crate::default_catalog_with_base_urls(|model, region| (model != "glm-5").then(|| url(model, region)).flatten());
    std::fs::write(dir.path().join("catalog.yaml"), partial).unwrap();
    let o = optimize(Some("catalog.yaml"));
    assert_refused(&o, &["glm-5: base_url", "glm-5@us-east-1, glm-5@eu-west-1", "remove those you cannot call"]);
    assert_eq!(stderr(&o).matches("fix:").count(), 1, "{}", stderr(&o));
    std::fs::write(dir.path().join("catalog.yaml"), yaml).unwrap();
    let o = optimize(Some("catalog.yaml"));
    assert!(o.status.success(), "{}", stderr(&o));
    let text = std::fs::read_to_string(dir.path().join("run/portkey-oss-config.json")).unwrap();
    assert!(!text.contains("api_key"), "{text}");
    let config: serde_json::Value = serde_json::from_str(&text).unwrap();
    let mut hosts = Vec::new();
    fn walk<'a>(v: &'a serde_json::Value, out: &mut Vec<(&'a str, &'a str)>) {
        match v {
            serde_json::Value::Object(m) if m.contains_key("custom_host") => {
                out.push((m["custom_host"].as_str().unwrap(), m["override_params"]["model"].as_str().unwrap()))
            }
            serde_json::Value::Object(m) => m.values().for_each(|v| walk(v, out)),
            serde_json::Value::Array(a) => a.iter().for_each(|v| walk(v, out)),
            _ => {}
        }
    }
    walk(&config, &mut hosts);
    assert!(!hosts.is_empty(), "{text}");
    for (host, model) in hosts {
        let e = catalog.endpoints.iter().find(|e| e.base_url.as_deref() == Some(host)).unwrap();
        assert_eq!(e.model, model, "{host} is {}'s base URL", e.id);
    }
    assert!(dir.path().join("run/litellm-config.yaml").exists());
}

/// Every `±` in `line` has the unit of the value before it: `$1 ± $0.1`, `8 ms ± 1 ms`,
/// `99% ± 1%`, `1.2 s ± 0.1 s`.
fn assert_units_match(line: &str) {
    let unit = |word: &str, next: Option<&str>| -> String {
        let word = word.trim_start_matches('(').trim_end_matches([')', ',']);
        if word.starts_with('$') {
            "$".into()
        } else if word.ends_with('%') {
            "%".into()
        } else {
            match next {
                Some(u @ ("s" | "ms")) => u.into(),
                _ => String::new(),
            }
        }
    };
    let words: Vec<&str> = line.split_whitespace().collect();
    for (i, w) in words.iter().enumerate() {
        if *w != "±" {
            continue;
        }
        // The value before: "812 ms ±" or "$1.23 ±".
        let before = if matches!(words[i - 1], "s" | "ms") {
            unit(words[i - 2], Some(words[i - 1]))
        } else {
            unit(words[i - 1], None)
        };
        let after = unit(words[i + 1], words.get(i + 2).copied());
        assert_eq!(before, after, "`±` changes unit in: {line}");
    }
}

#[test]
fn plus_minus_carries_the_unit_of_its_value_in_the_simulate_report() {
    let (trace, pol) = (sample_trace(), policy());
    let o = bin()
        .args(["simulate", "--quiet", "--replicates", "3", "--trace", path_str(&trace), "--policy", path_str(&pol)])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    let text = stdout(&o);
    let cost = text.lines().find(|l| l.starts_with("cost ")).unwrap();
    assert!(cost.contains(" ± $"), "{cost}");
    let latency = text.lines().find(|l| l.starts_with("latency ")).unwrap();
    assert_eq!(latency.matches(" ± ").count(), 4, "{latency}");
    for line in text.lines().filter(|l| l.contains(" ± ")) {
        assert_units_match(line);
    }
}

/// One row of the exit-code table: a subcommand, what kind of mistake, the arguments, the code.
struct Case {
    command: &'static str,
    kind: &'static str,
    args: Vec<String>,
    code: i32,
    /// Standard output to a full device (an IO error of the output itself).
    stdout_full: bool,
}

fn case(command: &'static str, kind: &'static str, args: &[&str], code: i32) -> Case {
    Case { command, kind, args: args.iter().map(|s| s.to_string()).collect(), code, stdout_full: false }
}

#[cfg(target_os = "linux")]
#[test]
fn exit_codes_follow_one_convention_in_every_subcommand() {
    let dir = tempfile::tempdir().unwrap();
    let d = |name: &str| dir.path().join(name).to_str().unwrap().to_string();
    let (trace, pol, k) =
        (path_str(&sample_trace()).to_string(), path_str(&policy()).to_string(), path_str(&constraints()).to_string());
    let scenario = root().join("policies/scenario-outage.yaml").to_str().unwrap().to_string();
    let spend = root().join("tests/fixtures/import/litellm_spend.csv").to_str().unwrap().to_string();
    std::fs::write(d("bad-policy.yaml"), "rules:\n  - targets: {deepseek-v4-flsh@us-east-1: 1.0}\n").unwrap();
    std::fs::write(d("bad-k.yaml"), "classes:\n  chat: {latency_s: 9, qualty: 0.8}\n").unwrap();
    std::fs::write(
        d("bad-trace.csv"),
        "timestamp_s,class,origin_region,input_tokens,output_tokens\nsoon,chat,eu-west-1,10,10\n",
    )
    .unwrap();
    std::fs::write(d("bad-spec.yaml"), "duration_s: 60\nmean_rate_per_second: 3\n").unwrap();
    std::fs::write(d("bad-catalog.yaml"), "endpoints: 3\n").unwrap();
    std::fs::write(d("bad-prices.json"), "{not json").unwrap();
    std::fs::write(d("not-a-log.csv"), "a,b\n1,2\n").unwrap();
    std::fs::write(d("a-file"), "").unwrap();
    let tight = infeasible_constraints(dir.path()).to_str().unwrap().to_string();
    // An input the system cannot read (reading a process's memory at address 0 fails with EIO),
    // an output folder that cannot be made, an output file that cannot be written.
    let (unreadable, no_folder, full) = ("/proc/self/mem", "/proc/switchyard-cannot-create", "/dev/full");
    let no_table = "/proc/switchyard-cannot-create.parquet";
    let sim = |extra: &[&str]| -> Vec<String> {
        ["simulate", "--quiet", "--trace", &trace, "--policy", &pol]
            .iter()
            .map(|s| s.to_string())
            .chain(extra.iter().map(|s| s.to_string()))
            .collect()
    };
    let opt = |cmd: &str, k: &str, extra: &[&str]| -> Vec<String> {
        [cmd, "--quiet", "--trace", &trace, "--constraints", k, "--out", &d("opt")]
            .iter()
            .map(|s| s.to_string())
            .chain(extra.iter().map(|s| s.to_string()))
            .collect()
    };
    let mut cases = vec![
        case("demo", "usage", &["demo", "--points", "1"], 2),
        case("demo", "validation", &["demo", "--out", &d("a-file")], 2),
        case("demo", "io", &["demo", "--out", no_folder], 1),
        Case { args: sim(&["--scenario", &scenario]), ..case("simulate", "usage", &[], 2) },
        Case { args: sim(&["--chart", &d("c")]), ..case("simulate", "usage", &[], 2) },
        case("simulate", "validation", &["simulate", "--trace", &trace, "--policy", &d("bad-policy.yaml")], 2),
        Case { args: sim(&["--json", full]), ..case("simulate", "io", &[], 1) },
        case("validate", "usage", &["validate", "--bogus"], 2),
        case("validate", "validation", &["validate", "--policy", &d("bad-policy.yaml")], 2),
        case("validate", "io", &["validate", "--catalog", unreadable], 1),
        Case { args: opt("optimize", &k, &["--scenario", &scenario]), ..case("optimize", "usage", &[], 2) },
        Case { args: opt("optimize", &d("bad-k.yaml"), &[]), ..case("optimize", "validation", &[], 2) },
        Case { args: opt("optimize", &tight, &["--no-verify"]), ..case("optimize", "infeasible", &[], 1) },
        case("optimize", "io", &["optimize", "--trace", &trace, "--constraints", &k, "--out", no_folder], 1),
        Case { args: opt("frontier", &k, &["--from", "2", "--to", "1"]), ..case("frontier", "usage", &[], 2) },
        Case { args: opt("frontier", &d("bad-k.yaml"), &[]), ..case("frontier", "validation", &[], 2) },
        case("frontier", "io", &["frontier", "--trace", &trace, "--constraints", &k, "--out", no_folder], 1),
        case("calibrate", "usage", &["calibrate", "--trace", &spend], 2),
        case("calibrate", "validation", &["calibrate", "--trace", &d("bad-trace.csv"), "-o", &d("cat.yaml")], 2),
        case("calibrate", "io", &["calibrate", "--format", "litellm", "--trace", &spend, "-o", full], 1),
        case("trace synth", "usage", &["trace", "synth"], 2),
        case("trace synth", "validation", &["trace", "synth", "--spec", &d("bad-spec.yaml"), "-o", &d("s.csv")], 2),
        case("trace synth", "io", &["trace", "synth", "-o", no_table], 1),
        case("trace stats", "usage", &["trace", "stats"], 2),
        case("trace stats", "validation", &["trace", "stats", &d("bad-trace.csv")], 2),
        case("trace stats", "io", &["trace", "stats", &trace, "--json", full], 1),
        case("trace import", "usage", &["trace", "import", "--format", "csv", &trace, "-o", &d("i.parquet")], 2),
        case(
            "trace import",
            "validation",
            &["trace", "import", "--format", "litellm", &d("not-a-log.csv"), "-o", &d("i.parquet")],
            2,
        ),
        case("trace import", "io", &["trace", "import", "--format", "litellm", &spend, "-o", no_table], 1),
        case("trace convert", "usage", &["trace", "convert", &trace], 2),
        case("trace convert", "validation", &["trace", "convert", &d("bad-trace.csv"), "-o", &d("c.parquet")], 2),
        case("trace convert", "io", &["trace", "convert", &trace, "-o", no_table], 1),
        case("catalog show", "usage", &["catalog", "show", "--catalog"], 2),
        case("catalog show", "validation", &["catalog", "show", "--catalog", &d("bad-catalog.yaml")], 2),
        case("catalog show", "io", &["catalog", "show", "--catalog", unreadable], 1),
        case(
            "catalog import-prices",
            "usage",
            &["catalog", "import-prices", "--prices", &d("bad-prices.json"), "--fill"],
            2,
        ),
        case(
            "catalog import-prices",
            "validation",
            &["catalog", "import-prices", "--prices", &d("bad-prices.json")],
            2,
        ),
        case("catalog import-prices", "io", &["catalog", "import-prices", "--prices", unreadable], 1),
        case("catalog default", "usage", &["catalog", "default", "extra"], 2),
        Case { stdout_full: true, ..case("catalog default", "io", &["catalog", "default"], 1) },
    ];
    // The success row of each subcommand is in the other tests; here, that the table covers them.
    let subcommands = [
        "demo",
        "simulate",
        "validate",
        "optimize",
        "frontier",
        "calibrate",
        "trace synth",
        "trace stats",
        "trace import",
        "trace convert",
        "catalog show",
        "catalog import-prices",
        "catalog default",
    ];
    for sub in subcommands {
        for kind in ["usage", "io"] {
            assert!(cases.iter().any(|c| c.command == sub && c.kind == kind), "no {kind} row for {sub}");
        }
    }
    let mut failures = Vec::new();
    for c in cases.iter_mut() {
        let mut cmd = bin();
        cmd.current_dir(dir.path()).args(&c.args);
        if c.stdout_full {
            cmd.stdout(std::fs::File::create("/dev/full").unwrap());
        }
        let o = cmd.output().unwrap();
        let err = stderr(&o);
        let first = err.lines().find(|l| !l.is_empty()).unwrap_or("");
        if o.status.code() != Some(c.code) || err.contains("panicked") || !err.contains("error") {
            failures.push(format!(
                "{} ({}): exit {:?}, expected {}; `switchyard {}`\n  {first}",
                c.command,
                c.kind,
                o.status.code(),
                c.code,
                c.args.join(" ")
            ));
        }
    }
    assert!(failures.is_empty(), "{} rows broke the convention:\n{}", failures.len(), failures.join("\n"));
}

/// The `fix:` suggestions in `stderr` that are commands (`switchyard ...` or `mkdir ...`).
fn suggested_commands(stderr: &str) -> Vec<String> {
    let mut out = Vec::new();
    for line in stderr.lines().filter(|l| l.trim_start().starts_with("fix:")) {
        for (i, part) in line.split('`').enumerate() {
            if i % 2 == 1 && (part.starts_with("switchyard ") || part.starts_with("mkdir ")) {
                out.push(part.to_string());
            }
        }
    }
    out
}

#[test]
fn every_fix_that_is_a_command_runs_as_printed() {
    let dir = tempfile::tempdir().unwrap();
    let sample = std::fs::read_to_string(sample_trace()).unwrap();
    let mut lines: Vec<&str> = sample.lines().collect();
    lines.swap(1, 2);
    std::fs::write(dir.path().join("unsorted day.csv"), lines.join("\n") + "\n").unwrap();
    let quoted = sample.replacen(",chat,", ",\"chat\",", 1);
    std::fs::write(dir.path().join("quoted.csv"), quoted).unwrap();
    let (trace, pol) = (sample_trace(), policy());
    let o = run_in(dir.path(), &["trace", "convert", path_str(&trace), "-o", "day.ndjson"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let stream = |file: &str| -> Vec<String> {
        ["simulate", "--quiet", "--engine", "des", "--stream", "--trace", file, "--policy", path_str(&pol)]
            .iter()
            .map(|s| s.to_string())
            .collect()
    };
    // (the command that fails with a fix, the same command once the fix has run)
    let cases: Vec<(Vec<String>, Vec<String>)> = vec![
        (stream("unsorted day.csv"), stream("unsorted day-sorted.parquet")),
        (stream("quoted.csv"), stream("quoted-sorted.parquet")),
        (stream("day.ndjson"), stream("day-sorted.parquet")),
        (
            [
                "simulate",
                "--quiet",
                "--trace",
                path_str(&trace),
                "--policy",
                path_str(&pol),
                "--json",
                "new folder/r.json",
            ]
            .iter()
            .map(|s| s.to_string())
            .collect(),
            [
                "simulate",
                "--quiet",
                "--trace",
                path_str(&trace),
                "--policy",
                path_str(&pol),
                "--json",
                "new folder/r.json",
            ]
            .iter()
            .map(|s| s.to_string())
            .collect(),
        ),
    ];
    let bin_dir = Path::new(env!("CARGO_BIN_EXE_switchyard")).parent().unwrap().to_path_buf();
    let path = format!("{}:{}", bin_dir.display(), std::env::var("PATH").unwrap_or_default());
    for (failing, fixed) in &cases {
        let o = bin().current_dir(dir.path()).args(failing).output().unwrap();
        assert_eq!(o.status.code(), Some(2), "`{}` did not fail: {}", failing.join(" "), stderr(&o));
        let commands = suggested_commands(&stderr(&o));
        assert!(!commands.is_empty(), "no command among the fixes of `{}`:\n{}", failing.join(" "), stderr(&o));
        for command in &commands {
            let ran =
                Command::new("sh").arg("-c").arg(command).current_dir(dir.path()).env("PATH", &path).output().unwrap();
            assert!(ran.status.success(), "the fix `{command}` does not run as printed:\n{}", stderr(&ran));
        }
        let o = bin().current_dir(dir.path()).args(fixed).output().unwrap();
        assert!(o.status.success(), "`{}` still fails after {commands:?}:\n{}", fixed.join(" "), stderr(&o));
    }
}

#[test]
fn old_flag_spellings_still_run_and_help_shows_the_new_ones() {
    let dir = tempfile::tempdir().unwrap();
    let trace = sample_trace();
    let o = run_in(dir.path(), &["trace", "convert", path_str(&trace), "--out", "old.parquet"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(dir.path().join("old.parquet").exists());
    let spend = root().join("tests/fixtures/import/litellm_spend.csv");
    let o = run_in(
        dir.path(),
        &["trace", "import", "--format", "litellm", path_str(&spend), "--out", "i.parquet", "--report", "i.json"],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(dir.path().join("i.json").exists());
    let help = stdout(&run_in(dir.path(), &["trace", "convert", "--help"]));
    assert!(help.contains("-o, --output <FILE>") && !help.contains("--out "), "{help}");
    // `catalog show --json` alone still prints JSON; with a file it writes there.
    let o = run_in(dir.path(), &["catalog", "show", "--json"]);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert!(v["endpoints"].as_array().is_some_and(|e| !e.is_empty()));
    let o = run_in(dir.path(), &["catalog", "show", "--json", "c.json"]);
    assert!(o.status.success() && o.stdout.is_empty(), "{}", stderr(&o));
    let written: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.path().join("c.json")).unwrap()).unwrap();
    assert_eq!(written, v);
    let top = stdout(&run_in(dir.path(), &["--help"]));
    assert!(top.contains("Exit codes:") && top.contains("2  bad input or usage"), "{top}");
}

#[test]
fn an_io_error_is_said_once() {
    // The operating system's reason used to be printed twice ("... (os error 28): ... (os error 28)").
    let (trace, pol) = (sample_trace(), policy());
    let o = bin()
        .args(["simulate", "--quiet", "--trace", path_str(&trace), "--policy", path_str(&pol), "--json", "/dev/full"])
        .output()
        .unwrap();
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert_eq!(err.matches("os error").count(), 1, "{err}");
}
