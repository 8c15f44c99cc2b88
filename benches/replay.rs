//! Replay-core benchmarks (trace already in memory): `cargo bench --bench replay`.
//!
//! Uses the reference workload's trace when `bench-data/ref-1m/trace.csv` exists (see
//! benches/compare_peers.sh, which also measures against the Python peers), else a synthetic day
//! of about 1M requests from the default spec with the field-report policy.

use std::path::Path;
use std::sync::OnceLock;

use switchyard::catalog::Catalog;
use switchyard::engine::{self, ReplayOptions};
use switchyard::metrics;
use switchyard::policy::{Policy, RoutingTable};
use switchyard::trace::{self, Trace};

fn main() {
    divan::main();
}

struct Workload {
    catalog: Catalog,
    table: RoutingTable,
    trace: Trace,
}

fn workload() -> &'static Workload {
    static W: OnceLock<Workload> = OnceLock::new();
    W.get_or_init(|| {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        let reference = root.join("bench-data/ref-1m/trace.csv");
        let (catalog, policy_path, trace) = if reference.exists() {
            let catalog = Catalog::load(&root.join("policies/reference/catalog.yaml")).unwrap();
            let trace = trace::read(&reference, &Default::default()).unwrap();
            (catalog, root.join("policies/reference/policy.yaml"), trace)
        } else {
            let trace = trace::synth::synth(&trace::synth::SynthSpec::default(), 1).unwrap();
            (Catalog::default_catalog(), root.join("policies/field-report.yaml"), trace)
        };
        let policy = Policy::load(&policy_path, &catalog).unwrap();
        let table = policy.bind(&catalog, &trace).unwrap();
        Workload { catalog, table, trace }
    })
}

/// Replay with metrics accumulated in the same pass, then finished: what `simulate` does.
#[divan::bench(sample_count = 10, sample_size = 1)]
fn replay_and_metrics(bencher: divan::Bencher) {
    let w = workload();
    bencher.counter(divan::counter::ItemsCount::new(w.trace.len())).bench(|| {
        let ctx = metrics::Context::new(&w.catalog, &w.table, &w.trace);
        let (outcomes, collected) = replay_collected(w, &ctx);
        ctx.summarize(&outcomes, collected)
    });
}

/// The same with `--quantiles sketch`: no outcome columns, quantiles from the sketches.
#[divan::bench(sample_count = 10, sample_size = 1)]
fn replay_and_sketched_metrics(bencher: divan::Bencher) {
    let w = workload();
    bencher.counter(divan::counter::ItemsCount::new(w.trace.len())).bench(|| {
        let ctx = metrics::Context::new(&w.catalog, &w.table, &w.trace);
        let opts = ReplayOptions { seed: 1, replicate: 0 };
        let nothing = engine::Keep::Nothing;
        let (_, collected) = engine::replay_observed(
            &w.catalog,
            &w.table,
            &w.trace,
            &opts,
            nothing,
            &|| ctx.sketching_collector(),
            &|_| {},
        );
        ctx.summarize_sketched(collected, w.trace.len() as u64, 0, opts.seed, opts.replicate)
    });
}

/// The engine alone.
#[divan::bench(sample_count = 10, sample_size = 1)]
fn replay_only(bencher: divan::Bencher) {
    let w = workload();
    bencher
        .counter(divan::counter::ItemsCount::new(w.trace.len()))
        .bench(|| engine::replay(&w.catalog, &w.table, &w.trace, &ReplayOptions { seed: 1, replicate: 0 }));
}

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// The engine feeding the metrics collector, without finishing the summary.
#[divan::bench(sample_count = 10, sample_size = 1)]
fn replay_with_collector(bencher: divan::Bencher) {
    let w = workload();
    let ctx = metrics::Context::new(&w.catalog, &w.table, &w.trace);
    bencher.counter(divan::counter::ItemsCount::new(w.trace.len())).bench(|| replay_collected(w, &ctx));
}

/// The replay `simulate` runs, with the metrics collector as observer.
fn replay_collected<'c>(w: &Workload, ctx: &'c metrics::Context<'c>) -> (engine::Outcomes, metrics::Collector<'c>) {
    let opts = ReplayOptions { seed: 1, replicate: 0 };
    engine::replay_observed(&w.catalog, &w.table, &w.trace, &opts, engine::Keep::Served, &|| ctx.collector(), &|_| {})
}
