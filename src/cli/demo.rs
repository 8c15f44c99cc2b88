//! `switchyard demo`: the whole pipeline on embedded inputs, needing no files.

use anyhow::Context;
use switchyard::catalog::Catalog;
use switchyard::policy::Policy;
use switchyard::report::{self, RunMeta};
use switchyard::trace;

use super::args::DemoArgs;
use super::commands::{Timer, run_replicates, write_json, write_per_request};

/// The demo's policy, shaped like the field report's gateway.
pub const FIELD_REPORT_POLICY: &str = include_str!("../../policies/field-report.yaml");

pub fn run(a: &DemoArgs, quiet: bool) -> anyhow::Result<()> {
    let catalog = Catalog::default_catalog();
    let mut spec = trace::synth::SynthSpec::default();
    spec.mean_rate_per_s = a.requests as f64 / spec.duration_s;
    eprintln!("synthesizing {} requests over {} h (seed {}) ...", a.requests, spec.duration_s / 3600.0, a.seed);
    let tr = trace::synth::synth(&spec, a.seed)?;
    let policy_path = a.out.join("policy.yaml");
    let policy =
        Policy::from_yaml_str(FIELD_REPORT_POLICY, &policy_path, &catalog).context("the embedded demo policy")?;
    let table = policy.bind(&catalog, &tr)?;
    let (summaries, first) = run_replicates(&catalog, &table, &tr, a.seed, 1, true, quiet, &mut Timer::new(false));
    let meta = RunMeta {
        trace: format!("synthetic day ({} requests, seed {})", tr.len(), a.seed),
        catalog: "embedded default (field report 2026)".into(),
        policy: policy_path.display().to_string(),
        engine: "replay".into(),
        seed: a.seed,
        skipped_rows: 0,
        sorted_on_load: false,
    };
    let report = report::simulate_json(&meta, &summaries);
    print!("{}", report::render_text(&report));

    let trace_path = a.out.join("trace.parquet");
    let json_path = a.out.join("report.json");
    let per_request_path = a.out.join("requests.parquet");
    trace::write::write(&tr, &trace_path, None)?;
    switchyard::output::write_bytes(&policy_path, FIELD_REPORT_POLICY.as_bytes())?;
    write_json(&json_path, &report)?;
    if let Some(outcomes) = first {
        write_per_request(&per_request_path, &catalog, &table, &tr, &outcomes)?;
    }
    println!(
        "wrote {}, {}, {} and {}",
        trace_path.display(),
        policy_path.display(),
        json_path.display(),
        per_request_path.display()
    );
    println!(
        "next: switchyard simulate --trace {} --policy {} --replicates 5",
        trace_path.display(),
        policy_path.display()
    );
    Ok(())
}
