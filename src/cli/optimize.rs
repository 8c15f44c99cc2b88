//! `switchyard optimize` and `switchyard frontier`: load inputs, call `switchyard::optimize`, write
//! the recommendation, policy, gateway configs, frontier tables and charts.

use std::path::Path;

use switchyard::catalog::Catalog;
use switchyard::export::Format;
use switchyard::optimize::frontier::{self, FrontierPoint};
use switchyard::optimize::recommend::{self, Options, Recommendation};
use switchyard::optimize::{self, Constraints, model};
use switchyard::output;
use switchyard::policy::Policy;
use switchyard::report::{self, Exported, RecommendationReport, VerificationEngine};
use switchyard::trace::Trace;
use switchyard::trace::write::{ColumnData, Table};

use super::args::{FrontierArgs, OptimizeArgs, OptimizeInputs};
use super::files::{check_names, emit, load_catalog, load_trace, read_options};
use super::io::{Dest, Outputs};
use super::owned::RECOMMENDATION;
use super::progress::Timer;
use super::usage;

/// Everything `optimize` and `frontier` read, loaded and checked (the demo builds one in memory).
pub struct Inputs {
    pub catalog: Catalog,
    pub catalog_name: String,
    pub constraints: Constraints,
    pub trace: Trace,
    /// How the trace is named in reports (its path, or what the demo synthesized).
    pub trace_label: String,
    pub current: Option<Policy>,
    pub current_label: Option<String>,
}

fn load(i: &OptimizeInputs, timer: &mut Timer) -> anyhow::Result<Inputs> {
    let (catalog, catalog_name) = load_catalog(i.catalog.as_deref())?;
    let constraints = Constraints::load(&i.constraints, &catalog)?;
    let current = i.current.as_deref().map(|p| Policy::load(p, &catalog)).transpose()?;
    let trace = load_trace(&i.input.trace, &read_options(&i.input.read)?)?;
    let mut mentions = constraints.mentions.clone();
    mentions.extend(current.iter().flat_map(Policy::mentions));
    check_names(&catalog, &trace, &mentions)?.iter().for_each(emit);
    if let Some(p) = &current {
        p.bind(&catalog, &trace)?;
    }
    timer.lap("read");
    Ok(Inputs {
        catalog,
        catalog_name,
        constraints,
        trace,
        trace_label: i.input.trace.display().to_string(),
        current,
        current_label: i.current.as_ref().map(|p| p.display().to_string()),
    })
}

pub fn optimize(a: &OptimizeArgs, _quiet: bool, mut timer: Timer, out: &mut Outputs) -> anyhow::Result<()> {
    // Check the list before any work is done, and what each format needs from the catalog: the
    // optimizer may route to any of its endpoints.
    let exporters: Vec<_> = a.export.iter().map(|f| f.exporter()).collect();
    let inp = load(&a.inputs, &mut timer)?;
    for exporter in &exporters {
        exporter.check_catalog(&inp.catalog)?;
    }
    let opts = Options {
        seed: a.seed,
        replicates: a.replicates,
        max_rounds: a.rounds,
        verify: !a.no_verify,
        current: inp.current.clone(),
        des: super::des::verify_scenario(a, &inp.catalog)?,
    };
    let dest = out.dest(&a.inputs.out);
    let dump_lp = a.dump_lp.as_ref().map(|p| Dest { write: out.at(p), shown: p.clone() });
    let rec = run_optimize(&inp, &opts, &dest, &a.export, dump_lp.as_ref(), false, &mut timer)?;
    if rec.routing.is_none() {
        // The folder says so too: its recommendation.json is "infeasible", and no policy or
        // gateway config of an earlier run stays beside it.
        out.commit()?;
        anyhow::bail!("no routing meets every target (details above and in {})", dest.shown(RECOMMENDATION).display());
    }
    Ok(())
}

