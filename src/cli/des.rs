//! `simulate --engine des`: load the scenario, run the discrete-event engine per replicate (in
//! parallel, each on one thread), summarise with the same metrics and report as the replay engine,
//! and write the time series.

use rayon::prelude::*;
use switchyard::catalog::Catalog;
use switchyard::des::{self, DesOptions, Scenario};
use switchyard::metrics;
use switchyard::policy::RoutingTable;
use switchyard::report::{self, RunMeta};
use switchyard::trace::{self, Trace};

use super::args::SimulateArgs;
use super::commands::{Timer, write_json, write_per_request};
use super::progress;

pub fn simulate_des(
    a: &SimulateArgs,
    catalog: &Catalog,
    catalog_name: String,
    trace: &Trace,
    table: &RoutingTable,
    quiet: bool,
    mut timer: Timer,
) -> anyhow::Result<()> {
    let mut scenario = match &a.des.scenario {
        Some(p) => Scenario::load(p, catalog)?,
        None => Scenario::plain(catalog),
    };
    if let Some(c) = a.des.concurrency {
        scenario.set_concurrency(c);
    }
    let pb = progress::bar(trace.len() as u64 * a.replicates as u64, "simulating", quiet);
    let runs: Vec<des::DesRun> = (0..a.replicates)
        .into_par_iter()
        .map(|replicate| {
            des::simulate(catalog, table, trace, &scenario, &DesOptions { seed: a.seed, replicate }, &|k| pb.inc(k))
        })
        .collect();
    pb.finish_and_clear();
    timer.lap("simulate");
    let summaries: Vec<metrics::Summary> =
        runs.iter().map(|r| metrics::summarize(catalog, table, trace, &r.outcomes)).collect();
    timer.lap("metrics");
    let meta = RunMeta {
        trace: a.input.trace.display().to_string(),
        catalog: catalog_name,
        policy: a.policy.display().to_string(),
        engine: format!(
            "des (scenario {})",
            a.des.scenario.as_ref().map_or("none".into(), |p| p.display().to_string())
        ),
        seed: a.seed,
        skipped_rows: trace.skipped_rows as u64,
        sorted_on_load: trace.sorted_on_load,
    };
    let mut json = report::simulate_json(&meta, &summaries);
    let ids: Vec<String> = catalog.endpoints.iter().map(|e| e.id.clone()).collect();
    let stats: Vec<des::DesStats> = runs.iter().map(|r| r.stats.clone()).collect();
    report::add_des(&mut json, &stats, &ids, trace.len() as u64);
    print!("{}", report::render_text(&json));
    print!("{}", report::render_des_text(&json));
    if let Some(path) = &a.json {
        write_json(path, &json)?;
        eprintln!("wrote {}", path.display());
    }
    if let Some(path) = &a.per_request {
        write_per_request(path, catalog, table, trace, &runs[0].outcomes)?;
        eprintln!("wrote {}", path.display());
    }
    for path in &a.des.timeseries {
        trace::write::write_table(&runs[0].series.to_table(), path)?;
        eprintln!("wrote {}", path.display());
    }
    timer.lap("write");
    Ok(())
}
