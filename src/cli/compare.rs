//! `switchyard compare`: both policies through `run::simulate` on the same trace with the same
//! seed (common random numbers), their figures paired replicate by replicate, judged by the guard.
//! The verdict is the exit code: 0 pass, 1 fail, 3 inconclusive or marginal.

use std::path::{Path, PathBuf};

use switchyard::compare::{self, Comparison, Guard, Side};
use switchyard::des::Scenario;
use switchyard::policy::Policy;
use switchyard::report::{DesFigures, Figures, SimulateReport};
use switchyard::run::{self, Engine, RunSpec};

use super::args::{CompareArgs, EngineKind};
use super::files::{check_names, emit, load_catalog, load_trace, read_options};
use super::io::Outputs;
use super::progress::{Timer, Watching};
use super::usage;

/// Whether a path names a saved report rather than a policy.
fn is_report(path: &Path) -> bool {
    path.extension().is_some_and(|e| e.eq_ignore_ascii_case("json"))
}

/// Run the comparison; the verdict's exit code.
pub fn compare(a: &CompareArgs, quiet: bool, timer: Timer, out: &Outputs) -> anyhow::Result<u8> {
    if a.engine == EngineKind::Replay && a.scenario.is_some() {
        return Err(usage("--scenario", "belongs to the discrete-event engine", "add `--engine des`"));
    }
    // Each side: (path, whether it is a saved report); clap makes sure one of each pair is given.
    let side = |flag: &str, policy: &Option<PathBuf>, report: &Option<PathBuf>| match (policy, report) {
        (_, Some(r)) => Ok((r.clone(), true)),
        (Some(p), None) => Ok((p.clone(), is_report(p))),
        (None, None) => {
            Err(usage(flag, "is required", format!("add {flag} (a policy) or {flag}-report (a saved report)")))
        }
    };
    let baseline = side("--baseline", &a.baseline, &a.baseline_report)?;
    let candidate = side("--candidate", &a.candidate, &a.candidate_report)?;
    let comparison = match (baseline.1, candidate.1) {
        (true, true) => saved_reports(a, &baseline.0, &candidate.0)?,
        (false, false) => run_both(a, &baseline.0, &candidate.0, quiet, timer)?,
        _ => {
            return Err(usage(
                "--candidate",
                "one side is a saved report (.json) and the other a policy",
                "give two policies (both run on --trace) or two reports written by `simulate --json`",
            ));
        }
    };
    say!("{}", compare::render_text(&comparison));
    if let Some(path) = &a.json {
        let text = switchyard::report::json_text(&comparison);
        switchyard::output::write_bytes(&out.at(path), text.as_bytes())?;
        eprintln!("wrote {}", path.display());
    }
    if let Some(path) = &a.markdown {
        switchyard::output::write_bytes(&out.at(path), compare::render_markdown(&comparison).as_bytes())?;
        eprintln!("wrote {}", path.display());
    }
    Ok(u8::try_from(comparison.exit_code()).unwrap_or(1))
}

/// Two saved simulate reports, unpaired. Flags that only a run would use are refused rather than
/// ignored.
fn saved_reports(a: &CompareArgs, baseline: &Path, candidate: &Path) -> anyhow::Result<Comparison> {
    let run_only = [
        ("--trace", a.trace.is_some()),
        ("--catalog", a.catalog.is_some()),
        ("--seed", a.seed.is_some()),
        ("--replicates", a.replicates.is_some()),
        ("--engine", a.engine != EngineKind::Replay),
    ];
    if let Some((flag, _)) = run_only.iter().find(|(_, given)| *given) {
        return Err(usage(
            flag,
            "runs the policies, and --baseline and --candidate are saved reports",
            format!("drop {flag}, or give two policies to run"),
        ));
    }
    let baseline = SimulateReport::load(baseline)?;
    let candidate = SimulateReport::load(candidate)?;
    if baseline.inputs.trace != candidate.inputs.trace {
        eprintln!(
            "warning: the reports were run on different traces ({} and {}): their difference mixes the traffic change with the policy change",
            baseline.inputs.trace, candidate.inputs.trace
        );
    }
    let classes: Vec<String> = baseline.figures.per_class.iter().map(|(c, _)| c.to_string()).collect();
    let guard = match &a.guard {
        Some(path) => Guard::load(path, &classes)?,
        None => Guard::default_guard(),
    };
    Ok(compare::compare(&compare::unpaired_inputs(&baseline, &candidate), &guard, None)?)
}

/// Both policies run on the trace with common random numbers, paired.
fn run_both(
    a: &CompareArgs,
    baseline: &Path,
    candidate: &Path,
    quiet: bool,
    mut timer: Timer,
) -> anyhow::Result<Comparison> {
    let trace_path = a.trace.as_ref().ok_or_else(|| {
        usage(
            "--trace",
            "is required to run two policies",
            "add `--trace day.parquet`, or compare two saved reports (.json)",
        )
    })?;
    let trace = load_trace(trace_path, &read_options(&a.read)?)?;
    timer.lap("read");
    let (catalog, _) = load_catalog(a.catalog.as_deref())?;
    let baseline = Policy::load(baseline, &catalog)?;
    let candidate = Policy::load(candidate, &catalog)?;
    let mut mentions = baseline.mentions();
    mentions.extend(candidate.mentions());
    check_names(&catalog, &trace, &mentions)?.iter().for_each(emit);
    let guard = match &a.guard {
        Some(path) => Guard::load(path, &trace.class_names)?,
        None => Guard::default_guard(),
    };
    let scenario = match (a.engine, &a.scenario) {
        (EngineKind::Des, Some(path)) => Some(Scenario::load(path, &catalog)?),
        (EngineKind::Des, None) => Some(Scenario::plain(&catalog)),
        (EngineKind::Replay, _) => None,
    };
    let spec = RunSpec {
        engine: scenario.as_ref().map_or(Engine::Replay, Engine::Des),
        ..RunSpec::replay(a.seed.unwrap_or(42), a.replicates.unwrap_or(5))
    };
    let replicates = spec.replicates;
    let ids: Vec<String> = catalog.endpoints.iter().map(|e| e.id.clone()).collect();
    let mut sides = Vec::new();
    for (name, policy) in [("baseline", &baseline), ("candidate", &candidate)] {
        let table = policy.bind(&catalog, &trace)?;
        let watch = Watching::new(trace.len() as u64 * replicates as u64, name, quiet, &mut timer);
        let ran = run::simulate(run::Inputs { catalog: &catalog, table: &table, trace: &trace }, &spec, &watch)?;
        drop(watch);
        let figures: Vec<Figures> = ran.summaries.iter().map(Figures::of).collect();
        let des: Vec<DesFigures> = ran.des.iter().map(|d| DesFigures::of(&d.stats, &ids, trace.len() as u64)).collect();
        sides.push((figures, des));
    }
    let [(bf, bd), (cf, cd)] = [&sides[0], &sides[1]];
    let inputs = compare::paired_inputs(Side { figures: bf, des: bd }, Side { figures: cf, des: cd });
    let comparison = compare::compare(&inputs, &guard, None)?;
    timer.lap("compare");
    Ok(comparison)
}
