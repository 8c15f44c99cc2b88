//! `switchyard optimize` and `switchyard frontier`: load inputs, call `switchyard::optimize`, write
//! the recommendation, policy, gateway configs, frontier tables and charts.

use std::path::Path;

use serde_json::json;
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
use super::commands::{Timer, check_names, load_catalog, load_trace, read_options, write_json};
use super::io::{Dest, Outputs};
use super::usage;

/// The file `optimize` always writes in its folder; the gateway configs are the exporters' files.
const RECOMMENDATION: &str = "recommendation.json";

/// The files `optimize --out` writes: the recommendation and every export format's file.
pub fn owns_optimize(rel: &str) -> bool {
    rel == RECOMMENDATION || switchyard::export::Format::all().iter().any(|f| f.exporter().file_name() == rel)
}

/// The files `frontier --out` writes.
pub const FRONTIER_FILES: [&str; 8] = [
    "frontier.csv",
    "frontier-quality.csv",
    "frontier-budget.csv",
    "frontier.json",
    "frontier-cost-latency.png",
    "frontier-cost-latency.svg",
    "frontier-cost-quality.png",
    "frontier-cost-quality.svg",
];

pub fn owns_frontier(rel: &str) -> bool {
    FRONTIER_FILES.contains(&rel)
}

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
    check_names(&catalog, &trace, &mentions)?.iter().for_each(super::commands::emit);
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

