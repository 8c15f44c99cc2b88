//! `simulate --engine des`: load the scenario, run the discrete-event engine per replicate (in
//! parallel, each on one thread), summarise with the same metrics and report as the replay engine,
//! and write the time series.

use switchyard::catalog::Catalog;
use switchyard::chart;
use switchyard::des::{self, Scenario};
use switchyard::policy::RoutingTable;
use switchyard::report::{self, RunMeta, SimulateReport};
use switchyard::run::{self, DesExtras, Engine, RunSpec};
use switchyard::trace::{self, Trace};

use super::args::{EngineKind, OptimizeArgs, QuantileMethod, SimulateArgs};
use super::files::{check_names, emit, load_catalog, read_options, write_per_request};
use super::io::Outputs;
use super::owned::TIMELINE;
use super::progress::{self, Timer, Watching};
use super::usage;
use switchyard::policy::Policy;

#[allow(clippy::too_many_arguments)]
pub fn simulate_des(
    a: &SimulateArgs,
    catalog: &Catalog,
    catalog_name: String,
    trace: &Trace,
    table: &RoutingTable,
    quiet: bool,
    mut timer: Timer,
    out: &Outputs,
) -> anyhow::Result<()> {
    let mut scenario = match &a.des.scenario {
        Some(p) => Scenario::load(p, catalog)?,
        None => Scenario::plain(catalog),
    };
    if let Some(c) = a.des.concurrency {
        scenario.set_concurrency(c);
    }
    let spec = RunSpec {
        engine: Engine::Des(&scenario),
        seed: a.seed,
        replicates: a.replicates,
        quantiles: a.quantiles,
        counterfactual: false,
        keep_first: a.per_request.is_some(),
    };
    let watch = Watching::new(trace.len() as u64 * a.replicates as u64, "simulating", quiet, &mut timer);
    let ran = run::simulate(run::Inputs { catalog, table, trace }, &spec, &watch)?;
    drop(watch);
    let meta = RunMeta {
        trace: a.input.trace.display().to_string(),
        catalog: catalog_name,
        policy: a.policy.as_deref().map(|p| p.display().to_string()).unwrap_or_default(),
        engine: format!(
            "des (scenario {})",
            a.des.scenario.as_ref().map_or("none".into(), |p| p.display().to_string())
        ),
        seed: a.seed,
        skipped_rows: trace.skipped_rows as u64,
        sorted_on_load: trace.sorted_on_load,
        quantiles: a.quantiles.label().into(),
    };
    let ids: Vec<String> = catalog.endpoints.iter().map(|e| e.id.clone()).collect();
    let stats: Vec<des::DesStats> = ran.des.iter().map(|r| r.stats.clone()).collect();
    let report = SimulateReport::new(&meta, &ran.summaries).with_des(&stats, &ids, trace.len() as u64);
    say!("{}", report::render_text(&report));
    say!("{}", report::render_des_text(&report));
    if let Some(path) = &a.json {
        switchyard::output::write_bytes(&out.at(path), report.to_json().as_bytes())?;
        eprintln!("wrote {}", path.display());
    }
    if let (Some(path), Some(outcomes)) = (&a.per_request, &ran.first) {
        write_per_request(&out.at(path), catalog, table, trace, outcomes)?;
        eprintln!("wrote {}", path.display());
    }
    write_series(a, &ran.des[0], &scenario.name, out)?;
    timer.lap("write");
    Ok(())
}