/// Recommend, print, and write recommendation.json, the policy and the gateway configs in `out`
/// (`dump_lp`: the LP's file, its `write` path the file itself). `brief_exports`: count what each
/// format cannot express instead of listing it (the list is in recommendation.json either way).
pub fn run_optimize(
    inp: &Inputs,
    opts: &Options,
    out: &Dest,
    export: &[Format],
    dump_lp: Option<&Dest>,
    brief_exports: bool,
    timer: &mut Timer,
) -> anyhow::Result<Recommendation> {
    let rec = recommend::recommend(&inp.catalog, &inp.constraints, &inp.trace, opts)?;
    timer.lap("optimize");
    if let Some(lp_file) = dump_lp {
        let m = model::build(&rec.instance, &inp.catalog, &inp.constraints, &rec.targets);
        output::write_atomic(&lp_file.write, |w| optimize::lp::write_lp(&m.lp, w))?;
        eprintln!("wrote the LP to {}", lp_file.shown.display());
    }
    say!("{}", report::render_recommendation(&rec, &inp.catalog, opts.des.is_some()));
    let mut exported = Vec::new();
    if let Some(policy) = &rec.policy {
        // switchyard's own policy first, then each other format once, in the order given.
        let mut formats = vec![Format::Switchyard];
        for &f in export {
            if !formats.contains(&f) {
                formats.push(f);
            }
        }
        let exporters: Vec<_> = formats.iter().map(|f| f.exporter()).collect();
        for (path, export) in switchyard::export::write_exports(policy, &inp.catalog, &exporters, &out.write)? {
            let path = out.shown(&path);
            if brief_exports && !export.lost.is_empty() {
                sayln!(
                    "wrote {} ({} things the format cannot express: in recommendation.json)",
                    path.display(),
                    export.lost.len()
                );
            } else {
                sayln!("wrote {}", path.display());
                for lost in &export.lost {
                    sayln!("  not expressible there: {lost}");
                }
            }
            exported.push(Exported { file: path.display().to_string(), not_expressible: export.lost });
        }
    }
    let labels = report::OptimizeInputs {
        trace: inp.trace_label.clone(),
        catalog: inp.catalog_name.clone(),
        constraints: inp.constraints.source.clone(),
        current: inp.current_label.clone(),
        requests: inp.trace.len(),
    };
    let objective = format!("{:?}", inp.constraints.objective).to_lowercase();
    let engine = match &opts.des {
        None => VerificationEngine::replay(),
        Some(scenario) => VerificationEngine::Des { des: scenario.name.clone() },
    };
    let report = RecommendationReport::new(&rec, &inp.catalog, labels, objective, exported, engine);
    output::write_bytes(&out.write(RECOMMENDATION), report.to_json().as_bytes())?;
    sayln!("wrote {}", out.shown(RECOMMENDATION).display());
    timer.lap("write");
    Ok(rec)
}

pub fn frontier(a: &FrontierArgs, _quiet: bool, mut timer: Timer, out: &Outputs) -> anyhow::Result<()> {
    if !(a.from > 0.0 && a.to > a.from) {
        return Err(usage(
            "--from",
            format!("--from {} --to {}: the sweep needs 0 < from < to", a.from, a.to),
            "e.g. --from 0.5 --to 2",
        ));
    }
    let inp = load(&a.inputs, &mut timer)?;
    if let Some(class) = &a.class {
        let place = switchyard::error::Place::default().field("--class");
        switchyard::names::Names::with_trace(&inp.catalog, &inp.trace).trace_class(class, place)?;
    }
    let sweep = Sweep { from: a.from, to: a.to, points: a.points as usize, class: a.class.clone() };
    run_frontier(&inp, &sweep, &out.dest(&a.inputs.out), &mut timer)?;
    Ok(())
}

/// A latency sweep: every class's bound times geometrically spaced multipliers.
pub struct Sweep {
    pub from: f64,
    pub to: f64,
    pub points: usize,
    /// The class on the x axis (None: the busiest class with a bound).
    pub class: Option<String>,
}