/// Intervals of the budget sweep (points = this + 1).
const BUDGET_POINTS: usize = 20;

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
pub fn run_frontier(inp: &Inputs, sweep: &Sweep, out: &Dest, timer: &mut Timer) -> anyhow::Result<Vec<FrontierPoint>> {
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
    let points = frontier::latency_frontier(&inst, &inp.catalog, &inp.constraints, &mults, headline)?;
    let shifts: Vec<f64> = (0..=20).map(|k| -0.10 + 0.01 * k as f64).collect();
    let quality = frontier::quality_frontier(&inst, &inp.catalog, &inp.constraints, &shifts)?;
    // Budgets across the quality sweep's feasible costs (from its cheapest to its dearest point):
    // the best quality each buys, targets as given.
    let costs: Vec<f64> = quality.iter().filter_map(|p| p.cost_usd).collect();
    let budgets: Vec<f64> = match (costs.iter().copied().reduce(f64::min), costs.iter().copied().reduce(f64::max)) {
        (Some(lo), Some(hi)) if hi > lo => {
            (0..=BUDGET_POINTS).map(|k| lo + (hi - lo) * k as f64 / BUDGET_POINTS as f64).collect()
        }
        _ => Vec::new(),
    };
    let budget = frontier::budget_frontier(&inst, &inp.catalog, &inp.constraints, &budgets)?;
    timer.lap("solve");
    write_points(&out.write("frontier.csv"), &points)?;
    write_points(&out.write("frontier-quality.csv"), &quality)?;
    write_points(&out.write("frontier-budget.csv"), &budget)?;
    write_json(
        &out.write("frontier.json"),
        &json!({
            "schema": "switchyard.frontier.v1",
            "headline_class": headline.map(|c| inst.class_names[c].clone()),
            "latency": points,
            "quality": quality,
            "budget": budget,
        }),
    )?;
    let current = match &inp.current {
        Some(policy) => Some(current_point(inp, &inst, policy, headline)?),
        None => None,
    };
    let at_one = frontier::latency_frontier(&inst, &inp.catalog, &inp.constraints, &[1.0], headline)?.remove(0);
    let charts = draw_frontiers(&inst, inp, headline, &points, &quality, &budget, current.as_ref(), &at_one, out)?;
    let feasible = points.iter().filter(|p| p.feasible).count();
    sayln!("{feasible} of {} points feasible", points.len());
    for p in &points {
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
    Ok(points)
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

/// The current policy's simulated cost, headline-class quantile and mean quality.
struct Current {
    cost: f64,
    quantile_s: Option<f64>,
    quality: f64,
}

fn current_point(
    inp: &Inputs,
    inst: &optimize::Instance,
    policy: &Policy,
    headline: Option<usize>,
) -> anyhow::Result<Current> {
    let mut bounds = optimize::verify::Bounds::new();
    if let Some(c) = headline {
        let t = inp.constraints.for_class(&inst.class_names[c]);
        bounds.insert(inst.class_names[c].clone(), (t.latency_s.unwrap_or(f64::INFINITY), t.quantile));
    }
    let sim = optimize::verify::simulate(&inp.catalog, policy, &inp.trace, &bounds, 1729, 1)?;
    let all = sim.get("all").cloned().unwrap_or_default();
    let quantile_s =
        headline.and_then(|c| sim.get(&inst.class_names[c])).and_then(|s| s.latency_quantile_s).map(|e| e.mean);
    Ok(Current { cost: all.cost_usd.mean, quantile_s, quality: all.mean_quality.mean })
}

#[allow(clippy::too_many_arguments)]
fn draw_frontiers(
    inst: &optimize::Instance,
    inp: &Inputs,
    headline: Option<usize>,
    points: &[FrontierPoint],
    quality: &[FrontierPoint],
    budget: &[FrontierPoint],
    current: Option<&Current>,
    at_one: &FrontierPoint,
    out: &Dest,
) -> anyhow::Result<Vec<String>> {
    use switchyard::chart::{FrontierChart, Marker, Series, render_frontier};
    let mut written = Vec::new();
    let requests = format!("{} requests", inst.n_requests);
    if let Some(c) = headline {
        let class = &inst.class_names[c];
        let label = optimize::explain::quantile_label(inp.constraints.for_class(class).quantile);
        let series_points = feasible_points(points, |p| p.bound_s);
        // Shade the bounds below the first feasible point, and any gap between feasible points.
        let mut infeasible = Vec::new();
        let xs: Vec<(f64, bool)> = points.iter().filter_map(|p| p.bound_s.map(|b| (b, p.feasible))).collect();
        let mut start: Option<f64> = None;
        for (i, &(x, ok)) in xs.iter().enumerate() {
            match (ok, start) {
                (false, None) => start = Some(if i == 0 { x } else { (xs[i - 1].0 + x) / 2.0 }),
                (true, Some(a)) => {
                    infeasible.push((a, (xs[i - 1].0 + x) / 2.0));
                    start = None;
                }
                _ => {}
            }
        }
        if let (Some(a), Some(last)) = (start, xs.last()) {
            infeasible.push((a, last.0));
        }
        let x_min = xs.first().map_or(1.0, |x| x.0);
        let x_max = xs.last().map_or(1.0, |x| x.0);
        let chart = FrontierChart {
            title: format!("Cheapest routing vs {class} {label} bound"),
            subtitle: Some(format!(
                "{requests}; every class's latency bound scaled together; one LP per point; catalog {}",
                inp.catalog_name
            )),
            x_label: format!("{class} {label} latency bound (s)"),
            y_label: "expected cost of the trace (USD)".into(),
            x_log: x_max / x_min > 10.0,
            series: vec![Series { name: "cheapest feasible routing".into(), points: series_points }],
            infeasible,
            current: current.and_then(|c| {
                let target = inp.constraints.for_class(class).latency_s;
                c.quantile_s.map(|q| Marker {
                    x: q,
                    y: c.cost,
                    label: match target {
                        Some(t) if q > t => {
                            format!("current policy ({label} {q:.2} s, simulated: misses the {t} s target)")
                        }
                        _ => format!("current policy ({label} {q:.2} s, simulated)"),
                    },
                })
            }),
            recommended: match (at_one.bound_s, at_one.cost_usd) {
                (Some(x), Some(y)) => Some(Marker { x, y, label: format!("recommended: targets as given, ${y:.0}") }),
                _ => None,
            },
        };
        let (png, svg) = render_frontier(&chart, &out.write("frontier-cost-latency"))?;
        written.extend([out.shown(&png).display().to_string(), out.shown(&svg).display().to_string()]);
    }
    let q_points = feasible_points(quality, |p| p.mean_quality);
    let zero = quality.iter().find(|p| p.parameter.abs() < 1e-9);
    let chart = FrontierChart {
        title: "Cheapest routing vs mean quality".into(),
        subtitle: Some(format!(
            "{requests}; every class's quality target shifted together (-0.10 to +0.10), and the best quality for {} budgets; latency bounds as given",
            budget.len()
        )),
        x_label: "predicted mean quality of served requests (score 0-1)".into(),
        y_label: "expected cost of the trace (USD)".into(),
        x_log: false,
        series: vec![
            Series { name: "cheapest routing, per-class quality targets shifted".into(), points: q_points },
            Series {
                name: "best mean quality within a budget (no per-class floors)".into(),
                points: feasible_points(budget, |p| p.mean_quality),
            },
        ],
        infeasible: Vec::new(),
        current: current.map(|c| Marker { x: c.quality, y: c.cost, label: "current policy (simulated)".into() }),
        recommended: zero.and_then(|p| match (p.mean_quality, p.cost_usd) {
            (Some(x), Some(y)) => Some(Marker { x, y, label: format!("recommended: targets as given, ${y:.0}") }),
            _ => None,
        }),
    };
    let (png, svg) = render_frontier(&chart, &out.write("frontier-cost-quality"))?;
    written.extend([out.shown(&png).display().to_string(), out.shown(&svg).display().to_string()]);
    Ok(written)
}

/// A sweep's feasible points as chart points: x from `x_of`, y the cost.
fn feasible_points(
    points: &[FrontierPoint],
    x_of: impl Fn(&FrontierPoint) -> Option<f64>,
) -> Vec<switchyard::chart::Point> {
    points
        .iter()
        .filter_map(|p| match (p.feasible, x_of(p), p.cost_usd) {
            (true, Some(x), Some(y)) => Some(switchyard::chart::Point { x, y, feasible: true, label: None }),
            _ => None,
        })
        .collect()
}