/// `simulate --engine des --stream`: the trace read in chunks (checked in a first pass), each
/// replicate its own reader and engine, metrics collected as requests finish (quantiles sketched).
pub fn simulate_des_stream(a: &SimulateArgs, quiet: bool, mut timer: Timer, out: &Outputs) -> anyhow::Result<()> {
    let path = &a.input.trace;
    let opts = read_options(&a.input.read)?;
    let chunk_rows = usize::try_from(a.des.chunk_rows).unwrap_or(usize::MAX);
    let (catalog, catalog_name) = load_catalog(a.catalog.as_deref())?;
    let policy_path = a.policy.as_deref().ok_or_else(|| usage("--policy", "is required", "name a policy YAML"))?;
    let policy = Policy::load(policy_path, &catalog)?;
    let mut scenario = match &a.des.scenario {
        Some(p) => Scenario::load(p, &catalog)?,
        None => Scenario::plain(&catalog),
    };
    if let Some(c) = a.des.concurrency {
        scenario.set_concurrency(c);
    }
    let pb = progress::counter("checking", quiet);
    let shape = trace::stream::scan(path, &opts, chunk_rows, &|k| pb.inc(k))?;
    pb.finish_and_clear();
    if shape.skipped_rows > 0 {
        eprintln!("warning: skipped {} malformed rows of {} (--skip-bad-rows)", shape.skipped_rows, path.display());
    }
    timer.lap("read");
    let names = shape.names_trace();
    names.notices.iter().for_each(emit);
    check_names(&catalog, &names, &policy.mentions())?.iter().for_each(emit);
    let table = policy.bind(&catalog, &names)?;
    timer.lap("bind");
    let streamed = run::Streamed { path, read: &opts, chunk_rows, shape: &shape };
    let watch = Watching::new(shape.n_rows * a.replicates as u64, "simulating", quiet, &mut timer);
    let inputs = run::Inputs { catalog: &catalog, table: &table, trace: &names };
    let ran = run::simulate_streamed(inputs, &streamed, &scenario, a.seed, a.replicates, &watch)?;
    drop(watch);
    let meta = RunMeta {
        trace: path.display().to_string(),
        catalog: catalog_name,
        policy: policy_path.display().to_string(),
        engine: format!(
            "des (scenario {}; trace streamed)",
            a.des.scenario.as_ref().map_or("none".into(), |p| p.display().to_string()),
        ),
        seed: a.seed,
        skipped_rows: shape.skipped_rows,
        sorted_on_load: false,
        // A streamed trace is not kept, so its quantiles can only be sketched.
        quantiles: QuantileMethod::Sketch.label().into(),
    };
    let ids: Vec<String> = catalog.endpoints.iter().map(|e| e.id.clone()).collect();
    let stats: Vec<des::DesStats> = ran.des.iter().map(|r| r.stats.clone()).collect();
    let report = SimulateReport::new(&meta, &ran.summaries).with_des(&stats, &ids, shape.n_rows);
    say!("{}", report::render_text(&report));
    say!("{}", report::render_des_text(&report));
    if let Some(path) = &a.json {
        switchyard::output::write_bytes(&out.at(path), report.to_json().as_bytes())?;
        eprintln!("wrote {}", path.display());
    }
    write_series(a, &ran.des[0], &scenario.name, out)?;
    timer.lap("write");
    Ok(())
}

/// The first replicate's time series and timeline chart, if asked for.
fn write_series(a: &SimulateArgs, first: &DesExtras, scenario_name: &str, out: &Outputs) -> anyhow::Result<()> {
    let DesExtras { series, stats, incidents } = first;
    for path in &a.des.timeseries {
        trace::write::write_table(&series.to_table(), &out.at(path))?;
        eprintln!("wrote {}", path.display());
    }
    if let Some(dir) = &a.des.chart {
        chart::render_timeline(
            &report::des_timeline(series, stats, incidents, scenario_name),
            &out.at(dir).join(TIMELINE),
        )?;
        let shown = dir.join(TIMELINE);
        eprintln!("wrote {}.png and {}.svg", shown.display(), shown.display());
    }
    Ok(())
}

/// The scenario of `optimize --verify-engine des` (None for the replay engine).
pub fn verify_scenario(a: &OptimizeArgs, catalog: &Catalog) -> anyhow::Result<Option<Scenario>> {
    if a.verify_engine != EngineKind::Des {
        let flag = if a.scenario.is_some() { Some("--scenario") } else { a.concurrency.map(|_| "--concurrency") };
        if let Some(flag) = flag {
            return Err(usage(flag, "belongs to the discrete-event verification", "add `--verify-engine des`"));
        }
        return Ok(None);
    }
    let mut scenario = match &a.scenario {
        Some(p) => Scenario::load(p, catalog)?,
        None => Scenario::plain(catalog),
    };
    if let Some(c) = a.concurrency {
        scenario.set_concurrency(c);
    }
    Ok(Some(scenario))
}
