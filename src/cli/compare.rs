//! `switchyard compare`: both policies through `run::simulate` on the same trace with the same
//! seed (common random numbers), their figures paired replicate by replicate, judged by the guard.
//! The verdict is the exit code: 0 pass, 1 fail, 3 inconclusive or marginal.

use std::path::{Path, PathBuf};

use switchyard::catalog::Catalog;
use switchyard::chart;
use switchyard::compare::{self, Comparison, Guard, Scenarios, Side};
use switchyard::des::Scenario;
use switchyard::engine::NOT_SERVED;
use switchyard::policy::{Policy, RoutingTable};
use switchyard::report::{self, DesFigures, Figures, SimulateReport};
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

/// What a comparison produced: one, or one per scenario.
enum Compared {
    One(Box<Comparison>),
    Scenarios(Scenarios),
}

/// Run the comparison; the verdict's exit code.
pub fn compare(a: &CompareArgs, quiet: bool, timer: Timer, out: &Outputs) -> anyhow::Result<u8> {
    if a.engine == EngineKind::Replay && !a.scenario.is_empty() {
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
    let compared = match (baseline.1, candidate.1) {
        (true, true) => Compared::One(Box::new(saved_reports(a, &baseline.0, &candidate.0)?)),
        (false, false) => run_both(a, &baseline.0, &candidate.0, quiet, timer)?,
        _ => {
            return Err(usage(
                "--candidate",
                "one side is a saved report (.json) and the other a policy",
                "give two policies (both run on --trace) or two reports written by `simulate --json`",
            ));
        }
    };
    let (text, json, markdown, code) = match &compared {
        Compared::One(c) => (compare::render_text(c), report::json_text(c), compare::render_markdown(c), c.exit_code()),
        Compared::Scenarios(s) => (
            compare::render_scenarios_text(s),
            report::json_text(s),
            compare::render_scenarios_markdown(s),
            s.exit_code(),
        ),
    };
    say!("{text}");
    if let Some(path) = &a.json {
        switchyard::output::write_bytes(&out.at(path), json.as_bytes())?;
        eprintln!("wrote {}", path.display());
    }
    if let Some(path) = &a.markdown {
        switchyard::output::write_bytes(&out.at(path), markdown.as_bytes())?;
        eprintln!("wrote {}", path.display());
    }
    if let Some(dir) = &a.chart {
        let name = |p: &Path| p.file_name().map_or_else(|| p.display().to_string(), |n| n.to_string_lossy().into());
        let (b, c) = (name(&baseline.0), name(&candidate.0));
        let charts: Vec<(String, &Comparison)> = match &compared {
            Compared::One(c) => vec![("compare".to_string(), c.as_ref())],
            Compared::Scenarios(s) => s
                .comparisons
                .iter()
                .map(|c| {
                    let name = c.scenario.as_deref().unwrap_or("scenario");
                    let safe: String = name
                        .chars()
                        .map(|ch| if ch.is_ascii_alphanumeric() || ch == '-' || ch == '_' { ch } else { '-' })
                        .collect();
                    (format!("compare-{safe}"), c)
                })
                .collect(),
        };
        for (stem, comparison) in charts {
            chart::render_compare(&compare::chart(comparison, &b, &c), &out.at(dir).join(&stem))?;
            let shown = dir.join(&stem);
            eprintln!("wrote {}.png and {}.svg", shown.display(), shown.display());
        }
    }
    Ok(u8::try_from(code).unwrap_or(1))
}

/// Two saved simulate reports, unpaired. Flags that only a run would use are refused rather than
/// ignored.
fn saved_reports(a: &CompareArgs, baseline: &Path, candidate: &Path) -> anyhow::Result<Comparison> {
    let run_only = [
        ("--trace", a.trace.is_some()),
        ("--catalog", a.catalog.is_some()),
        ("--candidate-catalog", a.candidate_catalog.is_some()),
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

/// One side of a run: its catalog, its policy bound to the trace, the endpoint ids of its
/// discrete-event figures.
struct Bound {
    catalog: Catalog,
    table: RoutingTable,
    ids: Vec<String>,
}

/// A side's figures over its replicates, and its first replicate's per-request latency (NaN: not
/// served), for the paired per-request view.
struct Ran {
    figures: Vec<Figures>,
    des: Vec<DesFigures>,
    latency_s: Option<Vec<f64>>,
}

/// Both policies run on the trace with common random numbers, paired; under each scenario when
/// there are several. The trace is read once and each policy bound once.
fn run_both(
    a: &CompareArgs,
    baseline: &Path,
    candidate: &Path,
    quiet: bool,
    mut timer: Timer,
) -> anyhow::Result<Compared> {
    let trace_path = a.trace.as_ref().ok_or_else(|| {
        usage(
            "--trace",
            "is required to run two policies",
            "add `--trace day.parquet`, or compare two saved reports (.json)",
        )
    })?;
    let trace = load_trace(trace_path, &read_options(&a.read)?)?;
    timer.lap("read");
    let bind = |catalog: Option<&Path>, policy: &Path| -> anyhow::Result<Bound> {
        let (catalog, _) = load_catalog(catalog)?;
        let policy = Policy::load(policy, &catalog)?;
        check_names(&catalog, &trace, &policy.mentions())?.iter().for_each(emit);
        let table = policy.bind(&catalog, &trace)?;
        let ids = catalog.endpoints.iter().map(|e| e.id.clone()).collect();
        Ok(Bound { catalog, table, ids })
    };
    let sides = [
        bind(a.catalog.as_deref(), baseline)?,
        bind(a.candidate_catalog.as_deref().or(a.catalog.as_deref()), candidate)?,
    ];
    let guard = match &a.guard {
        Some(path) => Guard::load(path, &trace.class_names)?,
        None => Guard::default_guard(),
    };
    // Each scenario loaded against each side's catalog (they name its endpoints); `None`: replay.
    let mut scenarios: Vec<(Option<String>, [Option<Scenario>; 2])> = Vec::new();
    match a.engine {
        EngineKind::Replay => scenarios.push((None, [None, None])),
        EngineKind::Des if a.scenario.is_empty() => {
            scenarios.push((None, sides.each_ref().map(|s| Some(Scenario::plain(&s.catalog)))));
        }
        EngineKind::Des => {
            for path in &a.scenario {
                let loaded = [Scenario::load(path, &sides[0].catalog)?, Scenario::load(path, &sides[1].catalog)?];
                let name = scenario_name(path, &a.scenario);
                scenarios.push((Some(name), loaded.map(Some)));
            }
        }
    }
    let seed = a.seed.unwrap_or(42);
    let replicates = a.replicates.unwrap_or(5);
    let mut comparisons = Vec::new();
    for (name, loaded) in &scenarios {
        let mut ran = Vec::new();
        for (k, side) in sides.iter().enumerate() {
            let spec = RunSpec {
                engine: loaded[k].as_ref().map_or(Engine::Replay, Engine::Des),
                keep_first: true,
                ..RunSpec::replay(seed, replicates)
            };
            let label = match name {
                Some(s) => format!("{} ({s})", ["baseline", "candidate"][k]),
                None => ["baseline", "candidate"][k].to_string(),
            };
            let watch = Watching::new(trace.len() as u64 * u64::from(replicates), &label, quiet, &mut timer);
            let inputs = run::Inputs { catalog: &side.catalog, table: &side.table, trace: &trace };
            let run = run::simulate(inputs, &spec, &watch)?;
            drop(watch);
            let latency_s = run.first.as_ref().map(|o| {
                o.served.iter().zip(&o.latency_s).map(|(&s, &l)| if s == NOT_SERVED { f64::NAN } else { l }).collect()
            });
            ran.push(Ran {
                figures: run.summaries.iter().map(Figures::of).collect(),
                des: run.des.iter().map(|d| DesFigures::of(&d.stats, &side.ids, trace.len() as u64)).collect(),
                latency_s,
            });
        }
        let [b, c] = [&ran[0], &ran[1]];
        let inputs = compare::paired_inputs(
            Side { figures: &b.figures, des: &b.des },
            Side { figures: &c.figures, des: &c.des },
        );
        let requests = match (&b.latency_s, &c.latency_s) {
            (Some(bl), Some(cl)) => Some(compare::request_view(bl, cl, &trace.class, &trace.class_names)?),
            _ => None,
        };
        let mut comparison = compare::compare(&inputs, &guard, requests)?;
        comparison.scenario.clone_from(name);
        comparisons.push(comparison);
        timer.lap("compare");
    }
    Ok(match (comparisons.len(), a.scenario.len()) {
        (1, 0 | 1) => Compared::One(Box::new(comparisons.remove(0))),
        _ => Compared::Scenarios(Scenarios::new(comparisons)),
    })
}

/// A scenario's name in printouts and chart files: its file stem, or its path when two given
/// scenarios share a stem.
fn scenario_name(path: &Path, all: &[PathBuf]) -> String {
    let stem = |p: &Path| p.file_stem().map(|s| s.to_string_lossy().into_owned());
    match stem(path) {
        Some(s) if all.iter().filter(|p| stem(p).as_deref() == Some(s.as_str())).count() == 1 => s,
        _ => path.display().to_string(),
    }
}
