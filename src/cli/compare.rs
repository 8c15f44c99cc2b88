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
use switchyard::report::{self, DesFigures, Figures, FrontierReport, RecommendationReport, SimulateReport};
use switchyard::review;
use switchyard::run::{self, Engine, RunSpec};
use switchyard::trace::Trace;

use super::args::{CompareArgs, EngineKind, ReportArgs};
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

impl Compared {
    fn comparisons(&self) -> &[Comparison] {
        match self {
            Compared::One(c) => std::slice::from_ref(c.as_ref()),
            Compared::Scenarios(s) => &s.comparisons,
        }
    }
}

/// What a run of both policies leaves for the review page besides the comparison.
#[derive(Default)]
pub struct ForReview {
    pub sides: Vec<Bound>,
    pub peaks: [Vec<review::Peaks>; 2],
    pub timeline: Option<chart::TimelineChart>,
    pub requests: Option<usize>,
    pub span_s: Option<(f64, f64)>,
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
    let mut for_review = ForReview::default();
    let compared = match (baseline.1, candidate.1) {
        (true, true) => Compared::One(Box::new(saved_reports(a, &baseline.0, &candidate.0)?)),
        (false, false) => run_both(a, &baseline.0, &candidate.0, quiet, timer, &mut for_review)?,
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
    if let Some(path) = &a.html {
        write_review(a, &compared, &for_review, (&baseline.0, &candidate.0), &out.at(path), path)?;
        eprintln!("wrote {}", path.display());
    }
    Ok(u8::try_from(code).unwrap_or(1))
}

/// `switchyard report`: the review page from saved outputs.
pub fn report(a: &ReportArgs, out: &Outputs) -> anyhow::Result<()> {
    let nothing = a.comparison.is_none()
        && a.simulate.is_empty()
        && a.recommendation.is_none()
        && a.frontier.is_none()
        && a.calibration.is_none();
    if nothing {
        return Err(usage(
            "--comparison",
            "nothing to review: no comparison, simulate report, recommendation, frontier or calibration given",
            "give --comparison (from `compare --json`), --simulate, --recommendation, --frontier or --calibration",
        ));
    }
    if a.simulate.len() > 2 {
        return Err(usage("--simulate", "is given more than twice", "give one report, or a baseline and a candidate"));
    }
    let saved: Vec<SimulateReport> = a.simulate.iter().map(|p| SimulateReport::load(p)).collect::<Result<_, _>>()?;
    let comparisons: Vec<Comparison> = match (&a.comparison, saved.as_slice()) {
        (Some(path), _) => {
            let text = std::fs::read_to_string(path).map_err(|e| switchyard::error::Error::read(path, e))?;
            match Scenarios::from_json(&text, path) {
                Ok(s) => s.comparisons,
                Err(_) => vec![Comparison::from_json(&text, path)?],
            }
        }
        (None, [baseline, candidate]) => {
            let classes: Vec<String> = baseline.figures.per_class.iter().map(|(c, _)| c.to_string()).collect();
            let guard = match &a.guard {
                Some(path) => Guard::load(path, &classes)?,
                None => Guard::default_guard(),
            };
            vec![compare::compare(&compare::unpaired_inputs(baseline, candidate), &guard, None)?]
        }
        (None, _) => Vec::new(),
    };
    let (catalog, _) = load_catalog(a.catalog.as_deref())?;
    let policy = |p: &Option<PathBuf>| p.as_ref().map(|p| Policy::load(p, &catalog)).transpose();
    let (baseline, candidate) = (policy(&a.baseline)?, policy(&a.candidate)?);
    let trace = a.trace.as_ref().map(|t| load_trace(t, &read_options(&a.read)?)).transpose()?;
    let recommendation = a.recommendation.as_deref().map(RecommendationReport::load).transpose()?;
    let frontier = a.frontier.as_deref().map(FrontierReport::load).transpose()?;
    let calibration = a.calibration.as_deref().map(switchyard::calibrate::Calibration::load).transpose()?;
    let name = |p: &Option<PathBuf>, default: &str| {
        p.as_ref().and_then(|p| p.file_name()).map_or(default.to_string(), |n| n.to_string_lossy().into_owned())
    };
    let (bname, cname) = (name(&a.baseline, "baseline"), name(&a.candidate, "candidate"));
    let mut files = Vec::new();
    for (role, path) in [
        ("comparison", &a.comparison),
        ("baseline report", &a.simulate.first().cloned()),
        ("candidate report", &a.simulate.get(1).cloned()),
        ("trace", &a.trace),
        ("catalog", &a.catalog),
        ("baseline policy", &a.baseline),
        ("candidate policy", &a.candidate),
        ("recommendation", &a.recommendation),
        ("frontier", &a.frontier),
        ("calibration", &a.calibration),
    ] {
        if let Some(p) = path {
            files.push(review::InputFile::new(role, p));
        }
    }
    let inputs = review::Inputs {
        title: format!("Routing change review: {cname}"),
        comparisons: &comparisons,
        baseline: review::Side { name: bname, policy: baseline.as_ref(), peaks: Vec::new() },
        candidate: review::Side { name: cname, policy: candidate.as_ref(), peaks: Vec::new() },
        catalog: Some(&catalog),
        frontiers: frontier.as_ref().map(|f| review::frontier_charts(f, &comparisons)).unwrap_or_default(),
        recommendation: recommendation.as_ref(),
        calibration: calibration.as_ref(),
        single: match saved.as_slice() {
            [one] if comparisons.is_empty() => Some(one),
            _ => None,
        },
        provenance: review::Provenance {
            files,
            requests: trace.as_ref().map(Trace::len),
            span_s: trace.as_ref().and_then(|t| t.timestamp_s.first().zip(t.timestamp_s.last()).map(|(a, b)| (*a, *b))),
            command: Some(super::io::command_line()),
            ..review::Provenance::default()
        },
        ..review::Inputs::default()
    };
    let html = review::build(&inputs)?.to_html(&a.output)?;
    switchyard::output::write_bytes(&out.at(&a.output), html.as_bytes())?;
    eprintln!("wrote {}", a.output.display());
    Ok(())
}

/// The review page of this comparison.
fn write_review(
    a: &CompareArgs,
    compared: &Compared,
    run: &ForReview,
    (baseline, candidate): (&Path, &Path),
    to: &Path,
    shown: &Path,
) -> anyhow::Result<()> {
    let name = |p: &Path| p.file_name().map_or_else(|| p.display().to_string(), |n| n.to_string_lossy().into());
    let mut files: Vec<review::InputFile> = Vec::new();
    let mut add = |role: &str, path: Option<&PathBuf>| {
        if let Some(p) = path {
            files.push(review::InputFile::new(role, p));
        }
    };
    add("trace", a.trace.as_ref());
    add("catalog", a.catalog.as_ref());
    add("candidate catalog", a.candidate_catalog.as_ref());
    add("baseline", Some(&baseline.to_path_buf()));
    add("candidate", Some(&candidate.to_path_buf()));
    add("guard", a.guard.as_ref());
    for s in &a.scenario {
        add("scenario", Some(s));
    }
    let side = |k: usize, path: &Path| review::Side {
        name: name(path),
        policy: run.sides.get(k).map(|b| &b.policy),
        peaks: run.peaks[k].clone(),
    };
    let inputs = review::Inputs {
        title: format!("Routing change review: {}", name(candidate)),
        comparisons: compared.comparisons(),
        baseline: side(0, baseline),
        candidate: side(1, candidate),
        catalog: run.sides.get(1).map(|b| &b.catalog),
        timeline: run.timeline.clone(),
        provenance: review::Provenance {
            files,
            requests: run.requests,
            span_s: run.span_s,
            seed: (!run.sides.is_empty()).then(|| a.seed.unwrap_or(42)),
            replicates: (!run.sides.is_empty()).then(|| a.replicates.unwrap_or(5)),
            engine: (!run.sides.is_empty()).then(|| match a.engine {
                EngineKind::Replay => "replay".to_string(),
                EngineKind::Des => "discrete-event".to_string(),
            }),
            command: Some(super::io::command_line()),
        },
        ..review::Inputs::default()
    };
    let html = review::build(&inputs)?.to_html(shown)?;
    switchyard::output::write_bytes(to, html.as_bytes())?;
    Ok(())
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

/// One side of a run: its catalog, its policy and that bound to the trace, the endpoint ids of its
/// discrete-event figures.
pub struct Bound {
    pub catalog: Catalog,
    pub policy: Policy,
    pub table: RoutingTable,
    pub ids: Vec<String>,
}

impl Bound {
    /// `policy` bound to `trace` under `catalog`.
    pub fn new(catalog: Catalog, policy: Policy, trace: &Trace) -> anyhow::Result<Bound> {
        let table = policy.bind(&catalog, trace)?;
        let ids = catalog.endpoints.iter().map(|e| e.id.clone()).collect();
        Ok(Bound { catalog, policy, table, ids })
    }
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
    for_review: &mut ForReview,
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
        Bound::new(catalog, policy, &trace)
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
    let pair = Pair {
        trace: &trace,
        scenarios: &scenarios,
        seed: a.seed.unwrap_or(42),
        replicates: a.replicates.unwrap_or(5),
        guard: &guard,
        review: a.html.is_some(),
    };
    let mut comparisons = pair.run(&sides, quiet, &mut timer, for_review)?;
    for_review.sides = sides.into();
    Ok(match (comparisons.len(), a.scenario.len()) {
        (1, 0 | 1) => Compared::One(Box::new(comparisons.remove(0))),
        _ => Compared::Scenarios(Scenarios::new(comparisons)),
    })
}

/// Two bound policies on one trace, under each scenario (`None`: the replay engine), with common
/// random numbers; what `compare` and the demo's review run.
pub struct Pair<'a> {
    pub trace: &'a Trace,
    pub scenarios: &'a [(Option<String>, [Option<Scenario>; 2])],
    pub seed: u64,
    pub replicates: u32,
    pub guard: &'a Guard,
    /// Keep what the review page shows (peak minutes, the timeline) in the `ForReview`.
    pub review: bool,
}

impl Pair<'_> {
    /// One comparison per scenario, in order.
    pub fn run(
        &self,
        sides: &[Bound; 2],
        quiet: bool,
        timer: &mut Timer,
        for_review: &mut ForReview,
    ) -> anyhow::Result<Vec<Comparison>> {
        let trace = self.trace;
        let mut comparisons = Vec::new();
        for (name, loaded) in self.scenarios {
            let mut ran = Vec::new();
            for (k, side) in sides.iter().enumerate() {
                let spec = RunSpec {
                    engine: loaded[k].as_ref().map_or(Engine::Replay, Engine::Des),
                    keep_first: true,
                    ..RunSpec::replay(self.seed, self.replicates)
                };
                let label = match name {
                    Some(s) => format!("{} ({s})", ["baseline", "candidate"][k]),
                    None => ["baseline", "candidate"][k].to_string(),
                };
                let watch = Watching::new(trace.len() as u64 * u64::from(self.replicates), &label, quiet, timer);
                let inputs = run::Inputs { catalog: &side.catalog, table: &side.table, trace };
                let run = run::simulate(inputs, &spec, &watch)?;
                drop(watch);
                let latency_s = run.first.as_ref().map(|o| {
                    o.served
                        .iter()
                        .zip(&o.latency_s)
                        .map(|(&s, &l)| if s == NOT_SERVED { f64::NAN } else { l })
                        .collect()
                });
                // The review's capacity table and timeline: the first scenario's first replicate.
                if comparisons.is_empty() && self.review {
                    if let Some(o) = &run.first {
                        for_review.peaks[k] = review::peaks(&side.catalog, trace, &o.served);
                    }
                    if k == 1
                        && let (Some(d), Some(scenario)) = (run.des.first(), &loaded[k])
                    {
                        for_review.timeline =
                            Some(report::des_timeline(&d.series, &d.stats, &d.incidents, &scenario.name));
                    }
                }
                ran.push(Ran {
                    figures: run.summaries.iter().map(Figures::of).collect(),
                    des: run.des.iter().map(|d| DesFigures::of(&d.stats, &side.ids, trace.len() as u64)).collect(),
                    latency_s,
                });
            }
            let [b, c] = [&ran[0], &ran[1]];
            let mut inputs = compare::paired_inputs(
                Side { figures: &b.figures, des: &b.des },
                Side { figures: &c.figures, des: &c.des },
            );
            let provider_of = |id: &str| {
                sides.iter().find_map(|s| s.catalog.endpoints.iter().find(|e| e.id == id)).map(|e| e.provider.clone())
            };
            inputs.extend(compare::provider_inputs(&inputs, provider_of));
            let requests = match (&b.latency_s, &c.latency_s) {
                (Some(bl), Some(cl)) => Some(compare::request_view(bl, cl, &trace.class, &trace.class_names)?),
                _ => None,
            };
            let mut comparison = compare::compare(&inputs, self.guard, requests)?;
            comparison.scenario.clone_from(name);
            comparisons.push(comparison);
            timer.lap("compare");
        }
        for_review.requests = Some(trace.len());
        for_review.span_s = trace.timestamp_s.first().zip(trace.timestamp_s.last()).map(|(a, b)| (*a, *b));
        Ok(comparisons)
    }
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