/// Solve the latency and quality frontiers, print them, and write their tables and charts in `out`.
/// Returns the latency frontier.
/// The frontier's files in `out`; returns its charts (for the review page).
pub fn run_frontier(
    inp: &Inputs,
    sweep: &Sweep,
    out: &Dest,
    timer: &mut Timer,
) -> anyhow::Result<Vec<switchyard::chart::FrontierChart>> {
    let mults = frontier::geomspace(sweep.from, sweep.to, sweep.points);
    let mut all = mults.clone();
    all.push(1.0);
    let inst = optimize::instance(&inp.catalog, &inp.constraints, &inp.trace, &all, false)?;
    timer.lap("statistics");
    let headline = frontier::headline_class(&inst, &inp.constraints, sweep.class.as_deref());
    if let (Some(class), None) = (&sweep.class, headline) {
        let names = switchyard::error::closest(class, inst.class_names.iter().map(String::as_str));
        return Err(usage(
            "--class",
            format!("`{class}` is not a class of the trace"),
            format!("use one of its classes, e.g. {}", switchyard::error::one_of(&names)),
        ));
    }
    let sweeps = frontier::sweep(&inst, &inp.catalog, &inp.constraints, &mults, headline)?;
    let (points, quality, budget) = (&sweeps.latency, &sweeps.quality, &sweeps.budget);
    timer.lap("solve");
    write_points(&out.write("frontier.csv"), points)?;
    write_points(&out.write("frontier-quality.csv"), quality)?;
    write_points(&out.write("frontier-budget.csv"), budget)?;
    let report = switchyard::report::FrontierReport::new(&sweeps, &inst.class_names);
    output::write_bytes(&out.write("frontier.json"), report.to_json().as_bytes())?;
    let current = match &inp.current {
        Some(policy) => Some(current_point(inp, &inst, policy, headline)?),
        None => None,
    };
    let at_one = frontier::latency_frontier(&inst, &inp.catalog, &inp.constraints, &[1.0], headline)?.remove(0);
    let chart_data =
        report::frontier_charts(&inst, &inp.constraints, &inp.catalog_name, &sweeps, current.as_ref(), &at_one);
    let drawn: Vec<switchyard::chart::FrontierChart> = chart_data.iter().map(|(_, c)| c.clone()).collect();
    let charts = draw_frontiers(chart_data, out)?;
    let feasible = points.iter().filter(|p| p.feasible).count();
    sayln!("{feasible} of {} points feasible", points.len());
    for p in points {
        sayln!(
            "  x{:<7.3} bound {:>9}  {}",
            p.parameter,
            p.bound_s.map_or("-".into(), |b| format!("{b:.3} s")),
            p.cost_usd.map_or("infeasible".into(), |c| format!("${c:.2}"))
        );
    }
    sayln!(
        "wrote {}, {} and {}",
        out.shown("frontier.csv").display(),
        out.shown("frontier.json").display(),
        charts.join(", ")
    );
    timer.lap("write");
    Ok(drawn)
}

fn write_points(path: &Path, points: &[FrontierPoint]) -> anyhow::Result<()> {
    let t = Table {
        columns: vec![
            ("parameter".into(), ColumnData::F64(points.iter().map(|p| p.parameter).collect())),
            ("bound_s".into(), ColumnData::OptF64(points.iter().map(|p| p.bound_s).collect())),
            ("feasible".into(), ColumnData::Bool(points.iter().map(|p| p.feasible).collect())),
            ("cost_usd".into(), ColumnData::OptF64(points.iter().map(|p| p.cost_usd).collect())),
            ("mean_quality".into(), ColumnData::OptF64(points.iter().map(|p| p.mean_quality).collect())),
        ],
    };
    switchyard::trace::write::write_table(&t, path)?;
    Ok(())
}

fn current_point(
    inp: &Inputs,
    inst: &optimize::Instance,
    policy: &Policy,
    headline: Option<usize>,
) -> anyhow::Result<report::Current> {
    let mut bounds = optimize::verify::Bounds::new();
    if let Some(c) = headline {
        let t = inp.constraints.for_class(&inst.class_names[c]);
        bounds.insert(inst.class_names[c].clone(), (t.latency_s.unwrap_or(f64::INFINITY), t.quantile));
    }
    let sim = optimize::verify::simulate(&inp.catalog, policy, &inp.trace, &bounds, 1729, 1)?;
    let all = sim.get("all").cloned().unwrap_or_default();
    let quantile_s =
        headline.and_then(|c| sim.get(&inst.class_names[c])).and_then(|s| s.latency_quantile_s).map(|e| e.mean);
    Ok(report::Current { cost: all.cost_usd.mean, quantile_s, quality: all.mean_quality.mean })
}

/// Draw the frontier charts (PNG and SVG) in `out`; the names of the files written.
fn draw_frontiers(charts: Vec<(&str, switchyard::chart::FrontierChart)>, out: &Dest) -> anyhow::Result<Vec<String>> {
    let mut written = Vec::new();
    for (stem, chart) in charts {
        let (png, svg) = switchyard::chart::render_frontier(&chart, &out.write(stem))?;
        written.extend([out.shown(&png).display().to_string(), out.shown(&svg).display().to_string()]);
    }
    Ok(written)
}
